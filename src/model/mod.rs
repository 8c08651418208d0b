//! The swarm model: the server, the peers, the transfers between them, and the
//! protocols that decide who sends which chunk to whom.
//!
//! [`Sim`] is the kernel every protocol runs on: it owns the event queue, the network
//! and the per-peer metrics, turns flow completions into protocol callbacks and keeps
//! every flow's completion event in step with its rate. A protocol implements
//! [`Protocol`]. The model never reads the wall clock, prints or touches files: it
//! returns a [`RunResult`].

pub mod bitset;
pub mod bittorrent;
pub mod client_server;
mod metrics;
pub mod optimal;
pub mod trace;

pub use bittorrent::BitTorrent;
pub use client_server::ClientServer;
pub use metrics::{PeerRecord, RunResult, RunStatus, Summary, percentile};
pub use optimal::Optimal;
pub use trace::{ChokeAction, ChokeChange, ChunkArrival, MemorySink, TraceSink};

use crate::engine::{EventId, EventQueue, NO_TAG, SimRng, Time, rng_from_seed};
use crate::network::{FlowId, NO_KEY, Network, NodeId};
use crate::scenario::{Arrival, ProtocolKind, Scenario};
use rand_distr::{Distribution, Exp};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The server's node id. Peer `p` (0-based) is node `p + 1`.
pub const SERVER: NodeId = 0;

/// Node id of peer `p`.
pub fn node_of(p: u32) -> NodeId {
    p + 1
}

/// Peer index of node `n` (`n` must not be the server).
pub fn peer_of(n: NodeId) -> u32 {
    n - 1
}

/// What a transfer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Uploading node.
    pub src: NodeId,
    /// Downloading node.
    pub dst: NodeId,
    /// Chunk index.
    pub chunk: u32,
}

/// Events of the swarm model; `T` is the protocol's timer type
/// ([`Protocol::Timer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<T> {
    /// Peer `p` joins the swarm.
    Arrival(u32),
    /// The earliest-finishing flow of this uploading node finished delivering its
    /// bytes. The queue holds one such entry per node with a flow under way, keyed by
    /// the earliest of its flows' own completion keys, so flows finish in the order
    /// one event per flow would give; the entry's tag is that flow's id.
    FlowDone(NodeId),
    /// A protocol timer or delayed message, of the protocol's own type.
    Timer(T),
    /// Time to add a row to the time series.
    Sample,
}

/// One row of the time series.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Virtual time, seconds.
    pub time_s: f64,
    /// Present peers without the whole file.
    pub leechers: u64,
    /// Present peers with the whole file.
    pub seeds: u64,
    /// Active transfers.
    pub active_flows: u64,
    /// Sum of upload rates over sum of upload capacities of the nodes present
    /// (server included).
    pub upload_utilisation: f64,
    /// Copies of the rarest chunk among present peers (server excluded), if the
    /// protocol tracks it.
    pub rarest_copies: Option<u32>,
    /// Mean number of chunks held by a leecher (NaN with no leecher).
    pub mean_chunks_per_leecher: f64,
}

/// The timer type of a protocol that sets no timer (it has no value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTimer {}

/// A protocol: reacts to arrivals, finished transfers and its own timers by starting
/// and cancelling transfers through the [`Sim`] kernel.
pub trait Protocol {
    /// What the protocol's timers and delayed messages carry ([`NoTimer`] if it
    /// sets none): the kernel stores it in the event queue and hands it back to
    /// [`Protocol::on_timer`] when it fires, knowing nothing of its meaning.
    type Timer;
    /// Peer `p` has joined.
    fn on_arrival(&mut self, sim: &mut Sim<Self::Timer>, p: u32);
    /// Flow `f` finished; its bytes are already counted in the metrics.
    fn on_transfer_done(&mut self, sim: &mut Sim<Self::Timer>, f: FlowId, t: Transfer);
    /// A timer set with [`Sim::set_timer`] fired.
    fn on_timer(&mut self, _sim: &mut Sim<Self::Timer>, _timer: Self::Timer) {}
    /// Copies of the rarest chunk among present peers, for the time series.
    fn rarest_copies(&self, _sim: &Sim<Self::Timer>) -> Option<u32> {
        None
    }
    /// A hint that a transfer from `src` to `dst` will probably finish soon, so that
    /// the protocol may ask the processor to fetch what it will read then (it must
    /// not change any state). At each finished transfer the kernel calls it for the
    /// events that probably come next: with `deep` false for the one two events
    /// ahead (the kernel's records for the pair are being fetched at the same
    /// time), with `deep` true for the one after the current event, when what the
    /// first call fetched is probably cached and what it points to may be asked for.
    fn prefetch(&self, _src: NodeId, _dst: NodeId, _deep: bool) {}
    /// True if the kernel may keep an uploader's flows in a processor-sharing group
    /// once it has [`PS_MIN_FLOWS`] of them, all to unlimited downloads
    /// ([`Network::set_processor_sharing`]): events then cost O(log n) in the
    /// uploader's flow count instead of O(n). Grouped flows are absent from the
    /// per-node flow lists ([`crate::network::FlowGraph::out_flows`],
    /// [`crate::network::FlowGraph::in_flows`]) and their records do not hold
    /// their rate ([`Network::rate`] does), so a protocol that reads those answers
    /// false, the default.
    fn processor_sharing(&self) -> bool {
        false
    }
}

/// The number of flows to unlimited downloads from which an uploader's flows form a
/// processor-sharing group (see [`Protocol::processor_sharing`]). Below it the
/// per-flow bookkeeping costs less; no shipped, validation or 1,000-peer bench
/// scenario reaches it, so their results are those of the per-flow bookkeeping.
pub const PS_MIN_FLOWS: usize = 64;

/// What the kernel keeps per node about its uploads: the queue entry that stands for
/// all of its flows' completions. Which flow that entry is for is the entry's tag
/// ([`EventQueue::peek_tag`]): the event loop reads it off the heap's top, so a
/// finished flow costs no load of the entry's payload or of this record before the
/// flow's own.
///
/// Per flow the kernel keeps the chunk (the flow's tag) and the key its completion
/// event would have in the queue ([`NO_KEY`] while its rate is zero) in the network's
/// flow record ([`Network::key`]): the same cache line as the rate it follows from.
///
/// Why one entry per uploader and not per flow: a rate change at a node moves the
/// completion of every flow it sends, so with per-flow entries each change cost one
/// heap operation per flow. Each flow still draws its sequence number exactly when
/// its own event would have been (re)scheduled, and the node's entry carries the
/// smallest of those keys; since keys are distinct, the queue pops flows in exactly
/// the order per-flow events would have run.
#[derive(Clone, Copy, Default)]
struct Uploader {
    event: Option<EventId>,
}

/// The simulation kernel shared by all protocols; `T` is the protocol's timer type
/// ([`Protocol::Timer`]), `'t` the lifetime of the trace sink, if one is attached
/// ([`Sim::attach_trace`]).
pub struct Sim<'t, T = NoTimer> {
    /// Current virtual time.
    pub now: Time,
    /// The simulation's RNG (the only source of randomness).
    pub rng: SimRng,
    /// Per-peer records, indexed by peer.
    pub peers: Vec<PeerRecord>,
    /// Chunk size and count.
    pub chunk_bytes: u64,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Number of chunks.
    pub chunks: u32,
    queue: EventQueue<Event<T>>,
    net: Network,
    uploaders: Vec<Uploader>,
    dirty: Vec<NodeId>,
    dirty_mark: Vec<bool>,
    scratch: Vec<FlowId>,
    events: u64,
    completed: u64,
    present: Vec<bool>,
    chunks_held: Vec<u32>,
    n_present: u64,
    n_seeds_present: u64,
    up_present: f64,
    leecher_chunks: u64,
    sample_interval: Time,
    max_peer_uploads: u32,
    halted: Option<String>,
    n_arrived: u64,
    /// Every peer's arrival time, sorted: the next arrival is `arrivals[n_arrived]`.
    arrivals: Vec<Time>,
    cap_seconds: f64,
    cap_since: Time,
    trace: Option<trace::Tracer<'t>>,
    /// The time series, one row per sample interval (at most [`MAX_SAMPLES`] + 1
    /// rows before the last: past them every other row goes and the interval doubles).
    pub samples: Vec<Sample>,
    /// Where each sample also reports how far the run got, if anyone watches.
    progress: Option<Arc<Progress>>,
}

/// How far a run got, written at every sample of the time series and read by
/// another thread (a progress display). Results never depend on it.
#[derive(Debug, Default)]
pub struct Progress {
    /// Virtual time reached, nanoseconds.
    pub now_ns: AtomicU64,
    /// Events processed.
    pub events: AtomicU64,
}

/// The most rows a run's time series keeps: past them every other row is dropped
/// and the sample interval doubles (a tiny `output.sample_interval` over a long run
/// would otherwise fill the memory).
pub const MAX_SAMPLES: usize = 1_000_000;

impl<'t, T> Sim<'t, T> {
    /// A kernel for the scenario: nodes with their capacities and the peers'
    /// arrivals (drawn from the simulation's RNG, class by class, in file order).
    pub fn new(s: &Scenario) -> Sim<'t, T> {
        let n = s.peers() as usize;
        let mut rng = rng_from_seed(s.seed);
        let mut up = Vec::with_capacity(n + 1);
        let mut down = Vec::with_capacity(n + 1);
        // The share of the upload limits left to payload (BitTorrent's
        // `rate_limit_overhead`; 1 otherwise).
        let share = match s.protocol {
            crate::scenario::ProtocolKind::BitTorrent => s.bittorrent.payload_share(),
            _ => 1.0,
        };
        up.push(s.server_upload * share);
        down.push(f64::INFINITY);
        let mut peers = Vec::with_capacity(n);
        for (ci, c) in s.classes.iter().enumerate() {
            let times = arrival_times(&c.arrival, c.count, &mut rng);
            for t in times {
                up.push(c.upload * share);
                down.push(c.download);
                peers.push(PeerRecord::new(ci as u32, t));
            }
        }
        let net = Network::new(up, down, s.network.build(n + 1));
        let mut queue = EventQueue::new();
        for (p, rec) in peers.iter().enumerate() {
            queue.schedule(rec.arrival, Event::Arrival(p as u32));
        }
        let mut arrivals: Vec<Time> = peers.iter().map(|r| r.arrival).collect();
        arrivals.sort_unstable();
        let sample_interval = Time::from_secs_ceil(s.sample_interval).unwrap_or(Time::MAX);
        queue.schedule(Time::ZERO, Event::Sample);
        Sim {
            progress: None,
            now: Time::ZERO,
            rng,
            peers,
            chunk_bytes: s.chunk_bytes,
            file_bytes: s.file_bytes,
            chunks: s.chunks() as u32,
            queue,
            net,
            uploaders: vec![Uploader::default(); n + 1],
            dirty: Vec::new(),
            dirty_mark: vec![false; n + 1],
            scratch: Vec::new(),
            events: 0,
            completed: 0,
            present: vec![false; n],
            chunks_held: vec![0; n],
            n_present: 0,
            n_seeds_present: 0,
            up_present: 0.0,
            leecher_chunks: 0,
            sample_interval,
            max_peer_uploads: 0,
            halted: None,
            n_arrived: 0,
            arrivals,
            cap_seconds: 0.0,
            cap_since: Time::ZERO,
            trace: None,
            samples: Vec::new(),
        }
    }

    /// Sends the run's trace to `sink` from now on: every chunk that arrives and
    /// every choke change a protocol reports ([`Sim::trace_choke`]).
    pub fn attach_trace(&mut self, sink: &'t mut dyn TraceSink) {
        self.trace = Some(trace::Tracer::new(sink));
    }

    /// Reports to the trace, if one is attached, that `node` now unchokes
    /// (`unchoked`) or chokes `neighbour`, by its optimistic unchoke or a regular one.
    #[inline]
    pub fn trace_choke(
        &mut self,
        node: NodeId,
        neighbour: NodeId,
        unchoked: bool,
        optimistic: bool,
    ) {
        if self.trace.is_some() {
            let action = if unchoked {
                ChokeAction::Unchoked
            } else {
                ChokeAction::Choked
            };
            self.emit_choke(node, neighbour, action, optimistic);
        }
    }

    /// Reports to the trace, if one is attached, that `node` goes on unchoking
    /// `neighbour` but now as its optimistic unchoke (`optimistic`) or a regular one.
    #[inline]
    pub fn trace_choke_kind(&mut self, node: NodeId, neighbour: NodeId, optimistic: bool) {
        if self.trace.is_some() {
            self.emit_choke(node, neighbour, ChokeAction::Changed, optimistic);
        }
    }

    /// [`Sim::trace_choke`]'s work, kept out of line so that a run without a trace
    /// pays only the test.
    #[cold]
    #[inline(never)]
    fn emit_choke(
        &mut self,
        node: NodeId,
        neighbour: NodeId,
        action: ChokeAction,
        optimistic: bool,
    ) {
        if let Some(tr) = &mut self.trace {
            tr.sink.choke(&ChokeChange {
                time: self.now,
                node,
                neighbour,
                action,
                optimistic,
            });
        }
    }

    /// Reports to the trace, if one is attached, that the connection from `node` to
    /// `neighbour` closes: a choke if `node` was unchoking it (`unchoking`).
    #[inline]
    pub fn trace_choke_closed(
        &mut self,
        node: NodeId,
        neighbour: NodeId,
        unchoking: bool,
        optimistic: bool,
    ) {
        if unchoking {
            self.trace_choke(node, neighbour, false, optimistic);
        }
    }

    /// Size in bytes of chunk `c`.
    pub fn chunk_size(&self, c: u32) -> u64 {
        let start = c as u64 * self.chunk_bytes;
        (self.file_bytes - start).min(self.chunk_bytes)
    }

    /// The network (capacities, flows, rates).
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Starts transferring chunk `chunk` from `src` to `dst`.
    pub fn start_transfer(&mut self, src: NodeId, dst: NodeId, chunk: u32) -> FlowId {
        let bytes = self.chunk_size(chunk) as f64;
        self.start_transfer_bytes(src, dst, chunk, bytes)
    }

    /// Starts transferring the last `bytes` bytes of chunk `chunk` (the rest of a
    /// partly received chunk) from `src` to `dst`.
    #[inline]
    pub fn start_transfer_bytes(
        &mut self,
        src: NodeId,
        dst: NodeId,
        chunk: u32,
        bytes: f64,
    ) -> FlowId {
        let id = self.net.add_flow_tagged(self.now, src, dst, bytes, chunk);
        if self.trace.is_some() {
            self.note_start(id);
        }
        if src != SERVER {
            let up = self.net.uploads(src) as u32;
            self.max_peer_uploads = self.max_peer_uploads.max(up);
        }
        id
    }

    /// Notes for the trace that flow `id` starts now (out of line: see
    /// [`Sim::emit_choke`]).
    #[cold]
    #[inline(never)]
    fn note_start(&mut self, id: FlowId) {
        if let Some(tr) = &mut self.trace {
            tr.started(id, self.now);
        }
    }

    /// Cancels a transfer in progress and returns the bytes it delivered, which are
    /// counted as downloaded and uploaded, and also as wasted if `wasted`.
    pub fn cancel_transfer(&mut self, id: FlowId, wasted: bool) -> f64 {
        let t = self.transfer(id);
        let had_key = self.net.key(id) != NO_KEY;
        let delivered = self.net.remove_flow(self.now, id);
        if had_key {
            self.mark_dirty(t.src);
        }
        self.account(t, delivered);
        if wasted {
            self.peers[peer_of(t.dst) as usize].bytes_wasted += delivered;
        }
        delivered
    }

    /// Counts `bytes` already delivered to node `dst` as wasted (duplicates found
    /// after the fact, e.g. when two endgame copies of the same bytes were both
    /// under way).
    pub fn add_waste(&mut self, dst: NodeId, bytes: f64) {
        if bytes > 0.0 {
            self.peers[peer_of(dst) as usize].bytes_wasted += bytes;
        }
    }

    /// Stops the run after the current event: nothing can progress any more.
    pub fn halt(&mut self, why: String) {
        self.halted = Some(why);
    }

    /// Why the run was halted, if it was.
    pub fn halt_reason(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// Number of peers that have arrived so far.
    pub fn arrived(&self) -> u64 {
        self.n_arrived
    }

    /// When the next peer arrives (`None` once all have).
    pub fn next_arrival(&self) -> Option<Time> {
        self.arrivals.get(self.n_arrived as usize).copied()
    }

    /// Number of peers present without the whole file.
    pub fn leechers_present(&self) -> u64 {
        self.n_present - self.n_seeds_present
    }

    /// Shrinks a transfer in progress so that only `left` bytes remain to deliver
    /// (another transfer takes over the rest) and moves its completion event.
    pub fn shrink_transfer(&mut self, id: FlowId, left: f64) {
        self.net.shrink_flow(self.now, id, left);
        self.move_completion(id);
    }

    /// Lengthens a transfer in progress by `extra` bytes (a request appended to
    /// the stream being served); its rate is unchanged.
    pub fn grow_transfer(&mut self, id: FlowId, extra: f64) {
        self.net.grow_flow(self.now, id, extra);
        self.move_completion(id);
    }

    /// Puts flow `f`'s completion at the time its current rate gives (none if the
    /// rate is zero). A new key takes a fresh sequence number, as rescheduling the
    /// flow's own event would; its uploader's queue entry follows at the next
    /// [`Sim::sync_uploaders`].
    fn move_completion(&mut self, f: FlowId) {
        let queue = &mut self.queue;
        if let Some(src) = self.net.move_key(f, || queue.draw_seq()) {
            self.mark_dirty(src);
        }
    }

    fn mark_dirty(&mut self, n: NodeId) {
        if !self.dirty_mark[n as usize] {
            self.dirty_mark[n as usize] = true;
            self.dirty.push(n);
        }
    }

    /// Brings the queue entry of every node whose flows' keys changed up to date: it
    /// takes the smallest key of the node's flows, or leaves the queue if none has
    /// one. Must run before the queue is next looked at.
    fn sync_uploaders(&mut self) {
        for &n in &self.dirty {
            self.dirty_mark[n as usize] = false;
            let (best, next) = self.net.earliest_key(n);
            let u = &mut self.uploaders[n as usize];
            match (best != NO_KEY, u.event) {
                (true, Some(ev)) => {
                    let moved = self.queue.rekey_tagged(ev, best, next);
                    debug_assert!(moved, "an uploader's entry stays pending until cancelled");
                }
                (true, None) => {
                    u.event = Some(self.queue.schedule_tagged(best, next, Event::FlowDone(n)));
                }
                (false, Some(ev)) => {
                    self.queue.cancel(ev);
                    u.event = None;
                }
                (false, None) => {}
            }
        }
        self.dirty.clear();
    }

    /// Largest number of simultaneous uploads any peer (not the server) had.
    pub fn max_peer_uploads(&self) -> u32 {
        self.max_peer_uploads
    }

    /// Records that peer `p` now holds one more chunk (for the metrics).
    #[inline]
    pub fn record_chunk(&mut self, p: u32) {
        self.chunks_held[p as usize] += 1;
        if self.present[p as usize] && self.peers[p as usize].completion.is_none() {
            self.leecher_chunks += 1;
        }
        let rec = &mut self.peers[p as usize];
        if rec.first_chunk.is_none() {
            rec.first_chunk = Some(self.now);
        }
    }

    /// Marks peer `p` complete at the current time.
    pub fn complete(&mut self, p: u32) {
        let rec = &mut self.peers[p as usize];
        debug_assert!(rec.completion.is_none());
        rec.completion = Some(self.now);
        self.completed += 1;
        if self.present[p as usize] {
            self.n_seeds_present += 1;
            self.leecher_chunks -= self.chunks_held[p as usize] as u64;
        }
    }

    /// Marks peer `p` present (called by the kernel on arrival).
    fn arrive(&mut self, p: u32) {
        self.accrue_capacity();
        self.present[p as usize] = true;
        self.n_present += 1;
        self.n_arrived += 1;
        self.up_present += self.net.graph().up[node_of(p) as usize];
    }

    /// Peer `p` leaves the swarm now. The protocol must have cancelled its transfers.
    pub fn depart(&mut self, p: u32) {
        if !self.present[p as usize] {
            return;
        }
        self.accrue_capacity();
        self.present[p as usize] = false;
        self.n_present -= 1;
        self.up_present -= self.net.graph().up[node_of(p) as usize];
        if self.peers[p as usize].completion.is_some() {
            self.n_seeds_present -= 1;
        } else {
            self.leecher_chunks -= self.chunks_held[p as usize] as u64;
        }
        self.peers[p as usize].departure = Some(self.now);
    }

    /// Adds the upload capacity present since the last change to the integral. The
    /// server counts from the first arrival on.
    fn accrue_capacity(&mut self) {
        if self.n_arrived > 0 {
            let cap = self.up_present + self.net.graph().up[SERVER as usize];
            self.cap_seconds += cap * self.now.secs_since(self.cap_since);
        }
        self.cap_since = self.now;
    }

    /// Mean upload utilisation from the first arrival to now: bytes delivered over
    /// the integral of the upload capacity of the nodes present.
    pub fn upload_utilisation(&mut self) -> f64 {
        self.accrue_capacity();
        let bytes: f64 = self.peers.iter().map(|p| p.bytes_downloaded).sum();
        bytes / self.cap_seconds
    }

    /// True while peer `p` is in the swarm.
    pub fn is_present(&self, p: u32) -> bool {
        self.present[p as usize]
    }

    /// Sets a timer (or a delayed message) for the protocol at time `at`.
    pub fn set_timer(&mut self, at: Time, timer: T) -> EventId {
        self.queue.schedule(at, Event::Timer(timer))
    }

    /// `now + seconds`, saturating at the end of virtual time.
    pub fn after(&self, seconds: f64) -> Time {
        let d = Time::from_secs_ceil(seconds).unwrap_or(Time::MAX);
        self.now.checked_add(d).unwrap_or(Time::MAX)
    }

    /// The transfer a flow carries (also of a finished or cancelled flow, until its id
    /// is reused by a new transfer).
    pub fn transfer(&self, f: FlowId) -> Transfer {
        let g = self.net.graph();
        // The record outlives the flow: read it without the liveness check of
        // `FlowGraph::flow`.
        let (src, dst) = g.endpoints(f);
        Transfer {
            src,
            dst,
            chunk: self.net.tag(f),
        }
    }

    /// Cancels a timer; returns false if it already fired.
    pub fn cancel_timer(&mut self, id: EventId) -> bool {
        self.queue.cancel(id).is_some()
    }

    /// Number of peers that have completed the file.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    fn account(&mut self, t: Transfer, bytes: f64) {
        let d = &mut self.peers[peer_of(t.dst) as usize];
        d.bytes_downloaded += bytes;
        if t.src == SERVER {
            d.bytes_from_server += bytes;
        } else {
            d.bytes_from_peers += bytes;
            self.peers[peer_of(t.src) as usize].bytes_uploaded += bytes;
        }
    }

    /// [`Protocol::on_transfer_done`] with a trace attached: if the protocol counted
    /// a chunk for the receiver ([`Sim::record_chunk`]), this transfer completed it
    /// (every protocol counts a chunk only in the call for the transfer that
    /// brought its last bytes), and the arrival goes to the trace.
    #[cold]
    #[inline(never)]
    fn transfer_done_traced(
        &mut self,
        protocol: &mut dyn Protocol<Timer = T>,
        f: FlowId,
        t: Transfer,
        size: f64,
    ) {
        let p = peer_of(t.dst);
        let before = self.chunks_held[p as usize];
        // (Read now: the protocol may reuse the id `f` for a new transfer.)
        let began = self.trace.as_ref().map_or(self.now, |tr| tr.start_of(f));
        protocol.on_transfer_done(self, f, t);
        if self.chunks_held[p as usize] != before
            && let Some(tr) = &mut self.trace
        {
            debug_assert_eq!(self.chunks_held[p as usize], before + 1);
            let a = ChunkArrival {
                time: self.now,
                peer: p,
                chunk: t.chunk,
                sender: t.src,
                bytes: size,
                started: began,
            };
            tr.sink.chunk(&a);
        }
    }

    /// Moves the completion events of the flows whose rates changed.
    fn sync_flows(&mut self) {
        let mut changed = std::mem::take(&mut self.scratch);
        changed.clear();
        changed.extend_from_slice(self.net.rebalance(self.now));
        for &f in &changed {
            self.move_completion(f);
        }
        self.scratch = changed;
        let queue = &mut self.queue;
        for &n in self.net.move_group_keys(|| queue.draw_seq()) {
            if !self.dirty_mark[n as usize] {
                self.dirty_mark[n as usize] = true;
                self.dirty.push(n);
            }
        }
    }

    fn sample(&mut self, protocol: &dyn Protocol<Timer = T>) {
        if let Some(p) = &self.progress {
            p.now_ns.store(self.now.0, Ordering::Relaxed);
            p.events.store(self.events, Ordering::Relaxed);
        }
        let leechers = self.n_present - self.n_seeds_present;
        let cap = self.up_present + self.net.graph().up[SERVER as usize];
        self.samples.push(Sample {
            time_s: self.now.as_secs_f64(),
            leechers,
            seeds: self.n_seeds_present,
            active_flows: self.net.active_flows() as u64,
            upload_utilisation: self.net.total_rate() / cap,
            rarest_copies: protocol.rarest_copies(self),
            mean_chunks_per_leecher: self.leecher_chunks as f64 / leechers as f64,
        });
    }

    /// Past [`MAX_SAMPLES`] rows, keeps every other row of the time series (the
    /// first, third, ...: samples `0, 2 d, 4 d, ...` of interval `d`, the newest
    /// among them as `MAX_SAMPLES` is even) and doubles the interval, so that the
    /// rows stay evenly spaced from the first to the newest.
    fn thin_samples(&mut self) {
        if self.samples.len() <= MAX_SAMPLES {
            return;
        }
        let mut k = 0;
        self.samples.retain(|_| {
            k += 1;
            k % 2 == 1
        });
        self.sample_interval = self
            .sample_interval
            .checked_add(self.sample_interval)
            .unwrap_or(Time::MAX);
    }

    /// The interval between the time series' rows now: the scenario's, doubled
    /// each time the series was thinned.
    pub fn sample_interval_s(&self) -> f64 {
        self.sample_interval.as_secs_f64()
    }

    /// Runs the event loop with `protocol` until every peer has the file, no event is
    /// left, or time passes `horizon`.
    pub fn run(&mut self, protocol: &mut dyn Protocol<Timer = T>, horizon: Time) -> RunStatus {
        let never = AtomicBool::new(false);
        self.run_cancellable(protocol, horizon, &never)
            .unwrap_or(RunStatus::Stalled)
    }

    /// As [`Sim::run`], but checks `cancel` before every event and returns `None` as
    /// soon as it is set (the run is then unfinished and its results meaningless).
    pub fn run_cancellable(
        &mut self,
        protocol: &mut dyn Protocol<Timer = T>,
        horizon: Time,
        cancel: &AtomicBool,
    ) -> Option<RunStatus> {
        Some(self.event_loop(protocol, horizon, cancel)).filter(|_| !cancel.load(Ordering::Relaxed))
    }

    fn event_loop(
        &mut self,
        protocol: &mut dyn Protocol<Timer = T>,
        horizon: Time,
        cancel: &AtomicBool,
    ) -> RunStatus {
        let n = self.peers.len() as u64;
        loop {
            self.sync_uploaders();
            let Some((at, tag)) = self.queue.peek_tag() else {
                break;
            };
            if self.completed == n || cancel.load(Ordering::Relaxed) {
                break;
            }
            if at > horizon {
                self.now = horizon;
                self.sample(protocol);
                return RunStatus::Horizon;
            }
            self.now = at;
            if tag != NO_TAG {
                // Only an uploader's entry carries a tag: the flow that finishes. The
                // entry stays in the queue: the node is marked dirty and the next sync
                // moves it to the node's next flow (one heap operation instead of a
                // pop and a push).
                debug_assert!(matches!(
                    self.queue.peek(),
                    Some((_, &Event::FlowDone(n), _)) if n == self.net.graph().flow(tag).src
                ));
                self.events += 1;
                let f = tag;
                // A software pipeline over the next events (hints only): the
                // fourth's flow record, the third's endpoints' records, and what
                // those records lead to for the second.
                let [t2, t3, t4] = self.queue.upcoming_tags();
                let g = self.net.graph();
                if t4 != NO_TAG {
                    g.prefetch_record(t4);
                }
                if t3 != NO_TAG
                    && let Some((s3, d3)) = g.try_endpoints(t3)
                {
                    crate::engine::prefetch(&g.out_flows[s3 as usize]);
                    crate::engine::prefetch(&g.in_flows[d3 as usize]);
                    crate::engine::prefetch(&self.peers[peer_of(d3) as usize]);
                    if s3 != SERVER {
                        crate::engine::prefetch(&self.peers[peer_of(s3) as usize]);
                    }
                    protocol.prefetch(s3, d3, false);
                }
                if t2 != NO_TAG
                    && let Some((s2, d2)) = g.try_endpoints(t2)
                {
                    protocol.prefetch(s2, d2, true);
                }
                let size = self.net.graph().flow(f).size;
                let t = self.transfer(f);
                self.mark_dirty(t.src);
                let bytes = self.net.remove_flow(self.now, f);
                // The flow delivered its whole size: integer-nanosecond rounding can
                // leave a float residue, which is not a real byte.
                debug_assert!((bytes - size).abs() < 1e-3 * size.max(1.0));
                self.account(t, size);
                if self.trace.is_none() {
                    protocol.on_transfer_done(self, f, t);
                } else {
                    self.transfer_done_traced(protocol, f, t, size);
                }
            } else {
                let (_, ev) = self.queue.pop().expect("peeked");
                if matches!(ev, Event::Sample) {
                    self.sample(protocol);
                    self.thin_samples();
                    if let Some(next) = at.checked_add(self.sample_interval) {
                        self.queue.schedule(next, Event::Sample);
                    }
                    continue;
                }
                self.events += 1;
                match ev {
                    Event::Arrival(p) => {
                        self.arrive(p);
                        protocol.on_arrival(self, p)
                    }
                    Event::Timer(t) => protocol.on_timer(self, t),
                    Event::Sample | Event::FlowDone(_) => {
                        unreachable!("samples are handled above, flow entries are tagged")
                    }
                }
            }
            self.sync_flows();
            if self.halted.is_some() {
                self.sample(protocol);
                return RunStatus::Stalled;
            }
        }
        self.sample(protocol);
        if self.completed == n {
            RunStatus::Completed
        } else {
            RunStatus::Stalled
        }
    }
}

/// Draws the arrival times of a class's `count` peers.
fn arrival_times(a: &Arrival, count: u64, rng: &mut SimRng) -> Vec<Time> {
    let secs: Vec<f64> = match a {
        Arrival::Flash => vec![0.0; count as usize],
        Arrival::Times(t) => t.clone(),
        Arrival::Poisson { rate, start } => {
            let exp = Exp::new(*rate).expect("rate checked positive");
            let mut t = *start;
            (0..count)
                .map(|_| {
                    t += exp.sample(rng);
                    t
                })
                .collect()
        }
    };
    secs.into_iter()
        .map(|x| Time::from_secs_ceil(x).unwrap_or(Time::MAX))
        .collect()
}

/// Simulates a scenario from start to end and returns its results.
pub fn simulate(s: &Scenario) -> RunResult {
    let never = AtomicBool::new(false);
    match simulate_with(s, &never) {
        Some(r) => r,
        None => unreachable!("nothing sets the flag"),
    }
}

/// As [`simulate`], but stops as soon as `cancel` is set (checked before every
/// event) and then returns `None`: an interrupted run has no result.
pub fn simulate_with(s: &Scenario, cancel: &AtomicBool) -> Option<RunResult> {
    simulate_observed(s, cancel, None, None)
}

/// As [`simulate_with`], reporting into `progress` at every sample of the time
/// series and sending the run's trace to `sink`, where given (the results do not
/// depend on either).
pub fn simulate_observed(
    s: &Scenario,
    cancel: &AtomicBool,
    progress: Option<Arc<Progress>>,
    sink: Option<&mut dyn TraceSink>,
) -> Option<RunResult> {
    let p = progress;
    match s.protocol {
        ProtocolKind::ClientServer => {
            simulate_protocol_observed(s, cancel, p, sink, |_| ClientServer)
        }
        ProtocolKind::BitTorrent => {
            simulate_protocol_observed(s, cancel, p, sink, |sim| BitTorrent::new(s, sim))
        }
        ProtocolKind::Optimal => {
            simulate_protocol_observed(s, cancel, p, sink, |sim| Optimal::new(sim))
        }
    }
}

/// Simulates scenario `s` with the protocol that `make` builds on the fresh kernel
/// (after the peers' arrivals are drawn; it may set its first timers), and returns
/// its results; `None` if `cancel` was set (checked before every event). This is
/// how a protocol defined outside the crate, or one with user-supplied policies,
/// produces a [`RunResult`].
pub fn simulate_protocol<P: Protocol>(
    s: &Scenario,
    cancel: &AtomicBool,
    make: impl FnOnce(&mut Sim<P::Timer>) -> P,
) -> Option<RunResult> {
    simulate_protocol_observed(s, cancel, None, None, make)
}

/// As [`simulate_protocol`], reporting into `progress` at every sample and sending
/// the run's trace to `sink`, where given.
pub fn simulate_protocol_observed<P: Protocol>(
    s: &Scenario,
    cancel: &AtomicBool,
    progress: Option<Arc<Progress>>,
    sink: Option<&mut dyn TraceSink>,
    make: impl FnOnce(&mut Sim<P::Timer>) -> P,
) -> Option<RunResult> {
    let mut sim = Sim::new(s);
    sim.progress = progress;
    if let Some(sink) = sink {
        sim.attach_trace(sink);
    }
    let mut protocol = make(&mut sim);
    if protocol.processor_sharing() {
        sim.net.set_processor_sharing(Some(PS_MIN_FLOWS));
    }
    let horizon = Time::from_secs_ceil(s.max_time).unwrap_or(Time::MAX);
    let status = sim.run_cancellable(&mut protocol, horizon, cancel)?;
    let events = sim.events;
    Some(RunResult::collect(s, &s.bounds(), &mut sim, status, events))
}

#[cfg(test)]
mod tests;
