//! svcfs side by side with its baselines, in one run, reported as ratios
//! with their targets (never as timed assertions): reads of the tree
//! against the FUSE floors and tmpfs, `cat` against `docker inspect`, the
//! first read after a change against the docker event, walks of a
//! 1000-service tree against tmpfs, start/stop against the docker CLI,
//! reads with dockerd SIGSTOPped against reads with it running, a
//! parallel subset's start and the start of existing containers against
//! the docker CLI, an idle daemon's memory, CPU and docker API calls, the
//! idle daemon of a thousand apps checked every minute and that of a
//! thousand tasks run every minute, and the cluster's placement, switch
//! and failover against their bounds.
//!
//! Writes bench/REPORT.md, bench/report.json and bench/latency.svg. Needs
//! root and what the integration tests need (`scripts/setup-test-env.sh`);
//! run it with `scripts/bench` (or `cargo bench`). See settings.rs for the
//! environment variables that shrink it while developing.

#[path = "../../tests/it/harness.rs"]
mod harness;

#[path = "../../tests/it/cluster_etcd.rs"]
#[allow(dead_code)]
mod cluster_etcd;

mod apps;
mod bed;
mod change;
mod cluster;
mod floor;
mod freeze;
mod idle;
mod lifecycle;
mod observe;
mod pin;
mod proxy;
mod reads;
mod report;
mod settings;
mod starts;
mod stats;
mod svg;
mod tasks;
mod tree;
mod tree_floor;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use bed::{Bed, APP, CHANGE};
use harness::{docker, host_tools, prerequisites, run};
use report::{Report, Row};
use settings::Settings;

/// Run one part; a panic becomes a row that says the part failed.
fn part(
    settings: &Settings,
    report: &mut Report,
    name: &str,
    f: impl FnOnce(&mut Report) -> Vec<Row>,
) {
    if !settings.runs(name) {
        return;
    }
    let started = Instant::now();
    eprintln!("bench: {name}…");
    match catch_unwind(AssertUnwindSafe(|| f(report))) {
        Ok(rows) => report.rows.extend(rows),
        Err(panic) => report.rows.push(failed(name, panic)),
    }
    eprintln!(
        "bench: {name} took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The row of a part (or of the set-up of several) that panicked.
fn failed(name: &str, panic: Box<dyn std::any::Any + Send>) -> Row {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".to_string());
    let first = message.lines().next().unwrap_or("").to_string();
    eprintln!("bench: {name} failed: {message}");
    Row {
        name: format!("{name} (failed)"),
        value: Some(format!("not measured: {first}")),
        baseline_name: "—".to_string(),
        target: "—".to_string(),
        ..Row::default()
    }
}

/// Run a group of parts; a panic in their common set-up (a mount, a
/// first start) becomes a failed row too, and the other groups still run.
fn group(report: &mut Report, name: &str, f: impl FnOnce(&mut Report)) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(report))) {
        report.rows.push(failed(name, panic));
    }
}

/// The parts that use the tutorial service and the one-container service.
fn service_parts(settings: &Settings, report: &mut Report) {
    let wanted = [
        "reads",
        "process",
        "frozen",
        "change",
        "observe",
        "lifecycle",
        "parallel",
        "existing",
    ];
    if !wanted.iter().any(|p| settings.runs(p)) {
        return;
    }
    let mut bed = Bed::new("bench-app", &[APP, CHANGE, observe::OUTPUT, starts::SUBSET]);
    let vol1 = bed.root().join("vol1");
    std::fs::create_dir_all(&vol1).expect("create the volume dir");
    let containers = bed::tutorial_containers(&vol1);
    bed.sandbox().service_file(
        &format!("{APP}.conf"),
        &bed::service_file(&containers, bed::STOP_TIMEOUT),
    );
    let one = bed::tutorial_containers(&vol1)
        .into_iter()
        .take(1)
        .collect::<Vec<_>>();
    bed.sandbox()
        .service_file(&format!("{CHANGE}.conf"), &bed::service_file(&one, 1));
    let subset = starts::subset_containers(&containers);
    bed.sandbox().service_file(
        &format!("{}.conf", starts::SUBSET),
        &starts::subset_file(&subset),
    );
    bed.sandbox().service_file(
        &format!("{}.conf", observe::OUTPUT),
        &observe::service_file(),
    );
    let daemon = bed.mount(&[]);
    for svc in [APP, CHANGE] {
        daemon.must(&format!("{svc}/ctl"), "start");
    }
    part(settings, report, "reads", |report| {
        let (rows, section) = reads::rows(settings, daemon, APP);
        report
            .sections
            .push(("Reads against every floor".to_string(), section));
        rows
    });
    part(settings, report, "process", |_| {
        vec![reads::process_row(settings, daemon, APP)]
    });
    part(settings, report, "frozen", |_| {
        vec![reads::frozen_row(settings, daemon, APP)]
    });
    part(settings, report, "change", |_| {
        vec![change::row(settings, daemon, CHANGE)]
    });
    part(settings, report, "observe", |_| {
        // The printing container runs for this part only: the other rows
        // measure a quiet machine.
        let ctl = format!("{}/ctl", observe::OUTPUT);
        daemon.must(&ctl, "start");
        let rows = vec![
            observe::stream_row(settings, daemon),
            observe::usage_row(settings, daemon, APP),
        ];
        daemon.must(&ctl, "stop");
        rows
    });
    part(settings, report, "lifecycle", |_| {
        lifecycle::rows(settings, daemon, APP, &containers)
    });
    part(settings, report, "parallel", |_| {
        vec![starts::parallel_row(settings, daemon, &subset)]
    });
    part(settings, report, "existing", |_| {
        vec![starts::existing_row(settings, daemon, APP, &containers)]
    });
}

/// The parts that use the generated tree, behind the counting proxy.
fn tree_parts(settings: &Settings, report: &mut Report) {
    if !settings.runs("tree") && !settings.runs("idle") {
        return;
    }
    let mut bed = Bed::new("bench-tree", &[]);
    tree::generate(&bed, settings.services);
    let proxy = proxy::CountingProxy::start(
        &bed.root().join("docker-proxy.sock"),
        Path::new("/var/run/docker.sock"),
    );
    let docker_host = proxy.docker_host();
    // The daemon's own default reconcile period (svcfs mount --help), not
    // the tests' 2 s.
    let args = [
        "--docker-host",
        docker_host.as_str(),
        "--refresh-interval",
        "30",
    ];
    part(settings, report, "tree", |report| {
        if !host_tools(&["tree", "find", "ls", "cp"]) {
            panic!("missing host tools (tree: run scripts/setup-test-env.sh)");
        }
        let (rows, section) = tree::rows(settings, &mut bed, &args);
        report
            .sections
            .push(("Walks against the FUSE floors".to_string(), section));
        rows
    });
    part(settings, report, "idle", |report| {
        let mut rows = Vec::new();
        // The daemon that served the walks, then the target's subject: a
        // fresh one.
        if bed.is_mounted() {
            rows.push(idle::walked_row(
                settings,
                bed.daemon().pid(),
                settings.services,
            ));
        }
        bed.mount(&args);
        let (row, section) = idle::row(settings, bed.daemon().pid(), settings.services, &proxy);
        report
            .sections
            .push(("Docker API calls of the idle daemon".to_string(), section));
        rows.insert(0, row);
        rows
    });
    bed.unmount();
}

/// What a crashed earlier run may have left behind.
fn clean_leftovers() {
    for kind in [
        floor::Caching::Uncached.name(),
        floor::Caching::Cached.name(),
        tree_floor::KIND,
        tree_floor::NO_OPEN_KIND,
    ] {
        let dir = floor::mountpoint(kind);
        floor::unmount_leftover(&dir);
        let _ = std::fs::remove_dir(&dir);
    }
    let _ = std::fs::remove_dir_all(reads::SHM_DIR);
    let _ = std::fs::remove_dir_all(tree::SHM_TREE);
    for prefix in ["cli", "cli-subset", "cli-existing"] {
        bed::remove_named(
            &(1..=3)
                .map(|n| format!("{prefix}.svcfs-bench.container.{n}"))
                .collect::<Vec<_>>(),
        );
    }
    if let Ok(pid) = freeze::dockerd_pid() {
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
}

fn machine() -> Vec<(String, String)> {
    let first_line = |program: &str, args: &[&str]| {
        run(program, args)
            .map(|s| s.lines().next().unwrap_or("").trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string())
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let commit = run(
        "git",
        &[
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    )
    .map(|s| s.trim().to_string())
    .unwrap_or_else(|_| "unknown".to_string());
    vec![
        (
            "command".to_string(),
            std::env::var("SVCFS_BENCH_COMMAND")
                .unwrap_or_else(|_| "cargo bench --bench svcfs".to_string()),
        ),
        (
            "date".to_string(),
            first_line("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]),
        ),
        ("svcfs commit".to_string(), commit),
        (
            "machine".to_string(),
            format!(
                "{nproc} CPUs ({cpu}), kernel {}, docker {}",
                first_line("uname", &["-r"]),
                docker(&["version", "-f", "{{.Server.Version}}"])
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|_| "unknown".to_string())
            ),
        ),
    ]
}

fn main() {
    if let Ok(kind) = std::env::var(floor::SERVE_ENV) {
        floor::serve(&kind);
        return;
    }
    // `cargo test --all-targets` runs bench targets too, without `--bench`:
    // a debug build measures nothing worth reporting.
    if !std::env::args().any(|a| a == "--bench") {
        println!("svcfs benchmark: run it with scripts/bench (or cargo bench)");
        return;
    }
    if !prerequisites() {
        return;
    }
    let started = Instant::now();
    let settings = Settings::from_env();
    clean_leftovers();
    let mut report = Report {
        header: machine(),
        ..Report::default()
    };
    report
        .header
        .push(("settings".to_string(), settings.describe()));
    group(&mut report, "service set-up", |r| {
        service_parts(&settings, r)
    });
    group(&mut report, "tree set-up", |r| tree_parts(&settings, r));
    part(&settings, &mut report, "apps", |_| {
        vec![apps::row(&settings)]
    });
    part(&settings, &mut report, "tasks", |_| {
        vec![tasks::row(&settings)]
    });
    part(&settings, &mut report, "cluster", |_| {
        cluster::rows(&settings)
    });
    clean_leftovers();
    report.header.push((
        "duration of the run".to_string(),
        format!("{:.0} s", started.elapsed().as_secs_f64()),
    ));
    if let Err(e) = report.write(&settings.out) {
        eprintln!(
            "bench: cannot write the report into {}: {e}",
            settings.out.display()
        );
        std::process::exit(1);
    }
    if let Err(e) = std::fs::write(settings.out.join("latency.svg"), svg::render(&report)) {
        eprintln!("bench: cannot write latency.svg: {e}");
        std::process::exit(1);
    }
    println!("{}", report.table());
    println!(
        "bench: report in {} (REPORT.md, report.json, latency.svg), {:.0} s",
        settings.out.display(),
        started.elapsed().as_secs_f64()
    );
}
