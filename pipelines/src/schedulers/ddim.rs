//! DDIMScheduler (eta = 0, the pipelines' default).

use super::config::{Prediction, SchedulerClass, SchedulerConfig, SchedulerError, Spacing};
use super::schedule_math::{
    add_noise_alpha, alpha_at, arange_down_rounded, linspace_f64, round_half_even,
};
use super::scheduler::Scheduler;
use candle_core::{Result, Tensor};
use device::TorchRng;

#[derive(Debug, Clone)]
pub struct Ddim {
    alphas_cumprod: Vec<f32>,
    final_alpha_cumprod: f32,
    timesteps: Vec<f64>,
    step_ratio: usize,
    prediction: Prediction,
    clip_sample: Option<f64>,
}

impl Ddim {
    pub fn new(
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, SchedulerError> {
        let class = SchedulerClass::Ddim;
        let alphas_cumprod = config.alphas_cumprod(class, steps)?;
        let train = alphas_cumprod.len();
        class.reject_flags(&[("thresholding", config.thresholding)])?;
        let offset = config.steps_offset as f64;
        let timesteps: Vec<f64> = match config.spacing(class) {
            Spacing::Linspace => linspace_f64(0.0, (train - 1) as f64, steps)
                .into_iter()
                .rev()
                .map(round_half_even)
                .collect(),
            Spacing::Leading => {
                let ratio = train / steps;
                (0..steps)
                    .rev()
                    .map(|i| (i * ratio) as f64 + offset)
                    .collect()
            }
            Spacing::Trailing => arange_down_rounded(train as f64, train as f64 / steps as f64)
                .into_iter()
                .map(|t| t - 1.0)
                .collect(),
        };
        let final_alpha_cumprod = if config.alpha_to_one(class) {
            1.0
        } else {
            alphas_cumprod[0]
        };
        let clip_sample = config
            .clips_sample(class)
            .then_some(config.clip_sample_range);
        Ok(Self {
            final_alpha_cumprod,
            timesteps,
            // diffusers uses this ratio for the previous timestep whatever the spacing.
            step_ratio: train / steps,
            prediction: config.prediction_type,
            clip_sample,
            alphas_cumprod,
        })
    }
}

impl Scheduler for Ddim {
    fn timesteps(&self) -> &[f64] {
        &self.timesteps
    }

    fn step(
        &mut self,
        model_output: &Tensor,
        timestep: f64,
        sample: &Tensor,
        _: &mut TorchRng,
    ) -> Result<Tensor> {
        let prev = timestep - self.step_ratio as f64;
        let a_t = alpha_at(&self.alphas_cumprod, timestep)?;
        let a_prev = if prev >= 0.0 {
            alpha_at(&self.alphas_cumprod, prev)?
        } else {
            self.final_alpha_cumprod
        };
        let b_t = 1.0 - a_t;
        let (sa, sb) = (f64::from(a_t.sqrt()), f64::from(b_t.sqrt()));
        let (x0, eps) = match self.prediction {
            Prediction::Epsilon => (
                ((sample - (model_output * sb)?)? / sa)?,
                model_output.clone(),
            ),
            Prediction::VPrediction => (
                ((sample * sa)? - (model_output * sb)?)?,
                ((model_output * sa)? + (sample * sb)?)?,
            ),
            Prediction::Sample => (
                model_output.clone(),
                ((sample - (model_output * sa)?)? / sb)?,
            ),
        };
        let x0 = match self.clip_sample {
            Some(r) => x0.clamp(-r, r)?,
            None => x0,
        };
        let dir = (eps * f64::from((1.0 - a_prev).sqrt()))?;
        (x0 * f64::from(a_prev.sqrt()))? + dir
    }

    fn add_noise(&self, original: &Tensor, noise: &Tensor, timestep: f64) -> Result<Tensor> {
        add_noise_alpha(&self.alphas_cumprod, original, noise, timestep)
    }
}
