//! HiDream-I1 text-to-image: diffusers 0.42.1 `HiDreamImagePipeline.__call__` after prompt
//! encoding, in the stages a memory-limited run loads one model at a time for:
//! [`denoise`] (transformer + flow scheduler) then [`decode`] (VAE), with the text encoders
//! already dropped.
//!
//! ```no_run
//! # use pipelines::hidream::generate::*;
//! # fn f(t: &pipelines::hidream::transformer::HiDreamTransformer,
//! #      vae: &pipelines::models::autoencoders::AutoencoderKL,
//! #      sched: &pipelines::schedulers::flow::FlowSchedulerConfig,
//! #      pos: &pipelines::hidream::prompt_embeds::PromptEmbeds,
//! #      neg: &pipelines::hidream::prompt_embeds::PromptEmbeds)
//! #      -> Result<(), pipelines::hidream::HiDreamError> {
//! let options = GenerateOptions::for_variant(Variant::Dev).with_seed(42);
//! let latents = denoise(t, sched, &Conditioning::new(pos, Some(neg)), &options, &mut |_| {})?;
//! let image = decode(vae, &latents.latents)?; // [b, 3, h, w] in [0, 1]
//! # Ok(()) }
//! ```

mod decode;
mod denoise;
mod latents;
mod options;

pub use decode::{decode, to_rgb8};
pub use denoise::{Conditioning, Denoised, StepProgress, denoise, denoise_with_noise};
pub use latents::{initial_latents, latent_shape, load_latents, stage_latents};
pub use options::{GenerateOptions, UnknownVariant, Variant};
