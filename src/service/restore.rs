//! Restores on a call: preview, apply (merge, keep-both, replace), undo, device re-syncs, and
//! loading snapshots. Roles are checked here before anything is read; the planning rules live
//! in `domain::restore` and the transaction in the store.

use super::Service;
use crate::domain::restore::Mode;
use crate::domain::{Actor, RestoreRecord, RestoreReport, ResyncReport, UndoReport};
use crate::domain::{Category, Permission};
use crate::error::{Error, Result};
use crate::store::ImportRows;
use crate::store::{ImportCounts, NewBackup};
use crate::with_store;

/// Most items a re-sync can report for one category (a phone holds a few thousand).
const MAX_RESYNC_ITEMS: i64 = 1_000_000;

impl Service {
    /// What restoring `categories` (all the backup holds when empty) from `backup_id` in
    /// `mode` would do, writing nothing.
    pub async fn restore_preview(
        &self,
        actor: &Actor,
        account: &str,
        backup_id: &str,
        categories: &[Category],
        mode: Mode,
    ) -> Result<RestoreReport> {
        Self::require(actor, Permission::ViewAccount)?;
        let backup_id = backup_arg(backup_id)?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.restore_preview(a.id, backup_id, categories, mode).await)
    }

    /// Restores, in one transaction with the archive undo needs. `replace` is a supervisor's.
    pub async fn restore_apply(
        &self,
        actor: &Actor,
        account: &str,
        backup_id: &str,
        categories: &[Category],
        mode: Mode,
    ) -> Result<RestoreReport> {
        Self::require(actor, mode.permission())?;
        let backup_id = backup_arg(backup_id)?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.restore_apply(actor, a.id, backup_id, categories, mode, self.now()).await)
    }

    /// Undoes a restore (supervisor), unless the customer's data changed since.
    pub async fn restore_undo(&self, actor: &Actor, restore_id: i64) -> Result<UndoReport> {
        Self::require(actor, Permission::UndoRestore)?;
        with_store!(&self.store, s => s.restore_undo(actor, restore_id, self.now()).await)
    }

    pub async fn restore_record(&self, actor: &Actor, restore_id: i64) -> Result<RestoreRecord> {
        Self::require(actor, Permission::Read)?;
        with_store!(&self.store, s => s.restore_by_id(restore_id).await)?
            .ok_or_else(|| Error::invalid(format!("there is no restore #{restore_id}")))
    }

    /// An account's restores, newest first.
    pub async fn restores(&self, actor: &Actor, account: &str) -> Result<Vec<RestoreRecord>> {
        Self::require(actor, Permission::Read)?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.restores_of(a.id).await)
    }

    /// Records that the customer's device re-synced its copy of a category: `items` of it,
    /// by default as many as the server held before the incident.
    pub async fn record_resync(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        category: Category,
        items: Option<i64>,
    ) -> Result<ResyncReport> {
        Self::require(actor, Permission::RecordResync)?;
        if let Some(n) = items
            && !(0..=MAX_RESYNC_ITEMS).contains(&n)
        {
            return Err(Error::invalid(format!(
                "--items {n} is not a number of items (0 to {MAX_RESYNC_ITEMS})"
            )));
        }
        let inc = self.incident(incident).await?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.record_resync(actor, a.id, &inc.id, category, items, self.now()).await)
    }

    pub async fn import_backups(
        &self,
        actor: &Actor,
        rows: &[NewBackup],
        source: &str,
    ) -> Result<ImportCounts> {
        Self::require(actor, Permission::Import)?;
        let rows = ImportRows::Slice {
            rows,
            chunk: self.import_chunk(),
        };
        with_store!(&self.store, s => s.import_backups(actor, rows, source, self.now()).await)
    }

    /// `caredesk import backups`, reading and writing at once as `import_accounts_file` does.
    pub async fn import_backups_file(
        &self,
        actor: &Actor,
        source: &str,
        data: Vec<u8>,
    ) -> Result<ImportCounts> {
        let (src, chunk) = (source.to_string(), self.import_chunk());
        let rx = super::spawn_parser(move |emit| {
            crate::import::parse_backups_chunks(&src, &data, chunk, emit)
        });
        if let Err(refused) = Self::require(actor, Permission::Import) {
            return Err(super::file_problems(rx).await.unwrap_or(refused));
        }
        with_store!(&self.store, s => s.import_backups(actor, ImportRows::parsed(rx), source, self.now()).await)
    }
}

fn backup_arg(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::invalid("--backup names no backup"));
    }
    Ok(id)
}
