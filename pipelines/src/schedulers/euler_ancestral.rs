//! EulerAncestralDiscreteScheduler: an Euler step to `sigma_down`, then fresh noise of
//! scale `sigma_up` drawn from the pipeline's generator after everything drawn before.

use super::config::{FinalSigmas, Prediction, SchedulerClass, SchedulerConfig, SchedulerError};
use super::euler::SigmaSchedule;
use super::euler::delegate_to_sigma_schedule;
use super::scheduler::Scheduler;
use super::sigma_spacing::SigmaSpacing;
use candle_core::{Result, Tensor};
use device::TorchRng;

#[derive(Debug, Clone)]
pub struct EulerAncestral {
    schedule: SigmaSchedule,
    prediction: Prediction,
}

impl EulerAncestral {
    pub fn new(
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, SchedulerError> {
        let class = SchedulerClass::EulerAncestral;
        Ok(Self {
            prediction: class.epsilon_or_v(config.prediction_type)?,
            // This class has neither final_sigmas_type nor the Karras and exponential
            // flags: diffusers ignores them in a config it is built from.
            schedule: SigmaSchedule::new(
                config,
                class,
                steps,
                (SigmaSpacing::AtTimesteps, FinalSigmas::Zero),
            )?,
        })
    }
}

impl Scheduler for EulerAncestral {
    delegate_to_sigma_schedule!();

    fn step(
        &mut self,
        model_output: &Tensor,
        timestep: f64,
        sample: &Tensor,
        rng: &mut TorchRng,
    ) -> Result<Tensor> {
        let i = self.schedule.index(timestep);
        let sigma = self.schedule.sigma(i)?;
        let to = self.schedule.sigma(i + 1)?;
        let x0 = self
            .schedule
            .denoised(self.prediction, model_output, sample, sigma)?;
        let up = (to * to * (sigma * sigma - to * to) / (sigma * sigma)).sqrt();
        let down = (to * to - up * up).sqrt();
        let derivative = ((sample - x0)? / f64::from(sigma))?;
        let prev = (sample + (derivative * f64::from(down - sigma))?)?;
        let noise = Tensor::from_vec(
            rng.randn_f32(model_output.elem_count()),
            model_output.shape(),
            model_output.device(),
        )?
        .to_dtype(model_output.dtype())?;
        self.schedule.advance(i);
        prev + (noise * f64::from(up))?
    }
}
