//! The clap contract: the command line of docs/commands.md (the scripted interface; keep it
//! stable). Definitions only; `dispatch` carries a parsed command out.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "caredesk",
    version,
    about = "Support console and bulk-credit tool for a cloud data-loss incident",
    long_about = "Support console and bulk-credit tool for a cloud data-loss incident.\n\n\
                  Run without a command to open the agents' screen; every command below is the\n\
                  scripted interface over the same rules.",
    after_help = super::help::TOP_SHORT,
    after_long_help = super::help::TOP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Database: sqlite:PATH or postgres://… (default: a SQLite file in the data directory)
    #[arg(
        long,
        global = true,
        env = "CAREDESK_DB",
        value_name = "URL",
        hide_env_values = true
    )]
    pub db: Option<String>,
    /// Work through a caredesk server as the logged-in agent: https://HOST:PORT,
    /// http://127.0.0.1:PORT or unix:PATH (see `caredesk login`)
    #[arg(long, global = true, env = "CAREDESK_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Act as this agent (SQLite only; on PostgreSQL you are your database login)
    #[arg(long, global = true, env = "CAREDESK_AGENT", value_name = "LOGIN")]
    pub agent: Option<String>,
    /// Output format: text for people; json, one object on stdout (and an error as one object
    /// on stderr); csv for credit export
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No colour (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Sentences and tables for people
    Text,
    /// One JSON object per result on stdout; an error as one JSON object on stderr
    Json,
    /// CSV (credit export; other commands print text)
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a realistic demo database, then open the agents' screen
    Demo(DemoArgs),
    /// Create an empty database and its first supervisor
    Init {
        /// Login of the first supervisor (on PostgreSQL, your database login is used)
        #[arg(long, value_name = "LOGIN")]
        admin: String,
        /// An incident file (TOML, docs/incidents.md) to store as the database's first incident
        #[arg(long, value_name = "FILE")]
        incident: Option<PathBuf>,
    },
    /// Incidents: create one from a TOML file, list, show, edit its advisory, end or credit policy
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Database maintenance
    #[command(subcommand)]
    Db(DbCommand),
    /// Serve the agents' screens and commands: the only process that holds the database
    #[command(after_help = super::help::SERVE)]
    Serve(ServeArgs),
    /// Log in to a server (--server URL) and keep the session for the next commands
    #[command(after_help = super::help::LOGIN)]
    Login {
        /// Your agent login
        login: String,
        /// Read the password from the first line of standard input (and, when it is a
        /// one-time password, the new password from the second)
        #[arg(long)]
        password_stdin: bool,
    },
    /// End the session with the server (--server URL) and forget it
    Logout,
    /// Which roles see customers masked (name as initials, e-mail's first letter and domain,
    /// phone's last four digits): without ROLES, show the policy; with them, set it
    Privacy {
        #[command(subcommand)]
        command: Option<PrivacyCommand>,
    },
    /// Import accounts or impact rows (CSV) or backups (JSON Lines) from a file (all or nothing)
    #[command(after_help = super::help::IMPORT)]
    Import {
        /// What the file holds
        #[arg(value_enum)]
        what: ImportKind,
        /// CSV file with a header, as spreadsheets save it, or for backups a JSON Lines file
        /// with one snapshot per line ("-" for standard input)
        file: PathBuf,
    },
    /// Find accounts by account number, phone number, name or e-mail
    #[command(after_help = super::help::LOOKUP)]
    Lookup {
        /// What to look for (at most 256 characters); "-" reads one query per line from
        /// standard input
        query: String,
        /// Most accounts to list for each query
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show an account: profile, plan, categories, backups, credits, timeline
    Show {
        /// Account number or phone number in any common format
        account: String,
        /// Show the name, e-mail and phone number in full even if your role sees them masked
        /// (the view is audited as a reveal)
        #[arg(long)]
        reveal: bool,
    },
    /// Accounts needing action, most urgent first
    Worklist {
        /// Only accounts in this status
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Most accounts to list
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Add a note to an account's timeline
    Note {
        /// Account number or phone number in any common format
        account: String,
        /// The note's text
        text: String,
    },
    /// Record that the customer of an at-risk account was read the incident's advisory
    #[command(after_help = super::help::ADVISE)]
    Advise {
        /// Account number or phone number in any common format
        account: String,
        /// How the customer was told: call, sms or email
        #[arg(long, default_value = "call", value_name = "CHANNEL")]
        channel: String,
        #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
        incident: Option<String>,
    },
    /// Promise a customer a call back (`callback ACCOUNT --at TIME`), list the callbacks, or
    /// mark one done or cancelled
    #[command(after_help = super::help::CALLBACK)]
    Callback(CallbackArgs),
    /// Reach the at-risk customers nobody has advised: a contact list for an SMS or e-mail
    /// gateway, and the gateway's delivery report fed back
    #[command(subcommand, after_help = super::help::OUTREACH)]
    Outreach(OutreachCommand),
    /// Credits: the incident credit, appreciation, goodwill, reversals, batch runs, export
    #[command(subcommand)]
    Credit(CreditCommand),
    /// Declare a category of an account permanently lost (supervisor)
    DeclareLoss {
        /// Account number or phone number in any common format
        account: String,
        /// The category declared lost (contacts, calendar, notes, tasks, photos, email)
        #[arg(long, value_name = "C")]
        category: String,
        /// Why recovery is exhausted (kept in the audit)
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
        incident: Option<String>,
    },
    /// Restore data from a backup: preview, apply, undo, list
    #[command(subcommand, after_help = super::help::RESTORE)]
    Restore(RestoreCommand),
    /// Record that the customer's device re-synced its copy of a category
    Resync {
        /// Account number or phone number in any common format
        account: String,
        /// The category the device re-synced (contacts, calendar, notes, tasks, photos, email)
        #[arg(long, value_name = "C")]
        category: String,
        /// Items the device brought back (default: as many as before the incident)
        #[arg(long, value_name = "N")]
        items: Option<i64>,
        #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
        incident: Option<String>,
    },
    /// The audit chain
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Agents and their roles
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Print a shell's completion script for caredesk on standard output
    #[command(after_help = super::help::COMPLETIONS)]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output, or write one page per command and
    /// subcommand into DIR (caredesk.1, caredesk-credit.1, caredesk-credit-run.1, …)
    #[command(after_help = super::help::MAN)]
    Man {
        /// An existing directory to write the pages into, e.g. ~/.local/share/man/man1
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The project's benchmarks, each beside a baseline measured in the same run
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[cfg(feature = "bench")]
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Batch credit run and replay against one hand-written INSERT … SELECT. SQLite unless
    /// --db names PostgreSQL (an empty database, which it fills with the demo)
    Batch {
        /// Accounts in the demo database
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        /// Where SQLite bench databases live (the pristine demo is kept for the next run)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// How cost grows from 10,000 to 1,000,000 accounts (SQLite): demo build, lookups, batch
    /// run and replay at each size, beside their baselines
    Scale {
        /// Account counts, separated by commas
        #[arg(long, default_value = "10000,100000,1000000")]
        sizes: String,
        /// Where the bench databases live
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Import of the demo's rows for N accounts from files (accounts.csv, impact.csv,
    /// backups.jsonl) into a fresh database, against the demo's bulk loader writing the same
    /// rows. SQLite unless --db names PostgreSQL (an empty database)
    Import {
        /// Accounts in the files
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        /// Where the files and the SQLite bench databases are made (removed afterwards)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The agents' screen and lookups on an existing database (default: the demo database):
    /// first frame, keystroke to results, lookup percentiles beside a LIKE scan, memory
    Tui,
    /// Many simulated agents at once (search, show, note, credit), each with a live screen
    /// (change feed, presence heartbeat, re-read of the open account), on an existing database
    /// for a bounded time, directly and through two servers: throughput, latency percentiles,
    /// a change until another agent's screen shows it, connections, errors, double credits,
    /// audit chain
    Agents {
        /// Simulated agents working at once
        #[arg(long, default_value_t = 50)]
        agents: usize,
        /// How long they work
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Database connections shared by the agents
        #[arg(long, default_value_t = 16)]
        pool: u32,
        /// Mean pause between one agent's actions, in ms (0: as fast as possible)
        #[arg(long, default_value_t = 200)]
        think_ms: u64,
        /// The agents act without live screens (no change feed, heartbeat or re-read), to
        /// measure what the screens cost
        #[arg(long)]
        no_screens: bool,
    },
    /// Restore preview, apply (with its archive) and undo of one account with many backup
    /// items, against one hand-written INSERT … SELECT. SQLite unless --db names PostgreSQL
    /// (an empty database, which it fills with the demo)
    Restore {
        /// Backup items of the account restored
        #[arg(long, default_value_t = 5_000)]
        items: usize,
        /// Accounts in the demo database around it
        #[arg(long, default_value_t = 100_000)]
        accounts: u64,
        /// Timed repetitions of each step
        #[arg(long, default_value_t = 20)]
        reps: usize,
        /// Where SQLite bench databases live (the pristine demo is kept for the next run)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CallbackArgs {
    #[command(subcommand)]
    pub command: Option<CallbackCommand>,
    /// Account number or phone number in any common format
    #[arg(required = true)]
    pub account: Option<String>,
    /// When to call back, in your local time: "14:30", "2pm", "tomorrow 9", "wed 10:15",
    /// "+2h", "in 45 min", "2026-10-14 09:00"
    #[arg(long, required = true, value_name = "TIME")]
    pub at: Option<String>,
    /// What the call back is about (at most 500 characters)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub note: String,
}

#[derive(Debug, Subcommand)]
pub enum CallbackCommand {
    /// Pending callbacks, earliest first
    List {
        /// Only the callbacks you promised
        #[arg(long)]
        mine: bool,
        /// Only those whose time has come
        #[arg(long)]
        due: bool,
        /// Most callbacks to list
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The customer was called back
    Done {
        /// The callback's id, as `callback` and `callback list` print it
        id: i64,
    },
    /// The call back will not happen (the customer called in, or asked not to be called)
    Cancel {
        /// The callback's id, as `callback` and `callback list` print it
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutreachCommand {
    /// Write the at-risk accounts nobody has advised as a gateway's contact list on standard
    /// output (CSV with a header; JSON Lines with --format json); counts on standard error
    #[command(after_help = super::help::OUTREACH)]
    Export {
        #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
        incident: Option<String>,
        /// sms (to the phone number) or email
        #[arg(long, default_value = "sms", value_name = "CHANNEL")]
        channel: String,
        /// Most contacts to write (default: all)
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Read a gateway's delivery report (CSV: outreach_id, status delivered|failed, time) and
    /// mark the delivered rows' accounts advised; all or nothing, and a replay changes nothing
    #[command(after_help = super::help::OUTREACH)]
    Delivered {
        /// The delivery report ("-" for standard input)
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RestoreCommand {
    /// What a restore would do, per category (in backup, to add, present, conflicting,
    /// corrupt); writes nothing
    #[command(after_help = super::help::RESTORE)]
    Preview(RestoreArgs),
    /// Restore categories of an account from a backup, archiving the live items first
    /// (merge, keep-both: agent; replace: supervisor)
    #[command(after_help = super::help::RESTORE)]
    Apply(RestoreArgs),
    /// Put the live items back exactly as they were before a restore (supervisor); refused
    /// when the customer's data changed since
    Undo {
        /// The restore's id, as `restore apply` and `restore list` print it
        restore_id: i64,
    },
    /// An account's restores, newest first
    List {
        /// Account number or phone number in any common format
        account: String,
    },
}

#[derive(Debug, Args, Clone)]
pub struct RestoreArgs {
    /// Account number or phone number in any common format
    pub account: String,
    /// The backup (snapshot) to restore from, as `show` lists it
    #[arg(long, value_name = "ID")]
    pub backup: String,
    /// A category to restore; repeat for several (default: every category the backup holds)
    #[arg(long = "category", value_name = "C")]
    pub categories: Vec<String>,
    /// merge (add missing items, fill empty fields; live values win), keep-both (conflicting
    /// backup items become copies flagged for review) or replace (supervisor)
    #[arg(long, default_value = "merge", value_name = "M")]
    pub mode: String,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Number of accounts
    #[arg(long, default_value_t = 5000)]
    pub accounts: u64,
    /// Seed of the generator (the same seed builds the same database)
    #[arg(long, default_value_t = 2009)]
    pub seed: u64,
    /// Build the database only; do not open the screen
    #[arg(long)]
    pub no_tui: bool,
    /// How many incidents: 1 (the October 2009 outage) or 2 (adds a smaller, still open
    /// outage in March 2010 that touches some of the same accounts)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub incidents: u8,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Store the incident a TOML file describes (supervisor; the same file again changes nothing)
    Create {
        /// The incident file (docs/incidents.md; assets/incidents/ holds an example)
        file: PathBuf,
    },
    /// Every incident: id, dates, open or ended, credits against it
    List,
    /// One incident in full: dates, categories, advisory, credit policy
    Show {
        /// The incident's id
        id: String,
    },
    /// Change an incident (supervisor, audited): the title, advisory and end at any time; the
    /// credit policy only until the first credit against it exists
    Edit {
        /// The incident's id
        id: String,
        /// A new title
        #[arg(long, value_name = "TEXT")]
        title: Option<String>,
        /// The new advisory agents read out
        #[arg(long, value_name = "TEXT")]
        advisory: Option<String>,
        /// When the incident ended (RFC 3339 with its offset, or YYYY-MM-DD)
        #[arg(long, value_name = "TIME")]
        end: Option<String>,
        /// Months of data plan the incident credit pays
        #[arg(long, value_name = "N")]
        credit_months: Option<i64>,
        /// The appreciation credit's amount, in cents
        #[arg(long, value_name = "CENTS")]
        appreciation_cents: Option<i64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// Accounts and their data plans (CSV)
    Accounts,
    /// What the incident did to each account's categories (CSV)
    Impact,
    /// Backup snapshots with their items (JSON Lines)
    Backups,
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Mask customers for exactly these roles ("none" for nobody); supervisors only
    Mask {
        /// The roles that see customers masked (agent, supervisor, auditor), or "none"
        #[arg(required = true, value_name = "ROLE")]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (backing up a database that holds data first)
    Migrate {
        /// PostgreSQL without pg_dump here: the pg_dump custom-format archive of this database
        /// you took (checked: a dump of this database, written in the last 24 hours)
        #[arg(long, value_name = "FILE")]
        backup_taken: Option<PathBuf>,
    },
    /// Write a consistent copy of the database to PATH (PostgreSQL: a pg_dump custom-format
    /// archive, when pg_dump is installed)
    Backup {
        /// The new file to write (refused if it exists; its directory must exist)
        path: PathBuf,
    },
    /// Refresh the planner's statistics and compact the search index (after large imports)
    Optimize,
    /// PostgreSQL: create this database's two groups (`<db>_server`, `<db>_operator`), set
    /// their privileges, put every active supervisor's login in the operator group and revoke
    /// everyone else's rights (run as the tables' owner with CREATEROLE; again after
    /// `agent add|disable|enable|role` or `db migrate`)
    Grant {
        /// A database login `caredesk serve` connects with (created when missing, without a
        /// password); repeatable
        #[arg(long = "server-login", value_name = "LOGIN")]
        servers: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and name the first record that does not match
    Verify {
        /// Also prove the chain still holds every checkpoint of this file (written by
        /// `audit checkpoint`): records removed or a rewritten chain are named
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Verify the chain, then append its head (sequence number, hash, time, record count) to a
    /// checkpoint file kept outside the database (JSON Lines; written atomically)
    Checkpoint {
        /// The checkpoint file (created, or appended to after its checkpoints are verified)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// List audit records
    Log {
        /// Only records of this account
        #[arg(long)]
        account: Option<String>,
        /// Only records at or after this time (RFC 3339 or YYYY-MM-DD)
        #[arg(long)]
        since: Option<String>,
        /// Most records to list
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Register an agent
    Add {
        /// The new agent's login
        login: String,
        /// agent, supervisor or auditor
        #[arg(long)]
        role: String,
        /// Display name (default: the login)
        #[arg(long)]
        name: Option<String>,
    },
    /// List agents
    List,
    /// Disable an agent (agents are never deleted, so the audit can always name them); their
    /// next action is refused, even on a screen already open
    Disable {
        /// The agent's login
        login: String,
    },
    /// Enable a disabled agent again
    Enable {
        /// The agent's login
        login: String,
    },
    /// Change an agent's role (agent, supervisor, auditor); their next action under the old
    /// role is refused
    Role {
        /// The agent's login
        login: String,
        /// The new role: agent, supervisor or auditor
        role: String,
    },
    /// Give an agent a new one-time password for logging in to a server (printed once; it
    /// must be changed at the first login) and end the agent's sessions
    Password {
        /// The agent's login (not your own)
        login: String,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// TCP address to listen on (plain HTTP only on loopback; elsewhere give --tls-cert and
    /// --tls-key). Default 127.0.0.1:7878 unless only --unix is given
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// TLS certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also listen on this Unix socket; its peers are their OS logins, no password needed
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CreditCommand {
    /// Apply the one-month data-plan credit to one account (once; a replay changes nothing)
    Apply {
        /// Account number or phone number in any common format
        account: String,
        #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
        incident: Option<String>,
        /// Say what would be credited, write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Request the appreciation credit for an account with a category in permanent loss
    Request {
        /// Account number or phone number in any common format
        account: String,
        /// Why the customer should have it (kept with the request)
        #[arg(long)]
        reason: String,
        #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
        incident: Option<String>,
    },
    /// Approve an appreciation request (a supervisor other than the requester)
    Approve {
        /// The request's id, as `credit request` and `credit requests` print it
        request_id: i64,
    },
    /// Reject an appreciation request with a reason the requester reads on the account (a
    /// supervisor other than the requester)
    Reject {
        /// The request's id, as `credit request` and `credit requests` print it
        request_id: i64,
        /// Why it is rejected (kept with the request, shown on the account)
        #[arg(long)]
        reason: String,
    },
    /// The appreciation requests of every account, oldest first: by default the pending ones,
    /// the queue supervisors work from (supervisors and auditors)
    Requests {
        /// Which requests: pending, approved or rejected
        #[arg(long, value_name = "STATUS", default_value = "pending")]
        status: String,
        /// Most requests to list
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Grant a goodwill credit up to the configured cap (supervisor)
    Goodwill {
        /// Account number or phone number in any common format
        account: String,
        /// Amount, e.g. 25.00 or $25
        #[arg(long)]
        amount: String,
        /// Why it is granted (kept with the credit)
        #[arg(long)]
        reason: String,
        /// Names the request for replays (default: the amount and reason)
        #[arg(long)]
        key: Option<String>,
        #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
        incident: Option<String>,
    },
    /// Show or set (supervisor) the goodwill cap
    GoodwillCap {
        /// New cap, e.g. 50.00
        amount: Option<String>,
    },
    /// Reverse a credit with a new negative ledger entry (supervisor)
    Reverse {
        /// The credit's id, as `show` and `credit export` print it
        credit_id: i64,
        /// Why it is reversed (kept with the reversal)
        #[arg(long)]
        reason: String,
    },
    /// Batch credit run over all accounts or a file of them: a plan unless --apply
    #[command(after_help = super::help::CREDIT_RUN)]
    Run(RunArgs),
    /// Export the ledger for billing (CSV unless --format json)
    Export {
        /// Only credits created at or after this time (RFC 3339 or YYYY-MM-DD)
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[arg(long, value_name = "ID", help = super::help::INCIDENT)]
    pub incident: Option<String>,
    /// CSV with an account_no or msisdn column ("-" for standard input); default: all accounts
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,
    /// Apply the run (supervisor); without it, print the plan and write nothing
    #[arg(long)]
    pub apply: bool,
    /// Accounts per transaction
    #[arg(long, default_value_t = 5000)]
    pub chunk: usize,
    /// Work on shard K of N (1 <= K <= N), by account id
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Refuse the run if its total would exceed this many cents
    #[arg(long, value_name = "N")]
    pub max_total_cents: Option<i64>,
    /// Count bad rows of the accounts file as invalid instead of refusing the run
    #[arg(long)]
    pub skip_invalid: bool,
    /// Write one CSV row per account with its outcome
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

/// Reads a `--since` value: RFC 3339 or YYYY-MM-DD.
pub fn parse_since(since: Option<String>) -> crate::Result<Option<chrono::DateTime<chrono::Utc>>> {
    parse_time_option("--since", since)
}

/// Reads the time an option (`flag`) was given: RFC 3339 or YYYY-MM-DD.
pub fn parse_time_option(
    flag: &str,
    value: Option<String>,
) -> crate::Result<Option<chrono::DateTime<chrono::Utc>>> {
    value
        .map(|s| {
            crate::import::parse_time(&s).ok_or_else(|| {
                crate::Error::invalid(format!(
                    "{flag} \"{}\" is not a time (RFC 3339 or YYYY-MM-DD)",
                    crate::domain::sanitize(&s)
                ))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_definitions_pass_claps_own_checks() {
        Cli::command().debug_assert();
    }

    /// Every option, positional argument and command says what it is for, in `--help`, the
    /// manual pages and the completions alike.
    #[test]
    fn every_option_argument_and_command_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    let name = arg
                        .get_long()
                        .map(|l| format!("--{l}"))
                        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
                    missing.push(format!("{path} {name}"));
                }
            }
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(format!("{sub_path} (the command itself)"));
                }
                walk(sub, &sub_path, missing);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "caredesk", &mut missing);
        assert!(
            missing.is_empty(),
            "without help text:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn the_long_help_has_examples_and_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("Exit codes:"), "{help}");
        for code in [
            "0  success",
            "1  the system",
            "2  bad usage",
            "3  refused",
            "4  a batch",
        ] {
            assert!(help.contains(code), "{code} in {help}");
        }
        let mut cmd = Cli::command();
        for path in [
            &["lookup"][..],
            &["import"],
            &["restore"],
            &["serve"],
            &["login"],
            &["credit", "run"],
        ] {
            let mut sub = &mut cmd;
            for name in path {
                sub = sub.find_subcommand_mut(name).expect("a subcommand");
            }
            let help = sub.render_long_help().to_string();
            assert!(help.contains("Examples:\n  caredesk"), "{path:?}: {help}");
        }
    }
}
