//! FlowMatchEulerDiscreteScheduler: `x + (sigma_next - sigma) * v`, or with
//! `stochastic_sampling` the clean estimate re-noised to `sigma_next`.

use super::config::{FlowConfigError, FlowSchedulerConfig};
use super::noise::NoiseSource;
use super::schedule::FlowSchedule;
use super::scheduler::FlowScheduler;
use super::step_math::renoise;
use candle_core::{Result, Tensor};

#[derive(Debug, Clone)]
pub struct FlowMatchEuler {
    schedule: FlowSchedule,
    stochastic: bool,
}

impl FlowMatchEuler {
    pub fn new(
        config: &FlowSchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, FlowConfigError> {
        Ok(Self {
            schedule: FlowSchedule::new(config, steps)?,
            stochastic: config.stochastic_sampling,
        })
    }
}

impl FlowScheduler for FlowMatchEuler {
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
        let stochastic = self.stochastic;
        self.schedule
            .step_with(velocity, timestep, sample, |_, sigma, next, x, v| {
                if stochastic {
                    // This class draws on every step, the last one included.
                    let x0 = (x - (v * f64::from(sigma))?)?;
                    renoise(&x0, next, noise)
                } else {
                    x + (v * f64::from(next - sigma))?
                }
            })
    }
}
