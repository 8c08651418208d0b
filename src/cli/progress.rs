//! Progress displays on standard error.

use crate::model::Progress;
use crate::scenario::units::fmt_secs;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The progress display of `swarmsim run` on a terminal: nothing for the first 2 s,
/// then the virtual time reached and the events per second, until `finished`.
pub(super) fn run_progress(watch: &Progress, finished: &AtomicBool, start: Instant) {
    let tick = std::time::Duration::from_millis(100);
    while start.elapsed().as_secs_f64() < 2.0 {
        if finished.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(tick);
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}  elapsed {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    while !finished.load(Ordering::Relaxed) {
        let secs = start.elapsed().as_secs_f64();
        let events = watch.events.load(Ordering::Relaxed);
        let now = watch.now_ns.load(Ordering::Relaxed) as f64 / 1e9;
        bar.set_message(format!(
            "virtual time {}  {} events ({:.0} events/s)",
            fmt_secs(now),
            events,
            events as f64 / secs.max(1e-9)
        ));
        bar.tick();
        std::thread::sleep(tick * 2);
    }
    bar.finish_and_clear();
}
