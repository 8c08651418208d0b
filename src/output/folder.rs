//! The output folder: whose it is, one writer at a time, and results that appear
//! together or not at all (docs/OUTPUT-FOLDERS.md states the rules).
//!
//! - **Ownership.** A folder is swarmsim's to overwrite if its `manifest.toml` says it
//!   holds the same result, or if it holds none of the files the command would
//!   replace or remove. Anything else (another result, the user's own files under
//!   swarmsim's names, a manifest swarmsim did not write) needs `--force`.
//! - **Lock.** A writer holds an exclusive `flock` on `DIR/.swarmsim.lock` (holding
//!   its pid and command line) from before its checks until it is done; a second
//!   writer is refused, naming the first. The lock file is removed on release.
//! - **Staging.** Every file is first written into a private staging folder inside
//!   `DIR` (created exclusively under a random name), then renamed into place;
//!   `manifest.toml` comes last. While files are being renamed, `DIR/.swarmsim-incomplete`
//!   holds the new manifest: a folder holding it is an unfinished write, which the
//!   same command may overwrite. No file is ever written through a symbolic link.

use super::{OutputError, manifest};
use crate::files;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The lock file of an output folder.
pub const LOCK_FILE: &str = ".swarmsim.lock";
/// Present while a write's files are being moved into place: holds the new manifest.
pub const INCOMPLETE_FILE: &str = ".swarmsim-incomplete";
/// The name prefix of staging folders.
pub const STAGING_PREFIX: &str = ".swarmsim-staging-";
/// Largest manifest (or marker) read back, in bytes.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// An output folder opened for writing: locked, with a staging folder for the files
/// of one commit. Dropping it removes the staging folder and the lock file, and the
/// folder itself (and parents) if this command created it and left it empty.
#[derive(Debug)]
pub struct Folder {
    dir: PathBuf,
    created: Vec<PathBuf>,
    lock: Option<(File, u64, u64)>,
    staging: Option<tempfile::TempDir>,
}

impl Folder {
    /// Opens `dir` for writing (creating it if needed) and locks it; `holder` (a
    /// command line) is recorded in the lock file for a second writer's refusal.
    /// `check` runs before anything is created (so a refused command writes nothing)
    /// and again once the lock is held (so no other writer changed the folder since).
    pub fn open<E: From<OutputError>>(
        dir: &Path,
        holder: &str,
        check: impl Fn() -> Result<(), E>,
    ) -> Result<Folder, E> {
        check()?;
        // The folders this creates (the output folder and missing parents), deepest
        // first, to remove again if they are left empty.
        let created: Vec<PathBuf> = dir
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .take_while(|a| std::fs::symlink_metadata(a).is_err())
            .map(Path::to_path_buf)
            .collect();
        std::fs::create_dir_all(dir).map_err(|e| OutputError::io("create the folder", dir, e))?;
        let mut f = Folder {
            dir: dir.to_path_buf(),
            created,
            lock: None,
            staging: None,
        };
        f.lock(holder)?;
        check()?;
        f.remove_stale_staging();
        Ok(f)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Takes the lock: an exclusive `flock` on the lock file, opened without following
    /// a link; retried if the file was replaced between opening and locking.
    fn lock(&mut self, holder: &str) -> Result<(), OutputError> {
        let path = self.dir.join(LOCK_FILE);
        let io = |e| OutputError::io("lock the folder with", &path, e);
        for _ in 0..100 {
            let mut file = match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(&path)
            {
                Ok(f) => f,
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return Err(io(std::io::Error::other(
                        "it is a symbolic link (swarmsim never writes through a link): remove it",
                    )));
                }
                Err(e) => return Err(io(e)),
            };
            let m = file.metadata().map_err(io)?;
            if !m.is_file() {
                return Err(io(std::io::Error::other(
                    "it is not a regular file: remove it",
                )));
            }
            // SAFETY: flock(2) on a descriptor this function owns; no memory is shared.
            let locked = unsafe {
                libc::flock(
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    libc::LOCK_EX | libc::LOCK_NB,
                )
            };
            let err = std::io::Error::last_os_error();
            match locked {
                0 => {}
                _ if err.raw_os_error() == Some(libc::EWOULDBLOCK) => {
                    let mut text = String::new();
                    let _ = std::io::Read::read_to_string(
                        &mut std::io::Read::take(&mut file, 4096),
                        &mut text,
                    );
                    let text = crate::scenario::escape_controls(text.trim());
                    return Err(OutputError::Busy {
                        dir: self.dir.clone(),
                        holder: if text.is_empty() {
                            "another swarmsim".into()
                        } else {
                            text
                        },
                    });
                }
                _ => return Err(io(err)),
            }
            // The lock counts only if the path still names the locked file (another
            // writer may have removed it on release between our open and lock).
            let same = std::fs::symlink_metadata(&path)
                .is_ok_and(|p| p.dev() == m.dev() && p.ino() == m.ino());
            if !same {
                continue;
            }
            let record = format!("pid {}: {holder}\n", std::process::id());
            file.set_len(0)
                .and_then(|()| std::io::Seek::rewind(&mut file))
                .and_then(|()| file.write_all(record.as_bytes()))
                .map_err(io)?;
            self.lock = Some((file, m.dev(), m.ino()));
            return Ok(());
        }
        Err(io(std::io::Error::other(
            "it keeps being replaced by other processes",
        )))
    }

    /// Removes staging folders left by a writer that was killed.
    fn remove_stale_staging(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in rd.flatten() {
            let stale = e.file_name().to_string_lossy().starts_with(STAGING_PREFIX)
                && e.file_type().is_ok_and(|t| t.is_dir());
            if stale {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// The staging folder (created on first use).
    fn staging_dir(&mut self) -> Result<&Path, OutputError> {
        if self.staging.is_none() {
            let t = tempfile::Builder::new()
                .prefix(STAGING_PREFIX)
                .tempdir_in(&self.dir)
                .map_err(|e| OutputError::io("create a staging folder in", &self.dir, e))?;
            self.staging = Some(t);
        }
        Ok(self.staging.as_ref().map(|t| t.path()).unwrap_or(&self.dir))
    }

    /// Where to write the file `name` of the next commit (inside the staging folder,
    /// which nothing else writes into). Drawing code writes there directly.
    pub fn staged(&mut self, name: &str) -> Result<PathBuf, OutputError> {
        Ok(self.staging_dir()?.join(name))
    }

    /// Writes `bytes` as the file `name` of the next commit.
    pub fn stage_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let p = self.staged(name)?;
        let final_path = self.dir.join(name);
        File::create_new(&p)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
            .map_err(|e| OutputError::io("write", final_path, e))
    }

    /// Writes a CSV file (`header`, then `rows`) as the file `name` of the next commit.
    pub fn stage_csv<S: AsRef<str>>(
        &mut self,
        name: &str,
        header: &[&str],
        rows: &[Vec<S>],
    ) -> Result<(), OutputError> {
        let bytes = super::csv_bytes(header, rows)
            .map_err(|e| OutputError::io("format", self.dir.join(name), e))?;
        self.stage_bytes(name, &bytes)
    }

    /// True if the file `name` is staged for the next commit.
    pub fn is_staged(&self, name: &str) -> bool {
        self.staging
            .as_ref()
            .is_some_and(|t| t.path().join(name).is_file())
    }

    /// Moves every staged file into the folder, replacing files of the same names
    /// (never following a link), removes the files `remove` that were not staged,
    /// and writes `manifest` (if given) last. Before anything moves, each target is
    /// checked to be a regular file, a link or absent; while files move, the
    /// incomplete marker holds the new manifest.
    pub fn commit(&mut self, remove: &[&str], manifest: Option<&str>) -> Result<(), OutputError> {
        let staged: Vec<String> = match &self.staging {
            None => Vec::new(),
            Some(t) => {
                let mut v: Vec<String> = std::fs::read_dir(t.path())
                    .map_err(|e| OutputError::io("read", t.path(), e))?
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect();
                v.sort();
                v
            }
        };
        let mut targets: Vec<&str> = staged.iter().map(String::as_str).collect();
        targets.extend(remove.iter().copied());
        if manifest.is_some() {
            targets.push(manifest::MANIFEST_FILE);
        }
        for n in &targets {
            let p = self.dir.join(n);
            if let Some(k) = files::special_kind(&p).filter(|k| *k != "a symbolic link") {
                return Err(OutputError::io(
                    "replace",
                    &p,
                    std::io::Error::other(format!("{k} is in the way; remove it")),
                ));
            }
        }
        if let Some(m) = manifest {
            // (Staged first: a disk too full for it changes nothing.)
            self.stage_bytes(manifest::MANIFEST_FILE, m.as_bytes())?;
            write_atomic(&self.dir, INCOMPLETE_FILE, m.as_bytes())?;
        }
        let from = self.staging_dir()?.to_path_buf();
        for n in &staged {
            let to = self.dir.join(n);
            std::fs::rename(from.join(n), &to)
                .map_err(|e| OutputError::io("move into place", &to, e))?;
        }
        for n in remove {
            if staged.iter().any(|s| s == n) {
                continue;
            }
            let p = self.dir.join(n);
            if std::fs::symlink_metadata(&p).is_ok() {
                std::fs::remove_file(&p).map_err(|e| OutputError::io("remove", &p, e))?;
            }
        }
        if manifest.is_some() {
            let to = self.dir.join(manifest::MANIFEST_FILE);
            std::fs::rename(from.join(manifest::MANIFEST_FILE), &to)
                .map_err(|e| OutputError::io("move into place", &to, e))?;
            sync_dir(&self.dir);
            let marker = self.dir.join(INCOMPLETE_FILE);
            std::fs::remove_file(&marker).map_err(|e| OutputError::io("remove", &marker, e))?;
        }
        sync_dir(&self.dir);
        Ok(())
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        self.staging = None;
        if let Some((file, dev, ino)) = self.lock.take() {
            let path = self.dir.join(LOCK_FILE);
            // (Removed while still locked, and only if it is still ours.)
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.dev() == dev && m.ino() == ino) {
                let _ = std::fs::remove_file(&path);
            }
            drop(file);
        }
        for d in &self.created {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
        }
    }
}

/// Flushes a folder's entries to disk (best effort: some file systems refuse).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `DIR/name` atomically: a new temporary file with a random name
/// in `dir` (created exclusively), synced, then renamed over `name` (which replaces a
/// link rather than following it). On failure `DIR/name` is left as it was.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
    let path = dir.join(name);
    let mut t = tempfile::Builder::new()
        .prefix(".swarmsim-tmp-")
        .tempfile_in(dir)
        .map_err(|e| OutputError::io("write", &path, e))?;
    t.write_all(bytes)
        .and_then(|()| t.as_file().sync_all())
        .map_err(|e| OutputError::io("write", &path, e))?;
    t.persist(&path)
        .map_err(|e| OutputError::io("move into place", &path, e.error))?;
    Ok(())
}

/// What a command is about to write into a folder, to decide whether the folder is
/// its to overwrite.
pub struct Ours<'a> {
    /// For messages: "the run of scenario `x` (seed 1)".
    pub what: String,
    /// Every file the command replaces or removes (besides `manifest.toml`).
    pub names: &'a [&'a str],
    /// True if a manifest's text describes the very result being written.
    pub same: &'a dyn Fn(&str) -> bool,
    /// For a folder without a manifest: true if its files are this result's anyway
    /// (e.g. a sweep's state file with the same fingerprint).
    pub legacy: &'a dyn Fn() -> bool,
}

/// The text of `DIR/NAME` (manifest or marker): `Err` says what it is if it cannot
/// be read as a regular file.
fn read_own(dir: &Path, name: &str) -> Option<Result<String, String>> {
    let p = dir.join(name);
    std::fs::symlink_metadata(&p).ok()?;
    Some(
        match files::read_regular(&p, false, MAX_MANIFEST_BYTES) {
            Ok(Some(b)) => String::from_utf8(b).map_err(|_| "not UTF-8 text".to_string()),
            Ok(None) => Err("too large".into()),
            Err(e) => Err(e.to_string()),
        }
        .map_err(|e| format!("a {name} that cannot be read ({e})")),
    )
}

/// Refuses (unless `force`) to write `ours` into `dir` if the folder is not its to
/// overwrite (see the module's rules). Reads only.
pub fn check_owner(dir: &Path, force: bool, ours: &Ours) -> Result<(), OutputError> {
    if force {
        return Ok(());
    }
    let found = if let Some(m) = read_own(dir, INCOMPLETE_FILE) {
        match m {
            Ok(t) if (ours.same)(&t) => return Ok(()),
            Ok(t) => format!("an unfinished write of {}", manifest::describe(&t)),
            Err(e) => e,
        }
    } else if let Some(m) = read_own(dir, manifest::MANIFEST_FILE) {
        match m {
            Ok(t) if manifest::kind(&t).is_none() && t.parse::<toml::Table>().is_ok() => {
                format!("a {} that swarmsim did not write", manifest::MANIFEST_FILE)
            }
            Ok(t) if (ours.same)(&t) => return Ok(()),
            Ok(t) => manifest::describe(&t),
            Err(e) => e,
        }
    } else {
        let present: Vec<&str> = ours
            .names
            .iter()
            .copied()
            .filter(|n| std::fs::symlink_metadata(dir.join(n)).is_ok())
            .collect();
        if present.is_empty() || (ours.legacy)() {
            return Ok(());
        }
        if present.iter().any(|n| !n.ends_with(".png")) {
            format!("results without a {}", manifest::MANIFEST_FILE)
        } else {
            format!(
                "{} without a {}",
                present.join(", "),
                manifest::MANIFEST_FILE
            )
        }
    };
    // (Same name, other settings or another version's resolution of them: say so,
    // not the same words twice.)
    let found = if found.starts_with(&ours.what) {
        format!(
            "{found}, with other settings or from another swarmsim version (see its {})",
            manifest::MANIFEST_FILE
        )
    } else {
        found
    };
    Err(OutputError::Foreign {
        dir: dir.to_path_buf(),
        found,
        ours: ours.what.clone(),
    })
}

/// The keyword and text of the PNG chunk, and the SVG comment, that mark a figure as
/// drawn by swarmsim.
const PNG_MARK: &[u8] = b"Software\0swarmsim";
const SVG_MARK: &str = "<!-- Drawn by swarmsim. -->\n";

/// CRC-32 (ISO-HDLC, as PNG chunks use): bitwise, for the one small chunk written.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The chunks of a PNG file: (type, data), or `None` if it is not one.
fn png_chunks(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut i = PNG_SIGNATURE.len();
    if !b.starts_with(PNG_SIGNATURE) {
        return None;
    }
    let mut out = Vec::new();
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        out.push((&b[i + 4..i + 8], &b[i + 8..i + 8 + len]));
        i = end;
    }
    Some(out)
}

/// Marks the figure at `path` (just drawn, PNG or SVG) as swarmsim's: a `tEXt`
/// chunk `Software = swarmsim` before a PNG's `IEND`, a comment before an SVG's root.
pub fn mark_figure(path: &Path) -> Result<(), OutputError> {
    let b = std::fs::read(path).map_err(|e| OutputError::io("read", path, e))?;
    let marked = if b.starts_with(PNG_SIGNATURE) && b.len() >= PNG_SIGNATURE.len() + 12 {
        let (body, iend) = b.split_at(b.len() - 12);
        let mut chunk = Vec::with_capacity(PNG_MARK.len() + 12);
        chunk.extend_from_slice(&(PNG_MARK.len() as u32).to_be_bytes());
        chunk.extend_from_slice(b"tEXt");
        chunk.extend_from_slice(PNG_MARK);
        let crc = crc32(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        [body, &chunk, iend].concat()
    } else {
        let text = String::from_utf8_lossy(&b);
        let at = match text.find("?>") {
            Some(i) if text.starts_with("<?xml") => i + 2,
            _ => 0,
        };
        let (head, tail) = text.split_at(at);
        let sep = if at > 0 { "\n" } else { "" };
        format!("{head}{sep}{SVG_MARK}{tail}").into_bytes()
    };
    std::fs::write(path, marked).map_err(|e| OutputError::io("write", path, e))
}

/// True if `path` is a regular file (not a link) that [`mark_figure`] marked.
pub fn is_our_figure(path: &Path) -> bool {
    let Ok(Some(b)) = files::read_regular(path, false, 256 << 20) else {
        return false;
    };
    match png_chunks(&b) {
        Some(chunks) => chunks.iter().any(|(t, d)| *t == b"tEXt" && *d == PNG_MARK),
        None => {
            let head = String::from_utf8_lossy(&b[..b.len().min(4096)]);
            head.contains(SVG_MARK)
        }
    }
}

/// Refuses (unless `force`) to replace `path` with a figure if it holds a file that
/// is not a figure swarmsim drew: figures are marked ([`mark_figure`]), and
/// `DIR/d_vs_n.png` beside a sweep's manifest is the sweep's. Reads only.
pub fn check_figure(path: &Path, force: bool) -> Result<(), OutputError> {
    if let Some(k) = files::special_kind(path).filter(|k| *k != "a symbolic link") {
        return Err(OutputError::io(
            "replace",
            path,
            std::io::Error::other(format!("{k} is in the way; remove it")),
        ));
    }
    if force || std::fs::symlink_metadata(path).is_err() || is_our_figure(path) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let sweeps = path.file_name().is_some_and(|n| n == super::SWEEP_FIGURE)
        && path.is_file()
        && manifest::read(dir).is_some_and(|m| manifest::kind(&m).as_deref() == Some("sweep"));
    if sweeps {
        return Ok(());
    }
    Err(OutputError::NotOurs {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_the_standard_check_string() {
        // The CRC-32 check value of "123456789" is 0xCBF43926 (every CRC catalogue).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // PNG's own IEND chunk: type "IEND", no data, CRC 0xAE426082 (PNG spec).
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn marked_figures_are_recognised_and_stay_valid() {
        let d = tempfile::tempdir().unwrap();
        // The smallest PNG structure: signature, an IHDR (1x1, 8-bit grey), IEND.
        let mut png = PNG_SIGNATURE.to_vec();
        let ihdr = [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0];
        png.extend_from_slice(&13u32.to_be_bytes());
        let mut c = b"IHDR".to_vec();
        c.extend_from_slice(&ihdr);
        png.extend_from_slice(&c);
        png.extend_from_slice(&crc32(&c).to_be_bytes());
        png.extend_from_slice(&[0, 0, 0, 0]);
        png.extend_from_slice(b"IEND");
        png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
        let p = d.path().join("f.png");
        std::fs::write(&p, &png).unwrap();
        assert!(!is_our_figure(&p));
        mark_figure(&p).unwrap();
        assert!(is_our_figure(&p));
        let b = std::fs::read(&p).unwrap();
        let chunks = png_chunks(&b).unwrap();
        let types: Vec<&[u8]> = chunks.iter().map(|c| c.0).collect();
        assert_eq!(types, [&b"IHDR"[..], b"tEXt", b"IEND"]);
        let s = d.path().join("f.svg");
        std::fs::write(&s, "<svg width=\"1\"></svg>").unwrap();
        assert!(!is_our_figure(&s));
        mark_figure(&s).unwrap();
        assert!(is_our_figure(&s));
        assert!(
            std::fs::read_to_string(&s)
                .unwrap()
                .ends_with("<svg width=\"1\"></svg>")
        );
    }

    #[test]
    fn a_second_lock_is_refused_naming_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let a = Folder::open(d.path(), "first", || Ok::<(), OutputError>(())).unwrap();
        let e = Folder::open(d.path(), "second", || Ok::<(), OutputError>(())).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("first") && msg.contains("pid "), "{msg}");
        drop(a);
        assert!(!d.path().join(LOCK_FILE).exists(), "released and removed");
        let _b = Folder::open(d.path(), "second", || Ok::<(), OutputError>(())).unwrap();
    }
}
