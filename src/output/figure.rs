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

//! This file holds the public API (options, names, [`plot_figure`]) and what a
//! figure is; `figure/data.rs` reads the sweep tables into a figure, and
//! `figure/draw.rs` draws it.

mod data;
mod draw;

use super::SweepError;
use super::figure_style::{Marker, Unit};
use super::plot::drawable_range;
use anyhow::Result;
use data::figure_data;
use draw::{Ranges, draw_figure};
use plotters::style::RGBColor;
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

/// The name of a figure of `y` over `x`: `<y>_vs_<x>.png`.
pub fn figure_name(y: &str, x: &str) -> String {
    format!("{y}_vs_{x}.png")
}

/// The x key a figure of `dir` with `opts` uses (the given one, or the default).
pub fn x_key(dir: &Path, opts: &FigureOptions) -> Result<String> {
    figure_data(dir, opts).map(|(_, x, _)| x)
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
    draw_figure(&out, &fig, &ranges)?;
    Ok(out)
}
