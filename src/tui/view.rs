//! Pure rendering of `App`: every screen, overlay and bar. Reads state, draws, never does I/O.
//! Every string from the database goes through `clean` (no control characters or escapes), and
//! meaning never rests on colour alone: statuses are words, the focused button is marked.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Bar, BarChart, BarGroup, Block, Borders, Clear, Gauge, Paragraph, Row, Table, TableState, Wrap,
};

use super::app::{App, Button, Level, Screen};
use super::keymap::Action;
use crate::domain::{CategoryStatus, format_cents, sanitize};

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

fn clean(s: &str) -> String {
    sanitize(s).into_owned()
}

/// Colours, or with NO_COLOR only modifiers (the words carry the meaning).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env(no_color_flag: bool) -> Self {
        let no_color = no_color_flag || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn status(&self, s: CategoryStatus) -> Style {
        match s {
            CategoryStatus::AtRisk => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            CategoryStatus::Restorable => self.fg(Color::Yellow),
            CategoryStatus::Lost => self.fg(Color::Magenta),
            CategoryStatus::PermanentLoss => self.fg(Color::Red),
            CategoryStatus::RestoredPartial => self.fg(Color::Cyan),
            CategoryStatus::RestoredFull => self.fg(Color::Green),
            CategoryStatus::NotAffected => self.fg(Color::DarkGray),
        }
    }

    fn selected(&self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }

    fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    fn banner(&self) -> Style {
        if self.color {
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }
}

fn badge(s: CategoryStatus) -> String {
    format!("[{}]", s.as_str())
}

pub fn render(f: &mut Frame, app: &App, theme: Theme) {
    let area = f.area();
    if area.width < 20 || area.height < 6 {
        f.render_widget(
            Paragraph::new("caredesk: window too small").wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [top, body, msg, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_top(f, app, theme, top);
    match app.screen {
        Screen::Search => render_search(f, app, theme, body),
        Screen::Account => render_account(f, app, theme, body),
        Screen::Worklist => render_worklist(f, app, theme, body),
        Screen::Dashboard => render_dashboard(f, app, theme, body),
    }
    render_message(f, app, theme, msg);
    render_status(f, app, theme, status);
    if app.help {
        render_help(f, app, theme, area);
    }
    if let Some(input) = &app.input {
        let popup = centered(area, 70, 7);
        f.render_widget(Clear, popup);
        let text = vec![
            Line::from(format!("{}▏", clean(&input.text))),
            Line::from(""),
            Line::styled("Enter: continue   Esc: cancel", theme.dim()),
        ];
        f.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: false }).block(
                Block::bordered().title(Span::styled(format!(" {} ", input.title), theme.title())),
            ),
            popup,
        );
    }
    if let Some(p) = &app.restore {
        render_restore(f, p, theme, area);
    }
    if let Some(d) = &app.dialog {
        let width = 72.min(area.width);
        let height = wrapped_height(&d.lines, width.saturating_sub(2)).saturating_add(4);
        let popup = centered(area, width, height);
        f.render_widget(Clear, popup);
        let mut text: Vec<Line> = d.lines.iter().map(|l| Line::from(clean(l))).collect();
        text.push(Line::from(""));
        let button = |label: &str, focused: bool| {
            if focused {
                Span::styled(format!("> {label} <"), theme.selected())
            } else {
                Span::raw(format!("  {label}  "))
            }
        };
        text.push(Line::from(vec![
            button("Cancel (n)", d.focus == Button::Cancel),
            Span::raw("    "),
            button(
                &format!("{} (y)", d.confirm_label),
                d.focus == Button::Confirm,
            ),
        ]));
        f.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: false }).block(
                Block::bordered().title(Span::styled(format!(" {} ", d.title), theme.title())),
            ),
            popup,
        );
    }
}

/// Rows `lines` take when wrapped at `width` (by characters; words may wrap a little
/// earlier, so one spare row is added per line that wraps).
fn wrapped_height(lines: &[String], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let rows: usize = lines
        .iter()
        .map(|l| {
            let n = l.chars().count();
            if n <= width { 1 } else { n.div_ceil(width) + 1 }
        })
        .sum();
    u16::try_from(rows).unwrap_or(u16::MAX)
}

/// A rectangle of at most `w` x `h`, centred in `area` and never larger than it.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn render_top(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let mut spans = vec![Span::styled(" caredesk ", theme.title())];
    for (screen, label) in [
        (Screen::Search, "Search"),
        (Screen::Account, "Account"),
        (Screen::Worklist, "Worklist"),
        (Screen::Dashboard, "Dashboard"),
    ] {
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

fn render_message(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
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

fn render_status(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
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
    };
    let who = format!(
        " {} ({}) · {} ",
        app.actor.login,
        app.actor.role,
        clean(&app.db_label)
    );
    let line = Line::from(vec![
        Span::styled(who, theme.selected()),
        Span::raw(" "),
        Span::styled(hints, theme.dim()),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

/// A list of accounts; below 80 columns only status, account and name (and phone when it
/// fits), so names stay readable.
fn summary_table<'a>(
    list: &'a [crate::store::AccountSummary],
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

fn render_search(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
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

fn render_account(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let Some(a) = &app.account else {
        let text = if app.loading_account {
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
    let at_risk = a.at_risk();
    let cats: Vec<&str> = at_risk.iter().map(|c| c.as_str()).collect();
    let banner_text = vec![
        format!(
            " !! AT RISK ({}): the phone holds the only copy. Read this to the customer:",
            cats.join(", ")
        ),
        format!(
            " \"{}\"",
            a.incident
                .as_ref()
                .map(|i| clean(&i.advisory))
                .unwrap_or_default()
        ),
    ];
    let banner_h = if at_risk.is_empty() {
        0
    } else {
        wrapped_height(&banner_text, area.width).saturating_add(1)
    };
    let rows = u16::try_from(a.categories.len()).unwrap_or(6).max(1);
    // On a short screen the words to read out come first, then the categories.
    let banner_h = banner_h.min(area.height.saturating_sub(2));
    let cats_h = (rows + 2).min(area.height.saturating_sub(2 + banner_h));
    let [head, banner, cats, bottom] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(banner_h),
        Constraint::Length(cats_h),
        Constraint::Min(0),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header), head);
    if !at_risk.is_empty() {
        let text = vec![
            Line::styled(banner_text[0].clone(), theme.banner()),
            Line::from(banner_text[1].clone()),
        ];
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
            Row::new(vec![
                Span::raw(c.category.as_str().to_string()),
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
            Constraint::Length(9),
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
        let state = if r.credit_id.is_some() {
            "approved"
        } else {
            "pending"
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
                "{} {} {} {}",
                e.at.format("%m-%d %H:%M"),
                clean(&e.agent),
                clean(&e.action),
                clean(&e.text)
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

fn render_restore(f: &mut Frame, p: &super::app::RestorePanel, theme: Theme, area: Rect) {
    let height = u16::try_from(p.categories.len())
        .unwrap_or(6)
        .saturating_add(8);
    let popup = centered(area, 76, height);
    f.render_widget(Clear, popup);
    let block = Block::bordered().title(Span::styled(
        format!(
            " Restore from {} ({}) · mode {} ",
            clean(&p.backup_id),
            p.verification,
            p.mode.as_str()
        ),
        theme.title(),
    ));
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let [table_area, foot] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(3)]).areas(inner);
    let rows: Vec<Row> = p
        .categories
        .iter()
        .map(|(cat, on)| {
            let counts = p
                .preview
                .as_ref()
                .and_then(|r| r.categories.iter().find(|c| c.category == *cat))
                .map(|c| &c.counts);
            let n = |f: fn(&crate::domain::restore::CategoryCounts) -> i64| {
                counts.map_or("-".to_string(), |c| f(c).to_string())
            };
            Row::new(vec![
                format!("[{}] {}", if *on { "x" } else { " " }, cat.as_str()),
                n(|c| c.in_backup),
                n(|c| c.to_add),
                n(|c| c.present),
                n(|c| c.conflicting),
                n(|c| c.corrupt),
                n(|c| c.add),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(7),
        ],
    )
    .header(
        Row::new([
            "category",
            "in backup",
            "to add",
            "present",
            "conflicting",
            "corrupt",
            "writes",
        ])
        .style(theme.dim()),
    )
    .row_highlight_style(theme.selected())
    .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(Some(p.cursor));
    f.render_stateful_widget(table, table_area, &mut state);
    let status = if p.loading {
        "previewing…".to_string()
    } else if p.preview.is_none() {
        "choose at least one category".to_string()
    } else {
        "preview ready: nothing is written until you confirm".to_string()
    };
    let mode_help = match p.mode {
        crate::domain::restore::Mode::Merge => {
            "merge: adds missing items, fills empty fields; live values win"
        }
        crate::domain::restore::Mode::KeepBoth => {
            "keep-both: conflicting backup items become copies flagged for review"
        }
        crate::domain::restore::Mode::Replace => {
            "replace: the live set becomes the backup's (supervisor)"
        }
    };
    f.render_widget(
        Paragraph::new(vec![
            Line::styled(mode_help, theme.dim()),
            Line::from(status),
            Line::styled(
                "Space choose · m mode · Enter restore… · Esc close",
                theme.dim(),
            ),
        ]),
        foot,
    );
}

fn render_worklist(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let filter = app
        .worklist_filter
        .map_or("needing action".to_string(), |s| s.as_str().to_string());
    let title = format!(
        " worklist: {} accounts {} (most urgent first) ",
        app.worklist.len(),
        filter
    );
    if app.worklist.is_empty() {
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
    let table = summary_table(&app.worklist, theme, area.width).block(
        Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(title, theme.title())),
    );
    let mut state = TableState::default().with_selected(Some(app.worklist_selected));
    f.render_stateful_widget(table, area, &mut state);
}

fn render_dashboard(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
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
    let [numbers, g1, g2, chart] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(2),
        Constraint::Length(2),
        Constraint::Min(0),
    ])
    .areas(area);
    f.render_widget(
        Paragraph::new(vec![
            Line::from(format!(
                "accounts {} · affected {} · at-risk {} · restored {}",
                t.accounts,
                t.affected,
                count(CategoryStatus::AtRisk),
                restored
            )),
            Line::from(format!(
                "incident credits {} · amount credited {}",
                t.credited,
                format_cents(t.credited_cents, "USD")
            )),
        ]),
        numbers,
    );
    f.render_widget(
        Gauge::default()
            .block(Block::default().title("restored of affected"))
            .gauge_style(theme.status(CategoryStatus::RestoredFull))
            .ratio(ratio(restored, t.affected))
            .label(format!("{restored} / {}", t.affected)),
        g1,
    );
    f.render_widget(
        Gauge::default()
            .block(Block::default().title("accounts credited"))
            .gauge_style(theme.title())
            .ratio(ratio(t.credited, t.accounts))
            .label(format!("{} / {}", t.credited, t.accounts)),
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

fn render_help(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let mut lines = vec![Line::styled(
        "Text fields take every key (Esc leaves). Dialogs: y yes, n/Esc no.",
        theme.dim(),
    )];
    for action in Action::ALL {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12}  ", app.keymap.hint(action)), theme.title()),
            Span::raw(action.describe()),
        ]));
    }
    let height = u16::try_from(lines.len()).unwrap_or(20).saturating_add(2);
    let popup = centered(area, 70, height);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Left)
            .block(Block::bordered().title(Span::styled(
                " keys (from your keymap; Esc closes) ",
                theme.title(),
            ))),
        popup,
    );
}
