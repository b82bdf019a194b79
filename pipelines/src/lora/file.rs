//! One LoRA file read into adapters: each adapted module's down and up matrices and the
//! factor its update is scaled by (the user's weight times alpha over rank).

use super::names::{self, Module, Part, Target, Unreadable};
use crate::error::ModelError;
use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How many offending keys an error lists before saying how many more there are.
const LISTED: usize = 5;

/// `--lora FILE[:WEIGHT]`: a file and the weight its updates are applied with (1 when
/// not given; diffusers' `fuse_lora(lora_scale=WEIGHT)`, A1111's `<lora:NAME:WEIGHT>`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoraSpec {
    pub path: PathBuf,
    pub weight: f64,
}

impl std::str::FromStr for LoraSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        // A path may itself hold ':'; only a trailing number is read as the weight.
        if let Some((path, weight)) = text.rsplit_once(':')
            && let Ok(weight) = weight.parse::<f64>()
        {
            if !weight.is_finite() {
                return Err(format!(
                    "{text:?}: the weight {weight} is not a finite number"
                ));
            }
            return Ok(Self {
                path: PathBuf::from(path),
                weight,
            });
        }
        if text.is_empty() {
            return Err("an empty LoRA path".into());
        }
        Ok(Self {
            path: PathBuf::from(text),
            weight: 1.0,
        })
    }
}

/// One adapted module: `update = scale * up @ down`.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub target: Target,
    pub module: Module,
    /// `[rank, in]` or `[rank, in, kh, kw]`, f32 on the CPU.
    pub down: Tensor,
    /// `[out, rank]` or `[out, rank, 1, 1]`, f32 on the CPU.
    pub up: Tensor,
    pub scale: f64,
    /// The down key, for messages.
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct LoraFile {
    pub path: PathBuf,
    pub adapters: Vec<Adapter>,
}

#[derive(Default)]
struct Parts {
    down: Option<(String, Tensor)>,
    up: Option<(String, Tensor)>,
    alpha: Option<(String, Tensor)>,
}

pub(super) fn lora_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Lora {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// `items` as a short list: the first few, then how many more.
pub(super) fn listed(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LISTED {
        text.push_str(&format!(" and {} more", items.len() - LISTED));
    }
    text
}

/// What diffusers' `save_lora_weights` stores about each adapter (PEFT's LoraConfig under
/// `<component>.<field>`), when the file has it.
struct AdapterConfigs(Option<serde_json::Map<String, Value>>);

impl AdapterConfigs {
    fn read(bytes: &[u8], path: &Path) -> Result<Self, ModelError> {
        let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| lora_error(path, format!("not a safetensors file: {e}")))?;
        let Some(text) = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get("lora_adapter_metadata"))
        else {
            return Ok(Self(None));
        };
        match crate::python_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(Self(Some(map))),
            _ => Err(lora_error(
                path,
                "its lora_adapter_metadata is not a JSON object",
            )),
        }
    }

    fn field(&self, target: Target, name: &str) -> Option<&Value> {
        self.0
            .as_ref()?
            .get(&format!("{}.{name}", target.component()))
    }

    /// PEFT's scale for `module`: alpha (from alpha_pattern, else lora_alpha) over the rank,
    /// or over its square root with rsLoRA; `None` when the file does not say.
    fn scale(&self, target: Target, module: &Module, rank: f64) -> Option<f64> {
        let name = match module {
            Module::Dotted(name) | Module::Mangled(name) => name,
        };
        let pattern = self
            .field(target, "alpha_pattern")
            .and_then(Value::as_object)
            .and_then(|patterns| {
                patterns.iter().find_map(|(p, alpha)| {
                    (name == p || name.ends_with(&format!(".{p}")))
                        .then(|| alpha.as_f64())
                        .flatten()
                })
            });
        let alpha = pattern.or_else(|| self.field(target, "lora_alpha")?.as_f64())?;
        let rs = self
            .field(target, "use_rslora")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Some(if rs {
            alpha / rank.sqrt()
        } else {
            alpha / rank
        })
    }
}

impl LoraFile {
    pub fn read(spec: &LoraSpec) -> Result<Self, ModelError> {
        let path = &spec.path;
        crate::input_file::check_regular(path)
            .map_err(|e| lora_error(path, format!("cannot read the LoRA file: {e}")))?;
        let bytes = std::fs::read(path)
            .map_err(|e| lora_error(path, format!("cannot read the LoRA file: {e}")))?;
        let configs = AdapterConfigs::read(&bytes, path)?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .map_err(|e| lora_error(path, format!("cannot read the LoRA file: {e}")))?;
        let mut modules: BTreeMap<(Target, Module), Parts> = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut unsupported = BTreeMap::new();
        let mut keys: Vec<_> = tensors.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, tensor) in keys {
            let parsed = match names::parse(&key) {
                Ok(parsed) => parsed,
                Err(Unreadable::Unknown) => {
                    unknown.push(key);
                    continue;
                }
                Err(Unreadable::Unsupported(what)) => {
                    unsupported.entry(what).or_insert(key);
                    continue;
                }
            };
            let tensor = tensor.to_dtype(DType::F32)?;
            let parts = modules.entry((parsed.target, parsed.module)).or_default();
            let slot = match parsed.part {
                Part::Down => &mut parts.down,
                Part::Up => &mut parts.up,
                Part::Alpha => &mut parts.alpha,
            };
            if let Some((earlier, _)) = slot.replace((key.clone(), tensor)) {
                return Err(lora_error(
                    path,
                    format!(
                        "LoRA keys {earlier} and {key} both set one module; keep one adapter per file"
                    ),
                ));
            }
        }
        if let Some((what, key)) = unsupported.into_iter().next() {
            return Err(lora_error(
                path,
                format!("uses {what} (key {key}), which this loader does not apply"),
            ));
        }
        if !unknown.is_empty() {
            return Err(lora_error(
                path,
                format!(
                    "{} keys are neither kohya (lora_unet_*, lora_te_*) nor diffusers/PEFT \
                     (unet.*, text_encoder.*) LoRA keys: {}",
                    unknown.len(),
                    listed(&unknown)
                ),
            ));
        }
        let mut adapters = Vec::with_capacity(modules.len());
        let mut unpaired = Vec::new();
        for ((target, module), parts) in modules {
            let (Some((key, down)), Some((_, up))) = (parts.down.clone(), parts.up.clone()) else {
                unpaired.extend(
                    [parts.down, parts.up, parts.alpha]
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k),
                );
                continue;
            };
            let rank = down.dim(0)? as f64;
            let alpha_scale = match parts.alpha {
                Some((alpha_key, alpha)) => {
                    let alpha = alpha
                        .flatten_all()?
                        .to_vec1::<f32>()?
                        .first()
                        .copied()
                        .ok_or_else(|| lora_error(path, format!("{alpha_key} is empty")))?;
                    f64::from(alpha) / rank
                }
                None => configs.scale(target, &module, rank).unwrap_or(1.0),
            };
            let scale = spec.weight * alpha_scale;
            if !scale.is_finite() {
                return Err(lora_error(path, format!("{key}: its scale is not finite")));
            }
            adapters.push(Adapter {
                target,
                module,
                down,
                up,
                scale,
                key,
            });
        }
        if !unpaired.is_empty() {
            return Err(lora_error(
                path,
                format!(
                    "LoRA keys without their down/up partner: {}",
                    listed(&unpaired)
                ),
            ));
        }
        Ok(Self {
            path: path.clone(),
            adapters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_a_trailing_weight_only() {
        let spec: LoraSpec = "风格.safetensors:0.6".parse().unwrap();
        assert_eq!(spec.path, PathBuf::from("风格.safetensors"));
        assert_eq!(spec.weight, 0.6);
        let spec: LoraSpec = "c:/loras/a.safetensors".parse().unwrap();
        assert_eq!(spec.weight, 1.0);
        assert!("a.safetensors:inf".parse::<LoraSpec>().is_err());
        assert!("".parse::<LoraSpec>().is_err());
    }
}
