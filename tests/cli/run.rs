//! `swarmsim run`: outputs, determinism, overrides.

use super::*;

const SMALL: &str = r#"
name = "small"
seed = 3
[file]
size = "10 MB"
chunk = "1 MB"
[server]
upload = "8 Mbit/s"
[[peers]]
count = 4
upload = "1 Mbit/s"
download = "unlimited"
[[peers]]
name = "slow"
count = 2
upload = "1 Mbit/s"
download = "2 Mbit/s"
"#;

#[test]
fn run_writes_summary_and_peers_and_is_deterministic() {
    let d = scratch(SMALL);
    let a = run_in(d.path(), &["run", "scenario.toml", "--out", "a"]);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = run_in(d.path(), &["run", "scenario.toml", "--out", "b"]);
    assert!(b.status.success());
    for f in ["summary.csv", "peers.csv"] {
        let x = std::fs::read_to_string(d.path().join("a").join(f)).unwrap();
        let y = std::fs::read_to_string(d.path().join("b").join(f)).unwrap();
        assert_eq!(
            without_wall(&x),
            without_wall(&y),
            "{f} differs between two runs"
        );
    }
    let summary = std::fs::read_to_string(d.path().join("a/summary.csv")).unwrap();
    let header = summary.lines().next().unwrap();
    for col in [
        "scenario",
        "protocol",
        "network_model",
        "seed",
        "peers",
        "file_bytes",
        "chunk_bytes",
        "chunks",
        "server_upload_bytes_per_s",
        "min_download_bytes_per_s",
        "sum_peer_upload_bytes_per_s",
        "d_cs_bound_s",
        "d_p2p_bound_s",
        "distribution_time_s",
        "mean_completion_s",
        "bound_ratio",
        "events",
        "wall_s",
    ] {
        assert!(
            header.split(',').any(|h| h == col),
            "summary.csv lacks {col}"
        );
    }
    // N F/u_s = 6 * 10e6 / 1e6 = 60 s; F/d_min = 10e6 / 0.25e6 = 40 s: D_cs = 60 s.
    let row: Vec<&str> = summary.lines().nth(1).unwrap().split(',').collect();
    let col = |name: &str| row[header.split(',').position(|h| h == name).unwrap()];
    assert_eq!(col("d_cs_bound_s"), "60");
    let t: f64 = col("distribution_time_s").parse().unwrap();
    assert!((t - 60.0).abs() < 1e-6, "{t}");
    let peers = std::fs::read_to_string(d.path().join("a/peers.csv")).unwrap();
    assert_eq!(peers.lines().count(), 1 + 6, "one row per peer");
    assert!(peers.lines().nth(6).unwrap().contains(",slow,"));
    // The human summary names the bound and the ratio.
    assert!(stdout(&a).contains("= 1.0000 x D_cs"), "{}", stdout(&a));
}

#[test]
fn default_output_folder_is_results_name() {
    let d = scratch(SMALL);
    let o = run_in(d.path(), &["run", "scenario.toml", "--seed", "9"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = std::fs::read_to_string(d.path().join("results/small/summary.csv")).unwrap();
    assert!(
        s.lines().nth(1).unwrap().contains(",9,"),
        "--seed replaces the seed: {s}"
    );
}

#[test]
fn shipped_scenarios_check() {
    // Every scenario under scenarios/, scenarios/bench/ and scenarios/validation/.
    let dirs = ["scenarios", "scenarios/bench", "scenarios/validation"];
    let files: Vec<_> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(root().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert!(files.len() >= 30, "found only {} scenarios", files.len());
    for p in files {
        let o = run_in(&root(), &["check", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", p.display(), stderr(&o));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# Question:"),
            "{} must open with its question",
            p.display()
        );
    }
}

#[test]
fn bittorrent_with_poisson_arrivals_is_deterministic() {
    // Same scenario and seed, run twice: byte-identical files apart from wall_s.
    let scen = root().join("scenarios/churn-poisson.toml");
    let d = tempfile::tempdir().unwrap();
    for out in ["a", "b"] {
        let o = run_in(
            d.path(),
            &[
                "run",
                scen.to_str().unwrap(),
                "--set",
                "peers.0.count=40",
                "--out",
                out,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in ["summary.csv", "peers.csv", "timeseries.csv"] {
        let x = std::fs::read_to_string(d.path().join("a").join(f)).unwrap();
        let y = std::fs::read_to_string(d.path().join("b").join(f)).unwrap();
        assert_eq!(
            without_wall(&x),
            without_wall(&y),
            "{f} differs between two runs"
        );
    }
}

#[test]
fn a_tiny_sample_interval_is_thinned_not_a_memory_flood() {
    // Client-server, one peer, F = 1 MB from u_s = 1 MB/s: the run ends at 1 s. A
    // 750 ns interval asks for 1,333,334 rows. Past swarmsim::model::MAX_SAMPLES
    // (10^6: at the sample of 0.75 s) every other row goes, leaving 500,001 rows
    // 1.5 us apart, and the interval doubles to 1.5 us: 166,666 more rows up to
    // 0.999999 s, and the final row at 1 s, 666,668 rows in all, evenly spaced.
    // (An audit's 1 ns interval grew a run to 8 GB before it was stopped.)
    let d = scratch(
        "name = \"tiny\"\n[file]\nsize = \"1 MB\"\nchunk = \"100 kB\"\n[server]\n\
         upload = \"1 MB/s\"\n[[peers]]\ncount = 1\nupload = \"1 MB/s\"\n\
         download = \"unlimited\"\n[protocol]\nkind = \"client-server\"\n\
         [output]\nsample_interval = \"750 ns\"\n",
    );
    let o = run_in(d.path(), &["run", "scenario.toml", "--out", "o"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("it keeps one sample in 2 (0.0000015 s apart)"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(d.path().join("o/timeseries.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let ti = header.iter().position(|h| *h == "time_s").unwrap();
    let times: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(ti).unwrap().parse().unwrap())
        .collect();
    assert_eq!(times.len(), 666_668);
    // Evenly spaced by 1.5 us up to the final row (the end of the run, 1 s).
    for w in times[..times.len() - 1].windows(2) {
        assert!(
            (w[1] - w[0] - 1.5e-6).abs() < 1e-12,
            "{} then {}",
            w[0],
            w[1]
        );
    }
    assert!(
        (times[times.len() - 1] - 1.0).abs() < 1e-6,
        "{:?}",
        times.last()
    );
}

/// `check` with a client preset lists every `[protocol]` field of BitTorrent once,
/// with its value and where it came from: the preset's values (docs/PRESETS.md:
/// libtorrent's `unchoke_slots_limit` = 8 less the optimistic slot, 7; its
/// `whole_pieces_threshold` = 20 s, the built-in default, and its kept queue
/// instead of the default `"adjacent-runs"`), a field written in the file
/// ("file"), and the fields the preset leaves at their default, including those
/// the manifest's TOML omits at their default (`request_rate`).
#[test]
fn check_lists_every_resolved_protocol_field_with_its_source() {
    let text = format!("{BASE}preset = \"libtorrent-2.0\"\nidle_retry = \"every-5s\"\n");
    let d = scratch(&text);
    let o = run_in(d.path(), &["check", "scenario.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let listed: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.contains("(resolved settings)"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let row = |k: &str| {
        listed
            .iter()
            .find(|r| r[0] == k)
            .unwrap_or_else(|| panic!("{k} listed in:\n{out}"))
            .clone()
    };
    assert_eq!(
        row("unchoke_slots"),
        ["unchoke_slots", "7", "libtorrent-2.0"]
    );
    assert_eq!(
        row("whole_pieces_threshold"),
        ["whole_pieces_threshold", "\"20", "s\"", "libtorrent-2.0"]
    );
    assert_eq!(row("idle_retry"), ["idle_retry", "\"every-5s\"", "file"]);
    assert_eq!(
        row("whole_pieces_rule"),
        ["whole_pieces_rule", "\"kept\"", "libtorrent-2.0"]
    );
    assert_eq!(
        row("request_rate"),
        ["request_rate", "\"current\"", "default"]
    );
    assert_eq!(row("preset"), ["preset", "\"libtorrent-2.0\"", "file"]);
    // Each field once: the 20 fields every preset sets, the 4 more libtorrent's
    // sets, the 4 tracker and table sizes, requests_in_flight, inactivity_timeout,
    // request_rate, idle_retry and preset: the 33 fields of
    // `[protocol]` besides `kind` (docs/SCENARIOS.md).
    let mut names: Vec<&str> = listed.iter().map(|r| r[0]).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "a field listed twice:\n{out}");
    assert_eq!(n, 33, "{out}");
    // mainline-4's fields at the built-in defaults, which the manifest's TOML
    // omits, are listed too: its own allowed_fast = 0 and started_chunks = "first"
    // (docs/PRESETS.md), and the libtorrent fields it leaves alone; its
    // whole_pieces_threshold = 0 s (no whole-piece mode) differs from the default.
    let d = scratch(&format!("{BASE}preset = \"mainline-4\"\n"));
    let out = stdout(&run_in(d.path(), &["check", "scenario.toml"]));
    for (field, from) in [
        ("allowed_fast", "mainline-4"),
        ("started_chunks", "mainline-4"),
        ("rate_limit_overhead", "default"),
        ("whole_pieces_threshold", "mainline-4"),
        ("whole_pieces_rule", "default"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(field) && l.ends_with(from)),
            "{field} from {from}:\n{out}"
        );
    }
}

/// `check` of the block pipeline without a preset lists the resolved settings too,
/// since its defaults are libtorrent 2.0.8's (docs/SCENARIOS.md: whole-piece mode
/// at 20 s with its adjacent runs, a 3-s queue of 2 to 500 blocks); whole-chunk
/// requests without a preset list none.
#[test]
fn check_lists_the_pipelines_resolved_settings() {
    let d = scratch(&format!("{BASE}requests = \"blocks\"\n"));
    let o = run_in(d.path(), &["check", "scenario.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("blocks (resolved settings):"), "{out}");
    for (field, value, from) in [
        ("requests", "\"blocks\"", "file"),
        ("whole_pieces_threshold", "\"20 s\"", "default"),
        ("whole_pieces_rule", "\"adjacent-runs\"", "default"),
        ("request_queue_time", "\"3 s\"", "default"),
        ("request_queue_max", "500", "default"),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with("  ") && l.trim_start().starts_with(&format!("{field} ")))
            .unwrap_or_else(|| panic!("{field} listed in:\n{out}"));
        let cells: Vec<&str> = line.split("  ").filter(|c| !c.is_empty()).collect();
        assert_eq!(
            cells.iter().map(|c| c.trim()).collect::<Vec<_>>(),
            [field, value, from],
            "{out}"
        );
    }
    let d = scratch(BASE);
    let out = stdout(&run_in(d.path(), &["check", "scenario.toml"]));
    assert!(!out.contains("resolved settings"), "{out}");
}

/// A pipeline field written under whole-chunk requests, or `requests_in_flight`
/// under the pipeline, is named in a note (it changes nothing; docs/SCENARIOS.md
/// marks these fields `"blocks"` and whole-chunk only); the command still succeeds,
/// and a preset's own values (not written) give no note.
#[test]
fn fields_of_the_other_request_model_are_named_in_a_note() {
    for (extra, note) in [
        (
            "whole_pieces_rule = \"adjacent-runs\"\n",
            Some("protocol.whole_pieces_rule is not used with protocol.requests = \"whole-chunk\""),
        ),
        (
            "requests = \"blocks\"\nrequests_in_flight = 2\n",
            Some("protocol.requests_in_flight is not used with protocol.requests = \"blocks\""),
        ),
        ("preset = \"libtorrent-2.0\"\n", None),
    ] {
        let d = scratch(&format!("{BASE}{extra}"));
        let o = run_in(d.path(), &["check", "scenario.toml"]);
        assert!(o.status.success(), "{extra}: {}", stderr(&o));
        match note {
            Some(n) => assert!(stderr(&o).contains(n), "{extra}: {}", stderr(&o)),
            None => assert!(!stderr(&o).contains("note:"), "{extra}: {}", stderr(&o)),
        }
    }
}
