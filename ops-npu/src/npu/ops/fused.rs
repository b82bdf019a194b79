//! The kernels on NPU tensors. Each call validates shapes on the host, allocates its
//! outputs and launches one aclnn op on `stream` (asynchronously: download syncs).

use crate::attention::{AttentionOptions, Layout};
use crate::bridge::ffi;
use crate::error::backend;
use crate::error::{OpsError, Result};
use crate::glu::Gelu;
use crate::npu::bytes::Bytes;
use crate::npu::dtype::NpuDType;
use crate::npu::tensor::absent;
use crate::npu::{AttentionRoute, NpuRuntime, NpuStream, NpuTensor};
use crate::rope::RopeMode;
use crate::tensor::{Element, TensorView};

fn last_dim(arg: &'static str, t: &NpuTensor) -> Result<(usize, usize)> {
    match t.shape().split_last() {
        Some((&d, rest)) if d > 0 => Ok((rest.iter().product(), d)),
        _ => Err(OpsError::shape(
            arg,
            format!("needs a last dimension, got {:?}", t.shape()),
        )),
    }
}

fn check_same_dtype(arg: &'static str, a: &NpuTensor, b: &NpuTensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(OpsError::shape(
            arg,
            format!("dtype {} differs from x's {}", b.dtype(), a.dtype()),
        ));
    }
    Ok(())
}

fn check_vector(arg: &'static str, x: &NpuTensor, t: Option<&NpuTensor>, len: usize) -> Result<()> {
    if let Some(t) = t {
        if t.shape() != [len] {
            return Err(OpsError::shape(
                arg,
                format!("expected shape [{len}], got {:?}", t.shape()),
            ));
        }
        check_same_dtype(arg, x, t)?;
    }
    Ok(())
}

/// The inputs as dense tensors (a view is copied on `s`): several of these kernels' docs
/// require contiguous inputs. Called after the checks, so a refused call launches nothing.
fn dense<const N: usize>(s: &NpuStream, ts: [&NpuTensor; N]) -> Result<[NpuTensor; N]> {
    let mut out = Vec::with_capacity(N);
    for t in ts {
        out.push(t.contiguous(s)?);
    }
    out.try_into()
        .map_err(|_| OpsError::Backend("dense: input count changed".into()))
}

/// Notes a launch of the fused entry points (the general ops note theirs in OpCall).
fn record(s: &NpuStream, tensors: &[Option<&NpuTensor>]) {
    let blocks: Vec<_> = tensors.iter().flatten().map(|t| t.block()).collect();
    s.launched(&blocks);
}

fn opt(t: Option<&NpuTensor>) -> ffi::NpuTensorDesc {
    t.map_or_else(absent, NpuTensor::desc)
}

/// aclnnRmsNorm over the last dimension; returns (y, rstd f32 [.., 1]).
pub fn rms_norm(
    s: &NpuStream,
    x: &NpuTensor,
    gamma: &NpuTensor,
    eps: f32,
) -> Result<(NpuTensor, NpuTensor)> {
    let (_, dim) = last_dim("x", x)?;
    crate::npu::rules::check("aclnnRmsNorm", "x", x.dtype())?;
    check_vector("gamma", x, Some(gamma), dim)?;
    let [x, gamma] = dense(s, [x, gamma])?;
    let (x, gamma) = (&x, &gamma);
    let y = NpuTensor::empty(s, x.shape(), x.dtype())?;
    let mut rshape = x.shape().to_vec();
    if let Some(last) = rshape.last_mut() {
        *last = 1;
    }
    let rstd = NpuTensor::empty(s, &rshape, NpuDType::F32)?;
    record(s, &[Some(x), Some(gamma), Some(&y), Some(&rstd)]);
    ffi::npu_rms_norm(
        s.raw(),
        &x.desc(),
        &gamma.desc(),
        f64::from(eps),
        &y.desc(),
        &rstd.desc(),
    )
    .map_err(backend)?;
    Ok((y, rstd))
}

/// aclnnLayerNorm over the last dimension.
pub fn layer_norm(
    s: &NpuStream,
    x: &NpuTensor,
    weight: Option<&NpuTensor>,
    bias: Option<&NpuTensor>,
    eps: f32,
) -> Result<NpuTensor> {
    let (_, dim) = last_dim("x", x)?;
    crate::npu::rules::check("aclnnLayerNorm", "x", x.dtype())?;
    check_vector("weight", x, weight, dim)?;
    check_vector("bias", x, bias, dim)?;
    let x = &x.contiguous(s)?;
    let (weight, bias) = (
        weight.map(|t| t.contiguous(s)).transpose()?,
        bias.map(|t| t.contiguous(s)).transpose()?,
    );
    let (weight, bias) = (weight.as_ref(), bias.as_ref());
    let out = NpuTensor::empty(s, x.shape(), x.dtype())?;
    record(s, &[Some(x), weight, bias, Some(&out)]);
    ffi::npu_layer_norm(
        s.raw(),
        &x.desc(),
        &[dim as i64],
        &opt(weight),
        &opt(bias),
        f64::from(eps),
        &out.desc(),
    )
    .map_err(backend)?;
    Ok(out)
}

/// aclnnAdaLayerNorm: x [batch, seq, dim], scale/shift [batch, 1, dim] (or [batch, dim]).
pub fn ada_layer_norm(
    s: &NpuStream,
    x: &NpuTensor,
    scale: &NpuTensor,
    shift: &NpuTensor,
    eps: f32,
) -> Result<NpuTensor> {
    let &[b, _, d] = x.shape() else {
        return Err(OpsError::shape(
            "x",
            format!("expected [batch, seq, dim], got {:?}", x.shape()),
        ));
    };
    crate::npu::rules::check("aclnnAdaLayerNorm", "x", x.dtype())?;
    for (arg, t) in [("scale", scale), ("shift", shift)] {
        if t.shape() != [b, d] && t.shape() != [b, 1, d] {
            return Err(OpsError::shape(
                arg,
                format!("expected [{b}, 1, {d}], got {:?}", t.shape()),
            ));
        }
        check_same_dtype(arg, x, t)?;
    }
    let [x, scale, shift] = dense(s, [x, scale, shift])?;
    let (x, scale, shift) = (&x, &scale, &shift);
    let out = NpuTensor::empty(s, x.shape(), x.dtype())?;
    let m = [b, 1, d];
    record(s, &[Some(x), Some(scale), Some(shift), Some(&out)]);
    ffi::npu_ada_layer_norm(
        s.raw(),
        &x.desc(),
        &scale.desc_as(&m),
        &shift.desc_as(&m),
        f64::from(eps),
        &out.desc(),
    )
    .map_err(backend)?;
    Ok(out)
}

/// The outputs of a GroupNorm(Silu) launch (out like x; mean and rstd [n, groups] in x's
/// dtype, as both ops' docs give them), noted on the stream with the inputs.
fn group_norm_launch_outputs(
    s: &NpuStream,
    x: &NpuTensor,
    n: usize,
    groups: usize,
    gamma: &NpuTensor,
    beta: &NpuTensor,
) -> Result<(NpuTensor, NpuTensor, NpuTensor)> {
    let out = NpuTensor::empty(s, x.shape(), x.dtype())?;
    let mean = NpuTensor::empty(s, &[n, groups], x.dtype())?;
    let rstd = NpuTensor::empty(s, &[n, groups], x.dtype())?;
    record(
        s,
        &[
            Some(x),
            Some(gamma),
            Some(beta),
            Some(&out),
            Some(&mean),
            Some(&rstd),
        ],
    );
    Ok((out, mean, rstd))
}

/// (n, c, hw) of a GroupNorm input, with gamma/beta and groups checked against it.
fn group_norm_dims(
    x: &NpuTensor,
    groups: usize,
    gamma: &NpuTensor,
    beta: &NpuTensor,
) -> Result<(usize, usize, usize)> {
    let (n, c, hw) = match x.shape() {
        [n, c, rest @ ..] => (*n, *c, rest.iter().product::<usize>()),
        _ => {
            return Err(OpsError::shape(
                "x",
                format!("needs [n, c, ...], got {:?}", x.shape()),
            ));
        }
    };
    if groups == 0 || c % groups != 0 {
        return Err(OpsError::shape(
            "groups",
            format!("{c} channels do not split into {groups} groups"),
        ));
    }
    check_vector("gamma", x, Some(gamma), c)?;
    check_vector("beta", x, Some(beta), c)?;
    Ok((n, c, hw))
}

/// aclnnGroupNorm on x [n, c, ...].
pub fn group_norm(
    s: &NpuStream,
    x: &NpuTensor,
    groups: usize,
    gamma: &NpuTensor,
    beta: &NpuTensor,
    eps: f32,
) -> Result<NpuTensor> {
    let (n, c, hw) = group_norm_dims(x, groups, gamma, beta)?;
    crate::npu::rules::check("aclnnGroupNorm", "x", x.dtype())?;
    let [x, gamma, beta] = dense(s, [x, gamma, beta])?;
    let (x, gamma, beta) = (&x, &gamma, &beta);
    let (out, mean, rstd) = group_norm_launch_outputs(s, x, n, groups, gamma, beta)?;
    ffi::npu_group_norm(
        s.raw(),
        &x.desc(),
        &gamma.desc(),
        &beta.desc(),
        n as i64,
        c as i64,
        hw as i64,
        groups as i64,
        f64::from(eps),
        &out.desc(),
        &mean.desc(),
        &rstd.desc(),
    )
    .map_err(backend)?;
    Ok(out)
}

/// How [`group_norm_silu`] ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupNormSiluPath {
    /// aclnnGroupNormSilu: one kernel, one pass over memory.
    Fused,
    /// aclnnGroupNorm then aclnnSilu: a CANN without the fused op, or one whose fused op
    /// refuses this SoC or input (the CANN docs list no 910A support, for one).
    Separate,
}

/// SiLU(GroupNorm(x)) on x [n, c, ...], as in every ResNet block of the SD UNet: the fused
/// aclnnGroupNormSilu where the loaded CANN has it and accepts the call, else GroupNorm
/// followed by aclnnSilu.
pub fn group_norm_silu(
    s: &NpuStream,
    x: &NpuTensor,
    groups: usize,
    gamma: &NpuTensor,
    beta: &NpuTensor,
    eps: f32,
) -> Result<(NpuTensor, GroupNormSiluPath)> {
    let (n, _, _) = group_norm_dims(x, groups, gamma, beta)?;
    let separate = || -> Result<(NpuTensor, GroupNormSiluPath)> {
        let normed = group_norm(s, x, groups, gamma, beta, eps)?;
        Ok((silu(s, &normed)?, GroupNormSiluPath::Separate))
    };
    let fused = ffi::npu_has_symbol("aclnnGroupNormSiluGetWorkspaceSize")
        && ffi::npu_has_symbol("aclnnGroupNormSilu")
        && crate::npu::rules::check("aclnnGroupNormSilu", "x", x.dtype()).is_ok();
    if !fused {
        return separate();
    }
    let [x, gamma, beta] = dense(s, [x, gamma, beta])?;
    let (x, gamma, beta) = (&x, &gamma, &beta);
    let (out, mean, rstd) = group_norm_launch_outputs(s, x, n, groups, gamma, beta)?;
    match ffi::npu_group_norm_silu(
        s.raw(),
        &x.desc(),
        &gamma.desc(),
        &beta.desc(),
        groups as i64,
        f64::from(eps),
        &out.desc(),
        &mean.desc(),
        &rstd.desc(),
    ) {
        Ok(()) => Ok((out, GroupNormSiluPath::Fused)),
        // A refusal in the first phase launched nothing, so the unfused pair can run.
        Err(e)
            if e.what()
                .starts_with("aclnnGroupNormSiluGetWorkspaceSize failed") =>
        {
            separate()
        }
        Err(e) => Err(backend(e)),
    }
}

/// aclnnSilu: x * sigmoid(x) elementwise.
pub fn silu(s: &NpuStream, x: &NpuTensor) -> Result<NpuTensor> {
    crate::npu::rules::check("aclnnSilu", "x", x.dtype())?;
    let x = &x.contiguous(s)?;
    let out = NpuTensor::empty(s, x.shape(), x.dtype())?;
    record(s, &[Some(x), Some(&out)]);
    ffi::npu_silu(s.raw(), &x.desc(), &out.desc()).map_err(backend)?;
    Ok(out)
}

fn halves(x: &NpuTensor) -> Result<Vec<usize>> {
    match x.shape().split_last() {
        Some((&last, rest)) if last % 2 == 0 && last > 0 => Ok([rest, &[last / 2]].concat()),
        _ => Err(OpsError::shape(
            "x",
            format!("last dimension must be even, got {:?}", x.shape()),
        )),
    }
}

/// aclnnGeGluV3 (GELU on the second half, diffusers' order).
pub fn geglu(s: &NpuStream, x: &NpuTensor, gelu: Gelu) -> Result<NpuTensor> {
    crate::npu::rules::check("aclnnGeGluV3", "x", x.dtype())?;
    let shape = halves(x)?;
    let x = &x.contiguous(s)?;
    let out = NpuTensor::empty(s, &shape, x.dtype())?;
    let out_gelu = NpuTensor::empty(s, &shape, x.dtype())?;
    let approximate = i64::from(gelu == Gelu::Tanh);
    record(s, &[Some(x), Some(&out), Some(&out_gelu)]);
    ffi::npu_geglu(
        s.raw(),
        &x.desc(),
        approximate,
        &out.desc(),
        &out_gelu.desc(),
    )
    .map_err(backend)?;
    Ok(out)
}

/// aclnnSwiGlu: silu(first half) * second half.
pub fn swiglu(s: &NpuStream, x: &NpuTensor) -> Result<NpuTensor> {
    crate::npu::rules::check("aclnnSwiGlu", "x", x.dtype())?;
    let x = &x.contiguous(s)?;
    let out = NpuTensor::empty(s, &halves(x)?, x.dtype())?;
    record(s, &[Some(x), Some(&out)]);
    ffi::npu_swiglu(s.raw(), &x.desc(), &out.desc()).map_err(backend)?;
    Ok(out)
}

/// aclnnRotaryPositionEmbedding; cos/sin [seq, dim] are viewed broadcastable to x.
pub fn rope(
    s: &NpuStream,
    x: &NpuTensor,
    cos: &NpuTensor,
    sin: &NpuTensor,
    layout: Layout,
    mode: RopeMode,
) -> Result<NpuTensor> {
    let &[_, b, c, d] = x.shape() else {
        return Err(OpsError::shape(
            "x",
            format!("expected 4 dimensions, got {:?}", x.shape()),
        ));
    };
    crate::npu::rules::check("aclnnRotaryPositionEmbedding", "x", x.dtype())?;
    let (seq, view) = match layout {
        Layout::Bsnd => (b, [1, b, 1, d]),
        Layout::Bnsd => (c, [1, 1, c, d]),
    };
    for (arg, t) in [("cos", cos), ("sin", sin)] {
        if t.shape() != [seq, d] {
            return Err(OpsError::shape(
                arg,
                format!("expected [{seq}, {d}], got {:?}", t.shape()),
            ));
        }
        check_same_dtype(arg, x, t)?;
    }
    let [x, cos, sin] = dense(s, [x, cos, sin])?;
    let (x, cos, sin) = (&x, &cos, &sin);
    let out = NpuTensor::empty(s, x.shape(), x.dtype())?;
    let mode = i64::from(mode == RopeMode::Interleaved);
    record(s, &[Some(x), Some(cos), Some(sin), Some(&out)]);
    ffi::npu_rope(
        s.raw(),
        &x.desc(),
        &cos.desc_as(&view),
        &sin.desc_as(&view),
        mode,
        &out.desc(),
    )
    .map_err(backend)?;
    Ok(out)
}

/// aclnnMatmul of [m, k] x [k, n], with the SoC's cubeMathType.
pub fn matmul(rt: &NpuRuntime, s: &NpuStream, a: &NpuTensor, b: &NpuTensor) -> Result<NpuTensor> {
    let (&[m, k], &[k2, n]) = (a.shape(), b.shape()) else {
        return Err(OpsError::shape("a", "matmul takes two 2-d tensors"));
    };
    if k != k2 {
        return Err(OpsError::shape(
            "b",
            format!("{k2} rows do not match a's {k} columns"),
        ));
    }
    check_same_dtype("b", a, b)?;
    crate::npu::rules::check("aclnnMatmul", "a", a.dtype())?;
    let [a, b] = dense(s, [a, b])?;
    let (a, b) = (&a, &b);
    let out = NpuTensor::empty(s, &[m, n], a.dtype())?;
    record(s, &[Some(a), Some(b), Some(&out)]);
    ffi::npu_matmul(
        s.raw(),
        &a.desc(),
        &b.desc(),
        &out.desc(),
        i8::from(a.dtype() == NpuDType::F32 && rt.traits().fp32_matmul_needs_downcast),
    )
    .map_err(backend)?;
    Ok(out)
}

/// Options of [`attention`]. `mask` is a bool tensor in aclnn's convention (true = masked
/// out), broadcastable to [batch, heads, seq_q, seq_kv]; `bias` is added to the scores.
#[derive(Debug, Clone, Copy, Default)]
pub struct NpuAttentionOptions<'a> {
    pub layout: Layout,
    pub scale: Option<f32>,
    pub bias: Option<&'a NpuTensor>,
    pub mask: Option<&'a NpuTensor>,
    pub return_lse: bool,
}

/// Attention through the SoC's flash-attention kernel. On a SoC without one (310P) this
/// is `Err(Unsupported)` naming the SoC; [`attention_or_cpu`] falls back instead.
pub fn attention(
    rt: &NpuRuntime,
    s: &NpuStream,
    q: &NpuTensor,
    k: &NpuTensor,
    v: &NpuTensor,
    opts: &NpuAttentionOptions<'_>,
) -> Result<(NpuTensor, Option<NpuTensor>, AttentionRoute)> {
    let dims = |arg: &'static str, t: &NpuTensor| -> Result<(usize, usize, usize, usize)> {
        let &[a, b, c, d] = t.shape() else {
            return Err(OpsError::shape(
                arg,
                format!("expected 4 dimensions, got {:?}", t.shape()),
            ));
        };
        Ok(match opts.layout {
            Layout::Bsnd => (a, c, b, d),
            Layout::Bnsd => (a, b, c, d),
        })
    };
    let (b, hq, sq, d) = dims("q", q)?;
    let (kb, hkv, skv, kd) = dims("k", k)?;
    if v.shape() != k.shape() {
        return Err(OpsError::shape(
            "v",
            format!("shape {:?} differs from k's {:?}", v.shape(), k.shape()),
        ));
    }
    if kb != b || kd != d || hkv == 0 || hq % hkv != 0 {
        return Err(OpsError::shape(
            "k",
            format!("shape {:?} does not fit q's {:?}", k.shape(), q.shape()),
        ));
    }
    check_same_dtype("k", q, k)?;
    check_same_dtype("v", q, v)?;
    let Some(qd) = q.dtype().float() else {
        return Err(OpsError::shape(
            "q",
            format!("attention takes floating q, got {}", q.dtype()),
        ));
    };
    let route = rt.attention_route(qd, opts.return_lse)?;
    if route == AttentionRoute::PromptFlash && opts.bias.is_some() {
        // Its doc reserves pseShift (to be passed as nullptr): a bias would be dropped.
        return Err(OpsError::Unsupported(
            "aclnnPromptFlashAttention takes no attention bias (its pseShift is reserved), \
             and this CANN has no aclnnFusedInferAttentionScoreV2"
                .into(),
        ));
    }
    let scale = opts.scale.unwrap_or(1.0 / (d.max(1) as f32).sqrt());
    let Some(code) = route.fused_code() else {
        let qkv = super::composite_attention::Qkv {
            q,
            k,
            v,
            layout: opts.layout,
        };
        let out = super::composite_attention::attention_f32(s, qkv, scale, opts.bias, opts.mask)?;
        return Ok((out, None, route));
    };
    // The fused kernels take a head dim that is a multiple of 16 (FLOAT16/BFLOAT16) and at
    // most 512 (FusedInferAttentionScoreV2's doc). A smaller misaligned one is zero-padded:
    // zero channels add nothing to q.k, and v's give zero output channels, which are cut
    // off again, so the result is exact (the scale above uses the real dim).
    let padded = d.next_multiple_of(FUSED_HEAD_DIM_ALIGN);
    if padded > FUSED_HEAD_DIM_MAX {
        return Err(OpsError::Unsupported(format!(
            "the fused attention kernels take head dims up to {FUSED_HEAD_DIM_MAX}, got {d}"
        )));
    }
    let widen = |t: &NpuTensor| -> Result<NpuTensor> {
        if padded == d {
            Ok(t.clone())
        } else {
            super::constant_pad(s, t, &[0, padded - d], 0.0)
        }
    };
    let (q, k, v) = (widen(q)?, widen(k)?, widen(v)?);
    // The fused kernels read dense inputs, and their pse must be in the query's dtype.
    let [q, k, v] = dense(s, [&q, &k, &v])?;
    let bias = match opts.bias {
        Some(b) => Some(pse_for(s, b, q.dtype(), hq, sq, skv)?),
        None => None,
    };
    let mask = opts.mask.map(|m| mask_for(s, m, sq, skv)).transpose()?;
    let out = NpuTensor::empty(s, q.shape(), q.dtype())?;
    let lse = if opts.return_lse {
        Some(NpuTensor::empty(s, &[b, hq, sq, 1], NpuDType::F32)?)
    } else {
        None
    };
    record(
        s,
        &[
            Some(&q),
            Some(&k),
            Some(&v),
            bias.as_ref(),
            mask.as_ref(),
            Some(&out),
            lse.as_ref(),
        ],
    );
    ffi::npu_attention(
        s.raw(),
        code,
        &q.desc(),
        &k.desc(),
        &v.desc(),
        &opt(bias.as_ref()),
        &opt(mask.as_ref()),
        hq as i64,
        hkv as i64,
        f64::from(scale),
        opts.layout.as_str(),
        &out.desc(),
        &opt(lse.as_ref()),
    )
    .map_err(backend)?;
    let last = out.shape().len() - 1;
    let out = if padded == d {
        out
    } else {
        out.narrow(last, 0, d)?
    };
    Ok((out, lse, route))
}

/// The head-dim alignment and limit of the fused attention kernels (f16/bf16).
const FUSED_HEAD_DIM_ALIGN: usize = 16;
const FUSED_HEAD_DIM_MAX: usize = 512;

/// The fused kernels' pse: the query's dtype, shape (B or 1, heads, Sq, Skv) and dense
/// (FusedInferAttentionScoreV2's doc), so a bias shared by the heads is repeated.
fn pse_for(
    s: &NpuStream,
    bias: &NpuTensor,
    dtype: NpuDType,
    heads: usize,
    sq: usize,
    skv: usize,
) -> Result<NpuTensor> {
    let b = expand_over_batch(bias, [heads, sq, skv])?;
    let b = if b.dtype() == dtype {
        b
    } else {
        super::cast(s, &b, dtype)?
    };
    b.contiguous(s)
}

/// The fused kernels' attenMask: bool, (B or 1, 1, Sq, Skv) and dense (their docs take no
/// smaller broadcast form), so a key-padding mask `[B, 1, 1, Skv]` is expanded over the
/// queries.
fn mask_for(s: &NpuStream, mask: &NpuTensor, sq: usize, skv: usize) -> Result<NpuTensor> {
    expand_over_batch(mask, [1, sq, skv])?.contiguous(s)
}

/// `t` lifted to rank 4 with leading ones and broadcast to `[its batch, rest...]` (a view).
fn expand_over_batch(t: &NpuTensor, rest: [usize; 3]) -> Result<NpuTensor> {
    let mut t = t.clone();
    while t.shape().len() < 4 {
        t = t.unsqueeze(0)?;
    }
    let [a, b, c] = rest;
    t.broadcast_as(&[t.shape()[0], a, b, c])
}

/// Where [`attention_or_cpu`] ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttentionPath {
    Npu(AttentionRoute),
    /// The SoC has no flash-attention kernel; the reason, then the CPU kernel ran.
    CpuFallback(String),
}

/// [`attention`], or where the SoC has no flash-attention kernel (310P, 910A) the CPU
/// kernel on downloaded inputs, with the results uploaded back in q's dtype. Bias, mask,
/// scale and the log-sum-exp output are honoured on both paths. bf16 on a SoC without
/// bf16 kernels stays an error rather than quietly moving to the CPU.
///
/// Why the CPU kernel rather than an aclnn matmul-softmax-matmul composite: the composite
/// would materialise [batch, heads, seq_q, seq_kv] scores and probabilities on the device
/// (O(seq^2) memory: 2 x 0.67 GB in f32 at seq 4096 for SD 2.1's 2 x 5 heads) and needs
/// softmax and masking ops this crate does not otherwise resolve, while the CPU kernel is
/// the fused, O(seq)-memory one that the tests already hold to the scalar reference.
pub fn attention_or_cpu(
    rt: &NpuRuntime,
    s: &NpuStream,
    q: &NpuTensor,
    k: &NpuTensor,
    v: &NpuTensor,
    opts: &NpuAttentionOptions<'_>,
) -> Result<(NpuTensor, Option<NpuTensor>, AttentionPath)> {
    match attention(rt, s, q, k, v, opts) {
        Ok((out, lse, route)) => Ok((out, lse, AttentionPath::Npu(route))),
        Err(OpsError::Unsupported(why)) if q.dtype() != NpuDType::BF16 || rt.traits().bf16 => {
            let (out, lse) = match q.dtype() {
                NpuDType::F32 => attention_on_cpu::<f32>(s, q, k, v, opts)?,
                NpuDType::F16 => attention_on_cpu::<half::f16>(s, q, k, v, opts)?,
                NpuDType::BF16 => attention_on_cpu::<half::bf16>(s, q, k, v, opts)?,
                other => {
                    return Err(OpsError::shape(
                        "q",
                        format!("attention takes floating q, got {other}"),
                    ));
                }
            };
            Ok((out, lse, AttentionPath::CpuFallback(why)))
        }
        Err(e) => Err(e),
    }
}

/// The CPU kernel on downloaded q, k, v (dtype T), bias (widened to f32) and mask
/// (inverted: aclnn's true = masked, the CPU kernel's true = attend).
fn attention_on_cpu<T: Bytes + Element>(
    s: &NpuStream,
    q: &NpuTensor,
    k: &NpuTensor,
    v: &NpuTensor,
    opts: &NpuAttentionOptions<'_>,
) -> Result<(NpuTensor, Option<NpuTensor>)> {
    let (qh, kh, vh) = (
        q.download::<T>(s)?,
        k.download::<T>(s)?,
        v.download::<T>(s)?,
    );
    let bias = match opts.bias {
        Some(b) => Some(match b.dtype() {
            NpuDType::F16 => {
                <half::f16 as Element>::widen(&b.download::<half::f16>(s)?).into_owned()
            }
            NpuDType::BF16 => {
                <half::bf16 as Element>::widen(&b.download::<half::bf16>(s)?).into_owned()
            }
            _ => b.download::<f32>(s)?,
        }),
        None => None,
    };
    let keep = match opts.mask {
        Some(m) => Some(
            m.download_mask(s)?
                .into_iter()
                .map(|masked| !masked)
                .collect::<Vec<bool>>(),
        ),
        None => None,
    };
    let out = crate::attention::attention(
        TensorView::new(&qh, q.shape())?,
        TensorView::new(&kh, k.shape())?,
        TensorView::new(&vh, v.shape())?,
        &AttentionOptions {
            layout: opts.layout,
            scale: opts.scale,
            bias: match (&bias, opts.bias) {
                (Some(data), Some(t)) => Some(TensorView::new(data, t.shape())?),
                _ => None,
            },
            mask: match (&keep, opts.mask) {
                (Some(data), Some(t)) => Some(TensorView::new(data, t.shape())?),
                _ => None,
            },
            return_lse: opts.return_lse,
        },
    )?;
    let lse = match out.lse {
        // The NPU kernels' softmaxLse shape: [batch, heads, seq_q, 1].
        Some(l) => Some(upload(s, &l.data, &[l.shape.as_slice(), &[1]].concat())?),
        None => None,
    };
    Ok((upload(s, &out.out.data, &out.out.shape)?, lse))
}

fn upload<T: Bytes>(s: &NpuStream, data: &[T], shape: &[usize]) -> Result<NpuTensor> {
    NpuTensor::upload(s, data, shape)
}
