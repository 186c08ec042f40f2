//! The service a suite acts through. By default the suites call the service in process; with
//! `CAREDESK_TEST_THROUGH_SERVER=1` every use case a suite calls as an agent goes through a
//! `caredesk serve` started in the test process on 127.0.0.1 (port 0), with a session for that
//! agent: the same suites, the same assertions, a third time through a server. The wrapper
//! dereferences to the service for everything else (its store, its clock, set-up).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use caredesk::desk::{Desk, Remote};
use caredesk::domain::restore::Mode;
use caredesk::domain::{
    AccountDetail, AccountSummary, Actor, Callback, CallbackState, Category, CategoryStatus, Cents,
    Channel, CreditOutcome, RejectOutcome, RequestOutcome, RequestStatus, RequestView,
    RestoreRecord, RestoreReport, ResyncReport, UndoReport, Worklist,
};
use caredesk::error::Result;
use caredesk::service::Service;
use caredesk::service::credit::IncidentCredit;
use caredesk::store::{AdviceOutcome, AuditRecord, AuditVerification, IncidentTotals};
use tokio::sync::Mutex;

pub fn through_server() -> bool {
    std::env::var("CAREDESK_TEST_THROUGH_SERVER").is_ok_and(|v| v == "1")
}

#[derive(Clone)]
pub struct Svc {
    inner: Service,
    /// The server (its URL) and one desk per login, made on first use.
    remote: Arc<Mutex<Served>>,
}

/// A server's URL, once started, and the desk of each login that called through it.
type Served = (Option<String>, HashMap<String, Desk>);

impl Deref for Svc {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.inner
    }
}

/// Set-up only (import chunk sizes and the like), before the first call through a server.
impl std::ops::DerefMut for Svc {
    fn deref_mut(&mut self) -> &mut Service {
        &mut self.inner
    }
}

impl From<Service> for Svc {
    fn from(inner: Service) -> Self {
        Self {
            inner,
            remote: Arc::new(Mutex::new((None, HashMap::new()))),
        }
    }
}

impl Svc {
    pub fn service(&self) -> &Service {
        &self.inner
    }

    /// Through a server, opens `actor`'s session now (set-up writes audit records: a test
    /// that counts them starts after this).
    pub async fn prepare(&self, actor: &Actor) {
        if through_server() {
            self.desk(actor).await;
        }
    }

    /// The desk `actor` works through: a session on this service's server.
    pub async fn desk(&self, actor: &Actor) -> Desk {
        let mut guard = self.remote.lock().await;
        if guard.0.is_none() {
            guard.0 = Some(start_server(self.inner.clone()).await);
        }
        if let Some(d) = guard.1.get(&actor.login) {
            return d.clone();
        }
        let url = guard.0.clone().expect("server");
        let token = session(&self.inner, &actor.login).await;
        let desk = Desk::Remote(Remote::new(&url, Some(token)).expect("remote"));
        guard.1.insert(actor.login.clone(), desk.clone());
        desk
    }

    /// This service's server (started on first use) and a new session token for `actor`,
    /// for the real binary to work through with `--server` (each call opens a session and
    /// writes its audit record: take them before counting records).
    pub async fn server_session(&self, actor: &Actor) -> (String, String) {
        let url = {
            let mut guard = self.remote.lock().await;
            if guard.0.is_none() {
                guard.0 = Some(start_server(self.inner.clone()).await);
            }
            guard.0.clone().expect("server")
        };
        (url, session(&self.inner, &actor.login).await)
    }

    pub async fn show(&self, actor: &Actor, account: &str) -> Result<AccountDetail> {
        if !through_server() {
            return self.inner.show(actor, account).await;
        }
        self.desk(actor)
            .await
            .show(account.to_string(), false)
            .await
    }

    pub async fn show_revealed(&self, actor: &Actor, account: &str) -> Result<AccountDetail> {
        if !through_server() {
            return self.inner.show_revealed(actor, account).await;
        }
        self.desk(actor).await.show(account.to_string(), true).await
    }

    pub async fn search(
        &self,
        actor: &Actor,
        query: &str,
        limit: usize,
    ) -> Result<Vec<AccountSummary>> {
        if !through_server() {
            return self.inner.search(actor, query, limit).await;
        }
        self.desk(actor)
            .await
            .search(query.to_string(), limit)
            .await
    }

    pub async fn worklist(
        &self,
        actor: &Actor,
        status: Option<CategoryStatus>,
        limit: usize,
    ) -> Result<Worklist> {
        if !through_server() {
            return self.inner.worklist(actor, status, limit).await;
        }
        self.desk(actor).await.worklist(status, limit).await
    }

    /// The worklist's accounts, in its order.
    pub async fn worklist_accounts(
        &self,
        actor: &Actor,
        status: Option<CategoryStatus>,
        limit: usize,
    ) -> Result<Vec<AccountSummary>> {
        let list = self.worklist(actor, status, limit).await?;
        Ok(list.entries.into_iter().map(|e| e.account).collect())
    }

    pub async fn advise(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        channel: Channel,
    ) -> Result<AdviceOutcome> {
        if !through_server() {
            return self.inner.advise(actor, account, incident, channel).await;
        }
        self.desk(actor)
            .await
            .advise(account.to_string(), incident.map(str::to_string), channel)
            .await
    }

    pub async fn callback_add(
        &self,
        actor: &Actor,
        account: &str,
        due_at: chrono::DateTime<chrono::Utc>,
        note: &str,
    ) -> Result<Callback> {
        if !through_server() {
            return self.inner.callback_add(actor, account, due_at, note).await;
        }
        self.desk(actor)
            .await
            .callback_add(account.to_string(), due_at, note.to_string())
            .await
    }

    pub async fn callback_close(
        &self,
        actor: &Actor,
        id: i64,
        to: CallbackState,
    ) -> Result<(Callback, bool)> {
        if !through_server() {
            return self.inner.callback_close(actor, id, to).await;
        }
        self.desk(actor).await.callback_close(id, to).await
    }

    pub async fn add_note(
        &self,
        actor: &Actor,
        account: &str,
        text: &str,
    ) -> Result<(AccountSummary, i64)> {
        if !through_server() {
            return self.inner.add_note(actor, account, text).await;
        }
        self.desk(actor)
            .await
            .add_note(account.to_string(), text.to_string())
            .await
    }

    pub async fn declare_loss(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        category: Category,
        reason: &str,
    ) -> Result<bool> {
        if !through_server() {
            return self
                .inner
                .declare_loss(actor, account, incident, category, reason)
                .await;
        }
        self.desk(actor)
            .await
            .declare_loss(
                account.to_string(),
                incident.map(str::to_string),
                category,
                reason.to_string(),
            )
            .await
    }

    pub async fn credit_apply(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        dry_run: bool,
    ) -> Result<IncidentCredit> {
        if !through_server() {
            return self
                .inner
                .credit_apply(actor, account, incident, dry_run)
                .await;
        }
        self.desk(actor)
            .await
            .credit_apply(account.to_string(), incident.map(str::to_string), dry_run)
            .await
    }

    pub async fn credit_request(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        reason: &str,
    ) -> Result<RequestOutcome> {
        if !through_server() {
            return self
                .inner
                .credit_request(actor, account, incident, reason)
                .await;
        }
        self.desk(actor)
            .await
            .credit_request(
                account.to_string(),
                incident.map(str::to_string),
                reason.to_string(),
            )
            .await
    }

    pub async fn credit_approve(&self, actor: &Actor, request_id: i64) -> Result<CreditOutcome> {
        if !through_server() {
            return self.inner.credit_approve(actor, request_id).await;
        }
        self.desk(actor).await.credit_approve(request_id).await
    }

    pub async fn credit_reject(
        &self,
        actor: &Actor,
        request_id: i64,
        reason: &str,
    ) -> Result<RejectOutcome> {
        if !through_server() {
            return self.inner.credit_reject(actor, request_id, reason).await;
        }
        self.desk(actor)
            .await
            .credit_reject(request_id, reason.to_string())
            .await
    }

    pub async fn credit_requests(
        &self,
        actor: &Actor,
        status: Option<RequestStatus>,
        limit: usize,
    ) -> Result<Vec<RequestView>> {
        if !through_server() {
            return self.inner.credit_requests(actor, status, limit).await;
        }
        self.desk(actor).await.credit_requests(status, limit).await
    }

    pub async fn set_goodwill_cap(&self, actor: &Actor, cap: Cents) -> Result<()> {
        if !through_server() {
            return self.inner.set_goodwill_cap(actor, cap).await;
        }
        self.desk(actor).await.set_goodwill_cap(cap.0).await
    }

    pub async fn credit_goodwill(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        amount: Cents,
        reason: &str,
        key: Option<&str>,
    ) -> Result<CreditOutcome> {
        if !through_server() {
            return self
                .inner
                .credit_goodwill(actor, account, incident, amount, reason, key)
                .await;
        }
        self.desk(actor)
            .await
            .credit_goodwill(
                account.to_string(),
                incident.map(str::to_string),
                amount.0,
                reason.to_string(),
                key.map(str::to_string),
            )
            .await
    }

    pub async fn totals(&self, actor: &Actor) -> Result<IncidentTotals> {
        self.totals_until(actor, None).await
    }

    /// The dashboard's figures, with the callbacks due by `day_end`.
    pub async fn totals_until(
        &self,
        actor: &Actor,
        day_end: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<IncidentTotals> {
        if !through_server() {
            return self.inner.totals(actor, day_end).await;
        }
        self.desk(actor).await.totals(day_end).await
    }

    pub async fn credit_reverse(
        &self,
        actor: &Actor,
        credit_id: i64,
        reason: &str,
    ) -> Result<CreditOutcome> {
        if !through_server() {
            return self.inner.credit_reverse(actor, credit_id, reason).await;
        }
        self.desk(actor)
            .await
            .credit_reverse(credit_id, reason.to_string())
            .await
    }

    pub async fn restore_preview(
        &self,
        actor: &Actor,
        account: &str,
        backup_id: &str,
        categories: &[Category],
        mode: Mode,
    ) -> Result<RestoreReport> {
        if !through_server() {
            return self
                .inner
                .restore_preview(actor, account, backup_id, categories, mode)
                .await;
        }
        self.desk(actor)
            .await
            .restore_preview(
                account.to_string(),
                backup_id.to_string(),
                categories.to_vec(),
                mode,
            )
            .await
    }

    pub async fn restore_apply(
        &self,
        actor: &Actor,
        account: &str,
        backup_id: &str,
        categories: &[Category],
        mode: Mode,
    ) -> Result<RestoreReport> {
        if !through_server() {
            return self
                .inner
                .restore_apply(actor, account, backup_id, categories, mode)
                .await;
        }
        self.desk(actor)
            .await
            .restore_apply(
                account.to_string(),
                backup_id.to_string(),
                categories.to_vec(),
                mode,
            )
            .await
    }

    pub async fn restore_undo(&self, actor: &Actor, restore_id: i64) -> Result<UndoReport> {
        if !through_server() {
            return self.inner.restore_undo(actor, restore_id).await;
        }
        self.desk(actor).await.restore_undo(restore_id).await
    }

    pub async fn restores(&self, actor: &Actor, account: &str) -> Result<Vec<RestoreRecord>> {
        if !through_server() {
            return self.inner.restores(actor, account).await;
        }
        self.desk(actor).await.restores(account.to_string()).await
    }

    pub async fn record_resync(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        category: Category,
        items: Option<i64>,
    ) -> Result<ResyncReport> {
        if !through_server() {
            return self
                .inner
                .record_resync(actor, account, incident, category, items)
                .await;
        }
        self.desk(actor)
            .await
            .record_resync(
                account.to_string(),
                incident.map(str::to_string),
                category,
                items,
            )
            .await
    }

    pub async fn audit_verify(&self, actor: &Actor) -> Result<AuditVerification> {
        if !through_server() {
            return self.inner.audit_verify(actor).await;
        }
        self.desk(actor).await.audit_verify().await
    }

    pub async fn audit_log(
        &self,
        actor: &Actor,
        account: Option<&str>,
        since: Option<chrono::DateTime<chrono::Utc>>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        if !through_server() {
            return self.inner.audit_log(actor, account, since, limit).await;
        }
        self.desk(actor)
            .await
            .audit_log(account.map(str::to_string), since, limit)
            .await
    }

    pub async fn disable_agent(&self, actor: &Actor, login: &str) -> Result<bool> {
        if !through_server() {
            return self.inner.disable_agent(actor, login).await;
        }
        self.desk(actor)
            .await
            .disable_agent(login.to_string())
            .await
    }
}

/// A server for `svc` on 127.0.0.1, port 0; its URL.
async fn start_server(svc: Service) -> String {
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let tx = std::sync::Mutex::new(Some(tx));
    let listen = caredesk::server::Listen {
        tcp: Some("127.0.0.1:0".parse().expect("addr")),
        tls: None,
        unix: None,
    };
    tokio::spawn(async move {
        let ready = |addr: &str| {
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(addr.to_string());
            }
        };
        caredesk::server::serve(svc, listen, ready, std::future::pending::<()>())
            .await
            .expect("test server");
    });
    rx.await.expect("the test server is listening")
}

/// A session for `login`: a one-time password set straight in the store (as `agent password`
/// does, here by the agent itself), then the first login choosing the suite's password.
async fn session(svc: &Service, login: &str) -> String {
    let one_time = "one-time-password-of-the-suite";
    let password = "test-password-of-the-suite";
    let hash = caredesk::service::session::hash_password(one_time.to_string())
        .await
        .expect("hash");
    let me = svc.actor_for(login).await.expect("agent");
    caredesk::with_store!(svc.store(), s => s.set_one_time_password(&me, login, &hash, svc.now()).await)
        .expect("set the password");
    match svc
        .login(login, one_time, Some(password))
        .await
        .expect("login")
    {
        caredesk::service::session::LoginOutcome::Session { token, .. } => token,
        caredesk::service::session::LoginOutcome::ChangeRequired => {
            panic!("the new password was given")
        }
    }
}
