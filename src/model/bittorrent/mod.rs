//! Protocol `bittorrent`: tracker, bitfields and HAVEs, rarest-first piece selection,
//! tit-for-tat choking with optimistic unchokes, endgame, churn.
//!
//! Data layout is sized for 100,000 peers: nodes and connections live in
//! index-addressed arenas, bitfields are flat `u64` words, per-neighbour chunk
//! availability is a flat array of the narrowest integers that hold a node's most
//! neighbours (bytes by default), and every node's links sit in one flat table
//! of fixed-size blocks (one block per node present). A link carries what walks over
//! a node's neighbours read (neighbour id, both choke flags, requests in flight) and
//! the position of the other end's copy, so that updating both copies of a link
//! (a choke, a request, bytes credited) costs one load per end, and a chunk's
//! arrival touches per neighbour its bitfield row and one availability counter, not
//! the connection record, which only the rare paths (closing, delayed messages)
//! read. Interest is read off the bitfields (a node with more chunks is surely
//! interesting; otherwise words are compared up to the first difference).
//!
//! Transfers: a request asks for a whole chunk (or the rest of a partly received
//! one). A choke cancels the transfers in flight on that connection; the bytes
//! received are kept, and the peer finishes a started chunk before starting another
//! (strict priority), from whichever neighbour can send it.
//!
//! One concern per module, each an `impl BitTorrent` block of its own: `links`
//! (connections and the link table), `tracker` (arrivals, announces, departures),
//! `requests` (what to ask for, parts in flight, splits and endgame), `arrival`
//! (a chunk's arrival and the HAVE fan-out), `choking` (slots, rechokes, the
//! optimistic unchoke), `availability` (the rarest-first counts) and `timers`.
//! The state they share is defined here.

mod arrival;
mod availability;
mod blocks;
#[cfg(test)]
mod choke_rules_tests;
mod chokers;
mod choking;
mod depth;
mod links;
mod memory;
mod partials;
pub mod policy;
mod requests;
mod started;
#[cfg(test)]
mod test_support;
mod timers;
mod tracker;

pub use memory::memory_per_peer;
pub use timers::BtTimer;

use super::{Protocol, SERVER, Transfer, bitset, node_of, peer_of};
use crate::engine::Time;
use crate::network::{FlowId, NodeId};
use crate::scenario::{BitTorrentConfig, ChokerKind, OptimisticPick, Scenario, Seeding};
use availability::Counts;
use policy::{Candidate, Choker, PiecePicker};

/// The kernel as BitTorrent runs on it.
type Sim<'t> = super::Sim<'t, BtTimer>;

const NONE: u32 = u32::MAX;
/// Most rate-window buckets a connection keeps (rate window / rechoke interval).
const MAX_BUCKETS: usize = 8;

/// How many rechoke periods each connection end's rate history covers: the rate
/// window over the rechoke interval, rounded, from 1 to 8 (each end keeps that many
/// buckets of bytes received and of bytes sent).
pub fn rate_buckets(cfg: &BitTorrentConfig) -> usize {
    (cfg.rate_window / cfg.rechoke_interval)
        .round()
        .clamp(1.0, MAX_BUCKETS as f64) as usize
}

/// A connection: its two ends and where each end's [`Link`] is, for the paths that
/// start from a connection id (closing it, delayed messages, the optimistic unchoke).
/// The choking state is in the links.
#[derive(Clone, Debug)]
struct Conn {
    ends: [NodeId; 2],
    /// Position of this connection in each endpoint's links.
    pos: [u32; 2],
    alive: bool,
}

impl Conn {
    /// Which end of the connection node `n` is.
    fn idx(&self, n: NodeId) -> usize {
        if self.ends[0] == n { 0 } else { 1 }
    }
}

/// A request in flight to a node: `bytes` of chunk `chunk` over `conn`. Entries
/// with the same `part` form a group: an original and its endgame duplicates, all
/// fetching the same remaining bytes in the same order from different uploaders, so
/// that what the node holds of the group's range is the furthest any member got
/// (see [`BitTorrent::rebase`]). `flow` is `NONE` while the request is still
/// travelling.
#[derive(Clone, Copy, Debug)]
struct Part {
    flow: FlowId,
    chunk: u32,
    conn: u32,
    /// Position of `conn` in the downloader's links (kept up to date when a closed
    /// connection moves another link).
    pos: u32,
    part: u32,
    /// Whether the request reached the uploader (`flow` is `NONE` while it
    /// travels; under the block pipeline also while it waits in the uploader's
    /// queue after arriving).
    arrived: bool,
    /// Size of the transfer (its flow's size once started).
    bytes: f64,
    /// Bytes of this transfer already counted as received (in `Node::partial`, or
    /// `BitTorrent::got` under the block pipeline) or
    /// as wasted at a rebase; only the rest is credited when it ends.
    credited: f64,
}

/// The bitfields and chunk counts, borrowed apart from the nodes so that a loop can
/// test interest while it updates a node's links.
#[derive(Clone, Copy)]
struct Bits<'a> {
    have: &'a [u64],
    held: &'a [u32],
    words: usize,
    chunks: u32,
}

impl Bits<'_> {
    /// Whether `a` is interested in `b`: `b` has a chunk `a` lacks. A node with
    /// more chunks than `a` surely has one; otherwise the bitfields are compared
    /// word by word, stopping at the first such chunk.
    #[inline(always)]
    fn interested(&self, a: NodeId, b: NodeId) -> bool {
        let (ha, hb) = (self.held[a as usize], self.held[b as usize]);
        if ha == self.chunks {
            return false;
        }
        if hb > ha {
            return true;
        }
        let w = self.words;
        let ra = &self.have[a as usize * w..][..w];
        let rb = &self.have[b as usize * w..][..w];
        ra.iter().zip(rb).any(|(x, y)| y & !x != 0)
    }
}

/// One of a node's connections, with what walks over a node's neighbours read most
/// (the neighbour, both choke flags, requests in flight) and where the other end's
/// copy is, so that such walks and the updates of both copies (kept in step by
/// `set_choking` and `add_in_flight`) do not load the connection record.
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    conn: u32,
    other: NodeId,
    /// Position of the other end's link over `conn` among `other`'s links.
    peer: u32,
    /// Which end of `conn` this node is (its index in `Conn::ends`).
    end: u8,
    /// This node unchokes `other`.
    unchoking: bool,
    /// `other` unchokes this node.
    unchoked: bool,
    /// This node's unchoke of `other` is its optimistic one.
    optimistic: bool,
    /// Requests this node has outstanding to `other` (at most `requests_in_flight`,
    /// which the scenario caps at 64).
    in_flight: u8,
    /// Requests `other` has outstanding to this node (a copy of `other`'s
    /// `in_flight`, so that a HAVE need not wake a neighbour whose slots are full).
    requested: u8,
    /// Consecutive rechokes of this node that found neither end interested in the
    /// other (counted only with an inactivity timeout; in the struct's padding).
    idle: u8,
}

// A link is 20 bytes (three ids, six bytes of flags and counts, padding to 4): the
// idle counter fits in what was padding, so the tables do not grow.
const _: () = assert!(std::mem::size_of::<Link>() == 20);

/// A link's unchoke history, kept (in the link table's block layout, moved with
/// its link) only when a choker reads it (`Choker::reads_unchoke_history`).
#[derive(Clone, Copy, Debug, Default)]
struct UnchokeRec {
    /// When this end last unchoked the neighbour, or when the connection opened
    /// if it never did, seconds.
    at: f64,
    /// Bytes this end sent the neighbour over the connection.
    sent: f64,
    /// `sent` when the last unchoke began.
    mark: f64,
    /// When this end last unchoked the neighbour optimistically, seconds
    /// (`f64::NEG_INFINITY`: never; read by `optimistic_pick = "oldest"`).
    opt_at: f64,
}

/// Whether a run keeps each link's unchoke history ([`UnchokeRec`]): when one of
/// its chokers reads it, its optimistic pick is the oldest unchoke, or its
/// leecher choker is rate-based.
fn tracks_history(cfg: &BitTorrentConfig, leech: &dyn Choker, seed: &dyn Choker) -> bool {
    leech.reads_unchoke_history()
        || seed.reads_unchoke_history()
        || cfg.optimistic_pick == OptimisticPick::Oldest
        || cfg.choker == ChokerKind::RateBased
}

#[derive(Clone, Debug, Default)]
struct Node {
    pending_count: u32,
    complete: bool,
    free_rider: bool,
    regular: u32,
    optimistic: u32,
    period: u32,
    rechokes: u64,
    /// The state of the node's leecher choker ([`policy::ChokeContext::state`]).
    leech_state: u32,
    /// The state of the node's seed choker, its own from its first rechoke as a
    /// seed (0 then).
    seed_state: u32,
    /// `optimistic_pick = "list"`: the neighbour id the rotating list starts at (the
    /// list is the interested neighbours in node-id order from the first id at or
    /// above this, wrapping around).
    opt_list: u32,
    /// `lost_interest = "next-tick"`: a rechoke between the periodic ones is due
    /// (its timer is set), and whether it also picks a new optimistic unchoke.
    trigger: Option<bool>,
    announce_at: Option<Time>,
    last_announce: Option<Time>,
    /// When a part last finished arriving at this node (None: never).
    last_got: Option<Time>,
    /// Parts of chunks on their way to this node.
    downloads: Vec<Part>,
    /// Chunks with bytes received but not all: (chunk, bytes received), in the
    /// order their first bytes arrived; empty under the block pipeline, which
    /// keeps them in `BitTorrent::got`.
    partial: Vec<(u32, f64)>,
    /// Source of part ids.
    next_part: u32,
    /// Under the block pipeline, the started chunks whose entries in the record
    /// (started.rs) are stale (more than a few: the whole record).
    started_dirty: Vec<u32>,
}

/// Counters and an optional trace, for tests and reports.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Rechokes performed (all nodes).
    pub rechokes: u64,
    /// Optimistic unchokes granted.
    pub optimistic_unchokes: u64,
    /// Transfers cancelled by a choke.
    pub choke_cancels: u64,
    /// Endgame duplicates cancelled.
    pub endgame_cancels: u64,
    /// Parts split between two uploaders.
    pub splits: u64,
    /// Connections closed by the inactivity timeout.
    pub idle_closes: u64,
    /// Connections to seeds closed by a peer that completed (`close_redundant`).
    pub redundant_closes: u64,
    /// If enabled: (time, node, what) of every rechoke ("rechoke"), optimistic
    /// unchoke ("optimistic"), connection closed by the inactivity timeout
    /// ("idle-close", the node whose rechoke closed it) and connection to a seed
    /// closed by a peer that completed ("redundant-close", that peer). Rechokes that
    /// an idle swarm skips are counted in `rechokes`, not traced.
    pub trace: Option<Vec<(Time, NodeId, &'static str)>>,
}

/// The BitTorrent protocol over the simulation kernel.
pub struct BitTorrent {
    cfg: BitTorrentConfig,
    chunks: u32,
    words: usize,
    buckets: usize,
    optimistic_every: u64,
    /// Consecutive idle rechokes that close a connection (0: never;
    /// `BitTorrentConfig::idle_checks`).
    idle_checks: u8,
    nodes: Vec<Node>,
    /// Whether each node is in the swarm (dense: read for every HAVE).
    present: Vec<bool>,
    /// Each node's one-way access latency, seconds (dense: read for every message).
    latency: Vec<f64>,
    /// Whether any node has a latency (if not, messages are never delayed).
    any_latency: bool,
    have: Vec<u64>,
    /// Each node's allowed-fast set (`allowed_fast` chunks, a row of `words` per
    /// node; `blocks.rs`): the chunks every neighbour serves it while choking it.
    /// Empty when the scenario has none or requests whole chunks.
    fast: Vec<u64>,
    /// Chunks each node has (dense: read for interest tests).
    held: Vec<u32>,
    pending: Vec<u64>,
    /// Each node's count, per chunk, of its neighbours that have the chunk (the
    /// rarest-first input), a row of `chunks` per node. When the picker does not
    /// read the counts (`count_avail` false) there is one row, a sink that the
    /// chunk-arrival pass increments for every node (with a row stride of 0) and
    /// that nothing reads: that pass then needs no test.
    avail: Counts,
    /// Whether `avail` is kept: the picker's `uses_local_avail`.
    count_avail: bool,
    copies: Vec<u32>,
    /// Every node's links, in blocks of `kcap` (the most connections a node may
    /// have): node `n`'s are `links[block[n] * kcap..][..deg[n]]`, in the order they
    /// were opened (a closed one is swap-removed). One flat table, so that the other
    /// end's copy of a link (at `Link::peer` in its node's block) is one load away.
    links: Vec<Link>,
    /// Rate history of each link slot, `2 * buckets` floats per slot in the same
    /// block layout (moved with its link): the bytes received from the neighbour per
    /// rechoke period, then the bytes sent to it (each a ring of `buckets`), beside
    /// each other so that rechokes and slot filling read them in order.
    rates: Vec<f32>,
    /// Each link slot's unchoke history, in the same block layout (moved with its
    /// link); empty unless `track_history`.
    history: Vec<UnchokeRec>,
    /// Whether a choker reads the unchoke history.
    track_history: bool,
    /// Under the block pipeline, each link slot's queue record (the downloader's
    /// end of the connection), in the same block layout (moved with its link);
    /// empty otherwise.
    queues: Vec<blocks::Queue>,
    /// The rest of a top-up's run of adjacent whole chunks, last first
    /// (`whole_pieces_rule = "adjacent-runs"`).
    run: Vec<u32>,
    /// Under the block pipeline, each node's started chunks with bytes nobody was
    /// asked for (`free` above half a byte) and those partly received with nothing
    /// asked (`idle`), a row of `words` per node each, kept with the record of
    /// started chunks (started.rs); empty otherwise.
    started_free: Vec<u64>,
    started_idle: Vec<u64>,
    /// Under the block pipeline, the bytes each node has received of each chunk in
    /// finished or cancelled parts (a row of `chunks` per node, at
    /// [`BitTorrent::cell`]; 0 for a chunk held whole or not started), which takes
    /// the place of the nodes' `partial` lists (a lookup is one read, not a
    /// search); empty otherwise.
    got: Vec<f64>,
    /// Under the block pipeline, each node's started chunks' bytes nobody was
    /// asked for (a row of `chunks` per node, read only where the chunk's bit in
    /// `started_free` or `started_idle` is set; started.rs); empty otherwise.
    free: Vec<f64>,
    /// Each link slot's [`blocks::TickRec`] (the averaged rate and the last
    /// request), in the same block layout, while a leecher's 1-s tick is on
    /// ([`BitTorrent::ticking`]); empty otherwise.
    ticks: Vec<blocks::TickRec>,
    /// Each node's block of links (`NONE` before it arrives and after it leaves).
    block: Vec<u32>,
    /// Each node's number of links.
    deg: Vec<u32>,
    /// Blocks given back by departed nodes.
    free_blocks: Vec<u32>,
    /// Links per block: `max_connections`.
    kcap: usize,
    /// With at most 128 links per node (the default is 80): for each node, a bit
    /// per link position set while the neighbour unchokes the node
    /// (`Link::unchoked`), and one set while the node unchokes the neighbour
    /// (`Link::unchoking`), so that walks over just those links (a handful) need
    /// not scan all the links. Empty with larger blocks (then the links are
    /// scanned).
    unchoked_mask: Vec<u128>,
    unchoking_mask: Vec<u128>,
    /// For each node, `want_words` words with a bit per link position, set while
    /// the neighbour may be interested in the node; clear only when it surely is
    /// not. A neighbour's interest in a node arises only when the node gains a chunk
    /// the neighbour lacks (which sets the bit) or when they connect (set then), so
    /// scans for interested neighbours (slot filling, rechokes) walk only the set
    /// bits, and clear the bit of each link that the test finds uninterested: the
    /// same choices as testing every link. A chunk's arrival finds most bits set and
    /// tests only the others' bitfields.
    want: Vec<u64>,
    /// Words per node in `want`: `kcap` bits, rounded up.
    want_words: usize,
    conns: Vec<Conn>,
    free_conns: Vec<u32>,
    tracker: Vec<NodeId>,
    tracker_pos: Vec<u32>,
    seeding: Vec<Seeding>,
    picker: Box<dyn PiecePicker>,
    leech_choker: Box<dyn Choker>,
    seed_choker: Box<dyn Choker>,
    /// Reusable buffers (see [`Scratch`]).
    scratch: Scratch,
    completions_since_watchdog: u64,
    /// REQUEST and HAVE messages on their way (timers set, not yet fired): while
    /// any is, the swarm is not stalled.
    messages_in_flight: u64,
    /// Whether periodic timers sleep through idle stretches (`next_tick`; off only
    /// in tests that compare the two).
    skip_idle: bool,
    /// When a connection was last closed (None: never); with an inactivity timeout
    /// a rechoke may sleep only after the last one closed (`BitTorrent::rechoke`).
    last_close: Option<Time>,
    /// Counters (and an optional trace of rechokes).
    pub stats: Stats,
}

/// Buffers reused from one event to the next, so that the hot paths allocate
/// nothing. A method borrows the field it needs; one that walks a list while it
/// calls methods that change the protocol takes the list out and puts it back.
#[derive(Debug, Default)]
struct Scratch {
    /// The chunks a pick may choose from (a bitfield).
    words: Vec<u64>,
    /// A rechoke's candidates.
    cands: Vec<Candidate>,
    /// Link positions: those a chunk's arrival freed, or a rechoke's candidates'.
    conns: Vec<u32>,
    /// The candidates a choker chose.
    out: Vec<usize>,
    /// Links (positions) freed by a finished transfer, to request on again.
    freed: Vec<u32>,
    /// Indices of choked candidates at an optimistic round.
    choked: Vec<usize>,
    /// Links of a node where a chunk's arrival may cause a reaction.
    react: Vec<u32>,
    /// Links a retry walks.
    retry: Vec<u32>,
    /// Part ids of a node's downloads, sorted (endgame's group sizes).
    parts: Vec<u32>,
    /// The block pipeline's parts of chunks an uploader has: (chunk, part, bytes
    /// asked and not yet credited).
    open: Vec<(u32, u32, f64)>,
    /// A node's record of started chunks, rebuilt whole (started.rs).
    started: Vec<started::Started>,
    /// Link positions a rechoke may change, and those it keeps unchoked.
    touch: Vec<u32>,
    keep: Vec<u32>,
    /// Connections to close: idle ones at a rechoke, or a new seed's to seeds.
    idle: Vec<u32>,
    /// Whether each candidate of a rechoke is unchoked.
    unchoke: Vec<bool>,
    /// For each link of the node being rechoked, its index among the candidates
    /// (`NONE` when it is not one).
    cand_of: Vec<u32>,
}

impl BitTorrent {
    /// The protocol with the scenario's policies. Schedules the server's timers.
    pub fn new(s: &Scenario, sim: &mut Sim) -> BitTorrent {
        let c = &s.bittorrent;
        BitTorrent::with_policies(
            s,
            sim,
            policy::picker(c.picker, c.random_first),
            policy::leech_choker(c),
            policy::seed_choker(c, s.file_bytes as f64, s.chunk_bytes as f64),
        )
    }

    /// The protocol with user-supplied policies.
    pub fn with_policies(
        s: &Scenario,
        sim: &mut Sim,
        picker: Box<dyn PiecePicker>,
        leech_choker: Box<dyn Choker>,
        seed_choker: Box<dyn Choker>,
    ) -> BitTorrent {
        let mut cfg = s.bittorrent.clone();
        if cfg.requests == crate::scenario::RequestModel::Blocks {
            // Under the block pipeline the queue depth bounds the requests; the
            // link's request counters (which the HAVE and retry paths compare with
            // `requests_in_flight`) count runs, at most `MAX_RUNS`.
            cfg.requests_in_flight = blocks::MAX_RUNS;
        }
        let count_avail = picker.uses_local_avail();
        let track_history = tracks_history(&cfg, &*leech_choker, &*seed_choker);
        let chunks = s.chunks() as u32;
        let words = (chunks as usize).div_ceil(64);
        let n = s.peers() as usize + 1;
        let mut nodes = vec![
            Node {
                optimistic: NONE,
                ..Node::default()
            };
            n
        ];
        let mut seeding = Vec::with_capacity(n);
        let mut latency = vec![0.0; n];
        // The server is present from the start.
        let mut present = vec![false; n];
        present[SERVER as usize] = true;
        seeding.push(Seeding::Never);
        let mut i = 1;
        for c in &s.classes {
            for _ in 0..c.count {
                nodes[i].free_rider = c.upload == 0.0;
                latency[i] = c.latency;
                seeding.push(c.seeding);
                i += 1;
            }
        }
        let mut have = vec![0u64; n * words];
        // The server has every chunk.
        for c in 0..chunks as usize {
            have[c / 64] |= 1 << (c % 64);
        }
        let server = &mut nodes[SERVER as usize];
        server.complete = true;
        let mut held = vec![0u32; n];
        held[SERVER as usize] = chunks;
        let buckets = rate_buckets(&cfg);
        let optimistic_every = (cfg.optimistic_interval / cfg.rechoke_interval)
            .round()
            .max(1.0) as u64;
        // (A node can have no more links than there are other nodes.)
        let kcap = (cfg.max_connections as usize).min(n - 1).max(1);
        let want_words = kcap.div_ceil(64);
        let mut bt = BitTorrent {
            chunks,
            words,
            buckets,
            optimistic_every,
            idle_checks: cfg.idle_checks(),
            nodes,
            present,
            any_latency: latency.iter().any(|&l| l > 0.0),
            latency,
            have,
            fast: Vec::new(),
            held,
            pending: vec![0u64; n * words],
            avail: Counts::new(if count_avail { n } else { 1 } * chunks as usize, kcap),
            count_avail,
            copies: vec![0u32; chunks as usize],
            links: Vec::new(),
            rates: Vec::new(),
            history: Vec::new(),
            track_history,
            queues: Vec::new(),
            run: Vec::new(),
            started_free: Vec::new(),
            started_idle: Vec::new(),
            got: Vec::new(),
            free: Vec::new(),
            ticks: Vec::new(),
            block: vec![NONE; n],
            deg: vec![0; n],
            free_blocks: Vec::new(),
            kcap,
            unchoked_mask: Vec::new(),
            unchoking_mask: Vec::new(),
            want: vec![0; n * want_words],
            want_words,
            conns: Vec::new(),
            free_conns: Vec::new(),
            last_close: None,
            tracker: vec![SERVER],
            tracker_pos: vec![NONE; n],
            seeding,
            picker,
            leech_choker,
            seed_choker,
            scratch: Scratch {
                words: vec![0; words],
                ..Scratch::default()
            },
            completions_since_watchdog: 0,
            messages_in_flight: 0,
            skip_idle: true,
            stats: Stats::default(),
            cfg,
        };
        bt.tracker_pos[SERVER as usize] = 0;
        if bt.kcap <= 128 {
            bt.unchoked_mask = vec![0; n];
            bt.unchoking_mask = vec![0; n];
        }
        bt.draw_allowed_fast(sim);
        if bt.blocks() {
            bt.started_free = vec![0; n * words];
            bt.started_idle = vec![0; n * words];
            bt.got = vec![0.0; n * chunks as usize];
            bt.free = vec![0.0; n * chunks as usize];
        }
        bt.take_block(SERVER);
        let at = sim.after(bt.cfg.rechoke_interval);
        sim.set_timer(at, BtTimer::Rechoke { node: SERVER });
        let at = sim.after(bt.watchdog_period());
        sim.set_timer(at, BtTimer::Watchdog);
        bt
    }

    /// The same protocol walking all links instead of using the choke bit masks
    /// (what blocks of more than 128 links do), for tests that compare the two.
    #[cfg(test)]
    fn without_masks(mut self) -> Self {
        self.unchoked_mask = Vec::new();
        self.unchoking_mask = Vec::new();
        self
    }

    /// Whether node `n` holds chunk `c`.
    fn has(&self, n: NodeId, c: u32) -> bool {
        bitset::get_at(&self.have, n as usize * self.words, c as usize)
    }

    /// Whether `a` is interested in `b` ([`Bits::interested`]).
    fn interested(&self, a: NodeId, b: NodeId) -> bool {
        self.bits().interested(a, b)
    }

    /// Read access to the bitfields, borrowed apart from the nodes.
    fn bits(&self) -> Bits<'_> {
        Bits {
            have: &self.have,
            held: &self.held,
            words: self.words,
            chunks: self.chunks,
        }
    }

    /// Whether chunk `c` is requested by node `n`.
    fn is_fast(&self, n: NodeId, c: u32) -> bool {
        !self.fast.is_empty()
            && self.fast[n as usize * self.words + c as usize / 64] >> (c % 64) & 1 == 1
    }

    fn is_pending(&self, n: NodeId, c: u32) -> bool {
        bitset::get_at(&self.pending, n as usize * self.words, c as usize)
    }

    /// Sets or clears bit `c` of node `n`'s row (`words` words) of `v`.
    fn set_bit(v: &mut [u64], words: usize, n: NodeId, c: u32, on: bool) {
        bitset::assign_at(v, n as usize * words, c as usize, on);
    }

    /// Where chunk `c` of node `n` is in the block pipeline's dense rows (`got`,
    /// `free`: a row of `chunks` per node).
    #[inline(always)]
    fn cell(&self, n: NodeId, c: u32) -> usize {
        n as usize * self.chunks as usize + c as usize
    }

    /// Node `n`'s row of `words` words in `v`.
    fn row(v: &[u64], words: usize, n: NodeId) -> &[u64] {
        &v[n as usize * words..(n as usize + 1) * words]
    }

    /// [`Self::row`], to change.
    fn row_mut(v: &mut [u64], words: usize, n: NodeId) -> &mut [u64] {
        &mut v[n as usize * words..(n as usize + 1) * words]
    }

    /// Delay of a message from `a` to `b`: both access links' one-way latency.
    fn delay(&self, a: NodeId, b: NodeId) -> f64 {
        self.latency[a as usize] + self.latency[b as usize]
    }
}

/// The records the prefetch policy ([`super::prefetch`]) names; accessors only.
impl BitTorrent {
    /// Node `n`'s record.
    #[inline]
    pub(in crate::model) fn node_record(&self, n: NodeId) -> &impl Sized {
        &self.nodes[n as usize]
    }

    /// Which block of links node `n` has (its entry in the block table).
    #[inline]
    pub(in crate::model) fn block_entry(&self, n: NodeId) -> &impl Sized {
        &self.block[n as usize]
    }

    /// The first word of node `n`'s have row.
    #[inline]
    pub(in crate::model) fn have_row_start(&self, n: NodeId) -> &impl Sized {
        &self.have[n as usize * self.words]
    }

    /// Node `n`'s first download in progress, if any.
    #[inline]
    pub(in crate::model) fn first_download(&self, n: NodeId) -> Option<&impl Sized> {
        self.nodes[n as usize].downloads.first()
    }

    /// The first link slot of node `n`'s block of links, if it has a block.
    #[inline]
    pub(in crate::model) fn block_link_row(&self, n: NodeId) -> Option<&impl Sized> {
        let b = self.block[n as usize];
        (b != NONE).then(|| &self.links[b as usize * self.kcap])
    }
}

impl Protocol for BitTorrent {
    type Timer = BtTimer;

    /// BitTorrent reads no flow lists or per-flow rates of the network.
    fn processor_sharing(&self) -> bool {
        true
    }

    #[inline]
    fn prefetch(&self, src: NodeId, dst: NodeId, deep: bool) {
        super::prefetch::bittorrent(self, src, dst, deep);
    }

    fn on_arrival(&mut self, sim: &mut Sim, p: u32) {
        self.join(sim, node_of(p));
    }

    fn on_transfer_done(&mut self, sim: &mut Sim, f: FlowId, t: Transfer) {
        self.part_done(sim, f, t);
    }

    fn on_timer(&mut self, sim: &mut Sim, timer: BtTimer) {
        self.fire(sim, timer);
    }

    fn rarest_copies(&self, _sim: &Sim) -> Option<u32> {
        self.copies.iter().copied().min()
    }
}

#[cfg(test)]
mod tests;
