//! Matrix products and convolution: the shapes the UNet, the VAE and the transformers use,
//! with transposed weights (a view, as `linear` passes them) and broadcast batches.

use super::support::*;
use crate::common::{Rng, host};
use candle_core::{DType, Tensor};
use ops_npu::npu::ops::{self, Conv2d};

/// Tolerance for a k-term dot product: one rounding of the result in the half types; in
/// f32 the two sides also accumulate differently (f64 or f32, in another order).
fn dot_units(dtype: DType, k: usize) -> (f32, f32) {
    let floor = (k as f32).sqrt();
    if dtype == DType::F32 {
        (4.0 * k as f32, floor)
    } else {
        (2.0, floor)
    }
}

#[test]
fn matmuls_match_candle_with_transposed_weights_and_broadcast_batches() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(301);
    for dtype in DTYPES {
        // batch_matmul [b, m, k] x [b, k, n]
        let (a, b) = (
            random(&mut rng, &[3, 5, 16], dtype),
            random(&mut rng, &[3, 16, 7], dtype),
        );
        let got = ops::batch_matmul(s, &to_npu(s, &a), &to_npu(s, &b)).unwrap();
        let want = reference(dtype, &[&a, &b], |t| t[0].matmul(&t[1]).unwrap());
        let (u, f) = dot_units(dtype, 16);
        assert_units("batch_matmul", dtype, &from_npu(s, &got), &want, u, f);

        // x [2, 4, 9, 32] x weight.t() where weight is [24, 32]: a transposed view.
        let x = random(&mut rng, &[2, 4, 9, 32], dtype);
        let w = random(&mut rng, &[24, 32], dtype);
        let wt = to_npu(s, &w).transpose(0, 1).unwrap();
        assert!(!wt.is_contiguous());
        let got = ops::matmul_nd(s, &to_npu(s, &x), &wt).unwrap();
        assert_eq!(got.shape(), &[2, 4, 9, 24]);
        let want = reference(dtype, &[&x, &w], |t| {
            t[0].broadcast_matmul(&t[1].t().unwrap()).unwrap()
        });
        let (u, f) = dot_units(dtype, 32);
        assert_units(
            "matmul_nd (x @ w.T)",
            dtype,
            &from_npu(s, &got),
            &want,
            u,
            f,
        );

        // Attention-style batch broadcast: [2, 1, 6, 8] x [1, 3, 8, 5].
        let (a, b) = (
            random(&mut rng, &[2, 1, 6, 8], dtype),
            random(&mut rng, &[1, 3, 8, 5], dtype),
        );
        let got = ops::matmul_nd(s, &to_npu(s, &a), &to_npu(s, &b)).unwrap();
        assert_eq!(got.shape(), &[2, 3, 6, 5]);
        let want = reference(dtype, &[&a, &b], |t| t[0].broadcast_matmul(&t[1]).unwrap());
        let (u, f) = dot_units(dtype, 8);
        assert_units(
            "matmul_nd broadcast",
            dtype,
            &from_npu(s, &got),
            &want,
            u,
            f,
        );

        // addmm: beta * bias + alpha * (a @ b), bias a row vector.
        let (bias, a, b) = (
            random(&mut rng, &[7], dtype),
            random(&mut rng, &[5, 16], dtype),
            random(&mut rng, &[16, 7], dtype),
        );
        let got = ops::addmm(
            s,
            &to_npu(s, &bias),
            &to_npu(s, &a),
            &to_npu(s, &b),
            0.5,
            2.0,
        )
        .unwrap();
        let want = reference(dtype, &[&bias, &a, &b], |t| {
            (t[1].matmul(&t[2]).unwrap() * 2.0)
                .unwrap()
                .broadcast_add(&(&t[0] * 0.5).unwrap())
                .unwrap()
        });
        let (u, f) = dot_units(dtype, 16);
        assert_units("addmm", dtype, &from_npu(s, &got), &want, u, 2.0 * f);
    }
    assert_no_leaked_descriptors(&env);
}

#[test]
fn convolutions_match_candle_for_the_unet_and_vae_shapes() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(302);
    for dtype in DTYPES {
        let x = random(&mut rng, &[2, 4, 9, 8], dtype);
        for (name, o, k, p) in [
            (
                "3x3 stride 1",
                6,
                3,
                Conv2d {
                    padding: 1,
                    ..Conv2d::default()
                },
            ),
            (
                "3x3 stride 2 (downsampler)",
                6,
                3,
                Conv2d {
                    stride: 2,
                    padding: 1,
                    ..Conv2d::default()
                },
            ),
            ("1x1 (shortcut)", 5, 1, Conv2d::default()),
            (
                "3x3 dilation 2, 2 groups",
                6,
                3,
                Conv2d {
                    padding: 2,
                    dilation: 2,
                    groups: 2,
                    ..Conv2d::default()
                },
            ),
        ] {
            let w = random(&mut rng, &[o, 4 / p.groups, k, k], dtype);
            let b = random(&mut rng, &[o], dtype);
            let got =
                ops::conv2d(s, &to_npu(s, &x), &to_npu(s, &w), Some(&to_npu(s, &b)), p).unwrap();
            let want_t = {
                let t: Vec<Tensor> = [&x, &w, &b]
                    .iter()
                    .map(|t| t.to_dtype(DType::F32).unwrap())
                    .collect();
                t[0].conv2d(&t[1], p.padding, p.stride, p.dilation, p.groups)
                    .unwrap()
                    .broadcast_add(&t[2].reshape((1, o, 1, 1)).unwrap())
                    .unwrap()
                    .to_dtype(dtype)
                    .unwrap()
            };
            assert_eq!(got.shape(), want_t.dims(), "{name}");
            let terms = 4 / p.groups * k * k;
            let (units, floor) = dot_units(dtype, terms);
            let (got, want) = (from_npu(s, &got), host(&want_t));
            let what = format!("conv2d {name}");
            if dtype == DType::F32 {
                // aclnnConvolution computes f32 inputs in HFLOAT32 (cubeMathType 1, the only
                // mode its doc allows for FLOAT): inputs keep 11 significant bits, so each
                // of the products carries that rounding.
                let hf32 = 2f32.powi(-11);
                assert_within(&what, dtype, hf32, &got, &want, 2.0 * terms as f32, floor);
            } else {
                assert_units(&what, dtype, &got, &want, units, floor);
            }
        }
    }
    assert_no_leaked_descriptors(&env);
}
