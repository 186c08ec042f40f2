//! The operator's surface through the real binary: shell completions and manual pages made
//! from the clap definitions without a database, errors as one JSON object under
//! `--format json`, the cap on a lookup's query, and errors that name the file at fault.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::{TestDb, outcome};
use serde_json::Value;

/// The binary with no database configured at all (and none reachable: `--db` would have to
/// be opened for anything that needs one).
fn bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caredesk"));
    cmd.env_remove("CAREDESK_DB")
        .env_remove("CAREDESK_AGENT")
        .env_remove("CAREDESK_SERVER")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

/// A database URL nothing listens on: any command that opened it would fail.
const NOWHERE: &str = "postgres://caredesk@127.0.0.1:1/nowhere";

/// The one JSON error object a failed command wrote on stderr, after checking the exit code
/// and that stdout stayed empty.
fn json_error(cmd: &mut Command, code: i32) -> Value {
    let (got, out, err) = outcome(cmd);
    assert_eq!(got, code, "stderr: {err}");
    assert!(out.is_empty(), "stdout must stay empty: {out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {err}");
    let v: Value = serde_json::from_str(lines[0]).expect("one JSON object");
    assert_eq!(v["code"], code, "{v}");
    assert!(
        v["error"].as_str().is_some_and(|s| !s.is_empty()),
        "a sentence: {v}"
    );
    v
}

#[test]
fn completion_scripts_cover_every_shell_and_name_the_commands_without_a_database() {
    let (code, bash, err) = outcome(bare().args(["--db", NOWHERE, "completions", "bash"]));
    assert_eq!(code, 0, "{err}");
    for word in [
        "_caredesk",
        "lookup",
        "credit",
        "restore",
        "completions",
        "--incident",
    ] {
        assert!(bash.contains(word), "the bash script mentions {word}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (code, script, err) = outcome(bare().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(script.contains("lookup"), "{shell}: {script}");
    }
    let (code, _, err) = outcome(bare().args(["completions", "tcsh"]));
    assert_eq!(code, 2, "an unknown shell is bad usage");
    assert!(err.contains("tcsh"), "{err}");
}

#[test]
fn the_manual_page_is_roff_with_the_commands_examples_and_exit_codes() {
    let (code, page, err) = outcome(bare().args(["--db", NOWHERE, "man"]));
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH caredesk 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH EXAMPLES"] {
        assert!(page.contains(section), "{section} in {page}");
    }
    assert!(page.contains(".SH \"EXIT CODES\""), "{page}");
    for command in [
        "caredesk\\-lookup(1)",
        "caredesk\\-credit(1)",
        "caredesk\\-man(1)",
    ] {
        assert!(page.contains(command), "{command} in {page}");
    }
}

#[test]
fn man_with_a_directory_writes_one_page_per_command_there() {
    let dir = tempfile::tempdir().expect("tmp");
    let (code, out, err) = outcome(bare().arg("man").arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("manual pages"), "{out}");
    for name in [
        "caredesk.1",
        "caredesk-credit.1",
        "caredesk-credit-run.1",
        "caredesk-lookup.1",
        "caredesk-restore-apply.1",
    ] {
        let page = std::fs::read_to_string(dir.path().join(name)).expect(name);
        assert!(page.contains(".TH "), "{name}: {page}");
    }
    let run = std::fs::read_to_string(dir.path().join("caredesk-credit-run.1")).expect("run");
    assert!(run.contains("\\-\\-max\\-total\\-cents"), "{run}");
    assert!(run.contains(".SH EXAMPLES"), "{run}");

    let missing = dir.path().join("man1");
    let (code, out, err) = outcome(bare().arg("man").arg(&missing));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn help_shows_examples_exit_codes_and_the_incidents_help() {
    let (_, help, _) = outcome(bare().arg("--help"));
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("Exit codes:"), "{help}");
    assert!(
        help.contains("4  a batch run finished with some rows failed"),
        "{help}"
    );
    let (_, help, _) = outcome(bare().args(["credit", "apply", "--help"]));
    assert!(
        help.contains("may be left out while the database holds one open incident"),
        "{help}"
    );
    let (_, help, _) = outcome(bare().args(["credit", "run", "--help"]));
    assert!(help.contains("Examples:\n  caredesk credit run"), "{help}");
}

#[test]
fn under_json_a_usage_error_is_one_object_on_stderr_with_exit_2() {
    for args in [
        &["--format", "json", "lookup", "x", "--limt", "3"][..],
        &["lookup", "--format=json"],
        &["--format", "json", "credit"],
    ] {
        let v = json_error(bare().args(args), 2);
        assert_eq!(v["kind"], "usage", "{args:?}: {v}");
    }
    let v = json_error(
        bare().args(["--format", "json", "lookup", "x", "--limt", "3"]),
        2,
    );
    let sentence = v["error"].as_str().expect("text");
    assert!(
        sentence.contains("'--limt'"),
        "names the option: {sentence}"
    );
    // Without --format json, clap's own text as before.
    let (code, out, err) = outcome(bare().args(["lookup", "x", "--limt", "3"]));
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.starts_with("error: unexpected argument '--limt'"),
        "{err}"
    );
}

#[test]
fn under_json_a_refusal_and_a_system_failure_are_objects_with_their_codes() {
    let d = TestDb::sqlite_demo(30, Some("sofia"));
    let v = json_error(
        common::cli(&d.url_text, Some("audrey")).args([
            "--format",
            "json",
            "credit",
            "apply",
            "310000001",
        ]),
        3,
    );
    assert_eq!(v["kind"], "refused", "{v}");
    // The same refusal in text: one sentence after "caredesk: ".
    let (code, _, err) =
        outcome(common::cli(&d.url_text, Some("audrey")).args(["credit", "apply", "310000001"]));
    assert_eq!(code, 3);
    assert_eq!(
        format!("caredesk: {}\n", v["error"].as_str().expect("text")),
        err
    );

    let v = json_error(
        bare().args(["--db", NOWHERE, "--format", "json", "lookup", "x"]),
        1,
    );
    assert_eq!(v["kind"], "system", "{v}");
}

#[test]
fn a_lookup_query_longer_than_the_limit_is_refused_naming_the_limit_and_the_line() {
    let d = TestDb::sqlite_demo(30, Some("sofia"));
    let long = "a".repeat(caredesk::domain::MAX_QUERY_CHARS + 1);
    let (code, out, err) = outcome(common::cli(&d.url_text, Some("alice")).args(["lookup", &long]));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("256 characters"), "{err}");
    assert!(!err.contains(&long), "the query is not echoed: {err}");

    // A 10 MB line among good ones: the lines before it are answered, it is named, the rest
    // are not read; the line is never echoed.
    let mut input = String::from("310000001\n");
    input.push_str(&"x".repeat(10 * 1024 * 1024));
    input.push_str("\n310000002\n");
    let out = common::cli(&d.url_text, Some("alice"))
        .args(["lookup", "-"])
        .write_stdin(input)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("310000001\t310000001\t"), "{stdout}");
    assert!(
        stderr.starts_with("caredesk: standard input line 2: the query is longer than 256"),
        "{stderr}"
    );
    assert!(stderr.len() < 300, "the line is not echoed");
}

#[test]
fn a_header_with_a_column_twice_is_refused_naming_the_column() {
    let d = TestDb::sqlite_demo(30, Some("sofia"));
    let accounts = d.dir().join("accounts.csv");
    std::fs::write(
        &accounts,
        "account_no,msisdn,name,email,status,plan_code,plan_cents,name\n\
         310099001,+12065559901,Ann Lee,ann@example.com,active,data-5,2999,Ann\n",
    )
    .expect("write");
    let (code, _, err) = outcome(d.cli().args(["import", "accounts"]).arg(&accounts));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&accounts.display().to_string()), "{err}");
    assert!(err.contains("the column \"name\" twice"), "{err}");

    let list = d.dir().join("list.csv");
    std::fs::write(&list, "msisdn,account_no,msisdn\n,310000001,\n").expect("write");
    let (code, _, err) = outcome(d.cli().args(["credit", "run", "--accounts"]).arg(&list));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("list.csv: the header names the column \"msisdn\" twice"),
        "{err}"
    );
}

#[test]
fn errors_about_files_name_the_file_or_directory() {
    let d = TestDb::sqlite_demo(30, Some("sofia"));
    let nowhere = d.dir().join("no-such-dir");

    // A report into a directory that does not exist: refused before anything is credited.
    let report = nowhere.join("run.csv");
    let ledger = common::json_of(d.cli().args(["credit", "export"]));
    let (code, _, err) = outcome(
        d.cli()
            .args(["credit", "run", "--apply", "--report"])
            .arg(&report),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&nowhere.display().to_string()), "{err}");
    assert_eq!(
        common::json_of(d.cli().args(["credit", "export"])),
        ledger,
        "nothing credited"
    );

    // A backup into a directory that does not exist.
    let backup = nowhere.join("copy.db");
    let (code, _, err) = outcome(d.cli().args(["db", "backup"]).arg(&backup));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&nowhere.display().to_string()), "{err}");

    // An import from standard input is named as such.
    let (code, _, err) = outcome(
        d.cli()
            .args(["import", "accounts", "-"])
            .write_stdin("account_no,msisdn,name,email,status,plan_code,plan_cents\n"),
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(err, "caredesk: standard input holds no rows\n");

    // TLS files that do not exist, named before the database is opened.
    let cert = d.dir().join("cert.pem");
    let key = d.dir().join("key.pem");
    let (code, _, err) = outcome(
        bare()
            .args([
                "--db",
                NOWHERE,
                "serve",
                "--listen",
                "0.0.0.0:0",
                "--tls-cert",
            ])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("--tls-cert {} does not exist", cert.display())),
        "{err}"
    );

    // A session file that cannot be read.
    let blocker = d.dir().join("not-a-dir");
    std::fs::write(&blocker, "x").expect("write");
    let sessions = blocker.join("sessions.json");
    let (code, _, err) = outcome(bare().env("CAREDESK_SESSIONS", &sessions).args([
        "--server",
        "http://127.0.0.1:1",
        "lookup",
        "x",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("the session file {}", sessions.display())),
        "{err}"
    );
}
