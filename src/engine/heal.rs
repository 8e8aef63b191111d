//! Healing (OpenSVC v3 / systemd semantics): a resource that goes down, or
//! unhealthy, without a ctl stop is restarted up to `restart` times, after
//! `restart_delay` doubled at each try; a resource stopped through ctl is
//! user-stopped and left alone until started again; a monitored resource
//! whose restarts are spent makes the service warn and may freeze and stop
//! it (`monitor_action`). Every failure is counted in the resource's
//! ledger until a `clear`. A frozen service (ctl `freeze`, or a process
//! holding `<svc>/hold` open) is watched but nothing acts on it.
//!
//! The decisions are taken by [`ServiceRuntime::heal_pass`] after every
//! refresh (from the task that saw the change: the events watcher, the
//! reconcile, an action's end), never while an action holds the service:
//! the steps of an action are not failures. Restarts run in one healing
//! task per service, which takes the action lock like a ctl write would
//! (waiting for a running action to end instead of failing).

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use super::{Failure, Known, LoadedResource, Origin, ServiceRuntime};
use crate::actionlog::Level;
use crate::clock::{local_hms, rfc3339_utc};
use crate::config::MonitorAction;
use crate::error::{Error, Result};
use crate::model::Step;
use crate::model::{FailureLedger, Healing, ResourceState, Status, Verb};
use crate::sync::lock;

/// The longest wait between two restart tries (unless `restart_delay`
/// itself is longer).
pub const RESTART_DELAY_MAX: Duration = Duration::from_secs(30);

/// The wait before try number `tries + 1`: `base` doubled `tries` times,
/// at most [`RESTART_DELAY_MAX`] (or `base`, when it is longer).
pub fn restart_delay(base: Duration, tries: u32) -> Duration {
    let doubled = base.saturating_mul(1u32 << tries.min(16));
    doubled.min(RESTART_DELAY_MAX.max(base))
}

/// What the resource should be, as its user last said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Intent {
    /// Nothing said yet and never seen up: not svcfs's to restart.
    #[default]
    Unknown,
    /// Started through ctl, or seen up.
    Up,
    /// Stopped through ctl: never restarted until started again.
    Stopped,
}

/// What healing keeps of one resource.
#[derive(Debug, Default)]
pub(super) struct ResourceHeal {
    intent: Intent,
    /// Restart tries since the last successful ctl start or `clear`.
    tries: u32,
    /// Restarts made since the daemon started (a counter: never reset).
    restarts: u64,
    ledger: FailureLedger,
    gave_up: Option<String>,
    /// Seen up since it last failed: its next failure is a new one.
    was_up: bool,
}

impl ResourceHeal {
    /// What reads show of it.
    pub(super) fn shown(&self) -> Healing {
        Healing {
            failures: self.ledger.clone(),
            restarts: self.restarts,
            gave_up: self.gave_up.clone(),
        }
    }
}

/// Down, or running but unhealthy: what `restart` acts on.
fn is_failing(state: &ResourceState) -> bool {
    state.status == Status::Down || (state.status == Status::Warn && state.unhealthy)
}

/// The ledger's words for a resource found failing.
fn failure_text(state: &ResourceState) -> String {
    if state.status == Status::Down {
        return "went down without a ctl stop".to_string();
    }
    state
        .messages
        .iter()
        .find(|m| m.contains("unhealthy"))
        .cloned()
        .unwrap_or_else(|| "turned unhealthy".to_string())
}

impl Known {
    fn is_frozen(&self) -> bool {
        self.frozen_ctl.is_some() || !self.holders.is_empty()
    }

    /// Whether `resource` should be restarted now, and after which wait.
    fn restart_due(&self, resource: &LoadedResource) -> Option<Duration> {
        let common = &resource.config.common;
        let rid = resource.config.rid.as_str();
        if common.disable || common.restart == 0 || self.is_frozen() {
            return None;
        }
        let heal = self.heal.get(rid)?;
        let (_, state) = self.states.get(rid)?;
        (heal.intent == Intent::Up && heal.tries < common.restart && is_failing(state))
            .then(|| restart_delay(common.restart_delay, heal.tries))
    }
}

impl ServiceRuntime {
    /// An action step of the user's begins: a start says the resource
    /// should be up, a stop that it is user-stopped (marked before it
    /// runs, so that its own `die` is never restarted).
    pub(super) fn user_step_begins(&self, rid: &str, op: Step) {
        let mut known = lock(&self.known);
        let heal = known.heal.entry(rid.to_string()).or_default();
        match op {
            Step::Start => heal.intent = Intent::Up,
            Step::Stop => heal.intent = Intent::Stopped,
            Step::Verb(_) => return,
        }
        // What it was before the user acted is no baseline: a failure of
        // the step is counted by the step.
        heal.was_up = false;
    }

    /// An action step ended: a failure is counted and shown until it no
    /// longer applies; a successful ctl start resets the restart tries.
    pub(super) fn step_ended(
        &self,
        rid: &str,
        op: Step,
        origin: Origin,
        verb_word: &str,
        result: &Result<()>,
    ) {
        let mut guard = lock(&self.known);
        let known = &mut *guard;
        let epoch = known.begin_check();
        let heal = known.heal.entry(rid.to_string()).or_default();
        match result {
            Ok(()) => {
                known.failures.remove(rid);
                if origin == Origin::User && op == Step::Start {
                    heal.tries = 0;
                    heal.gave_up = None;
                    known.alerts.remove(rid);
                }
            }
            Err(e) => {
                let message = format!("{verb_word} failed: {e}");
                heal.ledger.record(message.clone(), SystemTime::now());
                let clears_on = match op {
                    Step::Stop => Status::Down,
                    Step::Start | Step::Verb(_) => Status::Up,
                };
                known.failures.insert(
                    rid.to_string(),
                    Failure {
                        message,
                        clears_on,
                        epoch,
                    },
                );
            }
        }
    }

    /// Judge the last known states: clear what being up again settles,
    /// count new failures, give up when the tries are spent, raise the
    /// monitor, and start the healing task when a restart is due.
    /// Skipped while an action runs; the action's end calls it again.
    pub(super) fn heal_pass(&self) {
        if self.is_acting() || self.retired.load(Ordering::SeqCst) {
            return;
        }
        let loaded = self.loaded();
        let mut lines: Vec<(String, Level, String)> = Vec::new();
        let mut due = false;
        let mut freezestop = None;
        let changed = {
            let mut guard = lock(&self.known);
            let known = &mut *guard;
            let frozen = known.is_frozen();
            let mut changed = false;
            for resource in &loaded.resources {
                let common = &resource.config.common;
                let rid = resource.config.rid.to_string();
                if common.disable {
                    continue;
                }
                let Some((epoch, state)) = known.states.get(&rid) else {
                    continue;
                };
                let epoch = *epoch;
                // Seen as the failed action wanted it (up: healthy, with
                // nothing to say, not "health check starting" after a start
                // that timed out), fixed by hand or by a later action: the
                // message goes; the ledger keeps it.
                let settled = |f: &Failure| {
                    epoch > f.epoch
                        && state.status == f.clears_on
                        && (f.clears_on != Status::Up || state.messages.is_empty())
                };
                if known.failures.get(&rid).is_some_and(settled) {
                    known.failures.remove(&rid);
                    changed = true;
                }
                let heal = known.heal.entry(rid.clone()).or_default();
                if state.status == Status::Up {
                    if heal.intent == Intent::Unknown {
                        heal.intent = Intent::Up;
                    }
                    heal.was_up = true;
                    changed |= heal.gave_up.take().is_some();
                    changed |= known.alerts.remove(&rid).is_some();
                    continue;
                }
                if !is_failing(state) || heal.intent != Intent::Up {
                    continue;
                }
                if std::mem::take(&mut heal.was_up) {
                    let why = failure_text(state);
                    heal.ledger.record(why.clone(), SystemTime::now());
                    lines.push((rid.clone(), Level::Warning, why));
                    changed = true;
                }
                if heal.tries < common.restart {
                    due |= !frozen;
                } else if common.restart > 0 && heal.gave_up.is_none() {
                    let message = format!("restart limit reached after {} tries", common.restart);
                    lines.push((
                        rid.clone(),
                        Level::Warning,
                        format!("{message}: left as it is (clear, or start it, to try again)"),
                    ));
                    heal.gave_up = Some(message);
                    changed = true;
                }
                let spent = common.restart == 0 || heal.gave_up.is_some() || frozen;
                if common.monitor && spent && !known.alerts.contains_key(&rid) {
                    let message = format!("monitored resource {rid} is {}", state.status);
                    lines.push((rid.clone(), Level::Warning, message.clone()));
                    known.alerts.insert(rid.clone(), message);
                    changed = true;
                    if loaded.config.defaults.monitor_action == MonitorAction::FreezeStop
                        && known.frozen_ctl.is_none()
                        && !frozen
                    {
                        known.frozen_ctl = Some(format!(
                            "frozen by monitor_action freezestop: {rid} went down at {}",
                            rfc3339_utc(SystemTime::now())
                        ));
                        freezestop = Some(rid.clone());
                    }
                }
            }
            changed
        };
        for (rid, level, line) in lines {
            let log = self.log.resource(&rid);
            match level {
                Level::Warning => log.warn(line),
                Level::Error => log.error(line),
                _ => log.info(line),
            }
        }
        if changed {
            self.publish();
        }
        if let Some(rid) = freezestop {
            self.save_freeze();
            self.spawn(move |me| async move { me.freeze_stop(&rid).await });
        }
        if due && !self.healing.swap(true, Ordering::SeqCst) {
            self.spawn(|me| async move { me.heal_loop().await });
        }
    }

    /// Run `task` on the tokio runtime with an owned handle on this
    /// runtime; nothing runs outside one (a test without a runtime).
    fn spawn<F, Fut>(&self, task: F)
    where
        F: FnOnce(std::sync::Arc<ServiceRuntime>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (Some(me), Ok(handle)) = (self.me.upgrade(), tokio::runtime::Handle::try_current())
        else {
            self.healing.store(false, Ordering::SeqCst);
            return;
        };
        handle.spawn(task(me));
    }

    /// The first resource, in start order, whose restart is due.
    fn next_due(&self) -> Option<(String, Duration)> {
        let loaded = self.loaded();
        let known = lock(&self.known);
        loaded.resources.iter().find_map(|r| {
            known
                .restart_due(r)
                .map(|delay| (r.config.rid.to_string(), delay))
        })
    }

    /// The healing task: restart what is due, one resource at a time,
    /// each after its delay, until nothing is.
    async fn heal_loop(&self) {
        loop {
            let Some((rid, delay)) = self.next_due() else {
                self.healing.store(false, Ordering::SeqCst);
                // A pass may have found work while this loop was ending.
                if self.next_due().is_some() && !self.healing.swap(true, Ordering::SeqCst) {
                    continue;
                }
                return;
            };
            tokio::time::sleep(delay).await;
            self.restart_one(&rid).await;
        }
    }

    async fn restart_one(&self, rid: &str) {
        let loaded = self.loaded();
        let Some(resource) = loaded
            .resources
            .iter()
            .find(|r| r.config.rid.as_str() == rid)
        else {
            return;
        };
        let limit = *lock(&self.status_limit);
        let guard = self.action.lock().await;
        // The service left the tree while this waited: its resources are
        // left as they are.
        if self.retired.load(Ordering::SeqCst) {
            return;
        }
        *lock(&self.running_action) = Some(format!(
            "restart of {rid} by svcfs (since {})",
            local_hms(SystemTime::now())
        ));
        // What the wait (and a ctl action that ran meanwhile) left.
        self.refresh_resource(resource, limit).await;
        let decided = {
            let mut known = lock(&self.known);
            let due = known.restart_due(resource).is_some();
            let down = known
                .states
                .get(rid)
                .is_some_and(|(_, s)| s.status == Status::Down);
            let heal = known.heal.entry(rid.to_string()).or_default();
            due.then(|| {
                heal.tries += 1;
                heal.restarts += 1;
                (heal.tries, down)
            })
        };
        if let Some((try_number, down)) = decided {
            let log = self.log.resource(rid);
            let of = resource.config.common.restart;
            log.warn(format!(
                "restart try {try_number}/{of} ({})",
                if down { "down" } else { "unhealthy" }
            ));
            // An unhealthy container runs: it is stopped first.
            let verb = if down { Verb::Start } else { Verb::Restart };
            let result = match super::plan(&loaded, verb, &[rid.to_string()]) {
                Ok(plan) => self.execute(&loaded, &plan, limit, Origin::Healer).await,
                Err(e) => Err(e),
            };
            self.refresh(limit).await;
            match result {
                Ok(()) => log.info(format!("restart try {try_number}/{of} done")),
                Err(e) => log.error(format!("restart try {try_number}/{of} failed: {e}")),
            }
        }
        *lock(&self.running_action) = None;
        drop(guard);
        self.heal_pass();
    }

    /// `monitor_action = freezestop`: the service is frozen already; stop
    /// it like a ctl stop would (its resources are user-stopped).
    async fn freeze_stop(&self, rid: &str) {
        let loaded = self.loaded();
        let limit = *lock(&self.status_limit);
        let guard = self.action.lock().await;
        *lock(&self.running_action) = Some(format!(
            "monitor_action freezestop (since {})",
            local_hms(SystemTime::now())
        ));
        self.log.service_line(
            Level::Warning,
            &format!(
                "monitor_action freezestop: {rid} went down: the service is frozen, stopping it"
            ),
        );
        let result = match super::plan(&loaded, Verb::Stop, &[]) {
            Ok(plan) => self.execute(&loaded, &plan, limit, Origin::User).await,
            Err(e) => Err(e),
        };
        self.refresh(limit).await;
        match result {
            Ok(()) => self
                .log
                .service_line(Level::Info, "monitor_action freezestop: service stopped"),
            Err(e) => self.log.service_line(
                Level::Error,
                &format!("monitor_action freezestop: stop failed: {e}"),
            ),
        }
        *lock(&self.running_action) = None;
        drop(guard);
        self.heal_pass();
    }

    /// `clear`, `freeze` and `thaw`: what the engine keeps, no resource
    /// touched (no action lock needed).
    pub(super) fn bookkeeping(&self, verb: Verb, rids: &[String]) -> Result<()> {
        let result = match verb {
            Verb::Clear => self.clear(rids),
            _ if !rids.is_empty() => Err(Error::invalid(format!(
                "{} acts on the whole service: it takes no --rid",
                verb.as_str()
            ))),
            Verb::Freeze => {
                self.freeze();
                Ok(())
            }
            _ => {
                self.thaw();
                Ok(())
            }
        };
        result.inspect_err(|e| {
            self.log
                .service_line(Level::Error, &format!("{}: {e}", verb.as_str()))
        })
    }

    /// Reset the ledgers, restart tries, user-stopped marks and stale
    /// messages of `rids` (all when empty), like `crm_resource --cleanup`.
    fn clear(&self, rids: &[String]) -> Result<()> {
        let loaded = self.loaded();
        let all: Vec<String> = loaded
            .resources
            .iter()
            .map(|r| r.config.rid.to_string())
            .collect();
        if let Some(unknown) = rids.iter().find(|r| !all.contains(r)) {
            return Err(Error::invalid(format!(
                "no resource {unknown} in {} (resources: {})",
                self.name,
                all.join(", ")
            )));
        }
        let selected = if rids.is_empty() { &all[..] } else { rids };
        {
            let mut known = lock(&self.known);
            for rid in selected {
                known.failures.remove(rid);
                known.alerts.remove(rid);
                let heal = known.heal.entry(rid.clone()).or_default();
                heal.ledger = FailureLedger::default();
                heal.tries = 0;
                heal.gave_up = None;
                if heal.intent == Intent::Stopped {
                    heal.intent = Intent::Unknown;
                }
            }
        }
        for rid in selected {
            self.log
                .resource(rid)
                .info("clear: failures, restart tries and user-stopped mark reset");
        }
        self.publish();
        self.heal_pass();
        Ok(())
    }

    /// Whether nothing may act on the service automatically.
    pub fn is_frozen(&self) -> bool {
        lock(&self.known).is_frozen()
    }

    /// The service left the tree: nothing heals it any more.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
    }

    fn freeze(&self) {
        let fresh = {
            let mut known = lock(&self.known);
            let fresh = known.frozen_ctl.is_none();
            if fresh {
                known.frozen_ctl = Some(format!(
                    "frozen through ctl at {}",
                    rfc3339_utc(SystemTime::now())
                ));
            }
            fresh
        };
        if fresh {
            self.save_freeze();
        }
        self.log.service_line(
            Level::Info,
            "freeze: monitoring goes on, nothing acts automatically until thaw",
        );
    }

    fn thaw(&self) {
        let frozen = {
            let mut known = lock(&self.known);
            known.frozen_ctl = None;
            known.frozen()
        };
        self.save_freeze();
        if frozen.is_frozen() {
            self.log.service_line(
                Level::Info,
                &format!("thaw: still frozen ({})", frozen.reasons().join("; ")),
            );
        } else {
            self.log
                .service_line(Level::Info, "thaw: the service is thawed");
        }
        self.heal_pass();
    }

    /// `<svc>/hold` was opened for writing by `pid`. Called from a FUSE
    /// handler: the holder counts at once, but what shows it (a new
    /// generation, whose invalidations the kernel may only serve once the
    /// handler replied) is published from a task.
    pub fn hold_opened(&self, fh: u64, pid: u32) {
        lock(&self.known).holders.insert(fh, pid);
        self.off_handler(move |me| {
            me.log.service_line(
                Level::Info,
                &format!("hold: opened by pid {pid}: the service is frozen while it is open"),
            );
        });
    }

    /// A handle of `<svc>/hold` went away (closed, or its process died);
    /// from a FUSE handler, like [`ServiceRuntime::hold_opened`].
    pub fn hold_released(&self, fh: u64) {
        let Some(pid) = lock(&self.known).holders.remove(&fh) else {
            return;
        };
        self.off_handler(move |me| {
            let frozen = lock(&me.known).frozen();
            let now = if frozen.is_frozen() {
                format!("still frozen ({})", frozen.reasons().join("; "))
            } else {
                "the service is thawed".to_string()
            };
            me.log
                .service_line(Level::Info, &format!("hold: released by pid {pid}: {now}"));
            me.heal_pass();
        });
    }

    /// Run `work` on the tokio runtime (inline without one: tests).
    fn off_handler(&self, work: impl FnOnce(&ServiceRuntime) + Send + 'static) {
        match (self.me.upgrade(), tokio::runtime::Handle::try_current()) {
            (Some(me), Ok(handle)) => {
                handle.spawn(async move { work(&me) });
            }
            _ => work(self),
        }
    }

    /// Keep the ctl freeze in `path` across daemon restarts, and take the
    /// one a previous daemon left there.
    pub fn keep_freeze_in(&self, path: std::path::PathBuf) {
        let kept = std::fs::read_to_string(&path).ok();
        *lock(&self.freeze_file) = Some(path);
        if let Some(reason) = kept {
            let reason = reason.trim();
            let reason = if reason.is_empty() {
                "frozen through ctl".to_string()
            } else {
                reason.to_string()
            };
            lock(&self.known).frozen_ctl = Some(reason.clone());
            self.log.service_line(
                Level::Info,
                &format!("still {reason} (kept across the daemon's restart)"),
            );
        }
    }

    fn save_freeze(&self) {
        let Some(path) = lock(&self.freeze_file).clone() else {
            return;
        };
        let reason = lock(&self.known).frozen_ctl.clone();
        let saved = match reason {
            Some(reason) => path
                .parent()
                .map_or(Ok(()), crate::vardir::create_dir)
                .and_then(|()| crate::vardir::write(&path, format!("{reason}\n").as_bytes())),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        };
        if let Err(e) = saved {
            self.log.service_line(
                Level::Warning,
                &format!(
                    "cannot keep the freeze in {}: {e} (it ends with the daemon)",
                    path.display()
                ),
            );
        }
    }
}
