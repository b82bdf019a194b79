//! Which dtypes each aclnn op accepts on which SoC family, transcribed from the op's doc
//! in the public CANN operator repositories (path per row), so an unsupported request is
//! refused before launch with the op, the argument and the SoC named. The SoC table
//! itself (bf16, fused attention, fp32 matmul mode) is the `device` crate's.

use super::dtype::NpuDType;
use crate::error::{OpsError, Result};
use device::npu::soc::{SocFamily, SocTraits};

use NpuDType::{BF16, F16, F32};

/// One op's rule for its floating tensors.
#[derive(Debug, Clone, Copy)]
pub struct OpRule {
    pub op: &'static str,
    /// Where the rule comes from (repository: path).
    pub doc: &'static str,
    /// On Atlas A2/A3 (910B, 910_93) and newer.
    pub current: &'static [NpuDType],
    /// On SoCs without bf16 kernels (Atlas inference 310P, Atlas training 910A, 310B).
    pub older: &'static [NpuDType],
    /// Families whose products the doc's 产品支持情况 lists as 不支持 (no kernel).
    pub absent_on: &'static [SocFamily],
}

const ALL: &[NpuDType] = &[F32, F16, BF16];
const NO_BF16: &[NpuDType] = &[F32, F16];

const fn rule(op: &'static str, doc: &'static str) -> OpRule {
    OpRule {
        op,
        doc,
        current: ALL,
        older: NO_BF16,
        absent_on: &[],
    }
}

pub const TABLE: &[OpRule] = &[
    OpRule {
        absent_on: &[SocFamily::Ascend310P, SocFamily::Ascend310B],
        ..rule(
            "aclnnAdd",
            "ops-math: math/add/docs/aclnnAdd&aclnnInplaceAdd.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule("aclnnAdds", "ops-math: math/add/docs/aclnnAdds.md")
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310P],
        ..rule(
            "aclnnSub",
            "ops-math: math/sub/docs/aclnnSub&aclnnInplaceSub.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnSubs",
            "ops-math: math/sub/docs/aclnnSubs&aclnnInplaceSubs.md",
        )
    },
    rule(
        "aclnnMul",
        "ops-math: math/mul/docs/aclnnMul&aclnnInplaceMul.md",
    ),
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnMuls",
            "ops-math: math/muls/docs/aclnnMuls&aclnnInplaceMuls.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310P],
        ..rule(
            "aclnnDiv",
            "ops-math: math/div/docs/aclnnDiv&aclnnInplaceDiv.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310P, SocFamily::Ascend310B],
        ..rule(
            "aclnnDivs",
            "ops-math: math/div/docs/aclnnDivs&aclnnInplaceDivs.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310P],
        ..rule(
            "aclnnNeg",
            "ops-math: math/neg/docs/aclnnNeg&aclnnInplaceNeg.md",
        )
    },
    OpRule {
        absent_on: &[
            SocFamily::Ascend910A,
            SocFamily::Ascend310P,
            SocFamily::Ascend310B,
        ],
        ..rule(
            "aclnnExp",
            "ops-math: math/exp/docs/aclnnExp&aclnnInplaceExp.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnClamp",
            "ops-math: conversion/clip_by_value_v2/docs/aclnnClamp.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule("aclnnCast", "ops-math: math/cast/docs/aclnnCast.md")
    },
    rule(
        "aclnnInplaceCopy",
        "ops-math: conversion/view_copy/docs/aclnnInplaceCopy.md",
    ),
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnInplaceZero",
            "ops-math: math/zero_op/docs/aclnnInplaceZero.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnInplaceFillScalar",
            "ops-math: conversion/fill/docs/aclnnInplaceFillScalar.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule("aclnnCat", "ops-math: conversion/concat_d/docs/aclnnCat.md")
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnConstantPadNd",
            "ops-math: conversion/pad_v3/docs/aclnnConstantPadNd.md",
        )
    },
    OpRule {
        // "Atlas 推理系列产品、Atlas 训练系列产品: self and out do not support FLOAT32, BFLOAT16".
        older: &[F16],
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnUpsampleNearest2d",
            "ops-cv: image/resize_nearest_neighbor_v2/docs/aclnnUpsampleNearest2d.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnIndexSelect",
            "ops-nn: index/gather_v2/docs/aclnnIndexSelect.md",
        )
    },
    OpRule {
        absent_on: &[
            SocFamily::Ascend910A,
            SocFamily::Ascend310P,
            SocFamily::Ascend310B,
        ],
        ..rule(
            "aclnnIndexAdd",
            "ops-nn: index/inplace_scatter_add/docs/aclnnIndexAdd.md",
        )
    },
    rule(
        "aclnnEmbedding",
        "ops-nn: index/embedding/docs/aclnnEmbedding.md",
    ),
    rule(
        "aclnnSoftmax",
        "ops-nn: activation/softmax_v2/docs/aclnnSoftmax.md",
    ),
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule("aclnnGelu", "ops-nn: activation/gelu/docs/aclnnGelu.md")
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnGeluV2",
            "ops-nn: activation/gelu_v2/docs/aclnnGeluV2.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnSigmoid",
            "ops-nn: activation/sigmoid/docs/aclnnSigmoid&aclnnInplaceSigmoid.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310P, SocFamily::Ascend310B],
        ..rule(
            "aclnnRelu",
            "ops-nn: activation/relu/docs/aclnnRelu&aclnnInplaceRelu.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnBatchMatMul",
            "ops-nn: matmul/batch_mat_mul_v3/docs/aclnnBatchMatMul.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnMatmul",
            "ops-nn: matmul/mat_mul_v3/docs/aclnnMatmul.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnAddmm",
            "ops-nn: matmul/mat_mul_v3/docs/aclnnAddmm&aclnnInplaceAddmm.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend910A],
        ..rule(
            "aclnnConvolution",
            "ops-nn: conv/convolution_forward/docs/aclnnConvolution.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend910A, SocFamily::Ascend310B],
        ..rule("aclnnRmsNorm", "ops-nn: norm/rms_norm/docs/aclnnRmsNorm.md")
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310P],
        ..rule(
            "aclnnLayerNorm",
            "ops-nn: norm/layer_norm_v4/docs/aclnnLayerNorm&aclnnLayerNormWithImplMode.md",
        )
    },
    OpRule {
        absent_on: &[
            SocFamily::Ascend910A,
            SocFamily::Ascend310P,
            SocFamily::Ascend310B,
        ],
        ..rule(
            "aclnnAdaLayerNorm",
            "ops-nn: norm/ada_layer_norm/docs/aclnnAdaLayerNorm.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule(
            "aclnnGroupNorm",
            "ops-nn: norm/group_norm/docs/aclnnGroupNorm.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend910A, SocFamily::Ascend310B],
        ..rule(
            "aclnnGroupNormSilu",
            "ops-nn: norm/group_norm_silu/docs/aclnnGroupNormSilu.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend310B],
        ..rule("aclnnSilu", "ops-nn: activation/swish/docs/aclnnSilu.md")
    },
    OpRule {
        absent_on: &[SocFamily::Ascend910A, SocFamily::Ascend310B],
        ..rule(
            "aclnnGeGluV3",
            "ops-nn: activation/ge_glu_v2/docs/aclnnGeGluV3.md",
        )
    },
    OpRule {
        absent_on: &[SocFamily::Ascend910A, SocFamily::Ascend310B],
        ..rule(
            "aclnnSwiGlu",
            "ops-nn: activation/swi_glu/docs/aclnnSwiGlu.md",
        )
    },
    OpRule {
        absent_on: &[
            SocFamily::Ascend910A,
            SocFamily::Ascend310P,
            SocFamily::Ascend310B,
        ],
        ..rule(
            "aclnnRotaryPositionEmbedding",
            "ops-transformer: posembedding/rotary_position_embedding/docs/aclnnRotaryPositionEmbedding.md",
        )
    },
];

pub fn rule_of(op: &str) -> Option<&'static OpRule> {
    TABLE.iter().find(|r| r.op == op)
}

/// Refuses `dtype` for `arg` of `op` on the opened SoC when the op's doc does.
pub(crate) fn check(op: &'static str, arg: &'static str, dtype: NpuDType) -> Result<()> {
    let Some((soc, traits)) = super::opened_soc() else {
        return Ok(());
    };
    check_on(op, arg, dtype, soc, traits)
}

pub(crate) fn check_on(
    op: &'static str,
    arg: &'static str,
    dtype: NpuDType,
    soc: &str,
    traits: SocTraits,
) -> Result<()> {
    let Some(rule) = rule_of(op) else {
        return Ok(());
    };
    let soc = if soc.is_empty() { "this SoC" } else { soc };
    if rule.absent_on.contains(&traits.family) {
        return Err(OpsError::Unsupported(format!(
            "{op} is not available on {soc} ({})",
            rule.doc
        )));
    }
    if !dtype.is_float() {
        return Ok(());
    }
    let allowed = if traits.bf16 {
        rule.current
    } else {
        rule.older
    };
    if allowed.contains(&dtype) {
        Ok(())
    } else {
        Err(OpsError::Unsupported(format!(
            "{op}: {arg} is {dtype}, which {soc} does not support for this op ({}); \
             supported: {}",
            rule.doc,
            allowed
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}
