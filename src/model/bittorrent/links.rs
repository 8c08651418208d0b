//! Connections and the link table: every node's links in one flat table of
//! fixed-size blocks, opening (with the bitfield exchange) and closing connections,
//! and the choke flags and request counts kept in step at both ends of a link.

use super::blocks::{Queue, TickRec};
use super::{BitTorrent, Bits, Conn, Link, NONE, Sim, UnchokeRec};
use crate::model::bitset::assign128;
use crate::network::NodeId;

impl BitTorrent {
    /// The end of connection `conn` that is not `n`.
    pub(super) fn other(&self, conn: u32, n: NodeId) -> NodeId {
        let c = &self.conns[conn as usize];
        if c.ends[0] == n { c.ends[1] } else { c.ends[0] }
    }

    /// Position of `n`'s link over `conn` among its links.
    pub(super) fn pos_of(&self, conn: u32, n: NodeId) -> u32 {
        let k = &self.conns[conn as usize];
        k.pos[k.idx(n)]
    }

    /// Index in `links` of node `n`'s first link.
    #[inline(always)]
    pub(super) fn lbase(&self, n: NodeId) -> usize {
        self.block[n as usize] as usize * self.kcap
    }

    /// Node `n`'s links, in order.
    #[inline]
    pub(super) fn links_of(&self, n: NodeId) -> &[Link] {
        let d = self.deg[n as usize] as usize;
        if d == 0 {
            return &[];
        }
        let b = self.lbase(n);
        &self.links[b..b + d]
    }

    /// Node `n`'s link at position `i`.
    #[inline(always)]
    pub(super) fn lk(&self, n: NodeId, i: u32) -> &Link {
        debug_assert!(i < self.deg[n as usize]);
        &self.links[self.lbase(n) + i as usize]
    }

    /// Node `n`'s link at position `i`, to change.
    #[inline(always)]
    pub(super) fn lk_mut(&mut self, n: NodeId, i: u32) -> &mut Link {
        debug_assert!(i < self.deg[n as usize]);
        let b = self.lbase(n);
        &mut self.links[b + i as usize]
    }

    /// Appends a link at position `pos` (the current degree) to node `n`'s links.
    pub(super) fn lk_mut_new(&mut self, n: NodeId, pos: u32) -> &mut Link {
        debug_assert_eq!(pos, self.deg[n as usize]);
        debug_assert!((pos as usize) < self.kcap);
        self.deg[n as usize] += 1;
        self.lk_mut(n, pos)
    }

    /// Node `n`'s links (mutable) and their rate histories (`2 * buckets` floats
    /// each), with the bitfields for interest tests beside them and the node's
    /// `want` bits: the split borrow that slot filling and rechokes walk.
    #[inline(always)]
    pub(super) fn links_and_rates(
        &mut self,
        n: NodeId,
    ) -> (Bits<'_>, &mut [Link], &[f32], &mut [u64]) {
        let (d, lb, rb) = (self.deg[n as usize] as usize, self.lbase(n), self.rbase(n));
        let width = 2 * self.buckets;
        let bits = Bits {
            have: &self.have,
            held: &self.held,
            words: self.words,
            chunks: self.chunks,
        };
        (
            bits,
            &mut self.links[lb..lb + d],
            &self.rates[rb..rb + d * width],
            Self::row_mut(&mut self.want, self.want_words, n),
        )
    }

    /// Index in `rates` of node `n`'s first rate history.
    #[inline(always)]
    pub(super) fn rbase(&self, n: NodeId) -> usize {
        self.block[n as usize] as usize * self.kcap * 2 * self.buckets
    }

    /// Gives node `n` a block of links (on arrival; the server at the start).
    pub(super) fn take_block(&mut self, n: NodeId) {
        debug_assert_eq!(self.block[n as usize], NONE);
        let b = match self.free_blocks.pop() {
            Some(b) => b,
            None => {
                let b = self.links.len() / self.kcap;
                self.links
                    .resize(self.links.len() + self.kcap, Link::default());
                self.rates
                    .resize(self.rates.len() + self.kcap * 2 * self.buckets, 0.0);
                if self.track_history {
                    self.history.resize(self.links.len(), UnchokeRec::default());
                }
                if self.blocks() {
                    self.queues.resize(self.links.len(), Queue::EMPTY);
                }
                if self.ticking() {
                    self.ticks.resize(self.links.len(), TickRec::new(0.0));
                }
                b as u32
            }
        };
        self.block[n as usize] = b;
        self.deg[n as usize] = 0;
        debug_assert!(self.unchoked_mask.is_empty() || self.unchoked_mask[n as usize] == 0);
        debug_assert!(
            Self::row(&self.want, self.want_words, n)
                .iter()
                .all(|&w| w == 0)
        );
    }

    /// Adds `delta` to the requests `dl` has outstanding over its link at position
    /// `i` (both ends' copies).
    pub(super) fn add_in_flight(&mut self, dl: NodeId, i: u32, delta: i32) {
        let l = self.lk_mut(dl, i);
        l.in_flight = (l.in_flight as i32 + delta) as u8;
        let (ul, pu, n) = (l.other, l.peer, l.in_flight);
        let u = self.lk_mut(ul, pu);
        u.requested = (u.requested as i32 + delta) as u8;
        debug_assert_eq!(n, u.requested);
    }

    /// Records whether `ul` chokes the other end of its link at position `i`, in
    /// both ends' copies.
    pub(super) fn set_choking(&mut self, ul: NodeId, i: u32, choking: bool) {
        let l = self.lk_mut(ul, i);
        l.unchoking = !choking;
        let (dl, pd) = (l.other, l.peer);
        self.lk_mut(dl, pd).unchoked = !choking;
        if !self.unchoked_mask.is_empty() {
            assign128(&mut self.unchoking_mask[ul as usize], i, !choking);
            assign128(&mut self.unchoked_mask[dl as usize], pd, !choking);
        }
    }

    /// Pushes onto `out`, in link order, the positions of `n`'s links whose
    /// neighbour unchokes `n` (`unchoked`) or that `n` unchokes (`!unchoked`).
    pub(super) fn choke_list(&self, n: NodeId, unchoked: bool, out: &mut Vec<u32>) {
        if self.unchoked_mask.is_empty() {
            for (i, l) in self.links_of(n).iter().enumerate() {
                if if unchoked { l.unchoked } else { l.unchoking } {
                    out.push(i as u32);
                }
            }
            return;
        }
        let mut m = if unchoked {
            self.unchoked_mask[n as usize]
        } else {
            self.unchoking_mask[n as usize]
        };
        while m != 0 {
            out.push(m.trailing_zeros());
            m &= m - 1;
        }
    }

    /// Opens a connection between `a` and `b`: a link at the end of each one's
    /// list, the bitfield exchange (availability), and each end's reaction to its
    /// interest in the other.
    pub(super) fn connect(&mut self, sim: &mut Sim, a: NodeId, b: NodeId) {
        let (pa, pb) = (self.deg[a as usize], self.deg[b as usize]);
        let conn = Conn {
            ends: [a, b],
            pos: [pa, pb],
            alive: true,
        };
        let id = match self.free_conns.pop() {
            Some(id) => {
                self.conns[id as usize] = conn;
                id
            }
            None => {
                self.conns.push(conn);
                (self.conns.len() - 1) as u32
            }
        };
        let width = 2 * self.buckets;
        for (me, other, pos, peer, end) in [(a, b, pa, pb, 0), (b, a, pb, pa, 1)] {
            *self.lk_mut_new(me, pos) = Link {
                conn: id,
                other,
                peer,
                end,
                unchoking: false,
                unchoked: false,
                optimistic: false,
                in_flight: 0,
                requested: 0,
                idle: 0,
            };
            Self::set_bit(&mut self.want, self.want_words, me, pos, true);
            // (A reused slot holds a closed link's history.)
            let r = self.rbase(me) + pos as usize * width;
            self.rates[r..r + width].fill(0.0);
            if self.blocks() {
                let q = self.lbase(me) + pos as usize;
                self.queues[q] = Queue::EMPTY;
            }
            if self.ticking() {
                // (libtorrent's `m_last_request` counts from the connection's start.)
                let q = self.lbase(me) + pos as usize;
                self.ticks[q] = TickRec::new(sim.now.as_secs_f64());
            }
            if self.track_history {
                let h = self.lbase(me) + pos as usize;
                self.history[h] = UnchokeRec {
                    at: sim.now.as_secs_f64(),
                    sent: 0.0,
                    mark: 0.0,
                    opt_at: f64::NEG_INFINITY,
                };
            }
        }
        // Bitfield exchange.
        self.add_avail(a, b, 1);
        self.add_avail(b, a, 1);
        for (me, pos) in [(a, pa), (b, pb)] {
            let other = self.lk(me, pos).other;
            if self.interested(me, other) {
                self.became_interested(sim, me, pos);
            }
        }
    }

    /// Closes connection `id`: transfers over it are cancelled, availability and
    /// slots given back, both links swap-removed, and each end still present fills
    /// its slots, retries and may announce.
    pub(super) fn disconnect(&mut self, sim: &mut Sim, id: u32) {
        self.last_close = Some(sim.now);
        let [a, b] = self.conns[id as usize].ends;
        // Cancel transfers in both directions. Bytes a staying peer received are kept
        // (the blocks are whole); a leaving peer's are wasted.
        for dl in [a, b] {
            let keep = self.present[dl as usize];
            let mut k = 0;
            while k < self.nodes[dl as usize].downloads.len() {
                if self.nodes[dl as usize].downloads[k].conn == id {
                    self.cancel_part(sim, dl, k, keep);
                } else {
                    k += 1;
                }
            }
        }
        self.add_avail(a, b, -1);
        self.add_avail(b, a, -1);
        for (end, me) in [a, b].into_iter().enumerate() {
            let l = *self.lk(me, self.conns[id as usize].pos[end]);
            sim.trace_choke_closed(me, l.other, l.unchoking, l.optimistic);
            if l.unchoking && !l.optimistic {
                self.nodes[me as usize].regular -= 1;
            }
            if self.nodes[me as usize].optimistic == id {
                self.nodes[me as usize].optimistic = NONE;
            }
        }
        self.conns[id as usize].alive = false;
        let width = 2 * self.buckets;
        for (end, n) in [a, b].into_iter().enumerate() {
            let pos = self.conns[id as usize].pos[end];
            debug_assert_eq!(self.lk(n, pos).conn, id);
            // Swap-remove: the last link (and its rate history) moves into `pos`.
            let last = self.deg[n as usize] - 1;
            let (lb, rb) = (self.lbase(n), self.rbase(n));
            self.links[lb + pos as usize] = self.links[lb + last as usize];
            self.rates.copy_within(
                rb + last as usize * width..rb + (last as usize + 1) * width,
                rb + pos as usize * width,
            );
            if self.track_history {
                self.history[lb + pos as usize] = self.history[lb + last as usize];
            }
            if self.blocks() {
                self.queues[lb + pos as usize] = self.queues[lb + last as usize];
            }
            if self.ticking() {
                self.ticks[lb + pos as usize] = self.ticks[lb + last as usize];
            }
            self.deg[n as usize] = last;
            let kw = self.want_words;
            let moved = Self::row(&self.want, kw, n)[last as usize / 64] >> (last % 64) & 1 == 1;
            Self::set_bit(&mut self.want, kw, n, pos, moved);
            Self::set_bit(&mut self.want, kw, n, last, false);
            if !self.unchoked_mask.is_empty() {
                for mask in [
                    &mut self.unchoked_mask[n as usize],
                    &mut self.unchoking_mask[n as usize],
                ] {
                    let moved = *mask >> last & 1 == 1;
                    assign128(mask, pos, moved);
                    assign128(mask, last, false);
                }
            }
            if pos < last {
                // The moved link's connection, other end and parts learn its place.
                let moved = self.links[lb + pos as usize];
                self.conns[moved.conn as usize].pos[moved.end as usize] = pos;
                self.lk_mut(moved.other, moved.peer).peer = pos;
                for q in &mut self.nodes[n as usize].downloads {
                    if q.conn == moved.conn {
                        q.pos = pos;
                    }
                }
            }
        }
        self.free_conns.push(id);
        for n in [a, b] {
            if self.present[n as usize] {
                self.fill_slots(sim, n);
                self.retry_all(sim, n);
                self.maybe_reannounce(sim, n);
            }
        }
    }

    /// Closes the connections `conns` that node `n` decided to close, each with a
    /// trace entry `what` (if traced).
    pub(super) fn close_all(
        &mut self,
        sim: &mut Sim,
        n: NodeId,
        conns: &[u32],
        what: &'static str,
    ) {
        for &c in conns {
            // (Closing one connection never closes another.)
            debug_assert!(self.conns[c as usize].alive);
            self.disconnect(sim, c);
            if let Some(t) = &mut self.stats.trace {
                t.push((sim.now, n, what));
            }
        }
    }
}
