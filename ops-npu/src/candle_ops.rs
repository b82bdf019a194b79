//! The kernels on candle tensors. On CPU storage each call is a candle `CustomOp1/2/3`
//! running the C++ kernel on the tensors' own buffers (f32, f16, bf16); on any other
//! device (CUDA) it falls back to the candle composite in [`composite`], which is also
//! the naive baseline `ops-bench` measures against.
//!
//! Known gap: on CUDA, attention is that composite (matmul-softmax-matmul, O(seq^2)
//! memory). candle-flash-attn is not wired in behind a feature: its build script needs
//! nvcc, which this project's build machine lacks, so such a feature could be neither
//! compiled nor tested here.

use crate::attention::{self, AttentionOptions, Layout};
use crate::glu::{self, Gelu};
use crate::norm;
use crate::rope::{self, RopeMode};
use crate::tensor::{Element, Implementation, TensorView};
use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout as CLayout, Shape, Tensor, WithDType,
};

mod candle_attention;
pub mod composite;
pub mod conv;
pub mod matmul;
mod storage;
pub mod tome;

pub use candle_attention::CandleAttention;
pub use conv::{Conv2dParams, conv2d, conv2d_winograd, winograd_weight};
use storage::contiguous_view;

/// Which kernel a custom op runs, with its scalar parameters. Optional tensor inputs are
/// recorded as flags and passed positionally after x.
#[derive(Debug, Clone)]
enum Kernel {
    Attention {
        layout: Layout,
        scale: Option<f32>,
        /// Host copies of bias/mask (a custom op takes at most three tensors).
        bias: Option<(Vec<f32>, Vec<usize>)>,
        mask: Option<(Vec<bool>, Vec<usize>)>,
    },
    RmsNorm {
        eps: f32,
        weight: bool,
    },
    LayerNorm {
        eps: f32,
        weight: bool,
        bias: bool,
    },
    AdaLayerNorm {
        eps: f32,
    },
    GroupNorm {
        groups: usize,
        eps: f32,
        silu: bool,
        gamma: bool,
        beta: bool,
    },
    Geglu(Gelu),
    Swiglu,
    Rope {
        layout: Layout,
        mode: RopeMode,
    },
}

#[derive(Debug, Clone)]
struct Op(Kernel);

fn err(e: crate::OpsError) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

impl Op {
    fn run<T: Element + WithDType>(
        &self,
        inputs: &[(&CpuStorage, &CLayout)],
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let views: Vec<TensorView<'_, T>> = inputs
            .iter()
            // A custom op has at most three inputs: x, then the optional ones in order.
            .zip(["x", "input 2", "input 3"])
            .map(|((s, l), arg)| contiguous_view(s, l, "ops-npu", arg))
            .collect::<candle_core::Result<_>>()?;
        let opt = Implementation::Optimised;
        let at = |i: usize| views.get(i).copied();
        let x = views[0];
        let out = match &self.0 {
            Kernel::Attention {
                layout,
                scale,
                bias,
                mask,
            } => {
                let opts = AttentionOptions {
                    layout: *layout,
                    scale: *scale,
                    bias: bias
                        .as_ref()
                        .map(|(d, s)| TensorView::new(d, s))
                        .transpose()
                        .map_err(err)?,
                    mask: mask
                        .as_ref()
                        .map(|(d, s)| TensorView::new(d, s))
                        .transpose()
                        .map_err(err)?,
                    return_lse: false,
                };
                attention::attention(x, views[1], views[2], &opts).map(|o| o.out)
            }
            Kernel::RmsNorm { eps, weight } => {
                norm::rms_norm(x, weight.then(|| at(1)).flatten(), *eps, opt)
            }
            Kernel::LayerNorm { eps, weight, bias } => {
                let w = weight.then(|| at(1)).flatten();
                let b = bias.then(|| at(1 + usize::from(*weight))).flatten();
                norm::layer_norm(x, w, b, *eps, opt)
            }
            Kernel::AdaLayerNorm { eps } => norm::ada_layer_norm(x, views[1], views[2], *eps, opt),
            Kernel::GroupNorm {
                groups,
                eps,
                silu,
                gamma,
                beta,
            } => {
                let g = gamma.then(|| at(1)).flatten();
                let b = beta.then(|| at(1 + usize::from(*gamma))).flatten();
                norm::group_norm(x, *groups, g, b, *eps, *silu, opt)
            }
            Kernel::Geglu(gelu) => glu::geglu(x, *gelu, opt),
            Kernel::Swiglu => glu::swiglu(x, opt),
            Kernel::Rope { layout, mode } => rope::rope(x, views[1], views[2], *layout, *mode, opt),
        }
        .map_err(err)?;
        Ok((
            T::to_cpu_storage_owned(out.data),
            Shape::from_dims(&out.shape),
        ))
    }

    fn dispatch(
        &self,
        inputs: &[(&CpuStorage, &CLayout)],
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        match inputs[0].0 {
            CpuStorage::F32(_) => self.run::<f32>(inputs),
            CpuStorage::F16(_) => self.run::<half::f16>(inputs),
            CpuStorage::BF16(_) => self.run::<half::bf16>(inputs),
            other => candle_core::bail!("ops-npu: {:?} is not f32, f16 or bf16", other.dtype()),
        }
    }
}

impl CustomOp1 for Op {
    fn name(&self) -> &'static str {
        "ops-npu"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &CLayout) -> candle_core::Result<(CpuStorage, Shape)> {
        self.dispatch(&[(s, l)])
    }
}

impl CustomOp2 for Op {
    fn name(&self) -> &'static str {
        "ops-npu"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &CLayout,
        s2: &CpuStorage,
        l2: &CLayout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.dispatch(&[(s1, l1), (s2, l2)])
    }
}

impl CustomOp3 for Op {
    fn name(&self) -> &'static str {
        "ops-npu"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &CLayout,
        s2: &CpuStorage,
        l2: &CLayout,
        s3: &CpuStorage,
        l3: &CLayout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.dispatch(&[(s1, l1), (s2, l2), (s3, l3)])
    }
}

/// Applies the op to x and the present optional inputs (1 to 3 tensors in all).
fn apply(kernel: Kernel, x: &Tensor, rest: &[Option<&Tensor>]) -> candle_core::Result<Tensor> {
    let op = Op(kernel);
    let rest: Vec<Tensor> = rest
        .iter()
        .flatten()
        .map(|t| t.contiguous())
        .collect::<candle_core::Result<_>>()?;
    let x = x.contiguous()?;
    match rest.as_slice() {
        [] => x.apply_op1_no_bwd(&op),
        [a] => x.apply_op2_no_bwd(a, &op),
        [a, b] => x.apply_op3_no_bwd(a, b, &op),
        _ => candle_core::bail!("ops-npu: at most three tensor inputs"),
    }
}

/// Fused attention on CPU; the matmul-softmax-matmul composite elsewhere.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    opts: &CandleAttention<'_>,
) -> candle_core::Result<Tensor> {
    if !q.device().is_cpu() {
        return composite::attention(q, k, v, opts);
    }
    let bias = match opts.bias {
        Some(b) => Some((
            b.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
            b.dims().to_vec(),
        )),
        None => None,
    };
    let mask = match opts.mask {
        Some(m) => Some((
            m.to_dtype(DType::U8)?
                .flatten_all()?
                .to_vec1::<u8>()?
                .into_iter()
                .map(|b| b != 0)
                .collect(),
            m.dims().to_vec(),
        )),
        None => None,
    };
    let kernel = Kernel::Attention {
        layout: opts.layout,
        scale: opts.scale,
        bias,
        mask,
    };
    apply(kernel, q, &[Some(k), Some(v)])
}

pub fn rms_norm(x: &Tensor, weight: Option<&Tensor>, eps: f32) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::rms_norm(x, weight, eps);
    }
    apply(
        Kernel::RmsNorm {
            eps,
            weight: weight.is_some(),
        },
        x,
        &[weight],
    )
}

pub fn layer_norm(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f32,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::layer_norm(x, weight, bias, eps);
    }
    let kernel = Kernel::LayerNorm {
        eps,
        weight: weight.is_some(),
        bias: bias.is_some(),
    };
    apply(kernel, x, &[weight, bias])
}

pub fn ada_layer_norm(
    x: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    eps: f32,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::ada_layer_norm(x, scale, shift, eps);
    }
    apply(Kernel::AdaLayerNorm { eps }, x, &[Some(scale), Some(shift)])
}

pub fn group_norm(
    x: &Tensor,
    groups: usize,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    eps: f32,
    silu: bool,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::group_norm(x, groups, gamma, beta, eps, silu);
    }
    let kernel = Kernel::GroupNorm {
        groups,
        eps,
        silu,
        gamma: gamma.is_some(),
        beta: beta.is_some(),
    };
    apply(kernel, x, &[gamma, beta])
}

pub fn geglu(x: &Tensor, gelu: Gelu) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::geglu(x, gelu);
    }
    apply(Kernel::Geglu(gelu), x, &[])
}

pub fn swiglu(x: &Tensor) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::swiglu(x);
    }
    apply(Kernel::Swiglu, x, &[])
}

pub fn rope(
    x: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    layout: Layout,
    mode: RopeMode,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::rope(x, cos, sin, layout, mode);
    }
    apply(Kernel::Rope { layout, mode }, x, &[Some(cos), Some(sin)])
}
