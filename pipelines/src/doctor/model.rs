//! `--model DIR`: recognise a diffusers folder (SD 2.x or HiDream), validate each
//! component's config and safetensors headers, and say whether it fits the selected device.

use super::loaders::{self, Pipeline, SD_REQUIRED};
use crate::weights::pick_weights;
use device::doctor::{Check, Selected};
use device::{DType, DeviceInfo, TensorsFile};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Weights plus activations: the UNet/transformer's activations at 1024^2 and the VAE
/// decode peak add roughly a fifth on top of the weights in diffusers' own measurements.
const ACTIVATION_HEADROOM: f64 = 1.2;

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Reading a FIFO or device blocks or never ends; a model folder holds regular files
/// (or links to them, as the Hub cache makes), and anything else is refused unread.
fn regular_file(path: &Path) -> Result<(), String> {
    crate::input_file::check_regular(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The first entry of `dir` that is neither a regular file nor a directory.
fn special_entry(dir: &Path) -> Option<String> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .flatten()
        .map(|e| e.path())
        .find(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir()))
        .and_then(|p| regular_file(&p).err())
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text =
        crate::input_file::read_text(path).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::python_json::from_str(&text)
        .map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

/// Which pipeline a folder holds.
fn recognise(root: &Path, index: &Value) -> (Check, String) {
    let class = index["_class_name"].as_str().unwrap_or("").to_string();
    if class.starts_with("HiDream") {
        let which = if class.contains("Edit") {
            "HiDream-E1 (editing)"
        } else {
            "HiDream-I1"
        };
        return (
            Check::pass("model.layout", format!("{which}: {class}")),
            class,
        );
    }
    if class.starts_with("StableDiffusion") {
        // SD 2.x cross-attends to OpenCLIP ViT-H (1024 wide); SD 1.x to CLIP ViT-L (768).
        let width = read_json(&root.join("unet/config.json"))
            .ok()
            .and_then(|c| c["cross_attention_dim"].as_u64());
        return match width {
            Some(1024) => (
                Check::pass(
                    "model.layout",
                    format!("Stable Diffusion 2.x: {class} (cross_attention_dim 1024)"),
                ),
                class,
            ),
            other => (
                Check::warn(
                    "model.layout",
                    format!(
                        "{class} with cross_attention_dim {}: not Stable Diffusion 2.x",
                        other.map_or("unknown".to_string(), |w| w.to_string())
                    ),
                    "the Rust pipelines support SD 2.x (e.g. stabilityai/stable-diffusion-2-1) \
                     and HiDream-I1/E1",
                ),
                class,
            ),
        };
    }
    (
        Check::warn(
            "model.layout",
            format!("unrecognised pipeline class `{class}`"),
            "the Rust pipelines support SD 2.x and HiDream-I1/E1 diffusers folders",
        ),
        class,
    )
}

/// Classes that carry no weights of their own.
fn weightless(class: &str) -> bool {
    ["Tokenizer", "Scheduler", "Processor", "FeatureExtractor"]
        .iter()
        .any(|k| class.contains(k))
}

const LOADER_FIX: &str = "the pipeline's loader refuses this component as shown: re-download it \
     from the model repository, or fix the named file (the values the Rust pipelines \
     support are in docs/doctor.md)";

/// The loader's own verdict on a component (see `loaders`), for the pipelines doctor
/// knows; other folders get the file checks only.
fn loader_check(
    pipeline: Option<Pipeline>,
    root: &Path,
    name: &str,
    build_models: bool,
) -> Result<(), String> {
    match pipeline.and_then(|p| loaders::check(p, root, name, build_models)) {
        Some(Err(why)) => Err(why),
        _ => Ok(()),
    }
}

/// Which loader would read a folder of this pipeline class.
fn pipeline_of(class: &str) -> Option<Pipeline> {
    if class.starts_with("HiDream") {
        Some(Pipeline::HiDream)
    } else if class.starts_with("StableDiffusion") {
        Some(Pipeline::StableDiffusion)
    } else {
        None
    }
}

struct ComponentResult {
    check: Check,
    bytes: u64,
}

fn component(
    root: &Path,
    name: &str,
    class: &str,
    dtype: DType,
    pipeline: Option<Pipeline>,
    host_free: Option<u64>,
) -> ComponentResult {
    let id = format!("model.{name}");
    let dir = root.join(name);
    let fail = |detail: String, fix: &str| ComponentResult {
        check: Check::fail(&id, detail, fix),
        bytes: 0,
    };
    if !dir.is_dir() {
        return fail(
            format!("{class}: folder {} is missing", dir.display()),
            "download the complete model folder (hf download ORG/NAME, or with --local-dir DIR)",
        );
    }
    if let Some(special) = special_entry(&dir) {
        return fail(
            special,
            "replace it with the file from the model repository (hf download ORG/NAME FILE)",
        );
    }
    let configs = [
        "config.json",
        "scheduler_config.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
    ];
    let config = configs.iter().map(|c| dir.join(c)).find(|p| p.is_file());
    let config_note = match &config {
        Some(path) => match read_json(path) {
            Ok(_) => path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            Err(e) => return fail(e, "re-download this component's config file"),
        },
        None if weightless(class) => "no config file".to_string(),
        None => {
            return fail(
                format!("{class}: no config.json in {}", dir.display()),
                "re-download this component",
            );
        }
    };
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    let mut tensors: Vec<PathBuf> = entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .cloned()
        .collect();
    tensors.sort();
    if weightless(class) {
        if let Err(why) = loader_check(pipeline, root, name, false) {
            return fail(why, LOADER_FIX);
        }
        return ComponentResult {
            check: Check::pass(&id, format!("{class}: {config_note}")),
            bytes: 0,
        };
    }
    for index in entries
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".safetensors.index.json"))
    {
        let shards = match read_json(index) {
            Ok(v) => v,
            Err(e) => return fail(e, "re-download the shard index"),
        };
        let mut missing: Vec<String> = shards["weight_map"]
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(|v| v.as_str())
                    .filter(|f| !dir.join(f).is_file())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            return fail(
                format!("{}: missing shards {}", index.display(), missing.join(", ")),
                "the download was interrupted: download the missing shards",
            );
        }
    }
    if tensors.is_empty() {
        let has_bin = entries
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "bin"));
        return if has_bin {
            ComponentResult {
                check: Check::warn(
                    &id,
                    format!("{class}: only .bin (pickle) weights, no safetensors"),
                    "convert to safetensors (diffusers: pipe.save_pretrained(dir, \
                     safe_serialization=True)); pickle files are not loaded by the Rust \
                     pipelines",
                ),
                bytes: 0,
            }
        } else {
            fail(
                format!("{class}: no weight files in {}", dir.display()),
                "download the component's *.safetensors files",
            )
        };
    }
    let mut opened = Vec::new();
    for path in &tensors {
        match TensorsFile::open(path) {
            Ok(f) => opened.push(f),
            Err(e) => {
                return fail(
                    e.to_string(),
                    "the file is truncated or corrupt: delete it and download it again",
                );
            }
        }
    }
    let chosen = pick_weights(&tensors);
    let loaded = |dtype: DType| -> u64 {
        opened
            .iter()
            .filter(|f| chosen.iter().any(|c| c == f.path()))
            .map(|f| f.loaded_bytes(dtype))
            .sum()
    };
    let bytes = loaded(dtype);
    let shape_only = loaded(DType::F32);
    let build = shape_only <= shape_check_budget(host_free);
    if let Err(why) = loader_check(pipeline, root, name, build) {
        return fail(why, LOADER_FIX);
    }
    let count: usize = opened
        .iter()
        .filter(|f| chosen.iter().any(|c| c == f.path()))
        .map(TensorsFile::len)
        .sum();
    let mut detail = format!(
        "{class}: {config_note}, {} file(s), {count} tensors, {} as {dtype}",
        chosen.len(),
        gib(bytes)
    );
    if !build && pipeline.is_some() {
        detail.push_str(&format!(
            "; weight names and shapes not checked against the model (building it \
             shape-only takes up to {} of host RAM)",
            gib(shape_only)
        ));
    }
    ComponentResult {
        check: Check::pass(&id, detail),
        bytes,
    }
}

/// Host memory a shape-only build of a model may use: its layers copy some weights
/// (transposed or fused) at construction, which costs up to the model's f32 size even
/// with no data loaded. Half of what is available, or 4 GiB when that is unknown.
fn shape_check_budget(host_free: Option<u64>) -> u64 {
    host_free.map_or(4 << 30, |free| free / 2)
}

/// All `--model` checks.
pub fn checks(
    root: &Path,
    selected: Option<Selected>,
    devices: &[DeviceInfo],
    host: &DeviceInfo,
) -> Vec<Check> {
    let index = match read_json(&root.join("model_index.json")) {
        Ok(v) => v,
        Err(e) => {
            return vec![Check::fail(
                "model.layout",
                format!("not a diffusers pipeline folder: {e}"),
                "point --model at the folder that holds model_index.json (a diffusers \
                 save_pretrained or Hub snapshot)",
            )];
        }
    };
    let (layout, class) = recognise(root, &index);
    let pipeline = pipeline_of(&class);
    let mut checks = vec![layout];
    let dtype = selected.map_or(DType::F32, |s| s.dtype);
    let mut total = 0u64;
    let mut largest = 0u64;
    let mut components: Vec<(String, String)> = index
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with('_'))
        .filter_map(|(k, v)| {
            // ["diffusers", "UNet2DConditionModel"]; [null, null] marks an unused slot.
            let pair = v.as_array()?;
            let library = pair.first()?.as_str()?;
            let class = pair.get(1)?.as_str()?;
            (!library.is_empty()).then(|| (k.clone(), class.to_string()))
        })
        .collect();
    components.sort();
    if pipeline == Some(Pipeline::StableDiffusion) {
        for needed in SD_REQUIRED {
            if !components.iter().any(|(name, _)| name == needed) {
                checks.push(Check::fail(
                    &format!("model.{needed}"),
                    format!("model_index.json ({class}) does not list {needed}"),
                    "sd needs tokenizer, text_encoder, unet, vae and scheduler: download the \
                     complete pipeline folder",
                ));
            }
        }
    }
    for (name, class) in &components {
        let result = component(root, name, class, dtype, pipeline, host.memory_free_bytes);
        total += result.bytes;
        largest = largest.max(result.bytes);
        checks.push(result.check);
    }
    checks.push(fit(total, largest, selected, devices, host));
    checks
}

fn fit(
    total: u64,
    largest: u64,
    selected: Option<Selected>,
    devices: &[DeviceInfo],
    host: &DeviceInfo,
) -> Check {
    let Some(selected) = selected else {
        return Check::skip("model.memory", "no device selected");
    };
    let need = |b: u64| (b as f64 * ACTIVATION_HEADROOM) as u64;
    let host_free = host.memory_free_bytes;
    let device = devices.iter().find(|d| d.id == selected.device);
    let Some(free) = device.and_then(|d| d.memory_free_bytes) else {
        return Check::warn(
            "model.memory",
            format!(
                "{} of weights as {}; free memory of {} unknown",
                gib(total),
                selected.dtype,
                selected.device
            ),
            "check free memory with npu-smi info / nvidia-smi",
        );
    };
    let summary = format!(
        "{} of weights as {} (largest component {}), {} free on {}, host RAM {} available",
        gib(total),
        selected.dtype,
        gib(largest),
        gib(free),
        selected.device,
        host_free.map_or("unknown".to_string(), gib)
    );
    if need(total) <= free {
        return Check::pass("model.memory", format!("fits: {summary}"));
    }
    let host_ok = host_free.is_none_or(|h| total <= h);
    let on_cpu = selected.device == device::Device::Cpu;
    if !on_cpu && need(largest) <= free && host_ok {
        return Check::warn(
            "model.memory",
            format!("needs offload: {summary}"),
            "enable model CPU offload (components move to the device one at a time), or use \
             a device with more free memory",
        );
    }
    Check::fail(
        "model.memory",
        format!("does not fit: {summary}"),
        if selected.dtype == DType::F32 {
            "load in f16/bf16 (PREFERRED_DTYPE), free memory, or use a larger device"
        } else {
            "free memory on the device and host, or use a larger device"
        },
    )
}
