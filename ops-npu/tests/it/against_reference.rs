//! The optimised CPU kernels against the scalar reference kernels on shapes the torch
//! fixtures do not cover (several key blocks, ragged tiles, fully masked rows, GQA
//! ratios), and the API's handling of bad input.

use crate::common::*;
use half::{bf16, f16};
use ops_npu::attention::{AttentionOptions, Layout, attention_with};
use ops_npu::glu::{Gelu, geglu, swiglu};
use ops_npu::norm::{group_norm, layer_norm, rms_norm};
use ops_npu::rope::{RopeMode, rope};
use ops_npu::tome::{Destinations, MergePlan, TomeConfig};
use ops_npu::{Implementation, OpsError, TensorView};

const OPT: Implementation = Implementation::Optimised;
const REF: Implementation = Implementation::Reference;

#[allow(clippy::too_many_arguments)]
fn check_attention(
    layout: Layout,
    b: usize,
    hq: usize,
    hkv: usize,
    sq: usize,
    skv: usize,
    d: usize,
    with_bias: bool,
    mask_every: Option<usize>,
) {
    let mut rng = Rng::new((b * 31 + hq * 7 + sq * 3 + skv + d) as u64);
    let shape = |h: usize, s: usize| match layout {
        Layout::Bsnd => vec![b, s, h, d],
        Layout::Bnsd => vec![b, h, s, d],
    };
    let (qs, ks) = (shape(hq, sq), shape(hkv, skv));
    let q = rng.vec(qs.iter().product());
    let k = rng.vec(ks.iter().product());
    let v = rng.vec(ks.iter().product());
    let bias_shape = [1, hq, 1, skv];
    let bias = rng.vec(hq * skv);
    let mask_shape = [b, 1, sq, skv];
    // Row 0 of every batch is fully masked when a mask is used: it must give zeros.
    let mask: Vec<bool> = (0..b * sq * skv)
        .map(|i| mask_every.is_some_and(|n| !(i / skv).is_multiple_of(sq) && i % n != 1))
        .collect();
    let run = |imp| {
        let opts = AttentionOptions {
            layout,
            scale: Some(0.7 / (d as f32).sqrt()),
            bias: with_bias.then(|| TensorView::new(&bias, &bias_shape).unwrap()),
            mask: mask_every.map(|_| TensorView::new(&mask, &mask_shape).unwrap()),
            return_lse: true,
        };
        attention_with(
            TensorView::new(&q, &qs).unwrap(),
            TensorView::new(&k, &ks).unwrap(),
            TensorView::new(&v, &ks).unwrap(),
            &opts,
            imp,
        )
        .unwrap()
    };
    let want = run(REF);
    let wl = want.lse.unwrap().data;
    // The run-time dispatched copy (AVX2+FMA here) and the baseline-ISA copy.
    for imp in [OPT, Implementation::Portable] {
        let got = run(imp);
        let what = format!("{imp:?} {layout:?} b{b} h{hq}/{hkv} s{sq}x{skv} d{d}");
        assert_close(&what, &got.out.data, &want.out.data, F32);
        let gl = got.lse.unwrap().data;
        for (i, (g, w)) in gl.iter().zip(&wl).enumerate() {
            assert!(
                (g == w) || (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{what}: lse[{i}] {g} vs {w}"
            );
        }
    }
    if mask_every.is_some() {
        assert_eq!(wl[0], f32::NEG_INFINITY, "fully masked row");
    }
}

#[test]
fn attention_blocks_tiles_and_layouts() {
    // Several 256-key blocks and a ragged last one; query rows not a multiple of 4 or 64.
    check_attention(Layout::Bnsd, 1, 2, 2, 131, 600, 64, false, None);
    check_attention(Layout::Bsnd, 2, 4, 1, 67, 77, 40, true, None);
    check_attention(Layout::Bsnd, 1, 6, 3, 300, 257, 80, true, Some(3));
    check_attention(Layout::Bnsd, 2, 1, 1, 1, 1, 1, false, None);
    check_attention(Layout::Bnsd, 1, 2, 1, 5, 19, 3, true, Some(2));
    check_attention(Layout::Bnsd, 1, 1, 1, 260, 300, 128, false, Some(5));
    // One head, many query rows: split into several tasks of one head; 6-row register
    // tiles with a ragged tail; head_dim 72 pads to the 16-wide value panels.
    check_attention(Layout::Bnsd, 1, 1, 1, 700, 90, 72, true, None);
}

#[test]
fn attention_from_several_threads_at_once() {
    // The worker pool serves one call at a time; the others run on their caller's thread.
    // Each must still match the reference.
    let shape = [1, 3, 150, 32];
    let inputs: Vec<Vec<f32>> = (0..4).map(|i| Rng::new(40 + i).vec(3 * 150 * 32)).collect();
    let want: Vec<Vec<f32>> = inputs
        .iter()
        .map(|x| {
            let v = TensorView::new(x, &shape).unwrap();
            attention_with(v, v, v, &AttentionOptions::default(), REF)
                .unwrap()
                .out
                .data
        })
        .collect();
    std::thread::scope(|scope| {
        for (x, w) in inputs.iter().zip(&want) {
            scope.spawn(move || {
                for _ in 0..20 {
                    let v = TensorView::new(x, &shape).unwrap();
                    let got = attention_with(v, v, v, &AttentionOptions::default(), OPT).unwrap();
                    assert_close("concurrent", &got.out.data, w, F32);
                }
            });
        }
    });
}

#[test]
fn attention_half_types_accumulate_in_f32() {
    let mut rng = Rng::new(3);
    let shape = [1, 2, 70, 32];
    let data: Vec<Vec<f32>> = (0..3).map(|_| rng.vec(70 * 64)).collect();
    let f32_out = attention_with(
        TensorView::new(&data[0], &shape).unwrap(),
        TensorView::new(&data[1], &shape).unwrap(),
        TensorView::new(&data[2], &shape).unwrap(),
        &AttentionOptions::default(),
        REF,
    )
    .unwrap()
    .out
    .data;
    let h: Vec<Vec<f16>> = data
        .iter()
        .map(|d| d.iter().map(|&x| f16::from_f32(x)).collect())
        .collect();
    let bh: Vec<Vec<bf16>> = data
        .iter()
        .map(|d| d.iter().map(|&x| bf16::from_f32(x)).collect())
        .collect();
    let out16 = attention_with(
        TensorView::new(&h[0], &shape).unwrap(),
        TensorView::new(&h[1], &shape).unwrap(),
        TensorView::new(&h[2], &shape).unwrap(),
        &AttentionOptions::default(),
        OPT,
    )
    .unwrap();
    let outb = attention_with(
        TensorView::new(&bh[0], &shape).unwrap(),
        TensorView::new(&bh[1], &shape).unwrap(),
        TensorView::new(&bh[2], &shape).unwrap(),
        &AttentionOptions::default(),
        OPT,
    )
    .unwrap();
    // Input rounding dominates: looser than the fixture tolerances by the input error.
    assert_close(
        "f16",
        &widen(&out16.out.data),
        &f32_out,
        Tol {
            atol: 1e-2,
            rtol: 1e-2,
        },
    );
    assert_close(
        "bf16",
        &widen(&outb.out.data),
        &f32_out,
        Tol {
            atol: 6e-2,
            rtol: 6e-2,
        },
    );
}

#[test]
fn row_kernels_match_reference_on_long_rows() {
    let mut rng = Rng::new(9);
    let x = rng.vec(7 * 3 * 1280);
    let w = rng.vec(1280);
    let shape = [7, 3, 1280];
    let xv = TensorView::new(&x, &shape).unwrap();
    let wv = TensorView::new(&w, &[1280]).unwrap();
    for (name, got, want) in [
        (
            "rms",
            rms_norm(xv, Some(wv), 1e-6, OPT),
            rms_norm(xv, Some(wv), 1e-6, REF),
        ),
        (
            "layer",
            layer_norm(xv, None, Some(wv), 1e-5, OPT),
            layer_norm(xv, None, Some(wv), 1e-5, REF),
        ),
        (
            "geglu",
            geglu(xv, Gelu::Tanh, OPT),
            geglu(xv, Gelu::Tanh, REF),
        ),
        ("swiglu", swiglu(xv, OPT), swiglu(xv, REF)),
    ] {
        assert_close(name, &got.unwrap().data, &want.unwrap().data, F32);
    }
    let gshape = [2, 64, 10, 12];
    let gx = rng.vec(2 * 64 * 120);
    let gv = TensorView::new(&gx, &gshape).unwrap();
    for silu in [false, true] {
        let got = group_norm(gv, 32, None, None, 1e-6, silu, OPT).unwrap();
        let want = group_norm(gv, 32, None, None, 1e-6, silu, REF).unwrap();
        assert_close("group", &got.data, &want.data, F32);
    }
    let rx = rng.vec(2 * 5 * 3 * 8);
    let cs = rng.vec(5 * 8);
    for layout in [Layout::Bsnd, Layout::Bnsd] {
        for mode in [RopeMode::Half, RopeMode::Interleaved] {
            let args = |imp| {
                rope(
                    TensorView::new(&rx, &[2, 5, 3, 8]).unwrap(),
                    TensorView::new(&cs, &[5, 8]).unwrap(),
                    TensorView::new(&cs, &[5, 8]).unwrap(),
                    layout,
                    mode,
                    imp,
                )
            };
            // BNSD reads [2, 5, 3, 8] as 5 heads of 3 positions: cos/sin need [3, 8].
            if layout == Layout::Bnsd {
                assert!(matches!(args(OPT), Err(OpsError::Shape { arg: "cos", .. })));
                continue;
            }
            assert_close(
                "rope",
                &args(OPT).unwrap().data,
                &args(REF).unwrap().data,
                F32,
            );
        }
    }
}

#[test]
fn bad_shapes_are_errors_naming_the_argument() {
    let x = vec![0f32; 24];
    let bad = |r: ops_npu::Result<ops_npu::Tensor<f32>>| match r {
        Err(OpsError::Shape { arg, .. }) => arg,
        other => panic!("expected a shape error, got {other:?}"),
    };
    assert!(TensorView::new(&x, &[5, 5]).is_err());
    let v = TensorView::new(&x, &[2, 3, 4]).unwrap();
    let w5 = vec![1f32; 5];
    assert_eq!(
        bad(rms_norm(
            v,
            Some(TensorView::new(&w5, &[5]).unwrap()),
            1e-6,
            OPT
        )),
        "weight"
    );
    assert_eq!(
        bad(group_norm(v, 2, None, None, 1e-5, false, OPT)),
        "groups"
    );
    assert_eq!(bad(swiglu(TensorView::new(&x, &[8, 3]).unwrap(), OPT)), "x");
    let q = TensorView::new(&x, &[1, 2, 3, 4]).unwrap();
    let k = TensorView::new(&x[..16], &[1, 2, 2, 4]).unwrap();
    let v3 = TensorView::new(&x[..12], &[1, 1, 3, 4]).unwrap();
    let err = attention_with(q, k, v3, &AttentionOptions::default(), OPT).unwrap_err();
    assert!(matches!(err, OpsError::Shape { arg: "v", .. }), "{err}");
    let mask = vec![true; 5];
    let opts = AttentionOptions {
        mask: Some(TensorView::new(&mask, &[5]).unwrap()),
        ..Default::default()
    };
    let err = attention_with(q, k, k, &opts, OPT).unwrap_err();
    assert!(matches!(err, OpsError::Shape { arg: "mask", .. }), "{err}");
}

#[test]
fn token_merging_with_injected_generator_round_trips() {
    let mut rng = Rng::new(5);
    let (w, h, c) = (16, 12, 6);
    let metric = rng.vec(2 * w * h * c);
    let shape = [2, w * h, c];
    let mut draws = Rng::new(77);
    let dst = Destinations::random(h / 2, w / 2, 4, |n| (draws.uniform() * n as f32) as usize);
    let cfg = TomeConfig {
        w,
        h,
        sx: 2,
        sy: 2,
        r: 90,
    };
    let plan = MergePlan::new(TensorView::new(&metric, &shape).unwrap(), cfg, &dst).unwrap();
    assert_eq!(plan.removed(), 90);
    let merged = plan
        .merge(TensorView::new(&metric, &shape).unwrap())
        .unwrap();
    assert_eq!(merged.shape, vec![2, w * h - 90, c]);
    // Unmerging, then merging again, is the identity on merged tensors (each destination
    // is the mean of copies of itself).
    let back = plan.unmerge(merged.view()).unwrap();
    let again = plan.merge(back.view()).unwrap();
    assert_close("merge(unmerge(m))", &again.data, &merged.data, F32);
    let bad = Destinations::Chosen(vec![4; (w / 2) * (h / 2)]);
    let err = MergePlan::new(TensorView::new(&metric, &shape).unwrap(), cfg, &bad).unwrap_err();
    assert!(
        matches!(
            err,
            OpsError::Shape {
                arg: "destinations",
                ..
            }
        ),
        "{err}"
    );
}
