//! Golden-file test: small scenarios whose `summary.csv` (without the `wall_*`
//! columns) and `peers.csv` must stay byte for byte what they were when the files
//! under `tests/golden/` were generated (from the code before any performance work;
//! see docs/PERFORMANCE.md). Speed and memory work must leave them identical; a change of
//! semantics that legitimately moves them regenerates them with
//! `SWARMSIM_BLESS=1 cargo test golden` and says why in the commit.

use super::{root, run_in, stderr, without_wall};

/// The scenarios under `tests/golden/`, one folder each.
const GOLDEN: [&str; 3] = ["client-server", "bt-maxmin", "bt-fast-churn"];

#[test]
fn golden_outputs_are_unchanged() {
    let bless = std::env::var_os("SWARMSIM_BLESS").is_some();
    let mut failures = Vec::new();
    for name in GOLDEN {
        let dir = root().join("tests/golden").join(name);
        let out = tempfile::tempdir().expect("tempdir");
        let o = run_in(
            &root(),
            &[
                "run",
                dir.join("scenario.toml").to_str().expect("utf-8 path"),
                "--out",
                out.path().to_str().expect("utf-8 path"),
            ],
        );
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let read = |f: &str| std::fs::read_to_string(out.path().join(f)).expect("output");
        let got = [
            ("summary.csv", without_wall(&read("summary.csv")) + "\n"),
            ("peers.csv", read("peers.csv")),
        ];
        for (file, text) in got {
            let want_path = dir.join(file);
            if bless {
                std::fs::write(&want_path, &text).expect("write golden file");
                continue;
            }
            let want = std::fs::read_to_string(&want_path).expect("golden file committed");
            if want != text {
                failures.push(format!(
                    "{name}/{file} differs from {}",
                    want_path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
