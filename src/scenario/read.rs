//! Reading scenario text: files (refusing what is not a regular UTF-8 file of
//! reasonable size), TOML parsing, `--set` overrides applied to the raw tree, and
//! escaping text for a terminal.

use super::{MAX_FILE_BYTES, MAX_KEY_PARTS, ScenarioError};
use std::path::Path;
use toml::{Table, Value};

/// Text for a terminal: control characters escaped (`\u{1b}`, `\n`), everything
/// else, quotes included, as written.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Parses scenario text into a raw TOML table; `file` names it in errors.
pub fn parse_toml(text: &str, file: &str) -> Result<Table, ScenarioError> {
    text.parse().map_err(|e: toml::de::Error| ScenarioError {
        file: file.to_string(),
        field: None,
        value: None,
        // The parser's snippet quotes the file: its control characters are shown
        // escaped, line by line (the snippet's own line breaks stay).
        message: format!(
            "not valid TOML: {}",
            e.to_string()
                .trim_end()
                .lines()
                .map(escape_controls)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    })
}

/// Reads a scenario file's text; returns it with the name errors should use.
pub fn read_scenario_file(path: &Path) -> Result<(String, String), ScenarioError> {
    let file = path.display().to_string();
    let text = read_text(path).map_err(|message| ScenarioError {
        file: file.clone(),
        field: None,
        value: None,
        message,
    })?;
    Ok((text, file))
}

/// Reads a scenario file as UTF-8 text: refuses folders, FIFOs, sockets and devices
/// (without blocking on them), files over [`MAX_FILE_BYTES`] and text that is not
/// UTF-8; a leading byte-order mark is dropped.
fn read_text(path: &Path) -> Result<String, String> {
    if path.is_dir() {
        return Err("this is a folder; expected a scenario file (TOML)".into());
    }
    let bytes = crate::files::read_regular(path, true, MAX_FILE_BYTES)
        .map_err(|e| format!("cannot read the scenario file: {e}"))?
        .ok_or_else(|| {
            format!(
                "the file is larger than {} MiB; a scenario file is expected to be small TOML text",
                MAX_FILE_BYTES >> 20
            )
        })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {}); save the scenario as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Applies one `KEY=VALUE` override to the raw tree. The value is read as a TOML
/// value if it is one (`50`, `true`, `"text"`), otherwise as a string.
pub fn apply_override(root: &mut Table, kv: &str) -> Result<(), String> {
    let (key, raw) = kv
        .split_once('=')
        .ok_or("expected KEY=VALUE, e.g. peers.0.count=50")?;
    let key = key.trim();
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    let value = parse_override_value(raw.trim());
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() > MAX_KEY_PARTS {
        return Err(format!(
            "the key has {} dot-separated parts; at most {MAX_KEY_PARTS} are accepted",
            parts.len()
        ));
    }
    set_path(root, &parts, value, key)
}

/// Reads `--set` text as a TOML value when it is exactly one (`50`, `true`, `"a"`),
/// else as a plain string (so `5\nname = "y"` is the string, not 5 with the rest
/// silently dropped).
pub fn parse_override_value(raw: &str) -> Value {
    match format!("v = {raw}").parse::<Table>() {
        Ok(mut t) if t.len() == 1 => t
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_string())),
        _ => Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut Table, parts: &[&str], value: Value, key: &str) -> Result<(), String> {
    let (first, rest) = parts.split_first().ok_or("the key is empty")?;
    if rest.is_empty() {
        table.insert(first.to_string(), value);
        return Ok(());
    }
    let entry = table
        .entry(first.to_string())
        .or_insert_with(|| Value::Table(Table::new()));
    set_in_value(entry, rest, value, key)
}

fn set_in_value(v: &mut Value, parts: &[&str], value: Value, key: &str) -> Result<(), String> {
    match v {
        Value::Table(t) => set_path(t, parts, value, key),
        Value::Array(a) => {
            let (idx, rest) = parts.split_first().ok_or("the key is empty")?;
            let i: usize = idx.parse().map_err(|_| {
                format!("`{idx}` in `{key}` must be an index into a list (0, 1, ...)")
            })?;
            let len = a.len();
            let elem = a.get_mut(i).ok_or_else(|| {
                format!("index {i} in `{key}` is out of range: the list has {len} entries")
            })?;
            if rest.is_empty() {
                *elem = value;
                Ok(())
            } else {
                set_in_value(elem, rest, value, key)
            }
        }
        _ => Err(format!(
            "`{key}` goes inside a value that is neither a table nor a list"
        )),
    }
}
