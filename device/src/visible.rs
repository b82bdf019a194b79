//! Lint for ASCEND_RT_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES.
//!
//! The vendor runtimes apply these variables themselves (devices are re-indexed from 0);
//! we only warn about values that silently do something other than intended: CANN needs
//! ascending ids and stops parsing at the first invalid one, dropping the rest.

use crate::env::EnvSource;
use crate::kind::DeviceKind;

pub const ASCEND_VAR: &str = "ASCEND_RT_VISIBLE_DEVICES";
pub const CUDA_VAR: &str = "CUDA_VISIBLE_DEVICES";

/// What a visible-devices variable does and what looks wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleDevicesLint {
    pub variable: &'static str,
    /// `None` when unset (all devices visible).
    pub value: Option<String>,
    /// Physical ids the runtime will use, in order; logical id i is `effective[i]`.
    pub effective: Vec<String>,
    pub warnings: Vec<String>,
}

impl VisibleDevicesLint {
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty()
    }
}

fn is_cuda_uuid(token: &str) -> bool {
    token.starts_with("GPU-") || token.starts_with("MIG-")
}

/// Lints one value for one kind of device.
pub fn lint_value(kind: DeviceKind, value: Option<&str>) -> VisibleDevicesLint {
    let variable = match kind {
        DeviceKind::Cuda => CUDA_VAR,
        _ => ASCEND_VAR,
    };
    let mut lint = VisibleDevicesLint {
        variable,
        value: value.map(str::to_string),
        effective: Vec::new(),
        warnings: Vec::new(),
    };
    let Some(value) = value else {
        return lint;
    };
    if value.trim().is_empty() {
        lint.warnings.push(format!(
            "{variable} is set but empty: no device is visible; unset it to see all devices"
        ));
        return lint;
    }
    let mut previous: Option<u64> = None;
    for (position, token) in value.split(',').map(str::trim).enumerate() {
        let numeric = token.parse::<u64>().ok();
        let valid = numeric.is_some() || (kind == DeviceKind::Cuda && is_cuda_uuid(token));
        if !valid {
            let dropped: Vec<&str> = value.split(',').map(str::trim).skip(position).collect();
            lint.warnings.push(format!(
                "{variable}={value}: `{token}` is not a device id; the runtime stops there and \
                 silently ignores {}",
                dropped.join(",")
            ));
            break;
        }
        if lint.effective.iter().any(|e| e == token) {
            lint.warnings
                .push(format!("{variable}={value}: id {token} is listed twice"));
            continue;
        }
        if let (Some(id), Some(prev)) = (numeric, previous)
            && id < prev
        {
            let why = match kind {
                DeviceKind::Cuda => {
                    "CUDA accepts it but re-orders devices, so cuda:0 is not the lowest id"
                }
                _ => "CANN requires ascending ids",
            };
            lint.warnings.push(format!(
                "{variable}={value}: ids are not ascending ({prev} before {id}); {why}"
            ));
        }
        if numeric.is_some() {
            previous = numeric;
        }
        lint.effective.push(token.to_string());
    }
    lint
}

/// Lints both variables as set in `env`.
pub fn lint(env: &impl EnvSource) -> [VisibleDevicesLint; 2] {
    [
        lint_value(DeviceKind::Npu, env.var(ASCEND_VAR).as_deref()),
        lint_value(DeviceKind::Cuda, env.var(CUDA_VAR).as_deref()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_ascending_values_are_clean() {
        assert!(lint_value(DeviceKind::Npu, None).is_clean());
        let l = lint_value(DeviceKind::Npu, Some("1,2,5"));
        assert!(l.is_clean());
        assert_eq!(l.effective, ["1", "2", "5"]);
        assert!(lint_value(DeviceKind::Cuda, Some("GPU-8c1e,1")).is_clean());
    }

    #[test]
    fn warns_and_reports_what_the_runtime_drops() {
        let l = lint_value(DeviceKind::Npu, Some("0,x,2"));
        assert_eq!(l.effective, ["0"]);
        assert!(l.warnings[0].contains("x,2"), "{:?}", l.warnings);
        let l = lint_value(DeviceKind::Npu, Some("3,1"));
        assert!(l.warnings[0].contains("not ascending"));
        let l = lint_value(DeviceKind::Cuda, Some("1,0"));
        assert!(l.warnings[0].contains("re-orders"));
        assert!(!lint_value(DeviceKind::Npu, Some("")).is_clean());
        assert!(!lint_value(DeviceKind::Npu, Some("1,1")).is_clean());
        assert!(!lint_value(DeviceKind::Npu, Some("GPU-1")).is_clean());
    }
}
