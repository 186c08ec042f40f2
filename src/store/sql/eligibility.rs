//! The facts of the incident-credit rule for a set of accounts, and the one insert that writes its credits.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::{self, AccountStatus, IncidentCreditDecision, PlanPeriod};
use crate::error::{Error, Result};

pub(super) fn incident_key(account_no: &str, incident: &str) -> String {
    format!("incident:{account_no}:{incident}")
}

/// Classifies accounts for the incident credit, reading only: the rule itself is
/// `domain::decide_incident_credit`; this gathers its facts (status, the whole plan history,
/// an existing incident credit) for all `ids` in one query.
pub(super) async fn classify_in<'e, E>(
    exec: E,
    ids: &[i64],
    inc: &Incident,
) -> Result<Vec<AccountOutcome>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let json = serde_json::to_string(ids).map_err(|e| Error::System(e.to_string()))?;
    let rows = sqlx::query(pick(
        "SELECT a.id, a.account_no, a.status, c.id AS credit_id, c.batch_run_id AS credit_run, c.amount_cents AS credit_amount, \
                c.currency AS credit_currency, p.data_plan, p.price_cents, p.currency, p.valid_from, p.valid_to \
         FROM accounts a \
         LEFT JOIN credits c ON c.account_id = a.id AND c.incident_id = $2 AND c.kind = 'incident' \
         LEFT JOIN plans p ON p.account_id = a.id \
         WHERE a.id IN (SELECT value FROM jsonb_each(jsonb($1))) ORDER BY a.id",
        "SELECT a.id, a.account_no, a.status, c.id AS credit_id, c.batch_run_id AS credit_run, c.amount_cents AS credit_amount, \
                c.currency AS credit_currency, p.data_plan, p.price_cents, p.currency, p.valid_from, p.valid_to \
         FROM accounts a \
         LEFT JOIN credits c ON c.account_id = a.id AND c.incident_id = $2 AND c.kind = 'incident' \
         LEFT JOIN plans p ON p.account_id = a.id \
         WHERE a.id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($1 AS jsonb))) ORDER BY a.id",
    ))
    .bind(json)
    .bind(&inc.id)
    .fetch_all(exec)
    .await?;

    // Rows come ordered by account; an account with several plans in force has several rows.
    let mut facts: BTreeMap<i64, CreditFacts> = BTreeMap::new();
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        if let std::collections::btree_map::Entry::Vacant(slot) = facts.entry(id) {
            let existing = match r.try_get::<Option<i64>, _>("credit_id")? {
                Some(credit_id) => Some(ExistingCredit {
                    credit_id,
                    run: r.try_get("credit_run")?,
                    amount_cents: r.try_get::<Option<i64>, _>("credit_amount")?.unwrap_or(0),
                    currency: r
                        .try_get::<Option<String>, _>("credit_currency")?
                        .unwrap_or_default(),
                }),
                None => None,
            };
            slot.insert(CreditFacts {
                account_no: r.try_get("account_no")?,
                status: col(r, "status")?,
                existing,
                plans: Vec::new(),
            });
        }
        if let (Some(data_plan), Some(f)) = (
            r.try_get::<Option<bool>, _>("data_plan")?,
            facts.get_mut(&id),
        ) {
            f.plans.push((
                PlanPeriod {
                    data_plan,
                    price_cents: r.try_get("price_cents")?,
                    valid_from: r.try_get("valid_from")?,
                    valid_to: r.try_get("valid_to")?,
                },
                r.try_get("currency")?,
            ));
        }
    }
    Ok(facts
        .into_iter()
        .map(|(account_id, f)| f.outcome(account_id, inc))
        .collect())
}

/// One account of a chunk with one of its plans in force at the incident's start:
/// (id, account_no, status, data_plan, price_cents, currency).
pub(super) type CandidateRow = (
    i64,
    String,
    String,
    Option<serde_json::Value>,
    Option<i64>,
    Option<String>,
);

/// What the incident-credit rule needs to know about one account.
pub(super) struct CreditFacts {
    pub(super) account_no: String,
    pub(super) status: AccountStatus,
    pub(super) existing: Option<ExistingCredit>,
    /// The account's plans with their currency: its whole history for a single credit, the
    /// plans in force at the incident's start for a batch chunk.
    pub(super) plans: Vec<(PlanPeriod, String)>,
}

pub(super) struct ExistingCredit {
    pub(super) credit_id: i64,
    pub(super) run: Option<i64>,
    pub(super) amount_cents: i64,
    pub(super) currency: String,
}

impl CreditFacts {
    /// The rule's decision (`domain::decide_incident_credit`) as the account's outcome.
    pub(super) fn outcome(self, account_id: i64, inc: &Incident) -> AccountOutcome {
        let mut o = AccountOutcome {
            account_id,
            account_no: self.account_no,
            outcome: Outcome::Credited,
            amount_cents: 0,
            currency: inc.currency.clone(),
            credit_id: None,
            credit_run: None,
        };
        if let Some(e) = self.existing {
            o.outcome = Outcome::AlreadyCredited;
            o.amount_cents = e.amount_cents;
            o.currency = e.currency;
            o.credit_id = Some(e.credit_id);
            o.credit_run = e.run;
            return o;
        }
        let periods: Vec<PlanPeriod> = self.plans.iter().map(|(p, _)| *p).collect();
        match domain::decide_incident_credit(
            self.status,
            &periods,
            inc.started_at,
            inc.credit_months,
        ) {
            IncidentCreditDecision::Owed { amount_cents, plan } => {
                o.amount_cents = amount_cents;
                if let Some((_, currency)) = self.plans.get(plan) {
                    o.currency = currency.clone();
                }
            }
            IncidentCreditDecision::Ineligible(why) => o.outcome = Outcome::Ineligible(why),
            IncidentCreditDecision::OverlappingPlans => {
                o.outcome = Outcome::Failed(domain::credit::OVERLAPPING_PLANS.to_string());
            }
        }
        o
    }
}

/// Inserts incident credits for the eligible accounts of `planned` in one statement; the
/// unique indexes turn a lost race into no row (the caller reads back what was written).
pub(super) async fn insert_incident_credits(
    tx: &mut Transaction<'_, Db>,
    planned: &[&AccountOutcome],
    inc: &Incident,
    agent: &str,
    reason: &str,
    run: Option<i64>,
    now: DateTime<Utc>,
) -> Result<u64> {
    if planned.is_empty() {
        return Ok(0);
    }
    let rows: Vec<(i64, i64, &str, String)> = planned
        .iter()
        .map(|o| {
            (
                o.account_id,
                o.amount_cents,
                o.currency.as_str(),
                incident_key(&o.account_no, &inc.id),
            )
        })
        .collect();
    let json = serde_json::to_string(&rows).map_err(|e| Error::System(e.to_string()))?;
    Ok(sqlx::query(pick(
        "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, reason, batch_run_id, request_key, created_at) \
         SELECT value->>0, $2, 'incident', value->>1, value->>2, $3, $4, $5, value->>3, $6 FROM jsonb_each(jsonb($1)) WHERE true \
         ON CONFLICT DO NOTHING",
        "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, reason, batch_run_id, request_key, created_at) \
         SELECT CAST(value->>0 AS BIGINT), $2, 'incident', CAST(value->>1 AS BIGINT), value->>2, $3, $4, $5, value->>3, $6 \
         FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
         ON CONFLICT DO NOTHING",
    ))
    .bind(json)
    .bind(&inc.id)
    .bind(agent)
    .bind(reason)
    .bind(run)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

impl SqlStore {
    pub async fn classify(&self, ids: &[i64], inc: &Incident) -> Result<Vec<AccountOutcome>> {
        classify_in(&self.pool, ids, inc).await
    }
}
