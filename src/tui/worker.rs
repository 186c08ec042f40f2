//! Runs the screen's effects off the render path and answers with messages. Searches go
//! through a watch channel, so while one runs only the newest query waits (type-ahead);
//! everything else runs in order.

use tokio::sync::{mpsc, watch};

use super::app::{Command, Effect, Msg, SEARCH_LIMIT};
use crate::service::Service;
use crate::service::credit::IncidentCredit;
use crate::store::{Actor, CreditOutcome, RequestOutcome};

pub struct Worker {
    search: watch::Sender<Option<(u64, String)>>,
    other: mpsc::UnboundedSender<Effect>,
}

impl Worker {
    pub fn spawn(svc: Service, actor: Actor, tx: mpsc::UnboundedSender<Msg>) -> Self {
        let (search, mut search_rx) = watch::channel::<Option<(u64, String)>>(None);
        let (other, mut other_rx) = mpsc::unbounded_channel::<Effect>();
        let (s, t) = (svc.clone(), tx.clone());
        tokio::spawn(async move {
            while search_rx.changed().await.is_ok() {
                let latest = search_rx.borrow_and_update().clone();
                if let Some((seq, query)) = latest {
                    let result = s
                        .lookup(&query, SEARCH_LIMIT)
                        .await
                        .map_err(|e| e.to_string());
                    if t.send(Msg::SearchDone { seq, query, result }).is_err() {
                        return;
                    }
                }
            }
        });
        tokio::spawn(async move {
            while let Some(effect) = other_rx.recv().await {
                let msg = run(&svc, &actor, effect).await;
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        Self { search, other }
    }

    pub fn send(&self, effect: Effect) {
        match effect {
            Effect::Search { seq, query } => {
                let _ = self.search.send(Some((seq, query)));
            }
            other => {
                let _ = self.other.send(other);
            }
        }
    }
}

async fn run(svc: &Service, actor: &Actor, effect: Effect) -> Msg {
    match effect {
        Effect::Search { seq, query } => {
            let result = svc
                .lookup(&query, SEARCH_LIMIT)
                .await
                .map_err(|e| e.to_string());
            Msg::SearchDone { seq, query, result }
        }
        Effect::LoadAccount { id } => Msg::AccountLoaded(
            svc.detail(actor, id)
                .await
                .map(Box::new)
                .map_err(|e| e.to_string()),
        ),
        Effect::LoadWorklist { status } => Msg::WorklistLoaded(
            svc.worklist(actor, status, 500)
                .await
                .map_err(|e| e.to_string()),
        ),
        Effect::LoadDashboard => {
            Msg::DashboardLoaded(svc.totals(actor).await.map_err(|e| e.to_string()))
        }
        Effect::Run(command) => {
            let (result, reload) = execute(svc, actor, command).await;
            Msg::Done {
                result,
                reload: Some(reload),
            }
        }
    }
}

fn credit_text(o: &CreditOutcome) -> String {
    let c = o.credit();
    let amount = crate::domain::format_cents(c.amount_cents, &c.currency);
    if o.is_new() {
        format!("credited {amount} ({} credit #{})", c.kind, c.id)
    } else {
        format!(
            "already credited: {} credit #{} of {amount}; nothing changed",
            c.kind, c.id
        )
    }
}

async fn execute(svc: &Service, actor: &Actor, command: Command) -> (Result<String, String>, i64) {
    match command {
        Command::ApplyCredit {
            account_id,
            account_no,
        } => {
            let r =
                svc.credit_apply(actor, &account_no, None, false)
                    .await
                    .map(|o| match o {
                        IncidentCredit::Applied(o) => credit_text(&o),
                        IncidentCredit::WouldCredit { .. }
                        | IncidentCredit::WouldFindCredited(_) => "nothing to do".to_string(),
                    });
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::RequestAppreciation {
            account_id,
            account_no,
            reason,
        } => {
            let r = svc
                .credit_request(actor, &account_no, None, &reason)
                .await
                .map(|o| match o {
                    RequestOutcome::Requested(r) => format!(
                        "requested (request #{}); another supervisor approves it",
                        r.id
                    ),
                    RequestOutcome::AlreadyRequested(r) => {
                        format!("already requested (request #{}); nothing changed", r.id)
                    }
                });
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::Approve {
            account_id,
            request_id,
        } => {
            let r = svc
                .credit_approve(actor, request_id)
                .await
                .map(|o| credit_text(&o));
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::AddNote {
            account_id,
            account_no,
            text,
        } => {
            let r = svc
                .add_note(actor, &account_no, &text)
                .await
                .map(|(_, id)| format!("note #{id} added"));
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::DeclareLoss {
            account_id,
            account_no,
            category,
            reason,
        } => {
            let r = svc
                .declare_loss(actor, &account_no, None, category, &reason)
                .await
                .map(|changed| {
                    if changed {
                        format!("{category} declared permanently lost")
                    } else {
                        format!("{category} was already declared permanently lost")
                    }
                });
            (r.map_err(|e| e.to_string()), account_id)
        }
    }
}
