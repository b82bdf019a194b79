//! Opening vendor libraries with dlopen and resolving their symbols optionally.

use crate::info::{LibraryAttempt, LibraryCandidate};
use libloading::Library;

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
                if !path.is_file() {
                    attempts.push(LibraryAttempt {
                        candidate: candidate.clone(),
                        error: Some("no such file".to_string()),
                    });
                    continue;
                }
                (path.as_os_str().to_owned(), path.display().to_string())
            }
            LibraryCandidate::LoaderSearch(name) => (name.into(), name.clone()),
        };
        // SAFETY: loading a library runs its initialisers. The candidates are the vendor
        // runtimes (or test doubles standing in for them), which are meant to be loaded
        // into any process that uses the device; nothing else is ever passed here.
        match unsafe { Library::new(&target) } {
            Ok(lib) => {
                attempts.push(LibraryAttempt {
                    candidate: candidate.clone(),
                    error: None,
                });
                return (attempts, Some((lib, label)));
            }
            Err(e) => attempts.push(LibraryAttempt {
                candidate: candidate.clone(),
                error: Some(e.to_string()),
            }),
        }
    }
    (attempts, None)
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
