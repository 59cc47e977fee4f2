//! The `tensorserve` binary: a thin shell over [`tensorserve::cli::run`].

/// musl's malloc serialises every allocation on one lock; the static musl build (the container
/// image) uses mimalloc, which keeps per-thread heaps. glibc builds keep the system allocator.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tensorserve::cli::run(std::env::args().skip(1).collect())
}
