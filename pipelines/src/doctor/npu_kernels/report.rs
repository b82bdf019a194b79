//! What the smoke run found, op by op: the record a child process prints and the parent
//! turns into checks, so it is plain data that serialises.

use serde::{Deserialize, Serialize};

/// The smoke run on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmokeReport {
    pub device: usize,
    /// As aclrtGetSocName answered (empty when the runtime could not be opened).
    pub soc: String,
    pub dtype: device::DType,
    /// Why no op ran: the runtime or its stream could not be opened.
    pub open_error: Option<String>,
    pub cases: Vec<CaseReport>,
}

/// One op of the smoke subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// The ops-npu function (`add`, `layer_norm`, ...); the check id ends with it.
    pub name: String,
    /// The aclnn kernel(s) that ran, or would have.
    pub kernel: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    /// Every element within `limit` rounding units of the CPU's; `worst` is the largest.
    Match { worst: f32, limit: f32 },
    /// The kernel ran but computed something else.
    Mismatch {
        element: usize,
        got: f32,
        want: f32,
        units: f32,
        limit: f32,
    },
    /// Refused before launch: the op's doc (the rules table) or the SoC table says this
    /// SoC has no such kernel at this dtype.
    Refused { reason: String },
    /// The runtime or the kernel reported an error.
    Failed { reason: String },
}

/// How far an output may be from the CPU reference: `units` roundings of `unit` (the
/// dtype's unit roundoff) relative to max(|want|, `floor`), as in the op suite
/// (ops-npu/tests/it/npu_ops/support.rs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub unit: f32,
    pub units: f32,
    pub floor: f32,
}

/// The dtype's unit roundoff, 2^-(mantissa bits + 1).
pub fn unit_roundoff(dtype: device::DType) -> f32 {
    match dtype {
        device::DType::F16 => 2f32.powi(-11),
        device::DType::BF16 => 2f32.powi(-8),
        device::DType::F32 => 2f32.powi(-24),
    }
}

/// Compares element by element; the first element out of bounds (a NaN included) is the
/// one reported.
pub fn compare(got: &[f32], want: &[f32], tol: Tolerance) -> Outcome {
    if got.len() != want.len() {
        return Outcome::Failed {
            reason: format!(
                "the kernel returned {} elements, the CPU {}",
                got.len(),
                want.len()
            ),
        };
    }
    let mut worst = 0.0f32;
    for (element, (&g, &w)) in got.iter().zip(want).enumerate() {
        let units = (g - w).abs() / (tol.unit * w.abs().max(tol.floor));
        if units.is_nan() || units > tol.units {
            return Outcome::Mismatch {
                element,
                got: g,
                want: w,
                units,
                limit: tol.units,
            };
        }
        worst = worst.max(units);
    }
    Outcome::Match {
        worst,
        limit: tol.units,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance {
        unit: 0.5,
        units: 2.0,
        floor: 1.0,
    };

    #[test]
    fn within_the_units_matches_and_reports_the_worst() {
        assert_eq!(
            compare(&[1.5, 10.0], &[1.0, 10.0], TOL),
            Outcome::Match {
                worst: 1.0,
                limit: 2.0
            }
        );
    }

    #[test]
    fn the_first_element_out_of_bounds_is_named_and_nan_never_matches() {
        let Outcome::Mismatch { element, .. } = compare(&[1.0, 9.0, 0.0], &[1.0, 1.0, 9.0], TOL)
        else {
            panic!("expected a mismatch");
        };
        assert_eq!(element, 1);
        assert!(matches!(
            compare(&[f32::NAN], &[0.0], TOL),
            Outcome::Mismatch { element: 0, .. }
        ));
    }
}
