//! Memory the allocator holds but the daemon no longer uses.

use std::time::Duration;

/// How often the allocator's free memory is looked at.
pub const LOOK_EVERY: Duration = Duration::from_secs(10);

/// Free memory, held by the allocator, past which it is given back.
const SLACK_LIMIT: usize = 8 << 20;

/// Return the allocator's free pages to the system. glibc keeps what a
/// burst freed (the first refresh of a thousand services, a reload, the
/// requests of a walk of the whole tree) for reuse, so an idle daemon
/// would stay as large as its largest burst.
pub fn give_back_freed() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it
    // is thread-safe and takes no pointer from us.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// [`give_back_freed`] when the allocator holds more than a few MiB
/// free; a look costs a walk of its free lists, a trim its page faults
/// when the memory is used again.
pub fn give_back_slack() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: mallinfo2 reads the allocator's counters; no pointer.
        let free = unsafe { libc::mallinfo2() }.fordblks;
        if free > SLACK_LIMIT {
            give_back_freed();
        }
    }
}
