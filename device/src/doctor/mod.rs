//! Self-test building blocks for the `doctor` binary: checks with a verdict, a detail and a
//! fix; the report they form; its exit code; and the device-level checks themselves.
//!
//! The binary (in `pipelines`, which also knows Python stacks and model folders) adds its
//! own checks to a [`Report`] and renders it.

pub mod checks;
mod render;

use crate::dtype::DType;
use crate::info::DeviceInfo;
use crate::kind::Device;
use serde::Serialize;

pub use checks::{DoctorInput, device_checks};

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Works, but something is degraded or likely to bite later.
    Warn,
    /// Broken: the thing checked cannot work as configured.
    Fail,
    /// Not applicable on this host (no NPU, no model folder given).
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check. `fix` is set for every warn and fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: String,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(id: &str, detail: impl Into<String>) -> Self {
        Self {
            id: id.to_string(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn skip(id: &str, detail: impl Into<String>) -> Self {
        Self {
            id: id.to_string(),
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(id: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id: id.to_string(),
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(id: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id: id.to_string(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The device and dtype doctor would run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    pub device: Device,
    pub dtype: DType,
}

/// Everything doctor found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub selected: Option<Selected>,
    pub devices: Vec<DeviceInfo>,
    pub checks: Vec<Check>,
}

/// The version of the `--json` layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// 0 when nothing fails or warns, 1 with warnings only, 2 when a check fails.
    pub fn exit_code(&self) -> i32 {
        if self.count(Status::Fail) > 0 {
            2
        } else if self.count(Status::Warn) > 0 {
            1
        } else {
            0
        }
    }
}
