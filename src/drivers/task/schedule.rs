//! A task's `schedule`: when its runs are due, in the host's local time.
//!
//! - a standard 5-field cron pattern (`0 3 * * *`), read as Vixie cron
//!   reads it (a day-of-month and a day-of-week both set: either one
//!   matches), with names (`mon`, `jan`) and the nicknames `@hourly`,
//!   `@daily` (or `@midnight`), `@weekly`, `@monthly`, `@yearly` (or
//!   `@annually`); a wall-clock time the clock skips at a DST change
//!   runs at the first moment after it, one it repeats runs once;
//! - an interval, `@10m` (`@30s`, `@1h30m`, up to `@1d`), anchored to
//!   the clock like systemd's `OnCalendar=*:0/10`: every interval from
//!   local midnight (`@10m` at :00, :10, … of every hour; `@7m` at 00:00,
//!   00:07, … 23:55, then 00:00 again), not from whenever svcfs started;
//! - empty (or `@0`, om3's way to unschedule): on demand only.
//!
//! The cron patterns are croner's (a maintained parser that follows
//! POSIX/Vixie cron, DST gaps and overlaps included): svcfs does not
//! reimplement cron.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local, NaiveTime, TimeZone};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::config::parse_duration;

/// The longest interval of the `@` form: past a day, a cron pattern says
/// which day.
pub const MAX_INTERVAL: Duration = Duration::from_secs(86400);

/// When a task runs by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A cron pattern, as checked when the file was read. Parsed again
    /// when a slot is computed (microseconds, once a slot): a parsed
    /// pattern holds about 5 KiB (croner keeps a byte per year up to
    /// 5000), which a thousand tasks would keep for nothing.
    Cron(String),
    /// Every interval from local midnight.
    Every(Duration),
}

const FORMS: &str = "5 cron fields such as `0 3 * * *`, @hourly, @daily, @weekly, @monthly, @yearly, or an interval such as @10m";

impl Schedule {
    /// The schedule `text` says; `None` for on demand only.
    pub fn parse(text: &str) -> Result<Option<Schedule>, String> {
        let text = text.trim();
        if text.is_empty() || text == "@0" {
            return Ok(None);
        }
        if let Some(interval) = text
            .strip_prefix('@')
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        {
            let every =
                parse_duration(interval).map_err(|e| format!("invalid schedule {text:?}: {e}"))?;
            if every < Duration::from_secs(1) || every.subsec_nanos() != 0 {
                return Err(format!(
                    "invalid schedule {text:?}: an interval is whole seconds, at least @1s"
                ));
            }
            if every > MAX_INTERVAL {
                return Err(format!(
                    "invalid schedule {text:?}: an interval is at most @1d; use a cron pattern for longer ones (`0 3 * * 0` weekly)"
                ));
            }
            return Ok(Some(Schedule::Every(every)));
        }
        let pattern = match text.to_ascii_lowercase().as_str() {
            "@midnight" => "@daily".to_string(),
            "@reboot" => {
                return Err(format!(
                    "invalid schedule {text:?}: a task does not run at boot (persistent = true runs a slot missed while svcfs was down)"
                ))
            }
            _ => text.to_string(),
        };
        cron(&pattern)
            .map(|_| Some(Schedule::Cron(pattern)))
            .map_err(|e| format!("invalid schedule {text:?}: {e} (use {FORMS})"))
    }

    /// The first slot strictly after `after`, in local time; `None` when
    /// there is none (a pattern that never matches, such as `0 0 30 2 *`).
    pub fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        let local: DateTime<Local> = after.into();
        self.next_in(&local).map(SystemTime::from)
    }

    /// [`Schedule::next_after`] in any time zone (the tests' fixed ones).
    fn next_in<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        match self {
            Schedule::Cron(pattern) => cron(pattern).ok()?.find_next_occurrence(after, false).ok(),
            Schedule::Every(every) => Some(next_interval(after, *every)),
        }
    }
}

/// A standard 5-field pattern (no seconds, no year), parsed.
fn cron(pattern: &str) -> Result<Cron, croner::errors::CronError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(pattern)
}

/// The next multiple of `every` after `after`, counted from the start of
/// `after`'s local day; the next day's start when no multiple is left.
fn next_interval<Tz: TimeZone>(after: &DateTime<Tz>, every: Duration) -> DateTime<Tz> {
    let zone = after.timezone();
    let day = after.date_naive();
    let start_of = |day: chrono::NaiveDate| {
        let midnight = day.and_time(NaiveTime::MIN);
        // A day that begins in a DST gap begins at the gap's end.
        zone.from_local_datetime(&midnight).earliest().or_else(|| {
            zone.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
    };
    let (Some(start), Some(next_day)) = (start_of(day), day.succ_opt().and_then(start_of)) else {
        // Only at the ends of chrono's calendar.
        return after.clone() + chrono::Duration::from_std(every).unwrap_or_default();
    };
    let elapsed = (after.clone() - start.clone()).to_std().unwrap_or_default();
    let slots = elapsed.as_nanos() / every.as_nanos() + 1;
    let offset = chrono::Duration::from_std(every * u32::try_from(slots).unwrap_or(u32::MAX))
        .unwrap_or_default();
    let next = start + offset;
    if next >= next_day {
        next_day
    } else {
        next
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Cron(pattern) => f.write_str(pattern),
            Schedule::Every(every) => {
                let secs = every.as_secs();
                match secs {
                    s if s % 86400 == 0 => write!(f, "@{}d", s / 86400),
                    s if s % 3600 == 0 => write!(f, "@{}h", s / 3600),
                    s if s % 60 == 0 => write!(f, "@{}m", s / 60),
                    s => write!(f, "@{s}s"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn next(schedule: &str, after: &str) -> String {
        Schedule::parse(schedule)
            .unwrap()
            .unwrap()
            .next_in(&at(after))
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn intervals_are_anchored_to_the_clock() {
        assert_eq!(
            next("@10m", "2026-12-07T13:04:59+00:00"),
            "2026-12-07T13:10:00+00:00"
        );
        assert_eq!(
            next("@10m", "2026-12-07T13:10:00+00:00"),
            "2026-12-07T13:20:00+00:00"
        );
        assert_eq!(
            next("@30s", "2026-12-07T13:10:00.5+00:00"),
            "2026-12-07T13:10:30+00:00"
        );
        assert_eq!(
            next("@1h", "2026-12-07T23:30:00+00:00"),
            "2026-12-08T00:00:00+00:00"
        );
        // An interval that does not divide the day starts again at midnight.
        assert_eq!(
            next("@7m", "2026-12-07T23:56:00+00:00"),
            "2026-12-08T00:00:00+00:00"
        );
        assert_eq!(
            next("@7m", "2026-12-07T00:06:59+00:00"),
            "2026-12-07T00:07:00+00:00"
        );
        // From local midnight, whatever the offset.
        assert_eq!(
            next("@1h", "2026-12-07T13:10:00+05:30"),
            "2026-12-07T14:00:00+05:30"
        );
        assert_eq!(
            next("@1d", "2026-12-07T13:10:00+01:00"),
            "2026-12-08T00:00:00+01:00"
        );
    }

    #[test]
    fn cron_patterns_read_as_cron_reads_them() {
        assert_eq!(
            next("0 3 * * *", "2026-12-07T13:04:00+00:00"),
            "2026-12-08T03:00:00+00:00"
        );
        assert_eq!(
            next("*/5 * * * *", "2026-12-07T13:04:00+00:00"),
            "2026-12-07T13:05:00+00:00"
        );
        assert_eq!(
            next("@hourly", "2026-12-07T13:00:00+00:00"),
            "2026-12-07T14:00:00+00:00"
        );
        assert_eq!(
            next("@daily", "2026-12-07T13:00:00+00:00"),
            "2026-12-08T00:00:00+00:00"
        );
        assert_eq!(
            next("@midnight", "2026-12-07T13:00:00+00:00"),
            "2026-12-08T00:00:00+00:00"
        );
        // 2026-12-07 is a Monday: @weekly is Sunday midnight.
        assert_eq!(
            next("@weekly", "2026-12-07T13:00:00+00:00"),
            "2026-12-13T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 1 * *", "2026-12-07T13:00:00+00:00"),
            "2027-01-01T00:00:00+00:00"
        );
        // Vixie: day of month OR day of week.
        assert_eq!(
            next("0 0 13 * fri", "2026-12-07T13:00:00+00:00"),
            "2026-12-11T00:00:00+00:00"
        );
        assert_eq!(
            next("30 2 * * mon-fri", "2026-12-12T00:00:00+00:00"),
            "2026-12-14T02:30:00+00:00"
        );
    }

    #[test]
    fn on_demand_and_bad_schedules() {
        assert_eq!(Schedule::parse("").unwrap(), None);
        assert_eq!(Schedule::parse("  @0 ").unwrap(), None);
        for (bad, says) in [
            ("* * * *", "use 5 cron fields"),
            ("0 * * * * *", "5 fields"),
            ("61 * * * *", "use 5 cron fields"),
            ("@2d", "at most @1d"),
            ("@500ms", "whole seconds"),
            ("@10x", "invalid duration"),
            ("@reboot", "does not run at boot"),
            ("@fortnightly", "invalid schedule"),
            ("00:00-02:00@10 sat,sun", "invalid schedule"),
        ] {
            let e = Schedule::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn local_time_is_the_host_s() {
        let s = Schedule::parse("@1m").unwrap().unwrap();
        let now = SystemTime::now();
        let next = s.next_after(now).unwrap();
        let wait = next.duration_since(now).unwrap();
        assert!(wait <= Duration::from_secs(60) && wait > Duration::ZERO);
        let local: DateTime<Local> = next.into();
        assert_eq!(local.timestamp() % 60, 0);
        assert_eq!(s.to_string(), "@1m");
        let utc: DateTime<Utc> = next.into();
        assert_eq!(utc.timestamp(), local.timestamp());
    }
}
