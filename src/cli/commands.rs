//! The shorter commands: `report`, `validate`, `merge`, `plot`, `bounds`, `check`.

use super::sweep_cmd::{print_notes, stop_if_interrupted};
use super::text::{describe, resolved_settings, validation_table};
use super::{ScenarioArgs, command_line, say, say_err};
use crate::output;
use crate::scenario::Scenario;
use crate::scenario::units::fmt_bytes;
use crate::sweep;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `swarmsim report`: writes the report page of a run or sweep folder.
pub(super) fn report(dir: &Path) -> Result<()> {
    let (path, notes) = crate::report::write(dir)?;
    for n in notes {
        eprintln!("note: {n}");
    }
    println!("report        {}", path.display());
    Ok(())
}

/// `swarmsim validate`: runs the cases, prints the table, writes `validation.csv`
/// and fails (exit status 1) if any row fails.
pub(super) fn validate_command(quick: bool, out: Option<PathBuf>, quiet: bool) -> Result<()> {
    let dir = out.unwrap_or_else(|| Path::new("results").join("validation"));
    let start = Instant::now();
    let progress = |what: &str| {
        if !quiet {
            errln!("validate: {what} ({:.0} s)", start.elapsed().as_secs_f64())
        }
    };
    let (rows, path) = crate::app::validate::validate(quick, &dir, &progress, &command_line())?;
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

/// `swarmsim merge`: joins shard folders and says what it wrote.
pub(super) fn merge(dirs: &[PathBuf], out: &Path, force: bool) -> Result<()> {
    let d = crate::app::merge::merge(dirs, out, force, &command_line())?;
    if let Some(n) = &d.figure_note {
        errln!("note: {n}");
    }
    outln!("merged        {} runs from {} folders", d.runs, dirs.len());
    outln!(
        "results       {}/{}, {}",
        out.display(),
        output::RUNS_FILE,
        output::POINTS_FILE
    );
    if d.figure {
        outln!("figure        {}", out.join(output::SWEEP_FIGURE).display());
    }
    stop_if_interrupted(out)
}

/// `swarmsim plot`: draws a sweep figure and names the file.
pub(super) fn plot(
    dir: &Path,
    opts: output::figure::FigureOptions,
    out: Option<PathBuf>,
    force: bool,
) -> Result<()> {
    let out = crate::app::plot::plot(dir, &opts, out, force, &command_line())?;
    outln!("figure        {}", out.display());
    Ok(())
}

/// `swarmsim bounds`: the scenario and both bounds with their terms.
pub(super) fn bounds(args: &ScenarioArgs) -> Result<()> {
    let s = Scenario::load(&args.scenario, &args.set, None)?;
    say(format_args!("{}", describe(&s)))?;
    say(format_args!("{}", output::bounds_text::bound_lines(&s)))?;
    Ok(())
}

/// `swarmsim check`: checks a scenario (every grid point of its sweep) and says
/// what it describes.
pub(super) fn check(args: &ScenarioArgs) -> Result<()> {
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
        say(format_args!(
            "{}",
            resolved_settings(&s, "preset", p.name())
        ))?;
    } else if s.protocol == crate::scenario::ProtocolKind::BitTorrent
        && s.bittorrent.requests == crate::scenario::RequestModel::Blocks
    {
        // The pipeline's defaults are a client's (libtorrent's), not whole-chunk
        // requests': show them too.
        say(format_args!(
            "{}",
            resolved_settings(&s, "requests", "blocks")
        ))?;
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
