//! Who hears of every published generation of a service's files: the
//! filesystem, which tells the kernel what to drop from its caches, then
//! the change bus, which turns status transitions into event lines (in
//! that order: a reader woken by an event reads the new bytes). The
//! engine publishes without knowing who listens.

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
#[derive(Clone, Default)]
pub struct Observers {
    slot: Arc<RwLock<Option<Arc<dyn TreeObserver>>>>,
    changes: ChangeBus,
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

    /// Where change lines go (transitions, actions).
    pub fn changes(&self) -> &ChangeBus {
        &self.changes
    }
}
