//! Quantity parameters as numbers: a varied key whose values are all sizes, rates,
//! durations or frequencies (`"32 KiB"`, `"10 Mbit/s"`) gets, beside its text
//! column, a column in base units (`param_file.chunk_bytes`,
//! `param_server.upload_bytes_per_s`), read as the scenario reads them.

use crate::scenario::units::{parse_duration, parse_frequency, parse_rate, parse_size};

/// A kind of quantity: how its text is read and the suffix of its number column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// A size, in bytes (`_bytes`).
    Size,
    /// A rate, in bytes per second (`_bytes_per_s`).
    Rate,
    /// A duration, in seconds (`_s`).
    Duration,
    /// A frequency, in events per second (`_per_s`).
    Frequency,
}

impl Quantity {
    /// Every kind, in the order they are tried.
    pub const ALL: [Quantity; 4] = [
        Quantity::Size,
        Quantity::Rate,
        Quantity::Duration,
        Quantity::Frequency,
    ];

    /// The suffix of the number column (`_bytes`, `_bytes_per_s`, `_s`, `_per_s`).
    pub fn suffix(self) -> &'static str {
        match self {
            Quantity::Size => "_bytes",
            Quantity::Rate => "_bytes_per_s",
            Quantity::Duration => "_s",
            Quantity::Frequency => "_per_s",
        }
    }

    /// The value of `text` in base units, if it is this kind of quantity.
    pub fn read(self, text: &str) -> Option<f64> {
        match self {
            Quantity::Size => parse_size(text),
            Quantity::Rate => parse_rate(text),
            Quantity::Duration => parse_duration(text),
            Quantity::Frequency => parse_frequency(text),
        }
        .ok()
    }

    /// The one kind every text reads as (the first that fits, sizes first), or
    /// `None` (plain numbers, names, an empty list).
    pub fn of<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> Option<Quantity> {
        let mut texts = texts.peekable();
        texts.peek()?;
        Quantity::ALL
            .into_iter()
            .find(|q| texts.clone().all(|t| q.read(t).is_some()))
    }

    /// The kind whose number column `column` is, with the text column it stands
    /// beside, if `header` holds that text column (`param_server.upload_bytes_per_s`
    /// -> `param_server.upload`).
    pub fn twin_of<'a>(column: &'a str, header: &[String]) -> Option<(&'a str, Quantity)> {
        // Longest suffix first: `_bytes_per_s` before `_per_s` and `_s`.
        let mut kinds = Quantity::ALL;
        kinds.sort_by_key(|q| std::cmp::Reverse(q.suffix().len()));
        kinds.into_iter().find_map(|q| {
            let base = column.strip_suffix(q.suffix())?;
            header.iter().any(|h| h == base).then_some((base, q))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_base_units() {
        // 32 KiB = 32 * 1024 B; 10 Mbit/s = 10e6 / 8 B/s; 2 min = 120 s; 12 /min = 0.2 /s.
        assert_eq!(
            Quantity::of(["32 KiB", "1 MiB"].into_iter()),
            Some(Quantity::Size)
        );
        assert_eq!(Quantity::Size.read("32 KiB"), Some(32768.0));
        assert_eq!(
            Quantity::of(["10 Mbit/s", "unlimited"].into_iter()),
            Some(Quantity::Rate)
        );
        assert_eq!(Quantity::Rate.read("10 Mbit/s"), Some(1_250_000.0));
        assert_eq!(
            Quantity::of(["2 min"].into_iter()),
            Some(Quantity::Duration)
        );
        assert_eq!(Quantity::Frequency.read("12 /min"), Some(0.2));
        // Mixed kinds, names and plain numbers are not quantities.
        assert_eq!(Quantity::of(["32 KiB", "2 min"].into_iter()), None);
        assert_eq!(Quantity::of(["bittorrent"].into_iter()), None);
        assert_eq!(Quantity::of(["50"].into_iter()), None);
        assert_eq!(Quantity::of(std::iter::empty()), None);
    }

    #[test]
    fn twins_are_found_by_their_text_column() {
        let h: Vec<String> = ["param_server.upload", "param_max_time"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            Quantity::twin_of("param_server.upload_bytes_per_s", &h),
            Some(("param_server.upload", Quantity::Rate))
        );
        assert_eq!(
            Quantity::twin_of("param_max_time_s", &h),
            Some(("param_max_time", Quantity::Duration))
        );
        assert_eq!(Quantity::twin_of("param_server.upload", &h), None);
    }
}
