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

pub mod policy;

use super::{Protocol, SERVER, Sim, Transfer, node_of, peer_of};
use crate::engine::{Time, prefetch};
use crate::network::{FlowId, NodeId};
use crate::scenario::{BitTorrentConfig, Scenario, Seeding};
use policy::{AvailRow, Candidate, Choker, PickContext, PiecePicker};
use rand::Rng;
use rand::seq::index;
use rand_distr::{Distribution, Exp};

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

// Timer kinds.
const RECHOKE: u32 = 0;
const ANNOUNCE: u32 = 1;
const DEPART: u32 = 2;
const REQUEST: u32 = 3;
const HAVE: u32 = 4;
const WATCHDOG: u32 = 5;

/// The availability counts of every node, in the narrowest unsigned integer that
/// holds a node's most neighbours ([`AvailRow`]).
#[derive(Clone, Debug)]
enum Counts {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

/// A counter of [`Counts`].
trait Counter: Copy {
    /// Adds `delta` (the count stays within its type: at most a node's degree).
    fn add(&mut self, delta: i32);
    /// Adds one, wrapping (only the sink row, which nothing reads, can wrap);
    /// returns whether the result is zero.
    fn bump(&mut self) -> bool;
}

macro_rules! counter {
    ($($t:ty),*) => {$(
        impl Counter for $t {
            #[inline(always)]
            fn add(&mut self, delta: i32) {
                let sum = i64::from(*self) + i64::from(delta);
                debug_assert!(
                    (0..=i64::from(<$t>::MAX)).contains(&sum),
                    "availability count out of range"
                );
                *self = sum as $t;
            }
            #[inline(always)]
            fn bump(&mut self) -> bool {
                *self = self.wrapping_add(1);
                *self == 0
            }
        }
    )*};
}
counter!(u8, u16, u32);

impl Counts {
    /// `len` zero counts, wide enough for `most` neighbours.
    fn new(len: usize, most: usize) -> Counts {
        if most <= u8::MAX as usize {
            Counts::U8(vec![0; len])
        } else if most <= u16::MAX as usize {
            Counts::U16(vec![0; len])
        } else {
            Counts::U32(vec![0; len])
        }
    }

    /// Entries `at..at + len`, for a picker.
    fn row(&self, at: usize, len: usize) -> AvailRow<'_> {
        match self {
            Counts::U8(v) => AvailRow::U8(&v[at..at + len]),
            Counts::U16(v) => AvailRow::U16(&v[at..at + len]),
            Counts::U32(v) => AvailRow::U32(&v[at..at + len]),
        }
    }

    /// Number of entries.
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Counts::U8(v) => v.len(),
            Counts::U16(v) => v.len(),
            Counts::U32(v) => v.len(),
        }
    }

    /// Entry `i`.
    #[cfg(test)]
    fn get(&self, i: usize) -> u32 {
        self.row(i, 1).get(0)
    }
}

/// Adds `delta` to the entries of `row` at the set bits of `bits`.
fn add_at<T: Counter>(row: &mut [T], bits: impl Iterator<Item = u32>, delta: i32) {
    for c in bits {
        row[c as usize].add(delta);
    }
}

/// [`add_at`] for one-byte counts with `delta` 1 or -1 and the bits given as words
/// (bit `c % 64` of word `c / 64` for count `c`; no bit at or past `row.len()`): a
/// word with more than 8 bits set is added 8 counts at a time, as one 64-bit sum of
/// its bits spread one to a byte. The sums are those of one count at a time: no
/// count leaves `0..=255` (it is at most the node's degree), so no byte carries
/// into or borrows from the next. A connection that opens or closes adds or
/// subtracts the other end's whole bitfield, up to every chunk of the file: in a
/// swarm with churn that is 14 % of the instructions counted one at a time.
fn add_bits_u8(row: &mut [u8], bits: &[u64], delta: i32) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    debug_assert!(delta == 1 || delta == -1);
    let full = row.len() / 64;
    for (wi, &word) in bits.iter().enumerate() {
        if word == 0 {
            continue;
        }
        if wi >= full || word.count_ones() <= 8 {
            // (A sparse word, or the last, partial one: count by count.)
            add_at(row, policy::ones_in(wi..wi + 1, |i| bits[i]), delta);
            continue;
        }
        let (groups, _) = row[wi * 64..][..64].as_chunks_mut::<8>();
        for (k, g) in groups.iter_mut().enumerate() {
            let b = word >> (8 * k) & 0xFF;
            if b == 0 {
                continue;
            }
            // Byte i of `x` is bit i of `b` in place (0 or 1 << i); adding 0x7f
            // to each byte sets its top bit exactly where that is not 0.
            let x = (b * ONES) & 0x8040_2010_0804_0201;
            let spread = (x + 0x7f7f_7f7f_7f7f_7f7f) >> 7 & ONES;
            let v = u64::from_le_bytes(*g);
            debug_assert!(
                g.iter()
                    .enumerate()
                    .all(|(i, &n)| b >> i & 1 == 0 || if delta > 0 { n < 255 } else { n > 0 }),
                "availability count out of range"
            );
            *g = if delta > 0 { v + spread } else { v - spread }.to_le_bytes();
        }
    }
}

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
            let reacts = delayed
                || if l.unchoking {
                    (l.requested as u32) < self.rif
                } else {
                    self.may_unchoke
                };
            react[listed_to] = i as u32;
            listed_to += reacts as usize;
        }
        listed_to
    }
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
    /// Size of the transfer (its flow's size once started).
    bytes: f64,
    /// Bytes of this transfer already counted as received (in `Node::partial`) or
    /// as wasted at a rebase; only the rest is credited when it ends.
    credited: f64,
}

/// What a peer asks of a neighbour.
enum Ask {
    /// A chunk nobody is sending it yet (the rest of it, if partly received).
    New(u32),
    /// Half of the largest part of a chunk already coming from elsewhere (different
    /// blocks of one piece from two peers, as BitTorrent requests 16 KiB blocks).
    Split(usize),
    /// The same bytes as a part coming from elsewhere (endgame).
    Duplicate(usize),
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

/// Sets or clears bit `i` of `m`.
#[inline(always)]
fn set_bit128(m: &mut u128, i: u32, on: bool) {
    if on {
        *m |= 1 << i;
    } else {
        *m &= !(1 << i);
    }
}

/// BitTorrent's request size: a part is never split below two of these.
const BLOCK: f64 = 16384.0;

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

#[derive(Clone, Debug, Default)]
struct Node {
    pending_count: u32,
    complete: bool,
    free_rider: bool,
    regular: u32,
    optimistic: u32,
    period: u32,
    rechokes: u64,
    cursor: u32,
    announce_at: Option<Time>,
    last_announce: Option<Time>,
    /// When a part last finished arriving at this node (None: never).
    last_got: Option<Time>,
    /// Parts of chunks on their way to this node.
    downloads: Vec<Part>,
    /// Chunks with bytes received but not all: (chunk, bytes received).
    partial: Vec<(u32, f64)>,
    /// Source of part ids.
    next_part: u32,
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
    /// closed by a peer that completed ("redundant-close", that peer).
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
    /// same choices as testing every link. In `homog-1k-fast` a third of the bits
    /// are set when a slot is filled; a chunk's arrival finds 91 % of them set, and
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
    scratch_words: Vec<u64>,
    scratch_cands: Vec<Candidate>,
    scratch_conns: Vec<u32>,
    scratch_out: Vec<usize>,
    /// Links (positions) freed by a finished transfer, to request on again.
    scratch_freed: Vec<u32>,
    /// Indices of choked candidates at an optimistic round.
    scratch_choked: Vec<usize>,
    /// Links of a node where a chunk's arrival may cause a reaction.
    scratch_react: Vec<u32>,
    /// Links a retry walks.
    scratch_retry: Vec<u32>,
    /// Part ids of a node's downloads, sorted (endgame's group sizes).
    scratch_parts: Vec<u32>,
    /// Link positions a rechoke may change, and those it keeps unchoked.
    scratch_touch: Vec<u32>,
    scratch_keep: Vec<u32>,
    /// Connections a rechoke found idle for long enough to close.
    scratch_idle: Vec<u32>,
    /// Whether each candidate of a rechoke is unchoked.
    scratch_unchoke: Vec<bool>,
    /// For each link of the node being rechoked, its index among the candidates
    /// (`NONE` when it is not one).
    cand_of: Vec<u32>,
    completions_since_watchdog: u64,
    /// Counters (and an optional trace of rechokes).
    pub stats: Stats,
}

impl BitTorrent {
    /// The protocol with the scenario's policies. Schedules the server's timers.
    pub fn new(s: &Scenario, sim: &mut Sim) -> BitTorrent {
        let c = &s.bittorrent;
        BitTorrent::with_policies(
            s,
            sim,
            policy::picker(c.picker, c.random_first),
            policy::leech_choker(c.choker),
            policy::seed_choker(c.seed_choker),
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
        let cfg = s.bittorrent.clone();
        let count_avail = picker.uses_local_avail();
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
            held,
            pending: vec![0u64; n * words],
            avail: Counts::new(if count_avail { n } else { 1 } * chunks as usize, kcap),
            count_avail,
            copies: vec![0u32; chunks as usize],
            links: Vec::new(),
            rates: Vec::new(),
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
            tracker: vec![SERVER],
            tracker_pos: vec![NONE; n],
            seeding,
            picker,
            leech_choker,
            seed_choker,
            scratch_words: vec![0; words],
            scratch_cands: Vec::new(),
            scratch_conns: Vec::new(),
            scratch_out: Vec::new(),
            scratch_freed: Vec::new(),
            scratch_choked: Vec::new(),
            scratch_react: Vec::new(),
            scratch_retry: Vec::new(),
            scratch_touch: Vec::new(),
            scratch_parts: Vec::new(),
            scratch_keep: Vec::new(),
            scratch_idle: Vec::new(),
            scratch_unchoke: Vec::new(),
            cand_of: Vec::new(),
            completions_since_watchdog: 0,
            stats: Stats::default(),
            cfg,
        };
        bt.tracker_pos[SERVER as usize] = 0;
        if bt.kcap <= 128 {
            bt.unchoked_mask = vec![0; n];
            bt.unchoking_mask = vec![0; n];
        }
        bt.take_block(SERVER);
        let at = sim.after(bt.cfg.rechoke_interval);
        sim.set_timer(at, NONE, RECHOKE, SERVER, 0);
        let at = sim.after(bt.watchdog_period());
        sim.set_timer(at, NONE, WATCHDOG, 0, 0);
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

    fn watchdog_period(&self) -> f64 {
        let p = (20.0 * self.cfg.rechoke_interval)
            .max(2.0 * self.cfg.reannounce_interval)
            .max(600.0);
        if self.idle_checks == 0 {
            return p;
        }
        // With an inactivity timeout a quiet swarm can still recover: an idle
        // connection closes within (checks + 1) rechoke periods of the last chunk
        // moved, and a peer left with too few neighbours announces again within a
        // re-announce interval; the window covers both, with two rechokes to spare.
        p.max(
            (self.idle_checks as f64 + 3.0) * self.cfg.rechoke_interval
                + self.cfg.reannounce_interval,
        )
    }

    fn has(&self, n: NodeId, c: u32) -> bool {
        self.have[n as usize * self.words + c as usize / 64] >> (c % 64) & 1 == 1
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

    fn is_pending(&self, n: NodeId, c: u32) -> bool {
        self.pending[n as usize * self.words + c as usize / 64] >> (c % 64) & 1 == 1
    }

    fn set_bit(v: &mut [u64], words: usize, n: NodeId, c: u32, on: bool) {
        let w = &mut v[n as usize * words + c as usize / 64];
        if on {
            *w |= 1 << (c % 64);
        } else {
            *w &= !(1 << (c % 64));
        }
    }

    fn row(v: &[u64], words: usize, n: NodeId) -> &[u64] {
        &v[n as usize * words..(n as usize + 1) * words]
    }

    fn row_mut(v: &mut [u64], words: usize, n: NodeId) -> &mut [u64] {
        &mut v[n as usize * words..(n as usize + 1) * words]
    }

    fn other(&self, conn: u32, n: NodeId) -> NodeId {
        let c = &self.conns[conn as usize];
        if c.ends[0] == n { c.ends[1] } else { c.ends[0] }
    }

    /// Position of `n`'s link over `conn` among its links.
    fn pos_of(&self, conn: u32, n: NodeId) -> u32 {
        let k = &self.conns[conn as usize];
        k.pos[k.idx(n)]
    }

    /// Index in `links` of node `n`'s first link.
    #[inline(always)]
    fn lbase(&self, n: NodeId) -> usize {
        self.block[n as usize] as usize * self.kcap
    }

    /// Node `n`'s links, in order.
    #[inline]
    fn links_of(&self, n: NodeId) -> &[Link] {
        let d = self.deg[n as usize] as usize;
        if d == 0 {
            return &[];
        }
        let b = self.lbase(n);
        &self.links[b..b + d]
    }

    /// Node `n`'s link at position `i`.
    #[inline(always)]
    fn lk(&self, n: NodeId, i: u32) -> &Link {
        debug_assert!(i < self.deg[n as usize]);
        &self.links[self.lbase(n) + i as usize]
    }

    /// Node `n`'s link at position `i`, to change.
    #[inline(always)]
    fn lk_mut(&mut self, n: NodeId, i: u32) -> &mut Link {
        debug_assert!(i < self.deg[n as usize]);
        let b = self.lbase(n);
        &mut self.links[b + i as usize]
    }

    /// Node `n`'s links (mutable) and their rate histories (`2 * buckets` floats
    /// each), with the bitfields for interest tests beside them and the node's
    /// `want` bits: the split borrow that slot filling and rechokes walk.
    #[inline(always)]
    fn links_and_rates(&mut self, n: NodeId) -> (Bits<'_>, &mut [Link], &[f32], &mut [u64]) {
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
    fn rbase(&self, n: NodeId) -> usize {
        self.block[n as usize] as usize * self.kcap * 2 * self.buckets
    }

    /// Gives node `n` a block of links (on arrival; the server at the start).
    fn take_block(&mut self, n: NodeId) {
        debug_assert_eq!(self.block[n as usize], NONE);
        let b = match self.free_blocks.pop() {
            Some(b) => b,
            None => {
                let b = self.links.len() / self.kcap;
                self.links
                    .resize(self.links.len() + self.kcap, Link::default());
                self.rates
                    .resize(self.rates.len() + self.kcap * 2 * self.buckets, 0.0);
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
    fn add_in_flight(&mut self, dl: NodeId, i: u32, delta: i32) {
        let l = self.lk_mut(dl, i);
        l.in_flight = (l.in_flight as i32 + delta) as u8;
        let (ul, pu, n) = (l.other, l.peer, l.in_flight);
        let u = self.lk_mut(ul, pu);
        u.requested = (u.requested as i32 + delta) as u8;
        debug_assert_eq!(n, u.requested);
    }

    /// Records whether `ul` chokes the other end of its link at position `i`, in
    /// both ends' copies.
    fn set_choking(&mut self, ul: NodeId, i: u32, choking: bool) {
        let l = self.lk_mut(ul, i);
        l.unchoking = !choking;
        let (dl, pd) = (l.other, l.peer);
        self.lk_mut(dl, pd).unchoked = !choking;
        if !self.unchoked_mask.is_empty() {
            set_bit128(&mut self.unchoking_mask[ul as usize], i, !choking);
            set_bit128(&mut self.unchoked_mask[dl as usize], pd, !choking);
        }
    }

    /// Pushes onto `out`, in link order, the positions of `n`'s links whose
    /// neighbour unchokes `n` (`unchoked`) or that `n` unchokes (`!unchoked`).
    fn choke_list(&self, n: NodeId, unchoked: bool, out: &mut Vec<u32>) {
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

    /// Delay of a message from `a` to `b`: both access links' one-way latency.
    fn delay(&self, a: NodeId, b: NodeId) -> f64 {
        self.latency[a as usize] + self.latency[b as usize]
    }

    // ----- tracker and connections -----

    fn announce(&mut self, sim: &mut Sim, n: NodeId) {
        let node = &mut self.nodes[n as usize];
        node.last_announce = Some(sim.now);
        node.announce_at = None;
        let len = self.tracker.len();
        let want = (self.cfg.max_peers as usize).min(len);
        let picked: Vec<NodeId> = index::sample(&mut sim.rng, len, want)
            .into_iter()
            .map(|i| self.tracker[i])
            .collect();
        let cap = self.cfg.max_connections;
        for m in picked {
            if self.deg[n as usize] >= cap {
                break;
            }
            if m == n
                || self.deg[m as usize] >= cap
                || self.links_of(n).iter().any(|l| l.other == m)
            {
                continue;
            }
            self.connect(sim, n, m);
        }
        self.maybe_reannounce(sim, n);
    }

    /// One re-announce interval after `t` (`Time::MAX` if that is beyond virtual
    /// time).
    fn reannounce_after(&self, t: Time) -> Time {
        let d = Time::from_secs_ceil(self.cfg.reannounce_interval).unwrap_or(Time::MAX);
        t.checked_add(d).unwrap_or(Time::MAX)
    }

    /// Schedules an announce if `n` is a leecher with too few neighbours.
    fn maybe_reannounce(&mut self, sim: &mut Sim, n: NodeId) {
        let node = &self.nodes[n as usize];
        if n == SERVER
            || !self.present[n as usize]
            || node.complete
            || node.announce_at.is_some()
            || self.deg[n as usize] >= self.cfg.min_peers
        {
            return;
        }
        let earliest = match node.last_announce {
            Some(t) => self.reannounce_after(t),
            None => sim.now,
        };
        let at = earliest.max(sim.now);
        self.nodes[n as usize].announce_at = Some(at);
        sim.set_timer(at, peer_of(n), ANNOUNCE, n, 0);
    }

    fn connect(&mut self, sim: &mut Sim, a: NodeId, b: NodeId) {
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

    /// Appends a link at position `pos` (the current degree) to node `n`'s links.
    fn lk_mut_new(&mut self, n: NodeId, pos: u32) -> &mut Link {
        debug_assert_eq!(pos, self.deg[n as usize]);
        debug_assert!((pos as usize) < self.kcap);
        self.deg[n as usize] += 1;
        self.lk_mut(n, pos)
    }

    /// Adds (`sign` = 1) or removes (-1) `from`'s chunks to `to`'s availability.
    fn add_avail(&mut self, to: NodeId, from: NodeId, sign: i32) {
        if to == SERVER || !self.count_avail {
            return;
        }
        let (base, chunks) = (to as usize * self.chunks as usize, self.chunks as usize);
        let from_row = Self::row(&self.have, self.words, from);
        match &mut self.avail {
            Counts::U8(v) => add_bits_u8(&mut v[base..base + chunks], from_row, sign),
            Counts::U16(v) => add_at(&mut v[base..base + chunks], policy::ones(from_row), sign),
            Counts::U32(v) => add_at(&mut v[base..base + chunks], policy::ones(from_row), sign),
        }
    }

    fn disconnect(&mut self, sim: &mut Sim, id: u32) {
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
                    set_bit128(mask, pos, moved);
                    set_bit128(mask, last, false);
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

    // ----- interest, choking, requests -----

    fn slots(&self) -> u32 {
        self.cfg.unchoke_slots
    }

    fn choker_for(&mut self, n: NodeId) -> &mut Box<dyn Choker> {
        if self.nodes[n as usize].complete {
            &mut self.seed_choker
        } else {
            &mut self.leech_choker
        }
    }

    /// `dl` became interested in the other end `ul` of its link at position `i`: it
    /// requests if `ul` unchokes it, otherwise `ul` unchokes it if it has a free slot.
    fn became_interested(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
        let l = *self.lk(dl, i);
        if !l.unchoked {
            let ul = l.other;
            let unlimited = !self.choker_for_ref(ul).uses_optimistic();
            if self.can_unchoke(ul, unlimited) {
                self.unchoke(sim, ul, l.peer, false);
            }
        } else {
            self.try_request(sim, dl, i);
        }
    }

    /// Whether `n` may unchoke one more neighbour now: it is no free rider and has a
    /// free regular slot (`unlimited`: its choker has no slot limit, see
    /// [`Choker::uses_optimistic`]; passed in so that loops can look it up once).
    fn can_unchoke(&self, n: NodeId, unlimited: bool) -> bool {
        let u = &self.nodes[n as usize];
        !u.free_rider && (unlimited || u.regular < self.slots())
    }

    fn choker_for_ref(&self, n: NodeId) -> &dyn Choker {
        if self.nodes[n as usize].complete {
            &*self.seed_choker
        } else {
            &*self.leech_choker
        }
    }

    /// The other end of `ul`'s link at position `i` lost interest in `ul`: `ul`
    /// chokes it and gives the slot to another.
    fn became_uninterested(&mut self, sim: &mut Sim, ul: NodeId, i: u32) {
        if self.lk(ul, i).unchoking {
            self.choke(sim, ul, i);
            self.fill_slots(sim, ul);
        }
    }

    /// Unchokes interested neighbours of `n` while it has free regular slots (by the
    /// rate they uploaded to `n`, then by node id).
    fn fill_slots(&mut self, sim: &mut Sim, n: NodeId) {
        if self.nodes[n as usize].free_rider || !self.present[n as usize] {
            return;
        }
        let unlimited = !self.choker_for_ref(n).uses_optimistic();
        loop {
            if !unlimited && self.nodes[n as usize].regular >= self.slots() {
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
    fn unchoke(&mut self, sim: &mut Sim, ul: NodeId, i: u32, optimistic: bool) {
        debug_assert!(!self.lk(ul, i).unchoking);
        self.set_choking(ul, i, false);
        let l = self.lk_mut(ul, i);
        l.optimistic = optimistic;
        let (dl, pd, conn) = (l.other, l.peer, l.conn);
        sim.trace_choke(ul, dl, true, optimistic);
        if optimistic {
            self.nodes[ul as usize].optimistic = conn;
        } else {
            self.nodes[ul as usize].regular += 1;
        }
        self.try_request(sim, dl, pd);
    }

    /// `ul` chokes the other end of its link at position `i`; transfers on it stop,
    /// bytes are kept.
    fn choke(&mut self, sim: &mut Sim, ul: NodeId, i: u32) {
        let l = *self.lk(ul, i);
        if !l.unchoking {
            return;
        }
        let (dl, conn, was_optimistic) = (l.other, l.conn, l.optimistic);
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
            if self.nodes[dl as usize].downloads[k].conn == conn {
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
    }

    /// Cancels part `k` of `dl`'s downloads. Its delivered bytes are kept as received
    /// if `keep` (after a [`rebase`](Self::rebase) of its group, so that bytes a
    /// surviving duplicate has not reached yet are not lost), otherwise wasted. A
    /// chunk left with no part in flight becomes requestable again.
    fn cancel_part(&mut self, sim: &mut Sim, dl: NodeId, k: usize, keep: bool) {
        let q = self.nodes[dl as usize].downloads[k];
        if keep && q.flow != NONE {
            self.rebase(sim, dl, q.chunk, q.part);
        }
        let p = self.nodes[dl as usize].downloads.swap_remove(k);
        debug_assert!(self.conns[p.conn as usize].alive);
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
    fn rebase(&mut self, sim: &mut Sim, dl: NodeId, chunk: u32, part: u32) {
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
        self.add_partial(dl, chunk, furthest);
        sim.add_waste(dl, progress - furthest);
        let left = left.max(0.0);
        let len = self.nodes[dl as usize].downloads.len();
        for k in 0..len {
            let p = self.nodes[dl as usize].downloads[k];
            if p.part != part || p.chunk != chunk {
                continue;
            }
            let e = &mut self.nodes[dl as usize].downloads[k];
            if p.flow == NONE {
                e.bytes = left;
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
    fn retry_all(&mut self, sim: &mut Sim, n: NodeId) {
        if !self.present[n as usize] || self.nodes[n as usize].complete || n == SERVER {
            return;
        }
        // Requests never open or close connections, so `n`'s list is stable here;
        // they never unchoke either, and a choke can only take a link off the list
        // (try_request then returns at once), so the links that unchoke `n` can be
        // listed first.
        let len = self.deg[n as usize];
        let mut list = std::mem::take(&mut self.scratch_retry);
        list.clear();
        self.choke_list(n, true, &mut list);
        for &i in &list {
            let l = self.lk(n, i);
            // (try_request would return at once otherwise.)
            if l.unchoked && (l.in_flight as u32) < self.cfg.requests_in_flight {
                debug_assert!(self.conns[l.conn as usize].alive);
                self.try_request(sim, n, i);
            }
        }
        self.scratch_retry = list;
        debug_assert_eq!(len, self.deg[n as usize]);
    }

    /// Whether `n` is in endgame: every chunk it lacks is requested, so idle links
    /// may fetch duplicates.
    fn in_endgame(&self, n: NodeId) -> bool {
        self.cfg.endgame
            && self.held[n as usize] + self.nodes[n as usize].pending_count >= self.chunks
    }

    fn add_partial(&mut self, n: NodeId, c: u32, bytes: f64) {
        if bytes <= 0.0 {
            return;
        }
        let p = &mut self.nodes[n as usize].partial;
        match p.iter_mut().find(|(pc, _)| *pc == c) {
            Some((_, b)) => *b += bytes,
            None => p.push((c, bytes)),
        }
    }

    /// Clears `c`'s pending mark at `n` if no transfer of it is in flight to `n`.
    fn unpend_if_idle(&mut self, n: NodeId, c: u32) {
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

    /// Adds `bytes` that `dl` received over its link at position `i` to both ends'
    /// rate histories (the current period's bucket of each).
    fn credit(&mut self, dl: NodeId, i: u32, bytes: f64) {
        let l = *self.lk(dl, i);
        debug_assert!(self.conns[l.conn as usize].alive);
        let (ul, pu, pd) = (l.other, l.peer as usize, i as usize);
        let (b, width) = (self.buckets, 2 * self.buckets);
        let bu = self.nodes[ul as usize].period as usize % b;
        let ru = self.rbase(ul) + pu * width + b + bu;
        self.rates[ru] += bytes as f32;
        let bd = self.nodes[dl as usize].period as usize % b;
        let rd = self.rbase(dl) + pd * width + bd;
        self.rates[rd] += bytes as f32;
    }

    /// `dl` requests from the other end of its link at position `i` while it may.
    fn try_request(&mut self, sim: &mut Sim, dl: NodeId, i: u32) {
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
            self.add_in_flight(dl, i, 1);
            let d = self.delay(dl, ul);
            let mut entry = Part {
                flow: NONE,
                chunk,
                conn,
                pos: i,
                part,
                bytes,
                credited: 0.0,
            };
            if d > 0.0 {
                let at = sim.after(d);
                sim.set_timer(at, peer_of(dl), REQUEST, conn, part);
            } else {
                entry.flow = sim.start_transfer_bytes(ul, dl, chunk, bytes);
            }
            self.nodes[dl as usize].downloads.push(entry);
        }
    }

    /// Bytes a transfer still has to deliver.
    fn left(sim: &Sim, f: FlowId) -> f64 {
        sim.network().graph().flow(f).size - sim.network().delivered(f, sim.now)
    }

    fn new_part(&mut self, n: NodeId) -> u32 {
        let node = &mut self.nodes[n as usize];
        node.next_part = node.next_part.wrapping_add(1);
        node.next_part
    }

    /// Bytes of chunk `c` that `n` has received in finished or cancelled parts.
    fn received(&self, n: NodeId, c: u32) -> f64 {
        self.nodes[n as usize]
            .partial
            .iter()
            .find(|p| p.0 == c)
            .map_or(0.0, |p| p.1)
    }

    /// What `dl` asks of `ul`: the rest of a partly received chunk first (strict
    /// priority), then a new chunk from the piece picker, then half of a part coming
    /// from elsewhere, then (endgame) a duplicate of one.
    fn choose(&mut self, sim: &mut Sim, dl: NodeId, ul: NodeId, conn: u32) -> Option<Ask> {
        let w = self.words;
        for &(c, _) in &self.nodes[dl as usize].partial {
            if self.has(ul, c) && !self.is_pending(dl, c) {
                return Some(Ask::New(c));
            }
        }
        let (h_ul, h_dl, p_dl) = (
            Self::row(&self.have, w, ul),
            Self::row(&self.have, w, dl),
            Self::row(&self.pending, w, dl),
        );
        let mut any = false;
        for i in 0..w {
            let x = h_ul[i] & !h_dl[i] & !p_dl[i];
            self.scratch_words[i] = x;
            any |= x != 0;
        }
        if any {
            let base = dl as usize * self.chunks as usize;
            let cx = PickContext {
                candidates: &self.scratch_words,
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
            // it on what is left, without reading its flow (45 % of these tests in
            // `homog-1k-fast`).
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
        // A part is a candidate if usable and alone in its group; the group sizes
        // come from the sorted part ids (endgame lists can be long).
        let mut sorted = std::mem::take(&mut self.scratch_parts);
        sorted.clear();
        sorted.extend(node.downloads.iter().map(|q| q.part));
        sorted.sort_unstable();
        let alone = |part: u32| {
            let i = sorted.partition_point(|&x| x < part);
            sorted.get(i + 1) != Some(&part)
        };
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
        self.scratch_parts = sorted;
        choice.map(Ask::Duplicate)
    }

    // ----- chunk arrival -----

    /// Prefetches the availability count of chunk `c` at each of `n`'s neighbours,
    /// the counts that [`BitTorrent::acquire`] of `c` at `n` increments (a hint
    /// only).
    #[inline]
    fn prefetch_counts(&self, n: NodeId, c: u32) {
        // (The server's row exists too: no test. Every index is in its table, but
        // a hint needs no bounds check.)
        fn each<T>(v: &[T], links: &[Link], stride: usize, c: usize) {
            for l in links {
                crate::engine::prefetch_ptr(v.as_ptr().wrapping_add(l.other as usize * stride + c));
            }
        }
        if !self.count_avail {
            return;
        }
        let (links, stride) = (self.links_of(n), self.chunks as usize);
        match &self.avail {
            Counts::U8(v) => each(v, links, stride, c as usize),
            Counts::U16(v) => each(v, links, stride, c as usize),
            Counts::U32(v) => each(v, links, stride, c as usize),
        }
    }

    fn acquire(&mut self, sim: &mut Sim, n: NodeId, c: u32) {
        // The counts arrive while the bitfields and the loss-of-interest tests
        // below are handled.
        self.prefetch_counts(n, c);
        Self::set_bit(&mut self.have, self.words, n, c, true);
        if self.is_pending(n, c) {
            Self::set_bit(&mut self.pending, self.words, n, c, false);
            self.nodes[n as usize].pending_count -= 1;
        }
        let node = &mut self.nodes[n as usize];
        self.held[n as usize] += 1;
        node.partial.retain(|&(pc, _)| pc != c);
        self.copies[c as usize] += 1;
        self.completions_since_watchdog += 1;
        sim.record_chunk(peer_of(n));
        // Nothing of this chunk should still be coming; drop leftovers as waste.
        let mut freed = std::mem::take(&mut self.scratch_conns);
        freed.clear();
        let mut k = 0;
        while k < self.nodes[n as usize].downloads.len() {
            let p = self.nodes[n as usize].downloads[k];
            if p.chunk == c {
                self.nodes[n as usize].downloads.swap_remove(k);
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
        // that unchoke us can be listed first (fetching their bitfield words).
        let mut react = std::mem::take(&mut self.scratch_react);
        react.clear();
        self.choke_list(n, true, &mut react);
        for &i in &react {
            prefetch(&self.have[self.lk(n, i).other as usize * w + c as usize / 64]);
        }
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
        // counting first changes the results of nearly every BitTorrent run (the 6
        // bench rows at 1,000 peers and 5 of the shipped BitTorrent scenarios,
        // session 14), which is also why the counts cannot simply be computed from
        // the bitfields when a pick needs them (BENCHMARKS.md, session 14).
        let unlimited = !self.choker_for_ref(n).uses_optimistic();
        // Reactions take slots and never free one, so a node with no free slot now
        // has none during the whole pass.
        let may_unchoke = self.can_unchoke(n, unlimited);
        let rif = self.cfg.requests_in_flight;
        react.clear();
        // Without latency or a free slot only the links we unchoke can react, and
        // their list is at hand: the pass then only counts and flags.
        let listed = !self.any_latency && !may_unchoke && !self.unchoked_mask.is_empty();
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
            };
            // (One loop per counter width.)
            let listed_to = match &mut self.avail {
                Counts::U8(v) => pass.run(v, &mut react),
                Counts::U16(v) => pass.run(v, &mut react),
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
                // For HAVE messages the timer's `peer` field carries the receiving node.
                sim.set_timer(at, m, HAVE, conn, c);
            } else if unchoking || self.can_unchoke(n, unlimited) {
                // (Read as each neighbour is reached: an unchoke takes a slot.)
                self.on_have(sim, m, peer, c);
            }
        }
        self.scratch_react = react;
        let done = self.held[n as usize] == self.chunks;
        if done {
            self.finish(sim, n);
        } else {
            for &i in &freed {
                self.try_request(sim, n, i);
            }
        }
        self.scratch_conns = freed;
        if done && self.cfg.close_redundant {
            self.close_redundant(sim, n);
        }
    }

    /// `n` has just completed: it closes its connections to seeds (the server and
    /// complete peers), where neither end can want anything again
    /// (`close_redundant`). Closing is what a departure does to a connection: the
    /// other end fills the freed unchoke slot and, a leecher no longer, never
    /// re-announces; the freed table slots take leechers that announce.
    fn close_redundant(&mut self, sim: &mut Sim, n: NodeId) {
        let mut seeds = std::mem::take(&mut self.scratch_idle);
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
        self.scratch_idle = seeds;
    }

    /// Closes the connections `conns` that node `n` decided to close, each with a
    /// trace entry `what` (if traced).
    fn close_all(&mut self, sim: &mut Sim, n: NodeId, conns: &[u32], what: &'static str) {
        for &c in conns {
            // (Closing one connection never closes another.)
            debug_assert!(self.conns[c as usize].alive);
            self.disconnect(sim, c);
            if let Some(t) = &mut self.stats.trace {
                t.push((sim.now, n, what));
            }
        }
    }

    /// `m` learns (HAVE) that the other end of its link at position `i` has chunk
    /// `c`: if it lacks `c` it asks to be unchoked or requests.
    fn on_have(&mut self, sim: &mut Sim, m: NodeId, i: u32, c: u32) {
        // The sender has `c` and `m` lacks it, so `m` wants something from it.
        if !self.present[m as usize] || self.has(m, c) {
            return;
        }
        debug_assert!(self.interested(m, self.lk(m, i).other));
        self.became_interested(sim, m, i);
    }

    fn finish(&mut self, sim: &mut Sim, n: NodeId) {
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
            sim.set_timer(at, p, DEPART, n, 0);
        }
    }

    fn depart(&mut self, sim: &mut Sim, n: NodeId) {
        if !self.present[n as usize] {
            return;
        }
        self.present[n as usize] = false;
        // Off the tracker.
        let pos = self.tracker_pos[n as usize] as usize;
        let last = *self.tracker.last().expect("n is listed");
        self.tracker.swap_remove(pos);
        if last != n {
            self.tracker_pos[last as usize] = pos as u32;
        }
        self.tracker_pos[n as usize] = NONE;
        for c in policy::ones(Self::row(&self.have, self.words, n)).collect::<Vec<_>>() {
            self.copies[c as usize] -= 1;
        }
        while let Some(l) = self.links_of(n).last() {
            self.disconnect(sim, l.conn);
        }
        // A departed node never connects again: give its block of links to the next
        // arrival and its lists' memory back (in a swarm with churn, most nodes that
        // ever lived are gone).
        self.free_blocks.push(self.block[n as usize]);
        self.block[n as usize] = NONE;
        let node = &mut self.nodes[n as usize];
        node.downloads = Vec::new();
        node.partial = Vec::new();
        sim.depart(peer_of(n));
    }

    // ----- rechoke -----

    fn rechoke(&mut self, sim: &mut Sim, n: NodeId) {
        if !self.present[n as usize] {
            return;
        }
        self.stats.rechokes += 1;
        if let Some(t) = &mut self.stats.trace {
            t.push((sim.now, n, "rechoke"));
        }
        let window = self.cfg.rate_window;
        let mut cands = std::mem::take(&mut self.scratch_cands);
        // The link position of each candidate, and each link's candidate index
        // (`NONE`: not interested), so that decisions are looked up by position.
        let mut cand_link = std::mem::take(&mut self.scratch_conns);
        let mut cand_at = std::mem::take(&mut self.cand_of);
        let mut out = std::mem::take(&mut self.scratch_out);
        // Positions of the links that unchoke now, then of every link whose state
        // the rechoke may change (those, the chosen and the optimistic one).
        let mut touch = std::mem::take(&mut self.scratch_touch);
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
                    });
                    cand_link.push(i as u32);
                }
            }
        }
        let node = &self.nodes[n as usize];
        let free_rider = node.free_rider;
        let slots = self.slots() as usize;
        let mut cursor = node.cursor;
        let optimistic_round = node.rechokes.is_multiple_of(self.optimistic_every);
        let choker = self.choker_for(n);
        let uses_optimistic = choker.uses_optimistic();
        if !free_rider {
            choker.choose(&cands, slots, &mut cursor, &mut out);
        }
        self.nodes[n as usize].cursor = cursor;
        self.nodes[n as usize].rechokes += 1;
        let mut unchoke = std::mem::take(&mut self.scratch_unchoke);
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
        if uses_optimistic && !free_rider {
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
                let mut choked = std::mem::take(&mut self.scratch_choked);
                choked.clear();
                choked.extend((0..cands.len()).filter(|&i| !unchoke[i]));
                if !choked.is_empty() {
                    let k = sim.rng.random_range(0..choked.len());
                    opt = cand_link[choked[k]] as usize;
                    self.stats.optimistic_unchokes += 1;
                    if let Some(t) = &mut self.stats.trace {
                        t.push((sim.now, n, "optimistic"));
                    }
                }
                self.scratch_choked = choked;
            }
        }
        // Apply: choke first (frees slots), then unchoke. Neither opens nor closes a
        // connection, so `n`'s links keep their order (and positions); each is
        // re-read because earlier steps change the choke flags. Only links that
        // unchoke now or are chosen can change: both loops visit just those, in
        // link order (as a walk over all links would), the first loop every such
        // link, the second the chosen ones.
        let mut keep: Vec<u32> = std::mem::take(&mut self.scratch_keep);
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
        self.scratch_keep = keep;
        self.scratch_touch = touch;
        // Next rate period.
        let node = &mut self.nodes[n as usize];
        node.period += 1;
        let bk = node.period as usize % b;
        let (d, rb) = (self.deg[n as usize] as usize, self.rbase(n));
        for ring in self.rates[rb..rb + d * width].chunks_exact_mut(width) {
            ring[bk] = 0.0;
            ring[b + bk] = 0.0;
        }
        self.cand_of = cand_at;
        self.scratch_cands = cands;
        self.scratch_conns = cand_link;
        self.scratch_out = out;
        self.scratch_unchoke = unchoke;
        let at = sim.after(self.cfg.rechoke_interval);
        sim.set_timer(at, NONE, RECHOKE, n, 0);
        if self.idle_checks > 0 {
            self.close_idle(sim, n);
        }
        if self.starving(sim, n) {
            self.announce(sim, n);
        }
    }

    /// A leecher is starving when for a whole re-announce interval since its last
    /// announce nothing reached it and nothing is on its way, while it has room for
    /// more connections and no neighbour has a chunk it lacks: it then announces
    /// again at its next rechoke, even with `min_peers` neighbours or more (real
    /// clients announce at every tracker interval; this does so only where the
    /// neighbours it has can give it nothing). Without it a leecher whose
    /// neighbours hold nothing it lacks (free riders holding nothing) waits for
    /// ever. A leecher that waits for a neighbour to unchoke it is not starving.
    fn starving(&self, sim: &Sim, n: NodeId) -> bool {
        let node = &self.nodes[n as usize];
        if n == SERVER
            || node.complete
            || !node.downloads.is_empty()
            || node.announce_at.is_some()
            || self.deg[n as usize] >= self.cfg.max_connections
        {
            return false;
        }
        let since = match (node.last_got, node.last_announce) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b).unwrap_or(Time::ZERO),
        };
        // (An interval that ends beyond virtual time never ends.)
        sim.now >= self.reannounce_after(since)
            && sim.now < Time::MAX
            && !self.links_of(n).iter().any(|l| self.interested(n, l.other))
    }

    /// The inactivity timeout, at a rechoke of `n`: counts, on each of `n`'s links,
    /// one more consecutive rechoke with neither end interested in the other (or
    /// restarts the count), and closes the connections whose count reaches
    /// `idle_checks` (libtorrent's `inactivity_timeout`). Closing one is what a
    /// departure does to it: both ends may fill a freed slot, and a leecher left
    /// with fewer than `min_peers` neighbours announces again.
    fn close_idle(&mut self, sim: &mut Sim, n: NodeId) {
        let mut idle = std::mem::take(&mut self.scratch_idle);
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
        self.scratch_idle = idle;
    }

    fn watchdog(&mut self, sim: &mut Sim) {
        let stuck = self.completions_since_watchdog == 0
            && sim.network().active_flows() == 0
            && sim.arrived() == sim.peers.len() as u64;
        if stuck {
            let missing = (0..self.chunks)
                .filter(|&c| self.copies[c as usize] == 0)
                .count();
            sim.halt(format!(
                "no chunk moved for {:.0} s and no transfer is in progress ({} chunks have no copy among peers)",
                self.watchdog_period(),
                missing
            ));
            return;
        }
        self.completions_since_watchdog = 0;
        let at = sim.after(self.watchdog_period());
        sim.set_timer(at, NONE, WATCHDOG, 0, 0);
    }
}

impl Protocol for BitTorrent {
    #[inline]
    fn prefetch(&self, src: NodeId, dst: NodeId, deep: bool) {
        let d = dst as usize;
        if deep {
            if let Some(p) = self.nodes[d].downloads.first() {
                prefetch(p);
            }
            let b = self.block[d];
            if b != NONE {
                prefetch(&self.links[b as usize * self.kcap]);
            }
        } else {
            prefetch(&self.nodes[d]);
            prefetch(&self.block[d]);
            prefetch(&self.have[d * self.words]);
            prefetch(&self.block[src as usize]);
        }
    }

    fn on_arrival(&mut self, sim: &mut Sim, p: u32) {
        let n = node_of(p);
        self.present[n as usize] = true;
        self.take_block(n);
        self.tracker_pos[n as usize] = self.tracker.len() as u32;
        self.announce(sim, n);
        self.tracker.push(n);
        let at = sim.after(self.cfg.rechoke_interval);
        sim.set_timer(at, p, RECHOKE, n, 0);
    }

    fn on_transfer_done(&mut self, sim: &mut Sim, f: FlowId, t: Transfer) {
        let dl = t.dst;
        let k = self.nodes[dl as usize]
            .downloads
            .iter()
            .position(|p| p.flow == f)
            .expect("a finished transfer is in its downloader's list");
        let p = self.nodes[dl as usize].downloads.swap_remove(k);
        self.nodes[dl as usize].last_got = Some(sim.now);
        debug_assert_eq!(self.lk(dl, p.pos).other, t.src);
        self.add_in_flight(dl, p.pos, -1);
        self.credit(dl, p.pos, p.bytes);
        self.add_partial(dl, p.chunk, p.bytes - p.credited);
        // Endgame: the same bytes coming from elsewhere are now waste.
        let mut freed = std::mem::take(&mut self.scratch_freed);
        freed.clear();
        freed.push(p.pos);
        while let Some(j) = self.nodes[dl as usize]
            .downloads
            .iter()
            .position(|q| q.part == p.part && q.chunk == p.chunk)
        {
            let q = self.nodes[dl as usize].downloads.swap_remove(j);
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
            for &i in &freed {
                self.try_request(sim, dl, i);
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
        self.scratch_freed = freed;
    }

    fn on_timer(&mut self, sim: &mut Sim, _peer: u32, kind: u32, a: u32, b: u32) {
        match kind {
            RECHOKE => self.rechoke(sim, a),
            ANNOUNCE => {
                if self.present[a as usize] && !self.nodes[a as usize].complete {
                    self.announce(sim, a);
                } else {
                    self.nodes[a as usize].announce_at = None;
                }
            }
            DEPART => self.depart(sim, a),
            REQUEST => {
                let (conn, part) = (a, b);
                let dl = node_of(_peer);
                let Some(k) = self.nodes[dl as usize]
                    .downloads
                    .iter()
                    .position(|p| p.flow == NONE && p.part == part && p.conn == conn)
                else {
                    return; // cancelled meanwhile (connection closed or chunk arrived)
                };
                let ul = self.other(conn, dl);
                let p = self.nodes[dl as usize].downloads[k];
                debug_assert_eq!(self.lk(dl, p.pos).conn, conn);
                if !self.lk(dl, p.pos).unchoked || self.has(dl, p.chunk) {
                    self.cancel_part(sim, dl, k, true);
                    self.retry_all(sim, dl);
                } else {
                    let f = sim.start_transfer_bytes(ul, dl, p.chunk, p.bytes);
                    self.nodes[dl as usize].downloads[k].flow = f;
                }
            }
            HAVE => {
                let (conn, c, to) = (a, b, _peer);
                let k = &self.conns[conn as usize];
                // A HAVE outlives a closed connection; if the id was reused, the new
                // neighbour reacts only if it really has the chunk.
                let from = self.other(conn, to);
                if k.alive && k.ends.contains(&to) && self.has(from, c) {
                    let i = self.pos_of(conn, to);
                    self.on_have(sim, to, i, c);
                }
            }
            WATCHDOG => self.watchdog(sim),
            _ => unreachable!("unknown timer kind {kind}"),
        }
    }

    fn rarest_copies(&self, _sim: &Sim) -> Option<u32> {
        self.copies.iter().copied().min()
    }
}

#[cfg(test)]
mod tests;
