//! The core's live files: bytes computed at each open from what a
//! resource's live view reads (a cgroup file, docker's log file), the
//! sums of resource use over a service, and the root `metrics` (the
//! state's series, kept with the trees, then every resource's use read
//! now). They are served with direct I/O, `stat` size 0 and attributes
//! the kernel does not keep, like /proc's files; opening one is the
//! only time its source is read.

use std::sync::Arc;

use super::{Core, LiveFile};
use crate::feed::Feed;
use crate::model::usage::{self, Counter, STATS_FILE};
use crate::model::{LiveRef, LiveView};
use crate::render::metrics::{usage_text, UsageSeries};

impl Core {
    /// The bytes of `file` now, and for `metrics` the state's series
    /// they begin with (what poll(2) compares).
    pub(super) fn live_bytes(&self, file: &LiveFile) -> (Arc<[u8]>, Option<Arc<[u8]>>) {
        match file {
            LiveFile::Resource(live, name) => (resource_bytes(live.view(), name).into(), None),
            LiveFile::ServiceUsage(tree, name) => {
                (usage_bytes(name, |c| tree.usage(c)).into(), None)
            }
            LiveFile::Metrics => {
                let state = self.metrics_file().content;
                let trees: Vec<_> = self
                    .source
                    .service_names()
                    .iter()
                    .filter_map(|name| self.source.service_tree(name))
                    .collect();
                let series: Vec<UsageSeries<'_>> = trees
                    .iter()
                    .flat_map(|tree| {
                        tree.resources.iter().filter_map(|r| {
                            let view = r.live.as_ref()?.view();
                            view.has_usage().then_some(UsageSeries {
                                service: &tree.name,
                                rid: &r.rid,
                                view,
                            })
                        })
                    })
                    .collect();
                let usage = usage_text(&series);
                if usage.is_empty() {
                    return (Arc::clone(&state), Some(state));
                }
                let mut bytes = Vec::with_capacity(state.len() + usage.len());
                bytes.extend_from_slice(&state);
                bytes.extend_from_slice(usage.as_bytes());
                (bytes.into(), Some(state))
            }
        }
    }

    /// A new reader of stream `name` of `live` for handle `fh`, whose
    /// lines wake its parked reads and pollers.
    pub(super) fn follow(&self, fh: u64, live: &LiveRef, name: &str) -> Option<Arc<Feed>> {
        let (wake, slot) = self.feed_wake(fh);
        let feed = live.view().follow(name, Box::new(wake))?;
        let _ = slot.set(Arc::downgrade(&feed));
        Some(feed)
    }
}

/// A file of a resource's live view: its own, or one of resource use.
fn resource_bytes(view: &dyn LiveView, name: &str) -> Vec<u8> {
    if view.files().contains(&name) {
        return view.read(name).unwrap_or_default();
    }
    usage_bytes(name, |c| view.usage(c))
}

/// A file of resource use from `amount`: a counter's one value, or
/// `stats`.
fn usage_bytes(name: &str, amount: impl Fn(Counter) -> Option<usage::Amount>) -> Vec<u8> {
    match Counter::from_file(name) {
        Some(counter) => usage::one_value(counter, amount(counter)),
        None if name == STATS_FILE => usage::stats(amount),
        None => Vec::new(),
    }
}
