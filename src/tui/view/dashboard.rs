//! The dashboard screen: the incident's progress as figures, gauges and a chart by status.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Gauge, Paragraph, Wrap};

use super::{Theme, clean, wrapped_height};
use crate::domain::{CategoryStatus, format_cents};
use crate::tui::app::App;

pub(super) fn render_dashboard(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let Some(t) = &app.totals else {
        f.render_widget(
            Paragraph::new(if app.loading_dashboard {
                "loading…"
            } else {
                "no figures"
            }),
            area,
        );
        return;
    };
    let count = |s: CategoryStatus| {
        t.by_status
            .iter()
            .find(|(x, _)| *x == s)
            .map_or(0, |(_, n)| *n)
    };
    let restored = count(CategoryStatus::RestoredFull) + count(CategoryStatus::RestoredPartial);
    let ratio = |n: i64, d: i64| {
        if d > 0 {
            (n as f64 / d as f64).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let at_risk = count(CategoryStatus::AtRisk);
    let c = &t.contact;
    let mut figures = vec![
        format!(
            "accounts {} · affected {} · at-risk {at_risk} · restored {}",
            t.accounts, t.affected, restored
        ),
        format!(
            "advised by call {} · SMS {} · e-mail {} · callbacks due today {}",
            c.advised_call, c.advised_sms, c.advised_email, c.callbacks_due
        ),
    ];
    // One line of credits per incident, in its own currency.
    let several = t.by_incident.len() > 1;
    for i in &t.by_incident {
        figures.push(format!(
            "{}incident credits {} · credited net of reversals {}",
            if several {
                format!("{}: ", i.incident)
            } else {
                String::new()
            },
            i.credited,
            format_cents(i.net_credited_cents, &i.currency)
        ));
    }
    // Batch runs going now, with how fast they go.
    for r in &app.runs {
        let secs = (app.live.now - r.started_at).num_seconds().max(1);
        figures.push(format!(
            "batch run #{} ({}) by {}: {} accounts done, {} credited, {}/s",
            r.id,
            r.incident,
            clean(&r.started_by),
            r.tally.selected,
            r.tally.credited,
            r.tally.selected / secs
        ));
    }
    // On a narrow screen the figures wrap rather than lose the amount off the edge.
    // On a short screen each gauge is one row, its title in its label.
    let gauge_h = if area.height < 20 { 1 } else { 2 };
    let [numbers, g0, g1, g2, chart] = Layout::vertical([
        Constraint::Length(wrapped_height(&figures, area.width).min(8)),
        Constraint::Length(gauge_h),
        Constraint::Length(gauge_h),
        Constraint::Length(gauge_h),
        Constraint::Min(0),
    ])
    .areas(area);
    let gauge = |title: &str, label: String| {
        if gauge_h == 1 {
            Gauge::default().label(format!("{title}: {label}"))
        } else {
            Gauge::default()
                .block(Block::default().title(title.to_string()))
                .label(label)
        }
    };
    f.render_widget(
        Paragraph::new(figures.into_iter().map(Line::from).collect::<Vec<_>>())
            .wrap(Wrap { trim: true }),
        numbers,
    );
    // Warning those whose phone holds the only copy comes first.
    f.render_widget(
        gauge(
            "at-risk customers advised",
            format!(
                "{} / {at_risk}, {} not yet",
                c.advised,
                (at_risk - c.advised).max(0)
            ),
        )
        .gauge_style(theme.status(CategoryStatus::AtRisk))
        .ratio(ratio(c.advised, at_risk)),
        g0,
    );
    f.render_widget(
        gauge(
            "restored of affected",
            format!("{restored} / {}", t.affected),
        )
        .gauge_style(theme.status(CategoryStatus::RestoredFull))
        .ratio(ratio(restored, t.affected)),
        g1,
    );
    f.render_widget(
        gauge(
            "accounts credited",
            format!("{} / {}", t.credited, t.accounts),
        )
        .gauge_style(theme.title())
        .ratio(ratio(t.credited, t.accounts)),
        g2,
    );
    let bars: Vec<Bar> = CategoryStatus::ALL
        .iter()
        .map(|s| {
            let n = count(*s);
            Bar::default()
                .value(u64::try_from(n).unwrap_or(0))
                .label(Line::from(short(*s)))
                .style(theme.status(*s))
                .text_value(n.to_string())
        })
        .collect();
    f.render_widget(
        BarChart::default()
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(Span::styled(" accounts by status ", theme.title())),
            )
            .data(BarGroup::default().bars(&bars))
            .bar_width(9)
            .bar_gap(1),
        chart,
    );
}

fn short(s: CategoryStatus) -> &'static str {
    match s {
        CategoryStatus::AtRisk => "at-risk",
        CategoryStatus::Restorable => "restorbl",
        CategoryStatus::Lost => "lost",
        CategoryStatus::PermanentLoss => "perm.loss",
        CategoryStatus::RestoredPartial => "partial",
        CategoryStatus::RestoredFull => "restored",
        CategoryStatus::NotAffected => "ok",
    }
}
