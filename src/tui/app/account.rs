//! The account screen: opening and reloading an account (each load keyed by the account asked
//! for, so a late answer for another account is dropped), revealing a masked one, and asking
//! the domain whether an action is open before its dialog shows (the service decides again).

use super::{App, Confirm, Effect, InputPurpose, Overlay, Screen, TextInput};
use crate::domain::{self, PlanPeriod, format_cents};
use crate::domain::{AccountDetail, RestoreRecord};

impl App {
    /// Asks for an account, unmasked again if the agent revealed it. Only the answer for this
    /// account is taken from now on.
    pub(super) fn load_account(&mut self, id: i64) -> Effect {
        self.account_request = Some(id);
        if self.revealed == Some(id) {
            Effect::RevealAccount { id }
        } else {
            Effect::LoadAccount { id }
        }
    }

    pub(super) fn reveal(&mut self) -> Vec<Effect> {
        match &self.account {
            Some(a) if a.masked => {
                let id = a.summary.id;
                self.revealed = Some(id);
                vec![self.load_account(id)]
            }
            Some(_) => {
                self.info("this account is shown in full already".to_string());
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    pub(super) fn open_account(&mut self, id: i64) -> Vec<Effect> {
        if self.account.as_ref().map(|a| a.summary.id) != Some(id) {
            self.account = None;
            self.category_selected = 0;
        }
        self.message = None;
        self.go(Screen::Account);
        vec![self.load_account(id)]
    }

    /// An account arrived: taken only if it is the one asked for (or, with nothing asked, the
    /// one on screen). A late answer for an account the agent left is never shown.
    pub(super) fn on_account_answer(
        &mut self,
        id: i64,
        result: Result<Box<AccountDetail>, String>,
    ) -> Vec<Effect> {
        let shown = self.account.as_ref().map(|a| a.summary.id);
        let wanted = self.account_request.or(shown);
        if wanted != Some(id) {
            return Vec::new();
        }
        self.account_request = None;
        match result {
            Ok(d) => {
                self.category_selected = self
                    .category_selected
                    .min(d.categories.len().saturating_sub(1));
                self.account = Some(*d);
            }
            Err(e) => self.error(e),
        }
        // Others see this agent on the account from now on, and this agent them.
        self.beat_if_moved()
    }

    /// A command finished: say how, and reload the account it changed if it is on screen, and
    /// the approvals queue if that is (a decision made there leaves it).
    pub(super) fn on_done(
        &mut self,
        result: Result<String, String>,
        reload: Option<i64>,
    ) -> Vec<Effect> {
        self.running = self.running.saturating_sub(1);
        match result {
            Ok(m) => self.info(m),
            Err(e) => self.error(e),
        }
        let mut effects = match reload {
            Some(id) if self.account.as_ref().is_some_and(|a| a.summary.id == id) => {
                vec![self.load_account(id)]
            }
            _ => Vec::new(),
        };
        if self.approvals_visible() {
            effects.extend(self.load_approvals());
        }
        effects
    }

    /// The credit dialog shows the amount and why; refusals the rules already know are told
    /// at once (the service checks again when it runs).
    pub(super) fn ask_credit(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::ApplyIncidentCredit) {
            return Vec::new();
        }
        let inc = match a.acting_incident(Some(self.category_selected), chrono::Utc::now()) {
            Ok(inc) => inc.clone(),
            Err(refused) => {
                self.error(refused.to_string());
                return Vec::new();
            }
        };
        if let Some(c) = a.incident_credit(&inc.id) {
            self.info(format!(
                "already credited: incident credit #{} of {} on {}",
                c.id,
                format_cents(c.amount_cents, &c.currency),
                c.created_at.format("%Y-%m-%d")
            ));
            return Vec::new();
        }
        let periods: Vec<PlanPeriod> = a.plans.iter().map(domain::Plan::period).collect();
        let decided = domain::decide_incident_credit(
            a.summary.account_status,
            &periods,
            inc.started_at,
            inc.credit_months,
        )
        .owed(&a.summary.account_no);
        match decided {
            Err(refused) => self.error(refused.to_string()),
            Ok(amount_cents) => {
                let plan = a.plan_at(inc.started_at);
                let (plan_code, price_cents, currency) = plan
                    .map_or(("?".to_string(), 0, "USD".to_string()), |p| {
                        (p.plan_code.clone(), p.price_cents, p.currency.clone())
                    });
                self.open_dialog(Confirm::Credit {
                    account_id: a.summary.id,
                    account_no: a.summary.account_no.clone(),
                    incident: inc.id.clone(),
                    name: a.summary.name.clone(),
                    amount_cents,
                    currency,
                    months: inc.credit_months,
                    plan_code,
                    price_cents,
                    incident_started: inc.started_at,
                });
            }
        }
        Vec::new()
    }

    pub(super) fn ask_appreciation(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::RequestAppreciation) {
            return Vec::new();
        }
        let inc = match a.acting_incident(Some(self.category_selected), chrono::Utc::now()) {
            Ok(inc) => inc.clone(),
            Err(refused) => {
                self.error(refused.to_string());
                return Vec::new();
            }
        };
        match domain::credit::rules::request_appreciation(
            &a.summary.account_no,
            a.appreciation_request(&inc.id),
            None,
            a.has_permanent_loss(Some(&inc.id)),
            inc.appreciation_cents,
        ) {
            Ok(domain::credit::RequestDecision::Replay(r)) => {
                self.info(format!(
                    "already requested (request #{} by {})",
                    r.id, r.requested_by
                ));
            }
            Err(refused) => self.error(refused.to_string()),
            Ok(domain::credit::RequestDecision::Request { .. }) => {
                self.open(Overlay::Input(TextInput::new(
                    InputPurpose::AppreciationReason {
                        incident: inc.id.clone(),
                        amount_cents: inc.appreciation_cents,
                    },
                )));
            }
        }
        Vec::new()
    }

    pub(super) fn ask_declare_loss(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::DeclareLoss) {
            return Vec::new();
        }
        let Some(c) = a.categories.get(self.category_selected) else {
            self.error("this account has no categories");
            return Vec::new();
        };
        // The service decides again on the facts in the database; asking the same rule here
        // says at once why the declaration is unavailable.
        let facts = domain::LossFacts::of(&a, c);
        if let Err(refused) =
            domain::loss::declare_loss(&a.summary.account_no, c.category, &c.incident, Some(&facts))
        {
            self.error(refused.to_string());
            return Vec::new();
        }
        self.open(Overlay::Input(TextInput::new(InputPurpose::LossReason {
            incident: c.incident.clone(),
            category: c.category,
        })));
        Vec::new()
    }

    pub(super) fn ask_resync(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::RecordResync) {
            return Vec::new();
        }
        let Some(c) = a.categories.get(self.category_selected) else {
            self.error("this account has no categories");
            return Vec::new();
        };
        self.open_dialog(Confirm::Resync {
            account_id: a.summary.id,
            account_no: a.summary.account_no.clone(),
            incident: c.incident.clone(),
            category: c.category,
            items_before: c.items_before,
        });
        Vec::new()
    }

    pub(super) fn find_undo(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::UndoRestore) {
            return Vec::new();
        }
        self.running += 1;
        vec![Effect::FindUndo {
            account_id: a.summary.id,
            account_no: a.summary.account_no.clone(),
        }]
    }

    pub(super) fn on_undo_candidate(
        &mut self,
        account_id: i64,
        result: Result<Option<RestoreRecord>, String>,
    ) -> Vec<Effect> {
        self.running = self.running.saturating_sub(1);
        match result {
            Err(e) => self.error(e),
            Ok(None) => self.info("this account has no restore to undo"),
            Ok(Some(r)) => self.open_dialog(Confirm::Undo {
                account_id,
                record: Box::new(r),
            }),
        }
        Vec::new()
    }

    /// `k`: the agent read the customer the advisory. The domain says whether there is one to
    /// read and for which incident (the selected category's when it is at risk there); a
    /// customer advised before is told, not asked again.
    pub(super) fn ask_advise(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::Contact) {
            return Vec::new();
        }
        let selected = a
            .categories
            .get(self.category_selected)
            .filter(|c| c.status == domain::CategoryStatus::AtRisk)
            .map(|c| c.incident.clone());
        let decided =
            domain::contact::decide_advice(&a, &a.advice, selected.as_deref()).or_else(|e| {
                match selected {
                    // The selected category's incident was advised or is not at risk: ask about
                    // the account as a whole.
                    Some(_) => domain::contact::decide_advice(&a, &a.advice, None),
                    None => Err(e),
                }
            });
        match decided {
            Ok(domain::AdviceDecision::Record { incident }) => {
                self.open_dialog(Confirm::Advise {
                    account_id: a.summary.id,
                    account_no: a.summary.account_no.clone(),
                    name: a.summary.name.clone(),
                    incident,
                });
            }
            Ok(domain::AdviceDecision::Already(given)) => {
                let words = self.zone.advice_words(&given, self.live.now);
                self.info(format!("already {words}; nothing to record"));
            }
            Err(refused) => self.error(refused.to_string()),
        }
        Vec::new()
    }

    /// `b`: a call back; the field reads the time as the agent types it.
    pub(super) fn ask_callback(&mut self, _a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::Contact) {
            return Vec::new();
        }
        self.open(Overlay::Input(TextInput::new(InputPurpose::CallbackTime)));
        Vec::new()
    }
}
