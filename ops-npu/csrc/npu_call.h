// The bridge's NPU descriptors as the runtime's, and the generic aclnn caller.
#pragma once

#include <string>

#include "npu_runtime.h"
#include "rust/cxx.h"

namespace ops_npu {
namespace ffi {
struct NpuTensorDesc;
struct NpuArg;
}  // namespace ffi

namespace npu {

TensorArg tensor_arg(const ffi::NpuTensorDesc &d);

// Calls a general op (acl_api.h's OPS_NPU_GENERAL_OPS) on `s` with its arguments in
// prototype order; throws naming the op and argument when they do not fit the prototype.
void call(aclrtStream s, const std::string &op, rust::Slice<const ffi::NpuArg> args);

}  // namespace npu
}  // namespace ops_npu
