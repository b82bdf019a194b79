#include "constraints.h"

#include <cstdio>
#include <cstdlib>

#include "numeric.h"

namespace {
constexpr int kNullStatus = 161001;     // ACLNN_ERR_PARAM_NULLPTR
constexpr int kInvalidStatus = 161002;  // ACLNN_ERR_PARAM_INVALID
constexpr int kNoKernel = 561003;       // ACLNN_ERR_INNER_FIND_KERNEL_ERROR

int family_index(unsigned f) {
  int i = 0;
  while (f > 1) {
    f >>= 1;
    ++i;
  }
  return i;
}

std::string dtypes_str(DtypeSet s) {
  std::string out;
  for (int d = 0; d < 64; ++d)
    if (s & bit(d)) out += (out.empty() ? "" : ", ") + std::string(dtype_name(d));
  return out.empty() ? "none" : out;
}

std::string formats_str(unsigned f) {
  static const char *names[] = {"ND", "NCHW", "NHWC", "NCL", "NCDHW", "NDHWC", "HWCN"};
  std::string out;
  for (int i = 0; i < 7; ++i)
    if (f & (1u << i)) out += (out.empty() ? "" : ", ") + std::string(names[i]);
  return out;
}
}  // namespace

unsigned format_bit(int format) {
  switch (format) {
    case ACL_FORMAT_ND: return FMT_ND;
    case ACL_FORMAT_NCHW: return FMT_NCHW;
    case ACL_FORMAT_NHWC: return FMT_NHWC;
    case FAKE_FORMAT_NCL: return FMT_NCL;
    case FAKE_FORMAT_NCDHW: return FMT_NCDHW;
    case FAKE_FORMAT_NDHWC: return FMT_NDHWC;
    case FAKE_FORMAT_HWCN: return FMT_HWCN;
    default: return 0;  // private formats (NC1HWC0, FRACTAL_NZ...) no table lists
  }
}

const char *format_name(int format) {
  switch (format) {
    case ACL_FORMAT_ND: return "ND";
    case ACL_FORMAT_NCHW: return "NCHW";
    case ACL_FORMAT_NHWC: return "NHWC";
    case FAKE_FORMAT_NCL: return "NCL";
    case FAKE_FORMAT_NCDHW: return "NCDHW";
    case FAKE_FORMAT_NDHWC: return "NDHWC";
    case FAKE_FORMAT_HWCN: return "HWCN";
    case FAKE_FORMAT_NC1HWC0: return "NC1HWC0";
    case FAKE_FORMAT_FRACTAL_NZ: return "FRACTAL_NZ";
    default: return "an unknown format";
  }
}

Arg &Arg::no(unsigned families, DtypeSet d) {
  for (int i = 0; i < 5; ++i)
    if (families & (1u << i)) removed[i] |= d;
  return *this;
}

Arg &Arg::only(unsigned families, DtypeSet d) { return no(families, dtypes & ~d); }

DtypeSet Arg::allowed() const { return dtypes & ~removed[family_index(soc_family())]; }

const Arg &OpTable::arg(const std::string &name) const {
  for (const auto &a : args)
    if (a.name == name) return a;
  std::fprintf(stderr, "fake aclnn: %s has no row for argument %s\n", op, name.c_str());
  std::abort();
}

int fail(int status, const std::string &op, const std::string &msg) {
  fake_set_error(("fake aclnn: " + op + ": " + msg).c_str());
  return status;
}

int check_product(const OpTable &t) {
  if (t.products & soc_family()) return 0;
  return fail(kNoKernel, t.op,
              std::string("no kernel for ") + FAKE_SOC + ": the doc lists " +
                  family_name(soc_family()) + " as 不支持 (" + t.doc + ")");
}

std::string shape_str(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

int check_tensor(const OpTable &t, const char *name, const aclTensor *x) {
  const Arg &a = t.arg(name);
  if (!x) {
    if (a.optional) return 0;
    return fail(kNullStatus, t.op, std::string(name) + " is null");
  }
  if (!(a.allowed() & bit(x->dtype)))
    return fail(kInvalidStatus, t.op,
                std::string(name) + ": dtype " + dtype_name(x->dtype) + " is not supported on " +
                    FAKE_SOC + " (supported: " + dtypes_str(a.allowed()) + "; " + t.doc + ")");
  if (!(a.formats & format_bit(x->format)))
    return fail(kInvalidStatus, t.op,
                std::string(name) + ": format " + format_name(x->format) +
                    " is not supported (supported: " + formats_str(a.formats) + "; " + t.doc + ")");
  const int r = int(x->dims.size());
  if (r < a.min_rank || r > a.max_rank)
    return fail(kInvalidStatus, t.op,
                std::string(name) + ": rank " + std::to_string(r) + " " + shape_str(x->dims) +
                    " outside " + std::to_string(a.min_rank) + ".." + std::to_string(a.max_rank) +
                    " (" + t.doc + ")");
  if (a.contiguous && !is_contiguous(*x))
    return fail(kInvalidStatus, t.op,
                std::string(name) + ": must be contiguous (the doc marks 非连续Tensor ×; " + t.doc +
                    ")");
  return 0;
}

int check_scalar(const OpTable &t, const char *name, const aclScalar *s) {
  const Arg &a = t.arg(name);
  if (!s) {
    if (a.optional) return 0;
    return fail(kNullStatus, t.op, std::string(name) + " is null");
  }
  if (!(a.allowed() & bit(s->dtype)))
    return fail(kInvalidStatus, t.op,
                std::string(name) + ": scalar dtype " + dtype_name(s->dtype) +
                    " is not supported on " + FAKE_SOC + " (" + t.doc + ")");
  return 0;
}

int check_all(const OpTable &t,
              std::initializer_list<std::pair<const char *, const aclTensor *>> xs) {
  // Null pointers first: aclnn reports 161001 before looking at anything else.
  for (auto &[name, x] : xs)
    if (!x && !t.arg(name).optional) return fail(kNullStatus, t.op, std::string(name) + " is null");
  if (int st = check_product(t)) return st;
  for (auto &[name, x] : xs)
    if (int st = check_tensor(t, name, x)) return st;
  return 0;
}
