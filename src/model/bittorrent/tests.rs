//! Tests of the BitTorrent protocol: invariants on random swarms and the behaviour of
//! each policy.

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

/// Every byte accounted for: total downloaded = N F + wasted, and total downloaded =
/// total uploaded by peers + total sent by the server.
pub(super) fn assert_bytes_conserved(s: &Scenario, r: &RunResult) {
    let n = s.peers() as f64;
    let f = s.file_bytes as f64;
    let down: f64 = r.peers.iter().map(|p| p.bytes_downloaded).sum();
    let wasted: f64 = r.peers.iter().map(|p| p.bytes_wasted).sum();
    let up: f64 = r.peers.iter().map(|p| p.bytes_uploaded).sum();
    let server: f64 = r.peers.iter().map(|p| p.bytes_from_server).sum();
    let tol = 1e-6 * n * f;
    assert!(
        (down - (n * f + wasted)).abs() <= tol,
        "downloaded {down} != N F {} + wasted {wasted}",
        n * f
    );
    assert!(
        (down - (up + server)).abs() <= tol,
        "downloaded {down} != uploaded {up} + server {server}"
    );
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
                c.picker = [
                    PickerKind::RarestFirst,
                    PickerKind::Random,
                    PickerKind::Sequential,
                    PickerKind::GlobalRarest,
                ][picker];
                c.choker = [
                    ChokerKind::TitForTat,
                    ChokerKind::UnchokeAll,
                    ChokerKind::RoundRobin,
                    ChokerKind::RateBased,
                ][choker];
                c.seed_choker = [
                    SeedChoker::Fastest,
                    SeedChoker::RoundRobin,
                    SeedChoker::RoundRobinQuota,
                    SeedChoker::FastestUpload,
                    SeedChoker::AntiLeech,
                    SeedChoker::Mainline,
                ][seedc];
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
fn unchoke_slots_bound_simultaneous_uploads() {
    // 4 regular unchokes + 1 optimistic, one request in flight per connection: no
    // peer ever uploads to more than 5 neighbours at once.
    let s = homogeneous(80, 40);
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    assert!(
        r.summary.max_peer_uploads <= 5,
        "{}",
        r.summary.max_peer_uploads
    );
    assert!(
        r.summary.max_peer_uploads >= 4,
        "the slots are actually used"
    );
}

#[test]
fn rechoke_and_optimistic_unchoke_at_their_intervals() {
    let s = homogeneous(60, 60);
    let mut sim = Sim::new(&s);
    let mut p = BitTorrent::new(&s, &mut sim);
    p.stats.trace = Some(Vec::new());
    sim.run(&mut p, Time::MAX);
    let trace = p.stats.trace.unwrap();
    // The server rechokes every rechoke_interval = 10 s from t = 10 s, and
    // optimistically unchokes on every third rechoke (optimistic_interval = 30 s):
    // at 10, 40, 70, ... s while it has a choked interested neighbour.
    let times = |what: &str| -> Vec<f64> {
        trace
            .iter()
            .filter(|e| e.1 == SERVER && e.2 == what)
            .map(|e| e.0.as_secs_f64())
            .collect()
    };
    let re = times("rechoke");
    assert!(re.len() >= 5);
    for (k, t) in re.iter().enumerate() {
        assert!(
            (t - 10.0 * (k + 1) as f64).abs() < 1e-6,
            "rechoke {k} at {t}"
        );
    }
    let opt = times("optimistic");
    assert!(opt.len() >= 2);
    for (k, t) in opt.iter().enumerate() {
        assert!(
            (t - (10.0 + 30.0 * k as f64)).abs() < 1e-6,
            "optimistic {k} at {t}"
        );
    }
    // Every peer's rechokes are 10 s apart too.
    for n in 1..=60u32 {
        let t: Vec<f64> = trace
            .iter()
            .filter(|e| e.1 == n && e.2 == "rechoke")
            .map(|e| e.0.as_secs_f64())
            .collect();
        for w in t.windows(2) {
            assert!((w[1] - w[0] - 10.0).abs() < 1e-6);
        }
    }
}

#[test]
fn tit_for_tat_punishes_free_riders() {
    // 40 contributors and 10 free riders (upload 0); everyone leaves on completion,
    // so there are no lingering seeds. Free riders get only optimistic unchokes and
    // the server's uploads, so their mean download time must be much longer.
    let u = 125_000.0;
    let mut contributors = class(40, u, f64::INFINITY);
    contributors.seeding = Seeding::Fixed(0.0);
    let mut riders = class(10, 0.0, f64::INFINITY);
    riders.seeding = Seeding::Fixed(0.0);
    let mut s = bt(60 * 262_144, 262_144, 4.0 * u, vec![contributors, riders]);
    let ratio = |s: &Scenario| {
        let r = simulate(s);
        assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
        let mean = |cls: u32| {
            let v: Vec<f64> = r
                .peers
                .iter()
                .filter(|p| p.class == cls)
                .map(|p| p.completion.unwrap().secs_since(p.arrival))
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        mean(1) / mean(0)
    };
    // Averaged over seeds 1-4 (one run varies: measured 1.4 to 2.2 per seed under
    // tit-for-tat while building this test, 1.0 to 1.2 under unchoke-all, which does
    // not discriminate).
    let avg = |s: &mut Scenario| {
        (1..=4)
            .map(|seed| {
                s.seed = seed;
                ratio(s)
            })
            .sum::<f64>()
            / 4.0
    };
    let tft = avg(&mut s);
    s.bittorrent.choker = ChokerKind::UnchokeAll;
    let all = avg(&mut s);
    assert!(
        tft > 1.5,
        "free riders take only {tft} times as long under tit-for-tat"
    );
    assert!(tft > all, "tit-for-tat {tft} vs unchoke-all {all}");
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

/// The link table's cross-references stay consistent under churn (arrivals,
/// departures that swap-remove links and reuse blocks, latency): every link's
/// connection record points back at it, the other end's copy (at `peer`) points
/// back and mirrors the choke flag and the requests in flight, the per-node bit
/// masks of unchoked and unchoking links match the flags, and every part in
/// flight names the position of its connection. Checked at 40 instants of a run
/// with Poisson arrivals, short seeding and latency (the moves happen when
/// connections close), without and with an inactivity timeout (which closes
/// connections from inside a rechoke).
#[test]
fn link_table_cross_references_hold_under_churn() {
    for timeout in [0.0, 20.0] {
        link_table_cross_references_hold(timeout);
    }
}

fn link_table_cross_references_hold(inactivity_timeout: f64) {
    let c = churn_class(
        (60, 125_000.0, 500_000.0),
        1.0,
        Seeding::Exponential(5.0),
        0.01,
    );
    let mut s = bt(40 * 65_536, 65_536, 250_000.0, vec![c]);
    s.network = ModelKind::Fast;
    s.bittorrent.max_connections = 12;
    s.bittorrent.requests_in_flight = 2;
    s.bittorrent.inactivity_timeout = inactivity_timeout;
    let (mut moved, mut idle_closes) = (0, 0);
    for k in 1..=40 {
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        sim.run(&mut p, Time::from_secs_ceil(k as f64 * 2.0).unwrap());
        moved += p.free_blocks.len();
        idle_closes += p.stats.idle_closes;
        for n in 0..p.nodes.len() as NodeId {
            if !p.present[n as usize] {
                assert_eq!(p.block[n as usize], NONE, "a departed node holds no block");
                continue;
            }
            for (i, l) in p.links_of(n).iter().enumerate() {
                let k = &p.conns[l.conn as usize];
                assert!(k.alive);
                assert_eq!(k.ends[l.end as usize], n);
                assert_eq!(k.pos[l.end as usize], i as u32);
                let m = p.lk(l.other, l.peer);
                assert_eq!((m.other, m.peer, m.conn), (n, i as u32, l.conn));
                assert_eq!(m.unchoked, l.unchoking, "choke flags mirror");
                assert_eq!(m.requested, l.in_flight, "requests in flight mirror");
                if !p.unchoked_mask.is_empty() {
                    let bit = |mask: &Vec<u128>| mask[n as usize] >> i & 1 == 1;
                    assert_eq!(bit(&p.unchoked_mask), l.unchoked, "unchoked bit");
                    assert_eq!(bit(&p.unchoking_mask), l.unchoking, "unchoking bit");
                }
            }
            if !p.unchoked_mask.is_empty() {
                let d = p.deg[n as usize];
                assert_eq!(p.unchoked_mask[n as usize] >> d, 0, "no bit past the links");
                assert_eq!(
                    p.unchoking_mask[n as usize] >> d,
                    0,
                    "no bit past the links"
                );
            }
            for q in &p.nodes[n as usize].downloads {
                assert_eq!(p.lk(n, q.pos).conn, q.conn, "a part knows its link");
            }
        }
    }
    // The runs had departures (links swap-removed, blocks given back), and with the
    // timeout, connections closed by it.
    assert!(moved > 0);
    assert_eq!(idle_closes > 0, inactivity_timeout > 0.0, "{idle_closes}");
}

/// The choke bit masks are only a faster way to list links: a run that walks all
/// links instead (as blocks of more than 128 links do) gives the same results, with
/// churn, latency, two requests in flight and several policies.
#[test]
fn choke_masks_change_nothing() {
    for (choker, seed_choker, rif, latency) in [
        (ChokerKind::TitForTat, SeedChoker::Fastest, 1, 0.0),
        (ChokerKind::RoundRobin, SeedChoker::RoundRobin, 2, 0.01),
        (ChokerKind::UnchokeAll, SeedChoker::Fastest, 1, 0.0),
        (ChokerKind::TitForTat, SeedChoker::RoundRobinQuota, 1, 0.01),
        (ChokerKind::TitForTat, SeedChoker::AntiLeech, 2, 0.0),
        (ChokerKind::TitForTat, SeedChoker::FastestUpload, 1, 0.0),
    ] {
        let mut s = churn_swarm(latency);
        s.bittorrent.choker = choker;
        s.bittorrent.seed_choker = seed_choker;
        s.bittorrent.requests_in_flight = rif;
        s.bittorrent.max_connections = 40;
        let run = |masks: bool| {
            let mut sim = Sim::new(&s);
            let p = BitTorrent::new(&s, &mut sim);
            let mut p = if masks { p } else { p.without_masks() };
            let status = sim.run(&mut p, Time::MAX);
            (status, sim.peers.clone(), sim.now)
        };
        let (with, without) = (run(true), run(false));
        assert_eq!(with.0, RunStatus::Completed, "{choker:?}");
        assert_eq!(with, without, "{choker:?} rif {rif} latency {latency}");
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

/// The inactivity timeout closes a connection at the rechoke that finds it idle
/// for the `idle_checks`-th time in a row, and not before. One peer fetches 10
/// chunks of 64 KiB alone from a 250 kB/s server: done at 655,360 / 250,000 =
/// 2.62 s, after which neither end is interested in the other. Both rechoke at 10,
/// 20, 30 s (first one a rechoke interval after arriving at 0), so with a 30 s
/// timeout (3 checks) the connection is idle at 10, 20 and 30 s and closes at 30 s;
/// without it, it stays. A second peer arriving at 100 s still finds both (the
/// server's slot was free and the seed stays), and completes.
#[test]
fn inactivity_timeout_closes_an_idle_connection_at_its_third_check() {
    let mut c = class(2, 125_000.0, f64::INFINITY);
    c.arrival = Arrival::Times(vec![0.0, 100.0]);
    let mut s = bt(10 * 65_536, 65_536, 250_000.0, vec![c]);
    s.bittorrent.inactivity_timeout = 30.0;
    assert_eq!(s.bittorrent.idle_checks(), 3);
    let at = |secs: f64, s: &Scenario| {
        let mut sim = Sim::new(s);
        let mut p = BitTorrent::new(s, &mut sim);
        p.stats.trace = Some(Vec::new());
        sim.run(&mut p, Time::from_secs_ceil(secs).unwrap());
        p
    };
    let p = at(29.9, &s);
    assert!(p.nodes[1].complete, "the first peer is done long before");
    assert_eq!(
        (p.deg[1], p.deg[SERVER as usize], p.stats.idle_closes),
        (1, 1, 0)
    );
    let p = at(30.1, &s);
    assert_eq!(
        (p.deg[1], p.deg[SERVER as usize], p.stats.idle_closes),
        (0, 0, 1)
    );
    let closes = trace_times(&p, "idle-close");
    assert_eq!(closes.len(), 1);
    assert!((closes[0] - 30.0).abs() < 1e-9, "closed at {} s", closes[0]);
    // Without the timeout the idle connection is kept.
    let mut keep = s.clone();
    keep.bittorrent.inactivity_timeout = 0.0;
    let p = at(30.1, &keep);
    assert_eq!((p.deg[1], p.stats.idle_closes), (1, 0));
    // The late peer connects to the server and the seed and completes.
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    assert!(r.peers.iter().all(|p| p.completion.is_some()));
    assert_bytes_conserved(&s, &r);
}

/// A starving leecher announces again although it has `min_peers` neighbours.
/// Hand-worked: `max_connections` = 2, `min_peers` = 1, one chunk of 400 kB, a
/// 2000 B/s server, every peer a free rider with unlimited download. E1 and E2
/// arrive at 0 s and fill the server's table and each other's (the server sends
/// each 1000 B/s, so they complete and leave at 400 s). G1 arrives at 10 s, finds
/// every table full and schedules an announce at 310 s; G2 arrives at 11 s and
/// connects to G1, so both have `min_peers` neighbours that hold nothing. G1's
/// announce at 310 s still finds the server full (E1 and E2 are there until 400 s).
/// Without the starving rule nobody ever announces again and the run stalls with
/// 2 of 4 complete (checked by disabling the rule). With it, G1 announces at its
/// rechoke at 610 s (10 s + 60 rechoke intervals, the first at least 300 s after
/// its 310 s announce) and G2 at 611 s (its 311 s announce found the server full),
/// both connect to the now empty server (which unchokes at once). G1 gets 2000 B
/// alone in its first second, then both get 1000 B/s, so G1 completes at 611 +
/// 398 = 1009 s; G2 then has 2000 B left at 2000 B/s and completes at 1010 s.
#[test]
fn a_starving_leecher_announces_again() {
    let mut e = class(2, 0.0, f64::INFINITY);
    e.seeding = Seeding::Fixed(0.0);
    let mut g = class(2, 0.0, f64::INFINITY);
    g.name = "late".into();
    g.arrival = Arrival::Times(vec![10.0, 11.0]);
    let mut s = bt(400_000, 400_000, 2000.0, vec![e, g]);
    s.bittorrent.max_connections = 2;
    s.bittorrent.min_peers = 1;
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    let done = completion_times(&r);
    for &t in &done[..2] {
        assert!((t - 400.0).abs() < 1e-6, "early peers done at {t} s");
    }
    assert!((done[2] - 1009.0).abs() < 1e-6, "G1 done at {} s", done[2]);
    assert!((done[3] - 1010.0).abs() < 1e-6, "G2 done at {} s", done[3]);
    assert_bytes_conserved(&s, &r);
}

/// `close_redundant`, by hand. A 400 kB file in one chunk, a 2000 B/s server, three
/// peers of 2000 B/s up, `max_connections = 2`, `min_peers = 1`, all arriving at 0 s
/// in order. P1 connects to the server; P2 to the server and P1: all three tables
/// are full, so P3 connects to nobody and announces again at 300 s and 600 s. The
/// server sends to P1 and P2 at 1000 B/s each: both complete at 400 s (neither has
/// a chunk to share before). Without the option the server, P1 and P2 keep their
/// connections (seeds to seeds) and P3's announces find every table full for ever:
/// stalled with 2 of 3 complete. With it P1 closes its connection to the server at
/// 400 s, and P2 its two (to the server and to P1, now a seed): 3 closes. P3's
/// announce at 600 s connects it to two of the three seeds, each uploading at
/// 2000 B/s; the second link splits the part of the first, so it receives 4000 B/s
/// and completes at 600 + 400,000 / 4000 = 700 s.
#[test]
fn close_redundant_frees_the_tables_that_seeds_hold() {
    let s0 = {
        let mut s = bt(
            400_000,
            400_000,
            2000.0,
            vec![class(3, 2000.0, f64::INFINITY)],
        );
        s.bittorrent.max_connections = 2;
        s.bittorrent.min_peers = 1;
        s
    };
    let r = simulate(&s0);
    assert_eq!(r.summary.status, RunStatus::Stalled);
    assert_eq!(r.peers.iter().filter(|p| p.completion.is_some()).count(), 2);
    let mut s = s0.clone();
    s.bittorrent.close_redundant = true;
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed);
    let done = completion_times(&r);
    for &t in &done[..2] {
        assert!((t - 400.0).abs() < 1e-6, "first peers done at {t} s");
    }
    assert!((done[2] - 700.0).abs() < 1e-6, "P3 done at {} s", done[2]);
    assert_bytes_conserved(&s, &r);
    // The closes themselves: none before 400 s, all three at 400 s.
    let mut sim = Sim::new(&s);
    let mut p = BitTorrent::new(&s, &mut sim);
    p.stats.trace = Some(Vec::new());
    sim.run(&mut p, Time::from_secs_ceil(500.0).unwrap());
    let closes = trace_times(&p, "redundant-close");
    assert_eq!(closes.len(), 3, "{closes:?}");
    assert!(
        closes.iter().all(|t| (t - 400.0).abs() < 1e-6),
        "{closes:?}"
    );
    assert_eq!(p.stats.redundant_closes, 3);
    assert_eq!(
        (p.deg[SERVER as usize], p.deg[1], p.deg[2], p.deg[3]),
        (0, 0, 0, 0)
    );
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

/// Two peers, the second arriving 10^7 s (116 days) after the first. Once the first
/// has the file, the server and it are seeds with nothing to do until the second
/// arrives; their rechokes (every 10 s) and the watchdog (every 600 s) used to tick
/// through the whole gap: 2 x 10^6 rechokes. They now sleep until the last tick
/// before the arrival. Expected count: the first peer's run (10 chunks, tens of
/// events), a few rechokes around it, the same for the second peer: well under 1000.
#[test]
fn an_idle_swarm_sleeps_until_the_next_arrival() {
    let mut late = class(1, 100_000.0, f64::INFINITY);
    late.name = "late".into();
    late.arrival = Arrival::Times(vec![1e7]);
    let mut s = bt(
        1_000_000,
        100_000,
        1_000_000.0,
        vec![class(1, 100_000.0, f64::INFINITY), late],
    );
    s.max_time = 2e7;
    let r = simulate(&s);
    assert_eq!(r.summary.status, RunStatus::Completed, "{}", r.summary.note);
    assert!(r.summary.events < 1000, "{} events", r.summary.events);
    // The second peer gets the file from two seeds: F / (u_s + u_1) = 1 MB / 1.1 MB/s
    // at best, after its arrival at 10^7 s.
    assert!(r.summary.end_time_s >= 1e7 + 1e6 / 1.1e6);
}

/// Random swarms whose peers arrive with gaps (so that all present peers are seeds
/// for a while), with seeds that stay or leave, latency, an inactivity timeout and
/// each choker: with idle timers sleeping (the default) the results are exactly
/// those of timers that tick through every gap, in fewer events.
fn gappy() -> impl Strategy<Value = Scenario> {
    (
        (2u64..20, 4_000u64..40_000),
        prop::collection::vec((0u32..3, 1u32..2000), 2..8),
        (0usize..4, 0usize..3, any::<bool>(), 0usize..3, any::<u64>()),
    )
        .prop_map(
            |((chunks, chunk), arrivals, (choker, idle, fast, seeding, seed))| {
                // Peers arrive in groups of 0 to 2 (a group of 0 only moves the clock),
                // 1 to 2000 s after the group before.
                let mut t = 0.0;
                let mut times = Vec::new();
                for (k, gap) in arrivals {
                    t += f64::from(gap);
                    times.extend(std::iter::repeat_n(t, k as usize));
                }
                if times.is_empty() {
                    times.push(t);
                }
                let mut c = class(times.len() as u64, 20_000.0, f64::INFINITY);
                c.arrival = Arrival::Times(times);
                c.seeding = [
                    Seeding::Never,
                    Seeding::Fixed(5.0),
                    Seeding::Exponential(50.0),
                ][seeding];
                c.latency = if fast { 0.0 } else { 0.05 };
                let mut s = bt(chunks * chunk, chunk, 50_000.0, vec![c]);
                s.seed = seed;
                s.max_time = 1e5;
                s.bittorrent.choker = [
                    ChokerKind::TitForTat,
                    ChokerKind::UnchokeAll,
                    ChokerKind::RoundRobin,
                    ChokerKind::RateBased,
                ][choker];
                s.bittorrent.inactivity_timeout = [0.0, 10.0, 60.0][idle];
                s
            },
        )
}

proptest! {
    #![proptest_config(crate::test_util::cases(64))]

    #[test]
    fn sleeping_through_idle_stretches_changes_no_result(s in gappy()) {
        let run = |skip: bool| {
            let mut sim = Sim::new(&s);
            let p = BitTorrent::new(&s, &mut sim);
            let mut p = if skip { p } else { p.without_skipping() };
            let horizon = Time::from_secs_ceil(s.max_time).unwrap();
            let status = sim.run(&mut p, horizon);
            let samples = format!("{:?}", sim.samples);
            let halt = sim.halt_reason().map(String::from);
            ((status, sim.peers.clone(), sim.now, samples, halt), sim.events, p.stats.rechokes)
        };
        let (with, without) = (run(true), run(false));
        prop_assert_eq!(&with.0, &without.0);
        // Fewer events; at least as many rechokes counted (skipped ones are counted
        // when the stretch starts, also those of a seed that leaves during it).
        prop_assert!(with.1 <= without.1, "{} > {}", with.1, without.1);
        prop_assert!(with.2 >= without.2, "{} < {}", with.2, without.2);
    }
}

/// The libtorrent seed chokers (which keep each link's unchoke history, moved with
/// its link when a departure swap-removes another) run a churning swarm with
/// latency to completion, twice to the same result (determinism), and each gives a
/// run of its own: a seed choker that did not reach the seeds' decisions would
/// repeat the `fastest` run exactly.
#[test]
fn libtorrent_seed_chokers_complete_repeat_and_matter() {
    let run = |sc: SeedChoker| {
        let mut s = churn_swarm(0.01);
        s.bittorrent.seed_choker = sc;
        s.bittorrent.seed_quota_pieces = 2;
        s.bittorrent.seed_quota_time = 20.0;
        let mut sim = Sim::new(&s);
        let mut p = BitTorrent::new(&s, &mut sim);
        let status = sim.run(&mut p, Time::MAX);
        (status, sim.peers.clone(), sim.now)
    };
    let base = run(SeedChoker::Fastest);
    for sc in [
        SeedChoker::RoundRobinQuota,
        SeedChoker::FastestUpload,
        SeedChoker::AntiLeech,
        SeedChoker::Mainline,
    ] {
        let a = run(sc);
        assert_eq!(a.0, RunStatus::Completed, "{sc:?}");
        assert_eq!(a, run(sc), "{sc:?} is not deterministic");
        assert_ne!(a.2, base.2, "{sc:?} ends exactly as `fastest` does");
    }
}

/// Regression: a choker without an optimistic unchoke (`round-robin`) was taken
/// for one without a slot limit, so between rechokes every neighbour that became
/// interested was unchoked at once. In the real-client setting (8 MiB in 256 KiB
/// chunks, a 1 MiB/s seed, 32 leechers at 512 KiB/s, 7 slots) the seed served all
/// 32 leechers together and each got its first chunk at 32 x 256 KiB / 1 MiB/s =
/// 8 s. By the choker's rule (7 turns at a time, no optimistic slot) the seed
/// unchokes exactly 7 of the 32 interested leechers until its first rechoke, and
/// its first chunks arrive at 7 x 256 KiB / 1 MiB/s = 1.75 s (hand calculation,
/// the 7 sharing the seed's upload equally, leechers not yet holding anything).
#[test]
fn round_robin_seed_keeps_to_its_slots_between_rechokes() {
    let mut s = bt(
        8 << 20,
        256 << 10,
        1_048_576.0,
        vec![class(32, 524_288.0, f64::INFINITY)],
    );
    let c = &mut s.bittorrent;
    c.seed_choker = SeedChoker::RoundRobin;
    c.unchoke_slots = 7;
    c.rechoke_interval = 15.0;
    c.rate_window = 15.0;
    c.max_peers = 200;
    c.max_connections = 200;
    let mut sim = Sim::new(&s);
    let mut p = BitTorrent::new(&s, &mut sim);
    sim.run(&mut p, Time::from_secs_ceil(1.0).unwrap());
    let unchoked = p.links_of(0).iter().filter(|l| l.unchoking).count();
    assert_eq!(
        unchoked, 7,
        "the seed unchokes its 7 slots, not every leecher"
    );
    let r = simulate(&s);
    let first = r
        .peers
        .iter()
        .filter_map(|p| p.first_chunk)
        .fold(f64::INFINITY, |a, t| a.min(t.as_secs_f64()));
    assert!((first - 1.75).abs() < 1e-6, "first chunk at {first} s");
}
