//! The credit rules on one backend (SQLite, or PostgreSQL when CAREDESK_TEST_PG is set):
//! replays, changed replays, roles, the plan at the incident's start, appreciation, batch runs
//! that reconcile.

mod common;

use std::sync::atomic::AtomicBool;

use caredesk::domain::{Category, Cents, Role};
use caredesk::domain::{CreditOutcome, Outcome, RequestOutcome};
use caredesk::service::batch::RunRequest;
use caredesk::service::credit::IncidentCredit;
use common::World;

/// How many rows the ledger holds, as the credit export sees them.
async fn ledger_rows(w: &World) -> usize {
    let mut n = 0;
    w.svc
        .credit_export(&w.sup, None, |_| {
            n += 1;
            Ok(())
        })
        .await
        .expect("export");
    n
}

fn run(apply: bool) -> RunRequest {
    RunRequest {
        incident: None,
        accounts: None,
        apply,
        chunk: 97,
        shard: (0, 1),
        max_total_cents: None,
        skip_invalid: false,
    }
}

fn no_progress(_: u64, _: u64) {}

#[tokio::test]
async fn a_replayed_credit_changes_nothing_and_returns_the_original() {
    let w = World::demo(200, 2009).await;
    let (agent_svc, agent) = w.as_agent("ct_alice", Role::Agent).await;
    let account = w.eligible_account("720000001", "+12065550201").await;
    let first = match agent_svc
        .credit_apply(&agent, &account, None, false)
        .await
        .expect("apply")
    {
        IncidentCredit::Applied(CreditOutcome::Credited(c)) => c,
        other => panic!("expected a new credit, got {other:?}"),
    };
    assert_eq!(first.amount_cents, 1999);
    let rows = ledger_rows(&w).await;
    let audit = w.svc.audit_verify(&w.sup).await.expect("verify").records;
    w.clock.advance(chrono::TimeDelta::minutes(5));
    match agent_svc
        .credit_apply(&agent, &account, None, false)
        .await
        .expect("replay")
    {
        IncidentCredit::Applied(CreditOutcome::AlreadyCredited(c)) => assert_eq!(c, first),
        other => panic!("expected the original credit, got {other:?}"),
    }
    assert_eq!(ledger_rows(&w).await, rows, "no new ledger row");
    assert_eq!(
        w.svc.audit_verify(&w.sup).await.expect("verify").records,
        audit,
        "no new audit record"
    );
    let detail = w.svc.show(&w.sup, &account).await.expect("show");
    assert_eq!(detail.credits.len(), 1, "show lists the credit");
    agent_svc.close().await;
    w.finish().await;
}

#[tokio::test]
async fn a_changed_replay_is_refused_and_changes_nothing() {
    let w = World::demo(100, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let g = svc
        .credit_goodwill(
            sup,
            "310000001",
            None,
            Cents(1500),
            "Lost wedding photos",
            Some("call-77"),
        )
        .await
        .expect("goodwill");
    assert!(g.is_new());
    let again = svc
        .credit_goodwill(
            sup,
            "310000001",
            None,
            Cents(1500),
            "Lost wedding photos",
            Some("call-77"),
        )
        .await
        .expect("replay");
    assert_eq!(again, CreditOutcome::AlreadyCredited(g.credit().clone()));
    let rows = ledger_rows(&w).await;
    let e = svc
        .credit_goodwill(
            sup,
            "310000001",
            None,
            Cents(2500),
            "Lost wedding photos",
            Some("call-77"),
        )
        .await
        .expect_err("changed replay");
    assert_eq!(e.exit_code(), 2, "{e}");
    let r = svc
        .credit_reverse(sup, g.credit().id, "Granted in error")
        .await
        .expect("reverse");
    assert_eq!(r.credit().amount_cents, -1500);
    assert_eq!(r.credit().reverses, Some(g.credit().id));
    let e = svc
        .credit_reverse(sup, g.credit().id, "Another reason")
        .await
        .expect_err("changed");
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(
        !svc.credit_reverse(sup, g.credit().id, "Granted in error")
            .await
            .expect("replay")
            .is_new()
    );
    assert_eq!(
        ledger_rows(&w).await,
        rows + 1,
        "only the reversal was added"
    );
    w.finish().await;
}

#[tokio::test]
async fn the_dashboard_credits_net_of_reversals_and_the_timeline_says_each_credit_in_words() {
    let w = World::demo(100, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let (agent_svc, agent) = w.as_agent("ct_alice", Role::Agent).await;
    let before = svc.totals(sup).await.expect("totals");
    let account = w.eligible_account("720000003", "+12065550203").await;
    let incident = match agent_svc
        .credit_apply(&agent, &account, None, false)
        .await
        .expect("apply")
    {
        IncidentCredit::Applied(CreditOutcome::Credited(c)) => c,
        other => panic!("expected a new credit, got {other:?}"),
    };
    let goodwill = svc
        .credit_goodwill(sup, &account, None, Cents(2500), "Lost photos", None)
        .await
        .expect("goodwill");
    let reversal = svc
        .credit_reverse(sup, incident.id, "Credited in error")
        .await
        .expect("reverse");
    let after = svc.totals(sup).await.expect("totals");
    // Still one more incident credit counted; the amount is the ledger's net:
    // $19.99 + $25.00 - $19.99.
    assert_eq!(after.credited, before.credited + 1);
    assert_eq!(after.net_credited_cents, before.net_credited_cents + 2500);

    let d = svc.show(sup, &account).await.expect("show");
    let words: Vec<String> = d.timeline.iter().map(|e| d.describe(e)).collect();
    let (a, s) = (&agent.login, &sup.login);
    assert_eq!(
        words,
        [
            format!("viewed by {s}"),
            format!(
                "credit #{} reversed by {s}: -$19.99",
                reversal.credit().reverses.expect("reverses")
            ),
            format!("$25.00 goodwill credit by {s}"),
            format!("$19.99 incident credit by {a}"),
        ]
    );
    assert!(goodwill.is_new());
    w.finish().await;
}

#[tokio::test]
async fn agents_cannot_apply_batches_approve_their_own_requests_or_pass_the_cap() {
    let w = World::demo(100, 2009).await;
    let (agent_svc, agent) = w.as_agent("ct_bob", Role::Agent).await;
    let (omar_svc, omar) = w.as_agent("ct_omar", Role::Supervisor).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let cancel = AtomicBool::new(false);

    let e = agent_svc
        .credit_run(&agent, &run(true), &no_progress, &cancel, None)
        .await
        .expect_err("agent batch");
    assert_eq!(e.exit_code(), 3);
    assert!(
        e.to_string().contains("may not apply a batch credit run"),
        "{e}"
    );
    let plan = agent_svc
        .credit_run(&agent, &run(false), &no_progress, &cancel, None)
        .await
        .expect("an agent may plan");
    assert!(!plan.applied);
    assert_eq!(ledger_rows(&w).await, 0, "a plan writes nothing");

    // Appreciation: only after a permanent loss; approved by another supervisor.
    let e = agent_svc
        .credit_request(&agent, "310000001", None, "Lost 236 contacts")
        .await
        .expect_err("no loss yet");
    assert_eq!(e.exit_code(), 3);
    assert!(
        svc.declare_loss(
            sup,
            "310000001",
            None,
            Category::Calendar,
            "Snapshot has no calendar"
        )
        .await
        .expect("declare")
    );
    let req = match agent_svc
        .credit_request(&agent, "310000001", None, "Lost 236 contacts")
        .await
        .expect("request")
    {
        RequestOutcome::Requested(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(req.amount_cents, 10_000);
    let e = agent_svc
        .credit_approve(&agent, req.id)
        .await
        .expect_err("agent approves");
    assert_eq!(e.exit_code(), 3);
    let sup_req = match svc
        .credit_request(sup, "310000001", None, "Lost 236 contacts")
        .await
        .expect("replay")
    {
        RequestOutcome::AlreadyRequested(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(sup_req.id, req.id);
    let detail = svc.show(sup, "310000001").await.expect("show");
    assert!(
        detail
            .requests
            .iter()
            .any(|r| r.id == req.id && r.credit_id.is_none()),
        "show lists the pending request"
    );

    let (own_svc, own) = w.as_agent("ct_sam", Role::Supervisor).await;
    let own_req = own_svc
        .credit_request(&own, "310000001", None, "Lost 236 contacts")
        .await
        .expect("same request, same reason");
    assert!(matches!(own_req, RequestOutcome::AlreadyRequested(_)));
    let approved = omar_svc
        .credit_approve(&omar, req.id)
        .await
        .expect("approve");
    assert!(approved.is_new());
    assert_eq!(approved.credit().amount_cents, 10_000);
    assert_eq!(
        approved.credit().approver.as_deref(),
        Some(omar.login.as_str())
    );
    assert!(
        !omar_svc
            .credit_approve(&omar, req.id)
            .await
            .expect("replay")
            .is_new()
    );

    // A supervisor cannot approve their own request.
    // The account is the test's own: its contacts were lost, and are declared lost for good.
    let lost = w.eligible_account("720000002", "+12065550202").await;
    w.impact(
        "lost.csv",
        "account_no,incident,category,server_lost,device_state,items_before\n\
         720000002,danger-2009-10,contacts,true,wiped,300\n",
    )
    .await
    .expect("its contacts were lost");
    svc.declare_loss(sup, &lost, None, Category::Contacts, "gone")
        .await
        .expect("an affected account");
    let r = match omar_svc
        .credit_request(&omar, &lost, None, "gone for good")
        .await
        .expect("request")
    {
        RequestOutcome::Requested(r) => r,
        other => panic!("{other:?}"),
    };
    let e = omar_svc
        .credit_approve(&omar, r.id)
        .await
        .expect_err("own request");
    assert_eq!(e.exit_code(), 3);
    assert!(e.to_string().contains("cannot approve it"), "{e}");

    // Goodwill: supervisors only, never over the cap.
    let e = agent_svc
        .credit_goodwill(&agent, "310000001", None, Cents(500), "sorry", None)
        .await
        .expect_err("agent goodwill");
    assert_eq!(e.exit_code(), 3);
    let cap = svc.goodwill_cap().await.expect("cap");
    let e = svc
        .credit_goodwill(sup, "310000001", None, Cents(cap + 1), "sorry", None)
        .await
        .expect_err("over cap");
    assert_eq!(e.exit_code(), 3);
    assert!(e.to_string().contains("over the goodwill cap"), "{e}");
    svc.set_goodwill_cap(sup, Cents(cap * 2))
        .await
        .expect("raise cap");
    assert!(
        svc.credit_goodwill(sup, "310000001", None, Cents(cap + 1), "sorry", None)
            .await
            .expect("within new cap")
            .is_new()
    );

    for s in [agent_svc, omar_svc, own_svc] {
        s.close().await;
    }
    w.finish().await;
}

#[tokio::test]
async fn the_amount_follows_the_plan_at_the_incident_start_not_a_later_change() {
    let w = World::demo(20, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let rows = caredesk::import::parse_accounts(
        "change.csv",
        b"account_no,msisdn,name,email,status,plan_code,plan_cents,plan_from\n\
          410000001,(206) 555-0142,Chidi Okafor,,active,SK-DATA,1999,2008-03-01\n\
          410000002,(206) 555-0143,Closed Person,,closed,SK-DATA,1999,2008-03-01\n\
          410000003,(206) 555-0144,Voice Only,,active,SK-VOICE,0,2008-03-01\n",
    )
    .expect("rows");
    svc.import_accounts(sup, &rows, "change.csv")
        .await
        .expect("import");
    let upgrade = caredesk::import::parse_accounts(
        "upgrade.csv",
        b"account_no,msisdn,name,email,status,plan_code,plan_cents,plan_from\n\
          410000001,(206) 555-0142,Chidi Okafor,,active,SK-DATA-PLUS,2999,2009-11-01\n",
    )
    .expect("rows");
    svc.import_accounts(sup, &upgrade, "upgrade.csv")
        .await
        .expect("upgrade");
    match svc
        .credit_apply(sup, "410000001", None, false)
        .await
        .expect("apply")
    {
        IncidentCredit::Applied(o) => assert_eq!(o.credit().amount_cents, 1999),
        other => panic!("{other:?}"),
    }
    for (acc, why) in [("410000002", "closed"), ("410000003", "no data plan")] {
        let e = svc
            .credit_apply(sup, acc, None, false)
            .await
            .expect_err("ineligible");
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains(why), "{e}");
    }
    w.finish().await;
}

#[tokio::test]
async fn a_batch_run_credits_every_eligible_account_once_and_reconciles() {
    // 699 demo accounts and one more of the test's own: 700.
    let w = World::demo(699, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let cancel = AtomicBool::new(false);
    // An agent's single credit before the run: the run finds it "already credited".
    let first = w.eligible_account("720000001", "+12065550201").await;
    svc.credit_apply(sup, &first, None, false)
        .await
        .expect("single credit");

    let plan = svc
        .credit_run(sup, &run(false), &no_progress, &cancel, None)
        .await
        .expect("plan");
    assert!(plan.tally.reconciles());
    assert_eq!(plan.tally.selected, 700);
    assert_eq!(plan.tally.already_credited, 1);

    let dir = tempfile::tempdir().expect("dir");
    let report = dir.path().join("report.csv");
    let s = svc
        .credit_run(sup, &run(true), &no_progress, &cancel, Some(&report))
        .await
        .expect("run");
    assert!(s.applied);
    assert!(s.tally.reconciles(), "{:?}", s.tally);
    assert_eq!(s.tally.credited, plan.tally.credited);
    assert_eq!(s.tally.total_cents, plan.tally.total_cents);
    assert_eq!(
        s.ledger_total_cents,
        Some(s.tally.total_cents),
        "the ledger's sum for the run"
    );

    // A byte order mark first, so a spreadsheet reads the file as UTF-8.
    let bytes = std::fs::read(&report).expect("report");
    assert!(
        bytes.starts_with("\u{feff}account_no,outcome,".as_bytes()),
        "{:?}",
        &bytes[..bytes.len().min(40)]
    );
    let mut rdr = csv::Reader::from_path(&report).expect("report");
    assert_eq!(&rdr.headers().expect("header")[0], "account_no");
    let mut report_total = 0;
    let mut rows = 0;
    for rec in rdr.records() {
        let rec = rec.expect("row");
        rows += 1;
        if &rec[1] == "credited" {
            report_total += rec[2].parse::<i64>().expect("cents");
        }
    }
    assert_eq!(rows, 700);
    assert_eq!(
        report_total, s.tally.total_cents,
        "the report's total equals the ledger's"
    );

    // A replay credits nobody.
    let replay = svc
        .credit_run(sup, &run(true), &no_progress, &cancel, None)
        .await
        .expect("replay");
    assert_eq!(replay.tally.credited, 0);
    assert_eq!(replay.tally.already_credited, s.tally.credited + 1);
    assert_ne!(replay.run_id, s.run_id);

    // --max-total-cents refuses before anything is written.
    let rows_before = ledger_rows(&w).await;
    let mut capped = run(true);
    capped.max_total_cents = Some(1);
    let small = caredesk::import::parse_accounts(
        "new.csv",
        b"account_no,msisdn,name,email,status,plan_code,plan_cents\n420000001,(206) 555-0188,New Person,,active,SK-DATA,1999\n",
    )
    .expect("rows");
    svc.import_accounts(sup, &small, "new.csv")
        .await
        .expect("import");
    let e = svc
        .credit_run(sup, &capped, &no_progress, &cancel, None)
        .await
        .expect_err("over the max");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(ledger_rows(&w).await, rows_before);
    w.finish().await;
}

#[tokio::test]
async fn an_accounts_file_as_spreadsheets_save_it_selects_accounts_and_names_bad_rows() {
    let w = World::demo(60, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let cancel = AtomicBool::new(false);
    let good = "\u{feff}account_no,msisdn\r\n310000001,\r\n,\"(206) 555-0123\"\r\n310000005,\r\n";
    let mut req = run(true);
    req.accounts = Some(("accounts.csv".to_string(), good.as_bytes().to_vec()));
    let s = svc
        .credit_run(sup, &req, &no_progress, &cancel, None)
        .await
        .expect("run");
    assert_eq!(s.tally.selected, 2, "the same account twice counts once");
    assert!(s.tally.reconciles());

    let bad = "account_no,msisdn\r\n310000002,\r\n12,\r\n,+1 999\r\n888888888,\r\n";
    let rows = ledger_rows(&w).await;
    req.accounts = Some(("bad.csv".to_string(), bad.as_bytes().to_vec()));
    let e = svc
        .credit_run(sup, &req, &no_progress, &cancel, None)
        .await
        .expect_err("bad rows");
    assert_eq!(e.exit_code(), 2);
    let msg = e.to_string();
    for line in ["bad.csv line 3", "bad.csv line 4", "bad.csv line 5"] {
        assert!(msg.contains(line), "{line} missing: {msg}");
    }
    assert_eq!(
        ledger_rows(&w).await,
        rows,
        "nothing applied while a row is bad"
    );
    req.skip_invalid = true;
    let s = svc
        .credit_run(sup, &req, &no_progress, &cancel, None)
        .await
        .expect("skip invalid");
    assert_eq!(s.tally.invalid, 3);
    assert_eq!(s.tally.selected, 4);
    assert!(s.tally.reconciles());
    w.finish().await;
}

#[tokio::test]
async fn accounts_with_overlapping_plans_fail_and_are_reported() {
    let w = World::demo(30, 2009).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let target = w.eligible_account("720000001", "+12065550201").await;
    // A plan history broken by hand: two plans in force at the incident's start.
    let sql = "INSERT INTO plans (account_id, plan_code, data_plan, price_cents, currency, valid_from) \
               SELECT id, 'SK-DUP', TRUE, 2999, 'USD', '2008-01-01T00:00:00+00:00' FROM accounts WHERE account_no = $1";
    match svc.store() {
        caredesk::store::Store::Sqlite(s) => {
            sqlx::query(sql)
                .bind(&target)
                .execute(s.pool())
                .await
                .expect("insert");
        }
        caredesk::store::Store::Postgres(s) => {
            sqlx::query(sql)
                .bind(&target)
                .execute(s.pool())
                .await
                .expect("insert");
        }
    }
    let cancel = AtomicBool::new(false);
    let s = svc
        .credit_run(sup, &run(true), &no_progress, &cancel, None)
        .await
        .expect("run");
    assert_eq!(s.tally.failed, 1);
    assert!(s.tally.reconciles());
    let outcome = svc.store();
    let inc = svc.incident(None).await.expect("incident");
    let id = svc.resolve_account(&target).await.expect("account").id;
    let o = caredesk::with_store!(outcome, st => st.classify(&[id], &inc).await).expect("classify");
    assert!(matches!(o[0].outcome, Outcome::Failed(_)));
    w.finish().await;
}
