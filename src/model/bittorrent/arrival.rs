//! A chunk's arrival at a node: the bitfields, the loss of interest of the
//! neighbours it was fetching from, the availability counts of every neighbour, the
//! HAVE fan-out (a request or an unchoke where a neighbour can react, or a delayed
//! message), completion and what a new seed closes.

use super::availability::Counter;
use super::availability::Counts;
use super::timers::BtTimer;
use super::{BitTorrent, Link, NONE, SERVER, Sim, peer_of};
use crate::network::NodeId;
use crate::scenario::Seeding;
use rand_distr::{Distribution, Exp};

/// The counting pass of a chunk's arrival at `n` (see [`BitTorrent::acquire`]): the
/// inputs that do not depend on the counters' width.
struct ArrivalPass<'a> {
    links: &'a [Link],
    latency: &'a [f64],
    any_latency: bool,
    n: NodeId,
    c: u32,
    stride: usize,
    listed: bool,
    may_unchoke: bool,
    rif: u32,
    /// The allowed-fast rows (empty: none) and the words per row.
    fast: &'a [u64],
    words: usize,
}

impl ArrivalPass<'_> {
    /// Counts chunk `c` at every neighbour (rows `stride` apart) and writes into
    /// `react` the positions of the links where a reaction can follow, returning
    /// their number (none if `listed`: the caller lists them).
    #[inline(always)]
    fn run<T: Counter>(&self, avail: &mut [T], react: &mut [u32]) -> usize {
        let mut listed_to = 0;
        for (i, l) in self.links.iter().enumerate() {
            let m = l.other as usize;
            if m != SERVER as usize {
                let wrapped = avail[m * self.stride + self.c as usize].bump();
                // (A real count is at most the node's degree, which the width holds.)
                debug_assert!(self.stride == 0 || !wrapped, "availability count wrapped");
            }
            if self.listed {
                continue;
            }
            // A delayed HAVE is a timer; otherwise `m`'s reaction is a request
            // (which would return at once if every request slot of `m` to us is
            // taken) or, if we choke it, our unchoke (only with a free slot).
            let delayed = self.any_latency && self.latency[self.n as usize] + self.latency[m] > 0.0;
            // (One that we choke also requests `c` if it is in its allowed-fast set.)
            let reacts = delayed
                || if l.unchoking {
                    (l.requested as u32) < self.rif
                } else {
                    self.may_unchoke
                        || (!self.fast.is_empty()
                            && self.fast[m * self.words + self.c as usize / 64] >> (self.c % 64)
                                & 1
                                == 1)
                };
            react[listed_to] = i as u32;
            listed_to += reacts as usize;
        }
        listed_to
    }
}

impl BitTorrent {
    /// Node `n` now holds chunk `c` whole: leftovers of it are cancelled as waste,
    /// interest and availability follow, the HAVE reaches every neighbour, and the
    /// freed links request again (or the node completes).
    pub(super) fn acquire(&mut self, sim: &mut Sim, n: NodeId, c: u32) {
        Self::set_bit(&mut self.have, self.words, n, c, true);
        if self.is_pending(n, c) {
            Self::set_bit(&mut self.pending, self.words, n, c, false);
            self.nodes[n as usize].pending_count -= 1;
        }
        self.held[n as usize] += 1;
        self.clear_partial(n, c);
        self.parts_changed(n, c);
        self.copies[c as usize] += 1;
        self.completions_since_watchdog += 1;
        sim.record_chunk(peer_of(n));
        // Nothing of this chunk should still be coming; drop leftovers as waste.
        let mut freed = std::mem::take(&mut self.scratch.conns);
        freed.clear();
        let mut k = 0;
        while k < self.nodes[n as usize].downloads.len() {
            let p = self.nodes[n as usize].downloads[k];
            if p.chunk == c {
                self.nodes[n as usize].downloads.swap_remove(k);
                self.unqueue(sim, n, &p);
                if p.flow != NONE {
                    let got = sim.cancel_transfer(p.flow, false);
                    sim.add_waste(n, got - p.credited);
                    self.credit(n, p.pos, got);
                }
                self.add_in_flight(n, p.pos, -1);
                freed.push(p.pos);
            } else {
                k += 1;
            }
        }
        // Interest follows the true bitfields at once: a neighbour that has `c` and
        // nothing else we lack stops unchoking us (we were interested in it for `c`).
        // Neighbours that lack `c` now want it from us; their reaction (unchoke,
        // request) waits for the HAVE message.
        // Nothing below opens or closes a connection, so `n`'s list is stable here.
        let (w, chunks) = (self.words, self.chunks as usize);
        // Only a neighbour that unchokes us can react to our loss of interest (one
        // that chokes us has nothing to take back), so only those are tested. Such
        // a reaction (it chokes us) changes only its own link's flag, so the links
        // that unchoke us can be listed first.
        let mut react = std::mem::take(&mut self.scratch.react);
        react.clear();
        self.choke_list(n, true, &mut react);
        for &i in &react {
            let Link { other: m, peer, .. } = *self.lk(n, i);
            if self.has(m, c) && !self.interested(n, m) {
                self.became_uninterested(sim, m, peer);
            }
        }
        // Availability counts, like interest, follow the true bitfields at once (so
        // that closing a connection can subtract exactly the chunks it added); the
        // HAVE message to every neighbour carries the reaction. One pass over the
        // links updates the counts and flags and lists the links where a reaction
        // can happen; the reactions follow, in link order. That is the order of one
        // pass doing both: a reaction (a neighbour's request, or our unchoke of it)
        // changes only its own link and reads only its own neighbour's counts.
        // The counts are updated after the loss-of-interest reactions above, so a
        // pick that those trigger (a neighbour that chokes us unchokes another node,
        // which requests at once) reads counts that do not yet include `c` from us,
        // as if our HAVE had not reached it yet. That order is part of the model:
        // counting first changes the results of nearly every BitTorrent run, which
        // is also why the counts cannot simply be computed from the bitfields when a
        // pick needs them.
        let limit = self.slot_limit(n);
        // Reactions take slots and never free one, so a node with no free slot now
        // has none during the whole pass.
        let may_unchoke = self.can_unchoke(n, limit);
        let rif = self.cfg.requests_in_flight;
        react.clear();
        // Without latency or a free slot only the links we unchoke can react, and
        // their list is at hand: the pass then only counts and flags.
        let listed = !self.any_latency
            && !may_unchoke
            && !self.unchoked_mask.is_empty()
            && self.fast.is_empty();
        {
            let (d, lb) = (self.deg[n as usize] as usize, self.lbase(n));
            let links = &self.links[lb..lb + d];
            let want = Self::row_mut(&mut self.want, self.want_words, n);
            // Every link's position is written at the list's end, which moves on
            // only where the link can react (no branch on that).
            react.resize(d, 0);
            let have = &self.have;
            let (cw, cb) = (c as usize / 64, c % 64);
            let pass = ArrivalPass {
                links,
                latency: &self.latency,
                any_latency: self.any_latency,
                n,
                c,
                // (Without counts every increment lands in the one sink row: no
                // test in the loop.)
                stride: if self.count_avail { chunks } else { 0 },
                listed,
                may_unchoke,
                rif,
                fast: &self.fast,
                words: w,
            };
            // (One loop per counter width.)
            let listed_to = match &mut self.avail {
                Counts::U8(v) => pass.run(v, &mut react),
                Counts::U32(v) => pass.run(v, &mut react),
            };
            react.truncate(listed_to);
            // A neighbour that lacks `c` is interested in us now (`want`): only the
            // links whose bit is clear need the test (most bits are set). Nothing
            // reads the bits before the reactions below, so a pass of its own gives
            // what setting them in the pass above would.
            for (wi, word) in want.iter_mut().enumerate() {
                // (The bits of the `d` links there are.)
                let valid = match d.saturating_sub(wi * 64) {
                    64.. => u64::MAX,
                    k => (1 << k) - 1,
                };
                let mut clear = !*word & valid;
                while clear != 0 {
                    let j = clear.trailing_zeros();
                    clear &= clear - 1;
                    let m = links[wi * 64 + j as usize].other as usize;
                    *word |= ((have[m * w + cw] >> cb & 1) ^ 1) << j;
                }
            }
        }
        if listed {
            self.choke_list(n, false, &mut react);
            let links = &self.links[self.lbase(n)..];
            react.retain(|&i| (links[i as usize].requested as u32) < rif);
        }
        for &i in &react {
            let Link {
                conn,
                other: m,
                peer,
                unchoking,
                ..
            } = *self.lk(n, i);
            let d = if self.any_latency {
                self.delay(n, m)
            } else {
                0.0
            };
            if d > 0.0 {
                let at = sim.after(d);
                sim.set_timer(
                    at,
                    BtTimer::Have {
                        to: m,
                        conn,
                        chunk: c,
                    },
                );
                self.messages_in_flight += 1;
            } else if unchoking || self.can_unchoke(n, limit) || self.is_fast(m, c) {
                // (Read as each neighbour is reached: an unchoke takes a slot.)
                self.on_have(sim, m, peer, c);
            }
        }
        self.scratch.react = react;
        let done = self.held[n as usize] == self.chunks;
        if done {
            self.finish(sim, n);
        } else {
            // (Cancels of leftovers: libtorrent does not request at them.)
            for &i in &freed {
                self.wake(sim, n, i);
            }
        }
        self.scratch.conns = freed;
        if done && self.cfg.close_redundant {
            self.close_redundant(sim, n);
        }
    }

    /// `m` learns (HAVE) that the other end of its link at position `i` has chunk
    /// `c`: if it lacks `c` it asks to be unchoked or requests.
    pub(super) fn on_have(&mut self, sim: &mut Sim, m: NodeId, i: u32, c: u32) {
        // The sender has `c` and `m` lacks it, so `m` wants something from it.
        if !self.present[m as usize] || self.has(m, c) {
            return;
        }
        // libtorrent requests at a HAVE only if the peer was not interesting
        // before (`peer_connection::incoming_have`, src/peer_connection.cpp).
        if self.idle_rule()
            && self.lk(m, i).in_flight == 0
            && self.interested_but(m, self.lk(m, i).other, c)
        {
            return;
        }
        debug_assert!(self.interested(m, self.lk(m, i).other));
        self.became_interested(sim, m, i);
    }

    /// Node `n` has every chunk: it is recorded complete and, if it seeds for a
    /// while, its departure is scheduled.
    pub(super) fn finish(&mut self, sim: &mut Sim, n: NodeId) {
        self.nodes[n as usize].complete = true;
        let p = peer_of(n);
        sim.complete(p);
        // A new seed chooses by the seed choker from now on; its leecher unchokes stay
        // until the next rechoke.
        let stay = match self.seeding[n as usize] {
            Seeding::Never => None,
            Seeding::Fixed(t) => Some(t),
            Seeding::Exponential(mean) => Some(
                Exp::new(1.0 / mean)
                    .expect("mean checked positive")
                    .sample(&mut sim.rng),
            ),
        };
        if let Some(t) = stay {
            let at = sim.after(t);
            sim.set_timer(at, BtTimer::Depart { node: n });
        }
    }

    /// `n` has just completed: it closes its connections to seeds (the server and
    /// complete peers), where neither end can want anything again
    /// (`close_redundant`). Closing is what a departure does to a connection: the
    /// other end fills the freed unchoke slot and, a leecher no longer, never
    /// re-announces; the freed table slots take leechers that announce.
    pub(super) fn close_redundant(&mut self, sim: &mut Sim, n: NodeId) {
        let mut seeds = std::mem::take(&mut self.scratch.idle);
        seeds.clear();
        let nodes = &self.nodes;
        seeds.extend(
            self.links_of(n)
                .iter()
                .filter(|l| nodes[l.other as usize].complete)
                .map(|l| l.conn),
        );
        self.close_all(sim, n, &seeds, "redundant-close");
        self.stats.redundant_closes += seeds.len() as u64;
        self.scratch.idle = seeds;
    }
}
