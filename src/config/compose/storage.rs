//! A service's storage: `volumes` (bind mounts, named volumes as Compose
//! names them, tmpfs), and `secrets` and `configs` with `file:`, mounted
//! read-only.

use super::project::{bool_of, text_of, unknown_keys};
use super::service::Reader;
use super::yaml::{Node, Value};

impl Reader<'_, '_> {
    /// The docker name of a named volume, or an error when undeclared.
    fn volume_name(&mut self, source: &str, line: usize, key: &str) -> Option<String> {
        match self.defs.volumes.iter().find(|v| v.key == source) {
            Some(def) => {
                let name = def.name.clone();
                if def.external {
                    self.comment(format!(
                        "volumes: {source} is external: the existing volume {name}"
                    ));
                } else if name == format!("{}_{source}", self.defs.project) {
                    self.comment(format!("volumes: {source} is the project's named volume {name}, as Compose names it: an existing one is reused"));
                } else {
                    self.comment(format!("volumes: {source} is the named volume {name}"));
                }
                Some(name)
            }
            None => {
                self.ctx.error(
                    line,
                    key,
                    format!(
                        "refers to the volume {source}, which volumes: at the top does not declare"
                    ),
                );
                None
            }
        }
    }

    /// A named volume with settings of its own is mounted with `--mount`,
    /// which gives docker the driver and options to create it with.
    fn volume_mount(
        &mut self,
        name: &str,
        source: &str,
        target: &str,
        read_only: bool,
        nocopy: bool,
    ) -> Vec<String> {
        let def = self.defs.volumes.iter().find(|v| v.key == source).cloned();
        let options = def.as_ref().is_some_and(|d| {
            d.driver.is_some() || !d.driver_opts.is_empty() || !d.labels.is_empty()
        });
        if !options && !nocopy {
            let mut spec = format!("{name}:{target}");
            if read_only {
                spec.push_str(":ro");
            }
            return vec!["-v".into(), spec];
        }
        let mut fields = vec![
            "type=volume".to_string(),
            format!("source={name}"),
            format!("target={target}"),
        ];
        if read_only {
            fields.push("readonly".into());
        }
        if nocopy {
            fields.push("volume-nocopy".into());
        }
        if let Some(def) = def {
            if let Some(driver) = &def.driver {
                fields.push(format!("volume-driver={driver}"));
            }
            for (k, v) in &def.driver_opts {
                fields.push(format!("volume-opt={k}={v}"));
            }
            for (k, v) in &def.labels {
                fields.push(format!("volume-label={k}={v}"));
            }
            if def.driver.is_some() || !def.driver_opts.is_empty() {
                self.comment(format!("volumes: {name} is mounted with --mount so that docker creates it with its driver and options (when it does not exist yet)"));
            }
        }
        vec!["--mount".into(), csv(&fields)]
    }

    pub(super) fn volumes(&mut self, node: &Node, key: &str) {
        let Some(items) = node.items() else {
            if !node.is_null() {
                self.ctx.error(node.line, key, "must be a list");
            }
            return;
        };
        for item in items {
            let words = match &item.value {
                Value::Map(_) => self.long_volume(item, key),
                _ => match text_of(item) {
                    Some(spec) => self.short_volume(&spec, item.line, key),
                    None => {
                        self.ctx
                            .error(item.line, key, "a volume is a string or a mapping");
                        None
                    }
                },
            };
            if let Some(words) = words {
                self.c.args.extend(words);
            }
        }
    }

    fn short_volume(&mut self, spec: &str, line: usize, key: &str) -> Option<Vec<String>> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [target] => return Some(vec!["-v".into(), target.to_string()]),
            [source, target] => (*source, *target, None),
            [source, target, mode] => (*source, *target, Some(*mode)),
            _ => {
                self.ctx
                    .error(line, key, format!("{spec:?} is not SOURCE:TARGET[:MODE]"));
                return None;
            }
        };
        let is_path = source.starts_with(['.', '/', '~']);
        if is_path {
            let path = self.ctx.path(source);
            let mut bind = format!("{}:{target}", path.display());
            if let Some(mode) = mode {
                bind.push_str(&format!(":{mode}"));
            }
            if source.starts_with('.') || source.starts_with('~') {
                self.comment(format!("volumes: {source} is {}, relative paths starting at the project directory as for Compose", path.display()));
            }
            return Some(vec!["-v".into(), bind]);
        }
        let name = self.volume_name(source, line, key)?;
        let modes: Vec<&str> = mode.map(|m| m.split(',').collect()).unwrap_or_default();
        let read_only = modes.contains(&"ro");
        let nocopy = modes.contains(&"nocopy");
        let others: Vec<&&str> = modes
            .iter()
            .filter(|m| !["ro", "rw", "nocopy"].contains(m))
            .collect();
        if others.is_empty() {
            Some(self.volume_mount(&name, source, target, read_only, nocopy))
        } else {
            Some(vec![
                "-v".into(),
                format!("{name}:{target}:{}", mode.unwrap_or("")),
            ])
        }
    }

    fn long_volume(&mut self, item: &Node, key: &str) -> Option<Vec<String>> {
        unknown_keys(
            self.ctx,
            item,
            key,
            &[
                "type",
                "source",
                "target",
                "read_only",
                "bind",
                "volume",
                "tmpfs",
                "consistency",
                "image",
            ],
        );
        let typ = item
            .get("type")
            .and_then(text_of)
            .unwrap_or_else(|| "volume".into());
        let Some(target) = item.get("target").and_then(text_of) else {
            self.ctx.error(item.line, key, "a volume needs its target");
            return None;
        };
        let read_only = match item.get("read_only") {
            Some(n) => bool_of(self.ctx, n, key).unwrap_or(false),
            None => false,
        };
        let source = item.get("source").and_then(text_of);
        match typ.as_str() {
            "bind" => {
                let Some(source) = source else {
                    self.ctx
                        .error(item.line, key, "a bind mount needs its source");
                    return None;
                };
                let path = self.ctx.path(&source);
                let bind = item.get("bind");
                let create = bind
                    .and_then(|b| b.get("create_host_path"))
                    .map(|n| bool_of(self.ctx, n, key).unwrap_or(false))
                    .unwrap_or(false);
                let propagation = bind.and_then(|b| b.get("propagation")).and_then(text_of);
                for unsupported in ["selinux", "recursive"] {
                    if let Some(n) = bind.and_then(|b| b.get(unsupported)) {
                        self.ctx.error(
                            n.line,
                            &format!("{key}.bind.{unsupported}"),
                            "not carried: run_args' --mount has no such field",
                        );
                    }
                }
                if create {
                    let mut spec = format!("{}:{target}", path.display());
                    let mut modes = Vec::new();
                    if read_only {
                        modes.push("ro".to_string());
                    }
                    modes.extend(propagation);
                    if !modes.is_empty() {
                        spec.push_str(&format!(":{}", modes.join(",")));
                    }
                    return Some(vec!["-v".into(), spec]);
                }
                let mut fields = vec![
                    "type=bind".to_string(),
                    format!("source={}", path.display()),
                    format!("target={target}"),
                ];
                if read_only {
                    fields.push("readonly".into());
                }
                if let Some(p) = propagation {
                    fields.push(format!("bind-propagation={p}"));
                }
                self.comment(format!("volumes: {target} binds {} with --mount: like Compose's long syntax, it must exist", path.display()));
                Some(vec!["--mount".into(), csv(&fields)])
            }
            "volume" => {
                let nocopy = item
                    .get("volume")
                    .and_then(|v| v.get("nocopy"))
                    .map(|n| bool_of(self.ctx, n, key).unwrap_or(false))
                    .unwrap_or(false);
                if let Some(n) = item.get("volume").and_then(|v| v.get("subpath")) {
                    self.ctx.error(
                        n.line,
                        &format!("{key}.volume.subpath"),
                        "a volume's sub-path needs API 1.45: this daemon's cannot mount one",
                    );
                }
                match source {
                    None => Some(vec!["-v".into(), target]),
                    Some(source) => {
                        let name = self.volume_name(&source, item.line, key)?;
                        Some(self.volume_mount(&name, &source, &target, read_only, nocopy))
                    }
                }
            }
            "tmpfs" => {
                let tmpfs = item.get("tmpfs");
                let mut options = Vec::new();
                if let Some(size) = tmpfs.and_then(|t| t.get("size")).and_then(text_of) {
                    options.push(format!("size={size}"));
                }
                if let Some(mode) = tmpfs.and_then(|t| t.get("mode")).and_then(text_of) {
                    options.push(format!("mode={mode}"));
                }
                let spec = if options.is_empty() {
                    target
                } else {
                    format!("{target}:{}", options.join(","))
                };
                Some(vec!["--tmpfs".into(), spec])
            }
            other => {
                self.ctx.error(
                    item.line,
                    key,
                    format!("a volume of type {other} is not carried (bind, volume and tmpfs are)"),
                );
                None
            }
        }
    }

    /// Secrets and configs with `file:`: read-only bind mounts, at
    /// `/run/secrets/<name>` or the config's target.
    pub(super) fn files(&mut self, node: &Node, key: &str, secrets: bool) {
        let Some(items) = node.items() else {
            if !node.is_null() {
                self.ctx.error(node.line, key, "must be a list");
            }
            return;
        };
        for item in items {
            let (source, target) = match &item.value {
                Value::Map(_) => {
                    unknown_keys(
                        self.ctx,
                        item,
                        key,
                        &["source", "target", "uid", "gid", "mode"],
                    );
                    for owner in ["uid", "gid", "mode"] {
                        if let Some(n) = item.get(owner) {
                            self.ctx.warn(n.line, &format!("{key}.{owner}"), "ignored: a bind mount keeps the file's own owner and mode (set them on the file)");
                        }
                    }
                    (
                        item.get("source").and_then(text_of),
                        item.get("target").and_then(text_of),
                    )
                }
                _ => (text_of(item), None),
            };
            let Some(source) = source else {
                self.ctx.error(item.line, key, "needs its source");
                continue;
            };
            let defs = if secrets {
                &self.defs.secrets
            } else {
                &self.defs.configs
            };
            let Some(def) = defs.iter().find(|d| d.key == source) else {
                let top = if secrets { "secrets" } else { "configs" };
                self.ctx.error(
                    item.line,
                    key,
                    format!("refers to {source}, which {top}: at the top does not declare"),
                );
                continue;
            };
            let Some(path) = def.path.clone() else {
                continue;
            };
            let at = match (target, secrets) {
                (Some(t), true) if t.starts_with('/') => t,
                (Some(t), true) => format!("/run/secrets/{t}"),
                (None, true) => format!("/run/secrets/{source}"),
                (Some(t), false) if t.starts_with('/') => t,
                (Some(t), false) => format!("/{t}"),
                (None, false) => format!("/{source}"),
            };
            let what = if secrets { "secret" } else { "config" };
            self.comment(format!(
                "{what} {source}: {} mounted read-only at {at}",
                path.display()
            ));
            self.arg(&["-v", &format!("{}:{at}:ro", path.display())]);
        }
    }
}

/// Fields of a `--mount` value, quoted where the CSV needs it.
fn csv(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| {
            if f.contains(',') || f.contains('"') {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
