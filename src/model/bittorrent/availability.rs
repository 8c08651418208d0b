//! Availability: each node's count, per chunk, of its neighbours that hold the chunk
//! (the rarest-first input), one byte each when a node has at most 255 neighbours
//! (four above), and updated when a connection opens or closes.

use super::{BitTorrent, SERVER, policy};
use crate::network::NodeId;
use policy::AvailRow;

/// The availability counts of every node: one byte each when a node has at most
/// 255 neighbours, four above ([`AvailRow`]).
#[derive(Clone, Debug)]
pub(super) enum Counts {
    U8(Vec<u8>),
    U32(Vec<u32>),
}

/// A counter of [`Counts`].
pub(super) trait Counter: Copy {
    /// Adds `delta` (the count stays within its type: at most a node's degree).
    fn add(&mut self, delta: i32);
    /// Adds one, wrapping (only the sink row, which nothing reads, can wrap);
    /// returns whether the result is zero.
    fn bump(&mut self) -> bool;
}

macro_rules! counter {
    ($($t:ty),*) => {$(
        impl Counter for $t {
            #[inline(always)]
            fn add(&mut self, delta: i32) {
                let sum = i64::from(*self) + i64::from(delta);
                debug_assert!(
                    (0..=i64::from(<$t>::MAX)).contains(&sum),
                    "availability count out of range"
                );
                *self = sum as $t;
            }
            #[inline(always)]
            fn bump(&mut self) -> bool {
                *self = self.wrapping_add(1);
                *self == 0
            }
        }
    )*};
}
counter!(u8, u32);

impl Counts {
    /// `len` zero counts, wide enough for `most` neighbours.
    pub(super) fn new(len: usize, most: usize) -> Counts {
        if most <= u8::MAX as usize {
            Counts::U8(vec![0; len])
        } else {
            Counts::U32(vec![0; len])
        }
    }

    /// Entries `at..at + len`, for a picker.
    pub(super) fn row(&self, at: usize, len: usize) -> AvailRow<'_> {
        match self {
            Counts::U8(v) => AvailRow::U8(&v[at..at + len]),
            Counts::U32(v) => AvailRow::U32(&v[at..at + len]),
        }
    }

    /// Number of entries.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        match self {
            Counts::U8(v) => v.len(),
            Counts::U32(v) => v.len(),
        }
    }

    /// Entry `i`.
    #[cfg(test)]
    pub(super) fn get(&self, i: usize) -> u32 {
        self.row(i, 1).get(0)
    }
}

/// Adds `delta` to the entries of `row` at the set bits of `bits`.
pub(super) fn add_at<T: Counter>(row: &mut [T], bits: impl Iterator<Item = u32>, delta: i32) {
    for c in bits {
        row[c as usize].add(delta);
    }
}

/// [`add_at`] for one-byte counts with `delta` 1 or -1 and the bits given as words
/// (bit `c % 64` of word `c / 64` for count `c`; no bit at or past `row.len()`): a
/// word with more than 8 bits set is added 8 counts at a time, as one 64-bit sum of
/// its bits spread one to a byte. The sums are those of one count at a time: no
/// count leaves `0..=255` (it is at most the node's degree), so no byte carries
/// into or borrows from the next. A connection that opens or closes adds or
/// subtracts the other end's whole bitfield, up to every chunk of the file, which
/// makes this a large share of the work in a swarm with churn.
pub(super) fn add_bits_u8(row: &mut [u8], bits: &[u64], delta: i32) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    debug_assert!(delta == 1 || delta == -1);
    let full = row.len() / 64;
    for (wi, &word) in bits.iter().enumerate() {
        if word == 0 {
            continue;
        }
        if wi >= full || word.count_ones() <= 8 {
            // (A sparse word, or the last, partial one: count by count.)
            add_at(row, policy::ones_in(wi..wi + 1, |i| bits[i]), delta);
            continue;
        }
        let (groups, _) = row[wi * 64..][..64].as_chunks_mut::<8>();
        for (k, g) in groups.iter_mut().enumerate() {
            let b = word >> (8 * k) & 0xFF;
            if b == 0 {
                continue;
            }
            // Byte i of `x` is bit i of `b` in place (0 or 1 << i); adding 0x7f
            // to each byte sets its top bit exactly where that is not 0.
            let x = (b * ONES) & 0x8040_2010_0804_0201;
            let spread = (x + 0x7f7f_7f7f_7f7f_7f7f) >> 7 & ONES;
            let v = u64::from_le_bytes(*g);
            debug_assert!(
                g.iter()
                    .enumerate()
                    .all(|(i, &n)| b >> i & 1 == 0 || if delta > 0 { n < 255 } else { n > 0 }),
                "availability count out of range"
            );
            *g = if delta > 0 { v + spread } else { v - spread }.to_le_bytes();
        }
    }
}

impl BitTorrent {
    /// Adds (`sign` = 1) or removes (-1) `from`'s chunks to `to`'s availability.
    pub(super) fn add_avail(&mut self, to: NodeId, from: NodeId, sign: i32) {
        if to == SERVER || !self.count_avail {
            return;
        }
        let (base, chunks) = (to as usize * self.chunks as usize, self.chunks as usize);
        let from_row = Self::row(&self.have, self.words, from);
        match &mut self.avail {
            Counts::U8(v) => add_bits_u8(&mut v[base..base + chunks], from_row, sign),
            Counts::U32(v) => add_at(&mut v[base..base + chunks], policy::ones(from_row), sign),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{add_at, add_bits_u8};
    use crate::model::bittorrent::policy;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::test_util::cases(300))]

        /// `add_bits_u8` (eight counts per 64-bit sum in dense words) gives what adding
        /// one count at a time does (`add_at`), for rows of any length (partial last
        /// words, lengths not a multiple of 8), sparse and dense words, both signs, and
        /// counts up to the largest that stays in range (254 before an add, 1 before a
        /// subtraction where the bit is set).
        #[test]
        fn adding_a_bitfield_eight_counts_at_a_time_equals_one_at_a_time(
            len in 1usize..200,
            seed_words in prop::collection::vec((any::<u64>(), 0u32..4), 4),
            counts in prop::collection::vec(0u8..=255, 200),
            add in any::<bool>(),
        ) {
            let words = len.div_ceil(64);
            // Word density: all, most, a few or no bits, then the bits past `len` cleared.
            let mut bits: Vec<u64> = seed_words[..words]
                .iter()
                .map(|&(w, d)| match d { 0 => u64::MAX, 1 => w | w.rotate_left(17), 2 => w & w.rotate_left(29) & w.rotate_left(41), _ => 0 })
                .collect();
            if len % 64 != 0 {
                bits[words - 1] &= (1u64 << (len % 64)) - 1;
            }
            let delta = if add { 1 } else { -1 };
            // Counts in range for the operation at the set bits.
            let row: Vec<u8> = (0..len)
                .map(|c| {
                    let set = bits[c / 64] >> (c % 64) & 1 == 1;
                    match (set, add) {
                        (true, true) => counts[c].min(254),
                        (true, false) => counts[c].max(1),
                        _ => counts[c],
                    }
                })
                .collect();
            let mut fast = row.clone();
            add_bits_u8(&mut fast, &bits, delta);
            let mut plain = row;
            add_at(&mut plain, policy::ones(&bits), delta);
            prop_assert_eq!(fast, plain);
        }
    }
}
