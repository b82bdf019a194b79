//! Device tensors: a shared storage block plus a view (shape, element strides, element
//! offset, dtype, format). Views change only the descriptor; aclnn gets the view with the
//! whole block as storage, as aclCreateTensor is specified.

use super::bytes::Bytes;
use super::dtype::NpuDType;
use super::storage::DeviceBlock;
use super::stream::NpuStream;
use crate::bridge::ffi;
use crate::error::{OpsError, Result, backend};
use std::sync::Arc;

/// How aclnn is told to read a tensor's dimensions (aclFormat). Convolution and upsampling
/// want NCHW where the docs say so; everything else is ND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Nd,
    Nchw,
}

impl Format {
    pub(crate) fn acl_code(self) -> i32 {
        match self {
            Format::Nchw => 0,
            Format::Nd => 2,
        }
    }
}

/// A device tensor. Cloning shares the storage (a view of the same memory).
#[derive(Debug, Clone)]
pub struct NpuTensor {
    block: Arc<DeviceBlock>,
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
    dtype: NpuDType,
    format: Format,
}

/// Row-major element strides of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1].max(1);
    }
    strides
}

/// Elements in `shape`, refusing a product that overflows (a hostile shape must not
/// wrap around into a small allocation).
pub fn element_count(arg: &'static str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            OpsError::shape(
                arg,
                format!("shape {shape:?} has more elements than fit in memory"),
            )
        })
}

impl NpuTensor {
    /// An uninitialised contiguous tensor whose memory comes from `s`'s cache.
    pub fn empty(s: &NpuStream, shape: &[usize], dtype: impl Into<NpuDType>) -> Result<Self> {
        let dtype = dtype.into();
        let n = element_count("shape", shape)?;
        let bytes = n
            .checked_mul(dtype.size_in_bytes())
            .ok_or_else(|| OpsError::shape("shape", format!("{shape:?} overflows")))?;
        Ok(Self {
            block: Arc::new(DeviceBlock::allocate(s.raw(), s.id(), bytes)?),
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
            dtype,
            format: Format::Nd,
        })
    }

    /// Copies host data to a new tensor. When `s` has queued launches it is synchronised
    /// first: the copy is synchronous and the block may come from `s`'s cache, where a
    /// queued launch could still read it.
    pub fn upload<T: Bytes>(s: &NpuStream, data: &[T], shape: &[usize]) -> Result<Self> {
        let n = element_count("shape", shape)?;
        if n != data.len() {
            return Err(OpsError::shape(
                "data",
                format!("{} elements do not fill shape {shape:?}", data.len()),
            ));
        }
        let mut bytes = Vec::with_capacity(n * T::NPU_DTYPE.size_in_bytes());
        for &x in data {
            x.put(&mut bytes);
        }
        let t = Self::empty(s, shape, T::NPU_DTYPE)?;
        if s.has_pending() {
            s.synchronize()?;
        }
        ffi::npu_upload(t.block.ptr(), &bytes).map_err(backend)?;
        s.uploaded(bytes.len());
        Ok(t)
    }

    /// A boolean mask in aclnn's convention (true = masked out).
    pub fn upload_mask(s: &NpuStream, masked: &[bool], shape: &[usize]) -> Result<Self> {
        Self::upload(s, masked, shape)
    }

    /// Waits for `s`'s work, then copies the tensor to the host (a strided view is made
    /// contiguous on the device first; `contiguous` lives with the copy op in ops).
    pub fn download<T: Bytes>(&self, s: &NpuStream) -> Result<Vec<T>> {
        if T::NPU_DTYPE != self.dtype {
            return Err(OpsError::Unsupported(format!(
                "downloading a {} tensor as {}",
                self.dtype,
                T::NPU_DTYPE
            )));
        }
        let dense = self.contiguous(s)?;
        s.synchronize()?;
        let size = self.dtype.size_in_bytes();
        let mut bytes = vec![0u8; dense.numel() * size];
        ffi::npu_download(dense.block.ptr() + dense.offset * size, &mut bytes).map_err(backend)?;
        s.downloaded(bytes.len());
        Ok(bytes.chunks_exact(size).map(T::get).collect())
    }

    /// Waits for `s`'s work, then copies a mask back (true = masked out).
    pub fn download_mask(&self, s: &NpuStream) -> Result<Vec<bool>> {
        self.download::<bool>(s)
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn dtype(&self) -> NpuDType {
        self.dtype
    }

    /// Element strides of the view.
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// Element offset of the view into its storage.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_contiguous(&self) -> bool {
        self.shape.contains(&0)
            || self
                .shape
                .iter()
                .zip(&self.strides)
                .zip(contiguous_strides(&self.shape))
                .all(|((&d, &s), c)| d == 1 || s == c)
    }

    pub(crate) fn block(&self) -> &Arc<DeviceBlock> {
        &self.block
    }

    fn view(&self, shape: Vec<usize>, strides: Vec<usize>, offset: usize) -> Self {
        Self {
            block: Arc::clone(&self.block),
            shape,
            strides,
            offset,
            dtype: self.dtype,
            format: self.format,
        }
    }

    fn dim(&self, arg: &'static str, dim: usize) -> Result<usize> {
        if dim < self.shape.len() {
            Ok(dim)
        } else {
            Err(OpsError::shape(
                arg,
                format!("dimension {dim} of a {}-d tensor", self.shape.len()),
            ))
        }
    }

    /// The same elements with another shape; only a contiguous view can be reshaped
    /// without a copy (call [`NpuTensor::contiguous`] first otherwise).
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        if element_count("shape", shape)? != self.numel() {
            return Err(OpsError::shape(
                "shape",
                format!("{shape:?} does not hold the {:?} elements", self.shape),
            ));
        }
        if !self.is_contiguous() {
            return Err(OpsError::shape(
                "self",
                "reshape of a strided view: make it contiguous first",
            ));
        }
        Ok(self.view(shape.to_vec(), contiguous_strides(shape), self.offset))
    }

    /// Elements `start..start + len` of dimension `dim`.
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Result<Self> {
        let dim = self.dim("dim", dim)?;
        if start
            .checked_add(len)
            .is_none_or(|end| end > self.shape[dim])
        {
            return Err(OpsError::shape(
                "narrow",
                format!(
                    "{start}..{start}+{len} is outside dimension {dim} of size {}",
                    self.shape[dim]
                ),
            ));
        }
        let mut shape = self.shape.clone();
        shape[dim] = len;
        let offset = if len == 0 {
            self.offset
        } else {
            self.offset + start * self.strides[dim]
        };
        Ok(self.view(shape, self.strides.clone(), offset))
    }

    /// `n` equal views along `dim` (the size must divide evenly, as diffusers' chunks do).
    pub fn chunk(&self, n: usize, dim: usize) -> Result<Vec<Self>> {
        let dim = self.dim("dim", dim)?;
        if n == 0 || !self.shape[dim].is_multiple_of(n) {
            return Err(OpsError::shape(
                "chunk",
                format!("dimension {dim} of size {} into {n}", self.shape[dim]),
            ));
        }
        let step = self.shape[dim] / n;
        (0..n).map(|i| self.narrow(dim, i * step, step)).collect()
    }

    pub fn transpose(&self, a: usize, b: usize) -> Result<Self> {
        let (a, b) = (self.dim("dim0", a)?, self.dim("dim1", b)?);
        let (mut shape, mut strides) = (self.shape.clone(), self.strides.clone());
        shape.swap(a, b);
        strides.swap(a, b);
        Ok(self.view(shape, strides, self.offset))
    }

    pub fn permute(&self, order: &[usize]) -> Result<Self> {
        let mut seen = vec![false; self.shape.len()];
        if order.len() != self.shape.len()
            || order
                .iter()
                .any(|&d| d >= seen.len() || std::mem::replace(&mut seen[d], true))
        {
            return Err(OpsError::shape(
                "order",
                format!(
                    "{order:?} is not a permutation of {} dimensions",
                    self.shape.len()
                ),
            ));
        }
        Ok(self.view(
            order.iter().map(|&d| self.shape[d]).collect(),
            order.iter().map(|&d| self.strides[d]).collect(),
            self.offset,
        ))
    }

    pub fn unsqueeze(&self, dim: usize) -> Result<Self> {
        if dim > self.shape.len() {
            return Err(OpsError::shape(
                "dim",
                format!("{dim} is past a {}-d tensor", self.shape.len()),
            ));
        }
        let (mut shape, mut strides) = (self.shape.clone(), self.strides.clone());
        let stride = if dim < self.shape.len() {
            self.strides[dim] * self.shape[dim]
        } else {
            1
        };
        shape.insert(dim, 1);
        strides.insert(dim, stride);
        Ok(self.view(shape, strides, self.offset))
    }

    /// A view of `shape` that repeats size-1 (or missing leading) dimensions with stride 0.
    /// aclnn ops that broadcast by themselves should get the unexpanded tensor instead.
    pub fn broadcast_as(&self, shape: &[usize]) -> Result<Self> {
        if shape.len() < self.shape.len() {
            return Err(OpsError::shape(
                "shape",
                format!("{:?} cannot broadcast to {shape:?}", self.shape),
            ));
        }
        let lead = shape.len() - self.shape.len();
        let mut strides = vec![0usize; shape.len()];
        for (i, &want) in shape.iter().enumerate().skip(lead) {
            let (have, stride) = (self.shape[i - lead], self.strides[i - lead]);
            strides[i] = match have {
                h if h == want => stride,
                1 => 0,
                _ => {
                    return Err(OpsError::shape(
                        "shape",
                        format!("{:?} cannot broadcast to {shape:?}", self.shape),
                    ));
                }
            };
        }
        Ok(self.view(shape.to_vec(), strides, self.offset))
    }

    /// The same view, described to aclnn in `format` (NCHW needs 4 dimensions).
    pub fn with_format(&self, format: Format) -> Result<Self> {
        if format == Format::Nchw && self.shape.len() != 4 {
            return Err(OpsError::shape(
                "self",
                format!("NCHW needs 4 dimensions, got {:?}", self.shape),
            ));
        }
        let mut t = self.clone();
        t.format = format;
        Ok(t)
    }

    /// The descriptor the C++ side turns into an aclTensor.
    pub(crate) fn desc(&self) -> ffi::NpuTensorDesc {
        ffi::NpuTensorDesc {
            ptr: self.block.ptr(),
            dtype: self.dtype.acl_code(),
            format: self.format.acl_code(),
            offset: self.offset as i64,
            storage: (self.block.len() / self.dtype.size_in_bytes()) as i64,
            dims: self.shape.iter().map(|&d| d as i64).collect(),
            strides: self.strides.iter().map(|&s| s as i64).collect(),
        }
    }

    /// The descriptor of this (contiguous) tensor viewed with `shape` (same element count).
    pub(crate) fn desc_as(&self, shape: &[usize]) -> ffi::NpuTensorDesc {
        let mut d = self.desc();
        d.dims = shape.iter().map(|&x| x as i64).collect();
        d.strides = contiguous_strides(shape)
            .iter()
            .map(|&x| x as i64)
            .collect();
        d
    }
}

/// The descriptor of an absent optional tensor.
pub(crate) fn absent() -> ffi::NpuTensorDesc {
    ffi::NpuTensorDesc::default()
}
