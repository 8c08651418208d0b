//! Tests of the `by-rarity` order of started chunks: times computed by hand.

use super::super::tests::{assert_bytes_conserved, bt, class};
use crate::model::{RunStatus, simulate};
use crate::scenario::{Arrival, RequestModel, StartedOrder};

/// A started chunk that a leecher supplies loses to a rarer new chunk on the
/// seed's connection. 3 chunks of 4 blocks (16 KiB), the server at 5 blocks/s,
/// queues of one block, no random first chunks, no end game. Peer A arrives at 0
/// with a download of 1 block/s and an upload of 0.6 block/s: it has its first
/// chunk, X, at 4 s and the next one only at 8 s. Peer D (no upload, unlimited
/// download) arrives at 4.5 s; the server sends it 4 blocks/s (A's flow is held at
/// 1 block/s by A's download), A 0.6 (a block in 5/3 s), and A has only X. D
/// asks A for X (A has nothing else) and the server for a new chunk, Y (X is
/// at 2 neighbours, Y and Z at 1), which arrives at 5.5 s.
///
/// - `first`: at 5.5 s (or at 4.5 s, if the server's connection asks first) the
///   server's connection takes X's free blocks: 3 blocks, the last at 6.25 s (or
///   5.25 s, Y then following); A's block arrives at 4.5 + 5/3 = 6.17 s and
///   finds nothing left to ask; the server then sends the remaining chunk, done at
///   7.25 s. D got 1 block from A.
/// - `by-rarity`: at 5.5 s the server's connection takes Z (rarer than X), done at
///   6.5 s, then X's 2 free blocks (A's first block arrived at 6.17 s and A was
///   asked for the next), done at 7.0 s; A's second block completes X at
///   4.5 + 10/3 = 7.83 s. D got 2 blocks from A.
#[test]
fn by_rarity_sends_the_seed_a_rarer_new_chunk_before_a_started_one() {
    let b = 16_384u64;
    for (order, done, from_a) in [
        (StartedOrder::First, 7.25, 1.0),
        (StartedOrder::ByRarity, 4.5 + 10.0 / 3.0, 2.0),
    ] {
        let mut a = class(1, 0.6 * b as f64, b as f64);
        a.name = "a".into();
        let mut d = class(1, 0.0, f64::INFINITY);
        d.name = "d".into();
        d.arrival = Arrival::Times(vec![4.5]);
        let mut s = bt(12 * b, 4 * b, 5.0 * b as f64, vec![a, d]);
        let c = &mut s.bittorrent;
        c.requests = RequestModel::Blocks;
        c.block_size = b;
        c.request_queue_min = 1;
        c.request_queue_max = 1;
        c.whole_pieces_threshold = 0.0;
        c.random_first = 0;
        c.endgame = false;
        c.started_chunks = order;
        let r = simulate(&s);
        assert_eq!(r.summary.status, RunStatus::Completed);
        let t = r.peers[1].completion.unwrap().as_secs_f64();
        assert!(
            (t - done).abs() < 1e-6,
            "{order:?}: D at {t} s, expected {done}"
        );
        let got = r.peers[1].bytes_from_peers;
        assert!(
            (got - from_a * b as f64).abs() < 1e-3,
            "{order:?}: {got} B from A"
        );
        assert_bytes_conserved(&s, &r);
    }
}
