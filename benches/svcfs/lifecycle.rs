//! Start and stop of the tutorial's three containers through `ctl`,
//! beside the same three containers run and stopped, in order, with the
//! docker CLI. Samples of the two sides alternate; every sample begins
//! with no container of either side.

use std::time::{Duration, Instant};

use crate::bed::{cli_run, remove_named, Container, STOP_TIMEOUT};
use crate::harness::{docker, remove_containers, Daemon};
use crate::report::{Row, Series};
use crate::settings::Settings;
use crate::stats::Samples;

fn timed(f: impl FnOnce() -> Result<(), String>) -> Result<Duration, String> {
    let started = Instant::now();
    f().map(|()| started.elapsed())
}

pub fn rows(settings: &Settings, daemon: &Daemon, svc: &str, containers: &[Container]) -> Vec<Row> {
    let cli_names: Vec<String> = (1..=containers.len())
        .map(|n| format!("cli.svcfs-bench.container.{n}"))
        .collect();
    let clean = || {
        remove_containers(svc);
        remove_named(&cli_names);
    };
    let ctl = format!("{svc}/ctl");
    let svcfs_action = |action: &str| {
        timed(|| {
            daemon
                .ctl(&ctl, action)
                .map_err(|errno| format!("{action} > {ctl}: errno {errno}"))
        })
    };
    let stop_timeout = STOP_TIMEOUT.to_string();
    let (mut starts, mut stops, mut cli_starts, mut cli_stops) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut failures = Vec::new();
    // Whichever goes first finds dockerd still tidying after the last
    // removal: the two take turns going first.
    for i in 0..settings.starts {
        let with_stop = i < settings.stops;
        for svcfs_first in [i % 2 == 0, i % 2 != 0] {
            clean();
            if svcfs_first {
                match svcfs_action("start") {
                    Ok(d) => starts.push(d),
                    Err(e) => failures.push(e),
                }
                if with_stop {
                    match svcfs_action("stop") {
                        Ok(d) => stops.push(d),
                        Err(e) => failures.push(e),
                    }
                }
                continue;
            }
            let run = timed(|| {
                for (name, c) in cli_names.iter().zip(containers) {
                    let args = cli_run(name, c);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    docker(&args)?;
                }
                Ok(())
            });
            match run {
                Ok(d) => cli_starts.push(d),
                Err(e) => failures.push(e),
            }
            if with_stop {
                let stop = timed(|| {
                    for name in cli_names.iter().rev() {
                        docker(&["stop", "-t", &stop_timeout, name])?;
                    }
                    Ok(())
                });
                match stop {
                    Ok(d) => cli_stops.push(d),
                    Err(e) => failures.push(e),
                }
            }
        }
    }
    clean();
    let failures = if failures.is_empty() {
        String::new()
    } else {
        format!("; failures: {}", failures.join("; "))
    };
    let start = Row {
        name: "start of the 3-container tutorial service".to_string(),
        svcfs: Some(Series::new("svcfs: echo start > ctl", Samples::new(starts))),
        baseline_name: "3 ordered `docker run -d` (CLI)".to_string(),
        baseline: Some(Series::new(
            "docker run -d ×3 (CLI)",
            Samples::new(cli_starts),
        )),
        target: "≤ 1.0×".to_string(),
        note: format!(
            "from no container; images busybox, shipyard/shipyard, dhrp/sshd with the \
             tutorial's commands and arguments (ports 18888, 42223){failures}"
        ),
        ..Row::default()
    };
    let stop = Row {
        name: format!(
            "stop of the same service (PID 1 without a SIGTERM handler, timeout {STOP_TIMEOUT} s)"
        ),
        svcfs: Some(Series::new("svcfs: echo stop > ctl", Samples::new(stops))),
        baseline_name: format!("3 ordered `docker stop -t {STOP_TIMEOUT}` (CLI)"),
        baseline: Some(Series::new("docker stop ×3 (CLI)", Samples::new(cli_stops))),
        target: "≤ 0.1×".to_string(),
        note: format!("stop_timeout = {STOP_TIMEOUT} in the service file{failures}"),
        ..Row::default()
    };
    [(start, 1.0), (stop, 0.1)]
        .into_iter()
        .map(|(mut row, bound)| {
            row.met = Some(row.ratio_p50().is_some_and(|r| r <= bound));
            row
        })
        .collect()
}
