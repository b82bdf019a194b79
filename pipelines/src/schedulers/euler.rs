//! EulerDiscreteScheduler (deterministic: s_churn = 0, the pipelines' default), with the
//! training, Karras or exponential sigma spacing.

use super::config::{
    FinalSigmas, Interpolation, Prediction, SchedulerClass, SchedulerConfig, SchedulerError,
    Spacing, TimestepType,
};
use super::schedule_math::{
    arange_down_rounded, index_for_timestep, interp, linspace_f64, train_sigmas,
};
use super::scheduler::Scheduler;
use super::sigma_spacing::{SigmaSpacing, log_sigmas, sigma_to_t};
use candle_core::{Result, Tensor};
use device::TorchRng;

/// The sigma-space schedule shared by the Euler samplers and Heun.
#[derive(Debug, Clone)]
pub struct SigmaSchedule {
    pub timesteps: Vec<f64>,
    /// One more than `timesteps`: the final sigma.
    pub sigmas: Vec<f32>,
    pub init_noise_sigma: f64,
    /// Set after the first step, or by `begin_at`; before either, the index is looked up
    /// from the timestep, as diffusers does.
    step_index: Option<usize>,
}

impl SigmaSchedule {
    /// The index of the step for `timestep`.
    pub fn index(&self, timestep: f64) -> usize {
        self.step_index
            .unwrap_or_else(|| index_for_timestep(&self.timesteps, timestep))
    }

    /// The next step is at `index` (see [`Scheduler::begin_at`]).
    pub fn begin_at(&mut self, index: usize) {
        self.step_index = Some(index);
    }

    /// Records that step `index` was taken.
    pub fn advance(&mut self, index: usize) {
        self.step_index = Some(index + 1);
    }

    /// `class`'s schedule (Euler, ancestral Euler or Heun), spaced by `spacing` and ending at
    /// `final_sigmas`.
    pub fn new(
        config: &SchedulerConfig,
        class: SchedulerClass,
        steps: usize,
        (spacing, final_sigmas): (SigmaSpacing, FinalSigmas),
    ) -> std::result::Result<Self, SchedulerError> {
        let alphas = config.alphas_cumprod(class, steps)?;
        let train = alphas.len();
        let timestep_spacing = config.spacing(class);
        // numpy builds these in f64 and diffusers stores them as float32.
        let raw: Vec<f64> = match timestep_spacing {
            Spacing::Linspace => linspace_f64(0.0, (train - 1) as f64, steps)
                .into_iter()
                .rev()
                .collect(),
            Spacing::Leading => {
                let ratio = train / steps;
                let offset = config.steps_offset as f64;
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
        let timesteps: Vec<f64> = raw.iter().map(|&t| f64::from(t as f32)).collect();
        let table = train_sigmas(&alphas);
        let at_timesteps: Vec<f64> = timesteps.iter().map(|&t| interp(t, &table)).collect();
        // A Karras or exponential schedule spans the interpolated one's ends; the model is
        // then fed the fractional timesteps of its sigmas.
        let ends = (at_timesteps[at_timesteps.len() - 1], at_timesteps[0]);
        let (timesteps, body) = match spacing.sigmas(config, ends, steps) {
            None => (timesteps, at_timesteps),
            Some(sigmas) => {
                let logs = log_sigmas(&table);
                let t = sigmas
                    .iter()
                    .map(|&s| f64::from(sigma_to_t(s, &logs) as f32))
                    .collect();
                (t, sigmas)
            }
        };
        let last = match final_sigmas {
            FinalSigmas::Zero => 0.0,
            FinalSigmas::SigmaMin => table[0],
        };
        let mut sigmas: Vec<f32> = body.iter().map(|&s| s as f32).collect();
        sigmas.push(last);
        let max = sigmas.iter().copied().fold(0.0f32, f32::max);
        let init_noise_sigma = match timestep_spacing {
            Spacing::Linspace | Spacing::Trailing => f64::from(max),
            Spacing::Leading => f64::from((max * max + 1.0).sqrt()),
        };
        Ok(Self {
            timesteps,
            sigmas,
            init_noise_sigma,
            step_index: None,
        })
    }

    /// Heun's schedule from this one: every timestep after the first twice, and every sigma
    /// but the first and the final one twice, so that each step's second (corrector)
    /// evaluation has its own entry.
    pub fn doubled(&self) -> Self {
        let mut timesteps = vec![self.timesteps[0]];
        let mut sigmas = vec![self.sigmas[0]];
        for &t in &self.timesteps[1..] {
            timesteps.extend([t, t]);
        }
        for &s in &self.sigmas[1..self.sigmas.len() - 1] {
            sigmas.extend([s, s]);
        }
        sigmas.push(self.sigmas[self.sigmas.len() - 1]);
        Self {
            timesteps,
            sigmas,
            init_noise_sigma: self.init_noise_sigma,
            step_index: None,
        }
    }

    pub fn scale(&self, sample: &Tensor, index: usize) -> Result<Tensor> {
        let sigma = self.sigma(index)?;
        sample / f64::from((sigma * sigma + 1.0).sqrt())
    }

    pub fn sigma(&self, index: usize) -> Result<f32> {
        self.sigmas.get(index).copied().ok_or_else(|| {
            candle_core::Error::msg(format!("step {index} is past the end of the schedule"))
        })
    }

    /// The model's clean-sample estimate (`pred_original_sample`).
    pub fn denoised(
        &self,
        prediction: Prediction,
        model_output: &Tensor,
        sample: &Tensor,
        sigma: f32,
    ) -> Result<Tensor> {
        match prediction {
            Prediction::Epsilon => sample - (model_output * f64::from(sigma))?,
            Prediction::VPrediction => {
                let c_out = -sigma / (sigma * sigma + 1.0).sqrt();
                (model_output * f64::from(c_out))? + (sample / f64::from(sigma * sigma + 1.0))?
            }
            Prediction::Sample => Ok(model_output.clone()),
        }
    }

    pub fn add_noise(&self, original: &Tensor, noise: &Tensor, timestep: f64) -> Result<Tensor> {
        let sigma = self.sigma(self.index(timestep))?;
        original + (noise * f64::from(sigma))?
    }
}

#[derive(Debug, Clone)]
pub struct Euler {
    schedule: SigmaSchedule,
    prediction: Prediction,
}

impl Euler {
    pub fn new(
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, SchedulerError> {
        let class = SchedulerClass::Euler;
        // Only this class reads these two keys (ancestral Euler and Heun do not).
        class.only(config.interpolation_type, Interpolation::Linear)?;
        class.only(config.timestep_type, TimestepType::Discrete)?;
        Ok(Self {
            schedule: SigmaSchedule::new(
                config,
                class,
                steps,
                (
                    SigmaSpacing::from_config(config, class)?,
                    config.final_sigmas_type,
                ),
            )?,
            prediction: config.prediction_type,
        })
    }
}

/// The `Scheduler` methods every sampler stepping along a [`SigmaSchedule`] (held in a
/// field named `schedule`) answers from it; each sampler then writes only its `step`.
macro_rules! delegate_to_sigma_schedule {
    () => {
        fn timesteps(&self) -> &[f64] {
            &self.schedule.timesteps
        }

        fn sigmas(&self) -> &[f32] {
            &self.schedule.sigmas
        }

        fn init_noise_sigma(&self) -> f64 {
            self.schedule.init_noise_sigma
        }

        fn scale_model_input(
            &self,
            sample: &candle_core::Tensor,
            timestep: f64,
        ) -> candle_core::Result<candle_core::Tensor> {
            self.schedule.scale(sample, self.schedule.index(timestep))
        }

        fn begin_at(&mut self, index: usize) {
            self.schedule.begin_at(index);
        }

        fn add_noise(
            &self,
            original: &candle_core::Tensor,
            noise: &candle_core::Tensor,
            timestep: f64,
        ) -> candle_core::Result<candle_core::Tensor> {
            self.schedule.add_noise(original, noise, timestep)
        }
    };
}
pub(crate) use delegate_to_sigma_schedule;

impl Scheduler for Euler {
    delegate_to_sigma_schedule!();

    fn step(
        &mut self,
        model_output: &Tensor,
        timestep: f64,
        sample: &Tensor,
        _: &mut TorchRng,
    ) -> Result<Tensor> {
        let i = self.schedule.index(timestep);
        let sigma = self.schedule.sigma(i)?;
        let next = self.schedule.sigma(i + 1)?;
        let x0 = self
            .schedule
            .denoised(self.prediction, model_output, sample, sigma)?;
        let derivative = ((sample - x0)? / f64::from(sigma))?;
        let out = (sample + (derivative * f64::from(next - sigma))?)?;
        self.schedule.advance(i);
        Ok(out)
    }
}
