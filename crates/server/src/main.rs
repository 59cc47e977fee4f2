//! The `tensorserve` binary: a thin shell over [`tensorserve::cli::run`].

fn main() -> std::process::ExitCode {
    tensorserve::cli::run(std::env::args().skip(1).collect())
}
