//! Rotary position embedding: out = x * cos + rotate(x) * sin with cos/sin [seq, dim].

use crate::attention::Layout;
use crate::bridge::ffi;
use crate::error::{OpsError, Result};
use crate::tensor::{Element, Implementation, Tensor, TensorView, cpu_threads};

/// How dimensions pair up for the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RopeMode {
    /// (i, i + dim/2): rotate_half, as in Llama/diffusers (aclnn mode 0).
    #[default]
    Half,
    /// (2i, 2i + 1): GPT-J / Flux style (aclnn mode 1).
    Interleaved,
}

/// x [batch, seq, heads, dim] (BSND) or [batch, heads, seq, dim] (BNSD).
pub fn rope<T: Element>(
    x: TensorView<'_, T>,
    cos: TensorView<'_, T>,
    sin: TensorView<'_, T>,
    layout: Layout,
    mode: RopeMode,
    imp: Implementation,
) -> Result<Tensor<T>> {
    let [a, b, c, dim] = x.dims::<4>("x")?;
    let (outer, seq, inner) = match layout {
        Layout::Bsnd => (a, b, c),
        Layout::Bnsd => (a * b, c, 1),
    };
    if dim % 2 != 0 {
        return Err(OpsError::shape("x", format!("head_dim {dim} must be even")));
    }
    for (arg, t) in [("cos", &cos), ("sin", &sin)] {
        if t.shape() != [seq, dim] {
            return Err(OpsError::shape(
                arg,
                format!(
                    "expected [{seq}, {dim}] (seq, head_dim), got {:?}",
                    t.shape()
                ),
            ));
        }
    }
    let mut out = vec![0f32; x.data().len()];
    ffi::rope(
        &T::widen(x.data()),
        &T::widen(cos.data()),
        &T::widen(sin.data()),
        outer,
        seq,
        inner,
        dim,
        mode == RopeMode::Interleaved,
        &mut out,
        imp.is_reference(),
        cpu_threads(),
    )?;
    Ok(Tensor {
        data: T::narrow(out),
        shape: x.shape().to_vec(),
    })
}
