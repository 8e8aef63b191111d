//! The idle daemon: with the big tree freshly mounted and nobody reading,
//! its resident memory, its CPU time (its own and that of the host
//! commands it ran and reaped), the docker API calls it makes, counted
//! by the proxy its `--docker-host` points at, and the file descriptors
//! it holds. Also the memory of the
//! daemon that has just served the walks, which names every node of the
//! tree.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::proxy::CountingProxy;
use crate::report::Row;
use crate::settings::Settings;

pub const RSS_LIMIT_MIB: f64 = 64.0;
pub const CPU_LIMIT_PERCENT: f64 = 1.0;
/// "≈ 0" API calls: at most one a minute (a rare reconcile).
const CALLS_PER_MINUTE_LIMIT: f64 = 1.0;
/// Open file descriptors of the idle daemon, whatever the number of
/// services: FUSE's, the runtime's, the config directory's watch and one
/// docker event stream per daemon are all it needs.
const FDS_LIMIT: usize = 64;

/// What a process holds open: descriptors, how many are sockets, and how
/// many inodes its inotify instances watch (a followed log file is one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub fds: usize,
    pub sockets: usize,
    pub watches: usize,
}

/// The descriptors `pid` holds now (from /proc/<pid>/fd and fdinfo).
pub fn held(pid: i32) -> Option<Held> {
    let mut held = Held::default();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        held.fds += 1;
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if target.starts_with("socket:") {
            held.sockets += 1;
        } else if target == "anon_inode:inotify" {
            let info = format!("/proc/{pid}/fdinfo/{}", entry.file_name().to_string_lossy());
            held.watches += std::fs::read_to_string(info)
                .map(|t| t.lines().filter(|l| l.starts_with("inotify wd:")).count())
                .unwrap_or(0);
        }
    }
    Some(held)
}

/// utime, stime, cutime, cstime of a process, in clock ticks.
pub fn cpu_ticks(pid: i32) -> Option<[u64; 4]> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends with the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 → index 11.
    let get = |i: usize| fields.get(i)?.parse().ok();
    Some([get(11)?, get(12)?, get(13)?, get(14)?])
}

pub fn rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What a daemon used over a window: its own CPU time and that of the
/// children it reaped (seconds), and its largest and last resident
/// memory (KiB).
pub struct Watched {
    pub elapsed_s: f64,
    pub own_s: f64,
    pub children_s: f64,
    pub rss_max_kib: u64,
    pub rss_last_kib: u64,
}

/// Watch the daemon `pid` for `window`, its memory sampled each second.
pub fn watch(pid: i32, window: Duration) -> Watched {
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let before = cpu_ticks(pid).expect("the daemon runs");
    let started = Instant::now();
    let (mut rss_max_kib, mut rss_last_kib) = (0, 0);
    while started.elapsed() < window {
        if let Some(rss) = rss_kib(pid) {
            rss_max_kib = rss_max_kib.max(rss);
            rss_last_kib = rss;
        }
        std::thread::sleep(Duration::from_secs(1).min(window));
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let after = cpu_ticks(pid).expect("the daemon still runs");
    let delta = |i: usize| after[i].saturating_sub(before[i]) as f64 / ticks_per_s;
    Watched {
        elapsed_s,
        own_s: delta(0) + delta(1),
        children_s: delta(2) + delta(3),
        rss_max_kib,
        rss_last_kib,
    }
}

/// The resident memory of the daemon that served the walks, sampled each
/// second over the settling time.
pub fn walked_row(settings: &Settings, pid: i32, services: usize) -> Row {
    let started = Instant::now();
    let mut rss_max = 0;
    let mut rss_last = 0;
    loop {
        if let Some(rss) = rss_kib(pid) {
            rss_max = rss_max.max(rss);
            rss_last = rss;
        }
        if started.elapsed() >= settings.settle {
            break;
        }
        std::thread::sleep(Duration::from_secs(1).min(settings.settle));
    }
    let rss_mib = rss_max as f64 / 1024.0;
    Row {
        name: format!("daemon with {services} services after serving the walks"),
        baseline_name: "—".to_string(),
        value: Some(format!("RSS {rss_mib:.1} MiB (max)")),
        target: format!("RSS ≤ {RSS_LIMIT_MIB:.0} MiB"),
        met: Some(rss_mib <= RSS_LIMIT_MIB),
        note: format!(
            "the daemon of the last walk rows, which looked up every node of the tree \
             (inode numbers stay for the mount's life); sampled over {:.0} s after them; \
             RSS last {:.1} MiB",
            settings.settle.as_secs_f64(),
            rss_last as f64 / 1024.0
        ),
        data: json!({ "rss_max_kib": rss_max, "rss_last_kib": rss_last }),
        ..Row::default()
    }
}

pub fn row(settings: &Settings, pid: i32, services: usize, proxy: &CountingProxy) -> (Row, String) {
    std::thread::sleep(settings.settle);
    proxy.reset();
    let held_before = held(pid).expect("the daemon runs");
    let watched = watch(pid, settings.idle);
    let held_after = held(pid).expect("the daemon still runs");
    let counts = proxy.counts();
    let (elapsed, own, children, rss_max, rss_last) = (
        watched.elapsed_s,
        watched.own_s,
        watched.children_s,
        watched.rss_max_kib,
        watched.rss_last_kib,
    );
    let cpu_percent = (own + children) / elapsed * 100.0;
    let calls: u64 = counts.values().sum();
    let per_minute = calls as f64 / elapsed * 60.0;
    let rss_mib = rss_max as f64 / 1024.0;
    let fds_bounded = held_after.fds <= FDS_LIMIT && held_after.fds <= held_before.fds;
    let met = rss_mib <= RSS_LIMIT_MIB
        && cpu_percent < CPU_LIMIT_PERCENT
        && per_minute <= CALLS_PER_MINUTE_LIMIT
        && fds_bounded;

    let mut section = format!(
        "Requests svcfs sent to docker in {elapsed:.0} s of idleness ({calls} in all), \
         by endpoint (API version and ids folded):\n\n| endpoint | requests |\n| --- | --- |\n"
    );
    let mut by_count: Vec<(&String, &u64)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (endpoint, n) in &by_count {
        let _ = writeln!(section, "| `{endpoint}` | {n} |");
    }
    if by_count.is_empty() {
        section.push_str("| (none) | 0 |\n");
    }
    let row = Row {
        name: format!("daemon with {services} services idle for {elapsed:.0} s, fresh"),
        baseline_name: "—".to_string(),
        value: Some(format!(
            "RSS {rss_mib:.1} MiB (max), CPU {cpu_percent:.2} % of a core, \
             {calls} docker API calls ({per_minute:.1}/min), {} file descriptors",
            held_after.fds
        )),
        target: format!(
            "RSS ≤ {RSS_LIMIT_MIB:.0} MiB, CPU < {CPU_LIMIT_PERCENT:.0} %, API calls ≈ 0 (≤ {CALLS_PER_MINUTE_LIMIT:.0}/min), \
             ≤ {FDS_LIMIT} file descriptors, not growing"
        ),
        met: Some(met),
        note: format!(
            "after {:.0} s of settling; CPU = the daemon's utime+stime ({own:.2} s) plus its \
             reaped children's ({children:.2} s) over the window; RSS last {:.1} MiB; \
             file descriptors {} at the start of the window and {} at its end, {} of them \
             sockets; inotify watches: {} (nothing followed: a container's output is \
             followed only while a reader holds its stream)",
            settings.settle.as_secs_f64(),
            rss_last as f64 / 1024.0,
            held_before.fds,
            held_after.fds,
            held_after.sockets,
            held_after.watches
        ),
        data: json!({
            "rss_max_kib": rss_max,
            "rss_last_kib": rss_last,
            "cpu_percent": cpu_percent,
            "cpu_own_s": own,
            "cpu_children_s": children,
            "elapsed_s": elapsed,
            "docker_api_calls": calls,
            "docker_api_calls_by_endpoint": counts,
            "fds_before": held_before.fds,
            "fds_after": held_after.fds,
            "sockets": held_after.sockets,
            "inotify_watches": held_after.watches,
        }),
        ..Row::default()
    };
    (row, section)
}
