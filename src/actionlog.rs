//! Action logs in the tutorial's format
//! (`11:56:19 INFO    APP.OPENSVC.COM.CONTAINER#1 <message>`), kept in bounded
//! rings per service and per resource, and mirrored to `tracing`.
//!
//! Every line gets a sequence number, so that a published state can name
//! the lines it includes ([`LogLines::seq`]) and a listener learns that the
//! log moved on (the engine publishes a new tree, so `cat log` follows an
//! action while it runs).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::clock;
use crate::model::LogLines;

/// Lines kept per service.
pub const SERVICE_LOG_LINES: usize = 1000;
/// Lines kept per resource.
pub const RESOURCE_LOG_LINES: usize = 200;

/// Severity of a log line, printed padded like OpenSVC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Progress.
    Info,
    /// Something odd that did not fail the action.
    Warning,
    /// A failure.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// Format one line: time, level padded to 7, source padded to 23, message.
pub fn format_line(time: SystemTime, level: Level, source: &str, message: &str) -> String {
    format!(
        "{} {:<7} {:<23} {}",
        clock::local_hms(time),
        level.as_str(),
        source,
        message
    )
}

#[derive(Default)]
struct Rings {
    service: VecDeque<Arc<str>>,
    resources: HashMap<String, VecDeque<Arc<str>>>,
    /// Lines pushed so far.
    seq: u64,
    /// The lines as of `seq`, built on first demand after a push.
    published: Option<Arc<LogLines>>,
    /// The resource whose lines are the last of the service's, and the
    /// `seq` its first one of them had.
    tail: Option<(String, u64)>,
    /// The folded repetition the log ends with, if any.
    fold: Option<Fold>,
}

/// Repeated successes folded into one line (see [`ServiceLog::fold`]).
struct Fold {
    rid: String,
    /// How many repetitions it stands for.
    count: u64,
    /// When the first of them began.
    first: SystemTime,
    /// Its lines at the end of the rings.
    lines: usize,
    /// `seq` after its last line.
    end: u64,
}

/// Called after lines were added (outside the log's lock).
type Listener = Arc<dyn Fn() + Send + Sync>;

/// The log of one service and of each of its resources.
#[derive(Clone)]
pub struct ServiceLog {
    service: Arc<str>,
    rings: Arc<Mutex<Rings>>,
    listener: Arc<Mutex<Option<Listener>>>,
}

impl ServiceLog {
    /// An empty log for a service.
    pub fn new(service: &str) -> Self {
        ServiceLog {
            service: service.into(),
            rings: Arc::default(),
            listener: Arc::default(),
        }
    }

    /// Call `listener` after every push of lines.
    pub fn set_listener(&self, listener: impl Fn() + Send + Sync + 'static) {
        *crate::sync::lock(&self.listener) = Some(Arc::new(listener));
    }

    /// Every line as of now, shared until the next push.
    pub fn lines(&self) -> Arc<LogLines> {
        let mut rings = self.lock();
        if let Some(lines) = &rings.published {
            return Arc::clone(lines);
        }
        let lines = Arc::new(LogLines {
            seq: rings.seq,
            service: rings.service.iter().cloned().collect(),
            resources: rings
                .resources
                .iter()
                .map(|(rid, ring)| (rid.clone(), ring.iter().cloned().collect()))
                .collect(),
        });
        rings.published = Some(Arc::clone(&lines));
        lines
    }

    /// How many lines were ever logged: what [`ServiceLog::fold`] counts
    /// from.
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// Log `last` (an info line of `rid`) to end a success that repeats
    /// (a task's scheduled runs), which then takes a few lines, not a few
    /// lines per repetition, so that the service's log — kept in memory —
    /// does not fill with them: when the lines logged since `since`,
    /// `last` included, are all `rid`'s, and the log ended with the
    /// previous repetition's lines when they began, both are replaced by
    /// one line, `summary(count, first)` (`count` repetitions, the first
    /// begun at `first`). Anything logged in between ends the repetition.
    pub fn fold(
        &self,
        rid: &str,
        since: u64,
        began: SystemTime,
        last: &str,
        summary: impl FnOnce(u64, SystemTime) -> String,
    ) {
        let source = format!("{}.{rid}", self.service).to_uppercase();
        self.push_quietly(Some(rid), Level::Info, &source, last);
        {
            let mut rings = self.lock();
            let lines = usize::try_from(rings.seq.saturating_sub(since)).unwrap_or(usize::MAX);
            let only_rid = rings
                .tail
                .as_ref()
                .is_some_and(|(tail, start)| tail == rid && *start <= since);
            if lines == 0 || !only_rid {
                rings.fold = None;
                drop(rings);
                self.tell();
                return;
            }
            let previous = rings.fold.take().filter(|f| f.rid == rid && f.end == since);
            let Some(previous) = previous else {
                // The first of a repetition: its own lines stay.
                rings.fold = Some(Fold {
                    rid: rid.to_string(),
                    count: 1,
                    first: began,
                    lines,
                    end: rings.seq,
                });
                drop(rings);
                self.tell();
                return;
            };
            let dropped = lines + previous.lines;
            let ring_len = rings.resources.get(rid).map_or(0, VecDeque::len);
            if rings.service.len() < dropped || ring_len < dropped {
                drop(rings);
                self.tell();
                return;
            }
            for _ in 0..dropped {
                rings.service.pop_back();
                if let Some(ring) = rings.resources.get_mut(rid) {
                    ring.pop_back();
                }
            }
            let count = previous.count + 1;
            let line: Arc<str> = format_line(
                SystemTime::now(),
                Level::Info,
                &source,
                &summary(count, previous.first),
            )
            .into();
            rings.service.push_back(Arc::clone(&line));
            rings
                .resources
                .entry(rid.to_string())
                .or_default()
                .push_back(line);
            let seq = rings.seq;
            rings.tail = Some((rid.to_string(), seq));
            rings.seq += 1;
            rings.fold = Some(Fold {
                rid: rid.to_string(),
                count,
                first: previous.first,
                lines: 1,
                end: rings.seq,
            });
            rings.published = None;
        }
        self.tell();
    }

    /// Tell the listener that lines were added.
    fn tell(&self) {
        let listener = crate::sync::lock(&self.listener).clone();
        if let Some(listener) = listener {
            listener();
        }
    }

    /// Log a line about the service itself.
    pub fn service_line(&self, level: Level, message: &str) {
        let source = self.service.to_uppercase();
        self.push(None, level, &source, message);
    }

    /// A logger for one resource's lines.
    pub fn resource(&self, rid: &str) -> ResourceLog {
        ResourceLog {
            log: self.clone(),
            rid: rid.to_string(),
            source: format!("{}.{}", self.service, rid).to_uppercase(),
        }
    }

    /// The service's lines (every resource's lines included), oldest first.
    pub fn service_lines(&self) -> Vec<String> {
        self.lock().service.iter().map(|l| l.to_string()).collect()
    }

    /// One resource's lines, oldest first.
    pub fn resource_lines(&self, rid: &str) -> Vec<String> {
        self.lock()
            .resources
            .get(rid)
            .map(|r| r.iter().map(|l| l.to_string()).collect())
            .unwrap_or_default()
    }

    fn push(&self, rid: Option<&str>, level: Level, source: &str, message: &str) {
        self.push_quietly(rid, level, source, message);
        self.tell();
    }

    /// Add lines without telling the listener.
    fn push_quietly(&self, rid: Option<&str>, level: Level, source: &str, message: &str) {
        let message = bounded_message(message);
        let message = message.as_ref();
        match level {
            Level::Info => tracing::info!(target: "svcfs::action", "{source} {message}"),
            Level::Warning => tracing::warn!(target: "svcfs::action", "{source} {message}"),
            Level::Error => tracing::error!(target: "svcfs::action", "{source} {message}"),
        }
        let now = SystemTime::now();
        {
            let mut rings = self.lock();
            // A multi-line message (command output) becomes several lines,
            // each with its prefix, so that `log` stays one entry per line.
            for part in message.lines() {
                let line: Arc<str> = format_line(now, level, source, part).into();
                push_bounded(&mut rings.service, Arc::clone(&line), SERVICE_LOG_LINES);
                if let Some(rid) = rid {
                    let ring = rings.resources.entry(rid.to_string()).or_default();
                    push_bounded(ring, line, RESOURCE_LOG_LINES);
                }
                let seq = rings.seq;
                match (&rings.tail, rid) {
                    (Some((tail, _)), Some(rid)) if tail == rid => {}
                    (_, Some(rid)) => rings.tail = Some((rid.to_string(), seq)),
                    (_, None) => rings.tail = None,
                }
                rings.seq += 1;
            }
            rings.published = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rings> {
        crate::sync::lock(&self.rings)
    }
}

/// The most of one message the log keeps: a rejected 2 MiB write or a
/// runaway command output must not turn `log` and `status.json` into
/// megabytes, nor the daemon's memory.
pub const MAX_MESSAGE: usize = 2048;

fn bounded_message(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_MESSAGE {
        return message.into();
    }
    let mut cut = MAX_MESSAGE;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}... ({} more bytes not logged)",
        &message[..cut],
        message.len() - cut
    )
    .into()
}

fn push_bounded(ring: &mut VecDeque<Arc<str>>, line: Arc<str>, bound: usize) {
    if ring.len() == bound {
        ring.pop_front();
    }
    ring.push_back(line);
}

/// Writes the lines of one resource (into its ring and the service's).
#[derive(Clone)]
pub struct ResourceLog {
    log: ServiceLog,
    rid: String,
    source: String,
}

impl ResourceLog {
    /// Progress.
    pub fn info(&self, message: impl AsRef<str>) {
        self.line(Level::Info, message.as_ref());
    }

    /// Something odd that does not fail the action.
    pub fn warn(&self, message: impl AsRef<str>) {
        self.line(Level::Warning, message.as_ref());
    }

    /// A failure.
    pub fn error(&self, message: impl AsRef<str>) {
        self.line(Level::Error, message.as_ref());
    }

    fn line(&self, level: Level, message: &str) {
        self.log.push(Some(&self.rid), level, &self.source, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_time(line: &str) -> &str {
        &line[9..]
    }

    #[test]
    fn lines_match_the_tutorial_columns() {
        let log = ServiceLog::new("app.opensvc.com");
        log.resource("ip#1")
            .info("checking 37.59.71.25 availability");
        log.resource("container#1")
            .info("wait for container up status");
        let lines = log.service_lines();
        assert_eq!(
            strip_time(&lines[0]),
            "INFO    APP.OPENSVC.COM.IP#1    checking 37.59.71.25 availability"
        );
        assert_eq!(
            strip_time(&lines[1]),
            "INFO    APP.OPENSVC.COM.CONTAINER#1 wait for container up status"
        );
        assert_eq!(lines[0].as_bytes()[2], b':');
    }

    #[test]
    fn resource_ring_holds_only_its_lines() {
        let log = ServiceLog::new("s");
        log.resource("fs#1").error("mount failed");
        log.resource("fs#2").warn("odd");
        assert_eq!(log.resource_lines("fs#1").len(), 1);
        assert!(log.resource_lines("fs#1")[0].contains("ERROR   S.FS#1"));
        assert_eq!(log.service_lines().len(), 2);
        assert!(log.resource_lines("ip#1").is_empty());
    }

    #[test]
    fn multi_line_messages_become_prefixed_lines() {
        let log = ServiceLog::new("s");
        log.resource("container#1")
            .error("exited with 1\nlast output:\nboom");
        let lines = log.resource_lines("container#1");
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with("S.CONTAINER#1           boom"));
    }

    #[test]
    fn lines_are_shared_until_the_next_push_and_numbered() {
        let log = ServiceLog::new("s");
        let pushes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = Arc::clone(&pushes);
        log.set_listener(move || {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        log.resource("fs#1").info("one\ntwo");
        let first = log.lines();
        assert!(Arc::ptr_eq(&first, &log.lines()));
        assert_eq!(first.seq, 2);
        assert_eq!(first.resource("fs#1").len(), 2);
        log.service_line(Level::Info, "three");
        let second = log.lines();
        assert_eq!(second.seq, 3);
        assert_eq!(second.service.len(), 3);
        assert!(second.resource("ip#1").is_empty());
        assert_eq!(pushes.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn repeated_successes_fold_into_one_line_until_something_else_comes() {
        let log = ServiceLog::new("s");
        let task = log.resource("task#1");
        let run = |n: u32| {
            let since = log.seq();
            task.info("/bin/true");
            log.fold(
                "task#1",
                since,
                SystemTime::UNIX_EPOCH,
                &format!("run {n} done"),
                |count, _| format!("{count} runs ok, the last {n}"),
            );
        };
        run(1);
        assert_eq!(log.resource_lines("task#1").len(), 2);
        for n in 2..=50 {
            run(n);
        }
        let lines = log.service_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].ends_with(" 50 runs ok, the last 50"), "{lines:?}");
        assert_eq!(log.resource_lines("task#1").len(), 1);
        // Another line ends the repetition: the next run starts anew.
        log.service_line(Level::Info, "start done in 1.0s");
        run(51);
        run(52);
        let lines = log.service_lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[2].ends_with("2 runs ok, the last 52"), "{lines:?}");
        // Lines of another resource in the middle of a run: no fold.
        let since = log.seq();
        task.info("/bin/true");
        log.resource("container#1").info("started");
        log.fold(
            "task#1",
            since,
            SystemTime::UNIX_EPOCH,
            "run 53 done",
            |_, _| "folded".into(),
        );
        assert_eq!(log.service_lines().len(), 6);
    }

    #[test]
    fn rings_are_bounded() {
        let log = ServiceLog::new("s");
        let r = log.resource("vg#1");
        for i in 0..(RESOURCE_LOG_LINES + 5) {
            r.info(format!("line {i}"));
        }
        let lines = log.resource_lines("vg#1");
        assert_eq!(lines.len(), RESOURCE_LOG_LINES);
        assert!(lines[0].ends_with("line 5"));
    }

    #[test]
    fn a_huge_message_is_cut_at_a_character_and_says_how_much() {
        let log = ServiceLog::new("app");
        let huge = format!("ctl: unknown command {:?}", "é".repeat(1024 * 1024));
        log.service_line(Level::Error, &huge);
        let lines = log.service_lines();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].len() < MAX_MESSAGE + 100, "{}", lines[0].len());
        // 22 ASCII bytes, then 2-byte characters: 2048 is a boundary.
        let more = format!("... ({} more bytes not logged)", huge.len() - MAX_MESSAGE);
        assert!(lines[0].ends_with(&more), "{}", lines[0].len());
    }
}
