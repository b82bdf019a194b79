//! Device choice for frameworks that drive CUDA or the CPU but have no NPU backend (candle,
//! tch): the same PREFERRED_DEVICE rules as everywhere else, answered as a CUDA ordinal or
//! "the CPU". Code migrated from `Device::new_cuda(n)` calls this.

use crate::discovery::Discovery;
use crate::env::{EnvSource, ProcessEnv};
use crate::kind::{Device, DeviceKind, DeviceRequest};
use crate::select::{Preferences, SelectError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameworkDeviceError {
    #[error(transparent)]
    Select(#[from] SelectError),
    /// The user asked for an NPU, which a CUDA/CPU framework cannot run on.
    #[error(
        "{requested} was requested{via}, but this framework has no Ascend NPU backend; run the \
         NPU work through the ops-npu crate, or set PREFERRED_DEVICE=cpu or cuda"
    )]
    NoNpuBackend { requested: String, via: String },
    /// The code asked for a CUDA ordinal that is not there.
    #[error(
        "cuda:{ordinal} was requested by the code, but only {count} CUDA device(s) are visible"
    )]
    MissingOrdinal { ordinal: usize, count: usize },
}

/// The CUDA ordinal to use, or `None` for the CPU, honouring `PREFERRED_DEVICE` from the
/// process environment. See [`cuda_ordinal_with`].
pub fn cuda_ordinal(requested: usize) -> Result<Option<usize>, FrameworkDeviceError> {
    cuda_ordinal_with(
        &Discovery::from_env(&ProcessEnv),
        &Preferences::from_env(&ProcessEnv)?,
        requested,
    )
}

/// Like [`cuda_ordinal`] with an explicit environment (tests use a map).
pub fn cuda_ordinal_from(
    env: &impl EnvSource,
    requested: usize,
) -> Result<Option<usize>, FrameworkDeviceError> {
    cuda_ordinal_with(
        &Discovery::from_env(env),
        &Preferences::from_env(env)?,
        requested,
    )
}

/// - `PREFERRED_DEVICE=cpu`: `None`.
/// - `PREFERRED_DEVICE=cuda` / `cuda:N`: that device if present, else an error.
/// - `PREFERRED_DEVICE=npu...`: an error (the framework cannot use it).
/// - no preference: `requested` when CUDA devices are visible (an error if that ordinal is
///   not), else the CPU — an NPU host runs such a framework on its CPU.
pub fn cuda_ordinal_with(
    discovery: &Discovery,
    prefs: &Preferences,
    requested: usize,
) -> Result<Option<usize>, FrameworkDeviceError> {
    let cuda: Vec<usize> = discovery
        .cuda
        .devices
        .iter()
        .map(|d| d.id.index())
        .collect();
    let Some((request, source)) = &prefs.device else {
        if cuda.is_empty() {
            return Ok(None);
        }
        return cuda.contains(&requested).then_some(Some(requested)).ok_or(
            FrameworkDeviceError::MissingOrdinal {
                ordinal: requested,
                count: cuda.len(),
            },
        );
    };
    let kind = match request {
        DeviceRequest::Kind(kind) => *kind,
        DeviceRequest::Exact(device) => device.kind(),
    };
    match kind {
        DeviceKind::Cpu => Ok(None),
        DeviceKind::Npu => Err(FrameworkDeviceError::NoNpuBackend {
            requested: request.to_string(),
            via: format!(" by {source}"),
        }),
        DeviceKind::Cuda => {
            let wanted = match request {
                DeviceRequest::Exact(Device::Cuda(i)) => *i,
                _ => cuda.first().copied().unwrap_or(requested),
            };
            if cuda.contains(&wanted) {
                Ok(Some(wanted))
            } else {
                Err(SelectError::Absent {
                    requested: request.to_string(),
                    source_name: source.clone(),
                    why: discovery.cuda.absence.as_ref().map_or_else(
                        || format!("{} CUDA device(s) visible", cuda.len()),
                        |a| a.to_string(),
                    ),
                }
                .into())
            }
        }
    }
}
