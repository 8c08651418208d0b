//! Figures (plotters) of one run: the completion-time CDF per peer class and the
//! swarm over time. (Sweep figures: [`super::figure`].)
//!
//! Text is drawn with the bundled DejaVu Sans (`assets/`, registered on first use), so
//! figures render on machines with no system fonts. The output format follows the
//! file's extension: `.svg` gives SVG, anything else PNG.

use crate::model::RunResult;
use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// DejaVu Sans, bundled (license in `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The font family the bundled font is registered as.
pub(crate) const FAMILY: &str = "sans-serif";
/// Size of the figures, in pixels.
pub const SIZE: (u32, u32) = (900, 600);

/// Registers the bundled font (once).
pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font (checked by the plot tests).
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// Drawing a figure stopped because the cancel flag was set (a signal): the figure
/// was not written and no temporary file is left.
#[derive(Debug, thiserror::Error)]
#[error("drawing {} was interrupted", .0.display())]
pub struct Cancelled(pub PathBuf);

/// Largest magnitude of an axis end. plotters finds ticks from the range's width
/// (a power of ten, then refined by 2, 5 and 10 until about 11 ticks fit); the
/// width must stay finite, padding included.
pub const AXIS_MAX: f64 = 1e300;
/// Narrowest linear axis, absolute: far above the subnormals, where the tick search
/// would divide its step down to zero and never end.
pub const AXIS_MIN_WIDTH: f64 = 1e-200;
/// Narrowest linear axis relative to its ends' magnitude: wider than about 10^7
/// ulps, so that ticks one step apart are distinct numbers (the tick search loops
/// for ever when `x + step == x`).
pub const AXIS_MIN_REL_WIDTH: f64 = 1e-9;
/// Most decades a log axis may span (plotters counts them as a `usize`, and an
/// infinite count never ends its tick search).
pub const LOG_MAX_DECADES: f64 = 300.0;

/// The axis range `lo..hi` made drawable in bounded time, or `None` if it cannot
/// be: a linear range is widened about its centre to at least
/// [`AXIS_MIN_WIDTH`] and [`AXIS_MIN_REL_WIDTH`] times its largest end; a log range
/// must lie within `[1 / AXIS_MAX, AXIS_MAX]` and span at most
/// [`LOG_MAX_DECADES`]. Ends beyond [`AXIS_MAX`] (or not finite) cannot be drawn.
/// A range is only ever widened, so every value inside it stays on the figure.
pub fn drawable_range(lo: f64, hi: f64, log: bool) -> Option<(f64, f64)> {
    let (lo, hi) = (lo.min(hi), hi.max(lo));
    if !(lo.is_finite() && hi.is_finite()) || lo.abs().max(hi.abs()) > AXIS_MAX {
        return None;
    }
    if log {
        let ok = lo >= 1.0 / AXIS_MAX && (hi / lo).log10() <= LOG_MAX_DECADES;
        return ok.then_some((lo, hi));
    }
    let min = AXIS_MIN_WIDTH.max(lo.abs().max(hi.abs()) * AXIS_MIN_REL_WIDTH);
    if hi - lo >= min {
        return Some((lo, hi));
    }
    let mid = lo / 2.0 + hi / 2.0;
    Some((mid - min / 2.0, mid + min / 2.0))
}

/// Ticks labelled per axis (plotters' default of 11, stated): with a range from
/// [`drawable_range`], the tick search ends after a few steps and yields at most
/// this many ticks (and at most ten light lines between two of them).
const AXIS_LABELS: usize = 11;

/// Points per piece of a drawn line: a signal stops the drawing between pieces.
const LINE_PIECE: usize = 4096;

/// A line through `points`, as pieces of at most [`LINE_PIECE`] points (each
/// starting where the last ended; one piece, as plotters' `LineSeries` draws, for
/// shorter lines), ending early once `cancel` is set.
fn line(
    points: Vec<(f64, f64)>,
    style: ShapeStyle,
    cancel: &AtomicBool,
) -> impl Iterator<Item = PathElement<(f64, f64)>> + '_ {
    let step = LINE_PIECE - 1;
    let pieces = points.len().saturating_sub(1).div_ceil(step).max(1);
    until(cancel, 0..pieces).map(move |i| {
        let end = (i * step + LINE_PIECE).min(points.len());
        PathElement::new(points[i * step..end].to_vec(), style)
    })
}

/// `items`, ending early once `cancel` is set (the drawing is then discarded).
fn until<'a, T>(
    cancel: &'a AtomicBool,
    items: impl Iterator<Item = T> + 'a,
) -> impl Iterator<Item = T> + 'a {
    items.take_while(move |_| !cancel.load(Ordering::Relaxed))
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
pub(super) fn figure_tmp(out: &Path) -> Result<(std::path::PathBuf, bool)> {
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
    ($out:expr, $cancel:expr, $area:ident => $body:expr) => {{
        let out: &Path = $out;
        let cancel: &AtomicBool = $cancel;
        if cancel.load(Ordering::Relaxed) {
            return Err(Cancelled(out.to_path_buf()).into());
        }
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
            if cancel.load(Ordering::Relaxed) {
                return Err(Cancelled(out.to_path_buf()).into());
            }
            Ok(())
        })();
        commit_figure(&tmp, out, drawn)
    }};
}

/// Ends drawing a figure into `tmp` (from [`figure_tmp`]): renames it to `out` if
/// `drawn` succeeded, and removes it if drawing or the rename failed.
pub(super) fn commit_figure(tmp: &Path, out: &Path, drawn: Result<()>) -> Result<()> {
    let done = drawn.and_then(|()| {
        std::fs::rename(tmp, out)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), out.display()))
    });
    if done.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    done
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
        .x_labels(AXIS_LABELS)
        .y_labels(AXIS_LABELS)
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

/// Draws the completion-time CDF of one run, one curve per peer class (time from a
/// peer's arrival to its completion; peers that never completed are left out).
/// Stops (with [`Cancelled`], writing nothing) once `cancel` is set.
pub fn plot_completion_cdf(r: &RunResult, out: &Path, cancel: &AtomicBool) -> Result<()> {
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
        cancel,
    };
    render!(out, cancel, area => cdf.chart(&area))
}

struct Cdf<'a> {
    names: &'a [String],
    times: &'a [Vec<f64>],
    counts: &'a [usize],
    max: f64,
    per: f64,
    unit: &'a str,
    cancel: &'a AtomicBool,
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
        let (x0, x1) = drawable_range(0.0, x1, false)
            .ok_or_else(|| anyhow!("completion times up to {x1:e} cannot be drawn"))?;
        let mut c = ChartBuilder::on(area)
            .caption("Completion time per peer class", (FAMILY, 22))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, 0.0..1.02)
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
            c.draw_series(line(pts, style, self.cancel))
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
/// utilisation below. Stops (with [`Cancelled`], writing nothing) once `cancel` is
/// set.
pub fn plot_timeseries(csv_path: &Path, out: &Path, cancel: &AtomicBool) -> Result<()> {
    if cancel.load(Ordering::Relaxed) {
        return Err(Cancelled(out.to_path_buf()).into());
    }
    // Read row by row, so that a signal stops a long series at once.
    let bad = |what: String| anyhow!("{}: {what}", csv_path.display());
    let bytes = std::fs::read(csv_path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("not valid CSV ({e})")))?
        .iter()
        .map(String::from)
        .collect();
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
    let mut data: Vec<[f64; 4]> = Vec::new();
    let mut r = csv::StringRecord::new();
    let mut line = 0;
    while reader
        .read_record(&mut r)
        .map_err(|e| bad(format!("not valid CSV ({e})")))?
    {
        if line % LINE_PIECE == 0 && cancel.load(Ordering::Relaxed) {
            return Err(Cancelled(out.to_path_buf()).into());
        }
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
        line += 1;
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
        cancel,
    };
    render!(out, cancel, area => ts.chart(&area))
}

struct Swarm<'a> {
    data: &'a [[f64; 4]],
    per: f64,
    unit: &'a str,
    t1: f64,
    cancel: &'a AtomicBool,
}

impl Swarm<'_> {
    fn chart<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (top, bottom) = area.split_vertically(SIZE.1 * 3 / 5);
        let peak = self.data.iter().map(|v| v[1].max(v[2])).fold(1.0, f64::max);
        let lowest = self.data.iter().map(|v| v[0]).fold(0.0, f64::min) / self.per;
        let cannot = || anyhow!("the time series' values cannot be drawn");
        let (t0, t1) = drawable_range(lowest, self.t1, false).ok_or_else(cannot)?;
        let (p0, p1) = drawable_range(0.0, peak * 1.05, false).ok_or_else(cannot)?;
        let lowest_u = self.data.iter().map(|v| v[3]).fold(0.0, f64::min);
        let highest_u = self.data.iter().map(|v| v[3]).fold(1.05, f64::max);
        let (u0, u1) = drawable_range(lowest_u, highest_u, false).ok_or_else(cannot)?;
        let mut c = ChartBuilder::on(&top)
            .caption("The swarm over time", (FAMILY, 22))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(t0..t1, p0..p1)
            .map_err(draw_err)?;
        draw_mesh(&mut c, None, "peers")?;
        for (j, name, color) in [(1, "leechers", PALETTE[1]), (2, "seeds", PALETTE[2])] {
            let style = ShapeStyle::from(color).stroke_width(2);
            c.draw_series(line(
                self.data.iter().map(|v| (v[0] / self.per, v[j])).collect(),
                style,
                self.cancel,
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
            .build_cartesian_2d(t0..t1, u0..u1)
            .map_err(draw_err)?;
        draw_mesh(
            &mut c,
            Some(format!("time ({})", self.unit)),
            "upload utilisation",
        )?;
        let style = ShapeStyle::from(PALETTE[0]).stroke_width(2);
        c.draw_series(line(
            self.data.iter().map(|v| (v[0] / self.per, v[3])).collect(),
            style,
            self.cancel,
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
