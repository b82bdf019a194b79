//! Flow-matching schedulers (HiDream): the model predicts a velocity `v` with
//! `x_sigma = (1 - sigma) x0 + sigma noise`, and sigmas run from about 1 down to 0.
//! They differ from the epsilon-style `Scheduler` trait in three ways that matter to a
//! caller: timesteps are `sigma * 1000` (not integer training steps), there is no input
//! scaling, and the flash variant draws noise from a source the caller injects.

pub mod config;
pub mod euler;
pub mod flash;
pub mod noise;
pub mod schedule;
pub mod unipc;

pub use config::{FLOW_CLASSES, FlowConfigError, FlowSchedulerConfig};
pub use noise::{NoiseSource, QueuedNoise};

use candle_core::{DType, Result, Tensor};

pub trait FlowScheduler: std::fmt::Debug {
    /// The timesteps to feed the transformer, in order.
    fn timesteps(&self) -> &[f32];
    /// One more than `timesteps`: the sigma after the last step.
    fn sigmas(&self) -> &[f32];
    /// One step from `sample` at `timestep` given the velocity the pipeline computed
    /// (HiDream negates the transformer output first). Output has the velocity's dtype.
    fn step(
        &mut self,
        velocity: &Tensor,
        timestep: f32,
        sample: &Tensor,
        noise: &mut dyn NoiseSource,
    ) -> Result<Tensor>;
}

/// Builds the scheduler the config's `_class_name` names, set to `steps` steps.
pub fn build(
    config: &FlowSchedulerConfig,
    steps: usize,
) -> std::result::Result<Box<dyn FlowScheduler>, FlowConfigError> {
    match config.class_name.as_str() {
        "FlowMatchEulerDiscreteScheduler" => {
            Ok(Box::new(euler::FlowMatchEuler::new(config, steps)?))
        }
        "FlashFlowMatchEulerDiscreteScheduler" => {
            if config.stochastic_sampling {
                return Err(
                    config.unsupported("stochastic_sampling (the flash class always re-noises)")
                );
            }
            Ok(Box::new(flash::FlashFlowMatchEuler::new(config, steps)?))
        }
        "UniPCMultistepScheduler" => Ok(Box::new(unipc::FlowUniPc::new(config, steps)?)),
        other => Err(FlowConfigError::UnknownClass(other.to_string())),
    }
}

/// Schedulers compute in float32 whatever the model's dtype, as diffusers upcasts.
pub(crate) fn as_f32(t: &Tensor) -> Result<Tensor> {
    t.to_dtype(DType::F32)
}

/// `sigma_next * noise + (1 - sigma_next) * x0`, with one fresh draw shaped like `x0`.
pub(crate) fn renoise(x0: &Tensor, sigma_next: f32, noise: &mut dyn NoiseSource) -> Result<Tensor> {
    let fresh = noise.randn(x0.shape(), x0.device())?;
    (fresh * f64::from(sigma_next))? + (x0 * f64::from(1.0 - sigma_next))?
}

/// Division by a scalar as a true division (candle's `Tensor / f64` multiplies by the
/// reciprocal, which is not what torch does).
pub(crate) fn div_scalar(t: &Tensor, divisor: f32) -> Result<Tensor> {
    t.broadcast_div(&Tensor::new(divisor, t.device())?.to_dtype(t.dtype())?)
}
