//! The fused kernels (norms, SiLU, GLUs, RoPE) on the double against the same maths written
//! out in candle on the CPU, over strided views and the three floating dtypes.

use super::elementwise::views;
use super::support::*;
use crate::common::Rng;
use candle_core::{D, DType, Tensor};
use ops_npu::attention::Layout;
use ops_npu::glu::Gelu;
use ops_npu::npu::ops;
use ops_npu::rope::RopeMode;

/// Reductions over a row: a few more units in f32, one rounding in the half types.
fn row_units(dtype: DType) -> f32 {
    if dtype == DType::F32 { 64.0 } else { 2.0 }
}

fn normalise(x: &Tensor, dim: usize, eps: f64) -> Tensor {
    let mean = x.mean_keepdim(dim).unwrap();
    let centred = x.broadcast_sub(&mean).unwrap();
    let var = centred.sqr().unwrap().mean_keepdim(dim).unwrap();
    centred
        .broadcast_div(&(var + eps).unwrap().sqrt().unwrap())
        .unwrap()
}

fn silu(x: &Tensor) -> Tensor {
    x.broadcast_div(&(x.neg().unwrap().exp().unwrap() + 1.0).unwrap())
        .unwrap()
}

#[test]
fn norms_match_candle_on_strided_inputs() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(701);
    for dtype in DTYPES {
        let x = random(&mut rng, &[4, 3, 32], dtype);
        let (g, b) = (
            random(&mut rng, &[32], dtype),
            random(&mut rng, &[32], dtype),
        );
        let (gd, bd) = (to_npu(s, &g), to_npu(s, &b));
        for (view, xd) in views(s, &x) {
            let (y, _) = ops::rms_norm(s, &xd, &gd, 1e-6).unwrap();
            let want = reference(dtype, &[&x, &g], |t| {
                let ms = t[0].sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
                t[0].broadcast_div(&(ms + 1e-6).unwrap().sqrt().unwrap())
                    .unwrap()
                    .broadcast_mul(&t[1])
                    .unwrap()
            });
            assert_units(
                &format!("rms_norm {view}"),
                dtype,
                &from_npu(s, &y),
                &want,
                row_units(dtype),
                1.0,
            );

            let y = ops::layer_norm(s, &xd, Some(&gd), Some(&bd), 1e-5).unwrap();
            let want = reference(dtype, &[&x, &g, &b], |t| {
                normalise(&t[0], 2, 1e-5)
                    .broadcast_mul(&t[1])
                    .unwrap()
                    .broadcast_add(&t[2])
                    .unwrap()
            });
            assert_units(
                &format!("layer_norm {view}"),
                dtype,
                &from_npu(s, &y),
                &want,
                row_units(dtype),
                1.0,
            );
        }
        // AdaLayerNorm: LN(x) * (1 + scale) + shift, one modulation per sample.
        let (sc, sh) = (
            random(&mut rng, &[4, 32], dtype),
            random(&mut rng, &[4, 32], dtype),
        );
        let y =
            ops::ada_layer_norm(s, &to_npu(s, &x), &to_npu(s, &sc), &to_npu(s, &sh), 1e-6).unwrap();
        let want = reference(dtype, &[&x, &sc, &sh], |t| {
            normalise(&t[0], 2, 1e-6)
                .broadcast_mul(&(t[1].unsqueeze(1).unwrap() + 1.0).unwrap())
                .unwrap()
                .broadcast_add(&t[2].unsqueeze(1).unwrap())
                .unwrap()
        });
        assert_units(
            "ada_layer_norm",
            dtype,
            &from_npu(s, &y),
            &want,
            row_units(dtype),
            1.0,
        );

        // GroupNorm (and + SiLU) over [n, c, h, w] in 4 groups.
        let x4 = random(&mut rng, &[2, 8, 3, 5], dtype);
        let (g8, b8) = (random(&mut rng, &[8], dtype), random(&mut rng, &[8], dtype));
        let group_ref = |t: &[Tensor]| {
            let n = normalise(&t[0].reshape((2, 4, 30)).unwrap(), 2, 1e-5)
                .reshape((2, 8, 3, 5))
                .unwrap();
            n.broadcast_mul(&t[1].reshape((1, 8, 1, 1)).unwrap())
                .unwrap()
                .broadcast_add(&t[2].reshape((1, 8, 1, 1)).unwrap())
                .unwrap()
        };
        for (view, xd) in views(s, &x4) {
            let (gd8, bd8) = (to_npu(s, &g8), to_npu(s, &b8));
            let y = ops::group_norm(s, &xd, 4, &gd8, &bd8, 1e-5).unwrap();
            let want = reference(dtype, &[&x4, &g8, &b8], group_ref);
            assert_units(
                &format!("group_norm {view}"),
                dtype,
                &from_npu(s, &y),
                &want,
                row_units(dtype),
                1.0,
            );
            let (y, _) = ops::group_norm_silu(s, &xd, 4, &gd8, &bd8, 1e-5).unwrap();
            let want = reference(dtype, &[&x4, &g8, &b8], |t| silu(&group_ref(t)));
            assert_units(
                &format!("group_norm_silu {view}"),
                dtype,
                &from_npu(s, &y),
                &want,
                row_units(dtype),
                1.0,
            );
        }
    }
    assert_no_leaked_descriptors(&env);
}

#[test]
fn silu_and_gated_units_match_candle() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(702);
    for dtype in DTYPES {
        let units = if dtype == DType::F32 { 16.0 } else { 2.0 };
        let x = random(&mut rng, &[3, 5, 16], dtype);
        for (view, xd) in views(s, &x) {
            let y = ops::silu(s, &xd).unwrap();
            let want = reference(dtype, &[&x], |t| silu(&t[0]));
            assert_units(
                &format!("silu {view}"),
                dtype,
                &from_npu(s, &y),
                &want,
                units,
                1.0,
            );
            // [hidden, gate] = x.chunk(2, -1): GEGLU = hidden * gelu(gate); SwiGLU =
            // silu(first) * second.
            for (name, gelu) in [("geglu erf", Gelu::Erf), ("geglu tanh", Gelu::Tanh)] {
                let y = ops::geglu(s, &xd, gelu).unwrap();
                let want = reference(dtype, &[&x], |t| {
                    let (h, g) = (t[0].narrow(2, 0, 8).unwrap(), t[0].narrow(2, 8, 8).unwrap());
                    let g = if gelu == Gelu::Erf {
                        g.gelu_erf()
                    } else {
                        g.gelu()
                    }
                    .unwrap();
                    (h * g).unwrap()
                });
                assert_units(
                    &format!("{name} {view}"),
                    dtype,
                    &from_npu(s, &y),
                    &want,
                    units,
                    1.0,
                );
            }
            let y = ops::swiglu(s, &xd).unwrap();
            let want = reference(dtype, &[&x], |t| {
                (silu(&t[0].narrow(2, 0, 8).unwrap()) * t[0].narrow(2, 8, 8).unwrap()).unwrap()
            });
            assert_units(
                &format!("swiglu {view}"),
                dtype,
                &from_npu(s, &y),
                &want,
                units,
                1.0,
            );
        }
    }
    assert_no_leaked_descriptors(&env);
}

#[test]
fn rope_matches_candle_in_both_pairings() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(703);
    let (b, seq, heads, dim) = (2, 6, 3, 16);
    for dtype in DTYPES {
        let x = random(&mut rng, &[b, seq, heads, dim], dtype);
        let (cos, sin) = (
            random(&mut rng, &[seq, dim], dtype),
            random(&mut rng, &[seq, dim], dtype),
        );
        for mode in [RopeMode::Half, RopeMode::Interleaved] {
            let y = ops::rope(
                s,
                &to_npu(s, &x),
                &to_npu(s, &cos),
                &to_npu(s, &sin),
                Layout::Bsnd,
                mode,
            )
            .unwrap();
            let want = reference(dtype, &[&x, &cos, &sin], |t| {
                let x = &t[0];
                let rotated = match mode {
                    RopeMode::Half => {
                        let (lo, hi) = (
                            x.narrow(3, 0, dim / 2).unwrap(),
                            x.narrow(3, dim / 2, dim / 2).unwrap(),
                        );
                        Tensor::cat(&[&hi.neg().unwrap(), &lo], 3).unwrap()
                    }
                    RopeMode::Interleaved => {
                        let pairs = x.reshape((b, seq, heads, dim / 2, 2)).unwrap();
                        let (even, odd) = (
                            pairs.narrow(4, 0, 1).unwrap(),
                            pairs.narrow(4, 1, 1).unwrap(),
                        );
                        Tensor::cat(&[&odd.neg().unwrap(), &even], 4)
                            .unwrap()
                            .reshape((b, seq, heads, dim))
                            .unwrap()
                    }
                };
                let table = |t: &Tensor| t.reshape((1, seq, 1, dim)).unwrap();
                (x.broadcast_mul(&table(&t[1])).unwrap()
                    + rotated.broadcast_mul(&table(&t[2])).unwrap())
                .unwrap()
            });
            let units = if dtype == DType::F32 { 8.0 } else { 2.0 };
            assert_units(
                &format!("rope {mode:?}"),
                dtype,
                &from_npu(s, &y),
                &want,
                units,
                1.0,
            );
        }
    }
    assert_no_leaked_descriptors(&env);
}
