//! PNDMScheduler with `skip_prk_steps` (SD 2.1-base's scheduler): linear multistep (PLMS)
//! on up to four past model outputs.

use super::config::{Prediction, SchedulerClass, SchedulerConfig, SchedulerError, Spacing};
use super::schedule_math::{
    add_noise_alpha, alpha_at, arange_down_rounded, linspace_f64, round_half_even,
};
use super::scheduler::Scheduler;
use candle_core::{Result, Tensor};
use device::TorchRng;

#[derive(Debug, Clone)]
pub struct Pndm {
    alphas_cumprod: Vec<f32>,
    final_alpha_cumprod: f32,
    timesteps: Vec<f64>,
    step_ratio: f64,
    prediction: Prediction,
    ets: Vec<Tensor>,
    counter: usize,
    cur_sample: Option<Tensor>,
}

impl Pndm {
    pub fn new(
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, SchedulerError> {
        let class = SchedulerClass::Pndm;
        // SD 2.x ships PNDM with skip_prk_steps; the Runge-Kutta warm-up is not ported.
        if !config.skip_prk_steps {
            return Err(class.unsupported("skip_prk_steps", false, "true"));
        }
        let prediction = class.epsilon_or_v(config.prediction_type)?;
        let alphas_cumprod = config.alphas_cumprod(class, steps)?;
        let train = alphas_cumprod.len();
        let ascending: Vec<f64> = match config.spacing(class) {
            Spacing::Linspace => linspace_f64(0.0, (train - 1) as f64, steps)
                .into_iter()
                .map(round_half_even)
                .collect(),
            Spacing::Leading => {
                let offset = config.steps_offset as f64;
                (0..steps)
                    .map(|i| (i * (train / steps)) as f64 + offset)
                    .collect()
            }
            Spacing::Trailing => arange_down_rounded(train as f64, train as f64 / steps as f64)
                .into_iter()
                .rev()
                .map(|t| t - 1.0)
                .collect(),
        };
        // plms timesteps: every timestep but the last, the second-to-last again, the last;
        // then reversed.
        let n = ascending.len();
        let mut plms: Vec<f64> = ascending[..n - 1].to_vec();
        plms.push(ascending[n - 2]);
        plms.push(ascending[n - 1]);
        plms.reverse();
        let final_alpha_cumprod = if config.alpha_to_one(class) {
            1.0
        } else {
            alphas_cumprod[0]
        };
        Ok(Self {
            final_alpha_cumprod,
            timesteps: plms,
            step_ratio: (train / steps) as f64,
            prediction,
            ets: Vec::new(),
            counter: 0,
            cur_sample: None,
            alphas_cumprod,
        })
    }

    fn prev_sample(
        &self,
        sample: &Tensor,
        t: f64,
        prev: f64,
        model_output: &Tensor,
    ) -> Result<Tensor> {
        let a_t = alpha_at(&self.alphas_cumprod, t)?;
        let a_prev = if prev >= 0.0 {
            alpha_at(&self.alphas_cumprod, prev)?
        } else {
            self.final_alpha_cumprod
        };
        let (b_t, b_prev) = (1.0 - a_t, 1.0 - a_prev);
        let model_output = match self.prediction {
            Prediction::VPrediction => {
                ((model_output * f64::from(a_t.sqrt()))? + (sample * f64::from(b_t.sqrt()))?)?
            }
            _ => model_output.clone(),
        };
        let sample_coeff = (a_prev / a_t).sqrt();
        let denom = a_t * b_prev.sqrt() + (a_t * b_t * a_prev).sqrt();
        (sample * f64::from(sample_coeff))? - (model_output * f64::from((a_prev - a_t) / denom))?
    }
}

impl Scheduler for Pndm {
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
        let (mut t, mut prev) = (timestep, timestep - self.step_ratio);
        if self.counter != 1 {
            let keep = self.ets.len().saturating_sub(3);
            self.ets.drain(..keep);
            self.ets.push(model_output.clone());
        } else {
            prev = timestep;
            t = timestep + self.step_ratio;
        }
        let mut sample = sample.clone();
        let e = &self.ets;
        let combined = match (e.len(), self.counter) {
            (1, 0) => {
                self.cur_sample = Some(sample.clone());
                model_output.clone()
            }
            (1, 1) => {
                if let Some(cur) = self.cur_sample.take() {
                    sample = cur;
                }
                ((model_output + &e[0])? / 2.0)?
            }
            (2, _) => (((&e[1] * 3.0)? - &e[0])? / 2.0)?,
            (3, _) => ((((&e[2] * 23.0)? - (&e[1] * 16.0)?)? + (&e[0] * 5.0)?)? / 12.0)?,
            _ => {
                let n = e.len();
                let sum = ((((&e[n - 1] * 55.0)? - (&e[n - 2] * 59.0)?)? + (&e[n - 3] * 37.0)?)?
                    - (&e[n - 4] * 9.0)?)?;
                (sum / 24.0)?
            }
        };
        let out = self.prev_sample(&sample, t, prev, &combined)?;
        self.counter += 1;
        Ok(out)
    }

    fn add_noise(&self, original: &Tensor, noise: &Tensor, timestep: f64) -> Result<Tensor> {
        add_noise_alpha(&self.alphas_cumprod, original, noise, timestep)
    }
}
