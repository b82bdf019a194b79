//! Which dtypes each aclnn op accepts on which SoC family, transcribed from the op's doc
//! in the public CANN operator repositories (path per row), so an unsupported request is
//! refused before launch with the op, the argument and the SoC named. The SoC table
//! itself (bf16, fused attention, fp32 matmul mode) is the `device` crate's.

use super::dtype::NpuDType;
use crate::error::{OpsError, Result};
use device::npu::soc::SocFamily;

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

impl OpRule {
    const fn older(self, older: &'static [NpuDType]) -> Self {
        OpRule { older, ..self }
    }

    const fn absent(self, absent_on: &'static [SocFamily]) -> Self {
        OpRule { absent_on, ..self }
    }
}

// Families as the docs' product lists name them: Atlas training (910A), Atlas inference
// (310P), Atlas 200I/500 A2 (310B).
const T: SocFamily = SocFamily::Ascend910A;
const I: SocFamily = SocFamily::Ascend310P;
const B: SocFamily = SocFamily::Ascend310B;

pub const TABLE: &[OpRule] = &[
    rule("aclnnAdd", "ops-math: math/add/docs/aclnnAdd&aclnnInplaceAdd.md").absent(&[I, B]),
    rule("aclnnAdds", "ops-math: math/add/docs/aclnnAdds.md").absent(&[B]),
    rule("aclnnSub", "ops-math: math/sub/docs/aclnnSub&aclnnInplaceSub.md").absent(&[I]),
    rule("aclnnSubs", "ops-math: math/sub/docs/aclnnSubs&aclnnInplaceSubs.md").absent(&[B]),
    rule("aclnnMul", "ops-math: math/mul/docs/aclnnMul&aclnnInplaceMul.md"),
    rule("aclnnMuls", "ops-math: math/muls/docs/aclnnMuls&aclnnInplaceMuls.md").absent(&[B]),
    rule("aclnnDiv", "ops-math: math/div/docs/aclnnDiv&aclnnInplaceDiv.md").absent(&[I]),
    rule("aclnnDivs", "ops-math: math/div/docs/aclnnDivs&aclnnInplaceDivs.md").absent(&[I, B]),
    rule("aclnnNeg", "ops-math: math/neg/docs/aclnnNeg&aclnnInplaceNeg.md").absent(&[I]),
    rule("aclnnExp", "ops-math: math/exp/docs/aclnnExp&aclnnInplaceExp.md").absent(&[T, I, B]),
    rule("aclnnClamp", "ops-math: conversion/clip_by_value_v2/docs/aclnnClamp.md").absent(&[B]),
    rule("aclnnCast", "ops-math: math/cast/docs/aclnnCast.md").absent(&[B]),
    rule("aclnnInplaceCopy", "ops-math: conversion/view_copy/docs/aclnnInplaceCopy.md"),
    rule("aclnnInplaceZero", "ops-math: math/zero_op/docs/aclnnInplaceZero.md").absent(&[B]),
    rule("aclnnInplaceFillScalar", "ops-math: conversion/fill/docs/aclnnInplaceFillScalar.md").absent(&[B]),
    rule("aclnnCat", "ops-math: conversion/concat_d/docs/aclnnCat.md").absent(&[B]),
    rule("aclnnConstantPadNd", "ops-math: conversion/pad_v3/docs/aclnnConstantPadNd.md").absent(&[B]),
    // "Atlas 推理系列产品、Atlas 训练系列产品: self and out do not support FLOAT32, BFLOAT16".
    rule("aclnnUpsampleNearest2d", "ops-cv: image/resize_nearest_neighbor_v2/docs/aclnnUpsampleNearest2d.md").older(&[F16]).absent(&[B]),
    rule("aclnnIndexSelect", "ops-nn: index/gather_v2/docs/aclnnIndexSelect.md").absent(&[B]),
    rule("aclnnIndexAdd", "ops-nn: index/inplace_scatter_add/docs/aclnnIndexAdd.md").absent(&[T, I, B]),
    rule("aclnnEmbedding", "ops-nn: index/embedding/docs/aclnnEmbedding.md"),
    rule("aclnnSoftmax", "ops-nn: activation/softmax_v2/docs/aclnnSoftmax.md"),
    rule("aclnnGelu", "ops-nn: activation/gelu/docs/aclnnGelu.md").absent(&[B]),
    rule("aclnnGeluV2", "ops-nn: activation/gelu_v2/docs/aclnnGeluV2.md").absent(&[B]),
    rule("aclnnSigmoid", "ops-nn: activation/sigmoid/docs/aclnnSigmoid&aclnnInplaceSigmoid.md").absent(&[B]),
    rule("aclnnRelu", "ops-nn: activation/relu/docs/aclnnRelu&aclnnInplaceRelu.md").absent(&[I, B]),
    rule("aclnnBatchMatMul", "ops-nn: matmul/batch_mat_mul_v3/docs/aclnnBatchMatMul.md").absent(&[B]),
    rule("aclnnMatmul", "ops-nn: matmul/mat_mul_v3/docs/aclnnMatmul.md").absent(&[B]),
    rule("aclnnAddmm", "ops-nn: matmul/mat_mul_v3/docs/aclnnAddmm&aclnnInplaceAddmm.md").absent(&[B]),
    rule("aclnnConvolution", "ops-nn: conv/convolution_forward/docs/aclnnConvolution.md").absent(&[T]),
    rule("aclnnRmsNorm", "ops-nn: norm/rms_norm/docs/aclnnRmsNorm.md").absent(&[T, B]),
    rule("aclnnLayerNorm", "ops-nn: norm/layer_norm_v4/docs/aclnnLayerNorm&aclnnLayerNormWithImplMode.md").absent(&[I]),
    rule("aclnnAdaLayerNorm", "ops-nn: norm/ada_layer_norm/docs/aclnnAdaLayerNorm.md").absent(&[T, I, B]),
    rule("aclnnGroupNorm", "ops-nn: norm/group_norm/docs/aclnnGroupNorm.md").absent(&[B]),
    rule("aclnnGroupNormSilu", "ops-nn: norm/group_norm_silu/docs/aclnnGroupNormSilu.md").absent(&[T, B]),
    rule("aclnnSilu", "ops-nn: activation/swish/docs/aclnnSilu.md").absent(&[B]),
    rule("aclnnGeGluV3", "ops-nn: activation/ge_glu_v2/docs/aclnnGeGluV3.md").absent(&[T, B]),
    rule("aclnnSwiGlu", "ops-nn: activation/swi_glu/docs/aclnnSwiGlu.md").absent(&[T, B]),
    rule("aclnnRotaryPositionEmbedding", "ops-transformer: posembedding/rotary_position_embedding/docs/aclnnRotaryPositionEmbedding.md").absent(&[T, I, B]),
];

fn rule_of(op: &str) -> Option<&'static OpRule> {
    TABLE.iter().find(|r| r.op == op)
}

/// Refuses `dtype` for `arg` of `op` on the opened SoC when the op's doc does.
/// What the opened SoC refuses of `ops` at `dtype`, one message per refused op (empty when
/// every op has a kernel): a model can be refused before its weights load.
pub fn refusals(ops: &[&'static str], dtype: NpuDType) -> Vec<String> {
    ops.iter()
        .filter_map(|op| check(op, "input", dtype).err())
        .map(|e| e.to_string())
        .collect()
}

pub(crate) fn check(op: &'static str, arg: &'static str, dtype: NpuDType) -> Result<()> {
    let (Some((soc, traits)), Some(rule)) = (super::opened_soc(), rule_of(op)) else {
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
