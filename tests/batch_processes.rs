//! Batch credit runs as real processes (SQLite, or PostgreSQL when CAREDESK_TEST_PG is set):
//! killed with SIGKILL at random points and resumed, and run by several processes at once.
//! Every eligible account must end with exactly one incident credit and every run reconcile.

mod common;

use std::sync::Arc;
use std::time::Duration;

use caredesk::domain::Clock;
use common::batch::{assert_everyone_credited_once, scalar};
use common::{Lcg, TestDb, clock};

#[tokio::test]
async fn a_run_killed_at_random_points_resumes_to_exactly_one_credit_each() {
    let db = TestDb::new().await;
    let accounts = 30_000;
    db.demo_by_binary(accounts);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    println!("kill schedule seed {seed}");
    let mut rng = Lcg(seed);
    let mut killed_mid_run = 0;
    for _ in 0..12 {
        let mut child = db
            .process()
            .args(["credit", "run", "--apply", "--chunk", "250"])
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(20 + rng.next(700)));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            killed_mid_run += 1;
        }
        child.wait().expect("reap");
    }
    let out = db
        .process()
        .args([
            "--format", "json", "credit", "run", "--apply", "--chunk", "250",
        ])
        .output()
        .expect("final run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for field in [
        "run_id",
        "incident",
        "applied",
        "selected",
        "credited",
        "already_credited",
        "ineligible",
        "invalid",
        "failed",
        "total_cents",
    ] {
        assert!(summary.get(field).is_some(), "summary lacks {field}");
    }
    assert!(
        killed_mid_run > 0,
        "at least one kill landed mid-run (seed {seed})"
    );

    let (svc, actor) = db.supervisor(clock() as Arc<dyn Clock>).await;
    assert_everyone_credited_once(&svc, &actor, i64::from(accounts)).await;
    svc.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn several_processes_on_one_run_and_on_shards_credit_each_account_once() {
    let db = TestDb::new().await;
    let accounts = 20_000;
    db.demo_by_binary(accounts);
    let mut children = Vec::new();
    let dir = tempfile::tempdir().expect("dir");
    let report = |i: usize| dir.path().join(format!("report-{i}.csv"));
    // Two workers on the same run, and the same selection split in two shards, each writing
    // its report; small chunks, so the runs keep crediting the same accounts' neighbours.
    for i in 0..2 {
        children.push(
            db.process()
                .args([
                    "--format", "json", "credit", "run", "--apply", "--chunk", "400",
                ])
                .arg("--report")
                .arg(report(i))
                .spawn()
                .expect("spawn"),
        );
    }
    for (i, shard) in ["1/2", "2/2"].into_iter().enumerate() {
        children.push(
            db.process()
                .args([
                    "--format", "json", "credit", "run", "--apply", "--chunk", "100", "--shard",
                    shard,
                ])
                .arg("--report")
                .arg(report(2 + i))
                .spawn()
                .expect("spawn"),
        );
    }
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Whatever ran beside it, the run's record and its report agree: every account it
        // selected is one row, and what the run itself credited adds up the same.
        let summary: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON object");
        let rows: Vec<csv::StringRecord> = csv::Reader::from_path(report(i))
            .expect("report")
            .records()
            .collect::<Result<_, _>>()
            .expect("report rows");
        let n = |v: &str| summary[v].as_i64().expect("a count");
        assert_eq!(rows.len() as i64, n("selected"), "worker {i}: {summary}");
        let credited: Vec<&csv::StringRecord> =
            rows.iter().filter(|r| &r[1] == "credited").collect();
        assert_eq!(
            credited.len() as i64,
            n("credited"),
            "worker {i}: {summary}"
        );
        let sum: i64 = credited
            .iter()
            .map(|r| r[2].parse::<i64>().expect("cents"))
            .sum();
        assert_eq!(sum, n("total_cents"), "worker {i}");
        assert_eq!(
            Some(sum),
            summary["ledger_total_cents"].as_i64(),
            "worker {i}"
        );
        assert_eq!(
            rows.iter().filter(|r| &r[1] == "already-credited").count() as i64,
            n("already_credited"),
            "worker {i}: {summary}"
        );
    }
    let (svc, actor) = db.supervisor(clock() as Arc<dyn Clock>).await;
    assert_everyone_credited_once(&svc, &actor, i64::from(accounts)).await;
    let runs = scalar(svc.store(), "SELECT COUNT(*) FROM batch_runs").await;
    // Same-run workers that overlap share one run; one that starts after the run finished
    // makes a replay run of its own. Either way each shard had its own run.
    assert!((3..=4).contains(&runs), "{runs} runs");
    svc.close().await;
    db.cleanup().await;
}

/// A run through a server goes on there; meanwhile anyone may ask how far it is, and the
/// answer grows until the run ends.
#[tokio::test]
async fn a_run_through_a_server_reports_its_progress_to_whoever_asks() {
    let w = common::World::demo(3000, 11).await;
    let desk = w.svc.desk(&w.sup).await;
    let run = {
        let desk = desk.clone();
        tokio::spawn(async move {
            let req = caredesk::service::batch::RunRequest {
                incident: None,
                accounts: None,
                apply: true,
                chunk: 50,
                shard: (0, 1),
                max_total_cents: None,
                skip_invalid: false,
            };
            desk.credit_run(
                &req,
                &|_, _| {},
                &std::sync::atomic::AtomicBool::new(false),
                None,
            )
            .await
        })
    };
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !run.is_finished() && std::time::Instant::now() < deadline {
        if let Some(r) = desk.running_runs().await.expect("progress").first() {
            seen.push(r.tally.selected);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let summary = run.await.expect("task").expect("run");
    assert_eq!(summary.tally.selected, 3000);
    assert!(
        seen.iter().any(|&n| n > 0 && n < 3000),
        "progress seen while it ran: {seen:?}"
    );
    assert!(seen.windows(2).all(|p| p[0] <= p[1]), "{seen:?}");
    assert!(desk.running_runs().await.expect("after").is_empty());
    w.finish().await;
}
