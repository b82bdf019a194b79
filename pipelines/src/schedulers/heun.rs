//! HeunDiscreteScheduler: Heun's second-order method in sigma space. Each step but the last
//! takes two model evaluations, an Euler predictor and a corrector that averages the two
//! slopes, so the schedule lists every timestep after the first twice.

use super::config::{FinalSigmas, Prediction, SchedulerClass, SchedulerConfig, SchedulerError};
use super::euler::SigmaSchedule;
use super::euler::delegate_to_sigma_schedule;
use super::scheduler::Scheduler;
use super::sigma_spacing::SigmaSpacing;
use candle_core::{Result, Tensor};
use device::TorchRng;

#[derive(Debug, Clone)]
pub struct Heun {
    schedule: SigmaSchedule,
    prediction: Prediction,
    clip: Option<f64>,
    /// Between a predictor and its corrector: the predictor's slope, step and start sample.
    pending: Option<(Tensor, f32, Tensor)>,
}

impl Heun {
    pub fn new(
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, SchedulerError> {
        let class = SchedulerClass::Heun;
        let spacing = SigmaSpacing::from_config(config, class)?;
        let single = SigmaSchedule::new(config, class, steps, (spacing, FinalSigmas::Zero))?;
        Ok(Self {
            schedule: single.doubled(),
            prediction: config.prediction_type,
            clip: config
                .clips_sample(class)
                .then_some(config.clip_sample_range),
            pending: None,
        })
    }
}

impl Scheduler for Heun {
    delegate_to_sigma_schedule!();

    fn order(&self) -> usize {
        2
    }

    fn step(
        &mut self,
        model_output: &Tensor,
        timestep: f64,
        sample: &Tensor,
        _: &mut TorchRng,
    ) -> Result<Tensor> {
        let i = self.schedule.index(timestep);
        let predictor = self.pending.is_none();
        // The predictor evaluates the model at its own sigma, the corrector at the next one.
        let (sigma, next) = if predictor {
            (self.schedule.sigma(i)?, self.schedule.sigma(i + 1)?)
        } else {
            (self.schedule.sigma(i - 1)?, self.schedule.sigma(i)?)
        };
        let at = if predictor { sigma } else { next };
        let mut x0 = self
            .schedule
            .denoised(self.prediction, model_output, sample, at)?;
        if let Some(range) = self.clip {
            x0 = x0.clamp(-range, range)?;
        }
        let slope = ((sample - x0)? / f64::from(at))?;
        let out = match self.pending.take() {
            None => {
                let dt = next - sigma;
                let out = (sample + (&slope * f64::from(dt))?)?;
                self.pending = Some((slope, dt, sample.clone()));
                out
            }
            Some((first, dt, start)) => {
                let mean = ((first + slope)? / 2.0)?;
                (start + (mean * f64::from(dt))?)?
            }
        };
        self.schedule.advance(i);
        Ok(out)
    }
}
