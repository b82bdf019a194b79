// Compiled by tests/npu_conformance.rs with -DOPS_NPU_VENDOR_HEADERS against the vendor's
// headers: every `_fn` type in acl_api.h must be exactly the type of the vendor's function.
// A mismatch fails the compile, naming the function.
#include <type_traits>

#include "acl_api.h"

#define OPS_NPU_SAME(name)                                                  \
  static_assert(std::is_same_v<decltype(&::name), name##_fn>,               \
                #name ": acl_api.h's prototype differs from the vendor header");

OPS_NPU_ACL_SYMBOLS(OPS_NPU_SAME)

#ifdef OPS_NPU_HAVE_ACLNN_HEADERS
OPS_NPU_NNOPBASE_SYMBOLS(OPS_NPU_SAME)
OPS_NPU_OP_SYMBOLS(OPS_NPU_SAME)
#endif

static_assert(ACL_FLOAT == 0 && ACL_FLOAT16 == 1 && ACL_BF16 == 27 && ACL_BOOL == 12,
              "aclDataType values");
static_assert(ACL_FORMAT_ND == 2, "aclFormat values");
static_assert(ACL_MEMCPY_HOST_TO_DEVICE == 1 && ACL_MEMCPY_DEVICE_TO_HOST == 2,
              "aclrtMemcpyKind values");

int main() {
#ifdef OPS_NPU_HAVE_ACLNN_HEADERS
  return 0;
#else
  return 3;  // runtime half only: the aclnn headers were not found
#endif
}
