// Our Rust declarations of the ACL runtime (device/src/npu/acl.rs), transcribed to C
// types and checked against the vendor's acl/acl.h at compile time. C++ because
// torch-npu's copy of acl_rt.h uses constexpr, and because decltype makes the check exact.
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <acl/acl.h>

#define SAME_TYPE(fn, type) \
    static_assert(std::is_same<decltype(&fn), type>::value, #fn " prototype differs from ours")

SAME_TYPE(aclInit, aclError (*)(const char *));
SAME_TYPE(aclrtGetDeviceCount, aclError (*)(uint32_t *));
SAME_TYPE(aclrtSetDevice, aclError (*)(int32_t));
SAME_TYPE(aclrtResetDevice, aclError (*)(int32_t));
SAME_TYPE(aclrtGetSocName, const char *(*)());
SAME_TYPE(aclrtGetMemInfo, aclError (*)(aclrtMemAttr, size_t *, size_t *));
SAME_TYPE(aclGetRecentErrMsg, const char *(*)());
SAME_TYPE(aclGetCannAttribute, aclError (*)(aclCannAttr, int32_t *));

// Rust passes these enums and the error type as c_int.
static_assert(sizeof(aclError) == sizeof(int), "aclError");
static_assert(sizeof(aclrtMemAttr) == sizeof(int), "aclrtMemAttr");
static_assert(sizeof(aclCannAttr) == sizeof(int), "aclCannAttr");
static_assert(ACL_SUCCESS == 0, "ACL_SUCCESS");
static_assert(ACL_ERROR_REPEAT_INITIALIZE == 100002, "ACL_ERROR_REPEAT_INITIALIZE");
static_assert(ACL_HBM_MEM == 1, "ACL_HBM_MEM");
static_assert(ACL_CANN_ATTR_BF16 == 1, "ACL_CANN_ATTR_BF16");
