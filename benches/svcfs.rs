//! svcfs side by side with its baselines, in the same run, reported as
//! ratios (never as absolute bounds): reading a status file through the
//! FUSE tree vs the same bytes on tmpfs; asking for a service's state
//! (`cat overview`) vs asking docker (`docker ps` with the CLI); and a
//! stop/start cycle of three containers through `ctl` vs the docker CLI.
//!
//! Needs what the integration tests need (`scripts/setup-test-env.sh`);
//! run with `cargo bench`.

#[path = "../tests/it/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::*;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_n(n: usize, mut f: impl FnMut()) -> Duration {
    let samples = (0..n)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    median(samples)
}

fn report(what: &str, svcfs: Duration, baseline_name: &str, baseline: Duration) {
    println!(
        "{what:<44} svcfs {:>10.1?}   {baseline_name:<22} {:>10.1?}   ratio {:>6.2}",
        svcfs,
        baseline,
        svcfs.as_secs_f64() / baseline.as_secs_f64()
    );
}

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`:
    // a debug build measures nothing worth reporting.
    if !std::env::args().any(|a| a == "--bench") {
        println!("svcfs benchmark: run it with cargo bench");
        return;
    }
    if !prerequisites() {
        return;
    }
    let svc = "bench.svcfs.test";
    let sandbox = Sandbox::new("bench", &[svc]);
    let mut text = String::new();
    for n in 1..=3 {
        text.push_str(&format!(
            "[container#{n}]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n"
        ));
    }
    sandbox.service_file(&format!("{svc}.env"), &text);
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");

    // 1. A status read: FUSE tree vs tmpfs.
    let status = d.path(&format!("{svc}/status"));
    let tmpfs = std::path::Path::new("/dev/shm/svcfs-bench-status");
    std::fs::write(tmpfs, std::fs::read(&status).unwrap()).unwrap();
    let reads = 5000;
    let fuse = time_n(reads, || {
        std::hint::black_box(std::fs::read(&status).unwrap());
    });
    let shm = time_n(reads, || {
        std::hint::black_box(std::fs::read(tmpfs).unwrap());
    });
    let _ = std::fs::remove_file(tmpfs);

    // 2. The state of a service: cat overview vs docker ps (CLI).
    let overview = d.path(&format!("{svc}/overview"));
    let queries = 50;
    let cat = time_n(queries, || {
        run("cat", &[&overview.to_string_lossy()]).unwrap();
    });
    let filter = format!("label=svcfs.service={svc}");
    let ps = time_n(queries, || {
        docker(&[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.Status}}",
        ])
        .unwrap();
    });

    // 3. A stop/start cycle of three containers: ctl vs docker CLI.
    let names: Vec<String> = (1..=3).map(|n| format!("{svc}.container.{n}")).collect();
    let cycles = 5;
    let ctl = time_n(cycles, || {
        d.must(&format!("{svc}/ctl"), "stop");
        d.must(&format!("{svc}/ctl"), "start");
    });
    // The same ordered operation with the CLI: one container after the
    // other, stop in reverse order (what svcfs does); and, for reference,
    // all at once in one command (no order, stops in parallel).
    let ordered = time_n(cycles, || {
        for name in names.iter().rev() {
            docker(&["stop", "-t", "1", name]).unwrap();
        }
        for name in &names {
            docker(&["start", name]).unwrap();
        }
    });
    let ids: Vec<&str> = names.iter().map(String::as_str).collect();
    let at_once = time_n(cycles, || {
        let mut stop = vec!["stop", "-t", "1"];
        stop.extend(&ids);
        docker(&stop).unwrap();
        let mut start = vec!["start"];
        start.extend(&ids);
        docker(&start).unwrap();
    });

    println!("\nsvcfs benchmark (medians; ratio = svcfs / baseline, lower is better)");
    report(&format!("read status ({reads}x)"), fuse, "tmpfs read", shm);
    report(
        &format!("service state ({queries}x)"),
        cat,
        "docker ps (CLI)",
        ps,
    );
    report(
        &format!("stop+start 3 containers ({cycles}x)"),
        ctl,
        "docker CLI, in order",
        ordered,
    );
    report(
        &format!("stop+start 3 containers ({cycles}x)"),
        ctl,
        "docker CLI, all at once",
        at_once,
    );
    println!(
        "\nThe ctl cycle also waits for each container to be running and still\n\
         up after 300 ms (\"operational\"), which the CLI does not."
    );
}
