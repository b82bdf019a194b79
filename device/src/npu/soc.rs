//! Ascend SoC families and what each supports, as data.
//!
//! Names come from `aclrtGetSocName`. The bf16 column follows torch_npu (bf16 iff the SoC
//! is Ascend910B1 or later in its enum); it is the fallback when the runtime cannot be
//! asked (`aclGetCannAttribute` is missing on older CANN).

use serde::Serialize;

/// A group of SoCs with the same capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SocFamily {
    /// Ascend910A/ProA/ProB/PremiumA and the legacy plain "Ascend910B" (910A-class).
    Ascend910A,
    /// Atlas A2: Ascend910B1..B4 and variants such as 910B4-1, 910B2C.
    Ascend910B,
    /// Atlas A3: Ascend910_93xx.
    Ascend910_93,
    Ascend950,
    /// Inference cards (Atlas 300I Duo/Pro = 310P3).
    Ascend310P,
    Ascend310B,
    Unknown,
}

/// What a family supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SocTraits {
    pub family: SocFamily,
    pub bf16: bool,
    /// aclnnFlashAttentionScore (training FA).
    pub flash_attention_score: bool,
    /// aclnnFusedInferAttentionScoreV2 (inference FA).
    pub fused_infer_attention: bool,
    /// fp32 matmul needs cubeMathType=1, which computes it in fp16 (aclnnMatmul's doc:
    /// Atlas training and inference products do not take cubeMathType=0 for FLOAT32).
    pub fp32_matmul_needs_downcast: bool,
}

const fn traits(family: SocFamily, bf16: bool, fa: bool, fia: bool, downcast: bool) -> SocTraits {
    SocTraits {
        family,
        bf16,
        flash_attention_score: fa,
        fused_infer_attention: fia,
        fp32_matmul_needs_downcast: downcast,
    }
}

/// One row per family; an unknown SoC gets the most conservative answers.
const TABLE: [SocTraits; 7] = [
    traits(SocFamily::Ascend910A, false, false, false, true),
    traits(SocFamily::Ascend910B, true, true, true, false),
    traits(SocFamily::Ascend910_93, true, true, true, false),
    traits(SocFamily::Ascend950, true, true, true, false),
    traits(SocFamily::Ascend310P, false, false, false, true),
    // 310B sorts after 910B1 in torch_npu's enum, which is the only reason torch_npu says
    // bf16 there; no document claims it, so we do not either.
    traits(SocFamily::Ascend310B, false, false, false, false),
    traits(SocFamily::Unknown, false, false, false, false),
];

/// Classifies a SoC name.
pub fn family(soc: &str) -> SocFamily {
    let soc = soc.trim();
    if let Some(rest) = soc.strip_prefix("Ascend910B") {
        // "Ascend910B" alone is the legacy 910A-class part; a digit after it is Atlas A2.
        return if rest.starts_with(|c: char| c.is_ascii_digit()) {
            SocFamily::Ascend910B
        } else if rest.is_empty() {
            SocFamily::Ascend910A
        } else {
            SocFamily::Unknown
        };
    }
    if soc.starts_with("Ascend910_93") {
        SocFamily::Ascend910_93
    } else if [
        "Ascend910A",
        "Ascend910ProA",
        "Ascend910ProB",
        "Ascend910PremiumA",
    ]
    .contains(&soc)
    {
        SocFamily::Ascend910A
    } else if soc.starts_with("Ascend950") {
        SocFamily::Ascend950
    } else if soc.starts_with("Ascend310P") {
        SocFamily::Ascend310P
    } else if soc.starts_with("Ascend310B") {
        SocFamily::Ascend310B
    } else {
        SocFamily::Unknown
    }
}

/// The traits of a SoC by name.
pub fn soc_traits(soc: &str) -> SocTraits {
    let fam = family(soc);
    TABLE
        .iter()
        .copied()
        .find(|t| t.family == fam)
        .unwrap_or(TABLE[TABLE.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_known_names() {
        assert_eq!(family("Ascend910B3"), SocFamily::Ascend910B);
        assert_eq!(family("Ascend910B4-1"), SocFamily::Ascend910B);
        assert_eq!(family("Ascend910B"), SocFamily::Ascend910A);
        assert_eq!(family("Ascend910ProB"), SocFamily::Ascend910A);
        assert_eq!(family("Ascend910_9391"), SocFamily::Ascend910_93);
        assert_eq!(family("Ascend310P3"), SocFamily::Ascend310P);
        assert_eq!(family("Ascend950PR"), SocFamily::Ascend950);
        assert_eq!(family("Ascend610"), SocFamily::Unknown);
    }

    #[test]
    fn bf16_only_from_910b_on() {
        assert!(soc_traits("Ascend910B1").bf16);
        assert!(soc_traits("Ascend910_9392").bf16);
        assert!(!soc_traits("Ascend910A").bf16);
        assert!(!soc_traits("Ascend310P3").bf16);
        assert!(!soc_traits("mystery").bf16);
        assert!(soc_traits("Ascend310P3").fp32_matmul_needs_downcast);
        assert!(soc_traits("Ascend910A").fp32_matmul_needs_downcast);
        assert!(!soc_traits("Ascend910B3").fp32_matmul_needs_downcast);
    }
}
