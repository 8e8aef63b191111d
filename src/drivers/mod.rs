//! Resource drivers: one per resource type, each answering `status`,
//! `start` and `stop` behind the [`Driver`] trait. Drivers talk to backends
//! (docker, LVM, mount, netlink); they know nothing of FUSE or inodes.

pub mod container;
pub mod dockerd;
#[cfg(test)]
pub mod fake;
pub mod fs;
mod invalid;
pub mod ip;
pub mod mounts;
pub mod shared;
pub mod vg;

use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;

use crate::actionlog::ResourceLog;
use crate::config::{ResourceConfig, ResourceSpec};
use crate::docker::DockerApi;
use crate::error::{Error, Result};
use crate::host::CommandRunner;
use crate::model::{LiveView, ResourceKind, ResourceState};
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

    /// Commands beyond start/stop/restart this driver accepts on its `ctl`.
    fn extra_commands(&self) -> &'static [&'static str] {
        &[]
    }

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

    /// Run one of [`Driver::extra_commands`].
    async fn run_extra(&self, command: &str, _log: &ResourceLog) -> Result<()> {
        Err(Error::unsupported(format!(
            "{command} does not apply to this resource type"
        )))
    }
}

/// What drivers of one service share.
#[derive(Clone)]
pub struct DriverContext {
    /// The service name.
    pub service: String,
    /// svcfs's state directory (`<var-dir>`).
    pub var_dir: PathBuf,
    /// This node's name.
    pub nodename: String,
    /// The docker daemon that serves this service's containers.
    pub docker: Arc<dyn DockerApi>,
    /// Runs host commands (mount, vgchange, ...).
    pub runner: Arc<dyn CommandRunner>,
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

/// The driver for one configured resource; invalid resources get a driver
/// that reports why and refuses to act.
pub fn build(ctx: &DriverContext, resource: &ResourceConfig) -> Arc<dyn Driver> {
    match &resource.spec {
        Err(reason) => {
            let extra = match resource.kind() {
                Some(ResourceKind::Container) => container::EXTRA_COMMANDS,
                _ => &[],
            };
            Arc::new(
                InvalidDriver::new(reason.clone(), fallback_label(resource))
                    .with_verbs_of_its_type(extra),
            )
        }
        Ok(ResourceSpec::Container(spec)) => Arc::new(container::ContainerDriver::new(
            ctx,
            resource.rid.clone(),
            spec.clone(),
        )),
        Ok(ResourceSpec::Dockerd(spec)) => Arc::new(dockerd::DockerdDriver::new(ctx, spec.clone())),
        Ok(ResourceSpec::Ip(spec)) => {
            Arc::new(ip::IpDriver::new(ctx, resource.rid.clone(), spec.clone()))
        }
        Ok(ResourceSpec::Vg(spec)) => {
            Arc::new(vg::VgDriver::new(ctx, resource.rid.clone(), spec.clone()))
        }
        Ok(ResourceSpec::Fs(spec)) => {
            Arc::new(fs::FsDriver::new(ctx, resource.rid.clone(), spec.clone()))
        }
    }
}

/// A label for resources whose driver cannot say more: the first keyword
/// that identifies the resource.
fn fallback_label(resource: &ResourceConfig) -> String {
    ["run_image", "vgname", "ipname", "dev", "docker_data_dir"]
        .iter()
        .find_map(|name| {
            resource
                .keywords
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default()
}
