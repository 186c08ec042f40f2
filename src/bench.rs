//! `caredesk bench`: the project's own benchmarks, each beside a baseline measured in the same
//! run (what a database expert would write by hand), so figures compare on a noisy machine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::domain::SystemClock;
use crate::error::{Error, Result};
use crate::service::batch::RunRequest;
use crate::service::{OpenMode, Service};
use crate::store::{ConnectOptions, DbUrl, Store};
use crate::with_store;

pub mod agents;
mod idle;
mod import;
mod restore;
pub use import::{ImportBench, import, import_table};
pub use restore::{RestoreBench, Stats, restore, restore_table};
pub mod scale;

#[derive(Debug, Clone, Serialize)]
pub struct BatchBench {
    pub backend: String,
    pub accounts: u64,
    pub baseline_credits: i64,
    pub baseline_seconds: f64,
    pub run_credited: i64,
    pub run_seconds: f64,
    pub replay_seconds: f64,
    pub ratio: f64,
}

/// The hand-written baseline: one INSERT … SELECT for the credits and one for their audit rows
/// (without the hash chain, which plain SQL cannot compute), committed.
const BASELINE_CREDITS: &str = "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, reason, request_key, created_at) \
     SELECT a.id, i.id, 'incident', p.price_cents * i.credit_months, p.currency, $1, 'baseline', 'incident:' || a.account_no || ':' || i.id, $2 \
     FROM accounts a JOIN incidents i ON TRUE \
     JOIN plans p ON p.account_id = a.id AND p.data_plan AND p.valid_from <= i.started_at AND (p.valid_to IS NULL OR p.valid_to > i.started_at) \
     WHERE a.status <> 'closed' ON CONFLICT DO NOTHING";
const BASELINE_AUDIT: &str = "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
     SELECT (SELECT seq FROM audit_head) + c.id, $2, $1, 'supervisor', 'credit.incident', a.account_no, CAST(c.id AS TEXT), 'ok', \
            CAST(c.amount_cents AS TEXT) || ' cents', '', '' \
     FROM credits c JOIN accounts a ON a.id = c.account_id WHERE c.kind = 'incident'";

async fn open(url: &DbUrl) -> Result<Service> {
    Service::open(
        url,
        &ConnectOptions::default(),
        Arc::new(SystemClock),
        OpenMode::Normal,
    )
    .await
}

async fn demo_into(url: &DbUrl, accounts: u64, login: &str) -> Result<()> {
    let svc = open(url).await?;
    crate::demo::build(&svc, accounts, 2009, login, None).await?;
    svc.close().await;
    Ok(())
}

async fn baseline(svc: &Service, login: &str) -> Result<(i64, Duration)> {
    let now = svc.now();
    let started = Instant::now();
    let n = match svc.store() {
        Store::Sqlite(s) => {
            let mut tx = s.pool().begin_with("BEGIN IMMEDIATE").await?;
            let n = sqlx::query(BASELINE_CREDITS)
                .bind(login)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(BASELINE_AUDIT)
                .bind(login)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            n
        }
        Store::Postgres(s) => {
            // On PostgreSQL the baseline runs in a transaction that is rolled back after it is
            // timed, so the same database then serves caredesk's run.
            let mut tx = s.pool().begin().await?;
            let n = sqlx::query(BASELINE_CREDITS)
                .bind(login)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(BASELINE_AUDIT)
                .bind(login)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("SELECT 1").execute(&mut *tx).await?;
            let elapsed = started.elapsed();
            tx.rollback().await?;
            return Ok((i64::try_from(n).unwrap_or(i64::MAX), elapsed));
        }
    };
    Ok((i64::try_from(n).unwrap_or(i64::MAX), started.elapsed()))
}

fn sqlite_copy(from: &Path, to: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = to.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    std::fs::copy(from, to).map_err(|e| {
        Error::io(
            format!("cannot copy {} to {}", from.display(), to.display()),
            e,
        )
    })?;
    Ok(())
}

/// The SQLite demo database of `accounts` accounts kept in `dir` for the benchmarks: built
/// once, reused while its schema is current.
async fn pristine_sqlite(
    dir: &Path,
    accounts: u64,
    login: &str,
    say: &dyn Fn(&str),
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let pristine = dir.join(format!("bench-{accounts}.db"));
    let ready = pristine.exists() && {
        let store = Store::connect(
            &DbUrl::Sqlite(pristine.clone()),
            &ConnectOptions {
                create: false,
                ..Default::default()
            },
        )
        .await?;
        // A demo built by an older schema is rebuilt rather than migrated.
        let current = with_store!(&store, s => s.pending_migrations().await)
            .map(|p| p.is_empty())
            .unwrap_or(false);
        let seeded = current
            && with_store!(&store, s => s.meta("demo").await)
                .ok()
                .flatten()
                .is_some();
        with_store!(&store, s => s.close().await);
        seeded
    };
    if !ready {
        let _ = std::fs::remove_file(&pristine);
        say(&format!(
            "building the {accounts}-account demo database {} (once)…",
            pristine.display()
        ));
        demo_into(&DbUrl::Sqlite(pristine.clone()), accounts, login).await?;
    }
    Ok(pristine)
}

/// Times a batch credit run over a demo database of `accounts` and a replay of it, against the
/// hand-written baseline on the same data. SQLite: a pristine demo is built once in `dir`
/// (reused while it exists) and copied for the baseline and for the run. PostgreSQL: `pg_url`
/// must name an empty database; the demo is built there.
pub async fn batch(
    accounts: u64,
    dir: &Path,
    pg_url: Option<&str>,
    login: &str,
    say: &dyn Fn(&str),
) -> Result<BatchBench> {
    let run_req = RunRequest {
        incident: None,
        accounts: None,
        apply: true,
        chunk: 5000,
        shard: (0, 1),
        max_total_cents: None,
        skip_invalid: false,
    };
    let cancel = AtomicBool::new(false);
    let (backend, base_secs, base_n, run_url) = match pg_url {
        None => {
            let pristine = pristine_sqlite(dir, accounts, login, say).await?;
            let base_path = dir.join("bench-baseline.db");
            sqlite_copy(&pristine, &base_path)?;
            let svc = open(&DbUrl::Sqlite(base_path.clone())).await?;
            say("timing the hand-written INSERT … SELECT baseline…");
            let (n, t) = baseline(&svc, login).await?;
            svc.close().await;
            let _ = std::fs::remove_file(&base_path);
            let run_path = dir.join("bench-run.db");
            sqlite_copy(&pristine, &run_path)?;
            ("sqlite".to_string(), t, n, DbUrl::Sqlite(run_path))
        }
        Some(url) => {
            let url = DbUrl::parse(url)?;
            say(&format!(
                "building the {accounts}-account demo database in {}…",
                url.display()
            ));
            demo_into(&url, accounts, login).await?;
            let svc = open(&url).await?;
            say("timing the hand-written INSERT … SELECT baseline (rolled back)…");
            let (n, t) = baseline(&svc, login).await?;
            svc.close().await;
            ("postgres".to_string(), t, n, url)
        }
    };
    let svc = open(&run_url).await?;
    let actor = svc
        .actor(if pg_url.is_some() { None } else { Some(login) })
        .await?;
    say("timing caredesk's batch run (chunks of 5,000, audited, resumable)…");
    let started = Instant::now();
    let run = svc
        .credit_run(&actor, &run_req, &|_, _| {}, &cancel, None)
        .await?;
    let run_secs = started.elapsed();
    say("timing the replay (every account already credited)…");
    let started = Instant::now();
    let replay = svc
        .credit_run(&actor, &run_req, &|_, _| {}, &cancel, None)
        .await?;
    let replay_secs = started.elapsed();
    if replay.tally.credited != 0 {
        return Err(Error::System(
            "the replay credited accounts: the run was not complete".to_string(),
        ));
    }
    svc.close().await;
    if let DbUrl::Sqlite(p) = &run_url {
        let _ = std::fs::remove_file(p);
    }
    Ok(BatchBench {
        backend,
        accounts,
        baseline_credits: base_n,
        baseline_seconds: base_secs.as_secs_f64(),
        run_credited: run.tally.credited,
        run_seconds: run_secs.as_secs_f64(),
        replay_seconds: replay_secs.as_secs_f64(),
        ratio: run_secs.as_secs_f64() / base_secs.as_secs_f64().max(1e-9),
    })
}

pub fn batch_table(b: &BatchBench) -> String {
    format!(
        "batch credit run, {} accounts, {}\n\
         | what | credits | seconds | vs baseline | target |\n\
         |---|---|---|---|---|\n\
         | hand-written INSERT … SELECT (credits + audit rows) | {} | {:.2} | 1.00x | — |\n\
         | caredesk credit run --apply (chunked, audited, resumable) | {} | {:.2} | {:.2}x | < 8 s, < 3x |\n\
         | replay (every account already credited) | 0 | {:.2} | — | < 2 s |\n",
        b.accounts,
        b.backend,
        b.baseline_credits,
        b.baseline_seconds,
        b.run_credited,
        b.run_seconds,
        b.ratio,
        b.replay_seconds
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub n: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
    samples.sort();
    let at = |q: f64| {
        if samples.is_empty() {
            return 0.0;
        }
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i.min(samples.len() - 1)].as_secs_f64() * 1e3
    };
    Percentiles {
        n: samples.len(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TuiBench {
    pub backend: String,
    pub accounts: i64,
    pub first_frame_ms: f64,
    pub keystroke: Percentiles,
    pub lookup_substring: Percentiles,
    pub lookup_exact: Percentiles,
    pub like_scan_baseline: Percentiles,
    pub peak_rss_mb: f64,
    /// The slowest substring lookups: (query, ms).
    pub slowest: Vec<(String, f64)>,
    /// CPU used by a screen left idle with an account open (watcher, heartbeat, redraws), in
    /// percent of one core.
    pub idle_cpu_percent: f64,
}

/// The queries an agent types, one keystroke at a time: name and e-mail fragments, phone
/// fragments in several formats, account numbers.
const TYPED: &[&str] = &[
    "smith",
    "nunez",
    "garc",
    "ann",
    "jose",
    "mill",
    "kow",
    "o'brien",
    "zoe",
    "thao",
    "yilmaz",
    "rodrig",
    "jose.nunez",
    "@example.net",
    "555-01",
    "(206) 555",
    "2065550123",
    "+1 425",
    "310000001",
    "310004242",
];

/// The peak resident memory of this process, from /proc (Linux); 0 where unavailable.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Starts a new peak for `peak_rss_mb` (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Times the agents' screen on an existing database: the first frame (open the database,
/// resolve the agent, draw), every keystroke of `TYPED` from key to results on screen (the
/// update, the search the worker runs, the redraw), exact and substring lookups alone, and the
/// plain `LIKE '%…%'` scan a database expert would write as the baseline; then peak memory.
pub async fn tui(url: &DbUrl, login: Option<&str>) -> Result<TuiBench> {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::tui::app::{App, Effect, Msg};
    use crate::tui::keymap::Keymap;
    use crate::tui::view::{Theme, render};

    let started = Instant::now();
    let svc = Service::open(
        url,
        &ConnectOptions {
            create: false,
            ..Default::default()
        },
        Arc::new(SystemClock),
        OpenMode::Normal,
    )
    .await?;
    let actor = svc.actor(login).await?;
    let mut app = App::new(actor.clone(), url.display(), Keymap::default());
    let theme = Theme { color: true };
    let mut terminal =
        Terminal::new(TestBackend::new(80, 24)).map_err(|e| Error::System(e.to_string()))?;
    let draw = |t: &mut Terminal<TestBackend>, app: &App| {
        t.draw(|f| render(f, app, theme))
            .map(|_| ())
            .map_err(|e| Error::System(e.to_string()))
    };
    draw(&mut terminal, &app)?;
    let first_frame = started.elapsed();

    let accounts = svc.totals(&actor, None).await?.accounts;
    let mut keystrokes = Vec::new();
    let mut substring = Vec::new();
    let mut exact = Vec::new();
    let mut by_query: Vec<(String, f64)> = Vec::new();
    for _round in 0..3 {
        for query in TYPED {
            app = App::new(actor.clone(), url.display(), Keymap::default());
            for c in query.chars() {
                let t0 = Instant::now();
                let effects = app.update(Msg::Key(KeyEvent::new(
                    KeyCode::Char(c),
                    KeyModifiers::NONE,
                )));
                for e in effects {
                    if let Effect::Search { seq, query } = e {
                        let t1 = Instant::now();
                        let result = svc
                            .lookup(&query, crate::tui::app::SEARCH_LIMIT)
                            .await
                            .map_err(|e| e.to_string());
                        let lookup = t1.elapsed();
                        if query.chars().count() >= 3 {
                            substring.push(lookup);
                            by_query.push((query.clone(), lookup.as_secs_f64() * 1e3));
                        }
                        app.update(Msg::SearchDone { seq, query, result });
                    }
                }
                draw(&mut terminal, &app)?;
                keystrokes.push(t0.elapsed());
            }
        }
    }

    // Exact lookups alone: what an ACCOUNT argument or a pasted number resolves through.
    for _round in 0..20 {
        for q in [
            "310000001",
            "310004242",
            "+12065550123",
            "(206) 555-0123",
            "310999999",
        ] {
            let t0 = Instant::now();
            let _ = svc.resolve_account(q).await;
            exact.push(t0.elapsed());
        }
    }
    by_query.sort_by(|a, b| b.1.total_cmp(&a.1));
    by_query.dedup_by(|a, b| a.0 == b.0);
    by_query.truncate(5);

    let mut like = Vec::new();
    for query in TYPED.iter().filter(|q| q.len() >= 3) {
        let pattern = format!("%{}%", query.to_lowercase());
        let t0 = Instant::now();
        match svc.store() {
            Store::Sqlite(s) => {
                sqlx::query("SELECT id FROM accounts WHERE name LIKE $1 OR email LIKE $1 OR msisdn LIKE $1 LIMIT 50")
                    .bind(&pattern)
                    .fetch_all(s.pool())
                    .await?;
            }
            Store::Postgres(s) => {
                sqlx::query("SELECT id FROM accounts WHERE name ILIKE $1 OR email ILIKE $1 OR msisdn LIKE $1 LIMIT 50")
                    .bind(&pattern)
                    .fetch_all(s.pool())
                    .await?;
            }
        }
        like.push(t0.elapsed());
    }
    let open = svc.resolve_account("310000001").await?;
    let idle_cpu_percent = idle::idle_cpu_percent(&svc, &actor, open.id).await?;
    svc.close().await;
    Ok(TuiBench {
        backend: url.backend().as_str().to_string(),
        accounts,
        first_frame_ms: first_frame.as_secs_f64() * 1e3,
        keystroke: percentiles(keystrokes),
        lookup_substring: percentiles(substring),
        lookup_exact: percentiles(exact),
        like_scan_baseline: percentiles(like),
        peak_rss_mb: peak_rss_mb(),
        slowest: by_query,
        idle_cpu_percent,
    })
}

pub fn tui_table(b: &TuiBench) -> String {
    let row = |name: &str, p: &Percentiles, target: &str| {
        format!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {target} |\n",
            p.n, p.p50_ms, p.p95_ms, p.p99_ms
        )
    };
    let mut s = format!(
        "agents' screen and lookups, {} accounts, {}\nfirst frame: {:.1} ms (target < 100 ms); peak memory: {:.1} MB (target < 100 MB)\n\
         | what | samples | p50 ms | p95 ms | p99 ms | target |\n|---|---|---|---|---|---|\n",
        b.accounts, b.backend, b.first_frame_ms, b.peak_rss_mb
    );
    s.push_str(&row(
        "keystroke to results on screen",
        &b.keystroke,
        "p95 < 30 ms",
    ));
    s.push_str(&row(
        "substring lookup (top 50, ranked)",
        &b.lookup_substring,
        if b.backend == "sqlite" {
            "p95 < 2 ms"
        } else {
            "p95 < 5 ms"
        },
    ));
    s.push_str(&row(
        "exact account or phone lookup",
        &b.lookup_exact,
        "< 0.1 ms",
    ));
    s.push_str(&row(
        "baseline: plain LIKE '%…%' scan",
        &b.like_scan_baseline,
        "—",
    ));
    let slow: Vec<String> = b
        .slowest
        .iter()
        .map(|(q, ms)| format!("\"{q}\" {ms:.1} ms"))
        .collect();
    s.push_str(&format!("slowest substring lookups: {}\n", slow.join(", ")));
    s.push_str(&format!(
        "idle with an account open for {} s (change watcher, heartbeat, a redraw each second): {:.2}% of a core (target < 1%)\n",
        idle::IDLE.as_secs(),
        b.idle_cpu_percent
    ));
    s
}
