//! The messages between the screen and the rest: effects the screen asks for, commands the
//! agent confirmed, and what the terminal and the worker tell the screen.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::domain::restore::Mode;
use crate::domain::{
    AccountDetail, AccountSummary, Actor, RequestView, RestoreRecord, RestoreReport,
};
use crate::domain::{BatchRun, Feed, PresenceReply};
use crate::domain::{Category, CategoryStatus};
use crate::store::IncidentTotals;

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
    /// The batch runs going now (the dashboard shows how far each is).
    LoadRuns,
    /// The pending appreciation requests of every account (the approvals queue).
    LoadApprovals,
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
    /// The account on screen, re-read after another agent changed it (not a new view).
    RefreshAccount {
        id: i64,
    },
    /// This screen's heartbeat: the account it has open, or none.
    Beat {
        screen: String,
        account: Option<i64>,
    },
    /// Who this agent is now (disabled? another role?).
    CheckMe,
}

/// A change the agent confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    ApplyCredit {
        account_id: i64,
        account_no: String,
        incident: String,
    },
    RequestAppreciation {
        account_id: i64,
        account_no: String,
        incident: String,
        reason: String,
    },
    Approve {
        account_id: i64,
        request_id: i64,
    },
    Reject {
        account_id: i64,
        request_id: i64,
        reason: String,
    },
    AddNote {
        account_id: i64,
        account_no: String,
        text: String,
    },
    DeclareLoss {
        account_id: i64,
        account_no: String,
        incident: String,
        category: Category,
        reason: String,
    },
    Advise {
        account_id: i64,
        account_no: String,
        incident: String,
    },
    Callback {
        account_id: i64,
        account_no: String,
        due_at: chrono::DateTime<chrono::Utc>,
        note: String,
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
        incident: String,
        category: Category,
    },
}

/// What the terminal and the worker tell the screen.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    Tick,
    /// A second passed (heartbeats, the slow re-check, "2 min").
    Second(chrono::DateTime<chrono::Utc>),
    /// What changed on the database, or that the link to it dropped or came back.
    Live(Feed),
    /// Who else has the account open, as a heartbeat answered.
    Presence {
        account: Option<i64>,
        result: Result<PresenceReply, String>,
    },
    /// Who this agent is now; the error says whether the agent was refused.
    Me(Result<Actor, (String, bool)>),
    SearchDone {
        seq: u64,
        query: String,
        result: Result<Vec<AccountSummary>, String>,
    },
    /// The worker's answer to `LoadAccount { id }` or `RevealAccount { id }`: the account asked
    /// for is the request's key, so an answer for an account the agent left is dropped.
    AccountAnswer {
        id: i64,
        result: Result<Box<AccountDetail>, String>,
    },
    /// An account as a test or a bench hands it over (the worker answers `AccountAnswer`);
    /// it is taken only when it is the account asked for or on screen.
    AccountLoaded(Result<Box<AccountDetail>, String>),
    WorklistLoaded(Result<crate::domain::Worklist, String>),
    DashboardLoaded(Result<IncidentTotals, String>),
    RunsLoaded(Result<Vec<BatchRun>, String>),
    /// The approvals queue, and when it was read (what the ages on screen count from).
    ApprovalsLoaded {
        at: chrono::DateTime<chrono::Utc>,
        result: Result<Vec<RequestView>, String>,
    },
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
