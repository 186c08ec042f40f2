//! Import of backup snapshots and their items, chunk by chunk.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Transaction;

use super::*;
use crate::error::{Error, Result};

// ----- backups ----------------------------------------------------------------------------

/// `$1`: the chunk's account numbers, `$2`: its snapshot ids (JSON arrays of text). Two
/// aggregated columns: [[account_no, id]] and [[backup id, account_id, checksum, verification]].
pub(super) const BACKUPS_EXISTING: &str = pick(
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
pub(super) const INSERT_BACKUPS: &str = pick(
    "INSERT INTO backups (id, account_id, taken_at, source, checksum, verification, imported_at) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, $2 FROM jsonb_each(jsonb($1))",
    "INSERT INTO backups (id, account_id, taken_at, source, checksum, verification, imported_at) \
     SELECT value->>0, CAST(value->>1 AS BIGINT), CAST(value->>2 AS TIMESTAMPTZ), value->>3, value->>4, value->>5, $2 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

/// The same rows as `INSERT_BACKUPS`, for manifests completed by their items.
pub(super) const COMPLETE_BACKUPS: &str = pick(
    "UPDATE backups SET taken_at = j.value->>2, source = j.value->>3, checksum = j.value->>4, \
            verification = j.value->>5, imported_at = $2 \
     FROM jsonb_each(jsonb($1)) AS j WHERE backups.id = j.value->>0",
    "UPDATE backups AS b SET taken_at = CAST(e.value->>2 AS TIMESTAMPTZ), source = e.value->>3, checksum = e.value->>4, \
            verification = e.value->>5, imported_at = $2 \
     FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) WHERE b.id = e.value->>0",
);

/// `$1`: the ids of the completed manifests (their counts make way for the items').
pub(super) const CLEAR_MANIFESTS: &str = pick(
    "DELETE FROM backup_categories WHERE backup_id IN (SELECT value FROM jsonb_each(jsonb($1)))",
    "DELETE FROM backup_categories WHERE backup_id IN (SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))",
);

pub(super) const INSERT_BACKUP_CATEGORIES: &str = pick(
    "INSERT INTO backup_categories (backup_id, category, item_count, bad_items) \
     SELECT value->>0, value->>1, value->>2, value->>3 FROM jsonb_each(jsonb($1))",
    "INSERT INTO backup_categories (backup_id, category, item_count, bad_items) \
     SELECT value->>0, value->>1, CAST(value->>2 AS BIGINT), CAST(value->>3 AS BIGINT) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

pub(super) const INSERT_BACKUP_ITEMS: &str = pick(
    "INSERT INTO backup_items (backup_id, category, uid, payload, content_hash, hash_ok) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(jsonb($1))",
    "INSERT INTO backup_items (backup_id, category, uid, payload, content_hash, hash_ok) \
     SELECT value->>0, value->>1, value->>2, value->>3, value->>4, CAST(value->>5 AS BOOLEAN) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
);

/// One chunk of a backups import: returns how many items it wrote. As with accounts, the rows
/// before a bad one are written and the bad one's error returned.
pub(super) async fn import_backups_chunk(
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

impl SqlStore {
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
