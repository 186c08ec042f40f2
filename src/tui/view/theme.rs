//! Colours and emphasis. With NO_COLOR only modifiers remain: the words carry the meaning.

use ratatui::style::{Color, Modifier, Style};

use crate::domain::CategoryStatus;

/// Colours, or with NO_COLOR only modifiers (the words carry the meaning).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env(no_color_flag: bool) -> Self {
        let no_color = no_color_flag || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self { color: !no_color }
    }

    pub(super) fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn status(&self, s: CategoryStatus) -> Style {
        match s {
            CategoryStatus::AtRisk => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            CategoryStatus::Restorable => self.fg(Color::Yellow),
            CategoryStatus::Lost => self.fg(Color::Magenta),
            CategoryStatus::PermanentLoss => self.fg(Color::Red),
            CategoryStatus::RestoredPartial => self.fg(Color::Cyan),
            CategoryStatus::RestoredFull => self.fg(Color::Green),
            CategoryStatus::NotAffected => self.fg(Color::DarkGray),
        }
    }

    pub(super) fn selected(&self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }

    pub(super) fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub(super) fn banner(&self) -> Style {
        if self.color {
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    /// Something that asks for action (a callback due, a customer not yet advised).
    pub(super) fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub(super) fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub(super) fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }
}
