//! The swarm model: the server, the peers, the transfers between them, and the
//! protocols that decide who sends which chunk to whom.
//!
//! [`Sim`] is the kernel every protocol runs on: it owns the event queue, the network
//! and the per-peer metrics, turns flow completions into protocol callbacks and keeps
//! every flow's completion event in step with its rate. A protocol implements
//! [`Protocol`]. The model never reads the wall clock, prints or touches files: it
//! returns a [`RunResult`]. (The one thing it reads from outside is the test hook of
//! `panics`, an environment variable.)
//!
//! The kernel's files: this one holds the types ([`Sim`], [`Event`], [`Transfer`],
//! [`Sample`]) and the `simulate` entry points; `protocol` the [`Protocol`] trait;
//! `sim` the services protocols call (transfers, timers, trace, metrics);
//! `event_loop` the loop and the completion bookkeeping; `prefetch` the prefetch
//! hints issued ahead of the next events; `panics` a panicking run caught as an
//! error ([`catch_run`]).

pub mod bitset;
pub mod bittorrent;
pub mod client_server;
mod event_loop;
mod metrics;
pub mod optimal;
mod panics;
mod prefetch;
mod protocol;
mod sim;
pub mod trace;

pub use bittorrent::BitTorrent;
pub use client_server::ClientServer;
pub use event_loop::FlowNote;
pub use metrics::{ByteTotals, PeerRecord, RunResult, RunStatus, Summary, percentile};
pub use optimal::Optimal;
pub use panics::{RunPanicked, TEST_PANIC_SEED_VAR, catch_run, panic_message};
pub use protocol::{NoTimer, PS_MIN_FLOWS, Protocol};
pub use trace::{ChokeAction, ChokeChange, ChunkArrival, MemorySink, TraceSink};

use crate::engine::{EventId, EventQueue, Key, NO_TAG, SimRng, Time, rng_from_seed};
use crate::network::{FlowId, Network, NodeId};
use crate::scenario::{Arrival, ProtocolKind, Scenario};
use event_loop::{NO_KEY, Uploader};
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
    net: Network<FlowNote>,
    uploaders: Vec<Uploader>,
    /// Per node, once processor sharing is on ([`Sim::enable_processor_sharing`]):
    /// the key under which its group's next completion is filed ([`NO_KEY`] if
    /// none); read only while the node has a group.
    group_keys: Vec<Key>,
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
    panics::test_hook(s);
    let mut sim = Sim::new(s);
    sim.progress = progress;
    if let Some(sink) = sink {
        sim.attach_trace(sink);
    }
    let mut protocol = make(&mut sim);
    if protocol.processor_sharing() {
        sim.enable_processor_sharing(Some(PS_MIN_FLOWS));
    }
    let horizon = Time::from_secs_ceil(s.max_time).unwrap_or(Time::MAX);
    let status = sim.run_cancellable(&mut protocol, horizon, cancel)?;
    let events = sim.events;
    Some(RunResult::collect(s, &s.bounds(), &mut sim, status, events))
}

#[cfg(test)]
mod tests;
