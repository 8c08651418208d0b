//! The `swarmsim` binary: parses the command line, runs it, prints errors.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when stdout is a closed pipe
    // (`swarmsim check x.toml | head -1`) instead of panicking in println!.
    #[cfg(unix)]
    // SAFETY: called first thing, before any thread starts; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = swarmsim::cli::Cli::parse();
    match swarmsim::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(swarmsim::cli::exit_status(&e))
        }
    }
}
