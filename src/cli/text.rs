//! What the commands print: a scenario described, a run's summary, the validation
//! table, a preset's resolved settings.

use crate::model::RunResult;
use crate::output;
use crate::scenario::Scenario;
use crate::scenario::units::{fmt_bytes, fmt_rate, fmt_secs};
use crate::validate;
use std::fmt::Write as _;

/// What a scenario describes, for people.
pub fn describe(s: &Scenario) -> String {
    let mut t = String::new();
    let line = |t: &mut String, k: &str, v: String| t.push_str(&format!("{k:<14}{v}\n"));
    line(&mut t, "scenario", format!("{} (seed {})", s.name, s.seed));
    line(
        &mut t,
        "protocol",
        format!("{} over {}", s.protocol.name(), s.network.name()),
    );
    line(
        &mut t,
        "file F",
        format!(
            "{} in {} chunks of {}",
            fmt_bytes(s.file_bytes as f64),
            s.chunks(),
            fmt_bytes(s.chunk_bytes as f64)
        ),
    );
    line(&mut t, "server u_s", fmt_rate(s.server_upload));
    line(
        &mut t,
        "peers N",
        format!(
            "{} in {} class{}",
            s.peers(),
            s.classes.len(),
            if s.classes.len() == 1 { "" } else { "es" }
        ),
    );
    for c in &s.classes {
        line(
            &mut t,
            &format!("  {}", c.name),
            format!(
                "{} x up {}, down {}",
                c.count,
                fmt_rate(c.upload),
                fmt_rate(c.download)
            ),
        );
    }
    line(&mut t, "d_min", fmt_rate(s.min_download()));
    line(&mut t, "sum u_i", fmt_rate(s.sum_peer_upload()));
    t
}

/// The human summary of a run (deterministic: no wall-clock figures).
pub fn run_report(s: &Scenario, r: &RunResult) -> String {
    let m = &r.summary;
    let mut t = describe(s);
    let line = |t: &mut String, k: &str, v: String| t.push_str(&format!("{k:<14}{v}\n"));
    t.push_str(&output::bounds_text::bound_lines(s));
    t.push_str(&output::bounds_text::arrival_lines(m));
    line(
        &mut t,
        "status",
        format!(
            "{} ({} of {} peers complete)",
            m.status.name(),
            m.completed_peers,
            m.peers
        ),
    );
    if !m.note.is_empty() {
        line(
            &mut t,
            "stopped",
            format!("at {}: {}", fmt_secs(m.end_time_s), m.note),
        );
    }
    if m.distribution_time_s.is_nan() {
        line(
            &mut t,
            "measured",
            format!(
                "no distribution time: the run ended at {}",
                fmt_secs(m.end_time_s)
            ),
        );
    } else if m.arrivals == "spread" {
        line(
            &mut t,
            "measured",
            format!(
                "{} from the first arrival; mean download = {:.4} x peer bound",
                fmt_secs(m.distribution_time_s),
                m.bound_ratio
            ),
        );
    } else {
        let arch = if s.protocol.is_p2p() { "D_p2p" } else { "D_cs" };
        line(
            &mut t,
            "measured",
            format!(
                "{} = {:.4} x {arch}",
                fmt_secs(m.distribution_time_s),
                m.bound_ratio
            ),
        );
    }
    line(
        &mut t,
        "mean download",
        if m.mean_completion_s.is_nan() {
            "none: no peer completed".to_string()
        } else {
            fmt_secs(m.mean_completion_s)
        },
    );
    t.push_str(&output::classes::class_report(r));
    line(&mut t, "events", m.events.to_string());
    t
}

/// The validation rows as an aligned text table.
pub fn validation_table(rows: &[validate::Check]) -> String {
    let cells: Vec<[String; 7]> = rows.iter().map(|r| r.cells()).collect();
    let mut width = validate::HEADER.map(str::len);
    for c in &cells {
        for (w, x) in width.iter_mut().zip(c) {
            *w = (*w).max(x.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut t = c
            .iter()
            .zip(&width)
            .map(|(x, w)| format!("{x:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        t.truncate(t.trim_end().len());
        t.push('\n');
        t
    };
    let mut t = line(&validate::HEADER.map(String::from));
    for c in &cells {
        t.push_str(&line(c));
    }
    t
}

/// The resolved `[protocol]` settings of a BitTorrent scenario, one a line with
/// where each came from (the file, the preset or the default): the `[protocol]`
/// lines of the scenario's TOML with every field written
/// ([`crate::scenario::to_toml_every_field`]), under a heading `label` `value`
/// (`preset libtorrent-2.0`, `requests blocks`).
pub(super) fn resolved_settings(s: &Scenario, label: &str, value: &str) -> String {
    let toml = crate::scenario::to_toml_every_field(s);
    let sources = s.bittorrent.sources();
    let mut out = format!("{label:<14}{value} (resolved settings):\n");
    let section = toml
        .split("\n[protocol]\n")
        .nth(1)
        .and_then(|r| r.split("\n[").next())
        .unwrap_or("");
    for line in section.lines() {
        let Some((k, v)) = line.split_once(" = ") else {
            continue;
        };
        if let Some((_, from)) = sources.iter().find(|(f, _)| *f == k) {
            let _ = writeln!(out, "  {k:<24}{v:<20}{from}");
        }
    }
    out
}
