//! An inotify instance on tokio's reactor: what the followers of host
//! files (the config directory, a container's log file) wait on.

use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::sys::inotify::{InitFlags, Inotify};
use tokio::io::unix::AsyncFd;

/// The inotify descriptor, for tokio's reactor.
pub struct Watch(pub Inotify);

impl AsRawFd for Watch {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A new non-blocking inotify instance registered with the reactor of
/// the current tokio runtime; `None` when the kernel or the runtime has
/// none to give.
pub fn watch() -> Option<AsyncFd<Watch>> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
    // SAFETY: the Watch owns the Inotify, which owns its descriptor: it
    // stays open and is not replaced while it is registered.
    unsafe { AsyncFd::register(Watch(inotify)) }.ok()
}
