//! Requests: what a peer asks of a neighbour that unchokes it (the rest of a partly
//! received chunk, a new chunk from the piece picker, half of a part coming from
//! elsewhere, an endgame duplicate), the parts in flight, their cancellation and
//! settlement, and a finished part.

use super::policy::{AvailRow, PickContext};
use super::timers::BtTimer;
use super::{BitTorrent, NONE, Part, SERVER, Sim, Transfer};
use crate::network::{FlowId, NodeId};
use rand::Rng;

/// What a peer asks of a neighbour.
pub(super) enum Ask {
    /// A chunk nobody is sending it yet (the rest of it, if partly received).
    New(u32),
    /// Half of the largest part of a chunk already coming from elsewhere (different
    /// blocks of one piece from two peers, as BitTorrent requests 16 KiB blocks).
    Split(usize),
    /// The same bytes as a part coming from elsewhere (endgame).
    Duplicate(usize),
}

/// The part ids of a node's downloads, sorted, to tell which part is alone in its
/// group (no end-game duplicate): end-game lists can be long.
pub(super) struct Groups<'a>(&'a [u32]);

impl<'a> Groups<'a> {
    /// The groups of `parts`, sorted into the buffer `ids`.
    pub(super) fn new(ids: &'a mut Vec<u32>, parts: &[Part]) -> Groups<'a> {
        ids.clear();
        ids.extend(parts.iter().map(|q| q.part));
        ids.sort_unstable();
        Groups(ids)
    }

    /// Whether part id `part` (one of the parts') is the only part of its group.
    pub(super) fn alone(&self, part: u32) -> bool {
        let i = self.0.partition_point(|&x| x < part);
        self.0.get(i + 1) != Some(&part)
    }
}

/// BitTorrent's request size: a part is never split below two of these.
const BLOCK: f64 = 16384.0;

impl BitTorrent {
    /// `dl` requests from the other end of its link at position `i` while it may.
    pub(super) fn try_request(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
        if self.blocks() {
            return self.try_request_blocks(sim, dl, i);
        }
        // (A node is complete exactly when it holds every chunk.)
        if !self.present[dl as usize] || self.held[dl as usize] == self.chunks || dl == SERVER {
            return;
        }
        let (ul, conn) = {
            let l = self.lk(dl, i);
            (l.other, l.conn)
        };
        loop {
            if self.held[dl as usize] == self.chunks {
                return;
            }
            let l = self.lk(dl, i);
            debug_assert_eq!(l.unchoked, self.lk(ul, l.peer).unchoking);
            if l.in_flight as u32 >= self.cfg.requests_in_flight || !l.unchoked {
                return;
            }
            let Some(ask) = self.choose(sim, dl, ul, conn) else {
                return;
            };
            let (chunk, part, bytes) = match ask {
                Ask::New(c) => {
                    if !self.is_pending(dl, c) {
                        Self::set_bit(&mut self.pending, self.words, dl, c, true);
                        self.nodes[dl as usize].pending_count += 1;
                    }
                    let got = self.received(dl, c);
                    (
                        c,
                        self.new_part(dl),
                        (sim.chunk_size(c) as f64 - got).max(1e-9),
                    )
                }
                Ask::Split(k) => {
                    let p = self.nodes[dl as usize].downloads[k];
                    let left = Self::left(sim, p.flow);
                    let half = left / 2.0;
                    sim.shrink_transfer(p.flow, half);
                    self.nodes[dl as usize].downloads[k].bytes -= half;
                    self.parts_changed(dl, p.chunk);
                    self.stats.splits += 1;
                    (p.chunk, self.new_part(dl), half)
                }
                Ask::Duplicate(k) => {
                    let p = self.nodes[dl as usize].downloads[k];
                    // The duplicate fetches what the original has not reached yet.
                    self.rebase(sim, dl, p.chunk, p.part);
                    let left = Self::left(sim, p.flow);
                    (p.chunk, p.part, left)
                }
            };
            let mut entry = self.send_request(sim, (dl, ul, conn, i), chunk, part, bytes);
            if entry.arrived {
                entry.flow = sim.start_transfer_bytes(ul, dl, chunk, bytes);
            }
            self.nodes[dl as usize].downloads.push(entry);
            self.parts_changed(dl, chunk);
        }
    }

    /// Sends one request of `dl` (for `bytes` of `chunk`, as `part`) over connection
    /// `conn` to `ul`, at link position `i`: counts it in flight and returns its
    /// entry, not yet started. Without latency it has arrived; otherwise a timer
    /// delivers it after the link's delay.
    pub(super) fn send_request(
        &mut self,
        sim: &mut Sim,
        (dl, ul, conn, i): (NodeId, NodeId, u32, u32),
        chunk: u32,
        part: u32,
        bytes: f64,
    ) -> Part {
        self.add_in_flight(dl, i, 1);
        let d = self.delay(dl, ul);
        if d > 0.0 {
            let at = sim.after(d);
            sim.set_timer(at, BtTimer::Request { dl, conn, part });
            self.messages_in_flight += 1;
        }
        Part {
            flow: NONE,
            chunk,
            conn,
            pos: i,
            part,
            arrived: d <= 0.0,
            bytes,
            credited: 0.0,
        }
    }

    /// What `dl` asks of `ul`: the rest of a partly received chunk first (strict
    /// priority), then a new chunk from the piece picker, then half of a part coming
    /// from elsewhere, then (endgame) a duplicate of one.
    fn choose(&mut self, sim: &mut Sim, dl: NodeId, ul: NodeId, conn: u32) -> Option<Ask> {
        for &(c, _) in &self.nodes[dl as usize].partial {
            if self.has(ul, c) && !self.is_pending(dl, c) {
                return Some(Ask::New(c));
            }
        }
        if let Some(ask) = self.choose_new(sim, dl, ul, false) {
            return Some(ask);
        }
        self.choose_more(sim, dl, ul, conn)
    }

    /// A chunk `ul` has that `dl` lacks and has not requested, from the piece
    /// picker; only one of `dl`'s allowed-fast set if `fast_only` (libtorrent
    /// masks the neighbour's bitfield with the set, `request_a_block`,
    /// src/request_blocks.cpp).
    pub(super) fn choose_new(
        &mut self,
        sim: &mut Sim,
        dl: NodeId,
        ul: NodeId,
        fast_only: bool,
    ) -> Option<Ask> {
        // (Every chunk `dl` lacks requested, as all through end game: nothing.)
        if self.held[dl as usize] + self.nodes[dl as usize].pending_count >= self.chunks {
            return None;
        }
        let w = self.words;
        let (h_ul, h_dl, p_dl) = (
            Self::row(&self.have, w, ul),
            Self::row(&self.have, w, dl),
            Self::row(&self.pending, w, dl),
        );
        let f_dl = if fast_only {
            Self::row(&self.fast, w, dl)
        } else {
            &[][..]
        };
        let mut any = false;
        for i in 0..w {
            let mut x = h_ul[i] & !h_dl[i] & !p_dl[i];
            if fast_only {
                x &= f_dl[i];
            }
            self.scratch.words[i] = x;
            any |= x != 0;
        }
        if any {
            let base = dl as usize * self.chunks as usize;
            let cx = PickContext {
                candidates: &self.scratch.words,
                local_avail: if self.count_avail {
                    self.avail.row(base, self.chunks as usize)
                } else {
                    AvailRow::EMPTY
                },
                global_copies: &self.copies,
                have_count: self.held[dl as usize],
            };
            return self.picker.pick(&cx, &mut sim.rng).map(Ask::New);
        }
        None
    }

    /// Half of a part coming from elsewhere, or (endgame) a duplicate of one.
    fn choose_more(&mut self, sim: &mut Sim, dl: NodeId, ul: NodeId, conn: u32) -> Option<Ask> {
        // Parts of chunks `ul` has, coming from elsewhere, with no part from `ul`.
        let node = &self.nodes[dl as usize];
        // (Usually nothing is coming over `conn`: then the per-part scan is skipped.)
        let conn_busy = node.downloads.iter().any(|q| q.conn == conn);
        let (have, w) = (&self.have, self.words);
        let ul_has = |c: u32| have[ul as usize * w + c as usize / 64] >> (c % 64) & 1 == 1;
        let usable = |p: &Part| {
            p.flow != NONE
                && ul_has(p.chunk)
                && !(conn_busy
                    && node
                        .downloads
                        .iter()
                        .any(|q| q.chunk == p.chunk && q.conn == conn))
        };
        let mut best: Option<(f64, usize)> = None;
        for (k, p) in node.downloads.iter().enumerate() {
            // The cheap tests first; all are pure, so the order does not matter.
            if p.flow == NONE || !self.has(ul, p.chunk) {
                continue;
            }
            // A part's bytes bound what it has left (its flow's size, to rounding:
            // hence the margin), so a part that fails the test on that bound fails
            // it on what is left, without reading its flow.
            let bound = p.bytes * (1.0 + 1e-9);
            debug_assert!(
                Self::left(sim, p.flow) <= bound,
                "a part's rest above its bytes"
            );
            if bound < 2.0 * BLOCK || best.is_some_and(|(b, _)| bound <= b) {
                continue;
            }
            let left = Self::left(sim, p.flow);
            if left < 2.0 * BLOCK || best.is_some_and(|(b, _)| left <= b) {
                continue;
            }
            if !usable(p) || node.downloads.iter().filter(|q| q.part == p.part).count() > 1 {
                continue;
            }
            best = Some((left, k));
        }
        if let Some((_, k)) = best {
            return Some(Ask::Split(k));
        }
        // Endgame: every missing chunk is requested; ask for some bytes again.
        if !self.in_endgame(dl) {
            return None;
        }
        // A part is a candidate if usable and alone in its group.
        let alone = Groups::new(&mut self.scratch.parts, &node.downloads);
        let alone = |part| alone.alone(part);
        let mut n = 0u32;
        let mut choice = None;
        for (k, p) in node.downloads.iter().enumerate() {
            if usable(p) && alone(p.part) {
                n += 1;
                if sim.rng.random_range(0..n) == 0 {
                    choice = Some(k);
                }
            }
        }
        choice.map(Ask::Duplicate)
    }

    /// Bytes a transfer still has to deliver.
    pub(super) fn left(sim: &Sim, f: FlowId) -> f64 {
        sim.network().graph().flow(f).size - sim.network().delivered(f, sim.now)
    }

    /// A fresh part id for node `n`.
    pub(super) fn new_part(&mut self, n: NodeId) -> u32 {
        let node = &mut self.nodes[n as usize];
        node.next_part = node.next_part.wrapping_add(1);
        node.next_part
    }

    /// Bytes of chunk `c` that `n` has received in finished or cancelled parts.
    pub(super) fn received(&self, n: NodeId, c: u32) -> f64 {
        self.partly_received(n, c).unwrap_or(0.0)
    }

    /// Bytes of chunk `c` that `n` has received, if it has some (it has not
    /// acquired `c` since): one read of the dense rows under the block pipeline,
    /// a pass over `n`'s partial chunks otherwise.
    #[inline]
    pub(super) fn partly_received(&self, n: NodeId, c: u32) -> Option<f64> {
        if self.blocks() {
            let got = self.got[self.cell(n, c)];
            // (Bytes are added only when positive, and cleared on acquiring.)
            return (got > 0.0).then_some(got);
        }
        let p = &self.nodes[n as usize].partial;
        p.iter().find(|e| e.0 == c).map(|e| e.1)
    }

    /// Whether `n` is in endgame: every chunk it lacks is requested, so idle links
    /// may fetch duplicates.
    pub(super) fn in_endgame(&self, n: NodeId) -> bool {
        self.cfg.endgame
            && self.held[n as usize] + self.nodes[n as usize].pending_count >= self.chunks
    }

    /// Adds `bytes` that `dl` received over its link at position `i` to both ends'
    /// rate histories (the current period's bucket of each).
    pub(super) fn credit(&mut self, dl: NodeId, i: u32, bytes: f64) {
        let l = *self.lk(dl, i);
        debug_assert!(self.conns[l.conn as usize].alive);
        let (ul, pu, pd) = (l.other, l.peer as usize, i as usize);
        let (b, width) = (self.buckets, 2 * self.buckets);
        let bu = self.nodes[ul as usize].period as usize % b;
        let ru = self.rbase(ul) + pu * width + b + bu;
        self.rates[ru] += bytes as f32;
        if self.track_history {
            let h = self.lbase(ul) + pu;
            self.history[h].sent += bytes;
        }
        let bd = self.nodes[dl as usize].period as usize % b;
        let rd = self.rbase(dl) + pd * width + bd;
        self.rates[rd] += bytes as f32;
        if self.ewma_rate() {
            self.note_received(dl, i, bytes);
        }
    }

    /// Adds `bytes` received of chunk `c` to node `n`'s partial chunks.
    pub(super) fn add_partial(&mut self, n: NodeId, c: u32, bytes: f64) {
        if bytes <= 0.0 {
            return;
        }
        self.parts_changed(n, c);
        if self.blocks() {
            let k = self.cell(n, c);
            self.got[k] += bytes;
            return;
        }
        let p = &mut self.nodes[n as usize].partial;
        match p.iter().position(|e| e.0 == c) {
            Some(i) => p[i].1 += bytes,
            None => p.push((c, bytes)),
        }
    }

    /// Forgets node `n`'s bytes received of chunk `c` (it acquired `c`).
    pub(super) fn clear_partial(&mut self, n: NodeId, c: u32) {
        if self.blocks() {
            let k = self.cell(n, c);
            self.got[k] = 0.0;
        } else {
            self.nodes[n as usize].partial.retain(|&(pc, _)| pc != c);
        }
    }

    /// Clears `c`'s pending mark at `n` if no transfer of it is in flight to `n`.
    pub(super) fn unpend_if_idle(&mut self, n: NodeId, c: u32) {
        if self.is_pending(n, c)
            && !self.nodes[n as usize]
                .downloads
                .iter()
                .any(|p| p.chunk == c)
        {
            Self::set_bit(&mut self.pending, self.words, n, c, false);
            self.nodes[n as usize].pending_count -= 1;
        }
    }

    /// Cancels part `k` of `dl`'s downloads. Its delivered bytes are kept as received
    /// if `keep` (after a [`rebase`](Self::rebase) of its group, so that bytes a
    /// surviving duplicate has not reached yet are not lost), otherwise wasted. A
    /// chunk left with no part in flight becomes requestable again.
    pub(super) fn cancel_part(&mut self, sim: &mut Sim, dl: NodeId, k: usize, keep: bool) {
        let q = self.nodes[dl as usize].downloads[k];
        if keep && q.flow != NONE {
            self.rebase(sim, dl, q.chunk, q.part);
        }
        let p = self.nodes[dl as usize].downloads.swap_remove(k);
        self.parts_changed(dl, p.chunk);
        debug_assert!(self.conns[p.conn as usize].alive);
        self.unqueue(sim, dl, &p);
        self.add_in_flight(dl, p.pos, -1);
        if p.flow != NONE {
            let got = sim.cancel_transfer(p.flow, false);
            self.credit(dl, p.pos, got);
            let rest = got - p.credited;
            if keep {
                self.add_partial(dl, p.chunk, rest);
            } else {
                sim.add_waste(dl, rest);
            }
        }
        self.unpend_if_idle(dl, p.chunk);
    }

    /// Settles group `part` of chunk `chunk` at `dl` (an original and its endgame
    /// duplicates, fetching the same remaining `L` bytes in the same order): the node
    /// holds the first `F` of them, `F` the furthest any member got since the last
    /// settlement. `F` is added to the chunk's received bytes, the other members'
    /// progress is wasted (duplicates of bytes already held), and every member is
    /// left to fetch the same last `L - F` bytes. Called before a member is cancelled
    /// or a duplicate added, so that no received byte is lost with a cancelled member
    /// and a new duplicate starts where the group stands.
    pub(super) fn rebase(&mut self, sim: &mut Sim, dl: NodeId, chunk: u32, part: u32) {
        let now = sim.now;
        let mut furthest = 0.0f64;
        let mut progress = 0.0f64;
        let mut left = f64::INFINITY;
        for p in &self.nodes[dl as usize].downloads {
            if p.part != part || p.chunk != chunk {
                continue;
            }
            if p.flow == NONE {
                left = left.min(p.bytes);
            } else {
                let d = sim.network().delivered(p.flow, now);
                furthest = furthest.max(d - p.credited);
                progress += d - p.credited;
                left = left.min(p.bytes - d);
            }
        }
        if furthest <= 0.0 && progress <= 0.0 {
            // Nothing received since the last settlement; remaining ranges agree.
            return;
        }
        self.parts_changed(dl, chunk);
        self.add_partial(dl, chunk, furthest);
        sim.add_waste(dl, progress - furthest);
        let left = left.max(0.0);
        let len = self.nodes[dl as usize].downloads.len();
        for k in 0..len {
            let p = self.nodes[dl as usize].downloads[k];
            if p.part != part || p.chunk != chunk {
                continue;
            }
            if p.flow == NONE {
                self.unqueue(sim, dl, &p);
                self.nodes[dl as usize].downloads[k].bytes = left;
                let e = self.nodes[dl as usize].downloads[k];
                self.enqueue(sim, dl, &e);
            } else {
                let d = sim.network().delivered(p.flow, now);
                if p.bytes - d > left {
                    sim.shrink_transfer(p.flow, left);
                }
                let e = &mut self.nodes[dl as usize].downloads[k];
                e.credited = d;
                e.bytes = d + left;
            }
        }
    }

    /// `n` requests on every connection whose other end unchokes it: used after
    /// transfers to `n` were cancelled, so that what they carried is asked for
    /// elsewhere.
    pub(super) fn retry_all(&mut self, sim: &mut Sim, n: NodeId) {
        if !self.present[n as usize] || self.nodes[n as usize].complete || n == SERVER {
            return;
        }
        // Requests never open or close connections, so `n`'s list is stable here;
        // they never unchoke either, and a choke can only take a link off the list
        // (try_request then returns at once), so the links that unchoke `n` can be
        // listed first.
        let len = self.deg[n as usize];
        let mut list = std::mem::take(&mut self.scratch.retry);
        list.clear();
        self.choke_list(n, true, &mut list);
        for &i in &list {
            let l = self.lk(n, i);
            // (try_request would return at once otherwise.)
            if l.unchoked && (l.in_flight as u32) < self.cfg.requests_in_flight {
                debug_assert!(self.conns[l.conn as usize].alive);
                if l.in_flight > 0 && self.blocks() && self.nothing_to_add(sim, n, i) {
                    continue;
                }
                self.wake(sim, n, i);
            }
        }
        self.scratch.retry = list;
        debug_assert_eq!(len, self.deg[n as usize]);
    }

    /// The transfer `f` of a part to `t.dst` finished: the part is credited, its
    /// endgame duplicates cancelled, the chunk acquired if whole, and the freed
    /// links request again.
    pub(super) fn part_done(&mut self, sim: &mut Sim, f: FlowId, t: Transfer) {
        let dl = t.dst;
        let k = self.nodes[dl as usize]
            .downloads
            .iter()
            .position(|p| p.flow == f)
            .expect("a finished transfer is in its downloader's list");
        let p = self.nodes[dl as usize].downloads.swap_remove(k);
        self.parts_changed(dl, p.chunk);
        self.nodes[dl as usize].last_got = Some(sim.now);
        debug_assert_eq!(self.lk(dl, p.pos).other, t.src);
        self.add_in_flight(dl, p.pos, -1);
        if self.blocks() {
            self.unqueue(sim, dl, &p);
            self.note_served(sim, dl, p.pos, p.bytes);
        }
        self.credit(dl, p.pos, p.bytes);
        self.add_partial(dl, p.chunk, p.bytes - p.credited);
        // Endgame: the same bytes coming from elsewhere are now waste.
        let mut freed = std::mem::take(&mut self.scratch.freed);
        freed.clear();
        freed.push(p.pos);
        while let Some(j) = self.nodes[dl as usize]
            .downloads
            .iter()
            .position(|q| q.part == p.part && q.chunk == p.chunk)
        {
            let q = self.nodes[dl as usize].downloads.swap_remove(j);
            self.unqueue(sim, dl, &q);
            self.add_in_flight(dl, q.pos, -1);
            if q.flow != NONE {
                let got = sim.cancel_transfer(q.flow, false);
                sim.add_waste(dl, got - q.credited);
                self.credit(dl, q.pos, got);
            }
            self.stats.endgame_cancels += 1;
            freed.push(q.pos);
        }
        let mut gap = false;
        if !self.nodes[dl as usize]
            .downloads
            .iter()
            .any(|q| q.chunk == p.chunk)
        {
            let size = sim.chunk_size(p.chunk) as f64;
            if self.received(dl, p.chunk) >= size * (1.0 - 1e-9) {
                self.acquire(sim, dl, p.chunk);
            } else {
                // A cancelled part left a gap: the rest is requested again.
                self.unpend_if_idle(dl, p.chunk);
                gap = true;
            }
        }
        if !self.nodes[dl as usize].complete {
            // (Nothing in this event closes a connection, so the freed links are
            // where they were.)
            // (The first is the part's own link, where a block arrived; the others'
            // duplicates were cancelled, at which libtorrent does not request.)
            for (k, &i) in freed.iter().enumerate() {
                if k == 0 {
                    self.try_request(sim, dl, i);
                } else {
                    self.wake(sim, dl, i);
                }
            }
            // The other idle links (unchoked, a request slot free, nothing to ask at
            // their last try) are asked again only where this part's end can have
            // given them something: the rest of a chunk left with a gap, or (in
            // endgame) duplicates of the parts still coming. Without latency nothing
            // else can: an idle link's uploader had nothing `dl` lacks that was not
            // already requested, new requests go only to chunks that were not, and a
            // part only shrinks, so none became worth splitting since. With latency a
            // part becomes splittable when its request arrives, and a retry may see
            // a chunk whose HAVE is still travelling, so every finished part retries,
            // as it always did.
            if gap || self.any_latency || self.in_endgame(dl) {
                self.retry_all(sim, dl);
            }
        }
        self.scratch.freed = freed;
    }
}
