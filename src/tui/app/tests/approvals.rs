//! The approvals screen driven by messages: the queue loads, rows are chosen, approve and
//! reject go through their dialogs (focus on Cancel), the queue reloads after a decision with
//! the selection kept, and the roles the queue is not for are told so.

use super::*;
use crate::domain::{CreditKind, RequestStatus, RequestView};

fn pending(id: i64, account_id: i64, by: &str) -> RequestView {
    RequestView {
        request: CreditRequest {
            id,
            incident: "danger-2009-10".to_string(),
            kind: CreditKind::Appreciation,
            amount_cents: 10_000,
            reason: format!("lost everything ({id})"),
            requested_by: by.to_string(),
            requested_at: t(2009, 10, 14),
            decided_by: None,
            credit_id: None,
            status: RequestStatus::Pending,
            decided_at: None,
            rejection_reason: None,
        },
        account_id,
        account_no: format!("3100000{account_id:02}"),
        customer: "José Núñez".to_string(),
        currency: "USD".to_string(),
    }
}

/// A supervisor (`omar`) on the approvals screen with `queue` loaded.
fn queue(queue: Vec<RequestView>) -> App {
    let mut a = app(Role::Supervisor);
    a.actor.login = "omar".to_string();
    a.update(code(KeyCode::Esc));
    assert_eq!(a.update(key('p')), vec![Effect::LoadApprovals]);
    assert!(a.approvals_visible() && a.busy());
    a.update(Msg::ApprovalsLoaded {
        at: t(2009, 10, 14),
        result: Ok(queue),
    });
    a
}

#[test]
fn p_opens_the_queue_and_its_rows_are_chosen_and_opened() {
    let mut a = queue(vec![
        pending(1, 7, "alice"),
        pending(2, 8, "bob"),
        pending(3, 9, "alice"),
    ]);
    assert_eq!(a.screen, Screen::Approvals);
    assert!(!a.busy(), "the queue arrived");
    assert_eq!(a.approvals.len(), 3);
    a.update(code(KeyCode::Down));
    a.update(code(KeyCode::Down));
    a.update(code(KeyCode::Down));
    assert_eq!(
        a.approvals_selected, 2,
        "the selection stops at the last row"
    );
    a.update(code(KeyCode::Up));
    assert_eq!(a.approvals_selected, 1);
    assert_eq!(
        a.update(key('R')),
        vec![Effect::LoadApprovals],
        "the reload key reads the queue again"
    );
    let e = a.update(code(KeyCode::Enter));
    assert_eq!(e, vec![Effect::LoadAccount { id: 8 }]);
    assert_eq!(a.screen, Screen::Account);
    assert!(!a.approvals_visible());
    a.update(code(KeyCode::Esc));
    assert_eq!(a.screen, Screen::Approvals, "Esc goes back to the queue");
}

#[test]
fn approving_from_the_queue_asks_first_with_the_focus_on_cancel_then_reloads_it() {
    let mut a = queue(vec![pending(1, 7, "alice"), pending(2, 8, "bob")]);
    a.update(code(KeyCode::Down));
    a.update(key('A'));
    let d = a.dialog().expect("a confirm dialog");
    assert_eq!(d.focus, Button::Cancel);
    let words = prose(&d.confirm).lines.join(" ");
    assert!(
        words.contains("request #2 by bob") && words.contains("310000008"),
        "{words}"
    );
    assert!(
        a.update(code(KeyCode::Enter)).is_empty(),
        "Enter presses the focused button: Cancel"
    );
    assert!(a.dialog().is_none());
    a.update(key('A'));
    assert_eq!(
        a.update(key('y')),
        vec![Effect::Run(Command::Approve {
            account_id: 8,
            request_id: 2
        })]
    );
    let after = a.update(Msg::Done {
        result: Ok("credited $100.00 (appreciation credit #5)".to_string()),
        reload: Some(8),
    });
    assert_eq!(after, vec![Effect::LoadApprovals], "the queue reloads");
    assert!(matches!(&a.message, Some((Level::Info, m)) if m.contains("credited $100.00")));
    a.update(Msg::ApprovalsLoaded {
        at: t(2009, 10, 14),
        result: Ok(vec![pending(1, 7, "alice")]),
    });
    assert_eq!(
        a.approvals_selected, 0,
        "the same row index, clamped to the shorter queue"
    );
}

#[test]
fn rejecting_asks_for_the_reason_then_confirms_and_runs_the_rejection() {
    let mut a = queue(vec![
        pending(1, 7, "alice"),
        pending(2, 8, "bob"),
        pending(3, 9, "alice"),
    ]);
    a.update(code(KeyCode::Down));
    assert!(a.update(key('x')).is_empty());
    assert!(a.input().is_some(), "a text field for the reason");
    for c in "no loss on file; request again".chars() {
        a.update(key(c));
    }
    assert!(!a.quit, "q in the reason is text");
    assert_eq!(a.screen, Screen::Approvals);
    a.update(code(KeyCode::Enter));
    let d = a.dialog().expect("a confirm dialog");
    assert_eq!(d.focus, Button::Cancel);
    let words = prose(&d.confirm).lines.join(" ");
    assert!(
        words.contains("Reject request #2 by bob")
            && words.contains("no loss on file; request again"),
        "{words}"
    );
    assert_eq!(
        a.update(key('y')),
        vec![Effect::Run(Command::Reject {
            account_id: 8,
            request_id: 2,
            reason: "no loss on file; request again".to_string()
        })]
    );
    let after = a.update(Msg::Done {
        result: Ok("request #2 rejected; bob reads the reason on the account".to_string()),
        reload: Some(8),
    });
    assert_eq!(after, vec![Effect::LoadApprovals]);
    a.update(Msg::ApprovalsLoaded {
        at: t(2009, 10, 14),
        result: Ok(vec![pending(1, 7, "alice"), pending(3, 9, "alice")]),
    });
    assert_eq!(
        a.approvals_selected, 1,
        "the selection stays on the same row"
    );
    assert!(matches!(&a.message, Some((Level::Info, m)) if m.contains("request #2 rejected")));
}

#[test]
fn an_empty_reason_or_esc_rejects_nothing() {
    let mut a = queue(vec![pending(1, 7, "alice")]);
    a.update(key('x'));
    a.update(code(KeyCode::Enter));
    assert!(
        a.input().is_some() && a.dialog().is_none(),
        "nothing typed yet"
    );
    assert!(matches!(&a.message, Some((Level::Error, _))));
    a.update(code(KeyCode::Esc));
    assert!(a.input().is_none() && a.dialog().is_none());
    assert_eq!(
        a.screen,
        Screen::Approvals,
        "Esc left the field, not the screen"
    );
}

#[test]
fn nobody_decides_their_own_request_from_the_queue() {
    let mut a = queue(vec![pending(4, 7, "omar")]);
    assert!(a.update(key('A')).is_empty());
    assert!(a.dialog().is_none());
    assert!(
        matches!(&a.message, Some((Level::Error, m)) if m == "omar requested #4 and cannot approve it; another supervisor must")
    );
    assert!(a.update(key('x')).is_empty());
    assert!(a.input().is_none());
    assert!(
        matches!(&a.message, Some((Level::Error, m)) if m == "omar requested #4 and cannot reject it; another supervisor must")
    );
}

#[test]
fn an_agent_is_told_the_queue_is_not_theirs_and_an_auditor_only_reads_it() {
    let mut agent = app(Role::Agent);
    agent.update(code(KeyCode::Esc));
    assert!(agent.update(key('p')).is_empty());
    assert_eq!(agent.screen, Screen::Search);
    assert!(
        matches!(&agent.message, Some((Level::Error, m)) if m == "alice (agent) may not list the appreciation requests of every account"),
        "{:?}",
        agent.message
    );
    let mut auditor = app(Role::Auditor);
    auditor.update(code(KeyCode::Esc));
    assert_eq!(auditor.update(key('p')), vec![Effect::LoadApprovals]);
    auditor.update(Msg::ApprovalsLoaded {
        at: t(2009, 10, 14),
        result: Ok(vec![pending(1, 7, "bob")]),
    });
    assert!(auditor.update(key('x')).is_empty());
    assert!(auditor.input().is_none());
    assert!(
        matches!(&auditor.message, Some((Level::Error, m)) if m.contains("(auditor) may not approve a credit request"))
    );
}

#[test]
fn an_empty_queue_says_so_and_a_failed_load_is_told() {
    let mut a = queue(Vec::new());
    assert!(a.update(key('A')).is_empty());
    assert!(matches!(&a.message, Some((Level::Info, m)) if m.contains("no request is waiting")));
    a.update(key('R'));
    a.update(Msg::ApprovalsLoaded {
        at: t(2009, 10, 14),
        result: Err("the server cannot be reached".to_string()),
    });
    assert!(!a.loading_approvals);
    assert!(matches!(&a.message, Some((Level::Error, m)) if m.contains("cannot be reached")));
}

#[test]
fn the_account_s_pending_request_is_rejected_from_the_account_too() {
    let mut d = detail(AccountStatus::Active);
    d.requests.push(pending(9, 7, "alice").request);
    let mut a = opened(Role::Supervisor, d);
    a.actor.login = "omar".to_string();
    a.update(key('x'));
    for c in "duplicate".chars() {
        a.update(key(c));
    }
    a.update(code(KeyCode::Enter));
    assert_eq!(
        a.update(key('y')),
        vec![Effect::Run(Command::Reject {
            account_id: 7,
            request_id: 9,
            reason: "duplicate".to_string()
        })]
    );
    let after = a.update(Msg::Done {
        result: Ok("request #9 rejected".to_string()),
        reload: Some(7),
    });
    assert_eq!(
        after,
        vec![Effect::LoadAccount { id: 7 }],
        "the account reloads; the queue is not on screen"
    );
}
