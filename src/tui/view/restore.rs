//! The restore panel: the chosen categories with the preview's counts, the mode and its
//! meaning, and the panel's keys from the keymap.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table, TableState};

use super::{Theme, centered, clean};
use crate::tui::app::RestorePanel;
use crate::tui::keymap::{Action, Keymap};

pub(super) fn render_restore(
    f: &mut Frame,
    p: &RestorePanel,
    keys: &Keymap,
    theme: Theme,
    area: Rect,
) {
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
                format!(
                    "{} choose · {} mode · {} restore… · {} close",
                    keys.hint(Action::RestoreChoose),
                    keys.hint(Action::RestoreMode),
                    keys.hint(Action::RestoreApply),
                    keys.hint(Action::Back)
                ),
                theme.dim(),
            ),
        ]),
        foot,
    );
}
