//! One service at run time: its loaded configuration and drivers, its log,
//! the lock that lets one action run at a time, the last known resource
//! states, and the snapshot and rendered tree reads are served from.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;

use super::ahead::Ahead;
use super::deadline::step_deadline;
use super::snapshot::{build_snapshot, KnownStates};
use super::Observers;
use crate::actionlog::{Level, ServiceLog};
use crate::bounded::bounded;
use crate::clock;
use crate::config::{ResourceConfig, ServiceConfig};
use crate::drivers::Driver;
use crate::error::{Error, Result, UNUSABLE_SERVICE_FILE};
use crate::model::{
    ActionStats, Frozen, Healing, LiveRef, Outcome, ResourceState, ServiceSnapshot, Status, Step,
    Verb,
};
use crate::render::{service_tree, ServiceTree};
use crate::sync::{lock, read, write};

/// A resource with its driver.
pub struct LoadedResource {
    /// Its configuration.
    pub config: ResourceConfig,
    /// What acts on it.
    pub driver: Arc<dyn Driver>,
}

/// A configuration and the drivers built from it; replaced whole on reload
/// (an action keeps the one it started with).
pub struct LoadedService {
    /// The configuration.
    pub config: Arc<ServiceConfig>,
    /// Resources in start order.
    pub resources: Vec<LoadedResource>,
    /// The docker daemon that serves its containers.
    pub docker_host: String,
}

/// What the engine learnt from drivers and actions.
#[derive(Default)]
struct Known {
    /// Last state of each resource, with the epoch its check began at: a
    /// check that began earlier never overwrites one that began later
    /// (a slow periodic refresh racing an action's own check).
    states: HashMap<String, (u64, ResourceState)>,
    /// The last failed action of each resource, kept until an action on
    /// it succeeds, the resource is seen as that action wanted it, a
    /// `clear`, or the configuration changes.
    failures: HashMap<String, Failure>,
    /// The actions so far, counted for `metrics`.
    actions: Arc<ActionStats>,
    next_epoch: u64,
    /// What healing keeps of each resource (see `heal.rs`).
    heal: HashMap<String, heal::ResourceHeal>,
    /// The ctl freeze (or monitor_action's), and why.
    frozen_ctl: Option<String>,
    /// Open handles of `<svc>/hold` for writing, with their opener's pid.
    holders: BTreeMap<u64, u32>,
    /// Monitored resources that went down, with the service's message.
    alerts: BTreeMap<String, String>,
}

/// A failed action's message.
struct Failure {
    message: String,
    /// The status that shows the failure no longer applies (up after a
    /// failed start, down after a failed stop).
    clears_on: Status,
    /// Checks that began after this one see the resource after the failure.
    epoch: u64,
}

impl Known {
    fn frozen(&self) -> Frozen {
        let mut holders: Vec<u32> = self.holders.values().copied().collect();
        holders.sort_unstable();
        holders.dedup();
        Frozen {
            ctl: self.frozen_ctl.clone(),
            holders,
        }
    }

    fn begin_check(&mut self) -> u64 {
        self.next_epoch += 1;
        self.next_epoch
    }

    /// Keep `state` unless a later check already answered; true when what
    /// reads show changed.
    fn record(&mut self, rid: String, epoch: u64, state: ResourceState) -> bool {
        match self.states.get_mut(&rid) {
            Some((seen, _)) if *seen > epoch => false,
            Some((seen, known)) => {
                *seen = epoch;
                let mut state = state;
                // A check without an answer knows nothing new of what the
                // resource is: its details stay as last seen.
                if state.unanswered && state.files.is_empty() {
                    state.files = known.files.clone();
                }
                let changed = *known != state;
                *known = state;
                changed
            }
            None => {
                self.states.insert(rid, (epoch, state));
                true
            }
        }
    }
}

/// One service at run time.
pub struct ServiceRuntime {
    name: String,
    loaded: RwLock<Arc<LoadedService>>,
    log: ServiceLog,
    action: tokio::sync::Mutex<()>,
    running_action: Mutex<Option<String>>,
    known: Mutex<Known>,
    snapshot: RwLock<Arc<ServiceSnapshot>>,
    tree: RwLock<Arc<ServiceTree>>,
    /// Held from building a generation to telling the observers, so that
    /// they learn of generations in order.
    publishing: Mutex<()>,
    observers: Observers,
    refreshing: tokio::sync::Mutex<()>,
    /// The messages of a service file edit that was not loaded because it
    /// fails to parse or validate, while the last good configuration keeps
    /// serving; empty otherwise.
    rejected_edit: Mutex<Vec<String>>,
    /// The engine's deadline on each action step ([`step_deadline`];
    /// shorter in tests).
    deadline: fn(&ResourceConfig, Step) -> Duration,
    /// Itself, for the healing tasks it spawns.
    me: Weak<ServiceRuntime>,
    /// Whether a healing task runs (one per service at a time).
    healing: AtomicBool,
    /// Set when the service left the tree.
    retired: AtomicBool,
    /// The configuration (its address) whose own checks are followed
    /// (see `checks.rs`); 0 when none.
    own_checks_of: Mutex<usize>,
    /// The configuration (its address) whose schedules are followed (see
    /// `schedule.rs`); 0 when none.
    schedules_of: Mutex<usize>,
    /// The bound on status checks, as last given to a refresh (healing
    /// tasks use it).
    status_limit: Mutex<Duration>,
    /// Where a ctl freeze is kept across daemon restarts.
    freeze_file: Mutex<Option<std::path::PathBuf>>,
    /// Its placement, as the cluster last showed it (`--cluster` only).
    cluster: Mutex<Option<Arc<crate::model::ClusterShown>>>,
    /// Why the running action must end at once (a fencing node), told to
    /// the action by [`ServiceRuntime::interrupt`].
    interruption: Mutex<Option<Error>>,
    interrupted: tokio::sync::Notify,
}

/// Who runs an action: the user (ctl, autostart), whose start and stop
/// set what the resource should be, or svcfs's healing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    User,
    Healer,
}

impl ServiceRuntime {
    /// A runtime for a freshly loaded service, publishing to `observers`.
    pub fn new(loaded: LoadedService, observers: Observers) -> Arc<Self> {
        Self::with_deadline(loaded, observers, step_deadline)
    }

    fn with_deadline(
        loaded: LoadedService,
        observers: Observers,
        deadline: fn(&ResourceConfig, Step) -> Duration,
    ) -> Arc<Self> {
        let name = loaded.config.name.clone();
        let log = ServiceLog::new(&name);
        for problem in &loaded.config.problems {
            log.service_line(problem_level(problem), &problem.to_string());
        }
        let now = SystemTime::now();
        let snapshot = build_snapshot(
            &loaded.config,
            &KnownStates {
                states: &HashMap::new(),
                failures: &HashMap::new(),
                live: &live_views(&loaded),
                log: log.lines(),
                docker_host: &loaded.docker_host,
                healing: &HashMap::new(),
                alerts: &[],
                frozen: &Frozen::default(),
                rejected_edit: &[],
                actions: Arc::default(),
            },
            now,
        );
        let tree = service_tree(&snapshot, None, now);
        Arc::new_cyclic(|me: &std::sync::Weak<ServiceRuntime>| {
            // Lines logged while an action runs are part of what reads
            // show (`log`, `status.json`): each push publishes.
            let weak = me.clone();
            log.set_listener(move || {
                if let Some(runtime) = weak.upgrade() {
                    runtime.publish();
                }
            });
            ServiceRuntime {
                name,
                snapshot: RwLock::new(Arc::new(snapshot)),
                tree: RwLock::new(Arc::new(tree)),
                publishing: Mutex::new(()),
                observers,
                loaded: RwLock::new(Arc::new(loaded)),
                log,
                action: tokio::sync::Mutex::new(()),
                running_action: Mutex::new(None),
                known: Mutex::new(Known::default()),
                refreshing: tokio::sync::Mutex::new(()),
                rejected_edit: Mutex::new(Vec::new()),
                deadline,
                me: me.clone(),
                healing: AtomicBool::new(false),
                retired: AtomicBool::new(false),
                own_checks_of: Mutex::new(0),
                schedules_of: Mutex::new(0),
                status_limit: Mutex::new(Duration::from_secs(5)),
                freeze_file: Mutex::new(None),
                cluster: Mutex::new(None),
                interruption: Mutex::new(None),
                interrupted: tokio::sync::Notify::new(),
            }
        })
    }

    /// Show the service's placement in its files (`owner`, the `hb`
    /// row); publishes only when it changed.
    pub fn show_cluster(&self, shown: crate::model::ClusterShown) {
        {
            let mut current = lock(&self.cluster);
            if current.as_deref() == Some(&shown) {
                return;
            }
            *current = Some(Arc::new(shown));
        }
        self.publish();
    }

    /// Whether an action is running.
    pub fn is_acting(&self) -> bool {
        self.action.try_lock().is_err()
    }

    /// End the action that runs now, whoever started it (a user's ctl
    /// write, healing, placement), with `why` as its error: a node that
    /// fences must stop the service before its lease expires, and cannot
    /// wait for a long start or upgrade to end (EBUSY) first. What the
    /// action had done stays, as after a crash, for the next action to
    /// mend. Returns whether an action was running.
    pub fn interrupt(&self, why: Error) -> bool {
        if !self.is_acting() {
            return false;
        }
        *lock(&self.interruption) = Some(why);
        self.interrupted.notify_waiters();
        true
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The log of the service and its resources.
    pub fn log(&self) -> &ServiceLog {
        &self.log
    }

    /// The current configuration and drivers.
    pub fn loaded(&self) -> Arc<LoadedService> {
        read(&self.loaded).clone()
    }

    /// The last published snapshot.
    pub fn snapshot(&self) -> Arc<ServiceSnapshot> {
        read(&self.snapshot).clone()
    }

    /// The files of the last published snapshot, which reads are served
    /// from.
    pub fn tree(&self) -> Arc<ServiceTree> {
        read(&self.tree).clone()
    }

    /// Swap in a new configuration (file changed); states of resources
    /// that still exist are kept until the next refresh.
    pub fn replace(&self, loaded: LoadedService) {
        for problem in &loaded.config.problems {
            self.log
                .service_line(problem_level(problem), &problem.to_string());
        }
        self.log.service_line(
            Level::Info,
            &format!(
                "configuration reloaded from {}",
                loaded.config.path.display()
            ),
        );
        *write(&self.loaded) = Arc::new(loaded);
        lock(&self.rejected_edit).clear();
        // A new configuration may well fix what failed before.
        {
            let mut known = lock(&self.known);
            known.failures.clear();
            let loaded = self.loaded();
            let exists = |rid: &String| {
                loaded
                    .resources
                    .iter()
                    .any(|r| r.config.rid.as_str() == rid)
            };
            known.heal.retain(|rid, _| exists(rid));
            known.alerts.retain(|rid, _| exists(rid));
        }
        self.publish();
    }

    /// Whether a changed file `config` should be refused rather than
    /// replace what runs: it is broken and what runs is not. A service
    /// whose file never loaded cleanly takes every edit, as on first load.
    pub fn refuses(&self, config: &ServiceConfig) -> bool {
        let running = self.loaded();
        // An emptied file is a write caught between its truncate and its
        // bytes (however long the writer waits in between), not a service
        // that should lose its resources: deleting the file removes it.
        let emptied = config.text.trim().is_empty() && !running.config.resources.is_empty();
        (is_broken(config) || emptied) && !is_broken(&running.config)
    }

    /// The service file changed into `config`, which cannot be used: keep
    /// serving the configuration loaded before, and say why in `messages`
    /// and `log` (once per distinct set of errors, not at every reload).
    pub fn reject(&self, config: &ServiceConfig) {
        let mut messages = Vec::new();
        if config.untrusted {
            // Its problem may be the directory's, told once elsewhere: the
            // load error says it either way.
            messages.push(format!(
                "{} can no longer be trusted: the configuration loaded before keeps serving until root alone can change the file",
                config.path.display()
            ));
            messages.extend(config.load_error.iter().cloned());
        } else {
            messages.push(format!(
                "{} was changed but cannot be used: the last good configuration keeps serving until the file is fixed",
                config.path.display()
            ));
            messages.extend(
                config
                    .problems
                    .iter()
                    .filter(|p| p.severity == crate::config::Severity::Error)
                    .map(|p| config.locate(p).to_string()),
            );
        }
        {
            let mut rejected = lock(&self.rejected_edit);
            if *rejected == messages {
                return;
            }
            rejected.clone_from(&messages);
        }
        tracing::warn!(service = %self.name, "{}", messages.join("; "));
        self.log.service_line(Level::Warning, &messages[0]);
        for message in &messages[1..] {
            self.log.service_line(Level::Error, message);
        }
    }

    /// The service file is back to the configuration in use (a broken
    /// edit was undone): stop warning about it.
    pub fn edit_reverted(&self) {
        if std::mem::take(&mut *lock(&self.rejected_edit)).is_empty() {
            return;
        }
        self.log.service_line(
            Level::Info,
            "the service file is back to the configuration in use",
        );
    }

    /// Rebuild the snapshot from the configuration, what is known and the
    /// log, render its files and tell the observers. One publisher at a
    /// time, so that a slower one never installs an older picture over a
    /// newer one and observers see generations in order.
    fn publish(&self) {
        let _in_order = lock(&self.publishing);
        let loaded = self.loaded();
        let now = SystemTime::now();
        let rejected_edit = lock(&self.rejected_edit).clone();
        let mut snapshot = {
            let known = lock(&self.known);
            let states: HashMap<String, ResourceState> = known
                .states
                .iter()
                .map(|(rid, (_, state))| (rid.clone(), state.clone()))
                .collect();
            let failures: HashMap<String, String> = known
                .failures
                .iter()
                .map(|(rid, f)| (rid.clone(), f.message.clone()))
                .collect();
            let healing: HashMap<String, Healing> = known
                .heal
                .iter()
                .map(|(rid, h)| (rid.clone(), h.shown()))
                .collect();
            let alerts: Vec<String> = known.alerts.values().cloned().collect();
            build_snapshot(
                &loaded.config,
                &KnownStates {
                    states: &states,
                    failures: &failures,
                    live: &live_views(&loaded),
                    log: self.log.lines(),
                    docker_host: &loaded.docker_host,
                    healing: &healing,
                    alerts: &alerts,
                    frozen: &known.frozen(),
                    rejected_edit: &rejected_edit,
                    actions: Arc::clone(&known.actions),
                },
                now,
            )
        };
        snapshot.set_cluster(lock(&self.cluster).clone());
        let before = self.tree();
        let after = Arc::new(service_tree(&snapshot, Some(&before), now));
        *write(&self.snapshot) = Arc::new(snapshot);
        *write(&self.tree) = Arc::clone(&after);
        self.observers.published(Some(&before), Some(&after));
    }

    /// Ask every driver for its state (in parallel, each bounded) and
    /// publish a new snapshot.
    pub async fn refresh(&self, limit: Duration) {
        self.refresh_only(limit, |_| true).await;
    }

    /// Ask the drivers of the resources `which` selects for their state (in
    /// parallel, each bounded) and publish a new snapshot when anything
    /// changed (an idle service costs its checks, not a new generation);
    /// the others keep their last known state.
    pub async fn refresh_only(
        &self,
        limit: Duration,
        which: impl Fn(&LoadedResource) -> bool + Send + Sync,
    ) {
        *lock(&self.status_limit) = limit;
        let _one_at_a_time = self.refreshing.lock().await;
        let loaded = self.loaded();
        let selected: Vec<&LoadedResource> = loaded.resources.iter().filter(|r| which(r)).collect();
        let epoch = lock(&self.known).begin_check();
        let states = join_all(
            selected
                .iter()
                .map(|r| bounded_status(r.driver.clone(), r.config.rid.as_str(), limit)),
        )
        .await;
        let unanswered = selected
            .iter()
            .zip(&states)
            .any(|(r, state)| state.unanswered && super::refresher::concerned_by_connection(r));
        let changed = {
            let mut known = lock(&self.known);
            // Resources that left the configuration leave the states too.
            let before = known.states.len();
            known.states.retain(|rid, _| {
                loaded
                    .resources
                    .iter()
                    .any(|r| r.config.rid.as_str() == rid)
            });
            let mut changed = known.states.len() != before;
            for (resource, state) in selected.iter().zip(states) {
                changed |= known.record(resource.config.rid.to_string(), epoch, state);
            }
            changed
        };
        if changed {
            self.publish();
        }
        if unanswered {
            self.observers.unanswered(&loaded.docker_host);
        }
        self.heal_pass();
    }

    /// The container of `rid` exited (docker's `die` event): a resource
    /// that was up without a message is down now, with the same label and
    /// no message — what the next inspect says of a stopped container of
    /// the right image — so readers see it before docker answers again.
    /// Anything else waits for that inspect.
    pub fn saw_exit(&self, rid: &str) {
        let changed = {
            let mut known = lock(&self.known);
            let down = match known.states.get(rid) {
                Some((_, state)) if state.status == Status::Up && state.messages.is_empty() => {
                    let mut down = ResourceState::new(Status::Down, state.label.clone());
                    down.files = state.files.clone();
                    down
                }
                _ => return,
            };
            let epoch = known.begin_check();
            known.record(rid.to_string(), epoch, down)
        };
        if changed {
            self.publish();
        }
        self.heal_pass();
    }

    async fn refresh_resource(&self, resource: &LoadedResource, limit: Duration) {
        let unanswered = self.check_resource(resource, limit).await;
        // Always: the failure of the step just recorded shows with it.
        self.publish();
        if unanswered {
            self.observers.unanswered(&self.loaded().docker_host);
        }
    }

    /// Check `resource` and keep its state, without publishing: for a
    /// caller that logs a line right after, which publishes both. True
    /// when its docker daemon did not answer (the caller tells the
    /// observers once it published).
    async fn check_resource(&self, resource: &LoadedResource, limit: Duration) -> bool {
        let epoch = lock(&self.known).begin_check();
        let state =
            bounded_status(resource.driver.clone(), resource.config.rid.as_str(), limit).await;
        let unanswered = state.unanswered && super::refresher::concerned_by_connection(resource);
        lock(&self.known).record(resource.config.rid.to_string(), epoch, state);
        unanswered
    }

    /// Hold the action lock, or fail with EBUSY naming the running action.
    fn try_begin(&self, what: &str) -> Result<tokio::sync::MutexGuard<'_, ()>> {
        match self.action.try_lock() {
            Ok(guard) => {
                *lock(&self.running_action) = Some(format!(
                    "{what} (since {})",
                    clock::local_hms(SystemTime::now())
                ));
                Ok(guard)
            }
            Err(_) => {
                let running = lock(&self.running_action)
                    .clone()
                    .unwrap_or_else(|| "another action".into());
                Err(Error::busy(format!(
                    "{} is busy: {running} is running; retry when it ends",
                    self.name
                )))
            }
        }
    }

    /// Run a service-level command: `verb` over `rids` (empty: all that the
    /// verb covers), in order, stopping at the first non-optional failure.
    pub async fn run(
        &self,
        verb: Verb,
        rids: &[String],
        nodename: &str,
        limit: Duration,
    ) -> Result<()> {
        if verb.is_bookkeeping() {
            return self.bookkeeping(verb, rids);
        }
        if let Verb::Kind(kind_verb) = verb {
            if kind_verb.outside_lock {
                return self
                    .run_apart(kind_verb, rids, nodename, limit, apart::Trigger::Ctl)
                    .await;
            }
        }
        let what = describe(verb, rids);
        let loaded = self.loaded();
        // Refusals before anything runs are logged here; failures during
        // the run are logged by the resource that failed.
        let admitted = usable(&loaded.config)
            .and_then(|()| plan(&loaded, verb, rids))
            .and_then(|plan| check_node(&loaded.config, nodename).map(|()| plan))
            .and_then(|plan| self.try_begin(&what).map(|guard| (plan, guard)));
        let (plan, guard) = admitted.inspect_err(|e| {
            self.count_action(verb, Outcome::Refused, None);
            self.log.service_line(Level::Error, &format!("{what}: {e}"));
        })?;
        let rid = match rids {
            [rid] => Some(rid.as_str()),
            _ => None,
        };
        let changes = self.observers.changes();
        changes.action_began(&self.name, rid, &what);
        let started = std::time::Instant::now();
        let result = self.execute(&loaded, &plan, limit, Origin::User).await;
        // Resources depend on each other (containers on the private daemon,
        // nested filesystems): refresh them all before the write returns.
        self.refresh(limit).await;
        *lock(&self.running_action) = None;
        drop(guard);
        let took = started.elapsed();
        let outcome = if result.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        // Counted before the last line is logged: that line publishes.
        self.count_action(verb, outcome, Some(took));
        // What the action left is judged once it ended (the passes during
        // it are skipped: its own steps are not failures to heal).
        self.heal_pass();
        let seconds = took.as_secs_f32();
        match &result {
            Ok(()) => self
                .log
                .service_line(Level::Info, &format!("{what} done in {seconds:.1}s")),
            Err(e) => self.log.service_line(
                Level::Error,
                &format!("{what} failed after {seconds:.1}s: {e}"),
            ),
        }
        let error = result.as_ref().err().map(|e| e.message().to_string());
        changes.action_ended(&self.name, rid, &what, error.as_deref());
        result
    }

    fn count_action(&self, verb: Verb, outcome: Outcome, took: Option<Duration>) {
        Arc::make_mut(&mut lock(&self.known).actions).record(verb.as_str(), outcome, took);
    }

    async fn execute(
        &self,
        loaded: &LoadedService,
        plan: &[(usize, Step)],
        limit: Duration,
        origin: Origin,
    ) -> Result<()> {
        let mut ahead = Ahead::default();
        let result = tokio::select! {
            result = self.execute_steps(loaded, plan, limit, origin, &mut ahead) => result,
            () = self.interrupted.notified() => {
                let why = lock(&self.interruption)
                    .take()
                    .unwrap_or_else(|| Error::backend("interrupted"));
                self.log.service_line(Level::Error, &format!("interrupted: {why}"));
                Err(why)
            }
        };
        ahead.finish().await;
        result
    }
}

/// Refuse to act on a configuration that could not be loaded: EINVAL for
/// a file that does not parse, EACCES for one that others could change
/// (it was never read).
fn usable(config: &ServiceConfig) -> Result<()> {
    match &config.load_error {
        Some(error) if config.untrusted => Err(Error::access(format!(
            "the service file is not trusted: {error}"
        ))),
        Some(error) => Err(Error::invalid(format!("{UNUSABLE_SERVICE_FILE}{error}"))),
        None => Ok(()),
    }
}

/// A file that does not parse or has an error: not a configuration to
/// replace a working one with.
fn is_broken(config: &ServiceConfig) -> bool {
    config.load_error.is_some() || config.has_errors()
}

fn problem_level(problem: &crate::config::Problem) -> Level {
    match problem.severity {
        crate::config::Severity::Error => Level::Error,
        crate::config::Severity::Warning => Level::Warning,
    }
}

/// The live view of every resource whose driver has one, by rid.
fn live_views(loaded: &LoadedService) -> HashMap<String, LiveRef> {
    loaded
        .resources
        .iter()
        .filter_map(|r| Some((r.config.rid.to_string(), LiveRef(r.driver.live()?))))
        .collect()
}

async fn bounded_status(driver: Arc<dyn Driver>, rid: &str, limit: Duration) -> ResourceState {
    // A driver whose own check has a longer bound (an app's
    // check_timeout) reports that check's timeout itself.
    let limit = driver.status_limit().map_or(limit, |own| own.max(limit));
    let check = async { Ok(driver.status().await) };
    match bounded("status check", rid, limit, check).await {
        Ok(state) => state,
        Err(_) => {
            let mut state = ResourceState::new(Status::Warn, "").with_message(format!(
                "status check did not answer within {} (backend not responding)",
                crate::bounded::seconds(limit)
            ));
            state.unanswered = true;
            state
        }
    }
}

fn describe(verb: Verb, rids: &[String]) -> String {
    if rids.is_empty() {
        verb.as_str().to_string()
    } else {
        format!("{} --rid {}", verb.as_str(), rids.join(","))
    }
}

/// `EACCES` when this node is not among the service's `nodes`.
pub fn check_node(config: &ServiceConfig, nodename: &str) -> Result<()> {
    let nodes = &config.defaults.nodes;
    if nodes.is_empty() || nodes.iter().any(|n| n == nodename) {
        return Ok(());
    }
    Err(Error::access(format!(
        "this node ({nodename}) is not in the nodes of {} ({}): it may not act on it",
        config.name,
        nodes.join(" ")
    )))
}

/// Run a command on one resource (its own `ctl`).
impl ServiceRuntime {
    /// `start`, `stop`, `restart` or an extra verb on one resource.
    pub async fn run_on_resource(
        &self,
        rid: &str,
        verb: Verb,
        nodename: &str,
        limit: Duration,
    ) -> Result<()> {
        self.run(verb, &[rid.to_string()], nodename, limit).await
    }
}

#[cfg(test)]
impl ServiceRuntime {
    fn new_for_test(loaded: LoadedService) -> Arc<Self> {
        ServiceRuntime::new(loaded, Observers::default())
    }
}

#[path = "heal.rs"]
mod heal;

#[path = "checks.rs"]
mod checks;

#[path = "schedule.rs"]
mod schedule;

#[path = "apart.rs"]
mod apart;

#[path = "execute.rs"]
mod execute;

#[path = "plan.rs"]
mod planning;
use planning::plan;

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "heal_tests.rs"]
mod heal_tests;

#[cfg(test)]
#[path = "action_tests.rs"]
mod action_tests;

#[cfg(test)]
#[path = "task_tests.rs"]
mod task_tests;
