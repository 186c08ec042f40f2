//! The hot queries (lookups, search as you type, worklists, the approvals queue) are answered
//! through indexes on both backends, never by scanning the accounts table (SQLite, or
//! PostgreSQL when CAREDESK_TEST_PG is set).

mod common;

use std::sync::Arc;

use caredesk::domain::Clock;
use caredesk::with_store;

#[tokio::test]
async fn every_hot_query_is_answered_through_an_index() {
    let db = common::TestDb::new().await;
    let svc = db.service(common::clock() as Arc<dyn Clock>).await;
    caredesk::demo::build(&svc, 300, 2009, "sofia", None)
        .await
        .expect("demo");
    let plans = with_store!(svc.store(), s => s.explain_hot_queries().await).expect("plans");
    assert_eq!(plans.len(), 9);
    for (name, plan) in &plans {
        if db.is_postgres() {
            assert!(!plan.contains("Seq Scan"), "{name} scans a table:\n{plan}");
            assert!(plan.contains("Index"), "{name} uses no index:\n{plan}");
        } else {
            // "SCAN f" walks a subquery's few rows; "SCAN accounts" (alias a) without an index
            // would read the whole table.
            for line in plan.lines() {
                let target = line
                    .strip_prefix("SCAN ")
                    .and_then(|r| r.split_whitespace().next());
                let full_scan = matches!(target, Some("accounts" | "a")) && !line.contains("INDEX");
                assert!(!full_scan, "{name} scans the accounts table:\n{plan}");
            }
            assert!(
                plan.contains("INDEX") || plan.contains("PRIMARY KEY"),
                "{name} uses no index:\n{plan}"
            );
        }
    }
    svc.close().await;
    db.cleanup().await;
}
