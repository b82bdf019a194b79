//! `doctor`: is this machine ready to run diffusion workloads? A verdict and a fix per
//! check. A thin shell over `device::doctor` and `pipelines::doctor`.

use clap::Parser;
use device::doctor::{Check, DoctorInput, device_checks};
use device::{DeviceKind, ProcessEnv, probe};
use pipelines::doctor::{kernels, model, npu_kernels, python};
use pipelines::model_source;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The hidden flag a probe child is started with (`Args::probe_devices`); see
/// `device::probe`.
const PROBE_FLAG: &str = "--probe-devices";

/// The hidden flags the aclnn kernel child is started with (`Args::npu_kernels`).
const KERNELS_FLAG: &str = "--npu-kernels";
const KERNELS_DTYPE_FLAG: &str = "--npu-kernels-dtype";

const AFTER_HELP: &str = "\
Checks: host; NPU (device nodes, libascendcl.so, symbols, aclInit, CANN and driver
versions, devices, SoC, memory, bf16); CUDA (driver, devices, capability, memory);
kernels (the CPU kernels; on a selected NPU, a smoke subset of the aclnn kernels compared
with the CPU);
environment (ASCEND_HOME_PATH, ASCEND_OPP_PATH, ASCEND_RT_VISIBLE_DEVICES /
CUDA_VISIBLE_DEVICES, PREFERRED_DEVICE / PREFERRED_DTYPE); the Python stack; with
--model, a diffusers folder and whether it fits the selected device.

Vendor libraries are loaded and initialised in child processes (one per backend, and
one for the aclnn kernels, at most --probe-timeout seconds each): a library that crashes
or hangs is a failing check with the signal or the timeout, never a crash or hang of
doctor.

Exit status: 0 all checks pass (or are skipped), 1 warnings only, 2 a check fails.

Examples:
  doctor                                  human-readable report
  doctor --markdown > doctor.md           paste into an issue
  doctor --json | jq '.checks[] | select(.status != \"pass\")'
  doctor --device npu:1 --model ./stable-diffusion-2-1
  PREFERRED_DTYPE=f16 doctor              would f16 be honoured here?";

#[derive(Parser, Debug)]
#[command(
    name = "doctor",
    version,
    about = "Check drivers, runtimes, devices, dtypes, the Python stack and a model folder",
    after_help = AFTER_HELP
)]
struct Args {
    /// Print one JSON object (schema_version 1) instead of text.
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Print Markdown to paste into an issue.
    #[arg(long)]
    markdown: bool,
    /// Device to check selection for (npu, npu:N, cuda, cuda:N, cpu); overrides
    /// PREFERRED_DEVICE.
    // Kept as text: a value that does not parse is one of the report's failing checks
    // (device.selection), in the JSON too, rather than a usage error with no report.
    #[arg(long, value_name = "D")]
    device: Option<String>,
    /// A diffusers model folder (SD 2.x or HiDream) to validate and size, or a Hugging Face
    /// id (ORG/NAME) already in the local hub cache (never downloaded).
    #[arg(long, value_name = "DIR|ORG/NAME")]
    model: Option<PathBuf>,
    /// With an id as --model: the branch, tag or commit hash in the cache (default main).
    #[arg(long, value_name = "REV", requires = "model")]
    revision: Option<String>,
    /// Python interpreter whose torch / diffusers stack to check [default: python3 on
    /// PATH, skipped when absent; an interpreter named here must exist].
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Seconds to wait for the Python interpreter.
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    python_timeout: f64,
    /// Skip the Python stack checks.
    #[arg(long)]
    no_python: bool,
    /// Seconds each vendor-library probe (dlopen, init, device queries; the aclnn kernel
    /// run) may take before it is killed and reported as failing.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    probe_timeout: f64,
    /// Where device nodes live (for containers with a relocated /dev, and for tests).
    #[arg(long, value_name = "DIR", default_value = "/dev", hide = true)]
    dev_dir: PathBuf,
    /// Probe one backend in this process and print its report (doctor runs itself so).
    #[arg(long, value_name = "KIND", value_parser = ["npu", "cuda"], hide = true)]
    probe_devices: Option<String>,
    /// Run the aclnn kernel subset on this NPU in this process and print its report
    /// (doctor runs itself so).
    #[arg(
        long,
        value_name = "INDEX",
        hide = true,
        requires = "npu_kernels_dtype"
    )]
    npu_kernels: Option<usize>,
    /// The dtype of that run.
    #[arg(long, value_name = "DTYPE", hide = true, requires = "npu_kernels")]
    npu_kernels_dtype: Option<device::DType>,
}

fn main() {
    let args = Args::parse();
    if let Some(kind) = &args.probe_devices {
        std::process::exit(probe_child(kind));
    }
    if let (Some(index), Some(dtype)) = (args.npu_kernels, args.npu_kernels_dtype) {
        std::process::exit(kernels_child(index, dtype));
    }
    match run(&args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("doctor: writing the report: {e}");
            std::process::exit(2);
        }
    }
}

/// The probe child: one backend's report on stdout. Whatever the vendor library does to
/// this process, the parent is left standing.
fn probe_child(kind: &str) -> i32 {
    let kind = if kind == "npu" {
        DeviceKind::Npu
    } else {
        DeviceKind::Cuda
    };
    probe::trace_stages();
    let report = probe::probe_in_this_process(kind, &ProcessEnv);
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", probe::report_line(&report)).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The aclnn kernel child: the smoke run's report on stdout.
fn kernels_child(index: usize, dtype: device::DType) -> i32 {
    let report = npu_kernels::run_in_this_process(index, dtype);
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", npu_kernels::report_line(&report)).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// This program, to run as a child of itself.
fn self_command() -> Command {
    // Without its own path doctor cannot isolate the child; it then fails to start and
    // the check is reported as failing, which is the truth.
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("doctor"));
    Command::new(exe)
}

/// A command that runs this program as a probe child for `kind`.
fn probe_command(kind: DeviceKind) -> Command {
    let mut command = self_command();
    command.arg(PROBE_FLAG).arg(kind.as_str());
    command
}

/// A command that runs this program as the aclnn kernel child.
fn kernels_command(index: usize, dtype: device::DType) -> Command {
    let mut command = self_command();
    command
        .arg(KERNELS_FLAG)
        .arg(index.to_string())
        .arg(KERNELS_DTYPE_FLAG)
        .arg(dtype.as_str());
    command
}

/// Runs every check, prints the report and returns the exit status (the report's own:
/// see the help's "Exit status"); an error is one writing the report.
fn run(args: &Args) -> std::io::Result<i32> {
    let env = ProcessEnv;
    let limit = Duration::from_secs_f64(args.probe_timeout.clamp(0.1, 3600.0));
    let discovery = probe::isolated_discovery(probe_command, limit);
    let mut input = DoctorInput::new(&discovery, &env);
    input.dev_dir = args.dev_dir.clone();
    input.device_flag = args.device.clone();
    let mut report = device_checks(&input);

    let npu_host = input.is_npu_host();
    if args.no_python {
        report
            .checks
            .push(Check::skip("python.interpreter", "skipped (--no-python)"));
    } else {
        let timeout = Duration::from_secs_f64(args.python_timeout.clamp(0.1, 600.0));
        let interpreter = args
            .python
            .clone()
            .unwrap_or_else(|| PathBuf::from(python::DEFAULT_INTERPRETER));
        let result = python::PythonProbe::new(interpreter, timeout).run();
        let given = args.python.is_some();
        report
            .checks
            .extend(python::checks(&result, npu_host, given));
    }

    report.checks.push(kernels::cpu_check());
    // After discovery, and in a process of its own: discovery binds and releases each
    // device, which must not happen under a runtime computing on one.
    report.checks.extend(npu_kernels::checks(
        &discovery.npu,
        report.selected,
        |index, dtype| npu_kernels::run_isolated(kernels_command(index, dtype), limit),
    ));

    if let Some(value) = &args.model {
        // An id that does not resolve is a failing check, so the report stays complete.
        match model_source::resolve("--model", value, args.revision.as_deref(), &env) {
            Ok(resolved) => {
                if let Some(line) = resolved.describe("--model") {
                    eprintln!("{line}");
                    report.checks.push(Check::pass("model.source", line));
                }
                report.checks.extend(model::checks(
                    &resolved.folder,
                    report.selected,
                    &report.devices,
                    &discovery.cpu,
                ));
            }
            Err(e) => report
                .checks
                .push(Check::fail("model.source", e.to_string(), e.fix())),
        }
    }

    let text = if args.json {
        report.to_json_string()
    } else if args.markdown {
        report.to_markdown()
    } else {
        report.to_text()
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", text.trim_end()) {
        // `doctor | head` closing the pipe early is not an error worth a message.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
        _ => {}
    }
    Ok(report.exit_code())
}
