//! Integration tests against the real thing: a real dockerd, a real FUSE
//! mount, real containers from the locally built tutorial images
//! (`scripts/setup-test-env.sh` prepares them). One test binary, so the
//! crate is linked once.
//!
//! With `CI` set, a missing prerequisite fails the run instead of
//! skipping it.

mod harness;

mod caching;
mod cli;
mod containers;
mod filesystem;
mod storage;
mod tutorial;
