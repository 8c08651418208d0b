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

use super::bitset;
use super::{NoTimer, Protocol, SERVER, Sim, Transfer, node_of, peer_of};
use crate::network::{FlowId, NodeId};

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

mod greedy;
mod pipeline;
#[cfg(test)]
mod tests;
