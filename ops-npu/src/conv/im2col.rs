//! im2col: the input rearranged so that a convolution is one GEMM against the weight
//! exactly as torch stores it (`[c_out, c_in * k * k]` is the contiguous
//! `[c_out, c_in, k, k]`), with no per-call re-layout of the weight.

use super::params::Conv2dParams;
use crate::error::Result;
use crate::tensor::element_count;
use crate::tensor::{Tensor, TensorView};
use rayon::prelude::*;

/// `x` `[b, c, h, w]` -> `[c * k * k, b * oh * ow]`: rows ordered (channel, ky, kx) to
/// match torch's weight layout, columns (image, pixel) so that one GEMM covers the whole
/// batch (at 16x16 and 8x8 a per-image GEMM would have only 256 or 64 columns). Zero
/// padding on every side. Generic over the element so that f16 and bf16 inputs can feed
/// a GEMM of their own dtype.
pub fn im2col<T: Copy + Default + Send + Sync>(
    x: TensorView<'_, T>,
    params: &Conv2dParams,
) -> Result<Tensor<T>> {
    let [b, c, h, w] = x.dims("x")?;
    let (oh, ow) = params.output_size(h, w)?;
    let (k, s, p) = (params.kernel_size, params.stride, params.padding);
    let plane = oh * ow;
    let per_channel = element_count("im2col columns", &[k, k, b, plane])?;
    // Padding positions are never written below: they keep this zero.
    let mut out = vec![T::default(); element_count("im2col columns", &[c, per_channel])?];
    let shape = vec![c * k * k, b * plane];
    if out.is_empty() {
        return Ok(Tensor { data: out, shape });
    }
    let x = x.data();
    // One input channel per task: it writes its own k*k rows, each holding every image's
    // plane side by side.
    out.par_chunks_mut(per_channel)
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
                            // Output columns whose input column kx - p + ox is inside the
                            // row: one contiguous copy (the rest stays zero).
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
    Ok(Tensor { data: out, shape })
}
