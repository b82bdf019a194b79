//! NPU discovery through libascendcl.so, opened at run time.

pub mod acl;
pub mod soc;
pub mod versions;

use crate::dtype::DTypeSupport;
use crate::info::{Absence, BackendReport, DeviceInfo, LibraryCandidate};
use crate::kind::{Device, DeviceKind};
use acl::{AclApi, AclFailure};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const LIBRARY: &str = "libascendcl.so";
/// Root-install location of the toolkit.
pub const DEFAULT_ROOT: &str = "/usr/local/Ascend/ascend-toolkit/latest";
pub const INSTALL_INFO: &str = "/etc/ascend_install.info";

/// Where to look for the ACL runtime and its version files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpuConfig {
    pub candidates: Vec<LibraryCandidate>,
    /// CANN roots searched for share/info/runtime/version.info when the library was
    /// found through the loader and its own root is unknown.
    pub roots: Vec<PathBuf>,
    pub install_info: PathBuf,
}

impl NpuConfig {
    /// Only this library; versions from its own root; no driver info file.
    pub fn with_library(path: impl Into<PathBuf>) -> Self {
        Self {
            candidates: vec![LibraryCandidate::Path(path.into())],
            roots: Vec::new(),
            install_info: PathBuf::from(INSTALL_INFO),
        }
    }
}

/// A loaded and initialised ACL runtime, kept for memory queries after discovery.
#[derive(Debug, Clone)]
pub struct NpuRuntime {
    api: Arc<AclApi>,
}

impl NpuRuntime {
    /// (free, total) bytes of one device.
    pub fn mem_info(&self, index: usize) -> Result<(u64, u64), AclFailure> {
        let id = i32::try_from(index).map_err(|_| AclFailure {
            call: "aclrtSetDevice",
            code: -1,
            message: Some(format!("device index {index} out of range")),
        })?;
        self.api.with_device(id, AclApi::mem_info)?
    }
}

fn failure(library: &str, f: AclFailure) -> Absence {
    Absence::CallFailed {
        library: library.to_string(),
        call: f.call,
        code: i64::from(f.code),
        message: f.message,
    }
}

fn root_of(library: &str) -> Option<PathBuf> {
    // <root>/lib64/libascendcl.so -> <root>
    Path::new(library)
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
}

/// Opens the ACL runtime, initialises it, and describes every visible device.
pub fn probe(config: &NpuConfig) -> (BackendReport, Option<NpuRuntime>) {
    let mut report = BackendReport::new(DeviceKind::Npu);
    let (attempts, opened) = crate::loader::open_first(&config.candidates);
    report.attempts = attempts;
    let Some((lib, label)) = opened else {
        report.absence = Some(BackendReport::not_loaded(LIBRARY, report.attempts.clone()));
        return (report, None);
    };
    report.library = Some(label.clone());

    let mut roots: Vec<PathBuf> = root_of(&label).into_iter().collect();
    roots.extend(config.roots.iter().cloned());
    report.runtime_version = versions::cann_version(&roots);
    report.driver_version = versions::driver_version(&config.install_info);

    let api = AclApi::resolve(lib);
    report.missing_optional = api.missing_optional();
    if let Some(symbol) = api.first_missing_required() {
        report.absence = Some(Absence::MissingSymbol {
            library: label,
            symbol,
        });
        return (report, None);
    }
    crate::probe::stage::announce(|| "aclInit".to_string());
    match api.init() {
        Ok(already) => report.already_initialised = already,
        Err(f) => {
            report.absence = Some(failure(&label, f));
            return (report, None);
        }
    }
    crate::probe::stage::announce(|| "aclrtGetDeviceCount and the device queries".to_string());
    let count = match api.device_count() {
        // Refused before the loop below runs (and allocates) once per device.
        Ok(n) if n as usize > crate::info::MAX_DEVICES => {
            report.absence = Some(Absence::ImplausibleCount {
                library: label,
                call: "aclrtGetDeviceCount",
                count: i64::from(n),
            });
            return (report, None);
        }
        Ok(n) => n as usize,
        Err(f) => {
            report.absence = Some(failure(&label, f));
            return (report, None);
        }
    };
    report.device_count = Some(count);
    for index in 0..count {
        match describe(&api, index, &mut report) {
            Ok(info) => report.devices.push(info),
            Err(f) => report.device_errors.push(format!(
                "npu:{index}: {} returned {}{}",
                f.call,
                f.code,
                f.message.map(|m| format!(": {m}")).unwrap_or_default()
            )),
        }
    }
    if report.devices.is_empty() {
        let hint = if count == 0 {
            Some(
                "check that /dev/davinci* are present (in containers: passed with --device) \
                 and that ASCEND_RT_VISIBLE_DEVICES names existing ids"
                    .to_string(),
            )
        } else {
            Some(report.device_errors.join("; "))
        };
        report.absence = Some(Absence::NoDevices {
            library: label,
            hint,
        });
        return (report, None);
    }
    let runtime = NpuRuntime { api: Arc::new(api) };
    (report, Some(runtime))
}

/// One device's description; a failed memory query does not lose the device but is
/// recorded in `report.device_errors`.
fn describe(
    api: &AclApi,
    index: usize,
    report: &mut BackendReport,
) -> Result<DeviceInfo, AclFailure> {
    let id = i32::try_from(index).unwrap_or(i32::MAX);
    // Query everything, then release the device whatever happened.
    let (soc, mem, bf16_runtime) = api.with_device(id, |api| {
        (api.soc_name(), api.mem_info(), api.bf16_attribute())
    })?;
    let soc = soc?;
    let traits = soc::soc_traits(&soc);
    let (bf16, source) = match bf16_runtime {
        Some(b) => (b, "aclGetCannAttribute(ACL_CANN_ATTR_BF16)"),
        None => (traits.bf16, "SoC table (aclGetCannAttribute unavailable)"),
    };
    let support = DTypeSupport::npu(bf16);
    let (free, total) = match mem {
        Ok((f, t)) => (Some(f), Some(t)),
        Err(f) => {
            report.device_errors.push(format!(
                "npu:{index}: {} returned {}{} (memory unknown)",
                f.call,
                f.code,
                f.message.map(|m| format!(": {m}")).unwrap_or_default()
            ));
            (None, None)
        }
    };
    Ok(DeviceInfo {
        id: Device::Npu(index),
        kind: DeviceKind::Npu,
        name: soc,
        capability: Some(format!("{:?}", traits.family)),
        memory_total_bytes: total,
        memory_free_bytes: free,
        dtypes: support.supported,
        best_dtype: support.best,
        dtype_source: source.to_string(),
        driver_version: report.driver_version.clone(),
        runtime_version: report.runtime_version.clone(),
        cores: None,
    })
}
