//! The `swarmsim` binary: parses the command line, runs it, prints errors.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = swarmsim::cli::Cli::parse();
    match swarmsim::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if swarmsim::cli::is_input_error(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
