//! Batch credit runs: selecting shards and chunks, opening or joining a run, crediting one chunk in one transaction, finishing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::PlanPeriod;
use crate::error::{Error, Result};

pub(super) fn batch_run(row: &DbRow) -> Result<BatchRun> {
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

/// The credits a run wrote for accounts in (from, to]: account id → (credit id, amount).
pub(super) async fn run_credits_in(
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

    /// The runs going now, oldest first (for anyone asking how far they are).
    pub async fn running_runs(&self) -> Result<Vec<BatchRun>> {
        let rows = sqlx::query("SELECT * FROM batch_runs WHERE state = 'running' ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(batch_run).collect()
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
            let row = sqlx::query("INSERT INTO batch_runs (incident_id, params_hash, selection, shard_k, shard_n, max_total_cents, state, selected, invalid, started_by, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING *")
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
        // The chunk's accounts in all, and as one row holding those without an incident credit
        // (the candidates) as a JSON array: rows handed one by one from the driver cost more
        // than the query itself. One statement, so both are read from one snapshot: an account
        // another run credits meanwhile is counted once, as already credited, never lost
        // between two reads. The credits lookup repeats the chunk's range so that any plan
        // (PostgreSQL's generic plans guess from stale statistics right after a big run) reads
        // only the chunk's part of the index.
        let row = sqlx::query(pick(
            "SELECT (SELECT COUNT(*) FROM accounts a WHERE a.id > $3 AND a.id <= $4 AND a.id % $5 = $6 \
             AND ($7 IS NULL OR a.id IN (SELECT value FROM jsonb_each(jsonb($7))))) AS n, \
             (SELECT json_group_array(json_array(a.id, a.account_no, a.status, p.data_plan, p.price_cents, p.currency)) \
             FROM accounts a \
             LEFT JOIN plans p ON p.account_id = a.id AND p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2) \
             WHERE a.id > $3 AND a.id <= $4 AND a.id % $5 = $6 \
             AND ($7 IS NULL OR a.id IN (SELECT value FROM jsonb_each(jsonb($7)))) \
             AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.account_id = a.id AND c.account_id > $3 AND c.account_id <= $4 \
             AND c.incident_id = $1 AND c.kind = 'incident')) AS candidates",
            "SELECT (SELECT COUNT(*) FROM accounts a WHERE a.id > $3 AND a.id <= $4 AND a.id % $5 = $6 \
             AND (CAST($7 AS jsonb) IS NULL OR a.id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($7 AS jsonb))))) AS n, \
             (SELECT CAST(json_agg(json_build_array(a.id, a.account_no, a.status, p.data_plan, p.price_cents, p.currency)) AS TEXT) \
             FROM accounts a \
             LEFT JOIN plans p ON p.account_id = a.id AND p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2) \
             WHERE a.id > $3 AND a.id <= $4 AND a.id % $5 = $6 \
             AND (CAST($7 AS jsonb) IS NULL OR a.id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($7 AS jsonb)))) \
             AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.account_id = a.id AND c.account_id > $3 AND c.account_id <= $4 \
             AND c.incident_id = $1 AND c.kind = 'incident')) AS candidates",
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
        let in_chunk: i64 = row.try_get("n")?;
        let candidates: Option<String> = row.try_get("candidates")?;
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
        // The accounts of the chunk that held their credit before this chunk read them.
        let already = in_chunk - outcomes.len() as i64;
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
}
