//! Records the git commit the binary is built from, for `manifest.toml`: the
//! environment variable `SWARMSIM_GIT_COMMIT` at compile time, `unknown` outside a
//! git checkout of this crate (a crates.io tarball, `cargo install`, no git).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` and returns its trimmed output, if it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // Only a checkout whose top level is this crate's folder: a tarball unpacked
    // inside some other repository must not take that repository's commit.
    let ours = git(&dir, &["rev-parse", "--show-toplevel"])
        .and_then(|top| std::fs::canonicalize(top).ok())
        .zip(std::fs::canonicalize(&dir).ok())
        .is_some_and(|(top, dir)| top == dir);
    let commit = ours
        .then(|| git(&dir, &["rev-parse", "HEAD"]))
        .flatten()
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=SWARMSIM_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
    if ours {
        // A new commit moves HEAD or the branch it points to (or packs the refs).
        for p in ["HEAD", "packed-refs"] {
            if let Some(path) = git(&dir, &["rev-parse", "--git-path", p]) {
                println!("cargo:rerun-if-changed={}", dir.join(path).display());
            }
        }
        if let Some(r) = git(&dir, &["symbolic-ref", "-q", "HEAD"])
            && let Some(path) = git(&dir, &["rev-parse", "--git-path", &r])
        {
            println!("cargo:rerun-if-changed={}", dir.join(path).display());
        }
    }
}
