//! `manifest.toml`: written beside every result (run and sweep folders), it holds the
//! fully resolved scenario (every field, defaults included, as a scenario file that
//! `swarmsim run` or `swarmsim sweep` accepts), and a `[manifest]` table with the
//! kind of result, the swarmsim version and the command line. The scenario reader
//! ignores the `[manifest]` table, so `swarmsim run DIR/manifest.toml` reruns it.

use std::path::Path;
use toml::{Table, Value};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.toml";

/// Manifest text: a comment, the resolved scenario `scenario_toml` (from
/// [`crate::scenario::to_toml`], perhaps with a `[sweep]` table), then `[manifest]`
/// with `kind` (`"run"` or `"sweep"`), the version and the command line.
pub fn text(kind: &str, scenario_toml: &str, command: &[String]) -> String {
    let cmd = Value::Array(command.iter().map(|a| Value::String(a.clone())).collect());
    format!(
        "# Written by swarmsim beside its results: the fully resolved scenario.\n\
         # Reproduce them with `swarmsim {kind} THIS_FOLDER/manifest.toml --out OTHER_FOLDER`.\n\
         {scenario_toml}\n[manifest]\nkind = {}\nswarmsim_version = {}\ncommand = {cmd}\n",
        Value::String(kind.to_string()),
        Value::String(env!("CARGO_PKG_VERSION").to_string()),
    )
}

/// The text of `DIR/manifest.toml`, if it is a readable regular file (not a link).
pub fn read(dir: &Path) -> Option<String> {
    let b = crate::files::read_regular(&dir.join(MANIFEST_FILE), false, 16 << 20).ok()??;
    String::from_utf8(b).ok()
}

/// The `kind` a manifest records (`"run"`, `"sweep"`), if it is readable.
pub fn kind(text: &str) -> Option<String> {
    let t: Table = text.parse().ok()?;
    t.get("manifest")?.get("kind")?.as_str().map(str::to_string)
}

/// What a manifest describes, for messages: "the run of scenario `x` (seed 3)".
pub fn describe(text: &str) -> String {
    let Ok(t) = text.parse::<Table>() else {
        return format!("a {MANIFEST_FILE} that is not valid TOML");
    };
    let kind = kind(text).unwrap_or_else(|| "results".into());
    let name = t.get("name").and_then(Value::as_str).unwrap_or("?");
    let seed = t
        .get("seed")
        .and_then(Value::as_integer)
        .map_or(String::new(), |s| format!(" (seed {s})"));
    format!("the {kind} of scenario `{name}`{seed}")
}
