//! Protocol `optimal`: a centralised scheduler with full knowledge of who holds which
//! chunk, for comparison with the bounds and with decentralised protocols.
//!
//! It cannot set rates (the bandwidth model does); it only chooses which transfers
//! exist. It runs in one of two modes, picked from the scenario:
//!
//! - **Pipeline** (every peer's upload equals the server's, u_i = u_s = u, and no
//!   download capacity can bind): the slotted schedule of the homogeneous
//!   upload-limited problem of Mundinger, Weber and Weiss (J. Scheduling 2008), whose
//!   optimum is `(M + floor(log2 N)) * chunk/u`. Every node sends at most one chunk at
//!   a time at full rate, so a transfer lasts one slot of `chunk/u`; the next slot is
//!   planned when every transfer of the current one has ended. Nodes carry labels of a
//!   hypercube of dimension `k = ceil(log2(N + 1))` (the N + 1 labels of fewest one
//!   bits); in slot `t` each node pairs with its neighbour across dimension
//!   `(t - 1) mod k` and sends it the newest chunk it has that the neighbour lacks, the
//!   server sending chunk `t` while `t <= M` (the binomial pipeline, exact when
//!   N + 1 is a power of two). Nodes whose neighbour label is unused, or that have
//!   nothing for their neighbour, then send greedily: the rarest chunk they hold
//!   (newest on ties) to the peer receiving fewest chunks this slot (then holding
//!   fewest chunks).
//! - **Greedy** (anything else, in the spirit of Kumar and Ross, "Peer-assisted file
//!   distribution: the minimum distribution time", 2006): event-driven. Whenever a node
//!   has upload capacity to spare it starts a transfer of the rarest chunk it holds
//!   (the server: lowest-numbered on ties, so it injects every chunk once, in order,
//!   before sending any twice; peers: newest on ties) to a peer that lacks it and is
//!   not already receiving it, preferring the peer receiving fewest transfers, then a
//!   critical peer (F/d_i >= 0.9 D_p2p), then one that can upload, then the one that
//!   needs longest at its download capacity, then the one holding fewest chunks. A
//!   first copy (a chunk no peer has) goes to the peer with positive upload whose
//!   relay backlog, (first copies it holds that some peer lacks + 1) / u_i, is
//!   smallest. A peer takes a new transfer only while its senders leave more than 5 %
//!   of its download capacity unused (with a margin when the server is among them and
//!   is the bottleneck). If no peer can take the rarest chunk, the rarest chunk some
//!   peer can take is sent instead; if none, the node is retried after every finished
//!   transfer. A node runs one upload at a time unless its receivers' download shares
//!   cannot absorb its upload capacity. Peers with zero upload never upload.

use super::bitset::{self, ones, ones_in};
use super::{NoTimer, Protocol, SERVER, Sim, Transfer, node_of, peer_of};
use crate::network::{FlowId, NodeId};
use std::cmp::Ordering;

/// The centralised scheduler (see the module documentation for what it does).
pub struct Optimal {
    /// Number of peers N.
    n: usize,
    /// Number of chunks M.
    m: usize,
    /// 64-bit words per peer bitset.
    w: usize,
    /// Chunks each peer holds (N x w words).
    have: Vec<u64>,
    /// Chunks each peer holds or is receiving.
    got: Vec<u64>,
    /// Per chunk: peers that hold it or are receiving it.
    holders: Vec<u32>,
    /// Bitset over chunks: some peer neither holds nor receives it (`holders < N`).
    /// Holders only grow, so a bit is only ever cleared.
    not_full: Vec<u64>,
    /// Per peer: chunks held.
    have_count: Vec<u32>,
    /// Per peer: transfers it is receiving (pipeline: this slot).
    in_count: Vec<u32>,
    /// Per peer: the time its download capacity needs for the chunks it lacks,
    /// (M - chunks held) x chunk / d_i, the rankings' need term (kept as chunks
    /// arrive).
    need: Vec<f64>,
    /// Per peer: whether it has arrived.
    present: Vec<bool>,
    arrived: usize,
    /// Per node: has a useful chunk but found no peer able to take one.
    blocked: Vec<bool>,
    /// The blocked nodes, in the order they blocked.
    blocked_list: Vec<NodeId>,
    /// Number of peers with positive upload capacity.
    uploaders: usize,
    /// Per chunk: the peer that received its first copy (`u32::MAX` before).
    origin: Vec<u32>,
    /// Per peer: first copies it received that some peer still lacks (its relay
    /// backlog).
    backlog: Vec<u32>,
    /// Per peer: its download alone takes at least 90 % of D_p2p (F/d_i >= 0.9
    /// D_p2p), so it must be kept receiving at full rate all along.
    critical: Vec<bool>,
    /// Per peer: transfers it is receiving (flow, chunk, rescue duplicate?).
    incoming: Vec<Vec<(FlowId, u32, bool)>>,
    /// True when the server's upload is the scarce resource: N u_s <= u_s + sum u_i,
    /// so F/u_s is at least N F/(u_s + sum u_i) (Kumar and Ross's first case).
    server_scarce: bool,
    /// Senders whose transfer was just cancelled (the losing copy of a rescue), to be
    /// offered new work after the current event.
    freed: Vec<NodeId>,
    /// Per peer: what [`Optimal::can_take`] reads of it, kept up to date as flows
    /// start and end (see [`Optimal::flow_changed`]).
    side: Vec<Taker>,
    /// Bitset over peers: present and able to take a transfer from some node
    /// (open, or offered below 95 % of its download capacity). Receiver searches
    /// walk only these: the retries after a finished transfer search once per
    /// blocked node, and when downloads bind few peers can take anything.
    takers: Vec<u64>,
    /// Peers that joined `takers` or whose side of [`Optimal::can_take`] became more
    /// permissive (or `u32::MAX`: every check before it is void), in the order it
    /// happened. Entry `k` has sequence number `opened_base + k`.
    opened: Vec<u32>,
    /// Sequence number of `opened[0]` (entries before it were dropped).
    opened_base: usize,
    /// Per node: the sequence number at which it was last found blocked, with the
    /// chunks it holds now (`usize::MAX`: none). Until a peer in `opened` from there
    /// on lacks one of its chunks, it stays blocked: every other peer that can take
    /// from it now could then, and held or was receiving all its chunks then.
    blocked_at: Vec<usize>,
    /// Checks with a lower sequence number are void (a first copy began, which lets
    /// free riders take that chunk).
    checks_from: usize,
    /// Greedy mode: `opened` is kept (the pipeline mode has no blocked nodes).
    keep_opened: bool,
    /// Pipeline mode: the peers in order of their greedy-fill rank (reused).
    scratch_order: Vec<u32>,
    /// Pipeline mode: per number of transfers received this slot, the bitset of
    /// the peers receiving that many, over positions in `scratch_order` (reused).
    scratch_ranked: Vec<Vec<u64>>,
    /// Pipeline mode: for the chunks a slot's greedy fill sends, the bitsets of
    /// the peers lacking them, over positions in `scratch_order` (reused).
    scratch_lacks: Vec<Vec<u64>>,
    /// Per chunk, the bitset of the peers that hold or receive it (the columns of
    /// `got`).
    got_col: Vec<u64>,
    /// Greedy mode: [`LEVELS`] + 1 bitsets over peers, `N/64` words each: level `k <
    /// LEVELS` holds the peers receiving exactly `k` transfers, the last one those
    /// receiving more (empty in pipeline mode, whose counts are per slot).
    levels: Vec<u64>,
    /// Greedy mode: the number of peers in each of `levels`.
    level_size: [u32; LEVELS + 1],
    /// Four bitsets over peers, `N/64` words each, in the ranking's order: critical
    /// peers that can upload, critical free riders, other peers that can upload,
    /// other free riders (see `critical`; a free rider has zero upload capacity).
    class_bits: Vec<u64>,
    /// Per bitset of `class_bits`: the words that can be non-zero (peers of one
    /// scenario class have consecutive indices, so a class is often a short run).
    class_words: [std::ops::Range<usize>; 4],
    mode: Mode,
}

#[cfg(test)]
thread_local! {
    /// Test builds: blocked retries that [`Optimal::takes_nothing`] settled from
    /// `opened` alone (per thread: each test runs its simulations on its own).
    pub(super) static SETTLED_FROM_OPENED: std::cell::Cell<u64> =
        const { std::cell::Cell::new(0) };
}

#[cfg(test)]
thread_local! {
    /// Test builds: receiver searches decided in each block of
    /// [`Optimal::best_receiver_by_blocks`] below the last level (by class: critical
    /// uploaders, critical free riders, other uploaders, other free riders) and in
    /// the last level (index 4).
    pub(super) static DECIDED_IN_BLOCK: std::cell::Cell<[u64; 5]> =
        const { std::cell::Cell::new([0; 5]) };
}

#[cfg(test)]
/// Test builds: counts a search decided in block `b` (see [`DECIDED_IN_BLOCK`]).
fn decided_in(b: usize) {
    let mut d = DECIDED_IN_BLOCK.get();
    d[b] += 1;
    DECIDED_IN_BLOCK.set(d);
}

/// A peer's side of [`Optimal::can_take`].
#[derive(Clone, Copy, Default)]
struct Taker {
    /// Unlimited download or nothing incoming: it can take anything.
    open: bool,
    /// Its senders' equal shares of their upload capacities, summed in in-flow order.
    offered: f64,
    /// One of its senders is the server.
    from_server: bool,
}

/// Ranking of a receiver in [`Optimal::best_receiver`]: (relay time of a first copy,
/// incoming transfers, not critical), free rider, need, chunks held, peer.
type ReceiverKey = ((f64, u32, bool), bool, f64, u32, usize);

/// Ranking of a (chunk, peer) pair in [`Optimal::fallback`]: (chunk holders, peer's
/// incoming transfers, free rider), need, chunks held, peer, chunk.
type FallbackKey = ((u32, u32, bool), f64, u32, usize, usize);

/// Greedy mode: incoming-transfer counts with a level of their own in
/// [`Optimal::levels`]; higher counts share the last one.
const LEVELS: usize = 16;

/// A bitset over `0..n` (peers or chunks): the indices for which `f` holds.
fn bits_where(n: usize, f: impl Fn(usize) -> bool) -> Vec<u64> {
    let mut b = vec![0; n.div_ceil(64)];
    for q in (0..n).filter(|&q| f(q)) {
        bitset::set(&mut b, q);
    }
    b
}

/// The blocks of [`Optimal::class_bits`], in the ranking's order: (critical, free
/// rider).
const CLASSES: [(bool, bool); 4] = [(true, false), (true, true), (false, false), (false, true)];

enum Mode {
    Pipeline(Pipeline),
    Greedy,
}

struct Pipeline {
    /// Hypercube dimension k.
    k: u32,
    /// Label of each node (node 0, the server, has label 0).
    label: Vec<u32>,
    /// Node carrying each label, or `u32::MAX` for an unused label.
    node_at: Vec<u32>,
    /// Current slot (1-based; 0 before the first).
    slot: u64,
    /// Transfers of the current slot still running.
    outstanding: usize,
}

impl Optimal {
    /// A scheduler for the swarm in `sim`, choosing the pipeline mode when every peer's
    /// upload equals the server's and no download capacity can bind (each at least
    /// (N + 1) u), the greedy mode otherwise.
    pub fn new(sim: &Sim) -> Optimal {
        let n = sim.peers.len();
        let m = sim.chunks as usize;
        let w = m.div_ceil(64);
        let g = sim.network().graph();
        let u = g.up[SERVER as usize];
        let homogeneous = (1..=n).all(|x| g.up[x] == u && g.down[x] >= (n as f64 + 1.0) * u);
        let mode = if homogeneous && n > 0 {
            Mode::Pipeline(Pipeline::new(n))
        } else {
            Mode::Greedy
        };
        let mut o = Optimal {
            incoming: vec![Vec::new(); n],
            n,
            m,
            w,
            have: vec![0; n * w],
            got: vec![0; n * w],
            holders: vec![0; m],
            not_full: bits_where(m, |_| n > 0),
            have_count: vec![0; n],
            need: (1..=n).map(|x| Self::need_of(sim, m, x, 0)).collect(),
            in_count: vec![0; n],
            present: vec![false; n],
            arrived: 0,
            blocked: vec![false; n + 1],
            blocked_list: Vec::new(),
            uploaders: (1..=n).filter(|&x| g.up[x] > 0.0).count(),
            critical: {
                let f = sim.file_bytes as f64;
                let sum_up: f64 = g.up.iter().sum();
                let d_min = (1..=n).map(|x| g.down[x]).fold(f64::INFINITY, f64::min);
                let d_p2p = (f / u).max(f / d_min).max(n as f64 * f / sum_up);
                (1..=n).map(|x| f / g.down[x] >= 0.9 * d_p2p).collect()
            },
            origin: vec![u32::MAX; m],
            backlog: vec![0; n],
            server_scarce: n as f64 * u <= g.up.iter().sum::<f64>(),
            freed: Vec::new(),
            side: vec![Taker::default(); n],
            takers: vec![0; n.div_ceil(64)],
            opened: Vec::new(),
            opened_base: 0,
            blocked_at: vec![usize::MAX; n + 1],
            checks_from: 0,
            keep_opened: matches!(mode, Mode::Greedy),
            scratch_order: Vec::new(),
            scratch_ranked: Vec::new(),
            scratch_lacks: Vec::new(),
            got_col: vec![0; m * n.div_ceil(64)],
            levels: match mode {
                // Every peer starts at level 0.
                Mode::Greedy => {
                    let mut l = bits_where(n, |_| true);
                    l.resize((LEVELS + 1) * n.div_ceil(64), 0);
                    l
                }
                Mode::Pipeline(_) => Vec::new(),
            },
            level_size: {
                let mut l = [0; LEVELS + 1];
                l[0] = n as u32;
                l
            },
            class_bits: Vec::new(),
            class_words: Default::default(),
            mode,
        };
        for (b, (critical, rider)) in CLASSES.into_iter().enumerate() {
            let bits = bits_where(n, |q| {
                o.critical[q] == critical && (g.up[node_of(q as u32) as usize] <= 0.0) == rider
            });
            let first = bits.iter().position(|&w| w != 0).unwrap_or(0);
            let end = bits.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
            o.class_words[b] = first..end.max(first);
            o.class_bits.extend(bits);
        }
        o
    }

    /// The need term of node `x` holding `held` of the `m` chunks.
    fn need_of(sim: &Sim, m: usize, x: usize, held: u32) -> f64 {
        (m - held as usize) as f64 * sim.chunk_bytes as f64 / sim.network().graph().down[x]
    }

    /// Sets peer `p`'s incoming-transfer count to `to`, moving it between `levels`.
    fn set_in_count(&mut self, p: usize, to: u32) {
        if !self.levels.is_empty() {
            let nw = self.n.div_ceil(64);
            let from = (self.in_count[p] as usize).min(LEVELS);
            let into = (to as usize).min(LEVELS);
            bitset::clear(&mut self.levels[from * nw..], p);
            bitset::set(&mut self.levels[into * nw..], p);
            self.level_size[from] -= 1;
            self.level_size[into] += 1;
        }
        self.in_count[p] = to;
    }

    /// Name of the mode in use: `"pipeline"` or `"greedy"`.
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Pipeline(_) => "pipeline",
            Mode::Greedy => "greedy",
        }
    }

    fn bit(bits: &[u64], w: usize, p: usize, c: usize) -> bool {
        bitset::get(&bits[p * w..], c)
    }

    fn set(bits: &mut [u64], w: usize, p: usize, c: usize) {
        bitset::set(&mut bits[p * w..], c);
    }

    /// Does node `x` hold chunk `c` (the server holds everything)?
    fn holds(&self, x: NodeId, c: usize) -> bool {
        x == SERVER || Self::bit(&self.have, self.w, peer_of(x) as usize, c)
    }

    /// Records the start of a transfer and hands it to the kernel.
    fn start(&mut self, sim: &mut Sim, x: NodeId, p: usize, c: usize) {
        Self::set(&mut self.got, self.w, p, c);
        bitset::set(&mut self.got_col[c * self.n.div_ceil(64)..], p);
        if self.holders[c] == 0 {
            self.origin[c] = p as u32;
            self.backlog[p] += 1;
            if self.keep_opened && self.uploaders > 0 && self.uploaders < self.n {
                // Free riders may take `c` from now on.
                self.opened.push(u32::MAX);
                self.checks_from = self.seq();
            }
        }
        self.holders[c] += 1;
        if self.holders[c] as usize == self.n {
            bitset::clear(&mut self.not_full, c);
            self.backlog[self.origin[c] as usize] -= 1;
        }
        self.set_in_count(p, self.in_count[p] + 1);
        let f = sim.start_transfer(x, node_of(p as u32), c as u32);
        self.flow_changed(sim, x, node_of(p as u32));
        self.incoming[p].push((f, c as u32, false));
    }

    /// Endgame rescue (greedy mode): `x`, with nothing new to send, sends again a
    /// chunk that a peer is receiving so slowly that a fresh copy at `x`'s free rate
    /// would arrive in less than half the time left; the copy that loses is cancelled
    /// and its bytes counted as wasted. Returns true if it started one.
    fn rescue(&mut self, sim: &mut Sim, x: NodeId) -> bool {
        let g = sim.network().graph();
        let up = g.up[x as usize];
        let mut best: Option<(f64, usize, u32)> = None;
        for q in 0..self.n {
            if self.incoming[q].iter().any(|e| e.2) {
                continue; // one rescue at a time per peer
            }
            let node = node_of(q as u32) as usize;
            for &(f, c, _) in &self.incoming[q] {
                if !self.holds(x, c as usize) || g.flow(f).src == x {
                    continue;
                }
                let fl = g.flow(f);
                let left = fl.size - sim.network().delivered(f, sim.now);
                let eta = if fl.rate > 0.0 {
                    left / fl.rate
                } else {
                    f64::INFINITY
                };
                let fresh = fl.size / up.min(g.down[node]);
                if fresh < 0.5 * eta && best.is_none_or(|(b, _, _)| eta > b) {
                    best = Some((eta, q, c));
                }
            }
        }
        let Some((_, q, c)) = best else { return false };
        self.set_in_count(q, self.in_count[q] + 1);
        let f = sim.start_transfer(x, node_of(q as u32), c);
        self.flow_changed(sim, x, node_of(q as u32));
        self.incoming[q].push((f, c, true));
        true
    }

    /// Word `i` of the chunks `x` holds (the server: every chunk).
    fn mine(&self, x: NodeId, i: usize) -> u64 {
        if x == SERVER {
            u64::MAX
        } else {
            self.have[peer_of(x) as usize * self.w + i]
        }
    }

    /// Word `i` of the chunks below `limit` that `x` holds and peer `q` neither
    /// holds nor receives.
    fn missing_word(&self, x: NodeId, q: usize, i: usize, limit: usize) -> u64 {
        let lo = i * 64;
        if lo >= limit {
            return 0;
        }
        let word = self.mine(x, i) & !self.got[q * self.w + i];
        if limit - lo < 64 {
            word & ((1u64 << (limit - lo)) - 1)
        } else {
            word
        }
    }

    /// Copies a chunk must have before `node` may get it: 1 for a peer that cannot
    /// upload while some peer can (it gets no first copy), else 0.
    fn min_holders(&self, sim: &Sim, node: usize) -> u32 {
        u32::from(sim.network().graph().up[node] <= 0.0 && self.uploaders > 0)
    }

    /// Among the chunks `x` holds that some peer neither holds nor receives, the
    /// rarest; ties go to the lowest index for the server (inject in order), to the
    /// newest for peers. Walks the set bits of (held and not full) in index order,
    /// which is the order of a scan over every chunk.
    fn rarest_useful(&self, x: NodeId) -> Option<usize> {
        let mut best: Option<usize> = None;
        for i in 0..self.w {
            let mut word = self.mine(x, i) & self.not_full[i];
            while word != 0 {
                let c = i * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let h = self.holders[c];
                best = match best {
                    None => Some(c),
                    Some(b) if h < self.holders[b] || (h == self.holders[b] && x != SERVER) => {
                        Some(c)
                    }
                    keep => keep,
                };
            }
        }
        best
    }

    /// Whether `x` holds a chunk some peer neither holds nor receives (that is,
    /// [`Optimal::rarest_useful`] finds one).
    fn has_useful(&self, x: NodeId) -> bool {
        (0..self.w).any(|i| self.mine(x, i) & self.not_full[i] != 0)
    }

    /// Peer arrivals: the pipeline starts once everyone is present; the greedy mode
    /// lets the server start at once.
    fn arrive(&mut self, sim: &mut Sim, p: u32) {
        self.present[p as usize] = true;
        self.arrived += 1;
        self.update_side(sim, p as usize);
        if matches!(self.mode, Mode::Pipeline(_)) {
            if self.arrived == self.n {
                self.plan_slot(sim);
            }
        } else {
            self.try_upload(sim, SERVER, false);
        }
    }

    /// Records the arrival of chunk `t.chunk` at its peer. The other copy of a rescued
    /// chunk is cancelled, and its sender is put on `self.freed` to be offered new
    /// work: nothing else would wake it if that copy was its only upload.
    fn receive(&mut self, sim: &mut Sim, f: FlowId, t: Transfer) {
        let p = peer_of(t.dst) as usize;
        let c = t.chunk as usize;
        // The kernel has removed `f`.
        self.flow_changed(sim, t.src, t.dst);
        self.incoming[p].retain(|e| e.0 != f);
        // The other copy of a rescued chunk is now waste.
        while let Some(k) = self.incoming[p].iter().position(|e| e.1 == t.chunk) {
            let (other, _, _) = self.incoming[p].swap_remove(k);
            let src = sim.transfer(other).src;
            self.freed.push(src);
            sim.cancel_transfer(other, true);
            self.flow_changed(sim, src, t.dst);
            self.set_in_count(p, self.in_count[p] - 1);
        }
        Self::set(&mut self.have, self.w, p, c);
        self.blocked_at[node_of(p as u32) as usize] = usize::MAX;
        self.have_count[p] += 1;
        self.need[p] = Self::need_of(sim, self.m, node_of(p as u32) as usize, self.have_count[p]);
        self.set_in_count(p, self.in_count[p] - 1);
        sim.record_chunk(p as u32);
        if self.have_count[p] as usize == self.m {
            sim.complete(p as u32);
        }
    }

    // ---- pipeline mode ----

    /// Plans and starts the next slot.
    fn plan_slot(&mut self, sim: &mut Sim) {
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

    // ---- greedy mode ----

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
    fn flow_changed(&mut self, sim: &Sim, src: NodeId, dst: NodeId) {
        self.update_side(sim, peer_of(dst) as usize);
        let g = sim.network().graph();
        for &f in &g.out_flows[src as usize] {
            self.update_side(sim, peer_of(g.flow(f).dst) as usize);
        }
    }

    /// Recomputes peer `q`'s side of [`Optimal::can_take`] and its bit in
    /// `takers`.
    fn update_side(&mut self, sim: &Sim, q: usize) {
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
    fn assert_sides(&self, sim: &Sim) {
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
    fn seq(&self) -> usize {
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
    fn try_upload(&mut self, sim: &mut Sim, x: NodeId, mut retry: bool) {
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
    fn retry_blocked(&mut self, sim: &mut Sim) {
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

impl Pipeline {
    fn new(n: usize) -> Pipeline {
        let nodes = n + 1;
        let k = (usize::BITS - (nodes - 1).leading_zeros()).max(1);
        let size = 1usize << k;
        let mut labels: Vec<u32> = (0..size as u32).collect();
        labels.sort_by_key(|&l| (l.count_ones(), l));
        labels.truncate(nodes);
        let mut node_at = vec![u32::MAX; size];
        for (x, &l) in labels.iter().enumerate() {
            node_at[l as usize] = x as u32;
        }
        Pipeline {
            k,
            label: labels,
            node_at,
            slot: 0,
            outstanding: 0,
        }
    }
}

impl Protocol for Optimal {
    type Timer = NoTimer;

    fn on_arrival(&mut self, sim: &mut Sim, p: u32) {
        self.arrive(sim, p);
    }

    fn on_transfer_done(&mut self, sim: &mut Sim, f: FlowId, t: Transfer) {
        self.receive(sim, f, t);
        match &mut self.mode {
            Mode::Pipeline(pl) => {
                pl.outstanding -= 1;
                if pl.outstanding == 0 && sim.completed() < self.n as u64 {
                    self.plan_slot(sim);
                }
            }
            Mode::Greedy => {
                self.try_upload(sim, t.src, false);
                self.try_upload(sim, t.dst, false);
                while let Some(x) = self.freed.pop() {
                    self.try_upload(sim, x, false);
                }
                self.retry_blocked(sim);
                #[cfg(test)]
                self.assert_sides(sim);
                if sim.network().active_flows() == 0
                    && sim.arrived() == self.n as u64
                    && sim.completed() < self.n as u64
                {
                    // Unreachable while the server can upload (an idle server always
                    // finds an incomplete peer lacking a chunk); a safety net so that a
                    // scheduling bug ends the run as stalled, not at the horizon.
                    sim.halt(format!(
                        "the optimal scheduler has no transfer to start with {} of {} peers complete",
                        sim.completed(),
                        self.n
                    ));
                }
            }
        }
    }
}

/// The estimated memory of one peer under the optimal scheduler, in bytes, with
/// `chunks` chunks (`W = ceil(C / 64)` bitset words): 1 KiB for the kernel's records
/// of a peer and this scheduler's few counters and bits over the peers, and 24 W for
/// its two bitsets (held; held or coming) and the columns of the second per chunk
/// (`C` bits per peer, at most 8 W bytes).
pub fn memory_per_peer(chunks: u64) -> f64 {
    let w = (chunks as f64 / 64.0).ceil();
    1024.0 + 3.0 * 8.0 * w
}

#[cfg(test)]
mod tests;
