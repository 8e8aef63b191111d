//! The option table: every `docker run` option svcfs accepts, what it takes
//! (a value, a boolean flag, or nothing because svcfs owns it), and the
//! handler that puts it into the [`Draft`].

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::draft::{Draft, NetworkDraft, SecurityOpt};
use super::values::*;

/// A handler returns only why a value is wrong; `apply` adds the option and
/// the value, so that every message names both the same way.
pub(super) type ValueHandler = fn(&mut Draft, &str) -> Result<(), String>;
pub(super) type FlagHandler = fn(&mut Draft, bool);

#[derive(Clone, Copy)]
pub(super) enum Takes {
    Value(ValueHandler),
    Flag(FlagHandler),
    Refused(&'static str),
}

/// One docker run option. One-letter names are the short forms.
pub(super) struct OptSpec {
    pub(super) names: &'static [&'static str],
    pub(super) takes: Takes,
}

const fn value(names: &'static [&'static str], handler: ValueHandler) -> OptSpec {
    OptSpec {
        names,
        takes: Takes::Value(handler),
    }
}

const fn flag(names: &'static [&'static str], handler: FlagHandler) -> OptSpec {
    OptSpec {
        names,
        takes: Takes::Flag(handler),
    }
}

const fn refused(names: &'static [&'static str], reason: &'static str) -> OptSpec {
    OptSpec {
        names,
        takes: Takes::Refused(reason),
    }
}

// One line per option, kept unformatted so that the table reads as a table.
#[rustfmt::skip]
pub(super) static OPTIONS: &[OptSpec] = &[
    // Storage
    value(&["v", "volume"], add_volume),
    value(&["mount"], |d, v| push(&mut d.host().mounts, parse_mount(v)?)),
    value(&["tmpfs"], add_tmpfs),
    // Ports
    value(&["p", "publish"], add_publish),
    value(&["expose"], add_expose),
    flag(&["P", "publish-all"], |d, on| d.host().publish_all_ports = Some(on)),
    // Environment and metadata
    value(&["e", "env"], |d, v| push_to(&mut d.env, env_var(v)?)),
    value(&["env-file"], |d, v| push_to(&mut d.env_files, v.to_owned())),
    value(&["l", "label"], |d, v| push_to(&mut d.labels, checked_label(v)?)),
    // Network
    value(&["network", "net"], set_network),
    value(&["network-alias", "net-alias"], |d, v| push_to(&mut d.network_aliases, v.to_owned())),
    value(&["ip"], |d, v| set(&mut d.ipv4, checked_ip::<Ipv4Addr>(v, "IPv4")?)),
    value(&["ip6"], |d, v| set(&mut d.ipv6, checked_ip::<Ipv6Addr>(v, "IPv6")?)),
    value(&["dns"], |d, v| push(&mut d.host().dns, normalized_ip(v)?)),
    value(&["dns-search"], |d, v| push(&mut d.host().dns_search, dns_search(v)?)),
    value(&["dns-option", "dns-opt"], |d, v| push(&mut d.host().dns_options, v.to_owned())),
    value(&["add-host"], |d, v| push(&mut d.host().extra_hosts, extra_host(v)?)),
    value(&["h", "hostname"], |d, v| set(&mut d.body.hostname, v.to_owned())),
    value(&["domainname"], |d, v| set(&mut d.body.domainname, v.to_owned())),
    // Process. The CLI never splits --entrypoint; `--entrypoint ""` sends [""], a reset.
    value(&["entrypoint"], |d, v| set(&mut d.body.entrypoint, vec![v.to_owned()])),
    value(&["w", "workdir"], |d, v| set(&mut d.body.working_dir, v.to_owned())),
    value(&["u", "user"], |d, v| set(&mut d.body.user, v.to_owned())),
    value(&["stop-signal"], |d, v| set(&mut d.body.stop_signal, v.to_owned())),
    value(&["stop-timeout"], |d, v| set(&mut d.body.stop_timeout, go_int(v)?)),
    flag(&["t", "tty"], |d, on| d.body.tty = Some(on)),
    // svcfs never attaches, so `-i` means what it means under `docker run -d`:
    // stdin stays open, without the AttachStdin/StdinOnce that would close it.
    flag(&["i", "interactive"], |d, on| d.body.open_stdin = Some(on)),
    flag(&["d", "detach"], |_, _| {}),
    flag(&["init"], |d, on| d.host().init = Some(on)),
    // Security and namespaces
    flag(&["privileged"], |d, on| d.host().privileged = Some(on)),
    value(&["cap-add"], |d, v| push(&mut d.host().cap_add, v.to_owned())),
    value(&["cap-drop"], |d, v| push(&mut d.host().cap_drop, v.to_owned())),
    value(&["security-opt"], add_security_opt),
    value(&["group-add"], |d, v| push(&mut d.host().group_add, v.to_owned())),
    value(&["device"], add_device),
    flag(&["read-only"], |d, on| d.host().readonly_rootfs = Some(on)),
    value(&["pid"], |d, v| set(&mut d.host().pid_mode, ns_mode(v, &["", "host"], true)?)),
    value(&["uts"], |d, v| set(&mut d.host().uts_mode, ns_mode(v, &["", "host"], false)?)),
    value(&["userns"], |d, v| set(&mut d.host().userns_mode, ns_mode(v, &["", "host"], false)?)),
    value(&["ipc"], |d, v| set(&mut d.host().ipc_mode, ns_mode(v, IPC_MODES, true)?)),
    value(&["sysctl"], add_sysctl),
    // Resources
    value(&["m", "memory"], |d, v| set(&mut d.host().memory, ram_bytes(v)?)),
    value(&["memory-swap"], |d, v| set(&mut d.host().memory_swap, swap_bytes(v)?)),
    value(&["memory-reservation"], |d, v| set(&mut d.host().memory_reservation, ram_bytes(v)?)),
    value(&["shm-size"], |d, v| set(&mut d.host().shm_size, ram_bytes(v)?)),
    flag(&["oom-kill-disable"], |d, on| d.host().oom_kill_disable = Some(on)),
    value(&["cpus"], |d, v| set(&mut d.host().nano_cpus, nano_cpus(v)?)),
    value(&["c", "cpu-shares"], |d, v| set(&mut d.host().cpu_shares, go_int(v)?)),
    value(&["cpu-period"], |d, v| set(&mut d.host().cpu_period, go_int(v)?)),
    value(&["cpu-quota"], |d, v| set(&mut d.host().cpu_quota, go_int(v)?)),
    value(&["cpuset-cpus"], |d, v| set(&mut d.host().cpuset_cpus, v.to_owned())),
    value(&["cpuset-mems"], |d, v| set(&mut d.host().cpuset_mems, v.to_owned())),
    value(&["pids-limit"], |d, v| set(&mut d.host().pids_limit, go_int(v)?)),
    value(&["ulimit"], add_ulimit),
    // Lifecycle and logging
    value(&["restart"], |d, v| set(&mut d.host().restart_policy, restart_policy(v)?)),
    value(&["log-driver"], |d, v| set(&mut d.log_driver, v.to_owned())),
    value(&["log-opt"], |d, v| push_to(&mut d.log_opts, v.to_owned())),
    // Health
    value(&["health-cmd"], |d, v| set(&mut d.health.cmd, v.to_owned())),
    value(&["health-interval"], |d, v| put(&mut d.health.interval, health_duration(v)?)),
    value(&["health-timeout"], |d, v| put(&mut d.health.timeout, health_duration(v)?)),
    value(&["health-start-period"], |d, v| put(&mut d.health.start_period, health_duration(v)?)),
    value(&["health-retries"], |d, v| put(&mut d.health.retries, non_negative(go_int(v)?)?)),
    flag(&["no-healthcheck"], |d, on| d.health.disabled = on),
    // Owned by svcfs
    refused(&["name"], "svcfs names the container <svc>.container.<N>"),
    refused(&["rm"], "svcfs keeps stopped containers (stop, then start reuses them)"),
];

const IPC_MODES: &[&str] = &["", "none", "private", "shareable", "host"];

pub(super) fn find_long(name: &str) -> Option<&'static OptSpec> {
    OPTIONS
        .iter()
        .find(|spec| name.len() > 1 && spec.names.contains(&name))
}

pub(super) fn find_short(letter: char) -> Option<&'static OptSpec> {
    let mut buf = [0; 4];
    let letter: &str = letter.encode_utf8(&mut buf);
    OPTIONS.iter().find(|spec| spec.names.contains(&letter))
}

// The setters return Ok so that a table handler can end with one of them.

pub(super) fn set<T>(field: &mut Option<T>, value: T) -> Result<(), String> {
    *field = Some(value);
    Ok(())
}

fn put<T>(field: &mut T, value: T) -> Result<(), String> {
    *field = value;
    Ok(())
}

fn push<T>(list: &mut Option<Vec<T>>, item: T) -> Result<(), String> {
    list.get_or_insert_with(Vec::new).push(item);
    Ok(())
}

pub(super) fn push_to<T>(list: &mut Vec<T>, item: T) -> Result<(), String> {
    list.push(item);
    Ok(())
}

pub(super) fn push_unique(list: &mut Option<Vec<String>>, item: &str) {
    let list = list.get_or_insert_with(Vec::new);
    if !list.iter().any(|known| known == item) {
        list.push(item.to_owned());
    }
}

pub(super) fn insert(map: &mut Option<HashMap<String, String>>, key: &str, value: &str) {
    map.get_or_insert_with(HashMap::new)
        .insert(key.to_owned(), value.to_owned());
}

pub(super) fn key_value(text: &str) -> (&str, &str) {
    text.split_once('=').unwrap_or((text, ""))
}

// ---------------------------------------------------------------------------
// Storage: -v, --mount, --tmpfs

/// `-v` with a source (host path or named volume) is a bind, sent verbatim;
/// `-v /data` alone is an anonymous volume.
fn add_volume(draft: &mut Draft, spec: &str) -> Result<(), String> {
    let sections: Vec<&str> = spec.split(':').collect();
    if sections.iter().any(|section| section.is_empty()) {
        return Err("empty section between colons".into());
    }
    let (target, mode) = match sections.as_slice() {
        [target] => (*target, None),
        [_, target] => (*target, None),
        [_, target, mode] => (*target, Some(*mode)),
        _ => return Err("too many colons (expected [source:]target[:options])".into()),
    };
    require_absolute(target)?;
    if let Some(mode) = mode {
        check_volume_mode(mode)?;
    }
    if sections.len() == 1 {
        push_unique(&mut draft.body.volumes, target);
    } else {
        push_unique(&mut draft.host().binds, spec);
    }
    Ok(())
}

fn add_tmpfs(draft: &mut Draft, spec: &str) -> Result<(), String> {
    let (path, options) = spec.split_once(':').unwrap_or((spec, ""));
    require_absolute(path)?;
    insert(&mut draft.host().tmpfs, path, options);
    Ok(())
}

// ---------------------------------------------------------------------------
// Ports: -p, --expose

fn add_publish(draft: &mut Draft, spec: &str) -> Result<(), String> {
    for (port, binding) in parse_port_spec(spec)? {
        draft.expose(&port);
        draft
            .host()
            .port_bindings
            .get_or_insert_with(HashMap::new)
            .entry(port)
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    Ok(())
}

fn add_expose(draft: &mut Draft, spec: &str) -> Result<(), String> {
    if spec.contains(':') {
        return Err("--expose takes container ports only; use -p to publish".into());
    }
    let (proto, ports) = split_proto_port(spec);
    let (start, end) = port_range(ports)?;
    let proto = checked_protocol(proto)?;
    for port in start..=end {
        draft.expose(&format!("{port}/{proto}"));
    }
    Ok(())
}

/// `--network NAME`, or `--network name=NAME,alias=A,ip=…,ip6=…` (the
/// CLI's advanced form, whose settings are that network's own). Several
/// may be given: the container is created on the first and connected to
/// the others before it starts (see `container::networks`).
fn set_network(draft: &mut Draft, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("the network name is empty".into());
    }
    let mut network = NetworkDraft::default();
    if value.contains('=') {
        for field in csv_fields(value)? {
            let (key, setting) = field
                .split_once('=')
                .ok_or_else(|| format!("field {field:?} must be a key=value pair"))?;
            match key {
                "name" => network.name = setting.to_owned(),
                "alias" => network.aliases.push(setting.to_owned()),
                "ip" => network.ipv4 = Some(checked_ip::<Ipv4Addr>(setting, "IPv4")?),
                "ip6" => network.ipv6 = Some(checked_ip::<Ipv6Addr>(setting, "IPv6")?),
                "driver-opt" | "link-local-ip" | "mac-address" | "gw-priority" => {
                    return Err(format!(
                        "{key} is not supported (name, alias, ip and ip6 are)"
                    ))
                }
                other => {
                    return Err(format!(
                        "unknown field {other:?} (use name, alias, ip, ip6)"
                    ))
                }
            }
        }
        if network.name.is_empty() {
            return Err("name= is required".into());
        }
    } else {
        network.name = value.to_owned();
    }
    if draft
        .networks
        .iter()
        .any(|known| known.name == network.name)
    {
        return Err(format!("network {} is given twice", network.name));
    }
    if draft.networks.is_empty() {
        draft.host().network_mode = Some(network.name.clone());
    }
    draft.networks.push(network);
    Ok(())
}

// ---------------------------------------------------------------------------
// Security and namespaces

/// A seccomp profile is a file the CLI reads and sends inline: kept as a
/// path here, read when the container is created.
fn add_security_opt(draft: &mut Draft, value: &str) -> Result<(), String> {
    // Even a deferred option has a host config to land in.
    let host = draft.host();
    if value == "systempaths=unconfined" {
        // Client-side only: unmask /proc and friends rather than pass it on.
        host.masked_paths = Some(Vec::new());
        host.readonly_paths = Some(Vec::new());
        return Ok(());
    }
    // `seccomp:profile.json` is the old spelling of `seccomp=profile.json`.
    let pair = match value.split_once('=') {
        Some(pair) => Some(pair),
        None if value == "no-new-privileges" => None,
        None => Some(value.split_once(':').ok_or("expected key=value")?),
    };
    let opt = match pair {
        Some(("seccomp", "")) => return Err("the seccomp profile path is empty".into()),
        Some(("seccomp", profile)) if profile != "unconfined" => SecurityOpt::SeccompFile {
            value: value.to_owned(),
            path: profile.to_owned(),
        },
        _ => SecurityOpt::Verbatim(value.to_owned()),
    };
    push_to(&mut draft.security_opts, opt)
}

fn add_sysctl(draft: &mut Draft, value: &str) -> Result<(), String> {
    const ALLOWED: &str = "kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem kernel.shmall \
                           kernel.shmmax kernel.shmmni kernel.shm_rmid_forced";
    let (key, setting) = value
        .split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .ok_or("expected name=value")?;
    let namespaced = ALLOWED.split_whitespace().any(|known| known == key)
        || key.starts_with("net.")
        || key.starts_with("fs.mqueue.");
    if !namespaced {
        return Err(format!("{key} is not a namespaced sysctl docker allows"));
    }
    insert(&mut draft.host().sysctls, key, setting);
    Ok(())
}

fn add_device(draft: &mut Draft, spec: &str) -> Result<(), String> {
    push(&mut draft.host().devices, device_mapping(spec)?)
}

// ---------------------------------------------------------------------------
// Resources and lifecycle

fn add_ulimit(draft: &mut Draft, value: &str) -> Result<(), String> {
    let limit = ulimit(value)?;
    let limits = draft.host().ulimits.get_or_insert_with(Vec::new);
    // A repeated name replaces the earlier one, as in the CLI's map.
    match limits.iter_mut().find(|known| known.name == limit.name) {
        Some(known) => *known = limit,
        None => limits.push(limit),
    }
    Ok(())
}
