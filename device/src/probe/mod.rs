//! Device discovery in a separate process.
//!
//! Discovery dlopens vendor libraries and calls into them; a damaged library can kill
//! the process that does it (a truncated ELF faults with SIGBUS inside dlopen, a broken
//! driver segfaults or blocks in its init call). A program that must report on a broken
//! install, such as `doctor`, re-executes itself to probe each backend in a child
//! process and reads back the child's [`BackendReport`]; a child that crashes, hangs or
//! answers nonsense becomes an [`Absence::ProbeFailed`] naming what happened.
//!
//! The child side is [`report_line`] on [`probe_in_this_process`]; the parent side is
//! [`isolated_discovery`].

pub mod child;
pub mod stage;

pub use stage::{STAGE, trace_stages};

use crate::discovery::{Discovery, DiscoveryConfig};
use crate::env::EnvSource;
use crate::info::{Absence, BackendReport};
use crate::kind::DeviceKind;
use std::process::Command;
use std::time::Duration;

/// Prefix of the one line a probe child prints its report on; vendor libraries may
/// write their own lines to stdout around it.
pub const MARKER: &str = "device-probe-report: ";

/// The backends discovery loads a library for.
pub const BACKENDS: [DeviceKind; 2] = [DeviceKind::Npu, DeviceKind::Cuda];

/// The vendor library a backend loads, as named in messages.
pub fn library_of(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Npu => crate::npu::LIBRARY,
        DeviceKind::Cuda | DeviceKind::Cpu => crate::cuda::LIBRARY,
    }
}

/// Child side: probes one backend in this process, with the search paths `env` gives.
pub fn probe_in_this_process(kind: DeviceKind, env: &impl EnvSource) -> BackendReport {
    let config = DiscoveryConfig::from_env(env);
    let only = DiscoveryConfig {
        npu: config.npu.filter(|_| kind == DeviceKind::Npu),
        cuda: config.cuda.filter(|_| kind == DeviceKind::Cuda),
    };
    let discovery = Discovery::run(&only);
    match kind {
        DeviceKind::Npu => discovery.npu,
        _ => discovery.cuda,
    }
}

/// Child side: the line to print on stdout.
pub fn report_line(report: &BackendReport) -> String {
    match serde_json::to_string(report) {
        Ok(json) => format!("{MARKER}{json}"),
        // Unreachable with serde_json and these types; the parent reports a missing line.
        Err(e) => format!("device probe: cannot encode the report: {e}"),
    }
}

/// Parent side: the report in a child's stdout (the last marker line), checked to be
/// about the backend that was asked for.
pub fn read_report(stdout: &[u8], kind: DeviceKind) -> Result<BackendReport, String> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(MARKER))
        .ok_or_else(|| "it printed no report".to_string())?;
    let report: BackendReport = serde_json::from_str(line)
        .map_err(|e| format!("it printed a report that cannot be read ({e})"))?;
    if report.kind != kind {
        return Err(format!("it reported on {} instead of {kind}", report.kind));
    }
    Ok(report)
}

/// Parent side: runs `command` (which must print [`report_line`] for `kind`) with a
/// deadline, and turns a crash, hang or unreadable answer into a report saying so.
pub fn run_probe(command: Command, kind: DeviceKind, limit: Duration) -> BackendReport {
    let done = child::run(command, limit);
    let failed = |reason: String| {
        BackendReport::absent(
            kind,
            Absence::ProbeFailed {
                library: library_of(kind),
                reason,
            },
        )
    };
    let with_stderr = |what: String| {
        let (step, message) = last_step_and_message(&done.stderr);
        let mut text = format!("the probe process {what}");
        if let Some(step) = step {
            text.push_str(&format!(" during {step}"));
        }
        if let Some(message) = message {
            text.push_str(&format!("; its last message: {message}"));
        }
        text
    };
    match &done.end {
        child::End::Exited(0) => {
            read_report(&done.stdout, kind).unwrap_or_else(|why| failed(with_stderr(why)))
        }
        end => failed(with_stderr(end.to_string())),
    }
}

/// The last step a child announced and its last other stderr line.
fn last_step_and_message(stderr: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(stderr);
    let lines = text.lines().rev().map(str::trim).filter(|l| !l.is_empty());
    let step = lines
        .clone()
        .find_map(|l| l.strip_prefix(STAGE))
        .map(str::to_string);
    let message = lines
        .clone()
        .find(|l| !l.starts_with(STAGE))
        .map(str::to_string);
    (step, message)
}

/// Parent side: discovery with every backend probed by `probe_command(kind)` at the same
/// time, each within `limit`; the CPU is described in this process (it loads nothing).
pub fn isolated_discovery(
    probe_command: impl Fn(DeviceKind) -> Command + Sync,
    limit: Duration,
) -> Discovery {
    let [npu, cuda] = std::thread::scope(|scope| {
        BACKENDS
            .map(|kind| {
                let command = probe_command(kind);
                scope.spawn(move || run_probe(command, kind, limit))
            })
            .map(|handle| handle.join())
    });
    let lost = |kind| {
        BackendReport::absent(
            kind,
            Absence::ProbeFailed {
                library: library_of(kind),
                reason: "the thread waiting for the probe process panicked".to_string(),
            },
        )
    };
    Discovery::from_reports(
        npu.unwrap_or_else(|_| lost(DeviceKind::Npu)),
        cuda.unwrap_or_else(|_| lost(DeviceKind::Cuda)),
    )
}
