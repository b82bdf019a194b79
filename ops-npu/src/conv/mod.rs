//! 2-d convolution of contiguous NCHW f32 slices, built on [`crate::gemm`]. candle's own
//! CPU conv2d re-lays the weight out on every call and transposes the input to NHWC on
//! one thread first; these paths avoid both:
//! - 3x3, stride 1, padding 1 with a weight transformed once at load: Winograd F(2x2, 3x3)
//!   ([`winograd`]), 2.25x fewer multiplies;
//! - 1x1, stride 1, no padding: one GEMM per image straight on the input;
//! - anything else: one [`im2col`](im2col::im2col) over the whole batch, then one GEMM
//!   against the weight exactly as torch stores it, producing NCHW directly.
//!
//! ```
//! use ops_npu::TensorView;
//! use ops_npu::conv::{Conv2dParams, Filter, conv2d};
//! let x = [1.0f32, 2.0, 3.0, 4.0]; // [1, 1, 2, 2]
//! let w = [1.0f32; 4]; // [1, 1, 2, 2]: sums each 2x2 window
//! let params = Conv2dParams { kernel_size: 2, stride: 1, padding: 0 };
//! let y = conv2d(
//!     TensorView::new(&x, &[1, 1, 2, 2])?,
//!     Filter::Direct(TensorView::new(&w, &[1, 1, 2, 2])?),
//!     Some(&[0.5]),
//!     &params,
//! )?;
//! assert_eq!((y.data, y.shape), (vec![10.5], vec![1, 1, 1, 1]));
//! # Ok::<(), ops_npu::OpsError>(())
//! ```

pub mod im2col;
mod params;
pub mod winograd;

pub use params::Conv2dParams;

use crate::error::{OpsError, Result};
use crate::gemm::{Batch, GemmOptions, MatMut, MatRef, gemm_batched_with};
use crate::tensor::element_count;
use crate::tensor::{Implementation, Tensor, TensorView};
use params::check_bias;
use rayon::prelude::*;

/// A convolution's weight as the kernels take it.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    /// torch's layout, `[c_out, c_in, k, k]`.
    Direct(TensorView<'a, f32>),
    /// `[16, c_out, c_in]` from [`winograd::transform_weight`]; only for geometries that
    /// [`Conv2dParams::fits_winograd`].
    Winograd(TensorView<'a, f32>),
}

/// `x` `[b, c_in, h, w]` convolved with `filter`, plus `bias` `[c_out]`:
/// `[b, c_out, oh, ow]`. The filter decides the algorithm (see the module doc).
pub fn conv2d(
    x: TensorView<'_, f32>,
    filter: Filter<'_>,
    bias: Option<&[f32]>,
    params: &Conv2dParams,
) -> Result<Tensor<f32>> {
    let weight = match filter {
        Filter::Winograd(u) if params.fits_winograd() => return winograd::conv3x3(x, u, bias),
        Filter::Winograd(_) => {
            return Err(OpsError::shape(
                "params",
                format!(
                    "Winograd F(2x2, 3x3) computes 3x3, stride 1, padding 1 only, got {params:?}"
                ),
            ));
        }
        Filter::Direct(weight) => weight,
    };
    let [b, c_in, h, w] = x.dims("x")?;
    let [c_out, wc_in, kh, kw] = weight.dims("weight")?;
    if (wc_in, kh, kw) != (c_in, params.kernel_size, params.kernel_size) {
        return Err(OpsError::shape(
            "weight",
            format!(
                "expected [c_out, {c_in}, {k}, {k}] for {c_in} input channels and a {k}x{k} kernel, got {:?}",
                weight.shape(),
                k = params.kernel_size
            ),
        ));
    }
    check_bias(bias, c_out)?;
    let (oh, ow) = params.output_size(h, w)?;
    let plane = oh * ow;
    let depth = c_in * kh * kw;
    let mut out = vec![0f32; element_count("output", &[b, c_out, plane])?];
    let weight = MatRef::new(weight.data(), c_out, depth);
    if params.is_pointwise() {
        // The input is already the [c_in, pixels] matrix of each image.
        let batch = Batch {
            count: b,
            stride_a: 0,
            stride_b: c_in * plane,
            stride_c: c_out * plane,
        };
        gemm(weight, MatRef::new(x.data(), c_in, plane), &mut out, batch)?;
        add_bias(&mut out, bias, plane);
        return Ok(Tensor {
            data: out,
            shape: vec![b, c_out, oh, ow],
        });
    }
    let columns = im2col::im2col(x, params)?;
    let columns = MatRef::new(&columns.data, depth, b * plane);
    if b == 1 {
        gemm(weight, columns, &mut out, Batch::ONE)?;
        add_bias(&mut out, bias, plane);
    } else {
        // [c_out, b * pixels] -> [b, c_out, pixels]: one copy of the output buys one
        // GEMM over the whole batch, which matters at 16x16 and 8x8 where a per-image
        // GEMM has only 256 or 64 columns.
        let mut folded = vec![0f32; out.len()];
        gemm(weight, columns, &mut folded, Batch::ONE)?;
        out.par_chunks_mut(plane)
            .enumerate()
            .for_each(|(row, dst)| {
                let (img, o) = (row / c_out, row % c_out);
                let src = &folded[(o * b + img) * plane..(o * b + img + 1) * plane];
                let beta = bias.map_or(0.0, |bias| bias[o]);
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = s + beta;
                }
            });
    }
    Ok(Tensor {
        data: out,
        shape: vec![b, c_out, oh, ow],
    })
}

/// `c` = `a` `b` for each of the batch's products (`c` is `[c_out, n]` per product).
fn gemm(a: MatRef<'_>, b: MatRef<'_>, c: &mut [f32], batch: Batch) -> Result<()> {
    let (rows, cols) = (a.rows, b.cols);
    gemm_batched_with(
        a,
        b,
        MatMut::new(c, rows, cols),
        batch,
        &GemmOptions::default(),
        Implementation::Optimised,
    )
}

/// Adds `bias[o]` to every pixel of channel `o` of `[b, c_out, plane]`.
fn add_bias(out: &mut [f32], bias: Option<&[f32]>, plane: usize) {
    let Some(bias) = bias else { return };
    if plane == 0 {
        return;
    }
    out.par_chunks_mut(plane)
        .enumerate()
        .for_each(|(row, dst)| {
            let beta = bias[row % bias.len()];
            for d in dst {
                *d += beta;
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAME_3X3: Conv2dParams = Conv2dParams {
        kernel_size: 3,
        stride: 1,
        padding: 1,
    };

    #[test]
    fn a_too_small_input_or_a_degenerate_geometry_is_an_error() {
        let valid = Conv2dParams {
            kernel_size: 3,
            stride: 1,
            padding: 0,
        };
        assert!(valid.output_size(2, 5).is_err());
        assert_eq!(valid.output_size(3, 5), Ok((1, 3)));
        for (kernel_size, stride) in [(0, 1), (3, 0)] {
            let params = Conv2dParams {
                kernel_size,
                stride,
                padding: 1,
            };
            assert!(params.output_size(4, 4).is_err(), "{params:?}");
        }
    }

    #[test]
    fn mismatched_weights_and_biases_are_errors() {
        let x = vec![0f32; 2 * 4 * 4];
        let x = TensorView::new(&x, &[1, 2, 4, 4]).expect("x");
        let w = vec![0f32; 3 * 9];
        // Three input channels for a two-channel input.
        let wrong = TensorView::new(&w, &[1, 3, 3, 3]).expect("w");
        let err = conv2d(x, Filter::Direct(wrong), None, &SAME_3X3).expect_err("channels");
        assert!(err.to_string().contains("2 input channels"), "{err}");
        let w = vec![0f32; 3 * 2 * 9];
        let right = TensorView::new(&w, &[3, 2, 3, 3]).expect("w");
        let err = conv2d(x, Filter::Direct(right), Some(&[0.0; 2]), &SAME_3X3).expect_err("bias");
        assert!(
            err.to_string().contains("2 values for 3 output channels"),
            "{err}"
        );
        let u = vec![0f32; 16 * 3 * 2];
        let u = TensorView::new(&u, &[16, 3, 2]).expect("u");
        let strided = Conv2dParams {
            stride: 2,
            ..SAME_3X3
        };
        let err = conv2d(x, Filter::Winograd(u), None, &strided).expect_err("stride 2");
        assert!(err.to_string().contains("stride 1"), "{err}");
    }

    #[test]
    fn empty_batches_and_channels_give_empty_outputs() {
        let w = vec![1f32; 9];
        let w = TensorView::new(&w, &[1, 1, 3, 3]).expect("w");
        let y = conv2d(
            TensorView::new(&[], &[0, 1, 4, 4]).expect("x"),
            Filter::Direct(w),
            None,
            &SAME_3X3,
        )
        .expect("empty batch");
        assert_eq!(y.shape, [0, 1, 4, 4]);
        assert!(y.data.is_empty());
    }
}
