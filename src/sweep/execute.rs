//! Running a plan's runs in parallel, journalling each, and writing the final tables.

use super::*;

/// How to execute a sweep.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Worker threads.
    pub jobs: usize,
    /// The share of the grid to run.
    pub shard: Shard,
    /// Continue an interrupted sweep in the same folder.
    pub resume: bool,
    /// Keep each run's `peers.csv`, `timeseries.csv` and `classes.csv` under
    /// `runs/<run>/` in the sweep's folder.
    pub keep_runs: bool,
}

/// Sets its flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The folder of a sweep's kept runs ([`Options::keep_runs`]).
pub const KEPT_RUNS_DIR: &str = "runs";

/// Writes one run's `peers.csv`, `timeseries.csv` and `classes.csv` into
/// `DIR/runs/<run>/` (created if needed).
pub(super) fn keep_run(dir: &Path, index: usize, r: &crate::model::RunResult) -> Result<()> {
    let d = dir.join(KEPT_RUNS_DIR).join(index.to_string());
    output::create_dir(&d)?;
    let bytes = |(h, rows): (Vec<&str>, Vec<Vec<String>>)| {
        output::csv_bytes(&h, &rows)
            .with_context(|| format!("cannot format a table of {}", d.display()))
    };
    output::folder::write_atomic(&d, "peers.csv", &bytes(output::peer_rows(r))?)?;
    output::folder::write_atomic(&d, "timeseries.csv", &bytes(output::timeseries_rows(r))?)?;
    output::folder::write_atomic(&d, output::CLASSES_FILE, &bytes(classes::class_rows(r))?)?;
    Ok(())
}

/// What [`execute`] did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Runs of this shard.
    pub runs: usize,
    /// Runs found finished in the journal (with `--resume`).
    pub resumed: usize,
    /// Runs simulated now.
    pub simulated: usize,
    /// True if `points.csv` was written (whole grid).
    pub wrote_points: bool,
    /// True if the cancel flag stopped the sweep: the journal holds the finished
    /// runs, `runs.csv` and `points.csv` were not written.
    pub interrupted: bool,
}

/// The full header of `runs.csv` for a plan (run columns and summary columns).
pub(super) fn full_header(plan: &Plan) -> Vec<String> {
    let mut h = plan.runs_header();
    h.extend(output::summary_header().into_iter().map(str::to_string));
    h
}

/// A run's `runs.csv` row and its `runs_by_class.csv` rows.
pub(super) type RunRows = (Vec<String>, Vec<Vec<String>>);

/// Where a run stands in the grid, for errors: `run 3 (point 1: peers.0.count = 500,
/// replication 1)`.
pub fn run_place(plan: &Plan, run: &Run) -> String {
    let point: Vec<String> = plan
        .keys
        .iter()
        .zip(&run.params)
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    format!(
        "run {} (point {}{}{}, replication {})",
        run.index,
        run.point,
        if point.is_empty() { "" } else { ": " },
        point.join(", "),
        run.replication
    )
}

/// Simulates one run (inside its worker) and returns its `runs.csv` row and its
/// `runs_by_class.csv` rows; `None` if `cancel` was set before it finished. A run
/// that panics is an error naming it ([`run_place`], [`crate::model::RunPanicked`]).
pub(super) fn run_row(
    plan: &Plan,
    run: &Run,
    cancel: &AtomicBool,
    keep: Option<&Path>,
) -> Result<Option<RunRows>> {
    let start = Instant::now();
    let r = catch_run(&run.scenario, || simulate_with(&run.scenario, cancel))
        .map_err(|p| anyhow::Error::new(p).context(run_place(plan, run)))?;
    let Some(r) = r else {
        return Ok(None);
    };
    let wall = start.elapsed().as_secs_f64();
    if let Some(dir) = keep {
        keep_run(dir, run.index, &r)?;
    }
    let mut row = vec![run.index.to_string(), run.point.to_string()];
    row.extend(plan.param_cells(run));
    row.push(run.replication.to_string());
    let by_class = classes::runs_by_class_rows(&row, &r);
    row.extend(
        output::summary_columns(&r.summary, wall)
            .into_iter()
            .map(|(_, v)| v),
    );
    Ok(Some((row, by_class)))
}

/// Runs this shard's share of the plan in the locked output folder `folder`. A new
/// sweep first replaces the folder's files by its state file, an empty journal and
/// `manifest` (one commit); `--resume` checks the folder holds this sweep and keeps
/// the finished runs of its journal. Each finished run is appended to the journal.
/// At the end `runs.csv` (and, for the whole grid, `points.csv`) are left staged in
/// `folder`: the caller adds its figure and commits them with the manifest.
/// `progress(done, total)` is called after each run, from worker threads.
pub fn execute(
    plan: &Plan,
    folder: &mut Folder,
    opts: Options,
    manifest: &str,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Outcome> {
    execute_cancellable(
        plan,
        folder,
        opts,
        manifest,
        progress,
        &AtomicBool::new(false),
    )
}

/// As [`execute`], but once `cancel` is set no run starts, the runs in flight stop
/// (and are not journalled), and it returns with [`Outcome::interrupted`] set after
/// closing the journal, whose lines are all complete; nothing is left staged.
///
/// A run that panics, or a journal line that cannot be written, stops the sweep the
/// same way (the runs in flight stop at their next event), and the error is
/// returned, naming the run ([`run_place`]), its seed and the panic's message.
pub fn execute_cancellable(
    plan: &Plan,
    folder: &mut Folder,
    opts: Options,
    manifest: &str,
    progress: &(dyn Fn(usize, usize) + Sync),
    cancel: &AtomicBool,
) -> Result<Outcome> {
    let header = full_header(plan);
    let state = State {
        scenario: plan.name.clone(),
        fingerprint: plan.fingerprint.clone(),
        total_runs: plan.runs.len(),
        shard: opts.shard,
    };
    let dir = folder.path().to_path_buf();
    let journal = dir.join(JOURNAL_FILE);
    let class_header = classes::runs_by_class_header(&plan.runs_header());
    let class_journal = dir.join(classes::CLASS_JOURNAL_FILE);
    let mut done = BTreeMap::new();
    let mut class_done = Vec::new();
    if opts.resume {
        let (d, complete) = resume_state(plan, &dir, opts.shard)?;
        done = d;
        // Checked: now drop a torn last line.
        let f = open_journal(&journal)?;
        if f.metadata()?.len() > complete {
            f.set_len(complete)
                .with_context(|| format!("cannot truncate {}", journal.display()))?;
        }
        class_done =
            classes::read_class_journal(&class_journal, &class_header, |i| done.contains_key(&i))
                .map_err(SweepError)?;
    } else {
        // Nothing of an earlier sweep or run stays beside this sweep's files.
        state.stage(folder)?;
        folder.stage_bytes(JOURNAL_FILE, &csv_line(&header)?)?;
        folder.stage_bytes(classes::CLASS_JOURNAL_FILE, &csv_line(&class_header)?)?;
        folder.commit(&owned_names(), Some(manifest))?;
    }
    let mut jf = open_journal(&journal)?;
    if jf.metadata()?.len() == 0 {
        jf.write_all(&csv_line(&header)?)?;
        jf.flush()?;
    }
    let mut cf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&class_journal)
        .with_context(|| format!("cannot open {}", class_journal.display()))?;
    if cf.metadata()?.len() == 0 {
        cf.write_all(&csv_line(&class_header)?)?;
        cf.flush()?;
    }
    let mine: Vec<&Run> = plan
        .runs
        .iter()
        .filter(|r| opts.shard.owns(r.index))
        .collect();
    let pending: Vec<&Run> = mine
        .iter()
        .copied()
        .filter(|r| !done.contains_key(&r.index))
        .collect();
    let resumed = mine.len() - pending.len();
    let total = mine.len();
    progress(resumed, total);
    let shared = Mutex::new((jf, done, resumed, cf, class_done));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .context("cannot start the worker threads")?;
    let keep = opts.keep_runs.then_some(dir.as_path());
    // The runs watch `stop`, set by a run that failed (so that the runs in flight
    // stop too) or copied from `cancel` by a watcher while the workers run.
    let stop = AtomicBool::new(cancel.load(Ordering::Relaxed));
    let workers_done = AtomicBool::new(false);
    let ran = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !workers_done.load(Ordering::Relaxed) {
                if cancel.load(Ordering::Relaxed) {
                    stop.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        // (Set on the way out, also if a worker's panic unwinds through here: the
        // scope waits for the watcher.)
        let _done = SetOnDrop(&workers_done);
        pool.install(|| {
            pending
                .par_iter()
                .with_max_len(1)
                .try_for_each(|run| -> Result<()> {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    let rows = run_row(plan, run, &stop, keep).and_then(|rows| {
                        let Some((row, by_class)) = rows else {
                            return Ok(None);
                        };
                        let line = csv_line(&row)?;
                        let mut class_lines = Vec::new();
                        for r in &by_class {
                            class_lines.extend(csv_line(r)?);
                        }
                        Ok(Some((row, by_class, line, class_lines)))
                    });
                    let (row, by_class, line, class_lines) = match rows {
                        Ok(Some(r)) => r,
                        Ok(None) => return Ok(()),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    };
                    let n = {
                        let mut g = shared
                            .lock()
                            .map_err(|_| anyhow::anyhow!("a worker failed"))?;
                        // (The class rows first: a run is finished once its line is
                        // in the main journal, and then its class rows are there too.)
                        g.3.write_all(&class_lines)
                            .and_then(|_| g.3.flush())
                            .with_context(|| format!("cannot write {}", class_journal.display()))?;
                        g.4.extend(by_class);
                        g.0.write_all(&line)
                            .and_then(|_| g.0.flush())
                            .with_context(|| format!("cannot write {}", journal.display()))?;
                        g.1.insert(run.index, row);
                        g.2 += 1;
                        g.2
                    };
                    progress(n, total);
                    Ok(())
                })
        })
    });
    let (jf, done, _, cf, class_rows) = shared
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a worker failed"))?;
    jf.sync_all().ok();
    cf.sync_all().ok();
    if let Err(e) = ran {
        // Like an interrupted sweep: the journal holds the finished runs, in whole
        // lines; nothing is staged.
        return Err(e.context(format!(
            "the sweep stopped: {} of {total} runs are finished and kept in {}; {RUNS_FILE} was not written",
            done.len(),
            journal.display()
        )));
    }
    if cancel.load(Ordering::Relaxed) {
        return Ok(Outcome {
            runs: total,
            resumed,
            simulated: done.len() - resumed,
            wrote_points: false,
            interrupted: true,
        });
    }
    let rows: Vec<Vec<String>> = done.into_values().collect();
    folder.stage_csv(
        RUNS_FILE,
        &header.iter().map(String::as_str).collect::<Vec<_>>(),
        &rows,
    )?;
    let whole = opts.shard == Shard::ALL;
    write_class_tables(folder, &class_header, class_rows, whole)?;
    if whole {
        write_points(folder, &header, &rows)?;
    }
    Ok(Outcome {
        runs: total,
        resumed,
        simulated: pending.len(),
        wrote_points: whole,
        interrupted: false,
    })
}
