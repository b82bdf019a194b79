//! `scheduler_config.json` for the SD schedulers, with diffusers' key names and constructor
//! defaults. One struct holds the union of the keys the classes read, because a
//! folder's config may be used to build a class other than its own (`sd --scheduler`), as
//! diffusers' `from_config` allows; the keys whose default depends on the class are
//! resolved when that class is built. Keys no class here reads are ignored, as diffusers
//! ignores them; settings that would change the result but are not implemented are errors
//! from the scheduler that would have read them.

use serde::{Deserialize, Deserializer, de::Error as _};
use std::fmt;

/// The scheduler classes `build` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerClass {
    Pndm,
    Ddim,
    Euler,
    EulerAncestral,
    DpmSolver,
    Heun,
    Lms,
}

impl SchedulerClass {
    pub const ALL: [Self; 7] = [
        Self::Pndm,
        Self::Ddim,
        Self::Euler,
        Self::EulerAncestral,
        Self::DpmSolver,
        Self::Heun,
        Self::Lms,
    ];

    /// diffusers' class name, as `_class_name` carries it.
    pub const fn class_name(self) -> &'static str {
        match self {
            Self::Pndm => "PNDMScheduler",
            Self::Ddim => "DDIMScheduler",
            Self::Euler => "EulerDiscreteScheduler",
            Self::EulerAncestral => "EulerAncestralDiscreteScheduler",
            Self::DpmSolver => "DPMSolverMultistepScheduler",
            Self::Heun => "HeunDiscreteScheduler",
            Self::Lms => "LMSDiscreteScheduler",
        }
    }

    /// The name `sd --scheduler` takes.
    pub const fn short_name(self) -> &'static str {
        match self {
            Self::Pndm => "pndm",
            Self::Ddim => "ddim",
            Self::Euler => "euler",
            Self::EulerAncestral => "euler-a",
            Self::DpmSolver => "dpm++2m",
            Self::Heun => "heun",
            Self::Lms => "lms",
        }
    }

    /// The class a short name or a diffusers class name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.short_name() == name || c.class_name() == name)
    }

    /// diffusers' `timestep_spacing` default differs between the classes.
    fn default_spacing(self) -> Spacing {
        match self {
            Self::Ddim | Self::Pndm => Spacing::Leading,
            _ => Spacing::Linspace,
        }
    }

    /// `beta_start` and `beta_end` defaults: Heun's are SD's, the others' DDPM's.
    fn default_beta_range(self) -> (f64, f64) {
        match self {
            Self::Heun => (0.00085, 0.012),
            _ => (0.0001, 0.02),
        }
    }

    /// PLMS needs two timesteps to repeat the second-to-last one.
    fn min_steps(self) -> usize {
        match self {
            Self::Pndm => 2,
            _ => 1,
        }
    }

    /// The error for a setting the class defines that this port leaves out.
    pub(crate) fn unsupported(
        self,
        key: &'static str,
        value: impl fmt::Debug,
        supported: &'static str,
    ) -> SchedulerError {
        SchedulerError::Unsupported {
            class: self,
            key,
            value: format!("{value:?}"),
            supported,
        }
    }

    /// `prediction` for a class that, like diffusers' PNDM and ancestral Euler, has no
    /// branch for `sample`.
    pub(crate) fn epsilon_or_v(self, prediction: Prediction) -> Result<Prediction, SchedulerError> {
        if prediction == Prediction::Sample {
            return Err(self.unsupported(
                "prediction_type",
                Prediction::Sample.name(),
                "epsilon or v_prediction",
            ));
        }
        Ok(prediction)
    }

    /// Rejects the first of `flags` that is on: options that default to off and are not
    /// implemented.
    pub(crate) fn reject_flags(self, flags: &[(&'static str, bool)]) -> Result<(), SchedulerError> {
        match flags.iter().find(|(_, on)| *on) {
            Some((key, _)) => Err(self.unsupported(key, true, "false")),
            None => Ok(()),
        }
    }

    /// Rejects any value of a closed-set key but the one this port implements.
    pub(crate) fn only<T: ClosedSet>(self, got: T, want: T) -> Result<(), SchedulerError> {
        if got == want {
            return Ok(());
        }
        Err(self.unsupported(T::KEY, got.name(), want.name()))
    }
}

impl fmt::Display for SchedulerClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class_name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// Not a scheduler config: a value of the wrong type, or one outside a key's set.
    #[error("scheduler config: {0}")]
    Parse(#[from] serde_json::Error),
    /// `supported`: the names that would have been accepted, comma-separated.
    #[error("unknown scheduler {name:?} (supported: {supported})")]
    UnknownScheduler { name: String, supported: String },
    /// A setting diffusers defines that this port does not implement: refused rather than
    /// computing something else.
    #[error("{class} {key} {value} is not supported (only {supported})")]
    Unsupported {
        class: SchedulerClass,
        key: &'static str,
        value: String,
        supported: &'static str,
    },
    #[error(
        "{class} with {steps} steps repeats timestep {timestep} (the spacing leaves no room \
         between steps), so the solver would divide by zero; use fewer steps or \
         timestep_spacing \"trailing\""
    )]
    RepeatedTimestep {
        class: SchedulerClass,
        steps: usize,
        timestep: f64,
    },
    #[error(
        "{0}: only one of use_karras_sigmas, use_exponential_sigmas and use_beta_sigmas may \
         be set"
    )]
    ConflictingSigmas(SchedulerClass),
    #[error("num_train_timesteps {0} is outside 2..={MAX_TRAIN_TIMESTEPS}")]
    TrainTimesteps(usize),
    #[error("{class} needs between {min} and {max} steps, got {steps}")]
    Steps {
        class: SchedulerClass,
        steps: usize,
        min: usize,
        max: usize,
    },
}

/// A key whose value is one of a fixed list of diffusers' strings: anything else is an
/// error naming the key and the list, not a silent default.
pub trait ClosedSet: Copy + PartialEq + fmt::Debug + 'static {
    const KEY: &'static str;
    const ALL: &'static [Self];
    /// diffusers' string for the value.
    fn name(self) -> &'static str;
}

fn deserialize_closed_set<'de, D: Deserializer<'de>, T: ClosedSet>(d: D) -> Result<T, D::Error> {
    let text = String::deserialize(d).map_err(|e| D::Error::custom(format!("{}: {e}", T::KEY)))?;
    T::ALL
        .iter()
        .copied()
        .find(|v| v.name() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = T::ALL.iter().map(|v| v.name()).collect();
            D::Error::custom(format!(
                "{} {text:?} is not supported (expected one of: {})",
                T::KEY,
                names.join(", ")
            ))
        })
}

macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident, $key:literal, [$($variant:ident = $text:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant),+
        }

        impl ClosedSet for $name {
            const KEY: &'static str = $key;
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_closed_set(d)
            }
        }
    };
}

closed_set!(
    /// What the denoiser predicts. (diffusers' DPM-Solver also takes `flow_prediction`,
    /// which no scheduler here implements.)
    Prediction,
    "prediction_type",
    [Epsilon = "epsilon", VPrediction = "v_prediction", Sample = "sample"]
);

closed_set!(
    /// How `set_timesteps` spreads the steps over the training timesteps.
    Spacing,
    "timestep_spacing",
    [Leading = "leading", Trailing = "trailing", Linspace = "linspace"]
);

closed_set!(
    /// How the training betas run from `beta_start` to `beta_end`.
    BetaSchedule,
    "beta_schedule",
    [
        Linear = "linear",
        ScaledLinear = "scaled_linear",
        SquaredcosCapV2 = "squaredcos_cap_v2",
    ]
);

closed_set!(
    /// Euler: how sigmas between training timesteps are interpolated.
    Interpolation,
    "interpolation_type",
    [Linear = "linear", LogLinear = "log_linear"]
);

closed_set!(
    /// Euler: whether the model is fed training timesteps or sigma-derived ones.
    TimestepType,
    "timestep_type",
    [Discrete = "discrete", Continuous = "continuous"]
);

closed_set!(
    /// Euler and DPM-Solver: the sigma after the last step.
    FinalSigmas,
    "final_sigmas_type",
    [Zero = "zero", SigmaMin = "sigma_min"]
);

closed_set!(
    /// DPM-Solver's variant (`deis` is an alias diffusers maps to `dpmsolver++`).
    AlgorithmType,
    "algorithm_type",
    [
        DpmSolver = "dpmsolver",
        DpmSolverPlusPlus = "dpmsolver++",
        SdeDpmSolver = "sde-dpmsolver",
        SdeDpmSolverPlusPlus = "sde-dpmsolver++",
        Deis = "deis",
    ]
);

closed_set!(
    /// DPM-Solver's second-order update (`logrho`, `bh1` and `bh2` are aliases diffusers
    /// maps to `midpoint`).
    SolverType,
    "solver_type",
    [
        Midpoint = "midpoint",
        Heun = "heun",
        Logrho = "logrho",
        Bh1 = "bh1",
        Bh2 = "bh2",
    ]
);

closed_set!(
    /// DPM-Solver: a model that also predicts its variance.
    VarianceType,
    "variance_type",
    [Learned = "learned", LearnedRange = "learned_range"]
);

/// diffusers types these flags `bool | None` and saves `None` as `null`, meaning off.
fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// The most training timesteps a config may declare (the SD models use 1000): the tables
/// built from it are sized by it.
pub const MAX_TRAIN_TIMESTEPS: usize = 100_000;

/// The keys the SD schedulers read; a key a config leaves out takes diffusers' default
/// (see `Default`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct SchedulerConfig {
    #[serde(rename = "_class_name")]
    class_name: Option<String>,
    pub num_train_timesteps: usize,
    /// `None`: the built class's default (see [`SchedulerConfig::beta_range`]).
    pub beta_start: Option<f64>,
    pub beta_end: Option<f64>,
    pub beta_schedule: BetaSchedule,
    pub trained_betas: Option<Vec<f64>>,
    pub prediction_type: Prediction,
    /// `None`: the built class's default (see [`SchedulerConfig::spacing`]).
    pub timestep_spacing: Option<Spacing>,
    pub steps_offset: usize,
    pub rescale_betas_zero_snr: bool,
    /// DDIM and PNDM. `None`: the built class's default (see
    /// [`SchedulerConfig::alpha_to_one`]).
    pub set_alpha_to_one: Option<bool>,
    /// DDIM and Heun. `None`: the built class's default (see
    /// [`SchedulerConfig::clips_sample`]).
    pub clip_sample: Option<bool>,
    pub clip_sample_range: f64,
    /// DDIM and DPM-Solver.
    pub thresholding: bool,
    /// PNDM.
    pub skip_prk_steps: bool,
    /// Euler.
    pub interpolation_type: Interpolation,
    pub timestep_type: TimestepType,
    /// Euler and DPM-Solver.
    #[serde(deserialize_with = "null_as_false")]
    pub use_karras_sigmas: bool,
    #[serde(deserialize_with = "null_as_false")]
    pub use_exponential_sigmas: bool,
    #[serde(deserialize_with = "null_as_false")]
    pub use_beta_sigmas: bool,
    /// Euler's ends of a Karras or exponential schedule; diffusers' `from_config` keeps
    /// them in the config of every class built from it, and DPM-Solver reads them too.
    pub sigma_min: Option<f64>,
    pub sigma_max: Option<f64>,
    pub final_sigmas_type: FinalSigmas,
    /// DPM-Solver.
    pub solver_order: usize,
    pub algorithm_type: AlgorithmType,
    pub solver_type: SolverType,
    pub variance_type: Option<VarianceType>,
    pub use_lu_lambdas: bool,
    pub use_flow_sigmas: bool,
    pub euler_at_final: bool,
    /// DPM-Solver; diffusers saves its default as `-Infinity` (Python's json).
    pub lambda_min_clipped: f64,
}

/// diffusers' constructor defaults (`scheduling_ddim.py`, `scheduling_pndm.py`,
/// `scheduling_euler_discrete.py`, `scheduling_euler_ancestral_discrete.py`,
/// `scheduling_dpmsolver_multistep.py`, `scheduling_heun_discrete.py`,
/// `scheduling_lms_discrete.py`), which agree wherever two classes share a key
/// but for those left `None`.
impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            class_name: None,
            num_train_timesteps: 1000,
            beta_start: None,
            beta_end: None,
            beta_schedule: BetaSchedule::Linear,
            trained_betas: None,
            prediction_type: Prediction::Epsilon,
            timestep_spacing: None,
            steps_offset: 0,
            rescale_betas_zero_snr: false,
            set_alpha_to_one: None,
            clip_sample: None,
            clip_sample_range: 1.0,
            thresholding: false,
            skip_prk_steps: false,
            interpolation_type: Interpolation::Linear,
            timestep_type: TimestepType::Discrete,
            use_karras_sigmas: false,
            use_exponential_sigmas: false,
            use_beta_sigmas: false,
            sigma_min: None,
            sigma_max: None,
            final_sigmas_type: FinalSigmas::Zero,
            solver_order: 2,
            algorithm_type: AlgorithmType::DpmSolverPlusPlus,
            solver_type: SolverType::Midpoint,
            variance_type: None,
            use_lu_lambdas: false,
            use_flow_sigmas: false,
            euler_at_final: false,
            lambda_min_clipped: f64::NEG_INFINITY,
        }
    }
}

impl SchedulerConfig {
    pub fn from_value(value: serde_json::Value) -> Result<Self, SchedulerError> {
        Ok(serde_json::from_value(value)?)
    }

    /// The class the config was saved from, which `build` uses unless told otherwise.
    pub fn class_name(&self) -> Option<&str> {
        self.class_name.as_deref()
    }

    /// `timestep_spacing` as `class` reads it.
    pub fn spacing(&self, class: SchedulerClass) -> Spacing {
        self.timestep_spacing
            .unwrap_or_else(|| class.default_spacing())
    }

    /// `beta_start` and `beta_end` as `class` reads them.
    pub fn beta_range(&self, class: SchedulerClass) -> (f64, f64) {
        let (start, end) = class.default_beta_range();
        (
            self.beta_start.unwrap_or(start),
            self.beta_end.unwrap_or(end),
        )
    }

    /// `clip_sample` as `class` reads it: DDIM's default is true, Heun's false.
    pub fn clips_sample(&self, class: SchedulerClass) -> bool {
        self.clip_sample.unwrap_or(class == SchedulerClass::Ddim)
    }

    /// `set_alpha_to_one` as `class` reads it: DDIM's default is true, PNDM's false.
    pub fn alpha_to_one(&self, class: SchedulerClass) -> bool {
        self.set_alpha_to_one
            .unwrap_or(class == SchedulerClass::Ddim)
    }

    /// `alphas_cumprod` in float32, computed the way torch does in the scheduler's
    /// constructor (f32 linspace, cumulative product carried in f64), once the settings
    /// that would change it but are not implemented are refused and `steps` is known to
    /// fit.
    pub(crate) fn alphas_cumprod(
        &self,
        class: SchedulerClass,
        steps: usize,
    ) -> Result<Vec<f32>, SchedulerError> {
        class.reject_flags(&[("rescale_betas_zero_snr", self.rescale_betas_zero_snr)])?;
        if let Some(betas) = &self.trained_betas {
            return Err(class.unsupported(
                "trained_betas",
                format_args!("[{} values]", betas.len()),
                "null",
            ));
        }
        let n = self.num_train_timesteps;
        if !(2..=MAX_TRAIN_TIMESTEPS).contains(&n) {
            return Err(SchedulerError::TrainTimesteps(n));
        }
        let min = class.min_steps();
        if !(min..=n).contains(&steps) {
            return Err(SchedulerError::Steps {
                class,
                steps,
                min,
                max: n,
            });
        }
        let (start, end) = self.beta_range(class);
        let betas: Vec<f32> = match self.beta_schedule {
            BetaSchedule::Linear => super::schedule_math::linspace_f32(start as f32, end as f32, n),
            BetaSchedule::ScaledLinear => {
                super::schedule_math::linspace_f32(start.sqrt() as f32, end.sqrt() as f32, n)
                    .into_iter()
                    .map(|b| b * b)
                    .collect()
            }
            BetaSchedule::SquaredcosCapV2 => (0..n)
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
        };
        // torch's CPU cumprod carries the running product in f64 and rounds each output
        // to f32; a running f32 product drifts by a few ulps over 1000 steps.
        let mut acc = 1.0f64;
        Ok(betas
            .iter()
            .map(|b| {
                acc *= f64::from(1.0 - b);
                acc as f32
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<SchedulerConfig, SchedulerError> {
        SchedulerConfig::from_value(v)
    }

    #[test]
    fn closed_set_keys_reject_unknown_values_naming_the_key() {
        // The values diffusers' constructors accept (their Literal annotations and checks in
        // scheduling_ddim.py, scheduling_euler_discrete.py, scheduling_dpmsolver_multistep.py),
        // less DPM-Solver's flow_prediction, which is not ported.
        let keys: [(&str, &[&str]); 9] = [
            ("prediction_type", &["epsilon", "sample", "v_prediction"]),
            ("timestep_spacing", &["leading", "trailing", "linspace"]),
            (
                "beta_schedule",
                &["linear", "scaled_linear", "squaredcos_cap_v2"],
            ),
            ("interpolation_type", &["linear", "log_linear"]),
            ("timestep_type", &["discrete", "continuous"]),
            ("final_sigmas_type", &["zero", "sigma_min"]),
            (
                "algorithm_type",
                &[
                    "dpmsolver",
                    "dpmsolver++",
                    "sde-dpmsolver",
                    "sde-dpmsolver++",
                    "deis",
                ],
            ),
            ("solver_type", &["midpoint", "heun", "logrho", "bh1", "bh2"]),
            ("variance_type", &["learned", "learned_range"]),
        ];
        for (key, values) in keys {
            for value in values {
                assert!(parse(json!({ key: value })).is_ok(), "{key} {value}");
            }
            let err = parse(json!({ key: "bogus" })).expect_err(key).to_string();
            assert!(err.contains(key) && err.contains("\"bogus\""), "{err}");
            for value in values {
                assert!(err.contains(value), "{err} lists {value}");
            }
            let err = parse(json!({ key: 3 })).expect_err(key).to_string();
            assert!(err.contains(key), "{err}");
        }
        let err = parse(json!({"prediction_type": "flow_prediction"}))
            .expect_err("not ported")
            .to_string();
        assert!(err.contains("prediction_type"), "{err}");
    }

    #[test]
    fn a_sparse_config_takes_diffusers_defaults() {
        // The constructor defaults of diffusers' DDIMScheduler, PNDMScheduler,
        // EulerDiscreteScheduler, EulerAncestralDiscreteScheduler and
        // DPMSolverMultistepScheduler, read from their __init__ signatures.
        let c = parse(json!({"_class_name": "DDIMScheduler"})).expect("config");
        assert_eq!(c.class_name(), Some("DDIMScheduler"));
        assert_eq!(c.num_train_timesteps, 1000);
        assert_eq!(c.beta_range(SchedulerClass::Ddim), (0.0001, 0.02));
        assert_eq!(c.beta_range(SchedulerClass::Heun), (0.00085, 0.012));
        assert_eq!(c.beta_schedule, BetaSchedule::Linear);
        assert_eq!(c.trained_betas, None);
        assert_eq!(c.prediction_type, Prediction::Epsilon);
        assert_eq!(c.steps_offset, 0);
        assert!(!c.rescale_betas_zero_snr);
        assert!(c.clips_sample(SchedulerClass::Ddim));
        assert!(!c.clips_sample(SchedulerClass::Heun));
        assert_eq!(c.clip_sample_range, 1.0);
        assert!(!c.thresholding);
        assert!(!c.skip_prk_steps);
        assert_eq!(c.interpolation_type, Interpolation::Linear);
        assert_eq!(c.timestep_type, TimestepType::Discrete);
        assert!(!c.use_karras_sigmas && !c.use_exponential_sigmas && !c.use_beta_sigmas);
        assert_eq!(c.final_sigmas_type, FinalSigmas::Zero);
        assert_eq!(c.solver_order, 2);
        assert_eq!(c.algorithm_type, AlgorithmType::DpmSolverPlusPlus);
        assert_eq!(c.solver_type, SolverType::Midpoint);
        assert_eq!(c.variance_type, None);
        assert!(!c.use_lu_lambdas && !c.use_flow_sigmas && !c.euler_at_final);
        // The keys whose default depends on the class.
        use SchedulerClass::*;
        let spacing = [
            (Ddim, Spacing::Leading),
            (Pndm, Spacing::Leading),
            (Euler, Spacing::Linspace),
            (EulerAncestral, Spacing::Linspace),
            (DpmSolver, Spacing::Linspace),
        ];
        for (class, want) in spacing {
            assert_eq!(c.spacing(class), want, "{class}");
        }
        assert!(c.alpha_to_one(Ddim));
        assert!(!c.alpha_to_one(Pndm));
        // A key the config sets wins over every class's default.
        let c = parse(json!({"timestep_spacing": "trailing", "set_alpha_to_one": false}))
            .expect("config");
        assert_eq!(c.spacing(Euler), Spacing::Trailing);
        assert!(!c.alpha_to_one(Ddim));
    }

    #[test]
    fn nulls_diffusers_writes_for_none_read_as_unset() {
        let c = parse(json!({
            "trained_betas": null,
            "variance_type": null,
            "use_karras_sigmas": null,
            "use_exponential_sigmas": null,
            "use_beta_sigmas": null,
        }))
        .expect("config");
        assert_eq!(c, SchedulerConfig::default());
    }
}
