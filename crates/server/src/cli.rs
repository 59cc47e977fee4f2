//! The command line: `tensorserve model ...` for the model tools, anything else is the server
//! with TF Serving's flags.

use std::process::ExitCode;

use crate::app::Server;
use crate::config::ServerConfig;
use crate::flags::Flags;
use crate::{logging, model_cli};

/// Runs the binary with `args` (without the program name).
pub fn run(args: Vec<String>) -> ExitCode {
    if args.first().map(String::as_str) == Some("model") {
        return match model_cli::run(args[1..].to_vec()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let flags = match Flags::parse(args) {
        Ok(flags) => flags,
        Err(e) => {
            // TF Serving prints usage and exits 255 on a malformed flag value.
            eprintln!("{e}");
            print!("{}", Flags::usage());
            return ExitCode::from(255);
        }
    };
    if flags.bool("help") {
        print!("{}", Flags::usage());
        return ExitCode::SUCCESS;
    }
    if flags.bool("version") {
        println!(
            "TensorFlow ModelServer: tensorserve {}\nTensorFlow Library: none (pure Rust)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    logging::init(flags.str("log_format") == "json");
    for arg in &flags.unknown {
        tracing::warn!("unknown argument: {arg}");
    }
    for flag in &flags.ignored {
        tracing::warn!(
            "flag --{flag} is accepted for compatibility and has no effect (docs/flags.md)"
        );
    }
    let config = match ServerConfig::from_flags(&flags, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            println!("Failed to start server. Error: INVALID_ARGUMENT: {e}");
            return ExitCode::from(255);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match Server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                // TF Serving's startup failures go to stdout with this prefix.
                println!("Failed to start server. Error: {e:#}");
                return ExitCode::from(255);
            }
        };
        wait_for_signal().await;
        tracing::info!("shutdown signal received: draining");
        server.shutdown();
        server.wait().await;
        tracing::info!("shutdown complete");
        ExitCode::SUCCESS
    })
}

/// SIGTERM or SIGINT. In a scratch image the binary is PID 1, so nobody else handles them.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
