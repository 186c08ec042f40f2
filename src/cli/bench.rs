//! `bench …` (built with `--features bench`): runs a benchmark and prints its table or JSON.

use std::path::PathBuf;

use super::dispatch::{data_dir, default_demo_db};
use super::print::{print, to_json};
use super::{BenchCommand, Global};
use crate::bench;
use crate::error::{Error, Result};
use crate::store::DbUrl;

/// `caredesk bench …`: each benchmark prints its table (or its JSON) the same way. SQLite bench
/// databases live in `--dir` (default: the data directory's `bench`); `--db` naming PostgreSQL
/// runs the benchmarks that support it there.
pub async fn run(command: BenchCommand, g: &Global, explicit_db: Option<DbUrl>) -> Result<()> {
    let bench_dir = |dir: Option<PathBuf>| dir.unwrap_or_else(|| data_dir().join("bench"));
    let pg = match &explicit_db {
        Some(DbUrl::Postgres(u)) => Some(u.as_str()),
        _ => None,
    };
    let login = g.agent.as_deref().unwrap_or("sofia");
    let say = |m: &str| eprintln!("{m}");
    match command {
        BenchCommand::Scale { sizes, dir } => {
            let sizes = bench::scale::parse_sizes(&sizes)?;
            if pg.is_some() {
                return Err(Error::invalid(
                    "bench scale runs on SQLite (bench batch, tui and agents take a PostgreSQL --db)",
                ));
            }
            let b = bench::scale::scale(&sizes, &bench_dir(dir), login, &say).await?;
            print(g.format, bench::scale::table(&b), to_json(&b)?)?;
        }
        BenchCommand::Batch { accounts, dir } => {
            let b = bench::batch(accounts, &bench_dir(dir), pg, login, &say).await?;
            print(g.format, bench::batch_table(&b), to_json(&b)?)?;
        }
        BenchCommand::Import { accounts, dir } => {
            let b = bench::import(accounts, &bench_dir(dir), pg, login, &say).await?;
            print(g.format, bench::import_table(&b), to_json(&b)?)?;
        }
        BenchCommand::Restore {
            items,
            accounts,
            reps,
            dir,
        } => {
            let b = bench::restore(items, accounts, reps, &bench_dir(dir), pg, login, &say).await?;
            print(g.format, bench::restore_table(&b), to_json(&b)?)?;
        }
        BenchCommand::Tui => {
            let url = explicit_db.unwrap_or_else(default_demo_db);
            let agent = matches!(url, DbUrl::Sqlite(_)).then_some(login);
            let b = bench::tui(&url, agent).await?;
            print(g.format, bench::tui_table(&b), to_json(&b)?)?;
        }
        BenchCommand::Agents {
            agents,
            seconds,
            pool,
            think_ms,
            no_screens,
        } => {
            let url = explicit_db.unwrap_or_else(default_demo_db);
            let agent =
                matches!(url, DbUrl::Sqlite(_)).then(|| g.agent.as_deref().unwrap_or("alice"));
            let b = bench::agents::run(&url, agent, agents, seconds, pool, think_ms, !no_screens)
                .await?;
            print(g.format, bench::agents::table(&b), to_json(&b)?)?;
            let errors = b.direct.errors + b.served.errors;
            if errors > 0 || b.double_credits > 0 || !b.audit_valid {
                return Err(Error::Partial(format!(
                    "the load left {} errors, {} double credits, audit chain {}",
                    errors,
                    b.double_credits,
                    if b.audit_valid { "valid" } else { "broken" }
                )));
            }
        }
    }
    Ok(())
}
