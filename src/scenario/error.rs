//! Errors in scenario files and `--set` overrides.

use std::fmt;

/// A problem with a scenario: names the file, the field (as a dotted `--set` path),
/// the value found, and what is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The scenario file (and the `--set` overrides, if one of them is at fault).
    pub file: String,
    /// Dotted path of the field, e.g. `peers.0.upload`; `None` for whole-file problems.
    pub field: Option<String>,
    /// The offending value as written, if there is one.
    pub value: Option<String>,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        match (&self.field, &self.value) {
            (Some(field), Some(value)) => write!(f, "field `{field}` = {value}: ")?,
            (Some(field), None) => write!(f, "field `{field}`: ")?,
            _ => {}
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ScenarioError {}
