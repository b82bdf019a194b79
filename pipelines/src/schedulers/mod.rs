//! Noise schedulers matching diffusers 0.42: timesteps from `set_timesteps`, and `step`
//! on candle tensors. Each is configured from `scheduler_config.json`; keys a config leaves
//! out take that scheduler class's own diffusers default.

pub mod config;
pub mod ddim;
pub mod dpm_solver;
pub mod euler;
pub mod euler_ancestral;
pub mod flow;
pub mod heun;
pub mod lms;
pub mod pndm;
pub mod sampler;
pub mod schedule_math;
mod scheduler;
pub mod sigma_spacing;

pub use config::{
    AlgorithmType, BetaSchedule, ClosedSet, FinalSigmas, Interpolation, Prediction, SchedulerClass,
    SchedulerConfig, SchedulerError, SolverType, Spacing, TimestepType, VarianceType,
};

pub use sampler::Sampler;
pub use scheduler::Scheduler;

/// Builds the scheduler `kind` names (a listed sampler name, see [`sampler::names`], or a
/// diffusers class name), set to `steps` steps. `kind` need not be the config's own class:
/// keys the config leaves out take `kind`'s defaults, and a sampler name's settings (Karras
/// sigmas, the SDE variant) replace the config's, as diffusers' `from_config(config,
/// **overrides)` gives them.
pub fn build(
    kind: &str,
    config: &SchedulerConfig,
    steps: usize,
) -> std::result::Result<Box<dyn Scheduler>, SchedulerError> {
    sampler::parse(kind)?.build(config, steps)
}

impl Sampler {
    /// This sampler over `config`, set to `steps` steps.
    pub fn build(
        &self,
        config: &SchedulerConfig,
        steps: usize,
    ) -> std::result::Result<Box<dyn Scheduler>, SchedulerError> {
        let config = &self.configure(config);
        Ok(match self.class {
            SchedulerClass::Ddim => Box::new(ddim::Ddim::new(config, steps)?),
            SchedulerClass::Pndm => Box::new(pndm::Pndm::new(config, steps)?),
            SchedulerClass::Euler => Box::new(euler::Euler::new(config, steps)?),
            SchedulerClass::EulerAncestral => {
                Box::new(euler_ancestral::EulerAncestral::new(config, steps)?)
            }
            SchedulerClass::DpmSolver => Box::new(dpm_solver::DpmSolver::new(config, steps)?),
            SchedulerClass::Heun => Box::new(heun::Heun::new(config, steps)?),
            SchedulerClass::Lms => Box::new(lms::Lms::new(config, steps)?),
        })
    }
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
            (
                "EulerDiscreteScheduler",
                serde_json::json!({"use_beta_sigmas": true}),
            ),
            (
                "EulerDiscreteScheduler",
                serde_json::json!({"use_karras_sigmas": true, "use_exponential_sigmas": true}),
            ),
            (
                "DPMSolverMultistepScheduler",
                serde_json::json!({"algorithm_type": "sde-dpmsolver"}),
            ),
            ("dpm++2m", serde_json::json!({"solver_order": 3})),
            ("unipc", serde_json::json!({})),
        ];
        for (kind, v) in cases {
            assert!(built(kind, v.clone(), 10).is_err(), "{kind} {v}");
        }
        assert!(built("ddim", serde_json::json!({}), 0).is_err());
        assert!(built("ddim", serde_json::json!({}), 1001).is_err());
    }

    #[test]
    fn a_dpm_schedule_that_repeats_a_timestep_is_refused_not_run_into_nan() {
        // "leading": step ratio 1000 // (1000 + 1) = 0, every timestep is steps_offset.
        let leading = serde_json::json!({"timestep_spacing": "leading", "steps_offset": 1});
        let err = built("dpm++2m", leading.clone(), 1000).unwrap_err();
        assert!(
            matches!(err, SchedulerError::RepeatedTimestep { steps: 1000, .. }),
            "{err}"
        );
        assert!(built("dpm++2m", leading, 499).is_ok());
        assert!(
            built(
                "dpm++2m",
                serde_json::json!({"timestep_spacing": "trailing"}),
                1000
            )
            .is_ok()
        );
    }

    #[test]
    fn unported_settings_name_class_key_and_value() {
        let c = SchedulerConfig::from_value(serde_json::json!({"algorithm_type": "sde-dpmsolver"}))
            .expect("config");
        let err = build("DPMSolverMultistepScheduler", &c, 10)
            .expect_err("noise-prediction SDE is not ported")
            .to_string();
        assert_eq!(
            err,
            "DPMSolverMultistepScheduler algorithm_type \"sde-dpmsolver\" is not supported \
             (only dpmsolver++ or sde-dpmsolver++)"
        );
        // A sampler name sets the algorithm itself.
        assert!(build("dpm++2m", &c, 10).is_ok());
        // The same config builds a class that does not read the key.
        assert!(build("ddim", &c, 10).is_ok());
        let plms = SchedulerConfig::from_value(serde_json::json!({"skip_prk_steps": true}))
            .expect("config");
        let err = build("pndm", &plms, 1)
            .expect_err("PLMS needs two steps")
            .to_string();
        assert!(
            err.contains("PNDMScheduler") && err.contains("got 1"),
            "{err}"
        );
    }
}
