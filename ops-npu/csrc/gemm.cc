// f32 GEMM: the blocked kernel in two ISA copies with run-time dispatch (as attention),
// and the scalar reference.
#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "parallel.h"

namespace ops_npu {

// Baseline copy: 16-byte vectors. 2 x 16 tiles on SSE2 (8 of 16 xmm registers as
// accumulators), 6 x 16 on aarch64 NEON (24 of 32).
namespace gemm_generic {
#if defined(__aarch64__)
#define OPS_NPU_GEMM_MR 6
#else
#define OPS_NPU_GEMM_MR 2
#endif
#define OPS_NPU_VEC_BYTES 16
#include "gemm_body.inc"
#undef OPS_NPU_VEC_BYTES
#undef OPS_NPU_GEMM_MR
}  // namespace gemm_generic

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OPS_NPU_HAVE_AVX2_GEMM 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace gemm_avx2 {
#define OPS_NPU_GEMM_MR 6
#define OPS_NPU_VEC_BYTES 32
#include "gemm_body.inc"
#undef OPS_NPU_VEC_BYTES
#undef OPS_NPU_GEMM_MR
}  // namespace gemm_avx2
#pragma GCC pop_options
#endif

namespace {

// k == 0: the product is empty, C = beta * C + bias.
void epilogue_only(const GemmDims &d, const float *bias, float *c) {
  for (size_t i = 0; i < d.batch; ++i)
    for (size_t r = 0; r < d.m; ++r) {
      float *row = c + i * d.stride_c + r * d.ldc;
      for (size_t j = 0; j < d.n; ++j)
        row[j] = (d.beta != 0.0f ? d.beta * row[j] : 0.0f) + (bias ? bias[j] : 0.0f);
    }
}

}  // namespace

void gemm_f32(const GemmDims &d, const float *a, const float *b, const float *bias, float *c,
              size_t threads, bool portable) {
  if (d.batch == 0 || d.m == 0 || d.n == 0) return;
  if (d.k == 0) return epilogue_only(d, bias, c);
#ifdef OPS_NPU_HAVE_AVX2_GEMM
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && !portable) return gemm_avx2::gemm_run(d, a, b, bias, c, threads);
#else
  (void)portable;  // the baseline copy is the only one
#endif
  gemm_generic::gemm_run(d, a, b, bias, c, threads);
}

void gemm_ref(const GemmDims &d, const float *a, const float *b, const float *bias, float *c) {
  for (size_t i = 0; i < d.batch; ++i) {
    const float *ai = a + i * d.stride_a, *bi = b + i * d.stride_b;
    float *ci = c + i * d.stride_c;
    for (size_t r = 0; r < d.m; ++r)
      for (size_t j = 0; j < d.n; ++j) {
        double s = 0.0;
        for (size_t p = 0; p < d.k; ++p) {
          const double x = d.trans_a ? ai[p * d.lda + r] : ai[r * d.lda + p];
          const double y = d.trans_b ? bi[j * d.ldb + p] : bi[p * d.ldb + j];
          s += x * y;
        }
        double v = double(d.alpha) * s + (bias ? double(bias[j]) : 0.0);
        if (d.beta != 0.0f) v += double(d.beta) * double(ci[r * d.ldc + j]);
        ci[r * d.ldc + j] = float(v);
      }
  }
}

}  // namespace ops_npu
