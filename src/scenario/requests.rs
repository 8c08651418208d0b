//! Scenario fields of the block request pipeline (`requests = "blocks"`): how a
//! peer requests data, how it ranks the chunks it has started, which rate sizes
//! its queue, when an idle connection asks again, and the checks of the
//! pipeline's `[protocol]` fields.

use super::protocol::BitTorrentConfig;
use super::{Checker, Res};
use toml::Table;

/// How a BitTorrent peer requests data (`[protocol] requests`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestModel {
    /// A request asks for a whole chunk (or the rest of a partly received one);
    /// `requests_in_flight` of them per connection are served in parallel.
    WholeChunk,
    /// A request asks for blocks of `block_size`; each connection keeps a queue of
    /// outstanding blocks whose depth follows the connection's download rate
    /// (`request_queue_time`, between `request_queue_min` and `request_queue_max`),
    /// served in order, one at a time, as over one TCP stream (docs/MODEL.md).
    Blocks,
}

name_table!(RequestModel {
    "whole-chunk" => WholeChunk,
    "blocks" => Blocks,
});

/// How the block pipeline ranks the chunks a peer has started (has bytes of, or
/// asked for) against new ones (`[protocol] started_chunks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartedOrder {
    /// Started chunks first: more of the chunk the connection is on, then another
    /// started chunk, before any new chunk (mainline 4.0.1's strict priority,
    /// Transmission 4.0.6's partial pieces first).
    First,
    /// Under the rarest-first picker, past its random first chunks: rarest first
    /// over started and new chunks alike, a started chunk winning ties
    /// (libtorrent 2.0.8, `piece_pos::priority`, include/libtorrent/piece_picker.hpp;
    /// `piece_picker::pick_pieces`, src/piece_picker.cpp). Otherwise as `First`.
    ByRarity,
}

name_table!(StartedOrder {
    "first" => First,
    "by-rarity" => ByRarity,
});

/// Which download rate of a connection sizes its block queue and its whole-chunk
/// runs (`[protocol] request_rate`; `requests = "blocks"` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestRate {
    /// The rate of the part being served now, or between two parts the mean rate
    /// of the last one served.
    Current,
    /// libtorrent 2.0.8's payload download rate (`stat_channel`,
    /// include/libtorrent/stat.hpp and src/stat.cpp): once a second, from the
    /// node's arrival on, `rate = 4/5 rate + 1/5 (bytes received over the
    /// connection in the last second)`, 0 at first; read by
    /// `peer_connection::update_desired_queue_size` (src/peer_connection.cpp) and
    /// `request_a_block` (src/request_blocks.cpp) as
    /// `statistics().download_payload_rate()`.
    Ewma5s,
}

name_table!(RequestRate {
    "current" => Current,
    "ewma-5s" => Ewma5s,
});

/// When a connection with no block requested on it asks again
/// (`[protocol] idle_retry`; `requests = "blocks"` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleRetry {
    /// At every event that can give it something to ask for: a HAVE from its
    /// uploader, requests cancelled or ended on the node's other connections.
    AtOnce,
    /// libtorrent 2.0.8: only when its uploader unchokes it, when the node becomes
    /// interested in the uploader (a HAVE of a chunk from a neighbour it was not
    /// interested in: `peer_connection::incoming_have` -> `torrent::peer_is_interesting`),
    /// and, while the uploader unchokes it and it is interested, at the node's
    /// 1-s tick once 5 s have passed since its last request on the connection
    /// (`peer_connection::second_tick`, src/peer_connection.cpp: the strict end
    /// game's retry; `request_a_block`, src/request_blocks.cpp, puts a connection
    /// whose pick finds too few free blocks in end-game mode). A HAVE from an
    /// uploader it is already interested in, and cancels and rejects on other
    /// connections, do not make it ask.
    Every5s,
}

name_table!(IdleRetry {
    "at-once" => AtOnce,
    "every-5s" => Every5s,
});

/// How a connection in whole-piece mode (`whole_pieces_threshold`) asks for its
/// whole chunks (`[protocol] whole_pieces_rule`; `requests = "blocks"` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WholePiecesRule {
    /// The queue is kept at the whole chunks' depth (as many whole chunks as the
    /// threshold's time brings), topped up at every event that makes a peer
    /// request; each chunk comes from the picker (the `libtorrent-2.0` preset's).
    Kept,
    /// libtorrent 2.0.8: a pick happens only while the connection has fewer blocks
    /// requested than its queue depth (`request_a_block`, src/request_blocks.cpp:
    /// whole pieces do not raise `desired_queue_size`), and it returns a run of
    /// up to that many adjacent whole chunks around the one the picker chose
    /// (`piece_picker::expand_piece`, src/piece_picker.cpp, unaligned: back while
    /// the chunk before is free, then forward), asked in order. The default.
    AdjacentRuns,
}

name_table!(WholePiecesRule {
    "kept" => Kept,
    "adjacent-runs" => AdjacentRuns,
});

/// Most blocks a connection may keep requested (`request_queue_max`): the most any
/// client here allows (libtorrent's `max_allowed_in_request_queue`).
pub const MAX_REQUEST_QUEUE: u32 = 2000;

impl Checker {
    /// Reads the request pipeline's fields of the `[protocol]` table `t` into `c`,
    /// with `rate_limit_overhead` (its payload share is per block), in the order
    /// in which the table's checks report errors.
    pub(super) fn request_fields(&self, t: &Table, c: &mut BitTorrentConfig) -> Res<()> {
        let f = |k: &str| format!("protocol.{k}");
        let int = |k: &str, min: i64, max: i64, dflt: u32| -> Res<u32> {
            match t.get(k) {
                None => Ok(dflt),
                Some(v) => Ok(self.integer(v, &f(k), min, max)? as u32),
            }
        };
        if let Some(v) = t.get("requests") {
            c.requests = self.choice(v, &f("requests"), &RequestModel::ALL)?;
        }
        if let Some(v) = t.get("block_size") {
            let b = self.size(v, &f("block_size"))?;
            if b == 0 || b > 1 << 24 {
                return Err(self.err(
                    &f("block_size"),
                    Some(v),
                    "expected 1 B to 16 MiB (real clients use 16 KiB)",
                ));
            }
            c.block_size = b;
        }
        if let Some(v) = t.get("request_queue_time") {
            c.request_queue_time = self.duration(v, &f("request_queue_time"), false)?;
        }
        c.request_queue_min = int(
            "request_queue_min",
            1,
            MAX_REQUEST_QUEUE as i64,
            c.request_queue_min,
        )?;
        c.request_queue_max = int(
            "request_queue_max",
            1,
            MAX_REQUEST_QUEUE as i64,
            c.request_queue_max,
        )?;
        if c.request_queue_min > c.request_queue_max {
            return Err(self.err(
                &f("request_queue_min"),
                t.get("request_queue_min"),
                format!(
                    "expected at most protocol.request_queue_max ({})",
                    c.request_queue_max
                ),
            ));
        }
        c.allowed_fast = int("allowed_fast", 0, 1_000_000, c.allowed_fast)?;
        if let Some(v) = t.get("whole_pieces_threshold") {
            c.whole_pieces_threshold = self.duration(v, &f("whole_pieces_threshold"), false)?;
        }
        if let Some(v) = t.get("whole_pieces_rule") {
            c.whole_pieces_rule = self.choice(v, &f("whole_pieces_rule"), &WholePiecesRule::ALL)?;
        }
        if let Some(v) = t.get("rate_limit_overhead") {
            c.rate_limit_overhead = self.boolean(v, &f("rate_limit_overhead"))?;
        }
        if let Some(v) = t.get("started_chunks") {
            c.started_chunks = self.choice(v, &f("started_chunks"), &StartedOrder::ALL)?;
        }
        if let Some(v) = t.get("request_rate") {
            c.request_rate = self.choice(v, &f("request_rate"), &RequestRate::ALL)?;
        }
        if let Some(v) = t.get("idle_retry") {
            c.idle_retry = self.choice(v, &f("idle_retry"), &IdleRetry::ALL)?;
        }
        Ok(())
    }
}
