//! The transformer's `config.json`, with diffusers' key names and constructor defaults.

use crate::config::{ConfigError, read_checked_config};
use crate::hidream::HiDreamError;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TransformerConfig {
    /// diffusers' default is None, which its constructor cannot actually use.
    pub patch_size: Option<usize>,
    #[serde(default = "defaults::in_channels")]
    pub in_channels: usize,
    #[serde(default)]
    pub out_channels: Option<usize>,
    #[serde(default = "defaults::num_layers")]
    pub num_layers: usize,
    #[serde(default = "defaults::num_single_layers")]
    pub num_single_layers: usize,
    #[serde(default = "defaults::attention_head_dim")]
    pub attention_head_dim: usize,
    #[serde(default = "defaults::num_attention_heads")]
    pub num_attention_heads: usize,
    /// `[T5 width, Llama width]`.
    pub caption_channels: Vec<usize>,
    #[serde(default = "defaults::text_emb_dim")]
    pub text_emb_dim: usize,
    #[serde(default = "defaults::num_routed_experts")]
    pub num_routed_experts: usize,
    #[serde(default = "defaults::num_activated_experts")]
    pub num_activated_experts: usize,
    #[serde(default = "defaults::axes_dims_rope")]
    pub axes_dims_rope: Vec<usize>,
    #[serde(default = "defaults::max_resolution")]
    pub max_resolution: [usize; 2],
    /// Which Llama hidden state feeds each block, double-stream blocks first.
    pub llama_layers: Vec<usize>,
    #[serde(default)]
    pub force_inference_output: bool,
    /// Scripts may set `transformer.max_seq` after loading (the HiDream-E1 ones do, for
    /// their double-width inputs); not part of config.json.
    #[serde(skip)]
    pub max_seq_override: Option<usize>,
}

mod defaults {
    pub fn in_channels() -> usize {
        64
    }
    pub fn num_layers() -> usize {
        16
    }
    pub fn num_single_layers() -> usize {
        32
    }
    pub fn attention_head_dim() -> usize {
        128
    }
    pub fn num_attention_heads() -> usize {
        20
    }
    pub fn text_emb_dim() -> usize {
        2048
    }
    pub fn num_routed_experts() -> usize {
        4
    }
    pub fn num_activated_experts() -> usize {
        2
    }
    pub fn axes_dims_rope() -> Vec<usize> {
        vec![32, 32]
    }
    pub fn max_resolution() -> [usize; 2] {
        [128, 128]
    }
}

impl TransformerConfig {
    /// Reads and validates `path` (a `config.json`).
    pub fn from_file(path: &Path) -> Result<Self, HiDreamError> {
        Ok(read_checked_config(path, Self::validate)?)
    }

    /// The combinations diffusers' forward can run; anything else would fail deep inside it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let patch = self.patch();
        if patch == 0 {
            return Err(ConfigError::invalid("patch_size must be set and positive"));
        }
        if self.caption_channels.len() != 2 {
            return Err(ConfigError::invalid(format!(
                "caption_channels has {} entries; expected [T5 width, Llama width]",
                self.caption_channels.len()
            )));
        }
        let blocks = self.num_layers + self.num_single_layers;
        if self.llama_layers.len() != blocks {
            return Err(ConfigError::invalid(format!(
                "llama_layers has {} entries for {blocks} blocks (num_layers + num_single_layers)",
                self.llama_layers.len()
            )));
        }
        if self.num_attention_heads == 0 || self.attention_head_dim == 0 {
            return Err(ConfigError::invalid(
                "num_attention_heads and attention_head_dim must be positive",
            ));
        }
        let rope: usize = self.axes_dims_rope.iter().sum();
        if self.axes_dims_rope.iter().any(|d| d % 2 != 0) {
            return Err(ConfigError::invalid(format!(
                "axes_dims_rope {:?} must all be even",
                self.axes_dims_rope
            )));
        }
        // diffusers rotates the whole head, or its first half when the axes cover half.
        if rope != self.attention_head_dim && 2 * rope != self.attention_head_dim {
            return Err(ConfigError::invalid(format!(
                "axes_dims_rope sums to {rope}; it must be attention_head_dim ({}) or half of it",
                self.attention_head_dim
            )));
        }
        if self.num_activated_experts > self.num_routed_experts {
            return Err(ConfigError::invalid(format!(
                "num_activated_experts ({}) exceeds num_routed_experts ({})",
                self.num_activated_experts, self.num_routed_experts
            )));
        }
        if self.num_routed_experts > 0 && self.num_activated_experts == 0 {
            return Err(ConfigError::invalid(
                "num_activated_experts must be positive when experts are routed",
            ));
        }
        if self.max_seq() == 0 {
            return Err(ConfigError::invalid("max_resolution must be positive"));
        }
        Ok(())
    }

    pub fn patch(&self) -> usize {
        self.patch_size.unwrap_or(0)
    }

    pub fn inner_dim(&self) -> usize {
        self.num_attention_heads * self.attention_head_dim
    }

    pub fn out_channels(&self) -> usize {
        self.out_channels.unwrap_or(self.in_channels)
    }

    /// Image tokens of a non-square input after padding.
    pub fn max_seq(&self) -> usize {
        if let Some(max_seq) = self.max_seq_override {
            return max_seq;
        }
        let patch = self.patch().max(1);
        self.max_resolution[0] * self.max_resolution[1] / (patch * patch)
    }

    pub fn rope_dim(&self) -> usize {
        self.axes_dims_rope.iter().sum()
    }
}
