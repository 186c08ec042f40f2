//! A screen among others on one database: what other agents change shows without a key
//! press, who else has the account open, and a link that drops and comes back.
//!
//! Changes arrive as hints (`Feed`); the screen re-reads only what is in view (the account on
//! screen, the worklist, the approvals queue, the dashboard), never moving the selection or touching an open dialog
//! or field. Every `RECHECK_SECS` it re-reads them anyway, since hints are lost while the link
//! is down.

use chrono::{DateTime, Utc};

use super::{App, Effect, Screen};
use crate::domain::{Actor, Change, Feed, Presence, PresenceReply};

/// Seconds between two re-reads of what is in view when no change was told.
pub const RECHECK_SECS: u64 = 30;

/// Seconds at least between two re-reads for changes that name no account ("everything": a
/// batch run's chunks, an import), so a run going at full speed does not make every screen
/// re-read all the time.
pub const EVERYTHING_SECS: u64 = 2;

/// The screen's side of presence and of the change feed.
#[derive(Debug, Clone)]
pub struct Live {
    /// This screen's id in the presence table (each screen of one agent has its own).
    pub screen_id: String,
    /// The others who have the account on screen open, and which account that was.
    pub others: Vec<Presence>,
    others_for: Option<i64>,
    /// The account the last heartbeat named (`None`: none), and seconds since it went.
    beat_account: Option<i64>,
    since_beat: u64,
    beat_secs: u64,
    since_check: u64,
    /// Seconds since "everything changed" was last acted on, and whether one waits.
    since_everything: u64,
    everything_waits: bool,
    /// Why the change feed is down; `None` while it works.
    pub down: Option<String>,
    /// A re-read of the worklist or dashboard was wanted while one was in flight.
    counts_stale: bool,
    /// The agent may no longer work (disabled): why.
    pub stopped: Option<String>,
    /// The time the screen last heard the clock, for "2 min" (tests set it).
    pub now: DateTime<Utc>,
}

impl Default for Live {
    fn default() -> Self {
        use rand::Rng;
        let id: u128 = rand::rng().random();
        Self {
            screen_id: format!("{id:032x}"),
            others: Vec::new(),
            others_for: None,
            beat_account: None,
            since_beat: 0,
            beat_secs: 10,
            since_check: 0,
            since_everything: EVERYTHING_SECS,
            everything_waits: false,
            down: None,
            counts_stale: false,
            stopped: None,
            now: Utc::now(),
        }
    }
}

impl App {
    /// The account whose presence this screen should hold: the one on screen.
    pub(super) fn present_on(&self) -> Option<i64> {
        match (self.screen, &self.account) {
            (Screen::Account, Some(a)) => Some(a.summary.id),
            _ => None,
        }
    }

    /// The others who have the account on screen open.
    pub fn others_here(&self) -> &[Presence] {
        match (&self.account, self.live.others_for) {
            (Some(a), Some(id)) if a.summary.id == id => &self.live.others,
            _ => &[],
        }
    }

    /// A heartbeat naming the account on screen, if it is not the one the last beat named.
    pub(super) fn beat_if_moved(&mut self) -> Vec<Effect> {
        let here = self.present_on();
        if here == self.live.beat_account {
            return Vec::new();
        }
        self.beat(here)
    }

    fn beat(&mut self, account: Option<i64>) -> Vec<Effect> {
        self.live.beat_account = account;
        self.live.since_beat = 0;
        if account.is_none() {
            self.live.others.clear();
            self.live.others_for = None;
        }
        vec![Effect::Beat {
            screen: self.live.screen_id.clone(),
            account,
        }]
    }

    /// A second passed: heartbeat when due, and the slow re-check of what is in view.
    pub(super) fn on_second(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        self.live.now = now;
        if self.live.stopped.is_some() {
            return Vec::new();
        }
        self.live.since_beat += 1;
        self.live.since_check += 1;
        self.live.since_everything += 1;
        let mut effects = self.beat_if_moved();
        if effects.is_empty()
            && self.live.beat_account.is_some()
            && self.live.since_beat >= self.live.beat_secs
        {
            effects = self.beat(self.live.beat_account);
        }
        if self.live.since_check >= RECHECK_SECS
            || (self.live.everything_waits && self.live.since_everything >= EVERYTHING_SECS)
        {
            effects.extend(self.on_change(&Change::everything()));
        }
        effects
    }

    /// Who else has the account open, as the heartbeat answered.
    pub(super) fn on_presence(
        &mut self,
        account: Option<i64>,
        result: Result<PresenceReply, String>,
    ) -> Vec<Effect> {
        if let Ok(reply) = result {
            self.live.beat_secs = reply.beat_secs.max(1);
            if account.is_some() && account == self.live.beat_account {
                self.live.others = reply.others;
                self.live.others_for = account;
            }
        }
        Vec::new()
    }

    pub(super) fn on_feed(&mut self, feed: Feed) -> Vec<Effect> {
        match feed {
            Feed::Change(change) => self.on_change(&change),
            Feed::Down { reason } => {
                self.live.down = Some(reason);
                Vec::new()
            }
            Feed::Up => {
                self.live.down = None;
                self.info("live updates are back");
                self.on_change(&Change::everything())
            }
        }
    }

    /// Re-reads what the change touches and is in view.
    pub(super) fn on_change(&mut self, change: &Change) -> Vec<Effect> {
        if self.live.stopped.is_some() {
            return Vec::new();
        }
        let mut effects = Vec::new();
        if change.agents {
            // This agent may have been disabled, or given another role.
            effects.push(Effect::CheckMe);
        }
        if change.all {
            if self.live.since_everything < EVERYTHING_SECS {
                self.live.everything_waits = true;
                return effects;
            }
            self.live.since_everything = 0;
            self.live.everything_waits = false;
        }
        self.live.since_check = 0;
        if let Some(a) = &self.account
            && change.touches(&a.summary.account_no)
            && !self.loading_account()
        {
            let id = a.summary.id;
            effects.push(if self.revealed == Some(id) {
                self.load_account(id)
            } else {
                Effect::RefreshAccount { id }
            });
        }
        effects.extend(self.reload_counts());
        effects
    }

    /// The worklist, approvals queue or dashboard in view, re-read; one re-read at a time.
    fn reload_counts(&mut self) -> Vec<Effect> {
        let busy = match self.screen {
            Screen::Worklist => self.loading_worklist,
            Screen::Dashboard => self.loading_dashboard,
            Screen::Approvals => self.loading_approvals,
            _ => return Vec::new(),
        };
        if busy {
            self.live.counts_stale = true;
            return Vec::new();
        }
        match self.screen {
            Screen::Worklist => self.load_worklist(),
            Screen::Dashboard => self.load_dashboard(),
            Screen::Approvals => self.load_approvals(),
            _ => Vec::new(),
        }
    }

    /// A worklist, queue or dashboard answer came: re-read once more if a change came meanwhile.
    pub(super) fn counts_answered(&mut self) -> Vec<Effect> {
        if std::mem::take(&mut self.live.counts_stale) {
            self.reload_counts()
        } else {
            Vec::new()
        }
    }

    /// The agent as the database says now: a disabled agent is stopped at once (nothing of a
    /// customer stays on screen), a changed role takes effect. `refused` tells a refusal of
    /// the agent from a failure to ask.
    pub(super) fn on_me(&mut self, result: Result<Actor, (String, bool)>) -> Vec<Effect> {
        match result {
            Ok(actor) => {
                self.actor = actor;
            }
            Err((reason, true)) => {
                self.account = None;
                self.results.clear();
                self.worklist = Default::default();
                self.overlays.clear();
                self.live.others.clear();
                let reason = reason.trim_end_matches("; nothing was done").to_string();
                self.error(format!(
                    "{reason}; this screen can do nothing more (q quits)"
                ));
                self.live.stopped = Some(reason);
            }
            Err(_) => {}
        }
        Vec::new()
    }
}
