//! `confab-cli`: Confab's engine without a window.
//!
//! - `serve` runs the embedded room server and prints join links;
//! - `join` joins a room with synthetic (or no) media, stays, leaves cleanly and writes a JSON
//!   report.
//!
//! Logs go to stderr through `tracing`, filtered by `RUST_LOG`. Tokens and chat text are never
//! logged. Exit status is 0 only when the command did its job (for `join`: the join succeeded).

#![forbid(unsafe_code)]

mod join;
mod logging;
mod report;
mod serve;
mod shutdown;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "confab-cli",
    version,
    about = "Confab's headless client and room server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded room server; prints one join link per room, the first for a new room.
    Serve(serve::ServeArgs),
    /// Join a room, stay, leave cleanly and write a JSON report.
    Join(join::JoinArgs),
}

fn main() -> ExitCode {
    logging::init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("confab-cli: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Join(args) => join::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("confab-cli: {message}");
            ExitCode::FAILURE
        }
    }
}
