//! `caredesk serve` end to end, through the real binary: a server started on a test database
//! (SQLite, or PostgreSQL when CAREDESK_TEST_PG is set), and clients logging in to it and
//! working through it with `--server`. Every server listens on 127.0.0.1 port 0 (the port is
//! read from its "listening on" line) or on a Unix socket in a temporary directory; nothing is
//! ever sent off this machine. Each test arranges its own data, keeps its sessions in its own
//! `CAREDESK_SESSIONS` files, and kills its servers when it ends, failed or not (`Server`'s
//! `Drop`).

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use caredesk::domain::Clock;
use caredesk::service::Service;
use common::batch::{assert_everyone_credited_once, scalar};
use common::{TestDb, clock, json_of, outcome};
use serde_json::Value;

/// The binary with none of the caller's caredesk settings (database, agent, server, sessions,
/// certificate authority, session length) and without colour.
fn bare() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caredesk"));
    for var in [
        "CAREDESK_DB",
        "CAREDESK_AGENT",
        "CAREDESK_SERVER",
        "CAREDESK_SESSIONS",
        "CAREDESK_CA_FILE",
        "CAREDESK_SESSION_SECONDS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A running `caredesk serve`, killed (SIGKILL) and reaped when dropped.
struct Server {
    child: Child,
    /// What it said it listens on: `http://127.0.0.1:PORT`, `https://…` or `unix:PATH`.
    url: String,
    log: PathBuf,
}

impl Server {
    /// Starts `caredesk --db DB serve ARGS` with `envs`, its stderr in `log`, and waits for its
    /// "listening on" line.
    fn start(db: &str, args: &[&str], envs: &[(&str, &str)], log: PathBuf) -> Self {
        let mut cmd = bare();
        cmd.args(["--db", db, "serve"])
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("server log"));
        let mut child = cmd.spawn().expect("spawn the server");
        let stdout = child.stdout.take().expect("the server's stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("caredesk serve: listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(url) => Self { child, url, log },
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the server did not say where it listens ({e}; {status:?}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }

    /// A server on 127.0.0.1, a port the system picks.
    fn loopback(db: &TestDb, dir: &Path, envs: &[(&str, &str)]) -> Self {
        Self::start(
            &db.url_text,
            &["--listen", "127.0.0.1:0"],
            envs,
            dir.join(format!("serve-{}.log", unique())),
        )
    }

    /// `kill -9`, and reaped.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// One person at their own terminal: a server address and a session file of their own.
struct Seat {
    server: String,
    sessions: PathBuf,
    envs: Vec<(String, String)>,
}

impl Seat {
    fn new(server: &str, dir: &Path, name: &str) -> Self {
        Self {
            server: server.to_string(),
            sessions: dir.join(format!("sessions-{name}.json")),
            envs: Vec::new(),
        }
    }

    fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.envs.push((
            key.to_string(),
            value.as_ref().to_string_lossy().into_owned(),
        ));
        self
    }

    fn std(&self) -> Command {
        let mut cmd = bare();
        cmd.args(["--server", &self.server])
            .env("CAREDESK_SESSIONS", &self.sessions)
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std())
    }

    /// Runs a command through the server: (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        outcome(self.cmd().args(args))
    }

    /// `login LOGIN --password-stdin` with `stdin`, under `--format json`: (exit code, stdout,
    /// stderr). A failure's stderr is one JSON error object (checked here, its code the exit
    /// code), returned as the line the text format prints: `caredesk: SENTENCE`.
    fn login(&self, login: &str, stdin: &str) -> (i32, String, String) {
        let (code, out, err) = outcome(
            self.cmd()
                .args(["--format", "json", "login", login, "--password-stdin"])
                .write_stdin(stdin.to_string()),
        );
        if code == 0 {
            return (code, out, err);
        }
        let v: serde_json::Value = serde_json::from_str(err.trim_end())
            .unwrap_or_else(|e| panic!("one JSON error object on stderr ({e}): {err}"));
        assert_eq!(v["code"], code, "{err}");
        let sentence = v["error"].as_str().expect("a sentence");
        (code, out, format!("caredesk: {sentence}\n"))
    }

    /// The command as a process to spawn and kill.
    fn process(&self, args: &[&str]) -> Command {
        let mut cmd = self.std();
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// The binary on the database itself as its supervisor (`sofia` on SQLite, the connection's
/// login on PostgreSQL), as an operator runs it.
fn direct(db: &TestDb) -> assert_cmd::Command {
    let mut cmd = db.cli();
    cmd.env_remove("CAREDESK_SERVER")
        .env_remove("CAREDESK_SESSIONS");
    cmd
}

/// A demo of `accounts` accounts (seed 2009) built by the binary as the supervisor.
async fn demo_db(accounts: u32) -> TestDb {
    let db = TestDb::new().await;
    db.demo_by_binary(accounts);
    db
}

/// The password `login` chooses at the first login.
fn password_of(login: &str) -> String {
    format!("{login}-chose-this-in-2009")
}

/// A supervisor, on the database itself, gives `login` a one-time password.
fn one_time_password(db: &TestDb, login: &str) -> String {
    let v = json_of(direct(db).args(["agent", "password", login]));
    assert_eq!(v["login"], login);
    v["one_time_password"]
        .as_str()
        .expect("one_time_password")
        .to_string()
}

/// `login` logs in for the first time: the one-time password from a supervisor, then the new
/// password on the second line.
fn first_login(db: &TestDb, seat: &Seat, login: &str) {
    let otp = one_time_password(db, login);
    let (code, out, err) = seat.login(login, &format!("{otp}\n{}\n", password_of(login)));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("login JSON");
    assert_eq!(v["login"], login);
    assert_eq!(v["changed_password"], true);
}

/// A count straight from the database.
async fn count(db: &TestDb, sql: &'static str) -> i64 {
    let svc = db.service(clock() as Arc<dyn Clock>).await;
    let n = scalar(svc.store(), sql).await;
    svc.close().await;
    n
}

/// A command's output with what legitimately differs between two databases built alike and
/// written at different moments taken out: the time of each credit and timeline event, and on
/// PostgreSQL the acting agent's name (see `a_login_…_as_directly`).
fn comparable(out: &str, ignore_agent: bool) -> Value {
    fn strip(v: &mut Value, ignore_agent: bool) {
        match v {
            Value::Object(map) => {
                map.remove("created_at");
                map.remove("at");
                if ignore_agent && map.contains_key("agent") {
                    map.insert("agent".into(), Value::String("<agent>".into()));
                }
                for v in map.values_mut() {
                    strip(v, ignore_agent);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| strip(v, ignore_agent)),
            _ => {}
        }
    }
    let mut v: Value = serde_json::from_str(out).expect("one JSON object");
    strip(&mut v, ignore_agent);
    v
}

/// The same for text: the time of each timeline event taken out, and on PostgreSQL the events'
/// words too (they name whoever acted, as in "viewed by alice").
fn comparable_text(out: &str, ignore_agent: bool) -> String {
    let mut in_timeline = false;
    let mut lines = Vec::new();
    for l in out.lines() {
        if l == "  timeline:" {
            in_timeline = true;
        } else if in_timeline && l.starts_with("    ") {
            // "    2009-10-14 16:00  viewed by alice"
            let words = l.trim_start().splitn(3, ' ').nth(2).unwrap_or("").trim();
            lines.push(if ignore_agent {
                "    <event>".to_string()
            } else {
                format!("    {words}")
            });
            continue;
        }
        lines.push(l.to_string());
    }
    lines.join("\n")
}

/// Login, then `show` and `credit apply` through the server print the same and exit the same
/// as the same commands run on the database directly. Two databases built alike from the same
/// seed: one worked directly, the other through a server.
///
/// What legitimately differs: the time a credit was written (`created_at`) and of each
/// timeline event (`at`). On PostgreSQL an agent has no direct access to the database at all
/// (§2), so there the comparison is between a supervisor through the server (omar) and the
/// operator's own login directly, and the acting agent's name is left out too.
#[tokio::test]
async fn a_login_with_a_one_time_password_then_commands_print_and_exit_as_directly() {
    let here = demo_db(200).await;
    let served = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::loopback(&served, dir.path(), &[]);
    let on_pg = served.is_postgres();
    let who = if on_pg { "omar" } else { "alice" };
    let direct_cmd = || -> assert_cmd::Command {
        if on_pg {
            direct(&here)
        } else {
            let mut cmd = common::cli(&here.url_text, Some(who));
            cmd.env_remove("CAREDESK_SERVER");
            cmd
        }
    };

    let seat = Seat::new(&server.url, dir.path(), who);
    let otp = one_time_password(&served, who);
    let new_password = password_of(who);
    let (code, out, err) = seat.login(who, &format!("{otp}\n{new_password}\n"));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("login JSON");
    assert_eq!(v["login"], who);
    assert_eq!(v["server"], server.url.as_str());
    assert_eq!(v["changed_password"], true);
    assert!(v["expires_at"].is_string());

    // The session file: the owner's alone, holding a token but neither password.
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&seat.sessions).expect("session file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let kept = std::fs::read_to_string(&seat.sessions).expect("read");
        assert!(!kept.contains(&otp) && !kept.contains(&new_password));
        let kept: Value = serde_json::from_str(&kept).expect("session JSON");
        assert_eq!(kept[&server.url]["login"], who);
    }

    // An account the incident credit is not owed to (the dry run writes nothing).
    let refused = (2..=200)
        .map(|n| format!("{}", 310_000_000 + n))
        .find(|acct| {
            let (code, _, _) = outcome(direct_cmd().args(["credit", "apply", acct, "--dry-run"]));
            code == 3
        })
        .expect("the demo holds an account not owed the credit");

    let cases: Vec<Vec<&str>> = vec![
        vec!["show", "310000001"],
        vec!["--format", "json", "show", "310000001"],
        vec!["--format", "json", "show", "+1 (206) 555-0123"],
        vec![
            "--format",
            "json",
            "credit",
            "apply",
            "310000001",
            "--dry-run",
        ],
        vec!["--format", "json", "credit", "apply", "310000001"],
        // A replay: "already credited", exit 0, the original credit.
        vec!["--format", "json", "credit", "apply", "310000001"],
        vec!["credit", "apply", "310000001"],
        vec!["credit", "apply", &refused],
        vec!["--format", "json", "credit", "apply", &refused],
        vec!["credit", "apply", "399999999"],
        vec!["show", "12"],
        vec!["--format", "json", "show", "310000001"],
    ];
    for args in &cases {
        let (d_code, d_out, d_err) = outcome(direct_cmd().args(args));
        let (s_code, s_out, s_err) = seat.run(args);
        assert_eq!(d_code, s_code, "{args:?}: {d_err} / {s_err}");
        assert_eq!(d_err, s_err, "{args:?}");
        if args.contains(&"json") && d_code == 0 {
            assert_eq!(
                comparable(&d_out, on_pg),
                comparable(&s_out, on_pg),
                "{args:?}"
            );
        } else {
            assert_eq!(
                comparable_text(&d_out, on_pg),
                comparable_text(&s_out, on_pg),
                "{args:?}"
            );
        }
    }
    // The credit is in the ledger through the server, once.
    let shown = json_of(seat.cmd().args(["show", "310000001"]));
    let credits = shown["credits"].as_array().expect("credits");
    assert_eq!(credits.len(), 1);
    assert_eq!(credits[0]["kind"], "incident");
    assert_eq!(credits[0]["amount_cents"], 1999);

    drop(server);
    here.cleanup().await;
    served.cleanup().await;
}

/// A one-time password opens no session by itself: the new password must come with it, long
/// enough; once changed, the one-time password is spent.
#[tokio::test]
async fn a_one_time_password_must_be_changed_at_login_and_is_then_spent() {
    let db = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::loopback(&db, dir.path(), &[]);
    let seat = Seat::new(&server.url, dir.path(), "alice");
    let otp = one_time_password(&db, "alice");

    // One line: the one-time password alone.
    let (code, out, err) = seat.login("alice", &format!("{otp}\n"));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("one-time") && err.contains("new password"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!seat.sessions.exists(), "no session kept");

    // A new password too short, or the one-time password again.
    let (code, _, err) = seat.login("alice", &format!("{otp}\nshort-pw\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at least 12 characters"), "{err}");
    let (code, _, err) = seat.login("alice", &format!("{otp}\n{otp}\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must differ"), "{err}");
    assert!(!seat.sessions.exists(), "no session kept");

    // The one-time password still works: nothing above spent it.
    let (code, _, err) = seat.login("alice", &format!("{otp}\n{}\n", password_of("alice")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(seat.run(&["show", "310000001"]).0, 0);

    // Spent: alone or with yet another new password, it is a wrong password now.
    let other = Seat::new(&server.url, dir.path(), "alice-again");
    for stdin in [format!("{otp}\n"), format!("{otp}\nanother-new-password\n")] {
        let (code, _, err) = other.login("alice", &stdin);
        assert_eq!(code, 3, "{err}");
        assert_eq!(err, "caredesk: wrong login or password\n");
    }
    assert!(!other.sessions.exists());
    // The password alice chose is hers from now on, and asks for no change.
    let (code, out, err) = other.login("alice", &format!("{}\n", password_of("alice")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("JSON")["changed_password"],
        false
    );

    drop(server);
    db.cleanup().await;
}

/// A wrong password and an unknown login get the same sentence and exit 3; the wrong password
/// is audited, and after a few the answers slow down.
#[tokio::test]
async fn wrong_passwords_are_refused_alike_audited_and_slowed() {
    let db = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::loopback(&db, dir.path(), &[]);
    let alice = Seat::new(&server.url, dir.path(), "alice");
    first_login(&db, &alice, "alice");

    let guesser = Seat::new(&server.url, dir.path(), "guesser");
    let wrong = "caredesk: wrong login or password\n";
    let mut took = Vec::new();
    for _ in 0..4 {
        let started = Instant::now();
        let (code, out, err) = guesser.login("alice", "not-her-password-at-all\n");
        took.push(started.elapsed());
        assert_eq!(code, 3, "{err}");
        assert!(out.is_empty());
        assert_eq!(err, wrong);
    }
    // The fourth failure in a row is answered late (a product rule, not a speed target: only
    // that a delay happens).
    assert!(
        took[3] >= Duration::from_millis(400),
        "the 4th failed login took {:?} (all: {took:?})",
        took[3]
    );
    let (code, _, err) = guesser.login("nobody-by-that-name", "whatever-password\n");
    assert_eq!(code, 3, "{err}");
    assert_eq!(err, wrong, "an unknown login gets the same answer");
    assert!(!guesser.sessions.exists());

    // Audited: four refused logins of alice; the unknown login typed is not written anywhere.
    let log = json_of(direct(&db).args(["audit", "log", "--limit", "100000"]));
    let records = log["results"].as_array().expect("results");
    let refused = records
        .iter()
        .filter(|r| {
            r["action"] == "session.login" && r["outcome"] == "refused" && r["agent"] == "alice"
        })
        .count();
    assert_eq!(refused, 4, "{records:#?}");
    assert!(
        !serde_json::to_string(records)
            .expect("json")
            .contains("nobody-by-that-name")
    );
    // The right password still opens a session, and alice's earlier one still works.
    let (code, _, err) = guesser.login("alice", &format!("{}\n", password_of("alice")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(alice.run(&["show", "310000001"]).0, 0);

    drop(server);
    db.cleanup().await;
}

/// A session past its end is refused with exit 3 and says it expired.
#[tokio::test]
async fn an_expired_session_is_refused() {
    let db = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::loopback(&db, dir.path(), &[("CAREDESK_SESSION_SECONDS", "1")]);
    let alice = Seat::new(&server.url, dir.path(), "alice");
    first_login(&db, &alice, "alice");
    std::thread::sleep(Duration::from_secs(2));
    let (code, out, err) = alice.run(&["show", "310000001"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("expired"), "{err}");
    assert!(err.contains("caredesk login alice"), "{err}");
    drop(server);
    db.cleanup().await;
}

/// A session ends at logout (its token is refused afterwards, even kept in a copy of the
/// file) and when a supervisor resets the agent's password.
#[tokio::test]
async fn a_session_ends_at_logout_and_at_a_password_reset() {
    let db = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::loopback(&db, dir.path(), &[]);
    let alice = Seat::new(&server.url, dir.path(), "alice");
    first_login(&db, &alice, "alice");
    assert_eq!(alice.run(&["show", "310000001"]).0, 0);

    let copy = dir.path().join("stolen-sessions.json");
    std::fs::copy(&alice.sessions, &copy).expect("copy the session file");
    let (code, out, err) = alice.run(&["logout"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("logged out"), "{out}");
    let (code, _, err) = alice.run(&["show", "310000001"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("not logged in"), "{err}");
    // The old token, put back: ended on the server.
    std::fs::copy(&copy, &alice.sessions).expect("restore the session file");
    let (code, out, err) = alice.run(&["show", "310000001"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("was ended"), "{err}");

    // Logged in again; a supervisor resets her password: that session ends too.
    let (code, _, err) = alice.login("alice", &format!("{}\n", password_of("alice")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(alice.run(&["show", "310000001"]).0, 0);
    let _otp = one_time_password(&db, "alice");
    let (code, _, err) = alice.run(&["show", "310000001"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("was ended"), "{err}");
    // Her own password is no longer good either: the reset made it one-time.
    let (code, _, err) = alice.login("alice", &format!("{}\n", password_of("alice")));
    assert_eq!(code, 3, "{err}");

    drop(server);
    db.cleanup().await;
}

/// An agent disabled by a supervisor (through the server) can do nothing more through it:
/// exit 3 saying she is disabled, nothing written, her sessions ended, no new one opened.
#[tokio::test]
async fn a_disabled_agent_is_refused_at_her_next_command_and_writes_nothing() {
    let db = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::loopback(&db, dir.path(), &[]);
    let alice = Seat::new(&server.url, dir.path(), "alice");
    first_login(&db, &alice, "alice");
    let omar = Seat::new(&server.url, dir.path(), "omar");
    first_login(&db, &omar, "omar");
    let (code, _, err) = alice.run(&["note", "310000001", "customer will call back"]);
    assert_eq!(code, 0, "{err}");

    let credits = "SELECT COUNT(*) FROM credits";
    let notes = "SELECT COUNT(*) FROM notes";
    let open_sessions =
        "SELECT COUNT(*) FROM sessions WHERE login = 'alice' AND revoked_at IS NULL";
    let before = (count(&db, credits).await, count(&db, notes).await);
    assert!(count(&db, open_sessions).await >= 1);

    let (code, out, err) = omar.run(&["agent", "disable", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("disabled alice"), "{out}");
    // Disabling ends her sessions at once (§2).
    assert_eq!(count(&db, open_sessions).await, 0);

    for args in [
        &["note", "310000001", "one more note"][..],
        &["credit", "apply", "310000001"][..],
        &["show", "310000001"][..],
    ] {
        let (code, out, err) = alice.run(args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(
            err.contains("your login \"alice\" was disabled by omar at "),
            "{args:?}: {err}"
        );
    }
    // Nor can she open a new session, with the right password.
    let again = Seat::new(&server.url, dir.path(), "alice-again");
    let (code, _, err) = again.login("alice", &format!("{}\n", password_of("alice")));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("your login \"alice\" was disabled by omar at "),
        "{err}"
    );
    assert!(!again.sessions.exists());

    let after = (count(&db, credits).await, count(&db, notes).await);
    assert_eq!(before, after, "nothing written");
    // omar is unaffected.
    assert_eq!(omar.run(&["show", "310000001"]).0, 0);

    drop(server);
    db.cleanup().await;
}

/// TLS: a server with a certificate for 127.0.0.1 and localhost; a client that trusts it
/// through CAREDESK_CA_FILE logs in and works, one that does not is refused with exit 1.
#[tokio::test]
async fn tls_with_a_certificate_the_client_is_told_to_trust() {
    let db = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let server = Server::start(
        &db.url_text,
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert_path.to_str().expect("utf-8"),
            "--tls-key",
            key_path.to_str().expect("utf-8"),
        ],
        &[],
        dir.path().join("serve.log"),
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    let alice = Seat::new(&server.url, dir.path(), "alice").env("CAREDESK_CA_FILE", &cert_path);
    first_login(&db, &alice, "alice");
    let shown = json_of(alice.cmd().args(["show", "310000001"]));
    assert_eq!(shown["account_no"], "310000001");

    // Without the certificate authority: the system's roots do not know it.
    let stranger = Seat::new(&server.url, dir.path(), "stranger");
    let (code, out, err) = stranger.login("alice", &format!("{}\n", password_of("alice")));
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("TLS"), "{err}");
    assert!(!stranger.sessions.exists());
    // The session alice holds is no help to a client that does not trust the server.
    let untrusting = Seat {
        envs: Vec::new(),
        ..Seat::new(&server.url, dir.path(), "alice")
    };
    let (code, _, err) = untrusting.run(&["show", "310000001"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TLS"), "{err}");
    // Plain HTTP to the TLS port gets no answer a client takes for a server's.
    let plain = Seat::new(
        &server.url.replace("https://", "http://"),
        dir.path(),
        "plain",
    );
    let (code, _, err) = plain.login("alice", &format!("{}\n", password_of("alice")));
    assert_eq!(code, 1, "{err}");

    drop(server);
    db.cleanup().await;
}

/// Plain HTTP off the loopback interface is refused before anything connects: by the server
/// before it opens its database, by the client before it sends a byte.
#[tokio::test]
async fn plain_http_off_loopback_is_refused_before_any_connection() {
    let dir = tempfile::tempdir().expect("temp dir");
    for db in [
        format!("sqlite:{}", dir.path().join("none.db").display()),
        // A closed local port: connecting would fail with exit 1, not 2.
        "postgres://127.0.0.1:1/x".to_string(),
    ] {
        for listen in ["0.0.0.0:0", "[::]:0"] {
            let started = Instant::now();
            let out = bare()
                .args(["--db", &db, "serve", "--listen", listen])
                .stdin(Stdio::null())
                .output()
                .expect("serve");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{db} {listen}: {err}");
            assert!(out.stdout.is_empty(), "{db} {listen}: never listened");
            assert!(err.contains("plain HTTP") && err.contains("TLS"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(started.elapsed() < Duration::from_secs(20));
        }
    }
    assert!(!dir.path().join("none.db").exists(), "no database opened");

    // The client: plain http to a host elsewhere is refused as built, nothing sent (a
    // connection to 10.0.0.1 would hang or fail with exit 1, not answer 2 at once).
    let seat = Seat::new("http://10.0.0.1:7878", dir.path(), "alice");
    for (args, stdin) in [
        (&["show", "310000001"][..], ""),
        (
            &["login", "alice", "--password-stdin"][..],
            "a-password-here\n",
        ),
    ] {
        let started = Instant::now();
        let (code, out, err) = outcome(seat.cmd().args(args).write_stdin(stdin.to_string()));
        let took = started.elapsed();
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains("refusing plain http"), "{err}");
        assert!(took < Duration::from_secs(20), "{args:?} took {took:?}");
    }
    assert!(!seat.sessions.exists());
}

/// The OS login of this test process.
fn os_login() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// Through the server's Unix socket the identity is the peer's OS login: no password, no
/// session; a login that is not an agent is refused.
#[tokio::test]
async fn a_unix_socket_peer_is_its_os_login() {
    let db = demo_db(200).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("s.sock");
    let server = Server::start(
        &db.url_text,
        &["--unix", socket.to_str().expect("utf-8")],
        &[],
        dir.path().join("serve.log"),
    );
    assert_eq!(server.url, format!("unix:{}", socket.display()));
    let me = os_login();
    let seat = Seat::new(&server.url, dir.path(), "me");
    let agents = json_of(direct(&db).args(["agent", "list"]));
    let registered = agents["results"]
        .as_array()
        .expect("results")
        .iter()
        .any(|a| a["login"] == me.as_str());
    if !registered {
        // Not an agent yet: refused with a sentence naming the login.
        let (code, out, err) = seat.run(&["show", "310000001"]);
        assert_eq!(code, 3, "{err}");
        assert!(out.is_empty());
        assert!(err.contains(&format!("\"{me}\" is not an agent")), "{err}");
        let (code, _, err) = outcome(direct(&db).args(["agent", "add", &me, "--role", "agent"]));
        assert_eq!(code, 0, "{err}");
    }
    let shown = json_of(seat.cmd().args(["show", "310000001"]));
    assert_eq!(shown["account_no"], "310000001");
    let (code, _, err) = seat.run(&["note", "310000001", "called through the socket"]);
    assert_eq!(code, 0, "{err}");
    assert!(!seat.sessions.exists(), "no session needed");

    let log = json_of(direct(&db).args(["audit", "log", "--account", "310000001"]));
    let records = log["results"].as_array().expect("results");
    for action in ["account.view", "note.add"] {
        assert!(
            records
                .iter()
                .any(|r| r["action"] == action && r["agent"] == me.as_str()),
            "{action} by {me}: {records:#?}"
        );
    }

    drop(server);
    db.cleanup().await;
}

const INCIDENT_CREDITS: &str = "SELECT COUNT(*) FROM credits WHERE kind = 'incident'";

/// Polls `sql` until `done` says so; panics after `limit`.
async fn wait_for(
    svc: &Service,
    sql: &'static str,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(i64) -> bool,
) -> i64 {
    let started = Instant::now();
    loop {
        let n = scalar(svc.store(), sql).await;
        if done(n) {
            return n;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: still {n} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const BIG_DEMO: u32 = 20_000;
const RUN: [&str; 7] = [
    "--format", "json", "credit", "run", "--apply", "--chunk", "500",
];

/// A server killed with SIGKILL in the middle of a batch run it carries out for a supervisor;
/// a new server on the same database, the same command again: the run resumes, every
/// eligible account ends with exactly one incident credit, and the runs reconcile.
#[tokio::test]
async fn a_batch_run_through_a_server_killed_mid_run_resumes_on_a_new_server() {
    let db = demo_db(BIG_DEMO).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (svc, actor) = db.supervisor(clock() as Arc<dyn Clock>).await;

    let mut first = Server::loopback(&db, dir.path(), &[]);
    let omar = Seat::new(&first.url, dir.path(), "omar");
    first_login(&db, &omar, "omar");
    let client = omar.process(&RUN).spawn().expect("spawn the run");
    wait_for(
        &svc,
        INCIDENT_CREDITS,
        Duration::from_secs(300),
        "the run's first chunk",
        |n| n > 0,
    )
    .await;
    first.kill();
    let at_kill = scalar(svc.store(), INCIDENT_CREDITS).await;
    let out = client.wait_with_output().expect("the client");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the client lost its server: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&first.url),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A new server on the same database (a new port: omar logs in to it).
    let second = Server::loopback(&db, dir.path(), &[]);
    let omar = Seat::new(&second.url, dir.path(), "omar-2");
    let (code, _, err) = omar.login("omar", &format!("{}\n", password_of("omar")));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = omar.run(&RUN);
    assert_eq!(code, 0, "{err}\n{}", second.log());
    let summary: Value = serde_json::from_str(&out).expect("run JSON");
    assert_eq!(summary["applied"], true);
    assert_eq!(summary["resumed"], true, "{summary}");
    let n = |k: &str| summary[k].as_i64().unwrap_or(-1);
    assert_eq!(
        n("selected"),
        n("credited") + n("already_credited") + n("ineligible") + n("invalid") + n("failed"),
        "{summary}"
    );
    let total = scalar(svc.store(), INCIDENT_CREDITS).await;
    assert!(
        at_kill < total,
        "the kill landed mid-run ({at_kill} of {total} credits)"
    );

    assert_everyone_credited_once(&svc, &actor, i64::from(BIG_DEMO)).await;
    svc.close().await;
    drop(second);
    db.cleanup().await;
}

/// A client killed in the middle of a batch run through a server: the run goes on on the
/// server and finishes there.
#[tokio::test]
async fn a_batch_run_goes_on_when_its_client_is_killed() {
    let db = demo_db(BIG_DEMO).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (svc, actor) = db.supervisor(clock() as Arc<dyn Clock>).await;
    let server = Server::loopback(&db, dir.path(), &[]);
    let omar = Seat::new(&server.url, dir.path(), "omar");
    first_login(&db, &omar, "omar");

    let mut client = omar.process(&RUN).spawn().expect("spawn the run");
    let at_kill = wait_for(
        &svc,
        INCIDENT_CREDITS,
        Duration::from_secs(300),
        "the run's first chunk",
        |n| n > 0,
    )
    .await;
    client.kill().expect("SIGKILL the client");
    client.wait().expect("reap");

    // The credits go on growing until the run is finished, then stop.
    let started = Instant::now();
    let mut last = (at_kill, Instant::now());
    loop {
        let n = scalar(svc.store(), INCIDENT_CREDITS).await;
        let running = scalar(
            svc.store(),
            "SELECT COUNT(*) FROM batch_runs WHERE state <> 'finished'",
        )
        .await;
        if n != last.0 {
            last = (n, Instant::now());
        } else if running == 0 && last.1.elapsed() > Duration::from_secs(1) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the run did not finish on the server: {n} credits, {running} runs open\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        at_kill < last.0,
        "the client was killed mid-run ({at_kill} of {} credits)",
        last.0
    );
    assert_everyone_credited_once(&svc, &actor, i64::from(BIG_DEMO)).await;
    // The same command again is a replay that credits nothing.
    let (code, out, err) = omar.run(&RUN);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&out).expect("run JSON");
    assert_eq!(summary["credited"], 0, "{summary}");
    assert_eq!(
        scalar(svc.store(), INCIDENT_CREDITS).await,
        last.0,
        "nothing more credited"
    );

    svc.close().await;
    drop(server);
    db.cleanup().await;
}
