//! Reads of the tree: in-process open+read+close loops beside the FUSE
//! floors and tmpfs; `cat` as a process beside `docker inspect`; and the
//! same status loop while dockerd is SIGSTOPped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::floor::{Caching, Floor};
use crate::freeze::Frozen;
use crate::harness::{docker, wait_until, Daemon};
use crate::pin::SameCpu;
use crate::report::{Row, Series};
use crate::settings::Settings;
use crate::stats::{human, interleaved_read_loops, read_loop, time_loop, Samples};
use crate::tree_floor::TreeFloor;

/// Where the tmpfs copies live.
pub const SHM_DIR: &str = "/dev/shm/svcfs-bench";
/// Where the read files are copied at their own paths, for the floor of
/// the same paths.
const SAME_PATHS_DIR: &str = "/dev/shm/svcfs-bench-paths";

const WARMUP: usize = 500;
/// Upper bound on one read loop, whatever the sample count.
const LOOP_CAP: Duration = Duration::from_secs(20);

/// The files of the read rows, relative to the mountpoint, and the p50
/// factor of the cached floor each must stay within.
fn read_files(svc: &str) -> Vec<(String, f64)> {
    vec![
        (format!("{svc}/container#1/status"), 1.0),
        (format!("{svc}/overview"), 1.2),
        (format!("{svc}/status.json"), 1.2),
        (format!("{svc}/log"), 1.2),
    ]
}

/// The in-process read rows and a section comparing every floor.
pub fn rows(settings: &Settings, daemon: &Daemon, svc: &str) -> (Vec<Row>, String) {
    let n = settings.reads;
    let uncached = Floor::mount(Caching::Uncached);
    let cached = Floor::mount(Caching::Cached);
    let floor_uncached = Series::new(
        "FUSE floor, uncached (TTL 0, direct I/O)",
        read_loop(&uncached.file(), WARMUP, n, LOOP_CAP),
    );
    let cached_label = "FUSE floor, cached (TTL 1 h, keep cache)";
    let same_label = "FUSE floor of the same paths, cached";
    // The floor of the same paths: the read files at their own depth
    // (service, resource), so that the reader's path walk is svcfs's.
    let _ = std::fs::remove_dir_all(SAME_PATHS_DIR);
    for (rel, _) in read_files(svc) {
        let bytes = std::fs::read(daemon.path(&rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"));
        let copy = Path::new(SAME_PATHS_DIR).join(&rel);
        std::fs::create_dir_all(copy.parent().expect("a file's directory"))
            .expect("create the same-paths dir");
        std::fs::write(&copy, &bytes).expect("write the same-paths copy");
    }
    let same = TreeFloor::mount(Path::new(SAME_PATHS_DIR), false);

    std::fs::create_dir_all(SHM_DIR).expect("create the tmpfs dir");
    let mut rows = Vec::new();
    let mut section = String::from(
        "p50 of svcfs's read against each floor (the same bytes on tmpfs; \
         the bench's own 5-byte FUSE file, uncached and cached; the same \
         files at the same paths on a cached FUSE floor).\n\n\
         | file | svcfs | tmpfs | × tmpfs | FUSE uncached | × uncached | FUSE cached | × cached | same paths | × same paths |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for (rel, factor) in read_files(svc) {
        let path = daemon.path(&rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
        let copy = Path::new(SHM_DIR).join(rel.replace('/', "_"));
        std::fs::write(&copy, &bytes).expect("write the tmpfs copy");
        // svcfs, the cached floor, tmpfs and the floor of the same paths
        // in alternating blocks: the floors are measured beside each
        // file, not once before them all; the reader and the filesystems'
        // threads on one CPU (pin.rs).
        let same_path = same.mountpoint().join(&rel);
        let pinned = SameCpu::pin(&[
            daemon.pid(),
            cached.pid().map_or(0, |p| p as i32),
            same.pid().map_or(0, |p| p as i32),
        ]);
        let loops = interleaved_read_loops(
            &[
                path.as_path(),
                cached.file().as_path(),
                copy.as_path(),
                same_path.as_path(),
            ],
            WARMUP,
            n,
            LOOP_CAP,
        );
        drop(pinned);
        let mut loops = loops.into_iter();
        let (svcfs, floor, shm, same_floor) = (
            loops.next().unwrap_or_default(),
            loops.next().unwrap_or_default(),
            loops.next().unwrap_or_default(),
            loops.next().unwrap_or_default(),
        );
        let floor_same = Series::new(same_label, same_floor);
        let floor_cached = Series::new(cached_label, floor);
        let tmpfs = Series::new(format!("tmpfs, same {} bytes", bytes.len()), shm);
        let _ = std::fs::remove_file(&copy);
        let name = format!(
            "open+read+close `{}` ({} bytes), in-process",
            rel.split_once('/').map_or(rel.as_str(), |(_, f)| f),
            bytes.len()
        );
        let x = |base: &Samples| svcfs.p50().as_secs_f64() / base.p50().as_secs_f64();
        let _ = writeln!(
            section,
            "| `{rel}` | {} | {} | {:.1} | {} | {:.2} | {} | {:.2} | {} | {:.2} |",
            human(svcfs.p50()),
            human(tmpfs.samples.p50()),
            x(&tmpfs.samples),
            human(floor_uncached.samples.p50()),
            x(&floor_uncached.samples),
            human(floor_cached.samples.p50()),
            x(&floor_cached.samples),
            human(floor_same.samples.p50()),
            x(&floor_same.samples),
        );
        let p50_ok = x(&floor_cached.samples) <= factor;
        let (target, met) = if factor == 1.0 {
            (
                "p50 ≤ 1.0× cached floor, p99 < 100 µs".to_string(),
                p50_ok && svcfs.p99() < Duration::from_micros(100),
            )
        } else {
            (format!("p50 ≤ {factor:.1}× cached floor"), p50_ok)
        };
        rows.push(Row {
            name,
            svcfs: Some(Series::new(format!("svcfs {rel}"), svcfs.clone())),
            baseline_name: floor_cached.label.clone(),
            baseline: Some(floor_cached.clone()),
            others: vec![floor_uncached.clone(), tmpfs.clone(), floor_same.clone()],
            target,
            met: Some(met),
            note: format!(
                "p50 {:.1}× tmpfs, {:.2}× the uncached floor, {:.2}× the floor of the same paths",
                x(&tmpfs.samples),
                x(&floor_uncached.samples),
                x(&floor_same.samples)
            ),
            data: json!({ "bytes": bytes.len() }),
            ..Row::default()
        });
    }
    drop((uncached, cached, same));
    let _ = std::fs::remove_dir(SHM_DIR);
    let _ = std::fs::remove_dir_all(SAME_PATHS_DIR);
    (rows, section)
}

/// `cat <rid>/status` as a process beside `docker inspect` of the same
/// container.
pub fn process_row(settings: &Settings, daemon: &Daemon, svc: &str) -> Row {
    let status = daemon.path(&format!("{svc}/container#1/status"));
    let container = format!("{svc}.container.1");
    let n = settings.processes;
    let cap = Duration::from_secs(30);
    let cat = time_loop(2, n, cap, || {
        let ok = Command::new("cat")
            .arg(&status)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cat {}", status.display());
    });
    let inspect = time_loop(2, n, cap, || {
        docker(&["inspect", "-f", "{{.State.Status}}", &container])
            .unwrap_or_else(|e| panic!("{e}"));
    });
    Row {
        name: "`cat <rid>/status` as a process".to_string(),
        svcfs: Some(Series::new("svcfs: cat container#1/status", cat)),
        baseline_name: "`docker inspect -f '{{.State.Status}}'` (CLI)".to_string(),
        baseline: Some(Series::new("docker inspect (CLI)", inspect)),
        target: "report the ratio".to_string(),
        met: None,
        ..Row::default()
    }
}

/// The status read loop with dockerd running, then SIGSTOPped.
pub fn frozen_row(settings: &Settings, daemon: &Daemon, svc: &str) -> Row {
    let status: PathBuf = daemon.path(&format!("{svc}/container#1/status"));
    let n = settings.reads;
    let running = read_loop(&status, WARMUP, n, settings.frozen);
    let frozen = {
        let _frozen = Frozen::dockerd(settings.frozen * 3).unwrap_or_else(|e| panic!("{e}"));
        read_loop(&status, 0, n, settings.frozen)
    };
    let answers = wait_until(Duration::from_secs(20), || {
        docker(&["info", "--format", "{{.ServerVersion}}"]).is_ok()
    });
    assert!(answers, "dockerd answers again after SIGCONT");
    let met = frozen.p99().as_secs_f64() <= 1.5 * running.p99().as_secs_f64();
    Row {
        name: "status reads while dockerd is SIGSTOPped".to_string(),
        svcfs: Some(Series::new("svcfs, dockerd stopped", frozen.clone())),
        baseline_name: "the same loop, dockerd running".to_string(),
        baseline: Some(Series::new("svcfs, dockerd running", running.clone())),
        target: "p99 ≤ 1.5× running".to_string(),
        met: Some(met),
        note: format!(
            "each loop bounded to {} or {} reads (running: {} reads, stopped: {}); \
             dockerd is resumed by the guard, a watchdog, or a signal handler",
            human(settings.frozen),
            n,
            running.n(),
            frozen.n()
        ),
        ..Row::default()
    }
}
