//! The schedule arithmetic diffusers does in numpy and torch, reproduced to the bit
//! (float32 where torch computes in float32, numpy's rounding), shared by every scheduler.

use candle_core::{Result, Tensor};

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
