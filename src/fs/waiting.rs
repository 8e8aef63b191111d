//! Readers answered later: poll registrations (the kernel's handle of an
//! open file, told when that file becomes ready) and reads parked until
//! they have something to return (`events`, `wait/*`).
//!
//! A parked read holds no FUSE worker thread: its answer is a closure over
//! the reply, called by whoever sees the change (a publisher, the change
//! bus), by the interrupt sweeper (its reader has a signal pending), or at
//! shutdown. Readiness is checked and a read parked under one lock, and
//! wakers take the same lock after making the change, so no wake-up is
//! lost between the two.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, OnceLock};

use std::sync::Arc;

use super::core::Data;
use super::inodes::NodePath;
use crate::engine::Feed;
use crate::error::{Error, Result};
use crate::model::Status;
use crate::sync::lock;

/// What answers one read; called exactly once.
pub type Answer = Box<dyn FnOnce(Result<Data>) + Send>;

/// A read waiting for something to return.
pub struct ParkedRead {
    /// The open file it reads.
    pub fh: u64,
    /// The thread that reads (to notice its signals).
    pub pid: u32,
    /// The most bytes it takes.
    pub size: u32,
    /// What it waits for.
    pub on: Waits,
    /// Its reply.
    pub answer: Answer,
}

/// What a parked read waits for.
#[derive(Clone)]
pub enum Waits {
    /// The next line of a feed.
    Line(Arc<Feed>),
    /// The status of the service or resource of a `wait` file.
    Status(NodePath, Status),
}

/// Wakes the kernel's pollers of an open file, by their handle.
pub type PollWaker = Box<dyn Fn(u64) + Send + Sync>;

#[derive(Default)]
struct State {
    parked: Vec<ParkedRead>,
    /// The kernel's poll handle of each open file that was polled.
    polls: HashMap<u64, u64>,
    closing: bool,
    /// Counts wake-ups: a reader that checked readiness without the lock
    /// parks only if none came since (else it checks again).
    epoch: u64,
}

/// Parked reads and poll registrations.
#[derive(Default)]
pub struct Waiting {
    state: Mutex<State>,
    parked_changed: Condvar,
    waker: OnceLock<PollWaker>,
}

/// What a readiness check says about a parked read: answer it now, or
/// leave it parked.
pub type Check<'a> = &'a dyn Fn(&ParkedRead) -> Option<Result<Data>>;

impl Waiting {
    /// Send poll wake-ups through `waker` from now on.
    pub fn set_waker(&self, waker: PollWaker) {
        let _ = self.waker.set(waker);
    }

    /// The count of wake-ups so far, to read before checking readiness.
    pub fn epoch(&self) -> u64 {
        lock(&self.state).epoch
    }

    /// Answer `read` with `ready` if it is something, else park it until a
    /// wake-up finds it ready; `ready` was checked after [`Self::epoch`]
    /// said `epoch`: when a wake-up came since, the read is handed back
    /// to check again. While closing, `closed` answers.
    pub fn read_or_park(
        &self,
        read: ParkedRead,
        epoch: u64,
        ready: Option<Result<Data>>,
        closed: impl FnOnce(&ParkedRead) -> Result<Data>,
    ) -> std::result::Result<(), ParkedRead> {
        let mut state = lock(&self.state);
        let now = match (state.closing, ready) {
            (true, _) => Some(closed(&read)),
            (false, Some(result)) => Some(result),
            (false, None) if state.epoch != epoch => return Err(read),
            (false, None) => None,
        };
        match now {
            Some(result) => {
                drop(state);
                (read.answer)(result);
            }
            None => {
                state.parked.push(read);
                drop(state);
                self.parked_changed.notify_all();
            }
        }
        Ok(())
    }

    /// Answer the parked reads that `check` finds ready.
    pub fn wake(&self, check: Check<'_>) {
        let ready = {
            let mut state = lock(&self.state);
            state.epoch += 1;
            let mut ready = Vec::new();
            let mut i = 0;
            while i < state.parked.len() {
                match check(&state.parked[i]) {
                    Some(result) => ready.push((state.parked.swap_remove(i), result)),
                    None => i += 1,
                }
            }
            ready
        };
        for (read, result) in ready {
            (read.answer)(result);
        }
    }

    /// How many reads are parked.
    pub fn parked(&self) -> usize {
        lock(&self.state).parked.len()
    }

    /// The readers of the parked reads.
    pub fn parked_pids(&self) -> Vec<u32> {
        lock(&self.state).parked.iter().map(|p| p.pid).collect()
    }

    /// Block until some read is parked (the interrupt sweeper's idle).
    pub fn until_parked(&self) {
        let mut state = lock(&self.state);
        while state.parked.is_empty() && !state.closing {
            state = self
                .parked_changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// End the parked reads whose reader has a signal pending with EINTR,
    /// as a FUSE INTERRUPT would; how many.
    pub fn interrupt(&self, signalled: &dyn Fn(u32) -> bool) -> usize {
        let interrupted = {
            let mut state = lock(&self.state);
            let (gone, kept) = std::mem::take(&mut state.parked)
                .into_iter()
                .partition(|p: &ParkedRead| signalled(p.pid));
            state.parked = kept;
            gone
        };
        let count: usize = interrupted.len();
        for read in interrupted {
            (read.answer)(Err(Error::new(libc::EINTR, "interrupted")));
        }
        count
    }

    /// Register the kernel's poll handle of `fh` and return `ready`,
    /// checked after [`Self::epoch`] said `epoch`; `None` when a wake-up
    /// came since (check again).
    pub fn poll(&self, fh: u64, kh: Option<u64>, epoch: u64, ready: bool) -> Option<bool> {
        let mut state = lock(&self.state);
        if let Some(kh) = kh {
            // One handle per open file: the kernel's is per file.
            state.polls.insert(fh, kh);
        }
        if state.closing || ready {
            return Some(true);
        }
        (state.epoch == epoch).then_some(false)
    }

    /// Wake the pollers of the open files that `ready` selects.
    pub fn wake_polls(&self, ready: &dyn Fn(u64) -> bool) {
        let handles: Vec<u64> = {
            let mut state = lock(&self.state);
            state.epoch += 1;
            state
                .polls
                .iter()
                .filter(|(fh, _)| ready(**fh))
                .map(|(_, kh)| *kh)
                .collect()
        };
        if let Some(waker) = self.waker.get() {
            for kh in handles {
                waker(kh);
            }
        }
    }

    /// How many open files have a poll registration.
    pub fn polled(&self) -> usize {
        lock(&self.state).polls.len()
    }

    /// An open file closed: drop its registration and parked reads.
    pub fn forget(&self, fh: u64) {
        let dropped: Vec<ParkedRead> = {
            let mut state = lock(&self.state);
            state.polls.remove(&fh);
            if !state.parked.iter().any(|p| p.fh == fh) {
                return;
            }
            let (dropped, kept) = std::mem::take(&mut state.parked)
                .into_iter()
                .partition(|p: &ParkedRead| p.fh == fh);
            state.parked = kept;
            dropped
        };
        for read in dropped {
            (read.answer)(Err(Error::new(libc::EBADF, "closed while reading")));
        }
    }

    /// The daemon stops: answer every parked read with `end`, and every
    /// later one at once; wake every poller.
    pub fn close(&self, end: &dyn Fn(&ParkedRead) -> Result<Data>) {
        let (parked, handles) = {
            let mut state = lock(&self.state);
            state.closing = true;
            let handles: Vec<u64> = state.polls.values().copied().collect();
            (std::mem::take(&mut state.parked), handles)
        };
        self.parked_changed.notify_all();
        for read in parked {
            let result = end(&read);
            (read.answer)(result);
        }
        if let Some(waker) = self.waker.get() {
            for kh in handles {
                waker(kh);
            }
        }
    }

    /// Whether the daemon is stopping.
    pub fn is_closing(&self) -> bool {
        lock(&self.state).closing
    }
}
