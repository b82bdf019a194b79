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
mod error;
pub mod hooks;
pub mod tome;

pub use cfg_parallel::CfgParallel;
pub use deepcache::{DeepCacheOptions, DeepCacheRun};
pub use deviation::{Deviation, deviation};
pub use error::AccelError;
pub use hooks::StepHooks;
pub use tome::{TomeOptions, TomeRun};

use std::sync::Arc;

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
