//! The use cases, one function each, doing the whole job: checks, the output
//! folder, the simulation, the files and figures. They return what happened and
//! never print; the command line ([`crate::cli`]) parses the arguments, calls them
//! and prints around them.

pub mod merge;
pub mod plot;
pub mod run;
pub mod sweep;
pub mod validate;

use crate::output::folder;
use crate::output::{self, Folder, OutputError, plot as run_plot};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Set by the first SIGINT, SIGTERM or SIGHUP: runs and sweeps stop at the next event.
pub static CANCEL: AtomicBool = AtomicBool::new(false);

/// Routes SIGINT, SIGTERM and SIGHUP to [`CANCEL`]; a second signal exits at once.
pub fn catch_signals() {
    static SIGNALS: AtomicUsize = AtomicUsize::new(0);
    // Fails only if a handler is already installed (e.g. a second call): keep it.
    let _ = ctrlc::set_handler(|| {
        CANCEL.store(true, Ordering::SeqCst);
        if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(130);
        }
    });
}

/// True once a signal asked the command to stop.
pub fn cancelled() -> bool {
    CANCEL.load(Ordering::SeqCst)
}

/// Words joined into a line a POSIX shell reads back (single quotes where needed).
pub fn shell_line(words: &[String]) -> String {
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

/// Draws the sweep figure (`d_vs_n.png`) from the staged `points.csv` of a sweep or
/// merge into `folder`'s staging: whether it was drawn, and if not, the note to give
/// instead (a grid with nothing numeric to put on the x axis, or values no axis can
/// hold; a signal while drawing gives no note: see [`cancelled`]).
pub fn sweep_figure(folder: &mut Folder) -> Result<(bool, Option<String>), OutputError> {
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
        Ok(()) => Ok((true, None)),
        Err(e) => {
            let _ = std::fs::remove_file(&out);
            let note = (!e.is::<run_plot::Cancelled>()).then(|| format!("no figure: {e:#}"));
            Ok((false, note))
        }
    }
}
