//! Per-class statistics of a run (`classes.csv`) and of a sweep point
//! (`points_by_class.csv`).
//!
//! For each peer class of a run: how many peers, how many completed, the mean,
//! median and 95th percentile (nearest rank) of two durations over the completed
//! peers, the bytes the class uploaded and downloaded, and the share of its useful
//! bytes that came from the server:
//!
//! - completion time: completion minus the peer's own arrival (as
//!   `mean_completion_s` in `summary.csv`);
//! - download time: completion minus the arrival of the peer's first chunk (the time
//!   spent receiving, without the wait for a first chunk).

use super::num;
use crate::model::RunResult;
use crate::model::percentile;
use std::collections::BTreeMap;

/// The statistics of one class in one run.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassStats {
    /// Class name.
    pub class: String,
    /// Peers in the class.
    pub peers: u64,
    /// Peers of the class that completed.
    pub completed: u64,
    /// Mean, median and p95 of completion minus arrival over completed peers, s.
    pub completion_s: [f64; 3],
    /// Mean, median and p95 of completion minus first chunk over completed peers, s.
    pub download_s: [f64; 3],
    /// Bytes the class's peers sent to other peers.
    pub bytes_uploaded: f64,
    /// Bytes the class's peers received (wasted ones included).
    pub bytes_downloaded: f64,
    /// Bytes from the server over bytes from the server and from peers (NaN if none).
    pub share_from_server: f64,
}

/// The column names of the statistics, in order (after any identifying columns).
pub const STAT_COLUMNS: [&str; 12] = [
    "peers",
    "completed",
    "mean_completion_s",
    "median_completion_s",
    "p95_completion_s",
    "mean_download_s",
    "median_download_s",
    "p95_download_s",
    "bytes_uploaded",
    "bytes_downloaded",
    "share_from_server",
    "class_index",
];

fn mean_median_p95(mut v: Vec<f64>) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    let mean = if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    };
    [mean, percentile(&v, 0.5), percentile(&v, 0.95)]
}

/// The statistics of every class of a run, in scenario order (a class with no peer
/// still gets a row).
pub fn class_stats(r: &RunResult) -> Vec<ClassStats> {
    (0..r.class_names.len())
        .map(|c| {
            let members = r.peers.iter().filter(|p| p.class as usize == c);
            let mut peers = 0;
            let (mut up, mut down, mut server, mut from_peers) = (0.0, 0.0, 0.0, 0.0);
            let (mut completion, mut download) = (Vec::new(), Vec::new());
            for p in members {
                peers += 1;
                up += p.bytes_uploaded;
                down += p.bytes_downloaded;
                server += p.bytes_from_server;
                from_peers += p.bytes_from_peers;
                if let Some(t) = p.completion {
                    completion.push(t.secs_since(p.arrival));
                    download.push(p.first_chunk.map_or(f64::NAN, |f| t.secs_since(f)));
                }
            }
            let completed = completion.len() as u64;
            download.retain(|x| !x.is_nan());
            ClassStats {
                class: r.class_names[c].clone(),
                peers,
                completed,
                completion_s: mean_median_p95(completion),
                download_s: mean_median_p95(download),
                bytes_uploaded: up,
                bytes_downloaded: down,
                share_from_server: server / (server + from_peers),
            }
        })
        .collect()
}

impl ClassStats {
    /// The values of [`STAT_COLUMNS`] as CSV fields; `index` is the class's place
    /// in the scenario.
    pub fn cells(&self, index: usize) -> Vec<String> {
        let [cm, cmed, cp] = self.completion_s;
        let [dm, dmed, dp] = self.download_s;
        vec![
            self.peers.to_string(),
            self.completed.to_string(),
            num(cm),
            num(cmed),
            num(cp),
            num(dm),
            num(dmed),
            num(dp),
            num(self.bytes_uploaded),
            num(self.bytes_downloaded),
            num(self.share_from_server),
            index.to_string(),
        ]
    }
}

/// The header and rows of `classes.csv`: `scenario`, `seed`, `class`, then
/// [`STAT_COLUMNS`].
pub fn class_rows(r: &RunResult) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let mut header = vec!["scenario", "seed", "class"];
    header.extend(STAT_COLUMNS);
    let rows = class_stats(r)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = vec![
                r.summary.scenario.clone(),
                r.summary.seed.to_string(),
                c.class.clone(),
            ];
            row.extend(c.cells(i));
            row
        })
        .collect();
    (header, rows)
}

/// The per-class lines of the run summary: one line per class.
pub fn class_report(r: &RunResult) -> String {
    let stats = class_stats(r);
    let width = stats
        .iter()
        .map(|c| c.class.len())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut t = format!(
        "{:<14}{:<width$}  {:>9}  {:>10}  {:>10}  {:>10}  {:>10}  {:>7}\n",
        "classes", "class", "completed", "mean", "median", "p95", "mean dl", "server"
    );
    let s = |x: f64| {
        if x.is_nan() {
            "-".to_string()
        } else {
            format!("{x:.1} s")
        }
    };
    for c in &stats {
        t.push_str(&format!(
            "{:<14}{:<width$}  {:>9}  {:>10}  {:>10}  {:>10}  {:>10}  {:>7}\n",
            "",
            c.class,
            format!("{}/{}", c.completed, c.peers),
            s(c.completion_s[0]),
            s(c.completion_s[1]),
            s(c.completion_s[2]),
            s(c.download_s[0]),
            if c.share_from_server.is_nan() {
                "-".to_string()
            } else {
                format!("{:.1} %", 100.0 * c.share_from_server)
            }
        ));
    }
    t
}

/// The header and rows of `points_by_class.csv`, from the per-run class rows of a
/// sweep (`runs_by_class.csv`: `run`, `point`, the `param_*` columns,
/// `replication`, `class`, then [`STAT_COLUMNS`]). One row per point and class, in
/// point then class order: the identifying columns, `runs`, then the mean over the
/// point's runs of each statistic (runs where it is empty left out).
pub fn points_by_class_rows(
    header: &[String],
    rows: &[Vec<String>],
) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("lacks the column {name}"))
    };
    let point = col("point")?;
    let class = col("class")?;
    let index = col("class_index")?;
    let params: Vec<usize> = (0..header.len())
        .filter(|&i| header[i].starts_with("param_"))
        .collect();
    let stats: Vec<usize> = STAT_COLUMNS[..STAT_COLUMNS.len() - 1]
        .iter()
        .map(|c| col(c))
        .collect::<Result<_, _>>()?;
    let mut out_h = vec!["point".to_string()];
    out_h.extend(params.iter().map(|&i| header[i].clone()));
    out_h.push("class".into());
    out_h.push("runs".into());
    out_h.extend(
        STAT_COLUMNS[..STAT_COLUMNS.len() - 1]
            .iter()
            .map(|c| c.to_string()),
    );
    let mut groups: BTreeMap<(usize, usize), Vec<&Vec<String>>> = BTreeMap::new();
    for r in rows {
        let key = |i: usize| r.get(i).and_then(|x| x.parse::<usize>().ok());
        let (Some(p), Some(c)) = (key(point), key(index)) else {
            return Err("a row has no valid point or class index".into());
        };
        groups.entry((p, c)).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((p, _), rs) in groups {
        let first = rs[0];
        let mut row = vec![p.to_string()];
        row.extend(params.iter().map(|&i| first[i].clone()));
        row.push(first[class].clone());
        row.push(rs.len().to_string());
        for &s in &stats {
            let v: Vec<f64> = rs
                .iter()
                .filter_map(|r| r.get(s).and_then(|x| x.parse::<f64>().ok()))
                .collect();
            row.push(if v.is_empty() {
                String::new()
            } else {
                num(v.iter().sum::<f64>() / v.len() as f64)
            });
        }
        out.push(row);
    }
    Ok((out_h, out))
}

/// The per-run class table of a sweep, one row per run and class.
pub const RUNS_BY_CLASS_FILE: &str = "runs_by_class.csv";
/// The per-point class table of a sweep (whole grid only).
pub const POINTS_BY_CLASS_FILE: &str = "points_by_class.csv";
/// The journal of the per-run class rows, appended as runs finish.
pub const CLASS_JOURNAL_FILE: &str = "journal_by_class.csv";

/// The header of `runs_by_class.csv` for a sweep whose `runs.csv` starts with
/// `run_header` (`run`, `point`, the `param_*` columns, `replication`).
pub fn runs_by_class_header(run_header: &[String]) -> Vec<String> {
    let mut h = run_header.to_vec();
    h.push("class".into());
    h.extend(STAT_COLUMNS.iter().map(|c| c.to_string()));
    h
}

/// The rows of `runs_by_class.csv` for one run: `prefix` (the run's identifying
/// fields), the class name, then [`STAT_COLUMNS`].
pub fn runs_by_class_rows(prefix: &[String], r: &RunResult) -> Vec<Vec<String>> {
    class_stats(r)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = prefix.to_vec();
            row.push(c.class.clone());
            row.extend(c.cells(i));
            row
        })
        .collect()
}

/// Reads the class journal of a sweep, keeping the complete rows of the runs `keep`
/// accepts (by run index), one per run and class (the last written wins: a run cut
/// off after its class rows and run again writes them again). Rows come back in run
/// then class order. A missing journal gives no rows; one with other columns is an
/// error.
pub fn read_class_journal(
    path: &std::path::Path,
    header: &[String],
    keep: impl Fn(usize) -> bool,
) -> Result<Vec<Vec<String>>, String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(Vec::new());
    };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..complete]);
    let h: Vec<String> = match r.headers() {
        Ok(h) => h.iter().map(String::from).collect(),
        Err(_) if complete == 0 => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: not a class journal ({e})", path.display())),
    };
    if h != header {
        return Err(format!(
            "{}: its columns differ from this sweep's; remove the folder or run without --resume",
            path.display()
        ));
    }
    let index = header.len() - 1;
    let mut rows: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for rec in r.records().flatten() {
        if rec.len() != header.len() {
            continue;
        }
        let key = |i: usize| rec.get(i).and_then(|x| x.parse::<usize>().ok());
        if let (Some(run), Some(class)) = (key(0), key(index))
            && keep(run)
        {
            rows.insert((run, class), rec.iter().map(String::from).collect());
        }
    }
    Ok(rows.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Time;
    use crate::model::{PeerRecord, Summary};

    fn at(s: f64) -> Time {
        Time((s * 1e9) as u64)
    }

    fn peer(class: u32, arrival: f64, first: Option<f64>, done: Option<f64>) -> PeerRecord {
        let mut p = PeerRecord::new(class, at(arrival));
        p.first_chunk = first.map(at);
        p.completion = done.map(at);
        p
    }

    fn result(peers: Vec<PeerRecord>) -> RunResult {
        RunResult {
            summary: Summary::default(),
            capacities: vec![(0.0, 0.0); peers.len()],
            peers,
            class_names: vec!["a".into(), "b".into(), "empty".into()],
            samples: Vec::new(),
            sample_interval_s: 1.0,
        }
    }

    #[test]
    fn class_statistics_by_hand() {
        // Class a: arrivals 0, 10, 20; completions 100, 60, never; first chunks 5,
        // 12, 30. Completion times 100 and 50: mean 75, median (rank ceil(1) = 1)
        // 50, p95 (rank ceil(1.9) = 2) 100. Download times 95 and 48: mean 71.5.
        // Class b: one peer, arrival 0, first chunk 1, completion 9: all 9 and 8.
        let mut ps = vec![
            peer(0, 0.0, Some(5.0), Some(100.0)),
            peer(0, 10.0, Some(12.0), Some(60.0)),
            peer(0, 20.0, Some(30.0), None),
            peer(1, 0.0, Some(1.0), Some(9.0)),
        ];
        // Bytes: a uploads 3 + 4, downloads 10 + 10; 5 of its 20 useful bytes from
        // the server: share 0.25.
        ps[0].bytes_uploaded = 3.0;
        ps[1].bytes_uploaded = 4.0;
        for p in &mut ps[..2] {
            p.bytes_downloaded = 10.0;
            p.bytes_from_peers = 10.0;
        }
        ps[0].bytes_from_peers = 5.0;
        ps[0].bytes_from_server = 5.0;
        let s = class_stats(&result(ps));
        assert_eq!(s.len(), 3);
        let a = &s[0];
        assert_eq!((a.peers, a.completed), (3, 2));
        assert_eq!(a.completion_s, [75.0, 50.0, 100.0]);
        assert_eq!(a.download_s, [71.5, 48.0, 95.0]);
        assert_eq!((a.bytes_uploaded, a.bytes_downloaded), (7.0, 20.0));
        assert_eq!(a.share_from_server, 0.25);
        assert_eq!(s[1].completion_s, [9.0, 9.0, 9.0]);
        assert_eq!(s[1].download_s, [8.0, 8.0, 8.0]);
        // A class without peers: zero counts, empty statistics.
        assert_eq!((s[2].peers, s[2].completed), (0, 0));
        assert!(s[2].completion_s[0].is_nan() && s[2].share_from_server.is_nan());
    }

    #[test]
    fn points_by_class_average_the_runs() {
        // Two runs of point 0 (class x means 10 and 20 -> 15; one run of point 1
        // with an empty mean: the field stays empty).
        let mut header: Vec<String> = ["run", "point", "param_k", "replication", "class"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(STAT_COLUMNS.iter().map(|s| s.to_string()));
        let row = |run: &str, p: &str, mean: &str| -> Vec<String> {
            let mut r: Vec<String> = vec![run, p, "7", "0", "x", "2", "2", mean]
                .into_iter()
                .map(String::from)
                .collect();
            r.extend(std::iter::repeat_n("1".to_string(), 8));
            r.push("0".into());
            r
        };
        let rows = vec![row("0", "0", "10"), row("1", "0", "20"), row("2", "1", "")];
        let (h, out) = points_by_class_rows(&header, &rows).unwrap();
        let mean = h.iter().position(|c| c == "mean_completion_s").unwrap();
        let runs = h.iter().position(|c| c == "runs").unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!((out[0][runs].as_str(), out[0][mean].as_str()), ("2", "15"));
        assert_eq!(out[1][mean], "");
        assert_eq!(h[..4], ["point", "param_k", "class", "runs"]);
    }
}
