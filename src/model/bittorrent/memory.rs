//! BitTorrent's share of the up-front memory estimate (`crate::memory`), beside
//! the data structures it counts.

use super::blocks::{Queue, TickRec};
use super::{Conn, Link, UnchokeRec, policy, rate_buckets, tracks_history};
use crate::scenario::{BitTorrentConfig, IdleRetry, RequestModel, RequestRate};

// The per-connection figure below counts a 24-byte connection record and a 20-byte
// link slot: a larger record must raise it.
const _: () = assert!(std::mem::size_of::<Conn>() <= 24);
const _: () = assert!(std::mem::size_of::<Link>() <= 20);
// The unchoke-history term counts a 32-byte record per link slot.
const _: () = assert!(std::mem::size_of::<UnchokeRec>() <= 32);
// The block pipeline's figure counts a 32-byte queue record per link slot.
const _: () = assert!(std::mem::size_of::<Queue>() <= 32);
// The 1-s tick's figure counts a 32-byte record per link slot.
const _: () = assert!(std::mem::size_of::<TickRec>() <= 32);

/// The estimated memory of one BitTorrent peer, in bytes, with `chunks` chunks
/// (`C`), `W = ceil(C / 64)` bitfield words, `K` the connection limit
/// (`max_connections`) and `B` the buckets of its rate history ([`rate_buckets`]):
/// `2 KiB + A C + 16 W + (78 + 16 B + 64 H + 64 P + 64 T) K`.
///
/// 1 KiB covers the kernel's records of a peer (metrics, capacities, flow lists,
/// events, the output row), 1 KiB more its node record; `A C` the per-neighbour
/// availability counts (`A` = 2, or 4 when `K` exceeds 255: a count per chunk, one
/// byte with at most 255 connections, four above; counted for every picker,
/// although only rarest-first keeps them: an upper bound); the `have` and `pending`
/// bitfields (16 W); and its connections: per allowed connection, half a 24-byte
/// connection record (each is shared by two peers), a 20-byte link slot and a rate
/// history of `2 B` four-byte floats (every peer gets a block of `K` link slots and
/// rate histories in two flat tables), `32 + 8 B` bytes; the tables grow by
/// doubling, so up to twice that: at most `64 + 16 B` bytes; `78 + 16 B` (110 at the
/// default two buckets) leaves a margin. `H` = 1 when the run keeps each link's
/// unchoke history (the libtorrent seed chokers, the oldest optimistic pick, the
/// rate-based choker): a 32-byte record per link slot in a third flat table, up to
/// 64 bytes with doubling. `P` = 1 under the block pipeline (`requests =
/// "blocks"`): each link slot's 32-byte queue record (the part being served, the
/// blocks waiting, the rate estimate) in a fourth flat table, up to 64 bytes with
/// doubling, which also covers the longer lists of queued block requests. `T` = 1
/// when leechers tick once a second under the pipeline (`request_rate =
/// "ewma-5s"` or `idle_retry = "every-5s"`): each link slot's 32-byte
/// `TickRec` in a fifth flat table, up to 64 bytes with doubling.
pub fn memory_per_peer(cfg: &BitTorrentConfig, chunks: u64) -> f64 {
    let c = chunks as f64;
    let w = (c / 64.0).ceil();
    let b = rate_buckets(cfg) as f64;
    let k = cfg.max_connections as f64;
    let a = if k > 255.0 { 4.0 } else { 2.0 };
    // The chokers are built only to ask whether they read the history; the file
    // and chunk sizes do not change the answer.
    let history = tracks_history(
        cfg,
        &*policy::leech_choker(cfg),
        &*policy::seed_choker(cfg, 1.0, 1.0),
    );
    let h = if history { 64.0 } else { 0.0 };
    let p = if cfg.requests == RequestModel::Blocks {
        64.0
    } else {
        0.0
    };
    let ticking = cfg.requests == RequestModel::Blocks
        && (cfg.request_rate == RequestRate::Ewma5s || cfg.idle_retry == IdleRetry::Every5s);
    let t = if ticking { 64.0 } else { 0.0 };
    2048.0 + a * c + 16.0 * w + (78.0 + 16.0 * b + h + p + t) * k
}
