//! Walks of a big tree: `ls -lR`, `tree` and `find -type f -exec cat {} +`
//! over generated services (six resources each, never started), cold
//! (the first walk after a fresh mount) and warm (the walks after it),
//! beside the same tree copied to tmpfs with `cp -r`.

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
const WALKS: [(&str, &[&str]); 3] = [
    ("ls -lR", &["ls", "-lR", "{}"]),
    ("tree", &["tree", "{}"]),
    (
        "find -type f -exec cat {} +",
        &["find", "{}", "-type", "f", "-exec", "cat", "{}", "+"],
    ),
];

/// One walk of `dir`; its duration and whether it exited 0.
fn walk(command: &[&str], dir: &Path) -> (Duration, bool) {
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
    let ok = Command::new(command[0])
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (started.elapsed(), ok)
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
    let mut failed = Vec::new();
    for (name, command) in WALKS {
        let mnt = bed.mount(mount_args).mnt.clone();
        let (cold, ok) = walk(command, &mnt);
        if !ok {
            failed.push(format!("{name} on svcfs (cold)"));
        }
        let mut warm = Vec::new();
        for _ in 0..settings.warm_walks {
            let (d, ok) = walk(command, &mnt);
            if !ok {
                failed.push(format!("{name} on svcfs (warm)"));
            }
            warm.push(d);
        }
        svcfs.push((cold, warm));
    }

    let _ = std::fs::remove_dir_all(SHM_TREE);
    let mnt = bed.daemon().mnt.clone();
    let copy_started = Instant::now();
    let copied = run("cp", &["-r", &mnt.to_string_lossy(), SHM_TREE]);
    let copy_time = copy_started.elapsed();
    let files = run("find", &[SHM_TREE, "-type", "f"]).map_or(0, |s| s.lines().count());
    let dirs = run("find", &[SHM_TREE, "-type", "d"]).map_or(0, |s| s.lines().count());
    let shm = Path::new(SHM_TREE);

    let mut rows = Vec::new();
    for ((name, command), (cold, warm)) in WALKS.iter().zip(svcfs) {
        let (tmpfs_cold, ok) = walk(command, shm);
        if !ok {
            failed.push(format!("{name} on tmpfs (cold)"));
        }
        let tmpfs_warm: Vec<Duration> = (0..settings.warm_walks)
            .map(|_| walk(command, shm).0)
            .collect();
        let what = format!("`{name}` over {} services × 6 resources", settings.services);
        let mut note = format!(
            "{files} files and {dirs} directories (as copied to tmpfs by `cp -r` in {:.1} s{})",
            copy_time.as_secs_f64(),
            if copied.is_ok() { "" } else { ", which failed" }
        );
        let mine: Vec<&String> = failed.iter().filter(|f| f.starts_with(name)).collect();
        if !mine.is_empty() {
            note.push_str(&format!(
                "; non-zero exit: {}",
                mine.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let data = json!({ "files": files, "dirs": dirs });
        rows.push(Row {
            name: format!("{what}, cold"),
            svcfs: Some(Series::new(
                format!("svcfs {name}, first walk after mount"),
                Samples::new(vec![cold]),
            )),
            baseline_name: "the same tree on tmpfs (`cp -r`), first walk".to_string(),
            baseline: Some(Series::new(
                format!("tmpfs {name}, first walk"),
                Samples::new(vec![tmpfs_cold]),
            )),
            target: "report the ratio".to_string(),
            met: None,
            note: note.clone(),
            data: data.clone(),
            ..Row::default()
        });
        let mut row = Row {
            name: format!("{what}, warm"),
            svcfs: Some(Series::new(
                format!("svcfs {name}, warm"),
                Samples::new(warm),
            )),
            baseline_name: "the same tree on tmpfs, warm".to_string(),
            baseline: Some(Series::new(
                format!("tmpfs {name}, warm"),
                Samples::new(tmpfs_warm),
            )),
            target: "≤ 3× tmpfs".to_string(),
            note,
            data,
            ..Row::default()
        };
        row.met = Some(row.ratio_p50().is_some_and(|r| r <= 3.0));
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(SHM_TREE);
    rows
}
