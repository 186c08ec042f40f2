//! The worklist screen: accounts needing action, filtered by status.

use super::{App, Effect};
use crate::domain::{CategoryStatus, Worklist};

impl App {
    pub(super) fn load_worklist(&mut self) -> Vec<Effect> {
        self.loading_worklist = true;
        vec![Effect::LoadWorklist {
            status: self.worklist_filter,
        }]
    }

    pub(super) fn next_worklist_filter(&mut self) -> Vec<Effect> {
        self.worklist_filter = next_filter(self.worklist_filter);
        self.worklist_selected = 0;
        self.load_worklist()
    }

    pub(super) fn open_selected_worklist_row(&mut self) -> Vec<Effect> {
        match self.worklist.entries.get(self.worklist_selected) {
            Some(e) => {
                let id = e.account.id;
                self.open_account(id)
            }
            None => Vec::new(),
        }
    }

    pub(super) fn on_worklist_loaded(&mut self, r: Result<Worklist, String>) -> Vec<Effect> {
        self.loading_worklist = false;
        match r {
            Ok(list) => {
                // The selection stays on its account when the list changes under it.
                let selected = self
                    .worklist
                    .entries
                    .get(self.worklist_selected)
                    .map(|e| e.account.id);
                self.worklist_selected = selected
                    .and_then(|id| list.entries.iter().position(|e| e.account.id == id))
                    .unwrap_or(self.worklist_selected)
                    .min(list.entries.len().saturating_sub(1));
                self.worklist = list;
            }
            Err(e) => self.error(e),
        }
        self.counts_answered()
    }
}

/// All statuses, then each status in turn, then all again.
fn next_filter(f: Option<CategoryStatus>) -> Option<CategoryStatus> {
    match f {
        None => Some(CategoryStatus::ALL[0]),
        Some(s) => CategoryStatus::ALL
            .iter()
            .position(|x| *x == s)
            .and_then(|i| CategoryStatus::ALL.get(i + 1).copied()),
    }
}
