//! Noise schedulers matching diffusers 0.42: timesteps from `set_timesteps`, and `step`
//! on candle tensors. Each is configured from `scheduler_config.json`; keys a config leaves
//! out take that scheduler class's own diffusers default.

pub mod config;
pub mod ddim;
pub mod dpm_solver;
pub mod euler;
pub mod euler_ancestral;
pub mod flow;
pub mod pndm;

pub use config::{
    AlgorithmType, BetaSchedule, ClosedSet, FinalSigmas, Interpolation, Prediction, SchedulerClass,
    SchedulerConfig, SchedulerError, SolverType, Spacing, TimestepType, VarianceType,
};

use candle_core::{Result, Tensor};
use device::TorchRng;

/// torch.linspace for float32: the first half counts up from `start`, the second half
/// down from `end`, each in f32.
pub fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f32;
    let half = steps / 2;
    (0..steps)
        .map(|i| {
            if i < half {
                start + step * i as f32
            } else {
                end - step * (steps - 1 - i) as f32
            }
        })
        .collect()
}

/// numpy.linspace in f64.
pub fn linspace_f64(start: f64, end: f64, steps: usize) -> Vec<f64> {
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f64;
    (0..steps)
        .map(|i| {
            if i + 1 == steps {
                end
            } else {
                start + step * i as f64
            }
        })
        .collect()
}

/// `np.round(np.arange(start, 0, -step))`: descending, start included, 0 excluded.
pub fn arange_down_rounded(start: f64, step: f64) -> Vec<f64> {
    let count = (start / step).ceil() as usize;
    (0..count)
        .map(|k| round_half_even(start - k as f64 * step))
        .collect()
}

/// `np.interp` of `values` sampled at 0, 1, 2, ...
pub fn interp(x: f64, values: &[f32]) -> f64 {
    let last = values.len().saturating_sub(1);
    if x <= 0.0 {
        return values.first().copied().map_or(0.0, f64::from);
    }
    if x >= last as f64 {
        return values.get(last).copied().map_or(0.0, f64::from);
    }
    let j = x.floor() as usize;
    let (a, b) = (f64::from(values[j]), f64::from(values[j + 1]));
    (b - a) * (x - j as f64) + a
}

/// `((1 - a) / a) ** 0.5` per training step, in f32 as torch computes it.
pub fn train_sigmas(alphas_cumprod: &[f32]) -> Vec<f32> {
    alphas_cumprod
        .iter()
        .map(|a| ((1.0 - a) / a).sqrt())
        .collect()
}

/// Position of `t` in a schedule; like diffusers' `index_for_timestep`, a repeated value
/// maps to its second occurrence and an absent one to the last index.
pub fn index_for_timestep(timesteps: &[f64], t: f64) -> usize {
    let hits: Vec<usize> = (0..timesteps.len())
        .filter(|&i| timesteps[i] == t)
        .collect();
    match hits.as_slice() {
        [] => timesteps.len().saturating_sub(1),
        [only] => *only,
        [_, second, ..] => *second,
    }
}

/// numpy's round-half-to-even, which diffusers applies to timesteps.
pub fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// The shared interface of every scheduler, as the pipeline drives it.
pub trait Scheduler: std::fmt::Debug {
    fn timesteps(&self) -> &[f64];
    /// Scale of the initial noise: 1 for DDPM-family schedulers, sigma_max for Euler ones.
    fn init_noise_sigma(&self) -> f64 {
        1.0
    }
    /// DDPM-family schedulers feed the sample to the UNet unchanged; Euler ones rescale it.
    fn scale_model_input(&self, sample: &Tensor, _timestep: f64) -> Result<Tensor> {
        Ok(sample.clone())
    }
    /// One denoising step; `rng` is the pipeline's generator (only ancestral samplers
    /// draw from it).
    fn step(
        &mut self,
        model_output: &Tensor,
        timestep: f64,
        sample: &Tensor,
        rng: &mut TorchRng,
    ) -> Result<Tensor>;
    /// Forward diffusion of clean latents to `timestep` (img2img).
    fn add_noise(&self, original: &Tensor, noise: &Tensor, timestep: f64) -> Result<Tensor>;
}

/// `sqrt(a) * x0 + sqrt(1 - a) * noise` as DDPM-family schedulers' add_noise, in f32.
pub fn add_noise_alpha(
    alphas_cumprod: &[f32],
    original: &Tensor,
    noise: &Tensor,
    timestep: f64,
) -> Result<Tensor> {
    let a = alpha_at(alphas_cumprod, timestep)?;
    (original * f64::from(a.sqrt()))? + (noise * f64::from((1.0 - a).sqrt()))?
}

pub fn alpha_at(alphas_cumprod: &[f32], timestep: f64) -> Result<f32> {
    if timestep < 0.0 {
        candle_core::bail!("timestep {timestep} is negative");
    }
    alphas_cumprod
        .get(timestep as usize)
        .copied()
        .ok_or_else(|| candle_core::Error::msg(format!("timestep {timestep} is out of range")))
}

/// The names `build` (and `sd --scheduler`) accept besides diffusers class names.
pub const NAMES: [&str; 5] = [
    SchedulerClass::ALL[0].short_name(),
    SchedulerClass::ALL[1].short_name(),
    SchedulerClass::ALL[2].short_name(),
    SchedulerClass::ALL[3].short_name(),
    SchedulerClass::ALL[4].short_name(),
];

/// Builds the scheduler `kind` names (a short name or a diffusers class name), set to
/// `steps` steps. `kind` need not be the config's own class: keys the config leaves out
/// take `kind`'s defaults, as diffusers' `from_config` gives them.
pub fn build(
    kind: &str,
    config: &SchedulerConfig,
    steps: usize,
) -> std::result::Result<Box<dyn Scheduler>, SchedulerError> {
    let class = SchedulerClass::from_name(kind)
        .ok_or_else(|| SchedulerError::UnknownScheduler(kind.to_string()))?;
    Ok(match class {
        SchedulerClass::Ddim => Box::new(ddim::Ddim::new(config, steps)?),
        SchedulerClass::Pndm => Box::new(pndm::Pndm::new(config, steps)?),
        SchedulerClass::Euler => Box::new(euler::Euler::new(config, steps)?),
        SchedulerClass::EulerAncestral => {
            Box::new(euler_ancestral::EulerAncestral::new(config, steps)?)
        }
        SchedulerClass::DpmSolver => Box::new(dpm_solver::DpmSolver::new(config, steps)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::Value;

    /// A config and the scheduler built from it: unknown values of closed-set keys are
    /// refused when the config is read, unported settings when the scheduler is built.
    fn built(kind: &str, v: Value, steps: usize) -> std::result::Result<(), SchedulerError> {
        build(kind, &SchedulerConfig::from_value(v)?, steps).map(drop)
    }

    #[test]
    fn unsupported_settings_are_errors_not_other_results() {
        let cases = [
            ("ddim", serde_json::json!({"prediction_type": "flow"})),
            ("ddim", serde_json::json!({"timestep_spacing": "karras"})),
            ("ddim", serde_json::json!({"num_train_timesteps": 0})),
            ("pndm", serde_json::json!({"skip_prk_steps": false})),
            ("euler", serde_json::json!({"use_karras_sigmas": true})),
            (
                "dpm++2m",
                serde_json::json!({"algorithm_type": "sde-dpmsolver++"}),
            ),
            ("dpm++2m", serde_json::json!({"solver_order": 3})),
            ("lms", serde_json::json!({})),
        ];
        for (kind, v) in cases {
            assert!(built(kind, v.clone(), 10).is_err(), "{kind} {v}");
        }
        assert!(built("ddim", serde_json::json!({}), 0).is_err());
        assert!(built("ddim", serde_json::json!({}), 1001).is_err());
    }
}
