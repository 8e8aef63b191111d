//! Races: 20 readers of every file while 5 writers race start and stop on
//! the service's and its resources' ctl files, the service file is edited
//! under them, and a second service acts at the same time. Readers never
//! fail, each write succeeds or gets EBUSY, a rid never has two
//! containers, and the end state is what the last successful commands
//! say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;

const SVC: &str = "races.svcfs.test";
const OTHER: &str = "races-other.svcfs.test";
const RIDS: [&str; 2] = ["container#1", "container#2"];

fn service(comment: usize) -> String {
    let mut text = format!("# edit {comment}\n");
    for rid in RIDS {
        text.push_str(&format!(
            "[{rid}]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n"
        ));
    }
    text
}

/// Every file a reader may read at once: not events nor wait/, which
/// block until something happens.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "events" || name == "wait" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            files(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

/// A small xorshift: the writers' choices, reproducible per thread.
struct Choices(u64);

impl Choices {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn containers_of(rid: &str) -> usize {
    docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=svcfs.service={SVC}"),
        "--filter",
        &format!("label=svcfs.rid={rid}"),
    ])
    .map(|out| out.lines().count())
    .unwrap_or(0)
}

#[test]
fn readers_and_writers_race_without_failing_or_lying() {
    if !prerequisites() {
        return;
    }
    let seconds: u64 = std::env::var("SVCFS_RACE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let sandbox = Sandbox::new("races", &[SVC, OTHER]);
    sandbox.service_file(&format!("{SVC}.env"), &service(0));
    sandbox.service_file(
        &format!("{OTHER}.env"),
        "[container#1]\ntype = docker\nrun_image = busybox:latest\nrun_command = /bin/sh\nstop_timeout = 1\n",
    );
    let d = sandbox.mount(&[]);
    let mnt = d.mnt.clone();
    let mut all = Vec::new();
    files(&mnt.join(SVC), &mut all);
    let all = Arc::new(all);
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(seconds);

    let readers: Vec<_> = (0..20)
        .map(|_| {
            let (all, stop) = (Arc::clone(&all), Arc::clone(&stop));
            std::thread::spawn(move || {
                let (mut reads, mut failures) = (0u64, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    for f in all.iter() {
                        match std::fs::read(f) {
                            Ok(_) => reads += 1,
                            Err(e) => failures.push(format!("{}: {e}", f.display())),
                        }
                    }
                }
                (reads, failures)
            })
        })
        .collect();

    // (when it returned, target: None for the service, result)
    type Outcome = (Instant, Option<&'static str>, &'static str, Result<(), i32>);
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let writers: Vec<_> = (0..5u64)
        .map(|n| {
            let (mnt, outcomes) = (mnt.clone(), Arc::clone(&outcomes));
            std::thread::spawn(move || {
                let mut choices = Choices(0x9e37_79b9_7f4a_7c15 ^ (n + 1));
                while Instant::now() < deadline {
                    let target = [None, Some(RIDS[0]), Some(RIDS[1])][choices.next(3)];
                    let verb = ["start", "stop"][choices.next(2)];
                    let ctl = match target {
                        None => mnt.join(SVC).join("ctl"),
                        Some(rid) => mnt.join(SVC).join(rid).join("ctl"),
                    };
                    let result = write_ctl(&ctl, verb);
                    outcomes
                        .lock()
                        .unwrap()
                        .push((Instant::now(), target, verb, result));
                }
            })
        })
        .collect();

    // The other service acts at the same time, alone on its files.
    let other = {
        let mnt = mnt.clone();
        std::thread::spawn(move || {
            let mut results = Vec::new();
            let mut verbs = ["start", "stop"].iter().cycle();
            while Instant::now() < deadline {
                let verb = verbs.next().unwrap();
                results.push((*verb, write_ctl(&mnt.join(OTHER).join("ctl"), verb)));
            }
            results
        })
    };

    // The service file is edited under them; rids are counted meanwhile.
    let mut most = BTreeMap::new();
    let mut edit = 0;
    while Instant::now() < deadline {
        edit += 1;
        sandbox.service_file(&format!("{SVC}.env"), &service(edit));
        for rid in RIDS {
            let n = containers_of(rid);
            let seen = most.entry(rid).or_insert(0);
            *seen = n.max(*seen);
        }
        std::thread::sleep(Duration::from_millis(1500));
    }

    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for r in readers {
        let (n, failures) = r.join().unwrap();
        assert!(
            failures.is_empty(),
            "failed reads: {:?}",
            &failures[..failures.len().min(5)]
        );
        reads += n;
    }
    assert!(reads > 0);
    for (verb, result) in other.join().unwrap() {
        assert_eq!(result, Ok(()), "{verb} > {OTHER}/ctl");
    }

    let mut outcomes = outcomes.lock().unwrap().clone();
    outcomes.sort_by_key(|o| o.0);
    let succeeded = outcomes.iter().filter(|o| o.3.is_ok()).count();
    assert!(succeeded > 0, "no write succeeded in {seconds}s");
    for (_, target, verb, result) in &outcomes {
        assert!(
            matches!(result, Ok(()) | Err(libc::EBUSY)),
            "{verb} > {target:?}: errno {result:?}"
        );
    }
    for (rid, n) in &most {
        assert!(*n <= 1, "{rid} had {n} containers at once");
    }

    // The end state is the fold of the successful commands, in the order
    // they ended (the service lock orders them).
    let mut expected: BTreeMap<&str, &str> = RIDS.iter().map(|r| (*r, "down")).collect();
    for (_, target, verb, result) in &outcomes {
        if result.is_err() {
            continue;
        }
        let word = if *verb == "start" { "up" } else { "down" };
        match target {
            None => expected.values_mut().for_each(|w| *w = word),
            Some(rid) => {
                expected.insert(rid, word);
            }
        }
    }
    for (rid, word) in expected {
        assert_eq!(
            d.read(&format!("{SVC}/{rid}/status")),
            format!("{word}\n"),
            "{rid} after {succeeded} successful commands"
        );
        let count = containers_of(rid);
        assert!(
            count <= 1 && (word == "down" || count == 1),
            "{rid}: {count} containers"
        );
    }
    eprintln!(
        "races: {} writes ({succeeded} succeeded), {reads} reads, {edit} edits in {seconds}s",
        outcomes.len()
    );
}
