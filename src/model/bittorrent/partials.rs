//! The block pipeline's piece order under `started_chunks = "by-rarity"`, as
//! libtorrent 2.0.8 picks (`piece_picker::pick_pieces`, src/piece_picker.cpp):
//! the pieces are walked in priority order, availability first, and a piece being
//! downloaded ranks before an open one of the same availability
//! (`piece_pos::priority`, include/libtorrent/piece_picker.hpp: availability x 12
//! plus -3 for a downloading piece, -2 for an open one). So a chunk the node has
//! started competes with new ones by rarity, and wins only ties; under the default
//! order (`"first"`) any started chunk comes before a new one.
//!
//! Among started chunks of the same availability the connection's own chunk
//! comes first, then the lowest index (libtorrent's order inside one priority is
//! that of its piece list). Not modelled: libtorrent's switch to partial pieces
//! first when a node has more than 1.5 x its connections of them
//! (`pick_pieces`, `prioritize_partials`); in the real-client grid a node never
//! has that many.

use super::policy::AvailRow;
use super::requests::Ask;
use super::{BitTorrent, Sim};
use crate::model::bitset;
use crate::network::NodeId;
use crate::scenario::{PickerKind, StartedOrder};

impl BitTorrent {
    /// Whether `dl` ranks started chunks by rarity now: `by-rarity` with the
    /// rarest-first picker past its random first chunks (below
    /// `initial_picker_threshold` libtorrent picks random pieces and finishes
    /// partial ones first, `peer_connection::picker_options`, src/peer_connection.cpp,
    /// which the default order gives).
    pub(super) fn started_by_rarity(&self, dl: NodeId) -> bool {
        self.cfg.started_chunks == StartedOrder::ByRarity
            && self.cfg.picker == PickerKind::RarestFirst
            && self.count_avail
            && self.held[dl as usize] >= self.cfg.random_first
    }

    /// How many of `dl`'s neighbours have chunk `c`.
    fn avail_at(&self, dl: NodeId, c: u32) -> u32 {
        let base = dl as usize * self.chunks as usize;
        match self.avail.row(base, self.chunks as usize) {
            AvailRow::U8(r) => u32::from(r[c as usize]),
            AvailRow::U32(r) => r[c as usize],
        }
    }

    /// What `dl` asks of `ul` by rarity, with `room` bytes of queue free, `last`
    /// the chunk of the connection's last request: the rarest of the started
    /// chunks `ul` has (with bytes nobody was asked for) and the picker's new
    /// chunk, the started one on a tie. `None` when there is neither.
    pub(super) fn choose_by_rarity(
        &mut self,
        sim: &mut Sim,
        dl: NodeId,
        ul: NodeId,
        room: f64,
        last: Option<u32>,
    ) -> Option<(Ask, f64)> {
        let started = self.rarest_started(sim, dl, ul, last);
        if let Some(Ask::New(c)) = self.choose_new(sim, dl, ul, false) {
            // (The picker chose among the rarest new chunks.)
            if started.is_none_or(|(_, _, a)| a > self.avail_at(dl, c)) {
                let free = sim.chunk_size(c) as f64 - self.received(dl, c);
                return Some((Ask::New(c), free.min(room)));
            }
        }
        started.map(|(c, free, _)| (Ask::New(c), free.min(room)))
    }

    /// The started chunk of `dl` that `ul` has, with bytes nobody was asked for,
    /// first by `(availability, not last, chunk)`: the chunk, those bytes and its
    /// availability. A part's group (an original and its end-game duplicates, one
    /// part id) asks for its bytes once, at the most any member has left.
    fn rarest_started(
        &mut self,
        sim: &Sim,
        dl: NodeId,
        ul: NodeId,
        last: Option<u32>,
    ) -> Option<(u32, f64, u32)> {
        self.refresh_started(sim, dl);
        let w = self.words;
        let (free, ul_has) = (
            Self::row(&self.started_free, w, dl),
            Self::row(&self.have, w, ul),
        );
        let cands = bitset::ones_in(0..w, |i| free[i] & ul_has[i]);
        let mut best: Option<(u32, bool, u32)> = None;
        for c in cands {
            let key = (self.avail_at(dl, c), last != Some(c), c);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|(a, _, c)| (c, self.started_free_of(dl, c), a))
    }
}

#[cfg(test)]
#[path = "partials_tests.rs"]
mod tests;
