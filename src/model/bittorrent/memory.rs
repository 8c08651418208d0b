//! BitTorrent's share of the up-front memory estimate (`crate::memory`), beside
//! the data structures it counts.

use super::blocks::{Queue, TickRec};
use super::{Conn, Link, Part, UnchokeRec, policy, rate_buckets, tracks_history};
use crate::scenario::{BitTorrentConfig, IdleRetry, RequestModel, RequestRate, StartedOrder};

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
// The block pipeline's per-node list of parts ([`pipeline_lists`]) counts a 40-byte
// part.
const _: () = assert!(std::mem::size_of::<Part>() <= PART_BYTES as usize);

/// Bytes of one entry of a node's list of requested parts (`Node::downloads`).
const PART_BYTES: f64 = 40.0;

/// The estimated memory of one BitTorrent peer, in bytes, with `chunks` chunks
/// (`C`), `W = ceil(C / 64)` bitfield words, `K` the connection limit
/// (`max_connections`) and `B` the buckets of its rate history ([`rate_buckets`]):
/// `2 KiB + A C + 16 W + (78 + 16 B + 64 H + 64 P + 64 T) K`, plus, under the
/// block pipeline, the per-node list, dense rows and bitset rows that
/// `pipeline_lists` counts (`80 (K + S) + 16 C + (16 + 8 F) W + 64`).
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
/// doubling. `T` = 1 when leechers tick once a second under the pipeline
/// (`request_rate = "ewma-5s"` or `idle_retry = "every-5s"`): each link slot's
/// 32-byte `TickRec` in a fifth flat table, up to 64 bytes with doubling.
/// Under the pipeline, each node's list of requested parts, its dense rows of
/// bytes received and bytes nobody was asked for, and its bitset rows add
/// `80 (K + S) + 16 C + (16 + 8 F) W + 64` bytes, `S` the started chunks a node is
/// assumed to hold at once:
/// `min(C, K / 2)`, or `min(C, 64 + C / 8)` with `started_chunks = "by-rarity"`;
/// `F` = 1 with allowed-fast sets (`pipeline_lists` and `started_bound` give each
/// term and what it assumes).
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
    2048.0 + a * c + 16.0 * w + (78.0 + 16.0 * b + h + p + t) * k + pipeline_lists(cfg, chunks)
}

/// The started chunks (`S`) a node is assumed to hold at once under the block
/// pipeline (the estimate counts a run of parts per started chunk), with `chunks`
/// chunks (`C`) and `K` the connection limit: at most `C` (a strict bound), and
/// realistically
///
/// - `started_chunks = "first"`: `K / 2`. A node starts a new chunk only when no
///   chunk it has started has bytes nobody was asked for that the uploader has,
///   so its started chunks stay near its connections with requests (those whose
///   uploader unchokes it, and allowed-fast requests over choked ones). Measured
///   (`homog-1k-fast`, `requests = "blocks"`; a node's peak, averaged over the
///   nodes): 6 to 18 with `C` = 100 to 1,600 and `K` = 80 or 200.
/// - `"by-rarity"`: `64 + C / 8`. A started chunk ranks with new ones by
///   rarity, so the chunks a choke left partly received are not finished first
///   and accumulate. Measured (`homog-1k-fast`, `libtorrent-2.0` preset, as
///   above): 54 at `C` = 100, 88 to 100 at `C` = 400 (`K` = 40 to 200), 188 at
///   `C` = 1,600.
///
/// The strict bound `C` would put the estimate of the preset's 10,000-peer
/// benchmark (`C` = 400) at 643.1 MiB, 2.6 times its measured peak, against
/// 424.9 MiB.
fn started_bound(cfg: &BitTorrentConfig, chunks: u64) -> f64 {
    let c = chunks as f64;
    let k = cfg.max_connections as f64;
    let s = match cfg.started_chunks {
        StartedOrder::First => k / 2.0,
        StartedOrder::ByRarity => 64.0 + c / 8.0,
    };
    s.min(c)
}

/// The block pipeline's per-node list, dense rows and bitset rows, in bytes per
/// peer (0 when requests are whole chunks): `2 PART_BYTES (K + S) + 64 + 16 C +
/// (16 + 8 F) W` = `80 (K + S) + 16 C + (16 + 8 F) W + 64`, with `S` =
/// [`started_bound`], `W = ceil(C / 64)` and `F` = 1 when peers have allowed-fast
/// sets.
///
/// - Requested parts (`Node::downloads`, [`PART_BYTES`] each): `K + S`.
///   End-game duplicates, strictly at most `K`: a duplicate is asked only on a
///   connection with nothing outstanding, which then stays busy until all its
///   parts end, so a connection has at most one at a time. The other parts,
///   assumed one run per started chunk on average: a run asks for all the bytes
///   of its chunk nobody was asked for, up to the queue's room, so a chunk has
///   more than one only when the room cut a run short or several connections
///   share the chunk, and many started chunks have none, being only partly
///   received. The strict bound by the code, `min(MAX_RUNS, D + 1)` per
///   connection with `D` the deepest queue (the larger of `request_queue_max` and
///   the blocks of 8 MiB of whole-piece runs), is 250 parts per connection by default: 1.6 MB
///   per node at `K` = 80, absurd; the measured peak (`homog-1k-fast`, preset) is
///   108 parts a node on average at `K` = 80, `C` = 400.
///   The list grows by doubling, so up to twice its entries: the factor 2.
/// - The chunks whose started entries are stale (`Node::started_dirty`): at most
///   nine four-byte entries (a few; more and the whole record is rebuilt), 16 with
///   doubling: 64 bytes.
/// - Dense rows, one eight-byte float per chunk each, in flat tables of the
///   exact size: the bytes received of each chunk (`BitTorrent::got`) and the
///   started chunks' bytes nobody was asked for (`BitTorrent::free`): `16 C`.
/// - Bitset rows, `W` words a node each: the started chunks with bytes nobody
///   was asked for and those partly received with nothing asked (`16 W`), and,
///   when `allowed_fast` is above 0, the node's
///   allowed-fast set (`8 W`).
fn pipeline_lists(cfg: &BitTorrentConfig, chunks: u64) -> f64 {
    if cfg.requests != RequestModel::Blocks {
        return 0.0;
    }
    let k = cfg.max_connections as f64;
    let s = started_bound(cfg, chunks);
    let w = (chunks as f64 / 64.0).ceil();
    let c = chunks as f64;
    let rows = if cfg.allowed_fast > 0 { 24.0 } else { 16.0 };
    2.0 * PART_BYTES * (k + s) + 64.0 + 16.0 * c + rows * w
}
