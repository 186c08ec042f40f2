//! `k` records that the customer was advised, `b` promises a call back: what the domain says
//! before a dialog opens, the time field reading what the agent types, and the command a yes
//! runs.

use super::*;
use crate::domain::{Advice, Channel};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2009, 10, 14, 16, 0, 0)
        .single()
        .expect("time")
}

fn at_risk() -> App {
    let mut a = opened(Role::Agent, detail(AccountStatus::Active));
    a.zone = crate::tui::zone::Zone::Utc;
    a.update(Msg::Second(now()));
    a
}

#[test]
fn k_asks_to_record_the_advice_and_yes_records_it_for_the_at_risk_incident() {
    let mut a = at_risk();
    a.update(key('k'));
    let d = a.dialog().expect("a confirm dialog");
    assert_eq!(d.focus, Button::Cancel, "focus starts on Cancel");
    assert!(matches!(&d.confirm, Confirm::Advise { incident, .. } if incident == "danger-2009-10"));
    assert!(prose(&d.confirm).lines[0].contains("You read the advisory"));
    let e = a.update(key('y'));
    assert_eq!(
        e,
        vec![Effect::Run(Command::Advise {
            account_id: 7,
            account_no: "310000001".to_string(),
            incident: "danger-2009-10".to_string(),
        })]
    );
}

#[test]
fn k_on_an_advised_or_safe_account_says_so_and_opens_nothing() {
    let mut d = detail(AccountStatus::Active);
    d.advice = vec![Advice {
        incident: "danger-2009-10".to_string(),
        agent: "omar".to_string(),
        channel: Channel::Call,
        advised_at: now(),
        outreach_id: None,
    }];
    let mut a = opened(Role::Agent, d);
    a.update(Msg::Second(now()));
    assert!(a.update(key('k')).is_empty());
    assert!(a.dialog().is_none());
    let (_, m) = a.message.clone().expect("a message");
    assert!(m.contains("already advised by omar"), "{m}");

    let mut safe = detail(AccountStatus::Active);
    safe.categories[0].status = CategoryStatus::Lost;
    let mut a = opened(Role::Agent, safe);
    assert!(a.update(key('k')).is_empty());
    assert!(a.dialog().is_none());
    let (level, m) = a.message.clone().expect("a message");
    assert_eq!(level, Level::Error);
    assert!(m.contains("is not at risk"), "{m}");

    // An auditor records no contact.
    let mut a = opened(Role::Auditor, detail(AccountStatus::Active));
    assert!(a.update(key('k')).is_empty());
    assert!(a.dialog().is_none());
}

#[test]
fn b_reads_the_time_as_it_is_typed_then_asks_for_a_note_and_confirms() {
    let mut a = at_risk();
    a.update(key('b'));
    assert_eq!(
        a.input().map(|i| &i.purpose),
        Some(&InputPurpose::CallbackTime)
    );
    for c in "+2h".chars() {
        a.update(key(c));
    }
    let hint = a.input().and_then(|i| i.hint.clone()).expect("a hint");
    let local = "at 18:00";
    let hint = hint.expect("a time");
    assert!(hint.contains(local), "{hint}");
    // Not a time yet: the field says why, and Enter keeps it open.
    a.update(code(KeyCode::Backspace));
    a.update(code(KeyCode::Backspace));
    a.update(key('x'));
    assert!(matches!(
        a.input().and_then(|i| i.hint.clone()),
        Some(Err(_))
    ));
    assert!(a.update(code(KeyCode::Enter)).is_empty());
    assert!(a.input().is_some(), "the field stays open");
    assert_eq!(a.message.as_ref().map(|(l, _)| *l), Some(Level::Error));
    a.update(code(KeyCode::Backspace));
    a.update(code(KeyCode::Backspace));
    for c in "+2h".chars() {
        a.update(key(c));
    }
    a.update(code(KeyCode::Enter));
    // The note: typing never triggers an action (`k`, `q` are text), and it may be empty.
    assert!(matches!(
        a.input().map(|i| &i.purpose),
        Some(InputPurpose::CallbackNote { .. })
    ));
    for c in "kq ok".chars() {
        assert!(a.update(key(c)).is_empty());
    }
    a.update(code(KeyCode::Enter));
    let d = a.dialog().expect("a confirm dialog");
    let said = &prose(&d.confirm).lines[0];
    assert!(
        said.starts_with("You will call back account 310000001 ") && said.contains(local),
        "{said}"
    );
    let e = a.update(key('y'));
    assert_eq!(
        e,
        vec![Effect::Run(Command::Callback {
            account_id: 7,
            account_no: "310000001".to_string(),
            due_at: now() + chrono::TimeDelta::hours(2),
            note: "kq ok".to_string(),
        })]
    );
}
