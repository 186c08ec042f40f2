//! The confirm dialog and the text field, and the words of each dialog, made from the data it
//! confirms (`Confirm`): what will happen, to which account, and why.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Theme, centered, clean, wrapped_height};
use crate::domain::format_cents;
use crate::tui::app::{Button, Confirm, Dialog, InputPurpose, TextInput};
use crate::tui::keymap::{Action, Keymap};

/// A dialog's words: its title, what it says, and the label of its yes button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prose {
    pub title: String,
    pub lines: Vec<String>,
    pub confirm_label: String,
}

/// The dialog's title (also said while its command runs).
pub fn title(c: &Confirm) -> &'static str {
    match c {
        Confirm::Credit { .. } => "Apply the incident credit",
        Confirm::Appreciation { .. } => "Request the appreciation credit",
        Confirm::Approve { .. } => "Approve the appreciation credit",
        Confirm::Reject { .. } => "Reject the appreciation request",
        Confirm::Note { .. } => "Add the note",
        Confirm::Advise { .. } => "Record that the customer was advised",
        Confirm::Callback { .. } => "Promise a call back",
        Confirm::DeclareLoss { .. } => "Declare a permanent loss",
        Confirm::Restore { .. } => "Restore from the backup",
        Confirm::Undo { .. } => "Undo a restore",
        Confirm::Resync { .. } => "Record a device re-sync",
    }
}

/// What a dialog says about `c`.
pub fn prose(c: &Confirm) -> Prose {
    let quoted = |s: &str| s.chars().take(60).collect::<String>();
    let (lines, label) = match c {
        Confirm::Credit {
            account_no,
            name,
            amount_cents,
            currency,
            months,
            plan_code,
            price_cents,
            incident_started,
            ..
        } => {
            let months = if *months == 1 {
                "one month".to_string()
            } else {
                format!("{months} months")
            };
            (
                vec![
                    format!(
                        "Credit {} to account {account_no} ({name}).",
                        format_cents(*amount_cents, currency)
                    ),
                    format!(
                        "Why: {months} of {plan_code} at {}/month, the data plan in force when the incident began ({}).",
                        format_cents(*price_cents, currency),
                        incident_started.format("%Y-%m-%d %H:%M UTC")
                    ),
                    "It is credited once; a second try changes nothing.".to_string(),
                ],
                "Credit",
            )
        }
        Confirm::Appreciation {
            account_no,
            amount_cents,
            reason,
            ..
        } => (
            vec![
                format!(
                    "Request {} for account {account_no}; a supervisor other than you approves it.",
                    format_cents(*amount_cents, "USD")
                ),
                format!("Reason: \"{}\"", quoted(reason)),
            ],
            "Request",
        ),
        Confirm::Approve {
            account_no,
            request_id,
            requested_by,
            amount_cents,
            reason,
            ..
        } => (
            vec![
                format!(
                    "Approve request #{request_id} by {requested_by}: {} for account {account_no}.",
                    format_cents(*amount_cents, "USD"),
                ),
                format!("Reason given: {reason}"),
            ],
            "Approve",
        ),
        Confirm::Reject {
            account_no,
            request_id,
            requested_by,
            amount_cents,
            reason,
            ..
        } => (
            vec![
                format!(
                    "Reject request #{request_id} by {requested_by}: {} for account {account_no}.",
                    format_cents(*amount_cents, "USD"),
                ),
                format!(
                    "Your reason, which {requested_by} reads on the account: \"{}\"",
                    quoted(reason)
                ),
                "Nothing is credited; a rejected request cannot be approved later.".to_string(),
            ],
            "Reject",
        ),
        Confirm::Note {
            account_no, text, ..
        } => (
            vec![
                format!("Add to account {account_no}'s timeline:"),
                format!("\"{}\"", quoted(text)),
            ],
            "Add",
        ),
        Confirm::DeclareLoss {
            account_no,
            category,
            ..
        } => (
            vec![
                format!("Declare account {account_no}'s {category} permanently lost?"),
                "This opens the appreciation credit and cannot be undone here.".to_string(),
            ],
            "Declare",
        ),
        Confirm::Restore {
            account_no,
            backup_id,
            categories,
            mode,
            preview,
            ..
        } => {
            let sum = |f: fn(&crate::domain::restore::CategoryCounts) -> i64| -> i64 {
                preview.categories.iter().map(|c| f(&c.counts)).sum()
            };
            let (adds, fills, removes, corrupt) = (
                sum(|c| c.add),
                sum(|c| c.fill),
                sum(|c| c.remove),
                sum(|c| c.corrupt),
            );
            let mut lines = vec![
                format!(
                    "Restore {} of account {account_no} from {backup_id} ({} mode).",
                    categories
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    mode.as_str()
                ),
                format!(
                    "Adds {adds} item(s), fills empty fields of {fills}{}.",
                    if removes > 0 {
                        format!(", removes {removes}")
                    } else {
                        String::new()
                    }
                ),
                "The live items are archived first, so a supervisor can undo it.".to_string(),
            ];
            if corrupt > 0 {
                lines.push(format!(
                    "{corrupt} item(s) fail their hash and are left out."
                ));
            }
            (lines, "Restore")
        }
        Confirm::Undo { record: r, .. } => {
            let cats: Vec<String> = r
                .categories
                .iter()
                .map(|c| format!("{} (+{} added)", c.category, c.counts.add))
                .collect();
            (
                vec![
                    format!(
                        "Undo restore #{} ({}, {} mode, by {}, {}).",
                        r.id,
                        r.backup_id,
                        r.mode,
                        r.agent,
                        r.created_at.format("%Y-%m-%d %H:%M")
                    ),
                    format!(
                        "The live items of {} go back exactly to how they were before it.",
                        cats.join(", ")
                    ),
                    "If the customer's data changed since, nothing is undone and you are told what changed.".to_string(),
                ],
                "Undo",
            )
        }
        Confirm::Advise {
            account_no,
            name,
            incident,
            ..
        } => (
            vec![
                format!(
                    "You read the advisory of incident {incident} to {name} (account {account_no}) on this call."
                ),
                "Others see that the customer was advised, by you, now; the account leaves the not-advised list."
                    .to_string(),
            ],
            "Advised",
        ),
        Confirm::Callback {
            account_no,
            when,
            note,
            ..
        } => {
            let mut lines = vec![format!("You will call back account {account_no} {when}.")];
            if !note.is_empty() {
                lines.push(format!("About: \"{}\"", quoted(note)));
            }
            lines.push(
                "It comes first in your worklist when it is due; others see it on the account."
                    .to_string(),
            );
            (lines, "Set")
        }
        Confirm::Resync {
            account_no,
            category,
            items_before,
            ..
        } => (
            vec![
                format!(
                    "Record that the phone re-synced account {account_no}'s {category} ({items_before} items)."
                ),
                "Only when the customer powered off with Menu → Power Off and the data is back."
                    .to_string(),
            ],
            "Record",
        ),
    };
    Prose {
        title: title(c).to_string(),
        lines,
        confirm_label: label.to_string(),
    }
}

/// What a text field asks for.
pub fn input_title(purpose: &InputPurpose) -> String {
    match purpose {
        InputPurpose::Note => "Note for the timeline".to_string(),
        InputPurpose::AppreciationReason { .. } => {
            "Why this customer should get the appreciation credit".to_string()
        }
        InputPurpose::LossReason { category, .. } => {
            format!("Why are {category} permanently lost?")
        }
        InputPurpose::RejectReason { request_id, .. } => {
            format!("Why is request #{request_id} rejected? (the requester reads it)")
        }
        InputPurpose::CallbackTime => {
            "Call back when? (14:30, 2pm, tomorrow 9, wed 10:15, +2h)".to_string()
        }
        InputPurpose::CallbackNote { when, .. } => {
            format!("Call back {when}: about what? (Enter to leave empty)")
        }
    }
}

pub(super) fn render_input(f: &mut Frame, input: &TextInput, theme: Theme, area: Rect) {
    let popup = centered(area, 70, 7);
    f.render_widget(Clear, popup);
    let hint = match &input.hint {
        Some(Ok(words)) => Line::from(format!("→ {}", clean(words))),
        Some(Err(why)) => Line::styled(clean(why), theme.error()),
        None => Line::from(""),
    };
    let text = vec![
        Line::from(format!("{}▏", clean(&input.text))),
        hint,
        Line::styled("Enter: continue   Esc: cancel", theme.dim()),
    ];
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Span::styled(
                format!(" {} ", input_title(&input.purpose)),
                theme.title(),
            ))),
        popup,
    );
}

pub(super) fn render_dialog(f: &mut Frame, d: &Dialog, keys: &Keymap, theme: Theme, area: Rect) {
    let p = prose(&d.confirm);
    let width = 72.min(area.width);
    let height = wrapped_height(&p.lines, width.saturating_sub(2)).saturating_add(4);
    let popup = centered(area, width, height);
    f.render_widget(Clear, popup);
    let mut text: Vec<Line> = p.lines.iter().map(|l| Line::from(clean(l))).collect();
    text.push(Line::from(""));
    let button = |label: &str, focused: bool| {
        if focused {
            Span::styled(format!("> {label} <"), theme.selected())
        } else {
            Span::raw(format!("  {label}  "))
        }
    };
    text.push(Line::from(vec![
        button(
            &format!("Cancel ({})", keys.first_key(Action::Cancel)),
            d.focus == Button::Cancel,
        ),
        Span::raw("    "),
        button(
            &format!("{} ({})", p.confirm_label, keys.first_key(Action::Confirm)),
            d.focus == Button::Confirm,
        ),
    ]));
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Span::styled(format!(" {} ", p.title), theme.title()))),
        popup,
    );
}
