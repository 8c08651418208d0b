//! The trace files of `swarmsim run --trace`, streamed to disk as the run goes:
//!
//! - `chunks.csv`: one row per chunk that wholly arrived at a peer:
//!   `time_s, peer, chunk, sender, bytes, duration_s` (`sender` is a peer index or
//!   `server`; `bytes` and `duration_s` are those of the transfer that brought the
//!   chunk's last bytes: the whole chunk unless it came in parts);
//! - `chokes.csv` (BitTorrent only): one row per change of a node's choke of a
//!   neighbour: `time_s, node, neighbour, action, kind` (`node` and `neighbour`
//!   are peer indices or `server`; `action` is `unchoked`, `choked` or `changed`
//!   (the unchoke goes on as the other kind), `kind` `regular` or `optimistic`
//!   (after the change); a connection that closes while unchoked gives a `choked`
//!   row).
//!
//! Times are exact: virtual time is integer nanoseconds, written as seconds with
//! up to nine decimals (the same text as `peers.csv` uses below 10^6 s).
//!
//! Rows go through a buffered writer into a temporary file in the output folder,
//! renamed into place only when the run finished ([`TraceWriter::finish`]); an
//! interrupted run leaves no trace file behind ([`TraceWriter::abandon`]).

use super::{OutputError, tmp_path};
use crate::model::{ChokeChange, ChunkArrival, SERVER, TraceSink};
use crate::network::NodeId;
use crate::scenario::{ProtocolKind, Scenario};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The chunk trace's file name.
pub const CHUNKS_FILE: &str = "chunks.csv";
/// The choke trace's file name.
pub const CHOKES_FILE: &str = "chokes.csv";
/// Both trace files (for removing those of an earlier run).
pub const TRACE_FILES: &[&str] = &[CHUNKS_FILE, CHOKES_FILE];

/// The header of `chunks.csv`.
pub const CHUNKS_HEADER: &str = "time_s,peer,chunk,sender,bytes,duration_s";
/// The header of `chokes.csv`.
pub const CHOKES_HEADER: &str = "time_s,node,neighbour,action,kind";

/// One trace file being written: its final path, the temporary file's writer.
struct Stream {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Stream {
    fn create(dir: &Path, name: &str, header: &str) -> Result<Stream, OutputError> {
        let path = dir.join(name);
        let tmp = tmp_path(&path);
        let file = File::create(&tmp).map_err(|e| OutputError::io("create", &tmp, e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        writeln!(out, "{header}").map_err(|e| OutputError::io("write", &tmp, e))?;
        Ok(Stream { path, out })
    }
}

/// Streams a run's trace into the output folder; implements [`TraceSink`].
pub struct TraceWriter {
    chunks: Stream,
    chokes: Option<Stream>,
    /// The first write error (later rows are dropped; [`TraceWriter::finish`]
    /// reports it).
    failed: Option<(PathBuf, std::io::Error)>,
    /// The row being formatted (reused).
    row: Vec<u8>,
}

impl TraceWriter {
    /// Opens the trace files for a run of `s` in `dir` (which must exist):
    /// `chunks.csv`, and `chokes.csv` for BitTorrent.
    pub fn create(dir: &Path, s: &Scenario) -> Result<TraceWriter, OutputError> {
        let chunks = Stream::create(dir, CHUNKS_FILE, CHUNKS_HEADER)?;
        let chokes = if s.protocol == ProtocolKind::BitTorrent {
            match Stream::create(dir, CHOKES_FILE, CHOKES_HEADER) {
                Ok(c) => Some(c),
                Err(e) => {
                    let _ = std::fs::remove_file(tmp_path(&chunks.path));
                    return Err(e);
                }
            }
        } else {
            None
        };
        Ok(TraceWriter {
            chunks,
            chokes,
            failed: None,
            row: Vec::with_capacity(128),
        })
    }

    fn streams(&self) -> impl Iterator<Item = &Stream> {
        std::iter::once(&self.chunks).chain(self.chokes.as_ref())
    }

    /// Flushes the files and renames them into place. On error, removes the
    /// temporary files and reports the first failure.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, OutputError> {
        let mut result = match self.failed.take() {
            Some((p, e)) => Err(OutputError::io("write", tmp_path(&p), e)),
            None => Ok(()),
        };
        let mut done = Vec::new();
        let streams: Vec<Stream> = std::iter::once(self.chunks).chain(self.chokes).collect();
        for mut s in streams {
            let tmp = tmp_path(&s.path);
            if result.is_ok() {
                result = s
                    .out
                    .flush()
                    .map_err(|e| OutputError::io("write", &tmp, e))
                    .and_then(|_| {
                        std::fs::rename(&tmp, &s.path).map_err(|e| {
                            OutputError::io(format!("rename {} to", tmp.display()), &s.path, e)
                        })
                    });
                if result.is_ok() {
                    done.push(s.path);
                    continue;
                }
            }
            drop(s.out);
            let _ = std::fs::remove_file(&tmp);
        }
        if result.is_err() {
            // Nothing of a failed trace stays, not even the part already renamed.
            for p in &done {
                let _ = std::fs::remove_file(p);
            }
        }
        result.map(|_| done)
    }

    /// Removes the temporary files (the run did not finish).
    pub fn abandon(self) {
        let tmps: Vec<PathBuf> = self.streams().map(|s| tmp_path(&s.path)).collect();
        drop(self);
        for t in tmps {
            let _ = std::fs::remove_file(t);
        }
    }

    fn note(&mut self, r: std::io::Result<()>, chokes: bool) {
        if let Err(e) = r
            && self.failed.is_none()
        {
            let p = if chokes {
                self.chokes.as_ref().map_or(&self.chunks.path, |s| &s.path)
            } else {
                &self.chunks.path
            };
            self.failed = Some((p.clone(), e));
        }
    }
}

/// Appends the decimal digits of `v`.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a virtual time (integer nanoseconds) as seconds, exactly: the whole
/// seconds, then the fraction without trailing zeros (`0`, `2`, `0.8388608`). Up to
/// 15 significant digits (any time below 10^6 s) this is the text [`super::num`]
/// gives the same time as an `f64`, without its cost.
fn push_secs(out: &mut Vec<u8>, ns: u64) {
    push_u64(out, ns / 1_000_000_000);
    let mut frac = ns % 1_000_000_000;
    if frac != 0 {
        let mut width = 9;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        out.push(b'.');
        let mut digits = 1;
        let mut x = frac;
        while x >= 10 {
            x /= 10;
            digits += 1;
        }
        out.extend(std::iter::repeat_n(b'0', width - digits));
        push_u64(out, frac);
    }
}

/// Appends a byte count: as an integer when it is one (nearly always), otherwise
/// as [`super::num`] writes it.
fn push_bytes(out: &mut Vec<u8>, x: f64) {
    if (0.0..9e15).contains(&x) && x.fract() == 0.0 {
        push_u64(out, x as u64);
    } else {
        out.extend_from_slice(super::num(x).as_bytes());
    }
}

/// Appends a node as a peer index, or `server`.
fn push_node(out: &mut Vec<u8>, n: NodeId) {
    if n == SERVER {
        out.extend_from_slice(b"server");
    } else {
        push_u64(out, crate::model::peer_of(n) as u64);
    }
}

impl TraceSink for TraceWriter {
    fn chunk(&mut self, a: &ChunkArrival) {
        if self.failed.is_some() {
            return;
        }
        let row = &mut self.row;
        row.clear();
        push_secs(row, a.time.0);
        row.push(b',');
        push_u64(row, a.peer as u64);
        row.push(b',');
        push_u64(row, a.chunk as u64);
        row.push(b',');
        push_node(row, a.sender);
        row.push(b',');
        push_bytes(row, a.bytes);
        row.push(b',');
        push_secs(row, a.time.0.saturating_sub(a.started.0));
        row.push(b'\n');
        let r = self.chunks.out.write_all(row);
        self.note(r, false);
    }

    fn choke(&mut self, c: &ChokeChange) {
        if self.failed.is_some() {
            return;
        }
        let Some(s) = &mut self.chokes else { return };
        let row = &mut self.row;
        row.clear();
        push_secs(row, c.time.0);
        row.push(b',');
        push_node(row, c.node);
        row.push(b',');
        push_node(row, c.neighbour);
        row.push(b',');
        row.extend_from_slice(c.action.name().as_bytes());
        row.push(b',');
        row.extend_from_slice(if c.optimistic {
            b"optimistic\n"
        } else {
            b"regular\n"
        });
        let r = s.out.write_all(row);
        self.note(r, true);
    }
}

/// Estimated sizes in bytes of the trace files of a run of `s` that completes:
/// `(chunks.csv, chokes.csv)` (`chokes.csv` 0 unless BitTorrent).
///
/// `chunks.csv` has one row per peer and chunk, of about `26 + 2 d(N) + d(C) +
/// d(chunk size)` bytes (`d` = decimal digits; 26 for the two times and the
/// separators). `chokes.csv` cannot be known before the run: the estimate takes
/// 6.5 rows per peer and rechoke period over `1.15 D_p2p`, of `24 + 2 d(N)` bytes
/// each. Both rates were measured on `bittorrent-flash-crowd` (42 and 30 bytes a
/// row, 5.8 choke rows per peer and period, the run 1.08 D_p2p) and the 1,000-peer
/// bench scenario `homog-1k-fast` (44 and 34 bytes, 7.4 rows, 1.16 D_p2p).
pub fn estimate_bytes(s: &Scenario) -> (f64, f64) {
    let n = s.peers() as f64;
    let c = s.chunks() as f64;
    let digits = |x: f64| x.max(1.0).log10().floor() + 1.0;
    let row = 26.0 + 2.0 * digits(n) + digits(c) + digits(s.chunk_bytes as f64);
    let chunks = CHUNKS_HEADER.len() as f64 + 1.0 + n * c * row;
    let chokes = if s.protocol == ProtocolKind::BitTorrent {
        let periods = 1.15 * s.bounds().d_p2p / s.bittorrent.rechoke_interval;
        CHOKES_HEADER.len() as f64 + 1.0 + 6.5 * n * periods * (24.0 + 2.0 * digits(n))
    } else {
        0.0
    };
    (chunks, chokes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::test_util::cases(256))]
        #[test]
        fn exact_seconds_read_as_num_writes_them(ns in 0u64..1_000_000_000_000_000) {
            // Below 10^6 s a time has at most 15 significant digits, so the shortest
            // text of the nearest f64 (what `num` writes) is the exact decimal.
            let mut out = Vec::new();
            push_secs(&mut out, ns);
            let t = crate::engine::Time(ns).as_secs_f64();
            prop_assert_eq!(String::from_utf8(out).unwrap(), crate::output::num(t));
        }
    }

    #[test]
    fn integers_and_nodes_by_hand() {
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, 18_446_744_073_709_551_615);
        out.push(b' ');
        push_secs(&mut out, 838_860_800);
        out.push(b' ');
        push_secs(&mut out, 2_000_000_000);
        out.push(b' ');
        push_secs(&mut out, 1_000_000_001);
        out.push(b' ');
        push_bytes(&mut out, 262_144.0);
        out.push(b' ');
        push_bytes(&mut out, 0.5);
        out.push(b' ');
        push_node(&mut out, SERVER);
        out.push(b' ');
        push_node(&mut out, 8);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0 18446744073709551615 0.8388608 2 1.000000001 262144 0.5 server 7"
        );
    }

    #[test]
    fn size_estimate_is_within_a_third_of_the_measured_files() {
        // Measured with `swarmsim run --trace` (docs/REPORT.md): the flash crowd's
        // chunks.csv 1,678,250 bytes and chokes.csv 1,450,686; homog-1k-fast's
        // 17,693,332 and 23,864,755.
        for (file, chunks, chokes) in [
            ("bittorrent-flash-crowd.toml", 1_678_250.0, 1_450_686.0),
            ("bench/homog-1k-fast.toml", 17_693_332.0, 23_864_755.0),
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios")
                .join(file);
            let s = Scenario::load(&path, &[], None).expect("valid");
            let (a, b) = estimate_bytes(&s);
            for (est, real) in [(a, chunks), (b, chokes)] {
                assert!(
                    (est / real - 1.0).abs() < 1.0 / 3.0,
                    "{file}: estimate {est} against {real}"
                );
            }
        }
    }
}
