//! The convolution ([`ops_npu::conv`]) against a direct convolution written here, summed
//! in f64 straight from the definition (no im2col, no GEMM, no transforms): strides,
//! paddings, odd and tiny sizes, 1x1, 3x3 and 5x5 kernels, batches; Winograd and im2col
//! against each other; the candle entry points against the slice API and for half types.
//!
//! Tolerance: |got - want| <= TOL * (sum over the receptive field of |w x| + |bias|),
//! relative to the magnitude of the terms summed, as in gemm.rs; Winograd's transforms
//! add a few roundings of sums of up to 16 such terms, so it gets 4x the GEMM's bound.

use crate::common::{Rng, host};
use candle_core::{DType, Device, Tensor};
use ops_npu::TensorView;
use ops_npu::candle_ops;
use ops_npu::conv::{Conv2dParams, Filter, conv2d, winograd};

const TOL: f64 = 1e-5;

/// `[b, c_out, oh, ow]` values and the magnitude of the terms each one sums.
struct Direct {
    shape: [usize; 4],
    values: Vec<f64>,
    magnitudes: Vec<f64>,
}

fn direct(
    x: &[f32],
    [b, c_in, h, w]: [usize; 4],
    weight: &[f32],
    c_out: usize,
    bias: Option<&[f32]>,
    p: Conv2dParams,
) -> Direct {
    let k = p.kernel_size;
    let oh = (h + 2 * p.padding - k) / p.stride + 1;
    let ow = (w + 2 * p.padding - k) / p.stride + 1;
    let (mut values, mut magnitudes) = (Vec::new(), Vec::new());
    for img in 0..b {
        for o in 0..c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let beta = bias.map_or(0.0, |bias| f64::from(bias[o]));
                    let (mut sum, mut magnitude) = (beta, beta.abs());
                    for c in 0..c_in {
                        for ky in 0..k {
                            for kx in 0..k {
                                // Input position of this tap, in the unpadded image.
                                let iy = (oy * p.stride + ky).checked_sub(p.padding);
                                let ix = (ox * p.stride + kx).checked_sub(p.padding);
                                let (Some(iy), Some(ix)) = (iy, ix) else {
                                    continue;
                                };
                                if iy >= h || ix >= w {
                                    continue;
                                }
                                let xv = f64::from(x[((img * c_in + c) * h + iy) * w + ix]);
                                let wv = f64::from(weight[((o * c_in + c) * k + ky) * k + kx]);
                                sum += xv * wv;
                                magnitude += (xv * wv).abs();
                            }
                        }
                    }
                    values.push(sum);
                    magnitudes.push(magnitude);
                }
            }
        }
    }
    Direct {
        shape: [b, c_out, oh, ow],
        values,
        magnitudes,
    }
}

#[track_caller]
fn assert_matches(what: &str, got: &ops_npu::Tensor<f32>, want: &Direct, tol: f64) {
    assert_eq!(got.shape, want.shape, "{what}: shape");
    for (i, (&g, (&v, &m))) in got
        .data
        .iter()
        .zip(want.values.iter().zip(&want.magnitudes))
        .enumerate()
    {
        let bound = tol * m.max(1e-30);
        assert!(
            (f64::from(g) - v).abs() <= bound,
            "{what}: element {i} is {g}, the direct sum {v} (bound {bound:e})"
        );
    }
}

struct Case {
    batch: usize,
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    params: Conv2dParams,
}

fn params(kernel_size: usize, stride: usize, padding: usize) -> Conv2dParams {
    Conv2dParams {
        kernel_size,
        stride,
        padding,
    }
}

fn run(case: &Case, seed: u64) {
    let Case {
        batch,
        c_in,
        c_out,
        h,
        w,
        params: p,
    } = *case;
    let k = p.kernel_size;
    let mut rng = Rng::new(seed);
    let x = rng.vec(batch * c_in * h * w);
    let weight = rng.vec(c_out * c_in * k * k);
    let bias = rng.vec(c_out);
    let x_shape = [batch, c_in, h, w];
    let w_shape = [c_out, c_in, k, k];
    let what = format!("{batch}x{c_in}x{h}x{w} -> {c_out}, {p:?}");
    for bias in [Some(bias.as_slice()), None] {
        let want = direct(&x, x_shape, &weight, c_out, bias, p);
        let xv = TensorView::new(&x, &x_shape).unwrap();
        let wv = TensorView::new(&weight, &w_shape).unwrap();
        let got = conv2d(xv, Filter::Direct(wv), bias, &p).unwrap();
        assert_matches(&what, &got, &want, TOL);
        if p.fits_winograd() {
            let u = winograd::transform_weight(wv).unwrap();
            let by_winograd = conv2d(xv, Filter::Winograd(u.view()), bias, &p).unwrap();
            assert_matches(&format!("{what} Winograd"), &by_winograd, &want, 4.0 * TOL);
        }
    }
}

#[test]
fn im2col_and_pointwise_paths_match_the_direct_sum() {
    let cases = [
        // 1x1: the GEMM straight on the input, one image and several.
        (1, 6, 5, 5, 4, params(1, 1, 0)),
        (3, 6, 5, 5, 4, params(1, 1, 0)),
        // 1x1 with a stride or padding takes im2col.
        (2, 3, 4, 5, 7, params(1, 2, 0)),
        (1, 3, 2, 3, 3, params(1, 1, 1)),
        // 3x3 without padding, wider padding, strides 2 and 3, odd sizes.
        (1, 3, 5, 6, 5, params(3, 1, 0)),
        (2, 2, 3, 4, 3, params(3, 1, 2)),
        (2, 4, 5, 8, 6, params(3, 2, 1)),
        (1, 2, 3, 9, 9, params(3, 2, 0)),
        (3, 3, 2, 7, 11, params(3, 3, 1)),
        // 5x5, and a kernel exactly as large as the padded input.
        (2, 2, 4, 6, 7, params(5, 1, 2)),
        (1, 2, 3, 3, 3, params(5, 1, 1)),
        // Deep enough that the GEMM blocks over k (c_in * 9 = 576).
        (2, 64, 7, 6, 5, params(3, 2, 1)),
    ];
    for (seed, (batch, c_in, c_out, h, w, params)) in cases.into_iter().enumerate() {
        let case = Case {
            batch,
            c_in,
            c_out,
            h,
            w,
            params,
        };
        run(&case, seed as u64);
    }
}

#[test]
fn winograd_and_im2col_match_the_direct_sum_and_each_other() {
    // Odd and even sides (odd ones leave half tiles), single rows and columns, one pixel,
    // batches, and channel counts on both sides of the GEMM's blocking.
    let sizes = [
        (1, 1, 1, 1, 1),
        (2, 3, 5, 7, 9),
        (1, 4, 4, 1, 7),
        (2, 2, 3, 6, 1),
        (3, 5, 2, 2, 3),
        (1, 40, 24, 10, 8),
        (2, 96, 17, 5, 6),
    ];
    for (seed, (batch, c_in, c_out, h, w)) in sizes.into_iter().enumerate() {
        let case = Case {
            batch,
            c_in,
            c_out,
            h,
            w,
            params: params(3, 1, 1),
        };
        run(&case, 100 + seed as u64);
    }
}

fn tensor(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(data, shape, &Device::Cpu).unwrap()
}

#[test]
fn candle_custom_ops_equal_the_slice_api_bit_for_bit() {
    let mut rng = Rng::new(7);
    let (x_shape, w_shape) = ([2, 3, 6, 5], [4, 3, 3, 3]);
    let x = rng.vec(x_shape.iter().product());
    let weight = rng.vec(w_shape.iter().product());
    let bias = rng.vec(4);
    let (xt, wt, bt) = (
        tensor(&x, &x_shape),
        tensor(&weight, &w_shape),
        tensor(&bias, &[4]),
    );
    let xv = TensorView::new(&x, &x_shape).unwrap();
    let wv = TensorView::new(&weight, &w_shape).unwrap();
    for p in [params(3, 1, 1), params(3, 2, 0)] {
        let want = conv2d(xv, Filter::Direct(wv), Some(&bias), &p).unwrap();
        let got = candle_ops::conv2d(&xt, &wt, Some(&bt), &p).unwrap();
        assert_eq!(got.dims(), want.shape);
        assert_eq!(host(&got), want.data, "{p:?}");
    }
    let u = winograd::transform_weight(wv).unwrap();
    let want = conv2d(
        xv,
        Filter::Winograd(u.view()),
        Some(&bias),
        &params(3, 1, 1),
    )
    .unwrap();
    let ut = candle_ops::winograd_weight(&wt).unwrap();
    assert_eq!(ut.dims(), u.shape);
    assert_eq!(host(&ut), u.data);
    // A transposed (non-contiguous) input is made contiguous first.
    let xt_strided = xt
        .transpose(2, 3)
        .unwrap()
        .contiguous()
        .unwrap()
        .transpose(2, 3)
        .unwrap();
    assert!(!xt_strided.is_contiguous());
    let got = candle_ops::conv2d_winograd(&xt_strided, &ut, Some(&bt)).unwrap();
    assert_eq!(host(&got), want.data);
}

#[test]
fn half_types_on_the_cpu_match_the_direct_sum() {
    let mut rng = Rng::new(11);
    let (x_shape, w_shape) = ([2, 4, 5, 6], [3, 4, 3, 3]);
    let x = rng.vec(x_shape.iter().product());
    let weight = rng.vec(w_shape.iter().product());
    let bias = rng.vec(3);
    for (dtype, rel) in [(DType::F16, 4e-3), (DType::BF16, 3e-2)] {
        // Round the inputs to the half type first, so that only the convolution's own
        // rounding is measured.
        let half = |v: &[f32], s: &[usize]| tensor(v, s).to_dtype(dtype).unwrap();
        let (xt, wt, bt) = (
            half(&x, &x_shape),
            half(&weight, &w_shape),
            half(&bias, &[3]),
        );
        for p in [params(3, 1, 1), params(3, 2, 1), params(1, 1, 0)] {
            let w_shape = [3, 4, p.kernel_size, p.kernel_size];
            let wt = if p.kernel_size == 1 {
                wt.narrow(2, 0, 1).unwrap().narrow(3, 0, 1).unwrap()
            } else {
                wt.clone()
            };
            let got = candle_ops::conv2d(&xt, &wt, Some(&bt), &p).unwrap();
            assert_eq!(got.dtype(), dtype);
            let want = direct(&host(&xt), x_shape, &host(&wt), 3, Some(&host(&bt)), p);
            assert_eq!(got.dims(), want.shape, "{dtype:?} {p:?} {w_shape:?}");
            for ((g, v), m) in host(&got).iter().zip(&want.values).zip(&want.magnitudes) {
                let bound = rel * m;
                assert!(
                    (f64::from(*g) - v).abs() <= bound,
                    "{dtype:?} {p:?}: {g} against {v} (bound {bound:e})"
                );
            }
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = Tensor::zeros((1, 2, 4, 4), DType::F32, &Device::Cpu).unwrap();
    let w = Tensor::zeros((3, 2, 3, 3), DType::F32, &Device::Cpu).unwrap();
    let too_small = params(5, 1, 0);
    let w5 = Tensor::zeros((3, 2, 5, 5), DType::F32, &Device::Cpu).unwrap();
    let err = candle_ops::conv2d(&x, &w5, None, &too_small).unwrap_err();
    assert!(
        err.to_string().contains("smaller than the 5x5 kernel"),
        "{err}"
    );
    let err = candle_ops::conv2d(&x, &w, None, &params(3, 0, 1)).unwrap_err();
    assert!(err.to_string().contains("stride 0"), "{err}");
    let u = candle_ops::winograd_weight(&w).unwrap();
    let bf16 = x.to_dtype(DType::BF16).unwrap();
    let err = candle_ops::conv2d_winograd(&bf16, &u, None).unwrap_err();
    assert!(err.to_string().contains("x is BF16, expected F32"), "{err}");
    let three_d = Tensor::zeros((2, 4, 4), DType::F32, &Device::Cpu).unwrap();
    assert!(candle_ops::conv2d(&three_d, &w, None, &params(3, 1, 1)).is_err());
    let wrong_bias = Tensor::zeros(2, DType::F32, &Device::Cpu).unwrap();
    let err = candle_ops::conv2d(&x, &w, Some(&wrong_bias), &params(3, 1, 1)).unwrap_err();
    assert!(
        err.to_string().contains("2 values for 3 output channels"),
        "{err}"
    );
}
