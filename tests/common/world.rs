//! The one world a story test starts from: a database on the backend the environment selects,
//! a fixed clock, a service acting as its supervisor, and a directory for the files the test
//! writes. Built either as a demo or as an empty database the test fills itself.

use std::path::PathBuf;
use std::sync::Arc;

use caredesk::domain::Actor;
use caredesk::domain::{Clock, FixedClock, Role};
use caredesk::service::Service;
use caredesk::store::{ImportCounts, Store};

use super::{Svc, TestDb, clock};

pub struct World {
    pub db: TestDb,
    pub clock: Arc<FixedClock>,
    /// The service acting as the supervisor, and that supervisor.
    pub svc: Svc,
    pub sup: Actor,
    /// How the import helpers hand rows to the store: parsed first and handed over as a slice
    /// (false), or as the command does it, parsed on a thread while the store writes (true).
    pub files: bool,
    dir: tempfile::TempDir,
}

impl World {
    /// A demo of `accounts` accounts built with `seed`, its supervisor `sofia` on SQLite (the
    /// connection's login on PostgreSQL).
    pub async fn demo(accounts: u64, seed: u64) -> Self {
        let db = TestDb::new().await;
        let clock = clock();
        let (svc, sup) = db
            .demo_supervisor(clock.clone() as Arc<dyn Clock>, accounts, seed)
            .await;
        let w = Self::of(db, clock, svc, sup);
        w.svc.prepare(&w.sup).await;
        w
    }

    /// An empty database with its incident and one supervisor, `admin` (the connection's login
    /// on PostgreSQL): the test imports the accounts it needs.
    pub async fn empty(admin: &str) -> Self {
        Self::empty_importing(admin, caredesk::store::IMPORT_CHUNK, false).await
    }

    /// The same, importing `chunk` rows at a time, from parsed rows or from files (`files`).
    pub async fn empty_importing(admin: &str, chunk: usize, files: bool) -> Self {
        let db = TestDb::new().await;
        let clock = clock();
        let mut svc = db.service(clock.clone() as Arc<dyn Clock>).await;
        svc.set_import_chunk(chunk);
        svc.init_admin(
            admin,
            Some(&caredesk::demo::incident().expect("demo incident")),
        )
        .await
        .expect("init");
        let sup = svc
            .actor(if db.is_postgres() { None } else { Some(admin) })
            .await
            .expect("supervisor");
        let mut w = Self::of(db, clock, svc, sup);
        w.files = files;
        w.svc.prepare(&w.sup).await;
        w
    }

    fn of(db: TestDb, clock: Arc<FixedClock>, svc: Service, sup: Actor) -> Self {
        Self {
            db,
            clock,
            svc: svc.into(),
            sup,
            files: false,
            dir: tempfile::tempdir().expect("dir"),
        }
    }

    /// A service acting as `login` with `role`, registered by the supervisor when new.
    pub async fn as_agent(&self, login: &str, role: Role) -> (Svc, Actor) {
        let (svc, actor) = self
            .db
            .as_agent(
                &self.svc,
                &self.sup,
                login,
                role,
                self.clock.clone() as Arc<dyn Clock>,
            )
            .await;
        let svc: Svc = svc.into();
        svc.prepare(&actor).await;
        (svc, actor)
    }

    pub fn store(&self) -> &Store {
        self.svc.store()
    }

    /// A path in the world's directory, for a file the test writes or the binary writes.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary as the supervisor.
    pub fn cli(&self) -> assert_cmd::Command {
        self.db.cli()
    }

    /// The binary as `login` (see `TestDb::identity`: on PostgreSQL only an operator's login
    /// has rights).
    pub fn cli_as(&self, login: &str) -> assert_cmd::Command {
        self.db.cli_as(login)
    }

    /// `import accounts` of `csv` as the supervisor.
    pub async fn accounts(&self, name: &str, csv: &str) -> caredesk::error::Result<ImportCounts> {
        if self.files {
            let data = csv.as_bytes().to_vec();
            return self.svc.import_accounts_file(&self.sup, name, data).await;
        }
        let rows = caredesk::import::parse_accounts(name, csv.as_bytes()).expect("parses");
        self.svc.import_accounts(&self.sup, &rows, name).await
    }

    /// `import impact` of `csv` as the supervisor.
    pub async fn impact(&self, name: &str, csv: &str) -> caredesk::error::Result<ImportCounts> {
        if self.files {
            let data = csv.as_bytes().to_vec();
            return self.svc.import_impact_file(&self.sup, name, data).await;
        }
        let rows = caredesk::import::parse_impact(name, csv.as_bytes()).expect("parses");
        self.svc.import_impact(&self.sup, &rows, name).await
    }

    /// `import backups` of `jsonl` as the supervisor.
    pub async fn backups(&self, name: &str, jsonl: &str) -> caredesk::error::Result<ImportCounts> {
        if self.files {
            let data = jsonl.as_bytes().to_vec();
            return self.svc.import_backups_file(&self.sup, name, data).await;
        }
        let rows = caredesk::import::parse_backups(name, jsonl.as_bytes()).expect("parses");
        self.svc.import_backups(&self.sup, &rows, name).await
    }

    /// Imports `account_no` (phone `msisdn`) as an active account on the $19.99 data plan since
    /// 2008: eligible for the incident credit, and holding none yet. Returns its number.
    pub async fn eligible_account(&self, account_no: &str, msisdn: &str) -> String {
        let csv = format!(
            "account_no,msisdn,name,email,status,plan_code,plan_cents,device,plan_from\n\
             {account_no},{msisdn},Eli Gibson,,active,SK-DATA,1999,Sidekick LX,2008-01-15\n"
        );
        self.accounts("eligible.csv", &csv)
            .await
            .expect("an eligible account imports");
        account_no.to_string()
    }

    /// Closes the service and drops the database.
    pub async fn finish(self) {
        self.svc.close().await;
        self.db.cleanup().await;
    }
}
