//! A component's weights with LoRA updates merged in as they load: each adapted weight is
//! read in f32, every update `scale * up @ down` added, and the sum rounded to the model
//! dtype once (diffusers' `fuse_lora` on an f32 model). The denoising loop then runs with
//! no adapter code and no per-step cost.

use super::file::{Adapter, LoraFile, listed, lora_error};
use super::names::{Module, Target, mangle};
use crate::error::ModelError;
use crate::weights::{FloatWeights, weight_files};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// transformers 4.x saves CLIP text weights under `text_model.`, 5.x without it; LoRA
/// files use either.
const TEXT_MODEL: &str = "text_model.";

/// One update of one weight, as 2-D factors.
struct Update {
    up: Tensor,
    down: Tensor,
    scale: f64,
}

struct Merged {
    base: FloatWeights,
    updates: HashMap<String, Vec<Update>>,
}

/// The VarBuilder for the component in `dir`: its own weights when no LoRA adapts it,
/// else the weights with every adapter for `target` merged in. Every adapter must name a
/// weight of the component with a fitting shape; those that do not are listed.
pub fn component_vars(
    dir: &Path,
    dtype: DType,
    device: &Device,
    loras: &[LoraFile],
    target: Target,
) -> Result<VarBuilder<'static>, ModelError> {
    if !loras
        .iter()
        .any(|f| f.adapters.iter().any(|a| a.target == target))
    {
        return crate::weights::component_vars(dir, dtype, device);
    }
    let files = weight_files(dir)?;
    let weights_error = |source| ModelError::Weights {
        component: dir.display().to_string(),
        source,
    };
    // SAFETY: read-only memory maps; like every safetensors loader we rely on the files not
    // being truncated while the model loads.
    let mapped = unsafe { MmapedSafetensors::multi(&files) }.map_err(weights_error)?;
    let shapes: HashMap<String, Vec<usize>> = mapped
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec()))
        .collect();
    let resolver = Resolver::new(shapes.keys(), target);
    let mut updates: HashMap<String, Vec<Update>> = HashMap::new();
    for file in loras {
        let mut unmatched = Vec::new();
        let mut misfits = Vec::new();
        for adapter in file.adapters.iter().filter(|a| a.target == target) {
            let Some(weight) = resolver.weight(&adapter.module) else {
                unmatched.push(adapter.key.clone());
                continue;
            };
            match factors(adapter, &shapes[&weight]) {
                Ok(update) => updates.entry(weight).or_default().push(update),
                Err(why) => misfits.push(format!("{} ({weight}: {why})", adapter.key)),
            }
        }
        let mut problems = Vec::new();
        if !unmatched.is_empty() {
            problems.push(format!(
                "{} keys match no weight of the {}: {}",
                unmatched.len(),
                target.component(),
                listed(&unmatched)
            ));
        }
        if !misfits.is_empty() {
            problems.push(format!(
                "{} keys do not fit their weight: {}",
                misfits.len(),
                listed(&misfits)
            ));
        }
        if !problems.is_empty() {
            return Err(lora_error(&file.path, problems.join("; ")));
        }
    }
    Ok(VarBuilder::from_backend(
        Box::new(Merged {
            base: FloatWeights(mapped),
            updates,
        }),
        dtype,
        device.clone(),
    ))
}

/// Module names as LoRA files spell them, to the component's weight names.
struct Resolver {
    weights: BTreeSet<String>,
    mangled: HashMap<String, String>,
}

impl Resolver {
    fn new<'a>(names: impl Iterator<Item = &'a String>, target: Target) -> Self {
        let weights: BTreeSet<String> = names.filter(|n| n.ends_with(".weight")).cloned().collect();
        let mut mangled = HashMap::new();
        for weight in &weights {
            let module = &weight[..weight.len() - ".weight".len()];
            mangled.insert(mangle(module), weight.clone());
            if target == Target::TextEncoder && !module.starts_with(TEXT_MODEL) {
                mangled.insert(mangle(&format!("{TEXT_MODEL}{module}")), weight.clone());
            }
        }
        Self { weights, mangled }
    }

    fn weight(&self, module: &Module) -> Option<String> {
        match module {
            Module::Mangled(name) => self.mangled.get(name).cloned(),
            Module::Dotted(name) => {
                let bare = name.strip_prefix(TEXT_MODEL).unwrap_or(name);
                [
                    name.clone(),
                    bare.to_string(),
                    format!("{TEXT_MODEL}{bare}"),
                ]
                .into_iter()
                .map(|m| format!("{m}.weight"))
                .find(|w| self.weights.contains(w))
            }
        }
    }
}

/// The adapter as `[out, rank]` and `[rank, in * kh * kw]` factors of a weight of `shape`
/// (a linear `[out, in]` or a convolution `[out, in, kh, kw]`), or why it does not fit.
fn factors(adapter: &Adapter, shape: &[usize]) -> Result<Update, String> {
    let (up_dims, down_dims) = (adapter.up.dims(), adapter.down.dims());
    let fits = match (up_dims, down_dims) {
        ([out, r], [r2, rest @ ..]) | ([out, r, 1, 1], [r2, rest @ ..]) => {
            Some(*out) == shape.first().copied()
                && r == r2
                && rest == &shape[1..]
                && !rest.is_empty()
        }
        _ => false,
    };
    if !fits {
        return Err(format!(
            "weight {shape:?}, LoRA up {up_dims:?} and down {down_dims:?}"
        ));
    }
    let (out, rank) = (up_dims[0], up_dims[1]);
    let inner: usize = shape[1..].iter().product();
    let reshape = |t: &Tensor, dims: (usize, usize)| t.reshape(dims).map_err(|e| e.to_string());
    Ok(Update {
        up: reshape(&adapter.up, (out, rank))?,
        down: reshape(&adapter.down, (rank, inner))?,
        scale: adapter.scale,
    })
}

impl Merged {
    fn merge(&self, name: &str, base: Tensor, dtype: DType) -> candle_core::Result<Tensor> {
        let Some(updates) = self.updates.get(name) else {
            return base.to_dtype(dtype);
        };
        let device = base.device().clone();
        let shape = base.shape().clone();
        let mut merged = base;
        for update in updates {
            let delta = update
                .up
                .to_device(&device)?
                .matmul(&update.down.to_device(&device)?)?;
            merged = (merged + (delta * update.scale)?.reshape(&shape)?)?;
        }
        merged.to_dtype(dtype)
    }
}

impl SimpleBackend for Merged {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let base = self.base.get(shape, name, init, DType::F32, device)?;
        self.merge(name, base, dtype)
    }

    fn get_unchecked(
        &self,
        name: &str,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let base = self.base.get_unchecked(name, DType::F32, device)?;
        self.merge(name, base, dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.base.contains_tensor(name)
    }
}
