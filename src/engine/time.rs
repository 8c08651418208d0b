//! Virtual time in integer nanoseconds.

use std::fmt;

/// A point in virtual time (or a duration), in integer nanoseconds since the start of
/// the simulation. `u64` nanoseconds cover about 584 years.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

/// The error when a duration does not fit in virtual time (about 584 years).
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("{seconds} s does not fit in virtual time (at most {max} s, about 584 years)", max = Time::MAX.as_secs_f64())]
pub struct TimeOverflow {
    /// The duration that did not fit, in seconds.
    pub seconds: f64,
}

impl Time {
    /// Time zero, the start of every simulation.
    pub const ZERO: Time = Time(0);
    /// The largest representable time.
    pub const MAX: Time = Time(u64::MAX);
    /// Nanoseconds per second.
    pub const NANOS_PER_SEC: f64 = 1e9;

    /// Converts seconds to virtual time, rounding up to the next nanosecond so that an
    /// event never happens before the instant the fluid model says it can.
    #[inline]
    pub fn from_secs_ceil(seconds: f64) -> Result<Time, TimeOverflow> {
        let x = seconds * Self::NANOS_PER_SEC;
        // Fast path (every completion time takes it), the same value as the general
        // path below without the call to `ceil` (baseline x86-64 has no rounding
        // instruction): for 0 < x < 2^63 the truncation t is exact, and ceil(x) is t,
        // or t + 1 when x has a fraction (then x < 2^52 and t converts back exactly).
        if x > 0.0 && x < TWO_POW_63 {
            let t = x as i64;
            return Ok(Time(t as u64 + u64::from((t as f64) < x)));
        }
        Self::from_nanos_ceil_slow(seconds, x)
    }

    #[cold]
    fn from_nanos_ceil_slow(seconds: f64, x: f64) -> Result<Time, TimeOverflow> {
        let ns = x.ceil();
        // `u64::MAX as f64` rounds up to 2^64, so use a strict comparison.
        if !(ns >= 0.0 && ns < u64::MAX as f64) {
            return Err(TimeOverflow { seconds });
        }
        Ok(Time(ns as u64))
    }

    /// This time in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::NANOS_PER_SEC
    }

    /// `self + d`, or an error if it leaves the representable range.
    pub fn checked_add(self, d: Time) -> Option<Time> {
        self.0.checked_add(d.0).map(Time)
    }

    /// `self - earlier` in seconds (zero if `earlier` is later).
    #[inline]
    pub fn secs_since(self, earlier: Time) -> f64 {
        let d = self.0.saturating_sub(earlier.0);
        // Below 2^63 a signed conversion (one instruction; the unsigned one takes a
        // sequence) gives the same correctly rounded value.
        let d = if d < 1 << 63 {
            d as i64 as f64
        } else {
            d as f64
        };
        d / Self::NANOS_PER_SEC
    }
}

/// 2^63 as a float: below it a float converts to `i64` exactly by truncation.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9} s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_the_next_nanosecond() {
        // 1.5 ns must not happen at 1 ns: ceil(1.5) = 2.
        assert_eq!(Time::from_secs_ceil(1.5e-9).unwrap(), Time(2));
        assert_eq!(Time::from_secs_ceil(3.0).unwrap(), Time(3_000_000_000));
    }

    /// The general formula the fast paths must reproduce exactly.
    fn reference_ceil(seconds: f64) -> Option<u64> {
        let ns = (seconds * Time::NANOS_PER_SEC).ceil();
        (ns >= 0.0 && ns < u64::MAX as f64).then_some(ns as u64)
    }

    #[test]
    fn fast_ceil_matches_the_formula_at_the_edges() {
        let mut xs = vec![
            0.0,
            -0.0,
            1e-10,
            1e-9,
            1.5e-9,
            0.999e-9,
            -1e-10,
            -0.5e-9,
            1.0,
            3.0,
            0.1,
            9.223372036854775e9,
            9.223372036854776e9,
            9.3e9,
            1.8446744073709552e10,
            1e11,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Neighbours of the boundaries in ulps.
        for b in [
            TWO_POW_63 / 1e9,
            2f64.powi(52) / 1e9,
            2f64.powi(53) / 1e9,
            1e-9,
        ] {
            let mut x = b;
            for _ in 0..4 {
                x = f64::from_bits(x.to_bits() + 1);
                xs.push(x);
            }
            let mut x = b;
            for _ in 0..4 {
                x = f64::from_bits(x.to_bits() - 1);
                xs.push(x);
            }
        }
        for x in xs {
            let got = Time::from_secs_ceil(x).ok().map(|t| t.0);
            assert_eq!(got, reference_ceil(x), "seconds = {x:e}");
        }
    }

    proptest::proptest! {
        /// Any float, and any time difference, give the same bits as the general
        /// formulas the fast paths stand in for.
        #[test]
        fn fast_paths_match_the_formulas(bits in proptest::num::u64::ANY, a in proptest::num::u64::ANY, b in proptest::num::u64::ANY, x in 0.0f64..2e10) {
            let y = f64::from_bits(bits);
            proptest::prop_assert_eq!(Time::from_secs_ceil(y).ok().map(|t| t.0), reference_ceil(y));
            proptest::prop_assert_eq!(Time::from_secs_ceil(x).ok().map(|t| t.0), reference_ceil(x));
            let want = a.saturating_sub(b) as f64 / Time::NANOS_PER_SEC;
            proptest::prop_assert_eq!(Time(a).secs_since(Time(b)).to_bits(), want.to_bits());
            let want = a.saturating_sub(b >> 20) as f64 / Time::NANOS_PER_SEC;
            proptest::prop_assert_eq!(Time(a).secs_since(Time(b >> 20)).to_bits(), want.to_bits());
        }
    }

    #[test]
    fn refuses_what_does_not_fit() {
        // 2^64 ns is about 1.8e10 s; 1e11 s cannot be represented.
        assert!(Time::from_secs_ceil(1e11).is_err());
        assert!(Time::from_secs_ceil(-1.0).is_err());
        assert!(Time::from_secs_ceil(f64::NAN).is_err());
        assert!(Time::from_secs_ceil(f64::INFINITY).is_err());
    }
}
