//! Derived statuses refreshed in bulk from the impact facts and backups.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Transaction;

use super::*;
use crate::domain::{self, Category, CategoryFacts, CategoryStatus, DeviceState};
use crate::error::{Error, Result};

// ----- statuses ---------------------------------------------------------------------------

/// One impact row of an account with what its status is derived from: (account_no, account
/// id, loss_rank, covered categories (comma-separated), incident, category, server_lost,
/// device_state, items_before, permanent_loss, recovered_items, status). The incident is
/// empty and the other impact fields null for an account without impact rows. Text borrows
/// from the query's JSON; the names are read straight into their types.
#[derive(serde::Deserialize)]
pub(super) struct FactsRow<'a>(
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
pub(super) const FACTS_BY_NO: &str = pick(
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
pub(super) const FACTS_BY_ID: &str = pick(
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
pub(super) const INSERT_IMPACT: &str = pick(
    "INSERT INTO impact (account_id, incident_id, category, server_lost, device_state, items_before, status, updated_at) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, $2 FROM jsonb_each(jsonb($1))",
    "INSERT INTO impact (account_id, incident_id, category, server_lost, device_state, items_before, status, updated_at) \
     SELECT CAST(value->>0 AS BIGINT), value->>1, value->>2, CAST(value->>3 AS BOOLEAN), value->>4, CAST(value->>5 AS BIGINT), \
            value->>6, $2 FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

/// The same rows as `INSERT_IMPACT`, for impact rows that exist.
pub(super) const UPDATE_IMPACT: &str = pick(
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
pub(super) const UPDATE_STATUS: &str = pick(
    "UPDATE impact SET status = j.value->>3, updated_at = $2 FROM jsonb_each(jsonb($1)) AS j \
     WHERE impact.account_id = j.value->>0 AND impact.incident_id = j.value->>1 AND impact.category = j.value->>2",
    "UPDATE impact AS i SET status = e.value->>3, updated_at = $2 FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE i.account_id = CAST(e.value->>0 AS BIGINT) AND i.incident_id = e.value->>1 AND i.category = e.value->>2",
);

/// `$1`: [[account_id, loss_rank]].
pub(super) const UPDATE_RANK: &str = pick(
    "UPDATE accounts SET loss_rank = j.value->>1 FROM jsonb_each(jsonb($1)) AS j \
     WHERE accounts.id = j.value->>0",
    "UPDATE accounts AS a SET loss_rank = CAST(e.value->>1 AS BIGINT) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
     WHERE a.id = CAST(e.value->>0 AS BIGINT)",
);

/// Where an impact row stands against the database in this chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowState {
    Stored,
    New,
    Changed,
}

#[derive(Debug)]
pub(super) struct Fact<'a> {
    pub(super) incident: Cow<'a, str>,
    pub(super) category: Category,
    pub(super) server_lost: bool,
    pub(super) device_state: DeviceState,
    pub(super) items_before: i64,
    pub(super) permanent_loss: bool,
    pub(super) recovered_items: Option<i64>,
    /// As stored (empty for a new row).
    pub(super) status: Cow<'a, str>,
    pub(super) state: RowState,
}

/// An account's impact rows and what its statuses are derived from.
#[derive(Debug)]
pub(super) struct AccountFacts<'a> {
    pub(super) id: i64,
    pub(super) loss_rank: i64,
    pub(super) covered: Cow<'a, str>,
    pub(super) rows: Vec<Fact<'a>>,
    pub(super) touched: bool,
}

impl AccountFacts<'_> {
    pub(super) fn covers(&self, category: Category) -> bool {
        self.covered.split(',').any(|c| c == category.as_str())
    }
}

/// Reads the facts of many accounts in one query, as one JSON text.
pub(super) async fn fetch_facts(
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
pub(super) fn parse_facts(json: Option<&str>) -> Result<HashMap<Cow<'_, str>, AccountFacts<'_>>> {
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
pub(super) struct StatusWrites<'a> {
    pub(super) inserts: Vec<(i64, &'a str, &'a str, bool, &'static str, i64, &'static str)>,
    pub(super) updates: Vec<(i64, &'a str, &'a str, bool, &'static str, i64, &'static str)>,
    pub(super) statuses: Vec<(i64, &'a str, &'a str, &'static str)>,
    pub(super) ranks: Vec<(i64, i64)>,
}

impl<'a> StatusWrites<'a> {
    /// Derives every status of the account and collects what differs from what is stored:
    /// new and changed rows with their status, stale statuses, the account's rank.
    pub(super) fn derive(&mut self, acc: &'a AccountFacts<'a>) {
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

    pub(super) async fn write(
        &self,
        tx: &mut Transaction<'_, Db>,
        now: DateTime<Utc>,
    ) -> Result<()> {
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
