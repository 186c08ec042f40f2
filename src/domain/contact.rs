//! Contact with the customer beyond the ledger (SPEC §2): the advisory read to an at-risk
//! customer (advice), calls back an agent promised, and the outreach lists that reach the
//! at-risk customers who never call. Each decision here is a pure function of the account's
//! facts and the clock; the service asks it inside the transaction that writes, the screens
//! ask it to say why an action is unavailable.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::account::{AccountStatus, AccountSummary};
use super::detail::AccountDetail;
use super::parse::{UnknownValue, parse_keyword};
use super::status::CategoryStatus;

/// Longest callback note, in characters.
pub const MAX_CALLBACK_NOTE_CHARS: usize = 500;
/// Furthest ahead a callback may be set.
pub const MAX_CALLBACK_DAYS: i64 = 90;

/// How the customer was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Read out on a call.
    Call,
    Sms,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Call, Channel::Sms, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Call => "call",
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// In a sentence: "call", "SMS", "e-mail".
    pub fn words(self) -> &'static str {
        match self {
            Channel::Call => "call",
            Channel::Sms => "SMS",
            Channel::Email => "e-mail",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("e-mail") {
            return Ok(Channel::Email);
        }
        parse_keyword(s, "a channel", &Channel::ALL, Channel::as_str)
    }
}

/// That the customer of an account was given an incident's advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    pub incident: String,
    pub agent: String,
    pub channel: Channel,
    pub advised_at: DateTime<Utc>,
    /// The outreach row a gateway delivered, when the advice came from a delivery report.
    pub outreach_id: Option<String>,
}

/// Where a callback stands. Callbacks are done or cancelled, never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackState {
    Pending,
    Done,
    Cancelled,
}

impl CallbackState {
    pub const ALL: [CallbackState; 3] = [
        CallbackState::Pending,
        CallbackState::Done,
        CallbackState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallbackState::Pending => "pending",
            CallbackState::Done => "done",
            CallbackState::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for CallbackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for CallbackState {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(
            s,
            "a callback state",
            &CallbackState::ALL,
            CallbackState::as_str,
        )
    }
}

/// A time as an agent reads it in their own zone, as words that follow a verb: "at 14:30"
/// on `now`'s day there, "tomorrow at 09:00", "yesterday at 16:10", else "on Wed 2026-12-09
/// at 09:00".
pub fn local_words<Tz: chrono::TimeZone>(t: DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    let (t, now) = (t.with_timezone(tz), now.with_timezone(tz));
    let (day, today) = (t.date_naive(), now.date_naive());
    if day == today {
        t.format("at %H:%M").to_string()
    } else if today.succ_opt() == Some(day) {
        t.format("tomorrow at %H:%M").to_string()
    } else if today.pred_opt() == Some(day) {
        t.format("yesterday at %H:%M").to_string()
    } else {
        t.format("on %a %Y-%m-%d at %H:%M").to_string()
    }
}

/// The advisory banner's record of the advice: "advised by alice at 10:32 (call)".
pub fn advice_words<Tz: chrono::TimeZone>(a: &Advice, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    format!(
        "advised by {} {} ({})",
        a.agent,
        local_words(a.advised_at, now, tz),
        a.channel.words()
    )
}

/// Who will call back and when: "alice will call back at 14:30: after her shift", or "… was
/// due at …" once the time has passed.
pub fn callback_words<Tz: chrono::TimeZone>(c: &Callback, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: fmt::Display,
{
    let when = local_words(c.due_at, now, tz);
    let mut s = if c.is_due(now) {
        format!("{} was to call back {when}", c.agent)
    } else {
        format!("{} will call back {when}", c.agent)
    };
    if !c.note.is_empty() {
        s.push_str(": ");
        s.push_str(&c.note);
    }
    s
}

/// A call back an agent promised a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub id: i64,
    pub account_id: i64,
    pub account_no: String,
    /// Who will call back.
    pub agent: String,
    pub due_at: DateTime<Utc>,
    pub note: String,
    pub state: CallbackState,
    pub created_at: DateTime<Utc>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Callback {
    /// Pending and its time has come.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state == CallbackState::Pending && self.due_at <= now
    }
}

/// Why advice or a callback is not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactRefusal {
    #[error(
        "account {account_no} is not at risk: no category's only copy is on the customer's device, so there is no advisory to read"
    )]
    NotAtRisk { account_no: String },
    #[error("account {account_no} is not at risk in incident {incident}")]
    NotAtRiskIn {
        account_no: String,
        incident: String,
    },
    #[error(
        "account {account_no} is at risk in several incidents ({}); say which with --incident",
        incidents.join(", ")
    )]
    SeveralIncidents {
        account_no: String,
        incidents: Vec<String>,
    },
    #[error("the callback time {due} is in the past; give a time from now on")]
    InThePast { due: String },
    #[error("the callback time {due} is more than {MAX_CALLBACK_DAYS} days ahead")]
    TooFarAhead { due: String },
    #[error("the callback note is longer than {MAX_CALLBACK_NOTE_CHARS} characters")]
    NoteTooLong,
    #[error("callback {id} was already {state} by {by}")]
    Closed {
        id: i64,
        state: CallbackState,
        by: String,
    },
    #[error("callback {id} cannot be made pending again; schedule a new one")]
    Reopen { id: i64 },
    #[error("an outreach list is for sms or email; calls are made from the worklist")]
    NotAnOutreachChannel,
}

impl ContactRefusal {
    /// Mistakes in the request (exit 2) rather than refusals by a rule (exit 3).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::SeveralIncidents { .. }
                | Self::InThePast { .. }
                | Self::TooFarAhead { .. }
                | Self::NoteTooLong
                | Self::Reopen { .. }
                | Self::NotAnOutreachChannel
        )
    }
}

/// What recording advice comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdviceDecision {
    /// The customer was advised before for that incident: a replay that changes nothing.
    Already(Advice),
    /// Record advice for this incident.
    Record { incident: String },
}

/// The incidents in which the account has a category at risk, in the account's order.
pub fn at_risk_incidents(detail: &AccountDetail) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &detail.categories {
        if c.status == CategoryStatus::AtRisk && !out.contains(&c.incident) {
            out.push(c.incident.clone());
        }
    }
    out
}

/// Whether advice for the account can be recorded, and for which incident: only an at-risk
/// account's customer has an advisory to hear; the incident may be left out when the account
/// is at risk in one incident not yet advised; advising again is a replay.
pub fn decide_advice(
    detail: &AccountDetail,
    advice: &[Advice],
    incident: Option<&str>,
) -> Result<AdviceDecision, ContactRefusal> {
    let account_no = detail.summary.account_no.clone();
    let given = |id: &str| advice.iter().find(|a| a.incident == id);
    let at_risk = at_risk_incidents(detail);
    if let Some(id) = incident {
        if let Some(a) = given(id) {
            return Ok(AdviceDecision::Already(a.clone()));
        }
        if !at_risk.iter().any(|i| i == id) {
            return Err(ContactRefusal::NotAtRiskIn {
                account_no,
                incident: id.to_string(),
            });
        }
        return Ok(AdviceDecision::Record {
            incident: id.to_string(),
        });
    }
    let open: Vec<&String> = at_risk.iter().filter(|i| given(i).is_none()).collect();
    match open.as_slice() {
        [one] => Ok(AdviceDecision::Record {
            incident: (*one).clone(),
        }),
        [] => match at_risk.first().and_then(|i| given(i)).or(advice.first()) {
            Some(a) => Ok(AdviceDecision::Already(a.clone())),
            None => Err(ContactRefusal::NotAtRisk { account_no }),
        },
        _ => Err(ContactRefusal::SeveralIncidents {
            account_no,
            incidents: open.into_iter().cloned().collect(),
        }),
    }
}

/// The advice the account screen's banner names: the incident's, else the newest.
pub fn advice_for<'a>(advice: &'a [Advice], incident: Option<&str>) -> Option<&'a Advice> {
    incident
        .and_then(|id| advice.iter().find(|a| a.incident == id))
        .or_else(|| advice.iter().max_by_key(|a| a.advised_at))
}

/// A callback's time and note as an agent gave them, checked: from now (a minute's grace for
/// "now") up to `MAX_CALLBACK_DAYS` ahead, with a note of at most `MAX_CALLBACK_NOTE_CHARS`.
/// Returns the note as it is kept (control characters stripped, trimmed).
pub fn check_callback(
    due: DateTime<Utc>,
    note: &str,
    now: DateTime<Utc>,
) -> Result<String, ContactRefusal> {
    let shown = due.format("%Y-%m-%d %H:%M UTC").to_string();
    if due < now - TimeDelta::minutes(1) {
        return Err(ContactRefusal::InThePast { due: shown });
    }
    if due > now + TimeDelta::days(MAX_CALLBACK_DAYS) {
        return Err(ContactRefusal::TooFarAhead { due: shown });
    }
    let note = super::text::sanitize(note.trim()).into_owned();
    if note.chars().count() > MAX_CALLBACK_NOTE_CHARS {
        return Err(ContactRefusal::NoteTooLong);
    }
    Ok(note)
}

/// Closing a callback as done or cancelled: a pending one closes; closing it again the same
/// way is a replay (false: nothing to write); the other way is refused.
pub fn decide_close(cb: &Callback, to: CallbackState) -> Result<bool, ContactRefusal> {
    if to == CallbackState::Pending {
        return Err(ContactRefusal::Reopen { id: cb.id });
    }
    match cb.state {
        CallbackState::Pending => Ok(true),
        s if s == to => Ok(false),
        s => Err(ContactRefusal::Closed {
            id: cb.id,
            state: s,
            by: cb.closed_by.clone().unwrap_or_default(),
        }),
    }
}

// ----- worklist ---------------------------------------------------------------------------

/// Why an account is where it is in the worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum WorklistReason {
    /// This agent promised to call back and the time has come.
    CallbackDue { due_at: DateTime<Utc> },
    /// At risk, and nobody has read the customer the advisory yet.
    NotAdvised,
    /// By its status.
    Status,
}

/// One row of an agent's worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorklistEntry {
    #[serde(flatten)]
    pub account: AccountSummary,
    #[serde(flatten)]
    pub reason: WorklistReason,
}

/// An agent's worklist: its first rows and how many accounts it holds in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worklist {
    pub total: i64,
    pub entries: Vec<WorklistEntry>,
}

/// The worklist's order (SPEC §4): this agent's due callbacks (earliest first), then at-risk
/// accounts nobody has advised, then the rest by status; each account once, at most `limit`.
/// `rest` is in status order and may hold accounts of the first two groups (they are
/// skipped); it needs at most `limit` rows beyond the first two groups' to fill the list.
pub fn order_worklist(
    due: Vec<(AccountSummary, DateTime<Utc>)>,
    not_advised: Vec<AccountSummary>,
    rest: Vec<AccountSummary>,
    limit: usize,
) -> Vec<WorklistEntry> {
    let mut out: Vec<WorklistEntry> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let entries = due
        .into_iter()
        .map(|(a, due_at)| (a, WorklistReason::CallbackDue { due_at }))
        .chain(
            not_advised
                .into_iter()
                .map(|a| (a, WorklistReason::NotAdvised)),
        )
        .chain(rest.into_iter().map(|a| (a, WorklistReason::Status)));
    for (account, reason) in entries {
        if out.len() >= limit {
            break;
        }
        if seen.insert(account.id) {
            out.push(WorklistEntry { account, reason });
        }
    }
    out
}

// ----- outreach ---------------------------------------------------------------------------

/// An account on an outreach list: who to send the advisory to, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutreachContact {
    /// Stable: the same account, incident and channel keep their id across exports.
    pub outreach_id: String,
    pub channel: Channel,
    pub account_no: String,
    /// The E.164 phone number (sms) or the e-mail address (email).
    pub to: String,
}

/// Why an at-risk account is left off an outreach list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutreachSkip {
    Closed,
    NoAddress,
}

/// The address an outreach message goes to, or why the account is skipped: closed accounts
/// are not contacted, and an account needs an E.164 number for SMS or an e-mail address for
/// e-mail.
pub fn outreach_address(
    channel: Channel,
    status: AccountStatus,
    msisdn: &str,
    email: &str,
) -> Result<String, OutreachSkip> {
    if status == AccountStatus::Closed {
        return Err(OutreachSkip::Closed);
    }
    let usable = match channel {
        Channel::Sms | Channel::Call => {
            let digits = msisdn.strip_prefix('+').unwrap_or("");
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        }
        Channel::Email => usable_email(email),
    };
    if !usable {
        return Err(OutreachSkip::NoAddress);
    }
    Ok(match channel {
        Channel::Email => email.trim().to_string(),
        _ => msisdn.to_string(),
    })
}

/// One '@' with something before it and a dotted domain after it, no spaces or quotes.
fn usable_email(email: &str) -> bool {
    let e = email.trim();
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == ',')
}

/// The channels a gateway sends by: SMS and e-mail (calls are made from the worklist).
pub fn check_outreach_channel(channel: Channel) -> Result<(), ContactRefusal> {
    match channel {
        Channel::Call => Err(ContactRefusal::NotAnOutreachChannel),
        Channel::Sms | Channel::Email => Ok(()),
    }
}

/// An outreach id as it is printed: the row's number with a prefix a gateway keeps as text.
pub fn outreach_id(n: i64) -> String {
    format!("out-{n}")
}

/// The row number of a printed outreach id.
pub fn parse_outreach_id(s: &str) -> Option<i64> {
    s.trim()
        .strip_prefix("out-")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
}

/// What a gateway says of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    Delivered,
    Failed,
}

impl FromStr for Delivery {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(
            s,
            "a delivery status",
            &[Self::Delivered, Self::Failed],
            |d| match d {
                Delivery::Delivered => "delivered",
                Delivery::Failed => "failed",
            },
        )
    }
}

/// One row of a gateway's delivery report, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The file's line, for messages.
    pub line: u64,
    /// The outreach row's number (`parse_outreach_id`).
    pub outreach: i64,
    pub status: Delivery,
    /// When the gateway delivered it (the time of the advice); the report's reading time when
    /// the file leaves it out.
    pub at: Option<DateTime<Utc>>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutreachExport {
    pub incident: String,
    pub channel: Channel,
    /// The incident's title (an e-mail's subject) and advisory (the message).
    pub subject: String,
    pub message: String,
    pub contacts: Vec<OutreachContact>,
    pub skipped_closed: i64,
    pub skipped_no_address: i64,
}

/// What a delivery report changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryOutcome {
    /// Rows that marked their account advised now.
    pub advised: i64,
    /// Delivered rows whose account had been advised before (by this report or otherwise).
    pub already_advised: i64,
    /// Rows the gateway could not deliver: the account stays on the next list.
    pub failed: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::detail::CategoryState;
    use crate::domain::{Category, DeviceState};

    fn at(h: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2009, 10, 5)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .expect("time")
            .and_utc()
    }

    fn account(id: i64) -> AccountSummary {
        AccountSummary {
            id,
            account_no: format!("3100000{id:02}"),
            msisdn: "+12065550123".into(),
            name: "Ann".into(),
            email: "ann@example.com".into(),
            account_status: AccountStatus::Active,
            status: CategoryStatus::AtRisk,
        }
    }

    fn detail(statuses: &[(&str, CategoryStatus)]) -> AccountDetail {
        AccountDetail {
            summary: account(1),
            device_model: String::new(),
            created_at: at(0),
            plans: vec![],
            categories: statuses
                .iter()
                .map(|(incident, status)| CategoryState {
                    incident: incident.to_string(),
                    category: Category::Contacts,
                    status: *status,
                    server_lost: true,
                    device_state: DeviceState::HoldsCopy,
                    items_before: 10,
                    items_live: 0,
                    items_backup: None,
                })
                .collect(),
            backups: vec![],
            credits: vec![],
            requests: vec![],
            notes: vec![],
            timeline: vec![],
            incidents: vec![],
            advice: vec![],
            callbacks: vec![],
            masked: false,
        }
    }

    fn advised(incident: &str) -> Advice {
        Advice {
            incident: incident.into(),
            agent: "alice".into(),
            channel: Channel::Call,
            advised_at: at(10),
            outreach_id: None,
        }
    }

    #[test]
    fn advice_needs_an_at_risk_category_and_a_second_time_is_a_replay() {
        let d = detail(&[("i1", CategoryStatus::AtRisk)]);
        assert_eq!(
            decide_advice(&d, &[], None),
            Ok(AdviceDecision::Record {
                incident: "i1".into()
            })
        );
        assert_eq!(
            decide_advice(&d, &[advised("i1")], None),
            Ok(AdviceDecision::Already(advised("i1")))
        );
        let safe = detail(&[("i1", CategoryStatus::Restorable)]);
        let err = decide_advice(&safe, &[], None).expect_err("not at risk");
        assert!(
            err.to_string()
                .starts_with("account 310000001 is not at risk")
        );
        assert!(!err.is_bad_input());
        // Advised while at risk, restored since: still a replay, not a refusal.
        assert!(matches!(
            decide_advice(&safe, &[advised("i1")], Some("i1")),
            Ok(AdviceDecision::Already(_))
        ));
        assert!(matches!(
            decide_advice(&safe, &[], Some("i1")),
            Err(ContactRefusal::NotAtRiskIn { .. })
        ));
    }

    #[test]
    fn two_incidents_at_risk_need_the_incident_named() {
        let d = detail(&[
            ("i1", CategoryStatus::AtRisk),
            ("i2", CategoryStatus::AtRisk),
        ]);
        let err = decide_advice(&d, &[], None).expect_err("which");
        assert!(err.is_bad_input());
        assert!(err.to_string().contains("(i1, i2)"), "{err}");
        // One of the two advised already: the other is meant.
        assert_eq!(
            decide_advice(&d, &[advised("i1")], None),
            Ok(AdviceDecision::Record {
                incident: "i2".into()
            })
        );
    }

    #[test]
    fn callbacks_are_from_now_to_ninety_days_and_close_once() {
        let now = at(10);
        assert!(check_callback(at(9), "", now).is_err());
        assert_eq!(
            check_callback(now - TimeDelta::seconds(30), " hi\u{1b}[2J ", now),
            Ok("hi".to_string())
        );
        assert!(matches!(
            check_callback(now + TimeDelta::days(91), "", now),
            Err(ContactRefusal::TooFarAhead { .. })
        ));
        let mut cb = Callback {
            id: 4,
            account_id: 1,
            account_no: "310000001".into(),
            agent: "alice".into(),
            due_at: at(11),
            note: String::new(),
            state: CallbackState::Pending,
            created_at: now,
            closed_by: None,
            closed_at: None,
        };
        assert_eq!(decide_close(&cb, CallbackState::Done), Ok(true));
        cb.state = CallbackState::Done;
        cb.closed_by = Some("bob".into());
        assert_eq!(decide_close(&cb, CallbackState::Done), Ok(false));
        assert_eq!(
            decide_close(&cb, CallbackState::Cancelled)
                .expect_err("done")
                .to_string(),
            "callback 4 was already done by bob"
        );
    }

    #[test]
    fn the_worklist_puts_due_callbacks_then_unadvised_then_status_each_once() {
        let list = order_worklist(
            vec![(account(5), at(9))],
            vec![account(2), account(5)],
            vec![account(1), account(2), account(3), account(5), account(4)],
            4,
        );
        let ids: Vec<i64> = list.iter().map(|e| e.account.id).collect();
        assert_eq!(ids, vec![5, 2, 1, 3]);
        assert_eq!(
            list[0].reason,
            WorklistReason::CallbackDue { due_at: at(9) }
        );
        assert_eq!(list[1].reason, WorklistReason::NotAdvised);
        assert_eq!(list[2].reason, WorklistReason::Status);
    }

    #[test]
    fn outreach_skips_closed_accounts_and_unusable_addresses() {
        use AccountStatus::{Active, Closed};
        assert_eq!(
            outreach_address(Channel::Sms, Active, "+12065550123", ""),
            Ok("+12065550123".into())
        );
        assert_eq!(
            outreach_address(Channel::Sms, Closed, "+12065550123", ""),
            Err(OutreachSkip::Closed)
        );
        assert_eq!(
            outreach_address(Channel::Sms, Active, "2065550123", ""),
            Err(OutreachSkip::NoAddress)
        );
        assert_eq!(
            outreach_address(Channel::Email, Active, "", " ann@example.com "),
            Ok("ann@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@x",
            "a n@x.com",
            "a@b@c.com",
        ] {
            assert_eq!(
                outreach_address(Channel::Email, Active, "", bad),
                Err(OutreachSkip::NoAddress),
                "{bad}"
            );
        }
        assert_eq!(parse_outreach_id(&outreach_id(42)), Some(42));
        assert_eq!(parse_outreach_id("42"), None);
        assert_eq!(parse_outreach_id("out-0"), None);
    }
}
