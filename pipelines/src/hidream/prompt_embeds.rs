//! What the text encoders hand the transformer: the contract between prompt encoding
//! (tokenizers and the four encoders) and the denoising loops (generate and edit), so each
//! side can be built and checked against diffusers on its own.

use candle_core::{DType, Tensor};

/// One batch of encoded prompts, shaped as diffusers' `HiDreamImagePipeline.encode_prompt`
/// returns them (batch `b` is the number of prompts, before any CFG duplication).
#[derive(Debug, Clone)]
pub struct PromptEmbeds {
    /// T5's last hidden state, `[b, t5_tokens, caption_channels[0]]`.
    pub t5: Tensor,
    /// Every Llama hidden state after the embedding layer (transformers' `hidden_states[1:]`,
    /// the last one post-final-norm), `[layers, b, llama_tokens, caption_channels[1]]`.
    pub llama: Tensor,
    /// CLIP-L's pooled projection then CLIP-G's, concatenated: `[b, text_emb_dim]`.
    pub pooled: Tensor,
}

impl PromptEmbeds {
    /// The same embeddings in `dtype`. Both pipelines hold them as f32 whatever dtype the
    /// text encoders ran in (the transformer casts its inputs to its own dtype each step,
    /// exactly, since the values came from that precision or a finer one).
    pub fn to_dtype(&self, dtype: DType) -> candle_core::Result<Self> {
        Ok(Self {
            t5: self.t5.to_dtype(dtype)?,
            llama: self.llama.to_dtype(dtype)?,
            pooled: self.pooled.to_dtype(dtype)?,
        })
    }
}
