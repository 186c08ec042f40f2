//! The bulk paths, compiled per backend like `ops.rs`: the imports of accounts, impact rows
//! and backups, and the derived statuses of many accounts at once.
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
use serde::de::DeserializeOwned;
use sqlx::Transaction;

use super::ops::{SqlStore, append_audit, history_start, pick};
use super::{BACKEND, Backend, Db};
use crate::domain::{self, Category, CategoryFacts, CategoryStatus, DeviceState};
use crate::error::{Error, Result};
use crate::store::*;

/// Items per statement when an import writes many snapshots' items.
const IMPORT_ITEMS_PER_STATEMENT: usize = 20_000;

/// Accounts in one SQLite import above which the search index stops merging its segments
/// while the rows go in, and (with as many new or changed) merges them once at the end, in
/// the same transaction.
const FTS_BULK_ACCOUNTS: usize = 50_000;

/// Rows aggregated into one JSON array by the database (one row instead of thousands).
fn parse_agg<T: DeserializeOwned>(json: Option<String>, what: &str) -> Result<Vec<T>> {
    match json.as_deref() {
        None | Some("") => Ok(Vec::new()),
        Some(j) => {
            serde_json::from_str(j).map_err(|e| Error::System(format!("unreadable {what}: {e}")))
        }
    }
}

fn to_json<T: Serialize + ?Sized>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| Error::System(format!("cannot encode rows: {e}")))
}

/// A time as the driver would bind it: SQLite stores RFC 3339 text, PostgreSQL microseconds.
fn ts(t: DateTime<Utc>) -> String {
    let t = match BACKEND {
        Backend::Sqlite => t,
        Backend::Postgres => t.trunc_subsecs(6),
    };
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
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
fn distinct_runs<'r, T, K: std::hash::Hash + Eq>(
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
async fn write_rows<T: Serialize>(
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

// ----- statuses ---------------------------------------------------------------------------

/// One impact row of an account with what its status is derived from: (account_no, account
/// id, loss_rank, covered categories (comma-separated), incident, category, server_lost,
/// device_state, items_before, permanent_loss, recovered_items, status). The incident is
/// empty and the other impact fields null for an account without impact rows. Text borrows
/// from the query's JSON; the names are read straight into their types.
#[derive(serde::Deserialize)]
struct FactsRow<'a>(
    #[serde(borrow)] Cow<'a, str>,
    i64,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    Option<Category>,
    Option<i64>,
    Option<DeviceState>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    #[serde(borrow)] Cow<'a, str>,
);

/// The facts of the accounts named by number (`$1`, a JSON array of text). On PostgreSQL the
/// per-account parts are `LATERAL … OFFSET 0` subqueries: tables just filled by an import have
/// no statistics yet, and the planner would otherwise join them by scanning them whole, once
/// per chunk.
const FACTS_BY_NO: &str = pick(
    "WITH x AS MATERIALIZED (SELECT a.id, a.account_no, a.loss_rank, \
         (SELECT group_concat(DISTINCT bc.category) FROM backups b JOIN backup_categories bc ON bc.backup_id = b.id \
          WHERE b.account_id = a.id AND b.verification IN ('verified', 'partial') AND bc.item_count > bc.bad_items) AS covered \
       FROM json_each($1) AS k JOIN accounts a ON a.account_no = k.value) \
     SELECT json_group_array(json_array(x.account_no, x.id, x.loss_rank, COALESCE(x.covered, ''), COALESCE(i.incident_id, ''), i.category, i.server_lost, \
            i.device_state, i.items_before, i.permanent_loss, i.recovered_items, COALESCE(i.status, ''))) \
     FROM x LEFT JOIN impact i ON i.account_id = x.id",
    "WITH x AS MATERIALIZED (SELECT a.id, a.account_no, a.loss_rank, \
         (SELECT string_agg(DISTINCT c.category, ',') FROM backups b \
            CROSS JOIN LATERAL (SELECT bc.category FROM backup_categories bc \
                                WHERE bc.backup_id = b.id AND bc.item_count > bc.bad_items OFFSET 0) AS c \
          WHERE b.account_id = a.id AND b.verification IN ('verified', 'partial')) AS covered \
       FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS k(value) JOIN accounts a ON a.account_no = k.value) \
     SELECT CAST(json_agg(json_build_array(x.account_no, x.id, x.loss_rank, COALESCE(x.covered, ''), COALESCE(i.incident_id, ''), i.category, \
            CAST(i.server_lost AS INTEGER), i.device_state, i.items_before, CAST(i.permanent_loss AS INTEGER), \
            i.recovered_items, COALESCE(i.status, ''))) AS TEXT) \
     FROM x LEFT JOIN LATERAL (SELECT * FROM impact WHERE impact.account_id = x.id OFFSET 0) AS i ON TRUE",
);

/// The same for accounts named by id (`$1`, a JSON array of numbers).
const FACTS_BY_ID: &str = pick(
    "WITH x AS MATERIALIZED (SELECT a.id, a.account_no, a.loss_rank, \
         (SELECT group_concat(DISTINCT bc.category) FROM backups b JOIN backup_categories bc ON bc.backup_id = b.id \
          WHERE b.account_id = a.id AND b.verification IN ('verified', 'partial') AND bc.item_count > bc.bad_items) AS covered \
       FROM json_each($1) AS k JOIN accounts a ON a.id = k.value) \
     SELECT json_group_array(json_array(x.account_no, x.id, x.loss_rank, COALESCE(x.covered, ''), COALESCE(i.incident_id, ''), i.category, i.server_lost, \
            i.device_state, i.items_before, i.permanent_loss, i.recovered_items, COALESCE(i.status, ''))) \
     FROM x LEFT JOIN impact i ON i.account_id = x.id",
    "WITH x AS MATERIALIZED (SELECT a.id, a.account_no, a.loss_rank, \
         (SELECT string_agg(DISTINCT c.category, ',') FROM backups b \
            CROSS JOIN LATERAL (SELECT bc.category FROM backup_categories bc \
                                WHERE bc.backup_id = b.id AND bc.item_count > bc.bad_items OFFSET 0) AS c \
          WHERE b.account_id = a.id AND b.verification IN ('verified', 'partial')) AS covered \
       FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS k(value) JOIN accounts a ON a.id = CAST(k.value AS BIGINT)) \
     SELECT CAST(json_agg(json_build_array(x.account_no, x.id, x.loss_rank, COALESCE(x.covered, ''), COALESCE(i.incident_id, ''), i.category, \
            CAST(i.server_lost AS INTEGER), i.device_state, i.items_before, CAST(i.permanent_loss AS INTEGER), \
            i.recovered_items, COALESCE(i.status, ''))) AS TEXT) \
     FROM x LEFT JOIN LATERAL (SELECT * FROM impact WHERE impact.account_id = x.id OFFSET 0) AS i ON TRUE",
);

/// `$1`: [[account_id, incident, category, server_lost, device_state, items_before, status]],
/// `$2`: now.
const INSERT_IMPACT: &str = pick(
    "INSERT INTO impact (account_id, incident_id, category, server_lost, device_state, items_before, status, updated_at) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, $2 FROM jsonb_each(jsonb($1))",
    "INSERT INTO impact (account_id, incident_id, category, server_lost, device_state, items_before, status, updated_at) \
     SELECT CAST(value->>0 AS BIGINT), value->>1, value->>2, CAST(value->>3 AS BOOLEAN), value->>4, CAST(value->>5 AS BIGINT), \
            value->>6, $2 FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

/// The same rows as `INSERT_IMPACT`, for impact rows that exist.
const UPDATE_IMPACT: &str = pick(
    "UPDATE impact SET server_lost = j.value->>3, device_state = j.value->>4, items_before = j.value->>5, \
            status = j.value->>6, updated_at = $2 \
     FROM jsonb_each(jsonb($1)) AS j \
     WHERE impact.account_id = j.value->>0 AND impact.incident_id = j.value->>1 AND impact.category = j.value->>2",
    "UPDATE impact AS i SET server_lost = CAST(e.value->>3 AS BOOLEAN), device_state = e.value->>4, \
            items_before = CAST(e.value->>5 AS BIGINT), status = e.value->>6, updated_at = $2 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE i.account_id = CAST(e.value->>0 AS BIGINT) AND i.incident_id = e.value->>1 AND i.category = e.value->>2",
);

/// `$1`: [[account_id, incident, category, status]], `$2`: now.
const UPDATE_STATUS: &str = pick(
    "UPDATE impact SET status = j.value->>3, updated_at = $2 FROM jsonb_each(jsonb($1)) AS j \
     WHERE impact.account_id = j.value->>0 AND impact.incident_id = j.value->>1 AND impact.category = j.value->>2",
    "UPDATE impact AS i SET status = e.value->>3, updated_at = $2 FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE i.account_id = CAST(e.value->>0 AS BIGINT) AND i.incident_id = e.value->>1 AND i.category = e.value->>2",
);

/// `$1`: [[account_id, loss_rank]].
const UPDATE_RANK: &str = pick(
    "UPDATE accounts SET loss_rank = j.value->>1 FROM jsonb_each(jsonb($1)) AS j \
     WHERE accounts.id = j.value->>0",
    "UPDATE accounts AS a SET loss_rank = CAST(e.value->>1 AS BIGINT) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE a.id = CAST(e.value->>0 AS BIGINT)",
);

/// Where an impact row stands against the database in this chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowState {
    Stored,
    New,
    Changed,
}

#[derive(Debug)]
struct Fact<'a> {
    incident: Cow<'a, str>,
    category: Category,
    server_lost: bool,
    device_state: DeviceState,
    items_before: i64,
    permanent_loss: bool,
    recovered_items: Option<i64>,
    /// As stored (empty for a new row).
    status: Cow<'a, str>,
    state: RowState,
}

/// An account's impact rows and what its statuses are derived from.
#[derive(Debug)]
struct AccountFacts<'a> {
    id: i64,
    loss_rank: i64,
    covered: Cow<'a, str>,
    rows: Vec<Fact<'a>>,
    touched: bool,
}

impl AccountFacts<'_> {
    fn covers(&self, category: Category) -> bool {
        self.covered.split(',').any(|c| c == category.as_str())
    }
}

/// Reads the facts of many accounts in one query, as one JSON text.
async fn fetch_facts(
    tx: &mut Transaction<'_, Db>,
    sql: &'static str,
    keys: String,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(sql)
        .bind(keys)
        .fetch_one(&mut **tx)
        .await?)
}

/// The facts as `fetch_facts` read them: account_no → facts, in no order.
fn parse_facts(json: Option<&str>) -> Result<HashMap<Cow<'_, str>, AccountFacts<'_>>> {
    let rows: Vec<FactsRow<'_>> = match json {
        None | Some("") => Vec::new(),
        Some(j) => serde_json::from_str(j)
            .map_err(|e| Error::System(format!("unreadable impact facts: {e}")))?,
    };
    let mut out: HashMap<Cow<'_, str>, AccountFacts<'_>> = HashMap::with_capacity(rows.len());
    for FactsRow(
        no,
        id,
        rank,
        covered,
        incident,
        category,
        lost,
        device,
        before,
        permanent,
        recovered,
        status,
    ) in rows
    {
        let acc = out.entry(no).or_insert_with(|| AccountFacts {
            id,
            loss_rank: rank,
            covered,
            rows: Vec::new(),
            touched: false,
        });
        let (Some(category), false) = (category, incident.is_empty()) else {
            continue;
        };
        acc.rows.push(Fact {
            incident,
            category,
            server_lost: lost == Some(1),
            device_state: device.unwrap_or_default(),
            items_before: before.unwrap_or(0),
            permanent_loss: permanent == Some(1),
            recovered_items: recovered,
            status,
            state: RowState::Stored,
        });
    }
    Ok(out)
}

/// The statements a chunk's status work adds up to.
#[derive(Default)]
struct StatusWrites<'a> {
    inserts: Vec<(i64, &'a str, &'a str, bool, &'static str, i64, &'static str)>,
    updates: Vec<(i64, &'a str, &'a str, bool, &'static str, i64, &'static str)>,
    statuses: Vec<(i64, &'a str, &'a str, &'static str)>,
    ranks: Vec<(i64, i64)>,
}

impl<'a> StatusWrites<'a> {
    /// Derives every status of the account and collects what differs from what is stored:
    /// new and changed rows with their status, stale statuses, the account's rank.
    fn derive(&mut self, acc: &'a AccountFacts<'a>) {
        let mut worst = CategoryStatus::NotAffected;
        for f in &acc.rows {
            let status = domain::derive_category_status(&CategoryFacts {
                server_lost: f.server_lost,
                device_state: f.device_state,
                items_before: f.items_before,
                verified_backup: acc.covers(f.category),
                permanent_loss: f.permanent_loss,
                recovered_items: f.recovered_items,
            });
            worst = worst.min(status);
            let row = (
                acc.id,
                f.incident.as_ref(),
                f.category.as_str(),
                f.server_lost,
                f.device_state.as_str(),
                f.items_before,
                status.as_str(),
            );
            match f.state {
                RowState::New => self.inserts.push(row),
                RowState::Changed => self.updates.push(row),
                RowState::Stored if f.status != status.as_str() => self.statuses.push((
                    acc.id,
                    f.incident.as_ref(),
                    f.category.as_str(),
                    status.as_str(),
                )),
                RowState::Stored => {}
            }
        }
        if acc.loss_rank != worst.rank() {
            self.ranks.push((acc.id, worst.rank()));
        }
    }

    async fn write(&self, tx: &mut Transaction<'_, Db>, now: DateTime<Utc>) -> Result<()> {
        write_rows(tx, INSERT_IMPACT, &self.inserts, Some(now)).await?;
        write_rows(tx, UPDATE_IMPACT, &self.updates, Some(now)).await?;
        write_rows(tx, UPDATE_STATUS, &self.statuses, Some(now)).await?;
        write_rows(tx, UPDATE_RANK, &self.ranks, None).await?;
        Ok(())
    }
}

/// Recomputes the derived statuses of many accounts' categories and the accounts' ranks from
/// the impact facts and the backups, inside the transaction that changed them: one query
/// reads them all, and only what changed is written (one statement per table).
pub(crate) async fn refresh_statuses(
    tx: &mut Transaction<'_, Db>,
    account_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<()> {
    if account_ids.is_empty() {
        return Ok(());
    }
    let json = fetch_facts(tx, FACTS_BY_ID, to_json(account_ids)?).await?;
    let facts = parse_facts(json.as_deref())?;
    let mut writes = StatusWrites::default();
    let mut accounts: Vec<&AccountFacts<'_>> = facts.values().collect();
    accounts.sort_by_key(|a| a.id);
    for acc in accounts {
        writes.derive(acc);
    }
    writes.write(tx, now).await
}

// ----- accounts ---------------------------------------------------------------------------

/// An existing account with its open plans: (account_no, id, msisdn, name, email, status,
/// device_model, plan id, plan_code, price_cents, valid_from), one row per open plan.
type AccountRow = (
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

const ACCOUNTS_BY_NO: &str = pick(
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
const INSERT_ACCOUNTS: &str = pick(
    "INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, 6, $2 \
     FROM jsonb_each(jsonb($1)) ORDER BY key",
    "INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
     SELECT e.value->>0, e.value->>1, e.value->>2, e.value->>3, e.value->>4, e.value->>5, e.value->>6, 6, $2 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS e(value, n) ORDER BY e.n",
);

/// `$1`: [[id, msisdn, name, name_norm, email, status, device_model]].
const UPDATE_ACCOUNTS: &str = pick(
    "UPDATE accounts SET msisdn = j.value->>1, name = j.value->>2, name_norm = j.value->>3, email = j.value->>4, \
            status = j.value->>5, device_model = j.value->>6 \
     FROM jsonb_each(jsonb($1)) AS j WHERE accounts.id = j.value->>0",
    "UPDATE accounts AS a SET msisdn = e.value->>1, name = e.value->>2, name_norm = e.value->>3, email = e.value->>4, \
            status = e.value->>5, device_model = e.value->>6 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE a.id = CAST(e.value->>0 AS BIGINT)",
);

/// `$1`: [[plan id, valid_to]].
const CLOSE_PLANS: &str = pick(
    "UPDATE plans SET valid_to = j.value->>1 FROM jsonb_each(jsonb($1)) AS j \
     WHERE plans.id = j.value->>0",
    "UPDATE plans AS p SET valid_to = CAST(e.value->>1 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE p.id = CAST(e.value->>0 AS BIGINT)",
);

/// `$1`: [[account_no, plan_code, data_plan, price_cents, currency, valid_from, valid_to]] in
/// the file's order (so are the plans' ids).
const INSERT_PLANS: &str = pick(
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
struct OpenPlan {
    /// The stored plan's id, or the index of a plan this chunk inserts.
    at: PlanAt,
    code: String,
    cents: i64,
    from: DateTime<Utc>,
}

#[derive(Clone, Copy)]
enum PlanAt {
    Stored(i64),
    New(usize),
}

type PlanInsert<'a> = (&'a str, &'a str, bool, i64, &'a str, String, Option<String>);

#[derive(Default)]
struct AccountWrites<'a> {
    inserts: Vec<(
        &'a str,
        &'a str,
        &'a str,
        String,
        &'a str,
        &'static str,
        &'a str,
    )>,
    updates: Vec<(
        i64,
        &'a str,
        &'a str,
        String,
        &'a str,
        &'static str,
        &'a str,
    )>,
    closes: Vec<(i64, String)>,
    plans: Vec<PlanInsert<'a>>,
}

/// What `apply_plan` did row by row: nothing when the same plan is in force; otherwise the
/// plan in force is closed where the new one starts (which must be after its own start) and
/// the new one appended. Returns whether anything changed.
fn apply_plan<'a>(
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

struct StoredAccount {
    id: i64,
    msisdn: String,
    name: String,
    email: String,
    status: String,
    device_model: String,
    open: Vec<OpenPlan>,
}

/// One chunk of an accounts import. Rows up to the first bad one are written (as a row by
/// row import would have done before it stopped); the bad one's error is returned.
async fn import_accounts_chunk(
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
async fn import_impact_chunk(
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
async fn no_jit(tx: &mut Transaction<'_, Db>) -> Result<()> {
    if BACKEND == Backend::Postgres {
        sqlx::query("SET LOCAL jit = off")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The search index's automerge setting (SQLite), to put back after a bulk load.
async fn fts_automerge(tx: &mut Transaction<'_, Db>) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(v AS INTEGER) FROM accounts_fts_config WHERE k = 'automerge'",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

async fn set_fts_automerge(tx: &mut Transaction<'_, Db>, value: i64) -> Result<()> {
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
                && counts.rows as usize > FTS_BULK_ACCOUNTS
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
            if (counts.inserted + counts.updated) as usize > FTS_BULK_ACCOUNTS {
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

    /// Imports snapshots with their items in one transaction, chunk by chunk. A snapshot
    /// already imported with the same content is unchanged; a manifest-only one (the demo's)
    /// is completed by its items; any other difference refuses the whole file.
    pub async fn import_backups(
        &self,
        actor: &Actor,
        mut rows: ImportRows<'_, NewBackup>,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<ImportCounts> {
        let mut tx = self.begin_write().await?;
        no_jit(&mut tx).await?;
        let mut counts = ImportCounts::default();
        let mut item_count = 0usize;
        let mut bad = 0i64;
        let mut corrupt = 0usize;
        let mut failure = None;
        while let Some(part) = rows.next().await {
            let part = part?;
            counts.rows += part.len() as i64;
            bad += part
                .iter()
                .flat_map(|b| b.categories.iter().map(|c| c.2))
                .sum::<i64>();
            corrupt += part.iter().filter(|b| b.verification == "corrupt").count();
            if failure.is_some() {
                continue;
            }
            for run in distinct_runs(&part, |b| b.id.as_str()) {
                match import_backups_chunk(&mut tx, run, source, now, &mut counts).await {
                    Ok(n) => item_count += n,
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if counts.inserted + counts.updated > 0 {
            append_audit(
                &mut tx,
                actor,
                now,
                &[AuditEntry::new(
                    "import.backups",
                    "ok",
                    format!(
                        "{source}: {} snapshots, {} new, {} completed, {item_count} items, {bad} bad items, {corrupt} corrupt snapshots",
                        counts.rows, counts.inserted, counts.updated,
                    ),
                )],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(counts)
    }
}

// ----- backups ----------------------------------------------------------------------------

/// `$1`: the chunk's account numbers, `$2`: its snapshot ids (JSON arrays of text). Two
/// aggregated columns: [[account_no, id]] and [[backup id, account_id, checksum, verification]].
const BACKUPS_EXISTING: &str = pick(
    "SELECT (SELECT json_group_array(json_array(a.account_no, a.id)) FROM json_each($1) AS k \
             JOIN accounts a ON a.account_no = k.value), \
            (SELECT json_group_array(json_array(b.id, b.account_id, b.checksum, b.verification)) FROM json_each($2) AS k \
             JOIN backups b ON b.id = k.value)",
    "SELECT (SELECT CAST(json_agg(json_build_array(a.account_no, a.id)) AS TEXT) \
             FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS k(value) JOIN accounts a ON a.account_no = k.value), \
            (SELECT CAST(json_agg(json_build_array(b.id, b.account_id, b.checksum, b.verification)) AS TEXT) \
             FROM jsonb_array_elements_text(CAST($2 AS jsonb)) AS k(value) JOIN backups b ON b.id = k.value)",
);

/// `$1`: [[id, account_id, taken_at, source, checksum, verification]], `$2`: now.
const INSERT_BACKUPS: &str = pick(
    "INSERT INTO backups (id, account_id, taken_at, source, checksum, verification, imported_at) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, $2 FROM jsonb_each(jsonb($1))",
    "INSERT INTO backups (id, account_id, taken_at, source, checksum, verification, imported_at) \
     SELECT value->>0, CAST(value->>1 AS BIGINT), CAST(value->>2 AS TIMESTAMPTZ), value->>3, value->>4, value->>5, $2 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

/// The same rows as `INSERT_BACKUPS`, for manifests completed by their items.
const COMPLETE_BACKUPS: &str = pick(
    "UPDATE backups SET taken_at = j.value->>2, source = j.value->>3, checksum = j.value->>4, \
            verification = j.value->>5, imported_at = $2 \
     FROM jsonb_each(jsonb($1)) AS j WHERE backups.id = j.value->>0",
    "UPDATE backups AS b SET taken_at = CAST(e.value->>2 AS TIMESTAMPTZ), source = e.value->>3, checksum = e.value->>4, \
            verification = e.value->>5, imported_at = $2 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) WHERE b.id = e.value->>0",
);

/// `$1`: the ids of the completed manifests (their counts make way for the items').
const CLEAR_MANIFESTS: &str = pick(
    "DELETE FROM backup_categories WHERE backup_id IN (SELECT value FROM jsonb_each(jsonb($1)))",
    "DELETE FROM backup_categories WHERE backup_id IN (SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))",
);

const INSERT_BACKUP_CATEGORIES: &str = pick(
    "INSERT INTO backup_categories (backup_id, category, item_count, bad_items) \
     SELECT value->>0, value->>1, value->>2, value->>3 FROM jsonb_each(jsonb($1))",
    "INSERT INTO backup_categories (backup_id, category, item_count, bad_items) \
     SELECT value->>0, value->>1, CAST(value->>2 AS BIGINT), CAST(value->>3 AS BIGINT) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

const INSERT_BACKUP_ITEMS: &str = pick(
    "INSERT INTO backup_items (backup_id, category, uid, payload, content_hash, hash_ok) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(jsonb($1))",
    "INSERT INTO backup_items (backup_id, category, uid, payload, content_hash, hash_ok) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, CAST(value->>5 AS BOOLEAN) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

/// One chunk of a backups import: returns how many items it wrote. As with accounts, the rows
/// before a bad one are written and the bad one's error returned.
async fn import_backups_chunk(
    tx: &mut Transaction<'_, Db>,
    rows: &[NewBackup],
    source: &str,
    now: DateTime<Utc>,
    counts: &mut ImportCounts,
) -> Result<usize> {
    let mut nos: Vec<&str> = rows.iter().map(|b| b.account_no.as_str()).collect();
    nos.sort_unstable();
    nos.dedup();
    let ids: Vec<&str> = rows.iter().map(|b| b.id.as_str()).collect();
    let (accounts, backups): (Option<String>, Option<String>) = sqlx::query_as(BACKUPS_EXISTING)
        .bind(to_json(&nos)?)
        .bind(to_json(&ids)?)
        .fetch_one(&mut **tx)
        .await?;
    let accounts: HashMap<String, i64> = parse_agg::<(String, i64)>(accounts, "accounts")?
        .into_iter()
        .collect();
    let backups: HashMap<String, (i64, String, String)> =
        parse_agg::<(String, i64, String, String)>(backups, "backups")?
            .into_iter()
            .map(|(id, owner, checksum, verification)| (id, (owner, checksum, verification)))
            .collect();
    type BackupJson<'a> = (&'a str, i64, String, &'a str, &'a str, &'a str);
    let mut inserts: Vec<BackupJson<'_>> = Vec::new();
    let mut completions: Vec<BackupJson<'_>> = Vec::new();
    let mut categories: Vec<(&str, &str, i64, i64)> = Vec::new();
    let mut items: Vec<(&str, &str, &str, &str, &str, bool)> = Vec::new();
    let mut touched: Vec<i64> = Vec::new();
    let mut failure = None;
    for b in rows {
        let Some(&account_id) = accounts.get(&b.account_no) else {
            failure = Some(Error::invalid(format!(
                "{source} line {}: there is no account {}; nothing was imported",
                b.line, b.account_no
            )));
            break;
        };
        let row = (
            b.id.as_str(),
            account_id,
            ts(b.taken_at),
            b.source.as_str(),
            b.checksum.as_str(),
            b.verification.as_str(),
        );
        match backups.get(&b.id) {
            None => {
                inserts.push(row);
                counts.inserted += 1;
            }
            Some((owner, checksum, verification)) => {
                if *owner != account_id {
                    failure = Some(Error::invalid(format!(
                        "{source} line {}: the backup {} belongs to another account; nothing was imported",
                        b.line, b.id
                    )));
                    break;
                }
                if *checksum == b.checksum && *verification == b.verification {
                    counts.unchanged += 1;
                    continue;
                }
                if verification != "manifest" || b.verification == "manifest" {
                    failure = Some(Error::invalid(format!(
                        "{source} line {}: the backup {} was imported before with other content, and a snapshot never changes \
                         (give it a new id); nothing was imported",
                        b.line, b.id
                    )));
                    break;
                }
                // The items of a snapshot known until now by its manifest.
                completions.push(row);
                counts.updated += 1;
            }
        }
        for (c, n, bad) in &b.categories {
            categories.push((b.id.as_str(), c.as_str(), *n, *bad));
        }
        for i in &b.items {
            items.push((
                b.id.as_str(),
                i.category.as_str(),
                i.uid.as_str(),
                i.payload.as_str(),
                i.content_hash.as_str(),
                i.hash_ok,
            ));
        }
        touched.push(account_id);
    }
    write_rows(tx, INSERT_BACKUPS, &inserts, Some(now)).await?;
    if !completions.is_empty() {
        let ids: Vec<&str> = completions.iter().map(|c| c.0).collect();
        sqlx::query(CLEAR_MANIFESTS)
            .bind(to_json(&ids)?)
            .execute(&mut **tx)
            .await?;
        write_rows(tx, COMPLETE_BACKUPS, &completions, Some(now)).await?;
    }
    if !categories.is_empty() {
        sqlx::query(INSERT_BACKUP_CATEGORIES)
            .bind(to_json(&categories)?)
            .execute(&mut **tx)
            .await?;
    }
    for part in items.chunks(IMPORT_ITEMS_PER_STATEMENT) {
        sqlx::query(INSERT_BACKUP_ITEMS)
            .bind(to_json(part)?)
            .execute(&mut **tx)
            .await?;
    }
    touched.sort_unstable();
    touched.dedup();
    refresh_statuses(tx, &touched, now).await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(items.len()),
    }
}
