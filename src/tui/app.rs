//! The agents' screen as data: `App` holds the state, `update(msg)` changes it and returns the
//! effects to run (queries, actions), never waiting on I/O itself. The worker runs effects and
//! answers with messages; the view only reads `App`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::keymap::{Action, Keymap};
use crate::domain::restore::Mode;
use crate::domain::{self, Category, CategoryStatus, PlanPeriod, format_cents};
use crate::store::{
    AccountDetail, AccountSummary, Actor, IncidentTotals, RestoreRecord, RestoreReport,
};

/// Results the search asks for.
pub const SEARCH_LIMIT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Search,
    Account,
    Worklist,
    Dashboard,
}

/// Work for the worker; `update` returns these instead of doing them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Search {
        seq: u64,
        query: String,
    },
    LoadAccount {
        id: i64,
    },
    /// The account in full for a role that sees it masked (audited as a reveal).
    RevealAccount {
        id: i64,
    },
    LoadWorklist {
        status: Option<CategoryStatus>,
    },
    LoadDashboard,
    /// What restoring would do (writes nothing).
    RestorePreview {
        seq: u64,
        account_no: String,
        backup_id: String,
        categories: Vec<Category>,
        mode: Mode,
    },
    /// The account's latest restore that can be undone.
    FindUndo {
        account_id: i64,
        account_no: String,
    },
    Run(Command),
}

/// A change the agent confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    ApplyCredit {
        account_id: i64,
        account_no: String,
    },
    RequestAppreciation {
        account_id: i64,
        account_no: String,
        reason: String,
    },
    Approve {
        account_id: i64,
        request_id: i64,
    },
    AddNote {
        account_id: i64,
        account_no: String,
        text: String,
    },
    DeclareLoss {
        account_id: i64,
        account_no: String,
        category: Category,
        reason: String,
    },
    Restore {
        account_id: i64,
        account_no: String,
        backup_id: String,
        categories: Vec<Category>,
        mode: Mode,
    },
    Undo {
        account_id: i64,
        restore_id: i64,
    },
    Resync {
        account_id: i64,
        account_no: String,
        category: Category,
    },
}

/// What the worker tells the screen.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    Tick,
    SearchDone {
        seq: u64,
        query: String,
        result: Result<Vec<AccountSummary>, String>,
    },
    AccountLoaded(Result<Box<AccountDetail>, String>),
    WorklistLoaded(Result<Vec<AccountSummary>, String>),
    DashboardLoaded(Result<IncidentTotals, String>),
    /// A command finished: what to tell the agent, and the account to reload.
    Done {
        result: Result<String, String>,
        reload: Option<i64>,
    },
    RestorePreviewed {
        seq: u64,
        result: Result<Box<RestoreReport>, String>,
    },
    UndoCandidate {
        account_id: i64,
        result: Result<Option<RestoreRecord>, String>,
    },
}

/// The restore panel: a backup, the categories to restore, the mode, and the preview of what
/// that would do (refreshed whenever a choice changes; a stale preview is dropped).
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePanel {
    pub account_id: i64,
    pub account_no: String,
    pub backup_id: String,
    pub verification: domain::Verification,
    pub mode: Mode,
    /// The categories the backup can give, and whether each is chosen.
    pub categories: Vec<(Category, bool)>,
    pub cursor: usize,
    pub preview: Option<RestoreReport>,
    pub loading: bool,
    seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

/// A confirm dialog: focus starts on Cancel; `y` confirms, `n`/Esc cancels, Enter presses the
/// focused button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub title: String,
    pub lines: Vec<String>,
    pub confirm_label: String,
    pub command: Command,
    pub focus: Button,
}

/// What a text field is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPurpose {
    Note,
    AppreciationReason,
    LossReason(Category),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextInput {
    pub title: String,
    pub text: String,
    pub purpose: InputPurpose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone)]
pub struct App {
    pub actor: Actor,
    pub db_label: String,
    pub keymap: Keymap,
    pub screen: Screen,
    back: Vec<Screen>,

    pub query: String,
    pub search_focus: bool,
    search_seq: u64,
    pub results: Vec<AccountSummary>,
    pub results_query: String,
    pub selected: usize,
    pub searching: bool,

    pub account: Option<AccountDetail>,
    pub loading_account: bool,
    /// The account the agent chose to see unmasked: its reloads stay unmasked.
    revealed: Option<i64>,
    pub category_selected: usize,

    pub worklist: Vec<AccountSummary>,
    pub worklist_filter: Option<CategoryStatus>,
    pub worklist_selected: usize,
    pub loading_worklist: bool,

    pub totals: Option<IncidentTotals>,
    pub loading_dashboard: bool,

    pub dialog: Option<Dialog>,
    pub input: Option<TextInput>,
    pub restore: Option<RestorePanel>,
    pub help: bool,
    pub message: Option<(Level, String)>,
    pub running: usize,
    pub spinner: usize,
    pub quit: bool,
}

impl App {
    pub fn new(actor: Actor, db_label: String, keymap: Keymap) -> Self {
        Self {
            actor,
            db_label,
            keymap,
            screen: Screen::Search,
            back: Vec::new(),
            query: String::new(),
            search_focus: true,
            search_seq: 0,
            results: Vec::new(),
            results_query: String::new(),
            selected: 0,
            searching: false,
            account: None,
            loading_account: false,
            revealed: None,
            category_selected: 0,
            worklist: Vec::new(),
            worklist_filter: None,
            worklist_selected: 0,
            loading_worklist: false,
            totals: None,
            loading_dashboard: false,
            dialog: None,
            input: None,
            restore: None,
            help: false,
            message: None,
            running: 0,
            spinner: 0,
            quit: false,
        }
    }

    /// Whether anything is in flight (the spinner turns, and only then the loop ticks).
    pub fn busy(&self) -> bool {
        self.searching
            || self.loading_account
            || self.loading_worklist
            || self.loading_dashboard
            || self.running > 0
            || self.restore.as_ref().is_some_and(|r| r.loading)
    }

    fn go(&mut self, screen: Screen) {
        if self.screen != screen {
            self.back.push(self.screen);
            self.screen = screen;
        }
    }

    fn go_back(&mut self) {
        if let Some(s) = self.back.pop() {
            self.screen = s;
        } else {
            self.screen = Screen::Search;
        }
        if self.screen == Screen::Search {
            self.search_focus = true;
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some((Level::Info, text.into()));
    }

    fn error(&mut self, text: impl Into<String>) {
        self.message = Some((Level::Error, text.into()));
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize => Vec::new(),
            Msg::Tick => {
                self.spinner = self.spinner.wrapping_add(1);
                Vec::new()
            }
            Msg::SearchDone { seq, query, result } => {
                // Only the latest query's answer counts; older ones arrive late and are dropped.
                if seq != self.search_seq {
                    return Vec::new();
                }
                self.searching = false;
                match result {
                    Ok(r) => {
                        self.results = r;
                        self.results_query = query;
                        self.selected = self.selected.min(self.results.len().saturating_sub(1));
                    }
                    Err(e) => self.error(e),
                }
                Vec::new()
            }
            Msg::AccountLoaded(r) => {
                self.loading_account = false;
                match r {
                    Ok(d) => {
                        self.category_selected = self
                            .category_selected
                            .min(d.categories.len().saturating_sub(1));
                        self.account = Some(*d);
                    }
                    Err(e) => self.error(e),
                }
                Vec::new()
            }
            Msg::WorklistLoaded(r) => {
                self.loading_worklist = false;
                match r {
                    Ok(list) => {
                        self.worklist_selected =
                            self.worklist_selected.min(list.len().saturating_sub(1));
                        self.worklist = list;
                    }
                    Err(e) => self.error(e),
                }
                Vec::new()
            }
            Msg::DashboardLoaded(r) => {
                self.loading_dashboard = false;
                match r {
                    Ok(t) => self.totals = Some(t),
                    Err(e) => self.error(e),
                }
                Vec::new()
            }
            Msg::RestorePreviewed { seq, result } => {
                let Some(panel) = self.restore.as_mut().filter(|p| p.seq == seq) else {
                    return Vec::new();
                };
                panel.loading = false;
                match result {
                    Ok(r) => panel.preview = Some(*r),
                    Err(e) => {
                        panel.preview = None;
                        self.error(e);
                    }
                }
                Vec::new()
            }
            Msg::UndoCandidate { account_id, result } => {
                self.running = self.running.saturating_sub(1);
                match result {
                    Err(e) => self.error(e),
                    Ok(None) => self.info("this account has no restore to undo"),
                    Ok(Some(r)) => {
                        let cats: Vec<String> = r
                            .categories
                            .iter()
                            .map(|c| format!("{} (+{} added)", c.category, c.counts.add))
                            .collect();
                        self.dialog = Some(Dialog {
                            title: "Undo a restore".to_string(),
                            lines: vec![
                                format!("Undo restore #{} ({}, {} mode, by {}, {}).", r.id, r.backup_id, r.mode, r.agent, r.created_at.format("%Y-%m-%d %H:%M")),
                                format!("The live items of {} go back exactly to how they were before it.", cats.join(", ")),
                                "If the customer's data changed since, nothing is undone and you are told what changed.".to_string(),
                            ],
                            confirm_label: "Undo".to_string(),
                            command: Command::Undo { account_id, restore_id: r.id },
                            focus: Button::Cancel,
                        });
                    }
                }
                Vec::new()
            }
            Msg::Done { result, reload } => {
                self.running = self.running.saturating_sub(1);
                match result {
                    Ok(m) => self.info(m),
                    Err(e) => self.error(e),
                }
                match reload {
                    Some(id) if self.account.as_ref().is_some_and(|a| a.summary.id == id) => {
                        self.loading_account = true;
                        vec![self.load_account(id)]
                    }
                    _ => Vec::new(),
                }
            }
        }
    }

    fn search_effect(&mut self) -> Vec<Effect> {
        self.search_seq += 1;
        if self.query.trim().is_empty() {
            self.searching = false;
            self.results.clear();
            self.results_query.clear();
            return Vec::new();
        }
        self.searching = true;
        self.selected = 0;
        vec![Effect::Search {
            seq: self.search_seq,
            query: self.query.clone(),
        }]
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        if self.dialog.is_some() {
            return self.on_dialog_key(k);
        }
        if self.input.is_some() {
            return self.on_input_key(k);
        }
        if self.restore.is_some() {
            return self.on_restore_key(k);
        }
        if self.help {
            if matches!(
                self.keymap.action(&k),
                Some(Action::Help | Action::Back | Action::Quit)
            ) || k.code == KeyCode::Esc
            {
                self.help = false;
            }
            return Vec::new();
        }
        if self.screen == Screen::Search && self.search_focus {
            return self.on_search_field_key(k);
        }
        let Some(action) = self.keymap.action(&k) else {
            return Vec::new();
        };
        self.on_action(action)
    }

    /// In the search field every printable key is text; only editing and navigation keys act.
    fn on_search_field_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        match k.code {
            KeyCode::Char(c)
                if !k.modifiers.contains(KeyModifiers::CONTROL)
                    && !k.modifiers.contains(KeyModifiers::ALT) =>
            {
                self.query.push(c);
                self.search_effect()
            }
            KeyCode::Backspace => {
                self.query.pop();
                self.search_effect()
            }
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.query.clear();
                self.search_effect()
            }
            KeyCode::Down => {
                self.selected = (self.selected + 1).min(self.results.len().saturating_sub(1));
                Vec::new()
            }
            KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                Vec::new()
            }
            KeyCode::Enter => self.open_selected_result(),
            KeyCode::Esc | KeyCode::Tab => {
                // Leave the field: keys are actions again (`/` comes back).
                self.search_focus = false;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn open_selected_result(&mut self) -> Vec<Effect> {
        match self.results.get(self.selected) {
            Some(a) => {
                let id = a.id;
                self.open_account(id)
            }
            None => Vec::new(),
        }
    }

    /// Loads an account, unmasked again if the agent revealed it.
    fn load_account(&self, id: i64) -> Effect {
        if self.revealed == Some(id) {
            Effect::RevealAccount { id }
        } else {
            Effect::LoadAccount { id }
        }
    }

    fn reveal(&mut self) -> Vec<Effect> {
        match &self.account {
            Some(a) if a.masked => {
                let id = a.summary.id;
                self.revealed = Some(id);
                self.loading_account = true;
                vec![Effect::RevealAccount { id }]
            }
            Some(_) => {
                self.info("this account is shown in full already".to_string());
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn open_account(&mut self, id: i64) -> Vec<Effect> {
        if self.account.as_ref().map(|a| a.summary.id) != Some(id) {
            self.account = None;
            self.category_selected = 0;
        }
        self.loading_account = true;
        self.message = None;
        self.go(Screen::Account);
        vec![self.load_account(id)]
    }

    fn on_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.help = true;
                Vec::new()
            }
            Action::Search => {
                self.back.clear();
                self.screen = Screen::Search;
                self.search_focus = true;
                Vec::new()
            }
            Action::Back => {
                self.go_back();
                Vec::new()
            }
            Action::Worklist => {
                self.go(Screen::Worklist);
                self.loading_worklist = true;
                vec![Effect::LoadWorklist {
                    status: self.worklist_filter,
                }]
            }
            Action::Dashboard => {
                self.go(Screen::Dashboard);
                self.loading_dashboard = true;
                vec![Effect::LoadDashboard]
            }
            Action::Refresh => self.refresh(),
            Action::Up | Action::Down => {
                self.move_selection(if action == Action::Up { -1 } else { 1 });
                Vec::new()
            }
            Action::Open => match self.screen {
                Screen::Search => self.open_selected_result(),
                Screen::Worklist => match self.worklist.get(self.worklist_selected) {
                    Some(a) => {
                        let id = a.id;
                        self.open_account(id)
                    }
                    None => Vec::new(),
                },
                _ => Vec::new(),
            },
            Action::Filter if self.screen == Screen::Worklist => {
                self.worklist_filter = next_filter(self.worklist_filter);
                self.worklist_selected = 0;
                self.loading_worklist = true;
                vec![Effect::LoadWorklist {
                    status: self.worklist_filter,
                }]
            }
            Action::Credit => self.on_account(Self::ask_credit),
            Action::Appreciation => self.on_account(Self::ask_appreciation),
            Action::Approve => self.on_account(Self::ask_approve),
            Action::Note => self.on_account(|app, _| {
                app.input = Some(TextInput {
                    title: "Note for the timeline".to_string(),
                    text: String::new(),
                    purpose: InputPurpose::Note,
                });
                Vec::new()
            }),
            Action::DeclareLoss => self.on_account(Self::ask_declare_loss),
            Action::Restore => self.on_account(Self::open_restore),
            Action::Undo => self.on_account(|app, a| {
                if !app.allowed(domain::Permission::UndoRestore) {
                    return Vec::new();
                }
                app.running += 1;
                vec![Effect::FindUndo {
                    account_id: a.summary.id,
                    account_no: a.summary.account_no.clone(),
                }]
            }),
            Action::Resync => self.on_account(Self::ask_resync),
            Action::Reveal if self.screen == Screen::Account => self.reveal(),
            Action::Reveal => Vec::new(),
            Action::Filter => Vec::new(),
        }
    }

    fn refresh(&mut self) -> Vec<Effect> {
        match self.screen {
            Screen::Search => self.search_effect(),
            Screen::Account => match &self.account {
                Some(a) => {
                    let id = a.summary.id;
                    self.loading_account = true;
                    vec![self.load_account(id)]
                }
                None => Vec::new(),
            },
            Screen::Worklist => {
                self.loading_worklist = true;
                vec![Effect::LoadWorklist {
                    status: self.worklist_filter,
                }]
            }
            Screen::Dashboard => {
                self.loading_dashboard = true;
                vec![Effect::LoadDashboard]
            }
        }
    }

    fn move_selection(&mut self, delta: isize) {
        let (sel, len) = match self.screen {
            Screen::Search => (&mut self.selected, self.results.len()),
            Screen::Worklist => (&mut self.worklist_selected, self.worklist.len()),
            Screen::Account => (
                &mut self.category_selected,
                self.account.as_ref().map_or(0, |a| a.categories.len()),
            ),
            Screen::Dashboard => return,
        };
        if len == 0 {
            return;
        }
        *sel = sel.saturating_add_signed(delta).min(len - 1);
    }

    /// Runs `f` with the open account, or says there is none.
    fn on_account(
        &mut self,
        f: impl FnOnce(&mut Self, AccountDetail) -> Vec<Effect>,
    ) -> Vec<Effect> {
        match (&self.screen, &self.account) {
            (Screen::Account, Some(a)) => {
                let a = a.clone();
                f(self, a)
            }
            _ => {
                self.error("open an account first (search, then Enter)");
                Vec::new()
            }
        }
    }

    fn allowed(&mut self, p: domain::Permission) -> bool {
        if self.actor.role.allows(p) {
            true
        } else {
            self.error(format!(
                "{} ({}) may not {}",
                self.actor.login,
                self.actor.role,
                p.describe()
            ));
            false
        }
    }

    /// The credit dialog shows the amount and why; refusals the rules already know are told
    /// at once (the service checks again when it runs).
    fn ask_credit(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::ApplyIncidentCredit) {
            return Vec::new();
        }
        let Some(inc) = &a.incident else {
            self.error("this database has no incident");
            return Vec::new();
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
        let refusal = |why| match why {
            Some(why) => domain::CreditRefusal::NotOwed {
                account_no: a.summary.account_no.clone(),
                why,
            },
            None => domain::CreditRefusal::OverlappingPlans {
                account_no: a.summary.account_no.clone(),
            },
        };
        let decided = match domain::decide_incident_credit(
            a.summary.account_status,
            &periods,
            inc.started_at,
            inc.credit_months,
        ) {
            domain::IncidentCreditDecision::Owed { amount_cents, .. } => Ok(amount_cents),
            domain::IncidentCreditDecision::Ineligible(why) => Err(refusal(Some(why))),
            domain::IncidentCreditDecision::OverlappingPlans => Err(refusal(None)),
        };
        match decided {
            Err(refused) => {
                self.error(refused.to_string());
                Vec::new()
            }
            Ok(amount) => {
                let plan = a.plan_at(inc.started_at);
                let (code, price, currency) = plan
                    .map_or(("?".to_string(), 0, "USD".to_string()), |p| {
                        (p.plan_code.clone(), p.price_cents, p.currency.clone())
                    });
                let months = if inc.credit_months == 1 {
                    "one month".to_string()
                } else {
                    format!("{} months", inc.credit_months)
                };
                self.dialog = Some(Dialog {
                    title: "Apply the incident credit".to_string(),
                    lines: vec![
                        format!(
                            "Credit {} to account {} ({}).",
                            format_cents(amount, &currency),
                            a.summary.account_no,
                            a.summary.name
                        ),
                        format!(
                            "Why: {months} of {code} at {}/month, the data plan in force when the incident began ({}).",
                            format_cents(price, &currency),
                            inc.started_at.format("%Y-%m-%d %H:%M UTC")
                        ),
                        "It is credited once; a second try changes nothing.".to_string(),
                    ],
                    confirm_label: "Credit".to_string(),
                    command: Command::ApplyCredit {
                        account_id: a.summary.id,
                        account_no: a.summary.account_no.clone(),
                    },
                    focus: Button::Cancel,
                });
                Vec::new()
            }
        }
    }

    fn ask_appreciation(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::RequestAppreciation) {
            return Vec::new();
        }
        let Some(inc) = &a.incident else {
            self.error("this database has no incident");
            return Vec::new();
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
                return Vec::new();
            }
            Err(refused) => {
                self.error(refused.to_string());
                return Vec::new();
            }
            Ok(domain::credit::RequestDecision::Request { .. }) => {}
        }
        self.input = Some(TextInput {
            title: "Why this customer should get the appreciation credit".to_string(),
            text: String::new(),
            purpose: InputPurpose::AppreciationReason,
        });
        Vec::new()
    }

    fn ask_approve(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::ApproveCredit) {
            return Vec::new();
        }
        let Some(r) = a.requests.iter().find(|r| r.decided_by.is_none()) else {
            self.info("no request is waiting for approval on this account");
            return Vec::new();
        };
        if let Err(refused) = domain::credit::rules::approve_request(r, &self.actor.login) {
            self.error(refused.to_string());
            return Vec::new();
        }
        self.dialog = Some(Dialog {
            title: "Approve the appreciation credit".to_string(),
            lines: vec![
                format!(
                    "Approve request #{} by {}: {} for account {}.",
                    r.id,
                    r.requested_by,
                    format_cents(r.amount_cents, "USD"),
                    a.summary.account_no
                ),
                format!("Reason given: {}", r.reason),
            ],
            confirm_label: "Approve".to_string(),
            command: Command::Approve {
                account_id: a.summary.id,
                request_id: r.id,
            },
            focus: Button::Cancel,
        });
        Vec::new()
    }

    fn ask_declare_loss(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::DeclareLoss) {
            return Vec::new();
        }
        let Some(c) = a.categories.get(self.category_selected) else {
            self.error("this account has no categories");
            return Vec::new();
        };
        if !c.server_lost {
            self.error(format!("{} were not lost by the server", c.category));
            return Vec::new();
        }
        self.input = Some(TextInput {
            title: format!("Why are {} permanently lost?", c.category),
            text: String::new(),
            purpose: InputPurpose::LossReason(c.category),
        });
        Vec::new()
    }

    /// Opens the restore panel on the newest backup that can be restored from, with every
    /// category it covers chosen, and asks for the preview.
    fn open_restore(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::RestoreMerge) {
            return Vec::new();
        }
        let Some(b) = a
            .backups
            .iter()
            .filter(|b| b.verified())
            .max_by_key(|b| b.taken_at)
        else {
            let why = if a
                .backups
                .iter()
                .any(|b| b.verification == domain::Verification::Corrupt)
            {
                "the backup is corrupt and cannot be restored from"
            } else if a
                .backups
                .iter()
                .any(|b| b.verification == domain::Verification::Manifest)
            {
                "the snapshot's items are not loaded yet (manifest only); nothing to restore from"
            } else {
                "this account has no backup to restore from"
            };
            self.error(why);
            return Vec::new();
        };
        let categories: Vec<(Category, bool)> = b
            .categories
            .iter()
            .filter(|c| c.item_count > c.bad_items)
            .map(|c| (c.category, true))
            .collect();
        if categories.is_empty() {
            self.error("the backup holds no good items");
            return Vec::new();
        }
        self.restore = Some(RestorePanel {
            account_id: a.summary.id,
            account_no: a.summary.account_no.clone(),
            backup_id: b.id.clone(),
            verification: b.verification,
            mode: Mode::Merge,
            categories,
            cursor: 0,
            preview: None,
            loading: false,
            seq: 0,
        });
        self.preview_restore()
    }

    fn preview_restore(&mut self) -> Vec<Effect> {
        let Some(p) = self.restore.as_mut() else {
            return Vec::new();
        };
        p.seq += 1;
        let categories: Vec<Category> = p
            .categories
            .iter()
            .filter(|(_, on)| *on)
            .map(|(c, _)| *c)
            .collect();
        if categories.is_empty() {
            p.preview = None;
            p.loading = false;
            return Vec::new();
        }
        p.loading = true;
        vec![Effect::RestorePreview {
            seq: p.seq,
            account_no: p.account_no.clone(),
            backup_id: p.backup_id.clone(),
            categories,
            mode: p.mode,
        }]
    }

    fn on_restore_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let supervisor = self.actor.role.allows(domain::Permission::RestoreReplace);
        let Some(p) = self.restore.as_mut() else {
            return Vec::new();
        };
        match k.code {
            KeyCode::Esc => {
                self.restore = None;
                Vec::new()
            }
            KeyCode::Up | KeyCode::Char('k') => {
                p.cursor = p.cursor.saturating_sub(1);
                Vec::new()
            }
            KeyCode::Down | KeyCode::Char('j') => {
                p.cursor = (p.cursor + 1).min(p.categories.len().saturating_sub(1));
                Vec::new()
            }
            KeyCode::Char(' ') => {
                if let Some(c) = p.categories.get_mut(p.cursor) {
                    c.1 = !c.1;
                }
                self.preview_restore()
            }
            KeyCode::Char('m') => {
                // Replace is a supervisor's; an agent's choice stays between merge and keep-both.
                p.mode = match p.mode {
                    Mode::Merge => Mode::KeepBoth,
                    Mode::KeepBoth if supervisor => Mode::Replace,
                    Mode::KeepBoth | Mode::Replace => Mode::Merge,
                };
                self.preview_restore()
            }
            KeyCode::Enter => {
                let (Some(preview), false) = (p.preview.clone(), p.loading) else {
                    return Vec::new();
                };
                let categories: Vec<Category> = p
                    .categories
                    .iter()
                    .filter(|(_, on)| *on)
                    .map(|(c, _)| *c)
                    .collect();
                let adds: i64 = preview.categories.iter().map(|c| c.counts.add).sum();
                let fills: i64 = preview.categories.iter().map(|c| c.counts.fill).sum();
                let removes: i64 = preview.categories.iter().map(|c| c.counts.remove).sum();
                let corrupt: i64 = preview.categories.iter().map(|c| c.counts.corrupt).sum();
                let mut lines = vec![
                    format!(
                        "Restore {} of account {} from {} ({} mode).",
                        categories
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        p.account_no,
                        p.backup_id,
                        p.mode.as_str()
                    ),
                    format!(
                        "Adds {adds} item(s), fills empty fields of {fills}{}.",
                        if removes > 0 {
                            format!(", removes {removes}")
                        } else {
                            String::new()
                        }
                    ),
                    "The live items are archived first, so a supervisor can undo it.".to_string(),
                ];
                if corrupt > 0 {
                    lines.push(format!(
                        "{corrupt} item(s) fail their hash and are left out."
                    ));
                }
                let command = Command::Restore {
                    account_id: p.account_id,
                    account_no: p.account_no.clone(),
                    backup_id: p.backup_id.clone(),
                    categories,
                    mode: p.mode,
                };
                self.restore = None;
                self.dialog = Some(Dialog {
                    title: "Restore from the backup".to_string(),
                    lines,
                    confirm_label: "Restore".to_string(),
                    command,
                    focus: Button::Cancel,
                });
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn ask_resync(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::RecordResync) {
            return Vec::new();
        }
        let Some(c) = a.categories.get(self.category_selected) else {
            self.error("this account has no categories");
            return Vec::new();
        };
        self.dialog = Some(Dialog {
            title: "Record a device re-sync".to_string(),
            lines: vec![
                format!(
                    "Record that the phone re-synced account {}'s {} ({} items).",
                    a.summary.account_no, c.category, c.items_before
                ),
                "Only when the customer powered off with Menu → Power Off and the data is back."
                    .to_string(),
            ],
            confirm_label: "Record".to_string(),
            command: Command::Resync {
                account_id: a.summary.id,
                account_no: a.summary.account_no.clone(),
                category: c.category,
            },
            focus: Button::Cancel,
        });
        Vec::new()
    }

    fn on_input_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let Some(input) = self.input.as_mut() else {
            return Vec::new();
        };
        match k.code {
            KeyCode::Esc => self.input = None,
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Enter => {
                let text = input.text.trim().to_string();
                let purpose = input.purpose.clone();
                if text.is_empty() {
                    self.error("type something first, or Esc to cancel");
                    return Vec::new();
                }
                self.input = None;
                let Some(a) = self.account.clone() else {
                    return Vec::new();
                };
                let (id, no) = (a.summary.id, a.summary.account_no.clone());
                let preview: String = text.chars().take(60).collect();
                self.dialog = Some(match purpose {
                    InputPurpose::Note => Dialog {
                        title: "Add the note".to_string(),
                        lines: vec![
                            format!("Add to account {no}'s timeline:"),
                            format!("\"{preview}\""),
                        ],
                        confirm_label: "Add".to_string(),
                        command: Command::AddNote {
                            account_id: id,
                            account_no: no,
                            text,
                        },
                        focus: Button::Cancel,
                    },
                    InputPurpose::AppreciationReason => Dialog {
                        title: "Request the appreciation credit".to_string(),
                        lines: vec![
                            format!(
                                "Request {} for account {no}; a supervisor other than you approves it.",
                                format_cents(
                                    a.incident.as_ref().map_or(10_000, |i| i.appreciation_cents),
                                    "USD"
                                )
                            ),
                            format!("Reason: \"{preview}\""),
                        ],
                        confirm_label: "Request".to_string(),
                        command: Command::RequestAppreciation {
                            account_id: id,
                            account_no: no,
                            reason: text,
                        },
                        focus: Button::Cancel,
                    },
                    InputPurpose::LossReason(category) => Dialog {
                        title: "Declare a permanent loss".to_string(),
                        lines: vec![
                            format!("Declare account {no}'s {category} permanently lost?"),
                            "This opens the appreciation credit and cannot be undone here."
                                .to_string(),
                        ],
                        confirm_label: "Declare".to_string(),
                        command: Command::DeclareLoss {
                            account_id: id,
                            account_no: no,
                            category,
                            reason: text,
                        },
                        focus: Button::Cancel,
                    },
                });
            }
            KeyCode::Char(c)
                if !k.modifiers.contains(KeyModifiers::CONTROL)
                    && input.text.chars().count() < crate::service::MAX_NOTE_CHARS =>
            {
                input.text.push(c);
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_dialog_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let Some(d) = self.dialog.as_mut() else {
            return Vec::new();
        };
        let confirmed = match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => true,
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => false,
            KeyCode::Enter => d.focus == Button::Confirm,
            KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l') => {
                d.focus = if d.focus == Button::Cancel {
                    Button::Confirm
                } else {
                    Button::Cancel
                };
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        let Some(d) = self.dialog.take() else {
            return Vec::new();
        };
        if !confirmed {
            self.info("cancelled; nothing changed");
            return Vec::new();
        }
        self.running += 1;
        self.message = Some((Level::Info, format!("{}…", d.title)));
        vec![Effect::Run(d.command)]
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        match m.kind {
            MouseEventKind::ScrollDown => self.move_selection(1),
            MouseEventKind::ScrollUp => self.move_selection(-1),
            _ => {}
        }
        Vec::new()
    }
}

fn next_filter(f: Option<CategoryStatus>) -> Option<CategoryStatus> {
    match f {
        None => Some(CategoryStatus::ALL[0]),
        Some(s) => CategoryStatus::ALL
            .iter()
            .position(|x| *x == s)
            .and_then(|i| CategoryStatus::ALL.get(i + 1).copied()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountStatus, Role};
    use crate::store::{AccountSummary, CategoryState, Credit, CreditRequest, Plan};
    use chrono::{TimeZone, Utc};

    fn t(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .expect("date")
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn code(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn app(role: Role) -> App {
        App::new(
            Actor {
                login: "alice".to_string(),
                role,
            },
            "sqlite:test.db".to_string(),
            Keymap::default(),
        )
    }

    fn summary(status: AccountStatus) -> AccountSummary {
        AccountSummary {
            id: 7,
            account_no: "310000001".to_string(),
            msisdn: "+12065550123".to_string(),
            name: "José Núñez".to_string(),
            email: String::new(),
            account_status: status,
            status: CategoryStatus::AtRisk,
        }
    }

    fn detail(status: AccountStatus) -> AccountDetail {
        AccountDetail {
            summary: summary(status),
            device_model: "Sidekick LX".to_string(),
            created_at: t(2009, 11, 2),
            plans: vec![
                Plan {
                    plan_code: "SK-DATA".to_string(),
                    data_plan: true,
                    price_cents: 1999,
                    currency: "USD".to_string(),
                    valid_from: t(2008, 1, 1),
                    valid_to: Some(t(2009, 11, 1)),
                },
                Plan {
                    plan_code: "SK-DATA-PLUS".to_string(),
                    data_plan: true,
                    price_cents: 2999,
                    currency: "USD".to_string(),
                    valid_from: t(2009, 11, 1),
                    valid_to: None,
                },
            ],
            categories: vec![CategoryState {
                incident: "danger-2009-10".to_string(),
                category: Category::Contacts,
                status: CategoryStatus::AtRisk,
                server_lost: true,
                device_state: crate::domain::DeviceState::HoldsCopy,
                items_before: 300,
                items_live: 0,
                items_backup: None,
            }],
            backups: Vec::new(),
            credits: Vec::new(),
            requests: Vec::new(),
            notes: Vec::new(),
            timeline: Vec::new(),
            incident: Some(crate::demo::incident()),
            masked: false,
        }
    }

    fn opened(role: Role, d: AccountDetail) -> App {
        let mut a = app(role);
        a.results = vec![d.summary.clone()];
        a.update(code(KeyCode::Enter));
        a.update(Msg::AccountLoaded(Ok(Box::new(d))));
        a
    }

    #[test]
    fn typing_in_the_search_field_searches_and_never_triggers_an_action() {
        let mut a = app(Role::Agent);
        assert!(a.search_focus && a.screen == Screen::Search);
        let e1 = a.update(key('q'));
        let e2 = a.update(key('w'));
        assert_eq!(a.query, "qw");
        assert!(!a.quit, "q typed in the field is text");
        assert_eq!(a.screen, Screen::Search, "w typed in the field is text");
        assert!(matches!(&e1[..], [Effect::Search { seq: 1, query }] if query == "q"));
        assert!(matches!(&e2[..], [Effect::Search { seq: 2, query }] if query == "qw"));
        assert!(a.busy());
    }

    #[test]
    fn a_stale_search_answer_is_dropped() {
        let mut a = app(Role::Agent);
        a.update(key('j'));
        a.update(key('o'));
        a.update(Msg::SearchDone {
            seq: 1,
            query: "j".to_string(),
            result: Ok(vec![summary(AccountStatus::Active)]),
        });
        assert!(
            a.results.is_empty(),
            "the answer to an older query is ignored"
        );
        assert!(a.searching);
        a.update(Msg::SearchDone {
            seq: 2,
            query: "jo".to_string(),
            result: Ok(vec![summary(AccountStatus::Active)]),
        });
        assert_eq!(a.results.len(), 1);
        assert!(
            !a.busy(),
            "idle once the latest answer is in: no ticking, no CPU"
        );
    }

    #[test]
    fn v_reveals_a_masked_account_and_its_reloads_stay_revealed() {
        let mut d = detail(AccountStatus::Active);
        d.summary.mask();
        d.masked = true;
        let mut a = opened(Role::Auditor, d);
        assert_eq!(
            a.update(code(KeyCode::Char('v'))),
            vec![Effect::RevealAccount { id: 7 }]
        );
        a.update(Msg::AccountLoaded(Ok(Box::new(detail(
            AccountStatus::Active,
        )))));
        assert_eq!(a.account.as_ref().map(|d| d.masked), Some(false));
        assert_eq!(
            a.update(code(KeyCode::Char('R'))),
            vec![Effect::RevealAccount { id: 7 }]
        );
        // Shown in full already: nothing to reveal, nothing audited.
        assert!(a.update(code(KeyCode::Char('v'))).is_empty());
        // Another account opens masked again.
        let mut other = summary(AccountStatus::Active);
        other.id = 8;
        a.results = vec![other];
        a.update(code(KeyCode::Esc));
        assert_eq!(
            a.update(code(KeyCode::Enter)),
            vec![Effect::LoadAccount { id: 8 }]
        );
    }

    #[test]
    fn enter_opens_the_selected_account_and_esc_goes_back() {
        let mut a = app(Role::Agent);
        a.results = vec![summary(AccountStatus::Active)];
        let e = a.update(code(KeyCode::Enter));
        assert_eq!(e, vec![Effect::LoadAccount { id: 7 }]);
        assert_eq!(a.screen, Screen::Account);
        a.update(code(KeyCode::Esc));
        assert_eq!(a.screen, Screen::Search);
        assert!(a.search_focus, "back in the search field");
    }

    #[test]
    fn the_credit_dialog_starts_on_cancel_shows_the_amount_and_why() {
        let mut a = opened(Role::Agent, detail(AccountStatus::Active));
        assert!(a.update(key('c')).is_empty());
        let d = a.dialog.clone().expect("dialog");
        assert_eq!(d.focus, Button::Cancel);
        assert!(
            d.lines[0].contains("$19.99"),
            "the plan at the incident's start, not the later $29.99: {:?}",
            d.lines
        );
        assert!(
            d.lines[1].contains("SK-DATA at $19.99/month"),
            "{:?}",
            d.lines
        );
        assert!(
            a.update(code(KeyCode::Enter)).is_empty(),
            "Enter presses Cancel"
        );
        assert!(a.dialog.is_none());
        a.update(key('c'));
        a.update(code(KeyCode::Tab));
        let e = a.update(code(KeyCode::Enter));
        assert_eq!(
            e,
            vec![Effect::Run(Command::ApplyCredit {
                account_id: 7,
                account_no: "310000001".to_string()
            })]
        );
        a.update(key('c'));
        assert!(
            a.update(key('n')).is_empty() && a.dialog.is_none(),
            "n cancels"
        );
        a.update(key('c'));
        assert_eq!(a.update(key('y')).len(), 1, "y confirms");
    }

    #[test]
    fn refusals_the_rules_know_are_said_without_a_dialog() {
        let mut a = opened(Role::Agent, detail(AccountStatus::Closed));
        a.update(key('c'));
        assert!(a.dialog.is_none());
        assert!(matches!(&a.message, Some((Level::Error, m)) if m.contains("closed")));

        let mut credited = detail(AccountStatus::Active);
        credited.credits.push(Credit {
            id: 3,
            account_no: "310000001".to_string(),
            incident: "danger-2009-10".to_string(),
            kind: domain::CreditKind::Incident,
            amount_cents: 1999,
            currency: "USD".to_string(),
            agent: "bob".to_string(),
            approver: None,
            reason: String::new(),
            batch_run_id: None,
            reverses: None,
            created_at: t(2009, 10, 14),
        });
        let mut a = opened(Role::Agent, credited);
        a.update(key('c'));
        assert!(a.dialog.is_none());
        assert!(
            matches!(&a.message, Some((Level::Info, m)) if m.contains("already credited") && m.contains("#3"))
        );

        let mut a = opened(Role::Auditor, detail(AccountStatus::Active));
        a.update(key('c'));
        assert!(matches!(&a.message, Some((Level::Error, m)) if m.contains("may not")));
    }

    #[test]
    fn a_supervisor_cannot_approve_their_own_request() {
        let mut d = detail(AccountStatus::Active);
        d.requests.push(CreditRequest {
            id: 9,
            incident: "danger-2009-10".to_string(),
            kind: domain::CreditKind::Appreciation,
            amount_cents: 10_000,
            reason: "lost".to_string(),
            requested_by: "alice".to_string(),
            requested_at: t(2009, 10, 14),
            decided_by: None,
            credit_id: None,
        });
        let mut agent = opened(Role::Agent, d.clone());
        agent.update(key('A'));
        assert!(matches!(&agent.message, Some((Level::Error, m)) if m.contains("may not")));
        let mut own = opened(Role::Supervisor, d.clone());
        own.update(key('A'));
        assert!(own.dialog.is_none());
        let mut other = opened(Role::Supervisor, d);
        other.actor.login = "omar".to_string();
        other.update(key('A'));
        assert!(other.dialog.is_some());
        assert_eq!(
            other.update(key('y')),
            vec![Effect::Run(Command::Approve {
                account_id: 7,
                request_id: 9
            })]
        );
    }

    #[test]
    fn a_note_is_typed_then_confirmed_and_its_keys_are_text() {
        let mut a = opened(Role::Agent, detail(AccountStatus::Active));
        a.update(key('n'));
        for c in "call back q".chars() {
            a.update(key(c));
        }
        assert!(!a.quit && a.input.as_ref().is_some_and(|i| i.text == "call back q"));
        a.update(code(KeyCode::Enter));
        assert_eq!(a.dialog.as_ref().map(|d| d.focus), Some(Button::Cancel));
        let e = a.update(key('y'));
        assert_eq!(
            e,
            vec![Effect::Run(Command::AddNote {
                account_id: 7,
                account_no: "310000001".to_string(),
                text: "call back q".to_string()
            })]
        );
        let reload = a.update(Msg::Done {
            result: Ok("note #1 added".to_string()),
            reload: Some(7),
        });
        assert_eq!(
            reload,
            vec![Effect::LoadAccount { id: 7 }],
            "the account reloads after a change"
        );
    }

    fn with_backup(verification: &str) -> AccountDetail {
        let mut d = detail(AccountStatus::Active);
        d.backups.push(crate::store::Backup {
            id: "snap-1".to_string(),
            taken_at: t(2009, 10, 1),
            source: "server-snapshot".to_string(),
            verification: verification.parse().expect("verification"),
            categories: vec![
                crate::store::BackupCategory {
                    category: Category::Contacts,
                    item_count: 64,
                    bad_items: 0,
                },
                crate::store::BackupCategory {
                    category: Category::Photos,
                    item_count: 10,
                    bad_items: 10,
                },
            ],
        });
        d
    }

    fn report(seq_mode: Mode) -> RestoreReport {
        RestoreReport {
            restore_id: None,
            outcome: crate::store::RestoreOutcome::Preview,
            account_no: "310000001".to_string(),
            backup_id: "snap-1".to_string(),
            verification: domain::Verification::Verified,
            mode: seq_mode,
            result: "restored-partial".to_string(),
            categories: Vec::new(),
        }
    }

    #[test]
    fn a_restore_previews_first_and_applies_only_after_the_dialog() {
        let mut a = opened(Role::Agent, with_backup("verified"));
        let e = a.update(key('r'));
        assert_eq!(
            e,
            vec![Effect::RestorePreview {
                seq: 1,
                account_no: "310000001".to_string(),
                backup_id: "snap-1".to_string(),
                categories: vec![Category::Contacts],
                mode: Mode::Merge
            }],
            "only categories with good items are offered"
        );
        assert!(a.busy());
        assert!(
            a.update(code(KeyCode::Enter)).is_empty(),
            "nothing to confirm before the preview is in"
        );
        // Changing the mode asks again; the older preview is dropped when it arrives.
        let e = a.update(key('m'));
        assert!(matches!(
            &e[..],
            [Effect::RestorePreview {
                seq: 2,
                mode: Mode::KeepBoth,
                ..
            }]
        ));
        a.update(Msg::RestorePreviewed {
            seq: 1,
            result: Ok(Box::new(report(Mode::Merge))),
        });
        assert!(
            a.restore.as_ref().is_some_and(|p| p.preview.is_none()),
            "stale preview dropped"
        );
        a.update(Msg::RestorePreviewed {
            seq: 2,
            result: Ok(Box::new(report(Mode::KeepBoth))),
        });
        assert!(
            a.update(key('m')).len() == 1
                && a.restore.as_ref().is_some_and(|p| p.mode == Mode::Merge),
            "an agent never gets replace"
        );
        a.update(Msg::RestorePreviewed {
            seq: 3,
            result: Ok(Box::new(report(Mode::Merge))),
        });
        a.update(code(KeyCode::Enter));
        assert!(a.restore.is_none());
        assert_eq!(a.dialog.as_ref().map(|d| d.focus), Some(Button::Cancel));
        let e = a.update(key('y'));
        assert_eq!(
            e,
            vec![Effect::Run(Command::Restore {
                account_id: 7,
                account_no: "310000001".to_string(),
                backup_id: "snap-1".to_string(),
                categories: vec![Category::Contacts],
                mode: Mode::Merge
            })]
        );
    }

    #[test]
    fn a_supervisor_can_choose_replace_and_unchoosing_every_category_asks_nothing() {
        let mut a = opened(Role::Supervisor, with_backup("partial"));
        a.update(key('r'));
        a.update(key('m'));
        let e = a.update(key('m'));
        assert!(matches!(
            &e[..],
            [Effect::RestorePreview {
                mode: Mode::Replace,
                ..
            }]
        ));
        assert!(
            a.update(key(' ')).is_empty(),
            "no category chosen: nothing to preview"
        );
        a.update(code(KeyCode::Esc));
        assert!(a.restore.is_none());
    }

    #[test]
    fn a_corrupt_or_manifest_only_backup_is_refused_in_one_line() {
        for (verification, words) in [("corrupt", "corrupt"), ("manifest", "not loaded")] {
            let mut a = opened(Role::Agent, with_backup(verification));
            assert!(a.update(key('r')).is_empty());
            assert!(a.restore.is_none());
            assert!(
                matches!(&a.message, Some((Level::Error, m)) if m.contains(words)),
                "{verification}"
            );
        }
    }

    #[test]
    fn undo_is_a_supervisors_and_goes_through_a_dialog() {
        let mut agent = opened(Role::Agent, with_backup("verified"));
        assert!(agent.update(key('u')).is_empty());
        assert!(matches!(&agent.message, Some((Level::Error, m)) if m.contains("may not undo")));
        let mut sup = opened(Role::Supervisor, with_backup("verified"));
        let e = sup.update(key('u'));
        assert_eq!(
            e,
            vec![Effect::FindUndo {
                account_id: 7,
                account_no: "310000001".to_string()
            }]
        );
        let record = RestoreRecord {
            id: 4,
            account_no: "310000001".to_string(),
            backup_id: "snap-1".to_string(),
            mode: Mode::Merge,
            categories: Vec::new(),
            agent: "bob".to_string(),
            result: "restored-partial".to_string(),
            created_at: t(2009, 10, 14),
            undone_by: None,
            undone_at: None,
        };
        sup.update(Msg::UndoCandidate {
            account_id: 7,
            result: Ok(Some(record)),
        });
        assert_eq!(sup.dialog.as_ref().map(|d| d.focus), Some(Button::Cancel));
        assert_eq!(
            sup.update(key('y')),
            vec![Effect::Run(Command::Undo {
                account_id: 7,
                restore_id: 4
            })]
        );
        sup.update(key('u'));
        sup.update(Msg::UndoCandidate {
            account_id: 7,
            result: Ok(None),
        });
        assert!(sup.dialog.is_none());
    }

    #[test]
    fn a_device_resync_is_recorded_for_the_selected_category_after_a_dialog() {
        let mut a = opened(Role::Agent, detail(AccountStatus::Active));
        a.update(key('s'));
        assert!(
            a.dialog
                .as_ref()
                .is_some_and(|d| d.lines[0].contains("contacts"))
        );
        assert_eq!(
            a.update(key('y')),
            vec![Effect::Run(Command::Resync {
                account_id: 7,
                account_no: "310000001".to_string(),
                category: Category::Contacts
            })]
        );
    }

    #[test]
    fn leaving_the_field_makes_keys_actions_again() {
        let mut a = app(Role::Agent);
        a.update(code(KeyCode::Esc));
        assert!(!a.search_focus);
        assert_eq!(
            a.update(key('w')),
            vec![Effect::LoadWorklist { status: None }]
        );
        assert_eq!(a.screen, Screen::Worklist);
        assert_eq!(
            a.update(key('f')),
            vec![Effect::LoadWorklist {
                status: Some(CategoryStatus::AtRisk)
            }]
        );
        a.update(key('/'));
        assert!(a.search_focus && a.screen == Screen::Search);
        a.update(code(KeyCode::Esc));
        a.update(key('q'));
        assert!(a.quit);
    }
}
