//! Small line charts as inline SVG text for the report: linear axes with 1-2-5
//! ticks, polylines (straight or stepped), dashed reference lines and a legend.
//! Text uses the reader's sans-serif font: nothing is fetched.

use super::html::esc;
use std::fmt::Write;

/// One line of a chart.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// Points `(x, y)` in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Draw as a staircase (each y held until the next x), as for a CDF.
    pub step: bool,
}

/// A vertical reference line at `x`, labelled.
pub struct Marker {
    /// Its x value.
    pub x: f64,
    /// Its label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
}

/// A chart's texts and data.
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Vertical reference lines.
    pub markers: Vec<Marker>,
    /// Lower end of the y axis forced to this value (e.g. 0).
    pub y_min: Option<f64>,
    /// Upper end of the y axis forced to this value (e.g. 1 for a CDF).
    pub y_max: Option<f64>,
}

const W: f64 = 640.0;
const H: f64 = 360.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 48.0;

/// Tick values for `[lo, hi]`: multiples of 1, 2 or 5 times a power of ten, about
/// `n` of them.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label: short, without float noise.
pub fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e6).contains(&a) {
        let t = format!("{v:.6}");
        let t = t.trim_end_matches('0').trim_end_matches('.');
        t.to_string()
    } else {
        format!("{v:.1e}")
    }
}

/// Removes points so that at most about `max` remain, keeping the first and last
/// and every point's neighbourhood shape (every k-th point, plus the y extremes
/// of each stride).
pub fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max || max < 4 {
        return points.to_vec();
    }
    let stride = points.len().div_ceil(max / 2);
    let mut out = Vec::with_capacity(max + 2);
    for chunk in points.chunks(stride) {
        let lo = chunk
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        let hi = chunk
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        if lo.0 <= hi.0 {
            out.push(*lo);
            out.push(*hi);
        } else {
            out.push(*hi);
            out.push(*lo);
        }
    }
    if let Some(l) = points.last() {
        out.push(*l);
    }
    out.dedup();
    out
}

impl Chart {
    /// The chart as an `<svg>` element (640 x 360 user units, scaled by CSS).
    pub fn to_svg(&self) -> String {
        let pts = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts {
            if x.is_finite() && y.is_finite() {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
        for m in &self.markers {
            if m.x.is_finite() {
                x0 = x0.min(m.x);
                x1 = x1.max(m.x);
            }
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if let Some(v) = self.y_min {
            y0 = v;
        }
        if let Some(v) = self.y_max {
            y1 = v;
        }
        x0 = x0.min(0.0);
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if y1 <= y0 {
            y1 = y0 + 1.0;
        }
        if self.y_max.is_none() {
            y1 += 0.05 * (y1 - y0);
        }
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
        let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg class="chart" viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{t}"><title>{t}</title>"#,
            t = esc(&self.title)
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="20" class="ct">{}</text>"#,
            W / 2.0,
            esc(&self.title)
        );
        // Grid and ticks.
        for v in ticks(x0, x1, 8) {
            let x = sx(v);
            let _ = write!(
                s,
                r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="tx">{}</text>"#,
                TOP + ph,
                TOP + ph + 16.0,
                tick_label(v)
            );
        }
        for v in ticks(y0, y1, 6) {
            let y = sy(v);
            let _ = write!(
                s,
                r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="ty">{}</text>"#,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                tick_label(v)
            );
        }
        let _ = write!(
            s,
            r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" class="frame"/>"#
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" class="xl">{}</text>"#,
            LEFT + pw / 2.0,
            H - 10.0,
            esc(&self.x_label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(14 {:.1}) rotate(-90)" class="yl">{}</text>"#,
            TOP + ph / 2.0,
            esc(&self.y_label)
        );
        for m in &self.markers {
            if !m.x.is_finite() {
                continue;
            }
            let x = sx(m.x);
            let _ = write!(
                s,
                r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="{c}" class="marker"/>"#,
                TOP + ph,
                c = m.color
            );
        }
        for ser in &self.series {
            let mut d = String::new();
            let mut prev: Option<(f64, f64)> = None;
            for &(x, y) in &ser.points {
                if !(x.is_finite() && y.is_finite()) {
                    prev = None;
                    continue;
                }
                let (px, py) = (sx(x), sy(y.clamp(y0, y1)));
                match prev {
                    None => {
                        let _ = write!(d, "M{px:.1} {py:.1}");
                    }
                    Some((_, qy)) if ser.step => {
                        let _ = write!(d, "H{px:.1}V{py:.1}");
                        let _ = qy;
                    }
                    Some(_) => {
                        let _ = write!(d, "L{px:.1} {py:.1}");
                    }
                }
                prev = Some((px, py));
            }
            let _ = write!(s, r#"<path d="{d}" stroke="{}" class="line"/>"#, ser.color);
        }
        // Legend: series then markers, in a row between the title and the plot.
        let ly = TOP - 10.0;
        let mut lx = LEFT;
        let items = self
            .series
            .iter()
            .map(|x| (x.label.as_str(), x.color, false))
            .chain(
                self.markers
                    .iter()
                    .filter(|m| m.x.is_finite())
                    .map(|m| (m.label.as_str(), m.color, true)),
            );
        for (label, color, dashed) in items {
            let _ = write!(
                s,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" class="{}"/><text x="{:.1}" y="{:.1}" class="lg">{}</text>"#,
                lx,
                ly - 4.0,
                lx + 22.0,
                ly - 4.0,
                if dashed { "marker" } else { "line" },
                lx + 28.0,
                ly,
                esc(label)
            );
            // (About 6 units a character at the legend's 11 px.)
            lx += 44.0 + 6.0 * label.chars().count() as f64;
        }
        s.push_str("</svg>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        // By hand: 0..=100 in about 5 steps -> raw step 20 -> 20: 0, 20, ..., 100.
        assert_eq!(
            ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        // 0..=0.9 in about 6 -> raw 0.15 -> 0.2: 0, 0.2, 0.4, 0.6, 0.8.
        let t = ticks(0.0, 0.9, 6);
        assert_eq!(t.len(), 5);
        assert!((t[4] - 0.8).abs() < 1e-12);
        assert_eq!(tick_label(0.30000000000000004), "0.3");
        assert_eq!(tick_label(2500.0), "2500");
    }

    #[test]
    fn thinning_keeps_the_ends_and_the_extremes() {
        // 10,000 points of a sawtooth; at most ~200 kept, first, last and the peak kept.
        let p: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, (i % 100) as f64)).collect();
        let t = thin(&p, 200);
        assert!(t.len() <= 202, "{}", t.len());
        assert_eq!(t.first(), p.first());
        assert_eq!(t.last(), p.last());
        assert!(t.iter().any(|q| q.1 == 99.0));
    }
}
