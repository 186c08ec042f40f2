//! Runs the screen's effects off the render path and answers with messages, in three lanes,
//! each its own task, so one slow lane never holds up another:
//! - search: a watch channel, so while one query runs only the newest waits (type-ahead);
//! - account: loads, previews and actions on the account on screen, in order;
//! - counts: the worklist, the dashboard and the approvals queue, which may be slow on a big
//!   incident.

use crate::tui::zone::Zone;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::app::{APPROVALS_LIMIT, Command, Effect, Msg, SEARCH_LIMIT};
use crate::desk::Desk;
use crate::domain::{CreditOutcome, RequestOutcome, RequestStatus};
use crate::service::credit::IncidentCredit;

/// What runs an effect; the desk (in process or through a server) in the product, a stand-in
/// in tests.
pub trait Runner: Send + Sync + 'static {
    fn run(&self, effect: Effect) -> impl Future<Output = Msg> + Send;
}

struct DeskRunner {
    desk: Desk,
}

impl Runner for DeskRunner {
    fn run(&self, effect: Effect) -> impl Future<Output = Msg> + Send {
        run(&self.desk, effect)
    }
}

/// The lane an effect runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Search,
    Account,
    Counts,
}

impl Lane {
    pub fn of(effect: &Effect) -> Self {
        match effect {
            Effect::Search { .. } => Lane::Search,
            Effect::LoadWorklist { .. }
            | Effect::LoadDashboard
            | Effect::LoadRuns
            | Effect::LoadApprovals
            | Effect::CheckMe => Lane::Counts,
            Effect::LoadAccount { .. }
            | Effect::RefreshAccount { .. }
            | Effect::Beat { .. }
            | Effect::RevealAccount { .. }
            | Effect::RestorePreview { .. }
            | Effect::FindUndo { .. }
            | Effect::Run(_) => Lane::Account,
        }
    }
}

pub struct Worker {
    search: watch::Sender<Option<Effect>>,
    account: mpsc::UnboundedSender<Effect>,
    counts: mpsc::UnboundedSender<Effect>,
}

impl Worker {
    pub fn spawn(desk: Desk, tx: mpsc::UnboundedSender<Msg>) -> Self {
        Self::with_runner(Arc::new(DeskRunner { desk }), tx)
    }

    pub fn with_runner<R: Runner>(runner: Arc<R>, tx: mpsc::UnboundedSender<Msg>) -> Self {
        let (search, mut search_rx) = watch::channel::<Option<Effect>>(None);
        let (r, t) = (runner.clone(), tx.clone());
        tokio::spawn(async move {
            while search_rx.changed().await.is_ok() {
                let latest = search_rx.borrow_and_update().clone();
                if let Some(effect) = latest
                    && t.send(r.run(effect).await).is_err()
                {
                    return;
                }
            }
        });
        Self {
            search,
            account: ordered_lane(runner.clone(), tx.clone()),
            counts: ordered_lane(runner, tx),
        }
    }

    pub fn send(&self, effect: Effect) {
        match Lane::of(&effect) {
            Lane::Search => {
                let _ = self.search.send(Some(effect));
            }
            Lane::Account => {
                let _ = self.account.send(effect);
            }
            Lane::Counts => {
                let _ = self.counts.send(effect);
            }
        }
    }
}

/// A lane that runs its effects one after the other, in the order sent.
fn ordered_lane<R: Runner>(
    runner: Arc<R>,
    tx: mpsc::UnboundedSender<Msg>,
) -> mpsc::UnboundedSender<Effect> {
    let (lane, mut rx) = mpsc::unbounded_channel::<Effect>();
    tokio::spawn(async move {
        while let Some(effect) = rx.recv().await {
            if tx.send(runner.run(effect).await).is_err() {
                return;
            }
        }
    });
    lane
}

/// Runs one effect on `desk` and answers with its message (what each lane does with it).
pub(crate) async fn run(desk: &Desk, effect: Effect) -> Msg {
    match effect {
        Effect::Search { seq, query } => {
            let result = desk
                .search(query.clone(), SEARCH_LIMIT)
                .await
                .map_err(|e| e.to_string());
            Msg::SearchDone { seq, query, result }
        }
        Effect::LoadAccount { id } => Msg::AccountAnswer {
            id,
            result: desk
                .detail(id, false)
                .await
                .map(Box::new)
                .map_err(|e| e.to_string()),
        },
        Effect::RevealAccount { id } => Msg::AccountAnswer {
            id,
            result: desk
                .detail(id, true)
                .await
                .map(Box::new)
                .map_err(|e| e.to_string()),
        },
        Effect::LoadWorklist { status } => {
            Msg::WorklistLoaded(desk.worklist(status, 500).await.map_err(|e| e.to_string()))
        }
        Effect::LoadDashboard => Msg::DashboardLoaded(
            desk.totals(Some(crate::service::contact::end_of_local_day(
                chrono::Utc::now(),
            )))
            .await
            .map_err(|e| e.to_string()),
        ),
        Effect::LoadRuns => Msg::RunsLoaded(desk.running_runs().await.map_err(|e| e.to_string())),
        Effect::RefreshAccount { id } => {
            let mut result = desk.refresh(id).await;
            // The screen's presence lapsed (a laptop asleep): hold it again, then re-read.
            if result.as_ref().is_err_and(|e| e.exit_code() == 3) {
                result = desk.detail(id, false).await;
            }
            Msg::AccountAnswer {
                id,
                result: result.map(Box::new).map_err(|e| e.to_string()),
            }
        }
        Effect::Beat { screen, account } => Msg::Presence {
            account,
            result: desk
                .presence(screen, account)
                .await
                .map_err(|e| e.to_string()),
        },
        Effect::CheckMe => Msg::Me(
            desk.whoami()
                .await
                .map_err(|e| (e.to_string(), e.exit_code() == 3)),
        ),
        Effect::LoadApprovals => {
            let result = desk
                .credit_requests(Some(RequestStatus::Pending), APPROVALS_LIMIT)
                .await
                .map_err(|e| e.to_string());
            Msg::ApprovalsLoaded {
                at: chrono::Utc::now(),
                result,
            }
        }
        Effect::RestorePreview {
            seq,
            account_no,
            backup_id,
            categories,
            mode,
        } => Msg::RestorePreviewed {
            seq,
            result: desk
                .restore_preview(account_no, backup_id, categories, mode)
                .await
                .map(Box::new)
                .map_err(|e| e.to_string()),
        },
        Effect::FindUndo {
            account_id,
            account_no,
        } => Msg::UndoCandidate {
            account_id,
            result: desk
                .restores(account_no)
                .await
                .map(|list| list.into_iter().find(|r| r.undone_at.is_none()))
                .map_err(|e| e.to_string()),
        },
        Effect::Run(command) => {
            let (result, reload) = execute(desk, command).await;
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

async fn execute(desk: &Desk, command: Command) -> (Result<String, String>, i64) {
    match command {
        Command::ApplyCredit {
            account_id,
            account_no,
            incident,
        } => {
            let r =
                desk.credit_apply(account_no, Some(incident), false)
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
            incident,
            reason,
        } => {
            let r = desk
                .credit_request(account_no, Some(incident), reason)
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
            let r = desk
                .credit_approve(request_id)
                .await
                .map(|o| credit_text(&o));
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::Reject {
            account_id,
            request_id,
            reason,
        } => {
            let r = desk.credit_reject(request_id, reason).await.map(|o| {
                let r = o.request();
                if o.is_new() {
                    format!(
                        "request #{} rejected; {} reads the reason on the account",
                        r.id, r.requested_by
                    )
                } else {
                    format!(
                        "request #{} was already rejected with that reason; nothing changed",
                        r.id
                    )
                }
            });
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::AddNote {
            account_id,
            account_no,
            text,
        } => {
            let r = desk
                .add_note(account_no, text)
                .await
                .map(|(_, id)| format!("note #{id} added"));
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::Advise {
            account_id,
            account_no,
            incident,
        } => {
            let r = desk
                .advise(account_no, Some(incident), crate::domain::Channel::Call)
                .await
                .map(|o| {
                    let words = Zone::Local.advice_words(&o.advice, chrono::Utc::now());
                    if o.recorded {
                        format!("recorded: {words}")
                    } else {
                        format!("already {words}; nothing changed")
                    }
                });
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::Callback {
            account_id,
            account_no,
            due_at,
            note,
        } => {
            let r = desk.callback_add(account_no, due_at, note).await.map(|c| {
                format!(
                    "callback #{} set: you will call back {}",
                    c.id,
                    Zone::Local.words(c.due_at, chrono::Utc::now())
                )
            });
            (r.map_err(|e| e.to_string()), account_id)
        }
        Command::Restore {
            account_id,
            account_no,
            backup_id,
            categories,
            mode,
        } => {
            let r = desk
                .restore_apply(account_no, backup_id, categories, mode)
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
            let r = desk.restore_undo(restore_id).await.map(|u| {
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
            incident,
            category,
        } => {
            let r = desk
                .record_resync(account_no, Some(incident), category, None)
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
            incident,
            category,
            reason,
        } => {
            let r = desk
                .declare_loss(account_no, Some(incident), category, reason)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::Semaphore;

    /// Answers at once, except the dashboard, which waits until the test lets it go.
    struct Stuck {
        dashboard: Semaphore,
    }

    impl Runner for Stuck {
        async fn run(&self, effect: Effect) -> Msg {
            match effect {
                Effect::LoadDashboard => {
                    let _ = self.dashboard.acquire().await;
                    Msg::DashboardLoaded(Err("late".to_string()))
                }
                Effect::LoadAccount { id } => Msg::AccountAnswer {
                    id,
                    result: Err("stand-in".to_string()),
                },
                Effect::Search { seq, query } => Msg::SearchDone {
                    seq,
                    query,
                    result: Ok(Vec::new()),
                },
                _ => Msg::Resize,
            }
        }
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<Msg>) -> Msg {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an answer within 5 s")
            .expect("worker alive")
    }

    #[tokio::test]
    async fn a_slow_dashboard_count_never_delays_opening_an_account_or_searching() {
        let runner = Arc::new(Stuck {
            dashboard: Semaphore::new(0),
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let worker = Worker::with_runner(runner.clone(), tx);
        worker.send(Effect::LoadDashboard);
        worker.send(Effect::LoadAccount { id: 7 });
        assert!(matches!(
            next(&mut rx).await,
            Msg::AccountAnswer { id: 7, .. }
        ));
        worker.send(Effect::Search {
            seq: 1,
            query: "jo".to_string(),
        });
        assert!(matches!(
            next(&mut rx).await,
            Msg::SearchDone { seq: 1, .. }
        ));
        runner.dashboard.add_permits(1);
        assert!(matches!(next(&mut rx).await, Msg::DashboardLoaded(_)));
    }

    #[test]
    fn each_effect_has_its_lane() {
        assert_eq!(Lane::of(&Effect::LoadDashboard), Lane::Counts);
        assert_eq!(
            Lane::of(&Effect::LoadWorklist { status: None }),
            Lane::Counts
        );
        assert_eq!(Lane::of(&Effect::LoadApprovals), Lane::Counts);
        assert_eq!(Lane::of(&Effect::LoadAccount { id: 1 }), Lane::Account);
        assert_eq!(Lane::of(&Effect::RevealAccount { id: 1 }), Lane::Account);
        assert_eq!(
            Lane::of(&Effect::Search {
                seq: 1,
                query: String::new()
            }),
            Lane::Search
        );
    }
}
