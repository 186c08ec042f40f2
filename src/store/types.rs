//! Plain data the store hands to the service layer and both faces; no I/O here.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{AccountStatus, Category, CategoryStatus, DeviceState};

/// What an audit record says, before the chain gives it a sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub action: String,
    pub account_no: Option<String>,
    pub object_id: Option<String>,
    pub outcome: String,
    /// Masked: account numbers and counts, never names, e-mails or full phone numbers.
    pub detail: String,
}

impl AuditEntry {
    pub fn new(action: &str, outcome: &str, detail: impl Into<String>) -> Self {
        Self {
            action: action.to_string(),
            account_no: None,
            object_id: None,
            outcome: outcome.to_string(),
            detail: detail.into(),
        }
    }
    pub fn account(mut self, account_no: &str) -> Self {
        self.account_no = Some(account_no.to_string());
        self
    }
    pub fn object(mut self, object_id: impl ToString) -> Self {
        self.object_id = Some(object_id.to_string());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub agent: String,
    pub role: String,
    pub action: String,
    pub account_no: Option<String>,
    pub object_id: Option<String>,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AuditVerification {
    pub records: i64,
    pub head_seq: i64,
    pub head_hash: String,
    /// The sequence number of the last record in the table (0 when it is empty): where the
    /// log ends, whatever the head says.
    pub last_seq: i64,
    /// The stored hash of record 1, which names the chain (and so the database) it began.
    pub first_hash: Option<String>,
    /// The stored hash of each record asked for by sequence number that exists.
    pub anchors: std::collections::BTreeMap<i64, String>,
    /// The first record that does not match, and why.
    pub first_bad: Option<(i64, String)>,
}

/// Rows per chunk of an import: one query reads what the database holds for them and one
/// statement per table writes them, all chunks in the import's one transaction.
pub const IMPORT_CHUNK: usize = 10_000;

/// What a parser hands an import: a chunk of rows, then `Ok(None)` once the whole file is
/// read and good, or `Err` when the file (or a check on its rows) refuses the import.
pub type ParsedChunk<T> = crate::error::Result<Option<Vec<T>>>;

/// An import's rows, chunk by chunk in file order: from a slice, or from a parser that hands
/// them on while it reads the rest of the file. An import stops at the parser's `Err` and
/// writes nothing; a parser that stops without saying the file ended (it crashed) is an
/// error too, never a shorter file.
pub enum ImportRows<'a, T: Clone> {
    Slice {
        rows: &'a [T],
        chunk: usize,
    },
    Parsed {
        rx: tokio::sync::mpsc::Receiver<ParsedChunk<T>>,
        ended: bool,
    },
}

impl<'a, T: Clone> ImportRows<'a, T> {
    pub fn parsed(rx: tokio::sync::mpsc::Receiver<ParsedChunk<T>>) -> Self {
        Self::Parsed { rx, ended: false }
    }

    /// The next chunk, `None` after the last.
    pub async fn next(&mut self) -> Option<crate::error::Result<std::borrow::Cow<'a, [T]>>> {
        match self {
            Self::Slice { rows, chunk } => {
                if rows.is_empty() {
                    return None;
                }
                let (head, tail) = rows.split_at((*chunk).clamp(1, rows.len()));
                *rows = tail;
                Some(Ok(std::borrow::Cow::Borrowed(head)))
            }
            Self::Parsed { ended: true, .. } => None,
            Self::Parsed { rx, ended } => match rx.recv().await {
                Some(Ok(Some(rows))) => Some(Ok(std::borrow::Cow::Owned(rows))),
                Some(Ok(None)) => {
                    *ended = true;
                    None
                }
                Some(Err(e)) => {
                    *ended = true;
                    Some(Err(e))
                }
                None => {
                    *ended = true;
                    Some(Err(crate::error::Error::System(
                        "the import file's reader stopped before the end of the file; nothing was imported"
                            .to_string(),
                    )))
                }
            },
        }
    }
}

/// Counts of an import, for the summary line and the audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ImportCounts {
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
}

/// Totals for the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IncidentTotals {
    pub accounts: i64,
    pub affected: i64,
    pub by_status: Vec<(CategoryStatus, i64)>,
    /// Incident credits in the ledger (reversed ones included).
    pub credited: i64,
    /// The ledger's net: every credit of the incident (incident, appreciation, goodwill) less
    /// the reversals.
    pub net_credited_cents: i64,
    /// The same two figures for each incident, oldest first.
    pub by_incident: Vec<IncidentCredits>,
    /// Advice and callbacks.
    #[serde(default)]
    pub contact: ContactTotals,
}

/// The first rows of a worklist's two first groups and its true size.
#[derive(Debug, Clone, Default)]
pub struct WorklistFacts {
    /// This agent's due callbacks (accounts of the status range), earliest first.
    pub due: Vec<(crate::domain::AccountSummary, DateTime<Utc>)>,
    /// At-risk accounts with an incident nobody has advised them of.
    pub not_advised: Vec<crate::domain::AccountSummary>,
    /// Accounts of the range plus due callbacks' accounts outside it.
    pub total: i64,
}

/// What recording advice came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AdviceOutcome {
    pub account_no: String,
    pub advice: crate::domain::Advice,
    /// False: the customer had been advised before (a replay that changed nothing).
    pub recorded: bool,
}

/// The dashboard's contact figures: at-risk accounts advised, by channel, and callbacks due.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ContactTotals {
    /// At-risk accounts advised (by any channel; an account counts once).
    pub advised: i64,
    pub advised_call: i64,
    pub advised_sms: i64,
    pub advised_email: i64,
    /// Pending callbacks due by the end of the day asked about.
    pub callbacks_due: i64,
}

/// One incident's credits on the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IncidentCredits {
    pub incident: String,
    pub currency: String,
    /// Incident credits against it (reversed ones included).
    pub credited: i64,
    /// Its credits of every kind less their reversals.
    pub net_credited_cents: i64,
}

/// An account to import (from a CSV file or the demo generator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub line: u64,
    pub account_no: String,
    pub msisdn: String,
    pub name: String,
    pub email: String,
    pub status: AccountStatus,
    pub device_model: String,
    pub plans: Vec<NewPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlan {
    pub plan_code: String,
    pub data_plan: bool,
    pub price_cents: i64,
    pub currency: String,
    /// None: from the start of the account's history for its first plan, else from the
    /// import's time.
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
}

/// One impact row to import: per account, incident and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImpact {
    pub line: u64,
    pub account_no: String,
    pub incident: String,
    pub category: Category,
    pub server_lost: bool,
    pub device_state: DeviceState,
    pub items_before: i64,
}

/// The accounts of one chunk of a batch run: ids in (from, to] of shard k of n, and when the
/// run covers a file, only the ids it lists (a JSON array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSpec {
    pub from: i64,
    pub to: i64,
    pub k: i64,
    pub n: i64,
    pub ids: Option<String>,
}

/// The demo's supervisor-facing summary.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DemoSummary {
    pub accounts: u64,
    pub plans: u64,
    pub impact_rows: u64,
    pub backups: u64,
    pub backup_items: u64,
    pub live_items: u64,
}

/// One chunk of demo rows, each table a JSON array of row arrays (built by `demo`, loaded
/// by the store).
#[derive(Debug, Default)]
pub struct DemoChunk {
    pub accounts: String,
    pub plans: String,
    pub impact: String,
    pub backups: String,
    pub backup_categories: String,
    pub backup_items: String,
    pub live_items: String,
    pub counts: DemoSummary,
}

/// What a login is checked against.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub login: String,
    pub role: crate::domain::Role,
    pub active: bool,
    /// The argon2id hash, when a password was ever set.
    pub password_hash: Option<String>,
    pub one_time: bool,
    pub failed_logins: i64,
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub login: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_parser_that_stops_without_saying_the_file_ended_is_an_error() {
        let (tx, rx) = tokio::sync::mpsc::channel::<ParsedChunk<u32>>(4);
        tx.send(Ok(Some(vec![1, 2]))).await.expect("send");
        drop(tx);
        let mut rows = ImportRows::parsed(rx);
        let first = rows.next().await.expect("a chunk").expect("rows");
        assert_eq!(&*first, &[1, 2]);
        let end = rows.next().await.expect("not a clean end");
        assert!(end.is_err(), "a crashed parser is never a shorter file");
        assert!(rows.next().await.is_none());

        let (tx, rx) = tokio::sync::mpsc::channel::<ParsedChunk<u32>>(4);
        tx.send(Ok(Some(vec![1]))).await.expect("send");
        tx.send(Ok(None)).await.expect("send");
        drop(tx);
        let mut rows = ImportRows::parsed(rx);
        assert!(rows.next().await.is_some_and(|r| r.is_ok()));
        assert!(rows.next().await.is_none(), "the end of a good file");
    }

    #[tokio::test]
    async fn a_slice_comes_in_chunks_of_the_size_asked() {
        let data = [1, 2, 3, 4, 5];
        let mut rows = ImportRows::Slice {
            rows: &data,
            chunk: 2,
        };
        let mut sizes = Vec::new();
        while let Some(chunk) = rows.next().await {
            sizes.push(chunk.expect("rows").len());
        }
        assert_eq!(sizes, [2, 2, 1]);
    }
}
