//! Fuzz target: arbitrary strings as sizes, rates and durations. The parsers must
//! never panic; what they accept must be a non-negative number that is finite
//! (or `unlimited` = +inf for rates), as documented in `scenario::units`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmsim::scenario::units::{parse_duration, parse_rate, parse_size};

fuzz_target!(|text: &str| {
    if let Ok(b) = parse_size(text) {
        assert!(b.is_finite() && b >= 0.0, "size {text:?} -> {b}");
    }
    if let Ok(r) = parse_rate(text) {
        assert!(r >= 0.0 && !r.is_nan(), "rate {text:?} -> {r}");
        assert!(
            r.is_finite() || text.trim() == "unlimited",
            "rate {text:?} -> {r}"
        );
    }
    if let Ok(d) = parse_duration(text) {
        assert!(d.is_finite() && d >= 0.0, "duration {text:?} -> {d}");
        // Converting to virtual time must give a value or an overflow error, never panic.
        let _ = swarmsim::engine::Time::from_secs_ceil(d);
    }
});
