//! Activations and softmax.

use super::arith::unary as unary_op;
use super::{float_input, resolve_dim};
use crate::error::Result;
use crate::npu::call::OpCall;
use crate::npu::stream::NpuStream;
use crate::npu::tensor::NpuTensor;

/// GELU with the exact (erf) form, torch's default.
pub fn gelu(s: &NpuStream, a: &NpuTensor) -> Result<NpuTensor> {
    // aclnnGeluV2 with approximate = 0 ("none") is the erf form; aclnnGelu's doc gives
    // the tanh-free formula only for some products, so V2 states the form explicitly.
    gelu_v2(s, a, 0)
}

/// GELU with the tanh approximation (diffusers' "gelu-approximate").
pub fn gelu_tanh(s: &NpuStream, a: &NpuTensor) -> Result<NpuTensor> {
    gelu_v2(s, a, 1)
}

fn gelu_v2(s: &NpuStream, a: &NpuTensor, approximate: i64) -> Result<NpuTensor> {
    let dtype = float_input("aclnnGeluV2", "x", a)?;
    let out = NpuTensor::empty(s, a.shape(), dtype)?;
    OpCall::new("aclnnGeluV2")
        .tensor(a)
        .int(approximate)
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}

pub fn sigmoid(s: &NpuStream, a: &NpuTensor) -> Result<NpuTensor> {
    unary_op(s, "aclnnSigmoid", a)
}

pub fn relu(s: &NpuStream, a: &NpuTensor) -> Result<NpuTensor> {
    unary_op(s, "aclnnRelu", a)
}

/// Softmax along `dim` (negative counts from the end).
pub fn softmax(s: &NpuStream, a: &NpuTensor, dim: isize) -> Result<NpuTensor> {
    let dtype = float_input("aclnnSoftmax", "self", a)?;
    let d = resolve_dim("dim", dim, a.shape().len())?;
    let out = NpuTensor::empty(s, a.shape(), dtype)?;
    OpCall::new("aclnnSoftmax")
        .tensor(a)
        .int(d as i64)
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}
