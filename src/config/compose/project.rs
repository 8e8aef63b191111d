//! The top of a Compose file: the project name, the networks, volumes,
//! secrets and configs it declares, its services (see `service`) and the
//! order they start in.

use std::path::PathBuf;

use super::service::{self, Container};
use super::yaml::{Entry, Node, Value};
use super::{normalize_project_name, Ctx, Origin};

/// A declared network.
#[derive(Debug, Clone)]
pub(crate) struct NetworkDef {
    pub key: String,
    pub line: usize,
    /// Its docker name.
    pub name: String,
    pub external: bool,
    pub driver: Option<String>,
    /// (subnet, gateway, ip_range).
    pub pools: Vec<(String, Option<String>, Option<String>)>,
    pub internal: bool,
    pub ipv6: bool,
    pub options: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    /// Whether a service of the project uses it.
    pub used: bool,
}

impl NetworkDef {
    /// A network `key` of the file, docker's `name`, with every default.
    pub fn new(key: &str, line: usize, name: String, external: bool) -> Self {
        NetworkDef {
            key: key.to_string(),
            line,
            name,
            external,
            driver: None,
            pools: Vec::new(),
            internal: false,
            ipv6: false,
            options: Vec::new(),
            labels: Vec::new(),
            used: false,
        }
    }
}

/// A declared volume.
#[derive(Debug, Clone)]
pub(crate) struct VolumeDef {
    pub key: String,
    /// Its docker name.
    pub name: String,
    pub external: bool,
    pub driver: Option<String>,
    pub driver_opts: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
}

/// A declared secret or config with its file.
#[derive(Debug, Clone)]
pub(crate) struct FileDef {
    pub key: String,
    /// The file, absolute; None when it is not a file (already reported).
    pub path: Option<PathBuf>,
}

/// What services refer to.
#[derive(Debug, Default)]
pub(crate) struct Defs {
    pub project: String,
    pub networks: Vec<NetworkDef>,
    pub volumes: Vec<VolumeDef>,
    pub secrets: Vec<FileDef>,
    pub configs: Vec<FileDef>,
    /// Every service's name, in the file's order (for depends_on).
    pub services: Vec<String>,
    /// Aliases a service gets from others (links, container_name).
    pub extra_aliases: Vec<(String, String)>,
}

/// A project, read.
#[derive(Debug)]
pub(crate) struct Project {
    pub name: String,
    /// The networks some service uses, in the order of their `network#N`.
    pub networks: Vec<NetworkDef>,
    /// The containers in start order (`container#1` first).
    pub containers: Vec<Container>,
}

impl Project {
    /// Where each section comes from.
    pub fn origins(&self) -> Vec<Origin> {
        let networks = self.networks.iter().enumerate().map(|(i, n)| Origin {
            section: format!("network#{}", i + 1),
            key: format!("networks.{}", n.key),
            line: n.line,
        });
        let containers = self.containers.iter().enumerate().map(|(i, c)| Origin {
            section: format!("container#{}", i + 1),
            key: format!("services.{}", c.name),
            line: c.line,
        });
        networks.chain(containers).collect()
    }

    /// The `container#N` of a service.
    pub fn rid_of(&self, service: &str) -> Option<String> {
        self.containers
            .iter()
            .position(|c| c.name == service)
            .map(|i| format!("container#{}", i + 1))
    }
}

const TOP_KEYS: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs", "include",
];

/// The closest of `known` to `key`, as " (did you mean X?)".
pub(crate) fn did_you_mean(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean {k}?)"))
        .unwrap_or_default()
}

/// Read the project. None: nothing can be made of the file (reported).
pub(crate) fn read(ctx: &mut Ctx<'_>, root: &Node) -> Option<Project> {
    let Some(entries) = root.entries() else {
        let shape = root.shape();
        ctx.error(
            root.line,
            "(top)",
            format!("a Compose file is a mapping with services:, not {shape}"),
        );
        return None;
    };
    for entry in entries {
        let known = TOP_KEYS.contains(&entry.key.as_str()) || entry.key.starts_with("x-");
        if entry.key == "include" {
            ctx.error(
                entry.line,
                "include",
                "the included files are not read: their services would be missing (copy them into this file)",
            );
        } else if !known {
            let hint = did_you_mean(&entry.key, TOP_KEYS);
            ctx.error(
                entry.line,
                &entry.key,
                format!("not a key of the Compose specification{hint}: Compose refuses the file"),
            );
        }
    }
    let name = project_name(ctx, root)?;
    let mut defs = Defs {
        project: name.clone(),
        ..Defs::default()
    };
    if let Some(node) = root.get("networks") {
        defs.networks = each_entry(ctx, node, "networks", |ctx, e| network(ctx, &name, e));
    }
    if let Some(node) = root.get("volumes") {
        defs.volumes = each_entry(ctx, node, "volumes", |ctx, e| volume(ctx, &name, e));
    }
    if let Some(node) = root.get("secrets") {
        defs.secrets = each_entry(ctx, node, "secrets", |ctx, e| file_def(ctx, "secrets", e));
    }
    if let Some(node) = root.get("configs") {
        defs.configs = each_entry(ctx, node, "configs", |ctx, e| file_def(ctx, "configs", e));
    }
    let Some(services) = root.get("services").and_then(Node::entries) else {
        let line = root.get("services").map_or(root.line, |n| n.line);
        ctx.error(line, "services", "the file defines no service");
        return None;
    };
    defs.services = services.iter().map(|e| e.key.clone()).collect();
    let mut containers: Vec<Container> = services
        .iter()
        .map(|entry| service::read(ctx, &mut defs, entry))
        .collect();
    let order = start_order(ctx, &containers);
    let mut ordered = Vec::with_capacity(containers.len());
    for index in order {
        ordered.push(std::mem::replace(
            &mut containers[index],
            Container::placeholder(),
        ));
    }
    super::links::settle(ctx, &defs, &mut ordered);
    let networks: Vec<NetworkDef> = defs.networks.into_iter().filter(|n| n.used).collect();
    Some(Project {
        name,
        networks,
        containers: ordered,
    })
}

/// `COMPOSE_PROJECT_NAME`, else `name:`, else the directory's name, as
/// Compose picks it.
fn project_name(ctx: &mut Ctx<'_>, root: &Node) -> Option<String> {
    let valid = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    let rule = "lower-case letters, digits, '_' and '-', starting with a letter or digit";
    if let Some(name) = ctx.var("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
        if valid(&name) {
            return Some(name);
        }
        ctx.error(
            0,
            "COMPOSE_PROJECT_NAME",
            format!("{name:?} is not a valid project name ({rule})"),
        );
        return None;
    }
    if let Some(node) = root.get("name") {
        let Some(name) = node.text() else {
            ctx.error(node.line, "name", "the project name must be text");
            return None;
        };
        if valid(name) {
            return Some(name.to_string());
        }
        ctx.error(
            node.line,
            "name",
            format!("{name:?} is not a valid project name ({rule})"),
        );
        return None;
    }
    let dir = ctx
        .input
        .project_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = normalize_project_name(&dir);
    if name.is_empty() {
        ctx.error(
            0,
            "name",
            format!("the directory name {dir:?} makes no project name: set name: at the top of the file"),
        );
        return None;
    }
    Some(name)
}

/// Each entry of a top-level mapping, read by `read` (a null value is an
/// entry with every default).
fn each_entry<T>(
    ctx: &mut Ctx<'_>,
    node: &Node,
    key: &str,
    mut read: impl FnMut(&mut Ctx<'_>, &Entry) -> Option<T>,
) -> Vec<T> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Map(entries) => entries.iter().filter_map(|e| read(ctx, e)).collect(),
        _ => {
            ctx.error(
                node.line,
                key,
                format!("must be a mapping of names, not {}", node.shape()),
            );
            Vec::new()
        }
    }
}

/// The text of a scalar, numbers and booleans as written.
pub(crate) fn text_of(node: &Node) -> Option<String> {
    node.text().map(str::to_string)
}

/// A boolean as Compose (YAML) writes it.
pub(crate) fn bool_of(ctx: &mut Ctx<'_>, node: &Node, key: &str) -> Option<bool> {
    match node.text().map(str::to_ascii_lowercase).as_deref() {
        Some("true" | "yes" | "on") => Some(true),
        Some("false" | "no" | "off") => Some(false),
        _ => {
            ctx.error(node.line, key, "must be true or false");
            None
        }
    }
}

/// `KEY: VALUE` pairs written as a mapping or as a list of `KEY=VALUE`.
pub(crate) fn pairs(ctx: &mut Ctx<'_>, node: &Node, key: &str) -> Vec<(String, Option<String>)> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Map(entries) => entries
            .iter()
            .map(|e| (e.key.clone(), text_of(&e.value)))
            .collect(),
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| match item.text() {
                Some(text) => Some(match text.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (text.to_string(), None),
                }),
                None => {
                    ctx.error(item.line, key, "each item must be KEY=VALUE");
                    None
                }
            })
            .collect(),
        Value::Scalar { .. } => {
            ctx.error(node.line, key, "must be a mapping or a list of KEY=VALUE");
            Vec::new()
        }
    }
}

/// A mapping's keys that `known` leaves out, each an error (Compose
/// refuses them) naming its line.
pub(crate) fn unknown_keys(ctx: &mut Ctx<'_>, node: &Node, key: &str, known: &[&str]) {
    for entry in node.entries().unwrap_or_default() {
        if !known.contains(&entry.key.as_str()) && !entry.key.starts_with("x-") {
            let hint = did_you_mean(&entry.key, known);
            ctx.error(
                entry.line,
                &format!("{key}.{}", entry.key),
                format!(
                    "not a key of the Compose specification here{hint}: Compose refuses the file"
                ),
            );
        }
    }
}

fn name_and_external(ctx: &mut Ctx<'_>, project: &str, entry: &Entry, top: &str) -> (String, bool) {
    let key = format!("{top}.{}", entry.key);
    let external = match entry.value.get("external") {
        None => false,
        Some(node) => match &node.value {
            // The old `external: {name: x}` form.
            Value::Map(_) => {
                ctx.warn(
                    node.line,
                    &format!("{key}.external"),
                    "the external: {name: …} form is deprecated: read as external: true with that name",
                );
                true
            }
            _ => bool_of(ctx, node, &format!("{key}.external")).unwrap_or(false),
        },
    };
    let named = entry.value.get("name").and_then(text_of).or_else(|| {
        entry
            .value
            .get("external")
            .and_then(|e| e.get("name"))
            .and_then(text_of)
    });
    let name = match (named, external) {
        (Some(name), _) => name,
        (None, true) => entry.key.clone(),
        (None, false) => format!("{project}_{}", entry.key),
    };
    (name, external)
}

fn network(ctx: &mut Ctx<'_>, project: &str, entry: &Entry) -> Option<NetworkDef> {
    let key = format!("networks.{}", entry.key);
    let node = &entry.value;
    unknown_keys(
        ctx,
        node,
        &key,
        &[
            "driver",
            "driver_opts",
            "ipam",
            "external",
            "internal",
            "attachable",
            "enable_ipv4",
            "enable_ipv6",
            "labels",
            "name",
        ],
    );
    let (name, external) = name_and_external(ctx, project, entry, "networks");
    let mut def = NetworkDef::new(&entry.key, entry.line, name, external);
    def.driver = node.get("driver").and_then(text_of);
    if let Some(n) = node.get("internal") {
        def.internal = bool_of(ctx, n, &format!("{key}.internal")).unwrap_or(false);
    }
    if let Some(n) = node.get("enable_ipv6") {
        def.ipv6 = bool_of(ctx, n, &format!("{key}.enable_ipv6")).unwrap_or(false);
    }
    if let Some(n) = node.get("enable_ipv4") {
        if bool_of(ctx, n, &format!("{key}.enable_ipv4")) == Some(false) {
            ctx.error(
                n.line,
                &format!("{key}.enable_ipv4"),
                "an IPv6-only network needs docker 28: this daemon's API cannot make one",
            );
        }
    }
    if let Some(n) = node.get("attachable") {
        ctx.warn(
            n.line,
            &format!("{key}.attachable"),
            "ignored: attachable matters to swarm overlay networks only",
        );
    }
    if let Some(n) = node.get("driver_opts") {
        def.options = flat_pairs(ctx, n, &format!("{key}.driver_opts"));
    }
    if let Some(n) = node.get("labels") {
        def.labels = flat_pairs(ctx, n, &format!("{key}.labels"));
    }
    if let Some(ipam) = node.get("ipam") {
        let ipam_key = format!("{key}.ipam");
        unknown_keys(ctx, ipam, &ipam_key, &["driver", "config", "options"]);
        if let Some(driver) = ipam
            .get("driver")
            .and_then(|n| n.text().map(|t| (n.line, t)))
        {
            if driver.1 != "default" {
                ctx.error(
                    driver.0,
                    &format!("{ipam_key}.driver"),
                    format!(
                        "IPAM driver {}: svcfs creates networks with docker's default IPAM",
                        driver.1
                    ),
                );
            }
        }
        if let Some(n) = ipam.get("options") {
            ctx.error(
                n.line,
                &format!("{ipam_key}.options"),
                "IPAM driver options are not carried (docker's default IPAM takes none)",
            );
        }
        for pool in ipam.get("config").and_then(Node::items).unwrap_or_default() {
            let pool_key = format!("{ipam_key}.config");
            unknown_keys(
                ctx,
                pool,
                &pool_key,
                &["subnet", "ip_range", "gateway", "aux_addresses"],
            );
            if let Some(n) = pool.get("aux_addresses") {
                ctx.error(
                    n.line,
                    &format!("{pool_key}.aux_addresses"),
                    "auxiliary addresses are not carried: svcfs's network#N has no keyword for them",
                );
            }
            match pool.get("subnet").and_then(text_of) {
                Some(subnet) => def.pools.push((
                    subnet,
                    pool.get("gateway").and_then(text_of),
                    pool.get("ip_range").and_then(text_of),
                )),
                None => ctx.error(
                    pool.line,
                    &pool_key,
                    "a pool without subnet: svcfs's gateway and ip_range go with a subnet",
                ),
            }
        }
    }
    if def.external {
        for own in [
            "driver",
            "driver_opts",
            "ipam",
            "internal",
            "enable_ipv6",
            "labels",
        ] {
            if let Some(n) = node.get(own) {
                ctx.error(
                    n.line,
                    &format!("{key}.{own}"),
                    "conflicts with external: an external network is used as it is",
                );
            }
        }
    }
    Some(def)
}

/// Driver options and labels: a mapping or a list of `KEY=VALUE`, each
/// with a value.
fn flat_pairs(ctx: &mut Ctx<'_>, node: &Node, key: &str) -> Vec<(String, String)> {
    pairs(ctx, node, key)
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

fn volume(ctx: &mut Ctx<'_>, project: &str, entry: &Entry) -> Option<VolumeDef> {
    let key = format!("volumes.{}", entry.key);
    let node = &entry.value;
    unknown_keys(
        ctx,
        node,
        &key,
        &["driver", "driver_opts", "external", "labels", "name"],
    );
    let (name, external) = name_and_external(ctx, project, entry, "volumes");
    let driver = node.get("driver").and_then(text_of);
    let driver_opts = node
        .get("driver_opts")
        .map(|n| flat_pairs(ctx, n, &format!("{key}.driver_opts")))
        .unwrap_or_default();
    let labels = node
        .get("labels")
        .map(|n| flat_pairs(ctx, n, &format!("{key}.labels")))
        .unwrap_or_default();
    Some(VolumeDef {
        key: entry.key.clone(),
        name,
        external,
        driver,
        driver_opts,
        labels,
    })
}

fn file_def(ctx: &mut Ctx<'_>, top: &str, entry: &Entry) -> Option<FileDef> {
    let key = format!("{top}.{}", entry.key);
    let node = &entry.value;
    unknown_keys(
        ctx,
        node,
        &key,
        &[
            "file",
            "environment",
            "external",
            "name",
            "content",
            "labels",
            "driver",
            "driver_opts",
            "template_driver",
        ],
    );
    let path = match node.get("file").and_then(text_of) {
        Some(file) => Some(ctx.path(&file)),
        None => {
            let how = ["environment", "content", "external", "driver"]
                .into_iter()
                .find(|k| node.get(k).is_some());
            let why = match how {
                Some("environment") => "a secret from an environment variable is not carried: write it to a file (mode 0400) and name it with file:",
                Some("content") => "inline content is not carried: write it to a file and name it with file:",
                Some("external") | Some("driver") => "a swarm secret or config is not carried: svcfs mounts files (file:)",
                _ => "no file: given: svcfs mounts a file, read-only",
            };
            ctx.error(entry.line, &key, why);
            None
        }
    };
    for ignored in ["labels", "name", "template_driver"] {
        if let Some(n) = node.get(ignored) {
            ctx.warn(
                n.line,
                &format!("{key}.{ignored}"),
                "ignored: the file is mounted as it is",
            );
        }
    }
    Some(FileDef {
        key: entry.key.clone(),
        path,
    })
}

/// The start order: the file's order, except that a service comes after
/// those it depends on (svcfs starts containers by their number). A cycle
/// is an error, as for Compose.
fn start_order(ctx: &mut Ctx<'_>, containers: &[Container]) -> Vec<usize> {
    let index_of = |name: &str| containers.iter().position(|c| c.name == name);
    let mut placed: Vec<usize> = Vec::with_capacity(containers.len());
    let mut visiting: Vec<usize> = Vec::new();
    fn visit(
        at: usize,
        containers: &[Container],
        index_of: &dyn Fn(&str) -> Option<usize>,
        placed: &mut Vec<usize>,
        visiting: &mut Vec<usize>,
        cycle: &mut Option<(usize, Vec<String>)>,
    ) {
        if placed.contains(&at) || cycle.is_some() {
            return;
        }
        if let Some(start) = visiting.iter().position(|&v| v == at) {
            let names = visiting[start..]
                .iter()
                .map(|&i| containers[i].name.clone())
                .chain(std::iter::once(containers[at].name.clone()))
                .collect();
            *cycle = Some((at, names));
            return;
        }
        visiting.push(at);
        for dep in &containers[at].depends {
            if let Some(d) = index_of(&dep.service) {
                visit(d, containers, index_of, placed, visiting, cycle);
            }
        }
        visiting.pop();
        if !placed.contains(&at) {
            placed.push(at);
        }
    }
    let mut cycle = None;
    for at in 0..containers.len() {
        visit(
            at,
            containers,
            &index_of,
            &mut placed,
            &mut visiting,
            &mut cycle,
        );
        if let Some((at, names)) = cycle.take() {
            let c = &containers[at];
            ctx.error(
                c.line,
                &format!("services.{}.depends_on", c.name),
                format!("dependency cycle: {}", names.join(" → ")),
            );
            // Go on in the file's order, so the rest is still checked.
            return (0..containers.len()).collect();
        }
    }
    placed
}
