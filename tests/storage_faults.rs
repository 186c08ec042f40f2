//! What the database's own failures look like to an operator: each is one sentence naming the
//! database and saying what to do, never the driver's text ("(code: 5) database is locked",
//! "expected to read 5 bytes, got 0 bytes at EOF", "… at line 3655"); a disk that fills
//! mid-build or mid-run leaves something rebuildable or resumable; the distribution's own
//! `sqlite3` can fix a record by hand.

mod common;

use common::faults::{
    Unprivileged, files_in, run, sqlite_at_migration, sqlite_migrations_after, starved,
};
use common::{TestDb, cli, json_of, outcome};

/// Driver phrasing that must never reach an operator.
fn assert_no_driver_text(err: &str) {
    for raw in [
        "(code:",
        "error returned from database",
        "expected to read",
        " at line ",
        "error communicating with database",
    ] {
        assert!(!err.contains(raw), "driver text {raw:?} in: {err}");
    }
}

/// One line on stderr (the sentence), naming the database file.
fn one_sentence_naming(err: &str, name: &str) {
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one sentence: {err}");
    assert!(err.contains(name), "names {name}: {err}");
    assert_no_driver_text(err);
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(200)).expect("write");
    let url = format!("sqlite:{}", path.display());
    let (code, _, err) = outcome(cli(&url, Some("alice")).args(["lookup", "ann"]));
    assert_eq!(code, 1, "{err}");
    one_sentence_naming(&err, &path.display().to_string());
    assert!(err.contains("is not a caredesk database"), "{err}");
    // Nothing was written over it.
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .starts_with("these are my notes")
    );
}

#[test]
fn a_truncated_database_is_called_damaged_with_what_to_do() {
    let d = TestDb::sqlite_demo(300, None);
    let path = d.sqlite_path();
    let len = std::fs::metadata(path).expect("size").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    f.set_len(len / 3).expect("truncate");
    drop(f);
    let (code, _, err) = outcome(cli(&d.url_text, Some("sofia")).args(["audit", "verify"]));
    assert_eq!(code, 1, "{err}");
    one_sentence_naming(&err, &path.display().to_string());
    assert!(
        err.contains("is damaged") && err.contains("backup"),
        "{err}"
    );
}

#[test]
fn a_locked_database_says_so_and_how_long_to_wait() {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let d = TestDb::new().await;
        d.demo_by_binary(20);
        // Another session holds the write lock (an operator's open transaction).
        let holder = d.service(common::clock()).await;
        let mut tx = match holder.store() {
            caredesk::store::Store::Sqlite(s) => {
                let mut c = s.pool().acquire().await.expect("connection");
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut *c)
                    .await
                    .expect("lock");
                Lock::Sqlite(c)
            }
            caredesk::store::Store::Postgres(s) => {
                let mut c = s.pool().acquire().await.expect("connection");
                sqlx::query("BEGIN").execute(&mut *c).await.expect("begin");
                sqlx::query("LOCK TABLE audit_head IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut *c)
                    .await
                    .expect("lock");
                Lock::Postgres(c)
            }
        };
        let (code, _, err) = outcome(d.cli().env("CAREDESK_LOCK_TIMEOUT", "1").args([
            "note",
            "310000001",
            "called back",
        ]));
        assert_eq!(code, 1, "{err}");
        let name = match &d.url {
            caredesk::store::DbUrl::Sqlite(p) => p.display().to_string(),
            caredesk::store::DbUrl::Postgres(_) => d.pg_name().to_string(),
        };
        one_sentence_naming(&err, &name);
        assert!(
            err.contains("is locked by another") && err.contains("CAREDESK_LOCK_TIMEOUT"),
            "{err}"
        );
        tx.release().await;
        drop(tx);
        holder.close().await;
        d.cli()
            .args(["note", "310000001", "called back"])
            .assert()
            .success();
        d.cleanup().await;
    });
}

enum Lock {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl Lock {
    async fn release(&mut self) {
        match self {
            Lock::Sqlite(c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut **c)
                    .await
                    .expect("unlock");
            }
            Lock::Postgres(c) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut **c)
                    .await
                    .expect("unlock");
            }
        }
    }
}

#[test]
fn a_read_only_folder_still_serves_lookups_and_says_why_it_cannot_write() {
    use std::os::unix::fs::PermissionsExt;
    let d = TestDb::sqlite_demo(30, None);
    let dir = d.dir().to_path_buf();
    // Readable by anyone (the binary may run as `nobody`), writable by no one.
    std::fs::set_permissions(d.sqlite_path(), std::fs::Permissions::from_mode(0o644))
        .expect("chmod file");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod dir");
    let before = files_in(&dir);
    let nobody = Unprivileged::new();

    let (code, out, err) = run(nobody
        .cli(&d.url_text)
        .args(["--agent", "alice", "--format", "json", "lookup", "nunez"]));
    assert_eq!(code, 0, "a lookup needs no write: {err}");
    assert!(out.contains("310000001"), "{out}");

    let (code, _, err) =
        run(nobody
            .cli(&d.url_text)
            .args(["--agent", "alice", "note", "310000001", "called back"]));
    assert_eq!(code, 1, "{err}");
    let sentence = err
        .lines()
        .find(|l| l.starts_with("caredesk:"))
        .expect("the error line");
    one_sentence_naming(sentence, &d.sqlite_path().display().to_string());
    assert!(
        sentence.contains("cannot be written") && sentence.contains("read-only"),
        "{err}"
    );
    assert_eq!(files_in(&dir), before, "nothing was created beside it");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

#[test]
fn a_dropped_postgres_connection_is_told_as_lost_not_as_bytes_at_eof() {
    let Some(base) = common::pg_base() else {
        eprintln!("skipped: CAREDESK_TEST_PG is not set (this test needs PostgreSQL)");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let d = TestDb::postgres(&base).await;
        let svc = d.service(common::clock()).await;
        let caredesk::store::Store::Postgres(s) = svc.store() else {
            panic!("PostgreSQL")
        };
        let mut conn = s.pool().acquire().await.expect("connection");
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .expect("pid");
        let mut admin = sqlx::PgConnection::connect(&base).await.expect("admin");
        let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .fetch_one(&mut admin)
            .await
            .expect("terminate");
        assert!(ended);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let e = sqlx::query("SELECT 1")
            .execute(&mut *conn)
            .await
            .expect_err("the connection is gone");
        let raw = e.to_string();
        let told = caredesk::Error::from(e)
            .on_database(&d.url.display())
            .to_string();
        assert!(
            told.contains("the connection to the database")
                && told.contains(d.pg_name())
                && told.contains("run the command again"),
            "{told} (driver: {raw})"
        );
        assert_no_driver_text(&told);
        drop(conn);
        admin.close().await.ok();
        svc.close().await;
        d.cleanup().await;
    });
}

#[test]
fn a_postgres_refusal_carries_no_server_source_line() {
    let Some(base) = common::pg_base() else {
        eprintln!("skipped: CAREDESK_TEST_PG is not set (this test needs PostgreSQL)");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let d = TestDb::postgres(&base).await;
        d.demo_by_binary(5);
        let svc = d.service(common::clock()).await;
        let caredesk::store::Store::Postgres(s) = svc.store() else {
            panic!("PostgreSQL")
        };
        let e = sqlx::query("UPDATE credits SET amount_cents = 0")
            .execute(s.pool())
            .await
            .expect_err("append-only");
        assert!(
            e.to_string().contains(" at line "),
            "the driver's text: {e}"
        );
        let told = caredesk::Error::from(e)
            .on_database(&d.url.display())
            .to_string();
        assert!(told.contains("the credit ledger is append-only"), "{told}");
        assert_no_driver_text(&told);
        svc.close().await;
        d.cleanup().await;
    });
}

#[test]
fn a_demo_that_failed_half_way_is_rebuilt() {
    for killed in [false, true] {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("demo.db");
        let url = format!("sqlite:{}", path.display());
        // The schema and the demo's first transaction fit; its accounts do not.
        let (code, _, err) = run(&mut starved(
            &url,
            &["--agent", "sofia", "demo", "--no-tui", "--accounts", "3000"],
            600_000,
            killed,
        ));
        if killed {
            assert_eq!(code, -25, "killed by SIGXFSZ: {err}");
        } else {
            assert_eq!(code, 1, "{err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert_no_driver_text(&err);
        }
        assert!(path.exists());
        // Not a demo anyone could use (no agents), but one `demo` knows it may rebuild.
        let (code, _, err) = outcome(cli(&url, Some("sofia")).args(["agent", "list"]));
        assert_ne!(code, 0, "{err}");
        let v = json_of(cli(&url, Some("sofia")).args(["demo", "--no-tui", "--accounts", "12"]));
        assert_eq!(v["summary"]["accounts"], 12, "{v}");
        let v = json_of(cli(&url, Some("alice")).args(["lookup", "310000001"]));
        assert_eq!(v["results"][0]["account_no"], "310000001");
    }
}

#[test]
fn a_batch_run_that_fails_on_a_full_disk_says_how_to_resume_and_resumes() {
    let d = TestDb::sqlite_demo(400, Some("sofia"));
    let size = std::fs::metadata(d.sqlite_path()).expect("size").len();
    // Room for the run's first writes to the log (the -wal file), not for all of them.
    let (code, _, err) = run(&mut starved(
        &d.url_text,
        &[
            "--agent", "sofia", "credit", "run", "--apply", "--chunk", "20",
        ],
        160_000,
        false,
    ));
    assert!(size > 160_000, "the database is larger than the limit");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("running the same command again resumes it")
            && err.contains(&d.sqlite_path().display().to_string()),
        "{err}"
    );
    assert_no_driver_text(&err);
    let v = json_of(
        cli(&d.url_text, Some("sofia")).args(["credit", "run", "--apply", "--chunk", "20"]),
    );
    assert_eq!(v["resumed"], true, "{v}");
    let t = &v;
    let selected = t["selected"].as_i64().expect("selected");
    let sum: i64 = [
        "credited",
        "already_credited",
        "ineligible",
        "invalid",
        "failed",
    ]
    .iter()
    .map(|k| t[k].as_i64().expect("count"))
    .sum();
    assert_eq!(selected, sum, "the run reconciles: {v}");
    assert_eq!(v["ledger_total_cents"], t["total_cents"], "{v}");
}

#[test]
fn init_leaves_its_supervisor_in_the_database_file_itself() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("care.db");
    let url = format!("sqlite:{}", path.display());
    cli(&url, None)
        .args(["init", "--admin", "ops"])
        .assert()
        .success();
    // Copying the file alone (no -wal beside it) keeps the first supervisor.
    let copy_dir = tempfile::tempdir().expect("dir");
    let copy = copy_dir.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copy");
    let v =
        json_of(cli(&format!("sqlite:{}", copy.display()), Some("ops")).args(["agent", "list"]));
    assert_eq!(v["results"][0]["login"], "ops", "{v}");
}

/// Whether the distribution's `sqlite3` is here; `CAREDESK_REQUIRE_SQLITE3=1` (CI) makes its
/// absence a failure.
fn system_sqlite3() -> bool {
    let found = std::process::Command::new("sqlite3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CAREDESK_REQUIRE_SQLITE3").is_none(),
            "CAREDESK_REQUIRE_SQLITE3 is set but there is no sqlite3 on PATH"
        );
        eprintln!("skipped: no sqlite3 on PATH (apt-get install sqlite3)");
    }
    found
}

fn sqlite3(path: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(
        out.status.success(),
        "sqlite3 {}: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_distributions_sqlite3_fixes_a_record_and_the_search_follows() {
    if !system_sqlite3() {
        return;
    }
    let d = TestDb::sqlite_demo(50, None);
    let path = d.sqlite_path();
    let version = sqlite3(path, "SELECT sqlite_version()");
    eprintln!("the system's sqlite3: {}", version.trim());
    // An operator renames the showcase account and changes its e-mail and phone by hand.
    sqlite3(
        path,
        "UPDATE accounts SET name = 'Zébulon Quux', name_norm = 'zebulon quux', \
         email = 'zq@example.org', msisdn = '+12065559876' WHERE account_no = '310000001'",
    );
    assert_eq!(
        sqlite3(
            path,
            "INSERT INTO accounts_fts (accounts_fts) VALUES ('integrity-check'); SELECT 'ok'"
        )
        .trim(),
        "ok"
    );
    let found = |q: &str| -> Vec<String> {
        let v = json_of(cli(&d.url_text, Some("alice")).args(["lookup", q]));
        v["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["account_no"].as_str().expect("no").to_string())
            .collect()
    };
    assert!(found("quux").contains(&"310000001".to_string()));
    assert!(found("zebul").contains(&"310000001".to_string()));
    assert!(found("zq@example").contains(&"310000001".to_string()));
    assert!(found("555-9876").contains(&"310000001".to_string()));
    assert!(!found("nunez").contains(&"310000001".to_string()));
    // And the way back, by caredesk itself, is searchable from sqlite3.
    assert_eq!(
        sqlite3(
            path,
            "SELECT a.account_no FROM accounts_fts f JOIN accounts a ON a.id = f.rowid WHERE accounts_fts MATCH 'quux'"
        )
        .trim(),
        "310000001"
    );
}

#[test]
fn a_database_with_the_first_search_index_is_migrated_to_one_sqlite3_reads() {
    let dir = tempfile::tempdir().expect("dir");
    let path = sqlite_at_migration(&dir.path().join("old.db"), 12);
    let url = format!("sqlite:{}", path.display());
    // Accounts indexed the first way (with diacritics in the name, folded by the index).
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open");
        for (i, (name, norm, email)) in [
            ("José Núñez", "jose nunez", "jnunez@example.net"),
            ("Ann Lee", "ann lee", "ann.lee@example.net"),
        ]
        .into_iter()
        .enumerate()
        {
            sqlx::query("INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, created_at) VALUES ($1, $2, $3, $4, $5, 'active', '2009-10-01T00:00:00+00:00')")
                .bind(format!("31000000{}", i + 1))
                .bind(format!("+1206555012{i}"))
                .bind(name)
                .bind(norm)
                .bind(email)
                .execute(&mut c)
                .await
                .expect("account");
        }
        c.close().await.ok();
    });
    let v = json_of(cli(&url, Some("ops")).args(["db", "migrate"]));
    assert_eq!(v["applied"], sqlite_migrations_after(12), "{v}");
    let v = json_of(cli(&url, Some("ops")).args(["lookup", "núñ"]));
    assert_eq!(v["results"][0]["account_no"], "310000001", "{v}");
    let v = json_of(cli(&url, Some("ops")).args(["lookup", "lee@ex"]));
    assert_eq!(v["results"][0]["account_no"], "310000002", "{v}");
    if system_sqlite3() {
        sqlite3(
            &path,
            "UPDATE accounts SET name = 'Ann Leigh', name_norm = 'ann leigh' WHERE account_no = '310000002'",
        );
        let v = json_of(cli(&url, Some("ops")).args(["lookup", "leigh"]));
        assert_eq!(v["results"][0]["account_no"], "310000002", "{v}");
    }
}

#[test]
fn a_postgres_demo_that_stopped_half_way_is_named_not_built_over() {
    let Some(base) = common::pg_base() else {
        eprintln!("skipped: CAREDESK_TEST_PG is not set (this test needs PostgreSQL)");
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let d = TestDb::postgres(&base).await;
        // A build that stopped after its first transaction: the incident and the mark.
        let svc = d.service(common::clock()).await;
        let caredesk::store::Store::Postgres(s) = svc.store() else {
            panic!("PostgreSQL")
        };
        s.demo_start(&[caredesk::demo::incident().expect("the demo's incident")])
            .await
            .expect("first transaction");
        svc.close().await;
        let (code, _, err) = outcome(d.cli().args(["demo", "--no-tui", "--accounts", "5"]));
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("stopped half-way") && err.contains("dropdb"),
            "{err}"
        );
        d.cleanup().await;
    });
}
