//! `caredesk bench import`: the demo's rows for N accounts written as import files
//! (accounts.csv with plan columns, impact.csv, backups.jsonl with manifest-only snapshots),
//! then, into a fresh empty database each: the baseline (the demo's bulk loader writing the
//! same rows, one `INSERT … SELECT` per table per chunk) and caredesk's `import accounts`,
//! `import impact` and `import backups` through the service (read, parse, write), and the same
//! three files imported again (every row unchanged).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use super::{open, peak_rss_mb, reset_peak_rss};
use crate::error::{Error, Result};
use crate::service::admin::{ImportFile, import_connect_options};
use crate::store::{ConnectOptions, DbUrl, ImportCounts, Store};
use crate::with_store;

const SEED: u64 = 2009;
/// Accounts per generated chunk (the demo's).
const CHUNK: u64 = 10_000;

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub what: String,
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub seconds: f64,
    pub peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportBench {
    pub backend: String,
    pub accounts: u64,
    pub plans: u64,
    pub impact_rows: u64,
    pub backups: u64,
    pub backup_categories: u64,
    pub file_mb: [f64; 3],
    pub baseline_seconds: f64,
    pub baseline_peak_rss_mb: f64,
    pub steps: Vec<Step>,
    /// The three first imports together.
    pub import_seconds: f64,
    pub ratio: f64,
    pub reimport_seconds: f64,
    pub database_mb: Option<f64>,
}

/// The baseline's rows of one chunk: the demo's tables as the import files carry them (one
/// plan per account, manifest-only snapshots, no items).
struct BaselineChunk {
    accounts: String,
    plans: String,
    impact: String,
    backups: String,
    backup_categories: String,
}

fn enc(e: serde_json::Error) -> Error {
    Error::System(format!("cannot encode bench rows: {e}"))
}

fn rows(json: &str) -> Result<Vec<Vec<Value>>> {
    serde_json::from_str(json).map_err(|e| Error::System(format!("demo rows: {e}")))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

struct Files {
    accounts: csv::Writer<std::io::BufWriter<std::fs::File>>,
    impact: csv::Writer<std::io::BufWriter<std::fs::File>>,
    backups: std::io::BufWriter<std::fs::File>,
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    std::fs::File::create(path)
        .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))
}

/// Writes one demo chunk into the import files and returns the baseline's rows for it.
fn write_chunk(
    files: &mut Files,
    c: &crate::demo::Chunk,
    counts: &mut [u64; 5],
) -> Result<BaselineChunk> {
    use std::io::Write as _;
    let io = |e: std::io::Error| Error::io("cannot write the bench files", e);
    let csv_err = |e: csv::Error| Error::System(format!("cannot write the bench files: {e}"));
    let accounts = rows(&c.accounts)?;
    let plans = rows(&c.plans)?;
    let impact = rows(&c.impact)?;
    let backups = rows(&c.backups)?;
    let cats = rows(&c.backup_categories)?;
    let mut account_no: std::collections::HashMap<i64, String> = Default::default();
    for a in &accounts {
        account_no.insert(a[0].as_i64().unwrap_or(0), s(&a[1]).to_string());
    }
    // The plan in force now: the last of each account's history (the demo lists an
    // account's plans in order).
    let mut current: std::collections::HashMap<i64, &Vec<Value>> = Default::default();
    for p in &plans {
        current.insert(p[0].as_i64().unwrap_or(0), p);
    }
    let mut base_plans = Vec::with_capacity(accounts.len());
    for a in &accounts {
        let id = a[0].as_i64().unwrap_or(0);
        let (code, cents, from) = match current.get(&id) {
            Some(p) => (s(&p[1]), p[3].as_i64().unwrap_or(0), s(&p[5])),
            None => ("", 0, ""),
        };
        files
            .accounts
            .write_record([
                s(&a[1]),
                s(&a[2]),
                s(&a[3]),
                s(&a[5]),
                s(&a[6]),
                code,
                &cents.to_string(),
                s(&a[7]),
                from,
            ])
            .map_err(csv_err)?;
        if let Some(p) = current.get(&id) {
            base_plans.push(json!([id, p[1], p[2], p[3], p[4], p[5], Value::Null]));
        }
    }
    for i in &impact {
        let no = account_no
            .get(&i[0].as_i64().unwrap_or(0))
            .map(String::as_str)
            .unwrap_or("");
        files
            .impact
            .write_record([
                no,
                s(&i[1]),
                s(&i[2]),
                if i[3].as_bool().unwrap_or(false) {
                    "true"
                } else {
                    "false"
                },
                s(&i[4]),
                &i[5].as_i64().unwrap_or(0).to_string(),
            ])
            .map_err(csv_err)?;
    }
    let mut manifests: std::collections::HashMap<&str, serde_json::Map<String, Value>> =
        Default::default();
    for bc in &cats {
        manifests
            .entry(s(&bc[0]))
            .or_default()
            .insert(s(&bc[1]).to_string(), bc[2].clone());
    }
    let mut base_backups = Vec::with_capacity(backups.len());
    for b in &backups {
        let no = account_no
            .get(&b[1].as_i64().unwrap_or(0))
            .map(String::as_str)
            .unwrap_or("");
        let manifest = manifests.remove(s(&b[0])).unwrap_or_default();
        let line = json!({"id": b[0], "account_no": no, "taken_at": b[2], "source": b[3], "manifest": manifest});
        writeln!(files.backups, "{line}").map_err(io)?;
        base_backups.push(json!([b[0], b[1], b[2], b[3], b[4], "manifest", b[6]]));
    }
    let base_cats: Vec<Value> = cats
        .iter()
        .map(|bc| json!([bc[0], bc[1], bc[2], 0]))
        .collect();
    counts[0] += accounts.len() as u64;
    counts[1] += base_plans.len() as u64;
    counts[2] += impact.len() as u64;
    counts[3] += backups.len() as u64;
    counts[4] += cats.len() as u64;
    Ok(BaselineChunk {
        accounts: c.accounts.clone(),
        plans: serde_json::to_string(&base_plans).map_err(enc)?,
        impact: c.impact.clone(),
        backups: serde_json::to_string(&base_backups).map_err(enc)?,
        backup_categories: serde_json::to_string(&base_cats).map_err(enc)?,
    })
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn file_mb(path: &Path) -> f64 {
    std::fs::metadata(path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0)
}

/// Generates the files, then times the baseline and the imports. SQLite: fresh database files
/// in `dir`, removed afterwards. PostgreSQL: `pg_url` must name an empty database; the
/// baseline runs in a transaction that is rolled back after it is timed.
pub async fn import(
    accounts: u64,
    dir: &Path,
    pg_url: Option<&str>,
    login: &str,
    say: &dyn Fn(&str),
) -> Result<ImportBench> {
    if accounts == 0 {
        return Err(Error::invalid("--accounts must be at least 1"));
    }
    let work = dir.join(format!("import-{}", std::process::id()));
    std::fs::create_dir_all(&work)
        .map_err(|e| Error::io(format!("cannot create {}", work.display()), e))?;
    let result = run(accounts, &work, pg_url, login, say).await;
    if std::env::var_os("KEEPTMP").is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}

async fn run(
    accounts: u64,
    work: &Path,
    pg_url: Option<&str>,
    login: &str,
    say: &dyn Fn(&str),
) -> Result<ImportBench> {
    let paths = [
        work.join("accounts.csv"),
        work.join("impact.csv"),
        work.join("backups.jsonl"),
    ];
    say(&format!(
        "writing the demo's rows for {accounts} accounts as import files in {}…",
        work.display()
    ));
    let now = chrono::Utc::now();
    let mut files = Files {
        accounts: csv::Writer::from_writer(create(&paths[0])?),
        impact: csv::Writer::from_writer(create(&paths[1])?),
        backups: create(&paths[2])?,
    };
    let csv_err = |e: csv::Error| Error::System(format!("cannot write the bench files: {e}"));
    files
        .accounts
        .write_record([
            "account_no",
            "msisdn",
            "name",
            "email",
            "status",
            "plan_code",
            "plan_cents",
            "device",
            "plan_from",
        ])
        .map_err(csv_err)?;
    files
        .impact
        .write_record([
            "account_no",
            "incident",
            "category",
            "server_lost",
            "device_state",
            "items_before",
        ])
        .map_err(csv_err)?;
    let mut counts = [0u64; 5];
    let mut chunk_files: Vec<[PathBuf; 5]> = Vec::new();
    let mut from = 0;
    while from < accounts {
        let to = (from + CHUNK).min(accounts);
        let c = crate::demo::chunk(SEED, from, to, 1, now)?;
        let b = write_chunk(&mut files, &c, &mut counts)?;
        // The baseline's rows wait on disk, so they do not weigh on the imports' memory.
        let n = chunk_files.len();
        let names = ["accounts", "plans", "impact", "backups", "categories"]
            .map(|t| work.join(format!("baseline-{n:04}-{t}.json")));
        for (path, text) in names.iter().zip([
            &b.accounts,
            &b.plans,
            &b.impact,
            &b.backups,
            &b.backup_categories,
        ]) {
            std::fs::write(path, text)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        }
        chunk_files.push(names);
        from = to;
    }
    files.accounts.flush().map_err(|e| Error::io("flush", e))?;
    files.impact.flush().map_err(|e| Error::io("flush", e))?;
    std::io::Write::flush(&mut files.backups).map_err(|e| Error::io("flush", e))?;
    drop(files);
    let sizes = [file_mb(&paths[0]), file_mb(&paths[1]), file_mb(&paths[2])];

    // The baseline: the demo's loader, one INSERT … SELECT per table per chunk.
    let base_url = match pg_url {
        None => {
            let p = work.join("baseline.db");
            remove_sqlite(&p);
            DbUrl::Sqlite(p)
        }
        Some(u) => DbUrl::parse(u)?,
    };
    let svc = open(&base_url).await?;
    if with_store!(svc.store(), s => s.holds_data().await)? {
        return Err(Error::refused(format!(
            "the database {} already holds data; the import bench needs an empty one",
            base_url.display()
        )));
    }
    say("timing the baseline (the demo's bulk loader: one INSERT … SELECT per table per chunk)…");
    reset_peak_rss();
    let started = Instant::now();
    let baseline_seconds = match svc.store() {
        Store::Sqlite(s) => {
            s.demo_start(&[crate::demo::incident()?]).await?;
            for names in &chunk_files {
                s.demo_load_chunk(&read_chunk(names)?).await?;
            }
            // The demo ends by merging the search index's segments (automerge was off).
            s.optimize().await?;
            started.elapsed().as_secs_f64()
        }
        Store::Postgres(s) => {
            let mut files = chunk_files.iter();
            s.demo_load_rolled_back(&crate::demo::incident()?, &mut || {
                files.next().map(read_chunk)
            })
            .await?
            .as_secs_f64()
        }
    };
    let baseline_peak_rss_mb = peak_rss_mb();
    svc.close().await;
    if let DbUrl::Sqlite(p) = &base_url {
        remove_sqlite(p);
    }
    for names in &chunk_files {
        for p in names {
            let _ = std::fs::remove_file(p);
        }
    }

    // caredesk's imports, into a fresh database with its incident and one supervisor.
    let url = match pg_url {
        None => DbUrl::Sqlite(work.join("import.db")),
        Some(u) => DbUrl::parse(u)?,
    };
    let svc = crate::service::Service::open(
        &url,
        &ConnectOptions {
            create: true,
            ..import_connect_options()
        },
        std::sync::Arc::new(crate::domain::SystemClock),
        crate::service::OpenMode::Normal,
    )
    .await?;
    let admin = svc
        .init_admin(login, Some(&crate::demo::incident()?))
        .await?;
    let actor = svc.actor(Some(&admin)).await?;
    let mut steps = Vec::new();
    for round in ["import", "again"] {
        for (kind, path, name) in [
            (ImportFile::Accounts, &paths[0], "accounts"),
            (ImportFile::Impact, &paths[1], "impact"),
            (ImportFile::Backups, &paths[2], "backups"),
        ] {
            let what = if round == "import" {
                format!("caredesk import {name}")
            } else {
                format!("caredesk import {name} again (every row unchanged)")
            };
            say(&format!("timing {what}…"));
            reset_peak_rss();
            let started = Instant::now();
            let c: ImportCounts = svc.import_file(&actor, kind, path).await?;
            steps.push(Step {
                what,
                rows: c.rows,
                inserted: c.inserted,
                updated: c.updated,
                unchanged: c.unchanged,
                seconds: started.elapsed().as_secs_f64(),
                peak_rss_mb: peak_rss_mb(),
            });
        }
    }
    svc.close().await;
    let database_mb = match &url {
        DbUrl::Sqlite(p) => Some(file_mb(p)),
        DbUrl::Postgres(_) => None,
    };
    if let DbUrl::Sqlite(p) = &url {
        remove_sqlite(p);
    }
    let import_seconds: f64 = steps[..3].iter().map(|s| s.seconds).sum();
    let reimport_seconds: f64 = steps[3..].iter().map(|s| s.seconds).sum();
    Ok(ImportBench {
        backend: url.backend().as_str().to_string(),
        accounts: counts[0],
        plans: counts[1],
        impact_rows: counts[2],
        backups: counts[3],
        backup_categories: counts[4],
        file_mb: sizes,
        baseline_seconds,
        baseline_peak_rss_mb,
        ratio: import_seconds / baseline_seconds.max(1e-9),
        import_seconds,
        reimport_seconds,
        steps,
        database_mb,
    })
}

fn read_chunk(names: &[PathBuf; 5]) -> Result<crate::demo::Chunk> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).map_err(|e| Error::io(format!("cannot read {}", p.display()), e))
    };
    Ok(crate::demo::Chunk {
        accounts: read(&names[0])?,
        plans: read(&names[1])?,
        impact: read(&names[2])?,
        backups: read(&names[3])?,
        backup_categories: read(&names[4])?,
        ..Default::default()
    })
}

pub fn import_table(b: &ImportBench) -> String {
    let mut out = format!(
        "import of {} accounts ({} plans, {} impact rows, {} manifest-only backups with {} categories), {}\n\
         files: accounts.csv {:.0} MB, impact.csv {:.0} MB, backups.jsonl {:.0} MB{}\n\
         | what | rows | new | changed | unchanged | seconds | vs baseline | peak RSS MB |\n\
         |---|---|---|---|---|---|---|---|\n\
         | baseline: the demo's loader, one INSERT … SELECT per table per chunk{} | {} | | | | {:.2} | 1.00x | {:.0} |\n",
        b.accounts,
        b.plans,
        b.impact_rows,
        b.backups,
        b.backup_categories,
        b.backend,
        b.file_mb[0],
        b.file_mb[1],
        b.file_mb[2],
        b.database_mb
            .map(|m| format!("; database {m:.0} MB"))
            .unwrap_or_default(),
        if b.backend == "sqlite" {
            ", then the search index merged"
        } else {
            ", rolled back"
        },
        b.accounts + b.plans + b.impact_rows + b.backups + b.backup_categories,
        b.baseline_seconds,
        b.baseline_peak_rss_mb,
    );
    for (n, s) in b.steps.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {} | {:.0} |\n",
            s.what,
            s.rows,
            s.inserted,
            s.updated,
            s.unchanged,
            s.seconds,
            if n < 3 {
                format!("{:.2}x", s.seconds / b.baseline_seconds.max(1e-9))
            } else {
                String::new()
            },
            s.peak_rss_mb
        ));
        if n == 2 {
            out.push_str(&format!(
                "| **the three imports** | | | | | **{:.2}** | **{:.2}x** | |\n",
                b.import_seconds, b.ratio
            ));
        }
    }
    out.push_str(&format!(
        "| the three imports again | | | | | {:.2} | | |\n",
        b.reimport_seconds
    ));
    out
}
