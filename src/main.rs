//! The `swarmsim` binary: parses the command line, runs it, prints errors.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = swarmsim::cli::Cli::parse();
    match swarmsim::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(swarmsim::cli::exit_status(&e))
        }
    }
}
