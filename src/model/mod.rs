//! The swarm model: the server, the peers, the transfers between them, and the
//! protocols that decide who sends which chunk to whom.
//!
//! [`Sim`] is the kernel every protocol runs on: it owns the event queue, the network
//! and the per-peer metrics, turns flow completions into protocol callbacks and keeps
//! every flow's completion event in step with its rate. A protocol implements
//! [`Protocol`]. The model never reads the wall clock, prints or touches files: it
//! returns a [`RunResult`].

mod client_server;
mod metrics;
mod optimal;

pub use client_server::ClientServer;
pub use metrics::{PeerRecord, RunResult, RunStatus, Summary};
pub use optimal::Optimal;

use crate::bounds::bounds;
use crate::engine::{EventId, EventQueue, SimRng, Time, rng_from_seed};
use crate::network::{FlowId, Network, NodeId};
use crate::scenario::{ProtocolKind, Scenario};

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

/// Events of the swarm model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Peer `p` joins the swarm.
    Arrival(u32),
    /// The flow finished delivering its bytes.
    FlowDone(FlowId),
    /// A protocol timer: `peer` and a protocol-defined `kind`.
    Timer {
        /// The peer the timer belongs to.
        peer: u32,
        /// Protocol-defined meaning.
        kind: u32,
    },
}

/// A protocol: reacts to arrivals, finished transfers and its own timers by starting
/// and cancelling transfers through the [`Sim`] kernel.
pub trait Protocol {
    /// Peer `p` has joined.
    fn on_arrival(&mut self, sim: &mut Sim, p: u32);
    /// A transfer finished; its bytes are already counted in the metrics.
    fn on_transfer_done(&mut self, sim: &mut Sim, t: Transfer);
    /// A timer set with [`Sim::set_timer`] fired.
    fn on_timer(&mut self, _sim: &mut Sim, _peer: u32, _kind: u32) {}
}

/// The simulation kernel shared by all protocols.
pub struct Sim {
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
    queue: EventQueue<Event>,
    net: Network,
    flow_meta: Vec<(Transfer, Option<EventId>)>,
    scratch: Vec<FlowId>,
    events: u64,
    completed: u64,
}

impl Sim {
    /// A kernel for the scenario: nodes with their capacities, peers' arrival times.
    pub fn new(s: &Scenario) -> Sim {
        let n = s.peers() as usize;
        let mut up = Vec::with_capacity(n + 1);
        let mut down = Vec::with_capacity(n + 1);
        up.push(s.server_upload);
        down.push(f64::INFINITY);
        let mut peers = Vec::with_capacity(n);
        for (ci, c) in s.classes.iter().enumerate() {
            for _ in 0..c.count {
                up.push(c.upload);
                down.push(c.download);
                peers.push(PeerRecord::new(ci as u32, Time::ZERO));
            }
        }
        let net = Network::new(up, down, s.network.build(n + 1));
        let mut queue = EventQueue::new();
        for (p, rec) in peers.iter().enumerate() {
            queue.schedule(rec.arrival, Event::Arrival(p as u32));
        }
        Sim {
            now: Time::ZERO,
            rng: rng_from_seed(s.seed),
            peers,
            chunk_bytes: s.chunk_bytes,
            file_bytes: s.file_bytes,
            chunks: s.chunks() as u32,
            queue,
            net,
            flow_meta: Vec::new(),
            scratch: Vec::new(),
            events: 0,
            completed: 0,
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
        let id = self.net.add_flow(self.now, src, dst, bytes);
        let meta = (Transfer { src, dst, chunk }, None);
        if id as usize == self.flow_meta.len() {
            self.flow_meta.push(meta);
        } else {
            self.flow_meta[id as usize] = meta;
        }
        id
    }

    /// Cancels a transfer in progress; the bytes it delivered are counted as
    /// downloaded and uploaded (and as wasted) and returned.
    pub fn cancel_transfer(&mut self, id: FlowId) -> f64 {
        let delivered = self.net.remove_flow(self.now, id);
        let (t, ev) = self.flow_meta[id as usize];
        if let Some(ev) = ev {
            self.queue.cancel(ev);
        }
        self.account(t, delivered);
        self.peers[peer_of(t.dst) as usize].bytes_wasted += delivered;
        delivered
    }

    /// Marks peer `p` complete at the current time.
    pub fn complete(&mut self, p: u32) {
        let rec = &mut self.peers[p as usize];
        debug_assert!(rec.completion.is_none());
        rec.completion = Some(self.now);
        self.completed += 1;
    }

    /// Sets a timer for the protocol at time `at`.
    pub fn set_timer(&mut self, at: Time, peer: u32, kind: u32) -> EventId {
        self.queue.schedule(at, Event::Timer { peer, kind })
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

    /// Moves the completion events of the flows whose rates changed.
    fn sync_flows(&mut self) {
        let mut changed = std::mem::take(&mut self.scratch);
        changed.clear();
        changed.extend_from_slice(self.net.rebalance(self.now));
        for &f in &changed {
            let at = self.net.completion_time(f);
            let slot = &mut self.flow_meta[f as usize].1;
            match (at, *slot) {
                (Some(at), Some(ev)) => {
                    self.queue.reschedule(ev, at);
                }
                (Some(at), None) => *slot = Some(self.queue.schedule(at, Event::FlowDone(f))),
                (None, Some(ev)) => {
                    self.queue.cancel(ev);
                    *slot = None;
                }
                (None, None) => {}
            }
        }
        self.scratch = changed;
    }

    /// Runs the event loop with `protocol` until no event is left or time passes
    /// `horizon`.
    pub fn run(&mut self, protocol: &mut dyn Protocol, horizon: Time) -> RunStatus {
        while let Some(at) = self.queue.peek_time() {
            if at > horizon {
                self.now = horizon;
                return RunStatus::Horizon;
            }
            let (at, ev) = self.queue.pop().expect("peeked");
            self.now = at;
            self.events += 1;
            match ev {
                Event::Arrival(p) => protocol.on_arrival(self, p),
                Event::FlowDone(f) => {
                    self.flow_meta[f as usize].1 = None;
                    let bytes = self.net.remove_flow(self.now, f);
                    let t = self.flow_meta[f as usize].0;
                    // The flow delivered its whole size: integer-nanosecond rounding
                    // can leave a float residue, which is not a real byte.
                    debug_assert!(
                        (bytes - self.chunk_size(t.chunk) as f64).abs() < 1e-3 * bytes.max(1.0)
                    );
                    self.account(t, self.chunk_size(t.chunk) as f64);
                    protocol.on_transfer_done(self, t);
                }
                Event::Timer { peer, kind } => protocol.on_timer(self, peer, kind),
            }
            self.sync_flows();
        }
        if self.completed == self.peers.len() as u64 {
            RunStatus::Completed
        } else {
            RunStatus::Stalled
        }
    }
}

/// Simulates a scenario from start to end and returns its results.
pub fn simulate(s: &Scenario) -> RunResult {
    let mut sim = Sim::new(s);
    let status = match s.protocol {
        ProtocolKind::ClientServer => sim.run(&mut ClientServer, Time::MAX),
        ProtocolKind::Optimal => {
            let mut p = Optimal::new(&sim);
            sim.run(&mut p, Time::MAX)
        }
    };
    RunResult::collect(s, &bounds(s), &sim, status, sim.events)
}

#[cfg(test)]
mod tests;
