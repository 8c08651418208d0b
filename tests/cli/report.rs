//! `run --trace` and `swarmsim report`: the trace files, the page's structure, and
//! (when Chromium is installed) the page in a real browser.

use super::*;

/// Runs the flash crowd scenario, shrunk to 16 chunks so that the test is quick,
/// into `dir/out` (with `--trace` if `trace`); fails if the run does.
fn run_flash_crowd(dir: &Path, trace: bool) {
    let scenario = root().join("scenarios/bittorrent-flash-crowd.toml");
    let mut args = vec![
        "run",
        scenario.to_str().expect("utf-8"),
        "--set",
        "file.size=\"4 MiB\"",
        "--out",
        "out",
    ];
    if trace {
        args.push("--trace");
    }
    let o = run_in(dir, &args);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A folder holding the traced flash crowd run in `out`.
fn traced_flash_crowd() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    run_flash_crowd(d.path(), true);
    d
}

#[test]
fn run_trace_writes_one_row_per_chunk_and_the_chokes() {
    // 100 peers x 16 chunks (4 MiB / 256 KiB) = 1600 arrivals, all peers complete.
    let d = traced_flash_crowd();
    let out = d.path().join("out");
    let chunks = std::fs::read_to_string(out.join("chunks.csv")).expect("chunks.csv");
    let mut lines = chunks.lines();
    assert_eq!(
        lines.next(),
        Some("time_s,peer,chunk,sender,bytes,duration_s")
    );
    assert_eq!(lines.count(), 1600);
    let chokes = std::fs::read_to_string(out.join("chokes.csv")).expect("chokes.csv");
    assert!(chokes.starts_with("time_s,node,neighbour,action,kind\n"));
    assert!(chokes.lines().count() > 100, "{}", chokes.lines().count());
    // No temporary file stays.
    for e in std::fs::read_dir(&out).expect("dir") {
        let name = e.expect("entry").file_name();
        assert!(!name.to_string_lossy().ends_with(".tmp"), "{name:?}");
    }
    // A rerun without --trace removes the trace of the earlier run.
    run_flash_crowd(d.path(), false);
    assert!(!out.join("chunks.csv").exists());
    assert!(!out.join("chokes.csv").exists());
}

/// Checks that `html` fetches nothing: no external script, style, font or image.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "src=\"http",
        "src='http",
        "href=\"http",
        "href='http",
        "url(http",
        "url(\"http",
        "@import",
        "<link",
        "<iframe",
        "src=\"//",
        "href=\"//",
    ] {
        assert!(!lower.contains(bad), "the page refers to {bad}...");
    }
}

#[test]
fn report_of_a_traced_run_is_one_self_contained_page() {
    let d = traced_flash_crowd();
    let o = run_in(d.path(), &["report", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("report.html"));
    let html = std::fs::read_to_string(d.path().join("out/report.html")).expect("report");
    assert_self_contained(&html);
    for id in [
        "id=\"scenario\"",
        "id=\"summary\"",
        "id=\"figures\"",
        "id=\"classes\"",
        "id=\"playback\"",
        "id=\"pb-data\"",
        "id=\"pb-slider\"",
        "id=\"pb-play\"",
        "id=\"pb-grid\"",
        "id=\"pb-graph\"",
    ] {
        assert!(html.contains(id), "no {id}");
    }
    // The figures are inline SVG: the CDF, the swarm and the unchokes.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 3);
    // Which bound term binds: for the flash crowd N F/(u_s + sum u_i) (100 peers
    // of 1 Mbit/s and a 10 Mbit/s server: 4 MiB x 100 / 110 Mbit/s = 30.5 s against
    // F/u_s = 3.4 s) and N F/u_s for D_cs.
    assert!(html.contains("the binding term: N F/(u_s + sum u_i)"));
    assert!(html.contains("the binding term: N F/u_s"));
    // Small: 16 chunks of 100 peers.
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
}

#[test]
fn report_of_an_untraced_run_says_how_to_trace() {
    let d = tempfile::tempdir().expect("tempdir");
    let o = run_in(
        d.path(),
        &[
            "run",
            root()
                .join("scenarios/client-server.toml")
                .to_str()
                .expect("utf-8"),
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_in(d.path(), &["report", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(d.path().join("out/report.html")).expect("report");
    assert_self_contained(&html);
    assert!(html.contains("--trace"));
    assert!(!html.contains("<script"), "no playback, no script");
}

#[test]
fn report_of_a_sweep_has_its_figure_and_points() {
    let d = scratch(
        r#"
name = "sw"
seed = 1
[file]
size = "4 MiB"
chunk = "1 MiB"
[server]
upload = "10 Mbit/s"
[[peers]]
count = 4
upload = "1 Mbit/s"
download = "unlimited"
[protocol]
kind = "client-server"
[[sweep.vary]]
key = "peers.0.count"
values = [2, 4, 8]
"#,
    );
    let o = run_in(
        d.path(),
        &["sweep", "scenario.toml", "--out", "sw", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_in(d.path(), &["report", "sw"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(d.path().join("sw/report.html")).expect("report");
    assert_self_contained(&html);
    assert!(html.contains("id=\"points\""));
    assert!(html.contains("<svg"), "the sweep figure");
    // One table row per point (3) besides the header.
    let points = html.split("id=\"points\"").nth(1).expect("points");
    assert_eq!(points.matches("<tr>").count(), 4);
    // The figure's temporary file is gone.
    assert!(!d.path().join("sw/.report-figure.svg").exists());
}

#[test]
fn report_of_a_folder_without_results_is_bad_input() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join("empty")).expect("mkdir");
    let o = run_in(d.path(), &["report", "empty"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("empty: neither summary.csv nor points.csv"));
    assert!(!d.path().join("empty/report.html").exists());
}

#[test]
fn report_of_10k_peers_stays_under_10_mb() {
    // 10,000 client-server peers, 20 chunks: 200,000 arrivals, a 500 x 20 grid.
    let d = scratch(
        r#"
name = "big"
seed = 1
[file]
size = "20 MB"
chunk = "1 MB"
[server]
upload = "1 GB/s"
[[peers]]
count = 10000
upload = "1 Mbit/s"
download = "10 MB/s"
[protocol]
kind = "client-server"
[network]
model = "fast"
"#,
    );
    let o = run_in(
        d.path(),
        &["run", "scenario.toml", "--trace", "--out", "big"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_in(d.path(), &["report", "big"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Down-sampling is said on stderr and on the page.
    assert!(stderr(&o).contains("500 x 20 blocks"), "{}", stderr(&o));
    let html = std::fs::read_to_string(d.path().join("big/report.html")).expect("report");
    assert!(html.contains("500 x 20 blocks"));
    assert!(html.len() < 10_000_000, "{} bytes", html.len());
}

/// The Chromium binary, if one is installed.
fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(String::from)
}

#[test]
fn report_plays_back_in_a_real_browser() {
    let Some(browser) = chromium() else {
        println!("SKIPPED report_plays_back_in_a_real_browser: no chromium installed");
        eprintln!("SKIPPED report_plays_back_in_a_real_browser: no chromium installed");
        return;
    };
    let d = traced_flash_crowd();
    let o = run_in(d.path(), &["report", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Early and late in the run: the grid fills, the links change.
    let o = Command::new(root().join("scripts/report-screenshot.sh"))
        .env("CHROMIUM", &browser)
        .args([
            d.path().join("out/report.html").to_str().expect("utf-8"),
            d.path().join("shots").to_str().expect("utf-8"),
            "frame=40",
            "frame=160",
        ])
        .output()
        .expect("the script runs");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let a = std::fs::read(d.path().join("shots/playback-1.png")).expect("png 1");
    let b = std::fs::read(d.path().join("shots/playback-2.png")).expect("png 2");
    assert!(a.starts_with(b"\x89PNG") && b.starts_with(b"\x89PNG"));
    assert_ne!(a, b, "the two slider positions look the same");
}
