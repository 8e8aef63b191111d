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
    fn local_hms_is_eight_characters() {
        let s = local_hms(SystemTime::now());
        assert_eq!(s.len(), 8);
        assert_eq!(&s[2..3], ":");
    }
}
