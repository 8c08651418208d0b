//! A piece picker defined outside the crate, run end to end: a BitTorrent swarm
//! whose peers request the highest-numbered chunk they can (the reverse of the
//! shipped `sequential` picker), simulated with [`simulate_protocol`] and written
//! out as the usual `summary.csv`, `peers.csv` and `timeseries.csv` (no
//! `manifest.toml`: `swarmsim run` could not reproduce a policy it does not know).
//!
//! Run: `cargo run --release --example custom_picker -- results/custom-picker`

use std::path::Path;
use std::sync::atomic::AtomicBool;
use swarmsim::engine::SimRng;
use swarmsim::model::bittorrent::policy::{self, PickContext, PiecePicker};
use swarmsim::model::{BitTorrent, RunResult, simulate_protocol};
use swarmsim::output;
use swarmsim::scenario::Scenario;

/// Requests the highest-numbered chunk among the candidates.
struct LastFirst;

impl PiecePicker for LastFirst {
    fn pick(&mut self, cx: &PickContext, _rng: &mut SimRng) -> Option<u32> {
        policy::ones(cx.candidates).last()
    }

    /// It never reads the neighbours' counts, so the protocol does not keep them.
    fn uses_local_avail(&self) -> bool {
        false
    }
}

/// A flash crowd of 40 peers fetching 10 MiB from a 4 Mbit/s server.
const SCENARIO: &str = r#"
name = "custom-picker"
seed = 3
[file]
size = "10 MiB"
chunk = "256 KiB"
[server]
upload = "4 Mbit/s"
[[peers]]
count = 40
upload = "1 Mbit/s"
download = "8 Mbit/s"
[protocol]
kind = "bittorrent"
"#;

/// Simulates [`SCENARIO`] with [`LastFirst`] and the scenario's chokers, and
/// writes the result files into `out` (which must exist).
fn run(out: &Path) -> anyhow::Result<RunResult> {
    let s = Scenario::from_toml(SCENARIO, "custom_picker.rs", &[])?;
    let never = AtomicBool::new(false);
    let r = simulate_protocol(&s, &never, |sim| {
        let c = &s.bittorrent;
        BitTorrent::with_policies(
            &s,
            sim,
            Box::new(LastFirst),
            policy::leech_choker(c),
            policy::seed_choker(c, s.file_bytes as f64, s.chunk_bytes as f64),
        )
    })
    .expect("nothing cancels the run");
    output::write_run(out, &r, 0.0)?;
    Ok(r)
}

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "results/custom-picker".into());
    let out = Path::new(&out);
    output::create_dir(out)?;
    let r = run(out)?;
    println!(
        "{} of {} peers complete in {:.1} s (D_p2p bound {:.1} s); results in {}",
        r.summary.completed_peers,
        r.summary.peers,
        r.summary.distribution_time_s,
        r.summary.bounds.d_p2p,
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use swarmsim::model::RunStatus;

    #[test]
    fn a_custom_picker_runs_a_whole_swarm_and_writes_its_results() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = super::run(dir.path()).expect("runs");
        // Every peer can finish (the server holds every chunk and serves anyone),
        // and no schedule beats the peer-to-peer lower bound
        // D_p2p = max(F/u_s, F/d_min, N F/(u_s + sum u_i)) (Kurose and Ross).
        assert_eq!(r.summary.status, RunStatus::Completed);
        assert_eq!(r.summary.completed_peers, 40);
        assert!(r.summary.distribution_time_s >= r.summary.bounds.d_p2p);
        for f in ["summary.csv", "peers.csv", "timeseries.csv"] {
            let text = std::fs::read_to_string(dir.path().join(f)).expect(f);
            assert!(text.lines().count() > 1, "{f} has rows");
        }
        // One row per peer, after the header.
        let peers = std::fs::read_to_string(dir.path().join("peers.csv")).expect("peers");
        assert_eq!(peers.lines().count(), 41);
    }
}
