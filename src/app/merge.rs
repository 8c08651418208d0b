//! `merge`: the shard folders of one sweep joined into one folder.

use crate::output::folder::{Ours, check_owner};
use crate::output::{Folder, OutputError};
use crate::sweep;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What a merge wrote.
#[derive(Clone, Debug)]
pub struct MergeDone {
    /// The runs merged.
    pub runs: usize,
    /// The sweep figure was drawn.
    pub figure: bool,
    /// Why it was not drawn, if there is something to say.
    pub figure_note: Option<String>,
}

/// Joins the shard folders `dirs` into `out`, which must be empty, hold this very
/// sweep, or be `force`d; `command` is recorded in the folder's lock.
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool, command: &[String]) -> Result<MergeDone> {
    // The merged folder must be empty, hold this very sweep, or be forced.
    let first = match dirs.first() {
        Some(d) => Some(sweep::State::read(d)?),
        None => None,
    };
    let names = sweep::owned_names();
    let check = || -> Result<(), OutputError> {
        let Some(st) = &first else { return Ok(()) };
        let same = |m: &str| {
            sweep::Plan::from_toml(m, "manifest.toml", &[])
                .is_ok_and(|p| p.fingerprint == st.fingerprint)
        };
        let legacy = || sweep::State::read(out).is_ok_and(|o| o.fingerprint == st.fingerprint);
        let ours = Ours {
            what: format!("the sweep of scenario `{}`", st.scenario),
            names: &names,
            same: &same,
            legacy: &legacy,
        };
        check_owner(out, force, &ours)
    };
    let mut folder = Folder::open(out, &super::shell_line(command), check)?;
    let (n, m) = sweep::merge(dirs, &mut folder)?;
    super::catch_signals();
    let (figure, figure_note) = super::sweep_figure(&mut folder)?;
    folder.commit(&names, m.as_deref())?;
    drop(folder);
    Ok(MergeDone {
        runs: n,
        figure,
        figure_note,
    })
}
