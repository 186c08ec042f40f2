//! Carries out one command line: resolves the database, opens it, resolves the acting agent
//! before anything is read or written, then hands the command to the file of its group.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::{
    Cli, Command, CreditCommand, Format, Global, accounts, admin, agents, audit, batch, credit,
    demo, import, privacy, restore,
};
use crate::desk::{Desk, Local, Remote};
use crate::domain::SystemClock;
use crate::error::{Error, Result};
use crate::service::{OpenMode, Service};
use crate::store::{ConnectOptions, DbUrl};

/// Where caredesk keeps its files when `--db` and `CAREDESK_DB` say nothing.
pub fn data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "caredesk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".caredesk"))
}

/// The file `caredesk init` creates when `--db` and `CAREDESK_DB` say nothing.
pub fn default_init_db() -> DbUrl {
    DbUrl::Sqlite(data_dir().join("caredesk.db"))
}

/// The file `caredesk demo` (and `caredesk bench`) builds when `--db` says nothing.
pub fn default_demo_db() -> DbUrl {
    DbUrl::Sqlite(data_dir().join("demo.db"))
}

/// The one database every command (and `caredesk` alone) opens when `--db` and `CAREDESK_DB`
/// say nothing: `caredesk.db` in the data directory, else the demo when it is the only one
/// there, so `caredesk demo` then `caredesk` open the same database. When neither exists it is
/// `caredesk.db`, and opening it says which command makes which file (`no_database`).
pub fn default_db() -> DbUrl {
    let real = default_init_db();
    let demo = default_demo_db();
    match (&real, &demo) {
        (DbUrl::Sqlite(r), DbUrl::Sqlite(d)) if !r.exists() && d.exists() => demo,
        _ => real,
    }
}

/// Refuses, before anything is opened, a command that needs a SQLite file that is not there,
/// saying exactly which command makes it and where. `explicit`: the file was named by `--db`
/// or `CAREDESK_DB`, else it is the default and nothing is in the data directory yet.
fn no_database(url: &DbUrl, explicit: bool) -> Result<()> {
    let DbUrl::Sqlite(path) = url else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    if explicit {
        let db = shell_word(&url.display());
        return Err(Error::invalid(format!(
            "there is no database at {}: `caredesk --db {db} init --admin LOGIN` creates it (or `caredesk --db {db} demo` builds a demo there)",
            path.display()
        )));
    }
    let (DbUrl::Sqlite(real), DbUrl::Sqlite(demo)) = (default_init_db(), default_demo_db()) else {
        return Ok(());
    };
    Err(Error::invalid(format!(
        "there is no caredesk database yet: `caredesk demo` builds a demo at {} (then `caredesk` opens it), or `caredesk init --admin LOGIN` creates an empty one at {} (or give --db)",
        demo.display(),
        real.display()
    )))
}

/// `s` as one word a shell reads back unchanged: as it is when it holds nothing a shell
/// would split or expand, else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=~".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Whether the command opens the database named by `--db` (or the default) and needs it to
/// exist: not `demo` or `init`, which make it, nor what goes through a server; `serve` checks
/// its own arguments first (a server that may not listen says so before any database).
fn opens_existing_db(command: Option<&Command>, g: &Global) -> bool {
    match command {
        Some(
            Command::Demo(_)
            | Command::Init { .. }
            | Command::Login { .. }
            | Command::Logout
            | Command::Serve(_),
        ) => false,
        #[cfg(feature = "bench")]
        Some(Command::Bench(_)) => false,
        _ => g.server.is_none(),
    }
}

/// Opens an existing database for one command (pool and timeouts as the environment says).
pub(super) async fn open(url: &DbUrl, mode: OpenMode) -> Result<Service> {
    let opts = ConnectOptions {
        create: false,
        ..ConnectOptions::from_env()?
    };
    let svc = Service::open(url, &opts, Arc::new(SystemClock), mode).await?;
    tracing::debug!(db = %url.display(), ?mode, "database opened");
    Ok(svc)
}

pub async fn run(cli: Cli) -> Result<()> {
    let started = Instant::now();
    let g = cli.global.clone();
    // Generated from the definitions alone: no database, no server, whatever --db says.
    match &cli.command {
        Some(Command::Completions { shell }) => return super::manual::completions(*shell),
        Some(Command::Man { dir }) => return super::manual::man(dir.as_deref()),
        _ => {}
    }
    let explicit_db = g.db.as_deref().map(DbUrl::parse).transpose()?;
    let url = explicit_db.clone().unwrap_or_else(default_db);
    if opens_existing_db(cli.command.as_ref(), &g) {
        no_database(&url, explicit_db.is_some())?;
    }
    let Some(command) = cli.command else {
        tracing::debug!(db = %url.display(), "opening the agents' screen");
        return open_tui(&g, &url, g.agent.as_deref()).await;
    };
    let name = command_name(&command);
    tracing::debug!(command = name, "command started");
    // A driver error that reached here unnamed (a statement failed after the database was
    // opened) names the database it happened on.
    let result = dispatch(command, &g, explicit_db, &url)
        .await
        .map_err(|e| e.on_database(&url.display()));
    tracing::info!(
        command = name,
        seconds = started.elapsed().as_secs_f64(),
        ok = result.is_ok(),
        "command finished"
    );
    result
}

/// Commands an operator runs on the database itself, never through a server.
fn direct_only(g: &Global, what: &str) -> Result<()> {
    if g.server.is_some() {
        return Err(Error::invalid(format!(
            "`{what}` works on the database itself (--db), not through a server; unset --server / CAREDESK_SERVER"
        )));
    }
    Ok(())
}

async fn dispatch(
    command: Command,
    g: &Global,
    explicit_db: Option<DbUrl>,
    url: &DbUrl,
) -> Result<()> {
    match command {
        Command::Demo(args) => {
            direct_only(g, "demo")?;
            let url = explicit_db.unwrap_or_else(default_demo_db);
            let no_tui = args.no_tui;
            let admin = demo::build(url.clone(), g.agent.as_deref(), g.format, args)
                .await
                .map_err(|e| e.on_database(&url.display()))?;
            if no_tui {
                return Ok(());
            }
            let agent = matches!(url, DbUrl::Sqlite(_)).then_some(admin.as_str());
            open_tui(g, &url, agent).await
        }
        Command::Init { admin, incident } => {
            direct_only(g, "init")?;
            admin::init(
                &explicit_db.unwrap_or_else(default_init_db),
                &admin,
                incident.as_deref(),
                g.format,
            )
            .await
        }
        #[cfg(feature = "bench")]
        Command::Bench(command) => super::bench::run(command, g, explicit_db).await,
        Command::Db(command) => {
            direct_only(g, "db")?;
            admin::db(command, url, g).await
        }
        Command::Serve(args) => super::serve::serve(url, args).await,
        Command::Login {
            login,
            password_stdin,
        } => super::serve::login(g, &login, password_stdin).await,
        Command::Logout => super::serve::logout(g).await,
        Command::Import { what, file } if g.server.is_none() => {
            import::run(url, g, what, &file).await
        }
        command => {
            let desk = open_desk(g, explicit_db.as_ref(), url).await?;
            let result = as_agent(&desk, g.format, command).await;
            desk.close().await;
            result
        }
    }
}

/// The desk the commands and the screen work through: the server when `--server` (or
/// `CAREDESK_SERVER`) names one, with the session `caredesk login` kept for it; else the
/// database in this process, acting as the agent resolved (and checked) before anything runs.
pub(super) async fn open_desk(
    g: &Global,
    explicit_db: Option<&DbUrl>,
    url: &DbUrl,
) -> Result<Desk> {
    if let Some(server) = &g.server {
        if explicit_db.is_some() {
            return Err(Error::invalid(
                "give --db or --server, not both: through a server, the server holds the database",
            ));
        }
        if g.agent.is_some() {
            return Err(Error::invalid(
                "--agent applies to a local SQLite file; through a server you act as the agent you logged in as",
            ));
        }
        let token = super::serve::token_for(server)?;
        return Ok(Desk::Remote(Remote::new(server, token)?));
    }
    let svc = open(url, OpenMode::Normal).await?;
    let actor = match svc.actor(g.agent.as_deref()).await {
        Ok(a) => a,
        Err(e) => {
            svc.close().await;
            return Err(e);
        }
    };
    Ok(Desk::Local(Local::new(svc, actor.login)))
}

/// The commands that act as an agent, through the desk.
async fn as_agent(desk: &Desk, format: Format, command: Command) -> Result<()> {
    match command {
        Command::Lookup { query, limit } => accounts::lookup(desk, format, &query, limit).await,
        Command::Show { account, reveal } => accounts::show(desk, format, &account, reveal).await,
        Command::Worklist { status, limit } => {
            accounts::worklist(desk, format, status, limit).await
        }
        Command::Note { account, text } => accounts::note(desk, format, &account, &text).await,
        Command::Advise {
            account,
            channel,
            incident,
        } => super::contact::advise(desk, format, &account, &channel, incident).await,
        Command::Callback(args) => super::contact::callback(desk, format, args).await,
        Command::Outreach(command) => super::contact::outreach(desk, format, command).await,
        Command::DeclareLoss {
            account,
            category,
            reason,
            incident,
        } => {
            accounts::declare_loss(
                desk,
                format,
                &account,
                &category,
                &reason,
                incident.as_deref(),
            )
            .await
        }
        Command::Import { what, file } => import::through(desk, format, what, &file).await,
        Command::Privacy { command } => privacy::run(desk, format, command).await,
        Command::Audit(command) => audit::run(desk, format, command).await,
        Command::Agent(command) => agents::run(desk, format, command).await,
        Command::Credit(CreditCommand::Run(args)) => batch::run(desk, format, args).await,
        Command::Credit(command) => credit::run(desk, format, command).await,
        Command::Incident(command) => super::incident::run(desk, format, command).await,
        Command::Restore(command) => restore::run(desk, format, command).await,
        Command::Resync {
            account,
            category,
            items,
            incident,
        } => {
            restore::resync(
                desk,
                format,
                &account,
                &category,
                items,
                incident.as_deref(),
            )
            .await
        }
        Command::Demo(_)
        | Command::Init { .. }
        | Command::Db(_)
        | Command::Serve(_)
        | Command::Login { .. }
        | Command::Logout
        | Command::Completions { .. }
        | Command::Man { .. } => Err(Error::System(
            "this command is dispatched elsewhere".to_string(),
        )),
        #[cfg(feature = "bench")]
        Command::Bench(_) => Err(Error::System(
            "this command is dispatched elsewhere".to_string(),
        )),
    }
}

/// The command's name for diagnostics (`CAREDESK_LOG`); never its arguments, which may name
/// a customer.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Demo(_) => "demo",
        Command::Init { .. } => "init",
        Command::Incident(_) => "incident",
        Command::Db(_) => "db",
        Command::Privacy { .. } => "privacy",
        Command::Import { .. } => "import",
        Command::Lookup { .. } => "lookup",
        Command::Show { .. } => "show",
        Command::Worklist { .. } => "worklist",
        Command::Note { .. } => "note",
        Command::Advise { .. } => "advise",
        Command::Callback(_) => "callback",
        Command::Outreach(_) => "outreach",
        Command::Credit(_) => "credit",
        Command::DeclareLoss { .. } => "declare-loss",
        Command::Restore(_) => "restore",
        Command::Resync { .. } => "resync",
        Command::Audit(_) => "audit",
        Command::Agent(_) => "agent",
        Command::Serve(_) => "serve",
        Command::Login { .. } => "login",
        Command::Logout => "logout",
        Command::Completions { .. } => "completions",
        Command::Man { .. } => "man",
        #[cfg(feature = "bench")]
        Command::Bench(_) => "bench",
    }
}

/// Opens the agents' screen once the acting agent is known (unknown or disabled: exit 3
/// before the screen opens).
pub(super) async fn open_tui(g: &Global, url: &DbUrl, agent: Option<&str>) -> Result<()> {
    let g = Global {
        agent: agent.map(str::to_string),
        ..g.clone()
    };
    let explicit = g.db.as_deref().map(DbUrl::parse).transpose()?;
    if g.server.is_none() {
        no_database(url, explicit.is_some())?;
    }
    let desk = open_desk(&g, explicit.as_ref(), url).await?;
    let result = match desk.whoami().await {
        Ok(actor) => {
            crate::tui::run(
                desk.clone(),
                actor,
                crate::tui::Options {
                    no_color: g.no_color,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    desk.close().await;
    result
}
