//! Arithmetic (tensor and scalar forms, broadcast), activations and softmax.

use super::support::*;
use crate::common::Rng;
use candle_core::{DType, Tensor};
use ops_npu::npu::ops;
use ops_npu::npu::{NpuStream, NpuTensor};

/// The same logical tensor three ways: contiguous, a transposed view of a transposed
/// upload (non-unit innermost stride), and a narrowed view with a non-zero offset.
pub fn views(s: &NpuStream, t: &Tensor) -> Vec<(&'static str, NpuTensor)> {
    let rank = t.rank();
    let last = rank - 1;
    let transposed = to_npu(s, &t.transpose(0, last).unwrap().contiguous().unwrap())
        .transpose(0, last)
        .unwrap();
    assert!(!transposed.is_contiguous() || t.dims()[0] == 1 || t.dims()[last] == 1);
    let lead = t.narrow(0, 0, 1).unwrap();
    let padded = to_npu(s, &Tensor::cat(&[&lead, t], 0).unwrap());
    let narrowed = padded.narrow(0, 1, t.dims()[0]).unwrap();
    assert!(narrowed.offset() > 0);
    vec![
        ("contiguous", to_npu(s, t)),
        ("transposed view", transposed),
        ("narrowed view", narrowed),
    ]
}

fn softmax_ref(x: &Tensor, dim: usize) -> Tensor {
    let m = x.max_keepdim(dim).unwrap();
    let e = x.broadcast_sub(&m).unwrap().exp().unwrap();
    e.broadcast_div(&e.sum_keepdim(dim).unwrap()).unwrap()
}

fn sigmoid_ref(x: &Tensor) -> Tensor {
    (x.neg().unwrap().exp().unwrap() + 1.0)
        .unwrap()
        .recip()
        .unwrap()
}

#[test]
fn binary_ops_broadcast_over_strided_views_at_every_dtype() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(101);
    for dtype in DTYPES {
        for (ashape, bshape) in [
            (vec![3, 4, 5], vec![4, 1]),
            (vec![2, 7], vec![2, 7]),
            (vec![4, 1, 6], vec![3, 1]),
        ] {
            let a = random(&mut rng, &ashape, dtype);
            // Denominators kept away from zero.
            let b = (random(&mut rng, &bshape, dtype).abs().unwrap() + 0.5)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            let bd = to_npu(s, &b);
            for (view, ad) in views(s, &a) {
                type Op = fn(&NpuStream, &NpuTensor, &NpuTensor) -> ops_npu::Result<NpuTensor>;
                type Cpu = fn(&Tensor, &Tensor) -> Tensor;
                let cases: [(&str, Op, Cpu); 4] = [
                    ("add", ops::add, |x, y| x.broadcast_add(y).unwrap()),
                    ("sub", ops::sub, |x, y| x.broadcast_sub(y).unwrap()),
                    ("mul", ops::mul, |x, y| x.broadcast_mul(y).unwrap()),
                    ("div", ops::div, |x, y| x.broadcast_div(y).unwrap()),
                ];
                for (name, npu, cpu) in cases {
                    let got = npu(s, &ad, &bd).unwrap();
                    let want = reference(dtype, &[&a, &b], |t| cpu(&t[0], &t[1]));
                    let what = format!("{name} {ashape:?}x{bshape:?} {view}");
                    assert_eq!(got.dtype(), npu_dtype(dtype), "{what}");
                    assert_units(&what, dtype, &from_npu(s, &got), &want, 2.0, 1.0);
                }
            }
        }
    }
    assert_no_leaked_descriptors(&env);
}

#[test]
fn scalar_forms_match_candle_affine() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(102);
    for dtype in DTYPES {
        let a = random(&mut rng, &[5, 6], dtype);
        for (view, ad) in views(s, &a) {
            let v = 0.37;
            let cases: [(&str, NpuTensor, f64, f64); 4] = [
                ("add_scalar", ops::add_scalar(s, &ad, v).unwrap(), 1.0, v),
                ("sub_scalar", ops::sub_scalar(s, &ad, v).unwrap(), 1.0, -v),
                ("mul_scalar", ops::mul_scalar(s, &ad, v).unwrap(), v, 0.0),
                (
                    "div_scalar",
                    ops::div_scalar(s, &ad, v).unwrap(),
                    1.0 / v,
                    0.0,
                ),
            ];
            for (name, got, mul, add) in cases {
                let want = reference(dtype, &[&a], |t| t[0].affine(mul, add).unwrap());
                assert_units(
                    &format!("{name} {view}"),
                    dtype,
                    &from_npu(s, &got),
                    &want,
                    2.0,
                    1.0,
                );
            }
        }
    }
    assert_no_leaked_descriptors(&env);
}

#[test]
fn unary_ops_and_softmax_match_candle() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(103);
    for dtype in DTYPES {
        // f32 transcendental functions differ by a few ulps between libm and candle.
        let units = if dtype == DType::F32 { 16.0 } else { 2.0 };
        let a = random(&mut rng, &[4, 3, 8], dtype);
        for (view, ad) in views(s, &a) {
            type Npu = Box<dyn Fn(&NpuStream, &NpuTensor) -> ops_npu::Result<NpuTensor>>;
            type Cpu = Box<dyn Fn(&Tensor) -> Tensor>;
            let cases: Vec<(&str, Npu, Cpu)> = vec![
                ("neg", Box::new(ops::neg), Box::new(|x| x.neg().unwrap())),
                ("exp", Box::new(ops::exp), Box::new(|x| x.exp().unwrap())),
                (
                    "clamp",
                    Box::new(|s, x| ops::clamp(s, x, -0.5, 0.75)),
                    Box::new(|x| x.clamp(-0.5f32, 0.75f32).unwrap()),
                ),
                ("sigmoid", Box::new(ops::sigmoid), Box::new(sigmoid_ref)),
                ("relu", Box::new(ops::relu), Box::new(|x| x.relu().unwrap())),
                (
                    "gelu (erf)",
                    Box::new(ops::gelu),
                    Box::new(|x| x.gelu_erf().unwrap()),
                ),
                (
                    "gelu (tanh)",
                    Box::new(ops::gelu_tanh),
                    Box::new(|x| x.gelu().unwrap()),
                ),
                (
                    "softmax(-1)",
                    Box::new(|s, x| ops::softmax(s, x, -1)),
                    Box::new(|x| softmax_ref(x, x.rank() - 1)),
                ),
                (
                    "softmax(1)",
                    Box::new(|s, x| ops::softmax(s, x, 1)),
                    Box::new(|x| softmax_ref(x, 1)),
                ),
            ];
            for (name, npu, cpu) in cases {
                let got = npu(s, &ad).unwrap();
                let want = reference(dtype, &[&a], |t| cpu(&t[0]));
                assert_units(
                    &format!("{name} {view}"),
                    dtype,
                    &from_npu(s, &got),
                    &want,
                    units,
                    1.0,
                );
            }
        }
    }
    assert_no_leaked_descriptors(&env);
}
