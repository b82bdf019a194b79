//! `--device auto` (the default of every image program) and the environment's
//! `PREFERRED_DEVICE` / `PREFERRED_DTYPE`, through the device crate's own selection: NPU,
//! then CUDA, then CPU, unless the user says otherwise; a device the user names and that
//! is not there is an error, never replaced. The choice and its reason are one line.
//!
//! The pipelines run on candle, which has no NPU backend and has CUDA only when built
//! with it. Without a preference, a device this build cannot run on is passed over for
//! the CPU, and the line says so; with a preference, the program's own refusal explains.

use crate::exit::{Failure, bad};
use device::select::select;
use device::{DType, Device, Discovery, EnvSource, Preferences, ProcessEnv, SelectError};
use std::fmt;
use std::str::FromStr;

/// `--device`: `auto` or one device (`cpu`, `cuda`, `cuda:N`, `npu`, `npu:N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceFlag {
    Auto,
    /// As typed: `cuda` (the first one) is resolved by the selection.
    Named(String),
}

impl FromStr for DeviceFlag {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        // Checked here so a typo is a usage error naming the flag's forms.
        text.parse::<device::DeviceRequest>()
            .map(|_| Self::Named(text.to_string()))
            .map_err(|e| format!("{e} (or auto)"))
    }
}

impl DeviceFlag {
    /// The NPU index a `--device npu[:N]` names: programs that cannot run there yet say
    /// so before looking for one, whether or not this host has it.
    pub fn names_npu(&self) -> Option<usize> {
        let Self::Named(text) = self else {
            return None;
        };
        match text.parse::<device::DeviceRequest>().ok()? {
            device::DeviceRequest::Kind(device::DeviceKind::Npu) => Some(0),
            device::DeviceRequest::Exact(Device::Npu(i)) => Some(i),
            _ => None,
        }
    }
}

impl fmt::Display for DeviceFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Named(text) => f.write_str(text),
        }
    }
}

/// The device and dtype a run uses, and the line that says why.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub device: Device,
    pub dtype: DType,
    pub line: String,
}

fn refused(e: SelectError) -> Failure {
    bad(e.to_string())
}

/// Whether this build's pipelines can run on `device`.
fn runs_here(device: Device) -> bool {
    device.to_candle().is_ok()
}

/// Chooses for `flag` and `dtype` (`None`: the device's own, or `default_dtype` where the
/// program has one, such as HiDream's bf16), with the environment's preferences under the
/// flags. `discover` runs only when a device must be looked for.
pub fn choose(
    flag: &DeviceFlag,
    dtype: Option<DType>,
    default_dtype: Option<DType>,
    env: &impl EnvSource,
    discover: impl FnOnce() -> Discovery,
) -> Result<Choice, Failure> {
    let mut prefs = Preferences::from_env(env).map_err(refused)?;
    if let DeviceFlag::Named(text) = flag {
        prefs = prefs.with_device(text, "--device").map_err(refused)?;
    }
    if let Some(dtype) = dtype {
        prefs = prefs
            .with_dtype(dtype.as_str(), "--dtype")
            .map_err(refused)?;
    }
    let asked = prefs.device.is_some();
    let discovery = discover();
    let mut selection = select(&discovery, &prefs).map_err(refused)?;
    if !asked && !runs_here(selection.device) {
        let passed_over = selection.device;
        let cpu_prefs = Preferences {
            device: Some((device::DeviceRequest::Exact(Device::Cpu), String::new())),
            dtype: prefs.dtype.clone(),
        };
        selection = select(&discovery, &cpu_prefs).map_err(refused)?;
        selection.reason = format!(
            "{passed_over} found, but this build's pipelines do not run on it; using the CPU"
        );
    }
    let dtype_reason = match (&prefs.dtype, default_dtype) {
        (Some((_, source)), _) => source.clone(),
        (None, Some(default)) if selection.info.supports(default) => {
            selection.dtype = default;
            "the program's default".to_string()
        }
        (None, _) => format!("best on {}", selection.device),
    };
    let line = format!(
        "device: {} ({}); dtype: {} ({dtype_reason})",
        selection.device,
        selection.reason,
        selection.dtype.as_str()
    );
    Ok(Choice {
        device: selection.device,
        dtype: selection.dtype,
        line,
    })
}

/// [`choose`] with this process's environment and devices, the line printed on stderr.
pub fn choose_here(
    flag: &DeviceFlag,
    dtype: Option<DType>,
    default_dtype: Option<DType>,
) -> Result<Choice, Failure> {
    let choice = choose(flag, dtype, default_dtype, &ProcessEnv, || {
        Discovery::from_env(&ProcessEnv)
    })?;
    eprintln!("{}", choice.line);
    Ok(choice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use device::MapEnv;

    fn env(pairs: &[(&str, &str)]) -> MapEnv {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cpu_only() -> Discovery {
        Discovery::run(&device::DiscoveryConfig::cpu_only())
    }

    #[test]
    fn auto_without_preferences_takes_the_cpu_here_in_f32() {
        let c = choose(&DeviceFlag::Auto, None, None, &env(&[]), cpu_only).unwrap();
        assert_eq!((c.device, c.dtype), (Device::Cpu, DType::F32));
        assert!(c.line.contains("no NPU or CUDA device found"), "{}", c.line);
    }

    #[test]
    fn the_environment_is_honoured_and_named() {
        let e = env(&[("PREFERRED_DEVICE", "cpu"), ("PREFERRED_DTYPE", "bf16")]);
        let c = choose(&DeviceFlag::Auto, None, None, &e, cpu_only).unwrap();
        assert_eq!((c.device, c.dtype), (Device::Cpu, DType::BF16));
        assert!(c.line.contains("PREFERRED_DEVICE=cpu"), "{}", c.line);
        assert!(c.line.contains("PREFERRED_DTYPE"), "{}", c.line);
    }

    #[test]
    fn flags_win_over_the_environment() {
        let e = env(&[("PREFERRED_DTYPE", "bf16")]);
        let c = choose(
            &"cpu".parse().unwrap(),
            Some(DType::F16),
            None,
            &e,
            cpu_only,
        )
        .unwrap();
        assert_eq!(c.dtype, DType::F16);
        assert!(
            c.line.contains("--device=cpu") && c.line.contains("--dtype"),
            "{}",
            c.line
        );
    }

    #[test]
    fn a_named_device_that_is_absent_is_an_error_not_a_fallback() {
        let e = env(&[("PREFERRED_DEVICE", "npu:1")]);
        let err = choose(&DeviceFlag::Auto, None, None, &e, cpu_only).unwrap_err();
        assert_eq!(err.code, crate::exit::BAD_INPUT);
        assert!(err.message.contains("PREFERRED_DEVICE"), "{err}");
        let bad_dtype = env(&[("PREFERRED_DTYPE", "fp8")]);
        let err = choose(&DeviceFlag::Auto, None, None, &bad_dtype, cpu_only).unwrap_err();
        assert!(err.message.contains("PREFERRED_DTYPE"), "{err}");
    }

    #[test]
    fn a_program_default_dtype_applies_only_without_a_preference() {
        let c = choose(
            &DeviceFlag::Auto,
            None,
            Some(DType::BF16),
            &env(&[]),
            cpu_only,
        )
        .unwrap();
        assert_eq!(c.dtype, DType::BF16);
        let e = env(&[("PREFERRED_DTYPE", "f32")]);
        let c = choose(&DeviceFlag::Auto, None, Some(DType::BF16), &e, cpu_only).unwrap();
        assert_eq!(c.dtype, DType::F32);
    }

    #[test]
    fn an_npu_request_is_recognised_in_both_forms() {
        assert_eq!("npu".parse::<DeviceFlag>().unwrap().names_npu(), Some(0));
        assert_eq!("npu:3".parse::<DeviceFlag>().unwrap().names_npu(), Some(3));
        assert_eq!("cuda:1".parse::<DeviceFlag>().unwrap().names_npu(), None);
        assert_eq!(DeviceFlag::Auto.names_npu(), None);
    }

    #[test]
    fn the_flag_reads_auto_and_device_forms_and_refuses_the_rest() {
        assert_eq!("AUTO".parse::<DeviceFlag>().unwrap(), DeviceFlag::Auto);
        assert!("npu:0".parse::<DeviceFlag>().is_ok());
        assert!("cuda".parse::<DeviceFlag>().is_ok());
        let err = "tpu:0".parse::<DeviceFlag>().unwrap_err();
        assert!(err.contains("auto"), "{err}");
    }
}
