//! `swarmsim run`: the run use case ([`crate::app::run`]) with its summary printed.

use super::progress::run_progress;
use super::text::run_report;
use super::{Interrupted, SetOnDrop, command_line, say, say_err};
use crate::app::run::{RunDone, RunEnd, RunRequest, default_dir};
use crate::app::shell_line;
use crate::model::Progress;
use crate::output::plot;
use crate::scenario::Scenario;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The switches of `swarmsim run`.
pub(super) struct RunFlags {
    pub plot: bool,
    pub force: bool,
    pub ignore_memory_limit: bool,
    pub quiet: bool,
    pub trace: bool,
}

/// `swarmsim run`: loads the scenario, runs it with a progress display on a
/// terminal, and prints the summary.
pub(super) fn run_command(
    args: super::ScenarioArgs,
    out: Option<PathBuf>,
    seed: Option<u64>,
    flags: RunFlags,
) -> Result<()> {
    let s = Scenario::load(&args.scenario, &args.set, seed)?;
    for m in s.notes() {
        errln!("note: {}: {m}", args.scenario.display());
    }
    let dir = out.unwrap_or_else(|| default_dir(&s.name));
    let command = command_line();
    let req = RunRequest {
        scenario: &s,
        dir: dir.clone(),
        force: flags.force,
        ignore_memory_limit: flags.ignore_memory_limit,
        trace: flags.trace,
        plot: flags.plot,
        command: &command,
    };
    let start = Instant::now();
    let watch = Arc::new(Progress::default());
    let finished = AtomicBool::new(false);
    let show = !flags.quiet && std::io::stderr().is_terminal();
    let end = std::thread::scope(|scope| {
        if show {
            scope.spawn(|| run_progress(&watch, &finished, start));
        }
        // (Set on the way out, also by a panic: the scope waits for the display.)
        let _finished = SetOnDrop(&finished);
        crate::app::run::run(&req, show.then(|| watch.clone()))
    })?;
    let done = match end {
        RunEnd::Done(d) => d,
        RunEnd::Interrupted { secs } => {
            return Err(Interrupted(format!(
                "interrupted after {secs:.1} s: the run did not finish and nothing was written to {}; \
                 run the same command again to start it over:\n  {}",
                dir.display(),
                shell_line(&command)
            ))
            .into());
        }
    };
    let RunDone {
        result: r,
        wall,
        traced,
        figures,
        figure_error,
    } = *done;
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
            shell_line(&command)
        ))
        .into()),
        Some(e) => Err(e),
        None => Ok(()),
    }
}
