//! The one table of ACL runtime functions this crate calls, with their C prototypes
//! (acl/acl.h; reference/acl.md).

use crate::loader::symbol;
use libloading::Library;
use std::ffi::{c_char, c_int};
use std::mem::ManuallyDrop;

pub type AclError = c_int;
pub const ACL_SUCCESS: AclError = 0;
/// aclInit called twice in one process; harmless.
pub const ACL_ERROR_REPEAT_INITIALIZE: AclError = 100002;
/// aclrtMemAttr: parts without HBM (310P) answer HBM queries with DDR.
pub const ACL_HBM_MEM: c_int = 1;
/// aclCannAttr.
pub const ACL_CANN_ATTR_BF16: c_int = 1;

type AclInit = unsafe extern "C" fn(config_path: *const c_char) -> AclError;
type AclrtGetDeviceCount = unsafe extern "C" fn(count: *mut u32) -> AclError;
type AclrtSetDevice = unsafe extern "C" fn(device_id: i32) -> AclError;
type AclrtResetDevice = unsafe extern "C" fn(device_id: i32) -> AclError;
type AclrtGetDevice = unsafe extern "C" fn(device_id: *mut i32) -> AclError;
type AclrtGetSocName = unsafe extern "C" fn() -> *const c_char;
type AclrtGetMemInfo =
    unsafe extern "C" fn(attr: c_int, free: *mut usize, total: *mut usize) -> AclError;
type AclGetRecentErrMsg = unsafe extern "C" fn() -> *const c_char;
type AclGetCannAttribute = unsafe extern "C" fn(attr: c_int, value: *mut i32) -> AclError;

/// Symbols without which discovery cannot work.
pub const REQUIRED: [&str; 5] = [
    "aclInit",
    "aclrtGetDeviceCount",
    "aclrtSetDevice",
    "aclrtGetSocName",
    "aclrtGetMemInfo",
];

/// Symbols whose absence only degrades discovery (no device release, no runtime error
/// text, bf16 from the SoC table).
pub const OPTIONAL: [&str; 3] = [
    "aclrtResetDevice",
    "aclGetRecentErrMsg",
    "aclGetCannAttribute",
];

/// Resolved ACL functions. Every pointer stays valid while `_lib` lives, and the struct
/// never hands them out. The library is never unloaded: once aclInit has run, the runtime
/// has threads and exit handlers inside it, and dlclose would pull the code from under
/// them (torch_npu and ggml never unload it either).
pub struct AclApi {
    init: Option<AclInit>,
    get_device_count: Option<AclrtGetDeviceCount>,
    set_device: Option<AclrtSetDevice>,
    reset_device: Option<AclrtResetDevice>,
    // Not in OPTIONAL: without it discovery cannot see a binding to leave alone, which
    // only matters to a process that computes on the NPU, not to what doctor reports.
    get_device: Option<AclrtGetDevice>,
    get_soc_name: Option<AclrtGetSocName>,
    get_mem_info: Option<AclrtGetMemInfo>,
    get_recent_err_msg: Option<AclGetRecentErrMsg>,
    get_cann_attribute: Option<AclGetCannAttribute>,
    _lib: ManuallyDrop<Library>,
}

impl std::fmt::Debug for AclApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclApi").finish_non_exhaustive()
    }
}

/// An ACL call that returned an error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFailure {
    pub call: &'static str,
    pub code: AclError,
    pub message: Option<String>,
}

impl AclApi {
    pub fn resolve(lib: Library) -> Self {
        // SAFETY: each type above is the prototype from acl/acl.h for that name; the
        // pointers are stored next to the library that owns them.
        unsafe {
            Self {
                init: symbol(&lib, "aclInit"),
                get_device_count: symbol(&lib, "aclrtGetDeviceCount"),
                set_device: symbol(&lib, "aclrtSetDevice"),
                reset_device: symbol(&lib, "aclrtResetDevice"),
                get_device: symbol(&lib, "aclrtGetDevice"),
                get_soc_name: symbol(&lib, "aclrtGetSocName"),
                get_mem_info: symbol(&lib, "aclrtGetMemInfo"),
                get_recent_err_msg: symbol(&lib, "aclGetRecentErrMsg"),
                get_cann_attribute: symbol(&lib, "aclGetCannAttribute"),
                _lib: ManuallyDrop::new(lib),
            }
        }
    }

    /// The first required symbol the library lacks.
    pub fn first_missing_required(&self) -> Option<&'static str> {
        let present = [
            self.init.is_some(),
            self.get_device_count.is_some(),
            self.set_device.is_some(),
            self.get_soc_name.is_some(),
            self.get_mem_info.is_some(),
        ];
        REQUIRED
            .iter()
            .zip(present)
            .find(|(_, ok)| !ok)
            .map(|(name, _)| *name)
    }

    pub fn missing_optional(&self) -> Vec<&'static str> {
        let present = [
            self.reset_device.is_some(),
            self.get_recent_err_msg.is_some(),
            self.get_cann_attribute.is_some(),
        ];
        OPTIONAL
            .into_iter()
            .zip(present)
            .filter(|(_, ok)| !ok)
            .map(|(name, _)| name)
            .collect()
    }

    pub fn has_cann_attribute(&self) -> bool {
        self.get_cann_attribute.is_some()
    }

    fn recent_error(&self) -> Option<String> {
        let f = self.get_recent_err_msg?;
        // SAFETY: prototype matches; the runtime returns NULL or a thread-local string
        // valid until the next ACL call on this thread, and we copy it at once.
        unsafe { crate::loader::c_string(f()) }.filter(|m| !m.trim().is_empty())
    }

    fn check(&self, call: &'static str, code: AclError) -> Result<(), AclFailure> {
        if code == ACL_SUCCESS {
            Ok(())
        } else {
            Err(AclFailure {
                call,
                code,
                message: self.recent_error(),
            })
        }
    }

    fn missing(call: &'static str) -> AclFailure {
        AclFailure {
            call,
            code: -1,
            message: Some(format!("symbol {call} is not exported")),
        }
    }

    /// aclInit(NULL). Returns whether the runtime was already initialised.
    pub fn init(&self) -> Result<bool, AclFailure> {
        let f = self.init.ok_or_else(|| Self::missing("aclInit"))?;
        // SAFETY: NULL config path is documented as valid.
        let code = unsafe { f(std::ptr::null()) };
        if code == ACL_ERROR_REPEAT_INITIALIZE {
            return Ok(true);
        }
        self.check("aclInit", code).map(|()| false)
    }

    pub fn device_count(&self) -> Result<u32, AclFailure> {
        let f = self
            .get_device_count
            .ok_or_else(|| Self::missing("aclrtGetDeviceCount"))?;
        let mut count = 0u32;
        // SAFETY: `count` is a valid out-pointer for the duration of the call.
        let code = unsafe { f(&mut count) };
        self.check("aclrtGetDeviceCount", code).map(|()| count)
    }

    pub fn set_device(&self, id: i32) -> Result<(), AclFailure> {
        let f = self
            .set_device
            .ok_or_else(|| Self::missing("aclrtSetDevice"))?;
        // SAFETY: plain integer argument.
        let code = unsafe { f(id) };
        self.check("aclrtSetDevice", code)
    }

    /// The device bound to the calling thread, if any (and if the runtime can say).
    pub fn current_device(&self) -> Option<i32> {
        let f = self.get_device?;
        let mut id = -1i32;
        // SAFETY: `id` is a valid out-pointer for the call.
        let code = unsafe { f(&mut id) };
        (code == ACL_SUCCESS && id >= 0).then_some(id)
    }

    /// Runs `query` with device `id` current on this thread, and leaves the thread bound
    /// as it found it. A thread that already computes on `id` (ops-npu binds its device
    /// once, on the thread that opened it) is queried as it is: aclrtResetDevice would
    /// unbind it. A thread bound to another device is bound back to it afterwards; that
    /// takes one more reference on that device, which ACL releases at process exit.
    pub fn with_device<T>(&self, id: i32, query: impl FnOnce(&Self) -> T) -> Result<T, AclFailure> {
        let before = self.current_device();
        if before == Some(id) {
            return Ok(query(self));
        }
        self.set_device(id)?;
        let out = query(self);
        self.reset_device(id);
        if let Some(previous) = before {
            // The answer stands either way; a thread that cannot be bound back fails its
            // next launch, naming aclrtSetDevice's own error there.
            let _ = self.set_device(previous);
        }
        Ok(out)
    }

    /// Releases what our `set_device` took; ACL reference-counts SetDevice per process,
    /// but the calling thread is left without a current device: see [`AclApi::with_device`].
    pub fn reset_device(&self, id: i32) {
        if let Some(f) = self.reset_device {
            // SAFETY: plain integer argument; the result only matters for leaks.
            unsafe { f(id) };
        }
    }

    pub fn soc_name(&self) -> Result<String, AclFailure> {
        let f = self
            .get_soc_name
            .ok_or_else(|| Self::missing("aclrtGetSocName"))?;
        // SAFETY: returns NULL or a static string owned by the runtime; copied at once.
        let name = unsafe { crate::loader::c_string(f()) };
        name.filter(|n| !n.trim().is_empty())
            .map(|n| n.trim().to_string())
            .ok_or_else(|| AclFailure {
                call: "aclrtGetSocName",
                code: -1,
                message: self
                    .recent_error()
                    .or_else(|| Some("returned NULL".to_string())),
            })
    }

    /// (free, total) bytes of device memory of the current device.
    pub fn mem_info(&self) -> Result<(u64, u64), AclFailure> {
        let f = self
            .get_mem_info
            .ok_or_else(|| Self::missing("aclrtGetMemInfo"))?;
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: both out-pointers are valid for the call.
        let code = unsafe { f(ACL_HBM_MEM, &mut free, &mut total) };
        self.check("aclrtGetMemInfo", code)
            .map(|()| (free as u64, total as u64))
    }

    /// aclGetCannAttribute(ACL_CANN_ATTR_BF16): `None` when the symbol is missing or the
    /// call fails, so the caller falls back to the SoC table.
    pub fn bf16_attribute(&self) -> Option<bool> {
        let f = self.get_cann_attribute?;
        let mut value = 0i32;
        // SAFETY: `value` is a valid out-pointer.
        let code = unsafe { f(ACL_CANN_ATTR_BF16, &mut value) };
        (code == ACL_SUCCESS).then_some(value != 0)
    }
}
