//! Pure rendering of `App`: every screen, overlay and bar. Reads state, draws, never does I/O.
//! Every string from the database goes through `clean` (no control characters or escapes), and
//! meaning never rests on colour alone: statuses are words, the focused button is marked.
//! One module per screen and overlay; the words of dialogs are made here, from their data.

mod account;
mod approvals;
mod dashboard;
pub mod dialog;
mod help;
mod restore;
mod search;
mod status;
mod theme;
mod worklist;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, Overlay, Screen};
use crate::domain::{CategoryStatus, sanitize};

pub use theme::Theme;

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

fn clean(s: &str) -> String {
    sanitize(s).into_owned()
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
    let [top, body, msg, bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    status::render_top(f, app, theme, top);
    match app.screen {
        Screen::Search => search::render_search(f, app, theme, body),
        Screen::Account => account::render_account(f, app, theme, body),
        Screen::Worklist => worklist::render_worklist(f, app, theme, body),
        Screen::Dashboard => dashboard::render_dashboard(f, app, theme, body),
        Screen::Approvals => approvals::render_approvals(f, app, theme, body),
    }
    status::render_message(f, app, theme, msg);
    status::render_status(f, app, theme, bar);
    // Bottom first, so the overlay that has the keys is drawn on top.
    for overlay in app.overlays() {
        match overlay {
            Overlay::Help => help::render_help(f, app, theme, area),
            Overlay::Input(input) => dialog::render_input(f, input, theme, area),
            Overlay::Restore(p) => restore::render_restore(f, p, &app.keymap, theme, area),
            Overlay::Dialog(d) => dialog::render_dialog(f, d, &app.keymap, theme, area),
        }
    }
}

/// An incident's id without the prefix all of `ids` share, cut at a dash, so a narrow column
/// tells them apart (`danger-2009-10`, `danger-2010-03` → `2009-10`, `2010-03`).
fn short_incident<'a>(ids: &[&str], id: &'a str) -> &'a str {
    let Some(first) = ids.first() else {
        return id;
    };
    let common = ids.iter().fold(first.len(), |n, i| {
        first
            .bytes()
            .zip(i.bytes())
            .take(n)
            .take_while(|(a, b)| a == b)
            .count()
    });
    // Cut at a dash, never inside a word.
    let cut = first[..common].rfind('-').map_or(0, |p| p + 1);
    id.get(cut..).filter(|s| !s.is_empty()).unwrap_or(id)
}

/// Rows `lines` take when a paragraph wraps them at `width`, as it will be drawn.
fn wrapped_height(lines: &[String], width: u16) -> u16 {
    let text: Vec<Line> = lines.iter().map(|l| Line::from(l.as_str())).collect();
    let rows = Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .line_count(width.max(1));
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
