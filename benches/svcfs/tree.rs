//! Walks of a big tree: `ls -lR`, `tree` and `find -type f -exec cat {} +`
//! over generated services (six resources each, never started), cold
//! (the first walk after a fresh mount) and warm (the walks after it),
//! beside the same tree copied to tmpfs with `cp -r`.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bed::{tree_service, tree_service_file, Bed};
use crate::harness::run;
use crate::report::{Row, Series};
use crate::settings::Settings;
use crate::stats::Samples;

/// Where the tmpfs copy of the tree goes.
pub const SHM_TREE: &str = "/dev/shm/svcfs-bench-tree";

/// The walks: a name and the command line, `{}` standing for the tree.
/// Reads leave out the streams (`events`, `wait/*`): a read of them waits
/// for the next change.
const WALKS: [(&str, &[&str]); 3] = [
    ("ls -lR", &["ls", "-lR", "{}"]),
    ("tree", &["tree", "{}"]),
    (
        "find -type f -exec cat {} +",
        &[
            "find", "{}", "-name", "events", "-prune", "-o", "-name", "wait", "-prune", "-o",
            "-type", "f", "-exec", "cat", "{}", "+",
        ],
    ),
];

/// A walk longer than this is cut: its sample is then a lower bound.
pub const WALK_CAP: Duration = Duration::from_secs(30);

/// One walk of `dir`: its duration, whether it exited 0, and whether it
/// was cut at [`WALK_CAP`] (the walk's process group is killed).
fn walk(command: &[&str], dir: &Path) -> Walk {
    let dir = dir.to_string_lossy();
    // Only the first `{}` is the tree (find's own `{}` stays).
    let mut replaced = false;
    let args: Vec<String> = command[1..]
        .iter()
        .map(|a| {
            if *a == "{}" && !replaced {
                replaced = true;
                dir.to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let started = Instant::now();
    let child = Command::new(command[0])
        .args(&args)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Walk {
            time: started.elapsed(),
            ok: false,
            cut: false,
        };
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Walk {
                time: started.elapsed(),
                ok: status.success(),
                cut: false,
            };
        }
        if started.elapsed() >= WALK_CAP {
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            return Walk {
                time: WALK_CAP,
                ok: false,
                cut: true,
            };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

struct Walk {
    time: Duration,
    ok: bool,
    cut: bool,
}

/// The cold walk, then warm ones: `warm` of them, or one when the cold
/// walk was slow (the run must stay under 10 minutes).
fn walks(command: &[&str], dir: &Path, warm: usize) -> (Walk, Vec<Walk>) {
    let cold = walk(command, dir);
    let warm = if cold.time > Duration::from_secs(10) {
        1
    } else {
        warm
    };
    let warm = (0..warm).map(|_| walk(command, dir)).collect();
    (cold, warm)
}

/// Write the generated services into the bed's config dir.
pub fn generate(bed: &Bed, services: usize) {
    let root = bed.root();
    for i in 0..services {
        bed.sandbox().service_file(
            &format!("{}.conf", tree_service(i)),
            &tree_service_file(i, &root),
        );
    }
}

/// Cold and warm rows per walk. The bed is left mounted (for the idle row).
pub fn rows(settings: &Settings, bed: &mut Bed, mount_args: &[&str]) -> Vec<Row> {
    let mut svcfs = Vec::new();
    for (name, command) in WALKS {
        let started = Instant::now();
        let mnt = bed.mount(mount_args).mnt.clone();
        eprintln!(
            "bench: mounted {} services in {:.1} s",
            settings.services,
            started.elapsed().as_secs_f64()
        );
        svcfs.push(walks(command, &mnt, settings.warm_walks));
        eprintln!("bench: {name} on svcfs done");
    }

    let _ = std::fs::remove_dir_all(SHM_TREE);
    let mnt = bed.daemon().mnt.clone();
    let copy_started = Instant::now();
    // cp -r, but for the streams (see WALKS): the copy has no `events`
    // file nor `wait` directories.
    let copied = run(
        "sh",
        &[
            "-c",
            "mkdir -p \"$2\" && tar -C \"$1\" --exclude=events --exclude=wait -cf - . | tar -C \"$2\" -xf -",
            "sh",
            &mnt.to_string_lossy(),
            SHM_TREE,
        ],
    );
    let copy_time = copy_started.elapsed();
    eprintln!(
        "bench: cp -r of the tree in {:.1} s",
        copy_time.as_secs_f64()
    );
    let files = run("find", &[SHM_TREE, "-type", "f"]).map_or(0, |s| s.lines().count());
    let dirs = run("find", &[SHM_TREE, "-type", "d"]).map_or(0, |s| s.lines().count());
    let shm = Path::new(SHM_TREE);

    let mut rows = Vec::new();
    for ((name, command), (cold, warm)) in WALKS.iter().zip(svcfs) {
        let (tmpfs_cold, tmpfs_warm) = walks(command, shm, settings.warm_walks);
        let what = format!("`{name}` over {} services × 6 resources", settings.services);
        let mut note = format!(
            "{files} files and {dirs} directories (as copied to tmpfs by `cp -r` in {:.1} s{})",
            copy_time.as_secs_f64(),
            if copied.is_ok() { "" } else { ", which failed" }
        );
        let failed = |w: &[&Walk]| w.iter().any(|w| !w.ok && !w.cut);
        let all_svcfs: Vec<&Walk> = std::iter::once(&cold).chain(&warm).collect();
        let all_tmpfs: Vec<&Walk> = std::iter::once(&tmpfs_cold).chain(&tmpfs_warm).collect();
        if failed(&all_svcfs) || failed(&all_tmpfs) {
            note.push_str("; some walks exited non-zero");
        }
        let data = json!({ "files": files, "dirs": dirs, "walk_cap_s": WALK_CAP.as_secs() });
        let series = |walks: &[&Walk], label: String| {
            let cut = walks.iter().any(|w| w.cut);
            let label = if cut {
                format!("{label} (cut at {} s)", WALK_CAP.as_secs())
            } else {
                label
            };
            Series::new(label, Samples::new(walks.iter().map(|w| w.time).collect()))
        };
        let cut_note = |walks: &[&Walk], note: &str| {
            if walks.iter().any(|w| w.cut) {
                format!(
                    "{note}; svcfs walks cut at {} s: its times and the ratios are lower bounds",
                    WALK_CAP.as_secs()
                )
            } else {
                note.to_string()
            }
        };
        let warm_svcfs: Vec<&Walk> = warm.iter().collect();
        let warm_tmpfs: Vec<&Walk> = tmpfs_warm.iter().collect();
        rows.push(Row {
            name: format!("{what}, cold"),
            svcfs: Some(series(
                &[&cold],
                "svcfs, first walk after mount".to_string(),
            )),
            baseline_name: "the same tree on tmpfs (`cp -r`), first walk".to_string(),
            baseline: Some(series(&[&tmpfs_cold], "tmpfs copy, first walk".to_string())),
            target: "report the ratio".to_string(),
            met: None,
            lower_bound: cold.cut,
            note: cut_note(&[&cold], &note),
            data: data.clone(),
            ..Row::default()
        });
        let mut row = Row {
            name: format!("{what}, warm"),
            svcfs: Some(series(&warm_svcfs, "svcfs, warm".to_string())),
            baseline_name: "the same tree on tmpfs, warm".to_string(),
            baseline: Some(series(&warm_tmpfs, "tmpfs copy, warm".to_string())),
            target: "≤ 3× tmpfs".to_string(),
            lower_bound: warm.iter().any(|w| w.cut),
            note: cut_note(&warm_svcfs, &note),
            data,
            ..Row::default()
        };
        row.met = Some(row.ratio_p50().is_some_and(|r| r <= 3.0));
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(SHM_TREE);
    rows
}
