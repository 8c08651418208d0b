//! Errors of the output layer: files that cannot be written, output folders that
//! hold another scenario's results or are being written by another process.

use std::path::PathBuf;

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file system operation failed (a failure: exit status 1).
    #[error("cannot {action} {}: {err}", path.display())]
    Io {
        /// What was being done: "create the folder", "write", "rename ... to", ...
        action: String,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        err: std::io::Error,
    },
    /// The output folder holds results of another scenario (bad input: exit status 2).
    #[error(
        "{} already holds {found}; refusing to overwrite them with {ours}: use another --out, or --force to overwrite",
        dir.display()
    )]
    Foreign {
        /// The output folder.
        dir: PathBuf,
        /// What the folder holds, e.g. "the run of scenario `x` (seed 1)".
        found: String,
        /// What was about to be written there.
        ours: String,
    },
    /// Another swarmsim process is writing into the folder (bad input: exit status 2).
    #[error(
        "{} is being written by another swarmsim ({holder}); wait for it to finish, or use another --out",
        dir.display()
    )]
    Busy {
        /// The output folder.
        dir: PathBuf,
        /// What its lock file records: "pid 12: swarmsim run ...".
        holder: String,
    },
    /// A file that is not a figure swarmsim drew is in the way (bad input: exit status 2).
    #[error(
        "{} is not a figure swarmsim drew; refusing to replace it: use another --out, or --force to replace it",
        path.display()
    )]
    NotOurs {
        /// The file.
        path: PathBuf,
    },
}

impl OutputError {
    /// An [`OutputError::Io`] for `action` on `path`.
    pub fn io(action: impl Into<String>, path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        OutputError::Io {
            action: action.into(),
            path: path.into(),
            err,
        }
    }

    /// True if the user can fix it by changing the command (exit status 2).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            OutputError::Foreign { .. } | OutputError::Busy { .. } | OutputError::NotOurs { .. }
        )
    }
}

/// A problem with a sweep the user can fix (a refused `--resume`, `--shard` or
/// `merge`, a sweep folder whose tables cannot be read or drawn); reported with exit
/// status 2.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepError(pub String);

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SweepError {}
