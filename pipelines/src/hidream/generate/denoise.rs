//! The denoising loop of `HiDreamImagePipeline.__call__`: size rule, starting latents,
//! CFG batch `[negative, positive]`, the transformer's velocity negated, guidance, one
//! scheduler step per timestep.

use super::latents::{initial_latents, latent_shape};
use super::options::GenerateOptions;
use crate::hidream::HiDreamError;
use crate::hidream::prompt_embeds::PromptEmbeds;
use crate::hidream::transformer::HiDreamTransformer;
use crate::schedulers::flow::{self, FlowSchedulerConfig, NoiseSource};
use candle_core::{Device, Tensor};
use device::TorchRng;

/// The prompt embeddings of one run. `negative` is only read when CFG is on; diffusers
/// would encode an empty negative prompt when none is given, so the caller must pass one
/// whenever `guidance > 1`.
#[derive(Debug, Clone, Copy)]
pub struct Conditioning<'a> {
    pub positive: &'a PromptEmbeds,
    pub negative: Option<&'a PromptEmbeds>,
}

impl<'a> Conditioning<'a> {
    pub fn new(positive: &'a PromptEmbeds, negative: Option<&'a PromptEmbeds>) -> Self {
        Self { positive, negative }
    }
}

/// Reported after each step, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct StepProgress {
    /// 1-based.
    pub step: usize,
    pub steps: usize,
    pub timestep: f32,
}

#[derive(Debug, Clone)]
pub struct Denoised {
    /// `[b, channels, h, w]`, f32, still in the VAE's normalised latent space.
    pub latents: Tensor,
    /// The size actually generated (after the size rule), in pixels.
    pub width: usize,
    pub height: usize,
}

/// Runs the loop with the flash scheduler's per-step noise drawn from a CPU generator
/// seeded with `options.seed` (a fresh one, separate from the latents' draw: the reference
/// pipeline draws it from torch's global generator, which `torch.manual_seed(seed)` seeds).
pub fn denoise(
    transformer: &HiDreamTransformer,
    scheduler: &FlowSchedulerConfig,
    conditioning: &Conditioning<'_>,
    options: &GenerateOptions,
    on_step: &mut dyn FnMut(StepProgress),
) -> Result<Denoised, HiDreamError> {
    let mut noise = TorchRng::new(options.seed);
    denoise_with_noise(
        transformer,
        scheduler,
        conditioning,
        options,
        &mut noise,
        on_step,
    )
}

/// [`denoise`] with the scheduler's per-step noise from `noise` (recorded tensors in
/// parity tests). Only the flash scheduler draws from it.
pub fn denoise_with_noise(
    transformer: &HiDreamTransformer,
    scheduler: &FlowSchedulerConfig,
    conditioning: &Conditioning<'_>,
    options: &GenerateOptions,
    noise: &mut dyn NoiseSource,
    on_step: &mut dyn FnMut(StepProgress),
) -> Result<Denoised, HiDreamError> {
    let (width, height) = options
        .size_rule
        .output_size(options.width, options.height)
        .map_err(|e| HiDreamError::InvalidInput(e.to_string()))?;
    let positive = conditioning.positive;
    // Latents live on the host side of the transformer's device.
    let device = transformer.device().host();
    let batch = positive.pooled.dim(0)?;
    let cfg = options.uses_cfg();
    let embeds = if cfg {
        let negative = conditioning.negative.ok_or_else(|| {
            HiDreamError::InvalidInput(format!(
                "guidance {} needs negative prompt embeddings (or use guidance <= 1)",
                options.guidance
            ))
        })?;
        cfg_batch(negative, positive, batch)?
    } else {
        positive.clone()
    };

    let channels = transformer.config().in_channels;
    let shape = latent_shape(&options.size_rule, batch, channels, width, height);
    let mut latents = starting_latents(options, shape, &device)?;

    let config = match options.shift {
        Some(shift) => scheduler.clone().with_shift(shift),
        None => scheduler.clone(),
    };
    let mut sched = flow::build(&config, options.steps)
        .map_err(|e| HiDreamError::InvalidInput(format!("scheduler: {e}")))?;
    let timesteps = sched.timesteps().to_vec();
    let embeds = embeds.place(transformer.device())?;
    for (i, &t) in timesteps.iter().enumerate() {
        let input = if cfg {
            Tensor::cat(&[&latents, &latents], 0)?
        } else {
            latents.clone()
        };
        // HiDream's transformer predicts the negated flow velocity.
        let velocity = transformer.predict(&input, t, &embeds)?.neg()?;
        let velocity = if cfg {
            let uncond = velocity.narrow(0, 0, batch)?;
            let text = velocity.narrow(0, batch, batch)?;
            (&uncond + ((text - &uncond)? * options.guidance)?)?
        } else {
            velocity
        };
        latents = sched.step(&velocity, t, &latents, noise)?;
        crate::hidream::finite::check_step(&latents, i + 1, timesteps.len())?;
        on_step(StepProgress {
            step: i + 1,
            steps: timesteps.len(),
            timestep: t,
        });
    }
    Ok(Denoised {
        latents,
        width,
        height,
    })
}

fn starting_latents(
    options: &GenerateOptions,
    shape: [usize; 4],
    device: &Device,
) -> Result<Tensor, HiDreamError> {
    match &options.latents {
        Some(given) => {
            if given.dims() != shape {
                return Err(HiDreamError::InvalidInput(format!(
                    "--latents has shape {:?}; this size and batch need {shape:?}",
                    given.dims()
                )));
            }
            Ok(given.to_dtype(candle_core::DType::F32)?.to_device(device)?)
        }
        None => initial_latents(shape, options.seed, device),
    }
}

/// `[negative, positive]` along the batch axis (the Llama stack's batch is axis 1),
/// repeating a single negative over a larger positive batch as diffusers does.
fn cfg_batch(
    negative: &PromptEmbeds,
    positive: &PromptEmbeds,
    batch: usize,
) -> Result<PromptEmbeds, HiDreamError> {
    let neg_batch = negative.pooled.dim(0)?;
    if neg_batch != batch && neg_batch != 1 {
        return Err(HiDreamError::InvalidInput(format!(
            "negative prompt batch {neg_batch} does not match the prompt batch {batch}"
        )));
    }
    let join = |name: &str, neg: &Tensor, pos: &Tensor, axis: usize| {
        let neg = if neg_batch == 1 && batch > 1 {
            let mut reps = vec![1; neg.rank()];
            reps[axis] = batch;
            neg.repeat(reps)?
        } else {
            neg.clone()
        };
        Tensor::cat(&[&neg, pos], axis).map_err(|e| {
            HiDreamError::InvalidInput(format!(
                "negative and positive {name} embeddings cannot be batched: {:?} vs {:?} ({e})",
                neg.dims(),
                pos.dims()
            ))
        })
    };
    Ok(PromptEmbeds {
        t5: join("t5", &negative.t5, &positive.t5, 0)?,
        llama: join("llama", &negative.llama, &positive.llama, 1)?,
        pooled: join("pooled", &negative.pooled, &positive.pooled, 0)?,
    })
}
