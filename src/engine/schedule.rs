//! Schedules: resources that run by themselves on a schedule (tasks) are
//! run at each slot by one sleeping task per service, which wakes at the
//! next slot of any of them (or every [`LONGEST_NAP`], to notice a clock
//! that was stepped or a host that was suspended) and otherwise costs
//! nothing; it ends when the service leaves the tree or its configuration
//! is replaced (the new one gets a schedule of its own).
//!
//! At a slot, a task runs (outside the service's action lock, see
//! `apart.rs`) when the service's `avail` is `up` and it is not frozen;
//! otherwise the slot is skipped and the log says why. A slot is claimed
//! in the task's record before it runs, so that no slot runs twice — not
//! across a reload, nor across a daemon restart. When the daemon starts,
//! the slots missed while it was down are run once (`persistent = true`)
//! or skipped, and logged either way.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::apart::Trigger;
use super::{LoadedService, ServiceRuntime};
use crate::clock::{local_hms, rfc3339_utc};
use crate::model::Status;

/// The longest the scheduler sleeps without looking at the clock: its
/// sleeps count monotonic time, which a stepped clock or a suspended host
/// leaves behind the wall clock that slots are in.
pub const LONGEST_NAP: Duration = Duration::from_secs(600);

/// How many missed slots a restart counts (a task every second, down for
/// a week, is not worth counting one by one).
const MISSED_COUNTED: usize = 10_000;

impl ServiceRuntime {
    /// Run the scheduled resources of the current configuration at their
    /// slots, each run's status check bounded by `limit`, as `nodename`;
    /// from within a tokio runtime, once per configuration however often
    /// asked.
    pub fn follow_schedules(self: &Arc<Self>, limit: Duration, nodename: &str) {
        let Some(loaded) = super::checks::first_ask(self, &self.schedules_of) else {
            return;
        };
        let rids: Vec<String> = loaded
            .resources
            .iter()
            .filter(|r| !r.config.common.disable && r.driver.scheduled().is_some())
            .map(|r| r.config.rid.to_string())
            .collect();
        if rids.is_empty() {
            return;
        }
        let following = follow(
            Arc::downgrade(self),
            Arc::downgrade(&loaded),
            rids,
            limit,
            nodename.to_string(),
        );
        super::checks::spawn_following(&self.schedules_of, following);
    }

    /// The slot of `rid` is due: run it unless the service is not up or
    /// is frozen (logged as skipped). Claimed first: handled once. True
    /// when a run was started (which shows the task's new state when it
    /// ends).
    fn slot_due(
        self: &Arc<Self>,
        loaded: &LoadedService,
        rid: &str,
        slot: SystemTime,
        run: Run,
    ) -> bool {
        let Some(scheduled) = scheduled_of(loaded, rid) else {
            return false;
        };
        if !scheduled.claim(slot) {
            return false;
        }
        let log = self.log.resource(rid);
        let when = local_hms(slot);
        let snapshot = self.snapshot();
        if self.is_frozen() {
            log.info(format!(
                "scheduled run of {when} skipped: the service is frozen"
            ));
            return false;
        }
        if snapshot.avail != Status::Up {
            log.info(format!(
                "scheduled run of {when} skipped: the service's avail is {} (tasks run while it is up)",
                snapshot.avail
            ));
            return false;
        }
        let verb = scheduled.verb();
        let runtime = Arc::clone(self);
        let rids = [rid.to_string()];
        tokio::spawn(async move {
            // Its result is in the log, the task's files and `events`.
            let _ = runtime
                .run_apart(verb, &rids, &run.nodename, run.limit, Trigger::Slot(slot))
                .await;
        });
        true
    }
}

/// What a scheduled run needs.
#[derive(Clone)]
struct Run {
    limit: Duration,
    nodename: String,
}

fn scheduled_of<'a>(
    loaded: &'a LoadedService,
    rid: &str,
) -> Option<&'a dyn crate::drivers::Scheduled> {
    loaded
        .resources
        .iter()
        .find(|r| r.config.rid.as_str() == rid)
        .and_then(|r| r.driver.scheduled())
}

/// Run each of `rids` at its slots, until the service leaves or `loaded`
/// is replaced.
async fn follow(
    runtime: Weak<ServiceRuntime>,
    loaded: Weak<LoadedService>,
    rids: Vec<String>,
    limit: Duration,
    nodename: String,
) {
    let run = Run { limit, nodename };
    {
        let (Some(service), Some(current)) = (runtime.upgrade(), loaded.upgrade()) else {
            return;
        };
        for rid in &rids {
            catch_up(&service, &current, rid, &run);
        }
    }
    loop {
        let now = SystemTime::now();
        let next = {
            let (Some(service), Some(current)) = (runtime.upgrade(), loaded.upgrade()) else {
                return;
            };
            if service.retired.load(Ordering::SeqCst) || !Arc::ptr_eq(&service.loaded(), &current) {
                return;
            }
            let mut next: Option<SystemTime> = None;
            // The tasks whose next run changed with no run to show it.
            let mut shown_by_nobody = Vec::new();
            for rid in &rids {
                let Some(scheduled) = scheduled_of(&current, rid) else {
                    continue;
                };
                // Never a slot already handled, whatever the clock says.
                let last = scheduled.last_slot().unwrap_or(now);
                let mut due = scheduled.next_slot(last);
                if let Some(first) = due.filter(|slot| *slot <= now) {
                    // Of the slots due by now, the latest runs: the others
                    // passed while the host was suspended or the clock
                    // was stepped.
                    let latest = latest_due(scheduled, first, now);
                    due = scheduled.next_slot(latest.max(now));
                    scheduled.show_next(due);
                    if !service.slot_due(&current, rid, latest, run.clone()) {
                        shown_by_nobody.push(rid.as_str());
                    }
                } else {
                    scheduled.show_next(due);
                    shown_by_nobody.push(rid.as_str());
                }
                next = match (next, due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            // The files show the next runs (a new generation only when
            // they changed); a run shows its task's when it ends.
            if !shown_by_nobody.is_empty() {
                service
                    .refresh_only(limit, |r| shown_by_nobody.contains(&r.config.rid.as_str()))
                    .await;
            }
            next
        };
        let nap = next.map_or(LONGEST_NAP, |next| {
            next.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
                .min(LONGEST_NAP)
        });
        tokio::time::sleep(nap).await;
    }
}

/// The latest slot from `first` on that is due by `now`.
fn latest_due(
    scheduled: &dyn crate::drivers::Scheduled,
    first: SystemTime,
    now: SystemTime,
) -> SystemTime {
    let mut latest = first;
    for _ in 0..MISSED_COUNTED {
        match scheduled.next_slot(latest).filter(|slot| *slot <= now) {
            Some(slot) => latest = slot,
            None => break,
        }
    }
    latest
}

/// This daemon's first look at `rid`: the slots missed while svcfs was
/// down run once (`persistent`) or are skipped, logged either way; a task
/// never followed before starts from now.
fn catch_up(service: &Arc<ServiceRuntime>, loaded: &LoadedService, rid: &str, run: &Run) {
    let Some(scheduled) = scheduled_of(loaded, rid) else {
        return;
    };
    if !scheduled.first_follow() {
        return;
    }
    let now = SystemTime::now();
    let Some(last) = scheduled.last_slot() else {
        scheduled.claim(now);
        return;
    };
    let Some(first) = scheduled.next_slot(last).filter(|slot| *slot <= now) else {
        return;
    };
    let latest = latest_due(scheduled, first, now);
    let mut missed = 1usize;
    let mut cursor = first;
    while missed < MISSED_COUNTED && cursor < latest {
        match scheduled.next_slot(cursor) {
            Some(slot) if slot <= latest => {
                missed += 1;
                cursor = slot;
            }
            _ => break,
        }
    }
    let log = service.log.resource(rid);
    let count = if missed >= MISSED_COUNTED {
        format!("{MISSED_COUNTED} or more slots")
    } else if missed == 1 {
        "1 slot".to_string()
    } else {
        format!("{missed} slots")
    };
    if scheduled.persistent() {
        log.info(format!(
            "missed {count} while svcfs was down (the last at {}): running once now (persistent = true)",
            rfc3339_utc(latest)
        ));
        let _ = service.slot_due(loaded, rid, latest, run.clone());
    } else {
        log.info(format!(
            "missed {count} while svcfs was down (the last at {}): skipped (persistent = false)",
            rfc3339_utc(latest)
        ));
        scheduled.claim(latest);
    }
}
