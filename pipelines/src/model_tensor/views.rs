//! Shapes and views, with candle's names and semantics. On the NPU a view changes only the
//! descriptor; a reshape of a strided view copies first, as candle's does.

use super::npu_value::NpuValue;
use super::tensor::Tensor;
use candle_core::shape::{Dim, Dims, ShapeWithOneHole};
use candle_core::{Error, Result, Shape};

impl Tensor {
    pub fn dims(&self) -> &[usize] {
        match self {
            Tensor::Candle(t) => t.dims(),
            Tensor::Npu(t) => t.shape(),
        }
    }

    pub fn shape(&self) -> Shape {
        Shape::from(self.dims().to_vec())
    }

    pub fn rank(&self) -> usize {
        self.dims().len()
    }

    pub fn elem_count(&self) -> usize {
        self.dims().iter().product()
    }

    pub fn dim<D: Dim>(&self, dim: D) -> Result<usize> {
        let i = dim.to_index(&self.shape(), "dim")?;
        Ok(self.dims()[i])
    }

    pub fn dims2(&self) -> Result<(usize, usize)> {
        match *self.dims() {
            [a, b] => Ok((a, b)),
            _ => Err(rank_error(self, 2)),
        }
    }

    pub fn dims3(&self) -> Result<(usize, usize, usize)> {
        match *self.dims() {
            [a, b, c] => Ok((a, b, c)),
            _ => Err(rank_error(self, 3)),
        }
    }

    pub fn dims4(&self) -> Result<(usize, usize, usize, usize)> {
        match *self.dims() {
            [a, b, c, d] => Ok((a, b, c, d)),
            _ => Err(rank_error(self, 4)),
        }
    }

    pub fn reshape<S: ShapeWithOneHole>(&self, shape: S) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.reshape(shape)?)),
            Tensor::Npu(t) => {
                let shape = shape.into_shape(self.elem_count())?;
                let dense = contiguous_npu(t)?;
                npu_view(&dense, |x| x.reshape(shape.dims()))
            }
        }
    }

    pub fn narrow<D: Dim>(&self, dim: D, start: usize, len: usize) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.narrow(dim, start, len)?)),
            Tensor::Npu(t) => {
                let d = dim.to_index(&self.shape(), "narrow")?;
                npu_view(t, |x| x.narrow(d, start, len))
            }
        }
    }

    /// candle's split rule: the first `size % chunks` pieces are one longer.
    pub fn chunk<D: Dim>(&self, chunks: usize, dim: D) -> Result<Vec<Tensor>> {
        match self {
            Tensor::Candle(t) => Ok(t
                .chunk(chunks, dim)?
                .into_iter()
                .map(Tensor::Candle)
                .collect()),
            Tensor::Npu(_) => {
                let d = dim.to_index(&self.shape(), "chunk")?;
                let size = self.dims()[d];
                if chunks == 0 {
                    return Err(Error::Msg("chunk: zero chunks".into()));
                }
                if size < chunks {
                    return (0..size).map(|i| self.narrow(d, i, 1)).collect();
                }
                let (base, extra) = (size / chunks, size % chunks);
                let mut start = 0;
                (0..chunks)
                    .map(|i| {
                        let len = base + usize::from(i < extra);
                        let piece = self.narrow(d, start, len);
                        start += len;
                        piece
                    })
                    .collect()
            }
        }
    }

    pub fn transpose<D1: Dim, D2: Dim>(&self, a: D1, b: D2) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.transpose(a, b)?)),
            Tensor::Npu(t) => {
                let shape = self.shape();
                let (a, b) = (
                    a.to_index(&shape, "transpose")?,
                    b.to_index(&shape, "transpose")?,
                );
                npu_view(t, |x| x.transpose(a, b))
            }
        }
    }

    /// The last two dimensions swapped.
    pub fn t(&self) -> Result<Tensor> {
        let rank = self.rank();
        if rank < 2 {
            return Err(Error::Msg(format!("t: needs two dimensions, got {rank}")));
        }
        self.transpose(rank - 2, rank - 1)
    }

    pub fn permute<D: Dims>(&self, dims: D) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.permute(dims)?)),
            Tensor::Npu(t) => {
                let order = dims.to_indexes(&self.shape(), "permute")?;
                npu_view(t, |x| x.permute(&order))
            }
        }
    }

    pub fn unsqueeze<D: Dim>(&self, dim: D) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.unsqueeze(dim)?)),
            Tensor::Npu(t) => {
                let d = dim.to_index_plus_one(&self.shape(), "unsqueeze")?;
                npu_view(t, |x| x.unsqueeze(d))
            }
        }
    }

    /// Removes `dim` when its size is 1, else returns the tensor unchanged (torch's rule).
    pub fn squeeze<D: Dim>(&self, dim: D) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.squeeze(dim)?)),
            Tensor::Npu(_) => {
                let d = dim.to_index(&self.shape(), "squeeze")?;
                if self.dims()[d] != 1 {
                    return Ok(self.clone());
                }
                let mut dims = self.dims().to_vec();
                dims.remove(d);
                self.reshape(dims)
            }
        }
    }

    pub fn flatten_all(&self) -> Result<Tensor> {
        self.reshape(self.elem_count())
    }

    pub fn contiguous(&self) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.contiguous()?)),
            Tensor::Npu(t) => Ok(Tensor::Npu(contiguous_npu(t)?)),
        }
    }

    pub fn broadcast_as<S: Into<Shape>>(&self, shape: S) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.broadcast_as(shape)?)),
            Tensor::Npu(t) => {
                let shape: Shape = shape.into();
                npu_view(t, |x| x.broadcast_as(shape.dims()))
            }
        }
    }

    /// candle's `expand`: the same as [`Tensor::broadcast_as`].
    pub fn expand<S: Into<Shape>>(&self, shape: S) -> Result<Tensor> {
        self.broadcast_as(shape)
    }

    /// Copies along each dimension (`shape[i]` times), as torch's `repeat`.
    pub fn repeat<S: Into<Shape>>(&self, shape: S) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.repeat(shape)?)),
            Tensor::Npu(_) => {
                let shape: Shape = shape.into();
                let mut out = self.clone();
                for (d, &n) in shape.dims().iter().enumerate() {
                    if n > 1 {
                        let copies = vec![&out; n];
                        out = Tensor::cat(&copies, d)?;
                    }
                }
                Ok(out)
            }
        }
    }
}

fn rank_error(t: &Tensor, want: usize) -> Error {
    Error::Msg(format!(
        "expected {want} dimensions, got shape {:?}",
        t.dims()
    ))
}

/// An NPU view built by `f` from `t`'s device tensor.
fn npu_view(
    t: &NpuValue,
    f: impl FnOnce(&ops_npu::npu::NpuTensor) -> ops_npu::Result<ops_npu::npu::NpuTensor>,
) -> Result<Tensor> {
    Ok(Tensor::Npu(t.wrap(f(t.tensor()))?))
}

pub(super) fn contiguous_npu(t: &NpuValue) -> Result<NpuValue> {
    if t.tensor().is_contiguous() {
        return Ok(t.clone());
    }
    t.wrap(t.tensor().contiguous(t.context().stream()))
}

impl Tensor {
    /// Index `i` of the first dimension, which is removed.
    pub fn get(&self, i: usize) -> Result<Tensor> {
        match self {
            Tensor::Candle(t) => Ok(Tensor::Candle(t.get(i)?)),
            Tensor::Npu(_) => self.narrow(0, i, 1)?.squeeze(0),
        }
    }

    /// An explicit move to `device`: candle's `to_device` between candle devices, else a
    /// download and an upload.
    pub fn to_device(&self, device: &super::device::ModelDevice) -> Result<Tensor> {
        if self.device().same_as(device) {
            return Ok(self.clone());
        }
        match (self, device) {
            (Tensor::Candle(t), super::device::ModelDevice::Candle(d)) => {
                Ok(Tensor::Candle(t.to_device(d)?))
            }
            _ => device.place(&self.to_host()?),
        }
    }
}
