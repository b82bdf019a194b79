//! Files migrate writes at a path the user names (the report): the path must be absent or a
//! regular file. Anything else there (a symbolic link, a FIFO, a device, a directory) is the
//! user's and is refused before any work, never replaced by a regular file.

use std::fs::{FileType, Permissions};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum OutputFileError {
    #[error("{path}: is {what}, not a regular file; refusing to replace it")]
    NotRegular { path: String, what: &'static str },
    #[error("{path}: its directory {dir} does not exist")]
    NoDirectory { path: String, dir: String },
    #[error("{path}: cannot inspect: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Checks that `path` may be written as a regular file; returns the permissions of the file
/// already there (kept when it is replaced), or None when there is none.
pub fn check(path: &Path) -> Result<Option<Permissions>, OutputFileError> {
    let shown = path.display().to_string();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => return Ok(Some(meta.permissions())),
        Ok(meta) => {
            return Err(OutputFileError::NotRegular {
                path: shown,
                what: describe(meta.file_type()),
            });
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(OutputFileError::Io {
                path: shown,
                source,
            });
        }
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(OutputFileError::NoDirectory {
            path: shown,
            dir: dir.display().to_string(),
        });
    }
    Ok(None)
}

/// What a non-regular file is, for the error message.
pub fn describe(kind: FileType) -> &'static str {
    if kind.is_symlink() {
        return "a symbolic link";
    }
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}
