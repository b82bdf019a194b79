//! Running the smoke subset in a child process: aclnn kernels run vendor code, and a
//! kernel that crashes or hangs must be a failing check, never a crash or hang of doctor
//! (the same reason device discovery runs in one, see `device::probe`).

use super::report::SmokeReport;
use device::probe::child::{self, End};
use std::process::Command;
use std::time::Duration;

/// Prefix of the line the child prints its report on; the vendor libraries may print
/// their own lines around it.
pub const MARKER: &str = "npu-kernels-report: ";

/// Child side: the line to print on stdout.
pub fn report_line(report: &SmokeReport) -> String {
    match serde_json::to_string(report) {
        Ok(json) => format!("{MARKER}{json}"),
        // Unreachable with serde_json and these types; the parent reports a missing line.
        Err(e) => format!("npu kernels: cannot encode the report: {e}"),
    }
}

/// Parent side: runs `command` (which must print [`report_line`]) within `limit`; the
/// error completes "the aclnn kernel check on npu:N ...".
pub fn run_isolated(command: Command, limit: Duration) -> Result<SmokeReport, String> {
    let done = child::run(command, limit);
    let last_words = || {
        String::from_utf8_lossy(&done.stderr)
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| format!("; its last message: {l}"))
            .unwrap_or_default()
    };
    if done.end != End::Exited(0) {
        return Err(format!("{}{}", done.end, last_words()));
    }
    let stdout = String::from_utf8_lossy(&done.stdout);
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(MARKER))
        .ok_or_else(|| format!("printed no report{}", last_words()))?;
    serde_json::from_str(line).map_err(|e| format!("printed a report that cannot be read ({e})"))
}
