//! `points.csv` and the per-class tables, computed from the runs' rows.

use super::*;

/// The columns of `runs.csv` whose mean over a point's runs (those with a value)
/// `points.csv` carries after `mean_bound_ratio`, and their names there.
pub const POINT_MEANS: [(&str, &str); 7] = [
    ("mean_completion_s", "mean_completion_s"),
    ("median_completion_s", "median_completion_s"),
    ("p95_completion_s", "p95_completion_s"),
    ("upload_utilisation", "upload_utilisation"),
    ("p2p_bound_ratio", "mean_p2p_bound_ratio"),
    ("bytes_wasted", "bytes_wasted"),
    ("mean_peer_bound_s", "mean_peer_bound_s"),
];

/// The header and rows of `points.csv`, computed from `runs.csv`'s header and rows
/// (so a merged sweep gives the same file as a single one).
pub fn points_rows(
    header: &[String],
    rows: &[Vec<String>],
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("runs.csv lacks the column {name}"))
    };
    let point = col("point")?;
    let params: Vec<usize> = (0..header.len())
        .filter(|&i| header[i].starts_with("param_"))
        .collect();
    let (protocol, dist, dcs, dp2p, ratio) = (
        col("protocol")?,
        col("distribution_time_s")?,
        col("d_cs_bound_s")?,
        col("d_p2p_bound_s")?,
        col("bound_ratio")?,
    );
    let mut out_h = vec!["point".to_string()];
    out_h.extend(params.iter().map(|&i| header[i].clone()));
    for h in [
        "protocol",
        "runs",
        "completed",
        "mean_distribution_time_s",
        "sd_distribution_time_s",
        "ci95_half_width_s",
        "ci95_low_s",
        "ci95_high_s",
        "d_cs_bound_s",
        "d_p2p_bound_s",
        "mean_bound_ratio",
    ] {
        out_h.push(h.to_string());
    }
    // Means over the point's runs of more of runs.csv's columns (empty where runs.csv
    // lacks one, e.g. shards written by an older swarmsim).
    let more: Vec<Option<usize>> = POINT_MEANS
        .iter()
        .map(|(from, to)| {
            out_h.push(to.to_string());
            header.iter().position(|h| h == from)
        })
        .collect();
    let mut groups: BTreeMap<usize, Vec<&Vec<String>>> = BTreeMap::new();
    for r in rows {
        let p: usize = r
            .get(point)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("runs.csv: a row has no valid point index"))?;
        groups.entry(p).or_default().push(r);
    }
    let f = |r: &Vec<String>, i: usize| r.get(i).and_then(|x| x.parse::<f64>().ok());
    let mut out = Vec::new();
    for (p, rs) in groups {
        let first = rs[0];
        let times: Vec<f64> = rs.iter().filter_map(|r| f(r, dist)).collect();
        let ratios: Vec<f64> = rs.iter().filter_map(|r| f(r, ratio)).collect();
        let s = stats(&times);
        let mut row = vec![p.to_string()];
        row.extend(params.iter().map(|&i| first[i].clone()));
        row.push(first[protocol].clone());
        row.push(rs.len().to_string());
        row.push(times.len().to_string());
        row.push(num(s.mean));
        row.push(num(s.sd));
        row.push(num(s.ci95));
        row.push(num(s.mean - s.ci95));
        row.push(num(s.mean + s.ci95));
        row.push(first[dcs].clone());
        row.push(first[dp2p].clone());
        row.push(num(stats(&ratios).mean));
        for c in &more {
            let v: Vec<f64> = c
                .map(|i| rs.iter().filter_map(|r| f(r, i)).collect())
                .unwrap_or_default();
            row.push(num(stats(&v).mean));
        }
        out.push(row);
    }
    Ok((out_h, out))
}

/// Stages `runs_by_class.csv` (rows sorted by run, then class) and, for a whole
/// grid, `points_by_class.csv`.
pub(super) fn write_class_tables(
    folder: &mut Folder,
    header: &[String],
    mut rows: Vec<Vec<String>>,
    whole: bool,
) -> Result<()> {
    let key = |r: &Vec<String>, i: usize| r.get(i).and_then(|x| x.parse::<usize>().ok());
    let last = header.len() - 1;
    rows.sort_by_key(|r| (key(r, 0), key(r, last)));
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    folder.stage_csv(classes::RUNS_BY_CLASS_FILE, &h, &rows)?;
    if whole {
        let (ph, pr) = classes::points_by_class_rows(header, &rows).map_err(|e| {
            SweepError(format!(
                "{}: {e}",
                folder.path().join(classes::RUNS_BY_CLASS_FILE).display()
            ))
        })?;
        folder.stage_csv(
            classes::POINTS_BY_CLASS_FILE,
            &ph.iter().map(String::as_str).collect::<Vec<_>>(),
            &pr,
        )?;
    }
    Ok(())
}

pub(super) fn write_points(
    folder: &mut Folder,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<()> {
    let (h, r) = points_rows(header, rows)?;
    folder.stage_csv(
        POINTS_FILE,
        &h.iter().map(String::as_str).collect::<Vec<_>>(),
        &r,
    )?;
    Ok(())
}
