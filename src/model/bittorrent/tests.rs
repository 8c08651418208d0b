//! Tests of the BitTorrent protocol: the scenario builders the tests share,
//! invariants on random swarms (bounds, byte conservation, determinism), the
//! pickers and availability counts, and the end game. Choking, the connection
//! tables and idle timers have their own files under `tests/`.

mod choking;
mod connections;
mod sleeping;

use super::policy::PickContext;
use super::*;
use crate::model::{RunResult, RunStatus, simulate};
use crate::network::ModelKind;
use crate::scenario::{
    Arrival, ChokerKind, LostInterest, OptimisticPick, PeerClass, PickerKind, ProtocolKind,
    SeedChoker,
};
use proptest::prelude::*;

/// A class of `count` peers with upload `up` and download `down` (bytes/s).
pub(super) fn class(count: u64, up: f64, down: f64) -> PeerClass {
    PeerClass {
        name: format!("c{count}"),
        count,
        upload: up,
        download: down,
        arrival: Arrival::Flash,
        seeding: Seeding::Never,
        latency: 0.0,
    }
}

/// 50 peers (1 Mbit/s up, 4 Mbit/s down) arriving at 0.5/s, seeding for an
/// exponential 30 s, with one-way `latency`, fetching 30 chunks of 64 KiB from a
/// 2 Mbit/s server under the fast model: the churn swarm of the tests that compare
/// two ways of running the same protocol.
fn churn_swarm(latency: f64) -> Scenario {
    let c = churn_class(
        (50, 125_000.0, 500_000.0),
        0.5,
        Seeding::Exponential(30.0),
        latency,
    );
    let mut s = bt(30 * 65_536, 65_536, 250_000.0, vec![c]);
    s.network = ModelKind::Fast;
    s
}

/// A class arriving as a Poisson process of `rate` per second from time zero, with
/// the given seeding and latency: the churn the tests below run.
fn churn_class(
    (count, up, down): (u64, f64, f64),
    rate: f64,
    seeding: Seeding,
    latency: f64,
) -> PeerClass {
    PeerClass {
        arrival: Arrival::Poisson { rate, start: 0.0 },
        seeding,
        latency,
        ..class(count, up, down)
    }
}

/// The times, in seconds, of the trace entries `what` of a traced protocol.
fn trace_times(p: &BitTorrent, what: &str) -> Vec<f64> {
    let trace = p.stats.trace.as_ref().expect("traced");
    trace
        .iter()
        .filter(|e| e.2 == what)
        .map(|e| e.0.as_secs_f64())
        .collect()
}

/// Each peer's completion time in seconds, in peer order (every peer must complete).
fn completion_times(r: &RunResult) -> Vec<f64> {
    r.peers
        .iter()
        .map(|p| p.completion.expect("every peer completes").as_secs_f64())
        .collect()
}

pub(super) fn bt(file: u64, chunk: u64, u_s: f64, classes: Vec<PeerClass>) -> Scenario {
    Scenario {
        name: "bt".into(),
        seed: 5,
        file_bytes: file,
        chunk_bytes: chunk,
        server_upload: u_s,
        classes,
        protocol: ProtocolKind::BitTorrent,
        network: ModelKind::MaxMin,
        bittorrent: BitTorrentConfig::default(),
        max_time: 2e5,
        sample_interval: 10.0,
    }
}

/// Every byte accounted for in a run that completed: total downloaded = N F +
/// wasted, and total downloaded = total uploaded by peers + total sent by the
/// server ([`RunResult::check_bytes_conserved`]).
pub(super) fn assert_bytes_conserved(s: &Scenario, r: &RunResult) {
    assert_eq!(r.summary.peers, s.peers());
    assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
    if let Err(e) = r.check_bytes_conserved() {
        panic!("{e}");
    }
}

/// Random heterogeneous flash crowds with a random protocol, policy and model.
fn case() -> impl Strategy<Value = Scenario> {
    (
        (2u64..40, 4_000u64..64_000, 1e3f64..2e4),
        prop::collection::vec((1u64..12, 0.0f64..2.0, prop::option::of(0.2f64..5.0)), 1..4),
        (
            0usize..4,
            0usize..4,
            0usize..6,
            any::<bool>(),
            0usize..4,
            1u32..3,
            0usize..3,
        ),
        any::<u64>(),
    )
        .prop_map(
            |((chunks, chunk, u), cls, (picker, choker, seedc, fast, kind, rif, idle), seed)| {
                let classes = cls
                    .into_iter()
                    .map(|(count, up, down)| {
                        // Some classes are free riders (upload 0), some download-limited.
                        let up = if up < 0.3 { 0.0 } else { up * u };
                        class(count, up, down.map_or(f64::INFINITY, |d| d * u))
                    })
                    .collect();
                let mut s = bt(chunks * chunk - chunk / 3, chunk, u * 3.0, classes);
                s.seed = seed;
                s.protocol = [
                    ProtocolKind::BitTorrent,
                    ProtocolKind::BitTorrent,
                    ProtocolKind::ClientServer,
                    ProtocolKind::Optimal,
                ][kind];
                s.network = if fast {
                    ModelKind::Fast
                } else {
                    ModelKind::MaxMin
                };
                let c = &mut s.bittorrent;
                c.picker = PickerKind::ALL[picker].1;
                c.choker = ChokerKind::ALL[choker].1;
                c.seed_choker = SeedChoker::ALL[seedc].1;
                // A short quota, so that it runs out within these small runs.
                c.seed_quota_pieces = 2;
                c.seed_quota_time = 15.0;
                c.requests_in_flight = rif;
                // Without, or with a short or a long inactivity timeout.
                c.inactivity_timeout = [0.0, 10.0, 60.0][idle];
                // Each client's optimistic pick and lost-interest rule (drawn from the
                // seed, so that the other draws stay as they were).
                c.optimistic_pick = OptimisticPick::ALL[(seed % 3) as usize].1;
                c.lost_interest = LostInterest::ALL[(seed / 3 % 4) as usize].1;
                s
            },
        )
}

proptest! {
    #![proptest_config(crate::test_util::cases(220))]

    /// Never faster than the bound of its architecture (the network never exceeds a
    /// capacity, so no schedule can beat D_p2p, and client-server cannot beat D_cs),
    /// and every byte is accounted for.
    #[test]
    fn never_faster_than_the_bound_and_bytes_conserved(s in case()) {
        let r = simulate(&s);
        prop_assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
        let b = s.bounds();
        let bound = if s.protocol.is_p2p() { b.d_p2p } else { b.d_cs };
        prop_assert!(r.summary.distribution_time_s >= bound * (1.0 - 1e-9),
            "{} < bound {}", r.summary.distribution_time_s, bound);
        prop_assert!(r.summary.distribution_time_s >= b.d_p2p * (1.0 - 1e-9));
        assert_bytes_conserved(&s, &r);
    }
}

/// A homogeneous flash crowd: N peers of upload u, server 10 u, downloads unlimited.
fn homogeneous(n: u64, chunks: u64) -> Scenario {
    let u = 125_000.0;
    bt(
        chunks * 262_144,
        262_144,
        10.0 * u,
        vec![class(n, u, f64::INFINITY)],
    )
}

#[test]
fn rarest_first_keeps_more_copies_of_the_rarest_chunk_than_random() {
    // A slow seed (u_s = 2 u against 60 u of peer upload) and 200 chunks: with random
    // selection peers fetch from the seed chunks others already have and copies
    // spread unevenly; rarest-first asks the seed for what is rare and equalises
    // copies. Compare the time-average (1 s samples) of the rarest chunk's copy count
    // while leechers remain. (Measured while building this test: about 14 against
    // 3.5 for seeds 1 and 2; the assertion only asks for "more".)
    let u = 125_000.0;
    let mut s = bt(
        200 * 65_536,
        65_536,
        2.0 * u,
        vec![class(60, u, f64::INFINITY)],
    );
    s.sample_interval = 1.0;
    let avg = |s: &Scenario| {
        let r = simulate(s);
        let v: Vec<f64> = r
            .samples
            .iter()
            .filter(|x| x.leechers > 0)
            .map(|x| x.rarest_copies.unwrap() as f64)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let rarest = avg(&s);
    s.bittorrent.picker = PickerKind::Random;
    let random = avg(&s);
    assert!(rarest > random, "rarest-first {rarest} vs random {random}");
}

#[test]
fn poisson_arrivals_departures_latency_are_deterministic_and_conserve_bytes() {
    let u = 125_000.0;
    let c = churn_class((40, u, 4.0 * u), 0.2, Seeding::Exponential(30.0), 0.05);
    let s = bt(30 * 262_144, 262_144, 4.0 * u, vec![c]);
    let a = simulate(&s);
    let b = simulate(&s);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.peers, b.peers);
    assert_eq!(a.summary.status, RunStatus::Completed, "{}", a.summary.note);
    assert_bytes_conserved(&s, &a);
    // Peers that completed and left have a departure time after their completion.
    assert!(a.peers.iter().any(|p| p.departure.is_some()));
    for p in &a.peers {
        if let Some(d) = p.departure {
            assert!(d >= p.completion.unwrap());
        }
    }
}

#[test]
fn homogeneous_flash_crowd_is_within_1_3_of_the_p2p_bound() {
    // 100 peers, 400 chunks, u_s = 10 u, downloads unlimited. The expectation
    // (BitTorrent within 1.3 D_p2p in this setting); D_p2p = N F/(u_s + N u) =
    // 100 F/(110 u). Measured 1.08 and upload utilisation 0.94 with seed 5 when this
    // test was written. With 100 chunks the start-up (a new chunk is split over 4
    // unchoke slots while few peers hold anything) weighs more; see docs/MODEL.md.
    let s = homogeneous(100, 400);
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    assert!(
        r.summary.p2p_bound_ratio < 1.3,
        "{}",
        r.summary.p2p_bound_ratio
    );
    assert!(
        r.summary.upload_utilisation > 0.8,
        "{}",
        r.summary.upload_utilisation
    );
}

/// Regression (found by the invariant property test): a peer missing two chunks, each
/// fetched in endgame from two round-robin seeds that choked it at the same rechoke.
/// The first cancelled copy's bytes were wasted because its duplicate was still
/// coming, then the duplicate was cancelled too, so every 20 s cycle lost its
/// progress: 8 of 12 peers never finished (horizon at 200,000 s) and each had 211 MB
/// of a 0.99 MB file counted as waste. Now a cancelled copy's group is settled first
/// (the furthest copy's bytes are kept), so the swarm completes and bytes balance.
#[test]
fn endgame_duplicates_cancelled_together_keep_their_progress() {
    let mut free = class(2, 0.0, f64::INFINITY);
    free.name = "free".into();
    let mut s = bt(
        989_630,
        38_557,
        5457.35,
        vec![class(10, 3003.9, f64::INFINITY), free],
    );
    s.seed = 16_722_689_067_558_948_710;
    s.bittorrent.picker = PickerKind::GlobalRarest;
    s.bittorrent.choker = ChokerKind::UnchokeAll;
    s.bittorrent.seed_choker = SeedChoker::RoundRobin;
    s.bittorrent.requests_in_flight = 2;
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
    assert_bytes_conserved(&s, &r);
    // Waste stays a fraction of what was delivered (it was 200 times the file).
    let wasted: f64 = r.peers.iter().map(|p| p.bytes_wasted).sum();
    assert!(wasted < 12.0 * 989_630.0, "{wasted}");
}

/// Each node's availability count of a chunk is, by definition, the number of its
/// current neighbours that have it. Regression: counts used to grow only when a
/// (delayed) HAVE arrived while closing a connection subtracted the neighbour's
/// current bitfield, so a peer that left right after its last chunk (seeding time 0,
/// 20 ms latency) drove counts below zero (a `u16` wrap to 65,535: the chunk looked
/// common to rarest-first). Checked at 40 instants of a run with Poisson arrivals,
/// departures and latency.
#[test]
fn availability_counts_equal_neighbours_holding_each_chunk() {
    let c = churn_class(
        (60, 125_000.0, f64::INFINITY),
        1.0,
        Seeding::Fixed(0.0),
        0.02,
    );
    let mut s = bt(40 * 65_536, 65_536, 250_000.0, vec![c]);
    s.network = ModelKind::Fast;
    for k in 1..=40 {
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(k as f64 * 3.0).unwrap());
        let chunks = p.chunks as usize;
        for m in 1..p.nodes.len() {
            if !p.present[m] {
                continue;
            }
            for ch in 0..p.chunks {
                let want = p
                    .links_of(m as NodeId)
                    .iter()
                    .filter(|l| p.has(l.other, ch))
                    .count();
                assert_eq!(
                    p.avail.get(m * chunks + ch as usize) as usize,
                    want,
                    "node {m} chunk {ch} at {} s",
                    3 * k
                );
            }
        }
    }
}

/// A picker that never reads the neighbours' availability counts (random,
/// sequential, global rarest) runs without them (`uses_local_avail` false) and gets
/// exactly the results it gets with the counts kept: the counts are an input of
/// rarest-first only, so dropping them must change nothing else. The same swarm
/// with churn and latency, each such picker wrapped to claim the counts and not.
#[test]
fn pickers_that_ignore_availability_run_the_same_without_it() {
    /// `inner`, reporting `uses` as whether it reads the counts.
    struct Claim {
        inner: Box<dyn PiecePicker>,
        uses: bool,
    }
    impl PiecePicker for Claim {
        fn pick(&mut self, cx: &PickContext, rng: &mut crate::engine::SimRng) -> Option<u32> {
            self.inner.pick(cx, rng)
        }
        fn uses_local_avail(&self) -> bool {
            self.uses
        }
    }
    for kind in [
        PickerKind::Random,
        PickerKind::Sequential,
        PickerKind::GlobalRarest,
    ] {
        assert!(!policy::picker(kind, 4).uses_local_avail(), "{kind:?}");
        let mut s = churn_swarm(0.01);
        s.bittorrent.picker = kind;
        let run = |uses: bool| {
            let mut sim = Sim::new(&s);
            let picker = Box::new(Claim {
                inner: policy::picker(kind, s.bittorrent.random_first),
                uses,
            });
            let mut p = BitTorrent::with_policies(
                &s,
                &mut sim,
                picker,
                policy::leech_choker(&s.bittorrent),
                policy::seed_choker(&s.bittorrent, s.file_bytes as f64, s.chunk_bytes as f64),
            );
            assert_eq!(p.avail.len() == p.chunks as usize, !uses);
            let status = sim.run(&mut p, Time::MAX);
            (status, sim.peers.clone(), sim.now)
        };
        let (kept, dropped) = (run(true), run(false));
        assert_eq!(kept.0, RunStatus::Completed, "{kind:?}");
        assert_eq!(kept, dropped, "{kind:?}");
    }
    assert!(policy::picker(PickerKind::RarestFirst, 4).uses_local_avail());
}

/// The availability counters are as narrow as the connection limit allows (one
/// byte each up to 255 connections, four above), and their width changes nothing
/// but memory: the swarm with churn and latency, run with its counters forced to
/// each of the two widths, gives the same peers and end time.
/// Also checks the width chosen for a given `max_connections`.
#[test]
fn the_availability_counters_width_changes_no_result() {
    let s = churn_swarm(0.01);
    assert!(s.bittorrent.max_connections <= 255);
    let run = |width: u32| {
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        assert!(matches!(p.avail, Counts::U8(_)), "default width");
        let len = p.avail.len();
        p.avail = match width {
            8 => Counts::U8(vec![0; len]),
            _ => Counts::U32(vec![0; len]),
        };
        let status = sim.run(&mut p, Time::MAX);
        (status, sim.peers.clone(), sim.now)
    };
    let narrow = run(8);
    assert_eq!(narrow.0, RunStatus::Completed);
    assert_eq!(narrow, run(32));
    // (Counts::new picks the width from the most neighbours a node may have.)
    assert!(matches!(Counts::new(1, 255), Counts::U8(_)));
    assert!(matches!(Counts::new(1, 256), Counts::U32(_)));
}

/// Five peers whose access links each have a one-way latency of 10 min: every
/// message between two peers takes 20 min, between a peer and the server 10 min.
/// No chunk moves in the first 600 s (the first requests reach the server at
/// 600 s), so a watchdog that looks only at finished chunks and active flows saw
/// "nothing in progress" at 600 s and ended the run `stalled` with 0 of 5 complete,
/// while requests were still on their way. With 9 min it completed.
#[test]
fn messages_in_flight_are_not_a_stall() {
    let mut c = class(5, 100_000.0, f64::INFINITY);
    c.latency = 600.0;
    let s = bt(1_000_000, 100_000, 1_000_000.0, vec![c]);
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
    assert_eq!(r.summary.completed_peers, 5);
    // Each peer needs at least one request (10 min out) and its chunk back (10 min
    // of latency is not charged to data, but the request is): above 600 s.
    assert!(r.summary.distribution_time_s > 600.0);
}
