//! Tests of the optimal scheduler: the exact homogeneous optimum, closeness to D_p2p on
//! heterogeneous flash crowds, and the invariants (never beats D_p2p, bytes conserved).

use super::super::{RunResult, Sim, simulate};
use super::{DECIDED_IN_BLOCK, LEVELS, Optimal, SETTLED_FROM_OPENED};
use crate::network::ModelKind;
use crate::scenario::{PeerClass, ProtocolKind, Scenario};
use proptest::prelude::*;

/// A flash-crowd scenario for the optimal protocol; classes are (count, upload,
/// download) in bytes and bytes per second.
fn scenario(
    file: u64,
    chunk: u64,
    u_s: f64,
    classes: &[(u64, f64, f64)],
    model: ModelKind,
) -> Scenario {
    Scenario {
        name: "opt".into(),
        seed: 1,
        file_bytes: file,
        chunk_bytes: chunk,
        server_upload: u_s,
        classes: classes
            .iter()
            .enumerate()
            .map(|(i, &(count, upload, download))| PeerClass {
                name: format!("c{i}"),
                count,
                upload,
                download,
                arrival: crate::scenario::Arrival::Flash,
                seeding: crate::scenario::Seeding::Never,
                latency: 0.0,
            })
            .collect(),
        protocol: ProtocolKind::Optimal,
        network: model,
        bittorrent: Default::default(),
        max_time: 1e9,
        sample_interval: 10.0,
    }
}

/// Every peer completed; every byte accounted for: the peers downloaded N F plus the
/// bytes of cancelled rescue copies (wasted), and what the server sent plus what the
/// peers uploaded is the same total.
fn check_conservation(s: &Scenario, r: &RunResult) {
    let n = s.peers() as f64;
    let f = s.file_bytes as f64;
    assert_eq!(r.summary.completed_peers, s.peers());
    let down: f64 = r.peers.iter().map(|p| p.bytes_downloaded).sum();
    let from_server: f64 = r.peers.iter().map(|p| p.bytes_from_server).sum();
    let up: f64 = r.peers.iter().map(|p| p.bytes_uploaded).sum();
    let wasted: f64 = r.peers.iter().map(|p| p.bytes_wasted).sum();
    let tol = 1e-9 * n * f;
    assert!(
        (down - (n * f + wasted)).abs() <= tol,
        "downloaded {down}, N F {}, wasted {wasted}",
        n * f
    );
    assert!((up + from_server - down).abs() <= tol, "uploaded + server");
    for p in &r.peers {
        assert!((p.bytes_downloaded - p.bytes_wasted - f).abs() <= 1e-9 * f);
    }
}

/// T* = (M + floor(log2 N)) chunk/u, the optimum of Mundinger, Weber and Weiss (2008)
/// for u_s = u_i = u, downloads not binding. Why nothing is faster: the server must
/// upload M distinct chunks, one slot of chunk/u each, so the last one leaves it no
/// earlier than slot M; after that the holders of that chunk (server included) at
/// most double each slot, from 2 after slot M to the N + 1 nodes, which takes
/// ceil(log2(N + 1)) - 1 = floor(log2 N) more slots.
fn t_star(n: u64, m: u64, chunk: f64, u: f64) -> f64 {
    (m + n.ilog2() as u64) as f64 * chunk / u
}

/// Runs the homogeneous upload-limited case (u = 1000 B/s, chunk = 1000 B, so a slot
/// is 1 s; downloads unlimited) and returns measured / T*.
fn homogeneous_ratio(n: u64, m: u64, model: ModelKind) -> f64 {
    let s = scenario(m * 1000, 1000, 1000.0, &[(n, 1000.0, f64::INFINITY)], model);
    let r = simulate(&s);
    check_conservation(&s, &r);
    r.summary.distribution_time_s / t_star(n, m, 1000.0, 1000.0)
}

#[test]
fn pipeline_attains_the_homogeneous_optimum() {
    // Exactly T* (to the nanosecond rounding of each 1 s slot: at most 1 ns per slot)
    // for N + 1 a power of two (the binomial pipeline proper) and for other N, where
    // the hypercube has unused labels and the greedy fill covers for them.
    for (n, m) in [
        (1, 1),
        (1, 6),
        (2, 7),
        (3, 5),
        (4, 9),
        (5, 8),
        (6, 13),
        (7, 20),
        (9, 4),
        (12, 10),
        (15, 1),
        (16, 16),
        (21, 30),
        (31, 40),
        (33, 25),
        (64, 12),
        (100, 40),
    ] {
        for model in [ModelKind::MaxMin, ModelKind::Fast] {
            // T* is `slots` seconds and each slot ends < 1 ns late: relative error
            // below 1e-9.
            let ratio = homogeneous_ratio(n, m, model);
            assert!(
                (ratio - 1.0).abs() <= 2e-9,
                "N={n} M={m} {model:?}: measured / T* = {ratio}"
            );
        }
    }
}

#[test]
fn pipeline_within_one_slot_elsewhere() {
    // The pipeline's greedy fill is a heuristic: for some (N, M) it needs one slot
    // more than T* (N = 232, M = 40 is one, found by a search over N < 260). Nothing
    // may beat T* (see `t_star`), and none of these may lose more than one slot.
    for (n, m) in [(232, 40), (47, 17), (90, 33), (129, 7)] {
        let ratio = homogeneous_ratio(n, m, ModelKind::Fast);
        let slots = (m + n.ilog2() as u64) as f64;
        assert!(ratio >= 1.0 - 1e-9, "N={n} M={m}: beats T*: {ratio}");
        assert!(
            ratio <= (slots + 1.0) / slots + 1e-9,
            "N={n} M={m}: {ratio}"
        );
    }
}

#[test]
fn mode_follows_the_scenario() {
    // Equal uploads and unlimited downloads: the pipeline; any difference: greedy.
    let homo = scenario(
        10_000,
        1000,
        1000.0,
        &[(8, 1000.0, f64::INFINITY)],
        ModelKind::Fast,
    );
    assert_eq!(Optimal::new(&Sim::new(&homo)).mode_name(), "pipeline");
    let mut slow_down = homo.clone();
    slow_down.classes[0].download = 2000.0; // below (N + 1) u = 9000: may bind
    assert_eq!(Optimal::new(&Sim::new(&slow_down)).mode_name(), "greedy");
    let mut hetero = homo.clone();
    hetero.classes[0].upload = 999.0;
    assert_eq!(Optimal::new(&Sim::new(&hetero)).mode_name(), "greedy");
}

/// Runs a heterogeneous case under both bandwidth models and returns the ratios to
/// D_p2p, after checking that the intended term of the bound dominates.
fn hetero_ratio(s: &Scenario, term: &str) -> Vec<f64> {
    let n = s.peers() as f64;
    let f = s.file_bytes as f64;
    let by_server = f / s.server_upload;
    let by_download = f / s.min_download();
    let by_upload = n * f / (s.server_upload + s.sum_peer_upload());
    let dominant = [
        ("F/u_s", by_server),
        ("F/d_min", by_download),
        ("NF/(u_s+sum u_i)", by_upload),
    ]
    .into_iter()
    .max_by(|a, b| a.1.total_cmp(&b.1))
    .map(|t| t.0);
    assert_eq!(dominant, Some(term));
    let mut out = Vec::new();
    for model in [ModelKind::MaxMin, ModelKind::Fast] {
        let mut s = s.clone();
        s.network = model;
        let r = simulate(&s);
        check_conservation(&s, &r);
        out.push(r.summary.bound_ratio);
    }
    out
}

#[test]
fn heterogeneous_within_five_percent_of_d_p2p() {
    // Kumar and Ross (2006) show D_p2p is attained in the fluid limit; with M >= 100
    // chunks the chunk-level schedule should lose under 5 %: the start (peers have
    // nothing to send for a few chunk times) and the end (the last chunk still has to
    // reach everyone, about log2 N transfers deep) each cost a few chunk times out of
    // M. Sizes in bytes and bytes per second; F = 200 chunks of 10 kB.
    let inf = f64::INFINITY;
    let f = 2_000_000;
    let chunk = 10_000;
    let cases: Vec<(&str, Scenario)> = vec![
        // F/u_s = 2 s dominates NF/(u_s + sum u_i) = 20 * 2e6 / (1e6 + 25e6) = 1.54 s.
        (
            "F/u_s",
            scenario(
                f,
                chunk,
                1e6,
                &[(10, 2e6, inf), (10, 0.5e6, inf)],
                ModelKind::MaxMin,
            ),
        ),
        // NF/(u_s + sum u_i) = 25 * 2e6 / (5e6 + 12.5e6) = 2.86 s dominates
        // F/u_s = 0.4 s; five free riders.
        (
            "NF/(u_s+sum u_i)",
            scenario(
                f,
                chunk,
                5e6,
                &[(10, 1e6, inf), (10, 0.25e6, inf), (5, 0.0, inf)],
                ModelKind::MaxMin,
            ),
        ),
        // F/d_min = 2e6 / 0.3e6 = 6.67 s dominates NF/(u_s + sum u_i) =
        // 30 * 2e6 / (4e6 + 20e6) = 2.5 s and F/u_s = 0.5 s.
        (
            "F/d_min",
            scenario(
                f,
                chunk,
                4e6,
                &[(10, 1.5e6, inf), (10, 0.5e6, 3e6), (10, 0.0, 0.3e6)],
                ModelKind::MaxMin,
            ),
        ),
    ];
    for (term, s) in &cases {
        let ratios = hetero_ratio(s, term);
        println!("{term}: max-min {:.4}, fast {:.4}", ratios[0], ratios[1]);
        for r in ratios {
            assert!((1.0 - 1e-9..=1.05).contains(&r), "{term}: ratio {r}");
        }
    }
}

/// Random heterogeneous flash crowds: 1-4 classes of 1-10 peers, uploads from 0 (free
/// riders) to 3 u_s, downloads from 0.2 u_s to unlimited, 1-60 chunks that may not
/// divide the file, either bandwidth model.
fn random_swarm() -> impl Strategy<Value = Scenario> {
    (
        1_000u64..100_000,
        1u64..60,
        1e3f64..1e6,
        prop::collection::vec((1u64..10, 0.0f64..3.0, 0.2f64..4.0, any::<bool>()), 1..4),
        any::<bool>(),
    )
        .prop_map(|(file, chunks, u_s, cls, fast)| {
            let chunk = file.div_ceil(chunks).max(1);
            let classes: Vec<(u64, f64, f64)> = cls
                .into_iter()
                .map(|(count, up, down, unlimited)| {
                    let up = if up < 0.3 { 0.0 } else { up * u_s };
                    let down = if unlimited { f64::INFINITY } else { down * u_s };
                    (count, up, down)
                })
                .collect();
            let model = if fast {
                ModelKind::Fast
            } else {
                ModelKind::MaxMin
            };
            let mut s = scenario(file, chunk, u_s, &classes, model);
            // Horizon: 100 times D_cs (the server alone serving everyone), far beyond
            // any schedule worth the name; a stall then fails in a few thousand
            // samples instead of running 10^8 of them to the default horizon.
            let n: u64 = classes.iter().map(|c| c.0).sum();
            let d_min = classes.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
            s.max_time = 100.0 * (n as f64 * file as f64 / u_s).max(file as f64 / d_min);
            s
        })
}

/// Random heterogeneous flash crowds with unlimited downloads and 200 chunks: 1-3
/// classes of 1-11 peers, uploads from 0 (free riders) to 3 MB/s, u_s from 0.2 to
/// 5 MB/s, so F/u_s or N F/(u_s + sum u_i) may dominate.
fn random_upload_limited_swarm() -> impl Strategy<Value = Scenario> {
    (
        0.2e6f64..5e6,
        prop::collection::vec((1u64..12, 0.0f64..3e6), 1..4),
        any::<bool>(),
    )
        .prop_map(|(u_s, cls, fast)| {
            let classes: Vec<(u64, f64, f64)> = cls
                .into_iter()
                .map(|(count, up)| (count, if up < 0.6e6 { 0.0 } else { up }, f64::INFINITY))
                .collect();
            let model = if fast {
                ModelKind::Fast
            } else {
                ModelKind::MaxMin
            };
            scenario(2_000_000, 10_000, u_s, &classes, model)
        })
}

proptest! {
    #![proptest_config(crate::test_util::cases(64))]

    /// No schedule can beat D_p2p (the kernel never exceeds a capacity, and D_p2p
    /// bounds every schedule that respects them), and every byte is accounted for.
    #[test]
    fn never_beats_d_p2p_and_conserves_bytes(s in random_swarm()) {
        let r = simulate(&s);
        check_conservation(&s, &r);
        let d = r.summary.distribution_time_s;
        prop_assert!(d >= r.summary.bounds.d_p2p * (1.0 - 1e-9),
            "measured {} < D_p2p {}", d, r.summary.bounds.d_p2p);
    }
}

proptest! {
    #![proptest_config(crate::test_util::cases(30))]

    /// The project's target for the optimal scheduler: within 5 % of D_p2p on
    /// heterogeneous flash crowds with at least 100 chunks (Kumar and Ross 2006 attain
    /// D_p2p in the fluid limit; the chunked schedule loses a few chunk times at the
    /// start and the end out of 200). With finite downloads the greedy mode can lose
    /// more (see docs/MODEL.md), so this property is stated for unlimited downloads.
    #[test]
    fn upload_limited_swarms_within_five_percent(s in random_upload_limited_swarm()) {
        let r = simulate(&s);
        check_conservation(&s, &r);
        let ratio = r.summary.bound_ratio;
        prop_assert!((1.0 - 1e-9..=1.05).contains(&ratio), "ratio {}", ratio);
    }
}

#[test]
fn same_scenario_same_result() {
    // Determinism: the scheduler reads no clock and no hash order.
    let s = scenario(
        500_000,
        10_000,
        1e5,
        &[(7, 2e5, f64::INFINITY), (5, 5e4, 3e5)],
        ModelKind::MaxMin,
    );
    let a = simulate(&s);
    let b = simulate(&s);
    assert_eq!(a.peers, b.peers);
    assert_eq!(a.summary.events, b.summary.events);
}

#[test]
fn the_server_is_woken_when_a_rescue_copy_beats_its_copy() {
    // Found by `never_beats_d_p2p_and_conserves_bytes` in CI. 4 chunks of
    // 250 B, u_s = 1000 B/s, 7 free riders and 2 uploaders at 2186 B/s with 390 B/s
    // downloads. At 2.0 s the server starts chunk 2 to a free rider (0.25 s at its
    // rate, so due at 2.25 s); at 2.006 s an uploader, idle, rescues it with a copy
    // at its full 2186 B/s (due at about 2.12 s, less than half the server copy's
    // remaining time), which arrives first and cancels the server's copy. Chunk 3 had
    // not been injected yet, and before the fix nothing woke the server again: the
    // run sat idle until the horizon with 0 of 9 peers complete.
    let mut s = scenario(
        1000,
        250,
        1000.0,
        &[
            (7, 0.0, 3696.8659005666123),
            (2, 2186.038834414982, 390.3299017545102),
        ],
        ModelKind::MaxMin,
    );
    // A stall shows up at once, not after 10^8 samples.
    s.max_time = 1000.0;
    let r = simulate(&s);
    check_conservation(&s, &r);
    let wasted: f64 = r.peers.iter().map(|p| p.bytes_wasted).sum();
    assert!(
        wasted > 0.0,
        "the scenario must exercise a cancelled rescue copy"
    );
    // D_p2p = max(F/u_s = 1 s, F/d_min = 2.56 s, N F/(u_s + sum u_i) = 1.68 s).
    assert!(r.summary.distribution_time_s >= 1000.0 / 390.3299017545102);
}

#[test]
fn blocked_retries_settled_from_the_opened_log_agree_with_the_ranking() {
    // 60 peers whose downloads (30 kB/s) are below their uploads (100 kB/s), as in
    // scenarios/bench/optimal-1k-slow-down.toml at a sixteenth of the size: most
    // nodes find no peer that can take more and are retried after every finished
    // transfer. Test builds check every retry that `takes_nothing` settles against
    // the full ranking (rarest chunk, best receiver, fallback), and this test that
    // such retries happen. D_p2p = max(F/u_s = 25.6 s, F/d = 85.3 s,
    // N F/(u_s + N u) = 25.2 s) = 85.3 s for F = 10 x 256 kB.
    SETTLED_FROM_OPENED.set(0);
    let s = scenario(2_560_000, 256_000, 1e5, &[(60, 1e5, 3e4)], ModelKind::Fast);
    let r = simulate(&s);
    check_conservation(&s, &r);
    assert!(r.summary.distribution_time_s >= 2_560_000.0 / 3e4 * (1.0 - 1e-9));
    assert!(
        SETTLED_FROM_OPENED.get() > 0,
        "no retry was settled from the opened log"
    );
}

#[test]
fn receiver_search_by_blocks_agrees_with_the_ranking_in_every_block() {
    // Test builds check every receiver search by blocks (incoming transfers, then
    // critical, then free rider) against ranking every taker; this swarm makes each
    // block decide some search. F = 40 x 10 kB, u_s = 100 kB/s. Flash crowd: 20
    // uploaders with unlimited downloads, 10 with downloads of 20 kB/s (critical:
    // F/d = 20 s against D_p2p = max(F/u_s = 4 s, F/d_min = 20 s, N F/(u_s + sum
    // u_i) = 0.96 s) = 20 s), 10 free riders with unlimited downloads and 2
    // critical free riders (20 kB/s). One more uploader with unlimited download
    // arrives at t = 1000 s, after the others have completed: every other uploading
    // node has a chunk it lacks, so it receives up to 30 transfers at once, more
    // than the LEVELS exact levels.
    DECIDED_IN_BLOCK.set([0; 5]);
    let mut s = scenario(
        400_000,
        10_000,
        1e5,
        &[
            (20, 5e4, f64::INFINITY),
            (10, 5e4, 2e4),
            (10, 0.0, f64::INFINITY),
            (2, 0.0, 2e4),
        ],
        ModelKind::MaxMin,
    );
    let mut late = s.classes[0].clone();
    late.name = "late".into();
    late.count = 1;
    late.arrival = crate::scenario::Arrival::Times(vec![1000.0]);
    s.classes.push(late);
    let r = simulate(&s);
    check_conservation(&s, &r);
    // The late peer cannot finish faster than the 31 uploading nodes' whole upload
    // capacity delivers F: F / (u_s + 30 x 50 kB/s) = 0.25 s.
    let last = r.peers.last().unwrap();
    let took = last.completion.unwrap().secs_since(last.arrival);
    assert!(last.arrival.as_secs_f64() == 1000.0);
    assert!(
        took >= 400_000.0 / (1e5 + 30.0 * 5e4) * (1.0 - 1e-9),
        "{took}"
    );
    let d = DECIDED_IN_BLOCK.get();
    const { assert!(LEVELS < 30) };
    assert!(
        d.iter().all(|&k| k > 0),
        "searches decided per block: {d:?}"
    );
}
