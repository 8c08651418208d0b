//! BitTorrent tests of choking: unchoke slots, the rechoke and optimistic-unchoke
//! timers, tit-for-tat against free riders, the choke bit masks, and the seed chokers.

use super::*;

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
