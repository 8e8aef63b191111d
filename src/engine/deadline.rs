//! The engine's deadline on one action step: a safety net above the
//! drivers' own bounds. Every driver bounds each backend call it makes,
//! but a driver that misses one (a bug, a wait nobody bounded) must not
//! hold its service — and the service's action lock — forever: past the
//! deadline the step is cancelled and fails with ETIMEDOUT naming the rid.
//!
//! The deadline is the longest the step can legitimately take by the
//! drivers' own bounds, from the resource's settings where they exist
//! (a container's `start_timeout` and `stop_timeout`), plus a margin for
//! the calls around them; so it only ever fires when a driver misbehaves.

use std::time::Duration;

use crate::config::{ResourceConfig, ResourceSpec};

/// Room for the calls around the long waits (inspects, renames, removals,
/// mount table reads), on a loaded host.
pub const MARGIN: Duration = Duration::from_secs(60);

/// `start`, `stop`, `rollback` of a private docker daemon: 60 s to answer,
/// or 30 s of grace, 5 s after SIGKILL and 10 s for its containerd.
const DOCKERD: Duration = Duration::from_secs(60);
/// An address: resolve, netlink, one ping and one arping, 5 s each.
const IP: Duration = Duration::from_secs(30);
/// A volume group: up to five LVM commands of 30 s each.
const VG: Duration = Duration::from_secs(150);
/// A filesystem: `fsck -p` (600 s) and `mount` (120 s); or up to five
/// `umount` of 120 s with the processes' grace period in between.
const FS: Duration = Duration::from_secs(720);
/// What a container's stop may add to its grace period (the driver's
/// slack after `docker stop`, then `docker kill`).
const CONTAINER_STOP_SLACK: Duration = Duration::from_secs(40);

/// What a step does, as far as its deadline is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// An extra command (`rollback`): a stop and a start.
    Extra,
}

/// The engine's deadline for one step on `resource`.
pub fn step_deadline(resource: &ResourceConfig, step: StepKind) -> Duration {
    let own = match &resource.spec {
        // An invalid resource refuses at once.
        Err(_) => Duration::ZERO,
        Ok(ResourceSpec::Container(c)) => {
            let stop = c.stop_timeout + CONTAINER_STOP_SLACK;
            match step {
                // A start may first stop a container that drifted.
                StepKind::Start => c.start_timeout + stop,
                StepKind::Stop => stop,
                StepKind::Extra => c.start_timeout + stop * 2,
            }
        }
        Ok(ResourceSpec::Dockerd(_)) => DOCKERD,
        Ok(ResourceSpec::Ip(_)) => IP,
        Ok(ResourceSpec::Vg(_)) => VG,
        Ok(ResourceSpec::Fs(_)) => FS,
    };
    own + MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service;
    use std::path::Path;

    fn resource(text: &str) -> ResourceConfig {
        parse_service("svc", Path::new("/x/svc.env"), text)
            .resources
            .remove(0)
    }

    #[test]
    fn a_container_s_deadline_follows_its_own_timeouts() {
        let c = resource("[container#1]\nrun_image = a\nstart_timeout = 100\nstop_timeout = 20\n");
        let s = Duration::from_secs;
        assert_eq!(step_deadline(&c, StepKind::Stop), s(20 + 40 + 60));
        assert_eq!(step_deadline(&c, StepKind::Start), s(100 + 60 + 60));
        assert_eq!(step_deadline(&c, StepKind::Extra), s(100 + 120 + 60));
    }

    #[test]
    fn host_resources_get_their_drivers_bounds_and_the_margin() {
        let fs = resource("[fs#1]\ndev = /dev/x\nmnt = /m\ntype = ext4\n");
        assert_eq!(step_deadline(&fs, StepKind::Start), FS + MARGIN);
        let vg = resource("[vg#1]\nvgname = v\n");
        assert!(step_deadline(&vg, StepKind::Stop) > VG);
        let invalid = resource("[container#1]\n");
        assert_eq!(step_deadline(&invalid, StepKind::Start), MARGIN);
    }
}
