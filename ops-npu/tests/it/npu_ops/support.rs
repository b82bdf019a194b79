//! Shared pieces of the op suite: opening the libraries under test, moving tensors between
//! candle and the NPU, tolerances in rounding units, and the leak check.
//!
//! Which libraries: by default the strict test double, built here (CI). With
//! `OPS_NPU_LIBRARIES=real` the suite opens what `NpuLibraries::from_env()` finds
//! ($ASCEND_HOME_PATH, $ASCEND_TOOLKIT_HOME, the default install), and with
//! `OPS_NPU_LIBRARIES=/path/to/cann` that root: the same op tests then check the vendor
//! kernels against candle, which is what scripts/npu/check.sh runs on an Ascend host.
//! Tests that need the double itself (its counters, a variant with an op removed, another
//! SoC) return early there with a line saying so (see [`skip`]).

use crate::common::Rng;
use crate::doubles::{FakeAscend, counter};
use candle_core::{DType, Device, Tensor};
use ops_npu::npu::{NpuDType, NpuLibraries, NpuRuntime, NpuStream, NpuTensor};
use std::path::PathBuf;

/// The variable that points the suite at real libraries.
pub const LIBRARIES_VAR: &str = "OPS_NPU_LIBRARIES";

/// The libraries the suite runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The strict test double, built by scripts/npu/build-double.sh (the default).
    Double,
    /// Libraries the suite does not build: whatever they are, no counters are read and no
    /// variant is asked for.
    Real(NpuLibraries),
}

/// What `OPS_NPU_LIBRARIES` asks for; anything unrecognised is an error, not the double,
/// so an operator's typo cannot quietly test the double instead of the hardware.
pub fn target() -> Target {
    match std::env::var_os(LIBRARIES_VAR) {
        None => Target::Double,
        Some(v) if v.is_empty() || v == "double" => Target::Double,
        Some(v) if v == "real" => Target::Real(NpuLibraries::from_env()),
        Some(v) => {
            let root = PathBuf::from(&v);
            assert!(
                root.is_absolute() && root.join("lib64/libascendcl.so").is_file(),
                "{LIBRARIES_VAR}={}: expected `double`, `real` or an absolute CANN root with \
                 lib64/libascendcl.so",
                root.display()
            );
            Target::Real(NpuLibraries::in_root(&root))
        }
    }
}

/// Whether the suite runs on the test double (the default).
pub fn on_double() -> bool {
    target() == Target::Double
}

/// Prints why a test does not apply to real libraries; the caller returns at once. The
/// line starts with a fixed marker so scripts/npu/check.sh can list the skipped tests
/// (nextest shows it with --success-output).
pub fn skip(why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    eprintln!("ops-npu-skip: {test}: {why}");
}

/// Says which check of a test that otherwise runs was left out on real libraries.
pub fn note(what: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    eprintln!("ops-npu-note: {test}: {what}");
}

pub struct Env {
    /// The double's root, for its counters; `None` on real libraries.
    pub double: Option<PathBuf>,
    pub rt: NpuRuntime,
    pub s: NpuStream,
}

fn assert_process_per_test() {
    assert!(
        std::env::var_os("NEXTEST").is_some()
            || std::env::var_os("OPS_NPU_PROCESS_PER_TEST").is_some(),
        "the NPU op suite needs a process per test: run it with cargo nextest (or one \
         `--exact` test per process with OPS_NPU_PROCESS_PER_TEST=1, as scripts/npu/check.sh does)"
    );
}

/// Opens the libraries under test in this process: the double as a 910B3, or the real
/// libraries as they are.
pub fn open() -> Env {
    assert_process_per_test();
    match target() {
        Target::Double => open_double(FakeAscend::new()),
        Target::Real(libraries) => {
            let rt = NpuRuntime::open(&libraries, 0).unwrap();
            let s = rt.stream().unwrap();
            Env {
                double: None,
                rt,
                s,
            }
        }
    }
}

/// Opens a variant of the double (another SoC, an op left out); `None`, after saying so,
/// on real libraries, whose SoC and symbols are what they are.
pub fn open_variant(fake: FakeAscend, what: &str) -> Option<Env> {
    assert_process_per_test();
    if !on_double() {
        skip(&format!("needs a test-double variant ({what})"));
        return None;
    }
    Some(open_double(fake))
}

fn open_double(fake: FakeAscend) -> Env {
    let root = fake.install();
    let rt = NpuRuntime::open(&NpuLibraries::in_root(&root), 0).unwrap();
    let s = rt.stream().unwrap();
    Env {
        double: Some(root),
        rt,
        s,
    }
}

/// One of the double's counters; `None`, after saying so, on real libraries.
pub fn double_counter(env: &Env, library: &str, symbol: &str) -> Option<i64> {
    match &env.double {
        Some(root) => Some(counter(root, library, symbol)),
        None => {
            note(&format!("the test double's {symbol} is not checked"));
            None
        }
    }
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

/// No descriptor, scalar, list or executor outlives its call. Real libraries have no
/// counter to ask, so there only the synchronisation (which surfaces queued errors) runs.
#[track_caller]
pub fn assert_no_leaked_descriptors(env: &Env) {
    env.s.synchronize().unwrap();
    if let Some(root) = &env.double {
        assert_eq!(
            counter(root, "libnnopbase.so", "fake_live_descriptors"),
            0,
            "live nnopbase descriptors after the calls"
        );
    }
}
