//! Walks of a big tree: `ls -lR`, `tree` and `find -type f -exec cat {} +`
//! over generated services (six resources each, never started), cold
//! (the first walk after a fresh mount) and warm (the walks after it),
//! beside the same tree copied to tmpfs with `cp -r`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bed::{tree_service, tree_service_file, Bed};
use crate::harness::run;
use crate::report::{Row, Series};
use crate::settings::Settings;
use crate::stats::{human, Samples};
use crate::tree_floor::{delta, TreeFloor};

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

#[derive(Clone)]
struct Walk {
    time: Duration,
    ok: bool,
    cut: bool,
}

/// Make, under `copy`, an empty file for every stream of the tree at
/// `tree` (`events`, and the files of each `wait` directory), listing
/// directories only: a read of a stream waits.
fn copy_stream_names(tree: &Path, copy: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(tree)? {
        let entry = entry?;
        let name = entry.file_name();
        let (from, to) = (entry.path(), copy.join(&name));
        if entry.file_type()?.is_dir() {
            if name == "wait" {
                std::fs::create_dir_all(&to)?;
                for word in std::fs::read_dir(&from)? {
                    std::fs::File::create(to.join(word?.file_name()))?;
                }
            } else {
                copy_stream_names(&from, &to)?;
            }
        } else if name == "events" {
            std::fs::File::create(&to)?;
        }
    }
    Ok(())
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

/// One walk's samples on every filesystem: svcfs, tmpfs, the FUSE floor
/// of the tree and the floor without opens.
struct Walked {
    svcfs: (Walk, Vec<Walk>),
    tmpfs: (Walk, Vec<Walk>),
    floor: (Walk, Vec<Walk>),
    no_open: (Walk, Vec<Walk>),
    /// The floor's requests in its last warm walk, by operation.
    floor_requests: Vec<(String, u64)>,
}

/// The cold walk of each filesystem, then the warm ones interleaved (svcfs,
/// tmpfs, floor, floor without opens, again), so that whatever else the
/// machine does falls on all of them alike.
fn walk_all(command: &[&str], svcfs: &Path, warm: usize) -> Walked {
    let shm = Path::new(SHM_TREE);
    let floor = TreeFloor::mount(shm, false);
    let no_open = TreeFloor::mount(shm, true);
    let cold = |dir: &Path| walk(command, dir);
    let (svcfs_cold, tmpfs_cold, floor_cold, no_open_cold) = (
        cold(svcfs),
        cold(shm),
        cold(floor.mountpoint()),
        cold(no_open.mountpoint()),
    );
    // A slow cold walk gets one warm walk (the run must stay under 10
    // minutes).
    let warm = if svcfs_cold.time > Duration::from_secs(10) {
        1
    } else {
        warm
    };
    let mut walked = Walked {
        svcfs: (svcfs_cold, Vec::new()),
        tmpfs: (tmpfs_cold, Vec::new()),
        floor: (floor_cold, Vec::new()),
        no_open: (no_open_cold, Vec::new()),
        floor_requests: Vec::new(),
    };
    let mut before = BTreeMap::new();
    for i in 0..warm {
        walked.svcfs.1.push(walk(command, svcfs));
        walked.tmpfs.1.push(walk(command, shm));
        // The requests of the last walk: the first warm walk also fetches
        // the attributes that the cold walk's reads made stale.
        if i + 1 == warm {
            before = floor.counts();
        }
        walked.floor.1.push(walk(command, floor.mountpoint()));
        walked.no_open.1.push(walk(command, no_open.mountpoint()));
    }
    walked.floor_requests = delta(&before, &floor.counts());
    walked
}

/// Cold and warm rows per walk, and the section comparing them with the
/// FUSE floors. The bed is left mounted (the daemon that served the last
/// walk).
pub fn rows(settings: &Settings, bed: &mut Bed, mount_args: &[&str]) -> (Vec<Row>, String) {
    // The tmpfs copy, from a mount of its own: the walks' mounts are
    // fresh, so that their first walk is cold.
    let _ = std::fs::remove_dir_all(SHM_TREE);
    let mnt = bed.mount(mount_args).mnt.clone();
    let copy_started = Instant::now();
    // cp -r, but for the streams, which a read blocks on (see WALKS):
    // `events` files and the files of the `wait` directories are made
    // empty in the copy, by name, so that `ls -lR` and `tree` list the
    // same entries on every filesystem.
    let copied = run(
        "sh",
        &[
            "-c",
            "mkdir -p \"$2\" && tar -C \"$1\" --exclude=events --exclude=wait -cf - . | tar -C \"$2\" -xf -",
            "sh",
            &mnt.to_string_lossy(),
            SHM_TREE,
        ],
    )
    .and_then(|out| {
        copy_stream_names(&mnt, Path::new(SHM_TREE)).map_err(|e| e.to_string())?;
        Ok(out)
    });
    let copy_time = copy_started.elapsed();
    eprintln!(
        "bench: cp -r of the tree in {:.1} s",
        copy_time.as_secs_f64()
    );
    let files = run("find", &[SHM_TREE, "-type", "f"]).map_or(0, |s| s.lines().count());
    let dirs = run("find", &[SHM_TREE, "-type", "d"]).map_or(0, |s| s.lines().count());

    let mut rows = Vec::new();
    let mut section = String::from(
        "p50 of the warm walks against tmpfs and against the FUSE floor of the walk: \
         the bench's own fuser filesystem serving the tmpfs copy (same names, sizes, \
         modes and shape) from memory, with TTLs of an hour and every file and listing \
         kept in the page cache; opens and opendirs reach it, one round trip each and a \
         release, as they reach svcfs. \"No opens\" is the same floor with \
         FUSE_NO_OPEN_SUPPORT and FUSE_NO_OPENDIR_SUPPORT: the kernel then opens \
         nothing through it. The floor counts the requests it serves.\n\n\
         | walk | svcfs | tmpfs | × tmpfs | FUSE floor | × floor | floor's requests in its last warm walk | no opens | no opens × tmpfs |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for (name, command) in WALKS {
        let started = Instant::now();
        let mnt = bed.mount(mount_args).mnt.clone();
        eprintln!(
            "bench: mounted {} services in {:.1} s",
            settings.services,
            started.elapsed().as_secs_f64()
        );
        let walked = walk_all(command, &mnt, settings.warm_walks);
        eprintln!("bench: {name} done");
        let what = format!("`{name}` over {} services × 6 resources", settings.services);
        let mut note = format!(
            "{files} files and {dirs} directories (as copied to tmpfs by `cp -r` in {:.1} s{})",
            copy_time.as_secs_f64(),
            if copied.is_ok() { "" } else { ", which failed" }
        );
        let all =
            |w: &(Walk, Vec<Walk>)| std::iter::once(&w.0).chain(&w.1).any(|w| !w.ok && !w.cut);
        if all(&walked.svcfs) || all(&walked.tmpfs) || all(&walked.floor) || all(&walked.no_open) {
            note.push_str("; some walks exited non-zero");
        }
        let data = json!({ "files": files, "dirs": dirs, "walk_cap_s": WALK_CAP.as_secs() });
        let series = |walks: &[Walk], label: &str| {
            let cut = walks.iter().any(|w| w.cut);
            let label = if cut {
                format!("{label} (cut at {} s)", WALK_CAP.as_secs())
            } else {
                label.to_string()
            };
            Series::new(label, Samples::new(walks.iter().map(|w| w.time).collect()))
        };
        let cut_note = |walks: &[Walk], note: &str| {
            if walks.iter().any(|w| w.cut) {
                format!(
                    "{note}; svcfs walks cut at {} s: its times and the ratios are lower bounds",
                    WALK_CAP.as_secs()
                )
            } else {
                note.to_string()
            }
        };
        let cold = |w: &(Walk, Vec<Walk>)| std::slice::from_ref(&w.0).to_vec();
        let p50 = |s: &Series| s.samples.p50().as_secs_f64();
        let ratio = |a: &Series, b: &Series| p50(a) / p50(b).max(1e-9);

        let svcfs_cold = series(&cold(&walked.svcfs), "svcfs, first walk after mount");
        let floor_cold = series(&cold(&walked.floor), "FUSE floor of the tree, first walk");
        rows.push(Row {
            name: format!("{what}, cold"),
            svcfs: Some(svcfs_cold.clone()),
            baseline_name: "the same tree on tmpfs (`cp -r`), first walk".to_string(),
            baseline: Some(series(&cold(&walked.tmpfs), "tmpfs copy, first walk")),
            others: vec![floor_cold.clone()],
            target: "report the ratio".to_string(),
            met: None,
            lower_bound: walked.svcfs.0.cut,
            note: format!(
                "{}; {:.2}× the FUSE floor's first walk ({})",
                cut_note(&cold(&walked.svcfs), &note),
                ratio(&svcfs_cold, &floor_cold),
                human(floor_cold.samples.p50())
            ),
            data: data.clone(),
            ..Row::default()
        });

        let svcfs = series(&walked.svcfs.1, "svcfs, warm");
        let tmpfs = series(&walked.tmpfs.1, "tmpfs copy, warm");
        let floor = series(&walked.floor.1, "FUSE floor of the tree, warm");
        let no_open = series(&walked.no_open.1, "FUSE floor without opens, warm");
        let requests = walked
            .floor_requests
            .iter()
            .map(|(op, n)| format!("{n} {op}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            section,
            "| `{name}` | {} | {} | {:.2} | {} | {:.2} | {} | {} | {:.2} |",
            human(svcfs.samples.p50()),
            human(tmpfs.samples.p50()),
            ratio(&svcfs, &tmpfs),
            human(floor.samples.p50()),
            ratio(&svcfs, &floor),
            if requests.is_empty() {
                "none"
            } else {
                &requests
            },
            human(no_open.samples.p50()),
            ratio(&no_open, &tmpfs),
        );
        let why = format!(
            "svcfs is {:.2}× the FUSE floor serving the same tree ({}, itself {:.2}× tmpfs): \
             the rest of the ratio is FUSE's. The kernel answers names, attributes, \
             listings and pages from its caches; what reaches the daemon in a warm \
             walk is {requests}: the floor's count, and svcfs's (counted with fuser's \
             request log). The floor without opens walks in {} ({:.2}× tmpfs); see the \
             section on the walks for why svcfs keeps its opens.",
            ratio(&svcfs, &floor),
            human(floor.samples.p50()),
            ratio(&floor, &tmpfs),
            human(no_open.samples.p50()),
            ratio(&no_open, &tmpfs),
        );
        let mut row = Row {
            name: format!("{what}, warm"),
            svcfs: Some(svcfs.clone()),
            baseline_name: "the same tree on tmpfs, warm".to_string(),
            baseline: Some(tmpfs.clone()),
            others: vec![floor.clone(), no_open],
            target: "≤ 3× tmpfs".to_string(),
            lower_bound: walked.svcfs.1.iter().any(|w| w.cut),
            note: format!(
                "{}; {:.2}× the FUSE floor of the tree ({})",
                cut_note(&walked.svcfs.1, &note),
                ratio(&svcfs, &floor),
                human(floor.samples.p50())
            ),
            data: json!({
                "files": files,
                "dirs": dirs,
                "walk_cap_s": WALK_CAP.as_secs(),
                "floor_requests_last_warm_walk": walked.floor_requests.iter().cloned().collect::<BTreeMap<_, _>>(),
            }),
            why: Some(why),
            ..Row::default()
        };
        row.met = Some(row.ratio_p50().is_some_and(|r| r <= 3.0));
        rows.push(row);
    }
    section.push_str(NO_OPEN_DECISION);
    let _ = std::fs::remove_dir_all(SHM_TREE);
    (rows, section)
}

/// What the floor without opens says, and what svcfs does about it.
const NO_OPEN_DECISION: &str = "\n\
Without opens, a walk once warm sends the daemon nothing, and costs about what it \
costs on tmpfs (counted and timed by hand on this floor, interleaved, after two warm \
walks: no request; `find` 1.43 s against tmpfs's 1.30 s, `tree` 0.33 s against \
0.47 s). The first warm walk still fetches the attributes that the cold walk's reads \
made stale (a read that reaches the daemon drops the access time, on every FUSE \
mount): with opens or without, that is the GETATTRs in the table when `find` gets \
a single warm walk. So the opens and their releases are what a warm walk of a FUSE \
tree pays over tmpfs. svcfs keeps them, on purpose. FUSE_NO_OPEN_SUPPORT is all or \
nothing for the mount: once an open answers ENOSYS the kernel opens no file through \
the daemon again, so there is no handle to carry the snapshot of a file of several \
pages (`log`, `status.json` are one consistent generation per open; pages fetched \
by two reads could mix two), nor to send a `ctl` write past the page cache (it would \
overwrite the cached help). FUSE_NO_OPENDIR_SUPPORT alone would bring `tree` and \
`ls -lR` to tmpfs's cost but drop the listing kept per opendir, which keeps the \
offsets of a `readdir` of `/` right while services come and go; readdir offsets \
that stay valid without a handle (each entry's offset fixed for the mount's life, \
like its inode number) would be needed first.\n";
