//! Scenario fields of the peer-to-peer protocols, peer arrivals and departures.

use super::presets::Preset;
use super::requests::{IdleRetry, RequestModel, RequestRate, StartedOrder, WholePiecesRule};
use super::{Checker, Res, units};
use toml::{Table, Value};

/// How the peers of a class arrive.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrival {
    /// All at time 0 (a flash crowd).
    Flash,
    /// A Poisson process: exponential gaps of mean `1/rate`, starting at `start` s.
    Poisson {
        /// Arrivals per second.
        rate: f64,
        /// Time of the process's start, seconds.
        start: f64,
    },
    /// Explicit arrival times in seconds, one per peer.
    Times(Vec<f64>),
}

/// How long a peer stays after completing the file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Seeding {
    /// It stays until the end of the run.
    Never,
    /// It leaves after a fixed time, seconds (0: at once).
    Fixed(f64),
    /// It leaves after an exponentially distributed time of this mean, seconds.
    Exponential(f64),
}

/// Which piece picker a BitTorrent peer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickerKind {
    /// Random first, then rarest among the neighbours' chunks.
    RarestFirst,
    /// Uniformly random among the chunks the uploader has.
    Random,
    /// Lowest chunk index first.
    Sequential,
    /// Rarest over the whole swarm (an oracle no real client has).
    GlobalRarest,
}

name_table!(PickerKind {
    "rarest-first" => RarestFirst,
    "random" => Random,
    "sequential" => Sequential,
    "global-rarest" => GlobalRarest,
});

/// Which choker a BitTorrent leecher uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChokerKind {
    /// Tit-for-tat: the best uploaders to us, plus an optimistic unchoke.
    TitForTat,
    /// Every interested neighbour is unchoked.
    UnchokeAll,
    /// Interested neighbours take turns, `unchoke_slots` at a time.
    RoundRobin,
    /// libtorrent's `rate_based_choker` (`unchoke_sort`, src/choker.cpp,
    /// libtorrent 2.0.8): tit-for-tat, with as many regular slots as neighbours
    /// we upload to at a rate above a threshold that grows per slot (1 KiB/s, then
    /// 2 KiB/s more each); `unchoke_slots` is not used.
    RateBased,
}

name_table!(ChokerKind {
    "tit-for-tat" => TitForTat,
    "unchoke-all" => UnchokeAll,
    "round-robin" => RoundRobin,
    "rate-based" => RateBased,
});

/// How seeds (and the server) choose whom to unchoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedChoker {
    /// The neighbours that took our uploads at the highest rate.
    Fastest,
    /// Interested neighbours take turns in node-id order, `unchoke_slots` at a
    /// time, moving on at every rechoke.
    RoundRobin,
    /// libtorrent's `round_robin` seed choker (`unchoke_compare_rr`, src/choker.cpp,
    /// libtorrent 2.0.8): an unchoked peer keeps its slot until it has been sent
    /// more than `seed_quota_pieces` chunks' worth of bytes since its unchoke and
    /// has been unchoked for more than `seed_quota_time`; then the peers that have
    /// waited longest since their last unchoke get the slots.
    RoundRobinQuota,
    /// libtorrent's `fastest_upload` seed choker (`unchoke_compare_fastest_upload`,
    /// src/choker.cpp, libtorrent 2.0.8): most bytes sent in the last rechoke
    /// round first, then longest since the last unchoke.
    FastestUpload,
    /// libtorrent's `anti_leech` seed choker (`anti_leech_score`, src/choker.cpp,
    /// libtorrent 2.0.8): peers that just started or nearly finished first, then
    /// longest since the last unchoke.
    AntiLeech,
    /// Mainline 4.0.1's seed rule (`Choker._rechoke_seed`, BitTorrent/Choker.py):
    /// `unchoke_slots` + 1 slots, no optimistic unchoke; peers unchoked within the
    /// last two rechokes keep their slot, and (slots + 2) / 3 new unchokes per three
    /// rechokes go to the next choked peers in a rotating list.
    Mainline,
}

name_table!(SeedChoker {
    "fastest" => Fastest,
    "round-robin" => RoundRobin,
    "round-robin-quota" => RoundRobinQuota,
    "fastest-upload" => FastestUpload,
    "anti-leech" => AntiLeech,
    "mainline" => Mainline,
});

/// Whom a BitTorrent node unchokes optimistically (`[protocol] optimistic_pick`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimisticPick {
    /// A choked interested neighbour drawn at random at each optimistic round,
    /// kept until the next (Transmission 4.0.6, `rechokeUploads`,
    /// libtransmission/peer-mgr.cc).
    Random,
    /// The interested neighbour not among the regular unchokes whose last
    /// optimistic unchoke is oldest (never first; ties in connection order),
    /// libtorrent 2.0.8 (`session_impl::recalculate_optimistic_unchoke_slots`,
    /// `last_optimistic_unchoke_cmp`, src/session_impl.cpp).
    Oldest,
    /// The first interested neighbour not among the regular unchokes in a list
    /// that each optimistic round rotates to start at the first choked interested
    /// one; recomputed at every rechoke (mainline 4.0.1, `Choker._round_robin` and
    /// `Choker._rechoke`, BitTorrent/Choker.py).
    List,
}

name_table!(OptimisticPick {
    "random" => Random,
    "oldest" => Oldest,
    "list" => List,
});

/// What a BitTorrent node does when a neighbour it unchokes stops being interested
/// (`[protocol] lost_interest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LostInterest {
    /// Choke it and give the slot at once to the interested neighbour that
    /// uploaded to us fastest.
    Refill,
    /// Choke it at once and choose the regular unchokes afresh (a rechoke between
    /// the periodic ones) at the node's next whole second (libtorrent 2.0.8:
    /// `incoming_not_interested` -> `choke_this_peer` -> `trigger_unchoke`, run by
    /// `session_impl::on_tick` once a second; src/peer_connection.cpp,
    /// src/session_impl.cpp). If it was the optimistic unchoke, a new one is
    /// picked then too (`trigger_optimistic_unchoke`).
    NextTick,
    /// Choose the regular unchokes afresh at once (mainline 4.0.1:
    /// `Choker.not_interested` -> `_rechoke`, BitTorrent/Choker.py).
    Rechoke,
    /// Nothing until the next periodic rechoke: the neighbour stays unchoked and
    /// its slot idle (Transmission 4.0.6: NOT_INTERESTED only clears a flag,
    /// libtransmission/peer-msgs.cc; `rechokeUploads` runs every 10 s).
    NextRechoke,
}

name_table!(LostInterest {
    "refill" => Refill,
    "next-tick" => NextTick,
    "rechoke" => Rechoke,
    "next-rechoke" => NextRechoke,
});

/// Which fields of `BT_FIELDS` a scenario file wrote, a bit per index: where a
/// value came from, not a setting, so any two compare equal (two files that
/// resolve to the same settings describe the same scenario), and its `Debug`
/// (which a sweep's fingerprint hashes) shows no bits.
#[derive(Clone, Copy, Default)]
pub struct Written(pub u64);

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Written")
    }
}

impl PartialEq for Written {
    fn eq(&self, _: &Written) -> bool {
        true
    }
}

/// Parameters of the `bittorrent` protocol (`[protocol]` table).
#[derive(Clone, Debug, PartialEq)]
pub struct BitTorrentConfig {
    /// Peers the tracker returns per announce.
    pub max_peers: u32,
    /// Cap on a node's connections.
    pub max_connections: u32,
    /// A peer with fewer neighbours than this re-announces.
    pub min_peers: u32,
    /// Shortest time between two announces of one peer, seconds.
    pub reannounce_interval: f64,
    /// The piece picker.
    pub picker: PickerKind,
    /// Chunks picked at random before rarest-first starts.
    pub random_first: u32,
    /// Whether endgame mode is on.
    pub endgame: bool,
    /// The leechers' choker.
    pub choker: ChokerKind,
    /// The seeds' (and the server's) choker.
    pub seed_choker: SeedChoker,
    /// Regular unchoke slots.
    pub unchoke_slots: u32,
    /// Rolling window of the rate estimates, seconds (a multiple of the rechoke interval).
    pub rate_window: f64,
    /// Time between two rechokes, seconds.
    pub rechoke_interval: f64,
    /// Time between two optimistic unchokes, seconds.
    pub optimistic_interval: f64,
    /// Chunk requests in flight per connection.
    pub requests_in_flight: u32,
    /// A connection over which neither end has been interested in the other for
    /// this long, seconds, is closed (checked at each rechoke; 0: never).
    pub inactivity_timeout: f64,
    /// A peer that completes closes its connections to seeds (the server and
    /// complete peers), as libtorrent's `close_redundant_connections` does: neither
    /// end can want anything from the other again, and the freed table slots can go
    /// to leechers.
    pub close_redundant: bool,
    /// Chunks' worth of bytes a peer unchoked by the `round-robin-quota` seed
    /// choker must have been sent before it yields its slot (libtorrent's
    /// `seeding_piece_quota`).
    pub seed_quota_pieces: u32,
    /// Time a peer unchoked by the `round-robin-quota` seed choker keeps its slot
    /// at least, seconds (libtorrent: one minute, hard-coded).
    pub seed_quota_time: f64,
    /// How peers request data: whole chunks or a pipeline of blocks.
    pub requests: RequestModel,
    /// Bytes in a block (`requests = "blocks"`; the last block of a chunk may be
    /// shorter).
    pub block_size: u64,
    /// Seconds of the connection's download rate the block queue covers
    /// (libtorrent's `request_queue_time`).
    pub request_queue_time: f64,
    /// Fewest blocks a connection keeps requested.
    pub request_queue_min: u32,
    /// Most blocks a connection keeps requested.
    pub request_queue_max: u32,
    /// Chunks in each peer's allowed-fast set (BEP 6; `requests = "blocks"` only):
    /// every neighbour serves a peer's requests for these chunks while choking it
    /// (libtorrent's `allowed_fast_set_size`; 0: none).
    pub allowed_fast: u32,
    /// Whether the upload limit also pays for protocol and estimated TCP/IP
    /// overhead, leaving payload a share of it (libtorrent's
    /// `rate_limit_ip_overhead`; [`BitTorrentConfig::payload_share`]).
    pub rate_limit_overhead: bool,
    /// A connection whose download rate brings a whole chunk within this many
    /// seconds keeps whole chunks requested, as many as the time brings (at most
    /// 8 MiB), beyond its queue depth (libtorrent's `whole_pieces_threshold`, and
    /// its default, 20 s; `requests = "blocks"` only; 0: off, block by block).
    pub whole_pieces_threshold: f64,
    /// How a connection in whole-piece mode asks for its whole chunks.
    pub whole_pieces_rule: WholePiecesRule,
    /// Whom the optimistic unchoke goes to.
    pub optimistic_pick: OptimisticPick,
    /// What a node does when a neighbour it unchokes stops being interested.
    pub lost_interest: LostInterest,
    /// How the block pipeline ranks started chunks against new ones.
    pub started_chunks: StartedOrder,
    /// Which download rate sizes the block queue and the whole-chunk runs.
    pub request_rate: RequestRate,
    /// When a connection with nothing requested on it asks again.
    pub idle_retry: IdleRetry,
    /// The client preset that set the defaults, if any.
    pub preset: Option<Preset>,
    /// Which fields of `BT_FIELDS` were written in the file (or by `--set`).
    pub written: Written,
}

impl Default for BitTorrentConfig {
    fn default() -> Self {
        BitTorrentConfig {
            max_peers: 50,
            max_connections: 80,
            min_peers: 20,
            reannounce_interval: 300.0,
            picker: PickerKind::RarestFirst,
            random_first: 4,
            endgame: true,
            choker: ChokerKind::TitForTat,
            seed_choker: SeedChoker::Fastest,
            unchoke_slots: 4,
            rate_window: 20.0,
            rechoke_interval: 10.0,
            optimistic_interval: 30.0,
            requests_in_flight: 1,
            inactivity_timeout: 0.0,
            close_redundant: false,
            seed_quota_pieces: 20,
            seed_quota_time: 60.0,
            requests: RequestModel::WholeChunk,
            block_size: 16384,
            request_queue_time: 3.0,
            request_queue_min: 2,
            request_queue_max: 500,
            allowed_fast: 0,
            rate_limit_overhead: false,
            whole_pieces_threshold: 20.0,
            whole_pieces_rule: WholePiecesRule::AdjacentRuns,
            optimistic_pick: OptimisticPick::Random,
            lost_interest: LostInterest::Refill,
            started_chunks: StartedOrder::First,
            request_rate: RequestRate::Current,
            idle_retry: IdleRetry::AtOnce,
            preset: None,
            written: Written(0),
        }
    }
}

/// Shortest BitTorrent timer interval, seconds (`rechoke_interval`,
/// `optimistic_interval`, `rate_window`, `reannounce_interval`). Each node's timers
/// cost events in proportion to virtual time over the interval, whatever the swarm
/// does: 1 ns rechokes gave 1.1e10 events per virtual second. Real clients use
/// 10 s (mainline's rechoke), 15 s (libtorrent's `unchoke_interval`, set in whole
/// seconds) and minutes between announces; 100 ms still lets a swarm scaled down
/// 100 times in time keep its rechokes per chunk, at 10 events per node per
/// virtual second.
pub const MIN_TIMER_INTERVAL: f64 = 0.1;

/// Most consecutive rechokes over which a connection's idleness is counted: the
/// largest `inactivity_timeout` is this many rechoke intervals.
pub const MAX_IDLE_CHECKS: u32 = 255;

impl BitTorrentConfig {
    /// Each field of `BT_FIELDS` with where its value came from: `"file"`, the
    /// preset's name, or `"default"`.
    pub fn sources(&self) -> Vec<(&'static str, &'static str)> {
        BT_FIELDS
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let from = if self.written.0 >> i & 1 == 1 {
                    "file"
                } else if self.preset.is_some_and(|p| p.covers(f)) {
                    self.preset.map_or("default", Preset::name)
                } else {
                    "default"
                };
                (f, from)
            })
            .collect()
    }

    /// Whether `field` (a name of `BT_FIELDS`) was written in the file or by `--set`.
    pub fn wrote(&self, field: &str) -> bool {
        BT_FIELDS
            .iter()
            .position(|f| *f == field)
            .is_some_and(|i| self.written.0 >> i & 1 == 1)
    }

    /// The share of a node's upload limit left to payload. 1 unless
    /// `rate_limit_overhead`; then libtorrent 2.0.8's accounting per block of `B =
    /// block_size` payload bytes sent: the PIECE message, `B + 13` bytes (length,
    /// id, index, offset), goes through the rate limiter (`peer_connection::setup_send`
    /// asks the bandwidth manager for every byte of the send buffer,
    /// src/peer_connection.cpp); each TCP segment of at
    /// most 1460 bytes is charged 40 bytes of IPv4 and TCP header
    /// (`stat::trancieve_ip_packet`, include/libtorrent/stat.hpp: one header for the
    /// segment, one for its ACK); and each read of an incoming message, here the
    /// block's 17-byte REQUEST, charges the 40-byte header of its ACK to the upload
    /// channel too (the same function, on the receive path). The IP charges are
    /// drained from the peer class's channels every second
    /// (`peer_connection::second_tick`, `session_impl::use_quota_overhead`). So the
    /// share is `B / ((B + 13) * 1500 / 1460 + 40)`: 0.970 for 16 KiB blocks. Not
    /// counted: HAVE and other small messages, and the ACKs of what the node
    /// downloads, which libtorrent also charges to its upload (a leecher
    /// downloading at twice its upload rate loses about 5 % more).
    pub fn payload_share(&self) -> f64 {
        if !self.rate_limit_overhead {
            return 1.0;
        }
        let b = self.block_size as f64;
        b / ((b + 13.0) * 1500.0 / 1460.0 + 40.0)
    }

    /// How many consecutive rechokes must find a connection idle (neither end
    /// interested in the other) before it is closed: the inactivity timeout over
    /// the rechoke interval, rounded up (a timeout of 25 s with rechokes every
    /// 10 s takes 3 checks); 0 when the timeout is 0 (never closed).
    pub fn idle_checks(&self) -> u8 {
        if self.inactivity_timeout <= 0.0 {
            return 0;
        }
        let k = (self.inactivity_timeout / self.rechoke_interval - 1e-9).ceil();
        k.clamp(1.0, MAX_IDLE_CHECKS as f64) as u8
    }
}

/// The `[protocol]` fields of the block pipeline alone (`requests = "blocks"`).
pub const PIPELINE_FIELDS: &[&str] = &[
    "block_size",
    "request_queue_time",
    "request_queue_min",
    "request_queue_max",
    "allowed_fast",
    "whole_pieces_threshold",
    "whole_pieces_rule",
    "started_chunks",
    "request_rate",
    "idle_retry",
];

/// The fields every client preset sets (see [`Preset::covers`]).
pub const PRESET_FIELDS: &[&str] = &[
    "unchoke_slots",
    "rechoke_interval",
    "optimistic_interval",
    "rate_window",
    "choker",
    "seed_choker",
    "picker",
    "random_first",
    "endgame",
    "close_redundant",
    "requests",
    "block_size",
    "request_queue_time",
    "request_queue_min",
    "request_queue_max",
    "allowed_fast",
    "whole_pieces_threshold",
    "optimistic_pick",
    "lost_interest",
    "started_chunks",
];

/// The fields `[protocol]` accepts besides `kind`.
pub const BT_FIELDS: &[&str] = &[
    "max_peers",
    "max_connections",
    "min_peers",
    "reannounce_interval",
    "picker",
    "random_first",
    "endgame",
    "choker",
    "seed_choker",
    "unchoke_slots",
    "rate_window",
    "rechoke_interval",
    "optimistic_interval",
    "requests_in_flight",
    "inactivity_timeout",
    "close_redundant",
    "seed_quota_pieces",
    "seed_quota_time",
    "requests",
    "block_size",
    "request_queue_time",
    "request_queue_min",
    "request_queue_max",
    "allowed_fast",
    "rate_limit_overhead",
    "whole_pieces_threshold",
    "whole_pieces_rule",
    "optimistic_pick",
    "lost_interest",
    "started_chunks",
    "request_rate",
    "idle_retry",
    "preset",
];

impl Checker {
    pub(super) fn duration(&self, v: &Value, field: &str, min_exclusive_zero: bool) -> Res<f64> {
        let d = self.quantity(
            v,
            field,
            units::parse_duration,
            "30 s",
            units::DURATION_UNITS,
        )?;
        if d < 0.0 || (min_exclusive_zero && d == 0.0) {
            let what = if min_exclusive_zero {
                "more than zero"
            } else {
                "zero or more"
            };
            return Err(self.err(field, Some(v), format!("must be {what}")));
        }
        if d > crate::engine::Time::MAX.as_secs_f64() / 2.0 {
            return Err(self.err(
                field,
                Some(v),
                "too long: virtual time covers about 292 years here",
            ));
        }
        Ok(d)
    }

    pub(super) fn boolean(&self, v: &Value, field: &str) -> Res<bool> {
        match v {
            Value::Boolean(b) => Ok(*b),
            _ => Err(self.err(field, Some(v), "expected true or false")),
        }
    }

    pub(super) fn bittorrent(&self, t: &Table) -> Res<BitTorrentConfig> {
        let mut c = BitTorrentConfig::default();
        let f = |k: &str| format!("protocol.{k}");
        if let Some(v) = t.get("preset") {
            // "none": the built-in defaults, as if no preset were written (so that a
            // sweep can vary the preset, idealised BitTorrent included).
            let mut options: Vec<(&str, Option<Preset>)> = vec![("none", None)];
            options.extend(Preset::ALL.iter().map(|&(n, p)| (n, Some(p))));
            if let Some(p) = self.choice(v, &f("preset"), &options)? {
                p.apply(&mut c);
                c.preset = Some(p);
            }
        }
        for (i, k) in BT_FIELDS.iter().enumerate() {
            if t.contains_key(*k) {
                c.written.0 |= 1 << i;
            }
        }
        let int = |k: &str, min: i64, max: i64, dflt: u32| -> Res<u32> {
            match t.get(k) {
                None => Ok(dflt),
                Some(v) => Ok(self.integer(v, &f(k), min, max)? as u32),
            }
        };
        let dur = |k: &str, dflt: f64| -> Res<f64> {
            match t.get(k) {
                None => Ok(dflt),
                Some(v) => {
                    let d = self.duration(v, &f(k), true)?;
                    if d < MIN_TIMER_INTERVAL {
                        return Err(self.err(
                            &f(k),
                            Some(v),
                            format!(
                                "must be at least {MIN_TIMER_INTERVAL} s (a timer interval; \
                                 real clients rechoke every 10 to 15 s and announce every few minutes)"
                            ),
                        ));
                    }
                    Ok(d)
                }
            }
        };
        c.max_peers = int("max_peers", 1, 100_000, c.max_peers)?;
        c.max_connections = int("max_connections", 1, 100_000, c.max_connections)?;
        c.min_peers = int("min_peers", 0, 100_000, c.min_peers)?;
        c.random_first = int("random_first", 0, 1_000_000, c.random_first)?;
        c.unchoke_slots = int("unchoke_slots", 1, 10_000, c.unchoke_slots)?;
        c.requests_in_flight = int("requests_in_flight", 1, 64, c.requests_in_flight)?;
        c.seed_quota_pieces = int("seed_quota_pieces", 0, 1_000_000, c.seed_quota_pieces)?;
        if let Some(v) = t.get("seed_quota_time") {
            c.seed_quota_time = self.duration(v, &f("seed_quota_time"), false)?;
        }
        c.reannounce_interval = dur("reannounce_interval", c.reannounce_interval)?;
        c.rate_window = dur("rate_window", c.rate_window)?;
        c.rechoke_interval = dur("rechoke_interval", c.rechoke_interval)?;
        c.optimistic_interval = dur("optimistic_interval", c.optimistic_interval)?;
        if let Some(v) = t.get("inactivity_timeout") {
            c.inactivity_timeout = self.duration(v, &f("inactivity_timeout"), false)?;
        }
        self.request_fields(t, &mut c)?;
        if let Some(v) = t.get("endgame") {
            c.endgame = self.boolean(v, &f("endgame"))?;
        }
        if let Some(v) = t.get("close_redundant") {
            c.close_redundant = self.boolean(v, &f("close_redundant"))?;
        }
        if let Some(v) = t.get("picker") {
            c.picker = self.choice(v, &f("picker"), &PickerKind::ALL)?;
        }
        if let Some(v) = t.get("choker") {
            c.choker = self.choice(v, &f("choker"), &ChokerKind::ALL)?;
        }
        if let Some(v) = t.get("seed_choker") {
            c.seed_choker = self.choice(v, &f("seed_choker"), &SeedChoker::ALL)?;
        }
        if let Some(v) = t.get("optimistic_pick") {
            c.optimistic_pick = self.choice(v, &f("optimistic_pick"), &OptimisticPick::ALL)?;
        }
        if let Some(v) = t.get("lost_interest") {
            c.lost_interest = self.choice(v, &f("lost_interest"), &LostInterest::ALL)?;
        }
        let k = c.rate_window / c.rechoke_interval;
        if (k - k.round()).abs() > 1e-9 || !(1.0..=8.0).contains(&k.round()) {
            return Err(self.err(
                &f("rate_window"),
                t.get("rate_window"),
                format!(
                    "expected 1 to 8 times protocol.rechoke_interval ({} s), since rates are kept per rechoke period",
                    c.rechoke_interval
                ),
            ));
        }
        let o = c.optimistic_interval / c.rechoke_interval;
        if (o - o.round()).abs() > 1e-9 {
            return Err(self.err(
                &f("optimistic_interval"),
                t.get("optimistic_interval"),
                format!(
                    "expected a whole multiple of protocol.rechoke_interval ({} s)",
                    c.rechoke_interval
                ),
            ));
        }
        // Idle connections are counted in rechoke periods, at most 255 of them.
        let i = c.inactivity_timeout / c.rechoke_interval;
        if i > MAX_IDLE_CHECKS as f64 + 1e-9 {
            return Err(self.err(
                &f("inactivity_timeout"),
                t.get("inactivity_timeout"),
                format!(
                    "expected at most {MAX_IDLE_CHECKS} times protocol.rechoke_interval ({} s), since idleness is checked at each rechoke",
                    c.rechoke_interval
                ),
            ));
        }
        Ok(c)
    }

    pub(super) fn arrival(&self, v: Option<&Value>, field: &str, count: u64) -> Res<Arrival> {
        let Some(v) = v else {
            return Ok(Arrival::Flash);
        };
        let expected = "expected \"flash\", { process = \"poisson\", rate = \"2 /min\" } or { process = \"times\", times = [\"0 s\", \"10 s\"] }";
        match v {
            Value::String(s) if s == "flash" => Ok(Arrival::Flash),
            Value::Table(t) => {
                let pf = format!("{field}.process");
                let process =
                    self.string(self.required(t, "process", &pf, expected)?, &pf, expected)?;
                match process.as_str() {
                    "flash" => {
                        self.only(t, field, &["process"])?;
                        Ok(Arrival::Flash)
                    }
                    "poisson" => {
                        self.only(t, field, &["process", "rate", "start"])?;
                        let rf = format!("{field}.rate");
                        let rv = self.required(t, "rate", &rf, "a frequency such as \"2 /min\"")?;
                        let rate = self.quantity(
                            rv,
                            &rf,
                            units::parse_frequency,
                            "2 /min",
                            units::FREQUENCY_UNITS,
                        )?;
                        if rate <= 0.0 {
                            return Err(self.err(&rf, Some(rv), "must be more than zero"));
                        }
                        let start = match t.get("start") {
                            None => 0.0,
                            Some(s) => self.duration(s, &format!("{field}.start"), false)?,
                        };
                        Ok(Arrival::Poisson { rate, start })
                    }
                    "times" => {
                        self.only(t, field, &["process", "times"])?;
                        let tf = format!("{field}.times");
                        let tv = self.required(t, "times", &tf, "a list of times")?;
                        let Value::Array(a) = tv else {
                            return Err(self.err(
                                &tf,
                                Some(tv),
                                "expected a list of times such as [\"0 s\", \"10 s\"]",
                            ));
                        };
                        if a.len() as u64 != count {
                            return Err(self.err(
                                &tf,
                                Some(tv),
                                format!("has {} times but the class has count = {count}; expected one time per peer", a.len()),
                            ));
                        }
                        let mut times = Vec::with_capacity(a.len());
                        for (i, x) in a.iter().enumerate() {
                            times.push(self.duration(x, &format!("{tf}.{i}"), false)?);
                        }
                        Ok(Arrival::Times(times))
                    }
                    _ => Err(self.err(&pf, t.get("process"), expected)),
                }
            }
            _ => Err(self.err(field, Some(v), expected)),
        }
    }

    pub(super) fn seeding(&self, v: Option<&Value>, field: &str) -> Res<Seeding> {
        let Some(v) = v else {
            return Ok(Seeding::Never);
        };
        let expected =
            "expected \"never\", { fixed = \"10 min\" } or { exponential = \"10 min\" } (the mean)";
        match v {
            Value::String(s) if s == "never" => Ok(Seeding::Never),
            Value::Table(t) if t.len() == 1 => {
                if let Some(x) = t.get("fixed") {
                    Ok(Seeding::Fixed(self.duration(
                        x,
                        &format!("{field}.fixed"),
                        false,
                    )?))
                } else if let Some(x) = t.get("exponential") {
                    Ok(Seeding::Exponential(self.duration(
                        x,
                        &format!("{field}.exponential"),
                        true,
                    )?))
                } else {
                    self.only(t, field, &["fixed", "exponential"])?;
                    Err(self.err(field, Some(v), expected))
                }
            }
            _ => Err(self.err(field, Some(v), expected)),
        }
    }
}
