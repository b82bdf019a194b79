//! The smoke subset: one small call of each kind of kernel a diffusion model leans on
//! (elementwise, matmul, softmax, the norms, convolution, attention), each compared with
//! the same maths in candle on the CPU. Shapes are small so the whole run takes well
//! under a second; tolerances are the op suite's (ops-npu/tests/it/npu_ops).

use super::report::{CaseReport, Outcome, Tolerance, compare, unit_roundoff};
use super::transfer::{CaseError, CaseResult, Input, download, rounded, upload};
use candle_core::{D, Tensor};
use device::{DType, TorchRng};
use ops_npu::OpsError;
use ops_npu::attention::Layout;
use ops_npu::npu::ops::{self, Conv2d, GroupNormSiluPath, NpuAttentionOptions};
use ops_npu::npu::{AttentionRoute, NpuRuntime, NpuStream};

/// What a case needs: the opened runtime, its stream, the dtype, and the inputs' source.
pub struct Ctx<'a> {
    pub rt: &'a NpuRuntime,
    pub s: &'a NpuStream,
    pub dtype: DType,
    rng: TorchRng,
}

impl<'a> Ctx<'a> {
    pub fn new(rt: &'a NpuRuntime, s: &'a NpuStream, dtype: DType) -> Self {
        Self {
            rt,
            s,
            dtype,
            rng: TorchRng::new(0),
        }
    }

    fn input(&mut self, shape: &[usize]) -> CaseResult<Input> {
        let values = self.rng.randn_f32(shape.iter().product());
        upload(self.s, values, shape, self.dtype)
    }

    fn tolerance(&self, units: f32, floor: f32) -> Tolerance {
        Tolerance {
            unit: unit_roundoff(self.dtype),
            units,
            floor,
        }
    }

    /// Elementwise maths: one rounding on each side.
    fn elementwise(&self) -> Tolerance {
        self.tolerance(2.0, 1.0)
    }

    /// exp and division inside: f32 libraries differ by a few ulps.
    fn transcendental(&self) -> Tolerance {
        self.tolerance(if self.dtype == DType::F32 { 16.0 } else { 2.0 }, 1.0)
    }

    /// Reductions over a row.
    fn row(&self) -> Tolerance {
        self.tolerance(if self.dtype == DType::F32 { 64.0 } else { 2.0 }, 1.0)
    }

    /// A `terms`-term dot product. f32 on a SoC whose cube unit cannot keep it is computed
    /// in fp16 there (cubeMathType 1), so each product carries fp16's rounding.
    fn dot(&self, terms: usize, downcast_f32: bool) -> Tolerance {
        let floor = (terms as f32).sqrt();
        match self.dtype {
            DType::F32 if downcast_f32 => Tolerance {
                unit: unit_roundoff(DType::F16),
                units: 2.0 * terms as f32,
                floor,
            },
            DType::F32 => self.tolerance(4.0 * terms as f32, floor),
            _ => self.tolerance(2.0, floor),
        }
    }

    fn output(&self, t: &ops_npu::npu::NpuTensor) -> CaseResult<Vec<f32>> {
        download(self.s, t, self.dtype)
    }

    fn reference(&self, t: &Tensor) -> CaseResult<Vec<f32>> {
        rounded(t, self.dtype)
    }
}

/// A case that ran: what the device computed, the CPU's answer and how close they must be.
pub struct Ran {
    pub kernel: String,
    pub got: Vec<f32>,
    pub want: Vec<f32>,
    pub tolerance: Tolerance,
}

struct Case {
    name: &'static str,
    /// The kernel named when the case does not get as far as saying which one ran.
    kernel: &'static str,
    run: fn(&mut Ctx<'_>) -> CaseResult<Ran>,
}

const CASES: [Case; 8] = [
    Case {
        name: "add",
        kernel: "aclnnAdd",
        run: add,
    },
    Case {
        name: "mul_scalar",
        kernel: "aclnnMuls",
        run: mul_scalar,
    },
    Case {
        name: "batch_matmul",
        kernel: "aclnnBatchMatMul",
        run: batch_matmul,
    },
    Case {
        name: "softmax",
        kernel: "aclnnSoftmax",
        run: softmax,
    },
    Case {
        name: "layer_norm",
        kernel: "aclnnLayerNorm",
        run: layer_norm,
    },
    Case {
        name: "group_norm_silu",
        kernel: "aclnnGroupNormSilu",
        run: group_norm_silu,
    },
    Case {
        name: "conv2d",
        kernel: "aclnnConvolution",
        run: conv2d,
    },
    Case {
        name: "attention",
        kernel: "flash attention",
        run: attention,
    },
];

/// Runs every case; a refusal or failure of one does not stop the others.
pub fn run_all(cx: &mut Ctx<'_>) -> Vec<CaseReport> {
    CASES
        .iter()
        .map(|case| {
            let (kernel, outcome) = match (case.run)(cx) {
                Ok(ran) => (ran.kernel, compare(&ran.got, &ran.want, ran.tolerance)),
                Err(e) => (case.kernel.to_string(), outcome_of(e)),
            };
            CaseReport {
                name: case.name.to_string(),
                kernel,
                outcome,
            }
        })
        .collect()
}

fn outcome_of(e: CaseError) -> Outcome {
    match e {
        // ops-npu refuses before launch, from the rules table and the SoC table.
        CaseError::Npu(OpsError::Unsupported(reason)) => Outcome::Refused { reason },
        CaseError::Npu(e) => Outcome::Failed {
            reason: e.to_string(),
        },
        CaseError::Cpu(e) => Outcome::Failed {
            reason: format!("the CPU reference failed: {e}"),
        },
    }
}

fn ran(kernel: &str, got: Vec<f32>, want: Vec<f32>, tolerance: Tolerance) -> Ran {
    Ran {
        kernel: kernel.to_string(),
        got,
        want,
        tolerance,
    }
}

fn add(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    // A broadcast operand, as a bias add has.
    let (a, b) = (cx.input(&[4, 33])?, cx.input(&[33])?);
    let got = cx.output(&ops::add(cx.s, &a.npu, &b.npu)?)?;
    let want = cx.reference(&a.cpu.broadcast_add(&b.cpu)?)?;
    Ok(ran("aclnnAdd", got, want, cx.elementwise()))
}

fn mul_scalar(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    let a = cx.input(&[4, 33])?;
    let got = cx.output(&ops::mul_scalar(cx.s, &a.npu, 0.37)?)?;
    let want = cx.reference(&a.cpu.affine(0.37, 0.0)?)?;
    Ok(ran("aclnnMuls", got, want, cx.elementwise()))
}

fn batch_matmul(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    let (a, b) = (cx.input(&[2, 5, 16])?, cx.input(&[2, 16, 7])?);
    let got = cx.output(&ops::batch_matmul(cx.s, &a.npu, &b.npu)?)?;
    let want = cx.reference(&a.cpu.matmul(&b.cpu)?)?;
    let downcast = cx.rt.traits().fp32_matmul_needs_downcast;
    Ok(ran("aclnnBatchMatMul", got, want, cx.dot(16, downcast)))
}

fn softmax_last(x: &Tensor) -> CaseResult<Tensor> {
    let e = x.broadcast_sub(&x.max_keepdim(D::Minus1)?)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

fn softmax(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    let x = cx.input(&[4, 24])?;
    let got = cx.output(&ops::softmax(cx.s, &x.npu, -1)?)?;
    let want = cx.reference(&softmax_last(&x.cpu)?)?;
    Ok(ran("aclnnSoftmax", got, want, cx.transcendental()))
}

/// (x - mean) / sqrt(var + eps) over the last dimension.
fn normalise(x: &Tensor, eps: f64) -> CaseResult<Tensor> {
    let centred = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(centred.broadcast_div(&(var + eps)?.sqrt()?)?)
}

fn layer_norm(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    let (x, w, b) = (cx.input(&[4, 32])?, cx.input(&[32])?, cx.input(&[32])?);
    let got = cx.output(&ops::layer_norm(
        cx.s,
        &x.npu,
        Some(&w.npu),
        Some(&b.npu),
        1e-5,
    )?)?;
    let want = normalise(&x.cpu, 1e-5)?
        .broadcast_mul(&w.cpu)?
        .broadcast_add(&b.cpu)?;
    Ok(ran("aclnnLayerNorm", got, cx.reference(&want)?, cx.row()))
}

fn group_norm_silu(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    // Four groups of two channels over 3x5 pixels, as in a ResNet block.
    let (x, g, b) = (cx.input(&[2, 8, 3, 5])?, cx.input(&[8])?, cx.input(&[8])?);
    let (out, path) = ops::group_norm_silu(cx.s, &x.npu, 4, &g.npu, &b.npu, 1e-5)?;
    let got = cx.output(&out)?;
    let normed = normalise(&x.cpu.reshape((2, 4, 30))?, 1e-5)?
        .reshape((2, 8, 3, 5))?
        .broadcast_mul(&g.cpu.reshape((1, 8, 1, 1))?)?
        .broadcast_add(&b.cpu.reshape((1, 8, 1, 1))?)?;
    let silu = (&normed * candle_nn::ops::sigmoid(&normed)?)?;
    let kernel = match path {
        GroupNormSiluPath::Fused => "aclnnGroupNormSilu",
        GroupNormSiluPath::Separate => "aclnnGroupNorm + aclnnSilu",
    };
    Ok(ran(kernel, got, cx.reference(&silu)?, cx.row()))
}

fn conv2d(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    let (x, w, b) = (
        cx.input(&[1, 4, 8, 8])?,
        cx.input(&[6, 4, 3, 3])?,
        cx.input(&[6])?,
    );
    let p = Conv2d {
        padding: 1,
        ..Conv2d::default()
    };
    let got = cx.output(&ops::conv2d(cx.s, &x.npu, &w.npu, Some(&b.npu), p)?)?;
    let want = x
        .cpu
        .conv2d(&w.cpu, 1, 1, 1, 1)?
        .broadcast_add(&b.cpu.reshape((1, 6, 1, 1))?)?;
    // aclnnConvolution's doc allows no KEEP_DTYPE for f32: it computes in HFLOAT32 on
    // Atlas A2/A3 and in fp16 elsewhere, 11 significant bits either way.
    let tolerance = cx.dot(4 * 3 * 3, true);
    Ok(ran(
        "aclnnConvolution",
        got,
        cx.reference(&want)?,
        tolerance,
    ))
}

fn route_kernel(route: AttentionRoute) -> &'static str {
    match route {
        AttentionRoute::FusedInferV2 => "aclnnFusedInferAttentionScoreV2",
        AttentionRoute::PromptFlash => "aclnnPromptFlashAttention",
        AttentionRoute::FlashScore => "aclnnFlashAttentionScore",
        AttentionRoute::MatmulSoftmaxF32 => "aclnnMatmul + aclnnSoftmax (f32)",
    }
}

fn attention(cx: &mut Ctx<'_>) -> CaseResult<Ran> {
    // BNSD with a head dim of 16: the fused kernels want a multiple of 16.
    let shape = [1, 2, 8, 16];
    let (q, k, v) = (cx.input(&shape)?, cx.input(&shape)?, cx.input(&shape)?);
    let opts = NpuAttentionOptions {
        layout: Layout::Bnsd,
        ..NpuAttentionOptions::default()
    };
    let (out, _, route) = ops::attention(cx.rt, cx.s, &q.npu, &k.npu, &v.npu, &opts)?;
    let got = cx.output(&out)?;
    let scores = (q.cpu.matmul(&k.cpu.t()?.contiguous()?)? * 0.25)?;
    let want = softmax_last(&scores)?.matmul(&v.cpu)?;
    let units = if cx.dtype == DType::F32 { 64.0 } else { 4.0 };
    let tolerance = cx.tolerance(units, 1.0);
    Ok(ran(
        route_kernel(route),
        got,
        cx.reference(&want)?,
        tolerance,
    ))
}
