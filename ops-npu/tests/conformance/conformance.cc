// Compiled by tests/npu_conformance.rs with -DOPS_NPU_VENDOR_HEADERS against the vendor's
// headers: every `_fn` type in acl_api.h must be exactly the type of the vendor's function.
// A mismatch fails the compile, naming the function. Op headers are checked one by one
// where the assembled folder has them; the binary prints which ops were checked and
// which were not (their header is generated when CANN is built, not published), so the
// count in a report comes from the compiler, not from a list kept by hand.
#include <cstdio>
#include <type_traits>

#include "acl_api.h"

#define OPS_NPU_SAME(name)                                                  \
  static_assert(std::is_same_v<decltype(&::name), name##_fn>,               \
                #name ": acl_api.h's prototype differs from the vendor header");

OPS_NPU_ACL_SYMBOLS(OPS_NPU_SAME)

#ifdef OPS_NPU_HAVE_ACLNN_HEADERS
OPS_NPU_NNOPBASE_SYMBOLS(OPS_NPU_SAME)
#if __has_include(<aclnnop/aclnn_fused_infer_attention_score_v2.h>)
#include <aclnnop/aclnn_fused_infer_attention_score_v2.h>
OPS_NPU_SAME(aclnnFusedInferAttentionScoreV2GetWorkspaceSize)
OPS_NPU_SAME(aclnnFusedInferAttentionScoreV2)
#define OPS_NPU_CHECKED_aclnnFusedInferAttentionScoreV2 1
#endif
#if __has_include(<aclnnop/aclnn_prompt_flash_attention.h>)
#include <aclnnop/aclnn_prompt_flash_attention.h>
OPS_NPU_SAME(aclnnPromptFlashAttentionGetWorkspaceSize)
OPS_NPU_SAME(aclnnPromptFlashAttention)
#define OPS_NPU_CHECKED_aclnnPromptFlashAttention 1
#endif
#if __has_include(<aclnnop/aclnn_flash_attention_score.h>)
#include <aclnnop/aclnn_flash_attention_score.h>
OPS_NPU_SAME(aclnnFlashAttentionScoreGetWorkspaceSize)
OPS_NPU_SAME(aclnnFlashAttentionScore)
#define OPS_NPU_CHECKED_aclnnFlashAttentionScore 1
#endif
#if __has_include(<aclnnop/aclnn_rms_norm.h>)
#include <aclnnop/aclnn_rms_norm.h>
OPS_NPU_SAME(aclnnRmsNormGetWorkspaceSize)
OPS_NPU_SAME(aclnnRmsNorm)
#define OPS_NPU_CHECKED_aclnnRmsNorm 1
#endif
#if __has_include(<aclnnop/aclnn_layer_norm.h>)
#include <aclnnop/aclnn_layer_norm.h>
OPS_NPU_SAME(aclnnLayerNormGetWorkspaceSize)
OPS_NPU_SAME(aclnnLayerNorm)
#define OPS_NPU_CHECKED_aclnnLayerNorm 1
#endif
#if __has_include(<aclnnop/aclnn_ada_layer_norm.h>)
#include <aclnnop/aclnn_ada_layer_norm.h>
OPS_NPU_SAME(aclnnAdaLayerNormGetWorkspaceSize)
OPS_NPU_SAME(aclnnAdaLayerNorm)
#define OPS_NPU_CHECKED_aclnnAdaLayerNorm 1
#endif
#if __has_include(<aclnnop/aclnn_group_norm.h>)
#include <aclnnop/aclnn_group_norm.h>
OPS_NPU_SAME(aclnnGroupNormGetWorkspaceSize)
OPS_NPU_SAME(aclnnGroupNorm)
#define OPS_NPU_CHECKED_aclnnGroupNorm 1
#endif
#if __has_include(<aclnnop/aclnn_group_norm_silu.h>)
#include <aclnnop/aclnn_group_norm_silu.h>
OPS_NPU_SAME(aclnnGroupNormSiluGetWorkspaceSize)
OPS_NPU_SAME(aclnnGroupNormSilu)
#define OPS_NPU_CHECKED_aclnnGroupNormSilu 1
#endif
#if __has_include(<aclnnop/aclnn_silu.h>)
#include <aclnnop/aclnn_silu.h>
OPS_NPU_SAME(aclnnSiluGetWorkspaceSize)
OPS_NPU_SAME(aclnnSilu)
#define OPS_NPU_CHECKED_aclnnSilu 1
#endif
#if __has_include(<aclnnop/aclnn_geglu_v3.h>)
#include <aclnnop/aclnn_geglu_v3.h>
OPS_NPU_SAME(aclnnGeGluV3GetWorkspaceSize)
OPS_NPU_SAME(aclnnGeGluV3)
#define OPS_NPU_CHECKED_aclnnGeGluV3 1
#endif
#if __has_include(<aclnnop/aclnn_swi_glu.h>)
#include <aclnnop/aclnn_swi_glu.h>
OPS_NPU_SAME(aclnnSwiGluGetWorkspaceSize)
OPS_NPU_SAME(aclnnSwiGlu)
#define OPS_NPU_CHECKED_aclnnSwiGlu 1
#endif
#if __has_include(<aclnnop/aclnn_rotary_position_embedding.h>)
#include <aclnnop/aclnn_rotary_position_embedding.h>
OPS_NPU_SAME(aclnnRotaryPositionEmbeddingGetWorkspaceSize)
OPS_NPU_SAME(aclnnRotaryPositionEmbedding)
#define OPS_NPU_CHECKED_aclnnRotaryPositionEmbedding 1
#endif
#if __has_include(<aclnnop/aclnn_matmul.h>)
#include <aclnnop/aclnn_matmul.h>
OPS_NPU_SAME(aclnnMatmulGetWorkspaceSize)
OPS_NPU_SAME(aclnnMatmul)
#define OPS_NPU_CHECKED_aclnnMatmul 1
#endif
#if __has_include(<aclnnop/aclnn_add.h>)
#include <aclnnop/aclnn_add.h>
OPS_NPU_SAME(aclnnAddGetWorkspaceSize)
OPS_NPU_SAME(aclnnAdd)
#define OPS_NPU_CHECKED_aclnnAdd 1
#endif
#if __has_include(<aclnnop/aclnn_add.h>)
#include <aclnnop/aclnn_add.h>
OPS_NPU_SAME(aclnnAddsGetWorkspaceSize)
OPS_NPU_SAME(aclnnAdds)
#define OPS_NPU_CHECKED_aclnnAdds 1
#endif
#if __has_include(<aclnnop/aclnn_sub.h>)
#include <aclnnop/aclnn_sub.h>
OPS_NPU_SAME(aclnnSubGetWorkspaceSize)
OPS_NPU_SAME(aclnnSub)
#define OPS_NPU_CHECKED_aclnnSub 1
#endif
#if __has_include(<aclnnop/aclnn_sub.h>)
#include <aclnnop/aclnn_sub.h>
OPS_NPU_SAME(aclnnSubsGetWorkspaceSize)
OPS_NPU_SAME(aclnnSubs)
#define OPS_NPU_CHECKED_aclnnSubs 1
#endif
#if __has_include(<aclnnop/aclnn_mul.h>)
#include <aclnnop/aclnn_mul.h>
OPS_NPU_SAME(aclnnMulGetWorkspaceSize)
OPS_NPU_SAME(aclnnMul)
#define OPS_NPU_CHECKED_aclnnMul 1
#endif
#if __has_include(<aclnnop/aclnn_mul.h>)
#include <aclnnop/aclnn_mul.h>
OPS_NPU_SAME(aclnnMulsGetWorkspaceSize)
OPS_NPU_SAME(aclnnMuls)
#define OPS_NPU_CHECKED_aclnnMuls 1
#endif
#if __has_include(<aclnnop/aclnn_div.h>)
#include <aclnnop/aclnn_div.h>
OPS_NPU_SAME(aclnnDivGetWorkspaceSize)
OPS_NPU_SAME(aclnnDiv)
#define OPS_NPU_CHECKED_aclnnDiv 1
#endif
#if __has_include(<aclnnop/aclnn_div.h>)
#include <aclnnop/aclnn_div.h>
OPS_NPU_SAME(aclnnDivsGetWorkspaceSize)
OPS_NPU_SAME(aclnnDivs)
#define OPS_NPU_CHECKED_aclnnDivs 1
#endif
#if __has_include(<aclnnop/aclnn_neg.h>)
#include <aclnnop/aclnn_neg.h>
OPS_NPU_SAME(aclnnNegGetWorkspaceSize)
OPS_NPU_SAME(aclnnNeg)
#define OPS_NPU_CHECKED_aclnnNeg 1
#endif
#if __has_include(<aclnnop/aclnn_exp.h>)
#include <aclnnop/aclnn_exp.h>
OPS_NPU_SAME(aclnnExpGetWorkspaceSize)
OPS_NPU_SAME(aclnnExp)
#define OPS_NPU_CHECKED_aclnnExp 1
#endif
#if __has_include(<aclnnop/aclnn_sigmoid.h>)
#include <aclnnop/aclnn_sigmoid.h>
OPS_NPU_SAME(aclnnSigmoidGetWorkspaceSize)
OPS_NPU_SAME(aclnnSigmoid)
#define OPS_NPU_CHECKED_aclnnSigmoid 1
#endif
#if __has_include(<aclnnop/aclnn_relu.h>)
#include <aclnnop/aclnn_relu.h>
OPS_NPU_SAME(aclnnReluGetWorkspaceSize)
OPS_NPU_SAME(aclnnRelu)
#define OPS_NPU_CHECKED_aclnnRelu 1
#endif
#if __has_include(<aclnnop/aclnn_gelu.h>)
#include <aclnnop/aclnn_gelu.h>
OPS_NPU_SAME(aclnnGeluGetWorkspaceSize)
OPS_NPU_SAME(aclnnGelu)
#define OPS_NPU_CHECKED_aclnnGelu 1
#endif
#if __has_include(<aclnnop/aclnn_gelu_v2.h>)
#include <aclnnop/aclnn_gelu_v2.h>
OPS_NPU_SAME(aclnnGeluV2GetWorkspaceSize)
OPS_NPU_SAME(aclnnGeluV2)
#define OPS_NPU_CHECKED_aclnnGeluV2 1
#endif
#if __has_include(<aclnnop/aclnn_clamp.h>)
#include <aclnnop/aclnn_clamp.h>
OPS_NPU_SAME(aclnnClampGetWorkspaceSize)
OPS_NPU_SAME(aclnnClamp)
#define OPS_NPU_CHECKED_aclnnClamp 1
#endif
#if __has_include(<aclnnop/aclnn_cast.h>)
#include <aclnnop/aclnn_cast.h>
OPS_NPU_SAME(aclnnCastGetWorkspaceSize)
OPS_NPU_SAME(aclnnCast)
#define OPS_NPU_CHECKED_aclnnCast 1
#endif
#if __has_include(<aclnnop/aclnn_copy.h>)
#include <aclnnop/aclnn_copy.h>
OPS_NPU_SAME(aclnnInplaceCopyGetWorkspaceSize)
OPS_NPU_SAME(aclnnInplaceCopy)
#define OPS_NPU_CHECKED_aclnnInplaceCopy 1
#endif
#if __has_include(<aclnnop/aclnn_zero.h>)
#include <aclnnop/aclnn_zero.h>
OPS_NPU_SAME(aclnnInplaceZeroGetWorkspaceSize)
OPS_NPU_SAME(aclnnInplaceZero)
#define OPS_NPU_CHECKED_aclnnInplaceZero 1
#endif
#if __has_include(<aclnnop/aclnn_fill_scalar.h>)
#include <aclnnop/aclnn_fill_scalar.h>
OPS_NPU_SAME(aclnnInplaceFillScalarGetWorkspaceSize)
OPS_NPU_SAME(aclnnInplaceFillScalar)
#define OPS_NPU_CHECKED_aclnnInplaceFillScalar 1
#endif
#if __has_include(<aclnnop/aclnn_cat.h>)
#include <aclnnop/aclnn_cat.h>
OPS_NPU_SAME(aclnnCatGetWorkspaceSize)
OPS_NPU_SAME(aclnnCat)
#define OPS_NPU_CHECKED_aclnnCat 1
#endif
#if __has_include(<aclnnop/aclnn_constant_pad_nd.h>)
#include <aclnnop/aclnn_constant_pad_nd.h>
OPS_NPU_SAME(aclnnConstantPadNdGetWorkspaceSize)
OPS_NPU_SAME(aclnnConstantPadNd)
#define OPS_NPU_CHECKED_aclnnConstantPadNd 1
#endif
#if __has_include(<aclnnop/aclnn_upsample_nearest_2d.h>)
#include <aclnnop/aclnn_upsample_nearest_2d.h>
OPS_NPU_SAME(aclnnUpsampleNearest2dGetWorkspaceSize)
OPS_NPU_SAME(aclnnUpsampleNearest2d)
#define OPS_NPU_CHECKED_aclnnUpsampleNearest2d 1
#endif
#if __has_include(<aclnnop/aclnn_index_select.h>)
#include <aclnnop/aclnn_index_select.h>
OPS_NPU_SAME(aclnnIndexSelectGetWorkspaceSize)
OPS_NPU_SAME(aclnnIndexSelect)
#define OPS_NPU_CHECKED_aclnnIndexSelect 1
#endif
#if __has_include(<aclnnop/aclnn_index_add.h>)
#include <aclnnop/aclnn_index_add.h>
OPS_NPU_SAME(aclnnIndexAddGetWorkspaceSize)
OPS_NPU_SAME(aclnnIndexAdd)
#define OPS_NPU_CHECKED_aclnnIndexAdd 1
#endif
#if __has_include(<aclnnop/aclnn_embedding.h>)
#include <aclnnop/aclnn_embedding.h>
OPS_NPU_SAME(aclnnEmbeddingGetWorkspaceSize)
OPS_NPU_SAME(aclnnEmbedding)
#define OPS_NPU_CHECKED_aclnnEmbedding 1
#endif
#if __has_include(<aclnnop/aclnn_softmax.h>)
#include <aclnnop/aclnn_softmax.h>
OPS_NPU_SAME(aclnnSoftmaxGetWorkspaceSize)
OPS_NPU_SAME(aclnnSoftmax)
#define OPS_NPU_CHECKED_aclnnSoftmax 1
#endif
#if __has_include(<aclnnop/aclnn_batch_matmul.h>)
#include <aclnnop/aclnn_batch_matmul.h>
OPS_NPU_SAME(aclnnBatchMatMulGetWorkspaceSize)
OPS_NPU_SAME(aclnnBatchMatMul)
#define OPS_NPU_CHECKED_aclnnBatchMatMul 1
#endif
#if __has_include(<aclnnop/aclnn_addmm.h>)
#include <aclnnop/aclnn_addmm.h>
OPS_NPU_SAME(aclnnAddmmGetWorkspaceSize)
OPS_NPU_SAME(aclnnAddmm)
#define OPS_NPU_CHECKED_aclnnAddmm 1
#endif
#if __has_include(<aclnnop/aclnn_convolution.h>)
#include <aclnnop/aclnn_convolution.h>
OPS_NPU_SAME(aclnnConvolutionGetWorkspaceSize)
OPS_NPU_SAME(aclnnConvolution)
#define OPS_NPU_CHECKED_aclnnConvolution 1
#endif
#endif

static_assert(ACL_FLOAT == 0 && ACL_FLOAT16 == 1 && ACL_BF16 == 27 && ACL_BOOL == 12 &&
                  ACL_INT64 == 9 && ACL_INT32 == 3,
              "aclDataType values");
static_assert(ACL_FORMAT_NCHW == 0 && ACL_FORMAT_ND == 2, "aclFormat values");
static_assert(ACL_MEMCPY_HOST_TO_DEVICE == 1 && ACL_MEMCPY_DEVICE_TO_HOST == 2,
              "aclrtMemcpyKind values");

int main() {
#ifdef OPS_NPU_HAVE_ACLNN_HEADERS
  int checked = 0, unchecked = 0;
  auto report = [&](const char *op, bool ok) {
    std::printf("%s %s\n", ok ? "checked" : "unchecked", op);
    (ok ? checked : unchecked)++;
  };
#ifdef OPS_NPU_CHECKED_aclnnFusedInferAttentionScoreV2
  report("aclnnFusedInferAttentionScoreV2", true);
#else
  report("aclnnFusedInferAttentionScoreV2", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnPromptFlashAttention
  report("aclnnPromptFlashAttention", true);
#else
  report("aclnnPromptFlashAttention", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnFlashAttentionScore
  report("aclnnFlashAttentionScore", true);
#else
  report("aclnnFlashAttentionScore", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnRmsNorm
  report("aclnnRmsNorm", true);
#else
  report("aclnnRmsNorm", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnLayerNorm
  report("aclnnLayerNorm", true);
#else
  report("aclnnLayerNorm", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnAdaLayerNorm
  report("aclnnAdaLayerNorm", true);
#else
  report("aclnnAdaLayerNorm", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnGroupNorm
  report("aclnnGroupNorm", true);
#else
  report("aclnnGroupNorm", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnGroupNormSilu
  report("aclnnGroupNormSilu", true);
#else
  report("aclnnGroupNormSilu", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnSilu
  report("aclnnSilu", true);
#else
  report("aclnnSilu", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnGeGluV3
  report("aclnnGeGluV3", true);
#else
  report("aclnnGeGluV3", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnSwiGlu
  report("aclnnSwiGlu", true);
#else
  report("aclnnSwiGlu", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnRotaryPositionEmbedding
  report("aclnnRotaryPositionEmbedding", true);
#else
  report("aclnnRotaryPositionEmbedding", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnMatmul
  report("aclnnMatmul", true);
#else
  report("aclnnMatmul", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnAdd
  report("aclnnAdd", true);
#else
  report("aclnnAdd", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnAdds
  report("aclnnAdds", true);
#else
  report("aclnnAdds", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnSub
  report("aclnnSub", true);
#else
  report("aclnnSub", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnSubs
  report("aclnnSubs", true);
#else
  report("aclnnSubs", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnMul
  report("aclnnMul", true);
#else
  report("aclnnMul", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnMuls
  report("aclnnMuls", true);
#else
  report("aclnnMuls", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnDiv
  report("aclnnDiv", true);
#else
  report("aclnnDiv", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnDivs
  report("aclnnDivs", true);
#else
  report("aclnnDivs", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnNeg
  report("aclnnNeg", true);
#else
  report("aclnnNeg", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnExp
  report("aclnnExp", true);
#else
  report("aclnnExp", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnSigmoid
  report("aclnnSigmoid", true);
#else
  report("aclnnSigmoid", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnRelu
  report("aclnnRelu", true);
#else
  report("aclnnRelu", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnGelu
  report("aclnnGelu", true);
#else
  report("aclnnGelu", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnGeluV2
  report("aclnnGeluV2", true);
#else
  report("aclnnGeluV2", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnClamp
  report("aclnnClamp", true);
#else
  report("aclnnClamp", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnCast
  report("aclnnCast", true);
#else
  report("aclnnCast", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnInplaceCopy
  report("aclnnInplaceCopy", true);
#else
  report("aclnnInplaceCopy", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnInplaceZero
  report("aclnnInplaceZero", true);
#else
  report("aclnnInplaceZero", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnInplaceFillScalar
  report("aclnnInplaceFillScalar", true);
#else
  report("aclnnInplaceFillScalar", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnCat
  report("aclnnCat", true);
#else
  report("aclnnCat", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnConstantPadNd
  report("aclnnConstantPadNd", true);
#else
  report("aclnnConstantPadNd", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnUpsampleNearest2d
  report("aclnnUpsampleNearest2d", true);
#else
  report("aclnnUpsampleNearest2d", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnIndexSelect
  report("aclnnIndexSelect", true);
#else
  report("aclnnIndexSelect", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnIndexAdd
  report("aclnnIndexAdd", true);
#else
  report("aclnnIndexAdd", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnEmbedding
  report("aclnnEmbedding", true);
#else
  report("aclnnEmbedding", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnSoftmax
  report("aclnnSoftmax", true);
#else
  report("aclnnSoftmax", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnBatchMatMul
  report("aclnnBatchMatMul", true);
#else
  report("aclnnBatchMatMul", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnAddmm
  report("aclnnAddmm", true);
#else
  report("aclnnAddmm", false);
#endif
#ifdef OPS_NPU_CHECKED_aclnnConvolution
  report("aclnnConvolution", true);
#else
  report("aclnnConvolution", false);
#endif
  std::printf("ops: %d checked against headers, %d without a published header\n", checked,
              unchecked);
  return 0;
#else
  return 3;  // runtime half only: the aclnn headers were not found
#endif
}
