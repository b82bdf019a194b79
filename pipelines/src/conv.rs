//! 2-d convolution for the models. With [`Kernels::Fused`] on CPU: f32 3x3 stride-1
//! convolutions of up to 640 channels use Winograd's F(2x2, 3x3) (`crate::winograd`); the
//! others are one im2col (parallel over input channels) followed by one GEMM against the
//! weight exactly as torch stores it (`[c_out, c_in * kh * kw]` is the contiguous
//! `[c_out, c_in, kh, kw]`), producing NCHW directly; 1x1 convolutions skip the im2col.
//! candle's own CPU conv2d re-lays the weight out on every call and transposes the input
//! to NHWC on one thread first, which is what these paths avoid. [`Kernels::Naive`] and
//! non-CPU devices use candle's conv2d.

use crate::layers::Kernels;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor, WithDType};
use candle_nn::VarBuilder;
use ops_npu::candle_ops::matmul::matmul;
use rayon::prelude::*;

#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Tensor,
    kernel: usize,
    stride: usize,
    padding: usize,
    kernels: Kernels,
    naive: candle_nn::Conv2d,
    /// Winograd-transformed weights, for the convolutions that take that path.
    winograd: Option<Tensor>,
}

/// Widest output a 3x3 convolution may have to take the Winograd path. Its transformed
/// weights (16/9 the size of the originals) are kept beside them; up to 640 channels that
/// costs about 0.2 GB for the SD UNet, where the 1280-channel convolutions would add 1.5 GB
/// for layers that run at 16x16 and 8x8, where the GEMMs are smallest anyway.
const WINOGRAD_MAX_CHANNELS: usize = 640;

pub fn conv2d(
    vb: VarBuilder,
    inputs: usize,
    outputs: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    kernels: Kernels,
) -> Result<Conv2d> {
    let weight = vb.get((outputs, inputs, kernel, kernel), "weight")?;
    let bias = vb.get(outputs, "bias")?;
    let cfg = candle_nn::Conv2dConfig {
        stride,
        padding,
        ..Default::default()
    };
    let naive = candle_nn::Conv2d::new(weight.clone(), Some(bias.clone()), cfg);
    let winograd = if kernels == Kernels::Fused
        && (kernel, stride, padding) == (3, 1, 1)
        && outputs <= WINOGRAD_MAX_CHANNELS
        && weight.dtype() == DType::F32
        && weight.device().is_cpu()
    {
        Some(crate::winograd::transform_weight(&weight)?)
    } else {
        None
    };
    Ok(Conv2d {
        weight,
        bias,
        kernel,
        stride,
        padding,
        kernels,
        naive,
        winograd,
    })
}

impl Conv2d {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !x.device().is_cpu() {
            return self.naive.forward(x);
        }
        if self.kernels == Kernels::Naive {
            // candle's CPU conv2d has no bf16 GEMM; the baseline computes those in f32.
            if x.dtype() == DType::BF16 {
                let out = self.naive_f32()?.forward(&x.to_dtype(DType::F32)?)?;
                return out.to_dtype(DType::BF16);
            }
            return self.naive.forward(x);
        }
        if let Some(u) = &self.winograd
            && x.dtype() == DType::F32
        {
            return crate::winograd::conv3x3(x, u, &self.bias);
        }
        let (b, c_in, h, w) = x.dims4()?;
        let c_out = self.weight.dim(0)?;
        let geometry = Im2Col {
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
        };
        let (oh, ow) = geometry.output_size(h, w)?;
        let k = c_in * self.kernel * self.kernel;
        let weight = self.weight.reshape((c_out, k))?;
        let out = if self.kernel == 1 && self.stride == 1 && self.padding == 0 {
            let x = x.reshape((b, c_in, h * w))?;
            if b == 1 {
                matmul(&weight, &x.squeeze(0)?, None)?.unsqueeze(0)?
            } else {
                matmul(&weight, &x, None)?
            }
        } else {
            // [c_out, b * pixels] -> [b, c_out, pixels]: one copy of the output buys one
            // GEMM over the whole batch, which matters at 16x16 and 8x8 where a
            // per-image GEMM has only 256 or 64 columns.
            let folded = matmul(&weight, &x.contiguous()?.apply_op1_no_bwd(&geometry)?, None)?;
            if b == 1 {
                folded.unsqueeze(0)?
            } else {
                folded
                    .reshape((c_out, b, oh * ow))?
                    .transpose(0, 1)?
                    .contiguous()?
            }
        };
        out.broadcast_add(&self.bias.reshape((1, c_out, 1))?)?
            .reshape((b, c_out, oh, ow))
    }
}

impl Conv2d {
    fn naive_f32(&self) -> Result<candle_nn::Conv2d> {
        let cfg = candle_nn::Conv2dConfig {
            stride: self.stride,
            padding: self.padding,
            ..Default::default()
        };
        Ok(candle_nn::Conv2d::new(
            self.weight.to_dtype(DType::F32)?,
            Some(self.bias.to_dtype(DType::F32)?),
            cfg,
        ))
    }
}

/// `[b, c, h, w]` -> `[c * k * k, b * oh * ow]`: rows ordered (channel, ky, kx) to match
/// torch's weight layout, columns (image, pixel); zero padding on every side.
#[derive(Debug, Clone, Copy)]
struct Im2Col {
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl Im2Col {
    fn output_size(&self, h: usize, w: usize) -> Result<(usize, usize)> {
        let span = |n: usize| (n + 2 * self.padding).checked_sub(self.kernel);
        match (span(h), span(w)) {
            (Some(a), Some(b)) if self.stride > 0 => Ok((a / self.stride + 1, b / self.stride + 1)),
            _ => candle_core::bail!(
                "conv2d: a {h}x{w} input is smaller than the {}x{} kernel",
                self.kernel,
                self.kernel
            ),
        }
    }

    fn run<T: WithDType + Send + Sync>(&self, x: &[T], dims: &[usize]) -> Result<(Vec<T>, Shape)> {
        let &[b, c, h, w] = dims else {
            candle_core::bail!("im2col needs [b, c, h, w], got {dims:?}")
        };
        let (oh, ow) = self.output_size(h, w)?;
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let plane = oh * ow;
        let mut out = vec![T::zero(); b * c * k * k * plane];
        // One input channel per task: it writes its own k*k rows, each holding every
        // image's plane side by side, so one GEMM covers the whole batch.
        out.par_chunks_mut(k * k * b * plane)
            .enumerate()
            .for_each(|(ch, rows)| {
                for img in 0..b {
                    let src = &x[(img * c + ch) * h * w..(img * c + ch + 1) * h * w];
                    for (ky, kx) in (0..k).flat_map(|ky| (0..k).map(move |kx| (ky, kx))) {
                        let at = ((ky * k + kx) * b + img) * plane;
                        let row = &mut rows[at..at + plane];
                        for oy in 0..oh {
                            let iy = (oy * s + ky) as isize - p as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            let line = &src[iy as usize * w..(iy as usize + 1) * w];
                            let dst = &mut row[oy * ow..(oy + 1) * ow];
                            if s == 1 {
                                // Output columns whose input column kx - p + ox is inside
                                // the row: one contiguous copy (the rest stays zero).
                                let lo = p.saturating_sub(kx).min(ow);
                                let hi = (w + p).saturating_sub(kx).min(ow).max(lo);
                                if hi > lo {
                                    let start = lo + kx - p;
                                    dst[lo..hi].copy_from_slice(&line[start..start + hi - lo]);
                                }
                                continue;
                            }
                            for (ox, d) in dst.iter_mut().enumerate() {
                                let ix = (ox * s + kx) as isize - p as isize;
                                if ix >= 0 && ix < w as isize {
                                    *d = line[ix as usize];
                                }
                            }
                        }
                    }
                }
            });
        Ok((out, Shape::from_dims(&[c * k * k, b * plane])))
    }
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("im2col: input must be contiguous")
        };
        let dims = layout.dims();
        match storage {
            CpuStorage::F32(v) => {
                let (o, s) = self.run(&v[start..end], dims)?;
                Ok((CpuStorage::F32(o), s))
            }
            CpuStorage::F16(v) => {
                let (o, s) = self.run(&v[start..end], dims)?;
                Ok((CpuStorage::F16(o), s))
            }
            CpuStorage::BF16(v) => {
                let (o, s) = self.run(&v[start..end], dims)?;
                Ok((CpuStorage::BF16(o), s))
            }
            other => candle_core::bail!("im2col: {:?} is not supported", other.dtype()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use std::collections::HashMap;

    fn both(kernel: usize, stride: usize, padding: usize, shape: (usize, usize, usize, usize)) {
        let dev = Device::Cpu;
        let (b, c, h, w) = shape;
        let c_out = 5;
        let mut map = HashMap::new();
        map.insert(
            "weight".to_string(),
            Tensor::randn(0f32, 1.0, (c_out, c, kernel, kernel), &dev).expect("w"),
        );
        map.insert(
            "bias".to_string(),
            Tensor::randn(0f32, 1.0, c_out, &dev).expect("b"),
        );
        let vb = VarBuilder::from_tensors(map, DType::F32, &dev);
        let x = Tensor::randn(0f32, 1.0, (b, c, h, w), &dev).expect("x");
        let make = |k| conv2d(vb.clone(), c, c_out, kernel, stride, padding, k).expect("conv");
        let ours = make(Kernels::Fused).forward(&x).expect("fused");
        let theirs = make(Kernels::Naive).forward(&x).expect("naive");
        assert_eq!(ours.dims(), theirs.dims());
        let diff = (ours - theirs)
            .and_then(|d| d.abs())
            .and_then(|d| d.flatten_all())
            .and_then(|d| d.max(0))
            .and_then(|d| d.to_scalar::<f32>())
            .expect("diff");
        assert!(diff < 1e-4, "k{kernel} s{stride} p{padding}: {diff}");
    }

    // candle's conv2d is the independent reference here: a different algorithm (tiled
    // NHWC im2col) for the same operator. 3x3 stride-1 padding-1 cases take the Winograd
    // path (odd and tiny sizes included); the others the im2col path.
    #[test]
    fn im2col_gemm_matches_candle_conv2d() {
        both(3, 1, 1, (2, 3, 7, 9));
        both(3, 1, 1, (1, 4, 1, 1));
        both(3, 1, 1, (2, 3, 2, 3));
        both(3, 1, 0, (1, 3, 6, 5));
        both(3, 1, 2, (1, 2, 4, 3));
        both(5, 1, 2, (2, 2, 6, 7));
        both(3, 2, 1, (2, 4, 8, 6));
        both(3, 2, 0, (1, 2, 9, 9));
        both(1, 1, 0, (2, 6, 5, 4));
        both(1, 1, 0, (1, 6, 5, 4));
    }

    #[test]
    fn a_too_small_input_is_an_error() {
        let op = Im2Col {
            kernel: 3,
            stride: 1,
            padding: 0,
        };
        assert!(op.output_size(2, 5).is_err());
    }
}
