//! The command line through the real binary on SQLite: exit codes, JSON fields, and that bad
//! input writes nothing.

mod common;

/// The incident an operator's database starts with in these tests.
const INCIDENT_FILE: &str = "assets/incidents/danger-2009-10.toml";

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{TestDb, cli, json_of};
use serde_json::Value;

/// Counts rows of the tables a command could write, straight from the file.
fn counts(path: &Path) -> Vec<i64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
            .await
            .expect("open");
        let mut out = Vec::new();
        for sql in [
            "SELECT COUNT(*) FROM accounts",
            "SELECT COUNT(*) FROM plans",
            "SELECT COUNT(*) FROM impact",
            "SELECT COUNT(*) FROM notes",
            "SELECT COUNT(*) FROM agents",
            "SELECT COUNT(*) FROM audit",
        ] {
            out.push(
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&mut c)
                    .await
                    .expect("count"),
            );
        }
        out
    })
}

fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.stdout.is_empty() || code == 0,
        "nothing on stdout on failure"
    );
    err
}

#[test]
fn the_same_account_is_found_by_any_phone_format_and_by_name() {
    let d = TestDb::sqlite_demo(300, None);
    for q in [
        "+12065550123",
        "(206) 555-0123",
        "2065550123",
        "+1 206 555 0123",
        "310000001",
    ] {
        let v = json_of(cli(&d.url_text, Some("alice")).args(["lookup", q]));
        let first = &v["results"][0];
        assert_eq!(first["account_no"], "310000001", "query {q}");
        for field in ["account_no", "msisdn", "name", "status"] {
            assert!(first.get(field).is_some(), "lookup lacks {field}");
        }
    }
    let v = json_of(cli(&d.url_text, Some("alice")).args(["lookup", "Núñ", "--limit", "50"]));
    let found: Vec<&str> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["account_no"].as_str())
        .collect();
    assert!(found.contains(&"310000001"), "{found:?}");
}

#[test]
fn lookup_from_stdin_answers_one_line_per_query() {
    let d = TestDb::sqlite_demo(100, None);
    let out = cli(&d.url_text, Some("alice"))
        .args(["lookup", "-"])
        .write_stdin("2065550123\nzzzzzz-nobody\n310000002\n")
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("2065550123\t310000001\t"), "{text}");
    assert_eq!(lines[1], "zzzzzz-nobody\t-");
    assert!(lines[2].contains("\t310000002\t"));

    let out = cli(&d.url_text, Some("alice"))
        .args(["--format", "json", "lookup", "-"])
        .write_stdin("2065550123\n310000002\n")
        .output()
        .expect("run");
    let objects: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[1]["results"][0]["account_no"], "310000002");
}

#[test]
fn show_prints_the_fields_of_the_contract_and_audits_the_view() {
    let d = TestDb::sqlite_demo(300, None);
    let before = counts(d.sqlite_path());
    let v = json_of(cli(&d.url_text, Some("alice")).args(["show", "(206) 555-0123"]));
    for field in [
        "account_no",
        "msisdn",
        "name",
        "status",
        "plan",
        "categories",
        "credits",
        "backups",
    ] {
        assert!(v.get(field).is_some(), "show lacks {field}");
    }
    assert_eq!(v["name"], "José Núñez");
    let contacts = v["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["category"] == "contacts")
        .expect("contacts")
        .clone();
    assert_eq!(contacts["items_before"], 300);
    assert!(contacts.get("items_live").is_some() && contacts.get("status").is_some());
    let backup = &v["backups"][0];
    for field in ["id", "taken_at", "categories", "verified"] {
        assert!(backup.get(field).is_some(), "backup lacks {field}");
    }
    assert_eq!(v["plan"]["price_cents"], 1999);
    let after = counts(d.sqlite_path());
    assert_eq!(after[5], before[5] + 1, "one audit record for the view");

    let text = cli(&d.url_text, Some("alice"))
        .args(["show", "310000001"])
        .output()
        .expect("run");
    let text = String::from_utf8(text.stdout).expect("utf8");
    assert!(
        text.contains("José Núñez") && text.contains("contacts") && text.contains("$19.99"),
        "{text}"
    );
}

#[test]
fn the_worklist_is_most_urgent_first_and_filters_by_status() {
    let d = TestDb::sqlite_demo(500, None);
    let v = json_of(cli(&d.url_text, Some("alice")).args(["worklist", "--limit", "500"]));
    let ranks: Vec<usize> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let s = r["status"].as_str().expect("status");
            [
                "at-risk",
                "restorable",
                "lost",
                "permanent-loss",
                "restored-partial",
            ]
            .iter()
            .position(|x| *x == s)
            .unwrap_or_else(|| panic!("{s} does not need action"))
        })
        .collect();
    assert!(!ranks.is_empty());
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "sorted by urgency");
    let v = json_of(cli(&d.url_text, Some("alice")).args(["worklist", "--status", "restorable"]));
    let list = v["results"].as_array().expect("results");
    assert!(!list.is_empty());
    assert!(list.iter().all(|r| r["status"] == "restorable"));
    let err = stderr_of(
        cli(&d.url_text, Some("alice")).args(["worklist", "--status", "sad"]),
        2,
    );
    assert!(err.contains("\"sad\""), "{err}");
}

#[test]
fn bad_input_gets_one_sentence_an_exit_code_and_writes_nothing() {
    let d = TestDb::sqlite_demo(50, None);
    let before = counts(d.sqlite_path());

    let err = stderr_of(
        cli(&d.url_text, Some("alice")).args(["show", "999999999"]),
        2,
    );
    assert!(err.contains("999999999"), "{err}");
    let err = stderr_of(
        cli(&d.url_text, Some("alice")).args(["show", "not a number"]),
        2,
    );
    assert!(
        err.contains("neither an account number nor a phone number"),
        "{err}"
    );
    let err = stderr_of(
        cli(&d.url_text, Some("mallory")).args(["show", "310000001"]),
        3,
    );
    assert!(err.contains("\"mallory\" is not an agent"), "{err}");
    let err = stderr_of(
        cli(&d.url_text, Some("audrey")).args(["note", "310000001", "hi"]),
        3,
    );
    assert!(err.contains("audrey (auditor) may not add a note"), "{err}");
    let err = stderr_of(
        cli(&d.url_text, Some("bob")).args(["agent", "add", "eve", "--role", "supervisor"]),
        3,
    );
    assert!(err.contains("may not manage agents"), "{err}");
    // Each permission refusal names its own action.
    for (agent, args, says) in [
        (
            "bob",
            vec!["credit", "goodwill-cap", "50"],
            "bob (agent) may not set the goodwill cap",
        ),
        (
            "alice",
            vec!["agent", "password", "bob"],
            "alice (agent) may not reset an agent's password",
        ),
        (
            "audrey",
            vec!["privacy", "mask", "none"],
            "audrey (auditor) may not change which roles see customers masked",
        ),
    ] {
        let err = stderr_of(cli(&d.url_text, Some(agent)).args(&args), 3);
        assert_eq!(err.trim(), format!("caredesk: {says}"), "{args:?}");
    }
    let err = stderr_of(
        cli(&d.url_text, Some("sofia")).args(["agent", "add", "eve", "--role", "king"]),
        2,
    );
    assert!(err.contains("\"king\""), "{err}");
    let err = stderr_of(
        cli(&d.url_text, Some("alice")).args(["note", "310000001", "   "]),
        2,
    );
    assert!(err.contains("empty"), "{err}");

    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "account_no,msisdn,name,email,status,plan_code,plan_cents\n\
         510000001,2065550100,Good Row,,active,SK-DATA,1999\n\
         510000002,555,Bad Phone,,active,SK-DATA,1999\n",
    )
    .expect("write");
    let err = stderr_of(
        cli(&d.url_text, Some("sofia"))
            .args(["import", "accounts"])
            .arg(&bad),
        2,
    );
    assert!(
        err.contains("line 3") && err.contains("nothing was imported"),
        "{err}"
    );
    let err = stderr_of(
        cli(&d.url_text, Some("alice")).args(["import", "accounts", "assets/accounts.csv"]),
        3,
    );
    assert!(err.contains("may not import"), "{err}");
    let err = stderr_of(
        cli(&d.url_text, Some("sofia")).args(["import", "accounts", "/no/such/file.csv"]),
        1,
    );
    assert!(err.contains("/no/such/file.csv"), "{err}");

    assert_eq!(counts(d.sqlite_path()), before, "nothing was written");
}

#[test]
fn imports_are_all_or_nothing_and_idempotent() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ops.db");
    let url = format!("sqlite:{}", path.display());
    cli(&url, None)
        .args(["init", "--admin", "ops", "--incident"])
        .arg(INCIDENT_FILE)
        .assert()
        .success();
    let v = json_of(cli(&url, Some("ops")).args(["import", "accounts", "assets/accounts.csv"]));
    assert_eq!(v["inserted"], 6);
    let v = json_of(cli(&url, Some("ops")).args(["import", "impact", "assets/impact.csv"]));
    assert_eq!(v["inserted"], 10);
    let snapshot = counts(&path);
    let v = json_of(cli(&url, Some("ops")).args(["import", "accounts", "assets/accounts.csv"]));
    assert_eq!(
        (
            v["inserted"].as_i64(),
            v["updated"].as_i64(),
            v["unchanged"].as_i64()
        ),
        (Some(0), Some(0), Some(6))
    );
    let v = json_of(cli(&url, Some("ops")).args(["import", "impact", "assets/impact.csv"]));
    assert_eq!(v["unchanged"], 10);
    assert_eq!(counts(&path), snapshot, "a second import changes nothing");

    // A plan change appends to the history; the plan at the incident's start stays.
    let change = dir.path().join("change.csv");
    std::fs::write(
        &change,
        "account_no,msisdn,name,email,status,plan_code,plan_cents,plan_from\n\
         410000001,(206) 555-0142,\"Okafor, Chidi\",chidi.okafor@example.net,active,SK-DATA-PLUS,2999,2009-11-01\n",
    )
    .expect("write");
    let v = json_of(
        cli(&url, Some("ops"))
            .args(["import", "accounts"])
            .arg(&change),
    );
    assert_eq!(v["updated"], 1);
    let v = json_of(cli(&url, Some("ops")).args(["show", "410000001"]));
    assert_eq!(v["plan"]["price_cents"], 2999);
    assert_eq!(v["plan_at_incident_start"], "SK-DATA");
    assert_eq!(v["plans"].as_array().map(Vec::len), Some(2));

    // Unknown incident or account in an impact file: refused, nothing written.
    let before = counts(&path);
    let bad = dir.path().join("impact.csv");
    std::fs::write(
        &bad,
        "account_no,incident,category,server_lost,device_state,items_before\n\
         410000001,danger-2009-10,notes,true,wiped,5\n\
         499999999,danger-2009-10,notes,true,wiped,5\n",
    )
    .expect("write");
    let err = stderr_of(
        cli(&url, Some("ops")).args(["import", "impact"]).arg(&bad),
        2,
    );
    assert!(err.contains("line 3") && err.contains("499999999"), "{err}");
    assert_eq!(counts(&path), before);
}

#[test]
fn a_hand_edited_audit_record_fails_verification_by_name() {
    let d = TestDb::sqlite_demo(20, None);
    cli(&d.url_text, Some("bob"))
        .args(["note", "310000002", "called back"])
        .assert()
        .success();
    cli(&d.url_text, Some("audrey"))
        .args(["audit", "verify"])
        .assert()
        .success();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&d.url_text)
            .await
            .expect("open");
        sqlx::query("DROP TRIGGER audit_no_update")
            .execute(&mut c)
            .await
            .expect("drop");
        sqlx::query("UPDATE audit SET agent = 'mallory' WHERE seq = 2")
            .execute(&mut c)
            .await
            .expect("edit");
    });
    let err = stderr_of(
        cli(&d.url_text, Some("audrey")).args(["audit", "verify"]),
        3,
    );
    assert!(err.contains("record 2"), "{err}");
}

#[test]
fn agents_are_added_listed_and_disabled_by_a_supervisor() {
    let d = TestDb::sqlite_demo(10, None);
    cli(&d.url_text, Some("sofia"))
        .args([
            "agent",
            "add",
            "carol",
            "--role",
            "agent",
            "--name",
            "Carol Diaz",
        ])
        .assert()
        .success();
    let v = json_of(cli(&d.url_text, Some("sofia")).args(["agent", "list"]));
    let carol = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|a| a["login"] == "carol")
        .expect("carol listed")
        .clone();
    assert_eq!(
        (carol["role"].as_str(), carol["active"].as_bool()),
        (Some("agent"), Some(true))
    );
    cli(&d.url_text, Some("sofia"))
        .args(["agent", "disable", "carol"])
        .assert()
        .success();
    let err = stderr_of(cli(&d.url_text, Some("carol")).args(["lookup", "ann"]), 3);
    assert!(err.contains("disabled"), "{err}");
    let err = stderr_of(
        cli(&d.url_text, Some("sofia")).args(["agent", "add", "carol", "--role", "agent"]),
        2,
    );
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn migrate_and_backup_keep_a_copy_and_say_where() {
    let d = TestDb::sqlite_demo(10, None);
    let v = json_of(cli(&d.url_text, Some("sofia")).args(["db", "migrate"]));
    assert_eq!(v["applied"], 0);
    let copy = d.sqlite_path().with_file_name("copy.db");
    cli(&d.url_text, Some("sofia"))
        .args(["db", "backup"])
        .arg(&copy)
        .assert()
        .success();
    let url = format!("sqlite:{}", copy.display());
    let v = json_of(cli(&url, Some("alice")).args(["show", "310000001"]));
    assert_eq!(v["account_no"], "310000001");
    let err = stderr_of(
        cli(&d.url_text, Some("sofia"))
            .args(["db", "backup"])
            .arg(&copy),
        2,
    );
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn a_demo_never_overwrites_a_real_database() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("real.db").display());
    cli(&url, None)
        .args(["init", "--admin", "ops", "--incident"])
        .arg(INCIDENT_FILE)
        .assert()
        .success();
    let err = stderr_of(
        cli(&url, None).args(["demo", "--no-tui", "--accounts", "5"]),
        3,
    );
    assert!(err.contains("not a demo database"), "{err}");
    let d = TestDb::sqlite_demo(5, None);
    cli(&d.url_text, None)
        .args(["demo", "--no-tui", "--accounts", "7"])
        .assert()
        .success();
    assert_eq!(counts(d.sqlite_path())[0], 7, "a demo database is rebuilt");
}

/// The binary as a newcomer runs it: no `--db`, nothing in the environment naming a
/// database, agent or server, and a fresh home whose data directory starts empty.
fn newcomer(home: &Path) -> Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_caredesk"));
    cmd.env_remove("CAREDESK_DB")
        .env_remove("CAREDESK_AGENT")
        .env_remove("CAREDESK_SERVER")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("NO_COLOR", "1");
    Command::from_std(cmd)
}

#[test]
fn a_newcomer_builds_the_demo_then_every_command_finds_it_without_db() {
    let home = tempfile::tempdir().expect("home");
    let data = home.path().join(".local/share/caredesk");
    // Nothing there yet: one sentence says which command makes which file, and where.
    let nothing = format!(
        "caredesk: there is no caredesk database yet: `caredesk demo` builds a demo at {} (then `caredesk` opens it), or `caredesk init --admin LOGIN` creates an empty one at {} (or give --db)",
        data.join("demo.db").display(),
        data.join("caredesk.db").display()
    );
    let err = stderr_of(newcomer(home.path()).args(["lookup", "nunez"]), 2);
    assert_eq!(err.trim(), nothing);
    let err = stderr_of(&mut newcomer(home.path()), 2);
    assert_eq!(err.trim(), nothing, "the screen says the same");
    assert!(!data.join("caredesk.db").exists(), "nothing was created");

    let out = newcomer(home.path())
        .args(["demo", "--no-tui", "--accounts", "50"])
        .output()
        .expect("demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&data.join("demo.db").display().to_string()),
        "{said}"
    );
    assert!(said.contains("try: caredesk lookup nunez"), "{said}");

    // Every command without --db, and the screen, now open the demo.
    let found = json_of(newcomer(home.path()).args(["lookup", "nunez"]));
    assert_eq!(found["results"][0]["account_no"], "310000001", "{found}");
    let shown = json_of(newcomer(home.path()).args(["--agent", "alice", "show", "310000001"]));
    assert_eq!(shown["account_no"], "310000001");
    let err = stderr_of(&mut newcomer(home.path()), 2);
    assert!(
        err.contains("needs a terminal"),
        "the screen found the demo: {err}"
    );

    // A real database made later becomes the default; the demo stays where it is.
    newcomer(home.path())
        .args(["init", "--admin", "ops"])
        .assert()
        .success();
    assert!(data.join("caredesk.db").exists());
    let found = json_of(newcomer(home.path()).args(["--agent", "ops", "lookup", "nunez"]));
    assert_eq!(found["results"], serde_json::json!([]), "{found}");
    assert!(data.join("demo.db").exists());
}

#[test]
fn a_database_named_by_db_that_is_not_there_says_which_command_creates_it() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ops.db");
    let url = format!("sqlite:{}", path.display());
    let err = stderr_of(cli(&url, None).args(["lookup", "nunez"]), 2);
    assert_eq!(
        err.trim(),
        format!(
            "caredesk: there is no database at {}: `caredesk --db {url} init --admin LOGIN` creates it (or `caredesk --db {url} demo` builds a demo there)",
            path.display()
        )
    );
    assert!(!path.exists());
}

#[test]
fn without_a_terminal_the_screen_says_to_use_the_commands() {
    let d = TestDb::sqlite_demo(5, None);
    let err = stderr_of(&mut cli(&d.url_text, Some("alice")), 2);
    assert!(
        err.contains("needs a terminal") && err.contains("--help"),
        "{err}"
    );
    let err = stderr_of(&mut cli(&d.url_text, Some("mallory")), 3);
    assert!(
        err.contains("\"mallory\" is not an agent"),
        "the agent is checked before the screen opens: {err}"
    );
}

#[test]
fn a_database_with_data_is_backed_up_before_it_is_migrated() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    let url = format!("sqlite:{}", path.display());
    // A database as the first release left it: only the first migration, and data in it.
    let first = dir.path().join("first");
    std::fs::create_dir(&first).expect("dir");
    std::fs::copy(
        "migrations/sqlite/0001_schema.sql",
        first.join("0001_schema.sql"),
    )
    .expect("copy");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc")).await.expect("open");
        sqlx::migrate::Migrator::new(first.as_path()).await.expect("migrator").run(&mut c).await.expect("migrate");
        sqlx::query("INSERT INTO agents (login, display_name, role, active, created_at) VALUES ('ops', 'ops', 'supervisor', 1, '2009-10-14T00:00:00+00:00')")
            .execute(&mut c)
            .await
            .expect("agent");
    });
    let err = stderr_of(cli(&url, Some("ops")).args(["agent", "list"]), 3);
    assert!(err.contains("caredesk db migrate"), "{err}");

    let v = json_of(cli(&url, Some("ops")).args(["db", "migrate"]));
    let later = std::fs::read_dir("migrations/sqlite")
        .expect("migrations")
        .count()
        - 1;
    assert_eq!(v["applied"], later);
    let backup = PathBuf::from(v["backup"].as_str().expect("a backup was taken"));
    assert!(
        backup.exists() && backup.starts_with(dir.path()),
        "{backup:?}"
    );
    cli(&url, Some("ops"))
        .args(["agent", "list"])
        .assert()
        .success();
    let old = format!("sqlite:{}", backup.display());
    let err = stderr_of(cli(&old, Some("ops")).args(["agent", "list"]), 3);
    assert!(
        err.contains("migration"),
        "the backup is the database as it was: {err}"
    );
}

#[test]
fn credits_through_the_command_line_replay_reverse_and_export_for_billing() {
    let d = TestDb::sqlite_demo(40, None);
    let v = json_of(cli(&d.url_text, Some("alice")).args(["credit", "apply", "2065550123"]));
    assert_eq!(
        (v["result"].as_str(), v["amount_cents"].as_i64()),
        (Some("credited"), Some(1999))
    );
    let id = v["credit_id"].as_i64().expect("credit id");
    let again = json_of(cli(&d.url_text, Some("alice")).args(["credit", "apply", "310000001"]));
    assert_eq!(again["result"], "already-credited");
    assert_eq!(again["credit_id"], id);
    let err = stderr_of(
        cli(&d.url_text, Some("alice")).args([
            "credit",
            "reverse",
            &id.to_string(),
            "--reason",
            "x",
        ]),
        3,
    );
    assert!(err.contains("may not reverse"), "{err}");
    let r = json_of(cli(&d.url_text, Some("sofia")).args([
        "credit",
        "reverse",
        &id.to_string(),
        "--reason",
        "duplicate account",
    ]));
    assert_eq!(r["amount_cents"], -1999);
    let err = stderr_of(
        cli(&d.url_text, Some("sofia")).args([
            "credit",
            "goodwill",
            "310000001",
            "--amount",
            "twelve",
            "--reason",
            "x",
        ]),
        2,
    );
    assert!(err.contains("twelve"), "{err}");

    let out = cli(&d.url_text, Some("audrey"))
        .args(["credit", "export"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "credit_id,account_no,incident,kind,amount_cents,currency,created_at,reverses"
    );
    assert!(
        lines[1].starts_with(&format!("{id},310000001,danger-2009-10,incident,1999,USD,")),
        "{csv}"
    );
    assert!(
        lines[2].contains(",reversal,-1999,USD,") && lines[2].ends_with(&format!(",{id}")),
        "negative amounts stay numbers: {csv}"
    );
    let v = json_of(cli(&d.url_text, Some("audrey")).args(["credit", "export"]));
    let rows = v["results"].as_array().expect("results");
    assert_eq!(rows.len(), 2);
    for field in [
        "credit_id",
        "account_no",
        "incident",
        "kind",
        "amount_cents",
        "currency",
        "created_at",
        "reverses",
    ] {
        assert!(rows[0].get(field).is_some(), "export lacks {field}");
    }
}

#[test]
fn a_batch_run_off_a_terminal_prints_no_progress_and_exits_by_the_contract() {
    let d = TestDb::sqlite_demo(120, None);
    let out = cli(&d.url_text, Some("sofia"))
        .args(["credit", "run", "--apply", "--chunk", "7"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = stderr_of(
        cli(&d.url_text, Some("sofia")).args(["credit", "run", "--shard", "3/2"]),
        2,
    );
    assert!(err.contains("--shard"), "{err}");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("a.csv");
    std::fs::write(&file, "msisdn\n(206) 555-0123\nnot a phone\n").expect("write");
    let err = stderr_of(
        cli(&d.url_text, Some("sofia"))
            .args(["credit", "run", "--apply", "--accounts"])
            .arg(&file),
        2,
    );
    assert!(err.contains("line 3"), "{err}");
    let err = stderr_of(
        cli(&d.url_text, Some("sofia"))
            .args(["credit", "run", "--apply", "--max-total-cents", "100"])
            .args(["--accounts"])
            .arg(dir.path().join("missing.csv")),
        1,
    );
    assert!(err.contains("missing.csv"), "{err}");
}

#[test]
fn the_masking_policy_is_set_by_a_supervisor_and_a_reveal_is_audited() {
    let d = TestDb::sqlite_demo(30, None);
    let policy = json_of(cli(&d.url_text, Some("sofia")).args(["privacy"]));
    assert_eq!(policy["masked_roles"], serde_json::json!(["auditor"]));
    let shown = json_of(cli(&d.url_text, Some("audrey")).args(["show", "310000001"]));
    assert_eq!(shown["masked"], true);
    assert!(shown["msisdn"].as_str().unwrap_or("").starts_with('…'));
    let full = json_of(cli(&d.url_text, Some("audrey")).args(["show", "310000001", "--reveal"]));
    assert_eq!(full["masked"], false);
    assert!(full["msisdn"].as_str().unwrap_or("").starts_with("+1"));
    let log =
        json_of(cli(&d.url_text, Some("sofia")).args(["audit", "log", "--account", "310000001"]));
    let reveals = log["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["action"] == "account.reveal" && r["agent"] == "audrey")
        .count();
    assert_eq!(reveals, 1, "{log}");

    let before = counts(d.sqlite_path());
    let e = stderr_of(
        cli(&d.url_text, Some("sofia")).args(["privacy", "mask", "boss"]),
        2,
    );
    assert!(e.contains("boss"), "{e}");
    let e = stderr_of(
        cli(&d.url_text, Some("alice")).args(["privacy", "mask", "agent"]),
        3,
    );
    assert!(e.contains("alice"), "{e}");
    assert_eq!(counts(d.sqlite_path()), before, "refusals write nothing");

    cli(&d.url_text, Some("sofia"))
        .args(["privacy", "mask", "none"])
        .assert()
        .success();
    let shown = json_of(cli(&d.url_text, Some("audrey")).args(["show", "310000001"]));
    assert_eq!(shown["masked"], false);
    let found = json_of(cli(&d.url_text, Some("alice")).args(["lookup", "310000001"]));
    assert!(
        found["results"][0]["msisdn"]
            .as_str()
            .unwrap_or("")
            .starts_with("+1")
    );
}

#[test]
fn no_password_or_customer_detail_reaches_stderr_even_with_full_logging() {
    // An unreachable server: the error names the database without its password.
    for url in [
        "postgres://ops:s3cret-pw@127.0.0.1:1/caredesk",
        "postgres://ops@127.0.0.1:1/caredesk?password=s3cret-pw",
    ] {
        let out = cli(url, Some("sofia"))
            .env("CAREDESK_LOG", "trace")
            .args(["lookup", "x"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("s3cret-pw"), "{all}");
        assert!(
            all.contains("127.0.0.1"),
            "the error still names the server: {all}"
        );
    }

    // Everything logged at the finest level while an agent works a call: no name, e-mail or
    // full phone number of the customer.
    let d = TestDb::sqlite_demo(30, None);
    let full = json_of(cli(&d.url_text, Some("sofia")).args(["show", "310000001"]));
    let (name, email, msisdn) = (
        full["name"].as_str().expect("name").to_string(),
        full["email"].as_str().unwrap_or("").to_string(),
        full["msisdn"].as_str().expect("msisdn").to_string(),
    );
    let mut logs = String::new();
    for args in [
        vec!["lookup", name.as_str()],
        vec!["show", msisdn.as_str()],
        vec!["note", "310000001", "asked about photos"],
        vec!["credit", "apply", "310000001"],
    ] {
        let out = cli(&d.url_text, Some("alice"))
            .env("CAREDESK_LOG", "trace")
            .args(&args)
            .output()
            .expect("run");
        logs.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(!logs.is_empty(), "trace logging is on");
    for secret in [name.as_str(), msisdn.as_str(), &msisdn[2..]] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
    if !email.is_empty() {
        assert!(!logs.contains(&email), "{email} in the logs");
    }
}
