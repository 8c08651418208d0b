//! `swarmsim report DIR`: one self-contained HTML page (`DIR/report.html`) about
//! the results in a run or sweep folder, made from the files there. No network:
//! figures are inline SVG, the playback is drawn by a small inline script from
//! data embedded in the page, text uses the reader's own fonts.
//!
//! A run's page holds the scenario (its manifest), the summary with both bounds and
//! the term that binds each, the completion CDF and the swarm over time, per-class
//! statistics and, when the run was traced (`run --trace`), the playback
//! ([`playback`]). A sweep's page holds its scenario, its figure (the one `swarmsim
//! plot` draws) and its points table.
//!
//! This module reads result files and writes one file; it runs no simulation.

mod data;
mod html;
pub mod playback;
mod svg;

use crate::output::{self, manifest, trace};
use crate::scenario::units::{fmt_bytes, fmt_rate, fmt_secs};
use data::Csv;
use html::{esc, pairs, table};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use svg::{Chart, Marker, Series};

/// The report's file name.
pub const REPORT_FILE: &str = "report.html";

/// Most rows of a sweep's points table shown in full (the rest are counted).
const MAX_TABLE_ROWS: usize = 2000;

/// A folder or file the report cannot be made from (bad input: exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReportError(pub String);

/// Writes `DIR/report.html` (atomically) from the run or sweep results in `dir`
/// and returns its path and the notes on how the playback was down-sampled.
pub fn write(dir: &Path) -> anyhow::Result<(PathBuf, Vec<String>)> {
    let (page, notes) = if dir.join("summary.csv").is_file() {
        run_page(dir)?
    } else if dir.join(crate::output::POINTS_FILE).is_file() {
        (sweep_page(dir)?, Vec::new())
    } else {
        return Err(ReportError(format!(
            "{}: neither summary.csv nor {}: report needs the output folder of a run or of a whole sweep",
            dir.display(),
            crate::output::POINTS_FILE
        ))
        .into());
    };
    let out = dir.join(REPORT_FILE);
    output::folder::write_atomic(dir, REPORT_FILE, page.as_bytes())?;
    Ok((out, notes))
}

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// The page around `body`.
fn page(title: &str, nav: &[(&str, &str)], body: &str, script: bool) -> String {
    let mut s = String::with_capacity(body.len() + CSS.len() + JS.len() + 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"swarmsim {}\">\
         <title>{}</title><style>{CSS}</style></head><body><header><h1>{}</h1><nav>",
        env!("CARGO_PKG_VERSION"),
        esc(title),
        esc(title)
    );
    for (id, label) in nav {
        let _ = write!(s, "<a href=\"#{id}\">{}</a>", esc(label));
    }
    s.push_str("</nav></header><main>");
    s.push_str(body);
    let _ = write!(
        s,
        "</main><footer>Made by <code>swarmsim report</code> {} from the files in this folder; \
         it needs no network.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    if script {
        let _ = write!(s, "<script>{JS}</script>");
    }
    s.push_str("</body></html>\n");
    s
}

/// The folder's manifest as a preformatted block, or a sentence saying there is none.
fn manifest_block(dir: &Path) -> String {
    match manifest::read(dir) {
        Some(text) => format!(
            "<p>The fully resolved scenario, as recorded in <code>{}</code> (rerun it with \
             <code>swarmsim run {}</code>):</p><pre class=\"toml\">{}</pre>",
            manifest::MANIFEST_FILE,
            esc(&dir.join(manifest::MANIFEST_FILE).display().to_string()),
            esc(&text)
        ),
        None => format!(
            "<p>No <code>{}</code> in this folder: the resolved settings are unknown.</p>",
            manifest::MANIFEST_FILE
        ),
    }
}

/// A bound as its value and terms, the binding one in bold: "D = max(a = 1 s,
/// **b = 2 s**)".
fn bound_html(value: f64, terms: &[crate::bounds::Term]) -> String {
    let top = terms
        .iter()
        .map(|t| t.value)
        .fold(f64::NEG_INFINITY, f64::max);
    let parts: Vec<String> = terms
        .iter()
        .map(|term| {
            let t = format!("{} = {}", esc(term.formula), esc(&fmt_secs(term.value)));
            if term.value == top {
                format!("<strong>{t}</strong>")
            } else {
                t
            }
        })
        .collect();
    let binds: Vec<&str> = terms
        .iter()
        .filter(|t| t.value == top)
        .map(|t| t.formula)
        .collect();
    format!(
        "{} = max({}); the binding term: {}",
        esc(&fmt_secs(value)),
        parts.join(", "),
        esc(&binds.join(" and "))
    )
}

/// Seconds in a readable unit for tables.
fn secs(v: f64) -> String {
    if v.is_finite() {
        fmt_secs(v)
    } else {
        "-".into()
    }
}

fn run_page(dir: &Path) -> anyhow::Result<(String, Vec<String>)> {
    let summary = Csv::read(&dir.join("summary.csv"))?;
    let peers = Csv::read(&dir.join("peers.csv"))?;
    let get = |k: &str| summary.first(k);
    let num = |k: &str| -> Result<f64, ReportError> {
        data::parse_num(&summary.first(k)?, &summary.path, 2, k)
    };
    let name = get("scenario")?;
    let protocol = get("protocol")?;
    let n = num("peers")?;
    let f = num("file_bytes")?;
    let u_s = num("server_upload_bytes_per_s")?;
    let d_min = num("min_download_bytes_per_s")?;
    let sum_u = num("sum_peer_upload_bytes_per_s")?;
    let chunks = num("chunks")?;
    let end = num("end_time_s")?;
    let p2p = protocol != "client-server";
    let mut body = String::new();
    let mut nav = vec![
        ("scenario", "Scenario"),
        ("summary", "Summary"),
        ("figures", "Figures"),
        ("classes", "Classes"),
    ];

    // Scenario.
    let _ = write!(
        body,
        "<section id=\"scenario\"><h2>Scenario</h2>{}",
        pairs(&[
            ("scenario".into(), esc(&name)),
            ("seed".into(), esc(&get("seed")?)),
            (
                "protocol".into(),
                format!("{} over {}", esc(&protocol), esc(&get("network_model")?))
            ),
            (
                "file F".into(),
                format!(
                    "{} in {} chunks of {}",
                    fmt_bytes(f),
                    chunks,
                    fmt_bytes(num("chunk_bytes")?)
                )
            ),
            ("server u_s".into(), fmt_rate(u_s)),
            ("peers N".into(), format!("{n}")),
            ("d_min".into(), fmt_rate(d_min)),
            ("sum u_i".into(), fmt_rate(sum_u)),
        ])
    );
    body.push_str(&manifest_block(dir));
    body.push_str("</section>");

    // Summary with both bounds and their terms.
    let cs = crate::bounds::d_cs_terms(n, f, u_s, d_min);
    let pp = crate::bounds::d_p2p_terms(n, f, u_s, d_min, sum_u);
    let dist = num("distribution_time_s")?;
    let arch = if p2p { "D_p2p" } else { "D_cs" };
    let mut rows = vec![
        (
            "status".to_string(),
            format!(
                "{} ({} of {} peers complete)",
                esc(&get("status")?),
                esc(&get("completed_peers")?),
                n
            ),
        ),
        ("D_cs bound".into(), bound_html(num("d_cs_bound_s")?, &cs)),
        ("D_p2p bound".into(), bound_html(num("d_p2p_bound_s")?, &pp)),
        (
            "distribution time".into(),
            if dist.is_finite() {
                format!(
                    "{} = {:.4} x {arch} (the bound of this protocol's architecture)",
                    fmt_secs(dist),
                    num("bound_ratio")?
                )
            } else {
                format!("none: the run ended at {}", fmt_secs(end))
            },
        ),
        (
            "download time".into(),
            format!(
                "mean {}, median {}, 95th percentile {}",
                secs(num("mean_completion_s")?),
                secs(num("median_completion_s")?),
                secs(num("p95_completion_s")?)
            ),
        ),
        (
            "upload utilisation".into(),
            format!("{:.3}", num("upload_utilisation")?),
        ),
        ("events".into(), esc(&get("events")?)),
    ];
    let note = get("note")?;
    if !note.is_empty() {
        rows.push(("stopped".into(), esc(&note)));
    }
    let _ = write!(
        body,
        "<section id=\"summary\"><h2>Summary</h2>{}<p class=\"small\">Bounds from \
         Kurose &amp; Ross: D_cs = max(N F/u_s, F/d_min), D_p2p = max(F/u_s, F/d_min, \
         N F/(u_s + sum u_i)); the term in bold is the one that binds.</p></section>",
        pairs(&rows)
    );

    // Figures.
    let arrival = peers.nums("arrival_s")?;
    let completion = peers.nums("completion_s")?;
    let mut dl: Vec<f64> = arrival
        .iter()
        .zip(&completion)
        .filter(|(_, c)| c.is_finite())
        .map(|(a, c)| c - a)
        .collect();
    dl.sort_by(f64::total_cmp);
    let total = peers.rows.len().max(1) as f64;
    let top = dl.last().copied().unwrap_or(0.0).max(if p2p {
        num("d_p2p_bound_s")?
    } else {
        num("d_cs_bound_s")?
    });
    let (unit, scale) = output::plot::time_unit(top);
    let mut cdf = vec![(0.0, 0.0)];
    for (i, v) in dl.iter().enumerate() {
        cdf.push((v / scale, (i + 1) as f64 / total));
    }
    let bound = if p2p {
        num("d_p2p_bound_s")?
    } else {
        num("d_cs_bound_s")?
    };
    let cdf_chart = Chart {
        title: "Completion CDF: share of peers done within a download time".into(),
        x_label: format!("download time (completion - arrival), {unit}"),
        y_label: "share of all peers complete".into(),
        series: vec![Series {
            label: format!("{} (measured)", name),
            color: "#1f6feb",
            points: svg::thin(&cdf, 2000),
            step: true,
        }],
        markers: vec![Marker {
            x: bound / scale,
            label: format!("{arch} bound"),
            color: "#d1242f",
        }],
        y_min: Some(0.0),
        y_max: Some(1.0),
    };
    let mut figs = cdf_chart.to_svg();
    let ts_path = dir.join("timeseries.csv");
    if ts_path.is_file() {
        let ts = Csv::read(&ts_path)?;
        let t = ts.nums("time_s")?;
        let (unit, scale) = output::plot::time_unit(t.iter().copied().fold(0.0, f64::max));
        let series = |k: &str, label: &str, color| -> Result<Series, ReportError> {
            let v = ts.nums(k)?;
            let pts: Vec<(f64, f64)> = t.iter().zip(&v).map(|(a, b)| (a / scale, *b)).collect();
            Ok(Series {
                label: label.into(),
                color,
                points: svg::thin(&pts, 2000),
                step: false,
            })
        };
        figs.push_str(
            &Chart {
                title: "Swarm over time".into(),
                x_label: format!("time, {unit}"),
                y_label: "peers present".into(),
                series: vec![
                    series("leechers", "leechers", "#1f6feb")?,
                    series("seeds", "seeds", "#1a7f37")?,
                ],
                markers: vec![],
                y_min: Some(0.0),
                y_max: None,
            }
            .to_svg(),
        );
    }
    let chokes_path = dir.join(trace::CHOKES_FILE);
    if chokes_path.is_file() {
        let [reg, opt] = playback::unchokes(&chokes_path, end)?;
        let (unit, scale) = output::plot::time_unit(end);
        let scaled = |v: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
            svg::thin(
                &v.into_iter()
                    .map(|(a, b)| (a / scale, b))
                    .collect::<Vec<_>>(),
                2000,
            )
        };
        figs.push_str(
            &Chart {
                title: "Unchokes in effect (from chokes.csv)".into(),
                x_label: format!("time, {unit}"),
                y_label: "unchoked connections".into(),
                series: vec![
                    Series {
                        label: "regular".into(),
                        color: "#1f6feb",
                        points: scaled(reg),
                        step: true,
                    },
                    Series {
                        label: "optimistic".into(),
                        color: "#bf8700",
                        points: scaled(opt),
                        step: true,
                    },
                ],
                markers: vec![],
                y_min: Some(0.0),
                y_max: None,
            }
            .to_svg(),
        );
    }
    let _ = write!(
        body,
        "<section id=\"figures\"><h2>Figures</h2><div class=\"figs\">{figs}</div></section>"
    );

    // Classes.
    let classes_path = dir.join("classes.csv");
    let class_table = if classes_path.is_file() {
        let c = Csv::read(&classes_path)?;
        table(&c.header, &c.rows)
    } else {
        class_stats(&peers, &arrival, &completion)?
    };
    let _ = write!(
        body,
        "<section id=\"classes\"><h2>Per-class statistics</h2>{class_table}</section>"
    );

    // Playback.
    let mut notes = Vec::new();
    let chunks_path = dir.join(trace::CHUNKS_FILE);
    let script = chunks_path.is_file();
    if script {
        nav.push(("playback", "Playback"));
        let pb = playback::build(dir, &peers, chunks as usize, end)?;
        notes = pb.notes.clone();
        let mut note_html = String::new();
        for m in &pb.notes {
            let _ = write!(note_html, "<p class=\"note\">{}</p>", esc(m));
        }
        let _ = write!(
            body,
            "<section id=\"playback\"><h2>Playback</h2>\
             <p>{} chunk arrivals from <code>chunks.csv</code>. Move the slider or press play; \
             the page also opens at a time given as <code>#t=SECONDS</code> after its address.</p>\
             {note_html}\
             <div class=\"controls\"><button id=\"pb-play\" type=\"button\">play</button>\
             <input id=\"pb-slider\" type=\"range\" min=\"0\" max=\"{}\" value=\"{}\" step=\"1\" \
             aria-label=\"time\"><span id=\"pb-time\"></span></div>\
             <div class=\"pb\"><figure><figcaption>Who holds what: peers (rows) x chunks \
             (columns), coloured by arrival time; blank = not yet arrived</figcaption>\
             <canvas id=\"pb-grid\"></canvas><div id=\"pb-legend\"></div></figure>\
             <figure><figcaption>Chunk availability: copies of each chunk among the peers \
             present <span id=\"pb-avail-note\"></span></figcaption>\
             <canvas id=\"pb-avail\" width=\"600\" height=\"180\"></canvas></figure>\
             <figure><figcaption>Who serves whom: transfers in progress (server in the \
             middle; node fill: share of seeds; width: transfers) \
             <span id=\"pb-links-note\"></span></figcaption>\
             <svg id=\"pb-graph\" viewBox=\"0 0 600 600\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\
             </figure></div><p id=\"pb-status\" class=\"small\">the playback needs JavaScript</p>\
             <script id=\"pb-data\" type=\"application/json\">{}</script></section>",
            pb.arrivals,
            playback::FRAMES - 1,
            playback::FRAMES - 1,
            pb.json.replace("</", "<\\/")
        );
    } else {
        let _ = write!(
            body,
            "<section id=\"playback\"><h2>Playback</h2><p>This run was not traced: \
             run the scenario with <code>swarmsim run SCENARIO --trace</code> and make the \
             report again to see it play back.</p></section>"
        );
    }
    let title = format!("swarmsim report: {name}");
    Ok((page(&title, &nav, &body, script), notes))
}

/// Per-class statistics computed from peers.csv.
fn class_stats(peers: &Csv, arrival: &[f64], completion: &[f64]) -> Result<String, ReportError> {
    let class = peers.texts("class")?;
    let up = peers.nums("upload_bytes_per_s")?;
    let down = peers.nums("download_bytes_per_s")?;
    let uploaded = peers.nums("bytes_uploaded")?;
    let from_server = peers.nums("bytes_from_server")?;
    let downloaded = peers.nums("bytes_downloaded")?;
    let mut order: Vec<String> = Vec::new();
    for c in &class {
        if !order.contains(c) {
            order.push(c.clone());
        }
    }
    let header = [
        "class",
        "peers",
        "upload",
        "download",
        "complete",
        "mean download time",
        "median",
        "95th percentile",
        "mean uploaded",
        "share from server",
    ];
    let mut rows = Vec::new();
    for c in &order {
        let idx: Vec<usize> = (0..class.len()).filter(|&i| &class[i] == c).collect();
        let mut times: Vec<f64> = idx
            .iter()
            .filter(|&&i| completion[i].is_finite())
            .map(|&i| completion[i] - arrival[i])
            .collect();
        times.sort_by(f64::total_cmp);
        let mean = if times.is_empty() {
            f64::NAN
        } else {
            times.iter().sum::<f64>() / times.len() as f64
        };
        let sum = |v: &[f64]| {
            idx.iter()
                .map(|&i| v[i])
                .filter(|x| x.is_finite())
                .sum::<f64>()
        };
        let k = idx.len() as f64;
        rows.push(vec![
            c.clone(),
            idx.len().to_string(),
            fmt_rate(up[idx[0]]),
            fmt_rate(down[idx[0]]),
            times.len().to_string(),
            secs(mean),
            secs(crate::model::percentile(&times, 0.5)),
            secs(crate::model::percentile(&times, 0.95)),
            fmt_bytes(sum(&uploaded) / k),
            {
                let d = sum(&downloaded);
                if d > 0.0 {
                    format!("{:.3}", sum(&from_server) / d)
                } else {
                    "-".into()
                }
            },
        ]);
    }
    Ok(format!(
        "{}<p class=\"small\">Computed from <code>peers.csv</code>: download time = completion \
         - arrival over the peers that completed (median and 95th percentile by nearest \
         rank); upload and download are the first peer's capacities.</p>",
        table(&header, &rows)
    ))
}

fn sweep_page(dir: &Path) -> anyhow::Result<String> {
    let points = Csv::read(&dir.join(crate::output::POINTS_FILE))?;
    let name = points
        .texts("scenario")
        .ok()
        .and_then(|v| v.first().cloned())
        .unwrap_or_else(|| dir.display().to_string());
    let mut body = String::new();
    let _ = write!(
        body,
        "<section id=\"scenario\"><h2>Scenario</h2>{}</section>",
        manifest_block(dir)
    );
    // The sweep's figure, drawn as `swarmsim plot` draws it, into a temporary SVG
    // file in the folder, read back and removed.
    let tmp = dir.join(".report-figure.svg");
    let drawn =
        output::figure::plot_figure(dir, Some(&tmp), &output::figure::FigureOptions::default())
            .and_then(|_| Ok(std::fs::read_to_string(&tmp)?));
    let _ = std::fs::remove_file(&tmp);
    let fig = match drawn {
        Ok(svg) => {
            let start = svg.find("<svg").unwrap_or(0);
            format!(
                "<div class=\"figs\"><div class=\"sweepfig\">{}</div></div>",
                &svg[start..]
            )
        }
        Err(e) => format!("<p>No figure: {}</p>", esc(&format!("{e:#}"))),
    };
    let _ = write!(
        body,
        "<section id=\"figures\"><h2>Figure</h2>{fig}</section>"
    );
    let shown = &points.rows[..points.rows.len().min(MAX_TABLE_ROWS)];
    let more = if points.rows.len() > shown.len() {
        format!(
            "<p class=\"note\">The first {} of {} points; all are in points.csv.</p>",
            shown.len(),
            points.rows.len()
        )
    } else {
        String::new()
    };
    let _ = write!(
        body,
        "<section id=\"points\"><h2>Points</h2><p>{} points from <code>{}</code>.</p>{more}\
         <div class=\"wide\">{}</div></section>",
        points.rows.len(),
        crate::output::POINTS_FILE,
        table(&points.header, shown)
    );
    Ok(page(
        &format!("swarmsim report: sweep {name}"),
        &[
            ("scenario", "Scenario"),
            ("figures", "Figure"),
            ("points", "Points"),
        ],
        &body,
        false,
    ))
}
