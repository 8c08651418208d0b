//! `plot`: a figure of a sweep folder's tables, written where asked.

use crate::output::{self, Folder, folder};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Draws the figure `opts` asks for from the sweep folder `dir` into `out` (default:
/// `DIR/d_vs_n.png` without a y column, else `DIR/<y>_vs_<x>.png`); returns the
/// file written. A file there that swarmsim did not draw is replaced only if
/// `force`; `command` is recorded in the folder's lock.
pub fn plot(
    dir: &Path,
    opts: &output::figure::FigureOptions,
    out: Option<PathBuf>,
    force: bool,
    command: &[String],
) -> Result<PathBuf> {
    let out = match out {
        Some(o) => o,
        None if opts.y.is_none() => dir.join(output::SWEEP_FIGURE),
        None => dir.join(output::figure::figure_name(
            opts.y.as_deref().unwrap_or(output::figure::DEFAULT_Y),
            &output::figure::x_key(dir, opts)?,
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
    let holder = super::shell_line(command);
    let mut folder = Folder::open(parent, &holder, || folder::check_figure(&out, force))?;
    let staged = folder.staged(&name)?;
    output::figure::plot_figure(dir, Some(&staged), opts)?;
    folder::mark_figure(&staged)?;
    folder.commit(&[], None)?;
    drop(folder);
    Ok(out)
}
