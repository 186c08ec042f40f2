//! An incident: what was lost when, what agents read out, and its credit policy. Incidents are
//! data (an operator's TOML file, `incident create`), never built into the binary; this module
//! holds the rules every incident must meet, which one a command means when it names none, and
//! what an edit may change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::category::Category;
use super::text::sanitize;

/// The longest incident id.
pub const MAX_ID_CHARS: usize = 64;
/// The most months of data plan an incident may credit.
pub const MAX_CREDIT_MONTHS: i64 = 12;
/// The largest appreciation amount (cents).
pub const MAX_APPRECIATION_CENTS: i64 = 100_000_000;
/// The longest title and advisory.
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_ADVISORY_CHARS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub snapshot_as_of: DateTime<Utc>,
    pub categories: Vec<Category>,
    pub advisory: String,
    pub credit_months: i64,
    pub appreciation_cents: i64,
    pub currency: String,
}

/// Why an incident, or a change to one, is not accepted; or why a command cannot tell which
/// incident it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentRefusal {
    #[error(
        "the incident id \"{0}\" is not valid: use 1 to {MAX_ID_CHARS} lowercase letters, digits and dashes (such as outage-2009-10)"
    )]
    BadId(String),
    #[error("the incident's {0} is empty")]
    Empty(&'static str),
    #[error("the incident's {field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("the incident ends ({end}) before it starts ({start})")]
    EndsBeforeStart {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    #[error(
        "the snapshot ({snapshot}) is later than the incident's start ({start}); restores come from data taken before the loss"
    )]
    SnapshotAfterStart {
        snapshot: DateTime<Utc>,
        start: DateTime<Utc>,
    },
    #[error("the incident names no category")]
    NoCategories,
    #[error("the incident names {0} twice")]
    DuplicateCategory(Category),
    #[error("the credit's months must be between 1 and {MAX_CREDIT_MONTHS}, not {0}")]
    CreditMonths(i64),
    #[error(
        "the appreciation amount must be between 0 and {MAX_APPRECIATION_CENTS} cents, not {0}"
    )]
    Appreciation(i64),
    #[error("the currency must be a three-letter code such as USD, not \"{0}\"")]
    Currency(String),
    #[error(
        "incident {0} already exists with a different definition; change it with `caredesk incident edit {0}`"
    )]
    Exists(String),
    #[error("the credit policy of incident {id} is frozen: {credits} credit(s) exist against it")]
    PolicyFrozen { id: String, credits: i64 },
    #[error(
        "nothing to change: give at least one of --title, --advisory, --end, --credit-months, --appreciation-cents"
    )]
    NothingToChange,
    #[error("there is no incident \"{id}\" ({})", known_list(.known))]
    Unknown { id: String, known: Vec<String> },
    #[error(
        "this database has no incident yet; describe one in a file and run `caredesk incident create FILE`"
    )]
    NoIncident,
    #[error("this database holds several {} ({}); choose one with --incident", if *.open { "open incidents" } else { "incidents, none of them open" }, .ids.join(", "))]
    Several { ids: Vec<String>, open: bool },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "this database has none yet; create it with `caredesk incident create FILE`".to_string()
    } else {
        format!("known: {}", known.join(", "))
    }
}

impl IncidentRefusal {
    /// Mistakes in what was asked (exit 2); the rest are refusals by a rule (exit 3).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::Exists(_) | Self::PolicyFrozen { .. })
    }
}

impl Incident {
    /// Open: started, and not ended or ending later than `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.started_at <= now && self.ended_at.is_none_or(|end| end > now)
    }

    /// Every rule an incident's definition must meet; the first one broken.
    pub fn check(&self) -> Result<(), IncidentRefusal> {
        check_id(&self.id)?;
        check_text("title", &self.title, MAX_TITLE_CHARS)?;
        check_text("advisory", &self.advisory, MAX_ADVISORY_CHARS)?;
        if let Some(end) = self.ended_at
            && end < self.started_at
        {
            return Err(IncidentRefusal::EndsBeforeStart {
                start: self.started_at,
                end,
            });
        }
        if self.snapshot_as_of > self.started_at {
            return Err(IncidentRefusal::SnapshotAfterStart {
                snapshot: self.snapshot_as_of,
                start: self.started_at,
            });
        }
        if self.categories.is_empty() {
            return Err(IncidentRefusal::NoCategories);
        }
        for (i, c) in self.categories.iter().enumerate() {
            if self.categories[..i].contains(c) {
                return Err(IncidentRefusal::DuplicateCategory(*c));
            }
        }
        if !(1..=MAX_CREDIT_MONTHS).contains(&self.credit_months) {
            return Err(IncidentRefusal::CreditMonths(self.credit_months));
        }
        if !(0..=MAX_APPRECIATION_CENTS).contains(&self.appreciation_cents) {
            return Err(IncidentRefusal::Appreciation(self.appreciation_cents));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(IncidentRefusal::Currency(
                sanitize(&self.currency).into_owned(),
            ));
        }
        Ok(())
    }

    /// Whether two definitions credit differently (what is frozen once a credit exists). The
    /// start is part of it: the incident credit uses the plan in force at the start.
    pub fn same_credit_policy(&self, other: &Incident) -> bool {
        self.started_at == other.started_at
            && self.credit_months == other.credit_months
            && self.appreciation_cents == other.appreciation_cents
            && self.currency == other.currency
    }
}

pub fn check_id(id: &str) -> Result<(), IncidentRefusal> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(IncidentRefusal::BadId(sanitize(id).into_owned()))
    }
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), IncidentRefusal> {
    if text.trim().is_empty() {
        return Err(IncidentRefusal::Empty(field));
    }
    if text.chars().count() > max {
        return Err(IncidentRefusal::TooLong { field, max });
    }
    Ok(())
}

/// The incident a command means: the one it names, else the database's only incident, else
/// its only open one; with none or several it is refused, naming them.
pub fn choose<'a>(
    incidents: &'a [Incident],
    named: Option<&str>,
    now: DateTime<Utc>,
) -> Result<&'a Incident, IncidentRefusal> {
    if let Some(id) = named {
        return incidents
            .iter()
            .find(|i| i.id == id)
            .ok_or_else(|| IncidentRefusal::Unknown {
                id: sanitize(id).into_owned(),
                known: incidents.iter().map(|i| i.id.clone()).collect(),
            });
    }
    match incidents {
        [] => Err(IncidentRefusal::NoIncident),
        [only] => Ok(only),
        _ => {
            let open: Vec<&Incident> = incidents.iter().filter(|i| i.is_open(now)).collect();
            match open.as_slice() {
                [only] => Ok(only),
                [] => Err(IncidentRefusal::Several {
                    ids: incidents.iter().map(|i| i.id.clone()).collect(),
                    open: false,
                }),
                several => Err(IncidentRefusal::Several {
                    ids: several.iter().map(|i| i.id.clone()).collect(),
                    open: true,
                }),
            }
        }
    }
}

/// What `incident create` does with a definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateDecision {
    Create,
    /// The same definition is already stored: a replay that changes nothing.
    AlreadyExists,
}

pub fn decide_create(
    new: &Incident,
    existing: Option<&Incident>,
) -> Result<CreateDecision, IncidentRefusal> {
    new.check()?;
    match existing {
        None => Ok(CreateDecision::Create),
        Some(old) if old == new => Ok(CreateDecision::AlreadyExists),
        Some(_) => Err(IncidentRefusal::Exists(new.id.clone())),
    }
}

/// What `incident edit` may change: the title, the advisory and the end at any time; the
/// credit policy until the first credit against the incident exists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentEdit {
    pub title: Option<String>,
    pub advisory: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub credit_months: Option<i64>,
    pub appreciation_cents: Option<i64>,
}

impl IncidentEdit {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The incident after the edit, with the names of the fields it changed; no field changed is
/// a replay (`Ok(None)`).
pub fn decide_edit(
    current: &Incident,
    edit: &IncidentEdit,
    credits: i64,
) -> Result<Option<(Incident, Vec<&'static str>)>, IncidentRefusal> {
    if edit.is_empty() {
        return Err(IncidentRefusal::NothingToChange);
    }
    let mut next = current.clone();
    if let Some(t) = &edit.title {
        next.title = t.trim().to_string();
    }
    if let Some(a) = &edit.advisory {
        next.advisory = a.trim().to_string();
    }
    if let Some(end) = edit.ended_at {
        next.ended_at = Some(end);
    }
    if let Some(m) = edit.credit_months {
        next.credit_months = m;
    }
    if let Some(c) = edit.appreciation_cents {
        next.appreciation_cents = c;
    }
    next.check()?;
    if credits > 0 && !next.same_credit_policy(current) {
        return Err(IncidentRefusal::PolicyFrozen {
            id: current.id.clone(),
            credits,
        });
    }
    let mut changed = Vec::new();
    if next.title != current.title {
        changed.push("title");
    }
    if next.advisory != current.advisory {
        changed.push("advisory");
    }
    if next.ended_at != current.ended_at {
        changed.push("end");
    }
    if next.credit_months != current.credit_months {
        changed.push("credit months");
    }
    if next.appreciation_cents != current.appreciation_cents {
        changed.push("appreciation amount");
    }
    Ok((!changed.is_empty()).then_some((next, changed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 3, d, 0, 0, 0).unwrap()
    }

    fn outage(id: &str, end: Option<u32>) -> Incident {
        Incident {
            id: id.to_string(),
            title: "Photo sync outage".to_string(),
            started_at: t(2),
            ended_at: end.map(t),
            snapshot_as_of: t(1),
            categories: vec![Category::Photos, Category::Notes],
            advisory: "Keep the phone charged.".to_string(),
            credit_months: 1,
            appreciation_cents: 5_000,
            currency: "EUR".to_string(),
        }
    }

    #[test]
    fn a_definition_breaking_a_rule_is_refused_naming_it() {
        let ok = outage("march-2030", Some(9));
        assert_eq!(ok.check(), Ok(()));
        let broken = |f: fn(&mut Incident)| {
            let mut i = ok.clone();
            f(&mut i);
            i.check().unwrap_err()
        };
        assert!(matches!(
            broken(|i| i.id = "March 2030".into()),
            IncidentRefusal::BadId(_)
        ));
        assert!(matches!(
            broken(|i| i.id = "-x".into()),
            IncidentRefusal::BadId(_)
        ));
        assert_eq!(
            broken(|i| i.title = "  ".into()),
            IncidentRefusal::Empty("title")
        );
        assert!(matches!(
            broken(|i| i.ended_at = Some(t(1))),
            IncidentRefusal::EndsBeforeStart { .. }
        ));
        assert!(matches!(
            broken(|i| i.snapshot_as_of = t(3)),
            IncidentRefusal::SnapshotAfterStart { .. }
        ));
        assert_eq!(
            broken(|i| i.categories.clear()),
            IncidentRefusal::NoCategories
        );
        assert_eq!(
            broken(|i| i.categories.push(Category::Photos)),
            IncidentRefusal::DuplicateCategory(Category::Photos)
        );
        assert_eq!(
            broken(|i| i.credit_months = 0),
            IncidentRefusal::CreditMonths(0)
        );
        assert_eq!(
            broken(|i| i.appreciation_cents = -1),
            IncidentRefusal::Appreciation(-1)
        );
        assert!(matches!(
            broken(|i| i.currency = "usd".into()),
            IncidentRefusal::Currency(_)
        ));
    }

    #[test]
    fn a_command_naming_no_incident_gets_the_only_one_or_the_only_open_one() {
        let now = t(20);
        let march = outage("march", Some(9));
        let october = outage("october", None);
        let one = [march.clone()];
        assert_eq!(choose(&one, None, now).unwrap().id, "march");
        let two = [march.clone(), october.clone()];
        assert_eq!(choose(&two, None, now).unwrap().id, "october");
        assert_eq!(choose(&two, Some("march"), now).unwrap().id, "march");
        assert!(matches!(
            choose(&two, Some("may"), now),
            Err(IncidentRefusal::Unknown { .. })
        ));
        assert_eq!(choose(&[], None, now), Err(IncidentRefusal::NoIncident));
        let both_open = [outage("a", None), outage("b", None)];
        assert_eq!(
            choose(&both_open, None, now),
            Err(IncidentRefusal::Several {
                ids: vec!["a".into(), "b".into()],
                open: true
            })
        );
        let both_closed = [outage("a", Some(9)), outage("b", Some(9))];
        let refused = choose(&both_closed, None, now).unwrap_err();
        assert!(refused.is_bad_input());
        assert!(refused.to_string().contains("a, b"), "{refused}");
    }

    #[test]
    fn creating_the_same_definition_twice_is_a_replay_and_a_different_one_is_refused() {
        let i = outage("march", None);
        assert_eq!(decide_create(&i, None), Ok(CreateDecision::Create));
        assert_eq!(
            decide_create(&i, Some(&i)),
            Ok(CreateDecision::AlreadyExists)
        );
        let mut other = i.clone();
        other.title = "Another".into();
        assert_eq!(
            decide_create(&other, Some(&i)),
            Err(IncidentRefusal::Exists("march".into()))
        );
    }

    #[test]
    fn the_credit_policy_is_frozen_once_a_credit_exists_and_the_advisory_never_is() {
        let i = outage("march", None);
        let months = IncidentEdit {
            credit_months: Some(2),
            ..Default::default()
        };
        let (changed, fields) = decide_edit(&i, &months, 0).unwrap().unwrap();
        assert_eq!((changed.credit_months, fields), (2, vec!["credit months"]));
        assert_eq!(
            decide_edit(&i, &months, 3),
            Err(IncidentRefusal::PolicyFrozen {
                id: "march".into(),
                credits: 3
            })
        );
        let advisory = IncidentEdit {
            advisory: Some("Charge it.".into()),
            ended_at: Some(t(9)),
            ..Default::default()
        };
        let (changed, fields) = decide_edit(&i, &advisory, 3).unwrap().unwrap();
        assert_eq!(changed.advisory, "Charge it.");
        assert_eq!(fields, vec!["advisory", "end"]);
        let same = IncidentEdit {
            advisory: Some(i.advisory.clone()),
            ..Default::default()
        };
        assert_eq!(decide_edit(&i, &same, 3), Ok(None));
        assert_eq!(
            decide_edit(&i, &IncidentEdit::default(), 0),
            Err(IncidentRefusal::NothingToChange)
        );
        let early_end = IncidentEdit {
            ended_at: Some(t(1)),
            ..Default::default()
        };
        assert!(matches!(
            decide_edit(&i, &early_end, 0),
            Err(IncidentRefusal::EndsBeforeStart { .. })
        ));
    }
}
