//! CLIP text encoder (transformers' CLIPTextModel), returning `last_hidden_state` (after
//! the final LayerNorm), which is what SD 2.x pipelines condition on; and
//! CLIPTextModelWithProjection's `text_embeds` (the pooled end-of-text state times
//! `text_projection`), which is what HiDream conditions on.

mod config;
mod tokenizer;

pub use config::ClipTextConfig;
pub use tokenizer::{ClipTokenizer, missing_layout};

use crate::layers::{
    self, Embedding, EmbeddingConfig, Kernels, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use crate::model_tensor::{ModelDevice, Tensor, VarBuilder};
use candle_core::{DType, Result};

#[derive(Debug, Clone, Copy)]
enum Activation {
    GeluErf,
    QuickGelu,
}

impl Activation {
    fn parse(name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(Self::GeluErf),
            "quick_gelu" => Ok(Self::QuickGelu),
            other => candle_core::bail!("CLIP hidden_act {other:?} is not supported"),
        }
    }

    fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::GeluErf => layers::gelu_erf(x),
            Self::QuickGelu => layers::quick_gelu(x),
        }
    }
}

#[derive(Debug, Clone)]
struct EncoderLayer {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    ln1: LayerNorm,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    kernels: Kernels,
}

impl EncoderLayer {
    fn new(vb: VarBuilder, c: &ClipTextConfig, kernels: Kernels) -> Result<Self> {
        let h = c.hidden_size;
        let attn = vb.pp("self_attn");
        let square = LinearConfig {
            in_features: h,
            out_features: h,
            bias: true,
        };
        let norm = LayerNormConfig {
            dim: h,
            eps: c.layer_norm_eps,
        };
        let mlp = vb.pp("mlp");
        Ok(Self {
            q: Linear::load(attn.pp("q_proj"), square)?,
            k: Linear::load(attn.pp("k_proj"), square)?,
            v: Linear::load(attn.pp("v_proj"), square)?,
            out: Linear::load(attn.pp("out_proj"), square)?,
            ln1: LayerNorm::load(vb.pp("layer_norm1"), norm, kernels)?,
            ln2: LayerNorm::load(vb.pp("layer_norm2"), norm, kernels)?,
            fc1: Linear::load(
                mlp.pp("fc1"),
                LinearConfig {
                    in_features: h,
                    out_features: c.intermediate_size,
                    bias: true,
                },
            )?,
            fc2: Linear::load(
                mlp.pp("fc2"),
                LinearConfig {
                    in_features: c.intermediate_size,
                    out_features: h,
                    bias: true,
                },
            )?,
            kernels,
        })
    }

    fn forward(&self, x: &Tensor, heads: usize, mask: &Tensor, act: Activation) -> Result<Tensor> {
        let h = self.ln1.forward(x)?;
        let a = layers::attention(
            &self.q.forward(&h)?,
            &self.k.forward(&h)?,
            &self.v.forward(&h)?,
            heads,
            Some(mask),
            self.kernels,
        )?;
        let x = (x + self.out.forward(&a)?)?;
        let h = self.ln2.forward(&x)?;
        let h = self.fc2.forward(&act.apply(&self.fc1.forward(&h)?)?)?;
        x + h
    }
}

#[derive(Debug, Clone)]
pub struct ClipTextModel {
    token_embedding: Embedding,
    position_embedding: Embedding,
    layers: Vec<EncoderLayer>,
    final_layer_norm: LayerNorm,
    heads: usize,
    max_positions: usize,
    act: Activation,
    eos_token_id: u32,
}

impl ClipTextModel {
    /// `vb` at the component root. Files saved by transformers 4.x prefix every name with
    /// `text_model.`; transformers 5.x writes them without it. Both load.
    pub fn new(vb: VarBuilder, c: &ClipTextConfig) -> Result<Self> {
        Self::with_kernels(vb, c, Kernels::default())
    }

    pub fn with_kernels(vb: VarBuilder, c: &ClipTextConfig, kernels: Kernels) -> Result<Self> {
        let vb = if vb.contains_tensor("text_model.embeddings.token_embedding.weight") {
            vb.pp("text_model")
        } else {
            vb
        };
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            candle_core::bail!(
                "CLIP hidden_size {} is not divisible by num_attention_heads {}",
                c.hidden_size,
                c.num_attention_heads
            );
        }
        let emb = vb.pp("embeddings");
        let layers = (0..c.num_hidden_layers)
            .map(|i| EncoderLayer::new(vb.pp("encoder").pp("layers").pp(i), c, kernels))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            token_embedding: Embedding::load(
                emb.pp("token_embedding"),
                EmbeddingConfig {
                    num_embeddings: c.vocab_size,
                    embedding_dim: c.hidden_size,
                },
            )?,
            position_embedding: Embedding::load(
                emb.pp("position_embedding"),
                EmbeddingConfig {
                    num_embeddings: c.max_position_embeddings,
                    embedding_dim: c.hidden_size,
                },
            )?,
            layers,
            final_layer_norm: LayerNorm::load(
                vb.pp("final_layer_norm"),
                LayerNormConfig {
                    dim: c.hidden_size,
                    eps: c.layer_norm_eps,
                },
                kernels,
            )?,
            heads: c.num_attention_heads,
            max_positions: c.max_position_embeddings,
            act: Activation::parse(&c.hidden_act)?,
            eos_token_id: c.eos_token_id,
        })
    }

    /// `ids`: `[batch, seq]` u32 token ids. Returns `[batch, seq, hidden]`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_skipping(ids, 0)
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// [`Self::forward`] stopping `skip` layers before the last, then the final layer norm:
    /// diffusers' `clip_skip=skip` (A1111's "Clip skip" `skip + 1`).
    pub fn forward_skipping(&self, ids: &Tensor, skip: usize) -> Result<Tensor> {
        if skip >= self.layers.len() {
            candle_core::bail!(
                "cannot skip {skip} of the text encoder's {} layers",
                self.layers.len()
            );
        }
        let (_, seq) = ids.dims2()?;
        if seq > self.max_positions {
            candle_core::bail!(
                "{seq} tokens exceed max_position_embeddings {}",
                self.max_positions
            );
        }
        let device = ids.device();
        // Host-built tables first: on an NPU an upload after queued launches waits for them.
        let positions = Tensor::arange(0u32, seq as u32, &device)?.unsqueeze(0)?;
        let mask = causal_mask(seq, self.token_embedding.weight().dtype(), &device)?;
        let mut x = self
            .token_embedding
            .forward(ids)?
            .broadcast_add(&self.position_embedding.forward(&positions)?)?;
        for layer in &self.layers[..self.layers.len() - skip] {
            x = layer.forward(&x, self.heads, &mask, self.act)?;
        }
        self.final_layer_norm.forward(&x)
    }

    /// `last_hidden_state` and transformers' `pooler_output`: each sequence's state at its
    /// end-of-text token (see [`pooled_positions`]).
    pub fn forward_pooled(&self, ids: &Tensor) -> Result<(Tensor, Tensor)> {
        let hidden = self.forward(ids)?;
        // Read on the host: an NPU holds token ids as int64.
        let host_ids = ids.to_host()?.to_dtype(DType::U32)?;
        let positions = pooled_positions(&host_ids.to_vec2::<u32>()?, self.eos_token_id)?;
        let rows = positions
            .iter()
            .enumerate()
            .map(|(b, &p)| hidden.get(b)?.get(p))
            .collect::<Result<Vec<_>>>()?;
        let pooled = Tensor::stack(&rows, 0)?;
        Ok((hidden, pooled))
    }
}

/// Where transformers' CLIPTextTransformer takes the pooled state of each sequence: with
/// `eos_token_id == 2` (configs written before transformers PR 24773) the position of the
/// largest id, else the first position holding `eos_token_id`. torch's argmax returns the
/// first of equal maxima, and a sequence without the id pools position 0 (argmax of all
/// zeros); both are reproduced.
pub fn pooled_positions(ids: &[Vec<u32>], eos_token_id: u32) -> Result<Vec<usize>> {
    ids.iter()
        .map(|row| {
            if row.is_empty() {
                candle_core::bail!("CLIP: an empty token sequence has no end-of-text token");
            }
            Ok(if eos_token_id == 2 {
                let max = row.iter().copied().max().unwrap_or(0);
                row.iter().position(|&t| t == max).unwrap_or(0)
            } else {
                row.iter().position(|&t| t == eos_token_id).unwrap_or(0)
            })
        })
        .collect()
}

/// transformers' CLIPTextModelWithProjection: the text model plus `text_projection` (no
/// bias) applied to the pooled state.
#[derive(Debug, Clone)]
pub struct ClipTextModelWithProjection {
    text_model: ClipTextModel,
    projection: Linear,
}

impl ClipTextModelWithProjection {
    /// `vb` at the component root (`text_projection.weight` beside `text_model.*`).
    pub fn new(vb: VarBuilder, c: &ClipTextConfig) -> Result<Self> {
        Ok(Self {
            text_model: ClipTextModel::new(vb.clone(), c)?,
            projection: Linear::load(
                vb.pp("text_projection"),
                LinearConfig {
                    in_features: c.hidden_size,
                    out_features: c.projection_dim,
                    bias: false,
                },
            )?,
        })
    }

    /// `ids` `[batch, seq]` -> (`last_hidden_state` `[batch, seq, hidden]`, `text_embeds`
    /// `[batch, projection_dim]`).
    pub fn forward(&self, ids: &Tensor) -> Result<(Tensor, Tensor)> {
        let (hidden, pooled) = self.text_model.forward_pooled(ids)?;
        let embeds = self.projection.forward(&pooled)?;
        Ok((hidden, embeds))
    }
}

/// Additive causal mask `[1, 1, seq, seq]`; transformers uses the dtype's minimum rather
/// than -inf, which gives the same softmax.
fn causal_mask(seq: usize, dtype: DType, device: &ModelDevice) -> Result<Tensor> {
    let data: Vec<f32> = (0..seq)
        .flat_map(|i| (0..seq).map(move |j| if j > i { f32::MIN } else { 0.0 }))
        .collect();
    let host = candle_core::Tensor::from_vec(data, (1, 1, seq, seq), &device.host())?;
    device.place(&host.to_dtype(dtype)?)
}
