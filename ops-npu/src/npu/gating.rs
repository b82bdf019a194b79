//! Which aclnn kernel may run on this SoC and CANN: a decision from data (the `device`
//! crate's SoC table, the CANN version and the resolved symbols), not scattered ifs.

use super::NpuRuntime;
use crate::error::{OpsError, Result};
use device::DType;

/// The attention kernel a call will use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionRoute {
    /// aclnnFusedInferAttentionScoreV2 (Atlas A2/A3 inference).
    FusedInferV2,
    /// aclnnPromptFlashAttention (older CANN without the V2 op).
    PromptFlash,
    /// aclnnFlashAttentionScore (910B-class, CANN >= 7.0.0).
    FlashScore,
    /// f32: the fused ops take f16/bf16 only, so BatchMatMul, Softmax and BatchMatMul in
    /// f32 on the device (ops::attention's doc says what it costs).
    MatmulSoftmaxF32,
}

impl AttentionRoute {
    /// The fused kernel's code for the bridge; None for the composite.
    pub(crate) fn fused_code(self) -> Option<u8> {
        match self {
            AttentionRoute::FusedInferV2 => Some(0),
            AttentionRoute::PromptFlash => Some(1),
            AttentionRoute::FlashScore => Some(2),
            AttentionRoute::MatmulSoftmaxF32 => None,
        }
    }
}

/// Whether a CANN version string ("8.0.RC2", "7.0.0") is at least major.minor.patch;
/// unknown or unparsable versions are not.
pub fn cann_at_least(version: Option<&str>, want: (u32, u32, u32)) -> bool {
    let Some(v) = version else { return false };
    let mut parts = v.split('.').map(|p| {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let mut next = || parts.next().flatten();
    match (next(), next()) {
        (Some(a), Some(b)) => (a, b, next().unwrap_or(0)) >= want,
        _ => false,
    }
}

impl NpuRuntime {
    /// The attention kernel for `dtype`, or why there is none (the caller falls back).
    pub fn attention_route(&self, dtype: DType, want_lse: bool) -> Result<AttentionRoute> {
        let t = self.traits();
        let soc = if self.soc().is_empty() {
            "this SoC"
        } else {
            self.soc()
        };
        if dtype == DType::BF16 && !t.bf16 {
            return Err(OpsError::Unsupported(format!(
                "{soc} has no bf16 kernels; use f16"
            )));
        }
        // The composite multiplies on the cube unit, which keeps f32 except on SoCs that
        // need cubeMathType=1 (310P); there the caller's CPU fallback keeps f32 exact.
        let has =
            |op: &str| self.has_symbol(&format!("{op}GetWorkspaceSize")) && self.has_symbol(op);
        let composite = [
            "aclnnMatmul",
            "aclnnMuls",
            "aclnnAdd",
            "aclnnCast",
            "aclnnSoftmax",
        ];
        if dtype == DType::F32
            && !want_lse
            && !t.fp32_matmul_needs_downcast
            && composite.iter().all(|op| has(op))
        {
            return Ok(AttentionRoute::MatmulSoftmaxF32);
        }
        let fused_capable = t.fused_infer_attention || t.flash_attention_score;
        if dtype == DType::F32 && fused_capable {
            return Err(OpsError::Unsupported(format!(
                "the fused attention kernels on {soc} take f16/bf16 queries only (their docs), \
                 and the f32 composite has no log-sum-exp output"
            )));
        }
        if t.fused_infer_attention && has("aclnnFusedInferAttentionScoreV2") {
            return Ok(AttentionRoute::FusedInferV2);
        }
        if !want_lse {
            if t.fused_infer_attention && has("aclnnPromptFlashAttention") {
                return Ok(AttentionRoute::PromptFlash);
            }
            if t.flash_attention_score
                && cann_at_least(self.cann_version(), (7, 0, 0))
                && has("aclnnFlashAttentionScore")
            {
                return Ok(AttentionRoute::FlashScore);
            }
        }
        Err(OpsError::Unsupported(
            if t.fused_infer_attention || t.flash_attention_score {
                format!(
                    "no usable flash-attention kernel on {soc}: the loaded CANN ({}) lacks \
                 aclnnFusedInferAttentionScoreV2{}",
                    self.cann_version().unwrap_or("version unknown"),
                    if want_lse {
                        " (the only one with a log-sum-exp output)"
                    } else {
                        ", aclnnPromptFlashAttention and a CANN >= 7.0.0 aclnnFlashAttentionScore"
                    }
                )
            } else {
                format!(
                    "{soc} ({:?} family) has no flash-attention kernel (FusedInferAttentionScoreV2 \
                 and FlashAttentionScore need Atlas A2/A3); use the CPU kernel or a composite",
                    t.family
                )
            },
        ))
    }

    /// aclnnMatmul's cubeMathType: 1 (allow fp32 down-precision) where the SoC cannot
    /// multiply fp32 on its cube unit (310P), else 0 (keep precision).
    pub fn cube_math_type(&self, dtype: DType) -> i8 {
        i8::from(dtype == DType::F32 && self.traits().fp32_matmul_needs_downcast)
    }
}

#[cfg(test)]
mod tests {
    use super::cann_at_least;

    #[test]
    fn cann_versions_compare_numerically() {
        assert!(cann_at_least(Some("7.0.0"), (7, 0, 0)));
        assert!(cann_at_least(Some("8.0.RC2"), (7, 0, 0)));
        assert!(cann_at_least(Some("7.1"), (7, 0, 0)));
        assert!(!cann_at_least(Some("6.3.RC1"), (7, 0, 0)));
        assert!(!cann_at_least(Some("garbage"), (7, 0, 0)));
        assert!(!cann_at_least(None, (7, 0, 0)));
    }
}
