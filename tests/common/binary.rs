//! The real binary, as every suite runs it: on a given database, as a given agent, with the
//! caller's environment kept out (no CAREDESK_DB or CAREDESK_AGENT from the shell running the
//! tests, NO_COLOR set), either as an `assert_cmd` command or as a process to spawn and kill.

use std::process::Stdio;

use super::TestDb;

/// The binary with a clean environment and nothing else.
fn bare() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_caredesk"));
    cmd.env_remove("CAREDESK_DB")
        .env_remove("CAREDESK_AGENT")
        .env("NO_COLOR", "1");
    cmd
}

/// The binary working through the server at `server` with the sessions kept in `sessions`
/// (`CAREDESK_SESSIONS`), no database or server of the caller's.
pub fn served(server: &str, sessions: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = bare();
    cmd.env_remove("CAREDESK_SERVER")
        .env("CAREDESK_SESSIONS", sessions)
        .args(["--server", server]);
    assert_cmd::Command::from_std(cmd)
}

/// The binary on `url` (`--db`), acting as `agent` when one is given (`--agent`), else as the
/// OS login.
pub fn cli(url: &str, agent: Option<&str>) -> assert_cmd::Command {
    let mut cmd = bare();
    cmd.args(["--db", url]);
    if let Some(a) = agent {
        cmd.args(["--agent", a]);
    }
    assert_cmd::Command::from_std(cmd)
}

/// The same as a process to spawn, kill or run several of at once: stdin closed, stdout and
/// stderr captured.
pub fn process(url: &str, agent: Option<&str>) -> std::process::Command {
    let mut cmd = bare();
    cmd.args(["--db", url]);
    if let Some(a) = agent {
        cmd.args(["--agent", a]);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd` with `--format json`, checks it succeeded (else shows its stderr), and returns
/// the one JSON object it printed.
pub fn json_of(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let out = cmd.args(["--format", "json"]).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// Runs `cmd`; returns (exit code, stdout, stderr).
pub fn outcome(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl TestDb {
    /// The arguments that make the binary act as `login`: `--agent` on SQLite, the database
    /// login in the URL on PostgreSQL (the role must exist, and only a supervisor's login in
    /// the operator group has rights there: agents and auditors work through a server, and the
    /// binary as one of them is refused; see tests/db_rights.rs).
    pub fn identity(&self, login: &str) -> Vec<String> {
        if self.is_postgres() {
            vec!["--db".into(), super::replace_user(&self.url_text, login)]
        } else {
            vec![
                "--db".into(),
                self.url_text.clone(),
                "--agent".into(),
                login.into(),
            ]
        }
    }

    /// The binary as this database's supervisor: `sofia` on SQLite, the URL's own login on
    /// PostgreSQL (which `demo` and `init` register as a supervisor).
    pub fn cli(&self) -> assert_cmd::Command {
        cli(&self.url_text, self.supervisor_login())
    }

    /// The binary as `login` (see `identity`).
    pub fn cli_as(&self, login: &str) -> assert_cmd::Command {
        let mut cmd = bare();
        cmd.args(self.identity(login));
        assert_cmd::Command::from_std(cmd)
    }

    /// `cli`, as a process to spawn or kill.
    pub fn process(&self) -> std::process::Command {
        process(&self.url_text, self.supervisor_login())
    }

    /// `cli_as`, as a process to spawn or kill.
    pub fn process_as(&self, login: &str) -> std::process::Command {
        let mut cmd = bare();
        cmd.args(self.identity(login))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// A demo of `accounts` accounts built by the binary in its own process
    /// (`caredesk demo --no-tui`), as the supervisor.
    pub fn demo_by_binary(&self, accounts: u32) {
        let out = self
            .process()
            .args(["demo", "--no-tui", "--accounts", &accounts.to_string()])
            .output()
            .expect("demo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new SQLite database holding a demo of `accounts` accounts (seed 2009, the default)
    /// built by the binary acting as `agent` (else the OS login), for suites that only run the
    /// binary and read the file.
    pub fn sqlite_demo(accounts: u32, agent: Option<&str>) -> Self {
        let db = Self::sqlite();
        cli(&db.url_text, agent)
            .args([
                "demo",
                "--no-tui",
                "--accounts",
                &accounts.to_string(),
                "--seed",
                "2009",
            ])
            .assert()
            .success();
        db
    }
}
