//! The agents' keys: the actions a key can trigger, the default bindings of docs/tui.md, and the
//! config file that overrides only the keys it names. Help is generated from the live map.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crossterm::event::KeyEvent;
use serde::Deserialize;

use crate::error::{Error, Result};

mod key;
pub use key::{Key, KeyCodeOrd};

/// Where a key is pressed: on a screen, in the restore panel or in a confirm dialog. The same
/// key may mean one thing on a screen and another in a dialog (`n` adds a note, `n` cancels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Screen,
    Restore,
    Dialog,
}

/// Something a key does outside a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Search,
    Open,
    Back,
    Up,
    Down,
    Credit,
    Appreciation,
    Approve,
    Reject,
    Restore,
    Undo,
    Resync,
    Reveal,
    Note,
    Advise,
    Callback,
    DeclareLoss,
    Worklist,
    Dashboard,
    Approvals,
    Filter,
    Refresh,
    Help,
    Quit,
    /// Restore panel: choose or unchoose the category under the cursor.
    RestoreChoose,
    /// Restore panel: the next mode (merge, keep-both, replace for a supervisor).
    RestoreMode,
    /// Restore panel: go on to the confirm dialog with the preview.
    RestoreApply,
    /// Dialog: yes.
    Confirm,
    /// Dialog: no.
    Cancel,
    /// Dialog: press the focused button.
    Press,
    /// Dialog: move the focus to the other button.
    SwitchButton,
}

impl Action {
    /// The restore panel's own actions; it also moves with `up`/`down` and closes with `back`.
    pub const RESTORE: [Action; 3] = [
        Action::RestoreChoose,
        Action::RestoreMode,
        Action::RestoreApply,
    ];

    /// A confirm dialog's actions.
    pub const DIALOG: [Action; 4] = [
        Action::Confirm,
        Action::Cancel,
        Action::Press,
        Action::SwitchButton,
    ];

    /// Where the action's keys are read.
    pub fn context(self) -> Context {
        match self {
            Action::RestoreChoose | Action::RestoreMode | Action::RestoreApply => Context::Restore,
            Action::Confirm | Action::Cancel | Action::Press | Action::SwitchButton => {
                Context::Dialog
            }
            _ => Context::Screen,
        }
    }

    pub const ALL: [Action; 24] = [
        Action::Search,
        Action::Open,
        Action::Back,
        Action::Up,
        Action::Down,
        Action::Credit,
        Action::Appreciation,
        Action::Approve,
        Action::Reject,
        Action::Restore,
        Action::Undo,
        Action::Resync,
        Action::Reveal,
        Action::Note,
        Action::Advise,
        Action::Callback,
        Action::DeclareLoss,
        Action::Worklist,
        Action::Dashboard,
        Action::Approvals,
        Action::Filter,
        Action::Refresh,
        Action::Help,
        Action::Quit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Search => "search",
            Action::Open => "open",
            Action::Back => "back",
            Action::Up => "up",
            Action::Down => "down",
            Action::Credit => "credit",
            Action::Appreciation => "appreciation",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Restore => "restore",
            Action::Undo => "undo",
            Action::Resync => "resync",
            Action::Reveal => "reveal",
            Action::Note => "note",
            Action::Advise => "advise",
            Action::Callback => "callback",
            Action::DeclareLoss => "declare-loss",
            Action::Worklist => "worklist",
            Action::Dashboard => "dashboard",
            Action::Approvals => "approvals",
            Action::Filter => "filter",
            Action::Refresh => "refresh",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::RestoreChoose => "restore-choose",
            Action::RestoreMode => "restore-mode",
            Action::RestoreApply => "restore-apply",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
            Action::Press => "press",
            Action::SwitchButton => "switch-button",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Action::Search => "search accounts",
            Action::Open => "open the selected account",
            Action::Back => "go back",
            Action::Up => "previous row",
            Action::Down => "next row",
            Action::Credit => "apply the incident credit",
            Action::Appreciation => "request the appreciation credit",
            Action::Approve => "approve a pending request (supervisor)",
            Action::Reject => "reject a pending request with a reason (supervisor)",
            Action::Restore => "restore from a backup",
            Action::Undo => "undo the last restore (supervisor)",
            Action::Resync => "record that the phone re-synced the selected category",
            Action::Reveal => "show a masked customer in full (audited)",
            Action::Note => "add a note",
            Action::Advise => "advised the customer: you read them the advisory",
            Action::Callback => "promise the customer a call back at a time you type",
            Action::DeclareLoss => "declare a category permanently lost (supervisor)",
            Action::Worklist => "worklist",
            Action::Dashboard => "dashboard",
            Action::Approvals => "approvals: the pending requests, oldest first (supervisors)",
            Action::Filter => "filter the worklist by status",
            Action::Refresh => "reload",
            Action::Help => "this help",
            Action::Quit => "quit",
            Action::RestoreChoose => "choose or unchoose the category",
            Action::RestoreMode => "next restore mode",
            Action::RestoreApply => "restore… (a dialog confirms)",
            Action::Confirm => "yes",
            Action::Cancel => "no",
            Action::Press => "press the focused button",
            Action::SwitchButton => "focus the other button",
        }
    }
}

/// Key → action in each context, for keys pressed outside a text field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<(Context, Key), Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyCodeOrd as K;
        let mut bindings = BTreeMap::new();
        for (key, action) in [
            (Key::char('/'), Action::Search),
            (Key::plain(K::Enter), Action::Open),
            (Key::plain(K::Esc), Action::Back),
            (Key::plain(K::Up), Action::Up),
            (Key::plain(K::Down), Action::Down),
            (Key::char('j'), Action::Down),
            (Key::char('c'), Action::Credit),
            (Key::char('a'), Action::Appreciation),
            (Key::char('A'), Action::Approve),
            (Key::char('x'), Action::Reject),
            (Key::char('r'), Action::Restore),
            (Key::char('u'), Action::Undo),
            (Key::char('s'), Action::Resync),
            (Key::char('v'), Action::Reveal),
            (Key::char('n'), Action::Note),
            (Key::char('k'), Action::Advise),
            (Key::char('b'), Action::Callback),
            (Key::char('L'), Action::DeclareLoss),
            (Key::char('w'), Action::Worklist),
            (Key::char('d'), Action::Dashboard),
            (Key::char('p'), Action::Approvals),
            (Key::char('f'), Action::Filter),
            (Key::char('R'), Action::Refresh),
            (Key::char('?'), Action::Help),
            (Key::char('q'), Action::Quit),
            (Key::char(' '), Action::RestoreChoose),
            (Key::char('m'), Action::RestoreMode),
            (Key::plain(K::Enter), Action::RestoreApply),
            (Key::char('y'), Action::Confirm),
            (Key::char('Y'), Action::Confirm),
            (Key::char('n'), Action::Cancel),
            (Key::char('N'), Action::Cancel),
            (Key::plain(K::Esc), Action::Cancel),
            (Key::plain(K::Enter), Action::Press),
            (Key::plain(K::Tab), Action::SwitchButton),
            (Key::plain(K::BackTab), Action::SwitchButton),
            (Key::plain(K::Left), Action::SwitchButton),
            (Key::plain(K::Right), Action::SwitchButton),
            (Key::char('h'), Action::SwitchButton),
            (Key::char('l'), Action::SwitchButton),
        ] {
            bindings.insert((action.context(), key), action);
        }
        Self { bindings }
    }
}

/// The config file's shape: `[keys]` maps an action to one key or a list of keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub keys: BTreeMap<Action, KeySpec>,
    /// Mouse support (wheel scrolls lists, a click selects a row). Off by default.
    #[serde(default)]
    pub mouse: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl Keymap {
    /// The action of a key pressed on a screen.
    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        self.action_in(Context::Screen, e)
    }

    /// The action of a key pressed in `context`. In the restore panel and in a dialog a key
    /// held with Ctrl or Alt counts as the plain key (a dialog has no text to protect).
    pub fn action_in(&self, context: Context, e: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(e)?;
        self.bindings
            .get(&(context, key))
            .copied()
            .or_else(|| match context {
                Context::Screen => None,
                Context::Restore | Context::Dialog => {
                    let plain = Key {
                        ctrl: false,
                        alt: false,
                        ..key
                    };
                    self.bindings.get(&(context, plain)).copied()
                }
            })
    }

    /// The keys bound to `action`, for help and hints.
    pub fn keys_for(&self, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|((_, k), _)| *k)
            .collect()
    }

    /// The keys of an action as shown: a capital letter bound next to its small one (`Y`
    /// with `y`) is the same key to the agent and shown once.
    fn shown_keys(&self, action: Action) -> Vec<Key> {
        let keys = self.keys_for(action);
        keys.iter()
            .copied()
            .filter(|k| match k.code {
                KeyCodeOrd::Char(c) if c.is_uppercase() => !keys.iter().any(|o| {
                    o.ctrl == k.ctrl
                        && o.alt == k.alt
                        && o.code != k.code
                        && matches!(o.code, KeyCodeOrd::Char(l) if l.to_uppercase().eq(c.to_uppercase()))
                }),
                _ => true,
            })
            .collect()
    }

    /// "c" or "c/C": the keys of an action joined for a hint.
    pub fn hint(&self, action: Action) -> String {
        let keys: Vec<String> = self
            .shown_keys(action)
            .iter()
            .map(ToString::to_string)
            .collect();
        if keys.is_empty() {
            "unbound".to_string()
        } else {
            keys.join("/")
        }
    }

    /// The first key of an action, for a button's label ("Cancel (n)").
    pub fn first_key(&self, action: Action) -> String {
        self.shown_keys(action)
            .first()
            .map_or_else(|| "unbound".to_string(), ToString::to_string)
    }

    /// Applies a config file's `[keys]`: each action it names gets exactly the keys given
    /// there (its default keys are dropped); other actions keep theirs.
    pub fn with_overrides(mut self, overrides: &BTreeMap<Action, KeySpec>) -> Result<Self> {
        for (action, spec) in overrides {
            let names: Vec<&str> = match spec {
                KeySpec::One(s) => vec![s.as_str()],
                KeySpec::Many(v) => v.iter().map(String::as_str).collect(),
            };
            self.bindings.retain(|_, a| a != action);
            for name in names {
                let key = Key::parse(name).ok_or_else(|| {
                    Error::invalid(format!(
                        "the key \"{name}\" for {} in the config file is not a key",
                        action.name()
                    ))
                })?;
                self.bindings.insert((action.context(), key), *action);
            }
        }
        Ok(self)
    }
}

/// Where the config file lives: `keys.toml` in the platform config directory
/// (`~/.config/caredesk/` on Linux), unless CAREDESK_CONFIG names another file.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CAREDESK_CONFIG") {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "caredesk").map(|d| d.config_dir().join("keys.toml"))
}

/// Reads the config file if it exists; a file that does not parse is an error naming it.
pub fn load(path: Option<&Path>) -> Result<(Keymap, bool)> {
    let Some(path) = path.filter(|p| p.exists()) else {
        return Ok((Keymap::default(), false));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        Error::invalid(format!(
            "{} is not a valid caredesk config: {}",
            path.display(),
            e.message()
        ))
    })?;
    Ok((Keymap::default().with_overrides(&file.keys)?, file.mouse))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_default_keys_are_those_of_the_spec() {
        let k = Keymap::default();
        for (c, a) in [
            ('/', Action::Search),
            ('c', Action::Credit),
            ('a', Action::Appreciation),
            ('r', Action::Restore),
            ('u', Action::Undo),
            ('n', Action::Note),
            ('w', Action::Worklist),
            ('d', Action::Dashboard),
            ('p', Action::Approvals),
            ('x', Action::Reject),
            ('?', Action::Help),
            ('q', Action::Quit),
        ] {
            assert_eq!(k.action(&press(KeyCode::Char(c))), Some(a), "{c}");
        }
        assert_eq!(k.action(&press(KeyCode::Enter)), Some(Action::Open));
        assert_eq!(k.action(&press(KeyCode::Esc)), Some(Action::Back));
    }

    #[test]
    fn a_config_file_overrides_only_the_keys_it_names() {
        let file: ConfigFile =
            toml::from_str("[keys]\ncredit = \"F5\"\nquit = [\"Ctrl-q\", \"x\"]\n").expect("toml");
        let k = Keymap::default().with_overrides(&file.keys).expect("keys");
        assert_eq!(k.action(&press(KeyCode::F(5))), Some(Action::Credit));
        assert_eq!(
            k.action(&press(KeyCode::Char('c'))),
            None,
            "the default key of a rebound action is dropped"
        );
        assert_eq!(
            k.action(&KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(k.action(&press(KeyCode::Char('x'))), Some(Action::Quit));
        assert_eq!(
            k.action(&press(KeyCode::Char('n'))),
            Some(Action::Note),
            "other keys stay"
        );
    }

    #[test]
    fn a_key_means_one_thing_on_a_screen_and_another_in_a_dialog() {
        let k = Keymap::default();
        let n = press(KeyCode::Char('n'));
        assert_eq!(k.action(&n), Some(Action::Note));
        assert_eq!(k.action_in(Context::Dialog, &n), Some(Action::Cancel));
        assert_eq!(
            k.action_in(Context::Dialog, &press(KeyCode::Char('Y'))),
            Some(Action::Confirm)
        );
        assert_eq!(
            k.action_in(Context::Restore, &press(KeyCode::Char(' '))),
            Some(Action::RestoreChoose)
        );
        assert_eq!(k.action(&press(KeyCode::Char(' '))), None);
        assert_eq!(k.hint(Action::Confirm), "y", "Y is shown with y once");
        assert_eq!(k.hint(Action::Cancel), "n/Esc");
        assert_eq!(k.first_key(Action::Cancel), "n");
    }

    #[test]
    fn the_approvals_keys_are_rebound_like_the_others() {
        let file: ConfigFile =
            toml::from_str("[keys]\nreject = \"X\"\napprovals = \"F7\"\n").expect("toml");
        let k = Keymap::default().with_overrides(&file.keys).expect("keys");
        assert_eq!(k.action(&press(KeyCode::Char('X'))), Some(Action::Reject));
        assert_eq!(k.action(&press(KeyCode::Char('x'))), None);
        assert_eq!(k.action(&press(KeyCode::F(7))), Some(Action::Approvals));
        assert_eq!(k.action(&press(KeyCode::Char('p'))), None);
        assert_eq!(k.hint(Action::Reject), "X");
    }

    #[test]
    fn a_bad_config_names_what_is_wrong() {
        let file: ConfigFile = toml::from_str("[keys]\ncredit = \"Hyper-Z\"\n").expect("toml");
        let e = Keymap::default()
            .with_overrides(&file.keys)
            .expect_err("bad key");
        assert!(e.to_string().contains("Hyper-Z"), "{e}");
        assert!(toml::from_str::<ConfigFile>("[keys]\nfly = \"f\"\n").is_err());
    }

    #[test]
    fn keys_print_as_they_are_written_in_the_config() {
        for s in ["c", "Enter", "Esc", "F1", "Ctrl-r", "Up", "?", "Space"] {
            assert_eq!(Key::parse(s).expect("key").to_string(), s);
        }
    }
}
