//! Tests that run the `swarmsim` binary, all in this one integration test crate (one
//! binary to build and link, rather than one per file).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

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

/// The file's text; fails naming the file.
fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Fails unless the command succeeded, showing its output.
fn ok(o: &Output) {
    assert!(o.status.success(), "{}{}", stdout(o), stderr(o));
}

/// Names of the files in `dir` (sorted), empty if it does not exist.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The files under `dir` (recursively) whose name ends in `.ext`, sorted.
fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read folder") {
            let p = e.expect("folder entry").path();
            if p.is_dir() {
                walk(&p, ext, out);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, ext, &mut out);
    out.sort();
    out
}

/// A client-server run far too long to finish during a test (2000 chunks to 3000
/// peers: 6 million transfers), for the tests that stop or race a running command.
/// The download capacity is finite (though it never binds) so that the server's
/// flows stay out of a processor-sharing group: every completion then re-rates all
/// of them (minutes of CPU; with unlimited downloads the run takes about 1 s).
const LONG: &str = r#"name = "long"
[file]
size = "2000 MB"
chunk = "1 MB"
[server]
upload = "1 GB/s"
[[peers]]
count = 3000
upload = "0 B/s"
download = "1 TB/s"
"#;

/// What a sweep stopped before its end (a signal, a run that panicked) leaves in its
/// folder: the manifest, the state and the journals of the finished runs; no
/// runs.csv or points.csv, no temporary file.
const STOPPED_SWEEP_FILES: [&str; 4] = [
    "journal.csv",
    "journal_by_class.csv",
    "manifest.toml",
    "sweep.toml",
];

/// Starts the binary in `dir` with `args`, its standard output and error piped.
fn spawn_in(dir: &Path, args: &[&str]) -> std::process::Child {
    bin()
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("swarmsim starts")
}

/// Waits until `cond` holds (polling), at most `secs` seconds.
fn wait_for(secs: u64, cond: impl Fn() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Sends `sig` to the child and waits for it; returns its exit status and the time
/// from the signal to its exit (None if it is still running after 10 s).
fn signal_and_wait(
    child: &mut std::process::Child,
    sig: libc::c_int,
) -> (Option<std::process::ExitStatus>, Duration) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "kill failed");
    let sent = Instant::now();
    while sent.elapsed() < Duration::from_secs(10) {
        if let Some(st) = child.try_wait().unwrap() {
            return (Some(st), sent.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    (None, sent.elapsed())
}

/// The output of a command that must end within `secs` seconds (killed, and the
/// test failed, otherwise); its standard input is empty.
fn output_within(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("swarmsim runs");
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("{cmd:?} still running after {secs} s: {}", stderr(&o));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
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
mod panics;
mod real_client;
mod report;
mod robust;
mod run;
mod safety;
mod sweep;
mod validate;
