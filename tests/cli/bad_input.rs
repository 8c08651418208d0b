//! Bad input: one clear message naming file, field and value; exit status 2; no
//! panic; no output files. Messages are snapshot-tested (insta).

use super::*;

const GOOD: &str = r#"name = "x"
[file]
size = "10 MB"
[server]
upload = "10 Mbit/s"
[[peers]]
count = 3
upload = "1 Mbit/s"
download = "10 Mbit/s"
"#;

/// Runs `swarmsim run` on `text` (with extra args) and returns stderr, after checking
/// exit status 2, no panic and no output folder.
fn refused(text: &str, extra: &[&str]) -> String {
    let d = scratch(text);
    let mut args = vec!["run", "scenario.toml", "--out", "out"];
    args.extend_from_slice(extra);
    let o = run_in(d.path(), &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "exit status for: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!d.path().join("out").exists(), "no output on bad input");
    assert!(!d.path().join("results").exists(), "no output on bad input");
    err
}

#[test]
fn good_file_runs() {
    let d = scratch(GOOD);
    let o = run_in(d.path(), &["run", "scenario.toml", "--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn missing_field() {
    let t = GOOD.replace("size = \"10 MB\"\n", "");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.size`: missing; expected a size such as \"100 MiB\"");
}

#[test]
fn unknown_field() {
    let t = GOOD.replace("count = 3", "count = 3\nuplaod = \"1 Mbit/s\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `peers.0.uplaod`: unknown field; accepted here: name, count, upload, download, arrival, seeding, latency");
}

#[test]
fn bad_unit() {
    let t = GOOD.replace("\"10 Mbit/s\"", "\"10 Mbit\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `server.upload` = \"10 Mbit\": unknown rate unit `Mbit` (a rate ends in `/s`); expected a string with a unit such as \"10 Mbit/s\" (units: bit/s, kbit/s, Mbit/s, Gbit/s, B/s, kB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s)");
}

#[test]
fn missing_unit() {
    let t = GOOD.replace("\"10 MB\"", "\"10\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.size` = \"10\": it has no unit; expected a string with a unit such as \"100 MiB\" (units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB, bit, kbit, Mbit, Gbit)");
}

#[test]
fn bare_number() {
    let t = GOOD.replace("\"10 MB\"", "10");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.size` = 10: a bare number has no unit; expected a string with a unit such as \"100 MiB\" (units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB, bit, kbit, Mbit, Gbit)");
}

#[test]
fn negative_capacity() {
    let t = GOOD.replace("download = \"10 Mbit/s\"", "download = \"-5 Mbit/s\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `peers.0.download` = \"-5 Mbit/s\": must be more than zero");
}

#[test]
fn zero_capacity() {
    let t = GOOD.replace("upload = \"10 Mbit/s\"", "upload = \"0 Mbit/s\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `server.upload` = \"0 Mbit/s\": must be more than zero");
}

#[test]
fn chunk_larger_than_file() {
    let t = GOOD.replace("size = \"10 MB\"", "size = \"10 MB\"\nchunk = \"20 MB\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.chunk` = \"20 MB\": the chunk is larger than the file (10000000 B); expected at most the file size");
}

#[test]
fn zero_peers() {
    let t = GOOD.replace("count = 3", "count = 0");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `peers.0.count` = 0: out of range; expected a whole number from 1 to 10000000");
}

#[test]
fn non_numeric_set() {
    insta::assert_snapshot!(refused(GOOD, &["--set", "peers.0.count=abc"]), @"error: scenario.toml (with --set peers.0.count=abc): field `peers.0.count` = \"abc\": expected a whole number from 1 to 10000000");
}

#[test]
fn not_toml() {
    let err = refused("name = \n", &[]);
    assert!(
        err.starts_with("error: scenario.toml: not valid TOML"),
        "{err}"
    );
}

#[test]
fn missing_file() {
    let d = tempfile::tempdir().unwrap();
    let o = run_in(d.path(), &["run", "nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: nope.toml: cannot read the scenario file"));
}

#[test]
fn run_refuses_a_scenario_larger_than_memory() {
    // 10,000,000 BitTorrent peers and 1 TiB in 256 KiB chunks (2^22 chunks): the
    // estimate (src/memory.rs) is over 2 * 2^22 bytes of availability counts per peer,
    // i.e. over 8 * 10^13 bytes, more than any machine running these tests has.
    let text = GOOD
        .replace("size = \"10 MB\"", "size = \"1 TiB\"\nchunk = \"256 KiB\"")
        .replace("count = 3", "count = 10000000")
        + "[protocol]\nkind = \"bittorrent\"\n";
    let err = refused(&text, &[]);
    assert!(err.contains("MemAvailable"), "{err}");
    assert!(err.contains("--ignore-memory-limit"), "{err}");
    assert!(err.contains("10000000 peers"), "{err}");
}

#[test]
fn ignore_memory_limit_flag_is_accepted() {
    // The flag only skips the check: a small scenario runs as usual.
    let d = scratch(GOOD);
    let o = run_in(
        d.path(),
        &[
            "run",
            "scenario.toml",
            "--out",
            "out",
            "--ignore-memory-limit",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.path().join("out/summary.csv").exists());
}
