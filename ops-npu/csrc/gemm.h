// f32 matrix product C = alpha * op(A) * op(B) + beta * C + bias, row-major with leading
// dimensions, optionally over a batch of matrices addressed through element strides.
#pragma once

#include <cstddef>

namespace ops_npu {

// op(A) is m x k: A is stored m x k (lda >= k) or, with trans_a, k x m (lda >= m).
// op(B) is k x n: B is stored k x n (ldb >= n) or, with trans_b, n x k (ldb >= k).
// C is m x n (ldc >= n). Matrix i of the batch starts at a + i * stride_a (and likewise
// for b and c); a stride of 0 shares one matrix across the batch. bias (nullable) is a
// row vector of n values added to every row of C. With beta == 0, C is not read (it may
// hold NaN), as in BLAS.
struct GemmDims {
  size_t batch, m, n, k;
  bool trans_a, trans_b;
  size_t lda, ldb, ldc;
  size_t stride_a, stride_b, stride_c;
  float alpha, beta;
};

// `portable` skips the run-time dispatch to the AVX2+FMA copy (tests of the baseline copy).
void gemm_f32(const GemmDims &d, const float *a, const float *b, const float *bias, float *c,
              size_t threads, bool portable = false);
// Scalar triple loop accumulating in double: the tests' oracle.
void gemm_ref(const GemmDims &d, const float *a, const float *b, const float *bias, float *c);

}  // namespace ops_npu
