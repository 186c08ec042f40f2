//! The foundation's story on one backend (SQLite, or PostgreSQL when CAREDESK_TEST_PG is set):
//! demo data → lookup → show → note → audit verify, and a hand-edited audit record caught.

mod common;

use std::sync::Arc;

use caredesk::domain::{CategoryStatus, Clock, Role};
use caredesk::store::Store;
use common::{TestDb, clock};

#[tokio::test]
async fn the_foundation_story_holds_from_demo_to_a_verified_audit_chain() {
    let db = TestDb::new().await;
    let clk = clock();
    let svc: common::Svc = db.service(clk.clone() as Arc<dyn Clock>).await.into();
    let summary = caredesk::demo::build(&svc, 400, 2009, "sofia", None)
        .await
        .expect("demo");
    assert_eq!(summary.accounts, 400);
    let actor = svc
        .actor(db.supervisor_login())
        .await
        .expect("supervisor resolves");
    assert_eq!(actor.role, Role::Supervisor);
    // Through a server, the session is opened now (its records are set-up, not the story's).
    svc.prepare(&actor).await;
    let setup = svc.audit_verify(&actor).await.expect("verify").records - 1;

    // The same account by three phone formats and by a fragment of its name.
    for q in ["+12065550123", "(206) 555-0123", "2065550123", "310000001"] {
        let found = svc.search(&actor, q, 5).await.expect("lookup");
        assert_eq!(
            found.first().map(|a| a.account_no.as_str()),
            Some("310000001"),
            "query {q}"
        );
    }
    let by_name = svc.search(&actor, "nune", 50).await.expect("lookup");
    assert!(
        by_name.iter().any(|a| a.account_no == "310000001"),
        "a name fragment finds the account"
    );
    assert!(by_name.len() <= 50);
    let fragment = svc.search(&actor, "555-01", 10).await.expect("lookup");
    assert!(
        fragment.iter().any(|a| a.account_no == "310000001"),
        "a phone fragment finds it"
    );

    // Names that contain the query rank above matches only in the e-mail or the digits.
    let ann = svc.search(&actor, "ann", 50).await.expect("lookup");
    let in_name: Vec<bool> = ann
        .iter()
        .map(|a| caredesk::domain::search_fold(&a.name).contains("ann"))
        .collect();
    assert!(in_name.windows(2).all(|w| w[0] || !w[1]), "{ann:?}");

    // Show: the profile, the partial backup (64 of 300 contacts), the view audited.
    let detail = svc.show(&actor, "(206) 555-0123").await.expect("show");
    assert_eq!(detail.summary.name, "José Núñez");
    let contacts = detail
        .categories
        .iter()
        .find(|c| c.category == caredesk::domain::Category::Contacts)
        .expect("contacts row");
    assert_eq!(contacts.items_before, 300);
    assert_eq!(contacts.items_backup, Some(64));
    assert_eq!(contacts.status, CategoryStatus::Restorable);
    assert_eq!(detail.current_plan().map(|p| p.price_cents), Some(1999));
    // The first view of the account shows itself on the timeline it returns, in words.
    let me = actor.login.as_str();
    let words = |d: &caredesk::domain::AccountDetail| -> Vec<String> {
        d.timeline.iter().map(|e| d.describe(e)).collect()
    };
    assert_eq!(words(&detail), [format!("viewed by {me}")]);
    assert_eq!(detail.timeline[0].at, clk.now());

    // A note lands on the timeline with its audit record.
    clk.advance(chrono::TimeDelta::minutes(3));
    let (_, note_id) = svc
        .add_note(
            &actor,
            "310000001",
            "Customer advised not to reset the device",
        )
        .await
        .expect("note");
    let again = svc.show(&actor, "310000001").await.expect("show again");
    assert!(again.notes.iter().any(|n| n.id == note_id));
    assert_eq!(
        words(&again),
        [
            format!("viewed by {me}"),
            format!("note by {me}: Customer advised not to reset the device"),
            format!("viewed by {me}"),
        ]
    );

    let log = svc
        .audit_log(&actor, Some("310000001"), None, 100)
        .await
        .expect("audit log");
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["account.view", "note.add", "account.view"]);
    assert!(
        log.iter()
            .all(|r| !r.detail.contains("Núñez") && !r.detail.contains("reset"))
    );

    let v = svc.audit_verify(&actor).await.expect("verify");
    assert_eq!(v.first_bad, None);
    assert_eq!(v.records, 4 + setup, "demo build, two views and a note");

    // Editing a record by hand (past the append-only trigger) is caught and named.
    let target = log[1].seq;
    tamper(svc.store(), target).await;
    let v = svc.audit_verify(&actor).await.expect("verify");
    let (seq, why) = v.first_bad.expect("tampering detected");
    assert_eq!(seq, target, "{why}");
    assert!(why.contains(&format!("record {target}")), "{why}");

    svc.close().await;
    db.cleanup().await;
}

async fn tamper(store: &Store, seq: i64) {
    match store {
        Store::Sqlite(s) => {
            let mut tx = s.pool().begin().await.expect("tx");
            sqlx::query("DROP TRIGGER audit_no_update")
                .execute(&mut *tx)
                .await
                .expect("drop trigger");
            sqlx::query("UPDATE audit SET detail = 'nothing to see' WHERE seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await
                .expect("edit");
            tx.commit().await.expect("commit");
        }
        Store::Postgres(s) => {
            let mut tx = s.pool().begin().await.expect("tx");
            sqlx::query("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
                .execute(&mut *tx)
                .await
                .expect("disable trigger");
            sqlx::query("UPDATE audit SET detail = 'nothing to see' WHERE seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await
                .expect("edit");
            tx.commit().await.expect("commit");
        }
    }
}

#[tokio::test]
async fn the_ledger_and_the_audit_log_refuse_updates_and_deletes() {
    let db = TestDb::new().await;
    let svc = db.service(clock() as Arc<dyn Clock>).await;
    caredesk::demo::build(&svc, 20, 1, "sofia", None)
        .await
        .expect("demo");
    let (upd, del) = match svc.store() {
        Store::Sqlite(s) => (
            sqlx::query("UPDATE audit SET detail = 'x'")
                .execute(s.pool())
                .await
                .map(|_| ()),
            sqlx::query("DELETE FROM audit")
                .execute(s.pool())
                .await
                .map(|_| ()),
        ),
        Store::Postgres(s) => (
            sqlx::query("UPDATE audit SET detail = 'x'")
                .execute(s.pool())
                .await
                .map(|_| ()),
            sqlx::query("DELETE FROM audit")
                .execute(s.pool())
                .await
                .map(|_| ()),
        ),
    };
    for r in [upd, del] {
        let e = r.expect_err("append-only");
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    svc.close().await;
    db.cleanup().await;
}

/// Runs one static statement on the store's own connection (the tables' owner).
async fn owner_runs(store: &Store, sql: &'static str) -> Result<u64, String> {
    match store {
        Store::Sqlite(s) => sqlx::query(sql)
            .execute(s.pool())
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string()),
        Store::Postgres(s) => sqlx::query(sql)
            .execute(s.pool())
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string()),
    }
}

#[tokio::test]
async fn the_audit_head_moves_only_forward_onto_a_record_of_the_log() {
    let db = TestDb::new().await;
    let svc = db.service(clock() as Arc<dyn Clock>).await;
    caredesk::demo::build(&svc, 20, 1, "sofia", None)
        .await
        .expect("demo");
    let actor = svc
        .actor(db.supervisor_login())
        .await
        .expect("supervisor resolves");
    let store = svc.store();
    // Back to the start, back one, sideways, forward onto no record, another row, a second
    // head, no head: all refused, whoever asks (even the tables' owner).
    for sql in [
        "UPDATE audit_head SET seq = 0, hash = '00'",
        "UPDATE audit_head SET seq = seq - 1",
        "UPDATE audit_head SET hash = 'ff'",
        "UPDATE audit_head SET seq = seq + 1",
        "UPDATE audit_head SET seq = seq + 1, hash = 'ff'",
        "UPDATE audit_head SET id = 2",
        "INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, '00')",
        "DELETE FROM audit_head",
    ] {
        let e = owner_runs(store, sql)
            .await
            .expect_err(&format!("the head must not move: {sql}"));
        assert!(
            e.contains("the audit head") || e.contains("one head"),
            "{sql}: refused, but not by the guard: {e}"
        );
    }
    if db.is_postgres() {
        let e = owner_runs(store, "TRUNCATE audit_head")
            .await
            .expect_err("no truncate");
        assert!(e.contains("the audit head cannot be removed"), "{e}");
    }
    // The lock append_audit takes changes nothing and is let through; appending moves it.
    assert_eq!(
        owner_runs(store, "UPDATE audit_head SET seq = seq WHERE id = 1").await,
        Ok(1)
    );
    svc.add_note(&actor, "310000001", "called back")
        .await
        .expect("an append moves the head forward");
    let v = svc.audit_verify(&actor).await.expect("verify");
    assert_eq!(v.first_bad, None);
    svc.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn concurrent_writers_keep_the_audit_chain_valid() {
    let db = TestDb::new().await;
    let svc: common::Svc = db.service(clock() as Arc<dyn Clock>).await.into();
    caredesk::demo::build(&svc, 50, 3, "sofia", None)
        .await
        .expect("demo");
    let actor = svc
        .actor(db.supervisor_login())
        .await
        .expect("supervisor resolves");
    svc.prepare(&actor).await;
    let setup = svc.audit_verify(&actor).await.expect("verify").records - 1;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let svc = svc.clone();
        let actor = actor.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..15 {
                let account = format!("{}", 310_000_001 + (w * 5 + n) % 50);
                svc.add_note(&actor, &account, &format!("writer {w} note {n}"))
                    .await
                    .expect("note");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let v = svc.audit_verify(&actor).await.expect("verify");
    assert_eq!(v.first_bad, None);
    assert_eq!(v.records, 1 + setup + 8 * 15);
    assert_eq!(v.head_seq, v.records);
    svc.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_unknown_or_disabled_agent_is_refused_before_anything_runs() {
    let db = TestDb::new().await;
    let svc = db.service(clock() as Arc<dyn Clock>).await;
    caredesk::demo::build(&svc, 10, 3, "sofia", None)
        .await
        .expect("demo");
    if db.is_postgres() {
        let e = svc
            .actor(Some("somebody-else"))
            .await
            .expect_err("no impersonation");
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("cannot override"), "{e}");
    } else {
        let e = svc.actor(Some("mallory")).await.expect_err("unknown");
        assert_eq!(e.exit_code(), 3);
        let sup = svc.actor(Some("sofia")).await.expect("sofia");
        svc.disable_agent(&sup, "bob").await.expect("disable");
        let e = svc.actor(Some("bob")).await.expect_err("disabled");
        assert!(e.to_string().contains("disabled"), "{e}");
        let agent = svc.actor(Some("alice")).await.expect("alice");
        let e = svc
            .add_agent(&agent, "eve", None, Role::Supervisor)
            .await
            .expect_err("role");
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("may not manage agents"), "{e}");
    }
    svc.close().await;
    db.cleanup().await;
}
