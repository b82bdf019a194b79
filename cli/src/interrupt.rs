//! Ctrl-C and `kill`: a run stopped part way leaves nothing of its own behind (scratch
//! folders, staged temporaries) and never half of a batch of outputs, then exits with
//! 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), what a shell reports
//! for a program the signal ended.
//!
//! A signal handler may do almost nothing safely, and the denoising loops cannot be
//! stopped from their progress callbacks (they return nothing), so the work happens on a
//! thread of its own: [`install`] blocks SIGINT and SIGTERM in the calling thread before
//! any other thread exists, every thread started later (rayon's, candle's) inherits the
//! block, and the watcher takes them with `sigwait`. It waits for a commit in progress to
//! finish ([`commit`]), removes what is registered, and ends the process with `_exit`
//! (running exit handlers while worker threads still compute is what `_exit` avoids).

use pipelines::output_file::{OutputFileError, StagedFile};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

enum Entry {
    /// A scratch file or folder, removed whole.
    Scratch(PathBuf),
    /// An output whose staged, uncommitted temporaries are removed.
    Output(PathBuf),
}

struct Registry {
    next: u64,
    entries: Vec<(u64, Entry)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    entries: Vec::new(),
});

/// Held while outputs are renamed into place; the watcher takes it before cleaning up.
static COMMITTING: Mutex<()> = Mutex::new(());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes its entries from the list when dropped: the run got past the point where they
/// could be left behind (a scratch folder dropped normally, outputs committed).
#[must_use = "the paths are only cleaned up while this lives"]
pub struct OnInterrupt {
    ids: Vec<u64>,
}

impl Drop for OnInterrupt {
    fn drop(&mut self) {
        lock(&REGISTRY)
            .entries
            .retain(|(id, _)| !self.ids.contains(id));
    }
}

fn register(entries: impl IntoIterator<Item = Entry>) -> OnInterrupt {
    let mut registry = lock(&REGISTRY);
    let mut ids = Vec::new();
    for entry in entries {
        let id = registry.next;
        registry.next += 1;
        registry.entries.push((id, entry));
        ids.push(id);
    }
    OnInterrupt { ids }
}

/// `path` (a file or a whole folder) is removed if the program is interrupted while the
/// returned guard lives.
pub fn remove_on_interrupt(path: &Path) -> OnInterrupt {
    register([Entry::Scratch(path.to_path_buf())])
}

/// The temporaries staged for these outputs (`pipelines::output_file::stage`) are removed
/// if the program is interrupted while the returned guard lives. The outputs themselves
/// are never touched: either the commit finished, or they are as the user left them.
pub fn outputs_on_interrupt(targets: &[&Path]) -> OnInterrupt {
    register(targets.iter().map(|t| Entry::Output(t.to_path_buf())))
}

/// `pipelines::output_file::commit`, which an interrupt waits for: a batch is renamed in
/// full (or put back in full) before the program exits.
pub fn commit(files: Vec<StagedFile>) -> Result<(), OutputFileError> {
    let _committing = lock(&COMMITTING);
    pipelines::output_file::commit(files)
}

/// Removes everything registered. The watcher runs it with the commit lock held.
fn clean_up() {
    let registry = lock(&REGISTRY);
    for (_, entry) in &registry.entries {
        match entry {
            Entry::Scratch(path) => {
                let _ = std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
            }
            Entry::Output(target) => {
                for temporary in pipelines::output_file::staged_temporaries(target) {
                    let _ = std::fs::remove_file(temporary);
                }
            }
        }
    }
}

/// Starts the watcher. Call it first thing in `main`, before any thread is started: a
/// thread that exists already keeps the default action and would end the process
/// without cleaning up. Idempotent; where signals cannot be set up, the default action
/// stays.
pub fn install() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(watch);
}

#[cfg(unix)]
fn watch() {
    // SAFETY: sigset_t is plain data that sigemptyset initialises; the calls only read and
    // write the set and this thread's mask.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        set
    };
    let spawned = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            let signal = loop {
                let mut signal = 0;
                // SAFETY: `set` is initialised above and outlives the call.
                if unsafe { libc::sigwait(&set, &mut signal) } == 0 {
                    break signal;
                }
            };
            // Never released: once interrupted, nothing else is committed.
            let _committing = lock(&COMMITTING);
            clean_up();
            eprintln!("\ninterrupted; its temporary files are removed");
            // SAFETY: ends the process at once, from a thread that holds no lock another
            // exit path needs.
            unsafe { libc::_exit(128 + signal) }
        });
    if spawned.is_err() {
        // Without a watcher the signals must not stay blocked: the default action is
        // better than being unable to stop the program.
        // SAFETY: as above, on this thread's mask only.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}

#[cfg(not(unix))]
fn watch() {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn clean_up_removes_scratch_and_staged_temporaries_only_while_registered() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("临时");
        std::fs::create_dir_all(scratch.join("model")).unwrap();
        std::fs::write(scratch.join("model/w.safetensors"), b"w").unwrap();
        let target = dir.path().join("输出.png");
        std::fs::write(&target, b"the user's earlier picture").unwrap();
        let staged = pipelines::output_file::stage(&target, |w| w.write_all(b"new")).unwrap();
        let kept = dir.path().join("kept");
        std::fs::create_dir(&kept).unwrap();
        let released = remove_on_interrupt(&kept);
        drop(released);

        let _scratch = remove_on_interrupt(&scratch);
        let _outputs = outputs_on_interrupt(&[&target]);
        clean_up();
        assert!(!scratch.exists());
        assert!(pipelines::output_file::staged_temporaries(&target).is_empty());
        assert_eq!(
            std::fs::read(&target).unwrap(),
            b"the user's earlier picture"
        );
        assert!(kept.is_dir(), "a dropped registration is not cleaned up");
        // The StagedFile still thinks it owns its temporary; dropping it is harmless.
        drop(staged);
    }
}
