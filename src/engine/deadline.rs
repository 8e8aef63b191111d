//! The engine's deadline on one action step: a safety net above the
//! drivers' own bounds. Every driver bounds each backend call it makes,
//! but a driver that misses one (a bug, a wait nobody bounded) must not
//! hold its service — and the service's action lock — forever: past the
//! deadline the step is cancelled and fails with ETIMEDOUT naming the rid.
//!
//! The deadline is the longest the step can legitimately take by the
//! drivers' own bounds, as the resource's kind reckons it from its
//! settings (`Spec::deadline`: a container's `start_timeout` and
//! `stop_timeout`), plus a margin for the calls around them; so it only
//! ever fires when a driver misbehaves.

use std::time::Duration;

use crate::config::ResourceConfig;
use crate::model::Step;

/// Room for the calls around the long waits (inspects, renames, removals,
/// mount table reads), on a loaded host.
pub const MARGIN: Duration = Duration::from_secs(60);

/// The engine's deadline for one step on `resource`.
pub fn step_deadline(resource: &ResourceConfig, step: Step) -> Duration {
    let own = match &resource.spec {
        // An invalid resource refuses at once.
        Err(_) => Duration::ZERO,
        Ok(spec) => spec.deadline(step),
    };
    own + MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service;
    use crate::drivers::container::ROLLBACK;
    use crate::drivers::registry::KINDS;
    use std::path::Path;

    fn resource(text: &str) -> ResourceConfig {
        parse_service(&KINDS, "svc", Path::new("/x/svc.env"), text)
            .resources
            .remove(0)
    }

    #[test]
    fn a_container_s_deadline_follows_its_own_timeouts() {
        let c = resource("[container#1]\nrun_image = a\nstart_timeout = 100\nstop_timeout = 20\n");
        let s = Duration::from_secs;
        assert_eq!(step_deadline(&c, Step::Stop), s(20 + 40 + 60));
        assert_eq!(step_deadline(&c, Step::Start), s(100 + 60 + 60));
        assert_eq!(step_deadline(&c, Step::Verb(&ROLLBACK)), s(100 + 120 + 60));
    }

    #[test]
    fn host_resources_get_their_drivers_bounds_and_the_margin() {
        let s = Duration::from_secs;
        let fs = resource("[fs#1]\ndev = /dev/x\nmnt = /m\ntype = ext4\n");
        assert_eq!(step_deadline(&fs, Step::Start), s(720) + MARGIN);
        let vg = resource("[vg#1]\nvgname = v\n");
        assert!(step_deadline(&vg, Step::Stop) > s(150));
        let invalid = resource("[container#1]\n");
        assert_eq!(step_deadline(&invalid, Step::Start), MARGIN);
    }
}
