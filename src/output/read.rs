//! Reading result tables back: the CSV files of a sweep folder, for its figure and
//! for resuming and merging sweeps.

use super::SweepError;
use anyhow::Result;
use std::path::Path;

/// Reads a CSV file into its header and rows, each row as long as the header. A
/// file that cannot be read, is not UTF-8 CSV or has a row of another length is
/// refused as bad input ([`SweepError`], exit status 2), naming the file (and row).
pub fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let bad = |what: String| SweepError(format!("{}: {what}", path.display()));
    let bytes = crate::files::read_regular(path, true, u64::MAX / 2)
        .map_err(|e| bad(format!("cannot read it ({e})")))?
        .unwrap_or_default();
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&bytes[..]);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(format!("not valid CSV ({e})")))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(format!("not valid CSV ({e})")))?;
        if rec.len() != header.len() {
            return Err(bad(format!(
                "line {} has {} fields, the header {}",
                k + 2,
                rec.len(),
                header.len()
            ))
            .into());
        }
        rows.push(rec.iter().map(String::from).collect());
    }
    Ok((header, rows))
}
