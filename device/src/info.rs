//! What discovery learns about each device and each vendor runtime.

use crate::dtype::DType;
use crate::kind::{Device, DeviceKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// A library, symbol or call name from this crate's tables. Spelt as an alias because
/// serde would otherwise try to borrow a `&str` field from its input.
pub type StaticName = &'static str;

/// One device as discovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryAttempt {
    pub candidate: LibraryCandidate,
    /// `None` when it loaded; otherwise why not.
    pub error: Option<String>,
    /// A file was there but dlopen refused it (corrupt, truncated, wrong architecture, a
    /// dependency missing), as opposed to nothing by that name on the search path.
    #[serde(default)]
    pub found: bool,
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

fn join_failures(tried: &[LibraryAttempt]) -> String {
    tried
        .iter()
        .filter(|a| a.found)
        .map(|a| a.error.as_deref().unwrap_or("refused").to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a kind of device is absent. Every variant names what was tried.
///
/// The `&'static str` fields hold names from this crate's tables (library, symbol and
/// call names); deserialising maps text back onto those tables and refuses anything
/// else, so a report read back from a probe process is one this crate could have made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Absence {
    #[error("{library} not found (tried: {})", join_attempts(.tried))]
    LibraryNotFound {
        #[serde(deserialize_with = "crate::names::deserialize")]
        library: StaticName,
        tried: Vec<LibraryAttempt>,
    },
    /// A file by the library's name exists but dlopen refused it: not an absence to skip
    /// over but a broken install that would break any program using the device.
    #[error("{library} was found but cannot be loaded: {}", join_failures(.tried))]
    LibraryUnloadable {
        #[serde(deserialize_with = "crate::names::deserialize")]
        library: StaticName,
        tried: Vec<LibraryAttempt>,
    },
    #[error("{library} lacks required symbol `{symbol}`")]
    MissingSymbol {
        library: String,
        #[serde(deserialize_with = "crate::names::deserialize")]
        symbol: StaticName,
    },
    #[error("{call} returned {code} ({library}){}", with_message(.message))]
    CallFailed {
        library: String,
        #[serde(deserialize_with = "crate::names::deserialize")]
        call: StaticName,
        code: i64,
        /// The runtime's own text (aclGetRecentErrMsg, cuGetErrorString).
        message: Option<String>,
    },
    /// A device count no real host has: the library is not a working runtime, and
    /// looping over (or allocating for) that many devices would exhaust memory.
    #[error(
        "{call} reported {count} devices ({library}); more than {max} means the runtime is \
         broken",
        max = crate::info::MAX_DEVICES
    )]
    ImplausibleCount {
        library: String,
        #[serde(deserialize_with = "crate::names::deserialize")]
        call: StaticName,
        count: i64,
    },
    /// The probe process loading the library died, hung or answered nonsense; `reason`
    /// says which (a signal, a timeout, the unreadable output).
    #[error("probing {library} failed: {reason}")]
    ProbeFailed {
        #[serde(deserialize_with = "crate::names::deserialize")]
        library: StaticName,
        reason: String,
    },
    #[error("{library} reports no devices{}", with_message(.hint))]
    NoDevices {
        library: String,
        hint: Option<String>,
    },
    #[error("not probed: {0}")]
    NotProbed(String),
}

/// More devices than any single host has; a runtime reporting more is broken.
pub const MAX_DEVICES: usize = 1024;

/// Everything discovery learnt about one kind of device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendReport {
    pub kind: DeviceKind,
    pub attempts: Vec<LibraryAttempt>,
    /// The library that loaded (path, or soname when found through the loader).
    pub library: Option<String>,
    /// Optional symbols the library lacks (features degrade, the device still works).
    #[serde(deserialize_with = "crate::names::deserialize_all")]
    pub missing_optional: Vec<StaticName>,
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

    /// Why no candidate loaded: unloadable when any of them was a file dlopen refused,
    /// not found only when there was nothing by that name anywhere.
    pub fn not_loaded(library: &'static str, tried: Vec<LibraryAttempt>) -> Absence {
        if tried.iter().any(|a| a.found) {
            Absence::LibraryUnloadable { library, tried }
        } else {
            Absence::LibraryNotFound { library, tried }
        }
    }

    pub fn is_available(&self) -> bool {
        self.absence.is_none() && !self.devices.is_empty()
    }
}
