//! `validate`: the validation cases run and their table written.

use crate::output::{Folder, OutputError};
use crate::validate;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Runs the validation cases (the fast subset if `quick`), reporting each case's
/// start to `progress`, and writes `validation.csv` into `dir`; returns the rows and
/// the file written. `command` is recorded in the folder's lock.
pub fn validate(
    quick: bool,
    dir: &Path,
    progress: &dyn Fn(&str),
    command: &[String],
) -> Result<(Vec<validate::Check>, PathBuf)> {
    // (The folder first: a minute of checks should not end in "cannot create".)
    let mut folder = Folder::open(dir, &super::shell_line(command), || {
        Ok::<(), OutputError>(())
    })?;
    let rows = validate::run(quick, progress)?;
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.cells().to_vec()).collect();
    let path = dir.join("validation.csv");
    folder.stage_csv("validation.csv", &validate::HEADER, &cells)?;
    folder.commit(&[], None)?;
    drop(folder);
    Ok((rows, path))
}
