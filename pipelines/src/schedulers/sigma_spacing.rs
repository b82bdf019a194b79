//! Sigma schedules that are not read off the training table at the timesteps: Karras et
//! al.'s rho = 7 spacing (`use_karras_sigmas`) and a geometric one (`use_exponential_sigmas`),
//! with the timesteps then recovered from the sigmas as diffusers does. Arithmetic follows
//! numpy's dtypes: the new sigmas in f64, the log table in f32.

use super::config::{SchedulerClass, SchedulerConfig, SchedulerError};
use super::schedule_math::linspace_f64;

/// How a scheduler spaces its sigmas between the two ends of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigmaSpacing {
    /// The training sigmas interpolated at the timesteps (the default).
    AtTimesteps,
    Karras,
    Exponential,
}

impl SigmaSpacing {
    /// The spacing `config` asks `class` for. diffusers refuses more than one flag in the
    /// constructor; beta sigmas (scipy's beta quantiles) are not ported.
    pub fn from_config(
        config: &SchedulerConfig,
        class: SchedulerClass,
    ) -> Result<Self, SchedulerError> {
        let flags = [
            config.use_karras_sigmas,
            config.use_exponential_sigmas,
            config.use_beta_sigmas,
        ];
        if flags.iter().filter(|&&on| on).count() > 1 {
            return Err(SchedulerError::ConflictingSigmas(class));
        }
        class.reject_flags(&[("use_beta_sigmas", config.use_beta_sigmas)])?;
        Ok(if config.use_karras_sigmas {
            Self::Karras
        } else if config.use_exponential_sigmas {
            Self::Exponential
        } else {
            Self::AtTimesteps
        })
    }

    /// `steps` sigmas from `largest` down to `smallest` (the config's `sigma_max` and
    /// `sigma_min` win where set), or `None` for [`SigmaSpacing::AtTimesteps`].
    pub fn sigmas(
        self,
        config: &SchedulerConfig,
        (smallest, largest): (f64, f64),
        steps: usize,
    ) -> Option<Vec<f64>> {
        let lo = config.sigma_min.unwrap_or(smallest);
        let hi = config.sigma_max.unwrap_or(largest);
        match self {
            Self::AtTimesteps => None,
            Self::Karras => Some(karras(lo, hi, steps)),
            Self::Exponential => Some(
                linspace_f64(hi.ln(), lo.ln(), steps)
                    .into_iter()
                    .map(f64::exp)
                    .collect(),
            ),
        }
    }
}

/// Karras et al. (2022), eq. 5 with rho = 7: uniform steps in sigma^(1/rho).
fn karras(lo: f64, hi: f64, steps: usize) -> Vec<f64> {
    const RHO: f64 = 7.0;
    let (lo, hi) = (lo.powf(1.0 / RHO), hi.powf(1.0 / RHO));
    linspace_f64(0.0, 1.0, steps)
        .into_iter()
        .map(|r| (hi + r * (lo - hi)).powf(RHO))
        .collect()
}

/// `ln` of the training sigmas, in f32 as numpy takes it of a float32 array.
pub fn log_sigmas(train_sigmas: &[f32]) -> Vec<f32> {
    train_sigmas.iter().map(|s| s.ln()).collect()
}

/// The fractional training timestep whose sigma is `sigma`: linear interpolation in log
/// sigma between the two table entries around it, clamped to the table.
pub fn sigma_to_t(sigma: f64, log_sigmas: &[f32]) -> f64 {
    let n = log_sigmas.len();
    if n < 2 {
        return 0.0;
    }
    let log_sigma = sigma.max(1e-10).ln();
    // The last entry at or below log_sigma (0 if none), kept one short of the end so that
    // there is an entry above it.
    let low = log_sigmas
        .iter()
        .rposition(|&l| log_sigma - f64::from(l) >= 0.0)
        .unwrap_or(0)
        .min(n - 2);
    let (lo, hi) = (log_sigmas[low], log_sigmas[low + 1]);
    // numpy subtracts the two float32 entries in float32, the rest in float64.
    let w = ((f64::from(lo) - log_sigma) / f64::from(lo - hi)).clamp(0.0, 1.0);
    (1.0 - w) * low as f64 + w * (low + 1) as f64
}
