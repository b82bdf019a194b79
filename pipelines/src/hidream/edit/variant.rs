//! The two released editing models and the settings their official scripts use.

use crate::hidream::HiDreamError;
use crate::hidream::edit_image::SourceSizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditVariant {
    /// HiDream-E1-Full: a rank-16 LoRA (plus a few full tensors) on HiDream-I1-Full,
    /// 768x768 inputs (`inference.py`).
    E1Full,
    /// HiDream-E1.1: a fully fine-tuned transformer, ~1 MP inputs of any aspect ratio
    /// (`inference_e1_1.py`).
    E1_1,
}

/// What one edit runs with; [`EditVariant::defaults`] gives the official scripts' values.
#[derive(Debug, Clone, PartialEq)]
pub struct EditSettings {
    pub steps: usize,
    /// Text guidance `g` (guidance is off at 1.0 or below, as in the reference).
    pub guidance_scale: f64,
    /// Image guidance `ig`.
    pub image_guidance_scale: f64,
    /// Fraction of the steps, at the end, run by the refine stage (0 disables it).
    pub refine_strength: f64,
    pub clip_cfg_norm: bool,
    pub negative_prompt: String,
    pub sizing: SourceSizing,
    /// The transformer's `max_seq` the scripts set (non-square inputs are padded to it, and
    /// padded keys are zeroed rather than masked, so it changes the numbers).
    pub max_seq: usize,
}

impl EditVariant {
    pub fn name(self) -> &'static str {
        match self {
            EditVariant::E1Full => "e1-full",
            EditVariant::E1_1 => "e1.1",
        }
    }

    pub fn parse(name: &str) -> Result<Self, HiDreamError> {
        match name {
            "e1-full" => Ok(EditVariant::E1Full),
            "e1.1" => Ok(EditVariant::E1_1),
            other => Err(HiDreamError::InvalidInput(format!(
                "--variant {other}: expected e1-full or e1.1"
            ))),
        }
    }

    /// clip_cfg_norm is on for both: the current editing pipeline defaults to it and
    /// E1-Full's script does not turn it off.
    pub fn defaults(self) -> EditSettings {
        match self {
            EditVariant::E1Full => EditSettings {
                steps: 28,
                guidance_scale: 5.0,
                image_guidance_scale: 4.0,
                refine_strength: 0.3,
                clip_cfg_norm: true,
                negative_prompt: "low resolution, blur".into(),
                sizing: SourceSizing::Square(768),
                max_seq: 4608,
            },
            EditVariant::E1_1 => EditSettings {
                steps: 28,
                guidance_scale: 3.0,
                image_guidance_scale: 1.5,
                refine_strength: 0.3,
                clip_cfg_norm: true,
                negative_prompt: "low quality, blurry, distorted".into(),
                sizing: SourceSizing::Area(1024),
                max_seq: 8192,
            },
        }
    }
}

/// Values a user set explicitly; `None` keeps the variant's default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SettingOverrides {
    pub steps: Option<usize>,
    pub guidance_scale: Option<f64>,
    pub image_guidance_scale: Option<f64>,
    pub refine_strength: Option<f64>,
}

impl EditSettings {
    /// These settings with every explicitly set value replaced.
    pub fn overridden(mut self, o: SettingOverrides) -> Self {
        self.steps = o.steps.unwrap_or(self.steps);
        self.guidance_scale = o.guidance_scale.unwrap_or(self.guidance_scale);
        self.image_guidance_scale = o.image_guidance_scale.unwrap_or(self.image_guidance_scale);
        self.refine_strength = o.refine_strength.unwrap_or(self.refine_strength);
        self
    }

    /// Checks every number before anything is sized or computed from it. Messages name
    /// the flags both `hidream edit` and `hidream-edit` take.
    pub fn validate(&self) -> Result<(), HiDreamError> {
        let bad = |m: String| Err(HiDreamError::InvalidInput(m));
        if let Err(e) = crate::schedulers::flow::check_steps(self.steps) {
            return bad(format!("--steps {}: {e}", self.steps));
        }
        // NaN fails `contains` too.
        if !(0.0..=1.0).contains(&self.refine_strength) {
            return bad(format!(
                "--refine-strength {}: must be between 0 and 1",
                self.refine_strength
            ));
        }
        for (flag, value) in [
            ("--guidance", self.guidance_scale),
            ("--image-guidance", self.image_guidance_scale),
        ] {
            if !value.is_finite() {
                return bad(format!("{flag} {value}: must be a finite number"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_name_the_flag() {
        for v in [EditVariant::E1Full, EditVariant::E1_1] {
            assert_eq!(EditVariant::parse(v.name()).unwrap(), v);
        }
        let err = EditVariant::parse("e2").unwrap_err().to_string();
        assert!(err.contains("--variant e2"), "{err}");
    }

    #[test]
    fn refine_strength_outside_unit_interval_is_refused() {
        let mut s = EditVariant::E1_1.defaults();
        s.refine_strength = 1.5;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("--refine-strength 1.5"), "{err}");
        s.refine_strength = f64::NAN;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("--refine-strength NaN"), "{err}");
    }

    #[test]
    fn step_counts_are_bounded_and_messages_name_the_flags_users_type() {
        for steps in [0, usize::MAX, u32::MAX as usize] {
            let s = EditVariant::E1Full.defaults().overridden(SettingOverrides {
                steps: Some(steps),
                ..SettingOverrides::default()
            });
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("--steps {steps}")), "{err}");
        }
        let mut s = EditVariant::E1_1.defaults();
        s.guidance_scale = f64::INFINITY;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("--guidance inf"), "{err}");
        s.guidance_scale = 3.0;
        s.image_guidance_scale = f64::NAN;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("--image-guidance NaN"), "{err}");
    }
}
