//! Backups on both backends (SPEC.md §5): `db backup` and the backup `db migrate` takes are
//! whole or absent, never a file that looks whole but is not; into a missing folder they name
//! it; on PostgreSQL they are pg_dump custom-format archives (or the exact command to run where
//! pg_dump is not installed), `--backup-taken FILE` is checked, and a database restored with
//! pg_restore passes `audit verify` and serves lookups and credits.

mod common;

use std::path::Path;

use common::faults::{files_in, run, sqlite_at_migration, starved};
use common::{TestDb, cli, json_of, outcome};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("rt")
}

fn starts_with_pgdmp(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"PGDMP"))
}

#[test]
fn a_backup_into_a_missing_folder_names_the_folder() {
    rt().block_on(async {
        let d = TestDb::new().await;
        d.demo_by_binary(5);
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("no-such-folder");
        let (code, _, err) = outcome(
            d.cli()
                .args(["db", "backup"])
                .arg(missing.join("care.backup")),
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&format!(
                "the directory {} does not exist",
                missing.display()
            )),
            "{err}"
        );
        assert!(!missing.exists(), "no folder was made");
        d.cleanup().await;
    });
}

#[test]
fn a_backup_on_a_full_disk_leaves_nothing_that_looks_like_one() {
    let d = TestDb::sqlite_demo(300, None);
    let out = tempfile::tempdir().expect("dir");
    let target = out.path().join("care.bak");
    let size = std::fs::metadata(d.sqlite_path()).expect("size").len();
    let limit = size / 2;
    assert!(limit > 64 * 1024, "room for the -shm file: {size}");
    // The write fails: reported, and the partial copy removed.
    let (code, _, err) = run(&mut starved(
        &d.url_text,
        &[
            "--agent",
            "sofia",
            "db",
            "backup",
            &target.display().to_string(),
        ],
        limit,
        false,
    ));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot write the backup"), "{err}");
    assert!(
        files_in(out.path()).is_empty(),
        "{:?}",
        files_in(out.path())
    );
    // Killed mid-copy: only a `.partial` may stay behind, never the name asked for.
    let (code, _, err) = run(&mut starved(
        &d.url_text,
        &[
            "--agent",
            "sofia",
            "db",
            "backup",
            &target.display().to_string(),
        ],
        limit,
        true,
    ));
    assert_eq!(code, -25, "killed by SIGXFSZ: {err}");
    assert!(!target.exists());
    assert!(
        files_in(out.path()).iter().all(|f| f.contains(".partial")),
        "{:?}",
        files_in(out.path())
    );
    // The next backup to the same name succeeds (the stale partial is replaced).
    cli(&d.url_text, Some("sofia"))
        .args(["db", "backup"])
        .arg(&target)
        .assert()
        .success();
    assert_eq!(files_in(out.path()), vec!["care.bak".to_string()]);
    let v = json_of(
        cli(&format!("sqlite:{}", target.display()), Some("alice")).args(["show", "310000001"]),
    );
    assert_eq!(v["account_no"], "310000001");
}

#[test]
fn a_migration_whose_backup_fails_migrates_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = sqlite_at_migration(&dir.path().join("old.db"), 1);
    let url = format!("sqlite:{}", path.display());
    // Some data, so the copy is larger than the room left on the "disk".
    let rt = rt();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.expect("open");
        sqlx::query(
            "WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 3000) \
             INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, created_at) \
             SELECT 320000000 + value, '+1425555' || printf('%04d', value), 'Filler ' || value, 'filler ' || value, '', 'active', '2009-10-01T00:00:00+00:00' \
             FROM n",
        )
        .execute(&mut c)
        .await
        .expect("accounts");
        c.close().await.ok();
    });
    let size = std::fs::metadata(&path).expect("size").len();
    for killed in [false, true] {
        let (code, _, err) = run(&mut starved(
            &url,
            &["--agent", "ops", "db", "migrate"],
            size / 2,
            killed,
        ));
        if killed {
            assert_eq!(code, -25, "killed by SIGXFSZ: {err}");
        } else {
            assert_eq!(code, 1, "{err}");
            assert!(
                err.contains("the backup failed; nothing was migrated"),
                "{err}"
            );
        }
        let names = files_in(dir.path());
        assert!(
            !names.iter().any(|f| f.ends_with(".bak")),
            "no backup that looks whole: {names:?}"
        );
        if !killed {
            assert!(
                !names.iter().any(|f| f.contains(".partial")),
                "the partial copy is removed: {names:?}"
            );
        }
        // Still at the first migration: every command asks for `db migrate`.
        let (code, _, err) = outcome(cli(&url, Some("ops")).args(["agent", "list"]));
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("caredesk db migrate"), "{err}");
    }
    let v = json_of(cli(&url, Some("ops")).args(["db", "migrate"]));
    let backup = v["backup"].as_str().expect("a backup");
    assert!(
        backup.ends_with(".bak") && Path::new(backup).exists(),
        "{v}"
    );
    cli(&url, Some("ops"))
        .args(["agent", "list"])
        .assert()
        .success();
}

#[test]
fn backup_taken_is_for_postgresql() {
    let dir = tempfile::tempdir().expect("dir");
    let path = sqlite_at_migration(&dir.path().join("old.db"), 1);
    let url = format!("sqlite:{}", path.display());
    let (code, _, err) =
        outcome(cli(&url, Some("ops")).args(["db", "migrate", "--backup-taken", "x.dump"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--backup-taken applies to PostgreSQL"),
        "{err}"
    );
}

/// A directory holding everything on PATH but pg_dump and pg_restore: caredesk as on a
/// machine without the PostgreSQL client tools.
fn path_without_pg_tools() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("dir");
    for tool in ["bash", "sh", "cat", "env"] {
        if let Ok(p) = which(tool) {
            let _ = std::os::unix::fs::symlink(p, dir.path().join(tool));
        }
    }
    let path = dir.path().display().to_string();
    (dir, path)
}

fn which(tool: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(tool))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

#[test]
fn postgres_is_backed_up_with_pg_dump_and_restored_whole_with_pg_restore() {
    let Some(base) = common::pg_base() else {
        eprintln!("skipped: CAREDESK_TEST_PG is not set (this test needs PostgreSQL)");
        return;
    };
    rt().block_on(async {
        let d = TestDb::postgres(&base).await;
        d.demo_by_binary(40);
        // A credit and the groups' grants, to see both come back.
        d.cli()
            .args(["credit", "apply", "310000001"])
            .assert()
            .success();
        d.cli().args(["db", "grant"]).assert().success();
        let out = tempfile::tempdir().expect("dir");
        let file = out.path().join("care.dump");

        // Without pg_dump: refused with the command to run.
        let (_keep, bare_path) = path_without_pg_tools();
        let (code, _, err) = outcome(
            d.cli()
                .env("PATH", &bare_path)
                .args(["db", "backup"])
                .arg(&file),
        );
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains(&format!(
                "pg_dump --format=custom --file={} '{}'",
                file.display(),
                d.url_text
            )),
            "{err}"
        );
        assert!(!file.exists());

        // With pg_dump: a custom-format archive, under its name only once whole.
        let v = json_of(d.cli().args(["db", "backup"]).arg(&file));
        assert_eq!(v["backup"], file.display().to_string());
        assert!(starts_with_pgdmp(&file));
        assert_eq!(files_in(out.path()), vec!["care.dump".to_string()]);

        // Restored into a new database, as docs/operations.md says.
        let r = TestDb::postgres(&base).await;
        let status = std::process::Command::new("pg_restore")
            .arg(format!("--dbname={}", r.url_text))
            .arg("--exit-on-error")
            .arg(&file)
            .status()
            .expect("pg_restore");
        assert!(status.success(), "pg_restore");
        r.cli().args(["db", "grant"]).assert().success();
        r.cli().args(["db", "optimize"]).assert().success();
        let v = json_of(r.cli().args(["audit", "verify"]));
        assert_eq!(v["valid"], true, "{v}");
        let v = json_of(r.cli().args(["lookup", "nunez"]));
        assert_eq!(v["results"][0]["account_no"], "310000001", "{v}");
        let v = json_of(r.cli().args(["credit", "apply", "310000001"]));
        assert_eq!(v["result"], "already-credited", "the ledger came back: {v}");
        let owed = (2..40)
            .map(|i| format!("3100000{i:02}"))
            .find(|no| {
                let out = r
                    .cli()
                    .args(["--format", "json", "credit", "apply", no, "--dry-run"])
                    .output()
                    .expect("run");
                String::from_utf8_lossy(&out.stdout).contains("would-credit")
            })
            .expect("an account owed the credit");
        let v = json_of(r.cli().args(["credit", "apply", &owed]));
        assert_eq!(v["result"], "credited", "{v}");
        let v = json_of(r.cli().args(["audit", "verify"]));
        assert_eq!(v["valid"], true, "{v}");
        // The append-only triggers and the groups' grants came back too.
        let svc = r.service(common::clock()).await;
        let caredesk::store::Store::Postgres(s) = svc.store() else {
            panic!("PostgreSQL")
        };
        let e = sqlx::query("DELETE FROM credits")
            .execute(s.pool())
            .await
            .expect_err("append-only");
        assert!(e.to_string().contains("append-only"), "{e}");
        let grantees: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT grantee::text FROM information_schema.role_table_grants WHERE table_name = 'accounts'",
        )
        .fetch_all(s.pool())
        .await
        .expect("grants");
        assert!(
            grantees.contains(&format!("{}_operator", r.pg_name())),
            "{grantees:?}"
        );
        svc.close().await;
        r.cleanup().await;
        d.cleanup().await;
    });
}

#[test]
fn postgres_migrates_behind_a_dump_it_takes_or_one_it_is_shown() {
    let Some(base) = common::pg_base() else {
        eprintln!("skipped: CAREDESK_TEST_PG is not set (this test needs PostgreSQL)");
        return;
    };
    rt().block_on(async {
        use sqlx::Connection;
        let d = TestDb::postgres(&base).await;
        let other = TestDb::postgres(&base).await;
        // Both as the first release left them: the first migration, and a supervisor.
        let first = tempfile::tempdir().expect("dir");
        std::fs::copy(
            "migrations/postgres/0001_schema.sql",
            first.path().join("0001_schema.sql"),
        )
        .expect("copy");
        for db in [&d, &other] {
            let mut c = sqlx::PgConnection::connect(&db.url_text).await.expect("open");
            sqlx::migrate::Migrator::new(first.path())
                .await
                .expect("migrator")
                .run(&mut c)
                .await
                .expect("migrate");
            sqlx::query("INSERT INTO agents (login, display_name, role, active, created_at) VALUES (CAST(session_user AS TEXT), 'ops', 'supervisor', true, now())")
                .execute(&mut c)
                .await
                .expect("agent");
            c.close().await.ok();
        }
        let home = tempfile::tempdir().expect("home");
        let (_keep, bare_path) = path_without_pg_tools();
        let work = tempfile::tempdir().expect("dir");

        // No pg_dump: refused, with the command and what to say afterwards.
        let (code, _, err) = outcome(
            d.cli()
                .env("HOME", home.path())
                .env("XDG_DATA_HOME", home.path())
                .env("PATH", &bare_path)
                .args(["db", "migrate"]),
        );
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("pg_dump --format=custom --file=") && err.contains("--backup-taken"),
            "{err}"
        );
        // --backup-taken is checked: not an archive, another database's, too old.
        let garbage = work.path().join("garbage.dump");
        std::fs::write(&garbage, "not a dump").expect("write");
        let other_dump = work.path().join("other.dump");
        let status = std::process::Command::new("pg_dump")
            .args(["--format=custom", &format!("--file={}", other_dump.display()), &other.url_text])
            .status()
            .expect("pg_dump");
        assert!(status.success());
        let old = work.path().join("old.dump");
        let mut bytes = std::fs::read(&other_dump).expect("read");
        patch_archive(&mut bytes, d.pg_name(), 2001);
        std::fs::write(&old, bytes).expect("write");
        for (file, says) in [
            (&garbage, "PGDMP"),
            (&other_dump, "is a dump of the database"),
            (&old, "more than 24 hours ago"),
            (&work.path().join("missing.dump"), "cannot read --backup-taken"),
        ] {
            let (code, _, err) = outcome(
                d.cli()
                    .env("PATH", &bare_path)
                    .args(["db", "migrate", "--backup-taken"])
                    .arg(file),
            );
            assert!(code == 2 || code == 1, "{err}");
            assert!(err.contains(says), "{says}: {err}");
        }
        // Nothing was migrated meanwhile.
        let (code, _, err) = outcome(d.cli().args(["agent", "list"]));
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("db migrate") && err.contains("pg_dump"),
            "the pending-migration message says how PostgreSQL is backed up: {err}"
        );

        // With pg_dump: it takes the dump itself, in the data folder, and says where.
        let v = json_of(
            d.cli()
                .env("HOME", home.path())
                .env("XDG_DATA_HOME", home.path())
                .args(["db", "migrate"]),
        );
        let dump = v["backup"].as_str().expect("backup").to_string();
        assert!(dump.starts_with(&home.path().display().to_string()), "{v}");
        assert!(starts_with_pgdmp(Path::new(&dump)), "{dump}");
        assert_eq!(v["backup_checked"], false);
        d.cli().args(["agent", "list"]).assert().success();

        // The other database migrates behind a dump the operator took and names.
        let own = work.path().join("own.dump");
        let status = std::process::Command::new("pg_dump")
            .args(["--format=custom", &format!("--file={}", own.display()), &other.url_text])
            .status()
            .expect("pg_dump");
        assert!(status.success());
        let v = json_of(
            other
                .cli()
                .env("PATH", &bare_path)
                .args(["db", "migrate", "--backup-taken"])
                .arg(&own),
        );
        assert_eq!(v["backup_checked"], true, "{v}");
        assert_eq!(v["backup"], own.display().to_string());
        other.cli().args(["agent", "list"]).assert().success();
        other.cleanup().await;
        d.cleanup().await;
    });
}

/// Rewrites a pg_dump 1.14 archive's header: another database name and year (the rest is
/// left as it was; only the header is read by the age and name checks).
fn patch_archive(bytes: &mut Vec<u8>, database: &str, year: i64) {
    assert!(bytes.starts_with(b"PGDMP"));
    let int_size = usize::from(bytes[8]);
    let version_1_15 = bytes[5] > 1 || (bytes[5] == 1 && bytes[6] >= 15);
    // magic, 3 version bytes, int size, offset size, format
    let mut at = 11;
    at += if version_1_15 { 1 } else { 1 + int_size };
    // tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year
    let year_at = at + 5 * (1 + int_size);
    let y = (year - 1900) as u32;
    bytes[year_at] = 0;
    bytes[year_at + 1..year_at + 1 + 4].copy_from_slice(&y.to_le_bytes());
    at += 7 * (1 + int_size);
    // the database name: its length, then its bytes
    let old_len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().expect("len")) as usize;
    let mut name = vec![0_u8];
    name.extend((database.len() as u32).to_le_bytes());
    name.extend(std::iter::repeat_n(0, int_size - 4));
    name.extend(database.as_bytes());
    bytes.splice(at..at + 1 + int_size + old_len, name);
}
