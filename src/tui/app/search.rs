//! The search screen: the field that takes every printable key, type-ahead requests with a
//! sequence number, and the results (an older query's answer is dropped).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect};
use crate::domain::AccountSummary;

impl App {
    pub(super) fn search_effect(&mut self) -> Vec<Effect> {
        self.search_seq += 1;
        if self.query.trim().is_empty() {
            self.searching = false;
            self.results.clear();
            self.results_query.clear();
            return Vec::new();
        }
        self.searching = true;
        self.selected = 0;
        vec![Effect::Search {
            seq: self.search_seq,
            query: self.query.clone(),
        }]
    }

    pub(super) fn on_search_done(
        &mut self,
        seq: u64,
        query: String,
        result: Result<Vec<AccountSummary>, String>,
    ) -> Vec<Effect> {
        // Only the latest query's answer counts; older ones arrive late and are dropped.
        if seq != self.search_seq {
            return Vec::new();
        }
        self.searching = false;
        match result {
            Ok(r) => {
                self.results = r;
                self.results_query = query;
                self.selected = self.selected.min(self.results.len().saturating_sub(1));
            }
            Err(e) => self.error(e),
        }
        Vec::new()
    }

    /// In the search field every printable key is text; only editing and navigation keys act.
    pub(super) fn on_search_field_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        match k.code {
            KeyCode::Char(c)
                if !k.modifiers.contains(KeyModifiers::CONTROL)
                    && !k.modifiers.contains(KeyModifiers::ALT) =>
            {
                self.query.push(c);
                self.search_effect()
            }
            KeyCode::Backspace => {
                self.query.pop();
                self.search_effect()
            }
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.query.clear();
                self.search_effect()
            }
            KeyCode::Down => {
                self.selected = (self.selected + 1).min(self.results.len().saturating_sub(1));
                Vec::new()
            }
            KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                Vec::new()
            }
            KeyCode::Enter => self.open_selected_result(),
            KeyCode::Esc | KeyCode::Tab => {
                // Leave the field: keys are actions again (`/` comes back).
                self.search_focus = false;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn open_selected_result(&mut self) -> Vec<Effect> {
        match self.results.get(self.selected) {
            Some(a) => {
                let id = a.id;
                self.open_account(id)
            }
            None => Vec::new(),
        }
    }
}
