//! The placement core (docs/cluster.md §2–5): the keys, the timings and
//! their arithmetic, the node lease and when it is trusted, the choice of
//! a service's node, and what one node decides to do with one service.
//! No I/O except through [`Store`], so the whole of it runs against the
//! in-memory fake.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::store::{Kv, LeaseId, Store, CALL};
use crate::error::{Error, Result};

/// Every key of svcfs lives under this prefix.
pub const PREFIX: &str = "/svcfs/v1/";

/// `members/<node>`.
pub fn member_key(node: &str) -> String {
    format!("{PREFIX}members/{node}")
}

/// `svc/<svc>/<what>` (owner, expect, target, frozen).
pub fn service_key(service: &str, what: &str) -> String {
    format!("{PREFIX}svc/{service}/{what}")
}

/// `svc/<svc>/instance/<node>`.
pub fn instance_key(service: &str, node: &str) -> String {
    format!("{PREFIX}svc/{service}/instance/{node}")
}

/// `svc/<svc>/config/<node>`: the SHA-256 of the node's service file.
pub fn config_key(service: &str, node: &str) -> String {
    format!("{PREFIX}svc/{service}/config/{node}")
}

/// The timings of docs/cluster.md §5, all derived from the lease TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// The lease granted to each node.
    pub ttl: Duration,
    /// Keepalive and placement tick.
    pub renew: Duration,
    /// What a fencing node has to stop everything.
    pub stop_budget: Duration,
    /// Silence (since the last renewal sent that etcd answered) after
    /// which a node fences.
    pub fence_after: Duration,
}

/// The default lease TTL.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

impl Timings {
    /// The timings of a TTL; EINVAL when it leaves no room for one lost
    /// renewal and a slow one before fencing (Patroni's `ttl ≥ loop_wait
    /// + 2 × retry_timeout`, here `fence_after ≥ renew + 2 × CALL`).
    pub fn from_ttl(ttl: Duration) -> Result<Timings> {
        let timings = Timings::of(ttl);
        if !timings.leaves_room() {
            let shortest = (1..=3600)
                .map(Duration::from_secs)
                .find(|&t| Timings::of(t).leaves_room())
                .unwrap_or(ttl);
            return Err(Error::invalid(format!(
                "--cluster-ttl {}: too short; a node would fence after one slow renewal (at least {})",
                crate::bounded::seconds(ttl),
                crate::bounded::seconds(shortest)
            )));
        }
        Ok(timings)
    }

    fn of(ttl: Duration) -> Timings {
        Timings {
            ttl,
            renew: ttl / 5,
            stop_budget: ttl / 2,
            fence_after: ttl - ttl / 2,
        }
    }

    fn leaves_room(&self) -> bool {
        self.fence_after >= self.renew + 2 * CALL
    }

    /// Whether a service whose worst stop takes `worst_stop` can be
    /// stopped by a fencing node before its lease can expire.
    pub fn stop_fits(&self, worst_stop: Duration) -> bool {
        worst_stop <= self.stop_budget
    }
}

/// This node's lease as this node knows it. Times are this node's
/// monotonic clock, as durations from any fixed origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The etcd lease.
    pub id: LeaseId,
    /// When the last renewal (or the grant) that etcd answered was *sent*.
    /// etcd counts the TTL from a later instant, and a new leader only
    /// extends leases: the lease lives at least until `sent + ttl`.
    pub sent: Duration,
}

impl Lease {
    /// When this node must have begun stopping its services.
    pub fn fence_at(&self, timings: &Timings) -> Duration {
        self.sent + timings.fence_after
    }

    /// The earliest instant etcd may expire the lease.
    pub fn expires_no_sooner_than(&self, timings: &Timings) -> Duration {
        self.sent + timings.ttl
    }

    /// Whether the node may still run and start services at `now`.
    pub fn confident(&self, now: Duration, timings: &Timings) -> bool {
        now < self.fence_at(timings)
    }

    /// The TTL left at `now`, as far as this node can be sure.
    pub fn left(&self, now: Duration, timings: &Timings) -> Duration {
        self.expires_no_sooner_than(timings).saturating_sub(now)
    }
}

/// The state of a service instance on one node (docs/cluster.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Not running here.
    Down,
    /// Claimed here, start running.
    Starting,
    /// Started here.
    Up,
    /// Stop running here.
    Stopping,
    /// A start failed here; not chosen again until `clear`.
    Failed,
    /// Frozen (cluster-wide or here): the orchestrator leaves it alone.
    Frozen,
}

impl InstanceState {
    const ALL: [InstanceState; 6] = [
        InstanceState::Down,
        InstanceState::Starting,
        InstanceState::Up,
        InstanceState::Stopping,
        InstanceState::Failed,
        InstanceState::Frozen,
    ];

    /// The word of `nodes/<node>/state`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Down => "down",
            InstanceState::Starting => "starting",
            InstanceState::Up => "up",
            InstanceState::Stopping => "stopping",
            InstanceState::Failed => "failed",
            InstanceState::Frozen => "frozen",
        }
    }

    /// The state of a word.
    pub fn parse(word: &str) -> Option<InstanceState> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// One node's published instance: `<status> <state>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// up / down / warn / n/a.
    pub status: String,
    /// The state machine's word.
    pub state: InstanceState,
}

impl Instance {
    /// The value of `instance/<node>`.
    pub fn render(&self) -> String {
        format!("{} {}", self.status, self.state.as_str())
    }

    fn parse(value: &str) -> Option<Instance> {
        let (status, state) = value.split_once(' ')?;
        Some(Instance {
            status: status.to_string(),
            state: InstanceState::parse(state)?,
        })
    }
}

/// A service as the cluster keys describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceView {
    /// The owner and the lease its claim is bound to.
    pub owner: Option<(String, LeaseId)>,
    /// `expect`: whether the service is wanted up.
    pub expect_up: bool,
    /// A switch's target.
    pub target: Option<String>,
    /// Frozen cluster-wide.
    pub frozen: bool,
    /// Each node's published instance.
    pub instances: BTreeMap<String, Instance>,
    /// Each node's digest of its service file.
    pub digests: BTreeMap<String, String>,
}

impl ServiceView {
    /// The nodes whose service file differs from the reference: the
    /// owner's, or `me`'s when no node owns it (with `mine`, this node's
    /// digest, standing for its own entry). Empty when the reference has
    /// published none.
    pub fn differing(&self, me: &str, mine: &str) -> (String, Vec<String>) {
        let reference = self
            .owner
            .as_ref()
            .map(|(owner, _)| owner.as_str())
            .unwrap_or(me);
        let digest_of = |node: &str| {
            if node == me {
                Some(mine)
            } else {
                self.digests.get(node).map(String::as_str)
            }
        };
        let Some(expected) = digest_of(reference) else {
            return (reference.to_string(), Vec::new());
        };
        let nodes: BTreeSet<&str> = self
            .digests
            .keys()
            .map(String::as_str)
            .chain(std::iter::once(me))
            .filter(|node| digest_of(node).is_some_and(|d| d != expected))
            .collect();
        (
            reference.to_string(),
            nodes.into_iter().map(String::from).collect(),
        )
    }
}

/// Everything under [`PREFIX`], read at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Nodes whose member key exists (their lease is alive).
    pub members: BTreeSet<String>,
    /// The lease of each member.
    pub member_leases: BTreeMap<String, LeaseId>,
    /// Services that have any key.
    pub services: BTreeMap<String, ServiceView>,
}

impl View {
    /// Parse a prefix read; keys svcfs does not know are ignored (a newer
    /// node may write more).
    pub fn of(kvs: &[Kv]) -> View {
        let mut view = View::default();
        for kv in kvs {
            let Some(rest) = kv.key.strip_prefix(PREFIX) else {
                continue;
            };
            if let Some(node) = rest.strip_prefix("members/") {
                view.members.insert(node.to_string());
                view.member_leases.insert(node.to_string(), kv.lease);
                continue;
            }
            let Some(rest) = rest.strip_prefix("svc/") else {
                continue;
            };
            let Some((service, what)) = rest.split_once('/') else {
                continue;
            };
            let entry = view.services.entry(service.to_string()).or_default();
            match what {
                "owner" => entry.owner = Some((kv.value.clone(), kv.lease)),
                "expect" => entry.expect_up = kv.value == "up",
                "target" => entry.target = Some(kv.value.clone()),
                "frozen" => entry.frozen = true,
                _ => {
                    if let (Some(node), Some(instance)) =
                        (what.strip_prefix("instance/"), Instance::parse(&kv.value))
                    {
                        entry.instances.insert(node.to_string(), instance);
                    } else if let Some(node) = what.strip_prefix("config/") {
                        entry.digests.insert(node.to_string(), kv.value.clone());
                    }
                }
            }
        }
        view
    }

    /// A service's view (empty when it has no key).
    pub fn service(&self, name: &str) -> ServiceView {
        self.services.get(name).cloned().unwrap_or_default()
    }
}

/// The SHA-256 of a service file's text, in hex (as `sha256sum` prints
/// it): what each node publishes, so that nodes whose files differ show.
pub fn file_digest(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether the cluster places the service on `node`: its `nodes` name it
/// (a service without `nodes` is this node's alone, and not placed).
pub fn places_on(config: &crate::config::ServiceConfig, node: &str) -> bool {
    config.defaults.nodes.iter().any(|n| n == node)
}

/// The node a service should run on: among `nodes` that are alive and
/// whose instance is neither failed nor frozen, the target if it is one,
/// else the first of `preferred` (autostart_node), else the first of
/// `nodes`.
pub fn choose<'a>(
    nodes: &'a [String],
    preferred: &[String],
    target: Option<&str>,
    members: &BTreeSet<String>,
    service: &ServiceView,
) -> Option<&'a str> {
    let eligible = |node: &&'a String| {
        members.contains(node.as_str())
            && !service
                .instances
                .get(node.as_str())
                .is_some_and(|i| matches!(i.state, InstanceState::Failed | InstanceState::Frozen))
    };
    let candidates: Vec<&'a String> = nodes.iter().filter(eligible).collect();
    let pick = |wanted: &str| candidates.iter().copied().find(|n| n.as_str() == wanted);
    target
        .and_then(pick)
        .or_else(|| preferred.iter().find_map(|p| pick(p)))
        .or(candidates.first().copied())
        .map(String::as_str)
}

/// What this node knows of its own instance of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    /// Its state-machine state (never `Frozen`: see `frozen`).
    pub state: InstanceState,
    /// Frozen here (ctl freeze, hold).
    pub frozen: bool,
    /// Some of its resources run here (status up or warn), whatever the
    /// state says: a returning node finds what it left running.
    pub running: bool,
}

/// What one node does with one service at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing.
    Idle,
    /// Try to take ownership (then start at the next tick).
    Claim,
    /// Start the resources here.
    Start,
    /// Stop the resources here; keep the claim if it is ours.
    Stop,
    /// Stop the resources here, then release our claim.
    StopAndRelease,
    /// Release our claim (nothing runs here).
    Release,
}

/// The rule of docs/cluster.md §3 for node `me` and one service.
/// `confident`: the lease is trusted (not fencing).
pub fn decide(
    me: &str,
    nodes: &[String],
    preferred: &[String],
    confident: bool,
    members: &BTreeSet<String>,
    service: &ServiceView,
    local: Local,
) -> Decision {
    let running =
        local.running || matches!(local.state, InstanceState::Starting | InstanceState::Up);
    if !confident {
        // Fencing: whatever runs here stops before the lease can expire,
        // frozen or not (a frozen copy left running would be a second
        // one once a peer claims the service).
        return if running {
            Decision::Stop
        } else {
            Decision::Idle
        };
    }
    if local.frozen || service.frozen {
        return Decision::Idle;
    }
    let chosen = choose(
        nodes,
        preferred,
        service.target.as_deref(),
        members,
        service,
    );
    match service.owner.as_ref().map(|(owner, _)| owner.as_str()) {
        Some(owner) if owner != me => {
            if running {
                Decision::Stop
            } else {
                Decision::Idle
            }
        }
        Some(_) => {
            let moving_away = chosen.is_some_and(|c| c != me) && service.target.is_some();
            if !service.expect_up || moving_away || local.state == InstanceState::Failed {
                if running {
                    Decision::StopAndRelease
                } else {
                    Decision::Release
                }
            } else if local.state == InstanceState::Down {
                Decision::Start
            } else {
                Decision::Idle
            }
        }
        None => {
            if service.expect_up && chosen == Some(me) && local.state != InstanceState::Failed {
                Decision::Claim
            } else if running {
                Decision::Stop
            } else {
                Decision::Idle
            }
        }
    }
}

/// Take ownership of `service` for `me`, bound to `lease`: whether this
/// node won (a claim already there, ours or not, is not won again).
pub async fn claim(store: &dyn Store, service: &str, me: &str, lease: LeaseId) -> Result<bool> {
    Ok(store
        .create(&service_key(service, "owner"), me, lease)
        .await?
        .is_none())
}

/// Give up `me`'s ownership of `service` (never another node's).
pub async fn release(store: &dyn Store, service: &str, me: &str) -> Result<bool> {
    store.delete(&service_key(service, "owner"), Some(me)).await
}

/// Join the cluster: a lease, and the member key bound to it. `now` is
/// when the grant was sent.
pub async fn join(store: &dyn Store, me: &str, timings: &Timings, now: Duration) -> Result<Lease> {
    let id = store.grant(timings.ttl).await?;
    let value = format!(
        "{{\"version\":\"{}\",\"ttl\":{}}}",
        env!("CARGO_PKG_VERSION"),
        timings.ttl.as_secs()
    );
    store.put(&member_key(me), &value, id).await?;
    Ok(Lease { id, sent: now })
}

/// Renew the lease; `now` is when the request is sent. `Ok(None)` when
/// etcd says the lease is gone (join again: every claim bound to it went
/// with it); an error leaves the lease as it was, still counting down.
pub async fn renew(store: &dyn Store, lease: Lease, now: Duration) -> Result<Option<Lease>> {
    Ok(store.keep_alive(lease.id).await?.then_some(Lease {
        id: lease.id,
        sent: now,
    }))
}

#[cfg(test)]
#[path = "placement_tests.rs"]
mod tests;
