//! Drawing a [`Figure`] to SVG or PNG: the axes' ranges and ticks, the series with
//! their markers and error bars, the bound curves, and the legend beside the plot.

use super::{FIGURE_SIZE, Figure, PLOT_WIDTH};
use crate::output::figure_style::{Marker, tick_label, ticks};
use crate::output::plot::{FAMILY, commit_figure, figure_tmp};
use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The axes' ranges in drawing coordinates (log10 of the value on a log axis), and
/// the ticks, in units of the axis.
pub(super) struct Ranges {
    x: (f64, f64),
    y: (f64, f64),
    x_ticks: Vec<f64>,
    y_ticks: Vec<f64>,
}

impl Ranges {
    pub(super) fn new(fig: &Figure, (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> Ranges {
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

/// Draws `fig` within `ranges` into `out` (SVG or PNG by extension), atomically.
pub(super) fn draw_figure(out: &Path, fig: &Figure, ranges: &Ranges) -> Result<()> {
    render(out, |root| draw(root, fig, ranges))
}

/// Draws into a temporary file beside `out` (SVG or PNG by extension), then renames.
fn render(out: &Path, draw_svg_or_png: impl Fn(Root<'_, '_>) -> Result<()>) -> Result<()> {
    let (tmp, is_svg) = figure_tmp(out)?;
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
    })();
    commit_figure(&tmp, out, drawn)
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
