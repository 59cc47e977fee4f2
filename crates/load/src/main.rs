//! The `tensorserve-load` binary: a thin shell over [`tensorserve_load::cli::main`].

fn main() -> std::process::ExitCode {
    tensorserve_load::cli::main()
}
