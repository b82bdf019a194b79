// Normalisations and softmax, from the docs' formulas: mean and biased variance over the
// normalised elements, rstd = 1 / sqrt(var + eps), statistics in double.
#include <cmath>

#include "opapi.h"

namespace {

// Splits numel into rows of `inner` elements; the rows' mean and rstd (rms: no mean).
void stats(const std::vector<double> &x, size_t inner, double eps, bool rms,
           std::vector<double> &mean, std::vector<double> &rstd) {
  const size_t rows = inner ? x.size() / inner : 0;
  mean.assign(rows, 0.0);
  rstd.assign(rows, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    double s = 0, q = 0;
    for (size_t i = 0; i < inner; ++i) s += x[r * inner + i];
    const double mu = rms ? 0.0 : s / double(inner);
    for (size_t i = 0; i < inner; ++i) q += (x[r * inner + i] - mu) * (x[r * inner + i] - mu);
    mean[r] = mu;
    rstd[r] = 1.0 / std::sqrt(q / double(inner) + eps);
  }
}

bool shape_is(const aclTensor *t, const std::vector<int64_t> &dims) { return t->dims == dims; }

}  // namespace

EXPORT aclnnStatus aclnnRmsNormGetWorkspaceSize(const aclTensor *x, const aclTensor *gamma, double eps,
                                                const aclTensor *y, const aclTensor *rstd, uint64_t *ws,
                                                aclOpExecutor **ex) {
  const char *op = "aclnnRmsNorm";
  if (int st = check_all(table(op), {{"x", x}, {"gamma", gamma}, {"yOut", y}, {"rstdOut", rstd}})) return st;
  // 各平台支持数据类型说明: (x, gamma) pairs; yOut has x's dtype.
  const bool pair_ok = x->dtype == gamma->dtype ||
                       ((soc_family() & (FAM_A2A3 | FAM_950)) && gamma->dtype == ACL_FLOAT);
  if (!pair_ok || y->dtype != x->dtype)
    return fail(kInvalid, op, std::string("x ") + dtype_name(x->dtype) + ", gamma " + dtype_name(gamma->dtype) +
                                  ", yOut " + dtype_name(y->dtype) + " is not a documented combination on " +
                                  FAKE_SOC);
  const size_t g = gamma->dims.size();
  if (g > x->dims.size() || !std::equal(gamma->dims.begin(), gamma->dims.end(), x->dims.end() - long(g)))
    return fail(kInvalid, op, "gamma " + shape_str(gamma->dims) + " is not a trailing part of x " + shape_str(x->dims));
  auto rdims = x->dims;
  for (size_t i = rdims.size() - g; i < rdims.size(); ++i) rdims[i] = 1;
  if (!shape_is(y, x->dims) || !shape_is(rstd, rdims))
    return fail(kInvalid, op, "yOut must be x's shape and rstdOut " + shape_str(rdims));
  if ((soc_family() & FAM_INFER) && x->dims.back() * dtype_size(x->dtype) < 32)
    return fail(kInvalid, op, "the last dimension must span at least 32 bytes on Atlas inference");
  const size_t inner = size_t(gamma->numel());
  return prepare(op, {x, gamma, y, rstd},
                 [inner, eps](const std::vector<aclTensor> &v) {
                   auto xs = read(v[0]), gs = read(v[1]);
                   std::vector<double> mean, r;
                   stats(xs, inner, eps, true, mean, r);
                   for (size_t i = 0; i < xs.size(); ++i) xs[i] = xs[i] * r[i / inner] * gs[i % inner];
                   write(v[2], xs);
                   write(v[3], r);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnRmsNorm)

EXPORT aclnnStatus aclnnLayerNormGetWorkspaceSize(const aclTensor *x, const aclIntArray *normalized,
                                                  const aclTensor *w, const aclTensor *b, double eps,
                                                  aclTensor *out, aclTensor *mean, aclTensor *rstd,
                                                  uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnLayerNorm";
  if (!normalized) return fail(kNullptr, op, "normalizedShape is null");
  if (int st = check_all(table(op), {{"input", x}, {"weightOptional", w}, {"biasOptional", b}, {"out", out},
                                     {"meanOutOptional", mean}, {"rstdOutOptional", rstd}}))
    return st;
  const auto &ns = normalized->values;
  if (ns.empty() || ns.size() > x->dims.size() ||
      !std::equal(ns.begin(), ns.end(), x->dims.end() - long(ns.size())))
    return fail(kInvalid, op, "normalizedShape " + shape_str(ns) + " is not a trailing part of input " +
                                  shape_str(x->dims));
  // weight/bias: input's dtype or FLOAT, the two alike; with one alone, input's dtype.
  for (const aclTensor *p : {w, b})
    if (p && (p->dims != ns || (p->dtype != x->dtype && p->dtype != ACL_FLOAT)))
      return fail(kInvalid, op, "weightOptional/biasOptional must be normalizedShape in input's dtype or FLOAT");
  if (w && b && w->dtype != b->dtype) return fail(kInvalid, op, "weightOptional and biasOptional differ in dtype");
  if ((w && !b && w->dtype != x->dtype) || (b && !w && b->dtype != x->dtype))
    return fail(kInvalid, op, "a lone weightOptional/biasOptional must have input's dtype");
  if (out->dtype != x->dtype || out->dims != x->dims) return fail(kInvalid, op, "out must be input's dtype and shape");
  auto sdims = x->dims;
  for (size_t i = sdims.size() - ns.size(); i < sdims.size(); ++i) sdims[i] = 1;
  for (const aclTensor *s : {mean, rstd})
    if (s && (s->dtype != x->dtype || s->dims != sdims))
      return fail(kInvalid, op, "meanOut/rstdOut must be input's dtype with shape " + shape_str(sdims));
  size_t inner = 1;
  for (auto d : ns) inner *= size_t(d);
  const bool hw = w, hb = b, hm = mean, hr = rstd;
  return prepare(op, {x, w, b, out, mean, rstd},
                 [=](const std::vector<aclTensor> &v) {
                   size_t k = 0;
                   auto xs = read(v[k++]);
                   std::vector<double> wv = hw ? read(v[k++]) : std::vector<double>(inner, 1.0);
                   std::vector<double> bv = hb ? read(v[k++]) : std::vector<double>(inner, 0.0);
                   const aclTensor &O = v[k++];
                   std::vector<double> mu, r;
                   stats(xs, inner, eps, false, mu, r);
                   for (size_t i = 0; i < xs.size(); ++i)
                     xs[i] = (xs[i] - mu[i / inner]) * r[i / inner] * wv[i % inner] + bv[i % inner];
                   write(O, xs);
                   if (hm) write(v[k++], mu);
                   if (hr) write(v[k++], r);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnLayerNorm)

// out = LayerNorm(x) * (1 + scale) + shift; x [B.., S, H], scale/shift [B.., H] or [B.., 1, H].
EXPORT aclnnStatus aclnnAdaLayerNormGetWorkspaceSize(const aclTensor *x, const aclTensor *scale,
                                                     const aclTensor *shift, const aclTensor *w,
                                                     const aclTensor *b, double eps, aclTensor *out,
                                                     uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnAdaLayerNorm";
  if (int st = check_all(table(op), {{"x", x}, {"scale", scale}, {"shift", shift}, {"weightOptional", w},
                                     {"biasOptional", b}, {"out", out}}))
    return st;
  const size_t r = x->dims.size();
  const int64_t H = x->dims[r - 1];
  std::vector<int64_t> bh(x->dims.begin(), x->dims.end() - 2), b1h = bh;
  bh.push_back(H);
  b1h.insert(b1h.end(), {1, H});
  for (const aclTensor *p : {scale, shift})
    if (p->dtype != x->dtype || (p->dims != bh && p->dims != b1h))
      return fail(kInvalid, op, "scale/shift must be x's dtype with shape " + shape_str(bh) + " or " + shape_str(b1h));
  for (const aclTensor *p : {w, b})
    if (p && (p->dtype != x->dtype || p->dims != std::vector<int64_t>{H}))
      return fail(kInvalid, op, "weightOptional/biasOptional must be x's dtype with shape [H]");
  if (out->dtype != x->dtype || out->dims != x->dims) return fail(kInvalid, op, "out must be x's dtype and shape");
  if (x->numel() == 0) return fail(kInvalid, op, "x is empty (不支持空Tensor)");
  const int64_t S = x->dims[r - 2];
  const bool hw = w, hb = b;
  return prepare(op, {x, scale, shift, w, b, out},
                 [=](const std::vector<aclTensor> &v) {
                   size_t k = 0;
                   auto xs = read(v[k++]), sc = read(v[k++]), sh = read(v[k++]);
                   std::vector<double> wv = hw ? read(v[k++]) : std::vector<double>(size_t(H), 1.0);
                   std::vector<double> bv = hb ? read(v[k++]) : std::vector<double>(size_t(H), 0.0);
                   std::vector<double> mu, rs;
                   stats(xs, size_t(H), eps, false, mu, rs);
                   for (size_t i = 0; i < xs.size(); ++i) {
                     const size_t row = i / size_t(H), c = i % size_t(H), batch = row / size_t(S);
                     const double ln = (xs[i] - mu[row]) * rs[row] * wv[c] + bv[c];
                     xs[i] = ln * (1.0 + sc[batch * size_t(H) + c]) + sh[batch * size_t(H) + c];
                   }
                   write(v[k], xs);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnAdaLayerNorm)

namespace {
aclnnStatus group_norm(const char *op, const aclTensor *x, const aclTensor *gamma, const aclTensor *beta,
                       int64_t group, double eps, bool silu, bool affine_may_be_float, aclTensor *out,
                       aclTensor *mean, aclTensor *rstd, uint64_t *ws, aclOpExecutor **ex) {
  if (int st = check_all(table(op), {{"self", x}, {"gamma", gamma}, {"beta", beta}, {"out", out},
                                     {"meanOut", mean}, {"rstdOut", rstd}}))
    return st;
  const int64_t n = x->dims[0], c = x->dims[1];
  if (group <= 0 || c % group != 0)
    return fail(kInvalid, op, "group " + std::to_string(group) + " does not divide C = " + std::to_string(c));
  if (eps <= 0) return fail(kInvalid, op, "eps must be > 0");
  for (const aclTensor *p : {gamma, beta})
    if (p->numel() != c || (p->dtype != x->dtype && !(affine_may_be_float && p->dtype == ACL_FLOAT)))
      return fail(kInvalid, op, "gamma/beta must hold C elements in self's dtype");
  if (out->dtype != x->dtype || out->dims != x->dims) return fail(kInvalid, op, "out must be self's dtype and shape");
  for (const aclTensor *s : {mean, rstd})
    if (s->dtype != x->dtype || s->dims != std::vector<int64_t>{n, group})
      return fail(kInvalid, op, "meanOut/rstdOut must be self's dtype with shape [N, group]");
  const size_t inner = size_t(x->numel() / std::max<int64_t>(1, n * group));
  const size_t per_channel = size_t(x->numel() / std::max<int64_t>(1, n * c));
  return prepare(op, {x, gamma, beta, out, mean, rstd},
                 [=](const std::vector<aclTensor> &v) {
                   auto xs = read(v[0]), g = read(v[1]), b = read(v[2]);
                   std::vector<double> mu, r;
                   stats(xs, inner, eps, false, mu, r);
                   for (size_t i = 0; i < xs.size(); ++i) {
                     const size_t ch = (i / per_channel) % size_t(c);
                     double y = (xs[i] - mu[i / inner]) * r[i / inner] * g[ch] + b[ch];
                     if (silu) y = y / (1.0 + std::exp(-y));
                     xs[i] = y;
                   }
                   write(v[3], xs);
                   write(v[4], mu);
                   write(v[5], r);
                   return 0;
                 },
                 ws, ex);
}
}  // namespace

EXPORT aclnnStatus aclnnGroupNormGetWorkspaceSize(const aclTensor *x, const aclTensor *gamma,
                                                  const aclTensor *beta, int64_t N, int64_t C, int64_t HxW,
                                                  int64_t group, double eps, aclTensor *out, aclTensor *mean,
                                                  aclTensor *rstd, uint64_t *ws, aclOpExecutor **ex) {
  if (x && (x->dims.size() < 2 || x->dims[0] != N || x->dims[1] != C || N * C * HxW != x->numel()))
    return fail(kInvalid, "aclnnGroupNorm", "N, C and HxW do not describe self " + shape_str(x->dims));
  return group_norm("aclnnGroupNorm", x, gamma, beta, group, eps, false, false, out, mean, rstd, ws, ex);
}
FAKE_LAUNCH(aclnnGroupNorm)

EXPORT aclnnStatus aclnnGroupNormSiluGetWorkspaceSize(const aclTensor *x, const aclTensor *gamma,
                                                      const aclTensor *beta, int64_t group, double eps,
                                                      aclTensor *out, aclTensor *mean, aclTensor *rstd,
                                                      uint64_t *ws, aclOpExecutor **ex) {
  return group_norm("aclnnGroupNormSilu", x, gamma, beta, group, eps, true, true, out, mean, rstd, ws, ex);
}
FAKE_LAUNCH(aclnnGroupNormSilu)

EXPORT aclnnStatus aclnnSoftmaxGetWorkspaceSize(const aclTensor *self, int64_t dim, aclTensor *out,
                                                uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnSoftmax";
  if (int st = check_all(table(op), {{"self", self}, {"out", out}})) return st;
  if (!wrap_dim(dim, int64_t(self->dims.size())))
    return fail(kInvalid, op, "dim " + std::to_string(dim) + " outside self's rank");
  if (out->dims != self->dims) return fail(kInvalid, op, "out must have self's shape");
  const auto dims = self->dims.empty() ? std::vector<int64_t>{1} : self->dims;
  size_t inner = 1;
  for (size_t i = size_t(dim) + 1; i < dims.size(); ++i) inner *= size_t(dims[i]);
  const size_t len = size_t(dims[size_t(dim)]);
  return prepare(op, {self, out},
                 [inner, len](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   const size_t outer = len && inner ? x.size() / (len * inner) : 0;
                   for (size_t o = 0; o < outer; ++o)
                     for (size_t in = 0; in < inner; ++in) {
                       // Max subtracted first, as the doc says the kernel does.
                       double m = -INFINITY, s = 0;
                       for (size_t j = 0; j < len; ++j) m = std::max(m, x[(o * len + j) * inner + in]);
                       for (size_t j = 0; j < len; ++j) s += std::exp(x[(o * len + j) * inner + in] - m);
                       for (size_t j = 0; j < len; ++j) {
                         double &e = x[(o * len + j) * inner + in];
                         e = std::exp(e - m) / s;
                       }
                     }
                   write(v[1], x);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnSoftmax)
