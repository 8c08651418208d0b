//! The command line: clap definitions, turned into calls into the library. This is
//! the only place (with `main`) that prints.

use crate::bounds::bounds;
use crate::model::{RunResult, simulate};
use crate::output;
use crate::output::plot;
use crate::scenario::units::{fmt_bytes, fmt_rate, fmt_secs};
use crate::scenario::{Scenario, ScenarioError};
use crate::sweep;
use anyhow::Result;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

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

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario, print a summary and write summary.csv and peers.csv.
    #[command(
        after_help = "Example:\n  swarmsim run scenarios/kurose-ross-30.toml --set peers.0.count=50 --out results/kr50"
    )]
    Run {
        /// Scenario and overrides.
        #[command(flatten)]
        args: ScenarioArgs,
        /// Output folder [default: results/<scenario name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Also draw completion_cdf.png (and swarm.png if timeseries.csv exists).
        #[arg(long)]
        plot: bool,
        /// Run even if the memory estimate exceeds the available memory.
        #[arg(long)]
        ignore_memory_limit: bool,
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
    Sweep {
        /// Scenario and overrides (applied before the [sweep] values).
        #[command(flatten)]
        args: ScenarioArgs,
        /// Worker threads [default: all cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Output folder [default: results/<scenario name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run only this share of the grid, K of N (runs with index % N == K-1).
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Finish an interrupted sweep in the same folder, keeping finished runs.
        #[arg(long)]
        resume: bool,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
    },
    /// Join the outputs of sweep shards into one runs.csv and points.csv.
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
    },
    /// Draw distribution time over a swept key, with both bounds, from a sweep's points.csv.
    #[command(
        after_help = "Example:\n  swarmsim plot results/dcs-vs-dp2p --out docs/dcs-vs-dp2p.svg --log-x --log-y"
    )]
    Plot {
        /// A sweep's output folder (holding points.csv).
        dir: PathBuf,
        /// The varied key on the x axis [default: the one ending in `count`].
        #[arg(long)]
        x: Option<String>,
        /// Output file, .png or .svg [default: DIR/d_vs_n.png].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Logarithmic x axis (default: log when the values span 100x or more).
        #[arg(long)]
        log_x: bool,
        /// Logarithmic y axis (default: log when the values span 100x or more).
        #[arg(long)]
        log_y: bool,
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
            ignore_memory_limit,
        } => {
            let s = Scenario::load(&args.scenario, &args.set, seed)?;
            if !ignore_memory_limit {
                crate::memory::check(&s, crate::memory::available_bytes())?;
            }
            let dir = out.unwrap_or_else(|| Path::new("results").join(&s.name));
            let start = Instant::now();
            let r = simulate(&s);
            let wall = start.elapsed().as_secs_f64();
            output::write_run(&dir, &r, wall)?;
            print!("{}", run_report(&s, &r));
            println!(
                "wall time     {:.3} s ({:.0} events/s)",
                wall,
                r.summary.events as f64 / wall.max(1e-9)
            );
            println!(
                "results       {}/summary.csv, peers.csv, timeseries.csv",
                dir.display()
            );
            if plot {
                let cdf = dir.join("completion_cdf.png");
                plot::plot_completion_cdf(&r, &cdf)?;
                println!("figure        {}", cdf.display());
                let ts = dir.join("timeseries.csv");
                if ts.exists() {
                    let swarm = dir.join("swarm.png");
                    plot::plot_timeseries(&ts, &swarm)?;
                    println!("figure        {}", swarm.display());
                }
            }
            Ok(())
        }
        Command::Sweep {
            args,
            jobs,
            out,
            shard,
            resume,
            quiet,
        } => sweep_command(&args, jobs, out, shard.as_deref(), resume, quiet),
        Command::Merge { dirs, out } => {
            let n = sweep::merge(&dirs, &out)?;
            println!("merged        {n} runs from {} folders", dirs.len());
            println!(
                "results       {}/{}, {}",
                out.display(),
                sweep::RUNS_FILE,
                sweep::POINTS_FILE
            );
            sweep_figure(&out);
            Ok(())
        }
        Command::Plot {
            dir,
            x,
            out,
            log_x,
            log_y,
        } => {
            let out = out.unwrap_or_else(|| dir.join("d_vs_n.png"));
            let points = dir.join(sweep::POINTS_FILE);
            if !points.exists() {
                return Err(sweep::SweepError(format!(
                    "{}: no {}; plot needs the output folder of a whole sweep (or a merge)",
                    dir.display(),
                    sweep::POINTS_FILE
                ))
                .into());
            }
            plot::plot_sweep(&points, &out, &plot::SweepPlotOptions { x, log_x, log_y })?;
            println!("figure        {}", out.display());
            Ok(())
        }
        Command::Bounds { args } => {
            let s = Scenario::load(&args.scenario, &args.set, None)?;
            print!("{}", describe(&s));
            let b = bounds(&s);
            println!("D_cs bound    {}", fmt_secs(b.d_cs));
            println!("D_p2p bound   {}", fmt_secs(b.d_p2p));
            Ok(())
        }
        Command::Check { args } => {
            let s = Scenario::load(&args.scenario, &args.set, None)?;
            // A [sweep] table is checked too: every grid point.
            let plan = sweep::Plan::load(&args.scenario, &args.set)?;
            println!("{}: ok", args.scenario.display());
            print!("{}", describe(&s));
            if !plan.keys.is_empty() || plan.replications > 1 {
                println!(
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

/// True if the error is the user's input (exit status 2) rather than a failure (1).
pub fn is_input_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<ScenarioError>()
            || c.is::<sweep::SweepError>()
            || c.is::<crate::memory::MemoryError>()
    })
}

/// `swarmsim sweep`: checks every grid point, then runs this shard's runs with a
/// progress display on stderr.
fn sweep_command(
    args: &ScenarioArgs,
    jobs: Option<usize>,
    out: Option<PathBuf>,
    shard: Option<&str>,
    resume: bool,
    quiet: bool,
) -> Result<()> {
    let shard = match shard {
        Some(s) => sweep::Shard::parse(s)?,
        None => sweep::Shard::ALL,
    };
    if jobs == Some(0) {
        return Err(sweep::SweepError("--jobs 0: expected at least 1 worker".into()).into());
    }
    let plan = sweep::Plan::load(&args.scenario, &args.set)?;
    let dir = out.unwrap_or_else(|| Path::new("results").join(&plan.name));
    let jobs = jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if !quiet {
        eprintln!(
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
    let progress = |done: usize, total: usize| {
        if quiet {
            return;
        }
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            return;
        }
        let Ok(mut last) = last.lock() else { return };
        let now = Instant::now();
        let due = last.is_none_or(|t| now.duration_since(t).as_secs_f64() >= 5.0);
        if due || done == total {
            *last = Some(now);
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
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
    let o = sweep::execute(
        &plan,
        &dir,
        sweep::Options {
            jobs,
            shard,
            resume,
        },
        &progress,
    )?;
    if let Some(b) = &bar {
        b.finish();
    }
    println!(
        "runs          {} ({} simulated now, {} from the journal) in {:.1} s",
        o.runs,
        o.simulated,
        o.resumed,
        start.elapsed().as_secs_f64()
    );
    if o.wrote_points {
        println!(
            "results       {}/{}, {}",
            dir.display(),
            sweep::RUNS_FILE,
            sweep::POINTS_FILE
        );
        sweep_figure(&dir);
    } else {
        println!(
            "results       {}/{} (shard {shard}; join the shards with `swarmsim merge`)",
            dir.display(),
            sweep::RUNS_FILE
        );
    }
    Ok(())
}

/// Draws `DIR/d_vs_n.png` after a sweep or merge; a grid with nothing numeric to
/// put on the x axis gets a note instead.
fn sweep_figure(dir: &Path) {
    let out = dir.join("d_vs_n.png");
    match plot::plot_sweep(
        &dir.join(sweep::POINTS_FILE),
        &out,
        &plot::SweepPlotOptions::default(),
    ) {
        Ok(()) => println!("figure        {}", out.display()),
        Err(e) => eprintln!("note: no figure: {e:#}"),
    }
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
    line(&mut t, "D_cs bound", fmt_secs(m.bounds.d_cs));
    line(&mut t, "D_p2p bound", fmt_secs(m.bounds.d_p2p));
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
    if m.distribution_time_s.is_nan() {
        line(
            &mut t,
            "measured",
            format!(
                "no distribution time: the run ended at {}",
                fmt_secs(m.end_time_s)
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
    line(&mut t, "mean download", fmt_secs(m.mean_completion_s));
    line(&mut t, "events", m.events.to_string());
    t
}
