//! [`crate::conv`] on candle tensors. f32 on the CPU runs the whole convolution (im2col
//! or Winograd, the GEMM and the bias) in one custom op on the tensors' own buffers. f16
//! and bf16 on the CPU keep the im2col layout but multiply with candle's GEMM, because the
//! crate's GEMM is f32 only. Other devices take candle's conv2d ([`composite::conv2d`]).

use super::composite;
use super::err;
use super::matmul::matmul;
use super::storage::{contiguous_slice, contiguous_view};
use crate::conv::{self, Filter, im2col::im2col};
use crate::tensor::TensorView;
use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};

pub use crate::conv::Conv2dParams;

/// `x` `[b, c_in, h, w]` convolved with `weight` `[c_out, c_in, k, k]` (torch's layout),
/// plus `bias` `[c_out]`.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return composite::conv2d(x, weight, bias, params);
    }
    let f32_only = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && bias.is_none_or(|b| b.dtype() == DType::F32);
    if f32_only {
        return apply(Conv::new(*params, false), x, weight, bias);
    }
    im2col_candle_gemm(x, weight, bias, params)
}

/// The 3x3 weight `[c_out, c_in, 3, 3]` transformed for [`conv2d_winograd`],
/// `[16, c_out, c_in]` f32 (16/9 the size of the original): made once, at load.
pub fn winograd_weight(weight: &Tensor) -> Result<Tensor> {
    let dims = weight.dims().to_vec();
    let data = weight
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let view = TensorView::new(&data, &dims).map_err(err)?;
    let u = conv::winograd::transform_weight(view).map_err(err)?;
    Tensor::from_vec(u.data, u.shape, weight.device())
}

/// The 3x3, stride 1, padding 1 convolution of f32 `x` on the CPU by Winograd, with the
/// weight from [`winograd_weight`]; any other dtype or device is an error.
pub fn conv2d_winograd(x: &Tensor, transformed: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let params = Conv2dParams {
        kernel_size: 3,
        stride: 1,
        padding: 1,
    };
    apply(Conv::new(params, true), x, transformed, bias)
}

fn apply(op: Conv, x: &Tensor, filter: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let (x, filter) = (x.contiguous()?, filter.contiguous()?);
    match bias {
        Some(bias) => x.apply_op3_no_bwd(&filter, &bias.contiguous()?, &op),
        None => x.apply_op2_no_bwd(&filter, &op),
    }
}

/// f16 and bf16 on the CPU: the im2col (or, for 1x1, the input itself) times the weight
/// by candle's GEMM, the batch folded into one product as in the f32 path.
fn im2col_candle_gemm(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor> {
    let (b, c_in, h, w) = x.dims4()?;
    let c_out = weight.dim(0)?;
    let (oh, ow) = params.output_size(h, w).map_err(err)?;
    let weight = weight.reshape((c_out, c_in * params.kernel_size * params.kernel_size))?;
    let out = if params.is_pointwise() {
        let x = x.reshape((b, c_in, h * w))?;
        if b == 1 {
            matmul(&weight, &x.squeeze(0)?, None)?.unsqueeze(0)?
        } else {
            matmul(&weight, &x, None)?
        }
    } else {
        let columns = x.contiguous()?.apply_op1_no_bwd(&Im2Col(*params))?;
        let folded = matmul(&weight, &columns, None)?;
        if b == 1 {
            folded.unsqueeze(0)?
        } else {
            folded
                .reshape((c_out, b, oh * ow))?
                .transpose(0, 1)?
                .contiguous()?
        }
    };
    let out = match bias {
        Some(bias) => out.broadcast_add(&bias.reshape((1, c_out, 1))?)?,
        None => out,
    };
    out.reshape((b, c_out, oh, ow))
}

/// x, filter and optionally the bias -> the convolution ([`conv::conv2d`]).
#[derive(Debug, Clone, Copy)]
struct Conv {
    params: Conv2dParams,
    /// The filter is a Winograd transform rather than torch's layout.
    winograd: bool,
}

impl Conv {
    fn new(params: Conv2dParams, winograd: bool) -> Self {
        Self { params, winograd }
    }

    fn run(
        &self,
        x: (&CpuStorage, &Layout),
        filter: (&CpuStorage, &Layout),
        bias: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_view(x.0, x.1, "conv2d", "x")?;
        let filter = contiguous_view(filter.0, filter.1, "conv2d", "weight")?;
        let filter = if self.winograd {
            Filter::Winograd(filter)
        } else {
            Filter::Direct(filter)
        };
        let bias = bias
            .map(|(s, l)| contiguous_slice(s, l, "conv2d", "bias"))
            .transpose()?;
        let y = conv::conv2d(x, filter, bias, &self.params).map_err(err)?;
        Ok((CpuStorage::F32(y.data), Shape::from_dims(&y.shape)))
    }
}

impl CustomOp2 for Conv {
    fn name(&self) -> &'static str {
        "ops-npu-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.run((s1, l1), (s2, l2), None)
    }
}

impl CustomOp3 for Conv {
    fn name(&self) -> &'static str {
        "ops-npu-conv2d-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.run((s1, l1), (s2, l2), Some((s3, l3)))
    }
}

/// `[b, c, h, w]` -> `[c * k * k, b * oh * ow]` ([`im2col`]) for the half types.
#[derive(Debug, Clone, Copy)]
struct Im2Col(Conv2dParams);

impl Im2Col {
    fn run<T: WithDType + Default>(
        &self,
        s: &CpuStorage,
        l: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_view::<T>(s, l, "im2col", "x")?;
        let columns = im2col(x, &self.0).map_err(err)?;
        Ok((
            T::to_cpu_storage_owned(columns.data),
            Shape::from_dims(&columns.shape),
        ))
    }
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "ops-npu-im2col"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        match s {
            CpuStorage::F32(_) => self.run::<f32>(s, l),
            CpuStorage::F16(_) => self.run::<half::f16>(s, l),
            CpuStorage::BF16(_) => self.run::<half::bf16>(s, l),
            other => candle_core::bail!("im2col: {:?} is not f32, f16 or bf16", other.dtype()),
        }
    }
}
