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
use crate::layers::{Linear, LinearConfig};
use candle_core::{DType, Result, Tensor};
use candle_nn::VarBuilder;
use ops_npu::attention::Layout;
use ops_npu::candle_ops::{self, CandleAttention};
use std::collections::HashMap;
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
    device: &candle_core::Device,
) -> std::result::Result<VarBuilder<'static>, EncoderError> {
    crate::weights::component_vars(dir, dtype, device).map_err(|e| EncoderError::Weights {
        component: dir.display().to_string(),
        source: candle_core::Error::Msg(e.to_string()),
    })
}

/// One linear layer whose output is the concatenation of several bias-free projections of
/// the same input (gate and up, for instance), so that the gated-unit kernels can read
/// both halves from one GEMM. Each part is loaded, and shape-checked, under its own name.
pub(crate) fn stacked_linear(
    parts: &[(VarBuilder, usize)],
    inputs: usize,
    dtype: DType,
) -> Result<Linear> {
    let Some((first, _)) = parts.first() else {
        candle_core::bail!("stacked_linear needs at least one part")
    };
    let weights = parts
        .iter()
        .map(|(vb, outputs)| vb.get((*outputs, inputs), "weight"))
        .collect::<Result<Vec<_>>>()?;
    let outputs = parts.iter().map(|(_, o)| o).sum();
    let weight = Tensor::cat(&weights, 0)?;
    let device = first.device().clone();
    let vb = VarBuilder::from_tensors(HashMap::from([("weight".into(), weight)]), dtype, &device);
    Linear::load(
        vb,
        LinearConfig {
            in_features: inputs,
            out_features: outputs,
            bias: false,
        },
    )
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
    let (b, s, heads, head_dim) = q.dims4()?;
    let opts = CandleAttention {
        layout: Layout::Bsnd,
        scale: Some(scale),
        bias,
        mask,
    };
    candle_ops::attention(q, k, v, &opts)?.reshape((b, s, heads * head_dim))
}

/// `[batch, seq]` padding mask (any dtype, non-zero = a real token) as u8
/// `[batch, 1, 1, seq]`, or all ones when the caller gives none.
pub(crate) fn key_padding_mask(
    attention_mask: Option<&Tensor>,
    batch: usize,
    seq: usize,
    device: &candle_core::Device,
) -> Result<Tensor> {
    let mask = match attention_mask {
        Some(m) => {
            let dims = m.dims();
            if dims != [batch, seq] {
                candle_core::bail!(
                    "attention_mask has shape {dims:?}; expected [{batch}, {seq}] like input_ids"
                );
            }
            m.ne(0u8)?
        }
        None => Tensor::ones((batch, seq), DType::U8, device)?,
    };
    mask.reshape((batch, 1, 1, seq))
}
