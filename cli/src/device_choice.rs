//! `--device auto` (the default of every image program) and the environment's
//! `PREFERRED_DEVICE` / `PREFERRED_DTYPE`, through the device crate's own selection: NPU,
//! then CUDA, then CPU, unless the user says otherwise; a device the user names and that
//! is not there is an error, never replaced. The choice and its reason are one line.
//!
//! The pipelines run on an NPU in every build (ops-npu loads CANN at run time) and on CUDA
//! only when built with it (the binaries' `cuda` feature). Without a preference, a GPU
//! this build cannot run on is passed over for the CPU, and the line says so; a CUDA
//! preference in a build without CUDA is refused before any device is looked for, with
//! how to get one.

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

/// Whether this build's pipelines can run on `device`: CUDA only when built with it.
fn runs_here(device: Device, cuda_built: bool) -> bool {
    match device {
        Device::Cuda(_) => cuda_built,
        // Every build runs the models on an NPU through ops-npu (loaded at run time).
        Device::Npu(_) => true,
        Device::Cpu => true,
    }
}

/// Where a CUDA build comes from, for every message that needs one.
const CUDA_BUILD_HINT: &str = "build one with `eval \"$(scripts/cuda/toolchain.sh \
     /opt/cuda-venv)\"; cargo build --release --features cuda` (docs/cuda.md)";

/// What a CUDA build needs on the host it runs on, named when no CUDA device was found.
const CUDA_HOST_HINT: &str = "a CUDA build needs the NVIDIA driver (libcuda.so.1, which comes \
     with it; `nvidia-smi` should list the GPU) and the CUDA libraries it was linked with \
     (docs/cuda.md)";

fn asks_for_cuda(request: &device::DeviceRequest) -> bool {
    match request {
        device::DeviceRequest::Kind(kind) => *kind == device::DeviceKind::Cuda,
        device::DeviceRequest::Exact(device) => matches!(device, Device::Cuda(_)),
    }
}

/// Refuses a CUDA request in a build without CUDA before discovery runs: whether this host
/// has a GPU does not change the answer, and the fix is a different build, not a device.
fn check_cuda_built(prefs: &Preferences, cuda_built: bool) -> Result<(), Failure> {
    match &prefs.device {
        Some((request, source)) if asks_for_cuda(request) && !cuda_built => Err(bad(format!(
            "{source}={request}: this build has no CUDA backend (it was built without the \
             `cuda` feature); {CUDA_BUILD_HINT}"
        ))),
        _ => Ok(()),
    }
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
    let cuda_built = candle_core::utils::cuda_is_available();
    choose_for_build(flag, dtype, default_dtype, env, discover, cuda_built)
}

/// [`choose`] for a build with (`cuda_built`) or without candle's CUDA backend, so both
/// builds' answers are tested in either.
fn choose_for_build(
    flag: &DeviceFlag,
    dtype: Option<DType>,
    default_dtype: Option<DType>,
    env: &impl EnvSource,
    discover: impl FnOnce() -> Discovery,
    cuda_built: bool,
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
    check_cuda_built(&prefs, cuda_built)?;
    let asked = prefs.device.is_some();
    let discovery = discover();
    let mut selection = select(&discovery, &prefs).map_err(|e| match &e {
        SelectError::Absent { .. }
            if prefs.device.as_ref().is_some_and(|(r, _)| asks_for_cuda(r)) =>
        {
            bad(format!("{e}\n{CUDA_HOST_HINT}"))
        }
        _ => refused(e),
    })?;
    if !asked && !runs_here(selection.device, cuda_built) {
        let passed_over = selection.device;
        let cpu_prefs = Preferences {
            device: Some((device::DeviceRequest::Exact(Device::Cpu), String::new())),
            dtype: prefs.dtype.clone(),
        };
        selection = select(&discovery, &cpu_prefs).map_err(refused)?;
        let why = if matches!(passed_over, Device::Cuda(_)) {
            " (a build with the `cuda` feature does, docs/cuda.md)"
        } else {
            ""
        };
        selection.reason = format!(
            "{passed_over} found, but this build's pipelines do not run on it{why}; using the CPU"
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

    fn prefs_for(flag: &str) -> Preferences {
        Preferences::default()
            .with_device(flag, "--device")
            .unwrap()
    }

    #[test]
    fn a_cuda_request_without_cuda_compiled_says_how_to_build_one() {
        for flag in ["cuda", "cuda:1", "CUDA:0"] {
            let err = check_cuda_built(&prefs_for(flag), false).unwrap_err();
            assert_eq!(err.code, crate::exit::BAD_INPUT);
            assert!(err.message.starts_with("--device="), "{err}");
            assert!(err.message.contains("--features cuda"), "{err}");
            assert!(err.message.contains("docs/cuda.md"), "{err}");
            assert!(check_cuda_built(&prefs_for(flag), true).is_ok());
        }
        for flag in ["cpu", "npu:0"] {
            assert!(check_cuda_built(&prefs_for(flag), false).is_ok(), "{flag}");
        }
        assert!(check_cuda_built(&Preferences::default(), false).is_ok());
    }

    #[test]
    fn the_environment_asking_for_cuda_is_named_in_the_refusal() {
        let e = env(&[("PREFERRED_DEVICE", "cuda:0")]);
        let prefs = Preferences::from_env(&e).unwrap();
        let err = check_cuda_built(&prefs, false).unwrap_err();
        assert!(err.message.starts_with("PREFERRED_DEVICE=cuda:0"), "{err}");
    }

    /// A host with one GPU of compute capability `major.minor`, as discovery reports it.
    fn one_gpu(major: u32, minor: u32) -> Discovery {
        let support = device::DTypeSupport::cuda(major, minor);
        let mut cuda = device::BackendReport::new(device::DeviceKind::Cuda);
        cuda.devices.push(device::DeviceInfo {
            id: Device::Cuda(0),
            kind: device::DeviceKind::Cuda,
            name: "Test GPU".to_string(),
            capability: Some(format!("{major}.{minor}")),
            memory_total_bytes: None,
            memory_free_bytes: None,
            dtypes: support.supported,
            best_dtype: support.best,
            dtype_source: "compute capability".to_string(),
            driver_version: None,
            runtime_version: None,
            cores: None,
        });
        cuda.device_count = Some(1);
        let npu = device::BackendReport::new(device::DeviceKind::Npu);
        Discovery::from_reports(npu, cuda)
    }

    fn in_cuda_build(
        flag: &str,
        dtype: Option<DType>,
        discovery: Discovery,
    ) -> Result<Choice, Failure> {
        let flag = flag.parse().unwrap();
        choose_for_build(&flag, dtype, None, &env(&[]), || discovery, true)
    }

    #[test]
    fn a_cuda_build_takes_the_gpu_in_its_best_dtype() {
        let c = in_cuda_build("cuda", None, one_gpu(9, 0)).unwrap();
        assert_eq!((c.device, c.dtype), (Device::Cuda(0), DType::BF16));
        let c = in_cuda_build("cuda:0", None, one_gpu(7, 5)).unwrap();
        assert_eq!(c.dtype, DType::F16, "no bf16 below compute capability 8.0");
        let c = in_cuda_build("cuda", Some(DType::F32), one_gpu(9, 0)).unwrap();
        assert_eq!(c.dtype, DType::F32);
        let err = in_cuda_build("cuda", Some(DType::BF16), one_gpu(7, 5)).unwrap_err();
        assert!(err.message.contains("bf16"), "{err}");
        let c = choose_for_build(
            &DeviceFlag::Auto,
            None,
            None,
            &env(&[]),
            || one_gpu(8, 0),
            true,
        )
        .unwrap();
        assert_eq!(c.device, Device::Cuda(0));
    }

    #[test]
    fn a_missing_gpu_index_names_the_ones_present_and_what_cuda_needs() {
        let err = in_cuda_build("cuda:7", None, one_gpu(9, 0)).unwrap_err();
        assert_eq!(err.code, crate::exit::BAD_INPUT);
        assert!(err.message.contains("cuda:7 was requested"), "{err}");
        assert!(err.message.contains("1 cuda visible: cuda:0"), "{err}");
        assert!(err.message.contains("libcuda.so.1"), "{err}");
        let err = in_cuda_build("cuda", None, cpu_only()).unwrap_err();
        assert!(err.message.contains("nvidia-smi"), "{err}");
    }

    #[test]
    fn a_build_without_cuda_passes_a_gpu_over_and_says_which_build_would_not() {
        let c = choose_for_build(
            &DeviceFlag::Auto,
            None,
            None,
            &env(&[]),
            || one_gpu(9, 0),
            false,
        )
        .unwrap();
        assert_eq!(c.device, Device::Cpu);
        assert!(c.line.contains("cuda:0 found"), "{}", c.line);
        assert!(c.line.contains("`cuda` feature"), "{}", c.line);
        let err = choose_for_build(
            &"cuda".parse().unwrap(),
            None,
            None,
            &env(&[]),
            || panic!("a CUDA request in a build without CUDA looks for no device"),
            false,
        )
        .unwrap_err();
        assert!(err.message.contains("--features cuda"), "{err}");
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
