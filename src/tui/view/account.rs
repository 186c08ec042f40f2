//! The account screen: profile and plan, the advisory banner, categories, backups, credits
//! and the timeline.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState, Wrap};

use super::{Theme, badge, clean, wrapped_height};
use crate::domain::{RequestStatus, format_cents};
use crate::tui::app::App;
use crate::tui::keymap::Action;

pub(super) fn render_account(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let Some(a) = &app.account else {
        let text = if app.loading_account() {
            "loading the account…"
        } else {
            "no account open"
        };
        f.render_widget(Paragraph::new(text).style(theme.dim()), area);
        return;
    };
    let s = &a.summary;
    let plan = a
        .current_plan()
        .map(|p| {
            format!(
                "{} {}/mo{}",
                clean(&p.plan_code),
                format_cents(p.price_cents, &p.currency),
                if p.data_plan { "" } else { " (no data)" }
            )
        })
        .unwrap_or_else(|| "no plan".to_string());
    let header = vec![
        Line::from(vec![
            Span::styled(format!("{}  ", clean(&s.account_no)), theme.title()),
            Span::styled(
                clean(&s.name),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw("  "),
            Span::styled(badge(s.status), theme.status(s.status)),
            Span::raw(format!("  account {}", s.account_status)),
            Span::styled(
                if a.masked {
                    format!(
                        "  masked: {} reveals (audited)",
                        app.keymap.hint(Action::Reveal)
                    )
                } else {
                    String::new()
                },
                theme.dim(),
            ),
        ]),
        Line::from(format!(
            "{} · {} · {} · {}",
            clean(&s.msisdn),
            if s.email.is_empty() {
                "no e-mail".to_string()
            } else {
                clean(&s.email)
            },
            if a.device_model.is_empty() {
                "device ?".to_string()
            } else {
                clean(&a.device_model)
            },
            plan
        )),
    ];
    // Who else has the account open: a warning, not a lock.
    let mut header = header;
    let others: Vec<String> = app
        .others_here()
        .iter()
        .map(|p| p.describe(app.live.now))
        .collect();
    if !others.is_empty() {
        header.push(Line::styled(
            format!(" {}", others.join(" · ")),
            theme.banner(),
        ));
    }
    // Who promised to call the customer back, and when (in this agent's zone).
    for c in &a.callbacks {
        header.push(Line::styled(
            format!(
                " callback #{}: {}",
                c.id,
                clean(&app.zone.callback_words(c, app.live.now))
            ),
            theme.warn(),
        ));
    }
    let head_h = u16::try_from(header.len()).unwrap_or(2);
    let at_risk = a.at_risk();
    let several = a.touched_by().len() > 1;
    // One warning per incident with categories at risk: its own words to read out.
    // Each with whether the customer was advised, and by whom.
    let mut banner_text = Vec::new();
    let mut banner_style = Vec::new();
    for (inc, cats) in a.advisories() {
        let cats: Vec<&str> = cats.iter().map(|c| c.as_str()).collect();
        banner_text.push(format!(
            " !! AT RISK ({}{}): the phone holds the only copy. Read this to the customer:",
            cats.join(", "),
            if several {
                format!(", {}", inc.id)
            } else {
                String::new()
            }
        ));
        banner_style.push(theme.banner());
        banner_text.push(format!(" \"{}\"", clean(&inc.advisory)));
        banner_style.push(Style::default());
        match a.advice.iter().find(|g| g.incident == inc.id) {
            Some(given) => {
                banner_text.push(format!(
                    " {}",
                    clean(&app.zone.advice_words(given, app.live.now))
                ));
                banner_style.push(theme.dim());
            }
            None => {
                banner_text.push(format!(
                    " not advised yet: {} once you have read it (advised the customer)",
                    app.keymap.hint(Action::Advise)
                ));
                banner_style.push(theme.warn());
            }
        }
    }
    let banner_h = if at_risk.is_empty() {
        0
    } else {
        wrapped_height(&banner_text, area.width).saturating_add(1)
    };
    let rows = u16::try_from(a.categories.len()).unwrap_or(6).max(1);
    // On a short screen the words to read out come first, then the categories.
    let banner_h = banner_h.min(area.height.saturating_sub(head_h));
    let cats_h = (rows + 2).min(area.height.saturating_sub(head_h + banner_h));
    let [head, banner, cats, bottom] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Length(banner_h),
        Constraint::Length(cats_h),
        Constraint::Min(0),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header), head);
    if !at_risk.is_empty() {
        let text: Vec<Line> = banner_text
            .iter()
            .zip(&banner_style)
            .map(|(t, style)| Line::styled(t.clone(), *style))
            .collect();
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::BOTTOM)),
            banner,
        );
    }
    let cat_rows: Vec<Row> = a
        .categories
        .iter()
        .map(|c| {
            let name = if several {
                // The incident's id without a prefix its incidents share ("2010-03").
                format!(
                    "{} {}",
                    c.category.as_str(),
                    short_id(&a.incidents, &c.incident)
                )
            } else {
                c.category.as_str().to_string()
            };
            Row::new(vec![
                Span::raw(name),
                Span::styled(badge(c.status), theme.status(c.status)),
                Span::raw(c.items_before.to_string()),
                Span::raw(c.items_live.to_string()),
                Span::raw(c.items_backup.map_or("-".to_string(), |n| n.to_string())),
                Span::styled(c.device_state.as_str().to_string(), theme.dim()),
            ])
        })
        .collect();
    let table = Table::new(
        cat_rows,
        [
            Constraint::Length(if several { 17 } else { 9 }),
            Constraint::Length(18),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new(["category", "status", "before", "live", "backup", "device"]).style(theme.dim()),
    )
    .row_highlight_style(theme.selected())
    .block(
        Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(" categories ", theme.title())),
    );
    let mut state = TableState::default().with_selected(Some(app.category_selected));
    f.render_stateful_widget(table, cats, &mut state);

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let mut lines: Vec<Line> = Vec::new();
    for b in &a.backups {
        let cats: Vec<String> = b
            .categories
            .iter()
            .map(|c| format!("{} {}", c.category.as_str(), c.item_count - c.bad_items))
            .collect();
        lines.push(Line::from(format!(
            "{} {} {}",
            b.taken_at.format("%Y-%m-%d"),
            b.verification,
            cats.join(", ")
        )));
    }
    if a.backups.is_empty() {
        lines.push(Line::styled("no backup", theme.dim()));
    }
    for c in &a.credits {
        lines.push(Line::from(format!(
            "credit #{} {} {} by {}",
            c.id,
            c.kind,
            format_cents(c.amount_cents, &c.currency),
            clean(&c.agent)
        )));
    }
    for r in &a.requests {
        let state = match (r.status, &r.rejection_reason) {
            (RequestStatus::Rejected, Some(why)) => format!(
                "rejected by {}: {}",
                clean(r.decided_by.as_deref().unwrap_or("?")),
                clean(why)
            ),
            (status, _) => status.to_string(),
        };
        lines.push(Line::from(format!(
            "request #{} {} {} {state}",
            r.id,
            r.kind,
            format_cents(r.amount_cents, "USD")
        )));
    }
    if a.credits.is_empty() && a.requests.is_empty() {
        lines.push(Line::styled("no credit yet", theme.dim()));
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::TOP)
                .title(Span::styled(" backups · credits ", theme.title())),
        ),
        left,
    );
    let timeline: Vec<Line> = a
        .timeline
        .iter()
        .map(|e| {
            Line::from(format!(
                "{} {}",
                e.at.format("%m-%d %H:%M"),
                clean(&a.describe(e))
            ))
        })
        .collect();
    f.render_widget(
        Paragraph::new(timeline).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::TOP | Borders::LEFT)
                .title(Span::styled(" timeline ", theme.title())),
        ),
        right,
    );
}

/// An incident's id without the prefix every incident's id shares, so a narrow column tells
/// them apart (`danger-2009-10`, `danger-2010-03` → `2009-10`, `2010-03`).
fn short_id<'a>(incidents: &[crate::domain::Incident], id: &'a str) -> &'a str {
    let ids: Vec<&str> = incidents.iter().map(|i| i.id.as_str()).collect();
    super::short_incident(&ids, id)
}
