//! Cases 1-3: the Kurose & Ross bounds table, client-server's exact D_cs and no
//! configuration beating D_p2p.

use super::{Check, class, load, rel, run_all, uniform};
use crate::engine::{SimRng, rng_from_seed};
use crate::model::RunStatus;
use crate::network::ModelKind;
use crate::scenario::{Preset, Scenario};
use anyhow::Result;
use rand::Rng;

/// Case 1: the Kurose & Ross table, and client-server attaining its D_cs column.
pub(super) fn case_bounds() -> Result<Vec<Check>> {
    // Kurose & Ross, Computer Networking, 2.5: F/u = 1 hour, u_s = 10 u, so
    // D_cs = N F/u_s = N/10 hours and D_p2p = max(F/u_s, N F/(u_s + N u))
    // = max(1/10, N/(10 + N)) hours (hand values below).
    let table = [
        (5u64, 0.5, 1.0 / 3.0),
        (10, 1.0, 0.5),
        (20, 2.0, 2.0 / 3.0),
        (30, 3.0, 0.75),
        (35, 3.5, 7.0 / 9.0),
    ];
    let scenarios = table
        .iter()
        .map(|(n, _, _)| load("kurose-ross.toml", &[format!("peers.0.count={n}")]))
        .collect::<Result<Vec<_>>>()?;
    let results = run_all(&scenarios)?;
    let mut rows = Vec::new();
    let src = "Kurose & Ross 2.5 (F/u = 1 h, u_s = 10 u)";
    for ((n, cs_h, p2p_h), (s, r)) in table.iter().zip(scenarios.iter().zip(&results)) {
        let b = s.bounds();
        for (name, exp, got) in [("D_cs", cs_h, b.d_cs), ("D_p2p", p2p_h, b.d_p2p)] {
            let got_h = got / 3600.0;
            rows.push(Check {
                case: "1 bounds".into(),
                source: src.into(),
                setting: format!("N = {n}: {name}"),
                expected: format!("{exp:.6} h"),
                measured: format!("{got_h:.6} h"),
                tolerance: "1e-12 relative".into(),
                pass: rel(got_h, *exp) <= 1e-12,
            });
        }
        // Client-server under max-min attains D_cs (case 2's proof).
        let d = r.summary.distribution_time_s / 3600.0;
        let tol = 1e-9 + 2e-9 * s.chunks() as f64 / (cs_h * 3600.0);
        rows.push(Check {
            case: "1 bounds".into(),
            source: src.into(),
            setting: format!("N = {n}: client-server run, max-min"),
            expected: format!("{cs_h:.6} h (D_cs)"),
            measured: format!("{d:.6} h"),
            tolerance: "1e-9 rel. + 2 ns/chunk".into(),
            pass: r.summary.status == RunStatus::Completed && rel(d, *cs_h) <= tol,
        });
    }
    Ok(rows)
}

/// Case 2: client-server under max-min takes exactly D_cs on random swarms.
pub(super) fn case_client_server(quick: bool) -> Result<Vec<Check>> {
    let base = load("client-server-exact.toml", &[])?;
    let swarms = if quick { 24 } else { 400 };
    let mut rng = rng_from_seed(base.seed);
    let mut scenarios = Vec::new();
    for i in 0..swarms {
        // F in 100 kB..100 MB, 1-60 chunks (the chunk need not divide F), u_s in
        // 100 kB/s..10 MB/s, 1-4 classes of 1-12 peers.
        let file = rng.random_range(100_000u64..100_000_000);
        let chunks = rng.random_range(1u64..=60);
        let u_s = uniform(&mut rng, 1e5, 1e7);
        let n_classes = rng.random_range(1usize..=4);
        let counts: Vec<u64> = (0..n_classes)
            .map(|_| rng.random_range(1u64..=12))
            .collect();
        let n: u64 = counts.iter().sum();
        let share = u_s / n as f64;
        // Even swarms: every d_i above u_s/N (or unlimited), so N F/u_s dominates.
        // Odd swarms: one class below u_s/N, so F/d_min dominates.
        let classes = counts
            .iter()
            .enumerate()
            .map(|(c, &count)| {
                let d = if i % 2 == 1 && c == 0 {
                    share * uniform(&mut rng, 0.05, 0.95)
                } else if rng.random_bool(0.3) {
                    f64::INFINITY
                } else {
                    share * uniform(&mut rng, 1.05, 4.0)
                };
                class(format!("c{c}"), count, 0.0, d)
            })
            .collect();
        scenarios.push(Scenario {
            seed: rng.random_range(0..1u64 << 62),
            file_bytes: file,
            chunk_bytes: file.div_ceil(chunks),
            server_upload: u_s,
            classes,
            ..base.clone()
        });
    }
    let results = run_all(&scenarios)?;
    let mut rows = Vec::new();
    for (kind, parity) in [("N F/u_s", 0), ("F/d_min", 1)] {
        let mut worst_rel: f64 = 0.0;
        let mut worst_excess = f64::NEG_INFINITY;
        let mut ok = true;
        let mut count = 0;
        for (i, (s, r)) in scenarios.iter().zip(&results).enumerate() {
            if i % 2 != parity {
                continue;
            }
            count += 1;
            let b = s.bounds().d_cs;
            let d = r.summary.distribution_time_s;
            // Which term dominates must be the one the generator aimed at.
            let f = s.file_bytes as f64;
            let limited_by_d = f / s.min_download() > s.peers() as f64 * f / s.server_upload;
            let tol = 1e-9 * b + 2e-9 * s.chunks() as f64;
            let err = (d - b).abs();
            worst_rel = worst_rel.max(err / b);
            worst_excess = worst_excess.max(err - tol);
            let bytes_ok = r
                .peers
                .iter()
                .all(|p| p.bytes_downloaded == f && p.bytes_from_server == f);
            ok &= r.summary.status == RunStatus::Completed
                && err <= tol
                && bytes_ok
                && limited_by_d == (parity == 1);
        }
        rows.push(Check {
            case: "2 client-server exact".into(),
            source: "D_cs = max(N F/u_s, F/d_min); proof in src/model/tests.rs".into(),
            setting: format!(
                "{count} random swarms limited by {kind}, max-min (1-4 classes, 1-48 peers, 1-60 chunks)"
            ),
            expected: "D_cs; each peer gets F from the server".into(),
            measured: format!("worst |D - D_cs|/D_cs = {worst_rel:.2e}"),
            tolerance: "1e-9 rel. + 2 ns/chunk".into(),
            pass: ok && count > 0,
        });
    }
    Ok(rows)
}

/// One protocol configuration of case 3, as `--set` overrides.
fn combos() -> Vec<Vec<String>> {
    let mut out = vec![
        vec!["protocol.kind=\"client-server\"".to_string()],
        vec!["protocol.kind=\"optimal\"".to_string()],
    ];
    for picker in ["rarest-first", "random", "sequential", "global-rarest"] {
        for choker in ["tit-for-tat", "unchoke-all", "round-robin"] {
            for seed_choker in ["fastest", "round-robin"] {
                out.push(vec![
                    "protocol.kind=\"bittorrent\"".to_string(),
                    format!("protocol.picker=\"{picker}\""),
                    format!("protocol.choker=\"{choker}\""),
                    format!("protocol.seed_choker=\"{seed_choker}\""),
                ]);
            }
        }
    }
    // Each client preset with its own policies and intervals.
    for (name, _) in Preset::ALL {
        out.push(vec![
            "protocol.kind=\"bittorrent\"".to_string(),
            format!("protocol.preset=\"{name}\""),
        ]);
    }
    out
}

/// A random heterogeneous swarm for case 3 on top of `base`: 4-24 chunks of
/// 100 kB-1 MB, u_s in 50-500 kB/s, 1-3 classes of 1-8 peers with uploads in
/// 10-200 kB/s and downloads unlimited or 1-4 times their upload.
fn random_p2p_swarm(base: &Scenario, rng: &mut SimRng) -> Scenario {
    let chunk = rng.random_range(100_000u64..1_000_000);
    let chunks = rng.random_range(4u64..=24);
    let file = chunk * chunks - rng.random_range(0..chunk / 2);
    let u_s = uniform(rng, 5e4, 5e5);
    let n_classes = rng.random_range(1usize..=3);
    let classes = (0..n_classes)
        .map(|c| {
            let count = rng.random_range(1u64..=8);
            let up = uniform(rng, 1e4, 2e5);
            let down = if rng.random_bool(0.5) {
                f64::INFINITY
            } else {
                up * uniform(rng, 1.0, 4.0)
            };
            class(format!("c{c}"), count, up, down)
        })
        .collect();
    Scenario {
        seed: rng.random_range(0..1u64 << 62),
        file_bytes: file,
        chunk_bytes: chunk,
        server_upload: u_s,
        classes,
        ..base.clone()
    }
}

/// Case 3: no protocol, picker, choker or bandwidth model beats D_p2p, and every
/// byte is accounted for.
pub(super) fn case_p2p_bound(quick: bool) -> Result<Vec<Check>> {
    let base = load("p2p-bound.toml", &[])?;
    let swarms = if quick { 2 } else { 8 };
    let mut rng = rng_from_seed(base.seed);
    let shapes: Vec<Scenario> = (0..swarms)
        .map(|_| random_p2p_swarm(&base, &mut rng))
        .collect();
    let mut rows = Vec::new();
    let combos = combos();
    let mut jobs = Vec::new();
    for sets in &combos {
        let proto = load("p2p-bound.toml", sets)?;
        for model in [ModelKind::MaxMin, ModelKind::Fast] {
            for shape in &shapes {
                jobs.push(Scenario {
                    protocol: proto.protocol,
                    bittorrent: proto.bittorrent.clone(),
                    network: model,
                    ..shape.clone()
                });
            }
        }
    }
    let results = run_all(&jobs)?;
    let per_combo = 2 * swarms;
    for (k, sets) in combos.iter().enumerate() {
        let mut min_ratio = f64::INFINITY;
        let mut worst_bytes: f64 = 0.0;
        let mut ok = true;
        for (s, r) in jobs[k * per_combo..(k + 1) * per_combo]
            .iter()
            .zip(&results[k * per_combo..(k + 1) * per_combo])
        {
            let nf = s.peers() as f64 * s.file_bytes as f64;
            let ratio = r.summary.distribution_time_s / s.bounds().d_p2p;
            min_ratio = min_ratio.min(ratio);
            let sum = |f: fn(&crate::model::PeerRecord) -> f64| r.peers.iter().map(f).sum::<f64>();
            let down = sum(|p| p.bytes_downloaded);
            let wasted = sum(|p| p.bytes_wasted);
            let up = sum(|p| p.bytes_uploaded);
            let server = sum(|p| p.bytes_from_server);
            let e = ((down - (nf + wasted)).abs()).max((down - (up + server)).abs()) / nf;
            worst_bytes = worst_bytes.max(e);
            ok &= r.summary.status == RunStatus::Completed && ratio >= 1.0 - 1e-9 && e <= 1e-9;
        }
        let what: Vec<String> = sets
            .iter()
            .map(|s| {
                s.split_once('=')
                    .map(|(_, v)| v.trim_matches('"').to_string())
                    .unwrap_or_default()
            })
            .collect();
        rows.push(Check {
            case: "3 nothing beats D_p2p".into(),
            source: "D_p2p = max(F/u_s, F/d_min, N F/(u_s + sum u_i))".into(),
            setting: format!(
                "{}; max-min and fast; {swarms} random heterogeneous swarms",
                what.join(", ")
            ),
            expected: "D >= D_p2p; sum down = N F + wasted = up + from server".into(),
            measured: format!("min D/D_p2p = {min_ratio:.4}; worst byte error {worst_bytes:.1e}"),
            tolerance: "ratio >= 1 - 1e-9; bytes 1e-9 rel.".into(),
            pass: ok,
        });
    }
    Ok(rows)
}
