//! A supervisor's changes of agents (`agent disable|enable|role`) and the re-check every write
//! makes of its acting agent inside its own transaction, on one backend (SQLite, or PostgreSQL
//! when CAREDESK_TEST_PG is set): an agent disabled or demoted while their screen is open (an
//! `Actor` resolved before the change) can do nothing more from the next action on, is told
//! who changed them and when, and nothing is written; enabling (or the old role back) restores
//! access; nobody changes their own login; replays change nothing.
//!
//! The agents act through the supervisor's service with `Service::actor_for` (as the server
//! acts for the agents it authenticated), so the tests are the same on both backends.

mod common;

use caredesk::Error;
use caredesk::domain::restore::Mode;
use caredesk::domain::{Actor, Category, Cents, Clock, RequestOutcome, Role};
use caredesk::service::credit::IncidentCredit;
use common::World;
use common::restore::count;
use common::{json_of, outcome};

const JOSE: &str = "310000001";
const JOSE_BACKUP: &str = "snap-310000001-20091001";

/// Every table an agent's action can write to, and the audit chain's head.
async fn footprint(w: &World) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (name, sql) in [
        ("audit", "SELECT COUNT(*) FROM audit"),
        ("audit_head", "SELECT seq FROM audit_head WHERE id = 1"),
        ("notes", "SELECT COUNT(*) FROM notes"),
        ("credits", "SELECT COUNT(*) FROM credits"),
        ("credit_requests", "SELECT COUNT(*) FROM credit_requests"),
        (
            "pending requests",
            "SELECT COUNT(*) FROM credit_requests WHERE credit_id IS NULL",
        ),
        ("restores", "SELECT COUNT(*) FROM restores"),
        ("restore_archive", "SELECT COUNT(*) FROM restore_archive"),
        ("live_items", "SELECT COUNT(*) FROM live_items"),
        ("agents", "SELECT COUNT(*) FROM agents"),
    ] {
        out.push((name, count(w.store(), sql).await));
    }
    out
}

/// Registers `login` with `role` and resolves its actor, as a screen opened now would.
async fn open_as(w: &World, login: &str, role: Role) -> Actor {
    w.svc
        .add_agent(&w.sup, login, None, role)
        .await
        .expect("add agent");
    let actor = w.svc.actor_for(login).await.expect("the agent resolves");
    assert_eq!(actor.role, role);
    actor
}

fn assert_refused(e: &Error, expected: &str) {
    assert!(matches!(e, Error::Refused(_)), "{e:?}");
    assert_eq!(e.exit_code(), 3, "{e}");
    assert_eq!(e.to_string(), expected);
}

/// The supervisor's audit records of `action` on the agent `login`: (agent, detail).
async fn agent_changes(w: &World, action: &str, login: &str) -> Vec<(String, String)> {
    w.svc
        .audit_log(&w.sup, None, None, 1000)
        .await
        .expect("audit log")
        .into_iter()
        .filter(|r| r.action == action && r.object_id.as_deref() == Some(login))
        .map(|r| (r.agent, r.detail))
        .collect()
}

#[tokio::test]
async fn a_disabled_agent_can_do_nothing_more_from_the_next_action_on() {
    let w = World::demo(200, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let alice = open_as(&w, "ac_alice", Role::Agent).await;
    // What alice is about to do: a note, the incident credit of an eligible account, the
    // appreciation request of an account with a category lost for good, a merge restore, and
    // opening an account (an audited view).
    let eligible = w.eligible_account("720000001", "+12065550201").await;
    assert!(
        svc.declare_loss(sup, JOSE, None, Category::Calendar, "no calendar snapshot")
            .await
            .expect("declare")
    );

    // While her screen is open, a supervisor disables her.
    w.clock.advance(chrono::TimeDelta::minutes(32));
    assert!(
        svc.disable_agent(sup, "ac_alice").await.expect("disable"),
        "a change"
    );
    let sentence = format!(
        "your login \"ac_alice\" was disabled by {} at 2009-10-14 16:32 UTC; nothing was done",
        sup.login
    );
    w.clock.advance(chrono::TimeDelta::minutes(3));
    let before = footprint(&w).await;

    let e = svc
        .add_note(&alice, JOSE, "called back")
        .await
        .expect_err("note");
    assert_refused(&e, &sentence);
    let e = svc
        .credit_apply(&alice, &eligible, None, false)
        .await
        .expect_err("credit apply");
    assert_refused(&e, &sentence);
    let e = svc
        .credit_request(&alice, JOSE, None, "lost the calendar")
        .await
        .expect_err("credit request");
    assert_refused(&e, &sentence);
    let e = svc
        .restore_apply(&alice, JOSE, JOSE_BACKUP, &[], Mode::Merge)
        .await
        .expect_err("restore apply");
    assert_refused(&e, &sentence);
    let e = svc.show(&alice, JOSE).await.expect_err("show");
    assert_refused(&e, &sentence);
    assert_eq!(footprint(&w).await, before, "nothing was written");

    // A new screen or command is refused up front with the same sentence.
    let e = svc.actor_for("ac_alice").await.expect_err("disabled");
    assert_refused(&e, &sentence);

    // Disabling again is a replay: a success that changes nothing.
    assert!(!svc.disable_agent(sup, "ac_alice").await.expect("replay"));
    assert_eq!(footprint(&w).await, before);
    assert_eq!(
        agent_changes(&w, "agent.disable", "ac_alice").await,
        [(sup.login.clone(), "role agent".to_string())]
    );

    // Enabled again, the very same screen works again.
    assert!(svc.enable_agent(sup, "ac_alice").await.expect("enable"));
    assert!(!svc.enable_agent(sup, "ac_alice").await.expect("replay"));
    assert_eq!(
        agent_changes(&w, "agent.enable", "ac_alice").await,
        [(sup.login.clone(), "role agent".to_string())]
    );
    assert_eq!(svc.actor_for("ac_alice").await.expect("enabled"), alice);
    svc.add_note(&alice, JOSE, "called back")
        .await
        .expect("note");
    assert!(matches!(
        svc.credit_apply(&alice, &eligible, None, false)
            .await
            .expect("credit"),
        IncidentCredit::Applied(o) if o.is_new()
    ));
    assert!(matches!(
        svc.credit_request(&alice, JOSE, None, "lost the calendar")
            .await
            .expect("request"),
        RequestOutcome::Requested(_)
    ));
    let r = svc
        .restore_apply(&alice, JOSE, JOSE_BACKUP, &[], Mode::Merge)
        .await
        .expect("restore");
    assert!(r.restore_id.is_some());
    svc.show(&alice, JOSE).await.expect("show");
    let after = footprint(&w).await;
    let grew = |name: &str| {
        let at = |f: &[(&str, i64)]| f.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        at(&after) > at(&before)
    };
    for table in ["notes", "credits", "credit_requests", "restores", "audit"] {
        assert!(grew(table), "{table} was written once alice was enabled");
    }

    // Disabled again, even a replay of what she did (which would write nothing) is refused.
    w.clock.advance(chrono::TimeDelta::minutes(10));
    assert!(svc.disable_agent(sup, "ac_alice").await.expect("disable"));
    let again = format!(
        "your login \"ac_alice\" was disabled by {} at 2009-10-14 16:45 UTC; nothing was done",
        sup.login
    );
    let before_replays = footprint(&w).await;
    let e = svc
        .credit_apply(&alice, &eligible, None, false)
        .await
        .expect_err("credit replay");
    assert_refused(&e, &again);
    let e = svc
        .credit_request(&alice, JOSE, None, "lost the calendar")
        .await
        .expect_err("request replay");
    assert_refused(&e, &again);
    let e = svc
        .restore_apply(&alice, JOSE, JOSE_BACKUP, &[], Mode::Merge)
        .await
        .expect_err("restore replay");
    assert_refused(&e, &again);
    assert_eq!(footprint(&w).await, before_replays, "nothing was written");
    assert!(svc.enable_agent(sup, "ac_alice").await.expect("enable"));

    // The agent list says who changed her and when.
    let agents = svc.agents(sup).await.expect("agents");
    let a = agents
        .iter()
        .find(|a| a.login == "ac_alice")
        .expect("listed");
    assert!(a.active);
    assert_eq!(a.changed_by.as_deref(), Some(sup.login.as_str()));
    assert_eq!(a.changed_at, Some(w.clock.now()));
    assert!(
        svc.audit_verify(sup)
            .await
            .expect("verify")
            .first_bad
            .is_none()
    );
    w.finish().await;
}

#[tokio::test]
async fn a_demoted_supervisor_can_no_longer_approve_or_grant_goodwill() {
    let w = World::demo(200, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let omar = open_as(&w, "ac_omar", Role::Supervisor).await;
    let bob = open_as(&w, "ac_bob", Role::Agent).await;
    svc.declare_loss(sup, JOSE, None, Category::Calendar, "no calendar snapshot")
        .await
        .expect("declare");
    let RequestOutcome::Requested(req) = svc
        .credit_request(&bob, JOSE, None, "lost the calendar")
        .await
        .expect("request")
    else {
        panic!("a new request")
    };

    // omar's screen was opened as a supervisor; meanwhile he is made an agent.
    w.clock.advance(chrono::TimeDelta::minutes(32));
    assert!(
        svc.set_agent_role(sup, "ac_omar", Role::Agent)
            .await
            .expect("demote")
    );
    assert!(
        !svc.set_agent_role(sup, "ac_omar", Role::Agent)
            .await
            .expect("replay"),
        "the same role again changes nothing"
    );
    assert_eq!(
        agent_changes(&w, "agent.role", "ac_omar").await,
        [(sup.login.clone(), "role supervisor -> agent".to_string())]
    );
    let sentence = format!(
        "your role was changed from supervisor to agent by {} at 2009-10-14 16:32 UTC; nothing was done",
        sup.login
    );
    let before = footprint(&w).await;
    let e = svc
        .credit_approve(&omar, req.id)
        .await
        .expect_err("approve");
    assert_refused(&e, &sentence);
    let e = svc
        .credit_goodwill(&omar, JOSE, None, Cents(500), "sorry", None)
        .await
        .expect_err("goodwill");
    assert_refused(&e, &sentence);
    // What an agent may do is refused too: the action was decided under the old role.
    let e = svc
        .add_note(&omar, JOSE, "approved")
        .await
        .expect_err("note");
    assert_refused(&e, &sentence);
    assert_eq!(footprint(&w).await, before, "nothing was written");

    // Resolved again, omar is an agent, and an agent may not approve.
    let omar_now = svc.actor_for("ac_omar").await.expect("still active");
    assert_eq!(omar_now.role, Role::Agent);
    let e = svc
        .credit_approve(&omar_now, req.id)
        .await
        .expect_err("an agent approves");
    assert_eq!(e.exit_code(), 3);
    assert!(
        e.to_string().contains("may not approve a credit request"),
        "{e}"
    );
    svc.add_note(&omar_now, JOSE, "as an agent now")
        .await
        .expect("an agent adds notes");

    // Made a supervisor again, his first screen approves.
    assert!(
        svc.set_agent_role(sup, "ac_omar", Role::Supervisor)
            .await
            .expect("promote")
    );
    assert!(
        svc.credit_approve(&omar, req.id)
            .await
            .expect("approve")
            .is_new()
    );
    let e = svc
        .add_note(&omar_now, JOSE, "stale")
        .await
        .expect_err("the agent-role screen is stale now");
    assert!(
        e.to_string()
            .starts_with("your role was changed from agent to supervisor by "),
        "{e}"
    );
    assert_eq!(
        agent_changes(&w, "agent.role", "ac_omar").await.len(),
        2,
        "two changes audited, the replay not"
    );
    w.finish().await;
}

#[tokio::test]
async fn nobody_changes_their_own_login_and_only_supervisors_manage_agents() {
    let w = World::demo(60, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let bob = open_as(&w, "ac_bob", Role::Agent).await;
    let before = footprint(&w).await;

    let me = sup.login.as_str();
    let e = svc.disable_agent(sup, me).await.expect_err("self-disable");
    assert_refused(&e, "you cannot disable yourself; ask another supervisor");
    let e = svc
        .set_agent_role(sup, me, Role::Agent)
        .await
        .expect_err("self-demote");
    assert_refused(
        &e,
        "you cannot change your own role; ask another supervisor",
    );
    let e = svc.enable_agent(sup, me).await.expect_err("self-enable");
    assert_refused(&e, "you cannot enable yourself; ask another supervisor");

    for e in [
        svc.disable_agent(&bob, "sofia_or_anyone").await,
        svc.enable_agent(&bob, "ac_bob").await,
        svc.set_agent_role(&bob, "ac_bob", Role::Supervisor).await,
    ] {
        let e = e.expect_err("an agent manages agents");
        assert_eq!(e.exit_code(), 3, "{e}");
        assert!(e.to_string().contains("may not manage agents"), "{e}");
    }

    let e = svc
        .set_agent_role(sup, "nobody_here", Role::Agent)
        .await
        .expect_err("unknown agent");
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert_eq!(e.to_string(), "there is no agent \"nobody_here\"");
    assert_eq!(footprint(&w).await, before, "nothing was written");

    // The same through the binary, with its JSON.
    let v = json_of(w.cli().args(["agent", "role", "ac_bob", "auditor"]));
    assert_eq!(
        v,
        serde_json::json!({"login": "ac_bob", "role": "auditor", "changed": true})
    );
    let v = json_of(w.cli().args(["agent", "role", "ac_bob", "auditor"]));
    assert_eq!(v["changed"], false);
    let v = json_of(w.cli().args(["agent", "disable", "ac_bob"]));
    assert_eq!(
        v,
        serde_json::json!({"login": "ac_bob", "active": false, "changed": true})
    );
    let v = json_of(w.cli().args(["agent", "enable", "ac_bob"]));
    assert_eq!(
        v,
        serde_json::json!({"login": "ac_bob", "active": true, "changed": true})
    );
    let v = json_of(w.cli().args(["agent", "enable", "ac_bob"]));
    assert_eq!(v["changed"], false);
    let list = json_of(w.cli().args(["agent", "list"]));
    let listed = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|a| a["login"] == "ac_bob")
        .expect("listed")
        .clone();
    assert_eq!(listed["role"], "auditor");
    assert_eq!(listed["active"], true);
    assert_eq!(listed["changed_by"], sup.login.as_str());
    assert!(listed["changed_at"].is_string(), "{listed}");
    let (code, _, err) = outcome(w.cli().args(["agent", "role", "ac_bob", "boss"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("\"boss\" is not a role"), "{err}");
    let (code, _, err) = outcome(w.cli().args(["agent", "disable", me]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("you cannot disable yourself"), "{err}");

    // bob's screen opened as an agent: an auditor now, it is refused.
    let e = svc.show(&bob, JOSE).await.expect_err("stale role");
    assert_refused(
        &e,
        &format!(
            "your role was changed from agent to auditor by {me} at {}; nothing was done",
            // The binary ran on the wall clock.
            chrono::DateTime::parse_from_rfc3339(listed["changed_at"].as_str().expect("time"))
                .expect("RFC 3339")
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
        ),
    );
    w.finish().await;
}
