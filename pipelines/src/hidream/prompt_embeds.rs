//! What the text encoders hand the transformer: the contract between prompt encoding
//! (tokenizers and the four encoders) and the denoising loops (generate and edit), so each
//! side can be built and checked against diffusers on its own.

use candle_core::Tensor;

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
