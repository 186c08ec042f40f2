//! Carries out one command line: resolves the database, opens it, resolves the acting agent
//! before anything is read or written, then hands the command to the file of its group.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::{
    Cli, Command, CreditCommand, Format, Global, accounts, admin, agents, audit, batch, credit,
    demo, import, privacy, restore,
};
use crate::domain::Actor;
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

pub fn default_db() -> DbUrl {
    DbUrl::Sqlite(data_dir().join("caredesk.db"))
}

pub fn default_demo_db() -> DbUrl {
    DbUrl::Sqlite(data_dir().join("demo.db"))
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
    let explicit_db = g.db.as_deref().map(DbUrl::parse).transpose()?;
    let url = explicit_db.clone().unwrap_or_else(default_db);
    let Some(command) = cli.command else {
        tracing::debug!(db = %url.display(), "opening the agents' screen");
        return open_tui(&url, g.agent.as_deref(), g.no_color).await;
    };
    let name = command_name(&command);
    tracing::debug!(command = name, "command started");
    let result = dispatch(command, &g, explicit_db, &url).await;
    tracing::info!(
        command = name,
        seconds = started.elapsed().as_secs_f64(),
        ok = result.is_ok(),
        "command finished"
    );
    result
}

async fn dispatch(
    command: Command,
    g: &Global,
    explicit_db: Option<DbUrl>,
    url: &DbUrl,
) -> Result<()> {
    match command {
        Command::Demo(args) => {
            let url = explicit_db.unwrap_or_else(default_demo_db);
            let no_tui = args.no_tui;
            let admin = demo::build(url.clone(), g.agent.as_deref(), g.format, args).await?;
            if no_tui {
                return Ok(());
            }
            let agent = matches!(url, DbUrl::Sqlite(_)).then_some(admin.as_str());
            open_tui(&url, agent, g.no_color).await
        }
        Command::Init { admin } => admin::init(url, &admin, g.format).await,
        #[cfg(feature = "bench")]
        Command::Bench(command) => super::bench::run(command, g, explicit_db).await,
        Command::Db(command) => admin::db(command, url, g).await,
        Command::Import { what, file } => import::run(url, g, what, &file).await,
        command => {
            let svc = open(url, OpenMode::Normal).await?;
            let actor = svc.actor(g.agent.as_deref()).await?;
            let result = as_agent(&svc, &actor, g.format, command).await;
            svc.close().await;
            result
        }
    }
}

/// The commands that act as an agent on a database opened the everyday way.
async fn as_agent(svc: &Service, actor: &Actor, format: Format, command: Command) -> Result<()> {
    match command {
        Command::Lookup { query, limit } => {
            accounts::lookup(svc, actor, format, &query, limit).await
        }
        Command::Show { account, reveal } => {
            accounts::show(svc, actor, format, &account, reveal).await
        }
        Command::Worklist { status, limit } => {
            accounts::worklist(svc, actor, format, status, limit).await
        }
        Command::Note { account, text } => {
            accounts::note(svc, actor, format, &account, &text).await
        }
        Command::DeclareLoss {
            account,
            category,
            reason,
            incident,
        } => {
            accounts::declare_loss(
                svc,
                actor,
                format,
                &account,
                &category,
                &reason,
                incident.as_deref(),
            )
            .await
        }
        Command::Privacy { command } => privacy::run(svc, actor, format, command).await,
        Command::Audit(command) => audit::run(svc, actor, format, command).await,
        Command::Agent(command) => agents::run(svc, actor, format, command).await,
        Command::Credit(CreditCommand::Run(args)) => batch::run(svc, actor, format, args).await,
        Command::Credit(command) => credit::run(svc, actor, format, command).await,
        Command::Restore(command) => restore::run(svc, actor, format, command).await,
        Command::Resync {
            account,
            category,
            items,
            incident,
        } => {
            restore::resync(
                svc,
                actor,
                format,
                &account,
                &category,
                items,
                incident.as_deref(),
            )
            .await
        }
        Command::Demo(_) | Command::Init { .. } | Command::Db(_) | Command::Import { .. } => Err(
            Error::System("this command is dispatched elsewhere".to_string()),
        ),
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
        Command::Db(_) => "db",
        Command::Privacy { .. } => "privacy",
        Command::Import { .. } => "import",
        Command::Lookup { .. } => "lookup",
        Command::Show { .. } => "show",
        Command::Worklist { .. } => "worklist",
        Command::Note { .. } => "note",
        Command::Credit(_) => "credit",
        Command::DeclareLoss { .. } => "declare-loss",
        Command::Restore(_) => "restore",
        Command::Resync { .. } => "resync",
        Command::Audit(_) => "audit",
        Command::Agent(_) => "agent",
        #[cfg(feature = "bench")]
        Command::Bench(_) => "bench",
    }
}

/// Opens the agents' screen once the acting agent is known (unknown or disabled: exit 3
/// before the screen opens).
pub(super) async fn open_tui(url: &DbUrl, agent: Option<&str>, no_color: bool) -> Result<()> {
    if let DbUrl::Sqlite(path) = url
        && !path.exists()
    {
        return Err(Error::invalid(format!(
            "there is no database at {}; build a demo with `caredesk demo` or create one with `caredesk init --admin LOGIN`",
            path.display()
        )));
    }
    let svc = open(url, OpenMode::Normal).await?;
    let actor = svc.actor(agent).await?;
    let result = crate::tui::run(svc.clone(), actor, crate::tui::Options { no_color }).await;
    svc.close().await;
    result
}
