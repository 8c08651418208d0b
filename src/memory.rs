//! An up-front estimate of a run's peak memory, so that `swarmsim run` can refuse a
//! scenario that would not fit in the machine's available memory.
//!
//! The estimate (bytes), with `N` peers, `C` chunks, `W = ceil(C / 64)` bitfield words
//! and `K` the BitTorrent connection limit (`max_connections`), `B` the buckets of
//! its rate history (rate window / rechoke interval, 1 to 8; 2 by default), `H` 1
//! when the run keeps each link's unchoke history, `P` 1 under the block
//! pipeline and `T` 1 when its leechers tick once a second (0 otherwise), `S`
//! the started chunks a node is assumed to hold at once under the pipeline
//! (`min(C, K / 2)`, or `min(C, 64 + C / 8)` with `started_chunks = "by-rarity"`)
//! and `F` 1 when its peers have allowed-fast sets:
//!
//! ```text
//! client-server: 16 MiB + N * (1 KiB + 8 C)
//! bittorrent:    16 MiB + N * (2 KiB + A C + 16 W + (78 + 16 B + 64 H + 64 P + 64 T) K
//!                              + P (80 (K + S) + 16 C + (16 + 8 F) W + 64))
//! optimal:       16 MiB + N * (1 KiB + 24 W)
//! ```
//!
//! 16 MiB covers the program and fixed buffers; each protocol gives its per-peer
//! figure beside the data structures it counts (`memory_per_peer` in
//! [`crate::model::client_server`], [`crate::model::bittorrent`] and
//! [`crate::model::optimal`], which explain each term). On Linux the binary's
//! allocator (`swarmsim::alloc`) rounds every block of 2 MiB or more up to whole
//! 2 MiB pages, at most 2 MiB more per large table (a few dozen MiB at most in all,
//! within the margins of the per-peer figures; the measured peak RSS of the
//! benchmark runs stays well below the estimate). The estimate was checked against
//! the peak RSS of the benchmark scenarios, whole-chunk and block pipeline
//! (docs/PERFORMANCE.md): it over-estimates, never under-estimates, those runs.

use crate::scenario::{ProtocolKind, Scenario};
use std::fmt;

/// A run refused because its memory estimate exceeds the available memory; reported
/// with exit status 2.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryError(pub String);

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MemoryError {}

/// The estimated peak memory of simulating `s`, in bytes (see the module docs).
pub fn estimate_bytes(s: &Scenario) -> f64 {
    let n = s.peers() as f64;
    let c = s.chunks();
    let per_peer = match s.protocol {
        ProtocolKind::ClientServer => crate::model::client_server::memory_per_peer(c),
        ProtocolKind::Optimal => crate::model::optimal::memory_per_peer(c),
        ProtocolKind::BitTorrent => crate::model::bittorrent::memory_per_peer(&s.bittorrent, c),
    };
    16.0 * 1024.0 * 1024.0 + n * per_peer
}

/// The machine's available memory in bytes (`MemAvailable` in `/proc/meminfo`), or
/// `None` where that file or line does not exist.
pub fn available_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

/// The `MemAvailable` line of a `/proc/meminfo` text, in bytes.
pub fn parse_mem_available(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: f64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value * 1024.0),
        Some(_) => None,
    }
}

/// Refuses `s` if its estimate exceeds `available` bytes (`None`: unknown, accept).
pub fn check(s: &Scenario, available: Option<f64>) -> Result<(), MemoryError> {
    let need = estimate_bytes(s);
    match available {
        Some(avail) if need > avail => Err(MemoryError(format!(
            "scenario `{}` needs about {:.0} MiB ({} peers, {} chunks), more than the {:.0} MiB \
             of memory available (MemAvailable in /proc/meminfo); use fewer peers or chunks, \
             or pass --ignore-memory-limit to run anyway",
            s.name,
            need / 1048576.0,
            s.peers(),
            s.chunks(),
            avail / 1048576.0
        ))),
        _ => Ok(()),
    }
}

/// As [`check`], for a sweep that runs `workers` of its runs at once: refuses when
/// `workers` times the estimate of its largest run `largest` exceeds the available
/// memory (an upper bound: the largest runs need not meet).
pub fn check_sweep(
    largest: &Scenario,
    workers: usize,
    available: Option<f64>,
) -> Result<(), MemoryError> {
    let one = estimate_bytes(largest);
    let need = one * workers as f64;
    match available {
        Some(avail) if need > avail => Err(MemoryError(format!(
            "the sweep's largest run ({} peers, {} chunks) needs about {:.0} MiB, and {workers} \
             worker{} at once about {:.0} MiB, more than the {:.0} MiB of memory available \
             (MemAvailable in /proc/meminfo); use fewer --jobs, fewer peers or chunks, or \
             pass --ignore-memory-limit to run anyway",
            largest.peers(),
            largest.chunks(),
            one / 1048576.0,
            if workers == 1 { "" } else { "s" },
            need / 1048576.0,
            avail / 1048576.0
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mem_available() {
        // A /proc/meminfo excerpt: 2,000,000 kB = 2,048,000,000 bytes.
        let t = "MemTotal:       8000000 kB\nMemFree:  100 kB\nMemAvailable:   2000000 kB\n";
        assert_eq!(parse_mem_available(t), Some(2_048_000_000.0));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
    }

    /// 1,000 BitTorrent peers sharing 100 MiB in 400 chunks, with `protocol`
    /// settings beyond `kind` appended to the `[protocol]` table.
    fn bittorrent_1000(protocol: &str) -> Scenario {
        swarm_1000(&format!("kind = \"bittorrent\"\n{protocol}"))
    }

    /// 1,000 peers sharing 100 MiB in 400 chunks, with `protocol` as the
    /// `[protocol]` table.
    fn swarm_1000(protocol: &str) -> Scenario {
        swarm_1000_chunk("256 KiB", protocol)
    }

    /// 1,000 peers sharing 100 MiB in chunks of `chunk`, with `protocol` as the
    /// `[protocol]` table.
    fn swarm_1000_chunk(chunk: &str, protocol: &str) -> Scenario {
        let text = format!(
            r#"
            name = "m"
            [file]
            size = "100 MiB"
            chunk = "{chunk}"
            [server]
            upload = "10 Mbit/s"
            [[peers]]
            count = 1000
            upload = "1 Mbit/s"
            download = "unlimited"
            [protocol]
            {protocol}
        "#
        );
        Scenario::from_toml(&text, "m.toml", &[]).expect("valid scenario")
    }

    #[test]
    fn estimate_follows_the_formula_and_check_refuses_above_it() {
        let s = bittorrent_1000("");
        // By hand: C = 400, W = 7, K = 80 (default):
        // 16 MiB + 1000 * (2048 + 800 + 112 + 8800) = 16777216 + 11760000.
        assert_eq!(estimate_bytes(&s), 16_777_216.0 + 11_760_000.0);
        assert!(check(&s, Some(28_537_216.0)).is_ok());
        let e = check(&s, Some(28_537_215.0)).expect_err("one byte short");
        assert!(e.0.contains("--ignore-memory-limit"), "{e}");
        assert!(check(&s, None).is_ok(), "unknown memory: accept");
        // Three workers at once: 3 x 28,537,216 = 85,611,648 bytes.
        assert!(check_sweep(&s, 3, Some(85_611_648.0)).is_ok());
        let e = check_sweep(&s, 3, Some(85_611_647.0)).expect_err("one byte short");
        assert!(e.0.contains("3 workers at once about 82 MiB"), "{e}");
        assert!(check_sweep(&s, 3, None).is_ok(), "unknown memory: accept");
    }

    #[test]
    fn the_optimal_estimate_counts_three_bitfields_per_peer() {
        let s = swarm_1000(r#"kind = "optimal""#);
        assert_eq!(s.protocol, ProtocolKind::Optimal);
        // By hand: C = 400, W = 7: 16 MiB + 1000 * (1024 + 24 * 7) = 16777216 + 1192000.
        assert_eq!(estimate_bytes(&s), 16_777_216.0 + 1_192_000.0);
    }

    #[test]
    fn the_libtorrent_preset_counts_the_unchoke_history_and_the_pipeline() {
        let s = bittorrent_1000(r#"preset = "libtorrent-2.0""#);
        // By hand: the preset rechokes every 15 s over a 15 s window, so B = 1; its
        // round-robin seed choker reads the unchoke history (H = 1); its requests
        // are blocks (P = 1): (78 + 16 + 64 + 64) * 80 = 17760 bytes of connections.
        // It ranks started chunks by rarity: S = min(400, 64 + 400 / 8) = 114, and
        // gives allowed-fast sets (F = 1), so the pipeline's list and rows take
        // 80 * (80 + 114) + 16 * 400 + 24 * 7 + 64 = 22152 bytes:
        // 16 MiB + 1000 * (2048 + 800 + 112 + 17760 + 22152) = 16777216 + 42872000.
        assert_eq!(estimate_bytes(&s), 16_777_216.0 + 42_872_000.0);
        // The pipeline alone: B = 2, H = 0, P = 1: (78 + 32 + 64) * 80 = 13920;
        // started chunks first: S = min(400, 80 / 2) = 40, no allowed-fast sets
        // (F = 0), and the list and rows take 80 * (80 + 40) + 16 * 400 + 16 * 7 +
        // 64 = 16176 bytes:
        // 16 MiB + 1000 * (2048 + 800 + 112 + 13920 + 16176) = 16777216 + 33056000.
        let s = bittorrent_1000(r#"requests = "blocks""#);
        assert_eq!(estimate_bytes(&s), 16_777_216.0 + 33_056_000.0);
    }

    #[test]
    fn the_pipeline_lists_are_bounded_by_the_chunks() {
        // By hand, 1,000 peers, C = 400, W = 7, B = 2, P = 1 and K = 1000 (so
        // A = 4): (78 + 32 + 64) * 1000 = 174000 bytes of connections. Started
        // chunks first would allow K / 2 = 500 started chunks, more than the 400
        // chunks there are: S = 400, and the list and rows take
        // 80 * (1000 + 400) + 16 * 400 + 16 * 7 + 64 = 118576 bytes:
        // 16 MiB + 1000 * (2048 + 1600 + 112 + 174000 + 118576) = 16777216 + 296336000.
        let s = bittorrent_1000("requests = \"blocks\"\nmax_connections = 1000");
        assert_eq!(estimate_bytes(&s), 16_777_216.0 + 296_336_000.0);
        // By rarity with 8 chunks of 12.5 MiB (W = 1) and allowed-fast sets of 2
        // (F = 1): S = min(8, 64 + 1) = 8; (78 + 32 + 64) * 80 = 13920 bytes of
        // connections, and the list and rows 80 * (80 + 8) + 16 * 8 + 24 * 1 + 64 =
        // 7256: 16 MiB + 1000 * (2048 + 16 + 16 + 13920 + 7256) = 16777216 + 23256000.
        let s = swarm_1000_chunk(
            "12800 KiB",
            "kind = \"bittorrent\"\nrequests = \"blocks\"\nstarted_chunks = \"by-rarity\"\n\
             allowed_fast = 2",
        );
        assert_eq!(s.chunks(), 8);
        assert_eq!(estimate_bytes(&s), 16_777_216.0 + 23_256_000.0);
    }

    #[test]
    fn a_longer_rate_window_raises_the_estimate() {
        let s = bittorrent_1000(r#"rate_window = "80 s""#);
        // By hand: B = 80 s / 10 s = 8 buckets, so (78 + 16 * 8) * 80 = 16480 bytes of
        // connections per peer instead of 8800:
        // 16 MiB + 1000 * (2048 + 800 + 112 + 16480) = 16777216 + 19440000.
        assert_eq!(estimate_bytes(&s), 16_777_216.0 + 19_440_000.0);
    }
}
