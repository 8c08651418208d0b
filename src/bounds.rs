//! The textbook lower bounds on the distribution time, as pure functions of the
//! swarm's size and capacities (Kurose & Ross, Computer Networking, section 2.5):
//!
//! - client-server: `D_cs >= max(N F / u_s, F / d_min)`;
//! - peer-to-peer: `D_p2p >= max(F / u_s, F / d_min, N F / (u_s + sum u_i))`.
//!
//! Both assume a flash crowd: every peer present from the first instant. For peers
//! arriving over time, [`peer_lower_bound`] bounds each peer's own download time and
//! [`qiu_srikant`] predicts the steady-state mean of a Poisson swarm. The scenario
//! layer applies them to a checked scenario (`Scenario::bounds`).

/// Both bounds for one scenario, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bounds {
    /// Client-server bound D_cs.
    pub d_cs: f64,
    /// Peer-to-peer bound D_p2p.
    pub d_p2p: f64,
}

/// One term of a bound: its formula and its value in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Term {
    /// The formula, as printed (`N F/u_s`).
    pub formula: &'static str,
    /// Its value, seconds.
    pub value: f64,
}

/// The terms of `D_cs`: `N F/u_s` (the server sends N copies), `F/d_min` (the
/// slowest peer receives one).
pub fn d_cs_terms(n: f64, file: f64, u_s: f64, d_min: f64) -> [Term; 2] {
    [
        Term {
            formula: "N F/u_s",
            value: n * file / u_s,
        },
        Term {
            formula: "F/d_min",
            value: file / d_min,
        },
    ]
}

/// The terms of `D_p2p`: `F/u_s` (the server sends one copy), `F/d_min` (the
/// slowest peer receives one), `N F/(u_s + sum u_i)` (N copies at the whole upload
/// capacity).
pub fn d_p2p_terms(n: f64, file: f64, u_s: f64, d_min: f64, sum_u: f64) -> [Term; 3] {
    [
        Term {
            formula: "F/u_s",
            value: file / u_s,
        },
        Term {
            formula: "F/d_min",
            value: file / d_min,
        },
        Term {
            formula: "N F/(u_s + sum u_i)",
            value: n * file / (u_s + sum_u),
        },
    ]
}

/// The index of the term that binds: the largest (the first of equal ones).
pub fn binding(terms: &[Term]) -> usize {
    let mut best = 0;
    for (i, t) in terms.iter().enumerate() {
        if t.value > terms[best].value {
            best = i;
        }
    }
    best
}

/// `max(N F / u_s, F / d_min)`.
pub fn d_cs(n: f64, file: f64, u_s: f64, d_min: f64) -> f64 {
    let [a, b] = d_cs_terms(n, file, u_s, d_min);
    a.value.max(b.value)
}

/// `max(F / u_s, F / d_min, N F / (u_s + sum u_i))`.
pub fn d_p2p(n: f64, file: f64, u_s: f64, d_min: f64, sum_u: f64) -> f64 {
    let [a, b, c] = d_p2p_terms(n, file, u_s, d_min, sum_u);
    a.value.max(b.value).max(c.value)
}

/// A lower bound on one peer's download time (completion minus its own arrival),
/// valid whenever peers arrive, under every protocol:
///
/// `max(F/d_i, F/(u_s + sum_{j != i} u_j), t_0 + F/u_s - a_i)`
///
/// with `d_i` the peer's download capacity, `u_j` the other peers' upload
/// capacities, `a_i` its arrival and `t_0` the first arrival of the run. Each term:
///
/// - the peer receives F bytes at most at `d_i`;
/// - everything it receives is sent by the server or another peer, together at most
///   `u_s + sum_{j != i} u_j` bytes/s (all of them counted, present or not, which
///   can only lower the bound);
/// - every byte of the file it holds left the server at least once (peers only pass
///   on what they received), and the server sends at most `u_s` bytes/s and only to
///   peers present, so from `t_0` on: the peer cannot complete before
///   `t_0 + F/u_s`.
///
/// `D_p2p` adds the swarm-wide term `N F/(u_s + sum u_i)`, which holds only when
/// every peer is present from `t_0` (a flash crowd).
pub fn peer_lower_bound(file: f64, d_i: f64, u_s: f64, others_upload: f64, wait: f64) -> f64 {
    (file / d_i)
        .max(file / (u_s + others_upload))
        .max(file / u_s - wait)
}

/// The Qiu & Srikant (2004) steady-state mean download time of a BitTorrent swarm
/// with Poisson arrivals and exponential seeding (their fluid model, section 3, no
/// aborts, effectiveness eta = 1): `T = max(F/d, F/u - 1/gamma)`, with `d` and `u`
/// the peers' capacities and `1/gamma` the mean seeding time. It is a prediction,
/// not a bound: it ignores the server (which can only shorten downloads) and assumes
/// a swarm long in steady state with many chunks (eta near 1).
pub fn qiu_srikant(file: f64, up: f64, down: f64, mean_seeding: f64) -> f64 {
    (file / down).max(file / up - mean_seeding)
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
    fn terms_and_the_binding_one() {
        // client-server.toml: F = 100 MB = 1e8 B, N = 20, u_s = 100 Mbit/s = 1.25e7 B/s,
        // d_min = 2 Mbit/s = 2.5e5 B/s: N F/u_s = 160 s, F/d_min = 400 s (binds).
        let t = d_cs_terms(20.0, 1e8, 1.25e7, 2.5e5);
        assert_eq!((t[0].value, t[1].value), (160.0, 400.0));
        assert_eq!(t[binding(&t)].formula, "F/d_min");
        // Kurose & Ross N = 30, F/u = 3600 s, u_s = 10 u: F/u_s = 360 s,
        // N F/(u_s + N u) = 30 * 3600 / 40 = 2700 s binds.
        let t = d_p2p_terms(30.0, 3600.0, 10.0, f64::INFINITY, 30.0);
        assert_eq!(t.map(|x| x.value), [360.0, 0.0, 2700.0]);
        assert_eq!(binding(&t), 2);
        // Ties: the first term.
        let tie = [t[0], t[0]];
        assert_eq!(binding(&tie), 0);
    }

    #[test]
    fn peer_bound_terms_by_hand() {
        // F = 100, d_i = 10 -> 10 s; u_s = 5, others 15 -> 100/20 = 5 s; a peer
        // arriving 4 s after the first waits for the server: 100/5 - 4 = 16 s (binds).
        assert_eq!(peer_lower_bound(100.0, 10.0, 5.0, 15.0, 4.0), 16.0);
        // Arriving 15 s after the first: 100/5 - 15 = 5 s; then F/d_i = 10 s binds.
        assert_eq!(peer_lower_bound(100.0, 10.0, 5.0, 15.0, 15.0), 10.0);
        // Unlimited download, a late arrival: the upload term 100/20 = 5 s.
        assert_eq!(
            peer_lower_bound(100.0, f64::INFINITY, 5.0, 15.0, 100.0),
            5.0
        );
    }

    #[test]
    fn qiu_srikant_churn_poisson() {
        // churn-poisson.toml: F = 50 MiB = 52,428,800 B, u = 1 Mbit/s = 125,000 B/s,
        // d = 8 Mbit/s = 1e6 B/s, mean seeding 120 s: F/u = 419.4304 s,
        // F/d = 52.4288 s; T = max(52.4288, 419.4304 - 120) = 299.4304 s.
        let t = qiu_srikant(52_428_800.0, 125_000.0, 1e6, 120.0);
        assert!((t - 299.4304).abs() < 1e-9, "{t}");
        // Seeds staying longer than an upload of the file: downloads bind, F/d.
        assert_eq!(qiu_srikant(100.0, 1.0, 10.0, 1000.0), 10.0);
    }

    #[test]
    fn the_terms_are_the_bounds_pieces() {
        // Kurose & Ross, N = 30, F/u = 1 h, u_s = 10 u: N F/u_s = 3 h, F/u_s = 0.1 h,
        // N F/(u_s + N u) = 30/40 h = 0.75 h; infinite d_min gives F/d_min = 0.
        let (u, f) = (1.0, 3600.0);
        let cs = d_cs_terms(30.0, f, 10.0 * u, f64::INFINITY);
        assert_eq!(cs[0].value, 3.0 * 3600.0);
        assert_eq!(cs[1].value, 0.0);
        let p = d_p2p_terms(30.0, f, 10.0 * u, f64::INFINITY, 30.0 * u);
        assert_eq!(p[0].value, 360.0);
        assert_eq!(p[2].value, 0.75 * 3600.0);
        let top = p.iter().map(|t| t.value).fold(0.0, f64::max);
        assert_eq!(top, d_p2p(30.0, f, 10.0 * u, f64::INFINITY, 30.0 * u));
    }

    #[test]
    fn download_limited() {
        // F = 100, d_min = 1: F/d_min = 100 dominates N F/u_s = 2 * 100 / 1000 = 0.2.
        assert_eq!(d_cs(2.0, 100.0, 1000.0, 1.0), 100.0);
        assert_eq!(d_p2p(2.0, 100.0, 1000.0, 1.0, 0.0), 100.0);
    }
}
