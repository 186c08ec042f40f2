//! The screen driven headless by messages, as the worker and the terminal would.

use super::*;
use crate::domain::Category;
use crate::domain::restore::Mode;
use crate::domain::{AccountStatus, Role};
use crate::domain::{AccountSummary, CategoryState, Credit, CreditRequest, Plan};
use crate::domain::{RestoreRecord, RestoreReport};
use crate::tui::view::dialog::prose;
use chrono::{TimeZone, Utc};

mod approvals;
mod contact;
mod live;
mod restore;

pub(super) fn t(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("date")
}

pub(super) fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub(super) fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub(super) fn app(role: Role) -> App {
    App::new(
        Actor {
            login: "alice".to_string(),
            role,
        },
        "sqlite:test.db".to_string(),
        Keymap::default(),
    )
}

pub(super) fn summary(status: AccountStatus) -> AccountSummary {
    AccountSummary {
        id: 7,
        account_no: "310000001".to_string(),
        msisdn: "+12065550123".to_string(),
        name: "José Núñez".to_string(),
        email: String::new(),
        account_status: status,
        status: CategoryStatus::AtRisk,
    }
}

pub(super) fn detail(status: AccountStatus) -> AccountDetail {
    AccountDetail {
        summary: summary(status),
        device_model: "Sidekick LX".to_string(),
        created_at: t(2009, 11, 2),
        plans: vec![
            Plan {
                plan_code: "SK-DATA".to_string(),
                data_plan: true,
                price_cents: 1999,
                currency: "USD".to_string(),
                valid_from: t(2008, 1, 1),
                valid_to: Some(t(2009, 11, 1)),
            },
            Plan {
                plan_code: "SK-DATA-PLUS".to_string(),
                data_plan: true,
                price_cents: 2999,
                currency: "USD".to_string(),
                valid_from: t(2009, 11, 1),
                valid_to: None,
            },
        ],
        categories: vec![CategoryState {
            incident: "danger-2009-10".to_string(),
            category: Category::Contacts,
            status: CategoryStatus::AtRisk,
            server_lost: true,
            device_state: crate::domain::DeviceState::HoldsCopy,
            items_before: 300,
            items_live: 0,
            items_backup: None,
        }],
        backups: Vec::new(),
        credits: Vec::new(),
        requests: Vec::new(),
        notes: Vec::new(),
        advice: Vec::new(),
        callbacks: Vec::new(),
        timeline: Vec::new(),
        incidents: vec![crate::demo::incident().expect("demo incident")],
        masked: false,
    }
}

pub(super) fn opened(role: Role, d: AccountDetail) -> App {
    let mut a = app(role);
    a.results = vec![d.summary.clone()];
    a.update(code(KeyCode::Enter));
    a.update(Msg::AccountLoaded(Ok(Box::new(d))));
    a
}

#[test]
fn a_key_pressed_while_the_account_loads_says_it_is_loading() {
    let mut a = app(Role::Agent);
    let d = detail(AccountStatus::Active);
    a.results = vec![d.summary.clone()];
    a.update(code(KeyCode::Enter));
    assert!(a.loading_account());
    assert!(a.update(key('c')).is_empty(), "nothing runs yet");
    assert!(
        matches!(&a.message, Some((Level::Info, m)) if m.contains("still loading")),
        "{:?}",
        a.message
    );
    a.update(Msg::AccountLoaded(Ok(Box::new(d))));
    a.update(key('c'));
    assert!(a.dialog().is_some(), "once it shows, the key works");
}

#[test]
fn typing_in_the_search_field_searches_and_never_triggers_an_action() {
    let mut a = app(Role::Agent);
    assert!(a.search_focus && a.screen == Screen::Search);
    let e1 = a.update(key('q'));
    let e2 = a.update(key('w'));
    assert_eq!(a.query, "qw");
    assert!(!a.quit, "q typed in the field is text");
    assert_eq!(a.screen, Screen::Search, "w typed in the field is text");
    assert!(matches!(&e1[..], [Effect::Search { seq: 1, query }] if query == "q"));
    assert!(matches!(&e2[..], [Effect::Search { seq: 2, query }] if query == "qw"));
    assert!(a.busy());
}

#[test]
fn a_stale_search_answer_is_dropped() {
    let mut a = app(Role::Agent);
    a.update(key('j'));
    a.update(key('o'));
    a.update(Msg::SearchDone {
        seq: 1,
        query: "j".to_string(),
        result: Ok(vec![summary(AccountStatus::Active)]),
    });
    assert!(
        a.results.is_empty(),
        "the answer to an older query is ignored"
    );
    assert!(a.searching);
    a.update(Msg::SearchDone {
        seq: 2,
        query: "jo".to_string(),
        result: Ok(vec![summary(AccountStatus::Active)]),
    });
    assert_eq!(a.results.len(), 1);
    assert!(
        !a.busy(),
        "idle once the latest answer is in: no ticking, no CPU"
    );
}

#[test]
fn v_reveals_a_masked_account_and_its_reloads_stay_revealed() {
    let mut d = detail(AccountStatus::Active);
    d.summary.mask();
    d.masked = true;
    let mut a = opened(Role::Auditor, d);
    assert_eq!(
        a.update(code(KeyCode::Char('v'))),
        vec![Effect::RevealAccount { id: 7 }]
    );
    a.update(Msg::AccountLoaded(Ok(Box::new(detail(
        AccountStatus::Active,
    )))));
    assert_eq!(a.account.as_ref().map(|d| d.masked), Some(false));
    assert_eq!(
        a.update(code(KeyCode::Char('R'))),
        vec![Effect::RevealAccount { id: 7 }]
    );
    // Shown in full already: nothing to reveal, nothing audited.
    assert!(a.update(code(KeyCode::Char('v'))).is_empty());
    // Another account opens masked again.
    let mut other = summary(AccountStatus::Active);
    other.id = 8;
    a.results = vec![other];
    a.update(code(KeyCode::Esc));
    assert_eq!(
        a.update(code(KeyCode::Enter)),
        vec![Effect::LoadAccount { id: 8 }]
    );
}

#[test]
fn enter_opens_the_selected_account_and_esc_goes_back() {
    let mut a = app(Role::Agent);
    a.results = vec![summary(AccountStatus::Active)];
    let e = a.update(code(KeyCode::Enter));
    assert_eq!(e, vec![Effect::LoadAccount { id: 7 }]);
    assert_eq!(a.screen, Screen::Account);
    a.update(code(KeyCode::Esc));
    assert_eq!(a.screen, Screen::Search);
    assert!(a.search_focus, "back in the search field");
}

#[test]
fn the_credit_dialog_starts_on_cancel_shows_the_amount_and_why() {
    let mut a = opened(Role::Agent, detail(AccountStatus::Active));
    assert!(a.update(key('c')).is_empty());
    let d = a.dialog().cloned().expect("dialog");
    assert_eq!(d.focus, Button::Cancel);
    assert!(
        prose(&d.confirm).lines[0].contains("$19.99"),
        "the plan at the incident's start, not the later $29.99: {:?}",
        prose(&d.confirm).lines
    );
    assert!(
        prose(&d.confirm).lines[1].contains("SK-DATA at $19.99/month"),
        "{:?}",
        prose(&d.confirm).lines
    );
    assert!(
        a.update(code(KeyCode::Enter)).is_empty(),
        "Enter presses Cancel"
    );
    assert!(a.dialog().is_none());
    a.update(key('c'));
    a.update(code(KeyCode::Tab));
    let e = a.update(code(KeyCode::Enter));
    assert_eq!(
        e,
        vec![Effect::Run(Command::ApplyCredit {
            account_id: 7,
            account_no: "310000001".to_string(),
            incident: "danger-2009-10".to_string(),
        })]
    );
    a.update(key('c'));
    assert!(
        a.update(key('n')).is_empty() && a.dialog().is_none(),
        "n cancels"
    );
    a.update(key('c'));
    assert_eq!(a.update(key('y')).len(), 1, "y confirms");
}

#[test]
fn refusals_the_rules_know_are_said_without_a_dialog() {
    let mut a = opened(Role::Agent, detail(AccountStatus::Closed));
    a.update(key('c'));
    assert!(a.dialog().is_none());
    assert!(matches!(&a.message, Some((Level::Error, m)) if m.contains("closed")));

    let mut credited = detail(AccountStatus::Active);
    credited.credits.push(Credit {
        id: 3,
        account_no: "310000001".to_string(),
        incident: "danger-2009-10".to_string(),
        kind: domain::CreditKind::Incident,
        amount_cents: 1999,
        currency: "USD".to_string(),
        agent: "bob".to_string(),
        approver: None,
        reason: String::new(),
        batch_run_id: None,
        reverses: None,
        created_at: t(2009, 10, 14),
    });
    let mut a = opened(Role::Agent, credited);
    a.update(key('c'));
    assert!(a.dialog().is_none());
    assert!(
        matches!(&a.message, Some((Level::Info, m)) if m.contains("already credited") && m.contains("#3"))
    );

    let mut a = opened(Role::Auditor, detail(AccountStatus::Active));
    a.update(key('c'));
    assert!(matches!(&a.message, Some((Level::Error, m)) if m.contains("may not")));
}

#[test]
fn a_supervisor_cannot_approve_their_own_request() {
    let mut d = detail(AccountStatus::Active);
    d.requests.push(CreditRequest {
        id: 9,
        incident: "danger-2009-10".to_string(),
        kind: domain::CreditKind::Appreciation,
        amount_cents: 10_000,
        reason: "lost".to_string(),
        requested_by: "alice".to_string(),
        requested_at: t(2009, 10, 14),
        decided_by: None,
        credit_id: None,
        status: domain::RequestStatus::Pending,
        decided_at: None,
        rejection_reason: None,
    });
    let mut agent = opened(Role::Agent, d.clone());
    agent.update(key('A'));
    assert!(matches!(&agent.message, Some((Level::Error, m)) if m.contains("may not")));
    let mut own = opened(Role::Supervisor, d.clone());
    own.update(key('A'));
    assert!(own.dialog().is_none());
    let mut other = opened(Role::Supervisor, d);
    other.actor.login = "omar".to_string();
    other.update(key('A'));
    assert!(other.dialog().is_some());
    assert_eq!(
        other.update(key('y')),
        vec![Effect::Run(Command::Approve {
            account_id: 7,
            request_id: 9
        })]
    );
}

#[test]
fn a_note_is_typed_then_confirmed_and_its_keys_are_text() {
    let mut a = opened(Role::Agent, detail(AccountStatus::Active));
    a.update(key('n'));
    for c in "call back q".chars() {
        a.update(key(c));
    }
    assert!(!a.quit && a.input().is_some_and(|i| i.text == "call back q"));
    a.update(code(KeyCode::Enter));
    assert_eq!(a.dialog().map(|d| d.focus), Some(Button::Cancel));
    let e = a.update(key('y'));
    assert_eq!(
        e,
        vec![Effect::Run(Command::AddNote {
            account_id: 7,
            account_no: "310000001".to_string(),
            text: "call back q".to_string()
        })]
    );
    let reload = a.update(Msg::Done {
        result: Ok("note #1 added".to_string()),
        reload: Some(7),
    });
    assert_eq!(
        reload,
        vec![Effect::LoadAccount { id: 7 }],
        "the account reloads after a change"
    );
}

#[test]
fn a_device_resync_is_recorded_for_the_selected_category_after_a_dialog() {
    let mut a = opened(Role::Agent, detail(AccountStatus::Active));
    a.update(key('s'));
    assert!(
        a.dialog()
            .is_some_and(|d| prose(&d.confirm).lines[0].contains("contacts"))
    );
    assert_eq!(
        a.update(key('y')),
        vec![Effect::Run(Command::Resync {
            account_id: 7,
            account_no: "310000001".to_string(),
            incident: "danger-2009-10".to_string(),
            category: Category::Contacts
        })]
    );
}

#[test]
fn leaving_the_field_makes_keys_actions_again() {
    let mut a = app(Role::Agent);
    a.update(code(KeyCode::Esc));
    assert!(!a.search_focus);
    assert_eq!(
        a.update(key('w')),
        vec![Effect::LoadWorklist { status: None }]
    );
    assert_eq!(a.screen, Screen::Worklist);
    assert_eq!(
        a.update(key('f')),
        vec![Effect::LoadWorklist {
            status: Some(CategoryStatus::AtRisk)
        }]
    );
    a.update(key('/'));
    assert!(a.search_focus && a.screen == Screen::Search);
    a.update(code(KeyCode::Esc));
    a.update(key('q'));
    assert!(a.quit);
}

#[test]
fn a_late_answer_for_the_account_the_agent_left_is_dropped() {
    let mut a = app(Role::Agent);
    let mut b = summary(AccountStatus::Active);
    b.id = 8;
    b.account_no = "310000002".to_string();
    a.results = vec![summary(AccountStatus::Active), b.clone()];
    assert_eq!(
        a.update(code(KeyCode::Enter)),
        vec![Effect::LoadAccount { id: 7 }]
    );
    // The agent goes back and opens B before A's answer is in.
    a.update(code(KeyCode::Esc));
    a.update(code(KeyCode::Down));
    assert_eq!(
        a.update(code(KeyCode::Enter)),
        vec![Effect::LoadAccount { id: 8 }]
    );
    a.update(Msg::AccountAnswer {
        id: 7,
        result: Ok(Box::new(detail(AccountStatus::Active))),
    });
    assert!(a.account.is_none(), "A's late answer is not shown");
    assert!(a.loading_account(), "B is still awaited");
    assert!(
        a.update(key('c')).is_empty() && a.dialog().is_none(),
        "nothing can be done to A"
    );
    a.message = None;
    a.update(Msg::AccountAnswer {
        id: 7,
        result: Err("A failed".to_string()),
    });
    assert!(a.message.is_none(), "nor is A's late error");
    let mut d = detail(AccountStatus::Active);
    d.summary = b;
    a.update(Msg::AccountAnswer {
        id: 8,
        result: Ok(Box::new(d)),
    });
    assert_eq!(a.account.as_ref().map(|d| d.summary.id), Some(8));
    assert!(!a.busy());
}
