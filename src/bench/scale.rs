//! `caredesk bench scale`: how cost grows with the number of accounts (SQLite). For each size
//! it builds the demo (timed), times the lookups an agent types on a copy, and times a batch
//! credit run and its replay beside the hand-written INSERT … SELECT on the same data.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::{Percentiles, batch, pristine_sqlite, sqlite_copy, tui};
use crate::error::{Error, Result};
use crate::store::DbUrl;

#[derive(Debug, Clone, Serialize)]
pub struct ScaleRow {
    pub accounts: u64,
    pub demo_seconds: f64,
    pub db_mb: f64,
    pub lookup_exact: Percentiles,
    pub lookup_substring: Percentiles,
    pub keystroke: Percentiles,
    pub like_scan_baseline: Percentiles,
    pub batch_baseline_seconds: f64,
    pub batch_run_seconds: f64,
    pub batch_ratio: f64,
    pub replay_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleBench {
    pub backend: String,
    pub rows: Vec<ScaleRow>,
}

/// Parses "10000,100000,1000000" (each 1,000 to 5,000,000).
pub fn parse_sizes(s: &str) -> Result<Vec<u64>> {
    let sizes = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.replace('_', "").parse::<u64>().ok().filter(|n| (1_000..=5_000_000).contains(n)))
        .collect::<Option<Vec<u64>>>()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::invalid(format!(
                "--sizes must list account counts from 1000 to 5000000 separated by commas, not \"{}\"",
                crate::domain::sanitize(s)
            ))
        })?;
    Ok(sizes)
}

pub async fn scale(
    sizes: &[u64],
    dir: &Path,
    login: &str,
    say: &dyn Fn(&str),
) -> Result<ScaleBench> {
    let mut rows = Vec::new();
    for &accounts in sizes {
        // A fresh build, timed: the pristine copy the batch benchmark reuses.
        let pristine = dir.join(format!("bench-{accounts}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let mut p = pristine.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(p));
        }
        say(&format!("{accounts} accounts: building the demo…"));
        let started = Instant::now();
        let pristine = pristine_sqlite(dir, accounts, login, &|_| {}).await?;
        let demo_seconds = started.elapsed().as_secs_f64();
        let db_mb = std::fs::metadata(&pristine)
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0);

        say(&format!("{accounts} accounts: timing lookups…"));
        let copy = dir.join("bench-scale-lookups.db");
        sqlite_copy(&pristine, &copy)?;
        let t = tui(&DbUrl::Sqlite(copy.clone()), Some(login)).await?;
        let _ = std::fs::remove_file(&copy);

        say(&format!("{accounts} accounts: timing the batch run…"));
        let b = batch(accounts, dir, None, login, &|_| {}).await?;
        rows.push(ScaleRow {
            accounts,
            demo_seconds,
            db_mb,
            lookup_exact: t.lookup_exact,
            lookup_substring: t.lookup_substring,
            keystroke: t.keystroke,
            like_scan_baseline: t.like_scan_baseline,
            batch_baseline_seconds: b.baseline_seconds,
            batch_run_seconds: b.run_seconds,
            batch_ratio: b.ratio,
            replay_seconds: b.replay_seconds,
        });
    }
    Ok(ScaleBench {
        backend: "sqlite".to_string(),
        rows,
    })
}

pub fn table(b: &ScaleBench) -> String {
    let mut s = format!(
        "how cost grows with the accounts ({})\n\
         | accounts | demo build | µs/account | DB | exact p50 | substring p50 / p95 | LIKE scan p95 | keystroke p95 | batch baseline | batch run | run/baseline | µs/account | replay |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        b.backend
    );
    for r in &b.rows {
        let per = |secs: f64| secs * 1e6 / r.accounts.max(1) as f64;
        s.push_str(&format!(
            "| {} | {:.1} s | {:.0} | {:.0} MB | {:.3} ms | {:.2} / {:.2} ms | {:.1} ms | {:.2} ms | {:.2} s | {:.2} s | {:.2}x | {:.1} | {:.2} s |\n",
            r.accounts,
            r.demo_seconds,
            per(r.demo_seconds),
            r.db_mb,
            r.lookup_exact.p50_ms,
            r.lookup_substring.p50_ms,
            r.lookup_substring.p95_ms,
            r.like_scan_baseline.p95_ms,
            r.keystroke.p95_ms,
            r.batch_baseline_seconds,
            r.batch_run_seconds,
            r.batch_ratio,
            per(r.batch_run_seconds),
            r.replay_seconds,
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::parse_sizes;

    #[test]
    fn sizes_are_checked() {
        assert_eq!(
            parse_sizes("10000, 100_000,1000000").expect("valid"),
            vec![10_000, 100_000, 1_000_000]
        );
        for bad in ["", "ten", "10", "10000,x", "9000000"] {
            assert_eq!(parse_sizes(bad).expect_err(bad).exit_code(), 2);
        }
    }
}
