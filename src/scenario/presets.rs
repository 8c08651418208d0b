//! The client presets (`[protocol] preset`): each client's defaults for the
//! BitTorrent fields it covers, with the source of each value (docs/PRESETS.md).

use super::protocol::{
    BitTorrentConfig, ChokerKind, LostInterest, OptimisticPick, PRESET_FIELDS, PickerKind,
    SeedChoker,
};
use super::requests::{RequestModel, StartedOrder, WholePiecesRule};

/// A client preset (`[protocol] preset`): the defaults of the fields it covers,
/// from the client's source (docs/PRESETS.md); fields written in the file
/// override them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// libtorrent (rasterbar) 2.0.8.
    Libtorrent2,
    /// The reference client ("mainline") 4.0.x.
    Mainline4,
    /// Transmission 4.0.6.
    Transmission4,
}

name_table!(Preset {
    "libtorrent-2.0" => Libtorrent2,
    "mainline-4" => Mainline4,
    "transmission-4" => Transmission4,
});

impl Preset {
    /// Whether this preset sets `field` (a name of `BT_FIELDS`): every preset
    /// sets `PRESET_FIELDS`, and `libtorrent-2.0` also its round-robin seed
    /// choker's quotas.
    pub fn covers(self, field: &str) -> bool {
        PRESET_FIELDS.contains(&field)
            || (self == Preset::Libtorrent2
                && matches!(
                    field,
                    "seed_quota_pieces"
                        | "seed_quota_time"
                        | "rate_limit_overhead"
                        | "whole_pieces_rule"
                ))
    }

    /// Sets the fields this preset covers ([`Preset::covers`]) in `c`. Each value's
    /// source is in docs/CLIENT-RULES.md (the rules read from the client's code)
    /// and docs/PRESETS.md.
    pub fn apply(self, c: &mut BitTorrentConfig) {
        match self {
            Preset::Libtorrent2 => {
                // session_impl::recalculate_unchoke_slots: unchoke_slots_limit = 8
                // counts the one optimistic slot, so 7 regular.
                c.unchoke_slots = 7;
                // settings_pack: unchoke_interval = 15, optimistic_unchoke_interval = 30.
                c.rechoke_interval = 15.0;
                c.optimistic_interval = 30.0;
                // compare_peers (src/choker.cpp): bytes received since the last
                // rechoke, i.e. one round.
                c.rate_window = 15.0;
                c.choker = ChokerKind::TitForTat;
                // seed_choking_algorithm = round_robin, seeding_piece_quota = 20,
                // one minute (unchoke_compare_rr).
                c.seed_choker = SeedChoker::RoundRobinQuota;
                c.seed_quota_pieces = 20;
                c.seed_quota_time = 60.0;
                // piece_picker: initial_picker_threshold = 4, then rarest first.
                c.picker = PickerKind::RarestFirst;
                c.random_first = 4;
                c.endgame = true;
                // close_redundant_connections = true.
                c.close_redundant = true;
                // The request pipeline: 16 KiB blocks (default_block_size,
                // include/libtorrent/disk_interface.hpp); the queue covers
                // request_queue_time = 3 s of the connection's download rate, at least
                // min_request_queue = 2, at most max_out_request_queue = 500
                // (peer_connection::update_desired_queue_size, src/peer_connection.cpp,
                // settings_pack defaults, libtorrent 2.0.8).
                c.requests = RequestModel::Blocks;
                c.block_size = 16384;
                c.request_queue_time = 3.0;
                c.request_queue_min = 2;
                c.request_queue_max = 500;
                // allowed_fast_set_size = 5: a peer sends the set to every peer that
                // becomes interested in it (bt_peer_connection::on_interested,
                // peer_connection::send_allowed_set, src/peer_connection.cpp) and
                // serves requests for those pieces while choking it
                // (peer_connection::incoming_request; send_choke keeps them queued).
                c.allowed_fast = 5;
                // rate_limit_ip_overhead = true: protocol bytes and estimated
                // TCP/IP headers are charged to the limit (payload_share).
                c.rate_limit_overhead = true;
                // whole_pieces_threshold = 20 s (settings_pack): whole pieces for a
                // connection that brings one in 20 s (request_a_block). The queue is
                // kept at the whole pieces' depth ("kept"), not libtorrent's own
                // "adjacent-runs", which leaves the real-client grid further from
                // the real swarms (docs/PRESETS.md).
                c.whole_pieces_threshold = 20.0;
                c.whole_pieces_rule = WholePiecesRule::Kept;
                // session_impl::recalculate_optimistic_unchoke_slots: the peer longest
                // since its last optimistic unchoke (last_optimistic_unchoke_cmp).
                c.optimistic_pick = OptimisticPick::Oldest;
                // incoming_not_interested -> choke_this_peer -> trigger_unchoke: a
                // full rechoke at the next 1-s session tick.
                c.lost_interest = LostInterest::NextTick;
                // Rarest first over started and new pieces alike: a piece being
                // downloaded wins only ties of availability (piece_pos::priority,
                // include/libtorrent/piece_picker.hpp: adjustment -3 against -2 of
                // an open piece, availability x 12 apart; piece_picker::pick_pieces,
                // src/piece_picker.cpp, walking m_pieces in that order).
                c.started_chunks = StartedOrder::ByRarity;
            }
            Preset::Mainline4 => {
                // BitTorrent/download.py _set_auto_uploads: 4 uploads at the default
                // max_upload_rate of 20 kB/s, of which Choker._rechoke keeps
                // max_uploads - 1 by rate and one optimistic.
                c.unchoke_slots = 3;
                // Choker.py: rechoke every 10 s, optimistic (list rotation) every 30 s.
                c.rechoke_interval = 10.0;
                c.optimistic_interval = 30.0;
                // CurrentRateMeasure.py: max_rate_period = 20 s.
                c.rate_window = 20.0;
                c.choker = ChokerKind::TitForTat;
                // Choker._rechoke_seed: max_uploads slots, (max_uploads + 2) // 3
                // new unchokes per 30 s in list order.
                c.seed_choker = SeedChoker::Mainline;
                // PiecePicker.py: rarest_first_cutoff = 4.
                c.picker = PickerKind::RarestFirst;
                c.random_first = 4;
                c.endgame = true;
                // Downloader/Connecter: a complete peer closes connections to seeds.
                c.close_redundant = true;
                // download_slice_size = 16 KiB (BitTorrent/defaultargs.py); the backlog
                // 2 + int(4 s x rate / 16 KiB), about 50 at most
                // (SingleDownload._backlog, BitTorrent/Downloader.py, 4.0.1): 4 s of
                // the rate, at least 2, at most 50 (the constant 2 added above the
                // minimum is not modelled).
                c.requests = RequestModel::Blocks;
                c.block_size = 16384;
                c.request_queue_time = 4.0;
                c.request_queue_min = 2;
                c.request_queue_max = 50;
                // No Fast Extension (BEP 6) in 4.0.x: Connecter.py knows the
                // messages CHOKE to CANCEL only.
                c.allowed_fast = 0;
                // No whole-piece mode: the backlog is blocks of the picked pieces
                // (SingleDownload._request_more, BitTorrent/Downloader.py).
                c.whole_pieces_threshold = 0.0;
                // Choker._round_robin rotates the connection list every 30 s to the
                // first choked interested peer; _rechoke unchokes the first interested
                // non-preferred peer in list order.
                c.optimistic_pick = OptimisticPick::List;
                // Choker.not_interested: _rechoke at once if the peer was unchoked.
                c.lost_interest = LostInterest::Rechoke;
                // PiecePicker.next: strict priority to pieces already started.
                c.started_chunks = StartedOrder::First;
            }
            Preset::Transmission4 => {
                // peer-mgr.cc rechokeUploads: upload-slots-per-torrent = 8 plus one
                // optimistic, RechokePeriod = 10 s, kept for
                // OptimisticUnchokeMultiplier = 4 rechokes.
                c.unchoke_slots = 8;
                c.rechoke_interval = 10.0;
                c.optimistic_interval = 40.0;
                // A 2-s rate history; one rechoke period is the shortest window here.
                c.rate_window = 10.0;
                c.choker = ChokerKind::TitForTat;
                // When complete, ranked by our rate to them.
                c.seed_choker = SeedChoker::Fastest;
                // peer-mgr-wishlist.cc: no rarest first; partial pieces first (which
                // the model's strict priority of started chunks gives), then random.
                c.picker = PickerKind::Random;
                c.random_first = 0;
                c.endgame = true;
                // shouldPeerBeClosed: a complete peer closes connections to seeds.
                c.close_redundant = true;
                // tr_block_info::BlockSize = 16 KiB; maxAvailableReqs
                // (libtransmission/peer-msgs.cc, 4.0.6): RequestBufSecs = 10 s of the
                // rate, at least 32, at most the peer's reqq (250 when not advertised).
                c.requests = RequestModel::Blocks;
                c.block_size = 16384;
                c.request_queue_time = 10.0;
                c.request_queue_min = 32;
                c.request_queue_max = 250;
                // The allowed-fast sender (updateFastSet, protocolSendAllowedFast,
                // libtransmission/peer-msgs.cc, 4.0.x) is compiled out (#if 0).
                c.allowed_fast = 0;
                // No whole-piece mode: requests are block spans of the wishlist's
                // pieces (peer-mgr-wishlist.cc, 4.0.6).
                c.whole_pieces_threshold = 0.0;
                // rechokeUploads: a random choked interested peer (rand_pool).
                c.optimistic_pick = OptimisticPick::Random;
                // peer-msgs.cc: NOT_INTERESTED only clears peer_is_interested_; the
                // next rechokeUploads (every RechokePeriod = 10 s) acts on it.
                c.lost_interest = LostInterest::NextRechoke;
                // peer-mgr-wishlist.cc: partial pieces before new ones.
                c.started_chunks = StartedOrder::First;
            }
        }
    }
}
