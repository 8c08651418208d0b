//! The `swarmsim` binary: parses the command line, runs it, prints errors.

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// On Linux the binary maps its large blocks itself on transparent huge pages (2 MiB):
/// a large swarm's tables are read at random, and with 4 KiB pages nearly every such
/// read also misses the TLB. Results do not depend on the allocator. (`swarmsim::alloc`
/// says how; docs/PERFORMANCE.md has the measurements.) The cargo feature `hugepages`
/// (on by default) installs it; without it the binary uses the system allocator.
#[cfg(all(target_os = "linux", feature = "hugepages"))]
#[global_allocator]
static ALLOC: swarmsim::alloc::HugePageAlloc = swarmsim::alloc::HugePageAlloc;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when stdout is a closed pipe
    // (`swarmsim check x.toml | head -1`) instead of panicking in println!.
    #[cfg(unix)]
    // SAFETY: called first thing, before any thread starts; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match swarmsim::cli::Cli::try_parse() {
        Ok(c) => c,
        // --help, --version and usage errors: clap prints them; a failed print is
        // exit status 1.
        Err(e) => {
            return match e.print() {
                Ok(()) => ExitCode::from(e.exit_code().clamp(0, 255) as u8),
                Err(_) => ExitCode::from(1),
            };
        }
    };
    match swarmsim::cli::run(cli) {
        Ok(()) if swarmsim::cli::stderr_failed() => ExitCode::from(1),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // (If even standard error cannot be written, the exit status says it.)
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            if let Some(note) = swarmsim::cli::error_note(&e) {
                let _ = writeln!(std::io::stderr(), "note: {note}");
            }
            ExitCode::from(swarmsim::cli::exit_status(&e))
        }
    }
}
