//! Shared pieces of the op suite: opening the double, moving tensors between candle and the
//! NPU, tolerances in rounding units, and the leak check.

use crate::common::Rng;
use crate::doubles::{FakeAscend, counter};
use candle_core::{DType, Device, Tensor};
use ops_npu::npu::{NpuDType, NpuLibraries, NpuRuntime, NpuStream, NpuTensor};
use std::path::PathBuf;

pub struct Env {
    pub root: PathBuf,
    pub rt: NpuRuntime,
    pub s: NpuStream,
}

/// Opens the double (910B3 unless `soc` says otherwise) in this process.
pub fn open(soc: Option<&str>) -> Env {
    assert!(
        std::env::var_os("NEXTEST").is_some(),
        "the NPU op suite needs a process per test: run it with cargo nextest"
    );
    let mut fake = FakeAscend::new();
    if let Some(soc) = soc {
        fake = fake.soc(soc);
    }
    let root = fake.install();
    let rt = NpuRuntime::open(&NpuLibraries::in_root(&root), 0).unwrap();
    let s = rt.stream().unwrap();
    Env { root, rt, s }
}

pub const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

pub fn npu_dtype(d: DType) -> NpuDType {
    match d {
        DType::F32 => NpuDType::F32,
        DType::F16 => NpuDType::F16,
        DType::BF16 => NpuDType::BF16,
        other => panic!("no NPU dtype for {other:?}"),
    }
}

/// A random candle tensor of `dtype` (values drawn in f32, then rounded to the dtype).
pub fn random(rng: &mut Rng, shape: &[usize], dtype: DType) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(rng.vec(n), shape, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// The same values on the device, in the same dtype.
pub fn to_npu(s: &NpuStream, t: &Tensor) -> NpuTensor {
    let shape = t.dims().to_vec();
    let flat = t.flatten_all().unwrap();
    match t.dtype() {
        DType::F32 => NpuTensor::upload(s, &flat.to_vec1::<f32>().unwrap(), &shape),
        DType::F16 => NpuTensor::upload(s, &flat.to_vec1::<half::f16>().unwrap(), &shape),
        DType::BF16 => NpuTensor::upload(s, &flat.to_vec1::<half::bf16>().unwrap(), &shape),
        DType::I64 => NpuTensor::upload(s, &flat.to_vec1::<i64>().unwrap(), &shape),
        other => panic!("no upload for {other:?}"),
    }
    .unwrap()
}

/// A device tensor's values, widened to f32.
pub fn from_npu(s: &NpuStream, t: &NpuTensor) -> Vec<f32> {
    match t.dtype() {
        NpuDType::F32 => t.download::<f32>(s).unwrap(),
        NpuDType::F16 => t
            .download::<half::f16>(s)
            .unwrap()
            .iter()
            .map(|v| v.to_f32())
            .collect(),
        NpuDType::BF16 => t
            .download::<half::bf16>(s)
            .unwrap()
            .iter()
            .map(|v| v.to_f32())
            .collect(),
        other => panic!("no download for {other}"),
    }
}

/// candle computing `f` in f32 on the (already rounded) inputs, the result rounded to
/// `dtype`: the reference a correctly rounded kernel is held to.
pub fn reference(dtype: DType, inputs: &[&Tensor], f: impl Fn(&[Tensor]) -> Tensor) -> Vec<f32> {
    let wide: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.to_dtype(DType::F32).unwrap())
        .collect();
    crate::common::host(&f(&wide).to_dtype(dtype).unwrap())
}

/// The dtype's unit roundoff: 2^-(mantissa bits + 1).
pub fn unit(dtype: DType) -> f32 {
    match dtype {
        DType::F16 => 2f32.powi(-11),
        DType::BF16 => 2f32.powi(-8),
        _ => 2f32.powi(-24),
    }
}

/// Asserts |got - want| <= units * u(dtype) * max(|want|, floor) element by element, where
/// `floor` is the magnitude an op's intermediate values reach (1 for elementwise ops).
#[track_caller]
pub fn assert_units(what: &str, dtype: DType, got: &[f32], want: &[f32], units: f32, floor: f32) {
    assert_within(what, dtype, unit(dtype), got, want, units, floor);
}

/// [`assert_units`] with an explicit unit roundoff `u`, for ops the docs say compute in a
/// narrower type than their tensors (f32 convolution in HFLOAT32).
#[track_caller]
pub fn assert_within(
    what: &str,
    dtype: DType,
    u: f32,
    got: &[f32],
    want: &[f32],
    units: f32,
    floor: f32,
) {
    assert_eq!(got.len(), want.len(), "{what} {dtype:?}: element count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let bound = units * u * w.abs().max(floor);
        assert!(
            (g - w).abs() <= bound || (g.is_nan() && w.is_nan()),
            "{what} {dtype:?}: element {i} is {g}, candle says {w} (bound {bound:e})"
        );
    }
}

/// No descriptor, scalar, list or executor outlives its call.
#[track_caller]
pub fn assert_no_leaked_descriptors(env: &Env) {
    env.s.synchronize().unwrap();
    assert_eq!(
        counter(&env.root, "libnnopbase.so", "fake_live_descriptors"),
        0,
        "live nnopbase descriptors after the calls"
    );
}
