//! The block request pipeline (`requests = "blocks"`): each connection keeps a
//! queue of outstanding block requests whose depth follows the connection's download
//! rate, and the uploader serves the queue in order, one request at a time, as over
//! one TCP stream.
//!
//! Representation. A request is a [`Part`](super::Part): a run of consecutive blocks
//! of one chunk asked of one neighbour (the blocks a top-up asks of one chunk at
//! once; a later top-up that asks for more of the same chunk while the run is still
//! queued lengthens it). Of a connection's parts exactly one is served at a time:
//! the oldest whose request reached the uploader (the lowest part id), as one flow
//! of its bytes; the others wait with no flow. So a connection is one flow at a
//! time, at the rate the bandwidth model gives it, and its bytes arrive in request
//! order: the times are exact under both `fast` and `max-min`. When the served part
//! ends, the next starts at once (no request latency on the way, as the requests
//! were sent long before).
//!
//! Depth. A connection keeps `clamp(floor(r * request_queue_time / block_size),
//! request_queue_min, request_queue_max)` blocks requested, `r` its download rate:
//! the rate of the flow being served, or, between two parts, the mean rate of the
//! last part served; before anything was served, the minimum
//! (`peer_connection::update_desired_queue_size`, src/peer_connection.cpp,
//! libtorrent 2.0.8). The queue is topped up whenever a part of the connection ends,
//! and whenever the connection is unchoked or the downloader learns of a chunk; not
//! at each block: within a run the number outstanding falls from the depth by the
//! run's blocks before the next top-up.
//!
//! What is asked. Blocks of a chunk already started that the uploader has and that
//! nobody was asked for (so a chunk can be assembled from several peers' blocks,
//! `add_blocks_downloading`, src/piece_picker.cpp), then a new chunk from the piece
//! picker; a chunk is acquired (HAVE to every neighbour) when its last block
//! arrives. End game as libtorrent's strict end game (`request_a_block`,
//! src/request_blocks.cpp): blocks already asked of another peer are asked again
//! only when every chunk the node lacks is being fetched, and only on a connection
//! with nothing outstanding; the duplicate covers the rest of one run (libtorrent:
//! one block), and the copies still coming are cancelled when one arrives. A choke
//! drops the connection's queue: the uploader rejects every queued request
//! (`peer_connection::send_choke`), the bytes of the block under way are kept.

use super::requests::Ask;
use super::{BitTorrent, NONE, Part, SERVER, Sim};
use crate::network::NodeId;
use crate::scenario::RequestModel;
use rand::Rng;

/// Most parts (runs) a connection keeps outstanding under the block pipeline: the
/// link's request counters are bytes. Runs hold up to a chunk each, so this binds
/// only with chunks of a block or two and a deep queue.
pub(super) const MAX_RUNS: u32 = 250;

impl BitTorrent {
    /// Whether the block pipeline is on.
    #[inline(always)]
    pub(super) fn blocks(&self) -> bool {
        self.cfg.requests == RequestModel::Blocks
    }

    /// Blocks `dl` has outstanding over `conn` (each part's rest, in whole blocks).
    fn outstanding_blocks(&self, sim: &Sim, dl: NodeId, conn: u32) -> u64 {
        let b = self.cfg.block_size as f64;
        self.nodes[dl as usize]
            .downloads
            .iter()
            .filter(|p| p.conn == conn)
            .map(|p| {
                let rest = if p.flow != NONE {
                    Self::left(sim, p.flow)
                } else {
                    p.bytes - p.credited
                };
                (rest / b - 1e-9).ceil().max(0.0) as u64
            })
            .sum()
    }

    /// The depth of `dl`'s queue over `conn`, in blocks.
    fn queue_depth(&self, sim: &Sim, dl: NodeId, conn: u32) -> u64 {
        let node = &self.nodes[dl as usize];
        let served = node
            .downloads
            .iter()
            .find(|p| p.conn == conn && p.flow != NONE)
            .map_or(0.0, |p| sim.network().graph().flow(p.flow).rate);
        let rate = if served > 0.0 {
            served
        } else {
            node.pipe
                .iter()
                .find(|e| e.conn == conn)
                .map_or(0.0, |e| e.rate)
        };
        let c = &self.cfg;
        let want = (rate * c.request_queue_time / c.block_size as f64).floor();
        let want = if want.is_finite() { want } else { f64::MAX };
        want.clamp(c.request_queue_min as f64, c.request_queue_max as f64) as u64
    }

    /// Bytes of chunk `c` at `dl` that are neither received nor asked of anyone.
    fn unreserved(&self, sim: &Sim, dl: NodeId, c: u32) -> f64 {
        let node = &self.nodes[dl as usize];
        let mut asked = 0.0;
        for (k, p) in node.downloads.iter().enumerate() {
            if p.chunk != c {
                continue;
            }
            // A group (an original and its end-game duplicates) asks for its bytes
            // once: counted at its first member, at the most any member has left.
            if node.downloads[..k]
                .iter()
                .any(|q| q.chunk == c && q.part == p.part)
            {
                continue;
            }
            asked += node
                .downloads
                .iter()
                .filter(|q| q.chunk == c && q.part == p.part)
                .map(|q| q.bytes - q.credited)
                .fold(0.0, f64::max);
        }
        sim.chunk_size(c) as f64 - self.received(dl, c) - asked
    }

    /// What `dl` asks of `ul` over `conn` with `room` bytes of queue free.
    fn choose_blocks(
        &mut self,
        sim: &mut Sim,
        dl: NodeId,
        ul: NodeId,
        conn: u32,
        room: f64,
    ) -> Option<(Ask, f64)> {
        // Blocks of chunks already started, nobody asked for them yet.
        let node = &self.nodes[dl as usize];
        let started = node
            .partial
            .iter()
            .map(|p| p.0)
            .chain(node.downloads.iter().map(|p| p.chunk));
        let mut found = None;
        for c in started {
            if self.has(ul, c) && !self.has(dl, c) {
                let free = self.unreserved(sim, dl, c);
                if free > 0.5 {
                    found = Some((c, free));
                    break;
                }
            }
        }
        if let Some((c, free)) = found {
            return Some((Ask::New(c), free.min(room)));
        }
        if let Some(Ask::New(c)) = self.choose_new(sim, dl, ul) {
            debug_assert!(!self.is_pending(dl, c));
            let free = sim.chunk_size(c) as f64 - self.received(dl, c);
            return Some((Ask::New(c), free.min(room)));
        }
        // Strict end game: a busy block again only when every missing chunk is
        // being fetched and nothing is outstanding on this connection.
        let node = &self.nodes[dl as usize];
        if !self.in_endgame(dl) || node.downloads.iter().any(|q| q.conn == conn) {
            return None;
        }
        let mut n = 0u32;
        let mut choice = None;
        for (k, p) in node.downloads.iter().enumerate() {
            let alone = node
                .downloads
                .iter()
                .filter(|q| q.part == p.part && q.chunk == p.chunk)
                .count()
                == 1;
            if alone && self.has(ul, p.chunk) {
                n += 1;
                if sim.rng.random_range(0..n) == 0 {
                    choice = Some(k);
                }
            }
        }
        choice.map(|k| (Ask::Duplicate(k), 0.0))
    }

    /// `dl` tops up its queue of block requests over its link at position `i`, and
    /// the connection's next part starts if none is being served.
    pub(super) fn try_request_blocks(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
        if !self.present[dl as usize] || self.held[dl as usize] == self.chunks || dl == SERVER {
            return;
        }
        let (ul, conn) = {
            let l = self.lk(dl, i);
            (l.other, l.conn)
        };
        let b = self.cfg.block_size as f64;
        loop {
            if self.held[dl as usize] == self.chunks {
                return;
            }
            let l = self.lk(dl, i);
            if !l.unchoked || l.in_flight as u32 >= MAX_RUNS {
                break;
            }
            let (depth, out) = (
                self.queue_depth(sim, dl, conn),
                self.outstanding_blocks(sim, dl, conn),
            );
            if out >= depth {
                break;
            }
            let room = (depth - out) as f64 * b;
            let Some((ask, bytes)) = self.choose_blocks(sim, dl, ul, conn, room) else {
                break;
            };
            let (chunk, part, bytes) = match ask {
                Ask::New(c) => {
                    if !self.is_pending(dl, c) {
                        Self::set_bit(&mut self.pending, self.words, dl, c, true);
                        self.nodes[dl as usize].pending_count += 1;
                    }
                    // More of the chunk at the tail of the queue lengthens that run.
                    let downloads = &mut self.nodes[dl as usize].downloads;
                    let tail = downloads
                        .iter_mut()
                        .filter(|p| p.conn == conn)
                        .max_by_key(|p| p.part);
                    if let Some(t) = tail
                        && t.chunk == c
                        && t.flow == NONE
                    {
                        t.bytes += bytes;
                        continue;
                    }
                    (c, self.new_part(dl), bytes)
                }
                Ask::Duplicate(k) => {
                    let p = self.nodes[dl as usize].downloads[k];
                    if p.flow != NONE {
                        self.rebase(sim, dl, p.chunk, p.part);
                    }
                    let p = self.nodes[dl as usize].downloads[k];
                    let left = if p.flow != NONE {
                        Self::left(sim, p.flow)
                    } else {
                        p.bytes - p.credited
                    };
                    (p.chunk, p.part, left)
                }
                Ask::Split(_) => unreachable!("the block pipeline never splits"),
            };
            self.add_in_flight(dl, i, 1);
            let d = self.delay(dl, ul);
            self.nodes[dl as usize].downloads.push(Part {
                flow: NONE,
                chunk,
                conn,
                pos: i,
                part,
                arrived: d <= 0.0,
                bytes,
                credited: 0.0,
            });
            if d > 0.0 {
                let at = sim.after(d);
                sim.set_timer(at, super::BtTimer::Request { dl, conn, part });
                self.messages_in_flight += 1;
            }
        }
        self.serve_next(sim, dl, i);
    }

    /// If nothing is being served over `dl`'s link at position `i`, the uploader
    /// starts on the oldest request that reached it.
    pub(super) fn serve_next(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
        let l = *self.lk(dl, i);
        let node = &self.nodes[dl as usize];
        if node
            .downloads
            .iter()
            .any(|p| p.conn == l.conn && p.flow != NONE)
        {
            return;
        }
        let Some(k) = node
            .downloads
            .iter()
            .enumerate()
            .filter(|(_, p)| p.conn == l.conn && p.arrived)
            .min_by_key(|(_, p)| p.part)
            .map(|(k, _)| k)
        else {
            return;
        };
        let p = node.downloads[k];
        debug_assert!(l.unchoked && !self.has(dl, p.chunk));
        let f = sim.start_transfer_bytes(l.other, dl, p.chunk, p.bytes);
        let e = &mut self.nodes[dl as usize].downloads[k];
        e.flow = f;
        let now = sim.now.as_secs_f64();
        let pipe = &mut self.nodes[dl as usize].pipe;
        match pipe.iter_mut().find(|e| e.conn == l.conn) {
            Some(e) => e.started = now,
            None => pipe.push(PipeRate {
                conn: l.conn,
                started: now,
                rate: 0.0,
            }),
        }
    }

    /// A part of `dl`'s over `conn` of `bytes` finished being served now: the
    /// connection's rate estimate becomes its mean rate.
    pub(super) fn note_served(&mut self, sim: &Sim, dl: NodeId, conn: u32, bytes: f64) {
        let now = sim.now.as_secs_f64();
        if let Some(e) = self.nodes[dl as usize]
            .pipe
            .iter_mut()
            .find(|e| e.conn == conn)
            && now > e.started
        {
            e.rate = bytes / (now - e.started);
        }
    }

    /// Forgets `n`'s rate estimate of the closed connection `conn`.
    pub(super) fn forget_pipe(&mut self, n: NodeId, conn: u32) {
        self.nodes[n as usize].pipe.retain(|e| e.conn != conn);
    }
}

/// A connection's download rate as the block pipeline estimates it.
#[derive(Clone, Copy, Debug)]
pub(super) struct PipeRate {
    conn: u32,
    /// When the part being served started, seconds.
    started: f64,
    /// Mean rate of the last part served, bytes per second (0: none yet).
    rate: f64,
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
