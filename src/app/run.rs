//! `run`: one scenario simulated into its output folder (tables, manifest, and on
//! request the trace and the figures).

use super::CANCEL;
use crate::model::{Progress, RunResult, TraceSink, catch_run, simulate_observed};
use crate::output::folder::{self, Ours, check_owner};
use crate::output::{self, Folder, manifest, plot};
use crate::scenario::Scenario;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// What `run` is asked to do.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    /// The checked scenario.
    pub scenario: &'a Scenario,
    /// The output folder.
    pub dir: PathBuf,
    /// Overwrite the folder even if it holds another scenario's results.
    pub force: bool,
    /// Run even if the memory estimate exceeds the available memory.
    pub ignore_memory_limit: bool,
    /// Also write the trace (chunks.csv, chokes.csv).
    pub trace: bool,
    /// Also draw completion_cdf.png and swarm.png.
    pub plot: bool,
    /// The command line, for the manifest and the folder's lock.
    pub command: &'a [String],
}

/// A run that finished, its files in place.
#[derive(Debug)]
pub struct RunDone {
    /// The run's results.
    pub result: RunResult,
    /// Wall-clock seconds from the start of the simulation to its files staged.
    pub wall: f64,
    /// The trace files written.
    pub traced: Vec<PathBuf>,
    /// The figures drawn.
    pub figures: Vec<PathBuf>,
    /// Why a figure could not be drawn (the tables are in place all the same).
    pub figure_error: Option<anyhow::Error>,
}

/// How a run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// It finished.
    Done(Box<RunDone>),
    /// A signal stopped it after `secs` seconds; nothing was written.
    Interrupted {
        /// Wall-clock seconds it ran.
        secs: f64,
    },
}

/// The files a run owns in its folder: what it replaces and what an earlier run or
/// sweep there leaves behind it.
pub fn owned_names() -> Vec<&'static str> {
    let mut names = crate::sweep::owned_names();
    // (A run without --trace leaves no trace or report of an earlier run.)
    names.extend_from_slice(output::trace::TRACE_FILES);
    names.push(crate::report::REPORT_FILE);
    names
}

/// Runs `req`: checks the memory estimate and the output folder, simulates
/// (reporting to `progress` if given), and writes the results into the folder.
pub fn run(req: &RunRequest, progress: Option<Arc<Progress>>) -> Result<RunEnd> {
    let s = req.scenario;
    let dir = &req.dir;
    if !req.ignore_memory_limit {
        crate::memory::check(s, crate::memory::available_bytes())?;
    }
    let names = owned_names();
    let same = |m: &str| {
        manifest::kind(m).as_deref() == Some("run")
            && Scenario::from_toml(m, "manifest.toml", &[]).ok().as_ref() == Some(s)
    };
    let ours = Ours {
        what: format!("the run of scenario `{}` (seed {})", s.name, s.seed),
        names: &names,
        same: &same,
        legacy: &|| false,
    };
    let holder = super::shell_line(req.command);
    let mut folder = Folder::open(dir, &holder, || check_owner(dir, req.force, &ours))?;
    super::catch_signals();
    let mut tracer = if req.trace {
        let staged = folder.staged(output::trace::CHUNKS_FILE)?;
        let staging = staged.parent().unwrap_or(dir).to_path_buf();
        Some(output::trace::TraceWriter::create(&staging, s)?)
    } else {
        None
    };
    let start = Instant::now();
    let sink = tracer.as_mut().map(|t| t as &mut dyn TraceSink);
    let simulated = catch_run(s, || simulate_observed(s, &CANCEL, progress, sink));
    let r = match simulated {
        Ok(Some(r)) => r,
        end => {
            if let Some(t) = tracer {
                t.abandon();
            }
            // (A panic is an error; the folder's staging goes with `folder`.)
            end.map_err(|p| {
                anyhow::Error::new(p).context(format!(
                    "the run stopped and nothing was written to {}",
                    dir.display()
                ))
            })?;
            return Ok(RunEnd::Interrupted {
                secs: start.elapsed().as_secs_f64(),
            });
        }
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
    if req.plot {
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
    let m = manifest::text("run", &crate::scenario::to_toml(s), req.command);
    folder.commit(&names, Some(&m))?;
    drop(folder);
    Ok(RunEnd::Done(Box::new(RunDone {
        result: r,
        wall,
        traced,
        figures,
        figure_error,
    })))
}

/// The default output folder of a scenario: `results/<name>`.
pub fn default_dir(name: &str) -> PathBuf {
    Path::new("results").join(name)
}
