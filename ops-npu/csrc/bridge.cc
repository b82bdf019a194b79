#include "ops-npu/csrc/bridge.h"

#include <stdexcept>
#include <string>

#include "ops-npu/src/bridge.rs.h"
#include "cpu_kernels.h"
#include "gemm.h"

namespace ops_npu {
namespace ffi {
namespace {

void need(const char *arg, size_t have, size_t want) {
  if (have < want)
    throw std::invalid_argument(std::string(arg) + ": " + std::to_string(have) +
                                " elements, kernel needs " + std::to_string(want));
}

// Largest element offset + 1 reachable through (size, stride) pairs.
size_t extent(std::initializer_list<std::pair<size_t, size_t>> dims) {
  size_t last = 0;
  for (auto [n, s] : dims) {
    if (n == 0) return 0;
    last += (n - 1) * s;
  }
  return last + 1;
}

template <class T>
const T *opt(rust::Slice<const T> s) {
  return s.empty() ? nullptr : s.data();
}

}  // namespace

void attention(const AttnDims &a, rust::Slice<const float> q, rust::Slice<const float> k,
               rust::Slice<const float> v, rust::Slice<const float> bias,
               rust::Slice<const uint8_t> mask, rust::Slice<float> out, rust::Slice<float> lse,
               bool reference, bool portable, size_t threads) {
  const ops_npu::AttnDims d{a.batch,   a.heads_q, a.heads_kv, a.seq_q,   a.seq_kv,  a.head_dim,
                            a.scale,   a.q_sb,    a.q_sh,     a.q_ss,    a.k_sb,    a.k_sh,
                            a.k_ss,    a.v_sb,    a.v_sh,     a.v_ss,    a.o_sb,    a.o_sh,
                            a.o_ss,    a.bias_sb, a.bias_sh,  a.bias_sq, a.bias_sk, a.mask_sb,
                            a.mask_sh, a.mask_sq, a.mask_sk};
  if (d.heads_kv == 0 || d.heads_q % d.heads_kv != 0)
    throw std::invalid_argument("query heads must be a multiple of key/value heads");
  const size_t D = d.head_dim;
  const size_t nq = extent({{d.batch, d.q_sb}, {d.heads_q, d.q_sh}, {d.seq_q, d.q_ss}, {D, 1}});
  if (nq == 0) return;
  need("q", q.size(), nq);
  need("out", out.size(),
       extent({{d.batch, d.o_sb}, {d.heads_q, d.o_sh}, {d.seq_q, d.o_ss}, {D, 1}}));
  need("k", k.size(),
       extent({{d.batch, d.k_sb}, {d.heads_kv, d.k_sh}, {d.seq_kv, d.k_ss}, {D, 1}}));
  need("v", v.size(),
       extent({{d.batch, d.v_sb}, {d.heads_kv, d.v_sh}, {d.seq_kv, d.v_ss}, {D, 1}}));
  const auto bias_n = extent({{d.batch, d.bias_sb}, {d.heads_q, d.bias_sh},
                              {d.seq_q, d.bias_sq}, {d.seq_kv, d.bias_sk}});
  const auto mask_n = extent({{d.batch, d.mask_sb}, {d.heads_q, d.mask_sh},
                              {d.seq_q, d.mask_sq}, {d.seq_kv, d.mask_sk}});
  if (!bias.empty()) need("bias", bias.size(), bias_n);
  if (!mask.empty()) need("mask", mask.size(), mask_n);
  if (!lse.empty()) need("lse", lse.size(), d.batch * d.heads_q * d.seq_q);
  float *lse_p = lse.empty() ? nullptr : lse.data();
  if (reference)
    attention_ref(d, q.data(), k.data(), v.data(), opt(bias), opt(mask), out.data(), lse_p);
  else
    attention_f32(d, q.data(), k.data(), v.data(), opt(bias), opt(mask), out.data(), lse_p,
                  threads, portable);
}

void rms_norm(rust::Slice<const float> x, rust::Slice<const float> weight, size_t rows,
              size_t dim, float eps, rust::Slice<float> out, bool reference, size_t threads) {
  need("x", x.size(), rows * dim);
  need("out", out.size(), rows * dim);
  if (!weight.empty()) need("weight", weight.size(), dim);
  if (reference)
    rms_norm_ref(x.data(), opt(weight), rows, dim, eps, out.data());
  else
    rms_norm_f32(x.data(), opt(weight), rows, dim, eps, out.data(), threads);
}

void layer_norm(rust::Slice<const float> x, rust::Slice<const float> weight,
                rust::Slice<const float> bias, size_t rows, size_t dim, float eps,
                rust::Slice<float> out, bool reference, size_t threads) {
  need("x", x.size(), rows * dim);
  need("out", out.size(), rows * dim);
  if (!weight.empty()) need("weight", weight.size(), dim);
  if (!bias.empty()) need("bias", bias.size(), dim);
  if (reference)
    layer_norm_ref(x.data(), opt(weight), opt(bias), rows, dim, eps, out.data());
  else
    layer_norm_f32(x.data(), opt(weight), opt(bias), rows, dim, eps, out.data(), threads);
}

void ada_layer_norm(rust::Slice<const float> x, rust::Slice<const float> scale,
                    rust::Slice<const float> shift, size_t batch, size_t seq, size_t dim,
                    size_t mod_seq, float eps, rust::Slice<float> out, bool reference,
                    size_t threads) {
  if (mod_seq != 1 && mod_seq != seq)
    throw std::invalid_argument("scale/shift must have 1 or seq rows per sample");
  need("x", x.size(), batch * seq * dim);
  need("out", out.size(), batch * seq * dim);
  need("scale", scale.size(), batch * mod_seq * dim);
  need("shift", shift.size(), batch * mod_seq * dim);
  if (reference)
    ada_layer_norm_ref(x.data(), scale.data(), shift.data(), batch, seq, dim, mod_seq, eps,
                       out.data());
  else
    ada_layer_norm_f32(x.data(), scale.data(), shift.data(), batch, seq, dim, mod_seq, eps,
                       out.data(), threads);
}

void group_norm(rust::Slice<const float> x, rust::Slice<const float> gamma,
                rust::Slice<const float> beta, size_t n, size_t c, size_t hw, size_t groups,
                float eps, bool silu, rust::Slice<float> out, bool reference, size_t threads) {
  if (groups == 0 || c % groups != 0)
    throw std::invalid_argument("channels must be a multiple of groups");
  need("x", x.size(), n * c * hw);
  need("out", out.size(), n * c * hw);
  if (!gamma.empty()) need("gamma", gamma.size(), c);
  if (!beta.empty()) need("beta", beta.size(), c);
  if (reference)
    group_norm_ref(x.data(), opt(gamma), opt(beta), n, c, hw, groups, eps, silu, out.data());
  else
    group_norm_f32(x.data(), opt(gamma), opt(beta), n, c, hw, groups, eps, silu, out.data(),
                   threads);
}

void geglu(rust::Slice<const float> x, size_t rows, size_t hidden, bool tanh_approx,
           rust::Slice<float> out, bool reference, size_t threads) {
  need("x", x.size(), rows * 2 * hidden);
  need("out", out.size(), rows * hidden);
  if (reference)
    geglu_ref(x.data(), rows, hidden, tanh_approx, out.data());
  else
    geglu_f32(x.data(), rows, hidden, tanh_approx, out.data(), threads);
}

void swiglu(rust::Slice<const float> x, size_t rows, size_t hidden, rust::Slice<float> out,
            bool reference, size_t threads) {
  need("x", x.size(), rows * 2 * hidden);
  need("out", out.size(), rows * hidden);
  if (reference)
    swiglu_ref(x.data(), rows, hidden, out.data());
  else
    swiglu_f32(x.data(), rows, hidden, out.data(), threads);
}

void rope(rust::Slice<const float> x, rust::Slice<const float> cos,
          rust::Slice<const float> sin, size_t outer, size_t seq, size_t inner, size_t dim,
          bool interleaved, rust::Slice<float> out, bool reference, size_t threads) {
  if (dim % 2 != 0) throw std::invalid_argument("rotary dimension must be even");
  need("x", x.size(), outer * seq * inner * dim);
  need("out", out.size(), outer * seq * inner * dim);
  need("cos", cos.size(), seq * dim);
  need("sin", sin.size(), seq * dim);
  if (reference)
    rope_ref(x.data(), cos.data(), sin.data(), outer, seq, inner, dim, interleaved, out.data());
  else
    rope_f32(x.data(), cos.data(), sin.data(), outer, seq, inner, dim, interleaved, out.data(),
             threads);
}

void gemm(const GemmDims &g, rust::Slice<const float> a, rust::Slice<const float> b,
          rust::Slice<const float> bias, rust::Slice<float> c, bool reference, bool portable,
          size_t threads) {
  const ops_npu::GemmDims d{g.batch,  g.m,        g.n,        g.k,        g.trans_a,
                            g.trans_b, g.lda,     g.ldb,      g.ldc,      g.stride_a,
                            g.stride_b, g.stride_c, g.alpha, g.beta};
  if (d.batch == 0 || d.m == 0 || d.n == 0) return;
  // op(A) is m x k, op(B) k x n: the stored shapes swap with a transpose.
  const size_t a_rows = d.trans_a ? d.k : d.m, a_cols = d.trans_a ? d.m : d.k;
  const size_t b_rows = d.trans_b ? d.n : d.k, b_cols = d.trans_b ? d.k : d.n;
  if (d.lda < a_cols || d.ldb < b_cols || d.ldc < d.n)
    throw std::invalid_argument("a leading dimension is shorter than its row");
  if (d.k > 0) {
    need("a", a.size(), extent({{d.batch, d.stride_a}, {a_rows, d.lda}, {a_cols, 1}}));
    need("b", b.size(), extent({{d.batch, d.stride_b}, {b_rows, d.ldb}, {b_cols, 1}}));
  }
  need("c", c.size(), extent({{d.batch, d.stride_c}, {d.m, d.ldc}, {d.n, 1}}));
  if (!bias.empty()) need("bias", bias.size(), d.n);
  if (reference)
    gemm_ref(d, a.data(), b.data(), opt(bias), c.data());
  else
    gemm_f32(d, a.data(), b.data(), opt(bias), c.data(), threads, portable);
}

size_t attention_scratch_bytes(size_t head_dim) {
  return ops_npu::attention_scratch_bytes(head_dim);
}

}  // namespace ffi
}  // namespace ops_npu
