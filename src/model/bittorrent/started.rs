//! The block pipeline's record of a node's started chunks: each chunk it has
//! parts of, or has partly received with none, and the bytes of it neither
//! received nor asked of anyone. What a top-up asks of a neighbour (the default
//! order's `started_free`, `by-rarity`'s `rarest_started`) reads the record
//! through the uploader's bitfield instead of sorting the node's parts at every
//! top-up: in end game the part lists are long and a part's end has the node
//! top up every connection, most of which find nothing.
//!
//! The record is two bitset rows per node (`BitTorrent::started_free`,
//! `started_idle`: the chunks with bytes nobody was asked for, and those partly
//! received with nothing asked) and a dense row of those chunks' free bytes
//! (`BitTorrent::free`), so that a top-up finds its candidates by word operations
//! with the uploader's bitfield and reads their bytes without a search. Started
//! chunks with neither bit (every byte asked) are not kept: nothing reads them.
//!
//! A changed chunk's entry is recomputed, from the node's parts of it and its
//! received bytes, at the record's first read after the change
//! ([`BitTorrent::parts_changed`], called wherever a part is added, removed or
//! resized and wherever received bytes are counted); debug builds rebuild the
//! whole record at every read and compare.

use super::blocks::asked_of_next_chunk;
use super::{BitTorrent, Part, Sim};
use crate::model::bitset;
use crate::network::NodeId;

/// One started chunk of a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Started {
    /// The chunk.
    pub(super) chunk: u32,
    /// Its bytes neither received nor asked of anyone: the chunk size, less the
    /// bytes received, less each group's (an original and its end-game
    /// duplicates, one part id) bytes not yet credited at its most, groups summed
    /// in part-id order.
    pub(super) free: f64,
    /// Whether the node has no part of it (partly received, nothing asked).
    pub(super) idle: bool,
}

/// Changed chunks past which a refresh rebuilds the whole record.
const REBUILD: usize = 8;

impl BitTorrent {
    /// Node `n`'s parts of chunk `c`, or its received bytes of `c`, changed: the
    /// chunk's entry in its record of started chunks is brought up to date at the
    /// record's next read.
    #[inline]
    pub(super) fn parts_changed(&mut self, n: NodeId, c: u32) {
        if !self.blocks() {
            return;
        }
        let d = &mut self.nodes[n as usize].started_dirty;
        if d.len() <= REBUILD && !d.contains(&c) {
            d.push(c);
        }
    }

    /// Brings `dl`'s record of started chunks up to date: each changed chunk's
    /// entry, or the whole record after many changes.
    pub(super) fn refresh_started(&mut self, sim: &Sim, dl: NodeId) {
        let n = dl as usize;
        if !self.nodes[n].started_dirty.is_empty() {
            let mut dirty = std::mem::take(&mut self.nodes[n].started_dirty);
            if dirty.len() > REBUILD {
                let mut list = std::mem::take(&mut self.scratch.started);
                self.build_started(sim, dl, &mut list);
                self.clear_started_rows(dl);
                for e in &list {
                    self.mark_started(dl, e.chunk, Some(e));
                }
                self.scratch.started = list;
            } else {
                for &c in &dirty {
                    let entry = self.started_entry(sim, dl, c);
                    self.mark_started(dl, c, entry.as_ref());
                }
            }
            dirty.clear();
            self.nodes[n].started_dirty = dirty;
        }
        #[cfg(debug_assertions)]
        {
            let mut fresh = Vec::new();
            self.build_started(sim, dl, &mut fresh);
            let w = self.words;
            for c in 0..self.chunks {
                let e = fresh.iter().find(|s| s.chunk == c);
                let free = bitset::get_at(&self.started_free, n * w, c as usize);
                let idle = bitset::get_at(&self.started_idle, n * w, c as usize);
                debug_assert_eq!(free, e.is_some_and(|e| e.free > 0.5), "stale free bit");
                debug_assert_eq!(idle, e.is_some_and(|e| e.idle), "stale idle bit");
                if free || idle {
                    debug_assert_eq!(
                        self.started_free_of(dl, c).to_bits(),
                        e.unwrap().free.to_bits(),
                        "stale free bytes"
                    );
                }
            }
        }
    }

    /// Clears `dl`'s rows of started chunks (its record is rebuilt, or it left).
    pub(super) fn clear_started_rows(&mut self, dl: NodeId) {
        let w = self.words;
        Self::row_mut(&mut self.started_free, w, dl).fill(0);
        Self::row_mut(&mut self.started_idle, w, dl).fill(0);
    }

    /// Sets chunk `c`'s bits in `dl`'s rows of started chunks, and its bytes
    /// nobody was asked for, from its entry.
    #[inline]
    fn mark_started(&mut self, dl: NodeId, c: u32, entry: Option<&Started>) {
        let w = self.words;
        let free = entry.is_some_and(|e| e.free > 0.5);
        let idle = entry.is_some_and(|e| e.idle);
        Self::set_bit(&mut self.started_free, w, dl, c, free);
        Self::set_bit(&mut self.started_idle, w, dl, c, idle);
        if let Some(e) = entry.filter(|_| free || idle) {
            let k = self.cell(dl, c);
            self.free[k] = e.free;
        }
    }

    /// The bytes nobody was asked for of chunk `c`, one of `dl`'s started chunks
    /// with its bit in `started_free` or `started_idle` set (its record up to
    /// date).
    #[inline]
    pub(super) fn started_free_of(&self, dl: NodeId, c: u32) -> f64 {
        let (start, i) = (dl as usize * self.words, c as usize);
        debug_assert!(
            bitset::get_at(&self.started_free, start, i)
                || bitset::get_at(&self.started_idle, start, i),
            "chunk {c} is not marked started"
        );
        self.free[self.cell(dl, c)]
    }

    /// Chunk `c`'s entry in `dl`'s record of started chunks (`None`: not started),
    /// computed as [`Self::build_started`] does.
    fn started_entry(&mut self, sim: &Sim, dl: NodeId, c: u32) -> Option<Started> {
        let mut open = std::mem::take(&mut self.scratch.open);
        open.clear();
        let node = &self.nodes[dl as usize];
        open_parts(&node.downloads, Some(c), &mut open);
        let entry = if open.is_empty() {
            self.partly_received(dl, c).map(|got| Started {
                chunk: c,
                free: sim.chunk_size(c) as f64 - got,
                idle: true,
            })
        } else {
            super::blocks::sort_open(&mut open);
            let (_, asked) = asked_of_next_chunk(&open, &mut 0);
            Some(Started {
                chunk: c,
                free: sim.chunk_size(c) as f64 - self.received(dl, c) - asked,
                idle: false,
            })
        };
        self.scratch.open = open;
        entry
    }

    /// Builds `dl`'s record of started chunks into `list`.
    fn build_started(&mut self, sim: &Sim, dl: NodeId, list: &mut Vec<Started>) {
        list.clear();
        let mut open = std::mem::take(&mut self.scratch.open);
        open.clear();
        open_parts(&self.nodes[dl as usize].downloads, None, &mut open);
        super::blocks::sort_open(&mut open);
        let mut k = 0;
        while k < open.len() {
            let (c, asked) = asked_of_next_chunk(&open, &mut k);
            let free = sim.chunk_size(c) as f64 - self.received(dl, c) - asked;
            list.push(Started {
                chunk: c,
                free,
                idle: false,
            });
        }
        let with_parts = list.len();
        let base = self.cell(dl, 0);
        let row = &self.got[base..base + self.chunks as usize];
        for (c, &got) in (0..self.chunks).zip(row).filter(|&(_, &got)| got > 0.0) {
            if open.binary_search_by_key(&c, |e| e.0).is_err() {
                list.push(Started {
                    chunk: c,
                    free: sim.chunk_size(c) as f64 - got,
                    idle: true,
                });
            }
        }
        if list.len() > with_parts {
            list.sort_unstable_by_key(|s| s.chunk);
        }
        self.scratch.open = open;
    }
}

/// Appends the parts of `parts` (of chunk `only`, or all of them) as (chunk, part,
/// bytes asked and not yet credited), the form `asked_of_next_chunk` reads once sorted.
fn open_parts(parts: &[Part], only: Option<u32>, open: &mut Vec<(u32, u32, f64)>) {
    open.extend(
        parts
            .iter()
            .filter(|p| only.is_none_or(|c| p.chunk == c))
            .map(|p| (p.chunk, p.part, p.bytes - p.credited)),
    );
}
