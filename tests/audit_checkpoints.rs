//! Audit checkpoints on one backend (SQLite, or PostgreSQL when
//! CAREDESK_TEST_PG is set), through the service and the real binary: a checkpoint written
//! outside the database proves the chain still holds it after someone removed its tail or
//! rewrote a record and recomputed every later hash (a chain plain `audit verify` passes).

mod common;

use std::path::Path;

use caredesk::audit::Canonical;
use caredesk::domain::Role;
use caredesk::store::{AuditRecord, Store};
use caredesk::with_store;
use common::{World, outcome};

async fn world() -> World {
    World::demo(20, 7).await
}

/// `n` notes on José's account, each an audit record.
async fn notes(w: &World, n: usize) {
    for i in 0..n {
        w.svc
            .add_note(&w.sup, "310000001", &format!("note {i}"))
            .await
            .expect("note");
    }
}

async fn audit_records(w: &World) -> Vec<AuditRecord> {
    w.svc
        .audit_log(&w.sup, None, None, 1_000_000)
        .await
        .expect("audit log")
}

fn checkpoint(w: &World, file: &Path) -> (i32, String, String) {
    outcome(w.cli().args(["audit", "checkpoint", "--out"]).arg(file))
}

fn verify(w: &World, file: &Path) -> (i32, String, String) {
    outcome(w.cli().args(["audit", "verify", "--checkpoint"]).arg(file))
}

fn plain_verify(w: &World) -> (i32, String, String) {
    outcome(w.cli().args(["audit", "verify"]))
}

/// Lets the test change the append-only audit table, as an intruder with the database's
/// owner rights could (the triggers stay off for the rest of the test).
async fn allow_tampering(store: &Store) {
    match store {
        Store::Sqlite(s) => {
            for sql in [
                "DROP TRIGGER IF EXISTS audit_no_update",
                "DROP TRIGGER IF EXISTS audit_no_delete",
                "DROP TRIGGER IF EXISTS audit_head_forward",
            ] {
                sqlx::query(sql)
                    .execute(s.pool())
                    .await
                    .expect("drop trigger");
            }
        }
        Store::Postgres(s) => {
            for sql in [
                "ALTER TABLE audit DISABLE TRIGGER audit_append_only",
                "ALTER TABLE audit_head DISABLE TRIGGER audit_head_guard",
            ] {
                sqlx::query(sql)
                    .execute(s.pool())
                    .await
                    .expect("disable trigger");
            }
        }
    }
}

/// Removes every record after `keep` and moves the head back to it: a shorter chain that is
/// internally consistent.
async fn cut_tail(store: &Store, keep: &AuditRecord) {
    allow_tampering(store).await;
    with_store!(store, s => {
        let mut tx = s.pool().begin().await.expect("tx");
        sqlx::query("DELETE FROM audit WHERE seq > $1")
            .bind(keep.seq)
            .execute(&mut *tx)
            .await
            .expect("delete tail");
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(keep.seq)
            .bind(&keep.hash)
            .execute(&mut *tx)
            .await
            .expect("move head");
        tx.commit().await.expect("commit");
    });
}

/// Edits record `seq` and recomputes its hash and every later one, and the head: a rewritten
/// chain that verifies on its own.
async fn rewrite_from(store: &Store, records: &[AuditRecord], seq: i64) {
    allow_tampering(store).await;
    let mut prev = records
        .iter()
        .find(|r| r.seq == seq - 1)
        .map(|r| r.hash.clone())
        .unwrap_or_else(|| caredesk::audit::GENESIS.to_string());
    let mut changed = Vec::new();
    for r in records.iter().filter(|r| r.seq >= seq) {
        let mut r = r.clone();
        if r.seq == seq {
            r.detail = "nothing happened here".to_string();
        }
        r.prev_hash = prev.clone();
        r.hash = Canonical {
            seq: r.seq,
            at: r.at,
            agent: &r.agent,
            role: &r.role,
            action: &r.action,
            account_no: r.account_no.as_deref(),
            object_id: r.object_id.as_deref(),
            outcome: &r.outcome,
            detail: &r.detail,
            prev_hash: &r.prev_hash,
        }
        .hash();
        prev = r.hash.clone();
        changed.push(r);
    }
    with_store!(store, s => {
        let mut tx = s.pool().begin().await.expect("tx");
        for r in &changed {
            sqlx::query("UPDATE audit SET detail = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
                .bind(&r.detail)
                .bind(&r.prev_hash)
                .bind(&r.hash)
                .bind(r.seq)
                .execute(&mut *tx)
                .await
                .expect("rewrite");
        }
        let last = changed.last().expect("records to rewrite");
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last.seq)
            .bind(&last.hash)
            .execute(&mut *tx)
            .await
            .expect("move head");
        tx.commit().await.expect("commit");
    });
}

#[tokio::test]
async fn checkpoints_of_an_untouched_chain_verify_and_accumulate() {
    let w = world().await;
    notes(&w, 3).await;
    let file = w.file("checkpoints.jsonl");
    let (code, out, err) = checkpoint(&w, &file);
    assert_eq!(code, 0, "{err}");
    let head = audit_records(&w).await.last().cloned().expect("records");
    assert!(
        out.starts_with(&format!(
            "checkpoint 1 written to {}: seq {}, hash {}",
            file.display(),
            head.seq,
            head.hash
        )),
        "{out}"
    );

    // More work, a second checkpoint (as JSON), then both verify.
    notes(&w, 2).await;
    let (code, out, err) = outcome(
        w.cli()
            .args(["--format", "json", "audit", "checkpoint", "--out"])
            .arg(&file),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    let head = audit_records(&w).await.last().cloned().expect("records");
    assert_eq!(v["seq"], head.seq);
    assert_eq!(v["hash"], head.hash.as_str());
    assert_eq!(v["records"], head.seq);
    assert_eq!(v["checkpoints"], 2);
    assert_eq!(v["format"], caredesk::audit::checkpoint::FORMAT);
    assert!(v["first_hash"].as_str().is_some_and(|h| h.len() == 64));
    assert!(v["taken_at"].is_string() && v["database"].is_string());

    let text = std::fs::read_to_string(&file).expect("file");
    assert_eq!(text.lines().count(), 2, "{text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each line one JSON object");
    }

    let (code, out, err) = verify(&w, &file);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("holds all 2 checkpoint(s)"), "{out}");
    let (code, out, _) = outcome(
        w.cli()
            .args(["--format", "json", "audit", "verify", "--checkpoint"])
            .arg(&file),
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["valid"], true);
    assert_eq!(v["checkpoints"]["count"], 2);
    assert_eq!(v["checkpoints"]["matched"], 2);
    w.finish().await;
}

#[tokio::test]
async fn an_auditor_may_take_a_checkpoint_and_it_writes_nothing_to_the_database() {
    let w = world().await;
    let (svc, auditor) = w.as_agent("audrey", Role::Auditor).await;
    let before = audit_records(&w).await.len();
    let c = svc
        .audit_checkpoint(&auditor, "f", &[])
        .await
        .expect("an auditor checkpoints");
    assert_eq!(
        audit_records(&w).await.len(),
        before,
        "no audit record written"
    );
    assert_eq!(c.seq, before as i64);
    svc.close().await;
    if !w.db.is_postgres() {
        let file = w.file("audrey.jsonl");
        let (code, _, err) = outcome(
            w.cli_as("audrey")
                .args(["audit", "checkpoint", "--out"])
                .arg(&file),
        );
        assert_eq!(code, 0, "{err}");
    }
    w.finish().await;
}

#[tokio::test]
async fn removing_the_tail_after_a_checkpoint_is_named() {
    let w = world().await;
    notes(&w, 4).await;
    let file = w.file("cp.jsonl");
    assert_eq!(checkpoint(&w, &file).0, 0);
    let at = audit_records(&w)
        .await
        .last()
        .map(|r| r.seq)
        .expect("records");
    notes(&w, 2).await;

    // Cut back to two records before the checkpoint, head and all.
    let records = audit_records(&w).await;
    let keep = records.iter().find(|r| r.seq == at - 2).expect("record");
    cut_tail(w.svc.store(), keep).await;

    let (code, out, err) = plain_verify(&w);
    assert_eq!(code, 0, "plain verify cannot see it: {err}");
    assert!(out.contains("is valid"), "{out}");

    let (code, out, err) = verify(&w, &file);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!(
            "the audit log ends at seq {} but checkpoint {} line 1",
            at - 2,
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("says {at}: records were removed")),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err}");

    // And no new checkpoint is laid over it.
    let before = std::fs::read(&file).expect("file");
    let (code, _, err) = checkpoint(&w, &file);
    assert_eq!(code, 3);
    assert!(err.contains("no checkpoint written"), "{err}");
    assert_eq!(std::fs::read(&file).expect("file"), before);
    w.finish().await;
}

#[tokio::test]
async fn a_rewritten_chain_with_every_hash_recomputed_is_caught_by_the_checkpoint() {
    let w = world().await;
    notes(&w, 3).await;
    let file = w.file("cp.jsonl");
    assert_eq!(checkpoint(&w, &file).0, 0);
    let at = audit_records(&w)
        .await
        .last()
        .map(|r| r.seq)
        .expect("records");
    notes(&w, 2).await;
    assert_eq!(checkpoint(&w, &file).0, 0);

    let records = audit_records(&w).await;
    rewrite_from(w.svc.store(), &records, 2).await;

    let v = w.svc.audit_verify(&w.sup).await.expect("verify");
    assert_eq!(v.first_bad, None, "the rewritten chain is consistent");
    assert_eq!(plain_verify(&w).0, 0);

    let (code, out, err) = verify(&w, &file);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains(&format!(
            "record {at} is not the one checkpoint {} line 1",
            file.display()
        )),
        "{err}"
    );
    assert!(err.contains("rewritten after the checkpoint"), "{err}");
    assert!(err.contains("(2 of 2 checkpoints do not match)"), "{err}");

    let (code, out, _) = outcome(
        w.cli()
            .args(["--format", "json", "audit", "verify", "--checkpoint"])
            .arg(&file),
    );
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["valid"], false);
    assert_eq!(v["chain_valid"], true);
    assert_eq!(v["checkpoints"]["matched"], 0);
    assert_eq!(v["checkpoints"]["problems"][0]["seq"], at);

    // Rewritten from record 1: the checkpoint looks like another database's.
    let records = audit_records(&w).await;
    rewrite_from(w.svc.store(), &records, 1).await;
    let (code, _, err) = verify(&w, &file);
    assert_eq!(code, 3);
    assert!(err.contains("record 1 is not the one checkpoint"), "{err}");
    w.finish().await;
}

#[tokio::test]
async fn a_broken_chain_is_refused_before_any_checkpoint_is_written() {
    let w = world().await;
    notes(&w, 2).await;
    let records = audit_records(&w).await;
    allow_tampering(w.svc.store()).await;
    with_store!(w.svc.store(), s => {
        sqlx::query("UPDATE audit SET detail = 'edited' WHERE seq = $1")
            .bind(records[1].seq)
            .execute(s.pool())
            .await
            .expect("edit");
    });
    let file = w.file("cp.jsonl");
    let (code, _, err) = checkpoint(&w, &file);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("does not verify"), "{err}");
    assert!(!file.exists(), "nothing written");
    w.finish().await;
}

#[tokio::test]
async fn a_malformed_checkpoint_file_is_bad_input_and_changes_nothing() {
    let w = world().await;
    let good = w.file("good.jsonl");
    assert_eq!(checkpoint(&w, &good).0, 0);
    let good_line = std::fs::read_to_string(&good).expect("file");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not-json",
            b"hello\n".to_vec(),
            "line 1 is not a caredesk audit checkpoint",
        ),
        (
            "wrong-field",
            format!("{good_line}{{\"format\":\"caredesk-audit-checkpoint/1\"}}\n").into_bytes(),
            "line 2 is not a caredesk audit checkpoint: missing field",
        ),
        (
            "bad-hash",
            good_line
                .replacen("\"hash\":\"", "\"hash\":\"zz", 1)
                .into_bytes(),
            "hash is not 64",
        ),
        (
            "binary",
            vec![0xff, 0x00, 0xfe, b'\n'],
            "line 1 is not a caredesk audit checkpoint: it is not UTF-8",
        ),
        (
            "deep",
            deep.into_bytes(),
            "line 1 is not a caredesk audit checkpoint",
        ),
        ("empty", Vec::new(), "holds no audit checkpoint"),
    ];
    for (name, data, why) in cases {
        let path = w.file(&format!("{name}.jsonl"));
        std::fs::write(&path, &data).expect("write");
        let (code, out, err) = verify(&w, &path);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(err.contains(why), "{name}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{name}: one sentence: {err}"
        );
        if name != "empty" {
            let (code, _, err) = checkpoint(&w, &path);
            assert_eq!(code, 2, "{name}: {err}");
            assert_eq!(
                std::fs::read(&path).expect("file"),
                data,
                "{name} untouched"
            );
        }
    }
    let (code, _, err) = verify(&w, &w.file("missing.jsonl"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("there is no audit checkpoint file"), "{err}");
    w.finish().await;
}
