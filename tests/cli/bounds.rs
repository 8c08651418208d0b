//! `swarmsim bounds` against the Kurose & Ross table.

use super::*;

/// Kurose & Ross (Computer Networking, 2.5, Fig. 2.23): F/u = 1 h, u_s = 10 u,
/// downloads not binding. D_cs = N F/u_s = N/10 h; D_p2p = max(F/u_s, N F/(u_s + N u))
/// = max(0.1, N/(10 + N)) h: 1/3, 1/2, 2/3, 3/4, 7/9 h for N = 5, 10, 20, 30, 35.
#[test]
fn kurose_ross_table() {
    let scen = root().join("scenarios/kurose-ross-30.toml");
    for (n, cs_h, p2p_h) in [
        (5, 0.5, 1.0 / 3.0),
        (10, 1.0, 0.5),
        (20, 2.0, 2.0 / 3.0),
        (30, 3.0, 0.75),
        (35, 3.5, 7.0 / 9.0),
    ] {
        let o = run_in(
            &root(),
            &[
                "bounds",
                scen.to_str().unwrap(),
                "--set",
                &format!("peers.0.count={n}"),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let secs = |label: &str| -> f64 {
            let line = out.lines().find(|l| l.starts_with(label)).expect(label);
            line[14..]
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!(
            (secs("D_cs bound") / 3600.0 - cs_h).abs() < 1e-4,
            "N={n}: {out}"
        );
        assert!(
            (secs("D_p2p bound") / 3600.0 - p2p_h).abs() < 1e-4,
            "N={n}: {out}"
        );
    }
}
