//! The typed result of [`parse`](super::parse): the create body as far as
//! `run_args` alone decides it, plus what only the host that creates the
//! container can supply (env files, seccomp profiles, inherited variables).

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    HostConfigLogConfig, NetworkingConfig,
};

use super::grammar::bad_value;
use super::options::{insert, key_value, push_unique};
use super::values::{env_file_entries, is_user_defined_network, seccomp_json};
use super::RunArgsError;

/// `run_args`, parsed and checked: everything but what is read from the
/// creating host, which [`RunArgs::into_body`] resolves.
#[derive(Debug, Clone, PartialEq)]
pub struct RunArgs {
    body: ContainerCreateBody,
    env_files: Vec<String>,
    env: Vec<EnvVar>,
    security_opts: Vec<SecurityOpt>,
}

/// One `-e`: an assignment, or a bare name whose value (or absence) the
/// creating process's environment decides, as the shell's does for the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EnvVar {
    Set(String),
    Inherit(String),
}

/// One `--security-opt`, in order: the CLI reads a seccomp profile itself
/// and sends its JSON inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SecurityOpt {
    Verbatim(String),
    /// `value` as written (`seccomp=PATH` or `seccomp:PATH`), for errors.
    SeccompFile {
        value: String,
        path: String,
    },
}

impl RunArgs {
    /// The `--env-file` paths, in the order given.
    pub fn env_files(&self) -> &[String] {
        &self.env_files
    }

    /// The `--security-opt seccomp=` profile paths, in the order given.
    pub fn seccomp_profiles(&self) -> impl Iterator<Item = &str> {
        self.security_opts.iter().filter_map(|opt| match opt {
            SecurityOpt::SeccompFile { path, .. } => Some(path.as_str()),
            SecurityOpt::Verbatim(_) => None,
        })
    }

    /// The host paths of its bind mounts (`-v /src:/dst`, `--mount
    /// type=bind,source=/src`), in the order given; named volumes are not
    /// paths.
    pub fn bind_sources(&self) -> Vec<&str> {
        let host = self.body.host_config.as_ref();
        let binds = host
            .and_then(|h| h.binds.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|bind| bind.split(':').next())
            .filter(|source| source.starts_with('/'));
        let mounts = host
            .and_then(|h| h.mounts.as_ref())
            .into_iter()
            .flatten()
            .filter(|m| m.typ == Some(bollard::models::MountType::BIND))
            .filter_map(|m| m.source.as_deref());
        binds.chain(mounts).collect()
    }

    /// The networks of the container with their endpoint settings: its
    /// network mode's first, then the others by name.
    pub fn networks(&self) -> Vec<(String, EndpointSettings)> {
        let mode = self
            .body
            .host_config
            .as_ref()
            .and_then(|h| h.network_mode.clone());
        let mut endpoints: Vec<(String, EndpointSettings)> = self
            .body
            .networking_config
            .as_ref()
            .and_then(|n| n.endpoints_config.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        endpoints.sort_by(|a, b| {
            (Some(&a.0) != mode.as_ref(), &a.0).cmp(&(Some(&b.0) != mode.as_ref(), &b.0))
        });
        if let Some(mode) = mode {
            if !endpoints.iter().any(|(name, _)| *name == mode) {
                endpoints.insert(0, (mode, EndpointSettings::default()));
            }
        }
        endpoints
    }

    /// The names of the bare `-e NAME` options, in the order given.
    pub fn inherited_env(&self) -> impl Iterator<Item = &str> {
        self.env.iter().filter_map(|var| match var {
            EnvVar::Inherit(name) => Some(name.as_str()),
            EnvVar::Set(_) => None,
        })
    }

    /// Checks that every seccomp profile can be read and is JSON, with the
    /// error [`RunArgs::into_body`] would give.
    pub fn check_seccomp_profiles(
        &self,
        mut read_file: impl FnMut(&str) -> std::io::Result<Vec<u8>>,
    ) -> Result<(), RunArgsError> {
        for opt in &self.security_opts {
            if let SecurityOpt::SeccompFile { value, path } = opt {
                seccomp_entry(value, path, &mut read_file)?;
            }
        }
        Ok(())
    }

    /// The create body, with the files read through `read_file` and bare
    /// names looked up with `env_var`. The caller chooses where that I/O
    /// runs (the container driver: off the async runtime, at create time).
    pub fn into_body(
        self,
        mut read_file: impl FnMut(&str) -> std::io::Result<Vec<u8>>,
        env_var: impl Fn(&str) -> Option<String>,
    ) -> Result<ContainerCreateBody, RunArgsError> {
        let mut body = self.body;
        // The CLI puts env-file variables first, then `-e`, whatever the
        // order on the command line, so `-e` always wins.
        let mut env = Vec::new();
        for path in &self.env_files {
            let env_file_error = |reason| RunArgsError::EnvFile {
                path: path.clone(),
                reason,
            };
            let bytes = read_file(path).map_err(|e| env_file_error(e.to_string()))?;
            env.extend(env_file_entries(&bytes, &env_var).map_err(env_file_error)?);
        }
        // An unset bare name is sent bare, which tells the engine to drop
        // that variable from the image's environment.
        env.extend(self.env.into_iter().map(|var| match var {
            EnvVar::Set(entry) => entry,
            EnvVar::Inherit(name) => match env_var(&name) {
                Some(value) => format!("{name}={value}"),
                None => name,
            },
        }));
        if !env.is_empty() {
            body.env = Some(env);
        }
        if !self.security_opts.is_empty() {
            let mut opts = Vec::with_capacity(self.security_opts.len());
            for opt in self.security_opts {
                opts.push(match opt {
                    SecurityOpt::Verbatim(entry) => entry,
                    SecurityOpt::SeccompFile { value, path } => {
                        seccomp_entry(&value, &path, &mut read_file)?
                    }
                });
            }
            let host = body.host_config.get_or_insert_with(HostConfig::default);
            host.security_opt = Some(opts);
        }
        Ok(body)
    }
}

fn seccomp_entry(
    value: &str,
    path: &str,
    read_file: &mut impl FnMut(&str) -> std::io::Result<Vec<u8>>,
) -> Result<String, RunArgsError> {
    let reason = |reason: String| bad_value("--security-opt", value, reason);
    let bytes =
        read_file(path).map_err(|e| reason(format!("cannot read seccomp profile {path}: {e}")))?;
    let json = seccomp_json(&bytes).map_err(|e| reason(format!("seccomp profile {path} {e}")))?;
    Ok(format!("seccomp={json}"))
}

/// What the option handlers fill in; options whose effect depends on other
/// options are settled in [`Draft::finish`].
#[derive(Default)]
pub(super) struct Draft {
    pub(super) body: ContainerCreateBody,
    pub(super) env: Vec<EnvVar>,
    pub(super) env_files: Vec<String>,
    pub(super) labels: Vec<String>,
    /// `--network`s, in order: the first is the network mode.
    pub(super) networks: Vec<NetworkDraft>,
    /// `--network-alias`es, of the first network (as the CLI applies them).
    pub(super) network_aliases: Vec<String>,
    pub(super) ipv4: Option<String>,
    pub(super) ipv6: Option<String>,
    pub(super) health: HealthDraft,
    pub(super) log_driver: Option<String>,
    pub(super) log_opts: Vec<String>,
    pub(super) security_opts: Vec<SecurityOpt>,
}

/// One `--network`, with the settings of its advanced form.
#[derive(Default)]
pub(super) struct NetworkDraft {
    pub(super) name: String,
    pub(super) aliases: Vec<String>,
    pub(super) ipv4: Option<String>,
    pub(super) ipv6: Option<String>,
}

#[derive(Default)]
pub(super) struct HealthDraft {
    pub(super) cmd: Option<String>,
    pub(super) interval: i64,
    pub(super) timeout: i64,
    pub(super) start_period: i64,
    pub(super) retries: i64,
    pub(super) disabled: bool,
}

impl Draft {
    pub(super) fn host(&mut self) -> &mut HostConfig {
        self.body
            .host_config
            .get_or_insert_with(HostConfig::default)
    }

    pub(super) fn expose(&mut self, port: &str) {
        push_unique(&mut self.body.exposed_ports, port);
    }

    /// Settles the options that depend on each other; what needs the host
    /// (files, the environment) stays deferred in the [`RunArgs`].
    pub(super) fn finish(mut self) -> Result<RunArgs, RunArgsError> {
        self.finish_labels();
        self.finish_health()?;
        self.finish_log()?;
        self.finish_network()?;
        Ok(RunArgs {
            body: self.body,
            env_files: self.env_files,
            env: self.env,
            security_opts: self.security_opts,
        })
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

    /// `--ip`, `--ip6` and `--network-alias` configure the endpoint of the
    /// first `--network`, which the engine only allows on a user-defined
    /// network. (The CLI silently drops `--ip` when no --network is
    /// given; an error is kinder than a container that quietly gets
    /// another address.) Every network with settings, and every one of a
    /// container on several, gets its endpoint in the body; the container
    /// driver creates the container on the first and connects it to the
    /// others (the engine before API 1.44 takes one network at create).
    fn finish_network(&mut self) -> Result<(), RunArgsError> {
        let first_settings = [
            ("--ip", self.ipv4.as_ref()),
            ("--ip6", self.ipv6.as_ref()),
            ("--network-alias", self.network_aliases.first()),
        ];
        let Some(first) = self.networks.first_mut() else {
            return match first_settings.iter().find_map(|(o, v)| v.map(|v| (*o, v))) {
                Some((option, value)) => Err(bad_value(
                    option,
                    value,
                    "needs a user-defined network: add --network <name>".into(),
                )),
                None => Ok(()),
            };
        };
        if !is_user_defined_network(&first.name) {
            if let Some((option, value)) = first_settings
                .iter()
                .find_map(|(o, v)| v.map(|v| (*o, v)))
                .or_else(|| first.aliases.first().map(|a| ("--network", a)))
            {
                return Err(bad_value(
                    option,
                    value,
                    "needs a user-defined network: add --network <name>".into(),
                ));
            }
        }
        for (option, mine, theirs) in [
            ("--ip", &self.ipv4, &mut first.ipv4),
            ("--ip6", &self.ipv6, &mut first.ipv6),
        ] {
            match (mine, theirs.as_ref()) {
                (Some(mine), Some(_)) => {
                    return Err(bad_value(
                        option,
                        mine,
                        format!("the network {} sets its own address", first.name),
                    ))
                }
                (Some(mine), None) => *theirs = Some(mine.clone()),
                _ => {}
            }
        }
        first.aliases.splice(0..0, self.network_aliases.drain(..));
        let several = self.networks.len() > 1;
        if several {
            if let Some(special) = self
                .networks
                .iter()
                .find(|n| !is_user_defined_network(&n.name))
            {
                return Err(bad_value(
                    "--network",
                    &special.name,
                    "conflicting options: cannot attach both user-defined and non-user-defined networks".into(),
                ));
            }
        }
        let mut endpoints = HashMap::new();
        for network in &self.networks {
            let settings =
                !network.aliases.is_empty() || network.ipv4.is_some() || network.ipv6.is_some();
            if !(settings || several) {
                continue;
            }
            let ipam =
                (network.ipv4.is_some() || network.ipv6.is_some()).then(|| EndpointIpamConfig {
                    ipv4_address: network.ipv4.clone(),
                    ipv6_address: network.ipv6.clone(),
                    ..Default::default()
                });
            let endpoint = EndpointSettings {
                ipam_config: ipam,
                aliases: (!network.aliases.is_empty()).then(|| network.aliases.clone()),
                ..Default::default()
            };
            endpoints.insert(network.name.clone(), endpoint);
        }
        if !endpoints.is_empty() {
            self.body.networking_config = Some(NetworkingConfig {
                endpoints_config: Some(endpoints),
            });
        }
        Ok(())
    }
}
