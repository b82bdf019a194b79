// The one declaration of every ACL runtime and aclnn function ops-npu calls: a
// function-pointer type `<function>_fn` each (prototypes from reference/acl.md, i.e. the
// public CANN headers). Nothing here is linked; npu_runtime.cc resolves each symbol with
// dlsym at run time.
//
// Built normally, this header declares the few ACL/aclnn types itself (no CANN at build
// time). Built with -DOPS_NPU_VENDOR_HEADERS, it takes every type from the vendor headers
// instead and declares only the `_fn` types, so tests/conformance.cc can static_assert
// `std::is_same_v<decltype(&aclrtMemcpy), aclrtMemcpy_fn>` for each of them. The torch-npu
// wheel ships acl/acl.h but not the aclnn headers; the aclnn half of the check runs when
// those headers are present too (OPS_NPU_HAVE_ACLNN_HEADERS), op by op for the op headers
// the public repositories ship (scripts/npu/conformance.sh assembles them).
#pragma once

#include <cstddef>
#include <cstdint>

#ifdef OPS_NPU_VENDOR_HEADERS
#include <acl/acl.h>
#if __has_include(<aclnn/acl_meta.h>)
#define OPS_NPU_HAVE_ACLNN_HEADERS 1
#include <aclnn/acl_meta.h>
#endif
#else
extern "C" {
typedef int aclError;
typedef void *aclrtStream;
typedef enum {
  ACL_FLOAT = 0,
  ACL_FLOAT16 = 1,
  ACL_INT8 = 2,
  ACL_INT32 = 3,
  ACL_UINT8 = 4,
  ACL_INT16 = 6,
  ACL_INT64 = 9,
  ACL_DOUBLE = 11,
  ACL_BOOL = 12,
  ACL_BF16 = 27,
} aclDataType;
typedef enum { ACL_FORMAT_NCHW = 0, ACL_FORMAT_NHWC = 1, ACL_FORMAT_ND = 2 } aclFormat;
typedef enum {
  ACL_MEMCPY_HOST_TO_HOST = 0,
  ACL_MEMCPY_HOST_TO_DEVICE = 1,
  ACL_MEMCPY_DEVICE_TO_HOST = 2,
  ACL_MEMCPY_DEVICE_TO_DEVICE = 3,
} aclrtMemcpyKind;
typedef enum { ACL_MEM_MALLOC_HUGE_FIRST = 0 } aclrtMemMallocPolicy;
}
#endif

#if !defined(OPS_NPU_HAVE_ACLNN_HEADERS)
extern "C" {
typedef int32_t aclnnStatus;
typedef struct aclTensor aclTensor;
typedef struct aclIntArray aclIntArray;
typedef struct aclTensorList aclTensorList;
typedef struct aclScalar aclScalar;
typedef struct aclOpExecutor aclOpExecutor;
}
#endif

// ACL runtime (libascendcl.so).
typedef aclError (*aclInit_fn)(const char *configPath);
typedef aclError (*aclFinalize_fn)();
typedef aclError (*aclrtSetDevice_fn)(int32_t deviceId);
typedef const char *(*aclrtGetSocName_fn)();
typedef aclError (*aclrtMalloc_fn)(void **devPtr, size_t size, aclrtMemMallocPolicy policy);
typedef aclError (*aclrtFree_fn)(void *devPtr);
typedef aclError (*aclrtMemcpy_fn)(void *dst, size_t destMax, const void *src, size_t count,
                                   aclrtMemcpyKind kind);
typedef aclError (*aclrtCreateStream_fn)(aclrtStream *stream);
typedef aclError (*aclrtSynchronizeStream_fn)(aclrtStream stream);
typedef aclError (*aclrtDestroyStream_fn)(aclrtStream stream);
typedef const char *(*aclGetRecentErrMsg_fn)();

// Tensors and arrays (libnnopbase.so).
typedef aclTensor *(*aclCreateTensor_fn)(const int64_t *viewDims, uint64_t viewDimsNum,
                                         aclDataType dataType, const int64_t *stride,
                                         int64_t offset, aclFormat format,
                                         const int64_t *storageDims, uint64_t storageDimsNum,
                                         void *tensorData);
typedef aclnnStatus (*aclDestroyTensor_fn)(const aclTensor *tensor);
typedef aclIntArray *(*aclCreateIntArray_fn)(const int64_t *value, uint64_t size);
typedef aclnnStatus (*aclDestroyIntArray_fn)(const aclIntArray *array);
typedef aclTensorList *(*aclCreateTensorList_fn)(const aclTensor *const *value, uint64_t size);
typedef aclnnStatus (*aclDestroyTensorList_fn)(const aclTensorList *array);
typedef aclScalar *(*aclCreateScalar_fn)(void *value, aclDataType dataType);
typedef aclnnStatus (*aclDestroyScalar_fn)(const aclScalar *scalar);
// Executor reuse: a repeatable executor survives its launch until destroyed.
typedef aclnnStatus (*aclSetAclOpExecutorRepeatable_fn)(aclOpExecutor *executor);
typedef aclnnStatus (*aclDestroyAclOpExecutor_fn)(aclOpExecutor *executor);

// Every op's second phase has the same shape.
#define OPS_NPU_LAUNCH_FN(op)                                                          \
  typedef aclnnStatus (*op##_fn)(void *workspace, uint64_t workspaceSize,             \
                                 aclOpExecutor *executor, aclrtStream stream)

// Ops (libopapi.so or lib64/libopapi_*.so).
typedef aclnnStatus (*aclnnFusedInferAttentionScoreV2GetWorkspaceSize_fn)(
    const aclTensor *query, const aclTensorList *key, const aclTensorList *value,
    const aclTensor *pseShiftOptional, const aclTensor *attenMaskOptional,
    const aclIntArray *actualSeqLengthsOptional, const aclIntArray *actualSeqLengthsKvOptional,
    const aclTensor *deqScale1Optional, const aclTensor *quantScale1Optional,
    const aclTensor *deqScale2Optional, const aclTensor *quantScale2Optional,
    const aclTensor *quantOffset2Optional, const aclTensor *antiquantScaleOptional,
    const aclTensor *antiquantOffsetOptional, const aclTensor *blockTableOptional,
    const aclTensor *queryPaddingSizeOptional, const aclTensor *kvPaddingSizeOptional,
    const aclTensor *keyAntiquantScaleOptional, const aclTensor *keyAntiquantOffsetOptional,
    const aclTensor *valueAntiquantScaleOptional, const aclTensor *valueAntiquantOffsetOptional,
    const aclTensor *keySharedPrefixOptional, const aclTensor *valueSharedPrefixOptional,
    const aclIntArray *actualSharedPrefixLenOptional, int64_t numHeads, double scaleValue,
    int64_t preTokens, int64_t nextTokens, char *inputLayout, int64_t numKeyValueHeads,
    int64_t sparseMode, int64_t innerPrecise, int64_t blockSize, int64_t antiquantMode,
    bool softmaxLseFlag, int64_t keyAntiquantMode, int64_t valueAntiquantMode,
    const aclTensor *attentionOut, const aclTensor *softmaxLse, uint64_t *workspaceSize,
    aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnFusedInferAttentionScoreV2);

typedef aclnnStatus (*aclnnPromptFlashAttentionGetWorkspaceSize_fn)(
    const aclTensor *query, const aclTensor *key, const aclTensor *value,
    const aclTensor *pseShift, const aclTensor *attenMask, const aclIntArray *actualSeqLengths,
    int64_t numHeads, double scaleValue, int64_t preTokens, int64_t nextTokens,
    char *inputLayout, int64_t numKeyValueHeads, const aclTensor *attentionOut,
    uint64_t *workspaceSize, aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnPromptFlashAttention);

typedef aclnnStatus (*aclnnFlashAttentionScoreGetWorkspaceSize_fn)(
    const aclTensor *query, const aclTensor *key, const aclTensor *value,
    const aclTensor *realShiftOptional, const aclTensor *dropMaskOptional,
    const aclTensor *paddingMaskOptional, const aclTensor *attenMaskOptional,
    const aclIntArray *prefixOptional, double scaleValue, double keepProb, int64_t preTokens,
    int64_t nextTokens, int64_t headNum, char *inputLayout, int64_t innerPrecise,
    int64_t sparseMode, const aclTensor *softmaxMaxOut, const aclTensor *softmaxSumOut,
    const aclTensor *softmaxOutOut, const aclTensor *attentionOutOut, uint64_t *workspaceSize,
    aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnFlashAttentionScore);

typedef aclnnStatus (*aclnnRmsNormGetWorkspaceSize_fn)(const aclTensor *x,
                                                       const aclTensor *gamma, double epsilon,
                                                       const aclTensor *yOut,
                                                       const aclTensor *rstdOut,
                                                       uint64_t *workspaceSize,
                                                       aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnRmsNorm);

typedef aclnnStatus (*aclnnLayerNormGetWorkspaceSize_fn)(
    const aclTensor *input, const aclIntArray *normalizedShape, const aclTensor *weightOptional,
    const aclTensor *biasOptional, double eps, aclTensor *out, aclTensor *meanOutOptional,
    aclTensor *rstdOutOptional, uint64_t *workspaceSize, aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnLayerNorm);

typedef aclnnStatus (*aclnnAdaLayerNormGetWorkspaceSize_fn)(
    const aclTensor *x, const aclTensor *scale, const aclTensor *shift,
    const aclTensor *weightOptional, const aclTensor *biasOptional, double epsilon,
    aclTensor *out, uint64_t *workspaceSize, aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnAdaLayerNorm);

typedef aclnnStatus (*aclnnGroupNormGetWorkspaceSize_fn)(
    const aclTensor *self, const aclTensor *gamma, const aclTensor *beta, int64_t N, int64_t C,
    int64_t HxW, int64_t group, double eps, aclTensor *out, aclTensor *meanOut,
    aclTensor *rstdOut, uint64_t *workspaceSize, aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnGroupNorm);

// GroupNorm followed by SiLU in one kernel; meanOut/rstdOut are [N, group] in self's dtype.
// Prototype from CANN's aclnnop/aclnn_group_norm_silu.h as published in the CANN ops-nn
// repository (hicann/ops-nn: norm/group_norm_silu/docs/aclnnGroupNormSilu_en.md, which also
// lists Atlas inference products (310P) as supported, without bf16). Not every CANN ships
// it, so it is resolved optionally and the caller falls back to GroupNorm + Silu.
typedef aclnnStatus (*aclnnGroupNormSiluGetWorkspaceSize_fn)(
    const aclTensor *self, const aclTensor *gamma, const aclTensor *beta, int64_t group,
    double eps, aclTensor *out, aclTensor *meanOut, aclTensor *rstdOut, uint64_t *workspaceSize,
    aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnGroupNormSilu);

// x * sigmoid(x) elementwise: the second half of the unfused GroupNorm + SiLU. Prototype
// from CANN's aclnnop/aclnn_silu.h (CANN aclnn API reference, aclnnSilu).
typedef aclnnStatus (*aclnnSiluGetWorkspaceSize_fn)(const aclTensor *self, aclTensor *out,
                                                    uint64_t *workspaceSize,
                                                    aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnSilu);

typedef aclnnStatus (*aclnnGeGluV3GetWorkspaceSize_fn)(const aclTensor *self, int64_t dim,
                                                       int64_t approximate, bool activateLeft,
                                                       aclTensor *out, aclTensor *outGelu,
                                                       uint64_t *workspaceSize,
                                                       aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnGeGluV3);

typedef aclnnStatus (*aclnnSwiGluGetWorkspaceSize_fn)(const aclTensor *x, int64_t dim,
                                                      const aclTensor *out,
                                                      uint64_t *workspaceSize,
                                                      aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnSwiGlu);

typedef aclnnStatus (*aclnnRotaryPositionEmbeddingGetWorkspaceSize_fn)(
    const aclTensor *x, const aclTensor *cos, const aclTensor *sin, int64_t mode,
    aclTensor *out, uint64_t *workspaceSize, aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnRotaryPositionEmbedding);

typedef aclnnStatus (*aclnnMatmulGetWorkspaceSize_fn)(const aclTensor *self,
                                                      const aclTensor *mat2, aclTensor *out,
                                                      int8_t cubeMathType,
                                                      uint64_t *workspaceSize,
                                                      aclOpExecutor **executor);
OPS_NPU_LAUNCH_FN(aclnnMatmul);

// The general op set the models' forward passes need (prototypes as the public
// op_api/aclnn_*.h headers of hicann/ops-math, ops-nn and ops-cv declare them).
#define OPS_NPU_OP1(op, ...)                                                           \
  typedef aclnnStatus (*op##GetWorkspaceSize_fn)(__VA_ARGS__, uint64_t *workspaceSize,   \
                                                 aclOpExecutor **executor);            \
  OPS_NPU_LAUNCH_FN(op)
OPS_NPU_OP1(aclnnAdd, const aclTensor *self, const aclTensor *other, const aclScalar *alpha,
            aclTensor *out);
OPS_NPU_OP1(aclnnAdds, const aclTensor *self, const aclScalar *other, const aclScalar *alpha,
            aclTensor *out);
OPS_NPU_OP1(aclnnSub, const aclTensor *self, const aclTensor *other, const aclScalar *alpha,
            aclTensor *out);
OPS_NPU_OP1(aclnnSubs, const aclTensor *self, const aclScalar *other, const aclScalar *alpha,
            aclTensor *out);
OPS_NPU_OP1(aclnnMul, const aclTensor *self, const aclTensor *other, aclTensor *out);
OPS_NPU_OP1(aclnnMuls, const aclTensor *self, const aclScalar *other, aclTensor *out);
OPS_NPU_OP1(aclnnDiv, const aclTensor *self, const aclTensor *other, aclTensor *out);
OPS_NPU_OP1(aclnnDivs, const aclTensor *self, const aclScalar *other, aclTensor *out);
OPS_NPU_OP1(aclnnNeg, const aclTensor *self, aclTensor *out);
OPS_NPU_OP1(aclnnExp, const aclTensor *self, aclTensor *out);
OPS_NPU_OP1(aclnnSigmoid, const aclTensor *self, aclTensor *out);
OPS_NPU_OP1(aclnnRelu, const aclTensor *self, const aclTensor *out);
OPS_NPU_OP1(aclnnGelu, const aclTensor *self, aclTensor *out);
OPS_NPU_OP1(aclnnGeluV2, const aclTensor *x, int64_t approximate, aclTensor *y);
OPS_NPU_OP1(aclnnClamp, const aclTensor *self, const aclScalar *clipValueMin,
            const aclScalar *clipValueMax, aclTensor *out);
OPS_NPU_OP1(aclnnCast, const aclTensor *self, const aclDataType dtype, aclTensor *out);
OPS_NPU_OP1(aclnnInplaceCopy, aclTensor *selfRef, const aclTensor *src);
OPS_NPU_OP1(aclnnInplaceZero, aclTensor *selfRef);
OPS_NPU_OP1(aclnnInplaceFillScalar, aclTensor *selfRef, const aclScalar *value);
OPS_NPU_OP1(aclnnCat, const aclTensorList *tensors, int64_t dim, aclTensor *out);
OPS_NPU_OP1(aclnnConstantPadNd, const aclTensor *self, const aclIntArray *pad,
            const aclScalar *value, aclTensor *out);
OPS_NPU_OP1(aclnnUpsampleNearest2d, const aclTensor *self, const aclIntArray *outputSize,
            aclTensor *out);
OPS_NPU_OP1(aclnnIndexSelect, const aclTensor *self, int64_t dim, const aclTensor *index,
            aclTensor *out);
OPS_NPU_OP1(aclnnIndexAdd, const aclTensor *self, const int64_t dim, const aclTensor *index,
            const aclTensor *source, const aclScalar *alpha, aclTensor *out);
OPS_NPU_OP1(aclnnEmbedding, const aclTensor *weight, const aclTensor *indices,
            const aclTensor *out);
OPS_NPU_OP1(aclnnSoftmax, const aclTensor *self, int64_t dim, aclTensor *out);
OPS_NPU_OP1(aclnnBatchMatMul, const aclTensor *self, const aclTensor *mat2, aclTensor *out,
            int8_t cubeMathType);
OPS_NPU_OP1(aclnnAddmm, const aclTensor *self, const aclTensor *mat1, const aclTensor *mat2,
            const aclScalar *beta, const aclScalar *alpha, aclTensor *out, int8_t cubeMathType);
OPS_NPU_OP1(aclnnConvolution, const aclTensor *input, const aclTensor *weight,
            const aclTensor *bias, const aclIntArray *stride, const aclIntArray *padding,
            const aclIntArray *dilation, bool transposed, const aclIntArray *outputPadding,
            const int64_t groups, aclTensor *output, int8_t cubeMathType);
#undef OPS_NPU_OP1

#undef OPS_NPU_LAUNCH_FN

// X-macro lists of every symbol, by library, so the resolver, the conformance test and
// the "missing symbols" report cannot drift from the `_fn` types above.
#define OPS_NPU_ACL_SYMBOLS(X)                                                    \
  X(aclInit) X(aclFinalize) X(aclrtSetDevice) X(aclrtGetSocName) X(aclrtMalloc)   \
  X(aclrtFree) X(aclrtMemcpy) X(aclrtCreateStream) X(aclrtSynchronizeStream)      \
  X(aclrtDestroyStream) X(aclGetRecentErrMsg)

#define OPS_NPU_NNOPBASE_SYMBOLS(X)                                                \
  X(aclCreateTensor) X(aclDestroyTensor) X(aclCreateIntArray) X(aclDestroyIntArray) \
  X(aclCreateTensorList) X(aclDestroyTensorList) X(aclCreateScalar) X(aclDestroyScalar) \
  X(aclSetAclOpExecutorRepeatable) X(aclDestroyAclOpExecutor)

#define OPS_NPU_OP_SYMBOLS(X)                                                          \
  X(aclnnFusedInferAttentionScoreV2GetWorkspaceSize) X(aclnnFusedInferAttentionScoreV2) \
  X(aclnnPromptFlashAttentionGetWorkspaceSize) X(aclnnPromptFlashAttention)            \
  X(aclnnFlashAttentionScoreGetWorkspaceSize) X(aclnnFlashAttentionScore)              \
  X(aclnnRmsNormGetWorkspaceSize) X(aclnnRmsNorm) X(aclnnLayerNormGetWorkspaceSize)    \
  X(aclnnLayerNorm) X(aclnnAdaLayerNormGetWorkspaceSize) X(aclnnAdaLayerNorm)          \
  X(aclnnGroupNormGetWorkspaceSize) X(aclnnGroupNorm)                                  \
  X(aclnnGroupNormSiluGetWorkspaceSize) X(aclnnGroupNormSilu)                          \
  X(aclnnSiluGetWorkspaceSize) X(aclnnSilu)                                            \
  X(aclnnGeGluV3GetWorkspaceSize) X(aclnnGeGluV3)                                      \
  X(aclnnSwiGluGetWorkspaceSize) X(aclnnSwiGlu)                                        \
  X(aclnnRotaryPositionEmbeddingGetWorkspaceSize) X(aclnnRotaryPositionEmbedding)      \
  X(aclnnMatmulGetWorkspaceSize) X(aclnnMatmul)                                        \
  OPS_NPU_GENERAL_OPS(OPS_NPU_OP_PAIR, X)

// Each op as a pair (GetWorkspaceSize, launch); the general ops are called through one
// generic marshaller (npu_call.h), so this list is their only registration.
#define OPS_NPU_OP_PAIR(X, op) X(op##GetWorkspaceSize) X(op)
#define OPS_NPU_GENERAL_OPS(P, X)                                                       \
  P(X, aclnnAdd) P(X, aclnnAdds) P(X, aclnnSub) P(X, aclnnSubs) P(X, aclnnMul)          \
  P(X, aclnnMuls) P(X, aclnnDiv) P(X, aclnnDivs) P(X, aclnnNeg) P(X, aclnnExp)          \
  P(X, aclnnSigmoid) P(X, aclnnRelu) P(X, aclnnGelu) P(X, aclnnGeluV2) P(X, aclnnClamp) \
  P(X, aclnnCast) P(X, aclnnInplaceCopy) P(X, aclnnInplaceZero)                         \
  P(X, aclnnInplaceFillScalar) P(X, aclnnCat) P(X, aclnnConstantPadNd)                  \
  P(X, aclnnUpsampleNearest2d) P(X, aclnnIndexSelect) P(X, aclnnIndexAdd)               \
  P(X, aclnnEmbedding) P(X, aclnnSoftmax) P(X, aclnnBatchMatMul) P(X, aclnnAddmm)       \
  P(X, aclnnConvolution)
