//! The demo database: a deterministic, realistic picture of the `danger-2009-10` incident
//! (the demo incident (docs/operations.md)) for any number of accounts. The same seed and size always give the same data.
//!
//! Generation runs on its own thread and hands chunks of rows (as JSON arrays, inserted by
//! one statement per table and chunk) to the store, so building and writing overlap.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::domain::items::{content_hash, natural_key};
use crate::domain::{self, Category, CategoryFacts, CategoryStatus, DeviceState, Role};
use crate::domain::{Actor, Incident};
use crate::error::{Error, Result};
use crate::with_store;

/// The id of the demo's main incident (assets/incidents/danger-2009-10.toml).
pub const FIRST_INCIDENT_ID: &str = "danger-2009-10";

/// Accounts per chunk (one transaction per chunk).
const CHUNK: u64 = 10_000;

/// The demo's agents: (login, display name, role).
pub const AGENTS: &[(&str, &str, Role)] = &[
    ("sofia", "Sofia Marín", Role::Supervisor),
    ("omar", "Omar Haddad", Role::Supervisor),
    ("alice", "Alice Brown", Role::Agent),
    ("bob", "Bob Nguyen", Role::Agent),
    ("audrey", "Audrey Kim", Role::Auditor),
];

fn t(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap_or_default()
}

/// The demo's incidents, as an operator would describe them (docs/incidents.md): the
/// October 2009 outage, and a smaller one in March 2010 for `demo --incidents 2`.
const INCIDENT_FILES: [(&str, &str); 2] = [
    (
        "assets/incidents/danger-2009-10.toml",
        include_str!("../assets/incidents/danger-2009-10.toml"),
    ),
    (
        "assets/incidents/danger-2010-03.toml",
        include_str!("../assets/incidents/danger-2010-03.toml"),
    ),
];

/// The id of the demo's second incident.
pub const SECOND_INCIDENT_ID: &str = "danger-2010-03";

/// The demo's first `n` incidents (1 or 2), read from their files.
pub fn incidents(n: u8) -> Result<Vec<Incident>> {
    INCIDENT_FILES
        .iter()
        .take(usize::from(n.clamp(1, 2)))
        .map(|(source, text)| crate::import::parse_incident(source, text))
        .collect()
}

/// The demo's main incident (`danger-2009-10`).
pub fn incident() -> Result<Incident> {
    let mut first = incidents(1)?;
    first
        .pop()
        .ok_or_else(|| Error::System("the demo has no incident file".to_string()))
}

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "José",
    "María",
    "Zoë",
    "Björn",
    "Siobhán",
    "François",
    "Łukasz",
    "Ahmed",
    "Aisha",
    "Wei",
    "Yuki",
    "Olga",
    "Dmitri",
    "Chloé",
    "Renée",
    "Søren",
    "Ingrid",
    "Mohammed",
    "Fatima",
    "Priya",
    "Raj",
    "Kwame",
    "Amara",
    "Ana",
    "Miguel",
    "Sarah",
    "David",
    "Jennifer",
    "Michael",
    "Jessica",
    "Christopher",
    "Ashley",
    "Matthew",
    "Emily",
    "Joshua",
    "Amanda",
    "Daniel",
    "Brittany",
    "Andrew",
    "Stephanie",
    "Justin",
    "Lauren",
    "Tyler",
    "Megan",
    "Noémie",
    "Jürgen",
    "Thảo",
    "Oğuz",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "García",
    "Martínez",
    "Rodríguez",
    "Hernández",
    "López",
    "González",
    "Nguyen",
    "Kim",
    "Lee",
    "Patel",
    "Müller",
    "Schröder",
    "Østergaard",
    "Dvořák",
    "Kowalski",
    "O'Brien",
    "Núñez",
    "Peña",
    "Ibáñez",
    "Çelik",
    "Yılmaz",
    "Lefèvre",
    "Davis",
    "Miller",
    "Wilson",
    "Moore",
    "Taylor",
    "Anderson",
    "Thomas",
    "Jackson",
    "White",
    "Harris",
    "Martin",
    "Thompson",
    "Robinson",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Allen",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Torres",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
];
/// Names written in other scripts, a small share of customers.
const WHOLE_NAMES: &[&str] = &[
    "王芳",
    "李伟",
    "佐藤 花子",
    "Иван Петров",
    "Σοφία Παπαδοπούλου",
    "김민준",
];
const DEVICES: &[(&str, u32)] = &[
    ("Sidekick LX 2009", 22),
    ("Sidekick 2008", 30),
    ("Sidekick LX", 20),
    ("Sidekick Slide", 10),
    ("Sidekick iD", 10),
    ("Sidekick 3", 8),
];
const AREAS: &[u32] = &[206, 425, 253, 360, 503, 415, 212, 312, 713, 305];
const MAIL_DOMAINS: &[&str] = &[
    "sidekick.example",
    "example.net",
    "mail.example.org",
    "example.com",
];

pub use crate::store::{DemoChunk as Chunk, DemoSummary};

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// An ASCII rendering of a name for e-mail addresses.
fn ascii_fold(s: &str) -> String {
    s.nfd()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// A distinct North American number per account index: the index is scrambled by a
/// multiplication modulo the number space (coprime, so it is a bijection); exchange 555 is
/// left out so the showcase number +1 206 555 0123 belongs to account 0 alone.
fn msisdn_for(i: u64) -> String {
    if i == 0 {
        return "+12065550123".to_string();
    }
    const EXCHANGES: u64 = 799;
    let space = AREAS.len() as u64 * EXCHANGES * 10_000;
    let idx = (i.wrapping_mul(7_919_993)) % space;
    let area = AREAS[(idx / (EXCHANGES * 10_000)) as usize];
    let e = (idx / 10_000) % EXCHANGES;
    let exchange = if e < 355 { 200 + e } else { 201 + e };
    format!("+1{area}{exchange:03}{:04}", idx % 10_000)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<'a>(rng: &mut ChaCha8Rng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (v, w) in items {
        if x < *w {
            return v;
        }
        x -= w;
    }
    items[0].0
}

/// Whether account `i` gets real backup and live items (the rest have backup manifests only,
/// as when a snapshot's items are still being rebuilt).
fn has_items(i: u64) -> bool {
    i < 200 || i.is_multiple_of(1000)
}

fn item_payload(rng: &mut ChaCha8Rng, cat: Category, n: u64) -> Value {
    match cat {
        Category::Contacts => {
            let name = format!("{} {}", pick(rng, FIRST), pick(rng, LAST));
            let phone = msisdn_for(1 + rng.random_range(0..50_000_000));
            if rng.random_bool(0.15) {
                json!({"name": name, "email": format!("{}{n}@example.net", ascii_fold(&name))})
            } else {
                json!({"name": name, "phone": phone})
            }
        }
        Category::Calendar => {
            let start = t(2009, 9, 1, 9, 0) + Duration::hours(rng.random_range(0..24 * 90));
            json!({"title": format!("{} {n}", pick(rng, &["Dentist", "Team sync", "Birthday", "Flight", "Gym", "Lunch"])),
                   "start": ts(start), "end": ts(start + Duration::hours(1)),
                   "location": pick(rng, &["Seattle", "Portland", "Home", "Office"])})
        }
        Category::Notes => {
            json!({"title": format!("Note {n}"), "body": format!("Remember item {n}")})
        }
        Category::Tasks => json!({"title": format!("Task {n}"),
                                  "due": ts(t(2009, 10, 1, 0, 0) + Duration::days(rng.random_range(0..60))),
                                  "done": rng.random_bool(0.3)}),
        Category::Photos => {
            json!({"filename": format!("IMG_{:04}.JPG", n), "taken_at": ts(t(2009, 1, 1, 0, 0) + Duration::hours(rng.random_range(0..6500))),
                                   "bytes": rng.random_range(40_000..400_000), "width": 640, "height": 480})
        }
        Category::Email => {
            json!({"from": format!("{}@example.org", ascii_fold(pick::<&str>(rng, LAST))),
                                  "subject": format!("Re: {}", pick(rng, &["Dinner", "Tickets", "Photos", "Invoice", "Hello"])),
                                  "date": ts(t(2009, 9, 1, 0, 0) + Duration::minutes(rng.random_range(0..43_000))),
                                  "folder": "Saved"})
        }
    }
}

/// An impact row as the demo's bulk insert takes it.
type ImpactRow = (
    i64,
    &'static str,
    &'static str,
    bool,
    &'static str,
    i64,
    &'static str,
    String,
);

/// One category's impact row, its status derived by the domain's rule.
fn impact_row(
    id: i64,
    incident: &'static str,
    cat: Category,
    facts: &CategoryFacts,
    now: &str,
) -> (CategoryStatus, ImpactRow) {
    let status = domain::derive_category_status(facts);
    let row = (
        id,
        incident,
        cat.as_str(),
        facts.server_lost,
        facts.device_state.as_str(),
        facts.items_before,
        status.as_str(),
        now.to_string(),
    );
    (status, row)
}

/// Builds the rows of accounts `from..to`. Each account draws from its own generator seeded
/// by (seed, index), so a chunk's content does not depend on how the work is split.
///
/// With `incidents` 2, about one account in six (the showcase account among them) also lost
/// photos or notes in the second incident; its rows come from a generator of their own, so the
/// first incident's rows are the same either way.
pub fn chunk(seed: u64, from: u64, to: u64, incidents: u8, now: DateTime<Utc>) -> Result<Chunk> {
    let mut accounts = Vec::new();
    let mut plans = Vec::new();
    let mut impact = Vec::new();
    let mut backups = Vec::new();
    let mut backup_categories = Vec::new();
    let mut backup_items = Vec::new();
    let mut live_items = Vec::new();
    let mut c = Chunk::default();
    let now_s = ts(now);
    let created = ts(t(2009, 11, 2, 12, 0));
    for i in from..to {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let id = i as i64 + 1;
        let account_no = format!("{}", 310_000_001 + i);
        let name = if i == 0 {
            "José Núñez".to_string()
        } else if rng.random_bool(0.03) {
            pick(&mut rng, WHOLE_NAMES).to_string()
        } else {
            format!("{} {}", pick(&mut rng, FIRST), pick(&mut rng, LAST))
        };
        let email = if rng.random_bool(0.08) {
            String::new()
        } else {
            let local = name
                .split(' ')
                .map(ascii_fold)
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(".");
            let local = if local.is_empty() {
                "user".to_string()
            } else {
                local
            };
            format!("{local}{}@{}", i % 997, pick(&mut rng, MAIL_DOMAINS))
        };
        let status = match rng.random_range(0..100) {
            0..=91 => "active",
            92..=95 => "suspended",
            _ => "closed",
        };
        let device = weighted(&mut rng, DEVICES);

        // Plans: most on the $19.99 data plan, some on the $29.99 tier, a few voice-only;
        // some changed plan after the incident started (the credit must not follow them).
        let since = t(2007, 6, 1, 0, 0) + Duration::days(rng.random_range(0..800));
        let tier = rng.random_range(0..100);
        let (code, cents, data) = match tier {
            0..=4 => ("SK-VOICE", 0, false),
            5..=14 => ("SK-DATA-PLUS", 2999, true),
            _ => ("SK-DATA", 1999, true),
        };
        if data && rng.random_bool(0.05) {
            let change = t(2009, 10, 10, 0, 0) + Duration::days(rng.random_range(0..80));
            plans.push((id, code, data, cents, "USD", ts(since), Some(ts(change))));
            let (code2, cents2) = if cents == 1999 {
                ("SK-DATA-PLUS", 2999)
            } else {
                ("SK-DATA", 1999)
            };
            plans.push((id, code2, true, cents2, "USD", ts(change), None));
        } else {
            plans.push((id, code, data, cents, "USD", ts(since), None));
        }

        // Impact: most accounts' server copy was lost; a device left running still holds it.
        let affected = i == 0 || rng.random_bool(0.9);
        let device_state = if i == 0 {
            DeviceState::Wiped
        } else {
            match rng.random_range(0..100) {
                0..=34 => DeviceState::HoldsCopy,
                35..=84 => DeviceState::Wiped,
                _ => DeviceState::Unknown,
            }
        };
        let mut used: Vec<(Category, i64)> = Vec::new();
        for (cat, share, lo, hi) in [
            (Category::Contacts, 100, 15, 400),
            (Category::Calendar, 70, 5, 250),
            (Category::Notes, 50, 1, 60),
            (Category::Tasks, 40, 1, 50),
            (Category::Photos, 60, 1, 300),
            (Category::Email, 65, 10, 200),
        ] {
            if rng.random_range(0..100) < share {
                let n = if i == 0 && cat == Category::Contacts {
                    300
                } else {
                    rng.random_range(lo..=hi)
                };
                used.push((cat, n));
            }
        }

        // The 2009-10-01 snapshot: three in four affected accounts have one; it may miss
        // categories or hold only part of one (64 of 300 contacts), and a few are corrupt.
        let items_loaded = has_items(i);
        let mut backup_cover: Vec<(Category, i64, i64)> = Vec::new();
        let mut verification = "manifest";
        if affected && (i == 0 || rng.random_bool(0.75)) {
            let corrupt = i != 0 && rng.random_bool(0.03);
            let backup_id = format!("snap-{account_no}-20091001");
            let mut item_hashes: Vec<String> = Vec::new();
            let mut any_bad = false;
            for &(cat, before) in &used {
                if cat != Category::Contacts && rng.random_bool(0.2) {
                    continue;
                }
                let count = if i == 0 && cat == Category::Contacts {
                    64
                } else if rng.random_bool(0.3) {
                    (before * rng.random_range(20..90) / 100).max(1)
                } else {
                    before
                };
                let mut bad = 0;
                if items_loaded {
                    let bad_share = if !corrupt && rng.random_bool(0.05) {
                        rng.random_range(1..=5)
                    } else {
                        0
                    };
                    for n in 0..count {
                        let payload = item_payload(&mut rng, cat, n as u64);
                        let hash = content_hash(&payload);
                        let is_bad = corrupt || n < bad_share;
                        let stored_hash = if is_bad {
                            format!("{:x}", Sha256::digest(format!("damaged {hash}").as_bytes()))
                        } else {
                            hash.clone()
                        };
                        if is_bad {
                            bad += 1;
                            any_bad = true;
                        }
                        item_hashes.push(stored_hash.clone());
                        backup_items.push((
                            backup_id.clone(),
                            cat.as_str(),
                            format!("{}-{n}", cat.as_str()),
                            payload.to_string(),
                            stored_hash,
                            !is_bad,
                        ));
                        // Customers who re-entered data: some of it matches the backup (same
                        // key), sometimes with other content (a conflict for the restore).
                        if n < 8 && cat == Category::Contacts && affected && i % 4 == 0 {
                            let live = if n % 2 == 0 {
                                payload.clone()
                            } else {
                                let mut p = payload.clone();
                                if let Some(o) = p.as_object_mut() {
                                    o.insert(
                                        "name".to_string(),
                                        json!(format!(
                                            "{} (new)",
                                            o.get("name").and_then(Value::as_str).unwrap_or("")
                                        )),
                                    );
                                }
                                p
                            };
                            live_items.push((
                                id,
                                cat.as_str(),
                                format!("live-{n}"),
                                natural_key(cat, &live),
                                live.to_string(),
                                content_hash(&live),
                                "customer",
                                now_s.clone(),
                                now_s.clone(),
                            ));
                        }
                    }
                }
                backup_cover.push((cat, count, bad));
                backup_categories.push((backup_id.clone(), cat.as_str(), count, bad));
            }
            verification = if corrupt {
                "corrupt"
            } else if !items_loaded {
                "manifest"
            } else if any_bad {
                "partial"
            } else {
                "verified"
            };
            let checksum = if items_loaded {
                format!("{:x}", Sha256::digest(item_hashes.concat().as_bytes()))
            } else {
                format!("{:x}", Sha256::digest(backup_id.as_bytes()))
            };
            backups.push((
                backup_id,
                id,
                ts(t(2009, 10, 1, 3, 0)),
                "server-snapshot",
                checksum,
                verification,
                now_s.clone(),
            ));
        }
        // Contacts re-entered from scratch since the incident (new items, no backup match).
        if items_loaded && affected && i % 3 == 0 {
            for n in 0..rng.random_range(3..15) {
                let p = item_payload(&mut rng, Category::Contacts, 10_000 + n);
                live_items.push((
                    id,
                    "contacts",
                    format!("new-{n}"),
                    natural_key(Category::Contacts, &p),
                    p.to_string(),
                    content_hash(&p),
                    "customer",
                    now_s.clone(),
                    now_s.clone(),
                ));
            }
        }

        let mut worst = CategoryStatus::NotAffected;
        for &(cat, before) in &used {
            let covered = matches!(verification, "verified" | "partial")
                && backup_cover.iter().any(|&(c, n, bad)| c == cat && n > bad);
            let facts = CategoryFacts {
                server_lost: affected,
                device_state: if affected {
                    device_state
                } else {
                    DeviceState::HoldsCopy
                },
                items_before: before,
                verified_backup: covered,
                permanent_loss: false,
                recovered_items: None,
            };
            let (status, row) = impact_row(id, FIRST_INCIDENT_ID, cat, &facts, &now_s);
            worst = worst.min(status);
            impact.push(row);
        }
        if incidents >= 2 && (i == 0 || i % 6 == 3) {
            let mut rng2 = ChaCha8Rng::seed_from_u64(
                seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2010_0315,
            );
            let device_state = match rng2.random_range(0..100) {
                0..=49 => DeviceState::HoldsCopy,
                50..=89 => DeviceState::Wiped,
                _ => DeviceState::Unknown,
            };
            for (cat, share, lo, hi) in
                [(Category::Photos, 85, 5, 400), (Category::Notes, 60, 1, 80)]
            {
                if i != 0 && rng2.random_range(0..100) >= share {
                    continue;
                }
                // The same snapshot covers it as the store's rule sees it (any verified
                // backup with good items of the category).
                let covered = matches!(verification, "verified" | "partial")
                    && backup_cover.iter().any(|&(c, n, bad)| c == cat && n > bad);
                let facts = CategoryFacts {
                    server_lost: true,
                    device_state,
                    items_before: rng2.random_range(lo..=hi),
                    verified_backup: covered,
                    permanent_loss: false,
                    recovered_items: None,
                };
                let (status, row) = impact_row(id, SECOND_INCIDENT_ID, cat, &facts, &now_s);
                worst = worst.min(status);
                impact.push(row);
            }
        }
        accounts.push((
            id,
            account_no,
            msisdn_for(i),
            name.clone(),
            domain::search_fold(&name),
            email,
            status,
            device,
            worst.rank(),
            created.clone(),
        ));
    }
    c.counts = DemoSummary {
        accounts: accounts.len() as u64,
        plans: plans.len() as u64,
        impact_rows: impact.len() as u64,
        backups: backups.len() as u64,
        backup_items: backup_items.len() as u64,
        live_items: live_items.len() as u64,
    };
    let enc = |e: serde_json::Error| Error::System(format!("cannot encode demo rows: {e}"));
    c.accounts = serde_json::to_string(&accounts).map_err(enc)?;
    c.plans = serde_json::to_string(&plans).map_err(enc)?;
    c.impact = serde_json::to_string(&impact).map_err(enc)?;
    c.backups = serde_json::to_string(&backups).map_err(enc)?;
    c.backup_categories = serde_json::to_string(&backup_categories).map_err(enc)?;
    c.backup_items = serde_json::to_string(&backup_items).map_err(enc)?;
    c.live_items = serde_json::to_string(&live_items).map_err(enc)?;
    Ok(c)
}

/// Builds the demo into an empty, migrated database: incident, agents (plus `extra_admin`,
/// the login that ran it, as a supervisor; on PostgreSQL always the connection's login),
/// accounts and all their rows, one audit record.
pub async fn build(
    svc: &crate::service::Service,
    accounts: u64,
    seed: u64,
    extra_admin: &str,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<DemoSummary> {
    build_with(svc, accounts, seed, 1, extra_admin, progress).await
}

/// [`build`] with `incidents` incidents (1 or 2).
pub async fn build_with(
    svc: &crate::service::Service,
    accounts: u64,
    seed: u64,
    incidents: u8,
    extra_admin: &str,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<DemoSummary> {
    let store = svc.store();
    let now = svc.now();
    let holds = with_store!(store, s => s.holds_data().await)?;
    if holds {
        return Err(Error::refused(format!(
            "the database {} already holds data; the demo builds only into an empty database",
            svc.url().display()
        )));
    }
    let defined = self::incidents(incidents)?;
    with_store!(store, s => s.demo_start(&defined).await)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Chunk>>(2);
    let generator = std::thread::spawn(move || {
        let mut from = 0;
        while from < accounts {
            let to = (from + CHUNK).min(accounts);
            if tx
                .blocking_send(chunk(seed, from, to, incidents, now))
                .is_err()
            {
                return;
            }
            from = to;
        }
    });
    let mut total = DemoSummary::default();
    while let Some(c) = rx.recv().await {
        let c = c?;
        with_store!(store, s => s.demo_load_chunk(&c).await)?;
        total.accounts += c.counts.accounts;
        total.plans += c.counts.plans;
        total.impact_rows += c.counts.impact_rows;
        total.backups += c.counts.backups;
        total.backup_items += c.counts.backup_items;
        total.live_items += c.counts.live_items;
        if let Some(p) = progress {
            p.set_position(total.accounts);
        }
    }
    generator
        .join()
        .map_err(|_| Error::System("the demo generator crashed".to_string()))?;
    let extra_admin =
        with_store!(store, s => s.session_user().await)?.unwrap_or_else(|| extra_admin.to_string());
    let extra_admin = extra_admin.as_str();
    let mut agents: Vec<(String, String, Role)> = AGENTS
        .iter()
        .map(|(l, n, r)| (l.to_string(), n.to_string(), *r))
        .collect();
    // The build is audited under the role its login is registered with (a demo agent's own,
    // else supervisor): the audit append re-checks it against the agent's row.
    let admin = Actor {
        login: extra_admin.to_string(),
        role: agents
            .iter()
            .find(|(l, _, _)| l == extra_admin)
            .map_or(Role::Supervisor, |(_, _, r)| *r),
    };
    if !agents.iter().any(|(l, _, _)| l == extra_admin) {
        agents.push((
            extra_admin.to_string(),
            extra_admin.to_string(),
            Role::Supervisor,
        ));
    }
    let detail = format!(
        "demo seed {seed}: {} accounts, {} backups, {} backup items",
        total.accounts, total.backups, total.backup_items
    );
    with_store!(store, s => s.demo_finish(&admin, &agents, &detail, seed, now).await)?;
    contact(svc, &defined, &admin).await?;
    Ok(total)
}

/// Some of what the agents did on the phone, so the screens show it on first run: at-risk
/// customers advised by call, SMS and e-mail, and callbacks (one due now, one later today,
/// one tomorrow), each recorded through the service as its agent, audited as theirs.
async fn contact(
    svc: &crate::service::Service,
    incidents: &[Incident],
    admin: &Actor,
) -> Result<()> {
    use crate::domain::Channel;
    let at_risk = svc
        .worklist(admin, Some(crate::domain::CategoryStatus::AtRisk), 12)
        .await?;
    let alice = Actor {
        login: "alice".to_string(),
        role: Role::Agent,
    };
    let bob = Actor {
        login: "bob".to_string(),
        role: Role::Agent,
    };
    let advised_by = [
        (&alice, Channel::Call),
        (&alice, Channel::Call),
        (&bob, Channel::Call),
        (&bob, Channel::Sms),
        (admin, Channel::Email),
    ];
    let mut accounts = at_risk.entries.iter().map(|e| e.account.account_no.clone());
    for (actor, channel) in advised_by {
        let Some(account) = accounts.next() else {
            return Ok(());
        };
        // The incident the account is at risk in (with two incidents, either).
        let mut advised = false;
        for inc in incidents {
            match svc.advise(actor, &account, Some(&inc.id), channel).await {
                Ok(_) => {
                    advised = true;
                    break;
                }
                Err(e) if e.exit_code() == 3 => continue,
                Err(e) => return Err(e),
            }
        }
        if !advised {
            return Err(Error::System(format!(
                "demo account {account} is at risk in no incident"
            )));
        }
    }
    let now = svc.now();
    let callbacks = [
        (&alice, now, "wants to know when her photos come back"),
        (&alice, now + chrono::TimeDelta::hours(3), ""),
        (&bob, now + chrono::TimeDelta::days(1), "call after 5pm"),
    ];
    for (actor, due, note) in callbacks {
        let Some(account) = accounts.next() else {
            return Ok(());
        };
        svc.callback_add(actor, &account, due, note).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_distinct_and_valid_for_the_first_accounts() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000 {
            let m = msisdn_for(i);
            assert!(domain::normalize_msisdn(&m).is_ok(), "{m} is not valid");
            assert!(seen.insert(m), "duplicate at {i}");
        }
        assert_eq!(msisdn_for(0), "+12065550123");
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        let now = t(2026, 1, 1, 0, 0);
        let a = chunk(7, 0, 50, 1, now).expect("chunk");
        let b = chunk(7, 0, 50, 1, now).expect("chunk");
        assert_eq!(a.accounts, b.accounts);
        assert_eq!(a.backup_items, b.backup_items);
        let c = chunk(8, 0, 50, 1, now).expect("chunk");
        assert_ne!(a.accounts, c.accounts);
    }

    #[test]
    fn the_showcase_account_lost_contacts_and_has_a_partial_backup() {
        let c = chunk(2009, 0, 1, 1, t(2026, 1, 1, 0, 0)).expect("chunk");
        assert!(c.accounts.contains("José Núñez"));
        assert!(
            c.backup_categories.contains("\"contacts\",64,0"),
            "{}",
            c.backup_categories
        );
    }
}
