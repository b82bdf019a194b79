//! Llama decoder stack (transformers' `LlamaModel`) returning every hidden state, which is
//! what HiDream conditions on: the embeddings, then each layer's output, where the last
//! entry is the post-final-norm state (transformers 5.x overwrites the raw last layer
//! output with it). RMSNorm, rotary embeddings (plain, or Llama-3.1's `llama3` frequency
//! rescaling), grouped-query attention under a causal and padding mask, SwiGLU MLP.

use super::{EncoderError, attention, key_mask, stacked_linear};
use crate::config::{ConfigError, read_checked_config};
use crate::layers::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use crate::model_tensor::{ModelDevice, Tensor, VarBuilder};
use candle_core::{DType, Result};
use ops_npu::attention::Layout;
use ops_npu::rope::RopeMode;
use serde::Deserialize;
use std::path::Path;

/// The config.json fields the model reads; defaults are transformers' `LlamaConfig`'s.
/// Rotary settings come either the 4.x way (`rope_theta` + `rope_scaling`, as Llama-3.1's
/// own config.json has them) or the 5.x way (`rope_parameters` holding both).
#[derive(Debug, Clone, Deserialize)]
pub struct LlamaConfig {
    #[serde(default = "d_vocab")]
    pub vocab_size: usize,
    #[serde(default = "d_hidden")]
    pub hidden_size: usize,
    #[serde(default = "d_intermediate")]
    pub intermediate_size: usize,
    #[serde(default = "d_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "d_heads")]
    pub num_attention_heads: usize,
    pub num_key_value_heads: Option<usize>,
    pub head_dim: Option<usize>,
    #[serde(default = "d_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "d_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default = "d_max_positions")]
    pub max_position_embeddings: usize,
    pub rope_theta: Option<f64>,
    pub rope_scaling: Option<RopeParameters>,
    pub rope_parameters: Option<RopeParameters>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RopeParameters {
    pub rope_type: Option<String>,
    /// Older configs name the type `type`.
    #[serde(rename = "type")]
    pub legacy_type: Option<String>,
    pub rope_theta: Option<f64>,
    pub factor: Option<f64>,
    pub low_freq_factor: Option<f64>,
    pub high_freq_factor: Option<f64>,
    pub original_max_position_embeddings: Option<usize>,
    pub partial_rotary_factor: Option<f64>,
}

fn d_vocab() -> usize {
    32000
}
fn d_hidden() -> usize {
    4096
}
fn d_intermediate() -> usize {
    11008
}
fn d_layers() -> usize {
    32
}
fn d_heads() -> usize {
    32
}
fn d_eps() -> f64 {
    1e-6
}
fn d_act() -> String {
    "silu".into()
}
fn d_max_positions() -> usize {
    2048
}

/// How the rotary inverse frequencies are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rope {
    Default {
        theta: f64,
    },
    /// Llama-3.1: long wavelengths slowed by `factor`, short ones kept, the band between
    /// blended smoothly.
    Llama3 {
        theta: f64,
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_positions: usize,
    },
}

impl LlamaConfig {
    /// Reads and validates `path` (a Llama folder's config.json).
    pub fn from_file(path: &Path) -> std::result::Result<Self, EncoderError> {
        Ok(read_checked_config(path, Self::check)?)
    }

    fn check(&self) -> std::result::Result<(), ConfigError> {
        self.rope()?;
        if self.hidden_act != "silu" {
            return Err(ConfigError::Unsupported {
                what: format!("hidden_act {:?}", self.hidden_act),
                note: Some("Llama uses silu"),
            });
        }
        let heads = self.num_attention_heads;
        let kv = self.kv_heads();
        if heads == 0 || kv == 0 || !heads.is_multiple_of(kv) {
            return Err(ConfigError::invalid(format!(
                "num_attention_heads {heads} must be a positive multiple of num_key_value_heads {kv}"
            )));
        }
        let head_dim = self.head_dim();
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(ConfigError::invalid(format!(
                "head_dim {head_dim} must be positive and even for rotary embeddings"
            )));
        }
        Ok(())
    }

    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    pub fn rope(&self) -> std::result::Result<Rope, ConfigError> {
        let params = self
            .rope_parameters
            .clone()
            .or_else(|| self.rope_scaling.clone())
            .unwrap_or_default();
        let theta = params.rope_theta.or(self.rope_theta).unwrap_or(10000.0);
        if params.partial_rotary_factor.is_some_and(|f| f != 1.0) {
            return Err(ConfigError::unsupported(
                "partial_rotary_factor other than 1.0",
            ));
        }
        let kind = params
            .rope_type
            .as_deref()
            .or(params.legacy_type.as_deref())
            .unwrap_or("default");
        match kind {
            "default" => Ok(Rope::Default { theta }),
            "llama3" => {
                let need = |v: Option<f64>, name: &str| {
                    v.ok_or_else(|| {
                        ConfigError::invalid(format!("llama3 rope scaling needs `{name}`"))
                    })
                };
                let rope = Rope::Llama3 {
                    theta,
                    factor: need(params.factor, "factor")?,
                    low_freq_factor: need(params.low_freq_factor, "low_freq_factor")?,
                    high_freq_factor: need(params.high_freq_factor, "high_freq_factor")?,
                    original_max_positions: params
                        .original_max_position_embeddings
                        .unwrap_or(self.max_position_embeddings),
                };
                if let Rope::Llama3 {
                    low_freq_factor,
                    high_freq_factor,
                    ..
                } = rope
                    && high_freq_factor <= low_freq_factor
                {
                    return Err(ConfigError::invalid(format!(
                        "llama3 rope scaling needs high_freq_factor ({high_freq_factor}) above low_freq_factor ({low_freq_factor})"
                    )));
                }
                Ok(rope)
            }
            other => Err(ConfigError::Unsupported {
                what: format!("rope type {other:?}"),
                note: Some("expected default or llama3"),
            }),
        }
    }
}

impl Rope {
    /// Inverse frequencies for `head_dim`, in f32 as transformers computes them.
    pub fn inverse_frequencies(self, head_dim: usize) -> Vec<f32> {
        let theta = match self {
            Rope::Default { theta } | Rope::Llama3 { theta, .. } => theta as f32,
        };
        let plain = (0..head_dim)
            .step_by(2)
            .map(|i| 1.0 / theta.powf(i as f32 / head_dim as f32));
        let Rope::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_positions,
            ..
        } = self
        else {
            return plain.collect();
        };
        let (factor, low, high) = (
            factor as f32,
            low_freq_factor as f32,
            high_freq_factor as f32,
        );
        let context = original_max_positions as f32;
        let (low_freq_wavelen, high_freq_wavelen) = (context / low, context / high);
        plain
            .map(|inv| {
                let wavelen = 2.0 * std::f32::consts::PI / inv;
                if wavelen < high_freq_wavelen {
                    inv
                } else if wavelen > low_freq_wavelen {
                    inv / factor
                } else {
                    let smooth = (context / wavelen - low) / (high - low);
                    (1.0 - smooth) * inv / factor + smooth * inv
                }
            })
            .collect()
    }

    /// cos and sin tables `[seq, head_dim]` for positions 0..seq, each frequency used for
    /// both halves (the rotate-half pairing).
    fn tables(self, seq: usize, head_dim: usize, device: &ModelDevice) -> Result<(Tensor, Tensor)> {
        let inv = self.inverse_frequencies(head_dim);
        let angles: Vec<f32> = (0..seq)
            .flat_map(|p| {
                let inv = &inv;
                (0..2).flat_map(move |_| inv.iter().map(move |f| p as f32 * f))
            })
            .collect();
        let cos = angles.iter().map(|a| a.cos()).collect::<Vec<_>>();
        let sin = angles.iter().map(|a| a.sin()).collect::<Vec<_>>();
        Ok((
            Tensor::from_vec(cos, (seq, head_dim), device)?,
            Tensor::from_vec(sin, (seq, head_dim), device)?,
        ))
    }
}

#[derive(Debug, Clone)]
struct DecoderLayer {
    input_norm: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    post_attention_norm: Tensor,
    /// gate_proj then up_proj: the [gate, value] order of the SwiGLU kernel.
    gate_up: Linear,
    down: Linear,
}

impl DecoderLayer {
    fn new(vb: VarBuilder, c: &LlamaConfig) -> Result<Self> {
        let (h, d) = (c.hidden_size, c.head_dim());
        let attn = vb.pp("self_attn");
        let mlp = vb.pp("mlp");
        let gate_up = if c.mlp_bias {
            // Biases cannot ride in the stacked GEMM's weight; keep the projections apart.
            candle_core::bail!("mlp_bias = true is not supported (Llama-3.1 has none)")
        } else {
            stacked_linear(
                &[
                    (mlp.pp("gate_proj"), c.intermediate_size),
                    (mlp.pp("up_proj"), c.intermediate_size),
                ],
                h,
            )?
        };
        let bias = c.attention_bias;
        let key_value = LinearConfig {
            in_features: h,
            out_features: c.kv_heads() * d,
            bias,
        };
        Ok(Self {
            input_norm: vb.pp("input_layernorm").get(h, "weight")?,
            q: Linear::load(
                attn.pp("q_proj"),
                LinearConfig {
                    in_features: h,
                    out_features: c.num_attention_heads * d,
                    bias,
                },
            )?,
            k: Linear::load(attn.pp("k_proj"), key_value)?,
            v: Linear::load(attn.pp("v_proj"), key_value)?,
            o: Linear::load(
                attn.pp("o_proj"),
                LinearConfig {
                    in_features: c.num_attention_heads * d,
                    out_features: h,
                    bias,
                },
            )?,
            post_attention_norm: vb.pp("post_attention_layernorm").get(h, "weight")?,
            gate_up,
            down: Linear::load(
                mlp.pp("down_proj"),
                LinearConfig {
                    in_features: c.intermediate_size,
                    out_features: h,
                    bias: false,
                },
            )?,
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        c: &LlamaConfig,
        rope: &(Tensor, Tensor),
        mask: &Tensor,
    ) -> Result<Tensor> {
        let eps = c.rms_norm_eps as f32;
        let (b, s, _) = x.dims3()?;
        let d = c.head_dim();
        let h = crate::layers::rms_norm(x, &self.input_norm, eps)?;
        let (cos, sin) = rope;
        let rotate = |t: Tensor, heads: usize| {
            crate::layers::rope(
                &t.reshape((b, s, heads, d))?,
                (cos, sin),
                Layout::Bsnd,
                RopeMode::Half,
            )
        };
        let q = rotate(self.q.forward(&h)?, c.num_attention_heads)?;
        let k = rotate(self.k.forward(&h)?, c.kv_heads())?;
        let v = self.v.forward(&h)?.reshape((b, s, c.kv_heads(), d))?;
        let scale = (d as f32).powf(-0.5);
        let a = attention(&q, &k, &v, scale, None, Some(mask))?;
        let x = (x + self.o.forward(&a)?)?;
        let h = crate::layers::rms_norm(&x, &self.post_attention_norm, eps)?;
        let h = crate::layers::swiglu(&self.gate_up.forward(&h)?)?;
        x + self.down.forward(&h)?
    }
}

#[derive(Debug, Clone)]
pub struct LlamaModel {
    config: LlamaConfig,
    rope: Rope,
    embed: Embedding,
    layers: Vec<DecoderLayer>,
    final_norm: Tensor,
}

impl LlamaModel {
    /// `vb` at the component root: names `embed_tokens.weight`, `layers.N...`, `norm.weight`,
    /// or the same under `model.` as `LlamaForCausalLM` checkpoints (Llama-3.1-Instruct)
    /// store them; the LM head is not read.
    pub fn new(vb: VarBuilder, config: &LlamaConfig) -> Result<Self> {
        config
            .check()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let rope = config
            .rope()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let vb = if vb.contains_tensor("model.embed_tokens.weight") {
            vb.pp("model")
        } else {
            vb
        };
        let layers = (0..config.num_hidden_layers)
            .map(|i| DecoderLayer::new(vb.pp("layers").pp(i), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            rope,
            embed: Embedding::load(
                vb.pp("embed_tokens"),
                EmbeddingConfig {
                    num_embeddings: config.vocab_size,
                    embedding_dim: config.hidden_size,
                },
            )?,
            layers,
            final_norm: vb.pp("norm").get(config.hidden_size, "weight")?,
        })
    }

    /// Loads `dir/config.json` and the folder's safetensors.
    pub fn load(
        dir: &Path,
        dtype: DType,
        device: impl Into<ModelDevice>,
    ) -> std::result::Result<Self, EncoderError> {
        let config = LlamaConfig::from_file(&dir.join("config.json"))?;
        let vb = super::folder_vars(dir, dtype, &device.into())?;
        Self::new(vb, &config).map_err(|source| EncoderError::Weights {
            component: dir.display().to_string(),
            source,
        })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// `input_ids`: `[batch, seq]` (u32 or i64), positions 0..seq; `attention_mask`:
    /// `[batch, seq]`, non-zero for real tokens. Returns `num_hidden_layers + 1` tensors
    /// `[batch, seq, hidden]`: the embeddings, the output of layers 1..N-1, and the final
    /// RMSNorm of layer N's output.
    ///
    /// Pad on the right (HiDream pads with eos at the end). With left padding, a padding
    /// query whose visible keys are all padding gets a zero attention output here, while
    /// transformers gives a backend-dependent value (its eager and sdpa paths disagree);
    /// real tokens match either way.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
    ) -> Result<Vec<Tensor>> {
        let (b, s) = input_ids.dims2()?;
        let device = input_ids.device();
        let mask = key_mask(attention_mask, (b, s), true, &device)?;
        let mut x = self.embed.forward(input_ids)?;
        let (cos, sin) = self.rope.tables(s, self.config.head_dim(), &device)?;
        let rope = (cos.to_dtype(x.dtype())?, sin.to_dtype(x.dtype())?);
        let mut states = Vec::with_capacity(self.layers.len() + 1);
        for layer in &self.layers {
            states.push(x.clone());
            x = layer.forward(&x, &self.config, &rope, &mask)?;
        }
        let eps = self.config.rms_norm_eps as f32;
        states.push(crate::layers::rms_norm(&x, &self.final_norm, eps)?);
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::{LlamaConfig, Rope};

    fn parse(json: &str) -> LlamaConfig {
        serde_json::from_str(json).expect("config")
    }

    /// Llama-3.1-8B-Instruct's own config.json spells rope the 4.x way; transformers 5.x
    /// saves `rope_parameters`. Both must give the same rotary settings.
    #[test]
    fn both_rope_spellings_give_llama3() {
        let legacy = parse(
            r#"{"rope_theta": 500000.0, "max_position_embeddings": 131072,
                "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8192, "rope_type": "llama3"}}"#,
        );
        let current = parse(
            r#"{"max_position_embeddings": 131072,
                "rope_parameters": {"rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
                                    "rope_type": "llama3"}}"#,
        );
        let want = Rope::Llama3 {
            theta: 500000.0,
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_positions: 8192,
        };
        assert_eq!(legacy.rope(), Ok(want));
        assert_eq!(current.rope(), Ok(want));
        assert_eq!(parse("{}").rope(), Ok(Rope::Default { theta: 10000.0 }));
    }

    #[test]
    fn llama3_rope_without_its_factors_is_rejected() {
        let config = parse(r#"{"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}"#);
        let err = config
            .rope()
            .expect_err("low/high factors are required")
            .to_string();
        assert!(err.contains("low_freq_factor"), "{err}");
    }
}
