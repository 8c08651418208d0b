//! `swarmsim validate`: reruns what is known exactly or has been published about file
//! distribution and sets the expected value beside the measured one.
//!
//! Every case starts from a scenario file under `scenarios/validation/` (embedded in
//! the binary, so the command works from any folder), changes what the case varies,
//! simulates (in parallel, results in input order) and returns one [`Check`] per row
//! of the table. docs/VALIDATION.md derives every expected value. This module never prints
//! and never writes files; `cli` does.

use crate::engine::SimRng;
use crate::model::{RunResult, catch_run, simulate};
use crate::scenario::{Arrival, PeerClass, Scenario, Seeding};
use anyhow::{Context, Result};
use rand::Rng;
use rayon::prelude::*;

mod bounds;
mod flash_crowd;
mod fluid;
mod models;
mod optimal;
#[cfg(test)]
mod tests;

use bounds::{case_bounds, case_client_server, case_p2p_bound};
use flash_crowd::case_flash_crowd;
use fluid::case_qiu_srikant;
use models::case_models;
use optimal::case_optimal;

/// The validation scenario files, by name, as shipped under `scenarios/validation/`.
pub const FILES: &[(&str, &str)] = &[
    (
        "kurose-ross.toml",
        include_str!("../../scenarios/validation/kurose-ross.toml"),
    ),
    (
        "client-server-exact.toml",
        include_str!("../../scenarios/validation/client-server-exact.toml"),
    ),
    (
        "p2p-bound.toml",
        include_str!("../../scenarios/validation/p2p-bound.toml"),
    ),
    (
        "optimal-homogeneous.toml",
        include_str!("../../scenarios/validation/optimal-homogeneous.toml"),
    ),
    (
        "optimal-heterogeneous.toml",
        include_str!("../../scenarios/validation/optimal-heterogeneous.toml"),
    ),
    (
        "qiu-srikant.toml",
        include_str!("../../scenarios/validation/qiu-srikant.toml"),
    ),
    (
        "flash-crowd.toml",
        include_str!("../../scenarios/validation/flash-crowd.toml"),
    ),
    (
        "models-agree.toml",
        include_str!("../../scenarios/validation/models-agree.toml"),
    ),
    (
        "models-agree-cs.toml",
        include_str!("../../scenarios/validation/models-agree-cs.toml"),
    ),
];

/// One row of the validation table.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Case number and short name, e.g. `2 client-server exact`.
    pub case: String,
    /// Where the expected value comes from.
    pub source: String,
    /// What was simulated.
    pub setting: String,
    /// The expected value or condition.
    pub expected: String,
    /// What the simulator gave.
    pub measured: String,
    /// How far measured may be from expected.
    pub tolerance: String,
    /// Whether the row passes.
    pub pass: bool,
}

impl Check {
    /// `PASS` or `FAIL`.
    pub fn result(&self) -> &'static str {
        if self.pass { "PASS" } else { "FAIL" }
    }
}

/// Column names of the table and of `validation.csv`.
pub const HEADER: [&str; 7] = [
    "case",
    "source",
    "setting",
    "expected",
    "measured",
    "tolerance",
    "result",
];

impl Check {
    /// The row as text cells, in [`HEADER`] order.
    pub fn cells(&self) -> [String; 7] {
        [
            self.case.clone(),
            self.source.clone(),
            self.setting.clone(),
            self.expected.clone(),
            self.measured.clone(),
            self.tolerance.clone(),
            self.result().to_string(),
        ]
    }
}

/// Loads validation scenario `name` with `--set`-style overrides.
pub fn load(name: &str, sets: &[String]) -> Result<Scenario> {
    let text = FILES
        .iter()
        .find(|f| f.0 == name)
        .map(|f| f.1)
        .with_context(|| format!("no validation scenario {name}"))?;
    let path = format!("scenarios/validation/{name}");
    Ok(Scenario::from_toml(text, &path, sets)?)
}

/// Simulates every scenario on the rayon pool; results in input order. A run that
/// panics is an error naming it ([`crate::model::RunPanicked`]).
fn run_all(scenarios: &[Scenario]) -> Result<Vec<RunResult>> {
    let all: Result<Vec<RunResult>, _> = scenarios
        .par_iter()
        .map(|s| catch_run(s, || simulate(s)))
        .collect();
    all.context("a validation case stopped; validation.csv was not written")
}

/// Runs every case (`quick`: the subset for CI) and returns the table's rows.
/// `progress` is told the name of each case as it starts.
pub fn run(quick: bool, progress: &dyn Fn(&str)) -> Result<Vec<Check>> {
    let mut rows = Vec::new();
    progress("case 1: Kurose & Ross bounds table");
    rows.extend(case_bounds()?);
    progress("case 2: client-server is exact under max-min");
    rows.extend(case_client_server(quick)?);
    progress("case 3: nothing beats D_p2p; bytes conserved");
    rows.extend(case_p2p_bound(quick)?);
    progress("case 4: optimal scheduling");
    rows.extend(case_optimal(quick)?);
    progress("case 5: Qiu & Srikant fluid model");
    rows.extend(case_qiu_srikant(quick)?);
    if !quick {
        progress("case 6: BitTorrent flash crowd of 1000 peers");
        rows.extend(case_flash_crowd()?);
    }
    progress("case 7: bandwidth models agree");
    rows.extend(case_models(quick)?);
    Ok(rows)
}

/// Relative difference `|a - b| / |b|`.
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}
/// A uniform draw in `[lo, hi)`.
fn uniform(rng: &mut SimRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// A peer class of flash arrivals that never leave.
fn class(name: String, count: u64, upload: f64, download: f64) -> PeerClass {
    PeerClass {
        name,
        count,
        upload,
        download,
        arrival: Arrival::Flash,
        seeding: Seeding::Never,
        latency: 0.0,
    }
}
