//! T5 encoder (transformers' `T5EncoderModel`): HiDream conditions on its last hidden
//! state. Pre-norm blocks with T5LayerNorm (RMS: no mean subtraction, no bias), unscaled
//! attention plus a learned relative-position bias that only the first block owns and every
//! block reuses, and either the original ReLU feed-forward or v1.1's gated one.

use super::{EncoderError, attention, key_mask, stacked_linear};
use crate::config::{ConfigError, read_checked_config};
use crate::layers::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use crate::model_tensor::{ModelDevice, Tensor, VarBuilder};
use candle_core::{D, DType, Result};
use ops_npu::glu::Gelu;
use serde::Deserialize;
use std::path::Path;

/// The config.json fields the encoder reads; defaults are transformers' `T5Config`'s.
#[derive(Debug, Clone, Deserialize)]
pub struct T5Config {
    #[serde(default = "d_vocab")]
    pub vocab_size: usize,
    #[serde(default = "d_model")]
    pub d_model: usize,
    #[serde(default = "d_kv")]
    pub d_kv: usize,
    #[serde(default = "d_ff")]
    pub d_ff: usize,
    #[serde(default = "d_layers")]
    pub num_layers: usize,
    #[serde(default = "d_heads")]
    pub num_heads: usize,
    #[serde(default = "d_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "d_distance")]
    pub relative_attention_max_distance: usize,
    #[serde(default = "d_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "d_ff_proj")]
    pub feed_forward_proj: String,
}

fn d_vocab() -> usize {
    32128
}
fn d_model() -> usize {
    512
}
fn d_kv() -> usize {
    64
}
fn d_ff() -> usize {
    2048
}
fn d_layers() -> usize {
    6
}
fn d_heads() -> usize {
    8
}
fn d_buckets() -> usize {
    32
}
fn d_distance() -> usize {
    128
}
fn d_eps() -> f64 {
    1e-6
}
fn d_ff_proj() -> String {
    "relu".into()
}

/// The feed-forward's activation, as transformers derives it from `feed_forward_proj`
/// ("gated-gelu" is special-cased to the tanh GELU, `gelu_new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    GeluTanh,
    GeluErf,
    Silu,
}

impl Activation {
    fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Relu => x.relu(),
            Self::GeluTanh => x.gelu(),
            Self::GeluErf => x.gelu_erf(),
            Self::Silu => x.silu(),
        }
    }
}

impl T5Config {
    /// Reads and validates `path` (a T5 component's config.json).
    pub fn from_file(path: &Path) -> std::result::Result<Self, EncoderError> {
        Ok(read_checked_config(path, Self::check)?)
    }

    fn check(&self) -> std::result::Result<(), ConfigError> {
        self.feed_forward()?;
        if self.relative_attention_num_buckets < 4 {
            return Err(ConfigError::invalid(format!(
                "relative_attention_num_buckets {} is too small (a bidirectional encoder needs at least 4)",
                self.relative_attention_num_buckets
            )));
        }
        if self.num_heads == 0 || self.d_kv == 0 {
            return Err(ConfigError::invalid("num_heads and d_kv must be positive"));
        }
        Ok(())
    }

    /// (gated, activation) from `feed_forward_proj` ("relu", "gated-gelu", "gated-silu", ...).
    pub fn feed_forward(&self) -> std::result::Result<(bool, Activation), ConfigError> {
        let proj = self.feed_forward_proj.as_str();
        let (gated, name) = match proj.split_once('-') {
            Some(("gated", act)) => (true, act),
            None => (false, proj),
            Some(_) => {
                return Err(ConfigError::invalid(format!(
                    "feed_forward_proj {proj:?} is not `ACT` or `gated-ACT`"
                )));
            }
        };
        let act = match name {
            "relu" => Activation::Relu,
            "gelu" if gated => Activation::GeluTanh,
            "gelu" => Activation::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "silu" | "swish" => Activation::Silu,
            other => {
                return Err(ConfigError::unsupported(format!(
                    "feed_forward_proj activation {other:?}"
                )));
            }
        };
        Ok((gated, act))
    }
}

/// Bucket of a key at `relative` = key position - query position, for a bidirectional
/// encoder: half the buckets for each sign, the first half of those exact, the rest
/// logarithmic up to `max_distance` and clamped beyond it. The logarithm runs in f32 as
/// torch does, so boundary distances land in the same bucket.
fn relative_bucket(relative: i64, num_buckets: usize, max_distance: usize) -> usize {
    let half = num_buckets / 2;
    let base = if relative > 0 { half } else { 0 };
    let distance = relative.unsigned_abs() as usize;
    let max_exact = half / 2;
    if distance < max_exact {
        return base + distance;
    }
    let log_ratio = (distance as f32 / max_exact as f32).ln()
        / ((max_distance as f64 / max_exact as f64).ln() as f32);
    let large = max_exact + (log_ratio * (half - max_exact) as f32) as usize;
    base + large.min(half - 1)
}

#[derive(Debug, Clone)]
enum FeedForward {
    Plain {
        wi: Linear,
        act: Activation,
    },
    /// `wi` holds wi_1 then wi_0, the [hidden, gate] order of the GEGLU kernel.
    Gated {
        wi: Linear,
        act: Activation,
    },
}

#[derive(Debug, Clone)]
struct Block {
    attn_norm: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    ff_norm: Tensor,
    ff: FeedForward,
    wo: Linear,
}

impl Block {
    fn new(vb: VarBuilder, c: &T5Config, gated: bool, act: Activation) -> Result<Self> {
        let attn = vb.pp("layer").pp(0);
        let sa = attn.pp("SelfAttention");
        let ff = vb.pp("layer").pp(1);
        let dense = ff.pp("DenseReluDense");
        let inner = c.num_heads * c.d_kv;
        let wi = if gated {
            FeedForward::Gated {
                wi: stacked_linear(
                    &[(dense.pp("wi_1"), c.d_ff), (dense.pp("wi_0"), c.d_ff)],
                    c.d_model,
                )?,
                act,
            }
        } else {
            FeedForward::Plain {
                wi: Linear::load(
                    dense.pp("wi"),
                    LinearConfig {
                        in_features: c.d_model,
                        out_features: c.d_ff,
                        bias: false,
                    },
                )?,
                act,
            }
        };
        let projection = LinearConfig {
            in_features: c.d_model,
            out_features: inner,
            bias: false,
        };
        Ok(Self {
            attn_norm: attn.pp("layer_norm").get(c.d_model, "weight")?,
            q: Linear::load(sa.pp("q"), projection)?,
            k: Linear::load(sa.pp("k"), projection)?,
            v: Linear::load(sa.pp("v"), projection)?,
            o: Linear::load(
                sa.pp("o"),
                LinearConfig {
                    in_features: inner,
                    out_features: c.d_model,
                    bias: false,
                },
            )?,
            ff_norm: ff.pp("layer_norm").get(c.d_model, "weight")?,
            ff: wi,
            wo: Linear::load(
                dense.pp("wo"),
                LinearConfig {
                    in_features: c.d_ff,
                    out_features: c.d_model,
                    bias: false,
                },
            )?,
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        c: &T5Config,
        position_bias: &Tensor,
        mask: &Tensor,
    ) -> Result<Tensor> {
        let eps = c.layer_norm_epsilon as f32;
        let (b, s, _) = x.dims3()?;
        let h = crate::layers::rms_norm(x, &self.attn_norm, eps)?;
        let split = |t: Tensor| t.reshape((b, s, c.num_heads, c.d_kv));
        let a = attention(
            &split(self.q.forward(&h)?)?,
            &split(self.k.forward(&h)?)?,
            &split(self.v.forward(&h)?)?,
            1.0, // T5 folds the 1/sqrt(d) scale into its weight initialisation
            Some(position_bias),
            Some(mask),
        )?;
        let x = (x + self.o.forward(&a)?)?;
        let h = crate::layers::rms_norm(&x, &self.ff_norm, eps)?;
        let h = match &self.ff {
            FeedForward::Plain { wi, act } => act.apply(&wi.forward(&h)?)?,
            FeedForward::Gated { wi, act } => {
                let both = wi.forward(&h)?;
                match act {
                    Activation::GeluTanh => crate::layers::geglu(&both, Gelu::Tanh)?,
                    Activation::GeluErf => crate::layers::geglu(&both, Gelu::Erf)?,
                    other => {
                        let halves = both.chunk(2, D::Minus1)?;
                        (&halves[0] * other.apply(&halves[1])?)?
                    }
                }
            }
        };
        x + self.wo.forward(&h)?
    }
}

#[derive(Debug, Clone)]
pub struct T5EncoderModel {
    config: T5Config,
    embed: Embedding,
    relative_bias: Tensor,
    blocks: Vec<Block>,
    final_norm: Tensor,
}

impl T5EncoderModel {
    /// `vb` at the component root (names `shared.weight`, `encoder.block.N.layer.0...`).
    /// The token embedding is read from `shared.weight`, or from
    /// `encoder.embed_tokens.weight` when a file holds only that tied copy.
    pub fn new(vb: VarBuilder, config: &T5Config) -> Result<Self> {
        config
            .check()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let (gated, act) = config
            .feed_forward()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let encoder = vb.pp("encoder");
        let embed_vb = if vb.contains_tensor("shared.weight")
            || !encoder.contains_tensor("embed_tokens.weight")
        {
            vb.pp("shared")
        } else {
            encoder.pp("embed_tokens")
        };
        let blocks = (0..config.num_layers)
            .map(|i| Block::new(encoder.pp("block").pp(i), config, gated, act))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            embed: Embedding::load(
                embed_vb,
                EmbeddingConfig {
                    num_embeddings: config.vocab_size,
                    embedding_dim: config.d_model,
                },
            )?,
            relative_bias: encoder
                .pp("block.0.layer.0.SelfAttention.relative_attention_bias")
                .get(
                    (config.relative_attention_num_buckets, config.num_heads),
                    "weight",
                )?,
            blocks,
            final_norm: encoder
                .pp("final_layer_norm")
                .get(config.d_model, "weight")?,
        })
    }

    /// Loads `dir/config.json` and the folder's safetensors.
    pub fn load(
        dir: &Path,
        dtype: DType,
        device: impl Into<ModelDevice>,
    ) -> std::result::Result<Self, EncoderError> {
        let config = T5Config::from_file(&dir.join("config.json"))?;
        let vb = super::folder_vars(dir, dtype, &device.into())?;
        Self::new(vb, &config).map_err(|source| EncoderError::Weights {
            component: dir.display().to_string(),
            source,
        })
    }

    pub fn config(&self) -> &T5Config {
        &self.config
    }

    /// `[1, heads, seq, seq]` bias added to every block's attention scores.
    fn position_bias(&self, seq: usize, device: &ModelDevice) -> Result<Tensor> {
        let c = &self.config;
        let buckets: Vec<u32> = (0..seq as i64)
            .flat_map(|query| {
                (0..seq as i64).map(move |key| {
                    relative_bucket(
                        key - query,
                        c.relative_attention_num_buckets,
                        c.relative_attention_max_distance,
                    ) as u32
                })
            })
            .collect();
        let ids = Tensor::from_vec(buckets, seq * seq, device)?;
        self.relative_bias
            .index_select(&ids, 0)?
            .reshape((seq, seq, c.num_heads))?
            .permute((2, 0, 1))?
            .unsqueeze(0)?
            .to_dtype(DType::F32)
    }

    /// `input_ids`: `[batch, seq]` token ids (u32 or i64); `attention_mask`: `[batch, seq]`,
    /// non-zero for real tokens (padding keys are ignored; padded positions still get an
    /// output, as in transformers). Returns the last hidden state `[batch, seq, d_model]`.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>) -> Result<Tensor> {
        let (b, s) = input_ids.dims2()?;
        let device = input_ids.device();
        let mask = key_mask(attention_mask, (b, s), false, &device)?;
        let position_bias = self.position_bias(s, &device)?;
        let mut x = self.embed.forward(input_ids)?;
        for block in &self.blocks {
            x = block.forward(&x, &self.config, &position_bias, &mask)?;
        }
        crate::layers::rms_norm(&x, &self.final_norm, self.config.layer_norm_epsilon as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::relative_bucket;

    /// Buckets transformers' `_relative_position_bucket` gives for 32 buckets / distance
    /// 128 (read off torch for these distances).
    #[test]
    fn bucket_boundaries_match_transformers() {
        let cases = [
            (0, 0),
            (-1, 1),
            (1, 17),
            (-7, 7),
            (-8, 8),
            (-11, 8),
            (-12, 9),
            (-16, 10),
            (-127, 15),
            (-500, 15),
            (20, 26),
        ];
        for (relative, expected) in cases {
            assert_eq!(
                relative_bucket(relative, 32, 128),
                expected,
                "relative {relative}"
            );
        }
    }
}
