//! How much a connection keeps requested under the block pipeline: the depth of
//! its queue (libtorrent 2.0.8's `peer_connection::update_desired_queue_size`,
//! src/peer_connection.cpp) and whole-piece mode (`whole_pieces_threshold`,
//! `whole_pieces_rule`; `request_a_block`, src/request_blocks.cpp, and
//! `piece_picker::expand_piece`, src/piece_picker.cpp): a connection that brings a
//! chunk within the threshold asks for whole chunks, by default a run of adjacent
//! free ones around the chunk the picker chose whenever fewer blocks than its depth
//! are requested.

use super::BitTorrent;
use crate::network::NodeId;
use crate::scenario::WholePiecesRule;

impl BitTorrent {
    /// The depth of `dl`'s queue over its link at position `i`, in blocks, given
    /// the rate of the part being served (0: use the last part's mean rate) and
    /// the chunk size, and the whole chunks of a whole-piece run (0: none). With
    /// `whole_pieces_rule = "kept"` the depth covers the run; with
    /// `"adjacent-runs"` it does not (the run is what a pick below it returns).
    pub(super) fn queue_depth(&self, dl: NodeId, i: u32, served: f64, chunk: f64) -> (u64, u32) {
        let rate = if self.ewma_rate() {
            self.ticks[self.lbase(dl) + i as usize].avg
        } else if served > 0.0 {
            served
        } else {
            self.queues[self.lbase(dl) + i as usize].rate
        };
        let c = &self.cfg;
        let want = rate * c.request_queue_time / c.block_size as f64;
        // (`floor` by truncation: `want` is not negative; not finite, the most.)
        let want = if want.is_finite() {
            want as u64
        } else {
            u64::MAX
        };
        let depth = want.clamp(c.request_queue_min as u64, c.request_queue_max as u64);
        // Whole-piece runs: a connection fast enough to bring a chunk in
        // `whole_pieces_threshold` seconds asks for as many whole chunks as that
        // time brings (at most 8 MiB of them), beyond the depth: libtorrent's
        // request_a_block (src/request_blocks.cpp, 2.0.8) sets
        // prefer_contiguous_blocks = min(rate x threshold, 8 MiB) / piece_length
        // pieces' blocks, and the picker then returns whole pieces, "possibly more
        // blocks than we requested".
        if c.whole_pieces_threshold > 0.0 {
            let pieces = ((rate * c.whole_pieces_threshold).min(8.0 * 1048576.0) / chunk).floor();
            if pieces >= 1.0 {
                if c.whole_pieces_rule == WholePiecesRule::AdjacentRuns {
                    return (depth, pieces as u32);
                }
                let per = (chunk / c.block_size as f64).ceil();
                return (depth.max((pieces * per) as u64), pieces as u32);
            }
        }
        (depth, 0)
    }

    /// Whether a run may take chunk `k` (libtorrent's `piece_picker::can_pick`):
    /// `ul` has it, and `dl` has none of it and asked nobody for it.
    pub(super) fn free_for_run(&self, dl: NodeId, ul: NodeId, k: u32) -> bool {
        self.has(ul, k)
            && !self.has(dl, k)
            && !self.is_pending(dl, k)
            && self.partly_received(dl, k).is_none()
    }

    /// The run of adjacent chunks around `c`, a chunk the picker chose, of at most
    /// `len` chunks: `piece_picker::expand_piece` (src/piece_picker.cpp, 2.0.8,
    /// unaligned) goes back from `c` while the chunk before is free, at most
    /// `len - 1` chunks, then forward to at most `len` chunks from where it began.
    pub(super) fn expand_run(&self, dl: NodeId, ul: NodeId, c: u32, len: u32) -> (u32, u32) {
        let lower = c.saturating_sub(len - 1);
        let mut start = c;
        while start > lower && self.free_for_run(dl, ul, start - 1) {
            start -= 1;
        }
        let upper = start.saturating_add(len).min(self.chunks);
        let mut end = c + 1;
        while end < upper && self.free_for_run(dl, ul, end) {
            end += 1;
        }
        (start, end)
    }

    /// The next chunk of the top-up's run (`run`, last first) still free.
    pub(super) fn next_in_run(&mut self, dl: NodeId, ul: NodeId) -> Option<u32> {
        while let Some(k) = self.run.pop() {
            if self.free_for_run(dl, ul, k) {
                return Some(k);
            }
        }
        None
    }
}
