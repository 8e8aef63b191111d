//! The `network#N` kind: a docker network of the service's docker daemon,
//! which its containers join with `--network` in `run_args` (so that each
//! resolves the others by their `--network-alias`), as a Compose project's
//! containers join the project's networks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::NetworkDriver;
use crate::config::ValueKind::{Bool, List, Text, Words};
use crate::config::{kw, parse_list, Keyword, KindSchema, Spec, Values};
use crate::drivers::manifest::{spec_of, spec_with_deadline, Manifest};

/// `network#N`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("network", KEYWORDS, build)
        .ranks(45, 17)
        .labelled_by("name")
        .with_containers()
        .standby(),
    driver: |ctx, rid, spec| {
        Arc::new(NetworkDriver::new(
            ctx,
            rid.clone(),
            spec_of::<NetworkSpec>(spec).clone(),
        ))
    },
    sweep: Some(|docker, declared, var_dir| Box::pin(super::sweep(docker, declared, var_dir))),
};

#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("name", Text, true, None,
       "Name of the docker network; containers join it with --network NAME in run_args."),
    kw("driver", Text, false, Some("bridge"),
       "Network driver (docker network create --driver)."),
    kw("subnet", List, false, None,
       "Subnets in CIDR form (docker network create --subnet), one IPAM pool each; default: one docker picks."),
    kw("gateway", List, false, None,
       "Gateway of each subnet, in the order of subnet (--gateway)."),
    kw("ip_range", List, false, None,
       "Range containers get addresses from, per subnet in the order of subnet (--ip-range)."),
    kw("internal", Bool, false, Some("false"),
       "No route outside: the containers on it reach each other only (--internal)."),
    kw("ipv6", Bool, false, Some("false"),
       "Give the network IPv6 (--ipv6)."),
    kw("options", Words, false, None,
       "Driver options as KEY=VALUE words (--opt), e.g. com.docker.network.bridge.name=br-app."),
    kw("labels", Words, false, None,
       "Labels of the network as KEY=VALUE words, beside svcfs's own."),
    kw("external", Bool, false, Some("false"),
       "Use an existing network: start checks that it exists and never creates it, and svcfs never removes it."),
];

/// Every network call is one short docker call (or two: a look, then a
/// create): the docker client bounds each to 10 s.
const DEADLINE: Duration = Duration::from_secs(25);

/// One IPAM pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// CIDR.
    pub subnet: String,
    /// Its gateway, if set.
    pub gateway: Option<String>,
    /// Its range, if set.
    pub ip_range: Option<String>,
}

/// `network#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The docker network's name.
    pub name: String,
    /// Its driver.
    pub driver: String,
    /// Its IPAM pools (none: docker's choice).
    pub pools: Vec<Pool>,
    /// `--internal`.
    pub internal: bool,
    /// `--ipv6`.
    pub ipv6: bool,
    /// Driver options.
    pub options: HashMap<String, String>,
    /// Labels beside svcfs's.
    pub labels: HashMap<String, String>,
    /// An existing network, never created nor removed.
    pub external: bool,
}

spec_with_deadline!(NetworkSpec, DEADLINE);

fn build(values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    let name = values.require("name");
    if let Some(name) = &name {
        values.take("name", valid_name(name));
    }
    let external = values
        .take("external", values.bool("external"))
        .unwrap_or(false);
    if external {
        let own = [
            "driver", "subnet", "gateway", "ip_range", "internal", "ipv6", "options", "labels",
        ];
        for keyword in own {
            if values.raw(keyword).is_some() {
                values.take::<()>(
                    keyword,
                    Err("an external network is used as it is: its settings are its own (remove this keyword, or external)".into()),
                );
            }
        }
    }
    let list = |keyword: &str| values.raw(keyword).map(parse_list).unwrap_or_default();
    let subnets = list("subnet");
    for subnet in &subnets {
        values.take("subnet", cidr(subnet));
    }
    let paired = |keyword: &'static str, check: fn(&str) -> Result<(), String>| {
        let items = list(keyword);
        if items.len() > subnets.len() {
            values.take::<()>(
                keyword,
                Err(format!(
                    "{} values for {} subnet(s): one per subnet, in the order of subnet",
                    items.len(),
                    subnets.len()
                )),
            );
        }
        for item in &items {
            values.take(keyword, check(item));
        }
        items
    };
    let gateways = paired("gateway", |g| {
        g.parse::<IpAddr>()
            .map(|_| ())
            .map_err(|_| format!("{g:?} is not an IP address"))
    });
    let ranges = paired("ip_range", cidr);
    let pools = subnets
        .iter()
        .enumerate()
        .map(|(i, subnet)| Pool {
            subnet: subnet.clone(),
            gateway: gateways.get(i).cloned(),
            ip_range: ranges.get(i).cloned(),
        })
        .collect();
    let pairs = |keyword: &'static str| -> HashMap<String, String> {
        let words = values
            .take(keyword, values.words(keyword))
            .unwrap_or_default();
        words
            .iter()
            .filter_map(|word| {
                let pair = word
                    .split_once('=')
                    .filter(|(key, _)| !key.is_empty())
                    .ok_or_else(|| format!("{word:?} is not KEY=VALUE"));
                values.take(keyword, pair)
            })
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let options = pairs("options");
    let labels = pairs("labels");
    let spec = NetworkSpec {
        name: name.unwrap_or_default(),
        driver: values
            .text("driver")
            .unwrap_or_else(|| "bridge".to_string()),
        pools,
        internal: values
            .take("internal", values.bool("internal"))
            .unwrap_or(false),
        ipv6: values.take("ipv6", values.bool("ipv6")).unwrap_or(false),
        options,
        labels,
        external,
    };
    match values.first_taken() {
        Some(reason) => Err(reason),
        None => Ok(Arc::new(spec)),
    }
}

/// Docker's rule for network names.
fn valid_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a docker network name (letters, digits, '_', '.' and '-', starting with a letter or digit)"
        ))
    }
}

/// `10.1.0.0/24`, `fd00::/64`.
fn cidr(text: &str) -> Result<(), String> {
    let bad = || format!("{text:?} is not an address range in CIDR form (10.1.0.0/24)");
    let (address, prefix) = text.split_once('/').ok_or_else(bad)?;
    let address: IpAddr = address.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service;
    use crate::drivers::registry::KINDS;
    use std::path::Path;

    fn spec_of_text(section: &str) -> Result<NetworkSpec, Vec<String>> {
        let text = format!("[network#1]\n{section}");
        let service = parse_service(&KINDS, "svc", Path::new("/x/svc.env"), &text);
        let problems: Vec<String> = service
            .problems
            .iter()
            .map(|p| p.with_line(&text))
            .collect();
        match service.resources[0].spec_as::<NetworkSpec>() {
            Some(spec) if problems.is_empty() => Ok(spec.clone()),
            _ => Err(problems),
        }
    }

    #[test]
    fn a_network_reads_its_pools_options_and_labels() {
        let spec = spec_of_text(
            "name = app_back\nsubnet = 10.5.0.0/24 fd00:5::/64\ngateway = 10.5.0.1\n\
             internal = true\noptions = com.docker.network.bridge.name=br-app\nlabels = tier=back\n",
        )
        .unwrap();
        assert_eq!(spec.name, "app_back");
        assert_eq!(spec.driver, "bridge");
        assert_eq!(
            spec.pools,
            [
                Pool {
                    subnet: "10.5.0.0/24".into(),
                    gateway: Some("10.5.0.1".into()),
                    ip_range: None
                },
                Pool {
                    subnet: "fd00:5::/64".into(),
                    gateway: None,
                    ip_range: None
                }
            ]
        );
        assert!(spec.internal && !spec.external);
        assert_eq!(spec.options["com.docker.network.bridge.name"], "br-app");
        assert_eq!(spec.labels["tier"], "back");
    }

    #[test]
    fn every_bad_value_is_reported_at_its_line() {
        let problems =
            spec_of_text("name = -bad\nsubnet = 10.5.0.0/33\ngateway = a b\noptions = novalue\n")
                .unwrap_err();
        let joined = problems.join("\n");
        for (line, keyword) in [(2, "name"), (3, "subnet"), (4, "gateway"), (5, "options")] {
            assert!(
                joined.contains(&format!("svc.env:{line}: [network#1] {keyword}:")),
                "{joined}"
            );
        }
    }

    #[test]
    fn an_external_network_takes_no_settings_of_its_own() {
        let spec = spec_of_text("name = shared\nexternal = true\n").unwrap();
        assert!(spec.external);
        let problems =
            spec_of_text("name = shared\nexternal = true\nsubnet = 10.0.0.0/8\n").unwrap_err();
        assert!(
            problems[0].contains("[network#1] subnet: an external network"),
            "{problems:?}"
        );
    }
}
