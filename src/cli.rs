//! The command line: clap definitions, turned into calls into the library. This is
//! the only place (with `main`) that prints.

use crate::model::{Progress, RunResult, TraceSink, simulate_observed};
use crate::output::folder::{self, Ours, check_owner};
use crate::output::plot;
use crate::output::{self, Folder, OutputError, manifest};
use crate::scenario::units::{fmt_bytes, fmt_rate, fmt_secs};
use crate::scenario::{Scenario, ScenarioError};
use crate::sweep;
use crate::validate;
use anyhow::Result;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Set by the first SIGINT, SIGTERM or SIGHUP: runs and sweeps stop at the next event.
static CANCEL: AtomicBool = AtomicBool::new(false);

/// `swarmsim run` or `sweep` was stopped by a signal; exit status 130. The message
/// says what was kept and how to go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// Routes SIGINT, SIGTERM and SIGHUP to [`CANCEL`]; a second signal exits at once.
fn catch_signals() {
    static SIGNALS: AtomicUsize = AtomicUsize::new(0);
    // Fails only if a handler is already installed (e.g. a second call): keep it.
    let _ = ctrlc::set_handler(|| {
        CANCEL.store(true, Ordering::SeqCst);
        if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(130);
        }
    });
}

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

/// Words joined into a line a POSIX shell reads back (single quotes where needed).
fn shell_line(words: &[String]) -> String {
    let quote = |w: &String| {
        let plain = !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
        if plain {
            w.clone()
        } else {
            format!("'{}'", w.replace('\'', "'\\''"))
        }
    };
    words.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// A write to standard output failed (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(std::io::Error);

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

/// The holder recorded in an output folder's lock: this command line.
fn holder() -> String {
    shell_line(&command_line())
}

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
        } => {
            let s = Scenario::load(&args.scenario, &args.set, seed)?;
            for m in s.notes() {
                errln!("note: {}: {m}", args.scenario.display());
            }
            if !ignore_memory_limit {
                crate::memory::check(&s, crate::memory::available_bytes())?;
            }
            let dir = out.unwrap_or_else(|| Path::new("results").join(&s.name));
            let mut names = sweep::owned_names();
            // (A run without --trace leaves no trace or report of an earlier run.)
            names.extend_from_slice(output::trace::TRACE_FILES);
            names.push(crate::report::REPORT_FILE);
            let same = |m: &str| {
                manifest::kind(m).as_deref() == Some("run")
                    && Scenario::from_toml(m, "manifest.toml", &[]).ok().as_ref() == Some(&s)
            };
            let ours = Ours {
                what: format!("the run of scenario `{}` (seed {})", s.name, s.seed),
                names: &names,
                same: &same,
                legacy: &|| false,
            };
            let mut folder = Folder::open(&dir, &holder(), || check_owner(&dir, force, &ours))?;
            catch_signals();
            let mut tracer = if trace {
                let staged = folder.staged(output::trace::CHUNKS_FILE)?;
                let staging = staged.parent().unwrap_or(&dir).to_path_buf();
                Some(output::trace::TraceWriter::create(&staging, &s)?)
            } else {
                None
            };
            let start = Instant::now();
            let watch = Arc::new(Progress::default());
            let finished = AtomicBool::new(false);
            let show = !quiet && std::io::stderr().is_terminal();
            let sink = tracer.as_mut().map(|t| t as &mut dyn TraceSink);
            let r = std::thread::scope(|scope| {
                if show {
                    scope.spawn(|| run_progress(&watch, &finished, start));
                }
                let r = simulate_observed(&s, &CANCEL, show.then(|| watch.clone()), sink);
                finished.store(true, Ordering::Relaxed);
                r
            });
            let Some(r) = r else {
                if let Some(t) = tracer {
                    t.abandon();
                }
                return Err(Interrupted(format!(
                    "interrupted after {:.1} s: the run did not finish and nothing was written to {}; \
                     run the same command again to start it over:\n  {}",
                    start.elapsed().as_secs_f64(),
                    dir.display(),
                    shell_line(&command_line())
                ))
                .into());
            };
            let wall = start.elapsed().as_secs_f64();
            output::stage_run(&mut folder, &r, wall)?;
            // The trace was written into the staging folder: it moves in with the rest.
            let traced: Vec<PathBuf> = match tracer {
                Some(t) => t
                    .finish()?
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| dir.join(n)))
                    .collect(),
                None => Vec::new(),
            };
            // The figures are staged with the tables; one that cannot be drawn is
            // reported after the rest is written.
            let mut figures = Vec::new();
            let mut figure_error = None;
            if plot {
                let cdf = folder.staged("completion_cdf.png")?;
                let swarm = folder.staged("swarm.png")?;
                let ts = folder.staged("timeseries.csv")?;
                let drawn = plot::plot_completion_cdf(&r, &cdf, &CANCEL)
                    .and_then(|()| Ok(folder::mark_figure(&cdf)?))
                    .map(|()| figures.push(dir.join("completion_cdf.png")))
                    .and_then(|()| plot::plot_timeseries(&ts, &swarm, &CANCEL))
                    .and_then(|()| Ok(folder::mark_figure(&swarm)?))
                    .map(|()| figures.push(dir.join("swarm.png")));
                figure_error = drawn.err();
            }
            // Nothing of an earlier run or sweep stays beside this run's files.
            let m = manifest::text("run", &crate::scenario::to_toml(&s), &command_line());
            folder.commit(&names, Some(&m))?;
            drop(folder);
            say(format_args!("{}", run_report(&s, &r)))?;
            outln!(
                "wall time     {:.3} s ({:.0} events/s)",
                wall,
                r.summary.events as f64 / wall.max(1e-9)
            );
            outln!(
                "results       {}/summary.csv, peers.csv, timeseries.csv, classes.csv, manifest.toml",
                dir.display()
            );
            for p in &traced {
                println!("trace         {}", p.display());
            }
            if r.sample_interval_s > 1.5 * s.sample_interval {
                errln!(
                    "note: {}: output.sample_interval = {} s would give more than {} rows of \
                     timeseries.csv: it keeps one sample in {:.0} ({} s apart)",
                    args.scenario.display(),
                    s.sample_interval,
                    crate::model::MAX_SAMPLES,
                    r.sample_interval_s / s.sample_interval,
                    r.sample_interval_s
                );
            }
            for f in figures {
                outln!("figure        {}", f.display());
            }
            match figure_error {
                // A signal stopped the drawing; the results are complete.
                Some(e) if e.is::<plot::Cancelled>() => Err(Interrupted(format!(
                    "{e}: the results in {} are complete, the figures were not all drawn; \
                     run the same command again to draw them:\n  {}",
                    dir.display(),
                    shell_line(&command_line())
                ))
                .into()),
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
        Command::Sweep(a) => sweep_command(a),
        Command::Report { dir } => {
            let (path, notes) = crate::report::write(&dir)?;
            for n in notes {
                eprintln!("note: {n}");
            }
            println!("report        {}", path.display());
            Ok(())
        }
        Command::Validate { quick, out, quiet } => validate_command(quick, out, quiet),
        Command::Merge { dirs, out, force } => {
            // The merged folder must be empty, hold this very sweep, or be forced.
            let first = match dirs.first() {
                Some(d) => Some(sweep::State::read(d)?),
                None => None,
            };
            let names = sweep::owned_names();
            let check = || -> Result<(), OutputError> {
                let Some(st) = &first else { return Ok(()) };
                let same = |m: &str| {
                    sweep::Plan::from_toml(m, "manifest.toml", &[])
                        .is_ok_and(|p| p.fingerprint == st.fingerprint)
                };
                let legacy =
                    || sweep::State::read(&out).is_ok_and(|o| o.fingerprint == st.fingerprint);
                let ours = Ours {
                    what: format!("the sweep of scenario `{}`", st.scenario),
                    names: &names,
                    same: &same,
                    legacy: &legacy,
                };
                check_owner(&out, force, &ours)
            };
            let mut folder = Folder::open(&out, &holder(), check)?;
            let (n, m) = sweep::merge(&dirs, &mut folder)?;
            catch_signals();
            let figure = sweep_figure(&mut folder)?;
            folder.commit(&names, m.as_deref())?;
            drop(folder);
            outln!("merged        {n} runs from {} folders", dirs.len());
            outln!(
                "results       {}/{}, {}",
                out.display(),
                output::RUNS_FILE,
                output::POINTS_FILE
            );
            if figure {
                outln!("figure        {}", out.join(output::SWEEP_FIGURE).display());
            }
            stop_if_interrupted(&out)
        }
        Command::Plot {
            dir,
            x,
            y,
            by,
            out,
            log_x,
            log_y,
            force,
        } => {
            let opts = output::figure::FigureOptions {
                x,
                y,
                by,
                log_x,
                log_y,
            };
            let out = match out {
                Some(o) => o,
                None if opts.y.is_none() => dir.join(output::SWEEP_FIGURE),
                None => dir.join(output::figure::figure_name(
                    opts.y.as_deref().unwrap_or(output::figure::DEFAULT_Y),
                    &output::figure::x_key(&dir, &opts)?,
                )),
            };
            let Some(name) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                return Err(output::SweepError(format!(
                    "--out {}: expected a file name ending in .png or .svg",
                    out.display()
                ))
                .into());
            };
            let parent = match out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let mut folder = Folder::open(parent, &holder(), || folder::check_figure(&out, force))?;
            let staged = folder.staged(&name)?;
            output::figure::plot_figure(&dir, Some(&staged), &opts)?;
            folder::mark_figure(&staged)?;
            folder.commit(&[], None)?;
            drop(folder);
            outln!("figure        {}", out.display());
            Ok(())
        }
        Command::Bounds { args } => {
            let s = Scenario::load(&args.scenario, &args.set, None)?;
            say(format_args!("{}", describe(&s)))?;
            say(format_args!("{}", output::bounds_text::bound_lines(&s)))?;
            Ok(())
        }
        Command::Check { args } => {
            let s = Scenario::load(&args.scenario, &args.set, None)?;
            // A [sweep] table is checked too: every grid point.
            let plan = sweep::Plan::load(&args.scenario, &args.set)?;
            outln!("{}: ok", args.scenario.display());
            say(format_args!("{}", describe(&s)))?;
            // The largest run's events, when that is many (docs/LIMITS.md).
            let events = plan
                .runs
                .iter()
                .map(|r| crate::estimate::events(&r.scenario))
                .fold(crate::estimate::events(&s), f64::max);
            if events >= crate::estimate::PRINT_FROM {
                outln!(
                    "{:<14}about {events:.1e} (an order-of-magnitude estimate; docs/LIMITS.md)",
                    "events"
                );
            }
            if let Some(p) = s.bittorrent.preset {
                say(format_args!("{}", preset_settings(&s, p)))?;
            }
            print_notes(&args.scenario, &plan);
            let (chunks_b, chokes_b) = output::trace::estimate_bytes(&s);
            println!(
                "{:<14}with --trace, chunks.csv about {}{}",
                "trace",
                fmt_bytes(chunks_b),
                if chokes_b > 0.0 {
                    format!(", chokes.csv about {}", fmt_bytes(chokes_b))
                } else {
                    String::new()
                }
            );
            if !plan.keys.is_empty() || plan.replications > 1 {
                outln!(
                    "{:<14}{} points x {} replications = {} runs, varying {}",
                    "sweep",
                    plan.points,
                    plan.replications,
                    plan.runs.len(),
                    if plan.keys.is_empty() {
                        "nothing".to_string()
                    } else {
                        plan.keys.join(", ")
                    }
                );
            }
            Ok(())
        }
    }
}

/// The resolved `[protocol]` settings of a scenario with a client preset, one a
/// line with where each came from (the file, the preset or the default): the
/// `[protocol]` lines of the scenario's TOML as `swarmsim run` records it.
fn preset_settings(s: &Scenario, p: crate::scenario::Preset) -> String {
    let toml = crate::scenario::to_toml(s);
    let sources = s.bittorrent.sources();
    let mut out = format!("{:<14}{} (resolved settings):\n", "preset", p.name());
    let section = toml
        .split("\n[protocol]\n")
        .nth(1)
        .and_then(|r| r.split("\n[").next())
        .unwrap_or("");
    for line in section.lines() {
        let Some((k, v)) = line.split_once(" = ") else {
            continue;
        };
        if let Some((_, from)) = sources.iter().find(|(f, _)| *f == k) {
            let _ = writeln!(out, "  {k:<22}{v:<20}{from}");
        }
    }
    out
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

/// The exit status for an error: 130 if a signal interrupted the command, 2 for bad
/// input (scenario, `--set`, command line, a folder holding other results), 1 for
/// other failures (e.g. a folder that cannot be written).
pub fn exit_status(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.is::<Interrupted>()) {
        130
    } else if is_input_error(e) {
        2
    } else {
        1
    }
}

/// Prints, on stderr, each note of some run of `plan` ([`Scenario::notes`]: a
/// setting it does not use, a known way to stall), once, with the number of runs it
/// concerns when that is not all of them.
fn print_notes(file: &Path, plan: &sweep::Plan) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for r in &plan.runs {
        for m in r.scenario.notes() {
            match seen.iter_mut().find(|(x, _)| *x == m) {
                Some((_, k)) => *k += 1,
                None => seen.push((m, 1)),
            }
        }
    }
    let n = plan.runs.len();
    for (m, k) in seen {
        if k == n {
            errln!("note: {}: {m}", file.display());
        } else {
            errln!("note: {}: in {k} of {n} runs, {m}", file.display());
        }
    }
}

/// `swarmsim sweep`: checks every grid point, then runs this shard's runs with a
/// progress display on stderr.
fn sweep_command(a: SweepArgs) -> Result<()> {
    let SweepArgs {
        args,
        jobs,
        out,
        shard,
        resume,
        quiet,
        keep_runs,
        force,
        ignore_memory_limit,
    } = a;
    let shard = match shard.as_deref() {
        Some(s) => sweep::Shard::parse(s)?,
        None => sweep::Shard::ALL,
    };
    let plan = sweep::Plan::load(&args.scenario, &args.set)?;
    print_notes(&args.scenario, &plan);
    // Never more workers than this shard has runs.
    let mine = plan.runs.iter().filter(|r| shard.owns(r.index)).count();
    let jobs = jobs
        .map(usize::from)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, mine.max(1));
    if !ignore_memory_limit
        && let Some(largest) = plan.runs.iter().map(|r| &r.scenario).max_by(|a, b| {
            crate::memory::estimate_bytes(a).total_cmp(&crate::memory::estimate_bytes(b))
        })
    {
        crate::memory::check_sweep(largest, jobs, crate::memory::available_bytes())?;
    }
    let dir = out.unwrap_or_else(|| Path::new("results").join(&plan.name));
    let same_sweep =
        |st: sweep::State| st.fingerprint == plan.fingerprint && st.total_runs == plan.runs.len();
    let names = sweep::owned_names();
    let same = |m: &str| {
        manifest::kind(m).as_deref() == Some("sweep")
            && sweep::Plan::from_toml(m, "manifest.toml", &[])
                .is_ok_and(|p| p.fingerprint == plan.fingerprint)
    };
    let legacy = || sweep::State::read(&dir).is_ok_and(same_sweep);
    let ours = Ours {
        what: format!("the sweep of scenario `{}`", plan.name),
        names: &names,
        same: &same,
        legacy: &legacy,
    };
    // A new sweep needs a folder that is its own; --resume one that holds this very
    // sweep. Either is checked before anything is written.
    let check = || -> Result<()> {
        if resume {
            sweep::resume_state(&plan, &dir, shard).map(|_| ())
        } else {
            Ok(check_owner(&dir, force, &ours)?)
        }
    };
    let mut folder = Folder::open(&dir, &holder(), check)?;
    let manifest_text = manifest::text("sweep", &plan.to_toml(), &command_line());
    if !quiet {
        errln!(
            "sweep {}: {} points x {} replications = {} runs{}, {} workers, into {}",
            plan.name,
            plan.points,
            plan.replications,
            plan.runs.len(),
            if shard == sweep::Shard::ALL {
                String::new()
            } else {
                format!(" (shard {shard})")
            },
            jobs,
            dir.display()
        );
    }
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}  elapsed {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let start = Instant::now();
    let last = Mutex::new(None::<Instant>);
    // (The latest counts, for the line printed every 5 s between runs' ends.)
    let counts = Mutex::new(None::<(usize, usize)>);
    let line = |done: usize, total: usize, force: bool| {
        let Ok(mut last) = last.lock() else { return };
        let now = Instant::now();
        let due = last.is_none_or(|t| now.duration_since(t).as_secs_f64() >= 5.0);
        if due || force {
            *last = Some(now);
            let secs = start.elapsed().as_secs_f64();
            errln!(
                "sweep: {done}/{total} runs done after {secs:.1} s{}",
                if done > 0 && done < total {
                    format!(
                        ", about {:.0} s left",
                        secs / done as f64 * (total - done) as f64
                    )
                } else {
                    String::new()
                }
            );
        }
    };
    let progress = |done: usize, total: usize| {
        if quiet {
            return;
        }
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            return;
        }
        if let Ok(mut c) = counts.lock() {
            *c = Some((done, total));
        }
        line(done, total, done == total);
    };
    catch_signals();
    let finished = AtomicBool::new(false);
    let o = std::thread::scope(|scope| {
        if !quiet && bar.is_none() {
            // Off a terminal: a line every 5 s, also while every worker is busy.
            scope.spawn(|| {
                while !finished.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    if let Ok(Some((done, total))) = counts.lock().map(|c| *c)
                        && !finished.load(Ordering::Relaxed)
                    {
                        line(done, total, false);
                    }
                }
            });
        }
        let o = sweep::execute_cancellable(
            &plan,
            &mut folder,
            sweep::Options {
                jobs,
                shard,
                resume,
                keep_runs,
            },
            &manifest_text,
            &progress,
            &CANCEL,
        );
        finished.store(true, Ordering::Relaxed);
        o
    })?;
    if let Some(b) = &bar {
        b.finish();
    }
    if o.interrupted {
        let mut again = command_line();
        if !again.iter().any(|a| a == "--resume") {
            again.push("--resume".into());
        }
        if !again
            .iter()
            .any(|a| a == "--out" || a.starts_with("--out="))
        {
            again.extend(["--out".to_string(), dir.display().to_string()]);
        }
        return Err(Interrupted(format!(
            "interrupted after {:.1} s: {} of {} runs are finished and kept in {}; the runs \
             in flight were dropped and {} was not written. Resume with:\n  {}",
            start.elapsed().as_secs_f64(),
            o.resumed + o.simulated,
            o.runs,
            dir.join(sweep::JOURNAL_FILE).display(),
            output::RUNS_FILE,
            shell_line(&again)
        ))
        .into());
    }
    let figure = o.wrote_points && sweep_figure(&mut folder)?;
    folder.commit(
        &[output::POINTS_FILE, output::SWEEP_FIGURE],
        Some(&manifest_text),
    )?;
    drop(folder);
    outln!(
        "runs          {} ({} simulated now, {} from the journal) in {:.1} s",
        o.runs,
        o.simulated,
        o.resumed,
        start.elapsed().as_secs_f64()
    );
    if o.wrote_points {
        outln!(
            "results       {}/{}, {}",
            dir.display(),
            output::RUNS_FILE,
            output::POINTS_FILE
        );
    } else {
        outln!(
            "results       {}/{} (shard {shard}; join the shards with `swarmsim merge`)",
            dir.display(),
            output::RUNS_FILE
        );
    }
    if figure {
        outln!("figure        {}", dir.join(output::SWEEP_FIGURE).display());
    }
    stop_if_interrupted(&dir)
}

/// The progress display of `swarmsim run` on a terminal: nothing for the first 2 s,
/// then the virtual time reached and the events per second, until `finished`.
fn run_progress(watch: &Progress, finished: &AtomicBool, start: Instant) {
    let tick = std::time::Duration::from_millis(100);
    while start.elapsed().as_secs_f64() < 2.0 {
        if finished.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(tick);
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}  elapsed {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    while !finished.load(Ordering::Relaxed) {
        let secs = start.elapsed().as_secs_f64();
        let events = watch.events.load(Ordering::Relaxed);
        let now = watch.now_ns.load(Ordering::Relaxed) as f64 / 1e9;
        bar.set_message(format!(
            "virtual time {}  {} events ({:.0} events/s)",
            fmt_secs(now),
            events,
            events as f64 / secs.max(1e-9)
        ));
        bar.tick();
        std::thread::sleep(tick * 2);
    }
    bar.finish_and_clear();
}

/// `swarmsim validate`: runs the cases, prints the table, writes `validation.csv`
/// and fails (exit status 1) if any row fails.
fn validate_command(quick: bool, out: Option<PathBuf>, quiet: bool) -> Result<()> {
    let dir = out.unwrap_or_else(|| Path::new("results").join("validation"));
    // (The folder first: a minute of checks should not end in "cannot create".)
    let mut folder = Folder::open(&dir, &holder(), || Ok::<(), OutputError>(()))?;
    let start = Instant::now();
    let rows = validate::run(quick, &|what| {
        if !quiet {
            errln!("validate: {what} ({:.0} s)", start.elapsed().as_secs_f64())
        }
    })?;
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.cells().to_vec()).collect();
    let path = dir.join("validation.csv");
    folder.stage_csv("validation.csv", &validate::HEADER, &cells)?;
    folder.commit(&[], None)?;
    drop(folder);
    say(format_args!("{}", validation_table(&rows)))?;
    let failed = rows.iter().filter(|r| !r.pass).count();
    outln!(
        "{} checks, {} passed, {failed} failed in {:.1} s; results {}",
        rows.len(),
        rows.len() - failed,
        start.elapsed().as_secs_f64(),
        path.display()
    );
    if failed > 0 {
        anyhow::bail!("{failed} of {} validation checks failed", rows.len());
    }
    Ok(())
}

/// The validation rows as an aligned text table.
pub fn validation_table(rows: &[validate::Check]) -> String {
    let cells: Vec<[String; 7]> = rows.iter().map(|r| r.cells()).collect();
    let mut width = validate::HEADER.map(str::len);
    for c in &cells {
        for (w, x) in width.iter_mut().zip(c) {
            *w = (*w).max(x.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut t = c
            .iter()
            .zip(&width)
            .map(|(x, w)| format!("{x:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        t.truncate(t.trim_end().len());
        t.push('\n');
        t
    };
    let mut t = line(&validate::HEADER.map(String::from));
    for c in &cells {
        t.push_str(&line(c));
    }
    t
}

/// Draws the sweep figure (`d_vs_n.png`) from the staged `points.csv` of a sweep or
/// merge into `folder`'s staging; true if it was drawn. A grid with nothing numeric
/// to put on the x axis, or values no axis can hold, gets a note instead; so does a
/// signal while drawing (the caller then ends with [`Interrupted`] once the tables
/// are in place, see [`stop_if_interrupted`]).
fn sweep_figure(folder: &mut Folder) -> Result<bool, OutputError> {
    let points = folder.staged(output::POINTS_FILE)?;
    let out = folder.staged(output::SWEEP_FIGURE)?;
    let staging = points.parent().map(Path::to_path_buf).unwrap_or_default();
    match output::figure::plot_figure(
        &staging,
        Some(&out),
        &output::figure::FigureOptions::default(),
    )
    .and_then(|_| Ok(folder::mark_figure(&out)?))
    {
        Ok(()) => Ok(true),
        Err(e) => {
            let _ = std::fs::remove_file(&out);
            if !e.is::<plot::Cancelled>() {
                errln!("note: no figure: {e:#}");
            }
            Ok(false)
        }
    }
}

/// After a sweep or merge has put its tables in place: [`Interrupted`] if a signal
/// stopped the figure, naming the command that draws it.
fn stop_if_interrupted(dir: &Path) -> Result<()> {
    if !CANCEL.load(Ordering::SeqCst) {
        return Ok(());
    }
    Err(Interrupted(format!(
        "interrupted while drawing the figure: {} and {} in {} are complete; draw the figure with:\n  {}",
        output::RUNS_FILE,
        output::POINTS_FILE,
        dir.display(),
        shell_line(&["swarmsim".into(), "plot".into(), dir.display().to_string()])
    ))
    .into())
}

/// What a scenario describes, for people.
pub fn describe(s: &Scenario) -> String {
    let mut t = String::new();
    let line = |t: &mut String, k: &str, v: String| t.push_str(&format!("{k:<14}{v}\n"));
    line(&mut t, "scenario", format!("{} (seed {})", s.name, s.seed));
    line(
        &mut t,
        "protocol",
        format!("{} over {}", s.protocol.name(), s.network.name()),
    );
    line(
        &mut t,
        "file F",
        format!(
            "{} in {} chunks of {}",
            fmt_bytes(s.file_bytes as f64),
            s.chunks(),
            fmt_bytes(s.chunk_bytes as f64)
        ),
    );
    line(&mut t, "server u_s", fmt_rate(s.server_upload));
    line(
        &mut t,
        "peers N",
        format!(
            "{} in {} class{}",
            s.peers(),
            s.classes.len(),
            if s.classes.len() == 1 { "" } else { "es" }
        ),
    );
    for c in &s.classes {
        line(
            &mut t,
            &format!("  {}", c.name),
            format!(
                "{} x up {}, down {}",
                c.count,
                fmt_rate(c.upload),
                fmt_rate(c.download)
            ),
        );
    }
    line(&mut t, "d_min", fmt_rate(s.min_download()));
    line(&mut t, "sum u_i", fmt_rate(s.sum_peer_upload()));
    t
}

/// The human summary of a run (deterministic: no wall-clock figures).
pub fn run_report(s: &Scenario, r: &RunResult) -> String {
    let m = &r.summary;
    let mut t = describe(s);
    let line = |t: &mut String, k: &str, v: String| t.push_str(&format!("{k:<14}{v}\n"));
    t.push_str(&output::bounds_text::bound_lines(s));
    t.push_str(&output::bounds_text::arrival_lines(m));
    line(
        &mut t,
        "status",
        format!(
            "{} ({} of {} peers complete)",
            m.status.name(),
            m.completed_peers,
            m.peers
        ),
    );
    if !m.note.is_empty() {
        line(
            &mut t,
            "stopped",
            format!("at {}: {}", fmt_secs(m.end_time_s), m.note),
        );
    }
    if m.distribution_time_s.is_nan() {
        line(
            &mut t,
            "measured",
            format!(
                "no distribution time: the run ended at {}",
                fmt_secs(m.end_time_s)
            ),
        );
    } else if m.arrivals == "spread" {
        line(
            &mut t,
            "measured",
            format!(
                "{} from the first arrival; mean download = {:.4} x peer bound",
                fmt_secs(m.distribution_time_s),
                m.bound_ratio
            ),
        );
    } else {
        let arch = if s.protocol.is_p2p() { "D_p2p" } else { "D_cs" };
        line(
            &mut t,
            "measured",
            format!(
                "{} = {:.4} x {arch}",
                fmt_secs(m.distribution_time_s),
                m.bound_ratio
            ),
        );
    }
    line(
        &mut t,
        "mean download",
        if m.mean_completion_s.is_nan() {
            "none: no peer completed".to_string()
        } else {
            fmt_secs(m.mean_completion_s)
        },
    );
    t.push_str(&output::classes::class_report(r));
    line(&mut t, "events", m.events.to_string());
    t
}
