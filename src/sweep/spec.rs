//! The `[sweep]` table: varied keys, their values, zipped keys and replications.

use super::*;

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
pub(super) fn entries(
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
pub(super) fn range_values(
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

pub(super) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Table(_) => "a table".into(),
        Value::Array(_) => "a list".into(),
        other => other.to_string(),
    }
}
