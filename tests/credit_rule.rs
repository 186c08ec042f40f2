//! The batch run keeps "the plan in force at the incident's start" in SQL, for speed over a
//! million accounts; a single credit reads the whole plan history and lets the domain decide.
//! Over generated plan histories (plans starting and ending before, at and after the start,
//! open-ended, overlapping), both paths must agree with `domain::decide_incident_credit`, on
//! the backend the environment selects.

mod common;

use std::sync::atomic::AtomicBool;

use caredesk::domain::{self, IncidentCreditDecision, Outcome, PlanPeriod};
use caredesk::service::batch::RunRequest;
use chrono::{DateTime, Duration, Utc};
use common::World;
use proptest::prelude::*;

/// One generated plan: (start and end in hours from the incident's start, the end open or
/// after the start; data plan; price in cents). Starts and ends fall on the incident's start
/// and an hour either side of it often, where the SQL and the rule could differ.
type GenPlan = (i64, Option<i64>, bool, i64);

fn hour() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), Just(-1), Just(1), -2000i64..2000]
}

fn plan() -> impl Strategy<Value = GenPlan> {
    (
        hour(),
        prop_oneof![Just(None), hour().prop_map(Some)],
        prop_oneof![3 => Just(true), 1 => Just(false)],
        prop_oneof![Just(1999i64), Just(2999), Just(0)],
    )
        .prop_map(|(from, to, data, price)| match to {
            Some(to) if to <= from => (to - 1, Some(from.max(to)), data, price),
            to => (from, to, data, price),
        })
        .prop_filter("a plan ends after it starts", |(from, to, _, _)| {
            to.is_none_or(|to| to > *from)
        })
}

fn period(start: DateTime<Utc>, (from, to, data, price): GenPlan) -> PlanPeriod {
    PlanPeriod {
        data_plan: data,
        price_cents: price,
        valid_from: start + Duration::hours(from),
        valid_to: to.map(|h| start + Duration::hours(h)),
    }
}

async fn exec(svc: &caredesk::service::Service, sql: &'static str, id: i64, p: &PlanPeriod) {
    macro_rules! run {
        ($pool:expr) => {
            sqlx::query(sql)
                .bind(id)
                .bind(p.data_plan)
                .bind(p.price_cents)
                .bind(p.valid_from)
                .bind(p.valid_to)
                .execute($pool)
                .await
                .expect("insert plan")
        };
    }
    match svc.store() {
        caredesk::store::Store::Sqlite(s) => {
            run!(s.pool());
        }
        caredesk::store::Store::Postgres(s) => {
            run!(s.pool());
        }
    }
}

async fn clear_plans(svc: &caredesk::service::Service) {
    match svc.store() {
        caredesk::store::Store::Sqlite(s) => {
            sqlx::query("DELETE FROM plans")
                .execute(s.pool())
                .await
                .expect("clear");
        }
        caredesk::store::Store::Postgres(s) => {
            sqlx::query("DELETE FROM plans")
                .execute(s.pool())
                .await
                .expect("clear");
        }
    }
}

/// Builds a demo of `histories.len()` accounts, replaces their plans with the generated
/// histories, and checks the single path and an applied batch run against the rule.
async fn both_paths_agree_with_the_rule(histories: Vec<Vec<GenPlan>>) {
    let w = World::demo(histories.len() as u64, 7).await;
    let (svc, sup) = (&w.svc, &w.sup);
    let inc = svc.incident(None).await.expect("incident");
    clear_plans(svc).await;
    let ids: Vec<i64> = svc
        .worklist_accounts(sup, None, histories.len())
        .await
        .expect("accounts")
        .iter()
        .map(|a| a.id)
        .collect();
    let insert = "INSERT INTO plans (account_id, plan_code, data_plan, price_cents, currency, valid_from, valid_to) \
                  VALUES ($1, 'GEN', $2, $3, 'USD', $4, $5)";
    let mut expected = std::collections::BTreeMap::new();
    for (id, history) in ids.iter().zip(&histories) {
        let periods: Vec<PlanPeriod> = history.iter().map(|g| period(inc.started_at, *g)).collect();
        for p in &periods {
            exec(svc, insert, *id, p).await;
        }
        expected.insert(*id, periods);
    }
    // The single path: the whole history read, the domain decides.
    let classified =
        caredesk::with_store!(svc.store(), s => s.classify(&ids, &inc).await).expect("classify");
    let mut decided = std::collections::BTreeMap::new();
    for o in &classified {
        if o.outcome == Outcome::AlreadyCredited {
            continue;
        }
        let a = svc.resolve_account(&o.account_no).await.expect("account");
        let rule = domain::decide_incident_credit(
            a.account_status,
            &expected[&o.account_id],
            inc.started_at,
            inc.credit_months,
        );
        match (rule, &o.outcome) {
            (IncidentCreditDecision::Owed { amount_cents, .. }, Outcome::Credited) => {
                assert_eq!(o.amount_cents, amount_cents, "account {}", o.account_no);
            }
            (IncidentCreditDecision::Ineligible(why), Outcome::Ineligible(got)) => {
                assert_eq!(why, *got, "account {}", o.account_no);
            }
            (IncidentCreditDecision::OverlappingPlans, Outcome::Failed(_)) => {}
            (rule, got) => panic!(
                "account {}: rule {rule:?}, single path {got:?}",
                o.account_no
            ),
        }
        decided.insert(o.account_id, rule);
    }
    // The batch path: the SQL keeps the plans in force at the start.
    let cancel = AtomicBool::new(false);
    let request = RunRequest {
        incident: None,
        accounts: None,
        apply: true,
        chunk: 5,
        shard: (0, 1),
        max_total_cents: None,
        skip_invalid: false,
    };
    let summary = svc
        .credit_run(sup, &request, &|_, _| {}, &cancel, None)
        .await
        .expect("run");
    let owed = decided
        .values()
        .filter(|d| matches!(d, IncidentCreditDecision::Owed { .. }))
        .count() as i64;
    let overlapping = decided
        .values()
        .filter(|d| matches!(d, IncidentCreditDecision::OverlappingPlans))
        .count() as i64;
    let total: i64 = decided
        .values()
        .map(|d| match d {
            IncidentCreditDecision::Owed { amount_cents, .. } => *amount_cents,
            _ => 0,
        })
        .sum();
    assert_eq!(summary.tally.credited, owed, "{:?}", summary.tally);
    assert_eq!(summary.tally.failed, overlapping, "{:?}", summary.tally);
    assert_eq!(summary.tally.total_cents, total, "{:?}", summary.tally);
    let after =
        caredesk::with_store!(svc.store(), s => s.classify(&ids, &inc).await).expect("classify");
    for o in after {
        let credited = o.outcome == Outcome::AlreadyCredited;
        match decided.get(&o.account_id) {
            Some(IncidentCreditDecision::Owed { amount_cents, .. }) => {
                assert!(
                    credited,
                    "account {} was owed and not credited",
                    o.account_no
                );
                assert_eq!(o.amount_cents, *amount_cents, "account {}", o.account_no);
            }
            Some(_) => assert!(
                !credited,
                "account {} credited against the rule",
                o.account_no
            ),
            None => {}
        }
    }
    w.finish().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_batch_sql_and_the_single_path_decide_as_the_domain_rule(
        histories in proptest::collection::vec(proptest::collection::vec(plan(), 0..4), 12..30)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(both_paths_agree_with_the_rule(histories));
    }
}
