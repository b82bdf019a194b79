//! Opening vendor libraries with dlopen and resolving their symbols optionally.

use crate::info::{LibraryAttempt, LibraryCandidate};
use libloading::Library;
use std::path::Path;

/// Tries each candidate in order and keeps the first library that loads. A candidate
/// that fails does not stop the search: a stale copy early on the path must not hide a
/// good one later.
pub(crate) fn open_first(
    candidates: &[LibraryCandidate],
) -> (Vec<LibraryAttempt>, Option<(Library, String)>) {
    let mut attempts = Vec::new();
    for candidate in candidates {
        let (target, label) = match candidate {
            LibraryCandidate::Path(path) => {
                if let Err(refusal) = check_file(path) {
                    attempts.push(refusal.attempt(candidate));
                    continue;
                }
                (path.as_os_str().to_owned(), path.display().to_string())
            }
            LibraryCandidate::LoaderSearch(name) => (name.into(), name.clone()),
        };
        crate::probe::stage::announce(|| format!("dlopen {label}"));
        // SAFETY: loading a library runs its initialisers. The candidates are the vendor
        // runtimes (or test doubles standing in for them), which are meant to be loaded
        // into any process that uses the device; nothing else is ever passed here.
        match unsafe { Library::new(&target) } {
            Ok(lib) => {
                attempts.push(LibraryAttempt {
                    candidate: candidate.clone(),
                    error: None,
                    found: true,
                });
                return (attempts, Some((lib, label)));
            }
            Err(e) => {
                let error = e.to_string();
                let found = match candidate {
                    // check_file saw a regular file there.
                    LibraryCandidate::Path(_) => true,
                    LibraryCandidate::LoaderSearch(name) => !nothing_by_that_name(&error, name),
                };
                attempts.push(LibraryAttempt {
                    candidate: candidate.clone(),
                    error: Some(error),
                    found,
                });
            }
        }
    }
    (attempts, None)
}

/// Why an explicit library path is not tried.
enum Refusal {
    Missing,
    NotAFile(&'static str),
    Unreadable(String),
}

impl Refusal {
    /// Errors of files that exist name the path, as dlopen's own do.
    fn attempt(self, candidate: &LibraryCandidate) -> LibraryAttempt {
        let (error, found) = match self {
            Refusal::Missing => ("no such file".to_string(), false),
            Refusal::NotAFile(what) => (format!("{candidate}: {what}, not a library file"), true),
            Refusal::Unreadable(e) => (format!("{candidate}: {e}"), true),
        };
        LibraryAttempt {
            candidate: candidate.clone(),
            error: Some(error),
            found,
        }
    }
}

/// Only a regular file is handed to dlopen: a FIFO would block it forever, and a
/// directory or device by the library's name is a broken install, not an absent one.
fn check_file(path: &Path) -> Result<(), Refusal> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Refusal::Missing),
        Err(e) => return Err(Refusal::Unreadable(e.to_string())),
    };
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(Refusal::NotAFile(if kind.is_dir() {
        "a directory"
    } else {
        "a special file (FIFO, socket or device)"
    }))
}

/// Whether dlopen's error for a bare soname says the loader found no file by that name.
/// glibc names the soname itself then ("libcuda.so.1: cannot open shared object file: No
/// such file or directory") and the full path once it found a file that would not load;
/// a missing dependency of a found library names the dependency instead. musl says
/// "Error loading shared library libcuda.so.1: No such file or directory".
fn nothing_by_that_name(error: &str, name: &str) -> bool {
    let missing = error.contains("No such file or directory");
    let glibc = error.starts_with(&format!("{name}: cannot open shared object file"));
    let musl = error.contains(&format!("shared library {name}: "));
    missing && (glibc || musl)
}

/// Resolves `name` as a value of type `T` (a function pointer), or `None` when absent.
///
/// # Safety
/// `T` must be the exact `unsafe extern "C" fn` type of the C prototype of `name`, and the
/// returned pointer must not be called after `lib` is dropped.
pub(crate) unsafe fn symbol<T: Copy>(lib: &Library, name: &str) -> Option<T> {
    // SAFETY: forwarded to the caller (matching prototype, lifetime tied to `lib`).
    unsafe { lib.get::<T>(name.as_bytes()).ok().map(|s| *s) }
}

/// Reads a NUL-terminated C string the runtime owns, tolerating NULL and bad UTF-8.
///
/// # Safety
/// `ptr` must be NULL or point at a NUL-terminated string that stays valid for the call.
pub(crate) unsafe fn c_string(ptr: *const std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    let text = unsafe { std::ffi::CStr::from_ptr(ptr) };
    Some(text.to_string_lossy().into_owned())
}

/// Decodes a fixed buffer the runtime filled with a NUL-terminated name.
pub(crate) fn buffer_string(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::nothing_by_that_name;

    #[test]
    fn only_the_soname_itself_missing_is_not_found() {
        let name = "libcuda.so.1";
        assert!(nothing_by_that_name(
            "libcuda.so.1: cannot open shared object file: No such file or directory",
            name
        ));
        assert!(nothing_by_that_name(
            "Error loading shared library libcuda.so.1: No such file or directory",
            name
        ));
        // A file on the path that is not a library.
        assert!(!nothing_by_that_name(
            "/opt/nv/libcuda.so.1: invalid ELF header",
            name
        ));
        assert!(!nothing_by_that_name(
            "/opt/nv/libcuda.so.1: cannot read file data: Is a directory",
            name
        ));
        // The library was found; a library it needs was not.
        assert!(!nothing_by_that_name(
            "libnvidia-ptxjitcompiler.so.1: cannot open shared object file: No such file or \
             directory",
            name
        ));
    }
}
