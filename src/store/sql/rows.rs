//! Row mapping, written once per type: database rows (or their JSON aggregates) into the domain's model.

use std::str::FromStr;

use sqlx::Row;

use super::*;
use crate::domain::{Category, CategoryStatus, Role};
use crate::error::{Error, Result};

pub(super) fn summary(row: &DbRow) -> Result<AccountSummary> {
    let rank: i64 = row.try_get("loss_rank")?;
    Ok(AccountSummary {
        id: row.try_get("id")?,
        account_no: row.try_get("account_no")?,
        msisdn: row.try_get("msisdn")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        account_status: col(row, "status")?,
        status: CategoryStatus::from_rank(rank).unwrap_or(CategoryStatus::NotAffected),
    })
}

/// Account summaries aggregated by the database into one JSON array of
/// [id, account_no, msisdn, name, email, status, loss_rank].
pub(super) fn summaries_from_json(json: Option<&str>) -> Result<Vec<AccountSummary>> {
    let rows: Vec<(i64, String, String, String, String, String, i64)> = match json {
        None | Some("") => Vec::new(),
        Some(j) => serde_json::from_str(j)
            .map_err(|e| Error::System(format!("unreadable search results: {e}")))?,
    };
    rows.into_iter()
        .map(|(id, account_no, msisdn, name, email, status, rank)| {
            Ok(AccountSummary {
                id,
                account_no,
                msisdn,
                name,
                email,
                account_status: status.parse().map_err(|_| {
                    Error::System(format!("the database holds an unknown status \"{status}\""))
                })?,
                status: CategoryStatus::from_rank(rank).unwrap_or(CategoryStatus::NotAffected),
            })
        })
        .collect()
}

pub(super) fn incident(row: &DbRow) -> Result<Incident> {
    let cats: String = row.try_get("categories")?;
    Ok(Incident {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        snapshot_as_of: row.try_get("snapshot_as_of")?,
        categories: cats
            .split(',')
            .filter(|c| !c.is_empty())
            .map(Category::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::System(format!("the incident's categories are unreadable: {e}")))?,
        advisory: row.try_get("advisory")?,
        credit_months: row.try_get("credit_months")?,
        appreciation_cents: row.try_get("appreciation_cents")?,
        currency: row.try_get("currency")?,
    })
}

pub(super) fn credit(row: &DbRow) -> Result<Credit> {
    Ok(Credit {
        id: row.try_get("id")?,
        account_no: row.try_get("account_no")?,
        incident: row.try_get("incident_id")?,
        kind: col(row, "kind")?,
        amount_cents: row.try_get("amount_cents")?,
        currency: row.try_get("currency")?,
        agent: row.try_get("agent")?,
        approver: row.try_get("approver")?,
        reason: row.try_get("reason")?,
        batch_run_id: row.try_get("batch_run_id")?,
        reverses: row.try_get("reverses")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn audit_record(row: &DbRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        agent: row.try_get("agent")?,
        role: row.try_get("role")?,
        action: row.try_get("action")?,
        account_no: row.try_get("account_no")?,
        object_id: row.try_get("object_id")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

pub(super) fn agent_row(row: &DbRow) -> Result<Agent> {
    Ok(Agent {
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        role: col::<Role>(row, "role")?,
        active: row.try_get("active")?,
        created_at: row.try_get("created_at")?,
        changed_by: row.try_get("changed_by")?,
        changed_at: row.try_get("changed_at")?,
    })
}

pub(super) fn request_row(r: &DbRow) -> Result<CreditRequest> {
    let decided_at: Option<chrono::DateTime<chrono::Utc>> = r.try_get("decided_at")?;
    let credit_id: Option<i64> = r.try_get("credit_id")?;
    Ok(CreditRequest {
        id: r.try_get("id")?,
        incident: r.try_get("incident_id")?,
        kind: col(r, "kind")?,
        amount_cents: r.try_get("amount_cents")?,
        reason: r.try_get("reason")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        decided_by: r.try_get("decided_by")?,
        credit_id,
        status: RequestStatus::of(decided_at, credit_id),
        decided_at,
        rejection_reason: r.try_get("rejection_reason")?,
    })
}

/// A request as the approvals queue lists it (`request_row`'s columns, and the account's
/// number and name and the incident's currency).
pub(super) fn request_view(r: &DbRow) -> Result<RequestView> {
    Ok(RequestView {
        request: request_row(r)?,
        account_id: r.try_get("account_id")?,
        account_no: r.try_get("account_no")?,
        customer: r.try_get("name")?,
        currency: r.try_get("currency")?,
    })
}
