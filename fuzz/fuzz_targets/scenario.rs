//! Fuzz target: arbitrary text as a scenario file. Parsing and checking must return
//! `Ok` or a `ScenarioError` naming the file, never panic or hang; an accepted
//! scenario must satisfy the invariants the rest of the program relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmsim::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    // The binary reads files with `read_to_string`, so only UTF-8 text reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Scenario::from_toml(text, "fuzz.toml", &[]) {
        Ok(s) => {
            check_invariants(&s);
            // Only the word `unlimited` may make a download infinite (a huge number
            // that overflowed once did: huge_download_is_not_silently_unlimited).
            if s.classes.iter().any(|c| c.download.is_infinite()) {
                assert!(
                    text.contains("unlimited"),
                    "infinite download without `unlimited`"
                );
            }
        }
        Err(e) => {
            assert!(e.file.starts_with("fuzz.toml"), "{e}");
            let _ = e.to_string();
        }
    }
});

/// What every checked scenario promises (DESIGN.md: nothing downstream re-validates).
fn check_invariants(s: &Scenario) {
    assert!(s.file_bytes >= 1 && s.chunk_bytes >= 1 && s.chunk_bytes <= s.file_bytes);
    assert!(s.chunks() <= swarmsim::scenario::MAX_CHUNKS);
    assert!(s.server_upload.is_finite() && s.server_upload > 0.0);
    assert!(!s.classes.is_empty() && s.peers() <= swarmsim::scenario::MAX_PEERS);
    for c in &s.classes {
        assert!(c.count >= 1);
        assert!(c.upload.is_finite() && c.upload >= 0.0);
        assert!(c.download > 0.0 && !c.download.is_nan());
    }
    let last = s.chunks() - 1;
    assert!(s.chunk_size(last) >= 1);
    let _ = swarmsim::cli::describe(s);
}
