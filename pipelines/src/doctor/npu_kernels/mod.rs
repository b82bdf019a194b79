//! `kernels.npu`: a smoke subset of ops-npu's aclnn kernels run on the selected NPU at the
//! dtype the device policy picked, each compared with candle on the CPU within a few
//! rounding units of that dtype. An op the SoC's rules refuse is reported as refused, not
//! failed. doctor runs the subset in a child process (`isolate`), after device discovery:
//! nothing in doctor's own process opens the ACL runtime.

mod cases;
mod isolate;
mod report;
mod transfer;
mod verdict;

pub use isolate::{report_line, run_isolated};
pub use report::{CaseReport, Outcome, SmokeReport};
pub use verdict::{checks, from_report};

use device::DType;
use ops_npu::npu::{NpuLibraries, NpuRuntime};

/// Opens the aclnn runtime found where the `device` crate looks for CANN on `device` and
/// runs the subset at `dtype`, in this process.
pub fn run_in_this_process(device: usize, dtype: DType) -> SmokeReport {
    run_with(&NpuLibraries::from_env(), device, dtype)
}

/// [`run_in_this_process`] with these libraries.
pub fn run_with(libraries: &NpuLibraries, device: usize, dtype: DType) -> SmokeReport {
    let mut report = SmokeReport {
        device,
        soc: String::new(),
        dtype,
        open_error: None,
        cases: Vec::new(),
    };
    let opened = i32::try_from(device)
        .map_err(|_| format!("device index {device} is out of range"))
        .and_then(|id| NpuRuntime::open(libraries, id).map_err(|e| e.to_string()))
        .and_then(|rt| rt.stream().map(|s| (rt, s)).map_err(|e| e.to_string()));
    match opened {
        Ok((rt, s)) => {
            report.soc = rt.soc().to_string();
            report.cases = cases::run_all(&mut cases::Ctx::new(&rt, &s, dtype));
        }
        Err(e) => report.open_error = Some(e),
    }
    report
}
