//! LMSDiscreteScheduler: the linear multistep method of order 4 in sigma space. Each step
//! extrapolates from the last four slopes with weights that integrate their Lagrange
//! polynomial over the step.

use super::config::{FinalSigmas, Prediction, SchedulerClass, SchedulerConfig, SchedulerError};
use super::euler::SigmaSchedule;
use super::euler::delegate_to_sigma_schedule;
use super::scheduler::Scheduler;
use super::sigma_spacing::SigmaSpacing;
use candle_core::{Result, Tensor};
use device::TorchRng;

/// diffusers' default `order` for `step`, which the pipelines leave as it is.
const ORDER: usize = 4;

#[derive(Debug, Clone)]
pub struct Lms {
    schedule: SigmaSchedule,
    prediction: Prediction,
    /// The latest slopes, oldest first.
    slopes: Vec<Tensor>,
}

impl Lms {
    pub fn new(
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, SchedulerError> {
        let class = SchedulerClass::Lms;
        let spacing = SigmaSpacing::from_config(config, class)?;
        // This class's Karras schedule always spans the interpolated sigmas: unlike the
        // others (and its own exponential one) it does not read sigma_min/sigma_max.
        let mut own = config.clone();
        if spacing == SigmaSpacing::Karras {
            (own.sigma_min, own.sigma_max) = (None, None);
        }
        Ok(Self {
            schedule: SigmaSchedule::new(&own, class, steps, (spacing, FinalSigmas::Zero))?,
            prediction: config.prediction_type,
            slopes: Vec::with_capacity(ORDER + 1),
        })
    }
}

/// The integral over `[from, to]` of the Lagrange basis polynomial that is 1 at
/// `nodes[which]` and 0 at the other nodes. Two-point Gauss-Legendre is exact for the cubic
/// at most that four nodes give.
fn lagrange_weight(nodes: &[f64], which: usize, (from, to): (f64, f64)) -> f64 {
    let basis = |tau: f64| {
        nodes
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != which)
            .map(|(_, &node)| (tau - node) / (nodes[which] - node))
            .product::<f64>()
    };
    let (mid, half) = ((from + to) / 2.0, (to - from) / 2.0);
    let offset = half / 3f64.sqrt();
    half * (basis(mid - offset) + basis(mid + offset))
}

impl Scheduler for Lms {
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
        let x0 = self
            .schedule
            .denoised(self.prediction, model_output, sample, sigma)?;
        self.slopes.push(((sample - x0)? / f64::from(sigma))?);
        if self.slopes.len() > ORDER {
            self.slopes.remove(0);
        }
        // The weights are those of the `i + 1` (at most four) latest sigmas even when fewer
        // slopes exist, as after img2img starts part-way: diffusers then weights only the
        // slopes it has (its zip stops at the shorter list).
        let order = (i + 1).min(ORDER);
        let nodes: Vec<f64> = (0..order)
            .map(|k| self.schedule.sigma(i - k).map(f64::from))
            .collect::<Result<_>>()?;
        let span = (f64::from(sigma), f64::from(self.schedule.sigma(i + 1)?));
        let mut sum: Option<Tensor> = None;
        for (which, slope) in self.slopes.iter().rev().take(order).enumerate() {
            let term = (slope * lagrange_weight(&nodes, which, span))?;
            sum = Some(match sum {
                Some(s) => (s + term)?,
                None => term,
            });
        }
        self.schedule.advance(i);
        match sum {
            Some(s) => sample + s,
            None => Ok(sample.clone()),
        }
    }
}
