//! DPMSolverMultistepScheduler as DPM-Solver++ (2M): data prediction, midpoint second
//! order, first order on the last step (final sigma 0).

use super::config::{
    AlgorithmType, ClosedSet, FinalSigmas, Prediction, SchedulerClass, SchedulerConfig,
    SchedulerError, SolverType, Spacing,
};
use super::schedule_math::{
    arange_down_rounded, index_for_timestep, interp, linspace_f64, round_half_even, train_sigmas,
};
use super::scheduler::Scheduler;
use candle_core::{Result, Tensor};
use device::TorchRng;

#[derive(Debug, Clone)]
pub struct DpmSolver {
    timesteps: Vec<f64>,
    sigmas: Vec<f32>,
    prediction: Prediction,
    previous: Option<Tensor>,
    lower_order_nums: usize,
    step_index: Option<usize>,
}

/// (alpha_t, sigma_t) of the VP process at a sigma of the VE parametrisation.
fn alpha_sigma(sigma: f32) -> (f32, f32) {
    let alpha = 1.0 / (sigma * sigma + 1.0).sqrt();
    (alpha, sigma * alpha)
}

fn lambda(sigma: f32) -> f32 {
    let (a, s) = alpha_sigma(sigma);
    a.ln() - s.ln()
}

impl DpmSolver {
    pub fn new(
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, SchedulerError> {
        let class = SchedulerClass::DpmSolver;
        class.only(config.algorithm_type, AlgorithmType::DpmSolverPlusPlus)?;
        class.only(config.solver_type, SolverType::Midpoint)?;
        class.only(config.final_sigmas_type, FinalSigmas::Zero)?;
        if let Some(variance) = config.variance_type {
            return Err(class.unsupported("variance_type", variance.name(), "null"));
        }
        // Clipping lambda changes where the schedule ends; only the default (no clip) is
        // ported.
        if config.lambda_min_clipped != f64::NEG_INFINITY {
            return Err(class.unsupported(
                "lambda_min_clipped",
                config.lambda_min_clipped,
                "-Infinity",
            ));
        }
        if config.solver_order != 2 {
            return Err(class.unsupported("solver_order", config.solver_order, "2"));
        }
        class.reject_flags(&[
            ("use_karras_sigmas", config.use_karras_sigmas),
            ("use_exponential_sigmas", config.use_exponential_sigmas),
            ("use_beta_sigmas", config.use_beta_sigmas),
            ("use_lu_lambdas", config.use_lu_lambdas),
            ("use_flow_sigmas", config.use_flow_sigmas),
            ("thresholding", config.thresholding),
            ("euler_at_final", config.euler_at_final),
        ])?;
        let alphas = config.alphas_cumprod(class, steps)?;
        let train = alphas.len();
        // lambda_min_clipped defaults to -inf, so the schedule ends at the last train step.
        let last = train;
        let timesteps: Vec<f64> = match config.spacing(class) {
            Spacing::Linspace => {
                let mut t: Vec<f64> = linspace_f64(0.0, (last - 1) as f64, steps + 1)
                    .into_iter()
                    .map(round_half_even)
                    .rev()
                    .collect();
                t.pop();
                t
            }
            Spacing::Leading => {
                let ratio = last / (steps + 1);
                let offset = config.steps_offset as f64;
                (1..=steps)
                    .rev()
                    .map(|i| (i * ratio) as f64 + offset)
                    .collect()
            }
            Spacing::Trailing => arange_down_rounded(last as f64, train as f64 / steps as f64)
                .into_iter()
                .map(|t| t - 1.0)
                .collect(),
        };
        // diffusers builds the same schedule and then divides by the zero step between two
        // equal timesteps: refuse it here rather than return NaN latents at step 2.
        if let Some(pair) = timesteps.windows(2).find(|w| w[0] == w[1]) {
            return Err(SchedulerError::RepeatedTimestep {
                class,
                steps,
                timestep: pair[0],
            });
        }
        let table = train_sigmas(&alphas);
        let mut sigmas: Vec<f32> = timesteps
            .iter()
            .map(|&t| interp(t, &table) as f32)
            .collect();
        sigmas.push(0.0);
        Ok(Self {
            timesteps,
            sigmas,
            prediction: config.prediction_type,
            previous: None,
            lower_order_nums: 0,
            step_index: None,
        })
    }

    fn sigma(&self, i: usize) -> Result<f32> {
        self.sigmas.get(i).copied().ok_or_else(|| {
            candle_core::Error::msg(format!("step {i} is past the end of the schedule"))
        })
    }
}

impl Scheduler for DpmSolver {
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
        let i = self
            .step_index
            .unwrap_or_else(|| index_for_timestep(&self.timesteps, timestep));
        let n = self.timesteps.len();
        // With a zero final sigma the last step is always first order.
        let lower_final = i + 1 == n;
        let s0 = self.sigma(i)?;
        let st = self.sigma(i + 1)?;
        let (alpha_s0, sigma_s0) = alpha_sigma(s0);
        let x0 = match self.prediction {
            Prediction::Epsilon => {
                ((sample - (model_output * f64::from(sigma_s0)))? / f64::from(alpha_s0))?
            }
            Prediction::VPrediction => {
                ((sample * f64::from(alpha_s0))? - (model_output * f64::from(sigma_s0))?)?
            }
            Prediction::Sample => model_output.clone(),
        };
        let (alpha_t, sigma_t) = alpha_sigma(st);
        let h = lambda(st) - lambda(s0);
        let coeff = alpha_t * ((-h).exp() - 1.0);
        let base = ((sample * f64::from(sigma_t / sigma_s0))? - (&x0 * f64::from(coeff))?)?;
        let out = match (&self.previous, self.lower_order_nums < 1 || lower_final) {
            (Some(m1), false) => {
                let s1 = self.sigma(i.saturating_sub(1))?;
                let h0 = lambda(s0) - lambda(s1);
                let r0 = h0 / h;
                let d1 = ((&x0 - m1)? * f64::from(1.0 / r0))?;
                (base - (d1 * f64::from(0.5 * coeff))?)?
            }
            _ => base,
        };
        self.previous = Some(x0);
        if self.lower_order_nums < 2 {
            self.lower_order_nums += 1;
        }
        self.step_index = Some(i + 1);
        Ok(out)
    }

    fn add_noise(&self, original: &Tensor, noise: &Tensor, timestep: f64) -> Result<Tensor> {
        let sigma = self.sigma(index_for_timestep(&self.timesteps, timestep))?;
        let (alpha, sigma) = alpha_sigma(sigma);
        (original * f64::from(alpha))? + (noise * f64::from(sigma))?
    }
}
