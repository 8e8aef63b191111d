//! Two more starts of three containers, each beside its docker CLI
//! baseline, the samples of the two sides alternating:
//! - three containers of one parallel subset (`[subset#web] parallel =
//!   true`), from no container, beside three ordered `docker run -d`;
//! - the tutorial's three containers when they exist, stopped, beside
//!   three ordered `docker start`.
//!
//! With each side, a profile of the host while it ran: how busy the
//! machine's cores were, and the CPU time dockerd and containerd used per
//! sample — what tells whether docker itself bounds a start on 2 cores.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::bed::{cli_run, remove_named, Container};
use crate::harness::{docker, remove_containers, run, Daemon};
use crate::report::{Row, Series};
use crate::settings::Settings;
use crate::stats::Samples;

/// The service of three containers in one parallel subset.
pub const SUBSET: &str = "subset.svcfs-bench";

/// The containers of [`SUBSET`]: the tutorial's, their published ports
/// moved so that they never collide with the tutorial service's.
pub fn subset_containers(tutorial: &[Container]) -> Vec<Container> {
    tutorial
        .iter()
        .map(|c| Container {
            image: c.image,
            command: c.command.clone(),
            args: c
                .args
                .iter()
                .map(|a| match a.as_str() {
                    "18888:8000" => "18889:8000".to_string(),
                    "42223:22" => "42224:22".to_string(),
                    other => other.to_string(),
                })
                .collect(),
        })
        .collect()
}

/// [`SUBSET`]'s service file.
pub fn subset_file(containers: &[Container]) -> String {
    let mut text = crate::bed::service_file(containers, crate::bed::STOP_TIMEOUT);
    text = text.replace("stop_timeout =", "subset = web\nstop_timeout =");
    text.push_str("\n[subset#web]\nparallel = true\n");
    text
}

/// CPU time, in clock ticks: the machine's busy and total jiffies (all
/// cores), and dockerd's plus containerd's own.
#[derive(Clone, Copy, Default)]
struct Cpu {
    busy: u64,
    total: u64,
    docker: u64,
}

fn cpu_now(docker_pids: &[i32]) -> Cpu {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    let total: u64 = fields.iter().take(8).sum();
    let docker = docker_pids
        .iter()
        .filter_map(|pid| crate::idle::cpu_ticks(*pid))
        .map(|t| t[0] + t[1])
        .sum();
    Cpu {
        busy: total.saturating_sub(idle),
        total,
        docker,
    }
}

/// dockerd's and containerd's pids.
fn docker_pids() -> Vec<i32> {
    run("pidof", &["dockerd", "containerd"])
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The samples of one side, with what the host did meanwhile.
#[derive(Default)]
struct Side {
    samples: Vec<Duration>,
    cpu: Cpu,
}

impl Side {
    fn measure(
        &mut self,
        pids: &[i32],
        f: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let before = cpu_now(pids);
        let started = Instant::now();
        f()?;
        self.samples.push(started.elapsed());
        let after = cpu_now(pids);
        self.cpu.busy += after.busy.saturating_sub(before.busy);
        self.cpu.total += after.total.saturating_sub(before.total);
        self.cpu.docker += after.docker.saturating_sub(before.docker);
        Ok(())
    }

    /// `machine N % busy, docker X ms of CPU per sample`.
    fn profile(&self) -> String {
        let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let busy = self.cpu.busy as f64 / self.cpu.total.max(1) as f64 * 100.0;
        let per_sample =
            self.cpu.docker as f64 / ticks_per_s / self.samples.len().max(1) as f64 * 1000.0;
        format!("cores {busy:.0} % busy, dockerd+containerd {per_sample:.0} ms of CPU per sample")
    }

    fn json(&self) -> serde_json::Value {
        let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        json!({
            "cores_busy_percent": self.cpu.busy as f64 / self.cpu.total.max(1) as f64 * 100.0,
            "docker_cpu_ms_per_sample":
                self.cpu.docker as f64 / ticks_per_s / self.samples.len().max(1) as f64 * 1000.0,
        })
    }
}

fn ctl(daemon: &Daemon, svc: &str, action: &str) -> Result<(), String> {
    daemon
        .ctl(&format!("{svc}/ctl"), action)
        .map_err(|errno| format!("{action} > {svc}/ctl: errno {errno}"))
}

fn cli_names(prefix: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{prefix}.svcfs-bench.container.{i}"))
        .collect()
}

fn failures_note(failures: &[String]) -> String {
    if failures.is_empty() {
        String::new()
    } else {
        format!("; failures: {}", failures.join("; "))
    }
}

/// Start of [`SUBSET`] from no container, beside three ordered `docker run
/// -d` of the same containers.
pub fn parallel_row(settings: &Settings, daemon: &Daemon, containers: &[Container]) -> Row {
    let names = cli_names("cli-subset", containers.len());
    let clean = || {
        remove_containers(SUBSET);
        remove_named(&names);
    };
    let pids = docker_pids();
    let (mut svcfs, mut cli, mut cli_at_once) = (Side::default(), Side::default(), Side::default());
    let mut failures = Vec::new();
    let run_args: Vec<Vec<String>> = names
        .iter()
        .zip(containers)
        .map(|(name, c)| cli_run(name, c))
        .collect();
    for i in 0..settings.starts {
        // svcfs, the CLI in order, the CLI all at once: each goes first
        // in turn.
        for turn in 0..3 {
            clean();
            let measured = match (i + turn) % 3 {
                0 => svcfs.measure(&pids, || ctl(daemon, SUBSET, "start")),
                1 => cli.measure(&pids, || {
                    for args in &run_args {
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        docker(&args)?;
                    }
                    Ok(())
                }),
                _ => cli_at_once.measure(&pids, || {
                    let runs: Vec<_> = run_args
                        .iter()
                        .cloned()
                        .map(|args| {
                            std::thread::spawn(move || {
                                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                                docker(&args).map(drop)
                            })
                        })
                        .collect();
                    for run in runs {
                        run.join()
                            .map_err(|_| "a docker run panicked".to_string())??;
                    }
                    Ok(())
                }),
            };
            if let Err(e) = measured {
                failures.push(e);
            }
        }
    }
    clean();
    let at_once = Samples::new(std::mem::take(&mut cli_at_once.samples));
    let mut row = Row {
        name: "start of 3 containers in one parallel subset".to_string(),
        baseline_name: "3 ordered `docker run -d` (CLI)".to_string(),
        target: "≤ 0.7×, or a profile showing dockerd bounds it".to_string(),
        note: format!(
            "from no container; the tutorial's images, commands and arguments, \
             `subset = web` and `[subset#web] parallel = true`; docker's own floor, the same 3 \
             `docker run -d` at once: p50 {} (p99 {}); profile — svcfs: {}; CLI: {}; CLI at once: {}{}",
            crate::stats::human(at_once.p50()),
            crate::stats::human(at_once.p99()),
            svcfs.profile(),
            cli.profile(),
            cli_at_once.profile(),
            failures_note(&failures)
        ),
        data: json!({
            "svcfs_profile": svcfs.json(),
            "cli_profile": cli.json(),
            "cli_at_once_profile": cli_at_once.json(),
            "cli_at_once_p50_ms": at_once.p50().as_secs_f64() * 1000.0,
        }),
        ..Row::default()
    };
    row.svcfs = Some(Series::new(
        "svcfs: echo start > ctl (parallel subset)",
        Samples::new(std::mem::take(&mut svcfs.samples)),
    ));
    row.baseline = Some(Series::new(
        "docker run -d ×3 (CLI)",
        Samples::new(std::mem::take(&mut cli.samples)),
    ));
    row.met = Some(row.ratio_p50().is_some_and(|r| r <= 0.7));
    if let (Some(svcfs), Some(cli)) = (&row.svcfs, &row.baseline) {
        let floor = at_once.p50().as_secs_f64();
        if floor > 0.0 && row.met == Some(false) {
            row.why = Some(format!(
                "{} In this run, docker's floor is {:.2}× the ordered runs, and svcfs's start \
                 {:.2}× that floor.",
                crate::report::known_reason(&row.name),
                floor / cli.samples.p50().as_secs_f64(),
                svcfs.samples.p50().as_secs_f64() / floor
            ));
        }
    }
    row
}

/// Start of the tutorial service whose three containers exist, stopped,
/// beside three ordered `docker start` of three such containers.
pub fn existing_row(
    settings: &Settings,
    daemon: &Daemon,
    svc: &str,
    containers: &[Container],
) -> Row {
    let names = cli_names("cli-existing", containers.len());
    let pids = docker_pids();
    let (mut svcfs, mut cli) = (Side::default(), Side::default());
    let mut failures = Vec::new();
    // Both sides' containers exist and are stopped before each sample.
    let prepare = || -> Result<(), String> {
        ctl(daemon, svc, "start")?;
        ctl(daemon, svc, "stop")?;
        remove_named(&names);
        for (name, c) in names.iter().zip(containers) {
            let mut args = cli_run(name, c);
            args[0] = "create".to_string();
            args.retain(|a| a != "-d");
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            docker(&args)?;
        }
        Ok(())
    };
    for i in 0..settings.starts {
        for svcfs_first in [i % 2 == 0, i % 2 != 0] {
            if let Err(e) = prepare() {
                failures.push(e);
                continue;
            }
            let measured = if svcfs_first {
                svcfs.measure(&pids, || ctl(daemon, svc, "start"))
            } else {
                cli.measure(&pids, || {
                    for name in &names {
                        docker(&["start", name])?;
                    }
                    Ok(())
                })
            };
            if let Err(e) = measured {
                failures.push(e);
            }
            let _ = ctl(daemon, svc, "stop");
            remove_named(&names);
        }
    }
    remove_containers(svc);
    remove_named(&names);
    let mut row = Row {
        name: "start of the tutorial service, its 3 containers existing and stopped".to_string(),
        baseline_name: "3 ordered `docker start` (CLI)".to_string(),
        target: "≤ 1.0×".to_string(),
        note: format!(
            "each sample after a start and a stop of the service (its containers kept), \
             beside 3 containers created with the same arguments; profile — svcfs: {}; CLI: {}{}",
            svcfs.profile(),
            cli.profile(),
            failures_note(&failures)
        ),
        data: json!({ "svcfs_profile": svcfs.json(), "cli_profile": cli.json() }),
        ..Row::default()
    };
    row.svcfs = Some(Series::new(
        "svcfs: echo start > ctl (containers exist)",
        Samples::new(std::mem::take(&mut svcfs.samples)),
    ));
    row.baseline = Some(Series::new(
        "docker start ×3 (CLI)",
        Samples::new(std::mem::take(&mut cli.samples)),
    ));
    row.met = Some(row.ratio_p50().is_some_and(|r| r <= 1.0));
    row
}
