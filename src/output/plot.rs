//! Figures (plotters): distribution time over a swept parameter against the two
//! bounds, the completion-time CDF of one run per peer class, and the swarm over time.
//!
//! Text is drawn with the bundled DejaVu Sans (`assets/`, registered on first use), so
//! figures render on machines with no system fonts. The output format follows the
//! file's extension: `.svg` gives SVG, anything else PNG.

use crate::model::RunResult;
use crate::sweep::read_csv;
use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans, bundled (license in `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
/// Size of the figures, in pixels.
pub const SIZE: (u32, u32) = (900, 600);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font (checked by the plot tests).
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// A time unit for an axis: its name and its length in seconds, chosen so the
/// largest value reads naturally (hours from 2 h, minutes from 2 min).
pub fn time_unit(max_s: f64) -> (&'static str, f64) {
    if max_s >= 7200.0 {
        ("hours", 3600.0)
    } else if max_s >= 120.0 {
        ("minutes", 60.0)
    } else {
        ("seconds", 1.0)
    }
}

/// The temporary file a figure is drawn into (keeping the extension, which plotters
/// uses to pick the image format), and whether it is SVG.
fn figure_tmp(out: &Path) -> Result<(std::path::PathBuf, bool)> {
    register_font();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    let is_svg = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let tmp =
        crate::output::tmp_path(out).with_extension(if is_svg { "tmp.svg" } else { "tmp.png" });
    Ok((tmp, is_svg))
}

/// Draws `$body` (an expression using the drawing area `$area`) into `$out`, as SVG or
/// PNG by extension, atomically.
macro_rules! render {
    ($out:expr, $area:ident => $body:expr) => {{
        let out: &Path = $out;
        let (tmp, is_svg) = figure_tmp(out)?;
        // The backend is dropped (and may flush) inside the closure, so a failed
        // figure's temporary file can be removed after it.
        let drawn = (|| -> Result<()> {
            if is_svg {
                let $area = SVGBackend::new(&tmp, SIZE).into_drawing_area();
                $area.fill(&WHITE).map_err(draw_err)?;
                $body?;
                $area.present().map_err(draw_err)?;
            } else {
                let $area = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
                $area.fill(&WHITE).map_err(draw_err)?;
                $body?;
                $area.present().map_err(draw_err)?;
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
    }};
}

/// Options of the sweep figure.
#[derive(Clone, Debug, Default)]
pub struct SweepPlotOptions {
    /// The varied key on the x axis; default: the one ending in `count`.
    pub x: Option<String>,
    /// Force a log x axis (default: log when the values span 100x or more).
    pub log_x: bool,
    /// Force a log y axis (default: log when the values span 100x or more).
    pub log_y: bool,
}

/// One line of the sweep figure.
#[derive(Clone, Debug)]
struct Series {
    label: String,
    /// (x, mean, ci low, ci high), by x.
    points: Vec<(f64, f64, f64, f64)>,
}

/// What the sweep figure draws, in seconds.
#[derive(Clone, Debug)]
struct SweepData {
    x_label: String,
    bounds: Vec<Series>,
    sims: Vec<Series>,
}

/// Reads a value's text as a number (a quantity in its base unit).
type Reader = fn(&str) -> Result<f64, String>;

/// A varied key's values (column `i` of `rows`) as finite numbers for the x axis,
/// with their unit: plain numbers (unit ""), or all sizes (`B`), all rates (`B/s`),
/// all durations (`s`) or all frequencies (`/s`), read as the scenario reads them
/// (`"10 Mbit/s"` is 1250000 B/s). `None` if no one reading fits every value.
fn axis_values(rows: &[Vec<String>], i: usize) -> Option<(Vec<f64>, &'static str)> {
    use crate::scenario::units::{parse_duration, parse_frequency, parse_rate, parse_size};
    let plain = |v: &str| v.parse::<f64>().map_err(|e| e.to_string());
    let readings: [(Reader, &str); 5] = [
        (plain, ""),
        (parse_size, "B"),
        (parse_rate, "B/s"),
        (parse_duration, "s"),
        (parse_frequency, "/s"),
    ];
    readings.into_iter().find_map(|(read, unit)| {
        let xs: Option<Vec<f64>> = rows
            .iter()
            .map(|r| read(r.get(i)?).ok().filter(|x| x.is_finite()))
            .collect();
        xs.map(|x| (x, unit))
    })
}

fn sweep_data(points_csv: &Path, opts: &SweepPlotOptions) -> Result<SweepData> {
    let (header, rows) = read_csv(points_csv)?;
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            crate::sweep::SweepError(format!("{}: no column {name}", points_csv.display()))
        })
    };
    // (A quantity's number column stands beside its text column: one key.)
    let keys: Vec<String> = header
        .iter()
        .filter(|h| crate::output::quantity::Quantity::twin_of(h, &header).is_none())
        .filter_map(|h| h.strip_prefix("param_").map(String::from))
        .collect();
    let numeric = |k: &str| -> bool {
        col(&format!("param_{k}")).is_ok_and(|i| axis_values(&rows, i).is_some())
    };
    let x_key = match &opts.x {
        Some(k) => {
            let k = k.strip_prefix("param_").unwrap_or(k).to_string();
            if !keys.contains(&k) {
                return Err(crate::sweep::SweepError(format!(
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
                return Err(crate::sweep::SweepError(format!(
                    "--x {k}: its values are not numbers"
                ))
                .into());
            }
            k
        }
        None => keys
            .iter()
            .find(|k| k.ends_with("count") && numeric(k))
            .or_else(|| keys.iter().find(|k| numeric(k)))
            .cloned()
            .ok_or_else(|| {
                crate::sweep::SweepError(format!(
                    "{}: no varied key with numeric values to put on the x axis",
                    points_csv.display()
                ))
            })?,
    };
    let xi = col(&format!("param_{x_key}"))?;
    let (xs, x_unit) = axis_values(&rows, xi).expect("x_key is numeric");
    let (proto, mean, lo, hi, dcs, dp2p) = (
        col("protocol")?,
        col("mean_distribution_time_s")?,
        col("ci95_low_s")?,
        col("ci95_high_s")?,
        col("d_cs_bound_s")?,
        col("d_p2p_bound_s")?,
    );
    // Every value drawn is a number, or empty (no value: a point without a mean).
    for (k, r) in rows.iter().enumerate() {
        for i in [mean, lo, hi, dcs, dp2p] {
            let v = &r[i];
            if !v.is_empty() && v.parse::<f64>().is_err() {
                return Err(crate::sweep::SweepError(format!(
                    "{}: line {}: {} = \"{v}\" is not a number",
                    points_csv.display(),
                    k + 2,
                    header[i]
                ))
                .into());
            }
        }
    }
    let others: Vec<(usize, &String)> = keys
        .iter()
        .filter(|k| **k != x_key)
        .filter_map(|k| col(&format!("param_{k}")).ok().map(|i| (i, k)))
        .collect();
    let f = |r: &Vec<String>, i: usize| {
        r.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // Simulated series: one per protocol and combination of the other varied keys.
    let mut sims: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    let mut dcs_s: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    let mut dp2p_s: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    for (r, &x) in rows.iter().zip(&xs) {
        let rest: Vec<String> = others
            .iter()
            .filter(|(_, k)| k.as_str() != "protocol.kind")
            .map(|(i, k)| format!("{k}={}", r[*i]))
            .collect();
        let rest = rest.join(", ");
        let label = if rest.is_empty() {
            format!("{} (simulated mean, 95% CI)", r[proto])
        } else {
            format!("{} (simulated, {rest})", r[proto])
        };
        let m = f(r, mean);
        if m.is_finite() {
            let (l, h) = (f(r, lo), f(r, hi));
            let (l, h) = if l.is_finite() { (l, h) } else { (m, m) };
            sims.entry(label).or_default().push((x, m, l, h));
        }
        let d = f(r, dcs);
        dcs_s.entry(rest.clone()).or_default().push((x, d, d, d));
        let d = f(r, dp2p);
        dp2p_s.entry(rest).or_default().push((x, d, d, d));
    }
    let finish = |m: BTreeMap<String, Vec<(f64, f64, f64, f64)>>, name: &str| -> Vec<Series> {
        m.into_iter()
            .map(|(k, mut p)| {
                p.sort_by(|a, b| a.0.total_cmp(&b.0));
                p.dedup_by(|a, b| a.0 == b.0);
                Series {
                    label: if k.is_empty() {
                        name.to_string()
                    } else {
                        format!("{name} ({k})")
                    },
                    points: p,
                }
            })
            .collect()
    };
    let mut bounds = finish(dcs_s, "D_cs bound = max(N F/u_s, F/d_min)");
    bounds.extend(finish(
        dp2p_s,
        "D_p2p bound = max(F/u_s, F/d_min, N F/(u_s + sum u_i))",
    ));
    let sims = sims
        .into_iter()
        .map(|(label, mut p)| {
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series { label, points: p }
        })
        .collect();
    let x_label = if x_key.ends_with("count") {
        format!("number of peers N ({x_key})")
    } else if x_unit.is_empty() {
        x_key.clone()
    } else {
        format!("{x_key} ({x_unit})")
    };
    Ok(SweepData {
        x_label,
        bounds,
        sims,
    })
}

/// Draws the grid and axes every figure shares: short tick labels, the bundled font,
/// no minor grid lines.
fn draw_mesh<DB, X, Y>(
    c: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: Option<String>,
    y_desc: &str,
) -> Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = c.configure_mesh();
    mesh.y_desc(y_desc)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 16))
        .light_line_style(WHITE.mix(0.0));
    if let Some(x) = x_desc {
        mesh.x_desc(x);
    }
    mesh.draw().map_err(draw_err)
}

/// Draws the legend every figure shares, at `position`.
fn draw_legend<'a, DB, X, Y>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    c.configure_series_labels()
        .position(position)
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(draw_err)
}

fn tick(v: &f64) -> String {
    let a = v.abs();
    let s = if a >= 1000.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn span(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    vals.filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

/// Draws distribution time over the varied key from a sweep's `points.csv` into
/// `out`: both bound curves and each protocol's mean with its 95 % interval.
pub fn plot_sweep(points_csv: &Path, out: &Path, opts: &SweepPlotOptions) -> Result<()> {
    let d = sweep_data(points_csv, opts)?;
    let bad = |what: String| crate::sweep::SweepError(format!("{}: {what}", points_csv.display()));
    let all = || d.bounds.iter().chain(&d.sims).flat_map(|s| s.points.iter());
    let (x0, x1) = span(all().map(|p| p.0)).ok_or_else(|| bad("no points to plot".into()))?;
    let (y0, y1) = span(all().flat_map(|p| [p.1, p.2, p.3]))
        .ok_or_else(|| bad("no distribution times to plot".into()))?;
    let log_x = opts.log_x || (x0 > 0.0 && x1 / x0 >= 100.0);
    let log_y = opts.log_y || (y0 > 0.0 && y1 / y0 >= 100.0);
    if log_x && x0 <= 0.0 {
        return Err(bad(format!(
            "--log-x: a log axis needs values above zero, and the smallest {} is {x0}",
            d.x_label
        ))
        .into());
    }
    if log_y && y0 <= 0.0 {
        return Err(bad(format!(
            "--log-y: a log axis needs values above zero, and the smallest distribution \
             time or bound is {y0} s"
        ))
        .into());
    }
    let (unit, per) = time_unit(y1);
    let (y0, y1) = (y0 / per, y1 / per);
    let (xa, xb) = if log_x {
        (x0 / 1.15, x1 * 1.15)
    } else {
        let pad = ((x1 - x0) * 0.03).max(0.5);
        (x0 - pad, x1 + pad)
    };
    let (ya, yb) = if log_y {
        (y0 / 1.3, y1 * 1.3)
    } else {
        (0.0, y1 * 1.08 + f64::MIN_POSITIVE)
    };
    let y_label = format!("distribution time ({unit})");
    let ctx = Ctx {
        d: &d,
        per,
        y_label: &y_label,
    };
    render!(out, area => match (log_x, log_y) {
        (false, false) => ctx.chart(&area, xa..xb, ya..yb),
        (true, false) => ctx.chart(&area, (xa..xb).log_scale(), ya..yb),
        (false, true) => ctx.chart(&area, xa..xb, (ya..yb).log_scale()),
        (true, true) => ctx.chart(&area, (xa..xb).log_scale(), (ya..yb).log_scale()),
    })
}

struct Ctx<'a> {
    d: &'a SweepData,
    per: f64,
    y_label: &'a str,
}

impl Ctx<'_> {
    fn chart<DB, X, Y>(&self, area: &DrawingArea<DB, Shift>, xr: X, yr: Y) -> Result<()>
    where
        DB: DrawingBackend,
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let mut c = ChartBuilder::on(area)
            .caption("Distribution time against the lower bounds", (FAMILY, 22))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(xr, yr)
            .map_err(draw_err)?;
        draw_mesh(&mut c, Some(self.d.x_label.clone()), self.y_label)?;
        let bound_colors = [RGBColor(200, 40, 40), RGBColor(30, 90, 200)];
        for (i, s) in self.d.bounds.iter().enumerate() {
            let color = if s.label.starts_with("D_cs") {
                bound_colors[0]
            } else {
                bound_colors[1]
            };
            let color = color.mix(1.0 - 0.25 * (i / 2) as f64 % 0.75);
            let style = ShapeStyle::from(color).stroke_width(2);
            c.draw_series(LineSeries::new(
                s.points.iter().map(|p| (p.0, p.1 / self.per)),
                style,
            ))
            .map_err(draw_err)?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        let sim_colors = [
            RGBColor(0, 0, 0),
            RGBColor(230, 140, 0),
            RGBColor(0, 150, 70),
            RGBColor(150, 60, 180),
        ];
        for (i, s) in self.d.sims.iter().enumerate() {
            let color = sim_colors[i % sim_colors.len()];
            let style = ShapeStyle::from(color).stroke_width(1);
            let pts: Vec<(f64, f64, f64, f64)> = s
                .points
                .iter()
                .map(|p| (p.0, p.1 / self.per, p.2 / self.per, p.3 / self.per))
                .collect();
            c.draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.1)),
                style.stroke_width(1),
            ))
            .map_err(draw_err)?;
            c.draw_series(
                pts.iter()
                    .map(|p| ErrorBar::new_vertical(p.0, p.2, p.1, p.3, style, 8)),
            )
            .map_err(draw_err)?;
            c.draw_series(
                pts.iter()
                    .map(|p| Circle::new((p.0, p.1), 4, style.filled())),
            )
            .map_err(draw_err)?
            .label(s.label.as_str())
            .legend(move |(x, y)| Circle::new((x + 12, y), 4, style.filled()));
        }
        draw_legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// Draws the completion-time CDF of one run, one curve per peer class (time from a
/// peer's arrival to its completion; peers that never completed are left out).
pub fn plot_completion_cdf(r: &RunResult, out: &Path) -> Result<()> {
    let mut by_class: Vec<Vec<f64>> = vec![Vec::new(); r.class_names.len()];
    for p in &r.peers {
        if let (Some(c), Some(v)) = (p.completion, by_class.get_mut(p.class as usize)) {
            v.push(c.secs_since(p.arrival));
        }
    }
    let counts: Vec<usize> = {
        let mut n = vec![0; r.class_names.len()];
        for p in &r.peers {
            if let Some(x) = n.get_mut(p.class as usize) {
                *x += 1;
            }
        }
        n
    };
    for v in &mut by_class {
        v.sort_by(f64::total_cmp);
    }
    let max = by_class.iter().flatten().copied().fold(0.0, f64::max);
    let (unit, per) = time_unit(max);
    let cdf = Cdf {
        names: &r.class_names,
        times: &by_class,
        counts: &counts,
        max: max / per,
        per,
        unit,
    };
    render!(out, area => cdf.chart(&area))
}

struct Cdf<'a> {
    names: &'a [String],
    times: &'a [Vec<f64>],
    counts: &'a [usize],
    max: f64,
    per: f64,
    unit: &'a str,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(30, 90, 200),
    RGBColor(200, 40, 40),
    RGBColor(0, 150, 70),
    RGBColor(230, 140, 0),
    RGBColor(150, 60, 180),
    RGBColor(0, 0, 0),
];

impl Cdf<'_> {
    fn chart<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let x1 = if self.max > 0.0 { self.max * 1.05 } else { 1.0 };
        let mut c = ChartBuilder::on(area)
            .caption("Completion time per peer class", (FAMILY, 22))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x1, 0.0..1.02)
            .map_err(draw_err)?;
        draw_mesh(
            &mut c,
            Some(format!("time from arrival to completion ({})", self.unit)),
            "fraction of the class complete",
        )?;
        for (i, name) in self.names.iter().enumerate() {
            let n = self.counts[i].max(1) as f64;
            let mut pts = vec![(0.0, 0.0)];
            for (k, t) in self.times[i].iter().enumerate() {
                let t = t / self.per;
                pts.push((t, k as f64 / n));
                pts.push((t, (k + 1) as f64 / n));
            }
            let color = PALETTE[i % PALETTE.len()];
            // Earlier classes are drawn wider, so classes with equal times stay visible.
            let width = 2 + 3 * (self.names.len() - 1 - i).min(3) as u32;
            let style = ShapeStyle::from(color).stroke_width(width);
            c.draw_series(LineSeries::new(pts, style))
                .map_err(draw_err)?
                .label(format!("{name} ({} peers)", self.counts[i]))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        draw_legend(&mut c, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

/// Columns `timeseries.csv` must have for [`plot_timeseries`].
pub const TIMESERIES_COLUMNS: [&str; 4] = ["time_s", "leechers", "seeds", "upload_utilisation"];

/// Draws the swarm over time from `timeseries.csv` (columns `time_s`, `leechers`,
/// `seeds`, `upload_utilisation`, others ignored): peer counts above, upload
/// utilisation below.
pub fn plot_timeseries(csv_path: &Path, out: &Path) -> Result<()> {
    let (header, rows) = read_csv(csv_path)?;
    let mut idx = [0usize; 4];
    for (j, name) in TIMESERIES_COLUMNS.iter().enumerate() {
        idx[j] = header.iter().position(|h| h == name).ok_or_else(|| {
            anyhow!(
                "{}: no column {name}; expected {}",
                csv_path.display(),
                TIMESERIES_COLUMNS.join(", ")
            )
        })?;
    }
    let mut data: Vec<[f64; 4]> = Vec::with_capacity(rows.len());
    for (line, r) in rows.iter().enumerate() {
        let mut v = [0.0; 4];
        for j in 0..4 {
            v[j] = r
                .get(idx[j])
                .and_then(|x| x.parse::<f64>().ok())
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    anyhow!(
                        "{}: row {}: column {} is not a number",
                        csv_path.display(),
                        line + 2,
                        TIMESERIES_COLUMNS[j]
                    )
                })?;
        }
        data.push(v);
    }
    if data.is_empty() {
        bail!("{}: no rows to plot", csv_path.display());
    }
    let tmax = data.iter().map(|v| v[0]).fold(0.0, f64::max);
    let (unit, per) = time_unit(tmax);
    let ts = Swarm {
        data: &data,
        per,
        unit,
        t1: if tmax > 0.0 { tmax / per } else { 1.0 },
    };
    render!(out, area => ts.chart(&area))
}

struct Swarm<'a> {
    data: &'a [[f64; 4]],
    per: f64,
    unit: &'a str,
    t1: f64,
}

impl Swarm<'_> {
    fn chart<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (top, bottom) = area.split_vertically(SIZE.1 * 3 / 5);
        let peak = self.data.iter().map(|v| v[1].max(v[2])).fold(1.0, f64::max);
        let mut c = ChartBuilder::on(&top)
            .caption("The swarm over time", (FAMILY, 22))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..self.t1, 0.0..peak * 1.05)
            .map_err(draw_err)?;
        draw_mesh(&mut c, None, "peers")?;
        for (j, name, color) in [(1, "leechers", PALETTE[1]), (2, "seeds", PALETTE[2])] {
            let style = ShapeStyle::from(color).stroke_width(2);
            c.draw_series(LineSeries::new(
                self.data.iter().map(|v| (v[0] / self.per, v[j])),
                style,
            ))
            .map_err(draw_err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        draw_legend(&mut c, SeriesLabelPosition::UpperRight)?;
        let mut c = ChartBuilder::on(&bottom)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..self.t1, 0.0..1.05)
            .map_err(draw_err)?;
        draw_mesh(
            &mut c,
            Some(format!("time ({})", self.unit)),
            "upload utilisation",
        )?;
        let style = ShapeStyle::from(PALETTE[0]).stroke_width(2);
        c.draw_series(LineSeries::new(
            self.data.iter().map(|v| (v[0] / self.per, v[3])),
            style,
        ))
        .map_err(draw_err)?
        .label("upload utilisation")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        draw_legend(&mut c, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_unit_follows_the_largest_value() {
        // Hours from 2 h (7200 s), minutes from 2 min (120 s), else seconds: the same
        // thresholds as the text summary (units::fmt_secs).
        assert_eq!(time_unit(360_000.0), ("hours", 3600.0));
        assert_eq!(time_unit(7200.0), ("hours", 3600.0));
        assert_eq!(time_unit(7199.0), ("minutes", 60.0));
        assert_eq!(time_unit(120.0), ("minutes", 60.0));
        assert_eq!(time_unit(119.0), ("seconds", 1.0));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(&1000.0), "1000");
        assert_eq!(tick(&2.5), "2.5");
        assert_eq!(tick(&3.0), "3");
        assert_eq!(tick(&0.125), "0.125");
    }

    #[test]
    fn the_bundled_font_is_a_font() {
        // register_font parses the TrueType tables; it fails on anything else.
        assert!(plotters::style::register_font("test-family", FontStyle::Normal, FONT).is_ok());
    }
}
