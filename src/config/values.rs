//! Parsing of keyword values: booleans, durations and lists as operators
//! write them in OpenSVC files.

use std::net::Ipv4Addr;
use std::time::Duration;

/// `true/false`, `yes/no`, `on/off`, `1/0`, any case.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "y" | "t" => Ok(true),
        "false" | "no" | "off" | "0" | "n" | "f" | "" => Ok(false),
        other => Err(format!("invalid boolean {other:?} (use true or false)")),
    }
}

/// The longest duration a keyword may say: longer bounds are typos, and
/// deadlines computed from them must not overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 86400);

/// Seconds as a bare number (`10`), or with units as OpenSVC and Go write
/// them: `500ms`, `10s`, `2m`, `1h`, `1m30s`; at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration_unbounded(text)?;
    if duration > MAX_DURATION {
        return Err(format!(
            "duration {:?} is too long (at most {} days)",
            text.trim(),
            MAX_DURATION.as_secs() / 86400
        ));
    }
    Ok(duration)
}

fn parse_duration_unbounded(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid =
        || format!("invalid duration {text:?} (use seconds, or units like 10s, 2m, 500ms)");
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86400),
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        let part = unit.checked_mul(u32::try_from(number).map_err(|_| invalid())?);
        total = total
            .checked_add(part.ok_or_else(invalid)?)
            .ok_or_else(invalid)?;
    }
    Ok(total)
}

/// A size in bytes: a number, or a number with a binary unit as docker's
/// `--memory` takes it (`b`, `k`, `m`, `g`, case-insensitive, `kb`/`kib`
/// alike).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let invalid = || format!("invalid size {text:?} (use bytes, or units like 64k, 1m)");
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().map_err(|_| invalid())?;
    let shift = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

/// A list separated by spaces and/or commas (`nodes = n1 n2,n3`).
pub fn parse_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The prefix length of a `netmask` value: a prefix length (`24`) or, for
/// IPv4, a dotted mask (`255.255.255.0`). The error names the keyword.
pub fn parse_netmask(text: &str, ipv4: bool) -> std::result::Result<u8, String> {
    let text = text.trim();
    let (family, max) = if ipv4 { ("IPv4", 32) } else { ("IPv6", 128) };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u8>() {
            Ok(prefix) if (1..=max).contains(&prefix) => Ok(prefix),
            _ => Err(format!(
                "netmask: prefix length {text} is out of range for an {family} address (1-{max})"
            )),
        };
    }
    if let Ok(mask) = text.parse::<Ipv4Addr>() {
        if !ipv4 {
            return Err(format!(
                "netmask: {text} is a dotted IPv4 mask; an IPv6 address takes a prefix length (1-128)"
            ));
        }
        let bits = u32::from(mask);
        let host_bits = !bits;
        // A mask is ones then zeros: its complement is 0…01…1.
        if bits == 0 || host_bits & host_bits.wrapping_add(1) != 0 {
            return Err(format!(
                "netmask: {text} is not a valid mask (ones followed by zeros, such as 255.255.255.0)"
            ));
        }
        return Ok(bits.leading_ones() as u8);
    }
    Err(format!(
        "netmask: {text:?} is neither a prefix length (1-{max}) nor a dotted mask such as 255.255.255.0"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_accepts_common_spellings() {
        for t in ["true", "True", "yes", "on", "1"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for f in ["false", "NO", "off", "0"] {
            assert_eq!(parse_bool(f), Ok(false), "{f}");
        }
        assert!(parse_bool("maybe").unwrap_err().contains("maybe"));
    }

    #[test]
    fn duration_accepts_seconds_and_units() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 1h "), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn duration_refuses_absurd_lengths() {
        assert!(parse_duration("7d").is_ok());
        assert!(parse_duration("8d").unwrap_err().contains("too long"));
        assert!(parse_duration("18446744073709551615").is_err());
    }

    #[test]
    fn duration_refuses_garbage() {
        for bad in ["", "abc", "10x", "s", "1.5s", "-1"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_splits_on_spaces_and_commas() {
        assert_eq!(parse_list("a b,c ,, d"), ["a", "b", "c", "d"]);
        assert!(parse_list("  ").is_empty());
    }

    #[test]
    fn sizes_take_docker_s_binary_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size(" 1M "), Ok(1 << 20));
        assert_eq!(parse_size("2gib"), Ok(2 << 30));
        assert_eq!(parse_size("10b"), Ok(10));
        for bad in ["", "k", "1.5m", "-1", "12x", "99999999999999999999"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("99999999999g")
            .unwrap_err()
            .contains("too large"));
    }
}
