//! Wall-clock formatting: local `HH:MM:SS` for log lines (as the tutorial
//! prints them) and RFC 3339 UTC for `status.json` and event lines.

use std::time::{SystemTime, UNIX_EPOCH};

fn seconds_since_epoch(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// `HH:MM:SS` in the daemon's local time zone.
pub fn local_hms(time: SystemTime) -> String {
    let t: libc::time_t = seconds_since_epoch(time) as libc::time_t;
    // SAFETY: localtime_r only writes into the tm we own; a zeroed tm is a
    // valid value to start from.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        let s = seconds_since_epoch(time).rem_euclid(86400);
        return format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

/// `2026-11-25T12:00:00Z`.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let secs = seconds_since_epoch(time);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `2026-11-25T12:00:00.250Z`: event lines, where several changes may
/// come within one second.
pub fn rfc3339_utc_millis(time: SystemTime) -> String {
    let seconds = rfc3339_utc(time);
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    format!("{}.{millis:03}Z", seconds.trim_end_matches('Z'))
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds since the epoch of an RFC 3339 time as docker writes them
/// (`2026-12-07T10:40:18.165026886Z`, trailing zeros of the fraction
/// dropped, or an offset instead of `Z`); `None` when it is not one.
/// Docker's own times compare right only this way: as text,
/// `18.16502Z` sorts after `18.165026886Z`.
pub fn parse_rfc3339_nanos(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b.get(i) != Some(&c))
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        nanos *= 10i64.pow(9u32.saturating_sub((i - start) as u32));
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: &u8, b: &u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let minutes = two(h1, h2)? * 60 + two(m1, m2)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// The instant `nanos` after the epoch (before it when negative).
pub fn from_nanos(nanos: i64) -> SystemTime {
    let magnitude = std::time::Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_608_000);
        assert_eq!(rfc3339_utc(t), "2026-11-25T12:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339_utc(leap), "2000-02-29T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_608_000_042);
        assert_eq!(rfc3339_utc_millis(t), "2026-11-25T12:00:00.042Z");
    }

    #[test]
    fn docker_times_parse_to_nanoseconds() {
        let t = parse_rfc3339_nanos("2026-11-25T12:00:00Z").unwrap();
        assert_eq!(t, 1_795_608_000 * 1_000_000_000);
        let full = parse_rfc3339_nanos("2026-12-07T10:40:18.165026886Z").unwrap();
        let trimmed = parse_rfc3339_nanos("2026-12-07T10:40:18.16502Z").unwrap();
        assert_eq!(full - trimmed, 6886);
        assert_eq!(
            parse_rfc3339_nanos("2026-11-25T13:00:00.5+01:00"),
            Some(t + 500_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("2000-02-29T00:00:00Z"),
            Some(951_782_400 * 1_000_000_000)
        );
        for bad in [
            "",
            "2026-11-25",
            "2026-13-25T12:00:00Z",
            "2026-11-25T12:00:00",
            "2026-11-25T12:00:00.Z",
            "x026-11-25T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_nanos(bad), None, "{bad}");
        }
        assert_eq!(
            rfc3339_utc_millis(from_nanos(full)),
            "2026-12-07T10:40:18.165Z"
        );
        for days in [-800_000, -1, 0, 59, 10_957, 20_782, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn local_hms_is_eight_characters() {
        let s = local_hms(SystemTime::now());
        assert_eq!(s.len(), 8);
        assert_eq!(&s[2..3], ":");
    }
}
