//! Device-level checks: host, NPU, CUDA, environment and selection.

use super::{Check, Report, Selected};
use crate::discovery::Discovery;
use crate::env::EnvSource;
use crate::info::{Absence, BackendReport};
use crate::kind::DeviceKind;
use crate::select::{Preferences, select};
use crate::visible;
use std::path::{Path, PathBuf};

const SET_ENV: &str = "source /usr/local/Ascend/ascend-toolkit/set_env.sh";
const GIB: f64 = (1u64 << 30) as f64;

/// What the device checks look at. Tests point `dev_dir` at a temporary folder and pass
/// a map as `env`.
pub struct DoctorInput<'a> {
    pub discovery: &'a Discovery,
    pub env: &'a dyn EnvSource,
    /// Where device nodes live (`/dev`).
    pub dev_dir: PathBuf,
    /// `--device`, which takes precedence over PREFERRED_DEVICE.
    pub device_flag: Option<String>,
}

impl<'a> DoctorInput<'a> {
    pub fn new(discovery: &'a Discovery, env: &'a dyn EnvSource) -> Self {
        Self {
            discovery,
            env,
            dev_dir: PathBuf::from("/dev"),
            device_flag: None,
        }
    }

    /// An Ascend host: device nodes exist or the ACL runtime loaded. Decides whether
    /// missing Ascend settings (and torch_npu, flash-attn) matter.
    pub fn is_npu_host(&self) -> bool {
        !davinci_nodes(&self.dev_dir).is_empty() || self.discovery.npu.library.is_some()
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB)
}

/// Runs every device-level check and returns the report (devices, selection, checks).
pub fn device_checks(input: &DoctorInput<'_>) -> Report {
    let discovery = input.discovery;
    let mut report = Report {
        devices: discovery.devices().into_iter().cloned().collect(),
        ..Report::default()
    };
    report.checks.push(host(discovery));
    let nodes = davinci_nodes(&input.dev_dir);
    report.checks.extend(npu(&discovery.npu, &nodes, input));
    report.checks.extend(cuda(&discovery.cuda));
    report
        .checks
        .extend(environment(input.env, input.is_npu_host()));
    let (check, selected) = selection(input);
    report.checks.push(check);
    report.selected = selected;
    report
}

fn host(discovery: &Discovery) -> Check {
    let cpu = &discovery.cpu;
    let mut detail = format!(
        "{} {}, {}, {} cores",
        std::env::consts::ARCH,
        std::env::consts::OS,
        cpu.name,
        cpu.cores.map_or("?".to_string(), |c| c.to_string())
    );
    match (cpu.memory_total_bytes, cpu.memory_free_bytes) {
        (Some(total), Some(free)) => {
            detail.push_str(&format!(", RAM {} ({} available)", gib(total), gib(free)));
            // Loading a pipeline maps its weights through the page cache; below a few
            // GiB even SD 2.x with offload thrashes.
            if free < 4 * (1 << 30) {
                return Check::warn(
                    "host",
                    detail,
                    "free host memory (close other jobs) or use a machine with more RAM; \
                     diffusion pipelines need several GiB of host RAM to load weights",
                );
            }
        }
        _ => detail.push_str(", RAM unknown (/proc/meminfo unreadable)"),
    }
    Check::pass("host", detail)
}

/// `/dev/davinci<N>` nodes, sorted.
fn davinci_nodes(dev: &Path) -> Vec<String> {
    let mut nodes: Vec<String> = std::fs::read_dir(dev)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix("davinci")
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    nodes.sort();
    nodes
}

fn npu(r: &BackendReport, nodes: &[String], input: &DoctorInput<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let has_manager = input.dev_dir.join("davinci_manager").exists();
    checks.push(if nodes.is_empty() {
        if r.library.is_some() {
            Check::warn(
                "npu.device_nodes",
                format!("no /dev/davinci* nodes in {}", input.dev_dir.display()),
                "check the driver with `npu-smi info`; in a container pass --device \
                 /dev/davinci0 --device /dev/davinci_manager --device /dev/devmm_svm \
                 --device /dev/hisi_hdc",
            )
        } else {
            Check::skip(
                "npu.device_nodes",
                "no /dev/davinci* nodes: not an Ascend host",
            )
        }
    } else if !has_manager {
        Check::warn(
            "npu.device_nodes",
            format!(
                "{} present but /dev/davinci_manager missing",
                nodes.join(", ")
            ),
            "in a container also pass --device /dev/davinci_manager --device /dev/devmm_svm \
             --device /dev/hisi_hdc",
        )
    } else {
        Check::pass(
            "npu.device_nodes",
            format!("{} and davinci_manager present", nodes.join(", ")),
        )
    });

    let Some(library) = &r.library else {
        if let Some(broken) = broken_library(r, "libascendcl.so") {
            checks.push(Check::fail(
                "npu.library",
                broken,
                format!(
                    "reinstall the CANN toolkit matching the driver (or remove the broken file \
                     from ASCEND_HOME_PATH / LD_LIBRARY_PATH), then {SET_ENV}"
                ),
            ));
            return checks;
        }
        let tried = r
            .attempts
            .iter()
            .map(|a| a.candidate.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if nodes.is_empty() {
            checks.push(Check::skip(
                "npu.library",
                format!("libascendcl.so not found (tried {tried})"),
            ));
        } else {
            checks.push(Check::fail(
                "npu.library",
                format!("device nodes exist but libascendcl.so was not found (tried {tried})"),
                format!("install the CANN toolkit, then {SET_ENV}"),
            ));
        }
        return checks;
    };
    checks.push(Check::pass("npu.library", library.clone()));

    if let Some(Absence::MissingSymbol { symbol, .. }) = &r.absence {
        checks.push(Check::fail(
            "npu.symbols",
            format!("{library} does not export {symbol}"),
            "the CANN toolkit is incomplete or too old: reinstall the toolkit package matching \
             the driver, then source its set_env.sh",
        ));
        return checks;
    }
    checks.push(if r.missing_optional.is_empty() {
        Check::pass("npu.symbols", "all ACL runtime symbols resolved")
    } else {
        Check::warn(
            "npu.symbols",
            format!(
                "optional symbols missing: {}",
                r.missing_optional.join(", ")
            ),
            "an older CANN: bf16 support is taken from the SoC table; upgrade CANN for \
             run-time answers",
        )
    });

    match &r.absence {
        Some(
            why @ Absence::CallFailed {
                call: "aclInit", ..
            },
        ) => {
            checks.push(Check::fail(
                "npu.runtime",
                why.to_string(),
                "check the driver with `npu-smi info` (health OK), that the driver and CANN \
                 versions match, and that the device nodes are accessible to this user",
            ));
            return checks;
        }
        _ => checks.push(Check::pass(
            "npu.runtime",
            if r.already_initialised {
                "aclInit: already initialised in this process"
            } else {
                "aclInit succeeded"
            },
        )),
    }

    checks.push(versions(r));

    if let Some(why) = &r.absence {
        checks.push(Check::fail(
            "npu.devices",
            why.to_string(),
            "run `npu-smi info`; check ASCEND_RT_VISIBLE_DEVICES and container --device flags",
        ));
        return checks;
    }
    let names: Vec<String> = r
        .devices
        .iter()
        .map(|d| format!("{} {}", d.id, d.name))
        .collect();
    checks.push(if r.device_errors.is_empty() {
        Check::pass("npu.devices", names.join(", "))
    } else {
        Check::warn(
            "npu.devices",
            format!(
                "{}; failed: {}",
                names.join(", "),
                r.device_errors.join("; ")
            ),
            "run `npu-smi info` to see the failing device's health; hide it with \
             ASCEND_RT_VISIBLE_DEVICES",
        )
    });
    checks.push(npu_soc(r));
    checks.push(memory("npu.memory", r, "npu-smi info"));
    checks.push(npu_bf16(r));
    checks
}

fn versions(r: &BackendReport) -> Check {
    let cann = r.runtime_version.as_deref();
    let driver = r.driver_version.as_deref();
    let detail = format!(
        "CANN {}, driver {}",
        cann.unwrap_or("unknown"),
        driver.unwrap_or("unknown")
    );
    match (cann, driver) {
        (Some(_), Some(_)) => Check::pass("npu.versions", detail),
        (None, _) => Check::warn(
            "npu.versions",
            detail,
            format!(
                "share/info/runtime/version.info not found under the toolkit root: {SET_ENV} \
                 so ASCEND_HOME_PATH points at a complete install"
            ),
        ),
        (_, None) => Check::warn(
            "npu.versions",
            detail,
            "driver version unknown: /etc/ascend_install.info or its driver/version.info is \
             missing or unreadable (in containers, mount /etc/ascend_install.info and \
             /usr/local/Ascend/driver read-only)",
        ),
    }
}

fn npu_soc(r: &BackendReport) -> Check {
    let socs: Vec<String> = r
        .devices
        .iter()
        .map(|d| {
            format!(
                "{} {} ({})",
                d.id,
                d.name,
                d.capability.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let unknown: Vec<&str> = r
        .devices
        .iter()
        .filter(|d| d.capability.as_deref() == Some("Unknown"))
        .map(|d| d.name.as_str())
        .collect();
    if unknown.is_empty() {
        Check::pass("npu.soc", socs.join(", "))
    } else {
        Check::warn(
            "npu.soc",
            format!(
                "unrecognised SoC {}: conservative defaults apply",
                unknown.join(", ")
            ),
            "report the SoC name so it can be added to the SoC table; meanwhile set \
             PREFERRED_DTYPE explicitly",
        )
    }
}

fn memory(id: &str, r: &BackendReport, tool: &str) -> Check {
    let mut parts = Vec::new();
    let mut busy = Vec::new();
    for d in &r.devices {
        match (d.memory_free_bytes, d.memory_total_bytes) {
            (Some(free), Some(total)) => {
                parts.push(format!("{} {} free of {}", d.id, gib(free), gib(total)));
                // Less than half free means another process holds the device.
                if total > 0 && free * 2 < total {
                    busy.push(d.id.to_string());
                }
            }
            _ => parts.push(format!("{} memory unknown", d.id)),
        }
    }
    if busy.is_empty() {
        Check::pass(id, parts.join(", "))
    } else {
        Check::warn(
            id,
            format!(
                "{}; under half free on {}",
                parts.join(", "),
                busy.join(", ")
            ),
            format!(
                "another process holds device memory: see `{tool}`, or pick a free device \
                 with --device / PREFERRED_DEVICE"
            ),
        )
    }
}

fn npu_bf16(r: &BackendReport) -> Check {
    let without: Vec<String> = r
        .devices
        .iter()
        .filter(|d| !d.supports(crate::DType::BF16))
        .map(|d| format!("{} {}", d.id, d.name))
        .collect();
    let source = r
        .devices
        .first()
        .map(|d| d.dtype_source.clone())
        .unwrap_or_default();
    if without.is_empty() {
        Check::pass("npu.bf16", format!("bf16 supported (from {source})"))
    } else {
        Check::warn(
            "npu.bf16",
            format!(
                "no bf16 on {} (from {source}): f16 will be used",
                without.join(", ")
            ),
            "910A/310P: no bf16, use PREFERRED_DTYPE=f16; if a model overflows in f16 \
             (black images), use PREFERRED_DTYPE=f32",
        )
    }
}

/// The detail of a library that is there but broken: dlopen refused a file by its name,
/// or the probe process loading it crashed or hung. `None` when it is simply absent.
fn broken_library(r: &BackendReport, name: &str) -> Option<String> {
    match r.absence.as_ref()? {
        why @ Absence::LibraryUnloadable { .. } => Some(why.to_string()),
        Absence::ProbeFailed { reason, .. } => Some(format!(
            "loading and initialising {name} (in a separate probe process) failed: {reason}"
        )),
        _ => None,
    }
}

fn cuda(r: &BackendReport) -> Vec<Check> {
    let Some(library) = &r.library else {
        if let Some(broken) = broken_library(r, "libcuda.so.1") {
            return vec![Check::fail(
                "cuda.driver",
                broken,
                "reinstall the NVIDIA driver (nvidia-smi must work), or remove the broken \
                 libcuda from LD_LIBRARY_PATH; on hosts without NVIDIA GPUs delete the stray \
                 library",
            )];
        }
        return vec![Check::skip(
            "cuda.driver",
            "libcuda.so.1 not found: no NVIDIA driver on this host",
        )];
    };
    if let Some(why) = &r.absence {
        let fix = match why {
            Absence::MissingSymbol { .. } => {
                "the NVIDIA driver library is too old or not the real driver: reinstall the \
                 driver (nvidia-smi must work)"
            }
            Absence::NoDevices { .. } => {
                "run `nvidia-smi`; check CUDA_VISIBLE_DEVICES and, in containers, --gpus"
            }
            Absence::ImplausibleCount { .. } => {
                "this libcuda is not a working NVIDIA driver: reinstall the driver (nvidia-smi \
                 must work) or remove the stray library from LD_LIBRARY_PATH"
            }
            _ => {
                "run `nvidia-smi`: the kernel module and libcuda versions must match; in \
                 containers use the NVIDIA container toolkit (--gpus all)"
            }
        };
        // CUDA_ERROR_NO_DEVICE: driver libraries without a GPU (a container started without
        // --gpus, a host image shared with GPU machines). Worth knowing, not broken.
        if let Absence::CallFailed { code: 100, .. } = why {
            return vec![Check::warn(
                "cuda.driver",
                why.to_string(),
                "no GPU is visible to the installed NVIDIA driver: in containers pass --gpus; \
                 otherwise ignore this on hosts without NVIDIA GPUs",
            )];
        }
        return vec![Check::fail("cuda.driver", why.to_string(), fix)];
    }
    let mut checks = vec![Check::pass(
        "cuda.driver",
        format!(
            "{library}, CUDA driver API {}",
            r.driver_version.as_deref().unwrap_or("?")
        ),
    )];
    let names: Vec<String> = r
        .devices
        .iter()
        .map(|d| format!("{} {}", d.id, d.name))
        .collect();
    checks.push(if r.device_errors.is_empty() {
        Check::pass("cuda.devices", names.join(", "))
    } else {
        Check::warn(
            "cuda.devices",
            format!(
                "{}; failed: {}",
                names.join(", "),
                r.device_errors.join("; ")
            ),
            "run `nvidia-smi` to see the failing GPU; hide it with CUDA_VISIBLE_DEVICES",
        )
    });
    let caps: Vec<String> = r
        .devices
        .iter()
        .map(|d| format!("{} sm_{}", d.id, d.capability.as_deref().unwrap_or("?")))
        .collect();
    let no_half: Vec<String> = r
        .devices
        .iter()
        .filter(|d| !d.supports(crate::DType::F16))
        .map(|d| d.id.to_string())
        .collect();
    let no_bf16: Vec<String> = r
        .devices
        .iter()
        .filter(|d| !d.supports(crate::DType::BF16))
        .map(|d| d.id.to_string())
        .collect();
    checks.push(if !no_half.is_empty() {
        Check::warn(
            "cuda.capability",
            format!(
                "{}: below 5.3, f32 only on {}",
                caps.join(", "),
                no_half.join(", ")
            ),
            "this GPU is too old for half precision: expect f32 speed and memory use",
        )
    } else if !no_bf16.is_empty() {
        Check::warn(
            "cuda.capability",
            format!(
                "{}: no native bf16 (needs 8.0) on {}",
                caps.join(", "),
                no_bf16.join(", ")
            ),
            "below compute capability 8.0 bf16 is emulated (slow, black images reported): \
             use PREFERRED_DTYPE=f16",
        )
    } else {
        Check::pass(
            "cuda.capability",
            format!("{}: f16 and bf16 native", caps.join(", ")),
        )
    });
    checks.push(memory("cuda.memory", r, "nvidia-smi"));
    checks
}

fn environment(env: &dyn EnvSource, npu_host: bool) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(path_var(
        env,
        "env.ascend_home",
        "ASCEND_HOME_PATH",
        npu_host,
        &format!("{SET_ENV} (it exports ASCEND_HOME_PATH and ASCEND_TOOLKIT_HOME)"),
    ));
    checks.push(path_var(
        env,
        "env.ascend_opp_path",
        "ASCEND_OPP_PATH",
        npu_host,
        &format!("{SET_ENV} (it exports ASCEND_OPP_PATH=<toolkit>/opp, where the op kernels live)"),
    ));
    let lints = visible::lint(&env);
    let warnings: Vec<String> = lints.iter().flat_map(|l| l.warnings.clone()).collect();
    let set: Vec<String> = lints
        .iter()
        .filter_map(|l| l.value.as_ref().map(|v| format!("{}={v}", l.variable)))
        .collect();
    checks.push(if !warnings.is_empty() {
        Check::warn(
            "env.visible_devices",
            warnings.join("; "),
            "list valid device ids in ascending order, e.g. ASCEND_RT_VISIBLE_DEVICES=0,1",
        )
    } else if set.is_empty() {
        Check::pass("env.visible_devices", "not set: every device is visible")
    } else {
        Check::pass("env.visible_devices", set.join(", "))
    });
    checks.push(match Preferences::from_env(&env) {
        Ok(p) => {
            let mut parts = Vec::new();
            if let Some((d, _)) = &p.device {
                parts.push(format!("PREFERRED_DEVICE={d}"));
            }
            if let Some((t, _)) = &p.dtype {
                parts.push(format!("PREFERRED_DTYPE={t}"));
            }
            if parts.is_empty() {
                Check::pass(
                    "env.preferences",
                    "PREFERRED_DEVICE/PREFERRED_DTYPE not set: automatic choice",
                )
            } else {
                Check::pass("env.preferences", parts.join(", "))
            }
        }
        Err(e) => Check::fail(
            "env.preferences",
            e.to_string(),
            "PREFERRED_DEVICE takes npu, npu:N, cuda, cuda:N, cpu or auto; PREFERRED_DTYPE \
             takes f32, f16 or bf16",
        ),
    });
    checks
}

fn path_var(env: &dyn EnvSource, id: &str, var: &str, npu_host: bool, fix: &str) -> Check {
    match env.non_empty(var) {
        Some(v) if Path::new(&v).is_dir() => Check::pass(id, format!("{var}={v}")),
        Some(v) => Check::fail(
            id,
            format!("{var}={v} does not exist"),
            format!("fix or unset {var}, then {fix}"),
        ),
        None if npu_host => Check::warn(id, format!("{var} is not set"), fix.to_string()),
        None => Check::skip(id, format!("{var} not set (not an Ascend host)")),
    }
}

fn selection(input: &DoctorInput<'_>) -> (Check, Option<Selected>) {
    // Invalid preferences are reported by env.preferences; select without them.
    let prefs = Preferences::from_env(&input.env).unwrap_or_default();
    let prefs = match &input.device_flag {
        Some(flag) => match prefs.with_device(flag, "--device") {
            Ok(p) => p,
            Err(e) => {
                return (
                    Check::fail(
                        "device.selection",
                        e.to_string(),
                        "--device takes npu, npu:N, cuda, cuda:N or cpu",
                    ),
                    None,
                );
            }
        },
        None => prefs,
    };
    match select(input.discovery, &prefs) {
        Ok(s) => {
            let mut detail = format!("{} as {} ({})", s.device, s.dtype, s.reason);
            let npu_host_on_cpu = s.device.kind() == DeviceKind::Cpu
                && input.discovery.npu.library.is_some()
                && prefs.device.is_none();
            if npu_host_on_cpu {
                detail.push_str("; the NPU runtime is installed but unusable");
                return (
                    Check::warn(
                        "device.selection",
                        detail,
                        "fix the failing npu.* checks above; the CPU is a fallback, not a \
                         choice",
                    ),
                    Some(Selected {
                        device: s.device,
                        dtype: s.dtype,
                    }),
                );
            }
            (
                Check::pass("device.selection", detail),
                Some(Selected {
                    device: s.device,
                    dtype: s.dtype,
                }),
            )
        }
        Err(e) => (
            Check::fail(
                "device.selection",
                e.to_string(),
                "pick a device that is present (see the devices list) or unset the override",
            ),
            None,
        ),
    }
}
