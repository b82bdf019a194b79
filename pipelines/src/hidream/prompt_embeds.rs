//! What the text encoders hand the transformer: the contract between prompt encoding
//! (tokenizers and the four encoders) and the denoising loops (generate and edit), so each
//! side can be built and checked against diffusers on its own.

use crate::model_tensor::{ModelDevice, Tensor as ModelTensor};
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

/// [`PromptEmbeds`] on the transformer's device, placed once per run so that a denoising
/// step moves only its latents (on an NPU: three uploads per run rather than per step).
#[derive(Debug, Clone)]
pub struct PlacedEmbeds {
    pub t5: ModelTensor,
    pub llama: ModelTensor,
    pub pooled: ModelTensor,
}

impl PromptEmbeds {
    pub fn place(&self, device: &ModelDevice) -> candle_core::Result<PlacedEmbeds> {
        Ok(PlacedEmbeds {
            t5: device.place(&self.t5)?,
            llama: device.place(&self.llama)?,
            pooled: device.place(&self.pooled)?,
        })
    }
}

impl PlacedEmbeds {
    /// The embeddings in `slot` when they are on `device`, else `embeds` placed there (and
    /// kept in `slot` for the next step).
    pub fn reuse<'a>(
        slot: &'a mut Option<PlacedEmbeds>,
        embeds: &PromptEmbeds,
        device: &ModelDevice,
    ) -> candle_core::Result<&'a PlacedEmbeds> {
        let stale = slot
            .as_ref()
            .is_none_or(|p| !p.pooled.device().same_as(device));
        if stale {
            *slot = Some(embeds.place(device)?);
        }
        slot.as_ref()
            .ok_or_else(|| candle_core::Error::Msg("prompt embeddings were not placed".into()))
    }
}
