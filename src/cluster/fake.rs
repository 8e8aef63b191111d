//! An in-memory [`Store`] with etcd's semantics where placement relies on
//! them: keys bound to leases vanish with their lease, `create` is atomic,
//! a store without quorum answers nothing (EAGAIN), and a watch wakes on
//! every change. Its clock moves only when a test says so.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::store::{Changes, Health, Kv, LeaseId, Store};
use crate::error::{Error, Result};
use crate::sync::lock;

#[derive(Default)]
struct State {
    now: Duration,
    kv: BTreeMap<String, Kv>,
    /// Lease → (TTL, expiry on the fake clock).
    leases: HashMap<LeaseId, (Duration, Duration)>,
    next_lease: LeaseId,
    no_quorum: bool,
}

impl State {
    fn expire(&mut self) {
        let now = self.now;
        let gone: Vec<LeaseId> = self
            .leases
            .iter()
            .filter(|(_, (_, expiry))| *expiry <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.drop_lease(id);
        }
    }

    fn drop_lease(&mut self, id: LeaseId) {
        self.leases.remove(&id);
        self.kv.retain(|_, kv| kv.lease != id);
    }

    fn check(&mut self) -> Result<()> {
        if self.no_quorum {
            return Err(Error::no_quorum("etcd has no quorum (fake)"));
        }
        self.expire();
        Ok(())
    }

    fn bind(&self, key: &str, value: &str, lease: LeaseId) -> Result<Kv> {
        if lease != 0 && !self.leases.contains_key(&lease) {
            return Err(Error::not_found(format!(
                "etcdserver: requested lease not found ({lease})"
            )));
        }
        Ok(Kv {
            key: key.to_string(),
            value: value.to_string(),
            lease,
        })
    }
}

/// The fake store.
pub struct FakeStore {
    state: Mutex<State>,
    /// Bumped on every change, for the watches.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Default for FakeStore {
    fn default() -> FakeStore {
        FakeStore {
            state: Mutex::default(),
            changed: tokio::sync::watch::Sender::new(0),
        }
    }
}

/// A watch on the fake: wakes on every change after it began.
struct FakeChanges(tokio::sync::watch::Receiver<u64>);

#[async_trait]
impl Changes for FakeChanges {
    async fn next(&mut self) -> Result<()> {
        self.0
            .changed()
            .await
            .map_err(|_| Error::no_quorum("the fake store is gone"))
    }
}

impl FakeStore {
    /// An empty store with quorum, at time zero.
    pub fn new() -> FakeStore {
        FakeStore::default()
    }

    fn changed(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Move the store's clock: leases past their expiry go, with their keys.
    pub fn advance(&self, by: Duration) {
        let mut state = lock(&self.state);
        state.now += by;
        // Without a leader nothing expires (etcd's lessor runs on the leader).
        if !state.no_quorum {
            state.expire();
        }
        drop(state);
        self.changed();
    }

    /// Lose (`false`) or regain quorum. On regaining it, every lease is
    /// renewed to its full TTL, as a new etcd leader does.
    pub fn set_quorum(&self, quorum: bool) {
        let mut state = lock(&self.state);
        if state.no_quorum && quorum {
            let now = state.now;
            for (ttl, expiry) in state.leases.values_mut() {
                *expiry = now + *ttl;
            }
        }
        state.no_quorum = !quorum;
    }

    /// The value of a key, read past any quorum loss (for assertions).
    pub fn value(&self, key: &str) -> Option<String> {
        lock(&self.state).kv.get(key).map(|kv| kv.value.clone())
    }
}

#[async_trait]
impl Store for FakeStore {
    async fn list(&self, prefix: &str) -> Result<Vec<Kv>> {
        let mut state = lock(&self.state);
        state.check()?;
        Ok(state
            .kv
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, kv)| kv.clone())
            .collect())
    }

    async fn put(&self, key: &str, value: &str, lease: LeaseId) -> Result<()> {
        let mut state = lock(&self.state);
        state.check()?;
        let kv = state.bind(key, value, lease)?;
        state.kv.insert(key.to_string(), kv);
        drop(state);
        self.changed();
        Ok(())
    }

    async fn create(&self, key: &str, value: &str, lease: LeaseId) -> Result<Option<Kv>> {
        let mut state = lock(&self.state);
        state.check()?;
        if let Some(existing) = state.kv.get(key) {
            return Ok(Some(existing.clone()));
        }
        let kv = state.bind(key, value, lease)?;
        state.kv.insert(key.to_string(), kv);
        drop(state);
        self.changed();
        Ok(None)
    }

    async fn delete(&self, key: &str, only_if: Option<&str>) -> Result<bool> {
        let mut state = lock(&self.state);
        state.check()?;
        let matches = match (state.kv.get(key), only_if) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(kv), Some(expected)) => kv.value == expected,
        };
        if matches {
            state.kv.remove(key);
            drop(state);
            self.changed();
        }
        Ok(matches)
    }

    async fn grant(&self, ttl: Duration) -> Result<LeaseId> {
        let mut state = lock(&self.state);
        state.check()?;
        state.next_lease += 1;
        let id = state.next_lease;
        let expiry = state.now + ttl;
        state.leases.insert(id, (ttl, expiry));
        Ok(id)
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<bool> {
        let mut state = lock(&self.state);
        state.check()?;
        let now = state.now;
        Ok(state
            .leases
            .get_mut(&lease)
            .map(|(ttl, expiry)| *expiry = now + *ttl)
            .is_some())
    }

    async fn revoke(&self, lease: LeaseId) -> Result<()> {
        let mut state = lock(&self.state);
        state.check()?;
        state.drop_lease(lease);
        drop(state);
        self.changed();
        Ok(())
    }

    async fn time_to_live(&self, lease: LeaseId) -> Result<Option<Duration>> {
        let mut state = lock(&self.state);
        state.check()?;
        let now = state.now;
        Ok(state
            .leases
            .get(&lease)
            .map(|(_, expiry)| expiry.saturating_sub(now)))
    }

    async fn health(&self) -> Vec<(String, Health)> {
        let health = if lock(&self.state).no_quorum {
            Health::NoQuorum
        } else {
            Health::Healthy
        };
        vec![("fake://".to_string(), health)]
    }

    async fn watch(&self, _prefix: &str) -> Result<Box<dyn Changes>> {
        lock(&self.state).check()?;
        let mut changes = self.changed.subscribe();
        changes.mark_unchanged();
        Ok(Box::new(FakeChanges(changes)))
    }
}
