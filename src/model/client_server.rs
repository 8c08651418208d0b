//! Protocol `client-server`: the server sends every chunk to every peer.

use super::{NoTimer, Protocol, SERVER, Sim, Transfer, node_of, peer_of};
use crate::network::FlowId;

/// The server serves every peer at once, each peer's chunks in order, one chunk in
/// flight per peer; peers never upload. Under max-min sharing the server's capacity
/// is split fairly among the peers, each capped by its download capacity.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientServer;

impl Protocol for ClientServer {
    type Timer = NoTimer;

    fn on_arrival(&mut self, sim: &mut Sim, p: u32) {
        sim.start_transfer(SERVER, node_of(p), 0);
    }

    fn on_transfer_done(&mut self, sim: &mut Sim, _f: FlowId, t: Transfer) {
        sim.record_chunk(peer_of(t.dst));
        let next = t.chunk + 1;
        if next < sim.chunks {
            sim.start_transfer(SERVER, t.dst, next);
        } else {
            sim.complete(peer_of(t.dst));
        }
    }
}

/// The estimated memory of one client-server peer, in bytes, with `chunks` chunks:
/// 1 KiB for the kernel's records of a peer (metrics, capacities, flow lists,
/// events, the output row) and 8 bytes a chunk of request bookkeeping.
pub fn memory_per_peer(chunks: u64) -> f64 {
    1024.0 + 8.0 * chunks as f64
}
