//! Noise schedulers matching diffusers 0.42: timesteps from `set_timesteps`, and `step`
//! on candle tensors. Each is configured from `scheduler_config.json`; keys a config leaves
//! out take that scheduler class's own diffusers default.

pub mod ddim;
pub mod dpm_solver;
pub mod euler;
pub mod euler_ancestral;
pub mod flow;
pub mod pndm;

use candle_core::{Result, Tensor};
use device::TorchRng;
use serde_json::{Map, Value};

/// What the denoiser predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    Epsilon,
    VPrediction,
    Sample,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spacing {
    Leading,
    Trailing,
    Linspace,
}

/// A diffusers scheduler config with per-class defaults.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    map: Map<String, Value>,
}

impl SchedulerConfig {
    pub fn from_value(value: Value) -> std::result::Result<Self, String> {
        match value {
            Value::Object(map) => Ok(Self { map }),
            _ => Err("scheduler config is not a JSON object".into()),
        }
    }

    pub fn class_name(&self) -> Option<&str> {
        self.map.get("_class_name").and_then(Value::as_str)
    }

    /// A copy with one key replaced (e.g. prediction_type for a v-model).
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.map.insert(key.to_string(), value);
        self
    }

    pub fn f64_or(&self, key: &str, default: f64) -> f64 {
        self.map.get(key).and_then(Value::as_f64).unwrap_or(default)
    }

    pub fn usize_or(&self, key: &str, default: usize) -> usize {
        self.map
            .get(key)
            .and_then(Value::as_u64)
            .map_or(default, |v| v as usize)
    }

    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.map
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    pub fn str_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.map.get(key).and_then(Value::as_str).unwrap_or(default)
    }

    pub fn prediction(&self) -> std::result::Result<Prediction, String> {
        match self.str_or("prediction_type", "epsilon") {
            "epsilon" => Ok(Prediction::Epsilon),
            "v_prediction" => Ok(Prediction::VPrediction),
            "sample" => Ok(Prediction::Sample),
            other => Err(format!("prediction_type {other:?} is not supported")),
        }
    }

    pub fn spacing(&self, default: &str) -> std::result::Result<Spacing, String> {
        match self.str_or("timestep_spacing", default) {
            "leading" => Ok(Spacing::Leading),
            "trailing" => Ok(Spacing::Trailing),
            "linspace" => Ok(Spacing::Linspace),
            other => Err(format!("timestep_spacing {other:?} is not supported")),
        }
    }

    /// `alphas_cumprod` in float32, computed the way torch does in the scheduler's
    /// constructor (f32 linspace, f32 cumulative product).
    pub fn alphas_cumprod(&self) -> std::result::Result<Vec<f32>, String> {
        if self.bool_or("rescale_betas_zero_snr", false) {
            return Err("rescale_betas_zero_snr is not supported".into());
        }
        if self.map.get("trained_betas").is_some_and(|v| !v.is_null()) {
            return Err("trained_betas is not supported".into());
        }
        let n = self.usize_or("num_train_timesteps", 1000);
        if n < 2 {
            return Err(format!("num_train_timesteps {n} is too small"));
        }
        let start = self.f64_or("beta_start", 0.0001);
        let end = self.f64_or("beta_end", 0.02);
        let betas: Vec<f32> = match self.str_or("beta_schedule", "linear") {
            "linear" => linspace_f32(start as f32, end as f32, n),
            "scaled_linear" => linspace_f32(start.sqrt() as f32, end.sqrt() as f32, n)
                .into_iter()
                .map(|b| b * b)
                .collect(),
            "squaredcos_cap_v2" => (0..n)
                .map(|i| {
                    let bar = |t: f64| {
                        ((t + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
                            .cos()
                            .powi(2)
                    };
                    let (t1, t2) = (i as f64 / n as f64, (i + 1) as f64 / n as f64);
                    (1.0 - bar(t2) / bar(t1)).min(0.999) as f32
                })
                .collect(),
            other => return Err(format!("beta_schedule {other:?} is not supported")),
        };
        let mut acc = 1.0f32;
        Ok(betas
            .iter()
            .map(|b| {
                acc *= 1.0 - b;
                acc
            })
            .collect())
    }
}

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
pub const NAMES: [&str; 5] = ["pndm", "ddim", "euler", "euler-a", "dpm++2m"];

/// Builds the scheduler a config names (or `kind` overrides), set to `steps` steps.
pub fn build(
    kind: &str,
    config: &SchedulerConfig,
    steps: usize,
) -> std::result::Result<Box<dyn Scheduler>, String> {
    if steps == 0 {
        return Err("the number of steps must be at least 1".into());
    }
    match kind {
        "ddim" | "DDIMScheduler" => Ok(Box::new(ddim::Ddim::new(config, steps)?)),
        "pndm" | "PNDMScheduler" => Ok(Box::new(pndm::Pndm::new(config, steps)?)),
        "euler" | "EulerDiscreteScheduler" => Ok(Box::new(euler::Euler::new(config, steps)?)),
        "euler-a" | "EulerAncestralDiscreteScheduler" => Ok(Box::new(
            euler_ancestral::EulerAncestral::new(config, steps)?,
        )),
        "dpm++2m" | "DPMSolverMultistepScheduler" => {
            Ok(Box::new(dpm_solver::DpmSolver::new(config, steps)?))
        }
        other => Err(format!(
            "unknown scheduler {other:?} (supported: {})",
            NAMES.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> SchedulerConfig {
        SchedulerConfig::from_value(v).expect("object")
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
            assert!(build(kind, &config(v.clone()), 10).is_err(), "{kind} {v}");
        }
        assert!(build("ddim", &config(serde_json::json!({})), 0).is_err());
        assert!(build("ddim", &config(serde_json::json!({})), 1001).is_err());
    }
}
