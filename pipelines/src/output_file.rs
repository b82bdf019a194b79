//! Writing the files a user asked for (images, latents, prompt embeddings) without ever
//! losing one they had: a target may only be absent or a regular file (a symlink, FIFO,
//! device node or folder is refused, not followed or replaced), it is checked before any
//! work and again just before the rename, and a set of files (a batch) is committed all
//! or nothing, putting back every file it had replaced when a later one fails.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum OutputFileError {
    /// The path exists and is not a regular file: replacing it would destroy something
    /// that is not an earlier output (or write through a link somewhere unexpected).
    #[error(
        "{}: is {kind}; only a missing path or a regular file is replaced (remove it or choose another path)",
        path.display()
    )]
    NotARegularFile { path: PathBuf, kind: &'static str },
    #[error("{}: the folder {} does not exist", path.display(), folder.display())]
    MissingFolder { path: PathBuf, folder: PathBuf },
    #[error("{}: {} is not a folder", path.display(), folder.display())]
    NotAFolder { path: PathBuf, folder: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl OutputFileError {
    /// Whether the user's path is at fault (as opposed to a failing disk or a write error).
    pub fn is_bad_path(&self) -> bool {
        match self {
            Self::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ),
            _ => true,
        }
    }

    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What a non-regular directory entry is, in words for an error; `None` for a regular file.
pub(crate) fn non_regular_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_symlink() {
        return Some("a symbolic link");
    }
    if t.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device node");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fails unless `path` may be written: it is absent or a regular file (not a symlink, even
/// to one), and its folder exists. Call it before the work that produces the file, so a
/// bad path costs nothing.
pub fn check_target(path: &Path) -> Result<(), OutputFileError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if let Some(kind) = non_regular_kind(&meta) {
                return Err(OutputFileError::NotARegularFile {
                    path: path.to_path_buf(),
                    kind,
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(OutputFileError::io(path, e)),
    }
    let folder = folder_of(path);
    match std::fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(OutputFileError::NotAFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(OutputFileError::MissingFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        }),
        Err(e) => Err(OutputFileError::io(path, e)),
    }
}

/// A file written in full under a temporary name beside its target, waiting for
/// [`commit`]. Dropped uncommitted, it removes its temporary file.
#[derive(Debug)]
pub struct StagedFile {
    target: PathBuf,
    temporary: PathBuf,
}

impl StagedFile {
    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        // After a commit the temporary name no longer exists; removing it is then a no-op.
        let _ = std::fs::remove_file(&self.temporary);
    }
}

/// The prefix of every temporary name this process creates beside `target`.
fn temporary_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.{}.", std::process::id())
}

/// The files this process has staged beside `target` and not yet committed. A program
/// stopped by a signal, whose `StagedFile`s are never dropped, removes these on its way
/// out.
pub fn staged_temporaries(target: &Path) -> Vec<PathBuf> {
    let prefix = temporary_prefix(target);
    let Ok(entries) = std::fs::read_dir(folder_of(target)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".tmp")
        })
        .map(|e| e.path())
        .collect()
}

/// A fresh name beside `target`, created exclusively (never an existing file), with the
/// permissions a plain create gives (0666 less the umask), not a temp file's 0600.
fn create_beside(target: &Path, purpose: &str) -> Result<(PathBuf, File), OutputFileError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = temporary_prefix(target);
    let folder = folder_of(target);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let candidate = folder.join(format!("{prefix}{n}.{purpose}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(OutputFileError::io(target, e)),
        }
    }
}

/// Writes the whole file under a temporary name beside `target` (checked first) and
/// flushes it to disk; nothing is visible under `target` until [`commit`].
pub fn stage(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<StagedFile, OutputFileError> {
    check_target(target)?;
    let (temporary, file) = create_beside(target, "tmp")?;
    let staged = StagedFile {
        target: target.to_path_buf(),
        temporary,
    };
    let mut writer = BufWriter::new(file);
    write(&mut writer)
        .and_then(|()| writer.flush())
        .map_err(|e| OutputFileError::io(target, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| OutputFileError::io(target, e.into_error()))?;
    file.sync_all()
        .map_err(|e| OutputFileError::io(target, e))?;
    Ok(staged)
}

/// One target renamed into place, with the copy of what it replaced (if anything).
struct Committed<'a> {
    target: &'a Path,
    backup: Option<PathBuf>,
}

/// Keeps what is at `target` under a fresh name beside it, so a failed batch can put it
/// back: a hard link where the file system allows one, a copy otherwise.
fn back_up(target: &Path) -> Result<Option<PathBuf>, OutputFileError> {
    if std::fs::symlink_metadata(target).is_err() {
        return Ok(None);
    }
    let (backup, file) = create_beside(target, "backup")?;
    drop(file);
    std::fs::remove_file(&backup).map_err(|e| OutputFileError::io(target, e))?;
    if std::fs::hard_link(target, &backup).is_err() {
        std::fs::copy(target, &backup).map_err(|e| {
            let _ = std::fs::remove_file(&backup);
            OutputFileError::io(target, e)
        })?;
    }
    Ok(Some(backup))
}

fn undo(done: &[Committed<'_>]) {
    for c in done.iter().rev() {
        match &c.backup {
            Some(backup) => {
                let _ = std::fs::rename(backup, c.target);
            }
            None => {
                let _ = std::fs::remove_file(c.target);
            }
        }
    }
}

/// Renames every staged file into place, in order. Each target is checked again just
/// before its rename (something may have appeared there during the run). If any step
/// fails, the files already renamed are undone: the user's earlier files come back, new
/// ones are removed, and the error is returned.
pub fn commit(files: Vec<StagedFile>) -> Result<(), OutputFileError> {
    let mut done: Vec<Committed<'_>> = Vec::with_capacity(files.len());
    for file in &files {
        let step = check_target(&file.target)
            .and_then(|()| back_up(&file.target))
            .and_then(|backup| {
                std::fs::rename(&file.temporary, &file.target)
                    .map(|()| backup.clone())
                    .map_err(|e| {
                        if let Some(b) = &backup {
                            let _ = std::fs::remove_file(b);
                        }
                        OutputFileError::io(&file.target, e)
                    })
            });
        match step {
            Ok(backup) => done.push(Committed {
                target: &file.target,
                backup,
            }),
            Err(e) => {
                undo(&done);
                return Err(e);
            }
        }
    }
    for c in &done {
        if let Some(backup) = &c.backup {
            let _ = std::fs::remove_file(backup);
        }
    }
    Ok(())
}

/// [`stage`] then [`commit`] of one file: `target` is either left as it was or holds
/// the complete new content.
pub fn write_atomically(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), OutputFileError> {
    commit(vec![stage(target, write)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_missing_path_or_a_regular_file_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("图像.png");
        check_target(&path).unwrap();
        std::fs::write(&path, b"old").unwrap();
        check_target(&path).unwrap();
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn symlinks_fifos_devices_and_folders_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.png");
        std::fs::write(&real, b"precious").unwrap();
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let fifo = dir.path().join("fifo.png");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let folder = dir.path().join("folder.png");
        std::fs::create_dir(&folder).unwrap();
        for (path, kind) in [
            (&link, "symbolic link"),
            (&fifo, "FIFO"),
            (&folder, "folder"),
            (&PathBuf::from("/dev/null"), "device node"),
        ] {
            let err = write_atomically(path, |w| w.write_all(b"new")).unwrap_err();
            assert!(err.is_bad_path());
            assert!(err.to_string().contains(kind), "{err}");
        }
        assert_eq!(std::fs::read(&real).unwrap(), b"precious");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(
            entries(dir.path()),
            ["fifo.png", "folder.png", "link.png", "real.png"]
        );
    }

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_target(&dir.path().join("nope/out.png")).unwrap_err();
        assert!(
            matches!(err, OutputFileError::MissingFolder { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        std::fs::write(&path, b"old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(!err.is_bad_path());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(dir.path()), ["out.png"]);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn new_files_get_the_usual_permissions_not_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latents.safetensors");
        write_atomically(&path, |w| w.write_all(b"x")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // 0666 less whatever umask the test runs under; never a temp file's 0600 unless
        // the umask itself says so.
        let umask = unsafe {
            let m = libc::umask(0);
            libc::umask(m);
            m
        };
        assert_eq!(mode, 0o666 & !(umask as u32));
    }

    #[test]
    fn a_batch_that_fails_part_way_puts_back_the_files_it_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("o.png");
        let second = dir.path().join("o-1.png");
        std::fs::write(&first, b"precious").unwrap();
        let staged = vec![
            stage(&first, |w| w.write_all(b"new 0")).unwrap(),
            stage(&second, |w| w.write_all(b"new 1")).unwrap(),
        ];
        // Something takes the second name during the run.
        std::fs::create_dir(&second).unwrap();
        let err = commit(staged).unwrap_err();
        assert!(err.to_string().contains("folder"), "{err}");
        assert_eq!(std::fs::read(&first).unwrap(), b"precious");
        assert_eq!(entries(dir.path()), ["o-1.png", "o.png"]);
    }

    #[test]
    fn a_batch_that_succeeds_replaces_and_leaves_no_backups() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("o.png");
        std::fs::write(&first, b"old").unwrap();
        let second = dir.path().join("o-1.png");
        commit(vec![
            stage(&first, |w| w.write_all(b"new 0")).unwrap(),
            stage(&second, |w| w.write_all(b"new 1")).unwrap(),
        ])
        .unwrap();
        assert_eq!(std::fs::read(&first).unwrap(), b"new 0");
        assert_eq!(std::fs::read(&second).unwrap(), b"new 1");
        assert_eq!(entries(dir.path()), ["o-1.png", "o.png"]);
    }

    #[test]
    fn staged_temporaries_lists_this_process_uncommitted_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("图.png");
        let other = std::process::id().wrapping_add(1);
        std::fs::write(dir.path().join(format!(".图.png.{other}.0.tmp")), b"other").unwrap();
        assert!(staged_temporaries(&target).is_empty());
        let staged = stage(&target, |w| w.write_all(b"x")).unwrap();
        let listed = staged_temporaries(&target);
        assert_eq!(listed, vec![staged.temporary.clone()]);
        commit(vec![staged]).unwrap();
        assert!(staged_temporaries(&target).is_empty());
    }

    #[test]
    fn an_uncommitted_stage_removes_its_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage(&dir.path().join("x.png"), |w| w.write_all(b"x")).unwrap();
        assert_eq!(entries(dir.path()).len(), 1);
        drop(staged);
        assert!(entries(dir.path()).is_empty());
    }
}
