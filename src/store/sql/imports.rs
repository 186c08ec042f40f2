//! Imports of accounts and impact rows, and what they share with the backups import.
//!
//! An import is one transaction for the whole file, worked through in chunks of rows. Per
//! chunk, one query reads what the database holds for the chunk's keys, aggregated into one
//! JSON row (handing thousands of rows one by one from the driver costs more than the query);
//! the rows are compared in Rust, in file order, exactly as a row-by-row import would see
//! them; then each table gets at most one `INSERT … SELECT` and one `UPDATE … FROM` over a
//! JSON array of the new and changed rows. The first bad row stops the import with its line
//! number, and the transaction is rolled back: nothing is written. The chunks come from a
//! slice, or from a parser still reading the rest of the file (`ImportRows`): then the file's
//! own problems, which the parser sends last, are reported in preference to the store's.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::Serialize;
use sqlx::Transaction;

use super::*;
use crate::domain::{self};
use crate::error::{Error, Result};
use crate::store::*;

/// Items per statement when an import writes many snapshots' items.
pub(super) const IMPORT_ITEMS_PER_STATEMENT: usize = 20_000;

/// Accounts in one SQLite import above which the search index stops merging its segments
/// while the rows go in, and (with as many new or changed) merges them once at the end, in
/// the same transaction.
pub(super) const FTS_BULK_ACCOUNTS: usize = 50_000;

pub(super) fn to_json<T: Serialize + ?Sized>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| Error::System(format!("cannot encode rows: {e}")))
}

/// A time as the driver would bind it: SQLite stores RFC 3339 text, PostgreSQL microseconds.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    let t = match BACKEND {
        Backend::Sqlite => t,
        Backend::Postgres => t.trunc_subsecs(6),
    };
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

pub(super) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            // PostgreSQL's JSON may write "+00" or a space; SQLite text from elsewhere too.
            chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
                .map(|t| t.with_timezone(&Utc))
        })
        .map_err(|_| Error::System(format!("the database holds an unreadable time \"{s}\"")))
}

/// `rows` cut where a key comes again, so that no piece names one twice: a piece is read
/// before any of it is written, and a row must see an earlier row with its key as written.
pub(super) fn distinct_runs<'r, T, K: std::hash::Hash + Eq>(
    rows: &'r [T],
    key: impl Fn(&'r T) -> K,
) -> Vec<&'r [T]> {
    let mut runs = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    let mut start = 0;
    for (i, row) in rows.iter().enumerate() {
        if !seen.insert(key(row)) {
            runs.push(&rows[start..i]);
            start = i;
            seen.clear();
            seen.insert(key(row));
        }
    }
    runs.push(&rows[start..]);
    runs
}

/// Runs one statement over a JSON array of rows (`$1`), with the time of the change as `$2`
/// where it needs one; nothing when there are no rows.
pub(super) async fn write_rows<T: Serialize>(
    tx: &mut Transaction<'_, Db>,
    sql: &'static str,
    rows: &[T],
    now: Option<DateTime<Utc>>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let query = sqlx::query(sql).bind(to_json(rows)?);
    match now {
        Some(now) => query.bind(now),
        None => query,
    }
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ----- accounts ---------------------------------------------------------------------------

/// An existing account with its open plans: (account_no, id, msisdn, name, email, status,
/// device_model, plan id, plan_code, price_cents, valid_from), one row per open plan.
pub(super) type AccountRow = (
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

pub(super) const ACCOUNTS_BY_NO: &str = pick(
    "SELECT json_group_array(json_array(a.account_no, a.id, a.msisdn, a.name, a.email, a.status, a.device_model, \
            p.id, p.plan_code, p.price_cents, p.valid_from)) \
     FROM json_each($1) AS k JOIN accounts a ON a.account_no = k.value \
     LEFT JOIN plans p ON p.account_id = a.id AND p.valid_to IS NULL",
    "SELECT CAST(json_agg(json_build_array(a.account_no, a.id, a.msisdn, a.name, a.email, a.status, a.device_model, \
            p.id, p.plan_code, p.price_cents, p.valid_from)) AS TEXT) \
     FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS k(value) JOIN accounts a ON a.account_no = k.value \
     LEFT JOIN LATERAL (SELECT * FROM plans WHERE plans.account_id = a.id AND plans.valid_to IS NULL OFFSET 0) AS p ON TRUE",
);

/// `$1`: [[account_no, msisdn, name, name_norm, email, status, device_model]], `$2`: now. The
/// array's order is the file's, so ids follow it.
pub(super) const INSERT_ACCOUNTS: &str = pick(
    "INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, 6, $2 \
     FROM jsonb_each(jsonb($1)) ORDER BY key",
    "INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
     SELECT e.value->>0, e.value->>1, e.value->>2, e.value->>3, e.value->>4, e.value->>5, e.value->>6, 6, $2 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS e(value, n) ORDER BY e.n",
);

/// `$1`: [[id, msisdn, name, name_norm, email, status, device_model]].
pub(super) const UPDATE_ACCOUNTS: &str = pick(
    "UPDATE accounts SET msisdn = j.value->>1, name = j.value->>2, name_norm = j.value->>3, email = j.value->>4, \
            status = j.value->>5, device_model = j.value->>6 \
     FROM jsonb_each(jsonb($1)) AS j WHERE accounts.id = j.value->>0",
    "UPDATE accounts AS a SET msisdn = e.value->>1, name = e.value->>2, name_norm = e.value->>3, email = e.value->>4, \
            status = e.value->>5, device_model = e.value->>6 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE a.id = CAST(e.value->>0 AS BIGINT)",
);

/// `$1`: [[plan id, valid_to]].
pub(super) const CLOSE_PLANS: &str = pick(
    "UPDATE plans SET valid_to = j.value->>1 FROM jsonb_each(jsonb($1)) AS j \
     WHERE plans.id = j.value->>0",
    "UPDATE plans AS p SET valid_to = CAST(e.value->>1 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE p.id = CAST(e.value->>0 AS BIGINT)",
);

/// `$1`: [[account_no, plan_code, data_plan, price_cents, currency, valid_from, valid_to]] in
/// the file's order (so are the plans' ids).
pub(super) const INSERT_PLANS: &str = pick(
    "INSERT INTO plans (account_id, plan_code, data_plan, price_cents, currency, valid_from, valid_to) \
     SELECT a.id, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6 \
     FROM jsonb_each(jsonb($1)) AS j JOIN accounts a ON a.account_no = j.value->>0 \
     ORDER BY j.key",
    "INSERT INTO plans (account_id, plan_code, data_plan, price_cents, currency, valid_from, valid_to) \
     SELECT a.id, e.value->>1, CAST(e.value->>2 AS BOOLEAN), CAST(e.value->>3 AS BIGINT), e.value->>4, \
            CAST(e.value->>5 AS TIMESTAMPTZ), CAST(e.value->>6 AS TIMESTAMPTZ) \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS e(value, n) JOIN accounts a ON a.account_no = e.value->>0 \
     ORDER BY e.n",
);

/// A plan of the account open (valid_to null) while the import works on it.
pub(super) struct OpenPlan {
    /// The stored plan's id, or the index of a plan this chunk inserts.
    pub(super) at: PlanAt,
    pub(super) code: String,
    pub(super) cents: i64,
    pub(super) from: DateTime<Utc>,
}

#[derive(Clone, Copy)]
pub(super) enum PlanAt {
    Stored(i64),
    New(usize),
}

pub(super) type PlanInsert<'a> = (&'a str, &'a str, bool, i64, &'a str, String, Option<String>);

#[derive(Default)]
pub(super) struct AccountWrites<'a> {
    pub(super) inserts: Vec<(
        &'a str,
        &'a str,
        &'a str,
        String,
        &'a str,
        &'static str,
        &'a str,
    )>,
    pub(super) updates: Vec<(
        i64,
        &'a str,
        &'a str,
        String,
        &'a str,
        &'static str,
        &'a str,
    )>,
    pub(super) closes: Vec<(i64, String)>,
    pub(super) plans: Vec<PlanInsert<'a>>,
}

/// What `apply_plan` did row by row: nothing when the same plan is in force; otherwise the
/// plan in force is closed where the new one starts (which must be after its own start) and
/// the new one appended. Returns whether anything changed.
pub(super) fn apply_plan<'a>(
    open: &mut Vec<OpenPlan>,
    plan: &'a NewPlan,
    account_no: &'a str,
    now: DateTime<Utc>,
    w: &mut AccountWrites<'a>,
) -> Result<bool> {
    // The plan in force: the open plan that started last.
    let current = open
        .iter()
        .enumerate()
        .max_by_key(|(_, p)| p.from)
        .map(|(i, _)| i);
    if let Some(i) = current {
        let cur = &open[i];
        if cur.code == plan.plan_code && cur.cents == plan.price_cents {
            return Ok(false);
        }
        let valid_from = plan.valid_from.unwrap_or(now);
        if valid_from <= cur.from {
            return Err(Error::invalid(format!(
                "the plan {} for this account starts on {}, not after its current plan's start ({}); give plan_from",
                plan.plan_code,
                valid_from.format("%Y-%m-%d"),
                cur.from.format("%Y-%m-%d")
            )));
        }
        match cur.at {
            PlanAt::Stored(id) => w.closes.push((id, ts(valid_from))),
            PlanAt::New(n) => w.plans[n].6 = Some(ts(valid_from)),
        }
        open.remove(i);
    }
    let valid_from = match (current, plan.valid_from) {
        (_, Some(from)) => from,
        (None, None) => history_start(),
        (Some(_), None) => now,
    };
    w.plans.push((
        account_no,
        &plan.plan_code,
        plan.data_plan,
        plan.price_cents,
        &plan.currency,
        ts(valid_from),
        plan.valid_to.map(ts),
    ));
    if plan.valid_to.is_none() {
        open.push(OpenPlan {
            at: PlanAt::New(w.plans.len() - 1),
            code: plan.plan_code.clone(),
            cents: plan.price_cents,
            from: valid_from,
        });
    }
    Ok(true)
}

pub(super) struct StoredAccount {
    pub(super) id: i64,
    pub(super) msisdn: String,
    pub(super) name: String,
    pub(super) email: String,
    pub(super) status: String,
    pub(super) device_model: String,
    pub(super) open: Vec<OpenPlan>,
}

/// One chunk of an accounts import. Rows up to the first bad one are written (as a row by
/// row import would have done before it stopped); the bad one's error is returned.
pub(super) async fn import_accounts_chunk(
    tx: &mut Transaction<'_, Db>,
    rows: &[NewAccount],
    now: DateTime<Utc>,
    counts: &mut ImportCounts,
) -> Result<()> {
    let keys: Vec<&str> = rows.iter().map(|r| r.account_no.as_str()).collect();
    let json: Option<String> = sqlx::query_scalar(ACCOUNTS_BY_NO)
        .bind(to_json(&keys)?)
        .fetch_one(&mut **tx)
        .await?;
    let mut stored: HashMap<String, StoredAccount> = HashMap::new();
    for (no, id, msisdn, name, email, status, device_model, plan_id, code, cents, from) in
        parse_agg::<AccountRow>(json, "accounts")?
    {
        let acc = stored.entry(no).or_insert_with(|| StoredAccount {
            id,
            msisdn,
            name,
            email,
            status,
            device_model,
            open: Vec::new(),
        });
        if let (Some(plan_id), Some(code), Some(cents), Some(from)) = (plan_id, code, cents, from) {
            acc.open.push(OpenPlan {
                at: PlanAt::Stored(plan_id),
                code,
                cents,
                from: parse_ts(&from)?,
            });
        }
    }
    let mut w = AccountWrites::default();
    let mut failure = None;
    for acc in rows {
        let name_norm = domain::search_fold(&acc.name);
        let mut fresh = Vec::new();
        let (open, is_new, mut changed) = match stored.get_mut(&acc.account_no) {
            None => {
                w.inserts.push((
                    &acc.account_no,
                    &acc.msisdn,
                    &acc.name,
                    name_norm,
                    &acc.email,
                    acc.status.as_str(),
                    &acc.device_model,
                ));
                counts.inserted += 1;
                (&mut fresh, true, false)
            }
            Some(s) => {
                let same = s.msisdn == acc.msisdn
                    && s.name == acc.name
                    && s.email == acc.email
                    && s.status == acc.status.as_str()
                    && s.device_model == acc.device_model;
                if !same {
                    w.updates.push((
                        s.id,
                        &acc.msisdn,
                        &acc.name,
                        name_norm,
                        &acc.email,
                        acc.status.as_str(),
                        &acc.device_model,
                    ));
                }
                (&mut s.open, false, !same)
            }
        };
        let mut bad = None;
        for plan in &acc.plans {
            match apply_plan(open, plan, &acc.account_no, now, &mut w) {
                Ok(c) => changed |= c,
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = bad {
            failure = Some(e);
            break;
        }
        if changed && !is_new {
            counts.updated += 1;
        }
    }
    write_rows(tx, UPDATE_ACCOUNTS, &w.updates, None).await?;
    write_rows(tx, INSERT_ACCOUNTS, &w.inserts, Some(now)).await?;
    write_rows(tx, CLOSE_PLANS, &w.closes, None).await?;
    write_rows(tx, INSERT_PLANS, &w.plans, None).await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// One chunk of an impact import; like `import_accounts_chunk`, it writes the rows before a
/// bad one and returns the bad one's error.
pub(super) async fn import_impact_chunk(
    tx: &mut Transaction<'_, Db>,
    part: &[NewImpact],
    source: &str,
    now: DateTime<Utc>,
    counts: &mut ImportCounts,
    touched: &mut Vec<i64>,
) -> Result<()> {
    let mut keys: Vec<&str> = part.iter().map(|r| r.account_no.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let json = fetch_facts(tx, FACTS_BY_NO, to_json(&keys)?).await?;
    let mut facts = parse_facts(json.as_deref())?;
    let mut failure = None;
    for imp in part {
        let Some(acc) = facts.get_mut(imp.account_no.as_str()) else {
            failure = Some(Error::invalid(format!(
                "{source} line {}: there is no account {}",
                imp.line, imp.account_no
            )));
            break;
        };
        match acc
            .rows
            .iter_mut()
            .find(|f| f.incident == imp.incident.as_str() && f.category == imp.category)
        {
            None => {
                acc.rows.push(Fact {
                    incident: Cow::Borrowed(imp.incident.as_str()),
                    category: imp.category,
                    server_lost: imp.server_lost,
                    device_state: imp.device_state,
                    items_before: imp.items_before,
                    permanent_loss: false,
                    recovered_items: None,
                    status: Cow::Borrowed(""),
                    state: RowState::New,
                });
                counts.inserted += 1;
            }
            Some(f) => {
                if f.server_lost == imp.server_lost
                    && f.device_state == imp.device_state
                    && f.items_before == imp.items_before
                {
                    continue;
                }
                f.server_lost = imp.server_lost;
                f.device_state = imp.device_state;
                f.items_before = imp.items_before;
                if f.state == RowState::Stored {
                    f.state = RowState::Changed;
                }
                counts.updated += 1;
            }
        }
        if !acc.touched {
            acc.touched = true;
            touched.push(acc.id);
        }
    }
    let mut writes = StatusWrites::default();
    let mut accounts: Vec<&AccountFacts<'_>> = facts.values().filter(|a| a.touched).collect();
    accounts.sort_by_key(|a| a.id);
    for acc in accounts {
        writes.derive(acc);
    }
    writes.write(tx, now).await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// PostgreSQL: an import's queries read thousands of keys at once, and on tables not analysed
/// since they were filled the planner's estimates run into the millions, past the point where
/// it compiles each query to machine code (about 0.2 s a query, every chunk) for plans that
/// run in milliseconds. Off for the import's transaction only.
pub(super) async fn no_jit(tx: &mut Transaction<'_, Db>) -> Result<()> {
    if BACKEND == Backend::Postgres {
        sqlx::query("SET LOCAL jit = off")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The search index's automerge setting (SQLite), to put back after a bulk load.
pub(super) async fn fts_automerge(tx: &mut Transaction<'_, Db>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(v AS INTEGER) FROM accounts_fts_config WHERE k = 'automerge'",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

pub(super) async fn set_fts_automerge(tx: &mut Transaction<'_, Db>, value: i64) -> Result<()> {
    sqlx::query("INSERT INTO accounts_fts (accounts_fts, rank) VALUES ('automerge', $1)")
        .bind(value)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl SqlStore {
    /// Inserts new accounts, updates changed ones and appends plan changes, all in one
    /// transaction, chunk by chunk. A second import of the same rows changes nothing and
    /// writes no audit.
    pub async fn import_accounts(
        &self,
        actor: &Actor,
        mut rows: ImportRows<'_, NewAccount>,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportCounts> {
        let mut tx = self.begin_write().await?;
        no_jit(&mut tx).await?;
        let mut counts = ImportCounts::default();
        // The first bad row; the rest of the file is still read, since a bad line there
        // (reported by the parser, last) is what a row by row import would have reported.
        let mut failure = None;
        // Many accounts on SQLite: the search index takes them without merging its segments
        // after every chunk, and merges them all once at the end (the setting as it was).
        let mut automerge = None;
        while let Some(part) = rows.next().await {
            let part = part?;
            counts.rows += part.len() as i64;
            if failure.is_some() {
                continue;
            }
            if BACKEND == Backend::Sqlite
                && automerge.is_none()
                && counts.rows as usize > self.fts_bulk_accounts
            {
                automerge = Some(fts_automerge(&mut tx).await?);
                set_fts_automerge(&mut tx, 0).await?;
            }
            // A file never names an account twice (the parser refuses it); rows handed over by
            // a caller might: the second then sees the first written, as row by row.
            for run in distinct_runs(&part, |a| a.account_no.as_str()) {
                if let Err(e) = import_accounts_chunk(&mut tx, run, now, &mut counts).await {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(before) = automerge {
            if (counts.inserted + counts.updated) as usize > self.fts_bulk_accounts {
                sqlx::query("INSERT INTO accounts_fts (accounts_fts) VALUES ('optimize')")
                    .execute(&mut *tx)
                    .await?;
            }
            // FTS5's default when the setting was never made.
            set_fts_automerge(&mut tx, before.unwrap_or(4)).await?;
        }
        counts.unchanged = counts.rows - counts.inserted - counts.updated;
        if counts.inserted + counts.updated > 0 {
            append_audit(
                &mut tx,
                actor,
                now,
                &[AuditEntry::new(
                    "import.accounts",
                    "ok",
                    format!(
                        "{source}: {} rows, {} new, {} changed",
                        counts.rows, counts.inserted, counts.updated
                    ),
                )],
            )
            .await?;
            tx.commit().await?;
        } else {
            // Nothing changed: nothing to keep (not even the index's setting, put back).
            tx.rollback().await?;
        }
        Ok(counts)
    }

    /// Sets impact rows (per account, incident and category) and recomputes the statuses
    /// they drive, in one transaction, chunk by chunk.
    pub async fn import_impact(
        &self,
        actor: &Actor,
        mut rows: ImportRows<'_, NewImpact>,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportCounts> {
        let mut tx = self.begin_write().await?;
        no_jit(&mut tx).await?;
        let mut counts = ImportCounts::default();
        let mut touched: Vec<i64> = Vec::new();
        let mut failure = None;
        while let Some(part) = rows.next().await {
            let part = part?;
            counts.rows += part.len() as i64;
            if failure.is_some() {
                continue;
            }
            if let Err(e) =
                import_impact_chunk(&mut tx, &part, source, now, &mut counts, &mut touched).await
            {
                failure = Some(e);
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }

        touched.sort_unstable();
        touched.dedup();
        counts.unchanged = counts.rows - counts.inserted - counts.updated;
        if !touched.is_empty() {
            append_audit(
                &mut tx,
                actor,
                now,
                &[AuditEntry::new(
                    "import.impact",
                    "ok",
                    format!(
                        "{source}: {} rows, {} new, {} changed, {} accounts",
                        counts.rows,
                        counts.inserted,
                        counts.updated,
                        touched.len()
                    ),
                )],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(counts)
    }
}
