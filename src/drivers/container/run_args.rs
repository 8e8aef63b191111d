//! The `run_args` keyword of a container resource: `docker run` options,
//! translated into the Engine API create body.
//!
//! This module owns the option grammar (pflag rules as the docker CLI 20.10
//! applies them: `--opt value`, `--opt=value`, clustered short flags,
//! `--flag=false`) and the value syntaxes of each option (port specs, volume
//! specs, sizes, Go durations, ...), checked as strictly as the CLI checks
//! them so that a bad value is a configuration error rather than a failed
//! create. Like the CLI, it reads the files named by `--env-file` and
//! `--security-opt seccomp=` at translate time, and takes bare `-e NAME`
//! values from the environment of the process calling it. It knows nothing
//! about services: the image, the command, the container name and svcfs' own
//! labels are merged by the caller on top of the body [`translate`] returns.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigLogConfig, Mount, MountBindOptions, MountBindOptionsPropagationEnum,
    MountTmpfsOptions, MountType, MountVolumeOptions, MountVolumeOptionsDriverConfig,
    NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};

/// Why `run_args` could not be translated. The caller adds the resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunArgsError {
    #[error("cannot split run_args into words: {0}")]
    Words(String),
    #[error("unknown docker run option {0}")]
    UnknownOption(String),
    #[error("option {option} is not allowed: {reason}")]
    Refused { option: String, reason: String },
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("option {option}: invalid value {value:?}: {reason}")]
    BadValue {
        option: String,
        value: String,
        reason: String,
    },
    #[error(
        "unexpected argument {0:?}: run_args takes only options; put the command in run_command"
    )]
    Positional(String),
    #[error("--env-file {path}: {reason}")]
    EnvFile { path: String, reason: String },
}

/// What `run_args` adds to a container's create body.
pub fn translate(run_args: &str) -> Result<ContainerCreateBody, RunArgsError> {
    let words = shell_words::split(run_args).map_err(|e| RunArgsError::Words(e.to_string()))?;
    let mut draft = Draft::default();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word == "--" {
            // pflag stops reading options at `--`: what follows would be the image.
            return match words.next() {
                Some(next) => Err(RunArgsError::Positional(next)),
                None => draft.finish(),
            };
        }
        if let Some(long) = word.strip_prefix("--") {
            apply_long(&mut draft, long, &mut words)?;
        } else if word.len() > 1 && word.starts_with('-') {
            apply_short_cluster(&mut draft, &word[1..], &mut words)?;
        } else {
            return Err(RunArgsError::Positional(word));
        }
    }
    draft.finish()
}

// ---------------------------------------------------------------------------
// Option table

/// A handler returns only why a value is wrong; `apply` adds the option and
/// the value, so that every message names both the same way.
type ValueHandler = fn(&mut Draft, &str) -> Result<(), String>;
type FlagHandler = fn(&mut Draft, bool);

#[derive(Clone, Copy)]
enum Takes {
    Value(ValueHandler),
    Flag(FlagHandler),
    Refused(&'static str),
}

/// One docker run option. One-letter names are the short forms.
struct OptSpec {
    names: &'static [&'static str],
    takes: Takes,
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
static OPTIONS: &[OptSpec] = &[
    // Storage
    value(&["v", "volume"], add_volume),
    value(&["mount"], |d, v| push(&mut d.host().mounts, parse_mount(v)?)),
    value(&["tmpfs"], add_tmpfs),
    // Ports
    value(&["p", "publish"], add_publish),
    value(&["expose"], add_expose),
    flag(&["P", "publish-all"], |d, on| d.host().publish_all_ports = Some(on)),
    // Environment and metadata
    value(&["e", "env"], |d, v| push_to(&mut d.env, env_entry(v)?)),
    value(&["env-file"], |d, v| push_to(&mut d.env_files, v.to_owned())),
    value(&["l", "label"], |d, v| push_to(&mut d.labels, checked_label(v)?)),
    // Network
    value(&["network", "net"], set_network),
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

fn find_long(name: &str) -> Option<&'static OptSpec> {
    OPTIONS
        .iter()
        .find(|spec| name.len() > 1 && spec.names.contains(&name))
}

fn find_short(letter: char) -> Option<&'static OptSpec> {
    let mut buf = [0; 4];
    let letter: &str = letter.encode_utf8(&mut buf);
    OPTIONS.iter().find(|spec| spec.names.contains(&letter))
}

fn apply_long(
    draft: &mut Draft,
    word: &str,
    rest: &mut impl Iterator<Item = String>,
) -> Result<(), RunArgsError> {
    let (name, inline) = match word.split_once('=') {
        Some((name, inline)) => (name, Some(inline)),
        None => (word, None),
    };
    let written = format!("--{name}");
    let spec = find_long(name).ok_or_else(|| RunArgsError::UnknownOption(written.clone()))?;
    apply(draft, spec, &written, inline, rest)
}

/// `-itd`, `-itp 80:80`, `-p80:80`, `-p=80:80`, `-t=false`: pflag's rules,
/// where the first letter taking a value swallows the rest of the word.
fn apply_short_cluster(
    draft: &mut Draft,
    cluster: &str,
    rest: &mut impl Iterator<Item = String>,
) -> Result<(), RunArgsError> {
    let mut remaining = cluster;
    while let Some(letter) = remaining.chars().next() {
        let after = &remaining[letter.len_utf8()..];
        let written = format!("-{letter}");
        let spec =
            find_short(letter).ok_or_else(|| RunArgsError::UnknownOption(written.clone()))?;
        if after.len() > 1 && after.starts_with('=') {
            return apply(draft, spec, &written, Some(&after[1..]), rest);
        }
        match spec.takes {
            Takes::Value(_) if !after.is_empty() => {
                return apply(draft, spec, &written, Some(after), rest)
            }
            Takes::Value(_) | Takes::Refused(_) => return apply(draft, spec, &written, None, rest),
            Takes::Flag(_) => apply(draft, spec, &written, None, rest)?,
        }
        remaining = after;
    }
    Ok(())
}

fn apply(
    draft: &mut Draft,
    spec: &OptSpec,
    written: &str,
    inline: Option<&str>,
    rest: &mut impl Iterator<Item = String>,
) -> Result<(), RunArgsError> {
    match spec.takes {
        Takes::Refused(reason) => Err(RunArgsError::Refused {
            option: written.to_owned(),
            reason: reason.to_owned(),
        }),
        Takes::Flag(handler) => {
            let on = match inline {
                None => true,
                Some(text) => go_bool(text).map_err(|reason| bad_value(written, text, reason))?,
            };
            handler(draft, on);
            Ok(())
        }
        Takes::Value(handler) => {
            let value = match inline {
                Some(text) => text.to_owned(),
                // Like pflag, the next word is the value even if it starts with `-`
                // (`--memory-swap -1`).
                None => rest
                    .next()
                    .ok_or_else(|| RunArgsError::MissingValue(written.to_owned()))?,
            };
            handler(draft, &value).map_err(|reason| bad_value(written, &value, reason))
        }
    }
}

fn bad_value(option: &str, value: &str, reason: String) -> RunArgsError {
    RunArgsError::BadValue {
        option: option.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

// The setters return Ok so that a table handler can end with one of them.

fn set<T>(field: &mut Option<T>, value: T) -> Result<(), String> {
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

fn push_to<T>(list: &mut Vec<T>, item: T) -> Result<(), String> {
    list.push(item);
    Ok(())
}

fn push_unique(list: &mut Option<Vec<String>>, item: &str) {
    let list = list.get_or_insert_with(Vec::new);
    if !list.iter().any(|known| known == item) {
        list.push(item.to_owned());
    }
}

fn insert(map: &mut Option<HashMap<String, String>>, key: &str, value: &str) {
    map.get_or_insert_with(HashMap::new)
        .insert(key.to_owned(), value.to_owned());
}

fn key_value(text: &str) -> (&str, &str) {
    text.split_once('=').unwrap_or((text, ""))
}

// ---------------------------------------------------------------------------
// Draft: options whose effect depends on other options are settled in finish()

#[derive(Default)]
struct Draft {
    body: ContainerCreateBody,
    env: Vec<String>,
    env_files: Vec<String>,
    labels: Vec<String>,
    network: Option<String>,
    ipv4: Option<String>,
    ipv6: Option<String>,
    health: HealthDraft,
    log_driver: Option<String>,
    log_opts: Vec<String>,
}

#[derive(Default)]
struct HealthDraft {
    cmd: Option<String>,
    interval: i64,
    timeout: i64,
    start_period: i64,
    retries: i64,
    disabled: bool,
}

impl Draft {
    fn host(&mut self) -> &mut HostConfig {
        self.body
            .host_config
            .get_or_insert_with(HostConfig::default)
    }

    fn expose(&mut self, port: &str) {
        push_unique(&mut self.body.exposed_ports, port);
    }

    fn finish(mut self) -> Result<ContainerCreateBody, RunArgsError> {
        self.finish_env()?;
        self.finish_labels();
        self.finish_health()?;
        self.finish_log()?;
        self.finish_network()?;
        Ok(self.body)
    }

    /// The CLI puts env-file variables first, then `-e`, whatever the order
    /// on the command line, so `-e` always wins.
    fn finish_env(&mut self) -> Result<(), RunArgsError> {
        let mut env = Vec::new();
        for path in &self.env_files {
            let entries = read_env_file(path).map_err(|reason| RunArgsError::EnvFile {
                path: path.clone(),
                reason,
            })?;
            env.extend(entries);
        }
        env.append(&mut self.env);
        if !env.is_empty() {
            self.body.env = Some(env);
        }
        Ok(())
    }

    fn finish_labels(&mut self) {
        for entry in std::mem::take(&mut self.labels) {
            let (key, value) = key_value(&entry);
            insert(&mut self.body.labels, key, value);
        }
    }

    fn finish_health(&mut self) -> Result<(), RunArgsError> {
        let health = &self.health;
        let cmd = health.cmd.clone().filter(|cmd| !cmd.is_empty());
        let has_settings = cmd.is_some()
            || health.interval != 0
            || health.timeout != 0
            || health.start_period != 0
            || health.retries != 0;
        let nonzero = |n: i64| (n != 0).then_some(n);
        if health.disabled {
            if has_settings {
                return Err(RunArgsError::BadValue {
                    option: "--no-healthcheck".into(),
                    value: "true".into(),
                    reason: "conflicts with the --health-* options".into(),
                });
            }
            self.body.healthcheck = Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            });
        } else if has_settings {
            self.body.healthcheck = Some(HealthConfig {
                test: cmd.map(|cmd| vec!["CMD-SHELL".into(), cmd]),
                interval: nonzero(health.interval),
                timeout: nonzero(health.timeout),
                start_period: nonzero(health.start_period),
                retries: nonzero(health.retries),
                ..Default::default()
            });
        }
        Ok(())
    }

    fn finish_log(&mut self) -> Result<(), RunArgsError> {
        if self.log_driver.is_none() && self.log_opts.is_empty() {
            return Ok(());
        }
        if let (Some("none"), Some(first)) = (self.log_driver.as_deref(), self.log_opts.first()) {
            return Err(bad_value(
                "--log-opt",
                first,
                "the none log driver takes no options".into(),
            ));
        }
        let mut config = None;
        for opt in &self.log_opts {
            let (key, value) = key_value(opt);
            insert(&mut config, key, value);
        }
        let typ = self.log_driver.clone();
        self.host().log_config = Some(HostConfigLogConfig { typ, config });
        Ok(())
    }

    /// `--ip` and `--ip6` configure the endpoint of the
    /// `--network`, which the engine only allows on a user-defined network.
    /// (The CLI silently drops them when no --network is given; an error is
    /// kinder than a container that quietly gets another address.)
    fn finish_network(&mut self) -> Result<(), RunArgsError> {
        let (option, value) = match (&self.ipv4, &self.ipv6) {
            (Some(ipv4), _) => ("--ip", ipv4),
            (None, Some(ipv6)) => ("--ip6", ipv6),
            (None, None) => return Ok(()),
        };
        let Some(network) = self.network.as_ref().filter(|n| is_user_defined_network(n)) else {
            return Err(bad_value(
                option,
                value,
                "needs a user-defined network: add --network <name>".into(),
            ));
        };
        let endpoint = EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: self.ipv4.clone(),
                ipv6_address: self.ipv6.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.body.networking_config = Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.clone(), endpoint)])),
        });
        Ok(())
    }
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

/// The engine accepts at most one option of each group; checking here turns
/// its create-time error into a configuration error.
fn check_volume_mode(mode: &str) -> Result<(), String> {
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

fn require_absolute(path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(format!("{path:?} is not an absolute path"))
    }
}

fn add_tmpfs(draft: &mut Draft, spec: &str) -> Result<(), String> {
    let (path, options) = spec.split_once(':').unwrap_or((spec, ""));
    require_absolute(path)?;
    insert(&mut draft.host().tmpfs, path, options);
    Ok(())
}

/// `--mount` is a CSV list of key=value fields; the type defaults to volume.
fn parse_mount(spec: &str) -> Result<Mount, String> {
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
fn csv_fields(text: &str) -> Result<Vec<String>, String> {
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

/// `[ip:][hostport:]containerport[/proto]`, each port possibly a range; one
/// binding per container port.
fn parse_port_spec(spec: &str) -> Result<Vec<(String, PortBinding)>, String> {
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

fn split_proto_port(spec: &str) -> (&str, &str) {
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

fn port_range(text: &str) -> Result<(u16, u16), String> {
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

fn checked_protocol(proto: &str) -> Result<String, String> {
    let proto = proto.to_ascii_lowercase();
    match proto.as_str() {
        "tcp" | "udp" | "sctp" => Ok(proto),
        _ => Err(format!("unknown protocol {proto:?} (tcp, udp, sctp)")),
    }
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

// ---------------------------------------------------------------------------
// Environment and labels

/// A bare `-e NAME` takes its value from svcfs' own environment, as the CLI
/// takes it from the shell's; when unset, the bare name is sent, which tells
/// the engine to drop that variable from the image's environment.
fn env_entry(value: &str) -> Result<String, String> {
    let (name, has_value) = match value.split_once('=') {
        Some((name, _)) => (name, true),
        None => (value, false),
    };
    if name.is_empty() {
        return Err("the variable name is empty".into());
    }
    if has_value {
        return Ok(value.to_owned());
    }
    Ok(match std::env::var_os(name) {
        Some(found) => format!("{name}={}", found.to_string_lossy()),
        None => value.to_owned(),
    })
}

fn checked_label(value: &str) -> Result<String, String> {
    let key = key_value(value).0.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err("the label name is empty".into());
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label name {key:?} contains whitespace"));
    }
    Ok(value.to_owned())
}

/// Reads an env file the way the CLI does: `#` comments and blank lines
/// skipped, values taken verbatim, a bare NAME taken from the environment.
fn read_env_file(path: &str) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut entries = Vec::new();
    for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line =
            std::str::from_utf8(raw).map_err(|_| format!("line {}: invalid UTF-8", index + 1))?;
        let entry =
            env_file_line(line).map_err(|reason| format!("line {}: {reason}", index + 1))?;
        entries.extend(entry);
    }
    Ok(entries)
}

fn env_file_line(line: &str) -> Result<Option<String>, String> {
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
        None => std::env::var_os(name).map(|found| format!("{name}={}", found.to_string_lossy())),
    })
}

// ---------------------------------------------------------------------------
// Network

fn set_network(draft: &mut Draft, name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the network name is empty".into());
    }
    if name.contains('=') {
        return Err("the name=...,alias=... form is not supported; use --network NAME".into());
    }
    if draft.network.as_deref().is_some_and(|known| known != name) {
        // The engine (before API 1.44) attaches a new container to one network only.
        return Err("only one network can be given".into());
    }
    draft.network = Some(name.to_owned());
    draft.host().network_mode = Some(name.to_owned());
    Ok(())
}

fn is_user_defined_network(name: &str) -> bool {
    !matches!(name, "default" | "bridge" | "host" | "none") && !name.starts_with("container:")
}

fn checked_ip<T: std::str::FromStr>(value: &str, family: &str) -> Result<String, String> {
    value
        .parse::<T>()
        .map(|_| value.to_owned())
        .map_err(|_| format!("not an {family} address"))
}

/// The CLI sends --dns servers in Go's canonical form.
fn normalized_ip(value: &str) -> Result<String, String> {
    value
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical().to_string())
        .map_err(|_| "not an IP address".into())
}

/// A search domain as the CLI accepts it, sent without its trailing dot.
fn dns_search(value: &str) -> Result<String, String> {
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

fn extra_host(value: &str) -> Result<String, String> {
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
// Security and namespaces

/// The CLI reads a seccomp profile itself and sends its JSON inline.
fn add_security_opt(draft: &mut Draft, value: &str) -> Result<(), String> {
    if value == "systempaths=unconfined" {
        // Client-side only: unmask /proc and friends rather than pass it on.
        let host = draft.host();
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
    let entry = match pair {
        Some(("seccomp", profile)) if profile != "unconfined" => {
            format!("seccomp={}", seccomp_profile(profile)?)
        }
        _ => value.to_owned(),
    };
    push(&mut draft.host().security_opt, entry)
}

fn seccomp_profile(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read seccomp profile {path}: {e}"))?;
    let profile: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("seccomp profile {path} is not JSON: {e}"))?;
    Ok(profile.to_string())
}

fn ns_mode(value: &str, plain: &[&str], container_allowed: bool) -> Result<String, String> {
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

/// `host[:container][:rwm]` as the CLI reads it: a second field that is a
/// mode is the permissions, and paths are cleaned when the CLI cleans them.
fn device_mapping(spec: &str) -> Result<DeviceMapping, String> {
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

fn ulimit(value: &str) -> Result<ResourcesUlimits, String> {
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

fn restart_policy(value: &str) -> Result<RestartPolicy, String> {
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
fn ram_bytes(text: &str) -> Result<i64, String> {
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

fn swap_bytes(text: &str) -> Result<i64, String> {
    if text == "-1" {
        return Ok(-1);
    }
    ram_bytes(text)
}

/// `--cpus 1.5` → 1_500_000_000 nano CPUs, exactly (no float rounding).
fn nano_cpus(text: &str) -> Result<i64, String> {
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
fn go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn go_int(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a (64-bit) integer"))
}

fn non_negative(n: i64) -> Result<i64, String> {
    if n < 0 {
        Err("cannot be negative".into())
    } else {
        Ok(n)
    }
}

fn health_duration(text: &str) -> Result<i64, String> {
    non_negative(go_duration(text)?)
}

/// Go's time.ParseDuration (`1m30s`, `500ms`, `1.5h`), in nanoseconds.
fn go_duration(text: &str) -> Result<i64, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn translated(args: &str) -> ContainerCreateBody {
        translate(args).unwrap_or_else(|e| panic!("{args:?} should translate: {e}"))
    }

    fn host_of(args: &str) -> HostConfig {
        translated(args).host_config.expect("a host config")
    }

    fn error(args: &str) -> RunArgsError {
        translate(args).expect_err("should be refused")
    }

    fn bad_option(args: &str) -> String {
        match error(args) {
            RunArgsError::BadValue { option, .. } => option,
            other => panic!("{args:?}: expected BadValue, got {other:?}"),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn binding(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: Some(ip.into()),
            host_port: Some(port.into()),
        }
    }

    fn bindings(args: &str, port: &str) -> Vec<PortBinding> {
        let mut all = host_of(args).port_bindings.expect("port bindings");
        all.remove(port).flatten().expect("bindings for the port")
    }

    /// A file under the temp dir, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(tag: &str, contents: &[u8]) -> Self {
            let name = format!("svcfs-run-args-{}-{tag}", std::process::id());
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, contents).expect("write temp file");
            Self(path)
        }

        fn quoted(&self) -> String {
            shell_words::quote(self.0.to_str().expect("utf-8 temp path")).into_owned()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    // --- grammar -----------------------------------------------------------

    #[test]
    fn empty_run_args_add_nothing() {
        assert_eq!(translated("  "), ContainerCreateBody::default());
    }

    #[test]
    fn tutorial_docker_socket_bind_and_port_translate() {
        let body =
            translated("-v /opt/opensvc/var/app.opensvc.com/docker.sock:/docker.sock -p 8888:8000");
        let host = body.host_config.expect("host config");
        assert_eq!(
            host.binds,
            Some(strings(&[
                "/opt/opensvc/var/app.opensvc.com/docker.sock:/docker.sock"
            ]))
        );
        let ports = host.port_bindings.expect("port bindings");
        assert_eq!(ports.len(), 1);
        assert_eq!(ports["8000/tcp"], Some(vec![binding("", "8888")]));
        assert_eq!(body.exposed_ports, Some(strings(&["8000/tcp"])));
    }

    #[test]
    fn tutorial_rw_volume_and_ssh_port_translate() {
        let body = translated("-v /opt/app.opensvc.com/vol1:/vol1:rw -p 42222:22");
        let host = body.host_config.expect("host config");
        assert_eq!(
            host.binds,
            Some(strings(&["/opt/app.opensvc.com/vol1:/vol1:rw"]))
        );
        assert_eq!(
            host.port_bindings.expect("ports")["22/tcp"],
            Some(vec![binding("", "42222")])
        );
        assert_eq!(body.exposed_ports, Some(strings(&["22/tcp"])));
        assert_eq!(body.volumes, None);
    }

    #[test]
    fn long_option_value_may_follow_an_equals_sign() {
        assert_eq!(
            translated("--hostname=web").hostname.as_deref(),
            Some("web")
        );
        assert_eq!(translated("--env=A=1").env, Some(strings(&["A=1"])));
    }

    #[test]
    fn combined_short_flags_set_each_flag() {
        let body = translated("-itd");
        assert_eq!(body.tty, Some(true));
        assert_eq!(body.open_stdin, Some(true));
    }

    #[test]
    fn short_option_value_may_be_attached_or_follow_an_equals_sign() {
        for args in ["-p8080:80", "-p=8080:80", "-itp 8080:80", "-itp8080:80"] {
            assert_eq!(
                bindings(args, "80/tcp"),
                vec![binding("", "8080")],
                "{args}"
            );
        }
        assert_eq!(translated("-itp8080:80").tty, Some(true));
    }

    #[test]
    fn bool_flag_takes_an_explicit_false() {
        assert_eq!(host_of("--privileged=false").privileged, Some(false));
        assert_eq!(host_of("--privileged=1").privileged, Some(true));
        assert_eq!(translated("-t=false").tty, Some(false));
    }

    #[test]
    fn bool_flag_rejects_a_non_boolean_value() {
        assert_eq!(
            error("--init=maybe"),
            RunArgsError::BadValue {
                option: "--init".into(),
                value: "maybe".into(),
                reason: "expected true or false".into(),
            }
        );
    }

    #[test]
    fn bool_flag_does_not_take_the_next_word() {
        assert_eq!(
            error("--privileged false"),
            RunArgsError::Positional("false".into())
        );
    }

    #[test]
    fn option_value_may_start_with_a_dash() {
        assert_eq!(host_of("--memory-swap -1").memory_swap, Some(-1));
        assert_eq!(
            translated("--entrypoint -x").entrypoint,
            Some(strings(&["-x"]))
        );
    }

    #[test]
    fn repeated_list_options_accumulate_in_order() {
        let body = translated("-e A=1 --env B=2 -e=C=3");
        assert_eq!(body.env, Some(strings(&["A=1", "B=2", "C=3"])));
    }

    #[test]
    fn repeated_single_value_options_keep_the_last() {
        assert_eq!(translated("-h a -h b").hostname.as_deref(), Some("b"));
    }

    #[test]
    fn quoted_values_keep_their_spaces() {
        assert_eq!(
            translated(r#"-e "GREETING=hello world""#).env,
            Some(strings(&["GREETING=hello world"]))
        );
    }

    #[test]
    fn unknown_long_option_is_named_as_written() {
        assert_eq!(
            error("-d --frobnicate"),
            RunArgsError::UnknownOption("--frobnicate".into())
        );
        assert_eq!(
            error("--frobnicate=3"),
            RunArgsError::UnknownOption("--frobnicate".into())
        );
        assert_eq!(
            error("--platform linux/amd64"),
            RunArgsError::UnknownOption("--platform".into())
        );
    }

    #[test]
    fn unknown_short_option_in_a_cluster_is_named() {
        assert_eq!(error("-itx"), RunArgsError::UnknownOption("-x".into()));
    }

    #[test]
    fn name_is_refused() {
        assert_eq!(
            error("--name web"),
            RunArgsError::Refused {
                option: "--name".into(),
                reason: "svcfs names the container <svc>.container.<N>".into(),
            }
        );
    }

    #[test]
    fn rm_is_refused() {
        assert_eq!(
            error("-d --rm"),
            RunArgsError::Refused {
                option: "--rm".into(),
                reason: "svcfs keeps stopped containers (stop, then start reuses them)".into(),
            }
        );
    }

    #[test]
    fn option_missing_its_value_at_the_end_is_named() {
        assert_eq!(error("-d -p"), RunArgsError::MissingValue("-p".into()));
        assert_eq!(
            error("--memory"),
            RunArgsError::MissingValue("--memory".into())
        );
    }

    #[test]
    fn positional_word_is_rejected() {
        assert_eq!(error("-d nginx"), RunArgsError::Positional("nginx".into()));
        assert_eq!(error("-t -- sh"), RunArgsError::Positional("sh".into()));
        assert_eq!(error("-"), RunArgsError::Positional("-".into()));
    }

    #[test]
    fn unbalanced_quote_is_a_word_error() {
        assert!(matches!(error("-e 'A=1"), RunArgsError::Words(_)));
    }

    #[test]
    fn error_messages_name_option_and_value() {
        assert_eq!(
            error("-m 12x").to_string(),
            "option -m: invalid value \"12x\": \"12x\" is not a size (e.g. 512m, 1g, or bytes)"
        );
        assert_eq!(
            error("-d --frobnicate").to_string(),
            "unknown docker run option --frobnicate"
        );
    }

    // --- storage -----------------------------------------------------------

    #[test]
    fn volume_with_source_is_a_bind_sent_verbatim() {
        let host = host_of("-v /srv/a:/a -v data:/data:ro,nocopy --volume=/srv/b:/b:Z");
        assert_eq!(
            host.binds,
            Some(strings(&[
                "/srv/a:/a",
                "data:/data:ro,nocopy",
                "/srv/b:/b:Z"
            ]))
        );
    }

    #[test]
    fn volume_without_source_is_anonymous() {
        let body = translated("-v /data -v /data");
        assert_eq!(body.volumes, Some(strings(&["/data"])));
        assert_eq!(body.host_config, None);
    }

    #[test]
    fn volume_with_bad_mode_or_relative_target_is_refused() {
        assert_eq!(bad_option("-v /a:/b:rx"), "-v");
        assert_eq!(bad_option("-v /a:/b:ro,rw"), "-v");
        assert_eq!(bad_option("-v /a:b"), "-v");
        assert_eq!(bad_option("-v /a:/b:ro:x"), "-v");
        assert_eq!(bad_option("-v /a::/b"), "-v");
    }

    #[test]
    fn mount_bind_readonly_becomes_a_mount() {
        let mounts = host_of("--mount type=bind,source=/srv/conf,target=/etc/app,readonly")
            .mounts
            .expect("mounts");
        assert_eq!(
            mounts,
            vec![Mount {
                typ: Some(MountType::BIND),
                source: Some("/srv/conf".into()),
                target: Some("/etc/app".into()),
                read_only: Some(true),
                ..Default::default()
            }]
        );
    }

    #[test]
    fn mount_bind_propagation_and_ro_value_are_read() {
        let mounts = host_of("--mount type=bind,src=/a,dst=/b,ro=false,bind-propagation=rshared")
            .mounts
            .expect("mounts");
        assert_eq!(mounts[0].read_only, Some(false));
        assert_eq!(
            mounts[0].bind_options,
            Some(MountBindOptions {
                propagation: Some(MountBindOptionsPropagationEnum::RSHARED),
                ..Default::default()
            })
        );
    }

    #[test]
    fn mount_volume_takes_driver_options_with_quoted_fields() {
        let spec = r#"'type=volume,source=nfs,destination=/data,volume-driver=local,volume-opt=type=nfs,"volume-opt=o=addr=10.0.0.1,rw",volume-nocopy'"#;
        let mounts = host_of(&format!("--mount {spec}")).mounts.expect("mounts");
        let options = mounts[0].volume_options.clone().expect("volume options");
        assert_eq!(options.no_copy, Some(true));
        let driver = options.driver_config.expect("driver config");
        assert_eq!(driver.name.as_deref(), Some("local"));
        assert_eq!(
            driver.options,
            Some(map(&[("type", "nfs"), ("o", "addr=10.0.0.1,rw")]))
        );
        assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
    }

    #[test]
    fn mount_defaults_to_a_volume() {
        let mounts = host_of("--mount target=/cache").mounts.expect("mounts");
        assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
        assert_eq!(mounts[0].source, None);
    }

    #[test]
    fn mount_tmpfs_takes_size_and_octal_mode() {
        let mounts = host_of("--mount type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770")
            .mounts
            .expect("mounts");
        assert_eq!(
            mounts[0].tmpfs_options,
            Some(MountTmpfsOptions {
                size_bytes: Some(64 << 20),
                mode: Some(0o1770),
                ..Default::default()
            })
        );
    }

    #[test]
    fn mount_errors_are_bad_values() {
        assert_eq!(bad_option("--mount type=bind,source=/a"), "--mount");
        assert_eq!(
            bad_option("--mount type=volume,target=/a,bind-propagation=shared"),
            "--mount"
        );
        assert_eq!(bad_option("--mount type=nfs,target=/a"), "--mount");
        assert_eq!(bad_option("--mount target=/a,colour=blue"), "--mount");
        assert_eq!(bad_option("--mount target=/a,nocopy"), "--mount");
        assert_eq!(bad_option(r#"--mount 'target="/a'"#), "--mount");
    }

    #[test]
    fn tmpfs_maps_path_to_options() {
        let host = host_of("--tmpfs /run:rw,size=64m --tmpfs /tmp");
        assert_eq!(
            host.tmpfs,
            Some(map(&[("/run", "rw,size=64m"), ("/tmp", "")]))
        );
        assert_eq!(bad_option("--tmpfs run"), "--tmpfs");
    }

    // --- ports -------------------------------------------------------------

    #[test]
    fn publish_with_ip_and_protocol_binds_host_port() {
        let body = translated("-p 127.0.0.1:5353:53/udp");
        assert_eq!(body.exposed_ports, Some(strings(&["53/udp"])));
        assert_eq!(
            body.host_config.and_then(|h| h.port_bindings),
            Some(HashMap::from([(
                "53/udp".to_string(),
                Some(vec![binding("127.0.0.1", "5353")])
            )]))
        );
    }

    #[test]
    fn publish_with_bracketed_ipv6_strips_the_brackets() {
        assert_eq!(
            bindings("-p [::1]:80:8080", "8080/tcp"),
            vec![binding("::1", "80")]
        );
        assert_eq!(
            bindings("-p ::1:80:8080", "8080/tcp"),
            vec![binding("::1", "80")]
        );
    }

    #[test]
    fn publish_container_port_only_lets_the_engine_pick() {
        assert_eq!(bindings("-p 80", "80/tcp"), vec![binding("", "")]);
        assert_eq!(
            bindings("-p 10.0.0.1::80", "80/tcp"),
            vec![binding("10.0.0.1", "")]
        );
    }

    #[test]
    fn publish_port_ranges_pair_up() {
        let body = translated("-p 8000-8001:9000-9001");
        assert_eq!(body.exposed_ports, Some(strings(&["9000/tcp", "9001/tcp"])));
        let ports = body
            .host_config
            .and_then(|h| h.port_bindings)
            .expect("ports");
        assert_eq!(ports["9000/tcp"], Some(vec![binding("", "8000")]));
        assert_eq!(ports["9001/tcp"], Some(vec![binding("", "8001")]));
    }

    #[test]
    fn publish_single_port_to_host_range_keeps_the_range() {
        assert_eq!(
            bindings("-p 8000-8010:80", "80/tcp"),
            vec![binding("", "8000-8010")]
        );
    }

    #[test]
    fn publish_same_port_twice_adds_bindings() {
        assert_eq!(
            bindings("-p 80:80 -p 127.0.0.1:8080:80/TCP", "80/tcp"),
            vec![binding("", "80"), binding("127.0.0.1", "8080")]
        );
    }

    #[test]
    fn publish_rejects_bad_ports() {
        for args in [
            "-p 99999:80",
            "-p abc",
            "-p 80:",
            "-p 8000-8002:80-81",
            "-p 80/icmp",
            "-p 999.1.1.1:80:80",
            "-p 90-80",
            "-p +80",
        ] {
            assert_eq!(bad_option(args), "-p", "{args}");
        }
    }

    #[test]
    fn publish_all_sets_the_flag() {
        assert_eq!(host_of("-P").publish_all_ports, Some(true));
        assert_eq!(host_of("--publish-all").publish_all_ports, Some(true));
    }

    #[test]
    fn expose_adds_ports_and_ranges_without_bindings() {
        let body = translated("--expose 80 --expose 7000-7001/udp -p 8080:80");
        assert_eq!(
            body.exposed_ports,
            Some(strings(&["80/tcp", "7000/udp", "7001/udp"]))
        );
        assert_eq!(bad_option("--expose 80:80"), "--expose");
    }

    // --- environment and labels --------------------------------------------

    #[test]
    fn env_bare_name_takes_the_daemon_environment() {
        let path = std::env::var("PATH").expect("PATH is set");
        assert_eq!(
            translated("-e PATH").env,
            Some(vec![format!("PATH={path}")])
        );
    }

    #[test]
    fn env_bare_unset_name_is_sent_bare_like_docker() {
        let name = "SVCFS_RUN_ARGS_SURELY_UNSET_VARIABLE";
        assert_eq!(
            translated(&format!("-e {name}")).env,
            Some(strings(&[name]))
        );
    }

    #[test]
    fn env_without_name_is_refused() {
        assert_eq!(bad_option("-e =1"), "-e");
    }

    #[test]
    fn env_file_entries_come_before_env_options() {
        let file = TempFile::new(
            "env",
            b"\xEF\xBB\xBF# settings\n\n  A=1\r\nB= spaced value \nPATH\nSVCFS_RUN_ARGS_UNSET\n",
        );
        let args = format!("-e C=3 --env-file {}", file.quoted());
        let path = std::env::var("PATH").expect("PATH is set");
        assert_eq!(
            translated(&args).env,
            Some(vec![
                "A=1".to_string(),
                "B= spaced value ".to_string(),
                format!("PATH={path}"),
                "C=3".to_string(),
            ])
        );
    }

    #[test]
    fn env_file_errors_name_the_file() {
        let missing = "/nonexistent/svcfs/env";
        assert!(matches!(
            error(&format!("--env-file {missing}")),
            RunArgsError::EnvFile { path, .. } if path == missing
        ));
        let file = TempFile::new("env-bad", b"OK=1\nBAD NAME=2\n");
        match error(&format!("--env-file {}", file.quoted())) {
            RunArgsError::EnvFile { reason, .. } => {
                assert!(reason.starts_with("line 2:"), "{reason}")
            }
            other => panic!("expected EnvFile, got {other:?}"),
        }
    }

    #[test]
    fn labels_take_key_value_or_bare_key() {
        let body = translated("-l a=b --label flag -l c=d=e -l a=z");
        assert_eq!(
            body.labels,
            Some(map(&[("a", "z"), ("flag", ""), ("c", "d=e")]))
        );
        assert_eq!(bad_option("-l =x"), "-l");
        assert_eq!(bad_option("-l 'a b=c'"), "-l");
    }

    // --- network -----------------------------------------------------------

    #[test]
    fn network_sets_the_network_mode() {
        assert_eq!(
            host_of("--network backend").network_mode.as_deref(),
            Some("backend")
        );
        assert_eq!(host_of("--net=host").network_mode.as_deref(), Some("host"));
        assert_eq!(bad_option("--network a --network b"), "--network");
        assert_eq!(bad_option("--network name=a,alias=b"), "--network");
    }

    #[test]
    fn ip_and_ip6_configure_the_user_network_endpoint() {
        let body = translated("--network backend --ip 10.1.0.5 --ip6 fd00::5");
        let endpoints = body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .expect("endpoints");
        assert_eq!(
            endpoints,
            HashMap::from([(
                "backend".to_string(),
                EndpointSettings {
                    ipam_config: Some(EndpointIpamConfig {
                        ipv4_address: Some("10.1.0.5".into()),
                        ipv6_address: Some("fd00::5".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            )])
        );
    }

    #[test]
    fn ip_needs_a_user_defined_network() {
        assert_eq!(
            error("--ip 10.1.0.5"),
            RunArgsError::BadValue {
                option: "--ip".into(),
                value: "10.1.0.5".into(),
                reason: "needs a user-defined network: add --network <name>".into(),
            }
        );
        assert_eq!(bad_option("--network bridge --ip6 fd00::5"), "--ip6");
        assert_eq!(bad_option("--network backend --ip 10.1.0.300"), "--ip");
        assert_eq!(bad_option("--network backend --ip6 10.1.0.3"), "--ip6");
    }

    #[test]
    fn dns_servers_are_normalized() {
        let host = host_of("--dns 8.8.8.8 --dns ' 2001:DB8::1 ' --dns ::ffff:1.2.3.4");
        assert_eq!(
            host.dns,
            Some(strings(&["8.8.8.8", "2001:db8::1", "1.2.3.4"]))
        );
        assert_eq!(bad_option("--dns resolver"), "--dns");
    }

    #[test]
    fn dns_search_domains_drop_the_trailing_dot() {
        let host = host_of("--dns-search example.com. --dns-search .");
        assert_eq!(host.dns_search, Some(strings(&["example.com", "."])));
        assert_eq!(bad_option("--dns-search -bad-.com"), "--dns-search");
        assert_eq!(bad_option("--dns-search 1.2.3.4"), "--dns-search");
    }

    #[test]
    fn dns_options_pass_through() {
        let host = host_of("--dns-option ndots:2 --dns-opt timeout:1");
        assert_eq!(host.dns_options, Some(strings(&["ndots:2", "timeout:1"])));
    }

    #[test]
    fn add_host_becomes_extra_hosts() {
        let host = host_of("--add-host db:10.0.0.2 --add-host v6:::1 --add-host gw:host-gateway");
        assert_eq!(
            host.extra_hosts,
            Some(strings(&["db:10.0.0.2", "v6:::1", "gw:host-gateway"]))
        );
        assert_eq!(bad_option("--add-host db"), "--add-host");
        assert_eq!(bad_option("--add-host db:nowhere"), "--add-host");
    }

    #[test]
    fn hostname_and_domainname_are_set() {
        let body = translated("-h web --domainname example.com");
        assert_eq!(body.hostname.as_deref(), Some("web"));
        assert_eq!(body.domainname.as_deref(), Some("example.com"));
    }

    // --- process -----------------------------------------------------------

    #[test]
    fn entrypoint_is_one_word_and_empty_resets_it() {
        assert_eq!(
            translated("--entrypoint /bin/sh").entrypoint,
            Some(strings(&["/bin/sh"]))
        );
        assert_eq!(
            translated("--entrypoint '/bin/sh -c'").entrypoint,
            Some(strings(&["/bin/sh -c"]))
        );
        assert_eq!(
            translated("--entrypoint ''").entrypoint,
            Some(strings(&[""]))
        );
        assert_eq!(translated("--entrypoint=").entrypoint, Some(strings(&[""])));
    }

    #[test]
    fn workdir_and_user_are_set() {
        let body = translated("-w /srv -u 1000:1000");
        assert_eq!(body.working_dir.as_deref(), Some("/srv"));
        assert_eq!(body.user.as_deref(), Some("1000:1000"));
        assert_eq!(
            translated("--workdir=/app --user=app").user.as_deref(),
            Some("app")
        );
    }

    #[test]
    fn stop_signal_and_timeout_are_set() {
        let body = translated("--stop-signal SIGINT --stop-timeout 30");
        assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(body.stop_timeout, Some(30));
        assert_eq!(bad_option("--stop-timeout 30s"), "--stop-timeout");
    }

    #[test]
    fn tty_and_interactive_open_stdin_without_attaching() {
        let body = translated("-t -i");
        assert_eq!(body.tty, Some(true));
        assert_eq!(body.open_stdin, Some(true));
        assert_eq!(body.attach_stdin, None);
        assert_eq!(body.stdin_once, None);
        assert_eq!(translated("--tty --interactive").tty, Some(true));
    }

    #[test]
    fn detach_is_accepted_and_changes_nothing() {
        assert_eq!(translated("-d --detach"), ContainerCreateBody::default());
    }

    #[test]
    fn init_is_set() {
        assert_eq!(host_of("--init").init, Some(true));
    }

    // --- security and namespaces ---------------------------------------------

    #[test]
    fn privileged_and_capabilities_are_set() {
        let host = host_of("--privileged --cap-add NET_ADMIN --cap-add SYS_TIME --cap-drop ALL");
        assert_eq!(host.privileged, Some(true));
        assert_eq!(host.cap_add, Some(strings(&["NET_ADMIN", "SYS_TIME"])));
        assert_eq!(host.cap_drop, Some(strings(&["ALL"])));
    }

    #[test]
    fn security_opts_pass_through() {
        let host = host_of(
            "--security-opt no-new-privileges --security-opt label=disable \
             --security-opt seccomp=unconfined --security-opt apparmor:unconfined",
        );
        assert_eq!(
            host.security_opt,
            Some(strings(&[
                "no-new-privileges",
                "label=disable",
                "seccomp=unconfined",
                "apparmor:unconfined"
            ]))
        );
        assert_eq!(bad_option("--security-opt bogus"), "--security-opt");
    }

    #[test]
    fn seccomp_profile_file_is_sent_inline() {
        let file = TempFile::new(
            "seccomp",
            b"{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n",
        );
        let host = host_of(&format!("--security-opt seccomp={}", file.quoted()));
        assert_eq!(
            host.security_opt,
            Some(strings(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#]))
        );
        assert_eq!(
            bad_option("--security-opt seccomp=/nonexistent/profile.json"),
            "--security-opt"
        );
    }

    #[test]
    fn systempaths_unconfined_clears_masked_and_readonly_paths() {
        let host = host_of("--security-opt systempaths=unconfined");
        assert_eq!(host.masked_paths, Some(Vec::new()));
        assert_eq!(host.readonly_paths, Some(Vec::new()));
        assert_eq!(host.security_opt, None);
    }

    #[test]
    fn group_add_accumulates() {
        assert_eq!(
            host_of("--group-add audio --group-add 44").group_add,
            Some(strings(&["audio", "44"]))
        );
    }

    #[test]
    fn device_maps_host_to_container_with_permissions() {
        let devices =
            host_of("--device /dev/fuse --device /dev/sda:/dev/xvda:r --device /dev/snd/:rw")
                .devices
                .expect("devices");
        let device = |host: &str, container: &str, perms: &str| DeviceMapping {
            path_on_host: Some(host.into()),
            path_in_container: Some(container.into()),
            cgroup_permissions: Some(perms.into()),
        };
        assert_eq!(
            devices,
            vec![
                device("/dev/fuse", "/dev/fuse", "rwm"),
                device("/dev/sda", "/dev/xvda", "r"),
                device("/dev/snd", "/dev/snd", "rw"),
            ]
        );
    }

    #[test]
    fn device_errors_are_bad_values() {
        for args in [
            "--device /dev/sda:/dev/xvda:rx",
            "--device /dev/sda:xvda",
            "--device :/dev/sda",
            "--device /dev/sd*",
            "--device a:b:c:d",
        ] {
            assert_eq!(bad_option(args), "--device", "{args}");
        }
    }

    #[test]
    fn read_only_sets_a_read_only_root() {
        assert_eq!(host_of("--read-only").readonly_rootfs, Some(true));
    }

    #[test]
    fn namespace_modes_are_checked() {
        let host = host_of("--pid host --ipc container:db --uts host --userns host");
        assert_eq!(host.pid_mode.as_deref(), Some("host"));
        assert_eq!(host.ipc_mode.as_deref(), Some("container:db"));
        assert_eq!(host.uts_mode.as_deref(), Some("host"));
        assert_eq!(host.userns_mode.as_deref(), Some("host"));
        assert_eq!(
            host_of("--ipc shareable").ipc_mode.as_deref(),
            Some("shareable")
        );
        assert_eq!(
            host_of("--pid container:db").pid_mode.as_deref(),
            Some("container:db")
        );
        assert_eq!(bad_option("--pid private"), "--pid");
        assert_eq!(bad_option("--uts container:db"), "--uts");
        assert_eq!(bad_option("--userns private"), "--userns");
        assert_eq!(bad_option("--ipc container:"), "--ipc");
    }

    #[test]
    fn sysctls_must_be_namespaced() {
        let host = host_of("--sysctl net.ipv4.ip_forward=1 --sysctl kernel.shmmax=1000000");
        assert_eq!(
            host.sysctls,
            Some(map(&[
                ("net.ipv4.ip_forward", "1"),
                ("kernel.shmmax", "1000000")
            ]))
        );
        assert_eq!(bad_option("--sysctl vm.swappiness=10"), "--sysctl");
        assert_eq!(bad_option("--sysctl net.core.somaxconn"), "--sysctl");
    }

    // --- resources -----------------------------------------------------------

    #[test]
    fn memory_sizes_use_binary_units() {
        for (text, bytes) in [
            ("512m", 512 << 20),
            ("1g", 1 << 30),
            ("1.5g", 3 << 29),
            ("100", 100),
            ("4k", 4096),
            ("2GiB", 2 << 30),
            ("1kb", 1024),
            ("1 m", 1 << 20),
        ] {
            assert_eq!(
                host_of(&format!("-m '{text}'")).memory,
                Some(bytes),
                "{text}"
            );
        }
    }

    #[test]
    fn memory_rejects_bad_units() {
        for text in ["12x", "1mm", "-1", "", "1.2.3m", "m"] {
            assert_eq!(
                bad_option(&format!("--memory '{text}'")),
                "--memory",
                "{text}"
            );
        }
    }

    #[test]
    fn memory_swap_reservation_and_shm_size_are_sizes() {
        let host = host_of("--memory-swap 2g --memory-reservation 256m --shm-size 64m");
        assert_eq!(host.memory_swap, Some(2 << 30));
        assert_eq!(host.memory_reservation, Some(256 << 20));
        assert_eq!(host.shm_size, Some(64 << 20));
        assert_eq!(
            bad_option("--memory-reservation -1"),
            "--memory-reservation"
        );
    }

    #[test]
    fn oom_kill_disable_is_set() {
        assert_eq!(host_of("--oom-kill-disable").oom_kill_disable, Some(true));
    }

    #[test]
    fn cpus_become_exact_nano_cpus() {
        assert_eq!(host_of("--cpus 1.5").nano_cpus, Some(1_500_000_000));
        assert_eq!(host_of("--cpus 2").nano_cpus, Some(2_000_000_000));
        assert_eq!(host_of("--cpus .001").nano_cpus, Some(1_000_000));
        assert_eq!(host_of("--cpus 0.1234567890").nano_cpus, Some(123_456_789));
        assert_eq!(bad_option("--cpus 0.0000000001"), "--cpus");
        assert_eq!(bad_option("--cpus two"), "--cpus");
        assert_eq!(bad_option("--cpus -1"), "--cpus");
    }

    #[test]
    fn cpu_shares_period_quota_and_sets_are_set() {
        let host = host_of(
            "-c 512 --cpu-period 100000 --cpu-quota 50000 --cpuset-cpus 0-3 --cpuset-mems 0",
        );
        assert_eq!(host.cpu_shares, Some(512));
        assert_eq!(host.cpu_period, Some(100_000));
        assert_eq!(host.cpu_quota, Some(50_000));
        assert_eq!(host.cpuset_cpus.as_deref(), Some("0-3"));
        assert_eq!(host.cpuset_mems.as_deref(), Some("0"));
        assert_eq!(bad_option("--cpu-shares lots"), "--cpu-shares");
    }

    #[test]
    fn pids_limit_is_set() {
        assert_eq!(host_of("--pids-limit 100").pids_limit, Some(100));
        assert_eq!(host_of("--pids-limit=-1").pids_limit, Some(-1));
    }

    #[test]
    fn ulimits_take_soft_and_hard_limits() {
        let host = host_of("--ulimit nofile=1024:2048 --ulimit nproc=10 --ulimit nofile=4096");
        let limit = |name: &str, soft, hard| ResourcesUlimits {
            name: Some(name.into()),
            soft: Some(soft),
            hard: Some(hard),
        };
        assert_eq!(
            host.ulimits,
            Some(vec![limit("nofile", 4096, 4096), limit("nproc", 10, 10)])
        );
        assert_eq!(
            host_of("--ulimit core=0:-1").ulimits,
            Some(vec![limit("core", 0, -1)])
        );
    }

    #[test]
    fn ulimit_errors_are_bad_values() {
        for args in [
            "--ulimit files=10",
            "--ulimit nofile",
            "--ulimit nofile=2048:1024",
            "--ulimit nofile=1:2:3",
            "--ulimit nofile=lots",
        ] {
            assert_eq!(bad_option(args), "--ulimit", "{args}");
        }
    }

    // --- lifecycle and logging -----------------------------------------------

    #[test]
    fn restart_policies_are_parsed() {
        let policy = |args: &str| host_of(args).restart_policy.expect("restart policy");
        assert_eq!(
            policy("--restart always"),
            RestartPolicy {
                name: Some(RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }
        );
        assert_eq!(
            policy("--restart on-failure:5"),
            RestartPolicy {
                name: Some(RestartPolicyNameEnum::ON_FAILURE),
                maximum_retry_count: Some(5),
            }
        );
        assert_eq!(
            policy("--restart unless-stopped").name,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );
        assert_eq!(policy("--restart no").name, Some(RestartPolicyNameEnum::NO));
    }

    #[test]
    fn restart_errors_are_bad_values() {
        for args in [
            "--restart sometimes",
            "--restart always:3",
            "--restart on-failure:-1",
            "--restart on-failure:x",
            "--restart on-failure:1:2",
        ] {
            assert_eq!(bad_option(args), "--restart", "{args}");
        }
    }

    #[test]
    fn log_driver_and_options_become_log_config() {
        let host = host_of("--log-driver json-file --log-opt max-size=10m --log-opt max-file=3");
        assert_eq!(
            host.log_config,
            Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: Some(map(&[("max-size", "10m"), ("max-file", "3")])),
            })
        );
        assert_eq!(
            host_of("--log-opt tag=web").log_config,
            Some(HostConfigLogConfig {
                typ: None,
                config: Some(map(&[("tag", "web")])),
            })
        );
        assert_eq!(
            bad_option("--log-driver none --log-opt max-size=1m"),
            "--log-opt"
        );
    }

    // --- health --------------------------------------------------------------

    #[test]
    fn health_options_build_a_shell_healthcheck() {
        let body = translated(
            "--health-cmd 'curl -f http://localhost/ || exit 1' --health-interval 1m30s \
             --health-timeout 500ms --health-start-period 1h --health-retries 3",
        );
        assert_eq!(
            body.healthcheck,
            Some(HealthConfig {
                test: Some(strings(&[
                    "CMD-SHELL",
                    "curl -f http://localhost/ || exit 1"
                ])),
                interval: Some(90_000_000_000),
                timeout: Some(500_000_000),
                start_period: Some(3_600_000_000_000),
                retries: Some(3),
                ..Default::default()
            })
        );
    }

    #[test]
    fn health_timing_alone_keeps_the_image_test() {
        assert_eq!(
            translated("--health-interval 1.5s").healthcheck,
            Some(HealthConfig {
                interval: Some(1_500_000_000),
                ..Default::default()
            })
        );
    }

    #[test]
    fn no_healthcheck_disables_the_image_healthcheck() {
        assert_eq!(
            translated("--no-healthcheck").healthcheck,
            Some(HealthConfig {
                test: Some(strings(&["NONE"])),
                ..Default::default()
            })
        );
        assert_eq!(
            bad_option("--no-healthcheck --health-cmd true"),
            "--no-healthcheck"
        );
    }

    #[test]
    fn health_durations_must_be_go_durations() {
        for args in [
            "--health-interval 30",
            "--health-timeout 5x",
            "--health-start-period -1s",
            "--health-retries -1",
            "--health-interval ''",
        ] {
            assert!(
                matches!(error(args), RunArgsError::BadValue { .. }),
                "{args}"
            );
        }
    }

    #[test]
    fn go_durations_add_up_their_parts() {
        assert_eq!(go_duration("0"), Ok(0));
        assert_eq!(go_duration("1h2m3s4ms5us6ns"), Ok(3_723_004_005_006));
        assert_eq!(go_duration("2.5m"), Ok(150_000_000_000));
        assert_eq!(go_duration("1\u{b5}s"), Ok(1_000));
        assert_eq!(go_duration("-1.5s"), Ok(-1_500_000_000));
        assert!(go_duration("1.s.").is_err());
        assert!(go_duration("3000000h").is_err());
    }

    // --- wire format -----------------------------------------------------------

    #[test]
    fn serialized_body_uses_engine_api_field_names() {
        let body =
            translated("-p 8888:8000 -v /a:/b -e A=1 --restart always --cpus 1 --ulimit nofile=5");
        let json = serde_json::to_value(&body).expect("serializes");
        assert_eq!(json["ExposedPorts"], serde_json::json!({"8000/tcp": {}}));
        assert_eq!(
            json["HostConfig"]["PortBindings"],
            serde_json::json!({"8000/tcp": [{"HostIp": "", "HostPort": "8888"}]})
        );
        assert_eq!(json["HostConfig"]["Binds"], serde_json::json!(["/a:/b"]));
        assert_eq!(json["Env"], serde_json::json!(["A=1"]));
        assert_eq!(
            json["HostConfig"]["RestartPolicy"],
            serde_json::json!({"Name": "always"})
        );
        assert_eq!(
            json["HostConfig"]["NanoCpus"],
            serde_json::json!(1_000_000_000)
        );
        assert_eq!(
            json["HostConfig"]["Ulimits"],
            serde_json::json!([{"Name": "nofile", "Soft": 5, "Hard": 5}])
        );
    }

    #[test]
    fn serialized_anonymous_volume_is_an_object_of_paths() {
        let json = serde_json::to_value(translated("-v /data")).expect("serializes");
        assert_eq!(json, serde_json::json!({"Volumes": {"/data": {}}}));
    }
}
