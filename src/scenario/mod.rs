//! Scenario files: TOML text -> raw tree (with `--set` overrides applied) -> checked
//! [`Scenario`]. After [`Scenario::from_toml`] returns, every value is known to be
//! valid; nothing downstream re-validates.
//!
//! This module reads files and reports errors as values; it never prints and never
//! panics on user input.

/// Gives an enum its name table: `ALL`, every value with its name in scenario files
/// and outputs (the one table that the parser, `name()` and the error message
/// listing the allowed values read), and `name()`.
macro_rules! name_table {
    ($ty:ident { $($name:literal => $variant:ident),+ $(,)? }) => {
        impl $ty {
            /// Every value with its name in scenario files and outputs: the one table
            /// the parser, [`Self::name`] and the error message listing the allowed
            /// values read.
            pub const ALL: [(&'static str, $ty); <[&str]>::len(&[$($name),+])] =
                [$(($name, $ty::$variant)),+];

            /// Its name in scenario files and outputs.
            pub fn name(self) -> &'static str {
                $crate::scenario::name_in(&$ty::ALL, self)
            }
        }
    };
}

mod bounds;
mod error;
mod protocol;
mod serialise;
pub mod units;

pub use error::ScenarioError;
pub use protocol::{
    Arrival, BitTorrentConfig, ChokerKind, LostInterest, MIN_TIMER_INTERVAL, OptimisticPick,
    PickerKind, Preset, RequestModel, SeedChoker, Seeding, StartedOrder, Written,
};
pub use serialise::to_toml;

use crate::engine::Time;
use crate::network::ModelKind;
use std::path::Path;
use toml::{Table, Value};

/// Largest number of peers a scenario may have.
pub const MAX_PEERS: u64 = 10_000_000;
/// Largest number of chunks a file may be cut into.
pub const MAX_CHUNKS: u64 = 10_000_000;
/// Largest peers x chunks for the optimal protocol (its state is two bits per peer
/// and chunk: 1 GiB at this limit).
pub const MAX_OPTIMAL_BITS: u64 = 1 << 32;
/// Largest scenario file read, in bytes (a guard against `/dev/zero` and the like).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Longest scenario name, in characters (it names a folder; most file systems allow 255 bytes).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest peer class name, in characters (written in every row of `peers.csv`).
pub const MAX_CLASS_NAME_CHARS: usize = MAX_NAME_CHARS;
/// Deepest `--set` key, in dot-separated parts (the schema is far shallower).
pub const MAX_KEY_PARTS: usize = 16;
/// Chunk size when the scenario gives none (or the file size, if that is smaller).
pub const DEFAULT_CHUNK_BYTES: u64 = 256 * 1024;

/// The name of `value` in a name table (`ALL` of an enum), empty if it is missing.
pub fn name_in<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("", |(n, _)| n)
}

/// The protocol that distributes the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolKind {
    /// The server sends every chunk to every peer; peers never upload.
    ClientServer,
    /// BitTorrent: tracker, rarest-first, tit-for-tat choking.
    BitTorrent,
    /// A centralised scheduler with full knowledge (`src/model/optimal.rs`).
    Optimal,
}

name_table!(ProtocolKind {
    "client-server" => ClientServer,
    "bittorrent" => BitTorrent,
    "optimal" => Optimal,
});

impl ProtocolKind {
    /// True for protocols in which peers upload (their bound is `D_p2p`).
    pub fn is_p2p(self) -> bool {
        !matches!(self, ProtocolKind::ClientServer)
    }
}

/// One class of identical peers.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerClass {
    /// Class name (`class0`, `class1`, ... unless the scenario names it).
    pub name: String,
    /// Number of peers in the class (at least 1).
    pub count: u64,
    /// Upload capacity, bytes per second (finite, may be 0).
    pub upload: f64,
    /// Download capacity, bytes per second (positive, may be infinite).
    pub download: f64,
    /// How the class's peers arrive.
    pub arrival: Arrival,
    /// How long they seed after completing.
    pub seeding: Seeding,
    /// One-way latency of each peer's access link, seconds.
    pub latency: f64,
}

/// A checked scenario: every field present and valid.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Scenario name, used in outputs and the default output folder.
    pub name: String,
    /// Seed of the simulation's RNG.
    pub seed: u64,
    /// File size F in bytes.
    pub file_bytes: u64,
    /// Chunk size in bytes (the last chunk may be shorter).
    pub chunk_bytes: u64,
    /// Server upload capacity u_s, bytes per second.
    pub server_upload: f64,
    /// Peer classes, in file order.
    pub classes: Vec<PeerClass>,
    /// The distribution protocol.
    pub protocol: ProtocolKind,
    /// The bandwidth model.
    pub network: ModelKind,
    /// BitTorrent parameters (used by `bittorrent` only).
    pub bittorrent: BitTorrentConfig,
    /// Horizon: the run ends at this virtual time, seconds.
    pub max_time: f64,
    /// Interval between two rows of `timeseries.csv`, seconds.
    pub sample_interval: f64,
}

impl Scenario {
    /// Total number of peers N.
    pub fn peers(&self) -> u64 {
        self.classes.iter().map(|c| c.count).sum()
    }

    /// Settings this scenario gives that its protocol does not use, one message each
    /// (empty when everything given is used). Seeding times and latencies are
    /// BitTorrent's only: under `client-server` and `optimal` every peer stays to the
    /// end of the run and no messages are exchanged. The commands print these as
    /// notes; they are not errors, so that a sweep can vary `protocol.kind` over a
    /// scenario that sets them.
    pub fn unused_settings(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.protocol == ProtocolKind::BitTorrent {
            return notes;
        }
        let kind = self.protocol.name();
        for (i, c) in self.classes.iter().enumerate() {
            if c.seeding != Seeding::Never {
                notes.push(format!(
                    "peers.{i}.seeding is not used by protocol.kind = \"{kind}\" (BitTorrent \
                     only): every peer of class `{}` stays to the end of the run",
                    c.name
                ));
            }
            if c.latency > 0.0 {
                notes.push(format!(
                    "peers.{i}.latency = {} s is not used by protocol.kind = \"{kind}\" \
                     (BitTorrent only): it exchanges no messages, and its transfers start at once",
                    c.latency
                ));
            }
        }
        notes
    }

    /// Known ways this scenario's BitTorrent swarm can stall, one message each
    /// (empty for the other protocols and when none applies). They are warnings, not
    /// errors: a run that stalls ends with status `stalled` and says why, and a
    /// scenario may stall on purpose (`scenarios/free-riders-first.toml`). Two
    /// configurations are named (docs/MODEL.md, "Where a swarm can stall"):
    ///
    /// - a class whose peers upload nothing and stay after completing: leechers stay
    ///   interested in such a seed for ever, so a leecher whose connection table
    ///   fills with them waits for ever (neither `inactivity_timeout` nor
    ///   `close_redundant` closes a leecher's connection to it);
    /// - `max_connections` at most `min_peers` without an `inactivity_timeout`:
    ///   tables fill with peers that can give each other nothing (seeds keep their
    ///   connections to the server and to each other) and never make room.
    pub fn stall_risks(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.protocol != ProtocolKind::BitTorrent {
            return notes;
        }
        for (i, c) in self.classes.iter().enumerate() {
            if c.upload == 0.0 && c.seeding == Seeding::Never {
                notes.push(format!(
                    "peers.{i} (class `{}`): its peers upload nothing and stay after \
                     completing (seeding never), so a leecher whose connection table fills \
                     with them waits for ever and the run can end `stalled` (docs/MODEL.md, \
                     where a swarm can stall); `peers.{i}.seeding = {{ fixed = \"0 s\" }}` lets them leave",
                    c.name
                ));
            }
        }
        let bt = &self.bittorrent;
        if bt.max_connections <= bt.min_peers && bt.inactivity_timeout <= 0.0 {
            notes.push(format!(
                "protocol.max_connections = {} is at most protocol.min_peers = {} and no \
                 inactivity_timeout is set: connection tables can fill with peers that have \
                 nothing to give each other and never make room, and the run can end \
                 `stalled` (docs/MODEL.md, where a swarm can stall); set protocol.inactivity_timeout \
                 (e.g. \"60 s\") or keep max_connections well above min_peers",
                bt.max_connections, bt.min_peers
            ));
        }
        notes
    }

    /// What the commands print as notes before running: [`Scenario::unused_settings`],
    /// then [`Scenario::stall_risks`].
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.unused_settings();
        notes.extend(self.stall_risks());
        notes
    }

    /// Number of chunks, `ceil(F / chunk)`.
    pub fn chunks(&self) -> u64 {
        self.file_bytes.div_ceil(self.chunk_bytes)
    }

    /// Size in bytes of chunk `i` (only the last one can be shorter).
    pub fn chunk_size(&self, i: u64) -> u64 {
        let start = i * self.chunk_bytes;
        (self.file_bytes - start).min(self.chunk_bytes)
    }

    /// Smallest peer download capacity d_min, bytes per second.
    pub fn min_download(&self) -> f64 {
        self.classes
            .iter()
            .map(|c| c.download)
            .fold(f64::INFINITY, f64::min)
    }

    /// Sum of all peers' upload capacities, bytes per second.
    pub fn sum_peer_upload(&self) -> f64 {
        self.classes.iter().map(|c| c.count as f64 * c.upload).sum()
    }

    /// Reads, overrides and checks a scenario file. `overrides` are `KEY=VALUE`
    /// strings as given to `--set`; `seed` replaces the file's seed.
    pub fn load(
        path: &Path,
        overrides: &[String],
        seed: Option<u64>,
    ) -> Result<Scenario, ScenarioError> {
        let (text, file) = read_scenario_file(path)?;
        let mut s = Scenario::from_toml(&text, &file, overrides)?;
        if let Some(seed) = seed {
            s.seed = seed;
        }
        Ok(s)
    }

    /// Parses and checks scenario text; `file` names it in errors.
    pub fn from_toml(
        text: &str,
        file: &str,
        overrides: &[String],
    ) -> Result<Scenario, ScenarioError> {
        let mut root = parse_toml(text, file)?;
        let mut origin = file.to_string();
        for o in overrides {
            apply_override(&mut root, o).map_err(|message| ScenarioError {
                file: file.to_string(),
                field: None,
                value: None,
                message: format!("--set {}: {message}", escape_controls(o)),
            })?;
        }
        // A `[sweep]` table describes a grid of runs, read by `crate::sweep`; one
        // scenario ignores it. A `[manifest]` table (version, command line) is what
        // swarmsim writes beside its results; it does not describe the scenario.
        root.remove("sweep");
        root.remove("manifest");
        if !overrides.is_empty() {
            let sets: Vec<String> = overrides.iter().map(|o| escape_controls(o)).collect();
            origin = format!("{file} (with --set {})", sets.join(" --set "));
        }
        if root.is_empty() {
            return Err(ScenarioError {
                file: origin,
                field: None,
                value: None,
                message: "the scenario is empty; expected at least `name`, [file], [server] and [[peers]] (see scenarios/ for examples)".into(),
            });
        }
        Checker { file: origin }.scenario(&root)
    }
}

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

/// Turns the raw TOML tree into a [`Scenario`], naming field and value on error.
struct Checker {
    file: String,
}

type Res<T> = Result<T, ScenarioError>;

impl Checker {
    fn err(&self, field: &str, value: Option<&Value>, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.clone(),
            field: Some(field.to_string()),
            value: value.map(show),
            message: message.into(),
        }
    }

    /// Rejects any key of `table` not in `allowed`.
    fn only(&self, table: &Table, prefix: &str, allowed: &[&str]) -> Res<()> {
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                let field = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                return Err(self.err(
                    &field,
                    None,
                    format!("unknown field; accepted here: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn table<'a>(&self, root: &'a Table, key: &str, field: &str) -> Res<Option<&'a Table>> {
        match root.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(v) => Err(self.err(field, Some(v), "expected a table")),
        }
    }

    fn required<'a>(&self, t: &'a Table, key: &str, field: &str, what: &str) -> Res<&'a Value> {
        t.get(key)
            .ok_or_else(|| self.err(field, None, format!("missing; expected {what}")))
    }

    fn string(&self, v: &Value, field: &str, what: &str) -> Res<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(self.err(field, Some(v), format!("expected {what}"))),
        }
    }

    fn quantity(
        &self,
        v: &Value,
        field: &str,
        parse: fn(&str) -> Result<f64, String>,
        example: &str,
        units: &str,
    ) -> Res<f64> {
        let expected = format!("a string with a unit such as \"{example}\" (units: {units})");
        match v {
            Value::String(s) => {
                parse(s).map_err(|p| self.err(field, Some(v), format!("{p}; expected {expected}")))
            }
            Value::Integer(_) | Value::Float(_) => Err(self.err(
                field,
                Some(v),
                format!("a bare number has no unit; expected {expected}"),
            )),
            _ => Err(self.err(field, Some(v), format!("expected {expected}"))),
        }
    }

    fn size(&self, v: &Value, field: &str) -> Res<u64> {
        let b = self.quantity(v, field, units::parse_size, "100 MiB", units::SIZE_UNITS)?;
        // A decimal times its unit can miss the whole number by a rounding error
        // (16.277 * 1000 = 16277.000000000002): a few ulps from a whole number is it.
        let b = if (b - b.round()).abs() <= 4.0 * f64::EPSILON * b {
            b.round()
        } else {
            b
        };
        if b.fract() != 0.0 {
            return Err(self.err(field, Some(v), "not a whole number of bytes"));
        }
        if !(1.0..=(1u64 << 62) as f64).contains(&b) {
            return Err(self.err(field, Some(v), "expected a size from 1 B to 4 EiB"));
        }
        Ok(b as u64)
    }

    fn rate(&self, v: &Value, field: &str, allow_zero: bool, allow_unlimited: bool) -> Res<f64> {
        let r = self.quantity(v, field, units::parse_rate, "10 Mbit/s", units::RATE_UNITS)?;
        if r.is_infinite() && !allow_unlimited {
            return Err(self.err(field, Some(v), "must be a finite rate, not `unlimited`"));
        }
        if r < 0.0 || (r == 0.0 && !allow_zero) {
            let what = if allow_zero {
                "zero or more"
            } else {
                "more than zero"
            };
            return Err(self.err(field, Some(v), format!("must be {what}")));
        }
        Ok(r)
    }

    fn integer(&self, v: &Value, field: &str, min: i64, max: i64) -> Res<i64> {
        match v {
            Value::Integer(i) if (min..=max).contains(i) => Ok(*i),
            Value::Integer(_) => Err(self.err(
                field,
                Some(v),
                format!("out of range; expected a whole number from {min} to {max}"),
            )),
            _ => Err(self.err(
                field,
                Some(v),
                format!("expected a whole number from {min} to {max}"),
            )),
        }
    }

    fn choice<T: Copy>(&self, v: &Value, field: &str, options: &[(&str, T)]) -> Res<T> {
        let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        let expected = format!("expected one of {}", names.join(", "));
        match v {
            Value::String(s) => options
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, t)| *t)
                .ok_or_else(|| self.err(field, Some(v), expected)),
            _ => Err(self.err(field, Some(v), expected)),
        }
    }

    fn scenario(&self, root: &Table) -> Res<Scenario> {
        self.only(
            root,
            "",
            &[
                "name", "seed", "max_time", "file", "server", "peers", "protocol", "network",
                "output",
            ],
        )?;
        let name = self.string(
            self.required(root, "name", "name", "a name such as \"my-swarm\"")?,
            "name",
            "a name such as \"my-swarm\"",
        )?;
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || name.starts_with('.')
        {
            return Err(self.err(
                "name",
                root.get("name"),
                format!("expected 1 to {MAX_NAME_CHARS} letters, digits, `-`, `_` or `.`, not starting with `.` (it names the output folder)"),
            ));
        }
        let seed = match root.get("seed") {
            None => 1,
            Some(v) => self.integer(v, "seed", 0, i64::MAX)? as u64,
        };

        let file = self.table(root, "file", "file")?.ok_or_else(|| {
            self.err("file", None, "missing; expected a [file] table with `size`")
        })?;
        self.only(file, "file", &["size", "chunk"])?;
        let file_bytes = self.size(
            self.required(file, "size", "file.size", "a size such as \"100 MiB\"")?,
            "file.size",
        )?;
        let chunk_bytes = match file.get("chunk") {
            // A file smaller than the default chunk is one chunk.
            None => DEFAULT_CHUNK_BYTES.min(file_bytes),
            Some(v) => self.size(v, "file.chunk")?,
        };
        if chunk_bytes > file_bytes {
            return Err(self.err(
                "file.chunk",
                file.get("chunk"),
                format!("the chunk is larger than the file ({file_bytes} B); expected at most the file size"),
            ));
        }
        let chunks = file_bytes.div_ceil(chunk_bytes);
        if chunks > MAX_CHUNKS {
            return Err(self.err(
                "file.chunk",
                file.get("chunk"),
                format!("the file would have {chunks} chunks; at most {MAX_CHUNKS} are supported, use larger chunks"),
            ));
        }

        let server = self.table(root, "server", "server")?.ok_or_else(|| {
            self.err(
                "server",
                None,
                "missing; expected a [server] table with `upload`",
            )
        })?;
        self.only(server, "server", &["upload"])?;
        let server_upload = self.rate(
            self.required(
                server,
                "upload",
                "server.upload",
                "a rate such as \"10 Mbit/s\"",
            )?,
            "server.upload",
            false,
            false,
        )?;

        let peers = match root.get("peers") {
            None => {
                return Err(self.err(
                    "peers",
                    None,
                    "missing; expected at least one [[peers]] table",
                ));
            }
            Some(Value::Array(a)) => a,
            Some(v) => {
                return Err(self.err("peers", Some(v), "expected a list of [[peers]] tables"));
            }
        };
        if peers.is_empty() {
            return Err(self.err(
                "peers",
                None,
                "empty; expected at least one [[peers]] table",
            ));
        }
        let mut classes = Vec::new();
        let mut total = 0u64;
        for (i, p) in peers.iter().enumerate() {
            let f = |k: &str| format!("peers.{i}.{k}");
            let Value::Table(t) = p else {
                return Err(self.err(&format!("peers.{i}"), Some(p), "expected a [[peers]] table"));
            };
            self.only(
                t,
                &format!("peers.{i}"),
                &[
                    "name", "count", "upload", "download", "arrival", "seeding", "latency",
                ],
            )?;
            let name = match t.get("name") {
                None => format!("class{i}"),
                Some(v) => {
                    let n = self.string(v, &f("name"), "a class name")?;
                    // It is written in every row of peers.csv.
                    let len = n.chars().count();
                    if len > MAX_CLASS_NAME_CHARS {
                        return Err(self.err(
                            &f("name"),
                            Some(v),
                            format!(
                                "a class name of {len} characters; expected at most {MAX_CLASS_NAME_CHARS}"
                            ),
                        ));
                    }
                    // It is printed in summaries and written to CSV files.
                    if n.chars().any(char::is_control) {
                        return Err(self.err(
                            &f("name"),
                            Some(v),
                            "expected a class name without control characters (newlines, tabs, escapes)",
                        ));
                    }
                    n
                }
            };
            // Outputs tell classes apart by name (peers.csv, the completion CDF).
            if let Some(j) = classes.iter().position(|c: &PeerClass| c.name == name) {
                return Err(self.err(
                    &f("name"),
                    t.get("name"),
                    format!("the name of peers.{j} too; expected a name of its own"),
                ));
            }
            let count = self.integer(
                self.required(t, "count", &f("count"), "a number of peers, at least 1")?,
                &f("count"),
                1,
                MAX_PEERS as i64,
            )? as u64;
            let upload = self.rate(
                self.required(t, "upload", &f("upload"), "a rate such as \"1 Mbit/s\"")?,
                &f("upload"),
                true,
                false,
            )?;
            let download = self.rate(
                self.required(
                    t,
                    "download",
                    &f("download"),
                    "a rate such as \"10 Mbit/s\" or \"unlimited\"",
                )?,
                &f("download"),
                false,
                true,
            )?;
            total += count;
            if total > MAX_PEERS {
                return Err(self.err(
                    &f("count"),
                    t.get("count"),
                    format!("more than {MAX_PEERS} peers in all"),
                ));
            }
            let arrival = self.arrival(t.get("arrival"), &f("arrival"), count)?;
            let seeding = self.seeding(t.get("seeding"), &f("seeding"))?;
            let latency = match t.get("latency") {
                None => 0.0,
                Some(v) => self.duration(v, &f("latency"), false)?,
            };
            classes.push(PeerClass {
                name,
                count,
                upload,
                download,
                arrival,
                seeding,
                latency,
            });
        }

        let (protocol, bittorrent) = match self.table(root, "protocol", "protocol")? {
            None => (ProtocolKind::ClientServer, BitTorrentConfig::default()),
            Some(t) => {
                let mut allowed = vec!["kind"];
                allowed.extend_from_slice(protocol::BT_FIELDS);
                self.only(t, "protocol", &allowed)?;
                let kind = match t.get("kind") {
                    None => ProtocolKind::ClientServer,
                    Some(v) => self.choice(v, "protocol.kind", &ProtocolKind::ALL)?,
                };
                (kind, self.bittorrent(t)?)
            }
        };
        let max_time = match root.get("max_time") {
            None => 365.0 * 86400.0,
            Some(v) => self.duration(v, "max_time", true)?,
        };
        let sample_interval = match self.table(root, "output", "output")? {
            None => 10.0,
            Some(t) => {
                self.only(t, "output", &["sample_interval"])?;
                match t.get("sample_interval") {
                    None => 10.0,
                    Some(v) => self.duration(v, "output.sample_interval", true)?,
                }
            }
        };
        if protocol == ProtocolKind::Optimal && total.saturating_mul(chunks) > MAX_OPTIMAL_BITS {
            let kind = self
                .table(root, "protocol", "protocol")?
                .and_then(|t| t.get("kind"));
            return Err(self.err(
                "protocol.kind",
                kind,
                format!("the optimal scheduler keeps a bit per peer and chunk, and N x M = {total} x {chunks} exceeds {MAX_OPTIMAL_BITS}; use fewer peers or larger chunks"),
            ));
        }
        let network = match self.table(root, "network", "network")? {
            None => ModelKind::MaxMin,
            Some(t) => {
                self.only(t, "network", &["model"])?;
                match t.get("model") {
                    None => ModelKind::MaxMin,
                    Some(v) => self.choice(v, "network.model", &ModelKind::ALL)?,
                }
            }
        };
        let s = Scenario {
            name,
            seed,
            file_bytes,
            chunk_bytes,
            server_upload,
            classes,
            protocol,
            network,
            bittorrent,
            max_time,
            sample_interval,
        };
        self.fits_in_virtual_time(&s, root)?;
        Ok(s)
    }

    /// Refuses a scenario whose lower bound on the distribution time (D_p2p for
    /// protocols in which peers upload, else D_cs) does not fit in virtual time: no run
    /// of it could finish. Names the capacity that sets the bound.
    fn fits_in_virtual_time(&self, s: &Scenario, root: &Table) -> Res<()> {
        let b = s.bounds();
        let (bound, arch) = if s.protocol.is_p2p() {
            (b.d_p2p, "D_p2p")
        } else {
            (b.d_cs, "D_cs")
        };
        let max = Time::MAX.as_secs_f64();
        if bound < max {
            return Ok(());
        }
        let f = s.file_bytes as f64;
        let slowest = s
            .classes
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.download.total_cmp(&b.1.download))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let (field, value) = if f / s.min_download() >= bound {
            let field = format!("peers.{slowest}.download");
            let value = root
                .get("peers")
                .and_then(|p| p.get(slowest))
                .and_then(|c| c.get("download"));
            (field, value)
        } else {
            let value = root.get("server").and_then(|t| t.get("upload"));
            ("server.upload".to_string(), value)
        };
        Err(self.err(
            &field,
            value,
            format!(
                "no run can finish: the lower bound {arch} = {bound:.4e} s is beyond the end of virtual time ({max:.4e} s, about 584 years); expected a smaller file or faster capacities"
            ),
        ))
    }
}

/// Characters of a string value an error message shows.
const SHOWN_CHARS: usize = 60;

/// A value as the user wrote it, for error messages.
fn show(v: &Value) -> String {
    match v {
        // Escaped, so control characters, invisible ones and terminal escape sequences
        // in a user's file show as `\u{200b}`, `\n`, `\u{1b}` instead of acting.
        // A long string is cut (a 15 MiB value would fill the terminal), with its
        // length in characters.
        Value::String(s) if s.chars().count() > SHOWN_CHARS => {
            let head: String = s.chars().take(SHOWN_CHARS).collect();
            format!("{head:?}... ({} characters)", s.chars().count())
        }
        Value::String(s) => format!("{s:?}"),
        Value::Table(_) => "a table".into(),
        Value::Array(_) => "a list".into(),
        // TOML prints floats in full (1e300 as 301 digits); keep them short.
        Value::Float(f) if f.is_finite() && *f != 0.0 && !(1e-6..1e16).contains(&f.abs()) => {
            format!("{f:e}")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
