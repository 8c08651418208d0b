//! Sweep figures: any numeric column of `points.csv` (or a per-class statistic of
//! `points_by_class.csv`) over a varied key, one series per combination of the keys
//! named (by default every varied key but the x key), with the bounds where the
//! y axis is the distribution time.
//!
//! Readable whatever the grid: series sorted by value, a colour and a marker each
//! ([`figure_style`](super::figure_style)), each distinct bound curve drawn once
//! (dashed, in its series' colour, grey when several series share it), the legend
//! beside the plot, quantity axes in the scenario's units, ticks inside the data
//! range, the scenario's name in the title.

use super::classes::POINTS_BY_CLASS_FILE;
use super::figure_style::{Marker, SHARED, Unit, axis_unit, series_style, tick_label, ticks};
use super::plot::{FAMILY, drawable_range, register_font, time_unit};
use super::quantity::Quantity;
use super::read::read_csv;
use super::{POINTS_FILE, RUNS_FILE, SweepError};
use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Size of a sweep figure, in pixels: the plot, and the legend beside it.
pub const FIGURE_SIZE: (u32, u32) = (1200, 600);
/// Width of the plot part of a sweep figure; the legend takes the rest.
pub const PLOT_WIDTH: u32 = 820;
/// The y column drawn when none is named.
pub const DEFAULT_Y: &str = "mean_distribution_time_s";

/// What to draw.
#[derive(Clone, Debug, Default)]
pub struct FigureOptions {
    /// The varied key on the x axis; default: the one ending in `count`, else the
    /// first with numeric values.
    pub x: Option<String>,
    /// The column on the y axis; default [`DEFAULT_Y`].
    pub y: Option<String>,
    /// The keys that split the series; default: every varied key but x.
    pub by: Vec<String>,
    /// Force a log x axis (default: log when the values span 100x or more).
    pub log_x: bool,
    /// Force a log y axis (default: log when the values span 100x or more).
    pub log_y: bool,
}

/// One series: its label, style and points `(x, y, low, high)` in base units.
#[derive(Clone, Debug)]
struct Line {
    label: String,
    color: RGBColor,
    marker: Marker,
    points: Vec<(f64, f64, f64, f64)>,
}

/// One bound curve.
#[derive(Clone, Debug)]
struct Bound {
    label: String,
    color: RGBColor,
    /// Dash length and gap, pixels.
    dash: (u32, u32),
    points: Vec<(f64, f64)>,
}

/// Everything a figure draws.
#[derive(Clone, Debug)]
struct Figure {
    title: String,
    x_label: String,
    y_label: String,
    x_unit: Unit,
    y_unit: Unit,
    log_x: bool,
    log_y: bool,
    lines: Vec<Line>,
    bounds: Vec<Bound>,
}

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

/// The name of a figure of `y` over `x`: `<y>_vs_<x>.png`.
pub fn figure_name(y: &str, x: &str) -> String {
    format!("{y}_vs_{x}.png")
}

/// The x key a figure of `dir` with `opts` uses (the given one, or the default).
pub fn x_key(dir: &Path, opts: &FigureOptions) -> Result<String> {
    figure_data(dir, opts).map(|(_, x, _)| x)
}

/// The scenario's name for the title: the manifest's `name`, else the `scenario`
/// column of `runs.csv`, else the folder's name.
fn scenario_name(dir: &Path) -> String {
    if let Some(name) = super::manifest::read(dir)
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
fn figure_data(dir: &Path, opts: &FigureOptions) -> Result<(Figure, String, String)> {
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

/// Draws the figure of `y` over `x` from the sweep folder `dir` into `out`
/// (default `DIR/<y>_vs_<x>.png`; `.svg` gives SVG), atomically. Returns the path
/// written.
pub fn plot_figure(dir: &Path, out: Option<&Path>, opts: &FigureOptions) -> Result<PathBuf> {
    let (mut fig, x_key, table) = figure_data(dir, opts)?;
    let bad = |what: String| SweepError(format!("{table}: {what}"));
    let xs = || {
        fig.lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .chain(fig.bounds.iter().flat_map(|b| b.points.iter().map(|p| p.0)))
    };
    let ys = || {
        fig.lines
            .iter()
            .flat_map(|l| l.points.iter().flat_map(|p| [p.1, p.2, p.3]))
            .chain(fig.bounds.iter().flat_map(|b| b.points.iter().map(|p| p.1)))
    };
    let span = |v: &mut dyn Iterator<Item = f64>| {
        v.filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((f64::min(a, v), f64::max(b, v))),
        })
    };
    let (x0, x1) = span(&mut xs()).ok_or_else(|| bad("no points to plot".into()))?;
    let (y0, y1) = span(&mut ys()).ok_or_else(|| bad("no values to plot".into()))?;
    // A default log axis only where a log axis can hold the values; then every
    // range is made drawable in bounded time, or refused (plot::drawable_range).
    let log_fits = |a: f64, b: f64, pad: f64| drawable_range(a / pad, b * pad, true).is_some();
    fig.log_x = fig.log_x || (x0 > 0.0 && x1 / x0 >= 100.0 && log_fits(x0, x1, 1.15));
    fig.log_y = fig.log_y || (y0 > 0.0 && y1 / y0 >= 100.0 && log_fits(y0, y1, 1.3));
    if fig.log_x && x0 <= 0.0 {
        return Err(bad(format!(
            "--log-x: a log axis needs values above zero, and the smallest {} is {x0}",
            fig.x_label
        ))
        .into());
    }
    if fig.log_y && y0 <= 0.0 {
        return Err(bad(format!(
            "--log-y: a log axis needs values above zero, and the smallest distribution \
             time or bound is {y0} s"
        ))
        .into());
    }
    let undrawable = |axis: &str, log: bool, lo: f64, hi: f64| {
        bad(format!(
            "the {axis} values from {lo:e} to {hi:e} cannot be drawn on one {} axis",
            if log { "log" } else { "linear" }
        ))
    };
    let (x0, x1) = drawable_range(x0, x1, fig.log_x)
        .filter(|_| !fig.log_x || log_fits(x0, x1, 1.15))
        .ok_or_else(|| undrawable("x", fig.log_x, x0, x1))?;
    let (y0, y1) = drawable_range(y0, y1, fig.log_y)
        .filter(|_| !fig.log_y || log_fits(y0, y1, 1.3))
        .ok_or_else(|| undrawable("y", fig.log_y, y0, y1))?;
    let y_name = opts.y.as_deref().unwrap_or(DEFAULT_Y);
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(figure_name(y_name, &x_key)));
    let ranges = Ranges::new(&fig, (x0, x1), (y0, y1));
    render(&out, |root| draw(root, &fig, &ranges))?;
    Ok(out)
}

/// The axes' ranges in drawing coordinates (log10 of the value on a log axis), and
/// the ticks, in units of the axis.
struct Ranges {
    x: (f64, f64),
    y: (f64, f64),
    x_ticks: Vec<f64>,
    y_ticks: Vec<f64>,
}

impl Ranges {
    fn new(fig: &Figure, (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> Ranges {
        let (x0, x1) = (x0 / fig.x_unit.1, x1 / fig.x_unit.1);
        let (y0, y1) = (y0 / fig.y_unit.1, y1 / fig.y_unit.1);
        let x = if fig.log_x {
            ((x0 / 1.15).log10(), (x1 * 1.15).log10())
        } else {
            let pad = ((x1 - x0) * 0.04).max(if x1 > x0 { 0.0 } else { 0.5 });
            (x0 - pad, x1 + pad)
        };
        let y = if fig.log_y {
            ((y0 / 1.3).log10(), (y1 * 1.3).log10())
        } else {
            (y0.min(0.0), y1 * 1.08 + f64::MIN_POSITIVE)
        };
        let back = |v: f64, log: bool| if log { 10f64.powf(v) } else { v };
        Ranges {
            x_ticks: ticks(back(x.0, fig.log_x), back(x.1, fig.log_x), fig.log_x),
            y_ticks: ticks(back(y.0, fig.log_y), back(y.1, fig.log_y), fig.log_y),
            x,
            y,
        }
    }
}

/// Draws into a temporary file beside `out` (SVG or PNG by extension), then renames.
fn render(out: &Path, draw_svg_or_png: impl Fn(Root<'_, '_>) -> Result<()>) -> Result<()> {
    register_font();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    let is_svg = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let tmp = super::tmp_path(out).with_extension(if is_svg { "tmp.svg" } else { "tmp.png" });
    let drawn = (|| -> Result<()> {
        if is_svg {
            let area = SVGBackend::new(&tmp, FIGURE_SIZE).into_drawing_area();
            area.fill(&WHITE).map_err(draw_err)?;
            draw_svg_or_png(Root::Svg(&area))?;
            area.present().map_err(draw_err)?;
        } else {
            let area = BitMapBackend::new(&tmp, FIGURE_SIZE).into_drawing_area();
            area.fill(&WHITE).map_err(draw_err)?;
            draw_svg_or_png(Root::Png(&area))?;
            area.present().map_err(draw_err)?;
        }
        Ok(())
    })()
    .and_then(|()| {
        std::fs::rename(&tmp, out)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), out.display()))
    });
    if drawn.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    drawn
}

/// The drawing area of either backend.
enum Root<'a, 'b> {
    Svg(&'a DrawingArea<SVGBackend<'b>, Shift>),
    Png(&'a DrawingArea<BitMapBackend<'b>, Shift>),
}

fn draw(root: Root<'_, '_>, fig: &Figure, r: &Ranges) -> Result<()> {
    match root {
        Root::Svg(a) => draw_on(a, fig, r),
        Root::Png(a) => draw_on(a, fig, r),
    }
}

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    r: &Ranges,
) -> Result<()> {
    let (plot, legend) = root.split_horizontally(PLOT_WIDTH);
    let mut c = ChartBuilder::on(&plot)
        .caption(&fig.title, (FAMILY, 20))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(80)
        .build_cartesian_2d(r.x.0..r.x.1, r.y.0..r.y.1)
        .map_err(draw_err)?;
    c.configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_desc(fig.x_label.as_str())
        .y_desc(fig.y_label.as_str())
        .axis_desc_style((FAMILY, 16))
        .draw()
        .map_err(draw_err)?;
    let tx = |v: f64| {
        let v = v / fig.x_unit.1;
        if fig.log_x { v.log10() } else { v }
    };
    let ty = |v: f64| {
        let v = v / fig.y_unit.1;
        if fig.log_y { v.log10() } else { v }
    };
    let to_axis = |v: f64, log: bool| if log { v.log10() } else { v };
    draw_ticks(&plot, &mut c, fig, r, to_axis)?;
    for b in &fig.bounds {
        let style = ShapeStyle::from(b.color).stroke_width(2);
        c.draw_series(DashedLineSeries::new(
            b.points.iter().map(|p| (tx(p.0), ty(p.1))),
            b.dash.0,
            b.dash.1,
            style,
        ))
        .map_err(draw_err)?;
    }
    for l in &fig.lines {
        let style = ShapeStyle::from(l.color).stroke_width(2);
        c.draw_series(LineSeries::new(
            l.points.iter().map(|p| (tx(p.0), ty(p.1))),
            style,
        ))
        .map_err(draw_err)?;
        c.draw_series(l.points.iter().filter(|p| p.2 < p.3).map(|p| {
            ErrorBar::new_vertical(tx(p.0), ty(p.2), ty(p.1), ty(p.3), style.stroke_width(1), 8)
        }))
        .map_err(draw_err)?;
        for p in &l.points {
            let at = c.backend_coord(&(tx(p.0), ty(p.1)));
            draw_marker(&plot, at, l.marker, l.color)?;
        }
    }
    draw_legend(&legend, fig)
}

/// Tick marks, light grid lines and labels at the ticks of both axes.
fn draw_ticks<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    c: &mut Chart<'_, DB>,
    fig: &Figure,
    r: &Ranges,
    to_axis: impl Fn(f64, bool) -> f64,
) -> Result<()> {
    let grid = ShapeStyle::from(RGBColor(225, 225, 225)).stroke_width(1);
    let font = (FAMILY, 14).into_font().color(&BLACK);
    for &v in &r.x_ticks {
        let x = to_axis(v, fig.log_x);
        c.draw_series(std::iter::once(PathElement::new(
            vec![(x, r.y.0), (x, r.y.1)],
            grid,
        )))
        .map_err(draw_err)?;
        let (px, py) = c.backend_coord(&(x, r.y.0));
        plot.draw(&PathElement::new(vec![(px, py), (px, py + 5)], BLACK))
            .map_err(draw_err)?;
        plot.draw(&Text::new(
            tick_label(v),
            (px, py + 8),
            font.pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(draw_err)?;
    }
    for &v in &r.y_ticks {
        let y = to_axis(v, fig.log_y);
        c.draw_series(std::iter::once(PathElement::new(
            vec![(r.x.0, y), (r.x.1, y)],
            grid,
        )))
        .map_err(draw_err)?;
        let (px, py) = c.backend_coord(&(r.x.0, y));
        plot.draw(&PathElement::new(vec![(px - 5, py), (px, py)], BLACK))
            .map_err(draw_err)?;
        plot.draw(&Text::new(
            tick_label(v),
            (px - 8, py),
            font.pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// A series' marker at pixel `at`.
fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    m: Marker,
    color: RGBColor,
) -> Result<()> {
    let fill = ShapeStyle::from(color).filled();
    let line = ShapeStyle::from(color).stroke_width(2);
    let s = 5;
    let poly = |pts: Vec<(i32, i32)>| Polygon::new(pts, fill);
    match m {
        Marker::Circle => area.draw(&Circle::new((x, y), s, fill)),
        Marker::Square => area.draw(&Rectangle::new([(x - s, y - s), (x + s, y + s)], fill)),
        Marker::TriangleUp => area.draw(&poly(vec![
            (x, y - s - 1),
            (x + s + 1, y + s),
            (x - s - 1, y + s),
        ])),
        Marker::Diamond => area.draw(&poly(vec![
            (x, y - s - 1),
            (x + s + 1, y),
            (x, y + s + 1),
            (x - s - 1, y),
        ])),
        Marker::TriangleDown => area.draw(&poly(vec![
            (x, y + s + 1),
            (x + s + 1, y - s),
            (x - s - 1, y - s),
        ])),
        Marker::Cross => {
            area.draw(&PathElement::new(
                vec![(x - s, y - s), (x + s, y + s)],
                line,
            ))
            .map_err(draw_err)?;
            area.draw(&PathElement::new(
                vec![(x - s, y + s), (x + s, y - s)],
                line,
            ))
        }
        Marker::Plus => {
            area.draw(&PathElement::new(
                vec![(x - s - 1, y), (x + s + 1, y)],
                line,
            ))
            .map_err(draw_err)?;
            area.draw(&PathElement::new(
                vec![(x, y - s - 1), (x, y + s + 1)],
                line,
            ))
        }
    }
    .map_err(draw_err)
}

/// Longest legend label, in characters (longer ones end in `...`).
const LEGEND_CHARS: usize = 56;

/// The legend, in its own area beside the plot: the series, then the bounds.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<()> {
    let n = fig.lines.len() + fig.bounds.len();
    let (_, h) = area.dim_in_pixel();
    let step = (((h as i32) - 60) / (n.max(1) as i32)).clamp(8, 24);
    let font_size = if step >= 18 { 13 } else { 10 };
    let font = (FAMILY, font_size).into_font().color(&BLACK);
    let short = |s: &str| {
        if s.chars().count() > LEGEND_CHARS {
            let t: String = s.chars().take(LEGEND_CHARS - 3).collect();
            format!("{t}...")
        } else {
            s.to_string()
        }
    };
    let mut y = 50;
    for l in &fig.lines {
        let style = ShapeStyle::from(l.color).stroke_width(2);
        area.draw(&PathElement::new(vec![(10, y), (40, y)], style))
            .map_err(draw_err)?;
        draw_marker(area, (25, y), l.marker, l.color)?;
        area.draw(&Text::new(
            short(&l.label),
            (50, y),
            font.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
        y += step;
    }
    for b in &fig.bounds {
        let style = ShapeStyle::from(b.color).stroke_width(2);
        let mut x = 10;
        while x < 40 {
            let end = (x + b.dash.0 as i32).min(40);
            area.draw(&PathElement::new(vec![(x, y), (end, y)], style))
                .map_err(draw_err)?;
            x = end + b.dash.1 as i32;
        }
        area.draw(&Text::new(
            short(&b.label),
            (50, y),
            font.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
        y += step;
    }
    Ok(())
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
