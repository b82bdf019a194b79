//! Device memory and streams as owning Rust values: dropping one frees it.

use crate::bridge::ffi;
use crate::error::{OpsError, Result, backend};
use crate::tensor::Element;
use device::DType;
use std::sync::{Arc, Mutex};

/// An ACL stream. Launches are asynchronous, so the stream keeps every buffer a pending
/// launch reads or writes alive until it is synchronised: dropping a tensor right after
/// passing it to an op is safe. Dropping the stream waits for its work, frees its
/// workspace pool and destroys it.
#[derive(Debug)]
pub struct NpuStream {
    raw: usize,
    in_flight: Mutex<Vec<Arc<NpuBuffer>>>,
}

impl NpuStream {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            raw: ffi::npu_stream_create().map_err(backend)?,
            in_flight: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn raw(&self) -> usize {
        self.raw
    }

    /// Keeps these tensors' buffers alive until the next synchronisation.
    pub(crate) fn keep(&self, tensors: &[Option<&NpuTensor>]) {
        let mut held = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        held.extend(tensors.iter().flatten().map(|t| Arc::clone(&t.buf)));
    }

    /// Waits until every launch on this stream has finished.
    pub fn synchronize(&self) -> Result<()> {
        ffi::npu_stream_sync(self.raw).map_err(backend)?;
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }
}

impl Drop for NpuStream {
    fn drop(&mut self) {
        // Synchronises before destroying; only then may the held buffers go.
        ffi::npu_stream_destroy(self.raw);
        self.in_flight
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// A device allocation (aclrtMalloc / aclrtFree).
#[derive(Debug)]
pub struct NpuBuffer {
    ptr: usize,
    bytes: usize,
}

impl NpuBuffer {
    pub fn new(bytes: usize) -> Result<Self> {
        Ok(Self {
            ptr: ffi::npu_malloc(bytes).map_err(backend)?,
            bytes,
        })
    }

    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    pub(crate) fn ptr(&self) -> usize {
        self.ptr
    }
}

impl Drop for NpuBuffer {
    fn drop(&mut self) {
        ffi::npu_free(self.ptr);
    }
}

/// ACL's dtype codes (aclDataType).
pub(crate) fn acl_dtype(dtype: DType) -> i32 {
    match dtype {
        DType::F32 => 0,
        DType::F16 => 1,
        DType::BF16 => 27,
    }
}

/// Host element types that travel to and from the device (f32, f16, bf16), converted to
/// little-endian bytes without unsafe casts.
pub trait Bytes: Element {
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

impl Bytes for f32 {
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

macro_rules! half_bytes {
    ($t:ty) => {
        impl Bytes for $t {
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_bits().to_le_bytes());
            }
            fn get(b: &[u8]) -> Self {
                <$t>::from_bits(u16::from_le_bytes([b[0], b[1]]))
            }
        }
    };
}

half_bytes!(half::f16);
half_bytes!(half::bf16);

/// A contiguous device tensor: buffer, shape, element strides and dtype.
#[derive(Debug)]
pub struct NpuTensor {
    buf: Arc<NpuBuffer>,
    shape: Vec<usize>,
    dtype: DType,
    /// Booleans (attention masks) travel as ACL_BOOL bytes.
    is_bool: bool,
}

impl NpuTensor {
    /// Uninitialised device tensor.
    pub fn empty(shape: &[usize], dtype: DType) -> Result<Self> {
        let n: usize = shape.iter().product();
        Ok(Self {
            buf: Arc::new(NpuBuffer::new(n * dtype.size_in_bytes())?),
            shape: shape.to_vec(),
            dtype,
            is_bool: false,
        })
    }

    /// Copies host data to a new device tensor.
    pub fn upload<T: Bytes>(data: &[T], shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(OpsError::shape(
                "data",
                format!("{} elements do not fill shape {shape:?}", data.len()),
            ));
        }
        let mut bytes = Vec::with_capacity(n * T::DTYPE.size_in_bytes());
        for &x in data {
            x.put(&mut bytes);
        }
        let t = Self::empty(shape, T::DTYPE)?;
        ffi::npu_upload(t.buf.ptr(), &bytes).map_err(backend)?;
        Ok(t)
    }

    /// A boolean mask in aclnn's convention (true = masked out).
    pub fn upload_mask(masked: &[bool], shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != masked.len() {
            return Err(OpsError::shape(
                "mask",
                format!("{} elements do not fill shape {shape:?}", masked.len()),
            ));
        }
        let bytes: Vec<u8> = masked.iter().map(|&m| u8::from(m)).collect();
        let buf = NpuBuffer::new(n)?;
        ffi::npu_upload(buf.ptr(), &bytes).map_err(backend)?;
        Ok(Self {
            buf: Arc::new(buf),
            shape: shape.to_vec(),
            dtype: DType::F32,
            is_bool: true,
        })
    }

    /// Waits for `stream`'s work, then copies the tensor to the host.
    pub fn download<T: Bytes>(&self, stream: &NpuStream) -> Result<Vec<T>> {
        if self.is_bool || T::DTYPE != self.dtype {
            return Err(OpsError::Unsupported(format!(
                "downloading a {} tensor as {}",
                if self.is_bool {
                    "bool"
                } else {
                    self.dtype.as_str()
                },
                T::DTYPE
            )));
        }
        stream.synchronize()?;
        let mut bytes = vec![0u8; self.buf.len()];
        ffi::npu_download(self.buf.ptr(), &mut bytes).map_err(backend)?;
        Ok(bytes
            .chunks_exact(self.dtype.size_in_bytes())
            .map(T::get)
            .collect())
    }

    /// Waits for `stream`'s work, then copies a mask made by [`NpuTensor::upload_mask`]
    /// back (aclnn's convention: true = masked out).
    pub fn download_mask(&self, stream: &NpuStream) -> Result<Vec<bool>> {
        if !self.is_bool {
            return Err(OpsError::Unsupported(format!(
                "downloading a {} tensor as a mask",
                self.dtype.as_str()
            )));
        }
        stream.synchronize()?;
        let mut bytes = vec![0u8; self.buf.len()];
        ffi::npu_download(self.buf.ptr(), &mut bytes).map_err(backend)?;
        Ok(bytes.into_iter().map(|b| b != 0).collect())
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Row-major element strides.
    pub fn strides(&self) -> Vec<usize> {
        Self::strides_of(&self.shape)
    }

    /// The descriptor the C++ side turns into an aclTensor, viewed with `shape` (same
    /// element count, contiguous).
    pub(crate) fn desc_as(&self, shape: &[usize]) -> ffi::NpuTensorDesc {
        let view = Self::strides_of(shape);
        ffi::NpuTensorDesc {
            ptr: self.buf.ptr(),
            dtype: if self.is_bool {
                12
            } else {
                acl_dtype(self.dtype)
            },
            dims: shape.iter().map(|&d| d as i64).collect(),
            strides: view.iter().map(|&s| s as i64).collect(),
        }
    }

    pub(crate) fn desc(&self) -> ffi::NpuTensorDesc {
        self.desc_as(&self.shape)
    }

    fn strides_of(shape: &[usize]) -> Vec<usize> {
        let mut strides = vec![1usize; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * shape[i + 1];
        }
        strides
    }
}

/// The descriptor of an absent optional tensor.
pub(crate) fn absent() -> ffi::NpuTensorDesc {
    ffi::NpuTensorDesc::default()
}
