//! The journal of finished runs: writing its lines, reading it back to resume.

use super::*;

/// One CSV record as a complete line.
pub(super) fn csv_line<S: AsRef<str>>(fields: &[S]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(fields.iter().map(|s| s.as_ref()))?;
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads the journal's complete lines (a torn last line, a run cut off mid-write, is
/// left out); returns the finished runs by index and the length of the complete
/// part. Reads only, never through a link: a journal that is a link, not a regular
/// file, or of other columns is refused.
pub(super) fn read_journal(
    path: &Path,
    header: &[String],
) -> Result<(BTreeMap<usize, Vec<String>>, u64)> {
    let mut done = BTreeMap::new();
    if std::fs::symlink_metadata(path).is_err() {
        return Ok((done, 0));
    }
    let bytes = crate::files::read_regular(path, false, u64::MAX / 2)
        .map_err(|e| {
            SweepError(format!(
                "{}: cannot read it ({e}); remove the folder or run without --resume",
                path.display()
            ))
        })?
        .unwrap_or_default();
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..complete]);
    let not_journal = |e: csv::Error| {
        SweepError(format!(
            "{}: not a sweep journal ({e}); remove the folder or run without --resume",
            path.display()
        ))
    };
    let h: Vec<String> = r
        .headers()
        .map_err(not_journal)?
        .iter()
        .map(String::from)
        .collect();
    if h != header {
        return refuse(format!(
            "{}: its columns differ from this sweep's; remove the folder or run without --resume",
            path.display()
        ));
    }
    for rec in r.records() {
        let rec = rec.map_err(not_journal)?;
        let row: Vec<String> = rec.iter().map(String::from).collect();
        if row.len() != header.len() {
            continue;
        }
        if let Ok(i) = row[0].parse::<usize>() {
            done.insert(i, row);
        }
    }
    Ok((done, complete as u64))
}

/// Checks that `dir` holds this very sweep's shard `shard` to resume (its state
/// file and journal), reading only; returns the runs of the shard found finished and
/// the length of the journal's complete lines.
pub fn resume_state(
    plan: &Plan,
    dir: &Path,
    shard: Shard,
) -> Result<(BTreeMap<usize, Vec<String>>, u64)> {
    let old = State::read(dir).map_err(|_| {
        SweepError(format!(
            "--resume: {} holds no sweep to resume (no {STATE_FILE}); run without --resume",
            dir.display()
        ))
    })?;
    if old.fingerprint != plan.fingerprint || old.total_runs != plan.runs.len() {
        return refuse(format!(
            "--resume: the scenario changed since the sweep in {} started (fingerprint {} \
             with {} runs then, {} with {} runs now); run without --resume to start again, \
             or use another --out",
            dir.display(),
            old.fingerprint,
            old.total_runs,
            plan.fingerprint,
            plan.runs.len()
        ));
    }
    if old.shard != shard {
        return refuse(format!(
            "--resume: {} holds shard {} but --shard {} was asked",
            dir.display(),
            old.shard,
            shard
        ));
    }
    let (mut done, complete) = read_journal(&dir.join(JOURNAL_FILE), &full_header(plan))?;
    done.retain(|i, _| *i < plan.runs.len() && shard.owns(*i));
    Ok((done, complete))
}

/// Opens the journal to append to, never through a link.
pub(super) fn open_journal(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}
