// The per-op constraint tables (op_tables.cc, one per op, transcribed from the op's doc)
// and the one checker every op runs its arguments through. A table row is an argument:
// the dtypes the doc's 参数说明 lists, minus those a product note removes ("Atlas 推理系列
// 产品：不支持BFLOAT16"), the formats, the rank range, and whether 非连续Tensor is allowed.
// Rules a row cannot say (broadcasting, shape relations, attribute ranges) are checked by
// the op itself, citing the same doc.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "fake_types.h"
#include "soc.h"

using DtypeSet = uint64_t;
constexpr DtypeSet bit(int dtype) { return DtypeSet(1) << dtype; }
constexpr DtypeSet F32 = bit(ACL_FLOAT), F16 = bit(ACL_FLOAT16), BF16 = bit(ACL_BF16),
                   F64 = bit(ACL_DOUBLE), I8 = bit(ACL_INT8), U8 = bit(ACL_UINT8),
                   I16 = bit(ACL_INT16), U16 = bit(FAKE_UINT16), I32 = bit(ACL_INT32),
                   U32 = bit(FAKE_UINT32), I64 = bit(ACL_INT64), U64 = bit(FAKE_UINT64),
                   BOOL_ = bit(ACL_BOOL), C64 = bit(FAKE_COMPLEX64), C128 = bit(FAKE_COMPLEX128);
constexpr DtypeSet FLOATS = F32 | F16 | BF16;

// Format sets. "ND" in a doc means ND only: where an op takes NCHW too, its doc lists it
// (IndexSelect lists six formats, Add lists one).
enum FormatSet : unsigned {
  FMT_ND = 1u << 0,
  FMT_NCHW = 1u << 1,
  FMT_NHWC = 1u << 2,
  FMT_NCL = 1u << 3,
  FMT_NCDHW = 1u << 4,
  FMT_NDHWC = 1u << 5,
  FMT_HWCN = 1u << 6,
};
unsigned format_bit(int format);
const char *format_name(int format);

struct Arg {
  std::string name;
  DtypeSet dtypes = 0;
  DtypeSet removed[5] = {};  // per family bit index: dtypes a product note takes away
  unsigned formats = FMT_ND;
  int min_rank = 0, max_rank = 8;
  bool contiguous = false;  // 非连续Tensor: ×
  bool optional = false;    // "可传入nullptr"
  bool scalar = false;      // an aclScalar, not a tensor

  Arg(const char *n, DtypeSet d) : name(n), dtypes(d) {}
  Arg &no(unsigned families, DtypeSet d);  // "<products>：不支持<dtypes>"
  Arg &only(unsigned families, DtypeSet d);  // "<products>：数据类型支持<dtypes>"
  Arg &fmt(unsigned f) { formats = f; return *this; }
  Arg &rank(int lo, int hi) { min_rank = lo; max_rank = hi; return *this; }
  Arg &dense() { contiguous = true; return *this; }
  Arg &opt() { optional = true; return *this; }
  Arg &is_scalar() { scalar = true; return *this; }
  DtypeSet allowed() const;  // on the SoC this double was built for
};

struct OpTable {
  const char *op;
  const char *doc;  // repository and path of the doc the rows come from
  unsigned products;  // 产品支持情况: families marked 支持
  std::vector<Arg> args;
  const Arg &arg(const std::string &name) const;
};

// The table of an op (aborts on a name without one: a bug in the double).
const OpTable &table(const char *op);

// Status and recent-error text like aclnn's: "fake aclnn: <op>: <msg>".
int fail(int status, const std::string &op, const std::string &msg);

// The product check: an op whose doc says 不支持 for this SoC's family has no kernel.
int check_product(const OpTable &t);
// One tensor argument against its row: null, dtype, format, rank, contiguity.
int check_tensor(const OpTable &t, const char *arg, const aclTensor *x);
int check_scalar(const OpTable &t, const char *arg, const aclScalar *s);
// Product, then every named tensor argument.
int check_all(const OpTable &t, std::initializer_list<std::pair<const char *, const aclTensor *>> xs);

std::string shape_str(const std::vector<int64_t> &dims);
