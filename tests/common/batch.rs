//! What the batch-run suites check after their runs, on either backend: everyone owed a credit
//! holds exactly one, and every run reconciles with itself and with the ledger.

use std::sync::atomic::AtomicBool;

use caredesk::domain::Actor;
use caredesk::service::Service;
use caredesk::service::batch::RunRequest;
use caredesk::store::Store;

/// One number from the database.
pub async fn scalar(store: &Store, sql: &'static str) -> i64 {
    match store {
        Store::Sqlite(s) => sqlx::query_scalar(sql)
            .fetch_one(s.pool())
            .await
            .expect("query"),
        Store::Postgres(s) => sqlx::query_scalar(sql)
            .fetch_one(s.pool())
            .await
            .expect("query"),
    }
}

/// After the runs: nobody is owed a credit any more, nobody holds two, and each run's record
/// reconciles with itself and with the ledger.
pub async fn assert_everyone_credited_once(svc: &Service, actor: &Actor, accounts: i64) {
    let plan = svc
        .credit_run(
            actor,
            &RunRequest {
                incident: None,
                accounts: None,
                apply: false,
                chunk: 5000,
                shard: (0, 1),
                max_total_cents: None,
                skip_invalid: false,
            },
            &|_, _| {},
            &AtomicBool::new(false),
            None,
        )
        .await
        .expect("plan");
    assert_eq!(plan.tally.selected, accounts);
    assert_eq!(
        plan.tally.credited, 0,
        "every eligible account holds its credit"
    );
    assert_eq!(plan.tally.failed, 0);
    let store = svc.store();
    assert_eq!(
        scalar(store, "SELECT COUNT(*) FROM (SELECT account_id FROM credits WHERE kind = 'incident' GROUP BY account_id HAVING COUNT(*) > 1) AS twice").await,
        0,
        "nobody credited twice"
    );
    assert_eq!(
        scalar(
            store,
            "SELECT COUNT(*) FROM credits WHERE kind = 'incident'"
        )
        .await,
        plan.tally.already_credited
    );
    assert_eq!(
        scalar(
            store,
            "SELECT COUNT(*) FROM batch_runs WHERE state <> 'finished'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(store, "SELECT COUNT(*) FROM batch_runs WHERE selected <> credited + already + ineligible + invalid + failed").await,
        0,
        "every run reconciles"
    );
    assert_eq!(
        scalar(store, "SELECT COUNT(*) FROM batch_runs r WHERE r.total_cents <> (SELECT COALESCE(SUM(c.amount_cents), 0) FROM credits c WHERE c.batch_run_id = r.id)").await,
        0,
        "each run's total is the ledger's sum for it"
    );
    let v = svc.audit_verify(actor).await.expect("verify");
    assert_eq!(v.first_bad, None);
}
