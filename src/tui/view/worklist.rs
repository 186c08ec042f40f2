//! The worklist screen: accounts needing action, most urgent first, each with why it is on
//! the list, under a header with the list's true size and the filter in view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};

use super::{Theme, badge, clean};
use crate::domain::{WorklistEntry, WorklistReason};
use crate::tui::app::App;

pub(super) fn render_worklist(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let filter = app
        .worklist_filter
        .map_or("needing action".to_string(), |s| s.as_str().to_string());
    let list = &app.worklist;
    let shown = list.entries.len() as i64;
    let title = if shown < list.total {
        format!(
            " worklist: {} accounts {filter}, first {shown} shown (most urgent first) ",
            list.total
        )
    } else {
        format!(
            " worklist: {} accounts {filter} (most urgent first) ",
            list.total
        )
    };
    if list.entries.is_empty() {
        let text = if app.loading_worklist {
            "loading…"
        } else {
            "nothing here"
        };
        f.render_widget(
            Paragraph::new(text).block(Block::default().borders(Borders::TOP).title(title)),
            area,
        );
        return;
    }
    let table = worklist_table(&list.entries, app, theme, area.width).block(
        Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(title, theme.title())),
    );
    let mut state = TableState::default().with_selected(Some(app.worklist_selected));
    f.render_stateful_widget(table, area, &mut state);
}

/// When a due callback was due, short enough for its column: "16:00" on the agent's day
/// (in their zone), else "10-13 16:00".
fn due_words(
    due: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    zone: crate::tui::zone::Zone,
) -> String {
    zone.format(
        due,
        if zone.same_day(due, now) {
            "%H:%M"
        } else {
            "%m-%d %H:%M"
        },
    )
}

/// Why, status, account and name; the phone when it fits; below 64 columns the status gives
/// way to the name (the why says what to do).
fn worklist_table<'a>(
    entries: &'a [WorklistEntry],
    app: &App,
    theme: Theme,
    width: u16,
) -> Table<'a> {
    let phone = width >= 96;
    let narrow = width < 64;
    let now = app.live.now;
    let rows: Vec<Row> = entries
        .iter()
        .map(|e| {
            let a = &e.account;
            let why = match &e.reason {
                WorklistReason::CallbackDue { due_at } => Span::styled(
                    format!(
                        "{} {}",
                        if narrow { "call" } else { "call back" },
                        due_words(*due_at, now, app.zone)
                    ),
                    theme.warn(),
                ),
                WorklistReason::NotAdvised => Span::styled("not advised", theme.warn()),
                WorklistReason::Status => Span::raw(""),
            };
            let mut cells = vec![why];
            if !narrow {
                cells.push(Span::styled(badge(a.status), theme.status(a.status)));
            }
            cells.push(Span::raw(clean(&a.account_no)));
            cells.push(Span::raw(clean(&a.name)));
            if phone {
                cells.push(Span::raw(clean(&a.msisdn)));
            }
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(if narrow { 11 } else { 21 })];
    if !narrow {
        widths.push(Constraint::Length(18));
    }
    widths.extend([Constraint::Length(10), Constraint::Fill(3)]);
    let mut header = if narrow {
        vec!["why", "account", "name"]
    } else {
        vec!["why", "status", "account", "name"]
    };
    if phone {
        widths.push(Constraint::Length(13));
        header.push("phone");
    }
    Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .row_highlight_style(theme.selected())
        .highlight_symbol("> ")
}
