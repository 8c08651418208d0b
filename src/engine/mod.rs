//! The discrete-event engine: virtual time, a future-event queue with a total order,
//! and the per-simulation random number generator.
//!
//! The engine knows nothing of peers, chunks or protocols: it orders opaque events of a
//! type chosen by the model. It must never read the wall clock or touch files.

mod queue;
mod time;

pub use queue::{EventId, EventQueue, Key, NO_TAG};
pub use time::{Time, TimeOverflow};

use rand::SeedableRng;

/// The random number generator every simulation uses: ChaCha8, a named algorithm, so
/// results do not change when `rand`'s default generator does.
pub type SimRng = rand_chacha::ChaCha8Rng;

/// Asks the processor to bring `x`'s cache line in (a hint: no effect on results).
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    prefetch_ptr(x as *const T);
}

/// Asks the processor to bring the cache line at `p` in (a hint: no effect on
/// results). `p` need not point to anything: nothing is read through it, so an
/// address computed without a bounds check is fine.
#[inline(always)]
pub fn prefetch_ptr<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86_64 baseline, and a prefetch only hints the
    // cache: it never faults, whatever the address, and reads or writes nothing
    // the program sees.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Creates the simulation's RNG from a 64-bit seed.
pub fn rng_from_seed(seed: u64) -> SimRng {
    SimRng::seed_from_u64(seed)
}
