//! The approvals screen (supervisors, and auditors who check them): the pending appreciation
//! requests of every account, oldest first, approved or rejected in place. The domain's rules
//! say at once why a decision is unavailable; the service decides again when it runs.

use chrono::{DateTime, Utc};

use super::{App, Confirm, Effect, InputPurpose, Overlay, Screen, TextInput};
use crate::domain::credit::rules::{approve_request, reject_request};
use crate::domain::{Permission, RequestStatus, RequestView};

/// Requests the queue asks for at most.
pub const APPROVALS_LIMIT: usize = 200;

/// A request the agent is about to decide, as the dialogs need it.
struct Chosen {
    account_id: i64,
    account_no: String,
    request: crate::domain::CreditRequest,
}

impl App {
    /// Whether the approvals queue is on screen (a change to the queue should reload it).
    pub fn approvals_visible(&self) -> bool {
        self.screen == Screen::Approvals
    }

    /// Asks for the queue again; the selection keeps its request (or row) when it comes.
    pub fn load_approvals(&mut self) -> Vec<Effect> {
        self.loading_approvals = true;
        vec![Effect::LoadApprovals]
    }

    /// `p`: the queue, for the roles that may read it.
    pub(super) fn open_approvals(&mut self) -> Vec<Effect> {
        if !self.allowed(Permission::ViewRequests) {
            return Vec::new();
        }
        self.go(Screen::Approvals);
        self.load_approvals()
    }

    pub(super) fn on_approvals_loaded(
        &mut self,
        at: DateTime<Utc>,
        r: Result<Vec<RequestView>, String>,
    ) -> Vec<Effect> {
        self.loading_approvals = false;
        match r {
            Ok(list) => {
                // The selection stays on its request when others come or go; a request
                // decided meanwhile leaves the selection on its row.
                let selected = self
                    .approvals
                    .get(self.approvals_selected)
                    .map(|v| v.request.id);
                self.approvals_selected = selected
                    .and_then(|id| list.iter().position(|v| v.request.id == id))
                    .unwrap_or(self.approvals_selected)
                    .min(list.len().saturating_sub(1));
                self.approvals = list;
                self.approvals_at = at;
            }
            Err(e) => self.error(e),
        }
        self.counts_answered()
    }

    pub(super) fn open_selected_request(&mut self) -> Vec<Effect> {
        match self.approvals.get(self.approvals_selected) {
            Some(v) => {
                let id = v.account_id;
                self.open_account(id)
            }
            None => Vec::new(),
        }
    }

    /// The request an approve or reject key is about: the selected row of the queue, or the
    /// pending request of the account on screen.
    fn chosen_request(&mut self) -> Option<Chosen> {
        match self.screen {
            Screen::Approvals => match self.approvals.get(self.approvals_selected) {
                Some(v) => Some(Chosen {
                    account_id: v.account_id,
                    account_no: v.account_no.clone(),
                    request: v.request.clone(),
                }),
                None => {
                    self.info("no request is waiting for a decision");
                    None
                }
            },
            _ => {
                let a = self.account.as_ref()?;
                let found = a
                    .requests
                    .iter()
                    .find(|r| r.status == RequestStatus::Pending)
                    .cloned();
                let (account_id, account_no) = (a.summary.id, a.summary.account_no.clone());
                match found {
                    Some(request) => Some(Chosen {
                        account_id,
                        account_no,
                        request,
                    }),
                    None => {
                        self.info("no request is waiting for approval on this account");
                        None
                    }
                }
            }
        }
    }

    /// The approve key: a confirm dialog (focus on Cancel) for the chosen request.
    pub(super) fn ask_approve(&mut self) -> Vec<Effect> {
        if !self.allowed(Permission::ApproveCredit) {
            return Vec::new();
        }
        let Some(c) = self.chosen_request() else {
            return Vec::new();
        };
        if let Err(refused) = approve_request(&c.request, &self.actor.login) {
            self.error(refused.to_string());
            return Vec::new();
        }
        self.open_dialog(Confirm::Approve {
            account_id: c.account_id,
            account_no: c.account_no,
            request_id: c.request.id,
            requested_by: c.request.requested_by.clone(),
            amount_cents: c.request.amount_cents,
            reason: c.request.reason.clone(),
        });
        Vec::new()
    }

    /// The reject key: the reason first, then a confirm dialog.
    pub(super) fn ask_reject(&mut self) -> Vec<Effect> {
        if !self.allowed(Permission::ApproveCredit) {
            return Vec::new();
        }
        let Some(c) = self.chosen_request() else {
            return Vec::new();
        };
        if let Err(refused) = reject_request(&c.request, &self.actor.login, None) {
            self.error(refused.to_string());
            return Vec::new();
        }
        self.open(Overlay::Input(TextInput::new(InputPurpose::RejectReason {
            account_id: c.account_id,
            account_no: c.account_no,
            request_id: c.request.id,
            requested_by: c.request.requested_by.clone(),
            amount_cents: c.request.amount_cents,
        })));
        Vec::new()
    }
}
