//! Help, generated from the live keymap: the screens' keys, then the restore panel's and the
//! dialogs'.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{Theme, centered};
use crate::tui::app::App;
use crate::tui::keymap::{Action, Keymap};

/// Screen actions said on one line, so that every screen key shows at 80x24.
const SHARED_LINES: [(&[Action], &str); 4] = [
    (&[Action::Up, Action::Down], "previous / next row"),
    (
        &[Action::Credit, Action::Appreciation],
        "incident credit / request the appreciation credit",
    ),
    (
        &[Action::Advise, Action::Callback],
        "advised the customer / promise a call back",
    ),
    (
        &[Action::Worklist, Action::Dashboard, Action::Approvals],
        "worklist / dashboard / approvals (supervisors)",
    ),
];

/// The screens' keys as (keys, what they do): one line per action, or per shared line.
fn screen_lines(k: &Keymap) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for action in Action::ALL {
        match SHARED_LINES
            .iter()
            .find(|(group, _)| group.contains(&action))
        {
            Some((group, words)) if group.first() == Some(&action) => {
                let keys: Vec<String> = group.iter().map(|a| k.hint(*a)).collect();
                out.push((keys.join(", "), *words));
            }
            Some(_) => {}
            None => out.push((k.hint(action), action.describe())),
        }
    }
    out
}

pub(super) fn render_help(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let k = &app.keymap;
    let mut lines = vec![Line::styled(
        format!(
            "Text fields take every key (Esc leaves). Dialogs: {} yes, {} no.",
            k.hint(Action::Confirm),
            k.hint(Action::Cancel)
        ),
        theme.dim(),
    )];
    let line = |keys: String, words: &'static str| {
        Line::from(vec![
            Span::styled(format!("{keys:>12}  "), theme.title()),
            Span::raw(words),
        ])
    };
    let row = |action: Action| line(k.hint(action), action.describe());
    lines.extend(
        screen_lines(k)
            .into_iter()
            .map(|(keys, words)| line(keys, words)),
    );
    // The screens' keys set the least height; the panel's and the dialogs' keys follow, each
    // section whole, when the terminal has the rows above the status bar.
    let rows = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).saturating_add(2);
    let room = area.height.saturating_sub(1);
    for (heading, actions) in [
        ("In the restore panel:", &Action::RESTORE[..]),
        ("In a dialog:", &Action::DIALOG[..]),
    ] {
        if rows(lines.len() + 1 + actions.len()) > room {
            break;
        }
        lines.push(Line::styled(heading, theme.dim()));
        lines.extend(actions.iter().copied().map(row));
    }
    let height = rows(lines.len());
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

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::domain::Actor;
    use crate::domain::Role;
    use crate::tui::app::{App, Msg};
    use crate::tui::keymap::Keymap;
    use crate::tui::view::{Theme, render};

    fn help_at(width: u16, height: u16) -> String {
        let actor = Actor {
            login: "alice".to_string(),
            role: Role::Agent,
        };
        let mut app = App::new(actor, "sqlite:test.db".to_string(), Keymap::default());
        for code in [KeyCode::Esc, KeyCode::Char('?')] {
            app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        }
        let mut t = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        t.draw(|f| render(f, &app, Theme { color: false }))
            .expect("draw");
        t.backend().to_string()
    }

    #[test]
    fn help_lists_the_restore_panel_and_dialog_keys_when_the_rows_are_there() {
        let tall = help_at(80, 40);
        for words in [
            "In the restore panel:",
            "Space  choose or unchoose the category",
            "In a dialog:",
            "n/Esc  no",
            "h/l/Tab/BackTab/Left/Right  focus the other button",
        ] {
            assert!(tall.contains(words), "{words}: {tall}");
        }
        let short = help_at(80, 24);
        assert!(short.contains("q  quit") && !short.contains("In a dialog:"));
        for words in [
            "Up, j/Down  previous / next row",
            "w, d, p  worklist / dashboard / approvals (supervisors)",
            "x  reject a pending request with a reason (supervisor)",
        ] {
            assert!(
                short.contains(words),
                "every screen key at 80x24: {words}: {short}"
            );
        }
    }
}
