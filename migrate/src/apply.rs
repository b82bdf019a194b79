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
    #[error("{path}: is {what}, not a regular file; not replaced")]
    NotRegular { path: String, what: &'static str },
    #[error("{path}: cannot write: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl ApplyError {
    /// The file the error is about, as the run names it.
    pub fn path(&self) -> &str {
        match self {
            ApplyError::ChangedMeanwhile { path }
            | ApplyError::AlreadyExists { path }
            | ApplyError::NotRegular { path, .. }
            | ApplyError::Io { path, .. } => path,
        }
    }

    /// A conflict with someone else's file: left alone on purpose, not a failed write.
    pub fn is_conflict(&self) -> bool {
        !matches!(self, ApplyError::Io { .. })
    }
}

/// Writes every changed and added file; returns how many were written and the failures.
pub fn apply(run: &Migration) -> (usize, Vec<ApplyError>) {
    let mut written = 0;
    let mut errors = Vec::new();
    for file in &run.files {
        let result = match file.status {
            FileStatus::Changed => write_changed(file, || {}),
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

/// Marks the files `apply` did not write, so the report says what is on disk: conflicts as
/// skipped, failed writes as failed, each with its reason.
pub fn record(run: &mut Migration, errors: &[ApplyError]) {
    for err in errors {
        if let Some(file) = run.files.iter_mut().find(|f| f.relative == err.path()) {
            file.status = if err.is_conflict() {
                FileStatus::Skipped
            } else {
                FileStatus::Failed
            };
            let message = err.to_string();
            let reason = message
                .strip_prefix(&format!("{}: ", err.path()))
                .unwrap_or(&message);
            file.reason = Some(reason.to_string());
        }
    }
}

fn io(path: &str) -> impl FnOnce(std::io::Error) -> ApplyError + '_ {
    move |source| ApplyError::Io {
        path: path.to_string(),
        source,
    }
}

/// Replaces a changed file, compare-and-swap: the file must still hold what was read, both
/// before the new text is written and again after, immediately before the rename, so an
/// editor's save that lands while the temporary file is written is never lost.
/// `before_recheck` runs between the two; tests use it to save the file at that moment.
fn write_changed(file: &FileResult, before_recheck: impl Fn()) -> Result<(), ApplyError> {
    let path = &file.relative;
    let original = file.original.as_deref().unwrap_or_default();
    let permissions = unchanged_since_read(&file.absolute, original, path)?;
    let recheck = || {
        before_recheck();
        unchanged_since_read(&file.absolute, original, path).map(|_| ())
    };
    write_atomically(
        &file.absolute,
        file.output.as_deref().unwrap_or_default(),
        Some(permissions),
        path,
        Persist::ReplaceIf(&recheck),
    )
}

/// Ok with the file's permissions when `target` is still a regular file holding `original`.
fn unchanged_since_read(
    target: &Path,
    original: &str,
    path: &str,
) -> Result<std::fs::Permissions, ApplyError> {
    let meta = std::fs::symlink_metadata(target).map_err(io(path))?;
    if !meta.file_type().is_file() {
        return Err(ApplyError::NotRegular {
            path: path.to_string(),
            what: crate::output_file::describe(meta.file_type()),
        });
    }
    let now = std::fs::read(target).map_err(io(path))?;
    if now != original.as_bytes() {
        return Err(ApplyError::ChangedMeanwhile {
            path: path.to_string(),
        });
    }
    Ok(meta.permissions())
}

fn write_added(file: &FileResult) -> Result<(), ApplyError> {
    write_atomically(
        &file.absolute,
        file.output.as_deref().unwrap_or_default(),
        None,
        &file.relative,
        Persist::NewOnly,
    )
}

/// How the temporary file takes the target's place.
pub enum Persist<'a> {
    /// Only where nothing exists, not even a dangling symbolic link (checked by the rename
    /// itself, so a file that appears meanwhile is never overwritten).
    NewOnly,
    /// Over what is there, if the check (run after the text is written, right before the
    /// rename) passes; otherwise the temporary file is removed and the target left alone.
    ReplaceIf(&'a dyn Fn() -> Result<(), ApplyError>),
}

/// Write to a temporary file in the same directory, then rename over the target, so a
/// crash leaves either the old or the new file, never half of one.
pub fn write_atomically(
    target: &Path,
    text: &str,
    permissions: Option<std::fs::Permissions>,
    label: &str,
    persist: Persist<'_>,
) -> Result<(), ApplyError> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Dropping `tmp` on any early return below removes the temporary file.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(label))?;
    tmp.write_all(text.as_bytes()).map_err(io(label))?;
    tmp.as_file().sync_all().map_err(io(label))?;
    // A new file gets the usual 0644 rather than the temporary file's private 0600.
    let permissions = match permissions {
        Some(p) => p,
        None => default_permissions(tmp.path()).map_err(io(label))?,
    };
    std::fs::set_permissions(tmp.path(), permissions).map_err(io(label))?;
    let persisted = match persist {
        Persist::NewOnly => tmp.persist_noclobber(target),
        Persist::ReplaceIf(check) => {
            check()?;
            tmp.persist(target)
        }
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            ApplyError::AlreadyExists {
                path: label.to_string(),
            }
        } else {
            ApplyError::Io {
                path: label.to_string(),
                source: e.error,
            }
        }
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

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp"))
            .collect()
    }

    #[test]
    fn a_save_while_the_temporary_file_is_written_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("模型.py");
        std::fs::write(&file, "x = y.cuda()\n").unwrap();
        let run = migrate_paths(&[dir.path().to_path_buf()], &Default::default()).unwrap();
        let changed = run.files.iter().find(|f| f.relative == "模型.py").unwrap();
        // The editor saves after the first check passed, before the rename.
        let saved = "x = y.cuda()  # 编辑\n";
        let result = write_changed(changed, || std::fs::write(&file, saved).unwrap());
        assert!(
            matches!(&result, Err(ApplyError::ChangedMeanwhile { path }) if path == "模型.py"),
            "{result:?}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), saved);
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }

    #[cfg(unix)]
    #[test]
    fn a_file_replaced_by_a_symlink_meanwhile_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.py");
        std::fs::write(&file, "x = y.cuda()\n").unwrap();
        let run = migrate_paths(&[dir.path().to_path_buf()], &Default::default()).unwrap();
        let elsewhere = dir.path().join("elsewhere.txt");
        std::fs::write(&elsewhere, "x = y.cuda()\n").unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        let (_, errors) = apply(&run);
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, ApplyError::NotRegular { path, .. } if path == "a.py")),
            "{errors:?}"
        );
        assert!(
            std::fs::symlink_metadata(&file)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_added_file_is_not_written_over_a_dangling_symlink() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x = y.cuda()\n").unwrap();
        let run = migrate_paths(&[dir.path().to_path_buf()], &Default::default()).unwrap();
        let helper = dir.path().join("device_utils.py");
        std::os::unix::fs::symlink(dir.path().join("missing"), &helper).unwrap();
        let (_, errors) = apply(&run);
        assert!(
            matches!(errors.as_slice(), [ApplyError::AlreadyExists { .. }]),
            "{errors:?}"
        );
        assert!(
            std::fs::symlink_metadata(&helper)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
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
