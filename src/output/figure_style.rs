//! How sweep figures look: a colour-blind-safe palette (Okabe & Ito) with a marker
//! per series, axis ticks that label the data range (log axes included), and axis
//! units in the family the scenario wrote its values in (Mbit/s, MiB, minutes).

use crate::output::quantity::Quantity;
use plotters::style::RGBColor;

/// The Okabe & Ito palette (Okabe & Ito 2008, "Color Universal Design"), yellow
/// last (it reads poorly on white).
pub const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

/// Grey for a bound curve shared by several series.
pub const SHARED: RGBColor = RGBColor(90, 90, 90);

/// The shape of a series' points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A filled circle.
    Circle,
    /// A filled square.
    Square,
    /// A filled triangle, point up.
    TriangleUp,
    /// A filled diamond.
    Diamond,
    /// A filled triangle, point down.
    TriangleDown,
    /// An x.
    Cross,
    /// A +.
    Plus,
}

/// Every marker, in the order series get them.
pub const MARKERS: [Marker; 7] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Cross,
    Marker::Plus,
];

/// The colour and marker of series `i`: no two of the first 56 series share both
/// (8 colours and 7 markers, coprime).
pub fn series_style(i: usize) -> (RGBColor, Marker) {
    (OKABE_ITO[i % OKABE_ITO.len()], MARKERS[i % MARKERS.len()])
}

/// A tick label: at most 4 significant digits, no trailing zeros.
pub fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let s = if a >= 1000.0 {
        format!("{v:.0}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 12) as usize;
        format!("{v:.decimals$}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A "nice" step (1, 2 or 5 times a power of ten) near `raw`.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let k = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// Linear ticks at a nice step inside `[lo, hi]` (about 5 of them).
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let step = nice_step((hi - lo) / 5.0);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Ticks inside `[lo, hi]`: for a linear axis at a nice step; for a log axis at the
/// powers of ten, or where that gives fewer than three, at 1-2-5 times them, then at
/// 1 to 9 times them, and failing that (a range within one decade's step) at a
/// linear nice step: so every axis labels the range its data cover.
pub fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if !log || lo <= 0.0 {
        return linear_ticks(lo, hi);
    }
    let (e0, e1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for mantissas in [
        &[1.0][..],
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        let t: Vec<f64> = (e0..=e1)
            .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|v| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9))
            .collect();
        if t.len() >= 3 {
            return t;
        }
    }
    linear_ticks(lo, hi)
}

/// An axis unit: its name and its size in the base unit (bytes, bytes/s, s).
pub type Unit = (&'static str, f64);

/// The units of a family, smallest first.
fn family(q: Quantity, texts: &[&str]) -> Vec<Unit> {
    let any = |pat: &str| texts.iter().any(|t| t.contains(pat));
    let k = 1024.0;
    match q {
        Quantity::Size if any("iB") => {
            vec![("B", 1.0), ("KiB", k), ("MiB", k * k), ("GiB", k * k * k)]
        }
        Quantity::Size => vec![("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9)],
        Quantity::Rate if any("bit/s") => vec![
            ("bit/s", 0.125),
            ("kbit/s", 125.0),
            ("Mbit/s", 125e3),
            ("Gbit/s", 125e6),
        ],
        Quantity::Rate if any("iB/s") => vec![
            ("B/s", 1.0),
            ("KiB/s", k),
            ("MiB/s", k * k),
            ("GiB/s", k * k * k),
        ],
        Quantity::Rate => vec![("B/s", 1.0), ("kB/s", 1e3), ("MB/s", 1e6), ("GB/s", 1e9)],
        Quantity::Duration => vec![("s", 1.0), ("min", 60.0), ("h", 3600.0)],
        Quantity::Frequency => vec![("/s", 1.0)],
    }
}

/// The unit to draw a quantity axis in: from the family the scenario's texts use
/// (bits or bytes, binary or decimal prefixes), the largest unit not above the
/// smallest positive value (so every value reads as 1 or more).
pub fn axis_unit(q: Quantity, texts: &[&str], values: &[f64]) -> Unit {
    let fam = family(q, texts);
    let min = values
        .iter()
        .copied()
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold(f64::INFINITY, f64::min);
    fam.iter()
        .rev()
        .find(|u| u.1 <= min)
        .copied()
        .unwrap_or(fam[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_differ_for_many_series() {
        // 8 colours x 7 markers: the first 56 (colour, marker) pairs are distinct.
        let mut seen = std::collections::HashSet::new();
        for i in 0..56 {
            let (c, m) = series_style(i);
            assert!(seen.insert((c.0, c.1, c.2, m as u8)), "series {i}");
        }
    }

    #[test]
    fn log_ticks_label_the_data_range() {
        // Data 3 to 13 minutes: no power of ten but 10 inside; 1-2-5 gives 5, 10:
        // still two; 1..9 gives 3, 4, ..., 9, 10.
        let t = ticks(3.0, 13.0, true);
        assert_eq!(t, [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
        // 1 to 1000: the powers of ten.
        assert_eq!(ticks(1.0, 1000.0, true), [1.0, 10.0, 100.0, 1000.0]);
        // 3.1 to 3.9: within one step of 1..9: linear ticks 3.2, 3.4, ... (step 0.2).
        let t = ticks(3.1, 3.9, true);
        assert!(
            t.len() >= 3 && t[0] >= 3.1 && *t.last().unwrap() <= 3.9,
            "{t:?}"
        );
    }

    #[test]
    fn linear_ticks_are_nice() {
        // Range 0..13: raw step 2.6 -> 2: 0, 2, ..., 12.
        assert_eq!(
            ticks(0.0, 13.0, false),
            [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
        );
    }

    #[test]
    fn units_follow_the_scenario() {
        // "1 Mbit/s", "10 Mbit/s" -> Mbit/s (125,000 B/s each); "32 KiB" to "4 MiB"
        // -> KiB (the smallest value, 32 KiB, is at least 1 KiB but below 1 MiB).
        let u = axis_unit(Quantity::Rate, &["1 Mbit/s", "10 Mbit/s"], &[125e3, 1.25e6]);
        assert_eq!(u, ("Mbit/s", 125e3));
        let u = axis_unit(Quantity::Size, &["32 KiB", "4 MiB"], &[32768.0, 4194304.0]);
        assert_eq!(u, ("KiB", 1024.0));
        let u = axis_unit(Quantity::Rate, &["125 kB/s"], &[125e3]);
        assert_eq!(u, ("kB/s", 1e3));
        assert_eq!(tick_label(0.03125), "0.03125");
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(1000.0), "1000");
        assert_eq!(tick_label(12.0), "12");
    }
}
