//! The fused kernels the encoders and the HiDream transformer call directly: RMSNorm,
//! adaptive LayerNorm, the gated units and rotary embeddings. ops-npu's CPU kernels on the
//! CPU (candle composites on CUDA, inside ops-npu), the matching aclnn op on the NPU.

use super::npu;
use crate::model_tensor::Tensor;
use candle_core::Result;
use ops_npu::candle_ops;
use ops_npu::glu::Gelu;
use ops_npu::npu::ops;
use ops_npu::{attention::Layout, rope::RopeMode};

/// `x / rms(x) * weight` over the last dimension (T5LayerNorm, LlamaRMSNorm; statistics
/// in f32 on every path).
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
    match x {
        Tensor::Candle(x) => Ok(Tensor::Candle(candle_ops::rms_norm(
            x,
            Some(npu::candle("rms_norm", weight)?),
            eps,
        )?)),
        Tensor::Npu(x) => {
            let [w] = npu::operands("rms_norm", x, [weight])?;
            let y = ops::rms_norm(x.context().stream(), x.tensor(), w.tensor(), eps).map(|r| r.0);
            npu::wrap(x, y)
        }
    }
}

/// `layer_norm(x) * (1 + scale) + shift` without affine weights; `scale`/`shift` are
/// `[batch, 1, dim]` or `[batch, dim]`.
pub fn ada_layer_norm(x: &Tensor, scale: &Tensor, shift: &Tensor, eps: f32) -> Result<Tensor> {
    match x {
        Tensor::Candle(x) => Ok(Tensor::Candle(candle_ops::ada_layer_norm(
            x,
            npu::candle("ada_layer_norm", scale)?,
            npu::candle("ada_layer_norm", shift)?,
            eps,
        )?)),
        Tensor::Npu(x) => {
            let [sc, sh] = npu::operands("ada_layer_norm", x, [scale, shift])?;
            let y = ops::ada_layer_norm(
                x.context().stream(),
                x.tensor(),
                sc.tensor(),
                sh.tensor(),
                eps,
            );
            npu::wrap(x, y)
        }
    }
}

/// `first_half * gelu(second_half)` over the last dimension.
pub fn geglu(x: &Tensor, gelu: Gelu) -> Result<Tensor> {
    match x {
        Tensor::Candle(x) => Ok(Tensor::Candle(candle_ops::geglu(x, gelu)?)),
        Tensor::Npu(x) => npu::wrap(x, ops::geglu(x.context().stream(), x.tensor(), gelu)),
    }
}

/// `silu(first_half) * second_half` over the last dimension.
pub fn swiglu(x: &Tensor) -> Result<Tensor> {
    match x {
        Tensor::Candle(x) => Ok(Tensor::Candle(candle_ops::swiglu(x)?)),
        Tensor::Npu(x) => npu::wrap(x, ops::swiglu(x.context().stream(), x.tensor())),
    }
}

/// Rotary position embedding of a 4-d `x` with `[seq, head_dim]` cos/sin tables.
pub fn rope(
    x: &Tensor,
    (cos, sin): (&Tensor, &Tensor),
    layout: Layout,
    mode: RopeMode,
) -> Result<Tensor> {
    match x {
        Tensor::Candle(x) => Ok(Tensor::Candle(candle_ops::rope(
            x,
            npu::candle("rope", cos)?,
            npu::candle("rope", sin)?,
            layout,
            mode,
        )?)),
        Tensor::Npu(x) => {
            let [c, s] = npu::operands("rope", x, [cos, sin])?;
            let y = ops::rope(
                x.context().stream(),
                x.tensor(),
                c.tensor(),
                s.tensor(),
                layout,
                mode,
            );
            npu::wrap(x, y)
        }
    }
}
