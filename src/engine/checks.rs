//! Own checks: resources whose driver learns their state by running
//! something of its own (an app's check script) are checked on their own
//! schedule — every interval the driver asks for, each at a phase of its
//! own so that a thousand services do not check in the same second —
//! rather than in the reconcile passes, and after every action like the
//! rest. One sleeping task per service that has such resources; it ends
//! when the service leaves the tree or its configuration is replaced
//! (the new one gets a schedule of its own).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::{LoadedService, ServiceRuntime};
use crate::sync::lock;

/// One resource's place in the schedule.
struct Due {
    rid: String,
    interval: Duration,
    next: Instant,
}

impl ServiceRuntime {
    /// Check the resources of the current configuration that have own
    /// checks on their schedule, each status check bounded by `limit`
    /// (or its driver's own bound), from within a tokio runtime; once per
    /// configuration, however often asked.
    pub fn follow_own_checks(self: &Arc<Self>, limit: Duration) {
        let Some(loaded) = first_ask(self, &self.own_checks_of) else {
            return;
        };
        let now = Instant::now();
        let due: Vec<Due> = loaded
            .resources
            .iter()
            .filter(|r| !r.config.common.disable)
            .filter_map(|r| {
                let interval = r.driver.own_checks()?.max(Duration::from_secs(1));
                let rid = r.config.rid.to_string();
                let next = now + phase(&self.name, &rid, interval);
                Some(Due {
                    rid,
                    interval,
                    next,
                })
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let following = follow(Arc::downgrade(self), Arc::downgrade(&loaded), due, limit);
        spawn_following(&self.own_checks_of, following);
    }
}

/// The current configuration of `service`, the first time this is asked
/// with `followed` (which keeps the address of the configuration already
/// followed) since it was loaded; `None` after.
pub(super) fn first_ask(
    service: &ServiceRuntime,
    followed: &std::sync::Mutex<usize>,
) -> Option<Arc<LoadedService>> {
    let loaded = service.loaded();
    let generation = Arc::as_ptr(&loaded) as usize;
    let mut followed = lock(followed);
    if *followed == generation {
        return None;
    }
    *followed = generation;
    Some(loaded)
}

/// Spawn what follows a configuration, from within a tokio runtime;
/// outside one, forget it was asked (`followed`): the engine asks again
/// from the runtime (`Engine::spawn_background`).
pub(super) fn spawn_following(
    followed: &std::sync::Mutex<usize>,
    following: impl std::future::Future<Output = ()> + Send + 'static,
) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(following)),
        Err(_) => *lock(followed) = 0,
    }
}

/// Check each resource of `due` when its time comes, until the service
/// leaves or `loaded` is replaced.
async fn follow(
    runtime: Weak<ServiceRuntime>,
    loaded: Weak<LoadedService>,
    mut due: Vec<Due>,
    limit: Duration,
) {
    loop {
        let Some(next) = due.iter_mut().min_by_key(|d| d.next) else {
            return;
        };
        tokio::time::sleep_until(next.next).await;
        let (Some(service), Some(loaded)) = (runtime.upgrade(), loaded.upgrade()) else {
            return;
        };
        if service.retired.load(Ordering::SeqCst) || !Arc::ptr_eq(&service.loaded(), &loaded) {
            return;
        }
        let rid = next.rid.clone();
        service
            .refresh_only(limit, |r| r.config.rid.as_str() == rid)
            .await;
        // A check slower than its interval skips the slots it overran
        // rather than running back to back.
        let now = Instant::now();
        while next.next <= now {
            next.next += next.interval;
        }
    }
}

/// Where in its interval a resource is checked: spread evenly by its
/// service and rid, the same at every daemon start.
fn phase(service: &str, rid: &str, interval: Duration) -> Duration {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in service.bytes().chain([0]).chain(rid.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let unit = (hash >> 11) as f64 / (1u64 << 53) as f64;
    interval.mul_f64(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_within_the_interval_and_spread() {
        let interval = Duration::from_secs(60);
        let phases: Vec<Duration> = (0..1000)
            .map(|i| phase(&format!("svc{i}"), "app#1", interval))
            .collect();
        assert!(phases.iter().all(|p| *p < interval));
        // Every 6-second tenth of the minute gets some, none most.
        for tenth in 0..10 {
            let low = Duration::from_secs(6 * tenth);
            let count = phases
                .iter()
                .filter(|p| **p >= low && **p < low + Duration::from_secs(6))
                .count();
            assert!((50..200).contains(&count), "tenth {tenth}: {count}");
        }
        assert_eq!(phase("a", "app#1", interval), phase("a", "app#1", interval));
        assert_ne!(phase("a", "app#1", interval), phase("a", "app#2", interval));
    }
}
