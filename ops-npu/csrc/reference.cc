// Scalar reference kernels: the textbook formula, double accumulation, no blocking, no
// threads. They are the oracle for the optimised kernels and the compute engine of the
// test-double aclnn library, so they must stay obviously correct rather than fast.
#include <cmath>
#include <limits>
#include <vector>

#include "cpu_kernels.h"

namespace ops_npu {

void attention_ref(const AttnDims &d, const float *q, const float *k, const float *v,
                   const float *bias, const uint8_t *mask, float *out, float *lse) {
  const size_t group = d.heads_q / d.heads_kv;
  std::vector<double> s(d.seq_kv);
  for (size_t b = 0; b < d.batch; ++b)
    for (size_t h = 0; h < d.heads_q; ++h) {
      const size_t hk = h / group;
      for (size_t i = 0; i < d.seq_q; ++i) {
        const float *qi = q + b * d.q_sb + h * d.q_sh + i * d.q_ss;
        double mx = -std::numeric_limits<double>::infinity();
        for (size_t j = 0; j < d.seq_kv; ++j) {
          const float *kj = k + b * d.k_sb + hk * d.k_sh + j * d.k_ss;
          double dot = 0;
          for (size_t c = 0; c < d.head_dim; ++c) dot += double(qi[c]) * kj[c];
          dot *= d.scale;
          if (bias) dot += bias[b * d.bias_sb + h * d.bias_sh + i * d.bias_sq + j * d.bias_sk];
          if (mask && !mask[b * d.mask_sb + h * d.mask_sh + i * d.mask_sq + j * d.mask_sk])
            dot = -std::numeric_limits<double>::infinity();
          s[j] = dot;
          if (dot > mx) mx = dot;
        }
        double sum = 0;
        for (size_t j = 0; j < d.seq_kv; ++j) {
          s[j] = std::isinf(mx) ? 0.0 : std::exp(s[j] - mx);
          sum += s[j];
        }
        float *oi = out + b * d.o_sb + h * d.o_sh + i * d.o_ss;
        for (size_t c = 0; c < d.head_dim; ++c) {
          double acc = 0;
          for (size_t j = 0; j < d.seq_kv; ++j)
            acc += s[j] * v[b * d.v_sb + hk * d.v_sh + j * d.v_ss + c];
          // A row with every key masked has no distribution; it yields zeros.
          oi[c] = sum > 0 ? float(acc / sum) : 0.0f;
        }
        if (lse)
          lse[(b * d.heads_q + h) * d.seq_q + i] =
              sum > 0 ? float(mx + std::log(sum)) : -std::numeric_limits<float>::infinity();
      }
    }
}

void rms_norm_ref(const float *x, const float *w, size_t rows, size_t dim, float eps,
                  float *out) {
  for (size_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (size_t c = 0; c < dim; ++c) ss += double(x[r * dim + c]) * x[r * dim + c];
    const double inv = 1.0 / std::sqrt(ss / dim + eps);
    for (size_t c = 0; c < dim; ++c)
      out[r * dim + c] = float(x[r * dim + c] * inv * (w ? w[c] : 1.0f));
  }
}

static void moments(const float *x, size_t n, size_t stride, double &mean, double &var) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i * stride];
  mean = s / n;
  double v = 0;
  for (size_t i = 0; i < n; ++i) v += (x[i * stride] - mean) * (x[i * stride] - mean);
  var = v / n;
}

void layer_norm_ref(const float *x, const float *w, const float *b, size_t rows,
                    size_t dim, float eps, float *out) {
  for (size_t r = 0; r < rows; ++r) {
    double mean, var;
    moments(x + r * dim, dim, 1, mean, var);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (size_t c = 0; c < dim; ++c)
      out[r * dim + c] =
          float((x[r * dim + c] - mean) * inv * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f));
  }
}

void ada_layer_norm_ref(const float *x, const float *scale, const float *shift,
                        size_t batch, size_t seq, size_t dim, size_t mod_seq, float eps,
                        float *out) {
  for (size_t b = 0; b < batch; ++b)
    for (size_t s = 0; s < seq; ++s) {
      const size_t row = b * seq + s;
      const size_t mrow = b * mod_seq + (mod_seq == 1 ? 0 : s);
      double mean, var;
      moments(x + row * dim, dim, 1, mean, var);
      const double inv = 1.0 / std::sqrt(var + eps);
      for (size_t c = 0; c < dim; ++c) {
        const double n = (x[row * dim + c] - mean) * inv;
        out[row * dim + c] = float(n * (1.0 + scale[mrow * dim + c]) + shift[mrow * dim + c]);
      }
    }
}

void group_norm_ref(const float *x, const float *gamma, const float *beta, size_t n,
                    size_t c, size_t hw, size_t groups, float eps, bool silu, float *out) {
  const size_t cg = c / groups;
  for (size_t i = 0; i < n; ++i)
    for (size_t g = 0; g < groups; ++g) {
      const size_t base = (i * c + g * cg) * hw;
      double mean, var;
      moments(x + base, cg * hw, 1, mean, var);
      const double inv = 1.0 / std::sqrt(var + eps);
      for (size_t ch = 0; ch < cg; ++ch) {
        const size_t cc = g * cg + ch;
        for (size_t p = 0; p < hw; ++p) {
          const size_t at = base + ch * hw + p;
          double y = (x[at] - mean) * inv * (gamma ? gamma[cc] : 1.0f) + (beta ? beta[cc] : 0.0f);
          if (silu) y = y / (1.0 + std::exp(-y));
          out[at] = float(y);
        }
      }
    }
}

static double gelu(double x, bool tanh_approx) {
  if (tanh_approx)
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

void geglu_ref(const float *x, size_t rows, size_t h, bool tanh_approx, float *out) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < h; ++c)
      out[r * h + c] = float(x[r * 2 * h + c] * gelu(x[r * 2 * h + h + c], tanh_approx));
}

void swiglu_ref(const float *x, size_t rows, size_t h, float *out) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < h; ++c) {
      const double a = x[r * 2 * h + c];
      out[r * h + c] = float(a / (1.0 + std::exp(-a)) * x[r * 2 * h + h + c]);
    }
}

void rope_ref(const float *x, const float *cos, const float *sin, size_t outer, size_t seq,
              size_t inner, size_t dim, bool interleaved, float *out) {
  for (size_t o = 0; o < outer; ++o)
    for (size_t s = 0; s < seq; ++s)
      for (size_t n = 0; n < inner; ++n) {
        const size_t base = ((o * seq + s) * inner + n) * dim;
        for (size_t c = 0; c < dim; ++c) {
          // rotated = the partner element with the sign of a 90 degree rotation.
          double rotated;
          if (interleaved)
            rotated = (c % 2 == 0) ? -double(x[base + c + 1]) : double(x[base + c - 1]);
          else
            rotated = (c < dim / 2) ? -double(x[base + c + dim / 2]) : double(x[base + c - dim / 2]);
          out[base + c] = float(x[base + c] * double(cos[s * dim + c]) + rotated * sin[s * dim + c]);
        }
      }
}

}  // namespace ops_npu
