//! Builders shared by the choker unit tests: candidates with the fields a choker
//! reads, and a choke context.

use super::policy::{Candidate, ChokeContext};
use crate::engine::{SimRng, Time};
use crate::network::NodeId;

/// A candidate with the rates tit-for-tat (`recv`) and the fastest seed choker
/// (`sent`) read.
pub(super) fn rated(n: NodeId, recv: f64, sent: f64, unchoked: bool) -> Candidate {
    Candidate {
        neighbour: n,
        recv_rate: recv,
        sent_rate: sent,
        unchoked,
        ..Candidate::default()
    }
}

/// A candidate with the unchoke history the client chokers read: bytes sent this
/// round and since its unchoke, seconds since its last unchoke. Its received rate
/// is its id, so that tit-for-tat ranks higher ids first.
pub(super) fn hist(
    n: NodeId,
    unchoked: bool,
    round: f64,
    since_unchoke_bytes: f64,
    since: f64,
) -> Candidate {
    Candidate {
        neighbour: n,
        unchoked,
        sent_round: round,
        sent_since_unchoke: since_unchoke_bytes,
        since_unchoke: since,
        recv_rate: f64::from(n),
        ..Candidate::default()
    }
}

/// A choke context at time 0, node 0, first round.
pub(super) fn test_cx<'a>(rng: &'a mut SimRng, state: &'a mut u32) -> ChokeContext<'a> {
    ChokeContext {
        node: 0,
        now: Time::ZERO,
        round: 0,
        rng,
        state,
    }
}
