//! Sweep figures, checked on their SVG: series names in numeric order, one entry
//! per distinct bound curve, tick labels inside the data range, quantity axes in
//! the scenario's units, the legend beside the plot.

use super::*;

/// Width of the plot part of a sweep figure (swarmsim::output::figure::PLOT_WIDTH):
/// the legend is drawn right of it.
const PLOT_WIDTH: f64 = 820.0;

/// A client-server swarm: every peer gets u_s/N, so the distribution time is
/// N F/u_s exactly (F = 10 MB, u_s = 1 MB/s: N x 10 s).
const CS: &str = r#"
name = "figure-test"
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
[protocol]
kind = "client-server"
[network]
model = "fast"
"#;

/// Every SVG text element: its `x` attribute and its content (trimmed), in
/// document order.
fn text_elements(svg: &str) -> Vec<(f64, String)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let open = t.find('>')?;
            let x = t[..open]
                .split("x=\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()?;
            let body = &t[open + 1..];
            Some((x, body[..body.find("</text>")?].trim().to_string()))
        })
        .collect()
}

/// The x position of the SVG text element whose content is exactly `label`.
fn text_x(svg: &str, label: &str) -> Option<f64> {
    text_elements(svg)
        .into_iter()
        .find(|(_, t)| t == label)
        .map(|(x, _)| x)
}

/// The contents of every SVG text element, in document order.
fn texts(svg: &str) -> Vec<String> {
    text_elements(svg).into_iter().map(|(_, t)| t).collect()
}

fn sweep(text: &str) -> tempfile::TempDir {
    let d = scratch(text);
    let o = run_in(
        d.path(),
        &["sweep", "scenario.toml", "--out", "o", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    d
}

fn plot(d: &tempfile::TempDir, args: &[&str]) -> String {
    let mut a = vec!["plot", "o", "--out", "f.svg"];
    a.extend(args);
    let o = run_in(d.path(), &a);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(d.path().join("f.svg")).unwrap()
}

#[test]
fn chunk_by_n_grid_sorts_series_and_draws_each_bound_once() {
    // 7 chunk sizes x 2 peer counts. The bounds do not depend on the chunk size, so
    // over N there is one D_cs and one D_p2p curve (shared by all 7 series).
    let t = format!(
        "{CS}\n[sweep]\n[[sweep.vary]]\nkey = \"file.chunk\"\nvalues = [\"1 MiB\", \"128 KiB\", \
         \"256 KiB\", \"32 KiB\", \"4 MiB\", \"64 KiB\", \"512 KiB\"]\n\
         [[sweep.vary]]\nkey = \"peers.0.count\"\nvalues = [200, 50]\n"
    );
    let d = sweep(&t);
    let svg = plot(&d, &[]);
    let all = texts(&svg);
    let series: Vec<&String> = all
        .iter()
        .filter(|t| t.starts_with("client-server, file.chunk="))
        .collect();
    // Numeric order, not text order ("1 MiB" after "512 KiB", "32 KiB" first).
    let want = [
        "32 KiB", "64 KiB", "128 KiB", "256 KiB", "512 KiB", "1 MiB", "4 MiB",
    ];
    assert_eq!(
        series,
        want.iter()
            .map(|c| format!("client-server, file.chunk={c}"))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    let bounds = all.iter().filter(|t| t.starts_with("D_")).count();
    assert_eq!(bounds, 2, "one D_cs and one D_p2p entry: {all:?}");
    assert!(svg.contains("figure-test: distribution time over peers.0.count"));
    // The legend is beside the plot.
    for s in &series {
        assert!(text_x(&svg, s).unwrap() > PLOT_WIDTH, "{s}");
    }
    // Over the chunk size: one series per N, 50 before 200, each with its own D_cs
    // (N F/u_s = 500 s and 2000 s) in its colour; D_p2p also differs by N.
    let svg = plot(&d, &["--x", "file.chunk"]);
    let all = texts(&svg);
    let series: Vec<&String> = all
        .iter()
        .filter(|t| t.starts_with("client-server, peers.0.count="))
        .collect();
    assert_eq!(
        series,
        [
            "client-server, peers.0.count=50",
            "client-server, peers.0.count=200"
        ]
    );
    assert!(all.contains(&"D_cs bound (client-server, peers.0.count=50)".to_string()));
    assert!(all.contains(&"D_cs bound (client-server, peers.0.count=200)".to_string()));
    // The x axis in the scenario's family (KiB: the smallest value, 32 KiB, reads as
    // 32), ticks at 1-2-5 times powers of ten inside 32 to 4096 KiB.
    assert!(all.contains(&"file.chunk (KiB)".to_string()), "{all:?}");
    for t in ["50", "100", "200", "500", "1000", "2000"] {
        assert!(all.contains(&t.to_string()), "tick {t}: {all:?}");
    }
}

#[test]
fn log_y_ticks_label_the_data() {
    // N = 18, 30, 48, 78: N F/u_s = 180, 300, 480, 780 s = 3, 5, 8, 13 min. The
    // axis spans 3/1.3 to 13 x 1.3 min; its ticks are 3, 4, ..., 9, 10 (powers of
    // ten alone give only 10, 1-2-5 only 5 and 10).
    let t = format!(
        "{CS}\n[sweep]\n[[sweep.vary]]\nkey = \"peers.0.count\"\nvalues = [18, 30, 48, 78]\n"
    );
    let d = sweep(&t);
    let svg = plot(&d, &["--log-y"]);
    let all = texts(&svg);
    assert!(all.contains(&"distribution time (minutes)".to_string()));
    for t in ["3", "4", "5", "6", "7", "8", "9", "10"] {
        assert!(all.contains(&t.to_string()), "tick {t}: {all:?}");
    }
    assert!(!all.contains(&"90".to_string()), "{all:?}");
}

#[test]
fn server_upload_sweep_in_mbit_per_s_with_the_legend_outside() {
    // u_s = 1, 2, 5, 10, 20 Mbit/s; N = 2: 2 F/u_s = 160, 80, 32, 16, 8 s.
    let t = CS.to_string()
        + "\n[sweep]\n[[sweep.vary]]\nkey = \"server.upload\"\nvalues = [\"1 Mbit/s\", \
           \"2 Mbit/s\", \"5 Mbit/s\", \"10 Mbit/s\", \"20 Mbit/s\"]\n";
    let d = sweep(&t);
    let svg = plot(&d, &["--x", "server.upload"]);
    let all = texts(&svg);
    assert!(
        all.contains(&"server.upload (Mbit/s)".to_string()),
        "{all:?}"
    );
    // Log x (20x span is below 100x: linear): ticks at a nice step of 5 Mbit/s.
    for t in ["5", "10", "15", "20"] {
        assert!(all.contains(&t.to_string()), "tick {t}: {all:?}");
    }
    let label = "client-server (simulated mean, 95% CI)";
    assert!(
        text_x(&svg, label).unwrap() > PLOT_WIDTH,
        "legend beside the plot"
    );
    // Any column of points.csv on y, named after its axes by default.
    let o = run_in(
        d.path(),
        &[
            "plot",
            "o",
            "--x",
            "server.upload",
            "--y",
            "mean_completion_s",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        d.path()
            .join("o/mean_completion_s_vs_server.upload.png")
            .exists()
    );
    // A per-class statistic.
    let o = run_in(
        d.path(),
        &[
            "plot",
            "o",
            "--x",
            "server.upload",
            "--y",
            "mean_download_s",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // An unknown column: exit status 2, naming it.
    let o = run_in(d.path(), &["plot", "o", "--y", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--y nonsense"), "{}", stderr(&o));
}

/// `--by` naming some of the varied keys: rows that differ in a key left out would
/// share a series and be drawn as one zig-zag line, so plot refuses (exit status 2)
/// and names the key, its values and the table. A 2 x 2 x 2 grid (chunk, server
/// upload, N): `--by file.chunk` leaves server.upload varying at every N; adding it
/// to `--by` draws its 4 series.
#[test]
fn plot_by_refuses_to_merge_rows_that_differ_in_a_key_left_out() {
    let t = format!(
        "{CS}\n[sweep]\n[[sweep.vary]]\nkey = \"file.chunk\"\nvalues = [\"1 MB\", \"2 MB\"]\n\
         [[sweep.vary]]\nkey = \"server.upload\"\nvalues = [\"8 Mbit/s\", \"16 Mbit/s\"]\n\
         [[sweep.vary]]\nkey = \"peers.0.count\"\nvalues = [2, 4]\n"
    );
    let d = sweep(&t);
    let o = run_in(
        d.path(),
        &["plot", "o", "--by", "file.chunk", "--out", "f.svg"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("points.csv"), "{e}");
    assert!(e.contains("server.upload (8 Mbit/s, 16 Mbit/s)"), "{e}");
    assert!(e.contains("--by server.upload"), "{e}");
    assert!(
        !e.contains("file.chunk ("),
        "file.chunk splits the series: {e}"
    );
    assert!(!d.path().join("f.svg").exists(), "no figure left behind");
    // With both keys: one series per (chunk, server upload) pair.
    let svg = plot(&d, &["--by", "file.chunk", "--by", "server.upload"]);
    let series = texts(&svg)
        .into_iter()
        .filter(|t| t.starts_with("client-server, file.chunk="))
        .count();
    assert_eq!(series, 4, "{:?}", texts(&svg));
}
