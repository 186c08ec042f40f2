//! The sessions a user keeps between commands: one token per server, in a file only its owner
//! can read or write (`CAREDESK_SESSIONS`, else `sessions.json` in the data directory).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    pub login: String,
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

pub fn path() -> PathBuf {
    std::env::var_os("CAREDESK_SESSIONS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| super::data_dir().join("sessions.json"))
}

/// The key a server's session is kept under: its address as given, without a trailing slash.
fn key(server: &str) -> String {
    server.trim().trim_end_matches('/').to_string()
}

fn load_all() -> Result<BTreeMap<String, Kept>> {
    let p = path();
    match std::fs::read(&p) {
        Ok(data) => serde_json::from_slice(&data).map_err(|e| {
            Error::invalid(format!(
                "the session file {} is unreadable ({e}); delete it and log in again",
                p.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::io(
            format!("cannot read the session file {}", p.display()),
            e,
        )),
    }
}

fn save_all(all: &BTreeMap<String, Kept>) -> Result<()> {
    let p = path();
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::io(
                format!(
                    "cannot create the folder {} of the session file {}",
                    dir.display(),
                    p.display()
                ),
                e,
            )
        })?;
    }
    let tmp = p.with_extension("json.tmp");
    let data = serde_json::to_vec_pretty(all)
        .map_err(|e| Error::System(format!("cannot encode the sessions: {e}")))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |e| {
        Error::io(
            format!(
                "cannot write the session file {} (its temporary copy {})",
                p.display(),
                tmp.display()
            ),
            e,
        )
    };
    let mut f = opts.open(&tmp).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    f.write_all(&data).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &p)
        .map_err(|e| Error::io(format!("cannot write the session file {}", p.display()), e))
}

pub fn get(server: &str) -> Result<Option<Kept>> {
    Ok(load_all()?.remove(&key(server)))
}

pub fn put(server: &str, kept: Kept) -> Result<()> {
    let mut all = load_all()?;
    all.insert(key(server), kept);
    save_all(&all)
}

pub fn forget(server: &str) -> Result<Option<Kept>> {
    let mut all = load_all()?;
    let old = all.remove(&key(server));
    if old.is_some() {
        save_all(&all)?;
    }
    Ok(old)
}
