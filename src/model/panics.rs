//! A run that panics (a bug in the simulator, never the scenario's fault): caught
//! where it runs, so that the command ends with an error naming the run instead of
//! unwinding through the threads that wait for it.
//!
//! The tests of that path need a run that panics on purpose: a run whose seed
//! equals the environment variable `SWARMSIM_TEST_PANIC_SEED` panics when it
//! starts. Nothing else reads that variable, and it takes the exact seed of one run,
//! so it is not set by accident.

use crate::scenario::Scenario;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

/// The environment variable of the test hook (see the module's documentation).
pub const TEST_PANIC_SEED_VAR: &str = "SWARMSIM_TEST_PANIC_SEED";

/// A run panicked: which one, and the panic's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the run of scenario `{scenario}` (seed {seed}) panicked: {message}")]
pub struct RunPanicked {
    /// The scenario's name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// The panic's message (`(no message)` if it carried no text).
    pub message: String,
}

/// Runs `f`, the simulation of `s`, and returns its value, or the panic it raised
/// as a [`RunPanicked`]. (The default panic hook still prints the panic and its
/// place on standard error first.)
pub fn catch_run<T>(s: &Scenario, f: impl FnOnce() -> T) -> Result<T, RunPanicked> {
    // (Only `s` and `f`'s own state are seen after a panic: `s` is read-only and
    // `f`'s state is dropped with it.)
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| RunPanicked {
        scenario: s.name.clone(),
        seed: s.seed,
        message: panic_message(payload.as_ref()),
    })
}

/// The text a panic carried (`panic!` with a literal gives a `&str`, with
/// arguments a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// The test hook: panics if `s`'s seed is the value of [`TEST_PANIC_SEED_VAR`]
/// (read once per process).
pub(super) fn test_hook(s: &Scenario) {
    static SEED: OnceLock<Option<u64>> = OnceLock::new();
    let seed = SEED.get_or_init(|| std::env::var(TEST_PANIC_SEED_VAR).ok()?.trim().parse().ok());
    if *seed == Some(s.seed) {
        panic!("test panic: {TEST_PANIC_SEED_VAR} is this run's seed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_of_a_caught_panic_names_the_run() {
        let s = Scenario::from_toml(
            "name = \"p\"\nseed = 7\n[file]\nsize = \"1 MB\"\n[server]\nupload = \"1 MB/s\"\n\
             [[peers]]\ncount = 1\nupload = \"1 MB/s\"\ndownload = \"unlimited\"\n",
            "p.toml",
            &[],
        )
        .unwrap();
        // (The expected texts are the panics' own: a literal, a formatted one, and
        // a payload that is not text.)
        let e = catch_run(&s, || -> u32 { panic!("boom") }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the run of scenario `p` (seed 7) panicked: boom"
        );
        let n = 3;
        let e = catch_run(&s, || -> u32 { panic!("at {n}") }).unwrap_err();
        assert_eq!(e.message, "at 3");
        let e = catch_run(&s, || std::panic::panic_any(5_u8)).unwrap_err();
        assert_eq!(e.message, "(no message)");
        assert_eq!(catch_run(&s, || 4), Ok(4));
    }
}
