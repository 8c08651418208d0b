//! The playback data of a traced run, computed from `chunks.csv`, `peers.csv`
//! and (BitTorrent) `chokes.csv`, down-sampled to what a screen shows:
//!
//! - the grid: peers x chunks, grouped into at most [`MAX_CELLS`] x [`MAX_CELLS`]
//!   blocks; a block's time is the mean arrival time of its (peer, chunk) pairs,
//!   or none if fewer than half of them arrived;
//! - [`FRAMES`] frames evenly spaced from 0 to the last arrival: per frame, the
//!   copies of each chunk (mean over a column's chunks) held by present peers,
//!   the transfers in progress between groups of peers (at most [`MAX_GROUPS`]
//!   groups plus the server; at most [`MAX_LINKS`] links a frame, the busiest),
//!   and each group's leechers and seeds present.
//!
//! The result is a JSON object the page's script reads.

use super::ReportError;
use super::data::{Csv, parse_num};
use super::html::base64;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// Most rows (peer groups) and columns (chunk groups) of the grid.
pub const MAX_CELLS: usize = 500;
/// Frames of the playback.
pub const FRAMES: usize = 200;
/// Most peer groups in the link graph.
pub const MAX_GROUPS: usize = 100;
/// Most links drawn per frame.
pub const MAX_LINKS: usize = 800;

/// A quantised time that means "never".
const NEVER: u16 = u16::MAX;

/// What the playback shows and how it was reduced.
pub struct Playback {
    /// The JSON object for the page.
    pub json: String,
    /// Sentences saying how the data were down-sampled (empty if they were not).
    pub notes: Vec<String>,
    /// Rows of chunks.csv read.
    pub arrivals: u64,
}

/// One peer's times from peers.csv.
struct PeerTimes {
    arrival: f64,
    completion: f64,
    departure: f64,
}

/// Index of the group of `i` among `n` items cut into `groups` groups.
fn group(i: usize, n: usize, groups: usize) -> usize {
    (i * groups / n.max(1)).min(groups.saturating_sub(1))
}

/// The first frame whose time is at or after `t` (frames at `k * end / (F - 1)`).
fn first_frame_at(t: f64, end: f64) -> usize {
    if !t.is_finite() {
        return FRAMES;
    }
    if end <= 0.0 {
        return 0;
    }
    let k = (t / end * (FRAMES - 1) as f64).ceil();
    // A frame time can round just below `t`: step forward while it does.
    let mut k = k.max(0.0) as usize;
    while k < FRAMES && frame_time(k, end) < t {
        k += 1;
    }
    k.min(FRAMES)
}

/// The time of frame `k`.
pub fn frame_time(k: usize, end: f64) -> f64 {
    end * k as f64 / (FRAMES - 1) as f64
}

/// Builds the playback of the run in `dir` (its peers.csv read as `peers_csv`) of
/// a file in `chunks` chunks that ended at `end` seconds, from its chunks.csv.
pub fn build(
    dir: &Path,
    peers_csv: &Csv,
    chunks: usize,
    end: f64,
) -> Result<Playback, ReportError> {
    let end = if end.is_finite() && end > 0.0 {
        end
    } else {
        1.0
    };
    let n = peers_csv.rows.len();
    let arr = peers_csv.nums("arrival_s")?;
    let comp = peers_csv.nums("completion_s")?;
    let dep = peers_csv.nums("departure_s")?;
    let times: Vec<PeerTimes> = (0..n)
        .map(|i| PeerTimes {
            arrival: arr[i],
            completion: comp[i],
            departure: dep[i],
        })
        .collect();
    let path = dir.join(crate::output::trace::CHUNKS_FILE);
    let rows_n = n.clamp(1, MAX_CELLS);
    let cols_n = chunks.clamp(1, MAX_CELLS);
    let groups = n.clamp(1, MAX_GROUPS);
    let mut sum = vec![0f64; rows_n * cols_n];
    let mut cnt = vec![0u32; rows_n * cols_n];
    // Availability per frame and column: +1 from the arrival's frame, -1 from the
    // frame its peer has left at.
    let mut diff = vec![0i64; (FRAMES + 1) * cols_n];
    // Links in progress at each frame between groups (the server is group `groups`).
    let mut links: Vec<HashMap<(u16, u16), u32>> = vec![HashMap::new(); FRAMES];
    let mut reader = open_trace(&path, crate::output::trace::CHUNKS_HEADER)?;
    let mut rec = csv::StringRecord::new();
    let mut line = 1usize;
    while reader
        .read_record(&mut rec)
        .map_err(|e| ReportError(format!("{}: {e}", path.display())))?
    {
        line += 1;
        let field = |i: usize| rec.get(i).unwrap_or("");
        let t = parse_num(field(0), &path, line, "time_s")?;
        let index = |i: usize, name: &str, below: usize| -> Result<usize, ReportError> {
            field(i)
                .parse::<usize>()
                .ok()
                .filter(|v| *v < below)
                .ok_or_else(|| {
                    ReportError(format!(
                        "{}: line {line}: {name} = \"{}\" is not an index below {below}",
                        path.display(),
                        field(i)
                    ))
                })
        };
        let p = index(1, "peer", n)?;
        let c = index(2, "chunk", chunks)?;
        let sender = if field(3) == "server" {
            None
        } else {
            Some(index(3, "sender", n)?)
        };
        let d = parse_num(field(5), &path, line, "duration_s")?;
        if !t.is_finite() || !d.is_finite() {
            return Err(ReportError(format!(
                "{}: line {line}: time_s and duration_s must be numbers",
                path.display()
            )));
        }
        let cell = group(p, n, rows_n) * cols_n + group(c, chunks, cols_n);
        sum[cell] += t;
        cnt[cell] += 1;
        let col = group(c, chunks, cols_n);
        let from = first_frame_at(t, end);
        let to = first_frame_at(times[p].departure, end).max(from);
        diff[from * cols_n + col] += 1;
        diff[to * cols_n + col] -= 1;
        // The transfer is drawn at frame k if it runs then: start <= t_k < end.
        let src = sender.map_or(groups, |s| group(s, n, groups)) as u16;
        let dst = group(p, n, groups) as u16;
        let (a, b) = (first_frame_at(t - d, end), first_frame_at(t, end));
        for frame in links.iter_mut().take(b).skip(a) {
            *frame.entry((src, dst)).or_default() += 1;
        }
    }
    let arrivals = (line - 1) as u64;
    // Members of each block: peers in its row group times chunks in its column.
    let members = |i: usize, total: usize, k: usize| -> usize {
        let lo = (i * total).div_ceil(k);
        let hi = ((i + 1) * total).div_ceil(k);
        hi - lo
    };
    let mut cells = Vec::with_capacity(2 * rows_n * cols_n);
    for r in 0..rows_n {
        let m_r = members(r, n, rows_n);
        for c in 0..cols_n {
            let m = m_r * members(c, chunks, cols_n);
            let k = r * cols_n + c;
            let q = if cnt[k] > 0 && 2 * cnt[k] as usize >= m {
                ((sum[k] / cnt[k] as f64) / end * 65534.0)
                    .round()
                    .clamp(0.0, 65534.0) as u16
            } else {
                NEVER
            };
            cells.extend_from_slice(&q.to_le_bytes());
        }
    }
    let mut avail = Vec::with_capacity(4 * FRAMES * cols_n);
    let mut run = vec![0i64; cols_n];
    for f in 0..FRAMES {
        for c in 0..cols_n {
            run[c] += diff[f * cols_n + c];
            let per_chunk = run[c] as f64 / members(c, chunks, cols_n).max(1) as f64;
            avail.extend_from_slice(&(per_chunk as f32).to_le_bytes());
        }
    }
    let mut capped = false;
    let mut links_json = String::from("[");
    for (k, m) in links.into_iter().enumerate() {
        let mut v: Vec<((u16, u16), u32)> = m.into_iter().collect();
        v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        if v.len() > MAX_LINKS {
            capped = true;
            v.truncate(MAX_LINKS);
        }
        if k > 0 {
            links_json.push(',');
        }
        links_json.push('[');
        for (i, ((s, d), w)) in v.iter().enumerate() {
            if i > 0 {
                links_json.push(',');
            }
            let _ = write!(links_json, "{s},{d},{w}");
        }
        links_json.push(']');
    }
    links_json.push(']');
    // Each group's leechers and seeds present at each frame.
    let mut state = Vec::with_capacity(FRAMES * groups * 2);
    for f in 0..FRAMES {
        let t = frame_time(f, end);
        let mut lee = vec![0u32; groups];
        let mut see = vec![0u32; groups];
        for (i, pt) in times.iter().enumerate() {
            // (A peer that never left has a NaN departure.)
            let present = pt.arrival <= t && (pt.departure.is_nan() || pt.departure > t);
            if present {
                let g = group(i, n, groups);
                if pt.completion <= t {
                    see[g] += 1;
                } else {
                    lee[g] += 1;
                }
            }
        }
        for g in 0..groups {
            state.push(lee[g]);
            state.push(see[g]);
        }
    }
    let mut size = vec![0u32; groups];
    for i in 0..n {
        size[group(i, n, groups)] += 1;
    }
    let mut notes = Vec::new();
    if rows_n < n || cols_n < chunks {
        notes.push(format!(
            "The grid shows {n} peers x {chunks} chunks as {rows_n} x {cols_n} blocks of \
             about {:.0} peers x {:.0} chunks; a block takes the mean arrival time of its \
             pairs (blank while fewer than half of them have arrived).",
            n as f64 / rows_n as f64,
            chunks as f64 / cols_n as f64
        ));
    }
    if cols_n < chunks {
        notes.push(format!(
            "Availability: each bar is the mean number of copies of the {:.0} chunks of \
             its column.",
            chunks as f64 / cols_n as f64
        ));
    }
    if groups < n {
        notes.push(format!(
            "The link graph groups the {n} peers into {groups} groups of about {:.0} \
             consecutive peers; a link's width counts its transfers.",
            n as f64 / groups as f64
        ));
    }
    if capped {
        notes.push(format!(
            "The link graph draws at most {MAX_LINKS} links a frame, the busiest."
        ));
    }
    let json_list = |v: &[u32]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let json = format!(
        "{{\"peers\":{n},\"chunks\":{chunks},\"rows\":{rows_n},\"cols\":{cols_n},\
         \"groups\":{groups},\"frames\":{FRAMES},\"end\":{end},\
         \"cells\":\"{}\",\"avail\":\"{}\",\"links\":{links_json},\
         \"state\":[{}],\"size\":[{}]}}",
        base64(&cells),
        base64(&avail),
        json_list(&state),
        json_list(&size),
    );
    Ok(Playback {
        json,
        notes,
        arrivals,
    })
}

/// Opens a trace file for reading, refusing it unless its header is `want` (the
/// trace writer's, comma-separated).
fn open_trace(path: &Path, want: &str) -> Result<csv::Reader<std::fs::File>, ReportError> {
    let bad = |e: csv::Error| ReportError(format!("{}: {e}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(bad)?;
    let header = reader.headers().map_err(bad)?;
    if !header.iter().eq(want.split(',')) {
        return Err(ReportError(format!(
            "{}: the header is {}; expected {want}",
            path.display(),
            header.iter().collect::<Vec<_>>().join(",")
        )));
    }
    Ok(reader)
}

/// Points of the unchokes series: the counts at this many evenly spaced times.
pub const UNCHOKE_POINTS: usize = 2000;

/// The number of regular and optimistic unchokes in effect over time, from
/// chokes.csv (streamed: it can be large), as step series `(time, count)` with the
/// counts at [`UNCHOKE_POINTS`] + 1 evenly spaced times from 0 to `end`.
pub fn unchokes(path: &Path, end: f64) -> Result<[Vec<(f64, f64)>; 2], ReportError> {
    let end = if end.is_finite() && end > 0.0 {
        end
    } else {
        1.0
    };
    let bad = |e: csv::Error| ReportError(format!("{}: {e}", path.display()));
    let mut reader = open_trace(path, crate::output::trace::CHOKES_HEADER)?;
    let mut counts = [0i64; 2];
    let mut out: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    // Appends the counts at every sample time before `t`.
    let fill = |out: &mut [Vec<(f64, f64)>; 2], counts: &[i64; 2], t: f64| {
        while out[0].len() <= UNCHOKE_POINTS {
            let at = end * out[0].len() as f64 / UNCHOKE_POINTS as f64;
            if at >= t {
                break;
            }
            for k in 0..2 {
                out[k].push((at, counts[k] as f64));
            }
        }
    };
    let mut rec = csv::StringRecord::new();
    let mut line = 1;
    while reader.read_record(&mut rec).map_err(bad)? {
        line += 1;
        let time = parse_num(rec.get(0).unwrap_or(""), path, line, "time_s")?;
        // A row at time t changes the counts from t on: samples before t do not
        // see it, samples at t do.
        fill(&mut out, &counts, time);
        let which = match rec.get(4).unwrap_or("") {
            "regular" => 0,
            "optimistic" => 1,
            other => {
                return Err(ReportError(format!(
                    "{}: line {line}: kind = \"{other}\": expected regular or optimistic",
                    path.display()
                )));
            }
        };
        match rec.get(3).unwrap_or("") {
            "unchoked" => counts[which] += 1,
            "choked" => counts[which] -= 1,
            "changed" => {
                counts[which] += 1;
                counts[1 - which] -= 1;
            }
            other => {
                return Err(ReportError(format!(
                    "{}: line {line}: action = \"{other}\": expected unchoked, choked or changed",
                    path.display()
                )));
            }
        }
    }
    fill(&mut out, &counts, f64::INFINITY);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_of_other_columns_is_refused_naming_both_headers() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("chokes.csv");
        // A chunks.csv header where chokes.csv's is expected; then a header with one
        // quoted field holding a comma, whose text joined by commas is the right one.
        std::fs::write(&p, "time_s,peer,chunk,sender,bytes,duration_s\n").unwrap();
        let e = unchokes(&p, 1.0).unwrap_err();
        assert_eq!(
            e.0,
            format!(
                "{}: the header is time_s,peer,chunk,sender,bytes,duration_s; expected \
                 time_s,node,neighbour,action,kind",
                p.display()
            )
        );
        std::fs::write(&p, "\"time_s,node\",neighbour,action,kind\n").unwrap();
        assert!(unchokes(&p, 1.0).is_err());
        std::fs::write(&p, "time_s,node,neighbour,action,kind\n").unwrap();
        assert!(unchokes(&p, 1.0).is_ok());
    }

    #[test]
    fn frames_start_at_or_after_the_time() {
        // Frames at k * 199 / 199 = k seconds for end = 199: t = 3.5 -> frame 4,
        // t = 4 -> frame 4, t = 0 -> 0, t past the end -> FRAMES.
        assert_eq!(first_frame_at(3.5, 199.0), 4);
        assert_eq!(first_frame_at(4.0, 199.0), 4);
        assert_eq!(first_frame_at(0.0, 199.0), 0);
        assert_eq!(first_frame_at(500.0, 199.0), FRAMES);
        assert_eq!(first_frame_at(f64::NAN, 199.0), FRAMES);
    }

    #[test]
    fn unchoke_counts_follow_the_rows() {
        // By hand: a regular unchoke from 0 s to 3 s; an optimistic one from 1 s,
        // kept as a regular one from 2 s. Sampled every 4/2000 s: at 1 s one of
        // each, at 2 s two regular, at 3 s and 4 s one regular.
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("chokes.csv");
        std::fs::write(
            &p,
            "time_s,node,neighbour,action,kind\n0,server,0,unchoked,regular\n\
             1,0,1,unchoked,optimistic\n2,0,1,changed,regular\n3,server,0,choked,regular\n",
        )
        .expect("write");
        let [reg, opt] = unchokes(&p, 4.0).expect("valid");
        assert_eq!(reg.len(), UNCHOKE_POINTS + 1);
        for (i, t, r, o) in [
            (0, 0.0, 1.0, 0.0),
            (500, 1.0, 1.0, 1.0),
            (1000, 2.0, 2.0, 0.0),
            (1500, 3.0, 1.0, 0.0),
            (2000, 4.0, 1.0, 0.0),
        ] {
            assert_eq!(reg[i], (t, r), "regular at {t}");
            assert_eq!(opt[i], (t, o), "optimistic at {t}");
        }
        // Just before 1 s: no optimistic unchoke yet.
        assert_eq!(opt[499].1, 0.0);
    }

    #[test]
    fn groups_split_evenly() {
        // 1000 items in 500 groups: two each; 10 items in 3 groups: 4, 3, 3 by
        // i * 3 / 10 -> 0,0,0,0,1,1,1,2,2,2.
        assert_eq!(group(999, 1000, 500), 499);
        assert_eq!(group(1, 1000, 500), 0);
        let g: Vec<usize> = (0..10).map(|i| group(i, 10, 3)).collect();
        assert_eq!(g, vec![0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    }
}
