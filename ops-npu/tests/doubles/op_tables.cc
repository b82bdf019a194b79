// One constraint table per op, transcribed from the op's doc in the public CANN operator
// repositories (hicann/ops-math, ops-nn, ops-cv, ops-transformer; path given per table):
// 产品支持情况 gives `products`; each 参数说明 row gives an Arg (dtypes, 数据格式, 维度,
// 非连续Tensor), and the notes under the table the per-product removals.
// Families: A = Atlas A2/A3, T = Atlas training (910A), I = Atlas inference (310P),
// B = Atlas 200I/500 A2 (310B), N = Ascend 950.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "constraints.h"

namespace {

constexpr unsigned A = FAM_A2A3, T = FAM_TRAIN, I = FAM_INFER, B = FAM_310B, N = FAM_950;

// The dtype list most math docs share (Add, Sub, Mul, Div and their scalar forms).
constexpr DtypeSet kArith = F32 | F16 | F64 | I32 | I64 | I16 | I8 | U8 | BOOL_ | C128 | C64 | BF16;

std::vector<OpTable> build() {
  std::vector<OpTable> t;
  // ---- ops-math ----------------------------------------------------------------------
  t.push_back({"aclnnAdd", "hicann/ops-math math/add/docs/aclnnAdd&aclnnInplaceAdd.md", A | T | N,
               {Arg("self", kArith).no(T, BF16), Arg("other", kArith).no(T, BF16),
                Arg("alpha", kArith).no(T, BF16).is_scalar(), Arg("out", kArith).no(T, BF16)}});
  t.push_back({"aclnnAdds", "hicann/ops-math math/add/docs/aclnnAdds.md", A | T | I | N,
               {Arg("self", kArith).no(I | T, BF16), Arg("other", kArith).no(I | T, BF16).is_scalar(),
                Arg("alpha", kArith).no(I | T, BF16).is_scalar(), Arg("out", kArith).no(I | T, BF16)}});
  t.push_back({"aclnnSub", "hicann/ops-math math/sub/docs/aclnnSub&aclnnInplaceSub.md", A | T | B | N,
               {Arg("self", kArith).no(T | B, BF16), Arg("other", kArith).no(T | B, BF16),
                Arg("alpha", kArith).no(T | B, BF16).is_scalar(), Arg("out", kArith).no(T | B, BF16)}});
  t.push_back({"aclnnSubs", "hicann/ops-math math/sub/docs/aclnnSubs&aclnnInplaceSubs.md", A | T | I | N,
               {Arg("self", kArith).no(I | T, BF16), Arg("other", kArith).no(I | T, BF16).is_scalar(),
                Arg("alpha", kArith).no(I | T, BF16).is_scalar(), Arg("out", kArith).no(I | T, BF16)}});
  t.push_back({"aclnnMul", "hicann/ops-math math/mul/docs/aclnnMul&aclnnInplaceMul.md", A | T | I | N,
               {Arg("self", kArith).no(I | T | B, BF16), Arg("other", kArith).no(I | T | B, BF16),
                Arg("out", kArith).no(I | T | B, BF16)}});
  t.push_back({"aclnnMuls", "hicann/ops-math math/muls/docs/aclnnMuls&aclnnInplaceMuls.md", A | T | I | N,
               {Arg("self", kArith).no(I | T, BF16), Arg("other", kArith).no(I | T, BF16).is_scalar(),
                Arg("out", kArith).no(I | T, BF16)}});
  t.push_back({"aclnnDiv", "hicann/ops-math math/div/docs/aclnnDiv&aclnnInplaceDiv.md", A | T | B | N,
               {Arg("self", kArith).no(B | T, BF16), Arg("other", kArith).no(B | T, BF16),
                Arg("out", kArith).no(B | T, BF16).no(N, I32 | I64 | I16 | I8 | U8 | BOOL_)}});
  t.push_back({"aclnnDivs", "hicann/ops-math math/div/docs/aclnnDivs&aclnnInplaceDivs.md", A | T | N,
               {Arg("self", kArith).no(T, BF16), Arg("other", kArith).is_scalar(),
                Arg("out", kArith).no(T, BF16).no(N, I32 | I64 | I16 | I8 | U8 | BOOL_)}});
  constexpr DtypeSet kNeg = I8 | I32 | I64 | F16 | BF16 | F32 | F64 | C64 | C128;
  t.push_back({"aclnnNeg", "hicann/ops-math math/neg/docs/aclnnNeg&aclnnInplaceNeg.md", A | T | B | N,
               {Arg("self", kNeg).no(B | T, BF16), Arg("out", kNeg).no(B | T, BF16)}});
  t.push_back({"aclnnExp", "hicann/ops-math math/exp/docs/aclnnExp&aclnnInplaceExp.md", A | N,
               {Arg("self", F32 | F16 | F64 | C64 | C128 | BOOL_ | I64 | BF16),
                Arg("out", F32 | F16 | F64 | C64 | C128 | BF16)}});
  constexpr DtypeSet kClamp = F16 | F32 | F64 | I8 | U8 | I16 | I32 | I64 | BOOL_ | BF16;
  t.push_back({"aclnnClamp", "hicann/ops-math conversion/clip_by_value_v2/docs/aclnnClamp.md",
               A | T | I | N,
               {Arg("self", kClamp).rank(1, 8).no(T | I, BOOL_ | BF16).no(A | N, BOOL_),
                Arg("clipValueMin", kClamp).no(T | I, BF16).no(N, BOOL_).is_scalar().opt(),
                Arg("clipValueMax", kClamp).no(T | I, BF16).no(N, BOOL_).is_scalar().opt(),
                Arg("out", kClamp).rank(1, 8).no(T | I, BOOL_ | BF16).no(A | N, BOOL_)}});
  constexpr DtypeSet kCast = F16 | F32 | F64 | I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64 | BOOL_ | C64 | C128 | BF16;
  t.push_back({"aclnnCast", "hicann/ops-math math/cast/docs/aclnnCast.md", A | T | I | N,
               {Arg("self", kCast).no(T | I, BF16), Arg("out", kCast).no(T | I, BF16)}});
  constexpr DtypeSet kCopy = I8 | I16 | I32 | I64 | U8 | F16 | F32 | BOOL_ | F64 | C64 | C128 | U16 | U32 | U64 | BF16;
  t.push_back({"aclnnInplaceCopy", "hicann/ops-math conversion/view_copy/docs/aclnnInplaceCopy.md",
               A | T | I | B | N,
               {Arg("selfRef", kCopy).rank(1, 8), Arg("src", kCopy).rank(1, 8)}});
  t.push_back({"aclnnInplaceZero", "hicann/ops-math math/zero_op/docs/aclnnInplaceZero.md", A | T | I | N,
               {Arg("selfRef", I8 | I32 | I64 | U8 | F16 | F32 | BOOL_ | F64 | I16 | U16 | C128 | C64 | BF16)
                    .no(I | T, BF16)}});
  constexpr DtypeSet kFill = F32 | F16 | U8 | I8 | I16 | I32 | I64 | F64 | C64 | C128 | BOOL_ | BF16 | U16 | U32 | U64;
  t.push_back({"aclnnInplaceFillScalar", "hicann/ops-math conversion/fill/docs/aclnnInplaceFillScalar.md",
               A | T | I | N,
               {Arg("selfRef", kFill).no(I | T, BF16 | U16 | U32 | U64),
                Arg("value", kFill).no(I | T, BF16 | U16 | U32 | U64).is_scalar()}});
  constexpr DtypeSet kCat = F32 | F16 | I32 | I64 | I16 | I8 | U8 | U16 | U32 | U64 | BOOL_ | F64 | C64 | BF16;
  t.push_back({"aclnnCat", "hicann/ops-math conversion/concat_d/docs/aclnnCat.md", A | T | I | N,
               {Arg("tensors", kCat).rank(1, 8).no(I | T, BF16).no(A, U16 | U32 | U64),
                Arg("out", kCat).no(I | T, BF16).no(A, U16 | U32 | U64)}});
  constexpr DtypeSet kPad = F32 | F16 | I32 | I64 | I16 | I8 | U8 | U16 | U32 | U64 | BOOL_ | F64 | C64 | C128 | BF16;
  t.push_back({"aclnnConstantPadNd", "hicann/ops-math conversion/pad_v3/docs/aclnnConstantPadNd.md",
               A | T | I | N,
               {Arg("self", kPad).no(T | I, BF16), Arg("value", kPad).no(T | I, BF16).is_scalar(),
                Arg("out", kPad).no(T | I, BF16)}});
  // ---- ops-cv ------------------------------------------------------------------------
  t.push_back({"aclnnUpsampleNearest2d",
               "hicann/ops-cv image/resize_nearest_neighbor_v2/docs/aclnnUpsampleNearest2d.md", A | T | I | N,
               {Arg("self", F32 | BF16 | F16 | F64 | U8).no(I | T, F32 | BF16).fmt(FMT_NCHW | FMT_NHWC).rank(4, 4),
                Arg("out", F32 | BF16 | F16 | F64 | U8).no(I | T, F32 | BF16).fmt(FMT_NCHW | FMT_NHWC).rank(4, 4)}});
  // ---- ops-nn: index -----------------------------------------------------------------
  constexpr unsigned kSixFormats = FMT_ND | FMT_NCHW | FMT_NHWC | FMT_HWCN | FMT_NDHWC | FMT_NCDHW;
  constexpr DtypeSet kSel = F32 | F16 | BF16 | I64 | I32 | I16 | I8 | U8 | U16 | U32 | U64 | BOOL_ | F64 | C64 | C128;
  t.push_back({"aclnnIndexSelect", "hicann/ops-nn index/gather_v2/docs/aclnnIndexSelect.md", A | T | I | N,
               {Arg("self", kSel).no(I | T, BF16).fmt(kSixFormats),
                Arg("index", I64 | I32).fmt(kSixFormats).rank(0, 1),
                Arg("out", kSel).no(I | T, BF16).fmt(kSixFormats)}});
  constexpr DtypeSet kIdxAdd = F32 | F16 | I32 | I16 | I8 | U8 | F64 | I64 | BOOL_ | BF16;
  t.push_back({"aclnnIndexAdd", "hicann/ops-nn index/inplace_scatter_add/docs/aclnnIndexAdd.md", A | N,
               {Arg("self", kIdxAdd), Arg("index", I64 | I32).rank(0, 1), Arg("source", kIdxAdd),
                Arg("alpha", kIdxAdd).is_scalar(), Arg("out", kIdxAdd)}});
  constexpr DtypeSet kEmb = BF16 | F32 | F16 | I64 | I32 | I16 | I8 | U8 | BOOL_ | F64 | C64 | C128;
  t.push_back({"aclnnEmbedding", "hicann/ops-nn index/embedding/docs/aclnnEmbedding.md", A | T | I | B | N,
               {Arg("weight", kEmb).no(I | T | B, BF16).rank(2, 2), Arg("indices", I64 | I32),
                Arg("out", kEmb).no(I | T | B, BF16)}});
  // ---- ops-nn: activations -----------------------------------------------------------
  t.push_back({"aclnnSoftmax", "hicann/ops-nn activation/softmax_v2/docs/aclnnSoftmax.md", A | T | I | B | N,
               {Arg("self", F16 | F32 | F64 | BF16).no(I | T | B, BF16),
                Arg("out", F16 | F32 | F64 | BF16).no(I | T | B, BF16)}});
  t.push_back({"aclnnSigmoid", "hicann/ops-nn activation/sigmoid/docs/aclnnSigmoid&aclnnInplaceSigmoid.md",
               A | T | I | N, {Arg("self", FLOATS), Arg("out", FLOATS)}});
  constexpr DtypeSet kRelu = F32 | F16 | I8 | I32 | I64 | BF16;
  t.push_back({"aclnnRelu", "hicann/ops-nn activation/relu/docs/aclnnRelu&aclnnInplaceRelu.md", A | T | N,
               {Arg("self", kRelu).no(T, BF16), Arg("out", kRelu).no(T, BF16)}});
  t.push_back({"aclnnGelu", "hicann/ops-nn activation/gelu/docs/aclnnGelu.md", A | T | I | N,
               {Arg("self", FLOATS).no(B | I | T, BF16), Arg("out", FLOATS).no(B | I | T, BF16)}});
  t.push_back({"aclnnGeluV2", "hicann/ops-nn activation/gelu_v2/docs/aclnnGeluV2.md", A | T | I | N,
               {Arg("x", FLOATS).no(T | B | I, BF16), Arg("y", FLOATS).no(T | B | I, BF16)}});
  t.push_back({"aclnnSilu", "hicann/ops-nn activation/swish/docs/aclnnSilu.md", A | T | I | N,
               {Arg("self", FLOATS).no(I | T, BF16), Arg("out", FLOATS).no(I | T, BF16)}});
  t.push_back({"aclnnGeGluV3", "hicann/ops-nn activation/ge_glu_v2/docs/aclnnGeGluV3.md", A | I | N,
               {Arg("self", FLOATS).no(I | T, BF16), Arg("out", FLOATS).no(I | T, BF16),
                Arg("outGelu", FLOATS).no(I | T, BF16)}});
  t.push_back({"aclnnSwiGlu", "hicann/ops-nn activation/swi_glu/docs/aclnnSwiGlu.md", A | I | N,
               {Arg("x", FLOATS).no(I, BF16).rank(1, 8).dense(), Arg("out", FLOATS).no(I, BF16).dense()}});
  // ---- ops-nn: matmul and convolution ------------------------------------------------
  t.push_back({"aclnnMatmul", "hicann/ops-nn matmul/mat_mul_v3/docs/aclnnMatmul.md", A | T | I | N,
               {Arg("self", FLOATS).no(T | I, BF16).rank(1, 6), Arg("mat2", FLOATS).no(T | I, BF16).rank(1, 6),
                Arg("out", FLOATS).no(T | I, BF16).rank(1, 6)}});
  t.push_back({"aclnnBatchMatMul", "hicann/ops-nn matmul/batch_mat_mul_v3/docs/aclnnBatchMatMul.md",
               A | T | I | N,
               {Arg("self", FLOATS).no(T | I, BF16).rank(3, 3), Arg("mat2", FLOATS).no(T | I, BF16).rank(3, 3),
                Arg("out", FLOATS).no(T | I, BF16).rank(3, 3)}});
  constexpr DtypeSet kAddmmScalar = F32 | F16 | F64 | I8 | I16 | I32 | I64 | U8;
  t.push_back({"aclnnAddmm", "hicann/ops-nn matmul/mat_mul_v3/docs/aclnnAddmm&aclnnInplaceAddmm.md",
               A | T | I | N,
               {Arg("self", FLOATS).no(T | I, BF16).rank(1, 2), Arg("mat1", FLOATS).no(T | I, BF16).rank(2, 2),
                Arg("mat2", FLOATS).no(T | I, BF16).rank(2, 2), Arg("beta", kAddmmScalar).is_scalar(),
                Arg("alpha", kAddmmScalar).is_scalar(), Arg("out", FLOATS).no(T | I, BF16).rank(2, 2)}});
  constexpr unsigned kConvFormats = FMT_NCL | FMT_NCHW | FMT_NCDHW;
  t.push_back({"aclnnConvolution", "hicann/ops-nn conv/convolution_forward/docs/aclnnConvolution.md",
               A | B | I | N,
               {Arg("input", FLOATS).no(I, BF16).fmt(kConvFormats).rank(3, 5),
                Arg("weight", FLOATS).no(I, BF16).fmt(kConvFormats).rank(3, 5),
                Arg("bias", FLOATS).no(I, BF16).fmt(FMT_ND | kConvFormats).rank(1, 5).opt(),
                Arg("output", FLOATS).no(I, BF16).fmt(kConvFormats).rank(3, 5)}});
  // ---- ops-nn: norms -----------------------------------------------------------------
  t.push_back({"aclnnRmsNorm", "hicann/ops-nn norm/rms_norm/docs/aclnnRmsNorm.md", A | I | N,
               {Arg("x", FLOATS).no(I, BF16).rank(1, 8), Arg("gamma", FLOATS).no(I, BF16).rank(1, 8),
                Arg("yOut", FLOATS).no(I, BF16).rank(1, 8), Arg("rstdOut", F32).rank(1, 8)}});
  t.push_back({"aclnnLayerNorm",
               "hicann/ops-nn norm/layer_norm_v4/docs/aclnnLayerNorm&aclnnLayerNormWithImplMode.md",
               A | T | B | N,
               {Arg("input", FLOATS).no(T | B, BF16).rank(1, 8), Arg("weightOptional", FLOATS).no(T | B, BF16).opt(),
                Arg("biasOptional", FLOATS).no(T | B, BF16).opt(), Arg("out", FLOATS).no(T | B, BF16).rank(1, 8),
                Arg("meanOutOptional", FLOATS).no(T | B, BF16).rank(1, 8).opt(),
                Arg("rstdOutOptional", FLOATS).no(T | B, BF16).rank(1, 8).opt()}});
  t.push_back({"aclnnAdaLayerNorm", "hicann/ops-nn norm/ada_layer_norm/docs/aclnnAdaLayerNorm.md", A,
               {Arg("x", FLOATS).rank(2, 8), Arg("scale", FLOATS).rank(1, 8), Arg("shift", FLOATS).rank(1, 8),
                Arg("weightOptional", FLOATS).rank(1, 1).opt(), Arg("biasOptional", FLOATS).rank(1, 1).opt(),
                Arg("out", FLOATS).rank(2, 8)}});
  t.push_back({"aclnnGroupNorm", "hicann/ops-nn norm/group_norm/docs/aclnnGroupNorm.md", A | T | I | N,
               {Arg("self", FLOATS).no(T | I, BF16).rank(2, 8), Arg("gamma", FLOATS).no(T | I, BF16).rank(1, 1),
                Arg("beta", FLOATS).no(T | I, BF16).rank(1, 1), Arg("out", FLOATS).no(T | I, BF16).rank(2, 8),
                Arg("meanOut", FLOATS).no(T | I, BF16).rank(2, 2), Arg("rstdOut", FLOATS).no(T | I, BF16).rank(2, 2)}});
  t.push_back({"aclnnGroupNormSilu", "hicann/ops-nn norm/group_norm_silu/docs/aclnnGroupNormSilu.md", A | I | N,
               {Arg("self", FLOATS).no(I, BF16).rank(2, 8), Arg("gamma", FLOATS).no(I, BF16).rank(1, 1),
                Arg("beta", FLOATS).no(I, BF16).rank(1, 1), Arg("out", FLOATS).no(I, BF16).rank(2, 8).dense(),
                Arg("meanOut", FLOATS).no(I, BF16).rank(2, 2).dense(),
                Arg("rstdOut", FLOATS).no(I, BF16).rank(2, 2).dense()}});
  // ---- ops-transformer ---------------------------------------------------------------
  t.push_back({"aclnnRotaryPositionEmbedding",
               "hicann/ops-transformer posembedding/rotary_position_embedding/docs/aclnnRotaryPositionEmbedding.md",
               A,
               {Arg("x", FLOATS).rank(4, 4), Arg("cos", FLOATS).rank(4, 4), Arg("sin", FLOATS).rank(4, 4),
                Arg("out", FLOATS).rank(4, 4).dense()}});
  t.push_back({"aclnnFusedInferAttentionScoreV2",
               "hicann/ops-transformer attention/fused_infer_attention_score/docs/aclnnFusedInferAttentionScoreV2.md",
               A,
               {Arg("query", F16 | BF16 | I8).rank(3, 4).dense(), Arg("key", F16 | BF16 | I8).rank(3, 4).dense(),
                Arg("value", F16 | BF16 | I8).rank(3, 4).dense(),
                Arg("pseShiftOptional", F16 | BF16).rank(4, 4).dense().opt(),
                Arg("attenMaskOptional", BOOL_ | I8 | U8).rank(2, 4).dense().opt(),
                Arg("attentionOut", F16 | BF16 | I8).rank(3, 4), Arg("softmaxLse", F32).rank(3, 4).opt()}});
  t.push_back({"aclnnPromptFlashAttention",
               "hicann/ops-transformer attention/prompt_flash_attention/docs/aclnnPromptFlashAttention.md", A,
               {Arg("query", F16 | BF16).rank(3, 4).dense(), Arg("key", F16 | BF16).rank(3, 4).dense(),
                Arg("value", F16 | BF16).rank(3, 4).dense(), Arg("pseShift", F16 | BF16).rank(4, 4).dense().opt(),
                Arg("attenMask", BOOL_ | I8 | U8).rank(2, 4).dense().opt(),
                Arg("attentionOut", F16 | BF16 | I8).rank(3, 4)}});
  t.push_back({"aclnnFlashAttentionScore",
               "hicann/ops-transformer attention/flash_attention_score/docs/aclnnFlashAttentionScore.md", A,
               {Arg("query", FLOATS).rank(3, 4), Arg("key", FLOATS).rank(3, 4), Arg("value", FLOATS).rank(3, 4),
                Arg("realShiftOptional", FLOATS).rank(4, 4).opt(), Arg("attenMaskOptional", BOOL_ | U8).rank(2, 4).opt(),
                Arg("softmaxMaxOut", F32).rank(4, 4), Arg("softmaxSumOut", F32).rank(4, 4),
                Arg("attentionOutOut", FLOATS).rank(3, 4)}});
  return t;
}

}  // namespace

const OpTable &table(const char *op) {
  static const std::map<std::string, OpTable> tables = [] {
    std::map<std::string, OpTable> m;
    for (auto &t : build()) m.emplace(t.op, t);
    return m;
  }();
  auto it = tables.find(op);
  if (it == tables.end()) {
    std::fprintf(stderr, "fake aclnn: no constraint table for %s\n", op);
    std::abort();
  }
  return it->second;
}
