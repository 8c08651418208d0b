//! The block pipeline's record of a node's started chunks: each chunk it has
//! parts of, or has partly received with none, and the bytes of it neither
//! received nor asked of anyone. What a top-up asks of a neighbour (the default
//! order's `started_free`, `by-rarity`'s `rarest_started`) reads the record
//! through the uploader's bitfield instead of sorting the node's parts at every
//! top-up: in end game the part lists are long and a part's end has the node
//! top up every connection, most of which find nothing.
//!
//! The record is rebuilt, from the parts and the partly received chunks, at its
//! first read after any change to either ([`BitTorrent::parts_changed`], called
//! wherever a part is added, removed or resized and wherever received bytes are
//! counted); debug builds rebuild it at every read and compare.

use super::blocks::asked_of_next_chunk;
use super::{BitTorrent, Sim};
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

impl BitTorrent {
    /// Node `n`'s parts or partly received chunks changed: its record of started
    /// chunks is rebuilt at its next read.
    #[inline(always)]
    pub(super) fn parts_changed(&mut self, n: NodeId) {
        self.nodes[n as usize].started_stale = true;
    }

    /// Brings `dl`'s record of started chunks (`Node::started`, by chunk) up to
    /// date.
    pub(super) fn refresh_started(&mut self, sim: &Sim, dl: NodeId) {
        if self.nodes[dl as usize].started_stale {
            let mut list = std::mem::take(&mut self.nodes[dl as usize].started);
            self.build_started(sim, dl, &mut list);
            let node = &mut self.nodes[dl as usize];
            node.started = list;
            node.started_stale = false;
        } else {
            #[cfg(debug_assertions)]
            {
                let mut fresh = Vec::new();
                self.build_started(sim, dl, &mut fresh);
                debug_assert_eq!(
                    fresh, self.nodes[dl as usize].started,
                    "stale started chunks"
                );
            }
        }
    }

    /// Builds `dl`'s record of started chunks into `list`.
    fn build_started(&mut self, sim: &Sim, dl: NodeId, list: &mut Vec<Started>) {
        list.clear();
        let mut open = std::mem::take(&mut self.scratch.open);
        open.clear();
        let node = &self.nodes[dl as usize];
        open.extend(
            node.downloads
                .iter()
                .map(|p| (p.chunk, p.part, p.bytes - p.credited)),
        );
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
        for &(c, got) in &node.partial {
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
