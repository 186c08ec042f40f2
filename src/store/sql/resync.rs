//! A device re-sync recorded for one category.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::*;
use crate::domain::{Category, CategoryStatus, DeviceState};
use crate::error::{Error, Result};

impl SqlStore {
    /// Records that the customer's device re-synced its copy of a category (`items` of it,
    /// by default the pre-incident count): the category's recovery, and the status it drives.
    pub async fn record_resync(
        &self,
        actor: &Actor,
        account_id: i64,
        incident: &str,
        cat: Category,
        items: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<ResyncReport> {
        let mut tx = self.begin_write().await?;
        let account_no = lock_account(&mut tx, account_id).await?;
        let Some(row) = sqlx::query(
            "SELECT server_lost, device_state, items_before, recovered_items, status FROM impact \
             WHERE account_id = $1 AND incident_id = $2 AND category = $3",
        )
        .bind(account_id)
        .bind(incident)
        .bind(cat.as_str())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(Error::invalid(format!(
                "account {account_no} has no {cat} recorded for {incident}"
            )));
        };
        if !row.try_get::<bool, _>("server_lost")? {
            return Err(Error::refused(format!(
                "account {account_no}'s {cat} were not lost by the server; there is nothing to re-sync"
            )));
        }
        let device: String = row.try_get("device_state")?;
        if device == DeviceState::Wiped.as_str() {
            return Err(Error::refused(format!(
                "account {account_no}'s device was wiped: it holds no {cat} to re-sync; restore them from a backup instead"
            )));
        }
        let items_before: i64 = row.try_get("items_before")?;
        let recovered: Option<i64> = row.try_get("recovered_items")?;
        let status: String = row.try_get("status")?;
        let status_before = CategoryStatus::from_str(&status)
            .map_err(|_| Error::System(format!("unknown status \"{status}\"")))?;
        let n = items.unwrap_or(items_before);
        let new = recovered.unwrap_or(0).max(n);
        let mut report = ResyncReport {
            account_no: account_no.clone(),
            category: cat,
            items: n,
            items_before,
            changed: recovered != Some(new),
            status_before,
            status: status_before,
        };
        if !report.changed {
            recheck_actor(&mut tx, actor).await?;
            tx.rollback().await?;
            return Ok(report);
        }
        sqlx::query("UPDATE impact SET recovered_items = $1, updated_at = $2 WHERE account_id = $3 AND incident_id = $4 AND category = $5")
            .bind(new)
            .bind(now)
            .bind(account_id)
            .bind(incident)
            .bind(cat.as_str())
            .execute(&mut *tx)
            .await?;
        refresh_status(&mut tx, account_id, now).await?;
        let status: String = sqlx::query_scalar(
            "SELECT status FROM impact WHERE account_id = $1 AND incident_id = $2 AND category = $3",
        )
        .bind(account_id)
        .bind(incident)
        .bind(cat.as_str())
        .fetch_one(&mut *tx)
        .await?;
        report.status = CategoryStatus::from_str(&status)
            .map_err(|_| Error::System(format!("unknown status \"{status}\"")))?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "device.resync",
                "ok",
                format!(
                    "{cat}: {n} of {items_before} items re-synced from the device; {} -> {}",
                    status_before, report.status
                ),
            )
            .account(&account_no)
            .object(cat.as_str())],
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}
