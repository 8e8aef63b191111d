//! One svcfs node in the cluster: its lease (joined, renewed, trusted or
//! fenced), the placement pass over its services, and the intents the ctl
//! verbs write. What "start" and "stop" mean on this host is the
//! [`Host`]'s business (the engine in the daemon, flags in the tests), so
//! the same code is simulated in `node_tests.rs` under faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::placement::{
    claim, config_key, decide, instance_key, join, release, renew, service_key, Decision, Instance,
    InstanceState, Lease, Local, Timings, View, PREFIX,
};
use super::store::Store;
use crate::error::{Error, Result};
use crate::sync::lock;

/// A service of this node as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Its name.
    pub name: String,
    /// Its `nodes`.
    pub nodes: Vec<String>,
    /// Its `autostart_node`.
    pub preferred: Vec<String>,
    /// Frozen on this node.
    pub frozen: bool,
    /// Some of its resources run here.
    pub running: bool,
    /// Its status word here (up/down/warn/n/a).
    pub status: String,
    /// The SHA-256 of its service file here, in hex.
    pub digest: String,
}

/// What starting and stopping a service means on this node.
#[async_trait]
pub trait Host: Send + Sync {
    /// The services of this node that are placed by the cluster (those
    /// whose `nodes` name this node).
    fn services(&self) -> Vec<ServiceInfo>;
    /// Start the service's resources here.
    async fn start(&self, service: &str) -> Result<()>;
    /// Stop the service's resources here, within `budget`.
    async fn stop(&self, service: &str, budget: Duration) -> Result<()>;
    /// This node's placement of a service changed (claimed, released,
    /// starting): what shows it is told before the action that follows,
    /// so `owner` names this node while its start runs.
    fn placement_changed(&self) {}
}

#[derive(Default)]
struct Inner {
    lease: Option<Lease>,
    states: HashMap<String, InstanceState>,
    /// The last value written to each of this node's keys of a service
    /// (`instance/<me>`, `config/<me>`).
    published: HashMap<String, String>,
    /// The last complete read of the keys.
    view: View,
    /// Why the last exchange with etcd failed, while it does.
    trouble: Option<String>,
}

/// This node.
pub struct Node {
    me: String,
    timings: Timings,
    store: Arc<dyn Store>,
    inner: Mutex<Inner>,
}

/// What `cluster/` and the `hb` row show of this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The lease is trusted.
    pub confident: bool,
    /// TTL left as far as this node can be sure (zero without a lease).
    pub lease_left: Duration,
    /// Why etcd did not answer, while it does not.
    pub trouble: Option<String>,
}

impl Node {
    /// Node `me` of the cluster behind `store`.
    pub fn new(me: String, timings: Timings, store: Arc<dyn Store>) -> Node {
        Node {
            me,
            timings,
            store,
            inner: Mutex::default(),
        }
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.me
    }

    /// The timings in use.
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The last complete read of the keys.
    pub fn view(&self) -> View {
        lock(&self.inner).view.clone()
    }

    /// The state of this node's instance of `service`.
    pub fn state(&self, service: &str) -> InstanceState {
        lock(&self.inner)
            .states
            .get(service)
            .copied()
            .unwrap_or(InstanceState::Down)
    }

    /// The lease's health at `now`.
    pub fn health(&self, now: Duration) -> Health {
        let inner = lock(&self.inner);
        Health {
            confident: inner.lease.is_some_and(|l| l.confident(now, &self.timings)),
            lease_left: inner
                .lease
                .map_or(Duration::ZERO, |l| l.left(now, &self.timings)),
            trouble: inner.trouble.clone(),
        }
    }

    /// Whether this node may run and start services at `now`.
    pub fn confident(&self, now: Duration) -> bool {
        self.health(now).confident
    }

    /// When this node must fence if no renewal succeeds before.
    pub fn fence_at(&self) -> Option<Duration> {
        lock(&self.inner).lease.map(|l| l.fence_at(&self.timings))
    }

    fn trouble(&self, e: &Error) {
        lock(&self.inner).trouble = Some(e.message().to_string());
    }

    /// Join, or renew the lease; `now` is when the request is sent. A
    /// lease etcd forgot is replaced at once (its claims went with it).
    pub async fn keep_alive(&self, now: Duration) -> Result<()> {
        let lease = lock(&self.inner).lease;
        let renewed = match lease {
            Some(lease) => renew(&*self.store, lease, now).await,
            None => Ok(None),
        };
        let lease = match renewed {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                if lease.is_some() {
                    tracing::warn!(node = %self.me, "the lease expired in etcd: joining again");
                }
                match join(&*self.store, &self.me, &self.timings, now).await {
                    Ok(lease) => lease,
                    Err(e) => {
                        self.trouble(&e);
                        return Err(e);
                    }
                }
            }
            Err(e) => {
                self.trouble(&e);
                return Err(e);
            }
        };
        let mut inner = lock(&self.inner);
        if inner.lease.map(|l| l.id) != Some(lease.id) {
            // The instance keys went with the old lease.
            inner.published.clear();
        }
        inner.lease = Some(lease);
        inner.trouble = None;
        Ok(())
    }

    /// Self-fencing: once the lease is no longer trusted, stop every
    /// service that runs here (each within the stop budget), without
    /// asking etcd anything. Returns the services stopped.
    pub async fn fence(&self, now: Duration, host: &dyn Host) -> Vec<String> {
        if self.confident(now) {
            return Vec::new();
        }
        let running: Vec<ServiceInfo> = host
            .services()
            .into_iter()
            .filter(|s| {
                s.running
                    || matches!(
                        self.state(&s.name),
                        InstanceState::Starting | InstanceState::Up
                    )
            })
            .collect();
        for service in &running {
            tracing::warn!(node = %self.me, service = %service.name, "etcd cannot renew this node's lease: stopping the service before the lease can expire");
            self.stop_here(host, &service.name).await;
        }
        running.into_iter().map(|s| s.name).collect()
    }

    async fn stop_here(&self, host: &dyn Host, service: &str) {
        self.set_state(service, InstanceState::Stopping);
        match host.stop(service, self.timings.stop_budget).await {
            Ok(()) => self.set_state(service, InstanceState::Down),
            // Still stopping: what runs is stopped again at the next pass
            // (or the next fence check).
            Err(e) => tracing::error!(node = %self.me, service, "stop failed: {e}"),
        }
    }

    fn set_state(&self, service: &str, state: InstanceState) {
        let mut inner = lock(&self.inner);
        let failed = inner.states.get(service) == Some(&InstanceState::Failed);
        // A failed instance stays failed through its own stop, until clear.
        if !(failed && matches!(state, InstanceState::Stopping | InstanceState::Down)) {
            inner.states.insert(service.to_string(), state);
        }
    }

    /// `clear`: a failed instance may be chosen again.
    pub fn clear(&self, service: &str) {
        let mut inner = lock(&self.inner);
        if inner.states.get(service) == Some(&InstanceState::Failed) {
            inner
                .states
                .insert(service.to_string(), InstanceState::Down);
        }
    }

    /// One placement pass: read every key, decide for each service, claim,
    /// release, start and stop as decided, publish this node's instances.
    pub async fn place(&self, now: Duration, host: &dyn Host) -> Result<()> {
        let view = self.read_view().await?;
        // Services are placed side by side: one slow start must not hold
        // the others' placement (the engine acts on services in parallel).
        let passes = host
            .services()
            .into_iter()
            .map(|info| self.place_service(info, &view, now, host));
        futures_util::future::join_all(passes)
            .await
            .into_iter()
            .collect::<Result<Vec<bool>>>()?;
        Ok(())
    }

    /// Read every key: the view placement decides on, kept as the last one.
    pub async fn read_view(&self) -> Result<View> {
        let view = match self.store.list(PREFIX).await {
            Ok(kvs) => View::of(&kvs),
            Err(e) => {
                self.trouble(&e);
                return Err(e);
            }
        };
        lock(&self.inner).view = view.clone();
        Ok(view)
    }

    /// Place one service on `view`: decide, act, publish. Whether it wrote
    /// or did anything (its effects then show in a new view).
    pub async fn place_service(
        &self,
        info: ServiceInfo,
        view: &View,
        now: Duration,
        host: &dyn Host,
    ) -> Result<bool> {
        let Some(lease) = lock(&self.inner).lease else {
            return Ok(false);
        };
        let confident = lease.confident(now, &self.timings);
        let service = view.service(&info.name);
        let local = Local {
            state: self.state(&info.name),
            frozen: info.frozen,
            running: info.running,
        };
        let decision = decide(
            &self.me,
            &info.nodes,
            &info.preferred,
            confident,
            &view.members,
            &service,
            local,
        );
        self.apply(decision, &info, lease, host).await?;
        let mut acted = decision != Decision::Idle;
        if service.target.as_deref() == Some(&self.me)
            && self.state(&info.name) == InstanceState::Up
        {
            // The switch is done: the target is not a lasting preference
            // (it would pull the service back here later).
            self.store
                .delete(&service_key(&info.name, "target"), Some(&self.me))
                .await?;
            acted = true;
        }
        let frozen = info.frozen || service.frozen;
        Ok(self.publish(&info, frozen, lease).await? || acted)
    }

    async fn apply(
        &self,
        decision: Decision,
        info: &ServiceInfo,
        lease: Lease,
        host: &dyn Host,
    ) -> Result<()> {
        let name = info.name.as_str();
        match decision {
            Decision::Idle => {}
            Decision::Claim => {
                if claim(&*self.store, name, &self.me, lease.id).await? {
                    tracing::info!(node = %self.me, service = name, "claimed");
                    self.owned(name, Some(lease));
                    host.placement_changed();
                    self.start_here(info, lease, host).await?;
                }
            }
            Decision::Start => self.start_here(info, lease, host).await?,
            Decision::Stop => self.stop_here(host, name).await,
            Decision::StopAndRelease => {
                self.stop_here(host, name).await;
                release(&*self.store, name, &self.me).await?;
                self.owned(name, None);
                host.placement_changed();
            }
            Decision::Release => {
                release(&*self.store, name, &self.me).await?;
                self.owned(name, None);
                host.placement_changed();
            }
        }
        Ok(())
    }

    async fn start_here(&self, info: &ServiceInfo, lease: Lease, host: &dyn Host) -> Result<()> {
        self.set_state(&info.name, InstanceState::Starting);
        host.placement_changed();
        self.publish(info, false, lease).await?;
        match host.start(&info.name).await {
            Ok(()) => self.set_state(&info.name, InstanceState::Up),
            // Cancelled by the fence (or etcd lost): not the service's
            // failure; the fence stops what was started.
            Err(e) if e.errno() == libc::EAGAIN => {
                tracing::warn!(node = %self.me, service = %info.name, "{e}");
                self.set_state(&info.name, InstanceState::Down);
            }
            Err(e) => {
                tracing::error!(node = %self.me, service = %info.name, "start failed: {e}; giving the service to the next node");
                self.set_state(&info.name, InstanceState::Failed);
                // Failed is published before the claim goes, so the next
                // node's choice already leaves this one out.
                self.publish(info, false, lease).await?;
                self.stop_here(host, &info.name).await;
                release(&*self.store, &info.name, &self.me).await?;
                self.owned(&info.name, None);
            }
        }
        Ok(())
    }

    /// Keep the last view true to this node's own claims and releases, so
    /// that what the tree shows does not lag a pass behind them.
    fn owned(&self, service: &str, lease: Option<Lease>) {
        let mut inner = lock(&self.inner);
        let entry = inner.view.services.entry(service.to_string()).or_default();
        entry.owner = lease.map(|l| (self.me.clone(), l.id));
    }

    /// Publish this node's instance of a service and the digest of its
    /// file, each only when it changed. Whether anything was written.
    async fn publish(&self, info: &ServiceInfo, frozen: bool, lease: Lease) -> Result<bool> {
        let state = if frozen {
            InstanceState::Frozen
        } else {
            self.state(&info.name)
        };
        let instance = Instance {
            status: info.status.clone(),
            state,
        }
        .render();
        let instance = self
            .put_changed(&instance_key(&info.name, &self.me), &instance, lease)
            .await?;
        let digest = self
            .put_changed(&config_key(&info.name, &self.me), &info.digest, lease)
            .await?;
        Ok(instance || digest)
    }

    async fn put_changed(&self, key: &str, value: &str, lease: Lease) -> Result<bool> {
        if lock(&self.inner).published.get(key).map(String::as_str) == Some(value) {
            return Ok(false);
        }
        self.store.put(key, value, lease.id).await?;
        lock(&self.inner)
            .published
            .insert(key.to_string(), value.to_string());
        Ok(true)
    }

    /// `start`/`stop` on any node: the durable intent.
    pub async fn expect(&self, service: &str, up: bool) -> Result<()> {
        let value = if up { "up" } else { "down" };
        self.store
            .put(&service_key(service, "expect"), value, 0)
            .await
    }

    /// `switch NODE`: the target, and the intent up. EINVAL when NODE is
    /// not among `nodes`, or when its service file differs from the
    /// owner's (from this node's, `mine`, when none owns it): it would run
    /// another service. EHOSTDOWN when NODE is not alive.
    pub async fn switch(
        &self,
        service: &str,
        nodes: &[String],
        to: &str,
        mine: &str,
    ) -> Result<()> {
        if !nodes.iter().any(|n| n == to) {
            return Err(Error::invalid(format!(
                "switch {to}: not among the nodes of {service} ({})",
                nodes.join(" ")
            )));
        }
        let view = View::of(&self.store.list(PREFIX).await?);
        if !view.members.contains(to) {
            return Err(Error::host_down(format!(
                "switch {to}: that node is not alive in the cluster"
            )));
        }
        let (reference, differing) = view.service(service).differing(&self.me, mine);
        if differing.iter().any(|n| n == to) {
            return Err(Error::invalid(format!(
                "switch {to}: the service file of {service} on {to} differs from {reference}'s: {to} would run another service; make the files equal first"
            )));
        }
        self.store
            .put(&service_key(service, "target"), to, 0)
            .await?;
        self.expect(service, true).await
    }

    /// `freeze`/`thaw` cluster-wide.
    pub async fn freeze(&self, service: &str, frozen: bool) -> Result<()> {
        let key = service_key(service, "frozen");
        if frozen {
            self.store.put(&key, &self.me, 0).await
        } else {
            self.store.delete(&key, None).await.map(drop)
        }
    }

    /// Leave the cluster (daemon stop): stop what runs here and release
    /// its claims, then revoke the lease so that peers take over at once
    /// instead of after the TTL. (Leaving services running while the
    /// lease expires would let a peer start a second copy.)
    pub async fn leave(&self, host: &dyn Host) -> Result<()> {
        for info in host.services() {
            let owned = lock(&self.inner)
                .view
                .service(&info.name)
                .owner
                .is_some_and(|(owner, _)| owner == self.me);
            if info.running || owned {
                self.stop_here(host, &info.name).await;
            }
        }
        let lease = lock(&self.inner).lease.take();
        match lease {
            Some(lease) => self.store.revoke(lease.id).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
