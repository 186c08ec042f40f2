//! `import accounts|impact|backups FILE`: all or nothing, on one connection with a large cache.

use std::path::Path;
use std::sync::Arc;

use super::print::{print, to_json};
use super::{Global, ImportKind};
use crate::domain::SystemClock;
use crate::error::Result;
use crate::service::admin::{ImportFile, import_connect_options};
use crate::service::{OpenMode, Service};
use crate::store::{ConnectOptions, DbUrl};

impl From<ImportKind> for ImportFile {
    fn from(kind: ImportKind) -> Self {
        match kind {
            ImportKind::Accounts => Self::Accounts,
            ImportKind::Impact => Self::Impact,
            ImportKind::Backups => Self::Backups,
        }
    }
}

pub async fn run(url: &DbUrl, g: &Global, what: ImportKind, file: &Path) -> Result<()> {
    // One connection with a large cache; waits for locks and connections as the environment
    // says.
    let env = ConnectOptions::from_env()?;
    let svc = Service::open(
        url,
        &ConnectOptions {
            lock_timeout: env.lock_timeout,
            acquire_timeout: env.acquire_timeout,
            ..import_connect_options()
        },
        Arc::new(SystemClock),
        OpenMode::Normal,
    )
    .await?;
    tracing::debug!(db = %url.display(), "database opened for an import");
    let result = import(&svc, g, what, file).await;
    svc.close().await;
    result
}

async fn import(svc: &Service, g: &Global, what: ImportKind, file: &Path) -> Result<()> {
    let actor = svc.actor(g.agent.as_deref()).await?;
    let source = crate::import::source_name(file);
    let counts = svc.import_file(&actor, what.into(), file).await?;
    print(
        g.format,
        format!(
            "{source}: {} rows: {} new, {} changed, {} unchanged\n",
            counts.rows, counts.inserted, counts.updated, counts.unchanged
        ),
        to_json(&counts)?,
    )
}

/// An import through a server: the file's bytes go to the server, which imports them in one
/// transaction as it would its own file (and finishes if this client goes away).
pub async fn through(
    desk: &crate::desk::Desk,
    format: super::Format,
    what: ImportKind,
    file: &Path,
) -> Result<()> {
    let source = crate::import::source_name(file);
    let data = crate::import::read_input(file)?;
    let kind = match what {
        ImportKind::Accounts => crate::desk::ImportKind::Accounts,
        ImportKind::Impact => crate::desk::ImportKind::Impact,
        ImportKind::Backups => crate::desk::ImportKind::Backups,
    };
    let counts = desk.import(kind, &source, data).await?;
    print(
        format,
        format!(
            "{source}: {} rows: {} new, {} changed, {} unchanged\n",
            counts.rows, counts.inserted, counts.updated, counts.unchanged
        ),
        to_json(&counts)?,
    )
}
