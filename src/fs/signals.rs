//! Ending blocked reads whose reader was signalled. The kernel tells a
//! filesystem with FUSE_INTERRUPT, but fuser 0.18 answers INTERRUPT itself
//! with ENOSYS (its `request.rs`: "TODO: handle FUSE_INTERRUPT"), after
//! which the kernel sends no more; and a reader whose request is already
//! in the daemon waits for the reply even when killed (it sits in state D).
//! So while reads are parked, a sweeper looks at each reader's pending
//! signals in /proc and ends the read with EINTR, as an INTERRUPT would:
//! Ctrl-C of a `cat events` ends it, a killed reader dies.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::waiting::Waiting;

/// How often the readers of parked reads are looked at.
pub const SWEEP_EVERY: Duration = Duration::from_millis(200);

/// Whether a signal the thread `pid` does not block is pending for it or
/// its process; true too when the thread is gone. Pid 0 is a reader the
/// kernel could not name in the daemon's pid namespace: never signalled.
pub fn signal_pending(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => pending_in_status(&status),
        Err(_) => true,
    }
}

/// From the text of `/proc/<tid>/status`: a signal pending for the thread
/// (`SigPnd`, where a fatal one shows as SIGKILL) or its process
/// (`ShdPnd`) that the thread does not block (`SigBlk`).
pub fn pending_in_status(status: &str) -> bool {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    (field("SigPnd:") | field("ShdPnd:")) & !field("SigBlk:") != 0
}

/// Start the sweeper of `waiting`'s parked reads; it idles while none is
/// parked and ends with the filesystem.
pub fn spawn_sweeper(waiting: &Arc<Waiting>) -> std::io::Result<()> {
    let waiting: Weak<Waiting> = Arc::downgrade(waiting);
    std::thread::Builder::new()
        .name("svcfs-intr".to_string())
        .spawn(move || loop {
            match waiting.upgrade() {
                Some(w) if !w.is_closing() => w.until_parked(),
                _ => return,
            }
            std::thread::sleep(SWEEP_EVERY);
            let Some(w) = waiting.upgrade() else {
                return;
            };
            let ended = w.interrupt(&signal_pending);
            if ended > 0 {
                tracing::debug!(ended, "blocked reads of signalled readers ended");
            }
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: &str = "Name:\tcat\nSigQ:\t0/31\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n";

    #[test]
    fn a_reader_with_nothing_pending_keeps_waiting() {
        assert!(!pending_in_status(QUIET));
    }

    #[test]
    fn a_killed_reader_shows_sigkill_pending() {
        let killed = QUIET.replace("SigPnd:\t0000000000000000", "SigPnd:\t0000000000000100");
        assert!(pending_in_status(&killed));
    }

    #[test]
    fn a_signal_to_the_process_counts_unless_blocked() {
        let sigint = QUIET.replace("ShdPnd:\t0000000000000000", "ShdPnd:\t0000000000000002");
        assert!(pending_in_status(&sigint));
        let blocked = sigint.replace("SigBlk:\t0000000000000000", "SigBlk:\t0000000000000002");
        assert!(!pending_in_status(&blocked));
    }

    #[test]
    fn this_thread_has_nothing_pending_and_a_gone_one_is_ended() {
        let tid = unsafe { libc::gettid() } as u32;
        assert!(!signal_pending(tid));
        assert!(signal_pending(u32::MAX));
        assert!(!signal_pending(0));
    }
}
