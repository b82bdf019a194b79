//! DPMSolverMultistepScheduler as DPM-Solver++ (2M) and its SDE variant (2M SDE): data
//! prediction, midpoint second order, first order on the last step (final sigma 0), over
//! the training, Karras or exponential sigma spacing.

use super::config::{
    AlgorithmType, BetaSchedule, ClosedSet, FinalSigmas, Prediction, SchedulerClass,
    SchedulerConfig, SchedulerError, SolverType, Spacing,
};
use super::schedule_math::{
    arange_down_rounded, index_for_timestep, interp, linspace_f64, round_half_even, train_sigmas,
};
use super::scheduler::Scheduler;
use super::sigma_spacing::{SigmaSpacing, log_sigmas, sigma_to_t};
use candle_core::{Result, Tensor};
use device::TorchRng;

#[derive(Debug, Clone)]
pub struct DpmSolver {
    timesteps: Vec<f64>,
    sigmas: Vec<f32>,
    prediction: Prediction,
    /// DPM-Solver++ (false) or its SDE variant, which adds fresh noise at every step.
    stochastic: bool,
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
        let stochastic = match config.algorithm_type {
            AlgorithmType::DpmSolverPlusPlus => false,
            AlgorithmType::SdeDpmSolverPlusPlus => true,
            other => {
                return Err(class.unsupported(
                    "algorithm_type",
                    other.name(),
                    "dpmsolver++ or sde-dpmsolver++",
                ));
            }
        };
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
        let spacing = SigmaSpacing::from_config(config, class)?;
        class.reject_flags(&[
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
        let table = train_sigmas(&alphas);
        let ends = (f64::from(table[0]), f64::from(table[train - 1]));
        let (timesteps, sigmas): (Vec<f64>, Vec<f32>) = match spacing.sigmas(config, ends, steps) {
            None => {
                let sigmas = timesteps
                    .iter()
                    .map(|&t| interp(t, &table) as f32)
                    .collect();
                (timesteps, sigmas)
            }
            Some(sigmas) => {
                let logs = log_sigmas(&table);
                // diffusers rounds Karras timesteps (but not squaredcos_cap_v2 ones) and
                // truncates every timestep to an integer when it stores them.
                let round = spacing == SigmaSpacing::Karras
                    && config.beta_schedule != BetaSchedule::SquaredcosCapV2;
                let t = sigmas
                    .iter()
                    .map(|&s| {
                        let t = sigma_to_t(s, &logs);
                        if round { round_half_even(t) } else { t.trunc() }
                    })
                    .collect();
                (t, sigmas.iter().map(|&s| s as f32).collect())
            }
        };
        // diffusers builds the same schedule and then divides by the zero step between two
        // equal sigmas: refuse it here rather than return NaN latents at step 2.
        if let Some(i) = (1..sigmas.len()).find(|&i| sigmas[i] == sigmas[i - 1]) {
            return Err(SchedulerError::RepeatedTimestep {
                class,
                steps,
                timestep: timesteps[i],
            });
        }
        let mut sigmas = sigmas;
        sigmas.push(0.0);
        Ok(Self {
            timesteps,
            sigmas,
            prediction: config.prediction_type,
            stochastic,
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

    fn sigmas(&self) -> &[f32] {
        &self.sigmas
    }

    fn step(
        &mut self,
        model_output: &Tensor,
        timestep: f64,
        sample: &Tensor,
        rng: &mut TorchRng,
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
        // Drawn at every step, the last included, after everything drawn before.
        let noise = if self.stochastic {
            Some(
                Tensor::from_vec(
                    rng.randn_f32(model_output.elem_count()),
                    model_output.shape(),
                    model_output.device(),
                )?
                .to_dtype(model_output.dtype())?,
            )
        } else {
            None
        };
        let (alpha_t, sigma_t) = alpha_sigma(st);
        let h = lambda(st) - lambda(s0);
        // x_t = a * sample + c * (D0 + D1 / 2) (+ noise): the SDE variant decays the sample
        // twice as fast and puts the difference back as fresh noise.
        let (a, c) = if self.stochastic {
            (
                sigma_t / sigma_s0 * (-h).exp(),
                alpha_t * (1.0 - (-2.0 * h).exp()),
            )
        } else {
            (sigma_t / sigma_s0, -(alpha_t * ((-h).exp() - 1.0)))
        };
        let base = ((sample * f64::from(a))? + (&x0 * f64::from(c))?)?;
        let out = match (&self.previous, self.lower_order_nums < 1 || lower_final) {
            (Some(m1), false) => {
                let s1 = self.sigma(i.saturating_sub(1))?;
                let h0 = lambda(s0) - lambda(s1);
                let r0 = h0 / h;
                let d1 = ((&x0 - m1)? * f64::from(1.0 / r0))?;
                (base + (d1 * f64::from(0.5 * c))?)?
            }
            _ => base,
        };
        let out = match noise {
            Some(noise) => {
                let scale = sigma_t * (1.0 - (-2.0 * h).exp()).sqrt();
                (out + (noise * f64::from(scale))?)?
            }
            None => out,
        };
        self.previous = Some(x0);
        if self.lower_order_nums < 2 {
            self.lower_order_nums += 1;
        }
        self.step_index = Some(i + 1);
        Ok(out)
    }

    fn begin_at(&mut self, index: usize) {
        self.step_index = Some(index);
    }

    fn add_noise(&self, original: &Tensor, noise: &Tensor, timestep: f64) -> Result<Tensor> {
        let i = self
            .step_index
            .unwrap_or_else(|| index_for_timestep(&self.timesteps, timestep));
        let sigma = self.sigma(i)?;
        let (alpha, sigma) = alpha_sigma(sigma);
        (original * f64::from(alpha))? + (noise * f64::from(sigma))?
    }
}
