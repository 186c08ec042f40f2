//! Times as an agent types them for a callback, in their own time zone: "14:30", "2pm",
//! "tomorrow 9", "mon 10:15", "+2h", "+1h30m", "now", "2009-10-06 14:30" or an RFC 3339 time.
//! The answer is in UTC (what is stored); the zone only says what the words mean.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};

/// Why a time was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error(
        "\"{0}\" is not a time: use 14:30, 2pm, tomorrow 9, mon 10:15, +2h, +30m or 2009-10-06 14:30"
    )]
    Unreadable(String),
    #[error("{0} does not exist in this time zone (the clocks skip it)")]
    Skipped(String),
}

/// `text` as a time after `now` in `now`'s zone. A bare time of day means its next
/// occurrence (today if it is still ahead, else tomorrow); a day with a time means that time
/// on that day (today's may be past, which the callback check then refuses).
pub fn parse_when<Tz: TimeZone>(
    text: &str,
    now: &DateTime<Tz>,
) -> Result<DateTime<Utc>, WhenError> {
    let bad = || WhenError::Unreadable(super::text::sanitize(text.trim()).into_owned());
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err(bad());
    }
    if t == "now" {
        return Ok(now.with_timezone(&Utc));
    }
    if let Some(rest) = t.strip_prefix('+').or_else(|| t.strip_prefix("in ")) {
        let d = offset(rest).ok_or_else(bad)?;
        return Ok(now.with_timezone(&Utc) + d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let zone = now.timezone();
    let today = now.date_naive();
    // "2009-10-06 14:30", "2009-10-06T14:30"
    for fmt in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&t, fmt) {
            return local(&zone, n);
        }
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    let (day, time) = match words.as_slice() {
        [one] => match day_word(one, today) {
            // A day alone: nine in the morning.
            Some(d) => (
                Some(d),
                Some(NaiveTime::from_hms_opt(9, 0, 0).expect("9:00")),
            ),
            None => (None, time_of_day(one)),
        },
        [d, at] => (day_word(d, today), time_of_day(at)),
        [d, "at", at] => (day_word(d, today), time_of_day(at)),
        _ => return Err(bad()),
    };
    let time = time.ok_or_else(bad)?;
    match day {
        Some(d) => local(&zone, d.and_time(time)),
        None if words.len() == 1 => {
            let at = local(&zone, today.and_time(time))?;
            if at > now.with_timezone(&Utc) {
                Ok(at)
            } else {
                local(&zone, (today + Duration::days(1)).and_time(time))
            }
        }
        None => Err(bad()),
    }
}

fn local<Tz: TimeZone>(zone: &Tz, n: NaiveDateTime) -> Result<DateTime<Utc>, WhenError> {
    match zone.from_local_datetime(&n) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        // Clocks went back: the first of the two.
        LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        LocalResult::None => Err(WhenError::Skipped(n.format("%Y-%m-%d %H:%M").to_string())),
    }
}

/// "2h", "30m", "1h30m", "2d", "90 min".
fn offset(s: &str) -> Option<Duration> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let mut total = Duration::zero();
    let mut rest = s.as_str();
    let mut any = false;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit())?;
        if n_end == 0 {
            return None;
        }
        let n: i64 = rest[..n_end].parse().ok().filter(|n| *n <= 100_000)?;
        let unit_end = rest[n_end..]
            .find(|c: char| c.is_ascii_digit())
            .map_or(rest.len(), |i| n_end + i);
        let unit = &rest[n_end..unit_end];
        total += match unit {
            "m" | "min" | "mins" | "minute" | "minutes" => Duration::minutes(n),
            "h" | "hr" | "hrs" | "hour" | "hours" => Duration::hours(n),
            "d" | "day" | "days" => Duration::days(n),
            _ => return None,
        };
        any = true;
        rest = &rest[unit_end..];
    }
    any.then_some(total)
}

/// "today", "tomorrow", a weekday ("mon", "monday": the next one, a week on if it is today).
fn day_word(s: &str, today: NaiveDate) -> Option<NaiveDate> {
    match s {
        "today" => return Some(today),
        "tomorrow" | "tmrw" => return Some(today + Duration::days(1)),
        _ => {}
    }
    let wd = s.parse::<Weekday>().ok()?;
    let ahead =
        (7 + wd.num_days_from_monday() as i64 - today.weekday().num_days_from_monday() as i64) % 7;
    Some(today + Duration::days(if ahead == 0 { 7 } else { ahead }))
}

/// "14:30", "9", "0930", "9am", "2:30pm", "12pm" (noon), "12am" (midnight).
fn time_of_day(s: &str) -> Option<NaiveTime> {
    let (digits, pm) = if let Some(d) = s.strip_suffix("pm") {
        (d, Some(true))
    } else if let Some(d) = s.strip_suffix("am") {
        (d, Some(false))
    } else {
        (s, None)
    };
    let (h, m) = match digits.split_once(':').or_else(|| digits.split_once('.')) {
        Some((h, m)) if m.len() == 2 => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        Some(_) => return None,
        None if digits.len() == 4 && pm.is_none() => {
            (digits[..2].parse().ok()?, digits[2..].parse().ok()?)
        }
        None if (1..=2).contains(&digits.len()) => (digits.parse().ok()?, 0),
        None => return None,
    };
    if !digits
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
    {
        return None;
    }
    let h = match pm {
        Some(pm) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            (h % 12) + if pm { 12 } else { 0 }
        }
        None => h,
    };
    NaiveTime::from_hms_opt(h, m, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Timelike};
    use proptest::prelude::*;

    fn zone() -> FixedOffset {
        FixedOffset::west_opt(7 * 3600).expect("PDT")
    }

    fn now() -> DateTime<FixedOffset> {
        // Monday 2009-10-05 10:32 PDT.
        zone()
            .with_ymd_and_hms(2009, 10, 5, 10, 32, 0)
            .single()
            .expect("time")
    }

    fn local_of(t: DateTime<Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&zone())
    }

    #[test]
    fn what_agents_type_reads_as_they_mean_it() {
        let n = now();
        let cases = [
            ("14:30", (5, 14, 30)),
            ("2pm", (5, 14, 0)),
            ("2:30PM", (5, 14, 30)),
            ("9", (6, 9, 0)),
            ("09:00", (6, 9, 0)),
            ("tomorrow 9", (6, 9, 0)),
            ("Tomorrow at 9:15", (6, 9, 15)),
            ("tomorrow", (6, 9, 0)),
            ("today 17", (5, 17, 0)),
            ("wed 10:15", (7, 10, 15)),
            ("monday 8", (12, 8, 0)),
            ("12am", (6, 0, 0)),
            ("12pm", (5, 12, 0)),
            ("1630", (5, 16, 30)),
            ("2009-10-09 16:00", (9, 16, 0)),
        ];
        for (text, (day, h, m)) in cases {
            let t = local_of(parse_when(text, &n).unwrap_or_else(|e| panic!("{text}: {e}")));
            assert_eq!((t.day(), t.hour(), t.minute()), (day, h, m), "{text}");
        }
        assert_eq!(
            parse_when("+2h", &n).expect("+2h"),
            n.with_timezone(&Utc) + Duration::hours(2)
        );
        assert_eq!(
            parse_when("+1h30m", &n).expect("+1h30m"),
            n.with_timezone(&Utc) + Duration::minutes(90)
        );
        assert_eq!(
            parse_when("in 45 min", &n).expect("in"),
            n.with_timezone(&Utc) + Duration::minutes(45)
        );
        assert_eq!(
            parse_when("2009-10-05T20:00:00Z", &n).expect("rfc3339"),
            Utc.with_ymd_and_hms(2009, 10, 5, 20, 0, 0)
                .single()
                .expect("t")
        );
    }

    #[test]
    fn what_is_not_a_time_is_refused_with_the_forms_that_are() {
        for text in [
            "",
            "soon",
            "25:00",
            "14:3",
            "+2",
            "+h",
            "13pm",
            "tomorrow soon",
            "+2y",
            "9 9 9",
        ] {
            let err = parse_when(text, &now()).expect_err(text);
            assert!(err.to_string().contains("use 14:30, 2pm"), "{text}: {err}");
        }
    }

    proptest! {
        /// A bare time of day is its next occurrence: within the coming day, at that time.
        #[test]
        fn a_time_of_day_is_its_next_occurrence(h in 0u32..24, m in 0u32..60, secs in 0i64..(365 * 86_400)) {
            let base = now() + Duration::seconds(secs);
            let t = parse_when(&format!("{h:02}:{m:02}"), &base).expect("time");
            let shown = local_of(t);
            prop_assert_eq!((shown.hour(), shown.minute()), (h, m));
            prop_assert!(t > base.with_timezone(&Utc));
            prop_assert!(t <= base.with_timezone(&Utc) + Duration::days(1));
        }

        /// "+N" units add exactly that much.
        #[test]
        fn an_offset_adds_exactly_that(h in 0i64..200, m in 0i64..600) {
            let n = now();
            let t = parse_when(&format!("+{h}h{m}m"), &n).expect("offset");
            prop_assert_eq!(t, n.with_timezone(&Utc) + Duration::hours(h) + Duration::minutes(m));
        }

        /// "tomorrow H" is the next calendar day at H, whatever the hour now.
        #[test]
        fn tomorrow_is_the_next_day(h in 0u32..24, secs in 0i64..(365 * 86_400)) {
            let base = now() + Duration::seconds(secs);
            let t = local_of(parse_when(&format!("tomorrow {h}"), &base).expect("tomorrow"));
            prop_assert_eq!(t.date_naive(), base.date_naive() + Duration::days(1));
            prop_assert_eq!(t.hour(), h);
        }
    }
}
