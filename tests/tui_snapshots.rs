//! Snapshots of every screen on ratatui's TestBackend at 80x24 and at a small size, over a demo
//! database with a fixed clock; NO_COLOR carries meaning without colour; hostile strings never
//! reach the terminal.

mod common;

use std::sync::Arc;

use caredesk::domain::Actor;
use caredesk::domain::{Clock, Role};
use caredesk::service::Service;
use caredesk::tui::app::{App, Msg, Screen};
use caredesk::tui::keymap::Keymap;
use caredesk::tui::view::{Theme, render};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

struct Fixture {
    _db: common::TestDb,
    svc: Service,
    actor: Actor,
    clock: Arc<caredesk::domain::FixedClock>,
}

async fn fixture() -> Fixture {
    let db = common::TestDb::sqlite();
    let clock = common::clock();
    let svc = db.service(clock.clone() as Arc<dyn Clock>).await;
    caredesk::demo::build(&svc, 300, 2009, "sofia", None)
        .await
        .expect("demo");
    let actor = svc.actor(Some("alice")).await.expect("alice");
    Fixture {
        _db: db,
        svc,
        actor,
        clock,
    }
}

/// A screen whose clock is the fixture's (times on screen read the same on every run).
fn new_app(actor: &Actor) -> App {
    let mut app = App::new(
        actor.clone(),
        "sqlite:demo.db".to_string(),
        Keymap::default(),
    );
    app.live.now = common::clock().now();
    app.zone = caredesk::tui::zone::Zone::Utc;
    app
}

fn draw(app: &App, w: u16, h: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(f, app, theme)).expect("draw");
    t
}

const COLOR: Theme = Theme { color: true };

/// The app after typing `query` and receiving its results.
async fn searched(f: &Fixture, query: &str) -> App {
    let mut app = new_app(&f.actor);
    let mut seq = 0;
    for c in query.chars() {
        app.update(key(c));
        seq += 1;
    }
    let result = f.svc.lookup(query, 50).await.map_err(|e| e.to_string());
    app.update(Msg::SearchDone {
        seq,
        query: query.to_string(),
        result,
    });
    app
}

async fn account(f: &Fixture, account_no: &str) -> App {
    let mut app = searched(f, account_no).await;
    app.update(code(KeyCode::Enter));
    let id = f.svc.resolve_account(account_no).await.expect("account").id;
    let d = f
        .svc
        .detail(&f.actor, id)
        .await
        .map(Box::new)
        .map_err(|e| e.to_string());
    app.update(Msg::AccountLoaded(d));
    app
}

/// An account whose phone still holds data (the advisory banner shows).
async fn at_risk_account(f: &Fixture) -> String {
    let list = f
        .svc
        .worklist(&f.actor, Some(caredesk::domain::CategoryStatus::AtRisk), 1)
        .await
        .expect("worklist");
    list.entries[0].account.account_no.clone()
}

#[tokio::test]
async fn the_search_screen_paints_before_any_query_and_shows_ranked_results() {
    let f = fixture().await;
    let empty = new_app(&f.actor);
    insta::assert_snapshot!("search_empty_80x24", draw(&empty, 80, 24, COLOR).backend());
    let app = searched(&f, "nune").await;
    assert!(!app.results.is_empty());
    insta::assert_snapshot!("search_results_80x24", draw(&app, 80, 24, COLOR).backend());
    insta::assert_snapshot!("search_results_50x14", draw(&app, 50, 14, COLOR).backend());
}

#[tokio::test]
async fn the_account_screen_shows_the_advisory_categories_backups_and_credits() {
    let f = fixture().await;
    let showcase = account(&f, "310000001").await;
    assert_eq!(showcase.screen, Screen::Account);
    insta::assert_snapshot!(
        "account_showcase_80x24",
        draw(&showcase, 80, 24, COLOR).backend()
    );
    let risky = account(&f, &at_risk_account(&f).await).await;
    let screen = draw(&risky, 80, 24, COLOR).backend().to_string();
    assert!(screen.contains("AT RISK"), "{screen}");
    assert!(
        screen.contains("Do not remove the battery"),
        "the words to read out: {screen}"
    );
    insta::assert_snapshot!("account_at_risk_80x24", screen);
    insta::assert_snapshot!(
        "account_at_risk_50x14",
        draw(&risky, 50, 14, COLOR).backend()
    );

    // Advised on this call (`k`): the banner says by whom, when and how.
    let no = at_risk_account(&f).await;
    f.svc
        .advise(&f.actor, &no, None, caredesk::domain::Channel::Call)
        .await
        .expect("advised");
    let mut advised = account(&f, &no).await;
    let screen = draw(&advised, 80, 24, COLOR).backend().to_string();
    assert!(
        screen.contains("advised by alice at 16:00 (call)"),
        "{screen}"
    );
    insta::assert_snapshot!("account_advised_80x24", screen);
    // `b`: the time field reads what the agent types, in their zone.
    advised.update(key('b'));
    for c in "tomorrow 9".chars() {
        advised.update(key(c));
    }
    let screen = draw(&advised, 80, 24, COLOR).backend().to_string();
    assert!(screen.contains("→ tomorrow at 09:00"), "{screen}");
    insta::assert_snapshot!("callback_time_field_80x24", screen);
}

#[tokio::test]
async fn the_timeline_reads_as_words_an_agent_reads_aloud() {
    let f = fixture().await;
    let sofia = f.svc.actor(Some("sofia")).await.expect("sofia");
    let jose = "310000001";
    f.svc
        .restore_apply(
            &sofia,
            jose,
            "snap-310000001-20091001",
            &[caredesk::domain::Category::Contacts],
            caredesk::domain::restore::Mode::Merge,
        )
        .await
        .expect("restore");
    f.svc
        .credit_apply(&f.actor, jose, None, false)
        .await
        .expect("credit");
    let goodwill = f
        .svc
        .credit_goodwill(
            &sofia,
            jose,
            None,
            caredesk::domain::Cents(2500),
            "Lost wedding photos",
            None,
        )
        .await
        .expect("goodwill");
    f.svc
        .credit_reverse(&sofia, goodwill.credit().id, "Granted twice")
        .await
        .expect("reverse");
    f.svc
        .declare_loss(
            &sofia,
            jose,
            None,
            caredesk::domain::Category::Calendar,
            "no calendar snapshot",
        )
        .await
        .expect("declare");
    f.svc
        .add_note(&f.actor, jose, "Advised: never a hard reset")
        .await
        .expect("note");
    let app = account(&f, jose).await;
    insta::assert_snapshot!(
        "account_timeline_80x24",
        draw(&app, 80, 24, COLOR).backend()
    );
    let tall = draw(&app, 200, 60, COLOR).backend().to_string();
    for words in [
        "viewed by alice",
        "note by alice: Advised: never a hard reset",
        "calendar declared permanently lost by sofia",
        "reversed by sofia: -$25.00",
        "$25.00 goodwill credit by sofia",
        "$19.99 incident credit by alice",
        "merge restore from backup snap-310000001-20091001 by sofia",
    ] {
        assert!(tall.contains(words), "{words:?} on the timeline: {tall}");
    }
    for raw in ["credit.incident", "cents", "account.view", "loss.declare"] {
        assert!(!tall.contains(raw), "no internal name {raw:?}: {tall}");
    }
}

#[tokio::test]
async fn the_credit_dialog_help_worklist_and_dashboard_render_at_both_sizes() {
    let f = fixture().await;
    let mut app = account(&f, "310000001").await;
    app.update(key('c'));
    insta::assert_snapshot!("credit_dialog_80x24", draw(&app, 80, 24, COLOR).backend());
    insta::assert_snapshot!("credit_dialog_50x14", draw(&app, 50, 14, COLOR).backend());

    let mut restore = account(&f, "310000001").await;
    let effects = restore.update(key('r'));
    let Some(caredesk::tui::app::Effect::RestorePreview {
        seq,
        account_no,
        backup_id,
        categories,
        mode,
    }) = effects.into_iter().next()
    else {
        panic!("the restore panel asks for a preview");
    };
    let preview = f
        .svc
        .restore_preview(&f.actor, &account_no, &backup_id, &categories, mode)
        .await;
    restore.update(Msg::RestorePreviewed {
        seq,
        result: preview.map(Box::new).map_err(|e| e.to_string()),
    });
    let screen = draw(&restore, 80, 24, COLOR).backend().to_string();
    assert!(
        screen.contains("in backup") && screen.contains("conflicting"),
        "{screen}"
    );
    insta::assert_snapshot!("restore_panel_80x24", screen);
    insta::assert_snapshot!(
        "restore_panel_50x14",
        draw(&restore, 50, 14, COLOR).backend()
    );

    let mut help = new_app(&f.actor);
    help.update(code(KeyCode::Esc));
    help.update(key('?'));
    insta::assert_snapshot!("help_80x24", draw(&help, 80, 24, COLOR).backend());

    let mut wl = new_app(&f.actor);
    wl.update(code(KeyCode::Esc));
    wl.update(key('w'));
    wl.update(Msg::WorklistLoaded(
        f.svc
            .worklist(&f.actor, None, 500)
            .await
            .map_err(|e| e.to_string()),
    ));
    insta::assert_snapshot!("worklist_80x24", draw(&wl, 80, 24, COLOR).backend());
    insta::assert_snapshot!("worklist_50x14", draw(&wl, 50, 14, COLOR).backend());

    let mut dash = new_app(&f.actor);
    dash.update(code(KeyCode::Esc));
    dash.update(key('d'));
    dash.update(Msg::DashboardLoaded(
        f.svc
            .totals(&f.actor, None)
            .await
            .map_err(|e| e.to_string()),
    ));
    insta::assert_snapshot!("dashboard_80x24", draw(&dash, 80, 24, COLOR).backend());
    insta::assert_snapshot!("dashboard_50x14", draw(&dash, 50, 14, COLOR).backend());
}

#[tokio::test]
async fn the_approvals_queue_shows_the_pending_requests_oldest_first_with_their_wait() {
    use caredesk::domain::{CategoryStatus, RequestStatus};
    let f = fixture().await;
    let sofia = f.svc.actor(Some("sofia")).await.expect("sofia");
    let omar = f.svc.actor(Some("omar")).await.expect("omar");
    // Three accounts whose lost category is declared lost for good, each then requested by the
    // agent, a while apart.
    let lost = f
        .svc
        .worklist(&sofia, Some(CategoryStatus::Lost), 3)
        .await
        .expect("worklist")
        .entries
        .into_iter()
        .map(|e| e.account)
        .collect::<Vec<_>>();
    assert_eq!(lost.len(), 3, "the demo has accounts with lost data");
    for (i, a) in lost.iter().enumerate() {
        let d = f.svc.detail(&sofia, a.id).await.expect("detail");
        let c = d
            .categories
            .iter()
            .find(|c| c.status == CategoryStatus::Lost)
            .expect("a lost category");
        f.svc
            .declare_loss(
                &sofia,
                &a.account_no,
                None,
                c.category,
                "no snapshot holds it",
            )
            .await
            .expect("declare");
        f.svc
            .credit_request(
                &f.actor,
                &a.account_no,
                None,
                &format!("Lost {} {} for good", c.items_before, c.category),
            )
            .await
            .expect("request");
        f.clock
            .advance(chrono::TimeDelta::minutes(if i == 0 { 95 } else { 12 }));
    }
    let mut app = new_app(&omar);
    app.update(code(KeyCode::Esc));
    app.update(key('p'));
    assert_eq!(app.screen, Screen::Approvals);
    app.update(Msg::ApprovalsLoaded {
        at: f.clock.now(),
        result: f
            .svc
            .credit_requests(&omar, Some(RequestStatus::Pending), 200)
            .await
            .map_err(|e| e.to_string()),
    });
    assert_eq!(app.approvals.len(), 3);
    app.update(key('j'));
    let screen = draw(&app, 80, 24, COLOR).backend().to_string();
    for words in [
        "approvals: 3 pending requests, oldest first",
        "Approvals",
        "1 h",
        "24 min",
        "12 min",
        "x reject",
    ] {
        assert!(screen.contains(words), "{words:?}: {screen}");
    }
    insta::assert_snapshot!("approvals_80x24", screen);
    insta::assert_snapshot!("approvals_50x14", draw(&app, 50, 14, COLOR).backend());
    app.update(key('x'));
    for c in "Contacts came back".chars() {
        app.update(key(c));
    }
    app.update(code(KeyCode::Enter));
    insta::assert_snapshot!(
        "approvals_reject_dialog_80x24",
        draw(&app, 80, 24, COLOR).backend()
    );
}

#[tokio::test]
async fn no_color_carries_meaning_by_text_and_modifiers_only() {
    let f = fixture().await;
    let mut app = account(&f, &at_risk_account(&f).await).await;
    app.update(key('c'));
    let plain = Theme { color: false };
    let t = draw(&app, 80, 24, plain);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "a coloured cell under NO_COLOR: {cell:?}"
        );
    }
    let text = t.backend().to_string();
    assert!(text.contains("[at-risk]"), "statuses are words");
    assert!(
        text.contains("> Cancel (n) <"),
        "the focused button is marked, not only coloured"
    );
    insta::assert_snapshot!("credit_dialog_no_color_80x24", text);
}

#[tokio::test]
async fn any_size_down_to_tiny_renders_without_panicking() {
    let f = fixture().await;
    let mut apps = vec![
        new_app(&f.actor),
        searched(&f, "a").await,
        account(&f, "310000001").await,
    ];
    let mut dialog = account(&f, "310000001").await;
    dialog.update(key('c'));
    apps.push(dialog);
    for app in &apps {
        for (w, h) in [(1, 1), (10, 3), (20, 6), (33, 9), (80, 24), (200, 60)] {
            draw(app, w, h, COLOR);
        }
    }
}

#[tokio::test]
async fn hostile_names_reach_the_screen_without_control_characters() {
    let db = common::TestDb::sqlite();
    let svc = db.service(common::clock() as Arc<dyn Clock>).await;
    svc.init_admin(
        "ops",
        Some(&caredesk::demo::incident().expect("demo incident")),
    )
    .await
    .expect("init");
    let ops = svc.actor(Some("ops")).await.expect("ops");
    // Straight into the database, past the importer's own cleaning.
    if let caredesk::store::Store::Sqlite(s) = svc.store() {
        sqlx::query("INSERT INTO accounts (account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
                     VALUES ('510000001', '+12065550100', $1, 'evil', $2, 'active', $3, 0, '2009-10-14T00:00:00+00:00')")
            .bind("Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}Name\r\n")
            .bind("x@\u{1b}[31mred.example")
            .bind("\u{9b}31mDevice")
            .execute(s.pool())
            .await
            .expect("insert");
    }
    let mut app = App::new(ops.clone(), "sqlite:demo.db".to_string(), Keymap::default());
    let id = svc.resolve_account("510000001").await.expect("account").id;
    app.results = svc.lookup("510000001", 5).await.expect("lookup");
    app.update(code(KeyCode::Enter));
    app.update(Msg::AccountLoaded(
        svc.detail(&ops, id)
            .await
            .map(Box::new)
            .map_err(|e| e.to_string()),
    ));
    for screen in [
        draw(&app, 80, 24, COLOR),
        draw(&searched_with(&ops, app.results.clone()), 80, 24, COLOR),
    ] {
        for cell in screen.backend().buffer().content() {
            let sym = cell.symbol();
            assert!(
                !sym.chars().any(|c| c.is_control()
                    || ('\u{80}'..='\u{9f}').contains(&c)
                    || ('\u{202a}'..='\u{202e}').contains(&c)),
                "a control character reached the terminal: {sym:?}"
            );
        }
        let text = screen.backend().to_string();
        assert!(
            text.contains("Evil") && !text.contains("pwned\u{7}"),
            "{text}"
        );
    }
    let _ = Role::Agent;
}

fn searched_with(actor: &Actor, results: Vec<caredesk::domain::AccountSummary>) -> App {
    let mut app = App::new(
        actor.clone(),
        "sqlite:demo.db".to_string(),
        Keymap::default(),
    );
    app.update(key('5'));
    app.update(Msg::SearchDone {
        seq: 1,
        query: "5".to_string(),
        result: Ok(results),
    });
    app
}

#[tokio::test]
async fn an_auditor_sees_the_customer_masked_until_revealing_it() {
    let f = fixture().await;
    let auditor = f.svc.actor(Some("audrey")).await.expect("audrey");
    let full = f
        .svc
        .show(&f.actor, "310000001")
        .await
        .expect("show")
        .summary;
    let id = full.id;
    let mut app = new_app(&auditor);
    for c in "310000001".chars() {
        app.update(key(c));
    }
    let results = f.svc.search(&auditor, "310000001", 50).await;
    app.update(Msg::SearchDone {
        seq: 9,
        query: "310000001".to_string(),
        result: results.map_err(|e| e.to_string()),
    });
    let list = draw(&app, 80, 24, COLOR).backend().to_string();
    assert!(list.contains("310000001"), "{list}");
    assert!(
        !list.contains(&full.name),
        "the name is masked in the list: {list}"
    );
    app.update(code(KeyCode::Enter));
    let d = f.svc.detail(&auditor, id).await.expect("detail");
    app.update(Msg::AccountLoaded(Ok(Box::new(d))));
    insta::assert_snapshot!("account_masked_80x24", draw(&app, 80, 24, COLOR).backend());
    let masked = draw(&app, 80, 24, COLOR).backend().to_string();
    assert!(masked.contains("masked: v reveals (audited)"), "{masked}");
    assert!(!masked.contains(&full.name), "{masked}");
    assert!(!masked.contains(&full.msisdn[2..]), "{masked}");
    let effects = app.update(key('v'));
    assert_eq!(
        effects,
        vec![caredesk::tui::app::Effect::RevealAccount { id }]
    );
    let d = f.svc.detail_revealed(&auditor, id).await.expect("reveal");
    app.update(Msg::AccountLoaded(Ok(Box::new(d))));
    let shown = draw(&app, 80, 24, COLOR).backend().to_string();
    assert!(shown.contains(&full.name), "{shown}");
    assert!(!shown.contains("masked:"), "{shown}");
}

#[tokio::test]
async fn an_account_two_incidents_touched_shows_both_and_acts_on_the_selected_rows_incident() {
    let db = common::TestDb::sqlite();
    let clock = common::clock();
    let svc = db.service(clock.clone() as Arc<dyn Clock>).await;
    caredesk::demo::build_with(&svc, 300, 2009, 2, "sofia", None)
        .await
        .expect("demo with two incidents");
    let actor = svc.actor(Some("alice")).await.expect("alice");
    let f = Fixture {
        _db: db,
        svc,
        actor,
        clock,
    };
    // An account at risk in both incidents: both advisories are read out.
    let mut both = None;
    for a in f
        .svc
        .worklist(
            &f.actor,
            Some(caredesk::domain::CategoryStatus::AtRisk),
            300,
        )
        .await
        .expect("worklist")
        .entries
        .into_iter()
        .map(|e| e.account)
    {
        let d = f.svc.show(&f.actor, &a.account_no).await.expect("show");
        if d.advisories().len() == 2 {
            both = Some((a.account_no, d));
            break;
        }
    }
    let (account_no, detail) = both.expect("the demo has an account at risk in both incidents");
    let mut app = account(&f, &account_no).await;
    let screen = draw(&app, 80, 24, COLOR).backend().to_string();
    assert!(
        screen.contains("danger-2009-10") && screen.contains("danger-2010-03"),
        "{screen}"
    );
    insta::assert_snapshot!("account_two_incidents_80x24", screen);

    // The credit key on a row of the March incident asks about that incident's credit.
    let row = detail
        .categories
        .iter()
        .position(|c| c.incident == "danger-2010-03")
        .expect("a March row");
    for _ in 0..row {
        app.update(code(KeyCode::Down));
    }
    app.update(key('c'));
    let dialog = draw(&app, 80, 24, COLOR).backend().to_string();
    assert!(dialog.contains("2010-03-15"), "{dialog}");
}

#[tokio::test]
async fn another_agent_on_the_account_and_a_dropped_link_show_on_the_account_screen() {
    use caredesk::domain::{Feed, Presence, PresenceReply};
    let f = fixture().await;
    let mut app = account(&f, "310000001").await;
    let id = app.account.as_ref().expect("account").summary.id;
    let now = common::clock().now();
    app.live.now = now;
    app.update(Msg::Presence {
        account: Some(id),
        result: Ok(PresenceReply {
            others: vec![Presence {
                login: "omar".to_string(),
                display_name: "Omar".to_string(),
                since: now - chrono::TimeDelta::seconds(150),
            }],
            beat_secs: 10,
        }),
    });
    app.update(Msg::Live(Feed::Down {
        reason: "the server closed the event stream".to_string(),
    }));
    let screen = draw(&app, 80, 24, COLOR).backend().to_string();
    assert!(
        screen.contains("omar has this account open, 2 min"),
        "{screen}"
    );
    assert!(screen.contains("not live, reconnecting"), "{screen}");
    insta::assert_snapshot!("account_presence_link_down_80x24", screen);
}
