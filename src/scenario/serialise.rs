//! A checked [`Scenario`] written back as a scenario file: every field explicit
//! (defaults included), in units that read back to the same number exactly (sizes in
//! `B`, rates in `B/s`, durations in `s`, frequencies in `/s`, each number in Rust's
//! shortest round-trip form), so `Scenario::from_toml(&to_toml(&s)) == s`.

use super::Scenario;
use super::protocol::{Arrival, BitTorrentConfig, Seeding};
use super::requests::RequestModel;
use std::fmt::Write;
use toml::Value;

/// A TOML string literal (quoted and escaped).
fn quoted(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Bytes as `"N B"`.
fn size(b: u64) -> String {
    quoted(&format!("{b} B"))
}

/// Bytes per second as `"X B/s"`, or `"unlimited"`.
fn rate(r: f64) -> String {
    if r.is_infinite() {
        quoted("unlimited")
    } else {
        quoted(&format!("{r} B/s"))
    }
}

/// Seconds as `"X s"`.
fn secs(d: f64) -> String {
    quoted(&format!("{d} s"))
}

fn arrival(a: &Arrival) -> String {
    match a {
        Arrival::Flash => quoted("flash"),
        Arrival::Poisson { rate, start } => format!(
            "{{ process = \"poisson\", rate = {}, start = {} }}",
            quoted(&format!("{rate} /s")),
            secs(*start)
        ),
        Arrival::Times(t) => {
            let v: Vec<String> = t.iter().map(|x| secs(*x)).collect();
            format!("{{ process = \"times\", times = [{}] }}", v.join(", "))
        }
    }
}

fn seeding(s: Seeding) -> String {
    match s {
        Seeding::Never => quoted("never"),
        Seeding::Fixed(d) => format!("{{ fixed = {} }}", secs(d)),
        Seeding::Exponential(d) => format!("{{ exponential = {} }}", secs(d)),
    }
}

/// The scenario as TOML text that [`Scenario::from_toml`] reads back to an equal
/// scenario. Top-level keys come first, so a caller may append more tables.
/// BitTorrent's newer fields are written only where they differ from their
/// default, so that the files of scenarios without them stay as they were, but
/// every field of the block pipeline under `requests = "blocks"`.
pub fn to_toml(s: &Scenario) -> String {
    write_toml(s, false)
}

/// [`to_toml`] with every `[protocol]` field written, at its default too (what
/// `check` shows as a preset's resolved settings).
pub fn to_toml_every_field(s: &Scenario) -> String {
    write_toml(s, true)
}

/// The scenario as TOML; `every`: also the `[protocol]` fields at their default.
fn write_toml(s: &Scenario, every: bool) -> String {
    let mut t = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(t, "name = {}", quoted(&s.name));
    let _ = writeln!(t, "seed = {}", s.seed);
    let _ = writeln!(t, "max_time = {}", secs(s.max_time));
    let _ = writeln!(t, "\n[file]");
    let _ = writeln!(t, "size = {}", size(s.file_bytes));
    let _ = writeln!(t, "chunk = {}", size(s.chunk_bytes));
    let _ = writeln!(t, "\n[server]");
    let _ = writeln!(t, "upload = {}", rate(s.server_upload));
    for c in &s.classes {
        let _ = writeln!(t, "\n[[peers]]");
        let _ = writeln!(t, "name = {}", quoted(&c.name));
        let _ = writeln!(t, "count = {}", c.count);
        let _ = writeln!(t, "upload = {}", rate(c.upload));
        let _ = writeln!(t, "download = {}", rate(c.download));
        let _ = writeln!(t, "arrival = {}", arrival(&c.arrival));
        let _ = writeln!(t, "seeding = {}", seeding(c.seeding));
        let _ = writeln!(t, "latency = {}", secs(c.latency));
    }
    let b = &s.bittorrent;
    let kind = s.protocol.name();
    let _ = writeln!(t, "\n[protocol]");
    let _ = writeln!(t, "kind = {}", quoted(kind));
    if let Some(p) = b.preset {
        // (Every field is written below, so the preset only records the origin.)
        let _ = writeln!(t, "preset = {}", quoted(p.name()));
    }
    let _ = writeln!(t, "max_peers = {}", b.max_peers);
    let _ = writeln!(t, "max_connections = {}", b.max_connections);
    let _ = writeln!(t, "min_peers = {}", b.min_peers);
    let _ = writeln!(t, "reannounce_interval = {}", secs(b.reannounce_interval));
    let _ = writeln!(t, "picker = {}", quoted(b.picker.name()));
    let _ = writeln!(t, "random_first = {}", b.random_first);
    let _ = writeln!(t, "endgame = {}", b.endgame);
    let _ = writeln!(t, "choker = {}", quoted(b.choker.name()));
    let _ = writeln!(t, "seed_choker = {}", quoted(b.seed_choker.name()));
    let _ = writeln!(t, "unchoke_slots = {}", b.unchoke_slots);
    let _ = writeln!(t, "rate_window = {}", secs(b.rate_window));
    let _ = writeln!(t, "rechoke_interval = {}", secs(b.rechoke_interval));
    let _ = writeln!(t, "optimistic_interval = {}", secs(b.optimistic_interval));
    let _ = writeln!(t, "requests_in_flight = {}", b.requests_in_flight);
    let _ = writeln!(t, "inactivity_timeout = {}", secs(b.inactivity_timeout));
    let _ = writeln!(t, "close_redundant = {}", b.close_redundant);
    let _ = writeln!(t, "seed_quota_pieces = {}", b.seed_quota_pieces);
    let _ = writeln!(t, "seed_quota_time = {}", secs(b.seed_quota_time));
    // The request pipeline's fields only when they differ from the whole-chunk
    // default, so that the files of scenarios without them stay as they were; but
    // all of them, at their defaults too, under the pipeline, so that a manifest
    // and a sweep's fingerprint pin what its run used even if a default changes.
    let d = BitTorrentConfig::default();
    let all = every || b.requests == RequestModel::Blocks;
    if all
        || (b.requests, b.block_size, b.request_queue_time)
            != (d.requests, d.block_size, d.request_queue_time)
        || (b.request_queue_min, b.request_queue_max) != (d.request_queue_min, d.request_queue_max)
    {
        let _ = writeln!(t, "requests = {}", quoted(b.requests.name()));
        let _ = writeln!(t, "block_size = {}", size(b.block_size));
        let _ = writeln!(t, "request_queue_time = {}", secs(b.request_queue_time));
        let _ = writeln!(t, "request_queue_min = {}", b.request_queue_min);
        let _ = writeln!(t, "request_queue_max = {}", b.request_queue_max);
    }
    // Likewise the allowed-fast set and the rate limiter's overhead.
    if all || b.allowed_fast != d.allowed_fast {
        let _ = writeln!(t, "allowed_fast = {}", b.allowed_fast);
    }
    if all || b.whole_pieces_threshold != d.whole_pieces_threshold {
        let _ = writeln!(
            t,
            "whole_pieces_threshold = {}",
            secs(b.whole_pieces_threshold)
        );
    }
    if all || b.whole_pieces_rule != d.whole_pieces_rule {
        let _ = writeln!(
            t,
            "whole_pieces_rule = {}",
            quoted(b.whole_pieces_rule.name())
        );
    }
    if every || b.rate_limit_overhead != d.rate_limit_overhead {
        let _ = writeln!(t, "rate_limit_overhead = {}", b.rate_limit_overhead);
    }
    // The choke rules only when they differ from the default, as above.
    if every || (b.optimistic_pick, b.lost_interest) != (d.optimistic_pick, d.lost_interest) {
        let _ = writeln!(t, "optimistic_pick = {}", quoted(b.optimistic_pick.name()));
        let _ = writeln!(t, "lost_interest = {}", quoted(b.lost_interest.name()));
    }
    if all || b.started_chunks != d.started_chunks {
        let _ = writeln!(t, "started_chunks = {}", quoted(b.started_chunks.name()));
    }
    if all || b.request_rate != d.request_rate {
        let _ = writeln!(t, "request_rate = {}", quoted(b.request_rate.name()));
    }
    if all || b.idle_retry != d.idle_retry {
        let _ = writeln!(t, "idle_retry = {}", quoted(b.idle_retry.name()));
    }
    let _ = writeln!(t, "\n[network]");
    let _ = writeln!(t, "model = {}", quoted(s.network.name()));
    let _ = writeln!(t, "\n[output]");
    let _ = writeln!(t, "sample_interval = {}", secs(s.sample_interval));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::ModelKind;
    use crate::scenario::{
        BitTorrentConfig, ChokerKind, IdleRetry, LostInterest, OptimisticPick, PeerClass,
        PickerKind, ProtocolKind, RequestModel, RequestRate, SeedChoker, StartedOrder,
        WholePiecesRule,
    };
    use proptest::prelude::*;

    /// A positive finite rate over many orders of magnitude, with awkward digits.
    fn pos_rate() -> impl Strategy<Value = f64> {
        prop_oneof![
            (1e-3f64..1e12),
            (1u64..1_000_000_000).prop_map(|x| x as f64 / 8.0),
            (0.1f64..1.0).prop_map(|x| x * 1e-300),
            Just(1.0 / 3.0),
        ]
    }

    fn duration(min_exclusive_zero: bool) -> impl Strategy<Value = f64> {
        let lo = if min_exclusive_zero { 1e-9 } else { 0.0 };
        prop_oneof![(lo..1e9), Just(lo), Just(0.1 + 0.2)]
            .prop_map(move |d: f64| if min_exclusive_zero { d.max(1e-9) } else { d })
    }

    fn arrival(count: u64) -> impl Strategy<Value = Arrival> {
        prop_oneof![
            Just(Arrival::Flash),
            (pos_rate(), duration(false))
                .prop_map(|(rate, start)| Arrival::Poisson { rate, start }),
            proptest::collection::vec(duration(false), count as usize).prop_map(Arrival::Times),
        ]
    }

    fn seeding() -> impl Strategy<Value = Seeding> {
        prop_oneof![
            Just(Seeding::Never),
            duration(false).prop_map(Seeding::Fixed),
            duration(true).prop_map(Seeding::Exponential),
        ]
    }

    fn class() -> impl Strategy<Value = PeerClass> {
        (1u64..5, any::<bool>()).prop_flat_map(|(count, big)| {
            // Class names may hold quotes, backslashes and unicode, but no control
            // characters (the checker refuses those).
            let count = if big { count.min(3) * 1_000_000 } else { count };
            (
                "\\PC{0,24}",
                prop_oneof![Just(0.0), pos_rate()],
                prop_oneof![Just(f64::INFINITY), pos_rate()],
                if big {
                    prop_oneof![Just(Arrival::Flash)].boxed()
                } else {
                    arrival(count).boxed()
                },
                seeding(),
                duration(false),
            )
                .prop_map(
                    move |(name, upload, download, arrival, seeding, latency)| PeerClass {
                        name,
                        count,
                        upload,
                        download,
                        arrival,
                        seeding,
                        latency,
                    },
                )
        })
    }

    fn bittorrent() -> impl Strategy<Value = BitTorrentConfig> {
        (
            (
                1u32..100_000,
                1u32..100_000,
                0u32..100_000,
                duration(true).prop_map(|d| d.max(super::super::protocol::MIN_TIMER_INTERVAL)),
            ),
            (
                0usize..4,
                0u32..1_000_000,
                any::<bool>(),
                0usize..4,
                0usize..6,
                any::<bool>(),
            ),
            (
                1u32..10_000,
                1u32..=8,
                1u32..20,
                (super::super::protocol::MIN_TIMER_INTERVAL..1e4),
                1u32..=64,
                0u32..=255,
            ),
            (
                any::<bool>(),
                1u64..=1 << 24,
                duration(false),
                1u32..=2000,
                0u32..=2000,
                any::<bool>(),
            ),
            (
                0u32..=40,
                any::<bool>(),
                prop_oneof![Just(0.0), duration(false)],
                0usize..2,
            ),
            (0usize..3, 0usize..4, 0usize..2, 0usize..2),
        )
            .prop_map(
                |(
                    (mp, mc, minp, re),
                    (pk, rf, eg, ck, sc, cr),
                    (us, k, o, r, rif, idle),
                    (blocks, bs, qt, qmin, qextra, by_rarity),
                    (af, rlo, wpt, wr),
                    (op, li, rr, ir),
                )| {
                    BitTorrentConfig {
                        max_peers: mp,
                        max_connections: mc,
                        min_peers: minp,
                        reannounce_interval: re,
                        picker: PickerKind::ALL[pk].1,
                        random_first: rf,
                        endgame: eg,
                        choker: ChokerKind::ALL[ck].1,
                        seed_choker: SeedChoker::ALL[sc].1,
                        unchoke_slots: us,
                        rate_window: r * f64::from(k),
                        rechoke_interval: r,
                        optimistic_interval: r * f64::from(o),
                        requests_in_flight: rif,
                        inactivity_timeout: r * f64::from(idle),
                        close_redundant: cr,
                        seed_quota_pieces: rf % 1000,
                        seed_quota_time: r * f64::from(o),
                        requests: if blocks {
                            RequestModel::Blocks
                        } else {
                            RequestModel::WholeChunk
                        },
                        block_size: bs,
                        request_queue_time: qt,
                        request_queue_min: qmin,
                        request_queue_max: (qmin + qextra).min(2000),
                        allowed_fast: af,
                        rate_limit_overhead: rlo,
                        whole_pieces_threshold: wpt,
                        whole_pieces_rule: WholePiecesRule::ALL[wr].1,
                        optimistic_pick: OptimisticPick::ALL[op].1,
                        lost_interest: LostInterest::ALL[li].1,
                        started_chunks: if by_rarity {
                            StartedOrder::ByRarity
                        } else {
                            StartedOrder::First
                        },
                        request_rate: RequestRate::ALL[rr].1,
                        idle_retry: IdleRetry::ALL[ir].1,
                        ..BitTorrentConfig::default()
                    }
                },
            )
    }

    prop_compose! {
        fn scenario()(
            name in "[A-Za-z0-9_-][A-Za-z0-9_.-]{0,12}",
            seed in 0u64..=i64::MAX as u64,
            (m, e, k) in (1u64..1 << 20, 0u32..41, 0u32..24),
            server_upload in pos_rate(),
            classes in proptest::collection::vec(class(), 1..4),
            kind in 0usize..3,
            fast in any::<bool>(),
            bittorrent in bittorrent(),
            max_time in duration(true),
            sample_interval in duration(true),
        ) -> Scenario {
            // F = m 2^e (at most 2^60), chunk = F / 2^k but at least F / 10^7 (the
            // chunk limit) and 1 B; every size is an exact f64, as checked ones are.
            let file_bytes = m << e;
            let chunk_bytes = (file_bytes >> k).max(file_bytes.div_ceil(crate::scenario::MAX_CHUNKS)).max(1);
            // Class names differ (the checker refuses a repeated one).
            let mut classes = classes;
            for i in 0..classes.len() {
                while classes[..i].iter().any(|c| c.name == classes[i].name) {
                    classes[i].name.push('#');
                }
            }
            // The optimal scheduler refuses more than 2^32 peer-chunk pairs.
            let peers: u64 = classes.iter().map(|c| c.count).sum();
            let pairs = peers.saturating_mul(file_bytes.div_ceil(chunk_bytes));
            let kind = if kind == 2 && pairs > crate::scenario::MAX_OPTIMAL_BITS { 1 } else { kind };
            Scenario {
                name,
                seed,
                file_bytes,
                chunk_bytes,
                server_upload,
                classes,
                protocol: [ProtocolKind::ClientServer, ProtocolKind::BitTorrent, ProtocolKind::Optimal][kind],
                network: if fast { ModelKind::Fast } else { ModelKind::MaxMin },
                bittorrent,
                max_time,
                sample_interval,
            }
        }
    }

    proptest! {
        // About 2.3 draws are rejected per accepted one, so the reject budget grows
        // with the case count (a long PROPTEST_CASES run would exhaust a fixed one).
        #![proptest_config({
            let c = crate::test_util::cases(512);
            ProptestConfig { max_global_rejects: 100_000.max(10 * c.cases), ..c }
        })]
        /// Serialising then parsing gives back the very same scenario: every field,
        /// every float bit for bit (f64 equality), whatever the class names hold;
        /// with the `[protocol]` fields at their default written out too.
        #[test]
        fn parse_of_serialise_is_identity(s in scenario()) {
            // Only scenarios the checker accepts: no run could finish if the lower
            // bound lies beyond the end of virtual time (about 584 years).
            let b = s.bounds();
            let bound = if s.protocol.is_p2p() { b.d_p2p } else { b.d_cs };
            prop_assume!(bound < crate::engine::Time::MAX.as_secs_f64());
            for text in [to_toml(&s), to_toml_every_field(&s)] {
                let back = Scenario::from_toml(&text, "manifest.toml", &[]);
                prop_assert!(back.is_ok(), "{}\n{}", back.unwrap_err(), text);
                prop_assert_eq!(back.unwrap(), s.clone(), "{}", text);
            }
        }
    }

    #[test]
    fn defaults_are_written_explicitly() {
        // The smallest scenario: every default (docs/SCENARIOS.md) must appear in full.
        let s = Scenario::from_toml(
            "name = \"d\"\n[file]\nsize = \"1 MB\"\n[server]\nupload = \"8 Mbit/s\"\n[[peers]]\ncount = 2\nupload = \"0 B/s\"\ndownload = \"unlimited\"\n",
            "d.toml",
            &[],
        )
        .unwrap();
        let t = to_toml(&s);
        // 256 KiB = 262144 B; 8 Mbit/s = 1e6 B/s; 365 d = 31536000 s.
        for line in [
            "seed = 1",
            "max_time = \"31536000 s\"",
            "chunk = \"262144 B\"",
            "upload = \"1000000 B/s\"",
            "name = \"class0\"",
            "download = \"unlimited\"",
            "arrival = \"flash\"",
            "seeding = \"never\"",
            "kind = \"client-server\"",
            "rate_window = \"20 s\"",
            "model = \"max-min\"",
            "sample_interval = \"10 s\"",
        ] {
            assert!(t.lines().any(|l| l == line), "missing `{line}` in\n{t}");
        }
    }
}
