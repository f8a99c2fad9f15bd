//! The `hallmark` command line: argument parsing, backend selection and
//! output. Business logic lives in the library crates.

mod cli;
mod commands;
mod config;
mod home;
mod table;

use std::process::ExitCode;

use clap::Parser;

/// Logs go to stderr: level from $HALLMARK_LOG (default `warn`; `hallmark
/// serve` logs one line per request at `info`, the demo does not), one JSON object per line
/// when $HALLMARK_LOG_FORMAT is `json`.
fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HALLMARK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if std::env::var("HALLMARK_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The demo runs a server in-process: its request lines would drown the summary.
    init_logging(match cli.command {
        cli::Command::Demo(_) => "warn",
        _ => "warn,hallmark_server=info",
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
