//! The shipped piece pickers and what a picker sees: the [`PiecePicker`] trait,
//! [`PickContext`], the availability counts ([`AvailRow`]), and rarest first
//! (with its 64-at-a-time scan over one-byte counts), random, sequential and
//! global-rarest pickers. Re-exported by [`super`], whose paths users name.

use crate::engine::SimRng;
use crate::model::bitset::ones;
use crate::scenario::PickerKind;
use rand::Rng;

/// A node's availability counts, one per chunk: how many of its neighbours have
/// each chunk. One byte a count when a node may have at most 255 neighbours
/// (`max_connections`, 80 by default), so that the counters of a large swarm take
/// little cache; four bytes above.
#[derive(Clone, Copy, Debug)]
pub enum AvailRow<'a> {
    /// Counts of nodes with at most 255 connections.
    U8(&'a [u8]),
    /// Counts of nodes with more connections.
    U32(&'a [u32]),
}

impl AvailRow<'_> {
    /// No counts (a picker that does not read them).
    pub const EMPTY: AvailRow<'static> = AvailRow::U8(&[]);

    /// The count of chunk `c`.
    #[inline]
    pub fn get(&self, c: usize) -> u32 {
        match self {
            AvailRow::U8(r) => u32::from(r[c]),
            AvailRow::U32(r) => r[c],
        }
    }

    /// Number of chunks counted (0 for [`AvailRow::EMPTY`]).
    pub fn len(&self) -> usize {
        match self {
            AvailRow::U8(r) => r.len(),
            AvailRow::U32(r) => r.len(),
        }
    }

    /// Whether there are no counts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a piece picker sees when a peer may request a chunk from a neighbour.
pub struct PickContext<'a> {
    /// Bitset of the chunks it may request: the neighbour has them, the peer lacks
    /// them and has not requested them yet.
    pub candidates: &'a [u64],
    /// For each chunk, how many of the peer's neighbours have it; empty when the
    /// picker's [`PiecePicker::uses_local_avail`] is false (the counts are then not
    /// kept).
    pub local_avail: AvailRow<'a>,
    /// For each chunk, how many present peers have it (an oracle).
    pub global_copies: &'a [u32],
    /// Chunks the peer already has.
    pub have_count: u32,
}

/// Chooses which chunk to request next.
pub trait PiecePicker: Send {
    /// A chunk among `cx.candidates` (never empty when called), or `None` to request
    /// nothing.
    fn pick(&mut self, cx: &PickContext, rng: &mut SimRng) -> Option<u32>;

    /// Whether `pick` reads [`PickContext::local_avail`]. Keeping those counts is
    /// the protocol's largest single cost in a large swarm (every chunk a peer gets
    /// updates a counter in each neighbour's row), so a picker that never reads
    /// them says so and the protocol does not keep them. The default is true.
    fn uses_local_avail(&self) -> bool {
        true
    }
}

/// Uniform choice among the candidates.
fn random_one(c: &[u64], rng: &mut SimRng) -> Option<u32> {
    let n: u32 = c.iter().map(|w| w.count_ones()).sum();
    if n == 0 {
        return None;
    }
    let k = rng.random_range(0..n);
    ones(c).nth(k as usize)
}

/// The candidate minimising `key`, ties broken uniformly at random (reservoir
/// sampling, so the choice depends only on the RNG stream).
fn argmin_random(c: &[u64], rng: &mut SimRng, key: impl Fn(u32) -> u32) -> Option<u32> {
    let mut m = Argmin::new();
    for (wi, &word) in c.iter().enumerate() {
        m.scan(wi as u32 * 64, word, rng, &key);
    }
    m.best
}

/// The state of [`argmin_random`]'s scan: the candidate chosen so far, its key and
/// how many candidates tie with it.
struct Argmin {
    best: Option<u32>,
    best_key: u32,
    ties: u32,
}

impl Argmin {
    fn new() -> Argmin {
        Argmin {
            best: None,
            best_key: u32::MAX,
            ties: 0,
        }
    }

    /// Scans the candidates `i0 + j` for the set bits `j` of `bits`, in increasing
    /// order.
    #[inline(always)]
    fn scan(&mut self, i0: u32, mut bits: u64, rng: &mut SimRng, key: impl Fn(u32) -> u32) {
        // (The set bits in increasing order, as `ones` gives them, without its
        // iterator adaptors: this loop runs for every candidate of every pick.)
        while bits != 0 {
            let i = i0 + bits.trailing_zeros();
            bits &= bits - 1;
            let k = key(i);
            if k < self.best_key {
                self.best_key = k;
                self.best = Some(i);
                self.ties = 1;
            } else if k == self.best_key {
                self.ties += 1;
                if rng.random_range(0..self.ties) == 0 {
                    self.best = Some(i);
                }
            }
        }
    }
}

/// The positions `j` (bit `j`) of the 64 counts `keys` that are at most `lim`.
#[inline(always)]
fn at_most(keys: &[u8; 64], lim: u8) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_set1_epi8,
        };
        // (SSE2, part of the x86_64 baseline: 16 counts per comparison.)
        // SAFETY: SSE2 is enabled on every x86_64 target; the loads read bytes
        // `16 q .. 16 q + 16` of `keys` (64 bytes), unaligned loads being allowed.
        unsafe {
            let l = _mm_set1_epi8(lim as i8);
            let mut m = 0u64;
            for q in 0..4 {
                let v = _mm_loadu_si128(keys.as_ptr().add(16 * q).cast::<__m128i>());
                // min(v, lim) == v exactly where v <= lim (unsigned bytes).
                let le = _mm_cmpeq_epi8(_mm_min_epu8(v, l), v);
                m |= u64::from(_mm_movemask_epi8(le) as u16) << (16 * q);
            }
            m
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        keys.iter()
            .enumerate()
            .fold(0, |m, (j, &k)| m | u64::from(k <= lim) << j)
    }
}

/// Rarest first over one-byte counts: [`argmin_random`], skipping 64 at a time the
/// candidates whose count is above the smallest seen before their word. Such a
/// candidate is neither a new minimum nor a tie and draws no random number, so the
/// choice and the RNG stream are the plain scan's; a pick then compares some of its
/// candidates instead of all.
fn rarest_u8(c: &[u64], row: &[u8], rng: &mut SimRng) -> Option<u32> {
    let mut m = Argmin::new();
    let key = |i: u32| u32::from(row[i as usize]);
    let (words, _) = row.as_chunks::<64>();
    let full = words.len();
    for (wi, (&word, keys)) in c.iter().zip(words).enumerate() {
        if word != 0 {
            let bits = word & at_most(keys, m.best_key.min(255) as u8);
            m.scan(wi as u32 * 64, bits, rng, key);
        }
    }
    // (A last, partial word: every candidate is compared.)
    if let Some(&word) = c.get(full) {
        m.scan(full as u32 * 64, word, rng, key);
    }
    m.best
}

/// Random first (the first `random_first` chunks), then rarest among neighbours.
pub struct RarestFirst {
    /// Chunks picked at random before rarest-first starts.
    pub random_first: u32,
}

impl PiecePicker for RarestFirst {
    fn pick(&mut self, cx: &PickContext, rng: &mut SimRng) -> Option<u32> {
        if cx.have_count < self.random_first {
            random_one(cx.candidates, rng)
        } else {
            // (One loop per counter width: no match per candidate.)
            match cx.local_avail {
                AvailRow::U8(r) => rarest_u8(cx.candidates, r, rng),
                AvailRow::U32(r) => argmin_random(cx.candidates, rng, |i| r[i as usize]),
            }
        }
    }
}

/// Uniformly random chunk.
pub struct RandomPicker;

impl PiecePicker for RandomPicker {
    fn uses_local_avail(&self) -> bool {
        false
    }

    fn pick(&mut self, cx: &PickContext, rng: &mut SimRng) -> Option<u32> {
        random_one(cx.candidates, rng)
    }
}

/// Lowest index first (as a streaming client would).
pub struct Sequential;

impl PiecePicker for Sequential {
    fn uses_local_avail(&self) -> bool {
        false
    }

    fn pick(&mut self, cx: &PickContext, _rng: &mut SimRng) -> Option<u32> {
        ones(cx.candidates).next()
    }
}

/// Rarest over the whole swarm: an oracle, for comparison.
pub struct GlobalRarest;

impl PiecePicker for GlobalRarest {
    fn uses_local_avail(&self) -> bool {
        false
    }

    fn pick(&mut self, cx: &PickContext, rng: &mut SimRng) -> Option<u32> {
        argmin_random(cx.candidates, rng, |i| cx.global_copies[i as usize])
    }
}

/// The shipped picker of a given kind.
pub fn picker(kind: PickerKind, random_first: u32) -> Box<dyn PiecePicker> {
    match kind {
        PickerKind::RarestFirst => Box::new(RarestFirst { random_first }),
        PickerKind::Random => Box::new(RandomPicker),
        PickerKind::Sequential => Box::new(Sequential),
        PickerKind::GlobalRarest => Box::new(GlobalRarest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng_from_seed;

    #[test]
    fn ones_lists_set_bits() {
        let w = [0b1010u64, 1 << 63];
        assert_eq!(ones(&w).collect::<Vec<_>>(), vec![1, 3, 127]);
    }

    #[test]
    fn rarest_first_picks_a_rarest_chunk() {
        // Candidates 2, 5, 9; availability 3, 1, 1: the pick must be 5 or 9.
        let cand = [(1u64 << 2) | (1 << 5) | (1 << 9)];
        let mut avail = vec![0u8; 64];
        avail[2] = 3;
        avail[5] = 1;
        avail[9] = 1;
        let copies = vec![0u32; 64];
        let cx = PickContext {
            candidates: &cand,
            local_avail: AvailRow::U8(&avail),
            global_copies: &copies,
            have_count: 10,
        };
        let mut rng = rng_from_seed(1);
        let mut seen = [0; 64];
        for _ in 0..200 {
            let c = RarestFirst { random_first: 4 }.pick(&cx, &mut rng).unwrap();
            seen[c as usize] += 1;
        }
        assert_eq!(seen[2], 0);
        // Both tied chunks are chosen (each with probability 1/2: P(never) = 2^-200).
        assert!(seen[5] > 0 && seen[9] > 0);
        assert_eq!(Sequential.pick(&cx, &mut rng), Some(2));
    }

    proptest::proptest! {
        /// The one-byte rarest-first scan (`rarest_u8`, which skips candidates whose
        /// count is above the smallest seen before their word) gives what the plain
        /// reservoir scan (`argmin_random`) gives: the same chunk and the same RNG
        /// state afterwards (the next draw agrees). Counts are `low` plus one of a
        /// few values, so that ties (the draws) are frequent at every level up to
        /// the largest byte; 1 to 200 chunks cover rows with and without a partial
        /// last word.
        #[test]
        fn pruned_rarest_scan_equals_the_plain_scan(
            low in 0u8..=252,
            steps in proptest::collection::vec(0u8..4, 1..200),
            cand_bits in proptest::collection::vec(proptest::bool::weighted(0.6), 200),
            seed in 0u64..1000,
        ) {
            let counts: Vec<u8> = steps.iter().map(|&s| low + s).collect();
            let n = counts.len();
            let mut cand = vec![0u64; n.div_ceil(64)];
            for i in (0..n).filter(|&i| cand_bits[i]) {
                cand[i / 64] |= 1 << (i % 64);
            }
            let (mut r1, mut r2) = (rng_from_seed(seed), rng_from_seed(seed));
            let plain = argmin_random(&cand, &mut r1, |i| u32::from(counts[i as usize]));
            let pruned = rarest_u8(&cand, &counts, &mut r2);
            proptest::prop_assert_eq!(plain, pruned);
            proptest::prop_assert_eq!(r1.random::<u64>(), r2.random::<u64>());
        }
    }
}
