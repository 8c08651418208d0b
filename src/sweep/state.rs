//! Shards of a grid and the state file (`sweep.toml`) of a sweep's folder.

use super::*;

/// Which share of the grid to run: runs with `index % count == part - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1.
    pub part: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { part: 1, count: 1 };

    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(s: &str) -> Result<Shard, SweepError> {
        let bad = || {
            SweepError(format!(
                "--shard {s}: expected K/N with 1 <= K <= N, e.g. --shard 2/8"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let part: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if part == 0 || part > count {
            return Err(bad());
        }
        Ok(Shard { part, count })
    }

    /// True if run `index` belongs to this shard.
    pub fn owns(self, index: usize) -> bool {
        index % self.count == self.part - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.part, self.count)
    }
}

/// What a sweep's output folder records about it (`sweep.toml`).
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Scenario name.
    pub scenario: String,
    /// [`Plan::fingerprint`].
    pub fingerprint: String,
    /// Runs in the whole grid.
    pub total_runs: usize,
    /// The shard this folder holds.
    pub shard: Shard,
}

impl State {
    fn text(&self) -> String {
        format!(
            "# Written by swarmsim sweep; read by `sweep --resume` and `merge`.\n\
             scenario = \"{}\"\nfingerprint = \"{}\"\ntotal_runs = {}\nshard = \"{}\"\n",
            self.scenario, self.fingerprint, self.total_runs, self.shard
        )
    }

    /// Reads `DIR/sweep.toml` (a regular file: a FIFO or device there is refused).
    pub fn read(dir: &Path) -> Result<State> {
        let p = dir.join(STATE_FILE);
        let bad = || SweepError(format!("{}: damaged; remove the folder", p.display()));
        let text = match crate::files::read_regular(&p, true, 1 << 20) {
            Ok(Some(b)) => String::from_utf8(b).map_err(|_| bad())?,
            Ok(None) => return Err(bad().into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return refuse(format!(
                    "{}: no {STATE_FILE}; this is not the output folder of a sweep",
                    dir.display()
                ));
            }
            Err(e) => return refuse(format!("{}: cannot read it ({e})", p.display())),
        };
        let t: Table = text.parse().map_err(|_| bad())?;
        let s = |k: &str| t.get(k).and_then(|v| v.as_str()).ok_or_else(bad);
        Ok(State {
            scenario: s("scenario")?.to_string(),
            fingerprint: s("fingerprint")?.to_string(),
            total_runs: t
                .get("total_runs")
                .and_then(|v| v.as_integer())
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(bad)?,
            shard: Shard::parse(s("shard")?).map_err(|_| bad())?,
        })
    }

    pub(super) fn stage(&self, folder: &mut Folder) -> Result<()> {
        Ok(folder.stage_bytes(STATE_FILE, self.text().as_bytes())?)
    }
}
