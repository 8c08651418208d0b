//! `swarmsim sweep`, `merge` and `plot`: identical files whatever the thread count or
//! sharding, resume after a kill, refusals, figures.

use super::*;
use std::time::{Duration, Instant};

/// Five grid points (N = 1..5) x 2 replications = 10 runs. F = 1 MB, u_s = 1 MB/s,
/// downloads unlimited, so D_cs = N F/u_s = N seconds and client-server attains it.
const GRID: &str = r#"
name = "grid"
seed = 11
[file]
size = "1 MB"
chunk = "100 kB"
[server]
upload = "1 MB/s"
[[peers]]
count = 1
upload = "100 kB/s"
download = "unlimited"
[network]
model = "fast"
[sweep]
replications = 2
[[sweep.vary]]
key = "peers.0.count"
range = { from = 1, to = 5, steps = 5 }
[[sweep.vary]]
key = "protocol.kind"
values = ["client-server"]
"#;

/// Reads a CSV file's column `name` as strings.
fn column(text: &str, name: &str) -> Vec<String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(i).unwrap().to_string())
        .collect()
}

#[test]
fn jobs_and_shards_give_identical_files() {
    let d = scratch(GRID);
    let p = d.path();
    ok(&run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--jobs",
            "1",
            "--out",
            "j1",
            "--quiet",
        ],
    ));
    ok(&run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--jobs",
            "2",
            "--out",
            "j2",
            "--quiet",
        ],
    ));
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = format!("s{k}");
        ok(&run_in(
            p,
            &[
                "sweep",
                "scenario.toml",
                "--shard",
                &shard,
                "--out",
                &out,
                "--quiet",
            ],
        ));
        assert!(
            !p.join(&out).join("points.csv").exists(),
            "a shard writes no points.csv"
        );
    }
    ok(&run_in(p, &["merge", "s3", "s1", "s2", "--out", "merged"]));
    let runs = read(&p.join("j1/runs.csv"));
    let points = read(&p.join("j1/points.csv"));
    for other in ["j2", "merged"] {
        assert_eq!(
            without_wall(&runs),
            without_wall(&read(&p.join(other).join("runs.csv"))),
            "runs.csv of {other}"
        );
        assert_eq!(
            points,
            read(&p.join(other).join("points.csv")),
            "points.csv of {other}"
        );
    }
    // One row per run, in input order: point-major, then replication.
    assert_eq!(runs.lines().count(), 1 + 10);
    assert_eq!(
        column(&runs, "run"),
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(column(&runs, "replication")[..4], ["0", "1", "0", "1"]);
    // Seeds: derived from (scenario seed 11, point, replication) only.
    let seeds = column(&runs, "seed");
    for (i, s) in seeds.iter().enumerate() {
        let want = swarmsim::stats::derive_seed(11, i / 2, (i % 2) as u32);
        assert_eq!(*s, want.to_string(), "seed of run {i}");
    }
    // points.csv: N = 1..5, D_cs = N F/u_s = N s, attained exactly; two identical
    // runs per point, so sd 0 and a zero-width interval.
    assert_eq!(
        column(&points, "param_peers.0.count"),
        ["1", "2", "3", "4", "5"]
    );
    assert_eq!(column(&points, "d_cs_bound_s"), ["1", "2", "3", "4", "5"]);
    // Completion times are rounded up to the next nanosecond, so the mean may exceed
    // N s by a few nanoseconds.
    for (n, m) in column(&points, "mean_distribution_time_s")
        .iter()
        .enumerate()
    {
        let m: f64 = m.parse().unwrap();
        assert!((m - (n + 1) as f64).abs() < 1e-6, "point {n}: {m}");
    }
    assert_eq!(column(&points, "runs"), ["2"; 5]);
    assert_eq!(column(&points, "sd_distribution_time_s"), ["0"; 5]);
    for r in column(&points, "mean_bound_ratio") {
        assert!((r.parse::<f64>().unwrap() - 1.0).abs() < 1e-6, "{r}");
    }
    for dir in ["j1", "merged"] {
        assert!(
            p.join(dir).join("d_vs_n.png").exists(),
            "{dir} has its figure"
        );
    }
}

/// 60 runs of 40 to 60 peers and 100 chunks each: long enough to be killed part-way,
/// short enough for a debug build.
fn slow_grid() -> String {
    GRID.replace("chunk = \"100 kB\"", "chunk = \"10 kB\"")
        .replace("replications = 2", "replications = 20")
        .replace(
            "range = { from = 1, to = 5, steps = 5 }",
            "values = [40, 50, 60]",
        )
}

#[test]
fn resume_after_kill_gives_the_uninterrupted_files() {
    let d = scratch(&slow_grid());
    let p = d.path();
    let mut child = bin()
        .current_dir(p)
        .args([
            "sweep",
            "scenario.toml",
            "--jobs",
            "1",
            "--out",
            "cut",
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("swarmsim starts");
    let journal = p.join("cut/journal.csv");
    let start = Instant::now();
    loop {
        let rows =
            std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count().saturating_sub(1));
        if rows >= 3 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the journal never filled"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("kill");
    child.wait().expect("reaped");
    assert!(
        !p.join("cut/runs.csv").exists(),
        "the sweep must have been killed before it finished"
    );
    let kept = read(&journal).lines().count() - 1;
    // A torn last line, as a crash mid-write would leave: resume must drop it.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut f, b"59,2,60,client-server,19,grid,cli").unwrap();
    drop(f);
    let o = run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--resume",
            "--out",
            "cut",
            "--quiet",
        ],
    );
    ok(&o);
    assert!(
        stdout(&o).contains(&format!(
            "{} simulated now, {kept} from the journal",
            60 - kept
        )),
        "finished runs are not redone: {}",
        stdout(&o)
    );
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "whole", "--quiet"],
    ));
    assert_eq!(
        without_wall(&read(&p.join("cut/runs.csv"))),
        without_wall(&read(&p.join("whole/runs.csv")))
    );
    assert_eq!(
        read(&p.join("cut/points.csv")),
        read(&p.join("whole/points.csv"))
    );
}

#[test]
fn resume_refuses_a_changed_scenario() {
    let d = scratch(GRID);
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "o", "--quiet"],
    ));
    let o = run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--resume",
            "--out",
            "o",
            "--quiet",
            "--set",
            "server.upload=2 MB/s",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the scenario changed since"),
        "{}",
        stderr(&o)
    );
    let o = run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--resume",
            "--out",
            "nothing",
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no sweep to resume"), "{}", stderr(&o));
}

/// Runs `scenario.toml` in `p` as `count` shards, shard k into folder `sk`.
fn shards(p: &Path, count: u32) {
    for k in 1..=count {
        ok(&run_in(
            p,
            &[
                "sweep",
                "scenario.toml",
                "--shard",
                &format!("{k}/{count}"),
                "--out",
                &format!("s{k}"),
                "--quiet",
            ],
        ));
    }
}

#[test]
fn merge_refuses_other_sweeps_missing_and_duplicate_runs() {
    let d = scratch(GRID);
    let p = d.path();
    shards(p, 3);
    ok(&run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--shard",
            "2/3",
            "--out",
            "other",
            "--quiet",
            "--set",
            "seed=12",
        ],
    ));
    let refused = |args: &[&str]| {
        let o = run_in(p, args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(!p.join("m").exists(), "no output when refused");
        stderr(&o)
    };
    let e = refused(&["merge", "s1", "other", "s3", "--out", "m"]);
    assert!(e.contains("s1 and other hold different sweeps"), "{e}");
    let e = refused(&["merge", "s1", "s3", "--out", "m"]);
    // Shard 2/3 holds runs 1, 4, 7 (index % 3 == 1).
    assert!(e.contains("3 of 10 runs are missing (runs 1, 4, 7)"), "{e}");
    assert!(e.contains("shards not given: 2/3"), "{e}");
    let e = refused(&["merge", "s1", "s2", "s3", "s2", "--out", "m"]);
    assert!(e.contains("run 1 appears twice, in s2 and in s2"), "{e}");
    let e = refused(&["merge", "nowhere", "--out", "m"]);
    assert!(e.contains("not the output folder of a sweep"), "{e}");
}

#[test]
fn resume_after_a_forced_merge_reads_the_merged_runs() {
    // A folder holding another sweep (seed 12) gets the merged shards of this one
    // (seed 11) with --force; --resume there must find all 10 runs finished and
    // write the merged runs.csv again, not the other sweep's journal (an audit found
    // it did: the old journal.csv stayed beside the merged files).
    let d = scratch(GRID);
    let p = d.path();
    shards(p, 2);
    ok(&run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--out",
            "m",
            "--quiet",
            "--set",
            "seed=12",
        ],
    ));
    ok(&run_in(p, &["merge", "s1", "s2", "--out", "m", "--force"]));
    let merged = read(&p.join("m/runs.csv"));
    let o = run_in(p, &["sweep", "scenario.toml", "--out", "m", "--resume"]);
    ok(&o);
    assert!(
        stdout(&o).contains("0 simulated now, 10 from the journal"),
        "{}",
        stdout(&o)
    );
    assert_eq!(read(&p.join("m/runs.csv")), merged);
}

#[test]
fn a_bad_grid_point_is_refused_before_anything_runs() {
    // Point 2 sets peers.0.count = 0, below the minimum of 1.
    let t = GRID.replace(
        "range = { from = 1, to = 5, steps = 5 }",
        "values = [1, 2, 0]",
    );
    let d = scratch(&t);
    let o = run_in(d.path(), &["sweep", "scenario.toml", "--out", "o"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    insta::assert_snapshot!(stderr(&o).trim_end(), @"error: scenario.toml (sweep point 2: peers.0.count = 0, protocol.kind = client-server): field `peers.0.count` = 0: out of range; expected a whole number from 1 to 10000000");
    assert!(!d.path().join("o").exists(), "no output on bad input");
    // A bad [sweep] value given by --set is named as the --set's.
    let o = run_in(
        d.path(),
        &[
            "sweep",
            "scenario.toml",
            "--out",
            "o",
            "--set",
            "sweep.replications=0",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "scenario.toml (with --set sweep.replications=0): field `sweep.replications` = 0"
        ),
        "{}",
        stderr(&o)
    );
    let o = run_in(d.path(), &["check", "scenario.toml"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "check checks every grid point too"
    );
    let t = GRID.replace("replications = 2", "replications = \"two\"");
    let d = scratch(&t);
    let o = run_in(d.path(), &["sweep", "scenario.toml", "--out", "o"]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&o).trim_end(), @"error: scenario.toml: field `sweep.replications` = \"two\": expected a whole number from 1 to 1000000");
    assert!(!d.path().join("o").exists());
}

/// Width and height of a PNG, from its IHDR chunk (bytes 16..24, big-endian).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}

#[test]
fn plots_render_with_the_bundled_font() {
    let d = scratch(GRID);
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "o", "--quiet"],
    ));
    // 1200 x 600: swarmsim::output::figure::FIGURE_SIZE (the plot and the legend
    // beside it).
    let png = std::fs::read(p.join("o/d_vs_n.png")).unwrap();
    assert_eq!(png_size(&png), (1200, 600));
    assert!(
        png.len() > 10_000,
        "a figure with content, {} bytes",
        png.len()
    );
    let o = run_in(p, &["plot", "o", "--out", "fig.svg", "--log-y"]);
    ok(&o);
    let svg = read(&p.join("fig.svg"));
    for name in [
        "D_cs bound",
        "D_p2p bound",
        "client-server (simulated mean, 95% CI)",
        "distribution time (seconds)",
        "number of peers N",
    ] {
        assert!(svg.contains(name), "the SVG names {name}");
    }
    let o = run_in(p, &["plot", "o", "--x", "nothing"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a varied key"), "{}", stderr(&o));

    // run --plot: the completion CDF, and the swarm over time from a synthetic
    // timeseries.csv placed in the output folder.
    let t = GRID.replace("count = 1\n", "count = 3\n");
    std::fs::write(p.join("one.toml"), t).unwrap();
    std::fs::create_dir_all(p.join("r")).unwrap();
    std::fs::write(
        p.join("r/timeseries.csv"),
        "time_s,leechers,seeds,active_flows,upload_utilisation,rarest_copies,mean_chunks_per_leecher\n\
         0,3,0,3,1,0,0\n1,2,1,2,0.5,1,5\n2,1,2,1,0.25,2,8\n3,0,3,0,0,3,10\n",
    )
    .unwrap();
    // (--force: a folder holding results without a manifest is otherwise refused.)
    ok(&run_in(
        p,
        &["run", "one.toml", "--out", "r", "--plot", "--force"],
    ));
    for f in ["completion_cdf.png", "swarm.png"] {
        let b = std::fs::read(p.join("r").join(f)).unwrap();
        assert_eq!(png_size(&b), (900, 600), "{f}");
        assert!(b.len() > 5_000, "{f} has content");
    }
}

#[test]
fn plot_and_resume_refuse_broken_csv_naming_the_file() {
    // points.csv and journal.csv are read back by `plot` and `--resume`: a broken one
    // is bad input (exit status 2) and the message names the file (and line, field).
    let d = scratch(GRID);
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "o", "--quiet"],
    ));
    let good = read(&p.join("o/points.csv"));
    let header = good.lines().next().unwrap();
    let first = good.lines().nth(1).unwrap();
    let mean = header
        .split(',')
        .position(|h| h == "mean_distribution_time_s");
    let with_mean = |v: &str| {
        let mut f: Vec<&str> = first.split(',').collect();
        f[mean.unwrap()] = v;
        format!("{header}\n{}\n", f.join(","))
    };
    // (One field more than the header has.)
    let width = header.split(',').count();
    let extra_msg = format!("line 2 has {} fields, the header {width}", width + 1);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "header",
            format!("{header}\n").into_bytes(),
            "no points to plot",
        ),
        (
            "abc",
            with_mean("abc").into_bytes(),
            "line 2: mean_distribution_time_s = \"abc\" is not a number",
        ),
        (
            "extra",
            format!("{header}\n{first},9\n").into_bytes(),
            &extra_msg,
        ),
        ("utf8", b"\xff\xfe,bad\n".to_vec(), "not valid CSV"),
    ];
    for (name, bytes, expect) in cases {
        std::fs::create_dir(p.join(name)).unwrap();
        std::fs::write(p.join(name).join("points.csv"), bytes).unwrap();
        let o = run_in(p, &["plot", name]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(&format!("{name}/points.csv: {expect}")),
            "{name}: {e}"
        );
        assert!(!p.join(name).join("d_vs_n.png").exists(), "{name}");
    }
    // A log axis over a zero: named as the option's, with the file.
    let zero = with_mean("0");
    std::fs::create_dir(p.join("zero")).unwrap();
    std::fs::write(p.join("zero/points.csv"), zero).unwrap();
    let o = run_in(p, &["plot", "zero", "--log-y"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("zero/points.csv: --log-y"),
        "{}",
        stderr(&o)
    );
    // A journal of random bytes.
    std::fs::write(p.join("o/journal.csv"), b"\xff\x00\xfe\n").unwrap();
    let o = run_in(
        p,
        &[
            "sweep",
            "scenario.toml",
            "--out",
            "o",
            "--resume",
            "--quiet",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("o/journal.csv: not a sweep journal"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_forced_command_leaves_no_earlier_results_beside_its_own() {
    // An audit found figures and a sweep's tables of an earlier command left beside
    // a forced run's or sweep's files, as if they belonged to it.
    let d = scratch(GRID);
    let p = d.path();
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "o", "--quiet"],
    ));
    assert!(p.join("o/d_vs_n.png").exists());
    // A run forced into the sweep's folder: only the run's files stay.
    let o = run_in(
        p,
        &["run", "scenario.toml", "--out", "o", "--force", "--plot"],
    );
    ok(&o);
    for f in [
        "runs.csv",
        "points.csv",
        "journal.csv",
        "sweep.toml",
        "d_vs_n.png",
    ] {
        assert!(!p.join("o").join(f).exists(), "{f} left beside the run");
    }
    assert!(p.join("o/completion_cdf.png").exists());
    // Another run forced there without --plot: the first run's figures go.
    let o = run_in(
        p,
        &[
            "run",
            "scenario.toml",
            "--out",
            "o",
            "--force",
            "--set",
            "seed=5",
        ],
    );
    ok(&o);
    assert!(!p.join("o/completion_cdf.png").exists());
    assert!(!p.join("o/swarm.png").exists());
    // A sweep forced there whose grid has nothing numeric to plot (one point varying
    // only the protocol): no figure at all, and no run files.
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "s", "--quiet"],
    ));
    let t = GRID.replace(
        "range = { from = 1, to = 5, steps = 5 }",
        "values = [\"x\"]",
    );
    let t = t.replace("key = \"peers.0.count\"", "key = \"name\"");
    std::fs::write(p.join("flat.toml"), t).unwrap();
    let o = run_in(
        p,
        &["sweep", "flat.toml", "--out", "s", "--force", "--quiet"],
    );
    ok(&o);
    assert!(stderr(&o).contains("note: no figure"), "{}", stderr(&o));
    assert!(
        !p.join("s/d_vs_n.png").exists(),
        "the earlier sweep's figure stayed"
    );
    ok(&run_in(
        p,
        &["sweep", "scenario.toml", "--out", "o", "--force", "--quiet"],
    ));
    assert!(
        !p.join("o/summary.csv").exists(),
        "a run's table stayed beside the sweep"
    );
}

#[test]
fn a_sweep_over_rates_draws_its_figure_in_the_scenarios_rate_unit() {
    // server.upload over three rates (docs/OUTPUTS.md's example key): the values are
    // quantities, not bare numbers, and are drawn at what the scenario reads them as
    // (10 Mbit/s = 1,250,000 B/s). An audit found such a sweep drew no figure.
    let t = GRID
        .replace("key = \"peers.0.count\"", "key = \"server.upload\"")
        .replace(
            "range = { from = 1, to = 5, steps = 5 }",
            "values = [\"10 Mbit/s\", \"20 Mbit/s\", \"40 Mbit/s\"]",
        );
    let d = scratch(&t);
    let p = d.path();
    let o = run_in(p, &["sweep", "scenario.toml", "--out", "o", "--quiet"]);
    ok(&o);
    assert!(!stderr(&o).contains("no figure"), "{}", stderr(&o));
    assert!(p.join("o/d_vs_n.png").exists());
    let svg = p.join("o/x.svg");
    ok(&run_in(
        p,
        &["plot", "o", "--x", "server.upload", "--out", "o/x.svg"],
    ));
    let text = read(&svg);
    // In the unit family the scenario wrote (Mbit/s), not raw B/s.
    assert!(text.contains("server.upload (Mbit/s)"), "x axis label");
}
