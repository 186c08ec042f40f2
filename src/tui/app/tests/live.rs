//! What other agents do, shown without a key press; presence; a dropped link; a disabled
//! agent stopped at once. Driven headless by messages.

use super::*;
use crate::domain::{Change, Feed, Presence, PresenceReply};

fn change(accounts: &[&str]) -> Msg {
    let mut c = Change::default();
    for a in accounts {
        c.add(Some(a));
    }
    Msg::Live(Feed::Change(c))
}

fn beats(effects: &[Effect]) -> Vec<Option<i64>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Beat { account, .. } => Some(*account),
            _ => None,
        })
        .collect()
}

#[test]
fn a_change_to_the_account_on_screen_rereads_it_keeping_the_selection_and_an_open_field() {
    let mut d = detail(AccountStatus::Active);
    d.categories.push(CategoryState {
        category: Category::Photos,
        ..d.categories[0].clone()
    });
    let mut a = opened(Role::Agent, d.clone());
    a.update(code(KeyCode::Down));
    assert_eq!(a.category_selected, 1);
    a.update(key('n'));
    for c in "half a note".chars() {
        a.update(key(c));
    }
    // Another account's change asks for nothing.
    assert!(a.update(change(&["310000999"])).is_empty());
    // This account's: one re-read, not a new view.
    assert_eq!(
        a.update(change(&["310000001"])),
        vec![Effect::RefreshAccount { id: 7 }]
    );
    let mut again = d.clone();
    again.notes.push(crate::domain::Note {
        id: 9,
        agent: "omar".to_string(),
        body: "called back".to_string(),
        created_at: t(2009, 10, 15),
    });
    a.update(Msg::AccountAnswer {
        id: 7,
        result: Ok(Box::new(again)),
    });
    assert_eq!(a.account.as_ref().map(|x| x.notes.len()), Some(1));
    assert_eq!(a.category_selected, 1, "the selection stays");
    assert_eq!(
        a.input().map(|i| i.text.as_str()),
        Some("half a note"),
        "what the agent typed stays"
    );
}

#[test]
fn the_worklist_rereads_on_a_change_keeping_its_selected_account() {
    let mut a = app(Role::Agent);
    a.update(code(KeyCode::Esc));
    a.update(key('w'));
    let row = |id: i64, no: &str| AccountSummary {
        id,
        account_no: no.to_string(),
        ..summary(AccountStatus::Active)
    };
    a.update(Msg::WorklistLoaded(Ok(listed(vec![
        row(1, "310000001"),
        row(2, "310000002"),
        row(3, "310000003"),
    ]))));
    a.update(code(KeyCode::Down));
    assert_eq!(a.worklist_selected, 1);
    let e = a.update(change(&["310000003"]));
    assert_eq!(e, vec![Effect::LoadWorklist { status: None }]);
    // A second change while that one is read waits for it, then reads once more.
    assert!(a.update(change(&["310000001"])).is_empty());
    // Account 1 left the list: the selection follows account 2.
    let e = a.update(Msg::WorklistLoaded(Ok(listed(vec![
        row(2, "310000002"),
        row(3, "310000003"),
    ]))));
    assert_eq!(a.worklist_selected, 0);
    assert_eq!(e, vec![Effect::LoadWorklist { status: None }]);
}

#[test]
fn the_dashboard_rereads_its_figures_and_runs_on_any_change() {
    let mut a = app(Role::Supervisor);
    a.update(code(KeyCode::Esc));
    let e = a.update(key('d'));
    assert_eq!(e, vec![Effect::LoadDashboard, Effect::LoadRuns]);
    a.update(Msg::DashboardLoaded(Ok(Default::default())));
    let e = a.update(Msg::Live(Feed::Change(Change::everything())));
    assert_eq!(e, vec![Effect::LoadDashboard, Effect::LoadRuns]);
    a.update(Msg::DashboardLoaded(Ok(Default::default())));
    // A batch run's chunks say "everything" many times a second: re-read at most every
    // EVERYTHING_SECS, and once more after the last.
    for _ in 0..5 {
        assert!(
            a.update(Msg::Live(Feed::Change(Change::everything())))
                .is_empty()
        );
    }
    let mut later = Vec::new();
    for _ in 0..EVERYTHING_SECS {
        later.extend(a.update(Msg::Second(t(2009, 10, 14))));
    }
    assert_eq!(later, vec![Effect::LoadDashboard, Effect::LoadRuns]);
    // Only an agent change asks who this agent is now.
    let mut agents = Change::everything();
    agents.agents = true;
    let e = a.update(Msg::Live(Feed::Change(agents)));
    assert!(e.contains(&Effect::CheckMe), "{e:?}");
}

#[test]
fn opening_an_account_holds_presence_and_leaving_it_lets_go() {
    let mut a = app(Role::Agent);
    let d = detail(AccountStatus::Active);
    a.results = vec![d.summary.clone()];
    a.update(code(KeyCode::Enter));
    let e = a.update(Msg::AccountLoaded(Ok(Box::new(d))));
    assert_eq!(beats(&e), vec![Some(7)]);
    let omar = Presence {
        login: "omar".to_string(),
        display_name: "Omar".to_string(),
        since: t(2009, 10, 14),
    };
    a.update(Msg::Presence {
        account: Some(7),
        result: Ok(PresenceReply {
            others: vec![omar.clone()],
            beat_secs: 3,
        }),
    });
    assert_eq!(a.others_here(), &[omar]);
    // A beat every 3 seconds while it stays open.
    let now = t(2009, 10, 14);
    assert!(beats(&a.update(Msg::Second(now))).is_empty());
    assert!(beats(&a.update(Msg::Second(now))).is_empty());
    assert_eq!(beats(&a.update(Msg::Second(now))), vec![Some(7)]);
    // Back to the search: let go at once.
    let e = a.update(code(KeyCode::Esc));
    assert_eq!(beats(&e), vec![None]);
    assert!(a.others_here().is_empty());
    assert!(beats(&a.update(Msg::Second(now))).is_empty());
}

#[test]
fn a_dropped_link_shows_and_its_return_rereads_what_is_in_view() {
    let mut a = opened(Role::Agent, detail(AccountStatus::Active));
    a.update(Msg::Live(Feed::Down {
        reason: "connection refused".to_string(),
    }));
    assert_eq!(a.live.down.as_deref(), Some("connection refused"));
    assert!(a.account.is_some(), "what is on screen stays");
    let e = a.update(Msg::Live(Feed::Up));
    assert!(a.live.down.is_none());
    assert!(e.contains(&Effect::RefreshAccount { id: 7 }), "{e:?}");
}

#[test]
fn with_no_change_told_what_is_in_view_is_reread_every_so_often() {
    let mut a = opened(Role::Agent, detail(AccountStatus::Active));
    let now = t(2009, 10, 14);
    let mut refreshed = 0;
    for _ in 0..RECHECK_SECS {
        refreshed += a
            .update(Msg::Second(now))
            .iter()
            .filter(|e| **e == Effect::RefreshAccount { id: 7 })
            .count();
    }
    assert_eq!(refreshed, 1);
}

#[test]
fn a_disabled_agent_is_stopped_at_once_and_keys_do_nothing_but_quit() {
    let mut a = opened(Role::Agent, detail(AccountStatus::Active));
    // A failure to ask is not a refusal.
    a.update(Msg::Me(Err(("cannot reach the server".to_string(), false))));
    assert!(a.account.is_some());
    a.update(Msg::Me(Err((
        "your login \"alice\" was disabled by sofia at 2009-10-14 16:00 UTC; nothing was done"
            .to_string(),
        true,
    ))));
    assert!(a.account.is_none(), "nothing of the customer stays");
    assert!(
        matches!(&a.message, Some((Level::Error, m)) if m.contains("disabled by sofia") && m.contains("q quits")),
        "{:?}",
        a.message
    );
    assert!(a.update(key('c')).is_empty());
    assert!(a.dialog().is_none());
    assert!(a.update(change(&["310000001"])).is_empty());
    a.update(key('q'));
    assert!(a.quit);
}

/// A worklist of accounts listed by their status.
fn listed(accounts: Vec<AccountSummary>) -> crate::domain::Worklist {
    crate::domain::Worklist {
        total: accounts.len() as i64,
        entries: accounts
            .into_iter()
            .map(|account| crate::domain::WorklistEntry {
                account,
                reason: crate::domain::WorklistReason::Status,
            })
            .collect(),
    }
}
