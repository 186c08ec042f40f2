//! The help overlay: any of help, back or quit (or Esc) closes it; other keys do nothing.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect};
use crate::tui::keymap::Action;

impl App {
    pub(super) fn on_help_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if matches!(
            self.keymap.action(&k),
            Some(Action::Help | Action::Back | Action::Quit)
        ) || k.code == KeyCode::Esc
        {
            self.close();
        }
        Vec::new()
    }
}
