//! Golden-file tests: every shipped scenario (`scenarios/*.toml`), every validation
//! scenario (`scenarios/validation/*.toml`), the 1,000-peer bench rows
//! (`scenarios/bench/*-1k-*.toml` and `optimal-1k-slow-down.toml`) and six small
//! scenarios of their own (`tests/golden/<name>/scenario.toml`) must give, byte for
//! byte, the `summary.csv` (without the `wall_*` columns), `peers.csv` and
//! `timeseries.csv` stored under `tests/golden/`. The expected files are the
//! program's output at the time they were blessed, checked then against the
//! reference outputs of an independent earlier build: they pin the results, so that
//! refactoring and speed work provably leave them unchanged. A change of semantics
//! that legitimately moves them regenerates them with
//! `SWARMSIM_BLESS=1 cargo test golden` (add `--release` for speed) and says why,
//! and by how much, in the commit.
//!
//! A scenario `scenarios/X.toml` has its expected files in `tests/golden/scenarios/X/`
//! (so `scenarios/validation/Y.toml` in `tests/golden/scenarios/validation/Y/`). A
//! file of at most [`WHOLE`] bytes is stored whole; a larger one (the 1,000-peer
//! `peers.csv`, some long time series) as `<file>.sha256`: the SHA-256 of the file's
//! exact bytes, its byte and line counts, then its first [`HEAD_LINES`] lines, so
//! that a failure shows where the output starts to differ when it does so early.
//! `sha256sum` of the output file gives the same digest.
//!
//! Every scenario runs in full: the slowest (the validation scenario `qiu-srikant`)
//! takes about 3 s in a release build, all of them together about 12 s, so none
//! needs a smaller override.

use super::{root, run_in, stderr, without_wall};
use std::path::Path;

/// Largest expected file stored whole; larger ones are stored as a digest.
const WHOLE: usize = 16 * 1024;
/// Lines of a digested file kept beside its digest.
const HEAD_LINES: usize = 4;

/// One test per scenario (they run in parallel), and the list of them all, which
/// [`every_scenario_has_a_golden_test`] checks against the `scenarios/` folders.
macro_rules! golden {
    ($($test:ident => $path:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($path);
            }
        )*
        /// Every scenario file the tests above run, relative to the repository.
        const ALL: &[&str] = &[$($path),*];
    };
}

golden! {
    golden_own_client_server => "tests/golden/client-server/scenario.toml",
    golden_own_bt_maxmin => "tests/golden/bt-maxmin/scenario.toml",
    golden_own_bt_fast_churn => "tests/golden/bt-fast-churn/scenario.toml",
    golden_own_cs_grouped => "tests/golden/cs-grouped/scenario.toml",
    golden_own_bt_libtorrent => "tests/golden/bt-libtorrent/scenario.toml",
    golden_own_bt_mainline => "tests/golden/bt-mainline/scenario.toml",
    golden_bittorrent_flash_crowd => "scenarios/bittorrent-flash-crowd.toml",
    golden_churn_poisson => "scenarios/churn-poisson.toml",
    golden_churn_tight_tables => "scenarios/churn-tight-tables.toml",
    golden_client_server => "scenarios/client-server.toml",
    golden_dcs_vs_dp2p => "scenarios/dcs-vs-dp2p.toml",
    golden_free_riders_first => "scenarios/free-riders-first.toml",
    golden_free_riders => "scenarios/free-riders.toml",
    golden_kurose_ross_30 => "scenarios/kurose-ross-30.toml",
    golden_optimal_heterogeneous => "scenarios/optimal-heterogeneous.toml",
    golden_optimal_homogeneous => "scenarios/optimal-homogeneous.toml",
    golden_rarest_vs_random => "scenarios/rarest-vs-random.toml",
    golden_validation_client_server_exact => "scenarios/validation/client-server-exact.toml",
    golden_validation_flash_crowd => "scenarios/validation/flash-crowd.toml",
    golden_validation_kurose_ross => "scenarios/validation/kurose-ross.toml",
    golden_validation_models_agree_cs => "scenarios/validation/models-agree-cs.toml",
    golden_validation_models_agree => "scenarios/validation/models-agree.toml",
    golden_validation_optimal_heterogeneous => "scenarios/validation/optimal-heterogeneous.toml",
    golden_validation_optimal_homogeneous => "scenarios/validation/optimal-homogeneous.toml",
    golden_validation_optimal_slow_relay => "scenarios/validation/optimal-slow-relay.toml",
    golden_validation_p2p_bound => "scenarios/validation/p2p-bound.toml",
    golden_validation_qiu_srikant => "scenarios/validation/qiu-srikant.toml",
    golden_bench_hetero_1k_fast => "scenarios/bench/hetero-1k-fast.toml",
    golden_bench_hetero_1k_maxmin => "scenarios/bench/hetero-1k-maxmin.toml",
    golden_bench_homog_1k_fast => "scenarios/bench/homog-1k-fast.toml",
    golden_bench_homog_1k_maxmin => "scenarios/bench/homog-1k-maxmin.toml",
    golden_bench_poisson_1k_fast => "scenarios/bench/poisson-1k-fast.toml",
    golden_bench_poisson_1k_maxmin => "scenarios/bench/poisson-1k-maxmin.toml",
    golden_bench_optimal_1k_slow_down => "scenarios/bench/optimal-1k-slow-down.toml",
    golden_bench_dbind_1k_fast => "scenarios/bench/dbind-1k-fast.toml",
    golden_bench_dbind_1k_maxmin => "scenarios/bench/dbind-1k-maxmin.toml",
}

/// The folder of a scenario's expected files.
fn golden_dir(scenario: &str) -> std::path::PathBuf {
    let g = root().join("tests/golden");
    match scenario.strip_suffix("/scenario.toml") {
        Some(own) => root().join(own),
        None => g.join(scenario.strip_suffix(".toml").expect("a .toml path")),
    }
}

/// Runs `scenario` and compares (or, with `SWARMSIM_BLESS` set, writes) its
/// expected files.
fn check(scenario: &str) {
    let bless = std::env::var_os("SWARMSIM_BLESS").is_some();
    let dir = golden_dir(scenario);
    let out = tempfile::tempdir().expect("tempdir");
    let o = run_in(
        &root(),
        &[
            "run",
            scenario,
            "--out",
            out.path().to_str().expect("utf-8 path"),
        ],
    );
    assert!(o.status.success(), "{scenario}: {}", stderr(&o));
    let read = |f: &str| std::fs::read_to_string(out.path().join(f)).expect("output");
    let got = [
        ("summary.csv", without_wall(&read("summary.csv")) + "\n"),
        ("peers.csv", read("peers.csv")),
        ("timeseries.csv", read("timeseries.csv")),
    ];
    let mut failures = Vec::new();
    for (file, text) in got {
        let (name, stored) = if text.len() <= WHOLE {
            (file.to_string(), text.clone())
        } else {
            (format!("{file}.sha256"), digest_record(&text))
        };
        let path = dir.join(&name);
        if bless {
            std::fs::create_dir_all(&dir).expect("golden folder");
            // (A file that changed form, whole or digested, leaves no stale twin.)
            let twin = if name == file {
                format!("{file}.sha256")
            } else {
                file.to_string()
            };
            let _ = std::fs::remove_file(dir.join(twin));
            std::fs::write(&path, &stored).expect("write golden file");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == stored => {}
            Ok(want) => failures.push(format!(
                "{scenario}: {file} differs from {} ({})",
                path.display(),
                first_difference(&want, &stored)
            )),
            Err(e) => failures.push(format!("{scenario}: {}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What a large expected file is stored as: its SHA-256, byte and line counts, and
/// its first [`HEAD_LINES`] lines.
fn digest_record(text: &str) -> String {
    let mut s = format!(
        "sha256 {}\nbytes {}\nlines {}\n",
        hex(&sha256(text.as_bytes())),
        text.len(),
        text.lines().count()
    );
    for l in text.lines().take(HEAD_LINES) {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// The first line where two texts differ, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let mut w = want.lines();
    let mut g = got.lines();
    for i in 1.. {
        match (w.next(), g.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => return "same lines, different line ends".into(),
            (a, b) => {
                return format!(
                    "line {i}: expected {:?}, got {:?}",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                );
            }
        }
    }
    unreachable!()
}

#[test]
fn every_scenario_has_a_golden_test() {
    // The shipped and validation scenarios and the 1,000-peer bench rows, listed
    // from the folders: a new scenario without expected outputs fails here.
    let mut missing = Vec::new();
    for folder in ["scenarios", "scenarios/validation", "scenarios/bench"] {
        for e in std::fs::read_dir(root().join(folder)).expect("scenario folder") {
            let name = e.expect("entry").file_name().into_string().expect("utf-8");
            let one_k = name.contains("-1k-");
            if !name.ends_with(".toml") || (folder == "scenarios/bench" && !one_k) {
                continue;
            }
            let path = format!("{folder}/{name}");
            if !ALL.contains(&path.as_str()) {
                missing.push(path);
            }
        }
    }
    assert!(missing.is_empty(), "no golden test for {missing:?}");
    for s in ALL {
        assert!(
            Path::new(&root().join(s)).is_file(),
            "{s} is listed but absent"
        );
    }
}

/// SHA-256 (FIPS 180-4) of `data`: a few lines here rather than a dependency for
/// the golden files' digests.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    // Padding: a one bit, zeros, then the message length in bits (big-endian).
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn golden_digest_is_sha256() {
    // The test vectors of FIPS 180-4 (NIST's "SHA-256 examples"): "abc", the empty
    // message, and the 448-bit message that pads into a second block.
    let cases = [
        (
            "abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(hex(&sha256(msg.as_bytes())), want, "{msg:?}");
    }
}
