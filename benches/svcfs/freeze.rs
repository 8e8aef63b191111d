//! Freezing the host dockerd (SIGSTOP) for a bounded time, resumed with
//! SIGCONT on every way out: the guard's drop (normal end and panics),
//! a watchdog thread once the bound has passed (should the bench hang on
//! a frozen docker), and a signal handler for SIGINT, SIGTERM, SIGHUP and
//! SIGQUIT that only calls kill(2), which is async-signal-safe.
//! (`scripts/bench` also sends SIGCONT when it exits, for a SIGKILL.)

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;
use std::time::Duration;

/// The pid of the frozen dockerd, 0 when none is.
static FROZEN: AtomicI32 = AtomicI32::new(0);
static HANDLERS: Once = Once::new();

/// dockerd is stopped while this lives.
pub struct Frozen {
    pid: i32,
}

/// The host dockerd's pid, from its pid file, checked against /proc.
pub fn dockerd_pid() -> Result<i32, String> {
    let text = std::fs::read_to_string("/var/run/docker.pid")
        .map_err(|e| format!("/var/run/docker.pid: {e}"))?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|e| format!("/var/run/docker.pid: {e}"))?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "dockerd" {
        return Err(format!("pid {pid} of /var/run/docker.pid is not dockerd"));
    }
    Ok(pid)
}

impl Frozen {
    /// SIGSTOP the host dockerd; it gets SIGCONT at the latest after
    /// `bound`, even if the guard is never dropped.
    pub fn dockerd(bound: Duration) -> Result<Frozen, String> {
        let pid = dockerd_pid()?;
        HANDLERS.call_once(install_handlers);
        FROZEN.store(pid, Ordering::SeqCst);
        if unsafe { libc::kill(pid, libc::SIGSTOP) } != 0 {
            FROZEN.store(0, Ordering::SeqCst);
            return Err(format!(
                "kill -STOP {pid}: {}",
                std::io::Error::last_os_error()
            ));
        }
        std::thread::spawn(move || {
            std::thread::sleep(bound);
            if FROZEN
                .compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                eprintln!("bench: dockerd frozen for longer than {bound:?}: resumed");
                unsafe { libc::kill(pid, libc::SIGCONT) };
            }
        });
        Ok(Frozen { pid })
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        FROZEN.store(0, Ordering::SeqCst);
        unsafe { libc::kill(self.pid, libc::SIGCONT) };
    }
}

extern "C" fn resume_and_die(signal: libc::c_int) {
    let pid = FROZEN.swap(0, Ordering::SeqCst);
    unsafe {
        if pid > 0 {
            libc::kill(pid, libc::SIGCONT);
        }
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

fn install_handlers() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = resume_and_die as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}
