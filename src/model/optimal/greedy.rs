//! The greedy mode: which peers can take a transfer, choosing the receiver and the
//! chunk, starting uploads and retrying blocked nodes.

use super::bitset::{self, ones, ones_in};
use super::{FallbackKey, LEVELS, Mode, Optimal, ReceiverKey, Taker};
#[cfg(test)]
use super::{SETTLED_FROM_OPENED, decided_in};
use crate::model::{SERVER, Sim, node_of, peer_of};
use crate::network::NodeId;
use std::cmp::Ordering;

impl Optimal {
    /// Upload capacity of `x` its current transfers cannot use, judged by each
    /// receiver's equal share of its download capacity.
    fn spare_upload(&self, sim: &Sim, x: NodeId) -> f64 {
        let g = sim.network().graph();
        let mut absorbed = 0.0;
        for &f in &g.out_flows[x as usize] {
            let d = g.flow(f).dst as usize;
            absorbed += g.down[d] / g.in_flows[d].len() as f64;
        }
        g.up[x as usize] - absorbed
    }

    /// A flow from `src` to `dst` started or ended: the peers whose side of
    /// [`Optimal::can_take`] can have changed are `dst` (its in-flows changed) and
    /// every peer `src` still sends to (its share of `src`'s upload changed).
    pub(super) fn flow_changed(&mut self, sim: &Sim, src: NodeId, dst: NodeId) {
        self.update_side(sim, peer_of(dst) as usize);
        let g = sim.network().graph();
        for &f in &g.out_flows[src as usize] {
            self.update_side(sim, peer_of(g.flow(f).dst) as usize);
        }
    }

    /// Recomputes peer `q`'s side of [`Optimal::can_take`] and its bit in
    /// `takers`.
    pub(super) fn update_side(&mut self, sim: &Sim, q: usize) {
        let (t, on) = self.side_of(sim, q);
        let old = std::mem::replace(&mut self.side[q], t);
        let (w, b) = (q / 64, q % 64);
        let was_on = self.takers[w] >> b & 1 == 1;
        let wider = (t.open && !old.open)
            || (!t.open
                && !old.open
                && (t.offered < old.offered || (old.from_server && !t.from_server)));
        if self.keep_opened && on && (!was_on || wider) {
            self.opened.push(q as u32);
        }
        if on {
            self.takers[w] |= 1 << b;
        } else {
            self.takers[w] &= !(1 << b);
        }
    }

    /// Peer `q`'s side of [`Optimal::can_take`] from the flows as they are now,
    /// the way `can_take` always computed it (same summation order), and whether
    /// it belongs in `takers`.
    fn side_of(&self, sim: &Sim, q: usize) -> (Taker, bool) {
        let g = sim.network().graph();
        let node = node_of(q as u32) as usize;
        let down = g.down[node];
        let mut t = Taker {
            open: down.is_infinite() || g.in_flows[node].is_empty(),
            offered: 0.0,
            from_server: false,
        };
        if !t.open {
            for &f in &g.in_flows[node] {
                let s = g.flow(f).src as usize;
                t.from_server |= s == SERVER as usize;
                t.offered += g.up[s] / g.out_flows[s].len() as f64;
            }
        }
        (t, self.present[q] && (t.open || t.offered < 0.95 * down))
    }

    /// Test builds: every present peer's kept side and every peer's bit equal a
    /// fresh computation, bit for bit (checked after every event by the unit and
    /// property tests). A peer's side is first computed when it arrives.
    #[cfg(test)]
    pub(super) fn assert_sides(&self, sim: &Sim) {
        for q in 0..self.n {
            let (a, (b, on)) = (self.side[q], self.side_of(sim, q));
            assert!(self.present[q] || !on);
            assert_eq!(
                self.present[q].then_some((a.open, a.offered.to_bits(), a.from_server)),
                self.present[q].then_some((b.open, b.offered.to_bits(), b.from_server)),
                "peer {q}'s side is stale"
            );
            assert_eq!(bitset::get(&self.takers, q), on, "peer {q}'s bit");
            // (`got_col` is set in one place only, with `got`: `start`.)
            let nw = self.n.div_ceil(64);
            if !self.levels.is_empty() {
                let k = (self.in_count[q] as usize).min(LEVELS);
                for l in 0..=LEVELS {
                    assert_eq!(
                        bitset::get(&self.levels[l * nw..], q),
                        l == k,
                        "peer {q}'s bit in level {l}"
                    );
                }
            }
        }
        if !self.levels.is_empty() {
            let nw = self.n.div_ceil(64);
            for l in 0..=LEVELS {
                let size: u32 = self.levels[l * nw..(l + 1) * nw]
                    .iter()
                    .map(|w| w.count_ones())
                    .sum();
                assert_eq!(size, self.level_size[l], "level {l}'s size");
            }
        }
    }

    /// The peers that may take a transfer from some node (present, and open or
    /// with room), in index order.
    fn takers(&self) -> impl Iterator<Item = usize> + '_ {
        ones(&self.takers).map(|q| q as usize)
    }

    /// True if peer `q` can take a transfer from `x`: it receives nothing yet, or the
    /// senders it has (each counted at its equal share of its upload capacity) leave
    /// more than 5 % of its download capacity unused.
    fn can_take(&self, sim: &Sim, x: NodeId, q: usize) -> bool {
        let t = &self.side[q];
        if t.open {
            return true;
        }
        let g = sim.network().graph();
        let d = g.down[node_of(q as u32) as usize];
        if t.from_server && self.server_scarce {
            // The server's upload is the bottleneck (F/u_s term): leave its transfer
            // its share, join only with a real margin.
            t.offered + 0.25 * g.up[x as usize].min(d) < 0.95 * d
        } else {
            t.offered < 0.95 * d
        }
    }

    /// The peer that should receive chunk `c` from `x`: among present peers that can
    /// take it and neither hold nor receive `c`: for a first copy, the uploading peer
    /// with the smallest relay backlog; then the one receiving fewest transfers, then
    /// critical peers, then peers that can upload, then the one needing longest at
    /// its download capacity, then the one holding fewest chunks, then the lowest
    /// index.
    ///
    /// Greedy mode, chunk held by some peer: the ranking's leading terms are the
    /// incoming transfers, then critical, then free rider, so the peers are searched
    /// in blocks of equal leading terms (`levels` and the class bitsets, against `c`'s
    /// column of `got_col`), lowest first, and the first block with a candidate
    /// holds the best one: the same peer as ranking every taker.
    fn best_receiver(&self, sim: &Sim, x: NodeId, c: usize) -> Option<usize> {
        let q = self.best_receiver_by_blocks(sim, x, c);
        // Test builds: the same peer as ranking every taker.
        #[cfg(test)]
        assert_eq!(
            q,
            self.rank_receivers(sim, x, c, self.takers()),
            "the block search disagrees with the ranking for node {x}, chunk {c}"
        );
        q
    }

    /// [`Optimal::best_receiver`] by blocks of equal leading terms.
    fn best_receiver_by_blocks(&self, sim: &Sim, x: NodeId, c: usize) -> Option<usize> {
        let first_copy = self.holders[c] == 0 && self.uploaders > 0;
        if first_copy || self.levels.is_empty() {
            return self.rank_receivers(sim, x, c, self.takers());
        }
        let nw = self.n.div_ceil(64);
        let col = &self.got_col[c * nw..(c + 1) * nw];
        if (0..nw).all(|i| self.takers[i] & !col[i] == 0) {
            return None;
        }
        for k in (0..=LEVELS).filter(|&k| self.level_size[k] > 0) {
            let level = &self.levels[k * nw..(k + 1) * nw];
            let lacking = |i: usize| self.takers[i] & level[i] & !col[i];
            if (0..nw).all(|i| lacking(i) == 0) {
                continue;
            }
            if k == LEVELS {
                // Counts above the last exact level: rank them whole.
                let q = self.rank_receivers(sim, x, c, ones_in(0..nw, lacking).map(|q| q as usize));
                #[cfg(test)]
                if q.is_some() {
                    decided_in(4);
                }
                return q;
            }
            for (_b, words) in self.class_words.iter().enumerate() {
                let mask = &self.class_bits[_b * nw..(_b + 1) * nw];
                let class = |i: usize| lacking(i) & mask[i];
                if let Some(q) = self.rank_receivers(
                    sim,
                    x,
                    c,
                    ones_in(words.clone(), class).map(|q| q as usize),
                ) {
                    #[cfg(test)]
                    decided_in(_b);
                    return Some(q);
                }
            }
        }
        None
    }

    /// [`Optimal::best_receiver`]'s ranking over the peers `cands` (takers, in
    /// increasing order).
    fn rank_receivers(
        &self,
        sim: &Sim,
        x: NodeId,
        c: usize,
        cands: impl Iterator<Item = usize>,
    ) -> Option<usize> {
        let up = &sim.network().graph().up;
        // A first copy never goes to a peer that cannot pass it on (unless none can).
        let first_copy = self.holders[c] == 0 && self.uploaders > 0;
        let mut best: Option<ReceiverKey> = None;
        for q in cands {
            let node = node_of(q as u32) as usize;
            let free_rider = up[node] <= 0.0;
            if node == x as usize
                || (first_copy && free_rider)
                || Self::bit(&self.got, self.w, q, c)
                || !self.can_take(sim, x, q)
            {
                continue;
            }
            // A first copy goes to the peer that will have relayed its backlog
            // soonest (Kumar and Ross: first copies in proportion to upload capacity).
            let relay = if first_copy {
                (self.backlog[q] + 1) as f64 / up[node]
            } else {
                0.0
            };
            let head = (relay, self.in_count[q], !self.critical[q]);
            // The need (a division) is computed only where the leading terms do not
            // already decide: the order is that of comparing whole keys.
            let lead = match &best {
                None => Ordering::Less,
                Some(b) => head
                    .0
                    .total_cmp(&b.0.0)
                    .then(head.1.cmp(&b.0.1))
                    .then(head.2.cmp(&b.0.2))
                    .then(free_rider.cmp(&b.1)),
            };
            if lead == Ordering::Greater {
                continue;
            }
            let key = (head, free_rider, self.need[q], self.have_count[q], q);
            let better = match &best {
                Some(b) if lead == Ordering::Equal => {
                    b.2.total_cmp(&key.2)
                        .then(key.3.cmp(&b.3))
                        .then(key.4.cmp(&b.4))
                        == Ordering::Less
                }
                _ => true,
            };
            if better {
                best = Some(key);
            }
        }
        best.map(|b| b.4)
    }

    /// The sequence number the next entry of `opened` gets.
    pub(super) fn seq(&self) -> usize {
        self.opened_base + self.opened.len()
    }

    /// Whether peer `q` (a taker) could receive something from `x` in
    /// [`Optimal::fallback`]: it is not `x`, can take from `x`, and lacks a chunk `x`
    /// holds (a peer that cannot upload: a chunk some peer already has, unless no
    /// peer can upload).
    fn takes_from(&self, sim: &Sim, x: NodeId, q: usize) -> bool {
        let node = node_of(q as u32) as usize;
        if node == x as usize || !self.can_take(sim, x, q) {
            return false;
        }
        let min_holders = self.min_holders(sim, node);
        (0..self.w).any(|i| {
            let mut word = self.missing_word(x, q, i, self.m);
            if min_holders == 0 {
                return word != 0;
            }
            while word != 0 {
                let c = i * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if self.holders[c] >= min_holders {
                    return true;
                }
            }
            false
        })
    }

    /// Whether [`Optimal::fallback`] finds nothing for `x`: no taker could receive
    /// anything from it ([`Optimal::takes_from`]). Then [`Optimal::best_receiver`]
    /// finds nothing either (any peer it could pick, the fallback could pick with the
    /// same chunk), so `x` stays blocked. When `x` was found blocked before, with the
    /// chunks it holds now, only the peers in `opened` since then need a look.
    fn takes_nothing(&self, sim: &Sim, x: NodeId) -> bool {
        let at = self.blocked_at[x as usize];
        if at != usize::MAX && at >= self.checks_from && at >= self.opened_base {
            let settled = self.opened[at - self.opened_base..].iter().all(|&q| {
                q == u32::MAX
                    || !bitset::get(&self.takers, q as usize)
                    || !self.takes_from(sim, x, q as usize)
            });
            #[cfg(test)]
            if settled {
                SETTLED_FROM_OPENED.set(SETTLED_FROM_OPENED.get() + 1);
            }
            return settled;
        }
        !self.takers().any(|q| self.takes_from(sim, x, q))
    }

    /// When no peer can take the rarest chunk of `x`: over the peers that can take a
    /// transfer from `x`, the pair (chunk, peer) with the rarest chunk `x` holds and
    /// the peer lacks, ties broken as in [`Optimal::best_receiver`]. A peer that
    /// cannot upload gets no chunk nobody else has (unless no peer can upload).
    fn fallback(&self, sim: &Sim, x: NodeId) -> Option<(usize, usize)> {
        let g = sim.network().graph();
        let mut best: Option<FallbackKey> = None;
        for q in self.takers() {
            let node = node_of(q as u32) as usize;
            if node == x as usize || !self.can_take(sim, x, q) {
                continue;
            }
            let free_rider = g.up[node] <= 0.0;
            let min_holders = self.min_holders(sim, node);
            let mut pick: Option<usize> = None;
            for i in 0..self.w {
                let mut word = self.missing_word(x, q, i, self.m);
                while word != 0 {
                    let c = i * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    if self.holders[c] < min_holders {
                        continue;
                    }
                    pick = match pick {
                        None => Some(c),
                        Some(b)
                            if self.holders[c] < self.holders[b]
                                || (self.holders[c] == self.holders[b] && x != SERVER) =>
                        {
                            Some(c)
                        }
                        keep => keep,
                    };
                }
            }
            let Some(c) = pick else { continue };
            let head = (self.holders[c], self.in_count[q], free_rider);
            // As in `best_receiver`: the need only where the leading terms tie.
            let lead = best.as_ref().map_or(Ordering::Less, |b| head.cmp(&b.0));
            if lead == Ordering::Greater {
                continue;
            }
            let key = (head, self.need[q], self.have_count[q], q, c);
            let better = match &best {
                Some(b) if lead == Ordering::Equal => {
                    b.1.total_cmp(&key.1)
                        .then(key.2.cmp(&b.2))
                        .then(key.3.cmp(&b.3))
                        == Ordering::Less
                }
                _ => true,
            };
            if better {
                best = Some(key);
            }
        }
        best.map(|b| (b.4, b.3))
    }

    /// Starts uploads from `x` while it has at least 5 % of its upload capacity to
    /// spare and a useful chunk some peer can take. If it has a useful chunk but no
    /// peer can take any, it is retried after every finished transfer (`retry`: this
    /// is such a retry, whose first pass tests for that case before ranking
    /// anything; the outcome is the same either way).
    pub(super) fn try_upload(&mut self, sim: &mut Sim, x: NodeId, mut retry: bool) {
        loop {
            let g = sim.network().graph();
            let up = g.up[x as usize];
            if up <= 0.0 {
                return;
            }
            if !g.out_flows[x as usize].is_empty() && self.spare_upload(sim, x) <= 0.05 * up {
                return;
            }
            let pick = if retry && self.has_useful(x) && self.takes_nothing(sim, x) {
                // Test builds: the ranking would have found nothing either.
                #[cfg(test)]
                assert!(
                    self.rarest_useful(x)
                        .is_some_and(|c| self.best_receiver(sim, x, c).is_none())
                        && self.fallback(sim, x).is_none(),
                    "takes_nothing disagrees with the ranking for node {x}"
                );
                None
            } else {
                let Some(c) = self.rarest_useful(x) else {
                    if matches!(self.mode, Mode::Greedy) && self.rescue(sim, x) {
                        continue;
                    }
                    return;
                };
                match self.best_receiver(sim, x, c) {
                    Some(q) => Some((c, q)),
                    None => self.fallback(sim, x),
                }
            };
            retry = false;
            let Some((c, q)) = pick else {
                self.blocked_at[x as usize] = self.seq();
                if !self.blocked[x as usize] {
                    self.blocked[x as usize] = true;
                    self.blocked_list.push(x);
                }
                return;
            };
            // The new flow joins the graph at once (its rate is set when the kernel
            // rebalances after this event), so the next pass's spare test counts it.
            self.start(sim, x, q, c);
        }
    }

    /// Retries the uploaders that found no peer able to take their chunks.
    pub(super) fn retry_blocked(&mut self, sim: &mut Sim) {
        if self.blocked_list.is_empty() {
            self.opened_base = self.seq();
            self.opened.clear();
            return;
        }
        // Cheap gate: a peer that can take nothing from anyone blocks nobody's retry.
        let open = self
            .takers()
            .any(|q| (self.have_count[q] as usize) < self.m);
        if !open {
            return;
        }
        let list = std::mem::take(&mut self.blocked_list);
        for &x in &list {
            self.blocked[x as usize] = false;
        }
        for x in list {
            self.try_upload(sim, x, true);
        }
        // Every node still blocked was found blocked during this pass: the entries
        // of `opened` before the earliest such check are no longer needed.
        let keep = self
            .blocked_list
            .iter()
            .map(|&x| self.blocked_at[x as usize])
            .filter(|&at| at != usize::MAX)
            .min()
            .unwrap_or(self.seq())
            .max(self.opened_base);
        self.opened.drain(..keep - self.opened_base);
        self.opened_base = keep;
    }
}
