//! `demo`: builds a realistic demo database (rebuilding an earlier demo file, never anything
//! else) and says what it holds.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::print::print;
use super::{DemoArgs, Format};
use crate::domain::SystemClock;
use crate::error::{Error, Result};
use crate::service::{OpenMode, Service, os_login};
use crate::store::{ConnectOptions, DbUrl};
use crate::with_store;

/// Builds the demo; returns the login it registered as the supervisor who ran it.
pub async fn build(
    url: DbUrl,
    agent: Option<&str>,
    format: Format,
    args: DemoArgs,
) -> Result<String> {
    if args.accounts == 0 {
        return Err(Error::invalid("--accounts must be at least 1"));
    }
    if let DbUrl::Sqlite(path) = &url {
        crate::service::admin::clear_old_demo(path).await?;
    }
    let started = Instant::now();
    let svc = Service::open(
        &url,
        &ConnectOptions::default(),
        Arc::new(SystemClock),
        OpenMode::Normal,
    )
    .await?;
    let admin = match with_store!(svc.store(), s => s.session_user().await)? {
        Some(db_login) => db_login,
        None => agent.map(str::to_string).unwrap_or_else(os_login),
    };
    let bar = (std::io::stderr().is_terminal() && args.accounts >= 50_000).then(|| {
        let bar = indicatif::ProgressBar::new(args.accounts);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "building demo {bar:40} {pos}/{len} accounts ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let summary = crate::demo::build_with(
        &svc,
        args.accounts,
        args.seed,
        args.incidents,
        &admin,
        bar.as_ref(),
    )
    .await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let elapsed = started.elapsed();
    tracing::info!(db = %url.display(), seconds = elapsed.as_secs_f64(), "demo built");
    svc.close().await;
    let size = match &url {
        DbUrl::Sqlite(p) => std::fs::metadata(p).map(|m| m.len()).ok(),
        DbUrl::Postgres(_) => None,
    };
    let logins: Vec<String> = crate::demo::AGENTS
        .iter()
        .map(|(l, _, r)| format!("{l} ({r})"))
        .chain(
            (!crate::demo::AGENTS.iter().any(|(l, _, _)| *l == admin))
                .then(|| format!("{admin} (supervisor)")),
        )
        .collect();
    let mut text = format!(
        "demo database: {}\n  {} accounts, {} plans, {} impact rows, {} backups, {} backup items, {} live items\n  built in {:.1} s{}\n  agents: {}\n",
        url.display(),
        summary.accounts,
        summary.plans,
        summary.impact_rows,
        summary.backups,
        summary.backup_items,
        summary.live_items,
        elapsed.as_secs_f64(),
        size.map(|s| format!(", {:.1} MB on disk", s as f64 / 1e6))
            .unwrap_or_default(),
        logins.join(", "),
    );
    // Without --db, the commands find the demo by themselves when it is the default database.
    let db_arg = if url == super::default_db() && std::env::var_os("CAREDESK_DB").is_none() {
        String::new()
    } else {
        format!("--db {} ", url.display())
    };
    text.push_str(&format!(
        "  try: caredesk {db_arg}lookup nunez   |   caredesk {db_arg}show 310000001   |   caredesk {db_arg}(the agents' screen)\n"
    ));
    print(
        format,
        text,
        json!({
            "db": url.display(),
            "summary": summary,
            "seconds": elapsed.as_secs_f64(),
            "bytes": size,
            "agents": crate::demo::AGENTS.iter().map(|(l, _, r)| json!({"login": l, "role": r.as_str()})).collect::<Vec<_>>(),
            "admin": admin,
        }),
    )?;
    Ok(admin)
}
