//! The one test harness. Test databases: a fresh SQLite file, or a fresh PostgreSQL database
//! when CAREDESK_TEST_PG names a server (e.g. postgres://127.0.0.1:5432/test). When it is set,
//! an unreachable server fails the test; it never falls back silently. `binary` runs the real
//! binary against them; `world` is a database with its supervisor, ready for a story; `restore`
//! reads what restore tests check straight from the database.

#![allow(dead_code)]

pub mod batch;
pub mod binary;
pub mod faults;
pub mod restore;
pub mod seat;
pub mod through;
pub mod tmux;
pub mod world;

#[allow(unused_imports)]
pub use binary::{cli, json_of, outcome, process};
#[allow(unused_imports)]
pub use through::Svc;
#[allow(unused_imports)]
pub use world::World;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use caredesk::domain::{Clock, FixedClock};
use caredesk::service::{OpenMode, Service};
use caredesk::store::{ConnectOptions, DbUrl};
use chrono::{TimeZone, Utc};
use sqlx::Connection;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct TestDb {
    pub url: DbUrl,
    /// The URL as text, for the binary's --db.
    pub url_text: String,
    admin_url: Option<String>,
    db_name: Option<String>,
    dir: Option<tempfile::TempDir>,
}

pub fn pg_base() -> Option<String> {
    std::env::var("CAREDESK_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())
}

impl TestDb {
    /// A new empty database on the backend the environment selects.
    pub async fn new() -> Self {
        match pg_base() {
            Some(base) => Self::postgres(&base).await,
            None => Self::sqlite(),
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        Self {
            url_text: format!("sqlite:{}", path.display()),
            url: DbUrl::Sqlite(path),
            admin_url: None,
            db_name: None,
            dir: Some(dir),
        }
    }

    pub async fn postgres(base: &str) -> Self {
        let name = format!(
            "caredesk_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            Utc::now().timestamp_micros() % 1_000_000
        );
        let mut conn = sqlx::PgConnection::connect(base).await.unwrap_or_else(|e| {
            panic!("CAREDESK_TEST_PG is set but its server cannot be reached: {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url_text = replace_db_name(base, &name);
        Self {
            url: DbUrl::parse(&url_text).expect("url"),
            url_text,
            admin_url: Some(base.to_string()),
            db_name: Some(name),
            dir: None,
        }
    }

    /// The SQLite file, for tests that read it straight (SQLite only).
    pub fn sqlite_path(&self) -> &std::path::Path {
        match &self.url {
            DbUrl::Sqlite(path) => path,
            _ => panic!("this test reads a SQLite file; it has a PostgreSQL database"),
        }
    }

    /// The temporary directory holding a SQLite database, for the files a test writes next to
    /// it (SQLite only).
    pub fn dir(&self) -> &std::path::Path {
        self.dir
            .as_ref()
            .expect("a SQLite test database has a directory")
            .path()
    }

    pub fn is_postgres(&self) -> bool {
        self.admin_url.is_some()
    }

    pub async fn service(&self, clock: Arc<dyn Clock>) -> Service {
        Service::open(
            &self.url,
            &ConnectOptions::default(),
            clock,
            OpenMode::Normal,
        )
        .await
        .expect("open service")
    }

    /// The login of this database's supervisor: `sofia` (the demo's) on SQLite, `None` (the
    /// connection's own login, which `demo` and `init` register) on PostgreSQL.
    pub fn supervisor_login(&self) -> Option<&'static str> {
        if self.is_postgres() {
            None
        } else {
            Some("sofia")
        }
    }

    /// A service acting as the database's supervisor (see `supervisor_login`).
    pub async fn supervisor(&self, clock: Arc<dyn Clock>) -> (Service, caredesk::domain::Actor) {
        let svc = self.service(clock).await;
        let actor = svc
            .actor(self.supervisor_login())
            .await
            .expect("supervisor");
        (svc, actor)
    }

    /// A demo of `accounts` accounts (seed `seed`) and a service acting as its supervisor:
    /// `sofia` on SQLite, the connection's login (registered by the demo) on PostgreSQL.
    pub async fn demo_supervisor(
        &self,
        clock: Arc<dyn Clock>,
        accounts: u64,
        seed: u64,
    ) -> (Service, caredesk::domain::Actor) {
        let svc = self.service(clock).await;
        caredesk::demo::build(&svc, accounts, seed, "sofia", None)
            .await
            .expect("demo");
        let actor = svc
            .actor(self.supervisor_login())
            .await
            .expect("supervisor");
        (svc, actor)
    }

    /// A service acting as `login` with `role`, registered by `sup` (a supervisor). On
    /// PostgreSQL agents and auditors have no rights on the database: a server acts for them on
    /// its own connection, vouching for who they are. So there the service runs on the test
    /// database's own (admin) connection and resolves the agent with `Service::actor_for`, as
    /// `caredesk serve` does; the rules it enforces are the service's, the same on both backends.
    pub async fn as_agent(
        &self,
        sup_svc: &Service,
        sup: &caredesk::domain::Actor,
        login: &str,
        role: caredesk::domain::Role,
        clock: Arc<dyn Clock>,
    ) -> (Service, caredesk::domain::Actor) {
        if sup_svc
            .agents(sup)
            .await
            .expect("agents")
            .iter()
            .all(|a| a.login != login)
        {
            sup_svc
                .add_agent(sup, login, None, role)
                .await
                .expect("add agent");
        }
        let svc = self.service(clock).await;
        let actor = if self.is_postgres() {
            svc.actor_for(login).await
        } else {
            svc.actor(Some(login)).await
        }
        .expect("agent resolves");
        (svc, actor)
    }

    /// The URL of this PostgreSQL test database with `login` as its user (PostgreSQL only).
    pub fn url_as(&self, login: &str) -> String {
        match (&self.admin_url, &self.db_name) {
            (Some(admin), Some(name)) => replace_user(&replace_db_name(admin, name), login),
            _ => panic!("a database login needs PostgreSQL"),
        }
    }

    /// The name of this PostgreSQL test database (PostgreSQL only).
    pub fn pg_name(&self) -> &str {
        self.db_name.as_deref().expect("a PostgreSQL test database")
    }

    /// A copy of this PostgreSQL test database made with `CREATE DATABASE … TEMPLATE` (as a
    /// provisioning script or a restore would): tables, data, triggers and every grant on them.
    /// Nothing may be connected to this database meanwhile (close its services first).
    pub async fn copy_by_template(&self) -> TestDb {
        let (Some(admin), Some(name)) = (&self.admin_url, &self.db_name) else {
            panic!("CREATE DATABASE … TEMPLATE needs PostgreSQL");
        };
        let copy = format!("{name}_c");
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .expect("admin connection");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {copy} TEMPLATE {name}"
        )))
        .execute(&mut conn)
        .await
        .expect("create the copy");
        conn.close().await.ok();
        let url_text = replace_db_name(admin, &copy);
        TestDb {
            url: DbUrl::parse(&url_text).expect("url"),
            url_text,
            admin_url: Some(admin.clone()),
            db_name: Some(copy),
            dir: None,
        }
    }

    /// Drops a PostgreSQL test database (SQLite's goes with its temp dir).
    pub async fn cleanup(self) {
        if let (Some(admin), Some(name)) = (&self.admin_url, &self.db_name)
            && let Ok(mut conn) = sqlx::PgConnection::connect(admin).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
            // `db grant` made group roles named after the database (and earlier releases
            // three others). One at a time: a role that still holds privileges in another
            // database (a copy made from this one) stays, and must not keep the others.
            for suffix in ["server", "operator", "agent", "supervisor", "auditor"] {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP ROLE IF EXISTS {name}_{suffix}"
                )))
                .execute(&mut conn)
                .await;
            }
        }
    }
}

pub(crate) fn replace_user(url: &str, login: &str) -> String {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &url[scheme_end..];
    let host_start = rest.find('@').map(|i| i + 1).unwrap_or(0);
    format!("{}{login}@{}", &url[..scheme_end], &rest[host_start..])
}

fn replace_db_name(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = head[scheme_end..].find('/').map(|i| i + scheme_end);
    let mut url = match path_start {
        Some(i) => format!("{}/{}", &head[..i], name),
        None => format!("{head}/{name}"),
    };
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// A clock fixed in the week of the incident's aftermath.
pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2009, 10, 14, 16, 0, 0)
            .single()
            .expect("time"),
    ))
}

/// A small deterministic generator for kill schedules; tests print its seed so a failure can
/// be replayed.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}
