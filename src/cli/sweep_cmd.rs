//! `swarmsim sweep`: the sweep use case ([`crate::app::sweep`]) with its progress
//! display and summary.

use super::{Interrupted, SetOnDrop, SweepArgs, command_line, say, say_err};
use crate::app::shell_line;
use crate::app::sweep::{SweepRequest, prepare};
use crate::output;
use crate::sweep;
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Prints, on stderr, each note of some run of `plan` ([`crate::scenario::Scenario::notes`]:
/// a setting it does not use, a known way to stall), once, with the number of runs
/// it concerns when that is not all of them.
pub(super) fn print_notes(file: &Path, plan: &sweep::Plan) {
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

/// After a sweep or merge has put its tables in place: [`Interrupted`] if a signal
/// stopped the figure, naming the command that draws it.
pub(super) fn stop_if_interrupted(dir: &Path) -> Result<()> {
    if !crate::app::cancelled() {
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

/// `swarmsim sweep`: checks every grid point, then runs this shard's runs with a
/// progress display on stderr.
pub(super) fn sweep_command(a: SweepArgs) -> Result<()> {
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
    let dir = out.unwrap_or_else(|| crate::app::run::default_dir(&plan.name));
    let command = command_line();
    let prepared = prepare(SweepRequest {
        plan: &plan,
        dir: dir.clone(),
        jobs: jobs.map(usize::from),
        shard,
        resume,
        keep_runs,
        force,
        ignore_memory_limit,
        command: &command,
    })?;
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
            prepared.jobs,
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
    let finished = AtomicBool::new(false);
    let d = std::thread::scope(|scope| {
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
        // (Set on the way out, also by a panic unwinding through here: the scope
        // waits for the line printer, which would otherwise print forever.)
        let _finished = SetOnDrop(&finished);
        prepared.execute(&progress)
    })?;
    if let Some(b) = &bar {
        b.finish();
    }
    let o = &d.outcome;
    if d.interrupted {
        let mut again = command.clone();
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
    if let Some(n) = &d.figure_note {
        errln!("note: {n}");
    }
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
    if d.figure {
        outln!("figure        {}", dir.join(output::SWEEP_FIGURE).display());
    }
    stop_if_interrupted(&dir)
}
