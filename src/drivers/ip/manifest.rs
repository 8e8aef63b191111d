//! The `ip#N` kind: an address on a network device.

use std::sync::Arc;
use std::time::Duration;

use super::IpDriver;
use crate::config::{kw, parse_netmask, Keyword, KindSchema, Spec, Values};
use crate::drivers::manifest::{spec_of, spec_with_deadline, Manifest};

/// `ip#N`.
pub static MANIFEST: Manifest = Manifest {
    schema: KindSchema::new("ip", KEYWORDS, build)
        .ranks(10, 50)
        .labelled_by("ipname"),
    driver: |ctx, rid, spec| {
        Arc::new(IpDriver::new(
            ctx,
            rid.clone(),
            spec_of::<IpSpec>(spec).clone(),
        ))
    },
    sweep: None,
};

use crate::config::ValueKind::Text;

#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("ipname", Text, true, None, "Host name (hosts file / DNS) or literal IPv4/IPv6 address."),
    kw("ipdev", Text, true, None, "Network device that carries the address."),
    kw("netmask", Text, false, None,
       "Prefix length (or dotted netmask); default: that of the device's existing addresses, else 24 (64 for IPv6)."),
];

/// An address: resolve, netlink, one ping and one arping, 5 s each.
const DEADLINE: Duration = Duration::from_secs(30);

/// `ip#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSpec {
    /// Host name or literal address.
    pub ipname: String,
    /// Network device.
    pub ipdev: String,
    /// Prefix length or dotted mask, as written.
    pub netmask: Option<String>,
}

spec_with_deadline!(IpSpec, DEADLINE);

fn build(values: &Values<'_>) -> Result<Arc<dyn Spec>, String> {
    let ipname = values.require("ipname");
    let ipdev = values.require("ipdev");
    let netmask = values.text("netmask");
    if let Some(mask) = &netmask {
        // A host name's family is known once resolved: a mask valid for
        // either family passes here.
        let valid = match ipname.as_deref().map(str::parse::<std::net::IpAddr>) {
            Some(Ok(addr)) => parse_netmask(mask, addr.is_ipv4()).map(drop),
            _ => parse_netmask(mask, true)
                .or_else(|_| parse_netmask(mask, false))
                .map(drop),
        };
        // Reported against netmask, which the message need not name again.
        let valid = valid.map_err(|e| match e.strip_prefix("netmask: ") {
            Some(rest) => rest.to_string(),
            None => e,
        });
        values.take("netmask", valid);
    }
    if let Some(reason) = values.first_taken() {
        return Err(reason);
    }
    Ok(Arc::new(IpSpec {
        ipname: ipname.unwrap_or_default(),
        ipdev: ipdev.unwrap_or_default(),
        netmask,
    }))
}
