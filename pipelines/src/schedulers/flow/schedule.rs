//! The sigma/timestep schedule of FlowMatchEulerDiscreteScheduler (shared by the flash
//! variant, whose `set_timesteps` is the same code), and the step counter both keep.

use super::config::{FlowConfigError, FlowSchedulerConfig};
use super::step_math::as_f32;
use crate::schedulers::schedule_math::linspace_f64;
use candle_core::Tensor;

#[derive(Debug, Clone)]
pub struct FlowSchedule {
    /// `sigma * num_train_timesteps`, as float32.
    pub timesteps: Vec<f32>,
    /// One more than `timesteps`: the final 0.
    pub sigmas: Vec<f32>,
    step_index: Option<usize>,
}

/// `shift * s / (1 + (shift - 1) * s)`, the static time shift.
/// In float32 as torch computes it on a tensor (the Python scalars rounded to float32).
fn shift_f32(shift: f64, s: f32) -> f32 {
    shift as f32 * s / (1.0 + (shift - 1.0) as f32 * s)
}

impl FlowSchedule {
    /// What `set_timesteps(steps)` leaves behind (mu is only read with dynamic shifting,
    /// which `reject_unported_sigmas` refuses).
    pub fn new(config: &FlowSchedulerConfig, steps: usize) -> Result<Self, FlowConfigError> {
        config.reject_unported_sigmas()?;
        config.check_counts(steps)?;
        if !(config.shift.is_finite() && config.shift > 0.0) {
            return Err(FlowConfigError::Invalid(format!(
                "shift must be a positive number, not {}",
                config.shift
            )));
        }
        let train = config.num_train_timesteps;
        // The constructor's training sigmas are float32 torch ops, already shifted once;
        // set_timesteps then interpolates between their ends and shifts again in float64.
        // The double shift is diffusers' behaviour, kept on purpose.
        let shift = config.shift;
        // The first training sigma is train / train = 1.
        let sigma_max = f64::from(shift_f32(shift, 1.0));
        let sigma_min = f64::from(shift_f32(shift, 1.0 / train as f32));
        let n = train as f64;
        let sigmas: Vec<f32> = linspace_f64(sigma_max * n, sigma_min * n, steps)
            .into_iter()
            .map(|t| {
                let s = t / n;
                (shift * s / (1.0 + (shift - 1.0) * s)) as f32
            })
            .collect();
        let timesteps = sigmas.iter().map(|s| s * train as f32).collect();
        let mut sigmas = sigmas;
        sigmas.push(0.0);
        Ok(Self {
            timesteps,
            sigmas,
            step_index: None,
        })
    }

    /// The index of the step about to be taken: from the counter once stepping started,
    /// otherwise looked up like diffusers' `index_for_timestep` (second match if repeated).
    pub fn index(&self, timestep: f32) -> candle_core::Result<usize> {
        if let Some(i) = self.step_index {
            return Ok(i);
        }
        let hits: Vec<usize> = (0..self.timesteps.len())
            .filter(|&i| self.timesteps[i] == timestep)
            .collect();
        match hits.as_slice() {
            [] => candle_core::bail!("timestep {timestep} is not in the scheduler's schedule"),
            [only] => Ok(*only),
            [_, second, ..] => Ok(*second),
        }
    }

    /// `(sigma, sigma_next)` for step `index`.
    pub fn pair(&self, index: usize) -> candle_core::Result<(f32, f32)> {
        match (self.sigmas.get(index), self.sigmas.get(index + 1)) {
            (Some(&a), Some(&b)) => Ok((a, b)),
            _ => candle_core::bail!("step {index} is past the end of the schedule"),
        }
    }

    pub fn advance(&mut self, index: usize) {
        self.step_index = Some(index + 1);
    }

    /// One step of a single-step (Euler-family) scheduler: finds the step, hands
    /// `update(index, sigma, sigma_next, x, v)` the f32 sample and velocity, advances the
    /// counter and returns the result in the velocity's dtype.
    pub fn step_with(
        &mut self,
        velocity: &Tensor,
        timestep: f32,
        sample: &Tensor,
        update: impl FnOnce(usize, f32, f32, &Tensor, &Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<Tensor> {
        let i = self.index(timestep)?;
        let (sigma, next) = self.pair(i)?;
        let out = update(i, sigma, next, &as_f32(sample)?, &as_f32(velocity)?)?;
        self.advance(i);
        out.to_dtype(velocity.dtype())
    }
}
