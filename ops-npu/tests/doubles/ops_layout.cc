// Ops that move elements: cat, constant pad, nearest upsampling, index select/add and
// embedding. Index tensors are INT32 or INT64.
#include <cmath>
#include <limits>

#include "opapi.h"

namespace {
constexpr int kAicoreException = 507015;  // an out-of-range index faults the kernel

// Row-major multi-index of linear position i in dims.
std::vector<int64_t> unravel(int64_t i, const std::vector<int64_t> &dims) {
  std::vector<int64_t> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = dims[d] ? i % dims[d] : 0;
    i = dims[d] ? i / dims[d] : 0;
  }
  return idx;
}
int64_t ravel(const std::vector<int64_t> &idx, const std::vector<int64_t> &dims) {
  int64_t i = 0;
  for (size_t d = 0; d < dims.size(); ++d) i = i * dims[d] + idx[d];
  return i;
}
}  // namespace

EXPORT aclnnStatus aclnnCatGetWorkspaceSize(const aclTensorList *tensors, int64_t dim, aclTensor *out,
                                            uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnCat";
  const OpTable &t = table(op);
  if (!tensors) return fail(kNullptr, op, "tensors is null");
  if (int st = check_all(t, {{"out", out}})) return st;
  if (tensors->tensors.empty()) return fail(kInvalid, op, "tensors is empty");
  int compute = -1;
  for (const aclTensor *x : tensors->tensors) {
    if (int st = check_tensor(t, "tensors", x)) return st;
    compute = compute < 0 ? x->dtype : promote(compute, x->dtype);
    if (compute < 0) return fail(kInvalid, op, "the tensors' dtypes have no promoted type");
  }
  if (!can_convert(compute, out->dtype))
    return fail(kInvalid, op, std::string("the promoted type ") + dtype_name(compute) +
                                  " cannot be written to out " + dtype_name(out->dtype));
  const auto &first = tensors->tensors[0]->dims;
  if (!wrap_dim(dim, int64_t(first.size())))
    return fail(kInvalid, op, "dim " + std::to_string(dim) + " outside the tensors' rank");
  std::vector<int64_t> shape = first;
  shape[size_t(dim)] = 0;
  for (const aclTensor *x : tensors->tensors) {
    if (x->dims.size() != first.size())
      return fail(kInvalid, op, "tensors of different ranks");
    for (size_t d = 0; d < first.size(); ++d)
      if (int64_t(d) != dim && x->dims[d] != first[d])
        return fail(kInvalid, op, "non-concatenated dims differ: " + shape_str(x->dims) + " vs " +
                                      shape_str(first));
    shape[size_t(dim)] += x->dims[size_t(dim)];
  }
  if (out->dims != shape)
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " is not " + shape_str(shape));
  std::vector<const aclTensor *> all(tensors->tensors.begin(), tensors->tensors.end());
  all.push_back(out);
  const size_t d0 = size_t(dim);
  return prepare(op, all,
                 [d0, shape](const std::vector<aclTensor> &v) {
                   std::vector<double> o(size_t(v.back().numel()));
                   int64_t base = 0;
                   for (size_t k = 0; k + 1 < v.size(); ++k) {
                     auto x = read(v[k]);
                     for (size_t i = 0; i < x.size(); ++i) {
                       auto idx = unravel(int64_t(i), v[k].dims);
                       idx[d0] += base;
                       o[size_t(ravel(idx, shape))] = x[i];
                     }
                     base += v[k].dims[d0];
                   }
                   write(v.back(), o);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnCat)

// pad = [last_begin, last_end, second_last_begin, ...] like torch; negative values crop.
EXPORT aclnnStatus aclnnConstantPadNdGetWorkspaceSize(const aclTensor *self, const aclIntArray *pad,
                                                      const aclScalar *value, aclTensor *out,
                                                      uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnConstantPadNd";
  const OpTable &t = table(op);
  if (!pad || !value) return fail(kNullptr, op, "pad or value is null");
  if (int st = check_all(t, {{"self", self}, {"out", out}})) return st;
  if (int st = check_scalar(t, "value", value)) return st;
  if (self->dtype != out->dtype) return fail(kInvalid, op, "self and out must share one dtype");
  if (promote_scalar(self->dtype, value->dtype) < 0)
    return fail(kInvalid, op, "self and value have no promoted type");
  const auto &p = pad->values;
  const size_t r = self->dims.size();
  if (p.size() % 2 != 0 || p.size() > 2 * r)
    return fail(kInvalid, op, "pad must have an even length of at most twice self's rank");
  std::vector<int64_t> begin(r, 0), shape = self->dims;
  bool any_positive = false;
  for (size_t k = 0; k < p.size() / 2; ++k) {
    const size_t d = r - 1 - k;
    begin[d] = p[2 * k];
    shape[d] += p[2 * k] + p[2 * k + 1];
    any_positive |= p[2 * k] > 0 || p[2 * k + 1] > 0;
    if (shape[d] < 0) return fail(kInvalid, op, "pad makes a dimension negative");
  }
  for (auto s : shape)
    if (any_positive && s == 0) return fail(kInvalid, op, "padding an empty dimension");
  if (out->dims != shape)
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " is not " + shape_str(shape));
  const double fillv = scalar_value(*value);
  return prepare(op, {self, out},
                 [begin, shape, fillv](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   std::vector<double> o(size_t(v[1].numel()), fillv);
                   for (size_t i = 0; i < x.size(); ++i) {
                     auto idx = unravel(int64_t(i), v[0].dims);
                     bool in = true;
                     for (size_t d = 0; d < idx.size(); ++d) {
                       idx[d] += begin[d];
                       in &= idx[d] >= 0 && idx[d] < shape[d];
                     }
                     if (in) o[size_t(ravel(idx, shape))] = x[i];
                   }
                   write(v[1], o);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnConstantPadNd)

EXPORT aclnnStatus aclnnUpsampleNearest2dGetWorkspaceSize(const aclTensor *self,
                                                          const aclIntArray *outputSize,
                                                          aclTensor *out, uint64_t *ws,
                                                          aclOpExecutor **ex) {
  const char *op = "aclnnUpsampleNearest2d";
  if (!outputSize) return fail(kNullptr, op, "outputSize is null");
  if (int st = check_all(table(op), {{"self", self}, {"out", out}})) return st;
  if (self->dtype != out->dtype || self->format != out->format)
    return fail(kInvalid, op, "out must have self's dtype and format");
  const auto &os = outputSize->values;
  if (os.size() != 2 || os[0] <= 0 || os[1] <= 0)
    return fail(kInvalid, op, "outputSize must be two non-zero sizes");
  // NCHW: [N, C, H, W]; NHWC: [N, H, W, C].
  const bool nhwc = self->format == ACL_FORMAT_NHWC;
  const size_t hd = nhwc ? 1 : 2, wd = nhwc ? 2 : 3, cd = nhwc ? 3 : 1;
  if (self->numel() == 0) return fail(kInvalid, op, "self is empty (不支持空Tensor)");
  if (out->dims[0] != self->dims[0] || out->dims[cd] != self->dims[cd] || out->dims[hd] != os[0] ||
      out->dims[wd] != os[1])
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " does not match self's N, C and outputSize");
  for (auto d : self->dims)
    if (d > (int64_t(1) << 20)) return fail(kInvalid, op, "a dimension exceeds 2^20");
  return prepare(op, {self, out},
                 [=](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   std::vector<double> o(size_t(v[1].numel()));
                   // h_src = min(floor(h_dst * H / outH), H - 1), the scale in f32 as a kernel.
                   const float sh = float(v[0].dims[hd]) / float(os[0]),
                               sw = float(v[0].dims[wd]) / float(os[1]);
                   for (size_t i = 0; i < o.size(); ++i) {
                     auto idx = unravel(int64_t(i), v[1].dims);
                     idx[hd] = std::min(int64_t(std::floor(float(idx[hd]) * sh)), v[0].dims[hd] - 1);
                     idx[wd] = std::min(int64_t(std::floor(float(idx[wd]) * sw)), v[0].dims[wd] - 1);
                     o[i] = x[size_t(ravel(idx, v[0].dims))];
                   }
                   write(v[1], o);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnUpsampleNearest2d)

EXPORT aclnnStatus aclnnIndexSelectGetWorkspaceSize(const aclTensor *self, int64_t dim,
                                                    const aclTensor *index, aclTensor *out,
                                                    uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnIndexSelect";
  if (int st = check_all(table(op), {{"self", self}, {"index", index}, {"out", out}})) return st;
  if (self->dtype != out->dtype) return fail(kInvalid, op, "out must have self's dtype");
  if (!wrap_dim(dim, int64_t(self->dims.size())))
    return fail(kInvalid, op, "dim " + std::to_string(dim) + " outside self's rank");
  auto shape = self->dims;
  if (shape.empty()) shape = {1};
  shape[size_t(dim)] = index->numel();
  if (out->dims != shape && !(self->dims.empty() && out->numel() == 1))
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " is not " + shape_str(shape));
  const size_t d0 = size_t(dim);
  return prepare(op, {self, index, out},
                 [d0, shape](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   auto idx = read(v[1]);
                   auto in_dims = v[0].dims.empty() ? std::vector<int64_t>{1} : v[0].dims;
                   for (double k : idx)
                     if (k < 0 || k >= double(in_dims[d0])) {
                       fake_set_error("fake aclnn: aclnnIndexSelect: index outside [0, self.shape[dim])");
                       return kAicoreException;
                     }
                   std::vector<double> o(size_t(v[2].numel()));
                   for (size_t i = 0; i < o.size(); ++i) {
                     auto p = unravel(int64_t(i), shape);
                     p[d0] = int64_t(idx[size_t(p[d0])]);
                     o[i] = x[size_t(ravel(p, in_dims))];
                   }
                   write(v[2], o);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnIndexSelect)

// out = self; out[..., index[i], ...] += alpha * source[..., i, ...] along dim.
EXPORT aclnnStatus aclnnIndexAddGetWorkspaceSize(const aclTensor *self, const int64_t dim,
                                                 const aclTensor *index, const aclTensor *source,
                                                 const aclScalar *alpha, aclTensor *out, uint64_t *ws,
                                                 aclOpExecutor **ex) {
  const char *op = "aclnnIndexAdd";
  const OpTable &t = table(op);
  if (!alpha) return fail(kNullptr, op, "alpha is null");
  if (int st = check_all(t, {{"self", self}, {"index", index}, {"source", source}, {"out", out}}))
    return st;
  if (self->dtype != source->dtype || self->dtype != out->dtype)
    return fail(kInvalid, op, "self, source and out must share one dtype");
  int64_t d = dim;
  if (!wrap_dim(d, int64_t(self->dims.size())))
    return fail(kInvalid, op, "dim " + std::to_string(dim) + " outside self's rank");
  if (source->dims.size() != self->dims.size())
    return fail(kInvalid, op, "source and self have different ranks");
  for (size_t k = 0; k < self->dims.size(); ++k)
    if (int64_t(k) != d && source->dims[k] != self->dims[k])
      return fail(kInvalid, op, "source differs from self outside dim");
  if (!self->dims.empty() && index->numel() != source->dims[size_t(d)])
    return fail(kInvalid, op, "index's length is not source.shape[dim]");
  if (out->dims != self->dims) return fail(kInvalid, op, "out's shape is not self's");
  const double a = round_to(self->dtype, scalar_value(*alpha));
  const size_t d0 = size_t(d);
  return prepare(op, {self, index, source, out},
                 [a, d0](const std::vector<aclTensor> &v) {
                   auto o = read(v[0]);
                   auto idx = read(v[1]);
                   auto src = read(v[2]);
                   const auto &dims = v[0].dims;
                   for (double k : idx)
                     if (k < 0 || k >= double(dims[d0])) {
                       fake_set_error("fake aclnn: aclnnIndexAdd: index outside [0, self.shape[dim])");
                       return kAicoreException;
                     }
                   for (size_t i = 0; i < src.size(); ++i) {
                     auto p = unravel(int64_t(i), v[2].dims);
                     p[d0] = int64_t(idx[size_t(p[d0])]);
                     const size_t j = size_t(ravel(p, dims));
                     o[j] = round_to(v[0].dtype, o[j] + round_to(v[0].dtype, a * src[i]));
                   }
                   write(v[3], o);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnIndexAdd)

// out[i..., :] = weight[indices[i...], :]; out's shape is indices' shape plus [dim].
EXPORT aclnnStatus aclnnEmbeddingGetWorkspaceSize(const aclTensor *weight, const aclTensor *indices,
                                                  const aclTensor *out, uint64_t *ws,
                                                  aclOpExecutor **ex) {
  const char *op = "aclnnEmbedding";
  if (int st = check_all(table(op), {{"weight", weight}, {"indices", indices}, {"out", out}})) return st;
  if (weight->dtype != out->dtype) return fail(kInvalid, op, "out must have weight's dtype");
  auto shape = indices->dims;
  shape.push_back(weight->dims[1]);
  if (shape.size() > 8 || out->dims != shape)
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " is not indices' shape + [" +
                                  std::to_string(weight->dims[1]) + "]");
  return prepare(op, {weight, indices, out},
                 [](const std::vector<aclTensor> &v) {
                   auto w = read(v[0]);
                   auto idx = read(v[1]);
                   const int64_t rows = v[0].dims[0], dim = v[0].dims[1];
                   std::vector<double> o(size_t(v[2].numel()));
                   for (size_t i = 0; i < idx.size(); ++i) {
                     if (idx[i] < 0) {
                       fake_set_error("fake aclnn: aclnnEmbedding: negative index (the doc: 算子报错)");
                       return kAicoreException;
                     }
                     // "正向越界时输出随机值": NaN here, so a use shows up.
                     for (int64_t c = 0; c < dim; ++c)
                       o[size_t(int64_t(i) * dim + c)] =
                           idx[i] < double(rows) ? w[size_t(int64_t(idx[i]) * dim + c)]
                                                 : std::numeric_limits<double>::quiet_NaN();
                   }
                   write(v[2], o);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnEmbedding)
