//! Arithmetic with candle's names. The NPU arm launches one aclnn op per call on the
//! operands' stream; candle's stricter rules (same shape for the plain binary ops, same
//! dtype everywhere) are kept so that code behaves the same on both arms.

use super::errors::mixed_devices_error;
use super::npu_value::NpuValue;
use super::tensor::Tensor;
use super::views::contiguous_npu;
use candle_core::shape::Dim;
use candle_core::{DType, Error, Result};
use ops_npu::npu::{NpuDType, NpuTensor, ops};

/// The two NPU operands of a binary op, or the reason they are not.
enum Pair<'a> {
    Candle(&'a candle_core::Tensor, &'a candle_core::Tensor),
    Npu(&'a NpuValue, &'a NpuValue),
}

/// Whether two NPU values live on the same NPU context (device and stream).
fn same_npu(a: &NpuValue, b: &NpuValue) -> bool {
    std::sync::Arc::ptr_eq(a.context(), b.context())
}

fn pair<'a>(op: &str, a: &'a Tensor, b: &'a Tensor) -> Result<Pair<'a>> {
    match (a, b) {
        (Tensor::Candle(x), Tensor::Candle(y)) => Ok(Pair::Candle(x, y)),
        (Tensor::Npu(x), Tensor::Npu(y)) if same_npu(x, y) => {
            if x.tensor().dtype() != y.tensor().dtype() {
                return Err(Error::Msg(format!(
                    "{op}: dtypes differ ({} and {})",
                    x.tensor().dtype(),
                    y.tensor().dtype()
                )));
            }
            Ok(Pair::Npu(x, y))
        }
        _ => Err(mixed_devices_error(op, &a.device(), &b.device())),
    }
}

type NpuBinary = fn(&ops_npu::npu::NpuStream, &NpuTensor, &NpuTensor) -> ops_npu::Result<NpuTensor>;

fn binary(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    broadcast: bool,
    candle: fn(&candle_core::Tensor, &candle_core::Tensor) -> Result<candle_core::Tensor>,
    npu: NpuBinary,
) -> Result<Tensor> {
    match pair(op, a, b)? {
        Pair::Candle(x, y) => Ok(Tensor::Candle(candle(x, y)?)),
        Pair::Npu(x, y) => {
            if !broadcast && x.shape() != y.shape() {
                return Err(Error::Msg(format!(
                    "{op}: shapes differ ({:?} and {:?}); use broadcast_{op}",
                    x.shape(),
                    y.shape()
                )));
            }
            Ok(Tensor::Npu(x.wrap(npu(
                x.context().stream(),
                x.tensor(),
                y.tensor(),
            ))?))
        }
    }
}

fn unary(
    t: &Tensor,
    candle: impl FnOnce(&candle_core::Tensor) -> Result<candle_core::Tensor>,
    npu: impl FnOnce(&NpuValue) -> ops_npu::Result<NpuTensor>,
) -> Result<Tensor> {
    match t {
        Tensor::Candle(x) => Ok(Tensor::Candle(candle(x)?)),
        Tensor::Npu(x) => Ok(Tensor::Npu(x.wrap(npu(x))?)),
    }
}

impl Tensor {
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("add", self, rhs, false, |a, b| a.add(b), ops::add)
    }

    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("sub", self, rhs, false, |a, b| a.sub(b), ops::sub)
    }

    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("mul", self, rhs, false, |a, b| a.mul(b), ops::mul)
    }

    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("div", self, rhs, false, |a, b| a.div(b), ops::div)
    }

    pub fn broadcast_add(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("add", self, rhs, true, |a, b| a.broadcast_add(b), ops::add)
    }

    pub fn broadcast_sub(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("sub", self, rhs, true, |a, b| a.broadcast_sub(b), ops::sub)
    }

    pub fn broadcast_mul(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("mul", self, rhs, true, |a, b| a.broadcast_mul(b), ops::mul)
    }

    pub fn broadcast_div(&self, rhs: &Tensor) -> Result<Tensor> {
        binary("div", self, rhs, true, |a, b| a.broadcast_div(b), ops::div)
    }

    /// `self * mul + add`. On the NPU: aclnnMuls then aclnnAdds, each skipped when it is
    /// the identity.
    pub fn affine(&self, mul: f64, add: f64) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.affine(mul, add)?)),
            Tensor::Npu(x) => {
                let s = x.context().stream();
                let mut out = x.clone();
                if mul != 1.0 {
                    out = x.wrap(ops::mul_scalar(s, out.tensor(), mul))?;
                }
                if add != 0.0 {
                    out = x.wrap(ops::add_scalar(s, out.tensor(), add))?;
                }
                Ok(Tensor::Npu(out))
            }
        }
    }

    pub fn clamp(&self, min: impl Into<f64>, max: impl Into<f64>) -> Result<Tensor> {
        let (min, max) = (min.into(), max.into());
        unary(
            self,
            |t| t.clamp(min, max),
            |x| ops::clamp(x.context().stream(), x.tensor(), min, max),
        )
    }

    pub fn exp(&self) -> Result<Tensor> {
        unary(
            self,
            |t| t.exp(),
            |x| ops::exp(x.context().stream(), x.tensor()),
        )
    }

    pub fn neg(&self) -> Result<Tensor> {
        unary(
            self,
            |t| t.neg(),
            |x| ops::neg(x.context().stream(), x.tensor()),
        )
    }

    pub fn silu(&self) -> Result<Tensor> {
        unary(
            self,
            |t| t.silu(),
            |x| ops::silu(x.context().stream(), x.tensor()),
        )
    }

    /// tanh-approximated GELU (candle's `gelu`).
    pub fn gelu(&self) -> Result<Tensor> {
        unary(
            self,
            |t| t.gelu(),
            |x| ops::gelu_tanh(x.context().stream(), x.tensor()),
        )
    }

    pub fn gelu_erf(&self) -> Result<Tensor> {
        unary(
            self,
            |t| t.gelu_erf(),
            |x| ops::gelu(x.context().stream(), x.tensor()),
        )
    }

    pub fn relu(&self) -> Result<Tensor> {
        unary(
            self,
            |t| t.relu(),
            |x| ops::relu(x.context().stream(), x.tensor()),
        )
    }

    pub fn sigmoid(&self) -> Result<Tensor> {
        unary(self, candle_nn::ops::sigmoid, |x| {
            ops::sigmoid(x.context().stream(), x.tensor())
        })
    }

    pub fn softmax_last_dim(&self) -> Result<Tensor> {
        unary(self, candle_nn::ops::softmax_last_dim, |x| {
            ops::softmax(x.context().stream(), x.tensor(), -1)
        })
    }

    pub fn sqr(&self) -> Result<Tensor> {
        self.mul(self)
    }

    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.to_dtype(dtype)?)),
            Tensor::Npu(x) => {
                if x.candle_dtype() == dtype {
                    return Ok(self.clone());
                }
                let target = match dtype {
                    DType::F32 => NpuDType::F32,
                    DType::F16 => NpuDType::F16,
                    DType::BF16 => NpuDType::BF16,
                    DType::I64 => NpuDType::I64,
                    DType::I32 => NpuDType::I32,
                    DType::U8 => NpuDType::U8,
                    other => {
                        return Err(Error::Msg(format!(
                            "to_dtype: {other:?} does not exist on the NPU"
                        )));
                    }
                };
                Ok(Tensor::Npu(x.wrap(ops::cast(
                    x.context().stream(),
                    x.tensor(),
                    target,
                ))?))
            }
        }
    }

    /// Batched matrix product over equal leading dimensions (candle's `matmul`).
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        match pair("matmul", self, rhs)? {
            Pair::Candle(a, b) => Ok(Tensor::Candle(a.matmul(b)?)),
            Pair::Npu(a, b) => {
                let (ra, rb) = (a.shape().len(), b.shape().len());
                if ra != rb || ra < 2 || a.shape()[..ra - 2] != b.shape()[..rb - 2] {
                    return Err(Error::Msg(format!(
                        "matmul: shapes {:?} and {:?} need equal batch dimensions",
                        a.shape(),
                        b.shape()
                    )));
                }
                Ok(Tensor::Npu(a.wrap(ops::matmul_nd(
                    a.context().stream(),
                    a.tensor(),
                    b.tensor(),
                ))?))
            }
        }
    }

    /// Matrix product with the leading dimensions broadcast.
    pub fn broadcast_matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        match pair("matmul", self, rhs)? {
            Pair::Candle(a, b) => Ok(Tensor::Candle(a.broadcast_matmul(b)?)),
            Pair::Npu(a, b) => Ok(Tensor::Npu(a.wrap(ops::matmul_nd(
                a.context().stream(),
                a.tensor(),
                b.tensor(),
            ))?)),
        }
    }

    /// Zeros `left` before and `right` after `dim`.
    pub fn pad_with_zeros<D: Dim>(&self, dim: D, left: usize, right: usize) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.pad_with_zeros(dim, left, right)?)),
            Tensor::Npu(x) => {
                let d = dim.to_index(&self.shape(), "pad_with_zeros")?;
                // aclnnConstantPadNd lists (before, after) pairs from the last dimension.
                let rank = self.rank();
                let mut pad = vec![0usize; 2 * (rank - d)];
                let n = pad.len();
                pad[n - 2] = left;
                pad[n - 1] = right;
                Ok(Tensor::Npu(x.wrap(ops::constant_pad(
                    x.context().stream(),
                    x.tensor(),
                    &pad,
                    0.0,
                ))?))
            }
        }
    }

    pub fn upsample_nearest2d(&self, height: usize, width: usize) -> Result<Tensor> {
        unary(
            self,
            |t| t.upsample_nearest2d(height, width),
            |x| ops::upsample_nearest2d(x.context().stream(), x.tensor(), height, width),
        )
    }

    /// The slices of `self` along `dim` at `ids` (an integer vector).
    pub fn index_select<D: Dim>(&self, ids: &Tensor, dim: D) -> Result<Tensor> {
        match (self, ids) {
            (Tensor::Candle(a), Tensor::Candle(i)) => Ok(Tensor::Candle(a.index_select(i, dim)?)),
            (Tensor::Npu(a), Tensor::Npu(i)) if same_npu(a, i) => {
                let d = dim.to_index(&self.shape(), "index_select")?;
                Ok(Tensor::Npu(a.wrap(ops::index_select(
                    a.context().stream(),
                    a.tensor(),
                    d as isize,
                    i.tensor(),
                ))?))
            }
            _ => Err(mixed_devices_error(
                "index_select",
                &self.device(),
                &ids.device(),
            )),
        }
    }

    /// Rows of an embedding table (`self`, [vocab, dim]) for integer ids of any shape.
    pub fn embedding(&self, ids: &Tensor) -> Result<Tensor> {
        match (self, ids) {
            (Tensor::Candle(w), Tensor::Candle(i)) => {
                let mut shape = i.dims().to_vec();
                shape.push(w.dim(1)?);
                Ok(Tensor::Candle(
                    w.index_select(&i.flatten_all()?, 0)?.reshape(shape)?,
                ))
            }
            (Tensor::Npu(w), Tensor::Npu(i)) if same_npu(w, i) => {
                let ids = contiguous_npu(i)?;
                Ok(Tensor::Npu(w.wrap(ops::embedding(
                    w.context().stream(),
                    w.tensor(),
                    ids.tensor(),
                ))?))
            }
            _ => Err(mixed_devices_error(
                "embedding",
                &self.device(),
                &ids.device(),
            )),
        }
    }
}

impl Tensor {
    /// `self` with the rows of `source` added at `ids` along `dim` (a new tensor).
    pub fn index_add<D: Dim>(&self, ids: &Tensor, source: &Tensor, dim: D) -> Result<Tensor> {
        match (self, ids, source) {
            (Tensor::Candle(a), Tensor::Candle(i), Tensor::Candle(s)) => {
                Ok(Tensor::Candle(a.index_add(i, s, dim)?))
            }
            (Tensor::Npu(a), Tensor::Npu(i), Tensor::Npu(s))
                if same_npu(a, i) && same_npu(a, s) =>
            {
                let d = dim.to_index(&self.shape(), "index_add")?;
                Ok(Tensor::Npu(a.wrap(ops::index_add(
                    a.context().stream(),
                    a.tensor(),
                    d as isize,
                    i.tensor(),
                    s.tensor(),
                    1.0,
                ))?))
            }
            _ => Err(mixed_devices_error(
                "index_add",
                &self.device(),
                &source.device(),
            )),
        }
    }
}
