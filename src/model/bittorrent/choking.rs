//! Choking: interest changes, filling free unchoke slots, unchoking and choking a
//! neighbour, the periodic rechoke (tit-for-tat by the choker, the optimistic
//! unchoke) and the inactivity timeout checked at each rechoke.

use super::policy::{Candidate, ChokeContext, Choker, RateBased};
use super::timers::BtTimer;
use super::{BitTorrent, Link, NONE, Sim};
use crate::engine::Time;
use crate::network::NodeId;
use crate::scenario::{ChokerKind, LostInterest, OptimisticPick, SeedChoker};
use rand::Rng;

/// The sum of a rate history in `f64`, left to right from -0.0 (what
/// `Iterator::sum` gives), unrolled for the usual one or two buckets.
#[inline(always)]
fn sum_f64(x: &[f32]) -> f64 {
    match *x {
        [a] => -0.0 + a as f64,
        [a, b] => -0.0 + a as f64 + b as f64,
        _ => x.iter().fold(-0.0, |s, &v| s + v as f64),
    }
}

/// The sum of a rate history in `f32`, as [`sum_f64`].
#[inline(always)]
fn sum_f32(x: &[f32]) -> f32 {
    match *x {
        [a] => -0.0 + a,
        [a, b] => -0.0 + a + b,
        _ => x.iter().fold(-0.0, |s, &v| s + v),
    }
}

impl BitTorrent {
    /// Regular unchoke slots per node.
    pub(super) fn slots(&self) -> u32 {
        self.cfg.unchoke_slots
    }

    /// The choker node `n` uses now (the seed choker once it is complete).
    pub(super) fn choker_for(&mut self, n: NodeId) -> &mut Box<dyn Choker> {
        if self.nodes[n as usize].complete {
            &mut self.seed_choker
        } else {
            &mut self.leech_choker
        }
    }

    /// [`Self::choker_for`], read-only.
    pub(super) fn choker_for_ref(&self, n: NodeId) -> &dyn Choker {
        if self.nodes[n as usize].complete {
            &*self.seed_choker
        } else {
            &*self.leech_choker
        }
    }

    /// The regular unchokes node `n` may hold between its rechokes, by the choker
    /// it uses now ([`Choker::slots_between_rechokes`]; `u32::MAX`: no limit).
    pub(super) fn slot_limit(&self, n: NodeId) -> u32 {
        if self.cfg.choker == ChokerKind::RateBased {
            // libtorrent's preemptive unchoke is off under `rate_based_choker`
            // (`session_impl::preemptive_unchoke`, src/session_impl.cpp, 2.0.8), for
            // seeds as for leechers: the slot count is one session-wide setting.
            return 0;
        }
        self.choker_for_ref(n)
            .slots_between_rechokes(self.slots())
            .unwrap_or(u32::MAX)
    }

    /// Whether `n` may unchoke one more neighbour now: it is no free rider and has
    /// fewer regular unchokes than `limit` (its [`Self::slot_limit`], passed in so
    /// that loops can look it up once).
    pub(super) fn can_unchoke(&self, n: NodeId, limit: u32) -> bool {
        let u = &self.nodes[n as usize];
        !u.free_rider && u.regular < limit
    }

    /// `dl` became interested in the other end `ul` of its link at position `i`: it
    /// requests if `ul` unchokes it, otherwise `ul` unchokes it if it has a free slot
    /// (and, still choked, `dl` asks for its allowed-fast chunks).
    pub(super) fn became_interested(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
        let l = *self.lk(dl, i);
        if !l.unchoked {
            let ul = l.other;
            if self.can_unchoke(ul, self.slot_limit(ul)) {
                self.unchoke(sim, ul, l.peer, false);
            } else if !self.fast.is_empty() {
                self.try_request(sim, dl, i);
            }
        } else {
            self.try_request(sim, dl, i);
        }
    }

    /// The other end of `ul`'s link at position `i` lost interest in `ul`, which
    /// unchokes it: what `ul` does follows `lost_interest` (each client's rule, with
    /// its source, at [`LostInterest`]).
    pub(super) fn became_uninterested(&mut self, sim: &mut Sim, ul: NodeId, i: u32) {
        let l = *self.lk(ul, i);
        if !l.unchoking {
            return;
        }
        // Mainline's seed rule counts its new unchokes per periodic rechoke
        // (`_rechoke_seed`); between them it only refills (`force_new_unchokes`
        // false), which the refill does.
        let mainline_seed =
            self.nodes[ul as usize].complete && self.cfg.seed_choker == SeedChoker::Mainline;
        let rule = match self.cfg.lost_interest {
            LostInterest::Rechoke | LostInterest::NextTick if mainline_seed => LostInterest::Refill,
            r => r,
        };
        match rule {
            LostInterest::Refill => {
                self.choke(sim, ul, i);
                self.fill_slots(sim, ul);
            }
            LostInterest::NextTick => {
                self.choke(sim, ul, i);
                self.trigger_rechoke(sim, ul, l.optimistic);
            }
            LostInterest::Rechoke => {
                self.choke(sim, ul, i);
                self.choose_unchokes(sim, ul, false);
            }
            // The neighbour stays unchoked (it requests nothing) until the next
            // periodic rechoke, which chokes it (it is no candidate).
            LostInterest::NextRechoke => {}
        }
    }

    /// Sets node `n`'s rechoke between the periodic ones at its next whole second
    /// of virtual time (libtorrent's `trigger_unchoke`: the unchoke countdown set to
    /// 0, acted on by the next 1-s `session_impl::on_tick`), once however many
    /// neighbours lose interest before it; `new_optimistic`: the optimistic unchoke
    /// was lost, so that rechoke picks a new one (`trigger_optimistic_unchoke`).
    fn trigger_rechoke(&mut self, sim: &mut Sim, n: NodeId, new_optimistic: bool) {
        let node = &mut self.nodes[n as usize];
        if let Some(o) = &mut node.trigger {
            *o |= new_optimistic;
            return;
        }
        node.trigger = Some(new_optimistic);
        const SEC: u64 = 1_000_000_000;
        let at = Time((sim.now.0 / SEC).saturating_add(1).saturating_mul(SEC));
        sim.set_timer(at, BtTimer::Trigger { node: n });
    }

    /// Unchokes interested neighbours of `n` while it has free regular slots (by the
    /// rate they uploaded to `n`, then by node id).
    pub(super) fn fill_slots(&mut self, sim: &mut Sim, n: NodeId) {
        if self.nodes[n as usize].free_rider || !self.present[n as usize] {
            return;
        }
        let limit = self.slot_limit(n);
        loop {
            if self.nodes[n as usize].regular >= limit {
                return;
            }
            let mut best: Option<(f32, NodeId, u32)> = None;
            let (b, width) = (self.buckets, 2 * self.buckets);
            let (bits, links, rates, want) = self.links_and_rates(n);
            // The links whose `want` bit is set, in link order.
            for (wi, word) in want.iter_mut().enumerate() {
                let mut set = *word;
                while set != 0 {
                    let i = wi * 64 + set.trailing_zeros() as usize;
                    set &= set - 1;
                    let l = &links[i];
                    let m = l.other;
                    if l.unchoking {
                        continue;
                    }
                    let r = sum_f32(&rates[i * width..][..b]);
                    // Interest (the costly test) only for a neighbour that would beat
                    // the best so far: the same choice as testing every one.
                    if best.is_none_or(|(br, bm, _)| r > br || (r == br && m < bm)) {
                        if bits.interested(m, n) {
                            best = Some((r, m, i as u32));
                        } else {
                            *word &= !(1 << (i % 64));
                        }
                    }
                }
            }
            match best {
                Some((_, _, i)) => self.unchoke(sim, n, i, false),
                None => return,
            }
        }
    }

    /// `ul` unchokes the other end of its link at position `i`, which then requests.
    pub(super) fn unchoke(&mut self, sim: &mut Sim, ul: NodeId, i: u32, optimistic: bool) {
        debug_assert!(!self.lk(ul, i).unchoking);
        self.set_choking(ul, i, false);
        let l = self.lk_mut(ul, i);
        l.optimistic = optimistic;
        let (dl, pd, conn) = (l.other, l.peer, l.conn);
        if self.track_history {
            let k = self.lbase(ul) + i as usize;
            let h = &mut self.history[k];
            h.at = sim.now.as_secs_f64();
            h.mark = h.sent;
            if optimistic {
                h.opt_at = h.at;
            }
        }
        sim.trace_choke(ul, dl, true, optimistic);
        if optimistic {
            self.nodes[ul as usize].optimistic = conn;
        } else {
            self.nodes[ul as usize].regular += 1;
        }
        self.try_request(sim, dl, pd);
    }

    /// `ul` chokes the other end of its link at position `i`; transfers on it stop,
    /// bytes are kept, except those of the other end's allowed-fast chunks, which
    /// stay queued (libtorrent's `send_choke` rejects every queued request but
    /// those, src/peer_connection.cpp).
    pub(super) fn choke(&mut self, sim: &mut Sim, ul: NodeId, i: u32) {
        let l = *self.lk(ul, i);
        if !l.unchoking {
            return;
        }
        let (dl, pd, conn, was_optimistic) = (l.other, l.peer, l.conn, l.optimistic);
        sim.trace_choke(ul, dl, false, was_optimistic);
        self.lk_mut(ul, i).optimistic = false;
        self.set_choking(ul, i, true);
        if was_optimistic {
            self.nodes[ul as usize].optimistic = NONE;
        } else {
            self.nodes[ul as usize].regular -= 1;
        }
        let mut k = 0;
        let mut any = false;
        while k < self.nodes[dl as usize].downloads.len() {
            let p = self.nodes[dl as usize].downloads[k];
            if p.conn == conn && !self.is_fast(dl, p.chunk) {
                self.stats.choke_cancels += 1;
                self.cancel_part(sim, dl, k, true);
                any = true;
            } else {
                k += 1;
            }
        }
        if any {
            self.retry_all(sim, dl);
        }
        if !self.fast.is_empty() {
            // The allowed-fast requests left are served in turn, and topped up.
            self.try_request(sim, dl, pd);
        }
    }

    /// Node `n`'s periodic rechoke: the choker picks the regular unchokes among
    /// the interested neighbours by their rates, the optimistic unchoke is kept or
    /// drawn anew, the changes are applied, the next rate period starts, and the
    /// next rechoke is scheduled.
    pub(super) fn rechoke(&mut self, sim: &mut Sim, n: NodeId) {
        if !self.present[n as usize] {
            return;
        }
        self.stats.rechokes += 1;
        if let Some(t) = &mut self.stats.trace {
            t.push((sim.now, n, "rechoke"));
        }
        let optimistic_round = self.nodes[n as usize]
            .rechokes
            .is_multiple_of(self.optimistic_every);
        self.choose_unchokes(sim, n, optimistic_round);
        self.nodes[n as usize].rechokes += 1;
        // Next rate period.
        let b = self.buckets;
        let width = 2 * b;
        let node = &mut self.nodes[n as usize];
        node.period += 1;
        let bk = node.period as usize % b;
        let (d, rb) = (self.deg[n as usize] as usize, self.rbase(n));
        for ring in self.rates[rb..rb + d * width].chunks_exact_mut(width) {
            ring[bk] = 0.0;
            ring[b + bk] = 0.0;
        }
        // With an inactivity timeout a rechoke may close idle connections, so it
        // sleeps only once no connection is left in the swarm, and not at the
        // instant the last one closed: so every node whose ticks fall at the same
        // times starts to sleep at the same tick, armed in the order in which those
        // ticks fire, and their ticks keep that order after the stretch (a node
        // that slept a tick earlier than another would be armed before it).
        let may = self.idle_checks == 0
            || (self.conns.len() == self.free_conns.len()
                && self.last_close.is_none_or(|t| t < sim.now));
        let (at, skipped) = self.next_tick(sim, self.cfg.rechoke_interval, may);
        if skipped > 0 {
            self.skip_rechokes(n, skipped);
        }
        sim.set_timer(at, BtTimer::Rechoke { node: n });
        if self.idle_checks > 0 {
            self.close_idle(sim, n);
        }
        if self.starving(sim, n) {
            self.announce(sim, n);
        }
    }

    /// Node `n` chooses its unchokes, at a periodic rechoke (which the caller
    /// counts) or between them (by `lost_interest`): the choker picks the regular
    /// ones among the interested neighbours, the optimistic unchoke is kept or, at
    /// an optimistic round (`optimistic_round`), picked anew by `optimistic_pick`,
    /// and the changes are applied.
    pub(super) fn choose_unchokes(&mut self, sim: &mut Sim, n: NodeId, optimistic_round: bool) {
        let window = self.cfg.rate_window;
        let mut cands = std::mem::take(&mut self.scratch.cands);
        // The link position of each candidate, and each link's candidate index
        // (`NONE`: not interested), so that decisions are looked up by position.
        let mut cand_link = std::mem::take(&mut self.scratch.conns);
        let mut cand_at = std::mem::take(&mut self.scratch.cand_of);
        let mut out = std::mem::take(&mut self.scratch.out);
        // Positions of the links that unchoke now, then of every link whose state
        // the rechoke may change (those, the chosen and the optimistic one).
        let mut touch = std::mem::take(&mut self.scratch.touch);
        cands.clear();
        cand_link.clear();
        cand_at.clear();
        cand_at.resize(self.deg[n as usize] as usize, NONE);
        out.clear();
        touch.clear();
        self.choke_list(n, false, &mut touch);
        let (width, b) = (2 * self.buckets, self.buckets);
        {
            let (bits, links, rates, want) = self.links_and_rates(n);
            // The candidates are among the links whose `want` bit is set, in link
            // order.
            for (wi, word) in want.iter_mut().enumerate() {
                let mut set = *word;
                while set != 0 {
                    let j = set.trailing_zeros();
                    set &= set - 1;
                    let i = wi * 64 + j as usize;
                    let l = &links[i];
                    if !bits.interested(l.other, n) {
                        *word &= !(1 << j);
                        continue;
                    }
                    let (recv, sent) = rates[i * width..][..width].split_at(b);
                    cand_at[i] = cands.len() as u32;
                    cands.push(Candidate {
                        neighbour: l.other,
                        recv_rate: sum_f64(recv) / window,
                        sent_rate: sum_f64(sent) / window,
                        unchoked: l.unchoking,
                        ..Candidate::default()
                    });
                    cand_link.push(i as u32);
                }
            }
        }
        if self.track_history {
            self.fill_history(sim, n, &mut cands, &cand_link);
        }
        let node = &self.nodes[n as usize];
        let free_rider = node.free_rider;
        let slots = self.slots() as usize;
        let complete = node.complete;
        let mut state = if complete {
            node.seed_state
        } else {
            node.leech_state
        };
        let round = node.rechokes;
        let (rate_based, interval) = (
            self.cfg.choker == ChokerKind::RateBased,
            self.cfg.rechoke_interval,
        );
        let seed_choker = self.cfg.seed_choker;
        let choker = self.choker_for(n);
        let uses_optimistic = choker.uses_optimistic();
        // Under libtorrent's `rate_based_choker` the slot count is session-wide and
        // so also a seed's (`recalculate_unchoke_slots`, src/session_impl.cpp, 2.0.8):
        // count + 1 unchokes, one of them the optimistic one. A seed choker without
        // an optimistic unchoke gets all count + 1 as its slots (mainline's seed rule
        // adds the one itself).
        let slots = if complete && rate_based {
            let count = RateBased { interval }.slots(&cands);
            if uses_optimistic || seed_choker == SeedChoker::Mainline {
                count
            } else {
                count + 1
            }
        } else {
            slots
        };
        if !free_rider {
            let mut cx = ChokeContext {
                node: n,
                now: sim.now,
                round,
                rng: &mut sim.rng,
                state: &mut state,
            };
            choker.choose(&mut cx, &cands, slots, &mut out);
        }
        let node = &mut self.nodes[n as usize];
        if complete {
            node.seed_state = state;
        } else {
            node.leech_state = state;
        }
        let mut unchoke = std::mem::take(&mut self.scratch.unchoke);
        unchoke.clear();
        unchoke.resize(cands.len(), false);
        for &i in &out {
            unchoke[i] = true;
        }
        // Whether the link at position `i` is a candidate chosen as a regular unchoke.
        let regular = |i: usize| cand_at[i] != NONE && unchoke[cand_at[i] as usize];
        // Optimistic unchoke (a link position): keep the current one between
        // optimistic rounds.
        let mut opt = usize::MAX;
        if uses_optimistic && !free_rider && self.cfg.optimistic_pick == OptimisticPick::List {
            opt = self.list_optimistic(sim, n, &cands, &cand_link, &unchoke, optimistic_round);
        } else if uses_optimistic && !free_rider {
            let cur = self.nodes[n as usize].optimistic;
            if !optimistic_round {
                // Between optimistic rounds the optimistic unchoke stays while its
                // peer is still interested and not among the regular unchokes.
                if cur != NONE {
                    let i = self.pos_of(cur, n) as usize;
                    if cand_at[i] != NONE && !regular(i) {
                        opt = i;
                    }
                }
            } else {
                let lb = self.lbase(n);
                let choked = &mut self.scratch.choked;
                choked.clear();
                choked.extend((0..cands.len()).filter(|&i| !unchoke[i]));
                if !choked.is_empty() {
                    let k = match self.cfg.optimistic_pick {
                        OptimisticPick::Oldest => {
                            // The oldest last optimistic unchoke; ties (never, say)
                            // in link order, the first kept.
                            let history = &self.history;
                            let at = |k: usize| history[lb + cand_link[choked[k]] as usize].opt_at;
                            (1..choked.len()).fold(0, |b, k| if at(k) < at(b) { k } else { b })
                        }
                        _ => sim.rng.random_range(0..choked.len()),
                    };
                    opt = cand_link[choked[k]] as usize;
                    self.stats.optimistic_unchokes += 1;
                    if let Some(t) = &mut self.stats.trace {
                        t.push((sim.now, n, "optimistic"));
                    }
                }
            }
        }
        // Apply: choke first (frees slots), then unchoke. Neither opens nor closes a
        // connection, so `n`'s links keep their order (and positions); each is
        // re-read because earlier steps change the choke flags. Only links that
        // unchoke now or are chosen can change: both loops visit just those, in
        // link order (as a walk over all links would), the first loop every such
        // link, the second the chosen ones.
        let mut keep: Vec<u32> = std::mem::take(&mut self.scratch.keep);
        keep.clear();
        keep.extend(out.iter().map(|&k| cand_link[k]));
        if opt != usize::MAX {
            keep.push(opt as u32);
        }
        keep.sort_unstable();
        keep.dedup();
        touch.extend_from_slice(&keep);
        touch.sort_unstable();
        touch.dedup();
        for &i in &touch {
            let Link {
                conn: c,
                unchoking,
                optimistic,
                ..
            } = *self.lk(n, i);
            let i = i as usize;
            let kept = regular(i) || i == opt;
            if !kept {
                if unchoking {
                    self.choke(sim, n, i as u32);
                }
            } else if i != opt && optimistic {
                // A former optimistic unchoke promoted to a regular one.
                sim.trace_choke_kind(n, self.lk(n, i as u32).other, false);
                self.lk_mut(n, i as u32).optimistic = false;
                self.nodes[n as usize].optimistic = NONE;
                self.nodes[n as usize].regular += 1;
            } else if i == opt && unchoking && !optimistic {
                // A regular unchoke that becomes the optimistic one.
                sim.trace_choke_kind(n, self.lk(n, i as u32).other, true);
                if self.track_history {
                    let k = self.lbase(n) + i;
                    self.history[k].opt_at = sim.now.as_secs_f64();
                }
                self.lk_mut(n, i as u32).optimistic = true;
                self.nodes[n as usize].regular -= 1;
                self.nodes[n as usize].optimistic = c;
            }
        }
        for &i in &keep {
            if self.lk(n, i).unchoking {
                continue;
            }
            let i = i as usize;
            if regular(i) {
                self.unchoke(sim, n, i as u32, false);
            } else if i == opt {
                self.unchoke(sim, n, i as u32, true);
            }
        }
        self.scratch.keep = keep;
        self.scratch.touch = touch;
        self.scratch.cand_of = cand_at;
        self.scratch.cands = cands;
        self.scratch.conns = cand_link;
        self.scratch.out = out;
        self.scratch.unchoke = unchoke;
    }

    /// Mainline 4.0.1's optimistic unchoke (`Choker._round_robin`, `_rechoke`,
    /// BitTorrent/Choker.py): at an optimistic round the list (`n`'s `opt_list`) is
    /// first rotated to start at the first candidate in list order that was choked
    /// before this rechoke; then, at every rechoke, the optimistic unchoke is the
    /// first candidate in list order not chosen as a regular unchoke (`unchoke`).
    /// Returns its link position (`usize::MAX`: none). Mainline also unchokes the
    /// uninterested peers met before it in the list; swarmsim's unchokes go to
    /// interested neighbours only.
    fn list_optimistic(
        &mut self,
        sim: &Sim,
        n: NodeId,
        cands: &[Candidate],
        cand_link: &[u32],
        unchoke: &[bool],
        optimistic_round: bool,
    ) -> usize {
        // The first candidate in list order (by neighbour id from the list's start,
        // wrapping around) that `want` accepts.
        let first = |start: NodeId, want: &dyn Fn(usize) -> bool| {
            (0..cands.len())
                .filter(|&k| want(k))
                .min_by_key(|&k| (cands[k].neighbour < start, cands[k].neighbour))
        };
        let start = self.nodes[n as usize].opt_list;
        if optimistic_round && let Some(k) = first(start, &|k| !cands[k].unchoked) {
            self.nodes[n as usize].opt_list = cands[k].neighbour;
        }
        let start = self.nodes[n as usize].opt_list;
        let Some(k) = first(start, &|k| !unchoke[k]) else {
            return usize::MAX;
        };
        let i = cand_link[k] as usize;
        if self.nodes[n as usize].optimistic != self.lk(n, i as u32).conn {
            self.stats.optimistic_unchokes += 1;
            if let Some(t) = &mut self.stats.trace {
                t.push((sim.now, n, "optimistic"));
            }
        }
        i
    }

    /// Fills the unchoke history of `n`'s rechoke candidates (`cands`, at link
    /// positions `at`): bytes sent this round (the current period's bucket, not
    /// yet cleared), since the unchoke and in all, time since the last unchoke,
    /// chunks held.
    fn fill_history(&self, sim: &Sim, n: NodeId, cands: &mut [Candidate], at: &[u32]) {
        let now = sim.now.as_secs_f64();
        let (b, width) = (self.buckets, 2 * self.buckets);
        let bk = self.nodes[n as usize].period as usize % b;
        let (lb, rb) = (self.lbase(n), self.rbase(n));
        for (c, &i) in cands.iter_mut().zip(at) {
            let h = self.history[lb + i as usize];
            c.sent_round = f64::from(self.rates[rb + i as usize * width + b + bk]);
            c.sent_since_unchoke = if c.unchoked { h.sent - h.mark } else { 0.0 };
            c.since_unchoke = now - h.at;
            c.uploaded = h.sent;
            c.have = self.held[c.neighbour as usize];
        }
    }

    /// The inactivity timeout, at a rechoke of `n`: counts, on each of `n`'s links,
    /// one more consecutive rechoke with neither end interested in the other (or
    /// restarts the count), and closes the connections whose count reaches
    /// `idle_checks` (libtorrent's `inactivity_timeout`). Closing one is what a
    /// departure does to it: both ends may fill a freed slot, and a leecher left
    /// with fewer than `min_peers` neighbours announces again.
    pub(super) fn close_idle(&mut self, sim: &mut Sim, n: NodeId) {
        let mut idle = std::mem::take(&mut self.scratch.idle);
        idle.clear();
        let limit = self.idle_checks;
        {
            let (bits, links, _, _) = self.links_and_rates(n);
            for l in links.iter_mut() {
                if bits.interested(n, l.other) || bits.interested(l.other, n) {
                    l.idle = 0;
                    continue;
                }
                l.idle = l.idle.saturating_add(1);
                if l.idle >= limit {
                    idle.push(l.conn);
                }
            }
        }
        self.close_all(sim, n, &idle, "idle-close");
        self.stats.idle_closes += idle.len() as u64;
        self.scratch.idle = idle;
    }
}
