//! Elementwise arithmetic: tensor-tensor forms broadcast inside aclnn (no expanded copy),
//! scalar forms take an aclScalar.

use super::{broadcast_shape, float_input, same_dtype};
use crate::error::Result;
use crate::npu::call::{OpCall, Scalar};
use crate::npu::stream::NpuStream;
use crate::npu::tensor::NpuTensor;

fn binary(
    s: &NpuStream,
    op: &'static str,
    a: &NpuTensor,
    b: &NpuTensor,
    alpha: Option<f64>,
) -> Result<NpuTensor> {
    let dtype = float_input(op, "self", a)?;
    same_dtype(op, "other", a, b)?;
    let shape = broadcast_shape("other", a.shape(), b.shape())?;
    let out = NpuTensor::empty(s, &shape, dtype)?;
    let call = OpCall::new(op).tensor(a).tensor(b);
    let call = match alpha {
        Some(al) => call.scalar(Scalar::F32(al)),
        None => call,
    };
    call.tensor(&out).launch(s)?;
    Ok(out)
}

/// a + b (broadcast).
pub fn add(s: &NpuStream, a: &NpuTensor, b: &NpuTensor) -> Result<NpuTensor> {
    binary(s, "aclnnAdd", a, b, Some(1.0))
}

/// a - b (broadcast).
pub fn sub(s: &NpuStream, a: &NpuTensor, b: &NpuTensor) -> Result<NpuTensor> {
    binary(s, "aclnnSub", a, b, Some(1.0))
}

/// a * b (broadcast).
pub fn mul(s: &NpuStream, a: &NpuTensor, b: &NpuTensor) -> Result<NpuTensor> {
    binary(s, "aclnnMul", a, b, None)
}

/// a / b (broadcast).
pub fn div(s: &NpuStream, a: &NpuTensor, b: &NpuTensor) -> Result<NpuTensor> {
    binary(s, "aclnnDiv", a, b, None)
}

fn with_scalar(
    s: &NpuStream,
    op: &'static str,
    a: &NpuTensor,
    v: f64,
    alpha: bool,
) -> Result<NpuTensor> {
    let dtype = float_input(op, "self", a)?;
    let out = NpuTensor::empty(s, a.shape(), dtype)?;
    let call = OpCall::new(op).tensor(a).scalar(Scalar::F32(v));
    let call = if alpha {
        call.scalar(Scalar::F32(1.0))
    } else {
        call
    };
    call.tensor(&out).launch(s)?;
    Ok(out)
}

/// a + v.
pub fn add_scalar(s: &NpuStream, a: &NpuTensor, v: f64) -> Result<NpuTensor> {
    with_scalar(s, "aclnnAdds", a, v, true)
}

/// a - v.
pub fn sub_scalar(s: &NpuStream, a: &NpuTensor, v: f64) -> Result<NpuTensor> {
    with_scalar(s, "aclnnSubs", a, v, true)
}

/// a * v.
pub fn mul_scalar(s: &NpuStream, a: &NpuTensor, v: f64) -> Result<NpuTensor> {
    with_scalar(s, "aclnnMuls", a, v, false)
}

/// a / v.
pub fn div_scalar(s: &NpuStream, a: &NpuTensor, v: f64) -> Result<NpuTensor> {
    with_scalar(s, "aclnnDivs", a, v, false)
}

pub(super) fn unary(s: &NpuStream, op: &'static str, a: &NpuTensor) -> Result<NpuTensor> {
    let dtype = float_input(op, "self", a)?;
    let out = NpuTensor::empty(s, a.shape(), dtype)?;
    OpCall::new(op).tensor(a).tensor(&out).launch(s)?;
    Ok(out)
}

pub fn neg(s: &NpuStream, a: &NpuTensor) -> Result<NpuTensor> {
    unary(s, "aclnnNeg", a)
}

pub fn exp(s: &NpuStream, a: &NpuTensor) -> Result<NpuTensor> {
    unary(s, "aclnnExp", a)
}

/// min(max(a, lo), hi).
pub fn clamp(s: &NpuStream, a: &NpuTensor, lo: f64, hi: f64) -> Result<NpuTensor> {
    let dtype = float_input("aclnnClamp", "self", a)?;
    let out = NpuTensor::empty(s, a.shape(), dtype)?;
    OpCall::new("aclnnClamp")
        .tensor(a)
        .scalar(Scalar::F32(lo))
        .scalar(Scalar::F32(hi))
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}
