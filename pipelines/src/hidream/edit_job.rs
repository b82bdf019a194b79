//! One whole HiDream-E1 edit from files: source image, prompts, encoders, transformer(s) with
//! an optional LoRA, seeded noise, the editing loop, decode. The `hidream edit` command and
//! the `hidream-edit` example both run this; they differ only in how they ask and report.
//!
//! Order matters for memory and for failing early: cheap inputs (image, scheduler config)
//! are checked before any model loads, the text encoders are loaded one at a time and
//! dropped before the transformer loads.

use super::HiDreamError;
use super::edit::{
    EditInputs, EditPrompts, EditSettings, StepProgress, edit_with, refine_start,
    target_description,
};
use super::edit_image::{read_source_image, size_source, to_tensor};
use super::edit_transformers::SwapAtRefine;
use super::lora::{E1_FULL_LORA_ALPHA, LoraParts, load_transformer_with_lora};
use super::prompt_encoding::{
    EncodeOptions, EncoderFolders, PromptEncodingError, encode_text_sets,
};
use super::resample::RgbImage;
use super::transformer::{HiDreamTransformer, TransformerLoadOptions, read_folder};
use super::vae::load_vae;
use super::weight_check::{check_weight_files, run_components};
use crate::layers::Kernels;
use crate::model_tensor::ModelDevice;
use crate::schedulers::flow::{self, FlowSchedulerConfig};
use candle_core::{DType, Tensor};
use device::TorchRng;
use std::path::{Path, PathBuf};

/// Everything one edit needs.
#[derive(Debug, Clone)]
pub struct EditJob {
    /// The editing model's folder: E1.1, or HiDream-I1-Full when `lora` is E1-Full's.
    pub model: PathBuf,
    /// Llama-3.1-8B-Instruct, supplied separately.
    pub llama: PathBuf,
    /// The source image (PNG, JPEG or WebP).
    pub image: PathBuf,
    /// The full prompt, as [`super::edit::editing_prompt`] writes it.
    pub prompt: String,
    pub settings: EditSettings,
    /// E1-Full's LoRA checkpoint, merged into `model`'s transformer at load.
    pub lora: Option<PathBuf>,
    /// A HiDream-I1 folder whose transformer runs the refine stage.
    pub refine_model: Option<PathBuf>,
    /// Seeds one CPU generator drawing the starting latents and then the scheduler's noise.
    pub seed: u64,
    /// Every model's weights and compute dtype (f32, f16 or bf16); latents, guidance and
    /// scheduler arithmetic stay f32.
    pub dtype: DType,
    /// Where the models run; images, latents and the scheduler stay on its host side.
    pub device: ModelDevice,
}

impl EditJob {
    /// Whether the refine stage runs on a second transformer (other weights than the
    /// editor's), loaded in the editor's place when refining starts.
    pub fn loads_a_refiner(&self) -> bool {
        self.settings.refine_strength > 0.0 && (self.refine_model.is_some() || self.lora.is_some())
    }
}

/// What the job reports while it runs.
#[derive(Debug, Clone, Copy)]
pub enum EditEvent<'a> {
    /// The source image is read and sized and every weight file's header checked: the
    /// size the edit runs at, in pixels. Sent before any model loads, so a caller can
    /// estimate memory first.
    Sized {
        width: usize,
        height: usize,
    },
    /// Something was done to the source image to read it as diffusers' `load_image` does
    /// (converted to RGB, turned upright): one line for the user.
    Note(&'a str),
    /// A new stage starts ("loading the transformer", an encoder's name...).
    Stage(&'a str),
    Step(StepProgress),
}

#[derive(Debug, Clone)]
pub struct EditedImage {
    /// The edited image at the size the model edited (the sized source's size).
    pub image: RgbImage,
    /// The source image's own size, for callers that scale the result back as the E1
    /// scripts do.
    pub source_width: usize,
    pub source_height: usize,
    /// Prompt truncation notices from the tokenizers.
    pub warnings: Vec<String>,
    /// The scheduler that ran (its config's `_class_name`), for the image's settings.
    pub scheduler_class: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EditJobError {
    /// A file, folder, flag value or weight the user supplied is wrong.
    #[error(transparent)]
    Input(HiDreamError),
    /// Boxed: the encoders' error is large and errors travel through every `?`.
    #[error(transparent)]
    Prompt(Box<PromptEncodingError>),
    /// The computation failed on valid inputs.
    #[error("{0}")]
    Run(String),
}

impl EditJobError {
    /// Whether the user can fix it (exit status 2) rather than a failure while running (1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Input(_) => true,
            Self::Prompt(e) => !matches!(**e, PromptEncodingError::Run { .. }),
            Self::Run(_) => false,
        }
    }
}

impl From<HiDreamError> for EditJobError {
    fn from(e: HiDreamError) -> Self {
        match e {
            HiDreamError::Candle(source) => Self::Run(source.to_string()),
            e @ HiDreamError::NonFinite { .. } => Self::Run(e.to_string()),
            other => Self::Input(other),
        }
    }
}

impl From<PromptEncodingError> for EditJobError {
    fn from(e: PromptEncodingError) -> Self {
        Self::Prompt(Box::new(e))
    }
}

impl From<candle_core::Error> for EditJobError {
    fn from(e: candle_core::Error) -> Self {
        Self::Run(e.to_string())
    }
}

/// Runs the edit and returns the decoded image as 8-bit RGB.
pub fn run_edit_job(
    job: &EditJob,
    on_event: &mut dyn FnMut(EditEvent<'_>),
) -> Result<EditedImage, EditJobError> {
    let settings = &job.settings;
    settings.validate()?;
    let device = &job.device;
    let host = &device.host();
    // Cheap inputs first: a bad image or scheduler config should not cost an encoder load.
    let loaded = read_source_image(&job.image)?;
    for note in &loaded.notes {
        on_event(EditEvent::Note(note));
    }
    let source = loaded.image;
    let sized = size_source(&source, settings.sizing, &job.image)?;
    let image = to_tensor(&sized, host)?;
    let scheduler_path = job.model.join("scheduler/scheduler_config.json");
    let scheduler_error = |message: String| HiDreamError::Config {
        path: scheduler_path.clone(),
        message,
    };
    let scheduler_config = FlowSchedulerConfig::from_file(&scheduler_path)
        .map_err(|e| scheduler_error(e.to_string()))?;
    let mut scheduler = flow::build(&scheduler_config, settings.steps)
        .map_err(|e| scheduler_error(e.to_string()))?;

    if let Some(dir) = &job.refine_model {
        // The refine transformer loads only when refining starts: check its folder now.
        read_folder(&dir.join("transformer"))?;
    }
    // The encoder folders first (their message says where Llama comes from), then every
    // weight file's header, so a truncated one fails now rather than after encoding.
    encoder_folders(job).check()?;
    let mut components = run_components(&job.model, &job.llama);
    components.extend(job.refine_model.iter().map(|d| d.join("transformer")));
    check_weight_files(
        &components,
        &job.lora.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    )?;
    on_event(EditEvent::Sized {
        width: sized.width,
        height: sized.height,
    });

    let prompts = encode_prompts(job, on_event)?;

    let transformer_dir = job.model.join("transformer");
    on_event(EditEvent::Stage("loading the transformer"));
    let load_with = |parts: LoraParts, lora: &Path| {
        load_transformer_with_lora(
            &transformer_dir,
            lora,
            E1_FULL_LORA_ALPHA,
            parts,
            device,
            job.dtype,
            Kernels::default(),
        )
    };
    let load_plain = |dir: &Path| {
        let options = TransformerLoadOptions {
            dtype: job.dtype,
            ..TransformerLoadOptions::default()
        };
        HiDreamTransformer::load_with(dir, device.clone(), &options)
    };
    let mut editor = match &job.lora {
        Some(lora) => load_with(LoraParts::All, lora)?,
        None => load_plain(&transformer_dir)?,
    };
    editor.set_max_seq(settings.max_seq);
    // The refine stage: an explicit I1 folder; else E1-Full's own script's weights (the
    // checkpoint's full tensors, adapters off); else (E1.1) the editor itself. Loaded when
    // refining starts, after the editor is dropped.
    let max_seq = settings.max_seq;
    let with_max_seq = |mut t: HiDreamTransformer| {
        t.set_max_seq(max_seq);
        t
    };
    let load_refiner: Option<Box<dyn FnOnce() -> Result<HiDreamTransformer, HiDreamError>>> =
        match (&job.refine_model, &job.lora) {
            _ if !job.loads_a_refiner() => None,
            (Some(dir), _) => Some(Box::new(move || {
                load_plain(&dir.join("transformer")).map(with_max_seq)
            })),
            (None, Some(lora)) => Some(Box::new(move || {
                load_with(LoraParts::FullTensorsOnly, lora).map(with_max_seq)
            })),
            (None, None) => None,
        };
    let loads_refiner = load_refiner.is_some();
    let mut transformers = SwapAtRefine::new(editor, load_refiner);
    on_event(EditEvent::Stage("loading the VAE"));
    let vae = load_vae(&job.model.join("vae"), device.clone(), job.dtype)?;

    // One generator for the starting latents and then the scheduler's noise, as a seeded
    // torch generator passed to the reference pipeline is used.
    let mut rng = TorchRng::new(job.seed);
    let (_, _, h, w) = image.dims4()?;
    // A config with absurdly many levels must be an error, not a shift overflow.
    let levels = vae.config().block_out_channels.len().max(1);
    let factor = u32::try_from(levels - 1)
        .ok()
        .and_then(|shift| 1usize.checked_shl(shift))
        .filter(|&f| f <= h.min(w))
        .ok_or_else(|| HiDreamError::Config {
            path: job.model.join("vae/config.json"),
            message: format!(
                "{levels} resolution levels (block_out_channels) shrink the {w}x{h} edit \
                 to nothing"
            ),
        })?;
    let shape = [1, vae.config().latent_channels, h / factor, w / factor];
    let initial = Tensor::from_vec(rng.randn_shape(&shape), &shape[..], host)?;

    on_event(EditEvent::Stage("editing"));
    let inputs = EditInputs {
        prompts: &prompts.embeds,
        image: &image,
        initial_latents: &initial,
        settings,
    };
    let refine_from = refine_start(scheduler.timesteps().len(), settings.refine_strength);
    const LOADING_REFINER: &str = "loading the refine transformer (the editor is released first)";
    if loads_refiner && refine_from == 0 {
        on_event(EditEvent::Stage(LOADING_REFINER));
    }
    let out = edit_with(
        &mut transformers,
        &vae,
        &inputs,
        scheduler.as_mut(),
        &mut rng,
        &mut |p| {
            on_event(EditEvent::Step(p));
            // The next step asks for the refiner, which then loads.
            if loads_refiner && p.step + 1 == refine_from {
                on_event(EditEvent::Stage(LOADING_REFINER));
            }
        },
    )?;
    // The VAE's output is in [-1, 1]; map to [0, 1] as diffusers' image processor does.
    let unit = ((out.image / 2.0)? + 0.5)?.clamp(0f32, 1f32)?;
    let (width, height, pixels) = super::generate::to_rgb8(&unit, 0)?;
    Ok(EditedImage {
        image: RgbImage {
            width: width as usize,
            height: height as usize,
            pixels,
        },
        source_width: source.width,
        source_height: source.height,
        warnings: prompts.warnings,
        scheduler_class: scheduler_config.class_name.clone(),
    })
}

fn encoder_folders(job: &EditJob) -> EncoderFolders {
    EncoderFolders {
        model: job.model.clone(),
        llama: job.llama.clone(),
    }
}

struct EncodedEditPrompts {
    embeds: EditPrompts,
    warnings: Vec<String>,
}

/// The prompt, the negative prompt and the refine stage's target description, each
/// encoder loaded once for all three.
fn encode_prompts(
    job: &EditJob,
    on_event: &mut dyn FnMut(EditEvent<'_>),
) -> Result<EncodedEditPrompts, EditJobError> {
    let text = job.prompt.as_str();
    let target = target_description(text).unwrap_or(text);
    let negative = job.settings.negative_prompt.as_str();
    let sets = [[text; 4], [negative; 4], [target; 4]];
    let options = EncodeOptions {
        dtype: job.dtype,
        device: job.device.clone(),
        ..EncodeOptions::default()
    };
    let (embeds, warnings) = encode_text_sets(&encoder_folders(job), &sets, &options, |stage| {
        on_event(EditEvent::Stage(stage))
    })?;
    // Kept in the job's dtype, the transformer's own, so its per-step input cast is free.
    let mut embeds = embeds;
    let (Some(target), Some(negative), Some(prompt)) = (embeds.pop(), embeds.pop(), embeds.pop())
    else {
        return Err(EditJobError::Run(
            "prompt encoding returned fewer embeddings than asked".into(),
        ));
    };
    Ok(EncodedEditPrompts {
        embeds: EditPrompts {
            prompt,
            negative,
            target: Some(target),
        },
        warnings,
    })
}
