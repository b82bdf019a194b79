//! `scheduler_config.json` for the flow-matching schedulers, with diffusers' key names and
//! defaults. Keys these schedulers do not read are ignored, as diffusers ignores them;
//! settings that would change the result but are not implemented are errors.

use serde::Deserialize;
use std::path::Path;

/// The most steps a schedule is built with. The released HiDream models take 16 to 50;
/// the bound keeps a typo or a hostile number from sizing the schedule's vectors (a
/// `usize::MAX` request would overflow their capacity, 2^32 would exhaust memory).
pub const MAX_STEPS: usize = 10_000;

/// The largest `num_train_timesteps` a config may give. Every released config says 1000;
/// the value scales the timesteps fed to the transformer, so far larger ones only come
/// from a corrupt file.
pub const MAX_TRAIN_TIMESTEPS: usize = 1_000_000;

/// Fails unless `steps` is between 1 and [`MAX_STEPS`].
pub fn check_steps(steps: usize) -> Result<(), FlowConfigError> {
    if (1..=MAX_STEPS).contains(&steps) {
        Ok(())
    } else {
        Err(FlowConfigError::Invalid(format!(
            "the number of steps must be between 1 and {MAX_STEPS}, not {steps}"
        )))
    }
}

/// The classes `build` accepts.
pub const FLOW_CLASSES: [&str; 3] = [
    "FlowMatchEulerDiscreteScheduler",
    "FlashFlowMatchEulerDiscreteScheduler",
    "UniPCMultistepScheduler",
];

#[derive(Debug, thiserror::Error)]
pub enum FlowConfigError {
    #[error("cannot read scheduler config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("scheduler config {path} is not valid JSON for a scheduler: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("unknown scheduler class {0:?} (supported: {list})", list = FLOW_CLASSES.join(", "))]
    UnknownClass(String),
    #[error("{class}: {setting} is not supported")]
    Unsupported { class: String, setting: String },
    #[error("{0}")]
    Invalid(String),
}

fn thousand() -> usize {
    1000
}
fn one() -> f64 {
    1.0
}
fn two() -> usize {
    2
}
fn yes() -> bool {
    true
}
fn epsilon() -> String {
    "epsilon".into()
}
fn bh2() -> String {
    "bh2".into()
}
fn zero() -> String {
    "zero".into()
}
fn exponential() -> String {
    "exponential".into()
}

/// The union of the keys the three classes read; each class's defaults as in diffusers.
#[derive(Debug, Clone, Deserialize)]
pub struct FlowSchedulerConfig {
    #[serde(rename = "_class_name")]
    pub class_name: String,
    #[serde(default = "thousand")]
    pub num_train_timesteps: usize,
    /// FlowMatchEuler (and flash): the static timestep shift.
    #[serde(default = "one")]
    pub shift: f64,
    #[serde(default)]
    pub use_dynamic_shifting: bool,
    #[serde(default = "exponential")]
    pub time_shift_type: String,
    #[serde(default)]
    pub invert_sigmas: bool,
    #[serde(default)]
    pub shift_terminal: Option<f64>,
    #[serde(default)]
    pub use_karras_sigmas: bool,
    #[serde(default)]
    pub use_exponential_sigmas: bool,
    #[serde(default)]
    pub use_beta_sigmas: bool,
    /// FlowMatchEuler: re-noise every step (what the flash class always does).
    #[serde(default)]
    pub stochastic_sampling: bool,
    /// UniPC: the shift applied to flow sigmas.
    #[serde(default = "one")]
    pub flow_shift: f64,
    #[serde(default)]
    pub use_flow_sigmas: bool,
    #[serde(default = "epsilon")]
    pub prediction_type: String,
    #[serde(default = "two")]
    pub solver_order: usize,
    #[serde(default = "bh2")]
    pub solver_type: String,
    #[serde(default = "yes")]
    pub predict_x0: bool,
    #[serde(default = "yes")]
    pub lower_order_final: bool,
    #[serde(default)]
    pub disable_corrector: Vec<usize>,
    #[serde(default)]
    pub thresholding: bool,
    #[serde(default = "zero")]
    pub final_sigmas_type: String,
}

impl FlowSchedulerConfig {
    pub fn from_json(text: &str, origin: &str) -> Result<Self, FlowConfigError> {
        crate::python_json::from_str(text).map_err(|source| FlowConfigError::Parse {
            path: origin.to_string(),
            source,
        })
    }

    pub fn from_file(path: &Path) -> Result<Self, FlowConfigError> {
        let text = crate::input_file::read_text(path).map_err(|source| FlowConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// The config with its timestep shift replaced (`hidream --shift`): `flow_shift` for
    /// UniPC, `shift` for the Euler classes.
    pub fn with_shift(mut self, shift: f64) -> Self {
        if self.class_name == "UniPCMultistepScheduler" {
            self.flow_shift = shift;
        } else {
            self.shift = shift;
        }
        self
    }

    pub(crate) fn unsupported(&self, setting: impl Into<String>) -> FlowConfigError {
        FlowConfigError::Unsupported {
            class: self.class_name.clone(),
            setting: setting.into(),
        }
    }

    /// Rejects the sigma-schedule options shared by every class that this port leaves out.
    pub(crate) fn reject_unported_sigmas(&self) -> Result<(), FlowConfigError> {
        let flags = [
            ("use_dynamic_shifting", self.use_dynamic_shifting),
            ("use_karras_sigmas", self.use_karras_sigmas),
            ("use_exponential_sigmas", self.use_exponential_sigmas),
            ("use_beta_sigmas", self.use_beta_sigmas),
            ("invert_sigmas", self.invert_sigmas),
        ];
        if let Some((name, _)) = flags.iter().find(|(_, on)| *on) {
            return Err(self.unsupported(format!("{name}=true")));
        }
        if self.shift_terminal.is_some_and(|v| v != 0.0) {
            return Err(self.unsupported("shift_terminal"));
        }
        Ok(())
    }

    /// The schedule's sizes: `steps` and `num_train_timesteps` within their bounds, checked
    /// before anything is sized from them.
    pub(crate) fn check_counts(&self, steps: usize) -> Result<(), FlowConfigError> {
        if !(1..=MAX_TRAIN_TIMESTEPS).contains(&self.num_train_timesteps) {
            return Err(FlowConfigError::Invalid(format!(
                "num_train_timesteps must be between 1 and {MAX_TRAIN_TIMESTEPS}, not {}",
                self.num_train_timesteps
            )));
        }
        check_steps(steps)
    }
}
