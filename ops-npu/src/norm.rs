//! Normalisations: RMSNorm and LayerNorm over the last dimension, adaptive LayerNorm
//! (LN(x) * (1 + scale) + shift, as in DiT blocks) and GroupNorm with optional fused SiLU.

use crate::bridge::ffi;
use crate::error::{OpsError, Result};
use crate::tensor::{
    Element, Implementation, Tensor, TensorView, check_vector, cpu_threads, widen_opt,
};

/// (rows, last dim) of a tensor normalised over its last dimension.
fn rows_and_dim<T>(x: &TensorView<'_, T>) -> Result<(usize, usize)> {
    match x.shape().split_last() {
        Some((&dim, rest)) if dim > 0 => Ok((rest.iter().product(), dim)),
        _ => Err(OpsError::shape(
            "x",
            format!(
                "needs a non-empty last dimension, got shape {:?}",
                x.shape()
            ),
        )),
    }
}

fn output<T: Element>(x: &TensorView<'_, T>, data: Vec<f32>) -> Tensor<T> {
    Tensor {
        data: T::narrow(data),
        shape: x.shape().to_vec(),
    }
}

/// x / sqrt(mean(x^2) + eps) * weight over the last dimension.
pub fn rms_norm<T: Element>(
    x: TensorView<'_, T>,
    weight: Option<TensorView<'_, T>>,
    eps: f32,
    imp: Implementation,
) -> Result<Tensor<T>> {
    let (rows, dim) = rows_and_dim(&x)?;
    check_vector("weight", weight, dim)?;
    let mut out = vec![0f32; rows * dim];
    ffi::rms_norm(
        &T::widen(x.data()),
        &widen_opt(weight),
        rows,
        dim,
        eps,
        &mut out,
        imp.is_reference(),
        cpu_threads(),
    )?;
    Ok(output(&x, out))
}

/// (x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance).
pub fn layer_norm<T: Element>(
    x: TensorView<'_, T>,
    weight: Option<TensorView<'_, T>>,
    bias: Option<TensorView<'_, T>>,
    eps: f32,
    imp: Implementation,
) -> Result<Tensor<T>> {
    let (rows, dim) = rows_and_dim(&x)?;
    check_vector("weight", weight, dim)?;
    check_vector("bias", bias, dim)?;
    let mut out = vec![0f32; rows * dim];
    ffi::layer_norm(
        &T::widen(x.data()),
        &widen_opt(weight),
        &widen_opt(bias),
        rows,
        dim,
        eps,
        &mut out,
        imp.is_reference(),
        cpu_threads(),
    )?;
    Ok(output(&x, out))
}

/// LN(x) * (1 + scale) + shift with x [batch, seq, dim] and scale/shift [batch, dim],
/// [batch, 1, dim] (one modulation per sample) or [batch, seq, dim].
pub fn ada_layer_norm<T: Element>(
    x: TensorView<'_, T>,
    scale: TensorView<'_, T>,
    shift: TensorView<'_, T>,
    eps: f32,
    imp: Implementation,
) -> Result<Tensor<T>> {
    let [batch, seq, dim] = x.dims::<3>("x")?;
    let mod_seq = match *scale.shape() {
        [b, d] if b == batch && d == dim => 1,
        [b, 1, d] if b == batch && d == dim => 1,
        [b, s, d] if b == batch && s == seq && d == dim => seq,
        _ => {
            return Err(OpsError::shape(
                "scale",
                format!(
                    "shape {:?} is not [{batch}, {dim}], [{batch}, 1, {dim}] or [{batch}, {seq}, {dim}]",
                    scale.shape()
                ),
            ));
        }
    };
    if shift.data().len() != scale.data().len() {
        return Err(OpsError::shape(
            "shift",
            format!(
                "shape {:?} differs from scale's {:?}",
                shift.shape(),
                scale.shape()
            ),
        ));
    }
    let mut out = vec![0f32; x.data().len()];
    ffi::ada_layer_norm(
        &T::widen(x.data()),
        &T::widen(scale.data()),
        &T::widen(shift.data()),
        batch,
        seq,
        dim,
        mod_seq,
        eps,
        &mut out,
        imp.is_reference(),
        cpu_threads(),
    )?;
    Ok(output(&x, out))
}

/// GroupNorm over x [n, c, ...spatial] with `groups` groups, optional per-channel affine,
/// optionally followed by SiLU (the ResNet block's norm + activation in one pass).
#[allow(clippy::too_many_arguments)]
pub fn group_norm<T: Element>(
    x: TensorView<'_, T>,
    groups: usize,
    gamma: Option<TensorView<'_, T>>,
    beta: Option<TensorView<'_, T>>,
    eps: f32,
    silu: bool,
    imp: Implementation,
) -> Result<Tensor<T>> {
    let (n, c, hw) = match x.shape() {
        [n, c, rest @ ..] => (*n, *c, rest.iter().product::<usize>()),
        _ => {
            return Err(OpsError::shape(
                "x",
                format!("needs [n, c, ...], got shape {:?}", x.shape()),
            ));
        }
    };
    if groups == 0 || c % groups != 0 {
        return Err(OpsError::shape(
            "groups",
            format!("{c} channels do not split into {groups} groups"),
        ));
    }
    check_vector("gamma", gamma, c)?;
    check_vector("beta", beta, c)?;
    let mut out = vec![0f32; x.data().len()];
    ffi::group_norm(
        &T::widen(x.data()),
        &widen_opt(gamma),
        &widen_opt(beta),
        n,
        c,
        hw,
        groups,
        eps,
        silu,
        &mut out,
        imp.is_reference(),
        cpu_threads(),
    )?;
    Ok(output(&x, out))
}
