//! How a service stands towards the others: `depends_on` (and what
//! `links` and `network_mode: service:` imply), its networks with the
//! aliases the others resolve it by, and what needs every service read.

use super::project::{bool_of, text_of, unknown_keys, Defs, NetworkDef};
use super::service::{strings, Attachment, Condition, Container, Dep, NetworkMode, Reader};
use super::yaml::{Node, Value};
use super::Ctx;

impl Reader<'_, '_> {
    pub(super) fn dependencies(&mut self, node: &Node) {
        let key = self.sub("depends_on");
        if let Some(deps) = node.get("depends_on") {
            match &deps.value {
                Value::Seq(items) => {
                    for item in items {
                        if let Some(service) = text_of(item) {
                            self.depend(service, Condition::Started, true, item.line, None);
                        }
                    }
                }
                Value::Map(entries) => {
                    for e in entries {
                        let dkey = format!("{key}.{}", e.key);
                        unknown_keys(
                            self.ctx,
                            &e.value,
                            &dkey,
                            &["condition", "restart", "required"],
                        );
                        let condition = match e.value.get("condition").and_then(|n| n.text()) {
                            None | Some("service_started") => Condition::Started,
                            Some("service_healthy") => Condition::Healthy,
                            Some("service_completed_successfully") => Condition::Completed,
                            Some(other) => {
                                self.ctx.error(e.line, &dkey, format!("condition {other:?}: use service_started, service_healthy or service_completed_successfully"));
                                Condition::Started
                            }
                        };
                        let required = match e.value.get("required") {
                            Some(n) => bool_of(self.ctx, n, &dkey).unwrap_or(true),
                            None => true,
                        };
                        if let Some(n) = e.value.get("restart") {
                            if bool_of(self.ctx, n, &dkey) == Some(true) {
                                self.ctx.warn(
                                    n.line,
                                    &format!("{dkey}.restart"),
                                    format!(
                                        "ignored: svcfs does not restart {} when {} is restarted",
                                        self.c.name, e.key
                                    ),
                                );
                            }
                        }
                        self.depend(e.key.clone(), condition, required, e.line, None);
                    }
                }
                _ => self
                    .ctx
                    .error(deps.line, &key, "must be a list or a mapping"),
            }
        }
        if let Some(links) = node.get("links") {
            let lkey = self.sub("links");
            for link in strings(self.ctx, links, &lkey) {
                let (service, alias) = link.split_once(':').unwrap_or((&link, &link));
                self.depend(
                    service.to_string(),
                    Condition::Started,
                    true,
                    links.line,
                    Some("links"),
                );
                if alias != service {
                    self.ctx.warn(links.line, &lkey, format!("the link alias {alias} becomes a network alias of {service}'s container: every container on its networks resolves it, not only this one"));
                    self.defs_alias(service, alias);
                }
            }
        }
    }

    fn depend(
        &mut self,
        service: String,
        condition: Condition,
        required: bool,
        line: usize,
        implied_by: Option<&'static str>,
    ) {
        if !self.defs.services.contains(&service) {
            let key = self.sub("depends_on");
            if required {
                self.ctx.error(
                    line,
                    &key,
                    format!("depends on {service}, which the file does not define"),
                );
            } else {
                self.ctx.warn(
                    line,
                    &key,
                    format!("{service} is not defined and not required: left out"),
                );
            }
            return;
        }
        if service == self.c.name {
            let key = self.sub("depends_on");
            self.ctx
                .error(line, &key, "a service cannot depend on itself");
            return;
        }
        if !self.c.depends.iter().any(|d| d.service == service) {
            self.c.depends.push(Dep {
                service,
                condition,
                required,
                line,
                implied_by,
            });
        }
    }

    /// A link alias, kept to add to the linked service's aliases.
    fn defs_alias(&mut self, service: &str, alias: &str) {
        self.defs
            .extra_aliases
            .push((service.to_string(), alias.to_string()));
    }

    pub(super) fn networking(&mut self, node: &Node) {
        /// A network the service asks for: (key, aliases, ipv4, ipv6,
        /// priority, line).
        type Wanted = (
            String,
            Vec<String>,
            Option<String>,
            Option<String>,
            i64,
            usize,
        );
        if let Some(name) = self.container_name.take() {
            self.defs.extra_aliases.push((self.c.name.clone(), name));
        }
        if let Some(mode) = node.get("network_mode") {
            let key = self.sub("network_mode");
            if let Some(n) = node.get("networks") {
                self.ctx.error(
                    n.line,
                    &self.sub("networks"),
                    "network_mode and networks cannot be combined (Compose refuses them)",
                );
            }
            let Some(text) = text_of(mode) else {
                return;
            };
            match text.strip_prefix("service:") {
                Some(service) => {
                    self.depend(
                        service.to_string(),
                        Condition::Started,
                        true,
                        mode.line,
                        Some("network_mode"),
                    );
                    self.c.network_mode = Some(NetworkMode::Service(service.to_string()));
                }
                None if ["host", "none", "bridge"].contains(&text.as_str())
                    || text.starts_with("container:") =>
                {
                    self.c.network_mode = Some(NetworkMode::Plain(text));
                }
                None => self.ctx.error(
                    mode.line,
                    &key,
                    format!("{text:?}: use host, none, bridge, service:NAME or container:NAME"),
                ),
            }
            return;
        }
        let key = self.sub("networks");
        // (network key, aliases, ipv4, ipv6, priority, line)
        let mut wanted: Vec<Wanted> = Vec::new();
        match node.get("networks") {
            None => wanted.push(("default".into(), Vec::new(), None, None, 0, self.c.line)),
            Some(n) => match &n.value {
                Value::Seq(items) => {
                    for item in items {
                        if let Some(name) = text_of(item) {
                            wanted.push((name, Vec::new(), None, None, 0, item.line));
                        }
                    }
                }
                Value::Map(entries) => {
                    for e in entries {
                        let nkey = format!("{key}.{}", e.key);
                        unknown_keys(
                            self.ctx,
                            &e.value,
                            &nkey,
                            &[
                                "aliases",
                                "ipv4_address",
                                "ipv6_address",
                                "priority",
                                "link_local_ips",
                                "mac_address",
                                "driver_opts",
                                "gw_priority",
                                "interface_name",
                            ],
                        );
                        for unsupported in [
                            "link_local_ips",
                            "mac_address",
                            "driver_opts",
                            "interface_name",
                        ] {
                            if let Some(u) = e.value.get(unsupported) {
                                self.ctx.error(u.line, &format!("{nkey}.{unsupported}"), "not carried: run_args' --network takes name, alias, ip and ip6");
                            }
                        }
                        if let Some(u) = e.value.get("gw_priority") {
                            self.ctx.warn(u.line, &format!("{nkey}.gw_priority"), "ignored: it needs API 1.48; the first network gives the default route");
                        }
                        let aliases = e
                            .value
                            .get("aliases")
                            .map(|a| strings(self.ctx, a, &nkey))
                            .unwrap_or_default();
                        let priority = e
                            .value
                            .get("priority")
                            .and_then(text_of)
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(0);
                        wanted.push((
                            e.key.clone(),
                            aliases,
                            e.value.get("ipv4_address").and_then(text_of),
                            e.value.get("ipv6_address").and_then(text_of),
                            priority,
                            e.line,
                        ));
                    }
                }
                Value::Null => {}
                Value::Scalar { .. } => self.ctx.error(n.line, &key, "must be a list or a mapping"),
            },
        }
        // Compose connects by priority, highest first (stable).
        wanted.sort_by_key(|w| std::cmp::Reverse(w.4));
        for (network, extra, ipv4, ipv6, _, line) in wanted {
            if network == "default" && !self.defs.networks.iter().any(|n| n.key == "default") {
                let project = self.defs.project.clone();
                self.defs.networks.insert(
                    0,
                    NetworkDef::new("default", self.c.line, format!("{project}_default"), false),
                );
            }
            let Some(def) = self.defs.networks.iter_mut().find(|n| n.key == network) else {
                self.ctx.error(line, &key, format!("refers to the network {network}, which networks: at the top does not declare"));
                continue;
            };
            def.used = true;
            let mut aliases = vec![self.c.name.clone()];
            for alias in extra {
                if !aliases.contains(&alias) {
                    aliases.push(alias);
                }
            }
            self.c.networks.push(Attachment {
                name: def.name.clone(),
                aliases,
                ipv4,
                ipv6,
            });
        }
    }
}

/// What needs every service read: the aliases links and container names
/// add, one-shot jobs, optional dependencies, and checks across services.
pub(crate) fn settle(ctx: &mut Ctx<'_>, defs: &Defs, containers: &mut [Container]) {
    for (service, alias) in &defs.extra_aliases {
        if let Some(c) = containers.iter_mut().find(|c| c.name == *service) {
            for network in &mut c.networks {
                if !network.aliases.contains(alias) {
                    network.aliases.push(alias.clone());
                }
            }
        }
    }
    let deps: Vec<(String, Dep)> = containers
        .iter()
        .flat_map(|c| c.depends.iter().map(move |d| (c.name.clone(), d.clone())))
        .collect();
    for c in containers.iter_mut() {
        let on_me: Vec<&(String, Dep)> = deps.iter().filter(|(_, d)| d.service == c.name).collect();
        if on_me
            .iter()
            .any(|(_, d)| d.condition == Condition::Completed)
        {
            c.oneshot = true;
        }
        if !on_me.is_empty() && on_me.iter().all(|(_, d)| !d.required) {
            c.optional = true;
        }
        for (dependent, dep) in &on_me {
            let key = format!("services.{dependent}.depends_on.{}", c.name);
            if dep.condition == Condition::Healthy && !c.has_healthcheck {
                ctx.warn(dep.line, &key, format!("service_healthy, and {} sets no healthcheck: its image must define one (svcfs then waits for it; without one, only for the container to run)", c.name));
            }
            if c.disabled.is_some() {
                ctx.warn(
                    dep.line,
                    &key,
                    format!(
                        "{} is left out (its profiles): {dependent} starts without it",
                        c.name
                    ),
                );
            }
        }
    }
}
