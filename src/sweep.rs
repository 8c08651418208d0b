//! Parameter sweeps: a scenario's `[sweep]` table expanded into a grid of runs, the
//! runs executed in parallel (rayon), their rows journalled as they finish, and the
//! final `runs.csv` and `points.csv` written in input order; shards of a grid and
//! their merge.
//!
//! A run's seed depends only on the scenario's seed, the grid point and the
//! replication ([`derive_seed`](crate::stats::derive_seed)), and every output row is built from the run alone, so
//! the files do not depend on the thread count or the shard. This module never
//! prints: progress goes through a callback given by the caller.

use crate::model::simulate_with;
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

/// One varied key and its values, in the order they are run.
#[derive(Clone, Debug, PartialEq)]
pub struct Vary {
    /// Dotted path as for `--set`, e.g. `peers.0.count`.
    pub key: String,
    /// The values, as TOML values (integers stay integers).
    pub values: Vec<Value>,
}

/// A scenario's `[sweep]` table, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    /// Runs per grid point (each with its own seed).
    pub replications: u32,
    /// The varied keys; the grid is their cartesian product, the first key slowest.
    pub vary: Vec<Vary>,
    /// Keys varied together (`[[sweep.zip]]`, all with as many values): the i-th
    /// values of all of them make one step of a single dimension, slower than every
    /// `[[sweep.vary]]` key. Empty if none.
    pub zip: Vec<Vary>,
}

impl SweepSpec {
    /// Number of grid points (the product of the numbers of values, the zipped keys
    /// counting once).
    pub fn points(&self) -> usize {
        let zip = self.zip.first().map_or(1, |z| z.values.len());
        zip * self.vary.iter().map(|v| v.values.len()).product::<usize>()
    }

    /// Every varied key: the zipped ones, then the `[[sweep.vary]]` ones.
    pub fn keys(&self) -> impl Iterator<Item = &Vary> {
        self.zip.iter().chain(&self.vary)
    }

    /// The values of grid point `p`, in [`SweepSpec::keys`] order: row-major, the
    /// zipped keys' step slowest, then the first `[[sweep.vary]]` down to the last,
    /// the fastest (like nested loops in file order).
    pub fn point(&self, mut p: usize) -> Vec<&Value> {
        let mut out = vec![None; self.vary.len()];
        for (i, v) in self.vary.iter().enumerate().rev() {
            let n = v.values.len();
            out[i] = Some(&v.values[p % n]);
            p /= n;
        }
        let mut all: Vec<&Value> = self.zip.iter().map(|z| &z.values[p]).collect();
        all.extend(out.into_iter().flatten());
        all
    }
}

/// Reads the `[sweep]` table of a raw scenario tree (after `--set`); `None` if absent.
pub fn parse_spec(root: &Table, file: &str) -> Result<Option<SweepSpec>, ScenarioError> {
    let err = |field: &str, value: Option<&Value>, message: String| ScenarioError {
        file: file.to_string(),
        field: Some(field.to_string()),
        value: value.map(show),
        message,
    };
    let Some(v) = root.get("sweep") else {
        return Ok(None);
    };
    let Value::Table(t) = v else {
        return Err(err("sweep", Some(v), "expected a [sweep] table".into()));
    };
    for k in t.keys() {
        if k != "replications" && k != "vary" && k != "zip" {
            return Err(err(
                &format!("sweep.{k}"),
                None,
                "unknown field; accepted here: replications, vary, zip".into(),
            ));
        }
    }
    let replications = match t.get("replications") {
        None => 1,
        Some(Value::Integer(i)) if (1..=1_000_000).contains(i) => *i as u32,
        Some(v) => {
            return Err(err(
                "sweep.replications",
                Some(v),
                "expected a whole number from 1 to 1000000".into(),
            ));
        }
    };
    let mut vary: Vec<Vary> = Vec::new();
    let zip = entries(t, "zip", &[], &err)?;
    if let Some(z) = zip.iter().find(|z| z.values.len() != zip[0].values.len()) {
        return Err(err(
            "sweep.zip",
            None,
            format!(
                "every [[sweep.zip]] needs as many values: `{}` has {}, `{}` has {}",
                zip[0].key,
                zip[0].values.len(),
                z.key,
                z.values.len()
            ),
        ));
    }
    vary.extend(entries(t, "vary", &zip, &err)?);
    let spec = SweepSpec {
        replications,
        vary,
        zip,
    };
    let runs = spec.points().checked_mul(replications as usize);
    if runs.is_none_or(|r| r > MAX_RUNS) {
        return Err(err(
            "sweep",
            None,
            format!("the grid has more than {MAX_RUNS} runs; split it into several sweeps"),
        ));
    }
    Ok(Some(spec))
}

/// The `[[sweep.<list>]]` entries (`vary` or `zip`) of a `[sweep]` table, checked;
/// `earlier` holds keys already varied.
fn entries(
    t: &Table,
    list_name: &str,
    earlier: &[Vary],
    err: &dyn Fn(&str, Option<&Value>, String) -> ScenarioError,
) -> Result<Vec<Vary>, ScenarioError> {
    let list = match t.get(list_name) {
        None => &Vec::new(),
        Some(Value::Array(a)) => a,
        Some(v) => {
            return Err(err(
                &format!("sweep.{list_name}"),
                Some(v),
                format!("expected a list of [[sweep.{list_name}]] tables"),
            ));
        }
    };
    let mut vary: Vec<Vary> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let f = |k: &str| format!("sweep.{list_name}.{i}.{k}");
        let Value::Table(e) = e else {
            return Err(err(
                &format!("sweep.{list_name}.{i}"),
                Some(e),
                format!("expected a [[sweep.{list_name}]] table"),
            ));
        };
        for k in e.keys() {
            if !["key", "values", "range"].contains(&k.as_str()) {
                return Err(err(
                    &f(k),
                    None,
                    "unknown field; accepted here: key, values, range".into(),
                ));
            }
        }
        let key = match e.get("key") {
            Some(Value::String(s)) if !s.is_empty() && !s.contains('=') => s.clone(),
            Some(v) => {
                return Err(err(
                    &f("key"),
                    Some(v),
                    "expected a dotted path such as \"peers.0.count\"".into(),
                ));
            }
            None => {
                return Err(err(
                    &f("key"),
                    None,
                    "missing; expected a dotted path such as \"peers.0.count\"".into(),
                ));
            }
        };
        if key == "sweep" || key.starts_with("sweep.") {
            return Err(err(
                &f("key"),
                e.get("key"),
                "a sweep cannot vary its own [sweep] table".into(),
            ));
        }
        if vary.iter().chain(earlier).any(|v| v.key == key) {
            return Err(err(
                &f("key"),
                e.get("key"),
                "this key is already varied by an earlier [[sweep.vary]] or [[sweep.zip]]".into(),
            ));
        }
        let values = match (e.get("values"), e.get("range")) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(err(
                    &format!("sweep.{list_name}.{i}"),
                    None,
                    "expected exactly one of `values = [...]` or `range = { from, to, steps, scale }`".into(),
                ));
            }
            (Some(Value::Array(a)), None) if !a.is_empty() => a.clone(),
            (Some(v), None) => {
                return Err(err(
                    &f("values"),
                    Some(v),
                    "expected a non-empty list of values".into(),
                ));
            }
            (None, Some(r)) => range_values(r, &f("range"), err)?,
        };
        vary.push(Vary { key, values });
    }
    Ok(vary)
}

/// Expands `range = { from, to, steps, scale }` into values. Integer `from` and `to`
/// give integers: each value rounded to the nearest integer, repeats dropped.
fn range_values(
    r: &Value,
    field: &str,
    err: &dyn Fn(&str, Option<&Value>, String) -> ScenarioError,
) -> Result<Vec<Value>, ScenarioError> {
    let Value::Table(t) = r else {
        return Err(err(
            field,
            Some(r),
            "expected a table { from, to, steps, scale }".into(),
        ));
    };
    for k in t.keys() {
        if !["from", "to", "steps", "scale"].contains(&k.as_str()) {
            return Err(err(
                &format!("{field}.{k}"),
                None,
                "unknown field; accepted here: from, to, steps, scale".into(),
            ));
        }
    }
    let number = |k: &str| -> Result<(f64, bool), ScenarioError> {
        match t.get(k) {
            Some(Value::Integer(i)) => Ok((*i as f64, true)),
            Some(Value::Float(x)) if x.is_finite() => Ok((*x, false)),
            Some(v) => Err(err(
                &format!("{field}.{k}"),
                Some(v),
                "expected a number".into(),
            )),
            None => Err(err(
                &format!("{field}.{k}"),
                None,
                "missing; expected a number".into(),
            )),
        }
    };
    let (from, int_from) = number("from")?;
    let (to, int_to) = number("to")?;
    let integers = int_from && int_to;
    let steps = match t.get("steps") {
        Some(Value::Integer(s)) if (1..=1_000_000).contains(s) => *s as usize,
        Some(v) => {
            return Err(err(
                &format!("{field}.steps"),
                Some(v),
                "expected a whole number from 1 to 1000000".into(),
            ));
        }
        None => {
            return Err(err(
                &format!("{field}.steps"),
                None,
                "missing; expected the number of values (at least 1)".into(),
            ));
        }
    };
    let log = match t.get("scale") {
        None => false,
        Some(Value::String(s)) if s == "linear" => false,
        Some(Value::String(s)) if s == "log" => true,
        Some(v) => {
            return Err(err(
                &format!("{field}.scale"),
                Some(v),
                "expected one of \"linear\", \"log\"".into(),
            ));
        }
    };
    if log && (from <= 0.0 || to <= 0.0) {
        return Err(err(
            field,
            None,
            format!("a log scale needs `from` and `to` above zero (got {from} and {to})"),
        ));
    }
    let at = |i: usize| -> f64 {
        if i == 0 {
            return from;
        }
        if i + 1 == steps {
            return to;
        }
        let q = i as f64 / (steps - 1) as f64;
        if log {
            (from.ln() + q * (to.ln() - from.ln())).exp()
        } else {
            from + q * (to - from)
        }
    };
    let mut out: Vec<Value> = Vec::new();
    for i in 0..steps {
        let x = at(i);
        let v = if integers {
            Value::Integer(x.round() as i64)
        } else {
            Value::Float(x)
        };
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// A value as written in a CSV field: strings bare, numbers as TOML writes them.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Table(_) => "a table".into(),
        Value::Array(_) => "a list".into(),
        other => other.to_string(),
    }
}

/// One run of a sweep: its place in the grid and its checked scenario.
#[derive(Clone, Debug)]
pub struct Run {
    /// Index in input order (point-major, then replication).
    pub index: usize,
    /// Grid point index.
    pub point: usize,
    /// Replication number, from 0.
    pub replication: u32,
    /// The varied values, as CSV text, in key order.
    pub params: Vec<String>,
    /// The scenario of this run, with its derived seed.
    pub scenario: Scenario,
}

/// A sweep expanded and checked: every run's scenario is valid.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The base scenario's name.
    pub name: String,
    /// The varied keys, in `[[sweep.vary]]` order.
    pub keys: Vec<String>,
    /// Runs per grid point.
    pub replications: u32,
    /// Number of grid points.
    pub points: usize,
    /// All runs, in input order.
    pub runs: Vec<Run>,
    /// Hash of every run's resolved scenario (hex), to recognise the same sweep: of
    /// its canonical TOML less the lines at their default, so that a field added
    /// later, at its default, keeps older sweeps resumable.
    pub fingerprint: String,
    /// The scenario with `--set` applied, before any grid point's values.
    pub base: Scenario,
    /// The checked `[sweep]` table (one point, one replication if there was none).
    pub spec: SweepSpec,
    /// For each varied key, the kind of quantity all its values are (they then get
    /// a number column in base units beside the text), or `None`.
    pub quantities: Vec<Option<Quantity>>,
}

/// The fixed reference of [`run_fingerprint_text`]: a scenario naming only the
/// required fields, every other field at its default.
const FINGERPRINT_REFERENCE: &str = "name = \"reference\"\n[file]\nsize = \"1 MB\"\n\
     [server]\nupload = \"1 MB/s\"\n[[peers]]\ncount = 1\nupload = \"1 MB/s\"\ndownload = \"unlimited\"\n\
     [protocol]\nkind = \"bittorrent\"\n";

/// What one run contributes to a sweep's fingerprint: its scenario as canonical
/// TOML ([`crate::scenario::to_toml`]) without the `key = value` lines equal to
/// those of the same table in the canonical TOML of `reference` (a fixed
/// scenario). Every table header stays, and each table's keys are fixed, so the
/// result still determines the scenario; but a field that a later version adds,
/// at its default value, adds no line: sweeps started before it still match.
fn run_fingerprint_text(text: &str, reference: &str) -> String {
    // The reference's lines by table header (`[[peers]]` for every class).
    let mut defaults: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut table = "";
    for line in reference.lines() {
        if line.starts_with('[') {
            table = line;
        } else if !line.is_empty() {
            defaults.entry(table).or_default().push(line);
        }
    }
    let mut out = String::new();
    let mut table = "";
    for line in text.lines() {
        if line.starts_with('[') {
            table = line;
        } else if line.is_empty() || defaults.get(table).is_some_and(|d| d.contains(&line)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// FNV-1a, 64 bits: a fixed, documented hash for fingerprints.
fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

impl Plan {
    /// Reads a scenario file, applies `--set`, expands its `[sweep]` table and checks
    /// every grid point. A scenario without `[sweep]` is a one-point grid.
    pub fn load(path: &Path, sets: &[String]) -> Result<Plan, ScenarioError> {
        let (text, file) = crate::scenario::read_scenario_file(path)?;
        Plan::from_toml(&text, &file, sets)
    }

    /// As [`Plan::load`], from text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str, sets: &[String]) -> Result<Plan, ScenarioError> {
        let base = Scenario::from_toml(text, file, sets)?;
        let mut root: Table = crate::scenario::parse_toml(text, file)?;
        for o in sets {
            apply_override(&mut root, o).map_err(|m| ScenarioError {
                file: file.to_string(),
                field: None,
                value: None,
                message: format!("--set {o}: {m}"),
            })?;
        }
        // Where a value of the grid came from, for errors: the file, and the --set
        // values applied to it.
        let with_sets = if sets.is_empty() {
            String::new()
        } else {
            let sets: Vec<String> = sets
                .iter()
                .map(|o| crate::scenario::escape_controls(o))
                .collect();
            format!("with --set {}", sets.join(" --set "))
        };
        let origin = if with_sets.is_empty() {
            file.to_string()
        } else {
            format!("{file} ({with_sets})")
        };
        let spec = parse_spec(&root, &origin)?.unwrap_or(SweepSpec {
            replications: 1,
            vary: Vec::new(),
            zip: Vec::new(),
        });
        let keys: Vec<String> = spec.keys().map(|v| v.key.clone()).collect();
        let mut runs = Vec::new();
        let reference = Scenario::from_toml(FINGERPRINT_REFERENCE, "reference", &[])
            .map(|r| crate::scenario::to_toml(&r))
            .expect("the fingerprint reference is a valid scenario");
        let mut h = fnv1a(b"swarmsim sweep 2\n", 0xCBF2_9CE4_8422_2325);
        for k in &keys {
            h = fnv1a(format!("key {k}\n").as_bytes(), h);
        }
        for p in 0..spec.points() {
            let values = spec.point(p);
            let mut all = sets.to_vec();
            for (k, v) in keys.iter().zip(&values) {
                all.push(format!("{k}={v}"));
            }
            let params: Vec<String> = values.iter().map(|v| value_text(v)).collect();
            // (A point's values reach the scenario as overrides: its errors name the
            // point, and the user's --set values only if there are any.)
            let s = Scenario::from_toml(text, file, &all).map_err(|mut e| {
                let point: Vec<String> = keys
                    .iter()
                    .zip(&params)
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                e.file = format!(
                    "{file} (sweep point {p}: {}{}{with_sets})",
                    point.join(", "),
                    if with_sets.is_empty() { "" } else { "; " }
                );
                e
            })?;
            for r in 0..spec.replications {
                let mut s = s.clone();
                s.seed = derive_seed(base.seed, p, r);
                let text = run_fingerprint_text(&crate::scenario::to_toml(&s), &reference);
                h = fnv1a(format!("{p} {r} {params:?}\n{text}\n").as_bytes(), h);
                runs.push(Run {
                    index: runs.len(),
                    point: p,
                    replication: r,
                    params: params.clone(),
                    scenario: s,
                });
            }
        }
        let quantities = spec
            .keys()
            .map(|v| {
                let texts: Vec<&str> =
                    v.values.iter().map(|x| x.as_str()).collect::<Option<_>>()?;
                Quantity::of(texts.into_iter())
            })
            .collect();
        Ok(Plan {
            quantities,
            name: base.name.clone(),
            keys,
            replications: spec.replications,
            points: spec.points(),
            runs,
            fingerprint: format!("{h:016x}"),
            base,
            spec,
        })
    }

    /// The sweep as a scenario file: the resolved base scenario (every field) and a
    /// `[sweep]` table listing every value, so it gives the same plan (fingerprint).
    pub fn to_toml(&self) -> String {
        let mut t = crate::scenario::to_toml(&self.base);
        t.push_str(&format!(
            "\n[sweep]\nreplications = {}\n",
            self.spec.replications
        ));
        for (list, vs) in [("zip", &self.spec.zip), ("vary", &self.spec.vary)] {
            for v in vs {
                t.push_str(&format!(
                    "\n[[sweep.{list}]]\nkey = {}\nvalues = {}\n",
                    Value::String(v.key.clone()),
                    Value::Array(v.values.clone())
                ));
            }
        }
        t
    }

    /// The header of `runs.csv` (and of the journal): `run`, `point`, each varied
    /// key's `param_` column (followed by its number column if it is a quantity),
    /// `replication`.
    pub fn runs_header(&self) -> Vec<String> {
        let mut h = vec!["run".to_string(), "point".to_string()];
        for (k, q) in self.keys.iter().zip(&self.quantities) {
            h.push(format!("param_{k}"));
            if let Some(q) = q {
                h.push(format!("param_{k}{}", q.suffix()));
            }
        }
        h.push("replication".into());
        h
    }

    /// A run's values of the `param_` columns of [`Plan::runs_header`].
    pub fn param_cells(&self, run: &Run) -> Vec<String> {
        let mut cells = Vec::new();
        for (text, q) in run.params.iter().zip(&self.quantities) {
            cells.push(text.clone());
            if let Some(q) = q {
                cells.push(q.read(text).map_or(String::new(), num));
            }
        }
        cells
    }
}

/// Which share of the grid to run: runs with `index % count == part - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1.
    pub part: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { part: 1, count: 1 };

    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(s: &str) -> Result<Shard, SweepError> {
        let bad = || {
            SweepError(format!(
                "--shard {s}: expected K/N with 1 <= K <= N, e.g. --shard 2/8"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let part: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if part == 0 || part > count {
            return Err(bad());
        }
        Ok(Shard { part, count })
    }

    /// True if run `index` belongs to this shard.
    pub fn owns(self, index: usize) -> bool {
        index % self.count == self.part - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.part, self.count)
    }
}

/// What a sweep's output folder records about it (`sweep.toml`).
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Scenario name.
    pub scenario: String,
    /// [`Plan::fingerprint`].
    pub fingerprint: String,
    /// Runs in the whole grid.
    pub total_runs: usize,
    /// The shard this folder holds.
    pub shard: Shard,
}

impl State {
    fn text(&self) -> String {
        format!(
            "# Written by swarmsim sweep; read by `sweep --resume` and `merge`.\n\
             scenario = \"{}\"\nfingerprint = \"{}\"\ntotal_runs = {}\nshard = \"{}\"\n",
            self.scenario, self.fingerprint, self.total_runs, self.shard
        )
    }

    /// Reads `DIR/sweep.toml` (a regular file: a FIFO or device there is refused).
    pub fn read(dir: &Path) -> Result<State> {
        let p = dir.join(STATE_FILE);
        let bad = || SweepError(format!("{}: damaged; remove the folder", p.display()));
        let text = match crate::files::read_regular(&p, true, 1 << 20) {
            Ok(Some(b)) => String::from_utf8(b).map_err(|_| bad())?,
            Ok(None) => return Err(bad().into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return refuse(format!(
                    "{}: no {STATE_FILE}; this is not the output folder of a sweep",
                    dir.display()
                ));
            }
            Err(e) => return refuse(format!("{}: cannot read it ({e})", p.display())),
        };
        let t: Table = text.parse().map_err(|_| bad())?;
        let s = |k: &str| t.get(k).and_then(|v| v.as_str()).ok_or_else(bad);
        Ok(State {
            scenario: s("scenario")?.to_string(),
            fingerprint: s("fingerprint")?.to_string(),
            total_runs: t
                .get("total_runs")
                .and_then(|v| v.as_integer())
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(bad)?,
            shard: Shard::parse(s("shard")?).map_err(|_| bad())?,
        })
    }

    fn stage(&self, folder: &mut Folder) -> Result<()> {
        Ok(folder.stage_bytes(STATE_FILE, self.text().as_bytes())?)
    }
}

/// Every file a run or a sweep replaces or removes in its output folder (besides
/// `manifest.toml`): a folder is written by one of them at a time.
pub fn owned_names() -> Vec<&'static str> {
    let mut v = FILES.to_vec();
    v.extend_from_slice(output::RUN_FILES);
    v.push(output::SWEEP_FIGURE);
    v
}

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

/// The folder of a sweep's kept runs ([`Options::keep_runs`]).
pub const KEPT_RUNS_DIR: &str = "runs";

/// Writes one run's `peers.csv`, `timeseries.csv` and `classes.csv` into
/// `DIR/runs/<run>/` (created if needed).
fn keep_run(dir: &Path, index: usize, r: &crate::model::RunResult) -> Result<()> {
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

/// One CSV record as a complete line.
fn csv_line<S: AsRef<str>>(fields: &[S]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(fields.iter().map(|s| s.as_ref()))?;
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads the journal's complete lines (a torn last line, a run cut off mid-write, is
/// left out); returns the finished runs by index and the length of the complete
/// part. Reads only, never through a link: a journal that is a link, not a regular
/// file, or of other columns is refused.
fn read_journal(path: &Path, header: &[String]) -> Result<(BTreeMap<usize, Vec<String>>, u64)> {
    let mut done = BTreeMap::new();
    if std::fs::symlink_metadata(path).is_err() {
        return Ok((done, 0));
    }
    let bytes = crate::files::read_regular(path, false, u64::MAX / 2)
        .map_err(|e| {
            SweepError(format!(
                "{}: cannot read it ({e}); remove the folder or run without --resume",
                path.display()
            ))
        })?
        .unwrap_or_default();
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..complete]);
    let not_journal = |e: csv::Error| {
        SweepError(format!(
            "{}: not a sweep journal ({e}); remove the folder or run without --resume",
            path.display()
        ))
    };
    let h: Vec<String> = r
        .headers()
        .map_err(not_journal)?
        .iter()
        .map(String::from)
        .collect();
    if h != header {
        return refuse(format!(
            "{}: its columns differ from this sweep's; remove the folder or run without --resume",
            path.display()
        ));
    }
    for rec in r.records() {
        let rec = rec.map_err(not_journal)?;
        let row: Vec<String> = rec.iter().map(String::from).collect();
        if row.len() != header.len() {
            continue;
        }
        if let Ok(i) = row[0].parse::<usize>() {
            done.insert(i, row);
        }
    }
    Ok((done, complete as u64))
}

/// Checks that `dir` holds this very sweep's shard `shard` to resume (its state
/// file and journal), reading only; returns the runs of the shard found finished and
/// the length of the journal's complete lines.
pub fn resume_state(
    plan: &Plan,
    dir: &Path,
    shard: Shard,
) -> Result<(BTreeMap<usize, Vec<String>>, u64)> {
    let old = State::read(dir).map_err(|_| {
        SweepError(format!(
            "--resume: {} holds no sweep to resume (no {STATE_FILE}); run without --resume",
            dir.display()
        ))
    })?;
    if old.fingerprint != plan.fingerprint || old.total_runs != plan.runs.len() {
        return refuse(format!(
            "--resume: the scenario changed since the sweep in {} started (fingerprint {} \
             with {} runs then, {} with {} runs now); run without --resume to start again, \
             or use another --out",
            dir.display(),
            old.fingerprint,
            old.total_runs,
            plan.fingerprint,
            plan.runs.len()
        ));
    }
    if old.shard != shard {
        return refuse(format!(
            "--resume: {} holds shard {} but --shard {} was asked",
            dir.display(),
            old.shard,
            shard
        ));
    }
    let (mut done, complete) = read_journal(&dir.join(JOURNAL_FILE), &full_header(plan))?;
    done.retain(|i, _| *i < plan.runs.len() && shard.owns(*i));
    Ok((done, complete))
}

/// Opens the journal to append to, never through a link.
fn open_journal(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// The full header of `runs.csv` for a plan (run columns and summary columns).
fn full_header(plan: &Plan) -> Vec<String> {
    let mut h = plan.runs_header();
    h.extend(output::summary_header().into_iter().map(str::to_string));
    h
}

/// A run's `runs.csv` row and its `runs_by_class.csv` rows.
type RunRows = (Vec<String>, Vec<Vec<String>>);

/// Simulates one run (inside its worker) and returns its `runs.csv` row and its
/// `runs_by_class.csv` rows; `None` if `cancel` was set before it finished.
fn run_row(
    plan: &Plan,
    run: &Run,
    cancel: &AtomicBool,
    keep: Option<&Path>,
) -> Result<Option<RunRows>> {
    let start = Instant::now();
    let Some(r) = simulate_with(&run.scenario, cancel) else {
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
    pool.install(|| {
        pending
            .par_iter()
            .with_max_len(1)
            .try_for_each(|run| -> Result<()> {
                if cancel.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let Some((row, by_class)) =
                    run_row(plan, run, cancel, opts.keep_runs.then_some(dir.as_path()))?
                else {
                    return Ok(());
                };
                let line = csv_line(&row)?;
                let mut class_lines = Vec::new();
                for r in &by_class {
                    class_lines.extend(csv_line(r)?);
                }
                let n = {
                    let mut g = shared
                        .lock()
                        .map_err(|_| anyhow::anyhow!("a worker failed"))?;
                    // (The class rows first: a run is finished once its line is in
                    // the main journal, and then its class rows are there too.)
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
    })?;
    let (jf, done, _, cf, class_rows) = shared
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a worker failed"))?;
    jf.sync_all().ok();
    cf.sync_all().ok();
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

/// The columns of `runs.csv` whose mean over a point's runs (those with a value)
/// `points.csv` carries after `mean_bound_ratio`, and their names there.
pub const POINT_MEANS: [(&str, &str); 7] = [
    ("mean_completion_s", "mean_completion_s"),
    ("median_completion_s", "median_completion_s"),
    ("p95_completion_s", "p95_completion_s"),
    ("upload_utilisation", "upload_utilisation"),
    ("p2p_bound_ratio", "mean_p2p_bound_ratio"),
    ("bytes_wasted", "bytes_wasted"),
    ("mean_peer_bound_s", "mean_peer_bound_s"),
];

/// The header and rows of `points.csv`, computed from `runs.csv`'s header and rows
/// (so a merged sweep gives the same file as a single one).
pub fn points_rows(
    header: &[String],
    rows: &[Vec<String>],
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("runs.csv lacks the column {name}"))
    };
    let point = col("point")?;
    let params: Vec<usize> = (0..header.len())
        .filter(|&i| header[i].starts_with("param_"))
        .collect();
    let (protocol, dist, dcs, dp2p, ratio) = (
        col("protocol")?,
        col("distribution_time_s")?,
        col("d_cs_bound_s")?,
        col("d_p2p_bound_s")?,
        col("bound_ratio")?,
    );
    let mut out_h = vec!["point".to_string()];
    out_h.extend(params.iter().map(|&i| header[i].clone()));
    for h in [
        "protocol",
        "runs",
        "completed",
        "mean_distribution_time_s",
        "sd_distribution_time_s",
        "ci95_half_width_s",
        "ci95_low_s",
        "ci95_high_s",
        "d_cs_bound_s",
        "d_p2p_bound_s",
        "mean_bound_ratio",
    ] {
        out_h.push(h.to_string());
    }
    // Means over the point's runs of more of runs.csv's columns (empty where runs.csv
    // lacks one, e.g. shards written by an older swarmsim).
    let more: Vec<Option<usize>> = POINT_MEANS
        .iter()
        .map(|(from, to)| {
            out_h.push(to.to_string());
            header.iter().position(|h| h == from)
        })
        .collect();
    let mut groups: BTreeMap<usize, Vec<&Vec<String>>> = BTreeMap::new();
    for r in rows {
        let p: usize = r
            .get(point)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("runs.csv: a row has no valid point index"))?;
        groups.entry(p).or_default().push(r);
    }
    let f = |r: &Vec<String>, i: usize| r.get(i).and_then(|x| x.parse::<f64>().ok());
    let mut out = Vec::new();
    for (p, rs) in groups {
        let first = rs[0];
        let times: Vec<f64> = rs.iter().filter_map(|r| f(r, dist)).collect();
        let ratios: Vec<f64> = rs.iter().filter_map(|r| f(r, ratio)).collect();
        let s = stats(&times);
        let mut row = vec![p.to_string()];
        row.extend(params.iter().map(|&i| first[i].clone()));
        row.push(first[protocol].clone());
        row.push(rs.len().to_string());
        row.push(times.len().to_string());
        row.push(num(s.mean));
        row.push(num(s.sd));
        row.push(num(s.ci95));
        row.push(num(s.mean - s.ci95));
        row.push(num(s.mean + s.ci95));
        row.push(first[dcs].clone());
        row.push(first[dp2p].clone());
        row.push(num(stats(&ratios).mean));
        for c in &more {
            let v: Vec<f64> = c
                .map(|i| rs.iter().filter_map(|r| f(r, i)).collect())
                .unwrap_or_default();
            row.push(num(stats(&v).mean));
        }
        out.push(row);
    }
    Ok((out_h, out))
}

/// Stages `runs_by_class.csv` (rows sorted by run, then class) and, for a whole
/// grid, `points_by_class.csv`.
fn write_class_tables(
    folder: &mut Folder,
    header: &[String],
    mut rows: Vec<Vec<String>>,
    whole: bool,
) -> Result<()> {
    let key = |r: &Vec<String>, i: usize| r.get(i).and_then(|x| x.parse::<usize>().ok());
    let last = header.len() - 1;
    rows.sort_by_key(|r| (key(r, 0), key(r, last)));
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    folder.stage_csv(classes::RUNS_BY_CLASS_FILE, &h, &rows)?;
    if whole {
        let (ph, pr) = classes::points_by_class_rows(header, &rows).map_err(|e| {
            SweepError(format!(
                "{}: {e}",
                folder.path().join(classes::RUNS_BY_CLASS_FILE).display()
            ))
        })?;
        folder.stage_csv(
            classes::POINTS_BY_CLASS_FILE,
            &ph.iter().map(String::as_str).collect::<Vec<_>>(),
            &pr,
        )?;
    }
    Ok(())
}

fn write_points(folder: &mut Folder, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    let (h, r) = points_rows(header, rows)?;
    folder.stage_csv(
        POINTS_FILE,
        &h.iter().map(String::as_str).collect::<Vec<_>>(),
        &r,
    )?;
    Ok(())
}

/// Joins the `runs.csv` of shard folders, staging in the locked folder `out`
/// `runs.csv`, `points.csv`, `sweep.toml` and a `journal.csv` with every run;
/// refuses shards of different sweeps, duplicated runs and missing runs, naming
/// them. Returns the number of runs and the shards' manifest (which describes the
/// merged folder too), for the caller to commit with its figure.
pub fn merge(dirs: &[PathBuf], out: &mut Folder) -> Result<(usize, Option<String>)> {
    let Some(first_dir) = dirs.first() else {
        return refuse("merge: name at least one shard folder");
    };
    let first = State::read(first_dir)?;
    let mut header: Option<Vec<String>> = None;
    let mut rows: BTreeMap<usize, (Vec<String>, &PathBuf)> = BTreeMap::new();
    let mut shards_seen = Vec::new();
    // The shards' class rows (`None` once a shard has none: then none are merged).
    let mut class_table: Option<(Vec<String>, Vec<Vec<String>>)> = Some((Vec::new(), Vec::new()));
    for d in dirs {
        let s = State::read(d)?;
        if s.fingerprint != first.fingerprint || s.total_runs != first.total_runs {
            return refuse(format!(
                "merge: {} and {} hold different sweeps (scenario {} fingerprint {} with {} runs, \
                 scenario {} fingerprint {} with {} runs)",
                first_dir.display(),
                d.display(),
                first.scenario,
                first.fingerprint,
                first.total_runs,
                s.scenario,
                s.fingerprint,
                s.total_runs
            ));
        }
        let runs = d.join(RUNS_FILE);
        if !runs.exists() {
            return refuse(format!(
                "merge: {} has no {RUNS_FILE}: shard {} has not finished (finish it with \
                 `swarmsim sweep ... --shard {} --resume --out {}`)",
                d.display(),
                s.shard,
                s.shard,
                d.display()
            ));
        }
        shards_seen.push(s.shard);
        let by_class = d.join(classes::RUNS_BY_CLASS_FILE);
        class_table = match class_table {
            Some((mut ch, mut crs)) if by_class.exists() => {
                let (h, rs) = read_csv(&by_class)?;
                if !ch.is_empty() && ch != h {
                    return refuse(format!(
                        "merge: {} has other columns than the first shard's",
                        by_class.display()
                    ));
                }
                ch = h;
                crs.extend(rs);
                Some((ch, crs))
            }
            _ => None,
        };
        let (h, rs) = read_csv(&runs)?;
        match &header {
            None => header = Some(h),
            Some(h0) if *h0 != h => {
                return refuse(format!(
                    "merge: {} has other columns than {}",
                    runs.display(),
                    first_dir.join(RUNS_FILE).display()
                ));
            }
            Some(_) => {}
        }
        for r in rs {
            let Some(i) = r.first().and_then(|x| x.parse::<usize>().ok()) else {
                return refuse(format!("merge: {}: a row has no run index", runs.display()));
            };
            if i >= first.total_runs {
                return refuse(format!(
                    "merge: {}: run {i} is outside the grid of {} runs",
                    runs.display(),
                    first.total_runs
                ));
            }
            if let Some((_, other)) = rows.get(&i) {
                return refuse(format!(
                    "merge: run {i} appears twice, in {} and in {}",
                    other.display(),
                    d.display()
                ));
            }
            rows.insert(i, (r, d));
        }
    }
    let header = header.unwrap_or_default();
    let missing: Vec<usize> = (0..first.total_runs)
        .filter(|i| !rows.contains_key(i))
        .collect();
    if !missing.is_empty() {
        let count = shards_seen.first().map_or(1, |s| s.count);
        let absent: Vec<String> = (1..=count)
            .filter(|k| !shards_seen.iter().any(|s| s.part == *k && s.count == count))
            .map(|k| format!("{k}/{count}"))
            .collect();
        let shown: Vec<String> = missing.iter().take(10).map(|i| i.to_string()).collect();
        return refuse(format!(
            "merge: {} of {} runs are missing (runs {}{}){}",
            missing.len(),
            first.total_runs,
            shown.join(", "),
            if missing.len() > 10 { ", ..." } else { "" },
            if absent.is_empty() {
                String::new()
            } else {
                format!("; shards not given: {}", absent.join(", "))
            }
        ));
    }
    let rows: Vec<Vec<String>> = rows.into_values().map(|(r, _)| r).collect();
    State {
        shard: Shard::ALL,
        ..first
    }
    .stage(out)?;
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    out.stage_csv(RUNS_FILE, &h, &rows)?;
    write_points(out, &header, &rows)?;
    if let Some((ch, crs)) = class_table.filter(|(h, _)| !h.is_empty()) {
        write_class_tables(out, &ch, crs.clone(), true)?;
        out.stage_csv(
            classes::CLASS_JOURNAL_FILE,
            &ch.iter().map(String::as_str).collect::<Vec<_>>(),
            &crs,
        )?;
    }
    // The journal of the merged sweep: every run finished. (A journal left in `out`
    // by an earlier sweep must not pass for this one's: `--resume` reads it.)
    out.stage_csv(JOURNAL_FILE, &h, &rows)?;
    Ok((rows.len(), output::manifest::read(first_dir)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<Option<SweepSpec>, ScenarioError> {
        let t: Table = text.parse().unwrap();
        parse_spec(&t, "s.toml")
    }

    #[test]
    fn a_field_added_at_its_default_keeps_the_fingerprint() {
        // A version of swarmsim without `seed_quota_time` wrote that line neither in
        // a run's canonical TOML nor in the reference's: simulated by removing it
        // from both. A run at the default value then contributes the same text, so
        // the same fingerprint, in both versions; a run at another value does not.
        let reference = crate::scenario::to_toml(
            &Scenario::from_toml(FINGERPRINT_REFERENCE, "r", &[]).unwrap(),
        );
        let sets = [
            "peers.0.count=7".to_string(),
            "protocol.unchoke_slots=3".into(),
        ];
        let run = Scenario::from_toml(FINGERPRINT_REFERENCE, "r", &sets).unwrap();
        let full = crate::scenario::to_toml(&run);
        assert!(full.contains("\nseed_quota_time = "), "{full}");
        let older = |t: &str| -> String {
            t.lines()
                .filter(|l| !l.starts_with("seed_quota_time = "))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        let text = run_fingerprint_text(&full, &reference);
        assert_eq!(
            text,
            run_fingerprint_text(&older(&full), &older(&reference))
        );
        // What is kept: the table headers and the two values set above.
        assert_eq!(
            text,
            "[file]\n[server]\n[[peers]]\ncount = 7\n[protocol]\nunchoke_slots = 3\n\
             [network]\n[output]\n"
        );
        let mut other = run.clone();
        other.bittorrent.seed_quota_time *= 2.0;
        assert_ne!(
            run_fingerprint_text(&crate::scenario::to_toml(&other), &reference),
            text
        );
        // Through a whole plan: the same sweep written with the field at its default
        // spelled out has the same fingerprint; another value changes it.
        let base = FINGERPRINT_REFERENCE; // ends in its [protocol] table
        let plan = |extra: &str| Plan::from_toml(&format!("{base}{extra}"), "s.toml", &[]).unwrap();
        let spelled = format!(
            "seed_quota_time = \"{}s\"\n",
            run.bittorrent.seed_quota_time
        );
        assert_eq!(plan("").fingerprint, plan(&spelled).fingerprint);
        assert_ne!(
            plan("").fingerprint,
            plan("seed_quota_time = \"1s\"\n").fingerprint
        );
    }

    #[test]
    fn log_range_of_integers_rounds_and_dedupes() {
        // 1 to 1000 in 7 log steps: 10^(0, 0.5, 1, ..., 3) = 1, 3.16, 10, 31.6, 100,
        // 316.2, 1000 -> rounded 1, 3, 10, 32, 100, 316, 1000.
        let s = spec("[[sweep.vary]]\nkey = \"peers.0.count\"\nrange = { from = 1, to = 1000, steps = 7, scale = \"log\" }").unwrap().unwrap();
        let v: Vec<i64> = s.vary[0]
            .values
            .iter()
            .map(|v| v.as_integer().unwrap())
            .collect();
        assert_eq!(v, [1, 3, 10, 32, 100, 316, 1000]);
        // 1 to 4 in 7 log steps: 4^(k/6) = 1, 1.26, 1.59, 2, 2.52, 3.17, 4 -> rounded
        // 1, 1, 2, 2, 3, 3, 4 -> deduplicated 1, 2, 3, 4.
        let s = spec("[[sweep.vary]]\nkey = \"peers.0.count\"\nrange = { from = 1, to = 4, steps = 7, scale = \"log\" }").unwrap().unwrap();
        let v: Vec<i64> = s.vary[0]
            .values
            .iter()
            .map(|v| v.as_integer().unwrap())
            .collect();
        assert_eq!(v, [1, 2, 3, 4]);
        // Linear floats: 0.5 to 1.5 in 3 steps = 0.5, 1.0, 1.5.
        let s = spec("[[sweep.vary]]\nkey = \"x\"\nrange = { from = 0.5, to = 1.5, steps = 3 }")
            .unwrap()
            .unwrap();
        assert_eq!(
            s.vary[0].values,
            [Value::Float(0.5), Value::Float(1.0), Value::Float(1.5)]
        );
    }

    #[test]
    fn grid_order_is_first_key_slowest() {
        let s = spec("[sweep]\nreplications = 2\n[[sweep.vary]]\nkey = \"a\"\nvalues = [1, 2]\n[[sweep.vary]]\nkey = \"b\"\nvalues = [\"x\", \"y\", \"z\"]").unwrap().unwrap();
        assert_eq!(s.points(), 6);
        assert_eq!(s.replications, 2);
        let p4: Vec<String> = s.point(4).iter().map(|v| value_text(v)).collect();
        // Point 4 = (a index 4 / 3 = 1, b index 4 % 3 = 1) = (2, "y").
        assert_eq!(p4, ["2", "y"]);
    }

    #[test]
    fn zipped_keys_step_together() {
        // Two zipped keys of 3 values and one varied key of 2: 3 x 2 = 6 points;
        // point 3 = (zip step 3 / 2 = 1, c index 3 % 2 = 1) = (a 20, b "y", c 2).
        let s = spec(
            "[[sweep.zip]]\nkey = \"a\"\nvalues = [10, 20, 30]\n[[sweep.zip]]\nkey = \"b\"\n\
             values = [\"x\", \"y\", \"z\"]\n[[sweep.vary]]\nkey = \"c\"\nvalues = [1, 2]",
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.points(), 6);
        let p3: Vec<String> = s.point(3).iter().map(|v| value_text(v)).collect();
        assert_eq!(p3, ["20", "y", "2"]);
        // Unequal lengths and a key both zipped and varied are refused.
        let e = spec(
            "[[sweep.zip]]\nkey = \"a\"\nvalues = [1, 2]\n[[sweep.zip]]\nkey = \"b\"\nvalues = [1]",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sweep.zip"));
        assert!(e.message.contains("as many values"), "{}", e.message);
        let e = spec(
            "[[sweep.zip]]\nkey = \"a\"\nvalues = [1]\n[[sweep.vary]]\nkey = \"a\"\nvalues = [1]",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sweep.vary.0.key"));
    }

    #[test]
    fn bad_sweep_tables_name_field_and_value() {
        let e = spec("[sweep]\nreplications = 0").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sweep.replications"));
        assert_eq!(e.value.as_deref(), Some("0"));
        let e = spec("[[sweep.vary]]\nkey = \"a\"\nrange = { from = 0, to = 10, steps = 3, scale = \"log\" }").unwrap_err();
        assert!(e.message.contains("above zero"), "{}", e.message);
        let e = spec(
            "[[sweep.vary]]\nkey = \"a\"\nvalues = [1]\nrange = { from = 1, to = 2, steps = 2 }",
        )
        .unwrap_err();
        assert!(e.message.contains("exactly one"), "{}", e.message);
        let e = spec("[[sweep.vary]]\nkey = \"a\"\nrange = { from = 1, to = 2, steps = 2, scale = \"cubic\" }").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sweep.vary.0.range.scale"));
        assert_eq!(e.value.as_deref(), Some("\"cubic\""));
    }

    #[test]
    fn shard_parse() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { part: 2, count: 3 }));
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("x").is_err());
        let s = Shard { part: 2, count: 3 };
        assert!(s.owns(1) && s.owns(4) && !s.owns(0) && !s.owns(2));
    }
}
