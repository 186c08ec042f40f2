//! The use cases both faces share: who is acting, what they may do, and the store calls that
//! carry each request out. A rule lives here once; the CLI and the TUI only present it.

pub mod admin;
pub mod batch;
pub mod contact;
pub mod credit;
pub mod incident;
pub mod live;
pub mod restore;
pub mod session;

use std::sync::Arc;

use crate::domain::{self, Clock, MaskPolicy, Permission, Role};
use crate::domain::{AccountDetail, AccountSummary, Actor, Agent, AgentChange, Incident};
use crate::error::{Error, Result};
use crate::store::{
    AuditRecord, AuditVerification, ConnectOptions, DbUrl, ImportCounts, ImportRows, NewAccount,
    NewImpact, ParsedChunk, Store,
};
use crate::with_store;

/// Longest note an agent can add, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;

#[derive(Clone)]
pub struct Service {
    pub(crate) store: Store,
    url: DbUrl,
    clock: Arc<dyn Clock>,
    /// Which roles see customers masked, as the database said when it was opened.
    mask: MaskPolicy,
    /// Rows per chunk of an import (all chunks in one transaction).
    import_chunk: usize,
    /// The change feed of this process's screens or server, started at its first listener.
    live: live::Hub,
    /// How long an open account stays marked open after its screen's last heartbeat.
    presence_lapse: chrono::TimeDelta,
}

/// The `meta` key of the masking policy.
const MASK_KEY: &str = "mask_roles";

/// How `Service::open` treats a database whose schema is behind this binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Migrate an empty database; refuse one with data and pending migrations (the operator
    /// runs `db migrate`, which takes a backup first).
    Normal,
    /// Connect without looking at the schema (for `db migrate` and `db backup`).
    Raw,
}

impl Service {
    pub async fn open(
        url: &DbUrl,
        opts: &ConnectOptions,
        clock: Arc<dyn Clock>,
        mode: OpenMode,
    ) -> Result<Self> {
        let store = Store::connect(url, opts).await?;
        let svc = Self {
            store,
            url: url.clone(),
            clock,
            mask: MaskPolicy::default(),
            import_chunk: crate::store::IMPORT_CHUNK,
            live: live::Hub::default(),
            presence_lapse: live::presence_lapse_from_env()?,
        };
        if mode == OpenMode::Normal {
            // A file that is not a database, or is damaged, locked or read-only, fails on
            // these first reads: named here, where the URL is known.
            return svc
                .check_schema()
                .await
                .map_err(|e| e.on_database(&url.display()));
        }
        Ok(svc)
    }

    /// Migrates an empty database, refuses one with data that is behind this binary, and
    /// reads the masking policy.
    async fn check_schema(mut self) -> Result<Self> {
        let pending = with_store!(&self.store, s => s.pending_migrations().await)?;
        if !pending.is_empty() {
            let holds_data = with_store!(&self.store, s => s.holds_data().await)?;
            if holds_data {
                let how = match self.url {
                    DbUrl::Sqlite(_) => "which copies it beside itself first",
                    DbUrl::Postgres(_) => {
                        "which first backs it up with pg_dump when pg_dump is installed here (else it gives the pg_dump command to run, and --backup-taken FILE to say you did)"
                    }
                };
                return Err(Error::refused(format!(
                    "the database {} needs {} migration(s); run `caredesk db migrate`, {how}",
                    self.url.display(),
                    pending.len()
                )));
            }
            with_store!(&self.store, s => s.migrate().await)?;
        }
        if let Some(text) = with_store!(&self.store, s => s.meta(MASK_KEY).await)? {
            self.mask = MaskPolicy::from_text(&text).map_err(|e| {
                Error::System(format!("the database's masking policy is unreadable: {e}"))
            })?;
        }
        Ok(self)
    }

    /// Rows per chunk of the imports (default `store::IMPORT_CHUNK`): what one query reads and
    /// one statement per table writes, inside the import's one transaction. Tests set it small
    /// to cross chunk boundaries with a few rows.
    pub fn set_import_chunk(&mut self, rows: usize) {
        self.import_chunk = rows.max(1);
    }

    /// Accounts in one import above which SQLite's search index is merged once at the end
    /// rather than while the rows go in (default 50,000). Tests set it small to cross it.
    pub fn set_search_merge_threshold(&mut self, accounts: usize) {
        with_store!(&mut self.store, s => s.set_fts_bulk_accounts(accounts));
    }

    pub(crate) fn import_chunk(&self) -> usize {
        self.import_chunk
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub async fn close(&self) {
        with_store!(&self.store, s => s.close().await);
    }

    // ----- identity -----------------------------------------------------------------------

    /// The login this process acts as: on PostgreSQL the connection's database login (nobody
    /// can act as someone else); on SQLite `--agent`, else `CAREDESK_AGENT`, else the OS login.
    pub async fn acting_login(&self, requested: Option<&str>) -> Result<String> {
        let session = with_store!(&self.store, s => s.session_user().await)?;
        match (session, requested) {
            (Some(db_login), Some(asked)) if asked != db_login => Err(Error::refused(format!(
                "on PostgreSQL you act as your database login \"{db_login}\"; --agent \"{asked}\" cannot override it"
            ))),
            (Some(db_login), _) => Ok(db_login),
            (None, Some(asked)) => Ok(asked.to_string()),
            (None, None) => Ok(os_login()),
        }
    }

    /// Resolves and checks the acting agent before anything is read or written.
    pub async fn actor(&self, requested: Option<&str>) -> Result<Actor> {
        let login = self.acting_login(requested).await?;
        self.actor_for(&login).await
    }

    /// Resolves and checks an agent whose identity someone else vouched for: the server, which
    /// authenticated the agent's session (or its Unix socket peer) and acts for it on its own
    /// database connection.
    pub async fn actor_for(&self, login: &str) -> Result<Actor> {
        let login = login.to_string();
        match with_store!(&self.store, s => s.agent(&login).await)? {
            None => Err(Error::refused(format!(
                "\"{login}\" is not an agent of this database; a supervisor can add it with `caredesk agent add {login} --role agent`"
            ))),
            Some(a) => {
                let actor = Actor {
                    login: a.login.clone(),
                    role: a.role,
                };
                // The same check, and the same "disabled by … at …" sentence, as every write's.
                domain::recheck(&actor, Some(&a.state()))?;
                Ok(actor)
            }
        }
    }

    pub fn require(actor: &Actor, permission: Permission) -> Result<()> {
        actor
            .role
            .permit(&actor.login, permission)
            .map_err(Error::refused)
    }

    // ----- set-up -------------------------------------------------------------------------

    /// `init --admin [--incident FILE]`: migrates a new database, registers its first
    /// supervisor and, when given, its first incident (checked as `incident create` checks).
    pub async fn init_admin(&self, requested: &str, incident: Option<&Incident>) -> Result<String> {
        if let Some(i) = incident {
            i.check()?;
        }
        let login = match with_store!(&self.store, s => s.session_user().await)? {
            Some(db_login) => db_login,
            None => requested.to_string(),
        };
        validate_login(&login)?;
        with_store!(&self.store, s => s.bootstrap_admin(&login, incident, self.now()).await)?;
        Ok(login)
    }

    // ----- agents -------------------------------------------------------------------------

    pub async fn add_agent(
        &self,
        actor: &Actor,
        login: &str,
        display_name: Option<&str>,
        role: Role,
    ) -> Result<()> {
        Self::require(actor, Permission::ManageAgents)?;
        validate_login(login)?;
        // Shown on screens and in `agent list`: kept free of control characters like every
        // other name.
        let name = display_name
            .map(|n| domain::sanitize(n).trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| login.to_string());
        with_store!(&self.store, s => s.add_agent(actor, login, &name, role, self.now()).await)
    }

    pub async fn disable_agent(&self, actor: &Actor, login: &str) -> Result<bool> {
        self.change_agent(actor, login, AgentChange::Disable).await
    }

    pub async fn enable_agent(&self, actor: &Actor, login: &str) -> Result<bool> {
        self.change_agent(actor, login, AgentChange::Enable).await
    }

    pub async fn set_agent_role(&self, actor: &Actor, login: &str, role: Role) -> Result<bool> {
        self.change_agent(actor, login, AgentChange::Role(role))
            .await
    }

    /// A supervisor's change of another agent (never their own login): `false` when the agent
    /// was in that state already, which changes nothing.
    async fn change_agent(&self, actor: &Actor, login: &str, change: AgentChange) -> Result<bool> {
        Self::require(actor, Permission::ManageAgents)?;
        with_store!(&self.store, s => s.change_agent(actor, login, change, self.now()).await)
    }

    /// PostgreSQL: creates this database's roles, sets their privileges and syncs every
    /// agent's login into its role's group (see `store::postgres::grants`).
    pub async fn grant_roles(&self, actor: &Actor) -> Result<crate::store::postgres::GrantReport> {
        Self::require(actor, Permission::GrantRights)?;
        match &self.store {
            crate::store::Store::Postgres(s) => s.grant_roles(actor, self.now()).await,
            crate::store::Store::Sqlite(_) => Err(Error::invalid(
                "db grant applies to PostgreSQL only: a SQLite file has no logins, and who may open it is up to the file's permissions",
            )),
        }
    }

    pub async fn agents(&self, actor: &Actor) -> Result<Vec<Agent>> {
        Self::require(actor, Permission::Read)?;
        with_store!(&self.store, s => s.agents().await)
    }

    // ----- accounts -----------------------------------------------------------------------

    /// Search as you type: exact account number, exact phone number, name prefix, then
    /// substrings of name, e-mail or phone digits; ranked in that order, then by urgency.
    pub async fn lookup(&self, query: &str, limit: usize) -> Result<Vec<AccountSummary>> {
        let q = query.trim();
        if q.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let limit_i = i64::try_from(limit).unwrap_or(i64::MAX);
        // Phone fragments ("555-01", "(206) 555") search the digits; anything else the
        // names and e-mails.
        let digits = domain::digits_only(q);
        let phone_like = digits.len() >= 3
            && q.chars().all(|c| {
                c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | '/')
            });
        let name = domain::search_fold(q);
        let needle = if phone_like {
            digits.clone()
        } else {
            name.clone()
        };
        // The four kinds of match are independent reads. On PostgreSQL, where each is a round
        // trip and a plan of its own, they run at once on the pool's connections, so a
        // keystroke waits for the slowest, not for their sum (substring p95 9.7 -> 5.7 ms at
        // 1M accounts). In-process SQLite has no round trip to hide: there they run one after
        // another on one warm connection (at once, each connection warmed its own page cache:
        // p95 1.8 -> 2.8 ms and twice the memory).
        let by_no = async {
            if domain::is_account_no(q) {
                with_store!(&self.store, s => s.account_by_no(q).await)
            } else {
                Ok(None)
            }
        };
        let by_msisdn = async {
            match domain::normalize_msisdn(q) {
                Ok(msisdn) => {
                    let ids = with_store!(&self.store, s => s.account_ids_by_msisdn(msisdn.as_str()).await)?;
                    with_store!(&self.store, s => s.summaries_by_ids(&ids).await)
                }
                Err(_) => Ok(Vec::new()),
            }
        };
        let by_prefix = async {
            if !phone_like && !name.is_empty() {
                with_store!(&self.store, s => s.search_name_prefix(&name, limit_i).await)
            } else {
                Ok(Vec::new())
            }
        };
        let by_substring = async {
            if needle.chars().count() >= 3 {
                with_store!(&self.store, s => s.search_substring(&needle, phone_like).await)
            } else {
                Ok(Vec::new())
            }
        };
        let (by_no, by_msisdn, by_prefix, by_substring) =
            if matches!(self.store, Store::Postgres(_)) {
                tokio::join!(by_no, by_msisdn, by_prefix, by_substring)
            } else {
                (
                    by_no.await,
                    by_msisdn.await,
                    by_prefix.await,
                    by_substring.await,
                )
            };
        let mut ranked: Vec<(u8, AccountSummary)> = Vec::new();
        if let Some(a) = by_no? {
            ranked.push((0, a));
        }
        ranked.extend(by_msisdn?.into_iter().map(|a| (1, a)));
        ranked.extend(by_prefix?.into_iter().map(|a| (2, a)));
        for a in by_substring? {
            // A match in the name ranks above one only in the e-mail or the digits.
            let folded = domain::search_fold(&a.name);
            let rank = if phone_like {
                4
            } else if folded.split(' ').any(|w| w.starts_with(&needle)) {
                3
            } else if folded.contains(&needle) {
                4
            } else {
                5
            };
            ranked.push((rank, a));
        }
        ranked.sort_by(|(ra, a), (rb, b)| {
            ra.cmp(rb)
                .then(a.status.cmp(&b.status))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.account_no.cmp(&b.account_no))
        });
        let mut seen = std::collections::HashSet::new();
        Ok(ranked
            .into_iter()
            .map(|(_, a)| a)
            .filter(|a| seen.insert(a.id))
            .take(limit)
            .collect())
    }

    /// The one account an ACCOUNT argument names: an account number or a phone number in any
    /// common format.
    pub async fn resolve_account(&self, input: &str) -> Result<AccountSummary> {
        let q = input.trim();
        if domain::is_account_no(q)
            && let Some(a) = with_store!(&self.store, s => s.account_by_no(q).await)?
        {
            return Ok(a);
        }
        match domain::normalize_msisdn(q) {
            Ok(msisdn) => {
                let ids =
                    with_store!(&self.store, s => s.account_ids_by_msisdn(msisdn.as_str()).await)?;
                match ids.len() {
                    // Error messages may be logged: a phone number shows only its last four digits.
                    0 if domain::is_account_no(q) => Err(Error::invalid(format!(
                        "there is no account {q} and no account has that phone number"
                    ))),
                    0 => Err(Error::invalid(format!(
                        "no account has the phone {}",
                        msisdn.masked()
                    ))),
                    1 => Ok(
                        with_store!(&self.store, s => s.summaries_by_ids(&ids).await)?
                            .pop()
                            .ok_or_else(|| {
                                Error::invalid(format!(
                                    "no account has the phone {}",
                                    msisdn.masked()
                                ))
                            })?,
                    ),
                    n => Err(Error::invalid(format!(
                        "the phone {} belongs to {n} accounts; give the account number",
                        msisdn.masked()
                    ))),
                }
            }
            Err(_) if domain::is_account_no(q) => {
                Err(Error::invalid(format!("there is no account {q}")))
            }
            Err(_) => Err(Error::invalid(format!(
                "\"{}\" is neither an account number nor a phone number",
                domain::sanitize(q)
            ))),
        }
    }

    pub async fn show(&self, actor: &Actor, account: &str) -> Result<AccountDetail> {
        Self::require(actor, Permission::ViewAccount)?;
        let a = self.resolve_account(account).await?;
        self.detail(actor, a.id).await
    }

    /// `show` in full even for a role that sees masked details; that view is audited as
    /// `account.reveal`.
    pub async fn show_revealed(&self, actor: &Actor, account: &str) -> Result<AccountDetail> {
        Self::require(actor, Permission::ViewAccount)?;
        let a = self.resolve_account(account).await?;
        self.detail_revealed(actor, a.id).await
    }

    /// The account screen's data by id (the view is audited), masked for the roles the
    /// policy masks.
    pub async fn detail(&self, actor: &Actor, account_id: i64) -> Result<AccountDetail> {
        Self::require(actor, Permission::ViewAccount)?;
        let mut d = with_store!(&self.store, s => s.account_detail(actor, account_id, false, self.now()).await)?;
        if self.masks(actor) {
            d.summary.mask();
            d.masked = true;
        }
        Ok(d)
    }

    /// The account screen's data in full. For a role the policy masks, the view is audited as
    /// `account.reveal`; for the others it is an ordinary view.
    pub async fn detail_revealed(&self, actor: &Actor, account_id: i64) -> Result<AccountDetail> {
        Self::require(actor, Permission::ViewAccount)?;
        let reveal = self.masks(actor);
        with_store!(&self.store, s => s.account_detail(actor, account_id, reveal, self.now()).await)
    }

    /// Whether `actor`'s role sees customers masked.
    pub fn masks(&self, actor: &Actor) -> bool {
        self.mask.masks(actor.role)
    }

    pub fn mask_policy(&self) -> &MaskPolicy {
        &self.mask
    }

    /// Sets which roles see customers masked (supervisors only; audited). Services opened
    /// from now on follow it.
    pub async fn set_mask_policy(&self, actor: &Actor, policy: &MaskPolicy) -> Result<()> {
        Self::require(actor, Permission::SetMaskPolicy)?;
        with_store!(&self.store, s => s.set_meta(actor, MASK_KEY, &policy.to_text(), self.now()).await)
    }

    /// Search as an agent sees it: `lookup`, masked for the roles the policy masks.
    pub async fn search(
        &self,
        actor: &Actor,
        query: &str,
        limit: usize,
    ) -> Result<Vec<AccountSummary>> {
        Self::require(actor, Permission::Read)?;
        let mut results = self.lookup(query, limit).await?;
        if self.masks(actor) {
            results.iter_mut().for_each(AccountSummary::mask);
        }
        Ok(results)
    }

    pub async fn add_note(
        &self,
        actor: &Actor,
        account: &str,
        text: &str,
    ) -> Result<(AccountSummary, i64)> {
        Self::require(actor, Permission::AddNote)?;
        let body = domain::sanitize(text.trim()).into_owned();
        if body.is_empty() {
            return Err(Error::invalid("the note is empty"));
        }
        if body.chars().count() > MAX_NOTE_CHARS {
            return Err(Error::invalid(format!(
                "the note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        let a = self.resolve_account(account).await?;
        let id = with_store!(&self.store, s => s.add_note(actor, a.id, &body, self.now()).await)?;
        Ok((a, id))
    }

    // ----- imports ------------------------------------------------------------------------

    pub async fn import_accounts(
        &self,
        actor: &Actor,
        rows: &[NewAccount],
        source: &str,
    ) -> Result<ImportCounts> {
        Self::require(actor, Permission::Import)?;
        let rows = ImportRows::Slice {
            rows,
            chunk: self.import_chunk,
        };
        with_store!(&self.store, s => s.import_accounts(actor, rows, source, self.now()).await)
    }

    pub async fn import_impact(
        &self,
        actor: &Actor,
        rows: &[NewImpact],
        source: &str,
    ) -> Result<ImportCounts> {
        Self::require(actor, Permission::Import)?;
        let known: Vec<String> = self.incidents().await?.into_iter().map(|i| i.id).collect();
        if let Some(bad) = rows.iter().find(|r| !known.contains(&r.incident)) {
            return Err(unknown_incident(source, bad, &known));
        }
        let rows = ImportRows::Slice {
            rows,
            chunk: self.import_chunk,
        };
        with_store!(&self.store, s => s.import_impact(actor, rows, source, self.now()).await)
    }

    /// `caredesk import accounts`: the file (`data`) read on a thread of its own and handed
    /// to the store chunk by chunk, so reading and writing overlap; all of it one transaction
    /// that any bad row refuses. What is reported is what reading the whole file first would
    /// report: the file's own problems, then a refusal (role), then the store's first error.
    pub async fn import_accounts_file(
        &self,
        actor: &Actor,
        source: &str,
        data: Vec<u8>,
    ) -> Result<ImportCounts> {
        let (src, chunk) = (source.to_string(), self.import_chunk);
        let rx = spawn_parser(move |emit| {
            crate::import::parse_accounts_chunks(&src, &data, chunk, emit)
        });
        if let Err(refused) = Self::require(actor, Permission::Import) {
            return Err(file_problems(rx).await.unwrap_or(refused));
        }
        with_store!(&self.store, s => s.import_accounts(actor, ImportRows::parsed(rx), source, self.now()).await)
    }

    /// `caredesk import impact`, as `import_accounts_file`; a row naming an unknown incident
    /// refuses the file (after the file's own problems).
    pub async fn import_impact_file(
        &self,
        actor: &Actor,
        source: &str,
        data: Vec<u8>,
    ) -> Result<ImportCounts> {
        let permitted = Self::require(actor, Permission::Import);
        let known: Option<Vec<String>> = match permitted {
            Ok(()) => Some(self.incidents().await?.into_iter().map(|i| i.id).collect()),
            Err(_) => None,
        };
        let (src, chunk) = (source.to_string(), self.import_chunk);
        let rx = spawn_parser(move |emit| {
            let mut refused = None;
            crate::import::parse_impact_chunks(&src, &data, chunk, &mut |rows| {
                if let (None, Some(known)) = (&refused, &known)
                    && let Some(bad) = rows.iter().find(|r| !known.contains(&r.incident))
                {
                    refused = Some(unknown_incident(&src, bad, known));
                }
                // Once refused, the rest is only read for the file's own problems.
                refused.is_some() || emit(rows)
            })?;
            refused.map_or(Ok(()), Err)
        });
        if let Err(refused) = permitted {
            return Err(file_problems(rx).await.unwrap_or(refused));
        }
        with_store!(&self.store, s => s.import_impact(actor, ImportRows::parsed(rx), source, self.now()).await)
    }

    // ----- audit --------------------------------------------------------------------------

    pub async fn audit_verify(&self, actor: &Actor) -> Result<AuditVerification> {
        Self::require(actor, Permission::Read)?;
        with_store!(&self.store, s => s.audit_verify().await)
    }

    /// The chain verified, and each checkpoint of `entries` (read from `source`) checked
    /// against it: the mismatches, oldest first.
    pub async fn audit_verify_checkpoints(
        &self,
        actor: &Actor,
        source: &str,
        entries: &[crate::audit::checkpoint::Entry],
    ) -> Result<(AuditVerification, Vec<crate::audit::checkpoint::Mismatch>)> {
        Self::require(actor, Permission::Read)?;
        let seqs: Vec<i64> = entries.iter().map(|e| e.checkpoint.seq).collect();
        let v = with_store!(&self.store, s => s.audit_verify_at(&seqs).await)?;
        let m = crate::audit::checkpoint::mismatches(source, entries, &v);
        Ok((v, m))
    }

    /// A checkpoint of the chain's head, after verifying the chain and the earlier checkpoints
    /// `entries` of the file it goes to: a chain that fails either is refused, never anchored.
    /// Only reads the database, so an auditor may take one.
    pub async fn audit_checkpoint(
        &self,
        actor: &Actor,
        source: &str,
        entries: &[crate::audit::checkpoint::Entry],
    ) -> Result<crate::audit::checkpoint::Checkpoint> {
        let (v, mismatches) = self
            .audit_verify_checkpoints(actor, source, entries)
            .await?;
        if let Some((_, problem)) = &v.first_bad {
            return Err(Error::refused(format!(
                "no checkpoint written: the audit chain does not verify: {problem}"
            )));
        }
        if let Some(m) = mismatches.first() {
            return Err(Error::refused(format!(
                "no checkpoint written: the audit chain does not match an earlier checkpoint: {}",
                m.problem
            )));
        }
        Ok(crate::audit::checkpoint::Checkpoint::of(
            &v,
            self.now(),
            self.url.display(),
        ))
    }

    pub async fn audit_log(
        &self,
        actor: &Actor,
        account: Option<&str>,
        since: Option<chrono::DateTime<chrono::Utc>>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        Self::require(actor, Permission::Read)?;
        let account_no = match account {
            Some(a) => Some(self.resolve_account(a).await?.account_no),
            None => None,
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        with_store!(&self.store, s => s.audit_log(account_no.as_deref(), since, limit).await)
    }
}

fn unknown_incident(source: &str, bad: &NewImpact, known: &[String]) -> Error {
    let refusal = domain::IncidentRefusal::Unknown {
        id: domain::sanitize(&bad.incident).into_owned(),
        known: known.to_vec(),
    };
    Error::invalid(format!("{source} line {}: {refusal}", bad.line))
}

/// Runs `parse` on a thread of its own; it hands its chunks to the returned receiver, then
/// `Ok(None)` when the file was good to its end or the error that refuses it. A receiver
/// that is gone (the import stopped) stops the parser at its next chunk.
pub(crate) fn spawn_parser<T: Send + 'static>(
    parse: impl FnOnce(&mut dyn FnMut(Vec<T>) -> bool) -> Result<()> + Send + 'static,
) -> tokio::sync::mpsc::Receiver<ParsedChunk<T>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let spawned = std::thread::Builder::new()
        .name("caredesk-import".to_string())
        .spawn(move || {
            let verdict = parse(&mut |rows| tx.blocking_send(Ok(Some(rows))).is_ok());
            let _ = tx.blocking_send(verdict.map(|()| None));
        });
    // Without a thread the receiver closes at once, which the import reports as an error.
    drop(spawned);
    rx
}

/// Reads what is left of a parsed file: its problems, if it has any.
pub(crate) async fn file_problems<T>(
    mut rx: tokio::sync::mpsc::Receiver<ParsedChunk<T>>,
) -> Option<Error> {
    while let Some(item) = rx.recv().await {
        match item {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
    None
}

pub use crate::store::os_login;

fn validate_login(login: &str) -> Result<()> {
    let ok = !login.is_empty()
        && login.len() <= 64
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "\"{}\" is not a valid login (letters, digits, '.', '_', '-', '@'; at most 64)",
            domain::sanitize(login)
        )))
    }
}
