// Gated linear units and rotary position embedding.
#include <cmath>

#include "opapi.h"

namespace {

// Splits `dim` of x in halves A | B; the [outer, 2, half, inner] view of a dense copy.
struct Halves {
  size_t outer = 1, half = 1, inner = 1;
  size_t a(size_t o, size_t h, size_t i) const { return (o * 2 * half + h) * inner + i; }
  size_t b(size_t o, size_t h, size_t i) const { return (o * 2 * half + half + h) * inner + i; }
  size_t out(size_t o, size_t h, size_t i) const { return (o * half + h) * inner + i; }
};

int split(const char *op, const aclTensor *x, int64_t &dim, Halves &hv, std::vector<int64_t> &half_shape) {
  if (!wrap_dim(dim, int64_t(x->dims.size())))
    return fail(kInvalid, op, "dim " + std::to_string(dim) + " outside the input's rank");
  if (x->dims.empty() || x->dims[size_t(dim)] % 2 != 0)
    return fail(kInvalid, op, "the split dimension of " + shape_str(x->dims) + " is not even");
  half_shape = x->dims;
  half_shape[size_t(dim)] /= 2;
  hv.half = size_t(half_shape[size_t(dim)]);
  for (size_t i = 0; i < size_t(dim); ++i) hv.outer *= size_t(x->dims[i]);
  for (size_t i = size_t(dim) + 1; i < x->dims.size(); ++i) hv.inner *= size_t(x->dims[i]);
  return 0;
}

double gelu(double x, bool tanh_form) {
  if (tanh_form) return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

}  // namespace

// activateLeft: out = Gelu(A) * B; otherwise out = A * Gelu(B). outGelu is the Gelu term.
EXPORT aclnnStatus aclnnGeGluV3GetWorkspaceSize(const aclTensor *self, int64_t dim, int64_t approximate,
                                                bool activate_left, aclTensor *out, aclTensor *out_gelu,
                                                uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnGeGluV3";
  if (int st = check_all(table(op), {{"self", self}, {"out", out}, {"outGelu", out_gelu}})) return st;
  if (approximate != 0 && approximate != 1)
    return fail(kInvalid, op, "approximate must be 0 (none) or 1 (tanh)");
  Halves hv;
  std::vector<int64_t> hs;
  if (int st = split(op, self, dim, hv, hs)) return st;
  for (const aclTensor *o : {out, out_gelu})
    if (o->dims != hs || o->dtype != self->dtype)
      return fail(kInvalid, op, "out/outGelu must be self's dtype with shape " + shape_str(hs));
  const bool tanh_form = approximate == 1;
  return prepare(op, {self, out, out_gelu},
                 [=](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   std::vector<double> o(hv.outer * hv.half * hv.inner), g(o.size());
                   for (size_t a = 0; a < hv.outer; ++a)
                     for (size_t h = 0; h < hv.half; ++h)
                       for (size_t i = 0; i < hv.inner; ++i) {
                         const double A = x[hv.a(a, h, i)], B = x[hv.b(a, h, i)];
                         const double act = gelu(activate_left ? A : B, tanh_form);
                         g[hv.out(a, h, i)] = act;
                         o[hv.out(a, h, i)] = act * (activate_left ? B : A);
                       }
                   write(v[1], o);
                   write(v[2], g);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnGeGluV3)

// out = Swish(A) * B, Swish(a) = a / (1 + e^-a).
EXPORT aclnnStatus aclnnSwiGluGetWorkspaceSize(const aclTensor *x, int64_t dim, const aclTensor *out,
                                               uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnSwiGlu";
  if (int st = check_all(table(op), {{"x", x}, {"out", out}})) return st;
  Halves hv;
  std::vector<int64_t> hs;
  if (int st = split(op, x, dim, hv, hs)) return st;
  if (out->dims != hs || out->dtype != x->dtype)
    return fail(kInvalid, op, "out must be x's dtype with shape " + shape_str(hs));
  // Atlas inference: "shape不支持非64字节对齐", read as the last dimension's bytes.
  if ((soc_family() & FAM_INFER) && (x->dims.back() * dtype_size(x->dtype)) % 64 != 0)
    return fail(kInvalid, op, "the last dimension must span a multiple of 64 bytes on Atlas inference");
  return prepare(op, {x, out},
                 [=](const std::vector<aclTensor> &v) {
                   auto xs = read(v[0]);
                   std::vector<double> o(hv.outer * hv.half * hv.inner);
                   for (size_t a = 0; a < hv.outer; ++a)
                     for (size_t h = 0; h < hv.half; ++h)
                       for (size_t i = 0; i < hv.inner; ++i) {
                         const double A = xs[hv.a(a, h, i)], B = xs[hv.b(a, h, i)];
                         o[hv.out(a, h, i)] = A / (1.0 + std::exp(-A)) * B;
                       }
                   write(v[1], o);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnSwiGlu)

// y = x * cos + rotate(x) * sin, cos/sin broadcast over x's first three dims.
// mode 0 (half): rotate = cat(-x2, x1) of the two halves of D;
// mode 1 (interleave): rotate[2i] = -x[2i+1], rotate[2i+1] = x[2i].
EXPORT aclnnStatus aclnnRotaryPositionEmbeddingGetWorkspaceSize(const aclTensor *x, const aclTensor *cos,
                                                                const aclTensor *sin, int64_t mode,
                                                                aclTensor *out, uint64_t *ws,
                                                                aclOpExecutor **ex) {
  const char *op = "aclnnRotaryPositionEmbedding";
  if (int st = check_all(table(op), {{"x", x}, {"cos", cos}, {"sin", sin}, {"out", out}})) return st;
  if (mode != 0 && mode != 1)
    return fail(kInvalid, op, "mode must be 0 (half) or 1 (interleave) on Atlas A2/A3");
  if (cos->dtype != x->dtype || sin->dtype != x->dtype || out->dtype != x->dtype)
    return fail(kInvalid, op, "cos, sin and out must have x's dtype");
  if (out->dims != x->dims || cos->dims != sin->dims)
    return fail(kInvalid, op, "out must be x's shape and sin cos's");
  const int64_t D = x->dims[3];
  if (cos->dims[3] != D || D % 2 != 0 || D >= 896)
    return fail(kInvalid, op, "D must match across x, cos and sin, be even and below 896 (got " +
                                  std::to_string(D) + ")");
  int non_unit = 0;
  for (size_t i = 0; i < 3; ++i) {
    if (cos->dims[i] != 1 && cos->dims[i] != x->dims[i])
      return fail(kInvalid, op, "cos " + shape_str(cos->dims) + " does not broadcast to x " + shape_str(x->dims));
    non_unit += cos->dims[i] != 1;
  }
  // Interleave takes only the 11SD / 1S1D / S11D tables.
  if (mode == 1 && non_unit > 1)
    return fail(kInvalid, op, "interleave mode takes cos/sin with one non-1 leading dimension");
  return prepare(op, {x, cos, sin, out},
                 [mode, D](const std::vector<aclTensor> &v) {
                   auto xs = read(v[0]);
                   auto c = read(broadcast_to(v[1], v[0].dims)), s = read(broadcast_to(v[2], v[0].dims));
                   std::vector<double> y(xs.size());
                   const size_t d = size_t(D), h = d / 2;
                   for (size_t base = 0; base < xs.size(); base += d)
                     for (size_t i = 0; i < d; ++i) {
                       double rot;
                       if (mode == 0)
                         rot = i < h ? -xs[base + i + h] : xs[base + i - h];
                       else
                         rot = i % 2 == 0 ? -xs[base + i + 1] : xs[base + i - 1];
                       y[base + i] = xs[base + i] * c[base + i] + rot * s[base + i];
                     }
                   write(v[3], y);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnRotaryPositionEmbedding)
