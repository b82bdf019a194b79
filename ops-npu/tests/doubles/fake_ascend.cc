// A test double of the Ascend runtime: libascendcl.so (FAKE_PART_ACL), libnnopbase.so
// (FAKE_PART_NNOPBASE) and libopapi.so (FAKE_PART_OPAPI) from one source. "Device" memory
// is host memory; ops validate their descriptors like aclnn, compute with ops-npu's scalar
// reference kernels, and run only when the stream is synchronised, so a caller that
// forgets to sync reads stale data. Variants are -D macros:
//   FAKE_SOC="Ascend310P3"      what aclrtGetSocName answers (default Ascend910B3)
//   FAKE_WORKSPACE=65536         bytes every op asks for
//   FAKE_FAIL_OP="aclnnRmsNorm"  that op's GetWorkspaceSize fails with 561003
//   FAKE_OMIT_<symbol>           leave a function out of the library
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "acl_api.h"
#include "cpu_kernels.h"

#ifndef FAKE_SOC
#define FAKE_SOC "Ascend910B3"
#endif
#ifndef FAKE_WORKSPACE
#define FAKE_WORKSPACE 65536
#endif
#ifndef FAKE_FAIL_OP
#define FAKE_FAIL_OP ""
#endif

#define EXPORT extern "C" __attribute__((visibility("default")))

struct aclTensor {
  std::vector<int64_t> dims, strides;
  int dtype;
  int64_t offset;
  void *data;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
};
struct aclIntArray {
  std::vector<int64_t> values;
};
struct aclTensorList {
  std::vector<aclTensor *> tensors;
};
struct aclOpExecutor {
  std::string name;
  uint64_t workspace;
  std::function<int()> run;
};
struct FakeStream {
  std::vector<std::pair<std::string, std::function<int()>>> pending;
};

// Defined in the ACL part, used by the others (resolved through RTLD_GLOBAL).
EXPORT void fake_set_error(const char *msg);

#ifdef FAKE_PART_ACL
static std::string g_error;
static std::map<uintptr_t, size_t> g_allocs;
static bool g_init = false;

EXPORT void fake_set_error(const char *msg) { g_error = msg; }
EXPORT int64_t fake_live_allocations() { return int64_t(g_allocs.size()); }

static bool inside(const void *p, size_t n) {
  auto a = reinterpret_cast<uintptr_t>(p);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return false;
  --it;
  return a >= it->first && a + n <= it->first + it->second;
}

EXPORT aclError aclInit(const char *) {
  if (g_init) return 100002;
  g_init = true;
  return 0;
}
EXPORT aclError aclFinalize() { return 0; }
EXPORT aclError aclrtSetDevice(int32_t id) {
  if (id != 0) {
    g_error = "fake: only device 0 exists";
    return 107001;
  }
  return 0;
}
EXPORT const char *aclrtGetSocName() { return FAKE_SOC; }
EXPORT aclError aclrtMalloc(void **p, size_t size, aclrtMemMallocPolicy) {
  if (!g_init) {
    g_error = "fake: aclrtMalloc before aclInit";
    return 100000;
  }
  *p = std::calloc(size, 1);
  g_allocs[reinterpret_cast<uintptr_t>(*p)] = size;
  return 0;
}
EXPORT aclError aclrtFree(void *p) {
  auto it = g_allocs.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_allocs.end()) {
    g_error = "fake: aclrtFree of a pointer aclrtMalloc did not return";
    return 107000;
  }
  // Poison (NaN) before freeing: a pending launch that still reads it shows up.
  std::memset(p, 0xFF, it->second);
  g_allocs.erase(it);
  std::free(p);
  return 0;
}
EXPORT aclError aclrtMemcpy(void *dst, size_t max, const void *src, size_t n, aclrtMemcpyKind kind) {
  const bool ok = n <= max && (kind == ACL_MEMCPY_HOST_TO_DEVICE   ? inside(dst, n)
                               : kind == ACL_MEMCPY_DEVICE_TO_HOST ? inside(src, n)
                                                                   : false);
  if (!ok) {
    g_error = "fake: aclrtMemcpy outside a device allocation or with the wrong kind";
    return 107000;
  }
  std::memcpy(dst, src, n);
  return 0;
}
EXPORT aclError aclrtCreateStream(aclrtStream *s) {
  *s = new FakeStream();
  return 0;
}
EXPORT aclError aclrtSynchronizeStream(aclrtStream s) {
  auto *fs = static_cast<FakeStream *>(s);
  int status = 0;
  for (auto &[name, run] : fs->pending) {
    const int st = run();
    if (st != 0 && status == 0) status = st;
  }
  fs->pending.clear();
  return status;
}
EXPORT aclError aclrtDestroyStream(aclrtStream s) {
  delete static_cast<FakeStream *>(s);
  return 0;
}
EXPORT const char *aclGetRecentErrMsg() { return g_error.c_str(); }
#endif

#ifdef FAKE_PART_NNOPBASE
static int64_t g_live = 0;
EXPORT int64_t fake_live_descriptors() { return g_live; }

EXPORT aclTensor *aclCreateTensor(const int64_t *dims, uint64_t n, aclDataType dtype,
                                  const int64_t *strides, int64_t offset, aclFormat,
                                  const int64_t *, uint64_t, void *data) {
  ++g_live;
  return new aclTensor{{dims, dims + n}, {strides, strides + n}, int(dtype), offset, data};
}
EXPORT aclnnStatus aclDestroyTensor(const aclTensor *t) {
  --g_live;
  delete t;
  return 0;
}
EXPORT aclIntArray *aclCreateIntArray(const int64_t *v, uint64_t n) {
  ++g_live;
  return new aclIntArray{{v, v + n}};
}
EXPORT aclnnStatus aclDestroyIntArray(const aclIntArray *a) {
  --g_live;
  delete a;
  return 0;
}
EXPORT aclTensorList *aclCreateTensorList(const aclTensor *const *v, uint64_t n) {
  ++g_live;
  auto *l = new aclTensorList();
  for (uint64_t i = 0; i < n; ++i) l->tensors.push_back(const_cast<aclTensor *>(v[i]));
  return l;
}
EXPORT aclnnStatus aclDestroyTensorList(const aclTensorList *l) {
  for (auto *t : l->tensors) aclDestroyTensor(t);
  --g_live;
  delete l;
  return 0;
}
#endif

#ifdef FAKE_PART_OPAPI
static int64_t g_launches = 0;
EXPORT int64_t fake_launches() { return g_launches; }

namespace {

int fail(int status, const std::string &msg) {
  fake_set_error(("fake aclnn: " + msg).c_str());
  return status;
}

// Element storage: float32, float16 (IEEE binary16) or bfloat16, as aclDataType says.
// The double widens to f32 for the reference kernels and rounds results back to the
// tensor's own dtype (nearest, ties to even), like a kernel that accumulates in f32.
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const int exp = (h >> 10) & 0x1F;
  const uint32_t man = h & 0x3FF;
  float mag;
  if (exp == 0)
    mag = std::ldexp(float(man), -24);  // zero or subnormal
  else if (exp == 31)
    mag = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    mag = std::ldexp(float(man | 0x400), exp - 25);
  uint32_t bits;
  std::memcpy(&bits, &mag, 4);
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

uint16_t float_to_half(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  const float a = std::fabs(f);
  if (std::isnan(f)) return uint16_t(sign | 0x7E00);
  if (a >= 65520.0f) return uint16_t(sign | 0x7C00);  // rounds to infinity
  if (a < std::ldexp(1.0f, -14)) {
    // Subnormal: multiples of 2^-24, rounded to nearest even by nearbyint.
    return uint16_t(sign | uint16_t(std::nearbyint(a * std::ldexp(1.0f, 24))));
  }
  int e;
  const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  uint32_t q = uint32_t(std::nearbyint(std::ldexp(m, 11)));  // 11 significant bits
  if (q == 2048) {
    q = 1024;
    ++e;
  }
  return uint16_t(sign | uint16_t((e + 14) << 10) | uint16_t(q & 0x3FF));
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::isnan(f)) return uint16_t((bits >> 16) | 0x40);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return uint16_t(bits >> 16);
}

bool is_float_type(int dtype) { return dtype == ACL_FLOAT || dtype == ACL_FLOAT16 || dtype == ACL_BF16; }

float load_elem(const aclTensor &t, int64_t i) {
  switch (t.dtype) {
    case ACL_FLOAT16: return half_to_float(static_cast<const uint16_t *>(t.data)[t.offset + i]);
    case ACL_BF16: return bf16_to_float(static_cast<const uint16_t *>(t.data)[t.offset + i]);
    default: return static_cast<const float *>(t.data)[t.offset + i];
  }
}

void store_elem(const aclTensor &t, int64_t i, float v) {
  switch (t.dtype) {
    case ACL_FLOAT16: static_cast<uint16_t *>(t.data)[t.offset + i] = float_to_half(v); break;
    case ACL_BF16: static_cast<uint16_t *>(t.data)[t.offset + i] = float_to_bf16(v); break;
    default: static_cast<float *>(t.data)[t.offset + i] = v;
  }
}

// Calls f(linear index, element offset) over a tensor's elements in row-major order.
template <class F>
void for_each_element(const aclTensor &t, F &&f) {
  std::vector<int64_t> idx(t.dims.size(), 0);
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides[d];
    f(i, off);
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.dims[d]) break;
      idx[d] = 0;
    }
  }
}

// A contiguous f32 copy of a tensor (strided read, widened from its dtype).
std::vector<float> gather(const aclTensor &t) {
  std::vector<float> out(size_t(t.numel()));
  for_each_element(t, [&](int64_t i, int64_t off) { out[size_t(i)] = load_elem(t, off); });
  return out;
}

// Writes contiguous f32 values into a tensor (strided, rounded to its dtype).
void scatter(const aclTensor &t, const std::vector<float> &v) {
  for_each_element(t, [&](int64_t i, int64_t off) { store_elem(t, off, v[size_t(i)]); });
}

bool soc_is(const char *prefix) { return std::strncmp(FAKE_SOC, prefix, std::strlen(prefix)) == 0; }

// Checks shared by every op: non-null required tensors of one floating dtype, and no
// bfloat16 on the 310P (Atlas inference products have no bf16 kernels).
int require(const char *op, std::initializer_list<const aclTensor *> ts) {
  int dtype = -1;
  for (auto *t : ts) {
    if (!t) return fail(161001, std::string(op) + ": a required tensor is null");
    if (!is_float_type(t->dtype))
      return fail(161002, std::string(op) + ": dtype must be FLOAT, FLOAT16 or BFLOAT16");
    if (dtype != -1 && t->dtype != dtype)
      return fail(161002, std::string(op) + ": inputs and outputs must share one dtype");
    dtype = t->dtype;
  }
  if (dtype == ACL_BF16 && soc_is("Ascend310P"))
    return fail(161002, std::string(op) + ": BFLOAT16 is not supported on " FAKE_SOC);
  return 0;
}

aclnnStatus prepare(const char *op, std::function<int()> run, uint64_t *ws, aclOpExecutor **ex) {
  if (!ws || !ex) return fail(161001, std::string(op) + ": null workspaceSize or executor");
  if (std::strcmp(op, FAKE_FAIL_OP) == 0)
    return fail(561003, std::string(op) + ": kernel binary not found for " FAKE_SOC);
  *ws = FAKE_WORKSPACE;
  *ex = new aclOpExecutor{op, FAKE_WORKSPACE, std::move(run)};
  return 0;
}

aclnnStatus launch(void *workspace, uint64_t size, aclOpExecutor *ex, aclrtStream stream) {
  if (!ex || !stream) return fail(161001, "launch: null executor or stream");
  const std::string name = ex->name;
  if (ex->workspace > 0 && (!workspace || size < ex->workspace)) {
    delete ex;
    return fail(161002, name + ": workspace smaller than GetWorkspaceSize asked for");
  }
  ++g_launches;
  static_cast<FakeStream *>(stream)->pending.emplace_back(name, std::move(ex->run));
  delete ex;
  return 0;
}

}  // namespace

#define FAKE_LAUNCH(op)                                                                    \
  EXPORT aclnnStatus op(void *w, uint64_t n, aclOpExecutor *e, aclrtStream s) {            \
    return launch(w, n, e, s);                                                             \
  }

#ifndef FAKE_OMIT_aclnnRmsNorm
EXPORT aclnnStatus aclnnRmsNormGetWorkspaceSize(const aclTensor *x, const aclTensor *gamma,
                                                double eps, const aclTensor *y,
                                                const aclTensor *rstd, uint64_t *ws,
                                                aclOpExecutor **ex) {
  if (int st = require("aclnnRmsNorm", {x, gamma, y})) return st;
  if (!rstd || rstd->dtype != ACL_FLOAT)
    return fail(161002, "aclnnRmsNorm: rstdOut must be a FLOAT tensor");
  aclTensor X = *x, G = *gamma, Y = *y, R = *rstd;
  return prepare("aclnnRmsNorm", [=] {
    const size_t dim = size_t(G.numel()), rows = size_t(X.numel()) / dim;
    auto xs = gather(X), g = gather(G);
    std::vector<float> out(xs.size()), r(rows);
    ops_npu::rms_norm_ref(xs.data(), g.data(), rows, dim, float(eps), out.data());
    for (size_t i = 0; i < rows; ++i) {
      double ss = 0;
      for (size_t c = 0; c < dim; ++c) ss += double(xs[i * dim + c]) * xs[i * dim + c];
      r[i] = float(1.0 / std::sqrt(ss / dim + eps));
    }
    scatter(Y, out);
    scatter(R, r);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnRmsNorm)
#endif

EXPORT aclnnStatus aclnnLayerNormGetWorkspaceSize(const aclTensor *x, const aclIntArray *shape,
                                                  const aclTensor *w, const aclTensor *b, double eps,
                                                  aclTensor *out, aclTensor *, aclTensor *,
                                                  uint64_t *ws, aclOpExecutor **ex) {
  if (int st = require("aclnnLayerNorm", {x, out})) return st;
  if (!shape || shape->values.size() != 1 || shape->values[0] != x->dims.back())
    return fail(161002, "aclnnLayerNorm: normalizedShape must be the last dimension");
  aclTensor X = *x, O = *out;
  const bool hw = w != nullptr, hb = b != nullptr;
  aclTensor W = hw ? *w : aclTensor{}, B = hb ? *b : aclTensor{};
  return prepare("aclnnLayerNorm", [=] {
    const size_t dim = size_t(X.dims.back()), rows = size_t(X.numel()) / dim;
    auto xs = gather(X);
    std::vector<float> wv = hw ? gather(W) : std::vector<float>(), bv = hb ? gather(B) : std::vector<float>();
    std::vector<float> o(xs.size());
    ops_npu::layer_norm_ref(xs.data(), hw ? wv.data() : nullptr, hb ? bv.data() : nullptr, rows, dim,
                            float(eps), o.data());
    scatter(O, o);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnLayerNorm)

EXPORT aclnnStatus aclnnAdaLayerNormGetWorkspaceSize(const aclTensor *x, const aclTensor *scale,
                                                     const aclTensor *shift, const aclTensor *,
                                                     const aclTensor *, double eps, aclTensor *out,
                                                     uint64_t *ws, aclOpExecutor **ex) {
  if (int st = require("aclnnAdaLayerNorm", {x, scale, shift, out})) return st;
  if (soc_is("Ascend310P")) return fail(561003, "aclnnAdaLayerNorm: not available on " FAKE_SOC);
  aclTensor X = *x, S = *scale, H = *shift, O = *out;
  return prepare("aclnnAdaLayerNorm", [=] {
    const size_t b = size_t(X.dims[0]), s = size_t(X.dims[1]), d = size_t(X.dims[2]);
    auto xs = gather(X), sc = gather(S), sh = gather(H);
    std::vector<float> o(xs.size());
    ops_npu::ada_layer_norm_ref(xs.data(), sc.data(), sh.data(), b, s, d, 1, float(eps), o.data());
    scatter(O, o);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnAdaLayerNorm)

namespace {

// GroupNorm (optionally with SiLU) over x [N, C, ...]; mean and rstd are [N, group].
aclnnStatus group_norm_common(const char *op, const aclTensor *x, const aclTensor *gamma,
                              const aclTensor *beta, int64_t group, double eps, bool silu,
                              aclTensor *out, aclTensor *mean, aclTensor *rstd, uint64_t *ws,
                              aclOpExecutor **ex) {
  if (int st = require(op, {x, gamma, beta, out, mean, rstd})) return st;
  if (x->dims.size() < 2 || group <= 0 || x->dims[1] % group != 0)
    return fail(161002, std::string(op) + ": C must split into group groups");
  const int64_t n = x->dims[0], c = x->dims[1], hw = x->numel() / std::max<int64_t>(1, n * c);
  if (mean->numel() != n * group || rstd->numel() != n * group)
    return fail(161002, std::string(op) + ": meanOut and rstdOut must be [N, group]");
  aclTensor X = *x, G = *gamma, B = *beta, O = *out, M = *mean, R = *rstd;
  return prepare(op, [=] {
    auto xs = gather(X), g = gather(G), b = gather(B);
    std::vector<float> o(xs.size()), mv(size_t(n * group)), rv(size_t(n * group));
    ops_npu::group_norm_ref(xs.data(), g.data(), b.data(), size_t(n), size_t(c), size_t(hw),
                            size_t(group), float(eps), silu, o.data());
    const size_t per = size_t(c / group * hw);
    for (size_t i = 0; i < mv.size(); ++i) {
      double sum = 0, sq = 0;
      for (size_t e = 0; e < per; ++e) sum += xs[i * per + e];
      const double mu = sum / double(per);
      for (size_t e = 0; e < per; ++e) sq += (xs[i * per + e] - mu) * (xs[i * per + e] - mu);
      mv[i] = float(mu);
      rv[i] = float(1.0 / std::sqrt(sq / double(per) + eps));
    }
    scatter(O, o);
    scatter(M, mv);
    scatter(R, rv);
    return 0;
  }, ws, ex);
}

}  // namespace

EXPORT aclnnStatus aclnnGroupNormGetWorkspaceSize(const aclTensor *x, const aclTensor *gamma,
                                                  const aclTensor *beta, int64_t n, int64_t c,
                                                  int64_t hw, int64_t group, double eps,
                                                  aclTensor *out, aclTensor *mean, aclTensor *rstd,
                                                  uint64_t *ws, aclOpExecutor **ex) {
  if (x && n * c * hw != x->numel())
    return fail(161002, "aclnnGroupNorm: N, C, HxW or group do not match the input");
  return group_norm_common("aclnnGroupNorm", x, gamma, beta, group, eps, false, out, mean, rstd,
                           ws, ex);
}
FAKE_LAUNCH(aclnnGroupNorm)

#ifndef FAKE_OMIT_aclnnGroupNormSilu
EXPORT aclnnStatus aclnnGroupNormSiluGetWorkspaceSize(const aclTensor *x, const aclTensor *gamma,
                                                      const aclTensor *beta, int64_t group,
                                                      double eps, aclTensor *out, aclTensor *mean,
                                                      aclTensor *rstd, uint64_t *ws,
                                                      aclOpExecutor **ex) {
  return group_norm_common("aclnnGroupNormSilu", x, gamma, beta, group, eps, true, out, mean,
                           rstd, ws, ex);
}
FAKE_LAUNCH(aclnnGroupNormSilu)
#endif

EXPORT aclnnStatus aclnnSiluGetWorkspaceSize(const aclTensor *x, aclTensor *out, uint64_t *ws,
                                             aclOpExecutor **ex) {
  if (int st = require("aclnnSilu", {x, out})) return st;
  if (x->numel() != out->numel()) return fail(161002, "aclnnSilu: out must have self's shape");
  aclTensor X = *x, O = *out;
  return prepare("aclnnSilu", [=] {
    auto xs = gather(X);
    for (auto &v : xs) v = float(double(v) / (1.0 + std::exp(-double(v))));
    scatter(O, xs);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnSilu)

EXPORT aclnnStatus aclnnGeGluV3GetWorkspaceSize(const aclTensor *x, int64_t dim, int64_t approximate,
                                                bool activate_left, aclTensor *out, aclTensor *out_gelu,
                                                uint64_t *ws, aclOpExecutor **ex) {
  if (int st = require("aclnnGeGluV3", {x, out, out_gelu})) return st;
  if (dim != -1 && dim != int64_t(x->dims.size()) - 1)
    return fail(161002, "aclnnGeGluV3: this double splits the last dimension only");
  aclTensor X = *x, O = *out, OG = *out_gelu;
  return prepare("aclnnGeGluV3", [=] {
    const size_t h = size_t(X.dims.back()) / 2, rows = size_t(X.numel()) / (2 * h);
    auto xs = gather(X);
    if (activate_left)  // GELU on the first half: swap halves for the reference kernel
      for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < h; ++c) std::swap(xs[r * 2 * h + c], xs[r * 2 * h + h + c]);
    std::vector<float> o(rows * h), og(rows * h);
    ops_npu::geglu_ref(xs.data(), rows, h, approximate == 1, o.data());
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < h; ++c) og[r * h + c] = xs[r * 2 * h + c] != 0 ? o[r * h + c] / xs[r * 2 * h + c] : 0;
    scatter(O, o);
    scatter(OG, og);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnGeGluV3)

EXPORT aclnnStatus aclnnSwiGluGetWorkspaceSize(const aclTensor *x, int64_t dim, const aclTensor *out,
                                               uint64_t *ws, aclOpExecutor **ex) {
  if (int st = require("aclnnSwiGlu", {x, out})) return st;
  if (dim != -1 && dim != int64_t(x->dims.size()) - 1)
    return fail(161002, "aclnnSwiGlu: this double splits the last dimension only");
  aclTensor X = *x, O = *out;
  return prepare("aclnnSwiGlu", [=] {
    const size_t h = size_t(X.dims.back()) / 2, rows = size_t(X.numel()) / (2 * h);
    auto xs = gather(X);
    std::vector<float> o(rows * h);
    ops_npu::swiglu_ref(xs.data(), rows, h, o.data());
    scatter(O, o);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnSwiGlu)

EXPORT aclnnStatus aclnnRotaryPositionEmbeddingGetWorkspaceSize(const aclTensor *x, const aclTensor *cos,
                                                                const aclTensor *sin, int64_t mode,
                                                                aclTensor *out, uint64_t *ws,
                                                                aclOpExecutor **ex) {
  if (int st = require("aclnnRotaryPositionEmbedding", {x, cos, sin, out})) return st;
  if (x->dims.size() != 4 || cos->dims.size() != 4 || (mode != 0 && mode != 1))
    return fail(161002, "aclnnRotaryPositionEmbedding: 4-d x and cos/sin, mode 0 or 1");
  aclTensor X = *x, C = *cos, S = *sin, O = *out;
  return prepare("aclnnRotaryPositionEmbedding", [=] {
    // cos [1, S, 1, D]: BSND; [1, 1, S, D]: BNSD.
    const bool bsnd = C.dims[1] != 1 || X.dims[2] == 1;
    const size_t a = size_t(X.dims[0]), b = size_t(X.dims[1]), c = size_t(X.dims[2]), d = size_t(X.dims[3]);
    auto xs = gather(X), cs = gather(C), ss = gather(S);
    std::vector<float> o(xs.size());
    if (bsnd)
      ops_npu::rope_ref(xs.data(), cs.data(), ss.data(), a, b, c, d, mode == 1, o.data());
    else
      ops_npu::rope_ref(xs.data(), cs.data(), ss.data(), a * b, c, 1, d, mode == 1, o.data());
    scatter(O, o);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnRotaryPositionEmbedding)

EXPORT aclnnStatus aclnnMatmulGetWorkspaceSize(const aclTensor *a, const aclTensor *b, aclTensor *out,
                                               int8_t cube, uint64_t *ws, aclOpExecutor **ex) {
  if (int st = require("aclnnMatmul", {a, b, out})) return st;
  if (soc_is("Ascend310P") && cube != 1)
    return fail(161002, "aclnnMatmul: float32 needs cubeMathType=1 on " FAKE_SOC);
  aclTensor A = *a, B = *b, O = *out;
  return prepare("aclnnMatmul", [=] {
    const size_t m = size_t(A.dims[0]), k = size_t(A.dims[1]), n = size_t(B.dims[1]);
    auto av = gather(A), bv = gather(B);
    std::vector<float> o(m * n);
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j) {
        double acc = 0;
        for (size_t p = 0; p < k; ++p) acc += double(av[i * k + p]) * bv[p * n + j];
        o[i * n + j] = float(acc);
      }
    scatter(O, o);
    return 0;
  }, ws, ex);
}
FAKE_LAUNCH(aclnnMatmul)

namespace {

// Broadcast strides of a [.., b?, h?, q?, k?] tensor over [B, H, Sq, Skv].
void bstrides(const aclTensor &t, size_t out[4]) {
  const size_t r = t.dims.size();
  for (size_t i = 0; i < 4; ++i) {
    const int64_t j = int64_t(i) - int64_t(4 - r);
    out[i] = (j < 0 || t.dims[size_t(j)] == 1) ? 0 : size_t(t.strides[size_t(j)]);
  }
}

aclnnStatus attention_common(const char *op, const aclTensor *q, const aclTensor *k, const aclTensor *v,
                             const aclTensor *bias, const aclTensor *mask, int64_t heads, double scale,
                             const char *layout, int64_t kv_heads, const aclTensor *out,
                             const aclTensor *lse, uint64_t *ws, aclOpExecutor **ex) {
  if (int st = require(op, {q, k, v, out})) return st;
  if (soc_is("Ascend310P") || soc_is("Ascend910A") || std::strcmp(FAKE_SOC, "Ascend910B") == 0)
    return fail(561003, std::string(op) + ": no kernel for " FAKE_SOC);
  const std::string lay = layout ? layout : "";
  if (lay != "BSND" && lay != "BNSD") return fail(161002, std::string(op) + ": layout must be BSND or BNSD");
  if (mask && mask->dtype != ACL_BOOL && mask->dtype != ACL_UINT8)
    return fail(161002, std::string(op) + ": attenMask must be bool or uint8");
  const bool bsnd = lay == "BSND";
  const size_t hq = size_t(heads), hkv = size_t(kv_heads == 0 ? heads : kv_heads);
  ops_npu::AttnDims d{};
  d.batch = size_t(q->dims[0]);
  d.heads_q = hq;
  d.heads_kv = hkv;
  d.seq_q = size_t(bsnd ? q->dims[1] : q->dims[2]);
  d.seq_kv = size_t(bsnd ? k->dims[1] : k->dims[2]);
  d.head_dim = size_t(q->dims[3]);
  d.scale = float(scale);
  if (size_t(bsnd ? q->dims[2] : q->dims[1]) != hq || size_t(bsnd ? k->dims[2] : k->dims[1]) != hkv)
    return fail(161002, std::string(op) + ": numHeads/numKeyValueHeads do not match the shapes");
  auto set = [&](const aclTensor *t, size_t &sb, size_t &sh, size_t &ss) {
    sb = size_t(t->strides[0]);
    sh = size_t(bsnd ? t->strides[2] : t->strides[1]);
    ss = size_t(bsnd ? t->strides[1] : t->strides[2]);
  };
  set(q, d.q_sb, d.q_sh, d.q_ss);
  set(k, d.k_sb, d.k_sh, d.k_ss);
  set(v, d.v_sb, d.v_sh, d.v_ss);
  set(out, d.o_sb, d.o_sh, d.o_ss);
  size_t bs[4] = {0, 0, 0, 0}, ms[4] = {0, 0, 0, 0};
  if (bias) bstrides(*bias, bs);
  if (mask) bstrides(*mask, ms);
  d.bias_sb = bs[0]; d.bias_sh = bs[1]; d.bias_sq = bs[2]; d.bias_sk = bs[3];
  d.mask_sb = ms[0]; d.mask_sh = ms[1]; d.mask_sq = ms[2]; d.mask_sk = ms[3];
  if (lse && lse->dtype != ACL_FLOAT) return fail(161002, std::string(op) + ": softmaxLse must be FLOAT");
  if (bias && !is_float_type(bias->dtype))
    return fail(161002, std::string(op) + ": pseShift must be a floating tensor");
  const uint8_t *mp = mask ? static_cast<const uint8_t *>(mask->data) : nullptr;
  size_t mask_extent = 0;
  if (mask) {
    mask_extent = 1;
    for (size_t i = 0; i < mask->dims.size(); ++i) mask_extent += size_t((mask->dims[i] - 1) * mask->strides[i]);
  }
  aclTensor Q = *q, K = *k, V = *v, O = *out;
  const bool has_bias = bias != nullptr;
  aclTensor Bi = has_bias ? *bias : aclTensor{};
  float *lp = lse ? static_cast<float *>(lse->data) : nullptr;
  return prepare(op, [=] {
    // Widened, contiguous copies (row-major in their own dims), so the strides the
    // reference kernel walks are those of a contiguous tensor of the same layout.
    ops_npu::AttnDims dd = d;
    auto contiguous = [&](const aclTensor &t, size_t &sb, size_t &sh, size_t &ss) {
      const size_t s1 = size_t(t.dims[1] * t.dims[2] * t.dims[3]), s2 = size_t(t.dims[2] * t.dims[3]),
                   s3 = size_t(t.dims[3]);
      sb = s1;
      sh = bsnd ? s3 : s2;
      ss = bsnd ? s2 : s3;
    };
    auto qs = gather(Q), ks = gather(K), vs = gather(V);
    contiguous(Q, dd.q_sb, dd.q_sh, dd.q_ss);
    contiguous(K, dd.k_sb, dd.k_sh, dd.k_ss);
    contiguous(V, dd.v_sb, dd.v_sh, dd.v_ss);
    contiguous(O, dd.o_sb, dd.o_sh, dd.o_ss);
    std::vector<float> bs;
    if (has_bias) {
      bs = gather(Bi);
      aclTensor dense = Bi;
      int64_t step = 1;
      for (size_t i = dense.dims.size(); i-- > 0;) {
        dense.strides[i] = step;
        step *= dense.dims[i];
      }
      size_t st[4];
      bstrides(dense, st);
      dd.bias_sb = st[0]; dd.bias_sh = st[1]; dd.bias_sq = st[2]; dd.bias_sk = st[3];
    }
    // aclnn masks say 1 = masked; the reference kernel's say 1 = attend.
    std::vector<uint8_t> keep(mask_extent);
    for (size_t i = 0; i < mask_extent; ++i) keep[i] = mp[i] ? 0 : 1;
    std::vector<float> o(qs.size());
    ops_npu::attention_ref(dd, qs.data(), ks.data(), vs.data(), has_bias ? bs.data() : nullptr,
                           mp ? keep.data() : nullptr, o.data(), lp);
    scatter(O, o);
    return 0;
  }, ws, ex);
}

}  // namespace

#ifndef FAKE_OMIT_aclnnFusedInferAttentionScoreV2
EXPORT aclnnStatus aclnnFusedInferAttentionScoreV2GetWorkspaceSize(
    const aclTensor *query, const aclTensorList *key, const aclTensorList *value,
    const aclTensor *pse, const aclTensor *mask, const aclIntArray *, const aclIntArray *,
    const aclTensor *, const aclTensor *, const aclTensor *, const aclTensor *, const aclTensor *,
    const aclTensor *, const aclTensor *, const aclTensor *, const aclTensor *, const aclTensor *,
    const aclTensor *, const aclTensor *, const aclTensor *, const aclTensor *, const aclTensor *,
    const aclTensor *, const aclIntArray *, int64_t numHeads, double scaleValue, int64_t, int64_t,
    char *inputLayout, int64_t numKeyValueHeads, int64_t, int64_t, int64_t, int64_t,
    bool softmaxLseFlag, int64_t, int64_t, const aclTensor *attentionOut, const aclTensor *softmaxLse,
    uint64_t *ws, aclOpExecutor **ex) {
  if (!key || !value || key->tensors.size() != 1 || value->tensors.size() != 1)
    return fail(161002, "aclnnFusedInferAttentionScoreV2: key/value lists of one tensor expected");
  if (softmaxLseFlag && !softmaxLse)
    return fail(161001, "aclnnFusedInferAttentionScoreV2: softmaxLseFlag without softmaxLse");
  return attention_common("aclnnFusedInferAttentionScoreV2", query, key->tensors[0], value->tensors[0], pse,
                          mask, numHeads, scaleValue, inputLayout, numKeyValueHeads, attentionOut,
                          softmaxLseFlag ? softmaxLse : nullptr, ws, ex);
}
FAKE_LAUNCH(aclnnFusedInferAttentionScoreV2)
#endif

#ifndef FAKE_OMIT_aclnnPromptFlashAttention
EXPORT aclnnStatus aclnnPromptFlashAttentionGetWorkspaceSize(
    const aclTensor *query, const aclTensor *key, const aclTensor *value, const aclTensor *pse,
    const aclTensor *mask, const aclIntArray *, int64_t numHeads, double scaleValue, int64_t, int64_t,
    char *inputLayout, int64_t numKeyValueHeads, const aclTensor *attentionOut, uint64_t *ws,
    aclOpExecutor **ex) {
  return attention_common("aclnnPromptFlashAttention", query, key, value, pse, mask, numHeads, scaleValue,
                          inputLayout, numKeyValueHeads, attentionOut, nullptr, ws, ex);
}
FAKE_LAUNCH(aclnnPromptFlashAttention)
#endif

#ifndef FAKE_OMIT_aclnnFlashAttentionScore
EXPORT aclnnStatus aclnnFlashAttentionScoreGetWorkspaceSize(
    const aclTensor *query, const aclTensor *key, const aclTensor *value, const aclTensor *realShift,
    const aclTensor *, const aclTensor *, const aclTensor *mask, const aclIntArray *, double scaleValue,
    double keepProb, int64_t, int64_t, int64_t headNum, char *inputLayout, int64_t, int64_t,
    const aclTensor *softmaxMax, const aclTensor *softmaxSum, const aclTensor *,
    const aclTensor *attentionOut, uint64_t *ws, aclOpExecutor **ex) {
  if (!soc_is("Ascend910B")) return fail(561003, "aclnnFlashAttentionScore: Atlas A2 only");
  if (!softmaxMax || !softmaxSum) return fail(161001, "aclnnFlashAttentionScore: softmaxMax/Sum are required");
  if (keepProb != 1.0) return fail(161002, "aclnnFlashAttentionScore: this double has no dropout");
  const bool bsnd = inputLayout && std::strcmp(inputLayout, "BSND") == 0;
  const int64_t kv_heads = bsnd ? key->dims[2] : key->dims[1];
  return attention_common("aclnnFlashAttentionScore", query, key, value, realShift, mask, headNum, scaleValue,
                          inputLayout, kv_heads, attentionOut, nullptr, ws, ex);
}
FAKE_LAUNCH(aclnnFlashAttentionScore)
#endif

#endif  // FAKE_PART_OPAPI
