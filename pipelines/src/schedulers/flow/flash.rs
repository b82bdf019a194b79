//! HiDream's FlashFlowMatchEulerDiscreteScheduler (Dev and Fast): the schedule of
//! FlowMatchEuler, but each step jumps to the clean estimate `x0 = x - sigma * v` and
//! re-noises it to `sigma_next` with fresh Gaussian noise. The last step returns `x0`
//! without drawing, so a run of N steps draws N - 1 times.

use super::config::{FlowConfigError, FlowSchedulerConfig};
use super::noise::NoiseSource;
use super::schedule::FlowSchedule;
use super::{FlowScheduler, as_f32, renoise};
use candle_core::{Result, Tensor};

#[derive(Debug, Clone)]
pub struct FlashFlowMatchEuler {
    schedule: FlowSchedule,
    steps: usize,
}

impl FlashFlowMatchEuler {
    pub fn new(
        config: &FlowSchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, FlowConfigError> {
        Ok(Self {
            schedule: FlowSchedule::new(config, steps)?,
            steps,
        })
    }
}

impl FlowScheduler for FlashFlowMatchEuler {
    fn timesteps(&self) -> &[f32] {
        &self.schedule.timesteps
    }

    fn sigmas(&self) -> &[f32] {
        &self.schedule.sigmas
    }

    fn step(
        &mut self,
        velocity: &Tensor,
        timestep: f32,
        sample: &Tensor,
        noise: &mut dyn NoiseSource,
    ) -> Result<Tensor> {
        let i = self.schedule.index(timestep)?;
        let (sigma, next) = self.schedule.pair(i)?;
        let (v, x) = (as_f32(velocity)?, as_f32(sample)?);
        let x0 = (&x - (&v * f64::from(sigma))?)?;
        let out = if i + 1 < self.steps {
            renoise(&x0, next, noise)?
        } else {
            x0
        };
        self.schedule.advance(i);
        out.to_dtype(velocity.dtype())
    }
}
