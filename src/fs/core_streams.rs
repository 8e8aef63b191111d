//! The core's streams and wake-ups: poll(2) readiness of open files,
//! `events` reads from the change bus, `wait/<word>` reads, and what a
//! publication wakes. Reads with nothing to return are parked in
//! [`Waiting`](crate::fs::waiting::Waiting), never holding the caller.

use std::sync::{Arc, OnceLock, Weak};

use super::{Core, Data, FileKind, Stream};
use crate::engine::Feed;
use crate::error::{Error, Result};
use crate::fs::inodes::NodePath;
use crate::fs::waiting::{Answer, ParkedRead, Waits};
use crate::model::Status;
use crate::render::ServiceTree;
use crate::sync::lock;

/// What poll(2) may report of an open file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A read returns at once (POLLIN).
    pub readable: bool,
    /// The bytes changed since the handle's snapshot (POLLPRI).
    pub changed: bool,
    /// A write is taken (POLLOUT).
    pub writable: bool,
}

impl Core {
    /// A feed of the change bus for handle `fh`, whose lines wake its
    /// parked reads and pollers.
    pub(super) fn subscribe(&self, fh: u64, service: Option<&str>) -> Arc<Feed> {
        let (wake, slot) = self.feed_wake(fh);
        let feed = self.source.changes().subscribe(service, wake);
        let _ = slot.set(Arc::downgrade(&feed));
        feed
    }

    /// What a feed of handle `fh` calls after queueing lines: it answers
    /// the handle's parked read and wakes its pollers. The feed is put in
    /// the returned slot once made.
    pub(super) fn feed_wake(
        &self,
        fh: u64,
    ) -> (impl Fn() + Send + Sync + 'static, Arc<OnceLock<Weak<Feed>>>) {
        let slot: Arc<OnceLock<Weak<Feed>>> = Arc::default();
        let waiting = Arc::downgrade(&self.waiting);
        let me = slot.clone();
        let wake = move || {
            let (Some(waiting), Some(feed)) = (waiting.upgrade(), me.get().and_then(Weak::upgrade))
            else {
                return;
            };
            waiting.wake(&|p| match &p.on {
                Waits::Line(f) if p.fh == fh => f.take(p.size as usize).map(|b| Ok(Data::owned(b))),
                _ => None,
            });
            waiting.wake_polls(&|polled| polled == fh && feed.is_ready());
        };
        (wake, slot)
    }

    /// What a stream read returns now, if anything.
    pub(super) fn stream_now(&self, waits: &Waits, offset: u64, size: u32) -> Option<Result<Data>> {
        match waits {
            Waits::Line(feed) => feed.take(size as usize).map(|b| Ok(Data::owned(b))),
            // The rest of the word, then the end of the file.
            Waits::Status(_, word) if offset > 0 => Some(Ok(word_line(*word, offset, size))),
            Waits::Status(path, word) => {
                let tree = path.service().and_then(|s| self.source.service_tree(s));
                wait_answer(tree.as_deref(), path, *word, size)
            }
        }
    }

    /// Read from a stream, waiting (without holding the caller) until it
    /// has something: `answer` is called once, now or later. `pid` is the
    /// reader's, to end the wait with EINTR when it is signalled.
    pub fn read_later(&self, fh: u64, offset: u64, size: u32, pid: u32, answer: Answer) {
        let waits = {
            let files = lock(&self.files);
            match files
                .get(&fh)
                .and_then(|f| f.stream.as_ref().map(|s| s.waits(&f.path)))
            {
                Some(waits) => waits,
                None => {
                    drop(files);
                    return answer(self.read(fh, offset, size));
                }
            }
        };
        let mut read = ParkedRead {
            fh,
            pid,
            size,
            on: waits,
            answer,
        };
        loop {
            let epoch = self.waiting.epoch();
            let now = self.stream_now(&read.on, offset, size);
            let closed = |p: &ParkedRead| closed_answer(&p.on);
            match self.waiting.read_or_park(read, epoch, now, closed) {
                Ok(()) => return,
                Err(again) => read = again,
            }
        }
    }

    /// poll(2) on an open file; `kh` is the kernel's handle to wake when it
    /// becomes ready (registered for the handle's life).
    pub fn poll(&self, fh: u64, kh: Option<u64>) -> Result<Readiness> {
        loop {
            let epoch = self.waiting.epoch();
            let now = self.readiness(fh)?;
            let ready = now.readable || now.writable;
            match self.waiting.poll(fh, kh, epoch, ready) {
                // Stopping: every file is ready, a read returns at once.
                Some(true) if !ready => {
                    return Ok(Readiness {
                        readable: true,
                        ..now
                    })
                }
                Some(_) => return Ok(now),
                None => {}
            }
        }
    }

    fn readiness(&self, fh: u64) -> Result<Readiness> {
        let (path, kind, snapshot, waits, live) = {
            let files = lock(&self.files);
            let file = files
                .get(&fh)
                .ok_or_else(|| Error::new(libc::EBADF, "not an open file"))?;
            let waits = file.stream.as_ref().map(|s| s.waits(&file.path));
            // `metrics` is compared by the state's series it began with.
            let snapshot = file.basis.clone().unwrap_or_else(|| file.content.clone());
            (
                file.path.clone(),
                file.kind,
                snapshot,
                waits,
                file.live.is_some(),
            )
        };
        Ok(match (kind, waits) {
            (FileKind::Ctl | FileKind::Hold, _) => Readiness {
                readable: true,
                changed: false,
                writable: true,
            },
            // svcfs cannot see a counter change: always readable, as a
            // regular file, never "changed" (SPEC section 6).
            (_, None) if live && !is_metrics(&path) => Readiness {
                readable: true,
                ..Readiness::default()
            },
            (_, Some(Waits::Line(feed))) => Readiness {
                readable: feed.is_ready(),
                ..Readiness::default()
            },
            (_, Some(waits)) => Readiness {
                readable: self.stream_now(&waits, 0, 0).is_some(),
                ..Readiness::default()
            },
            (_, None) if is_metrics(&path) => {
                let changed = differs(&snapshot, Some(&self.metrics_file().content));
                Readiness {
                    readable: changed,
                    changed,
                    writable: false,
                }
            }
            (_, None) => {
                let tree = path.service().and_then(|s| self.source.service_tree(s));
                let now = tree.as_deref().and_then(|t| content_in(t, &path));
                let changed = differs(&snapshot, now.as_ref());
                Readiness {
                    readable: changed,
                    changed,
                    writable: false,
                }
            }
        })
    }

    /// A service's files went from `before` to `after` (the kernel's
    /// caches already dropped): answer the `wait` reads it satisfies and
    /// wake the pollers of the handles it made ready.
    pub fn published(&self, before: Option<&ServiceTree>, after: Option<&ServiceTree>) {
        let Some(service) = after.or(before).map(|t| t.name.clone()) else {
            return;
        };
        self.waiting.wake(&|p| match &p.on {
            Waits::Status(path, word) if path.service() == Some(&*service) => {
                wait_answer(after, path, *word, p.size)
            }
            _ => None,
        });
        let files = &self.files;
        // The root `metrics` file holds every service's series: built
        // once for all its pollers, and only if one of them is polled.
        let metrics = std::sync::OnceLock::new();
        self.waiting.wake_polls(&|fh| {
            let files = lock(files);
            let Some(file) = files.get(&fh) else {
                return false;
            };
            if is_metrics(&file.path) {
                let now = metrics.get_or_init(|| self.metrics_file().content);
                let basis = file.basis.as_ref().unwrap_or(&file.content);
                return differs(basis, Some(now));
            }
            if file.path.service() != Some(&*service) {
                return false;
            }
            match &file.stream {
                Some(Stream::Wait(word)) => wait_answer(after, &file.path, *word, 0).is_some(),
                Some(Stream::Lines(_)) => false,
                None if matches!(file.kind, FileKind::Ctl | FileKind::Hold) => false,
                None if file.live.is_some() => false,
                None => differs(
                    &file.content,
                    after.and_then(|t| content_in(t, &file.path)).as_ref(),
                ),
            }
        });
    }

    /// The daemon stops: blocked `events` reads end (end of file), blocked
    /// `wait` reads fail with ENOTCONN (the mount is going away), and so
    /// do later ones.
    pub fn close_streams(&self) {
        self.waiting.close(&|p| closed_answer(&p.on));
    }
}

/// `<word>\n` from `offset`, at most `size` bytes.
fn word_line(word: Status, offset: u64, size: u32) -> Data {
    let line = format!("{word}\n").into_bytes();
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(line.len());
    let end = start.saturating_add(size as usize).min(line.len());
    Data::owned(line[start..end].to_vec())
}

/// What a `wait` file of `path` returns from `tree` now (at most `size`
/// bytes): its word once the status equals it, ENOENT once what it waits
/// on is gone.
fn wait_answer(
    tree: Option<&ServiceTree>,
    path: &NodePath,
    word: Status,
    size: u32,
) -> Option<Result<Data>> {
    let gone = || {
        Some(Err(Error::not_found(format!(
            "{} is gone",
            path.parent().parent().name()
        ))))
    };
    let Some(tree) = tree else {
        return gone();
    };
    let file = match path {
        NodePath::WaitFile(_, None, _) => tree.file("status"),
        NodePath::WaitFile(_, Some(rid), _) => match tree.resource(rid) {
            Some(r) => r.file("status"),
            None => return gone(),
        },
        _ => None,
    };
    let now = file.and_then(|f| std::str::from_utf8(&f.content).ok())?;
    (now.trim_end() == word.as_str()).then(|| Ok(word_line(word, 0, size)))
}

/// What a stream read gets when the daemon stops.
fn closed_answer(waits: &Waits) -> Result<Data> {
    match waits {
        Waits::Line(_) => Ok(Data::owned(Vec::new())),
        Waits::Status(..) => Err(Error::new(libc::ENOTCONN, "svcfs is stopping")),
    }
}

/// The bytes `path` has in `tree`, for a file of the tree.
fn content_in(tree: &ServiceTree, path: &NodePath) -> Option<Arc<[u8]>> {
    let file = match path {
        NodePath::ServiceFile(_, name) => tree.file(name)?,
        NodePath::ResourceFile(_, rid, name) => tree.resource(rid)?.file(name)?,
        _ => return None,
    };
    Some(file.content.clone())
}

fn is_metrics(path: &NodePath) -> bool {
    matches!(path, NodePath::RootFile(name) if &**name == "metrics")
}

/// Whether `now` differs from a handle's snapshot.
fn differs(snapshot: &Arc<[u8]>, now: Option<&Arc<[u8]>>) -> bool {
    now.is_none_or(|now| !Arc::ptr_eq(snapshot, now) && **snapshot != **now)
}
