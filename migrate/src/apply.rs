//! `--apply`: write each changed file in place, atomically, and only if nobody changed it
//! since it was read.

use crate::file_result::{FileResult, FileStatus};
use crate::run::Migration;
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{path}: changed on disk since it was read; not overwritten (run migrate again)")]
    ChangedMeanwhile { path: String },
    #[error("{path}: already exists; not overwritten")]
    AlreadyExists { path: String },
    #[error("{path}: cannot write: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Writes every changed and added file; returns how many were written and the failures.
pub fn apply(run: &Migration) -> (usize, Vec<ApplyError>) {
    let mut written = 0;
    let mut errors = Vec::new();
    for file in &run.files {
        let result = match file.status {
            FileStatus::Changed => write_changed(file),
            FileStatus::Added => write_added(file),
            _ => continue,
        };
        match result {
            Ok(()) => written += 1,
            Err(err) => errors.push(err),
        }
    }
    (written, errors)
}

fn io(path: &str) -> impl FnOnce(std::io::Error) -> ApplyError + '_ {
    move |source| ApplyError::Io {
        path: path.to_string(),
        source,
    }
}

fn write_changed(file: &FileResult) -> Result<(), ApplyError> {
    let path = &file.relative;
    let now = std::fs::read(&file.absolute).map_err(io(path))?;
    if Some(now.as_slice()) != file.original.as_deref().map(str::as_bytes) {
        return Err(ApplyError::ChangedMeanwhile { path: path.clone() });
    }
    let permissions = std::fs::metadata(&file.absolute)
        .map_err(io(path))?
        .permissions();
    write_atomically(
        &file.absolute,
        file.output.as_deref().unwrap_or_default(),
        Some(permissions),
        path,
    )
}

fn write_added(file: &FileResult) -> Result<(), ApplyError> {
    if file.absolute.exists() {
        return Err(ApplyError::AlreadyExists {
            path: file.relative.clone(),
        });
    }
    write_atomically(
        &file.absolute,
        file.output.as_deref().unwrap_or_default(),
        None,
        &file.relative,
    )
}

/// Write to a temporary file in the same directory, then rename over the target, so a
/// crash leaves either the old or the new file, never half of one.
pub fn write_atomically(
    target: &Path,
    text: &str,
    permissions: Option<std::fs::Permissions>,
    label: &str,
) -> Result<(), ApplyError> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(label))?;
    tmp.write_all(text.as_bytes()).map_err(io(label))?;
    tmp.as_file().sync_all().map_err(io(label))?;
    // A new file gets the usual 0644 rather than the temporary file's private 0600.
    let permissions = match permissions {
        Some(p) => p,
        None => default_permissions(tmp.path()).map_err(io(label))?,
    };
    std::fs::set_permissions(tmp.path(), permissions).map_err(io(label))?;
    tmp.persist(target).map_err(|e| ApplyError::Io {
        path: label.to_string(),
        source: e.error,
    })?;
    Ok(())
}

#[cfg(unix)]
fn default_permissions(path: &Path) -> std::io::Result<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    let _ = path;
    Ok(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions(path: &Path) -> std::io::Result<std::fs::Permissions> {
    Ok(std::fs::metadata(path)?.permissions())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::migrate_paths;

    #[test]
    fn a_file_edited_after_it_was_read_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.py");
        std::fs::write(&file, "x = y.cuda()\n").unwrap();
        let run = migrate_paths(&[dir.path().to_path_buf()], &Default::default()).unwrap();
        // Someone saves the file between the read and the write.
        std::fs::write(&file, "x = y.cuda()  # edited meanwhile\n").unwrap();
        let (written, errors) = apply(&run);
        assert_eq!(written, 1, "only the new helper module is written");
        assert!(
            matches!(errors.as_slice(), [ApplyError::ChangedMeanwhile { path }] if path == "a.py"),
            "{errors:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "x = y.cuda()  # edited meanwhile\n"
        );
    }

    #[test]
    fn an_added_file_that_appeared_meanwhile_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x = y.cuda()\n").unwrap();
        let run = migrate_paths(&[dir.path().to_path_buf()], &Default::default()).unwrap();
        std::fs::write(dir.path().join("device_utils.py"), "mine\n").unwrap();
        let (_, errors) = apply(&run);
        assert!(
            matches!(errors.as_slice(), [ApplyError::AlreadyExists { .. }]),
            "{errors:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("device_utils.py")).unwrap(),
            "mine\n"
        );
    }
}
