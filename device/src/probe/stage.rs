//! The stage lines a probe child writes before each step that runs vendor code. Kept
//! apart from the probe itself: the loaders call it, and the probe calls the loaders.

use std::sync::atomic::{AtomicBool, Ordering};

/// Prefix of the lines a probe child writes on stderr before each step that runs vendor
/// code, so a crash or hang can be blamed on the step (and file) it happened in.
pub const STAGE: &str = "device-probe-stage: ";

static TRACING: AtomicBool = AtomicBool::new(false);

/// Child side: announce each vendor step on stderr from now on. Off by default, since
/// programs that discover devices in-process have no one reading such lines.
pub fn trace_stages() {
    TRACING.store(true, Ordering::Relaxed);
}

/// Announces a step about to run vendor code (when tracing). stderr is unbuffered, so
/// the line is out before the step can kill the process.
pub(crate) fn announce(what: impl FnOnce() -> String) {
    if TRACING.load(Ordering::Relaxed) {
        eprintln!("{STAGE}{}", what());
    }
}
