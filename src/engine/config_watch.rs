//! Following the config directory (and the directories of its Compose
//! projects, whose files are their services'). Polling it each second meant a
//! `readdir` and two `stat`s per service file: with 1000 services, most of
//! an idle daemon's CPU. inotify says when an entry of the directory (or
//! the directory itself) changes; what it cannot see is still polled each
//! second (a symlinked service file, whose target lives elsewhere; every
//! file when inotify is not available), and everything is looked at again
//! every [`SAFETY_NET_TICKS`] seconds (a lost event, a directory on a
//! network filesystem, a directory above the config dir).

use std::path::Path;
use std::sync::Arc;

use nix::sys::inotify::{AddWatchFlags, WatchDescriptor};
use tokio::io::unix::AsyncFd;

use crate::inotify::Watch;

use super::{Engine, CONFIG_POLL_INTERVAL};

/// Seconds between two looks at the whole directory without an event.
const SAFETY_NET_TICKS: u32 = 30;

/// Seconds the directory is still looked at each second after an event:
/// a reload leaves a file that is still being written (changed less than
/// its settle time ago) for the next look.
const AFTER_EVENT_TICKS: u32 = 3;

/// What a watch asks inotify to tell.
fn events() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
}

/// A watch of `dir`'s entries and of `dir` itself, with the descriptor of
/// `dir`'s own watch; None when inotify cannot watch it (the caller then
/// polls).
fn watch(dir: &Path) -> Option<(AsyncFd<Watch>, WatchDescriptor)> {
    let fd = crate::inotify::watch()?;
    let main = fd.get_ref().0.add_watch(dir, events()).ok()?;
    Some((fd, main))
}

/// Watch the Compose projects' directories too (again is harmless:
/// inotify keeps one watch per directory; one removed goes by itself).
fn watch_projects(fd: &AsyncFd<Watch>, dirs: &[std::path::PathBuf]) {
    for dir in dirs {
        if let Err(e) = fd.get_ref().0.add_watch(dir.as_path(), events()) {
            tracing::debug!(dir = %dir.display(), "no inotify watch of the Compose project: {e}");
        }
    }
}

/// What woke the follower.
enum Woken {
    /// inotify told of a change; false when the watch is gone (the
    /// directory was removed or moved).
    Event {
        still_watching: bool,
    },
    Tick,
}

impl Engine {
    /// Reload the config directory whenever it changes, for the daemon's
    /// life.
    pub(super) async fn follow_config_dir(self: Arc<Self>) {
        let dir = self.options.config_dir.clone();
        let mut watched = watch(&dir);
        if let Some((fd, _)) = &watched {
            watch_projects(fd, &self.project_dirs());
        }
        if watched.is_none() {
            tracing::info!(dir = %dir.display(), "no inotify watch of the config directory: polling it each second");
        }
        let mut tick = tokio::time::interval(CONFIG_POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut quiet_ticks = 0u32;
        let mut after_event = 0u32;
        loop {
            let woken = match &watched {
                Some((fd, main)) => tokio::select! {
                    ready = fd.readable() => match ready {
                        Ok(mut guard) => {
                            // Events that come during the reload stay
                            // queued: they wake the next round.
                            let events = guard.get_inner().0.read_events().unwrap_or_default();
                            guard.clear_ready();
                            // A project's directory going is no loss of
                            // the config directory's own watch.
                            let gone = events.iter().any(|e| {
                                e.wd == *main && e.mask.contains(AddWatchFlags::IN_IGNORED)
                            });
                            Woken::Event { still_watching: !gone }
                        }
                        Err(_) => Woken::Event { still_watching: false },
                    },
                    _ = tick.tick() => Woken::Tick,
                },
                None => {
                    tick.tick().await;
                    Woken::Tick
                }
            };
            let look = match woken {
                Woken::Event { still_watching } => {
                    if !still_watching {
                        watched = None;
                    }
                    after_event = AFTER_EVENT_TICKS;
                    true
                }
                Woken::Tick => {
                    quiet_ticks += 1;
                    if watched.is_none() {
                        // Watched again once the directory is back.
                        watched = watch(&dir);
                    }
                    let settling = after_event > 0;
                    after_event = after_event.saturating_sub(1);
                    settling
                        || watched.is_none()
                        || quiet_ticks % SAFETY_NET_TICKS == 0
                        || self.config_has_symlinks()
                }
            };
            if look {
                self.reload_and_refresh(false).await;
                if let Some((fd, _)) = &watched {
                    watch_projects(fd, &self.project_dirs());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::mounts::tests::TempDir;

    #[tokio::test]
    async fn a_change_in_the_directory_wakes_the_watch() {
        let dir = TempDir::new("config-watch");
        let (fd, _) = watch(dir.path()).expect("inotify watches a temp dir");
        std::fs::write(dir.path().join("a.env"), "[DEFAULT]\n").unwrap();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(5), fd.readable()).await;
        let mut guard = ready.expect("an event within 5 s").unwrap();
        let events = guard.get_inner().0.read_events().unwrap();
        guard.clear_ready();
        assert!(events
            .iter()
            .any(|e| e.name.as_deref() == Some(std::ffi::OsStr::new("a.env"))));
    }
}

#[cfg(test)]
mod project_tests {
    use super::*;
    use crate::drivers::mounts::tests::TempDir;

    #[tokio::test]
    async fn a_change_in_a_compose_project_wakes_the_watch_and_its_removal_keeps_it() {
        let dir = TempDir::new("config-watch-project");
        let project = dir.path().join("shop");
        std::fs::create_dir(&project).unwrap();
        std::fs::write(project.join("compose.yaml"), "services: {}\n").unwrap();
        let (fd, main) = watch(dir.path()).expect("inotify watches a temp dir");
        watch_projects(&fd, std::slice::from_ref(&project));
        std::fs::write(project.join(".env"), "TAG=1\n").unwrap();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(5), fd.readable()).await;
        let mut guard = ready.expect("an event within 5 s").unwrap();
        let events = guard.get_inner().0.read_events().unwrap();
        guard.clear_ready();
        assert!(events
            .iter()
            .any(|e| e.name.as_deref() == Some(std::ffi::OsStr::new(".env"))));
        std::fs::remove_dir_all(&project).unwrap();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(5), fd.readable()).await;
        let mut guard = ready.expect("an event within 5 s").unwrap();
        let events = guard.get_inner().0.read_events().unwrap();
        guard.clear_ready();
        assert!(!events
            .iter()
            .any(|e| e.wd == main && e.mask.contains(AddWatchFlags::IN_IGNORED)));
    }
}
