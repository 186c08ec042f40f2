//! Credits on a call: the incident credit, appreciation requests with their approval or
//! rejection and the queue of them, goodwill and reversals, and the billing export. Roles are checked here; the ledger's rules live in the
//! domain and the database's constraints.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::Service;
use crate::domain::{Actor, Credit, CreditOutcome, Incident, Outcome, RequestOutcome};
use crate::domain::{Cents, Permission, sanitize};
use crate::domain::{RejectOutcome, RequestStatus, RequestView};
use crate::error::{Error, Result};
use crate::with_store;

/// The goodwill cap when none is configured ($50.00).
pub const DEFAULT_GOODWILL_CAP_CENTS: i64 = 5_000;
const GOODWILL_CAP_KEY: &str = "goodwill_cap_cents";
/// Longest reason accepted for a credit, in characters.
const MAX_REASON_CHARS: usize = 500;

/// What `credit apply` did or, with `--dry-run`, would do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IncidentCredit {
    Applied(CreditOutcome),
    WouldCredit {
        account_no: String,
        incident: String,
        amount_cents: i64,
        currency: String,
    },
    WouldFindCredited(Credit),
}

fn reason_text(reason: &str) -> Result<String> {
    let r = sanitize(reason.trim()).into_owned();
    if r.is_empty() {
        return Err(Error::invalid("a reason is required"));
    }
    if r.chars().count() > MAX_REASON_CHARS {
        return Err(Error::invalid(format!(
            "the reason is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(r)
}

impl Service {
    /// The incident an `--incident` option names; left out, the database's only incident or
    /// its only open one (domain::incident::choose).
    pub async fn incident(&self, id: Option<&str>) -> Result<Incident> {
        let all = self.incidents().await?;
        Ok(crate::domain::incident::choose(&all, id, self.now())?.clone())
    }

    pub async fn credit_apply(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        dry_run: bool,
    ) -> Result<IncidentCredit> {
        Self::require(
            actor,
            if dry_run {
                Permission::Read
            } else {
                Permission::ApplyIncidentCredit
            },
        )?;
        let inc = self.incident(incident).await?;
        let a = self.resolve_account(account).await?;
        if !dry_run {
            let outcome = with_store!(&self.store, s => s.apply_incident_credit(actor, a.id, &inc, self.now()).await)?;
            return Ok(IncidentCredit::Applied(outcome));
        }
        let o = with_store!(&self.store, s => s.classify(&[a.id], &inc).await)?
            .pop()
            .ok_or_else(|| Error::invalid(format!("there is no account {}", a.account_no)))?;
        match o.outcome {
            Outcome::Credited => Ok(IncidentCredit::WouldCredit {
                account_no: o.account_no,
                incident: inc.id,
                amount_cents: o.amount_cents,
                currency: o.currency,
            }),
            Outcome::AlreadyCredited => {
                let id = o
                    .credit_id
                    .ok_or_else(|| Error::System("credit without id".to_string()))?;
                let c = with_store!(&self.store, s => s.credit_by_id(id).await)?
                    .ok_or_else(|| Error::System("credit vanished".to_string()))?;
                Ok(IncidentCredit::WouldFindCredited(c))
            }
            Outcome::Ineligible(_) | Outcome::Failed(_) => Err(o.refusal().map_or_else(
                || Error::System("an eligible account was refused".to_string()),
                Error::from,
            )),
        }
    }

    pub async fn credit_request(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        reason: &str,
    ) -> Result<RequestOutcome> {
        Self::require(actor, Permission::RequestAppreciation)?;
        let reason = reason_text(reason)?;
        let inc = self.incident(incident).await?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.request_appreciation(actor, a.id, &inc, &reason, self.now()).await)
    }

    /// Declares a category of an account permanently lost (supervisor), which opens the
    /// appreciation credit.
    pub async fn declare_loss(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        category: crate::domain::Category,
        reason: &str,
    ) -> Result<bool> {
        Self::require(actor, Permission::DeclareLoss)?;
        let reason = reason_text(reason)?;
        let inc = self.incident(incident).await?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.declare_loss(actor, a.id, &inc.id, category, &reason, self.now()).await)
    }

    pub async fn credit_approve(&self, actor: &Actor, request_id: i64) -> Result<CreditOutcome> {
        Self::require(actor, Permission::ApproveCredit)?;
        with_store!(&self.store, s => s.approve_request(actor, request_id, self.now()).await)
    }

    /// A supervisor other than the requester rejects a pending request with a reason.
    pub async fn credit_reject(
        &self,
        actor: &Actor,
        request_id: i64,
        reason: &str,
    ) -> Result<RejectOutcome> {
        Self::require(actor, Permission::ApproveCredit)?;
        let reason = reason_text(reason)?;
        with_store!(&self.store, s => s.reject_request(actor, request_id, &reason, self.now()).await)
    }

    /// The requests of every account in `status` (all when `None`), oldest first: the
    /// approvals queue is the pending ones. The customer's name is masked for the roles the
    /// policy masks, as search results are.
    pub async fn credit_requests(
        &self,
        actor: &Actor,
        status: Option<RequestStatus>,
        limit: usize,
    ) -> Result<Vec<RequestView>> {
        Self::require(actor, Permission::ViewRequests)?;
        let limit = i64::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000);
        let mut list = with_store!(&self.store, s => s.credit_requests(status, limit).await)?;
        if self.masks(actor) {
            list.iter_mut().for_each(RequestView::mask);
        }
        Ok(list)
    }

    pub async fn goodwill_cap(&self) -> Result<i64> {
        let v = with_store!(&self.store, s => s.meta(GOODWILL_CAP_KEY).await)?;
        Ok(v.and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_GOODWILL_CAP_CENTS))
    }

    pub async fn set_goodwill_cap(&self, actor: &Actor, cap: Cents) -> Result<()> {
        Self::require(actor, Permission::SetGoodwillCap)?;
        if cap.0 <= 0 {
            return Err(Error::invalid("the goodwill cap must be more than $0.00"));
        }
        with_store!(&self.store, s => s.set_meta(actor, GOODWILL_CAP_KEY, &cap.0.to_string(), self.now()).await)
    }

    /// A goodwill credit up to the configured cap. `key` names the request for replays; left
    /// out, the amount and reason do, so the same goodwill given twice is credited once.
    pub async fn credit_goodwill(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        amount: Cents,
        reason: &str,
        key: Option<&str>,
    ) -> Result<CreditOutcome> {
        Self::require(actor, Permission::Goodwill)?;
        let reason = reason_text(reason)?;
        let cap = Cents(self.goodwill_cap().await?);
        crate::domain::credit::rules::goodwill_amount(amount, cap)?;
        let key = match key {
            Some(k) if !k.trim().is_empty() => sanitize(k.trim()).into_owned(),
            _ => hex::encode(&Sha256::digest(format!("{}|{reason}", amount.0).as_bytes())[..8]),
        };
        let inc = self.incident(incident).await?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.goodwill(actor, a.id, &inc, amount.0, &reason, &key, self.now()).await)
    }

    pub async fn credit_reverse(
        &self,
        actor: &Actor,
        credit_id: i64,
        reason: &str,
    ) -> Result<CreditOutcome> {
        Self::require(actor, Permission::Reverse)?;
        let reason = reason_text(reason)?;
        with_store!(&self.store, s => s.reverse_credit(actor, credit_id, &reason, self.now()).await)
    }

    pub async fn credit_export(
        &self,
        actor: &Actor,
        since: Option<DateTime<Utc>>,
        each: impl FnMut(Credit) -> Result<()>,
    ) -> Result<()> {
        Self::require(actor, Permission::Read)?;
        with_store!(&self.store, s => s.export_credits(since, each).await)
    }

    /// One page of the export: at most `limit` credits with ids above `after`, oldest first.
    pub async fn credit_export_page(
        &self,
        actor: &Actor,
        since: Option<DateTime<Utc>>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Credit>> {
        Self::require(actor, Permission::Read)?;
        let limit = i64::try_from(limit.clamp(1, 100_000)).unwrap_or(100_000);
        with_store!(&self.store, s => s.export_credits_page(since, after, limit).await)
    }
}
