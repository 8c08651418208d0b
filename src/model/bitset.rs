//! Bitsets stored as `u64` words (bit `i` is bit `i % 64` of word `i / 64`), the
//! one toolkit the protocols share: reading, setting and clearing a bit, and
//! iterating over the set bits. A table of rows (one bitset of `w` words per node,
//! say) is one flat bitset in which row `r` starts at bit `r * w * 64`.

/// Bit `i` of `words`.
#[inline(always)]
pub fn get(words: &[u64], i: usize) -> bool {
    words[i / 64] >> (i % 64) & 1 == 1
}

/// Sets bit `i` of `words`.
#[inline(always)]
pub fn set(words: &mut [u64], i: usize) {
    words[i / 64] |= 1 << (i % 64);
}

/// Clears bit `i` of `words`.
#[inline(always)]
pub fn clear(words: &mut [u64], i: usize) {
    words[i / 64] &= !(1 << (i % 64));
}

/// Sets (`on`) or clears bit `i` of `words`.
#[inline(always)]
pub fn assign(words: &mut [u64], i: usize, on: bool) {
    if on { set(words, i) } else { clear(words, i) }
}

/// Bit `i` of the bitset that starts at word `start` of `words` (a row of a
/// table of bitsets; the word index is computed as the caller's row offset plus
/// `i / 64`, so the hot lookups cost what an open-coded one does).
#[inline(always)]
pub fn get_at(words: &[u64], start: usize, i: usize) -> bool {
    words[start + i / 64] >> (i % 64) & 1 == 1
}

/// Sets (`on`) or clears bit `i` of the bitset that starts at word `start` of
/// `words` (see [`get_at`]).
#[inline(always)]
pub fn assign_at(words: &mut [u64], start: usize, i: usize, on: bool) {
    let w = &mut words[start + i / 64];
    if on {
        *w |= 1 << (i % 64);
    } else {
        *w &= !(1 << (i % 64));
    }
}

/// Sets (`on`) or clears bit `i` of a 128-bit mask.
#[inline(always)]
pub fn assign128(m: &mut u128, i: u32, on: bool) {
    if on {
        *m |= 1 << i;
    } else {
        *m &= !(1 << i);
    }
}

/// Iterates over the indices of the set bits of a bitset stored as `u64` words, in
/// increasing order.
pub fn ones(words: &[u64]) -> Ones<impl Fn(usize) -> u64 + '_> {
    ones_in(0..words.len(), |i| words[i])
}

/// Iterates over the indices of the set bits of the words `word(i)` for `i` in
/// `words`, in increasing order (a bitset given word by word, e.g. the `&` of several
/// bitsets, without building it).
pub fn ones_in<F: Fn(usize) -> u64>(words: std::ops::Range<usize>, word: F) -> Ones<F> {
    let first = if words.is_empty() {
        0
    } else {
        word(words.start)
    };
    Ones {
        word_at: word,
        at: words.start,
        end: words.end,
        word: first,
    }
}

/// The iterator [`ones`] and [`ones_in`] return (a plain loop over the words: the
/// optimal scheduler's receiver searches walk one for every search).
pub struct Ones<F> {
    /// Word `i` of the bitset.
    word_at: F,
    /// Index of the current word.
    at: usize,
    /// One past the last word.
    end: usize,
    /// Its bits not yet returned.
    word: u64,
}

impl<F: Fn(usize) -> u64> Iterator for Ones<F> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        while self.word == 0 {
            self.at += 1;
            if self.at >= self.end {
                self.at = self.end;
                return None;
            }
            self.word = (self.word_at)(self.at);
        }
        let b = self.word.trailing_zeros();
        self.word &= self.word - 1;
        Some(self.at as u32 * 64 + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_set_clear_and_iterate_across_words() {
        // Bits 0, 63, 64 and 130 of a three-word set, by hand: word 0 = 1 + 2^63,
        // word 1 = 1, word 2 = 2^2.
        let mut w = [0u64; 3];
        for i in [130, 0, 64, 63] {
            set(&mut w, i);
        }
        assert_eq!(w, [1 | 1 << 63, 1, 1 << 2]);
        assert!(get(&w, 63) && get(&w, 64) && !get(&w, 65));
        assert_eq!(ones(&w).collect::<Vec<_>>(), vec![0, 63, 64, 130]);
        assert_eq!(ones_in(1..3, |k| w[k]).collect::<Vec<_>>(), vec![64, 130]);
        assign(&mut w, 63, false);
        clear(&mut w, 0);
        assert_eq!(ones(&w).collect::<Vec<_>>(), vec![64, 130]);
        let mut m = 0u128;
        assign128(&mut m, 127, true);
        assign128(&mut m, 3, true);
        assign128(&mut m, 127, false);
        assert_eq!(m, 8);
        // Row 1 of a table of two-word rows starts at word 2: bit 65 of it is bit 1
        // of word 3.
        let mut t = [0u64; 4];
        assign_at(&mut t, 2, 65, true);
        assert_eq!(t, [0, 0, 0, 2]);
        assert!(get_at(&t, 2, 65) && !get_at(&t, 0, 65));
        assign_at(&mut t, 2, 65, false);
        assert_eq!(t, [0; 4]);
    }
}
