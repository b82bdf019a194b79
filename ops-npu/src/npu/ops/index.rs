//! Gathers and scatter-adds by index (indices are INT64 or INT32 device tensors).

use super::{float_input, resolve_dim, same_dtype};
use crate::error::{OpsError, Result};
use crate::npu::call::{OpCall, Scalar};
use crate::npu::dtype::NpuDType;
use crate::npu::stream::NpuStream;
use crate::npu::tensor::NpuTensor;

fn index_vector(arg: &'static str, t: &NpuTensor) -> Result<usize> {
    match (t.dtype(), t.shape()) {
        (NpuDType::I64 | NpuDType::I32, &[n]) => Ok(n),
        _ => Err(OpsError::shape(
            arg,
            format!(
                "expected a 1-d i64 or i32 index tensor, got {} {:?}",
                t.dtype(),
                t.shape()
            ),
        )),
    }
}

/// The slices of `a` along `dim` at `index`.
pub fn index_select(
    s: &NpuStream,
    a: &NpuTensor,
    dim: isize,
    index: &NpuTensor,
) -> Result<NpuTensor> {
    let dtype = float_input("aclnnIndexSelect", "self", a)?;
    let d = resolve_dim("dim", dim, a.shape().len())?;
    let n = index_vector("index", index)?;
    let mut shape = a.shape().to_vec();
    shape[d] = n;
    let out = NpuTensor::empty(s, &shape, dtype)?;
    OpCall::new("aclnnIndexSelect")
        .tensor(a)
        .int(d as i64)
        .tensor(index)
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}

/// `a` with `alpha * source` slices added at `index` along `dim` (a new tensor).
pub fn index_add(
    s: &NpuStream,
    a: &NpuTensor,
    dim: isize,
    index: &NpuTensor,
    source: &NpuTensor,
    alpha: f64,
) -> Result<NpuTensor> {
    let dtype = float_input("aclnnIndexAdd", "self", a)?;
    same_dtype("aclnnIndexAdd", "source", a, source)?;
    let d = resolve_dim("dim", dim, a.shape().len())?;
    let n = index_vector("index", index)?;
    let mut want = a.shape().to_vec();
    want[d] = n;
    if source.shape() != want.as_slice() {
        return Err(OpsError::shape(
            "source",
            format!("expected {want:?}, got {:?}", source.shape()),
        ));
    }
    let out = NpuTensor::empty(s, a.shape(), dtype)?;
    OpCall::new("aclnnIndexAdd")
        .tensor(a)
        .int(d as i64)
        .tensor(index)
        .tensor(source)
        .scalar(Scalar::F32(alpha))
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}

/// Rows of `weight` [vocab, dim] at `ids` (any shape): [..ids, dim].
pub fn embedding(s: &NpuStream, weight: &NpuTensor, ids: &NpuTensor) -> Result<NpuTensor> {
    let dtype = float_input("aclnnEmbedding", "weight", weight)?;
    let &[_, dim] = weight.shape() else {
        return Err(OpsError::shape(
            "weight",
            format!("expected [vocab, dim], got {:?}", weight.shape()),
        ));
    };
    if !matches!(ids.dtype(), NpuDType::I64 | NpuDType::I32) {
        return Err(OpsError::shape(
            "indices",
            format!("expected i64 or i32, got {}", ids.dtype()),
        ));
    }
    let mut shape = ids.shape().to_vec();
    shape.push(dim);
    let out = NpuTensor::empty(s, &shape, dtype)?;
    OpCall::new("aclnnEmbedding")
        .tensor(weight)
        .tensor(ids)
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}
