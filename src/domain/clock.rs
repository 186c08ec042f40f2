//! Time as the domain sees it: a clock to inject, the real one, and a settable one for tests.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// The source of "now" for everything that stamps a record.
///
/// Passed in rather than read globally so tests can pin time and so that every part of one
/// operation can share a single instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// Drops sub-microsecond precision.
///
/// `PostgreSQL`'s `timestamptz` keeps microseconds; a value with nanoseconds would come back
/// different from what was written, which breaks equality checks and the audit hash chain.
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The operating system's clock, truncated to whole microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_micros(Utc::now())
    }
}

/// A clock that says whatever it was last told, for tests and reproducible demos.
///
/// Shared behind `&` or `Arc` like any clock, so it uses interior mutability. Times are
/// truncated to microseconds like [`SystemClock`]'s, so code under test sees the same kind of
/// values it will see in production.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    pub fn new(t: DateTime<Utc>) -> Self {
        FixedClock {
            now: Mutex::new(truncate_micros(t)),
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.lock() = truncate_micros(t);
    }

    /// Moves the clock by `d` (backwards when negative). Stops at chrono's earliest or latest
    /// representable time instead of panicking, since a test clock is no reason to abort.
    pub fn advance(&self, d: TimeDelta) {
        let mut now = self.lock();
        let limit = if d < TimeDelta::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        };
        *now = truncate_micros(now.checked_add_signed(d).unwrap_or(limit));
    }

    /// A panic in another test thread while holding the lock leaves a perfectly good
    /// timestamp behind, so poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};

    fn outage_start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2009, 10, 2, 8, 30, 0)
            .single()
            .expect("a valid date")
    }

    #[test]
    fn truncation_keeps_microseconds_and_drops_nanoseconds() {
        let t = outage_start()
            .with_nanosecond(123_456_789)
            .expect("valid nanoseconds");
        assert_eq!(truncate_micros(t).nanosecond(), 123_456_000);
        assert_eq!(truncate_micros(truncate_micros(t)), truncate_micros(t));
    }

    #[test]
    fn the_system_clock_never_reports_sub_microsecond_precision() {
        for _ in 0..100 {
            assert_eq!(SystemClock.now().nanosecond() % 1000, 0);
        }
    }

    #[test]
    fn a_fixed_clock_reports_what_it_was_given_until_moved() {
        let clock = FixedClock::new(outage_start());
        assert_eq!(clock.now(), outage_start());
        assert_eq!(clock.now(), outage_start());
        clock.advance(TimeDelta::minutes(90));
        assert_eq!(clock.now(), outage_start() + TimeDelta::minutes(90));
        clock.set(outage_start());
        assert_eq!(clock.now(), outage_start());
    }

    #[test]
    fn a_fixed_clock_truncates_like_the_system_clock() {
        let t = outage_start()
            .with_nanosecond(999)
            .expect("valid nanoseconds");
        assert_eq!(FixedClock::new(t).now(), outage_start());
    }

    #[test]
    fn advancing_past_the_end_of_time_stops_there_instead_of_panicking() {
        let clock = FixedClock::new(outage_start());
        clock.advance(TimeDelta::MAX);
        assert_eq!(clock.now(), truncate_micros(DateTime::<Utc>::MAX_UTC));
        clock.advance(TimeDelta::MIN);
        clock.advance(TimeDelta::MIN);
        assert_eq!(clock.now(), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn a_shared_clock_is_still_a_clock() {
        fn stamp(c: &impl Clock) -> DateTime<Utc> {
            c.now()
        }
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(outage_start()));
        assert_eq!(stamp(&clock), outage_start());
    }
}
