#include "numeric.h"

#include <cmath>
#include <cstring>
#include <limits>

int dtype_size(int d) {
  switch (d) {
    case ACL_FLOAT: case ACL_INT32: case FAKE_UINT32: return 4;
    case ACL_FLOAT16: case ACL_BF16: case ACL_INT16: case FAKE_UINT16: return 2;
    case ACL_INT8: case ACL_UINT8: case ACL_BOOL: return 1;
    case ACL_INT64: case FAKE_UINT64: case ACL_DOUBLE: case FAKE_COMPLEX64: return 8;
    case FAKE_COMPLEX128: return 16;
    default: return 0;
  }
}

const char *dtype_name(int d) {
  switch (d) {
    case ACL_FLOAT: return "FLOAT";
    case ACL_FLOAT16: return "FLOAT16";
    case ACL_BF16: return "BFLOAT16";
    case ACL_DOUBLE: return "DOUBLE";
    case ACL_INT8: return "INT8";
    case ACL_UINT8: return "UINT8";
    case ACL_INT16: return "INT16";
    case FAKE_UINT16: return "UINT16";
    case ACL_INT32: return "INT32";
    case FAKE_UINT32: return "UINT32";
    case ACL_INT64: return "INT64";
    case FAKE_UINT64: return "UINT64";
    case ACL_BOOL: return "BOOL";
    case FAKE_COMPLEX64: return "COMPLEX64";
    case FAKE_COMPLEX128: return "COMPLEX128";
    default: return "an unknown dtype";
  }
}

bool is_floating(int d) {
  return d == ACL_FLOAT || d == ACL_FLOAT16 || d == ACL_BF16 || d == ACL_DOUBLE;
}
bool is_integral(int d) {
  return d == ACL_INT8 || d == ACL_UINT8 || d == ACL_INT16 || d == FAKE_UINT16 ||
         d == ACL_INT32 || d == FAKE_UINT32 || d == ACL_INT64 || d == FAKE_UINT64;
}

float half_to_float(uint16_t h) {
  const int exp = (h >> 10) & 0x1F;
  const int man = h & 0x3FF;
  double mag;
  if (exp == 0)
    mag = std::ldexp(double(man), -24);
  else if (exp == 31)
    mag = man ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else
    mag = std::ldexp(double(man | 0x400), exp - 25);
  return float((h & 0x8000) ? -mag : mag);
}

uint16_t float_to_half(float f) {
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(double(f));
  if (std::isnan(f)) return uint16_t(sign | 0x7E00);
  if (a >= 65520.0) return uint16_t(sign | 0x7C00);  // at or past the rounding point of max
  if (a < std::ldexp(1.0, -14))                     // subnormal: multiples of 2^-24
    return uint16_t(sign | uint16_t(std::nearbyint(a * std::ldexp(1.0, 24))));
  int e;
  const double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  uint32_t q = uint32_t(std::nearbyint(std::ldexp(m, 11)));
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

namespace {
template <class I>
double int_cast(double v) {
  if (std::isnan(v)) return 0;
  const double t = std::trunc(v);
  // Out-of-range values wrap like the two's-complement cast of an int64 would.
  return double(static_cast<I>(static_cast<int64_t>(t)));
}
}  // namespace

double round_to(int d, double v) {
  switch (d) {
    case ACL_FLOAT: return double(float(v));
    case ACL_FLOAT16: return half_to_float(float_to_half(float(v)));
    case ACL_BF16: return bf16_to_float(float_to_bf16(float(v)));
    case ACL_DOUBLE: return v;
    case ACL_INT8: return int_cast<int8_t>(v);
    case ACL_UINT8: return int_cast<uint8_t>(v);
    case ACL_INT16: return int_cast<int16_t>(v);
    case FAKE_UINT16: return int_cast<uint16_t>(v);
    case ACL_INT32: return int_cast<int32_t>(v);
    case FAKE_UINT32: return int_cast<uint32_t>(v);
    case ACL_INT64: return int_cast<int64_t>(v);
    case FAKE_UINT64: return int_cast<uint64_t>(v);
    case ACL_BOOL: return v != 0 ? 1 : 0;
    default: return v;
  }
}

double load(int d, const void *base, int64_t i) {
  switch (d) {
    case ACL_FLOAT: return static_cast<const float *>(base)[i];
    case ACL_FLOAT16: return half_to_float(static_cast<const uint16_t *>(base)[i]);
    case ACL_BF16: return bf16_to_float(static_cast<const uint16_t *>(base)[i]);
    case ACL_DOUBLE: return static_cast<const double *>(base)[i];
    case ACL_INT8: return static_cast<const int8_t *>(base)[i];
    case ACL_UINT8: return static_cast<const uint8_t *>(base)[i];
    case ACL_BOOL: return static_cast<const uint8_t *>(base)[i] != 0;
    case ACL_INT16: return static_cast<const int16_t *>(base)[i];
    case FAKE_UINT16: return static_cast<const uint16_t *>(base)[i];
    case ACL_INT32: return static_cast<const int32_t *>(base)[i];
    case FAKE_UINT32: return static_cast<const uint32_t *>(base)[i];
    case ACL_INT64: return double(static_cast<const int64_t *>(base)[i]);
    case FAKE_UINT64: return double(static_cast<const uint64_t *>(base)[i]);
    default: return std::numeric_limits<double>::quiet_NaN();
  }
}

void store(int d, void *base, int64_t i, double v) {
  v = round_to(d, v);
  switch (d) {
    case ACL_FLOAT: static_cast<float *>(base)[i] = float(v); break;
    case ACL_FLOAT16: static_cast<uint16_t *>(base)[i] = float_to_half(float(v)); break;
    case ACL_BF16: static_cast<uint16_t *>(base)[i] = float_to_bf16(float(v)); break;
    case ACL_DOUBLE: static_cast<double *>(base)[i] = v; break;
    case ACL_INT8: static_cast<int8_t *>(base)[i] = int8_t(v); break;
    case ACL_UINT8: case ACL_BOOL: static_cast<uint8_t *>(base)[i] = uint8_t(v); break;
    case ACL_INT16: static_cast<int16_t *>(base)[i] = int16_t(v); break;
    case FAKE_UINT16: static_cast<uint16_t *>(base)[i] = uint16_t(v); break;
    case ACL_INT32: static_cast<int32_t *>(base)[i] = int32_t(v); break;
    case FAKE_UINT32: static_cast<uint32_t *>(base)[i] = uint32_t(v); break;
    case ACL_INT64: static_cast<int64_t *>(base)[i] = int64_t(v); break;
    case FAKE_UINT64: static_cast<uint64_t *>(base)[i] = uint64_t(v); break;
    default: break;
  }
}

double scalar_value(const aclScalar &s) { return load(s.dtype, s.bytes, 0); }

std::vector<int64_t> element_offsets(const aclTensor &t) {
  const int64_t n = t.numel();
  std::vector<int64_t> out(size_t(n > 0 ? n : 0));
  std::vector<int64_t> idx(t.dims.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = t.offset;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides[d];
    out[size_t(i)] = off;
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.dims[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

std::vector<double> read(const aclTensor &t) {
  auto offs = element_offsets(t);
  std::vector<double> v(offs.size());
  for (size_t i = 0; i < offs.size(); ++i) v[i] = load(t.dtype, t.data, offs[i]);
  return v;
}

void write(const aclTensor &t, const std::vector<double> &v) {
  auto offs = element_offsets(t);
  for (size_t i = 0; i < offs.size(); ++i) store(t.dtype, t.data, offs[i], v[i]);
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t> &dims) {
  std::vector<int64_t> s(dims.size());
  int64_t step = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = step;
    step *= dims[i];
  }
  return s;
}

// Size-1 dimensions may carry any stride (torch_npu's definition of contiguous).
bool is_contiguous(const aclTensor &t) {
  int64_t step = 1;
  for (size_t i = t.dims.size(); i-- > 0;) {
    if (t.dims[i] == 1) continue;
    if (t.strides[i] != step) return false;
    step *= t.dims[i];
  }
  return true;
}

int64_t view_extent(const std::vector<int64_t> &dims, const std::vector<int64_t> &strides,
                    int64_t offset) {
  int64_t far = offset;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) return offset;  // an empty view reaches nothing
    far += (dims[i] - 1) * strides[i];
  }
  return far + 1;
}
