//! A minimal tensor description at the API boundary: contiguous row-major data plus a
//! shape, borrowed for inputs ([`TensorView`]) and owned for outputs ([`Tensor`]).
//! Element types are f32, f16 and bf16; half types are widened to f32 for the kernels,
//! which accumulate in f32.

use crate::error::{OpsError, Result};
use std::borrow::Cow;

/// A borrowed, contiguous, row-major tensor.
/// The product of `dims`, or an error naming `what` when it overflows.
pub(crate) fn element_count(what: &'static str, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| OpsError::shape(what, format!("{dims:?} elements overflow usize")))
}

#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a, T> {
    data: &'a [T],
    shape: &'a [usize],
}

impl<'a, T> TensorView<'a, T> {
    /// Fails unless `data` holds exactly the product of `shape` elements.
    pub fn new(data: &'a [T], shape: &'a [usize]) -> Result<Self> {
        let want = element_count("data", shape)?;
        if data.len() != want {
            return Err(OpsError::shape(
                "data",
                format!(
                    "{} elements do not fill shape {shape:?} ({want} elements)",
                    data.len()
                ),
            ));
        }
        Ok(Self { data, shape })
    }

    pub fn data(&self) -> &'a [T] {
        self.data
    }

    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The shape as exactly `N` dimensions, or an error naming the argument.
    pub(crate) fn dims<const N: usize>(&self, arg: &'static str) -> Result<[usize; N]> {
        <[usize; N]>::try_from(self.shape).map_err(|_| {
            OpsError::shape(
                arg,
                format!("expected {N} dimensions, got shape {:?}", self.shape),
            )
        })
    }
}

/// An owned, contiguous, row-major tensor (kernel outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<T> {
    pub data: Vec<T>,
    pub shape: Vec<usize>,
}

impl<T> Tensor<T> {
    pub fn view(&self) -> TensorView<'_, T> {
        TensorView {
            data: &self.data,
            shape: &self.shape,
        }
    }
}

/// Element types the kernels accept.
pub trait Element: Copy + Send + Sync + 'static {
    const DTYPE: device::DType;
    /// f32 input for the kernels; borrowed when already f32.
    fn widen(data: &[Self]) -> Cow<'_, [f32]>;
    /// Rounds kernel output back to this type.
    fn narrow(data: Vec<f32>) -> Vec<Self>;
}

impl Element for f32 {
    const DTYPE: device::DType = device::DType::F32;
    fn widen(data: &[f32]) -> Cow<'_, [f32]> {
        Cow::Borrowed(data)
    }
    fn narrow(data: Vec<f32>) -> Vec<f32> {
        data
    }
}

macro_rules! half_element {
    ($t:ty, $dtype:expr) => {
        impl Element for $t {
            const DTYPE: device::DType = $dtype;
            fn widen(data: &[$t]) -> Cow<'_, [f32]> {
                Cow::Owned(data.iter().map(|x| x.to_f32()).collect())
            }
            fn narrow(data: Vec<f32>) -> Vec<$t> {
                data.into_iter().map(<$t>::from_f32).collect()
            }
        }
    };
}

half_element!(half::f16, device::DType::F16);
half_element!(half::bf16, device::DType::BF16);

/// Widens an optional view (empty slice when absent, which the bridge reads as "none").
pub(crate) fn widen_opt<'a, T: Element>(t: Option<TensorView<'a, T>>) -> Cow<'a, [f32]> {
    match t {
        Some(t) => T::widen(t.data),
        None => Cow::Borrowed(&[]),
    }
}

/// Checks that an optional per-channel vector has `len` elements.
pub(crate) fn check_vector<T>(
    arg: &'static str,
    t: Option<TensorView<'_, T>>,
    len: usize,
) -> Result<()> {
    match t {
        Some(t) if t.shape != [len] => Err(OpsError::shape(
            arg,
            format!("expected shape [{len}], got {:?}", t.shape),
        )),
        _ => Ok(()),
    }
}

/// Which implementation runs a kernel: the optimised one, or the scalar reference kept
/// as the tests' oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Implementation {
    #[default]
    Optimised,
    Reference,
    /// The optimised kernels without run-time dispatch to AVX2+FMA: the baseline-ISA copy
    /// of attention that aarch64 hosts and pre-AVX2 x86 run, here so tests can check it
    /// on any machine. The other kernels have one copy and treat this as `Optimised`.
    Portable,
}

impl Implementation {
    pub(crate) fn is_reference(self) -> bool {
        self == Implementation::Reference
    }

    pub(crate) fn is_portable(self) -> bool {
        self == Implementation::Portable
    }
}

/// Worker threads for the CPU kernels: every core the process may use.
pub(crate) fn cpu_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A vector of `len` elements written by `write` straight into its uninitialised storage.
/// Zero-filling first costs a pass over memory the kernel overwrites anyway: for the two
/// Winograd transform buffers about 5% of an SD 64x64 or 32x32 convolution (median of
/// interleaved runs on a shared 2-core machine; single runs 0-14%). A GEMM's output is
/// simply zeroed: there the product dominates and zeroing did not show (within +-3%).
///
/// # Safety
/// `write` must initialise every element of the slice it is given (when it returns;
/// a panic inside it leaks nothing and exposes nothing).
pub(crate) unsafe fn write_new_vec<T>(
    len: usize,
    write: impl FnOnce(&mut [std::mem::MaybeUninit<T>]),
) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    write(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the capacity is at least len, and the caller guarantees that `write`
    // initialised elements 0..len.
    unsafe { v.set_len(len) };
    v
}
