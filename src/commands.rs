//! Carries out one command line: opens the database, resolves the acting agent before anything
//! is read or written, calls the service, prints the result in the chosen format.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::cli::{
    AgentCommand, AuditCommand, Cli, Command, CreditCommand, DbCommand, DemoArgs, Format,
    ImportKind, RunArgs,
};
use crate::domain::{CategoryStatus, Role, SystemClock};
use crate::error::{Error, Result};
use crate::output;
use crate::service::{OpenMode, Service, os_login};
use crate::store::{ConnectOptions, DbUrl, Store};
use crate::with_store;

mod restore;

/// Where caredesk keeps its files when `--db` and `CAREDESK_DB` say nothing.
pub fn data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "caredesk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".caredesk"))
}

pub fn default_db() -> DbUrl {
    DbUrl::Sqlite(data_dir().join("caredesk.db"))
}

pub fn default_demo_db() -> DbUrl {
    DbUrl::Sqlite(data_dir().join("demo.db"))
}

fn print(format: Format, text: String, value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        Format::Text | Format::Csv => out.write_all(output::terminal_text(&text).as_bytes()),
        Format::Json => writeln!(out, "{}", output::json_text(&value)),
    };
}

async fn open(url: &DbUrl, mode: OpenMode) -> Result<Service> {
    let opts = ConnectOptions {
        create: false,
        ..ConnectOptions::from_env()?
    };
    Service::open(url, &opts, Arc::new(SystemClock), mode).await
}

pub async fn run(cli: Cli) -> Result<()> {
    let g = cli.global.clone();
    let explicit_db = g.db.as_deref().map(DbUrl::parse).transpose()?;
    let url = explicit_db.clone().unwrap_or_else(default_db);
    let Some(command) = cli.command else {
        return open_tui(&url, g.agent.as_deref(), g.no_color).await;
    };
    match command {
        Command::Demo(args) => {
            let url = explicit_db.unwrap_or_else(default_demo_db);
            let no_tui = args.no_tui;
            let admin = demo(url.clone(), g.agent.as_deref(), g.format, args).await?;
            if no_tui {
                return Ok(());
            }
            let agent = matches!(url, DbUrl::Sqlite(_)).then_some(admin.as_str());
            open_tui(&url, agent, g.no_color).await
        }
        Command::Init { admin } => {
            let svc = Service::open(
                &url,
                &ConnectOptions::default(),
                Arc::new(SystemClock),
                OpenMode::Normal,
            )
            .await?;
            let login = svc.init_admin(&admin, &crate::demo::incident()).await?;
            print(
                g.format,
                format!(
                    "created {} with the supervisor \"{}\"\n",
                    url.display(),
                    login
                ),
                json!({"db": url.display(), "admin": login}),
            );
            Ok(())
        }
        Command::Bench(command) => bench(command, &g, explicit_db).await,
        Command::Db(DbCommand::Migrate { backup_taken }) => {
            migrate(&url, backup_taken, g.format).await
        }
        Command::Db(DbCommand::Optimize) => {
            let svc = open(&url, OpenMode::Normal).await?;
            let started = Instant::now();
            with_store!(svc.store(), s => s.optimize().await)?;
            print(
                g.format,
                format!("optimized in {:.1} s\n", started.elapsed().as_secs_f64()),
                json!({"seconds": started.elapsed().as_secs_f64()}),
            );
            Ok(())
        }
        Command::Db(DbCommand::Grant) => {
            let svc = open(&url, OpenMode::Normal).await?;
            let actor = svc.actor(g.agent.as_deref()).await?;
            let r = svc.grant_roles(&actor).await;
            svc.close().await;
            let r = r?;
            let mut text = format!(
                "roles {}: privileges set; {} active agent(s) in their role's group, {} disabled in none\n",
                r.groups.join(", "),
                r.active,
                r.disabled
            );
            if !r.logins_created.is_empty() {
                text.push_str(&format!(
                    "created login(s) {} (without a password: set one, or let pg_hba.conf decide how they sign in)\n",
                    r.logins_created.join(", ")
                ));
            }
            if !r.superusers.is_empty() {
                let (verb, noun) = if r.superusers.len() == 1 {
                    ("is a", "superuser")
                } else {
                    ("are", "superusers")
                };
                text.push_str(&format!(
                    "note: {} {verb} {noun}: no privilege limits a superuser\n",
                    r.superusers.join(", ")
                ));
            }
            print(g.format, text, serde_json::to_value(&r).unwrap_or_default());
            Ok(())
        }
        Command::Db(DbCommand::Backup { path }) => {
            let svc = open(&url, OpenMode::Raw).await?;
            if path.exists() {
                return Err(Error::invalid(format!(
                    "{} already exists; choose a new file",
                    path.display()
                )));
            }
            with_store!(svc.store(), s => s.backup_to(&path).await)?;
            print(
                g.format,
                format!("backed up to {}\n", path.display()),
                json!({"backup": path}),
            );
            Ok(())
        }
        command @ Command::Import { .. } => {
            // One connection with a large cache; waits for locks and connections as the
            // environment says.
            let env = ConnectOptions::from_env()?;
            let svc = Service::open(
                &url,
                &ConnectOptions {
                    lock_timeout: env.lock_timeout,
                    acquire_timeout: env.acquire_timeout,
                    ..import_connect_options()
                },
                Arc::new(SystemClock),
                OpenMode::Normal,
            )
            .await?;
            let actor = svc.actor(g.agent.as_deref()).await?;
            let result = account_command(&svc, &actor, g.format, command).await;
            svc.close().await;
            result
        }
        command => {
            let svc = open(&url, OpenMode::Normal).await?;
            let actor = svc.actor(g.agent.as_deref()).await?;
            let result = account_command(&svc, &actor, g.format, command).await;
            svc.close().await;
            result
        }
    }
}

/// How `caredesk import` opens the database: one connection with a large SQLite page cache
/// (an import of a million accounts updates indexes all over the file; with the default
/// cache it would spill and re-read pages many times).
pub fn import_connect_options() -> ConnectOptions {
    ConnectOptions {
        create: false,
        max_connections: 1,
        cache_kib: 256 * 1024,
        ..Default::default()
    }
}

/// `caredesk import accounts|impact|backups FILE`: reads the whole file and imports it in one
/// transaction, parsing on a thread of its own while the rows already parsed are written
/// (every bad row is reported, and nothing written).
pub async fn import_file(
    svc: &Service,
    actor: &crate::store::Actor,
    what: ImportKind,
    file: &Path,
) -> Result<crate::store::ImportCounts> {
    let source = file.display().to_string();
    let data = crate::import::read_input(file)?;
    match what {
        ImportKind::Accounts => svc.import_accounts_file(actor, &source, data).await,
        ImportKind::Impact => svc.import_impact_file(actor, &source, data).await,
        ImportKind::Backups => svc.import_backups_file(actor, &source, data).await,
    }
}

async fn account_command(
    svc: &Service,
    actor: &crate::store::Actor,
    format: Format,
    command: Command,
) -> Result<()> {
    match command {
        Command::Import { what, file } => {
            let source = file.display().to_string();
            let counts = import_file(svc, actor, what, &file).await?;
            print(
                format,
                format!(
                    "{source}: {} rows: {} new, {} changed, {} unchanged\n",
                    counts.rows, counts.inserted, counts.updated, counts.unchanged
                ),
                serde_json::to_value(&counts).unwrap_or_default(),
            );
        }
        Command::Lookup { query, limit } if query == "-" => {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let q = line.map_err(|e| Error::io("cannot read standard input", e))?;
                let results = svc.search(actor, &q, limit).await?;
                let text = match results.first() {
                    Some(a) => format!(
                        "{}\t{}\t{}\t{}\t{}\n",
                        output::clean(q.trim()),
                        a.account_no,
                        a.msisdn,
                        output::clean(&a.name),
                        a.status.as_str()
                    ),
                    None => format!("{}\t-\n", output::clean(q.trim())),
                };
                let mut v = output::summaries_json(&results);
                v["query"] = json!(q.trim());
                print(format, text, v);
            }
        }
        Command::Lookup { query, limit } => {
            let results = svc.search(actor, &query, limit).await?;
            print(
                format,
                output::summaries_text(&results),
                output::summaries_json(&results),
            );
        }
        Command::Show { account, reveal } => {
            let d = if reveal {
                svc.show_revealed(actor, &account).await?
            } else {
                svc.show(actor, &account).await?
            };
            print(format, output::detail_text(&d), output::detail_json(&d));
        }
        Command::Worklist { status, limit } => {
            let status = status
                .map(|s| s.parse::<CategoryStatus>())
                .transpose()
                .map_err(Error::invalid)?;
            let list = svc.worklist(actor, status, limit).await?;
            print(
                format,
                output::summaries_text(&list),
                output::summaries_json(&list),
            );
        }
        Command::Privacy { command } => {
            if let Some(crate::cli::PrivacyCommand::Mask { roles }) = command {
                let text = if roles.len() == 1 && roles[0].trim().eq_ignore_ascii_case("none") {
                    String::new()
                } else {
                    roles.join(",")
                };
                let policy = crate::domain::MaskPolicy::from_text(&text)
                    .map_err(|e| Error::invalid(format!("privacy mask: {e}")))?;
                svc.set_mask_policy(actor, &policy).await?;
                return print_mask_policy(format, &policy, true);
            }
            print_mask_policy(format, svc.mask_policy(), false)?;
        }
        Command::Note { account, text } => {
            let (a, id) = svc.add_note(actor, &account, &text).await?;
            print(
                format,
                format!("note #{id} added to account {}\n", a.account_no),
                json!({"note_id": id, "account_no": a.account_no}),
            );
        }
        Command::Audit(AuditCommand::Verify { checkpoint: None }) => {
            let v = svc.audit_verify(actor).await?;
            match &v.first_bad {
                None => print(
                    format,
                    format!(
                        "the audit chain is valid: {} records, head {} {}\n",
                        v.records, v.head_seq, v.head_hash
                    ),
                    output::verification_json(&v),
                ),
                Some((_, problem)) => {
                    if format == Format::Json {
                        print(format, String::new(), output::verification_json(&v));
                    }
                    return Err(Error::refused(format!(
                        "the audit chain does not verify: {problem}"
                    )));
                }
            }
        }
        Command::Audit(AuditCommand::Verify {
            checkpoint: Some(path),
        }) => audit_verify_checkpoints(svc, actor, format, &path).await?,
        Command::Audit(AuditCommand::Checkpoint { out }) => {
            audit_checkpoint(svc, actor, format, &out).await?
        }
        Command::Audit(AuditCommand::Log {
            account,
            since,
            limit,
        }) => {
            let since = since
                .map(|s| {
                    crate::import::parse_time(&s).ok_or_else(|| {
                        Error::invalid(format!(
                            "--since \"{}\" is not a time (RFC 3339 or YYYY-MM-DD)",
                            output::clean(&s)
                        ))
                    })
                })
                .transpose()?;
            let list = svc
                .audit_log(actor, account.as_deref(), since, limit)
                .await?;
            print(format, output::audit_text(&list), output::audit_json(&list));
        }
        Command::Agent(AgentCommand::Add { login, role, name }) => {
            let role: Role = role.parse().map_err(Error::invalid)?;
            svc.add_agent(actor, &login, name.as_deref(), role).await?;
            print(
                format,
                format!("added {login} as {role}\n"),
                json!({"login": login, "role": role.as_str(), "active": true}),
            );
        }
        Command::Agent(AgentCommand::List) => {
            let list = svc.agents(actor).await?;
            print(
                format,
                output::agents_text(&list),
                output::agents_json(&list),
            );
        }
        Command::Agent(AgentCommand::Disable { login }) => {
            let changed = svc.disable_agent(actor, &login).await?;
            let text = if changed {
                format!("disabled {login}\n")
            } else {
                format!("{login} was already disabled\n")
            };
            print(
                format,
                text,
                json!({"login": login, "active": false, "changed": changed}),
            );
        }
        Command::Credit(c) => credit_command(svc, actor, format, c).await?,
        Command::Restore(c) => restore::restore_command(svc, actor, format, c).await?,
        Command::Resync {
            account,
            category,
            items,
            incident,
        } => {
            restore::resync(
                svc,
                actor,
                format,
                &account,
                &category,
                items,
                incident.as_deref(),
            )
            .await?
        }
        Command::DeclareLoss {
            account,
            category,
            reason,
            incident,
        } => {
            let category: crate::domain::Category = category.parse().map_err(Error::invalid)?;
            let changed = svc
                .declare_loss(actor, &account, incident.as_deref(), category, &reason)
                .await?;
            let text = if changed {
                format!(
                    "declared {category} of account {} permanently lost\n",
                    output::clean(&account)
                )
            } else {
                format!(
                    "{category} of account {} was already declared permanently lost\n",
                    output::clean(&account)
                )
            };
            print(
                format,
                text,
                json!({"category": category.as_str(), "changed": changed}),
            );
        }
        Command::Demo(_) | Command::Init { .. } | Command::Db(_) | Command::Bench(_) => {
            unreachable_command()?
        }
    }
    Ok(())
}

/// `audit verify --checkpoint FILE`: the chain, then every checkpoint of the file against it.
async fn audit_verify_checkpoints(
    svc: &Service,
    actor: &crate::store::Actor,
    format: Format,
    path: &Path,
) -> Result<()> {
    use crate::audit::checkpoint;
    let source = path.display().to_string();
    let data = checkpoint::read(path)?
        .ok_or_else(|| Error::invalid(format!("there is no audit checkpoint file {source}")))?;
    let entries = checkpoint::parse(&source, &data)?;
    if entries.is_empty() {
        return Err(Error::invalid(format!(
            "{source} holds no audit checkpoint"
        )));
    }
    let (v, mismatches) = svc
        .audit_verify_checkpoints(actor, &source, &entries)
        .await?;
    let mut json = output::verification_json(&v);
    json["valid"] = json!(v.first_bad.is_none() && mismatches.is_empty());
    json["chain_valid"] = json!(v.first_bad.is_none());
    json["checkpoints"] = json!({
        "file": source,
        "count": entries.len(),
        "matched": entries.len() - mismatches.len(),
        "problems": mismatches,
    });
    if v.first_bad.is_none() && mismatches.is_empty() {
        let newest = entries
            .iter()
            .max_by_key(|e| e.checkpoint.seq)
            .map(|e| &e.checkpoint);
        let text = format!(
            "the audit chain is valid: {} records, head {} {}\nit holds all {} checkpoint(s) of {}{}\n",
            v.records,
            v.head_seq,
            v.head_hash,
            entries.len(),
            output::clean(&source),
            newest
                .map(|c| format!(
                    " (the furthest at seq {}, taken {})",
                    c.seq,
                    c.taken_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ))
                .unwrap_or_default()
        );
        print(format, text, json);
        return Ok(());
    }
    if format == Format::Json {
        print(format, String::new(), json);
    }
    let mut msg = match (&v.first_bad, mismatches.first()) {
        (Some((_, problem)), _) => format!("the audit chain does not verify: {problem}"),
        (None, Some(m)) => format!(
            "the audit chain does not match its checkpoints: {}",
            m.problem
        ),
        (None, None) => String::new(),
    };
    if mismatches.len() > 1 || (v.first_bad.is_some() && !mismatches.is_empty()) {
        msg.push_str(&format!(
            " ({} of {} checkpoints do not match)",
            mismatches.len(),
            entries.len()
        ));
    }
    Err(Error::refused(msg))
}

/// `audit checkpoint --out FILE`: verify, then append the head to the file atomically.
async fn audit_checkpoint(
    svc: &Service,
    actor: &crate::store::Actor,
    format: Format,
    path: &Path,
) -> Result<()> {
    use crate::audit::checkpoint;
    let source = path.display().to_string();
    let existing = checkpoint::read(path)?;
    let entries = match &existing {
        Some(data) => checkpoint::parse(&source, data)?,
        None => Vec::new(),
    };
    let c = svc.audit_checkpoint(actor, &source, &entries).await?;
    checkpoint::append(path, existing.as_deref(), &c)?;
    let count = entries.len() + 1;
    let text = format!(
        "checkpoint {count} written to {}: seq {}, hash {}, {} records, taken {}\n",
        output::clean(&source),
        c.seq,
        c.hash,
        c.records,
        c.taken_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let mut v = serde_json::to_value(&c).unwrap_or_default();
    v["file"] = json!(source);
    v["checkpoints"] = json!(count);
    print(format, text, v);
    Ok(())
}

fn unreachable_command() -> Result<()> {
    Err(Error::System(
        "this command is dispatched elsewhere".to_string(),
    ))
}

/// A SQLite demo file may be rebuilt; anything else is never deleted.
async fn clear_old_demo(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let url = DbUrl::Sqlite(path.to_path_buf());
    let store = Store::connect(
        &url,
        &ConnectOptions {
            create: false,
            max_connections: 1,
            ..Default::default()
        },
    )
    .await?;
    let is_demo = with_store!(&store, s => s.meta("demo").await)
        .ok()
        .flatten()
        .is_some();
    with_store!(&store, s => s.close().await);
    if !is_demo {
        return Err(Error::refused(format!(
            "{} is not a demo database; the demo never overwrites it (choose another --db)",
            path.display()
        )));
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p)
                .map_err(|e| Error::io(format!("cannot remove the old demo {}", p.display()), e))?;
        }
    }
    Ok(())
}

/// Opens the agents' screen once the acting agent is known (unknown or disabled: exit 3
/// before the screen opens).
async fn open_tui(url: &DbUrl, agent: Option<&str>, no_color: bool) -> Result<()> {
    if let DbUrl::Sqlite(path) = url
        && !path.exists()
    {
        return Err(Error::invalid(format!(
            "there is no database at {}; build a demo with `caredesk demo` or create one with `caredesk init --admin LOGIN`",
            path.display()
        )));
    }
    let svc = open(url, OpenMode::Normal).await?;
    let actor = svc.actor(agent).await?;
    let result = crate::tui::run(svc.clone(), actor, crate::tui::Options { no_color }).await;
    svc.close().await;
    result
}

/// `caredesk bench …`: each benchmark prints its table (or its JSON) the same way. SQLite bench
/// databases live in `--dir` (default: the data directory's `bench`); `--db` naming PostgreSQL
/// runs the benchmarks that support it there.
async fn bench(
    command: crate::cli::BenchCommand,
    g: &crate::cli::Global,
    explicit_db: Option<DbUrl>,
) -> Result<()> {
    use crate::cli::BenchCommand;
    let show = |table: String, value: serde_json::Result<serde_json::Value>| {
        print(g.format, table, value.unwrap_or_default());
    };
    let bench_dir = |dir: Option<PathBuf>| dir.unwrap_or_else(|| data_dir().join("bench"));
    let pg = match &explicit_db {
        Some(DbUrl::Postgres(u)) => Some(u.as_str()),
        _ => None,
    };
    let login = g.agent.as_deref().unwrap_or("sofia");
    let say = |m: &str| eprintln!("{m}");
    match command {
        BenchCommand::Scale { sizes, dir } => {
            let sizes = crate::bench::scale::parse_sizes(&sizes)?;
            if pg.is_some() {
                return Err(Error::invalid(
                    "bench scale runs on SQLite (bench batch, tui and agents take a PostgreSQL --db)",
                ));
            }
            let b = crate::bench::scale::scale(&sizes, &bench_dir(dir), login, &say).await?;
            show(crate::bench::scale::table(&b), serde_json::to_value(&b));
        }
        BenchCommand::Batch { accounts, dir } => {
            let b = crate::bench::batch(accounts, &bench_dir(dir), pg, login, &say).await?;
            show(crate::bench::batch_table(&b), serde_json::to_value(&b));
        }
        BenchCommand::Import { accounts, dir } => {
            let b = crate::bench::import(accounts, &bench_dir(dir), pg, login, &say).await?;
            show(crate::bench::import_table(&b), serde_json::to_value(&b));
        }
        BenchCommand::Restore {
            items,
            accounts,
            reps,
            dir,
        } => {
            let b = crate::bench::restore(items, accounts, reps, &bench_dir(dir), pg, login, &say)
                .await?;
            show(crate::bench::restore_table(&b), serde_json::to_value(&b));
        }
        BenchCommand::Tui => {
            let url = explicit_db.unwrap_or_else(default_demo_db);
            let agent = matches!(url, DbUrl::Sqlite(_)).then_some(login);
            let b = crate::bench::tui(&url, agent).await?;
            show(crate::bench::tui_table(&b), serde_json::to_value(&b));
        }
        BenchCommand::Agents {
            agents,
            seconds,
            pool,
            think_ms,
        } => {
            let url = explicit_db.unwrap_or_else(default_demo_db);
            let agent =
                matches!(url, DbUrl::Sqlite(_)).then(|| g.agent.as_deref().unwrap_or("alice"));
            let b = crate::bench::agents::run(&url, agent, agents, seconds, pool, think_ms).await?;
            show(crate::bench::agents::table(&b), serde_json::to_value(&b));
            if b.errors > 0 || b.double_credits > 0 || !b.audit_valid {
                return Err(Error::Partial(format!(
                    "the load left {} errors, {} double credits, audit chain {}",
                    b.errors,
                    b.double_credits,
                    if b.audit_valid { "valid" } else { "broken" }
                )));
            }
        }
    }
    Ok(())
}

/// Builds the demo; returns the login it registered as the supervisor who ran it.
async fn demo(url: DbUrl, agent: Option<&str>, format: Format, args: DemoArgs) -> Result<String> {
    if args.accounts == 0 {
        return Err(Error::invalid("--accounts must be at least 1"));
    }
    if let DbUrl::Sqlite(path) = &url {
        clear_old_demo(path).await?;
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
    let summary = crate::demo::build(&svc, args.accounts, args.seed, &admin, bar.as_ref()).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let elapsed = started.elapsed();
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
    let db_arg = url.display();
    text.push_str(&format!(
        "  try: caredesk --db {db_arg} lookup nunez   |   caredesk --db {db_arg} show 310000001\n"
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
    );
    Ok(admin)
}

async fn migrate(url: &DbUrl, backup_taken: bool, format: Format) -> Result<()> {
    let svc = open(url, OpenMode::Raw).await?;
    let pending = with_store!(svc.store(), s => s.pending_migrations().await)?;
    if pending.is_empty() {
        print(
            format,
            "the database is up to date\n".to_string(),
            json!({"applied": 0, "backup": null}),
        );
        return Ok(());
    }
    let holds = with_store!(svc.store(), s => s.holds_data().await)?;
    let mut backup = None;
    if holds {
        match url {
            DbUrl::Sqlite(path) => {
                let stamp = svc.now().format("%Y%m%dT%H%M%SZ");
                let mut target = path.as_os_str().to_owned();
                target.push(format!(".pre-migrate-{stamp}.bak"));
                let target = PathBuf::from(target);
                with_store!(svc.store(), s => s.backup_to(&target).await)?;
                backup = Some(target);
            }
            DbUrl::Postgres(_) if !backup_taken => {
                return Err(Error::refused(
                    "this PostgreSQL database holds data; back it up (pg_dump) and run again with --backup-taken",
                ));
            }
            DbUrl::Postgres(_) => {}
        }
    }
    with_store!(svc.store(), s => s.migrate().await)?;
    let text = match &backup {
        Some(b) => format!(
            "backed up to {}; applied {} migration(s)\n",
            b.display(),
            pending.len()
        ),
        None => format!("applied {} migration(s)\n", pending.len()),
    };
    print(
        format,
        text,
        json!({"applied": pending.len(), "backup": backup}),
    );
    Ok(())
}

fn credit_json(c: &crate::store::Credit) -> serde_json::Value {
    json!({
        "credit_id": c.id,
        "account_no": c.account_no,
        "incident": c.incident,
        "kind": c.kind,
        "amount_cents": c.amount_cents,
        "currency": c.currency,
        "agent": c.agent,
        "approver": c.approver,
        "reason": c.reason,
        "batch_run_id": c.batch_run_id,
        "created_at": c.created_at,
        "reverses": c.reverses,
    })
}

fn outcome_print(format: Format, o: &crate::store::CreditOutcome) {
    let c = o.credit();
    let amount = crate::domain::format_cents(c.amount_cents, &c.currency);
    let text = if o.is_new() {
        format!(
            "credited {amount} ({} credit #{}) to account {}\n",
            c.kind, c.id, c.account_no
        )
    } else {
        format!(
            "already credited: account {} holds {} credit #{} of {amount} from {}; nothing changed\n",
            c.account_no,
            c.kind,
            c.id,
            c.created_at.format("%Y-%m-%d %H:%M")
        )
    };
    let mut v = credit_json(c);
    v["result"] = json!(if o.is_new() {
        "credited"
    } else {
        "already-credited"
    });
    print(format, text, v);
}

fn parse_since(since: Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    since
        .map(|s| {
            crate::import::parse_time(&s).ok_or_else(|| {
                Error::invalid(format!(
                    "--since \"{}\" is not a time (RFC 3339 or YYYY-MM-DD)",
                    output::clean(&s)
                ))
            })
        })
        .transpose()
}

pub use crate::output::neutralise_cell;

async fn credit_command(
    svc: &Service,
    actor: &crate::store::Actor,
    format: Format,
    command: CreditCommand,
) -> Result<()> {
    use crate::service::credit::IncidentCredit;
    match command {
        CreditCommand::Apply {
            account,
            incident,
            dry_run,
        } => match svc
            .credit_apply(actor, &account, incident.as_deref(), dry_run)
            .await?
        {
            IncidentCredit::Applied(o) => outcome_print(format, &o),
            IncidentCredit::WouldCredit {
                account_no,
                amount_cents,
                currency,
            } => print(
                format,
                format!(
                    "would credit {} to account {account_no} (dry run: nothing written)\n",
                    crate::domain::format_cents(amount_cents, &currency)
                ),
                json!({"result": "would-credit", "account_no": account_no, "amount_cents": amount_cents, "currency": currency, "dry_run": true}),
            ),
            IncidentCredit::WouldFindCredited(c) => {
                let mut v = credit_json(&c);
                v["result"] = json!("already-credited");
                v["dry_run"] = json!(true);
                print(
                    format,
                    format!(
                        "account {} already holds incident credit #{}; nothing to do\n",
                        c.account_no, c.id
                    ),
                    v,
                );
            }
        },
        CreditCommand::Request {
            account,
            reason,
            incident,
        } => {
            let (r, new) = match svc
                .credit_request(actor, &account, incident.as_deref(), &reason)
                .await?
            {
                crate::store::RequestOutcome::Requested(r) => (r, true),
                crate::store::RequestOutcome::AlreadyRequested(r) => (r, false),
            };
            let text = if new {
                format!(
                    "requested {} appreciation credit (request #{}); a supervisor other than you must approve it\n",
                    crate::domain::format_cents(r.amount_cents, "USD"),
                    r.id
                )
            } else {
                format!("already requested (request #{}); nothing changed\n", r.id)
            };
            print(
                format,
                text,
                json!({"request_id": r.id, "result": if new { "requested" } else { "already-requested" }, "amount_cents": r.amount_cents, "requested_by": r.requested_by, "credit_id": r.credit_id}),
            );
        }
        CreditCommand::Approve { request_id } => {
            outcome_print(format, &svc.credit_approve(actor, request_id).await?)
        }
        CreditCommand::Goodwill {
            account,
            amount,
            reason,
            key,
            incident,
        } => {
            let amount = crate::domain::Cents::parse(&amount).map_err(Error::invalid)?;
            outcome_print(
                format,
                &svc.credit_goodwill(
                    actor,
                    &account,
                    incident.as_deref(),
                    amount,
                    &reason,
                    key.as_deref(),
                )
                .await?,
            );
        }
        CreditCommand::GoodwillCap { amount } => {
            if let Some(a) = amount {
                let cap = crate::domain::Cents::parse(&a).map_err(Error::invalid)?;
                svc.set_goodwill_cap(actor, cap).await?;
            }
            let cap = svc.goodwill_cap().await?;
            print(
                format,
                format!("goodwill cap: {}\n", crate::domain::Cents(cap)),
                json!({"goodwill_cap_cents": cap}),
            );
        }
        CreditCommand::Reverse { credit_id, reason } => outcome_print(
            format,
            &svc.credit_reverse(actor, credit_id, &reason).await?,
        ),
        CreditCommand::Export { since } => {
            let since = parse_since(since)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let io = |e: std::io::Error| Error::io("cannot write the export", e);
            match format {
                Format::Json => {
                    // One object with results[], streamed so a million credits never sit in memory.
                    out.write_all(b"{\"results\":[").map_err(io)?;
                    let mut first = true;
                    svc.credit_export(actor, since, |c| {
                        if !first {
                            out.write_all(b",").map_err(io)?;
                        }
                        first = false;
                        let v = json!({"credit_id": c.id, "account_no": c.account_no, "incident": c.incident, "kind": c.kind,
                            "amount_cents": c.amount_cents, "currency": c.currency, "created_at": c.created_at, "reverses": c.reverses});
                        out.write_all(output::json_text(&v).as_bytes()).map_err(io)
                    })
                    .await?;
                    out.write_all(b"]}\n").map_err(io)?;
                }
                Format::Text | Format::Csv => {
                    let mut w = csv::Writer::from_writer(out);
                    let cerr = |e: csv::Error| match e.into_kind() {
                        csv::ErrorKind::Io(e) => Error::io("cannot write the export", e),
                        other => Error::System(format!("cannot write the export: {other:?}")),
                    };
                    w.write_record([
                        "credit_id",
                        "account_no",
                        "incident",
                        "kind",
                        "amount_cents",
                        "currency",
                        "created_at",
                        "reverses",
                    ])
                    .map_err(cerr)?;
                    svc.credit_export(actor, since, |c| {
                        w.write_record([
                            c.id.to_string(),
                            neutralise_cell(&c.account_no).into_owned(),
                            neutralise_cell(&c.incident).into_owned(),
                            c.kind.as_str().to_string(),
                            c.amount_cents.to_string(),
                            neutralise_cell(&c.currency).into_owned(),
                            c.created_at
                                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                            c.reverses.map(|r| r.to_string()).unwrap_or_default(),
                        ])
                        .map_err(cerr)
                    })
                    .await?;
                    w.flush().map_err(io)?;
                }
            }
        }
        CreditCommand::Run(args) => credit_run(svc, actor, format, args).await?,
    }
    Ok(())
}

async fn credit_run(
    svc: &Service,
    actor: &crate::store::Actor,
    format: Format,
    args: RunArgs,
) -> Result<()> {
    use crate::service::batch::{RunRequest, parse_shard};
    let shard = args
        .shard
        .as_deref()
        .map(parse_shard)
        .transpose()?
        .unwrap_or((0, 1));
    let accounts = match &args.accounts {
        Some(path) => Some((path.display().to_string(), crate::import::read_input(path)?)),
        None => None,
    };
    let req = RunRequest {
        incident: args.incident.clone(),
        accounts,
        apply: args.apply,
        chunk: args.chunk,
        shard,
        max_total_cents: args.max_total_cents,
        skip_invalid: args.skip_invalid,
    };
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(if args.apply {
                "crediting {bar:40} {pos}/{len} accounts ({eta})"
            } else {
                "planning {bar:40} {pos}/{len} accounts ({eta})"
            })
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let result = svc
        .credit_run(actor, &req, &progress, &cancel, args.report.as_deref())
        .await;
    watcher.abort();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let s = result?;
    let t = &s.tally;
    let money = |c: i64| crate::domain::format_cents(c, "USD");
    let text = format!(
        "{} {}{}: selected {}, {} {}, already credited {}, ineligible {}, invalid {}, failed {}, total {}\n",
        if s.applied { "run" } else { "plan for" },
        s.run_id.map(|r| format!("#{r} ")).unwrap_or_default(),
        s.incident,
        t.selected,
        if s.applied {
            "credited"
        } else {
            "would credit"
        },
        t.credited,
        t.already_credited,
        t.ineligible,
        t.invalid,
        t.failed,
        money(t.total_cents),
    ) + if s.applied {
        ""
    } else {
        "(a plan: nothing was written; add --apply to credit)\n"
    };
    print(format, text, serde_json::to_value(&s).unwrap_or_default());
    if t.failed > 0 {
        return Err(Error::Partial(format!(
            "{} account(s) could not be credited; see --report for which and why",
            t.failed
        )));
    }
    Ok(())
}

fn print_mask_policy(
    format: Format,
    policy: &crate::domain::MaskPolicy,
    changed: bool,
) -> Result<()> {
    let roles: Vec<&str> = policy.roles().iter().map(|r| r.as_str()).collect();
    let who = if roles.is_empty() {
        "no role".to_string()
    } else {
        roles.join(", ")
    };
    let text = if changed {
        format!("customers are now masked for: {who} (in sessions opened from now on)\n")
    } else {
        format!("customers are masked for: {who}\n")
    };
    print(
        format,
        text,
        json!({"masked_roles": roles, "changed": changed}),
    );
    Ok(())
}
