//! CUDA discovery through the driver library (libcuda.so.1), opened at run time. No CUDA
//! toolkit is needed at build time, and no CUDA version is chosen when compiling.

use crate::dtype::DTypeSupport;
use crate::info::{Absence, BackendReport, DeviceInfo, LibraryCandidate};
use crate::kind::{Device, DeviceKind};
use crate::loader::symbol;
use libloading::Library;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::mem::ManuallyDrop;
use std::sync::Arc;

type CuResult = c_int;
type CuDevice = c_int;
type CuContext = *mut c_void;
const CUDA_SUCCESS: CuResult = 0;
const ATTR_CC_MAJOR: c_int = 75;
const ATTR_CC_MINOR: c_int = 76;

type CuInit = unsafe extern "C" fn(flags: c_uint) -> CuResult;
type CuDriverGetVersion = unsafe extern "C" fn(version: *mut c_int) -> CuResult;
type CuDeviceGetCount = unsafe extern "C" fn(count: *mut c_int) -> CuResult;
type CuDeviceGet = unsafe extern "C" fn(device: *mut CuDevice, ordinal: c_int) -> CuResult;
type CuDeviceGetName =
    unsafe extern "C" fn(name: *mut c_char, len: c_int, device: CuDevice) -> CuResult;
type CuDeviceGetAttribute =
    unsafe extern "C" fn(value: *mut c_int, attribute: c_int, device: CuDevice) -> CuResult;
type CuDeviceTotalMem = unsafe extern "C" fn(bytes: *mut usize, device: CuDevice) -> CuResult;
type CuDevicePrimaryCtxRetain =
    unsafe extern "C" fn(ctx: *mut CuContext, device: CuDevice) -> CuResult;
type CuDevicePrimaryCtxRelease = unsafe extern "C" fn(device: CuDevice) -> CuResult;
type CuCtxSetCurrent = unsafe extern "C" fn(ctx: CuContext) -> CuResult;
type CuMemGetInfo = unsafe extern "C" fn(free: *mut usize, total: *mut usize) -> CuResult;
type CuGetErrorString = unsafe extern "C" fn(error: CuResult, text: *mut *const c_char) -> CuResult;

pub const REQUIRED: [&str; 7] = [
    "cuInit",
    "cuDriverGetVersion",
    "cuDeviceGetCount",
    "cuDeviceGet",
    "cuDeviceGetName",
    "cuDeviceGetAttribute",
    "cuDeviceTotalMem_v2",
];

/// Optional symbols: without them free memory and error texts are unknown.
pub const OPTIONAL: [&str; 5] = [
    "cuDevicePrimaryCtxRetain",
    "cuDevicePrimaryCtxRelease_v2",
    "cuCtxSetCurrent",
    "cuMemGetInfo_v2",
    "cuGetErrorString",
];

/// The driver library's soname.
pub const LIBRARY: &str = "libcuda.so.1";

/// The loader-search candidates, in the order the driver's own docs recommend.
pub fn default_candidates() -> Vec<LibraryCandidate> {
    vec![
        LibraryCandidate::LoaderSearch(LIBRARY.to_string()),
        LibraryCandidate::LoaderSearch("libcuda.so".to_string()),
    ]
}

/// Resolved driver functions; valid while `_lib` lives, which is for the rest of the
/// process: an initialised driver keeps threads inside the library, so it is never
/// unloaded (as cudarc and torch do).
struct CudaApi {
    init: Option<CuInit>,
    driver_version: Option<CuDriverGetVersion>,
    device_count: Option<CuDeviceGetCount>,
    device_get: Option<CuDeviceGet>,
    device_name: Option<CuDeviceGetName>,
    device_attribute: Option<CuDeviceGetAttribute>,
    total_mem: Option<CuDeviceTotalMem>,
    ctx_retain: Option<CuDevicePrimaryCtxRetain>,
    ctx_release: Option<CuDevicePrimaryCtxRelease>,
    ctx_set_current: Option<CuCtxSetCurrent>,
    mem_get_info: Option<CuMemGetInfo>,
    error_string: Option<CuGetErrorString>,
    _lib: ManuallyDrop<Library>,
}

impl std::fmt::Debug for CudaApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaApi").finish_non_exhaustive()
    }
}

struct CuFailure {
    call: &'static str,
    code: CuResult,
    message: Option<String>,
}

impl CudaApi {
    fn resolve(lib: Library) -> Self {
        // SAFETY: each type is the prototype from cuda.h for that exported name (the
        // _v2 names are the 64-bit size_t variants); pointers live beside the library.
        unsafe {
            Self {
                init: symbol(&lib, "cuInit"),
                driver_version: symbol(&lib, "cuDriverGetVersion"),
                device_count: symbol(&lib, "cuDeviceGetCount"),
                device_get: symbol(&lib, "cuDeviceGet"),
                device_name: symbol(&lib, "cuDeviceGetName"),
                device_attribute: symbol(&lib, "cuDeviceGetAttribute"),
                total_mem: symbol(&lib, "cuDeviceTotalMem_v2"),
                ctx_retain: symbol(&lib, "cuDevicePrimaryCtxRetain"),
                ctx_release: symbol::<CuDevicePrimaryCtxRelease>(
                    &lib,
                    "cuDevicePrimaryCtxRelease_v2",
                )
                .or_else(|| symbol(&lib, "cuDevicePrimaryCtxRelease")),
                ctx_set_current: symbol(&lib, "cuCtxSetCurrent"),
                mem_get_info: symbol(&lib, "cuMemGetInfo_v2"),
                error_string: symbol(&lib, "cuGetErrorString"),
                _lib: ManuallyDrop::new(lib),
            }
        }
    }

    fn first_missing_required(&self) -> Option<&'static str> {
        let present = [
            self.init.is_some(),
            self.driver_version.is_some(),
            self.device_count.is_some(),
            self.device_get.is_some(),
            self.device_name.is_some(),
            self.device_attribute.is_some(),
            self.total_mem.is_some(),
        ];
        REQUIRED
            .iter()
            .zip(present)
            .find(|(_, ok)| !ok)
            .map(|(name, _)| *name)
    }

    fn missing_optional(&self) -> Vec<&'static str> {
        let present = [
            self.ctx_retain.is_some(),
            self.ctx_release.is_some(),
            self.ctx_set_current.is_some(),
            self.mem_get_info.is_some(),
            self.error_string.is_some(),
        ];
        OPTIONAL
            .into_iter()
            .zip(present)
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n)
            .collect()
    }

    fn check(&self, call: &'static str, code: CuResult) -> Result<(), CuFailure> {
        if code == CUDA_SUCCESS {
            return Ok(());
        }
        let message = self.error_string.and_then(|f| {
            let mut text: *const c_char = std::ptr::null();
            // SAFETY: out-pointer valid; the driver returns a static string or NULL.
            let rc = unsafe { f(code, &mut text) };
            // SAFETY: NULL or a static NUL-terminated string.
            (rc == CUDA_SUCCESS)
                .then(|| unsafe { crate::loader::c_string(text) })
                .flatten()
        });
        Err(CuFailure {
            call,
            code,
            message,
        })
    }

    /// Calls a required function pointer that `first_missing_required` vouched for.
    fn required<T: Copy>(f: Option<T>, call: &'static str) -> Result<T, CuFailure> {
        f.ok_or(CuFailure {
            call,
            code: -1,
            message: Some(format!("symbol {call} is not exported")),
        })
    }

    fn int_out(
        &self,
        call: &'static str,
        f: impl FnOnce(*mut c_int) -> CuResult,
    ) -> Result<i32, CuFailure> {
        let mut value: c_int = 0;
        let code = f(&mut value);
        self.check(call, code).map(|()| value)
    }

    fn free_memory(&self, device: CuDevice) -> Option<(u64, u64)> {
        let (retain, release, set_current, get_info) = (
            self.ctx_retain?,
            self.ctx_release?,
            self.ctx_set_current?,
            self.mem_get_info?,
        );
        let mut ctx: CuContext = std::ptr::null_mut();
        // SAFETY: out-pointer valid; the primary context is reference counted and
        // released below, so the device is left as we found it.
        if unsafe { retain(&mut ctx, device) } != CUDA_SUCCESS {
            return None;
        }
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: `ctx` came from retain; out-pointers valid.
        let ok = unsafe { set_current(ctx) } == CUDA_SUCCESS
            && unsafe { get_info(&mut free, &mut total) } == CUDA_SUCCESS;
        // SAFETY: unset the context before releasing it, so no dangling current context
        // survives on this thread; then drop our reference.
        unsafe {
            set_current(std::ptr::null_mut());
            release(device);
        }
        ok.then_some((free as u64, total as u64))
    }
}

/// A loaded, initialised CUDA driver kept for later memory queries.
#[derive(Debug, Clone)]
pub struct CudaRuntime {
    api: Arc<CudaApi>,
}

impl CudaRuntime {
    /// (free, total) bytes, via the primary context.
    pub fn mem_info(&self, index: usize) -> Option<(u64, u64)> {
        let ordinal = c_int::try_from(index).ok()?;
        let get = self.api.device_get?;
        let mut device: CuDevice = 0;
        // SAFETY: out-pointer valid.
        if unsafe { get(&mut device, ordinal) } != CUDA_SUCCESS {
            return None;
        }
        self.api.free_memory(device)
    }
}

fn failure(library: &str, f: CuFailure) -> Absence {
    Absence::CallFailed {
        library: library.to_string(),
        call: f.call,
        code: i64::from(f.code),
        message: f.message,
    }
}

/// "12040" -> "12.4", the way nvidia-smi prints the CUDA driver API version.
pub fn format_driver_version(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// Opens the CUDA driver, initialises it, and describes every visible device.
pub fn probe(candidates: &[LibraryCandidate]) -> (BackendReport, Option<CudaRuntime>) {
    let mut report = BackendReport::new(DeviceKind::Cuda);
    let (attempts, opened) = crate::loader::open_first(candidates);
    report.attempts = attempts;
    let Some((lib, label)) = opened else {
        report.absence = Some(BackendReport::not_loaded(LIBRARY, report.attempts.clone()));
        return (report, None);
    };
    report.library = Some(label.clone());
    let api = CudaApi::resolve(lib);
    report.missing_optional = api.missing_optional();
    if let Some(symbol) = api.first_missing_required() {
        report.absence = Some(Absence::MissingSymbol {
            library: label,
            symbol,
        });
        return (report, None);
    }
    match enumerate(&api, &mut report) {
        Err(Enumeration::Implausible(count)) => {
            report.absence = Some(Absence::ImplausibleCount {
                library: label,
                call: "cuDeviceGetCount",
                count,
            });
            (report, None)
        }
        Ok(()) if report.devices.is_empty() => {
            report.absence = Some(Absence::NoDevices {
                library: label,
                hint: Some(if report.device_errors.is_empty() {
                    "check CUDA_VISIBLE_DEVICES and that the driver sees a GPU (nvidia-smi)"
                        .to_string()
                } else {
                    report.device_errors.join("; ")
                }),
            });
            (report, None)
        }
        Ok(()) => (report, Some(CudaRuntime { api: Arc::new(api) })),
        Err(Enumeration::Call(f)) => {
            report.absence = Some(failure(&label, f));
            (report, None)
        }
    }
}

enum Enumeration {
    Call(CuFailure),
    /// cuDeviceGetCount's answer, refused before anything is sized from it.
    Implausible(i64),
}

impl From<CuFailure> for Enumeration {
    fn from(f: CuFailure) -> Self {
        Enumeration::Call(f)
    }
}

fn enumerate(api: &CudaApi, report: &mut BackendReport) -> Result<(), Enumeration> {
    let init = CudaApi::required(api.init, "cuInit")?;
    crate::probe::stage::announce(|| "cuInit".to_string());
    // SAFETY: flags must be 0.
    api.check("cuInit", unsafe { init(0) })?;
    let version = CudaApi::required(api.driver_version, "cuDriverGetVersion")?;
    // SAFETY: out-pointer valid for the call.
    let v = api.int_out("cuDriverGetVersion", |p| unsafe { version(p) })?;
    report.driver_version = Some(format_driver_version(v));
    let count = CudaApi::required(api.device_count, "cuDeviceGetCount")?;
    crate::probe::stage::announce(|| "cuDeviceGetCount and the device queries".to_string());
    // SAFETY: out-pointer valid for the call.
    let n = api.int_out("cuDeviceGetCount", |p| unsafe { count(p) })?;
    let n = match usize::try_from(n) {
        Ok(n) if n <= crate::info::MAX_DEVICES => n,
        _ => return Err(Enumeration::Implausible(i64::from(n))),
    };
    report.device_count = Some(n);
    for index in 0..n {
        match describe(api, index, report) {
            Ok(info) => report.devices.push(info),
            Err(f) => report.device_errors.push(format!(
                "cuda:{index}: {} returned {}{}",
                f.call,
                f.code,
                f.message.map(|m| format!(": {m}")).unwrap_or_default()
            )),
        }
    }
    Ok(())
}

fn describe(api: &CudaApi, index: usize, report: &BackendReport) -> Result<DeviceInfo, CuFailure> {
    let get = CudaApi::required(api.device_get, "cuDeviceGet")?;
    let name_fn = CudaApi::required(api.device_name, "cuDeviceGetName")?;
    let attr = CudaApi::required(api.device_attribute, "cuDeviceGetAttribute")?;
    let total_fn = CudaApi::required(api.total_mem, "cuDeviceTotalMem_v2")?;
    let ordinal = c_int::try_from(index).unwrap_or(c_int::MAX);
    // SAFETY (all calls below): out-pointers and buffers are valid and sized as passed.
    let device = api.int_out("cuDeviceGet", |p| unsafe { get(p, ordinal) })?;
    let mut name = [0u8; 256];
    api.check("cuDeviceGetName", unsafe {
        name_fn(name.as_mut_ptr().cast(), name.len() as c_int, device)
    })?;
    let major = api.int_out("cuDeviceGetAttribute", |p| unsafe {
        attr(p, ATTR_CC_MAJOR, device)
    })?;
    let minor = api.int_out("cuDeviceGetAttribute", |p| unsafe {
        attr(p, ATTR_CC_MINOR, device)
    })?;
    let mut total = 0usize;
    api.check("cuDeviceTotalMem_v2", unsafe {
        total_fn(&mut total, device)
    })?;
    let free = api.free_memory(device).map(|(f, _)| f);
    let (major, minor) = (major.max(0) as u32, minor.max(0) as u32);
    let support = DTypeSupport::cuda(major, minor);
    Ok(DeviceInfo {
        id: Device::Cuda(index),
        kind: DeviceKind::Cuda,
        name: crate::loader::buffer_string(&name),
        capability: Some(format!("{major}.{minor}")),
        memory_total_bytes: Some(total as u64),
        memory_free_bytes: free,
        dtypes: support.supported,
        best_dtype: support.best,
        dtype_source: format!("compute capability {major}.{minor}"),
        driver_version: report.driver_version.clone(),
        runtime_version: None,
        cores: None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn driver_versions_print_like_nvidia_smi() {
        assert_eq!(super::format_driver_version(12040), "12.4");
        assert_eq!(super::format_driver_version(11080), "11.8");
    }
}
