//! Integration tests against the real thing: a real dockerd, a real FUSE
//! mount, real containers from the locally built tutorial images
//! (`scripts/setup-test-env.sh` prepares them). One test binary, so the
//! crate is linked once.
//!
//! A missing prerequisite fails the test that needs it, naming it;
//! `SVCFS_SKIP_INTEGRATION=1` skips such tests on purpose, except under `CI`.

mod harness;

mod app;
mod bad_config;
mod bad_ctl;
mod caching;
mod cli;
mod cluster;
mod cluster_auth;
mod cluster_docker;
mod cluster_etcd;
mod cluster_vg;
mod completion;
mod compose;
mod containers;
mod crashes;
mod filesystem;
mod heal;
mod monitoring;
mod notify;
mod observe;
mod races;
mod reconnect;
mod secrets;
mod storage;
mod subsets;
mod tasks;
mod tutorial;
