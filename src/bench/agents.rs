//! `caredesk bench agents`: many simulated agents on one database at once (search, show,
//! note, credit) for a bounded time, each with a live screen's load (its own change feed, a
//! presence heartbeat for the account it has open, a re-read of that account when a change
//! touches it), then the checks that must still hold: no errors, at most one incident credit
//! per account, a valid audit chain. A few agents keep chosen accounts open while the others
//! add notes to them, to time a commit until another agent's screen shows it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use super::{Percentiles, percentiles};
use crate::desk::{Desk, Local, Remote};
use crate::domain::{AccountDetail, Actor, Feed, SystemClock};
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
    /// Whether each agent had a live screen (change feed, heartbeat, re-read); without, the
    /// load is the actions alone, to tell what the screens cost.
    pub screens: bool,
    /// Agents that keep one chosen account open for the whole run (no other actions), while
    /// the others add some of their notes to those accounts.
    pub watchers: usize,
    /// The agents on the database in this process (the baseline).
    pub direct: Phase,
    /// The same agents, the same actions, through two `caredesk serve` processes.
    pub served: Phase,
    /// served p95 / direct p95 over all actions (target: at most 1.5).
    pub p95_ratio: f64,
    /// Most database connections the two servers held at once, their listeners included
    /// (PostgreSQL: `pg_stat_activity`, the connections opened since the servers started;
    /// SQLite: the servers' open handles on the database file). Target: at most 20.
    pub served_connections: i64,
    pub double_credits: i64,
    pub audit_valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// From the first action to the last agent's last one.
    pub seconds: f64,
    pub actions: usize,
    pub per_second: f64,
    /// Every call that failed: actions, heartbeats and re-reads.
    pub errors: usize,
    /// Of those, the ones whose message speaks of a lock ("database is locked").
    pub locked_errors: usize,
    pub search: Percentiles,
    pub show: Percentiles,
    pub note: Percentiles,
    pub credit: Percentiles,
    /// The four actions above together (heartbeats and re-reads are a screen's own work).
    pub all: Percentiles,
    /// Each presence heartbeat (`n`: the heartbeats sent).
    pub presence: Percentiles,
    /// Each re-read of the account on a screen after a change touched it.
    pub refresh: Percentiles,
    /// Events the screens received (each screen its own stream).
    pub events: usize,
    /// Of those, the ones saying "everything may have changed" (a listener that fell behind,
    /// a link that came back), on which every screen re-reads its account.
    pub everything_events: usize,
    /// Times a screen's feed said it could not hear the database.
    pub feed_down: usize,
    /// Notes added to the watched accounts.
    pub watched_notes: usize,
    /// From a note's commit returning to its writer until the refreshed view of the agent
    /// watching that account showing it (`n`: the samples). Target: p95 under 1 s.
    pub change_on_screen: Percentiles,
    /// Watched notes no watcher's screen showed by the end of the run.
    pub unseen_notes: usize,
}

const FRAGMENTS: &[&str] = &[
    "smith", "nune", "garc", "ann", "jose", "mill", "555-01", "kow", "zoe", "thao", "rodr", "lee",
];

/// Connections of each of the two servers' pools (each server holds one more of its own to
/// hear changes: 2 × (8 + 1) = 18, within SPEC §6's 20).
const SERVER_POOL: u32 = 8;

/// The most agents that keep an account open for the whole run.
const MAX_WATCHERS: usize = 4;
/// One note in this many goes to a watched account (the rest to any account).
const WATCHED_NOTE_EVERY: usize = 3;
/// How long every screen's event stream has to open before the agents start.
const SETTLE: Duration = Duration::from_secs(1);
/// How long the watchers go on after the others stopped, so the last notes reach them.
const GRACE: Duration = Duration::from_secs(3);
/// The longest any one call may take before it counts as an error: every agent stops by
/// itself even against a server that hangs.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the connections are counted while the servers serve.
const COUNT_EVERY: Duration = Duration::from_millis(250);

/// A `caredesk serve` child process, killed when dropped.
struct Child {
    child: std::process::Child,
    url: String,
}

impl Child {
    fn pid(&self) -> u32 {
        self.child.id()
    }
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
    screens: bool,
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
        .entries
        .into_iter()
        .map(|e| e.account.account_no)
        .collect();
    if accounts.is_empty() {
        return Err(Error::invalid(
            "the database has no accounts needing action to work on",
        ));
    }
    // At least one agent does the actions; each phase watches accounts of its own, so the
    // second finds them as the first found its own.
    let watchers = if screens {
        (agents / 10).clamp(usize::from(agents > 1), MAX_WATCHERS)
    } else {
        0
    };
    let watched = |phase: usize| -> Vec<String> {
        (0..watchers)
            .map(|i| accounts[accounts.len() - 1 - (phase * watchers + i) % accounts.len()].clone())
            .collect()
    };
    let plan = |phase: usize, tag: &'static str| Plan {
        agents,
        seconds,
        think_ms,
        accounts: Arc::new(accounts.clone()),
        watched: Arc::new(watched(phase)),
        tag,
        screens,
    };
    let local = Desk::Local(Local::new(svc.clone(), actor.login.clone()));
    let direct = phase(vec![local], plan(0, "d")).await?;

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
    let since = counting_since(&svc).await?;
    let db = url.to_url_string();
    let servers = [spawn_server(&db)?, spawn_server(&db)?];
    let desks = sessions(&svc, &actor, &[&servers[0].url, &servers[1].url]).await?;
    let peak = Arc::new(AtomicI64::new(0));
    let counter = {
        let (svc, peak) = (svc.clone(), peak.clone());
        let pids = [servers[0].pid(), servers[1].pid()];
        let file = match url {
            DbUrl::Sqlite(path) => std::fs::canonicalize(path).ok(),
            DbUrl::Postgres(_) => None,
        };
        tokio::spawn(async move {
            loop {
                if let Ok(n) = connections(&svc, since, &pids, file.as_deref()).await {
                    peak.fetch_max(n, Ordering::Relaxed);
                }
                tokio::time::sleep(COUNT_EVERY).await;
            }
        })
    };
    let served = phase(desks, plan(1, "s")).await;
    counter.abort();
    drop(servers);
    let served = served?;
    let served_connections = peak.load(Ordering::Relaxed);
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
        screens,
        watchers,
        p95_ratio: served.all.p95_ms / direct.all.p95_ms.max(1e-9),
        direct,
        served,
        served_connections,
        double_credits: double,
        audit_valid: verification.first_bad.is_none(),
    })
}

/// The database's clock now (PostgreSQL): connections opened after it are the servers'.
async fn counting_since(svc: &Service) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    match svc.store() {
        Store::Postgres(s) => Ok(Some(
            sqlx::query_scalar("SELECT clock_timestamp()")
                .fetch_one(s.pool())
                .await?,
        )),
        Store::Sqlite(_) => Ok(None),
    }
}

/// The database connections the servers hold now. PostgreSQL: those opened since `since`
/// (the bench's own was opened before, and is left out by its pid anyway). SQLite: the
/// servers' open handles on the database file `file`, one per connection.
async fn connections(
    svc: &Service,
    since: Option<chrono::DateTime<chrono::Utc>>,
    pids: &[u32],
    file: Option<&std::path::Path>,
) -> Result<i64> {
    match svc.store() {
        Store::Postgres(s) => Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND backend_start >= $1",
        )
        .bind(since)
        .fetch_one(s.pool())
        .await?),
        Store::Sqlite(_) => {
            let Some(file) = file else { return Ok(0) };
            let mut n = 0;
            for pid in pids {
                let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                    continue;
                };
                n += fds
                    .flatten()
                    .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|to| to == file))
                    .count() as i64;
            }
            Ok(n)
        }
    }
}

/// What one phase runs.
struct Plan {
    agents: usize,
    seconds: u64,
    think_ms: u64,
    accounts: Arc<Vec<String>>,
    /// The accounts the watchers keep open, one each.
    watched: Arc<Vec<String>>,
    /// Tells this phase's screen ids from the other's.
    tag: &'static str,
    /// Each agent has a live screen.
    screens: bool,
}

/// What one simulated agent did.
#[derive(Default)]
struct Tally {
    /// search, show, note, credit.
    actions: [Vec<Duration>; 4],
    presence: Vec<Duration>,
    refresh: Vec<Duration>,
    errors: Vec<String>,
    events: usize,
    everything_events: usize,
    feed_down: usize,
    /// Notes added to a watched account: its number, the note's id, when the commit returned.
    commits: Vec<(String, i64, Instant)>,
    /// Notes a watcher's screen showed first: the account, the note's id, when.
    sightings: Vec<(String, i64, Instant)>,
    /// When the agent's last action ended (watchers: none).
    last_action: Option<Instant>,
}

/// The workload: agent `i` works through `desks[i % desks.len()]` until the deadline; the first
/// `plan.watched.len()` agents keep a watched account open instead of acting.
async fn phase(desks: Vec<Desk>, plan: Plan) -> Result<Phase> {
    let start = tokio::time::Instant::now() + SETTLE;
    let deadline = start + Duration::from_secs(plan.seconds);
    let pid = std::process::id();
    let mut tasks = Vec::new();
    for agent in 0..plan.agents {
        let desk = desks[agent % desks.len()].clone();
        let id = format!("bench-{pid}-{}-{agent}", plan.tag);
        let screen = Screen::new(desk, id, plan.screens);
        let (accounts, watched) = (plan.accounts.clone(), plan.watched.clone());
        let think_ms = plan.think_ms;
        tasks.push(tokio::spawn(async move {
            match watched.get(agent) {
                Some(account) => watch(screen, account.clone(), start, deadline + GRACE).await,
                None => {
                    work(
                        screen, agent, &accounts, &watched, think_ms, start, deadline,
                    )
                    .await
                }
            }
        }));
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(
            t.await
                .map_err(|e| Error::System(format!("a simulated agent crashed: {e}")))?,
        );
    }
    Ok(sum_up(tallies, start.into_std()))
}

/// The figures of a phase from what each agent did.
fn sum_up(tallies: Vec<Tally>, start: Instant) -> Phase {
    let mut by_kind: [Vec<Duration>; 4] = Default::default();
    let (mut presence, mut refresh, mut errors) = (Vec::new(), Vec::new(), Vec::<String>::new());
    let (mut events, mut everything_events, mut feed_down) = (0, 0, 0);
    let mut commits: HashMap<(String, i64), Instant> = HashMap::new();
    let mut sightings = Vec::new();
    let mut end = start;
    for t in tallies {
        for (all, s) in by_kind.iter_mut().zip(t.actions) {
            all.extend(s);
        }
        presence.extend(t.presence);
        refresh.extend(t.refresh);
        errors.extend(t.errors);
        events += t.events;
        everything_events += t.everything_events;
        feed_down += t.feed_down;
        commits.extend(t.commits.into_iter().map(|(a, id, at)| ((a, id), at)));
        sightings.extend(t.sightings);
        end = end.max(t.last_action.unwrap_or(start));
    }
    // A screen may show a note before its writer hears the commit returned: no wait at all.
    let mut shown = HashSet::new();
    let mut on_screen = Vec::new();
    for (account, id, seen) in sightings {
        let key = (account, id);
        if let Some(committed) = commits.get(&key)
            && shown.insert(key)
        {
            on_screen.push(seen.saturating_duration_since(*committed));
        }
    }
    let locked = errors
        .iter()
        .filter(|e| e.to_lowercase().contains("locked"))
        .count();
    let mut distinct: Vec<&String> = Vec::new();
    for e in &errors {
        if distinct.len() < 3 && !distinct.contains(&e) {
            distinct.push(e);
        }
    }
    for e in distinct {
        eprintln!("an error of {}: {e}", errors.len());
    }
    let elapsed = end.saturating_duration_since(start).as_secs_f64();
    let all: Vec<Duration> = by_kind.iter().flatten().copied().collect();
    let actions = all.len();
    let [search, show, note, credit] = by_kind;
    Phase {
        seconds: elapsed,
        actions,
        per_second: actions as f64 / elapsed.max(1e-9),
        errors: errors.len(),
        locked_errors: locked,
        search: percentiles(search),
        show: percentiles(show),
        note: percentiles(note),
        credit: percentiles(credit),
        all: percentiles(all),
        presence: percentiles(presence),
        refresh: percentiles(refresh),
        events,
        everything_events,
        feed_down,
        watched_notes: commits.len(),
        unseen_notes: commits.len() - shown.len(),
        change_on_screen: percentiles(on_screen),
    }
}

/// A call that gives up after `CALL_TIMEOUT`.
async fn bounded<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(CALL_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| {
            Err(Error::System(format!(
                "no answer within {} s",
                CALL_TIMEOUT.as_secs()
            )))
        })
}

/// An agent who keeps `account` open from `start` until `until`, re-reading it as it changes.
async fn watch(
    mut screen: Screen,
    account: String,
    start: tokio::time::Instant,
    until: tokio::time::Instant,
) -> Tally {
    screen.watcher = true;
    sleep_until(start).await;
    match bounded(screen.desk.show(account, false)).await {
        Ok(detail) => screen.opened(&detail).await,
        Err(e) => screen.tally.errors.push(e.to_string()),
    }
    screen.wait(until).await;
    screen.close().await
}

/// An agent at work: searches, opens accounts (which stay open on the screen), adds notes,
/// applies credits, with pauses between, while the screen does its own work.
async fn work(
    mut screen: Screen,
    agent: usize,
    accounts: &[String],
    watched: &[String],
    think_ms: u64,
    start: tokio::time::Instant,
    deadline: tokio::time::Instant,
) -> Tally {
    sleep_until(start).await;
    let mut n: usize = agent * 7919;
    while tokio::time::Instant::now() < deadline {
        n = n
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let pick = (n >> 33) % 100;
        let account = accounts[(n >> 17) % accounts.len()].clone();
        let desk = screen.desk.clone();
        let t0 = Instant::now();
        let (kind, r) = match pick {
            0..=49 => (
                0,
                bounded(desk.search(FRAGMENTS[(n >> 40) % FRAGMENTS.len()].to_string(), 50))
                    .await
                    .map(|_| ()),
            ),
            50..=79 => match bounded(desk.show(account, false)).await {
                Ok(detail) => {
                    screen.tally.actions[1].push(t0.elapsed());
                    // Now on this agent's screen: its heartbeat names it.
                    screen.opened(&detail).await;
                    (1, Ok(()))
                }
                Err(e) => (1, Err(e)),
            },
            80..=94 => {
                let to = if !watched.is_empty() && (n >> 50).is_multiple_of(WATCHED_NOTE_EVERY) {
                    Some(watched[(n >> 20) % watched.len()].clone())
                } else {
                    None
                };
                let account = to.clone().unwrap_or(account);
                let r =
                    bounded(desk.add_note(account, "load test: customer called".to_string())).await;
                let done = Instant::now();
                (
                    2,
                    r.map(|(summary, id)| {
                        if to.is_some() {
                            screen.tally.commits.push((summary.account_no, id, done));
                        }
                    }),
                )
            }
            _ => (
                3,
                match bounded(desk.credit_apply(account, None, false)).await {
                    Ok(_) => Ok(()),
                    // Not owed the credit (closed, no data plan): a rule's answer, not an error.
                    Err(e) if e.exit_code() == 3 => Ok(()),
                    Err(e) => Err(e),
                },
            ),
        };
        // A show's time was taken before its heartbeat.
        if !(kind == 1 && r.is_ok()) {
            screen.tally.actions[kind].push(t0.elapsed());
        }
        if let Err(e) = r {
            screen.tally.errors.push(e.to_string());
        }
        screen.tally.last_action = Some(Instant::now());
        // Uniform between 0 and twice the mean, so agents do not move in step; the screen
        // hears changes and beats meanwhile.
        let pause = if think_ms > 0 {
            (n as u64 >> 24) % (2 * think_ms + 1)
        } else {
            0
        };
        let next = (tokio::time::Instant::now() + Duration::from_millis(pause)).min(deadline);
        screen.wait(next).await;
    }
    screen.close().await
}

/// An agent's live screen: its own change feed, its heartbeat for the account it has open,
/// and the re-read of that account when a change touches it.
struct Screen {
    desk: Desk,
    id: String,
    /// A live screen; without, the agent only acts.
    live: bool,
    feed: mpsc::UnboundedReceiver<Feed>,
    listening: bool,
    /// The account on screen: its id and number.
    open: Option<(i64, String)>,
    beat_every: Duration,
    next_beat: tokio::time::Instant,
    /// A watcher notes when each note first shows on its screen.
    watcher: bool,
    known_notes: HashSet<i64>,
    tally: Tally,
}

impl Screen {
    /// A screen whose event stream opens now (when `live`).
    fn new(desk: Desk, id: String, live: bool) -> Self {
        let (tx, feed) = mpsc::unbounded_channel();
        if live {
            desk.listen(tx);
        }
        Self {
            desk,
            id,
            live,
            feed,
            listening: live,
            open: None,
            beat_every: Duration::from_secs(10),
            next_beat: tokio::time::Instant::now(),
            watcher: false,
            known_notes: HashSet::new(),
            tally: Tally::default(),
        }
    }

    /// The account `detail` shows is now the one on screen: a heartbeat names it at once.
    async fn opened(&mut self, detail: &AccountDetail) {
        if !self.live {
            return;
        }
        self.open = Some((detail.summary.id, detail.summary.account_no.clone()));
        self.known_notes.clear();
        self.saw(detail);
        self.beat().await;
    }

    async fn beat(&mut self) {
        let account = self.open.as_ref().map(|(id, _)| *id);
        let t0 = Instant::now();
        let r = bounded(self.desk.presence(self.id.clone(), account)).await;
        self.tally.presence.push(t0.elapsed());
        match r {
            Ok(reply) => self.beat_every = Duration::from_secs(reply.beat_secs.max(1)),
            Err(e) => self.tally.errors.push(e.to_string()),
        }
        self.next_beat = tokio::time::Instant::now() + self.beat_every;
    }

    /// Whether `feed` may have changed the account on screen.
    fn touches(&self, feed: &Feed) -> bool {
        match (feed, &self.open) {
            (_, None) | (Feed::Down { .. }, _) => false,
            (Feed::Change(c), Some((_, no))) => c.touches(no),
            (Feed::Up, Some(_)) => true,
        }
    }

    /// An event and those already queued behind it: one re-read if any touches the account.
    async fn heard(&mut self, first: Feed) {
        let mut touched = false;
        let mut next = Some(first);
        while let Some(feed) = next {
            self.tally.events += 1;
            match &feed {
                Feed::Down { .. } => self.tally.feed_down += 1,
                Feed::Change(c) if c.all => self.tally.everything_events += 1,
                _ => {}
            }
            touched |= self.touches(&feed);
            next = self.feed.try_recv().ok();
        }
        if touched {
            self.refresh().await;
        }
    }

    async fn refresh(&mut self) {
        let Some((id, _)) = self.open else { return };
        let t0 = Instant::now();
        let r = bounded(self.desk.refresh(id)).await;
        self.tally.refresh.push(t0.elapsed());
        match r {
            Ok(detail) => self.saw(&detail),
            Err(e) => self.tally.errors.push(e.to_string()),
        }
    }

    /// A watcher's screen shows `detail` now: the notes it shows for the first time.
    fn saw(&mut self, detail: &AccountDetail) {
        if !self.watcher {
            return;
        }
        let now = Instant::now();
        for note in &detail.notes {
            if self.known_notes.insert(note.id) {
                self.tally
                    .sightings
                    .push((detail.summary.account_no.clone(), note.id, now));
            }
        }
    }

    /// Hears changes and beats until `until` (at least the events already here).
    async fn wait(&mut self, until: tokio::time::Instant) {
        loop {
            tokio::select! {
                biased;
                feed = self.feed.recv(), if self.listening => match feed {
                    Some(feed) => self.heard(feed).await,
                    None => self.listening = false,
                },
                _ = sleep_until(self.next_beat), if self.open.is_some() => self.beat().await,
                _ = sleep_until(until) => return,
            }
            if tokio::time::Instant::now() >= until {
                return;
            }
        }
    }

    /// The screen closes: its presence goes (not timed: every screen closes at once).
    async fn close(mut self) -> Tally {
        if self.live
            && let Err(e) = bounded(self.desk.presence(self.id.clone(), None)).await
        {
            self.tally.errors.push(e.to_string());
        }
        self.tally
    }
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
        "{} simulated agents (mean pause {} ms, {}, {} watching an account) on {}, {:.0} s each way: direct {} actions ({:.0}/s, {} errors, {} locked); through two servers {} actions ({:.0}/s, {} errors, {} locked), at most {} database connections; {} double credits, audit chain {}\n\
         | action | direct n | direct p95 ms | served n | served p95 ms | ratio |\n|---|---|---|---|---|---|\n",
        b.agents,
        b.think_ms,
        if b.screens {
            "each with a live screen"
        } else {
            "no live screens"
        },
        b.watchers,
        b.backend,
        d.seconds,
        d.actions,
        d.per_second,
        d.errors,
        d.locked_errors,
        s.actions,
        s.per_second,
        s.errors,
        s.locked_errors,
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
    out.push_str(&row("presence heartbeat", &d.presence, &s.presence));
    out.push_str(&row("refresh of the open account", &d.refresh, &s.refresh));
    out.push_str(&row(
        "note committed → on another agent's screen (target p95 < 1000 ms)",
        &d.change_on_screen,
        &s.change_on_screen,
    ));
    out.push_str(&format!(
        "| live screens | direct | served |\n|---|---|---|\n\
         | events received (\"everything\") | {} ({}) | {} ({}) |\n\
         | feed down | {} | {} |\n\
         | presence heartbeats | {} | {} |\n\
         | refreshes | {} | {} |\n\
         | notes to watched accounts | {} | {} |\n\
         | note on another screen p50 / p95 ms (samples) | {:.1} / {:.1} ({}) | {:.1} / {:.1} ({}) |\n\
         | notes never shown | {} | {} |\n\
         | errors (locked) | {} ({}) | {} ({}) |\n",
        d.events,
        d.everything_events,
        s.events,
        s.everything_events,
        d.feed_down,
        s.feed_down,
        d.presence.n,
        s.presence.n,
        d.refresh.n,
        s.refresh.n,
        d.watched_notes,
        s.watched_notes,
        d.change_on_screen.p50_ms,
        d.change_on_screen.p95_ms,
        d.change_on_screen.n,
        s.change_on_screen.p50_ms,
        s.change_on_screen.p95_ms,
        s.change_on_screen.n,
        d.unseen_notes,
        s.unseen_notes,
        d.errors,
        d.locked_errors,
        s.errors,
        s.locked_errors,
    ));
    out
}
