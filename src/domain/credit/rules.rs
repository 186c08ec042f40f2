//! The ledger's rules beyond "who is owed the incident credit": appreciation requests and
//! their approval or rejection, goodwill, reversals. Each takes the facts the store read (inside the
//! transaction that will write) and returns what to write, a replay, or a typed refusal
//! whose message is written here once for every face.

use super::{Credit, CreditKind, CreditRequest, Ineligible, RequestStatus};
use crate::domain::money::Cents;

/// Why a credit action is refused. `is_bad_input` tells a mistake in the request (exit 2)
/// from a refusal by a rule (exit 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditRefusal {
    #[error("account {account_no} is not owed the incident credit: {}", .why.explain())]
    NotOwed { account_no: String, why: Ineligible },
    #[error("account {account_no} cannot be credited: {}", OVERLAPPING_PLANS)]
    OverlappingPlans { account_no: String },
    #[error(
        "account {account_no} has no category in permanent-loss; the appreciation credit is only for permanent loss"
    )]
    NoPermanentLoss { account_no: String },
    #[error(
        "account {account_no} already has an appreciation request (#{request_id}) with another reason"
    )]
    RequestedWithAnotherReason { account_no: String, request_id: i64 },
    #[error("{approver} requested #{request_id} and cannot approve it; another supervisor must")]
    OwnRequest { approver: String, request_id: i64 },
    #[error("{login} requested #{request_id} and cannot reject it; another supervisor must")]
    RejectOwnRequest { login: String, request_id: i64 },
    #[error(
        "request #{request_id} was approved by {approver} (credit #{credit_id}) and cannot be rejected; a reversal undoes the credit"
    )]
    RejectApproved {
        request_id: i64,
        approver: String,
        credit_id: i64,
    },
    #[error(
        "request #{request_id} was already rejected by {by} with another reason; nothing changed"
    )]
    RejectedWithAnotherReason { request_id: i64, by: String },
    #[error("request #{request_id} was rejected by {by} and cannot be approved; nothing changed")]
    ApproveRejected { request_id: i64, by: String },
    #[error("account {account_no} already holds an {kind} credit for {incident}")]
    AlreadyHolds {
        account_no: String,
        kind: CreditKind,
        incident: String,
    },
    #[error("credit #{credit_id} is itself a reversal")]
    ReversalOfReversal { credit_id: i64 },
    #[error("credit #{credit_id} was already reversed (#{reversal_id}) with another reason")]
    ReversedWithAnotherReason { credit_id: i64, reversal_id: i64 },
    #[error("a goodwill credit must be more than $0.00, not {amount}")]
    GoodwillNotPositive { amount: Cents },
    #[error("{amount} is over the goodwill cap of {cap}")]
    OverGoodwillCap { amount: Cents, cap: Cents },
    #[error(
        "the request key \"{key}\" was used for goodwill credit #{credit_id} with another amount or reason"
    )]
    GoodwillKeyReused { key: String, credit_id: i64 },
}

/// Why a batch run's account fails rather than being credited or found ineligible.
pub const OVERLAPPING_PLANS: &str =
    "the plan history has overlapping plans at the incident's start";

impl CreditRefusal {
    /// A mistake in what was asked (the same key or request with other parameters), rather
    /// than a rule saying no.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::RequestedWithAnotherReason { .. }
                | Self::ReversedWithAnotherReason { .. }
                | Self::RejectedWithAnotherReason { .. }
                | Self::GoodwillNotPositive { .. }
                | Self::GoodwillKeyReused { .. }
        )
    }
}

/// What asking for the appreciation credit leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestDecision<'a> {
    /// The same request was made before: answer with it, write nothing.
    Replay(&'a CreditRequest),
    /// Write a new request for this amount.
    Request { amount_cents: i64 },
}

/// The appreciation request rule: at most one per account and incident, and only for an
/// account with a category in permanent-loss. `reason` is `None` when a screen only asks
/// whether the action is open (before the agent types a reason): an existing request is then
/// a replay whatever its reason.
pub fn request_appreciation<'a>(
    account_no: &str,
    existing: Option<&'a CreditRequest>,
    reason: Option<&str>,
    permanent_loss: bool,
    appreciation_cents: i64,
) -> Result<RequestDecision<'a>, CreditRefusal> {
    if let Some(r) = existing {
        return match reason {
            Some(reason) if reason != r.reason => Err(CreditRefusal::RequestedWithAnotherReason {
                account_no: account_no.to_string(),
                request_id: r.id,
            }),
            _ => Ok(RequestDecision::Replay(r)),
        };
    }
    if !permanent_loss {
        return Err(CreditRefusal::NoPermanentLoss {
            account_no: account_no.to_string(),
        });
    }
    Ok(RequestDecision::Request {
        amount_cents: appreciation_cents,
    })
}

/// What approving a request leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalDecision {
    /// Approved before: answer with that credit, write nothing.
    AlreadyApproved { credit_id: i64 },
    /// Write the credit and mark the request decided.
    Approve,
}

/// The approval rule: a supervisor other than the requester approves; approving twice is a
/// replay; a rejected request stays rejected.
pub fn approve_request(
    request: &CreditRequest,
    approver: &str,
) -> Result<ApprovalDecision, CreditRefusal> {
    if let Some(credit_id) = request.credit_id {
        return Ok(ApprovalDecision::AlreadyApproved { credit_id });
    }
    if request.status == RequestStatus::Rejected {
        return Err(CreditRefusal::ApproveRejected {
            request_id: request.id,
            by: decider(request),
        });
    }
    if request.requested_by == approver {
        return Err(CreditRefusal::OwnRequest {
            approver: approver.to_string(),
            request_id: request.id,
        });
    }
    Ok(ApprovalDecision::Approve)
}

/// What rejecting a request leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionDecision {
    /// Rejected before with the same reason: answer with the request, write nothing.
    AlreadyRejected,
    /// Mark the request rejected with the reason.
    Reject,
}

/// The rejection rule: a supervisor other than the requester rejects a pending request with a
/// reason; an approved request is not rejected (its credit stands until reversed); rejecting
/// again with the same reason is a replay, with another reason a refusal. `reason` is `None`
/// when a screen only asks whether the action is open (before the reason is typed).
pub fn reject_request(
    request: &CreditRequest,
    supervisor: &str,
    reason: Option<&str>,
) -> Result<RejectionDecision, CreditRefusal> {
    match request.status {
        RequestStatus::Approved => {
            return Err(CreditRefusal::RejectApproved {
                request_id: request.id,
                approver: decider(request),
                credit_id: request.credit_id.unwrap_or_default(),
            });
        }
        RequestStatus::Rejected => {
            return match reason {
                Some(reason) if request.rejection_reason.as_deref() != Some(reason) => {
                    Err(CreditRefusal::RejectedWithAnotherReason {
                        request_id: request.id,
                        by: decider(request),
                    })
                }
                _ => Ok(RejectionDecision::AlreadyRejected),
            };
        }
        RequestStatus::Pending => {}
    }
    if request.requested_by == supervisor {
        return Err(CreditRefusal::RejectOwnRequest {
            login: supervisor.to_string(),
            request_id: request.id,
        });
    }
    Ok(RejectionDecision::Reject)
}

/// Who decided a request, for a refusal's sentence.
fn decider(request: &CreditRequest) -> String {
    request
        .decided_by
        .clone()
        .unwrap_or_else(|| "a supervisor".to_string())
}

/// What a reversal leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversalDecision<'a> {
    /// Reversed before with the same reason: answer with that reversal.
    Replay(&'a Credit),
    /// Write a reversal of this (negative) amount.
    Reverse { amount_cents: i64 },
}

/// The reversal rule: a reversal is never reversed; a credit is reversed at most once.
pub fn reverse<'a>(
    original: &Credit,
    existing: Option<&'a Credit>,
    reason: &str,
) -> Result<ReversalDecision<'a>, CreditRefusal> {
    if original.kind == CreditKind::Reversal {
        return Err(CreditRefusal::ReversalOfReversal {
            credit_id: original.id,
        });
    }
    match existing {
        Some(c) if c.reason != reason => Err(CreditRefusal::ReversedWithAnotherReason {
            credit_id: original.id,
            reversal_id: c.id,
        }),
        Some(c) => Ok(ReversalDecision::Replay(c)),
        None => Ok(ReversalDecision::Reverse {
            amount_cents: -original.amount_cents,
        }),
    }
}

/// The goodwill amount rule: more than zero, at most the configured cap.
pub fn goodwill_amount(amount: Cents, cap: Cents) -> Result<(), CreditRefusal> {
    if amount.0 <= 0 {
        return Err(CreditRefusal::GoodwillNotPositive { amount });
    }
    if amount.0 > cap.0 {
        return Err(CreditRefusal::OverGoodwillCap { amount, cap });
    }
    Ok(())
}

/// A goodwill request met again under its key: the same amount and reason is a replay,
/// anything else a reused key.
pub fn goodwill_replay<'a>(
    key: &str,
    existing: &'a Credit,
    amount_cents: i64,
    reason: &str,
) -> Result<&'a Credit, CreditRefusal> {
    if existing.amount_cents != amount_cents || existing.reason != reason {
        return Err(CreditRefusal::GoodwillKeyReused {
            key: key.to_string(),
            credit_id: existing.id,
        });
    }
    Ok(existing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn request(by: &str, reason: &str, credit_id: Option<i64>) -> CreditRequest {
        let at = Utc.timestamp_opt(0, 0).single().expect("time");
        CreditRequest {
            id: 7,
            incident: "i".into(),
            kind: CreditKind::Appreciation,
            amount_cents: 10_000,
            reason: reason.into(),
            requested_by: by.into(),
            requested_at: at,
            decided_by: credit_id.map(|_| "sofia".to_string()),
            credit_id,
            status: RequestStatus::of(credit_id.map(|_| at), credit_id),
            decided_at: credit_id.map(|_| at),
            rejection_reason: None,
        }
    }

    fn rejected(by: &str, rejected_by: &str, why: &str) -> CreditRequest {
        let mut r = request(by, "lost all", None);
        r.status = RequestStatus::Rejected;
        r.decided_by = Some(rejected_by.into());
        r.decided_at = Some(r.requested_at);
        r.rejection_reason = Some(why.into());
        r
    }

    fn credit(id: i64, kind: CreditKind, amount: i64, reason: &str) -> Credit {
        Credit {
            id,
            account_no: "1".into(),
            incident: "i".into(),
            kind,
            amount_cents: amount,
            currency: "USD".into(),
            agent: "a".into(),
            approver: None,
            reason: reason.into(),
            batch_run_id: None,
            reverses: None,
            created_at: Utc.timestamp_opt(0, 0).single().expect("time"),
        }
    }

    #[test]
    fn appreciation_needs_a_permanent_loss_and_is_requested_once() {
        let e = request_appreciation("100", None, Some("lost all"), false, 10_000)
            .expect_err("no loss");
        assert_eq!(
            e.to_string(),
            "account 100 has no category in permanent-loss; the appreciation credit is only for permanent loss"
        );
        assert!(!e.is_bad_input());
        assert_eq!(
            request_appreciation("100", None, Some("lost all"), true, 10_000),
            Ok(RequestDecision::Request {
                amount_cents: 10_000
            })
        );
        let r = request("alice", "lost all", None);
        assert_eq!(
            request_appreciation("100", Some(&r), Some("lost all"), true, 10_000),
            Ok(RequestDecision::Replay(&r))
        );
        assert_eq!(
            request_appreciation("100", Some(&r), None, false, 10_000),
            Ok(RequestDecision::Replay(&r)),
            "a screen asking whether it may request sees the earlier request"
        );
        let e = request_appreciation("100", Some(&r), Some("other"), true, 10_000)
            .expect_err("another reason");
        assert!(e.is_bad_input());
        assert!(e.to_string().contains("(#7) with another reason"), "{e}");
    }

    #[test]
    fn nobody_approves_their_own_request_and_approving_twice_is_a_replay() {
        let r = request("omar", "x", None);
        let e = approve_request(&r, "omar").expect_err("own request");
        assert_eq!(
            e.to_string(),
            "omar requested #7 and cannot approve it; another supervisor must"
        );
        assert_eq!(approve_request(&r, "sofia"), Ok(ApprovalDecision::Approve));
        let done = request("omar", "x", Some(42));
        assert_eq!(
            approve_request(&done, "omar"),
            Ok(ApprovalDecision::AlreadyApproved { credit_id: 42 })
        );
    }

    #[test]
    fn another_supervisor_rejects_a_pending_request_and_rejecting_again_is_a_replay() {
        let r = request("alice", "lost all", None);
        assert_eq!(
            reject_request(&r, "omar", Some("no permanent loss on file")),
            Ok(RejectionDecision::Reject)
        );
        assert_eq!(
            reject_request(&r, "omar", None),
            Ok(RejectionDecision::Reject),
            "a screen asking before the reason is typed"
        );
        let done = rejected("alice", "omar", "no permanent loss on file");
        assert_eq!(
            reject_request(&done, "omar", Some("no permanent loss on file")),
            Ok(RejectionDecision::AlreadyRejected)
        );
        assert_eq!(
            reject_request(&done, "sofia", Some("no permanent loss on file")),
            Ok(RejectionDecision::AlreadyRejected),
            "the same rejection by another supervisor changes nothing either"
        );
        assert_eq!(
            reject_request(&done, "sofia", None),
            Ok(RejectionDecision::AlreadyRejected)
        );
        let e = reject_request(&done, "omar", Some("duplicate")).expect_err("another reason");
        assert_eq!(
            e.to_string(),
            "request #7 was already rejected by omar with another reason; nothing changed"
        );
        assert!(
            e.is_bad_input(),
            "the same request with other parameters: exit 2, as for every credit action"
        );
    }

    #[test]
    fn nobody_rejects_their_own_request_nor_an_approved_one() {
        let r = request("omar", "lost all", None);
        let e = reject_request(&r, "omar", Some("changed my mind")).expect_err("own request");
        assert_eq!(
            e.to_string(),
            "omar requested #7 and cannot reject it; another supervisor must"
        );
        assert!(!e.is_bad_input());
        let approved = request("alice", "lost all", Some(42));
        let e = reject_request(&approved, "omar", Some("too late")).expect_err("approved");
        assert_eq!(
            e.to_string(),
            "request #7 was approved by sofia (credit #42) and cannot be rejected; a reversal undoes the credit"
        );
        assert!(!e.is_bad_input());
    }

    #[test]
    fn a_rejected_request_is_never_approved() {
        let done = rejected("alice", "omar", "duplicate of #6");
        let e = approve_request(&done, "sofia").expect_err("rejected");
        assert_eq!(
            e.to_string(),
            "request #7 was rejected by omar and cannot be approved; nothing changed"
        );
        assert!(!e.is_bad_input());
        assert!(
            !e.to_string().contains("duplicate"),
            "the reason is the requester's to read on the account, not in a refusal"
        );
    }

    #[test]
    fn a_request_status_follows_its_decision() {
        let at = Utc.timestamp_opt(0, 0).single().expect("time");
        assert_eq!(RequestStatus::of(None, None), RequestStatus::Pending);
        assert_eq!(
            RequestStatus::of(Some(at), Some(3)),
            RequestStatus::Approved
        );
        assert_eq!(RequestStatus::of(Some(at), None), RequestStatus::Rejected);
        for s in RequestStatus::ALL {
            assert_eq!(s.as_str().parse::<RequestStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).ok(),
                Some(format!("\"{}\"", s.as_str()))
            );
        }
        let e = "done".parse::<RequestStatus>().expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "\"done\" is not a request status; expected one of: pending, approved, rejected"
        );
    }

    #[test]
    fn a_reversal_is_never_reversed_and_a_credit_is_reversed_once() {
        let original = credit(1, CreditKind::Incident, 1999, "incident credit");
        assert_eq!(
            reverse(&original, None, "billing error"),
            Ok(ReversalDecision::Reverse {
                amount_cents: -1999
            })
        );
        let rev = credit(2, CreditKind::Reversal, -1999, "billing error");
        assert_eq!(
            reverse(&original, Some(&rev), "billing error"),
            Ok(ReversalDecision::Replay(&rev))
        );
        let e = reverse(&original, Some(&rev), "other").expect_err("other reason");
        assert!(e.is_bad_input());
        let e = reverse(&rev, None, "undo").expect_err("reversal of reversal");
        assert_eq!(e.to_string(), "credit #2 is itself a reversal");
        assert!(!e.is_bad_input());
    }

    #[test]
    fn goodwill_is_positive_and_capped_and_its_key_names_one_request() {
        assert!(goodwill_amount(Cents(1), Cents(5000)).is_ok());
        assert!(goodwill_amount(Cents(5000), Cents(5000)).is_ok());
        let e = goodwill_amount(Cents(5001), Cents(5000)).expect_err("over cap");
        assert_eq!(e.to_string(), "$50.01 is over the goodwill cap of $50.00");
        assert!(!e.is_bad_input());
        assert!(
            goodwill_amount(Cents(0), Cents(5000))
                .expect_err("zero")
                .is_bad_input()
        );
        let c = credit(3, CreditKind::Goodwill, 500, "sorry");
        assert_eq!(goodwill_replay("k", &c, 500, "sorry"), Ok(&c));
        assert!(goodwill_replay("k", &c, 600, "sorry").is_err());
        assert!(goodwill_replay("k", &c, 500, "other").is_err());
    }
}
