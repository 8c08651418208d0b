//! The real-client comparison: the committed `comparison.csv` is what today's
//! simulator gives on the committed real measurements, and the tables in the docs
//! are copied from it.

use super::root;
use std::process::Command;

/// The table rows (`| s` and a digit: a setting) of the markdown text after
/// `start`: up to the next heading of the same or a higher level if `start` is a
/// heading, else of the first table after it.
fn rows_after(text: &str, start: &str) -> Vec<String> {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` is in the document"));
    let level = start.chars().take_while(|&c| c == '#').count();
    let mut rows = Vec::new();
    for line in text[at + start.len()..].lines() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes > 0 && hashes <= level {
            break;
        }
        if line.starts_with("| s") && line.as_bytes().get(3).is_some_and(u8::is_ascii_digit) {
            rows.push(line.to_string());
        } else if level == 0 && !rows.is_empty() {
            break;
        }
    }
    rows
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// REAL-CLIENT.md's two tables are `comparison.md`'s `closest` and `preset`
/// sections, and PRESETS.md's table of mean ratios is `comparison.csv`'s column
/// `ratio_mean_completion_s` for `preset`, `preset-ewma`, `preset-idle` and
/// `preset-runs`.
#[test]
fn the_docs_show_the_committed_comparison() {
    let doc = read("docs/REAL-CLIENT.md");
    let md = read("validation/real-client/comparison.md");
    for (heading, config) in [
        ("## Real against swarmsim today", "closest"),
        (
            "## Real against swarmsim with the `libtorrent-2.0` preset",
            "preset",
        ),
    ] {
        let shown = rows_after(&doc, heading);
        let committed = rows_after(&md, &format!("### swarmsim configuration `{config}`"));
        assert_eq!(shown.len(), 10, "{heading}: ten settings");
        assert_eq!(
            shown, committed,
            "REAL-CLIENT.md, {heading}: comparison.md's `{config}`"
        );
    }
    let csv_text = read("validation/real-client/comparison.csv");
    let mut lines = csv_text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (setting, config, ratio) = (
        col("setting"),
        col("config"),
        col("ratio_mean_completion_s"),
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let ratio_of = |s: &str, c: &str| {
        rows.iter()
            .find(|r| r[setting] == s && r[config] == c)
            .unwrap_or_else(|| panic!("{s} x {c} in comparison.csv"))[ratio]
            .to_string()
    };
    let presets = read("docs/PRESETS.md");
    let table = rows_after(&presets, "Mean completion, swarmsim over real");
    assert_eq!(table.len(), 10, "PRESETS.md: ten settings");
    for row in table {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let want: Vec<String> = [
            "preset",
            "preset-ewma",
            "preset-idle",
            "preset-runs",
            "preset-lt-requests",
        ]
        .iter()
        .map(|c| ratio_of(cells[1], c))
        .collect();
        assert_eq!(cells[2..7], want, "PRESETS.md, {}", cells[1]);
    }
}

/// `compare.py` run now with the binary under test, on the committed real
/// measurements, writes the committed `comparison.csv` and `comparison.md` byte for
/// byte: a change of the simulator's results on the grid must come with the
/// comparison run again.
/// Needs Python 3 (any 3.8+, standard library only); says so and passes without it.
#[test]
fn the_committed_comparison_is_what_the_simulator_gives() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not on PATH, so compare.py cannot run");
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let o = Command::new("python3")
        .arg(root().join("validation/real-client/compare.py"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_swarmsim"))
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "compare.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    for file in ["comparison.csv", "comparison.md"] {
        let now = std::fs::read_to_string(out.path().join(file)).expect("written");
        assert!(
            now == read(&format!("validation/real-client/{file}")),
            "{file} differs from what compare.py writes now: run \
             python3 validation/real-client/compare.py and update the docs' tables"
        );
    }
}
