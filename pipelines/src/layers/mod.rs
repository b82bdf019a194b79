//! Every primitive layer the models use, in one place, and the one place where kernels are
//! chosen: each layer stores the [`Kernels`] value its model was built with and runs either
//! ops-npu's fused kernels or the plain candle composites. Semantics follow torch/diffusers
//! exactly (erf GELU, biased variance in the norms, `dim_head ** -0.5` attention scale).
//!
//! Layers are built from a config struct with named sizes (`Linear::load(vb,
//! LinearConfig { in_features, out_features, bias })`), because a row of positional
//! `usize`s and `bool`s is easy to swap without the compiler noticing.

mod activation;
mod attention;
mod conv;
mod embedding;
mod linear;
mod norm;

pub use activation::{GeGlu, GeGluConfig, gelu_erf, quick_gelu, silu};
pub use attention::attention;
pub use conv::{Conv2d, Conv2dConfig, upsample_nearest};
pub use embedding::{Embedding, EmbeddingConfig};
pub use linear::{Linear, LinearConfig};
pub use norm::{GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig};

use std::fmt;
use std::str::FromStr;

/// Which implementation the kernel-backed layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// ops-npu's fused CPU kernels: O(seq) memory flash attention, one-pass GroupNorm(+SiLU),
    /// GEGLU and LayerNorm (statistics in f32 for every dtype), and convolution by Winograd
    /// or im2col + GEMM with the weights as torch stores them.
    #[default]
    Fused,
    /// candle composites: full score matrices, separate norm/activation passes, candle's
    /// conv2d.
    Naive,
}

impl Kernels {
    pub const NAMES: [&'static str; 2] = ["fused", "naive"];

    pub fn as_str(self) -> &'static str {
        match self {
            Kernels::Fused => "fused",
            Kernels::Naive => "naive",
        }
    }
}

impl fmt::Display for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kernels {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fused" => Ok(Kernels::Fused),
            "naive" => Ok(Kernels::Naive),
            other => Err(format!(
                "unknown attention implementation {other:?} (expected fused or naive)"
            )),
        }
    }
}
