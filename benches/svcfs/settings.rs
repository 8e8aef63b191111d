//! Sample counts and durations, from the environment:
//! - `SVCFS_BENCH_QUICK=1`: small counts everywhere (a run of about a
//!   minute, to develop the bench; its numbers mean little);
//! - `SVCFS_BENCH_ONLY=reads,process,frozen,change,observe,lifecycle,parallel,existing,tree,idle,apps,tasks,cluster`:
//!   run only these parts;
//! - `SVCFS_BENCH_READS`, `SVCFS_BENCH_CHANGES`, `SVCFS_BENCH_LINES`,
//!   `SVCFS_BENCH_STARTS`, `SVCFS_BENCH_STOPS`, `SVCFS_BENCH_SERVICES`,
//!   `SVCFS_BENCH_IDLE_SECS`, `SVCFS_BENCH_CLUSTER` (placements, switches),
//!   `SVCFS_BENCH_FAILOVERS`:
//!   one count each;
//! - `SVCFS_BENCH_OUT`: where the report goes (default: bench/).

use std::path::PathBuf;
use std::time::Duration;

/// The parts of the bench, in the order they run.
pub const PARTS: [&str; 13] = [
    "reads",
    "process",
    "frozen",
    "change",
    "observe",
    "lifecycle",
    "parallel",
    "existing",
    "tree",
    "idle",
    "apps",
    "tasks",
    "cluster",
];

#[derive(Debug, Clone)]
pub struct Settings {
    pub quick: bool,
    only: Option<Vec<String>>,
    /// Samples per in-process read loop.
    pub reads: usize,
    /// `cat` and `docker inspect` processes.
    pub processes: usize,
    /// Bound on each loop of the frozen-dockerd row.
    pub frozen: Duration,
    /// Kills of the first-read-after-change row.
    pub changes: usize,
    /// Lines read through a container's `wait/output`.
    pub lines: usize,
    /// Start samples, and how many of them are followed by a stop sample
    /// (one by default: the CLI baseline alone takes 3 × the 10 s timeout).
    pub starts: usize,
    pub stops: usize,
    /// Generated services of the tree and idle rows.
    pub services: usize,
    /// Warm walks after the cold one.
    pub warm_walks: usize,
    /// Settling before the idle window, and the window.
    pub settle: Duration,
    pub idle: Duration,
    /// Placements and switches of the cluster rows (and starts, stops).
    pub cluster_samples: usize,
    /// Node deaths of the failover row (each costs a lease TTL).
    pub failovers: usize,
    pub out: PathBuf,
}

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Settings {
    pub fn from_env() -> Settings {
        let quick = std::env::var("SVCFS_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let pick = |full: usize, small: usize| if quick { small } else { full };
        let only = std::env::var("SVCFS_BENCH_ONLY")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            });
        for unknown in only
            .iter()
            .flatten()
            .filter(|p| !PARTS.contains(&p.as_str()))
        {
            eprintln!(
                "bench: SVCFS_BENCH_ONLY: unknown part {unknown:?} (parts: {})",
                PARTS.join(",")
            );
        }
        let starts = count("SVCFS_BENCH_STARTS", pick(6, 1)).max(1);
        Settings {
            quick,
            only,
            reads: count("SVCFS_BENCH_READS", pick(10_000, 1_000)).max(1),
            processes: pick(50, 10),
            frozen: Duration::from_secs(pick(3, 1) as u64),
            changes: count("SVCFS_BENCH_CHANGES", pick(15, 3)).max(1),
            lines: count("SVCFS_BENCH_LINES", pick(1000, 100)).max(1),
            starts,
            stops: count("SVCFS_BENCH_STOPS", 1).min(starts),
            services: count("SVCFS_BENCH_SERVICES", pick(1000, 100)).max(1),
            warm_walks: pick(3, 1),
            settle: Duration::from_secs(pick(10, 2) as u64),
            idle: Duration::from_secs(count("SVCFS_BENCH_IDLE_SECS", pick(60, 5)) as u64),
            cluster_samples: count("SVCFS_BENCH_CLUSTER", pick(6, 2)).max(1),
            failovers: count("SVCFS_BENCH_FAILOVERS", pick(3, 1)).max(1),
            out: std::env::var_os("SVCFS_BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench")),
        }
    }

    /// Whether a part of the bench runs.
    pub fn runs(&self, part: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|p| p == part))
    }

    /// One line for the report's header.
    pub fn describe(&self) -> String {
        format!(
            "{}{} reads per loop, {} processes, {} kills, {} output lines, \
             {} starts / {} stops, {} services, {} warm walks, idle {} s after {} s, \
             {} placements and switches, {} failovers",
            if self.quick {
                "QUICK (numbers for development only): "
            } else {
                ""
            },
            self.reads,
            self.processes,
            self.changes,
            self.lines,
            self.starts,
            self.stops,
            self.services,
            self.warm_walks,
            self.idle.as_secs(),
            self.settle.as_secs(),
            self.cluster_samples,
            self.failovers,
        )
    }
}
