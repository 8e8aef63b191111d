//! One reader's queue of lines, for the files that stream (`events`,
//! `wait/output`): bounded, so that sending never waits for a reader and
//! a slow reader loses lines without holding up the sender or the other
//! readers; it is told how many it lost with one line where the gap is,
//! worded by whoever made the feed. Reads take whole lines that fit
//! (a line longer than the read is given in pieces, nothing lost), and
//! each push wakes the reader's waiting read or poll.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::sync::lock;

/// One reader's queue. The sender keeps it weakly: dropping it (the file
/// is closed) unsubscribes.
pub struct Feed {
    queue: Mutex<Queue>,
    capacity: usize,
    lost_line: fn(u64) -> String,
    wake: Box<dyn Fn() + Send + Sync>,
}

#[derive(Default)]
struct Queue {
    entries: VecDeque<Entry>,
    lines: usize,
    /// Lines dropped since the last one queued.
    lost: u64,
    /// The rest of a line longer than the last read asked for.
    partial: Vec<u8>,
}

enum Entry {
    Line(Arc<str>),
    Lost(u64),
}

impl Queue {
    fn push(&mut self, line: Arc<str>, capacity: usize) {
        if self.lines >= capacity {
            self.lost += 1;
            return;
        }
        if self.lost > 0 {
            self.entries.push_back(Entry::Lost(self.lost));
            self.lost = 0;
        }
        self.entries.push_back(Entry::Line(line));
        self.lines += 1;
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.lost == 0 && self.partial.is_empty()
    }

    /// Whole lines up to `max` bytes (at least part of one).
    fn take(&mut self, max: usize, lost_line: fn(u64) -> String) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let max = max.max(1);
        let mut out = std::mem::take(&mut self.partial);
        if self.entries.is_empty() && self.lost > 0 {
            self.entries.push_back(Entry::Lost(self.lost));
            self.lost = 0;
        }
        while out.len() < max {
            let Some(entry) = self.entries.front() else {
                break;
            };
            let text = match entry {
                Entry::Line(line) => format!("{line}\n"),
                Entry::Lost(n) => format!("{}\n", lost_line(*n)),
            };
            if !out.is_empty() && out.len() + text.len() > max {
                break;
            }
            if let Some(Entry::Line(_)) = self.entries.pop_front() {
                self.lines -= 1;
            }
            out.extend_from_slice(text.as_bytes());
        }
        if out.len() > max {
            self.partial = out.split_off(max);
        }
        Some(out)
    }
}

impl Feed {
    /// A feed of at most `capacity` waiting lines, telling of lost ones
    /// with `lost_line(count)`; `wake` is called, outside any lock, after
    /// each push.
    pub fn new(
        capacity: usize,
        lost_line: fn(u64) -> String,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Arc<Feed> {
        Arc::new(Feed {
            queue: Mutex::default(),
            capacity,
            lost_line,
            wake: Box::new(wake),
        })
    }

    /// Queue `lines` (each without its newline), then wake the reader.
    pub fn push(&self, lines: &[Arc<str>]) {
        if lines.is_empty() {
            return;
        }
        {
            let mut queue = lock(&self.queue);
            for line in lines {
                queue.push(line.clone(), self.capacity);
            }
        }
        (self.wake)();
    }

    /// Queued lines, as many whole ones as fit in `max` bytes; `None`
    /// when there is nothing to read.
    pub fn take(&self, max: usize) -> Option<Vec<u8>> {
        lock(&self.queue).take(max, self.lost_line)
    }

    /// Whether a read would return at once.
    pub fn is_ready(&self) -> bool {
        !lock(&self.queue).is_empty()
    }
}
