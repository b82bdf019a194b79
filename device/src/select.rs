//! Choosing a device and dtype: NPU, then CUDA, then CPU, unless the user says otherwise.

use crate::discovery::Discovery;
use crate::dtype::{DType, ParseDTypeError};
use crate::env::EnvSource;
use crate::info::DeviceInfo;
use crate::kind::{Device, DeviceKind, DeviceRequest, ParseDeviceError};

pub const PREFERRED_DEVICE: &str = "PREFERRED_DEVICE";
pub const PREFERRED_DTYPE: &str = "PREFERRED_DTYPE";

/// Why no device could be selected as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("{source_name}: {error}")]
    BadDevice {
        source_name: String,
        error: ParseDeviceError,
    },
    #[error("{source_name}: {error}")]
    BadDType {
        source_name: String,
        error: ParseDTypeError,
    },
    /// An override names a device that is not there; never silently replaced.
    #[error("{requested} was requested{}, but it is not available: {why}", via(.source_name))]
    Absent {
        requested: String,
        source_name: String,
        why: String,
    },
    #[error(
        "{device} does not support {dtype} (supported: {}){}",
        supported.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", "),
        via(.source_name)
    )]
    UnsupportedDType {
        device: Device,
        dtype: DType,
        supported: Vec<DType>,
        source_name: String,
    },
}

fn via(source_name: &str) -> String {
    if source_name.is_empty() {
        String::new()
    } else {
        format!(" (by {source_name})")
    }
}

/// User preferences, from the environment or from command-line flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub device: Option<(DeviceRequest, String)>,
    pub dtype: Option<(DType, String)>,
}

impl Preferences {
    /// `PREFERRED_DEVICE` (npu, npu:1, cuda:0, cpu; `auto` or empty = no preference) and
    /// `PREFERRED_DTYPE` (f32, f16, bf16).
    pub fn from_env(env: &impl EnvSource) -> Result<Self, SelectError> {
        let mut prefs = Self::default();
        if let Some(text) = env.non_empty(PREFERRED_DEVICE)
            && !text.eq_ignore_ascii_case("auto")
        {
            prefs = prefs.with_device(&text, PREFERRED_DEVICE)?;
        }
        if let Some(text) = env.non_empty(PREFERRED_DTYPE) {
            prefs = prefs.with_dtype(&text, PREFERRED_DTYPE)?;
        }
        Ok(prefs)
    }

    /// Overrides the device; `source_name` says where it came from ("--device").
    pub fn with_device(mut self, text: &str, source_name: &str) -> Result<Self, SelectError> {
        let request = text.parse().map_err(|error| SelectError::BadDevice {
            source_name: source_name.to_string(),
            error,
        })?;
        self.device = Some((request, source_name.to_string()));
        Ok(self)
    }

    pub fn with_dtype(mut self, text: &str, source_name: &str) -> Result<Self, SelectError> {
        let dtype = text.parse().map_err(|error| SelectError::BadDType {
            source_name: source_name.to_string(),
            error,
        })?;
        self.dtype = Some((dtype, source_name.to_string()));
        Ok(self)
    }
}

/// The chosen device and dtype, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub device: Device,
    pub dtype: DType,
    pub info: DeviceInfo,
    /// One line: "first NPU found", "PREFERRED_DEVICE=cuda:1", ...
    pub reason: String,
}

fn absent_reason(discovery: &Discovery, kind: DeviceKind) -> String {
    let report = match discovery.backend(kind) {
        Some(r) => r,
        None => return "the CPU is always present".to_string(),
    };
    match &report.absence {
        Some(why) => why.to_string(),
        None => {
            let ids: Vec<String> = report.devices.iter().map(|d| d.id.to_string()).collect();
            format!("{} {} visible: {}", ids.len(), kind, ids.join(", "))
        }
    }
}

/// Picks a device and dtype. Without a device preference: the first NPU, else the first
/// CUDA device, else the CPU. A preference for an absent device is an error.
pub fn select(discovery: &Discovery, prefs: &Preferences) -> Result<Selection, SelectError> {
    let (info, reason) = match &prefs.device {
        None => {
            // devices() always ends with the CPU, so the fallback is only for form's sake.
            let info = discovery
                .devices()
                .into_iter()
                .next()
                .unwrap_or(&discovery.cpu)
                .clone();
            let reason = match info.kind {
                DeviceKind::Npu => "first NPU found".to_string(),
                DeviceKind::Cuda => "no NPU; first CUDA device found".to_string(),
                DeviceKind::Cpu => "no NPU or CUDA device found".to_string(),
            };
            (info, reason)
        }
        Some((request, source_name)) => {
            let found = match request {
                DeviceRequest::Kind(kind) => {
                    discovery.devices().into_iter().find(|d| d.kind == *kind)
                }
                DeviceRequest::Exact(device) => discovery.find(*device),
            };
            let kind = match request {
                DeviceRequest::Kind(k) => *k,
                DeviceRequest::Exact(d) => d.kind(),
            };
            let info = found.cloned().ok_or_else(|| SelectError::Absent {
                requested: request.to_string(),
                source_name: source_name.clone(),
                why: absent_reason(discovery, kind),
            })?;
            (info, format!("{source_name}={request}"))
        }
    };
    let dtype = match &prefs.dtype {
        None => info.best_dtype,
        Some((dtype, source_name)) => {
            if !info.supports(*dtype) {
                return Err(SelectError::UnsupportedDType {
                    device: info.id,
                    dtype: *dtype,
                    supported: info.dtypes.clone(),
                    source_name: source_name.clone(),
                });
            }
            *dtype
        }
    };
    Ok(Selection {
        device: info.id,
        dtype,
        info,
        reason,
    })
}
