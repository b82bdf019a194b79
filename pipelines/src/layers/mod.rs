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
mod fused;
mod linear;
mod norm;
mod npu;

pub use activation::{GeGlu, GeGluConfig, gelu_erf, quick_gelu, silu};
pub use attention::{HeadsAttention, attention, attention_heads};
pub use conv::{Conv2d, Conv2dConfig, upsample_nearest};
pub use embedding::{Embedding, EmbeddingConfig};
pub use fused::{ada_layer_norm, geglu, rms_norm, rope, swiglu};
pub use linear::{Linear, LinearConfig};
pub use norm::{GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig};

use std::fmt;
use std::str::FromStr;

/// Which implementation the kernel-backed layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
    /// Every value, in the order a command line lists them (what a clap `ValueEnum`
    /// implementation returns from `value_variants`).
    pub const ALL: [Kernels; 2] = [Kernels::Fused, Kernels::Naive];

    /// The name [`FromStr`] accepts and [`fmt::Display`] writes.
    pub const fn as_str(self) -> &'static str {
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

/// A name that is not one of [`Kernels::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown kernel implementation {name:?} (expected {})",
    Kernels::ALL.map(Kernels::as_str).join(" or ")
)]
pub struct UnknownKernels {
    pub name: String,
}

impl FromStr for Kernels {
    type Err = UnknownKernels;

    fn from_str(s: &str) -> Result<Self, UnknownKernels> {
        Kernels::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKernels { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernels_value_round_trips_through_its_name() {
        for k in Kernels::ALL {
            assert_eq!(k.as_str().parse::<Kernels>(), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
        }
    }

    #[test]
    fn an_unknown_name_is_an_error_listing_the_known_ones() {
        let err = "flash".parse::<Kernels>().unwrap_err();
        assert_eq!(err.name, "flash");
        assert_eq!(
            err.to_string(),
            "unknown kernel implementation \"flash\" (expected fused or naive)"
        );
    }
}
