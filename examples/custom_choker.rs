//! A choker defined outside the crate, run end to end: a BitTorrent swarm with
//! churn whose leechers unchoke the neighbours with the most traffic both ways
//! (bytes received from them plus bytes sent to them), simulated with
//! [`simulate_protocol`] and written out as the usual `summary.csv`, `peers.csv`
//! and `timeseries.csv` (no `manifest.toml`: `swarmsim run` could not reproduce a
//! policy it does not know).
//!
//! Run: `cargo run --release --example custom_choker -- results/custom-choker`

use std::path::Path;
use std::sync::atomic::AtomicBool;
use swarmsim::model::bittorrent::policy::{self, Candidate, ChokeContext, Choker};
use swarmsim::model::{BitTorrent, RunResult, simulate_protocol};
use swarmsim::output;
use swarmsim::scenario::Scenario;

/// Unchokes the `slots` interested neighbours with the highest sum of both rates,
/// then the lowest node id on ties; an optimistic unchoke comes on top.
struct BothWays;

impl Choker for BothWays {
    fn choose(
        &mut self,
        _cx: &mut ChokeContext<'_>,
        cands: &[Candidate],
        slots: usize,
        out: &mut Vec<usize>,
    ) {
        let mut order: Vec<usize> = (0..cands.len()).collect();
        let rate = |i: usize| cands[i].recv_rate + cands[i].sent_rate;
        order.sort_by(|&a, &b| {
            rate(b)
                .total_cmp(&rate(a))
                .then(cands[a].neighbour.cmp(&cands[b].neighbour))
        });
        out.extend(order.into_iter().take(slots));
    }
}

/// 60 peers arriving at 30 a minute and seeding for an exponential minute.
const SCENARIO: &str = r#"
name = "custom-choker"
seed = 5
[file]
size = "8 MiB"
chunk = "256 KiB"
[server]
upload = "2 Mbit/s"
[[peers]]
count = 60
upload = "1 Mbit/s"
download = "8 Mbit/s"
arrival = { process = "poisson", rate = "30 /min" }
seeding = { exponential = "1 min" }
[protocol]
kind = "bittorrent"
"#;

/// Simulates [`SCENARIO`] with [`BothWays`] for leechers (the scenario's picker
/// and seed choker otherwise) and writes the result files into `out` (which must
/// exist).
fn simulate_into(out: &Path) -> anyhow::Result<RunResult> {
    let s = Scenario::from_toml(SCENARIO, "custom_choker.rs", &[])?;
    let c = &s.bittorrent;
    let never = AtomicBool::new(false);
    let result = simulate_protocol(&s, &never, |sim| {
        let picker = policy::picker(c.picker, c.random_first);
        BitTorrent::with_policies(
            &s,
            sim,
            picker,
            Box::new(BothWays),
            policy::seed_choker(c, s.file_bytes as f64, s.chunk_bytes as f64),
        )
    });
    let result = result.expect("nothing cancels the run");
    output::write_run(out, &result, 0.0)?;
    Ok(result)
}

fn main() -> anyhow::Result<()> {
    let dir = match std::env::args().nth(1) {
        Some(d) => d,
        None => "results/custom-choker".to_string(),
    };
    let dir = Path::new(&dir);
    output::create_dir(dir)?;
    let r = simulate_into(dir)?;
    println!(
        "{}: {} of {} peers complete, mean completion {:.1} s; results in {}",
        r.summary.scenario,
        r.summary.completed_peers,
        r.summary.peers,
        r.summary.mean_completion_s,
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{BothWays, Candidate, ChokeContext, Choker};
    use swarmsim::engine::{Time, rng_from_seed};
    use swarmsim::model::RunStatus;

    #[test]
    fn both_ways_unchokes_the_most_traffic_first() {
        // Rates summed by hand: 1 + 4 = 5, 3 + 3 = 6, 5 + 0 = 5 (tie: node 2 < 9).
        let cand = |neighbour, recv_rate, sent_rate| Candidate {
            neighbour,
            recv_rate,
            sent_rate,
            unchoked: false,
            ..Candidate::default()
        };
        let cands = [cand(9, 1.0, 4.0), cand(4, 3.0, 3.0), cand(2, 5.0, 0.0)];
        let mut out = Vec::new();
        let mut rng = rng_from_seed(1);
        let mut cx = ChokeContext {
            node: 1,
            now: Time::ZERO,
            round: 0,
            rng: &mut rng,
            state: &mut 0,
        };
        BothWays.choose(&mut cx, &cands, 2, &mut out);
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn a_custom_choker_runs_a_swarm_with_churn_and_writes_its_results() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = super::simulate_into(dir.path()).expect("runs");
        // The server holds every chunk and stays, so every peer completes; no
        // schedule beats the peer-to-peer lower bound D_p2p (Kurose and Ross).
        assert_eq!(r.summary.status, RunStatus::Completed);
        assert_eq!(r.summary.completed_peers, 60);
        assert!(r.summary.distribution_time_s >= r.summary.bounds.d_p2p);
        let peers = std::fs::read_to_string(dir.path().join("peers.csv")).expect("peers");
        assert_eq!(peers.lines().count(), 61, "a header and one row per peer");
        for f in ["summary.csv", "timeseries.csv"] {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
    }
}
