//! Component weights: the safetensors a diffusers loader would read (plain files, or the
//! `*.fp16.safetensors` variant when no plain set exists), loaded as f32 through a
//! VarBuilder whose names mirror diffusers'.

use crate::error::ModelError;
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
    // SAFETY: the files are memory-mapped read-only; like every safetensors loader we rely
    // on them not being truncated while the model is loading.
    unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, device) }
        .map_err(|source| ModelError::Weights { component, source })
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
