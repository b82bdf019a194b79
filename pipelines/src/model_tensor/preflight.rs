//! A model refused before its weights load when the NPU has no kernel, at the model's
//! dtype, for an operator it needs (the rules table ops-npu checks before each launch,
//! from the op docs): the user hears it in seconds, not after minutes of loading.

use super::device::ModelDevice;
use candle_core::{DType, Error, Result};
use ops_npu::npu::{NpuDType, rules};

/// The aclnn operators Stable Diffusion 2.x's CLIP, UNet and VAE launch on every run
/// (attention is gated on its own, with a CPU fallback).
pub const SD_OPS: &[&str] = &[
    "aclnnAdd",
    "aclnnMuls",
    "aclnnAddmm",
    "aclnnMatmul",
    "aclnnConvolution",
    "aclnnGroupNorm",
    "aclnnLayerNorm",
    "aclnnSilu",
    "aclnnGeGluV3",
    "aclnnCast",
    "aclnnCat",
    "aclnnUpsampleNearest2d",
    "aclnnEmbedding",
    "aclnnInplaceCopy",
];

/// The operators HiDream's encoders, transformer and VAE launch on every run.
pub const HIDREAM_OPS: &[&str] = &[
    "aclnnAdd",
    "aclnnMul",
    "aclnnMuls",
    "aclnnAddmm",
    "aclnnMatmul",
    "aclnnRmsNorm",
    "aclnnAdaLayerNorm",
    "aclnnLayerNorm",
    "aclnnSwiGlu",
    "aclnnRotaryPositionEmbedding",
    "aclnnSoftmax",
    "aclnnIndexSelect",
    "aclnnIndexAdd",
    "aclnnEmbedding",
    "aclnnConvolution",
    "aclnnGroupNorm",
    "aclnnSilu",
    "aclnnCast",
    "aclnnCat",
    "aclnnInplaceCopy",
];

/// Ok on a candle device; on an NPU, an error listing every op of `ops` the SoC refuses
/// at `dtype`.
pub fn require_ops(device: &ModelDevice, dtype: DType, ops: &[&'static str]) -> Result<()> {
    let ModelDevice::Npu(npu) = device else {
        return Ok(());
    };
    let npu_dtype = match dtype {
        DType::F16 => NpuDType::F16,
        DType::BF16 => NpuDType::BF16,
        _ => NpuDType::F32,
    };
    let refused = rules::refusals(ops, npu_dtype);
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::Msg(format!(
        "{device} ({}) cannot run this model at {dtype:?}, so nothing was loaded:\n  {}",
        npu.runtime().soc(),
        refused.join("\n  ")
    )))
}
