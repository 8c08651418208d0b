//! What a run measures: per-peer records and the run's summary.

use super::Sim;
use crate::bounds::Bounds;
use crate::engine::Time;
use crate::scenario::Scenario;

/// How a run ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunStatus {
    /// Every peer has the whole file.
    #[default]
    Completed,
    /// Nothing left to happen, yet some peer lacks part of the file.
    Stalled,
    /// The time horizon ended the run first.
    Horizon,
}

impl RunStatus {
    /// Name used in outputs.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Stalled => "stalled",
            RunStatus::Horizon => "horizon",
        }
    }
}

/// What happened to one peer.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerRecord {
    /// Index of the peer's class in the scenario.
    pub class: u32,
    /// When the peer joined.
    pub arrival: Time,
    /// When it had the whole file, if it did.
    pub completion: Option<Time>,
    /// When its first chunk arrived.
    pub first_chunk: Option<Time>,
    /// When it left the swarm, if it did.
    pub departure: Option<Time>,
    /// Bytes received, including wasted ones.
    pub bytes_downloaded: f64,
    /// Bytes received from the server.
    pub bytes_from_server: f64,
    /// Bytes received from other peers.
    pub bytes_from_peers: f64,
    /// Bytes sent to other peers.
    pub bytes_uploaded: f64,
    /// Bytes received in transfers that were cancelled (endgame duplicates).
    pub bytes_wasted: f64,
}

impl PeerRecord {
    /// A record for a peer of class `class` arriving at `arrival`.
    pub fn new(class: u32, arrival: Time) -> PeerRecord {
        PeerRecord {
            class,
            arrival,
            completion: None,
            first_chunk: None,
            departure: None,
            bytes_downloaded: 0.0,
            bytes_from_server: 0.0,
            bytes_from_peers: 0.0,
            bytes_uploaded: 0.0,
            bytes_wasted: 0.0,
        }
    }
}

/// The one-row summary of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Protocol name.
    pub protocol: &'static str,
    /// Bandwidth model name.
    pub network_model: &'static str,
    /// RNG seed.
    pub seed: u64,
    /// How the run ended.
    pub status: RunStatus,
    /// Number of peers N.
    pub peers: u64,
    /// File size F.
    pub file_bytes: u64,
    /// Chunk size.
    pub chunk_bytes: u64,
    /// Number of chunks.
    pub chunks: u64,
    /// u_s.
    pub server_upload_bytes_per_s: f64,
    /// d_min.
    pub min_download_bytes_per_s: f64,
    /// sum of u_i.
    pub sum_peer_upload_bytes_per_s: f64,
    /// The two bounds.
    pub bounds: Bounds,
    /// Last completion minus first arrival (NaN unless completed).
    pub distribution_time_s: f64,
    /// Mean over completed peers of completion minus arrival.
    pub mean_completion_s: f64,
    /// For a flash crowd, the distribution time over the bound of the protocol's
    /// architecture (D_cs or D_p2p); for arrivals over time, the mean download time
    /// over [`Summary::mean_peer_bound_s`] (the flash-crowd bounds do not apply).
    /// NaN unless the run completed.
    pub bound_ratio: f64,
    /// `"flash"` if every peer arrived at the same instant, else `"spread"`.
    pub arrivals: &'static str,
    /// Mean over the completed peers of each one's lower bound on its download time
    /// ([`crate::bounds::peer_lower_bound`]); NaN if none completed.
    pub mean_peer_bound_s: f64,
    /// Bytes all peers received in cancelled transfers (endgame duplicates).
    pub bytes_wasted: f64,
    /// The Qiu & Srikant steady-state mean download time where its assumptions hold
    /// ([`Scenario::qiu_srikant`]), else NaN.
    pub qiu_srikant_s: f64,
    /// Events processed.
    pub events: u64,
    /// Virtual time at the end of the run.
    pub end_time_s: f64,
    /// Peers that completed.
    pub completed_peers: u64,
    /// Median over completed peers of completion minus arrival.
    pub median_completion_s: f64,
    /// 95th percentile (nearest rank) over completed peers of completion minus arrival.
    pub p95_completion_s: f64,
    /// Distribution time over D_p2p, whatever the protocol.
    pub p2p_bound_ratio: f64,
    /// Largest number of simultaneous uploads of any peer.
    pub max_peer_uploads: u32,
    /// Bytes delivered over the integral of the upload capacity present, from the
    /// first arrival to the end of the run.
    pub upload_utilisation: f64,
    /// Why the run stopped early (empty when completed).
    pub note: String,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The one-row summary.
    pub summary: Summary,
    /// One record per peer.
    pub peers: Vec<PeerRecord>,
    /// Class names, indexed by [`PeerRecord::class`].
    pub class_names: Vec<String>,
    /// Upload and download capacity of each peer, bytes per second.
    pub capacities: Vec<(f64, f64)>,
    /// The time series.
    pub samples: Vec<super::Sample>,
    /// Seconds between the time series' rows: the scenario's
    /// `output.sample_interval`, or a power-of-two multiple of it if the series
    /// outgrew [`super::MAX_SAMPLES`] rows and was thinned.
    pub sample_interval_s: f64,
}

impl RunResult {
    /// Builds the result from a finished kernel.
    pub fn collect<T>(
        s: &Scenario,
        b: &Bounds,
        sim: &mut Sim<T>,
        status: RunStatus,
        events: u64,
    ) -> RunResult {
        let upload_utilisation = sim.upload_utilisation();
        let sim: &Sim<T> = sim;
        let first_arrival = sim
            .peers
            .iter()
            .map(|p| p.arrival)
            .min()
            .unwrap_or(Time::ZERO);
        let done: Vec<&PeerRecord> = sim
            .peers
            .iter()
            .filter(|p| p.completion.is_some())
            .collect();
        let last = done.iter().filter_map(|p| p.completion).max();
        let distribution_time_s = match (status, last) {
            (RunStatus::Completed, Some(l)) => l.secs_since(first_arrival),
            _ => f64::NAN,
        };
        let mut times: Vec<f64> = done
            .iter()
            .map(|p| p.completion.expect("filtered").secs_since(p.arrival))
            .collect();
        times.sort_by(f64::total_cmp);
        let mean_completion_s = if times.is_empty() {
            f64::NAN
        } else {
            times.iter().sum::<f64>() / times.len() as f64
        };
        let median_completion_s = percentile(&times, 0.5);
        let p95_completion_s = percentile(&times, 0.95);
        let note = match status {
            RunStatus::Completed => String::new(),
            RunStatus::Horizon => format!(
                "the horizon max_time = {} s ended the run with {} of {} peers complete",
                s.max_time,
                done.len(),
                sim.peers.len()
            ),
            RunStatus::Stalled => sim
                .halt_reason()
                .unwrap_or("no event left to run, yet some peer lacks part of the file")
                .to_string(),
        };
        let graph = sim.network().graph();
        let flash = sim.peers.iter().all(|p| p.arrival == first_arrival);
        // Each completed peer's own lower bound (node 0 is the server).
        let total_up: f64 = graph.up[1..].iter().sum();
        let peer_bounds: Vec<f64> = sim
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.completion.is_some())
            .map(|(i, p)| {
                crate::bounds::peer_lower_bound(
                    s.file_bytes as f64,
                    graph.down[i + 1],
                    s.server_upload,
                    total_up - graph.up[i + 1],
                    p.arrival.secs_since(first_arrival),
                )
            })
            .collect();
        let mean_peer_bound_s = if peer_bounds.is_empty() {
            f64::NAN
        } else {
            peer_bounds.iter().sum::<f64>() / peer_bounds.len() as f64
        };
        let bound_ratio = if flash {
            let bound = if s.protocol.is_p2p() { b.d_p2p } else { b.d_cs };
            distribution_time_s / bound
        } else if status == RunStatus::Completed {
            mean_completion_s / mean_peer_bound_s
        } else {
            f64::NAN
        };
        RunResult {
            summary: Summary {
                scenario: s.name.clone(),
                protocol: s.protocol.name(),
                network_model: s.network.name(),
                seed: s.seed,
                status,
                peers: s.peers(),
                file_bytes: s.file_bytes,
                chunk_bytes: s.chunk_bytes,
                chunks: s.chunks(),
                server_upload_bytes_per_s: s.server_upload,
                min_download_bytes_per_s: s.min_download(),
                sum_peer_upload_bytes_per_s: s.sum_peer_upload(),
                bounds: *b,
                distribution_time_s,
                mean_completion_s,
                bound_ratio,
                arrivals: if flash { "flash" } else { "spread" },
                mean_peer_bound_s,
                qiu_srikant_s: s.qiu_srikant().unwrap_or(f64::NAN),
                bytes_wasted: sim.peers.iter().map(|p| p.bytes_wasted).sum(),
                events,
                end_time_s: sim.now.as_secs_f64(),
                completed_peers: done.len() as u64,
                median_completion_s,
                p95_completion_s,
                p2p_bound_ratio: distribution_time_s / b.d_p2p,
                max_peer_uploads: sim.max_peer_uploads(),
                upload_utilisation,
                note,
            },
            samples: sim.samples.clone(),
            sample_interval_s: sim.sample_interval_s(),
            peers: sim.peers.clone(),
            class_names: s.classes.iter().map(|c| c.name.clone()).collect(),
            capacities: (1..graph.up.len())
                .map(|n| (graph.up[n], graph.down[n]))
                .collect(),
        }
    }
}

/// A run's bytes summed over its peers (see [`RunResult::byte_totals`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ByteTotals {
    /// Bytes the peers received, wasted ones included.
    pub downloaded: f64,
    /// Bytes the peers sent to other peers.
    pub uploaded: f64,
    /// Bytes the peers received from the server.
    pub from_server: f64,
    /// Bytes received in transfers that were cancelled (end-game duplicates).
    pub wasted: f64,
}

impl RunResult {
    /// The run's bytes summed over its peers.
    pub fn byte_totals(&self) -> ByteTotals {
        let mut t = ByteTotals::default();
        for p in &self.peers {
            t.downloaded += p.bytes_downloaded;
            t.uploaded += p.bytes_uploaded;
            t.from_server += p.bytes_from_server;
            t.wasted += p.bytes_wasted;
        }
        t
    }

    /// Checks that every byte is accounted for: what the peers downloaded is what
    /// they uploaded plus what the server sent, and, when every peer completed,
    /// N F (each peer got the file once) plus what was wasted. Both within
    /// 1e-6 N F (the sums are of floating-point transfer credits). Returns the
    /// sums, or an error naming them.
    pub fn check_bytes_conserved(&self) -> Result<ByteTotals, String> {
        let t = self.byte_totals();
        let nf = self.summary.peers as f64 * self.summary.file_bytes as f64;
        let tol = 1e-6 * nf.max(1.0);
        if (t.downloaded - (t.uploaded + t.from_server)).abs() > tol {
            return Err(format!(
                "downloaded {} != uploaded {} + from the server {}",
                t.downloaded, t.uploaded, t.from_server
            ));
        }
        if self.summary.status == RunStatus::Completed
            && (t.downloaded - (nf + t.wasted)).abs() > tol
        {
            return Err(format!(
                "downloaded {} != N F {nf} + wasted {}",
                t.downloaded, t.wasted
            ));
        }
        Ok(t)
    }
}

/// Nearest-rank percentile of sorted values (NaN if empty): the value at rank
/// `ceil(q * n)` (1-based).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two peers of a 1000-byte file, by hand: peer 1 got 1000 B from the server
    /// and uploaded 600 B to peer 2, which got 500 B from the server, 100 B of them
    /// an end-game duplicate (wasted). Downloaded 1000 + 1100 = 2100 = uploaded 600
    /// + server 1500, and = N F 2000 + wasted 100.
    #[test]
    fn bytes_conserved_by_hand() {
        let peer = |down, server, up, wasted| PeerRecord {
            bytes_downloaded: down,
            bytes_from_server: server,
            bytes_from_peers: down - server,
            bytes_uploaded: up,
            bytes_wasted: wasted,
            ..PeerRecord::new(0, Time::ZERO)
        };
        let mut r = RunResult {
            summary: Summary {
                status: RunStatus::Completed,
                peers: 2,
                file_bytes: 1000,
                ..Summary::default()
            },
            peers: vec![
                peer(1000.0, 1000.0, 600.0, 0.0),
                peer(1100.0, 500.0, 0.0, 100.0),
            ],
            class_names: vec![],
            capacities: vec![],
            samples: vec![],
            sample_interval_s: 1.0,
        };
        let t = r.check_bytes_conserved().expect("conserved");
        assert_eq!(
            (t.downloaded, t.uploaded, t.from_server, t.wasted),
            (2100.0, 600.0, 1500.0, 100.0)
        );
        // A byte uploaded that nobody received.
        r.peers[0].bytes_uploaded = 601.0;
        assert!(
            r.check_bytes_conserved()
                .unwrap_err()
                .contains("uploaded 601")
        );
        // Consistent transfers, but a completed run short of N F + wasted.
        r.peers[0].bytes_uploaded = 600.0;
        r.peers[1].bytes_wasted = 0.0;
        assert!(r.check_bytes_conserved().unwrap_err().contains("N F 2000"));
        // The same run not completed: only the first identity holds.
        r.summary.status = RunStatus::Stalled;
        assert!(r.check_bytes_conserved().is_ok());
    }

    #[test]
    fn nearest_rank_percentiles() {
        // Values 1..=20: median rank ceil(10) = 10 -> 10; p95 rank ceil(19) = 19 -> 19.
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
