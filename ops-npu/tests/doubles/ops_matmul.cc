// Matrix products and convolution. Inputs are widened exactly and products accumulate in
// double, then round to out's dtype, except where cubeMathType asks the cube unit to
// lower fp32 inputs first: to HFLOAT32 on A2/A3 (modelled as 11 mantissa bits, nearest
// even) or to FLOAT16 on Atlas inference/training, as the docs' cubeMathType notes say.
#include <cmath>

#include "opapi.h"

namespace {

double to_hf32(double v) {
  if (!std::isfinite(v) || v == 0) return v;
  int e;
  const double m = std::frexp(v, &e);
  return std::ldexp(std::nearbyint(std::ldexp(m, 12)), e - 12);
}

// How an op's inputs are lowered before the products, or an error status. `conv`:
// Convolution's table, which also refuses KEEP_DTYPE for FLOAT everywhere but 950.
int cube_mode(const char *op, int dtype, int8_t cube, bool conv, bool allow4,
              std::function<double(double)> &lower) {
  const unsigned fam = soc_family();
  const bool old = fam & (FAM_TRAIN | FAM_INFER);
  lower = [](double v) { return v; };
  if (cube < 0 || cube > (allow4 ? 4 : 3))
    return fail(kInvalid, op, "cubeMathType " + std::to_string(cube) + " is not a documented value");
  if (dtype == ACL_FLOAT && cube == 0 && (old || (conv && !(fam & FAM_950))))
    return fail(kInvalid, op, std::string("FLOAT with cubeMathType=0 (KEEP_DTYPE) is not supported on ") +
                                  FAKE_SOC + "; pass 1 (ALLOW_FP32_DOWN_PRECISION)");
  if (cube == 3 && (old || dtype != ACL_FLOAT))
    return fail(kInvalid, op, std::string("cubeMathType=3 (USE_HF32) needs FLOAT inputs on an A2/A3 part (") +
                                  FAKE_SOC + ", " + dtype_name(dtype) + ")");
  if (cube == 4 && old && allow4 && std::string(op) == "aclnnAddmm")
    return fail(kInvalid, op, std::string("cubeMathType=4 is not supported on ") + FAKE_SOC);
  if (cube == 2 && dtype == ACL_BF16)
    return fail(kInvalid, op, "cubeMathType=2 (USE_FP16) does not take BFLOAT16 inputs");
  if (dtype != ACL_FLOAT) return 0;
  if (cube == 2 || (cube == 1 && old))
    lower = [](double v) { return round_to(ACL_FLOAT16, v); };
  else if (cube == 1 || cube == 3)
    lower = to_hf32;
  return 0;
}

// A2/A3 refuse bf16 mixed with f16 or f32 (aclnnMatmul's 约束说明).
int promote_matmul(const char *op, int a, int b) {
  if (a != b && (a == ACL_BF16 || b == ACL_BF16) && (soc_family() & FAM_A2A3))
    return fail(kInvalid, op, std::string("BFLOAT16 mixed with ") + dtype_name(a == ACL_BF16 ? b : a) +
                                  " is not supported") , -1;
  return promote(a, b);
}

// C[b] = A[b] @ B[b] with batch broadcasting; A [.., m, k], B [.., k, n] (contiguous copies).
void batched(const std::vector<double> &a, const std::vector<double> &b, int64_t batch,
             int64_t a_batch, int64_t b_batch, int64_t m, int64_t k, int64_t n,
             const std::function<double(double)> &lower, std::vector<double> &c) {
  c.assign(size_t(batch * m * n), 0.0);
  // Lowering is elementwise on the inputs, so it is applied once per element, not per
  // product (the same numbers, far fewer calls).
  std::vector<double> la(a.size()), lb(b.size());
  for (size_t i = 0; i < a.size(); ++i) la[i] = lower(a[i]);
  for (size_t i = 0; i < b.size(); ++i) lb[i] = lower(b[i]);
  for (int64_t p = 0; p < batch; ++p) {
    const double *A = la.data() + (a_batch == 1 ? 0 : p) * m * k;
    const double *B = lb.data() + (b_batch == 1 ? 0 : p) * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q) acc += A[i * k + q] * B[q * n + j];
        c[size_t((p * m + i) * n + j)] = acc;
      }
  }
}

}  // namespace

EXPORT aclnnStatus aclnnMatmulGetWorkspaceSize(const aclTensor *self, const aclTensor *mat2, aclTensor *out,
                                               int8_t cube, uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnMatmul";
  if (int st = check_all(table(op), {{"self", self}, {"mat2", mat2}, {"out", out}})) return st;
  const int compute = promote_matmul(op, self->dtype, mat2->dtype);
  if (compute < 0) return 161002;
  std::function<double(double)> lower;
  if (int st = cube_mode(op, compute, cube, false, true, lower)) return st;
  // 1-d operands: (K) is (1, K) on the left and (K, 1) on the right, the pad removed after.
  auto a = self->dims, b = mat2->dims;
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  const int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  if (b[b.size() - 2] != k)
    return fail(kInvalid, op, "self " + shape_str(self->dims) + " and mat2 " + shape_str(mat2->dims) +
                                  " do not share the reduce dimension");
  std::vector<int64_t> ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2), batch;
  if (!broadcast_shapes(ab, bb, batch))
    return fail(kInvalid, op, "batch dimensions do not broadcast");
  std::vector<int64_t> shape = batch;
  if (!a1) shape.push_back(m);
  if (!b1) shape.push_back(n);
  if (out->dims != shape)
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " is not " + shape_str(shape));
  int64_t nb = 1;
  for (auto d : batch) nb *= d;
  return prepare(op, {self, mat2, out},
                 [=](const std::vector<aclTensor> &v) {
                   // Broadcast both to [batch.., m, k] / [batch.., k, n] and read densely.
                   auto ad = batch, bd = batch;
                   ad.insert(ad.end(), {m, k});
                   bd.insert(bd.end(), {k, n});
                   aclTensor A = v[0], B = v[1];
                   A.dims = a;
                   B.dims = b;
                   if (a1) A.strides.insert(A.strides.begin(), 0);
                   if (b1) B.strides.push_back(0);
                   std::vector<double> c;
                   batched(read(broadcast_to(A, ad)), read(broadcast_to(B, bd)), nb, nb, nb, m, k, n, lower, c);
                   write(v[2], c);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnMatmul)

EXPORT aclnnStatus aclnnBatchMatMulGetWorkspaceSize(const aclTensor *self, const aclTensor *mat2,
                                                    aclTensor *out, int8_t cube, uint64_t *ws,
                                                    aclOpExecutor **ex) {
  const char *op = "aclnnBatchMatMul";
  if (int st = check_all(table(op), {{"self", self}, {"mat2", mat2}, {"out", out}})) return st;
  const int compute = promote_matmul(op, self->dtype, mat2->dtype);
  if (compute < 0) return 161002;
  std::function<double(double)> lower;
  if (int st = cube_mode(op, compute, cube, false, false, lower)) return st;
  const int64_t m = self->dims[1], k = self->dims[2], n = mat2->dims[2];
  if (mat2->dims[1] != k)
    return fail(kInvalid, op, "self's last dimension is not mat2's second to last");
  // The doc does not say the batch broadcasts; equal batches or a batch of 1 are taken.
  std::vector<int64_t> batch;
  if (!broadcast_shapes({self->dims[0]}, {mat2->dims[0]}, batch))
    return fail(kInvalid, op, "batch sizes differ");
  const std::vector<int64_t> shape{batch[0], m, n};
  if (out->dims != shape)
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " is not " + shape_str(shape));
  return prepare(op, {self, mat2, out},
                 [=](const std::vector<aclTensor> &v) {
                   std::vector<double> c;
                   batched(read(v[0]), read(v[1]), batch[0], v[0].dims[0], v[1].dims[0], m, k, n, lower, c);
                   write(v[2], c);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnBatchMatMul)

// out = beta * self + alpha * (mat1 @ mat2); self broadcasts to [m, n].
EXPORT aclnnStatus aclnnAddmmGetWorkspaceSize(const aclTensor *self, const aclTensor *mat1,
                                              const aclTensor *mat2, const aclScalar *beta,
                                              const aclScalar *alpha, aclTensor *out, int8_t cube,
                                              uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnAddmm";
  const OpTable &t = table(op);
  if (!beta || !alpha) return fail(kNullptr, op, "beta or alpha is null");
  if (int st = check_all(t, {{"self", self}, {"mat1", mat1}, {"mat2", mat2}, {"out", out}})) return st;
  if (int st = check_scalar(t, "beta", beta)) return st;
  if (int st = check_scalar(t, "alpha", alpha)) return st;
  int compute = promote_matmul(op, mat1->dtype, mat2->dtype);
  if (compute < 0) return 161002;
  std::function<double(double)> lower;
  if (int st = cube_mode(op, compute, cube, false, true, lower)) return st;
  const int64_t m = mat1->dims[0], k = mat1->dims[1], n = mat2->dims[1];
  if (mat2->dims[0] != k) return fail(kInvalid, op, "mat1 and mat2 cannot be multiplied");
  std::vector<int64_t> shape;
  if (!broadcast_shapes(self->dims, {m, n}, shape) || shape != std::vector<int64_t>{m, n})
    return fail(kInvalid, op, "self " + shape_str(self->dims) + " does not broadcast to [m, n]");
  if (out->dims != shape) return fail(kInvalid, op, "out " + shape_str(out->dims) + " is not [m, n]");
  const double b = scalar_value(*beta), a = scalar_value(*alpha);
  return prepare(op, {self, mat1, mat2, out},
                 [=](const std::vector<aclTensor> &v) {
                   std::vector<double> c;
                   batched(read(v[1]), read(v[2]), 1, 1, 1, m, k, n, lower, c);
                   auto s = read(broadcast_to(v[0], shape));
                   for (size_t i = 0; i < c.size(); ++i) c[i] = b * s[i] + a * c[i];
                   write(v[3], c);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnAddmm)

namespace {
int format_for_rank(size_t r) {
  return r == 3 ? int(FAKE_FORMAT_NCL) : r == 4 ? int(ACL_FORMAT_NCHW) : int(FAKE_FORMAT_NCDHW);
}
}  // namespace

// Forward (non-transposed) 1d/2d convolution; spatial dims handled as 2-d with H = 1 for 1d.
EXPORT aclnnStatus aclnnConvolutionGetWorkspaceSize(const aclTensor *input, const aclTensor *weight,
                                                    const aclTensor *bias, const aclIntArray *stride,
                                                    const aclIntArray *padding, const aclIntArray *dilation,
                                                    bool transposed, const aclIntArray *outputPadding,
                                                    const int64_t groups, aclTensor *output, int8_t cube,
                                                    uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnConvolution";
  if (!stride || !padding || !dilation || !outputPadding)
    return fail(kNullptr, op, "stride, padding, dilation or outputPadding is null");
  if (int st = check_all(table(op), {{"input", input}, {"weight", weight}, {"bias", bias}, {"output", output}}))
    return st;
  const size_t r = input->dims.size();
  for (const aclTensor *x : std::initializer_list<const aclTensor *>{input, weight, output})
    if (x->dims.size() != r || x->format != format_for_rank(r))
      return fail(kInvalid, op, std::string("input, weight and output must all be rank ") + std::to_string(r) +
                                    " in format " + format_name(format_for_rank(r)));
  if (transposed) return fail(kNotModelled, op, "transposed convolution is not modelled by this double");
  if (r == 5) return fail(kNotModelled, op, "3-d convolution is not modelled by this double");
  if ((soc_family() & FAM_INFER) && r != 4)
    return fail(kInvalid, op, std::string("only 2-d convolution on ") + FAKE_SOC);
  const int compute = promote(input->dtype, weight->dtype);
  if (compute < 0) return fail(kInvalid, op, "input and weight have no promoted type");
  std::function<double(double)> lower;
  if (int st = cube_mode(op, compute, cube, true, false, lower)) return st;
  const size_t sp = r - 2;
  auto s = stride->values, p = padding->values, d = dilation->values;
  if (s.size() != sp || d.size() != sp) return fail(kInvalid, op, "stride and dilation need input rank - 2 values");
  if (p.size() != sp) return fail(kNotModelled, op, "only symmetric padding (input rank - 2 values) is modelled");
  for (size_t i = 0; i < sp; ++i) {
    if (s[i] <= 0 || d[i] <= 0) return fail(kInvalid, op, "stride and dilation must be > 0");
    if (p[i] < 0 || p[i] > 255) return fail(kInvalid, op, "padding must be in [0, 255]");
  }
  if (groups < 1 || groups > 65535 || input->dims[1] != groups * weight->dims[1] || weight->dims[0] % groups)
    return fail(kInvalid, op, "groups " + std::to_string(groups) + " does not split input " +
                                  shape_str(input->dims) + " and weight " + shape_str(weight->dims));
  if (bias && (bias->dims.size() != 1 || bias->dims[0] != weight->dims[0]))
    return fail(kInvalid, op, "bias must be 1-d of weight's first dimension");
  if (soc_family() & FAM_INFER)
    for (size_t i = 2; i < r; ++i)
      if (input->dims[i] > 4096 || weight->dims[i] > 255)
        return fail(kInvalid, op, "input H, W must be <= 4096 and weight H, W <= 255 on Atlas inference");
  std::vector<int64_t> shape{input->dims[0], weight->dims[0]};
  for (size_t i = 0; i < sp; ++i) {
    const int64_t span = d[i] * (weight->dims[2 + i] - 1) + 1, padded = input->dims[2 + i] + 2 * p[i];
    if (padded < span) return fail(kInvalid, op, "the padded input is smaller than the dilated kernel");
    shape.push_back((padded - span) / s[i] + 1);
  }
  if (output->dims != shape)
    return fail(kInvalid, op, "output " + shape_str(output->dims) + " is not " + shape_str(shape));
  // 1-d as 2-d with a unit H axis.
  const int64_t sh = sp == 2 ? s[0] : 1, sw = s.back(), ph = sp == 2 ? p[0] : 0, pw = p.back(),
                dh = sp == 2 ? d[0] : 1, dw = d.back();
  const bool has_bias = bias != nullptr;
  return prepare(op, {input, weight, bias, output},
                 [=](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]), w = read(v[1]);
                   // Lowered once per element (elementwise), not once per product.
                   for (double &e : x) e = lower(e);
                   for (double &e : w) e = lower(e);
                   std::vector<double> bv = has_bias ? read(v[2]) : std::vector<double>();
                   const aclTensor &O = v.back();
                   auto dims4 = [&](const std::vector<int64_t> &dd) {
                     return dd.size() == 4 ? dd : std::vector<int64_t>{dd[0], dd[1], 1, dd[2]};
                   };
                   const auto X = dims4(v[0].dims), W = dims4(v[1].dims), Y = dims4(O.dims);
                   const int64_t cin_g = W[1], cout_g = W[0] / groups;
                   std::vector<double> y(size_t(O.numel()));
                   for (int64_t nn = 0; nn < Y[0]; ++nn)
                     for (int64_t oc = 0; oc < Y[1]; ++oc) {
                       const int64_t g = oc / cout_g;
                       for (int64_t oh = 0; oh < Y[2]; ++oh)
                         for (int64_t ow = 0; ow < Y[3]; ++ow) {
                           double acc = 0;
                           // Sums over (ic, kh, kw) in that order; out-of-range rows are
                           // skipped before their columns are visited.
                           for (int64_t ic = 0; ic < cin_g; ++ic) {
                             const double *xc = x.data() + ((nn * X[1] + g * cin_g + ic) * X[2]) * X[3];
                             const double *wc = w.data() + ((oc * W[1] + ic) * W[2]) * W[3];
                             for (int64_t kh = 0; kh < W[2]; ++kh) {
                               const int64_t ih = oh * sh - ph + kh * dh;
                               if (ih < 0 || ih >= X[2]) continue;
                               for (int64_t kw = 0; kw < W[3]; ++kw) {
                                 const int64_t iw = ow * sw - pw + kw * dw;
                                 if (iw < 0 || iw >= X[3]) continue;
                                 acc += xc[ih * X[3] + iw] * wc[kh * W[3] + kw];
                               }
                             }
                           }
                           // "正向场景下bias会转成FLOAT参与计算".
                           if (has_bias) acc += double(float(bv[size_t(oc)]));
                           y[size_t(((nn * Y[1] + oc) * Y[2] + oh) * Y[3] + ow)] = acc;
                         }
                     }
                   write(O, y);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnConvolution)
