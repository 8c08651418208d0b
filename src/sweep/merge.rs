//! Joining the shard folders of one sweep into the files one machine would write.

use super::*;

/// Joins the `runs.csv` of shard folders, staging in the locked folder `out`
/// `runs.csv`, `points.csv`, `sweep.toml` and a `journal.csv` with every run;
/// refuses shards of different sweeps, duplicated runs and missing runs, naming
/// them. Returns the number of runs and the shards' manifest (which describes the
/// merged folder too), for the caller to commit with its figure.
pub fn merge(dirs: &[PathBuf], out: &mut Folder) -> Result<(usize, Option<String>)> {
    let Some(first_dir) = dirs.first() else {
        return refuse("merge: name at least one shard folder");
    };
    let first = State::read(first_dir)?;
    let mut header: Option<Vec<String>> = None;
    let mut rows: BTreeMap<usize, (Vec<String>, &PathBuf)> = BTreeMap::new();
    let mut shards_seen = Vec::new();
    // The shards' class rows (`None` once a shard has none: then none are merged).
    let mut class_table: Option<(Vec<String>, Vec<Vec<String>>)> = Some((Vec::new(), Vec::new()));
    for d in dirs {
        let s = State::read(d)?;
        if s.fingerprint != first.fingerprint || s.total_runs != first.total_runs {
            return refuse(format!(
                "merge: {} and {} hold different sweeps (scenario {} fingerprint {} with {} runs, \
                 scenario {} fingerprint {} with {} runs)",
                first_dir.display(),
                d.display(),
                first.scenario,
                first.fingerprint,
                first.total_runs,
                s.scenario,
                s.fingerprint,
                s.total_runs
            ));
        }
        let runs = d.join(RUNS_FILE);
        if !runs.exists() {
            return refuse(format!(
                "merge: {} has no {RUNS_FILE}: shard {} has not finished (finish it with \
                 `swarmsim sweep ... --shard {} --resume --out {}`)",
                d.display(),
                s.shard,
                s.shard,
                d.display()
            ));
        }
        shards_seen.push(s.shard);
        let by_class = d.join(classes::RUNS_BY_CLASS_FILE);
        class_table = match class_table {
            Some((mut ch, mut crs)) if by_class.exists() => {
                let (h, rs) = read_csv(&by_class)?;
                if !ch.is_empty() && ch != h {
                    return refuse(format!(
                        "merge: {} has other columns than the first shard's",
                        by_class.display()
                    ));
                }
                ch = h;
                crs.extend(rs);
                Some((ch, crs))
            }
            _ => None,
        };
        let (h, rs) = read_csv(&runs)?;
        match &header {
            None => header = Some(h),
            Some(h0) if *h0 != h => {
                return refuse(format!(
                    "merge: {} has other columns than {}",
                    runs.display(),
                    first_dir.join(RUNS_FILE).display()
                ));
            }
            Some(_) => {}
        }
        for r in rs {
            let Some(i) = r.first().and_then(|x| x.parse::<usize>().ok()) else {
                return refuse(format!("merge: {}: a row has no run index", runs.display()));
            };
            if i >= first.total_runs {
                return refuse(format!(
                    "merge: {}: run {i} is outside the grid of {} runs",
                    runs.display(),
                    first.total_runs
                ));
            }
            if let Some((_, other)) = rows.get(&i) {
                return refuse(format!(
                    "merge: run {i} appears twice, in {} and in {}",
                    other.display(),
                    d.display()
                ));
            }
            rows.insert(i, (r, d));
        }
    }
    let header = header.unwrap_or_default();
    let missing: Vec<usize> = (0..first.total_runs)
        .filter(|i| !rows.contains_key(i))
        .collect();
    if !missing.is_empty() {
        let count = shards_seen.first().map_or(1, |s| s.count);
        let absent: Vec<String> = (1..=count)
            .filter(|k| !shards_seen.iter().any(|s| s.part == *k && s.count == count))
            .map(|k| format!("{k}/{count}"))
            .collect();
        let shown: Vec<String> = missing.iter().take(10).map(|i| i.to_string()).collect();
        return refuse(format!(
            "merge: {} of {} runs are missing (runs {}{}){}",
            missing.len(),
            first.total_runs,
            shown.join(", "),
            if missing.len() > 10 { ", ..." } else { "" },
            if absent.is_empty() {
                String::new()
            } else {
                format!("; shards not given: {}", absent.join(", "))
            }
        ));
    }
    let rows: Vec<Vec<String>> = rows.into_values().map(|(r, _)| r).collect();
    State {
        shard: Shard::ALL,
        ..first
    }
    .stage(out)?;
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    out.stage_csv(RUNS_FILE, &h, &rows)?;
    write_points(out, &header, &rows)?;
    if let Some((ch, crs)) = class_table.filter(|(h, _)| !h.is_empty()) {
        write_class_tables(out, &ch, crs.clone(), true)?;
        out.stage_csv(
            classes::CLASS_JOURNAL_FILE,
            &ch.iter().map(String::as_str).collect::<Vec<_>>(),
            &crs,
        )?;
    }
    // The journal of the merged sweep: every run finished. (A journal left in `out`
    // by an earlier sweep must not pass for this one's: `--resume` reads it.)
    out.stage_csv(JOURNAL_FILE, &h, &rows)?;
    Ok((rows.len(), output::manifest::read(first_dir)))
}
