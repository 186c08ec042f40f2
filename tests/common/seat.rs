//! One login at the command line: the real binary run directly on the test database (`--agent`
//! on SQLite; on PostgreSQL only the supervisor's own database login has rights), or through a
//! server the harness starts on 127.0.0.1 (the logins without rights on PostgreSQL always, and
//! everyone with CAREDESK_TEST_THROUGH_SERVER=1).

use caredesk::domain::Actor;
use serde_json::{Value, json};

use super::World;
use super::through::through_server;

/// One login at the command line.
pub struct Seat {
    pub login: String,
    /// Whether it goes through the harness's server (whose clock is the test's).
    pub served: bool,
    cmd: Box<dyn Fn() -> assert_cmd::Command + Send + Sync>,
}

impl Seat {
    /// `who`'s way to the binary (see the module's comment). A session through the server is
    /// opened here, once: its audit record comes before the test counts any.
    pub async fn new(w: &World, who: &Actor) -> Self {
        let own = who.login == w.sup.login;
        let served = through_server() || (w.db.is_postgres() && !own);
        let cmd: Box<dyn Fn() -> assert_cmd::Command + Send + Sync> = if served {
            let (url, token) = w.svc.server_session(who).await;
            let sessions = w.file(&format!("sessions-{}.json", who.login));
            let kept = json!({ url.clone(): {
                "login": who.login,
                "token": token,
                "expires_at": "2999-01-01T00:00:00Z",
            }});
            std::fs::write(&sessions, kept.to_string()).expect("session file");
            Box::new(move || super::binary::served(&url, &sessions))
        } else if own {
            let db = w.db.url_text.clone();
            let login = w.db.supervisor_login().map(str::to_string);
            Box::new(move || super::cli(&db, login.as_deref()))
        } else {
            let (db, login) = (w.db.url_text.clone(), who.login.clone());
            Box::new(move || super::cli(&db, Some(&login)))
        };
        Self {
            login: who.login.clone(),
            served,
            cmd,
        }
    }

    /// Runs `args`: (exit code, stdout, stderr). Off the test's runtime, which serves the
    /// harness's server meanwhile.
    pub async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = (self.cmd)();
        cmd.args(args);
        tokio::task::spawn_blocking(move || super::outcome(&mut cmd))
            .await
            .expect("the binary ran")
    }

    /// Runs `args` under `--format json`, expecting success: the one object printed.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let (code, out, err) = self.run(&all).await;
        assert_eq!(code, 0, "{} {args:?}: {err}", self.login);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("one JSON object ({e}): {out}"))
    }

    /// Runs `args`, expecting exit `code`: its stderr.
    pub async fn refused(&self, args: &[&str], code: i32) -> String {
        let (got, out, err) = self.run(args).await;
        assert_eq!(got, code, "{} {args:?}: {out}{err}", self.login);
        assert!(out.is_empty(), "nothing printed on stdout: {out}");
        err
    }
}
