//! Case 7: the two bandwidth models agree where downloads never bind and differ by
//! the predicted or measured amount where they do.

use super::{Check, load, run_all};
use crate::model::{RunResult, RunStatus};
use crate::network::ModelKind;
use crate::scenario::Scenario;
use anyhow::Result;

/// Whether two runs are identical in every measured quantity (wall time aside).
fn identical(a: &RunResult, b: &RunResult) -> Option<String> {
    let (x, y) = (&a.summary, &b.summary);
    if x.status != y.status {
        return Some("status differs".into());
    }
    if x.events != y.events {
        return Some(format!("events {} vs {}", x.events, y.events));
    }
    if x.distribution_time_s.to_bits() != y.distribution_time_s.to_bits() {
        return Some(format!(
            "D {} vs {}",
            x.distribution_time_s, y.distribution_time_s
        ));
    }
    for (p, q) in a.peers.iter().zip(&b.peers) {
        let same = p.completion == q.completion
            && p.bytes_downloaded.to_bits() == q.bytes_downloaded.to_bits()
            && p.bytes_uploaded.to_bits() == q.bytes_uploaded.to_bits();
        if !same {
            return Some("a peer's completion or bytes differ".into());
        }
    }
    None
}

/// Mean completion time (from arrival) of the peers of class `class`.
fn class_mean(r: &RunResult, class: u32) -> f64 {
    let v: Vec<f64> = r
        .peers
        .iter()
        .filter(|p| p.class == class)
        .filter_map(|p| p.completion.map(|c| c.secs_since(p.arrival)))
        .collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// Case 7: the two bandwidth models agree where downloads never bind, and differ by
/// the predicted amount (client-server) or a measured amount (BitTorrent) where they do.
pub(super) fn case_models(quick: bool) -> Result<Vec<Check>> {
    let mut rows = Vec::new();
    let seeds: &[u64] = if quick { &[7] } else { &[7, 8, 9, 10] };
    // (a) No binding download capacity: identical runs.
    let mut pairs = Vec::new();
    for &seed in seeds {
        for (file, sets) in [
            ("models-agree.toml", vec![]),
            (
                "models-agree.toml",
                vec!["protocol.picker=\"random\"".to_string()],
            ),
            (
                "models-agree-cs.toml",
                vec!["peers.0.download=\"unlimited\"".to_string()],
            ),
        ] {
            let mut s = load(file, &sets)?;
            s.seed = seed;
            let mut f = s.clone();
            f.network = ModelKind::Fast;
            pairs.push((format!("{file} {}", sets.join(" ")), s, f));
        }
    }
    let jobs: Vec<Scenario> = pairs
        .iter()
        .flat_map(|(_, a, b)| [a.clone(), b.clone()])
        .collect();
    let res = run_all(&jobs)?;
    for (k, (what, s, _)) in pairs.iter().enumerate() {
        let diff = identical(&res[2 * k], &res[2 * k + 1]);
        rows.push(Check {
            case: "7 models agree".into(),
            source: "fast = max-min when no download binds (docs/MODEL.md, Fluid network)".into(),
            setting: format!("{} seed {}, downloads unlimited", what.trim(), s.seed),
            expected: "identical runs".into(),
            measured: match &diff {
                None => format!(
                    "identical (D = {:.3} s, {} events)",
                    res[2 * k].summary.distribution_time_s,
                    res[2 * k].summary.events
                ),
                Some(d) => d.clone(),
            },
            tolerance: "exact".into(),
            pass: diff.is_none() && res[2 * k].summary.status == RunStatus::Completed,
        });
    }
    // (b) Client-server with a binding download: the unconstrained class finishes at
    // F/((u_s - 5 d)/15) = 166.67 s under max-min and F/(u_s/20) = 200 s under fast;
    // both runs end at F/d_min = 500 s (derivation in the scenario file).
    let cs = load("models-agree-cs.toml", &[])?;
    let mut cs_fast = cs.clone();
    cs_fast.network = ModelKind::Fast;
    let r = run_all(&[cs.clone(), cs_fast])?;
    let f = cs.file_bytes as f64;
    let d = cs.classes[0].download;
    let n_slow = cs.classes[0].count as f64;
    let n_fast = cs.classes[1].count as f64;
    let expect = [
        f / ((cs.server_upload - n_slow * d) / n_fast),
        f / (cs.server_upload / (n_slow + n_fast)),
    ];
    let tol_s = 1e-9 * 500.0 + 2e-9 * cs.chunks() as f64;
    for (k, model) in ["max-min", "fast"].iter().enumerate() {
        let m = class_mean(&r[k], 1);
        let dist = r[k].summary.distribution_time_s;
        let end = f / d;
        rows.push(Check {
            case: "7 models agree".into(),
            source: "hand derivation (models-agree-cs.toml)".into(),
            setting: format!("client-server, 5 peers capped at 20 kB/s, {model}"),
            expected: format!("others finish at {:.3} s; D = {end:.3} s", expect[k]),
            measured: format!("{m:.3} s; D = {dist:.3} s"),
            tolerance: "1e-9 rel. + 2 ns/chunk".into(),
            pass: (m - expect[k]).abs() <= tol_s && (dist - end).abs() <= tol_s,
        });
    }
    // (c) BitTorrent with a binding download: the models differ; both stay above D_p2p.
    let mut jobs = Vec::new();
    for &seed in seeds {
        let mut s = load(
            "models-agree.toml",
            &["peers.1.download=\"60 kB/s\"".to_string()],
        )?;
        s.seed = seed;
        let mut fa = s.clone();
        fa.network = ModelKind::Fast;
        jobs.push(s);
        jobs.push(fa);
    }
    let res = run_all(&jobs)?;
    let mut diffs = Vec::new();
    let mut ok = true;
    for pair in res.chunks(2) {
        let (a, b) = (&pair[0].summary, &pair[1].summary);
        diffs.push(format!(
            "{:+.1} %",
            100.0 * (b.distribution_time_s / a.distribution_time_s - 1.0)
        ));
        ok &= a.status == RunStatus::Completed
            && b.status == RunStatus::Completed
            && a.p2p_bound_ratio >= 1.0 - 1e-9
            && b.p2p_bound_ratio >= 1.0 - 1e-9;
    }
    let bt = load(
        "models-agree.toml",
        &["peers.1.download=\"60 kB/s\"".to_string()],
    )?;
    rows.push(Check {
        case: "7 models agree".into(),
        source: "both models respect every capacity".into(),
        setting: format!(
            "bittorrent, class b download 60 kB/s (binding), seeds {}",
            seeds
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        expected: format!(
            "both >= D_p2p = {:.1} s; fast vs max-min reported",
            bt.bounds().d_p2p
        ),
        measured: format!("D(fast)/D(max-min) - 1: {}", diffs.join(", ")),
        tolerance: "ratio >= 1 - 1e-9".into(),
        pass: ok,
    });
    Ok(rows)
}
