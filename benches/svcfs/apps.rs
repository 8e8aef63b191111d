//! The idle daemon of a thousand services with one app each, whose check
//! (`/bin/true`) runs every minute: the daemon's own CPU time, apart from
//! that of the checks it ran and reaped, and its memory.

use std::time::Duration;

use serde_json::json;

use crate::bed::Bed;
use crate::idle::{watch, CPU_LIMIT_PERCENT, RSS_LIMIT_MIB};
use crate::report::Row;
use crate::settings::Settings;

/// The check interval of the generated apps.
const CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// A service with one app checked every minute.
fn service_file() -> String {
    format!(
        "[app#1]\ncheck = /bin/true\ncheck_interval = {}s\n",
        CHECK_INTERVAL.as_secs()
    )
}

pub fn row(settings: &Settings) -> Row {
    let mut bed = Bed::new("bench-apps", &[]);
    for i in 0..settings.services {
        bed.sandbox()
            .service_file(&format!("app{i:04}.svcfs-bench.conf"), &service_file());
    }
    let pid = bed.mount(&["--refresh-interval", "30"]).pid();
    std::thread::sleep(settings.settle);
    // At least one interval, so that every app is checked in the window.
    let watched = watch(pid, settings.idle.max(CHECK_INTERVAL));
    let (elapsed, own, checks, rss_max) = (
        watched.elapsed_s,
        watched.own_s,
        watched.children_s,
        watched.rss_max_kib,
    );
    let own_percent = own / elapsed * 100.0;
    let checks_percent = checks / elapsed * 100.0;
    let expected_checks = settings.services as f64 * elapsed / CHECK_INTERVAL.as_secs_f64();
    let rss_mib = rss_max as f64 / 1024.0;
    bed.unmount();
    Row {
        name: format!(
            "daemon with {} services of one app (check every {} s) idle for {elapsed:.0} s",
            settings.services,
            CHECK_INTERVAL.as_secs()
        ),
        baseline_name: "—".to_string(),
        value: Some(format!(
            "own CPU {own_percent:.2} % of a core; the checks' {checks_percent:.2} %; \
             RSS {rss_mib:.1} MiB (max)"
        )),
        target: format!(
            "own CPU < {CPU_LIMIT_PERCENT:.0} %, RSS ≤ {RSS_LIMIT_MIB:.0} MiB; the checks' CPU reported"
        ),
        met: Some(own_percent < CPU_LIMIT_PERCENT && rss_mib <= RSS_LIMIT_MIB),
        note: format!(
            "after {:.0} s of settling; own = the daemon's utime+stime ({own:.2} s), the checks' \
             = its reaped children's ({checks:.2} s) for about {expected_checks:.0} checks of \
             /bin/true, each spawned in a process group of its own and reaped",
            settings.settle.as_secs_f64()
        ),
        data: json!({
            "rss_max_kib": rss_max,
            "cpu_own_percent": own_percent,
            "cpu_checks_percent": checks_percent,
            "cpu_own_s": own,
            "cpu_checks_s": checks,
            "elapsed_s": elapsed,
            "checks_expected": expected_checks,
        }),
        ..Row::default()
    }
}
