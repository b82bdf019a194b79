// The generic aclnn caller: every op of OPS_NPU_GENERAL_OPS is called through one
// marshaller driven by its `_fn` prototype, so adding an op is one line in acl_api.h and
// the arguments a caller passes are checked against the vendor's parameter list (count and
// kind) before anything is created. nnopbase objects made for a call are destroyed when it
// returns, whichever way (tensor lists own their tensors, as nnopbase specifies).
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "npu_call.h"
#include "ops-npu/csrc/bridge.h"
#include "ops-npu/src/bridge.rs.h"

namespace ops_npu {
namespace npu {
namespace {

using ffi::NpuArg;
using Args = rust::Slice<const NpuArg>;

// Argument kinds; mirrors crate::npu::call::Kind.
enum Kind : uint8_t {
  kAbsent = 0,
  kTensor = 1,
  kTensorList = 2,
  kIntArray = 3,
  kScalar = 4,
  kInt = 5,
  kFloat = 6,
  kBool = 7,
  kDType = 8,
  kText = 9,
};

const char *kind_name(uint8_t k) {
  static const char *names[] = {"absent", "tensor",  "tensor list", "int array", "scalar",
                                "int",    "float",   "bool",        "dtype",     "text"};
  return k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

// Everything created for one call, destroyed in reverse order when the call returns.
class Holder {
 public:
  explicit Holder(const Runtime &rt) : rt_(rt) {}
  ~Holder() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  }
  Holder(const Holder &) = delete;
  Holder &operator=(const Holder &) = delete;
  void on_exit(std::function<void()> f) { undo_.push_back(std::move(f)); }
  std::vector<std::unique_ptr<char[]>> text;
  const Runtime &rt_;

 private:
  std::vector<std::function<void()>> undo_;
};

[[noreturn]] void wrong_kind(const char *op, size_t i, const NpuArg &a, const char *want) {
  throw std::invalid_argument(std::string(op) + ": argument " + std::to_string(i) + " is " +
                              kind_name(a.kind) + ", the prototype takes " + want);
}

// The conversion of one argument to the C type the prototype has at that position.
template <class T>
struct Take;

template <>
struct Take<const aclTensor *> {
  static const aclTensor *get(const char *op, size_t i, const NpuArg &a, Holder &h) {
    if (a.kind == kAbsent) return nullptr;
    if (a.kind != kTensor || a.tensors.size() != 1) wrong_kind(op, i, a, "a tensor");
    const Runtime &rt = h.rt_;
    aclTensor *t = create_tensor(rt, tensor_arg(a.tensors[0]));
    h.on_exit([&rt, t] { rt.api().aclDestroyTensor(t); });
    return t;
  }
};
template <>
struct Take<aclTensor *> {
  static aclTensor *get(const char *op, size_t i, const NpuArg &a, Holder &h) {
    return const_cast<aclTensor *>(Take<const aclTensor *>::get(op, i, a, h));
  }
};
template <>
struct Take<const aclTensorList *> {
  static const aclTensorList *get(const char *op, size_t i, const NpuArg &a, Holder &h) {
    if (a.kind == kAbsent) return nullptr;
    if (a.kind != kTensorList) wrong_kind(op, i, a, "a tensor list");
    const Runtime &rt = h.rt_;
    std::vector<aclTensor *> items;
    try {
      for (const auto &d : a.tensors) items.push_back(create_tensor(rt, tensor_arg(d)));
    } catch (...) {
      for (aclTensor *t : items) rt.api().aclDestroyTensor(t);
      throw;
    }
    aclTensorList *l = rt.api().aclCreateTensorList(items.data(), items.size());
    if (!l) {
      for (aclTensor *t : items) rt.api().aclDestroyTensor(t);
      throw std::runtime_error(std::string(op) + ": aclCreateTensorList returned null");
    }
    h.on_exit([&rt, l] { rt.api().aclDestroyTensorList(l); });
    return l;
  }
};
template <>
struct Take<const aclIntArray *> {
  static const aclIntArray *get(const char *op, size_t i, const NpuArg &a, Holder &h) {
    if (a.kind == kAbsent) return nullptr;
    if (a.kind != kIntArray) wrong_kind(op, i, a, "an int array");
    const Runtime &rt = h.rt_;
    aclIntArray *p = rt.api().aclCreateIntArray(a.ints.data(), a.ints.size());
    if (!p) throw std::runtime_error(std::string(op) + ": aclCreateIntArray returned null");
    h.on_exit([&rt, p] { rt.api().aclDestroyIntArray(p); });
    return p;
  }
};
template <>
struct Take<const aclScalar *> {
  static const aclScalar *get(const char *op, size_t i, const NpuArg &a, Holder &h) {
    if (a.kind == kAbsent) return nullptr;
    if (a.kind != kScalar) wrong_kind(op, i, a, "a scalar");
    const Runtime &rt = h.rt_;
    rt.require("aclCreateScalar", reinterpret_cast<const void *>(rt.api().aclCreateScalar));
    // The value in the scalar's own dtype; aclCreateScalar copies it.
    union {
      float f;
      double d;
      int64_t i64;
      int32_t i32;
      uint16_t bits;
      bool b;
    } v{};
    switch (a.dtype) {
      case ACL_FLOAT: v.f = float(a.number); break;
      case ACL_DOUBLE: v.d = a.number; break;
      case ACL_INT64: v.i64 = a.integer; break;
      case ACL_INT32: v.i32 = int32_t(a.integer); break;
      case ACL_BOOL: v.b = a.integer != 0; break;
      case ACL_FLOAT16:
      case ACL_BF16: v.bits = uint16_t(a.integer); break;  // bits rounded on the Rust side
      default:
        throw std::invalid_argument(std::string(op) + ": argument " + std::to_string(i) +
                                    ": no scalar of ACL dtype " + std::to_string(a.dtype));
    }
    aclScalar *p = rt.api().aclCreateScalar(&v, static_cast<aclDataType>(a.dtype));
    if (!p) throw std::runtime_error(std::string(op) + ": aclCreateScalar returned null");
    h.on_exit([&rt, p] {
      if (rt.api().aclDestroyScalar) rt.api().aclDestroyScalar(p);
    });
    return p;
  }
};

template <class I>
struct TakeInt {
  static I get(const char *op, size_t i, const NpuArg &a, Holder &) {
    if (a.kind != kInt) wrong_kind(op, i, a, "an integer");
    return I(a.integer);
  }
};
template <>
struct Take<int64_t> : TakeInt<int64_t> {};
template <>
struct Take<int8_t> : TakeInt<int8_t> {};
template <>
struct Take<int> : TakeInt<int> {};
template <>
struct Take<bool> {
  static bool get(const char *op, size_t i, const NpuArg &a, Holder &) {
    if (a.kind != kBool) wrong_kind(op, i, a, "a bool");
    return a.integer != 0;
  }
};
template <>
struct Take<double> {
  static double get(const char *op, size_t i, const NpuArg &a, Holder &) {
    if (a.kind != kFloat) wrong_kind(op, i, a, "a double");
    return a.number;
  }
};
template <>
struct Take<aclDataType> {
  static aclDataType get(const char *op, size_t i, const NpuArg &a, Holder &) {
    if (a.kind != kDType) wrong_kind(op, i, a, "an aclDataType");
    return static_cast<aclDataType>(a.dtype);
  }
};
template <>
struct Take<char *> {
  static char *get(const char *op, size_t i, const NpuArg &a, Holder &h) {
    if (a.kind != kText) wrong_kind(op, i, a, "a string");
    auto buf = std::make_unique<char[]>(a.text.size() + 1);
    std::memcpy(buf.get(), a.text.data(), a.text.size());
    buf[a.text.size()] = '\0';
    h.text.push_back(std::move(buf));
    return h.text.back().get();
  }
};

template <class F>
struct Params;
template <class R, class... P>
struct Params<R (*)(P...)> {
  using type = std::tuple<P...>;
  static constexpr size_t count = sizeof...(P);
};

template <class F, size_t... I>
aclnnStatus first_phase(const char *op, F fn, const Args &args, Holder &h, uint64_t *ws,
                        aclOpExecutor **ex, std::index_sequence<I...>) {
  using P = typename Params<F>::type;
  // Converted one by one, in order, so a failing conversion leaves nothing behind.
  auto converted = std::tuple<std::tuple_element_t<I, P>...>{
      Take<std::tuple_element_t<I, P>>::get(op, I, args[I], h)...};
  return fn(std::get<I>(converted)..., ws, ex);
}

template <class F, class L>
void run(Runtime &rt, const char *op, const char *ws_name, F get_ws, L launch_fn, aclrtStream s,
         const Args &args) {
  constexpr size_t n = Params<F>::count - 2;  // less workspaceSize and executor
  if (args.size() != n)
    throw std::invalid_argument(std::string(op) + " takes " + std::to_string(n) +
                                " arguments, got " + std::to_string(args.size()));
  rt.require(ws_name, reinterpret_cast<const void *>(get_ws));
  rt.require(op, reinterpret_cast<const void *>(launch_fn));
  Holder h(rt);
  uint64_t ws = 0;
  aclOpExecutor *ex = nullptr;
  rt.check(ws_name, first_phase(op, get_ws, args, h, &ws, &ex, std::make_index_sequence<n>{}));
  void *buf = rt.take_workspace(s, ws);
  const aclnnStatus st = launch_fn(buf, ws, ex, s);
  rt.give_workspace(buf);
  rt.check(op, st);
}

using Invoker = void (*)(Runtime &, aclrtStream, const Args &);

const std::unordered_map<std::string, Invoker> &general_ops() {
#define OPS_NPU_GENERAL_ENTRY(unused, op)                                               \
  {#op, [](Runtime &rt, aclrtStream s, const Args &a) {                                 \
     run(rt, #op, #op "GetWorkspaceSize", rt.api().op##GetWorkspaceSize, rt.api().op, s, \
         a);                                                                            \
   }},
  // aclnnMatmul is declared with the fused entry points but takes general arguments too.
  static const std::unordered_map<std::string, Invoker> table = {
      OPS_NPU_GENERAL_OPS(OPS_NPU_GENERAL_ENTRY, unused)
          OPS_NPU_GENERAL_ENTRY(unused, aclnnMatmul)};
#undef OPS_NPU_GENERAL_ENTRY
  return table;
}

}  // namespace

TensorArg tensor_arg(const ffi::NpuTensorDesc &d) {
  TensorArg t;
  t.data = reinterpret_cast<void *>(d.ptr);
  t.dtype = d.dtype;
  t.format = d.format;
  t.offset = d.offset;
  t.storage = d.storage;
  t.dims.assign(d.dims.begin(), d.dims.end());
  t.strides.assign(d.strides.begin(), d.strides.end());
  if (t.present() && t.dims.size() != t.strides.size())
    throw std::invalid_argument("tensor descriptor: dims and strides differ in length");
  return t;
}

void call(aclrtStream s, const std::string &op, rust::Slice<const ffi::NpuArg> args) {
  const auto &table = general_ops();
  auto it = table.find(op);
  if (it == table.end())
    throw std::invalid_argument(op + " is not one of ops-npu's general aclnn ops");
  it->second(Runtime::get(), s, args);
}

}  // namespace npu

namespace ffi {

void npu_call(size_t stream, rust::Str op, rust::Slice<const NpuArg> args) {
  npu::call(reinterpret_cast<aclrtStream>(stream), std::string(op), args);
}

}  // namespace ffi
}  // namespace ops_npu
