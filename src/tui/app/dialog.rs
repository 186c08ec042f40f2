//! The confirm dialog and the text field. A dialog holds what is to be confirmed as data
//! (`Confirm`, gitui's confirm → confirmed); the words it shows are the view's. Focus starts
//! on Cancel; the dialog's keys come from the keymap. In the text field every printable key is
//! text, so typing never triggers an action.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Command, Effect, Overlay};
use crate::domain::Category;
use crate::domain::restore::Mode;
use crate::domain::{RestoreRecord, RestoreReport};
use crate::tui::keymap::{Action, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

/// What a dialog asks the agent to confirm, with the facts its text is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    Credit {
        account_id: i64,
        account_no: String,
        incident: String,
        name: String,
        amount_cents: i64,
        currency: String,
        months: i64,
        plan_code: String,
        price_cents: i64,
        incident_started: DateTime<Utc>,
    },
    Appreciation {
        account_id: i64,
        account_no: String,
        incident: String,
        amount_cents: i64,
        reason: String,
    },
    Approve {
        account_id: i64,
        account_no: String,
        request_id: i64,
        requested_by: String,
        amount_cents: i64,
        reason: String,
    },
    /// Reject a request with `reason` (the supervisor's, which the requester reads).
    Reject {
        account_id: i64,
        account_no: String,
        request_id: i64,
        requested_by: String,
        amount_cents: i64,
        reason: String,
    },
    Note {
        account_id: i64,
        account_no: String,
        text: String,
    },
    /// Record that the agent read the customer `incident`'s advisory on this call.
    Advise {
        account_id: i64,
        account_no: String,
        name: String,
        incident: String,
    },
    /// Promise the customer a call back at `due_at`.
    Callback {
        account_id: i64,
        account_no: String,
        due_at: DateTime<Utc>,
        /// How the agent reads that time ("tomorrow at 09:00").
        when: String,
        note: String,
    },
    DeclareLoss {
        account_id: i64,
        account_no: String,
        incident: String,
        category: Category,
        reason: String,
    },
    Restore {
        account_id: i64,
        account_no: String,
        backup_id: String,
        categories: Vec<Category>,
        mode: Mode,
        preview: Box<RestoreReport>,
    },
    Undo {
        account_id: i64,
        record: Box<RestoreRecord>,
    },
    Resync {
        account_id: i64,
        account_no: String,
        incident: String,
        category: Category,
        items_before: i64,
    },
}

impl Confirm {
    /// The command a yes runs.
    pub fn command(&self) -> Command {
        match self.clone() {
            Confirm::Credit {
                account_id,
                account_no,
                incident,
                ..
            } => Command::ApplyCredit {
                account_id,
                account_no,
                incident,
            },
            Confirm::Appreciation {
                account_id,
                account_no,
                incident,
                reason,
                ..
            } => Command::RequestAppreciation {
                account_id,
                account_no,
                incident,
                reason,
            },
            Confirm::Approve {
                account_id,
                request_id,
                ..
            } => Command::Approve {
                account_id,
                request_id,
            },
            Confirm::Reject {
                account_id,
                request_id,
                reason,
                ..
            } => Command::Reject {
                account_id,
                request_id,
                reason,
            },
            Confirm::Note {
                account_id,
                account_no,
                text,
            } => Command::AddNote {
                account_id,
                account_no,
                text,
            },
            Confirm::Advise {
                account_id,
                account_no,
                incident,
                ..
            } => Command::Advise {
                account_id,
                account_no,
                incident,
            },
            Confirm::Callback {
                account_id,
                account_no,
                due_at,
                note,
                ..
            } => Command::Callback {
                account_id,
                account_no,
                due_at,
                note,
            },
            Confirm::DeclareLoss {
                account_id,
                account_no,
                incident,
                category,
                reason,
            } => Command::DeclareLoss {
                account_id,
                account_no,
                incident,
                category,
                reason,
            },
            Confirm::Restore {
                account_id,
                account_no,
                backup_id,
                categories,
                mode,
                ..
            } => Command::Restore {
                account_id,
                account_no,
                backup_id,
                categories,
                mode,
            },
            Confirm::Undo { account_id, record } => Command::Undo {
                account_id,
                restore_id: record.id,
            },
            Confirm::Resync {
                account_id,
                account_no,
                incident,
                category,
                ..
            } => Command::Resync {
                account_id,
                account_no,
                incident,
                category,
            },
        }
    }
}

/// A confirm dialog: focus starts on Cancel; confirm (`y`) runs it, cancel (`n`/Esc) drops it,
/// press (Enter) presses the focused button.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialog {
    pub confirm: Confirm,
    pub focus: Button,
}

impl Dialog {
    pub fn new(confirm: Confirm) -> Self {
        Self {
            confirm,
            focus: Button::Cancel,
        }
    }
}

/// What a text field is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPurpose {
    Note,
    /// The reason of an appreciation request for an incident, and its amount.
    AppreciationReason {
        incident: String,
        amount_cents: i64,
    },
    LossReason {
        incident: String,
        category: Category,
    },
    /// Why a request is rejected; the request travels with the field, which may be opened
    /// from the approvals queue with no account on screen.
    RejectReason {
        account_id: i64,
        account_no: String,
        request_id: i64,
        requested_by: String,
        amount_cents: i64,
    },
    /// When to call the customer back, as the agent types it ("14:30", "tomorrow 9", "+2h").
    CallbackTime,
    /// What the call back is about (may be left empty).
    CallbackNote {
        due_at: DateTime<Utc>,
        when: String,
    },
}

impl InputPurpose {
    /// Whether Enter may take an empty field.
    fn may_be_empty(&self) -> bool {
        matches!(self, InputPurpose::CallbackNote { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextInput {
    pub text: String,
    pub purpose: InputPurpose,
    /// What the field's text means so far (a callback time as the agent's clock reads it,
    /// or why it is not a time yet).
    pub hint: Option<Result<String, String>>,
}

impl TextInput {
    pub fn new(purpose: InputPurpose) -> Self {
        Self {
            text: String::new(),
            purpose,
            hint: None,
        }
    }
}

/// A callback time typed so far, read on the agent's clock at `now`: the instant and how the
/// agent reads it, or why it is not a time (the domain decides; the field only shows it).
pub(super) fn read_callback_time(
    text: &str,
    now: DateTime<Utc>,
    zone: crate::tui::zone::Zone,
) -> Result<(DateTime<Utc>, String), String> {
    let due = zone.parse_when(text, now).map_err(|e| e.to_string())?;
    crate::domain::contact::check_callback(due, "", now).map_err(|e| e.to_string())?;
    Ok((
        due,
        format!(
            "{} ({})",
            zone.words(due, now),
            zone.format(due, "%a %Y-%m-%d %H:%M %:z")
        ),
    ))
}

impl App {
    pub(super) fn open_dialog(&mut self, confirm: Confirm) {
        self.open(Overlay::Dialog(Dialog::new(confirm)));
    }

    pub(super) fn on_input_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let Some(Overlay::Input(input)) = self.overlays.last_mut() else {
            return Vec::new();
        };
        match k.code {
            KeyCode::Esc => {
                self.close();
            }
            KeyCode::Backspace => {
                input.text.pop();
                self.hint_input();
            }
            KeyCode::Enter => {
                let text = input.text.trim().to_string();
                let purpose = input.purpose.clone();
                if text.is_empty() && !purpose.may_be_empty() {
                    self.error("type something first, or Esc to cancel");
                    return Vec::new();
                }
                if purpose == InputPurpose::CallbackTime {
                    match read_callback_time(&text, self.live.now, self.zone) {
                        Ok((due_at, when)) => {
                            self.close();
                            self.open(Overlay::Input(TextInput::new(InputPurpose::CallbackNote {
                                due_at,
                                when,
                            })));
                        }
                        Err(e) => self.error(e),
                    }
                    return Vec::new();
                }
                self.close();
                let on_screen = self
                    .account
                    .as_ref()
                    .map(|a| (a.summary.id, a.summary.account_no.clone()));
                let confirm = match (purpose, on_screen) {
                    // The request travels with its field: the queue has no account on screen.
                    (
                        InputPurpose::RejectReason {
                            account_id,
                            account_no,
                            request_id,
                            requested_by,
                            amount_cents,
                        },
                        _,
                    ) => Confirm::Reject {
                        account_id,
                        account_no,
                        request_id,
                        requested_by,
                        amount_cents,
                        reason: text,
                    },
                    (InputPurpose::Note, Some((account_id, account_no))) => Confirm::Note {
                        account_id,
                        account_no,
                        text,
                    },
                    (
                        InputPurpose::AppreciationReason {
                            incident,
                            amount_cents,
                        },
                        Some((account_id, account_no)),
                    ) => Confirm::Appreciation {
                        account_id,
                        account_no,
                        incident,
                        amount_cents,
                        reason: text,
                    },
                    (
                        InputPurpose::LossReason { incident, category },
                        Some((account_id, account_no)),
                    ) => Confirm::DeclareLoss {
                        account_id,
                        account_no,
                        incident,
                        category,
                        reason: text,
                    },
                    (
                        InputPurpose::CallbackNote { due_at, when },
                        Some((account_id, account_no)),
                    ) => Confirm::Callback {
                        account_id,
                        account_no,
                        due_at,
                        when,
                        note: text,
                    },
                    (InputPurpose::CallbackTime, _) | (_, None) => return Vec::new(),
                };
                self.open_dialog(confirm);
            }
            KeyCode::Char(c)
                if !k.modifiers.contains(KeyModifiers::CONTROL)
                    && input.text.chars().count() < crate::service::MAX_NOTE_CHARS =>
            {
                input.text.push(c);
                self.hint_input();
            }
            _ => {}
        }
        Vec::new()
    }

    /// The open field's hint, re-read after its text changed.
    fn hint_input(&mut self) {
        let (now, zone) = (self.live.now, self.zone);
        if let Some(Overlay::Input(input)) = self.overlays.last_mut()
            && input.purpose == InputPurpose::CallbackTime
        {
            input.hint = (!input.text.trim().is_empty())
                .then(|| read_callback_time(input.text.trim(), now, zone).map(|(_, w)| w));
        }
    }

    pub(super) fn on_dialog_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let action = self.keymap.action_in(Context::Dialog, &k);
        let Some(Overlay::Dialog(d)) = self.overlays.last_mut() else {
            return Vec::new();
        };
        let confirmed = match action {
            Some(Action::Confirm) => true,
            Some(Action::Cancel) => false,
            Some(Action::Press) => d.focus == Button::Confirm,
            Some(Action::SwitchButton) => {
                d.focus = if d.focus == Button::Cancel {
                    Button::Confirm
                } else {
                    Button::Cancel
                };
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        let Some(Overlay::Dialog(d)) = self.close() else {
            return Vec::new();
        };
        if !confirmed {
            self.info("cancelled; nothing changed");
            return Vec::new();
        }
        self.running += 1;
        self.info(format!("{}…", crate::tui::view::dialog::title(&d.confirm)));
        vec![Effect::Run(d.confirm.command())]
    }
}
