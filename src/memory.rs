//! Memory the allocator holds but the daemon no longer uses.

/// Return the allocator's free pages to the system. glibc keeps what a
/// burst freed (the first refresh of a thousand services, a reload) for
/// reuse, so an idle daemon would stay as large as its largest burst.
pub fn give_back_freed() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it
    // is thread-safe and takes no pointer from us.
    unsafe {
        libc::malloc_trim(0);
    }
}
