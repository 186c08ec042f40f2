//! The real binary in a real terminal: a tmux server of the test's own, keys sent and the
//! screen read back (`send-keys`, `capture-pane`).

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether tmux can run here. Without it the test is skipped with a line on stderr, unless
/// CAREDESK_REQUIRE_TMUX is set (as `.ci/run` does), where a missing tmux fails the test.
pub fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let required = std::env::var("CAREDESK_REQUIRE_TMUX").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        found || !required,
        "CAREDESK_REQUIRE_TMUX is set but tmux is not installed (apt-get install tmux)"
    );
    if !found {
        // Straight to stderr, past the test harness's capture, so a plain `cargo test` shows it.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the end-to-end test needs tmux (apt-get install tmux); \
             set CAREDESK_REQUIRE_TMUX=1 to make its absence a failure"
        );
    }
    found
}

pub struct Tmux {
    pub socket: String,
    pub session: String,
}

impl Tmux {
    pub fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    /// A tmux server of this test's own (`name`: tests run at once in one process).
    pub fn start(name: &str, command: &str) -> Self {
        Self::start_with(name, command, &[])
    }

    /// The same, the command started with `envs` set.
    pub fn start_with(name: &str, command: &str, envs: &[(&str, &str)]) -> Self {
        let t = Self {
            socket: format!("caredesk-e2e-{}-{name}", std::process::id()),
            session: "e2e".to_string(),
        };
        let status = t
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                &t.session,
                "-x",
                "80",
                "-y",
                "24",
                command,
            ])
            .env_remove("NO_COLOR")
            .envs(envs.iter().copied())
            .status()
            .expect("tmux must be installed for the end-to-end test (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        t
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    pub fn literal(&self, text: &str) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", &self.session, "-l", text])
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    pub fn resize(&self, w: u16, h: u16) {
        let status = self
            .cmd()
            .args([
                "resize-window",
                "-t",
                &self.session,
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
            ])
            .status()
            .expect("resize-window");
        assert!(status.success());
    }

    pub fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Kills the program in the pane with SIGKILL, as a crash or a closed laptop lid would:
    /// it cleans nothing up.
    pub fn kill_program(&self) {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", &self.session, "#{pane_pid}"])
            .output()
            .expect("pane pid");
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!pid.is_empty(), "no pane pid");
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }

    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_until(&format!("\"{needle}\""), |s| s.contains(needle))
    }

    /// Waits until the screen satisfies `done` (`what` names it in the failure).
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = self.screen();
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what} never appeared; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .args(["kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// A `caredesk serve` on 127.0.0.1 for a database, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// On a free port.
    pub fn start(db: &str) -> Self {
        Self::start_at(db, "127.0.0.1:0", &[])
    }

    /// On `listen` (a port of 127.0.0.1), with `envs` set.
    pub fn start_at(db: &str, listen: &str, envs: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_caredesk"))
            .args(["--db", db, "serve", "--listen", listen])
            .env_remove("CAREDESK_SERVER")
            .envs(envs.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's address");
        let url = line.trim().rsplit(' ').next().expect("address").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Self { child, url }
    }

    /// `127.0.0.1:PORT`, to start another server where this one listened.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs `login` in to the server at `url` with its one-time password `otp`, choosing
/// `password`; the session goes to the `sessions` file.
pub fn login(url: &str, login: &str, otp: &str, password: &str, sessions: &std::path::Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_caredesk"))
        .args(["--server", url, "login", login, "--password-stdin"])
        .env("CAREDESK_SESSIONS", sessions)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(format!("{otp}\n{password}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("login");
    assert!(out.status.success(), "login: {out:?}");
}
