// Element-wise ops: arithmetic with type promotion and broadcasting, unary activations,
// clamp, cast, copy, zero and fill. Maths from each doc's 计算公式, computed in double and
// rounded to the computation dtype the doc's promotion rules give, then to out's dtype.
#include <cmath>

#include "opapi.h"

namespace {

double gelu_erf(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
// aclnnGelu's formula is the tanh form: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
double gelu_tanh(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

bool complex_or_unknown(int d) { return d == FAKE_COMPLEX64 || d == FAKE_COMPLEX128; }

int not_modelled(const char *op, int dtype) {
  return fail(kNotModelled, op,
              std::string(dtype_name(dtype)) + " is documented but this double does not model it");
}

// self (op) other [* alpha] with broadcasting: Add, Sub, Mul, Div.
enum class Bin { Add, Sub, Mul, Div };

aclnnStatus binary(const char *op, Bin kind, const aclTensor *self, const aclTensor *other,
                   const aclScalar *alpha, bool has_alpha, aclTensor *out, uint64_t *ws,
                   aclOpExecutor **ex) {
  const OpTable &t = table(op);
  if (has_alpha && !alpha) return fail(kNullptr, op, "alpha is null");
  if (int st = check_all(t, {{"self", self}, {"other", other}, {"out", out}})) return st;
  if (has_alpha)
    if (int st = check_scalar(t, "alpha", alpha)) return st;
  for (int d : {self->dtype, other->dtype, out->dtype})
    if (complex_or_unknown(d)) return not_modelled(op, d);
  int compute = promote(self->dtype, other->dtype);
  if (compute < 0)
    return fail(kInvalid, op,
                std::string("self ") + dtype_name(self->dtype) + " and other " +
                    dtype_name(other->dtype) + " have no promoted type (" + t.doc + ")");
  std::vector<int64_t> shape;
  if (!broadcast_shapes(self->dims, other->dims, shape))
    return fail(kInvalid, op,
                "self " + shape_str(self->dims) + " and other " + shape_str(other->dims) +
                    " do not broadcast (" + t.doc + ")");
  if (out->dims != shape)
    return fail(kInvalid, op,
                "out " + shape_str(out->dims) + " is not the broadcast shape " + shape_str(shape));
  // Division of integers is true division (the quotient is floating).
  if (kind == Bin::Div && !is_floating(compute)) compute = ACL_FLOAT;
  if (!can_convert(compute, out->dtype))
    return fail(kInvalid, op,
                std::string("the result type ") + dtype_name(compute) + " cannot be written to out " +
                    dtype_name(out->dtype));
  if (has_alpha && !can_convert(alpha->dtype, compute))
    return fail(kInvalid, op, std::string("alpha ") + dtype_name(alpha->dtype) +
                                  " cannot convert to " + dtype_name(compute));
  const double a = has_alpha ? round_to(compute, scalar_value(*alpha)) : 1.0;
  return prepare(op, {self, other, out},
                 [kind, compute, a, shape](const std::vector<aclTensor> &v) {
                   auto x = read(broadcast_to(v[0], shape)), y = read(broadcast_to(v[1], shape));
                   std::vector<double> r(x.size());
                   for (size_t i = 0; i < r.size(); ++i) {
                     const double xi = round_to(compute, x[i]), yi = round_to(compute, y[i]);
                     // alpha * other is its own rounding step (a multiply before the add).
                     const double ay = a == 1.0 ? yi : round_to(compute, a * yi);
                     switch (kind) {
                       case Bin::Add: r[i] = round_to(compute, xi + ay); break;
                       case Bin::Sub: r[i] = round_to(compute, xi - ay); break;
                       case Bin::Mul: r[i] = round_to(compute, xi * yi); break;
                       case Bin::Div: r[i] = round_to(compute, xi / yi); break;
                     }
                   }
                   write(v[2], r);
                   return 0;
                 },
                 ws, ex);
}

// self (op) scalar [* alpha]: Adds, Subs, Muls, Divs (TensorScalar promotion, table 2).
aclnnStatus binary_scalar(const char *op, Bin kind, const aclTensor *self, const aclScalar *other,
                          const aclScalar *alpha, bool has_alpha, aclTensor *out, uint64_t *ws,
                          aclOpExecutor **ex) {
  const OpTable &t = table(op);
  if (!other || (has_alpha && !alpha)) return fail(kNullptr, op, "other or alpha is null");
  if (int st = check_all(t, {{"self", self}, {"out", out}})) return st;
  if (int st = check_scalar(t, "other", other)) return st;
  if (has_alpha)
    if (int st = check_scalar(t, "alpha", alpha)) return st;
  for (int d : {self->dtype, other->dtype, out->dtype})
    if (complex_or_unknown(d)) return not_modelled(op, d);
  int compute = promote_scalar(self->dtype, other->dtype);
  if (compute < 0) return fail(kInvalid, op, "self and other have no promoted type");
  if (out->dims != self->dims)
    return fail(kInvalid, op, "out " + shape_str(out->dims) + " differs from self " + shape_str(self->dims));
  if (kind == Bin::Div && !is_floating(compute)) compute = ACL_FLOAT;
  if (!can_convert(compute, out->dtype))
    return fail(kInvalid, op, std::string("the result type ") + dtype_name(compute) +
                                  " cannot be written to out " + dtype_name(out->dtype));
  const double s = round_to(compute, scalar_value(*other));
  const double a = has_alpha ? round_to(compute, scalar_value(*alpha)) : 1.0;
  return prepare(op, {self, out},
                 [kind, compute, s, a](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   const double as = a == 1.0 ? s : round_to(compute, a * s);
                   for (auto &xi : x) {
                     const double q = round_to(compute, xi);
                     switch (kind) {
                       case Bin::Add: xi = round_to(compute, q + as); break;
                       case Bin::Sub: xi = round_to(compute, q - as); break;
                       case Bin::Mul: xi = round_to(compute, q * s); break;
                       case Bin::Div: xi = round_to(compute, q / s); break;
                     }
                   }
                   write(v[1], x);
                   return 0;
                 },
                 ws, ex);
}

// f(self) -> out of self's shape. `same_dtype`: the doc requires out's dtype to be self's.
aclnnStatus unary(const char *op, const char *in_name, const char *out_name, const aclTensor *self,
                  const aclTensor *out, bool same_dtype, std::function<double(double)> f,
                  uint64_t *ws, aclOpExecutor **ex) {
  const OpTable &t = table(op);
  if (int st = check_all(t, {{in_name, self}, {out_name, out}})) return st;
  for (int d : {self->dtype, out->dtype})
    if (complex_or_unknown(d)) return not_modelled(op, d);
  if (self->dims != out->dims)
    return fail(kInvalid, op, std::string(out_name) + " " + shape_str(out->dims) + " differs from " +
                                  in_name + " " + shape_str(self->dims));
  if (same_dtype && self->dtype != out->dtype)
    return fail(kInvalid, op, std::string(in_name) + " and " + out_name + " must share one dtype (" +
                                  t.doc + ")");
  if (!can_convert(self->dtype, out->dtype))
    return fail(kInvalid, op, std::string(in_name) + " " + dtype_name(self->dtype) +
                                  " cannot convert to " + dtype_name(out->dtype));
  return prepare(op, {self, out},
                 [f](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   for (auto &e : x) e = f(e);
                   write(v[1], x);
                   return 0;
                 },
                 ws, ex);
}

}  // namespace

EXPORT aclnnStatus aclnnAddGetWorkspaceSize(const aclTensor *self, const aclTensor *other,
                                            const aclScalar *alpha, aclTensor *out, uint64_t *ws,
                                            aclOpExecutor **ex) {
  return binary("aclnnAdd", Bin::Add, self, other, alpha, true, out, ws, ex);
}
FAKE_LAUNCH(aclnnAdd)
EXPORT aclnnStatus aclnnSubGetWorkspaceSize(const aclTensor *self, const aclTensor *other,
                                            const aclScalar *alpha, aclTensor *out, uint64_t *ws,
                                            aclOpExecutor **ex) {
  return binary("aclnnSub", Bin::Sub, self, other, alpha, true, out, ws, ex);
}
FAKE_LAUNCH(aclnnSub)
EXPORT aclnnStatus aclnnMulGetWorkspaceSize(const aclTensor *self, const aclTensor *other,
                                            aclTensor *out, uint64_t *ws, aclOpExecutor **ex) {
  return binary("aclnnMul", Bin::Mul, self, other, nullptr, false, out, ws, ex);
}
FAKE_LAUNCH(aclnnMul)
EXPORT aclnnStatus aclnnDivGetWorkspaceSize(const aclTensor *self, const aclTensor *other,
                                            aclTensor *out, uint64_t *ws, aclOpExecutor **ex) {
  return binary("aclnnDiv", Bin::Div, self, other, nullptr, false, out, ws, ex);
}
FAKE_LAUNCH(aclnnDiv)
EXPORT aclnnStatus aclnnAddsGetWorkspaceSize(const aclTensor *self, const aclScalar *other,
                                             const aclScalar *alpha, aclTensor *out, uint64_t *ws,
                                             aclOpExecutor **ex) {
  return binary_scalar("aclnnAdds", Bin::Add, self, other, alpha, true, out, ws, ex);
}
FAKE_LAUNCH(aclnnAdds)
EXPORT aclnnStatus aclnnSubsGetWorkspaceSize(const aclTensor *self, const aclScalar *other,
                                             const aclScalar *alpha, aclTensor *out, uint64_t *ws,
                                             aclOpExecutor **ex) {
  return binary_scalar("aclnnSubs", Bin::Sub, self, other, alpha, true, out, ws, ex);
}
FAKE_LAUNCH(aclnnSubs)
EXPORT aclnnStatus aclnnMulsGetWorkspaceSize(const aclTensor *self, const aclScalar *other,
                                             aclTensor *out, uint64_t *ws, aclOpExecutor **ex) {
  return binary_scalar("aclnnMuls", Bin::Mul, self, other, nullptr, false, out, ws, ex);
}
FAKE_LAUNCH(aclnnMuls)
EXPORT aclnnStatus aclnnDivsGetWorkspaceSize(const aclTensor *self, const aclScalar *other,
                                             aclTensor *out, uint64_t *ws, aclOpExecutor **ex) {
  return binary_scalar("aclnnDivs", Bin::Div, self, other, nullptr, false, out, ws, ex);
}
FAKE_LAUNCH(aclnnDivs)

EXPORT aclnnStatus aclnnNegGetWorkspaceSize(const aclTensor *self, aclTensor *out, uint64_t *ws,
                                            aclOpExecutor **ex) {
  return unary("aclnnNeg", "self", "out", self, out, false, [](double x) { return -x; }, ws, ex);
}
FAKE_LAUNCH(aclnnNeg)
EXPORT aclnnStatus aclnnExpGetWorkspaceSize(const aclTensor *self, aclTensor *out, uint64_t *ws,
                                            aclOpExecutor **ex) {
  // "当self为BOOL或INT64时，out需要是浮点类型" (out's dtype list already has no integers).
  return unary("aclnnExp", "self", "out", self, out, false, [](double x) { return std::exp(x); }, ws, ex);
}
FAKE_LAUNCH(aclnnExp)
EXPORT aclnnStatus aclnnSigmoidGetWorkspaceSize(const aclTensor *self, aclTensor *out, uint64_t *ws,
                                                aclOpExecutor **ex) {
  return unary("aclnnSigmoid", "self", "out", self, out, false,
               [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, ws, ex);
}
FAKE_LAUNCH(aclnnSigmoid)
EXPORT aclnnStatus aclnnReluGetWorkspaceSize(const aclTensor *self, const aclTensor *out, uint64_t *ws,
                                             aclOpExecutor **ex) {
  // "self和out的数据类型不相同" is an error.
  return unary("aclnnRelu", "self", "out", self, out, true, [](double x) { return x > 0 ? x : 0.0; },
               ws, ex);
}
FAKE_LAUNCH(aclnnRelu)
EXPORT aclnnStatus aclnnGeluGetWorkspaceSize(const aclTensor *self, aclTensor *out, uint64_t *ws,
                                             aclOpExecutor **ex) {
  return unary("aclnnGelu", "self", "out", self, out, true, gelu_tanh, ws, ex);
}
FAKE_LAUNCH(aclnnGelu)
EXPORT aclnnStatus aclnnGeluV2GetWorkspaceSize(const aclTensor *x, int64_t approximate, aclTensor *y,
                                               uint64_t *ws, aclOpExecutor **ex) {
  // approximate: 0 none (erf), 1 tanh; anything else is refused.
  if (approximate != 0 && approximate != 1)
    return fail(kInvalid, "aclnnGeluV2", "approximate must be 0 (none) or 1 (tanh), got " +
                                             std::to_string(approximate));
  return unary("aclnnGeluV2", "x", "y", x, y, true, approximate ? gelu_tanh : gelu_erf, ws, ex);
}
FAKE_LAUNCH(aclnnGeluV2)
EXPORT aclnnStatus aclnnSiluGetWorkspaceSize(const aclTensor *self, aclTensor *out, uint64_t *ws,
                                             aclOpExecutor **ex) {
  return unary("aclnnSilu", "self", "out", self, out, true,
               [](double x) { return x / (1.0 + std::exp(-x)); }, ws, ex);
}
FAKE_LAUNCH(aclnnSilu)

EXPORT aclnnStatus aclnnClampGetWorkspaceSize(const aclTensor *self, const aclScalar *lo,
                                              const aclScalar *hi, aclTensor *out, uint64_t *ws,
                                              aclOpExecutor **ex) {
  const char *op = "aclnnClamp";
  const OpTable &t = table(op);
  // "max、min全为空指针" is 161001; either alone may be null.
  if (!lo && !hi) return fail(kNullptr, op, "clipValueMin and clipValueMax are both null");
  if (int st = check_all(t, {{"self", self}, {"out", out}})) return st;
  if (int st = check_scalar(t, "clipValueMin", lo)) return st;
  if (int st = check_scalar(t, "clipValueMax", hi)) return st;
  if (self->dims != out->dims) return fail(kInvalid, op, "out's shape differs from self's");
  const int d = self->dtype;
  const bool has_lo = lo != nullptr, has_hi = hi != nullptr;
  const double l = has_lo ? round_to(d, scalar_value(*lo)) : 0, h = has_hi ? round_to(d, scalar_value(*hi)) : 0;
  return prepare(op, {self, out},
                 [=](const std::vector<aclTensor> &v) {
                   auto x = read(v[0]);
                   // y = max(min(x, max), min): with min > max every element becomes min.
                   for (auto &e : x) {
                     if (has_hi) e = std::min(e, h);
                     if (has_lo) e = std::max(e, l);
                   }
                   write(v[1], x);
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnClamp)

EXPORT aclnnStatus aclnnCastGetWorkspaceSize(const aclTensor *self, const aclDataType dtype,
                                             aclTensor *out, uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnCast";
  if (int st = check_all(table(op), {{"self", self}, {"out", out}})) return st;
  for (int d : {self->dtype, out->dtype})
    if (complex_or_unknown(d)) return not_modelled(op, d);
  if (self->dims != out->dims) return fail(kInvalid, op, "out's shape differs from self's");
  if (int(dtype) != out->dtype)
    return fail(kInvalid, op, std::string("dtype ") + dtype_name(dtype) + " is not out's dtype " +
                                  dtype_name(out->dtype));
  if (self->format != out->format) return fail(kInvalid, op, "self and out have different formats");
  // "针对输入数据类型为BOOL...的场景：不支持输入为非连续".
  if (self->dtype == ACL_BOOL && !is_contiguous(*self))
    return fail(kInvalid, op, "a BOOL self must be contiguous");
  return prepare(op, {self, out},
                 [](const std::vector<aclTensor> &v) {
                   write(v[1], read(v[0]));  // store() rounds: nearest-even, truncation, NaN->0
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnCast)

EXPORT aclnnStatus aclnnInplaceCopyGetWorkspaceSize(aclTensor *self, const aclTensor *src, uint64_t *ws,
                                                    aclOpExecutor **ex) {
  const char *op = "aclnnInplaceCopy";
  if (int st = check_all(table(op), {{"selfRef", self}, {"src", src}})) return st;
  for (int d : {self->dtype, src->dtype})
    if (complex_or_unknown(d)) return not_modelled(op, d);
  std::vector<int64_t> shape;
  // src must broadcast to selfRef (not the other way round).
  if (!broadcast_shapes(self->dims, src->dims, shape) || shape != self->dims)
    return fail(kInvalid, op, "src " + shape_str(src->dims) + " does not broadcast to selfRef " +
                                  shape_str(self->dims));
  if (!can_convert(src->dtype, self->dtype))
    return fail(kInvalid, op, std::string("src ") + dtype_name(src->dtype) + " cannot convert to " +
                                  dtype_name(self->dtype));
  return prepare(op, {self, src},
                 [shape](const std::vector<aclTensor> &v) {
                   write(v[0], read(broadcast_to(v[1], shape)));
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnInplaceCopy)

EXPORT aclnnStatus aclnnInplaceZeroGetWorkspaceSize(aclTensor *self, uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnInplaceZero";
  if (int st = check_all(table(op), {{"selfRef", self}})) return st;
  if (complex_or_unknown(self->dtype)) return not_modelled(op, self->dtype);
  return prepare(op, {self},
                 [](const std::vector<aclTensor> &v) {
                   write(v[0], std::vector<double>(size_t(v[0].numel()), 0.0));
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnInplaceZero)

EXPORT aclnnStatus aclnnInplaceFillScalarGetWorkspaceSize(aclTensor *self, const aclScalar *value,
                                                          uint64_t *ws, aclOpExecutor **ex) {
  const char *op = "aclnnInplaceFillScalar";
  const OpTable &t = table(op);
  if (!value) return fail(kNullptr, op, "value is null");
  if (int st = check_all(t, {{"selfRef", self}})) return st;
  if (int st = check_scalar(t, "value", value)) return st;
  if (complex_or_unknown(self->dtype)) return not_modelled(op, self->dtype);
  if (!can_convert(value->dtype, self->dtype))
    return fail(kInvalid, op, std::string("value ") + dtype_name(value->dtype) + " cannot convert to " +
                                  dtype_name(self->dtype));
  const double v0 = scalar_value(*value);
  return prepare(op, {self},
                 [v0](const std::vector<aclTensor> &v) {
                   write(v[0], std::vector<double>(size_t(v[0].numel()), v0));
                   return 0;
                 },
                 ws, ex);
}
FAKE_LAUNCH(aclnnInplaceFillScalar)
