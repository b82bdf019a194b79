//! UniPCMultistepScheduler with `use_flow_sigmas` and `prediction_type="flow_prediction"`
//! (HiDream-I1-Full): a UniP predictor each step and a UniC corrector that refines the
//! previous prediction with the new model output, in data (x0) prediction.
//!
//! The scalar coefficients are float32, as diffusers computes them on 0-dim float32
//! tensors; the small linear systems for orders above two are solved in float64.

use super::config::{FlowConfigError, FlowSchedulerConfig};
use super::noise::NoiseSource;
use super::scheduler::FlowScheduler;
use super::step_math::as_f32;
use crate::schedulers::schedule_math::linspace_f64;
use crate::tensor_math::div_scalar;
use candle_core::{Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SolverType {
    Bh1,
    Bh2,
}

#[derive(Debug, Clone)]
pub struct FlowUniPc {
    timesteps: Vec<f32>,
    sigmas: Vec<f32>,
    order: usize,
    solver: SolverType,
    lower_order_final: bool,
    disable_corrector: Vec<usize>,
    /// Converted (x0) model outputs of the last `order` steps, oldest first.
    history: Vec<Option<Tensor>>,
    last_sample: Option<Tensor>,
    lower_order_nums: usize,
    this_order: usize,
    step_index: Option<usize>,
}

impl FlowUniPc {
    pub fn new(
        config: &FlowSchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Self, FlowConfigError> {
        if !config.use_flow_sigmas {
            return Err(config.unsupported(
                "use_flow_sigmas=false (only the flow-matching form is ported; use an SD scheduler for DDPM-style UniPC)",
            ));
        }
        if config.prediction_type != "flow_prediction" {
            return Err(config.unsupported(format!(
                "prediction_type {:?} with flow sigmas (only \"flow_prediction\")",
                config.prediction_type
            )));
        }
        if !config.predict_x0 {
            return Err(config.unsupported("predict_x0=false"));
        }
        if config.thresholding {
            return Err(config.unsupported("thresholding"));
        }
        let solver = match config.solver_type.as_str() {
            "bh1" => SolverType::Bh1,
            // diffusers maps these three to bh2 in its constructor.
            "bh2" | "midpoint" | "heun" | "logrho" => SolverType::Bh2,
            other => return Err(config.unsupported(format!("solver_type {other:?}"))),
        };
        if !(1..=3).contains(&config.solver_order) {
            return Err(config.unsupported(format!(
                "solver_order {} (1 to 3 are ported)",
                config.solver_order
            )));
        }
        config.reject_unported_sigmas()?;
        config.check_counts(steps)?;
        let shift = config.flow_shift;
        if !(shift.is_finite() && shift > 0.0) {
            return Err(FlowConfigError::Invalid(format!(
                "flow_shift must be a positive number, not {shift}"
            )));
        }
        let train = config.num_train_timesteps as f64;
        let mut raw: Vec<f64> = linspace_f64(1.0, 1.0 / train, steps + 1);
        raw.pop();
        for s in raw.iter_mut() {
            *s = shift * *s / (1.0 + (shift - 1.0) * *s);
        }
        // diffusers nudges a first sigma of exactly 1 down so that log(0) never occurs.
        if (raw[0] - 1.0).abs() < 1e-6 {
            raw[0] -= 1e-6;
        }
        // The timesteps are int64: the float product truncated toward zero.
        let timesteps: Vec<f32> = raw.iter().map(|s| (s * train).trunc() as f32).collect();
        let last = match config.final_sigmas_type.as_str() {
            "zero" => 0.0,
            "sigma_min" => raw[raw.len() - 1],
            other => return Err(config.unsupported(format!("final_sigmas_type {other:?}"))),
        };
        let mut sigmas: Vec<f32> = raw.iter().map(|&s| s as f32).collect();
        sigmas.push(last as f32);
        Ok(Self {
            timesteps,
            sigmas,
            order: config.solver_order,
            solver,
            lower_order_final: config.lower_order_final,
            disable_corrector: config.disable_corrector.clone(),
            history: vec![None; config.solver_order],
            last_sample: None,
            lower_order_nums: 0,
            this_order: 0,
            step_index: None,
        })
    }

    fn sigma(&self, index: usize) -> Result<f32> {
        self.sigmas.get(index).copied().ok_or_else(|| {
            candle_core::Error::msg(format!("step {index} is past the end of the schedule"))
        })
    }

    /// `log(alpha) - log(sigma)` with alpha = 1 - sigma (flow sigmas).
    fn lambda(&self, index: usize) -> Result<f32> {
        let s = self.sigma(index)?;
        Ok((1.0 - s).ln() - s.ln())
    }

    /// The `order` most recent converted outputs, newest first.
    fn recent(&self, count: usize) -> Result<Vec<&Tensor>> {
        self.history
            .iter()
            .rev()
            .take(count)
            .map(|m| {
                m.as_ref().ok_or_else(|| {
                    candle_core::Error::msg("UniPC history is shorter than the solver order")
                })
            })
            .collect()
    }

    /// The predictor from step `i` (sigma_s0 = sigmas[i]) to sigmas[i + 1].
    fn predict(&self, sample: &Tensor, i: usize, order: usize) -> Result<Tensor> {
        let models = self.recent(order)?;
        let m0 = models[0];
        let (sigma_t, sigma_s0) = (self.sigma(i + 1)?, self.sigma(i)?);
        let alpha_t = 1.0 - sigma_t;
        let h = self.lambda(i + 1)? - self.lambda(i)?;
        let mut rks = Vec::with_capacity(order);
        let mut d1s = Vec::with_capacity(order);
        for (k, mi) in models.iter().enumerate().skip(1) {
            let rk = (self.lambda(back(i, k)?)? - self.lambda(i)?) / h;
            rks.push(rk);
            d1s.push(div_scalar(&(*mi - m0)?, rk)?);
        }
        rks.push(1.0);
        let coeffs = Coefficients::new(-h, self.solver, &rks, order);
        let x_t = ((sample * f64::from(sigma_t / sigma_s0))?
            - (m0 * f64::from(alpha_t * coeffs.h_phi_1))?)?;
        if d1s.is_empty() {
            return Ok(x_t);
        }
        let rhos = if order == 2 {
            vec![0.5f32]
        } else {
            solve(&coeffs.r, &coeffs.b, order - 1)?
        };
        let residual = weighted_sum(&rhos, &d1s)?;
        x_t - (residual * f64::from(alpha_t * coeffs.b_h))?
    }

    /// The corrector for step `i`: refines `this_sample` (predicted from sigmas[i - 1])
    /// with the converted output `model_t` at sigmas[i].
    fn correct(
        &self,
        model_t: &Tensor,
        last_sample: &Tensor,
        i: usize,
        order: usize,
    ) -> Result<Tensor> {
        let models = self.recent(order)?;
        let m0 = models[0];
        let (sigma_t, sigma_s0) = (self.sigma(i)?, self.sigma(back(i, 1)?)?);
        let alpha_t = 1.0 - sigma_t;
        let h = self.lambda(i)? - self.lambda(back(i, 1)?)?;
        let mut rks = Vec::with_capacity(order);
        let mut d1s = Vec::with_capacity(order);
        for (k, mi) in models.iter().enumerate().skip(1) {
            let rk = (self.lambda(back(i, k + 1)?)? - self.lambda(back(i, 1)?)?) / h;
            rks.push(rk);
            d1s.push(div_scalar(&(*mi - m0)?, rk)?);
        }
        rks.push(1.0);
        let coeffs = Coefficients::new(-h, self.solver, &rks, order);
        let rhos = if order == 1 {
            vec![0.5f32]
        } else {
            solve(&coeffs.r, &coeffs.b, order)?
        };
        let x_t = ((last_sample * f64::from(sigma_t / sigma_s0))?
            - (m0 * f64::from(alpha_t * coeffs.h_phi_1))?)?;
        let d1_t = (model_t - m0)?;
        let last_rho = rhos[rhos.len() - 1];
        let correction = if d1s.is_empty() {
            (d1_t * f64::from(last_rho))?
        } else {
            (weighted_sum(&rhos[..rhos.len() - 1], &d1s)? + (d1_t * f64::from(last_rho))?)?
        };
        x_t - (correction * f64::from(alpha_t * coeffs.b_h))?
    }
}

/// `i - k`, as an error rather than an underflow when the history is too short.
fn back(i: usize, k: usize) -> Result<usize> {
    i.checked_sub(k)
        .ok_or_else(|| candle_core::Error::msg("UniPC needs more earlier steps than were taken"))
}

/// `h*phi_1`, `B(h)` and the UniPC system `R rho = b`, in float32 like diffusers.
struct Coefficients {
    h_phi_1: f32,
    b_h: f32,
    /// Row-major `order x order`: row j holds `rks ** j`.
    r: Vec<f32>,
    b: Vec<f32>,
}

impl Coefficients {
    fn new(hh: f32, solver: SolverType, rks: &[f32], order: usize) -> Self {
        let h_phi_1 = hh.exp_m1();
        let mut h_phi_k = h_phi_1 / hh - 1.0;
        let b_h = match solver {
            SolverType::Bh1 => hh,
            SolverType::Bh2 => hh.exp_m1(),
        };
        let mut factorial: u64 = 1;
        let mut r = Vec::with_capacity(order * rks.len());
        let mut b = Vec::with_capacity(order);
        for i in 1..=order {
            r.extend(rks.iter().map(|&rk| rk.powi(i as i32 - 1)));
            b.push(h_phi_k * factorial as f32 / b_h);
            factorial *= i as u64 + 1;
            h_phi_k = h_phi_k / hh - (1.0 / factorial as f64) as f32;
        }
        Self { h_phi_1, b_h, r, b }
    }
}

/// Solves the leading `n x n` block of `r` (row stride `r.len() / b.len()`) against
/// `b[..n]` by Gaussian elimination with partial pivoting.
fn solve(r: &[f32], b: &[f32], n: usize) -> Result<Vec<f32>> {
    let stride = r.len() / b.len();
    let mut a: Vec<Vec<f64>> = (0..n)
        .map(|row| {
            let mut line: Vec<f64> = (0..n).map(|c| f64::from(r[row * stride + c])).collect();
            line.push(f64::from(b[row]));
            line
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        if a[col][col] == 0.0 || !a[col][col].is_finite() {
            candle_core::bail!("UniPC coefficient system is singular");
        }
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for row in lower.iter_mut() {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
        }
    }
    let mut x = vec![0.0f64; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (a[row][n] - tail) / a[row][row];
    }
    Ok(x.into_iter().map(|v| v as f32).collect())
}

/// `sum_k rhos[k] * d1s[k]` (diffusers' einsum over the history axis).
fn weighted_sum(rhos: &[f32], d1s: &[Tensor]) -> Result<Tensor> {
    let mut total = (&d1s[0] * f64::from(rhos[0]))?;
    for (rho, d) in rhos.iter().zip(d1s).skip(1) {
        total = (total + (d * f64::from(*rho))?)?;
    }
    Ok(total)
}

impl FlowScheduler for FlowUniPc {
    fn timesteps(&self) -> &[f32] {
        &self.timesteps
    }

    fn sigmas(&self) -> &[f32] {
        &self.sigmas
    }

    fn step(
        &mut self,
        velocity: &Tensor,
        timestep: f32,
        sample: &Tensor,
        _: &mut dyn NoiseSource,
    ) -> Result<Tensor> {
        let i = match self.step_index {
            Some(i) => i,
            None => {
                let hits: Vec<usize> = (0..self.timesteps.len())
                    .filter(|&k| self.timesteps[k] == timestep)
                    .collect();
                match hits.as_slice() {
                    [] => self.timesteps.len() - 1,
                    [only] => *only,
                    [_, second, ..] => *second,
                }
            }
        };
        if i >= self.timesteps.len() {
            candle_core::bail!("step {i} is past the end of the schedule");
        }
        let (v, x) = (as_f32(velocity)?, as_f32(sample)?);
        let sigma = self.sigma(i)?;
        let converted = (&x - (&v * f64::from(sigma))?)?;
        let corrected = match &self.last_sample {
            Some(last) if i > 0 && !self.disable_corrector.contains(&(i - 1)) => {
                self.correct(&converted, last, i, self.this_order)?
            }
            _ => x,
        };
        self.history.remove(0);
        self.history.push(Some(converted));
        let wanted = if self.lower_order_final {
            self.order.min(self.timesteps.len() - i)
        } else {
            self.order
        };
        self.this_order = wanted.min(self.lower_order_nums + 1);
        let prev = self.predict(&corrected, i, self.this_order)?;
        self.last_sample = Some(corrected);
        if self.lower_order_nums < self.order {
            self.lower_order_nums += 1;
        }
        self.step_index = Some(i + 1);
        prev.to_dtype(velocity.dtype())
    }
}
