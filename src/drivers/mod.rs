//! The kinds of resource: one module per kind, each with its manifest
//! (section type, keywords, settings, ranks, deadlines, verbs: see
//! [`manifest`]) and its driver answering `status`, `start` and `stop`
//! behind the [`Driver`] trait; the [`registry`] lists them. Drivers talk
//! to backends (docker, LVM, mount, netlink); they know nothing of FUSE or
//! inodes.

#[cfg(test)]
pub mod fake;
mod invalid;
pub mod manifest;
pub mod mounts;
pub mod programs;
pub mod registry;
pub mod shared;

// The kinds' own modules, declared where they are listed.
pub use registry::*;

use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::actionlog::ResourceLog;
use crate::children::ChildRunner;
use crate::config::ResourceConfig;
use crate::docker::DockerApi;
use crate::error::{Error, Result};
use crate::host::CommandRunner;
use crate::model::{KindVerb, LiveView, ResourceState};
use crate::sync::lock;

pub use invalid::InvalidDriver;

/// What every resource driver does.
#[async_trait]
pub trait Driver: Send + Sync {
    /// The resource's current state. Callers bound it with a timeout; a
    /// driver reports backend trouble in the state rather than failing.
    async fn status(&self) -> ResourceState;

    /// Bring the resource up; already up is a success that logs so.
    async fn start(&self, log: &ResourceLog) -> Result<()>;

    /// Bring the resource down; already down is a success that logs so.
    async fn stop(&self, log: &ResourceLog) -> Result<()>;

    /// Whether [`Driver::prepare_start`] does anything.
    fn prepares_start(&self) -> bool {
        false
    }

    /// The part of a start that needs only what comes before this
    /// resource's run of preparing resources (see `engine::ahead`), done
    /// ahead of its turn and concurrently with the starts of that run.
    /// Best effort and silent: whatever it could not do, `start` does, and
    /// `start` logs what was done for it.
    async fn prepare_start(&self) {}

    /// The action ended before this resource's start: say what its
    /// preparation left.
    fn prepared_unused(&self, _log: &ResourceLog) {}

    /// Whether docker events keep this resource's state current, so that
    /// the periodic reconcile may skip it (but for its rare safety net).
    fn followed_by_events(&self) -> bool {
        false
    }

    /// What the resource shows live (files read at open, streams), when
    /// its kind has any; the same view for the driver's life.
    fn live(&self) -> Option<Arc<dyn LiveView>> {
        None
    }

    /// Whether its state follows its docker daemon's connection: checked
    /// again when the daemon's event stream connects or breaks (its
    /// containers, and the private daemon itself).
    fn follows_docker_connection(&self) -> bool {
        self.followed_by_events()
    }

    /// Whether its state follows the kernel's mount table: checked again
    /// at each mount table change.
    fn follows_mount_table(&self) -> bool {
        false
    }

    /// How often it is checked when its status runs something of its own
    /// (an app's check script): the engine then checks it on that
    /// schedule, spread over the interval, and never in the reconcile
    /// passes (see `engine::checks`).
    fn own_checks(&self) -> Option<Duration> {
        None
    }

    /// The bound on one status check when its own is longer than the
    /// engine's (an app's `check_timeout`): the driver then reports a
    /// check that timed out itself.
    fn status_limit(&self) -> Option<Duration> {
        None
    }

    /// Run one of the verbs its kind declares (`KindSchema::verbs`).
    async fn run_verb(&self, verb: &'static KindVerb, _log: &ResourceLog) -> Result<()> {
        Err(Error::unsupported(format!(
            "{} does not apply to this resource type",
            verb.word
        )))
    }

    /// Its schedule, when it runs by itself on one (a task): the engine's
    /// scheduler then runs its verb at each slot (`engine::schedule`).
    fn scheduled(&self) -> Option<&dyn Scheduled> {
        None
    }
}

/// What the engine's scheduler asks of a resource that runs by itself on
/// a schedule (a task). Slots are wall-clock times.
pub trait Scheduled: Send + Sync {
    /// The first slot strictly after `after`; `None` when none comes.
    fn next_slot(&self, after: SystemTime) -> Option<SystemTime>;

    /// The latest slot handled (run, skipped or missed), kept across
    /// daemon restarts; `None` when none ever was.
    fn last_slot(&self) -> Option<SystemTime>;

    /// Handle `slot`: true once, the first time it (or a later slot) is
    /// claimed; false when it was handled already — by this daemon under
    /// an earlier configuration, or by the daemon before it.
    fn claim(&self, slot: SystemTime) -> bool;

    /// Whether a slot missed while svcfs was down runs once at start.
    fn persistent(&self) -> bool;

    /// Show `next` as its next run.
    fn show_next(&self, next: Option<SystemTime>);

    /// True the first time this daemon's scheduler follows it (it then
    /// catches up with the slots missed while svcfs was down).
    fn first_follow(&self) -> bool;

    /// The verb a slot runs.
    fn verb(&self) -> &'static KindVerb;
}

/// What drivers of one service share.
#[derive(Clone)]
pub struct DriverContext {
    /// The service name.
    pub service: String,
    /// svcfs's state directory (`<var-dir>`).
    pub var_dir: PathBuf,
    /// Where service files are read from (`<config-dir>`): a service's
    /// scripts live in `<config-dir>/<svc>.d/`.
    pub config_dir: PathBuf,
    /// This node's name.
    pub nodename: String,
    /// The docker daemon that serves this service's containers.
    pub docker: Arc<dyn DockerApi>,
    /// Runs host commands (mount, vgchange, ...).
    pub runner: Arc<dyn CommandRunner>,
    /// Runs the programs the service asks for (an app's scripts, a
    /// task's command).
    pub children: Arc<dyn ChildRunner>,
    /// Host state read once for all the resources of a refresh pass.
    pub reads: Arc<shared::HostReads>,
    /// The service's other nodes, whose host tags a vg start removes (its
    /// takeover), with `--cluster` only; empty otherwise.
    pub peers: Vec<String>,
    /// What drivers hand over to the drivers that replace them.
    pub carried: Arc<Carried>,
}

/// What a resource's driver keeps across reloads of its service's file
/// (a container's runs, the readers of its output): the driver built for
/// the new configuration takes over the one its predecessor had, while
/// that one lives. Kept weakly: a resource that leaves takes it along.
#[derive(Default)]
pub struct Carried {
    kept: Mutex<HashMap<(String, String), Weak<dyn Any + Send + Sync>>>,
}

impl Carried {
    /// What the driver of `rid` of `service` had, or `make`'s.
    pub fn take_or<T: Any + Send + Sync>(
        &self,
        service: &str,
        rid: &str,
        make: impl FnOnce() -> Arc<T>,
    ) -> Arc<T> {
        let mut kept = lock(&self.kept);
        kept.retain(|_, k| k.strong_count() > 0);
        let key = (service.to_string(), rid.to_string());
        if let Some(found) = kept
            .get(&key)
            .and_then(Weak::upgrade)
            .and_then(|any| any.downcast::<T>().ok())
        {
            return found;
        }
        let made = make();
        let any: Arc<dyn Any + Send + Sync> = made.clone();
        kept.insert(key, Arc::downgrade(&any));
        made
    }
}

#[cfg(test)]
impl DriverContext {
    /// The context of service `app` on node `n1` for a driver under test,
    /// its docker daemon `docker`, every other backend a fake.
    pub fn for_tests(docker: Arc<dyn DockerApi>) -> Self {
        DriverContext {
            carried: Arc::default(),
            service: "app".into(),
            var_dir: "/nonexistent".into(),
            config_dir: "/nonexistent".into(),
            nodename: "n1".into(),
            docker,
            runner: Arc::new(crate::host::FakeRunner::new()),
            children: Arc::new(crate::children::FakeChildren::default()),
            reads: Arc::default(),
            peers: Vec::new(),
        }
    }
}

/// The driver for one configured resource; invalid resources get a driver
/// that reports why and refuses to act.
pub fn build(ctx: &DriverContext, resource: &ResourceConfig) -> Arc<dyn Driver> {
    let manifest = resource
        .kind
        .and_then(|kind| registry::KINDS.manifest(kind.type_name));
    match (&resource.spec, manifest) {
        (Ok(spec), Some(manifest)) => (manifest.driver)(ctx, &resource.rid, spec.as_ref()),
        (Err(reason), _) => Arc::new(InvalidDriver::new(reason.clone(), fallback_label(resource))),
        // Settings come from a kind's schema: a kind it knows.
        (Ok(_), None) => Arc::new(InvalidDriver::new(
            format!("no driver for {}", resource.rid.type_name()),
            fallback_label(resource),
        )),
    }
}

/// A label for resources whose driver cannot say more: the keyword that
/// identifies a resource of its kind.
fn fallback_label(resource: &ResourceConfig) -> String {
    resource
        .kind
        .and_then(|kind| kind.label_keyword)
        .and_then(|name| {
            resource
                .keywords
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default()
}
