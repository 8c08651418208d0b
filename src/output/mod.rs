//! Writing results: CSV files, staged in the output folder and moved into place
//! together ([`folder`]), so a crash never leaves half a file or half a result.
//!
//! Numbers are written with Rust's shortest round-trip formatting, so the same run
//! gives byte-identical files. A missing value (for example the distribution time of
//! a run that did not complete) is an empty field.

pub mod bounds_text;
pub mod classes;
mod error;
pub mod figure;
pub mod figure_style;
pub mod folder;
pub mod manifest;
pub mod plot;
pub mod quantity;
pub mod read;
#[cfg(test)]
mod run_props;
pub mod trace;

pub use error::{OutputError, SweepError};
pub use folder::Folder;

use crate::model::{RunResult, Summary};
use std::path::Path;

/// One CSV field: a number (the shortest text that reads back as the same `f64`),
/// or empty when it is NaN. Zero is `0` whatever its sign, and magnitudes from 1e16
/// up or below 1e-6 are written with an exponent (`1e300`, not 301 digits).
pub fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x == 0.0 {
        "0".to_string()
    } else if x.is_finite() && !(1e-6..1e16).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// The columns of `summary.csv`, in order, for one run. `wall_s` is the only column
/// that depends on the machine.
pub fn summary_columns(s: &Summary, wall_s: f64) -> Vec<(&'static str, String)> {
    vec![
        ("scenario", s.scenario.clone()),
        ("protocol", s.protocol.to_string()),
        ("network_model", s.network_model.to_string()),
        ("seed", s.seed.to_string()),
        ("status", s.status.name().to_string()),
        ("peers", s.peers.to_string()),
        ("file_bytes", s.file_bytes.to_string()),
        ("chunk_bytes", s.chunk_bytes.to_string()),
        ("chunks", s.chunks.to_string()),
        (
            "server_upload_bytes_per_s",
            num(s.server_upload_bytes_per_s),
        ),
        ("min_download_bytes_per_s", num(s.min_download_bytes_per_s)),
        (
            "sum_peer_upload_bytes_per_s",
            num(s.sum_peer_upload_bytes_per_s),
        ),
        ("d_cs_bound_s", num(s.bounds.d_cs)),
        ("d_p2p_bound_s", num(s.bounds.d_p2p)),
        ("distribution_time_s", num(s.distribution_time_s)),
        ("mean_completion_s", num(s.mean_completion_s)),
        ("median_completion_s", num(s.median_completion_s)),
        ("p95_completion_s", num(s.p95_completion_s)),
        ("bound_ratio", num(s.bound_ratio)),
        ("p2p_bound_ratio", num(s.p2p_bound_ratio)),
        ("completed_peers", s.completed_peers.to_string()),
        ("max_peer_uploads", s.max_peer_uploads.to_string()),
        ("upload_utilisation", num(s.upload_utilisation)),
        ("end_time_s", num(s.end_time_s)),
        ("events", s.events.to_string()),
        ("note", s.note.clone()),
        ("arrivals", s.arrivals.to_string()),
        ("mean_peer_bound_s", num(s.mean_peer_bound_s)),
        ("qiu_srikant_s", num(s.qiu_srikant_s)),
        ("bytes_wasted", num(s.bytes_wasted)),
        ("wall_s", num(wall_s)),
    ]
}

/// The column names of `summary.csv`, in order.
pub fn summary_header() -> Vec<&'static str> {
    summary_columns(&Summary::default(), 0.0)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// The header and rows of `peers.csv`.
pub fn peer_rows(r: &RunResult) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "scenario",
        "seed",
        "peer",
        "class",
        "upload_bytes_per_s",
        "download_bytes_per_s",
        "arrival_s",
        "first_chunk_s",
        "completion_s",
        "departure_s",
        "bytes_downloaded",
        "bytes_uploaded",
        "bytes_from_server",
        "bytes_from_peers",
        "bytes_wasted",
    ];
    let rows = r
        .peers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (up, down) = r.capacities[i];
            vec![
                r.summary.scenario.clone(),
                r.summary.seed.to_string(),
                i.to_string(),
                r.class_names[p.class as usize].clone(),
                num(up),
                num(down),
                num(p.arrival.as_secs_f64()),
                opt_time(p.first_chunk),
                opt_time(p.completion),
                opt_time(p.departure),
                num(p.bytes_downloaded),
                num(p.bytes_uploaded),
                num(p.bytes_from_server),
                num(p.bytes_from_peers),
                num(p.bytes_wasted),
            ]
        })
        .collect();
    (header, rows)
}

fn opt_time(t: Option<crate::engine::Time>) -> String {
    t.map(|c| num(c.as_secs_f64())).unwrap_or_default()
}

/// The header and rows of `timeseries.csv`.
pub fn timeseries_rows(r: &RunResult) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "scenario",
        "seed",
        "time_s",
        "leechers",
        "seeds",
        "active_flows",
        "upload_utilisation",
        "rarest_copies",
        "mean_chunks_per_leecher",
    ];
    let rows = r
        .samples
        .iter()
        .map(|x| {
            vec![
                r.summary.scenario.clone(),
                r.summary.seed.to_string(),
                num(x.time_s),
                x.leechers.to_string(),
                x.seeds.to_string(),
                x.active_flows.to_string(),
                num(x.upload_utilisation),
                x.rarest_copies.map(|c| c.to_string()).unwrap_or_default(),
                num(x.mean_chunks_per_leecher),
            ]
        })
        .collect();
    (header, rows)
}

/// The bytes of a CSV file: `header`, then `rows`.
pub fn csv_bytes<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(row.iter().map(|s| s.as_ref()))?;
    }
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())
}

/// The temporary name a figure is drawn under before it is renamed to `path` (used
/// inside a staging folder only, which nothing else writes into).
pub fn tmp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `summary.csv`, `peers.csv`, `timeseries.csv` and `classes.csv` of one run
/// into `dir` (created if needed) the way every result is written ([`folder`]): with
/// the folder locked, staged, then moved into place together, replacing files of
/// those names.
pub fn write_run(dir: &Path, r: &RunResult, wall_s: f64) -> Result<(), OutputError> {
    let holder = std::env::args().collect::<Vec<_>>().join(" ");
    let mut f = Folder::open(dir, &holder, || Ok::<(), OutputError>(()))?;
    stage_run(&mut f, r, wall_s)?;
    f.commit(&[], None)
}

/// Creates `dir` and its parents if needed.
pub fn create_dir(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|e| OutputError::io("create the folder", dir, e))
}

/// Stages `summary.csv`, `peers.csv`, `timeseries.csv` and `classes.csv` of one run
/// in `folder`.
pub fn stage_run(folder: &mut Folder, r: &RunResult, wall_s: f64) -> Result<(), OutputError> {
    let cols = summary_columns(&r.summary, wall_s);
    let header: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let row: Vec<String> = cols.into_iter().map(|c| c.1).collect();
    folder.stage_csv("summary.csv", &header, &[row])?;
    let (header, rows) = peer_rows(r);
    folder.stage_csv("peers.csv", &header, &rows)?;
    let (header, rows) = timeseries_rows(r);
    folder.stage_csv("timeseries.csv", &header, &rows)?;
    let (header, rows) = classes::class_rows(r);
    folder.stage_csv(CLASSES_FILE, &header, &rows)
}

/// Per-class statistics of a run, beside `summary.csv` ([`classes`]).
pub const CLASSES_FILE: &str = "classes.csv";

/// The files `swarmsim run` writes into its folder, besides `manifest.toml` (the
/// figures only with `--plot`).
pub const RUN_FILES: &[&str] = &[
    "summary.csv",
    "peers.csv",
    "timeseries.csv",
    CLASSES_FILE,
    "completion_cdf.png",
    "swarm.png",
];

/// A sweep's table of one row per run, in input order.
pub const RUNS_FILE: &str = "runs.csv";
/// A sweep's table of one row per grid point, in input order.
pub const POINTS_FILE: &str = "points.csv";

/// The figure a whole sweep or a merge draws into its folder.
pub const SWEEP_FIGURE: &str = "d_vs_n.png";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_and_stay_short() {
        // Rust's shortest round-trip text, an exponent outside [1e-6, 1e16), no "-0".
        assert_eq!(num(f64::NAN), "");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(838.0227772227772), "838.0227772227772");
        assert_eq!(num(1e300), "1e300");
        assert_eq!(num(-2.5e-9), "-2.5e-9");
        assert_eq!(num(f64::INFINITY), "inf");
        for x in [
            1e300,
            2.5e-9,
            123456789.125,
            1e16,
            9.999999999999998e15,
            1e-6,
        ] {
            assert_eq!(num(x).parse::<f64>().unwrap(), x, "{x}");
        }
    }
}
