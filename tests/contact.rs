//! Contact with the customer (SPEC §2): advice recorded once and refused where there is no
//! advisory to read, callbacks and the worklist's order and true count, and an outreach list
//! whose gateway's delivery report (refused whole for a bad row, then applied, then replayed)
//! moves its accounts to advised — through the service, and the same through the real binary.
//! On SQLite by default, on PostgreSQL when CAREDESK_TEST_PG is set, and through a server with
//! CAREDESK_TEST_THROUGH_SERVER=1.

mod common;

use caredesk::domain::{CallbackState, Channel, Clock, Role, WorklistReason};
use chrono::TimeDelta;
use common::World;
use common::seat::Seat;

/// At risk (the phone holds the only copy) unless said otherwise: `ar-*` at risk, `lost-*`
/// lost with nothing on the phone; `ar-closed` is a closed account, `ar-nomail` has no e-mail.
const ACCOUNTS: &str = "account_no,msisdn,name,email,status,plan_code,plan_cents,device,plan_from\n\
    730000001,+12065550401,Ana Ruiz,ana@example.net,active,SK-DATA,1999,Sidekick LX,2008-01-15\n\
    730000002,+12065550402,Ben Cho,,active,SK-DATA,1999,Sidekick LX,2008-01-15\n\
    730000003,+12065550403,Cai Lin,cai@example.net,closed,SK-DATA,1999,Sidekick LX,2008-01-15\n\
    730000004,+12065550404,Dee Park,dee@example.net,active,SK-DATA,1999,Sidekick LX,2008-01-15\n\
    730000005,+12065550405,Eve Moss,eve@example.net,active,SK-DATA,1999,Sidekick LX,2008-01-15\n\
    730000006,+12065550406,Fay Orr,fay@example.net,active,SK-DATA,1999,Sidekick LX,2008-01-15\n";

const IMPACT: &str = "account_no,incident,category,server_lost,device_state,items_before\n\
    730000001,danger-2009-10,contacts,true,holds-copy,300\n\
    730000002,danger-2009-10,contacts,true,holds-copy,120\n\
    730000003,danger-2009-10,photos,true,holds-copy,40\n\
    730000004,danger-2009-10,notes,true,holds-copy,12\n\
    730000005,danger-2009-10,contacts,true,wiped,200\n\
    730000006,danger-2009-10,calendar,true,wiped,50\n";

const ANA: &str = "730000001";
const BEN: &str = "730000002";
const CAI: &str = "730000003";
const DEE: &str = "730000004";
const EVE: &str = "730000005";
const FAY: &str = "730000006";

async fn world() -> World {
    let w = World::empty("sofia").await;
    w.accounts("accounts.csv", ACCOUNTS)
        .await
        .expect("accounts");
    w.impact("impact.csv", IMPACT).await.expect("impact");
    w
}

/// The audit records of `action`.
async fn audited(w: &World, action: &str) -> Vec<caredesk::store::AuditRecord> {
    w.svc
        .audit_log(&w.sup, None, None, 10_000)
        .await
        .expect("audit log")
        .into_iter()
        .filter(|r| r.action == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advice_is_recorded_once_and_refused_where_there_is_no_advisory() {
    let w = world().await;
    let (_, alice) = w.as_agent("ct_alice", Role::Agent).await;
    let (_, bob) = w.as_agent("ct_bob", Role::Agent).await;
    let (_, audrey) = w.as_agent("ct_audrey", Role::Auditor).await;

    let first = w
        .svc
        .advise(&alice, ANA, None, Channel::Call)
        .await
        .expect("advised");
    assert!(first.recorded);
    assert_eq!(first.account_no, ANA);
    assert_eq!(first.advice.agent, alice.login);
    assert_eq!(first.advice.channel, Channel::Call);
    assert_eq!(first.advice.incident, "danger-2009-10");
    assert_eq!(first.advice.advised_at, w.clock.now());

    // A second advice, by someone else and another channel, is a replay answering the first.
    w.clock.advance(TimeDelta::minutes(5));
    let again = w
        .svc
        .advise(&bob, ANA, Some("danger-2009-10"), Channel::Sms)
        .await
        .expect("a replay");
    assert!(!again.recorded);
    assert_eq!(again.advice, first.advice);
    assert_eq!(audited(&w, "advice.record").await.len(), 1, "one record");

    // The account shows who advised the customer, and its timeline says so in words.
    let d = w.svc.show(&bob, ANA).await.expect("show");
    assert_eq!(d.advice, vec![first.advice.clone()]);
    let said: Vec<String> = d
        .timeline
        .iter()
        .map(|e| {
            caredesk::domain::timeline::sentence(
                &caredesk::domain::timeline::Record {
                    action: &e.action,
                    agent: &e.agent,
                    object_id: e.object_id.as_deref(),
                    detail: &e.text,
                },
                "USD",
            )
        })
        .collect();
    assert!(
        said.contains(&format!("advised by {} (call)", alice.login)),
        "{said:?}"
    );

    // No category at risk: no advisory to read (a rule, exit 3), nothing written.
    let err = w
        .svc
        .advise(&alice, EVE, None, Channel::Call)
        .await
        .expect_err("not at risk");
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(err.to_string().contains("is not at risk"), "{err}");
    // An incident it is not at risk in, and an incident that does not exist.
    let err = w
        .svc
        .advise(&alice, BEN, Some("no-such-incident"), Channel::Call)
        .await
        .expect_err("unknown incident");
    assert_eq!(err.exit_code(), 2, "{err}");
    // An auditor records nothing.
    let err = w
        .svc
        .advise(&audrey, BEN, None, Channel::Call)
        .await
        .expect_err("an auditor");
    assert_eq!(err.exit_code(), 3, "{err}");
    assert_eq!(audited(&w, "advice.record").await.len(), 1);
    assert!(
        w.svc
            .audit_verify(&w.sup)
            .await
            .expect("verify")
            .first_bad
            .is_none(),
        "the audit chain holds"
    );
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worklist_puts_due_callbacks_then_customers_not_advised_and_counts_them_all() {
    let w = world().await;
    let (_, alice) = w.as_agent("ct_alice", Role::Agent).await;
    let (_, bob) = w.as_agent("ct_bob", Role::Agent).await;
    w.svc
        .advise(&bob, DEE, None, Channel::Call)
        .await
        .expect("advised");

    // Alice promises Fay (lost, last by status) a call in 30 minutes and Eve one tomorrow.
    let now = w.clock.now();
    let fay = w
        .svc
        .callback_add(&alice, FAY, now + TimeDelta::minutes(30), "  photos?\u{7} ")
        .await
        .expect("callback");
    assert_eq!(fay.note, "photos?", "the note is kept clean");
    assert_eq!(fay.state, CallbackState::Pending);
    assert_eq!(fay.agent, alice.login);
    w.svc
        .callback_add(&alice, EVE, now + TimeDelta::days(1), "")
        .await
        .expect("callback");
    // Not due yet: the at-risk customers nobody advised come first, then by status.
    let order = |l: &caredesk::domain::Worklist| -> Vec<(String, WorklistReason)> {
        l.entries
            .iter()
            .map(|e| (e.account.account_no.clone(), e.reason))
            .collect()
    };
    let before = w.svc.worklist(&alice, None, 50).await.expect("worklist");
    let not_advised: Vec<String> = before
        .entries
        .iter()
        .filter(|e| e.reason == WorklistReason::NotAdvised)
        .map(|e| e.account.account_no.clone())
        .collect();
    assert_eq!(not_advised, [ANA, BEN, CAI], "{:?}", order(&before));
    assert_eq!(before.total, 6);
    assert_eq!(before.entries.len(), 6);

    // Half an hour later Fay's callback is due: first in Alice's list, not in Bob's.
    w.clock.advance(TimeDelta::minutes(31));
    let list = w.svc.worklist(&alice, None, 50).await.expect("worklist");
    assert_eq!(
        order(&list)[..4],
        [
            (
                FAY.to_string(),
                WorklistReason::CallbackDue { due_at: fay.due_at }
            ),
            (ANA.to_string(), WorklistReason::NotAdvised),
            (BEN.to_string(), WorklistReason::NotAdvised),
            (CAI.to_string(), WorklistReason::NotAdvised),
        ]
    );
    // The rest by status: Dee (at risk, advised) before Eve (lost); each account once.
    let rest: Vec<&str> = list.entries[4..]
        .iter()
        .map(|e| e.account.account_no.as_str())
        .collect();
    assert_eq!(rest, [DEE, EVE]);
    assert_eq!(list.total, 6);
    let bobs = w.svc.worklist(&bob, None, 50).await.expect("worklist");
    assert_eq!(
        bobs.entries[0].account.account_no, ANA,
        "not Bob's callback"
    );
    // Only the first rows listed: the header still counts them all.
    let short = w.svc.worklist(&alice, None, 2).await.expect("worklist");
    assert_eq!(short.entries.len(), 2);
    assert_eq!(short.total, 6);
    assert_eq!(short.entries[0].account.account_no, FAY);
    let at_risk = w
        .svc
        .worklist(&bob, Some(caredesk::domain::CategoryStatus::AtRisk), 1)
        .await
        .expect("worklist");
    assert_eq!((at_risk.entries.len(), at_risk.total), (1, 4));

    // Done: it leaves the top of the list; done again changes nothing; cancelling it now is
    // refused.
    let (done, changed) = w
        .svc
        .callback_close(&bob, fay.id, CallbackState::Done)
        .await
        .expect("done");
    assert!(changed);
    assert_eq!(done.closed_by.as_deref(), Some(bob.login.as_str()));
    let (_, changed) = w
        .svc
        .callback_close(&bob, fay.id, CallbackState::Done)
        .await
        .expect("a replay");
    assert!(!changed);
    let err = w
        .svc
        .callback_close(&alice, fay.id, CallbackState::Cancelled)
        .await
        .expect_err("closed");
    assert_eq!(err.exit_code(), 3, "{err}");
    let list = w.svc.worklist(&alice, None, 50).await.expect("worklist");
    assert_eq!(list.entries[0].account.account_no, ANA);
    assert_eq!(audited(&w, "callback.add").await.len(), 2);
    assert_eq!(audited(&w, "callback.done").await.len(), 1);

    // Times an agent could not mean are refused with a sentence, nothing written.
    let now = w.clock.now();
    for (due, says) in [
        (now - TimeDelta::hours(1), "in the past"),
        (now + TimeDelta::days(91), "more than 90 days ahead"),
    ] {
        let err = w
            .svc
            .callback_add(&alice, ANA, due, "")
            .await
            .expect_err("refused");
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
    assert_eq!(audited(&w, "callback.add").await.len(), 2);

    // The dashboard: at-risk advised by channel, and callbacks due by the end of the day.
    let t = w
        .svc
        .totals_until(&w.sup, Some(now + TimeDelta::days(2)))
        .await
        .expect("totals");
    assert_eq!(t.contact.advised, 1);
    assert_eq!(t.contact.advised_call, 1);
    assert_eq!(t.contact.callbacks_due, 1, "Eve's, tomorrow");
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outreach_list_and_its_delivery_report_move_customers_to_advised() {
    let w = world().await;
    let (_, alice) = w.as_agent("ct_alice", Role::Agent).await;
    w.svc
        .advise(&alice, DEE, None, Channel::Call)
        .await
        .expect("advised");

    // By SMS: Ana and Ben (Cai's account is closed, Dee was advised on a call).
    let sms = w
        .svc
        .outreach_export(&w.sup, None, Channel::Sms, None)
        .await
        .expect("export");
    let to: Vec<(&str, &str)> = sms
        .contacts
        .iter()
        .map(|c| (c.account_no.as_str(), c.to.as_str()))
        .collect();
    assert_eq!(to, [(ANA, "+12065550401"), (BEN, "+12065550402")]);
    assert_eq!((sms.skipped_closed, sms.skipped_no_address), (1, 0));
    assert!(sms.message.contains("Do not remove the battery"));
    // By e-mail: Ben has no address.
    let email = w
        .svc
        .outreach_export(&w.sup, None, Channel::Email, None)
        .await
        .expect("export");
    assert_eq!(email.contacts.len(), 1);
    assert_eq!(email.contacts[0].to, "ana@example.net");
    assert_eq!((email.skipped_closed, email.skipped_no_address), (1, 1));
    let exports = audited(&w, "outreach.export").await;
    assert_eq!(exports.len(), 2, "one record per export");
    assert!(
        exports[0].detail.starts_with("2 sms contact(s)"),
        "{}",
        exports[0].detail
    );
    // Agents do not export; calls are not an outreach channel.
    assert_eq!(
        w.svc
            .outreach_export(&alice, None, Channel::Sms, None)
            .await
            .expect_err("an agent")
            .exit_code(),
        3
    );
    assert_eq!(
        w.svc
            .outreach_export(&w.sup, None, Channel::Call, None)
            .await
            .expect_err("calls")
            .exit_code(),
        2
    );

    let (ana, ben) = (&sms.contacts[0].outreach_id, &sms.contacts[1].outreach_id);
    let records = w
        .svc
        .audit_log(&w.sup, None, None, 10_000)
        .await
        .expect("log")
        .len();
    // A report with a bad row is refused whole, naming the line; nothing is recorded.
    let bad = format!(
        "outreach_id,status,time\n{ana},delivered,2009-10-14 16:05:00\n{ben},failed,\nout-x,delivered,\n"
    );
    let err = w
        .svc
        .outreach_delivered(&w.sup, "report.csv", bad.as_bytes())
        .await
        .expect_err("a bad row");
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(err.to_string().contains("report.csv line 4"), "{err}");
    assert!(err.to_string().contains("nothing was recorded"), "{err}");
    // An id no export made is named too, after the file reads clean.
    let unknown = format!("outreach_id,status\n{ana},delivered\nout-99999,delivered\n");
    let err = w
        .svc
        .outreach_delivered(&w.sup, "report.csv", unknown.as_bytes())
        .await
        .expect_err("an unknown id");
    assert!(
        err.to_string()
            .contains("report.csv line 3: no outreach export made the id out-99999"),
        "{err}"
    );
    assert_eq!(
        w.svc
            .audit_log(&w.sup, None, None, 10_000)
            .await
            .expect("log")
            .len(),
        records,
        "nothing written"
    );
    assert!(
        w.svc
            .show(&w.sup, ANA)
            .await
            .expect("show")
            .advice
            .is_empty()
    );

    // Fixed: Ana is advised by SMS at the gateway's time; Ben's failed and stays on the list.
    let good =
        format!("outreach_id,status,time\n{ana},delivered,2009-10-14 16:05:00\n{ben},failed,\n");
    let out = w
        .svc
        .outreach_delivered(&w.sup, "report.csv", good.as_bytes())
        .await
        .expect("applied");
    assert_eq!((out.advised, out.already_advised, out.failed), (1, 0, 1));
    let d = w.svc.show(&w.sup, ANA).await.expect("show");
    assert_eq!(d.advice.len(), 1);
    assert_eq!(d.advice[0].channel, Channel::Sms);
    assert_eq!(d.advice[0].outreach_id.as_deref(), Some(ana.as_str()));
    assert_eq!(
        d.advice[0].advised_at.to_rfc3339(),
        "2009-10-14T16:05:00+00:00"
    );
    let next = w
        .svc
        .outreach_export(&w.sup, None, Channel::Sms, None)
        .await
        .expect("export");
    assert_eq!(next.contacts.len(), 1);
    assert_eq!(next.contacts[0].account_no, BEN);
    assert_eq!(&next.contacts[0].outreach_id, ben, "the same id again");
    // The same report again changes nothing.
    let again = w
        .svc
        .outreach_delivered(&w.sup, "report.csv", good.as_bytes())
        .await
        .expect("a replay");
    assert_eq!(
        (again.advised, again.already_advised, again.failed),
        (0, 1, 1)
    );
    assert_eq!(
        audited(&w, "advice.record").await.len(),
        2,
        "Dee's and Ana's"
    );
    let t = w.svc.totals(&w.sup).await.expect("totals");
    assert_eq!(
        (
            t.contact.advised,
            t.contact.advised_call,
            t.contact.advised_sms
        ),
        (2, 1, 1)
    );
    assert!(
        w.svc
            .audit_verify(&w.sup)
            .await
            .expect("verify")
            .first_bad
            .is_none()
    );
    w.finish().await;
}

/// A callback time the binary reads the same way whatever its clock: relative on the
/// binary's own clock, or a date after the harness server's fixed one.
fn callback_time(seat: &Seat) -> &'static str {
    if seat.served {
        "2009-10-15 12:00"
    } else {
        "+2h"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_through_the_real_binary() {
    let w = world().await;
    let (_, alice) = w.as_agent("ct_alice", Role::Agent).await;
    let sup = Seat::new(&w, &w.sup).await;
    let agent = Seat::new(&w, &alice).await;

    let advised = agent.json(&["advise", ANA]).await;
    assert_eq!(advised["outcome"], "advised");
    assert_eq!(advised["channel"], "call");
    assert_eq!(advised["agent"], alice.login.as_str());
    let (code, text, _) = agent.run(&["advise", ANA, "--channel", "sms"]).await;
    assert_eq!(code, 0);
    assert!(text.contains("already advised by"), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
    let by_mail = agent.json(&["advise", DEE, "--channel", "e-mail"]).await;
    assert_eq!(by_mail["channel"], "email");
    let err = agent.refused(&["advise", EVE], 3).await;
    assert!(err.contains("is not at risk"), "{err}");
    let err = agent
        .refused(&["advise", BEN, "--channel", "pigeon"], 2)
        .await;
    assert!(err.contains("pigeon"), "{err}");
    let (_, shown, _) = agent.run(&["show", ANA]).await;
    assert!(
        shown.contains(&format!("advised by {}", alice.login)),
        "{shown}"
    );

    // A callback, listed, done once.
    let at = callback_time(&agent);
    let cb = agent
        .json(&["callback", BEN, "--at", at, "--note", "after work"])
        .await;
    assert_eq!(cb["state"], "pending");
    assert_eq!(cb["note"], "after work");
    let id = cb["id"].as_i64().expect("id").to_string();
    let listed = agent.json(&["callback", "list", "--mine"]).await;
    assert_eq!(listed["results"][0]["id"].as_i64(), cb["id"].as_i64());
    let err = agent
        .refused(&["callback", BEN, "--at", "yesterday"], 2)
        .await;
    assert!(err.contains("\"yesterday\" is not a time"), "{err}");
    let done = agent.json(&["callback", "done", &id]).await;
    assert_eq!(
        (done["state"].as_str(), done["changed"].as_bool()),
        (Some("done"), Some(true))
    );
    let again = agent.json(&["callback", "done", &id]).await;
    assert_eq!(again["changed"], false);
    agent.refused(&["callback", "cancel", &id], 3).await;

    // The worklist's true count and reasons.
    let list = agent.json(&["worklist", "--limit", "2"]).await;
    assert_eq!(list["total"], 6);
    assert_eq!(list["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(list["results"][0]["account_no"], BEN);
    assert_eq!(list["results"][0]["reason"], "not_advised");
    let (_, text, _) = agent.run(&["worklist", "--limit", "2"]).await;
    assert!(
        text.starts_with("6 accounts in the worklist, the first 2:"),
        "{text}"
    );

    // Outreach: a CSV for the gateway, the counts on stderr; agents may not.
    agent.refused(&["outreach", "export"], 3).await;
    let (code, csv, counts) = sup.run(&["outreach", "export", "--channel", "sms"]).await;
    assert_eq!(code, 0, "{counts}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "outreach_id,msisdn,message");
    assert_eq!(lines.len(), 2, "Ben only: {csv}");
    assert!(
        lines[1].contains(",+12065550402,\"Do not remove the battery"),
        "{csv}"
    );
    assert!(counts.contains("1 contacts"), "{counts}");
    assert!(counts.contains("skipped 1 closed"), "{counts}");
    let ben = lines[1].split(',').next().expect("id");
    let (code, jsonl, _) = sup
        .run(&[
            "--format",
            "json",
            "outreach",
            "export",
            "--channel",
            "email",
        ])
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        jsonl.lines().count(),
        0,
        "Ben has no e-mail address: {jsonl}"
    );

    // The delivery report: a bad row refused whole, then fixed and applied, then replayed.
    let report = w.file("report.csv");
    std::fs::write(
        &report,
        format!("outreach_id,status,time\n{ben},delivered,2009-10-14 16:05:00\nout-1,bounced,\n"),
    )
    .expect("report");
    let report = report.to_str().expect("path");
    let err = sup.refused(&["outreach", "delivered", report], 2).await;
    assert!(err.contains("line 3") && err.contains("bounced"), "{err}");
    let (_, shown, _) = agent.run(&["show", BEN]).await;
    assert!(shown.contains("not advised yet"), "{shown}");
    std::fs::write(
        w.file("report.csv"),
        format!("outreach_id,status,time\n{ben},delivered,2009-10-14 16:05:00\n"),
    )
    .expect("report");
    let applied = sup.json(&["outreach", "delivered", report]).await;
    assert_eq!(applied["advised"], 1);
    let replay = sup.json(&["outreach", "delivered", report]).await;
    assert_eq!(
        (
            replay["advised"].as_i64(),
            replay["already_advised"].as_i64()
        ),
        (Some(0), Some(1))
    );
    let (_, shown, _) = agent.run(&["show", BEN]).await;
    assert!(shown.contains("(SMS)"), "{shown}");
    let (code, csv, _) = sup.run(&["outreach", "export"]).await;
    assert_eq!(code, 0);
    assert_eq!(csv.lines().count(), 1, "nobody left to reach: {csv}");
    w.finish().await;
}
