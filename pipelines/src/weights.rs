//! Component weights: the safetensors a diffusers loader would read (plain files, or the
//! `*.fp16.safetensors` variant when no plain set exists), loaded as f32 through a
//! VarBuilder whose names mirror diffusers'.

use crate::error::ModelError;
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The safetensors files of one component folder.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let component = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError::MissingComponent {
        component: component.clone(),
        detail: format!("{}: {e}", dir.display()),
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    // Mapped later by candle, which opens the path itself: a FIFO would block there.
    for file in &files {
        crate::input_file::check_regular(file).map_err(|e| ModelError::MissingComponent {
            component: component.clone(),
            detail: format!("{}: {e}", file.display()),
        })?;
    }
    files.sort();
    if files.is_empty() {
        return Err(ModelError::MissingComponent {
            component,
            detail: format!("no *.safetensors file in {}", dir.display()),
        });
    }
    Ok(pick_weights(&files))
}

/// A VarBuilder over a component folder's weights, converted to `dtype` on `device`.
pub fn component_vars(
    dir: &Path,
    dtype: DType,
    device: &Device,
) -> Result<VarBuilder<'static>, ModelError> {
    let files = weight_files(dir)?;
    let component = dir.display().to_string();
    mapped_vars(&files, dtype, device).map_err(|source| ModelError::Weights { component, source })
}

/// A VarBuilder over memory-mapped safetensors that refuses what a plain one would
/// convert silently: a weight stored as integers, or with another shape (checked from
/// the header, before anything is read).
pub fn mapped_vars(
    files: &[PathBuf],
    dtype: DType,
    device: &Device,
) -> candle_core::Result<VarBuilder<'static>> {
    // SAFETY: the files are memory-mapped read-only; like every safetensors loader we rely
    // on them not being truncated while the model is loading.
    let mapped = unsafe { MmapedSafetensors::multi(files) }?;
    Ok(VarBuilder::from_backend(
        Box::new(FloatWeights(mapped)),
        dtype,
        device.clone(),
    ))
}

/// Memory-mapped weights served only when stored as floats, with the shape asked for.
pub(crate) struct FloatWeights(pub(crate) MmapedSafetensors);

fn is_float(dtype: safetensors::Dtype) -> bool {
    use safetensors::Dtype;
    matches!(dtype, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
}

/// What a weight's header must say before its data is read: a floating-point dtype (an
/// integer tensor would be converted silently) and, when the model asks for one, the
/// shape it asks for. The doctor's header-only check applies the same rule.
pub(crate) fn check_stored(
    name: &str,
    dtype: safetensors::Dtype,
    stored: &[usize],
    wanted: Option<&Shape>,
) -> candle_core::Result<()> {
    if !is_float(dtype) {
        candle_core::bail!(
            "{name} is stored as {dtype:?}; model weights must be floating point (F16, BF16, F32 or F64)"
        )
    }
    match wanted {
        Some(s) if stored != s.dims() => Err(candle_core::Error::UnexpectedShape {
            msg: format!("shape mismatch for {name}"),
            expected: s.clone(),
            got: stored.into(),
        }),
        _ => Ok(()),
    }
}

impl SimpleBackend for FloatWeights {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let view = self.0.get(name)?;
        check_stored(name, view.dtype(), view.shape(), Some(&s))?;
        self.0.load(name, dev)?.to_dtype(dtype)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let view = self.0.get(name)?;
        check_stored(name, view.dtype(), view.shape(), None)?;
        self.0.load(name, dev)?.to_dtype(dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.0.get(name).is_ok()
    }
}

/// A VarBuilder that materialises nothing and records every (name, shape) a model asks
/// for; used to compare a model's parameter set with diffusers' without any weights.
type Seen = Vec<(String, Vec<usize>)>;

#[derive(Clone, Default)]
pub struct ShapeRecorder {
    seen: Arc<Mutex<Seen>>,
}

impl ShapeRecorder {
    pub fn var_builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self.clone()), DType::F32, Device::Cpu)
    }

    pub fn names_and_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl SimpleBackend for ShapeRecorder {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((name.to_string(), s.dims().to_vec()));
        }
        // A broadcast scalar has the right shape but allocates nothing.
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("ShapeRecorder needs a shape for {name}")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        false
    }
}

/// Files a loader would actually read: the plain set, or a variant (`*.fp16.safetensors`)
/// when there is no plain set.
pub fn pick_weights(files: &[PathBuf]) -> Vec<PathBuf> {
    let is_variant = |p: &PathBuf| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.matches('.').count() >= 2
            && !name.contains("-of-")
            && (name.contains(".fp16.") || name.contains(".bf16.") || name.contains(".fp32."))
    };
    let plain: Vec<PathBuf> = files.iter().filter(|p| !is_variant(p)).cloned().collect();
    if plain.is_empty() {
        files.to_vec()
    } else {
        plain
    }
}
