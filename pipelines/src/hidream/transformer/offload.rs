//! `--offload`: transformer blocks whose weights stay in host memory and are copied to the
//! compute device only for their own forward, so the device holds the embedders, the final
//! layer and one block at a time (HiDream-I1's 48 blocks are ~97% of its 17 B parameters).
//!
//! On the CPU the host is the compute device, so streaming changes nothing but the order
//! of work: it is a no-op there, kept so the same code path can be tested. The copy to a
//! CUDA device uses candle's `to_device`; it has not been run on a GPU in this project. On
//! an NPU each block's weights are uploaded before its forward; the upload is synchronous,
//! so it first waits for the launches queued before it (one synchronisation per block).
//!
//! The host copies are in the model's dtype: for HiDream-I1 about 33 GB of host memory for
//! the blocks at bf16 (twice that at f32).

use crate::model_tensor::{ModelDevice, VarBuilder};
use candle_core::{DType, Device, Result, Tensor};
use std::borrow::Cow;
use std::collections::HashMap;

/// Where one block's weights live.
#[derive(Debug, Clone)]
pub enum BlockWeights<B> {
    /// Built once on the compute device.
    Resident(B),
    /// Host tensors under names relative to the block, rebuilt on `device` per forward.
    Host {
        tensors: HashMap<String, Tensor>,
        /// The dtype the tensors were converted to when read.
        dtype: DType,
        device: ModelDevice,
    },
}

impl<B: Clone> BlockWeights<B> {
    /// The block ready to run on the compute device: borrowed when resident, otherwise
    /// built from a fresh device copy of its host weights (freed when the copy drops).
    pub fn get(&self, build: impl FnOnce(VarBuilder) -> Result<B>) -> Result<Cow<'_, B>> {
        match self {
            BlockWeights::Resident(block) => Ok(Cow::Borrowed(block)),
            BlockWeights::Host {
                tensors,
                dtype,
                device,
            } => {
                let host =
                    candle_nn::VarBuilder::from_tensors(tensors.clone(), *dtype, &Device::Cpu);
                build(VarBuilder::new(host, device.clone())).map(Cow::Owned)
            }
        }
    }

    /// Bytes of weights this block keeps on the host between forwards.
    pub fn host_bytes(&self) -> usize {
        match self {
            BlockWeights::Resident(_) => 0,
            BlockWeights::Host { tensors, .. } => tensors
                .values()
                .map(|t| t.elem_count() * t.dtype().size_in_bytes())
                .sum(),
        }
    }
}

/// Every tensor under `prefix` (with the prefix and its dot removed), read from the mapped
/// files into host memory as `dtype`.
pub fn host_tensors(
    files: &candle_core::safetensors::MmapedSafetensors,
    prefix: &str,
    dtype: DType,
) -> Result<HashMap<String, Tensor>> {
    let dotted = format!("{prefix}.");
    files
        .tensors()
        .into_iter()
        .filter_map(|(name, _)| {
            name.strip_prefix(&dotted)
                .map(|rest| (rest.to_string(), name.clone()))
        })
        .map(|(rest, name)| Ok((rest, files.load(&name, &Device::Cpu)?.to_dtype(dtype)?)))
        .collect()
}
