//! The candle entry points: the CPU custom ops must equal the direct API bit for bit (same
//! kernel), and the candle composites (the CUDA fallback) must agree within tolerance.

use crate::common::*;
use candle_core::{DType, Device, Tensor};
use ops_npu::attention::{AttentionOptions, Layout, attention};
use ops_npu::candle_ops::{self, CandleAttention, composite};
use ops_npu::glu::{Gelu, geglu, swiglu};
use ops_npu::norm::{ada_layer_norm, group_norm, layer_norm, rms_norm};
use ops_npu::rope::{RopeMode, rope};
use ops_npu::{Implementation, TensorView};

const OPT: Implementation = Implementation::Optimised;

fn tensor(rng: &mut Rng, shape: &[usize]) -> Tensor {
    Tensor::from_vec(rng.vec(shape.iter().product()), shape, &Device::Cpu).unwrap()
}

#[test]
fn attention_custom_op_equals_direct_and_composite() {
    let mut rng = Rng::new(1);
    let (q, k, v) = (
        tensor(&mut rng, &[2, 40, 4, 16]),
        tensor(&mut rng, &[2, 77, 2, 16]),
        tensor(&mut rng, &[2, 77, 2, 16]),
    );
    let bias = tensor(&mut rng, &[1, 4, 40, 77]);
    let mask_host: Vec<u8> = (0..40 * 77)
        .map(|i| u8::from(i % 77 == 0 || i % 3 != 0))
        .collect();
    let mask = Tensor::from_vec(mask_host.clone(), (40, 77), &Device::Cpu).unwrap();
    let opts = CandleAttention {
        layout: Layout::Bsnd,
        scale: None,
        bias: Some(&bias),
        mask: Some(&mask),
    };
    let via_candle = candle_ops::attention(&q, &k, &v, &opts).unwrap();
    let via_composite = composite::attention(&q, &k, &v, &opts).unwrap();

    let (qh, kh, vh, bh) = (host(&q), host(&k), host(&v), host(&bias));
    let mask_bool: Vec<bool> = mask_host.iter().map(|&m| m != 0).collect();
    let direct = attention(
        TensorView::new(&qh, &[2, 40, 4, 16]).unwrap(),
        TensorView::new(&kh, &[2, 77, 2, 16]).unwrap(),
        TensorView::new(&vh, &[2, 77, 2, 16]).unwrap(),
        &AttentionOptions {
            layout: Layout::Bsnd,
            bias: Some(TensorView::new(&bh, &[1, 4, 40, 77]).unwrap()),
            mask: Some(TensorView::new(&mask_bool, &[40, 77]).unwrap()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(via_candle.dims(), &[2, 40, 4, 16]);
    assert_eq!(host(&via_candle), direct.out.data);
    assert_close("composite", &host(&via_composite), &direct.out.data, F32);

    // Half types through the custom op, and a non-contiguous (transposed) input.
    for dtype in [DType::F16, DType::BF16] {
        let (qd, kd, vd) = (
            q.to_dtype(dtype).unwrap(),
            k.to_dtype(dtype).unwrap(),
            v.to_dtype(dtype).unwrap(),
        );
        let got = candle_ops::attention(
            &qd,
            &kd,
            &vd,
            &CandleAttention {
                layout: Layout::Bsnd,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(got.dtype(), dtype);
        let want = composite::attention(
            &qd,
            &kd,
            &vd,
            &CandleAttention {
                layout: Layout::Bsnd,
                ..Default::default()
            },
        )
        .unwrap();
        let tol = if dtype == DType::F16 { F16 } else { BF16 };
        assert_close(&format!("{dtype:?}"), &host(&got), &host(&want), tol);
    }
    let qt = q.transpose(1, 2).unwrap();
    let (kt, vt) = (k.transpose(1, 2).unwrap(), v.transpose(1, 2).unwrap());
    let bnsd = candle_ops::attention(&qt, &kt, &vt, &CandleAttention::default()).unwrap();
    let plain = candle_ops::attention(
        &q,
        &k,
        &v,
        &CandleAttention {
            layout: Layout::Bsnd,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(host(&bnsd.transpose(1, 2).unwrap()), host(&plain));
}

#[test]
fn row_kernels_custom_ops_equal_direct_and_composite() {
    let mut rng = Rng::new(2);
    let x = tensor(&mut rng, &[2, 6, 32]);
    let w = tensor(&mut rng, &[32]);
    let b = tensor(&mut rng, &[32]);
    let xs = host(&x);
    let (wh, bh) = (host(&w), host(&b));
    let xv = TensorView::new(&xs, &[2, 6, 32]).unwrap();
    let wv = TensorView::new(&wh, &[32]).unwrap();
    let bv = TensorView::new(&bh, &[32]).unwrap();
    let check = |name: &str, candle: Tensor, composite: Tensor, direct: Vec<f32>| {
        assert_eq!(host(&candle), direct, "{name}: custom op vs direct");
        assert_close(name, &host(&composite), &direct, F32);
    };
    check(
        "rms",
        candle_ops::rms_norm(&x, Some(&w), 1e-6).unwrap(),
        composite::rms_norm(&x, Some(&w), 1e-6).unwrap(),
        rms_norm(xv, Some(wv), 1e-6, OPT).unwrap().data,
    );
    check(
        "layer (bias only)",
        candle_ops::layer_norm(&x, None, Some(&b), 1e-5).unwrap(),
        composite::layer_norm(&x, None, Some(&b), 1e-5).unwrap(),
        layer_norm(xv, None, Some(bv), 1e-5, OPT).unwrap().data,
    );
    let (sc, sh) = (tensor(&mut rng, &[2, 32]), tensor(&mut rng, &[2, 32]));
    let (sch, shh) = (host(&sc), host(&sh));
    check(
        "ada",
        candle_ops::ada_layer_norm(&x, &sc, &sh, 1e-6).unwrap(),
        composite::ada_layer_norm(&x, &sc, &sh, 1e-6).unwrap(),
        ada_layer_norm(
            xv,
            TensorView::new(&sch, &[2, 32]).unwrap(),
            TensorView::new(&shh, &[2, 32]).unwrap(),
            1e-6,
            OPT,
        )
        .unwrap()
        .data,
    );
    let gx = tensor(&mut rng, &[2, 32, 3, 5]);
    let gh = host(&gx);
    check(
        "group+silu",
        candle_ops::group_norm(&gx, 8, Some(&w), Some(&b), 1e-5, true).unwrap(),
        composite::group_norm(&gx, 8, Some(&w), Some(&b), 1e-5, true).unwrap(),
        group_norm(
            TensorView::new(&gh, &[2, 32, 3, 5]).unwrap(),
            8,
            Some(wv),
            Some(bv),
            1e-5,
            true,
            OPT,
        )
        .unwrap()
        .data,
    );
    for gelu in [Gelu::Erf, Gelu::Tanh] {
        check(
            "geglu",
            candle_ops::geglu(&x, gelu).unwrap(),
            composite::geglu(&x, gelu).unwrap(),
            geglu(xv, gelu, OPT).unwrap().data,
        );
    }
    check(
        "swiglu",
        candle_ops::swiglu(&x).unwrap(),
        composite::swiglu(&x).unwrap(),
        swiglu(xv, OPT).unwrap().data,
    );
    let rx = tensor(&mut rng, &[2, 3, 5, 8]);
    let (cos, sin) = (tensor(&mut rng, &[5, 8]), tensor(&mut rng, &[5, 8]));
    let (rh, ch, sh2) = (host(&rx), host(&cos), host(&sin));
    for mode in [RopeMode::Half, RopeMode::Interleaved] {
        check(
            "rope",
            candle_ops::rope(&rx, &cos, &sin, Layout::Bnsd, mode).unwrap(),
            composite::rope(&rx, &cos, &sin, Layout::Bnsd, mode).unwrap(),
            rope(
                TensorView::new(&rh, &[2, 3, 5, 8]).unwrap(),
                TensorView::new(&ch, &[5, 8]).unwrap(),
                TensorView::new(&sh2, &[5, 8]).unwrap(),
                Layout::Bnsd,
                mode,
                OPT,
            )
            .unwrap()
            .data,
        );
    }
}

#[test]
fn candle_errors_instead_of_panics() {
    let x = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
    let err = candle_ops::swiglu(&x).unwrap_err();
    assert!(
        err.to_string().contains("last dimension must be even"),
        "{err}"
    );
    let ints = Tensor::zeros((2, 4), DType::U32, &Device::Cpu).unwrap();
    assert!(candle_ops::swiglu(&ints).is_err());
    let mixed = Tensor::zeros(4, DType::F16, &Device::Cpu).unwrap();
    let xs = Tensor::zeros((2, 4), DType::F32, &Device::Cpu).unwrap();
    assert!(candle_ops::rms_norm(&xs, Some(&mixed), 1e-6).is_err());
}
