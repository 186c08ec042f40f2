//! A team on one database, below the screens: each commit tells every listener which account
//! changed (views and logins tell nobody), presence shows who else has an account open and
//! lapses without a heartbeat, and the account on a screen is re-read without a new view record
//! only while it is open there. On SQLite, or on PostgreSQL when CAREDESK_TEST_PG is set (its
//! LISTEN/NOTIFY); the screens themselves are driven in `live_screens.rs`.

mod common;

use std::time::Duration;

use caredesk::domain::{Change, Clock, Feed, Role};
use chrono::TimeDelta;
use common::World;
use common::restore::count;
use tokio::sync::broadcast;

/// The next change the feed tells, within 10 s (events are hints and may come merged).
async fn next_change(feed: &mut broadcast::Receiver<Feed>) -> Change {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = tokio::time::timeout_at(deadline, feed.recv())
            .await
            .expect("a change within 10 s")
            .expect("the feed is open");
        if let Feed::Change(c) = ev {
            return c;
        }
    }
}

/// Nothing told for `ms` milliseconds.
async fn quiet(feed: &mut broadcast::Receiver<Feed>, ms: u64) {
    if let Ok(ev) = tokio::time::timeout(Duration::from_millis(ms), feed.recv()).await {
        panic!("expected no change, got {ev:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_commit_tells_the_listeners_which_account_changed_and_views_tell_nobody() {
    let w = World::empty("sofia").await;
    let a = w.eligible_account("740000101", "+12065550101").await;
    let b = w.eligible_account("740000102", "+12065550102").await;
    let (alice_svc, alice) = w.as_agent("alice", Role::Agent).await;
    let (bob_svc, _bob) = w.as_agent("bob", Role::Agent).await;
    // Bob's process listens; alice's and the supervisor's commit on their own connections.
    let mut feed = bob_svc.feed();
    // The watcher's first look (SQLite: the file's counter; PostgreSQL: LISTEN).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    alice_svc.show(&alice, &a).await.expect("a view");
    quiet(&mut feed, 1200).await;

    alice_svc
        .add_note(&alice, &b, "called about contacts")
        .await
        .expect("note");
    let c = next_change(&mut feed).await;
    assert_eq!(c.accounts, vec![b.clone()], "{c:?}");
    assert!(!c.all);
    assert!(!c.touches(&a));

    alice_svc
        .credit_apply(&alice, &a, None, false)
        .await
        .expect("credit");
    let c = next_change(&mut feed).await;
    assert!(c.touches(&a) && !c.all, "{c:?}");

    // A change that is no one account's (an agent disabled) asks for everything.
    w.svc.disable_agent(&w.sup, "alice").await.expect("disable");
    let c = next_change(&mut feed).await;
    assert!(c.all && c.agents, "{c:?}");
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_shows_who_else_has_the_account_open_and_lapses_without_a_heartbeat() {
    let w = World::empty("sofia").await;
    let no = w.eligible_account("740000201", "+12065550201").await;
    let id = w.svc.resolve_account(&no).await.expect("account").id;
    let (alice_svc, alice) = w.as_agent("alice", Role::Agent).await;
    let (bob_svc, bob) = w.as_agent("bob", Role::Agent).await;

    let first = alice_svc
        .presence_beat(&alice, "alice-screen-1", Some(id))
        .await
        .expect("beat");
    assert!(first.others.is_empty(), "{first:?}");
    assert!(first.beat_secs >= 1);
    let opened = w.clock.now();

    w.clock.advance(TimeDelta::seconds(20));
    let seen = bob_svc
        .presence_beat(&bob, "bob-screen-1", Some(id))
        .await
        .expect("beat");
    assert_eq!(seen.others.len(), 1, "{seen:?}");
    assert_eq!(seen.others[0].login, "alice");
    assert_eq!(seen.others[0].since, opened);
    assert_eq!(
        seen.others[0].describe(w.clock.now()),
        "alice has this account open, under a minute"
    );
    // Alice's own second screen on the account does not list her.
    let own = alice_svc
        .presence_beat(&alice, "alice-screen-2", Some(id))
        .await
        .expect("beat");
    assert_eq!(
        own.others
            .iter()
            .map(|p| p.login.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
    alice_svc
        .presence_beat(&alice, "alice-screen-2", None)
        .await
        .expect("closed");

    // Alice's screen dies: no more heartbeats. Within the lapse she is still shown, after
    // it she is not.
    w.clock.advance(TimeDelta::seconds(15));
    let still = bob_svc
        .presence_beat(&bob, "bob-screen-1", Some(id))
        .await
        .expect("beat");
    assert_eq!(still.others.len(), 1, "{still:?}");
    assert_eq!(
        still.others[0].describe(w.clock.now()),
        "alice has this account open, under a minute"
    );
    w.clock.advance(TimeDelta::seconds(10));
    let lapsed = bob_svc
        .presence_beat(&bob, "bob-screen-1", Some(id))
        .await
        .expect("beat");
    assert!(lapsed.others.is_empty(), "{lapsed:?}");

    // Back, then closed: gone at once.
    alice_svc
        .presence_beat(&alice, "alice-screen-1", Some(id))
        .await
        .expect("beat");
    let back = bob_svc
        .presence_beat(&bob, "bob-screen-1", Some(id))
        .await
        .expect("beat");
    assert_eq!(back.others.len(), 1);
    alice_svc
        .presence_beat(&alice, "alice-screen-1", None)
        .await
        .expect("closed");
    let gone = bob_svc
        .presence_beat(&bob, "bob-screen-1", Some(id))
        .await
        .expect("beat");
    assert!(gone.others.is_empty(), "{gone:?}");

    // Another login cannot take a screen's row over, and a screen id is checked.
    let taken = bob_svc
        .presence_beat(&bob, "bob-screen-1", Some(id))
        .await
        .expect("beat");
    assert!(taken.others.is_empty());
    alice_svc
        .presence_beat(&alice, "bob-screen-1", None)
        .await
        .expect("names no row of alice's");
    let alice_again = alice_svc
        .presence_beat(&alice, "alice-screen-3", Some(id))
        .await
        .expect("beat");
    assert_eq!(
        alice_again.others.len(),
        1,
        "bob's row stays: {alice_again:?}"
    );
    for bad in ["", "has space", &"x".repeat(65), "semi;colon"] {
        let e = alice_svc
            .presence_beat(&alice, bad, Some(id))
            .await
            .expect_err("refused");
        assert_eq!(e.exit_code(), 2, "{e}");
    }
    // Not audited: the view that opened the account was.
    let audited = count(
        w.store(),
        "SELECT COUNT(*) FROM audit WHERE action LIKE 'presence%'",
    )
    .await;
    assert_eq!(audited, 0);
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_on_a_screen_is_reread_without_a_new_view_only_while_it_is_open_there() {
    let w = World::empty("sofia").await;
    let no = w.eligible_account("740000301", "+12065550301").await;
    let id = w.svc.resolve_account(&no).await.expect("account").id;
    let (bob_svc, bob) = w.as_agent("bob", Role::Agent).await;

    let e = bob_svc.refresh(&bob, id).await.expect_err("not open");
    assert_eq!(e.exit_code(), 3, "{e}");
    assert!(e.to_string().contains(&no), "{e}");

    let opened = bob_svc.detail(&bob, id).await.expect("the audited view");
    bob_svc
        .presence_beat(&bob, "bob-screen", Some(id))
        .await
        .expect("beat");
    let records = count(w.store(), "SELECT COUNT(*) FROM audit").await;
    w.svc
        .add_note(&w.sup, &no, "customer re-entered two contacts")
        .await
        .expect("note");
    let again = bob_svc.refresh(&bob, id).await.expect("re-read");
    assert_eq!(again.notes.len(), opened.notes.len() + 1);
    assert_eq!(again.masked, opened.masked);
    assert_eq!(again.summary.name, opened.summary.name);
    // The supervisor's note is the one record added; the re-read added none.
    assert_eq!(
        count(w.store(), "SELECT COUNT(*) FROM audit").await,
        records + 1
    );

    // Closed on the screen: a re-read is a view again.
    bob_svc
        .presence_beat(&bob, "bob-screen", None)
        .await
        .expect("closed");
    let e = bob_svc.refresh(&bob, id).await.expect_err("closed");
    assert_eq!(e.exit_code(), 3, "{e}");
    w.finish().await;
}
