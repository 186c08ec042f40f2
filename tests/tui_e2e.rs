//! The real binary in a real terminal (tmux): type part of a name, resize while the search
//! runs, open the account, apply the credit through the dialog; then check the screen and the
//! database. And an agent disabled by a supervisor while their screen is open: the screen is
//! stopped at once, naming who disabled them, and nothing more is written. Needs tmux: without it a plain `cargo test` says so on stderr and skips the test,
//! while `.ci/run` (which installs tmux and sets CAREDESK_REQUIRE_TMUX=1) fails rather than
//! pass unseen.

mod common;

use std::time::{Duration, Instant};

use common::tmux::{Server, Tmux, login, tmux_available};
use common::{TestDb, cli, json_of};

/// The binary as `alice`, with JSON output.
fn json_as_alice(url: &str, args: &[&str]) -> serde_json::Value {
    json_of(cli(url, Some("alice")).args(args))
}

#[test]
fn an_agent_finds_a_caller_by_name_and_credits_them_through_the_dialog() {
    if !tmux_available() {
        return;
    }
    let db = TestDb::sqlite();
    let url = db.url_text.clone();
    db.demo_by_binary(3000);

    // The caller: a Núñez of the test's own, owed the incident credit.
    let target = "740000001".to_string();
    let accounts = db.dir().join("caller.csv");
    std::fs::write(
        &accounts,
        format!(
            "account_no,msisdn,name,email,status,plan_code,plan_cents,device,plan_from\n\
             {target},+12065550401,Nune Núñez,,active,SK-DATA,1999,Sidekick LX,2008-01-15\n"
        ),
    )
    .expect("accounts file");
    cli(&url, Some("sofia"))
        .args(["import", "accounts"])
        .arg(&accounts)
        .assert()
        .success();
    assert_eq!(
        json_as_alice(&url, &["credit", "apply", &target, "--dry-run"])["result"],
        "would-credit"
    );

    // Where the agent finds them among the results.
    let results = json_as_alice(&url, &["lookup", "nune", "--limit", "50"]);
    let results = results["results"].as_array().expect("results").clone();
    let index = results
        .iter()
        .position(|r| r["account_no"] == target.as_str())
        .expect("the caller is found");
    assert!(index < 10, "the eligible account is near the top");

    let bin = env!("CARGO_BIN_EXE_caredesk");
    let t = Tmux::start("credit", &format!("{bin} --db {url} --agent alice"));
    t.wait_for("Search: name, phone");
    t.literal("nu");
    // Resize while the search runs: the screen follows and nothing breaks.
    t.resize(60, 16);
    t.literal("ne");
    t.wait_for("for \"nune\"");
    t.resize(80, 24);
    let s = t.wait_for("e-mail");
    assert!(s.contains("result(s) for \"nune\""), "{s}");
    assert!(s.contains("Núñez"), "{s}");
    for _ in 0..index {
        t.keys(&["Down"]);
    }
    t.keys(&["Enter"]);
    t.wait_for(&format!("{target}  "));
    // The account's details have arrived (not only the search result's summary).
    t.wait_for("no credit yet");
    t.keys(&["c"]);
    let dialog = t.wait_for("Apply the incident credit");
    assert!(
        dialog.contains("> Cancel (n) <"),
        "focus starts on Cancel: {dialog}"
    );
    assert!(dialog.contains("Why: one month of"), "{dialog}");
    t.keys(&["y"]);
    let done = t.wait_for("credited $");
    assert!(done.contains("credit #"), "{done}");

    let export = json_as_alice(&url, &["credit", "export"]);
    let credited: Vec<&serde_json::Value> = export["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|c| c["account_no"] == target.as_str() && c["kind"] == "incident")
        .collect();
    assert_eq!(
        credited.len(),
        1,
        "exactly one incident credit for {target}"
    );

    // A second try through the screen changes nothing.
    t.keys(&["c"]);
    t.wait_for("already credited");
    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while t
        .cmd()
        .args(["has-session", "-t", &t.session])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "caredesk did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_agent_disabled_while_their_screen_is_open_is_stopped_at_once() {
    if !tmux_available() {
        return;
    }
    disabled_while_open(false);
}

#[test]
fn an_agent_disabled_while_their_screen_is_open_through_a_server_is_stopped_at_once() {
    if !tmux_available() {
        return;
    }
    disabled_while_open(true);
}

fn disabled_while_open(through_server: bool) {
    let db = TestDb::sqlite();
    let url = db.url_text.clone();
    db.demo_by_binary(300);
    let target = "740000002".to_string();
    let accounts = db.dir().join("caller.csv");
    std::fs::write(
        &accounts,
        format!(
            "account_no,msisdn,name,email,status,plan_code,plan_cents,device,plan_from\n\
             {target},+12065550402,Dee Abled,,active,SK-DATA,1999,Sidekick LX,2008-01-15\n"
        ),
    )
    .expect("accounts file");
    cli(&url, Some("sofia"))
        .args(["import", "accounts"])
        .arg(&accounts)
        .assert()
        .success();
    let sofia = |args: &[&str]| json_of(cli(&url, Some("sofia")).args(args));
    let audit_records = || {
        sofia(&["audit", "log", "--limit", "100000"])["results"]
            .as_array()
            .expect("results")
            .len()
    };

    // alice opens the caller's account: on the file, or through a server she logged in to.
    let bin = env!("CARGO_BIN_EXE_caredesk");
    let server = through_server.then(|| Server::start(&url));
    let t = match &server {
        None => Tmux::start("disabled", &format!("{bin} --db {url} --agent alice")),
        Some(server) => {
            let otp = sofia(&["agent", "password", "alice"])["one_time_password"]
                .as_str()
                .expect("one-time password")
                .to_string();
            let sessions = db.dir().join("sessions.json");
            login(
                &server.url,
                "alice",
                &otp,
                "alice-chose-this-one",
                &sessions,
            );
            Tmux::start(
                "disabled-served",
                &format!(
                    "CAREDESK_SESSIONS={} {bin} --server {}",
                    sessions.display(),
                    server.url
                ),
            )
        }
    };
    t.wait_for("Search: name, phone");
    t.literal(&target);
    t.wait_for("Dee Abled");
    t.keys(&["Enter"]);
    t.wait_for(&format!("{target}  "));
    // The account's details have arrived (not only the search result's summary).
    t.wait_for("no credit yet");

    // Meanwhile a supervisor disables her from the command line.
    let v = sofia(&["agent", "disable", "alice"]);
    assert_eq!(v["changed"], true, "{v}");
    let records = audit_records();
    // Wide enough for the whole sentence on the message line.
    t.resize(120, 24);

    // Her screen is stopped at once, without a key press: it names who disabled her and
    // when, and nothing of the customer stays on it.
    let refused = "! your login \"alice\" was disabled by sofia at ";
    let s = t.wait_until("the screen stopped", |s| {
        s.contains(refused) && s.contains("this screen can do nothing more")
    });
    assert!(!s.contains("Dee Abled"), "{s}");

    // Her keys do nothing more: no note dialog, no credit dialog.
    t.keys(&["n"]);
    t.keys(&["c"]);
    t.keys(&["y"]);
    let s = t.wait_for("(q quits)");
    assert!(!s.contains("Note for the timeline"), "{s}");
    assert!(!s.contains("Apply the incident credit"), "{s}");
    assert!(!s.contains("credited $"), "{s}");

    // Nothing was written: no credit, no note, no audit record since the disable.
    let export = sofia(&["credit", "export"]);
    assert!(
        export["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|c| c["account_no"] != target.as_str()),
        "{export}"
    );
    let shown = sofia(&["show", &target]);
    assert_eq!(shown["notes"].as_array().map(Vec::len), Some(0), "{shown}");
    // The supervisor's own `show` is the one record added since.
    assert_eq!(audit_records(), records + 1);
    t.keys(&["q"]);
}

#[test]
fn an_agent_records_the_advice_and_promises_a_call_back_on_screen() {
    if !tmux_available() {
        return;
    }
    let db = TestDb::sqlite();
    let url = db.url_text.clone();
    db.demo_by_binary(300);
    // An at-risk customer nobody has advised yet.
    let list = json_as_alice(&url, &["worklist", "--status", "at-risk", "--limit", "50"]);
    let target = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .rfind(|r| r["reason"] == "not_advised")
        .and_then(|r| r["account_no"].as_str())
        .expect("an at-risk account not advised")
        .to_string();

    let bin = env!("CARGO_BIN_EXE_caredesk");
    let t = Tmux::start(
        "contact",
        &format!("env TZ=UTC {bin} --db {url} --agent alice"),
    );
    t.wait_for("Search: name, phone");
    t.literal(&target);
    t.wait_for(&format!("for \"{target}\""));
    t.keys(&["Enter"]);
    t.wait_for("no credit yet");
    let s = t.wait_for("not advised yet");
    assert!(s.contains("k once you have read it"), "{s}");

    // `k`: a dialog, focus on Cancel; yes records it and the banner says who, when, how.
    t.keys(&["k"]);
    let dialog = t.wait_for("Record that the customer was advised");
    assert!(dialog.contains("> Cancel (n) <"), "{dialog}");
    t.keys(&["y"]);
    let s = t.wait_until("the banner names the advice", |s| {
        s.contains("advised by alice at ") && s.contains("(call)") && !s.contains("not advised yet")
    });
    assert!(s.contains("recorded: advised by alice"), "{s}");

    // `b`: the field reads "+2h" as a time on the agent's clock, then takes a note.
    t.keys(&["b"]);
    t.wait_for("Call back when?");
    t.literal("+2h");
    let s = t.wait_for("→ at ");
    assert!(s.contains("+00:00"), "shown in the agent's zone: {s}");
    t.keys(&["Enter"]);
    t.wait_for("about what?");
    t.literal("bring the charger");
    t.keys(&["Enter"]);
    let dialog = t.wait_for("Promise a call back");
    assert!(dialog.contains("You will call back account"), "{dialog}");
    t.keys(&["y"]);
    t.wait_until("the account names the callback", |s| {
        s.lines()
            .any(|l| l.contains("alice will call back at ") && l.contains("bring the charger"))
    });

    // In the database: the advice by call, and the callback with its note.
    let shown = json_as_alice(&url, &["show", &target]);
    assert_eq!(shown["advice"][0]["channel"], "call");
    assert_eq!(shown["advice"][0]["agent"], "alice");
    let mine = json_as_alice(&url, &["callback", "list", "--mine"]);
    assert!(
        mine["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|c| c["account_no"] == target.as_str() && c["note"] == "bring the charger"),
        "{mine}"
    );
    t.keys(&["q"]);
}
