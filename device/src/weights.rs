//! Safetensors files: mmap'd, header-validated, with errors that name file and tensor.
//!
//! Validation is the `safetensors` crate's (the same major version candle-core uses, so
//! one copy is compiled): header length within the file, JSON header, known dtypes,
//! contiguous in-range offsets whose sizes match shape x dtype, no trailing bytes.

use memmap2::Mmap;
use safetensors::tensor::{Metadata, SafeTensorError, TensorInfo};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

pub use safetensors::tensor::TensorView;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a valid safetensors file: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
    #[error("{}: no tensor named `{tensor}`", path.display())]
    NotFound { path: PathBuf, tensor: String },
    #[error("{}: tensor `{tensor}` is {found:?}, expected {expected}", path.display())]
    WrongDType {
        path: PathBuf,
        tensor: String,
        found: Dtype,
        expected: String,
    },
    #[error("{}: tensor `{tensor}` has shape {found:?}, expected {expected:?}", path.display())]
    WrongShape {
        path: PathBuf,
        tensor: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
}

fn describe(e: &SafeTensorError) -> String {
    match e {
        SafeTensorError::HeaderTooSmall => "file shorter than the 8-byte header length".into(),
        SafeTensorError::HeaderTooLarge => "header length is implausibly large".into(),
        SafeTensorError::InvalidHeaderLength => {
            "header length points beyond the end of the file".into()
        }
        SafeTensorError::InvalidHeader(e) => format!("header is not UTF-8: {e}"),
        SafeTensorError::InvalidHeaderDeserialization(e) => {
            format!("header JSON is invalid (or names an unknown dtype): {e}")
        }
        SafeTensorError::InvalidOffset(name) => {
            format!("tensor `{name}` has data offsets that are out of order or out of range")
        }
        SafeTensorError::TensorInvalidInfo => {
            "a tensor's byte range does not match its shape and dtype".into()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "data section length does not match the tensors' offsets (truncated or padded file)"
                .into()
        }
        other => other.to_string(),
    }
}

/// An open safetensors file. Tensor data stays in the page cache until read.
pub struct TensorsFile {
    path: PathBuf,
    mmap: Mmap,
    metadata: Metadata,
    header_len: usize,
}

impl std::fmt::Debug for TensorsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TensorsFile")
            .field("path", &self.path)
            .field("tensors", &self.len())
            .finish_non_exhaustive()
    }
}

impl TensorsFile {
    /// Maps the file and validates its header and offsets.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, WeightsError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| WeightsError::Io {
            path: path.clone(),
            source,
        };
        // Opening a FIFO blocks until a writer appears; only regular files are opened.
        let meta = std::fs::metadata(&path).map_err(io)?;
        if !meta.is_file() {
            return Err(WeightsError::Invalid {
                path,
                detail: "not a regular file".to_string(),
            });
        }
        let file = File::open(&path).map_err(io)?;
        // SAFETY: the map is read-only; a concurrent writer truncating the file could
        // fault on access, the caveat every mmap-based loader (candle, safetensors) has.
        let mmap = unsafe { Mmap::map(&file) }.map_err(io)?;
        let (header_len, metadata) =
            SafeTensors::read_metadata(&mmap).map_err(|e| WeightsError::Invalid {
                path: path.clone(),
                detail: describe(&e),
            })?;
        Ok(Self {
            path,
            mmap,
            metadata,
            header_len,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.metadata.tensors().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.metadata.tensors().into_keys().collect();
        names.sort();
        names
    }

    pub fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.metadata.info(name)
    }

    /// Bytes of tensor data (what the weights occupy once loaded at their stored dtype).
    pub fn data_bytes(&self) -> u64 {
        self.metadata.data_len() as u64
    }

    /// Bytes once loaded with floating-point tensors cast to `dtype` (how pipelines load
    /// weights); integer and bool tensors keep their stored size.
    pub fn loaded_bytes(&self, dtype: crate::DType) -> u64 {
        self.metadata
            .tensors()
            .values()
            .map(|info| {
                let stored = (info.data_offsets.1 - info.data_offsets.0) as u64;
                match info.dtype {
                    Dtype::F64 | Dtype::F32 | Dtype::F16 | Dtype::BF16 => {
                        let numel: u64 = info.shape.iter().map(|&d| d as u64).product();
                        numel * dtype.size_in_bytes() as u64
                    }
                    _ => stored,
                }
            })
            .sum()
    }

    /// Number of tensors per stored dtype, e.g. {"F16": 686}.
    pub fn dtype_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for info in self.metadata.tensors().values() {
            *counts.entry(format!("{:?}", info.dtype)).or_insert(0) += 1;
        }
        counts
    }

    /// The `__metadata__` string map, if any.
    pub fn user_metadata(&self) -> Option<&std::collections::HashMap<String, String>> {
        self.metadata.metadata().as_ref()
    }

    /// A view of one tensor's bytes.
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>, WeightsError> {
        let info = self.info(name).ok_or_else(|| WeightsError::NotFound {
            path: self.path.clone(),
            tensor: name.to_string(),
        })?;
        let start = 8 + self.header_len;
        let (s, e) = info.data_offsets;
        // `open` validated the offsets against the file length; `get` keeps a bug here
        // from turning into a panic.
        let data = self
            .mmap
            .get(start + s..start + e)
            .ok_or_else(|| WeightsError::Invalid {
                path: self.path.clone(),
                detail: format!("tensor `{name}` lies outside the file"),
            })?;
        TensorView::new(info.dtype, info.shape.clone(), data).map_err(|e| WeightsError::Invalid {
            path: self.path.clone(),
            detail: format!("tensor `{name}`: {}", describe(&e)),
        })
    }

    /// A tensor that must have one of `dtypes` and, when given, exactly `shape`.
    pub fn expect(
        &self,
        name: &str,
        dtypes: &[Dtype],
        shape: Option<&[usize]>,
    ) -> Result<TensorView<'_>, WeightsError> {
        let view = self.tensor(name)?;
        if !dtypes.contains(&view.dtype()) {
            return Err(WeightsError::WrongDType {
                path: self.path.clone(),
                tensor: name.to_string(),
                found: view.dtype(),
                expected: dtypes
                    .iter()
                    .map(|d| format!("{d:?}"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            });
        }
        if let Some(shape) = shape
            && view.shape() != shape
        {
            return Err(WeightsError::WrongShape {
                path: self.path.clone(),
                tensor: name.to_string(),
                found: view.shape().to_vec(),
                expected: shape.to_vec(),
            });
        }
        Ok(view)
    }

    /// A floating-point tensor (F32, F16 or BF16) widened to f32, little-endian as stored.
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, WeightsError> {
        let view = self.expect(name, &[Dtype::F32, Dtype::F16, Dtype::BF16], None)?;
        let bytes = view.data();
        Ok(match view.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
                .collect(),
            _ => bytes
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        })
    }
}

/// IEEE binary16 to f32, exact (every half value is representable).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let mantissa = f32::from(h & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn half_conversion_covers_normals_subnormals_and_specials() {
        use super::f16_to_f32;
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
