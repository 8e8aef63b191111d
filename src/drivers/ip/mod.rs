//! The `ip#N` driver: one IPv4 or IPv6 address (`ipname`, a literal or a
//! host name) on one network device (`ipdev`). Start checks that no other
//! host answers on the address, adds it and announces it (gratuitous ARP for
//! IPv4); stop removes it. Addresses are read and changed through netlink
//! ([`AddressBackend`]), names resolved through the system resolver
//! ([`NameResolver`]), and `ping` / `arping` run through the
//! [`CommandRunner`], so the logic is unit-tested against fakes.
//!
//! Netlink acts on the network namespace of the calling thread: run svcfs
//! under `nsenter --net=…` to manage the addresses of another namespace.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::{AddressMessageBuilder, Handle};

use crate::drivers::shared::HostReads;
use crate::drivers::{Driver, DriverContext};

mod manifest;
use crate::actionlog::ResourceLog;
use crate::config::parse_netmask;
use crate::error::{Error, Result};
use crate::host::{command_line, CommandRunner};
use crate::model::{ResourceState, Rid, Status};
pub use manifest::{IpSpec, MANIFEST};

/// Bound on one netlink operation (open, look up the device, act).
const NETLINK_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on resolving `ipname` through the hosts file / DNS.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on `ping -c 1 -W 1` (it gives up after one second by itself).
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on `arping -c 1 -w 1`.
const ARPING_TIMEOUT: Duration = Duration::from_secs(5);
/// Prefix length used for IPv4 when neither `netmask` nor an existing
/// address of the device says otherwise.
pub const DEFAULT_PREFIX_V4: u8 = 24;
/// Same, for IPv6.
pub const DEFAULT_PREFIX_V6: u8 = 64;

/// Every network device, by name, with its addresses and their prefix
/// lengths (devices without any address included).
pub type DeviceAddresses = HashMap<String, Vec<(IpAddr, u8)>>;

/// Reads and changes the addresses of network devices.
#[async_trait]
pub trait AddressBackend: Send + Sync {
    /// The addresses configured on `dev` with their prefix lengths; `None`
    /// when the device does not exist.
    async fn addresses(&self, dev: &str) -> Result<Option<Vec<(IpAddr, u8)>>>;
    /// The addresses of every device, in one dump (status checks share it).
    async fn all_addresses(&self) -> Result<DeviceAddresses>;
    /// Add `addr/prefix` to `dev` (`ip addr add`).
    async fn add(&self, dev: &str, addr: IpAddr, prefix: u8) -> Result<()>;
    /// Remove `addr/prefix` from `dev` (`ip addr del`).
    async fn remove(&self, dev: &str, addr: IpAddr, prefix: u8) -> Result<()>;
}

/// Turns host names into addresses.
#[async_trait]
pub trait NameResolver: Send + Sync {
    /// Every address `name` resolves to, or why it does not resolve.
    async fn resolve(&self, name: &str) -> std::result::Result<Vec<IpAddr>, String>;
}

/// The system resolver (hosts file, then DNS, as nsswitch says), bounded.
pub struct SystemResolver;

#[async_trait]
impl NameResolver for SystemResolver {
    async fn resolve(&self, name: &str) -> std::result::Result<Vec<IpAddr>, String> {
        let found = crate::bounded::bounded("resolving the name", name, RESOLVE_TIMEOUT, async {
            tokio::net::lookup_host((name, 0))
                .await
                .map_err(|e| Error::backend(e.to_string()))
        })
        .await;
        match found {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) if e.errno() == libc::ETIMEDOUT => Err(format!(
                "no answer within {}",
                crate::bounded::seconds(RESOLVE_TIMEOUT)
            )),
            Err(e) => Err(e.message().to_string()),
        }
    }
}

/// The address to manage among those a name resolves to: the first IPv4
/// one, else the first IPv6 one (like most clients would connect to).
pub fn choose_address(addrs: &[IpAddr]) -> Option<IpAddr> {
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

/// Whether `addr` lies in the network `net/prefix`.
pub fn network_contains(net: IpAddr, prefix: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (IpAddr::V4(net), IpAddr::V4(addr)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(net) & mask == u32::from(addr) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(addr)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(net) & mask == u128::from(addr) & mask
        }
        _ => false,
    }
}

/// The prefix length for `addr` when `netmask` is not set: that of the
/// most specific existing address of the device whose network contains
/// `addr`, else 24 for IPv4 and 64 for IPv6.
pub fn default_prefix(addr: IpAddr, existing: &[(IpAddr, u8)]) -> u8 {
    existing
        .iter()
        .filter(|(net, prefix)| network_contains(*net, *prefix, addr))
        .map(|(_, prefix)| *prefix)
        .max()
        .unwrap_or(if addr.is_ipv4() {
            DEFAULT_PREFIX_V4
        } else {
            DEFAULT_PREFIX_V6
        })
}

/// Drives one `ip#N` resource.
pub struct IpDriver {
    rid: Rid,
    spec: IpSpec,
    backend: Arc<dyn AddressBackend>,
    resolver: Arc<dyn NameResolver>,
    runner: Arc<dyn CommandRunner>,
    reads: Arc<HostReads>,
}

impl IpDriver {
    /// A driver acting through netlink, the system resolver and the
    /// context's command runner.
    pub fn new(ctx: &DriverContext, rid: Rid, spec: IpSpec) -> Self {
        Self::with_backends(
            rid,
            spec,
            Arc::new(NetlinkBackend::new()),
            Arc::new(SystemResolver),
            ctx.runner.clone(),
        )
        .sharing(ctx.reads.clone())
    }

    /// A driver with injected backends (tests).
    pub fn with_backends(
        rid: Rid,
        spec: IpSpec,
        backend: Arc<dyn AddressBackend>,
        resolver: Arc<dyn NameResolver>,
        runner: Arc<dyn CommandRunner>,
    ) -> Self {
        IpDriver {
            rid,
            spec,
            backend,
            resolver,
            runner,
            reads: Arc::default(),
        }
    }

    /// The same driver sharing its status reads with others (the engine's
    /// [`HostReads`]) instead of its own.
    pub fn sharing(mut self, reads: Arc<HostReads>) -> Self {
        self.reads = reads;
        self
    }

    /// The addresses of `ipdev` for a status check, from the dump every
    /// address of the pass shares; `None` when the device does not exist.
    async fn shared_addresses(&self) -> Result<Option<Vec<(IpAddr, u8)>>> {
        let dump = self
            .reads
            .addresses
            .get(|| async { self.backend.all_addresses().await.map(Arc::new) })
            .await?;
        Ok(dump.get(&self.spec.ipdev).cloned())
    }

    fn label(&self) -> String {
        format!("{}@{}", self.spec.ipname, self.spec.ipdev)
    }

    /// `ipname` as an address: a literal, or the name resolved.
    async fn address(&self) -> Result<IpAddr> {
        let name = self.spec.ipname.trim();
        let addr = match name.parse::<IpAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                let cannot =
                    |why: String| Error::backend(format!("cannot resolve ipname {name}: {why}"));
                let found = self.resolver.resolve(name).await.map_err(cannot)?;
                choose_address(&found)
                    .ok_or_else(|| cannot("the name has no address".to_string()))?
            }
        };
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(Error::invalid(format!(
                "ipname: {addr} cannot be assigned to a device"
            )));
        }
        Ok(addr)
    }

    /// The `netmask` keyword as a prefix length, when set.
    fn configured_prefix(&self, addr: IpAddr) -> Result<Option<u8>> {
        self.spec
            .netmask
            .as_deref()
            .map(|text| parse_netmask(text, addr.is_ipv4()).map_err(Error::invalid))
            .transpose()
    }

    async fn observe(&self) -> Result<ResourceState> {
        let addr = self.address().await?;
        let dev = &self.spec.ipdev;
        let mut state = match self.shared_addresses().await? {
            None => ResourceState::new(Status::Warn, self.label())
                .with_message(format!("device {dev} not found")),
            Some(list) if list.iter().any(|(a, _)| *a == addr) => {
                ResourceState::new(Status::Up, self.label())
            }
            Some(_) => ResourceState::new(Status::Down, self.label()),
        };
        if let Err(e) = self.configured_prefix(addr) {
            state.status = Status::Warn;
            state.messages.push(e.message().to_string());
        }
        Ok(state)
    }

    /// Fail unless the address looks free: one ping, which must not answer.
    async fn check_free(&self, addr: IpAddr, log: &ResourceLog) -> Result<()> {
        if addr.is_loopback() {
            // The host itself answers every loopback address, and no other
            // host can hold one: there is nothing to ask.
            log.info(format!(
                "{addr} is a loopback address: no other host can hold it"
            ));
            return Ok(());
        }
        let target = addr.to_string();
        let mut args = vec!["-c", "1", "-W", "1", target.as_str()];
        if addr.is_ipv6() {
            args.insert(0, "-6");
        }
        let output = self
            .runner
            .run("ping", &args, PING_TIMEOUT)
            .await
            .map_err(|e| {
                Error::new(
                    e.errno(),
                    format!(
                        "cannot check {addr} availability: {} (ping comes with the iputils-ping package)",
                        e.message()
                    ),
                )
            })?;
        match output.code {
            Some(0) => Err(Error::backend(format!(
                "{addr} is already in use on the network: another host answers"
            ))),
            // No reply within the deadline: nobody holds the address.
            Some(1) => Ok(()),
            // Other failures (no route to the address, ...): nobody could
            // be asked, so nobody answers from here either.
            _ => {
                log.warn(format!(
                    "{} could not check the network ({}), going on",
                    command_line("ping", &args),
                    output.diagnostic()
                ));
                Ok(())
            }
        }
    }

    /// Tell the neighbours where the address now lives. Best effort: a
    /// failure is a warning, the address is up all the same.
    async fn announce(&self, addr: IpAddr, log: &ResourceLog) {
        if addr.is_loopback() {
            return;
        }
        if addr.is_ipv6() {
            log.info(format!(
                "no gratuitous ARP for IPv6: the kernel announces {addr} with unsolicited neighbour advertisements after duplicate address detection"
            ));
            return;
        }
        let target = addr.to_string();
        let dev = self.spec.ipdev.as_str();
        let args = ["-U", "-c", "1", "-w", "1", "-I", dev, target.as_str()];
        let line = command_line("arping", &args);
        log.info(&line);
        let why = match self.runner.run("arping", &args, ARPING_TIMEOUT).await {
            Ok(output) if output.success() => return,
            Ok(output) => format!(
                "{line} failed ({}): {}",
                output
                    .code
                    .map_or_else(|| "killed".to_string(), |c| format!("exit {c}")),
                output.diagnostic()
            ),
            Err(e) => e.message().to_string(),
        };
        log.warn(format!(
            "cannot announce {addr} on {dev}: {why}; neighbours will learn it when their ARP caches expire (arping comes with the iputils-arping package)"
        ));
    }
}

#[async_trait]
impl Driver for IpDriver {
    async fn status(&self) -> ResourceState {
        match self.observe().await {
            Ok(state) => state,
            Err(e) => ResourceState::new(Status::Warn, self.label()).with_message(e.message()),
        }
    }

    async fn start(&self, log: &ResourceLog) -> Result<()> {
        let addr = self.address().await?;
        let configured = self.configured_prefix(addr)?;
        let dev = &self.spec.ipdev;
        log.info(format!("checking {addr} availability"));
        let existing = self
            .backend
            .addresses(dev)
            .await?
            .ok_or_else(|| Error::backend(format!("device {dev} not found")))?;
        if existing.iter().any(|(a, _)| *a == addr) {
            log.info(format!("{addr} is already up on {dev}"));
            return Ok(());
        }
        self.check_free(addr, log).await?;
        let prefix = configured.unwrap_or_else(|| default_prefix(addr, &existing));
        log.info(format!("ip addr add {addr}/{prefix} dev {dev}"));
        let added = self.backend.add(dev, addr, prefix).await;
        self.reads.addresses.invalidate();
        added?;
        tracing::debug!(rid = %self.rid, %addr, prefix, dev = %dev, "address added");
        self.announce(addr, log).await;
        Ok(())
    }

    async fn stop(&self, log: &ResourceLog) -> Result<()> {
        let addr = self.address().await?;
        let dev = &self.spec.ipdev;
        let Some(existing) = self.backend.addresses(dev).await? else {
            log.info(format!("device {dev} not found: {addr} is already down"));
            return Ok(());
        };
        match existing.iter().find(|(a, _)| *a == addr) {
            None => {
                log.info(format!("{addr} is already down on {dev}"));
                Ok(())
            }
            Some(&(_, prefix)) => {
                log.info(format!("ip addr del {addr}/{prefix} dev {dev}"));
                let removed = self.backend.remove(dev, addr, prefix).await;
                self.reads.addresses.invalidate();
                removed?;
                tracing::debug!(rid = %self.rid, %addr, dev = %dev, "address removed");
                Ok(())
            }
        }
    }
}

/// Addresses through rtnetlink, in the network namespace of the calling
/// thread. Each call opens its own netlink socket: calls are rare (status
/// refreshes and actions), and a socket per call never outlives a
/// namespace change or a dead connection.
pub struct NetlinkBackend {
    timeout: Duration,
}

impl Default for NetlinkBackend {
    fn default() -> Self {
        Self::new()
    }
}

/// A netlink connection whose driving task ends with it.
struct Session {
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a netlink error says, without rtnetlink's wrapping
/// (`File exists (os error 17)`).
fn describe(e: &rtnetlink::Error) -> String {
    match e {
        rtnetlink::Error::NetlinkError(message) => message.to_io().to_string(),
        other => other.to_string(),
    }
}

/// The interface address of a dump entry: IFA_LOCAL when present (it
/// differs from IFA_ADDRESS only on point-to-point links, where IFA_ADDRESS
/// is the peer), else IFA_ADDRESS.
fn address_of(message: &AddressMessage) -> Option<IpAddr> {
    let find = |local: bool| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) if local => Some(*ip),
            AddressAttribute::Address(ip) if !local => Some(*ip),
            _ => None,
        })
    };
    find(true).or_else(|| find(false))
}

impl NetlinkBackend {
    /// A backend bounding each call by 5 seconds.
    pub fn new() -> Self {
        NetlinkBackend {
            timeout: NETLINK_TIMEOUT,
        }
    }

    fn open(&self) -> Result<Session> {
        let (connection, handle, _) = rtnetlink::new_connection()
            .map_err(|e| Error::backend(format!("cannot open a netlink socket: {e}")))?;
        Ok(Session {
            handle,
            task: tokio::spawn(connection),
        })
    }

    /// Run one operation under the bound (debug-logged with its duration).
    async fn bounded<T>(
        &self,
        what: &str,
        operation: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        crate::bounded::bounded(what, "netlink", self.timeout, operation).await
    }
}

/// The index of device `dev`, `None` when there is no such device.
async fn link_index(
    handle: &Handle,
    dev: &str,
) -> std::result::Result<Option<u32>, rtnetlink::Error> {
    // Longer names cannot exist, and the kernel would refuse the request.
    if dev.is_empty() || dev.len() >= libc::IFNAMSIZ {
        return Ok(None);
    }
    let mut links = handle.link().get().match_name(dev).execute();
    match links.try_next().await {
        Ok(link) => Ok(link.map(|l| l.header.index)),
        Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code() == -libc::ENODEV => Ok(None),
        Err(e) => Err(e),
    }
}

fn address_message(index: u32, addr: IpAddr, prefix: u8) -> AddressMessage {
    match addr {
        IpAddr::V4(a) => AddressMessageBuilder::<Ipv4Addr>::new()
            .index(index)
            .address(a, prefix)
            .build(),
        IpAddr::V6(a) => AddressMessageBuilder::<std::net::Ipv6Addr>::new()
            .index(index)
            .address(a, prefix)
            .build(),
    }
}

#[async_trait]
impl AddressBackend for NetlinkBackend {
    async fn addresses(&self, dev: &str) -> Result<Option<Vec<(IpAddr, u8)>>> {
        let what = format!("list the addresses of {dev}");
        self.bounded(&what, async {
            let session = self.open()?;
            let fail =
                |e: rtnetlink::Error| Error::backend(format!("cannot {what}: {}", describe(&e)));
            let Some(index) = link_index(&session.handle, dev).await.map_err(fail)? else {
                return Ok(None);
            };
            let mut dump = session
                .handle
                .address()
                .get()
                .set_link_index_filter(index)
                .execute();
            let mut found = Vec::new();
            while let Some(message) = dump.try_next().await.map_err(fail)? {
                if let Some(addr) = address_of(&message) {
                    found.push((addr, message.header.prefix_len));
                }
            }
            Ok(Some(found))
        })
        .await
    }

    async fn all_addresses(&self) -> Result<DeviceAddresses> {
        let what = "list the addresses of every device";
        self.bounded(what, async {
            let session = self.open()?;
            let fail =
                |e: rtnetlink::Error| Error::backend(format!("cannot {what}: {}", describe(&e)));
            let mut names = HashMap::new();
            let mut links = session.handle.link().get().execute();
            while let Some(link) = links.try_next().await.map_err(fail)? {
                let name = link.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(name) => Some(name.clone()),
                    _ => None,
                });
                if let Some(name) = name {
                    names.insert(link.header.index, name);
                }
            }
            let mut found: DeviceAddresses =
                names.values().map(|n| (n.clone(), Vec::new())).collect();
            let mut dump = session.handle.address().get().execute();
            while let Some(message) = dump.try_next().await.map_err(fail)? {
                let name = names.get(&message.header.index);
                if let (Some(name), Some(addr)) = (name, address_of(&message)) {
                    found
                        .entry(name.clone())
                        .or_default()
                        .push((addr, message.header.prefix_len));
                }
            }
            Ok(found)
        })
        .await
    }

    async fn add(&self, dev: &str, addr: IpAddr, prefix: u8) -> Result<()> {
        let what = format!("add {addr}/{prefix} to {dev}");
        self.bounded(&what, async {
            let session = self.open()?;
            let fail = |why: String| Error::backend(format!("cannot {what}: {why}"));
            let index = link_index(&session.handle, dev)
                .await
                .map_err(|e| fail(describe(&e)))?
                .ok_or_else(|| fail(format!("device {dev} not found")))?;
            let mut request = session.handle.address().add(index, addr, prefix);
            // Like `ip addr add`: loopback addresses get the host scope,
            // which the kernel requires of them (EINVAL otherwise).
            if addr.is_loopback() {
                request.message_mut().header.scope = AddressScope::Host;
            }
            request.execute().await.map_err(|e| fail(describe(&e)))
        })
        .await
    }

    async fn remove(&self, dev: &str, addr: IpAddr, prefix: u8) -> Result<()> {
        let what = format!("remove {addr}/{prefix} from {dev}");
        self.bounded(&what, async {
            let session = self.open()?;
            let fail = |why: String| Error::backend(format!("cannot {what}: {why}"));
            let index = link_index(&session.handle, dev)
                .await
                .map_err(|e| fail(describe(&e)))?
                .ok_or_else(|| fail(format!("device {dev} not found")))?;
            session
                .handle
                .address()
                .del(address_message(index, addr, prefix))
                .execute()
                .await
                .map_err(|e| fail(describe(&e)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::actionlog::ServiceLog;
    use crate::host::{CommandOutput, FakeRunner};

    /// Devices and their addresses in memory, recording changes.
    #[derive(Default)]
    struct FakeAddresses {
        devices: Mutex<HashMap<String, Vec<(IpAddr, u8)>>>,
        changes: Mutex<Vec<String>>,
        dumps: std::sync::atomic::AtomicUsize,
    }

    impl FakeAddresses {
        fn with_device(dev: &str, addrs: &[(&str, u8)]) -> Arc<Self> {
            let fake = FakeAddresses::default();
            fake.devices.lock().unwrap().insert(
                dev.to_string(),
                addrs.iter().map(|(a, p)| (ip(a), *p)).collect(),
            );
            Arc::new(fake)
        }

        fn on(&self, dev: &str) -> Vec<(IpAddr, u8)> {
            self.devices.lock().unwrap()[dev].clone()
        }

        fn changes(&self) -> Vec<String> {
            self.changes.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl AddressBackend for FakeAddresses {
        async fn addresses(&self, dev: &str) -> Result<Option<Vec<(IpAddr, u8)>>> {
            Ok(self.devices.lock().unwrap().get(dev).cloned())
        }

        async fn all_addresses(&self) -> Result<DeviceAddresses> {
            self.dumps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(self.devices.lock().unwrap().clone())
        }

        async fn add(&self, dev: &str, addr: IpAddr, prefix: u8) -> Result<()> {
            self.changes
                .lock()
                .unwrap()
                .push(format!("add {addr}/{prefix} {dev}"));
            let mut devices = self.devices.lock().unwrap();
            let list = devices
                .get_mut(dev)
                .ok_or_else(|| Error::backend("no device"))?;
            if list.iter().any(|(a, _)| *a == addr) {
                return Err(Error::backend(format!(
                    "cannot add {addr}/{prefix} to {dev}: File exists (os error 17)"
                )));
            }
            list.push((addr, prefix));
            Ok(())
        }

        async fn remove(&self, dev: &str, addr: IpAddr, prefix: u8) -> Result<()> {
            self.changes
                .lock()
                .unwrap()
                .push(format!("del {addr}/{prefix} {dev}"));
            let mut devices = self.devices.lock().unwrap();
            let list = devices
                .get_mut(dev)
                .ok_or_else(|| Error::backend("no device"))?;
            list.retain(|(a, p)| (*a, *p) != (addr, prefix));
            Ok(())
        }
    }

    /// Names from a table; unknown names do not resolve.
    #[derive(Default)]
    struct FakeResolver(HashMap<String, Vec<IpAddr>>);

    #[async_trait]
    impl NameResolver for FakeResolver {
        async fn resolve(&self, name: &str) -> std::result::Result<Vec<IpAddr>, String> {
            self.0
                .get(name)
                .cloned()
                .ok_or_else(|| "Name or service not known".to_string())
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn spec(ipname: &str, netmask: Option<&str>) -> IpSpec {
        IpSpec {
            ipname: ipname.to_string(),
            ipdev: "eth0".to_string(),
            netmask: netmask.map(str::to_string),
        }
    }

    struct Setup {
        driver: IpDriver,
        addresses: Arc<FakeAddresses>,
        runner: Arc<FakeRunner>,
        log: ServiceLog,
    }

    impl Setup {
        fn new(spec: IpSpec, addresses: Arc<FakeAddresses>) -> Self {
            let mut names = HashMap::new();
            names.insert(
                "app.opensvc.com".to_string(),
                vec![ip("2001:db8::25"), ip("37.59.71.25")],
            );
            names.insert("v6only.example".to_string(), vec![ip("2001:db8::26")]);
            let runner = Arc::new(FakeRunner::new());
            let driver = IpDriver::with_backends(
                Rid::parse("ip#1").unwrap(),
                spec,
                addresses.clone(),
                Arc::new(FakeResolver(names)),
                runner.clone(),
            );
            Setup {
                driver,
                addresses,
                runner,
                log: ServiceLog::new("app.opensvc.com"),
            }
        }

        fn resource_log(&self) -> ResourceLog {
            self.log.resource("ip#1")
        }

        /// This resource's log lines without the time and source columns.
        fn lines(&self) -> Vec<String> {
            self.log
                .resource_lines("ip#1")
                .iter()
                // "HH:MM:SS LEVEL   APP.OPENSVC.COM.IP#1    message": the
                // source is shorter than its 23 columns here.
                .map(|l| format!("{} {}", l[9..16].trim_end(), &l[41..]))
                .collect()
        }
    }

    fn no_answer() -> CommandOutput {
        CommandOutput {
            code: Some(1),
            stdout: "1 packets transmitted, 0 received, 100% packet loss".into(),
            stderr: String::new(),
        }
    }

    #[tokio::test]
    async fn a_pass_over_many_addresses_dumps_them_once() {
        let addresses = FakeAddresses::with_device("eth0", &[("10.0.0.3", 24)]);
        let reads = Arc::new(HostReads::default());
        let drivers: Vec<IpDriver> = (1..=10)
            .map(|i| {
                IpDriver::with_backends(
                    Rid::parse(&format!("ip#{i}")).unwrap(),
                    spec(&format!("10.0.0.{i}"), None),
                    addresses.clone(),
                    Arc::new(FakeResolver::default()),
                    Arc::new(FakeRunner::new()),
                )
                .sharing(reads.clone())
            })
            .collect();
        let states = futures_util::future::join_all(drivers.iter().map(|d| d.status())).await;
        assert_eq!(addresses.dumps.load(std::sync::atomic::Ordering::SeqCst), 1);
        let up: Vec<usize> = (0..10)
            .filter(|&i| states[i].status == Status::Up)
            .collect();
        assert_eq!(up, [2]);
    }

    #[tokio::test]
    async fn adding_or_removing_an_address_invalidates_the_shared_dump() {
        let s = Setup::new(
            spec("10.0.0.5", None),
            FakeAddresses::with_device("eth0", &[]),
        );
        assert_eq!(s.driver.status().await.status, Status::Down);
        s.runner
            .expect("ping", no_answer())
            .expect("arping", CommandOutput::ok(""));
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(s.driver.status().await.status, Status::Up);
        s.driver.stop(&s.resource_log()).await.unwrap();
        assert_eq!(s.driver.status().await.status, Status::Down);
        assert_eq!(
            s.addresses.dumps.load(std::sync::atomic::Ordering::SeqCst),
            3
        );
    }

    #[tokio::test]
    async fn status_is_up_when_the_address_is_on_the_device() {
        let s = Setup::new(
            spec("37.59.71.25", None),
            FakeAddresses::with_device("eth0", &[("37.59.71.25", 24)]),
        );
        let state = s.driver.status().await;
        assert_eq!(state, ResourceState::new(Status::Up, "37.59.71.25@eth0"));
    }

    #[tokio::test]
    async fn status_is_down_when_the_address_is_not_on_the_device() {
        let s = Setup::new(
            spec("37.59.71.25", None),
            FakeAddresses::with_device("eth0", &[("37.59.71.20", 24)]),
        );
        let state = s.driver.status().await;
        assert_eq!(state, ResourceState::new(Status::Down, "37.59.71.25@eth0"));
    }

    #[tokio::test]
    async fn status_warns_when_the_device_is_missing() {
        let s = Setup::new(
            spec("37.59.71.25", None),
            FakeAddresses::with_device("eth1", &[]),
        );
        let state = s.driver.status().await;
        assert_eq!(state.status, Status::Warn);
        assert_eq!(state.label, "37.59.71.25@eth0");
        assert_eq!(state.messages, ["device eth0 not found"]);
    }

    #[tokio::test]
    async fn status_label_keeps_the_host_name() {
        let s = Setup::new(
            spec("app.opensvc.com", None),
            FakeAddresses::with_device("eth0", &[("37.59.71.25", 24)]),
        );
        let state = s.driver.status().await;
        assert_eq!(state.status, Status::Up);
        assert_eq!(state.label, "app.opensvc.com@eth0");
    }

    #[tokio::test]
    async fn status_warns_when_the_name_does_not_resolve() {
        let s = Setup::new(
            spec("nowhere.example", None),
            FakeAddresses::with_device("eth0", &[]),
        );
        let state = s.driver.status().await;
        assert_eq!(state.status, Status::Warn);
        assert_eq!(state.label, "nowhere.example@eth0");
        assert_eq!(
            state.messages,
            ["cannot resolve ipname nowhere.example: Name or service not known"]
        );
    }

    #[tokio::test]
    async fn status_warns_about_an_invalid_netmask() {
        let s = Setup::new(
            spec("37.59.71.25", Some("255.0.255.0")),
            FakeAddresses::with_device("eth0", &[("37.59.71.25", 24)]),
        );
        let state = s.driver.status().await;
        assert_eq!(state.status, Status::Warn);
        assert!(state.messages[0].starts_with("netmask: 255.0.255.0 is not a valid mask"));
    }

    #[tokio::test]
    async fn start_already_up_logs_so_and_pings_nobody() {
        let s = Setup::new(
            spec("app.opensvc.com", None),
            FakeAddresses::with_device("eth0", &[("37.59.71.25", 24)]),
        );
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(
            s.lines(),
            [
                "INFO checking 37.59.71.25 availability",
                "INFO 37.59.71.25 is already up on eth0"
            ]
        );
        assert!(s.runner.calls().is_empty());
        assert!(s.addresses.changes().is_empty());
    }

    #[tokio::test]
    async fn start_fails_when_another_host_answers() {
        let s = Setup::new(
            spec("10.0.0.5", None),
            FakeAddresses::with_device("eth0", &[("10.0.0.1", 24)]),
        );
        s.runner
            .expect("ping -c 1 -W 1 10.0.0.5", CommandOutput::ok("1 received"));
        let e = s.driver.start(&s.resource_log()).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            "10.0.0.5 is already in use on the network: another host answers"
        );
        assert!(s.addresses.changes().is_empty());
        assert!(s.runner.exhausted());
    }

    #[tokio::test]
    async fn start_adds_the_address_with_the_device_prefix_and_announces_it() {
        let s = Setup::new(
            spec("10.0.0.5", None),
            FakeAddresses::with_device("eth0", &[("10.0.0.1", 16)]),
        );
        s.runner.expect("ping -c 1 -W 1 10.0.0.5", no_answer());
        s.runner.expect(
            "arping -U -c 1 -w 1 -I eth0 10.0.0.5",
            CommandOutput::ok(""),
        );
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(s.addresses.changes(), ["add 10.0.0.5/16 eth0"]);
        assert_eq!(
            s.runner.calls(),
            [
                "ping -c 1 -W 1 10.0.0.5",
                "arping -U -c 1 -w 1 -I eth0 10.0.0.5"
            ]
        );
        assert_eq!(
            s.lines(),
            [
                "INFO checking 10.0.0.5 availability",
                "INFO ip addr add 10.0.0.5/16 dev eth0",
                "INFO arping -U -c 1 -w 1 -I eth0 10.0.0.5"
            ]
        );
        assert_eq!(s.driver.status().await.status, Status::Up);
    }

    #[tokio::test]
    async fn loopback_addresses_are_neither_pinged_nor_announced() {
        let mut lo = spec("127.0.0.42", Some("8"));
        lo.ipdev = "lo".into();
        let s = Setup::new(lo, FakeAddresses::with_device("lo", &[("127.0.0.1", 8)]));
        s.driver.start(&s.resource_log()).await.unwrap();
        assert!(s.runner.calls().is_empty(), "{:?}", s.runner.calls());
        assert_eq!(s.addresses.changes(), ["add 127.0.0.42/8 lo"]);
    }

    #[tokio::test]
    async fn start_uses_the_configured_netmask() {
        let s = Setup::new(
            spec("10.0.0.5", Some("255.255.255.128")),
            FakeAddresses::with_device("eth0", &[("10.0.0.1", 16)]),
        );
        s.runner.expect("ping", no_answer());
        s.runner.expect("arping", CommandOutput::ok(""));
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(s.addresses.changes(), ["add 10.0.0.5/25 eth0"]);
    }

    #[tokio::test]
    async fn start_with_an_invalid_netmask_fails_einval_before_acting() {
        let s = Setup::new(
            spec("10.0.0.5", Some("abc")),
            FakeAddresses::with_device("eth0", &[]),
        );
        let e = s.driver.start(&s.resource_log()).await.unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        assert!(e.message().starts_with("netmask: "), "{}", e.message());
        assert!(s.runner.calls().is_empty());
        assert!(s.addresses.changes().is_empty());
    }

    #[tokio::test]
    async fn arping_failure_is_only_a_warning() {
        let s = Setup::new(
            spec("10.0.0.5", None),
            FakeAddresses::with_device("eth0", &[]),
        );
        s.runner.expect("ping", no_answer());
        s.runner.expect(
            "arping",
            CommandOutput::failed(2, "arping: socket: Operation not permitted"),
        );
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(s.addresses.changes(), ["add 10.0.0.5/24 eth0"]);
        let lines = s.lines();
        let last = lines.last().unwrap();
        assert!(last.starts_with("WARNING cannot announce 10.0.0.5 on eth0: arping -U -c 1 -w 1 -I eth0 10.0.0.5 failed (exit 2): arping: socket: Operation not permitted"), "{last}");
    }

    #[tokio::test]
    async fn missing_arping_is_only_a_warning() {
        let runner = Arc::new(MissingPrograms(&["arping"]));
        let addresses = FakeAddresses::with_device("eth0", &[]);
        let driver = IpDriver::with_backends(
            Rid::parse("ip#1").unwrap(),
            spec("10.0.0.5", None),
            addresses.clone(),
            Arc::new(FakeResolver::default()),
            runner,
        );
        let log = ServiceLog::new("s");
        driver.start(&log.resource("ip#1")).await.unwrap();
        assert_eq!(addresses.changes(), ["add 10.0.0.5/24 eth0"]);
        let lines = log.resource_lines("ip#1");
        assert!(lines.last().unwrap().contains("WARNING"));
        assert!(lines.last().unwrap().contains("cannot run arping"));
    }

    #[tokio::test]
    async fn missing_ping_fails_the_start() {
        let runner = Arc::new(MissingPrograms(&["ping", "arping"]));
        let addresses = FakeAddresses::with_device("eth0", &[]);
        let driver = IpDriver::with_backends(
            Rid::parse("ip#1").unwrap(),
            spec("10.0.0.5", None),
            addresses.clone(),
            Arc::new(FakeResolver::default()),
            runner,
        );
        let log = ServiceLog::new("s");
        let e = driver.start(&log.resource("ip#1")).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert!(
            e.message()
                .starts_with("cannot check 10.0.0.5 availability: cannot run ping"),
            "{}",
            e.message()
        );
        assert!(addresses.changes().is_empty());
    }

    #[tokio::test]
    async fn unreachable_network_is_a_warning_and_the_start_goes_on() {
        let s = Setup::new(
            spec("10.0.0.5", None),
            FakeAddresses::with_device("eth0", &[]),
        );
        s.runner.expect(
            "ping",
            CommandOutput::failed(2, "ping: connect: Network is unreachable"),
        );
        s.runner.expect("arping", CommandOutput::ok(""));
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(s.addresses.changes(), ["add 10.0.0.5/24 eth0"]);
        assert!(s.lines().iter().any(|l| l
            == "WARNING ping -c 1 -W 1 10.0.0.5 could not check the network (ping: connect: Network is unreachable), going on"));
    }

    #[tokio::test]
    async fn start_on_a_missing_device_fails_eio() {
        let s = Setup::new(
            spec("10.0.0.5", None),
            FakeAddresses::with_device("eth1", &[]),
        );
        let e = s.driver.start(&s.resource_log()).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(e.message(), "device eth0 not found");
        assert!(s.runner.calls().is_empty());
    }

    #[tokio::test]
    async fn start_fails_eio_naming_an_unresolvable_name() {
        let s = Setup::new(
            spec("nowhere.example", None),
            FakeAddresses::with_device("eth0", &[]),
        );
        let e = s.driver.start(&s.resource_log()).await.unwrap_err();
        assert_eq!(e.errno(), libc::EIO);
        assert_eq!(
            e.message(),
            "cannot resolve ipname nowhere.example: Name or service not known"
        );
    }

    #[tokio::test]
    async fn stop_removes_the_address_with_its_prefix() {
        let s = Setup::new(
            spec("app.opensvc.com", None),
            FakeAddresses::with_device("eth0", &[("37.59.71.1", 24), ("37.59.71.25", 26)]),
        );
        s.driver.stop(&s.resource_log()).await.unwrap();
        assert_eq!(s.addresses.changes(), ["del 37.59.71.25/26 eth0"]);
        assert_eq!(s.lines(), ["INFO ip addr del 37.59.71.25/26 dev eth0"]);
        assert_eq!(s.addresses.on("eth0"), [(ip("37.59.71.1"), 24)]);
        assert!(s.runner.calls().is_empty());
    }

    #[tokio::test]
    async fn stop_already_down_is_a_success_that_logs_so() {
        let s = Setup::new(
            spec("37.59.71.25", None),
            FakeAddresses::with_device("eth0", &[("37.59.71.1", 24)]),
        );
        s.driver.stop(&s.resource_log()).await.unwrap();
        assert_eq!(s.lines(), ["INFO 37.59.71.25 is already down on eth0"]);
        assert!(s.addresses.changes().is_empty());
    }

    #[tokio::test]
    async fn stop_on_a_missing_device_is_already_down() {
        let s = Setup::new(
            spec("37.59.71.25", None),
            FakeAddresses::with_device("eth1", &[]),
        );
        s.driver.stop(&s.resource_log()).await.unwrap();
        assert_eq!(
            s.lines(),
            ["INFO device eth0 not found: 37.59.71.25 is already down"]
        );
    }

    #[tokio::test]
    async fn ipv6_literal_pings_with_dash_6_and_skips_arp() {
        let s = Setup::new(
            spec("2001:db8::5", None),
            FakeAddresses::with_device("eth0", &[("10.0.0.1", 24), ("fe80::1", 64)]),
        );
        s.runner
            .expect("ping -6 -c 1 -W 1 2001:db8::5", no_answer());
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(s.addresses.changes(), ["add 2001:db8::5/64 eth0"]);
        assert_eq!(s.runner.calls(), ["ping -6 -c 1 -W 1 2001:db8::5"]);
        assert!(s
            .lines()
            .last()
            .unwrap()
            .contains("no gratuitous ARP for IPv6"));
        assert_eq!(s.driver.status().await.status, Status::Up);
        s.driver.stop(&s.resource_log()).await.unwrap();
        assert_eq!(s.driver.status().await.status, Status::Down);
    }

    #[tokio::test]
    async fn names_prefer_ipv4_and_fall_back_to_ipv6() {
        let s = Setup::new(
            spec("v6only.example", Some("112")),
            FakeAddresses::with_device("eth0", &[]),
        );
        s.runner
            .expect("ping -6 -c 1 -W 1 2001:db8::26", no_answer());
        s.driver.start(&s.resource_log()).await.unwrap();
        assert_eq!(s.addresses.changes(), ["add 2001:db8::26/112 eth0"]);
        assert_eq!(
            choose_address(&[ip("2001:db8::25"), ip("37.59.71.25")]),
            Some(ip("37.59.71.25"))
        );
        assert_eq!(choose_address(&[]), None);
    }

    #[tokio::test]
    async fn unassignable_addresses_are_refused() {
        let s = Setup::new(
            spec("224.0.0.1", None),
            FakeAddresses::with_device("eth0", &[]),
        );
        let e = s.driver.start(&s.resource_log()).await.unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        assert_eq!(
            e.message(),
            "ipname: 224.0.0.1 cannot be assigned to a device"
        );
    }

    #[tokio::test]
    async fn system_resolver_reads_the_hosts_file() {
        // localhost is in every hosts file: no DNS traffic.
        let found = SystemResolver.resolve("localhost").await.unwrap();
        assert!(found.iter().any(|a| a.is_loopback()), "{found:?}");
    }

    #[test]
    fn netmask_accepts_prefix_lengths() {
        assert_eq!(parse_netmask("24", true), Ok(24));
        assert_eq!(parse_netmask(" 32 ", true), Ok(32));
        assert_eq!(parse_netmask("64", false), Ok(64));
        assert_eq!(parse_netmask("128", false), Ok(128));
    }

    #[test]
    fn netmask_accepts_dotted_ipv4_masks() {
        assert_eq!(parse_netmask("255.255.255.0", true), Ok(24));
        assert_eq!(parse_netmask("255.255.240.0", true), Ok(20));
        assert_eq!(parse_netmask("255.255.255.255", true), Ok(32));
        assert_eq!(parse_netmask("128.0.0.0", true), Ok(1));
    }

    #[test]
    fn netmask_refuses_invalid_values_naming_the_keyword() {
        for (text, ipv4) in [
            ("33", true),
            ("0", true),
            ("129", false),
            ("999", true),
            ("255.0.255.0", true),
            ("0.0.0.0", true),
            ("255.255.255.0", false),
            ("abc", true),
            ("", true),
            ("/24", true),
        ] {
            let e = parse_netmask(text, ipv4).unwrap_err();
            assert!(e.starts_with("netmask: "), "{text}: {e}");
        }
    }

    #[test]
    fn default_prefix_comes_from_the_device_addresses_containing_the_address() {
        let existing = [
            (ip("10.0.0.1"), 8),
            (ip("10.1.0.1"), 16),
            (ip("192.168.1.1"), 24),
            (ip("fe80::1"), 64),
            (ip("2001:db8::1"), 48),
        ];
        assert_eq!(default_prefix(ip("10.1.2.3"), &existing), 16);
        assert_eq!(default_prefix(ip("10.2.2.3"), &existing), 8);
        assert_eq!(default_prefix(ip("172.16.0.5"), &existing), 24);
        assert_eq!(default_prefix(ip("2001:db8:0:1::5"), &existing), 48);
        assert_eq!(default_prefix(ip("2001:db9::5"), &existing), 64);
        assert_eq!(default_prefix(ip("10.0.0.5"), &[]), 24);
    }

    #[test]
    fn network_contains_handles_edge_prefixes() {
        assert!(network_contains(ip("10.0.0.1"), 0, ip("192.168.0.1")));
        assert!(network_contains(ip("10.0.0.1"), 32, ip("10.0.0.1")));
        assert!(!network_contains(ip("10.0.0.1"), 32, ip("10.0.0.2")));
        assert!(!network_contains(ip("10.0.0.1"), 8, ip("::1")));
        assert!(network_contains(ip("::"), 0, ip("2001:db8::1")));
    }

    /// A network namespace with a veth pair (`svcfs0` ⟷ `svcfs1`, both up)
    /// inside it, deleted when dropped. The host's own interfaces are never
    /// touched.
    struct TestNetns {
        name: String,
    }

    impl TestNetns {
        /// The namespace, or `None` (test skipped with a note) when the
        /// machine cannot make one; with `CI` set that fails the test.
        fn create_named(tag: &str) -> Option<TestNetns> {
            let name = format!("svcfs-ut-ip-{}-{tag}", std::process::id());
            match Self::try_create(&name) {
                Ok(ns) => Some(ns),
                Err(why) => {
                    let message = format!(
                        "netlink test needs root, the ip command (iproute2) and network namespaces: {why}"
                    );
                    if std::env::var_os("CI").is_some() {
                        panic!("{message}");
                    }
                    eprintln!("skipping: {message}");
                    None
                }
            }
        }

        fn try_create(name: &str) -> std::result::Result<TestNetns, String> {
            if !nix::unistd::geteuid().is_root() {
                return Err("not root".to_string());
            }
            ip_cmd(&["-V"])?;
            // A namespace left by an earlier run that had our pid.
            let _ = ip_cmd(&["netns", "del", name]);
            ip_cmd(&["netns", "add", name])?;
            let ns = TestNetns {
                name: name.to_string(),
            };
            ip_cmd(&[
                "-n", name, "link", "add", "svcfs0", "type", "veth", "peer", "name", "svcfs1",
            ])?;
            ip_cmd(&["-n", name, "link", "set", "svcfs0", "up"])?;
            ip_cmd(&["-n", name, "link", "set", "svcfs1", "up"])?;
            Ok(ns)
        }

        /// Run `body` on a thread of its own that entered the namespace
        /// (netlink acts on the calling thread's namespace), in a
        /// current-thread runtime so that every task stays on that thread.
        fn run<F, Fut>(&self, body: F)
        where
            F: FnOnce() -> Fut + Send + 'static,
            Fut: Future<Output = ()>,
        {
            let path = format!("/run/netns/{}", self.name);
            let joined = std::thread::spawn(move || {
                let file = std::fs::File::open(&path).expect("open the netns file");
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .expect("enter the netns");
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(body());
            })
            .join();
            if let Err(panic) = joined {
                std::panic::resume_unwind(panic);
            }
        }
    }

    impl Drop for TestNetns {
        fn drop(&mut self) {
            // Deleting the namespace deletes the veth pair with it.
            if let Err(e) = ip_cmd(&["netns", "del", &self.name]) {
                eprintln!("cannot delete netns {}: {e}", self.name);
            }
        }
    }

    fn ip_cmd(args: &[&str]) -> std::result::Result<(), String> {
        let out = std::process::Command::new("ip")
            .args(args)
            .output()
            .map_err(|e| format!("ip: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    #[test]
    fn netlink_backend_adds_lists_and_removes_addresses_in_a_netns() {
        let Some(ns) = TestNetns::create_named("nl") else {
            return;
        };
        ns.run(|| async {
            let backend = NetlinkBackend::new();
            let v4 = ip("10.213.7.2");
            let v6 = ip("fd00:213:7::2");
            let has = |list: &Option<Vec<(IpAddr, u8)>>, entry: (IpAddr, u8)| {
                list.as_ref().expect("svcfs0 exists").contains(&entry)
            };

            assert_eq!(backend.addresses("svcfs-nodev").await.unwrap(), None);
            assert!(!has(&backend.addresses("svcfs0").await.unwrap(), (v4, 24)));

            backend.add("svcfs0", v4, 24).await.unwrap();
            backend.add("svcfs0", v6, 64).await.unwrap();
            let list = backend.addresses("svcfs0").await.unwrap();
            assert!(has(&list, (v4, 24)), "{list:?}");
            assert!(has(&list, (v6, 64)), "{list:?}");
            assert!(!has(&backend.addresses("svcfs1").await.unwrap(), (v4, 24)));
            let all = backend.all_addresses().await.unwrap();
            assert!(all["svcfs0"].contains(&(v4, 24)), "{all:?}");
            assert!(all["svcfs0"].contains(&(v6, 64)), "{all:?}");
            assert!(!all["svcfs1"].contains(&(v4, 24)), "{all:?}");
            assert!(!all.contains_key("svcfs-nodev"), "{all:?}");

            let e = backend.add("svcfs0", v4, 24).await.unwrap_err();
            assert_eq!(e.errno(), libc::EIO);
            assert_eq!(
                e.message(),
                "cannot add 10.213.7.2/24 to svcfs0: File exists (os error 17)"
            );
            let e = backend.add("svcfs-nodev", v4, 24).await.unwrap_err();
            assert_eq!(
                e.message(),
                "cannot add 10.213.7.2/24 to svcfs-nodev: device svcfs-nodev not found"
            );

            backend.remove("svcfs0", v6, 64).await.unwrap();
            backend.remove("svcfs0", v4, 24).await.unwrap();
            let list = backend.addresses("svcfs0").await.unwrap();
            assert!(!has(&list, (v4, 24)) && !has(&list, (v6, 64)), "{list:?}");
            // A loopback service address, like the example's 127.0.0.42.
            let lo = ip("127.0.0.42");
            backend.add("lo", lo, 8).await.unwrap();
            assert!(backend
                .addresses("lo")
                .await
                .unwrap()
                .unwrap()
                .contains(&(lo, 8)));
            backend.remove("lo", lo, 8).await.unwrap();

            let e = backend.remove("svcfs0", v4, 24).await.unwrap_err();
            assert_eq!(e.errno(), libc::EIO);
            assert!(
                e.message()
                    .starts_with("cannot remove 10.213.7.2/24 from svcfs0: "),
                "{}",
                e.message()
            );
        });
    }

    #[test]
    fn ip_driver_starts_and_stops_an_address_through_netlink_in_a_netns() {
        let Some(ns) = TestNetns::create_named("drv") else {
            return;
        };
        ns.run(|| async {
            let backend = Arc::new(NetlinkBackend::new());
            backend.add("svcfs0", ip("10.213.8.1"), 25).await.unwrap();
            // ping and arping are scripted: no packet is sent.
            let runner = Arc::new(FakeRunner::new());
            runner.expect("ping -c 1 -W 1 10.213.8.2", no_answer());
            runner.expect(
                "arping -U -c 1 -w 1 -I svcfs0 10.213.8.2",
                CommandOutput::ok(""),
            );
            let driver = IpDriver::with_backends(
                Rid::parse("ip#1").unwrap(),
                IpSpec {
                    ipname: "10.213.8.2".to_string(),
                    ipdev: "svcfs0".to_string(),
                    netmask: None,
                },
                backend.clone(),
                Arc::new(SystemResolver),
                runner.clone(),
            );
            let log = ServiceLog::new("s").resource("ip#1");
            assert_eq!(driver.status().await.status, Status::Down);
            driver.start(&log).await.unwrap();
            assert_eq!(driver.status().await.status, Status::Up);
            let list = backend.addresses("svcfs0").await.unwrap().unwrap();
            assert!(list.contains(&(ip("10.213.8.2"), 25)), "{list:?}");
            driver.start(&log).await.unwrap();
            driver.stop(&log).await.unwrap();
            assert_eq!(driver.status().await.status, Status::Down);
            driver.stop(&log).await.unwrap();
            assert!(runner.exhausted());
        });
    }

    /// A runner for which some programs do not exist and others fail.
    struct MissingPrograms(&'static [&'static str]);

    #[async_trait]
    impl CommandRunner for MissingPrograms {
        async fn run(
            &self,
            program: &str,
            _args: &[&str],
            _timeout: Duration,
        ) -> Result<CommandOutput> {
            if self.0.contains(&program) {
                Err(Error::backend(format!(
                    "cannot run {program}: No such file or directory (os error 2)"
                )))
            } else {
                Ok(CommandOutput::failed(1, ""))
            }
        }
    }
}
