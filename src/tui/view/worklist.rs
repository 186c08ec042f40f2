//! The worklist screen: accounts needing action, most urgent first, with the filter in view.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph, TableState};

use super::Theme;
use super::search::summary_table;
use crate::tui::app::App;

pub(super) fn render_worklist(f: &mut Frame, app: &App, theme: Theme, area: Rect) {
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
