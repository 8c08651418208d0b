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
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `server.upload` = \"10 Mbit\": unknown rate unit `Mbit` (a rate ends in `/s`); expected a string with a unit such as \"10 Mbit/s\" (units: a size unit and /s: bit/s, kbit/s, Mbit/s, Gbit/s, Tbit/s, B/s, kB/s (= KB/s), MB/s, GB/s, TB/s, PB/s, EB/s, KiB/s, MiB/s, GiB/s, TiB/s, PiB/s, EiB/s)");
}

#[test]
fn missing_unit() {
    let t = GOOD.replace("\"10 MB\"", "\"10\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.size` = \"10\": it has no unit; expected a string with a unit such as \"100 MiB\" (units: B, kB (= KB), MB, GB, TB, PB, EB, KiB, MiB, GiB, TiB, PiB, EiB, bit, kbit, Mbit, Gbit, Tbit)");
}

#[test]
fn bare_number() {
    let t = GOOD.replace("\"10 MB\"", "10");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.size` = 10: a bare number has no unit; expected a string with a unit such as \"100 MiB\" (units: B, kB (= KB), MB, GB, TB, PB, EB, KiB, MiB, GiB, TiB, PiB, EiB, bit, kbit, Mbit, Gbit, Tbit)");
}

#[test]
fn negative_capacity() {
    let t = GOOD.replace("download = \"10 Mbit/s\"", "download = \"-5 Mbit/s\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `peers.0.download` = \"-5 Mbit/s\": the number is negative; expected a string with a unit such as \"10 Mbit/s\" (units: a size unit and /s: bit/s, kbit/s, Mbit/s, Gbit/s, Tbit/s, B/s, kB/s (= KB/s), MB/s, GB/s, TB/s, PB/s, EB/s, KiB/s, MiB/s, GiB/s, TiB/s, PiB/s, EiB/s)");
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

// ---- Hostile files and extreme values through the binary: exit status 2,
// one clear line, no panic, no output.

/// Runs `swarmsim check <path>` in `dir` and returns stderr, after checking exit
/// status 2 and no panic.
fn check_refused(dir: &std::path::Path, path: &str, extra: &[&str]) -> String {
    let mut args = vec!["check", path];
    args.extend_from_slice(extra);
    let o = run_in(dir, &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "exit status for: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn directory_as_scenario() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("scen")).unwrap();
    insta::assert_snapshot!(check_refused(d.path(), "scen", &[]), @"error: scen: this is a folder; expected a scenario file (TOML)");
}

#[test]
fn non_utf8_file() {
    // 0xFF can never appear in UTF-8; it is the 8th byte (offset 7).
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), b"name = \xff\"x\"\n").unwrap();
    insta::assert_snapshot!(check_refused(d.path(), "s.toml", &[]), @"error: s.toml: not UTF-8 text (invalid byte at offset 7); save the scenario as UTF-8");
}

#[test]
fn empty_file() {
    let d = scratch("");
    insta::assert_snapshot!(check_refused(d.path(), "scenario.toml", &[]), @"error: scenario.toml: the scenario is empty; expected at least `name`, [file], [server] and [[peers]] (see scenarios/ for examples)");
}

#[test]
fn endless_file_is_refused_not_read_forever() {
    // /dev/zero never ends: a device is refused before it is read.
    if !std::path::Path::new("/dev/zero").exists() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(check_refused(d.path(), "/dev/zero", &[]), @"error: /dev/zero: cannot read the scenario file: it is a device, not a regular file");
}

#[test]
fn file_with_byte_order_mark_runs() {
    // Accepted: a UTF-8 BOM (written by some Windows editors) is dropped.
    let d = scratch(&format!("\u{feff}{GOOD}"));
    let o = run_in(d.path(), &["check", "scenario.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn sixteen_eib_file() {
    // 16 EiB = 2^64 B: larger than the 4 EiB (2^62 B) limit.
    let t = GOOD.replace("\"10 MB\"", "\"16 EiB\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.size` = \"16 EiB\": expected a size from 1 B to 4 EiB");
}

#[test]
fn nan_size() {
    let t = GOOD.replace("\"10 MB\"", "\"nan MB\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.size` = \"nan MB\": the number is not finite (nan and inf are not accepted); expected a string with a unit such as \"100 MiB\" (units: B, kB (= KB), MB, GB, TB, PB, EB, KiB, MiB, GiB, TiB, PiB, EiB, bit, kbit, Mbit, Gbit, Tbit)");
}

#[test]
fn too_many_chunks() {
    // 10 MB in 1 B chunks = 10^7 chunks is the limit; 10000001 B is one chunk over.
    let t = GOOD.replace("size = \"10 MB\"", "size = \"10000001 B\"\nchunk = \"1 B\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `file.chunk` = \"1 B\": the file would have 10000001 chunks; at most 10000000 are supported, use larger chunks");
}

#[test]
fn run_beyond_virtual_time() {
    // F / d_min = 10 MB / 1 bit/s = 8e7 s fits, but 1 TB / 1 bit/s = 8e12 s does
    // not (virtual time ends at 2^64 ns = 1.8447e10 s).
    let t = GOOD
        .replace("\"10 MB\"", "\"1 TB\"\nchunk = \"1 GB\"")
        .replace("download = \"10 Mbit/s\"", "download = \"1 bit/s\"");
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `peers.0.download` = \"1 bit/s\": no run can finish: the lower bound D_cs = 8.0000e12 s is beyond the end of virtual time (1.8447e10 s, about 584 years); expected a smaller file or faster capacities");
}

#[test]
fn control_characters_are_escaped_in_messages() {
    // An escape sequence in a file must not reach the terminal raw.
    let t = GOOD.replace("\"10 MB\"", "\"10 \\u001b[2J\"");
    let err = refused(&t, &[]);
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("\\u{1b}[2J"), "{err}");
}

#[test]
fn deep_set_key() {
    let key = format!("{}=1", vec!["a"; 1000].join("."));
    let err = refused(GOOD, &["--set", &key]);
    assert!(
        err.contains("1000 dot-separated parts; at most 16"),
        "{err}"
    );
}

#[test]
fn one_bit_and_100_gbit_in_one_swarm_runs() {
    // Accepted and simulated: 1 kB to a 1 bit/s peer takes 1000 * 8 = 8000 s;
    // the 100 Gbit/s peer is done far earlier. D_cs = F/d_min = 8000 s.
    let t = r#"name = "extremes"
[file]
size = "1 kB"
[server]
upload = "100 Gbit/s"
[[peers]]
count = 1
upload = "1 bit/s"
download = "1 bit/s"
[[peers]]
count = 1
upload = "100 Gbit/s"
download = "100 Gbit/s"
"#;
    let d = scratch(t);
    let o = run_in(d.path(), &["run", "scenario.toml", "--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = std::fs::read_to_string(d.path().join("out/summary.csv")).unwrap();
    assert!(summary.contains("completed"), "{summary}");
}

#[test]
fn free_riders_only_run() {
    // Every peer uploads 0 bit/s (free riders): client-server still completes.
    let t = GOOD.replace("upload = \"1 Mbit/s\"", "upload = \"0 bit/s\"");
    let d = scratch(&t);
    let o = run_in(d.path(), &["run", "scenario.toml", "--out", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
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
fn duplicate_class_names() {
    // peers.csv and the completion CDF tell classes apart by name (an audit found two
    // classes named alike accepted).
    let t = GOOD.replace("[[peers]]\n", "[[peers]]\nname = \"fast\"\n")
        + "[[peers]]\nname = \"fast\"\ncount = 1\nupload = \"1 Mbit/s\"\ndownload = \"unlimited\"\n";
    insta::assert_snapshot!(refused(&t, &[]), @"error: scenario.toml: field `peers.1.name` = \"fast\": the name of peers.0 too; expected a name of its own");
}

#[test]
fn sweep_refuses_a_grid_whose_largest_run_exceeds_memory() {
    // As `run_refuses_a_scenario_larger_than_memory`, as a sweep point beside a
    // small one (an audit found `sweep` had no check and aborted in the allocator).
    let text = GOOD.replace("size = \"10 MB\"", "size = \"1 TiB\"\nchunk = \"256 KiB\"")
        + "[protocol]\nkind = \"bittorrent\"\n[[sweep.vary]]\nkey = \"peers.0.count\"\n\
           values = [3, 10000000]\n";
    let d = scratch(&text);
    let o = run_in(
        d.path(),
        &["sweep", "scenario.toml", "--out", "out", "--jobs", "2"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("largest run (10000000 peers"), "{err}");
    assert!(err.contains("2 workers at once"), "{err}");
    assert!(err.contains("--ignore-memory-limit"), "{err}");
    assert!(!d.path().join("out").exists(), "no output when refused");
}

#[test]
fn sweep_and_run_refuse_out_of_range_jobs_and_seed() {
    // --jobs is 1 to 1024 (an audit's --jobs 100000 started 13,800 threads) and
    // --seed 0 to 2^63 - 1 like the file's seed (2^63 was written to a manifest
    // that could not be read back).
    let d = scratch(GOOD);
    for args in [
        &["sweep", "scenario.toml", "--out", "out", "--jobs", "100000"][..],
        &["sweep", "scenario.toml", "--out", "out", "--jobs", "0"],
        &[
            "run",
            "scenario.toml",
            "--out",
            "out",
            "--seed",
            "9223372036854775808",
        ],
    ] {
        let o = run_in(d.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("is not in"), "{args:?}: {}", stderr(&o));
        assert!(!d.path().join("out").exists(), "{args:?}");
    }
    let o = run_in(
        d.path(),
        &[
            "run",
            "scenario.toml",
            "--out",
            "out",
            "--seed",
            "9223372036854775807",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
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
