//! The incident file (docs/incidents.md): TOML, read into an [`Incident`] that meets the
//! domain's rules. Every problem is reported as `FILE line N: …`, from the TOML parser's own
//! position or from the line of the field the domain refused.

use std::ops::Range;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::domain::{Category, Incident, IncidentRefusal};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    id: Spanned<String>,
    title: Spanned<String>,
    start: Spanned<Time>,
    end: Option<Spanned<Time>>,
    snapshot_as_of: Spanned<Time>,
    categories: Spanned<Vec<Spanned<String>>>,
    advisory: Spanned<String>,
    credit: Spanned<Credit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credit {
    months: Spanned<i64>,
    appreciation_cents: Spanned<i64>,
    currency: Spanned<String>,
}

/// A TOML date-time or date, or the same written as a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Time {
    Toml(toml::value::Datetime),
    Text(String),
}

/// Reads an incident file's text; `source` names the file in messages.
pub fn parse_incident(source: &str, text: &str) -> Result<Incident> {
    let at = |span: Range<usize>, msg: String| {
        Error::invalid(format!(
            "{source} line {}: {msg}",
            line_of(text, span.start)
        ))
    };
    let file: File = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim_end().replace('\n', " ");
        match e.span() {
            Some(span) => at(span, msg),
            None => Error::invalid(format!("{source}: {msg}")),
        }
    })?;
    let time = |name: &str, t: &Spanned<Time>| {
        to_utc(t.get_ref()).map_err(|m| at(t.span(), format!("{name} {m}")))
    };
    let mut categories = Vec::new();
    for c in file.categories.get_ref() {
        categories.push(
            c.get_ref()
                .parse::<Category>()
                .map_err(|e| at(c.span(), format!("categories: {e}")))?,
        );
    }
    let credit = file.credit.get_ref();
    let inc = Incident {
        id: file.id.get_ref().trim().to_string(),
        title: file.title.get_ref().trim().to_string(),
        started_at: time("start", &file.start)?,
        ended_at: file.end.as_ref().map(|e| time("end", e)).transpose()?,
        snapshot_as_of: time("snapshot_as_of", &file.snapshot_as_of)?,
        categories,
        advisory: file.advisory.get_ref().trim().to_string(),
        credit_months: *credit.months.get_ref(),
        appreciation_cents: *credit.appreciation_cents.get_ref(),
        currency: credit.currency.get_ref().trim().to_string(),
    };
    inc.check().map_err(|refusal| {
        let span = match &refusal {
            IncidentRefusal::BadId(_) => file.id.span(),
            IncidentRefusal::Empty("title") | IncidentRefusal::TooLong { field: "title", .. } => {
                file.title.span()
            }
            IncidentRefusal::Empty(_) | IncidentRefusal::TooLong { .. } => file.advisory.span(),
            IncidentRefusal::EndsBeforeStart { .. } => {
                file.end.as_ref().map_or(file.start.span(), |e| e.span())
            }
            IncidentRefusal::SnapshotAfterStart { .. } => file.snapshot_as_of.span(),
            IncidentRefusal::NoCategories | IncidentRefusal::DuplicateCategory(_) => {
                file.categories.span()
            }
            IncidentRefusal::CreditMonths(_) => credit.months.span(),
            IncidentRefusal::Appreciation(_) => credit.appreciation_cents.span(),
            IncidentRefusal::Currency(_) => credit.currency.span(),
            _ => 0..0,
        };
        at(span, refusal.to_string())
    })?;
    Ok(inc)
}

/// The 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A time with its UTC offset, or a date (midnight UTC). A local time without an offset is
/// refused: an incident spans time zones.
fn to_utc(t: &Time) -> std::result::Result<DateTime<Utc>, String> {
    let text = match t {
        Time::Toml(d) => d.to_string(),
        Time::Text(s) => s.trim().to_string(),
    };
    super::parse_time(&text.replacen(' ', "T", 1)).ok_or_else(|| format!(
        "\"{}\" is not a time with its UTC offset (such as 2009-10-02T01:30:00-07:00) or a date (2009-10-01)",
        crate::domain::sanitize(&text)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MARCH: &str = r#"# A smaller outage
id = "photos-2030-03"
title = "Photo sync outage"
start = 2030-03-02T09:00:00+01:00
end = "2030-03-04T18:00:00Z"
snapshot_as_of = 2030-03-01
categories = ["photos", "Notes"]
advisory = """
Keep the phone charged and switched on.
"""

[credit]
months = 1
appreciation_cents = 5000
currency = "EUR"
"#;

    #[test]
    fn a_file_reads_into_an_incident_in_utc() {
        let i = parse_incident("march.toml", MARCH).unwrap();
        assert_eq!(i.id, "photos-2030-03");
        assert_eq!(i.started_at.to_rfc3339(), "2030-03-02T08:00:00+00:00");
        assert_eq!(
            i.ended_at.unwrap().to_rfc3339(),
            "2030-03-04T18:00:00+00:00"
        );
        assert_eq!(i.snapshot_as_of.to_rfc3339(), "2030-03-01T00:00:00+00:00");
        assert_eq!(i.categories, vec![Category::Photos, Category::Notes]);
        assert_eq!(i.advisory, "Keep the phone charged and switched on.");
        assert_eq!((i.credit_months, i.appreciation_cents), (1, 5000));
        assert_eq!(i.currency, "EUR");
    }

    #[test]
    fn the_demo_incident_file_is_valid() {
        let text = include_str!("../../assets/incidents/danger-2009-10.toml");
        let i = parse_incident("danger-2009-10.toml", text).unwrap();
        assert_eq!(i.id, "danger-2009-10");
        assert_eq!(i.categories.len(), 6);
    }

    fn error(text: &str) -> String {
        parse_incident("f.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn problems_name_the_file_and_the_line() {
        let e = error(&MARCH.replace("months = 1", "months = \"one\""));
        assert!(e.starts_with("f.toml line 13: "), "{e}");
        let e = error(&MARCH.replace("months = 1", "months = 0"));
        assert!(
            e.starts_with("f.toml line 13: ") && e.contains("months"),
            "{e}"
        );
        let e = error(&MARCH.replace("\"Notes\"", "\"music\""));
        assert!(
            e.starts_with("f.toml line 7: ") && e.contains("music"),
            "{e}"
        );
        let e = error(&MARCH.replace(
            "start = 2030-03-02T09:00:00+01:00",
            "start = 2030-03-02T09:00:00",
        ));
        assert!(
            e.starts_with("f.toml line 4: ") && e.contains("offset"),
            "{e}"
        );
        let e = error(&MARCH.replace(
            "end = \"2030-03-04T18:00:00Z\"",
            "end = 2030-03-01T00:00:00Z",
        ));
        assert!(
            e.starts_with("f.toml line 5: ") && e.contains("before it starts"),
            "{e}"
        );
        let e = error(&MARCH.replace("title =", "titel ="));
        assert!(
            e.starts_with("f.toml line 3: ") && e.contains("titel"),
            "{e}"
        );
        let e = error(&MARCH.replace("currency = \"EUR\"\n", ""));
        assert!(e.contains("currency"), "{e}");
        let e = error("id = \"x\"\nid = \"y\"\n");
        assert!(e.starts_with("f.toml line 2: "), "{e}");
    }

    proptest! {
        /// Whatever the file holds, reading it either yields an incident that meets every rule
        /// or names the file; it never panics.
        #[test]
        fn any_text_yields_a_valid_incident_or_a_sentence_naming_the_file(text in "\\PC{0,400}") {
            match parse_incident("f.toml", &text) {
                Ok(i) => prop_assert_eq!(i.check(), Ok(())),
                Err(e) => prop_assert!(e.to_string().starts_with("f.toml")),
            }
        }

        /// A valid file with one line changed still yields a valid incident or a line number
        /// inside the file.
        #[test]
        fn a_changed_line_is_located(line in 0usize..15, junk in "[a-z0-9 =\"\\[\\]-]{0,20}") {
            let mut lines: Vec<&str> = MARCH.lines().collect();
            let n = lines.len();
            lines[line % n] = &junk;
            let text = lines.join("\n");
            match parse_incident("f.toml", &text) {
                Ok(i) => prop_assert_eq!(i.check(), Ok(())),
                Err(e) => {
                    let e = e.to_string();
                    let at: Option<usize> = e
                        .strip_prefix("f.toml line ")
                        .and_then(|r| r.split(':').next())
                        .and_then(|n| n.parse().ok());
                    prop_assert!(at.is_some_and(|l| l >= 1 && l <= n + 1), "{}", e);
                }
            }
        }
    }
}
