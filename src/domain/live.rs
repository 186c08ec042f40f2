//! A team on one database: what tells the open screens that something changed, and who else
//! has an account open.
//!
//! A change is read off the audit records a commit appended (every change writes one in its
//! own transaction): the accounts they name, or "everything" when a commit touched many
//! accounts or something that is not one account's (an incident, an agent, a batch run's
//! progress). Views and logins are audited too but change nothing a screen shows, so they tell
//! nobody; otherwise each screen's reload of an account would wake every other screen on it.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Accounts one change names before it becomes "everything" (a batch chunk, an import).
pub const MAX_CHANGE_ACCOUNTS: usize = 64;

/// How long an open account stays marked as open after its screen's last heartbeat.
pub const PRESENCE_LAPSE: TimeDelta = TimeDelta::seconds(40);

/// Audit actions that change nothing a screen shows.
const QUIET_ACTIONS: &[&str] = &[
    "account.view",
    "account.reveal",
    "session.login",
    "session.logout",
    "agent.password",
    "db.grant",
    // An outreach list changes no account until its delivery report comes back.
    "outreach.export",
];

/// Whether a commit that appended an audit record for `action` changes what screens show.
pub fn tells_screens(action: &str) -> bool {
    !QUIET_ACTIONS.contains(&action)
}

/// What changed in one or more commits: the accounts named, or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Account numbers whose data changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Too many accounts to name, or something that is not one account's: re-read everything.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// An agent was added, disabled, enabled or given another role: each screen checks its
    /// own agent again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub agents: bool,
}

impl Change {
    /// Everything may have changed (after a gap in the events, or on a slow re-check).
    pub fn everything() -> Self {
        Self {
            accounts: Vec::new(),
            all: true,
            agents: false,
        }
    }

    /// The change that audit records `(action, account)` describe; `None` when they change
    /// nothing a screen shows.
    pub fn of_records<'a>(
        records: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Option<Self> {
        let mut change = Self::default();
        let mut any = false;
        for (action, account) in records {
            if !tells_screens(action) {
                continue;
            }
            any = true;
            change.agents |= action.starts_with("agent.");
            change.add(account);
        }
        any.then_some(change)
    }

    /// Adds one changed account (`None`: something that is not one account's).
    pub fn add(&mut self, account: Option<&str>) {
        if self.all {
            return;
        }
        match account {
            Some(a) if self.accounts.iter().any(|x| x == a) => {}
            Some(a) if self.accounts.len() < MAX_CHANGE_ACCOUNTS => self.accounts.push(a.into()),
            _ => {
                self.all = true;
                self.accounts.clear();
            }
        }
    }

    /// Both changes in one.
    pub fn merge(&mut self, other: &Change) {
        self.agents |= other.agents;
        if other.all {
            self.all = true;
            self.accounts.clear();
        }
        for a in &other.accounts {
            self.add(Some(a));
        }
    }

    /// Whether the account `account_no` may have changed.
    pub fn touches(&self, account_no: &str) -> bool {
        self.all || self.accounts.iter().any(|a| a == account_no)
    }

    /// The text a notification carries (ids only): account numbers separated by commas, `*`
    /// for everything, and `!` when an agent changed.
    pub fn to_payload(&self) -> String {
        let mut parts: Vec<&str> = if self.all {
            vec!["*"]
        } else {
            self.accounts.iter().map(String::as_str).collect()
        };
        if self.agents {
            parts.push("!");
        }
        parts.join(",")
    }

    /// The change a notification's payload names; anything unreadable is "everything".
    pub fn from_payload(payload: &str) -> Self {
        let mut change = Self::default();
        for part in payload.split(',').map(str::trim) {
            match part {
                "*" => change.add(None),
                "!" => change.agents = true,
                a if super::is_account_no(a) => change.add(Some(a)),
                _ => return Self::everything(),
            }
        }
        if change.accounts.is_empty() && !change.all {
            change.all = true;
        }
        change
    }
}

/// What a screen hears about the database: a change, or that it cannot hear for now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Feed {
    /// Something changed: re-read what it names.
    Change(Change),
    /// The database or the server cannot be reached: what is on screen may be out of date.
    Down { reason: String },
    /// Reached again: re-read everything, since changes made meanwhile were not told.
    Up,
}

/// Another screen that has an account open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub login: String,
    pub display_name: String,
    /// When that screen opened the account.
    pub since: DateTime<Utc>,
}

impl Presence {
    /// "omar has this account open, 2 min".
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let minutes = (now - self.since).num_minutes().max(0);
        let how_long = if minutes == 0 {
            "under a minute".to_string()
        } else if minutes < 120 {
            format!("{minutes} min")
        } else {
            format!("{} h", minutes / 60)
        };
        format!(
            "{} has this account open, {how_long}",
            super::sanitize(&self.login)
        )
    }
}

/// What a screen's heartbeat answers: who else has the account open, and how often to beat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceReply {
    pub others: Vec<Presence>,
    /// Seconds between heartbeats, so that presence lapses within the lapse of a screen dying.
    pub beat_secs: u64,
}

/// Seconds between a screen's heartbeats for a presence that lapses after `lapse`: four beats
/// per lapse, so a missed beat or two never makes an open account look closed.
pub fn beat_secs(lapse: TimeDelta) -> u64 {
    u64::try_from(lapse.num_seconds() / 4).unwrap_or(1).max(1)
}

/// Whether a heartbeat at `seen_at` still marks the account open at `now`.
pub fn is_present(seen_at: DateTime<Utc>, now: DateTime<Utc>, lapse: TimeDelta) -> bool {
    now - seen_at < lapse
}

/// Why a screen may not re-read an account without a new audited view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefusal {
    #[error(
        "account {account_no} is not open on your screen; open it to read it (a view is recorded)"
    )]
    NotOpen { account_no: String },
}

/// The refresh rule: the account on an agent's screen is re-read when it changes without a
/// new view record, since its opening was recorded; any other read is a view.
pub fn may_refresh(account_no: &str, open_on_a_screen: bool) -> Result<(), RefreshRefusal> {
    if open_on_a_screen {
        Ok(())
    } else {
        Err(RefreshRefusal::NotOpen {
            account_no: account_no.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_and_logins_tell_no_screen_and_changes_name_their_accounts() {
        assert_eq!(
            Change::of_records([("account.view", Some("310000005")), ("session.login", None)]),
            None
        );
        let c = Change::of_records([
            ("account.view", Some("310000001")),
            ("note.add", Some("310000005")),
            ("credit.incident", Some("310000005")),
            ("restore.apply", Some("310000007")),
        ])
        .expect("a change");
        assert_eq!(c.accounts, ["310000005", "310000007"]);
        assert!(!c.all);
        assert!(c.touches("310000007"));
        assert!(!c.touches("310000001"));
        let inc = Change::of_records([("incident.edit", None)]).expect("a change");
        assert!(inc.all && inc.touches("310000001"));
    }

    #[test]
    fn many_accounts_become_everything() {
        let nos: Vec<String> = (0..=MAX_CHANGE_ACCOUNTS)
            .map(|i| format!("3100{i:05}"))
            .collect();
        let c = Change::of_records(nos.iter().map(|n| ("credit.incident", Some(n.as_str()))))
            .expect("a change");
        assert!(c.all);
        assert!(c.accounts.is_empty());
        assert_eq!(c.to_payload(), "*");
    }

    #[test]
    fn payloads_round_trip_and_anything_odd_means_everything() {
        let mut c = Change::default();
        c.add(Some("310000005"));
        c.add(Some("310000006"));
        assert_eq!(Change::from_payload(&c.to_payload()), c);
        assert_eq!(Change::from_payload("*"), Change::everything());
        let agent = Change::of_records([("agent.disable", None)]).expect("a change");
        assert!(agent.all && agent.agents);
        assert_eq!(agent.to_payload(), "*,!");
        assert_eq!(Change::from_payload(&agent.to_payload()), agent);
        assert!(
            !Change::of_records([("incident.edit", None)])
                .expect("a change")
                .agents
        );
        assert_eq!(Change::from_payload(""), Change::everything());
        assert_eq!(
            Change::from_payload("310000005,'; DROP"),
            Change::everything()
        );
        let mut m = c.clone();
        m.merge(&Change::everything());
        assert!(m.all && m.accounts.is_empty());
    }

    #[test]
    fn presence_reads_as_an_agent_says_it() {
        let now = DateTime::parse_from_rfc3339("2009-10-14T16:00:00Z")
            .expect("time")
            .to_utc();
        let p = Presence {
            login: "omar".into(),
            display_name: "Omar".into(),
            since: now - TimeDelta::seconds(150),
        };
        assert_eq!(p.describe(now), "omar has this account open, 2 min");
        let fresh = Presence {
            since: now - TimeDelta::seconds(5),
            ..p.clone()
        };
        assert_eq!(
            fresh.describe(now),
            "omar has this account open, under a minute"
        );
        assert!(is_present(
            now - TimeDelta::seconds(39),
            now,
            PRESENCE_LAPSE
        ));
        assert!(!is_present(
            now - TimeDelta::seconds(40),
            now,
            PRESENCE_LAPSE
        ));
        assert_eq!(beat_secs(PRESENCE_LAPSE), 10);
        assert_eq!(beat_secs(TimeDelta::seconds(2)), 1);
    }

    #[test]
    fn a_refresh_needs_the_account_open() {
        assert!(may_refresh("310000005", true).is_ok());
        let e = may_refresh("310000005", false).expect_err("refused");
        assert!(e.to_string().contains("310000005"), "{e}");
    }
}
