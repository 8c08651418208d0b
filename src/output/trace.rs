//! The trace files of `swarmsim run --trace`, streamed to disk as the run goes:
//!
//! - `chunks.csv`: one row per chunk that wholly arrived at a peer:
//!   `time_s, peer, chunk, sender, bytes, duration_s` (`sender` is a peer index or
//!   `server`; `bytes` and `duration_s` are those of the transfer that brought the
//!   chunk's last bytes: the whole chunk unless it came in parts);
//! - `chokes.csv` (BitTorrent only): one row per change of a node's choke of a
//!   neighbour: `time_s, node, neighbour, action, kind` (`node` and `neighbour`
//!   are peer indices or `server`; `action` is `unchoked` or `choked`, `kind`
//!   `regular` or `optimistic`; a connection that closes while unchoked gives a
//!   `choked` row).
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

/// Writes `x` as [`super::num`] does (shortest round-trip text, `0` for zero, an
/// exponent outside `[1e-6, 1e16)`), without allocating.
fn write_num(w: &mut impl Write, x: f64) -> std::io::Result<()> {
    if x == 0.0 {
        w.write_all(b"0")
    } else if x.is_finite() && !(1e-6..1e16).contains(&x.abs()) {
        write!(w, "{x:e}")
    } else {
        write!(w, "{x}")
    }
}

/// Writes a node as a peer index, or `server`.
fn write_node(w: &mut impl Write, n: NodeId) -> std::io::Result<()> {
    if n == SERVER {
        w.write_all(b"server")
    } else {
        write!(w, "{}", crate::model::peer_of(n))
    }
}

impl TraceSink for TraceWriter {
    fn chunk(&mut self, a: &ChunkArrival) {
        if self.failed.is_some() {
            return;
        }
        let w = &mut self.chunks.out;
        let r = (|| {
            write_num(w, a.time.as_secs_f64())?;
            write!(w, ",{},{},", a.peer, a.chunk)?;
            write_node(w, a.sender)?;
            w.write_all(b",")?;
            write_num(w, a.bytes)?;
            w.write_all(b",")?;
            write_num(w, a.duration_s)?;
            w.write_all(b"\n")
        })();
        self.note(r, false);
    }

    fn choke(&mut self, c: &ChokeChange) {
        if self.failed.is_some() {
            return;
        }
        let Some(s) = &mut self.chokes else { return };
        let w = &mut s.out;
        let r = (|| {
            write_num(w, c.time.as_secs_f64())?;
            w.write_all(b",")?;
            write_node(w, c.node)?;
            w.write_all(b",")?;
            write_node(w, c.neighbour)?;
            let action: &[u8] = if c.unchoked {
                b",unchoked,"
            } else {
                b",choked,"
            };
            w.write_all(action)?;
            let kind: &[u8] = if c.optimistic {
                b"optimistic\n"
            } else {
                b"regular\n"
            };
            w.write_all(kind)
        })();
        self.note(r, true);
    }
}

/// Estimated sizes in bytes of the trace files of a run of `s` that completes:
/// `(chunks.csv, chokes.csv)` (`chokes.csv` 0 unless BitTorrent).
///
/// `chunks.csv` has one row per peer and chunk; a row's width is counted from the
/// digits of its fields, with 18 characters for each of the two times and the
/// chunk's size in digits for `bytes`. `chokes.csv` cannot be known before the run:
/// the estimate takes 0.4 rows per peer and rechoke period over `2 D_p2p` (the
/// bound, doubled for the start-up and the endgame), the rate measured on the
/// shipped BitTorrent scenarios (docs/REPORT.md), at 40 bytes a row.
pub fn estimate_bytes(s: &Scenario) -> (f64, f64) {
    let n = s.peers() as f64;
    let c = s.chunks() as f64;
    let digits = |x: f64| x.max(1.0).log10().floor() + 1.0;
    let row = 18.0 + digits(n) + digits(c) + digits(n) + digits(s.chunk_bytes as f64) + 18.0 + 6.0;
    let chunks = CHUNKS_HEADER.len() as f64 + 1.0 + n * c * row;
    let chokes = if s.protocol == ProtocolKind::BitTorrent {
        let periods = 2.0 * crate::bounds::bounds(s).d_p2p / s.bittorrent.rechoke_interval;
        CHOKES_HEADER.len() as f64 + 1.0 + 0.4 * n * periods * 40.0
    } else {
        0.0
    };
    (chunks, chokes)
}
