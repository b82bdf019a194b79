//! `HiDreamImageTransformer2DModel.forward`: embeddings, the text streams each block sees,
//! double-stream then single-stream blocks, final layer and unpatchify.
//!
//! Text layout, as in diffusers: every Llama layer listed in `llama_layers` and the T5
//! states get their own caption projection. The double-stream blocks carry
//! `[T5; last listed Llama layer]` as their text stream and append block i's Llama layer
//! for that block only (cut off again afterwards); the single-stream blocks see
//! `[image; T5; last Llama; block i's Llama]` and likewise drop the appended part.

use super::blocks::{DoubleStreamBlock, SingleStreamBlock};
use super::config::TransformerConfig;
use super::embeddings::{FinalLayer, TIMESTEP_FEATURES, TimestepEmbedding, timestep_features};
use super::offload::{BlockWeights, host_tensors};
use super::patches::{self, patchify, unpatchify};
use super::rope::RotaryTables;
use crate::hidream::HiDreamError;
use crate::layers::{Kernels, Linear, LinearConfig};
use crate::model_tensor::{ModelDevice, Tensor, VarBuilder};
use candle_core::DType;
use std::path::{Path, PathBuf};

/// One forward's inputs, shaped as diffusers' pipeline passes them.
#[derive(Debug, Clone, Copy)]
pub struct TransformerInputs<'a> {
    /// `[b, in_channels, h, w]`, h and w multiples of the patch size.
    pub latents: &'a Tensor,
    /// `[b]`, on diffusers' 0..1000 scale, on the host (a candle tensor): the sinusoidal
    /// features are computed there and placed on the model's device with the other tables.
    pub timesteps: &'a candle_core::Tensor,
    /// `[b, t5_tokens, caption_channels[0]]`.
    pub t5: &'a Tensor,
    /// Every Llama hidden state, `[layers, b, llama_tokens, caption_channels[1]]`.
    pub llama: &'a Tensor,
    /// Pooled CLIP embeddings, `[b, text_emb_dim]`.
    pub pooled: &'a Tensor,
}

#[derive(Debug, Clone)]
pub struct HiDreamTransformer {
    config: TransformerConfig,
    x_embedder: Linear,
    t_embedder: TimestepEmbedding,
    p_embedder: TimestepEmbedding,
    /// One per entry of `llama_layers`, then T5's last.
    caption_projection: Vec<Linear>,
    double_blocks: Vec<BlockWeights<DoubleStreamBlock>>,
    single_blocks: Vec<BlockWeights<SingleStreamBlock>>,
    final_layer: FinalLayer,
    kernels: Kernels,
    /// The weights' and the computation's dtype.
    dtype: DType,
    /// Where the weights (the resident ones) live and the forward runs.
    device: ModelDevice,
}

/// Where the transformer's block weights are kept between forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Everything on the compute device.
    #[default]
    Resident,
    /// Blocks on the host, streamed to the compute device one at a time (`--offload`).
    OffloadBlocks,
}

/// How [`HiDreamTransformer::load_with`] loads a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformerLoadOptions {
    /// The weights' and the computation's dtype: f32, f16 or bf16. Files in another dtype
    /// are converted as they load (the released HiDream weights are bf16).
    pub dtype: DType,
    pub kernels: Kernels,
    pub placement: Placement,
}

impl Default for TransformerLoadOptions {
    fn default() -> Self {
        Self {
            dtype: DType::F32,
            kernels: Kernels::default(),
            placement: Placement::Resident,
        }
    }
}

/// The dtypes the model runs in; anything else is refused before loading.
pub fn check_model_dtype(dtype: DType) -> Result<(), HiDreamError> {
    match dtype {
        DType::F32 | DType::F16 | DType::BF16 => Ok(()),
        other => Err(HiDreamError::InvalidInput(format!(
            "dtype {other:?} is not supported (f32, f16 or bf16)"
        ))),
    }
}

/// What a `transformer` folder holds that can be read without loading weights: its
/// config and the safetensors files to map. Fails naming the folder or file.
pub fn read_folder(dir: &Path) -> Result<(TransformerConfig, Vec<PathBuf>), HiDreamError> {
    let config = TransformerConfig::from_file(&dir.join("config.json"))?;
    let files = crate::weights::weight_files(dir).map_err(|e| HiDreamError::Config {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok((config, files))
}

impl HiDreamTransformer {
    /// A diffusers `transformer` folder: `config.json` and its safetensors, as f32 (see
    /// [`load_with`](Self::load_with) for bf16 and f16).
    pub fn load(
        dir: &Path,
        device: impl Into<ModelDevice>,
        kernels: Kernels,
    ) -> Result<Self, HiDreamError> {
        let options = TransformerLoadOptions {
            kernels,
            ..TransformerLoadOptions::default()
        };
        Self::load_with(dir, device, &options)
    }

    /// [`load`](Self::load) in `options.dtype`, with the block weights placed as
    /// `options.placement` says. Weights are read through memory maps either way;
    /// offloaded blocks are copied to host memory once (in `options.dtype`), the rest of
    /// the model to `device`.
    pub fn load_with(
        dir: &Path,
        device: impl Into<ModelDevice>,
        options: &TransformerLoadOptions,
    ) -> Result<Self, HiDreamError> {
        let device = &device.into();
        let TransformerLoadOptions {
            dtype,
            kernels,
            placement,
        } = *options;
        check_model_dtype(dtype)?;
        let (config, files) = read_folder(dir)?;
        let weights_error = |source| HiDreamError::Weights {
            component: dir.display().to_string(),
            source,
        };
        let vb =
            crate::weights::mapped_vars(&files, dtype, &device.host()).map_err(weights_error)?;
        let vb = VarBuilder::new(vb, device.clone());
        let built = match placement {
            Placement::Resident => Self::new(config, vb, kernels),
            Placement::OffloadBlocks => {
                // SAFETY: read-only memory maps; like every safetensors loader we rely on the
                // files not being truncated while the model loads.
                let mapped = unsafe { candle_core::safetensors::MmapedSafetensors::multi(&files) }
                    .map_err(weights_error)?;
                Self::new_offloaded(config, vb, &mapped, device, kernels)
            }
        };
        built.map_err(|e| match e {
            HiDreamError::Candle(source) => weights_error(source),
            other => other,
        })
    }

    /// From a validated-or-not config and weights under diffusers' names, in `vb`'s dtype.
    pub fn new(
        config: TransformerConfig,
        vb: VarBuilder,
        kernels: Kernels,
    ) -> Result<Self, HiDreamError> {
        config
            .validate()
            .map_err(|e| HiDreamError::InvalidInput(e.to_string()))?;
        let double_blocks = (0..config.num_layers)
            .map(|i| {
                DoubleStreamBlock::new(vb.pp(double_prefix(i)), &config, kernels)
                    .map(BlockWeights::Resident)
            })
            .collect::<candle_core::Result<_>>()?;
        let single_blocks = (0..config.num_single_layers)
            .map(|i| {
                SingleStreamBlock::new(vb.pp(single_prefix(i)), &config, kernels)
                    .map(BlockWeights::Resident)
            })
            .collect::<candle_core::Result<_>>()?;
        Self::assemble(config, vb, kernels, double_blocks, single_blocks)
    }

    /// Embedders and final layer from `vb` (on the compute device); block weights read
    /// from `mapped` into host memory in `vb`'s dtype, streamed to `device` per forward.
    pub fn new_offloaded(
        config: TransformerConfig,
        vb: VarBuilder,
        mapped: &candle_core::safetensors::MmapedSafetensors,
        device: &ModelDevice,
        kernels: Kernels,
    ) -> Result<Self, HiDreamError> {
        config
            .validate()
            .map_err(|e| HiDreamError::InvalidInput(e.to_string()))?;
        fn host<B>(
            mapped: &candle_core::safetensors::MmapedSafetensors,
            prefix: String,
            dtype: DType,
            device: &ModelDevice,
        ) -> candle_core::Result<BlockWeights<B>> {
            Ok(BlockWeights::Host {
                tensors: host_tensors(mapped, &prefix, dtype)?,
                dtype,
                device: device.clone(),
            })
        }
        let dtype = vb.dtype();
        let double_blocks = (0..config.num_layers)
            .map(|i| host(mapped, double_prefix(i), dtype, device))
            .collect::<candle_core::Result<_>>()?;
        let single_blocks = (0..config.num_single_layers)
            .map(|i| host(mapped, single_prefix(i), dtype, device))
            .collect::<candle_core::Result<_>>()?;
        let model = Self::assemble(config, vb, kernels, double_blocks, single_blocks)?;
        // Build each block once now, so missing or misshapen weights fail at load time
        // rather than at the first step.
        for block in &model.double_blocks {
            block.get(|vb| DoubleStreamBlock::new(vb, &model.config, kernels))?;
        }
        for block in &model.single_blocks {
            block.get(|vb| SingleStreamBlock::new(vb, &model.config, kernels))?;
        }
        Ok(model)
    }

    /// Bytes of block weights kept in host memory (0 unless offloaded).
    pub fn host_bytes(&self) -> usize {
        let double: usize = self
            .double_blocks
            .iter()
            .map(BlockWeights::host_bytes)
            .sum();
        let single: usize = self
            .single_blocks
            .iter()
            .map(BlockWeights::host_bytes)
            .sum();
        double + single
    }

    fn assemble(
        config: TransformerConfig,
        vb: VarBuilder,
        kernels: Kernels,
        double_blocks: Vec<BlockWeights<DoubleStreamBlock>>,
        single_blocks: Vec<BlockWeights<SingleStreamBlock>>,
    ) -> Result<Self, HiDreamError> {
        let cfg = &config;
        let dim = cfg.inner_dim();
        let patch = cfg.patch();
        let [t5_width, llama_width] = [cfg.caption_channels[0], cfg.caption_channels[1]];
        let mut caption_projection = (0..cfg.llama_layers.len())
            .map(|i| {
                Linear::load(
                    vb.pp(format!("caption_projection.{i}.linear")),
                    LinearConfig {
                        in_features: llama_width,
                        out_features: dim,
                        bias: false,
                    },
                )
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        caption_projection.push(Linear::load(
            vb.pp(format!(
                "caption_projection.{}.linear",
                cfg.llama_layers.len()
            )),
            LinearConfig {
                in_features: t5_width,
                out_features: dim,
                bias: false,
            },
        )?);
        Ok(Self {
            x_embedder: Linear::load(
                vb.pp("x_embedder.proj"),
                LinearConfig {
                    in_features: cfg.in_channels * patch * patch,
                    out_features: dim,
                    bias: true,
                },
            )?,
            t_embedder: TimestepEmbedding::new(
                vb.pp("t_embedder.timestep_embedder"),
                TIMESTEP_FEATURES,
                dim,
            )?,
            p_embedder: TimestepEmbedding::new(
                vb.pp("p_embedder.pooled_embedder"),
                cfg.text_emb_dim,
                dim,
            )?,
            caption_projection,
            double_blocks,
            single_blocks,
            final_layer: FinalLayer::new(
                vb.pp("final_layer"),
                dim,
                patch * patch * cfg.out_channels(),
            )?,
            config,
            kernels,
            dtype: vb.dtype(),
            device: vb.device().clone(),
        })
    }

    pub fn config(&self) -> &TransformerConfig {
        &self.config
    }

    /// The dtype the weights are held and the forward computed in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Where the forward runs.
    pub fn device(&self) -> &ModelDevice {
        &self.device
    }

    /// What `transformer.max_seq = n` does in Python: the token count non-square inputs are
    /// padded to (the padded keys are zeroed, not masked, so this changes the output).
    pub fn set_max_seq(&mut self, max_seq: usize) {
        self.config.max_seq_override = Some(max_seq);
    }

    /// The velocity prediction `[b, out_channels, h, w]` as f32 (not yet negated: the
    /// pipeline does that, as in diffusers).
    ///
    /// Inputs of any float dtype are cast to the model's dtype first, as diffusers' pipeline
    /// casts them to `transformer.dtype`. The output is widened to f32, which is exact; the
    /// pipelines keep latents and scheduler arithmetic in f32 (diffusers keeps bf16 latents
    /// between steps when the model is bf16, so its rounding there is coarser than ours).
    pub fn forward(&self, inputs: &TransformerInputs<'_>) -> Result<Tensor, HiDreamError> {
        self.check(inputs)?;
        let cfg = &self.config;
        let cast = |t: &Tensor| t.to_dtype(self.dtype);
        let (latents, t5_states, llama_states, pooled) = (
            cast(inputs.latents)?,
            cast(inputs.t5)?,
            cast(inputs.llama)?,
            cast(inputs.pooled)?,
        );
        let batch = latents.dim(0)?;
        // The host tables (timestep features, rotary tables) are placed first: on an NPU an
        // upload made after queued launches would wait for them.
        let features = timestep_features(inputs.timesteps, &self.device)?;
        let (text_len, llama_len) = (
            inputs.t5.dim(1)? + inputs.llama.dim(2)?,
            inputs.llama.dim(2)?,
        );
        let (_, _, h, w) = latents.dims4()?;
        let mut ids = patches::token_ids(h, w, cfg.patch(), cfg.max_seq());
        // Text tokens sit at position (0, 0, 0).
        ids.resize(ids.len() + text_len + llama_len, [0.0; 3]);
        let rope = RotaryTables::new(&ids, &cfg.axes_dims_rope, &self.device)?;
        let patches = patchify(&latents, cfg.patch(), cfg.max_seq())?;

        let mut image = self.x_embedder.forward(&patches.tokens)?;
        // The sinusoidal features are computed in f32 (f64 here) and then cast, as
        // diffusers' `Timesteps` output is cast to the hidden states' dtype.
        let temb =
            (self.t_embedder.forward(&cast(&features)?)? + self.p_embedder.forward(&pooled)?)?;

        let last = self.caption_projection.len() - 1;
        let llama = cfg
            .llama_layers
            .iter()
            .zip(&self.caption_projection)
            .map(|(&layer, proj)| proj.forward(&llama_states.get(layer)?))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let t5 = self.caption_projection[last].forward(&t5_states)?;
        let Some(last_llama) = llama.last() else {
            return Err(HiDreamError::InvalidInput("the model has no blocks".into()));
        };
        let mut text = Tensor::cat(&[&t5, last_llama], 1)?;

        let mask = patches.mask.as_ref();
        for (block, own_llama) in self.double_blocks.iter().zip(&llama) {
            let block = block.get(|vb| DoubleStreamBlock::new(vb, cfg, self.kernels))?;
            let block_text = Tensor::cat(&[&text, own_llama], 1)?;
            let (new_image, new_text) = block.forward(&image, &block_text, &temb, mask, &rope)?;
            image = new_image;
            text = new_text.narrow(1, 0, text_len)?;
        }

        let image_len = image.dim(1)?;
        let mut joint = Tensor::cat(&[&image, &text], 1)?;
        let joint_len = joint.dim(1)?;
        let joint_mask = match mask {
            Some(m) => Some(Tensor::cat(
                &[m, &patches::ones_mask(batch, text_len + llama_len, m)?],
                1,
            )?),
            None => None,
        };
        for (block, own_llama) in self
            .single_blocks
            .iter()
            .zip(&llama[self.double_blocks.len()..])
        {
            let block = block.get(|vb| SingleStreamBlock::new(vb, cfg, self.kernels))?;
            let x = Tensor::cat(&[&joint, own_llama], 1)?;
            joint = block
                .forward(&x, &temb, joint_mask.as_ref(), &rope)?
                .narrow(1, 0, joint_len)?;
        }

        let out = self
            .final_layer
            .forward(&joint.narrow(1, 0, image_len)?, &temb)?;
        Ok(unpatchify(&out, patches.grid, cfg.patch())?.to_dtype(DType::F32)?)
    }

    /// Shapes diffusers would reject or silently mis-handle, named per input.
    fn check(&self, inputs: &TransformerInputs<'_>) -> Result<(), HiDreamError> {
        let cfg = &self.config;
        let bad = |msg: String| Err(HiDreamError::InvalidInput(msg));
        let (b, c, h, w) = inputs.latents.dims4().map_err(|_| {
            HiDreamError::InvalidInput(format!(
                "latents must be [batch, channels, height, width], got {:?}",
                inputs.latents.dims()
            ))
        })?;
        let p = cfg.patch();
        if c != cfg.in_channels {
            return bad(format!(
                "latents have {c} channels; the model takes {}",
                cfg.in_channels
            ));
        }
        if h % p != 0 || w % p != 0 || h == 0 || w == 0 {
            return bad(format!(
                "latent size {h}x{w} is not a positive multiple of the patch size {p}"
            ));
        }
        if h != w && (h / p) * (w / p) > cfg.max_seq() {
            return bad(format!(
                "non-square latent {h}x{w} has {} patches, more than max_resolution allows ({})",
                (h / p) * (w / p),
                cfg.max_seq()
            ));
        }
        let expect = |name: &str, dims: &[usize], want: &[usize]| -> Result<(), HiDreamError> {
            if dims == want {
                Ok(())
            } else {
                bad(format!("{name} must have shape {want:?}, got {dims:?}"))
            }
        };
        expect("timesteps", inputs.timesteps.dims(), &[b])?;
        expect("pooled", inputs.pooled.dims(), &[b, cfg.text_emb_dim])?;
        let t5_tokens = inputs.t5.dims().get(1).copied().unwrap_or(0);
        expect(
            "t5",
            inputs.t5.dims(),
            &[b, t5_tokens, cfg.caption_channels[0]],
        )?;
        let llama = inputs.llama.dims();
        let needed = cfg.llama_layers.iter().max().map_or(0, |m| m + 1);
        if llama.len() != 4
            || llama[0] < needed
            || llama[1] != b
            || llama[3] != cfg.caption_channels[1]
        {
            return bad(format!(
                "llama must be [layers >= {needed}, {b}, tokens, {}], got {llama:?}",
                cfg.caption_channels[1]
            ));
        }
        Ok(())
    }
}

fn double_prefix(i: usize) -> String {
    format!("double_stream_blocks.{i}.block")
}

fn single_prefix(i: usize) -> String {
    format!("single_stream_blocks.{i}.block")
}
