//! What svcfs asks of etcd, as a trait ([`Store`]), so that placement is
//! tested against the in-memory [`super::fake::FakeStore`] and runs on
//! etcd through [`super::etcd::Etcd`].
//!
//! A store that gives no answer within [`CALL`] per endpoint is EAGAIN
//! ("no quorum"): svcfs cannot tell a dead majority from a slow one, and
//! must not act on either. Reads are linearizable (etcd's default), so
//! they too fail without a quorum instead of serving a stale member's
//! view.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;

/// Bound on one request to one endpoint.
pub const CALL: Duration = Duration::from_secs(1);

/// An etcd lease id.
pub type LeaseId = i64;

/// One key as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// The lease it is bound to (0: none).
    pub lease: LeaseId,
}

/// The health of one endpoint, as `cluster/etcd` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answers and its cluster has a leader.
    Healthy,
    /// It answers but has no leader (no quorum on its side).
    NoQuorum,
    /// No answer within the bound.
    Unreachable,
    /// It answers, but svcfs's etcd user may not ask for its status.
    Unknown,
}

impl Health {
    /// The word of `cluster/etcd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::NoQuorum => "no-quorum",
            Health::Unreachable => "unreachable",
            Health::Unknown => "unknown",
        }
    }
}

/// Changes under a prefix, as a watch sees them: each `next` returns once
/// something under it changed since the watch began (or since the last
/// `next`). An error ends the watch: make a new one.
#[async_trait]
pub trait Changes: Send {
    /// Wait for the next change.
    async fn next(&mut self) -> Result<()>;
}

/// What placement needs from the store.
#[async_trait]
pub trait Store: Send + Sync {
    /// Every key under `prefix`, in key order.
    async fn list(&self, prefix: &str) -> Result<Vec<Kv>>;
    /// Write `key` (bound to `lease` unless 0).
    async fn put(&self, key: &str, value: &str, lease: LeaseId) -> Result<()>;
    /// Create `key` only if it does not exist (etcd: `create_revision ==
    /// 0`). `Ok(None)` when created, `Ok(Some(existing))` when not.
    async fn create(&self, key: &str, value: &str, lease: LeaseId) -> Result<Option<Kv>>;
    /// Delete `key`; with `only_if`, only while it holds that value.
    /// Whether it was deleted.
    async fn delete(&self, key: &str, only_if: Option<&str>) -> Result<bool>;
    /// A new lease of `ttl`.
    async fn grant(&self, ttl: Duration) -> Result<LeaseId>;
    /// Renew `lease` to its full TTL: false when it is gone (expired or
    /// revoked).
    async fn keep_alive(&self, lease: LeaseId) -> Result<bool>;
    /// End `lease` now, dropping its keys.
    async fn revoke(&self, lease: LeaseId) -> Result<()>;
    /// What `lease` has left, `None` when it is gone.
    async fn time_to_live(&self, lease: LeaseId) -> Result<Option<Duration>>;
    /// Each endpoint and its health.
    async fn health(&self) -> Vec<(String, Health)>;
    /// Watch every key under `prefix`. Returns once the watch is in place:
    /// a change made after this returns is seen by the watch, so a read
    /// made after it misses nothing in between.
    async fn watch(&self, prefix: &str) -> Result<Box<dyn Changes>>;
    /// Why etcd refuses this node where its answers cannot tell (a TLS
    /// refusal read as a lost connection): asked before a node that could
    /// not reach etcd mounts anyway. None: nothing found.
    async fn refusal(&self) -> Option<crate::error::Error> {
        None
    }
}
