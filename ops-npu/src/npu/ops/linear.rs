//! Matrix products and convolution (the cube-unit ops: cubeMathType from the SoC table).

use super::{broadcast_shape, float_input, same_dtype};
use crate::error::{OpsError, Result};
use crate::npu::call::{OpCall, Scalar};
use crate::npu::dtype::NpuDType;
use crate::npu::stream::NpuStream;
use crate::npu::tensor::{Format, NpuTensor};

/// cubeMathType for the matmuls: 0 (KEEP_DTYPE) except f32 on a SoC whose cube unit cannot
/// keep it (Atlas training and inference products), where the docs require 1
/// (ALLOW_FP32_DOWN_PRECISION: computed in fp16 there).
fn cube_math_type(dtype: NpuDType) -> i64 {
    let downcast = crate::npu::opened_soc().is_some_and(|(_, t)| t.fp32_matmul_needs_downcast);
    i64::from(dtype == NpuDType::F32 && downcast)
}

/// cubeMathType for aclnnConvolution: its doc supports no KEEP_DTYPE for FLOAT inputs on
/// any product, so f32 takes 1 (ALLOW_FP32_DOWN_PRECISION): HFLOAT32 on Atlas A2/A3,
/// fp16 on inference products.
fn conv_cube_math_type(dtype: NpuDType) -> i64 {
    i64::from(dtype == NpuDType::F32)
}

/// [b, m, k] x [b, k, n] -> [b, m, n].
pub fn batch_matmul(s: &NpuStream, a: &NpuTensor, b: &NpuTensor) -> Result<NpuTensor> {
    let dtype = float_input("aclnnBatchMatMul", "self", a)?;
    same_dtype("aclnnBatchMatMul", "mat2", a, b)?;
    let (&[ba, m, k], &[bb, k2, n]) = (a.shape(), b.shape()) else {
        return Err(OpsError::shape(
            "self",
            format!(
                "batch_matmul takes two 3-d tensors, got {:?} and {:?}",
                a.shape(),
                b.shape()
            ),
        ));
    };
    if ba != bb || k != k2 {
        return Err(OpsError::shape(
            "mat2",
            format!("{:?} does not fit {:?}", b.shape(), a.shape()),
        ));
    }
    let out = NpuTensor::empty(s, &[ba, m, n], dtype)?;
    OpCall::new("aclnnBatchMatMul")
        .tensor(a)
        .tensor(b)
        .tensor(&out)
        .int(cube_math_type(dtype))
        .launch(s)?;
    Ok(out)
}

/// torch.matmul for tensors of 2 or more dimensions: batch dimensions broadcast.
pub fn matmul_nd(s: &NpuStream, a: &NpuTensor, b: &NpuTensor) -> Result<NpuTensor> {
    let dtype = float_input("aclnnMatmul", "self", a)?;
    same_dtype("aclnnMatmul", "mat2", a, b)?;
    let (ra, rb) = (a.shape().len(), b.shape().len());
    if ra < 2 || rb < 2 {
        return Err(OpsError::shape(
            "self",
            format!(
                "matmul_nd takes tensors of 2+ dimensions, got {:?} and {:?}",
                a.shape(),
                b.shape()
            ),
        ));
    }
    let (m, k) = (a.shape()[ra - 2], a.shape()[ra - 1]);
    let (k2, n) = (b.shape()[rb - 2], b.shape()[rb - 1]);
    if k != k2 {
        return Err(OpsError::shape(
            "mat2",
            format!("{k2} rows do not match self's {k} columns"),
        ));
    }
    let mut shape = broadcast_shape("mat2", &a.shape()[..ra - 2], &b.shape()[..rb - 2])?;
    shape.extend([m, n]);
    let out = NpuTensor::empty(s, &shape, dtype)?;
    OpCall::new("aclnnMatmul")
        .tensor(a)
        .tensor(b)
        .tensor(&out)
        .int(cube_math_type(dtype))
        .launch(s)?;
    Ok(out)
}

/// beta * bias + alpha * (a x b) for a [m, k], b [k, n]; bias broadcasts to [m, n].
pub fn addmm(
    s: &NpuStream,
    bias: &NpuTensor,
    a: &NpuTensor,
    b: &NpuTensor,
    beta: f64,
    alpha: f64,
) -> Result<NpuTensor> {
    let dtype = float_input("aclnnAddmm", "mat1", a)?;
    same_dtype("aclnnAddmm", "mat2", a, b)?;
    same_dtype("aclnnAddmm", "self", a, bias)?;
    let (&[m, k], &[k2, n]) = (a.shape(), b.shape()) else {
        return Err(OpsError::shape("mat1", "addmm takes 2-d mat1 and mat2"));
    };
    if k != k2 {
        return Err(OpsError::shape(
            "mat2",
            format!("{k2} rows do not match mat1's {k} columns"),
        ));
    }
    if broadcast_shape("self", &[m, n], bias.shape())? != [m, n] {
        return Err(OpsError::shape(
            "self",
            format!("{:?} does not broadcast to [{m}, {n}]", bias.shape()),
        ));
    }
    let out = NpuTensor::empty(s, &[m, n], dtype)?;
    OpCall::new("aclnnAddmm")
        .tensor(bias)
        .tensor(a)
        .tensor(b)
        .scalar(Scalar::F32(beta))
        .scalar(Scalar::F32(alpha))
        .tensor(&out)
        .int(cube_math_type(dtype))
        .launch(s)?;
    Ok(out)
}

/// 2-d convolution parameters (symmetric padding, as diffusers' layers use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl Default for Conv2d {
    fn default() -> Self {
        Self {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }
}

/// Convolution of an NCHW input with [out, in/groups, kh, kw] weights and an optional [out]
/// bias, through aclnnConvolution with NCHW descriptors.
pub fn conv2d(
    s: &NpuStream,
    x: &NpuTensor,
    weight: &NpuTensor,
    bias: Option<&NpuTensor>,
    p: Conv2d,
) -> Result<NpuTensor> {
    let dtype = float_input("aclnnConvolution", "input", x)?;
    same_dtype("aclnnConvolution", "weight", x, weight)?;
    if let Some(b) = bias {
        same_dtype("aclnnConvolution", "bias", x, b)?;
    }
    let (&[n, c, h, w], &[o, ci, kh, kw]) = (x.shape(), weight.shape()) else {
        return Err(OpsError::shape(
            "input",
            format!(
                "conv2d takes NCHW input and OIHW weight, got {:?} and {:?}",
                x.shape(),
                weight.shape()
            ),
        ));
    };
    if p.stride == 0
        || p.dilation == 0
        || p.groups == 0
        || c % p.groups != 0
        || ci * p.groups != c
        || o % p.groups != 0
    {
        return Err(OpsError::shape(
            "weight",
            format!(
                "{:?} does not fit {c} input channels in {} groups (stride {}, dilation {})",
                weight.shape(),
                p.groups,
                p.stride,
                p.dilation
            ),
        ));
    }
    if bias.is_some_and(|b| b.shape() != [o]) {
        return Err(OpsError::shape("bias", format!("expected [{o}]")));
    }
    let size = |len: usize, k: usize| -> Result<usize> {
        let span = p.dilation * (k - 1) + 1;
        (len + 2 * p.padding)
            .checked_sub(span)
            .map(|r| r / p.stride + 1)
            .ok_or_else(|| {
                OpsError::shape(
                    "input",
                    format!("{len} + padding is smaller than the kernel span {span}"),
                )
            })
    };
    let (oh, ow) = (size(h, kh)?, size(w, kw)?);
    let out = NpuTensor::empty(s, &[n, o, oh, ow], dtype)?.with_format(Format::Nchw)?;
    let (xi, wi) = (
        x.with_format(Format::Nchw)?,
        weight.with_format(Format::Nchw)?,
    );
    let pair = |v: usize| [v as i64, v as i64];
    OpCall::new("aclnnConvolution")
        .tensor(&xi)
        .tensor(&wi)
        .optional(bias)
        .int_array(&pair(p.stride))
        .int_array(&pair(p.padding))
        .int_array(&pair(p.dilation))
        .bool(false)
        .int_array(&[0, 0])
        .int(p.groups as i64)
        .tensor(&out)
        .int(conv_cube_math_type(dtype))
        .launch(s)?;
    out.with_format(Format::Nd)
}
