//! Fuzz target: arbitrary text as a scenario file, and what parses and is small is
//! RUN: simulated, its CSV files written and (for one input in 16) its figures drawn.
//! No panic; a bounded number of events; a completed run never beats the lower
//! bound of its architecture; every byte is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::atomic::AtomicBool;
use swarmsim::model::{RunStatus, simulate};
use swarmsim::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(s) = Scenario::from_toml(text, "fuzz.toml", &[]) else {
        return;
    };
    // Small runs only (a fuzzer's input must take well under a second).
    let estimate = swarmsim::estimate::events(&s);
    if s.peers() > 64 || s.chunks() > 256 || estimate > 1e5 {
        return;
    }
    let r = simulate(&s);
    let m = &r.summary;
    assert!(
        (m.events as f64) <= 100.0 * estimate + 10_000.0,
        "{} events, estimate {estimate}",
        m.events
    );
    let b = s.bounds();
    let bound = if s.protocol.is_p2p() { b.d_p2p } else { b.d_cs };
    if m.status == RunStatus::Completed {
        assert!(m.distribution_time_s >= bound * (1.0 - 1e-9));
    } else {
        assert!(!m.note.is_empty());
    }
    if let Err(e) = r.check_bytes_conserved() {
        panic!("{e}");
    }
    // Written, and drawn for one input in 16 (a figure costs about 50 ms).
    let dir = std::env::temp_dir().join(format!("swarmsim-fuzz-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    swarmsim::output::write_run(&dir, &r, 0.0).expect("writes into a fresh folder");
    if data.iter().fold(0u8, |a, &x| a.wrapping_add(x)) % 16 == 0 {
        let never = AtomicBool::new(false);
        swarmsim::output::plot::plot_completion_cdf(&r, &dir.join("cdf.png"), &never)
            .expect("draws the CDF");
        swarmsim::output::plot::plot_timeseries(&dir.join("timeseries.csv"), &dir.join("swarm.png"), &never)
            .expect("draws the time series");
    }
    let _ = std::fs::remove_dir_all(&dir);
});
