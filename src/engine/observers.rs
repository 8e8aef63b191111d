//! Who hears of every published generation of a service's files: the
//! filesystem, which tells the kernel what to drop from its caches, then
//! the change bus, which turns status transitions into event lines (in
//! that order: a reader woken by an event reads the new bytes). The
//! engine publishes without knowing who listens. Runtimes also tell,
//! through the same slot, of a docker daemon that did not answer a
//! status check (see `probe.rs`).

use std::sync::{Arc, RwLock};

use super::changes::ChangeBus;
use crate::render::ServiceTree;
use crate::sync::{read, write};

/// Told of each publication, in order per service, after the new tree is
/// what reads see. `before` is `None` for a service that joins the tree,
/// `after` is `None` for one that leaves it.
pub trait TreeObserver: Send + Sync {
    /// A service's files went from `before` to `after`.
    fn published(&self, before: Option<&ServiceTree>, after: Option<&ServiceTree>);
}

/// The observer slot shared by the engine and every service runtime, and
/// the change bus.
/// Told of a docker daemon (its host) that did not answer a status check.
pub type UnansweredHook = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone, Default)]
pub struct Observers {
    slot: Arc<RwLock<Option<Arc<dyn TreeObserver>>>>,
    changes: ChangeBus,
    unanswered: Arc<RwLock<Option<UnansweredHook>>>,
}

impl Observers {
    /// Tell `observer` of every publication from now on.
    pub fn set(&self, observer: Arc<dyn TreeObserver>) {
        *write(&self.slot) = Some(observer);
    }

    /// Tell the observer, if any, of one publication.
    pub fn published(&self, before: Option<&ServiceTree>, after: Option<&ServiceTree>) {
        let observer = read(&self.slot).clone();
        if let Some(observer) = observer {
            observer.published(before, after);
        }
        self.changes.published(before, after);
    }

    /// Tell `hook` of every docker daemon that does not answer a check.
    pub fn on_unanswered(&self, hook: UnansweredHook) {
        *write(&self.unanswered) = Some(hook);
    }

    /// A status check of a resource of the docker daemon at `host` got
    /// no answer.
    pub fn unanswered(&self, host: &str) {
        let hook = read(&self.unanswered).clone();
        if let Some(hook) = hook {
            hook(host);
        }
    }

    /// Where change lines go (transitions, actions).
    pub fn changes(&self) -> &ChangeBus {
        &self.changes
    }
}
