//! txt2img and img2img as diffusers' StableDiffusionPipeline / StableDiffusionImg2ImgPipeline
//! run them: CFG with batch order [uncond, cond], noise from the CPU generator's stream.

use super::accel::{Accelerations, CfgParallel, StepHooks};
use super::config::{ModelIndex, UNetConfig};
use super::single_file::Checkpoint;
use super::unet::UNet2DConditionModel;
use crate::config::{read_checked_config, read_config};
use crate::encoders::clip::{ClipTextConfig, ClipTextModel, ClipTokenizer};
use crate::error::ModelError;
use crate::layers::Kernels;
use crate::lora::{self, LoraFile, Target};
use crate::model_tensor::{ModelDevice, Tensor as ModelTensor, VarBuilder, WeightHook};
use crate::models::autoencoders::{AutoencoderKL, VaeConfig};
use crate::schedulers::{Scheduler, SchedulerConfig};
use crate::tensor_math::all_finite;
use crate::weights::component_vars;
use candle_core::{DType, Device, Tensor};
use device::TorchRng;
use std::path::Path;
use std::sync::Arc;

/// Every component of a diffusers SD folder, loaded.
#[derive(Debug)]
pub struct StableDiffusion {
    pub tokenizer: ClipTokenizer,
    pub text_encoder: ClipTextModel,
    pub unet: UNet2DConditionModel,
    pub vae: AutoencoderKL,
    pub scheduler_config: SchedulerConfig,
    /// Where the models run. Latents, noise, guidance and the scheduler stay on its host
    /// side (the device itself for candle, the CPU for an NPU).
    device: ModelDevice,
    /// The models' weights and compute dtype. Latents, noise, guidance and scheduler
    /// arithmetic stay f32 whatever it is (see `predict`).
    dtype: DType,
    kernels: Kernels,
    /// Merged into the UNet and text encoder at load (a second UNet copy takes them too).
    loras: Arc<[LoraFile]>,
    /// Where the weights came from when not from the folder.
    checkpoint: Option<Arc<Checkpoint>>,
    /// A1111's "Clip skip": 1 uses the text encoder's last layer (the default), N the
    /// hidden state N - 1 layers earlier, then the final layer norm; for both prompts.
    clip_skip: usize,
}

/// How to build the models: weight/compute dtype, which kernels the layers run, the
/// LoRA files merged into the UNet and text encoder, and, for a single-file checkpoint,
/// the file the weights come from (the folder then gives configs, tokenizer, scheduler).
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub dtype: DType,
    pub kernels: Kernels,
    pub loras: Arc<[LoraFile]>,
    pub checkpoint: Option<Arc<Checkpoint>>,
    /// Hears the bytes of each weight as it is placed on the device (a progress bar).
    pub on_weight: Option<WeightHook>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            dtype: DType::F32,
            kernels: Kernels::default(),
            loras: Arc::new([]),
            checkpoint: None,
            on_weight: None,
        }
    }
}

impl LoadOptions {
    fn check(&self) -> Result<(), ModelError> {
        if let (Some(checkpoint), false) = (&self.checkpoint, self.loras.is_empty()) {
            return Err(ModelError::InvalidInput(format!(
                "LoRA files are merged into diffusers-layout weights; {} is a single-file \
                 checkpoint (convert it to a diffusers folder to use a LoRA with it)",
                checkpoint.path().display()
            )));
        }
        Ok(())
    }
}

/// What one generation needs besides the models.
#[derive(Debug, Clone)]
pub struct Generation {
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub guidance: f64,
    pub seed: u64,
    pub width: usize,
    pub height: usize,
    /// Images per prompt (diffusers' `num_images_per_prompt`): one `randn` of shape
    /// `[batch, c, h, w]` from the seed, so image i matches diffusers' image i.
    pub batch: usize,
    /// Initial latents instead of noise from the seed (diffusers' `latents=`).
    pub latents: Option<Tensor>,
}

/// img2img input: an NCHW image in [0, 1] and how much of the schedule to run.
#[derive(Debug, Clone)]
pub struct InitImage {
    pub image: Tensor,
    pub strength: f64,
}

fn component_dir(root: &Path, name: &str) -> Result<std::path::PathBuf, ModelError> {
    let dir = root.join(name);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(ModelError::MissingComponent {
            component: name.to_string(),
            detail: format!("{} does not exist", dir.display()),
        })
    }
}

fn weights_err(component: &str) -> impl Fn(candle_core::Error) -> ModelError + '_ {
    move |source| ModelError::Weights {
        component: component.to_string(),
        source,
    }
}

/// The UNet of a diffusers folder alone (a second copy for another device), built as
/// `options` say, LoRA included.
pub fn load_unet(
    root: &Path,
    device: &ModelDevice,
    options: &LoadOptions,
) -> Result<UNet2DConditionModel, ModelError> {
    let dir = component_dir(root, "unet")?;
    let cfg: UNetConfig = read_config(&dir.join("config.json"))?;
    let host = device.host();
    let vars = match &options.checkpoint {
        Some(checkpoint) => checkpoint.unet_vars(&cfg, options.dtype, &host)?,
        None => lora::component_vars(&dir, options.dtype, &host, &options.loras, Target::Unet)?,
    };
    let vars = VarBuilder::new(vars, device.clone()).with_hook(options.on_weight.clone());
    UNet2DConditionModel::with_kernels(vars, &cfg, options.kernels).map_err(weights_err("unet"))
}

impl StableDiffusion {
    /// Loads a diffusers folder (model_index.json, tokenizer, text_encoder, unet, vae,
    /// scheduler), every component configured from its own config file.
    pub fn load(root: &Path, device: impl Into<ModelDevice>) -> Result<Self, ModelError> {
        Self::load_with(root, device, LoadOptions::default())
    }

    /// [`StableDiffusion::load`] with weights converted to `options.dtype` (f32, f16 or
    /// bf16, from f32 or fp16 files alike) and the layers running `options.kernels`.
    pub fn load_with(
        root: &Path,
        device: impl Into<ModelDevice>,
        options: LoadOptions,
    ) -> Result<Self, ModelError> {
        let device = &device.into();
        let host = &device.host();
        options.check()?;
        crate::model_tensor::require_ops(device, options.dtype, crate::model_tensor::SD_OPS)
            .map_err(|e| ModelError::InvalidInput(e.to_string()))?;
        let LoadOptions { dtype, kernels, .. } = options;
        if !matches!(dtype, DType::F32 | DType::F16 | DType::BF16) {
            return Err(ModelError::InvalidInput(format!(
                "dtype {dtype:?} is not supported (f32, f16 or bf16)"
            )));
        }
        let index = ModelIndex::read(&root.join("model_index.json"))?;
        for needed in ["tokenizer", "text_encoder", "unet", "vae", "scheduler"] {
            if index.class_of(needed).is_none() {
                return Err(ModelError::MissingComponent {
                    component: needed.to_string(),
                    detail: format!("model_index.json ({}) does not list it", index.class_name),
                });
            }
        }
        let tokenizer = ClipTokenizer::from_dir(&component_dir(root, "tokenizer")?)?;

        let dir = component_dir(root, "text_encoder")?;
        let cfg: ClipTextConfig = read_config(&dir.join("config.json"))?;
        let vars = match &options.checkpoint {
            Some(checkpoint) => checkpoint.text_encoder_vars(dtype, host),
            None => lora::component_vars(&dir, dtype, host, &options.loras, Target::TextEncoder)?,
        };
        let vars = VarBuilder::new(vars, device.clone()).with_hook(options.on_weight.clone());
        let text_encoder = ClipTextModel::with_kernels(vars, &cfg, kernels)
            .map_err(weights_err("text_encoder"))?;

        let unet = load_unet(root, device, &options)?;

        let dir = component_dir(root, "vae")?;
        let cfg: VaeConfig =
            read_checked_config(&dir.join("config.json"), VaeConfig::check_supported)?;
        let vars = match &options.checkpoint {
            Some(checkpoint) => checkpoint.vae_vars(&cfg, dtype, host),
            None => component_vars(&dir, dtype, host)?,
        };
        let vars = VarBuilder::new(vars, device.clone()).with_hook(options.on_weight.clone());
        let vae = AutoencoderKL::with_kernels(vars, &cfg, kernels).map_err(weights_err("vae"))?;

        let scheduler_config: SchedulerConfig =
            read_config(&component_dir(root, "scheduler")?.join("scheduler_config.json"))?;
        Ok(Self {
            tokenizer,
            text_encoder,
            unet,
            vae,
            scheduler_config,
            device: device.clone(),
            dtype,
            kernels,
            loras: options.loras,
            checkpoint: options.checkpoint,
            clip_skip: 1,
        })
    }

    /// A1111's "Clip skip" `n` (1 = the last layer), at most the text encoder's layer count.
    /// diffusers' `clip_skip` is `n - 1` and skips for the prompt alone; A1111, followed
    /// here, skips for the negative prompt too.
    pub fn with_clip_skip(mut self, n: usize) -> Result<Self, ModelError> {
        let layers = self.text_encoder.num_layers();
        if !(1..=layers).contains(&n) {
            return Err(ModelError::InvalidInput(format!(
                "clip skip {n} is outside 1..={layers} (1 is the text encoder's last layer; it has {layers})"
            )));
        }
        self.clip_skip = n;
        Ok(self)
    }

    pub fn clip_skip(&self) -> usize {
        self.clip_skip
    }

    /// Where the models run.
    pub fn device(&self) -> &ModelDevice {
        &self.device
    }

    /// Where latents, noise and images live: the model device for candle, the CPU for an
    /// NPU.
    pub fn host_device(&self) -> Device {
        self.device.host()
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Which kernels the models were built with (a second UNet copy uses the same).
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// How the models were built, for a second UNet copy on another device.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            dtype: self.dtype,
            kernels: self.kernels,
            loras: self.loras.clone(),
            checkpoint: self.checkpoint.clone(),
            on_weight: None,
        }
    }

    /// Pixels per latent cell (8 for SD; 2 for the two-block test VAE).
    pub fn vae_scale_factor(&self) -> usize {
        self.vae.config().scale_factor()
    }

    /// Text embeddings `[1, 77, hidden]` and whether the prompt was truncated.
    pub fn encode_prompt(&self, prompt: &str) -> Result<(ModelTensor, bool), ModelError> {
        let enc = self.tokenizer.encode(prompt)?;
        let len = enc.ids.len();
        let ids = ModelTensor::from_vec(enc.ids, (1, len), &self.device)?;
        let embeds = self
            .text_encoder
            .forward_skipping(&ids, self.clip_skip - 1)?;
        Ok((embeds, enc.truncated))
    }

    /// Context for one UNet call: `[cond x batch]`, or `[uncond x batch, cond x batch]`
    /// with guidance (diffusers' order for `num_images_per_prompt`).
    fn conditioning(&self, g: &Generation) -> Result<(ModelTensor, bool), ModelError> {
        let (cond, truncated) = self.encode_prompt(&g.prompt)?;
        let cond = cond.repeat((g.batch, 1, 1))?;
        if g.guidance <= 1.0 {
            return Ok((cond, truncated));
        }
        let (uncond, neg_truncated) =
            self.encode_prompt(g.negative_prompt.as_deref().unwrap_or(""))?;
        let uncond = uncond.repeat((g.batch, 1, 1))?;
        Ok((
            ModelTensor::cat(&[&uncond, &cond], 0)?,
            truncated || neg_truncated,
        ))
    }

    fn latent_shape(&self, g: &Generation) -> Result<(usize, usize, usize, usize), ModelError> {
        let f = self.vae_scale_factor();
        if g.width == 0
            || g.height == 0
            || !g.width.is_multiple_of(f)
            || !g.height.is_multiple_of(f)
        {
            return Err(ModelError::InvalidInput(format!(
                "width and height must be positive multiples of {f}, got {}x{}",
                g.width, g.height
            )));
        }
        if g.batch == 0 {
            return Err(ModelError::InvalidInput(
                "batch (images per prompt) must be at least 1".to_string(),
            ));
        }
        Ok((
            g.batch,
            self.unet.config().in_channels,
            g.height / f,
            g.width / f,
        ))
    }

    /// One guided UNet evaluation. The UNet runs in the model dtype; its f32 output and
    /// the guidance arithmetic keep latents f32 between steps (diffusers keeps them in the
    /// model dtype; f32 only removes rounding, see README). The UNet input is placed on the
    /// model device once and its prediction comes back once (on an NPU: one upload, one
    /// download, and that download is the step's one synchronisation).
    fn predict(
        &self,
        latents: &Tensor,
        t: f64,
        (context, guidance): (&ModelTensor, f64),
        scheduler: &dyn Scheduler,
        lanes: &mut Lanes,
    ) -> Result<Tensor, ModelError> {
        let cfg = guidance > 1.0;
        let batch = latents.dim(0)?;
        let (uncond, cond) = match lanes {
            Lanes::Split(parallel, hooks) => {
                let input = scheduler
                    .scale_model_input(latents, t)?
                    .to_dtype(self.dtype)?;
                let halves = (
                    &context.narrow(0, 0, batch)?,
                    &context.narrow(0, batch, batch)?,
                );
                let (uncond, cond) =
                    parallel.run((&self.unet, &self.device), (&input, t), halves, hooks)?;
                (uncond.to_dtype(DType::F32)?, cond.to_dtype(DType::F32)?)
            }
            Lanes::Single(hooks) => {
                let input = if cfg {
                    Tensor::cat(&[latents, latents], 0)?
                } else {
                    latents.clone()
                };
                let input = scheduler
                    .scale_model_input(&input, t)?
                    .to_dtype(self.dtype)?;
                let noise = self
                    .unet
                    .forward_with(&self.device.place(&input)?, t, context, hooks)?
                    .into_host()?
                    .to_dtype(DType::F32)?;
                if !cfg {
                    return Ok(noise);
                }
                (noise.narrow(0, 0, batch)?, noise.narrow(0, batch, batch)?)
            }
        };
        Ok((&uncond + ((cond - &uncond)? * guidance)?)?)
    }

    fn denoise(
        &self,
        mut latents: Tensor,
        timesteps: &[f64],
        (context, guidance, accel): (&ModelTensor, f64, &Accelerations),
        scheduler: &mut dyn Scheduler,
        rng: &mut TorchRng,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Tensor, ModelError> {
        // ToMe decides on random destinations from the whole UNet batch (uncond and cond
        // halves together), which each CFG-parallel worker only sees half of.
        let unet_batch = 2 * latents.dim(0)?;
        let mut lanes = match &accel.cfg_parallel {
            Some(parallel) if guidance > 1.0 => Lanes::Split(
                parallel,
                Box::new([accel.hooks(Some(unet_batch)), accel.hooks(Some(unet_batch))]),
            ),
            _ => Lanes::Single(Box::new(accel.hooks(None))),
        };
        let all = scheduler.timesteps().to_vec();
        for (i, &t) in timesteps.iter().enumerate() {
            // DeepCache counts steps by the timestep's first position in the schedule.
            let step = all.iter().position(|&x| x == t).unwrap_or(i);
            lanes.begin_step(step);
            let noise = self.predict(&latents, t, (context, guidance), scheduler, &mut lanes)?;
            latents = scheduler.step(&noise, t, &latents, rng)?;
            if !all_finite(&latents)? {
                return Err(ModelError::NonFinite {
                    step: i + 1,
                    steps: timesteps.len(),
                });
            }
            progress(i + 1, timesteps.len());
        }
        Ok(latents)
    }

    /// txt2img up to the final latents (before VAE decode). Returns the latents and
    /// whether a prompt was truncated to the tokenizer's length.
    pub fn txt2img(
        &self,
        g: &Generation,
        scheduler: &mut dyn Scheduler,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Tensor, bool), ModelError> {
        self.txt2img_with(g, &Accelerations::default(), scheduler, progress)
    }

    /// `txt2img` with accelerations (token merging, DeepCache, CFG-parallel).
    pub fn txt2img_with(
        &self,
        g: &Generation,
        accel: &Accelerations,
        scheduler: &mut dyn Scheduler,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Tensor, bool), ModelError> {
        let shape = self.latent_shape(g)?;
        let (context, truncated) = self.conditioning(g)?;
        let mut rng = TorchRng::new(g.seed);
        let latents = match &g.latents {
            Some(l) => {
                if l.dims4()? != shape {
                    return Err(ModelError::InvalidInput(format!(
                        "latents have shape {:?}, expected {shape:?}",
                        l.dims()
                    )));
                }
                l.to_device(&self.host_device())?.to_dtype(DType::F32)?
            }
            None => self.noise(&mut rng, shape)?,
        };
        let latents = (latents * scheduler.init_noise_sigma())?;
        let timesteps = scheduler.timesteps().to_vec();
        let out = self.denoise(
            latents,
            &timesteps,
            (&context, g.guidance, accel),
            scheduler,
            &mut rng,
            progress,
        )?;
        Ok((out, truncated))
    }

    /// img2img: encode the image, noise it to the first kept timestep, denoise from there.
    pub fn img2img(
        &self,
        g: &Generation,
        init: &InitImage,
        scheduler: &mut dyn Scheduler,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Tensor, bool), ModelError> {
        self.img2img_with(g, init, &Accelerations::default(), scheduler, progress)
    }

    /// `img2img` with accelerations.
    pub fn img2img_with(
        &self,
        g: &Generation,
        init: &InitImage,
        accel: &Accelerations,
        scheduler: &mut dyn Scheduler,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Tensor, bool), ModelError> {
        if !(init.strength > 0.0 && init.strength <= 1.0) {
            return Err(ModelError::InvalidInput(format!(
                "strength must be in (0, 1], got {}",
                init.strength
            )));
        }
        let shape = self.latent_shape(g)?;
        let (context, truncated) = self.conditioning(g)?;
        let mut rng = TorchRng::new(g.seed);
        let all = scheduler.timesteps().to_vec();
        // diffusers counts the steps kept in inference steps and cuts the schedule at that
        // many times the order (Heun lists 2N - 1 timesteps for N steps).
        let order = scheduler.order().max(1);
        let n = all.len().div_ceil(order);
        let keep = ((n as f64 * init.strength) as usize).min(n);
        let start = (n - keep) * order;
        let timesteps = all.get(start..).unwrap_or_default().to_vec();
        let Some(&first) = timesteps.first() else {
            return Err(ModelError::InvalidInput(format!(
                "strength {} leaves no denoising steps out of {n}",
                init.strength
            )));
        };
        let host = self.host_device();
        let image = ((init.image.to_device(&host)?.to_dtype(self.dtype)? * 2.0)? - 1.0)?;
        let dist = self.vae.encode(&self.device.place(&image)?)?;
        let (mean, std) = (
            dist.mean.into_host()?.to_dtype(DType::F32)?,
            dist.std.into_host()?.to_dtype(DType::F32)?,
        );
        let eps = self.noise(&mut rng, mean.dims4()?)?;
        let sampled = (&mean + (&std * &eps)?)?;
        // diffusers encodes the image once and repeats its latents per image; the
        // per-image noise below is then one randn over the whole batch.
        let image_latents = (sampled * self.vae.config().scaling_factor)?;
        let copies = shape.0 / image_latents.dim(0)?.max(1);
        let latents = image_latents.repeat((copies, 1, 1, 1))?;
        if latents.dims4()? != shape {
            return Err(ModelError::InvalidInput(format!(
                "init image gives latents {:?}, expected {shape:?} from width/height",
                latents.dims()
            )));
        }
        let noise = self.noise(&mut rng, shape)?;
        scheduler.begin_at(start);
        let latents = scheduler.add_noise(&latents, &noise, first)?;
        let out = self.denoise(
            latents,
            &timesteps,
            (&context, g.guidance, accel),
            scheduler,
            &mut rng,
            progress,
        )?;
        Ok((out, truncated))
    }

    /// diffusers' `randn_tensor` with a CPU generator: torch.randn in row-major order.
    fn noise(
        &self,
        rng: &mut TorchRng,
        shape: (usize, usize, usize, usize),
    ) -> Result<Tensor, ModelError> {
        let (b, c, h, w) = shape;
        let data = rng.randn_f32(b * c * h * w);
        Ok(Tensor::from_vec(data, shape, &self.host_device())?)
    }

    /// Final latents to an NCHW image in [0, 1] (diffusers' postprocess before uint8).
    pub fn decode(&self, latents: &Tensor) -> Result<Tensor, ModelError> {
        let z = (latents.to_dtype(DType::F32)? / self.vae.config().scaling_factor)?;
        let image = self
            .vae
            .decode(&self.device.place(&z.to_dtype(self.dtype)?)?)?
            .into_host()?
            .to_dtype(DType::F32)?;
        Ok(((image / 2.0)? + 0.5)?.clamp(0f32, 1f32)?)
    }
}

/// The UNet state of one generation: one lane, or one per CFG half on two workers.
enum Lanes<'a> {
    // Boxed: the hooks hold a generator state of a few kilobytes.
    Single(Box<StepHooks>),
    Split(&'a CfgParallel, Box<[StepHooks; 2]>),
}

impl Lanes<'_> {
    fn begin_step(&mut self, step: usize) {
        match self {
            Lanes::Single(hooks) => hooks.begin_step(step),
            Lanes::Split(_, hooks) => hooks.iter_mut().for_each(|h| h.begin_step(step)),
        }
    }
}
