//! The one interface the CLI and the TUI reach the use cases through, with two
//! implementations: in process (`Local`: a local SQLite file, or an operator's own PostgreSQL
//! login) and through a server (`Remote`: `--server URL`). The server's API is this interface
//! on the wire: each operation is one `Call` variant, answered with the JSON of what the
//! service returned, so every command and screen behaves, prints and exits the same either way.
//!
//! Each operation is declared once, in `operations!` below: its arguments, what it returns and
//! the service call that carries it out. The macro makes the `Call` variant, the `Desk` method
//! and the server's dispatch from that one line.

pub mod remote;
pub mod wire;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::checkpoint::{Checkpoint, Entry, Mismatch};
use crate::domain::restore::Mode;
use crate::domain::{
    AccountDetail, AccountSummary, Actor, Agent, Callback, CallbackState, Category, CategoryStatus,
    Change, Channel, Credit, CreditOutcome, Feed, Incident, MaskPolicy, PresenceReply,
    RejectOutcome, RequestOutcome, RequestStatus, RequestView, RestoreRecord, RestoreReport,
    ResyncReport, Role, UndoReport,
};
use crate::error::{Error, Result};
use crate::service::Service;
use crate::service::batch::{RunRequest, RunSummary};
use crate::service::credit::IncidentCredit;
use crate::service::incident::{IncidentChange, IncidentView};
use crate::store::{AdviceOutcome, AuditRecord, AuditVerification, ImportCounts, IncidentTotals};
pub use remote::Remote;

/// The in-process implementation: the service on this process's own connection, acting as
/// one login, re-resolved (active, role) on every call.
#[derive(Clone)]
pub struct Local {
    pub svc: Service,
    pub login: String,
}

impl Local {
    pub fn new(svc: Service, login: impl Into<String>) -> Self {
        Self {
            svc,
            login: login.into(),
        }
    }

    /// The acting agent as the database says now: unknown or disabled agents are refused
    /// before anything is read or written.
    pub async fn actor(&self) -> Result<Actor> {
        self.svc.actor_for(&self.login).await
    }
}

/// Where the use cases run.
#[derive(Clone)]
pub enum Desk {
    Local(Local),
    Remote(Remote),
}

/// Rows of the credit export fetched per call through a server.
pub const EXPORT_PAGE: usize = 5_000;

/// A batch run as it travels to a server: the accounts file's bytes as hex.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunCall {
    pub incident: Option<String>,
    pub accounts_name: Option<String>,
    #[serde(with = "hex::serde")]
    pub accounts: Vec<u8>,
    pub apply: bool,
    pub chunk: usize,
    pub shard: (i64, i64),
    pub max_total_cents: Option<i64>,
    pub skip_invalid: bool,
    /// Whether the caller wants the per-account report back as CSV.
    pub report: bool,
}

impl RunCall {
    pub fn from_request(req: &RunRequest, report: bool) -> Self {
        let (accounts_name, accounts) = match &req.accounts {
            Some((name, data)) => (Some(name.clone()), data.clone()),
            None => (None, Vec::new()),
        };
        Self {
            incident: req.incident.clone(),
            accounts_name,
            accounts,
            apply: req.apply,
            chunk: req.chunk,
            shard: req.shard,
            max_total_cents: req.max_total_cents,
            skip_invalid: req.skip_invalid,
            report,
        }
    }

    pub fn request(&self) -> RunRequest {
        RunRequest {
            incident: self.incident.clone(),
            accounts: self
                .accounts_name
                .clone()
                .map(|name| (name, self.accounts.clone())),
            apply: self.apply,
            chunk: self.chunk,
            shard: self.shard,
            max_total_cents: self.max_total_cents,
            skip_invalid: self.skip_invalid,
        }
    }
}

/// What a batch run through a server answers: its summary and, when asked, its report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReply {
    pub summary: RunSummary,
    pub report_csv: Option<String>,
}

/// An import as it travels to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Accounts,
    Impact,
    Backups,
}

macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        $name:ident / $Variant:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty
            = |$svc:ident, $actor:ident| $body:expr;
    )*) => {
        /// One use case and its arguments, as the server receives it.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "op", content = "args", rename_all = "snake_case")]
        pub enum Call {
            $( $Variant { $($arg: $ty),* }, )*
        }

        /// Each use case, carried out in process for `actor`.
        mod ops {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[allow(clippy::too_many_arguments, unused_variables)]
                pub(super) async fn $name($svc: &Service, $actor: &Actor, $($arg: $ty),*) -> Result<$ret> {
                    $body
                }
            )*
        }

        impl Desk {
            $(
                $(#[$doc])*
                #[allow(clippy::too_many_arguments)]
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                    match self {
                        Desk::Local(local) => {
                            let actor = local.actor().await?;
                            ops::$name(&local.svc, &actor, $($arg),*).await
                        }
                        Desk::Remote(remote) => remote.call(&Call::$Variant { $($arg),* }).await,
                    }
                }
            )*
        }

        /// The server's side: carries out `call` for `actor` and answers with its JSON.
        pub async fn dispatch(svc: &Service, actor: &Actor, call: Call) -> Result<serde_json::Value> {
            match call {
                $(
                    Call::$Variant { $($arg),* } => {
                        let out = ops::$name(svc, actor, $($arg),*).await?;
                        serde_json::to_value(&out)
                            .map_err(|e| Error::System(format!("cannot encode the answer: {e}")))
                    }
                )*
            }
        }
    };
}

operations! {
    /// Who this desk acts as, checked now.
    whoami / Whoami() -> Actor = |svc, actor| Ok(actor.clone());
    /// Search as you type (masked for the roles the policy masks).
    search / Search(query: String, limit: usize) -> Vec<AccountSummary>
        = |svc, actor| svc.search(actor, &query, limit).await;
    /// An account by number or phone (`reveal`: unmasked, audited).
    show / Show(account: String, reveal: bool) -> AccountDetail = |svc, actor| {
        if reveal { svc.show_revealed(actor, &account).await } else { svc.show(actor, &account).await }
    };
    /// An account by its id (the screens), as `show`.
    detail / Detail(id: i64, reveal: bool) -> AccountDetail = |svc, actor| {
        if reveal { svc.detail_revealed(actor, id).await } else { svc.detail(actor, id).await }
    };
    /// A screen's heartbeat for the account it has open (`account` left out: none), answered
    /// with who else has it open.
    presence / Presence(screen: String, account: Option<i64>) -> PresenceReply
        = |svc, actor| svc.presence_beat(actor, &screen, account).await;
    /// The account on this agent's screen, re-read after it changed (not a new view).
    refresh / Refresh(id: i64) -> AccountDetail = |svc, actor| svc.refresh(actor, id).await;
    /// This agent's worklist: due callbacks, at-risk accounts nobody advised, then by status.
    worklist / Worklist(status: Option<CategoryStatus>, limit: usize) -> crate::domain::Worklist
        = |svc, actor| svc.worklist(actor, status, limit).await;
    add_note / AddNote(account: String, text: String) -> (AccountSummary, i64)
        = |svc, actor| svc.add_note(actor, &account, &text).await;
    declare_loss / DeclareLoss(account: String, incident: Option<String>, category: Category, reason: String) -> bool
        = |svc, actor| svc.declare_loss(actor, &account, incident.as_deref(), category, &reason).await;
    incidents / Incidents() -> Vec<Incident> = |svc, actor| svc.incidents().await;
    /// Every incident with whether it is open and how many credits it has.
    incident_list / IncidentList() -> Vec<IncidentView> = |svc, actor| svc.incident_views(actor).await;
    incident_show / IncidentShow(id: String) -> IncidentView = |svc, actor| svc.incident_show(actor, &id).await;
    /// A definition read from an incident file by the caller; checked again by the service.
    incident_create / IncidentCreate(incident: Incident) -> IncidentChange
        = |svc, actor| svc.incident_create(actor, &incident).await;
    incident_edit / IncidentEdit(id: String, edit: crate::domain::IncidentEdit) -> IncidentChange
        = |svc, actor| svc.incident_edit(actor, &id, &edit).await;
    /// The dashboard's figures (callbacks due by `day_end`, the end of the asker's day).
    totals / Totals(day_end: Option<DateTime<Utc>>) -> IncidentTotals
        = |svc, actor| svc.totals(actor, day_end).await;
    /// The customer was read the advisory (`incident`: the one the account is at risk in).
    advise / Advise(account: String, incident: Option<String>, channel: Channel) -> AdviceOutcome
        = |svc, actor| svc.advise(actor, &account, incident.as_deref(), channel).await;
    callback_add / CallbackAdd(account: String, due_at: DateTime<Utc>, note: String) -> Callback
        = |svc, actor| svc.callback_add(actor, &account, due_at, &note).await;
    /// A callback done or cancelled, and whether this call changed it.
    callback_close / CallbackClose(id: i64, state: CallbackState) -> (Callback, bool)
        = |svc, actor| svc.callback_close(actor, id, state).await;
    /// Pending callbacks, earliest first (`mine`: this agent's; `due`: due now).
    callbacks / Callbacks(mine: bool, due: bool, limit: usize) -> Vec<Callback>
        = |svc, actor| svc.callbacks(actor, mine, due, limit).await;
    outreach_export / OutreachExport(incident: Option<String>, channel: Channel, limit: Option<usize>) -> crate::domain::OutreachExport
        = |svc, actor| svc.outreach_export(actor, incident.as_deref(), channel, limit).await;
    /// A gateway's delivery report, as its file's bytes.
    outreach_delivered / OutreachDelivered(source: String, data: HexBytes) -> crate::domain::DeliveryOutcome
        = |svc, actor| svc.outreach_delivered(actor, &source, &data.0).await;

    credit_apply / CreditApply(account: String, incident: Option<String>, dry_run: bool) -> IncidentCredit
        = |svc, actor| svc.credit_apply(actor, &account, incident.as_deref(), dry_run).await;
    credit_request / CreditRequest(account: String, incident: Option<String>, reason: String) -> RequestOutcome
        = |svc, actor| svc.credit_request(actor, &account, incident.as_deref(), &reason).await;
    credit_approve / CreditApprove(request_id: i64) -> CreditOutcome
        = |svc, actor| svc.credit_approve(actor, request_id).await;
    credit_reject / CreditReject(request_id: i64, reason: String) -> RejectOutcome
        = |svc, actor| svc.credit_reject(actor, request_id, &reason).await;
    /// The requests of every account in a status (all when `None`), oldest first.
    credit_requests / CreditRequests(status: Option<RequestStatus>, limit: usize) -> Vec<RequestView>
        = |svc, actor| svc.credit_requests(actor, status, limit).await;
    goodwill_cap / GoodwillCap() -> i64 = |svc, actor| svc.goodwill_cap().await;
    set_goodwill_cap / SetGoodwillCap(cents: i64) -> ()
        = |svc, actor| svc.set_goodwill_cap(actor, crate::domain::Cents(cents)).await;
    credit_goodwill / CreditGoodwill(account: String, incident: Option<String>, cents: i64, reason: String, key: Option<String>) -> CreditOutcome
        = |svc, actor| svc.credit_goodwill(actor, &account, incident.as_deref(), crate::domain::Cents(cents), &reason, key.as_deref()).await;
    credit_reverse / CreditReverse(credit_id: i64, reason: String) -> CreditOutcome
        = |svc, actor| svc.credit_reverse(actor, credit_id, &reason).await;
    /// One page of the credit export: credits after `after` (an id), oldest first.
    credit_export_page / CreditExportPage(since: Option<DateTime<Utc>>, after: i64, limit: usize) -> Vec<Credit>
        = |svc, actor| svc.credit_export_page(actor, since, after, limit).await;
    credit_run_call / CreditRun(run: RunCall) -> RunReply = |svc, actor| run_here(svc, actor, run).await;
    /// The batch runs going now and how far each is.
    running_runs / RunningRuns() -> Vec<crate::domain::BatchRun> = |svc, actor| svc.running_runs(actor).await;

    restore_preview / RestorePreview(account: String, backup_id: String, categories: Vec<Category>, mode: Mode) -> RestoreReport
        = |svc, actor| svc.restore_preview(actor, &account, &backup_id, &categories, mode).await;
    restore_apply / RestoreApply(account: String, backup_id: String, categories: Vec<Category>, mode: Mode) -> RestoreReport
        = |svc, actor| svc.restore_apply(actor, &account, &backup_id, &categories, mode).await;
    restore_undo / RestoreUndo(restore_id: i64) -> UndoReport
        = |svc, actor| svc.restore_undo(actor, restore_id).await;
    restores / Restores(account: String) -> Vec<RestoreRecord>
        = |svc, actor| svc.restores(actor, &account).await;
    record_resync / RecordResync(account: String, incident: Option<String>, category: Category, items: Option<i64>) -> ResyncReport
        = |svc, actor| svc.record_resync(actor, &account, incident.as_deref(), category, items).await;
    import_data / Import(kind: ImportKind, source: String, data: HexBytes) -> ImportCounts
        = |svc, actor| import_here(svc, actor, kind, &source, data.0).await;

    agents / Agents() -> Vec<Agent> = |svc, actor| svc.agents(actor).await;
    add_agent / AddAgent(login: String, display_name: Option<String>, role: Role) -> ()
        = |svc, actor| svc.add_agent(actor, &login, display_name.as_deref(), role).await;
    disable_agent / DisableAgent(login: String) -> bool
        = |svc, actor| svc.disable_agent(actor, &login).await;
    enable_agent / EnableAgent(login: String) -> bool
        = |svc, actor| svc.enable_agent(actor, &login).await;
    set_agent_role / SetAgentRole(login: String, role: Role) -> bool
        = |svc, actor| svc.set_agent_role(actor, &login, role).await;
    /// A supervisor sets a new one-time password for `login` and is shown it once.
    reset_password / ResetPassword(login: String) -> String
        = |svc, actor| svc.reset_password(actor, &login).await;
    mask_policy / MaskPolicyGet() -> MaskPolicy = |svc, actor| Ok(svc.mask_policy().clone());
    set_mask_policy / SetMaskPolicy(policy: MaskPolicy) -> ()
        = |svc, actor| svc.set_mask_policy(actor, &policy).await;

    audit_verify / AuditVerify() -> AuditVerification = |svc, actor| svc.audit_verify(actor).await;
    audit_verify_checkpoints / AuditVerifyCheckpoints(source: String, entries: Vec<Entry>) -> (AuditVerification, Vec<Mismatch>)
        = |svc, actor| svc.audit_verify_checkpoints(actor, &source, &entries).await;
    audit_checkpoint / AuditCheckpoint(source: String, entries: Vec<Entry>) -> Checkpoint
        = |svc, actor| svc.audit_checkpoint(actor, &source, &entries).await;
    audit_log / AuditLog(account: Option<String>, since: Option<DateTime<Utc>>, limit: usize) -> Vec<AuditRecord>
        = |svc, actor| svc.audit_log(actor, account.as_deref(), since, limit).await;
}

/// Bytes as hex on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HexBytes(#[serde(with = "hex::serde")] pub Vec<u8>);

impl Desk {
    /// What the status bar and messages name: the database file or URL, or the server.
    pub fn display(&self) -> String {
        match self {
            Desk::Local(l) => l.svc.url().display(),
            Desk::Remote(r) => r.display(),
        }
    }

    /// What changes on the database, into `tx` until it closes: from this process's own
    /// watcher of the database, or from the server's event stream, which reconnects by itself.
    pub fn listen(&self, tx: tokio::sync::mpsc::UnboundedSender<Feed>) {
        match self {
            Desk::Local(local) => {
                let mut rx = local.svc.feed();
                tokio::spawn(async move {
                    use tokio::sync::broadcast::error::RecvError;
                    loop {
                        let next = tokio::select! {
                            next = rx.recv() => next,
                            // The screen went: stop at once, not at the next change.
                            _ = tx.closed() => return,
                        };
                        let feed = match next {
                            Ok(feed) => feed,
                            Err(RecvError::Lagged(_)) => Feed::Change(Change::everything()),
                            Err(RecvError::Closed) => return,
                        };
                        if tx.send(feed).is_err() {
                            return;
                        }
                    }
                });
            }
            Desk::Remote(remote) => remote.listen(tx),
        }
    }

    /// Closes the database pool of a desk in process (a server's connection just goes).
    pub async fn close(&self) {
        if let Desk::Local(l) = self {
            l.svc.close().await;
        }
    }

    /// The ledger for billing, oldest first, handed to `each` one credit at a time: streamed
    /// in process, fetched a page at a time through a server.
    pub async fn credit_export(
        &self,
        since: Option<DateTime<Utc>>,
        mut each: impl FnMut(Credit) -> Result<()>,
    ) -> Result<()> {
        match self {
            Desk::Local(local) => {
                let actor = local.actor().await?;
                local.svc.credit_export(&actor, since, each).await
            }
            Desk::Remote(_) => {
                let mut after = 0;
                loop {
                    let page = self.credit_export_page(since, after, EXPORT_PAGE).await?;
                    let full = page.len() == EXPORT_PAGE;
                    for c in page {
                        after = c.id;
                        each(c)?;
                    }
                    if !full {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// A batch run: in process with a progress callback, Ctrl-C (`cancel`) and the report
    /// written as it goes; through a server it runs there (and goes on if this client goes
    /// away), and the report comes back at the end.
    pub async fn credit_run(
        &self,
        req: &RunRequest,
        progress: &(dyn Fn(u64, u64) + Sync),
        cancel: &std::sync::atomic::AtomicBool,
        report: Option<&std::path::Path>,
    ) -> Result<RunSummary> {
        match self {
            Desk::Local(local) => {
                let actor = local.actor().await?;
                local
                    .svc
                    .credit_run(&actor, req, progress, cancel, report)
                    .await
            }
            Desk::Remote(_) => {
                // The run goes on on the server; meanwhile its progress is asked for every
                // half second (the accounts done so far of this login's running run).
                let call = self.credit_run_call(RunCall::from_request(req, report.is_some()));
                tokio::pin!(call);
                let me = self.whoami().await?.login;
                let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
                let reply = loop {
                    tokio::select! {
                        reply = &mut call => break reply?,
                        _ = tick.tick() => {
                            if let Ok(runs) = self.running_runs().await
                                && let Some(run) = runs.iter().rev().find(|r| r.started_by == me)
                            {
                                let done = u64::try_from(run.tally.selected).unwrap_or(0);
                                progress(done, done);
                            }
                        }
                    }
                };
                if let (Some(path), Some(csv)) = (report, &reply.report_csv) {
                    std::fs::write(path, csv).map_err(|e| {
                        Error::io(format!("cannot write the report {}", path.display()), e)
                    })?;
                }
                Ok(reply.summary)
            }
        }
    }

    /// An import of a file's bytes (`source` names it in messages).
    pub async fn import(
        &self,
        kind: ImportKind,
        source: &str,
        data: Vec<u8>,
    ) -> Result<ImportCounts> {
        self.import_data(kind, source.to_string(), HexBytes(data))
            .await
    }
}

/// A batch run carried out here for a caller elsewhere: no progress bar, and the report in a
/// temporary file read back into the answer.
async fn run_here(svc: &Service, actor: &Actor, run: RunCall) -> Result<RunReply> {
    let req = run.request();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    // A private directory, removed when it goes out of scope (whatever happens below).
    let dir = run
        .report
        .then(|| {
            tempfile::Builder::new()
                .prefix("caredesk-run-")
                .tempdir()
                .map_err(|e| Error::io("cannot make a directory for the report", e))
        })
        .transpose()?;
    let path = dir.as_ref().map(|d| d.path().join("report.csv"));
    let result = svc
        .credit_run(actor, &req, &|_, _| {}, &cancel, path.as_deref())
        .await;
    let report_csv = match &path {
        Some(p) if p.exists() => Some(
            std::fs::read_to_string(p)
                .map_err(|e| Error::io("cannot read the run's report back", e))?,
        ),
        _ => None,
    };
    Ok(RunReply {
        summary: result?,
        report_csv,
    })
}

async fn import_here(
    svc: &Service,
    actor: &Actor,
    kind: ImportKind,
    source: &str,
    data: Vec<u8>,
) -> Result<ImportCounts> {
    match kind {
        ImportKind::Accounts => svc.import_accounts_file(actor, source, data).await,
        ImportKind::Impact => svc.import_impact_file(actor, source, data).await,
        ImportKind::Backups => svc.import_backups_file(actor, source, data).await,
    }
}
