//! Tests that run the `swarmsim` binary, all in this one integration test crate (one
//! binary to build and link, rather than one per file).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_swarmsim"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("swarmsim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The small BitTorrent swarm of the limit and safety tests: a 1 MB file in 100 kB
/// chunks, a 1 MB/s server, five peers with 100 kB/s upload and unlimited download.
const BASE: &str = r#"name = "base"
[file]
size = "1 MB"
chunk = "100 kB"
[server]
upload = "1 MB/s"
[[peers]]
count = 5
upload = "100 kB/s"
download = "unlimited"
[protocol]
kind = "bittorrent"
"#;

/// A scratch folder holding `scenario.toml` with the given text.
fn scratch(text: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("scenario.toml"), text).expect("write scenario");
    d
}

/// Removes the `wall_*` columns (the only machine-dependent ones), header and
/// rows alike, from CSV text.
fn without_wall(csv_text: &str) -> String {
    let mut lines = csv_text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !header[i].starts_with("wall_"))
        .collect();
    let pick = |f: &[&str]| keep.iter().map(|&i| f[i]).collect::<Vec<_>>().join(",");
    std::iter::once(pick(&header))
        .chain(lines.map(|l| pick(&l.split(',').collect::<Vec<_>>())))
        .collect::<Vec<_>>()
        .join("\n")
}

mod analysis;
mod bad_input;
mod bounds;
mod docs;
mod figures;
mod golden;
mod layers;
mod limits;
mod optimal;
mod report;
mod robust;
mod run;
mod safety;
mod sweep;
mod validate;
