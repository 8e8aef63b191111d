//! The service file's text: a header saying where it comes from, a
//! `network#N` per network the services use, a `container#N` per service
//! in start order, each saying which Compose service it is, with a
//! comment on each decision.

use std::fmt::Write;
use std::time::Duration;

use super::project::Project;
use super::service::{svcfs_duration, Condition, Container, NetworkMode};
use super::{Ctx, MadeBy};
use crate::config::words;

/// A container's start bound when nothing asks for more (the kind's own
/// default).
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// The whole file.
pub(crate) fn service_file(ctx: &Ctx<'_>, project: &Project) -> String {
    let mut out = String::new();
    let file = ctx.input.file.display();
    match ctx.input.made_by {
        MadeBy::Import => {
            let _ = writeln!(
                out,
                "# Written by `svcfs import` from {file} (Compose project {}).",
                project.name
            );
        }
        MadeBy::ConfigDir => {
            let _ = writeln!(
                out,
                "# Made by svcfs from {file} (Compose project {}), again at each change of it\n# or of the files it reads; `svcfs import` writes the same as a file of its own.",
                project.name
            );
        }
    }
    out.push_str(
        "# Each container#N says which Compose service it is; the comments say what was\n\
         # decided where Compose and svcfs differ. Networks and named volumes are named\n\
         # <project>_<name>, as Compose names them, so a migrated project's are reused.\n\n",
    );
    let _ = writeln!(
        out,
        "[DEFAULT]\ncomment = Compose project {}\n",
        project.name
    );
    for (i, network) in project.networks.iter().enumerate() {
        let _ = writeln!(out, "# network#{}: Compose network {}", i + 1, network.key);
        if network.key == "default" {
            out.push_str("# (the project's default network: services without networks: join it)\n");
        }
        if network.external {
            out.push_str("# external: svcfs never creates nor removes it\n");
        } else {
            out.push_str(
                "# start creates it if needed; stop keeps it, as docker compose stop does\n",
            );
        }
        let _ = writeln!(out, "[network#{}]\nname = {}", i + 1, network.name);
        if network.external {
            out.push_str("external = true\n");
        }
        if let Some(driver) = &network.driver {
            let _ = writeln!(out, "driver = {driver}");
        }
        if !network.pools.is_empty() {
            let subnets: Vec<&str> = network.pools.iter().map(|p| p.0.as_str()).collect();
            let _ = writeln!(out, "subnet = {}", subnets.join(" "));
            let gateways: Vec<&str> = network.pools.iter().map_while(|p| p.1.as_deref()).collect();
            if !gateways.is_empty() {
                let _ = writeln!(out, "gateway = {}", gateways.join(" "));
            }
            let ranges: Vec<&str> = network.pools.iter().map_while(|p| p.2.as_deref()).collect();
            if !ranges.is_empty() {
                let _ = writeln!(out, "ip_range = {}", ranges.join(" "));
            }
        }
        if network.internal {
            out.push_str("internal = true\n");
        }
        if network.ipv6 {
            out.push_str("ipv6 = true\n");
        }
        let pairs = |list: &[(String, String)]| {
            let words: Vec<String> = list.iter().map(|(k, v)| format!("{k}={v}")).collect();
            words::join(&words)
        };
        if !network.options.is_empty() {
            let _ = writeln!(out, "options = {}", pairs(&network.options));
        }
        if !network.labels.is_empty() {
            let _ = writeln!(out, "labels = {}", pairs(&network.labels));
        }
        out.push('\n');
    }
    for (i, c) in project.containers.iter().enumerate() {
        container(ctx, project, &mut out, i + 1, c);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn container(ctx: &Ctx<'_>, project: &Project, out: &mut String, n: usize, c: &Container) {
    let file = ctx
        .input
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "# container#{n}: Compose service {} ({file}:{})",
        c.name, c.line
    );
    for dep in &c.depends {
        let rid = project.rid_of(&dep.service).unwrap_or_default();
        let how = match dep.condition {
            Condition::Started => {
                "svcfs waits for it to run (and for its health check, when it has one)"
            }
            Condition::Healthy => "svcfs waits for its health check to pass",
            Condition::Completed => "a job: svcfs waits for it to exit 0",
        };
        let why = match dep.implied_by {
            Some(key) => format!("{key} implies it"),
            None => format!("depends_on, {}", dep.condition.word()),
        };
        let _ = writeln!(
            out,
            "# after {} ({why}): it is {rid}, started before; {how}",
            dep.service
        );
    }
    let mut args: Vec<String> = Vec::new();
    let tty_words = c
        .args
        .iter()
        .take_while(|w| *w == "--tty=false" || *w == "--interactive=false")
        .count();
    args.extend(c.args[..tty_words].iter().cloned());
    match &c.network_mode {
        Some(NetworkMode::Plain(mode)) => {
            args.extend(["--network".to_string(), mode.clone()]);
        }
        Some(NetworkMode::Service(service)) => {
            let index = project
                .containers
                .iter()
                .position(|o| o.name == *service)
                .map_or(0, |i| i + 1);
            let name = format!("{}.container.{index}", ctx.input.service);
            args.extend(["--network".to_string(), format!("container:{name}")]);
            let _ = writeln!(
                out,
                "# network_mode: service:{service} is the network of its container, {name}"
            );
        }
        None => {}
    }
    if let [only] = c.networks.as_slice() {
        args.extend(["--network".to_string(), only.name.clone()]);
        for alias in &only.aliases {
            args.extend(["--network-alias".to_string(), alias.clone()]);
        }
        if let Some(ip) = &only.ipv4 {
            args.extend(["--ip".to_string(), ip.clone()]);
        }
        if let Some(ip) = &only.ipv6 {
            args.extend(["--ip6".to_string(), ip.clone()]);
        }
    } else {
        for network in &c.networks {
            let mut fields = vec![format!("name={}", network.name)];
            fields.extend(network.aliases.iter().map(|a| format!("alias={a}")));
            fields.extend(network.ipv4.iter().map(|ip| format!("ip={ip}")));
            fields.extend(network.ipv6.iter().map(|ip| format!("ip6={ip}")));
            args.extend(["--network".to_string(), fields.join(",")]);
        }
    }
    if !c.networks.is_empty() {
        let names: Vec<String> = c
            .networks
            .iter()
            .map(|n| format!("{} as {}", n.name, n.aliases.join(", ")))
            .collect();
        let _ = writeln!(
            out,
            "# networks: on {}: the project's containers reach it by those names{}",
            names.join("; "),
            if c.networks.len() > 1 {
                " (created on the first, connected to the others before it starts)"
            } else {
                ""
            }
        );
    }
    args.extend(c.args[tty_words..].iter().cloned());
    for comment in &c.comments {
        let _ = writeln!(out, "# {comment}");
    }
    let _ = writeln!(out, "[container#{n}]");
    let _ = writeln!(out, "run_image = {}", c.image);
    if let Some(command) = &c.command {
        let _ = writeln!(out, "run_command = {}", words::join(command));
    }
    if !args.is_empty() {
        let _ = writeln!(out, "run_args = {}", words::join(&args));
    }
    let bound = if c.oneshot {
        Some(super::service::JOB_TIMEOUT)
    } else {
        c.health_bound
    };
    if c.oneshot {
        let _ = writeln!(
            out,
            "# a service depends on it with service_completed_successfully: a job, whose start\n# waits for it to exit 0 (within start_timeout: Compose waits without a bound)\noneshot = true"
        );
    }
    if let Some(bound) = bound.filter(|b| *b > DEFAULT_START_TIMEOUT) {
        if !c.oneshot {
            out.push_str("# healthcheck: start waits until healthy, at most start_period + retries × (interval + timeout)\n");
        }
        let _ = writeln!(out, "start_timeout = {}", svcfs_duration(bound));
    }
    if let Some(grace) = c.stop_timeout {
        let _ = writeln!(
            out,
            "# stop_grace_period\nstop_timeout = {}",
            svcfs_duration(grace)
        );
    }
    if let Some((tries, why)) = &c.restart {
        let _ = writeln!(out, "# {why}\nrestart = {tries}");
    }
    if c.optional {
        out.push_str("# every service depending on it says required: false: its failure fails nothing\noptional = true\n");
    }
    if let Some(why) = &c.disabled {
        let _ = writeln!(out, "# {why}\ndisable = true");
    }
    out.push('\n');
}
