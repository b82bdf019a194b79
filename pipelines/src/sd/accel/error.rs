//! Why acceleration options or a run name cannot be used.

use crate::config::ConfigError;

/// Why acceleration options or a run name cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccelError {
    #[error("token merging ratio {ratio} is outside [0, {max}]")]
    TomeRatio { ratio: f64, max: f64 },
    #[error("DeepCache interval must be at least 1")]
    DeepCacheInterval,
    #[error("{what} {text:?} is not a non-negative integer")]
    NotANumber { what: &'static str, text: String },
    #[error(
        "DeepCache branch {branch} does not exist in this UNet ({blocks} blocks; branch b means block b / 3, layer b % 3)"
    )]
    NoSuchBranch { branch: usize, blocks: usize },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0:?} is not a ratio")]
    NotARatio(String),
    /// A refused part of a run name: `error` says why, and the whole name says which run,
    /// since a benchmark takes several.
    #[error("run {name:?}: {error}")]
    Run {
        name: String,
        error: Box<AccelError>,
    },
    #[error(
        "unknown run {part:?} in {name:?} (expected baseline, tome_R, deepcache_N or deepcache_N_B, joined by +)"
    )]
    UnknownRun { part: String, name: String },
}
