//! LoRA checkpoints merged into transformer weights as they load: `W + (alpha / rank) * up @ down`
//! for every adapted linear layer, and plain replacement for full tensors the checkpoint also
//! carries.
//!
//! HiDream-E1-Full is published this way: its script adds a PEFT adapter to HiDream-I1-Full
//! (r = 16, lora_alpha = 16, so scale 1) and `load_state_dict`s the checkpoint, whose keys are
//! PEFT's module names: `<module>.lora_A.default.weight` (down), `<module>.lora_B.default.weight`
//! (up) and, for full tensors, `<module>.base_layer.weight` or plain `<name>`. The same
//! loader takes diffusers-style `lora_A.weight` / `lora_B.weight`, a leading `transformer.` or
//! `base_model.model.`, and `lora_down` / `lora_up` with an optional per-module `.alpha`
//! (dotted module names only; kohya's underscore-mangled names are not mapped).
//!
//! Merging at load keeps the denoising loop free of adapter code and costs nothing per step;
//! the merged weights are computed tensor by tensor from the memory-mapped base files.

use super::HiDreamError;
use super::transformer::{HiDreamTransformer, check_model_dtype, read_folder};
use crate::layers::Kernels;
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// HiDream-E1-Full's adapter: `LoraConfig(r=16, lora_alpha=16)`.
pub const E1_FULL_LORA_ALPHA: f64 = 16.0;

/// Which parts of a checkpoint to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoraParts {
    /// Low-rank updates and full tensors: the editing model.
    All,
    /// Full tensors only, adapters off: E1-Full's refine stage. Its script keeps the
    /// checkpoint's full tensors there, because the "refine" copies it takes from
    /// `state_dict()` share storage with the parameters the checkpoint is then loaded into.
    FullTensorsOnly,
}

/// One adapted linear layer.
#[derive(Debug, Clone)]
struct LowRank {
    down: Tensor,
    up: Tensor,
    alpha: Option<f64>,
}

/// A LoRA checkpoint keyed by the transformer weight each entry changes.
#[derive(Debug, Clone)]
pub struct LoraCheckpoint {
    path: PathBuf,
    low_rank: BTreeMap<String, LowRank>,
    replacements: BTreeMap<String, Tensor>,
}

enum KeyRole {
    Down(String),
    Up(String),
    Alpha(String),
    Replace(String),
}

/// Splits `<module>.<marker>[.<adapter>].weight` into the module's weight name.
fn lora_module(key: &str, marker: &str) -> Option<String> {
    let (module, rest) = key.split_once(&format!(".{marker}"))?;
    let rest = rest.strip_suffix("weight")?;
    // What remains is "." or ".<adapter name>.".
    let adapter = rest.strip_prefix('.')?.strip_suffix('.').unwrap_or("");
    (!adapter.contains('.')).then(|| format!("{module}.weight"))
}

fn classify(key: &str) -> KeyRole {
    let key = key.strip_prefix("transformer.").unwrap_or(key);
    let key = key.strip_prefix("base_model.model.").unwrap_or(key);
    for (marker, down) in [
        ("lora_A", true),
        ("lora_down", true),
        ("lora_B", false),
        ("lora_up", false),
    ] {
        if let Some(weight) = lora_module(key, marker) {
            return if down {
                KeyRole::Down(weight)
            } else {
                KeyRole::Up(weight)
            };
        }
    }
    if let Some(module) = key.strip_suffix(".alpha") {
        return KeyRole::Alpha(format!("{module}.weight"));
    }
    KeyRole::Replace(key.replace(".base_layer.", "."))
}

fn lora_error(path: &Path, message: impl Into<String>) -> HiDreamError {
    HiDreamError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl LoraCheckpoint {
    /// Reads a LoRA safetensors file (on the CPU, as f32).
    pub fn read(path: &Path) -> Result<Self, HiDreamError> {
        crate::input_file::check_regular(path)
            .map_err(|e| lora_error(path, format!("cannot read the LoRA file: {e}")))?;
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| lora_error(path, format!("cannot read the LoRA file: {e}")))?;
        Self::from_tensors(path, tensors)
    }

    /// From already loaded tensors; `path` names the checkpoint in errors.
    pub fn from_tensors(
        path: &Path,
        tensors: HashMap<String, Tensor>,
    ) -> Result<Self, HiDreamError> {
        let mut downs = BTreeMap::new();
        let mut ups = BTreeMap::new();
        let mut alphas = BTreeMap::new();
        let mut replacements = BTreeMap::new();
        let mut keys: Vec<_> = tensors.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, tensor) in keys {
            let tensor = tensor.to_dtype(DType::F32)?;
            let (slot, weight) = match classify(&key) {
                KeyRole::Down(w) => (&mut downs, w),
                KeyRole::Up(w) => (&mut ups, w),
                KeyRole::Alpha(w) => (&mut alphas, w),
                KeyRole::Replace(w) => (&mut replacements, w),
            };
            if let Some((earlier, _)) = slot.insert(weight.clone(), (key.clone(), tensor)) {
                return Err(lora_error(
                    path,
                    format!(
                        "LoRA keys {earlier} and {key} both change {weight}; keep one adapter \
                         per file"
                    ),
                ));
            }
        }
        let mut low_rank = BTreeMap::new();
        let mut unpaired = Vec::new();
        for (weight, (down_key, down)) in downs {
            let Some((_, up)) = ups.remove(&weight) else {
                unpaired.push(down_key);
                continue;
            };
            let alpha = match alphas.remove(&weight) {
                Some((key, a)) => Some(
                    a.flatten_all()?
                        .to_vec1::<f32>()?
                        .first()
                        .copied()
                        .map(f64::from)
                        .ok_or_else(|| lora_error(path, format!("{key} is empty")))?,
                ),
                None => None,
            };
            low_rank.insert(weight, LowRank { down, up, alpha });
        }
        unpaired.extend(ups.into_values().map(|(key, _)| key));
        unpaired.extend(alphas.into_values().map(|(key, _)| key));
        if !unpaired.is_empty() {
            return Err(lora_error(
                path,
                format!(
                    "LoRA keys without their down/up partner: {}",
                    unpaired.join(", ")
                ),
            ));
        }
        let replacements = replacements
            .into_iter()
            .map(|(weight, (_, t))| (weight, t))
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            low_rank,
            replacements,
        })
    }

    /// Transformer weights the checkpoint adapts with low-rank updates.
    pub fn adapted(&self) -> impl Iterator<Item = &str> {
        self.low_rank.keys().map(String::as_str)
    }

    /// Transformer weights the checkpoint replaces outright.
    pub fn replaced(&self) -> impl Iterator<Item = &str> {
        self.replacements.keys().map(String::as_str)
    }
}

/// Base weights with a LoRA checkpoint applied, served to a `VarBuilder` one tensor at a time.
pub struct MergedWeights {
    base: MmapedSafetensors,
    lora: LoraCheckpoint,
    default_alpha: f64,
    parts: LoraParts,
}

impl MergedWeights {
    /// Checks that every checkpoint entry names a base weight of a matching shape, listing
    /// all that do not. `default_alpha` is the adapter config's `lora_alpha`, used for
    /// modules without their own `.alpha` entry.
    pub fn new(
        base: MmapedSafetensors,
        lora: LoraCheckpoint,
        default_alpha: f64,
        parts: LoraParts,
    ) -> Result<Self, HiDreamError> {
        let mut unmatched = Vec::new();
        let mut mismatched = Vec::new();
        let base_shape = |name: &str| base.get(name).ok().map(|view| view.shape().to_vec());
        for (weight, pair) in &lora.low_rank {
            let (rank, input) = pair.down.dims2()?;
            let (output, up_rank) = pair.up.dims2()?;
            match base_shape(weight) {
                None => unmatched.push(weight.clone()),
                Some(shape) if shape != [output, input] || up_rank != rank => mismatched.push(
                    format!("{weight}: base {shape:?}, LoRA up [{output}, {up_rank}] @ down [{rank}, {input}]"),
                ),
                Some(_) => {}
            }
        }
        for (weight, tensor) in &lora.replacements {
            match base_shape(weight) {
                None => unmatched.push(weight.clone()),
                Some(shape) if shape != tensor.dims() => mismatched.push(format!(
                    "{weight}: base {shape:?}, replacement {:?}",
                    tensor.dims()
                )),
                Some(_) => {}
            }
        }
        let mut problems = Vec::new();
        if !unmatched.is_empty() {
            problems.push(format!(
                "{} LoRA entries match no transformer weight: {}",
                unmatched.len(),
                unmatched.join(", ")
            ));
        }
        if !mismatched.is_empty() {
            problems.push(format!(
                "{} LoRA entries do not fit their transformer weight: {}",
                mismatched.len(),
                mismatched.join("; ")
            ));
        }
        if !problems.is_empty() {
            return Err(lora_error(&lora.path, problems.join(". ")));
        }
        if !default_alpha.is_finite() {
            return Err(HiDreamError::InvalidInput(format!(
                "--lora-alpha {default_alpha}: must be a finite number"
            )));
        }
        Ok(Self {
            base,
            lora,
            default_alpha,
            parts,
        })
    }

    /// The weight under `name` after the checkpoint is applied, as f32.
    pub fn merged(&self, name: &str, device: &Device) -> candle_core::Result<Tensor> {
        if let Some(replacement) = self.lora.replacements.get(name) {
            return replacement.to_device(device);
        }
        let base = self.base.load(name, device)?.to_dtype(DType::F32)?;
        let pair = match self.parts {
            LoraParts::All => self.lora.low_rank.get(name),
            LoraParts::FullTensorsOnly => None,
        };
        let Some(pair) = pair else {
            return Ok(base);
        };
        let rank = pair.down.dim(0)? as f64;
        let scale = pair.alpha.unwrap_or(self.default_alpha) / rank;
        let delta = pair
            .up
            .to_device(device)?
            .matmul(&pair.down.to_device(device)?)?;
        base + (delta * scale)?
    }
}

impl SimpleBackend for MergedWeights {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.merged(name, device)?;
        if tensor.shape() != &shape {
            candle_core::bail!(
                "{name}: the model expects {shape:?}, the weights hold {:?}",
                tensor.shape()
            );
        }
        tensor.to_dtype(dtype)
    }

    fn get_unchecked(
        &self,
        name: &str,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        self.merged(name, device)?.to_dtype(dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.base.get(name).is_ok()
    }
}

/// A diffusers `transformer` folder with a LoRA checkpoint merged in, held in `dtype`.
/// Each weight is merged in f32 and rounded to `dtype` once.
pub fn load_transformer_with_lora(
    dir: &Path,
    lora: &Path,
    default_alpha: f64,
    parts: LoraParts,
    device: &crate::model_tensor::ModelDevice,
    dtype: DType,
    kernels: Kernels,
) -> Result<HiDreamTransformer, HiDreamError> {
    check_model_dtype(dtype)?;
    let (config, files) = read_folder(dir)?;
    let weights_error = |source| HiDreamError::Weights {
        component: dir.display().to_string(),
        source,
    };
    // SAFETY: read-only memory maps; like every safetensors loader we rely on the files not
    // being truncated while the model loads.
    let base = unsafe { MmapedSafetensors::multi(&files) }.map_err(weights_error)?;
    let merged = MergedWeights::new(base, LoraCheckpoint::read(lora)?, default_alpha, parts)?;
    let backend: Box<dyn SimpleBackend> = Box::new(merged);
    let vb = crate::model_tensor::VarBuilder::new(
        VarBuilder::from_backend(backend, dtype, device.host()),
        device.clone(),
    );
    HiDreamTransformer::new(config, vb, kernels).map_err(|e| match e {
        HiDreamError::Candle(source) => weights_error(source),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_map_to_the_weight_they_change() {
        let weight = |key: &str| match classify(key) {
            KeyRole::Down(w) => format!("down {w}"),
            KeyRole::Up(w) => format!("up {w}"),
            KeyRole::Alpha(w) => format!("alpha {w}"),
            KeyRole::Replace(w) => format!("replace {w}"),
        };
        assert_eq!(weight("a.to_q.lora_A.default.weight"), "down a.to_q.weight");
        assert_eq!(
            weight("transformer.a.to_q.lora_B.weight"),
            "up a.to_q.weight"
        );
        assert_eq!(weight("a.w1.lora_down.weight"), "down a.w1.weight");
        assert_eq!(weight("a.w1.lora_up.weight"), "up a.w1.weight");
        assert_eq!(weight("a.w1.alpha"), "alpha a.w1.weight");
        assert_eq!(
            weight("base_model.model.final_layer.linear.base_layer.weight"),
            "replace final_layer.linear.weight"
        );
        assert_eq!(
            weight("x_embedder.proj.bias"),
            "replace x_embedder.proj.bias"
        );
    }
}
