//! The `swarmsim` binary: parses the command line, runs it, prints errors.

use clap::Parser;
use std::process::ExitCode;

/// On Linux the binary allocates through jemalloc, told to back its memory with
/// transparent huge pages (2 MiB): a large swarm's tables are read at random, and
/// with 4 KiB pages nearly every such read also misses the TLB. Results do not
/// depend on the allocator. (BENCHMARKS.md has the measurements.)
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts: huge pages for all memory it maps
/// (`thp:always` asks the kernel with `madvise`, which is what Linux's default
/// `madvise` mode of transparent huge pages needs), and for its own metadata when
/// that is large.
#[cfg(target_os = "linux")]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"thp:always,metadata_thp:auto\0";

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
