//! svcfs: multi-container services and the host resources they live on,
//! managed through a FUSE filesystem.
//!
//! Reads flow one way — backends → [`engine`] refresher → snapshot
//! ([`model`]) → [`render`]ed once per generation → [`fs`] read — and
//! writes the other — [`fs`] write → ctl parser → engine action →
//! [`drivers`] → backends.

pub mod actionlog;
pub mod bounded;
pub mod cgroup;
pub mod children;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod docker;
pub mod drivers;
pub mod engine;
pub mod error;
pub mod feed;
pub mod fs;
pub mod host;
pub mod inotify;
pub mod memory;
pub mod model;
pub mod render;
pub mod sync;
pub mod vardir;
