//! `caredesk bench agents`: many simulated agents on one database at once (search, show,
//! note, credit) for a bounded time, then the checks that must still hold: no errors, at most
//! one incident credit per account, a valid audit chain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Percentiles, percentiles};
use crate::domain::SystemClock;
use crate::error::{Error, Result};
use crate::service::{OpenMode, Service};
use crate::store::{ConnectOptions, DbUrl, Store};

#[derive(Debug, Clone, Serialize)]
pub struct AgentsBench {
    pub backend: String,
    pub agents: usize,
    /// Mean pause between one agent's actions (an agent on a call reads and types).
    pub think_ms: u64,
    pub seconds: f64,
    pub actions: usize,
    pub per_second: f64,
    pub errors: usize,
    pub search: Percentiles,
    pub show: Percentiles,
    pub note: Percentiles,
    pub credit: Percentiles,
    pub all: Percentiles,
    pub double_credits: i64,
    pub audit_valid: bool,
}

const FRAGMENTS: &[&str] = &[
    "smith", "nune", "garc", "ann", "jose", "mill", "555-01", "kow", "zoe", "thao", "rodr", "lee",
];

/// Runs `agents` simulated agents for `seconds` against `url` (pool of `pool` connections).
pub async fn run(
    url: &DbUrl,
    login: Option<&str>,
    agents: usize,
    seconds: u64,
    pool: u32,
    think_ms: u64,
) -> Result<AgentsBench> {
    if agents == 0 || agents > 500 || seconds == 0 || seconds > 600 {
        return Err(Error::invalid(
            "--agents must be 1 to 500 and --seconds 1 to 600",
        ));
    }
    let opts = ConnectOptions {
        max_connections: pool,
        create: false,
        ..Default::default()
    };
    let svc = Service::open(url, &opts, Arc::new(SystemClock), OpenMode::Normal).await?;
    let actor = svc.actor(login).await?;
    // The accounts the agents work on: a few thousand from the worklist.
    let accounts: Vec<String> = svc
        .worklist(&actor, None, 5000)
        .await?
        .into_iter()
        .map(|a| a.account_no)
        .collect();
    if accounts.is_empty() {
        return Err(Error::invalid(
            "the database has no accounts needing action to work on",
        ));
    }
    let accounts = Arc::new(accounts);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for agent in 0..agents {
        let (svc, actor, accounts) = (svc.clone(), actor.clone(), accounts.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples: [Vec<Duration>; 4] = Default::default();
            let mut errors = Vec::new();
            let mut n: usize = agent * 7919;
            while Instant::now() < deadline {
                n = n
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let pick = (n >> 33) % 100;
                let account = &accounts[(n >> 17) % accounts.len()];
                let t0 = Instant::now();
                let (kind, r) = match pick {
                    0..=49 => (
                        0,
                        svc.lookup(FRAGMENTS[(n >> 40) % FRAGMENTS.len()], 50)
                            .await
                            .map(|_| ()),
                    ),
                    50..=79 => (1, svc.show(&actor, account).await.map(|_| ())),
                    80..=94 => (
                        2,
                        svc.add_note(&actor, account, "load test: customer called")
                            .await
                            .map(|_| ()),
                    ),
                    _ => (
                        3,
                        match svc.credit_apply(&actor, account, None, false).await {
                            Ok(_) => Ok(()),
                            // Not owed the credit (closed, no data plan): a rule's answer, not an error.
                            Err(e) if e.exit_code() == 3 => Ok(()),
                            Err(e) => Err(e),
                        },
                    ),
                };
                samples[kind].push(t0.elapsed());
                if let Err(e) = r {
                    errors.push(e.to_string());
                }
                if think_ms > 0 {
                    // Uniform between 0 and twice the mean, so agents do not move in step.
                    let pause = (n as u64 >> 24) % (2 * think_ms + 1);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            }
            (samples, errors)
        }));
    }
    let mut by_kind: [Vec<Duration>; 4] = Default::default();
    let mut errors = Vec::new();
    for t in tasks {
        let (samples, errs) = t
            .await
            .map_err(|e| Error::System(format!("a simulated agent crashed: {e}")))?;
        for (all, s) in by_kind.iter_mut().zip(samples) {
            all.extend(s);
        }
        errors.extend(errs);
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(e) = errors.first() {
        eprintln!("first error of {}: {e}", errors.len());
    }
    let double: i64 = match svc.store() {
        Store::Sqlite(s) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT account_id FROM credits WHERE kind = 'incident' GROUP BY account_id, incident_id HAVING COUNT(*) > 1) AS d",
        )
        .fetch_one(s.pool())
        .await?,
        Store::Postgres(s) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT account_id FROM credits WHERE kind = 'incident' GROUP BY account_id, incident_id HAVING COUNT(*) > 1) AS d",
        )
        .fetch_one(s.pool())
        .await?,
    };
    let verification = svc.audit_verify(&actor).await?;
    let all: Vec<Duration> = by_kind.iter().flatten().copied().collect();
    let actions = all.len();
    svc.close().await;
    let [search, show, note, credit] = by_kind;
    Ok(AgentsBench {
        backend: url.backend().as_str().to_string(),
        agents,
        think_ms,
        seconds: elapsed,
        actions,
        per_second: actions as f64 / elapsed.max(1e-9),
        errors: errors.len(),
        search: percentiles(search),
        show: percentiles(show),
        note: percentiles(note),
        credit: percentiles(credit),
        all: percentiles(all),
        double_credits: double,
        audit_valid: verification.first_bad.is_none(),
    })
}

pub fn table(b: &AgentsBench) -> String {
    let row = |name: &str, p: &Percentiles| {
        format!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} |\n",
            p.n, p.p50_ms, p.p95_ms, p.p99_ms
        )
    };
    let mut s = format!(
        "{} simulated agents (mean pause {} ms) on {} for {:.0} s: {} actions ({:.0}/s), {} errors, {} double credits, audit chain {}\n\
         | action | count | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|\n",
        b.agents,
        b.think_ms,
        b.backend,
        b.seconds,
        b.actions,
        b.per_second,
        b.errors,
        b.double_credits,
        if b.audit_valid { "valid" } else { "BROKEN" }
    );
    s.push_str(&row("search (lookup)", &b.search));
    s.push_str(&row("show (audited view)", &b.show));
    s.push_str(&row("note", &b.note));
    s.push_str(&row("incident credit", &b.credit));
    s.push_str(&row("all (target p95 < 50 ms)", &b.all));
    s
}
