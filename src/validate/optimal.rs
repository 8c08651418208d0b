//! Case 4: the optimal scheduler against the homogeneous optimum and D_p2p.

use super::{Check, class, load, run_all, uniform};
use crate::engine::rng_from_seed;
use crate::model::RunStatus;
use crate::network::ModelKind;
use crate::scenario::Scenario;
use anyhow::Result;
use rand::Rng;

/// Case 4: the optimal scheduler reaches the homogeneous optimum of Mundinger, Weber
/// and Weiss and comes within 5 % of D_p2p on heterogeneous swarms.
pub(super) fn case_optimal(quick: bool) -> Result<Vec<Check>> {
    let mut rows = Vec::new();
    // T* = (M + floor(log2 N)) chunk/u with chunk/u = 1 s in the scenario file.
    let pairs: &[(u64, u64)] = if quick {
        &[(7, 10), (31, 25), (100, 40)]
    } else {
        &[
            (1, 10),
            (2, 5),
            (7, 10),
            (10, 25),
            (31, 25),
            (50, 7),
            (100, 40),
            (127, 100),
            (200, 40),
            (1000, 100),
        ]
    };
    let scenarios = pairs
        .iter()
        .map(|(n, m)| {
            load(
                "optimal-homogeneous.toml",
                &[
                    format!("peers.0.count={n}"),
                    format!("file.size=\"{} kB\"", m * 256),
                ],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let results = run_all(&scenarios)?;
    for ((n, m), r) in pairs.iter().zip(&results) {
        let log2n = 63 - n.leading_zeros() as u64;
        let t_star = (m + log2n) as f64;
        let d = r.summary.distribution_time_s;
        let tol = 1e-9 * t_star + 2e-9 * t_star;
        rows.push(Check {
            case: "4 optimal".into(),
            source: "Mundinger, Weber & Weiss 2008: T* = (M + floor(log2 N)) chunk/u".into(),
            setting: format!("N = {n}, M = {m}, u_s = u, chunk/u = 1 s, downloads unlimited"),
            expected: format!("{t_star:.3} s"),
            measured: format!("{d:.3} s"),
            tolerance: "1e-9 rel. + 2 ns/slot".into(),
            pass: r.summary.status == RunStatus::Completed && (d - t_star).abs() <= tol,
        });
    }
    // Heterogeneous flash crowds, downloads unlimited, 200 chunks.
    let base = load("optimal-heterogeneous.toml", &[])?;
    let swarms = if quick { 3 } else { 20 };
    let mut rng = rng_from_seed(base.seed);
    let mut shapes = Vec::new();
    for _ in 0..swarms {
        let u_s = uniform(&mut rng, 2e5, 5e6);
        let n_classes = rng.random_range(1usize..=3);
        let classes = (0..n_classes)
            .map(|c| {
                let count = rng.random_range(1u64..=10);
                let up = if rng.random_bool(0.2) {
                    0.0
                } else {
                    uniform(&mut rng, 1e5, 3e6)
                };
                class(format!("c{c}"), count, up, f64::INFINITY)
            })
            .collect();
        shapes.push(Scenario {
            seed: rng.random_range(0..1u64 << 62),
            server_upload: u_s,
            classes,
            ..base.clone()
        });
    }
    for model in [ModelKind::MaxMin, ModelKind::Fast] {
        let jobs: Vec<Scenario> = shapes
            .iter()
            .map(|s| Scenario {
                network: model,
                ..s.clone()
            })
            .collect();
        let res = run_all(&jobs)?;
        let ratios: Vec<f64> = res.iter().map(|r| r.summary.p2p_bound_ratio).collect();
        let worst = ratios.iter().cloned().fold(0.0, f64::max);
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let (wi, _) = ratios
            .iter()
            .enumerate()
            .fold((0, 0.0), |b, (i, &x)| if x > b.1 { (i, x) } else { b });
        let ws = &jobs[wi];
        let worst_setting = format!(
            "seed {}, u_s {:.0} B/s; {}",
            ws.seed,
            ws.server_upload,
            ws.classes
                .iter()
                .map(|c| format!("{} x {:.0} B/s", c.count, c.upload))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let ok = res.iter().all(|r| r.summary.status == RunStatus::Completed)
            && ratios.iter().all(|&x| (1.0 - 1e-9..=1.05).contains(&x));
        rows.push(Check {
            case: "4 optimal".into(),
            source: "D_p2p (Kumar & Ross 2006: attained in the fluid limit)".into(),
            setting: format!(
                "{swarms} random heterogeneous swarms, 200 chunks, downloads unlimited, {}",
                model.name()
            ),
            expected: "1 <= D/D_p2p <= 1.05".into(),
            measured: format!("median {median:.4}, worst {worst:.4} ({worst_setting})"),
            tolerance: "5 %".into(),
            pass: ok,
        });
    }
    Ok(rows)
}
