//! The kernels on NPU tensors. Each call validates shapes on the host, allocates its
//! outputs and launches one aclnn op on `stream` (asynchronously: download syncs).

use super::memory::{Bytes, absent};
use super::{AttentionRoute, NpuRuntime, NpuStream, NpuTensor, backend};
use crate::attention::{AttentionOptions, Layout};
use crate::bridge::ffi;
use crate::error::{OpsError, Result};
use crate::glu::Gelu;
use crate::rope::RopeMode;
use crate::tensor::TensorView;
use device::DType;

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
    check_vector("gamma", x, Some(gamma), dim)?;
    let y = NpuTensor::empty(x.shape(), x.dtype())?;
    let mut rshape = x.shape().to_vec();
    if let Some(last) = rshape.last_mut() {
        *last = 1;
    }
    let rstd = NpuTensor::empty(&rshape, DType::F32)?;
    s.keep(&[Some(x), Some(gamma), Some(&y), Some(&rstd)]);
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
    check_vector("weight", x, weight, dim)?;
    check_vector("bias", x, bias, dim)?;
    let out = NpuTensor::empty(x.shape(), x.dtype())?;
    s.keep(&[Some(x), weight, bias, Some(&out)]);
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
    for (arg, t) in [("scale", scale), ("shift", shift)] {
        if t.shape() != [b, d] && t.shape() != [b, 1, d] {
            return Err(OpsError::shape(
                arg,
                format!("expected [{b}, 1, {d}], got {:?}", t.shape()),
            ));
        }
        check_same_dtype(arg, x, t)?;
    }
    let out = NpuTensor::empty(x.shape(), x.dtype())?;
    let m = [b, 1, d];
    s.keep(&[Some(x), Some(scale), Some(shift), Some(&out)]);
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

/// aclnnGroupNorm on x [n, c, ...]; SiLU is not part of the aclnn op.
pub fn group_norm(
    s: &NpuStream,
    x: &NpuTensor,
    groups: usize,
    gamma: &NpuTensor,
    beta: &NpuTensor,
    eps: f32,
) -> Result<NpuTensor> {
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
    let out = NpuTensor::empty(x.shape(), x.dtype())?;
    let mean = NpuTensor::empty(&[n, groups], x.dtype())?;
    let rstd = NpuTensor::empty(&[n, groups], x.dtype())?;
    s.keep(&[
        Some(x),
        Some(gamma),
        Some(beta),
        Some(&out),
        Some(&mean),
        Some(&rstd),
    ]);
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
    let shape = halves(x)?;
    let out = NpuTensor::empty(&shape, x.dtype())?;
    let out_gelu = NpuTensor::empty(&shape, x.dtype())?;
    let approximate = i64::from(gelu == Gelu::Tanh);
    s.keep(&[Some(x), Some(&out), Some(&out_gelu)]);
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
    let out = NpuTensor::empty(&halves(x)?, x.dtype())?;
    s.keep(&[Some(x), Some(&out)]);
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
    let out = NpuTensor::empty(x.shape(), x.dtype())?;
    let mode = i64::from(mode == RopeMode::Interleaved);
    s.keep(&[Some(x), Some(cos), Some(sin), Some(&out)]);
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
    let out = NpuTensor::empty(&[m, n], a.dtype())?;
    s.keep(&[Some(a), Some(b), Some(&out)]);
    ffi::npu_matmul(
        s.raw(),
        &a.desc(),
        &b.desc(),
        &out.desc(),
        rt.cube_math_type(a.dtype()),
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
    let (kb, hkv, _, kd) = dims("k", k)?;
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
    let route = rt.attention_route(q.dtype(), opts.return_lse)?;
    let out = NpuTensor::empty(q.shape(), q.dtype())?;
    let lse = if opts.return_lse {
        Some(NpuTensor::empty(&[b, hq, sq, 1], DType::F32)?)
    } else {
        None
    };
    let scale = opts.scale.unwrap_or(1.0 / (d.max(1) as f32).sqrt());
    s.keep(&[
        Some(q),
        Some(k),
        Some(v),
        opts.bias,
        opts.mask,
        Some(&out),
        lse.as_ref(),
    ]);
    ffi::npu_attention(
        s.raw(),
        route.code(),
        &q.desc(),
        &k.desc(),
        &v.desc(),
        &opt(opts.bias),
        &opt(opts.mask),
        hq as i64,
        hkv as i64,
        f64::from(scale),
        opts.layout.as_str(),
        &out.desc(),
        &opt(lse.as_ref()),
    )
    .map_err(backend)?;
    Ok((out, lse, route))
}

/// Where [`attention_or_cpu`] ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttentionPath {
    Npu(AttentionRoute),
    /// The SoC has no flash-attention kernel; the reason, then the CPU kernel ran.
    CpuFallback(String),
}

/// [`attention`], or on an `Unsupported` SoC the CPU kernel on downloaded inputs (the
/// result is uploaded back). No bias or mask in the fallback (f32 only).
pub fn attention_or_cpu(
    rt: &NpuRuntime,
    s: &NpuStream,
    q: &NpuTensor,
    k: &NpuTensor,
    v: &NpuTensor,
    layout: Layout,
) -> Result<(NpuTensor, AttentionPath)> {
    let opts = NpuAttentionOptions {
        layout,
        ..Default::default()
    };
    match attention(rt, s, q, k, v, &opts) {
        Ok((out, _, route)) => Ok((out, AttentionPath::Npu(route))),
        Err(OpsError::Unsupported(why)) => {
            let host = |t: &NpuTensor| t.download::<f32>(s);
            let (qh, kh, vh) = (host(q)?, host(k)?, host(v)?);
            let out = crate::attention::attention(
                TensorView::new(&qh, q.shape())?,
                TensorView::new(&kh, k.shape())?,
                TensorView::new(&vh, v.shape())?,
                &AttentionOptions {
                    layout,
                    ..Default::default()
                },
            )?;
            Ok((
                upload(&out.out.data, &out.out.shape)?,
                AttentionPath::CpuFallback(why),
            ))
        }
        Err(e) => Err(e),
    }
}

fn upload<T: Bytes>(data: &[T], shape: &[usize]) -> Result<NpuTensor> {
    NpuTensor::upload(data, shape)
}
