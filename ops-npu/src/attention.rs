//! Scaled dot-product attention: softmax(q k^T * scale + bias, masked) v, with grouped
//! key/value heads and an optional log-sum-exp output, in BSND or BNSD layout.

use crate::bridge::ffi;
use crate::error::{OpsError, Result};
use crate::tensor::{Element, Implementation, Tensor, TensorView, cpu_threads};

/// Memory order of q, k, v and the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// [batch, seq, heads, head_dim] (diffusers before its transpose; aclnn "BSND").
    Bsnd,
    /// [batch, heads, seq, head_dim] (torch's scaled_dot_product_attention; "BNSD").
    #[default]
    Bnsd,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Bsnd => "BSND",
            Layout::Bnsd => "BNSD",
        }
    }

    /// (batch, heads, seq, dim) from a 4-d shape in this layout.
    fn split(self, [a, b, c, d]: [usize; 4]) -> (usize, usize, usize, usize) {
        match self {
            Layout::Bsnd => (a, c, b, d),
            Layout::Bnsd => (a, b, c, d),
        }
    }

    /// Element strides (batch, head, seq) of a contiguous tensor in this layout.
    fn strides(self, heads: usize, seq: usize, dim: usize) -> (usize, usize, usize) {
        match self {
            Layout::Bsnd => (seq * heads * dim, dim, heads * dim),
            Layout::Bnsd => (heads * seq * dim, seq * dim, dim),
        }
    }

    fn shape(self, batch: usize, heads: usize, seq: usize, dim: usize) -> Vec<usize> {
        match self {
            Layout::Bsnd => vec![batch, seq, heads, dim],
            Layout::Bnsd => vec![batch, heads, seq, dim],
        }
    }
}

/// Options beyond q, k and v. `bias` and `mask` broadcast (numpy rules, up to 4 dims) to
/// [batch, heads_q, seq_q, seq_kv] whatever the layout, as in torch.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttentionOptions<'a> {
    pub layout: Layout,
    /// Defaults to 1 / sqrt(head_dim).
    pub scale: Option<f32>,
    /// Added to the scaled scores.
    pub bias: Option<TensorView<'a, f32>>,
    /// `true` = attend (torch's boolean mask). A row with no key left yields zeros and
    /// a log-sum-exp of -inf.
    pub mask: Option<TensorView<'a, bool>>,
    /// Also return log-sum-exp of each row's scores, [batch, heads_q, seq_q], f32.
    pub return_lse: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttentionOutput<T> {
    /// Same layout as q: heads_q heads of head_dim.
    pub out: Tensor<T>,
    pub lse: Option<Tensor<f32>>,
}

/// Validated sizes of one attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    pub batch: usize,
    pub heads_q: usize,
    pub heads_kv: usize,
    pub seq_q: usize,
    pub seq_kv: usize,
    pub head_dim: usize,
}

impl AttentionShape {
    /// Checks q, k and v against each other; errors name the offending argument.
    pub fn of<T>(
        q: &TensorView<'_, T>,
        k: &TensorView<'_, T>,
        v: &TensorView<'_, T>,
        layout: Layout,
    ) -> Result<Self> {
        let (batch, heads_q, seq_q, head_dim) = layout.split(q.dims::<4>("q")?);
        let (kb, heads_kv, seq_kv, kd) = layout.split(k.dims::<4>("k")?);
        if v.shape() != k.shape() {
            return Err(OpsError::shape(
                "v",
                format!("shape {:?} differs from k's {:?}", v.shape(), k.shape()),
            ));
        }
        if kb != batch {
            return Err(OpsError::shape(
                "k",
                format!("batch {kb} differs from q's {batch}"),
            ));
        }
        if kd != head_dim {
            return Err(OpsError::shape(
                "k",
                format!("head_dim {kd} differs from q's {head_dim}"),
            ));
        }
        if heads_kv == 0 || heads_q % heads_kv != 0 {
            return Err(OpsError::shape(
                "k",
                format!(
                    "{heads_kv} key/value heads cannot serve {heads_q} query heads (need a divisor)"
                ),
            ));
        }
        Ok(Self {
            batch,
            heads_q,
            heads_kv,
            seq_q,
            seq_kv,
            head_dim,
        })
    }

    /// FLOPs of the two matrix products (the figure benchmarks divide by).
    pub fn flops(&self) -> f64 {
        4.0 * (self.batch * self.heads_q * self.seq_q * self.seq_kv * self.head_dim) as f64
    }
}

/// Element strides that broadcast a [.., b?, h?, q?, k?] tensor to [B, H, Sq, Skv].
fn broadcast_strides(arg: &'static str, shape: &[usize], full: [usize; 4]) -> Result<[usize; 4]> {
    if shape.len() > 4 {
        return Err(OpsError::shape(
            arg,
            format!("at most 4 dimensions, got shape {shape:?}"),
        ));
    }
    let mut dims = [1usize; 4];
    dims[4 - shape.len()..].copy_from_slice(shape);
    let mut strides = [0usize; 4];
    let mut step = 1;
    for i in (0..4).rev() {
        if dims[i] == full[i] && dims[i] != 1 {
            strides[i] = step;
        } else if dims[i] != 1 {
            return Err(OpsError::shape(
                arg,
                format!(
                    "shape {shape:?} does not broadcast to [batch, heads, seq_q, seq_kv] = {full:?}"
                ),
            ));
        }
        step *= dims[i];
    }
    Ok(strides)
}

/// Attention on the CPU (optimised C++ kernel).
pub fn attention<T: Element>(
    q: TensorView<'_, T>,
    k: TensorView<'_, T>,
    v: TensorView<'_, T>,
    opts: &AttentionOptions<'_>,
) -> Result<AttentionOutput<T>> {
    attention_with(q, k, v, opts, Implementation::Optimised)
}

/// Attention with a chosen implementation (the scalar reference is the tests' oracle).
pub fn attention_with<T: Element>(
    q: TensorView<'_, T>,
    k: TensorView<'_, T>,
    v: TensorView<'_, T>,
    opts: &AttentionOptions<'_>,
    imp: Implementation,
) -> Result<AttentionOutput<T>> {
    let s = AttentionShape::of(&q, &k, &v, opts.layout)?;
    let full = [s.batch, s.heads_q, s.seq_q, s.seq_kv];
    let layout = opts.layout;
    let (q_sb, q_sh, q_ss) = layout.strides(s.heads_q, s.seq_q, s.head_dim);
    let (k_sb, k_sh, k_ss) = layout.strides(s.heads_kv, s.seq_kv, s.head_dim);
    let mut dims = ffi::AttnDims {
        batch: s.batch,
        heads_q: s.heads_q,
        heads_kv: s.heads_kv,
        seq_q: s.seq_q,
        seq_kv: s.seq_kv,
        head_dim: s.head_dim,
        scale: opts
            .scale
            .unwrap_or_else(|| 1.0 / (s.head_dim.max(1) as f32).sqrt()),
        q_sb,
        q_sh,
        q_ss,
        k_sb,
        k_sh,
        k_ss,
        v_sb: k_sb,
        v_sh: k_sh,
        v_ss: k_ss,
        o_sb: q_sb,
        o_sh: q_sh,
        o_ss: q_ss,
        ..Default::default()
    };
    let bias: &[f32] = match opts.bias {
        Some(b) => {
            [dims.bias_sb, dims.bias_sh, dims.bias_sq, dims.bias_sk] =
                broadcast_strides("bias", b.shape(), full)?;
            b.data()
        }
        None => &[],
    };
    let mask: Vec<u8> = match opts.mask {
        Some(m) => {
            [dims.mask_sb, dims.mask_sh, dims.mask_sq, dims.mask_sk] =
                broadcast_strides("mask", m.shape(), full)?;
            m.data().iter().map(|&b| u8::from(b)).collect()
        }
        None => Vec::new(),
    };
    let (qf, kf, vf) = (T::widen(q.data()), T::widen(k.data()), T::widen(v.data()));
    let mut out = vec![0f32; q.data().len()];
    let mut lse = vec![
        0f32;
        if opts.return_lse {
            s.batch * s.heads_q * s.seq_q
        } else {
            0
        }
    ];
    if !out.is_empty() {
        ffi::attention(
            &dims,
            &qf,
            &kf,
            &vf,
            bias,
            &mask,
            &mut out,
            &mut lse,
            imp.is_reference(),
            imp.is_portable(),
            cpu_threads(),
        )?;
    }
    Ok(AttentionOutput {
        out: Tensor {
            data: T::narrow(out),
            shape: layout.shape(s.batch, s.heads_q, s.seq_q, s.head_dim),
        },
        lse: opts.return_lse.then(|| Tensor {
            data: lse,
            shape: vec![s.batch, s.heads_q, s.seq_q],
        }),
    })
}

/// Bytes of scratch the optimised kernel keeps per thread that has run it (the caller's
/// and each pool worker's), reused across calls.
pub fn attention_scratch_bytes(head_dim: usize) -> usize {
    ffi::attention_scratch_bytes(head_dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_strides_follow_numpy_rules() {
        let full = [2, 3, 4, 5];
        assert_eq!(
            broadcast_strides("bias", &[4, 5], full).unwrap(),
            [0, 0, 5, 1]
        );
        assert_eq!(
            broadcast_strides("bias", &[2, 1, 1, 5], full).unwrap(),
            [5, 0, 0, 1]
        );
        let err = broadcast_strides("mask", &[3, 5], full).unwrap_err();
        assert!(err.to_string().starts_with("mask: shape [3, 5]"), "{err}");
    }

    #[test]
    fn mismatched_heads_name_the_argument() {
        let q = vec![0f32; 6 * 4];
        let kv = vec![0f32; 4 * 4];
        let qv = TensorView::new(&q, &[1, 6, 1, 4]).unwrap();
        let kvv = TensorView::new(&kv, &[1, 4, 1, 4]).unwrap();
        let err = attention(qv, kvv, kvv, &AttentionOptions::default()).unwrap_err();
        assert!(matches!(err, OpsError::Shape { arg: "k", .. }), "{err}");
    }
}
