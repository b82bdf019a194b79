//! Dtype conversion, device copies and fills.

use crate::error::{OpsError, Result};
use crate::npu::call::{OpCall, Scalar};
use crate::npu::dtype::NpuDType;
use crate::npu::rules;
use crate::npu::stream::NpuStream;
use crate::npu::tensor::NpuTensor;

/// `a` converted to `dtype` (a new contiguous tensor).
pub fn cast(s: &NpuStream, a: &NpuTensor, dtype: NpuDType) -> Result<NpuTensor> {
    rules::check("aclnnCast", "self", a.dtype())?;
    rules::check("aclnnCast", "dtype", dtype)?;
    let out = NpuTensor::empty(s, a.shape(), dtype)?;
    OpCall::new("aclnnCast")
        .tensor(a)
        .dtype(dtype)
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}

/// Copies `src` (any view, same shape; dtype converted) into the view `dst`.
pub fn copy_into(s: &NpuStream, dst: &NpuTensor, src: &NpuTensor) -> Result<()> {
    if dst.shape() != src.shape() {
        return Err(OpsError::shape(
            "src",
            format!(
                "shape {:?} differs from the destination's {:?}",
                src.shape(),
                dst.shape()
            ),
        ));
    }
    rules::check("aclnnInplaceCopy", "selfRef", dst.dtype())?;
    OpCall::new("aclnnInplaceCopy")
        .tensor(dst)
        .tensor(src)
        .launch(s)
}

impl NpuTensor {
    /// This view as a contiguous tensor: itself when already contiguous, else a copy on
    /// `s` (aclnnInplaceCopy reads the strided view).
    pub fn contiguous(&self, s: &NpuStream) -> Result<NpuTensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let out = NpuTensor::empty(s, self.shape(), self.dtype())?.with_format(self.format())?;
        copy_into(s, &out, self)?;
        Ok(out)
    }
}

/// Sets every element of the view `t` to zero.
pub fn zero(s: &NpuStream, t: &NpuTensor) -> Result<()> {
    rules::check("aclnnInplaceZero", "selfRef", t.dtype())?;
    OpCall::new("aclnnInplaceZero").tensor(t).launch(s)
}

/// Sets every element of the view `t` to `v`.
pub fn fill(s: &NpuStream, t: &NpuTensor, v: f64) -> Result<()> {
    rules::check("aclnnInplaceFillScalar", "selfRef", t.dtype())?;
    let value = if t.dtype().is_float() {
        Scalar::F32(v)
    } else {
        Scalar::I64(v as i64)
    };
    OpCall::new("aclnnInplaceFillScalar")
        .tensor(t)
        .scalar(value)
        .launch(s)
}
