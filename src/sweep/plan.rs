//! A sweep's plan: every run of the grid with its resolved scenario, and the
//! fingerprint that recognises the same sweep.

use super::*;

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
pub(super) const FINGERPRINT_REFERENCE: &str = "name = \"reference\"\n[file]\nsize = \"1 MB\"\n\
     [server]\nupload = \"1 MB/s\"\n[[peers]]\ncount = 1\nupload = \"1 MB/s\"\ndownload = \"unlimited\"\n\
     [protocol]\nkind = \"bittorrent\"\n";

/// What one run contributes to a sweep's fingerprint: its scenario as canonical
/// TOML ([`crate::scenario::to_toml`]) without the `key = value` lines equal to
/// those of the same table in the canonical TOML of `reference` (a fixed
/// scenario). Every table header stays, and each table's keys are fixed, so the
/// result still determines the scenario; but a field that a later version adds,
/// at its default value, adds no line: sweeps started before it still match.
pub(super) fn run_fingerprint_text(text: &str, reference: &str) -> String {
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
pub(super) fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
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
