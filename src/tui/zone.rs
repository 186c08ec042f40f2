//! The zone the screen shows times in: the agent's own (the machine's local zone), or UTC
//! where a test needs the same screen on every machine. Times are stored in UTC; only the
//! screen turns them into the agent's clock.

use chrono::{DateTime, Utc};

use crate::domain::{Advice, Callback, when::WhenError};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Zone {
    #[default]
    Local,
    Utc,
}

/// Calls `$f` with the zone as a `chrono::TimeZone` value.
macro_rules! with_zone {
    ($zone:expr, $tz:ident => $body:expr) => {
        match $zone {
            Zone::Local => {
                let $tz = &chrono::Local;
                $body
            }
            Zone::Utc => {
                let $tz = &chrono::Utc;
                $body
            }
        }
    };
}

impl Zone {
    /// "at 14:30", "tomorrow at 09:00", … (see `domain::local_words`).
    pub fn words(self, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
        with_zone!(self, tz => crate::domain::local_words(t, now, tz))
    }

    pub fn advice_words(self, a: &Advice, now: DateTime<Utc>) -> String {
        with_zone!(self, tz => crate::domain::advice_words(a, now, tz))
    }

    pub fn callback_words(self, c: &Callback, now: DateTime<Utc>) -> String {
        with_zone!(self, tz => crate::domain::callback_words(c, now, tz))
    }

    /// `t` on the agent's clock, in `chrono`'s format `fmt`.
    pub fn format(self, t: DateTime<Utc>, fmt: &str) -> String {
        with_zone!(self, tz => t.with_timezone(tz).format(fmt).to_string())
    }

    /// Whether `a` and `b` fall on the same day on the agent's clock.
    pub fn same_day(self, a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
        with_zone!(self, tz => a.with_timezone(tz).date_naive() == b.with_timezone(tz).date_naive())
    }

    /// What an agent typed as a time ("14:30", "tomorrow 9", "+2h"), read on their clock.
    pub fn parse_when(self, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, WhenError> {
        with_zone!(self, tz => crate::domain::when::parse_when(text, &now.with_timezone(tz)))
    }
}
