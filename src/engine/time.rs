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
        let ns = (seconds * Self::NANOS_PER_SEC).ceil();
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
        self.0.saturating_sub(earlier.0) as f64 / Self::NANOS_PER_SEC
    }
}

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

    #[test]
    fn refuses_what_does_not_fit() {
        // 2^64 ns is about 1.8e10 s; 1e11 s cannot be represented.
        assert!(Time::from_secs_ceil(1e11).is_err());
        assert!(Time::from_secs_ceil(-1.0).is_err());
        assert!(Time::from_secs_ceil(f64::NAN).is_err());
        assert!(Time::from_secs_ceil(f64::INFINITY).is_err());
    }
}
