//! HiDream's FlashFlowMatchEulerDiscreteScheduler (Dev and Fast): the schedule of
//! FlowMatchEuler, but each step jumps to the clean estimate `x0 = x - sigma * v` and
//! re-noises it to `sigma_next` with fresh Gaussian noise. The last step returns `x0`
//! without drawing, so a run of N steps draws N - 1 times.

use super::config::{FlowConfigError, FlowSchedulerConfig};
use super::noise::NoiseSource;
use super::schedule::FlowSchedule;
use super::scheduler::FlowScheduler;
use super::step_math::renoise;
use candle_core::{Result, Tensor};

#[derive(Debug, Clone)]
pub struct FlashFlowMatchEuler {
    schedule: FlowSchedule,
}

impl FlashFlowMatchEuler {
    pub fn new(
        config: &FlowSchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, FlowConfigError> {
        Ok(Self {
            schedule: FlowSchedule::new(config, steps)?,
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
        let steps = self.schedule.timesteps.len();
        self.schedule
            .step_with(velocity, timestep, sample, |i, sigma, next, x, v| {
                let x0 = (x - (v * f64::from(sigma))?)?;
                // The last step returns x0 without a draw.
                if i + 1 < steps {
                    renoise(&x0, next, noise)
                } else {
                    Ok(x0)
                }
            })
    }
}
