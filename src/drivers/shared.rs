//! Host state read once for many resources. A refresh pass over every
//! resource of every service reads the mount table, the network addresses
//! and the LVM listing once, not once per resource: each kind of read is a
//! [`SharedRead`], where the first caller reads, the callers that arrive
//! meanwhile wait for its answer (single flight), and the answer serves
//! everyone for a short lifetime.
//!
//! Only status checks use it. Actions read the host themselves, so that
//! they always decide on fresh state, and invalidate what they change
//! (mount, unmount, address add/remove, VG tag and activation), so that
//! the check that follows an action sees its effect.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ip::DeviceAddresses;
use super::mounts::MountEntry;
use super::vg::VgListing;
use crate::error::Result;
use crate::sync::lock;

/// How long one read serves later callers. A pass over thousands of
/// resources takes well under a second once the reads are shared, and an
/// action's own check comes after its invalidation; one second also bounds
/// how stale a status can be because of the sharing (the periodic
/// reconcile is far rarer than that anyway).
pub const SHARED_READ_LIFETIME: Duration = Duration::from_secs(1);

/// One kind of host read, shared by its callers within a lifetime.
pub struct SharedRead<T> {
    lifetime: Duration,
    /// Held by the caller that reads; the others wait for its answer.
    reading: tokio::sync::Mutex<()>,
    value: Mutex<Option<Cached<T>>>,
    /// Bumped by [`SharedRead::invalidate`]: a value read under an older
    /// generation is never served again.
    generation: AtomicU64,
    reads: AtomicU64,
}

struct Cached<T> {
    at: Instant,
    generation: u64,
    value: T,
}

impl<T: Clone> SharedRead<T> {
    /// A read that serves its callers for `lifetime` (zero: every caller
    /// reads, one at a time).
    pub fn new(lifetime: Duration) -> Self {
        SharedRead {
            lifetime,
            reading: tokio::sync::Mutex::new(()),
            value: Mutex::new(None),
            generation: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> Option<T> {
        let generation = self.generation.load(Ordering::Acquire);
        lock(&self.value)
            .as_ref()
            .filter(|c| c.generation == generation && c.at.elapsed() < self.lifetime)
            .map(|c| c.value.clone())
    }

    /// The value: the one read within the lifetime, or the answer of the
    /// read in flight, or `read()`'s. `read` bounds itself; a caller that
    /// gives up waiting lets the next one read.
    pub async fn get<F, Fut>(&self, read: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(value) = self.fresh() {
            return value;
        }
        let _reading = self.reading.lock().await;
        if let Some(value) = self.fresh() {
            return value;
        }
        let generation = self.generation.load(Ordering::Acquire);
        self.reads.fetch_add(1, Ordering::Relaxed);
        let value = read().await;
        // The lifetime runs from the answer: callers that queued behind a
        // slow read get its answer instead of reading again one by one.
        *lock(&self.value) = Some(Cached {
            at: Instant::now(),
            generation,
            value: value.clone(),
        });
        value
    }

    /// Forget the value: the host changed (an action, the kernel's mount
    /// table notification). A read in flight is not served after it.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *lock(&self.value) = None;
    }

    /// How many reads were made, for tests and debug logs.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// The host reads drivers share: one set per engine.
pub struct HostReads {
    /// The mount table (`fs` resources).
    pub mounts: SharedRead<Result<Arc<Vec<MountEntry>>>>,
    /// Every network device with its addresses (`ip` resources).
    pub addresses: SharedRead<Result<Arc<DeviceAddresses>>>,
    /// Every volume group with its tags and volumes (`vg` resources);
    /// `None` when LVM exited non-zero (each VG then asks for itself).
    pub volume_groups: SharedRead<Result<Option<Arc<VgListing>>>>,
}

impl HostReads {
    /// Reads that serve their callers for `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        HostReads {
            mounts: SharedRead::new(lifetime),
            addresses: SharedRead::new(lifetime),
            volume_groups: SharedRead::new(lifetime),
        }
    }
}

impl Default for HostReads {
    fn default() -> Self {
        Self::new(SHARED_READ_LIFETIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn concurrent_callers_share_one_read() {
        let shared = SharedRead::<u32>::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        let read = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            7
        };
        let got = futures_util::future::join_all((0..50).map(|_| shared.get(read))).await;
        assert!(got.iter().all(|v| *v == 7));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(shared.reads(), 1);
    }

    #[tokio::test]
    async fn invalidation_and_expiry_read_again() {
        let shared = SharedRead::<u32>::new(Duration::from_secs(60));
        assert_eq!(shared.get(|| async { 1 }).await, 1);
        assert_eq!(shared.get(|| async { 2 }).await, 1);
        shared.invalidate();
        assert_eq!(shared.get(|| async { 3 }).await, 3);
        let uncached = SharedRead::<u32>::new(Duration::ZERO);
        assert_eq!(uncached.get(|| async { 1 }).await, 1);
        assert_eq!(uncached.get(|| async { 2 }).await, 2);
        assert_eq!(uncached.reads(), 2);
    }

    #[tokio::test]
    async fn a_read_in_flight_during_an_invalidation_is_not_kept() {
        let shared = Arc::new(SharedRead::<u32>::new(Duration::from_secs(60)));
        let reader = {
            let shared = shared.clone();
            tokio::spawn(async move {
                shared
                    .get(|| async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        1
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        shared.invalidate();
        assert_eq!(reader.await.unwrap(), 1);
        assert_eq!(shared.get(|| async { 2 }).await, 2);
    }
}
