//! Before a HiDream run: what it will need, stage by stage, against what the device has.
//!
//! The plan this models is the one a memory-limited run follows: components are loaded one
//! at a time and dropped when their stage ends (each text encoder, then the transformer,
//! then the VAE), and weights are read through memory maps, so the peak is the largest
//! stage rather than the sum. Parameter bytes come from the safetensors headers (exact for
//! the chosen dtype); activations are estimates (see [`activations`]).
//!
//! With `--offload` the transformer's blocks stay in host memory and the device holds the
//! rest of the model plus one block; on the CPU host and device are the same memory, so
//! offload changes nothing there and the report says so.

pub mod activations;
pub mod weights;

pub use weights::{ComponentWeights, component_weights};

use crate::config::read_config;
use crate::hidream::HiDreamError;
use crate::hidream::transformer::TransformerConfig;
use crate::models::autoencoders::VaeConfig;
use device::{DType, MemoryInfo};
use std::fmt::Write as _;
use std::path::Path;

/// HiDream's prompt length for every encoder.
const PROMPT_TOKENS: u64 = 128;

/// The text encoder folders of a HiDream-I1 model (Llama is separate, see `llama_dir`).
pub const TEXT_ENCODERS: [&str; 3] = ["text_encoder", "text_encoder_2", "text_encoder_3"];

/// What a run will do.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub model_dir: &'a Path,
    /// The Llama-3.1 folder, when the estimate should count it.
    pub llama_dir: Option<&'a Path>,
    /// The transformer's and VAE's dtype.
    pub dtype: DType,
    /// The text encoders' dtype.
    pub encoder_dtype: DType,
    /// The generated size (after the size rule), in pixels.
    pub width: usize,
    pub height: usize,
    pub batch: usize,
    pub cfg: bool,
    pub offload: bool,
    /// The compute device is the CPU (offload is then a no-op).
    pub on_cpu: bool,
    /// The attention kernel materialises its scores (the naive kernel).
    pub scores_materialised: bool,
}

/// One stage of the run: the weights resident on the compute device and its activations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub weights: u64,
    pub activations: u64,
}

impl Stage {
    pub fn total(&self) -> u64 {
        self.weights + self.activations
    }
}

#[derive(Debug, Clone)]
pub struct MemoryEstimate {
    pub request_summary: String,
    pub components: Vec<ComponentWeights>,
    pub stages: Vec<Stage>,
    /// Transformer block bytes kept on the host with offload (0 without).
    pub host_blocks: u64,
    /// Device bytes of the denoising stage with and without offload (for the advice).
    pub denoise_resident: u64,
    pub denoise_offloaded: u64,
    pub offload: bool,
    pub on_cpu: bool,
    pub missing: Vec<String>,
}

impl MemoryEstimate {
    /// The stage with the largest need.
    pub fn peak(&self) -> Option<&Stage> {
        self.stages.iter().max_by_key(|s| s.total())
    }

    pub fn peak_bytes(&self) -> u64 {
        self.peak().map_or(0, Stage::total)
    }

    /// Whether the peak fits in the free memory, when the device reports it.
    pub fn fits(&self, memory: Option<MemoryInfo>) -> Option<bool> {
        memory.map(|m| self.peak_bytes() <= m.free)
    }

    /// A printable report for `device` (e.g. "cpu", "cuda:0").
    pub fn report(&self, device: &str, memory: Option<MemoryInfo>) -> String {
        let mut out = format!(
            "memory estimate ({}), one component loaded at a time:\n",
            self.request_summary
        );
        for stage in &self.stages {
            let _ = writeln!(
                out,
                "  {:<24} {:>10} weights + {:>10} activations = {:>10}",
                stage.name,
                human(stage.weights),
                human(stage.activations),
                human(stage.total())
            );
        }
        if let Some(peak) = self.peak() {
            let _ = writeln!(out, "  peak: {} ({})", human(peak.total()), peak.name);
        }
        if self.offload {
            let _ = writeln!(
                out,
                "  --offload: {} of transformer blocks kept in host memory, one block at a time on the device",
                human(self.host_blocks)
            );
            if self.on_cpu {
                out.push_str(
                    "  --offload has no effect on the CPU: host and device are the same memory\n",
                );
            }
        }
        match memory {
            Some(m) => {
                let verdict = if self.peak_bytes() <= m.free {
                    "fits"
                } else {
                    "does NOT fit"
                };
                let _ = writeln!(
                    out,
                    "  {device}: {} free of {} -> {verdict}",
                    human(m.free),
                    human(m.total)
                );
                let denoise_only_problem = !self.offload
                    && !self.on_cpu
                    && self.denoise_resident > m.free
                    && self.denoise_offloaded <= m.free;
                if denoise_only_problem {
                    let _ = writeln!(
                        out,
                        "  try --offload: the denoising stage would need {} on the device",
                        human(self.denoise_offloaded)
                    );
                }
            }
            None => {
                let _ = writeln!(out, "  {device}: free memory unknown");
            }
        }
        for name in &self.missing {
            let _ = writeln!(out, "  not counted (folder absent): {name}");
        }
        out.push_str(
            "  weights are exact (safetensors headers); activations are estimates, not measurements\n",
        );
        out
    }
}

/// Reads the model's headers and configs (no tensor data) and estimates each stage.
pub fn estimate(request: &Request<'_>) -> Result<MemoryEstimate, HiDreamError> {
    let dtype_bytes = request.dtype.size_in_bytes() as u64;
    let prompts = request.batch as u64 * if request.cfg { 2 } else { 1 };
    let mut components = Vec::new();
    let mut stages = Vec::new();
    let mut missing = Vec::new();

    let mut encoders: Vec<(String, std::path::PathBuf)> = TEXT_ENCODERS
        .iter()
        .map(|n| (n.to_string(), request.model_dir.join(n)))
        .collect();
    if let Some(llama) = request.llama_dir {
        encoders.push(("llama".to_string(), llama.to_path_buf()));
    }
    for (name, dir) in encoders {
        if !dir.is_dir() {
            missing.push(name);
            continue;
        }
        let weights = component_weights(&name, &dir, request.encoder_dtype)?;
        let (hidden, layers) = encoder_shape(&dir.join("config.json"))?;
        stages.push(Stage {
            name: format!("encode: {name}"),
            weights: weights.bytes,
            activations: activations::text_encoder(
                hidden,
                layers,
                PROMPT_TOKENS,
                prompts,
                request.encoder_dtype.size_in_bytes() as u64,
            ),
        });
        components.push(weights);
    }

    let transformer_dir = request.model_dir.join("transformer");
    let config_path = transformer_dir.join("config.json");
    let config = TransformerConfig::from_file(&config_path)?;
    let transformer = component_weights("transformer", &transformer_dir, request.dtype)?;
    let vae_dir = request.model_dir.join("vae");
    let vae_config = read_config::<VaeConfig>(&vae_dir.join("config.json"))?;
    let vae = component_weights("vae", &vae_dir, request.dtype)?;

    let scale = 2u64.pow(vae_config.block_out_channels.len().saturating_sub(1) as u32);
    let division = 2 * scale;
    let (w, h) = (request.width as u64, request.height as u64);
    let (latent_h, latent_w) = (2 * (h / division), 2 * (w / division));
    let embeddings = prompts
        * dtype_bytes
        * PROMPT_TOKENS
        * (config.caption_channels[0] as u64
            + (config.llama_layers.iter().max().map_or(0, |m| m + 1) as u64)
                * config.caption_channels[1] as u64)
        + prompts * dtype_bytes * config.text_emb_dim as u64;
    let denoise_activations = activations::transformer(
        &config,
        prompts,
        latent_h,
        latent_w,
        dtype_bytes,
        request.scores_materialised,
    ) + embeddings;
    let denoise_resident = transformer.bytes;
    let denoise_offloaded = if request.on_cpu {
        transformer.bytes
    } else {
        transformer.resident_when_offloaded()
    };
    stages.push(Stage {
        name: "denoise: transformer".to_string(),
        weights: if request.offload {
            denoise_offloaded
        } else {
            denoise_resident
        },
        activations: denoise_activations,
    });
    stages.push(Stage {
        name: "decode: vae".to_string(),
        weights: vae.bytes,
        activations: activations::vae_decode(&vae_config, request.batch as u64, w, h, dtype_bytes),
    });
    let host_blocks = if request.offload {
        transformer.block_bytes.iter().sum()
    } else {
        0
    };
    components.push(transformer);
    components.push(vae);
    Ok(MemoryEstimate {
        request_summary: format!(
            "{:?} denoiser, {:?} encoders, {}x{}, batch {}, CFG {}",
            request.dtype,
            request.encoder_dtype,
            request.width,
            request.height,
            request.batch,
            if request.cfg { "on" } else { "off" }
        ),
        components,
        stages,
        host_blocks,
        denoise_resident: denoise_resident + denoise_activations,
        denoise_offloaded: denoise_offloaded + denoise_activations,
        offload: request.offload,
        on_cpu: request.on_cpu,
        missing,
    })
}

/// Bytes in the largest binary unit that keeps the number at or above 1.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// (hidden width, layers) from a transformers config: CLIP, T5 and Llama spell them
/// differently.
fn encoder_shape(path: &Path) -> Result<(u64, u64), HiDreamError> {
    let value: serde_json::Value = read_config(path)?;
    let root = value.get("text_config").unwrap_or(&value);
    let first = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| root.get(*k).and_then(|v| v.as_u64()))
    };
    match (
        first(&["hidden_size", "d_model"]),
        first(&["num_hidden_layers", "num_layers"]),
    ) {
        (Some(h), Some(l)) => Ok((h, l)),
        _ => Err(HiDreamError::Config {
            path: path.to_path_buf(),
            message: "no hidden_size/d_model and num_hidden_layers/num_layers".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_print_in_readable_units() {
        assert_eq!(super::human(512), "512 B");
        assert_eq!(super::human(1536), "1.50 KiB");
        assert_eq!(super::human(34 * (1 << 30)), "34.00 GiB");
    }
}
