//! What a kind of resource declares, in one place: its [`KindSchema`]
//! (section type, keywords, settings, ranks, verbs, label) and its driver.
//! Each kind's module has one `MANIFEST`; the registry lists them.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::{Driver, DriverContext};
use crate::config::{KindSchema, Spec};
use crate::docker::DockerApi;
use crate::model::Rid;

/// What a kind whose resources outlive their service's declaration (a
/// network svcfs created) removes from a docker daemon once nothing
/// declares them: given the daemon, the settings of every resource of the
/// kind declared on it and this daemon's var dir (what it created carries
/// it: see `docker::naming::LABEL_VAR_DIR`), it returns what it did, one
/// line each.
pub type Sweeper = fn(
    Arc<dyn DockerApi>,
    Vec<Arc<dyn Spec>>,
    std::path::PathBuf,
) -> BoxFuture<'static, Vec<String>>;

/// A kind of resource, whole.
#[derive(Debug)]
pub struct Manifest {
    /// How its sections read and where its resources stand.
    pub schema: KindSchema,
    /// Its driver, for a resource whose settings its schema built.
    pub driver: fn(&DriverContext, &Rid, &dyn Spec) -> Arc<dyn Driver>,
    /// Its clean-up of what no service declares any more, if it has one
    /// (the engine runs it after each change of the config directory).
    pub sweep: Option<Sweeper>,
}

/// The settings a kind's schema built, as the concrete type its driver
/// takes. The registry pairs every schema with its own kind's driver, so
/// a mismatch is a bug in svcfs, not bad input.
pub fn spec_of<T: 'static>(spec: &dyn Spec) -> &T {
    spec.as_any()
        .downcast_ref()
        .expect("a kind's driver is given the settings its own schema built")
}

/// `impl Spec` for the settings of a kind whose every step has the same
/// deadline: the longest its driver's own bounds allow.
macro_rules! spec_with_deadline {
    ($spec:ty, $deadline:expr) => {
        impl $crate::config::Spec for $spec {
            fn deadline(&self, _step: $crate::model::Step) -> std::time::Duration {
                $deadline
            }

            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
        }
    };
}
pub(crate) use spec_with_deadline;
