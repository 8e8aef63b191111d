//! One CPU for a read loop and every filesystem thread it talks to.
//!
//! On this 2-core VM a FUSE round trip costs about 20 µs when the woken
//! filesystem thread runs on the reader's CPU and about 45 µs when it runs
//! on the other one (waking an idle vCPU). Which mount gets which is
//! settled by the scheduler when the loop begins and holds for the mount's
//! life: in four runs of the read rows alone, svcfs and the cached floor
//! each came out fast in some runs and slow in others (ratios 0.40–0.51×
//! and 1.64–2.14×, one mount fast and the other slow every time). Pinned
//! to one CPU, both pay the same wakeup, and the ratio compares what the
//! two daemons do per request.

/// The CPU of every pinned loop.
const CPU: usize = 1;

/// Pinned while it lives; every thread of the pinned processes is
/// allowed every CPU again when it drops.
pub struct SameCpu {
    pids: Vec<i32>,
}

impl SameCpu {
    /// Pin every thread of this process and of `pids` to [`CPU`].
    pub fn pin(pids: &[i32]) -> SameCpu {
        let mut own = vec![std::process::id() as i32];
        own.extend_from_slice(pids);
        let mut set = empty_set();
        // SAFETY: CPU_SET writes one bit of a cpu_set_t we own.
        unsafe { libc::CPU_SET(CPU, &mut set) };
        apply(&own, &set);
        SameCpu { pids: own }
    }
}

impl Drop for SameCpu {
    fn drop(&mut self) {
        // Every bit: the kernel keeps the CPUs that exist.
        let mut set = empty_set();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            // SAFETY: as above, within the set's size.
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
        apply(&self.pids, &set);
    }
}

fn empty_set() -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain bits; all zero is the empty set.
    unsafe { std::mem::zeroed() }
}

/// Set the affinity of every thread of every process in `pids`.
fn apply(pids: &[i32], set: &libc::cpu_set_t) {
    for pid in pids.iter().filter(|&&pid| pid > 0) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for tid in tasks
            .flatten()
            .filter_map(|t| t.file_name().to_str()?.parse::<i32>().ok())
        {
            // SAFETY: a valid cpu_set_t of the size passed; a thread that
            // ended meanwhile only makes the call fail.
            unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), set) };
        }
    }
}
