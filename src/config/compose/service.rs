//! One Compose service → one `container#N`: its image, command, the
//! `run_args` its keys become, its dependencies, health check, restart
//! policy and grace period, with a comment for each decision and a note
//! for each key not carried.

use std::time::Duration;

use super::dotenv;
use super::project::{bool_of, did_you_mean, pairs, text_of, unknown_keys, Defs};
use super::yaml::{Entry, Node, Value};
use super::Ctx;
use crate::drivers::container::run_args::go_duration;

/// How a dependency must stand before its dependent starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    Started,
    Healthy,
    Completed,
}

impl Condition {
    pub fn word(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::Completed => "service_completed_successfully",
        }
    }
}

/// One `depends_on` entry (or a dependency a key implies).
#[derive(Debug, Clone)]
pub(crate) struct Dep {
    pub service: String,
    pub condition: Condition,
    pub required: bool,
    pub line: usize,
    /// What implies it when not depends_on (`links`, `network_mode`).
    pub implied_by: Option<&'static str>,
}

/// `network_mode`.
#[derive(Debug, Clone)]
pub(crate) enum NetworkMode {
    /// `host`, `none`, `bridge`, `container:NAME`: as written.
    Plain(String),
    /// `service:NAME`: the container of that service.
    Service(String),
}

/// A network a container joins.
#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    /// The docker network's name.
    pub name: String,
    /// The names the others resolve it by (its service's first).
    pub aliases: Vec<String>,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
}

/// A container as the file will say it.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub name: String,
    pub line: usize,
    pub image: String,
    pub command: Option<Vec<String>>,
    /// run_args words, in order, but the network ones.
    pub args: Vec<String>,
    pub network_mode: Option<NetworkMode>,
    /// The networks it joins, in order.
    pub networks: Vec<Attachment>,
    /// Comments on the decisions made, one line each.
    pub comments: Vec<String>,
    pub depends: Vec<Dep>,
    /// The health check's bound on a start (when it has one).
    pub health_bound: Option<Duration>,
    /// It sets a health check of its own.
    pub has_healthcheck: bool,
    /// (tries, why).
    pub restart: Option<(u32, String)>,
    pub stop_timeout: Option<Duration>,
    pub oneshot: bool,
    pub optional: bool,
    /// Why it is disabled (profiles), if it is.
    pub disabled: Option<String>,
}

impl Container {
    /// An empty slot, while the containers are put in start order.
    pub fn placeholder() -> Self {
        Container {
            name: String::new(),
            line: 0,
            image: String::new(),
            command: None,
            args: Vec::new(),
            network_mode: None,
            networks: Vec::new(),
            comments: Vec::new(),
            depends: Vec::new(),
            health_bound: None,
            has_healthcheck: false,
            restart: None,
            stop_timeout: None,
            oneshot: false,
            optional: false,
            disabled: None,
        }
    }
}

/// What `restart: always` becomes: svcfs counts its tries (each wait
/// doubled up to 30 s), docker's policy has no end.
pub(crate) const ALWAYS_TRIES: u32 = 1000;

/// The bound on a job's run (Compose waits without one).
pub(crate) const JOB_TIMEOUT: Duration = Duration::from_secs(3600);

/// Keys Compose knows that svcfs does not carry, and leaving them out
/// would change what runs.
const CHANGES_MEANING: &[(&str, &str)] = &[
    ("build", "svcfs runs images, it builds none: build the image first (docker build -t NAME DIR) and name it in image:"),
    ("blkio_config", "block I/O weights and limits are not carried (run_args has no --blkio-weight)"),
    ("cgroup", "the cgroup namespace mode is not carried (run_args has no --cgroupns)"),
    ("cgroup_parent", "the parent cgroup is not carried (run_args has no --cgroup-parent)"),
    ("cpu_rt_period", "real-time CPU scheduling is not carried"),
    ("cpu_rt_runtime", "real-time CPU scheduling is not carried"),
    ("device_cgroup_rules", "device cgroup rules are not carried (run_args has no --device-cgroup-rule)"),
    ("extends", "the service it extends is not merged in: copy its keys into this service"),
    ("external_links", "links to containers outside the project are not carried: put them on a shared network (external: true)"),
    ("gpus", "GPUs are not carried (run_args has no --gpus)"),
    ("label_file", "labels from a file are not carried: write them under labels:"),
    ("mac_address", "a fixed MAC address is not carried (run_args has no --mac-address)"),
    ("mem_swappiness", "memory swappiness is not carried (run_args has no --memory-swappiness)"),
    ("models", "AI models are not carried"),
    ("oom_score_adj", "the OOM score adjustment is not carried (run_args has no --oom-score-adj)"),
    ("post_start", "lifecycle hooks are not carried: svcfs runs no command in a started container"),
    ("pre_stop", "lifecycle hooks are not carried: svcfs runs no command in a container before its stop"),
    ("provider", "provider services are not carried: svcfs runs containers"),
    ("runtime", "another OCI runtime is not carried (run_args has no --runtime)"),
    ("storage_opt", "storage driver options are not carried (run_args has no --storage-opt)"),
    ("use_api_socket", "the docker API socket is not carried: bind it with volumes: if the service needs it"),
    ("volumes_from", "volumes of another container are not carried: declare the volumes and mount them in both services"),
];

/// Keys Compose knows that are safely left out, and why.
const SAFELY_IGNORED: &[(&str, &str)] = &[
    (
        "annotations",
        "ignored: OCI annotations need API 1.43 and do not change what runs",
    ),
    (
        "attach",
        "ignored: svcfs attaches to no container's output (svcfs docker SVC logs shows it)",
    ),
    ("cpu_count", "ignored: Windows containers only"),
    ("cpu_percent", "ignored: Windows containers only"),
    ("credential_spec", "ignored: Windows containers only"),
    ("develop", "ignored: compose watch is a development tool"),
    ("isolation", "ignored: Windows containers only"),
    (
        "platform",
        "ignored: svcfs runs the image of the local store as it is",
    ),
    (
        "pull_policy",
        "ignored: svcfs never pulls: the image must be in the daemon's local store",
    ),
];

/// Every service key this module reads.
const CARRIED: &[&str] = &[
    "cap_add",
    "cap_drop",
    "command",
    "configs",
    "container_name",
    "cpu_period",
    "cpu_quota",
    "cpu_shares",
    "cpus",
    "cpuset",
    "depends_on",
    "deploy",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extra_hosts",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "labels",
    "links",
    "logging",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "pid",
    "pids_limit",
    "ports",
    "privileged",
    "profiles",
    "read_only",
    "restart",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "working_dir",
];

/// A service's reading, with what it needs at hand.
pub(super) struct Reader<'c, 'a> {
    pub(super) ctx: &'c mut Ctx<'a>,
    pub(super) defs: &'c mut Defs,
    pub(super) key: String,
    pub(super) c: Container,
    tty: bool,
    stdin_open: bool,
    /// The arguments of a list entrypoint beyond its program.
    entrypoint_rest: Option<Vec<String>>,
    /// container_name, mapped to an alias.
    pub(super) container_name: Option<String>,
}

/// Read one service.
pub(crate) fn read(ctx: &mut Ctx<'_>, defs: &mut Defs, entry: &Entry) -> Container {
    let mut c = Container::placeholder();
    c.name = entry.key.clone();
    c.line = entry.line;
    let mut r = Reader {
        ctx,
        defs,
        key: format!("services.{}", entry.key),
        c,
        tty: false,
        stdin_open: false,
        entrypoint_rest: None,
        container_name: None,
    };
    let Some(entries) = entry.value.entries() else {
        let shape = entry.value.shape();
        r.ctx.error(
            entry.line,
            &r.key,
            format!("a service is a mapping, not {shape}"),
        );
        return r.c;
    };
    if !valid_service_name(&entry.key) {
        r.ctx.error(
            entry.line,
            &r.key,
            "a service name is letters, digits, '.', '_' and '-', starting with a letter or digit",
        );
    }
    for e in entries {
        r.entry(e);
    }
    if r.c.image.is_empty() && entry.value.get("build").is_none() {
        let key = r.key.clone();
        r.ctx.error(
            entry.line,
            &key,
            "no image: svcfs runs an image of the local store, set image:",
        );
    }
    r.finish(&entry.value);
    r.c
}

fn valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Words of a `command`/`entrypoint`: a list as written, a string split
/// with shell rules (as Compose splits it).
pub(super) fn command_words(ctx: &mut Ctx<'_>, node: &Node, key: &str) -> Option<Vec<String>> {
    match &node.value {
        Value::Null => None,
        Value::Scalar { text, .. } => match shell_words::split(text) {
            Ok(words) => Some(words),
            Err(e) => {
                ctx.error(node.line, key, format!("cannot split into words: {e}"));
                None
            }
        },
        Value::Seq(items) => Some(
            items
                .iter()
                .map(|i| text_of(i).unwrap_or_default())
                .collect(),
        ),
        Value::Map(_) => {
            ctx.error(node.line, key, "must be a string or a list");
            None
        }
    }
}

/// A string, or a list of strings.
pub(super) fn strings(ctx: &mut Ctx<'_>, node: &Node, key: &str) -> Vec<String> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Scalar { text, .. } => vec![text.clone()],
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| {
                let text = text_of(i);
                if text.is_none() {
                    ctx.error(
                        i.line,
                        key,
                        format!("each item must be a single value, not {}", i.shape()),
                    );
                }
                text
            })
            .collect(),
        Value::Map(_) => {
            ctx.error(node.line, key, "must be a string or a list");
            Vec::new()
        }
    }
}

/// A Compose duration (`1m30s`, `10s`, `500ms`).
pub(super) fn duration(ctx: &mut Ctx<'_>, node: &Node, key: &str) -> Option<Duration> {
    let text = text_of(node)?;
    match go_duration(&text) {
        Ok(nanos) if nanos >= 0 => Some(Duration::from_nanos(nanos as u64)),
        _ => {
            ctx.error(
                node.line,
                key,
                format!("{text:?} is not a duration (1m30s, 10s, 500ms)"),
            );
            None
        }
    }
}

/// A duration as svcfs writes it.
pub(crate) fn svcfs_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl Reader<'_, '_> {
    pub(super) fn sub(&self, key: &str) -> String {
        format!("{}.{key}", self.key)
    }

    pub(super) fn arg(&mut self, words: &[&str]) {
        self.c.args.extend(words.iter().map(|w| w.to_string()));
    }

    pub(super) fn comment(&mut self, text: impl Into<String>) {
        self.c.comments.push(text.into());
    }

    fn entry(&mut self, e: &Entry) {
        let key = self.sub(&e.key);
        let node = &e.value;
        if e.key.starts_with("x-") {
            return;
        }
        if let Some((_, why)) = CHANGES_MEANING.iter().find(|(k, _)| *k == e.key) {
            self.ctx.error(e.line, &key, *why);
            return;
        }
        if let Some((_, why)) = SAFELY_IGNORED.iter().find(|(k, _)| *k == e.key) {
            self.ctx.warn(e.line, &key, *why);
            return;
        }
        if !CARRIED.contains(&e.key.as_str()) {
            let known: Vec<&str> = CARRIED
                .iter()
                .chain(CHANGES_MEANING.iter().map(|(k, _)| k))
                .chain(SAFELY_IGNORED.iter().map(|(k, _)| k))
                .copied()
                .collect();
            let hint = did_you_mean(&e.key, &known);
            self.ctx.error(
                e.line,
                &key,
                format!("not a key of the Compose specification{hint}: Compose refuses the file"),
            );
            return;
        }
        match e.key.as_str() {
            "image" => match text_of(node) {
                Some(image) if !image.trim().is_empty() => self.c.image = image,
                _ => self.ctx.error(e.line, &key, "the image must be a name"),
            },
            "command" => {
                self.c.command = command_words(self.ctx, node, &key);
                if self.c.command.as_ref().is_some_and(Vec::is_empty) {
                    self.ctx
                        .warn(e.line, &key, "an empty command runs the image's CMD");
                    self.c.command = None;
                }
            }
            "entrypoint" => self.entrypoint(node, &key),
            "environment" => self.environment(node, &key),
            "env_file" => self.env_file(node, &key),
            "ports" => self.ports(node, &key),
            "expose" => {
                for port in strings(self.ctx, node, &key) {
                    self.arg(&["--expose", &port]);
                }
            }
            "volumes" => self.volumes(node, &key),
            "tmpfs" => {
                for mount in strings(self.ctx, node, &key) {
                    self.arg(&["--tmpfs", &mount]);
                }
            }
            "networks" | "network_mode" | "links" | "depends_on" => {}
            "secrets" => self.files(node, &key, true),
            "configs" => self.files(node, &key, false),
            "healthcheck" => self.healthcheck(node, &key),
            "restart" => {
                if let Some(policy) = text_of(node) {
                    self.restart(&policy, None, e.line, &key);
                }
            }
            "stop_grace_period" => self.c.stop_timeout = duration(self.ctx, node, &key),
            "stop_signal" => self.value("--stop-signal", node),
            "user" => self.value("--user", node),
            "working_dir" => self.value("--workdir", node),
            "hostname" => self.value("--hostname", node),
            "domainname" => self.value("--domainname", node),
            "extra_hosts" => self.extra_hosts(node, &key),
            "labels" => {
                for (k, v) in pairs(self.ctx, node, &key) {
                    let label = format!("{k}={}", v.unwrap_or_default());
                    self.arg(&["--label", &label]);
                }
            }
            "cap_add" => self.each("--cap-add", node, &key),
            "cap_drop" => self.each("--cap-drop", node, &key),
            "privileged" => self.flag("--privileged", node, &key),
            "read_only" => self.flag("--read-only", node, &key),
            "init" => self.flag("--init", node, &key),
            "oom_kill_disable" => self.flag("--oom-kill-disable", node, &key),
            "tty" => self.tty = bool_of(self.ctx, node, &key).unwrap_or(false),
            "stdin_open" => self.stdin_open = bool_of(self.ctx, node, &key).unwrap_or(false),
            "ulimits" => self.ulimits(node, &key),
            "sysctls" => {
                for (k, v) in pairs(self.ctx, node, &key) {
                    let setting = format!("{k}={}", v.unwrap_or_default());
                    self.arg(&["--sysctl", &setting]);
                }
            }
            "dns" => self.each("--dns", node, &key),
            "dns_search" => self.each("--dns-search", node, &key),
            "dns_opt" => self.each("--dns-option", node, &key),
            "devices" => self.devices(node, &key),
            "security_opt" => self.each("--security-opt", node, &key),
            "group_add" => self.each("--group-add", node, &key),
            "logging" => self.logging(node, &key),
            "shm_size" => self.value("--shm-size", node),
            "pid" => self.value("--pid", node),
            "ipc" => self.value("--ipc", node),
            "uts" => self.value("--uts", node),
            "userns_mode" => self.value("--userns", node),
            "mem_limit" => self.value("--memory", node),
            "mem_reservation" => self.value("--memory-reservation", node),
            "memswap_limit" => self.value("--memory-swap", node),
            "cpus" => self.value("--cpus", node),
            "cpu_shares" => self.value("--cpu-shares", node),
            "cpu_period" => self.value("--cpu-period", node),
            "cpu_quota" => self.value("--cpu-quota", node),
            "cpuset" => self.value("--cpuset-cpus", node),
            "pids_limit" => self.value("--pids-limit", node),
            "deploy" => self.deploy(node, &key),
            "scale" => self.scale(node, &key),
            "profiles" => self.profiles(node, &key),
            "container_name" => self.container_name(node, &key),
            _ => {}
        }
    }

    fn value(&mut self, option: &str, node: &Node) {
        if let Some(value) = text_of(node) {
            self.arg(&[option, &value]);
        }
    }

    fn each(&mut self, option: &str, node: &Node, key: &str) {
        for value in strings(self.ctx, node, key) {
            self.arg(&[option, &value]);
        }
    }

    fn flag(&mut self, option: &str, node: &Node, key: &str) {
        if bool_of(self.ctx, node, key) == Some(true) {
            self.arg(&[option]);
        }
    }

    fn entrypoint(&mut self, node: &Node, key: &str) {
        let Some(words) = command_words(self.ctx, node, key) else {
            return;
        };
        // `--entrypoint` takes one program, as docker run's does; the
        // rest of a list goes before the command, which is what the
        // engine runs (entrypoint + cmd), and an entrypoint clears the
        // image's CMD in both.
        match words.split_first() {
            None => {
                self.arg(&["--entrypoint", ""]);
                self.comment(
                    "entrypoint: empty, which resets the image's entrypoint (--entrypoint \"\")",
                );
            }
            Some((program, rest)) => {
                self.arg(&["--entrypoint", program]);
                if !rest.is_empty() {
                    // Put before the command at the end: the command may
                    // come after in the file.
                    self.c.comments.push(format!(
                        "entrypoint: {program} with its arguments {} put before the command (--entrypoint takes one program; the engine runs entrypoint then command)",
                        shell_words::join(rest)
                    ));
                    self.entrypoint_rest = Some(rest.to_vec());
                }
            }
        }
    }
}

impl Reader<'_, '_> {
    fn environment(&mut self, node: &Node, key: &str) {
        for (name, value) in pairs(self.ctx, node, key) {
            match value {
                Some(value) => {
                    let entry = format!("{name}={value}");
                    self.arg(&["-e", &entry]);
                }
                // Compose resolves a bare name from the project's
                // environment; svcfs's `-e NAME` from its own at create.
                None => match self.ctx.dotenv_var(&name) {
                    Some(value) => {
                        let entry = format!("{name}={value}");
                        self.arg(&["-e", &entry]);
                        self.comment(format!("environment: {name} has no value here: its value is the project's .env one"));
                    }
                    None => {
                        self.arg(&["-e", &name]);
                        self.comment(format!("environment: {name} has no value: it is taken from svcfs's environment when the container is created (left out when unset), as Compose takes it from its own"));
                    }
                },
            }
        }
    }

    /// Env files, read as Compose reads them (quotes, `export`,
    /// interpolation), their variables before `environment`'s as
    /// Compose puts them.
    fn env_file(&mut self, node: &Node, key: &str) {
        let items: Vec<(String, bool, usize)> = match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| match &item.value {
                    Value::Map(_) => {
                        let required = match item.get("required") {
                            Some(n) => bool_of(self.ctx, n, key).unwrap_or(true),
                            None => true,
                        };
                        if let Some(format) = item.get("format").and_then(text_of) {
                            self.ctx.error(item.line, key, format!("env file format {format:?} is not read: svcfs reads Compose's own"));
                        }
                        item.get("path").and_then(text_of).map(|p| (p, required, item.line))
                    }
                    _ => text_of(item).map(|p| (p, true, item.line)),
                })
                .collect(),
            _ => text_of(node).map(|p| vec![(p, true, node.line)]).unwrap_or_default(),
        };
        let mut entries: Vec<String> = Vec::new();
        for (written, required, line) in items {
            let path = self.ctx.path(&written);
            let text = match self.ctx.read_file(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                    self.comment(format!("env_file: {written} does not exist and is not required: none of its variables"));
                    continue;
                }
                Err(e) => {
                    self.ctx
                        .error(line, key, format!("cannot read {}: {e}", path.display()));
                    continue;
                }
            };
            let lookup = |name: &str| self.ctx.var(name);
            match dotenv::parse(&text, &lookup) {
                Ok(vars) => {
                    for var in vars {
                        entries.retain(|e| e.split('=').next() != Some(var.name.as_str()));
                        entries.push(format!("{}={}", var.name, var.value));
                    }
                    self.comment(match self.ctx.input.made_by {
                        super::MadeBy::Import => format!("env_file: {written} was read as Compose reads it (quotes, interpolation): its variables are the -e options below"),
                        super::MadeBy::ConfigDir => format!("env_file: {written} is read as Compose reads it (quotes, interpolation): its variables are the -e options below, read again when it changes"),
                    });
                }
                Err((at, why)) => self.ctx.notes.push(super::Note {
                    file: path,
                    line: at,
                    key: key.to_string(),
                    severity: crate::config::Severity::Error,
                    why,
                }),
            }
        }
        // Before `environment`'s, which win (docker keeps the last).
        let mut args: Vec<String> = entries
            .into_iter()
            .flat_map(|e| ["-e".to_string(), e])
            .collect();
        args.append(&mut self.c.args);
        self.c.args = args;
    }

    fn ports(&mut self, node: &Node, key: &str) {
        let Some(items) = node.items() else {
            if !node.is_null() {
                self.ctx.error(node.line, key, "must be a list");
            }
            return;
        };
        for item in items {
            match &item.value {
                Value::Map(_) => {
                    unknown_keys(
                        self.ctx,
                        item,
                        key,
                        &[
                            "target",
                            "published",
                            "host_ip",
                            "protocol",
                            "mode",
                            "name",
                            "app_protocol",
                        ],
                    );
                    let Some(target) = item.get("target").and_then(text_of) else {
                        self.ctx.error(item.line, key, "a port needs its target");
                        continue;
                    };
                    if item
                        .get("mode")
                        .and_then(|n| n.text())
                        .is_some_and(|m| m != "host" && m != "ingress")
                    {
                        self.ctx.error(item.line, key, "mode is host or ingress");
                    }
                    let mut spec = String::new();
                    if let Some(ip) = item.get("host_ip").and_then(text_of) {
                        spec.push_str(&format!("{ip}:"));
                    }
                    match item.get("published").and_then(text_of) {
                        Some(published) => spec.push_str(&format!("{published}:")),
                        None if !spec.is_empty() => spec.push(':'),
                        None => {}
                    }
                    spec.push_str(&target);
                    if let Some(protocol) = item.get("protocol").and_then(text_of) {
                        spec.push_str(&format!("/{protocol}"));
                    }
                    self.arg(&["-p", &spec]);
                }
                _ => match text_of(item) {
                    Some(spec) => self.arg(&["-p", &spec]),
                    None => self
                        .ctx
                        .error(item.line, key, "a port is a string or a mapping"),
                },
            }
        }
    }

    fn healthcheck(&mut self, node: &Node, key: &str) {
        unknown_keys(
            self.ctx,
            node,
            key,
            &[
                "test",
                "interval",
                "timeout",
                "retries",
                "start_period",
                "start_interval",
                "disable",
            ],
        );
        if let Some(n) = node.get("disable") {
            if bool_of(self.ctx, n, key) == Some(true) {
                self.arg(&["--no-healthcheck"]);
                return;
            }
        }
        let test: Vec<String> = match node.get("test").map(|n| &n.value) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Scalar { text, .. }) => vec!["CMD-SHELL".into(), text.clone()],
            Some(Value::Seq(items)) => items
                .iter()
                .map(|i| text_of(i).unwrap_or_default())
                .collect(),
            Some(Value::Map(_)) => {
                self.ctx
                    .error(node.line, key, "test must be a string or a list");
                return;
            }
        };
        match test.split_first() {
            Some((kind, rest)) if kind == "NONE" => {
                let _ = rest;
                self.arg(&["--no-healthcheck"]);
                return;
            }
            Some((kind, rest)) if kind == "CMD-SHELL" => {
                self.arg(&["--health-cmd", &rest.join(" ")]);
            }
            Some((kind, rest)) if kind == "CMD" => {
                let line = shell_words::join(rest);
                self.arg(&["--health-cmd", &line]);
                self.comment("healthcheck: its exec form runs through /bin/sh -c here (--health-cmd takes a shell command, as docker run's)");
            }
            Some((kind, _)) => {
                self.ctx.error(
                    node.line,
                    &format!("{key}.test"),
                    format!("starts with {kind:?}: use CMD, CMD-SHELL or NONE"),
                );
                return;
            }
            None => {}
        }
        let mut timing = |name: &str, option: &str| {
            node.get(name).and_then(|n| {
                let d = duration(self.ctx, n, &format!("{key}.{name}"))?;
                self.c.args.extend([option.to_string(), svcfs_duration(d)]);
                Some(d)
            })
        };
        let interval = timing("interval", "--health-interval").unwrap_or(Duration::from_secs(30));
        let timeout = timing("timeout", "--health-timeout").unwrap_or(Duration::from_secs(30));
        let start_period = timing("start_period", "--health-start-period").unwrap_or_default();
        let retries = node
            .get("retries")
            .and_then(text_of)
            .map(|r| match r.parse::<u32>() {
                Ok(n) => {
                    self.arg(&["--health-retries", &r]);
                    n
                }
                Err(_) => {
                    self.ctx.error(
                        node.line,
                        &format!("{key}.retries"),
                        "must be a whole number",
                    );
                    3
                }
            })
            .unwrap_or(3);
        if let Some(n) = node.get("start_interval") {
            self.ctx.warn(
                n.line,
                &format!("{key}.start_interval"),
                "ignored: it needs API 1.44; probes of the start period come at the interval",
            );
        }
        self.c.has_healthcheck = true;
        // The longest docker may take to say healthy or unhealthy.
        let bound = start_period + (interval + timeout) * retries.max(1) + Duration::from_secs(10);
        self.c.health_bound = Some(bound);
    }

    /// `restart:` (or `deploy.restart_policy`) onto svcfs's restart: tries
    /// when the container goes down without a ctl stop.
    fn restart(&mut self, policy: &str, max: Option<u32>, line: usize, key: &str) {
        let (name, count) = match policy.split_once(':') {
            Some((name, count)) => (name, count.parse::<u32>().ok()),
            None => (policy, None),
        };
        let tries = match name {
            "no" | "none" => return,
            "always" | "any" | "unless-stopped" => (ALWAYS_TRIES, format!(
                "restart: {policy}: svcfs restarts it when it goes down without a ctl stop (a ctl stop is never undone, as unless-stopped), up to {ALWAYS_TRIES} tries, each wait doubled up to 30s (docker's own policy stays no: svcfs does the restarting)"
            )),
            "on-failure" => {
                let n = count.or(max).unwrap_or(ALWAYS_TRIES);
                (n, format!(
                    "restart: {policy}: svcfs restarts it when it goes down without a ctl stop, up to {n} tries (whatever its exit code: svcfs does not tell a failure from an exit 0)"
                ))
            }
            other => {
                self.ctx.error(line, key, format!("{other:?} is not a restart policy (no, always, on-failure[:N], unless-stopped)"));
                return;
            }
        };
        self.c.restart = Some(tries);
    }

    fn extra_hosts(&mut self, node: &Node, key: &str) {
        let mut hosts: Vec<(String, String)> = Vec::new();
        match &node.value {
            Value::Map(entries) => {
                for e in entries {
                    for ip in strings(self.ctx, &e.value, key) {
                        hosts.push((e.key.clone(), ip));
                    }
                }
            }
            _ => {
                for item in strings(self.ctx, node, key) {
                    // `host=ip` (Compose 2.24) or `host:ip`.
                    let pair = item.split_once('=').or_else(|| item.split_once(':'));
                    match pair {
                        Some((host, ip)) => hosts.push((host.to_string(), ip.to_string())),
                        None => self
                            .ctx
                            .error(node.line, key, format!("{item:?} is not HOST=IP")),
                    }
                }
            }
        }
        for (host, ip) in hosts {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            self.arg(&["--add-host", &format!("{host}:{ip}")]);
        }
    }

    fn ulimits(&mut self, node: &Node, key: &str) {
        for e in node.entries().unwrap_or_default() {
            let limit = match &e.value.value {
                Value::Map(_) => {
                    let soft = e.value.get("soft").and_then(text_of);
                    let hard = e.value.get("hard").and_then(text_of);
                    match (soft, hard) {
                        (Some(soft), Some(hard)) => format!("{}={soft}:{hard}", e.key),
                        _ => {
                            self.ctx.error(
                                e.line,
                                &format!("{key}.{}", e.key),
                                "needs soft and hard",
                            );
                            continue;
                        }
                    }
                }
                _ => match text_of(&e.value) {
                    Some(both) => format!("{}={both}", e.key),
                    None => continue,
                },
            };
            self.arg(&["--ulimit", &limit]);
        }
    }

    fn devices(&mut self, node: &Node, key: &str) {
        for item in node.items().unwrap_or_default() {
            let spec = match &item.value {
                Value::Map(_) => {
                    let source = item.get("source").and_then(text_of).unwrap_or_default();
                    let target = item
                        .get("target")
                        .and_then(text_of)
                        .unwrap_or_else(|| source.clone());
                    let perms = item
                        .get("permissions")
                        .and_then(text_of)
                        .unwrap_or_else(|| "rwm".into());
                    format!("{source}:{target}:{perms}")
                }
                _ => match text_of(item) {
                    Some(spec) => spec,
                    None => continue,
                },
            };
            if spec.contains("=") || !spec.starts_with('/') {
                self.ctx.error(
                    item.line,
                    key,
                    format!("{spec:?}: CDI devices are not carried (a host path is)"),
                );
                continue;
            }
            self.arg(&["--device", &spec]);
        }
    }

    fn logging(&mut self, node: &Node, key: &str) {
        unknown_keys(self.ctx, node, key, &["driver", "options"]);
        if let Some(driver) = node.get("driver").and_then(text_of) {
            self.arg(&["--log-driver", &driver]);
        }
        if let Some(options) = node.get("options") {
            for (k, v) in pairs(self.ctx, options, key) {
                self.arg(&["--log-opt", &format!("{k}={}", v.unwrap_or_default())]);
            }
        }
    }

    fn deploy(&mut self, node: &Node, key: &str) {
        unknown_keys(
            self.ctx,
            node,
            key,
            &[
                "mode",
                "replicas",
                "labels",
                "resources",
                "restart_policy",
                "placement",
                "update_config",
                "rollback_config",
                "endpoint_mode",
            ],
        );
        if let Some(n) = node.get("replicas") {
            self.replicas(n, &format!("{key}.replicas"));
        }
        if let Some(n) = node.get("mode") {
            if n.text().is_some_and(|m| m != "replicated") {
                self.ctx.error(
                    n.line,
                    &format!("{key}.mode"),
                    "global mode runs one container per swarm node: svcfs runs one, here",
                );
            }
        }
        for swarm in [
            "labels",
            "placement",
            "update_config",
            "rollback_config",
            "endpoint_mode",
        ] {
            if let Some(n) = node.get(swarm) {
                self.ctx
                    .warn(n.line, &format!("{key}.{swarm}"), "ignored: swarm only");
            }
        }
        if let Some(policy) = node.get("restart_policy") {
            let pkey = format!("{key}.restart_policy");
            unknown_keys(
                self.ctx,
                policy,
                &pkey,
                &["condition", "delay", "max_attempts", "window"],
            );
            let condition = policy
                .get("condition")
                .and_then(text_of)
                .unwrap_or_else(|| "any".into());
            let max = policy
                .get("max_attempts")
                .and_then(text_of)
                .and_then(|m| m.parse().ok());
            self.restart(&condition, max, policy.line, &pkey);
            for ignored in ["delay", "window"] {
                if let Some(n) = policy.get(ignored) {
                    self.ctx.warn(
                        n.line,
                        &format!("{pkey}.{ignored}"),
                        "ignored: svcfs waits restart_delay before a try, doubled at each next one",
                    );
                }
            }
        }
        let Some(resources) = node.get("resources") else {
            return;
        };
        let rkey = format!("{key}.resources");
        unknown_keys(self.ctx, resources, &rkey, &["limits", "reservations"]);
        if let Some(limits) = resources.get("limits") {
            let lkey = format!("{rkey}.limits");
            unknown_keys(self.ctx, limits, &lkey, &["cpus", "memory", "pids"]);
            if let Some(cpus) = limits.get("cpus").and_then(text_of) {
                self.arg(&["--cpus", &cpus]);
            }
            if let Some(memory) = limits.get("memory").and_then(text_of) {
                self.arg(&["--memory", &memory]);
            }
            if let Some(pids) = limits.get("pids").and_then(text_of) {
                self.arg(&["--pids-limit", &pids]);
            }
        }
        if let Some(reservations) = resources.get("reservations") {
            let rkey = format!("{rkey}.reservations");
            unknown_keys(
                self.ctx,
                reservations,
                &rkey,
                &["cpus", "memory", "devices", "generic_resources"],
            );
            if let Some(memory) = reservations.get("memory").and_then(text_of) {
                self.arg(&["--memory-reservation", &memory]);
            }
            if let Some(n) = reservations.get("cpus") {
                self.ctx.warn(
                    n.line,
                    &format!("{rkey}.cpus"),
                    "ignored: docker run has no CPU reservation (swarm schedules by it)",
                );
            }
            for devices in ["devices", "generic_resources"] {
                if let Some(n) = reservations.get(devices) {
                    self.ctx.error(
                        n.line,
                        &format!("{rkey}.{devices}"),
                        "device reservations (GPUs) are not carried (run_args has no --gpus)",
                    );
                }
            }
        }
    }

    fn replicas(&mut self, node: &Node, key: &str) {
        match text_of(node).and_then(|n| n.parse::<u32>().ok()) {
            Some(1) => {}
            Some(0) => {
                self.c.disabled = Some("0 replicas".into());
            }
            _ => self.ctx.error(node.line, key, "svcfs runs one container per service: write one service per replica (each on the same network alias)"),
        }
    }

    fn scale(&mut self, node: &Node, key: &str) {
        self.replicas(node, key);
    }

    fn profiles(&mut self, node: &Node, key: &str) {
        let profiles = strings(self.ctx, node, key);
        if profiles.is_empty() {
            return;
        }
        let active: Vec<String> = self
            .ctx
            .var("COMPOSE_PROFILES")
            .map(|p| p.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        let on = profiles
            .iter()
            .any(|p| active.contains(p) || active.iter().any(|a| a == "*"));
        if !on {
            self.c.disabled = Some(format!(
                "profiles: {} not in COMPOSE_PROFILES: like Compose, svcfs leaves it out (disable = true; set it false to run it)",
                profiles.join(", ")
            ));
        }
    }

    fn container_name(&mut self, node: &Node, key: &str) {
        let Some(name) = text_of(node) else {
            return;
        };
        self.ctx.warn(
            node.line,
            key,
            format!("svcfs names its containers <svc>.container.<N>: {name} becomes a network alias of the container instead, so that the others still reach it by that name"),
        );
        self.container_name = Some(name);
    }

    /// What depends on the other keys, once all are read.
    fn finish(&mut self, node: &Node) {
        if let Some(rest) = self.entrypoint_rest.take() {
            let mut command = rest;
            command.extend(self.c.command.take().unwrap_or_default());
            self.c.command = Some(command);
        }
        let mut std = Vec::new();
        if !self.tty {
            std.push("--tty=false".to_string());
        }
        if !self.stdin_open {
            std.push("--interactive=false".to_string());
        }
        if !std.is_empty() {
            self.comment(format!(
                "Compose gives a container no TTY{} unless tty/stdin_open say so: {} (svcfs's own default is the tutorial's -t -i)",
                if self.stdin_open { "" } else { " and no open stdin" },
                std.join(" ")
            ));
            std.append(&mut self.c.args);
            self.c.args = std;
        }
        self.dependencies(node);
        self.networking(node);
    }
}
