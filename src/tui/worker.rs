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
        let (s, t, a) = (svc.clone(), tx.clone(), actor.clone());
        tokio::spawn(async move {
            while search_rx.changed().await.is_ok() {
                let latest = search_rx.borrow_and_update().clone();
                if let Some((seq, query)) = latest {
                    let result = s
                        .search(&a, &query, SEARCH_LIMIT)
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
                .search(actor, &query, SEARCH_LIMIT)
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
        Effect::RevealAccount { id } => Msg::AccountLoaded(
            svc.detail_revealed(actor, id)
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
        Effect::RestorePreview {
            seq,
            account_no,
            backup_id,
            categories,
            mode,
        } => Msg::RestorePreviewed {
            seq,
            result: svc
                .restore_preview(actor, &account_no, &backup_id, &categories, mode)
                .await
                .map(Box::new)
                .map_err(|e| e.to_string()),
        },
        Effect::FindUndo {
            account_id,
            account_no,
        } => Msg::UndoCandidate {
            account_id,
            result: svc
                .restores(actor, &account_no)
                .await
                .map(|list| list.into_iter().find(|r| r.undone_at.is_none()))
                .map_err(|e| e.to_string()),
        },
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
        Command::Restore {
            account_id,
            account_no,
            backup_id,
            categories,
            mode,
        } => {
            let r = svc
                .restore_apply(actor, &account_no, &backup_id, &categories, mode)
                .await
                .map(|r| {
                    let parts: Vec<String> = r
                        .categories
                        .iter()
                        .map(|c| format!("{} +{} ({})", c.category, c.counts.add, c.result))
                        .collect();
                    match r.restore_id {
                        Some(id) => format!(
                            "{}: {}; restore #{id}",
                            r.outcome.as_str(),
                            parts.join(", ")
                        ),
                        None => format!("{}: {}", r.outcome.as_str(), parts.join(", ")),
                    }
                });
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::Undo {
            account_id,
            restore_id,
        } => {
            let r = svc.restore_undo(actor, restore_id).await.map(|u| {
                if u.already_undone {
                    format!("restore #{restore_id} was already undone; nothing changed")
                } else {
                    let parts: Vec<String> = u
                        .categories
                        .iter()
                        .map(|c| {
                            format!(
                                "{}: {} removed, {} put back",
                                c.category, c.removed, c.put_back
                            )
                        })
                        .collect();
                    format!("restore #{restore_id} undone ({})", parts.join("; "))
                }
            });
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::Resync {
            account_id,
            account_no,
            category,
        } => {
            let r = svc
                .record_resync(actor, &account_no, None, category, None)
                .await
                .map(|r| {
                    if r.changed {
                        format!(
                            "{category} re-synced from the phone: {} of {} items",
                            r.items, r.items_before
                        )
                    } else {
                        format!("{category}: that re-sync was already recorded; nothing changed")
                    }
                });
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
