//! The kernels on NPU tensors. Each call checks shapes and the op's dtype rule on the
//! host, allocates its outputs from the stream's cache and launches one aclnn op on the
//! stream (asynchronously: downloads synchronise).

mod activation;
mod arith;
mod composite_attention;
mod convert;
mod fused;
mod index;
mod linear;
mod shape;

pub use activation::{gelu, gelu_tanh, relu, sigmoid, softmax};
pub use arith::{
    add, add_scalar, clamp, div, div_scalar, exp, mul, mul_scalar, neg, sub, sub_scalar,
};
pub use convert::{cast, copy_into, fill, zero};
pub use fused::*;
pub use index::{embedding, index_add, index_select};
pub use linear::{Conv2d, addmm, batch_matmul, conv2d, matmul_nd};
pub use shape::{cat, constant_pad, upsample_nearest2d};

use super::dtype::NpuDType;
use super::tensor::NpuTensor;
use crate::error::{OpsError, Result};

/// The broadcast of two shapes, numpy-style, or an error naming the argument.
pub(crate) fn broadcast_shape(arg: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        let lead = n - s.len();
        if i < lead { 1 } else { s[i - lead] }
    };
    (0..n)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(OpsError::shape(
                arg,
                format!("shape {b:?} does not broadcast with {a:?}"),
            )),
        })
        .collect()
}

pub(crate) fn same_dtype(
    op: &'static str,
    arg: &'static str,
    a: &NpuTensor,
    b: &NpuTensor,
) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(OpsError::shape(
            arg,
            format!(
                "{op}: dtype {} differs from self's {}; cast first",
                b.dtype(),
                a.dtype()
            ),
        ));
    }
    Ok(())
}

pub(crate) fn float_input(op: &'static str, arg: &'static str, t: &NpuTensor) -> Result<NpuDType> {
    if !t.dtype().is_float() {
        return Err(OpsError::shape(
            arg,
            format!("{op} takes a floating tensor, got {}", t.dtype()),
        ));
    }
    super::rules::check(op, arg, t.dtype())?;
    Ok(t.dtype())
}

/// A dimension index, negative counting from the end, as torch takes it.
pub(crate) fn resolve_dim(arg: &'static str, dim: isize, rank: usize) -> Result<usize> {
    let d = if dim < 0 { dim + rank as isize } else { dim };
    if d < 0 || d as usize >= rank {
        return Err(OpsError::shape(
            arg,
            format!("dimension {dim} of a {rank}-d tensor"),
        ));
    }
    Ok(d as usize)
}
