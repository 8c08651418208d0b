//! Builders shared by the choker unit tests: candidates with the fields a choker
//! reads, and a choker's choice.

use super::policy::{Candidate, ChokeContext, Choker};
use crate::engine::{Time, rng_from_seed};
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

/// The candidates `choker` unchokes with `slots` slots: its choice at time 0, node
/// 0, first round, its state 0, the random draws of seed 1.
pub(super) fn chosen(choker: &mut impl Choker, cands: &[Candidate], slots: usize) -> Vec<usize> {
    let (mut rng, mut state) = (rng_from_seed(1), 0);
    let mut cx = ChokeContext {
        node: 0,
        now: Time::ZERO,
        round: 0,
        rng: &mut rng,
        state: &mut state,
    };
    let mut out = Vec::new();
    choker.choose(&mut cx, cands, slots, &mut out);
    out
}
