//! When a started container without a health check counts as
//! operational: running, and its PID 1 has reached a wait (every thread
//! sleeping: on a terminal, a socket, a timer or a child) on two looks in a
//! row — or still running after [`SETTLE`], for a PID 1 that never sleeps
//! or cannot be seen. A command that fails at once (a missing file, a
//! script that exits) is caught before the next resource starts, as with a
//! fixed window, without making every good start wait that window: a shell
//! or a server waits within a few milliseconds.

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::pid1::{self, Pid1};
use crate::bounded::bounded_blocking;

/// The longest a start waits for PID 1 to settle.
pub const SETTLE: Duration = Duration::from_millis(300);
/// Between two looks at PID 1.
const SAMPLE: Duration = Duration::from_millis(10);
/// Looks in a row that must find PID 1 waiting.
const WAITING_LOOKS: u32 = 2;
/// Bound on one look (a few small /proc files).
const LOOK_TIMEOUT: Duration = Duration::from_secs(2);

/// What one look at PID 1 found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Every thread sleeps in the kernel, waiting for something.
    Waiting,
    /// A thread runs, or is in uninterruptible I/O, or runc has not
    /// handed over yet.
    Busy,
    /// Not to be seen: exited, or /proc is not this daemon's.
    Unseen,
}

/// Classify one look (pure).
pub fn classify(pid1: Option<&Pid1>) -> Look {
    match pid1 {
        None => Look::Unseen,
        // runc's own init waits on a fifo before it execs the command.
        Some(p) if p.command.starts_with("runc") => Look::Busy,
        Some(p) if p.threads.iter().all(|t| t.status.state == 'S') => Look::Waiting,
        Some(_) => Look::Busy,
    }
}

/// Wait until PID 1 (host pid `pid` of container `id`, under the host's
/// `/proc` at `proc_root`) settles, is gone, or `limit` passed; the caller
/// then looks at the container again.
pub async fn settle(proc_root: &Path, pid: u32, id: &str, limit: Duration) {
    let started = Instant::now();
    let mut waiting = 0;
    let mut seen = false;
    loop {
        let (id, root) = (id.to_string(), proc_root.to_path_buf());
        let look = bounded_blocking(
            "looking at PID 1",
            &format!("container {id}"),
            LOOK_TIMEOUT,
            move || classify(pid1::read(&root, pid, &id).as_ref()),
        )
        .await
        .unwrap_or(Look::Unseen);
        match look {
            Look::Waiting => waiting += 1,
            Look::Busy => waiting = 0,
            // Seen before and gone now: it exited, the caller will tell.
            Look::Unseen if seen => return,
            // Never seen: another pid namespace or no /proc; the window is
            // all there is to go by.
            Look::Unseen => {
                tokio::time::sleep(limit.saturating_sub(started.elapsed())).await;
                return;
            }
        }
        seen = true;
        if waiting >= WAITING_LOOKS {
            return;
        }
        // The first look is at once: a PID 1 that already waits is
        // operational one sample later, not two.
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(SAMPLE.min(left)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::container::pid1::{parse_status, Thread};

    fn pid1(command: &str, states: &[char]) -> Pid1 {
        Pid1 {
            command: command.to_string(),
            threads: states
                .iter()
                .map(|s| Thread {
                    status: parse_status(&format!(
                        "Name:\tx\nState:\t{s} (x)\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n"
                    ))
                    .unwrap(),
                    wchan: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_sleeping_pid1_is_waiting() {
        assert_eq!(classify(Some(&pid1("/bin/sh", &['S']))), Look::Waiting);
        assert_eq!(classify(Some(&pid1("httpd", &['S', 'S']))), Look::Waiting);
    }

    #[test]
    fn a_running_or_io_bound_thread_is_busy() {
        assert_eq!(classify(Some(&pid1("/bin/sh", &['R']))), Look::Busy);
        assert_eq!(classify(Some(&pid1("java", &['S', 'D']))), Look::Busy);
        assert_eq!(classify(Some(&pid1("x", &['Z']))), Look::Busy);
    }

    #[test]
    fn runc_before_the_exec_is_busy_and_nothing_is_unseen() {
        assert_eq!(classify(Some(&pid1("runc:[2:INIT]", &['S']))), Look::Busy);
        assert_eq!(classify(None), Look::Unseen);
    }

    // On tokio's paused clock: the window is counted in virtual time, so
    // this checks what settle waits for, not how fast the machine is.
    #[tokio::test(start_paused = true)]
    async fn an_unseen_pid1_waits_the_whole_window() {
        let started = Instant::now();
        // Pid 0 never names a process of a container.
        settle(Path::new("/proc"), 0, "none", Duration::from_millis(60)).await;
        assert_eq!(started.elapsed(), Duration::from_millis(60));
    }
}
