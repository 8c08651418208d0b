//! The pipeline mode: planning each slot of the binomial pipeline on the hypercube.

use super::bitset;
use super::{Mode, Optimal};
use crate::model::{SERVER, Sim, node_of, peer_of};
use crate::network::NodeId;

impl Optimal {
    /// Plans and starts the next slot.
    pub(super) fn plan_slot(&mut self, sim: &mut Sim) {
        let Mode::Pipeline(pl) = &mut self.mode else {
            return;
        };
        pl.slot += 1;
        let t = pl.slot;
        let k = pl.k;
        let d = ((t - 1) % k as u64) as u32;
        let label = pl.label.clone();
        let node_at_partner: Vec<u32> = label
            .iter()
            .map(|&l| {
                pl.node_at
                    .get((l ^ (1 << d)) as usize)
                    .copied()
                    .unwrap_or(u32::MAX)
            })
            .collect();
        self.in_count.iter_mut().for_each(|c| *c = 0);
        let mut started = 0;
        // Senders in label order, as the hypercube rule reads.
        let mut by_label: Vec<u32> = (0..=self.n as u32).collect();
        by_label.sort_by_key(|&x| label[x as usize]);
        let mut free: Vec<u32> = Vec::new();
        let injected = (t as usize).min(self.m);
        for &x in &by_label {
            let y = node_at_partner[x as usize];
            if y == u32::MAX || y == SERVER {
                free.push(x);
                continue;
            }
            let q = peer_of(y) as usize;
            let c = if x == SERVER && (t as usize) <= self.m {
                Some(t as usize - 1)
            } else {
                self.newest_missing(x, q, injected)
            };
            match c {
                Some(c) => {
                    self.start(sim, x, q, c);
                    started += 1;
                }
                None => free.push(x),
            }
        }
        // Greedy fill: senders holding most chunks first.
        free.sort_by_key(|&x| {
            let held = if x == SERVER {
                self.m
            } else {
                self.have_count[peer_of(x) as usize] as usize
            };
            (std::cmp::Reverse(held), label[x as usize])
        });
        // The receiver is the peer lacking `c` with the smallest (transfers this
        // slot, chunks held, label, index). `order`: the peers by the rest of that
        // key, sorted once a slot; `ranked[k]`: the bitset, over positions in
        // `order`, of the peers receiving k transfers this slot; `lacks[c]`: the
        // bitset, over the same positions, of the peers that neither hold nor
        // receive chunk `c` (built from `c`'s column of `got_col` the first time a
        // slot needs it, then kept up to date). The answer is the lowest set bit of
        // `ranked[k] & lacks[c]` for the lowest `k` where that is not empty. The
        // sender itself holds `c`, so it never lacks it. The bitsets are reused
        // from slot to slot.
        let nw = self.n.div_ceil(64);
        let mut order = std::mem::take(&mut self.scratch_order);
        let mut ranked = std::mem::take(&mut self.scratch_ranked);
        let mut lacks = std::mem::take(&mut self.scratch_lacks);
        order.clear();
        ranked.iter_mut().for_each(|l| l.fill(0));
        // Per chunk, its index in `lacks` this slot (`u32::MAX`: not built yet).
        let mut lacks_at = vec![u32::MAX; self.m];
        let mut built = 0;
        if !free.is_empty() {
            order.extend(0..self.n as u32);
            order.sort_unstable_by_key(|&q| {
                (self.have_count[q as usize], label[node_of(q) as usize], q)
            });
            for (r, &q) in order.iter().enumerate() {
                let k = self.in_count[q as usize] as usize;
                if ranked.len() <= k {
                    ranked.resize(k + 1, vec![0; nw]);
                }
                bitset::set(&mut ranked[k], r);
            }
        }
        // Words of `ranked[0]` before `idle_word` are empty (peers only leave level 0).
        let mut idle_word = 0;
        for x in free {
            let limit = if x == SERVER { injected } else { self.m };
            let Some(c) = self.rarest_useful_newest(x, limit) else {
                continue;
            };
            if lacks_at[c] == u32::MAX {
                if lacks.len() <= built {
                    lacks.push(vec![0; nw]);
                }
                let col = &self.got_col[c * nw..(c + 1) * nw];
                let l = &mut lacks[built];
                l.fill(0);
                for (r, &q) in order.iter().enumerate() {
                    let q = q as usize;
                    if !bitset::get(col, q) {
                        bitset::set(l, r);
                    }
                }
                lacks_at[c] = built as u32;
                built += 1;
            }
            let l = &lacks[lacks_at[c] as usize];
            while idle_word < nw && ranked.first().is_none_or(|z| z[idle_word] == 0) {
                idle_word += 1;
            }
            let Some((k, r)) = ranked.iter().enumerate().find_map(|(k, level)| {
                let from = if k == 0 { idle_word } else { 0 };
                (from..nw).find_map(|i| {
                    let w = level[i] & l[i];
                    (w != 0).then(|| (k, i * 64 + w.trailing_zeros() as usize))
                })
            }) else {
                continue;
            };
            let q = order[r] as usize;
            // Test builds: the peer lacking `c` with the smallest whole key.
            #[cfg(test)]
            assert_eq!(
                (0..self.n)
                    .filter(|&p| !Self::bit(&self.got, self.w, p, c))
                    .min_by_key(|&p| {
                        let key = (self.have_count[p], label[node_of(p as u32) as usize], p);
                        (self.in_count[p], key)
                    }),
                Some(q),
                "the greedy fill's receiver of chunk {c}"
            );
            self.start(sim, x, q, c);
            started += 1;
            if ranked.len() <= k + 1 {
                ranked.push(vec![0; nw]);
            }
            bitset::clear(&mut ranked[k], r);
            bitset::set(&mut ranked[k + 1], r);
            // `q` now receives `c`.
            bitset::clear(&mut lacks[lacks_at[c] as usize], r);
        }
        self.scratch_lacks = lacks;
        self.scratch_ranked = ranked;
        self.scratch_order = order;
        if let Mode::Pipeline(pl) = &mut self.mode {
            pl.outstanding = started;
        }
    }

    /// The newest chunk below `limit` that `x` holds and peer `q` neither holds nor
    /// receives.
    fn newest_missing(&self, x: NodeId, q: usize, limit: usize) -> Option<usize> {
        (0..self.w).rev().find_map(|i| {
            let word = self.missing_word(x, q, i, limit);
            (word != 0).then(|| i * 64 + 63 - word.leading_zeros() as usize)
        })
    }

    /// Rarest useful chunk with ties to the newest (pipeline fill, server included).
    fn rarest_useful_newest(&self, x: NodeId, limit: usize) -> Option<usize> {
        let full = self.n as u32;
        let mut best: Option<usize> = None;
        for c in 0..limit {
            let h = self.holders[c];
            if h < full && self.holds(x, c) && best.is_none_or(|b| h <= self.holders[b]) {
                best = Some(c);
            }
        }
        best
    }
}
