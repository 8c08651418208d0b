//! The block request pipeline (`requests = "blocks"`): each connection keeps a
//! queue of outstanding block requests whose depth follows the connection's download
//! rate, and the uploader serves the queue in order, one request at a time, as over
//! one TCP stream.
//!
//! Representation. A request is a [`Part`](super::Part): a run of consecutive blocks
//! of one chunk asked of one neighbour (the blocks a top-up asks of one chunk at
//! once; a later top-up that asks for more of the same chunk while the run is the
//! last in the queue lengthens it, the stream being served included). Of a
//! connection's parts exactly one is served at a time:
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
//! libtorrent 2.0.8). The queue is topped up to the depth at every event that has
//! the downloader request on the connection (a part of it ends, an unchoke, a HAVE
//! from the uploader, another part's end in end game), not at each block's
//! arrival: between two such events the number outstanding falls by the blocks
//! that arrived. In whole-piece mode (on by default, depth.rs) a connection that
//! brings a chunk within `whole_pieces_threshold` asks for whole chunks: a run of
//! adjacent ones whenever fewer blocks than its depth are requested, or (`"kept"`)
//! that many kept requested beyond the depth.
//!
//! What is asked. More blocks of the chunk of the connection's last request, then
//! blocks of another chunk already started that the uploader has and that
//! nobody was asked for (so a chunk can be assembled from several peers' blocks,
//! `add_blocks_downloading`, src/piece_picker.cpp), then a new chunk from the piece
//! picker (`started_chunks = "by-rarity"` ranks started and new chunks together by
//! rarity instead: partials.rs); a chunk is acquired (HAVE to every neighbour) when its last block
//! arrives. End game as libtorrent's strict end game (`request_a_block`,
//! src/request_blocks.cpp): blocks already asked of another peer are asked again
//! only when every chunk the node lacks is being fetched, and only on a connection
//! with nothing outstanding; the duplicate covers the rest of one run (libtorrent:
//! one block), and the copies still coming are cancelled when one arrives. A choke
//! drops the connection's queue: the uploader rejects every queued request
//! (`peer_connection::send_choke`), the bytes of the block under way are kept.

use super::requests::{Ask, Groups};
use super::{BitTorrent, BtTimer, NONE, Part, SERVER, Sim};
use crate::network::{FlowId, NodeId};
use crate::scenario::{IdleRetry, RequestModel, RequestRate, WholePiecesRule};
use rand::Rng;

/// Most parts (runs) a connection keeps outstanding under the block pipeline: the
/// link's request counters are bytes. Runs hold up to a chunk each, so this binds
/// only with chunks of a block or two and a deep queue.
pub(super) const MAX_RUNS: u32 = 250;

impl BitTorrent {
    /// Draws every peer's allowed-fast set (BEP 6): `allowed_fast` distinct chunks
    /// (all of them if the file has no more), uniformly, from the simulation's RNG,
    /// peers in id order. libtorrent 2.0.8 (`peer_connection::send_allowed_set`,
    /// src/peer_connection.cpp) derives the set from SHA-1 of the peer's address and
    /// the info-hash, so every neighbour sends a peer the same set; it leaves out the
    /// pieces the peer has when it becomes interested (here: none, peers start
    /// empty). Only under the block pipeline.
    pub(super) fn draw_allowed_fast(&mut self, sim: &mut Sim) {
        let k = self.cfg.allowed_fast;
        if k == 0 || !self.blocks() {
            return;
        }
        let (n, w, chunks) = (self.nodes.len(), self.words, self.chunks);
        self.fast = vec![0u64; n * w];
        for node in 1..n as NodeId {
            if k >= chunks {
                for c in 0..chunks {
                    Self::set_bit(&mut self.fast, w, node, c, true);
                }
                continue;
            }
            let mut drawn = 0;
            while drawn < k {
                let c = sim.rng.random_range(0..chunks);
                if !self.is_fast(node, c) {
                    Self::set_bit(&mut self.fast, w, node, c, true);
                    drawn += 1;
                }
            }
        }
    }

    /// Whether the block pipeline is on.
    #[inline(always)]
    pub(super) fn blocks(&self) -> bool {
        self.cfg.requests == RequestModel::Blocks
    }

    /// The blocks outstanding on `dl`'s link at position `i` (each part's rest, in
    /// whole blocks) and the rate of the part being served (`None` if none is; 0
    /// if not yet rated), from the link's [`Queue`] record.
    #[inline]
    fn queue_state(&self, sim: &Sim, dl: NodeId, i: u32) -> (u64, Option<f64>) {
        let e = &self.queues[self.lbase(dl) + i as usize];
        if e.flow == NONE {
            return (e.waiting, None);
        }
        let rest = Self::left(sim, e.flow);
        let rate = sim.network().graph().flow(e.flow).rate;
        let b = self.cfg.block_size as f64;
        (e.waiting + whole_blocks(rest / b - 1e-9), Some(rate))
    }

    /// [`Self::queue_state`] recomputed from `dl`'s parts over `conn` (what the
    /// record must agree with).
    #[cfg(debug_assertions)]
    fn queue_state_scanned(&self, sim: &Sim, dl: NodeId, conn: u32) -> (u64, Option<f64>) {
        let (mut out, mut rate) = (0u64, None);
        for p in self.nodes[dl as usize].downloads.iter() {
            if p.conn != conn {
                continue;
            }
            if p.flow != NONE {
                rate = Some(sim.network().graph().flow(p.flow).rate);
            }
            out += self.part_blocks(sim, p);
        }
        (out, rate)
    }

    /// A part's rest in whole blocks: what is left of its flow if served, else its
    /// bytes not yet credited.
    fn part_blocks(&self, sim: &Sim, p: &Part) -> u64 {
        let rest = if p.flow != NONE {
            Self::left(sim, p.flow)
        } else {
            p.bytes - p.credited
        };
        whole_blocks(rest / self.cfg.block_size as f64 - 1e-9)
    }

    /// The index among `dl`'s downloads of the last request over `conn` (the
    /// highest part id), if any (`busy`: the link has requests outstanding).
    fn conn_tail(&self, dl: NodeId, conn: u32, busy: bool) -> Option<usize> {
        if !busy {
            return None;
        }
        let mut tail = None::<(u32, usize)>;
        for (k, p) in self.nodes[dl as usize].downloads.iter().enumerate() {
            if p.conn == conn && tail.is_none_or(|(id, _)| p.part > id) {
                tail = Some((p.part, k));
            }
        }
        tail.map(|t| t.1)
    }

    /// Counts part `p`, waiting (not yet served), in its link's queue record.
    #[inline]
    pub(super) fn enqueue(&mut self, sim: &Sim, dl: NodeId, p: &Part) {
        if self.blocks() {
            debug_assert_eq!(p.flow, NONE);
            let n = self.part_blocks(sim, p);
            let q = self.lbase(dl) + p.pos as usize;
            self.queues[q].waiting += n;
        }
    }

    /// Takes part `p` (as it stands in the list, before its removal or change)
    /// out of its link's queue record.
    #[inline]
    pub(super) fn unqueue(&mut self, sim: &Sim, dl: NodeId, p: &Part) {
        if self.blocks() {
            let q = self.lbase(dl) + p.pos as usize;
            if p.flow != NONE {
                debug_assert_eq!(self.queues[q].flow, p.flow);
                self.queues[q].flow = NONE;
            } else {
                let n = self.part_blocks(sim, p);
                self.queues[q].waiting -= n;
            }
        }
    }

    /// A chunk `dl` has started, `ul` has, with bytes nobody was asked for: the
    /// lowest such chunk and those bytes (from the record of started chunks,
    /// started.rs). A chunk partly received with nothing asked counts whatever its
    /// rest.
    fn started_free(
        &mut self,
        sim: &Sim,
        dl: NodeId,
        ul: NodeId,
        fast_only: bool,
    ) -> Option<(u32, f64)> {
        self.refresh_started(sim, dl);
        if fast_only && self.fast.is_empty() {
            return None;
        }
        let w = self.words;
        let (free, idle, ul_has) = (
            Self::row(&self.started_free, w, dl),
            Self::row(&self.started_idle, w, dl),
            Self::row(&self.have, w, ul),
        );
        for i in 0..w {
            let mut x = (free[i] | idle[i]) & ul_has[i];
            if fast_only {
                x &= self.fast[dl as usize * w + i];
            }
            if x != 0 {
                let c = (i * 64) as u32 + x.trailing_zeros();
                return Some((c, self.started_free_of(dl, c)));
            }
        }
        None
    }

    /// Bytes of chunk `c` at `dl` neither received nor asked of anyone (a group of
    /// an original and its end-game duplicates counted once, at its most; groups
    /// summed in the order of their first part in the list).
    fn free_of(&mut self, sim: &Sim, dl: NodeId, c: u32) -> f64 {
        let mut d = std::mem::take(&mut self.scratch.open);
        d.clear();
        d.extend(
            self.nodes[dl as usize]
                .downloads
                .iter()
                .filter(|p| p.chunk == c)
                .map(|p| (p.chunk, p.part, p.bytes - p.credited)),
        );
        let mut asked = 0.0;
        for (k, p) in d.iter().enumerate() {
            if d[..k].iter().any(|q| q.1 == p.1) {
                continue;
            }
            asked += d[k..]
                .iter()
                .filter(|q| q.1 == p.1)
                .map(|q| q.2)
                .fold(0.0, f64::max);
        }
        self.scratch.open = d;
        sim.chunk_size(c) as f64 - self.received(dl, c) - asked
    }

    /// What `dl` asks of `ul` over `conn` with `room` bytes of queue free, `last`
    /// the chunk of the connection's last request; only chunks of `dl`'s
    /// allowed-fast set if `fast_only` (`ul` chokes it).
    fn choose_blocks(
        &mut self,
        sim: &mut Sim,
        (dl, ul, conn): (NodeId, NodeId, u32),
        room: f64,
        last: Option<u32>,
        fast_only: bool,
    ) -> Option<(Ask, f64)> {
        // By rarity (`started_chunks = "by-rarity"`, partials.rs); finding nothing
        // there, the default order below finds nothing either, and the end game
        // follows. A choked connection asks only for allowed-fast chunks, in the
        // default order below.
        if !fast_only
            && self.started_by_rarity(dl)
            && let Some(ask) = self.choose_by_rarity(sim, dl, ul, room, last)
        {
            return Some(ask);
        }
        // More blocks of the chunk the connection is on, then of another chunk
        // already started, nobody asked for them yet.
        if let Some(c) = last.filter(|&c| !fast_only || self.is_fast(dl, c)) {
            let free = self.free_of(sim, dl, c);
            if free > 0.5 {
                return Some((Ask::New(c), free.min(room)));
            }
        }
        if let Some((c, free)) = self.started_free(sim, dl, ul, fast_only) {
            return Some((Ask::New(c), free.min(room)));
        }
        if let Some(Ask::New(c)) = self.choose_new(sim, dl, ul, fast_only) {
            debug_assert!(!self.is_pending(dl, c));
            let free = sim.chunk_size(c) as f64 - self.received(dl, c);
            return Some((Ask::New(c), free.min(room)));
        }
        // Strict end game: a busy block again only when every missing chunk is
        // being fetched and nothing is outstanding on this connection; never from
        // a neighbour that chokes us (there libtorrent's picker asks only for the
        // allowed-fast pieces and does not enter end game, `request_a_block`).
        // (The connection has parts outstanding exactly when it has a last one.)
        let busy = last.is_some();
        debug_assert_eq!(
            busy,
            self.nodes[dl as usize]
                .downloads
                .iter()
                .any(|q| q.conn == conn)
        );
        if fast_only || busy || !self.in_endgame(dl) {
            return None;
        }
        let node = &self.nodes[dl as usize];
        let groups = Groups::new(&mut self.scratch.parts, &node.downloads);
        let (have, w) = (&self.have, self.words);
        let ul_has = |c: u32| have[ul as usize * w + c as usize / 64] >> (c % 64) & 1 == 1;
        let mut n = 0u32;
        let mut choice = None;
        for (k, p) in node.downloads.iter().enumerate() {
            if groups.alone(p.part) && ul_has(p.chunk) {
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
        // Whether a part is being served on the connection (then none need start).
        let mut serving = false;
        let mut asked = false;
        self.run.clear();
        loop {
            if self.held[dl as usize] == self.chunks {
                return;
            }
            let l = self.lk(dl, i);
            // A neighbour that chokes `dl` serves only its allowed-fast chunks (and
            // a free rider, which uploads nothing, none).
            let fast_only = !l.unchoked;
            if (fast_only && (self.fast.is_empty() || self.nodes[ul as usize].free_rider))
                || l.in_flight as u32 >= MAX_RUNS
            {
                break;
            }
            let busy = l.in_flight > 0;
            let (out, served) = self.queue_state(sim, dl, i);
            #[cfg(debug_assertions)]
            {
                let (o, r) = self.queue_state_scanned(sim, dl, conn);
                debug_assert_eq!(out, o);
                debug_assert_eq!(served.map(f64::to_bits), r.map(f64::to_bits));
            }
            serving = served.is_some();
            let chunk = sim.chunk_size(0) as f64;
            let (depth, run_len) = self.queue_depth(dl, i, served.unwrap_or(0.0), chunk);
            // Adjacent runs (`whole_pieces_rule`): a pick happens only below the
            // depth and returns whole chunks, the picked one's run asked in order
            // (`request_a_block` picks `prefer_contiguous_blocks`, whole pieces
            // "possibly more blocks than we requested").
            let runs = run_len >= 1
                && !fast_only
                && self.cfg.whole_pieces_rule == WholePiecesRule::AdjacentRuns;
            let next = if runs { self.next_in_run(dl, ul) } else { None };
            if out >= depth && next.is_none() {
                break;
            }
            let room = if runs {
                depth.saturating_sub(out).max(whole_blocks(chunk / b)) as f64 * b
            } else {
                (depth - out) as f64 * b
            };
            let tail = self.conn_tail(dl, conn, busy);
            let last = tail.map(|k| self.nodes[dl as usize].downloads[k].chunk);
            let pick = match next {
                Some(k) => Some((Ask::New(k), sim.chunk_size(k) as f64)),
                None => self.choose_blocks(sim, (dl, ul, conn), room, last, fast_only),
            };
            let Some((mut ask, mut bytes)) = pick else {
                break;
            };
            if runs
                && next.is_none()
                && let Ask::New(c) = ask
                && self.free_for_run(dl, ul, c)
            {
                let (start, end) = self.expand_run(dl, ul, c, run_len);
                self.run.clear();
                self.run.extend((start..end).rev().filter(|&k| k != start));
                ask = Ask::New(start);
                bytes = sim.chunk_size(start) as f64;
            }
            asked = true;
            let (chunk, part, bytes) = match ask {
                Ask::New(c) => {
                    if !self.is_pending(dl, c) {
                        Self::set_bit(&mut self.pending, self.words, dl, c, true);
                        self.nodes[dl as usize].pending_count += 1;
                    }
                    // More of the chunk at the tail of the queue lengthens that run
                    // (the stream being served, if it is that one).
                    if let Some(k) = tail {
                        let t = self.nodes[dl as usize].downloads[k];
                        // (A stream being served grows only without latency, where the
                        // request reaches it at once, and not while end-game copies of
                        // it are coming from elsewhere.)
                        let alone = t.flow == NONE
                            || (self.delay(dl, ul) <= 0.0
                                && !self.nodes[dl as usize]
                                    .downloads
                                    .iter()
                                    .any(|q| q.part == t.part && q.conn != conn));
                        if t.chunk == c && alone {
                            if t.flow != NONE {
                                sim.grow_transfer(t.flow, bytes);
                            } else {
                                self.unqueue(sim, dl, &t);
                            }
                            self.nodes[dl as usize].downloads[k].bytes += bytes;
                            self.parts_changed(dl, c);
                            if t.flow == NONE {
                                let t = self.nodes[dl as usize].downloads[k];
                                self.enqueue(sim, dl, &t);
                            }
                            continue;
                        }
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
            let entry = self.send_request(sim, (dl, ul, conn, i), chunk, part, bytes);
            self.enqueue(sim, dl, &entry);
            self.nodes[dl as usize].downloads.push(entry);
            self.parts_changed(dl, chunk);
            serving = false;
        }
        if asked && self.idle_rule() {
            let q = self.lbase(dl) + i as usize;
            self.ticks[q].asked = sim.now.as_secs_f64();
        }
        if !serving {
            self.serve_next(sim, dl, i);
        }
    }

    /// Whether a top-up of `dl`'s busy connection at link position `i` (one whose
    /// uploader unchokes `dl`) would find nothing to add: every chunk `dl` lacks is
    /// requested (so the picker has nothing new, and the strict end game does not
    /// duplicate on a busy connection) and no started chunk has bytes nobody was
    /// asked for. Its part being served goes on, so the top-up would change
    /// nothing: a retry of every link skips it without reading its queue record.
    pub(super) fn nothing_to_add(&mut self, sim: &Sim, dl: NodeId, i: u32) -> bool {
        let n = dl as usize;
        if self.held[n] + self.nodes[n].pending_count < self.chunks {
            return false;
        }
        self.refresh_started(sim, dl);
        let w = self.words;
        let none = Self::row(&self.started_free, w, dl)
            .iter()
            .zip(Self::row(&self.started_idle, w, dl))
            .all(|(f, d)| f | d == 0);
        #[cfg(debug_assertions)]
        if none {
            // What the top-up would read: the connection's last chunk has nothing
            // free either, and a part is being served (or none can start).
            let l = *self.lk(dl, i);
            debug_assert!(l.unchoked && l.in_flight > 0);
            let tail = self
                .conn_tail(dl, l.conn, true)
                .expect("a busy link has a last part");
            let c = self.nodes[n].downloads[tail].chunk;
            debug_assert!(self.free_of(sim, dl, c) <= 0.5);
            let q = self.lbase(dl) + i as usize;
            debug_assert!(
                self.queues[q].flow != NONE
                    || !self.nodes[n]
                        .downloads
                        .iter()
                        .any(|p| p.conn == l.conn && p.arrived)
            );
        }
        #[cfg(not(debug_assertions))]
        let _ = i;
        none
    }

    /// If nothing is being served over `dl`'s link at position `i`, the uploader
    /// starts on the oldest request that reached it.
    pub(super) fn serve_next(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
        let l = *self.lk(dl, i);
        let q = self.lbase(dl) + i as usize;
        if self.queues[q].flow != NONE || l.in_flight == 0 {
            return;
        }
        let node = &self.nodes[dl as usize];
        debug_assert!(
            !node
                .downloads
                .iter()
                .any(|p| p.conn == l.conn && p.flow != NONE)
        );
        let mut next: Option<(u32, usize)> = None;
        for (k, p) in node.downloads.iter().enumerate() {
            if p.conn == l.conn && p.arrived && next.is_none_or(|(id, _)| p.part < id) {
                next = Some((p.part, k));
            }
        }
        let Some((_, k)) = next else {
            return;
        };
        let p = node.downloads[k];
        debug_assert!((l.unchoked || self.is_fast(dl, p.chunk)) && !self.has(dl, p.chunk));
        self.unqueue(sim, dl, &p);
        let f = sim.start_transfer_bytes(l.other, dl, p.chunk, p.bytes);
        self.nodes[dl as usize].downloads[k].flow = f;
        let e = &mut self.queues[q];
        e.flow = f;
        e.started = sim.now.as_secs_f64();
    }

    /// A part of `dl`'s over its link at position `i` of `bytes` finished being
    /// served now: the connection's rate estimate becomes its mean rate.
    pub(super) fn note_served(&mut self, sim: &Sim, dl: NodeId, i: u32, bytes: f64) {
        let now = sim.now.as_secs_f64();
        let q = self.lbase(dl) + i as usize;
        let e = &mut self.queues[q];
        if now > e.started {
            e.rate = bytes / (now - e.started);
        }
    }

    /// Whether the queue follows libtorrent's averaged download rate
    /// (`request_rate = "ewma-5s"`, under the block pipeline).
    #[inline(always)]
    pub(super) fn ewma_rate(&self) -> bool {
        self.blocks() && self.cfg.request_rate == RequestRate::Ewma5s
    }

    /// Whether idle connections ask again only at libtorrent's triggers
    /// (`idle_retry = "every-5s"`, under the block pipeline).
    #[inline(always)]
    pub(super) fn idle_rule(&self) -> bool {
        self.blocks() && self.cfg.idle_retry == IdleRetry::Every5s
    }

    /// Whether leechers tick once a second ([`Self::tick`]) and the link slots
    /// keep a [`TickRec`].
    #[inline(always)]
    pub(super) fn ticking(&self) -> bool {
        self.ewma_rate() || self.idle_rule()
    }

    /// `bytes` that `dl` received over its link at position `i` were credited (a
    /// part's flow ended or was cancelled): counted towards the link's next rate
    /// sample.
    #[inline]
    pub(super) fn note_received(&mut self, dl: NodeId, i: u32, bytes: f64) {
        let q = self.lbase(dl) + i as usize;
        self.ticks[q].got += bytes;
    }

    /// `dl` requests over its link at position `i` at an event that libtorrent
    /// does not request at when the connection has nothing requested
    /// (`idle_retry = "every-5s"`: then only a busy connection tops up here).
    pub(super) fn wake(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
        if self.idle_rule() && self.lk(dl, i).in_flight == 0 {
            return;
        }
        self.try_request(sim, dl, i);
    }

    /// Whether `m` was interested in `u` before `u` got chunk `c` (`u` has a chunk
    /// other than `c` that `m` lacks).
    pub(super) fn interested_but(&self, m: NodeId, u: NodeId, c: u32) -> bool {
        let w = self.words;
        let (rm, ru) = (
            &self.have[m as usize * w..][..w],
            &self.have[u as usize * w..][..w],
        );
        rm.iter().zip(ru).enumerate().any(|(k, (x, y))| {
            let mask = if k == c as usize / 64 {
                !(1u64 << (c % 64))
            } else {
                !0
            };
            y & !x & mask != 0
        })
    }

    /// Node `n`'s once-a-second tick, while it is a leecher.
    ///
    /// `request_rate = "ewma-5s"`: each link's bytes received in the last second
    /// (those credited plus what the part being served delivered so far) enter
    /// `rate = 4/5 rate + 1/5 sample`, as libtorrent 2.0.8's
    /// `stat_channel::second_tick` (src/stat.cpp), called from
    /// `peer_connection::second_tick` once a session tick (src/peer_connection.cpp),
    /// does for `download_payload_rate()`; its integer truncation is not modelled.
    ///
    /// `idle_retry = "every-5s"`: a connection whose uploader unchokes `n`, which
    /// `n` is interested in and has nothing requested on, asks again if its last
    /// request (or retry, or the connection's opening) was at least 5 s ago
    /// (`peer_connection::second_tick`: `m_endgame_mode && m_interesting`, both
    /// queues empty, `now - 5 s >= m_last_request`).
    pub(super) fn tick(&mut self, sim: &mut Sim, n: NodeId) {
        if !self.present[n as usize] || self.nodes[n as usize].complete {
            return;
        }
        let now = sim.now;
        let (lb, d) = (self.lbase(n), self.deg[n as usize] as usize);
        if self.ewma_rate() {
            for q in lb..lb + d {
                let f = self.queues[q].flow;
                let r = &mut self.ticks[q];
                let mut total = r.got;
                if f != NONE {
                    total += sim.network().delivered(f, now);
                }
                r.avg = 0.8 * r.avg + 0.2 * (total - r.seen);
                r.seen = total;
            }
        }
        if self.idle_rule() {
            let t = now.as_secs_f64();
            // Requests open or close no connection, so the links stay where they are.
            for i in 0..d as u32 {
                let l = *self.lk(n, i);
                if !l.unchoked || l.in_flight != 0 || !self.interested(n, l.other) {
                    continue;
                }
                let r = &mut self.ticks[lb + i as usize];
                if t - r.asked >= 5.0 - 1e-9 {
                    r.asked = t;
                    self.try_request(sim, n, i);
                }
            }
        }
        let at = sim.after(1.0);
        sim.set_timer(at, BtTimer::Tick { node: n });
    }
}

/// `ceil(x)` for `x > 0` as a count, 0 otherwise (without a call to `ceil`).
#[inline(always)]
fn whole_blocks(x: f64) -> u64 {
    if x > 0.0 {
        let t = x as u64;
        t.saturating_add(u64::from((t as f64) < x))
    } else {
        0
    }
}

/// In a list sorted by [`sort_open`] of `(chunk, part, bytes)` requests, the chunk
/// at index `*k` and the bytes asked of it: each group (one part id, an original
/// and its end-game duplicates) counts once, at the most any member has left.
/// Moves `*k` past that chunk's entries.
pub(super) fn asked_of_next_chunk(open: &[(u32, u32, f64)], k: &mut usize) -> (u32, f64) {
    let c = open[*k].0;
    let mut asked = 0.0;
    while *k < open.len() && open[*k].0 == c {
        let part = open[*k].1;
        let mut most = 0.0f64;
        while *k < open.len() && open[*k].0 == c && open[*k].1 == part {
            most = most.max(open[*k].2);
            *k += 1;
        }
        asked += most;
    }
    (c, asked)
}

/// Sorts `started_free`'s list by chunk and part (entries with equal keys are
/// members of one group, read only for their maximum, so their order does not
/// matter): by insertion while the list is short, as it is outside end game.
pub(super) fn sort_open(v: &mut [(u32, u32, f64)]) {
    if v.len() > 32 {
        return v.sort_unstable_by_key(|e| (e.0, e.1));
    }
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && (v[j - 1].0, v[j - 1].1) > (x.0, x.1) {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

/// The block pipeline's record of a connection's queue at its downloader, kept in
/// the link table's block layout (moved with its link) so that a full queue is
/// recognised and a top-up sized without a pass over the downloader's parts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Queue {
    /// The flow of the part being served (`NONE`: none is).
    flow: FlowId,
    /// Blocks outstanding in the parts waiting to be served: each one's bytes not
    /// yet credited, in whole blocks.
    waiting: u64,
    /// When the part being served started, seconds.
    started: f64,
    /// Mean rate of the last part served, bytes per second (0: none yet).
    pub(super) rate: f64,
}

impl Queue {
    /// A new connection's record: nothing requested, no rate yet.
    pub(super) const EMPTY: Queue = Queue {
        flow: NONE,
        waiting: 0,
        started: 0.0,
        rate: 0.0,
    };
}

/// The per-link record of a leecher's 1-s tick (`request_rate = "ewma-5s"` or
/// `idle_retry = "every-5s"`), kept in the link table's block layout (moved with
/// its link) only when one of them is on.
#[derive(Clone, Copy, Debug)]
pub(super) struct TickRec {
    /// The averaged download rate, bytes per second.
    pub(super) avg: f64,
    /// Bytes received over the link whose flows have ended (credited).
    got: f64,
    /// Bytes received over the link up to the last rate update.
    seen: f64,
    /// When the node last asked over the link (or retried, or the connection
    /// opened), seconds.
    pub(super) asked: f64,
}

impl TickRec {
    /// A new connection's record, opened at `now` seconds.
    pub(super) fn new(now: f64) -> TickRec {
        TickRec {
            avg: 0.0,
            got: 0.0,
            seen: 0.0,
            asked: now,
        }
    }
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
