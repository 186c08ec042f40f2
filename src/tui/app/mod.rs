//! The agents' screen as data: `App` holds the state, `update(msg)` changes it and returns the
//! effects to run (queries, actions), never waiting on I/O itself. The worker runs effects and
//! answers with messages; the view only reads `App`. Each screen and overlay keeps its keys and
//! its answers in its own module; this one decides which of them has the keys (`Mode`).

mod account;
mod approvals;
mod dashboard;
mod dialog;
mod help;
mod live;
mod msg;
mod restore;
mod search;
mod worklist;

#[cfg(test)]
mod tests;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::keymap::{Action, Keymap};
use crate::domain::{self, CategoryStatus};
use crate::domain::{AccountDetail, AccountSummary, Actor, RequestView};
use crate::store::IncidentTotals;

pub use approvals::APPROVALS_LIMIT;
pub use dialog::{Button, Confirm, Dialog, InputPurpose, TextInput};
pub use live::{EVERYTHING_SECS, Live, RECHECK_SECS};
pub use msg::{Command, Effect, Msg};
pub use restore::RestorePanel;

/// Results the search asks for.
pub const SEARCH_LIMIT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Search,
    Account,
    Worklist,
    Dashboard,
    Approvals,
}

/// A panel drawn over the screen that takes the keys while it is open.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    Restore(RestorePanel),
    Input(TextInput),
    Dialog(Dialog),
}

/// What has the keys now: the topmost overlay, else the search field, else the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiMode {
    Dialog,
    Input,
    Restore,
    Help,
    SearchField,
    Screen(Screen),
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
    /// The account asked for and not answered yet: only its answer is taken.
    account_request: Option<i64>,
    /// The account the agent chose to see unmasked: its reloads stay unmasked.
    revealed: Option<i64>,
    pub category_selected: usize,

    pub worklist: crate::domain::Worklist,
    pub worklist_filter: Option<CategoryStatus>,
    pub worklist_selected: usize,
    pub loading_worklist: bool,

    pub totals: Option<IncidentTotals>,
    pub loading_dashboard: bool,
    /// The batch runs going now, as last read with the dashboard.
    pub runs: Vec<domain::BatchRun>,

    /// The pending appreciation requests of every account, oldest first.
    pub approvals: Vec<RequestView>,
    pub approvals_selected: usize,
    pub loading_approvals: bool,
    /// When the queue on screen was read: the requests' ages count from it.
    pub approvals_at: chrono::DateTime<chrono::Utc>,

    /// Open overlays, the topmost last (an undo dialog can arrive over another one).
    overlays: Vec<Overlay>,
    pub message: Option<(Level, String)>,
    pub running: usize,
    pub spinner: usize,
    pub quit: bool,
    /// Presence and the change feed.
    pub live: Live,
    /// The zone times are shown and typed in (the agent's own).
    pub zone: crate::tui::zone::Zone,
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
            account_request: None,
            revealed: None,
            category_selected: 0,
            worklist: Default::default(),
            worklist_filter: None,
            worklist_selected: 0,
            loading_worklist: false,
            totals: None,
            loading_dashboard: false,
            runs: Vec::new(),
            approvals: Vec::new(),
            approvals_selected: 0,
            loading_approvals: false,
            approvals_at: chrono::DateTime::UNIX_EPOCH,
            overlays: Vec::new(),
            message: None,
            running: 0,
            spinner: 0,
            quit: false,
            live: Live::default(),
            zone: crate::tui::zone::Zone::default(),
        }
    }

    /// What has the keys now.
    pub fn mode(&self) -> UiMode {
        match self.overlays.last() {
            Some(Overlay::Dialog(_)) => UiMode::Dialog,
            Some(Overlay::Input(_)) => UiMode::Input,
            Some(Overlay::Restore(_)) => UiMode::Restore,
            Some(Overlay::Help) => UiMode::Help,
            None if self.screen == Screen::Search && self.search_focus => UiMode::SearchField,
            None => UiMode::Screen(self.screen),
        }
    }

    /// The open overlays, bottom first, for the view to draw in that order.
    pub fn overlays(&self) -> &[Overlay] {
        &self.overlays
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.overlays.iter().rev().find_map(|o| match o {
            Overlay::Dialog(d) => Some(d),
            _ => None,
        })
    }

    pub fn input(&self) -> Option<&TextInput> {
        self.overlays.iter().rev().find_map(|o| match o {
            Overlay::Input(i) => Some(i),
            _ => None,
        })
    }

    pub fn restore(&self) -> Option<&RestorePanel> {
        self.overlays.iter().rev().find_map(|o| match o {
            Overlay::Restore(p) => Some(p),
            _ => None,
        })
    }

    pub fn help(&self) -> bool {
        self.overlays.iter().any(|o| matches!(o, Overlay::Help))
    }

    /// Whether an account is asked for and not answered yet.
    pub fn loading_account(&self) -> bool {
        self.account_request.is_some()
    }

    /// Whether anything is in flight (the spinner turns, and only then the loop ticks).
    pub fn busy(&self) -> bool {
        self.searching
            || self.loading_account()
            || self.loading_worklist
            || self.loading_dashboard
            || self.loading_approvals
            || self.running > 0
            || self.restore().is_some_and(|r| r.loading)
    }

    fn open(&mut self, overlay: Overlay) {
        self.overlays.push(overlay);
    }

    /// Closes the topmost overlay.
    fn close(&mut self) -> Option<Overlay> {
        self.overlays.pop()
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
            Msg::Second(now) => self.on_second(now),
            Msg::Live(feed) => self.on_feed(feed),
            Msg::Presence { account, result } => self.on_presence(account, result),
            Msg::Me(result) => self.on_me(result),
            Msg::SearchDone { seq, query, result } => self.on_search_done(seq, query, result),
            Msg::AccountAnswer { id, result } => self.on_account_answer(id, result),
            Msg::AccountLoaded(result) => {
                let id = match &result {
                    Ok(d) => Some(d.summary.id),
                    Err(_) => self.account_request,
                };
                match id {
                    Some(id) => self.on_account_answer(id, result),
                    None => Vec::new(),
                }
            }
            Msg::WorklistLoaded(r) => self.on_worklist_loaded(r),
            Msg::DashboardLoaded(r) => self.on_dashboard_loaded(r),
            Msg::RunsLoaded(r) => self.on_runs_loaded(r),
            Msg::ApprovalsLoaded { at, result } => self.on_approvals_loaded(at, result),
            Msg::RestorePreviewed { seq, result } => self.on_restore_previewed(seq, result),
            Msg::UndoCandidate { account_id, result } => self.on_undo_candidate(account_id, result),
            Msg::Done { result, reload } => self.on_done(result, reload),
        }
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        if let Some(reason) = &self.live.stopped {
            if self.keymap.action(&k) == Some(Action::Quit) {
                self.quit = true;
            } else {
                let text = format!("{reason}; this screen can do nothing more (q quits)");
                self.error(text);
            }
            return Vec::new();
        }
        let mut effects = match self.mode() {
            UiMode::Dialog => self.on_dialog_key(k),
            UiMode::Input => self.on_input_key(k),
            UiMode::Restore => self.on_restore_key(k),
            UiMode::Help => self.on_help_key(k),
            UiMode::SearchField => self.on_search_field_key(k),
            UiMode::Screen(_) => match self.keymap.action(&k) {
                Some(action) => self.on_action(action),
                None => Vec::new(),
            },
        };
        // Leaving an account lets go of its presence at once.
        if self.present_on().is_none() {
            effects.extend(self.beat_if_moved());
        }
        effects
    }

    fn on_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.open(Overlay::Help);
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
                self.load_worklist()
            }
            Action::Dashboard => {
                self.go(Screen::Dashboard);
                self.load_dashboard()
            }
            Action::Approvals => self.open_approvals(),
            Action::Refresh => self.refresh(),
            Action::Up | Action::Down => {
                self.move_selection(if action == Action::Up { -1 } else { 1 });
                Vec::new()
            }
            Action::Open => match self.screen {
                Screen::Search => self.open_selected_result(),
                Screen::Worklist => self.open_selected_worklist_row(),
                Screen::Approvals => self.open_selected_request(),
                _ => Vec::new(),
            },
            Action::Filter if self.screen == Screen::Worklist => self.next_worklist_filter(),
            Action::Credit => self.on_account(Self::ask_credit),
            Action::Appreciation => self.on_account(Self::ask_appreciation),
            Action::Approve if self.screen == Screen::Approvals => self.ask_approve(),
            Action::Approve => self.on_account(|app, _| app.ask_approve()),
            Action::Reject if self.screen == Screen::Approvals => self.ask_reject(),
            Action::Reject => self.on_account(|app, _| app.ask_reject()),
            Action::Note => self.on_account(|app, _| {
                app.open(Overlay::Input(TextInput::new(InputPurpose::Note)));
                Vec::new()
            }),
            Action::Advise => self.on_account(Self::ask_advise),
            Action::Callback => self.on_account(Self::ask_callback),
            Action::DeclareLoss => self.on_account(Self::ask_declare_loss),
            Action::Restore => self.on_account(Self::open_restore),
            Action::Undo => self.on_account(Self::find_undo),
            Action::Resync => self.on_account(Self::ask_resync),
            Action::Reveal if self.screen == Screen::Account => self.reveal(),
            Action::Reveal | Action::Filter => Vec::new(),
            // Keys of the restore panel and of dialogs mean nothing on a screen.
            Action::RestoreChoose
            | Action::RestoreMode
            | Action::RestoreApply
            | Action::Confirm
            | Action::Cancel
            | Action::Press
            | Action::SwitchButton => Vec::new(),
        }
    }

    fn refresh(&mut self) -> Vec<Effect> {
        match self.screen {
            Screen::Search => self.search_effect(),
            Screen::Account => match &self.account {
                Some(a) => {
                    let id = a.summary.id;
                    vec![self.load_account(id)]
                }
                None => Vec::new(),
            },
            Screen::Worklist => self.load_worklist(),
            Screen::Dashboard => self.load_dashboard(),
            Screen::Approvals => self.load_approvals(),
        }
    }

    fn move_selection(&mut self, delta: isize) {
        let (sel, len) = match self.screen {
            Screen::Search => (&mut self.selected, self.results.len()),
            Screen::Worklist => (&mut self.worklist_selected, self.worklist.entries.len()),
            Screen::Approvals => (&mut self.approvals_selected, self.approvals.len()),
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
            // Keys arrive faster than the account's details: say so, not that none is open.
            (Screen::Account, None) if self.loading_account() => {
                self.info("the account is still loading; press the key again once it shows");
                Vec::new()
            }
            _ => {
                self.error("open an account first (search, then Enter)");
                Vec::new()
            }
        }
    }

    /// Whether the agent's role allows `p`; if not, says so (the service checks again).
    fn allowed(&mut self, p: domain::Permission) -> bool {
        match self.actor.role.permit(&self.actor.login, p) {
            Ok(()) => true,
            Err(refused) => {
                self.error(refused.to_string());
                false
            }
        }
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
