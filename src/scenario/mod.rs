//! Scenario files: TOML text -> raw tree (with `--set` overrides applied) -> checked
//! [`Scenario`]. After [`Scenario::from_toml`] returns, every value is known to be
//! valid; nothing downstream re-validates.
//!
//! This module reads files and reports errors as values; it never prints and never
//! panics on user input.
//!
//! This file holds the scenario types and limits; `read.rs` reads text and applies
//! `--set` overrides, `check.rs` checks the raw tree (the BitTorrent table in
//! `protocol.rs`, its request pipeline's fields in `requests.rs`), `serialise.rs`
//! writes a scenario back as TOML.

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
mod check;
mod error;
mod presets;
mod protocol;
mod read;
mod requests;
mod serialise;
pub mod units;

pub use error::ScenarioError;
pub use presets::Preset;
pub use protocol::{
    Arrival, BitTorrentConfig, ChokerKind, LostInterest, MIN_TIMER_INTERVAL, OptimisticPick,
    PickerKind, SeedChoker, Seeding, Written,
};
pub use read::{
    apply_override, escape_controls, parse_override_value, parse_toml, read_scenario_file,
};
pub use requests::{IdleRetry, RequestModel, RequestRate, StartedOrder, WholePiecesRule};
pub use serialise::{to_toml, to_toml_every_field};

use check::{Checker, Res};

use crate::network::ModelKind;
use std::path::Path;

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
            // The pipeline's fields, written, under whole-chunk requests; and the
            // other way round.
            let bt = &self.bittorrent;
            let (unused, under): (&[&str], _) = match bt.requests {
                RequestModel::WholeChunk => (protocol::PIPELINE_FIELDS, "whole-chunk"),
                RequestModel::Blocks => (&["requests_in_flight"], "blocks"),
            };
            for f in unused.iter().filter(|f| bt.wrote(f)) {
                notes.push(format!(
                    "protocol.{f} is not used with protocol.requests = \"{under}\" \
                     (docs/SCENARIOS.md)"
                ));
            }
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
    /// scenario may stall on purpose (`scenarios/free-riders-first.toml`). Three
    /// configurations are named (docs/MODEL.md, "Where a swarm can stall"):
    ///
    /// - a class whose peers upload nothing and stay after completing: leechers stay
    ///   interested in such a seed for ever, so a leecher whose connection table
    ///   fills with them waits for ever (neither `inactivity_timeout` nor
    ///   `close_redundant` closes a leecher's connection to it);
    /// - `max_connections` at most `min_peers` without an `inactivity_timeout`:
    ///   tables fill with peers that can give each other nothing (seeds keep their
    ///   connections to the server and to each other) and never make room;
    /// - `max_connections` at most `max_peers`, more peers than `max_connections`
    ///   and no `inactivity_timeout`: a peer that announces while the tracker lists
    ///   at most `max_peers` nodes connects to all of them, so the server and the
    ///   first `max_connections` peers can fill each other's tables, and the other
    ///   peers, their tables full of each other, never reach a node with a chunk.
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
        if bt.max_connections <= bt.max_peers
            && bt.inactivity_timeout <= 0.0
            && self.peers() > u64::from(bt.max_connections)
        {
            notes.push(format!(
                "protocol.max_connections = {} is at most protocol.max_peers = {}, with {} \
                 peers and no inactivity_timeout: the server and the first peers to announce \
                 can fill each other's connection tables, and the others never reach a node \
                 holding a chunk, so the run can end `stalled` (docs/MODEL.md, where a swarm \
                 can stall); set protocol.inactivity_timeout (e.g. \"60 s\") or keep \
                 max_connections above max_peers",
                bt.max_connections,
                bt.max_peers,
                self.peers()
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

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
