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
                  scripted interface over the same rules."
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
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// No colour (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
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
    Serve(ServeArgs),
    /// Log in to a server (--server URL) and keep the session for the next commands
    Login {
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
    Import {
        #[arg(value_enum)]
        what: ImportKind,
        /// CSV file with a header, as spreadsheets save it, or for backups a JSON Lines file
        /// with one snapshot per line ("-" for standard input)
        file: PathBuf,
    },
    /// Find accounts by account number, phone number, name or e-mail
    Lookup {
        /// What to look for; "-" reads one query per line from standard input
        query: String,
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
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Add a note to an account's timeline
    Note {
        account: String,
        /// The note's text
        text: String,
    },
    /// Credits: the incident credit, appreciation, goodwill, reversals, batch runs, export
    #[command(subcommand)]
    Credit(CreditCommand),
    /// Declare a category of an account permanently lost (supervisor)
    DeclareLoss {
        account: String,
        #[arg(long)]
        category: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        incident: Option<String>,
    },
    /// Restore data from a backup: preview, apply, undo, list
    #[command(subcommand)]
    Restore(RestoreCommand),
    /// Record that the customer's device re-synced its copy of a category
    Resync {
        account: String,
        #[arg(long)]
        category: String,
        /// Items the device brought back (default: as many as before the incident)
        #[arg(long, value_name = "N")]
        items: Option<i64>,
        #[arg(long)]
        incident: Option<String>,
    },
    /// The audit chain
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Agents and their roles
    #[command(subcommand)]
    Agent(AgentCommand),
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
    /// Many simulated agents at once (search, show, note, credit) on an existing database for
    /// a bounded time: throughput, latency percentiles, errors, double credits, audit chain
    Agents {
        #[arg(long, default_value_t = 50)]
        agents: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Database connections shared by the agents
        #[arg(long, default_value_t = 16)]
        pool: u32,
        /// Mean pause between one agent's actions, in ms (0: as fast as possible)
        #[arg(long, default_value_t = 200)]
        think_ms: u64,
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

#[derive(Debug, Subcommand)]
pub enum RestoreCommand {
    /// What a restore would do, per category (in backup, to add, present, conflicting,
    /// corrupt); writes nothing
    Preview(RestoreArgs),
    /// Restore categories of an account from a backup, archiving the live items first
    /// (merge, keep-both: agent; replace: supervisor)
    Apply(RestoreArgs),
    /// Put the live items back exactly as they were before a restore (supervisor); refused
    /// when the customer's data changed since
    Undo { restore_id: i64 },
    /// An account's restores, newest first
    List { account: String },
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
    Accounts,
    Impact,
    Backups,
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Mask customers for exactly these roles ("none" for nobody); supervisors only
    Mask {
        #[arg(required = true, value_name = "ROLE")]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (backing up a database that holds data first)
    Migrate {
        /// PostgreSQL: confirm that a backup (pg_dump) of this database exists
        #[arg(long)]
        backup_taken: bool,
    },
    /// Write a consistent copy of the SQLite database to PATH
    Backup { path: PathBuf },
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
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Register an agent
    Add {
        login: String,
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
    Disable { login: String },
    /// Enable a disabled agent again
    Enable { login: String },
    /// Change an agent's role (agent, supervisor, auditor); their next action under the old
    /// role is refused
    Role { login: String, role: String },
    /// Give an agent a new one-time password for logging in to a server (printed once; it
    /// must be changed at the first login) and end the agent's sessions
    Password { login: String },
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
        account: String,
        #[arg(long)]
        incident: Option<String>,
        /// Say what would be credited, write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Request the appreciation credit for an account with a category in permanent loss
    Request {
        account: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        incident: Option<String>,
    },
    /// Approve an appreciation request (a supervisor other than the requester)
    Approve { request_id: i64 },
    /// Grant a goodwill credit up to the configured cap (supervisor)
    Goodwill {
        account: String,
        /// Amount, e.g. 25.00 or $25
        #[arg(long)]
        amount: String,
        #[arg(long)]
        reason: String,
        /// Names the request for replays (default: the amount and reason)
        #[arg(long)]
        key: Option<String>,
        #[arg(long)]
        incident: Option<String>,
    },
    /// Show or set (supervisor) the goodwill cap
    GoodwillCap {
        /// New cap, e.g. 50.00
        amount: Option<String>,
    },
    /// Reverse a credit with a new negative ledger entry (supervisor)
    Reverse {
        credit_id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Batch credit run over all accounts or a file of them: a plan unless --apply
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
    #[arg(long)]
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
