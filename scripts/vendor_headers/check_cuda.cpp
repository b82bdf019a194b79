// Our Rust declarations of the CUDA driver API (device/src/cuda.rs), checked against the
// vendor's cuda.h at compile time (see check_acl.cpp for the method).
#include <cstddef>
#include <type_traits>
#include <cuda.h>

#define SAME_TYPE(fn, type) \
    static_assert(std::is_same<decltype(&fn), type>::value, #fn " prototype differs from ours")

SAME_TYPE(cuInit, CUresult (*)(unsigned int));
SAME_TYPE(cuDriverGetVersion, CUresult (*)(int *));
SAME_TYPE(cuDeviceGetCount, CUresult (*)(int *));
SAME_TYPE(cuDeviceGet, CUresult (*)(CUdevice *, int));
SAME_TYPE(cuDeviceGetName, CUresult (*)(char *, int, CUdevice));
SAME_TYPE(cuDeviceGetAttribute, CUresult (*)(int *, CUdevice_attribute, CUdevice));
SAME_TYPE(cuDeviceTotalMem_v2, CUresult (*)(size_t *, CUdevice));
SAME_TYPE(cuDevicePrimaryCtxRetain, CUresult (*)(CUcontext *, CUdevice));
SAME_TYPE(cuDevicePrimaryCtxRelease_v2, CUresult (*)(CUdevice));
SAME_TYPE(cuCtxSetCurrent, CUresult (*)(CUcontext));
SAME_TYPE(cuMemGetInfo_v2, CUresult (*)(size_t *, size_t *));
SAME_TYPE(cuGetErrorString, CUresult (*)(CUresult, const char **));

// Rust passes these as c_int.
static_assert(sizeof(CUresult) == sizeof(int), "CUresult");
static_assert(sizeof(CUdevice) == sizeof(int), "CUdevice");
static_assert(sizeof(CUdevice_attribute) == sizeof(int), "CUdevice_attribute");
static_assert(CUDA_SUCCESS == 0, "CUDA_SUCCESS");
static_assert(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR == 75, "cc major attribute");
static_assert(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR == 76, "cc minor attribute");
