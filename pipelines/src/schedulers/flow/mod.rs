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
mod scheduler;
mod step_math;
pub mod unipc;

pub use config::{
    FLOW_CLASSES, FlowConfigError, FlowSchedulerConfig, MAX_STEPS, MAX_TRAIN_TIMESTEPS, check_steps,
};
pub use noise::{NoiseSource, QueuedNoise};
pub use scheduler::FlowScheduler;

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
