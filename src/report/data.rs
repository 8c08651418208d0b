//! Reading a result folder's CSV files for the report, with errors that name the
//! file, the line and the column.

use super::ReportError;
use std::path::{Path, PathBuf};

/// A CSV file read whole: its header and rows of text.
pub struct Csv {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Csv, ReportError> {
        let bad = |what: String| ReportError(format!("{}: {what}", path.display()));
        let mut r = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
        let header: Vec<String> = r
            .headers()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| bad(e.to_string()))?;
            rows.push(rec.iter().map(str::to_string).collect());
        }
        Ok(Csv {
            path: path.to_path_buf(),
            header,
            rows,
        })
    }

    /// The index of column `name`.
    pub fn col(&self, name: &str) -> Result<usize, ReportError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ReportError(format!("{}: no column {name}", self.path.display())))
    }

    /// Column `name` as numbers (an empty field is NaN).
    pub fn nums(&self, name: &str) -> Result<Vec<f64>, ReportError> {
        let i = self.col(name)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(k, r)| parse_num(&r[i], &self.path, k + 2, name))
            .collect()
    }

    /// Column `name` as text.
    pub fn texts(&self, name: &str) -> Result<Vec<String>, ReportError> {
        let i = self.col(name)?;
        Ok(self.rows.iter().map(|r| r[i].clone()).collect())
    }

    /// The field `name` of the first row (for one-row files such as summary.csv).
    pub fn first(&self, name: &str) -> Result<String, ReportError> {
        let i = self.col(name)?;
        self.rows
            .first()
            .map(|r| r[i].clone())
            .ok_or_else(|| ReportError(format!("{}: no rows", self.path.display())))
    }
}

/// Reads a number field (empty: NaN), or says where it is not one.
pub fn parse_num(v: &str, path: &Path, line: usize, col: &str) -> Result<f64, ReportError> {
    if v.is_empty() {
        return Ok(f64::NAN);
    }
    v.parse::<f64>().map_err(|_| {
        ReportError(format!(
            "{}: line {line}: {col} = \"{v}\" is not a number",
            path.display()
        ))
    })
}
