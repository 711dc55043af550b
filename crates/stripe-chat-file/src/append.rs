//! Appending lines whole to a file kept open, taking back a line that could not be written
//! whole, and classifying what can go wrong.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use stripe_chat_message::{DeliveryError, ErrorKind};

/// Appends lines to one path, keeping the file open from one write to the next.
///
/// Before each write it looks at the path (one `stat`): when the path names another file than
/// the one open (the file was rotated by renaming it and a new one created, or deleted), that
/// file is opened, or created (0600, with its missing parent directories, 0700), so lines always
/// go where the path points at the time. Where a file's identity cannot be read (outside Unix),
/// the file is opened for every write.
///
/// Each write is one `write` of one buffer on a file opened with `O_APPEND`. When the file does
/// not end with a newline (the torn last write of a crash), a newline is written first, in the
/// same `write`, so the torn fragment stays alone on its line. That last byte is only read when
/// the file's length is not where this appender's own last write ended (another writer appended
/// since, or the file is new to it): otherwise the file ends with that write's newline.
///
/// When the lines cannot be written whole (a short write, a failed `fdatasync`), what was written
/// of them is cut off again before the error is returned (see [`write_whole`]), so a failed
/// append leaves the file as it was and the retry appends the whole line once.
#[derive(Debug, Default)]
pub(crate) struct Appender {
    open: Option<Open>,
}

/// The file an [`Appender`] has open.
#[derive(Debug)]
struct Open {
    file: File,
    /// The device and inode it was opened as (`None`: unknown, the file is opened again for the
    /// next write).
    identity: Option<(u64, u64)>,
    /// Where this appender's last write ended, if it wrote since opening the file.
    end: Option<u64>,
}

impl Appender {
    /// Appends `lines` (complete lines, each ending with its newline) to `path` with one
    /// `write`. With `fsync`, the data is on the disk when this returns.
    pub(crate) fn append(
        &mut self,
        path: &Path,
        lines: &[u8],
        fsync: bool,
    ) -> Result<(), DeliveryError> {
        let result = self.append_to(path, lines, fsync);
        if result.is_err() {
            // Start afresh: the next write opens the path again and looks at the file's end.
            self.open = None;
        }
        result
    }

    fn append_to(&mut self, path: &Path, lines: &[u8], fsync: bool) -> Result<(), DeliveryError> {
        let now = std::fs::metadata(path).ok();
        let still_open = self
            .open
            .as_ref()
            .zip(now.as_ref())
            .is_some_and(|(open, meta)| open.identity.is_some() && identity(meta) == open.identity);
        let mut created = false;
        let (open, len) = match (self.open.as_mut(), now) {
            (Some(open), Some(meta)) if still_open => (open, meta.len()),
            _ => {
                let (file, was_created) = open(path).map_err(|e| classify(path, "open", e))?;
                created = was_created;
                let meta = file.metadata().map_err(|e| classify(path, "open", e))?;
                let len = meta.len();
                let open = self.open.insert(Open {
                    identity: identity(&meta),
                    file,
                    end: None,
                });
                (open, len)
            }
        };

        let mut buffer = Vec::with_capacity(lines.len() + 1);
        if open.end != Some(len) && !ends_with_newline(path, &open.file) {
            buffer.push(b'\n');
        }
        buffer.extend_from_slice(lines);

        write_whole(&mut open.file, &buffer, fsync).map_err(|f| f.into_error(path))?;
        // With `O_APPEND`, the position is where this write ended.
        open.end = open.file.stream_position().ok();
        if fsync && created {
            sync_parent(path);
        }
        Ok(())
    }
}

/// The device and inode of a file, where the platform tells them.
#[cfg(unix)]
fn identity(meta: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// The device and inode of a file, where the platform tells them.
#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> Option<(u64, u64)> {
    None
}

/// What an append needs of the file: the seam where tests put a disk that fills up.
pub(crate) trait AppendFile {
    /// One `write(2)` at the end of the file (`O_APPEND`).
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize>;
    /// `fdatasync(2)`.
    fn sync_data(&mut self) -> io::Result<()>;
    /// The file offset: after a write to an `O_APPEND` file, the end of what that write wrote,
    /// wherever other writers' lines went.
    fn position(&mut self) -> io::Result<u64>;
    /// The file's length now.
    fn len(&self) -> io::Result<u64>;
    /// `ftruncate(2)`.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

impl AppendFile for File {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        Write::write(self, buffer)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn position(&mut self) -> io::Result<u64> {
        self.stream_position()
    }

    fn len(&self) -> io::Result<u64> {
        self.metadata().map(|m| m.len())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
}

/// An append that failed, and what became of the part of the line it wrote.
#[derive(Debug)]
pub(crate) struct Failed {
    operation: &'static str,
    error: io::Error,
    left: Leftover,
}

/// What a failed append left in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leftover {
    /// Nothing: no byte was written.
    Nothing,
    /// Nothing: what was written was cut off again.
    CutOff,
    /// Part of the line, which could not be cut off (another writer's line follows it, or the
    /// truncation failed). The next append closes it with a newline.
    Fragment,
}

impl Failed {
    fn into_error(self, path: &Path) -> DeliveryError {
        classify_append(path, self.operation, self.error, Some(self.left))
    }

    #[cfg(test)]
    pub(crate) fn left(&self) -> Leftover {
        self.left
    }
}

/// Writes `buffer` with one `write`, then (with `fsync`) forces it to the disk. A short write
/// (disk full midway, a fatal signal) is never continued with a second `write` that another
/// writer's line could precede. Instead, when the buffer could not be written whole or synced,
/// the bytes this write put in the file are cut off again with `ftruncate`, back to the length
/// the file had before, unless another writer appended after them (their line is never cut).
pub(crate) fn write_whole(
    file: &mut impl AppendFile,
    buffer: &[u8],
    fsync: bool,
) -> Result<(), Failed> {
    let written = loop {
        match file.write(buffer) {
            Ok(n) => break n,
            // Interrupted before anything was written: nothing to tear, try again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A failed write wrote nothing.
            Err(error) => {
                return Err(Failed {
                    operation: "append to",
                    error,
                    left: Leftover::Nothing,
                });
            }
        }
    };
    let (operation, error) = if written < buffer.len() {
        let error = io::Error::new(
            io::ErrorKind::WriteZero,
            format!("short write: {written} of {} bytes", buffer.len()),
        );
        ("append to", error)
    } else if fsync {
        match file.sync_data() {
            Ok(()) => return Ok(()),
            Err(error) => ("sync", error),
        }
    } else {
        return Ok(());
    };
    let left = take_back(file, written);
    Err(Failed {
        operation,
        error,
        left,
    })
}

/// Cuts off the `written` bytes the last write put at the end of the file.
fn take_back(file: &mut impl AppendFile, written: usize) -> Leftover {
    if written == 0 {
        return Leftover::Nothing;
    }
    let cut = (|| {
        let end = file.position()?;
        let start = end.checked_sub(written as u64).ok_or_else(|| {
            io::Error::other("the file offset is before the end of the last write")
        })?;
        if file.len()? != end {
            // Another writer's line follows ours: cutting ours off would cut theirs.
            return Ok(false);
        }
        file.set_len(start)?;
        Ok::<bool, io::Error>(true)
    })();
    match cut {
        Ok(true) => Leftover::CutOff,
        Ok(false) | Err(_) => Leftover::Fragment,
    }
}

/// Opens `path` for appending; when it is missing, creates its parent directories and the file.
/// Returns whether the file was created.
fn open(path: &Path) -> io::Result<(File, bool)> {
    match OpenOptions::new().append(true).open(path) {
        Ok(file) => Ok((file, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Messages carry payment data: the file and the folders made for it are private.
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                let mut folders = std::fs::DirBuilder::new();
                folders.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut folders, 0o700);
                folders.create(parent)?;
            }
            let mut options = OpenOptions::new();
            options.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(path)?;
            Ok((file, true))
        }
        Err(e) => Err(e),
    }
}

/// Whether the file is empty or ends with a newline. Best effort: a file that cannot be read (a
/// write-only audit file, a device) counts as ending with one.
fn ends_with_newline(path: &Path, file: &File) -> bool {
    let len = match file.metadata() {
        Ok(meta) if meta.is_file() => meta.len(),
        _ => return true,
    };
    if len == 0 {
        return true;
    }
    let Ok(mut reader) = File::open(path) else {
        return true;
    };
    let mut last = [0u8; 1];
    match reader
        .seek(SeekFrom::Start(len - 1))
        .and_then(|_| reader.read(&mut last))
    {
        Ok(1) => last[0] == b'\n',
        _ => true,
    }
}

/// Makes a new file's directory entry durable (best effort; not possible on every platform).
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// An I/O error as a classified delivery error naming the file (a path is not a secret).
///
/// - Transient (retried with backoff, then dead-lettered): a full disk or quota, a short write,
///   a busy or timed-out or interrupted operation, and any error without a more precise kind
///   (`EIO`, a stale NFS handle): space is freed and mounts come back, and an audit line should
///   wait for that rather than be dropped.
/// - Unauthorized (fix the deployment): permission denied, like a revoked token.
/// - Permanent (fix the configuration): the path is a directory, goes through a file, is on a
///   read-only file system, has an invalid name, or the file is over its size limit.
pub(crate) fn classify(path: &Path, operation: &str, error: io::Error) -> DeliveryError {
    classify_append(path, operation, error, None)
}

/// [`classify`], saying what a failed append left in the file.
fn classify_append(
    path: &Path,
    operation: &str,
    error: io::Error,
    left: Option<Leftover>,
) -> DeliveryError {
    use io::ErrorKind as Io;
    let kind = match error.kind() {
        Io::PermissionDenied => ErrorKind::Unauthorized,
        Io::IsADirectory
        | Io::NotADirectory
        | Io::ReadOnlyFilesystem
        | Io::InvalidFilename
        | Io::InvalidInput
        | Io::FileTooLarge
        | Io::Unsupported
        | Io::AlreadyExists
        | Io::NotFound => ErrorKind::Permanent,
        _ => ErrorKind::Transient,
    };
    let hint = match error.kind() {
        Io::PermissionDenied => " (the process may not write there)",
        Io::StorageFull | Io::QuotaExceeded => " (the disk is full; retried later)",
        Io::WriteZero => " (retried later)",
        Io::IsADirectory => " (the path is a directory)",
        Io::NotADirectory => " (a parent of the path is a file)",
        _ => "",
    };
    let left = match left {
        Some(Leftover::CutOff) => " (what was written of the line was cut off again)",
        Some(Leftover::Fragment) => " (part of the line stays in the file; readers skip it)",
        Some(Leftover::Nothing) | None => "",
    };
    DeliveryError::new(
        kind,
        format!(
            "file: cannot {operation} {}: {error}{hint}{left}",
            path.display()
        ),
    )
    .with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(kind: io::ErrorKind) -> ErrorKind {
        classify(Path::new("x.jsonl"), "append to", io::Error::from(kind)).kind()
    }

    #[test]
    fn a_full_disk_is_retried_later() {
        assert_eq!(kind_of(io::ErrorKind::StorageFull), ErrorKind::Transient);
        assert_eq!(kind_of(io::ErrorKind::QuotaExceeded), ErrorKind::Transient);
        assert_eq!(kind_of(io::ErrorKind::WriteZero), ErrorKind::Transient);
    }

    #[test]
    fn permission_denied_is_unauthorized() {
        assert_eq!(
            kind_of(io::ErrorKind::PermissionDenied),
            ErrorKind::Unauthorized
        );
    }

    #[test]
    fn a_path_that_cannot_name_a_file_is_permanent() {
        for kind in [
            io::ErrorKind::IsADirectory,
            io::ErrorKind::NotADirectory,
            io::ErrorKind::ReadOnlyFilesystem,
            io::ErrorKind::FileTooLarge,
        ] {
            assert_eq!(kind_of(kind), ErrorKind::Permanent, "{kind}");
        }
    }

    #[test]
    fn errors_name_the_file_and_keep_their_source() {
        let e = classify(
            Path::new("/srv/audit.jsonl"),
            "append to",
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert!(e.to_string().contains("/srv/audit.jsonl"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }

    /// A file on a disk with `room` bytes left: a write gets what fits (a short write), then
    /// fails with ENOSPC; `sync_fails` makes `fdatasync` fail (EIO) after the write.
    struct Disk {
        file: File,
        path: std::path::PathBuf,
        room: usize,
        sync_fails: bool,
        /// Appended by "another writer" right after this file's own write.
        then_appended: Option<&'static [u8]>,
    }

    impl Disk {
        fn open(path: &Path, room: usize) -> Disk {
            Disk {
                file: open(path).unwrap().0,
                path: path.to_owned(),
                room,
                sync_fails: false,
                then_appended: None,
            }
        }
    }

    impl AppendFile for Disk {
        fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            let n = buffer.len().min(self.room);
            let written = AppendFile::write(&mut self.file, &buffer[..n])?;
            self.room -= written;
            if let Some(other) = self.then_appended {
                let mut theirs = OpenOptions::new().append(true).open(&self.path).unwrap();
                theirs.write_all(other).unwrap();
            }
            Ok(written)
        }
        fn sync_data(&mut self) -> io::Result<()> {
            if self.sync_fails {
                return Err(io::Error::other("EIO"));
            }
            AppendFile::sync_data(&mut self.file)
        }
        fn position(&mut self) -> io::Result<u64> {
            self.file.position()
        }
        fn len(&self) -> io::Result<u64> {
            AppendFile::len(&self.file)
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            AppendFile::set_len(&mut self.file, len)
        }
    }

    const EARLIER: &[u8] = b"{\"id\":\"fl-1\"}\n{\"id\":\"fl-2\"}\n";
    const LINE: &[u8] = b"{\"id\":\"fl-3\",\"message\":{\"title\":\"Payment failed\"}}\n";

    fn file_with_two_lines() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(&path, EARLIER).unwrap();
        (dir, path)
    }

    fn complete_lines(path: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.ends_with('\n'),
            "the file ends with a complete line: {text:?}"
        );
        text.lines()
            .inspect(|line| {
                assert!(line.starts_with('{') && line.ends_with('}'), "{line:?}");
            })
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_failed_append_leaves_the_file_as_it_was_wherever_the_disk_filled_up() {
        for room in 0..LINE.len() {
            let (_dir, path) = file_with_two_lines();
            let failed = write_whole(&mut Disk::open(&path, room), LINE, false).unwrap_err();
            let expected = if room == 0 {
                Leftover::Nothing
            } else {
                Leftover::CutOff
            };
            assert_eq!(failed.left(), expected, "room {room}");
            assert_eq!(std::fs::read(&path).unwrap(), EARLIER, "room {room}");
        }
    }

    #[test]
    fn the_retry_after_a_short_write_appends_the_whole_line_once() {
        let (_dir, path) = file_with_two_lines();
        let failed = write_whole(&mut Disk::open(&path, 20), LINE, true).unwrap_err();
        let error = failed.into_error(&path);
        assert_eq!(error.kind(), ErrorKind::Transient, "{error}");
        assert!(error.to_string().contains("short write: 20 of"), "{error}");
        assert!(error.to_string().contains("cut off again"), "{error}");

        Appender::default().append(&path, LINE, true).unwrap();
        let lines = complete_lines(&path);
        assert_eq!(lines.len(), 3);
        assert_eq!(format!("{}\n", lines[2]).as_bytes(), LINE);
    }

    #[test]
    fn a_line_that_could_not_be_synced_is_taken_back() {
        let (_dir, path) = file_with_two_lines();
        let mut disk = Disk::open(&path, usize::MAX);
        disk.sync_fails = true;
        let failed = write_whole(&mut disk, LINE, true).unwrap_err();
        assert_eq!(failed.left(), Leftover::CutOff);
        let error = failed.into_error(&path);
        assert!(error.to_string().contains("file: cannot sync"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), EARLIER);
    }

    #[test]
    fn a_torn_file_closed_by_a_failed_append_is_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(&path, b"{\"id\":\"fl-1\"}\n{\"torn").unwrap();
        let mut buffer = b"\n".to_vec();
        buffer.extend_from_slice(LINE);
        let failed = write_whole(&mut Disk::open(&path, 5), &buffer, false).unwrap_err();
        assert_eq!(failed.left(), Leftover::CutOff);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"id\":\"fl-1\"}\n{\"torn");
    }

    #[test]
    fn another_writers_line_after_a_short_write_is_never_cut_off() {
        let (_dir, path) = file_with_two_lines();
        let theirs: &'static [u8] = b"{\"id\":\"fl-theirs\"}\n";
        let mut disk = Disk::open(&path, 7);
        disk.then_appended = Some(theirs);
        let failed = write_whole(&mut disk, LINE, false).unwrap_err();
        assert_eq!(failed.left(), Leftover::Fragment);
        let text = std::fs::read(&path).unwrap();
        assert!(
            text.ends_with(theirs),
            "{:?}",
            String::from_utf8_lossy(&text)
        );
        assert!(
            failed
                .into_error(&path)
                .to_string()
                .contains("part of the line stays")
        );
    }

    #[test]
    fn a_torn_last_line_is_closed_before_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(&path, b"{\"torn").unwrap();
        Appender::default().append(&path, b"{}\n", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"torn\n{}\n");
    }
}
