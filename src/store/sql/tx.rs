//! What every write transaction shares: the audit chain's append and the refresh of derived statuses.

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::audit::Canonical;
use crate::error::{Error, Result};

/// One audit record as a JSON array, in the audit table's column order.
#[derive(serde::Serialize)]
pub(super) struct AuditRowJson<'a>(
    i64,
    String,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    &'a str,
    String,
    String,
);

/// Re-reads the acting agent's row inside `tx` and refuses (the caller's transaction is then
/// dropped, so nothing it wrote stays) when the agent was disabled or their role changed since
/// the action was decided under `actor.role` (`domain::recheck` decides; one primary-key read).
/// `append_audit` calls it for every write; a replay, which writes nothing, calls it before it
/// answers, so a disabled agent is not told about the original either.
pub(super) async fn recheck_actor(tx: &mut Transaction<'_, Db>, actor: &Actor) -> Result<()> {
    let current = super::agents::agent_state(tx, &actor.login, false).await?;
    crate::domain::recheck(actor, current.as_ref())?;
    Ok(())
}

/// Appends `entries` to the audit chain inside `tx`, after re-checking the acting agent: every
/// write and every audited view passes through here, so an agent disabled or demoted while
/// their screen is open can do nothing more from their next action on. Taking the head row
/// with an UPDATE locks it until the transaction ends, so concurrent writers on PostgreSQL
/// queue here and the chain never forks (on SQLite the write transaction already serialises
/// them). The agent is read after that lock: a supervisor's change of the agent appends its own
/// audit record, so it either committed before the lock was granted (and this read, a new
/// snapshot, sees it) or commits after this transaction ends.
pub(crate) async fn append_audit(
    tx: &mut Transaction<'_, Db>,
    actor: &Actor,
    now: DateTime<Utc>,
    entries: &[AuditEntry],
) -> Result<i64> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    recheck_actor(tx, actor).await?;
    let mut seq: i64 = head.try_get("seq")?;
    let mut hash: String = head.try_get("hash")?;
    let role = actor.role.as_str();
    // Many records (a batch chunk) go in as one JSON array, one statement.
    let mut rows: Vec<AuditRowJson<'_>> = Vec::with_capacity(entries.len());
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    for e in entries {
        seq += 1;
        let next = Canonical {
            seq,
            at: now,
            agent: &actor.login,
            role,
            action: &e.action,
            account_no: e.account_no.as_deref(),
            object_id: e.object_id.as_deref(),
            outcome: &e.outcome,
            detail: &e.detail,
            prev_hash: &hash,
        }
        .hash();
        let prev = std::mem::replace(&mut hash, next.clone());
        rows.push(AuditRowJson(
            seq,
            at.clone(),
            &actor.login,
            role,
            &e.action,
            e.account_no.as_deref(),
            e.object_id.as_deref(),
            &e.outcome,
            &e.detail,
            prev,
            next,
        ));
    }
    if rows.len() == 1 {
        let r = &rows[0];
        sqlx::query(
            "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(r.0)
        .bind(now)
        .bind(r.2)
        .bind(r.3)
        .bind(r.4)
        .bind(r.5)
        .bind(r.6)
        .bind(r.7)
        .bind(r.8)
        .bind(&r.9)
        .bind(&r.10)
        .execute(&mut **tx)
        .await?;
    } else if !rows.is_empty() {
        let json = serde_json::to_string(&rows)
            .map_err(|e| Error::System(format!("cannot encode audit records: {e}")))?;
        sqlx::query(pick(
            "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
             SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10 \
             FROM jsonb_each(jsonb($1))",
            "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
             SELECT CAST(value->>0 AS BIGINT), CAST(value->>1 AS TIMESTAMPTZ), value->>2, value->>3, value->>4, value->>5, value->>6, \
                    value->>7, value->>8, value->>9, value->>10 FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
        ))
        .bind(json)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    super::live::notify_change(tx, entries).await?;
    Ok(seq)
}

/// The account number of `account_id`, read in the transaction that is about to write for it
/// (for messages and the audit record).
pub(super) async fn account_no_of(tx: &mut Transaction<'_, Db>, account_id: i64) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT account_no FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Recomputes the derived statuses of one account's categories and the account's rank, from
/// the impact facts and the backups, inside the transaction that changed them.
pub(crate) async fn refresh_status(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    super::refresh_statuses(tx, &[account_id], now).await
}
