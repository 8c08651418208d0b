//! The command line: clap definitions, turned into calls of the use cases in
//! [`crate::app`], with what they did printed around them. This is the only place
//! (with `main`) that prints.

use crate::output::{self, OutputError};
use crate::scenario::ScenarioError;
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// `swarmsim run` or `sweep` was stopped by a signal; exit status 130. The message
/// says what was kept and how to go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// The command line as given, with `swarmsim` for the program, for manifests.
fn command_line() -> Vec<String> {
    std::iter::once("swarmsim".to_string())
        .chain(
            std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
        .collect()
}

/// A write to standard output failed (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(std::io::Error);

/// Sets its flag when dropped: ends a display thread that a scope waits for, also
/// when a panic unwinds through the scope.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Set when a line could not be written to standard error.
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes to standard output, flushed; a failure is an error, not a panic.
fn say(args: std::fmt::Arguments) -> Result<(), StdoutError> {
    let mut o = std::io::stdout().lock();
    o.write_fmt(args)
        .and_then(|()| o.flush())
        .map_err(StdoutError)
}

/// Writes a line to standard error; a failure is remembered ([`stderr_failed`]),
/// not a panic, and does not stop the command.
pub fn say_err(args: std::fmt::Arguments) {
    let mut e = std::io::stderr().lock();
    if writeln!(e, "{args}").is_err() {
        STDERR_FAILED.store(true, Ordering::Relaxed);
    }
}

/// True if some line could not be written to standard error (exit status 1).
pub fn stderr_failed() -> bool {
    STDERR_FAILED.load(Ordering::Relaxed)
}

/// `println!` that returns [`StdoutError`] instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {
        say(format_args!("{}\n", format_args!($($t)*)))?
    };
}

/// `eprintln!` that never panics (see [`say_err`]).
macro_rules! errln {
    ($($t:tt)*) => {
        say_err(format_args!($($t)*))
    };
}

mod commands;
mod progress;
mod run;
mod sweep_cmd;
mod text;

pub use text::{describe, run_report, validation_table};

/// swarmsim: simulate file distribution from one server to N peers and compare the
/// measured time with the client-server and peer-to-peer lower bounds.
#[derive(Parser, Debug)]
#[command(name = "swarmsim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by the commands that read a scenario.
#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Override a scenario field, e.g. `--set peers.0.count=50` or
    /// `--set server.upload="20 Mbit/s"`. Repeatable; checked like the file.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// The options of `swarmsim sweep`.
// (`[sweep]` in the help texts is the scenario's table, not a link.)
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Scenario and overrides (applied before the [sweep] values).
    #[command(flatten)]
    pub args: ScenarioArgs,
    /// Worker threads, 1 to 1024 [default: all cores; never more than the runs].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// Output folder (default: `results/<scenario name>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only this share of the grid, K of N (runs with index % N == K-1).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Finish an interrupted sweep in the same folder, keeping finished runs.
    #[arg(long)]
    pub resume: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
    /// Keep each run's peers.csv, timeseries.csv and classes.csv under `runs/<run>/`.
    #[arg(long)]
    pub keep_runs: bool,
    /// Overwrite the folder even if it holds another scenario's results.
    #[arg(long)]
    pub force: bool,
    /// Run even if the memory estimate of the largest run, times the workers,
    /// exceeds the available memory.
    #[arg(long)]
    pub ignore_memory_limit: bool,
}

/// The subcommands.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario, print a summary and write summary.csv, peers.csv,
    /// timeseries.csv and manifest.toml.
    #[command(
        after_help = "Example:\n  swarmsim run scenarios/kurose-ross-30.toml --set peers.0.count=50 --out results/kr50"
    )]
    Run {
        /// Scenario and overrides.
        #[command(flatten)]
        args: ScenarioArgs,
        /// Output folder (default: `results/<scenario name>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the scenario's seed (0 to 2^63 - 1, as the file's `seed`).
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
        seed: Option<u64>,
        /// Also draw completion_cdf.png (and swarm.png if timeseries.csv exists).
        #[arg(long)]
        plot: bool,
        /// Overwrite the folder even if it holds another scenario's results.
        #[arg(long)]
        force: bool,
        /// Run even if the memory estimate exceeds the available memory.
        #[arg(long)]
        ignore_memory_limit: bool,
        /// No progress display (on a terminal it appears after 2 s).
        #[arg(long)]
        quiet: bool,
        /// Also write the trace: chunks.csv (every chunk arrival) and, for
        /// BitTorrent, chokes.csv (every choke change), for `swarmsim report`.
        #[arg(long)]
        trace: bool,
    },
    /// Write DIR/report.html: one self-contained page (figures, per-class
    /// statistics and, for a traced run, a playback) from a run or sweep folder.
    #[command(
        after_help = "Example:\n  swarmsim run scenarios/bittorrent-flash-crowd.toml --trace\n  swarmsim report results/bittorrent-flash-crowd"
    )]
    Report {
        /// The output folder of a run (`swarmsim run`) or of a whole sweep.
        dir: PathBuf,
    },
    /// Print both lower bounds (D_cs and D_p2p) without simulating.
    #[command(
        after_help = "Example:\n  swarmsim bounds scenarios/kurose-ross-30.toml --set peers.0.count=35"
    )]
    Bounds {
        /// Scenario and overrides.
        #[command(flatten)]
        args: ScenarioArgs,
    },
    /// Run a scenario's [sweep] grid in parallel; write runs.csv, points.csv and d_vs_n.png.
    #[command(
        after_help = "Examples:\n  swarmsim sweep scenarios/dcs-vs-dp2p.toml --jobs 2\n  swarmsim sweep scenarios/dcs-vs-dp2p.toml --shard 2/4 --out shards/2\n  swarmsim sweep scenarios/dcs-vs-dp2p.toml --resume"
    )]
    Sweep(SweepArgs),
    /// Join the outputs of sweep shards into one runs.csv, points.csv and d_vs_n.png.
    #[command(
        after_help = "Example:\n  swarmsim merge shards/1 shards/2 shards/3 --out results/dcs-vs-dp2p"
    )]
    Merge {
        /// The shards' output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Overwrite the folder even if it holds another scenario's results.
        #[arg(long)]
        force: bool,
    },
    /// Draw a column of a sweep's points.csv (or a per-class statistic of
    /// points_by_class.csv) over a varied key; distribution time with both bounds by default.
    #[command(
        after_help = "Examples:\n  swarmsim plot results/dcs-vs-dp2p --out docs/dcs-vs-dp2p.svg --log-x --log-y\n  swarmsim plot results/dcs-vs-dp2p --x peers.0.count --y mean_completion_s"
    )]
    Plot {
        /// A sweep's output folder (holding points.csv).
        dir: PathBuf,
        /// The varied key on the x axis [default: the one ending in `count`].
        #[arg(long)]
        x: Option<String>,
        /// The column on the y axis [default: mean_distribution_time_s].
        #[arg(long)]
        y: Option<String>,
        /// A varied key that splits the series (repeatable) [default: every varied
        /// key but x].
        #[arg(long, value_name = "KEY")]
        by: Vec<String>,
        /// Output file, .png or .svg (default: `DIR/d_vs_n.png` without --y, else
        /// `DIR/<y>_vs_<x>.png`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Logarithmic x axis (default: log when the values span 100x or more).
        #[arg(long)]
        log_x: bool,
        /// Logarithmic y axis (default: log when the values span 100x or more).
        #[arg(long)]
        log_y: bool,
        /// Replace the file even if it is not a figure swarmsim drew.
        #[arg(long)]
        force: bool,
    },
    /// Rerun the validation cases (known results and published models): print expected
    /// beside measured, write validation.csv; exit status 1 if any case fails.
    #[command(
        after_help = "Examples:\n  swarmsim validate --quick\n  swarmsim validate --out results/validation"
    )]
    Validate {
        /// Run the fast subset (the one CI runs).
        #[arg(long)]
        quick: bool,
        /// Output folder [default: results/validation].
        #[arg(long)]
        out: Option<PathBuf>,
        /// No progress lines.
        #[arg(long)]
        quiet: bool,
    },
    /// Check a scenario and say what it describes, or what is wrong with it.
    #[command(after_help = "Example:\n  swarmsim check scenarios/client-server.toml")]
    Check {
        /// Scenario and overrides.
        #[command(flatten)]
        args: ScenarioArgs,
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            args,
            out,
            seed,
            plot,
            force,
            ignore_memory_limit,
            quiet,
            trace,
        } => run::run_command(
            args,
            out,
            seed,
            run::RunFlags {
                plot,
                force,
                ignore_memory_limit,
                quiet,
                trace,
            },
        ),
        Command::Sweep(a) => sweep_cmd::sweep_command(a),
        Command::Report { dir } => commands::report(&dir),
        Command::Validate { quick, out, quiet } => commands::validate_command(quick, out, quiet),
        Command::Merge { dirs, out, force } => commands::merge(&dirs, &out, force),
        Command::Plot {
            dir,
            x,
            y,
            by,
            out,
            log_x,
            log_y,
            force,
        } => commands::plot(
            &dir,
            output::figure::FigureOptions {
                x,
                y,
                by,
                log_x,
                log_y,
            },
            out,
            force,
        ),
        Command::Bounds { args } => commands::bounds(&args),
        Command::Check { args } => commands::check(&args),
    }
}

/// True if the error is the user's input (exit status 2) rather than a failure (1).
pub fn is_input_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<ScenarioError>()
            || c.is::<output::SweepError>()
            || c.downcast_ref::<OutputError>()
                .is_some_and(OutputError::is_input)
            || c.is::<crate::memory::MemoryError>()
            || c.is::<crate::report::ReportError>()
    })
}

/// A line to print after the error, if it calls for one: for a run that panicked,
/// that this is a bug to report.
pub fn error_note(e: &anyhow::Error) -> Option<&'static str> {
    e.chain()
        .any(|c| c.is::<crate::model::RunPanicked>())
        .then_some(
            "a panic is a bug in swarmsim, not in the scenario: please report it with the \
             scenario file and the command line",
        )
}

/// The exit status for an error: 130 if a signal interrupted the command, 2 for bad
/// input (scenario, `--set`, command line, a folder holding other results), 1 for
/// other failures (e.g. a folder that cannot be written, a run that panicked).
pub fn exit_status(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.is::<Interrupted>()) {
        130
    } else if is_input_error(e) {
        2
    } else {
        1
    }
}
