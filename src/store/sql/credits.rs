//! Credits on a call: the incident credit, appreciation requests and their approval or
//! rejection (and the queue of them), goodwill, reversals, the billing export.

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::credit::{
    ApprovalDecision, RejectionDecision, RequestDecision, ReversalDecision,
};
use crate::domain::{self, CreditRefusal};
use crate::error::{Error, Result};

pub(super) async fn credit_by_key(
    tx: &mut Transaction<'_, Db>,
    key: &str,
) -> Result<Option<Credit>> {
    let row = sqlx::query(credit_select!("WHERE c.request_key = $1"))
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(credit).transpose()
}

pub(super) async fn credit_in_tx(tx: &mut Transaction<'_, Db>, id: i64) -> Result<Credit> {
    let row = sqlx::query(credit_select!("WHERE c.id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    credit(&row)
}

/// A request, its account's number and id, read in the transaction that decides it.
async fn request_in_tx(
    tx: &mut Transaction<'_, Db>,
    request_id: i64,
) -> Result<(CreditRequest, String, i64)> {
    let Some(r) = sqlx::query("SELECT r.*, a.account_no FROM credit_requests r JOIN accounts a ON a.id = r.account_id WHERE r.id = $1")
        .bind(request_id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Err(Error::invalid(format!("there is no credit request #{request_id}")));
    };
    Ok((
        request_row(&r)?,
        r.try_get("account_no")?,
        r.try_get("account_id")?,
    ))
}

impl SqlStore {
    pub async fn credit_by_id(&self, id: i64) -> Result<Option<Credit>> {
        let row = sqlx::query(credit_select!("WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(credit).transpose()
    }

    /// The standard incident credit for one account, by an agent on a call.
    pub async fn apply_incident_credit(
        &self,
        actor: &Actor,
        account_id: i64,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let planned = classify_in(&mut *tx, &[account_id], inc).await?;
        let Some(o) = planned.first() else {
            return Err(Error::invalid("the account does not exist"));
        };
        match &o.outcome {
            Outcome::AlreadyCredited => {
                // A replay writes nothing, and still answers only an agent who may act.
                recheck_actor(&mut tx, actor).await?;
                let id = o
                    .credit_id
                    .ok_or_else(|| Error::System("credit without id".to_string()))?;
                return Ok(CreditOutcome::AlreadyCredited(
                    credit_in_tx(&mut tx, id).await?,
                ));
            }
            Outcome::Ineligible(_) | Outcome::Failed(_) => {
                return Err(o.refusal().map_or_else(
                    || Error::System("an eligible account was refused".to_string()),
                    Error::from,
                ));
            }
            Outcome::Credited => {}
        }
        let inserted = insert_incident_credits(
            &mut tx,
            &[o],
            inc,
            &actor.login,
            "incident credit",
            None,
            now,
        )
        .await?;
        let key = incident_key(&o.account_no, &inc.id);
        if inserted == 0 {
            // Another agent or a batch run credited the account in between; the next
            // statement of this transaction sees its committed row.
            recheck_actor(&mut tx, actor).await?;
            let c = credit_by_key(&mut tx, &key).await?.ok_or_else(|| {
                Error::System("the credit that blocked this one has vanished".to_string())
            })?;
            return Ok(CreditOutcome::AlreadyCredited(c));
        }
        let written = credit_by_key(&mut tx, &key)
            .await?
            .ok_or_else(|| Error::System("the new credit cannot be read back".to_string()))?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.incident",
                "ok",
                format!("{} cents", written.amount_cents),
            )
            .account(&o.account_no)
            .object(written.id)],
        )
        .await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(written))
    }

    /// An agent asks for the appreciation credit of an account with a category in
    /// permanent-loss; a supervisor other than the requester approves it.
    pub async fn request_appreciation(
        &self,
        actor: &Actor,
        account_id: i64,
        inc: &Incident,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestOutcome> {
        let mut tx = self.begin_write().await?;
        let account_no = account_no_of(&mut tx, account_id).await?;
        let existing = sqlx::query("SELECT * FROM credit_requests WHERE account_id = $1 AND incident_id = $2 AND kind = 'appreciation'")
            .bind(account_id)
            .bind(&inc.id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(request_row)
            .transpose()?;
        let lost: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM impact WHERE account_id = $1 AND incident_id = $2 AND status = 'permanent-loss')",
        )
        .bind(account_id)
        .bind(&inc.id)
        .fetch_one(&mut *tx)
        .await?;
        let amount = match domain::credit::rules::request_appreciation(
            &account_no,
            existing.as_ref(),
            Some(reason),
            lost,
            inc.appreciation_cents,
        )? {
            RequestDecision::Replay(r) => {
                recheck_actor(&mut tx, actor).await?;
                return Ok(RequestOutcome::AlreadyRequested(r.clone()));
            }
            RequestDecision::Request { amount_cents } => amount_cents,
        };
        let row = sqlx::query(
            "INSERT INTO credit_requests (account_id, incident_id, kind, amount_cents, reason, requested_by, requested_at) \
             VALUES ($1, $2, 'appreciation', $3, $4, $5, $6) RETURNING *",
        )
        .bind(account_id)
        .bind(&inc.id)
        .bind(amount)
        .bind(reason)
        .bind(&actor.login)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let req = request_row(&row)?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.request",
                "ok",
                format!("appreciation {amount} cents"),
            )
            .account(&account_no)
            .object(format!("request {}", req.id))],
        )
        .await?;
        tx.commit().await?;
        Ok(RequestOutcome::Requested(req))
    }

    /// A supervisor other than the requester approves a pending request: the credit and the
    /// request's decision in one transaction with its audit record.
    pub async fn approve_request(
        &self,
        actor: &Actor,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let (req, account_no, account_id) = request_in_tx(&mut tx, request_id).await?;
        match domain::credit::rules::approve_request(&req, &actor.login)? {
            ApprovalDecision::AlreadyApproved { credit_id } => {
                recheck_actor(&mut tx, actor).await?;
                return Ok(CreditOutcome::AlreadyCredited(
                    credit_in_tx(&mut tx, credit_id).await?,
                ));
            }
            ApprovalDecision::Approve => {}
        }
        let key = format!("{}:{account_no}:{}", req.kind, req.incident);
        let currency: String = sqlx::query_scalar("SELECT currency FROM incidents WHERE id = $1")
            .bind(&req.incident)
            .fetch_one(&mut *tx)
            .await?;
        let credit_id: Option<i64> = sqlx::query_scalar("INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, request_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id")
        .bind(account_id)
        .bind(&req.incident)
        .bind(req.kind.as_str())
        .bind(req.amount_cents)
        .bind(currency)
        .bind(&req.requested_by)
        .bind(&actor.login)
        .bind(&req.reason)
        .bind(&key)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let marked = match credit_id {
            Some(credit_id) => sqlx::query("UPDATE credit_requests SET decided_by = $1, decided_at = $2, credit_id = $3 WHERE id = $4 AND decided_at IS NULL")
                .bind(&actor.login)
                .bind(now)
                .bind(credit_id)
                .bind(request_id)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            None => 0,
        };
        let Some(credit_id) = credit_id.filter(|_| marked == 1) else {
            // Another supervisor decided the request (or credited the account) between the
            // read and these writes (PostgreSQL; SQLite's write transaction excludes it): the
            // rule decides again on what they committed, and this transaction, with any credit
            // it wrote, is dropped.
            let (now_req, _, _) = request_in_tx(&mut tx, request_id).await?;
            return match domain::credit::rules::approve_request(&now_req, &actor.login)? {
                ApprovalDecision::AlreadyApproved { credit_id } => {
                    recheck_actor(&mut tx, actor).await?;
                    Ok(CreditOutcome::AlreadyCredited(
                        credit_in_tx(&mut tx, credit_id).await?,
                    ))
                }
                ApprovalDecision::Approve => Err(CreditRefusal::AlreadyHolds {
                    account_no,
                    kind: req.kind,
                    incident: req.incident,
                }
                .into()),
            };
        };
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.approve",
                "ok",
                format!("request {request_id}, {} cents", req.amount_cents),
            )
            .account(&account_no)
            .object(credit_id)],
        )
        .await?;
        let c = credit_in_tx(&mut tx, credit_id).await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(c))
    }

    /// A supervisor other than the requester rejects a pending request with a reason, which
    /// the requester reads on the account. The audit record keeps the reason's length only:
    /// typed by an agent, it may name the customer.
    pub async fn reject_request(
        &self,
        actor: &Actor,
        request_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<RejectOutcome> {
        let mut tx = self.begin_write().await?;
        let (req, account_no, _) = request_in_tx(&mut tx, request_id).await?;
        match domain::credit::rules::reject_request(&req, &actor.login, Some(reason))? {
            RejectionDecision::AlreadyRejected => {
                recheck_actor(&mut tx, actor).await?;
                return Ok(RejectOutcome::AlreadyRejected(req));
            }
            RejectionDecision::Reject => {}
        }
        let marked = sqlx::query("UPDATE credit_requests SET decided_by = $1, decided_at = $2, rejection_reason = $3 WHERE id = $4 AND decided_at IS NULL")
            .bind(&actor.login)
            .bind(now)
            .bind(reason)
            .bind(request_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if marked == 0 {
            // Decided by another supervisor since it was read: the rule decides again on what
            // they committed (the same rejection is a replay; anything else a refusal).
            let (now_req, _, _) = request_in_tx(&mut tx, request_id).await?;
            return match domain::credit::rules::reject_request(
                &now_req,
                &actor.login,
                Some(reason),
            )? {
                RejectionDecision::AlreadyRejected => {
                    recheck_actor(&mut tx, actor).await?;
                    Ok(RejectOutcome::AlreadyRejected(now_req))
                }
                RejectionDecision::Reject => Err(Error::System(format!(
                    "request #{request_id} is pending but could not be marked rejected"
                ))),
            };
        }
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.reject",
                "ok",
                format!(
                    "{} request {request_id}, {} cents; {} characters of reason",
                    req.kind,
                    req.amount_cents,
                    reason.chars().count()
                ),
            )
            .account(&account_no)
            .object(format!("request {request_id}"))],
        )
        .await?;
        let (rejected, _, _) = request_in_tx(&mut tx, request_id).await?;
        tx.commit().await?;
        Ok(RejectOutcome::Rejected(rejected))
    }

    /// The requests of every account in `status` (all when `None`), oldest first, at most
    /// `limit`.
    pub async fn credit_requests(
        &self,
        status: Option<RequestStatus>,
        limit: i64,
    ) -> Result<Vec<RequestView>> {
        let sql = match status {
            Some(RequestStatus::Pending) => SQL_REQUESTS_PENDING,
            Some(RequestStatus::Approved) => request_select!(
                "WHERE r.credit_id IS NOT NULL ORDER BY r.requested_at, r.id LIMIT $1"
            ),
            Some(RequestStatus::Rejected) => request_select!(
                "WHERE r.decided_at IS NOT NULL AND r.credit_id IS NULL ORDER BY r.requested_at, r.id LIMIT $1"
            ),
            None => request_select!("ORDER BY r.requested_at, r.id LIMIT $1"),
        };
        sqlx::query(sql)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(request_view)
            .collect()
    }

    /// A goodwill credit; `key` names the request so that a replay finds it.
    #[allow(clippy::too_many_arguments)]
    pub async fn goodwill(
        &self,
        actor: &Actor,
        account_id: i64,
        inc: &Incident,
        amount: i64,
        reason: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let account_no = account_no_of(&mut tx, account_id).await?;
        let request_key = format!("goodwill:{account_no}:{}:{key}", inc.id);
        if let Some(c) = credit_by_key(&mut tx, &request_key).await? {
            domain::credit::rules::goodwill_replay(key, &c, amount, reason)?;
            recheck_actor(&mut tx, actor).await?;
            return Ok(CreditOutcome::AlreadyCredited(c));
        }
        let credit_id: i64 = sqlx::query_scalar(
            "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, request_key, created_at) \
             VALUES ($1, $2, 'goodwill', $3, $4, $5, $5, $6, $7, $8) RETURNING id",
        )
        .bind(account_id)
        .bind(&inc.id)
        .bind(amount)
        .bind(&inc.currency)
        .bind(&actor.login)
        .bind(reason)
        .bind(&request_key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[
                AuditEntry::new("credit.goodwill", "ok", format!("{amount} cents"))
                    .account(&account_no)
                    .object(credit_id),
            ],
        )
        .await?;
        let c = credit_in_tx(&mut tx, credit_id).await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(c))
    }

    /// A reversal: a new, negative ledger row referring to the credit it undoes.
    pub async fn reverse_credit(
        &self,
        actor: &Actor,
        credit_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<CreditOutcome> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(credit_select!("WHERE c.id = $1"))
            .bind(credit_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(Error::invalid(format!("there is no credit #{credit_id}")));
        };
        let original = credit(&row)?;
        let account_id: i64 = row.try_get("account_id")?;
        let key = format!("reversal:{credit_id}");
        let existing = credit_by_key(&mut tx, &key).await?;
        let amount = match domain::credit::rules::reverse(&original, existing.as_ref(), reason)? {
            ReversalDecision::Replay(c) => {
                recheck_actor(&mut tx, actor).await?;
                return Ok(CreditOutcome::AlreadyCredited(c.clone()));
            }
            ReversalDecision::Reverse { amount_cents } => amount_cents,
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, reverses, request_key, created_at) \
             VALUES ($1, $2, 'reversal', $3, $4, $5, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(account_id)
        .bind(&original.incident)
        .bind(amount)
        .bind(&original.currency)
        .bind(&actor.login)
        .bind(reason)
        .bind(credit_id)
        .bind(&key)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "credit.reverse",
                "ok",
                format!("reverses {credit_id}, {amount} cents"),
            )
            .account(&original.account_no)
            .object(id)],
        )
        .await?;
        let c = credit_in_tx(&mut tx, id).await?;
        tx.commit().await?;
        Ok(CreditOutcome::Credited(c))
    }

    /// Every credit created at or after `since`, oldest first, handed to `each`.
    pub async fn export_credits(
        &self,
        since: Option<DateTime<Utc>>,
        mut each: impl FnMut(Credit) -> Result<()>,
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(credit_select!(
            "WHERE ($1 IS NULL OR c.created_at >= $1) ORDER BY c.id"
        ))
        .bind(since)
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            each(credit(&row)?)?;
        }
        Ok(())
    }

    pub async fn export_credits_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Credit>> {
        let rows = sqlx::query(credit_select!(
            "WHERE ($1 IS NULL OR c.created_at >= $1) AND c.id > $2 ORDER BY c.id LIMIT $3"
        ))
        .bind(since)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(credit).collect()
    }
}
