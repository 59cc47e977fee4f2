//! Handing freed heap memory back to the operating system after a model load.
//!
//! Loading parses protobufs, freezes graphs and optimises plans: many megabytes of short-lived
//! allocations, made on the loader thread. glibc's malloc keeps what they free inside its arenas
//! (a dead thread's arena is kept for reuse), so without a trim an idle server still holds
//! the load's peak heap as resident memory. `malloc_trim` returns every arena's free pages.
//!
//! The static musl build uses mimalloc, which returns freed segments to the OS by itself.

/// Returns free heap pages to the OS (glibc only; a no-op elsewhere).
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists, under its own locks; it
    // has no preconditions and cannot invalidate live allocations.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
