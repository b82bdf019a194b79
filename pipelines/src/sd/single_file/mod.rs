//! Stable Diffusion 1.x/2.x checkpoints in one file, in the original (LDM) layout that
//! Civitai and A1111 share: the UNet under `model.diffusion_model.`, the VAE under
//! `first_stage_model.`, the text encoder under `cond_stage_model.` (OpenCLIP for 2.x,
//! transformers' CLIP for 1.x). The weights are read from the file in place (memory-mapped)
//! under the names the models ask for; configs, tokenizer and scheduler come from a
//! diffusers folder of the same architecture, as diffusers' `from_single_file(...,
//! config=...)` takes them. `.ckpt` / `.pt` files are pickles, which can run code when
//! loaded, and are refused.
//!
//! - `names`: diffusers names to LDM keys.

mod names;

use crate::error::ModelError;
use crate::models::autoencoders::VaeConfig;
use crate::sd::config::UNetConfig;
use crate::weights::check_stored;
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use names::{Source, UnetLayout};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A single-file checkpoint, memory-mapped.
pub struct Checkpoint {
    path: PathBuf,
    tensors: MmapedSafetensors,
    /// The text encoder is OpenCLIP's (SD 2.x) rather than transformers' CLIP (SD 1.x).
    open_clip: bool,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("path", &self.path)
            .field("open_clip", &self.open_clip)
            .finish_non_exhaustive()
    }
}

fn error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Whether `path` names a checkpoint file rather than a model folder.
pub fn is_checkpoint_file(path: &Path) -> bool {
    !path.is_dir()
        && path.extension().is_some_and(|e| {
            ["safetensors", "ckpt", "pt", "pth", "bin"]
                .iter()
                .any(|known| e.eq_ignore_ascii_case(known))
        })
}

impl Checkpoint {
    pub fn open(path: &Path) -> Result<Arc<Self>, ModelError> {
        let is_safetensors = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
        if !is_safetensors {
            return Err(error(
                path,
                "a pickled checkpoint (.ckpt/.pt/.pth/.bin) can run arbitrary code when loaded \
                 and is not read; convert it to .safetensors first (for a file you trust: \
                 torch.load, then safetensors.torch.save_file of its state_dict)",
            ));
        }
        crate::input_file::check_regular(path).map_err(|e| error(path, e.to_string()))?;
        // SAFETY: read-only memory map; like every safetensors loader we rely on the file
        // not being truncated while the model loads.
        let tensors = unsafe { MmapedSafetensors::new(path) }
            .map_err(|e| error(path, format!("not a safetensors file: {e}")))?;
        let has = |key: &str| tensors.get(key).is_ok();
        if !has(&format!("{}time_embed.0.weight", names::UNET)) {
            return Err(error(
                path,
                "not a Stable Diffusion checkpoint in the original layout (no \
                 model.diffusion_model.* UNet); a diffusers folder is given as the folder itself",
            ));
        }
        let open_clip = has(&format!("{}token_embedding.weight", names::OPEN_CLIP));
        let hf_clip = has(&format!(
            "{}text_model.embeddings.token_embedding.weight",
            names::HF_CLIP
        ));
        if !open_clip && !hf_clip {
            return Err(error(
                path,
                "has no text encoder (cond_stage_model.model.* or cond_stage_model.transformer.*)",
            ));
        }
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            tensors,
            open_clip,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn unet_vars(
        self: &Arc<Self>,
        config: &UNetConfig,
        dtype: DType,
        device: &Device,
    ) -> Result<VarBuilder<'static>, ModelError> {
        let blocks = config.down_block_types.len();
        let layout = UnetLayout {
            layers: config
                .layers_per_block
                .expand(blocks, "layers_per_block")
                .map_err(|e| error(&self.path, e.to_string()))?,
            up_has_attention: config
                .up_block_types
                .iter()
                .map(|t| t.contains("CrossAttn"))
                .collect(),
        };
        Ok(self.vars(
            Box::new(move |name| names::unet(name, &layout)),
            dtype,
            device,
        ))
    }

    pub fn vae_vars(
        self: &Arc<Self>,
        config: &VaeConfig,
        dtype: DType,
        device: &Device,
    ) -> VarBuilder<'static> {
        let blocks = config.block_out_channels.len();
        self.vars(
            Box::new(move |name| names::vae(name, blocks)),
            dtype,
            device,
        )
    }

    pub fn text_encoder_vars(
        self: &Arc<Self>,
        dtype: DType,
        device: &Device,
    ) -> VarBuilder<'static> {
        let map: NameMap = if self.open_clip {
            Box::new(names::open_clip)
        } else {
            Box::new(names::hf_clip)
        };
        self.vars(map, dtype, device)
    }

    fn vars(self: &Arc<Self>, map: NameMap, dtype: DType, device: &Device) -> VarBuilder<'static> {
        let backend = Renamed {
            file: Arc::clone(self),
            map,
        };
        VarBuilder::from_backend(Box::new(backend), dtype, device.clone())
    }
}

type NameMap = Box<dyn Fn(&str) -> Option<Source> + Send + Sync>;

/// The checkpoint seen under diffusers names.
struct Renamed {
    file: Arc<Checkpoint>,
    map: NameMap,
}

impl Renamed {
    fn source(&self, name: &str) -> candle_core::Result<Source> {
        (self.map)(name).ok_or_else(|| {
            candle_core::Error::Msg(format!(
                "{}: no place in the original layout for {name}",
                self.file.path.display()
            ))
        })
    }

    fn key(source: &Source) -> &str {
        match source {
            Source::Whole(key) | Source::Squeezed(key) | Source::Third { key, .. } => key,
        }
    }

    fn load(
        &self,
        name: &str,
        wanted: Option<&Shape>,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let source = self.source(name)?;
        let key = Self::key(&source);
        let tensors = &self.file.tensors;
        let view = tensors.get(key).map_err(|_| {
            candle_core::Error::Msg(format!(
                "{}: {key} (the model's {name}) is missing",
                self.file.path.display()
            ))
        })?;
        check_stored(key, view.dtype(), view.shape(), None)?;
        let stored = tensors.load(key, device)?;
        let tensor = match source {
            Source::Whole(_) => stored,
            Source::Squeezed(_) => match stored.dims() {
                [out, input, 1, 1] => stored.reshape((*out, *input))?,
                _ => stored,
            },
            Source::Third { index, .. } => {
                let third = stored.dim(0)? / 3;
                stored.narrow(0, index * third, third)?
            }
        };
        if let Some(shape) = wanted
            && tensor.shape() != shape
        {
            return Err(candle_core::Error::UnexpectedShape {
                msg: format!("{key} (the model's {name})"),
                expected: shape.clone(),
                got: tensor.shape().clone(),
            });
        }
        Ok(tensor)
    }
}

impl SimpleBackend for Renamed {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        self.load(name, Some(&shape), device)?.to_dtype(dtype)
    }

    fn get_unchecked(
        &self,
        name: &str,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        self.load(name, None, device)?.to_dtype(dtype)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        (self.map)(name).is_some_and(|s| self.file.tensors.get(Self::key(&s)).is_ok())
    }
}
