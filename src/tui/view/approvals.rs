//! The approvals screen: the pending appreciation requests of every account, oldest first,
//! each with how long it has waited (as of the queue's last load).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};

use super::{Theme, clean};
use crate::domain::format_cents;
use crate::tui::app::App;

/// How long a request has waited, in the words a queue reads at a glance.
pub(super) fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    match minutes {
        0 => "just now".to_string(),
        1..=59 => format!("{minutes} min"),
        60..=2879 => format!("{} h", minutes / 60),
        _ => format!("{} d", minutes / 1440),
    }
}

pub(super) fn render_approvals(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let n = app.approvals.len();
    let title = format!(
        " approvals: {n} pending request{}, oldest first ",
        if n == 1 { "" } else { "s" }
    );
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.title()));
    if app.approvals.is_empty() {
        let text = if app.loading_approvals {
            "loading…"
        } else {
            "no request is waiting for a decision"
        };
        f.render_widget(Paragraph::new(text).style(theme.dim()).block(block), area);
        return;
    }
    // Below 64 columns only what a decision needs first: which request, account, amount, age
    // and reason. The incident shows when the queue holds more than one.
    let wide = area.width >= 64;
    let mut ids: Vec<&str> = app
        .approvals
        .iter()
        .map(|v| v.request.incident.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let incidents = ids.len() > 1;
    let rows: Vec<Row> = app
        .approvals
        .iter()
        .map(|v| {
            let r = &v.request;
            let mut cells = vec![format!("#{}", r.id), clean(&v.account_no)];
            if wide {
                cells.push(clean(&v.customer));
            }
            if incidents {
                cells.push(clean(super::short_incident(&ids, &r.incident)));
            }
            cells.push(format_cents(r.amount_cents, &v.currency));
            if wide {
                cells.push(clean(&r.requested_by));
            }
            cells.push(age(r.requested_at, app.approvals_at));
            cells.push(clean(&r.reason));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(5), Constraint::Length(10)];
    let mut header = vec!["req", "account"];
    if wide {
        widths.push(Constraint::Length(12));
        header.push("customer");
    }
    if incidents {
        widths.push(Constraint::Length(8));
        header.push("incident");
    }
    widths.push(Constraint::Length(8));
    header.push("amount");
    if wide {
        widths.push(Constraint::Length(8));
        header.push("by");
    }
    widths.extend([Constraint::Length(8), Constraint::Fill(1)]);
    header.extend(["waiting", "reason"]);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .row_highlight_style(theme.selected())
        .highlight_symbol("> ")
        .block(block);
    let mut state = TableState::default().with_selected(Some(app.approvals_selected));
    f.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn a_request_s_wait_reads_in_minutes_hours_or_days() {
        let t = DateTime::from_timestamp(1_255_536_000, 0).expect("time");
        assert_eq!(age(t, t), "just now");
        assert_eq!(age(t, t + TimeDelta::minutes(12)), "12 min");
        assert_eq!(age(t, t + TimeDelta::minutes(135)), "2 h");
        assert_eq!(age(t, t + TimeDelta::days(3)), "3 d");
        assert_eq!(
            age(t + TimeDelta::minutes(5), t),
            "just now",
            "a clock a little behind"
        );
    }
}
