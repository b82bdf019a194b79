//! `text_encoder/config.json` of a CLIP text model. Missing keys take transformers'
//! `CLIPTextConfig` constructor defaults, so sparse hand-written configs load the same way.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ClipTextConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub max_position_embeddings: usize,
    /// transformers' default for CLIPTextConfig is "quick_gelu"; SD 2.x sets "gelu" (erf).
    pub hidden_act: String,
    pub layer_norm_eps: f64,
    /// Width of `text_projection` (CLIPTextModelWithProjection only).
    pub projection_dim: usize,
    /// Picks the pooled token: 2 (legacy configs) means "the largest id", anything else
    /// "the first occurrence of this id" (transformers' two rules).
    pub eos_token_id: u32,
}

impl Default for ClipTextConfig {
    fn default() -> Self {
        Self {
            vocab_size: 49408,
            hidden_size: 512,
            intermediate_size: 2048,
            num_hidden_layers: 12,
            num_attention_heads: 8,
            max_position_embeddings: 77,
            hidden_act: "quick_gelu".into(),
            layer_norm_eps: 1e-5,
            projection_dim: 512,
            eos_token_id: 49407,
        }
    }
}
