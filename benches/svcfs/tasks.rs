//! The idle daemon of a thousand services whose `avail` is up, each with a
//! task scheduled every minute that runs `/bin/true`: the daemon's own CPU
//! time, apart from that of the runs it spawned and reaped, and its memory.
//! A thousand runs fall due in the same second each minute (cron's
//! semantics), so the window holds one such burst.

use std::time::Duration;

use serde_json::json;

use crate::bed::Bed;
use crate::idle::{watch, CPU_LIMIT_PERCENT, RSS_LIMIT_MIB};
use crate::report::Row;
use crate::settings::Settings;

/// The tasks' period.
const PERIOD: Duration = Duration::from_secs(60);

/// A service that is up (an app whose check says so, checked at mount
/// and then once a week, so that its checks cost nothing in the window)
/// with a task every minute.
fn service_file() -> String {
    "[app#1]\ncheck = /bin/true\ncheck_interval = 7d\n\
     [task#1]\ncommand = /bin/true\nschedule = * * * * *\n"
        .to_string()
}

fn service(i: usize) -> String {
    format!("task{i:04}.svcfs-bench")
}

pub fn row(settings: &Settings) -> Row {
    let mut bed = Bed::new("bench-tasks", &[]);
    for i in 0..settings.services {
        bed.sandbox()
            .service_file(&format!("{}.conf", service(i)), &service_file());
    }
    let daemon = bed.mount(&["--refresh-interval", "30"]);
    let pid = daemon.pid();
    let mnt = daemon.path("");
    std::thread::sleep(settings.settle);
    let up = (0..settings.services)
        .filter(|i| {
            std::fs::read_to_string(mnt.join(service(*i)).join("avail")).unwrap_or_default()
                == "up\n"
        })
        .count();
    // At least one period, so that every task runs in the window.
    let watched = watch(pid, settings.idle.max(PERIOD));
    let (elapsed, own, runs, rss_max) = (
        watched.elapsed_s,
        watched.own_s,
        watched.children_s,
        watched.rss_max_kib,
    );
    // How many tasks ran (each service's last_run is not empty).
    let ran = (0..settings.services)
        .filter(|i| {
            !std::fs::read_to_string(mnt.join(service(*i)).join("task#1/last_run"))
                .unwrap_or_default()
                .is_empty()
        })
        .count();
    let own_percent = own / elapsed * 100.0;
    let runs_percent = runs / elapsed * 100.0;
    let rss_mib = rss_max as f64 / 1024.0;
    bed.unmount();
    Row {
        name: format!(
            "daemon with {} services up, each with a task every minute (/bin/true), idle for {elapsed:.0} s",
            settings.services,
        ),
        baseline_name: "—".to_string(),
        value: Some(format!(
            "own CPU {own_percent:.2} % of a core; the runs' {runs_percent:.2} %; \
             RSS {rss_mib:.1} MiB (max)"
        )),
        target: format!(
            "own CPU < {CPU_LIMIT_PERCENT:.0} %, RSS ≤ {RSS_LIMIT_MIB:.0} MiB; the runs' CPU reported"
        ),
        met: Some(
            own_percent < CPU_LIMIT_PERCENT && rss_mib <= RSS_LIMIT_MIB && ran == settings.services,
        ),
        note: format!(
            "after {:.0} s of settling, {up} services up; {ran} tasks ran in the window \
             (schedule `* * * * *`: all due in the same second); own = the daemon's \
             utime+stime ({own:.2} s), the runs' = its reaped children's ({runs:.2} s); each \
             run spawned in a process group of its own, its record written, its files and \
             events updated",
            settings.settle.as_secs_f64()
        ),
        data: json!({
            "rss_max_kib": rss_max,
            "cpu_own_percent": own_percent,
            "cpu_runs_percent": runs_percent,
            "cpu_own_s": own,
            "cpu_runs_s": runs,
            "elapsed_s": elapsed,
            "services_up": up,
            "tasks_ran": ran,
        }),
        ..Row::default()
    }
}
