//! What a container's PID 1 does with a signal, read from
//! `/proc/<pid>/status` (and `task/*/`) on the host: the kernel drops a
//! signal sent to the init of a PID namespace unless it has a handler, so
//! a PID 1 without one makes `docker stop` wait its whole timeout for
//! nothing. Parsing is pure; [`read`] is the thin reader over a `/proc` root.

use std::path::Path;
use std::str::FromStr;

use nix::sys::signal::Signal;

/// A signal number, with the name operators know it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopSignal {
    /// 1 to 64.
    pub number: u8,
    /// `SIGTERM`, `SIGRTMIN+3`, ...
    pub name: String,
}

/// The lowest real-time signal as docker numbers them (glibc reserves 32
/// and 33).
const SIGRTMIN: u8 = 34;
/// The highest signal number on Linux.
const SIGRTMAX: u8 = 64;

impl StopSignal {
    /// SIGTERM, docker's default stop signal.
    pub fn term() -> Self {
        StopSignal {
            number: Signal::SIGTERM as u8,
            name: "SIGTERM".to_string(),
        }
    }

    /// A signal as docker accepts it in `--stop-signal` or an image's
    /// StopSignal: `SIGTERM`, `TERM`, `term`, `15`, `SIGRTMIN+3`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_uppercase();
        if let Ok(number) = text.parse::<u8>() {
            return Self::from_number(number);
        }
        let bare = text.strip_prefix("SIG").unwrap_or(&text);
        // `RTMIN`, `RTMIN+3`, `RTMAX`, `RTMAX-2`.
        let realtime = |base: u8, rest: &str, sign: char| -> Option<u8> {
            if rest.is_empty() {
                return Some(base);
            }
            let digits = rest.strip_prefix(sign)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let offset: u8 = digits.parse().ok()?;
            if sign == '+' {
                base.checked_add(offset)
            } else {
                base.checked_sub(offset)
            }
        };
        let number = if let Some(rest) = bare.strip_prefix("RTMIN") {
            realtime(SIGRTMIN, rest, '+')?
        } else if let Some(rest) = bare.strip_prefix("RTMAX") {
            realtime(SIGRTMAX, rest, '-')?
        } else {
            Signal::from_str(&format!("SIG{bare}")).ok()? as u8
        };
        Self::from_number(number)
    }

    fn from_number(number: u8) -> Option<Self> {
        let name = match Signal::try_from(i32::from(number)) {
            Ok(signal) => signal.as_str().to_string(),
            Err(_) if (SIGRTMIN..=SIGRTMAX).contains(&number) => {
                format!("SIGRTMIN+{}", number - SIGRTMIN)
            }
            Err(_) => return None,
        };
        Some(StopSignal { number, name })
    }

    fn bit(&self) -> u64 {
        1 << (self.number - 1)
    }

    /// SIGKILL and SIGSTOP: the kernel acts on them whatever PID 1 does.
    fn is_kernel_only(&self) -> bool {
        self.number == Signal::SIGKILL as u8 || self.number == Signal::SIGSTOP as u8
    }
}

/// What one `/proc/<pid>/status` (or `task/<tid>/status`) says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStatus {
    /// `Name:` (the command, at most 15 bytes).
    pub name: String,
    /// `State:` letter (`R`, `S`, `D`, `Z`, ...).
    pub state: char,
    /// `SigCgt:`: signals with a handler (shared by the threads).
    pub caught: u64,
    /// `SigIgn:`: signals set to SIG_IGN.
    pub ignored: u64,
    /// `SigBlk:`: signals this thread blocks (left pending for a sigwait
    /// or a signalfd).
    pub blocked: u64,
}

/// Parse a status file; `None` when the signal masks are missing or
/// malformed (then nothing is known).
pub fn parse_status(text: &str) -> Option<TaskStatus> {
    let mut status = TaskStatus::default();
    let (mut caught, mut ignored, mut blocked) = (None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let mask = || u64::from_str_radix(value, 16).ok();
        match key {
            "Name" => status.name = value.to_string(),
            "State" => status.state = value.chars().next().unwrap_or('?'),
            "SigCgt" => caught = mask(),
            "SigIgn" => ignored = mask(),
            "SigBlk" => blocked = mask(),
            _ => {}
        }
    }
    status.caught = caught?;
    status.ignored = ignored?;
    status.blocked = blocked?;
    Some(status)
}

/// One thread of PID 1: its status and where it sleeps in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Its status file.
    pub status: TaskStatus,
    /// `wchan`: the kernel function it sleeps in; `0` when it runs or when
    /// the kernel hides it.
    pub wchan: String,
}

impl Thread {
    /// Whether the thread may be waiting for signals in sigwait(2) and
    /// friends: the kernel unblocks the awaited signals for the time of the
    /// wait, so neither SigBlk nor SigCgt shows them (tini, docker-init).
    /// A sleeping thread whose wait channel is hidden may be, too.
    fn may_await_signals(&self) -> bool {
        let wchan = self.wchan.trim();
        let hidden = wchan.is_empty() || wchan == "0";
        wchan.contains("sigtimedwait") || (hidden && self.status.state != 'R')
    }
}

/// PID 1 of a container, as far as signals go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pid1 {
    /// The command, for messages: the first word of its command line, else
    /// its `Name:`.
    pub command: String,
    /// Its threads (at least the main one).
    pub threads: Vec<Thread>,
}

impl Pid1 {
    /// Whether `signal` reaches PID 1 at all: it has a handler, or a thread
    /// blocks the signal or may wait for it. Otherwise (default action, or
    /// ignored) the kernel drops it.
    pub fn handles(&self, signal: &StopSignal) -> bool {
        let bit = signal.bit();
        signal.is_kernel_only()
            || self.threads.iter().any(|t| {
                t.status.caught & bit != 0 || t.status.blocked & bit != 0 || t.may_await_signals()
            })
    }
}

/// The command for messages: the first NUL-separated word of `cmdline`,
/// else the status `Name:`.
fn command_of(cmdline: &[u8], name: &str) -> String {
    cmdline
        .split(|b| *b == 0)
        .next()
        .filter(|w| !w.is_empty())
        .map_or_else(
            || name.to_string(),
            |w| String::from_utf8_lossy(w).into_owned(),
        )
}

/// Read PID 1 of container `container_id`, whose host pid is `pid`, under
/// `proc_root` (`/proc`). `None` when anything is missing or the process
/// is not (or no longer) in the container's cgroup: a reused pid, or a
/// remote docker daemon whose pids are not this host's.
pub fn read(proc_root: &Path, pid: u32, container_id: &str) -> Option<Pid1> {
    let dir = proc_root.join(pid.to_string());
    let cgroup = std::fs::read_to_string(dir.join("cgroup")).ok()?;
    if container_id.is_empty() || !cgroup.contains(container_id) {
        return None;
    }
    let main = parse_status(&std::fs::read_to_string(dir.join("status")).ok()?)?;
    let read_thread = |task: &Path| -> Option<Thread> {
        Some(Thread {
            status: parse_status(&std::fs::read_to_string(task.join("status")).ok()?)?,
            wchan: std::fs::read_to_string(task.join("wchan")).unwrap_or_default(),
        })
    };
    let threads: Vec<Thread> = std::fs::read_dir(dir.join("task"))
        .ok()?
        .filter_map(|entry| read_thread(&entry.ok()?.path()))
        .collect();
    if threads.is_empty() {
        return None;
    }
    let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    Some(Pid1 {
        command: command_of(&cmdline, &main.name),
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Status files as this machine shows them (kernel 6.x), trimmed of
    /// the lines the parser skips.
    fn status(name: &str, state: &str, blk: &str, ign: &str, cgt: &str) -> String {
        format!(
            "Name:\t{name}\nUmask:\t0022\nState:\t{state}\nTgid:\t11058\nPid:\t11058\n\
             Threads:\t1\nSigQ:\t0/96364\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n\
             SigBlk:\t{blk}\nSigIgn:\t{ign}\nSigCgt:\t{cgt}\nCapInh:\t0000000000000000\n"
        )
    }

    /// busybox `/bin/sh` with a TTY (as svcfs creates containers): it
    /// ignores SIGTERM and SIGQUIT, catches SIGINT, SIGCHLD and SIGWINCH.
    fn busybox_sh() -> String {
        status(
            "sh",
            "S (sleeping)",
            "0000000000000000",
            "0000000000284004",
            "0000000008010002",
        )
    }

    fn single(status_text: &str, wchan: &str) -> Pid1 {
        Pid1 {
            command: "/bin/sh".into(),
            threads: vec![Thread {
                status: parse_status(status_text).unwrap(),
                wchan: wchan.into(),
            }],
        }
    }

    fn term() -> StopSignal {
        StopSignal::term()
    }

    fn signal(text: &str) -> StopSignal {
        StopSignal::parse(text).unwrap()
    }

    #[test]
    fn status_masks_and_name_are_parsed() {
        let s = parse_status(&busybox_sh()).unwrap();
        assert_eq!(s.name, "sh");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ignored, 0x284004);
        assert_eq!(s.caught, 0x8010002);
        assert_eq!(s.blocked, 0);
    }

    #[test]
    fn status_without_masks_is_unknown() {
        assert_eq!(parse_status("Name:\tsh\nState:\tS (sleeping)\n"), None);
        assert_eq!(parse_status(""), None);
        let garbled = busybox_sh().replace("0000000008010002", "zz");
        assert_eq!(parse_status(&garbled), None);
    }

    #[test]
    fn signal_names_numbers_and_short_forms_parse() {
        for text in ["SIGTERM", "TERM", "term", "15", " SIGTERM "] {
            assert_eq!(StopSignal::parse(text), Some(term()), "{text}");
        }
        assert_eq!(signal("SIGQUIT").number, 3);
        assert_eq!(signal("INT").name, "SIGINT");
        assert_eq!(signal("SIGUSR1").number, 10);
        assert_eq!(signal("hup").number, 1);
        assert_eq!(signal("1").name, "SIGHUP");
        assert_eq!(signal("SIGRTMIN+3").number, 37);
        assert_eq!(signal("RTMIN+3").name, "SIGRTMIN+3");
        assert_eq!(signal("SIGRTMAX").number, 64);
        assert_eq!(signal("SIGRTMAX-2").number, 62);
        for bad in [
            "",
            "SIGNOPE",
            "0",
            "65",
            "-1",
            "SIGRTMIN+40",
            "RTMINx",
            "RTMAX+1",
            "RTMIN++1",
        ] {
            assert_eq!(StopSignal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn busybox_sh_drops_sigterm() {
        let sh = single(&busybox_sh(), "poll_schedule_timeout.constprop.0");
        assert!(!sh.handles(&term()));
        assert!(sh.handles(&signal("SIGINT")));
        assert!(!sh.handles(&signal("SIGHUP")));
    }

    #[test]
    fn busybox_httpd_and_sleep_have_no_sigterm_handler() {
        let httpd = status(
            "httpd",
            "S (sleeping)",
            "0000000000000000",
            "0000000000010000",
            "0000000000000001",
        );
        assert!(!single(&httpd, "inet_csk_accept").handles(&term()));
        assert!(single(&httpd, "inet_csk_accept").handles(&signal("HUP")));
        let sleep = status(
            "sleep",
            "S (sleeping)",
            "0000000000000000",
            "0000000000000000",
            "0000000000000000",
        );
        assert!(!single(&sleep, "hrtimer_nanosleep").handles(&term()));
    }

    #[test]
    fn a_trap_on_term_is_a_handler() {
        // sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"
        let trap = status(
            "sh",
            "S (sleeping)",
            "0000000000000000",
            "0000000000000004",
            "0000000000014002",
        );
        assert!(single(&trap, "do_wait").handles(&term()));
    }

    #[test]
    fn tini_waiting_in_sigtimedwait_handles_every_signal() {
        // docker run --init: tini awaits the signals it forwards with
        // sigtimedwait, which unblocks them for the time of the wait.
        let tini = status(
            "docker-init",
            "S (sleeping)",
            "0000000000000000",
            "0000000000300000",
            "0000000000000000",
        );
        assert!(single(&tini, "do_sigtimedwait.isra.0").handles(&term()));
        assert!(single(&tini, "do_sigtimedwait").handles(&signal("USR1")));
    }

    #[test]
    fn a_blocked_signal_in_any_thread_is_awaited() {
        let mut daemon = single(&busybox_sh(), "ep_poll");
        daemon.threads.push(Thread {
            status: parse_status(&status(
                "worker",
                "S (sleeping)",
                "0000000000004000",
                "0000000000000000",
                "0000000000000000",
            ))
            .unwrap(),
            wchan: "futex_wait_queue".into(),
        });
        assert!(daemon.handles(&term()));
    }

    #[test]
    fn a_sleeping_thread_with_a_hidden_wait_channel_may_await_signals() {
        assert!(single(&busybox_sh(), "0").handles(&term()));
        assert!(single(&busybox_sh(), "").handles(&term()));
        let running = busybox_sh().replace("S (sleeping)", "R (running)");
        assert!(!single(&running, "0").handles(&term()));
    }

    #[test]
    fn kill_and_stop_reach_pid1_whatever_it_does() {
        let sh = single(&busybox_sh(), "poll_schedule_timeout");
        assert!(sh.handles(&signal("SIGKILL")));
        assert!(sh.handles(&signal("STOP")));
    }

    #[test]
    fn command_is_the_first_cmdline_word_else_the_name() {
        assert_eq!(command_of(b"/bin/sh\0-c\0trap\0", "sh"), "/bin/sh");
        assert_eq!(command_of(b"", "sh"), "sh");
    }

    fn fake_proc(root: &Path, pid: u32, cgroup: &str) {
        let task = root
            .join(pid.to_string())
            .join("task")
            .join(pid.to_string());
        std::fs::create_dir_all(&task).unwrap();
        let dir = root.join(pid.to_string());
        std::fs::write(dir.join("status"), busybox_sh()).unwrap();
        std::fs::write(task.join("status"), busybox_sh()).unwrap();
        std::fs::write(task.join("wchan"), "poll_schedule_timeout").unwrap();
        std::fs::write(dir.join("cmdline"), b"/bin/sh\0").unwrap();
        std::fs::write(dir.join("cgroup"), cgroup).unwrap();
    }

    #[test]
    fn reader_finds_pid1_in_the_containers_cgroup_only() {
        let root = std::env::temp_dir().join(format!("svcfs-pid1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let id = "085e9310f475edff5eef92ed837c636493320fcae801852e6418d3e883b67fd3";
        fake_proc(&root, 42, &format!("0::/docker/{id}\n"));
        let pid1 = read(&root, 42, id).unwrap();
        assert_eq!(pid1.command, "/bin/sh");
        assert_eq!(pid1.threads.len(), 1);
        assert!(!pid1.handles(&term()));

        // A pid reused by a host process, or a remote daemon's pid.
        fake_proc(&root, 43, "0::/user.slice\n");
        assert_eq!(read(&root, 43, id), None);
        assert_eq!(read(&root, 42, ""), None);
        // Gone.
        assert_eq!(read(&root, 44, id), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
