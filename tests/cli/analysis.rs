//! Analysis outputs: per-class statistics, the terms of the bounds, bounds for
//! arrivals over time.

use super::*;

/// Two classes served by a client-server at 1 MB/s over max-min: `fast`
/// (unlimited download) and `slow` (0.1 MB/s), 10 MB each.
const TWO_CLASSES: &str = r#"
name = "two-classes"
seed = 1
[file]
size = "10 MB"
chunk = "1 MB"
[server]
upload = "8 Mbit/s"
[[peers]]
name = "fast"
count = 1
upload = "0 bit/s"
download = "unlimited"
[[peers]]
name = "slow"
count = 1
upload = "0 bit/s"
download = "0.8 Mbit/s"
[protocol]
kind = "client-server"
[network]
model = "max-min"
"#;

/// The value of `col` in each data row of CSV text.
fn csv_column(text: &str, col: &str) -> Vec<String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header
        .iter()
        .position(|h| *h == col)
        .unwrap_or_else(|| panic!("no column {col} in {header:?}"));
    lines
        .map(|l| l.split(',').nth(i).unwrap().to_string())
        .collect()
}

fn close(text: &str, want: f64) -> bool {
    (text.parse::<f64>().unwrap() - want).abs() < 1e-6
}

#[test]
fn classes_csv_by_hand() {
    // Max-min sharing of u_s = 1 MB/s: slow is capped at 0.1 MB/s, fast gets 0.9.
    // fast completes at 10/0.9 = 11.111 s (first 1 MB chunk at 1/0.9 = 1.111 s:
    // download time 10 s); slow at 10/0.1 = 100 s (first chunk at 10 s: 90 s).
    // Nothing comes from peers: share from the server 1.
    let d = scratch(TWO_CLASSES);
    let o = run_in(d.path(), &["run", "scenario.toml", "--out", "o"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = std::fs::read_to_string(d.path().join("o/classes.csv")).unwrap();
    assert_eq!(csv_column(&c, "class"), ["fast", "slow"]);
    assert_eq!(csv_column(&c, "completed"), ["1", "1"]);
    let mean = csv_column(&c, "mean_completion_s");
    assert!(
        close(&mean[0], 100.0 / 9.0) && close(&mean[1], 100.0),
        "{c}"
    );
    let dl = csv_column(&c, "mean_download_s");
    assert!(close(&dl[0], 10.0) && close(&dl[1], 90.0), "{c}");
    assert_eq!(csv_column(&c, "share_from_server"), ["1", "1"]);
    assert_eq!(csv_column(&c, "bytes_downloaded"), ["10000000", "10000000"]);
    // The run summary prints one line per class.
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.contains("slow") && l.contains("100.0 s") && l.contains("90.0 s")),
        "{out}"
    );
}

#[test]
fn sweep_writes_points_by_class_and_merge_agrees() {
    // Two points, u_s = 1 and 2 MB/s, two replications each (deterministic, so both
    // give the same times). fast: 10/0.9 = 11.111 s, then 10/1.9 = 5.263 s; slow is
    // capped at 0.1 MB/s at both points: 100 s.
    let text = format!(
        "{TWO_CLASSES}\n[sweep]\nreplications = 2\n[[sweep.vary]]\nkey = \"server.upload\"\n\
         values = [\"8 Mbit/s\", \"16 Mbit/s\"]\n"
    );
    let d = scratch(&text);
    let o = run_in(
        d.path(),
        &["sweep", "scenario.toml", "--out", "all", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let p = std::fs::read_to_string(d.path().join("all/points_by_class.csv")).unwrap();
    assert_eq!(csv_column(&p, "class"), ["fast", "slow", "fast", "slow"]);
    assert_eq!(csv_column(&p, "runs"), ["2", "2", "2", "2"]);
    let mean = csv_column(&p, "mean_completion_s");
    for (got, want) in mean.iter().zip([100.0 / 9.0, 100.0, 10.0 / 1.9, 100.0]) {
        assert!(close(got, want), "{p}");
    }
    let runs = std::fs::read_to_string(d.path().join("all/runs_by_class.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 4 * 2, "{runs}");
    // The quantity parameter also as a number in base units, beside its text:
    // 8 Mbit/s = 8e6 / 8 = 1e6 B/s, 16 Mbit/s = 2e6 B/s.
    for f in ["points.csv", "runs.csv", "points_by_class.csv"] {
        let t = std::fs::read_to_string(d.path().join("all").join(f)).unwrap();
        let header: Vec<&str> = t.lines().next().unwrap().split(',').collect();
        let i = header
            .iter()
            .position(|h| *h == "param_server.upload")
            .unwrap();
        assert_eq!(header[i + 1], "param_server.upload_bytes_per_s", "{f}");
        let mut got = csv_column(&t, "param_server.upload_bytes_per_s");
        got.dedup();
        assert_eq!(got, ["1000000", "2000000"], "{f}");
    }
    // Two shards merged give the same per-class tables.
    for k in ["1/2", "2/2"] {
        let out = format!("s{}", &k[..1]);
        let o = run_in(
            d.path(),
            &[
                "sweep",
                "scenario.toml",
                "--shard",
                k,
                "--out",
                &out,
                "--quiet",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = run_in(d.path(), &["merge", "s1", "s2", "--out", "m"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["points_by_class.csv", "runs_by_class.csv"] {
        let a = std::fs::read_to_string(d.path().join("all").join(f)).unwrap();
        let b = std::fs::read_to_string(d.path().join("m").join(f)).unwrap();
        assert_eq!(a, b, "{f}");
    }
}

#[test]
fn bounds_print_every_term_and_mark_the_binding_one() {
    // client-server.toml: F = 1e8 B, N = 20, u_s = 1.25e7 B/s, d_min = 2.5e5 B/s:
    // N F/u_s = 160 s, F/d_min = 400 s (binds D_cs); for D_p2p, F/u_s = 8 s,
    // N F/(u_s + sum u_i) = 2e9/(1.25e7 + 7.5625e7) = 22.695 s, F/d_min binds.
    let scen = root().join("scenarios/client-server.toml");
    let o = run_in(&root(), &["bounds", scen.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let at = |label: &str| lines.iter().position(|l| l.starts_with(label)).unwrap();
    let cs = at("D_cs bound");
    assert!(lines[cs + 1].trim_start().starts_with("N F/u_s"));
    assert!(lines[cs + 1].contains("160 s") && !lines[cs + 1].contains("binds"));
    assert!(lines[cs + 2].trim_start().starts_with("F/d_min"));
    assert!(lines[cs + 2].contains("400 s") && lines[cs + 2].ends_with("<- binds"));
    let p2p = at("D_p2p bound");
    assert!(lines[p2p + 1].contains("F/u_s") && lines[p2p + 1].contains("8 s"));
    assert!(lines[p2p + 2].ends_with("<- binds"), "{out}");
    assert!(lines[p2p + 3].contains("22.695 s") && !lines[p2p + 3].contains("binds"));
}

#[test]
fn arrivals_over_time_are_not_measured_against_the_flash_crowd_bounds() {
    // Two peers, unlimited download, server 1 MB/s, F = 10 MB, arriving at 0 and
    // 100 s: each downloads alone in 10 s; the distribution time is 110 s against
    // D_cs = 2 F/u_s = 20 s (ratio 5.5, which says nothing about the protocol).
    // Each peer's own bound: max(F/d_i = 0, F/(u_s + 0) = 10, t_0 + F/u_s - a_i =
    // 10 or -90) = 10 s; mean download 10 s: bound_ratio 1.
    let d = scratch(
        r#"
name = "spread"
seed = 1
[file]
size = "10 MB"
chunk = "1 MB"
[server]
upload = "8 Mbit/s"
[[peers]]
count = 2
upload = "0 bit/s"
download = "unlimited"
arrival = { process = "times", times = ["0 s", "100 s"] }
[protocol]
kind = "client-server"
[network]
model = "max-min"
"#,
    );
    let o = run_in(d.path(), &["run", "scenario.toml", "--out", "o"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = std::fs::read_to_string(d.path().join("o/summary.csv")).unwrap();
    assert_eq!(csv_column(&s, "arrivals"), ["spread"]);
    assert_eq!(csv_column(&s, "mean_peer_bound_s"), ["10"]);
    assert_eq!(csv_column(&s, "bound_ratio"), ["1"]);
    assert_eq!(csv_column(&s, "p2p_bound_ratio"), ["5.5"]);
    assert_eq!(csv_column(&s, "qiu_srikant_s"), [""]);
    let out = stdout(&o);
    assert!(out.contains("do not bound this run"), "{out}");
    assert!(out.contains("mean download = 1.0000 x peer bound"), "{out}");
}

#[test]
fn poisson_swarm_with_exponential_seeding_gets_the_qiu_srikant_prediction() {
    // churn-poisson.toml: F = 52,428,800 B, u = 125,000 B/s, d = 1e6 B/s, mean
    // seeding 120 s: T = max(F/d, F/u - 120) = max(52.4288, 299.4304) = 299.4304 s.
    // (Ten peers keep the run short; the prediction does not depend on N.)
    let scen = root().join("scenarios/churn-poisson.toml");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let o = run_in(
        &root(),
        &[
            "run",
            scen.to_str().unwrap(),
            "--set",
            "peers.0.count=10",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(close(&csv_column(&s, "qiu_srikant_s")[0], 299.4304), "{s}");
    assert_eq!(csv_column(&s, "arrivals"), ["spread"]);
    // bound_ratio is the mean download over the mean of the per-peer bounds.
    let ratio: f64 = csv_column(&s, "bound_ratio")[0].parse().unwrap();
    let mean: f64 = csv_column(&s, "mean_completion_s")[0].parse().unwrap();
    let bound: f64 = csv_column(&s, "mean_peer_bound_s")[0].parse().unwrap();
    assert!((ratio - mean / bound).abs() < 1e-9 && ratio >= 1.0);
    assert!(stdout(&o).contains("Qiu-Srikant"));
}

#[test]
fn keep_runs_keeps_each_runs_tables() {
    // Each kept run's peers.csv is the one `swarmsim run` writes for the same point
    // and seed (the seed from runs.csv).
    let text = format!(
        "{TWO_CLASSES}\n[sweep]\n[[sweep.vary]]\nkey = \"server.upload\"\n\
         values = [\"8 Mbit/s\", \"16 Mbit/s\"]\n"
    );
    let d = scratch(&text);
    let o = run_in(
        d.path(),
        &[
            "sweep",
            "scenario.toml",
            "--out",
            "o",
            "--quiet",
            "--keep-runs",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = std::fs::read_to_string(d.path().join("o/runs.csv")).unwrap();
    let seeds = csv_column(&runs, "seed");
    for (i, (upload, seed)) in ["8 Mbit/s", "16 Mbit/s"].iter().zip(&seeds).enumerate() {
        let kept = d.path().join(format!("o/runs/{i}"));
        for f in ["peers.csv", "timeseries.csv", "classes.csv"] {
            assert!(kept.join(f).is_file(), "{}", kept.join(f).display());
        }
        let out = format!("r{i}");
        let set = format!("server.upload=\"{upload}\"");
        let o = run_in(
            d.path(),
            &[
                "run",
                "scenario.toml",
                "--set",
                &set,
                "--seed",
                seed,
                "--out",
                &out,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let a = std::fs::read_to_string(kept.join("peers.csv")).unwrap();
        let b = std::fs::read_to_string(d.path().join(&out).join("peers.csv")).unwrap();
        assert_eq!(a, b, "run {i}");
    }
    // Without --keep-runs: no runs/ folder.
    let o = run_in(
        d.path(),
        &["sweep", "scenario.toml", "--out", "n", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.path().join("n/runs").exists());
}

#[test]
fn zipped_keys_vary_together_and_draw_one_series() {
    // N = 4 fixed, the slow share from 1 to 3: peers.0.count and peers.1.count
    // zipped, 3 points (not a 3 x 3 grid).
    let text = format!(
        "{TWO_CLASSES}\n[sweep]\n[[sweep.zip]]\nkey = \"peers.0.count\"\nvalues = [3, 2, 1]\n\
         [[sweep.zip]]\nkey = \"peers.1.count\"\nvalues = [1, 2, 3]\n"
    );
    let d = scratch(&text);
    let o = run_in(
        d.path(),
        &["sweep", "scenario.toml", "--out", "o", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("d_vs_n.png"), "{}", stdout(&o));
    let p = std::fs::read_to_string(d.path().join("o/points.csv")).unwrap();
    assert_eq!(csv_column(&p, "param_peers.0.count"), ["3", "2", "1"]);
    assert_eq!(csv_column(&p, "param_peers.1.count"), ["1", "2", "3"]);
    // The figure over peers.0.count: peers.1.count follows x, so one series.
    let o = run_in(d.path(), &["plot", "o", "--out", "f.svg"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(d.path().join("f.svg")).unwrap();
    assert!(svg.contains("client-server (simulated mean, 95% CI)"));
    assert!(!svg.contains("peers.1.count="), "one series");
    // The manifest's [sweep] table gives the same plan again.
    let o = run_in(d.path(), &["check", "o/manifest.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("3 points x 1 replications"),
        "{}",
        stdout(&o)
    );
}
