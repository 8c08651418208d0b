//! Reading a sweep folder's tables into a [`Figure`]: the x and y columns as
//! numbers in base units, the series (one per combination of the `--by` keys), their
//! labels and styles, and the bound curves.

use super::{Bound, DEFAULT_Y, Figure, FigureOptions, Line};
use crate::output::classes::POINTS_BY_CLASS_FILE;
use crate::output::figure_style::{SHARED, Unit, axis_unit, series_style};
use crate::output::plot::time_unit;
use crate::output::quantity::Quantity;
use crate::output::read::read_csv;
use crate::output::{POINTS_FILE, RUNS_FILE, SweepError};
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// A value that sorts numbers by value, before texts.
#[derive(Clone, Debug)]
enum SortKey {
    Num(f64),
    Text(String),
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering::{Greater, Less};
        match (self, other) {
            (SortKey::Num(a), SortKey::Num(b)) => a.total_cmp(b),
            (SortKey::Num(_), SortKey::Text(_)) => Less,
            (SortKey::Text(_), SortKey::Num(_)) => Greater,
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for SortKey {}

/// The scenario's name for the title: the manifest's `name`, else the `scenario`
/// column of `runs.csv`, else the folder's name.
fn scenario_name(dir: &Path) -> String {
    if let Some(name) = crate::output::manifest::read(dir)
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("name").and_then(|v| v.as_str()).map(String::from))
    {
        return name;
    }
    if let Ok((h, rows)) = read_csv(&dir.join(RUNS_FILE))
        && let Some(i) = h.iter().position(|c| c == "scenario")
        && let Some(r) = rows.first()
    {
        return r[i].clone();
    }
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A column's values as numbers in base units, with the quantity they are (if
/// any): a number column beside the text (`param_K_bytes`), plain numbers, or
/// texts that all read as one kind of quantity. `None` if not numeric.
fn numeric_column(
    header: &[String],
    rows: &[Vec<String>],
    col: &str,
) -> Option<(Vec<f64>, Option<Quantity>)> {
    let i = header.iter().position(|h| h == col)?;
    for q in Quantity::ALL {
        let twin = format!("{col}{}", q.suffix());
        if let Some(j) = header.iter().position(|h| *h == twin) {
            let v: Option<Vec<f64>> = rows.iter().map(|r| r[j].parse().ok()).collect();
            if let Some(v) = v {
                return Some((v, Some(q)));
            }
        }
    }
    let plain: Option<Vec<f64>> = rows
        .iter()
        .map(|r| r[i].parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    if let Some(v) = plain {
        return Some((v, None));
    }
    let q = Quantity::of(rows.iter().map(|r| r[i].as_str()))?;
    let v: Option<Vec<f64>> = rows.iter().map(|r| q.read(&r[i])).collect();
    v.map(|v| (v, Some(q)))
}

fn refuse(path: &Path, what: String) -> anyhow::Error {
    SweepError(format!("{}: {what}", path.display())).into()
}

/// Reads the tables of a sweep folder and works out what to draw.
pub(super) fn figure_data(dir: &Path, opts: &FigureOptions) -> Result<(Figure, String, String)> {
    let points = dir.join(POINTS_FILE);
    if !points.exists() {
        return Err(SweepError(format!(
            "{}: no {POINTS_FILE}; plot needs the output folder of a whole sweep (or a merge)",
            dir.display()
        ))
        .into());
    }
    let y = opts.y.clone().unwrap_or_else(|| DEFAULT_Y.to_string());
    let (mut header, mut rows) = read_csv(&points)?;
    let mut path = points.clone();
    let mut by_class = false;
    if !header.contains(&y) {
        let pbc = dir.join(POINTS_BY_CLASS_FILE);
        let found = if pbc.exists() {
            let (h, r) = read_csv(&pbc)?;
            h.contains(&y).then_some((h, r))
        } else {
            None
        };
        match found {
            Some((h, r)) => {
                (header, rows, path, by_class) = (h, r, pbc, true);
            }
            None => {
                let numeric: Vec<&String> = header
                    .iter()
                    .filter(|h| !h.starts_with("param_") && *h != "point" && *h != "protocol")
                    .collect();
                return Err(refuse(
                    &points,
                    format!(
                        "--y {y}: no such column here or in {POINTS_BY_CLASS_FILE}; columns: {}",
                        numeric
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| refuse(&path, format!("no column {name}")))
    };
    // (A quantity's number column stands beside its text column: one key.)
    let keys: Vec<String> = header
        .iter()
        .filter(|h| Quantity::twin_of(h, &header).is_none())
        .filter_map(|h| h.strip_prefix("param_").map(String::from))
        .collect();
    let numeric = |k: &str| numeric_column(&header, &rows, &format!("param_{k}")).is_some();
    let x_key = match &opts.x {
        Some(k) => {
            let k = k.strip_prefix("param_").unwrap_or(k).to_string();
            if !keys.contains(&k) {
                return Err(SweepError(format!(
                    "--x {k}: not a varied key of this sweep; varied: {}",
                    if keys.is_empty() {
                        "none".to_string()
                    } else {
                        keys.join(", ")
                    }
                ))
                .into());
            }
            if !numeric(&k) {
                return Err(SweepError(format!("--x {k}: its values are not numbers")).into());
            }
            k
        }
        None => keys
            .iter()
            .find(|k| k.ends_with("count") && numeric(k))
            .or_else(|| keys.iter().find(|k| numeric(k)))
            .cloned()
            .ok_or_else(|| {
                refuse(
                    &path,
                    "no varied key with numeric values to put on the x axis".into(),
                )
            })?,
    };
    for b in &opts.by {
        let b = b.strip_prefix("param_").unwrap_or(b);
        if !keys.iter().any(|k| k == b) {
            return Err(SweepError(format!(
                "--by {b}: not a varied key of this sweep; varied: {}",
                keys.join(", ")
            ))
            .into());
        }
    }
    let x_col = format!("param_{x_key}");
    let (xs, x_q) = numeric_column(&header, &rows, &x_col).expect("x_key is numeric");
    let xi = col(&x_col)?;
    let x_unit: Unit = match x_q {
        Some(q) => {
            let texts: Vec<&str> = rows.iter().map(|r| r[xi].as_str()).collect();
            axis_unit(q, &texts, &xs)
        }
        None => ("", 1.0),
    };
    let yi = col(&y)?;
    let dist = y == DEFAULT_Y;
    let ci = if dist {
        Some((col("ci95_low_s")?, col("ci95_high_s")?))
    } else {
        None
    };
    let bound_cols = if dist && !by_class {
        Some((col("d_cs_bound_s")?, col("d_p2p_bound_s")?))
    } else {
        None
    };
    // Every value drawn is a number, or empty (no value: a point without a mean).
    let mut check = vec![yi];
    if let Some((a, b)) = ci {
        check.extend([a, b]);
    }
    if let Some((a, b)) = bound_cols {
        check.extend([a, b]);
    }
    for (k, r) in rows.iter().enumerate() {
        for &i in &check {
            let v = &r[i];
            if !v.is_empty() && v.parse::<f64>().is_err() {
                return Err(refuse(
                    &path,
                    format!("line {}: {} = \"{v}\" is not a number", k + 2, header[i]),
                ));
            }
        }
    }
    // Default: every varied key but x, except those that take one value at each x
    // (keys zipped with x, or not varied here).
    let follows_x = |k: &str| {
        let Some(i) = header.iter().position(|h| *h == format!("param_{k}")) else {
            return true;
        };
        let mut seen: Vec<(&str, &str)> = Vec::new();
        rows.iter()
            .all(|r| match seen.iter().find(|(x, _)| *x == r[xi]) {
                Some((_, v)) => *v == r[i],
                None => {
                    seen.push((&r[xi], &r[i]));
                    true
                }
            })
    };
    let by: Vec<String> = if opts.by.is_empty() {
        keys.iter()
            .filter(|k| **k != x_key && k.as_str() != "protocol.kind" && !follows_x(k))
            .cloned()
            .collect()
    } else {
        opts.by
            .iter()
            .map(|b| b.strip_prefix("param_").unwrap_or(b).to_string())
            .filter(|k| k != "protocol.kind")
            .collect()
    };
    // Sort keys of each by-key's values: numbers by value.
    let by_values: Vec<(usize, Option<Vec<f64>>)> = by
        .iter()
        .map(|k| {
            let c = format!("param_{k}");
            let i = header.iter().position(|h| *h == c).expect("a varied key");
            (i, numeric_column(&header, &rows, &c).map(|v| v.0))
        })
        .collect();
    let proto = header.iter().position(|h| h == "protocol");
    let class = if by_class { Some(col("class")?) } else { None };
    let class_index = header.iter().position(|h| h == "class_index");
    let mut protocols: Vec<String> = Vec::new();
    let f = |r: &Vec<String>, i: usize| r[i].parse::<f64>().unwrap_or(f64::NAN);
    type Key = Vec<SortKey>;
    let mut groups: BTreeMap<Key, (String, Vec<usize>)> = BTreeMap::new();
    for (ri, r) in rows.iter().enumerate() {
        let mut key: Key = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        // Parts that qualify the protocol (a preset) rather than split the series.
        let mut qualifiers = 0;
        if let Some(p) = proto {
            let n = match protocols.iter().position(|x| *x == r[p]) {
                Some(n) => n,
                None => {
                    protocols.push(r[p].clone());
                    protocols.len() - 1
                }
            };
            key.push(SortKey::Num(n as f64));
            parts.push(r[p].clone());
        }
        for (k, (i, nums)) in by.iter().zip(&by_values) {
            key.push(match nums {
                Some(v) => SortKey::Num(v[ri]),
                None => SortKey::Text(r[*i].clone()),
            });
            match preset_label(k, proto.map(|p| r[p].as_str()), &r[*i]) {
                Some(Some(l)) => {
                    parts.push(l);
                    qualifiers += 1;
                }
                Some(None) => {}
                None => parts.push(format!("{k}={}", r[*i])),
            }
        }
        if let Some(c) = class {
            key.push(match class_index {
                Some(ci) => SortKey::Num(f(r, ci)),
                None => SortKey::Text(r[c].clone()),
            });
            parts.push(format!("class {}", r[c]));
        }
        let label = if parts.len() - qualifiers <= 1 && dist {
            format!("{} (simulated mean, 95% CI)", parts.join(", "))
        } else {
            parts.join(", ")
        };
        groups.entry(key).or_insert((label, Vec::new())).1.push(ri);
    }
    // The varied keys that do not split the series, with their columns.
    let others: Vec<(&str, usize)> = keys
        .iter()
        .filter(|k| **k != x_key && !by.contains(k) && k.as_str() != "protocol.kind")
        .filter_map(|k| Some((k.as_str(), col(&format!("param_{k}")).ok()?)))
        .collect();
    refuse_merged_rows(&path, &rows, &others, &x_key, xi, &groups)?;
    let mut lines = Vec::new();
    // (Which bound, its points, the series that have it.)
    type Curve = (usize, Vec<(f64, f64)>, Vec<usize>);
    let mut curves: Vec<Curve> = Vec::new();
    for (n, (label, members)) in groups.into_values().enumerate() {
        let (color, marker) = series_style(n);
        let mut pts: Vec<(f64, f64, f64, f64)> = members
            .iter()
            .filter_map(|&ri| {
                let r = &rows[ri];
                let v = f(r, yi);
                if !v.is_finite() {
                    return None;
                }
                let (lo, hi) = match ci {
                    Some((a, b)) if f(r, a).is_finite() && f(r, b).is_finite() => {
                        (f(r, a), f(r, b))
                    }
                    _ => (v, v),
                };
                Some((xs[ri], v, lo, hi))
            })
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((dcs, dp2p)) = bound_cols {
            for (which, c) in [(0, dcs), (1, dp2p)] {
                let mut curve: Vec<(f64, f64)> = members
                    .iter()
                    .map(|&ri| (xs[ri], f(&rows[ri], c)))
                    .filter(|p| p.1.is_finite())
                    .collect();
                curve.sort_by(|a, b| a.0.total_cmp(&b.0));
                curve.dedup_by(|a, b| a.0 == b.0);
                match curves
                    .iter_mut()
                    .find(|(w, pts, _)| *w == which && *pts == curve)
                {
                    Some((_, _, users)) => users.push(n),
                    None => curves.push((which, curve, vec![n])),
                }
            }
        }
        lines.push(Line {
            label,
            color,
            marker,
            points: pts,
        });
    }
    let names = [
        "D_cs bound = max(N F/u_s, F/d_min)",
        "D_p2p bound = max(F/u_s, F/d_min, N F/(u_s+sum u_i))",
    ];
    let bounds: Vec<Bound> = curves
        .into_iter()
        .filter(|c| !c.1.is_empty())
        .map(|(which, points, users)| {
            let (color, label) = if users.len() == 1 && lines.len() > 1 {
                (
                    lines[users[0]].color,
                    format!(
                        "{} ({})",
                        names[which].split(" =").next().unwrap_or(""),
                        lines[users[0]].label
                    ),
                )
            } else if users.len() == lines.len() {
                (
                    if lines.len() == 1 {
                        lines[0].color
                    } else {
                        SHARED
                    },
                    names[which].to_string(),
                )
            } else {
                (
                    SHARED,
                    format!(
                        "{} ({} series)",
                        names[which].split(" =").next().unwrap_or(""),
                        users.len()
                    ),
                )
            };
            Bound {
                label,
                color,
                dash: if which == 0 { (10, 6) } else { (3, 4) },
                points,
            }
        })
        .collect();
    // The y axis: times in the unit of the largest value, bytes in binary units.
    let all_y = lines
        .iter()
        .flat_map(|l| l.points.iter().flat_map(|p| [p.1, p.2, p.3]))
        .chain(bounds.iter().flat_map(|b| b.points.iter().map(|p| p.1)))
        .filter(|v| v.is_finite());
    let y_max = all_y.clone().fold(f64::NEG_INFINITY, f64::max);
    let y_min_pos = all_y.filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let (y_label, y_unit): (String, Unit) = if y.ends_with("_s") {
        let (name, per) = time_unit(y_max.max(0.0));
        let what = if dist {
            "distribution time".to_string()
        } else {
            y.clone()
        };
        (format!("{what} ({name})"), (name, per))
    } else if y.contains("bytes") {
        let u = axis_unit(Quantity::Size, &["iB"], &[y_min_pos]);
        (format!("{y} ({})", u.0), u)
    } else {
        (y.clone(), ("", 1.0))
    };
    let x_label = if x_key.ends_with("count") {
        format!("number of peers N ({x_key})")
    } else if x_unit.0.is_empty() {
        x_key.clone()
    } else {
        format!("{x_key} ({})", x_unit.0)
    };
    let what = if dist {
        "distribution time"
    } else {
        y.as_str()
    };
    let fig = Figure {
        title: format!("{}: {what} over {x_key}", scenario_name(dir)),
        x_label,
        y_label,
        x_unit,
        y_unit,
        log_x: opts.log_x,
        log_y: opts.log_y,
        lines,
        bounds,
    };
    Ok((fig, x_key, path.display().to_string()))
}

/// Refuses a figure whose `--by` keys leave rows of unlike runs in one series: two
/// rows of a series at the same x that differ in another varied key would be drawn
/// as one zig-zag line, as if they were one curve. Names the keys that differ
/// (with the values seen) and the table. `others`: the varied keys that do not
/// split the series, with their columns.
fn refuse_merged_rows<K>(
    path: &Path,
    rows: &[Vec<String>],
    others: &[(&str, usize)],
    x_key: &str,
    xi: usize,
    groups: &BTreeMap<K, (String, Vec<usize>)>,
) -> Result<()> {
    // For each key that differs within a series at one x, the values seen.
    let mut varying: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut example: Option<(&str, &str)> = None;
    for (label, members) in groups.values() {
        let mut first_at_x: BTreeMap<&str, usize> = BTreeMap::new();
        for &ri in members {
            let Some(&r0) = first_at_x.get(rows[ri][xi].as_str()) else {
                first_at_x.insert(&rows[ri][xi], ri);
                continue;
            };
            for &(k, i) in others {
                if rows[ri][i] != rows[r0][i] {
                    let seen = varying.entry(k).or_default();
                    for v in [&rows[r0][i], &rows[ri][i]] {
                        if !seen.contains(&v.as_str()) {
                            seen.push(v);
                        }
                    }
                    example.get_or_insert((label, &rows[ri][xi]));
                }
            }
        }
    }
    let Some((label, x)) = example else {
        return Ok(());
    };
    let list = varying
        .iter()
        .map(|(k, v)| format!("{k} ({})", v.join(", ")))
        .collect::<Vec<_>>()
        .join(", ");
    let add = varying
        .keys()
        .map(|k| format!("--by {k}"))
        .collect::<Vec<_>>()
        .join(" ");
    Err(refuse(
        path,
        format!(
            "the varied {} {list} {} left out of --by, so rows of unlike runs would be \
             drawn as one series (series \"{label}\" has several at {x_key} = {x}); add \
             {add}, or leave out --by to split by every varied key (plot has no filter: to \
             draw a subset, sweep it alone)",
            if varying.len() == 1 { "key" } else { "keys" },
            if varying.len() == 1 { "is" } else { "are" },
        ),
    ))
}

/// The legend part of a varied `protocol.preset` (`key`) for a row of `protocol`
/// with preset `value`: "idealised" (no preset) or the preset's name for
/// BitTorrent (so that its curves read apart, "bittorrent, idealised" and
/// "bittorrent, libtorrent-2.0"), nothing for the protocols a preset does not
/// apply to;
/// `None` for any other key (then "key=value" is written).
fn preset_label(key: &str, protocol: Option<&str>, value: &str) -> Option<Option<String>> {
    if key != "protocol.preset" {
        return None;
    }
    Some(match (protocol, value) {
        (Some("bittorrent"), "none") => Some("idealised".to_string()),
        (Some("bittorrent"), p) => Some(p.to_string()),
        (Some(_), _) => None,
        (None, p) => Some(format!("preset {p}")),
    })
}

#[cfg(test)]
mod tests {
    use super::preset_label;

    /// The legend parts of a varied preset, as the function's documentation states
    /// them: BitTorrent's curves named apart, other protocols unqualified, other
    /// keys left to the generic "key=value".
    #[test]
    fn preset_legend_parts() {
        let l = |p: &str, v: &str| preset_label("protocol.preset", Some(p), v);
        assert_eq!(l("bittorrent", "none"), Some(Some("idealised".into())));
        assert_eq!(
            l("bittorrent", "libtorrent-2.0"),
            Some(Some("libtorrent-2.0".into()))
        );
        assert_eq!(l("client-server", "none"), Some(None));
        assert_eq!(preset_label("seed", Some("bittorrent"), "1"), None);
    }
}
