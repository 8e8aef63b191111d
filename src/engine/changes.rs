//! What changed, as JSON lines for the `events` files: status transitions
//! of services and resources, derived from each publication's before and
//! after trees (so a line says exactly what the `status` files now say),
//! and the begin and end of every action.
//!
//! Each reader (an open `events` file) has a [`Feed`] of its own,
//! bounded: sending never waits for a reader, a slow reader loses lines
//! without holding up the publisher or the other readers, and is told how
//! many it lost with one `{"lost": N}` line where the gap is.

use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use serde::Serialize;

use super::TreeObserver;
use crate::clock::rfc3339_utc_millis;
pub use crate::feed::Feed;
use crate::render::{FileNode, ServiceTree};
use crate::sync::lock;

/// Lines a reader may fall behind by before it loses some.
pub const FEED_LINES: usize = 1024;

/// A reader's feed, with the service it follows (all when `None`).
type Reader = (Option<Arc<str>>, Weak<Feed>);

/// Where change lines are sent; cloned into everything that sends.
#[derive(Clone, Default)]
pub struct ChangeBus {
    feeds: Arc<Mutex<Vec<Reader>>>,
}

/// The line that tells an `events` reader how many lines it lost.
fn lost_line(lost: u64) -> String {
    format!("{{\"lost\": {lost}}}")
}

impl ChangeBus {
    /// A new reader of the changes of `service` (of every service when
    /// `None`); `wake` is called, outside any lock, after each line queued.
    pub fn subscribe(
        &self,
        service: Option<&str>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Arc<Feed> {
        let feed = Feed::new(FEED_LINES, lost_line, wake);
        let mut feeds = lock(&self.feeds);
        feeds.retain(|(_, f)| f.strong_count() > 0);
        feeds.push((service.map(Into::into), Arc::downgrade(&feed)));
        feed
    }

    /// How many readers follow.
    pub fn readers(&self) -> usize {
        lock(&self.feeds)
            .iter()
            .filter(|(_, f)| f.strong_count() > 0)
            .count()
    }

    /// The live readers of `service`'s changes.
    fn feeds_of(&self, service: &str) -> Vec<Arc<Feed>> {
        let mut feeds = lock(&self.feeds);
        feeds.retain(|(_, f)| f.strong_count() > 0);
        feeds
            .iter()
            .filter(|(s, _)| s.as_deref().is_none_or(|s| s == service))
            .filter_map(|(_, f)| f.upgrade())
            .collect()
    }

    fn send_to(&self, feeds: Vec<Arc<Feed>>, lines: &[String]) {
        if lines.is_empty() || feeds.is_empty() {
            return;
        }
        let lines: Vec<Arc<str>> = lines.iter().map(|l| l.as_str().into()).collect();
        for feed in feeds {
            feed.push(&lines);
        }
    }

    /// An action began on `service` (`rid` when it names one resource).
    pub fn action_began(&self, service: &str, rid: Option<&str>, action: &str) {
        let feeds = self.feeds_of(service);
        if feeds.is_empty() {
            return;
        }
        let line = action_line(SystemTime::now(), service, rid, action, "begin", None, "");
        self.send_to(feeds, &[line]);
    }

    /// An action ended, with its error if it failed.
    pub fn action_ended(
        &self,
        service: &str,
        rid: Option<&str>,
        action: &str,
        error: Option<&str>,
    ) {
        let feeds = self.feeds_of(service);
        if feeds.is_empty() {
            return;
        }
        let result = if error.is_some() { "failed" } else { "ok" };
        let line = action_line(
            SystemTime::now(),
            service,
            rid,
            action,
            "end",
            Some(result),
            error.unwrap_or(""),
        );
        self.send_to(feeds, &[line]);
    }
}

impl TreeObserver for ChangeBus {
    fn published(&self, before: Option<&ServiceTree>, after: Option<&ServiceTree>) {
        // Nobody follows this service (the usual case): nothing to render.
        if let Some(service) = after.or(before).map(|t| t.name.clone()) {
            let feeds = self.feeds_of(&service);
            if !feeds.is_empty() {
                self.send_to(feeds, &transitions(before, after));
            }
        }
    }
}

#[derive(Serialize)]
struct Transition<'a> {
    time: String,
    service: &'a str,
    rid: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    message: String,
}

#[derive(Serialize)]
struct Action<'a> {
    time: String,
    service: &'a str,
    rid: Option<&'a str>,
    action: &'a str,
    phase: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a str>,
    message: &'a str,
}

fn action_line(
    time: SystemTime,
    service: &str,
    rid: Option<&str>,
    action: &str,
    phase: &str,
    result: Option<&str>,
    message: &str,
) -> String {
    serde_json::to_string(&Action {
        time: rfc3339_utc_millis(time),
        service,
        rid,
        action,
        phase,
        result,
        message,
    })
    .unwrap_or_default()
}

/// The word a `status` file holds.
fn word(file: Option<&FileNode>) -> Option<&str> {
    file.and_then(|f| std::str::from_utf8(&f.content).ok())
        .map(str::trim_end)
}

/// The `# ` lines of a `messages` file, joined.
fn messages(file: Option<&FileNode>) -> String {
    let text = file
        .and_then(|f| std::str::from_utf8(&f.content).ok())
        .unwrap_or("");
    text.lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line per status that differs between two generations of a service
/// (the service's own first, then its resources in display order); a
/// service or resource that joins comes `from` null, one that leaves goes
/// `to` null.
pub fn transitions(before: Option<&ServiceTree>, after: Option<&ServiceTree>) -> Vec<String> {
    let Some(service) = after.or(before).map(|t| &*t.name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut line = |rid: Option<&str>,
                    from: Option<&FileNode>,
                    to: Option<&FileNode>,
                    said: Option<&FileNode>| {
        let (from_word, to_word) = (word(from), word(to));
        if from_word == to_word {
            return;
        }
        let time = to.or(from).map_or_else(SystemTime::now, |f| f.mtime);
        let transition = Transition {
            time: rfc3339_utc_millis(time),
            service,
            rid,
            from: from_word,
            to: to_word,
            message: messages(said),
        };
        out.push(serde_json::to_string(&transition).unwrap_or_default());
    };
    let file = |t: Option<&ServiceTree>, name: &str| t.and_then(|t| t.file(name)).cloned();
    line(
        None,
        file(before, "status").as_ref(),
        file(after, "status").as_ref(),
        file(after.or(before), "messages").as_ref(),
    );
    let resource_file = |t: Option<&ServiceTree>, rid: &str, name: &str| {
        t.and_then(|t| t.resource(rid))
            .and_then(|r| r.file(name))
            .cloned()
    };
    let rids = after
        .into_iter()
        .chain(before)
        .flat_map(|t| t.resources.iter().map(|r| r.rid.clone()));
    let mut seen: Vec<Arc<str>> = Vec::new();
    for rid in rids {
        if seen.contains(&rid) {
            continue;
        }
        seen.push(rid.clone());
        let said =
            resource_file(after, &rid, "messages").or(resource_file(before, &rid, "messages"));
        line(
            Some(&rid),
            resource_file(before, &rid, "status").as_ref(),
            resource_file(after, &rid, "status").as_ref(),
            said.as_ref(),
        );
    }
    out
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
