//! Gated linear units on an already projected input x [..., 2h] -> [..., h].

use crate::bridge::ffi;
use crate::error::{OpsError, Result};
use crate::tensor::{Element, Implementation, Tensor, TensorView, cpu_threads};

/// GELU flavour: diffusers' GEGLU uses the exact erf form; some ports use tanh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gelu {
    #[default]
    Erf,
    Tanh,
}

fn split<T>(x: &TensorView<'_, T>) -> Result<(usize, usize, Vec<usize>)> {
    match x.shape().split_last() {
        Some((&last, rest)) if last % 2 == 0 => {
            let mut shape = rest.to_vec();
            shape.push(last / 2);
            Ok((rest.iter().product(), last / 2, shape))
        }
        _ => Err(OpsError::shape(
            "x",
            format!(
                "last dimension must be even (two halves), got shape {:?}",
                x.shape()
            ),
        )),
    }
}

/// hidden * gelu(gate) where [hidden, gate] = x.chunk(2, -1) (diffusers' GEGLU order;
/// aclnnGeGluV3 with activateLeft = false).
pub fn geglu<T: Element>(
    x: TensorView<'_, T>,
    gelu: Gelu,
    imp: Implementation,
) -> Result<Tensor<T>> {
    let (rows, h, shape) = split(&x)?;
    let mut out = vec![0f32; rows * h];
    ffi::geglu(
        &T::widen(x.data()),
        rows,
        h,
        gelu == Gelu::Tanh,
        &mut out,
        imp.is_reference(),
        cpu_threads(),
    )?;
    Ok(Tensor {
        data: T::narrow(out),
        shape,
    })
}

/// silu(a) * b where [a, b] = x.chunk(2, -1) (aclnnSwiGlu's order).
pub fn swiglu<T: Element>(x: TensorView<'_, T>, imp: Implementation) -> Result<Tensor<T>> {
    let (rows, h, shape) = split(&x)?;
    let mut out = vec![0f32; rows * h];
    ffi::swiglu(
        &T::widen(x.data()),
        rows,
        h,
        &mut out,
        imp.is_reference(),
        cpu_threads(),
    )?;
    Ok(Tensor {
        data: T::narrow(out),
        shape,
    })
}
