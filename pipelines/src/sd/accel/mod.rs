//! Accelerations of the SD UNet: Token Merging (tomesd), DeepCache, and classifier-free
//! guidance split across two devices. [`Accelerations`] names a combination; the pipeline
//! turns it into per-generation state ([`StepHooks`]) that the UNet threads through its
//! blocks, so a benchmark or a caller switches variants without touching model code.
//!
//! ```
//! use pipelines::sd::accel::Accelerations;
//! let tome = Accelerations::from_name("tome_0.5").unwrap();
//! assert_eq!(tome.tome.unwrap().ratio, 0.5);
//! let cached = Accelerations::from_name("deepcache_3").unwrap();
//! assert_eq!(cached.deepcache.unwrap().interval, 3);
//! assert_eq!(Accelerations::from_name("tome_0.5+deepcache_3_1").unwrap().name(), "tome_0.5+deepcache_3_1");
//! ```

pub mod cfg_parallel;
pub mod deepcache;
pub mod deviation;
pub mod tome;

pub use cfg_parallel::CfgParallel;
pub use deepcache::{DeepCacheOptions, DeepCacheRun};
pub use deviation::{Deviation, deviation};
pub use tome::{TomeOptions, TomeRun};

use crate::config::ConfigError;
use std::sync::Arc;

/// Why acceleration options or a run name cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccelError {
    #[error("token merging ratio {0} is outside [0, {max}]", max = tome::MAX_RATIO)]
    TomeRatio(f64),
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

/// Which accelerations a generation uses. `Default` is the plain pipeline.
#[derive(Debug, Clone, Default)]
pub struct Accelerations {
    pub tome: Option<TomeOptions>,
    pub deepcache: Option<DeepCacheOptions>,
    /// Uncond and cond halves of every CFG step on two workers at once.
    pub cfg_parallel: Option<Arc<CfgParallel>>,
}

impl Accelerations {
    /// Parses benchmark run names: `baseline`, `tome_R`, `deepcache_N` or
    /// `deepcache_N_B`, joined with `+` (`tome_0.5+deepcache_3`). Token merging from a
    /// name uses top-left destinations (reproducible); CFG-parallel needs devices and is
    /// set separately.
    pub fn from_name(name: &str) -> Result<Self, AccelError> {
        let in_run = |error| AccelError::Run {
            name: name.to_string(),
            error: Box::new(error),
        };
        let mut accel = Self::default();
        for part in name.split('+') {
            if part == "baseline" {
                continue;
            } else if let Some(ratio) = part.strip_prefix("tome_") {
                let ratio: f64 = ratio
                    .parse()
                    .map_err(|_| in_run(AccelError::NotARatio(ratio.to_string())))?;
                accel.tome = Some(TomeOptions::new(ratio).map_err(in_run)?);
            } else if let Some(rest) = part.strip_prefix("deepcache_") {
                let spec = rest.replacen('_', ":", 1);
                accel.deepcache = Some(DeepCacheOptions::parse(&spec).map_err(in_run)?);
            } else {
                return Err(AccelError::UnknownRun {
                    part: part.to_string(),
                    name: name.to_string(),
                });
            }
        }
        Ok(accel)
    }

    /// The inverse of [`Accelerations::from_name`] (CFG-parallel adds `+cfg_parallel`).
    pub fn name(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.tome {
            parts.push(format!("tome_{}", t.ratio));
        }
        if let Some(d) = &self.deepcache {
            parts.push(if d.branch == 0 {
                format!("deepcache_{}", d.interval)
            } else {
                format!("deepcache_{}_{}", d.interval, d.branch)
            });
        }
        if self.cfg_parallel.is_some() {
            parts.push("cfg_parallel".to_string());
        }
        if parts.is_empty() {
            "baseline".to_string()
        } else {
            parts.join("+")
        }
    }

    /// Fresh per-generation state for one UNet lane. `logical_batch`: the batch the
    /// sequential run would have had, when this lane sees only part of it.
    pub fn hooks(&self, logical_batch: Option<usize>) -> StepHooks {
        StepHooks {
            tome: self.tome.map(|o| TomeRun::new(o, logical_batch)),
            deepcache: self.deepcache.map(DeepCacheRun::new),
        }
    }
}

/// Per-generation state one UNet lane carries from step to step.
#[derive(Debug, Clone, Default)]
pub struct StepHooks {
    pub tome: Option<TomeRun>,
    pub deepcache: Option<DeepCacheRun>,
}

impl StepHooks {
    /// Call before each UNet evaluation with the timestep's first position in the
    /// scheduler's timestep list.
    pub fn begin_step(&mut self, step: usize) {
        if let Some(cache) = &mut self.deepcache {
            cache.begin_step(step);
        }
    }
}
