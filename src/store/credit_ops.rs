//! The credit ledger's transactions, compiled per backend like `ops.rs`: single credits,
//! appreciation requests and approvals, goodwill, reversals, export, and the chunks of batch
//! runs. The database's unique indexes are the last word on "at most once"; the code reads
//! first only to answer a replay with the original credit.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::Db;
use super::ops::{DbRow, SqlStore, append_audit, col, credit, pick};
use crate::domain::credit::{ApprovalDecision, RequestDecision, ReversalDecision};
use crate::domain::{self, AccountStatus, CreditRefusal, IncidentCreditDecision, PlanPeriod};
use crate::error::{Error, Result};
use crate::store::*;

/// A ledger row with its account number (what `ops::credit` reads), and `$tail`'s filter.
macro_rules! credit_select {
    ($tail:literal) => {
        concat!(
            "SELECT c.*, a.account_no FROM credits c JOIN accounts a ON a.id = c.account_id ",
            $tail
        )
    };
}

fn batch_run(row: &DbRow) -> Result<BatchRun> {
    Ok(BatchRun {
        id: row.try_get("id")?,
        incident: row.try_get("incident_id")?,
        params_hash: row.try_get("params_hash")?,
        selection: row.try_get("selection")?,
        shard_k: row.try_get("shard_k")?,
        shard_n: row.try_get("shard_n")?,
        max_total_cents: row.try_get("max_total_cents")?,
        state: col(row, "state")?,
        cursor: row.try_get("cursor")?,
        tally: Tally {
            selected: row.try_get("selected")?,
            credited: row.try_get("credited")?,
            already_credited: row.try_get("already")?,
            ineligible: row.try_get("ineligible")?,
            invalid: row.try_get("invalid")?,
            failed: row.try_get("failed")?,
            total_cents: row.try_get("total_cents")?,
        },
        started_by: row.try_get("started_by")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn request_row(r: &DbRow) -> Result<CreditRequest> {
    Ok(CreditRequest {
        id: r.try_get("id")?,
        incident: r.try_get("incident_id")?,
        kind: col(r, "kind")?,
        amount_cents: r.try_get("amount_cents")?,
        reason: r.try_get("reason")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        decided_by: r.try_get("decided_by")?,
        credit_id: r.try_get("credit_id")?,
    })
}

pub(super) fn incident_key(account_no: &str, incident: &str) -> String {
    format!("incident:{account_no}:{incident}")
}

async fn credit_by_key(tx: &mut Transaction<'_, Db>, key: &str) -> Result<Option<Credit>> {
    let row = sqlx::query(credit_select!("WHERE c.request_key = $1"))
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(credit).transpose()
}

async fn credit_in_tx(tx: &mut Transaction<'_, Db>, id: i64) -> Result<Credit> {
    let row = sqlx::query(credit_select!("WHERE c.id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    credit(&row)
}

/// Classifies accounts for the incident credit, reading only: the rule itself is
/// `domain::decide_incident_credit`; this gathers its facts (status, the whole plan history,
/// an existing incident credit) for all `ids` in one query.
async fn classify_in<'e, E>(exec: E, ids: &[i64], inc: &Incident) -> Result<Vec<AccountOutcome>>
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
type CandidateRow = (
    i64,
    String,
    String,
    Option<serde_json::Value>,
    Option<i64>,
    Option<String>,
);

/// What the incident-credit rule needs to know about one account.
struct CreditFacts {
    account_no: String,
    status: AccountStatus,
    existing: Option<ExistingCredit>,
    /// The account's plans with their currency: its whole history for a single credit, the
    /// plans in force at the incident's start for a batch chunk.
    plans: Vec<(PlanPeriod, String)>,
}

struct ExistingCredit {
    credit_id: i64,
    run: Option<i64>,
    amount_cents: i64,
    currency: String,
}

impl CreditFacts {
    /// The rule's decision (`domain::decide_incident_credit`) as the account's outcome.
    fn outcome(self, account_id: i64, inc: &Incident) -> AccountOutcome {
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
async fn insert_incident_credits(
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

/// The credits a run wrote for accounts in (from, to]: account id → (credit id, amount).
async fn run_credits_in(
    tx: &mut Transaction<'_, Db>,
    run: i64,
    from: i64,
    to: i64,
) -> Result<BTreeMap<i64, (i64, i64)>> {
    let json: Option<String> = sqlx::query_scalar(pick(
        "SELECT json_group_array(json_array(c.account_id, c.id, c.amount_cents)) FROM credits c \
         WHERE c.batch_run_id = $1 AND c.account_id > $2 AND c.account_id <= $3",
        "SELECT CAST(json_agg(json_build_array(c.account_id, c.id, c.amount_cents)) AS TEXT) FROM credits c \
         WHERE c.batch_run_id = $1 AND c.account_id > $2 AND c.account_id <= $3",
    ))
    .bind(run)
    .bind(from)
    .bind(to)
    .fetch_one(&mut **tx)
    .await?;
    let rows: Vec<(i64, i64, i64)> = match json.as_deref() {
        None | Some("") => Vec::new(),
        Some(j) => serde_json::from_str(j)
            .map_err(|e| Error::System(format!("unreadable credits of the chunk: {e}")))?,
    };
    Ok(rows
        .into_iter()
        .map(|(account, id, amount)| (account, (id, amount)))
        .collect())
}

impl SqlStore {
    pub async fn classify(&self, ids: &[i64], inc: &Incident) -> Result<Vec<AccountOutcome>> {
        classify_in(&self.pool, ids, inc).await
    }

    pub async fn credit_by_id(&self, id: i64) -> Result<Option<Credit>> {
        let row = sqlx::query(credit_select!("WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(credit).transpose()
    }

    /// The standard incident credit for one account, by an agent on a call.
    pub async fn apply_incident_credit(
        &self,
        actor: &Actor,
        account_id: i64,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let planned = classify_in(&mut *tx, &[account_id], inc).await?;
        let Some(o) = planned.first() else {
            return Err(Error::invalid("the account does not exist"));
        };
        match &o.outcome {
            Outcome::AlreadyCredited => {
                let id = o
                    .credit_id
                    .ok_or_else(|| Error::System("credit without id".to_string()))?;
                return Ok(CreditOutcome::AlreadyCredited(
                    credit_in_tx(&mut tx, id).await?,
                ));
            }
            Outcome::Ineligible(_) | Outcome::Failed(_) => {
                return Err(o.refusal().map_or_else(
                    || Error::System("an eligible account was refused".to_string()),
                    Error::from,
                ));
            }
            Outcome::Credited => {}
        }
        let inserted = insert_incident_credits(
            &mut tx,
            &[o],
            inc,
            &actor.login,
            "incident credit",
            None,
            now,
        )
        .await?;
        let key = incident_key(&o.account_no, &inc.id);
        if inserted == 0 {
            // Another agent or a batch run credited the account in between; the next
            // statement of this transaction sees its committed row.
            let c = credit_by_key(&mut tx, &key).await?.ok_or_else(|| {
                Error::System("the credit that blocked this one has vanished".to_string())
            })?;
            return Ok(CreditOutcome::AlreadyCredited(c));
        }
        let written = credit_by_key(&mut tx, &key)
            .await?
            .ok_or_else(|| Error::System("the new credit cannot be read back".to_string()))?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.incident",
                "ok",
                format!("{} cents", written.amount_cents),
            )
            .account(&o.account_no)
            .object(written.id)],
        )
        .await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(written))
    }

    /// An agent asks for the appreciation credit of an account with a category in
    /// permanent-loss; a supervisor other than the requester approves it.
    pub async fn request_appreciation(
        &self,
        actor: &Actor,
        account_id: i64,
        inc: &Incident,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestOutcome> {
        let mut tx = self.begin_write().await?;
        let account_no: String =
            sqlx::query_scalar("SELECT account_no FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let existing = sqlx::query("SELECT * FROM credit_requests WHERE account_id = $1 AND incident_id = $2 AND kind = 'appreciation'")
            .bind(account_id)
            .bind(&inc.id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(request_row)
            .transpose()?;
        let lost: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM impact WHERE account_id = $1 AND incident_id = $2 AND status = 'permanent-loss')",
        )
        .bind(account_id)
        .bind(&inc.id)
        .fetch_one(&mut *tx)
        .await?;
        let amount = match domain::credit::rules::request_appreciation(
            &account_no,
            existing.as_ref(),
            Some(reason),
            lost,
            inc.appreciation_cents,
        )? {
            RequestDecision::Replay(r) => return Ok(RequestOutcome::AlreadyRequested(r.clone())),
            RequestDecision::Request { amount_cents } => amount_cents,
        };
        let row = sqlx::query(
            "INSERT INTO credit_requests (account_id, incident_id, kind, amount_cents, reason, requested_by, requested_at) \
             VALUES ($1, $2, 'appreciation', $3, $4, $5, $6) RETURNING *",
        )
        .bind(account_id)
        .bind(&inc.id)
        .bind(amount)
        .bind(reason)
        .bind(&actor.login)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let req = request_row(&row)?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.request",
                "ok",
                format!("appreciation {amount} cents"),
            )
            .account(&account_no)
            .object(format!("request {}", req.id))],
        )
        .await?;
        tx.commit().await?;
        Ok(RequestOutcome::Requested(req))
    }

    pub async fn approve_request(
        &self,
        actor: &Actor,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let Some(r) = sqlx::query("SELECT r.*, a.account_no FROM credit_requests r JOIN accounts a ON a.id = r.account_id WHERE r.id = $1")
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(Error::invalid(format!("there is no credit request #{request_id}")));
        };
        let req = request_row(&r)?;
        let account_no: String = r.try_get("account_no")?;
        let account_id: i64 = r.try_get("account_id")?;
        match domain::credit::rules::approve_request(&req, &actor.login)? {
            ApprovalDecision::AlreadyApproved { credit_id } => {
                return Ok(CreditOutcome::AlreadyCredited(
                    credit_in_tx(&mut tx, credit_id).await?,
                ));
            }
            ApprovalDecision::Approve => {}
        }
        let key = format!("{}:{account_no}:{}", req.kind, req.incident);
        let currency: String = sqlx::query_scalar("SELECT currency FROM incidents WHERE id = $1")
            .bind(&req.incident)
            .fetch_one(&mut *tx)
            .await?;
        let credit_id: Option<i64> = sqlx::query_scalar(pick(
            "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, request_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id",
            "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, request_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id",
        ))
        .bind(account_id)
        .bind(&req.incident)
        .bind(req.kind.as_str())
        .bind(req.amount_cents)
        .bind(currency)
        .bind(&req.requested_by)
        .bind(&actor.login)
        .bind(&req.reason)
        .bind(&key)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(credit_id) = credit_id else {
            return Err(CreditRefusal::AlreadyHolds {
                account_no,
                kind: req.kind,
                incident: req.incident,
            }
            .into());
        };
        sqlx::query("UPDATE credit_requests SET decided_by = $1, decided_at = $2, credit_id = $3 WHERE id = $4 AND decided_at IS NULL")
            .bind(&actor.login)
            .bind(now)
            .bind(credit_id)
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.approve",
                "ok",
                format!("request {request_id}, {} cents", req.amount_cents),
            )
            .account(&account_no)
            .object(credit_id)],
        )
        .await?;
        let c = credit_in_tx(&mut tx, credit_id).await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(c))
    }

    /// A goodwill credit; `key` names the request so that a replay finds it.
    #[allow(clippy::too_many_arguments)]
    pub async fn goodwill(
        &self,
        actor: &Actor,
        account_id: i64,
        inc: &Incident,
        amount: i64,
        reason: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let account_no: String =
            sqlx::query_scalar("SELECT account_no FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let request_key = format!("goodwill:{account_no}:{}:{key}", inc.id);
        if let Some(c) = credit_by_key(&mut tx, &request_key).await? {
            domain::credit::rules::goodwill_replay(key, &c, amount, reason)?;
            return Ok(CreditOutcome::AlreadyCredited(c));
        }
        let credit_id: i64 = sqlx::query_scalar(
            "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, request_key, created_at) \
             VALUES ($1, $2, 'goodwill', $3, $4, $5, $5, $6, $7, $8) RETURNING id",
        )
        .bind(account_id)
        .bind(&inc.id)
        .bind(amount)
        .bind(&inc.currency)
        .bind(&actor.login)
        .bind(reason)
        .bind(&request_key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[
                AuditEntry::new("credit.goodwill", "ok", format!("{amount} cents"))
                    .account(&account_no)
                    .object(credit_id),
            ],
        )
        .await?;
        let c = credit_in_tx(&mut tx, credit_id).await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(c))
    }

    /// A reversal: a new, negative ledger row referring to the credit it undoes.
    pub async fn reverse_credit(
        &self,
        actor: &Actor,
        credit_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(credit_select!("WHERE c.id = $1"))
            .bind(credit_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(Error::invalid(format!("there is no credit #{credit_id}")));
        };
        let original = credit(&row)?;
        let account_id: i64 = row.try_get("account_id")?;
        let key = format!("reversal:{credit_id}");
        let existing = credit_by_key(&mut tx, &key).await?;
        let amount = match domain::credit::rules::reverse(&original, existing.as_ref(), reason)? {
            ReversalDecision::Replay(c) => return Ok(CreditOutcome::AlreadyCredited(c.clone())),
            ReversalDecision::Reverse { amount_cents } => amount_cents,
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, reverses, request_key, created_at) \
             VALUES ($1, $2, 'reversal', $3, $4, $5, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(account_id)
        .bind(&original.incident)
        .bind(amount)
        .bind(&original.currency)
        .bind(&actor.login)
        .bind(reason)
        .bind(credit_id)
        .bind(&key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.reverse",
                "ok",
                format!("reverses {credit_id}, {amount} cents"),
            )
            .account(&original.account_no)
            .object(id)],
        )
        .await?;
        let c = credit_in_tx(&mut tx, id).await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(c))
    }

    /// Every credit created at or after `since`, oldest first, handed to `each`.
    pub async fn export_credits(
        &self,
        since: Option<DateTime<Utc>>,
        mut each: impl FnMut(Credit) -> Result<()>,
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(credit_select!(
            "WHERE ($1 IS NULL OR c.created_at >= $1) ORDER BY c.id"
        ))
        .bind(since)
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            each(credit(&row)?)?;
        }
        Ok(())
    }

    // ----- batch runs ---------------------------------------------------------------------

    /// The next `limit` account ids after `after` in shard `k` of `n` (k in 0..n).
    pub async fn shard_ids_after(
        &self,
        after: i64,
        k: i64,
        n: i64,
        limit: i64,
    ) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM accounts WHERE id > $1 AND id % $2 = $3 ORDER BY id LIMIT $4",
        )
        .bind(after)
        .bind(n)
        .bind(k)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn count_shard(&self, k: i64, n: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE id % $1 = $2")
                .bind(n)
                .bind(k)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Account ids of account numbers (unknown numbers are left out).
    pub async fn ids_of_accounts(&self, account_nos: &[String]) -> Result<Vec<(String, i64)>> {
        let json = serde_json::to_string(account_nos).map_err(|e| Error::System(e.to_string()))?;
        let rows = sqlx::query(pick(
            "SELECT account_no, id FROM accounts WHERE account_no IN (SELECT value FROM jsonb_each(jsonb($1)))",
            "SELECT account_no, id FROM accounts WHERE account_no IN (SELECT value FROM jsonb_array_elements_text(CAST($1 AS jsonb)))",
        ))
        .bind(json)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("account_no")?, r.try_get("id")?)))
            .collect()
    }

    /// Account ids of phone numbers (E.164); a number several accounts share maps to each.
    pub async fn ids_of_msisdns(&self, msisdns: &[String]) -> Result<Vec<(String, i64)>> {
        let json = serde_json::to_string(msisdns).map_err(|e| Error::System(e.to_string()))?;
        let rows = sqlx::query(pick(
            "SELECT msisdn, id FROM accounts WHERE msisdn IN (SELECT value FROM jsonb_each(jsonb($1)))",
            "SELECT msisdn, id FROM accounts WHERE msisdn IN (SELECT value FROM jsonb_array_elements_text(CAST($1 AS jsonb)))",
        ))
        .bind(json)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("msisdn")?, r.try_get("id")?)))
            .collect()
    }

    pub async fn running_run(&self, params_hash: &str) -> Result<Option<BatchRun>> {
        let row =
            sqlx::query("SELECT * FROM batch_runs WHERE params_hash = $1 AND state = 'running'")
                .bind(params_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(batch_run).transpose()
    }

    pub async fn batch_run(&self, id: i64) -> Result<BatchRun> {
        let row = sqlx::query("SELECT * FROM batch_runs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        batch_run(&row)
    }

    /// Resumes the unfinished run with these parameters, or starts one (audited). Concurrent
    /// starters of the same command meet at the partial unique index and share one run.
    #[allow(clippy::too_many_arguments)]
    pub async fn batch_open(
        &self,
        actor: &Actor,
        inc: &Incident,
        params_hash: &str,
        selection: &str,
        shard: (i64, i64),
        max_total_cents: Option<i64>,
        invalid: i64,
        now: DateTime<Utc>,
    ) -> Result<(BatchRun, bool)> {
        for _ in 0..3 {
            let mut tx = self.begin_write().await?;
            if let Some(row) =
                sqlx::query("SELECT * FROM batch_runs WHERE params_hash = $1 AND state = 'running'")
                    .bind(params_hash)
                    .fetch_optional(&mut *tx)
                    .await?
            {
                return Ok((batch_run(&row)?, true));
            }
            let row = sqlx::query(pick(
                "INSERT INTO batch_runs (incident_id, params_hash, selection, shard_k, shard_n, max_total_cents, state, selected, invalid, started_by, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING *",
                "INSERT INTO batch_runs (incident_id, params_hash, selection, shard_k, shard_n, max_total_cents, state, selected, invalid, started_by, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING *",
            ))
            .bind(&inc.id)
            .bind(params_hash)
            .bind(selection)
            .bind(shard.0)
            .bind(shard.1)
            .bind(max_total_cents)
            .bind(invalid)
            .bind(&actor.login)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                // Another process started the same run a moment ago: join it.
                continue;
            };
            let run = batch_run(&row)?;
            append_audit(
                &mut tx,
                actor,
                now,
                &[AuditEntry::new(
                    "batch.start",
                    "ok",
                    format!(
                        "incident {}, selection {selection}, shard {}/{}, {invalid} invalid rows",
                        inc.id,
                        shard.0 + 1,
                        shard.1
                    ),
                )
                .object(format!("run {}", run.id))],
            )
            .await?;
            tx.commit().await?;
            return Ok((run, false));
        }
        Err(Error::System(
            "could not start or join the batch run".to_string(),
        ))
    }

    /// The last account id of the chunk of `chunk` accounts after `after` in shard `k` of `n`.
    pub async fn chunk_end(&self, after: i64, k: i64, n: i64, chunk: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(id) FROM (SELECT id FROM accounts WHERE id > $1 AND id % $2 = $3 ORDER BY id LIMIT $4) AS chunk",
        )
        .bind(after)
        .bind(n)
        .bind(k)
        .bind(chunk)
        .fetch_one(&self.pool)
        .await?)
    }

    /// One chunk of a run in one transaction: claim the chunk by moving the run's cursor from
    /// `spec.from` to `spec.to` (another worker on the same run that got there first makes this
    /// return `None`), credit the eligible accounts, write their audit records and the run's
    /// counts. Only accounts without an incident credit travel to the application: a replay
    /// reads one count per chunk.
    pub async fn batch_chunk(
        &self,
        actor: &Actor,
        run_id: i64,
        spec: &ChunkSpec,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<Option<Tally>> {
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE batch_runs SET cursor = $1 WHERE id = $2 AND cursor = $3 AND state = 'running'",
        )
        .bind(spec.to)
        .bind(run_id)
        .bind(spec.from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        let already: i64 = sqlx::query_scalar(pick(
            "SELECT COUNT(*) FROM credits c WHERE c.incident_id = $1 AND c.kind = 'incident' \
             AND c.account_id > $2 AND c.account_id <= $3 AND c.account_id % $4 = $5 \
             AND ($6 IS NULL OR c.account_id IN (SELECT value FROM jsonb_each(jsonb($6))))",
            "SELECT COUNT(*) FROM credits c WHERE c.incident_id = $1 AND c.kind = 'incident' \
             AND c.account_id > $2 AND c.account_id <= $3 AND c.account_id % $4 = $5 \
             AND (CAST($6 AS jsonb) IS NULL OR c.account_id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($6 AS jsonb))))",
        ))
        .bind(&inc.id)
        .bind(spec.from)
        .bind(spec.to)
        .bind(spec.n)
        .bind(spec.k)
        .bind(spec.ids.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        // One row holding the chunk's candidates as a JSON array: rows handed one by one from
        // the driver cost more than the query itself. The credits lookup repeats the chunk's
        // range so that any plan (PostgreSQL's generic plans guess from stale statistics
        // right after a big run) reads only the chunk's part of the index.
        let candidates: Option<String> = sqlx::query_scalar(pick(
            "SELECT json_group_array(json_array(a.id, a.account_no, a.status, p.data_plan, p.price_cents, p.currency)) \
             FROM accounts a \
             LEFT JOIN plans p ON p.account_id = a.id AND p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2) \
             WHERE a.id > $3 AND a.id <= $4 AND a.id % $5 = $6 \
             AND ($7 IS NULL OR a.id IN (SELECT value FROM jsonb_each(jsonb($7)))) \
             AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.account_id = a.id AND c.account_id > $3 AND c.account_id <= $4 \
             AND c.incident_id = $1 AND c.kind = 'incident')",
            "SELECT CAST(json_agg(json_build_array(a.id, a.account_no, a.status, p.data_plan, p.price_cents, p.currency)) AS TEXT) \
             FROM accounts a \
             LEFT JOIN plans p ON p.account_id = a.id AND p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2) \
             WHERE a.id > $3 AND a.id <= $4 AND a.id % $5 = $6 \
             AND (CAST($7 AS jsonb) IS NULL OR a.id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($7 AS jsonb)))) \
             AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.account_id = a.id AND c.account_id > $3 AND c.account_id <= $4 \
             AND c.incident_id = $1 AND c.kind = 'incident')",
        ))
        .bind(&inc.id)
        .bind(inc.started_at)
        .bind(spec.from)
        .bind(spec.to)
        .bind(spec.n)
        .bind(spec.k)
        .bind(spec.ids.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        let rows: Vec<CandidateRow> = match candidates.as_deref() {
            None | Some("") => Vec::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|e| Error::System(format!("unreadable chunk of accounts: {e}")))?,
        };
        // For speed over a million accounts the query keeps only the plans in force at the
        // start (the SQL twin of `PlanPeriod::in_force_at`, proven equal to it over generated
        // plan histories by tests/credit_rule.rs); the rule sees each as in force then.
        let mut facts: BTreeMap<i64, CreditFacts> = BTreeMap::new();
        for (id, account_no, status, data_plan, price_cents, currency) in rows {
            let f = match facts.entry(id) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => v.insert(CreditFacts {
                    account_no,
                    status: status.parse().map_err(|_| {
                        Error::System(format!("unknown account status \"{status}\""))
                    })?,
                    existing: None,
                    plans: Vec::new(),
                }),
            };
            if let Some(data_plan) = data_plan {
                // SQLite's JSON writes a boolean column as 0 or 1.
                let data_plan = data_plan
                    .as_bool()
                    .unwrap_or_else(|| data_plan.as_i64() == Some(1));
                let period = PlanPeriod {
                    data_plan,
                    price_cents: price_cents.unwrap_or(0),
                    valid_from: inc.started_at,
                    valid_to: None,
                };
                f.plans
                    .push((period, currency.unwrap_or_else(|| inc.currency.clone())));
            }
        }
        let mut outcomes: Vec<AccountOutcome> = facts
            .into_iter()
            .map(|(id, f)| f.outcome(id, inc))
            .collect();
        let planned: Vec<&AccountOutcome> = outcomes
            .iter()
            .filter(|o| o.outcome == Outcome::Credited)
            .collect();
        insert_incident_credits(
            &mut tx,
            &planned,
            inc,
            &actor.login,
            "batch credit run",
            Some(run_id),
            now,
        )
        .await?;
        let inserted = run_credits_in(&mut tx, run_id, spec.from, spec.to).await?;
        let mut audit = Vec::with_capacity(inserted.len());
        for o in &mut outcomes {
            if o.outcome != Outcome::Credited {
                continue;
            }
            match inserted.get(&o.account_id) {
                Some(&(credit_id, amount)) => {
                    o.credit_id = Some(credit_id);
                    o.amount_cents = amount;
                    audit.push(
                        AuditEntry::new(
                            "credit.incident",
                            "ok",
                            format!("{amount} cents, run {run_id}"),
                        )
                        .account(&o.account_no)
                        .object(credit_id),
                    );
                }
                // Credited by someone else between our read and our write.
                None => o.outcome = Outcome::AlreadyCredited,
            }
        }
        let mut tally = Tally {
            selected: already,
            already_credited: already,
            ..Tally::default()
        };
        for o in &outcomes {
            tally.add(o);
        }
        append_audit(&mut tx, actor, now, &audit).await?;
        sqlx::query(
            "UPDATE batch_runs SET selected = selected + $1, credited = credited + $2, already = already + $3, \
             ineligible = ineligible + $4, failed = failed + $5, total_cents = total_cents + $6 WHERE id = $7",
        )
        .bind(tally.selected)
        .bind(tally.credited)
        .bind(tally.already_credited)
        .bind(tally.ineligible)
        .bind(tally.failed)
        .bind(tally.total_cents)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(tally))
    }

    /// Marks the run finished (once, whoever gets there first) with its audit record.
    pub async fn batch_finish(
        &self,
        actor: &Actor,
        run_id: i64,
        now: DateTime<Utc>,
    ) -> Result<BatchRun> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE batch_runs SET state = 'finished', finished_at = $1 WHERE id = $2 AND state = 'running'")
            .bind(now)
            .bind(run_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let row = sqlx::query("SELECT * FROM batch_runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await?;
        let run = batch_run(&row)?;
        if done == 1 {
            let t = &run.tally;
            append_audit(&mut tx, actor, now, &[AuditEntry::new(
                "batch.end",
                if t.failed > 0 { "partial" } else { "ok" },
                format!(
                    "selected {}, credited {}, already {}, ineligible {}, invalid {}, failed {}, total {} cents",
                    t.selected, t.credited, t.already_credited, t.ineligible, t.invalid, t.failed, t.total_cents
                ),
            )
            .object(format!("run {run_id}"))])
            .await?;
        }
        tx.commit().await?;
        Ok(run)
    }

    /// The ledger's own count and sum for a run (for reconciliation).
    pub async fn ledger_for_run(&self, run_id: i64) -> Result<(i64, i64)> {
        let row = sqlx::query("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS total FROM credits WHERE batch_run_id = $1")
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get("n")?, row.try_get("total")?))
    }

    pub async fn set_meta(
        &self,
        actor: &Actor,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "config.set",
                "ok",
                format!("{key} = {value}"),
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
