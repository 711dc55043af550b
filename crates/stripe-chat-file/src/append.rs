//! Appending one line whole, and classifying what can go wrong.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use stripe_chat_message::{DeliveryError, ErrorKind};

/// Appends `line` (which ends with its newline) to `path` with one `write` on a file opened with
/// `O_APPEND`, creating the file (0600) and its missing parent directories (0700). When the file does not end
/// with a newline (the torn last write of a crash), a newline is written first, in the same
/// `write`, so the torn fragment stays alone on its line.
pub(crate) fn append_line(path: &Path, line: &[u8], fsync: bool) -> Result<(), DeliveryError> {
    let (mut file, created) = open(path).map_err(|e| classify(path, "open", e))?;

    let mut buffer = Vec::with_capacity(line.len() + 1);
    if !ends_with_newline(path, &file) {
        buffer.push(b'\n');
    }
    buffer.extend_from_slice(line);

    write_once(&mut file, &buffer).map_err(|e| classify(path, "append to", e))?;
    file.flush().map_err(|e| classify(path, "flush", e))?;
    if fsync {
        file.sync_data().map_err(|e| classify(path, "sync", e))?;
        if created {
            sync_parent(path);
        }
    }
    Ok(())
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

/// One `write` of the whole buffer. A short write (disk full midway, a fatal signal) is an error,
/// never continued with a second `write` that another writer's line could precede.
fn write_once(file: &mut File, buffer: &[u8]) -> io::Result<()> {
    loop {
        match file.write(buffer) {
            Ok(n) if n == buffer.len() => return Ok(()),
            Ok(n) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("short write: {n} of {} bytes", buffer.len()),
                ));
            }
            // Interrupted before anything was written: nothing to tear, try again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
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
        Io::WriteZero => " (part of the line may be in the file; retried later)",
        Io::IsADirectory => " (the path is a directory)",
        Io::NotADirectory => " (a parent of the path is a file)",
        _ => "",
    };
    DeliveryError::new(
        kind,
        format!("file: cannot {operation} {}: {error}{hint}", path.display()),
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

    #[test]
    fn a_torn_last_line_is_closed_before_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(&path, b"{\"torn").unwrap();
        append_line(&path, b"{}\n", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"torn\n{}\n");
    }
}
