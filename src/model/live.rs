//! What a resource shows that is not kept in its state: files computed
//! at each open from a cheap local source (its resource use from its
//! cgroup, a container's recent output from docker's log file) and
//! streams that follow what it does from a reader's open on (under
//! `wait/`). A driver offers one [`LiveView`] per resource; the tree
//! lists what it offers, the filesystem reads it at open. Nothing here
//! is read, followed or polled while nobody opens the files.

use std::fmt;
use std::sync::Arc;

use super::usage::{Amount, Counter};
use crate::feed::Feed;

/// Called after each line a stream queues (wakes the reader).
pub type Wake = Box<dyn Fn() + Send + Sync>;

/// The live files and streams of one resource. Each method is called
/// when a file is opened (or listed), on a filesystem thread: what it
/// reads must be local and quick (a kernel file, a log file's tail).
pub trait LiveView: Send + Sync {
    /// Its own live files (beyond resource use), in listing order.
    fn files(&self) -> &'static [&'static str] {
        &[]
    }

    /// The bytes of its live file `name` now; `None` when it has no
    /// such file.
    fn read(&self, _name: &str) -> Option<Vec<u8>> {
        None
    }

    /// Whether it shows resource use: the counter files, `stats`, its
    /// part of the service's sums and of `metrics`.
    fn has_usage(&self) -> bool {
        false
    }

    /// What `counter` says now; `None` when unknown (it does not run).
    fn usage(&self, _counter: Counter) -> Option<Amount> {
        None
    }

    /// Its streams, the files of its `wait/` beside the status words.
    fn streams(&self) -> &'static [&'static str] {
        &[]
    }

    /// A new reader of stream `name`, from now on: lines are queued in
    /// the feed (then `wake` is called) until the feed is dropped.
    /// `None` when it has no such stream.
    fn follow(&self, _name: &str, _wake: Wake) -> Option<Arc<Feed>> {
        None
    }
}

/// A resource's live view, compared by identity: the same view across
/// generations is the same files.
#[derive(Clone)]
pub struct LiveRef(pub Arc<dyn LiveView>);

impl LiveRef {
    /// The view.
    pub fn view(&self) -> &dyn LiveView {
        &*self.0
    }
}

impl PartialEq for LiveRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LiveRef {}

impl fmt::Debug for LiveRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveRef")
            .field("files", &self.0.files())
            .field("usage", &self.0.has_usage())
            .field("streams", &self.0.streams())
            .finish()
    }
}
