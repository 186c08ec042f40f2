//! `outreach delivered`: a gateway's delivery report, a CSV with a header and the columns
//! `outreach_id`, `status` (delivered or failed) and optionally `time` (when it was delivered:
//! RFC 3339, `YYYY-MM-DD HH:MM[:SS]` in UTC, or a date).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{Problems, Records};
use crate::domain::contact::{DeliveryRow, parse_outreach_id};
use crate::domain::{self, Delivery};
use crate::error::Result;

/// Every row of the report, checked; any bad row refuses the whole file naming its line.
/// `now` bounds the times: a delivery a day or more in the future is a mistake.
pub fn parse_delivery(source: &str, data: &[u8], now: DateTime<Utc>) -> Result<Vec<DeliveryRow>> {
    let (h, mut rows) = Records::open(source, data)?;
    h.require(source, &["outreach_id", "status"])?;
    let time_col = ["time", "delivered_at", "timestamp"]
        .into_iter()
        .find(|c| h.has(c));
    let mut problems = Problems::new(source);
    let mut out = Vec::new();
    while let Some((line, rec)) = rows.next()? {
        let id = h.get(rec, "outreach_id");
        let Some(outreach) = parse_outreach_id(id) else {
            problems.add(
                line,
                format!(
                    "outreach_id \"{}\" is not an id an export wrote (such as out-17)",
                    domain::sanitize(id)
                ),
            );
            continue;
        };
        let status = match h
            .get(rec, "status")
            .to_ascii_lowercase()
            .parse::<Delivery>()
        {
            Ok(s) => s,
            Err(e) => {
                problems.add(line, e);
                continue;
            }
        };
        let at = match time_col.map(|c| h.get(rec, c)).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match parse_delivery_time(t) {
                Some(at) if at <= now + chrono::TimeDelta::days(1) => Some(at),
                Some(_) => {
                    problems.add(
                        line,
                        format!("the time \"{}\" is in the future", domain::sanitize(t)),
                    );
                    continue;
                }
                None => {
                    problems.add(
                        line,
                        format!(
                            "the time \"{}\" is not a time (use 2009-10-05T17:32:00Z or 2009-10-05 17:32:00)",
                            domain::sanitize(t)
                        ),
                    );
                    continue;
                }
            },
        };
        out.push(DeliveryRow {
            line,
            outreach,
            status,
            at,
        });
    }
    problems.finish_as("nothing was recorded")?;
    Ok(out)
}

fn parse_delivery_time(t: &str) -> Option<DateTime<Utc>> {
    super::parse_time(t).or_else(|| {
        ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
            .into_iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t.trim(), f).ok())
            .map(|n| n.and_utc())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2009-10-06T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_report_reads_with_or_without_times() {
        let data = "\u{feff}outreach_id,status,time\r\nout-1,delivered,2009-10-05 17:32:00\r\nout-2,FAILED,\r\n";
        let rows = parse_delivery("d.csv", data.as_bytes(), now()).expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].outreach, 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].status, Delivery::Delivered);
        assert_eq!(
            rows[0].at.map(|t| t.to_rfc3339()),
            Some("2009-10-05T17:32:00+00:00".to_string())
        );
        assert_eq!(rows[1].status, Delivery::Failed);
        assert_eq!(rows[1].at, None);
    }

    #[test]
    fn bad_rows_are_named_by_line_and_nothing_is_kept() {
        let data = "outreach_id,status,time\nout-1,delivered,\n17,delivered,\nout-3,bounced,\nout-4,delivered,2030-01-01\n";
        let err = parse_delivery("d.csv", data.as_bytes(), now())
            .expect_err("bad rows")
            .to_string();
        assert!(
            err.starts_with("d.csv has 3 bad row(s); nothing was recorded"),
            "{err}"
        );
        assert!(err.contains("d.csv line 3: outreach_id \"17\""), "{err}");
        assert!(err.contains("d.csv line 4:"), "{err}");
        assert!(
            err.contains("d.csv line 5: the time \"2030-01-01\" is in the future"),
            "{err}"
        );
        let err = parse_delivery("d.csv", b"id,status\nout-1,delivered\n", now())
            .expect_err("header")
            .to_string();
        assert_eq!(err, "d.csv: the header lacks the column(s) outreach_id");
    }
}
