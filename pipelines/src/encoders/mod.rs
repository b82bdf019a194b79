//! Text encoders with transformers' semantics and parameter names: the CLIP text models
//! and their BPE tokenizer ([`clip`]), and HiDream's large encoders:
//! [`t5::T5EncoderModel`] (last hidden state) and [`llama::LlamaModel`] (every layer's
//! hidden state, as `output_hidden_states=True` returns them). Both read the component's
//! own config.json and load through a VarBuilder, so a folder saved by transformers loads
//! as it is. T5 and Llama take token ids: their tokenizer.json files are read by
//! `hidream::tokenize`.

pub mod clip;
pub mod llama;
pub mod t5;

pub use llama::{LlamaConfig, LlamaModel};
pub use t5::{T5Config, T5EncoderModel};

use crate::config::ConfigFileError;
use crate::layers::HeadsAttention;
use crate::layers::Linear;
use crate::model_tensor::{ModelDevice, NpuValue, Tensor, VarBuilder};
use candle_core::{DType, Result};
use ops_npu::npu::NpuTensor;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("{component} weights: {source}")]
    Weights {
        component: String,
        #[source]
        source: candle_core::Error,
    },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl From<ConfigFileError> for EncoderError {
    fn from(ConfigFileError { path, message }: ConfigFileError) -> Self {
        EncoderError::Config { path, message }
    }
}

/// A VarBuilder over a component folder's safetensors (mmapped, converted to `dtype`).
pub(crate) fn folder_vars(
    dir: &Path,
    dtype: DType,
    device: &ModelDevice,
) -> std::result::Result<VarBuilder<'static>, EncoderError> {
    crate::weights::component_vars(dir, dtype, &device.host())
        .map(|vb| VarBuilder::new(vb, device.clone()))
        .map_err(|e| EncoderError::Weights {
            component: dir.display().to_string(),
            source: candle_core::Error::Msg(e.to_string()),
        })
}

/// One linear layer whose output is the concatenation of several bias-free projections of
/// the same input (gate and up, for instance), so that the gated-unit kernels can read
/// both halves from one GEMM. Each part is loaded, and shape-checked, under its own name.
pub(crate) fn stacked_linear(parts: &[(VarBuilder, usize)], inputs: usize) -> Result<Linear> {
    if parts.is_empty() {
        candle_core::bail!("stacked_linear needs at least one part")
    }
    let weights = parts
        .iter()
        .map(|(vb, outputs)| vb.get((*outputs, inputs), "weight"))
        .collect::<Result<Vec<_>>>()?;
    Linear::from_parts(&Tensor::cat(&weights, 0)?, None)
}

/// Attention over `[batch, seq, heads, head_dim]` q and k/v (k/v may have fewer heads that
/// each serve a group of query heads). `bias` is added to the scaled scores and `mask`
/// (u8, non-zero = attend) removes keys; both broadcast over `[batch, heads, q, k]`.
/// Returns `[batch, seq, heads * head_dim]`.
pub(crate) fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f32,
    bias: Option<&Tensor>,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    crate::layers::attention_heads(q, k, v, HeadsAttention { scale, bias, mask })
}

/// Which keys each query may attend to, built on the host and placed on `device`: the
/// `[batch, seq]` padding mask (any dtype, non-zero = a real token; all real when the
/// caller gives none) as `[batch, 1, 1, seq]`, or with `causal` also each query's later
/// keys removed, `[batch, 1, seq, seq]`. u8 (1 = attend) on a candle device; on the NPU a
/// bool tensor in aclnn's convention (true = masked out).
pub(crate) fn key_mask(
    attention_mask: Option<&Tensor>,
    (batch, seq): (usize, usize),
    causal: bool,
    device: &ModelDevice,
) -> Result<Tensor> {
    let host = device.host();
    let keep = match attention_mask {
        Some(m) => {
            let dims = m.dims();
            if dims != [batch, seq] {
                candle_core::bail!(
                    "attention_mask has shape {dims:?}; expected [{batch}, {seq}] like input_ids"
                );
            }
            m.to_host()?.ne(0u8)?
        }
        None => candle_core::Tensor::ones((batch, seq), DType::U8, &host)?,
    };
    let mut keep = keep.reshape((batch, 1, 1, seq))?;
    if causal {
        let lower: Vec<u8> = (0..seq)
            .flat_map(|q| (0..seq).map(move |k| u8::from(k <= q)))
            .collect();
        keep =
            candle_core::Tensor::from_vec(lower, (1, 1, seq, seq), &host)?.broadcast_mul(&keep)?;
    }
    let shape = keep.dims().to_vec();
    match device {
        ModelDevice::Candle(_) => Ok(Tensor::Candle(keep)),
        // aclnn's convention: true = masked out.
        ModelDevice::Npu(ctx) => {
            let masked: Vec<bool> = keep
                .flatten_all()?
                .to_vec1::<u8>()?
                .into_iter()
                .map(|k| k == 0)
                .collect();
            let t = NpuTensor::upload_mask(ctx.stream(), &masked, &shape)
                .map_err(candle_core::Error::wrap)?;
            Ok(Tensor::Npu(NpuValue::new(t, ctx.clone())))
        }
    }
}
