// Optimised CPU kernels. Plain loops over contiguous rows, written so that GCC's
// auto-vectoriser sees them; rows are split across threads with parallel_for.
#include "cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "parallel.h"

namespace ops_npu {

// Register tiles of 16 columns: 6 rows on AVX2 (12 of its 16 ymm registers) and on
// aarch64 NEON (24 of 32 registers); 2 rows on SSE2 (8 of 16 xmm registers, leaving room
// for the four panel vectors).
namespace generic {
#if defined(__aarch64__)
#define OPS_NPU_TILE_M 6
#else
#define OPS_NPU_TILE_M 2
#endif
#define OPS_NPU_VEC_BYTES 16
#include "attention_body.inc"
#undef OPS_NPU_VEC_BYTES
#undef OPS_NPU_TILE_M
}  // namespace generic

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OPS_NPU_HAVE_AVX2_COPY 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#define OPS_NPU_TILE_M 6
#define OPS_NPU_VEC_BYTES 32
#include "attention_body.inc"
#undef OPS_NPU_VEC_BYTES
#undef OPS_NPU_TILE_M
}  // namespace avx2
#pragma GCC pop_options
#endif

void attention_f32(const AttnDims &d, const float *q, const float *k, const float *v,
                   const float *bias, const uint8_t *mask, float *out, float *lse,
                   size_t threads, bool portable) {
#ifdef OPS_NPU_HAVE_AVX2_COPY
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && !portable) return avx2::attention_run(d, q, k, v, bias, mask, out, lse, threads);
#else
  (void)portable;  // the baseline copy is the only one
#endif
  generic::attention_run(d, q, k, v, bias, mask, out, lse, threads);
}

size_t attention_scratch_bytes(size_t head_dim) {
  return generic::scratch_floats(head_dim) * sizeof(float);
}

namespace {

// Mean and 1/sqrt(var + eps) of n contiguous values, two-pass in f32 (the rows here are at
// most a few thousand long, where two-pass f32 stays within 1e-6 of double).
void row_stats(const float *x, size_t n, float eps, float &mean, float &inv_std) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; ++i) s += x[i];
  mean = s / float(n);
  float v = 0.0f;
#pragma omp simd reduction(+ : v)
  for (size_t i = 0; i < n; ++i) v += (x[i] - mean) * (x[i] - mean);
  inv_std = 1.0f / std::sqrt(v / float(n) + eps);
}

template <class F>
void for_rows(size_t rows, size_t row_len, size_t threads, F &&per_row) {
  const size_t chunk = rows_per_task(rows, row_len);
  const size_t tasks = (rows + chunk - 1) / chunk;
  parallel_for(tasks, threads, [&](size_t t) {
    const size_t end = std::min(rows, (t + 1) * chunk);
    for (size_t r = t * chunk; r < end; ++r) per_row(r);
  });
}

// exp(x) for x <= 0 with the construction of attention_body.inc's exp_nonpositive, as a
// branch-free scalar so loops of it vectorise (std::exp's do not). Rel. error ~2e-7.
inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504088896341f + magic;
  const float n = t - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t tb;
  std::memcpy(&tb, &t, sizeof tb);
  const int32_t bits = (tb - 0x4B400000 + 127) << 23;  // 0x4B400000: the bits of magic
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// y * sigmoid(y) through exp(-|y|), which cannot overflow. Both sides of each select are
// computed first so the vectoriser can blend (with -fno-trapping-math, see build.rs).
inline float silu_of(float y) {
  const float neg_y = -y;
  const float e = exp_nonpositive(y < 0.0f ? y : neg_y);
  const float inv = 1.0f / (1.0f + e);
  const float below = e * inv;
  return y * (y >= 0.0f ? inv : below);
}

float gelu(float x, bool tanh_approx) {
  if (tanh_approx)
    return 0.5f * x * (1.0f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
  return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
}

}  // namespace

void rms_norm_f32(const float *x, const float *w, size_t rows, size_t dim, float eps,
                  float *out, size_t threads) {
  for_rows(rows, dim, threads, [&](size_t r) {
    const float *xr = x + r * dim;
    float *yr = out + r * dim;
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (size_t c = 0; c < dim; ++c) ss += xr[c] * xr[c];
    const float inv = 1.0f / std::sqrt(ss / float(dim) + eps);
    if (w)
      for (size_t c = 0; c < dim; ++c) yr[c] = xr[c] * inv * w[c];
    else
      for (size_t c = 0; c < dim; ++c) yr[c] = xr[c] * inv;
  });
}

void layer_norm_f32(const float *x, const float *w, const float *b, size_t rows,
                    size_t dim, float eps, float *out, size_t threads) {
  for_rows(rows, dim, threads, [&](size_t r) {
    const float *xr = x + r * dim;
    float *yr = out + r * dim;
    float mean, inv;
    row_stats(xr, dim, eps, mean, inv);
    for (size_t c = 0; c < dim; ++c)
      yr[c] = (xr[c] - mean) * inv * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
  });
}

void ada_layer_norm_f32(const float *x, const float *scale, const float *shift,
                        size_t batch, size_t seq, size_t dim, size_t mod_seq, float eps,
                        float *out, size_t threads) {
  for_rows(batch * seq, dim, threads, [&](size_t row) {
    const size_t b = row / seq, s = row % seq;
    const size_t mrow = b * mod_seq + (mod_seq == 1 ? 0 : s);
    const float *xr = x + row * dim;
    const float *sc = scale + mrow * dim;
    const float *sh = shift + mrow * dim;
    float *yr = out + row * dim;
    float mean, inv;
    row_stats(xr, dim, eps, mean, inv);
    for (size_t c = 0; c < dim; ++c) yr[c] = (xr[c] - mean) * inv * (1.0f + sc[c]) + sh[c];
  });
}

void group_norm_f32(const float *x, const float *gamma, const float *beta, size_t n,
                    size_t c, size_t hw, size_t groups, float eps, bool silu, float *out,
                    size_t threads) {
  const size_t cg = c / groups;
  parallel_for(n * groups, threads, [&](size_t t) {
    const size_t i = t / groups, g = t % groups;
    const size_t base = (i * c + g * cg) * hw;
    float mean, inv;
    row_stats(x + base, cg * hw, eps, mean, inv);
    for (size_t ch = 0; ch < cg; ++ch) {
      const size_t cc = g * cg + ch;
      // Fold normalisation and affine into one multiply-add per element.
      const float a = inv * (gamma ? gamma[cc] : 1.0f);
      const float bb = (beta ? beta[cc] : 0.0f) - mean * a;
      const float *xs = x + base + ch * hw;
      float *ys = out + base + ch * hw;
      if (silu)
        for (size_t p = 0; p < hw; ++p) ys[p] = silu_of(xs[p] * a + bb);
      else
        for (size_t p = 0; p < hw; ++p) ys[p] = xs[p] * a + bb;
    }
  });
}

void geglu_f32(const float *x, size_t rows, size_t h, bool tanh_approx, float *out,
               size_t threads) {
  for_rows(rows, 2 * h, threads, [&](size_t r) {
    const float *xr = x + r * 2 * h;
    for (size_t c = 0; c < h; ++c) out[r * h + c] = xr[c] * gelu(xr[h + c], tanh_approx);
  });
}

void swiglu_f32(const float *x, size_t rows, size_t h, float *out, size_t threads) {
  for_rows(rows, 2 * h, threads, [&](size_t r) {
    const float *xr = x + r * 2 * h;
    for (size_t c = 0; c < h; ++c) out[r * h + c] = silu_of(xr[c]) * xr[h + c];
  });
}

void rope_f32(const float *x, const float *cos, const float *sin, size_t outer, size_t seq,
              size_t inner, size_t dim, bool interleaved, float *out, size_t threads) {
  const size_t half = dim / 2;
  for_rows(outer * seq * inner, dim, threads, [&](size_t row) {
    const size_t s = (row / inner) % seq;
    const float *xr = x + row * dim;
    const float *cr = cos + s * dim;
    const float *sr = sin + s * dim;
    float *yr = out + row * dim;
    if (interleaved) {
      for (size_t p = 0; p < half; ++p) {
        const float a = xr[2 * p], b = xr[2 * p + 1];
        yr[2 * p] = a * cr[2 * p] - b * sr[2 * p];
        yr[2 * p + 1] = b * cr[2 * p + 1] + a * sr[2 * p + 1];
      }
    } else {
      for (size_t p = 0; p < half; ++p) yr[p] = xr[p] * cr[p] - xr[p + half] * sr[p];
      for (size_t p = 0; p < half; ++p)
        yr[half + p] = xr[half + p] * cr[half + p] + xr[p] * sr[half + p];
    }
  });
}

}  // namespace ops_npu
