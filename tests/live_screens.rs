//! Two agents' screens on one database, driven in tmux: what one does (a credit, a note, a
//! restore) shows on the other without a key press; each sees the other on the account, and
//! the presence lapses after the first screen is killed. Directly on a SQLite file, and
//! through a `caredesk serve` (on PostgreSQL when CAREDESK_TEST_PG is set), where the server is
//! also killed and started again under the open screen, which says so and recovers.

mod common;

use common::tmux::{Server, Tmux, login, tmux_available};
use common::{TestDb, cli, json_of};

/// Seconds an open account stays marked open after its screen's last heartbeat (the screens
/// beat every second), short so the test sees a killed screen's presence lapse.
const LAPSE: &str = "4";

/// A demo database and an account on it that a restore and the incident credit both have
/// something to do for: restorable, owed the credit, none yet.
fn demo_with_work(db: &TestDb) -> String {
    let url = &db.url_text;
    let out = cli(url, None)
        .args(["demo", "--no-tui", "--accounts", "400"])
        .output()
        .expect("demo");
    assert!(out.status.success(), "{out:?}");
    let list =
        json_of(cli(url, None).args(["worklist", "--status", "restorable", "--limit", "200"]));
    for row in list["results"].as_array().expect("results") {
        let no = row["account_no"].as_str().expect("account_no").to_string();
        let owed = json_of(cli(url, None).args(["credit", "apply", &no, "--dry-run"]));
        if owed["result"] == "would-credit" {
            return no;
        }
    }
    panic!("the demo has no restorable account owed the credit");
}

/// The work of two agents on `account`: `a` and `b` show the account open; `a` credits, adds a
/// note and restores; `b` shows each without a key press; `a` is killed and `b` sees it go.
fn work_together(a: &Tmux, b: &Tmux, account: &str) {
    for t in [b, a] {
        t.wait_for("Search: name, phone");
        t.literal(account);
        t.wait_for(&format!("{account}  "));
        t.keys(&["Enter"]);
        // The account's details have arrived (not only the search result's summary).
        t.wait_for("no credit yet");
    }
    // Each sees the other on the account.
    a.wait_for("bob has this account open");
    b.wait_for("alice has this account open");

    // A credit.
    a.keys(&["c"]);
    a.wait_for("Apply the incident credit");
    a.keys(&["y"]);
    a.wait_for("credited $");
    let s = b.wait_until("alice's credit on bob's screen", |s| {
        s.contains("incident") && s.contains("by alice") && !s.contains("no credit yet")
    });
    assert!(s.contains("credit #"), "{s}");

    // A note: bob types meanwhile, and keeps what he typed.
    b.keys(&["n"]);
    b.wait_for("Note for the timeline");
    b.literal("bob is typing");
    a.keys(&["n"]);
    a.wait_for("Note for the timeline");
    a.literal("customer re-entered two contacts");
    a.keys(&["Enter"]);
    a.wait_for("Add the note");
    a.keys(&["y"]);
    a.wait_for("note #");
    let s = b.wait_for("note by alice");
    assert!(s.contains("bob is typing"), "bob's field is untouched: {s}");
    b.keys(&["Escape"]);

    // A restore, previewed then applied.
    a.keys(&["r"]);
    a.wait_for("preview ready");
    a.keys(&["Enter"]);
    a.wait_for("> Cancel (n) <");
    a.keys(&["y"]);
    a.wait_for(" restored: ");
    b.wait_for("restore from backup");
    b.wait_for("[restored-");

    // Alice's screen dies without a word: bob stops seeing her within the lapse.
    a.kill_program();
    b.wait_until("alice's presence lapsing", |s| {
        !s.contains("alice has this account open")
    });
}

#[test]
fn two_screens_on_one_sqlite_file_see_each_others_work_and_each_other() {
    if !tmux_available() {
        return;
    }
    let db = TestDb::sqlite();
    let account = demo_with_work(&db);
    let bin = env!("CARGO_BIN_EXE_caredesk");
    let url = &db.url_text;
    let envs = [("CAREDESK_PRESENCE_LAPSE", LAPSE)];
    let b = Tmux::start_with("live-b", &format!("{bin} --db {url} --agent bob"), &envs);
    b.resize(120, 40);
    let a = Tmux::start_with("live-a", &format!("{bin} --db {url} --agent alice"), &envs);
    a.resize(120, 40);
    work_together(&a, &b, &account);
    b.keys(&["q"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_screens_through_a_server_see_each_others_work_and_survive_its_restart() {
    if !tmux_available() {
        return;
    }
    let db = TestDb::new().await;
    let account = demo_with_work(&db);
    let url = db.url_text.clone();
    let envs = [("CAREDESK_PRESENCE_LAPSE", LAPSE)];
    let server = Server::start_at(&url, "127.0.0.1:0", &envs);
    let bin = env!("CARGO_BIN_EXE_caredesk");
    let dir = tempfile::tempdir().expect("a directory for the sessions");
    let mut screens = Vec::new();
    for who in ["bob", "alice"] {
        let otp = json_of(cli(&url, None).args(["agent", "password", who]))["one_time_password"]
            .as_str()
            .expect("one-time password")
            .to_string();
        let sessions = dir.path().join(format!("{who}-sessions.json"));
        login(
            &server.url,
            who,
            &otp,
            &format!("{who}-chose-this-one"),
            &sessions,
        );
        let t = Tmux::start(
            &format!("served-{who}"),
            &format!(
                "CAREDESK_SESSIONS={} {bin} --server {}",
                sessions.display(),
                server.url
            ),
        );
        t.resize(120, 40);
        screens.push(t);
    }
    let (b, a) = (&screens[0], &screens[1]);
    work_together(a, b, &account);

    // The server dies under bob's open screen: it says so and keeps what it shows.
    let addr = server.addr();
    drop(server);
    let s = b.wait_for("not live, reconnecting");
    assert!(s.contains(&format!("{account}  ")), "{s}");
    assert!(s.contains("note by alice"), "{s}");

    // Started again where it was: bob's screen reconnects by itself, and a change made
    // meanwhile by an operator on the database shows.
    let _again = Server::start_at(&url, &addr, &envs);
    json_of(cli(&url, None).args(["note", &account, "operator: data back from the snapshot"]));
    let s = b.wait_until("bob's screen back and live", |s| {
        !s.contains("not live") && s.matches("note by").count() >= 2
    });
    assert!(s.contains(&format!("{account}  ")), "{s}");
    b.keys(&["q"]);
    db.cleanup().await;
}

/// Declares a lost category of `wanted` demo accounts permanently lost (as the supervisor), so
/// their appreciation credit may be requested; answers their numbers.
fn permanently_lost(db: &TestDb, wanted: usize) -> Vec<String> {
    let url = &db.url_text;
    let list = json_of(cli(url, None).args(["worklist", "--status", "lost", "--limit", "200"]));
    let mut found = Vec::new();
    for row in list["results"].as_array().expect("results") {
        let no = row["account_no"].as_str().expect("account_no");
        let shown = json_of(cli(url, None).args(["show", no]));
        for c in shown["categories"].as_array().expect("categories") {
            if c["status"] != "lost" {
                continue;
            }
            let category = c["category"].as_str().expect("category");
            let out = cli(url, None)
                .args(["declare-loss", no, "--category", category])
                .args(["--reason", "no source left after the snapshot"])
                .output()
                .expect("declare-loss");
            if out.status.success() {
                found.push(no.to_string());
                break;
            }
        }
        if found.len() == wanted {
            return found;
        }
    }
    panic!("the demo has fewer than {wanted} accounts whose loss can be declared");
}

#[test]
fn a_request_reaches_the_supervisors_queue_at_once_and_the_requester_sees_the_decision() {
    if !tmux_available() {
        return;
    }
    let db = TestDb::sqlite();
    let out = cli(&db.url_text, None)
        .args(["demo", "--no-tui", "--accounts", "400"])
        .output()
        .expect("demo");
    assert!(out.status.success(), "{out:?}");
    let lost = permanently_lost(&db, 2);
    let (first, second) = (&lost[0], &lost[1]);
    let bin = env!("CARGO_BIN_EXE_caredesk");
    let url = &db.url_text;

    // The supervisor's queue is open, empty; the agent has the first account open.
    let sofia = Tmux::start("queue-sofia", &format!("{bin} --db {url} --agent sofia"));
    sofia.resize(120, 30);
    sofia.wait_for("Search: name, phone");
    sofia.keys(&["Escape"]);
    // Out of the field (an Esc and a key sent at once would read as Alt and the key).
    sofia.wait_for("/ search · w worklist");
    sofia.keys(&["p"]);
    sofia.wait_for("no request is waiting for a decision");
    let alice = Tmux::start("queue-alice", &format!("{bin} --db {url} --agent alice"));
    alice.resize(120, 30);
    alice.wait_for("Search: name, phone");
    alice.literal(first);
    alice.wait_for(&format!("{first}  "));
    alice.keys(&["Enter"]);
    alice.wait_for("no credit yet");

    // Requests made on the command line reach the queue without a key press, oldest first.
    for (no, why) in [
        (first, "calendar gone for good"),
        (second, "contacts gone for good"),
    ] {
        let v = json_of(cli(url, Some("alice")).args(["credit", "request", no, "--reason", why]));
        assert_eq!(v["result"], "requested", "{v}");
    }
    let s = sofia.wait_until("both requests in the queue", |s| {
        s.contains(first.as_str()) && s.contains(second.as_str())
    });
    assert!(
        s.find(first.as_str()) < s.find(second.as_str()),
        "oldest first: {s}"
    );
    alice.wait_for("pending");

    // Rejected in place, with a reason: the requester's screen shows it without a key press.
    sofia.keys(&["x"]);
    sofia.wait_for("rejected? (the requester reads it)");
    sofia.literal("the customer was given goodwill instead");
    sofia.keys(&["Enter"]);
    sofia.wait_for("Reject the appreciation request");
    sofia.keys(&["y"]);
    let s = sofia.wait_until("the first request gone from the queue", |s| {
        !s.contains(first.as_str()) && s.contains(second.as_str())
    });
    assert!(s.contains("rejected"), "{s}");
    alice.wait_for("rejected by sofia");

    // Approved in place: the queue empties; the command line agrees.
    sofia.keys(&["A"]);
    sofia.wait_for("> Cancel (n) <");
    sofia.keys(&["y"]);
    sofia.wait_for("no request is waiting for a decision");
    let approved = json_of(cli(url, None).args(["credit", "requests", "--status", "approved"]));
    let rejected = json_of(cli(url, None).args(["credit", "requests", "--status", "rejected"]));
    assert_eq!(
        approved["results"][0]["account_no"],
        second.as_str(),
        "{approved}"
    );
    assert_eq!(
        rejected["results"][0]["account_no"],
        first.as_str(),
        "{rejected}"
    );
    sofia.keys(&["q"]);
    alice.keys(&["q"]);
}
