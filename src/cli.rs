//! The command line: clap definitions, turned into calls into the library. This is
//! the only place (with `main`) that prints.

use crate::bounds::bounds;
use crate::model::{RunResult, simulate};
use crate::output;
use crate::scenario::units::{fmt_bytes, fmt_rate, fmt_secs};
use crate::scenario::{Scenario, ScenarioError};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
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
        Command::Run { args, out, seed } => {
            let s = Scenario::load(&args.scenario, &args.set, seed)?;
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
            println!("results       {}/summary.csv, peers.csv", dir.display());
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
            println!("{}: ok", args.scenario.display());
            print!("{}", describe(&s));
            Ok(())
        }
    }
}

/// True if the error is the user's input (exit status 2) rather than a failure (1).
pub fn is_input_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<ScenarioError>())
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
