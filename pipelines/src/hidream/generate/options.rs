//! What a text-to-image run is asked for, and each HiDream-I1 variant's defaults
//! (the values HiDream-I1's own inference script uses per model).

use crate::hidream::size::SizeRule;
use candle_core::Tensor;
use std::str::FromStr;

/// HiDream-I1's three released models. The scheduler class comes from the model folder's
/// `scheduler/scheduler_config.json`; the variant only sets the defaults below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Flow UniPC, 50 steps, guidance 5.0, shift 3.0.
    Full,
    /// Flash flow-match Euler, 28 steps, no CFG (guidance 0), shift 6.0.
    Dev,
    /// Flash flow-match Euler, 16 steps, no CFG (guidance 0), shift 3.0.
    Fast,
}

impl Variant {
    /// The spelling [`FromStr`] reads, for reports and command lines.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Full => "full",
            Variant::Dev => "dev",
            Variant::Fast => "fast",
        }
    }

    pub fn steps(self) -> usize {
        match self {
            Variant::Full => 50,
            Variant::Dev => 28,
            Variant::Fast => 16,
        }
    }

    pub fn guidance(self) -> f64 {
        match self {
            Variant::Full => 5.0,
            Variant::Dev | Variant::Fast => 0.0,
        }
    }

    pub fn shift(self) -> f64 {
        match self {
            Variant::Full | Variant::Fast => 3.0,
            Variant::Dev => 6.0,
        }
    }

    /// The `_class_name` the released model's scheduler config carries.
    pub fn scheduler_class(self) -> &'static str {
        match self {
            Variant::Full => "UniPCMultistepScheduler",
            Variant::Dev | Variant::Fast => "FlashFlowMatchEulerDiscreteScheduler",
        }
    }
}

/// A `--variant` value that names none of the three models.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--variant {0:?}: expected full, dev or fast")]
pub struct UnknownVariant(pub String);

impl FromStr for Variant {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, UnknownVariant> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Variant::Full),
            "dev" => Ok(Variant::Dev),
            "fast" => Ok(Variant::Fast),
            other => Err(UnknownVariant(other.to_string())),
        }
    }
}

/// One run's settings. `width`/`height` are the request; the size rule decides what is
/// generated, as in diffusers.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub steps: usize,
    /// CFG scale; at or below 1 no negative batch is run (diffusers' rule).
    pub guidance: f64,
    /// Replaces the scheduler config's shift (`flow_shift` for UniPC) when set.
    pub shift: Option<f64>,
    /// Seeds both the initial latents and the flash scheduler's per-step noise.
    pub seed: u64,
    pub width: usize,
    pub height: usize,
    pub size_rule: SizeRule,
    /// Start from these latents instead of drawing them (`[b, channels, h/8, w/8]`).
    pub latents: Option<Tensor>,
}

impl GenerateOptions {
    /// The variant's steps, guidance and shift at 1024 x 1024, seed 0.
    pub fn for_variant(variant: Variant) -> Self {
        Self {
            steps: variant.steps(),
            guidance: variant.guidance(),
            shift: Some(variant.shift()),
            seed: 0,
            width: 1024,
            height: 1024,
            size_rule: SizeRule::HIDREAM_I1,
            latents: None,
        }
    }

    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn with_size(mut self, width: usize, height: usize) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// diffusers' `do_classifier_free_guidance`.
    pub fn uses_cfg(&self) -> bool {
        self.guidance > 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse_and_carry_the_published_defaults() {
        // HiDream-I1's inference.py: full (50, 5.0, 3.0), dev (28, 0.0, 6.0), fast (16, 0.0, 3.0).
        for (name, steps, guidance, shift) in [
            ("full", 50, 5.0, 3.0),
            ("Dev", 28, 0.0, 6.0),
            ("fast", 16, 0.0, 3.0),
        ] {
            let v: Variant = name.parse().expect(name);
            assert_eq!(v.name(), name.to_ascii_lowercase());
            assert_eq!(
                (v.steps(), v.guidance(), v.shift()),
                (steps, guidance, shift)
            );
        }
        let err = "turbo".parse::<Variant>().unwrap_err().to_string();
        assert!(err.contains("--variant"), "{err}");
        assert!(!GenerateOptions::for_variant(Variant::Dev).uses_cfg());
        assert!(GenerateOptions::for_variant(Variant::Full).uses_cfg());
    }
}
