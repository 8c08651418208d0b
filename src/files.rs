//! Opening files to read them: regular files only. A FIFO, a socket or a device where
//! a file is expected is refused at once (opened without blocking, then checked with
//! `fstat`), so a FIFO cannot hang a command and a device cannot feed it forever.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a file that is not a regular file is, for messages: "a FIFO", "a socket", ...
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// The error for a path that is `what` where a regular file is expected.
fn not_regular(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    )
}

/// Opens `path` for reading if it is a regular file. With `follow` false a symbolic
/// link is refused too (for files inside an output folder, which swarmsim never
/// reads or writes through a link).
pub fn open_regular(path: &Path, follow: bool) -> io::Result<File> {
    // (Checked before opening too: opening a socket fails with a less clear error.)
    let seen = if follow {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    if let Ok(m) = seen
        && !m.is_file()
    {
        return Err(not_regular(kind_of(m.file_type())));
    }
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    // (A link is refused by O_NOFOLLOW with ELOOP; say what it is instead.)
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if !follow && e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(not_regular("a symbolic link"));
        }
        Err(e) => return Err(e),
    };
    let t = f.metadata()?.file_type();
    if !t.is_file() {
        return Err(not_regular(kind_of(t)));
    }
    Ok(f)
}

/// Reads a regular file (see [`open_regular`]), at most `limit` bytes: `Ok(None)` if
/// it is longer.
pub fn read_regular(path: &Path, follow: bool, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let f = open_regular(path, follow)?;
    let mut bytes = Vec::new();
    f.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// What is at `path` if it is not a regular file (links not followed): "a folder",
/// "a FIFO", ...; `None` for a regular file or nothing.
pub fn special_kind(path: &Path) -> Option<&'static str> {
    let m = std::fs::symlink_metadata(path).ok()?;
    (!m.file_type().is_file()).then(|| kind_of(m.file_type()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_folders_are_refused_regular_files_read() {
        // /dev/null is a character device on every Unix; "." a folder.
        let e = open_regular(Path::new("/dev/null"), true).unwrap_err();
        assert_eq!(e.to_string(), "it is a device, not a regular file");
        let e = open_regular(Path::new("."), true).unwrap_err();
        assert_eq!(e.to_string(), "it is a folder, not a regular file");
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(read_regular(&f, false, 3).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_regular(&f, false, 2).unwrap(), None);
        let l = d.path().join("l");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert!(read_regular(&l, true, 9).is_ok());
        let e = read_regular(&l, false, 9).unwrap_err();
        assert_eq!(e.to_string(), "it is a symbolic link, not a regular file");
    }
}
