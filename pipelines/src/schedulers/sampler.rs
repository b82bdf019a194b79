//! The samplers named by `sd --scheduler`: this project's short names and AUTOMATIC1111's,
//! each a scheduler class plus the `from_config` overrides that diffusers' scheduler
//! overview gives for it (docs/source/en/api/schedulers/overview.md: "DPM++ 2M Karras" is
//! `DPMSolverMultistepScheduler` with `use_karras_sigmas=True`, and so on). A1111's schedule
//! types "Karras" and "Exponential" are the two sigma flags.

use super::config::{AlgorithmType, SchedulerClass, SchedulerConfig, SchedulerError};
use super::sigma_spacing::SigmaSpacing;

/// A scheduler class and what a name fixes of its config; `None` leaves the config's own
/// setting (the classes that do not read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampler {
    pub class: SchedulerClass,
    pub spacing: Option<SigmaSpacing>,
    pub algorithm: Option<AlgorithmType>,
}

const fn sampler(
    class: SchedulerClass,
    spacing: Option<SigmaSpacing>,
    algorithm: Option<AlgorithmType>,
) -> Sampler {
    Sampler {
        class,
        spacing,
        algorithm,
    }
}

use AlgorithmType::{DpmSolverPlusPlus as Ode, SdeDpmSolverPlusPlus as Sde};
use SchedulerClass::{Ddim, DpmSolver, Euler, EulerAncestral, Heun, Lms, Pndm};
use SigmaSpacing::{AtTimesteps, Exponential, Karras};

/// Every accepted name, in the order `--help` lists them: the short names, then A1111's.
/// A short name is the same sampler as its A1111 name, and the one a spelling of both
/// (`DDIM`, `ddim`) resolves to, so that runs keep recording the short names.
const TABLE: [(&str, Sampler); 24] = [
    ("pndm", sampler(Pndm, None, None)),
    ("ddim", sampler(Ddim, None, None)),
    ("euler", sampler(Euler, Some(AtTimesteps), None)),
    ("euler-a", sampler(EulerAncestral, None, None)),
    ("dpm++2m", sampler(DpmSolver, Some(AtTimesteps), Some(Ode))),
    ("heun", sampler(Heun, Some(AtTimesteps), None)),
    ("lms", sampler(Lms, Some(AtTimesteps), None)),
    ("DDIM", sampler(Ddim, None, None)),
    ("PLMS", sampler(Pndm, None, None)),
    ("Euler", sampler(Euler, Some(AtTimesteps), None)),
    ("Euler Karras", sampler(Euler, Some(Karras), None)),
    ("Euler Exponential", sampler(Euler, Some(Exponential), None)),
    ("Euler a", sampler(EulerAncestral, None, None)),
    ("DPM++ 2M", sampler(DpmSolver, Some(AtTimesteps), Some(Ode))),
    (
        "DPM++ 2M Karras",
        sampler(DpmSolver, Some(Karras), Some(Ode)),
    ),
    (
        "DPM++ 2M Exponential",
        sampler(DpmSolver, Some(Exponential), Some(Ode)),
    ),
    (
        "DPM++ 2M SDE",
        sampler(DpmSolver, Some(AtTimesteps), Some(Sde)),
    ),
    (
        "DPM++ 2M SDE Karras",
        sampler(DpmSolver, Some(Karras), Some(Sde)),
    ),
    (
        "DPM++ 2M SDE Exponential",
        sampler(DpmSolver, Some(Exponential), Some(Sde)),
    ),
    ("Heun", sampler(Heun, Some(AtTimesteps), None)),
    ("Heun Karras", sampler(Heun, Some(Karras), None)),
    ("Heun Exponential", sampler(Heun, Some(Exponential), None)),
    ("LMS", sampler(Lms, Some(AtTimesteps), None)),
    ("LMS Karras", sampler(Lms, Some(Karras), None)),
];

/// How many of [`TABLE`]'s names are short ones.
const SHORT: usize = 7;

/// The names `sd --scheduler` lists.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

/// Case, spaces, hyphens and underscores do not tell names apart: "dpm++_2m_karras" and
/// "DPM++ 2M Karras" are one name, as are "euler-a" and "Euler a".
fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Sampler {
    /// The listed name `name` spells (see [`folded`]), and its sampler.
    pub fn from_name(name: &str) -> Option<(&'static str, Self)> {
        let key = folded(name);
        TABLE.iter().copied().find(|(n, _)| folded(n) == key)
    }

    /// `config` with this sampler's settings, as `from_config(config, **overrides)` gives.
    pub fn configure(&self, config: &SchedulerConfig) -> SchedulerConfig {
        let mut config = config.clone();
        if let Some(spacing) = self.spacing {
            config.use_karras_sigmas = spacing == Karras;
            config.use_exponential_sigmas = spacing == Exponential;
            config.use_beta_sigmas = false;
        }
        if let Some(algorithm) = self.algorithm {
            config.algorithm_type = algorithm;
        }
        config
    }

    /// A1111's name for `class` run with `config` as it is: the schedule type and the
    /// SDE variant come from the config's own settings. `None` for a setting no name has.
    pub fn a1111_name(class: SchedulerClass, config: &SchedulerConfig) -> Option<&'static str> {
        let spacing = SigmaSpacing::from_config(config, class).ok()?;
        TABLE[SHORT..]
            .iter()
            .find(|(_, s)| {
                s.class == class
                    && s.spacing.is_none_or(|want| want == spacing)
                    && s.algorithm.is_none_or(|want| want == config.algorithm_type)
            })
            .map(|(name, _)| *name)
    }
}

impl From<SchedulerClass> for Sampler {
    /// The class with its config as it is (diffusers' `from_config` without overrides).
    fn from(class: SchedulerClass) -> Self {
        sampler(class, None, None)
    }
}

/// The sampler a short name, an A1111 name or a diffusers class name stands for.
pub fn parse(name: &str) -> Result<Sampler, SchedulerError> {
    if let Some(class) = SchedulerClass::ALL
        .into_iter()
        .find(|c| c.class_name() == name)
    {
        return Ok(class.into());
    }
    Sampler::from_name(name)
        .map(|(_, s)| s)
        .ok_or_else(|| SchedulerError::UnknownScheduler {
            name: name.to_string(),
            supported: names().collect::<Vec<_>>().join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_fold_to_the_listed_names() {
        for (typed, listed) in [
            ("dpm++ 2m karras", "DPM++ 2M Karras"),
            ("DPM++_2M_SDE_KARRAS", "DPM++ 2M SDE Karras"),
            ("dpm++2m-sde", "DPM++ 2M SDE"),
            ("euler a", "euler-a"),
            ("Euler-A", "euler-a"),
            ("EULER", "euler"),
            ("euler karras", "Euler Karras"),
            ("plms", "PLMS"),
        ] {
            assert_eq!(Sampler::from_name(typed).map(|(n, _)| n), Some(listed));
        }
        for unknown in ["lms a", "dpm++ 2m karass", "", "Euler a Karras", "unipc"] {
            assert!(Sampler::from_name(unknown).is_none(), "{unknown}");
        }
    }

    #[test]
    fn each_short_name_is_the_a1111_sampler_it_stands_for() {
        for (short, a1111) in [
            ("pndm", "PLMS"),
            ("ddim", "DDIM"),
            ("euler", "Euler"),
            ("euler-a", "Euler a"),
            ("dpm++2m", "DPM++ 2M"),
            ("heun", "Heun"),
            ("lms", "LMS"),
        ] {
            assert_eq!(
                Sampler::from_name(short).map(|(_, s)| s),
                Sampler::from_name(a1111).map(|(_, s)| s)
            );
        }
    }

    #[test]
    fn every_a1111_name_is_what_its_own_config_is_called() {
        let base = SchedulerConfig::default();
        for (name, s) in &TABLE[SHORT..] {
            let config = s.configure(&base);
            assert_eq!(Sampler::a1111_name(s.class, &config), Some(*name));
        }
    }

    #[test]
    fn a_named_schedule_replaces_the_configs_own() {
        let mut karras = SchedulerConfig::default();
        karras.use_karras_sigmas = true;
        let plain = parse("Euler").expect("listed").configure(&karras);
        assert!(!plain.use_karras_sigmas && !plain.use_exponential_sigmas);
        let exp = parse("Euler Exponential")
            .expect("listed")
            .configure(&karras);
        assert!(!exp.use_karras_sigmas && exp.use_exponential_sigmas);
        // A class name keeps the config as it is.
        let own = parse("EulerDiscreteScheduler")
            .expect("class")
            .configure(&karras);
        assert_eq!(own, karras);
        assert_eq!(Sampler::a1111_name(Euler, &own), Some("Euler Karras"));
    }
}
