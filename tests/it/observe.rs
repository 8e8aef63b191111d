//! What the tree shows of what containers do, with real containers on
//! a real mount: their output (the snapshot, and the stream two readers
//! follow across a restart and an upgrade), their resource use from their
//! cgroups (a memory limit, a busy container's CPU, the service's sums,
//! the metrics series checked by promtool), their identity against
//! docker inspect, walkers that still end, and a docker daemon that
//! stopped answering for a while converging at once when it answers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use crate::harness::*;

/// A container that prints a numbered line every 0.2 s.
fn talker(rid: &str, image: &str, args: &str) -> String {
    format!(
        "[{rid}]\nrun_image = {image}\nrun_command = sh -c \"i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done\"\nrun_args = {args}\nstop_timeout = 1\n"
    )
}

/// A `cat` of a stream file, its lines arriving on a channel.
struct Reader {
    child: Child,
    lines: Receiver<String>,
}

impl Reader {
    fn new(path: &std::path::Path) -> Reader {
        let mut child = Command::new("cat")
            .arg(path)
            .stdout(Stdio::piped())
            .spawn()
            .expect("cat runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Reader { child, lines }
    }

    /// Lines until one satisfies `wanted`, within `limit`; all of them.
    fn until(&self, limit: Duration, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = wanted(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no wanted line within {limit:?}; got {seen:?}");
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn number(text: &str) -> f64 {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

#[test]
fn output_resource_use_and_identity_of_containers_show_in_their_files() {
    if !prerequisites() {
        return;
    }
    let svc = "observe.svcfs.test";
    let sandbox = Sandbox::new("observe_files", &[svc]);
    let [port] = free_ports::<1>();
    sandbox.service_file(
        &format!("{svc}.env"),
        &format!(
            "{}[container#2]\nrun_image = busybox:latest\nrun_command = sh -c \"while :; do :; done\"\nstop_timeout = 1\n",
            talker(
                "container#1",
                "busybox:latest",
                &format!("--memory 64m -p 127.0.0.1:{port}:80")
            )
        ),
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    let c1 = |file: &str| d.read(&format!("{svc}/container#1/{file}"));

    // Output: the lines it printed, rebuilt from docker's TTY records.
    assert!(
        wait_until(Duration::from_secs(10), || c1("output")
            .contains("line 3\n")),
        "{}",
        c1("output")
    );
    assert!(!c1("output").contains('\r'));
    let meta = std::fs::metadata(d.path(&format!("{svc}/container#1/output"))).unwrap();
    assert_eq!(meta.len(), 0, "a live file has size 0, as /proc's");
    let tail = Command::new("tail")
        .args(["-n", "2"])
        .arg(d.path(&format!("{svc}/container#1/output")))
        .output()
        .unwrap();
    let last: Vec<String> = String::from_utf8_lossy(&tail.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(last.len(), 2, "{last:?}");
    assert!(last.iter().all(|l| l.starts_with("line ")), "{last:?}");

    // Resource use from its cgroup: the limit it was given, a usage.
    assert_eq!(c1("memory_limit"), "67108864\n");
    assert!(number(&c1("memory")) > 0.0);
    assert!(number(&c1("processes")) >= 1.0);
    let stats = c1("stats");
    assert!(stats.contains("memory_limit 67108864\n"), "{stats}");
    // The busy one's CPU time grows.
    let c2_cpu = || number(&d.read(&format!("{svc}/container#2/cpu")));
    let before = c2_cpu();
    assert!(
        wait_until(Duration::from_secs(10), || c2_cpu() > before + 0.2),
        "CPU time of a busy container stayed near {before}"
    );
    assert_eq!(d.read(&format!("{svc}/container#2/memory_limit")), "max\n");
    // The service's sums.
    let sum = number(&d.read(&format!("{svc}/cpu")));
    assert!(sum > before, "{sum}");
    assert_eq!(d.read(&format!("{svc}/memory_limit")), "max\n");

    // Identity, as docker inspect says it.
    let name = format!("{svc}.container.1");
    let inspect = |format: &str| docker(&["inspect", "--format", format, &name]).unwrap();
    assert_eq!(c1("id"), inspect("{{.Id}}"));
    assert_eq!(c1("image_id"), inspect("{{.Image}}"));
    assert_eq!(c1("started"), inspect("{{.State.StartedAt}}"));
    assert_eq!(
        c1("addresses"),
        format!("bridge {}", inspect("{{.NetworkSettings.IPAddress}}"))
    );
    assert_eq!(c1("ports"), format!("80/tcp -> 127.0.0.1:{port}\n"));
    assert_eq!(c1("exit_code"), "0\n");
    assert_eq!(c1("docker_restarts"), "0\n");

    // metrics: the series of resource use, read at open, valid.
    let metrics = d.read("metrics");
    let limit = format!(
        "svcfs_container_spec_memory_limit_bytes{{service=\"{svc}\",rid=\"container#1\"}} 67108864"
    );
    assert!(metrics.lines().any(|l| l == limit), "{metrics}");
    assert!(metrics.contains(&format!(
        "svcfs_container_cpu_usage_seconds_total{{service=\"{svc}\",rid=\"container#2\"}} "
    )));
    if in_path("promtool") || std::env::var_os("CI").is_some() {
        let checked = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(d.path("metrics")).unwrap())
            .output()
            .expect("promtool runs");
        assert!(
            checked.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
    }

    // Stopped: nothing to read in its cgroup, the files say nothing.
    d.must(&format!("{svc}/container#2/ctl"), "stop");
    assert_eq!(d.read(&format!("{svc}/container#2/memory")), "");
    assert_eq!(d.read(&format!("{svc}/container#2/addresses")), "");
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn the_output_stream_reaches_two_readers_and_goes_on_across_a_restart_and_an_upgrade() {
    if !prerequisites() {
        return;
    }
    let svc = "stream.svcfs.test";
    let sandbox = Sandbox::new("observe_stream", &[svc]);
    let file = format!("{svc}.env");
    sandbox.service_file(&file, &talker("container#1", "busybox:latest", ""));
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    let stream = d.path(&format!("{svc}/container#1/wait/output"));
    let (a, b) = (Reader::new(&stream), Reader::new(&stream));
    // The same new line to both, within moments.
    let first = a.until(Duration::from_secs(5), |l| l.starts_with("line "));
    let line = first.last().unwrap().clone();
    b.until(Duration::from_secs(5), |l| l == line);
    // A restart: a marker line, then the new run's lines.
    let old_id = d.read(&format!("{svc}/container#1/id"));
    d.must(&format!("{svc}/container#1/ctl"), "restart");
    let short = &old_id[..12];
    for reader in [&a, &b] {
        let seen = reader.until(Duration::from_secs(15), |l| {
            l.starts_with(&format!("==> container {short} started "))
        });
        assert!(seen.iter().all(|l| !l.contains('\r')), "{seen:?}");
        reader.until(Duration::from_secs(5), |l| l == "line 0");
    }
    // An upgrade: another image, another container, the same stream.
    sandbox.service_file(&file, &talker("container#1", "google/busybox:latest", ""));
    converges(
        &d,
        &format!("{svc}/container#1/status"),
        "warn\n",
        Duration::from_secs(10),
    );
    d.must(&format!("{svc}/container#1/ctl"), "start");
    let new_id = d.read(&format!("{svc}/container#1/id"));
    assert_ne!(new_id, old_id);
    for reader in [&a, &b] {
        reader.until(Duration::from_secs(15), |l| {
            l.starts_with(&format!("==> container {} started ", &new_id[..12]))
        });
        reader.until(Duration::from_secs(5), |l| l.starts_with("line "));
    }
    // The snapshot shows the runs with their markers, the newest last.
    let output = d.read(&format!("{svc}/container#1/output"));
    let marker = format!("==> container {} started ", &new_id[..12]);
    assert!(output.contains(&marker), "{output}");
    assert!(
        output.contains(&format!("==> container {short} started ")),
        "{output}"
    );
    drop((a, b));
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn walkers_end_while_containers_print() {
    if !prerequisites() {
        return;
    }
    let svc = "walk.svcfs.test";
    let sandbox = Sandbox::new("observe_walk", &[svc]);
    sandbox.service_file(
        &format!("{svc}.env"),
        &talker("container#1", "busybox:latest", ""),
    );
    let d = sandbox.mount(&[]);
    d.must(&format!("{svc}/ctl"), "start");
    // Every file read, streams too: grep opens files with O_NONBLOCK, and
    // a stream answers such a read with EAGAIN, so grep goes on.
    let started = Instant::now();
    let grep = Command::new("timeout")
        .args(["60", "grep", "-r", "line"])
        .arg(&d.mnt)
        .output()
        .unwrap();
    assert_ne!(
        grep.status.code(),
        Some(124),
        "grep -r did not end within 60 s"
    );
    assert!(String::from_utf8_lossy(&grep.stdout).contains("container#1/output:line "));
    eprintln!("grep -r took {:?}", started.elapsed());
    // The walkers' one exclude rule keeps covering the streams.
    let excluded = Command::new("timeout")
        .args([
            "60",
            "grep",
            "-r",
            "--exclude=events",
            "--exclude-dir=wait",
            "-l",
            "line",
        ])
        .arg(&d.mnt)
        .output()
        .unwrap();
    assert_eq!(excluded.status.code(), Some(0), "{excluded:?}");
    let tar = Command::new("timeout")
        .args([
            "60",
            "tar",
            "-cf",
            "/dev/null",
            "--exclude=events",
            "--exclude=wait",
        ])
        .arg(&d.mnt)
        .output()
        .unwrap();
    // 1 is tar's "a file changed as it was read": the tree is live.
    assert!(
        matches!(tar.status.code(), Some(0 | 1)),
        "tar: {:?} {}",
        tar.status,
        String::from_utf8_lossy(&tar.stderr)
    );
    d.must(&format!("{svc}/ctl"), "stop");
}

#[test]
fn a_docker_daemon_stopped_during_a_stop_is_rechecked_once_it_answers() {
    if !prerequisites() {
        return;
    }
    let svc = "sigstop.svcfs.test";
    let sandbox = Sandbox::new("observe_sigstop", &[svc]);
    let _private = private_daemon_service(&sandbox, svc, "svcfs-ss0");
    // No periodic reconcile: only events, and the probe, can tell.
    let d = sandbox.mount(&["--refresh-interval", "3600"]);
    let host = start_private_daemon_service(&d, &sandbox, svc);
    let status = format!("{svc}/container#1/status");

    let dockerd = pid_in(&sandbox.var().join(svc).join("dockerd.pid")).unwrap();
    unsafe { libc::kill(dockerd, libc::SIGSTOP) };
    let ctl = d.path(&format!("{svc}/container#1/ctl"));
    let stop = std::thread::spawn(move || write_ctl(&ctl, "stop"));
    converges(&d, &status, "warn\n", Duration::from_secs(60));
    assert!(d
        .read(&format!("{svc}/container#1/messages"))
        .contains("did not answer"));
    let result = stop.join().unwrap();
    unsafe { libc::kill(dockerd, libc::SIGCONT) };
    let answered = Instant::now();
    eprintln!("stop while dockerd was stopped: {result:?}");
    // Docker says it runs (the stop never reached it): so does the tree,
    // at once, not after the reconcile's safety net.
    let took = converges(&d, &status, "up\n", Duration::from_secs(10));
    eprintln!(
        "up again {took:?} after the check, {:?} after SIGCONT",
        answered.elapsed()
    );
    assert!(container_running_on(
        host.trim(),
        &format!("{svc}.container.1")
    ));
    d.must(&format!("{svc}/ctl"), "stop");
}

/// Whether container `name` of the daemon at `host` runs.
fn container_running_on(host: &str, name: &str) -> bool {
    run(
        "docker",
        &[
            "-H",
            host,
            "inspect",
            "--format",
            "{{.State.Running}}",
            name,
        ],
    )
    .is_ok_and(|s| s.trim() == "true")
}
