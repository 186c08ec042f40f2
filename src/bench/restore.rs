//! `caredesk bench restore`: one account with thousands of backup items (and a few hundred
//! live items it shares keys with), restored again and again: preview, apply in merge mode
//! (with its pre-restore archive, verification, statuses and audit) and undo, each timed over
//! several repetitions, beside one hand-written `INSERT … SELECT` copying the same backup
//! items into the live items (no planning, archive, verification or audit: a floor).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::{demo_into, open, pristine_sqlite, sqlite_copy};
use crate::domain::items::content_hash;
use crate::domain::restore::Mode;
use crate::domain::{AccountStatus, Category, DeviceState};
use crate::domain::{Actor, RestoreOutcome};
use crate::error::{Error, Result};
use crate::import::{parse_backups, snapshot_checksum};
use crate::service::Service;
use crate::store::{DbUrl, NewAccount, NewImpact, NewPlan, Store};

/// The bench account (outside the demo's numbers).
const ACCOUNT: &str = "390000001";
/// Contacts the customer re-entered before the call (half the same as the backup's, half with
/// the same phone but another name and no e-mail: conflicts merge fills in).
const LIVE_CONTACTS: usize = 300;

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub median_ms: f64,
    pub p95_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

fn stats(mut d: Vec<Duration>) -> Stats {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let at = |q: f64| {
        // Nearest rank.
        let i = ((q * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1;
        ms(d[i])
    };
    Stats {
        median_ms: at(0.5),
        p95_ms: at(0.95),
        min_ms: d.first().copied().map(ms).unwrap_or_default(),
        max_ms: d.last().copied().map(ms).unwrap_or_default(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreBench {
    pub backend: String,
    pub accounts: u64,
    pub items: usize,
    pub live_before: i64,
    pub added: i64,
    pub filled: i64,
    pub archived: i64,
    pub reps: usize,
    pub baseline: Stats,
    pub preview: Stats,
    pub apply: Stats,
    /// A replace right after the merge: its archive holds every live item (about `items`).
    pub replace: Stats,
    pub replace_archived: i64,
    pub undo: Stats,
}

fn contact(i: usize, renamed: bool) -> Value {
    // Exchanges 300-899 and four digits: valid, distinct North American numbers.
    let phone = format!("+1206{}{:04}", 300 + (i / 10_000) % 600, i % 10_000);
    if renamed {
        json!({"name": format!("Contact {i} (new)"), "phone": phone, "email": ""})
    } else {
        json!({"name": format!("Contact {i}"), "phone": phone, "email": format!("contact{i}@example.net")})
    }
}

fn payload(cat: Category, i: usize) -> Value {
    let day = i % 28 + 1;
    match cat {
        Category::Contacts => contact(i, false),
        Category::Calendar => json!({"title": format!("Meeting {i}"),
            "start": format!("2009-09-{day:02}T{:02}:00:00Z", i % 24), "location": "Seattle"}),
        Category::Notes => {
            json!({"title": format!("Note {i}"), "body": format!("Remember item {i}")})
        }
        Category::Tasks => {
            json!({"title": format!("Task {i}"), "due": format!("2009-10-{day:02}T00:00:00Z"), "done": i.is_multiple_of(3)})
        }
        Category::Photos => json!({"filename": format!("IMG_{i:05}.JPG"),
            "taken_at": format!("2009-08-{day:02}T12:00:00Z"), "bytes": 40_000 + i, "width": 640, "height": 480}),
        Category::Email => json!({"from": format!("sender{}@example.org", i % 97),
            "subject": format!("Re: thread {i}"), "date": format!("2009-09-{day:02}T08:00:00Z"), "folder": "Saved"}),
    }
}

/// The share of each category in the snapshot (contacts first, as the servers were rebuilt).
const SHARES: [(Category, usize); 6] = [
    (Category::Contacts, 40),
    (Category::Calendar, 20),
    (Category::Notes, 10),
    (Category::Tasks, 10),
    (Category::Photos, 10),
    (Category::Email, 10),
];

fn snapshot_line(id: &str, items: &[(Category, String, Value)]) -> String {
    let hashes: Vec<String> = items.iter().map(|(_, _, p)| content_hash(p)).collect();
    json!({
        "id": id,
        "account_no": ACCOUNT,
        "taken_at": "2009-10-01T03:00:00Z",
        "source": "bench",
        "checksum": snapshot_checksum(hashes.iter().map(String::as_str)),
        "items": items.iter().zip(&hashes).map(|((c, uid, p), h)| json!({
            "category": c.as_str(), "uid": uid, "payload": p, "content_hash": h,
        })).collect::<Vec<_>>(),
    })
    .to_string()
}

/// The bench account, its impact rows and two snapshots: the customer's re-entered contacts
/// (restored once, as live items) and the big one.
async fn seed(
    svc: &Service,
    actor: &Actor,
    items: usize,
) -> Result<(String, Vec<(Category, usize)>)> {
    svc.import_accounts(
        actor,
        &[NewAccount {
            line: 1,
            account_no: ACCOUNT.to_string(),
            msisdn: "+12065550999".to_string(),
            name: "Bench Customer".to_string(),
            email: String::new(),
            status: AccountStatus::Active,
            device_model: "Sidekick LX 2009".to_string(),
            plans: vec![NewPlan {
                plan_code: "SK-DATA".to_string(),
                data_plan: true,
                price_cents: 1999,
                currency: "USD".to_string(),
                valid_from: None,
                valid_to: None,
            }],
        }],
        "bench",
    )
    .await?;
    let mut per: Vec<(Category, usize)> = SHARES
        .iter()
        .map(|&(c, share)| (c, items * share / 100))
        .collect();
    let assigned: usize = per.iter().map(|p| p.1).sum();
    per[0].1 += items - assigned;
    let incident = svc.incident(None).await?.id;
    let impact: Vec<NewImpact> = per
        .iter()
        .enumerate()
        .map(|(n, &(c, count))| NewImpact {
            line: n as u64 + 1,
            account_no: ACCOUNT.to_string(),
            incident: incident.clone(),
            category: c,
            server_lost: true,
            device_state: DeviceState::Wiped,
            items_before: count as i64,
        })
        .collect();
    svc.import_impact(actor, &impact, "bench").await?;

    let live: Vec<(Category, String, Value)> = (0..LIVE_CONTACTS)
        .map(|i| {
            (
                Category::Contacts,
                format!("typed-{i}"),
                contact(i, i >= LIVE_CONTACTS / 2),
            )
        })
        .collect();
    let mut big: Vec<(Category, String, Value)> = Vec::with_capacity(items);
    for &(c, count) in &per {
        for i in 0..count {
            big.push((c, format!("{}-{i}", c.as_str()), payload(c, i)));
        }
    }
    let big_id = format!("bench-snap-{items}");
    let file = format!(
        "{}\n{}\n",
        snapshot_line("bench-typed", &live),
        snapshot_line(&big_id, &big)
    );
    let rows = parse_backups("bench", file.as_bytes())?;
    svc.import_backups(actor, &rows, "bench").await?;
    // The customer's re-entered contacts become live items (as a restore would leave them).
    svc.restore_apply(actor, ACCOUNT, "bench-typed", &[], Mode::Merge)
        .await?;
    Ok((big_id, per))
}

const BASELINE: &str = "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
     SELECT (SELECT id FROM accounts WHERE account_no = $1), category, $2 || '/' || uid, uid, payload, content_hash, 'baseline', FALSE, $3, $3 \
     FROM backup_items WHERE backup_id = $2";
const BASELINE_CLEANUP: &str = "DELETE FROM live_items WHERE origin = 'baseline'";

/// One hand-written INSERT … SELECT of the snapshot's items into the live items, committed
/// (then removed, untimed).
async fn baseline_once(svc: &Service, backup_id: &str) -> Result<(Duration, u64)> {
    let now = svc.now();
    Ok(match svc.store() {
        Store::Sqlite(s) => {
            let started = Instant::now();
            let mut tx = s.pool().begin_with("BEGIN IMMEDIATE").await?;
            let n = sqlx::query(BASELINE)
                .bind(ACCOUNT)
                .bind(backup_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            let t = started.elapsed();
            sqlx::query(BASELINE_CLEANUP).execute(s.pool()).await?;
            (t, n)
        }
        Store::Postgres(s) => {
            let started = Instant::now();
            let mut tx = s.pool().begin().await?;
            let n = sqlx::query(BASELINE)
                .bind(ACCOUNT)
                .bind(backup_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            let t = started.elapsed();
            sqlx::query(BASELINE_CLEANUP).execute(s.pool()).await?;
            (t, n)
        }
    })
}

/// Builds (SQLite: copies the kept demo of `accounts` accounts; PostgreSQL: fills the empty
/// database `pg_url`) and times `reps` rounds of baseline, preview, apply and undo.
#[allow(clippy::too_many_arguments)]
pub async fn restore(
    items: usize,
    accounts: u64,
    reps: usize,
    dir: &Path,
    pg_url: Option<&str>,
    login: &str,
    say: &dyn Fn(&str),
) -> Result<RestoreBench> {
    if !(10..=1_000_000).contains(&items) || reps == 0 {
        return Err(Error::invalid(
            "--items must be 10 to 1,000,000 and --reps at least 1",
        ));
    }
    let (backend, url) = match pg_url {
        None => {
            let pristine = pristine_sqlite(dir, accounts, login, say).await?;
            let path = dir.join("bench-restore.db");
            sqlite_copy(&pristine, &path)?;
            ("sqlite".to_string(), DbUrl::Sqlite(path))
        }
        Some(u) => {
            let url = DbUrl::parse(u)?;
            say(&format!(
                "building the {accounts}-account demo database in {}…",
                url.display()
            ));
            demo_into(&url, accounts, login).await?;
            ("postgres".to_string(), url)
        }
    };
    let svc = open(&url).await?;
    let actor = svc
        .actor(if pg_url.is_some() { None } else { Some(login) })
        .await?;
    say(&format!(
        "loading account {ACCOUNT} with a {items}-item snapshot and {LIVE_CONTACTS} live contacts…"
    ));
    let (backup_id, _) = seed(&svc, &actor, items).await?;

    let mut baseline = Vec::with_capacity(reps);
    let mut preview = Vec::with_capacity(reps);
    let mut apply = Vec::with_capacity(reps);
    let mut replace = Vec::with_capacity(reps);
    let mut undo = Vec::with_capacity(reps);
    let mut result = RestoreBench {
        backend,
        accounts,
        items,
        live_before: 0,
        added: 0,
        filled: 0,
        archived: 0,
        reps,
        baseline: stats(vec![Duration::ZERO]),
        preview: stats(vec![Duration::ZERO]),
        apply: stats(vec![Duration::ZERO]),
        replace: stats(vec![Duration::ZERO]),
        replace_archived: 0,
        undo: stats(vec![Duration::ZERO]),
    };
    say(&format!(
        "timing {reps} rounds of: baseline INSERT … SELECT, preview, apply (merge), apply (replace), undo…"
    ));
    for _ in 0..reps {
        let (t, n) = baseline_once(&svc, &backup_id).await?;
        if n != items as u64 {
            return Err(Error::System(format!(
                "the baseline copied {n} items, not {items}"
            )));
        }
        baseline.push(t);

        let started = Instant::now();
        let p = svc
            .restore_preview(&actor, ACCOUNT, &backup_id, &[], Mode::Merge)
            .await?;
        preview.push(started.elapsed());

        let started = Instant::now();
        let r = svc
            .restore_apply(&actor, ACCOUNT, &backup_id, &[], Mode::Merge)
            .await?;
        apply.push(started.elapsed());
        if r.outcome != RestoreOutcome::Restored {
            return Err(Error::System(format!(
                "the bench restore did not restore ({})",
                r.outcome.as_str()
            )));
        }
        result.live_before = p.categories.iter().map(|c| c.counts.live_before).sum();
        result.archived = result.live_before;
        result.added = r.categories.iter().map(|c| c.counts.add).sum();
        result.filled = r.categories.iter().map(|c| c.counts.fill).sum();

        let id = r
            .restore_id
            .ok_or_else(|| Error::System("a restore without its id".to_string()))?;

        let started = Instant::now();
        let rr = svc
            .restore_apply(&actor, ACCOUNT, &backup_id, &[], Mode::Replace)
            .await?;
        replace.push(started.elapsed());
        result.replace_archived = rr.categories.iter().map(|c| c.counts.live_before).sum();
        if let Some(rid) = rr.restore_id {
            svc.restore_undo(&actor, rid).await?;
        }

        let started = Instant::now();
        svc.restore_undo(&actor, id).await?;
        undo.push(started.elapsed());
    }
    svc.close().await;
    if let DbUrl::Sqlite(p) = &url {
        for suffix in ["", "-wal", "-shm"] {
            let mut f = p.as_os_str().to_owned();
            f.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(f));
        }
    }
    result.baseline = stats(baseline);
    result.preview = stats(preview);
    result.apply = stats(apply);
    result.replace = stats(replace);
    result.undo = stats(undo);
    Ok(result)
}

pub fn restore_table(b: &RestoreBench) -> String {
    let row = |what: &str, s: &Stats, target: &str| {
        format!(
            "| {what} | {:.1} | {:.1} | {:.2}x | {target} |\n",
            s.median_ms,
            s.p95_ms,
            s.median_ms / b.baseline.median_ms.max(1e-9)
        )
    };
    format!(
        "restore of one account: {} backup items, {} live items before ({} archived per restore), {} added and {} filled by merge; \
         {} accounts, {}, {} rounds\n\
         | what | median ms | p95 ms | median vs baseline | target |\n\
         |---|---|---|---|---|\n{}{}{}{}{}",
        b.items,
        b.live_before,
        b.archived,
        b.added,
        b.filled,
        b.accounts,
        b.backend,
        b.reps,
        row(
            "hand-written INSERT … SELECT of the items (committed)",
            &b.baseline,
            "—"
        ),
        row("restore preview (writes nothing)", &b.preview, "—"),
        row(
            "restore apply, merge (archive, write, verify, status, audit)",
            &b.apply,
            "< 100 ms"
        ),
        row(
            &format!(
                "restore apply, replace, after the merge (archive of {} live items)",
                b.replace_archived
            ),
            &b.replace,
            "< 100 ms"
        ),
        row(
            "restore undo of the merge (check, put back, verify, audit)",
            &b.undo,
            "—"
        ),
    )
}
