use super::*;
use std::path::Path;

const KR: &str = r#"
name = "kr"
seed = 7
[file]
size = "450 MB"
[server]
upload = "1.25 MB/s"
[[peers]]
count = 30
upload = "125 kB/s"
download = "10 MB/s"
"#;

#[test]
fn defaults_and_units() {
    let s = Scenario::from_toml(KR, "kr.toml", &[]).unwrap();
    assert_eq!(s.file_bytes, 450_000_000);
    assert_eq!(s.chunk_bytes, 262_144, "default chunk is 256 KiB");
    // ceil(450e6 / 262144) = 1717 chunks, the last one 450e6 - 1716 * 262144 = 450e6 - 449_839_104 = 160_896 B.
    assert_eq!(s.chunks(), 1717);
    assert_eq!(s.chunk_size(1716), 160_896);
    assert_eq!(s.protocol, ProtocolKind::ClientServer);
    assert_eq!(s.network, ModelKind::MaxMin);
    assert_eq!(s.classes[0].name, "class0");
}

#[test]
fn overrides_go_through_validation() {
    let set = |kv: &[&str]| {
        let v: Vec<String> = kv.iter().map(|s| s.to_string()).collect();
        Scenario::from_toml(KR, "kr.toml", &v)
    };
    let s = set(&[
        "peers.0.count=50",
        "server.upload=20 Mbit/s",
        "network.model=fast",
    ])
    .unwrap();
    assert_eq!(s.peers(), 50);
    assert_eq!(s.server_upload, 2.5e6);
    assert_eq!(s.network, ModelKind::Fast);
    let e = set(&["peers.0.count=abc"]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("peers.0.count"));
    assert_eq!(e.value.as_deref(), Some("\"abc\""));
    let e = set(&["peers.3.count=1"]).unwrap_err();
    assert!(e.message.contains("out of range"), "{e}");
    let e = set(&["nonsense"]).unwrap_err();
    assert!(e.message.contains("KEY=VALUE"), "{e}");
}

#[test]
fn optimal_kind_and_its_size_limit() {
    let set = |kv: &[&str]| {
        let v: Vec<String> = kv.iter().map(|s| s.to_string()).collect();
        Scenario::from_toml(KR, "kr.toml", &v)
    };
    let s = set(&["protocol.kind=optimal"]).unwrap();
    assert_eq!(s.protocol, ProtocolKind::Optimal);
    assert_eq!(s.protocol.name(), "optimal");
    assert!(s.protocol.is_p2p());
    // 10^7 peers x 1717 chunks = 1.7e10 > 2^32 = 4.29e9: rejected, naming the field.
    let e = set(&["protocol.kind=optimal", "peers.0.count=10000000"]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("protocol.kind"));
    assert!(e.message.contains("N x M"), "{e}");
    // The same swarm is fine for client-server, which keeps no such state.
    assert!(set(&["peers.0.count=10000000"]).is_ok());
}

// ---- Extreme values and hostile input. Each test states the behaviour
// decided for it; docs/SCENARIOS.md "Limits" and docs/TESTING.md list them.

/// A scenario with the given file size, optional chunk, server upload and classes of
/// (count, upload, download).
fn scenario_text(
    size: &str,
    chunk: Option<&str>,
    server: &str,
    classes: &[(u64, &str, &str)],
) -> String {
    let mut t = format!("name = \"x\"\n[file]\nsize = \"{size}\"\n");
    if let Some(c) = chunk {
        t.push_str(&format!("chunk = \"{c}\"\n"));
    }
    t.push_str(&format!("[server]\nupload = \"{server}\"\n"));
    for (n, up, down) in classes {
        t.push_str(&format!(
            "[[peers]]\ncount = {n}\nupload = \"{up}\"\ndownload = \"{down}\"\n"
        ));
    }
    t
}

fn check(size: &str, chunk: Option<&str>) -> Result<Scenario, ScenarioError> {
    let t = scenario_text(size, chunk, "100 Gbit/s", &[(1, "1 Mbit/s", "100 Gbit/s")]);
    Scenario::from_toml(&t, "x.toml", &[])
}

#[test]
fn one_byte_file_is_one_chunk_of_one_byte() {
    // Accepted: with no chunk given, the chunk is min(256 KiB, F) = 1 B.
    let s = check("1 B", None).unwrap();
    assert_eq!(
        (s.file_bytes, s.chunk_bytes, s.chunks(), s.chunk_size(0)),
        (1, 1, 1, 1)
    );
    let s = check("1 B", Some("1 B")).unwrap();
    assert_eq!(s.chunks(), 1);
}

#[test]
fn explicit_chunk_larger_than_file_is_refused() {
    // Refused (not silently shrunk): the user asked for that chunk size.
    let e = check("1 B", Some("2 B")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("file.chunk"));
    assert_eq!(e.value.as_deref(), Some("\"2 B\""));
    assert!(e.message.contains("larger than the file (1 B)"), "{e}");
}

#[test]
fn file_not_divisible_by_chunk() {
    // ceil(10 / 3) = 4 chunks: 3 + 3 + 3 + 1 bytes.
    let s = check("10 B", Some("3 B")).unwrap();
    assert_eq!(s.chunks(), 4);
    assert_eq!(
        (0..4).map(|i| s.chunk_size(i)).collect::<Vec<_>>(),
        [3, 3, 3, 1]
    );
}

#[test]
fn one_million_chunks_are_accepted() {
    // 1,000,000 B in 1 B chunks = 10^6 chunks, below MAX_CHUNKS = 10^7.
    let s = check("1000000 B", Some("1 B")).unwrap();
    assert_eq!(s.chunks(), 1_000_000);
    // Exactly at the limit: 10^7 chunks are accepted.
    assert_eq!(check("10 MB", Some("1 B")).unwrap().chunks(), MAX_CHUNKS);
}

#[test]
fn more_chunks_than_the_limit_are_refused_with_the_limit_named() {
    // 10,000,001 B in 1 B chunks = 10^7 + 1 chunks.
    let e = check("10000001 B", Some("1 B")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("file.chunk"));
    assert!(e.message.contains("10000001 chunks"), "{e}");
    assert!(e.message.contains("at most 10000000"), "{e}");
    // With the default chunk: 4 EiB / 256 KiB = 2^62 / 2^18 = 2^44 chunks.
    let e = check("4 EiB", None).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("file.chunk"));
    assert!(e.message.contains(&format!("{} chunks", 1u64 << 44)), "{e}");
}

#[test]
fn largest_file_is_four_eib() {
    // 4 EiB = 2^62 B, cut into 1 TiB = 2^40 B chunks: 2^22 = 4194304 chunks.
    // F / u_s = 2^62 / 1.25e10 = 3.7e8 s, inside virtual time (1.8e10 s).
    let s = check("4 EiB", Some("1 TiB")).unwrap();
    assert_eq!(s.file_bytes, 1 << 62);
    assert_eq!(s.chunks(), 1 << 22);
}

#[test]
fn sixteen_eib_is_refused() {
    // 16 EiB = 2^64 B does not fit in u64; the largest size is 4 EiB = 2^62 B.
    for size in ["16 EiB", "1e30 B", "18446744073709551615 B", "5 EiB"] {
        let e = check(size, Some("1 TiB")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("file.size"), "{size}");
        assert!(e.message.contains("from 1 B to 4 EiB"), "{size}: {e}");
    }
}

#[test]
fn sizes_that_are_not_whole_bytes_are_refused() {
    // 1 bit = 1/8 B; 1.5 B; 1e-5 B.
    for size in ["1 bit", "1.5 B", "1e-5 B"] {
        let e = check(size, Some("1 B")).unwrap_err();
        assert!(
            e.message.contains("not a whole number of bytes"),
            "{size}: {e}"
        );
    }
    // Zero is not a size: 0 B and -0 B.
    for size in ["0 B", "-0 B"] {
        let e = check(size, Some("1 B")).unwrap_err();
        assert!(e.message.contains("from 1 B"), "{size}: {e}");
    }
}

#[test]
fn decimal_size_that_is_whole_is_not_refused() {
    // Found by the property test formatted_binary_sizes_read_back_exactly:
    // 16.277 * 1000 = 16277.000000000002 in f64, and "16.277 kB" was refused as
    // "not a whole number of bytes". 16.277 kB is 16277 B.
    assert_eq!(check("16.277 kB", Some("1 B")).unwrap().file_bytes, 16277);
    assert_eq!(check("0.3 kB", Some("1 B")).unwrap().file_bytes, 300);
}

#[test]
fn one_bit_per_second_and_100_gbit_per_second_in_one_swarm() {
    // Accepted: 1 bit/s = 0.125 B/s, 100 Gbit/s = 1.25e10 B/s.
    // D_cs = max(2 * 1000 / 1.25e10, 1000 / 0.125) = 8000 s: fits in virtual time.
    let t = scenario_text(
        "1 kB",
        None,
        "100 Gbit/s",
        &[(1, "1 bit/s", "1 bit/s"), (1, "100 Gbit/s", "100 Gbit/s")],
    );
    let s = Scenario::from_toml(&t, "x.toml", &[]).unwrap();
    assert_eq!(s.classes[0].upload, 0.125);
    assert_eq!(s.classes[0].download, 0.125);
    assert_eq!(s.classes[1].upload, 1.25e10);
}

#[test]
fn free_riders_are_accepted() {
    // A peer that uploads nothing (0 bit/s, or -0) is a free rider, allowed; all
    // peers may be free riders. -0 is stored as +0.
    let t = scenario_text(
        "1 MB",
        None,
        "10 Mbit/s",
        &[(3, "0 bit/s", "10 Mbit/s"), (2, "-0 Mbit/s", "unlimited")],
    );
    let s = Scenario::from_toml(&t, "x.toml", &[]).unwrap();
    assert_eq!(s.sum_peer_upload(), 0.0);
    assert!(s.classes[1].upload.is_sign_positive());
    assert_eq!(s.classes[1].download, f64::INFINITY);
}

#[test]
fn zero_server_upload_is_refused() {
    // With u_s = 0 nobody can ever get the file.
    for up in ["0 bit/s", "-0 bit/s"] {
        let t = scenario_text("1 MB", None, up, &[(1, "1 Mbit/s", "1 Mbit/s")]);
        let e = Scenario::from_toml(&t, "x.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("server.upload"));
        assert!(e.message.contains("more than zero"), "{e}");
    }
}

#[test]
fn nan_and_inf_capacities_are_refused_naming_the_field() {
    for (size, server, up, down, field) in [
        ("nan MB", "1 Mbit/s", "1 Mbit/s", "1 Mbit/s", "file.size"),
        (
            "1 MB",
            "inf Mbit/s",
            "1 Mbit/s",
            "1 Mbit/s",
            "server.upload",
        ),
        (
            "1 MB",
            "1 Mbit/s",
            "NaN bit/s",
            "1 Mbit/s",
            "peers.0.upload",
        ),
        (
            "1 MB",
            "1 Mbit/s",
            "1 Mbit/s",
            "-inf Mbit/s",
            "peers.0.download",
        ),
        // Regression: a download this large overflowed to +inf = "unlimited".
        (
            "1 MB",
            "1 Mbit/s",
            "1 Mbit/s",
            "1e308 Gbit/s",
            "peers.0.download",
        ),
        ("1 MB", "unlimited", "1 Mbit/s", "1 Mbit/s", "server.upload"),
        (
            "1 MB",
            "1 Mbit/s",
            "unlimited",
            "1 Mbit/s",
            "peers.0.upload",
        ),
    ] {
        let t = scenario_text(size, None, server, &[(1, up, down)]);
        let e = Scenario::from_toml(&t, "x.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.value.is_some(), "{e}");
    }
}

#[test]
fn toml_nan_and_inf_floats_are_bare_numbers() {
    // TOML itself has nan and inf floats; a quantity must be a string with a unit.
    let t = KR.replace("size = \"450 MB\"", "size = nan");
    let e = Scenario::from_toml(&t, "kr.toml", &[]).unwrap_err();
    assert_eq!(
        (e.field.as_deref(), e.value.as_deref()),
        (Some("file.size"), Some("nan"))
    );
    assert!(e.message.contains("bare number"), "{e}");
    // A huge float is shown short (TOML would print 1e300 as 301 digits).
    let t = KR.replace("size = \"450 MB\"", "size = 1e300");
    let e = Scenario::from_toml(&t, "kr.toml", &[]).unwrap_err();
    assert_eq!(e.value.as_deref(), Some("1e300"));
    let t = KR.replace("seed = 7", "seed = -inf");
    let e = Scenario::from_toml(&t, "kr.toml", &[]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("seed"));
}

#[test]
fn run_that_cannot_fit_in_virtual_time_is_refused() {
    // F / d_min = 1e9 B / 0.125 B/s = 8e9 s fits (virtual time ends at 1.8e10 s),
    // but 1e10 B / 0.125 B/s = 8e10 s does not; the slow download is named.
    let ok = scenario_text(
        "1 GB",
        Some("1 MB"),
        "100 Gbit/s",
        &[(1, "1 Mbit/s", "1 bit/s")],
    );
    assert!(Scenario::from_toml(&ok, "x.toml", &[]).is_ok());
    let t = scenario_text(
        "10 GB",
        Some("1 MB"),
        "100 Gbit/s",
        &[(1, "1 Mbit/s", "1 Mbit/s"), (2, "1 Mbit/s", "1 bit/s")],
    );
    let e = Scenario::from_toml(&t, "x.toml", &[]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("peers.1.download"));
    assert_eq!(e.value.as_deref(), Some("\"1 bit/s\""));
    assert!(e.message.contains("D_cs = 8.0000e10 s"), "{e}");
    assert!(e.message.contains("584 years"), "{e}");
    // N F / u_s: 10^7 peers * 1 GB / 1 kbit/s = 1e16 / 125 = 8e13 s; the server is named.
    let t = scenario_text(
        "1 GB",
        Some("1 MB"),
        "1 kbit/s",
        &[(10_000_000, "1 Mbit/s", "unlimited")],
    );
    let e = Scenario::from_toml(&t, "x.toml", &[]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("server.upload"));
}

#[test]
fn whitespace_and_unicode_in_values() {
    // Unicode white space between number and unit is accepted.
    let s = check("10\u{a0}MB", Some(" 1\tMB ")).unwrap();
    assert_eq!((s.file_bytes, s.chunk_bytes), (10_000_000, 1_000_000));
    // An invisible zero-width space makes the unit unknown; the value in the error
    // shows it escaped, so the user can see why "MB" was not understood.
    let e = check("10\u{200b}MB", None).unwrap_err();
    assert_eq!(e.value.as_deref(), Some("\"10\\u{200b}MB\""));
    // Control characters in a value never reach the terminal raw.
    let t = KR.replace("name = \"kr\"", "name = \"a\\u001b[2Jb\"");
    let e = Scenario::from_toml(&t, "kr.toml", &[]).unwrap_err();
    assert_eq!(e.value.as_deref(), Some("\"a\\u{1b}[2Jb\""));
    assert!(!e.to_string().contains('\u{1b}'));
}

#[test]
fn scenario_names_are_folder_names() {
    for bad in [
        "",
        ".hidden",
        "a/b",
        "..",
        "été",
        "a b",
        &"x".repeat(MAX_NAME_CHARS + 1),
    ] {
        let t = KR.replace("name = \"kr\"", &format!("name = \"{bad}\""));
        let e = Scenario::from_toml(&t, "kr.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"), "{bad:?}");
    }
    let t = KR.replace(
        "name = \"kr\"",
        &format!("name = \"{}\"", "x".repeat(MAX_NAME_CHARS)),
    );
    assert!(Scenario::from_toml(&t, "kr.toml", &[]).is_ok());
}

#[test]
fn bom_empty_and_comment_only_files() {
    // A UTF-8 byte-order mark (as some Windows editors write) is accepted.
    let s = Scenario::from_toml(&format!("\u{feff}{KR}"), "kr.toml", &[]).unwrap();
    assert_eq!(s.name, "kr");
    // An empty file, or one with only comments, says so.
    for text in ["", "\n\n", "# nothing here\n"] {
        let e = Scenario::from_toml(text, "e.toml", &[]).unwrap_err();
        assert_eq!(e.field, None);
        assert!(e.message.contains("the scenario is empty"), "{e}");
    }
}

#[test]
fn load_refuses_folders_non_utf8_and_endless_files() {
    let d = tempfile::tempdir().unwrap();
    let e = Scenario::load(d.path(), &[], None).unwrap_err();
    assert!(e.message.contains("this is a folder"), "{e}");
    let p = d.path().join("latin1.toml");
    // "name = \"caf\xe9\"": 0xE9 is é in Latin-1 and invalid alone in UTF-8, at byte 11.
    std::fs::write(&p, b"name = \"caf\xe9\"\n").unwrap();
    let e = Scenario::load(&p, &[], None).unwrap_err();
    assert!(
        e.message
            .contains("not UTF-8 text (invalid byte at offset 11)"),
        "{e}"
    );
    let p = d.path().join("bom.toml");
    std::fs::write(&p, format!("\u{feff}{KR}")).unwrap();
    assert_eq!(Scenario::load(&p, &[], Some(9)).unwrap().seed, 9);
    // A file one byte over MAX_FILE_BYTES (sparse): reading stops there.
    let p = d.path().join("big.toml");
    std::fs::File::create(&p)
        .unwrap()
        .set_len(MAX_FILE_BYTES + 1)
        .unwrap();
    let e = Scenario::load(&p, &[], None).unwrap_err();
    assert!(e.message.contains("larger than 16 MiB"), "{e}");
    // /dev/zero never ends: a device is refused before it is read.
    if Path::new("/dev/zero").exists() {
        let e = Scenario::load(Path::new("/dev/zero"), &[], None).unwrap_err();
        assert!(e.message.contains("it is a device"), "{e}");
    }
}

#[test]
fn deep_set_key_is_refused_not_a_stack_overflow() {
    // A --set key of 100,000 parts would recurse 100,000 levels deep in set_path and
    // build a value as deep (dropping it recurses too); keys are at most 16 parts.
    let key = vec!["a"; 100_000].join(".");
    let e = Scenario::from_toml(KR, "kr.toml", &[format!("{key}=1")]).unwrap_err();
    assert!(
        e.message.contains("100000 dot-separated parts; at most 16"),
        "{e}"
    );
}

#[test]
fn set_value_with_more_than_one_toml_value_is_a_string() {
    // "5\nname = \"y\"" parsed as TOML is two keys; it used to give 5 and silently
    // drop the rest. Now it is the string as typed, refused with the field named.
    let e =
        Scenario::from_toml(KR, "kr.toml", &["peers.0.count=5\nname = \"y\"".into()]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("peers.0.count"));
    assert_eq!(e.value.as_deref(), Some("\"5\\nname = \\\"y\\\"\""));
}

#[test]
fn sizes_above_two_pow_53_are_rounded_to_f64() {
    // Documented limitation: quantities are f64, which holds every integer only up to
    // 2^53. 2^62 + 1 is 1 ulp (1024 at that magnitude) from nothing representable
    // but 2^62, so it reads as 2^62 B.
    assert_eq!(
        check("4611686018427387905 B", Some("1 TiB"))
            .unwrap()
            .file_bytes,
        1 << 62
    );
    // Below 2^53 sizes are exact: 2^53 - 1 B.
    let s = check("9007199254740991 B", Some("1 TiB")).unwrap();
    assert_eq!(s.file_bytes, (1 << 53) - 1);
}

#[test]
fn class_name_with_control_characters_is_refused() {
    // Class names are printed by `check` and `run` and written to CSV: a newline or an
    // escape sequence (here ESC [2J, clear screen) would reach the terminal raw.
    for bad in ["a\\nb", "x\\u001b[2J", "tab\\there"] {
        let t = KR.replace("count = 30", &format!("name = \"{bad}\"\ncount = 30"));
        let e = Scenario::from_toml(&t, "kr.toml", &[]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("peers.0.name"), "{e}");
    }
    // Unicode letters and spaces are fine.
    let t = KR.replace("count = 30", "name = \"fibre été\"\ncount = 30");
    assert_eq!(
        Scenario::from_toml(&t, "kr.toml", &[]).unwrap().classes[0].name,
        "fibre été"
    );
}

#[test]
fn class_names_are_capped_like_scenario_names() {
    // A class name is written in every row of peers.csv: a 15 MiB name with 100 peers
    // wrote 1.5 GB. The cap is the scenario name's (MAX_NAME_CHARS = 200 characters,
    // counted as characters: "é" is one).
    let with = |name: &str| KR.replace("count = 30", &format!("name = \"{name}\"\ncount = 30"));
    let ok = "é".repeat(MAX_NAME_CHARS);
    assert_eq!(
        Scenario::from_toml(&with(&ok), "kr.toml", &[])
            .unwrap()
            .classes[0]
            .name,
        ok
    );
    let long = "x".repeat(1 << 20);
    let e = Scenario::from_toml(&with(&long), "kr.toml", &[]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("peers.0.name"), "{e}");
    let text = e.to_string();
    assert!(text.contains("kr.toml"), "{text}");
    assert!(text.contains("1048576 characters"), "{text}");
    assert!(text.contains("at most 200"), "{text}");
    // The message shows the start of the value, not all of it.
    assert!(text.len() < 400, "{} bytes", text.len());
    let e =
        Scenario::from_toml(&with(&"x".repeat(MAX_NAME_CHARS + 1)), "kr.toml", &[]).unwrap_err();
    assert!(e.to_string().contains("201 characters"), "{e}");
}

#[test]
fn toml_syntax_errors_show_control_characters_escaped() {
    // The TOML parser's message quotes the offending line; an escape sequence in a
    // comment (ESC [2J clears the screen, ESC ]0;...BEL sets the terminal's title)
    // must not reach the terminal raw. The snippet keeps its line breaks.
    let e = Scenario::from_toml(
        "name = \"u\" # \u{1b}[2J\u{1b}]0;pwned\u{7}\n",
        "e.toml",
        &[],
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("e.toml: not valid TOML"), "{text}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(text.contains("\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"), "{text}");
    assert!(text.lines().count() > 1, "{text}");
}

#[test]
fn inactivity_timeout_counts_rechoke_periods() {
    let set = |kv: &[&str]| {
        let mut v: Vec<String> = vec!["protocol.kind=bittorrent".into()];
        v.extend(kv.iter().map(|s| s.to_string()));
        Scenario::from_toml(KR, "kr.toml", &v)
    };
    // Off unless set (libtorrent has one; the model's default keeps every
    // connection, as before the field existed).
    let s = set(&[]).unwrap();
    assert_eq!(s.bittorrent.inactivity_timeout, 0.0);
    assert_eq!(s.bittorrent.idle_checks(), 0);
    // Checks happen every rechoke_interval (10 s): ceil(T / 10 s) of them.
    for (t, checks) in [("20 s", 2), ("25 s", 3), ("1 s", 1), ("10 min", 60)] {
        let s = set(&[&format!("protocol.inactivity_timeout={t}")]).unwrap();
        assert_eq!(s.bittorrent.idle_checks(), checks, "{t}");
    }
    // 255 periods at most (a one-byte counter per link): 2550 s is the largest.
    let s = set(&["protocol.inactivity_timeout=2550 s"]).unwrap();
    assert_eq!(s.bittorrent.idle_checks(), 255);
    let e = set(&["protocol.inactivity_timeout=2551 s"]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("protocol.inactivity_timeout"));
    assert!(e.message.contains("at most 255 times"), "{e}");
    let e = set(&["protocol.inactivity_timeout=-1 s"]).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("protocol.inactivity_timeout"));
}

#[test]
fn timer_intervals_have_a_floor() {
    // A 1 ns rechoke gave 1.1e10 events per virtual second. Every BitTorrent timer
    // interval is at least 100 ms (a tenth of a second: 100 times more often than
    // mainline's 10 s rechoke, 150 times libtorrent's 15 s default).
    let set = |kv: &[&str]| {
        let mut v: Vec<String> = vec!["protocol.kind=bittorrent".into()];
        v.extend(kv.iter().map(|s| s.to_string()));
        Scenario::from_toml(KR, "kr.toml", &v)
    };
    let all = |d: &str| {
        [
            "rechoke_interval",
            "optimistic_interval",
            "rate_window",
            "reannounce_interval",
        ]
        .map(|k| format!("protocol.{k}={d}"))
    };
    let fields = all("1 ns");
    for (i, f) in fields.iter().enumerate() {
        // The others at their floor, so that only this one is below it.
        let mut v = all("100 ms").to_vec();
        v[i] = f.clone();
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        let e = set(&v).unwrap_err();
        let field = f.split('=').next().unwrap();
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.message.contains("at least 0.1 s"), "{e}");
    }
    let v = all("100 ms");
    let v: Vec<&str> = v.iter().map(String::as_str).collect();
    let s = set(&v).unwrap();
    assert_eq!(s.bittorrent.rechoke_interval, 0.1);
    assert_eq!(s.bittorrent.reannounce_interval, 0.1);
}

#[test]
fn stall_risks_name_free_rider_seeds_and_tight_tables() {
    // Scenario::stall_risks names the three configurations that docs/MODEL.md
    // documents as stalling (each of the 13 of 160 random swarms from
    // scripts/stress.py that stalled had one of the first two; the third is the
    // flash crowd of tests/cli/robust.rs), and nothing else. The scenario has 30
    // peers; `max_peers` 5 keeps the third rule out of the first two's cases.
    let risks = |kv: &[&str]| {
        let v: Vec<String> = kv.iter().map(|s| s.to_string()).collect();
        Scenario::from_toml(KR, "kr.toml", &v)
            .unwrap()
            .stall_risks()
    };
    let bt = "protocol.kind=bittorrent";
    // BitTorrent defaults (max_connections 80 > min_peers 20), peers that upload.
    assert_eq!(risks(&[bt]), Vec::<String>::new());
    // Free riders that stay (seeding never, the default): named by index and class.
    let r = risks(&[bt, "peers.0.upload=0 bit/s"]);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("peers.0 (class `class0`): its peers upload nothing"));
    assert!(
        r[0].contains("peers.0.seeding = { fixed = \"0 s\" }"),
        "{}",
        r[0]
    );
    // ... that leave, or that upload a little: no risk named.
    assert!(
        risks(&[
            bt,
            "peers.0.upload=0 bit/s",
            "peers.0.seeding={ fixed = \"0 s\" }"
        ])
        .is_empty()
    );
    assert!(risks(&[bt, "peers.0.upload=1 bit/s"]).is_empty());
    // Tables no larger than min_peers, without an inactivity timeout: named; the
    // rule is "at most", so 21 against 20 is not.
    let mp = "protocol.max_peers=5";
    let r = risks(&[bt, mp, "protocol.max_connections=20"]);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("protocol.max_connections = 20 is at most protocol.min_peers = 20"));
    assert!(risks(&[bt, mp, "protocol.max_connections=21"]).is_empty());
    assert!(
        risks(&[
            bt,
            mp,
            "protocol.max_connections=6",
            "protocol.inactivity_timeout=60 s"
        ])
        .is_empty()
    );
    // Tables no larger than max_peers (50), with more peers than a table holds and
    // no inactivity timeout: named. "At most" and "more peers than": 29 is named,
    // 30 (no more peers than that) is not, nor 29 with max_peers 28 or with a
    // timeout.
    let r = risks(&[bt, "protocol.max_connections=29"]);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with(
            "protocol.max_connections = 29 is at most protocol.max_peers = 50, with 30 peers"
        ),
        "{}",
        r[0]
    );
    assert!(risks(&[bt, "protocol.max_connections=30"]).is_empty());
    assert!(risks(&[bt, "protocol.max_connections=29", "protocol.max_peers=28"]).is_empty());
    assert!(
        risks(&[
            bt,
            "protocol.max_connections=29",
            "protocol.inactivity_timeout=60 s"
        ])
        .is_empty()
    );
    // All three at once: three notes, the class first.
    let r = risks(&[bt, "peers.0.upload=0 bit/s", "protocol.max_connections=6"]);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r[0].starts_with("peers.0"));
    assert!(r[1].contains("at most protocol.min_peers"), "{}", r[1]);
    assert!(r[2].contains("at most protocol.max_peers"), "{}", r[2]);
    // Other protocols have no tables: nothing, even with free riders.
    for kind in ["client-server", "optimal"] {
        let k = format!("protocol.kind={kind}");
        assert!(risks(&[&k, "peers.0.upload=0 bit/s"]).is_empty(), "{kind}");
    }
}

/// A client preset sets the fields its column of docs/CLIENT-RULES.md gives
/// (libtorrent 2.0.8: 7 regular slots, 15 s rechoke, 30 s optimistic, a one-round
/// rate window, the quota round-robin seed choker with 20 pieces and 60 s,
/// close_redundant), a field written in the file overrides it, and `sources` says
/// where each value came from.
#[test]
fn a_preset_sets_defaults_and_the_file_overrides_them() {
    use crate::scenario::{Preset, SeedChoker};
    let base = |extra: &str| {
        format!(
            "name = \"p\"\n[file]\nsize = \"1 MiB\"\nchunk = \"256 KiB\"\n[server]\nupload = \"1 MiB/s\"\n[[peers]]\ncount = 2\nupload = \"100 KiB/s\"\ndownload = \"unlimited\"\n[protocol]\nkind = \"bittorrent\"\n{extra}"
        )
    };
    let s = Scenario::from_toml(
        &base("preset = \"libtorrent-2.0\"\nunchoke_slots = 3\n"),
        "p.toml",
        &[],
    )
    .expect("valid");
    let b = &s.bittorrent;
    assert_eq!(b.preset, Some(Preset::Libtorrent2));
    assert_eq!(b.unchoke_slots, 3, "the file overrides the preset's 7");
    assert_eq!(b.rechoke_interval, 15.0);
    assert_eq!(b.optimistic_interval, 30.0);
    assert_eq!(b.rate_window, 15.0);
    assert_eq!(b.seed_choker, SeedChoker::RoundRobinQuota);
    assert_eq!((b.seed_quota_pieces, b.seed_quota_time), (20, 60.0));
    assert!(b.close_redundant);
    let src = b.sources();
    let from = |f: &str| src.iter().find(|x| x.0 == f).unwrap().1;
    assert_eq!(from("unchoke_slots"), "file");
    assert_eq!(from("rechoke_interval"), "libtorrent-2.0");
    assert_eq!(from("max_peers"), "default");
    // mainline 4.0.1: max_uploads 4 at 20 kB/s, one of them optimistic; 10 s
    // rechoke; 20-s rate measure. Transmission 4.0.6: 8 slots, 40-s optimistic.
    let m = Scenario::from_toml(&base("preset = \"mainline-4\"\n"), "p.toml", &[]).unwrap();
    assert_eq!(
        (
            m.bittorrent.unchoke_slots,
            m.bittorrent.rechoke_interval,
            m.bittorrent.rate_window
        ),
        (3, 10.0, 20.0)
    );
    let t = Scenario::from_toml(&base("preset = \"transmission-4\"\n"), "p.toml", &[]).unwrap();
    assert_eq!(
        (t.bittorrent.unchoke_slots, t.bittorrent.optimistic_interval),
        (8, 40.0)
    );
    // The recorded TOML reads back to the same settings and preset.
    let back = Scenario::from_toml(&crate::scenario::to_toml(&s), "m.toml", &[]).unwrap();
    assert_eq!(back.bittorrent, s.bittorrent);
    assert_eq!(back.bittorrent.preset, Some(Preset::Libtorrent2));
    // An unknown preset is refused, naming the field and the choices.
    let e = Scenario::from_toml(&base("preset = \"utorrent\"\n"), "p.toml", &[]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("protocol.preset") && msg.contains("libtorrent-2.0"),
        "{msg}"
    );
}

/// `requests = "blocks"` without a preset takes libtorrent 2.0.8's request settings
/// (`settings_pack` defaults: `request_queue_time` 3 s, `min_request_queue` 2,
/// `max_out_request_queue` 500, `whole_pieces_threshold` 20 s; its whole-piece picks,
/// `request_a_block` and `piece_picker::expand_piece`); each preset sets its own
/// whole-piece fields (docs/PRESETS.md): libtorrent-2.0 20 s with the kept queue,
/// mainline-4 and transmission-4 none (0 s), whatever the default.
#[test]
fn the_pipeline_defaults_are_libtorrents_and_presets_set_their_own_whole_pieces() {
    use crate::scenario::{RequestModel, WholePiecesRule};
    let base = |extra: &str| {
        format!(
            "name = \"p\"\n[file]\nsize = \"1 MiB\"\nchunk = \"256 KiB\"\n[server]\nupload = \"1 MiB/s\"\n[[peers]]\ncount = 2\nupload = \"100 KiB/s\"\ndownload = \"unlimited\"\n[protocol]\nkind = \"bittorrent\"\n{extra}"
        )
    };
    let load = |extra: &str| {
        Scenario::from_toml(&base(extra), "p.toml", &[])
            .expect("valid")
            .bittorrent
    };
    let b = load("requests = \"blocks\"\n");
    assert_eq!(b.requests, RequestModel::Blocks);
    assert_eq!(
        (
            b.request_queue_time,
            b.request_queue_min,
            b.request_queue_max
        ),
        (3.0, 2, 500)
    );
    assert_eq!(b.whole_pieces_threshold, 20.0);
    assert_eq!(b.whole_pieces_rule, WholePiecesRule::AdjacentRuns);
    for (preset, threshold, rule) in [
        ("libtorrent-2.0", 20.0, WholePiecesRule::Kept),
        ("mainline-4", 0.0, WholePiecesRule::AdjacentRuns),
        ("transmission-4", 0.0, WholePiecesRule::AdjacentRuns),
    ] {
        let b = load(&format!("preset = \"{preset}\"\n"));
        assert_eq!(b.whole_pieces_threshold, threshold, "{preset}");
        assert_eq!(b.whole_pieces_rule, rule, "{preset}");
        let from = |f: &str| b.sources().into_iter().find(|x| x.0 == f).unwrap().1;
        assert_eq!(from("whole_pieces_threshold"), preset);
    }
}
