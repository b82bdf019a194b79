//! What discovery learns about each device and each vendor runtime.

use crate::dtype::DType;
use crate::kind::{Device, DeviceKind};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// One device as discovered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceInfo {
    pub id: Device,
    pub kind: DeviceKind,
    /// SoC name on NPU ("Ascend910B3"), product name on CUDA, CPU model name on the host.
    pub name: String,
    /// "8.6" on CUDA; the SoC family on NPU; none on the CPU.
    pub capability: Option<String>,
    pub memory_total_bytes: Option<u64>,
    pub memory_free_bytes: Option<u64>,
    pub dtypes: Vec<DType>,
    pub best_dtype: DType,
    /// Where the bf16 answer came from (runtime attribute, SoC rule, capability).
    pub dtype_source: String,
    pub driver_version: Option<String>,
    pub runtime_version: Option<String>,
    /// Logical cores (CPU only).
    pub cores: Option<usize>,
}

impl DeviceInfo {
    pub fn supports(&self, dtype: DType) -> bool {
        self.dtypes.contains(&dtype)
    }
}

/// How a vendor library is looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibraryCandidate {
    /// An absolute or relative file; skipped without dlopen when it does not exist.
    Path(PathBuf),
    /// A bare soname handed to dlopen, which searches LD_LIBRARY_PATH, the ld.so cache
    /// and the default directories.
    LoaderSearch(String),
}

impl fmt::Display for LibraryCandidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibraryCandidate::Path(p) => write!(f, "{}", p.display()),
            LibraryCandidate::LoaderSearch(name) => write!(f, "{name} (loader search path)"),
        }
    }
}

/// One place a library was looked for, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryAttempt {
    pub candidate: LibraryCandidate,
    /// `None` when it loaded; otherwise why not.
    pub error: Option<String>,
}

impl fmt::Display for LibraryAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            None => write!(f, "{}: loaded", self.candidate),
            Some(e) => write!(f, "{}: {e}", self.candidate),
        }
    }
}

fn join_attempts(tried: &[LibraryAttempt]) -> String {
    if tried.is_empty() {
        return "no candidates configured".to_string();
    }
    tried
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn with_message(message: &Option<String>) -> String {
    match message {
        Some(m) if !m.trim().is_empty() => format!(": {}", m.trim()),
        _ => String::new(),
    }
}

/// Why a kind of device is absent. Every variant names what was tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Absence {
    #[error("{library} not found or not loadable (tried: {})", join_attempts(.tried))]
    LibraryNotFound {
        library: &'static str,
        tried: Vec<LibraryAttempt>,
    },
    #[error("{library} lacks required symbol `{symbol}`")]
    MissingSymbol {
        library: String,
        symbol: &'static str,
    },
    #[error("{call} returned {code} ({library}){}", with_message(.message))]
    CallFailed {
        library: String,
        call: &'static str,
        code: i64,
        /// The runtime's own text (aclGetRecentErrMsg, cuGetErrorString).
        message: Option<String>,
    },
    #[error("{library} reports no devices{}", with_message(.hint))]
    NoDevices {
        library: String,
        hint: Option<String>,
    },
    #[error("not probed: {0}")]
    NotProbed(String),
}

/// Everything discovery learnt about one kind of device.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendReport {
    pub kind: DeviceKind,
    pub attempts: Vec<LibraryAttempt>,
    /// The library that loaded (path, or soname when found through the loader).
    pub library: Option<String>,
    /// Optional symbols the library lacks (features degrade, the device still works).
    pub missing_optional: Vec<&'static str>,
    /// Whether the init call reported "already initialised" (ACL 100002).
    pub already_initialised: bool,
    pub driver_version: Option<String>,
    pub runtime_version: Option<String>,
    /// Devices the runtime counted, including ones that then failed to answer.
    pub device_count: Option<usize>,
    pub devices: Vec<DeviceInfo>,
    /// Per-device failures that did not make the whole kind absent.
    pub device_errors: Vec<String>,
    pub absence: Option<Absence>,
}

impl BackendReport {
    pub fn new(kind: DeviceKind) -> Self {
        Self {
            kind,
            attempts: Vec::new(),
            library: None,
            missing_optional: Vec::new(),
            already_initialised: false,
            driver_version: None,
            runtime_version: None,
            device_count: None,
            devices: Vec::new(),
            device_errors: Vec::new(),
            absence: None,
        }
    }

    pub fn absent(kind: DeviceKind, why: Absence) -> Self {
        let mut report = Self::new(kind);
        report.absence = Some(why);
        report
    }

    pub fn is_available(&self) -> bool {
        self.absence.is_none() && !self.devices.is_empty()
    }
}
