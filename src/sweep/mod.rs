//! Parameter sweeps: a scenario's `[sweep]` table expanded into a grid of runs, the
//! runs executed in parallel (rayon), their rows journalled as they finish, and the
//! final `runs.csv` and `points.csv` written in input order; shards of a grid and
//! their merge.
//!
//! A run's seed depends only on the scenario's seed, the grid point and the
//! replication ([`derive_seed`]), and every output row is built from the run alone, so
//! the files do not depend on the thread count or the shard. This module never
//! prints: progress goes through a callback given by the caller.

use crate::model::{catch_run, simulate_with};
use crate::output::quantity::Quantity;
use crate::output::read::read_csv;
use crate::output::{self, Folder, POINTS_FILE, RUNS_FILE, SweepError, classes, num};
use crate::scenario::{Scenario, ScenarioError, apply_override};
use crate::stats::{derive_seed, stats};
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use toml::{Table, Value};

/// Largest number of runs one sweep may have.
pub const MAX_RUNS: usize = 10_000_000;
/// The sweep's state file in its output folder (fingerprint, shard, number of runs).
pub const STATE_FILE: &str = "sweep.toml";
/// The journal: one complete CSV line per finished run, in completion order.
pub const JOURNAL_FILE: &str = "journal.csv";
/// The tables a sweep writes into its folder (besides `manifest.toml` and its
/// figure, [`output::SWEEP_FIGURE`]).
pub const FILES: &[&str] = &[
    STATE_FILE,
    JOURNAL_FILE,
    RUNS_FILE,
    POINTS_FILE,
    classes::CLASS_JOURNAL_FILE,
    classes::RUNS_BY_CLASS_FILE,
    classes::POINTS_BY_CLASS_FILE,
];

fn refuse<T>(msg: impl Into<String>) -> Result<T> {
    Err(SweepError(msg.into()).into())
}

mod execute;
mod journal;
mod merge;
mod plan;
mod points;
mod spec;
mod state;

pub use execute::*;
pub use journal::*;
pub use merge::*;
pub use plan::*;
pub use points::*;
pub use spec::*;
pub use state::*;

/// Every file a run or a sweep replaces or removes in its output folder (besides
/// `manifest.toml`): a folder is written by one of them at a time.
pub fn owned_names() -> Vec<&'static str> {
    let mut v = FILES.to_vec();
    v.extend_from_slice(output::RUN_FILES);
    v.push(output::SWEEP_FIGURE);
    v
}

#[cfg(test)]
mod tests;
