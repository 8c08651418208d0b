//! `sweep`: a scenario's grid run in parallel into its output folder, in two steps
//! ([`prepare`], then [`Prepared::execute`]) so that the caller can say what is
//! about to run in between.

use super::CANCEL;
use crate::output::folder::{Ours, check_owner};
use crate::output::{self, Folder, manifest};
use crate::sweep::{self, Plan, Shard};
use anyhow::Result;
use std::path::PathBuf;

/// What `sweep` is asked to do.
#[derive(Clone, Debug)]
pub struct SweepRequest<'a> {
    /// The checked plan.
    pub plan: &'a Plan,
    /// The output folder.
    pub dir: PathBuf,
    /// Worker threads (default: all cores); never more than the shard's runs.
    pub jobs: Option<usize>,
    /// The share of the grid to run.
    pub shard: Shard,
    /// Finish an interrupted sweep in the same folder.
    pub resume: bool,
    /// Keep each run's tables under `runs/<run>/`.
    pub keep_runs: bool,
    /// Overwrite the folder even if it holds another scenario's results.
    pub force: bool,
    /// Run even if the memory estimate of the largest run, times the workers,
    /// exceeds the available memory.
    pub ignore_memory_limit: bool,
    /// The command line, for the manifest and the folder's lock.
    pub command: &'a [String],
}

/// A sweep whose checks passed and whose output folder is open.
pub struct Prepared<'a> {
    req: SweepRequest<'a>,
    folder: Folder,
    manifest_text: String,
    /// The worker threads it will use.
    pub jobs: usize,
}

/// How a sweep ended.
#[derive(Debug)]
pub struct SweepDone {
    /// What the runs did ([`sweep::Outcome`]).
    pub outcome: sweep::Outcome,
    /// A signal stopped it: the finished runs are in the journal, nothing else was
    /// written.
    pub interrupted: bool,
    /// The sweep figure was drawn.
    pub figure: bool,
    /// Why it was not drawn, if there is something to say.
    pub figure_note: Option<String>,
}

/// Checks the memory estimate and the output folder (its own, or for `--resume`
/// holding this very sweep) and opens it.
pub fn prepare(req: SweepRequest<'_>) -> Result<Prepared<'_>> {
    let plan = req.plan;
    let shard = req.shard;
    let dir = &req.dir;
    // Never more workers than this shard has runs.
    let mine = plan.runs.iter().filter(|r| shard.owns(r.index)).count();
    let jobs = req
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, mine.max(1));
    if !req.ignore_memory_limit
        && let Some(largest) = plan.runs.iter().map(|r| &r.scenario).max_by(|a, b| {
            crate::memory::estimate_bytes(a).total_cmp(&crate::memory::estimate_bytes(b))
        })
    {
        crate::memory::check_sweep(largest, jobs, crate::memory::available_bytes())?;
    }
    let same_sweep =
        |st: sweep::State| st.fingerprint == plan.fingerprint && st.total_runs == plan.runs.len();
    let names = sweep::owned_names();
    let same = |m: &str| {
        manifest::kind(m).as_deref() == Some("sweep")
            && Plan::from_toml(m, "manifest.toml", &[])
                .is_ok_and(|p| p.fingerprint == plan.fingerprint)
    };
    let legacy = || sweep::State::read(dir).is_ok_and(same_sweep);
    let ours = Ours {
        what: format!("the sweep of scenario `{}`", plan.name),
        names: &names,
        same: &same,
        legacy: &legacy,
    };
    // A new sweep needs a folder that is its own; --resume one that holds this very
    // sweep. Either is checked before anything is written.
    let check = || -> Result<()> {
        if req.resume {
            sweep::resume_state(plan, dir, shard).map(|_| ())
        } else {
            Ok(check_owner(dir, req.force, &ours)?)
        }
    };
    let holder = super::shell_line(req.command);
    let folder = Folder::open(dir, &holder, check)?;
    let manifest_text = manifest::text("sweep", &plan.to_toml(), req.command);
    Ok(Prepared {
        req,
        folder,
        manifest_text,
        jobs,
    })
}

impl Prepared<'_> {
    /// Runs the shard's runs, reporting `progress(done, total)` as runs end, then
    /// writes the tables and (for a whole sweep) the figure. Stops at a signal.
    pub fn execute(mut self, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<SweepDone> {
        super::catch_signals();
        let req = &self.req;
        let o = sweep::execute_cancellable(
            req.plan,
            &mut self.folder,
            sweep::Options {
                jobs: self.jobs,
                shard: req.shard,
                resume: req.resume,
                keep_runs: req.keep_runs,
            },
            &self.manifest_text,
            progress,
            &CANCEL,
        )?;
        if o.interrupted {
            return Ok(SweepDone {
                outcome: o,
                interrupted: true,
                figure: false,
                figure_note: None,
            });
        }
        let (figure, figure_note) = if o.wrote_points {
            super::sweep_figure(&mut self.folder)?
        } else {
            (false, None)
        };
        self.folder.commit(
            &[output::POINTS_FILE, output::SWEEP_FIGURE],
            Some(&self.manifest_text),
        )?;
        drop(self.folder);
        Ok(SweepDone {
            outcome: o,
            interrupted: false,
            figure,
            figure_note,
        })
    }
}
