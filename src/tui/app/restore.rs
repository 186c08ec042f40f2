//! The restore panel: a backup, the categories to restore, the mode, and the preview of what
//! that would do (asked again whenever a choice changes; a stale preview is dropped). Enter
//! goes on to a confirm dialog; nothing is written before it. Its keys come from the keymap.

use crossterm::event::KeyEvent;

use super::{App, Confirm, Effect, Overlay};
use crate::domain::restore::Mode;
use crate::domain::{self, Category};
use crate::domain::{AccountDetail, RestoreReport};
use crate::tui::keymap::{Action, Context};

#[derive(Debug, Clone, PartialEq)]
pub struct RestorePanel {
    pub account_id: i64,
    pub account_no: String,
    pub backup_id: String,
    pub verification: domain::Verification,
    pub mode: Mode,
    /// The categories the backup can give, and whether each is chosen.
    pub categories: Vec<(Category, bool)>,
    pub cursor: usize,
    pub preview: Option<RestoreReport>,
    pub loading: bool,
    seq: u64,
}

impl RestorePanel {
    fn chosen(&self) -> Vec<Category> {
        self.categories
            .iter()
            .filter(|(_, on)| *on)
            .map(|(c, _)| *c)
            .collect()
    }
}

impl App {
    fn restore_mut(&mut self) -> Option<&mut RestorePanel> {
        self.overlays.iter_mut().rev().find_map(|o| match o {
            Overlay::Restore(p) => Some(p),
            _ => None,
        })
    }

    /// Opens the restore panel on the newest backup that can be restored from, with every
    /// category it covers chosen, and asks for the preview.
    pub(super) fn open_restore(&mut self, a: AccountDetail) -> Vec<Effect> {
        if !self.allowed(domain::Permission::RestoreMerge) {
            return Vec::new();
        }
        let (b, categories) = match domain::restore_source(&a.backups) {
            Ok(source) => source,
            Err(none) => {
                self.error(none.to_string());
                return Vec::new();
            }
        };
        let categories: Vec<(Category, bool)> = categories.into_iter().map(|c| (c, true)).collect();
        self.open(Overlay::Restore(RestorePanel {
            account_id: a.summary.id,
            account_no: a.summary.account_no.clone(),
            backup_id: b.id.clone(),
            verification: b.verification,
            mode: Mode::Merge,
            categories,
            cursor: 0,
            preview: None,
            loading: false,
            seq: 0,
        }));
        self.preview_restore()
    }

    fn preview_restore(&mut self) -> Vec<Effect> {
        let Some(p) = self.restore_mut() else {
            return Vec::new();
        };
        p.seq += 1;
        let categories = p.chosen();
        if categories.is_empty() {
            p.preview = None;
            p.loading = false;
            return Vec::new();
        }
        p.loading = true;
        vec![Effect::RestorePreview {
            seq: p.seq,
            account_no: p.account_no.clone(),
            backup_id: p.backup_id.clone(),
            categories,
            mode: p.mode,
        }]
    }

    pub(super) fn on_restore_previewed(
        &mut self,
        seq: u64,
        result: Result<Box<RestoreReport>, String>,
    ) -> Vec<Effect> {
        let Some(panel) = self.restore_mut().filter(|p| p.seq == seq) else {
            return Vec::new();
        };
        panel.loading = false;
        match result {
            Ok(r) => panel.preview = Some(*r),
            Err(e) => {
                panel.preview = None;
                self.error(e);
            }
        }
        Vec::new()
    }

    pub(super) fn on_restore_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let supervisor = self.actor.role.allows(domain::Permission::RestoreReplace);
        // The panel's own keys first, then moving and closing as on a screen.
        let action = self
            .keymap
            .action_in(Context::Restore, &k)
            .or_else(|| self.keymap.action(&k));
        let Some(Overlay::Restore(p)) = self.overlays.last_mut() else {
            return Vec::new();
        };
        match action {
            Some(Action::Back) => {
                self.close();
                Vec::new()
            }
            Some(Action::Up) => {
                p.cursor = p.cursor.saturating_sub(1);
                Vec::new()
            }
            Some(Action::Down) => {
                p.cursor = (p.cursor + 1).min(p.categories.len().saturating_sub(1));
                Vec::new()
            }
            Some(Action::RestoreChoose) => {
                if let Some(c) = p.categories.get_mut(p.cursor) {
                    c.1 = !c.1;
                }
                self.preview_restore()
            }
            Some(Action::RestoreMode) => {
                // Replace is a supervisor's; an agent's choice stays between merge and keep-both.
                p.mode = match p.mode {
                    Mode::Merge => Mode::KeepBoth,
                    Mode::KeepBoth if supervisor => Mode::Replace,
                    Mode::KeepBoth | Mode::Replace => Mode::Merge,
                };
                self.preview_restore()
            }
            Some(Action::RestoreApply) => {
                let (Some(preview), false) = (p.preview.clone(), p.loading) else {
                    return Vec::new();
                };
                let confirm = Confirm::Restore {
                    account_id: p.account_id,
                    account_no: p.account_no.clone(),
                    backup_id: p.backup_id.clone(),
                    categories: p.chosen(),
                    mode: p.mode,
                    preview: Box::new(preview),
                };
                self.close();
                self.open_dialog(confirm);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
