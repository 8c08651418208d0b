//! The textbook lower bounds on the distribution time, as pure functions of a checked
//! scenario (Kurose & Ross, Computer Networking, section 2.5):
//!
//! - client-server: `D_cs >= max(N F / u_s, F / d_min)`;
//! - peer-to-peer: `D_p2p >= max(F / u_s, F / d_min, N F / (u_s + sum u_i))`.

use crate::scenario::Scenario;

/// Both bounds for one scenario, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bounds {
    /// Client-server bound D_cs.
    pub d_cs: f64,
    /// Peer-to-peer bound D_p2p.
    pub d_p2p: f64,
}

/// `max(N F / u_s, F / d_min)`.
pub fn d_cs(n: f64, file: f64, u_s: f64, d_min: f64) -> f64 {
    (n * file / u_s).max(file / d_min)
}

/// `max(F / u_s, F / d_min, N F / (u_s + sum u_i))`.
pub fn d_p2p(n: f64, file: f64, u_s: f64, d_min: f64, sum_u: f64) -> f64 {
    (file / u_s).max(file / d_min).max(n * file / (u_s + sum_u))
}

/// Both bounds for a scenario (all peers counted, all capacities in bytes/s).
pub fn bounds(s: &Scenario) -> Bounds {
    let n = s.peers() as f64;
    let f = s.file_bytes as f64;
    Bounds {
        d_cs: d_cs(n, f, s.server_upload, s.min_download()),
        d_p2p: d_p2p(n, f, s.server_upload, s.min_download(), s.sum_peer_upload()),
    }
}

/// The terms of the client-server bound, named as in its formula: its value is
/// their maximum, and the largest is the one that binds.
pub fn cs_terms(n: f64, file: f64, u_s: f64, d_min: f64) -> [(&'static str, f64); 2] {
    [("N F/u_s", n * file / u_s), ("F/d_min", file / d_min)]
}

/// The terms of the peer-to-peer bound, named as in its formula (see [`cs_terms`]).
pub fn p2p_terms(n: f64, file: f64, u_s: f64, d_min: f64, sum_u: f64) -> [(&'static str, f64); 3] {
    [
        ("F/u_s", file / u_s),
        ("F/d_min", file / d_min),
        ("N F/(u_s + sum u_i)", n * file / (u_s + sum_u)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kurose_ross_table() {
        // Kurose & Ross: F/u = 1 hour, u_s = 10 u, downloads not binding.
        // D_cs = N F/(10 u) = N/10 h; D_p2p = max(F/u_s, N F/(10u + N u)) = max(0.1, N/(10+N)) h.
        let (u, f) = (1.0, 3600.0);
        for (n, cs_h, p2p_h) in [
            (5.0, 0.5, 1.0 / 3.0),
            (10.0, 1.0, 0.5),
            (20.0, 2.0, 2.0 / 3.0),
            (30.0, 3.0, 0.75),
            (35.0, 3.5, 7.0 / 9.0),
        ] {
            assert!((d_cs(n, f, 10.0 * u, f64::INFINITY) / 3600.0 - cs_h).abs() < 1e-12);
            let p = d_p2p(n, f, 10.0 * u, f64::INFINITY, n * u) / 3600.0;
            assert!((p - p2p_h).abs() < 1e-12, "N={n}: {p} vs {p2p_h}");
        }
    }

    #[test]
    fn the_terms_are_the_bounds_pieces() {
        // Kurose & Ross, N = 30, F/u = 1 h, u_s = 10 u: N F/u_s = 3 h, F/u_s = 0.1 h,
        // N F/(u_s + N u) = 30/40 h = 0.75 h; infinite d_min gives F/d_min = 0.
        let (u, f) = (1.0, 3600.0);
        let cs = cs_terms(30.0, f, 10.0 * u, f64::INFINITY);
        assert_eq!(cs[0].1, 3.0 * 3600.0);
        assert_eq!(cs[1].1, 0.0);
        let p = p2p_terms(30.0, f, 10.0 * u, f64::INFINITY, 30.0 * u);
        assert_eq!(p[0].1, 360.0);
        assert_eq!(p[2].1, 0.75 * 3600.0);
        let top = p.iter().map(|t| t.1).fold(0.0, f64::max);
        assert_eq!(top, d_p2p(30.0, f, 10.0 * u, f64::INFINITY, 30.0 * u));
    }

    #[test]
    fn download_limited() {
        // F = 100, d_min = 1: F/d_min = 100 dominates N F/u_s = 2 * 100 / 1000 = 0.2.
        assert_eq!(d_cs(2.0, 100.0, 1000.0, 1.0), 100.0);
        assert_eq!(d_p2p(2.0, 100.0, 1000.0, 1.0, 0.0), 100.0);
    }
}
