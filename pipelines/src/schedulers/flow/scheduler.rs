//! The interface every flow-matching scheduler offers the HiDream pipeline.

use super::noise::NoiseSource;
use candle_core::{Result, Tensor};

pub trait FlowScheduler: std::fmt::Debug {
    /// The timesteps to feed the transformer, in order.
    fn timesteps(&self) -> &[f32];
    /// One more than `timesteps`: the sigma after the last step.
    fn sigmas(&self) -> &[f32];
    /// One step from `sample` at `timestep` given the velocity the pipeline computed
    /// (HiDream negates the transformer output first). Output has the velocity's dtype.
    fn step(
        &mut self,
        velocity: &Tensor,
        timestep: f32,
        sample: &Tensor,
        noise: &mut dyn NoiseSource,
    ) -> Result<Tensor>;
}
