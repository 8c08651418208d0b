//! Helpers shared by the unit tests.

use proptest::test_runner::Config;

/// A property test's configuration: `default` cases, or more when the
/// `PROPTEST_CASES` environment variable asks for more (a long soak run, docs/TESTING.md).
/// It never lowers a test's own count, so CI keeps at least the default coverage.
pub fn cases(default: u32) -> Config {
    let asked = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Config::with_cases(default.max(asked))
}
