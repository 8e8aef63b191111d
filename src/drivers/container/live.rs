//! What a container resource shows live (its [`LiveView`]): its resource
//! use, read at open from its cgroup (found through its PID 1), its
//! recent output (`output`, read at open from the file docker writes)
//! and the stream of its output (`wait/output`, followed with inotify
//! on that file only while a reader has it open).
//!
//! Output spans the container's runs: a restart goes on in the same
//! file, a recreation (upgrade, rollback) in another container's. The
//! runs svcfs saw (start times from the inspects of its status checks)
//! are kept, and a marker line shows where each begins:
//! `==> container 0ad119ede2a3 started 2026-12-07T10:40:18.165Z <==`.
//! A log driver that leaves no file (`none`, or a remote one with docker's
//! local cache disabled, or a daemon on another host) gets its snapshot
//! from docker's log API instead, bounded, without markers, and its
//! stream from the API's followed logs (one connection, while read).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use super::{short_id, Observed};
use crate::cgroup::{Cgroup, Hierarchies};
use crate::clock::{from_nanos, parse_rfc3339_nanos, rfc3339_utc_millis};
use crate::docker::logfile::{self, Follower, LogFile, Record};
use crate::docker::{DockerApi, LogStream};
use crate::feed::Feed;
use crate::model::live::Wake;
use crate::model::usage::{Amount, Counter};
use crate::model::LiveView;
use crate::sync::lock;
use futures_util::StreamExt;

/// The snapshot file of the container's recent output.
pub const OUTPUT: &str = "output";
/// The default size of [`OUTPUT`]: the last 64 KiB of output.
pub const OUTPUT_SIZE: usize = 64 * 1024;
/// Runs remembered, for the markers of the snapshot.
const RUNS_KEPT: usize = 16;
/// Lines a reader of the stream may fall behind by.
const STREAM_LINES: usize = 4096;
/// How often a followed stream looks without an inotify event (a file
/// that did not exist yet, readers gone): cheap, and only while read.
const FOLLOW_TICK: Duration = Duration::from_secs(1);
/// Bound on the log API call of a driver without a file.
const API_LIMIT: Duration = Duration::from_secs(2);

/// One run of a container: from a start to its exit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    /// The container's full id.
    id: String,
    /// `State.StartedAt`, nanoseconds.
    started: i64,
    /// `State.FinishedAt` once it ended.
    finished: Option<i64>,
    running: bool,
    /// Host pid of PID 1 while it runs.
    pid: u32,
    /// Where docker writes its output, when in a file svcfs can read.
    log: Option<LogFile>,
    /// Its log driver (for what the tree says when there is no file).
    driver: String,
}

impl Run {
    fn of(c: &Observed) -> Option<Run> {
        let identity = &c.identity;
        let started = parse_rfc3339_nanos(&identity.started_at)?;
        Some(Run {
            id: c.id.clone(),
            started,
            finished: (!c.running)
                .then(|| parse_rfc3339_nanos(&identity.finished_at))
                .flatten(),
            running: c.running,
            pid: c.pid,
            log: LogFile::of(
                &identity.log_driver,
                &identity.log_path,
                identity.container_dir.as_deref(),
                identity.log_cache_disabled,
            ),
            driver: identity.log_driver.clone(),
        })
    }

    fn same_run(&self, other: &Run) -> bool {
        self.id == other.id && self.started == other.started
    }
}

/// How long before docker's `StartedAt` a run's first line may be: docker
/// records the start once the process runs, and the process may print
/// first.
const START_SLACK: i64 = 1_000_000_000;

/// Where the output of `runs[index]` begins, in its container's log: past
/// the end of the run of the same container before it (when seen), and
/// at most [`START_SLACK`] before its own start.
fn boundary(runs: &[Run], index: usize) -> i64 {
    let run = &runs[index];
    let after_previous = runs[..index]
        .iter()
        .rev()
        .find(|r| r.id == run.id)
        .and_then(|r| r.finished)
        .map_or(i64::MIN, |f| f + 1);
    after_previous
        .max(run.started - START_SLACK)
        .min(run.started)
}

/// The marker line of a run that began at `time`.
fn marker(id: &str, time: i64) -> String {
    format!(
        "==> container {} started {} <==",
        short_id(id),
        rfc3339_utc_millis(from_nanos(time))
    )
}

/// The line that tells a reader of the stream how many lines it lost.
fn lost_line(lost: u64) -> String {
    format!("==> {lost} lines lost: this reader fell behind <==")
}

#[derive(Default)]
struct Seen {
    /// The container as its last status check saw it.
    current: Option<Run>,
    /// The runs seen, oldest first.
    runs: VecDeque<Run>,
}

#[derive(Default)]
struct Readers {
    feeds: Vec<Weak<Feed>>,
    /// A follower task runs.
    following: bool,
}

/// The live view of one container resource.
pub struct ContainerLive {
    /// Its daemon, and the size of [`OUTPUT`], as configured last.
    config: Mutex<(Arc<dyn DockerApi>, usize)>,
    proc_root: PathBuf,
    seen: Mutex<Seen>,
    /// The group of the PID 1 it was found for.
    cgroup: Mutex<Option<(u32, Option<Cgroup>)>>,
    readers: Mutex<Readers>,
    /// Told when the container changed (a start, a recreation).
    changed: Arc<tokio::sync::Notify>,
    me: Weak<ContainerLive>,
}

/// Where the cgroup hierarchies are, read once: they are mounted at
/// boot.
fn hierarchies() -> &'static Hierarchies {
    static HIERARCHIES: OnceLock<Hierarchies> = OnceLock::new();
    HIERARCHIES.get_or_init(|| Hierarchies::of_this_host().unwrap_or_default())
}

impl ContainerLive {
    /// The view of a container of the daemon `docker`, keeping the last
    /// `output_size` bytes of output in [`OUTPUT`], its processes under
    /// `proc_root`.
    pub fn new(docker: Arc<dyn DockerApi>, output_size: usize, proc_root: PathBuf) -> Arc<Self> {
        Arc::new_cyclic(|me| ContainerLive {
            config: Mutex::new((docker, output_size)),
            proc_root,
            seen: Mutex::default(),
            cgroup: Mutex::default(),
            readers: Mutex::default(),
            changed: Arc::default(),
            me: me.clone(),
        })
    }

    /// The configuration changed (a reload): its daemon, the size of
    /// [`OUTPUT`].
    pub fn configure(&self, docker: Arc<dyn DockerApi>, output_size: usize) {
        *lock(&self.config) = (docker, output_size);
    }

    fn output_size(&self) -> usize {
        lock(&self.config).1
    }

    /// What a status check saw of the container (`None`: there is none).
    pub fn saw(&self, container: Option<&Observed>) {
        let run = container.and_then(Run::of);
        let changed = {
            let mut seen = lock(&self.seen);
            if let Some(run) = &run {
                match seen.runs.back_mut() {
                    Some(last) if last.same_run(run) => *last = run.clone(),
                    _ => {
                        seen.runs.push_back(run.clone());
                        if seen.runs.len() > RUNS_KEPT {
                            seen.runs.pop_front();
                        }
                    }
                }
            }
            let changed = seen.current != run;
            seen.current = run;
            changed
        };
        if changed {
            self.changed.notify_one();
        }
    }

    fn current(&self) -> Option<Run> {
        lock(&self.seen).current.clone()
    }

    /// The group of the running container's PID 1.
    fn cgroup_read(&self, counter: Counter) -> Option<Amount> {
        let pid = self.current().filter(|r| r.running && r.pid > 0)?.pid;
        let mut cached = lock(&self.cgroup);
        if cached.as_ref().is_none_or(|(seen, _)| *seen != pid) {
            *cached = Some((pid, hierarchies().of_pid(&self.proc_root, pid)));
        }
        cached.as_ref()?.1.as_ref()?.read(counter)
    }

    /// The last [`OUTPUT`] size bytes of output of the container's
    /// runs, markers included.
    fn snapshot(&self) -> Vec<u8> {
        let (runs, current) = {
            let seen = lock(&self.seen);
            (
                seen.runs.iter().cloned().collect::<Vec<_>>(),
                seen.current.clone(),
            )
        };
        let runs: Vec<Run> = if runs.is_empty() {
            current.into_iter().collect()
        } else {
            runs
        };
        // Consecutive runs of one container share its file: (first run's
        // index, runs) per group.
        let mut groups: Vec<(usize, Vec<Run>)> = Vec::new();
        for (index, run) in runs.iter().enumerate() {
            match groups.last_mut() {
                Some((_, group)) if group[0].id == run.id => group.push(run.clone()),
                _ => groups.push((index, vec![run.clone()])),
            }
        }
        let want = self.output_size();
        let mut parts: Vec<Vec<String>> = Vec::new();
        let mut have = 0;
        let count = groups.len();
        for (back, (first, group)) in groups.iter().rev().enumerate() {
            let newest = back == 0;
            let Some(file) = &group[0].log else {
                if newest {
                    parts.push(self.api_snapshot(&group[0]));
                }
                break;
            };
            // The file's earlier runs belong to an earlier group (a
            // rollback) when that container was seen before.
            let seen_before = runs[..*first].iter().any(|r| r.id == group[0].id);
            let from = seen_before.then(|| boundary(&runs, *first));
            let until = (!newest)
                .then(|| groups[count - back].1.first().map(|r| r.started))
                .flatten();
            let Ok((records, covered)) = window(file, want - have.min(want), from, until) else {
                break;
            };
            let starts: Vec<(i64, String)> = (0..group.len())
                .map(|i| {
                    let run = &runs[first + i];
                    (boundary(&runs, first + i), marker(&run.id, run.started))
                })
                .collect();
            let lines = render(&records, &starts, covered);
            have += lines.iter().map(|l| l.len() + 1).sum::<usize>();
            parts.push(lines);
            if have >= want || !covered {
                break;
            }
        }
        let mut lines: Vec<String> = parts.into_iter().rev().flatten().collect();
        // The newest lines that fit, at least one.
        let mut size: usize = lines.iter().map(|l| l.len() + 1).sum();
        let mut first = 0;
        while size > want && first + 1 < lines.len() {
            size -= lines[first].len() + 1;
            first += 1;
        }
        lines.drain(..first);
        let mut out = String::with_capacity(size);
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
        out.into_bytes()
    }

    /// The output of a run without a file svcfs can read, from docker's
    /// log API (bounded; no markers: the API gives no run boundaries).
    fn api_snapshot(&self, run: &Run) -> Vec<String> {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return vec![no_file(run)];
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let docker = Arc::clone(&lock(&self.config).0);
        let id = run.id.clone();
        // Lines, not bytes: docker's tail counts lines; enough of them.
        let tail = self.output_size() / 16 + 1;
        handle.spawn(async move {
            let _ =
                tx.send(tokio::time::timeout(API_LIMIT, docker.container_logs(&id, tail)).await);
        });
        match rx.recv_timeout(API_LIMIT + Duration::from_millis(100)) {
            Ok(Ok(Ok(text))) => {
                let mut lines = logfile::Lines::default();
                let mut out = lines.push(&Record {
                    stderr: false,
                    time: 0,
                    text: text.into_bytes(),
                    ends_line: false,
                });
                out.extend(lines.flush());
                out
            }
            Ok(Ok(Err(e))) => vec![format!("==> docker's log API failed: {} <==", e.message())],
            _ => vec![format!(
                "==> docker's log API did not answer within {}s <==",
                API_LIMIT.as_secs()
            )],
        }
    }

    /// A new reader of the stream; starts the follower if none runs.
    fn subscribe(&self, wake: Wake) -> Option<Arc<Feed>> {
        let feed = Feed::new(STREAM_LINES, lost_line, wake);
        let start = {
            let mut readers = lock(&self.readers);
            readers.feeds.retain(|f| f.strong_count() > 0);
            readers.feeds.push(Arc::downgrade(&feed));
            !std::mem::replace(&mut readers.following, true)
        };
        if start {
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                lock(&self.readers).following = false;
                feed.push(&["==> svcfs cannot follow output here (no runtime) <==".into()]);
                return Some(feed);
            };
            let current = self.current();
            // What comes after this open: the file from its size now.
            let from = current.as_ref().and_then(|r| r.log.as_ref()).map(|log| {
                (
                    log.clone(),
                    std::fs::metadata(&log.path).map_or(0, |m| m.len()),
                )
            });
            handle.spawn(follow(self.me.clone(), current, from));
        }
        Some(feed)
    }

    /// The live feeds; `None` (and the follower told to stop) when every
    /// reader closed.
    fn feeds(&self) -> Option<Vec<Arc<Feed>>> {
        let mut readers = lock(&self.readers);
        readers.feeds.retain(|f| f.strong_count() > 0);
        if readers.feeds.is_empty() {
            readers.following = false;
            return None;
        }
        Some(readers.feeds.iter().filter_map(Weak::upgrade).collect())
    }
}

/// The line a snapshot or stream shows for a run whose output is in no
/// file svcfs can read.
fn no_file(run: &Run) -> String {
    format!(
        "==> the output of container {} (log driver {}) is in no file svcfs can read <==",
        short_id(&run.id),
        if run.driver.is_empty() {
            "unknown"
        } else {
            &run.driver
        }
    )
}

/// The records of `file` in `[from, until)` holding about `want` bytes
/// of output, newest last, and whether they begin where the range does
/// (the start of the file, or before `from`).
fn window(
    file: &LogFile,
    want: usize,
    from: Option<i64>,
    until: Option<i64>,
) -> std::io::Result<(Vec<Record>, bool)> {
    let inside = |r: &Record| {
        r.time == 0 || (from.is_none_or(|f| r.time >= f) && until.is_none_or(|u| r.time < u))
    };
    let mut ask = want.max(1);
    loop {
        let tail = logfile::tail(file, ask)?;
        let reached_from = tail.from_start
            || tail
                .records
                .first()
                .is_some_and(|r| from.is_some_and(|f| r.time != 0 && r.time < f));
        let records: Vec<Record> = tail.records.into_iter().filter(|r| inside(r)).collect();
        let bytes: usize = records.iter().map(|r| r.text.len() + 1).sum();
        if bytes >= want || reached_from || ask >= want.saturating_mul(64) {
            return Ok((records, reached_from));
        }
        ask = ask.saturating_mul(4);
    }
}

/// The lines of `records`, with the marker of each run of `starts` (its
/// start time, its marker) before the first record of that run. A marker
/// shows only where the window shows what came before it, or when the
/// window begins where its range does (`covered`); one of a run that
/// printed nothing yet ends the lines.
fn render(records: &[Record], starts: &[(i64, String)], covered: bool) -> Vec<String> {
    let mut lines = logfile::Lines::default();
    let mut out = Vec::new();
    let mut pending = starts.iter().peekable();
    let mut seen_before = covered;
    for record in records {
        while let Some((start, text)) = pending.peek() {
            if record.time == 0 || record.time < *start {
                break;
            }
            if seen_before {
                out.extend(lines.flush());
                out.push(text.clone());
            }
            pending.next();
        }
        seen_before = true;
        out.extend(lines.push(record));
    }
    out.extend(lines.flush());
    if seen_before {
        out.extend(pending.map(|(_, text)| text.clone()));
    }
    out
}

/// Where a stream of the container's output is: the run whose file is
/// followed, how far, and the last run a marker was shown for.
struct Following {
    followed: Option<Run>,
    follower: Option<Follower>,
    /// The start of the last run shown (by a marker, or going at the open).
    marked: i64,
    /// A line came after the run followed ended, before the next run's
    /// start was known: a marker was shown for it then, and the run that
    /// began after this end (when known) needs none.
    inferred_after: Option<i64>,
    lines: logfile::Lines,
}

impl Following {
    /// Following the run `at_open` from `from` (its file and size at the
    /// first open): no marker for that run, it was going already.
    fn new(at_open: Option<Run>, from: Option<(LogFile, u64)>) -> Self {
        Following {
            marked: at_open.as_ref().map_or(i64::MIN, |r| r.started),
            followed: at_open,
            follower: from.map(|(file, offset)| Follower::new(file, offset)),
            inferred_after: None,
            lines: logfile::Lines::default(),
        }
    }

    /// What came since the last round, as lines, the container being
    /// `current` and its runs `runs` (oldest first).
    fn round(&mut self, current: Option<&Run>, runs: &[Run]) -> Vec<String> {
        let mut out = Vec::new();
        self.read_followed(current, runs, i64::MIN, &mut out);
        // Another container now (an upgrade, a rollback): the rest of the
        // old file was read above; the new one from its run's beginning.
        if let Some(now) = current.filter(|c| self.followed.as_ref().is_none_or(|f| f.id != c.id)) {
            out.extend(self.lines.flush());
            self.followed = Some(now.clone());
            self.follower = now.log.clone().map(|file| Follower::new(file, 0));
            self.inferred_after = None;
            self.show(now, &mut out);
            let floor = match runs.iter().position(|r| r.same_run(now)) {
                Some(index) if runs[..index].iter().any(|r| r.id == now.id) => {
                    boundary(runs, index)
                }
                _ => i64::MIN,
            };
            self.read_followed(current, runs, floor, &mut out);
        }
        // A start known before any of its lines: its marker now.
        if let Some(now) = current.filter(|c| c.started > self.marked) {
            let now = now.clone();
            self.show(&now, &mut out);
        }
        out
    }

    /// The run whose output comes from docker's log API: the one followed,
    /// when its output is in no file svcfs can read.
    fn api_run(&self) -> Option<&Run> {
        self.followed.as_ref().filter(|_| self.follower.is_none())
    }

    /// Lines of records from docker's log API.
    fn api_lines(&mut self, record: &Record) -> Vec<String> {
        self.lines.push(record)
    }

    /// The marker of `run`, unless shown already (or inferred).
    fn show(&mut self, run: &Run, out: &mut Vec<String>) {
        if run.started <= self.marked {
            return;
        }
        let inferred = self
            .inferred_after
            .take()
            .is_some_and(|ended| run.started > ended);
        if !inferred {
            out.extend(self.lines.flush());
            out.push(marker(&run.id, run.started));
        }
        self.marked = run.started;
    }

    /// The records appended to the followed file (from `floor` on), the
    /// marker of each run that began meanwhile before its first line.
    fn read_followed(
        &mut self,
        current: Option<&Run>,
        runs: &[Run],
        floor: i64,
        out: &mut Vec<String>,
    ) {
        let Some(follower) = self.follower.as_mut() else {
            return;
        };
        let records = follower.read_new();
        let id = self
            .followed
            .as_ref()
            .map(|r| r.id.clone())
            .unwrap_or_default();
        for record in records {
            if record.time != 0 && record.time < floor {
                continue;
            }
            if record.time != 0 {
                // The latest run of this container that began by then.
                let run = (0..runs.len())
                    .rev()
                    .find(|&i| runs[i].id == id && boundary(runs, i) <= record.time)
                    .map(|i| runs[i].clone());
                match run {
                    Some(run) if run.started > self.marked => self.show(&run, out),
                    _ => {
                        // A line after the run followed ended, its next
                        // start not known yet: a new run began.
                        let ended = current
                            .filter(|c| c.id == id && !c.running && c.started <= self.marked)
                            .and_then(|c| c.finished)
                            .filter(|f| record.time > *f && self.inferred_after.is_none());
                        if let Some(ended) = ended {
                            out.extend(self.lines.flush());
                            out.push(marker(&id, record.time));
                            self.inferred_after = Some(ended);
                        }
                    }
                }
            }
            out.extend(self.lines.push(&record));
        }
    }

    /// The directory of the file followed (watched for docker's writes,
    /// its rotation, the file appearing).
    fn dir(&self) -> Option<PathBuf> {
        let file = self.follower.as_ref()?.file();
        file.path.parent().map(PathBuf::from)
    }
}

/// Follow the container's output for its stream's readers, until the
/// last one closes.
async fn follow(live: Weak<ContainerLive>, at_open: Option<Run>, from: Option<(LogFile, u64)>) {
    use nix::sys::inotify::AddWatchFlags;

    let watcher = crate::inotify::watch();
    let mut watched: Option<(PathBuf, nix::sys::inotify::WatchDescriptor)> = None;
    let mut following = Following::new(at_open, from);
    // Docker's log API, for a run whose output is in no file: the run
    // (id and start) it was asked for, and the stream while it lasts.
    let mut api: Option<((String, i64), Option<LogStream>)> = None;
    // Where the first API stream starts: from the open on.
    let opened = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut api_lines: Vec<String> = Vec::new();
    loop {
        let Some(strong) = live.upgrade() else {
            return;
        };
        let Some(feeds) = strong.feeds() else {
            return;
        };
        let (current, runs) = {
            let seen = lock(&strong.seen);
            (seen.current.clone(), Vec::from(seen.runs.clone()))
        };
        let mut out = std::mem::take(&mut api_lines);
        out.extend(following.round(current.as_ref(), &runs));
        // A run without a file: its output from docker's log API, asked
        // once per run (the stream ends when the container stops).
        if let Some(run) = following.api_run() {
            let key = (run.id.clone(), run.started);
            if api.as_ref().is_none_or(|(asked, _)| *asked != key) {
                let since = if api.is_none() {
                    opened
                } else {
                    run.started / 1_000_000_000
                };
                let docker = Arc::clone(&lock(&strong.config).0);
                let asked = tokio::time::timeout(API_LIMIT, docker.follow_logs(&run.id, since));
                let stream = match asked.await {
                    Ok(Ok(stream)) => Some(stream),
                    Ok(Err(e)) => {
                        out.push(no_file(run));
                        out.push(format!("==> docker's log API: {} <==", e.message()));
                        None
                    }
                    Err(_) => {
                        out.push(no_file(run));
                        out.push(format!(
                            "==> docker's log API did not answer within {}s <==",
                            API_LIMIT.as_secs()
                        ));
                        None
                    }
                };
                api = Some((key, stream));
            }
        }
        if !out.is_empty() {
            let out: Vec<Arc<str>> = out.into_iter().map(Arc::from).collect();
            for feed in &feeds {
                feed.push(&out);
            }
        }
        drop(feeds);
        if let (Some(watcher), Some(dir)) = (&watcher, following.dir()) {
            if watched.as_ref().map(|(d, _)| d) != Some(&dir) {
                if let Some((_, old)) = watched.take() {
                    let _ = watcher.get_ref().0.rm_watch(old);
                }
                let flags = AddWatchFlags::IN_MODIFY
                    | AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_CLOSE_WRITE;
                if let Ok(wd) = watcher.get_ref().0.add_watch(&dir, flags) {
                    watched = Some((dir, wd));
                }
            }
        }
        let notify = Arc::clone(&strong.changed);
        drop(strong);
        let changed = notify.notified();
        tokio::pin!(changed);
        let from_api = async {
            match api.as_mut().and_then(|(_, stream)| stream.as_mut()) {
                Some(stream) => stream.next().await,
                None => std::future::pending().await,
            }
        };
        let inotified = async {
            match &watcher {
                Some(watcher) => {
                    if let Ok(mut guard) = watcher.readable().await {
                        // Drain: one round reads whatever they said.
                        while watcher
                            .get_ref()
                            .0
                            .read_events()
                            .is_ok_and(|e| !e.is_empty())
                        {}
                        guard.clear_ready();
                    }
                }
                None => std::future::pending().await,
            }
        };
        // Without inotify, a quicker look instead.
        let tick = if watcher.is_some() {
            FOLLOW_TICK
        } else {
            FOLLOW_TICK / 4
        };
        tokio::select! {
            record = from_api => match record {
                Some(Ok(record)) => api_lines.extend(following.api_lines(&record)),
                // Stopped (or cut): the next run asks again.
                _ => {
                    if let Some((_, stream)) = api.as_mut() {
                        *stream = None;
                    }
                }
            },
            () = inotified => {}
            _ = &mut changed => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

/// A container's output and resource use are listed while it exists:
/// a thousand services whose containers are not created yet list none of
/// them (the stream is always there, to be opened before a start).
impl LiveView for ContainerLive {
    fn files(&self) -> &'static [&'static str] {
        if lock(&self.seen).current.is_some() {
            &[OUTPUT]
        } else {
            &[]
        }
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        (name == OUTPUT).then(|| self.snapshot())
    }

    fn has_usage(&self) -> bool {
        lock(&self.seen).current.is_some()
    }

    fn usage(&self, counter: Counter) -> Option<Amount> {
        self.cgroup_read(counter)
    }

    fn streams(&self) -> &'static [&'static str] {
        &[OUTPUT]
    }

    fn follow(&self, name: &str, wake: Wake) -> Option<Arc<Feed>> {
        if name != OUTPUT {
            return None;
        }
        self.subscribe(wake)
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
