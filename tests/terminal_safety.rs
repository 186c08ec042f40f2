//! Terminal safety end to end: hostile names, e-mails, devices, plan codes,
//! notes, agent names, backup sources and payloads, and file names go in through the real
//! binary (`import accounts|impact|backups`, `note`, `agent add`), and nothing that comes back
//! out (`show`, `lookup`, `worklist`, `audit log`, `agent list`, `restore preview`, error
//! messages, JSON) carries an escape sequence, a C0 or C1 control (other than the newlines
//! and tabs the output itself writes), or a bidi or zero-width character; the same for every
//! cell of the agents' screen rendered on ratatui's TestBackend. CSV files (`credit export`,
//! the batch `--report`) never start a cell with a formula character.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use caredesk::domain::Clock;
use caredesk::service::{OpenMode, Service};
use caredesk::store::{ConnectOptions, DbUrl};
use caredesk::tui::app::{App, Msg};
use caredesk::tui::keymap::Keymap;
use caredesk::tui::view::{Theme, render};
use common::{TestDb, cli};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

// The hostile pieces, each something a terminal would act on.
const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const CLIPBOARD: &str = "\u{1b}]52;c;cm0gLXJmIH4=\u{7}";
const LINK: &str = "\u{1b}]8;;https://evil.example\u{1b}\\click\u{1b}]8;;\u{1b}\\";
const DCS: &str = "\u{1b}Pq#0;2;0;0;0#0~~@@\u{1b}\\";
const C1_CSI: &str = "\u{9b}31m";
const C1_OSC: &str = "\u{9d}0;title\u{9c}";
const BIDI: &str = "\u{202e}\u{2066}";
const BEL_BS_CR: &str = "\u{7}\u{8}\r";
const ZERO_WIDTH: &str = "\u{200b}\u{feff}\u{200d}";

fn hostile(word: &str) -> String {
    format!("{CLEAR}{word}{CLIPBOARD}{LINK}{DCS}{C1_CSI}{C1_OSC}{BIDI}{BEL_BS_CR}{ZERO_WIDTH}x")
}

/// What no byte stream bound for a terminal may hold. `Err` names the first offender.
fn terminal_safe(bytes: &[u8]) -> Result<(), String> {
    if let Some(i) = bytes.iter().position(|b| *b == 0x1b) {
        return Err(format!("ESC at byte {i}"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    for (i, c) in text.char_indices() {
        let bad = match c {
            '\n' | '\t' => false,
            c if c.is_control() => true, // C0, DEL and C1 (U+0080..U+009F, bytes C2 80..C2 9F)
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' => true,
            '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{2028}' | '\u{2029}' => true,
            _ => false,
        };
        if bad {
            let around: String = text[i.saturating_sub(40)..].chars().take(60).collect();
            return Err(format!("{c:?} at byte {i}, near {around:?}"));
        }
    }
    Ok(())
}

#[test]
fn the_detector_itself_catches_every_hostile_piece() {
    for piece in [
        CLEAR, CLIPBOARD, LINK, DCS, C1_CSI, C1_OSC, BIDI, "\u{7}", "\u{8}", "\r", ZERO_WIDTH,
    ] {
        assert!(terminal_safe(piece.as_bytes()).is_err(), "{piece:?}");
    }
    assert!(terminal_safe("José Núñez\t+12065550123\n王芳 ✓\n".as_bytes()).is_ok());
}

/// Runs the binary; returns (exit code, stdout, stderr) after checking that both streams are
/// safe for a terminal.
fn run(what: &str, cmd: &mut Command) -> (i32, Vec<u8>, String) {
    let out = cmd.output().expect("run");
    if let Err(e) = terminal_safe(&out.stdout) {
        panic!("stdout of {what}: {e}");
    }
    if let Err(e) = terminal_safe(&out.stderr) {
        panic!("stderr of {what}: {e}");
    }
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(what: &str, cmd: &mut Command) -> Vec<u8> {
    let (code, out, err) = run(what, cmd);
    assert_eq!(code, 0, "{what}: {err}");
    out
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p
}

const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"Click\")";

/// A demo database with three hostile accounts imported through the binary, their impact,
/// a backup with a hostile source and payload, a hostile note and a hostile agent name.
fn hostile_world() -> TestDb {
    let db = TestDb::sqlite();
    let url = db.url_text.clone();
    ok(
        "demo",
        cli(&url, Some("sofia")).args(["demo", "--no-tui", "--accounts", "20"]),
    );

    let mut accounts =
        String::from("account_no,msisdn,name,email,status,plan_code,plan_cents,device\r\n");
    for (no, phone, name, email, device) in [
        (
            "610000001",
            "(206) 555-0188",
            hostile("Mallory"),
            format!("mal{ZERO_WIDTH}lory@ex{C1_CSI}ample.com{BIDI}"),
            hostile("Sidekick"),
        ),
        (
            "610000002",
            "+1 425 555 0177",
            format!("Trudy {BIDI}gnp.exe{LINK}{BEL_BS_CR}"),
            format!("{CLEAR}trudy@example.com"),
            DCS.to_string(),
        ),
        (
            "610000003",
            "253.555.0166",
            FORMULA.to_string(),
            "=cmd@example.com".to_string(),
            "@SUM(A1)".to_string(),
        ),
    ] {
        accounts.push_str(&format!(
            "{no},{},{},{},active,{},1999,{}\r\n",
            csv_field(phone),
            csv_field(&name),
            csv_field(&email),
            csv_field(&format!("SK{C1_CSI}-DATA")),
            csv_field(&device)
        ));
    }
    // A file name a terminal would act on, too: it is echoed and kept in the audit detail.
    let file = write(
        db.dir(),
        &format!("accounts{CLIPBOARD}.csv"),
        accounts.as_bytes(),
    );
    ok(
        "import accounts",
        cli(&url, Some("sofia"))
            .args(["import", "accounts"])
            .arg(&file),
    );

    let impact = "account_no,incident,category,server_lost,device_state,items_before\n\
                  610000001,danger-2009-10,contacts,true,holds-copy,30\n\
                  610000002,danger-2009-10,contacts,true,wiped,20\n\
                  610000003,danger-2009-10,photos,true,wiped,10\n";
    let file = write(db.dir(), "impact.csv", impact.as_bytes());
    ok(
        "import impact",
        cli(&url, Some("sofia"))
            .args(["import", "impact"])
            .arg(&file),
    );

    let payload = serde_json::json!({"name": hostile("Ada"), "phone": "+1 206 555 0101"});
    let hash = caredesk::domain::items::content_hash(&payload);
    let line = serde_json::json!({
        "id": "snap-610000002-20091001",
        "account_no": "610000002",
        "taken_at": "2009-10-01T03:00:00Z",
        "source": hostile("server"),
        "items": [{"category": "contacts", "uid": "c-1", "content_hash": hash, "payload": payload}],
    });
    let file = write(db.dir(), "backups.jsonl", format!("{line}\n").as_bytes());
    ok(
        "import backups",
        cli(&url, Some("sofia"))
            .args(["import", "backups"])
            .arg(&file),
    );

    ok(
        "note",
        cli(&url, Some("alice")).args(["note", "610000001", &hostile("Called back")]),
    );
    ok(
        "agent add",
        cli(&url, Some("sofia"))
            .args(["agent", "add", "eve", "--role", "agent", "--name"])
            .arg(hostile("Eve")),
    );
    db
}

#[test]
fn hostile_input_never_reaches_the_terminal_from_the_command_line() {
    let w = hostile_world();
    let u = w.url_text.as_str();
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    for format in ["text", "json"] {
        for args in [
            vec!["show", "610000001"],
            vec!["show", "610000002"],
            vec!["show", "610000003"],
            vec!["lookup", "Mallory"],
            vec!["lookup", "(206) 555-0188"],
            vec!["lookup", "=HYP"],
            vec!["lookup", "trudy"],
            vec!["worklist", "--limit", "100"],
            vec!["worklist", "--status", "at-risk"],
            vec!["audit", "log", "--limit", "1000"],
            vec!["audit", "log", "--account", "610000001"],
            vec!["agent", "list"],
            vec![
                "restore",
                "preview",
                "610000002",
                "--backup",
                "snap-610000002-20091001",
            ],
        ] {
            let what = format!("{format} {}", args.join(" "));
            let out = ok(
                &what,
                cli(u, Some("alice")).args(["--format", format]).args(&args),
            );
            if format == "json" {
                serde_json::from_slice::<serde_json::Value>(&out)
                    .unwrap_or_else(|e| panic!("{what}: not one JSON object: {e}"));
            } else {
                assert!(
                    !String::from_utf8_lossy(&out).contains("no accounts found"),
                    "{what} finds the hostile accounts"
                );
            }
            outputs.push((what, out));
        }
    }
    let stdin_lookup = ok(
        "lookup -",
        cli(u, Some("alice"))
            .args(["lookup", "-"])
            .write_stdin(format!("Mallory\n{}\n610000002\n", hostile("q"))),
    );
    assert_eq!(
        String::from_utf8_lossy(&stdin_lookup).lines().count(),
        3,
        "one line per query"
    );

    // What came back is the visible text, cleaned.
    let text = |what: &str| {
        String::from_utf8_lossy(
            &outputs
                .iter()
                .find(|(w, _)| w == what)
                .unwrap_or_else(|| panic!("{what}"))
                .1,
        )
        .into_owned()
    };
    let show = text("text show 610000001");
    assert!(
        show.contains("Mallory") && show.contains("Called back"),
        "{show}"
    );
    assert!(show.contains("mallory@example.com"), "{show}");
    assert!(
        !show.contains("cm0gLXJmIH4="),
        "the clipboard payload is gone: {show}"
    );
    assert!(text("text show 610000002").contains("Trudy gnp.execlick"));
    assert!(text("text agent list").contains("Eve"));
    assert!(text("text audit log --limit 1000").contains("import.accounts"));

    // Errors that quote hostile input: the message is cleaned too.
    for (what, args) in [
        (
            "show of a hostile account",
            vec!["show".to_string(), hostile("31")],
        ),
        (
            "audit log --since hostile",
            vec![
                "audit".into(),
                "log".into(),
                "--since".into(),
                hostile("2009"),
            ],
        ),
        (
            "worklist --status hostile",
            vec!["worklist".into(), "--status".into(), hostile("at-risk")],
        ),
    ] {
        let (code, _, err) = run(what, cli(u, Some("alice")).args(&args));
        assert_eq!(code, 2, "{what}: {err}");
    }
    let dup = format!(
        "account_no,incident,category,server_lost,device_state,items_before\n\
         610000001,{i},contacts,true,wiped,3\n610000001,{i},contacts,true,wiped,3\n",
        i = csv_field(&format!("danger{CLEAR}{C1_OSC}"))
    );
    let file = write(w.dir(), "dup.csv", dup.as_bytes());
    let (code, _, err) = run(
        "import of hostile duplicate impact rows",
        cli(u, Some("sofia")).args(["import", "impact"]).arg(&file),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("appears twice"), "{err}");

    // A database written by something other than caredesk's importer: the output layer alone
    // keeps it off the terminal, in text and in JSON (which escapes C1 and bidi as \uXXXX).
    insert_raw(w.sqlite_path());
    for format in ["text", "json"] {
        for args in [
            vec!["show", "620000001"],
            vec!["lookup", "620000001"],
            vec!["worklist", "--limit", "500"],
        ] {
            let what = format!("raw {format} {}", args.join(" "));
            let out = ok(
                &what,
                cli(u, Some("alice")).args(["--format", format]).args(&args),
            );
            if format == "json" {
                let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
                if args[0] == "show" {
                    assert_eq!(
                        v["name"], RAW_NAME,
                        "JSON carries the stored value, escaped"
                    );
                }
            }
        }
    }
}

const RAW_NAME: &str = "Raw\u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}Name\u{7f}\r\n";

fn insert_raw(path: &Path) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt")
        .block_on(insert_raw_async(path));
}

async fn insert_raw_async(path: &Path) {
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
            .await
            .expect("open");
        sqlx::query(
            "INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
             VALUES ('620000001', '+12065550111', $1, 'raw', $2, 'active', $3, 0, '2009-10-14T00:00:00+00:00')",
        )
        .bind(RAW_NAME)
        .bind("raw@\u{1b}[31mred.example\u{9d}8;;x\u{9c}")
        .bind("\u{90}dcs\u{9c}\u{2066}Device")
        .execute(&mut c)
        .await
        .expect("insert");
    }
}

#[test]
fn csv_files_never_start_a_cell_with_a_formula() {
    let w = hostile_world();
    let u = w.url_text.as_str();
    let credit: serde_json::Value = serde_json::from_slice(&ok(
        "credit",
        cli(u, Some("alice")).args(["--format", "json", "credit", "apply", "610000003"]),
    ))
    .expect("json");
    let id = credit["credit_id"].to_string();
    ok(
        "reverse",
        cli(u, Some("sofia")).args(["credit", "reverse", &id, "--reason", "=1+1 test"]),
    );
    let export = ok("export", cli(u, Some("alice")).args(["credit", "export"]));
    let batch = write(
        w.dir(),
        "batch.csv",
        format!(
            "account_no,msisdn\n610000003,\n{},\n,{}\n,\"+1 206 555 0188\"\n-12,\n@x,\n",
            csv_field(FORMULA),
            csv_field("=2+3")
        )
        .as_bytes(),
    );
    let report = w.dir().join("report.csv");
    let (code, _, err) = run(
        "credit run",
        cli(u, Some("sofia"))
            .args(["credit", "run", "--skip-invalid", "--report"])
            .arg(&report)
            .arg("--accounts")
            .arg(&batch),
    );
    assert_eq!(code, 0, "{err}");
    let report = std::fs::read(&report).expect("report");
    for (what, data) in [("export", export), ("report", report)] {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(data.as_slice());
        let mut rows = 0;
        for rec in rdr.records() {
            let rec = rec.expect("csv row");
            rows += 1;
            for cell in rec.iter() {
                let numeric = cell.parse::<i64>().is_ok();
                assert!(
                    numeric || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{what}: a formula cell {cell:?} in {rec:?}"
                );
            }
        }
        assert!(rows >= 2, "{what} has rows");
    }
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn assert_screen_safe(what: &str, app: &App) {
    for (w, h) in [(80, 24), (120, 40), (40, 12)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| render(f, app, Theme { color: true }))
            .expect("draw");
        for cell in t.backend().buffer().content() {
            if let Err(e) = terminal_safe(cell.symbol().as_bytes()) {
                panic!("{what} at {w}x{h}: {e}\n{}", t.backend());
            }
        }
    }
}

#[tokio::test]
async fn hostile_input_never_reaches_a_cell_of_the_agents_screen() {
    let w = hostile_world();
    insert_raw_async(w.sqlite_path()).await;
    let svc = Service::open(
        &DbUrl::Sqlite(w.sqlite_path().to_path_buf()),
        &ConnectOptions::default(),
        common::clock() as Arc<dyn Clock>,
        OpenMode::Normal,
    )
    .await
    .expect("open");
    let alice = svc.actor(Some("alice")).await.expect("alice");
    let new_app = || App::new(alice.clone(), w.url_text.clone(), Keymap::default());

    for query in [
        "Mallory",
        "610000002",
        "trudy",
        "620000001",
        "=HYP",
        "(206) 555-0188",
    ] {
        let mut app = new_app();
        for c in query.chars() {
            app.update(key(c));
        }
        let result = svc.lookup(query, 50).await.map_err(|e| e.to_string());
        assert!(result.as_ref().is_ok_and(|r| !r.is_empty()), "{query}");
        app.update(Msg::SearchDone {
            seq: query.chars().count() as u64,
            query: query.to_string(),
            result,
        });
        assert_screen_safe(&format!("search {query}"), &app);

        // The first result's account screen.
        app.update(code(KeyCode::Enter));
        let id = app.results[0].id;
        let d = svc
            .detail(&alice, id)
            .await
            .map(Box::new)
            .map_err(|e| e.to_string());
        app.update(Msg::AccountLoaded(d));
        assert_screen_safe(&format!("account of {query}"), &app);

        // A refusal quoting hostile text, on the status line.
        app.update(Msg::Done {
            result: Err(format!("refused: {}", hostile("why"))),
            reload: None,
        });
        assert_screen_safe(&format!("status line on {query}"), &app);
    }

    let mut app = new_app();
    app.update(code(KeyCode::Esc));
    app.update(key('w'));
    let list = svc
        .worklist(&alice, None, 500)
        .await
        .map_err(|e| e.to_string());
    app.update(Msg::WorklistLoaded(list));
    assert_screen_safe("worklist", &app);
    svc.close().await;
}
