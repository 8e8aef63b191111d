//! Who hears of every published generation of a service's files: the
//! filesystem, which tells the kernel what to drop from its caches. The
//! engine publishes without knowing who listens.

use std::sync::{Arc, RwLock};

use crate::render::ServiceTree;
use crate::sync::{read, write};

/// Told of each publication, in order per service, after the new tree is
/// what reads see. `before` is `None` for a service that joins the tree,
/// `after` is `None` for one that leaves it.
pub trait TreeObserver: Send + Sync {
    /// A service's files went from `before` to `after`.
    fn published(&self, before: Option<&ServiceTree>, after: Option<&ServiceTree>);
}

/// The observer slot shared by the engine and every service runtime.
#[derive(Clone, Default)]
pub struct Observers(Arc<RwLock<Option<Arc<dyn TreeObserver>>>>);

impl Observers {
    /// Tell `observer` of every publication from now on.
    pub fn set(&self, observer: Arc<dyn TreeObserver>) {
        *write(&self.0) = Some(observer);
    }

    /// Tell the observer, if any, of one publication.
    pub fn published(&self, before: Option<&ServiceTree>, after: Option<&ServiceTree>) {
        let observer = read(&self.0).clone();
        if let Some(observer) = observer {
            observer.published(before, after);
        }
    }
}
