//! A task's record: its last run (when, how long, how it ended, what it
//! printed), the runs going on, and the last slot of its schedule that
//! was handled. One per task of a service, shared by every configuration
//! that has it (an edit of the service file does not forget a run going
//! on), and kept across daemon restarts in `<var-dir>/<svc>/tasks/`:
//! `<rid>.json` (the record) and `<rid>.output` (the last run's output),
//! each rewritten in place (see [`rewrite`]).
//!
//! What the record lets the next daemon do: show the last run; not run
//! again a slot that was already handled (a restart mid-run does not
//! double it); run a slot missed while it was down (`persistent`); say
//! what became of a run that was going on when the daemon stopped (a host
//! command died with it: "interrupted"; a container keeps running in
//! docker, and is adopted: see `container.rs`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::drivers::Carried;
use crate::error::{Error, Result};
use crate::sync::lock;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It exited with this code.
    Exit(i64),
    /// A signal ended it (not svcfs's).
    Signal,
    /// Killed at its `timeout`.
    TimedOut,
    /// Killed through `kill`.
    Killed,
    /// svcfs stopped while it ran: it was killed with svcfs's children.
    Interrupted,
    /// It could not start, for this reason.
    NotStarted(String),
    /// svcfs lost track of it (docker failed while it ran).
    Lost(String),
}

impl Ending {
    /// Whether the run succeeded.
    pub fn ok(&self) -> bool {
        *self == Ending::Exit(0)
    }

    /// The third field of `last_run`: the exit code, or a word.
    pub fn code_word(&self) -> String {
        match self {
            Ending::Exit(code) => code.to_string(),
            Ending::Signal => "signal".to_string(),
            Ending::TimedOut => "timeout".to_string(),
            Ending::Killed => "killed".to_string(),
            Ending::Interrupted => "interrupted".to_string(),
            Ending::NotStarted(_) | Ending::Lost(_) => "error".to_string(),
        }
    }

    /// How it ended, for messages.
    pub fn describe(&self) -> String {
        match self {
            Ending::Exit(code) => format!("exit {code}"),
            Ending::Signal => "killed by a signal".to_string(),
            Ending::TimedOut => "timed out".to_string(),
            Ending::Killed => "killed through ctl".to_string(),
            Ending::Interrupted => "interrupted: svcfs stopped while it ran".to_string(),
            Ending::NotStarted(why) => format!("could not start: {why}"),
            Ending::Lost(why) => format!("lost: {why}"),
        }
    }
}

/// One finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// When it started, in milliseconds since the epoch.
    pub started_ms: i64,
    /// How long it took, in milliseconds.
    pub took_ms: u64,
    /// How it ended.
    pub ending: Ending,
    /// The last line it printed.
    pub said: String,
}

impl LastRun {
    /// When it started.
    pub fn started(&self) -> SystemTime {
        from_ms(self.started_ms)
    }
}

/// A run going on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running {
    /// Its number among the task's runs.
    pub seq: u64,
    /// When it started, in milliseconds since the epoch.
    pub started_ms: i64,
    /// The container it runs in, for a container task.
    pub container: Option<String>,
}

/// What the record file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    last: Option<LastRun>,
    /// The last slot of the schedule handled (run, skipped or missed), in
    /// milliseconds since the epoch.
    slot_ms: Option<i64>,
    running: Vec<Running>,
    /// Runs started so far.
    seq: u64,
}

struct State {
    saved: Saved,
    /// The last run's output, as shown (with a note when cut).
    output: Arc<str>,
    /// The next slot, as the scheduler last computed it.
    next: Option<SystemTime>,
    /// Whether this daemon's scheduler already looked at the record (it
    /// catches up with missed slots once).
    followed: bool,
    /// Containers of runs a previous daemon left going, to adopt.
    orphans: Vec<Running>,
}

/// A task's record.
pub struct Book {
    /// `<var-dir>/<svc>/tasks/<rid>.json`.
    file: PathBuf,
    state: Mutex<State>,
    /// Bumped by `kill`: every run going on ends.
    kills: tokio::sync::watch::Sender<u64>,
}

/// What a run holds while it goes on.
pub struct Ticket {
    /// Its number.
    pub seq: u64,
    /// When it started.
    pub started: SystemTime,
    /// Completes when the run is to be killed.
    pub kill: crate::children::KillSignal,
}

impl Book {
    /// The record of `rid` of `service`, as this daemon holds it (a task
    /// keeps its record across reloads of its service: `carried`), else as
    /// the last daemon left it under `var_dir`.
    pub fn open(carried: &Carried, var_dir: &Path, service: &str, rid: &str) -> Arc<Book> {
        carried.take_or(service, rid, || {
            let file = var_dir
                .join(service)
                .join("tasks")
                .join(format!("{rid}.json"));
            Arc::new(Book::load(file))
        })
    }

    fn load(file: PathBuf) -> Book {
        let mut saved: Saved = std::fs::read(&file)
            .ok()
            .and_then(|bytes| {
                serde_json::from_slice(&bytes)
                    .inspect_err(|e| {
                        tracing::warn!(file = %file.display(), "unreadable task record, starting afresh: {e}")
                    })
                    .ok()
            })
            .unwrap_or_default();
        let output: Arc<str> = std::fs::read(output_file(&file))
            .map(|bytes| String::from_utf8_lossy(&bytes).into())
            .unwrap_or_else(|_| "".into());
        // Host runs died with the daemon that ran them; containers go on.
        let (orphans, gone): (Vec<Running>, Vec<Running>) = std::mem::take(&mut saved.running)
            .into_iter()
            .partition(|r| r.container.is_some());
        if let Some(run) = gone.into_iter().max_by_key(|r| r.started_ms) {
            saved.last = Some(LastRun {
                started_ms: run.started_ms,
                took_ms: 0,
                ending: Ending::Interrupted,
                said: String::new(),
            });
        }
        saved.running = orphans.clone();
        Book {
            file,
            state: Mutex::new(State {
                saved,
                output,
                next: None,
                followed: false,
                orphans,
            }),
            kills: tokio::sync::watch::channel(0).0,
        }
    }

    /// Begin a run, unless `max_parallel` runs go on already (EBUSY);
    /// `container` names the container it will run in.
    pub fn begin(
        &self,
        max_parallel: u32,
        container: impl FnOnce(u64) -> Option<String>,
    ) -> Result<Ticket> {
        let kill = self.kill_signal();
        let mut state = lock(&self.state);
        let going = state.saved.running.len();
        if going >= max_parallel as usize {
            let since = state
                .saved
                .running
                .iter()
                .map(|r| r.started_ms)
                .min()
                .map(|ms| crate::clock::local_hms(from_ms(ms)))
                .unwrap_or_default();
            return Err(Error::busy(format!(
                "{going} run(s) going on since {since}, and max_parallel is {max_parallel}"
            )));
        }
        state.saved.seq += 1;
        let seq = state.saved.seq;
        let started = SystemTime::now();
        state.saved.running.push(Running {
            seq,
            started_ms: to_ms(started),
            container: container(seq),
        });
        self.save(&state.saved);
        Ok(Ticket { seq, started, kill })
    }

    /// Completes at the next `kill`.
    pub fn kill_signal(&self) -> crate::children::KillSignal {
        let mut kills = self.kills.subscribe();
        Box::pin(async move {
            if kills.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }

    /// End run `seq`, which ended as `ending` having printed `output`
    /// (the note of a cut included) whose last line is `said`.
    pub fn end(&self, seq: u64, started: SystemTime, ending: Ending, output: &str, said: &str) {
        let took = started.elapsed().unwrap_or_default();
        let mut state = lock(&self.state);
        state.saved.running.retain(|r| r.seq != seq);
        state.orphans.retain(|r| r.seq != seq);
        // Of overlapping runs, the one that started last is the last run.
        let newer = state
            .saved
            .last
            .as_ref()
            .is_none_or(|last| last.started_ms <= to_ms(started));
        if newer {
            state.saved.last = Some(LastRun {
                started_ms: to_ms(started),
                took_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                ending,
                said: said.to_string(),
            });
            if *state.output != *output {
                state.output = output.into();
                self.save_output(output);
            }
        }
        self.save(&state.saved);
    }

    /// Kill every run going on; how many there were.
    pub fn kill_all(&self) -> usize {
        let going = lock(&self.state).saved.running.len();
        self.kills.send_modify(|k| *k += 1);
        going
    }

    /// Handle `slot` of the schedule: true once, the first time it (or a
    /// later slot) is asked for; false when it was handled already.
    pub fn claim(&self, slot: SystemTime) -> bool {
        let mut state = lock(&self.state);
        let slot = to_ms(slot);
        if state.saved.slot_ms.is_some_and(|last| last >= slot) {
            return false;
        }
        state.saved.slot_ms = Some(slot);
        self.save(&state.saved);
        true
    }

    /// The last slot handled.
    pub fn last_slot(&self) -> Option<SystemTime> {
        lock(&self.state).saved.slot_ms.map(from_ms)
    }

    /// Show `next` as the next run.
    pub fn show_next(&self, next: Option<SystemTime>) {
        lock(&self.state).next = next;
    }

    /// True the first time this daemon's scheduler asks.
    pub fn first_follow(&self) -> bool {
        !std::mem::replace(&mut lock(&self.state).followed, true)
    }

    /// Containers of runs that a previous daemon left going, once.
    pub fn take_orphans(&self) -> Vec<Running> {
        std::mem::take(&mut lock(&self.state).orphans)
    }

    /// What reads show.
    pub fn view(&self) -> View {
        let state = lock(&self.state);
        View {
            last: state.saved.last.clone(),
            running: state.saved.running.clone(),
            output: Arc::clone(&state.output),
            next: state.next,
        }
    }

    fn save(&self, saved: &Saved) {
        let bytes = match serde_json::to_vec(saved) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!("cannot encode a task record: {e}");
                return;
            }
        };
        if let Err(e) = rewrite(&self.file, &bytes) {
            tracing::warn!(file = %self.file.display(), "cannot save the task's record: {e}");
        }
    }

    fn save_output(&self, output: &str) {
        let file = output_file(&self.file);
        let saved = if output.is_empty() {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        } else {
            rewrite(&file, output.as_bytes())
        };
        if let Err(e) = saved {
            tracing::warn!(file = %file.display(), "cannot save the task's output: {e}");
        }
    }
}

/// What reads show of a book.
pub struct View {
    /// The last run that ended.
    pub last: Option<LastRun>,
    /// The runs going on.
    pub running: Vec<Running>,
    /// The last run's output.
    pub output: Arc<str>,
    /// The next scheduled run.
    pub next: Option<SystemTime>,
}

fn output_file(record: &Path) -> PathBuf {
    record.with_extension("output")
}

/// Rewrite `path` with `bytes` in place: written over the old content from
/// its start, then cut to its new length (created 0600 when missing).
/// Neither renamed over nor truncated to zero first: ext4 flushes a file
/// replaced either way at once (`auto_da_alloc`), which made a thousand
/// tasks due in the same second wait on the disk; a record is small and
/// rewritten whole, and one a crash left torn reads as none (the task then
/// starts its schedule afresh, never running a slot twice).
fn rewrite(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .mode(crate::vardir::FILE_MODE)
            .open(path)
    };
    let file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                crate::vardir::create_dir(dir)?;
            }
            open()?
        }
        other => other?,
    };
    file.write_all_at(bytes, 0)?;
    file.set_len(bytes.len() as u64)
}

fn to_ms(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

pub(super) fn from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("svcfs-book-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn runs_are_counted_against_max_parallel_and_recorded() {
        let var = scratch("parallel");
        let book = Book::open(&Carried::default(), &var, "svc", "task#1");
        let first = book.begin(1, |_| None).unwrap();
        let busy = book.begin(1, |_| None).map(|_| ()).unwrap_err();
        assert_eq!(busy.errno(), libc::EBUSY);
        assert!(busy.message().contains("max_parallel is 1"), "{busy}");
        let second = book.begin(2, |_| None).unwrap();
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(book.view().running.len(), 2);
        book.end(first.seq, first.started, Ending::Exit(3), "boom\n", "boom");
        book.end(second.seq, second.started, Ending::Exit(0), "", "");
        let view = book.view();
        assert!(view.running.is_empty());
        // The one that started last is the last run.
        assert_eq!(view.last.unwrap().ending, Ending::Exit(0));
        let _ = std::fs::remove_dir_all(&var);
    }

    #[tokio::test]
    async fn a_kill_ends_every_run_going_on() {
        let var = scratch("kill");
        let book = Book::open(&Carried::default(), &var, "svc", "task#1");
        let ticket = book.begin(2, |_| None).unwrap();
        let other = book.begin(2, |_| None).unwrap();
        assert_eq!(book.kill_all(), 2);
        tokio::time::timeout(Duration::from_secs(5), ticket.kill)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), other.kill)
            .await
            .unwrap();
        // A later run is not killed by an earlier kill.
        let later = book.begin(3, |_| None).unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(50), later.kill)
            .await
            .is_err());
        let _ = std::fs::remove_dir_all(&var);
    }

    #[test]
    fn a_slot_is_handled_once_even_by_the_next_daemon() {
        let var = scratch("slots");
        let slot = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        {
            let daemon = Carried::default();
            let book = Book::open(&daemon, &var, "svc", "task#1");
            assert!(book.first_follow());
            assert!(!book.first_follow());
            assert!(book.claim(slot));
            assert!(!book.claim(slot));
            // The same book while this daemon holds it.
            assert!(!Book::open(&daemon, &var, "svc", "task#1").claim(slot));
        }
        // The next daemon reads the record.
        let book = Book::open(&Carried::default(), &var, "svc", "task#1");
        assert!(book.first_follow());
        assert_eq!(book.last_slot(), Some(slot));
        assert!(!book.claim(slot));
        assert!(!book.claim(slot - Duration::from_secs(60)));
        assert!(book.claim(slot + Duration::from_secs(60)));
        let _ = std::fs::remove_dir_all(&var);
    }

    #[test]
    fn a_run_cut_by_the_daemon_s_end_is_told_and_a_container_is_adopted() {
        let var = scratch("cut");
        {
            let book = Book::open(&Carried::default(), &var, "svc", "task#1");
            let done = book.begin(3, |_| None).unwrap();
            book.end(done.seq, done.started, Ending::Exit(0), "fine\n", "fine");
            let _host = book.begin(3, |_| None).unwrap();
            let _container = book
                .begin(3, |seq| Some(format!("svc.task.1.{seq}")))
                .unwrap();
            // The daemon stops here.
        }
        let book = Book::open(&Carried::default(), &var, "svc", "task#1");
        let view = book.view();
        assert_eq!(view.last.unwrap().ending, Ending::Interrupted);
        assert_eq!(&*view.output, "fine\n");
        assert_eq!(view.running.len(), 1);
        let orphans = book.take_orphans();
        assert_eq!(orphans[0].container.as_deref(), Some("svc.task.1.3"));
        assert!(book.take_orphans().is_empty());
        let _ = std::fs::remove_dir_all(&var);
    }
}
