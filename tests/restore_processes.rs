//! Restores as real processes (SQLite, or PostgreSQL when CAREDESK_TEST_PG is set): restores
//! and undos killed with SIGKILL at random points leave the whole result or nothing, and the
//! commands keep the contract of docs/commands.md (JSON fields, exit codes, nothing written on 2/3).

mod common;

use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caredesk::domain::Actor;
use caredesk::domain::{Clock, Role};
use caredesk::service::Service;
use caredesk::store::Store;
use common::restore::{content_hash_of_live, count, count_for, live_hash, statuses};
use common::{Lcg, TestDb, clock};
use serde_json::Value;

fn ok_json(out: Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// Exit code and the stderr sentence of a refused command.
fn refused(out: Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// A snapshot of `n` contacts for José (310000001), imported: big enough that most of a
/// restore's time is spent inside its transaction, where the kills must land.
async fn big_snapshot(svc: &Service, actor: &Actor, n: usize) -> (String, String) {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let payload = serde_json::json!({
                "name": format!("Friend {i}"),
                "phone": format!("+1206{}{:04}", 300 + i / 10_000, i % 10_000),
            });
            serde_json::json!({"category": "contacts", "uid": format!("c-{i}"),
                "content_hash": caredesk::domain::items::content_hash(&payload), "payload": payload})
        })
        .collect();
    let line = serde_json::json!({"id": "snap-310000001-big", "account_no": "310000001",
        "taken_at": "2009-10-01T03:00:00Z", "items": items});
    let rows = caredesk::import::parse_backups("big.jsonl", format!("{line}\n").as_bytes())
        .expect("snapshot");
    svc.import_backups(actor, &rows, "big.jsonl")
        .await
        .expect("import");
    ("310000001".to_string(), "snap-310000001-big".to_string())
}

/// How many live items a restore records as changed (added, updated or removed).
async fn changes_of(store: &Store, restore_id: i64) -> usize {
    let json: String = on_pool!(store, pool => sqlx::query_scalar("SELECT changes FROM restores WHERE id = $1")
        .bind(restore_id)
        .fetch_one(pool)
        .await
        .expect("changes"));
    serde_json::from_str::<Vec<Value>>(&json)
        .expect("a JSON array")
        .len()
}

async fn active_restores(store: &Store) -> Vec<i64> {
    on_pool!(store, pool => sqlx::query_scalar("SELECT id FROM restores WHERE undone_at IS NULL ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("restores"))
}

#[tokio::test]
async fn a_restore_or_undo_killed_at_random_points_leaves_the_whole_result_or_nothing() {
    let db = TestDb::new().await;
    db.demo_by_binary(200);
    let (svc, actor) = db.supervisor(clock() as Arc<dyn Clock>).await;
    let store = svc.store().clone();
    let (account, backup) = big_snapshot(&svc, &actor, 10_000).await;
    let before = live_hash(&store, &account).await;
    let before_content = content_hash_of_live(&store, &account).await;
    let before_status = statuses(&store, &account).await;
    let live_before = count_for(
        &store,
        "SELECT COUNT(*) FROM live_items WHERE account_id = (SELECT id FROM accounts WHERE account_no = $1)",
        &account,
    )
    .await;

    // One uninterrupted restore and undo: what "the whole result" is, and how long it takes.
    let started = Instant::now();
    let first = ok_json(
        db.process()
            .args([
                "--format", "json", "restore", "apply", &account, "--backup", &backup,
            ])
            .output()
            .expect("apply"),
    );
    let apply_time = started.elapsed();
    let after = content_hash_of_live(&store, &account).await;
    let after_status = statuses(&store, &account).await;
    assert_ne!(after, before_content, "the restore changed the live items");
    let id = first["restore_id"].as_i64().expect("restore_id");
    let changes_per_restore = changes_of(&store, id).await;
    assert!(
        changes_per_restore > 100,
        "a restore long enough to interrupt"
    );
    ok_json(
        db.process()
            .args(["--format", "json", "restore", "undo", &id.to_string()])
            .output()
            .expect("undo"),
    );
    assert_eq!(live_hash(&store, &account).await, before);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    println!(
        "kill schedule seed {seed}; an uninterrupted apply takes {} ms",
        apply_time.as_millis()
    );
    let mut rng = Lcg(seed);
    // Up to half again an uninterrupted run: most kills land inside the work, and enough
    // runs finish that undos are interrupted too.
    let window = (apply_time.as_millis() as u64 * 3 / 2).max(50);
    let mut killed_running = 0;
    let (mut applies, mut undos) = (0, 0);
    for round in 0..30 {
        let active = active_restores(&store).await;
        let mut child = match active.last() {
            None => {
                applies += 1;
                db.process()
                    .args(["restore", "apply", &account, "--backup", &backup])
                    .spawn()
                    .expect("spawn apply")
            }
            Some(id) => {
                undos += 1;
                db.process()
                    .args(["restore", "undo", &id.to_string()])
                    .spawn()
                    .expect("spawn undo")
            }
        };
        // Every tenth command runs to its end, so an undo follows however slow the machine
        // is today (a busy machine can make every other command outlast the kill window).
        if round % 10 != 9 {
            std::thread::sleep(Duration::from_millis(rng.next(window)));
            if child.try_wait().expect("wait").is_none() {
                child.kill().expect("SIGKILL");
                killed_running += 1;
            }
        }
        let status = child.wait().expect("reap");
        if status.code().is_some() && !status.success() {
            panic!("round {round}: the command failed on its own (seed {seed})");
        }

        // Whatever the moment of the kill: the whole restore, or none of it.
        let active = active_restores(&store).await;
        match active.as_slice() {
            [] => {
                assert_eq!(
                    live_hash(&store, &account).await,
                    before,
                    "round {round}: no restore stands, so the live items are exactly the prior ones (seed {seed})"
                );
                assert_eq!(statuses(&store, &account).await, before_status);
            }
            [id] => {
                assert_eq!(
                    content_hash_of_live(&store, &account).await,
                    after,
                    "round {round}: restore #{id} stands whole (seed {seed})"
                );
                assert_eq!(statuses(&store, &account).await, after_status);
                let archived = count_for(
                    &store,
                    "SELECT COUNT(*) FROM restore_archive WHERE restore_id = CAST($1 AS BIGINT)",
                    &id.to_string(),
                )
                .await;
                assert_eq!(archived, live_before, "its archive is whole");
                assert_eq!(changes_of(&store, *id).await, changes_per_restore);
            }
            more => panic!(
                "round {round}: {} restores stand at once (seed {seed})",
                more.len()
            ),
        }
        let v = svc.audit_verify(&actor).await.expect("verify");
        assert_eq!(v.first_bad, None, "round {round}: the audit chain is whole");
    }
    println!("{applies} applies and {undos} undos started, {killed_running} killed while running");
    assert!(
        applies > 0 && undos > 0,
        "both restores and undos were interrupted"
    );
    assert!(
        killed_running > 0,
        "at least one kill landed while the command ran (seed {seed})"
    );
    // Every restore record that stands or was undone has its audit record; none is half.
    let records = count(&store, "SELECT COUNT(*) FROM restores").await;
    let audited = count(
        &store,
        "SELECT COUNT(*) FROM audit WHERE action = 'restore.apply'",
    )
    .await;
    assert_eq!(records, audited);
    let undone = count(
        &store,
        "SELECT COUNT(*) FROM restores WHERE undone_at IS NOT NULL",
    )
    .await;
    let undo_audited = count(
        &store,
        "SELECT COUNT(*) FROM audit WHERE action = 'restore.undo'",
    )
    .await;
    assert_eq!(undone, undo_audited);
    svc.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn restore_commands_keep_the_json_contract_and_exit_codes() {
    let db = TestDb::new().await;
    db.demo_by_binary(200);
    let (svc, actor) = db.supervisor(clock() as Arc<dyn Clock>).await;
    let store = svc.store().clone();
    db.as_agent(
        &svc,
        &actor,
        "ct_alice",
        Role::Agent,
        clock() as Arc<dyn Clock>,
    )
    .await;
    // The binary as the agent ct_alice on SQLite. On PostgreSQL an agent's login has no rights
    // (agents work through `caredesk serve`; tests/db_rights.rs), so there the binary runs as
    // the operator and the refusals that are the agent's role's are checked on SQLite only.
    let as_agent = || {
        if db.is_postgres() {
            db.process()
        } else {
            db.process_as("ct_alice")
        }
    };
    let jose = "310000001";
    let backup = "snap-310000001-20091001";

    let preview = ok_json(
        as_agent()
            .args([
                "--format", "json", "restore", "preview", jose, "--backup", backup,
            ])
            .output()
            .expect("preview"),
    );
    assert!(
        preview.get("restore_id").is_none(),
        "a preview has no restore"
    );
    let cats = preview["categories"].as_array().expect("categories[]");
    assert!(!cats.is_empty());
    for c in cats {
        for field in [
            "category",
            "in_backup",
            "to_add",
            "present",
            "conflicting",
            "corrupt",
        ] {
            assert!(
                c.get(field).is_some(),
                "preview category lacks {field}: {c}"
            );
        }
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM restores").await, 0);

    // Refusals: exit 3 (role, corrupt snapshot) or 2 (bad input), one sentence, nothing written.
    let audit = count(&store, "SELECT COUNT(*) FROM audit").await;
    let live = count(&store, "SELECT COUNT(*) FROM live_items").await;
    let (corrupt_account, corrupt_backup): (String, String) = on_pool!(&store, pool => sqlx::query_as(
        "SELECT a.account_no, b.id FROM backups b JOIN accounts a ON a.id = b.account_id \
         WHERE b.verification = 'corrupt' ORDER BY b.id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("a corrupt backup"));
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "restore", "apply", jose, "--backup", backup, "--mode", "replace",
            ],
            3,
            "may not run a replace restore",
        ),
        (
            vec![
                "restore",
                "apply",
                &corrupt_account,
                "--backup",
                &corrupt_backup,
            ],
            3,
            "is corrupt",
        ),
        (
            vec!["restore", "apply", jose, "--backup", "snap-nope"],
            2,
            "there is no backup",
        ),
        (
            vec![
                "restore",
                "apply",
                jose,
                "--backup",
                backup,
                "--category",
                "music",
            ],
            2,
            "is not a category",
        ),
        (
            vec![
                "restore",
                "apply",
                jose,
                "--backup",
                backup,
                "--mode",
                "overwrite",
            ],
            2,
            "is not a restore mode",
        ),
        (
            vec![
                "restore",
                "apply",
                jose,
                "--backup",
                "snap-310000006-20091001",
            ],
            2,
            "not account 310000001's",
        ),
        (vec!["restore", "undo", "1"], 3, "may not undo a restore"),
        (
            vec!["resync", jose, "--category", "contacts"],
            3,
            "was wiped",
        ),
    ];
    for (args, code, says) in cases {
        if db.is_postgres() && says.starts_with("may not") {
            continue;
        }
        let (got, err) = refused(as_agent().args(&args).output().expect("run"));
        assert_eq!(got, code, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM audit").await, audit);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM live_items").await, live);

    let applied = ok_json(
        as_agent()
            .args([
                "--format",
                "json",
                "restore",
                "apply",
                jose,
                "--backup",
                backup,
                "--category",
                "contacts",
            ])
            .output()
            .expect("apply"),
    );
    let id = applied["restore_id"].as_i64().expect("restore_id");
    assert_eq!(applied["outcome"], "restored");
    assert_eq!(applied["categories"][0]["category"], "contacts");
    assert_eq!(applied["categories"][0]["in_backup"], 64);
    assert_eq!(applied["categories"][0]["status"], "restored-partial");
    let replay = ok_json(
        as_agent()
            .args([
                "--format",
                "json",
                "restore",
                "apply",
                jose,
                "--backup",
                backup,
                "--category",
                "contacts",
            ])
            .output()
            .expect("replay"),
    );
    assert_eq!(replay["outcome"], "already-restored");
    assert_eq!(replay["restore_id"], id);
    let list = ok_json(
        db.process()
            .args(["--format", "json", "restore", "list", jose])
            .output()
            .expect("list"),
    );
    assert_eq!(list["results"][0]["restore_id"], id);
    let undone = ok_json(
        db.process()
            .args(["--format", "json", "restore", "undo", &id.to_string()])
            .output()
            .expect("undo"),
    );
    assert_eq!(undone["result"], "undone");
    let (code, err) = refused(
        db.process()
            .args(["restore", "undo", "999999"])
            .output()
            .expect("undo"),
    );
    assert_eq!(
        (code, err.contains("there is no restore #999999")),
        (2, true),
        "{err}"
    );

    // Backups in through the binary: all or nothing, idempotent.
    let assets = format!("{}/assets", env!("CARGO_MANIFEST_DIR"));
    for (what, file) in [("accounts", "accounts.csv"), ("impact", "impact.csv")] {
        ok_json(
            db.process()
                .args([
                    "--format",
                    "json",
                    "import",
                    what,
                    &format!("{assets}/{file}"),
                ])
                .output()
                .expect("import"),
        );
    }
    let backups_file = format!("{assets}/backups.jsonl");
    let first = ok_json(
        db.process()
            .args(["--format", "json", "import", "backups", &backups_file])
            .output()
            .expect("import backups"),
    );
    assert_eq!(first["inserted"], 5);
    let again = ok_json(
        db.process()
            .args(["--format", "json", "import", "backups", &backups_file])
            .output()
            .expect("again"),
    );
    assert_eq!(
        (again["inserted"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(5))
    );
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"snap-b\", \"account_no\": \"410000001\"}\n",
    )
    .expect("write");
    let backups = count(&store, "SELECT COUNT(*) FROM backups").await;
    let (code, err) = refused(
        db.process()
            .args(["import", "backups", &bad.display().to_string()])
            .output()
            .expect("bad import"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 1") && err.contains("taken_at"), "{err}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM backups").await, backups);
    let (code, err) = refused(
        db.process()
            .args([
                "restore",
                "apply",
                "410000003",
                "--backup",
                "snap-410000003-20091001",
            ])
            .output()
            .expect("corrupt sample"),
    );
    assert_eq!(code, 3, "{err}");
    svc.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn several_agents_restoring_the_same_backup_at_once_restore_it_once() {
    let db = TestDb::new().await;
    db.demo_by_binary(200);
    let (svc, actor) = db.supervisor(clock() as Arc<dyn Clock>).await;
    let store = svc.store().clone();
    let (account, backup) = big_snapshot(&svc, &actor, 3_000).await;
    let live_before = count_for(
        &store,
        "SELECT COUNT(*) FROM live_items WHERE account_id = (SELECT id FROM accounts WHERE account_no = $1)",
        &account,
    )
    .await;
    let children: Vec<_> = (0..4)
        .map(|_| {
            db.process()
                .args([
                    "--format", "json", "restore", "apply", &account, "--backup", &backup,
                ])
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outcomes: Vec<Value> = children
        .into_iter()
        .map(|c| ok_json(c.wait_with_output().expect("wait")))
        .collect();
    let restored: Vec<&Value> = outcomes
        .iter()
        .filter(|o| o["outcome"] == "restored")
        .collect();
    assert_eq!(
        restored.len(),
        1,
        "exactly one process restored: {outcomes:?}"
    );
    let id = &restored[0]["restore_id"];
    for o in &outcomes {
        assert_eq!(&o["restore_id"], id, "the others name the same restore");
    }
    let added: i64 = restored[0]["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .filter_map(|c| c["add"].as_i64())
        .sum();
    assert_eq!(
        count_for(
            &store,
            "SELECT COUNT(*) FROM live_items WHERE account_id = (SELECT id FROM accounts WHERE account_no = $1)",
            &account,
        )
        .await,
        live_before + added
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM restores").await, 1);
    svc.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn declare_loss_is_refused_while_recovery_is_not_exhausted_with_exit_3_and_nothing_written() {
    let db = TestDb::new().await;
    db.demo_by_binary(200);
    let (svc, _) = db.supervisor(clock() as Arc<dyn Clock>).await;
    let store = svc.store().clone();
    let jose = "310000001";
    let backup = "snap-310000001-20091001";
    let at_risk: String = on_pool!(&store, pool => sqlx::query_scalar(
        "SELECT a.account_no FROM impact i JOIN accounts a ON a.id = i.account_id \
         WHERE i.category = 'contacts' AND i.status = 'at-risk' ORDER BY a.account_no LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("an at-risk account"));
    // Photos restored in full from José's snapshot (209 of 209).
    ok_json(
        db.process()
            .args([
                "--format",
                "json",
                "restore",
                "apply",
                jose,
                "--backup",
                backup,
                "--category",
                "photos",
            ])
            .output()
            .expect("restore photos"),
    );

    let audit = count(&store, "SELECT COUNT(*) FROM audit").await;
    let declared = "SELECT COUNT(*) FROM impact WHERE permanent_loss";
    let before = statuses(&store, jose).await;
    let cases: Vec<(&str, &str, String)> = vec![
        (
            jose,
            "contacts",
            format!(
                "cannot declare account {jose}'s contacts permanently lost: verified backup {backup} still holds 64 of them; restore from it first"
            ),
        ),
        (
            jose,
            "photos",
            format!(
                "cannot declare account {jose}'s photos permanently lost: the category was restored in full"
            ),
        ),
        (
            &at_risk,
            "contacts",
            format!(
                "cannot declare account {at_risk}'s contacts permanently lost: the customer's device still holds a copy (have it re-synced and record the re-sync)"
            ),
        ),
    ];
    for (account, category, says) in &cases {
        let (code, err) = refused(
            db.process()
                .args([
                    "declare-loss",
                    account,
                    "--category",
                    category,
                    "--reason",
                    "recovery exhausted",
                ])
                .output()
                .expect("declare-loss"),
        );
        assert_eq!(code, 3, "{account} {category}: {err}");
        assert!(err.ends_with(says.as_str()), "{account} {category}: {err}");
        assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM audit").await, audit);
    assert_eq!(count(&store, declared).await, 0);
    assert_eq!(statuses(&store, jose).await, before);
    // No appreciation opened: a request for José is refused and nothing is queued.
    let (code, err) = refused(
        db.process()
            .args(["credit", "request", jose, "--reason", "300 contacts gone"])
            .output()
            .expect("request"),
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM credit_requests").await,
        0
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM credits WHERE kind = 'appreciation'"
        )
        .await,
        0
    );

    // Once the snapshot is restored from, the rest of the contacts may be declared lost.
    ok_json(
        db.process()
            .args([
                "--format",
                "json",
                "restore",
                "apply",
                jose,
                "--backup",
                backup,
                "--category",
                "contacts",
            ])
            .output()
            .expect("restore contacts"),
    );
    let done = ok_json(
        db.process()
            .args([
                "--format",
                "json",
                "declare-loss",
                jose,
                "--category",
                "contacts",
                "--reason",
                "236 contacts gone for good",
            ])
            .output()
            .expect("declare"),
    );
    assert_eq!(done["changed"], true);
    assert_eq!(count(&store, declared).await, 1);
    svc.close().await;
    db.cleanup().await;
}
