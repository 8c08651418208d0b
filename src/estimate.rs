//! An order-of-magnitude estimate of the events a run takes, printed by `check`
//! for large scenarios (docs/LIMITS.md). A pure function of a checked scenario; it
//! simulates nothing.

use crate::scenario::{Arrival, ProtocolKind, Scenario};

/// Estimates at or above this many events are printed by `check`.
pub const PRINT_FROM: f64 = 1e7;

/// The estimated number of events of a run of `s`:
///
/// - arrivals: `N`;
/// - transfers: `N C` (every peer receives every chunk once), and with latency, per
///   chunk received one REQUEST and a HAVE to each neighbour (`min(max_connections, N)`)
///   under BitTorrent;
/// - BitTorrent timers: `(N + 1) T / rechoke_interval` rechokes, plus
///   `N T / reannounce_interval` announces when the swarm is too small for any
///   node to reach `min_peers` neighbours, where `T` is the time the swarm is
///   busy: `min(A + D, N (D + W))`, with `D` the lower bound of the protocol's
///   architecture, `A` the last arrival and `W` the stall watchdog's period (at
///   least 600 s: a swarm idle between arrivals skips its timers, so that a peer
///   costs at most about its own download and a wait for a swarm that cannot serve
///   it yet when arrivals are far apart), plus, with latency,
///   `2 L C / (unchoke_slots + 1)` for the requests' round trips (`L` the largest
///   one-way latency).
///
/// Runs are longer than the bound (shipped scenarios: 1.0 to 3.5 times D_p2p), chunks
/// split and endgame duplicates add transfers, and HAVEs go only to neighbours that
/// may react: the estimate is within a factor of 10 of the measured `events` of
/// every shipped scenario (docs/LIMITS.md has the table).
pub fn events(s: &Scenario) -> f64 {
    let n = s.peers() as f64;
    let c = s.chunks() as f64;
    let b = s.bounds();
    let d = if s.protocol.is_p2p() { b.d_p2p } else { b.d_cs };
    let last_arrival = s
        .classes
        .iter()
        .map(|k| match &k.arrival {
            Arrival::Flash => 0.0,
            Arrival::Times(t) => t.iter().copied().fold(0.0, f64::max),
            Arrival::Poisson { rate, start } => start + k.count as f64 / rate,
        })
        .fold(0.0, f64::max);
    let mut total = n + n * c;
    if s.protocol == ProtocolKind::BitTorrent {
        let bt = &s.bittorrent;
        // A peer may wait for a swarm that cannot serve it yet, up to about the
        // stall watchdog's period (at least 600 s).
        let wait = (20.0 * bt.rechoke_interval)
            .max(2.0 * bt.reannounce_interval)
            .max(600.0);
        let mut busy = (last_arrival + d).min(n * (d + wait));
        // Each chunk waits for its request: a round trip of up to twice the
        // largest one-way latency, one per unchoke slot at a time.
        let latency = s.classes.iter().map(|k| k.latency).fold(0.0, f64::max);
        busy += 2.0 * latency * c / (bt.unchoke_slots as f64 + 1.0);
        if s.classes.iter().any(|k| k.latency > 0.0) {
            let neighbours = (bt.max_connections as f64).min(n);
            total += n * c * (1.0 + neighbours);
        }
        total += (n + 1.0) * busy / bt.rechoke_interval;
        if n + 1.0 <= bt.min_peers as f64 {
            total += n * busy / bt.reannounce_interval;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::simulate;

    /// The estimate against the measured events of shipped scenarios small enough
    /// for a unit test (their measured counts: docs/LIMITS.md).
    #[test]
    fn the_estimate_is_within_ten_times_the_measured_events() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for f in [
            "scenarios/client-server.toml",
            "scenarios/free-riders.toml",
            "scenarios/rarest-vs-random.toml",
            "scenarios/optimal-heterogeneous.toml",
            "scenarios/churn-tight-tables.toml",
            "scenarios/validation/p2p-bound.toml",
        ] {
            let s = Scenario::load(&root.join(f), &[], None).unwrap();
            let measured = simulate(&s).summary.events as f64;
            let est = events(&s);
            let ratio = est / measured;
            assert!(
                (0.1..=10.0).contains(&ratio),
                "{f}: estimate {est:.3e}, measured {measured}"
            );
        }
    }

    /// Prints the estimate of every shipped scenario, for the table in
    /// docs/LIMITS.md (beside the measured `events` of their runs):
    /// `cargo test --release --lib estimate -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn print_the_estimates_of_the_shipped_scenarios() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = ["scenarios", "scenarios/validation", "scenarios/bench"]
            .iter()
            .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let s = Scenario::load(&f, &[], None).unwrap();
            println!("estimate {} {:.0}", f.display(), events(&s));
        }
    }

    #[test]
    fn idle_timers_of_a_large_run_are_counted() {
        // 63 peers of a 1 MB file, a 1 bit/s server (0.125 B/s), rechokes every 1 s:
        // D_p2p >= F / u_s = 1e6 / 0.125 = 8e6 s, 64 nodes rechoking every second:
        // 5.12e8 rechokes, plus 63 + 630 arrivals and transfers.
        let text = r#"name = "slow"
[file]
size = "1 MB"
chunk = "100 kB"
[server]
upload = "1 bit/s"
[[peers]]
count = 63
upload = "100 kB/s"
download = "unlimited"
[protocol]
kind = "bittorrent"
rechoke_interval = "1 s"
optimistic_interval = "3 s"
rate_window = "2 s"
"#;
        let s = Scenario::from_toml(text, "slow.toml", &[]).unwrap();
        assert_eq!(events(&s), 64.0 * 8e6 + 63.0 + 630.0);
        // The same with the peers arriving one per 1e8 s (the last after 6.3e9 s): the
        // swarm is busy for at most N (D + W) = 63 (8e6 + 600) s, not A + D.
        let late = text.replace(
            "count = 63\n",
            "count = 63\narrival = { process = \"poisson\", rate = \"1e-8 /s\" }\n",
        );
        let s = Scenario::from_toml(&late, "slow.toml", &[]).unwrap();
        assert_eq!(events(&s), 64.0 * 63.0 * (8e6 + 600.0) + 63.0 + 630.0);
    }
}
