//! One transformer evaluation as the denoising loops see it: host latents in, host velocity
//! out. On an NPU that is one upload of the latents, one of the timestep and rotary
//! tables, and one download (the step's synchronisation); the prompt embeddings were
//! placed once for the run.

use super::model::{HiDreamTransformer, TransformerInputs};
use crate::hidream::HiDreamError;
use crate::hidream::prompt_embeds::PlacedEmbeds;
use candle_core::Tensor;

impl HiDreamTransformer {
    /// The f32 velocity for `latents` (host, `[b, c, h, w]`) at `timestep`, on the host.
    pub fn predict(
        &self,
        latents: &Tensor,
        timestep: f32,
        embeds: &PlacedEmbeds,
    ) -> Result<Tensor, HiDreamError> {
        let b = latents.dim(0)?;
        let timesteps = Tensor::full(timestep, b, latents.device())?;
        let latents = self.device().place(latents)?;
        let velocity = self.forward(&TransformerInputs {
            latents: &latents,
            timesteps: &timesteps,
            t5: &embeds.t5,
            llama: &embeds.llama,
            pooled: &embeds.pooled,
        })?;
        Ok(velocity.into_host()?)
    }
}
