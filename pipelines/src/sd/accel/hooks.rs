//! The per-generation state the UNet threads through its blocks, so accelerations keep
//! their caches and merge plans from step to step without the model knowing which run it is.

use super::deepcache::DeepCacheRun;
use super::tome::TomeRun;

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
