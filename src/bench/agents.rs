//! `caredesk bench agents`: many simulated agents on one database at once (search, show,
//! note, credit) for a bounded time, then the checks that must still hold: no errors, at most
//! one incident credit per account, a valid audit chain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Percentiles, percentiles};
use crate::desk::{Desk, Local, Remote};
use crate::domain::{Actor, SystemClock};
use crate::error::{Error, Result};
use crate::server::{LoginReply, LoginRequest};
use crate::service::{OpenMode, Service};
use crate::store::{ConnectOptions, DbUrl, Store};

#[derive(Debug, Clone, Serialize)]
pub struct AgentsBench {
    pub backend: String,
    pub agents: usize,
    /// Mean pause between one agent's actions (an agent on a call reads and types).
    pub think_ms: u64,
    /// The agents on the database in this process (the baseline).
    pub direct: Phase,
    /// The same agents, the same actions, through two `caredesk serve` processes.
    pub served: Phase,
    /// served p95 / direct p95 over all actions (target: at most 1.5).
    pub p95_ratio: f64,
    /// Most database connections open at once while the servers served (PostgreSQL:
    /// `pg_stat_activity`; SQLite: the servers' pools).
    pub served_connections: i64,
    pub double_credits: i64,
    pub audit_valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub seconds: f64,
    pub actions: usize,
    pub per_second: f64,
    pub errors: usize,
    pub search: Percentiles,
    pub show: Percentiles,
    pub note: Percentiles,
    pub credit: Percentiles,
    pub all: Percentiles,
}

const FRAGMENTS: &[&str] = &[
    "smith", "nune", "garc", "ann", "jose", "mill", "555-01", "kow", "zoe", "thao", "rodr", "lee",
];

/// Connections of each of the two servers' pools.
const SERVER_POOL: u32 = 8;

/// A `caredesk serve` child process, killed when dropped.
struct Child {
    child: std::process::Child,
    url: String,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `caredesk serve` on 127.0.0.1 (a free port) for `db`, and waits for its address.
fn spawn_server(db: &str) -> Result<Child> {
    use std::io::BufRead;
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("cannot find this program to start a server", e))?;
    let mut child = std::process::Command::new(exe)
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .env("CAREDESK_POOL", SERVER_POOL.to_string())
        .env_remove("CAREDESK_SERVER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| Error::io("cannot start a server", e))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::System("the server has no stdout".to_string()))?;
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| Error::io("cannot read the server's address", e))?;
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .ok_or_else(|| Error::System(format!("the server did not start: {}", line.trim())))?
        .to_string();
    Ok(Child { child, url })
}

/// A session for the bench's login on each server: a one-time password set in the store (by
/// the bench's own login), the first login choosing a new one, the others logging in with it.
async fn sessions(svc: &Service, actor: &Actor, urls: &[&str]) -> Result<Vec<Desk>> {
    let otp = "bench-one-time-password";
    let password = "bench-password-of-the-run";
    let hash = crate::service::session::hash_password(otp.to_string()).await?;
    crate::with_store!(svc.store(), s => s.set_one_time_password(actor, &actor.login, &hash, svc.now()).await)?;
    let mut desks = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let remote = Remote::new(url, None)?;
        let req = LoginRequest {
            login: actor.login.clone(),
            password: if i == 0 { otp } else { password }.to_string(),
            new_password: (i == 0).then(|| password.to_string()),
        };
        match remote.post("/v1/login", &req).await? {
            LoginReply::Session { token, .. } => {
                desks.push(Desk::Remote(Remote::new(url, Some(token))?))
            }
            LoginReply::ChangeRequired => {
                return Err(Error::System(
                    "the server asked again for a new password".to_string(),
                ));
            }
        }
    }
    Ok(desks)
}

/// Runs `agents` simulated agents for `seconds` against `url`: first on the database in this
/// process (pool of `pool` connections), then through two servers, and compares them.
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
    let local = Desk::Local(Local::new(svc.clone(), actor.login.clone()));
    let direct = phase(vec![local], agents, seconds, think_ms, accounts.clone()).await?;

    // The same through two servers, each with its own small pool. The direct phase's pool
    // closes first; one connection stays for the sessions, the count and the checks.
    svc.close().await;
    let svc = Service::open(
        url,
        &ConnectOptions {
            max_connections: 1,
            ..opts
        },
        Arc::new(SystemClock),
        OpenMode::Normal,
    )
    .await?;
    let db = url.to_url_string();
    let servers = [spawn_server(&db)?, spawn_server(&db)?];
    let desks = sessions(&svc, &actor, &[&servers[0].url, &servers[1].url]).await?;
    let peak = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let watcher = {
        let (svc, peak) = (svc.clone(), peak.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(n) = connections(&svc).await {
                    peak.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let served = phase(desks, agents, seconds, think_ms, accounts).await;
    watcher.abort();
    drop(servers);
    let served = served?;
    let served_connections = match svc.store() {
        Store::Sqlite(_) => i64::from(SERVER_POOL) * 2,
        // The bench's own one connection, which counted them, is not the servers'.
        Store::Postgres(_) => peak.load(std::sync::atomic::Ordering::Relaxed) - 1,
    };
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
    svc.close().await;
    Ok(AgentsBench {
        backend: url.backend().as_str().to_string(),
        agents,
        think_ms,
        p95_ratio: served.all.p95_ms / direct.all.p95_ms.max(1e-9),
        direct,
        served,
        served_connections,
        double_credits: double,
        audit_valid: verification.first_bad.is_none(),
    })
}

/// Connections open to this database now (PostgreSQL; SQLite has none to count).
async fn connections(svc: &Service) -> Result<i64> {
    match svc.store() {
        Store::Postgres(s) => Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()",
        )
        .fetch_one(s.pool())
        .await?),
        Store::Sqlite(_) => Ok(0),
    }
}

/// The workload: each agent works through `desks[agent % desks.len()]` until the deadline.
async fn phase(
    desks: Vec<Desk>,
    agents: usize,
    seconds: u64,
    think_ms: u64,
    accounts: Arc<Vec<String>>,
) -> Result<Phase> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for agent in 0..agents {
        let (desk, accounts) = (desks[agent % desks.len()].clone(), accounts.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples: [Vec<Duration>; 4] = Default::default();
            let mut errors = Vec::new();
            let mut n: usize = agent * 7919;
            while Instant::now() < deadline {
                n = n
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let pick = (n >> 33) % 100;
                let account = accounts[(n >> 17) % accounts.len()].clone();
                let t0 = Instant::now();
                let (kind, r) = match pick {
                    0..=49 => (
                        0,
                        desk.search(FRAGMENTS[(n >> 40) % FRAGMENTS.len()].to_string(), 50)
                            .await
                            .map(|_| ()),
                    ),
                    50..=79 => (1, desk.show(account, false).await.map(|_| ())),
                    80..=94 => (
                        2,
                        desk.add_note(account, "load test: customer called".to_string())
                            .await
                            .map(|_| ()),
                    ),
                    _ => (
                        3,
                        match desk.credit_apply(account, None, false).await {
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
    let all: Vec<Duration> = by_kind.iter().flatten().copied().collect();
    let actions = all.len();
    let [search, show, note, credit] = by_kind;
    Ok(Phase {
        seconds: elapsed,
        actions,
        per_second: actions as f64 / elapsed.max(1e-9),
        errors: errors.len(),
        search: percentiles(search),
        show: percentiles(show),
        note: percentiles(note),
        credit: percentiles(credit),
        all: percentiles(all),
    })
}

pub fn table(b: &AgentsBench) -> String {
    let row = |name: &str, d: &Percentiles, s: &Percentiles| {
        format!(
            "| {name} | {} | {:.2} | {} | {:.2} | {:.2} |\n",
            d.n,
            d.p95_ms,
            s.n,
            s.p95_ms,
            s.p95_ms / d.p95_ms.max(1e-9)
        )
    };
    let (d, s) = (&b.direct, &b.served);
    let mut out = format!(
        "{} simulated agents (mean pause {} ms) on {}, {:.0} s each way: direct {} actions ({:.0}/s, {} errors); through two servers {} actions ({:.0}/s, {} errors), at most {} database connections; {} double credits, audit chain {}\n\
         | action | direct n | direct p95 ms | served n | served p95 ms | ratio |\n|---|---|---|---|---|---|\n",
        b.agents,
        b.think_ms,
        b.backend,
        d.seconds,
        d.actions,
        d.per_second,
        d.errors,
        s.actions,
        s.per_second,
        s.errors,
        b.served_connections,
        b.double_credits,
        if b.audit_valid { "valid" } else { "BROKEN" }
    );
    out.push_str(&row("search", &d.search, &s.search));
    out.push_str(&row("show (audited view)", &d.show, &s.show));
    out.push_str(&row("note", &d.note, &s.note));
    out.push_str(&row("incident credit", &d.credit, &s.credit));
    out.push_str(&row(
        "all (target p95 < 50 ms, ratio <= 1.5)",
        &d.all,
        &s.all,
    ));
    out
}
