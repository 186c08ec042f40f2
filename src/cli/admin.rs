//! `init` and `db migrate|backup|optimize|grant`: creating and looking after a database.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::dispatch::open;
use super::print::{print, to_json};
use super::{DbCommand, Format, Global};
use crate::domain::SystemClock;
use crate::error::{Error, Result};
use crate::service::{OpenMode, Service};
use crate::store::{ConnectOptions, DbUrl};
use crate::with_store;

/// `init --admin LOGIN [--incident FILE]`: an empty database, its first supervisor and, when
/// given, its first incident (the file is read and checked before the database is touched).
pub async fn init(url: &DbUrl, admin: &str, incident: Option<&Path>, format: Format) -> Result<()> {
    let incident = incident.map(super::incident::read_file).transpose()?;
    let svc = Service::open(
        url,
        &ConnectOptions::default(),
        Arc::new(SystemClock),
        OpenMode::Normal,
    )
    .await?;
    let login = svc.init_admin(admin, incident.as_ref()).await;
    // Closing checkpoints SQLite's WAL into the file, as every command does: a copy of the
    // file alone then holds the first supervisor.
    svc.close().await;
    let login = login?;
    tracing::info!(db = %url.display(), admin = %login, "database created");
    let id = incident.as_ref().map(|i| i.id.clone());
    print(
        format,
        format!(
            "created {} with the supervisor \"{}\"{}\n",
            url.display(),
            login,
            id.as_ref().map_or(
                "; no incident yet (add one with `caredesk incident create FILE`)".to_string(),
                |id| format!(" and the incident {id}")
            )
        ),
        json!({"db": url.display(), "admin": login, "incident": id}),
    )
}

pub async fn db(command: DbCommand, url: &DbUrl, g: &Global) -> Result<()> {
    match command {
        DbCommand::Migrate { backup_taken } => {
            migrate(url, backup_taken.as_deref(), g.format).await
        }
        DbCommand::Optimize => {
            let svc = open(url, OpenMode::Normal).await?;
            let started = Instant::now();
            let done = with_store!(svc.store(), s => s.optimize().await);
            svc.close().await;
            done?;
            print(
                g.format,
                format!("optimized in {:.1} s\n", started.elapsed().as_secs_f64()),
                json!({"seconds": started.elapsed().as_secs_f64()}),
            )
        }
        DbCommand::Grant { servers } => grant(url, &servers, g).await,
        DbCommand::Backup { path } => backup(url, &path, g.format).await,
    }
}

/// `db migrate`: the service takes the backup the rule asks for (a PostgreSQL dump goes in
/// the data folder's `backups/`); this says where.
async fn migrate(url: &DbUrl, backup_taken: Option<&Path>, format: Format) -> Result<()> {
    let svc = open(url, OpenMode::Raw).await?;
    let dump_dir = super::dispatch::data_dir().join("backups");
    if matches!(url, DbUrl::Postgres(_)) && backup_taken.is_none() {
        std::fs::create_dir_all(&dump_dir).map_err(|e| {
            Error::io(
                format!("cannot create the folder {}", dump_dir.display()),
                e,
            )
        })?;
    }
    let m = svc.migrate_with_backup(backup_taken, &dump_dir).await;
    svc.close().await;
    let m = m?;
    let text = match (&m.backup, m.applied) {
        (_, 0) => "the database is up to date\n".to_string(),
        (Some(b), n) if m.backup_checked => format!(
            "checked the pg_dump archive {}; applied {n} migration(s)\n",
            b.display()
        ),
        (Some(b), n) => format!("backed up to {}; applied {n} migration(s)\n", b.display()),
        (None, n) => format!("applied {n} migration(s)\n"),
    };
    print(
        format,
        text,
        json!({"applied": m.applied, "backup": m.backup, "backup_checked": m.backup_checked}),
    )
}

/// `db backup PATH`: a consistent copy, whole or not at all, never over an existing file.
async fn backup(url: &DbUrl, path: &Path, format: Format) -> Result<()> {
    if path.exists() {
        return Err(Error::invalid(format!(
            "{} already exists; choose a new file",
            path.display()
        )));
    }
    crate::paths::check_writable("the backup", path)?;
    let svc = open(url, OpenMode::Raw).await?;
    let done = svc.backup_to(path).await;
    svc.close().await;
    done?;
    tracing::info!(backup = %path.display(), "backup written");
    let how = match url {
        DbUrl::Sqlite(_) => "",
        DbUrl::Postgres(_) => {
            " (a pg_dump custom-format archive: restore it with pg_restore, docs/operations.md)"
        }
    };
    print(
        format,
        format!("backed up to {}{how}\n", path.display()),
        json!({"backup": path}),
    )
}

/// `db grant` (PostgreSQL): the database's two groups, their privileges, the server's logins
/// and the operators; nobody else keeps any right.
async fn grant(url: &DbUrl, servers: &[String], g: &Global) -> Result<()> {
    let svc = open(url, OpenMode::Normal).await?;
    let actor = svc.actor(g.agent.as_deref()).await?;
    let r = svc.grant_rights(&actor, servers).await;
    svc.close().await;
    let r = r?;
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut text = format!(
        "groups {}: privileges set (read everything; write all but the ledger and the audit log, which are append-only)\n",
        r.groups.join(", ")
    );
    text.push_str(&format!("server login(s): {}\n", list(&r.server_logins)));
    if !r.server_logins_created.is_empty() {
        text.push_str(&format!(
            "created server login(s) {} (without a password: set one, or let pg_hba.conf decide how they sign in)\n",
            r.server_logins_created.join(", ")
        ));
    }
    text.push_str(&format!(
        "operator(s), the active supervisors with a database login: {}\n",
        list(&r.operators)
    ));
    if !r.supervisors_without_login.is_empty() {
        text.push_str(&format!(
            "supervisor(s) without a database login (they work through the server): {}\n",
            r.supervisors_without_login.join(", ")
        ));
    }
    text.push_str(&format!(
        "{} agent(s), auditor(s) and disabled agent(s) have no rights on the database; they work through the server\n",
        r.without_rights.len()
    ));
    if !r.revoked.is_empty() {
        text.push_str(&format!(
            "revoked every privilege of: {}\n",
            r.revoked.join(", ")
        ));
    }
    if !r.old_groups_dropped.is_empty() {
        text.push_str(&format!(
            "dropped the earlier groups {}\n",
            r.old_groups_dropped.join(", ")
        ));
    }
    if !r.old_groups_kept.is_empty() {
        text.push_str(&format!(
            "emptied the earlier groups {} (kept: something else depends on them)\n",
            r.old_groups_kept.join(", ")
        ));
    }
    if !r.superusers.is_empty() {
        let (verb, noun) = if r.superusers.len() == 1 {
            ("is a", "superuser")
        } else {
            ("are", "superusers")
        };
        text.push_str(&format!(
            "note: {} {verb} {noun}: no privilege limits a superuser\n",
            r.superusers.join(", ")
        ));
    }
    if !r.still_privileged.is_empty() {
        text.push_str(&format!(
            "warning: {} should have no rights but still reach caredesk's tables (superuser, owner, or another role's member); fix by hand\n",
            r.still_privileged.join(", ")
        ));
    }
    print(g.format, text, to_json(&r)?)
}
