//! What `sd` and `hidream` check when they load a component, run without loading any
//! tensor data: configs through the same readers and validators, tokenizers through the
//! same constructor, and each model through its own constructor over a VarBuilder that
//! answers from the safetensors headers (a tensor the model asks for must exist with the
//! shape it asks for; no data is read). A folder doctor passes therefore loads, short of
//! a tensor's bytes being damaged.

use crate::config::read_config;
use crate::encoders::clip::{ClipTextConfig, ClipTextModel, ClipTokenizer};
use crate::hidream::transformer::{HiDreamTransformer, TransformerConfig};
use crate::layers::Kernels;
use crate::model_tensor::{ModelDevice, VarBuilder as ModelVars};
use crate::models::autoencoders::{AutoencoderKL, VaeConfig};
use crate::schedulers::{self, SchedulerConfig};
use crate::sd::config::UNetConfig;
use crate::sd::unet::UNet2DConditionModel;
use crate::weights::{check_stored, weight_files};
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use device::TensorsFile;
use std::collections::HashMap;
use std::path::Path;

/// The pipelines doctor knows the loaders of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    StableDiffusion,
    HiDream,
}

/// Components `sd` refuses to run without (StableDiffusion::load_with).
pub const SD_REQUIRED: [&str; 5] = ["tokenizer", "text_encoder", "unet", "vae", "scheduler"];

/// `sd --steps`' default: schedulers check their settings against a step count.
const SD_DEFAULT_STEPS: usize = 50;

/// Tensor dtypes and shapes from safetensors headers; see the module comment.
struct HeaderShapes {
    shapes: HashMap<String, (safetensors::Dtype, Vec<usize>)>,
}

impl HeaderShapes {
    /// The files the loader would map (`weight_files`), later files winning a name as in
    /// candle's multi-file map.
    fn of(dir: &Path) -> Result<Self, String> {
        let mut shapes = HashMap::new();
        for path in weight_files(dir).map_err(|e| e.to_string())? {
            let file = TensorsFile::open(&path).map_err(|e| e.to_string())?;
            for name in file.names() {
                if let Some(info) = file.info(&name) {
                    shapes.insert(name, (info.dtype, info.shape.clone()));
                }
            }
        }
        Ok(Self { shapes })
    }

    fn var_builder(self) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self), DType::F32, Device::Cpu)
    }

    fn stored(&self, name: &str) -> candle_core::Result<&(safetensors::Dtype, Vec<usize>)> {
        self.shapes.get(name).ok_or_else(|| {
            candle_core::Error::CannotFindTensor {
                path: name.to_string(),
            }
            .bt()
        })
    }
}

impl SimpleBackend for HeaderShapes {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let (stored_dtype, stored) = self.stored(name)?;
        // The same rule the loaders' VarBuilder applies before reading a tensor.
        check_stored(name, *stored_dtype, stored, Some(&s))?;
        // A broadcast scalar has the right shape and allocates nothing.
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let (stored_dtype, stored) = self.stored(name)?;
        check_stored(name, *stored_dtype, stored, None)?;
        Tensor::zeros((), dtype, dev)?.broadcast_as(stored.clone())
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.shapes.contains_key(name)
    }
}

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Builds a model over `vars` (on the CPU) when there are any (see [`check`]).
fn build<E: std::fmt::Display>(
    vars: Option<VarBuilder<'static>>,
    model: impl FnOnce(ModelVars<'static>) -> Result<(), E>,
) -> Result<(), String> {
    vars.map_or(Ok(()), |vb| {
        model(ModelVars::new(vb, ModelDevice::Candle(Device::Cpu))).map_err(text)
    })
}

/// Runs the loader's checks for component `name` of a `pipeline` folder at `root`.
/// `None` when that loader does not read this component (doctor's file checks stand).
/// Without `build_models` configs, tokenizers and schedulers are checked but no model is
/// built, so weight names and shapes go unchecked (a shape-only build still copies the
/// weights some layers transpose or fuse; the caller decides whether that fits).
pub fn check(
    pipeline: Pipeline,
    root: &Path,
    name: &str,
    build_models: bool,
) -> Option<Result<(), String>> {
    let dir = root.join(name);
    let vars = |dir: &Path| -> Result<Option<VarBuilder<'static>>, String> {
        if build_models {
            HeaderShapes::of(dir).map(|h| Some(h.var_builder()))
        } else {
            Ok(None)
        }
    };
    let result = match (pipeline, name) {
        (Pipeline::StableDiffusion, "tokenizer") => {
            ClipTokenizer::from_dir(&dir).map(drop).map_err(text)
        }
        (Pipeline::StableDiffusion, "text_encoder") => (|| {
            let config: ClipTextConfig = read_config(&dir.join("config.json")).map_err(text)?;
            build(vars(&dir)?, |vb| ClipTextModel::new(vb, &config).map(drop))
        })(),
        (Pipeline::StableDiffusion, "unet") => (|| {
            let config: UNetConfig = read_config(&dir.join("config.json")).map_err(text)?;
            build(vars(&dir)?, |vb| {
                UNet2DConditionModel::new(vb, &config).map(drop)
            })
        })(),
        (Pipeline::StableDiffusion | Pipeline::HiDream, "vae") => (|| {
            let config: VaeConfig = read_config(&dir.join("config.json")).map_err(text)?;
            build(vars(&dir)?, |vb| AutoencoderKL::new(vb, &config).map(drop))
        })(),
        (Pipeline::StableDiffusion, "scheduler") => (|| {
            let config: SchedulerConfig =
                read_config(&dir.join("scheduler_config.json")).map_err(text)?;
            let class = config.class_name().unwrap_or("").to_string();
            schedulers::build(&class, &config, SD_DEFAULT_STEPS)
                .map(drop)
                .map_err(|e| format!("scheduler {class:?}: {e}"))
        })(),
        (Pipeline::HiDream, "transformer") => (|| {
            let config = TransformerConfig::from_file(&dir.join("config.json")).map_err(text)?;
            build(vars(&dir)?, |vb| {
                HiDreamTransformer::new(config, vb, Kernels::default()).map(drop)
            })
        })(),
        _ => return None,
    };
    Some(result)
}
