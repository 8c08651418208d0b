//! The scenario checker: the raw TOML tree to a [`Scenario`], every field checked
//! and every error naming the file, field and value. The BitTorrent table's
//! fields are checked in `protocol.rs`, on the same [`Checker`].

use super::{
    BitTorrentConfig, DEFAULT_CHUNK_BYTES, MAX_CHUNKS, MAX_CLASS_NAME_CHARS, MAX_NAME_CHARS,
    MAX_OPTIMAL_BITS, MAX_PEERS, PeerClass, ProtocolKind, Scenario, ScenarioError, protocol, units,
};
use crate::engine::Time;
use crate::network::ModelKind;
use toml::{Table, Value};

/// Turns the raw TOML tree into a [`Scenario`], naming field and value on error.
pub(super) struct Checker {
    /// The file name errors give.
    pub(super) file: String,
}

/// A checker's result: the value, or an error naming the field.
pub(super) type Res<T> = Result<T, ScenarioError>;

impl Checker {
    pub(super) fn err(
        &self,
        field: &str,
        value: Option<&Value>,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            file: self.file.clone(),
            field: Some(field.to_string()),
            value: value.map(show),
            message: message.into(),
        }
    }

    /// Rejects any key of `table` not in `allowed`.
    pub(super) fn only(&self, table: &Table, prefix: &str, allowed: &[&str]) -> Res<()> {
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

    pub(super) fn table<'a>(
        &self,
        root: &'a Table,
        key: &str,
        field: &str,
    ) -> Res<Option<&'a Table>> {
        match root.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(v) => Err(self.err(field, Some(v), "expected a table")),
        }
    }

    pub(super) fn required<'a>(
        &self,
        t: &'a Table,
        key: &str,
        field: &str,
        what: &str,
    ) -> Res<&'a Value> {
        t.get(key)
            .ok_or_else(|| self.err(field, None, format!("missing; expected {what}")))
    }

    pub(super) fn string(&self, v: &Value, field: &str, what: &str) -> Res<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(self.err(field, Some(v), format!("expected {what}"))),
        }
    }

    pub(super) fn quantity(
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

    pub(super) fn size(&self, v: &Value, field: &str) -> Res<u64> {
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

    pub(super) fn rate(
        &self,
        v: &Value,
        field: &str,
        allow_zero: bool,
        allow_unlimited: bool,
    ) -> Res<f64> {
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

    pub(super) fn integer(&self, v: &Value, field: &str, min: i64, max: i64) -> Res<i64> {
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

    pub(super) fn choice<T: Copy>(&self, v: &Value, field: &str, options: &[(&str, T)]) -> Res<T> {
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

    pub(super) fn scenario(&self, root: &Table) -> Res<Scenario> {
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
    pub(super) fn fits_in_virtual_time(&self, s: &Scenario, root: &Table) -> Res<()> {
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
