//! The trace hooks: what the kernel and the protocols report, as it happens, to a
//! [`TraceSink`] that records it (the output layer writes it to disk). The model
//! only calls the sink; it never formats, buffers or writes a trace itself. With no
//! sink attached, each hook is one test of an `Option`.

use crate::engine::Time;
use crate::network::{FlowId, NodeId};

/// One chunk that has wholly arrived at a peer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChunkArrival {
    /// When its last byte arrived.
    pub time: Time,
    /// The receiving peer (0-based peer index).
    pub peer: u32,
    /// The chunk's index.
    pub chunk: u32,
    /// The node that sent the transfer that completed it ([`super::SERVER`] or a
    /// peer's node id).
    pub sender: NodeId,
    /// Bytes that completing transfer carried: the chunk's size, or less if the
    /// chunk arrived in parts (a resumed or split request).
    pub bytes: f64,
    /// When that transfer started.
    pub started: Time,
}

/// What happened to a node's unchoke of a neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChokeAction {
    /// The node starts unchoking the neighbour.
    Unchoked,
    /// The node chokes the neighbour again (also when the connection closes while
    /// unchoked).
    Choked,
    /// The unchoke goes on but changes kind (an optimistic unchoke kept as a
    /// regular one, or a regular one that becomes the optimistic one).
    Changed,
}

impl ChokeAction {
    /// Its name in `chokes.csv`.
    pub fn name(self) -> &'static str {
        match self {
            ChokeAction::Unchoked => "unchoked",
            ChokeAction::Choked => "choked",
            ChokeAction::Changed => "changed",
        }
    }
}

/// A node starts or stops unchoking a neighbour, or its unchoke changes kind
/// (BitTorrent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChokeChange {
    /// When.
    pub time: Time,
    /// The node that decides (the uploader of the connection's direction).
    pub node: NodeId,
    /// The neighbour it unchokes or chokes.
    pub neighbour: NodeId,
    /// What happened.
    pub action: ChokeAction,
    /// Whether the unchoke (granted, ending, or after the change) is the
    /// optimistic one.
    pub optimistic: bool,
}

/// Receives a run's trace as the run goes. Implemented by the output layer (which
/// streams it to CSV files); tests may collect it in memory.
pub trait TraceSink {
    /// A chunk has wholly arrived at a peer.
    fn chunk(&mut self, a: &ChunkArrival);
    /// A choke state changed.
    fn choke(&mut self, c: &ChokeChange);
}

/// A sink that keeps everything in memory (for tests and small runs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemorySink {
    /// Chunk arrivals, in the order they happened.
    pub chunks: Vec<ChunkArrival>,
    /// Choke changes, in the order they happened.
    pub chokes: Vec<ChokeChange>,
}

impl TraceSink for MemorySink {
    fn chunk(&mut self, a: &ChunkArrival) {
        self.chunks.push(*a);
    }
    fn choke(&mut self, c: &ChokeChange) {
        self.chokes.push(*c);
    }
}

/// The kernel's side of tracing: the sink and each flow's start time (which the
/// network does not keep), indexed by flow id.
pub(super) struct Tracer<'t> {
    pub(super) sink: &'t mut dyn TraceSink,
    started: Vec<Time>,
}

impl<'t> Tracer<'t> {
    pub(super) fn new(sink: &'t mut dyn TraceSink) -> Self {
        Tracer {
            sink,
            started: Vec::new(),
        }
    }

    /// Notes that flow `f` starts at `now`.
    pub(super) fn started(&mut self, f: FlowId, now: Time) {
        let i = f as usize;
        if i >= self.started.len() {
            self.started.resize(i + 1, Time::ZERO);
        }
        self.started[i] = now;
    }

    /// When flow `f` started.
    pub(super) fn start_of(&self, f: FlowId) -> Time {
        self.started.get(f as usize).copied().unwrap_or(Time::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BitTorrent, SERVER, Sim, peer_of, simulate, simulate_observed};
    use crate::scenario::Scenario;
    use std::collections::{HashMap, HashSet};
    use std::sync::atomic::AtomicBool;

    fn traced(s: &Scenario) -> (crate::model::RunResult, MemorySink) {
        let mut sink = MemorySink::default();
        let never = AtomicBool::new(false);
        let r = simulate_observed(s, &never, None, Some(&mut sink)).expect("not cancelled");
        (r, sink)
    }

    const CS: &str = r#"
        name = "cs"
        seed = 1
        [file]
        size = "2 MB"
        chunk = "1 MB"
        [server]
        upload = "1 MB/s"
        [[peers]]
        count = 2
        upload = "1 MB/s"
        download = "unlimited"
        [protocol]
        kind = "client-server"
        [network]
        model = "max-min"
    "#;

    #[test]
    fn client_server_trace_by_hand() {
        // Hand calculation: the server's 1 MB/s is shared by two peers, 0.5 MB/s
        // each; each 1 MB chunk takes 2 s: chunk 0 arrives at 2 s, chunk 1 at 4 s,
        // at both peers, each sent by the server in a 2 s transfer of 1e6 bytes.
        let s = Scenario::from_toml(CS, "cs.toml", &[]).expect("valid");
        let (_, sink) = traced(&s);
        assert!(sink.chokes.is_empty());
        let mut rows: Vec<(f64, u32, u32, u32, f64, f64)> = sink
            .chunks
            .iter()
            .map(|a| {
                (
                    a.time.as_secs_f64(),
                    a.peer,
                    a.chunk,
                    a.sender,
                    a.bytes,
                    a.time.secs_since(a.started),
                )
            })
            .collect();
        rows.sort_by(|a, b| a.partial_cmp(b).expect("numbers"));
        assert_eq!(
            rows,
            vec![
                (2.0, 0, 0, SERVER, 1e6, 2.0),
                (2.0, 1, 0, SERVER, 1e6, 2.0),
                (4.0, 0, 1, SERVER, 1e6, 2.0),
                (4.0, 1, 1, SERVER, 1e6, 2.0),
            ]
        );
    }

    const BT: &str = r#"
        name = "bt"
        seed = 3
        [file]
        size = "8 MiB"
        chunk = "256 KiB"
        [server]
        upload = "4 Mbit/s"
        [[peers]]
        count = 30
        upload = "1 Mbit/s"
        download = "8 Mbit/s"
        arrival = { process = "poisson", rate = "60 /min" }
        seeding = { exponential = "20 s" }
        latency = "10 ms"
        [protocol]
        kind = "bittorrent"
        [network]
        model = "max-min"
    "#;

    #[test]
    fn bittorrent_trace_agrees_with_the_peer_records() {
        // By definition: every peer that completed received each chunk exactly once;
        // its first and last arrivals are its first_chunk and completion times; a
        // chunk's transfer began no earlier than its receiver's arrival and came from
        // the server or a peer that held the chunk by then.
        let s = Scenario::from_toml(BT, "bt.toml", &[]).expect("valid");
        let (r, sink) = traced(&s);
        assert_eq!(r.summary.status.name(), "completed");
        let chunks = s.chunks() as u32;
        let mut seen = HashSet::new();
        let mut held_at: HashMap<(u32, u32), f64> = HashMap::new();
        for a in &sink.chunks {
            assert!(seen.insert((a.peer, a.chunk)), "twice: {a:?}");
            held_at.insert((a.peer, a.chunk), a.time.as_secs_f64());
        }
        assert_eq!(sink.chunks.len() as u64, s.peers() * chunks as u64);
        for (p, rec) in r.peers.iter().enumerate() {
            let mine: Vec<f64> = sink
                .chunks
                .iter()
                .filter(|a| a.peer == p as u32)
                .map(|a| a.time.as_secs_f64())
                .collect();
            let last = mine.iter().copied().fold(f64::MIN, f64::max);
            let first = mine.iter().copied().fold(f64::MAX, f64::min);
            assert_eq!(Some(last), rec.completion.map(|t| t.as_secs_f64()));
            assert_eq!(Some(first), rec.first_chunk.map(|t| t.as_secs_f64()));
        }
        for a in &sink.chunks {
            let began = a.started.as_secs_f64();
            assert!(a.started <= a.time && a.bytes > 0.0, "{a:?}");
            assert!(
                began >= r.peers[a.peer as usize].arrival.as_secs_f64() - 1e-9,
                "{a:?}"
            );
            if a.sender != SERVER {
                let from = held_at[&(peer_of(a.sender), a.chunk)];
                assert!(from <= began + 1e-9, "sent before held: {a:?}");
            }
        }
        // Time order, as the rows are written.
        assert!(sink.chunks.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[test]
    fn tracing_does_not_change_the_results() {
        // The sink only listens: the same run with and without it gives the same
        // summary, peer records and time series.
        let s = Scenario::from_toml(BT, "bt.toml", &[]).expect("valid");
        // (Compared as text: a NaN, e.g. chunks per leecher with none, is not equal
        // to itself.)
        let plain = simulate(&s);
        let (r, _) = traced(&s);
        assert_eq!(format!("{:?}", plain.summary), format!("{:?}", r.summary));
        assert_eq!(plain.peers, r.peers);
        assert_eq!(format!("{:?}", plain.samples), format!("{:?}", r.samples));
    }

    #[test]
    fn choke_rows_pair_up_and_count_the_optimistic_unchokes() {
        // Every `choked` row ends an unchoke that a row opened (same node and
        // neighbour, and the kind of the last row of the pair), a `changed` row
        // flips the kind of an open unchoke, no pair is unchoked twice at once, and
        // the optimistic unchokes granted are those the protocol counted (its
        // `optimistic_unchokes`: granted in an unchoke, or by turning a regular
        // unchoke into the optimistic one).
        let s = Scenario::from_toml(BT, "bt.toml", &[]).expect("valid");
        let mut sink = MemorySink::default();
        let optimistic = {
            let mut sim = Sim::new(&s);
            let mut bt = BitTorrent::new(&s, &mut sim);
            sim.attach_trace(&mut sink);
            sim.run(&mut bt, crate::engine::Time::MAX);
            bt.stats.optimistic_unchokes
        };
        assert!(!sink.chokes.is_empty());
        let mut open: HashMap<(u32, u32), bool> = HashMap::new();
        let mut granted = 0;
        for c in &sink.chokes {
            let key = (c.node, c.neighbour);
            match c.action {
                ChokeAction::Unchoked => {
                    assert!(open.insert(key, c.optimistic).is_none(), "twice: {c:?}");
                    granted += u64::from(c.optimistic);
                }
                ChokeAction::Choked => {
                    assert_eq!(open.remove(&key), Some(c.optimistic), "{c:?}");
                }
                ChokeAction::Changed => {
                    assert_eq!(open.insert(key, c.optimistic), Some(!c.optimistic), "{c:?}");
                    granted += u64::from(c.optimistic);
                }
            }
        }
        assert_eq!(granted, optimistic);
    }
}
