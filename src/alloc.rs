//! A global allocator that puts large blocks on transparent huge pages.
//!
//! A large swarm's tables (availability rows, link blocks, rate histories, flow
//! records) are tens to hundreds of MiB read at random: with 4 KiB pages nearly every
//! such read also misses the TLB. Linux backs anonymous memory with 2 MiB pages
//! ("transparent huge pages") either always or, in its common `madvise` mode, only
//! where the program asks with `madvise(MADV_HUGEPAGE)`, which the system allocator
//! never does. [`HugePageAlloc`] maps every block of at least [`HUGE_THRESHOLD`]
//! bytes itself (`mmap`, rounded up to whole huge pages), asks for huge pages,
//! grows it with `mremap` (the kernel moves page tables, not bytes) and hands every
//! smaller block to the system allocator. Nothing in the simulation depends on
//! addresses, so results are the same with either allocator. Linux only, and only
//! with the cargo feature `hugepages` (on by default): the module exists only
//! then; otherwise the binary uses the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes (one huge page) are mapped directly with
/// huge pages; smaller ones come from the system allocator.
pub const HUGE_THRESHOLD: usize = 2 << 20;

/// The huge-page size that mapped blocks are rounded up to.
const HUGE_PAGE: usize = 2 << 20;

/// The largest alignment a fresh mapping guarantees (a base page).
const PAGE: usize = 4096;

/// The system allocator, except that blocks of [`HUGE_THRESHOLD`] bytes or more are
/// their own `mmap`ed regions advised for transparent huge pages (see the module
/// docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct HugePageAlloc;

/// Whether a block of this layout is mapped directly.
fn mapped(layout: &Layout) -> bool {
    layout.size() >= HUGE_THRESHOLD && layout.align() <= PAGE
}

/// Length of the mapping behind a mapped block of `size` bytes: whole huge pages,
/// so that its tail can be a huge page too. `None` on overflow.
fn map_len(size: usize) -> Option<usize> {
    size.checked_next_multiple_of(HUGE_PAGE)
}

/// A fresh zeroed mapping of `size` bytes advised for huge pages, or null.
fn map(size: usize) -> *mut u8 {
    let Some(len) = map_len(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: an anonymous private mapping at an address of the kernel's choice
    // touches no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    // SAFETY: `p..p + len` is the mapping just made. A refusal (THP disabled) only
    // leaves base pages, so the result is ignored.
    unsafe {
        libc::madvise(p, len, libc::MADV_HUGEPAGE);
    }
    p.cast()
}

// SAFETY: every block is either the system allocator's (passed back to it with the
// same layout) or a mapping of `map_len(size)` bytes made by `map` or `mremap`, which
// is page-aligned (enough for every layout `mapped` accepts), at least `size` bytes
// long, and unmapped exactly once; which of the two a block is follows from its
// layout alone, which the caller passes back unchanged.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            map(layout.size())
        } else {
            // SAFETY: forwarded with the caller's layout (non-zero size).
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            // Fresh anonymous mappings are zero-filled.
            map(layout.size())
        } else {
            // SAFETY: as in `alloc`.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped(&layout) {
            let len = map_len(layout.size()).expect("mapped at this length");
            // SAFETY: `ptr` is the start of a mapping of `len` bytes (see above).
            unsafe {
                libc::munmap(ptr.cast(), len);
            }
        } else {
            // SAFETY: the system allocator's block, with its layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees that `new_size`, rounded up to the alignment,
        // does not overflow `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (mapped(&layout), mapped(&new_layout)) {
            // SAFETY: the system allocator's block, with its layout.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => {
                let old_len = map_len(layout.size()).expect("mapped at this length");
                let Some(new_len) = map_len(new_size) else {
                    return std::ptr::null_mut();
                };
                if old_len == new_len {
                    return ptr;
                }
                // SAFETY: `ptr..ptr + old_len` is one of our mappings; on failure it
                // is left as it was, as `realloc` requires. The moved mapping keeps
                // its huge-page advice.
                let p = unsafe { libc::mremap(ptr.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
                if p == libc::MAP_FAILED {
                    std::ptr::null_mut()
                } else {
                    p.cast()
                }
            }
            // Across the threshold: a new block of the other kind, then a copy.
            _ => {
                // SAFETY: `new_layout` has a non-zero size (the caller's contract).
                let q = unsafe { self.alloc(new_layout) };
                if !q.is_null() {
                    // SAFETY: both blocks are live, distinct and at least this long.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                q
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a pattern over `n` bytes at `p`.
    unsafe fn fill(p: *mut u8, n: usize, seed: u8) {
        for i in 0..n {
            unsafe { *p.add(i) = (i as u8).wrapping_mul(31).wrapping_add(seed) };
        }
    }

    /// Whether the first `n` bytes at `p` still hold `fill`'s pattern.
    unsafe fn holds(p: *const u8, n: usize, seed: u8) -> bool {
        (0..n).all(|i| unsafe { *p.add(i) } == (i as u8).wrapping_mul(31).wrapping_add(seed))
    }

    #[test]
    fn blocks_keep_their_bytes_across_every_kind_of_realloc() {
        let a = HugePageAlloc;
        let mib = 1 << 20;
        // Sizes chosen around the 2 MiB threshold and the 2 MiB rounding: small ->
        // small, small -> mapped, mapped -> mapped within one rounded length, mapped
        // -> mapped growing (mremap), mapped -> mapped shrinking, mapped -> small.
        let steps = [
            64,
            1000,
            3 * mib,
            3 * mib + 5,
            4 * mib,
            9 * mib + 1,
            5 * mib,
            mib,
            16,
        ];
        unsafe {
            let mut layout = Layout::from_size_align(steps[0], 8).unwrap();
            let mut p = a.alloc(layout);
            assert!(!p.is_null());
            fill(p, steps[0], 7);
            for &n in &steps[1..] {
                let kept = layout.size().min(n);
                let q = a.realloc(p, layout, n);
                assert!(!q.is_null(), "realloc to {n}");
                assert!(
                    holds(q, kept, 7),
                    "the first {kept} bytes survive a realloc to {n}"
                );
                layout = Layout::from_size_align(n, 8).unwrap();
                fill(q, n, 7);
                p = q;
            }
            a.dealloc(p, layout);
        }
    }

    #[test]
    fn mapped_blocks_are_zeroed_page_aligned_and_classified_by_layout() {
        let a = HugePageAlloc;
        let layout = Layout::from_size_align(HUGE_THRESHOLD + 12345, 64).unwrap();
        assert!(mapped(&layout));
        assert!(!mapped(
            &Layout::from_size_align(HUGE_THRESHOLD - 1, 8).unwrap()
        ));
        // An alignment above a page cannot come from a fresh mapping: system's.
        assert!(!mapped(
            &Layout::from_size_align(HUGE_THRESHOLD, 8192).unwrap()
        ));
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert_eq!(p as usize % PAGE, 0);
            assert!((0..layout.size()).step_by(4093).all(|i| *p.add(i) == 0));
            a.dealloc(p, layout);
        }
        // Rounding: whole huge pages, and no overflow near usize::MAX.
        assert_eq!(map_len(HUGE_THRESHOLD + 1), Some(2 * HUGE_PAGE));
        assert_eq!(map_len(HUGE_PAGE), Some(HUGE_PAGE));
        assert_eq!(map_len(usize::MAX - 3), None);
    }

    #[test]
    fn a_vec_grown_past_the_threshold_holds_its_values() {
        // The way the simulation's tables grow: doubling from small to mapped sizes
        // (8 MiB at the end), the calls in the order a Vec makes them.
        let a = HugePageAlloc;
        unsafe {
            let mut cap = 4usize;
            let mut layout = Layout::array::<u64>(cap).unwrap();
            let mut p = a.alloc(layout) as *mut u64;
            for i in 0..(1usize << 20) {
                if i == cap {
                    let q = a.realloc(p.cast(), layout, 2 * cap * 8) as *mut u64;
                    assert!(!q.is_null());
                    cap *= 2;
                    layout = Layout::array::<u64>(cap).unwrap();
                    p = q;
                }
                *p.add(i) = (i as u64) * 2654435761;
            }
            assert!((0..(1usize << 20)).all(|i| *p.add(i) == (i as u64) * 2654435761));
            a.dealloc(p.cast(), layout);
        }
    }
}
