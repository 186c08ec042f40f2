//! The approvals queue through the real binary: appreciation requests of several accounts listed
//! oldest first, rejected with a reason the requester reads on the account, the replay that
//! changes nothing, the refusals (another reason, approving a rejected request, rejecting your
//! own or an approved one, an agent reading the queue), the audit record without the reason,
//! and an approval listed as approved. On SQLite by default, on PostgreSQL when
//! CAREDESK_TEST_PG is set. Each login runs the binary directly on the database (`--agent` on
//! SQLite; on PostgreSQL only the supervisor's own database login has rights), or through a
//! server the harness starts on 127.0.0.1: the logins without rights on PostgreSQL always, and
//! everyone with CAREDESK_TEST_THROUGH_SERVER=1.

mod common;

use caredesk::domain::{Category, RequestStatus, Role};
use common::World;
use common::seat::Seat;
use serde_json::Value;

/// Imports `account_no` with its contacts lost for good (declared by the supervisor), so its
/// appreciation credit may be requested.
async fn lost_for_good(w: &World, account_no: &str, msisdn: &str) -> String {
    let account = w.eligible_account(account_no, msisdn).await;
    w.impact(
        "lost.csv",
        &format!(
            "account_no,incident,category,server_lost,device_state,items_before\n\
             {account_no},danger-2009-10,contacts,true,wiped,300\n"
        ),
    )
    .await
    .expect("its contacts were lost");
    assert!(
        w.svc
            .declare_loss(&w.sup, &account, None, Category::Contacts, "no snapshot")
            .await
            .expect("declared lost")
    );
    account
}

fn ids(v: &Value) -> Vec<i64> {
    v["results"]
        .as_array()
        .expect("results[]")
        .iter()
        .map(|r| r["request_id"].as_i64().expect("request_id"))
        .collect()
}

async fn audit_records(sup: &Seat) -> i64 {
    sup.json(&["audit", "verify"]).await["records"]
        .as_i64()
        .expect("records")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_works_the_queue_and_the_requester_reads_the_rejection_on_the_account() {
    let w = World::empty("sofia").await;
    let (_, alice) = w.as_agent("ap_alice", Role::Agent).await;
    let (_, omar) = w.as_agent("ap_omar", Role::Supervisor).await;
    let (_, audrey) = w.as_agent("ap_audrey", Role::Auditor).await;
    let first = lost_for_good(&w, "720000011", "+12065550311").await;
    let second = lost_for_good(&w, "720000012", "+12065550312").await;
    let third = lost_for_good(&w, "720000013", "+12065550313").await;
    let sup = Seat::new(&w, &w.sup).await;
    let agent = Seat::new(&w, &alice).await;
    let other = Seat::new(&w, &omar).await;
    let auditor = Seat::new(&w, &audrey).await;
    let s = w.sup.login.as_str();

    // Two requests by the agent, the second later: the queue lists them oldest first.
    let reason = "Lost 300 contacts for good";
    let r1 = agent
        .json(&["credit", "request", &first, "--reason", reason])
        .await;
    assert_eq!(r1["result"], "requested");
    let r1 = r1["request_id"].as_i64().expect("request id");
    w.clock.advance(chrono::TimeDelta::minutes(10));
    let r2 = agent
        .json(&[
            "credit",
            "request",
            &second,
            "--reason",
            "Lost all contacts",
        ])
        .await["request_id"]
        .as_i64()
        .expect("request id");
    let queue = sup.json(&["credit", "requests"]).await;
    assert_eq!(ids(&queue), [r1, r2], "pending, oldest first: {queue}");
    let row = &queue["results"][0];
    assert_eq!(row["account_no"], first.as_str());
    assert_eq!(row["customer"], "Eli Gibson", "a supervisor sees the name");
    assert_eq!(row["status"], "pending");
    assert_eq!(row["amount_cents"], 10_000);
    assert_eq!(row["currency"], "USD");
    assert_eq!(row["requested_by"], alice.login.as_str());
    assert_eq!(row["reason"], reason);
    let (code, text, _) = sup.run(&["credit", "requests"]).await;
    assert_eq!(code, 0);
    assert!(
        text.contains(&format!("#{r1}")) && text.contains("$100.00") && text.contains(reason),
        "{text}"
    );
    let masked = auditor.json(&["credit", "requests"]).await;
    assert_eq!(ids(&masked), [r1, r2]);
    assert_eq!(
        masked["results"][0]["customer"], "E. G.",
        "an auditor sees the customer masked, as in search results"
    );
    let err = agent.refused(&["credit", "requests"], 3).await;
    assert!(
        err.contains("may not list the appreciation requests"),
        "{err}"
    );

    // The supervisor rejects the first with a reason.
    let why = "Contacts came back with the re-sync";
    let rejected = sup
        .json(&["credit", "reject", &r1.to_string(), "--reason", why])
        .await;
    assert_eq!(rejected["result"], "rejected");
    assert_eq!(rejected["request_id"], r1);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["decided_by"], s);
    assert_eq!(rejected["rejection_reason"], why);
    assert_eq!(rejected["credit_id"], Value::Null);
    let records = audit_records(&sup).await;

    // The same rejection again changes nothing; another reason, an approval, and rejecting
    // one's own request are refused and change nothing either.
    let again = sup
        .json(&["credit", "reject", &r1.to_string(), "--reason", why])
        .await;
    assert_eq!(again["result"], "already-rejected");
    assert_eq!(again["decided_at"], rejected["decided_at"]);
    let (code, text, _) = sup
        .run(&["credit", "reject", &r1.to_string(), "--reason", why])
        .await;
    assert_eq!(code, 0);
    assert!(
        text.starts_with("already rejected") && text.contains("nothing changed"),
        "{text}"
    );
    let err = other
        .refused(
            &["credit", "reject", &r1.to_string(), "--reason", "Duplicate"],
            2,
        )
        .await;
    assert!(
        err.contains("already rejected by") && err.contains("another reason"),
        "{err}"
    );
    let err = other
        .refused(&["credit", "approve", &r1.to_string()], 3)
        .await;
    assert!(
        err.contains(&format!("request #{r1} was rejected by {s}")),
        "{err}"
    );
    assert!(
        !err.contains(why),
        "a refusal does not repeat the reason: {err}"
    );
    let err = sup
        .refused(&["credit", "reject", &r1.to_string(), "--reason", "  "], 2)
        .await;
    assert!(err.contains("a reason is required"), "{err}");
    let err = sup
        .refused(&["credit", "reject", "999999", "--reason", "x"], 2)
        .await;
    assert!(err.contains("there is no credit request #999999"), "{err}");
    assert_eq!(audit_records(&sup).await, records, "nothing was written");
    let own = other
        .json(&["credit", "request", &third, "--reason", "Lost the lot"])
        .await["request_id"]
        .as_i64()
        .expect("request id");
    let err = other
        .refused(
            &["credit", "reject", &own.to_string(), "--reason", "Mine"],
            3,
        )
        .await;
    assert!(
        err.contains("cannot reject it; another supervisor must"),
        "{err}"
    );
    let err = agent
        .refused(&["credit", "reject", &r2.to_string(), "--reason", "No"], 3)
        .await;
    assert!(err.contains("may not approve a credit request"), "{err}");

    // Listed as rejected, and the requester reads it on the account.
    let list = sup
        .json(&["credit", "requests", "--status", "rejected"])
        .await;
    assert_eq!(ids(&list), [r1]);
    assert_eq!(list["results"][0]["rejection_reason"], why);
    assert_eq!(
        ids(&sup.json(&["credit", "requests"]).await),
        [r2, own],
        "the queue is what is still pending"
    );
    let shown = agent.json(&["show", &first]).await;
    let req = &shown["requests"][0];
    assert_eq!(req["id"], r1);
    assert_eq!(req["status"], "rejected");
    assert_eq!(req["decided_by"], s);
    assert_eq!(req["rejection_reason"], why);
    assert!(
        shown["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|e| e["action"] == "credit.reject"),
        "{shown}"
    );
    assert!(
        shown["credits"].as_array().expect("credits").is_empty(),
        "nothing was credited"
    );
    let (code, text, _) = agent.run(&["show", &first]).await;
    assert_eq!(code, 0);
    assert!(
        text.contains(&format!(
            "request #{r1} appreciation $100.00 by {}: rejected by {s}: {why}",
            alice.login
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "$100.00 appreciation request #{r1} rejected by {s}: {why}"
        )),
        "the timeline in words: {text}"
    );

    // The audit has the rejection, without the reason's words, and the chain holds.
    let log = sup.json(&["audit", "log", "--account", &first]).await;
    let record = log["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["action"] == "credit.reject")
        .unwrap_or_else(|| panic!("a credit.reject record: {log}"))
        .clone();
    assert_eq!(record["agent"], s);
    assert_eq!(record["object_id"], format!("request {r1}"));
    let detail = record["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("request {r1}")) && detail.contains("characters of reason"),
        "{detail}"
    );
    assert!(
        !detail.contains("re-sync"),
        "no reason text in the audit: {detail}"
    );
    let verified = sup.json(&["audit", "verify"]).await;
    assert_eq!(verified["valid"], true, "{verified}");

    // An approval through the command line is listed as approved, and is not rejected later.
    let approved = sup.json(&["credit", "approve", &r2.to_string()]).await;
    assert_eq!(approved["result"], "credited");
    let credit = approved["credit_id"].as_i64().expect("credit id");
    let list = auditor
        .json(&["credit", "requests", "--status", "approved"])
        .await;
    assert_eq!(ids(&list), [r2]);
    assert_eq!(list["results"][0]["credit_id"], credit);
    assert_eq!(list["results"][0]["status"], "approved");
    let err = other
        .refused(
            &["credit", "reject", &r2.to_string(), "--reason", "Late"],
            3,
        )
        .await;
    assert!(
        err.contains(&format!("was approved by {s} (credit #{credit})")),
        "{err}"
    );
    assert_eq!(ids(&sup.json(&["credit", "requests"]).await), [own]);
    let err = sup
        .refused(&["credit", "requests", "--status", "done"], 2)
        .await;
    assert!(err.contains("is not a request status"), "{err}");
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_lists_each_status_and_a_rejection_in_words_on_the_timeline() {
    let w = World::empty("sofia").await;
    let (agent_svc, alice) = w.as_agent("ap_alice", Role::Agent).await;
    let (omar_svc, omar) = w.as_agent("ap_omar", Role::Supervisor).await;
    let account = lost_for_good(&w, "720000021", "+12065550321").await;
    let req = match agent_svc
        .credit_request(&alice, &account, None, "Lost 300 contacts")
        .await
        .expect("request")
    {
        caredesk::domain::RequestOutcome::Requested(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(req.status, RequestStatus::Pending);
    let out = omar_svc
        .credit_reject(&omar, req.id, "  Duplicate of a goodwill credit  ")
        .await
        .expect("reject");
    assert!(out.is_new());
    assert_eq!(
        out.request().rejection_reason.as_deref(),
        Some("Duplicate of a goodwill credit"),
        "the reason is trimmed as every reason is"
    );
    let replay = omar_svc
        .credit_reject(&omar, req.id, "Duplicate of a goodwill credit")
        .await
        .expect("replay");
    assert!(!replay.is_new());
    assert_eq!(replay.request(), out.request());
    for (status, expected) in [
        (Some(RequestStatus::Pending), vec![]),
        (Some(RequestStatus::Approved), vec![]),
        (Some(RequestStatus::Rejected), vec![req.id]),
        (None, vec![req.id]),
    ] {
        let got: Vec<i64> = w
            .svc
            .credit_requests(&w.sup, status, 50)
            .await
            .expect("list")
            .iter()
            .map(|v| v.request.id)
            .collect();
        assert_eq!(got, expected, "{status:?}");
    }
    let e = agent_svc
        .credit_requests(&alice, None, 50)
        .await
        .expect_err("an agent");
    assert_eq!(e.exit_code(), 3);
    let d = agent_svc.show(&alice, &account).await.expect("show");
    let words: Vec<String> = d.timeline.iter().map(|e| d.describe(e)).collect();
    assert!(
        words.contains(&format!(
            "$100.00 appreciation request #{} rejected by {}: Duplicate of a goodwill credit",
            req.id, omar.login
        )),
        "{words:?}"
    );
    for s in [agent_svc, omar_svc] {
        s.close().await;
    }
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_supervisors_deciding_one_request_at_once_decide_it_once() {
    let w = World::empty("sofia").await;
    let (agent_svc, alice) = w.as_agent("ap_alice", Role::Agent).await;
    let (omar_svc, omar) = w.as_agent("ap_omar", Role::Supervisor).await;
    let (sam_svc, sam) = w.as_agent("ap_sam", Role::Supervisor).await;
    for round in 0..4 {
        let account = lost_for_good(
            &w,
            &format!("72000003{round}"),
            &format!("+1206555033{round}"),
        )
        .await;
        let id = agent_svc
            .credit_request(&alice, &account, None, "Lost 300 contacts")
            .await
            .expect("request")
            .request()
            .id;
        // A rejection and an approval at once: one of them decides, the other is refused,
        // and the ledger agrees with the request.
        let (rejected, approved) = tokio::join!(
            omar_svc.credit_reject(&omar, id, "Duplicate"),
            sam_svc.credit_approve(&sam, id)
        );
        let d = w.svc.show(&w.sup, &account).await.expect("show");
        match (rejected, approved) {
            (Ok(r), Err(e)) => {
                assert!(r.is_new());
                assert_eq!(e.exit_code(), 3, "{e}");
                assert!(d.credits.is_empty(), "a rejected request credits nothing");
                assert_eq!(d.requests[0].status, RequestStatus::Rejected);
            }
            (Err(e), Ok(c)) => {
                assert!(c.is_new());
                assert_eq!(e.exit_code(), 3, "{e}");
                assert_eq!(d.credits.len(), 1);
                assert_eq!(d.requests[0].status, RequestStatus::Approved);
            }
            other => panic!("round {round}: one decision, not {other:?}"),
        }
        // Two rejections with the same reason at once: one rejects, the other is its replay.
        let account = lost_for_good(
            &w,
            &format!("72000004{round}"),
            &format!("+1206555034{round}"),
        )
        .await;
        let id = agent_svc
            .credit_request(&alice, &account, None, "Lost 300 contacts")
            .await
            .expect("request")
            .request()
            .id;
        let (a, b) = tokio::join!(
            omar_svc.credit_reject(&omar, id, "Duplicate"),
            sam_svc.credit_reject(&sam, id, "Duplicate")
        );
        let (a, b) = (a.expect("omar's"), b.expect("sam's"));
        assert_eq!(
            [a.is_new(), b.is_new()].iter().filter(|n| **n).count(),
            1,
            "round {round}: rejected once"
        );
        assert_eq!(a.request(), b.request());
    }
    assert_eq!(
        w.svc.audit_verify(&w.sup).await.expect("verify").first_bad,
        None
    );
    for s in [agent_svc, omar_svc, sam_svc] {
        s.close().await;
    }
    w.finish().await;
}
