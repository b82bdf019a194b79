//! Concatenation, padding and nearest upsampling.

use super::{float_input, resolve_dim, same_dtype};
use crate::error::{OpsError, Result};
use crate::npu::call::{OpCall, Scalar};
use crate::npu::stream::NpuStream;
use crate::npu::tensor::{Format, NpuTensor};

/// Tensors joined along `dim`; every other dimension must agree.
pub fn cat(s: &NpuStream, ts: &[&NpuTensor], dim: isize) -> Result<NpuTensor> {
    let Some(first) = ts.first() else {
        return Err(OpsError::shape("tensors", "cat of no tensors"));
    };
    float_input("aclnnCat", "tensors", first)?;
    let rank = first.shape().len();
    let d = resolve_dim("dim", dim, rank)?;
    let mut shape = first.shape().to_vec();
    shape[d] = 0;
    for t in ts {
        same_dtype("aclnnCat", "tensors", first, t)?;
        let fits = t.shape().len() == rank
            && t.shape()
                .iter()
                .zip(first.shape())
                .enumerate()
                .all(|(i, (a, b))| i == d || a == b);
        if !fits {
            return Err(OpsError::shape(
                "tensors",
                format!(
                    "{:?} does not fit {:?} outside dimension {d}",
                    t.shape(),
                    first.shape()
                ),
            ));
        }
        shape[d] += t.shape()[d];
    }
    let out = NpuTensor::empty(s, &shape, first.dtype())?;
    OpCall::new("aclnnCat")
        .tensor_list(ts)
        .int(d as i64)
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}

/// Pads with `value`; `pad` lists (before, after) pairs from the last dimension backwards,
/// as torch.nn.functional.pad does.
pub fn constant_pad(s: &NpuStream, a: &NpuTensor, pad: &[usize], value: f64) -> Result<NpuTensor> {
    let dtype = float_input("aclnnConstantPadNd", "self", a)?;
    if !pad.len().is_multiple_of(2) || pad.len() / 2 > a.shape().len() {
        return Err(OpsError::shape(
            "pad",
            format!(
                "{pad:?} is not (before, after) pairs for a {}-d tensor",
                a.shape().len()
            ),
        ));
    }
    let mut shape = a.shape().to_vec();
    for (i, pair) in pad.chunks(2).enumerate() {
        let d = shape.len() - 1 - i;
        shape[d] += pair[0] + pair[1];
    }
    let out = NpuTensor::empty(s, &shape, dtype)?;
    let pad: Vec<i64> = pad.iter().map(|&p| p as i64).collect();
    OpCall::new("aclnnConstantPadNd")
        .tensor(a)
        .int_array(&pad)
        .scalar(Scalar::F32(value))
        .tensor(&out)
        .launch(s)?;
    Ok(out)
}

/// Nearest-neighbour upsampling of an NCHW tensor to (height, width).
pub fn upsample_nearest2d(
    s: &NpuStream,
    a: &NpuTensor,
    height: usize,
    width: usize,
) -> Result<NpuTensor> {
    let dtype = float_input("aclnnUpsampleNearest2d", "self", a)?;
    let &[n, c, _, _] = a.shape() else {
        return Err(OpsError::shape(
            "self",
            format!("expected NCHW (4 dimensions), got {:?}", a.shape()),
        ));
    };
    let input = a.with_format(Format::Nchw)?;
    let out = NpuTensor::empty(s, &[n, c, height, width], dtype)?.with_format(Format::Nchw)?;
    OpCall::new("aclnnUpsampleNearest2d")
        .tensor(&input)
        .int_array(&[height as i64, width as i64])
        .tensor(&out)
        .launch(s)?;
    out.with_format(Format::Nd)
}
