//! The bars: screens and the spinner on top, the last message, and the status bar with the
//! agent, role, database and the keys of the screen in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{SPINNER, Theme, clean};
use crate::tui::app::{App, Level, Screen};
use crate::tui::keymap::Action;

pub(super) fn render_top(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let mut spans = vec![Span::styled(" caredesk ", theme.title())];
    // The queue's tab only for the roles that may open it.
    let approvals = app
        .actor
        .role
        .allows(crate::domain::Permission::ViewRequests);
    for (screen, label) in [
        (Screen::Search, "Search"),
        (Screen::Account, "Account"),
        (Screen::Worklist, "Worklist"),
        (Screen::Dashboard, "Dashboard"),
        (Screen::Approvals, "Approvals"),
    ] {
        if screen == Screen::Approvals && !approvals {
            continue;
        }
        let style = if app.screen == screen {
            theme.selected()
        } else {
            Style::default()
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {label} "), style));
    }
    if app.busy() {
        spans.push(Span::raw(format!(
            "  {} working",
            SPINNER[app.spinner % SPINNER.len()]
        )));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(super) fn render_message(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    if let Some((level, text)) = &app.message {
        let (style, prefix) = match level {
            Level::Info => (Style::default(), ""),
            Level::Error => (theme.error(), "! "),
        };
        f.render_widget(
            Paragraph::new(Span::styled(format!(" {prefix}{}", clean(text)), style)),
            area,
        );
    }
}

pub(super) fn render_status(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let k = &app.keymap;
    let hints = match app.screen {
        Screen::Search if app.search_focus => {
            "type to search · ↑↓ select · Enter open · Esc leave field".to_string()
        }
        Screen::Search => format!(
            "{} search · {} worklist · {} dashboard · {} help · {} quit",
            k.hint(Action::Search),
            k.hint(Action::Worklist),
            k.hint(Action::Dashboard),
            k.hint(Action::Help),
            k.hint(Action::Quit)
        ),
        Screen::Account => format!(
            "{} credit · {} restore · {} note · {} back · {} help",
            k.hint(Action::Credit),
            k.hint(Action::Restore),
            k.hint(Action::Note),
            k.hint(Action::Back),
            k.hint(Action::Help)
        ),
        Screen::Worklist => format!(
            "Enter open · {} filter · {} back · {} help",
            k.hint(Action::Filter),
            k.hint(Action::Back),
            k.hint(Action::Help)
        ),
        Screen::Dashboard => format!(
            "{} reload · {} back · {} help",
            k.hint(Action::Refresh),
            k.hint(Action::Back),
            k.hint(Action::Help)
        ),
        Screen::Approvals => format!(
            "{} open · {} approve · {} reject · {} back · {} help",
            k.hint(Action::Open),
            k.hint(Action::Approve),
            k.hint(Action::Reject),
            k.hint(Action::Back),
            k.hint(Action::Help)
        ),
    };
    let who = format!(
        " {} ({}) · {} ",
        app.actor.login,
        app.actor.role,
        clean(&app.db_label)
    );
    let mut spans = vec![Span::styled(who, theme.selected()), Span::raw(" ")];
    // A dropped link says so first: what is on screen may be out of date.
    if let Some(reason) = &app.live.down {
        spans.push(Span::styled(
            format!("! not live, reconnecting ({}) ", clean(reason)),
            theme.error(),
        ));
    }
    spans.push(Span::styled(hints, theme.dim()));
    let line = Line::from(spans);
    f.render_widget(Paragraph::new(line), area);
}
