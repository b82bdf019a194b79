//! HiDream-E1 instruction editing: the denoising loop of the HiDream-E1 project's
//! `HiDreamImageEditingPipeline` (E1.1 revision, which added `clip_cfg_norm`). Latents,
//! guidance and the scheduler are f32 whatever the models' dtype.
//!
//! The source image's VAE latent (distribution mode, normalised) is placed to the right of
//! the noisy latent, so the transformer sees an image twice as wide and only the left half
//! of its prediction is used. Guidance runs three conditions at once:
//! [prompt + zero image, negative + image, prompt + image] with clip_cfg_norm (the default),
//! [negative + zero image, negative + image, prompt + image] without. An optional refine
//! stage switches, for the last `refine_strength` of the steps, to a plain text-to-image
//! transformer guided two ways on the target description, without the source image.

use super::HiDreamError;
use super::prompt_embeds::{PlacedEmbeds, PromptEmbeds};
use super::transformer::HiDreamTransformer;
use super::vae::{image_to_latents, latents_to_image};
use crate::models::autoencoders::AutoencoderKL;
use crate::schedulers::flow::{FlowScheduler, NoiseSource};
use candle_core::{D, Tensor};

mod guidance;
mod prompt;
mod variant;

pub use guidance::{combine_image_guidance, combine_text_guidance};
pub use prompt::{editing_prompt, target_description};
pub use variant::{EditSettings, EditVariant, SettingOverrides};

/// The models one edit uses.
#[derive(Debug, Clone, Copy)]
pub struct EditModels<'a> {
    /// The editing transformer (E1.1, or I1-Full with the E1-Full LoRA merged).
    pub editor: &'a HiDreamTransformer,
    /// The refine stage's transformer (I1-Full for E1-Full); `None` keeps the editor, which
    /// is what the official E1.1 script amounts to (its "refine" weights are E1.1's own).
    pub refiner: Option<&'a HiDreamTransformer>,
    pub vae: &'a AutoencoderKL,
}

/// Where [`edit_with`] gets its transformers, asked once per step. Once the refine stage
/// has started the editor is never asked for again, so a source may release the editor
/// before handing out the refiner (one transformer in memory at a time).
pub trait EditTransformers {
    fn editor(&mut self) -> Result<&HiDreamTransformer, HiDreamError>;
    /// The refine stage's transformer.
    fn refiner(&mut self) -> Result<&HiDreamTransformer, HiDreamError>;
}

/// Both already loaded (the refiner defaulting to the editor).
impl EditTransformers for EditModels<'_> {
    fn editor(&mut self) -> Result<&HiDreamTransformer, HiDreamError> {
        Ok(self.editor)
    }

    fn refiner(&mut self) -> Result<&HiDreamTransformer, HiDreamError> {
        Ok(self.refiner.unwrap_or(self.editor))
    }
}

/// Encoded prompts, batch 1 each, encoded with the same token lengths.
#[derive(Debug, Clone)]
pub struct EditPrompts {
    /// The full editing prompt (see [`editing_prompt`]).
    pub prompt: PromptEmbeds,
    pub negative: PromptEmbeds,
    /// The target description alone ([`target_description`] of the prompt), for the refine
    /// stage; `None` when the prompt has none, and the refine stage then reuses `prompt`.
    pub target: Option<PromptEmbeds>,
}

/// Where the loop is, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepProgress {
    /// 0-based index of the step just finished.
    pub step: usize,
    pub total: usize,
    pub timestep: f32,
    /// Whether this step ran the refine stage.
    pub refining: bool,
}

#[derive(Debug, Clone)]
pub struct EditOutput {
    /// Final latents before VAE scaling is undone, `[1, c, h, w]`.
    pub latents: Tensor,
    /// Decoded image `[1, 3, H, W]`, about [-1, 1] (diffusers' `vae.decode` output).
    pub image: Tensor,
}

/// The step at which the refine stage starts: `int(steps * (1 - refine_strength))`, as the
/// reference computes it in Python floats (28 steps at 0.3 start refining at step 19).
pub fn refine_start(steps: usize, refine_strength: f64) -> usize {
    (steps as f64 * (1.0 - refine_strength)) as usize
}

fn invalid(message: impl Into<String>) -> HiDreamError {
    HiDreamError::InvalidInput(message.into())
}

fn check_prompts(prompts: &EditPrompts) -> Result<(), HiDreamError> {
    let same = |what: &str, a: &PromptEmbeds, b: &PromptEmbeds| {
        for (part, x, y) in [
            ("t5", &a.t5, &b.t5),
            ("llama", &a.llama, &b.llama),
            ("pooled", &a.pooled, &b.pooled),
        ] {
            if x.dims() != y.dims() {
                return Err(invalid(format!(
                    "{what} {part} embeddings are {:?} but the prompt's are {:?}; encode both \
                     with the same padded token lengths",
                    y.dims(),
                    x.dims()
                )));
            }
        }
        Ok(())
    };
    if prompts.prompt.pooled.dim(0)? != 1 {
        return Err(invalid("editing takes one prompt at a time (batch 1)"));
    }
    same("negative", &prompts.prompt, &prompts.negative)?;
    if let Some(target) = &prompts.target {
        same("target description", &prompts.prompt, target)?;
    }
    Ok(())
}

/// Stacks per-condition embeddings into one CFG batch (Llama's batch axis is 1).
fn batch(parts: &[&PromptEmbeds]) -> Result<PromptEmbeds, HiDreamError> {
    let t5: Vec<&Tensor> = parts.iter().map(|p| &p.t5).collect();
    let llama: Vec<&Tensor> = parts.iter().map(|p| &p.llama).collect();
    let pooled: Vec<&Tensor> = parts.iter().map(|p| &p.pooled).collect();
    Ok(PromptEmbeds {
        t5: Tensor::cat(&t5, 0)?,
        llama: Tensor::cat(&llama, 1)?,
        pooled: Tensor::cat(&pooled, 0)?,
    })
}

/// Runs the edit from `initial_latents` (`[1, c, h, w]` noise, h and w the source image's
/// latent size) and returns the final latents and the decoded image.
///
/// `image` is the sized source image as [`super::edit_image::to_tensor`] makes it. The
/// scheduler must already hold its timesteps; `noise` feeds stochastic schedulers only.
#[allow(clippy::too_many_arguments)]
pub fn edit(
    mut models: EditModels<'_>,
    prompts: &EditPrompts,
    image: &Tensor,
    initial_latents: &Tensor,
    settings: &EditSettings,
    scheduler: &mut dyn FlowScheduler,
    noise: &mut dyn NoiseSource,
    on_step: &mut dyn FnMut(StepProgress),
) -> Result<EditOutput, HiDreamError> {
    let vae = models.vae;
    let inputs = EditInputs {
        prompts,
        image,
        initial_latents,
        settings,
    };
    edit_with(&mut models, vae, &inputs, scheduler, noise, on_step)
}

/// What one edit starts from, for [`edit_with`].
#[derive(Debug, Clone, Copy)]
pub struct EditInputs<'a> {
    pub prompts: &'a EditPrompts,
    /// The sized source image, as [`super::edit_image::to_tensor`] makes it.
    pub image: &'a Tensor,
    /// `[1, c, h, w]` noise, h and w the source image's latent size.
    pub initial_latents: &'a Tensor,
    pub settings: &'a EditSettings,
}

/// [`edit`] with the transformers asked for step by step, so that `transformers` can swap
/// the editor for the refiner when the refine stage starts.
pub fn edit_with(
    transformers: &mut dyn EditTransformers,
    vae: &AutoencoderKL,
    inputs: &EditInputs<'_>,
    scheduler: &mut dyn FlowScheduler,
    noise: &mut dyn NoiseSource,
    on_step: &mut dyn FnMut(StepProgress),
) -> Result<EditOutput, HiDreamError> {
    let EditInputs {
        prompts,
        image,
        initial_latents,
        settings,
    } = *inputs;
    settings.validate()?;
    check_prompts(prompts)?;
    let source = image_to_latents(vae, image)?;
    if initial_latents.dims() != source.dims() {
        return Err(invalid(format!(
            "initial latents are {:?} but the source image encodes to {:?}",
            initial_latents.dims(),
            source.dims()
        )));
    }
    let width = source.dim(D::Minus1)?;
    let guided = settings.guidance_scale > 1.0;

    let edit_embeds = if !guided {
        prompts.prompt.clone()
    } else if settings.clip_cfg_norm {
        batch(&[&prompts.prompt, &prompts.negative, &prompts.prompt])?
    } else {
        batch(&[&prompts.negative, &prompts.negative, &prompts.prompt])?
    };
    let edit_images = if guided {
        Tensor::cat(&[&source.zeros_like()?, &source, &source], 0)?
    } else {
        source.clone()
    };
    let target = prompts.target.as_ref().unwrap_or(&prompts.prompt);
    let refine_embeds = if guided {
        batch(&[&prompts.negative, target])?
    } else {
        target.clone()
    };

    let timesteps = scheduler.timesteps().to_vec();
    let total = timesteps.len();
    let refine_from = refine_start(total, settings.refine_strength);
    let mut latents = initial_latents.clone();
    let (mut placed_edit, mut placed_refine) = (None, None);
    for (step, &t) in timesteps.iter().enumerate() {
        let refining = step >= refine_from;
        let conditions = if guided {
            if refining { 2 } else { 3 }
        } else {
            1
        };
        let repeated = Tensor::cat(&vec![&latents; conditions], 0)?;
        let velocity = if refining {
            let refiner = transformers.refiner()?;
            let embeds = PlacedEmbeds::reuse(&mut placed_refine, &refine_embeds, refiner.device())?;
            let raw = refiner.predict(&repeated, t, embeds)?;
            let raw = raw.narrow(D::Minus1, 0, width)?.neg()?;
            if guided {
                let chunks = raw.chunk(2, 0)?;
                combine_text_guidance(&chunks[0], &chunks[1], settings.guidance_scale)?
            } else {
                raw
            }
        } else {
            let input = Tensor::cat(&[&repeated, &edit_images], D::Minus1)?;
            let editor = transformers.editor()?;
            let embeds = PlacedEmbeds::reuse(&mut placed_edit, &edit_embeds, editor.device())?;
            let raw = editor.predict(&input, t, embeds)?;
            let raw = raw.narrow(D::Minus1, 0, width)?.neg()?;
            if guided {
                let chunks = raw.chunk(3, 0)?;
                combine_image_guidance(&chunks[0], &chunks[1], &chunks[2], settings)?
            } else {
                raw
            }
        };
        latents = scheduler.step(&velocity, t, &latents, noise)?;
        super::finite::check_step(&latents, step + 1, total)?;
        on_step(StepProgress {
            step,
            total,
            timestep: t,
            refining,
        });
    }
    let image = latents_to_image(vae, &latents)?;
    Ok(EditOutput { latents, image })
}
