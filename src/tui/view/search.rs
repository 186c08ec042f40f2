//! The search screen: the field, the hint before any query, and the ranked results.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState, Wrap};

use super::{Theme, badge, clean};
use crate::tui::app::App;

/// A list of accounts; below 80 columns only status, account and name (and phone when it
/// fits), so names stay readable.
pub(super) fn summary_table<'a>(
    list: &'a [crate::domain::AccountSummary],
    theme: Theme,
    width: u16,
) -> Table<'a> {
    let wide = width >= 80;
    let phone = width >= 64;
    let rows: Vec<Row> = list
        .iter()
        .map(|a| {
            let mut cells = vec![
                Span::styled(badge(a.status), theme.status(a.status)),
                Span::raw(clean(&a.account_no)),
                Span::raw(clean(&a.name)),
            ];
            if phone {
                cells.push(Span::raw(clean(&a.msisdn)));
            }
            if wide {
                cells.push(Span::raw(
                    if a.account_status == crate::domain::AccountStatus::Active {
                        String::new()
                    } else {
                        a.account_status.to_string()
                    },
                ));
                cells.push(Span::styled(clean(&a.email), theme.dim()));
            }
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(18),
        Constraint::Length(10),
        Constraint::Fill(3),
    ];
    let mut header = vec!["status", "account", "name"];
    if phone {
        widths.push(Constraint::Length(13));
        header.push("phone");
    }
    if wide {
        widths.push(Constraint::Length(9));
        widths.push(Constraint::Fill(2));
        header.extend(["", "e-mail"]);
    }
    Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .row_highlight_style(theme.selected())
        .highlight_symbol("> ")
}

pub(super) fn render_search(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let [input, list] = Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(area);
    let cursor = if app.search_focus { "▏" } else { "" };
    let title = if app.search_focus {
        " Search: name, phone, account no. or e-mail "
    } else {
        " Search (press / to type) "
    };
    f.render_widget(
        Paragraph::new(format!("{}{cursor}", clean(&app.query)))
            .block(Block::bordered().title(Span::styled(title, theme.title()))),
        input,
    );
    if app.query.trim().is_empty() {
        let help = vec![
            Line::from(
                "Type part of a name, an e-mail, phone digits in any format or an account number.",
            ),
            Line::from(
                "Results appear as you type, most relevant first; Enter opens the selected account.",
            ),
        ];
        f.render_widget(
            Paragraph::new(help)
                .wrap(Wrap { trim: true })
                .style(theme.dim()),
            list,
        );
        return;
    }
    if app.results.is_empty() {
        let text = if app.searching {
            "searching…".to_string()
        } else {
            format!("no account matches \"{}\"", clean(&app.results_query))
        };
        f.render_widget(Paragraph::new(text).style(theme.dim()), list);
        return;
    }
    let title = format!(
        " {} result(s) for \"{}\" ",
        app.results.len(),
        clean(&app.results_query)
    );
    let table = summary_table(&app.results, theme, list.width)
        .block(Block::default().borders(Borders::TOP).title(title));
    let mut state = TableState::default().with_selected(Some(app.selected));
    f.render_stateful_widget(table, list, &mut state);
}
