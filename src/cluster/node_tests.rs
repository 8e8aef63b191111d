//! Three nodes on the fake store, simulated second by second: each node
//! checks its fence every second and renews and places every RENEW, as
//! the daemon's loops do. After every node's step, at most one node runs
//! the service — through node loss, partitions, quorum loss, switches and
//! failed starts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::*;
use crate::cluster::fake::FakeStore;
use crate::cluster::placement::{config_key, member_key, DEFAULT_TTL};
use crate::cluster::store::{Changes, Health as EndpointHealth, Kv, LeaseId};

const NODES: [&str; 3] = ["a", "b", "c"];

/// A node's view of the store, which a partition cuts.
struct Reach {
    store: Arc<FakeStore>,
    cut: AtomicBool,
}

impl Reach {
    fn check(&self) -> Result<()> {
        if self.cut.load(Ordering::SeqCst) {
            return Err(Error::no_quorum("partitioned (test)"));
        }
        Ok(())
    }
}

#[async_trait]
impl Store for Reach {
    async fn list(&self, prefix: &str) -> Result<Vec<Kv>> {
        self.check()?;
        self.store.list(prefix).await
    }
    async fn put(&self, key: &str, value: &str, lease: LeaseId) -> Result<()> {
        self.check()?;
        self.store.put(key, value, lease).await
    }
    async fn create(&self, key: &str, value: &str, lease: LeaseId) -> Result<Option<Kv>> {
        self.check()?;
        self.store.create(key, value, lease).await
    }
    async fn delete(&self, key: &str, only_if: Option<&str>) -> Result<bool> {
        self.check()?;
        self.store.delete(key, only_if).await
    }
    async fn grant(&self, ttl: Duration) -> Result<LeaseId> {
        self.check()?;
        self.store.grant(ttl).await
    }
    async fn keep_alive(&self, lease: LeaseId) -> Result<bool> {
        self.check()?;
        self.store.keep_alive(lease).await
    }
    async fn revoke(&self, lease: LeaseId) -> Result<()> {
        self.check()?;
        self.store.revoke(lease).await
    }
    async fn time_to_live(&self, lease: LeaseId) -> Result<Option<Duration>> {
        self.check()?;
        self.store.time_to_live(lease).await
    }
    async fn health(&self) -> Vec<(String, EndpointHealth)> {
        self.store.health().await
    }
    async fn watch(&self, prefix: &str) -> Result<Box<dyn Changes>> {
        self.check()?;
        self.store.watch(prefix).await
    }
}

/// One host: whether the service's resources run on it.
#[derive(Default)]
struct SimHost {
    running: AtomicBool,
    fail_start: AtomicBool,
    /// Starts end as a fence's cancellation does (EAGAIN).
    cancel_start: AtomicBool,
    starts: AtomicUsize,
    /// How many stops fail (EBUSY, as while another action runs) first.
    failing_stops: AtomicUsize,
    /// Times the tree was told of a placement change.
    changes: AtomicUsize,
    /// Of those, how many came before the last start.
    changes_before_start: AtomicUsize,
}

#[async_trait]
impl Host for SimHost {
    fn services(&self) -> Vec<ServiceInfo> {
        let running = self.running.load(Ordering::SeqCst);
        vec![ServiceInfo {
            name: "app".into(),
            nodes: NODES.iter().map(|n| n.to_string()).collect(),
            preferred: vec!["a".into()],
            frozen: false,
            running,
            status: if running { "up" } else { "down" }.into(),
            digest: "d1".into(),
        }]
    }
    fn placement_changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }
    async fn start(&self, _service: &str) -> Result<()> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        self.changes_before_start
            .store(self.changes.load(Ordering::SeqCst), Ordering::SeqCst);
        // A failed start leaves what it started running, as svcfs does.
        self.running.store(true, Ordering::SeqCst);
        if self.fail_start.load(Ordering::SeqCst) {
            return Err(Error::backend("start failed (test)"));
        }
        if self.cancel_start.load(Ordering::SeqCst) {
            return Err(Error::no_quorum("start cancelled: fencing (test)"));
        }
        Ok(())
    }
    async fn stop(&self, _service: &str, _budget: Duration) -> Result<()> {
        if self
            .failing_stops
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::busy("another action runs (test)"));
        }
        self.running.store(false, Ordering::SeqCst);
        Ok(())
    }
}

struct SimNode {
    name: &'static str,
    node: Option<Node>,
    reach: Arc<Reach>,
    host: SimHost,
}

struct Sim {
    store: Arc<FakeStore>,
    nodes: Vec<SimNode>,
    now: Duration,
    timings: Timings,
}

impl Sim {
    fn new() -> Sim {
        let store = Arc::new(FakeStore::new());
        let timings = Timings::from_ttl(DEFAULT_TTL).unwrap();
        let nodes = NODES
            .iter()
            .map(|name| {
                let reach = Arc::new(Reach {
                    store: store.clone(),
                    cut: AtomicBool::new(false),
                });
                SimNode {
                    name,
                    node: Some(Node::new(name.to_string(), timings, reach.clone())),
                    reach,
                    host: SimHost::default(),
                }
            })
            .collect();
        Sim {
            store,
            nodes,
            now: Duration::ZERO,
            timings,
        }
    }

    fn at(&self, name: &str) -> &SimNode {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    fn node(&self, name: &str) -> &Node {
        self.at(name).node.as_ref().unwrap()
    }

    fn running(&self) -> Vec<&'static str> {
        self.nodes
            .iter()
            .filter(|n| n.host.running.load(Ordering::SeqCst))
            .map(|n| n.name)
            .collect()
    }

    fn check_one_owner(&self) {
        let running = self.running();
        assert!(
            running.len() <= 1,
            "two nodes run the service at {:?}: {running:?}",
            self.now
        );
    }

    /// One second: every live node checks its fence; on its tick it
    /// renews and places.
    async fn second(&mut self) {
        self.now += Duration::from_secs(1);
        self.store.advance(Duration::from_secs(1));
        let tick = self.now.as_secs() % self.timings.renew.as_secs() == 0;
        for index in 0..self.nodes.len() {
            let sim = &self.nodes[index];
            let Some(node) = &sim.node else { continue };
            node.fence(self.now, &sim.host).await;
            self.check_one_owner();
            if tick {
                let _ = node.keep_alive(self.now).await;
                let _ = node.place(self.now, &sim.host).await;
                self.check_one_owner();
            }
        }
    }

    /// Run until `done`, at most `limit` seconds; the seconds it took.
    async fn until(&mut self, limit: u64, done: impl Fn(&Sim) -> bool) -> u64 {
        for second in 0..=limit {
            if done(self) {
                return second;
            }
            self.second().await;
        }
        panic!("not done within {limit}s (running: {:?})", self.running());
    }

    async fn run(&mut self, seconds: u64) {
        for _ in 0..seconds {
            self.second().await;
        }
    }

    /// The node and its docker die together.
    fn kill(&mut self, name: &str) {
        let sim = self.nodes.iter_mut().find(|n| n.name == name).unwrap();
        sim.node = None;
        sim.host.running.store(false, Ordering::SeqCst);
    }

    fn revive(&mut self, name: &str) {
        let timings = self.timings;
        let sim = self.nodes.iter_mut().find(|n| n.name == name).unwrap();
        sim.node = Some(Node::new(name.to_string(), timings, sim.reach.clone()));
    }

    fn cut(&self, name: &str, cut: bool) {
        self.at(name).reach.cut.store(cut, Ordering::SeqCst);
    }

    fn owner(&self) -> Option<String> {
        self.store.value(&service_key("app", "owner"))
    }

    async fn started(&mut self) -> &'static str {
        self.run(1).await;
        self.node("a").expect("app", true).await.unwrap();
        self.until(10, |s| s.running().len() == 1).await;
        self.running()[0]
    }
}

fn only(name: &'static str) -> impl Fn(&Sim) -> bool {
    move |s| s.running() == [name]
}

#[tokio::test]
async fn the_service_starts_on_its_preferred_node_only_when_wanted() {
    let mut sim = Sim::new();
    sim.run(10).await;
    assert!(sim.running().is_empty());
    assert_eq!(sim.owner(), None);
    assert_eq!(sim.started().await, "a");
    assert_eq!(sim.owner().as_deref(), Some("a"));
    assert_eq!(sim.node("a").state("app"), InstanceState::Up);
    // The claim and "starting" are shown before the start runs.
    assert_eq!(
        sim.at("a").host.changes_before_start.load(Ordering::SeqCst),
        2
    );
    let stopping = sim.at("a").host.changes.load(Ordering::SeqCst);
    // The status word published is the one of the next pass.
    sim.run(2).await;
    assert_eq!(
        sim.store.value(&instance_key("app", "a")).as_deref(),
        Some("up up")
    );
    sim.run(20).await;
    assert_eq!(sim.at("a").host.starts.load(Ordering::SeqCst), 1);
    // stop on any node: the owner stops and lets go.
    sim.node("c").expect("app", false).await.unwrap();
    sim.until(4, |s| s.running().is_empty()).await;
    sim.run(2).await;
    assert_eq!(sim.owner(), None);
    assert!(sim.at("a").host.changes.load(Ordering::SeqCst) > stopping);
}

#[tokio::test]
async fn a_switch_moves_the_service_and_ends_there() {
    let mut sim = Sim::new();
    sim.started().await;
    let nodes: Vec<String> = NODES.iter().map(|n| n.to_string()).collect();
    let e = sim
        .node("a")
        .switch("app", &nodes, "z", "d1")
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    sim.node("c")
        .switch("app", &nodes, "b", "d1")
        .await
        .unwrap();
    sim.until(6, only("b")).await;
    sim.run(4).await;
    assert_eq!(sim.owner().as_deref(), Some("b"));
    // The target was a one-time order: gone once b runs it.
    assert_eq!(sim.store.value(&service_key("app", "target")), None);
    // A dead node cannot be switched to.
    sim.kill("c");
    sim.run(12).await;
    let e = sim
        .node("a")
        .switch("app", &nodes, "c", "d1")
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EHOSTDOWN);
    assert_eq!(sim.running(), ["b"]);
}

#[tokio::test]
async fn a_switch_to_a_node_whose_file_differs_is_refused() {
    let mut sim = Sim::new();
    sim.started().await;
    let nodes: Vec<String> = NODES.iter().map(|n| n.to_string()).collect();
    // Every node published the digest of its file.
    for node in NODES {
        assert_eq!(
            sim.store.value(&config_key("app", node)).as_deref(),
            Some("d1")
        );
    }
    // c's file changes (its node publishes the new digest).
    let lease = sim.node("c").view().member_leases["c"];
    sim.store
        .put(&config_key("app", "c"), "d2", lease)
        .await
        .unwrap();
    let e = sim
        .node("b")
        .switch("app", &nodes, "c", "d1")
        .await
        .unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL, "{e}");
    assert!(e.message().contains("differs from a's"), "{e}");
    assert_eq!(sim.store.value(&service_key("app", "target")), None);
    // b's file is a's: the switch there goes.
    sim.node("c")
        .switch("app", &nodes, "b", "d1")
        .await
        .unwrap();
    sim.until(6, only("b")).await;
}

#[tokio::test]
async fn a_lost_node_is_replaced_within_the_ttl_and_does_not_take_back() {
    let mut sim = Sim::new();
    sim.started().await;
    sim.kill("a");
    let took = sim.until(30, only("b")).await;
    // Lease expiry (≤ TTL after the last renewal) plus one tick.
    assert!(
        took <= (sim.timings.ttl + 2 * sim.timings.renew).as_secs(),
        "{took}s"
    );
    assert_eq!(sim.store.value(&member_key("a")), None);
    sim.revive("a");
    sim.run(30).await;
    assert_eq!(sim.running(), ["b"]);
    assert!(sim.store.value(&member_key("a")).is_some());
}

#[tokio::test]
async fn a_partitioned_owner_fences_before_its_lease_can_expire() {
    let mut sim = Sim::new();
    sim.started().await;
    sim.cut("a", true);
    let fenced = sim.until(10, |s| s.running().is_empty()).await;
    assert!(fenced <= sim.timings.fence_after.as_secs() + 1, "{fenced}s");
    sim.until(20, only("b")).await;
    sim.cut("a", false);
    sim.run(30).await;
    assert_eq!(sim.running(), ["b"]);
    assert_eq!(sim.owner().as_deref(), Some("b"));
}

#[tokio::test]
async fn a_fence_whose_stop_fails_is_retried_before_the_lease_can_expire() {
    let mut sim = Sim::new();
    sim.started().await;
    sim.at("a").host.failing_stops.store(2, Ordering::SeqCst);
    sim.cut("a", true);
    let fenced = sim.until(10, |s| s.running().is_empty()).await;
    assert!(fenced < sim.timings.ttl.as_secs(), "{fenced}s");
    assert_eq!(sim.at("a").host.failing_stops.load(Ordering::SeqCst), 0);
    sim.until(20, only("b")).await;
}

#[tokio::test]
async fn a_start_cancelled_by_the_fence_is_no_failure() {
    let mut sim = Sim::new();
    sim.at("a").host.cancel_start.store(true, Ordering::SeqCst);
    sim.run(1).await;
    sim.node("a").expect("app", true).await.unwrap();
    sim.run(2).await;
    assert_eq!(sim.node("a").state("app"), InstanceState::Down);
    // Still a's to run: it starts again once starts are not cancelled.
    sim.at("a").host.cancel_start.store(false, Ordering::SeqCst);
    sim.until(6, |s| s.node("a").state("app") == InstanceState::Up)
        .await;
    assert_eq!(sim.running(), ["a"]);
}

#[tokio::test]
async fn without_quorum_nothing_starts_and_the_owner_stops_then_one_owner_again() {
    let mut sim = Sim::new();
    sim.started().await;
    let starts = |s: &Sim| -> usize {
        s.nodes
            .iter()
            .map(|n| n.host.starts.load(Ordering::SeqCst))
            .sum()
    };
    let before = starts(&sim);
    sim.store.set_quorum(false);
    sim.until(sim.timings.fence_after.as_secs() + 2, |s| {
        s.running().is_empty()
    })
    .await;
    sim.run(60).await;
    assert!(sim.running().is_empty());
    assert_eq!(starts(&sim), before);
    assert!(!sim.node("a").confident(sim.now));
    sim.store.set_quorum(true);
    sim.until(10, |s| s.running().len() == 1).await;
    sim.run(20).await;
    assert_eq!(sim.running().len(), 1);
    assert_eq!(sim.owner().as_deref(), Some(sim.running()[0]));
}

#[tokio::test]
async fn a_failed_start_gives_the_service_to_the_next_node_until_cleared() {
    let mut sim = Sim::new();
    sim.at("a").host.fail_start.store(true, Ordering::SeqCst);
    sim.run(1).await;
    sim.node("a").expect("app", true).await.unwrap();
    sim.until(10, only("b")).await;
    assert_eq!(sim.node("a").state("app"), InstanceState::Failed);
    assert_eq!(
        sim.store.value(&instance_key("app", "a")).as_deref(),
        Some("down failed")
    );
    sim.node("a").clear("app");
    sim.run(6).await;
    assert_eq!(sim.node("a").state("app"), InstanceState::Down);
    assert_eq!(sim.running(), ["b"]);
}

#[tokio::test]
async fn a_leaving_node_stops_its_services_and_a_peer_takes_over_at_once() {
    let mut sim = Sim::new();
    sim.started().await;
    let a = sim.nodes.iter_mut().find(|n| n.name == "a").unwrap();
    a.node.take().unwrap().leave(&a.host).await.unwrap();
    assert!(sim.running().is_empty());
    let took = sim.until(10, only("b")).await;
    assert!(took <= sim.timings.renew.as_secs(), "{took}s");
}

/// Faults at random (a fixed seed: the run is the same every time), the
/// invariant checked after every node's every step, and once the faults
/// end, one node runs the service again.
#[tokio::test]
async fn never_two_owners_under_random_faults() {
    let mut sim = Sim::new();
    sim.started().await;
    let nodes: Vec<String> = NODES.iter().map(|n| n.to_string()).collect();
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut quorum = true;
    for _ in 0..300 {
        let name = NODES[next(3) as usize];
        match next(8) {
            0 if sim.at(name).node.is_some() => sim.kill(name),
            1 if sim.at(name).node.is_none() => sim.revive(name),
            2 => sim.cut(name, true),
            3 => sim.cut(name, false),
            4 => {
                quorum = !quorum;
                sim.store.set_quorum(quorum);
            }
            5 => {
                if let Some(node) = sim.at("a").node.as_ref().or(sim.at("b").node.as_ref()) {
                    let _ = node.switch("app", &nodes, name, "d1").await;
                }
            }
            _ => {}
        }
        sim.run(next(12)).await;
    }
    sim.store.set_quorum(true);
    for name in NODES {
        sim.cut(name, false);
        if sim.at(name).node.is_none() {
            sim.revive(name);
        }
    }
    sim.until(30, |s| s.running().len() == 1).await;
    sim.run(30).await;
    assert_eq!(sim.running().len(), 1);
}

/// Two services, one whose start never ends.
#[derive(Default)]
struct TwoServices {
    quick_started: AtomicBool,
}

#[async_trait]
impl Host for TwoServices {
    fn services(&self) -> Vec<ServiceInfo> {
        ["slow", "quick"]
            .into_iter()
            .map(|name| ServiceInfo {
                name: name.into(),
                nodes: vec!["a".into()],
                preferred: Vec::new(),
                frozen: false,
                running: false,
                status: "down".into(),
                digest: "d1".into(),
            })
            .collect()
    }
    async fn start(&self, service: &str) -> Result<()> {
        if service == "slow" {
            std::future::pending::<()>().await;
        }
        self.quick_started.store(true, Ordering::SeqCst);
        Ok(())
    }
    async fn stop(&self, _service: &str, _budget: Duration) -> Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_start_does_not_hold_the_placement_of_other_services() {
    let store = Arc::new(FakeStore::new());
    let timings = Timings::from_ttl(DEFAULT_TTL).unwrap();
    let node = Node::new("a".into(), timings, store.clone());
    node.keep_alive(Duration::ZERO).await.unwrap();
    node.expect("slow", true).await.unwrap();
    node.expect("quick", true).await.unwrap();
    let host = TwoServices::default();
    let pass = tokio::time::timeout(Duration::from_secs(1), node.place(Duration::ZERO, &host));
    assert!(pass.await.is_err(), "the slow start ended?");
    assert!(host.quick_started.load(Ordering::SeqCst));
    assert_eq!(node.state("slow"), InstanceState::Starting);
    assert_eq!(node.state("quick"), InstanceState::Up);
}

#[tokio::test]
async fn a_watch_wakes_on_a_change_made_after_it_began() {
    let store = FakeStore::new();
    store.put("/svcfs/v1/before", "x", 0).await.unwrap();
    let mut changes = store.watch(PREFIX).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(50), changes.next()).await;
    assert!(early.is_err(), "woke without a change");
    store.put("/svcfs/v1/after", "y", 0).await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), changes.next())
        .await
        .expect("woke")
        .unwrap();
}
