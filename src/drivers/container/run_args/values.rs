//! The value syntaxes of the options (port specs, volume and mount specs,
//! sizes, Go durations, ...), checked as strictly as the docker CLI checks
//! them. Pure functions: text in, a typed value or the reason it is wrong out.

use std::net::IpAddr;

use bollard::models::{
    DeviceMapping, Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions,
    MountType, MountVolumeOptions, MountVolumeOptionsDriverConfig, PortBinding, ResourcesUlimits,
    RestartPolicy, RestartPolicyNameEnum,
};

use super::draft::EnvVar;
use super::options::{insert, key_value, set};

/// The engine accepts at most one option of each group; checking here turns
/// its create-time error into a configuration error.
pub(super) fn check_volume_mode(mode: &str) -> Result<(), String> {
    const GROUPS: &[&[&str]] = &[
        &["rw", "ro"],
        &["z", "Z"],
        &[
            "private", "rprivate", "shared", "rshared", "slave", "rslave",
        ],
        &["nocopy"],
        &["consistent", "cached", "delegated"],
    ];
    let mut seen = [false; GROUPS.len()];
    for option in mode.split(',') {
        let group = GROUPS
            .iter()
            .position(|group| group.contains(&option))
            .ok_or_else(|| format!("unknown volume option {option:?}"))?;
        if std::mem::replace(&mut seen[group], true) {
            return Err(format!("conflicting volume options in {mode:?}"));
        }
    }
    Ok(())
}

pub(super) fn require_absolute(path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(format!("{path:?} is not an absolute path"))
    }
}

/// `--mount` is a CSV list of key=value fields; the type defaults to volume.
pub(super) fn parse_mount(spec: &str) -> Result<Mount, String> {
    let mut mount = Mount {
        typ: Some(MountType::VOLUME),
        ..Default::default()
    };
    for field in csv_fields(spec)? {
        let (key, value) = match field.split_once('=') {
            Some((key, value)) => (key.to_ascii_lowercase(), Some(value)),
            None => (field.to_ascii_lowercase(), None),
        };
        apply_mount_field(&mut mount, &key, value)?;
    }
    if mount.target.is_none() {
        return Err("target is required".into());
    }
    let typ = mount.typ.unwrap_or(MountType::VOLUME);
    let mixed = [
        ("volume", mount.volume_options.is_some(), MountType::VOLUME),
        ("bind", mount.bind_options.is_some(), MountType::BIND),
        ("tmpfs", mount.tmpfs_options.is_some(), MountType::TMPFS),
    ];
    for (prefix, present, owner) in mixed {
        if present && typ != owner {
            return Err(format!("{prefix}-* options need type={prefix}"));
        }
    }
    Ok(mount)
}

fn apply_mount_field(mount: &mut Mount, key: &str, value: Option<&str>) -> Result<(), String> {
    let Some(value) = value else {
        return match key {
            "readonly" | "ro" => set(&mut mount.read_only, true),
            "volume-nocopy" => set(&mut volume_options(mount).no_copy, true),
            "bind-nonrecursive" => set(&mut bind_options(mount).non_recursive, true),
            _ => Err(format!("field {key:?} must be a key=value pair")),
        };
    };
    match key {
        "type" => set(&mut mount.typ, mount_type(value)?),
        "source" | "src" => set(&mut mount.source, value.to_owned()),
        "target" | "dst" | "destination" => set(&mut mount.target, value.to_owned()),
        "readonly" | "ro" => set(&mut mount.read_only, go_bool(value)?),
        "consistency" => set(&mut mount.consistency, value.to_ascii_lowercase()),
        "bind-propagation" => {
            let propagation = value
                .to_ascii_lowercase()
                .parse::<MountBindOptionsPropagationEnum>()
                .map_err(|_| format!("unknown bind-propagation {value:?}"))?;
            set(&mut bind_options(mount).propagation, propagation)
        }
        "bind-nonrecursive" => set(&mut bind_options(mount).non_recursive, go_bool(value)?),
        "volume-nocopy" => set(&mut volume_options(mount).no_copy, go_bool(value)?),
        "volume-label" => {
            let (k, v) = key_value(value);
            insert(&mut volume_options(mount).labels, k, v);
            Ok(())
        }
        "volume-driver" => set(&mut driver_config(mount).name, value.to_owned()),
        "volume-opt" => {
            let (k, v) = key_value(value);
            insert(&mut driver_config(mount).options, k, v);
            Ok(())
        }
        "tmpfs-size" => set(&mut tmpfs_options(mount).size_bytes, ram_bytes(value)?),
        "tmpfs-mode" => {
            let mode = u32::from_str_radix(value, 8)
                .map_err(|_| format!("tmpfs-mode {value:?} is not an octal mode"))?;
            set(&mut tmpfs_options(mount).mode, i64::from(mode))
        }
        _ => Err(format!("unexpected key {key:?}")),
    }
}

fn mount_type(value: &str) -> Result<MountType, String> {
    match value.to_ascii_lowercase().as_str() {
        "bind" => Ok(MountType::BIND),
        "volume" => Ok(MountType::VOLUME),
        "tmpfs" => Ok(MountType::TMPFS),
        _ => Err(format!(
            "unsupported mount type {value:?} (bind, volume, tmpfs)"
        )),
    }
}

fn bind_options(mount: &mut Mount) -> &mut MountBindOptions {
    mount.bind_options.get_or_insert_with(Default::default)
}

fn volume_options(mount: &mut Mount) -> &mut MountVolumeOptions {
    mount.volume_options.get_or_insert_with(Default::default)
}

fn driver_config(mount: &mut Mount) -> &mut MountVolumeOptionsDriverConfig {
    volume_options(mount)
        .driver_config
        .get_or_insert_with(Default::default)
}

fn tmpfs_options(mount: &mut Mount) -> &mut MountTmpfsOptions {
    mount.tmpfs_options.get_or_insert_with(Default::default)
}

/// One CSV record as Go's encoding/csv reads it: `"` quotes a whole field,
/// `""` inside quotes is a literal quote.
pub(super) fn csv_fields(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Err("empty mount specification".into());
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_field_start => quoted = true,
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("unexpected character after a closing quote".into());
                }
            }
            '"' => return Err("a quote can only start a field".into()),
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_field_start = false;
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(field);
    Ok(fields)
}

/// `[ip:][hostport:]containerport[/proto]`, each port possibly a range; one
/// binding per container port.
pub(super) fn parse_port_spec(spec: &str) -> Result<Vec<(String, PortBinding)>, String> {
    let (ip, host_ports, container_ports) = split_port_parts(spec);
    let (proto, container_ports) = split_proto_port(container_ports);
    let ip = bind_ip(ip)?;
    if container_ports.is_empty() {
        return Err("no container port given".into());
    }
    let (start, end) = port_range(container_ports)?;
    let host_range = match host_ports {
        "" => None,
        ports => Some(port_range(ports)?),
    };
    if let Some((host_start, host_end)) = host_range {
        // A single container port may take a host range: the engine picks one in it.
        if start != end && end - start != host_end - host_start {
            return Err("the host and container port ranges differ in size".into());
        }
    }
    let proto = checked_protocol(proto)?;
    let binding_for = |port: u16| {
        let host_port = match host_range {
            None => String::new(),
            Some((host_start, host_end)) if start == end && host_start != host_end => {
                format!("{host_start}-{host_end}")
            }
            Some((host_start, _)) => (host_start + (port - start)).to_string(),
        };
        PortBinding {
            host_ip: Some(ip.clone()),
            host_port: Some(host_port),
        }
    };
    Ok((start..=end)
        .map(|port| (format!("{port}/{proto}"), binding_for(port)))
        .collect())
}

/// Split from the right, so that an unbracketed IPv6 address keeps its colons.
fn split_port_parts(spec: &str) -> (&str, &str, &str) {
    let mut from_end = spec.rsplitn(3, ':');
    let container = from_end.next().unwrap_or("");
    match (from_end.next(), from_end.next()) {
        (Some(host), Some(ip)) => (ip, host, container),
        (Some(host), None) => ("", host, container),
        _ => ("", "", container),
    }
}

pub(super) fn split_proto_port(spec: &str) -> (&str, &str) {
    let mut parts = spec.split('/');
    let port = parts.next().unwrap_or("");
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => ("tcp", port),
        Some(proto) => (proto, port),
    }
}

fn bind_ip(ip: &str) -> Result<String, String> {
    if ip.is_empty() {
        return Ok(String::new());
    }
    let bare = match ip.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or_else(|| format!("unbalanced brackets in {ip:?}"))?,
        None => ip,
    };
    bare.parse::<IpAddr>()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    Ok(bare.to_owned())
}

pub(super) fn port_range(text: &str) -> Result<(u16, u16), String> {
    let (start, end) = match text.split_once('-') {
        None => {
            let port = port_number(text)?;
            (port, port)
        }
        Some((start, end)) => (port_number(start)?, port_number(end)?),
    };
    if end < start {
        return Err(format!("port range {text:?} ends before it starts"));
    }
    Ok((start, end))
}

fn port_number(text: &str) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a port number"));
    }
    text.parse()
        .map_err(|_| format!("port {text} is out of range"))
}

pub(super) fn checked_protocol(proto: &str) -> Result<String, String> {
    let proto = proto.to_ascii_lowercase();
    match proto.as_str() {
        "tcp" | "udp" | "sctp" => Ok(proto),
        _ => Err(format!("unknown protocol {proto:?} (tcp, udp, sctp)")),
    }
}

// ---------------------------------------------------------------------------
// Environment and labels

/// `-e NAME=value`, or a bare `-e NAME` whose value the creating process
/// supplies.
pub(super) fn env_var(value: &str) -> Result<EnvVar, String> {
    let (name, has_value) = match value.split_once('=') {
        Some((name, _)) => (name, true),
        None => (value, false),
    };
    if name.is_empty() {
        return Err("the variable name is empty".into());
    }
    Ok(if has_value {
        EnvVar::Set(value.to_owned())
    } else {
        EnvVar::Inherit(value.to_owned())
    })
}

pub(super) fn checked_label(value: &str) -> Result<String, String> {
    let key = key_value(value).0.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err("the label name is empty".into());
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label name {key:?} contains whitespace"));
    }
    Ok(value.to_owned())
}

/// Whether `--ip` / `--ip6` may configure an endpoint on this network.
pub(super) fn is_user_defined_network(name: &str) -> bool {
    !matches!(name, "default" | "bridge" | "host" | "none") && !name.starts_with("container:")
}

pub(super) fn checked_ip<T: std::str::FromStr>(
    value: &str,
    family: &str,
) -> Result<String, String> {
    value
        .parse::<T>()
        .map(|_| value.to_owned())
        .map_err(|_| format!("not an {family} address"))
}

/// The CLI sends --dns servers in Go's canonical form.
pub(super) fn normalized_ip(value: &str) -> Result<String, String> {
    value
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical().to_string())
        .map_err(|_| "not an IP address".into())
}

/// A search domain as the CLI accepts it, sent without its trailing dot.
pub(super) fn dns_search(value: &str) -> Result<String, String> {
    let value = value.trim_matches(' ');
    if value == "." {
        return Ok(value.to_owned());
    }
    let invalid = || format!("{value:?} is not a valid domain");
    let domain = value.trim_end_matches([' ', '\t', '\n', '\r', '\x0c']);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        matches!((bytes.first(), bytes.last()), (Some(a), Some(z)) if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    if !domain.bytes().any(|b| b.is_ascii_alphabetic())
        || domain.len() >= 255
        || !domain.split('.').all(label_ok)
    {
        return Err(invalid());
    }
    Ok(domain.to_owned())
}

pub(super) fn extra_host(value: &str) -> Result<String, String> {
    let (_, ip) = value
        .split_once(':')
        .filter(|(host, _)| !host.is_empty())
        .ok_or("expected host:ip")?;
    if ip != "host-gateway" && ip.trim().parse::<IpAddr>().is_err() {
        return Err(format!("{ip:?} is not an IP address"));
    }
    Ok(value.to_owned())
}

// ---------------------------------------------------------------------------
// Security, namespaces, devices

pub(super) fn ns_mode(
    value: &str,
    plain: &[&str],
    container_allowed: bool,
) -> Result<String, String> {
    let joins_container = container_allowed
        && value
            .strip_prefix("container:")
            .is_some_and(|id| !id.is_empty() && !id.contains(':'));
    if plain.contains(&value) || joins_container {
        return Ok(value.to_owned());
    }
    let mut known: Vec<&str> = plain.iter().copied().filter(|m| !m.is_empty()).collect();
    if container_allowed {
        known.push("container:<name|id>");
    }
    Err(format!("expected {}", known.join(", ")))
}

/// `host[:container][:rwm]` as the CLI reads it: a second field that is a
/// mode is the permissions, and paths are cleaned when the CLI cleans them.
pub(super) fn device_mapping(spec: &str) -> Result<DeviceMapping, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts[0].is_empty() {
        return Err("the device path is empty".into());
    }
    let (host, container, perms) = match parts.as_slice() {
        [host] => (clean_path(host), clean_path(host), "rwm"),
        [host, mode] if is_device_mode(mode) => (clean_path(host), clean_path(host), *mode),
        [host, container] => (host.to_string(), clean_path(container), "rwm"),
        [host, container, mode] if is_device_mode(mode) => {
            (host.to_string(), container.to_string(), *mode)
        }
        [_, _, mode] => return Err(format!("bad device permissions {mode:?} (any of r, w, m)")),
        _ => return Err("too many colons (expected host[:container][:rwm])".into()),
    };
    require_absolute(&container)?;
    if host.ends_with('*') {
        // The CLI globs such patterns on its own host; the devices a
        // container gets are better spelled out in the service file.
        return Err("wildcard device patterns are not supported; list the devices".into());
    }
    Ok(DeviceMapping {
        path_on_host: Some(host),
        path_in_container: Some(container),
        cgroup_permissions: Some(perms.to_owned()),
    })
}

fn is_device_mode(mode: &str) -> bool {
    let mut seen = Vec::new();
    !mode.is_empty()
        && mode.chars().all(|c| {
            let fresh = matches!(c, 'r' | 'w' | 'm') && !seen.contains(&c);
            seen.push(c);
            fresh
        })
}

/// Go's path.Clean: lexical, no filesystem access.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub(super) fn ulimit(value: &str) -> Result<ResourcesUlimits, String> {
    const NAMES: &str = "core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio \
                         rttime sigpending stack";
    let (name, limits) = value.split_once('=').ok_or("expected name=soft[:hard]")?;
    if !NAMES.split_whitespace().any(|known| known == name) {
        return Err(format!("unknown ulimit {name:?}"));
    }
    let number = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| format!("{text:?} is not an integer"))
    };
    let (soft, hard) = match limits.split_once(':') {
        None => (number(limits)?, number(limits)?),
        Some((_, hard)) if hard.contains(':') => return Err("expected soft[:hard]".into()),
        Some((soft, hard)) => (number(soft)?, number(hard)?),
    };
    if hard != -1 && soft > hard {
        return Err(format!("soft limit {soft} is above hard limit {hard}"));
    }
    Ok(ResourcesUlimits {
        name: Some(name.to_owned()),
        soft: Some(soft),
        hard: Some(hard),
    })
}

pub(super) fn restart_policy(value: &str) -> Result<RestartPolicy, String> {
    let (name, count) = match value.split_once(':') {
        None => (value, None),
        Some((_, count)) if count.contains(':') => return Err("expected name[:max-retries]".into()),
        Some((name, count)) => {
            let count = count
                .parse::<i64>()
                .map_err(|_| "the maximum retry count must be an integer".to_owned())?;
            (name, Some(count))
        }
    };
    let name = match name {
        "" => RestartPolicyNameEnum::EMPTY,
        "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => return Err("expected no, always, unless-stopped or on-failure[:N]".into()),
    };
    match (name, count) {
        (RestartPolicyNameEnum::ON_FAILURE, Some(n)) if n < 0 => {
            Err("the maximum retry count cannot be negative".into())
        }
        (RestartPolicyNameEnum::ON_FAILURE, _) | (_, None | Some(0)) => Ok(RestartPolicy {
            name: Some(name),
            maximum_retry_count: count,
        }),
        _ => Err("only on-failure takes a maximum retry count".into()),
    }
}

// ---------------------------------------------------------------------------
// Value syntaxes shared by several options

/// docker's RAMInBytes: `512m`, `1.5g`, `1 GiB`, `100` (bytes); binary
/// multiples, the fraction truncated.
pub(super) fn ram_bytes(text: &str) -> Result<i64, String> {
    let invalid = || format!("{text:?} is not a size (e.g. 512m, 1g, or bytes)");
    let number_len = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_len);
    if number
        .split('.')
        .any(|digits| digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid());
    }
    let mut suffix = suffix.strip_prefix(' ').unwrap_or(suffix);
    let mut multiplier = 1_f64;
    if let Some(unit) = suffix.chars().next() {
        let power = "kmgtp".find(unit.to_ascii_lowercase());
        if let Some(power) = power {
            multiplier = 1024_f64.powi(power as i32 + 1);
            suffix = &suffix[1..];
        }
    }
    let suffix = suffix.strip_prefix(['i', 'I']).unwrap_or(suffix);
    let suffix = suffix.strip_prefix(['b', 'B']).unwrap_or(suffix);
    if !suffix.is_empty() {
        return Err(invalid());
    }
    let number: f64 = number.parse().map_err(|_| invalid())?;
    // Truncation toward zero is what the CLI does (Go's int64 conversion).
    Ok((number * multiplier) as i64)
}

pub(super) fn swap_bytes(text: &str) -> Result<i64, String> {
    if text == "-1" {
        return Ok(-1);
    }
    ram_bytes(text)
}

/// `--cpus 1.5` → 1_500_000_000 nano CPUs, exactly (no float rounding).
pub(super) fn nano_cpus(text: &str) -> Result<i64, String> {
    let invalid = || format!("{text:?} is not a positive decimal number");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(invalid());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 9 {
        return Err("value is too precise (at most 9 decimals)".into());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let fraction: i64 = format!("{fraction:0<9}").parse().map_err(|_| invalid())?;
    whole
        .checked_mul(1_000_000_000)
        .and_then(|nanos| nanos.checked_add(fraction))
        .ok_or_else(|| "value is too large".into())
}

/// Go's strconv.ParseBool, which pflag uses for `--flag=value`.
pub(super) fn go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

pub(super) fn go_int(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a (64-bit) integer"))
}

pub(super) fn non_negative(n: i64) -> Result<i64, String> {
    if n < 0 {
        Err("cannot be negative".into())
    } else {
        Ok(n)
    }
}

pub(super) fn health_duration(text: &str) -> Result<i64, String> {
    non_negative(go_duration(text)?)
}

/// Go's time.ParseDuration (`1m30s`, `500ms`, `1.5h`), in nanoseconds.
pub fn go_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("{text:?} is not a duration (e.g. 30s, 1m30s, 500ms)");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after) = split_digits(rest);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => split_digits(after),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = duration_unit(unit).ok_or_else(invalid)?;
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        // Digits beyond 18 cannot change a nanosecond count.
        let fraction = &fraction[..fraction.len().min(18)];
        let fraction_nanos = match fraction {
            "" => 0,
            digits => {
                let value: u128 = digits.parse().map_err(|_| invalid())?;
                value * scale / 10u128.pow(digits.len() as u32)
            }
        };
        total = whole
            .checked_mul(scale)
            .and_then(|n| n.checked_add(fraction_nanos))
            .and_then(|n| n.checked_add(total))
            .ok_or_else(invalid)?;
        rest = after;
    }
    let total = i64::try_from(total).map_err(|_| invalid())?;
    Ok(if negative { -total } else { total })
}

fn split_digits(text: &str) -> (&str, &str) {
    let len = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(len)
}

fn duration_unit(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// File contents, read by the creating host and parsed here

/// The entries of an env file, as the CLI reads one: a UTF-8 BOM dropped,
/// `#` comments and blank lines skipped, values taken verbatim, a bare NAME
/// taken from `env_var` (and dropped when unset).
pub(super) fn env_file_entries(
    bytes: &[u8],
    env_var: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut entries = Vec::new();
    for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line =
            std::str::from_utf8(raw).map_err(|_| format!("line {}: invalid UTF-8", index + 1))?;
        let entry = env_file_line(line, &env_var)
            .map_err(|reason| format!("line {}: {reason}", index + 1))?;
        entries.extend(entry);
    }
    Ok(entries)
}

fn env_file_line(
    line: &str,
    env_var: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (name, value) = match line.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (line, None),
    };
    let name = name.trim_start_matches([' ', '\t']);
    if name.is_empty() {
        return Err("no variable name".into());
    }
    if name.contains([' ', '\t']) {
        return Err(format!("variable name {name:?} contains whitespace"));
    }
    Ok(match value {
        Some(value) => Some(format!("{name}={value}")),
        None => env_var(name).map(|found| format!("{name}={found}")),
    })
}

/// A seccomp profile compacted to the one-line JSON the CLI sends.
pub(super) fn seccomp_json(bytes: &[u8]) -> Result<String, String> {
    let profile: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("is not JSON: {e}"))?;
    Ok(profile.to_string())
}
