//! The smoke run's findings as doctor checks: `kernels.npu` sums up, and one
//! `kernels.npu.<op>` per op says pass, skip (refused on this SoC) or fail, with a fix.

use super::report::{CaseReport, Outcome, SmokeReport};
use device::doctor::{Check, Selected};
use device::{BackendReport, DType, Device};

const ID: &str = "kernels.npu";

const OPEN_FIX: &str = "the aclnn runtime needs lib64/libnnopbase.so and lib64/libopapi.so (or \
     libopapi_*.so) next to libascendcl.so: install the complete CANN toolkit, then source \
     /usr/local/Ascend/ascend-toolkit/set_env.sh";
const FAILED_FIX: &str = "the op packages for this SoC are missing or do not match the toolkit: \
     install the CANN kernels package for this SoC at the toolkit's version, source set_env.sh, \
     and check that ASCEND_OPP_PATH points at its opp folder";
const MISMATCH_FIX: &str = "the kernel runs but disagrees with the CPU beyond rounding: report \
     this line with the SoC and the CANN version (npu.versions) to the ops-npu maintainers, and \
     use --device cpu (PREFERRED_DEVICE=cpu) meanwhile";
const PROCESS_FIX: &str = "the aclnn kernels crashed or hung the process running them: report \
     the message with the SoC and CANN version to the ops-npu maintainers; raise \
     --probe-timeout if the host is only slow";

/// `kernels.npu` and its per-op checks. `smoke` runs the subset on an NPU index at a
/// dtype (doctor does it in a child process) and is called only when an NPU is selected.
pub fn checks(
    npu: &BackendReport,
    selected: Option<Selected>,
    smoke: impl FnOnce(usize, DType) -> Result<SmokeReport, String>,
) -> Vec<Check> {
    match selected {
        Some(Selected {
            device: Device::Npu(index),
            dtype,
        }) => match smoke(index, dtype) {
            Ok(report) => from_report(&report),
            Err(why) => vec![Check::fail(
                ID,
                format!("the aclnn kernel check on npu:{index} {why}"),
                PROCESS_FIX,
            )],
        },
        _ if npu.devices.is_empty() => vec![Check::skip(
            ID,
            match &npu.absence {
                Some(why) => format!("no NPU to run the aclnn kernels on: {why}"),
                None => "no NPU to run the aclnn kernels on".to_string(),
            },
        )],
        Some(other) => vec![Check::skip(
            ID,
            format!(
                "the selected device is {}: run with --device npu:N to exercise the aclnn kernels",
                other.device
            ),
        )],
        None => vec![Check::skip(
            ID,
            "no device selected (see device.selection), so no aclnn kernel ran",
        )],
    }
}

/// The checks of one smoke run.
pub fn from_report(r: &SmokeReport) -> Vec<Check> {
    let place = format!("npu:{} ({}) at {}", r.device, r.soc, r.dtype);
    if let Some(e) = &r.open_error {
        return vec![Check::fail(
            ID,
            format!(
                "the aclnn runtime could not be opened on npu:{}: {}",
                r.device,
                one_line(e)
            ),
            OPEN_FIX,
        )];
    }
    let per_op: Vec<Check> = r.cases.iter().map(|c| case_check(c, r.dtype)).collect();
    let named = |keep: fn(&Outcome) -> bool| -> Vec<String> {
        r.cases
            .iter()
            .filter(|c| keep(&c.outcome))
            .map(|c| format!("{} ({})", c.name, c.kernel))
            .collect()
    };
    let failed = named(|o| matches!(o, Outcome::Failed { .. } | Outcome::Mismatch { .. }));
    let refused = named(|o| matches!(o, Outcome::Refused { .. }));
    let matched = r
        .cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Match { .. }))
        .count();
    let refusals = if refused.is_empty() {
        String::new()
    } else {
        format!(
            "; refused on this SoC by its op rules: {}",
            refused.join(", ")
        )
    };
    let summary = if failed.is_empty() {
        Check::pass(
            ID,
            format!(
                "{matched} of {} ops match the CPU on {place}{refusals}",
                r.cases.len()
            ),
        )
    } else {
        let any_failed = r
            .cases
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Failed { .. }));
        Check::fail(
            ID,
            format!("{} failed on {place}{refusals}", failed.join(", ")),
            if any_failed { FAILED_FIX } else { MISMATCH_FIX },
        )
    };
    std::iter::once(summary).chain(per_op).collect()
}

fn case_check(c: &CaseReport, dtype: DType) -> Check {
    let id = format!("{ID}.{}", c.name);
    match &c.outcome {
        Outcome::Match { worst, limit } => Check::pass(
            &id,
            format!(
                "{} matches the CPU at {dtype} (worst {worst:.1} of {limit} rounding units)",
                c.kernel
            ),
        ),
        Outcome::Refused { reason } => {
            Check::skip(&id, format!("refused on this SoC: {}", one_line(reason)))
        }
        Outcome::Failed { reason } => Check::fail(
            &id,
            format!("{} failed: {}", c.kernel, one_line(reason)),
            FAILED_FIX,
        ),
        Outcome::Mismatch {
            element,
            got,
            want,
            units,
            limit,
        } => Check::fail(
            &id,
            format!(
                "{} differs from the CPU at {dtype}: element {element} is {got}, the CPU's \
                 {want} ({units:.1} rounding units, limit {limit})",
                c.kernel
            ),
            MISMATCH_FIX,
        ),
    }
}

/// Runtime messages span lines (one per library tried); a check's detail is one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use device::doctor::Status;
    use device::{Absence, DeviceKind};

    fn npu_selected() -> Option<Selected> {
        Some(Selected {
            device: Device::Npu(0),
            dtype: DType::F16,
        })
    }

    fn case(name: &str, outcome: Outcome) -> CaseReport {
        CaseReport {
            name: name.to_string(),
            kernel: format!("aclnn_{name}"),
            outcome,
        }
    }

    fn report(cases: Vec<CaseReport>) -> SmokeReport {
        SmokeReport {
            device: 0,
            soc: "Ascend310P3".to_string(),
            dtype: DType::F16,
            open_error: None,
            cases,
        }
    }

    #[test]
    fn without_an_npu_the_skip_names_the_discovery_reason() {
        let absent = BackendReport::absent(
            DeviceKind::Npu,
            Absence::NotProbed("NPU discovery disabled".into()),
        );
        let checks = checks(&absent, None, |_, _| unreachable!("nothing to run on"));
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Skip);
        assert!(
            checks[0].detail.contains("NPU discovery disabled"),
            "{checks:?}"
        );
    }

    #[test]
    fn a_refusal_passes_and_a_mismatch_fails_naming_the_op() {
        let refused = Outcome::Refused {
            reason: "aclnn_add is not available on Ascend310P3".into(),
        };
        let matched = Outcome::Match {
            worst: 1.0,
            limit: 2.0,
        };
        let checks = from_report(&report(vec![
            case("add", refused.clone()),
            case("mul", matched),
        ]));
        assert_eq!(checks[0].status, Status::Pass);
        assert!(
            checks[0]
                .detail
                .contains("refused on this SoC by its op rules: add")
        );
        assert_eq!(checks[1].status, Status::Skip);
        assert_eq!(checks[1].id, "kernels.npu.add");

        let wrong = Outcome::Mismatch {
            element: 3,
            got: 2.0,
            want: 1.0,
            units: 9.0,
            limit: 2.0,
        };
        let checks = from_report(&report(vec![case("softmax", wrong), case("add", refused)]));
        assert_eq!(checks[0].status, Status::Fail);
        assert!(
            checks[0]
                .detail
                .starts_with("softmax (aclnn_softmax) failed")
        );
        assert_eq!(checks[0].fix.as_deref(), Some(MISMATCH_FIX));
        assert!(checks[1].detail.contains("element 3 is 2"), "{checks:?}");
    }

    #[test]
    fn a_crashed_child_or_an_unopened_runtime_fails() {
        let npu = BackendReport::new(DeviceKind::Npu);
        let checks = checks(&npu, npu_selected(), |_, _| {
            Err("crashed with SIGSEGV".to_string())
        });
        assert_eq!(checks[0].status, Status::Fail);
        assert!(checks[0].detail.contains("npu:0 crashed with SIGSEGV"));

        let mut unopened = report(Vec::new());
        unopened.open_error = Some("the ACL runtime is incomplete\n  loaded a.so".into());
        let checks = from_report(&unopened);
        assert_eq!(checks.len(), 1);
        assert!(
            checks[0].detail.ends_with("incomplete; loaded a.so"),
            "{checks:?}"
        );
    }
}
