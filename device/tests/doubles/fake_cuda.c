/* Test double for libcuda.so.1: real driver API names and prototypes (cuda.h), configured
 * per variant with -D macros.
 *   FAKE_CC_MAJOR / FAKE_CC_MINOR   compute capability (default 8.6)
 *   FAKE_COUNT        devices (default 1)
 *   FAKE_NAME         device name (default "Fake GeForce RTX 3090")
 *   FAKE_INIT_RESULT  cuInit's return code (default 0)
 *   FAKE_TOTAL / FAKE_FREE  bytes
 *   OMIT_<symbol>     leave that symbol out
 * Faults no real driver should have, for testing that callers survive broken ones:
 *   FAKE_INIT_FAULT   1: cuInit never returns; 2: it dereferences NULL (SIGSEGV);
 *                     3: it calls abort() (SIGABRT)
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FAKE_CC_MAJOR
#define FAKE_CC_MAJOR 8
#endif
#ifndef FAKE_CC_MINOR
#define FAKE_CC_MINOR 6
#endif
#ifndef FAKE_COUNT
#define FAKE_COUNT 1
#endif
#ifndef FAKE_NAME
#define FAKE_NAME "Fake GeForce RTX 3090"
#endif
#ifndef FAKE_INIT_RESULT
#define FAKE_INIT_RESULT 0
#endif
#ifndef FAKE_TOTAL
#define FAKE_TOTAL 25769803776ULL
#endif
#ifndef FAKE_FREE
#define FAKE_FREE 24696061952ULL
#endif

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;

static int initialised = 0;
static struct CUctx_st { int device; } contexts[8];
static CUcontext current = NULL;

__attribute__((unused)) static void fault(int kind) {
    if (kind == 1) for (;;) pause();
    if (kind == 2) *(volatile int *)0 = 0;
    if (kind == 3) abort();
}

CUresult cuInit(unsigned int flags) {
#ifdef FAKE_INIT_FAULT
    fault(FAKE_INIT_FAULT);
#endif
    if (flags != 0) return 1;
    if (FAKE_INIT_RESULT != 0) return FAKE_INIT_RESULT;
    initialised = 1;
    return 0;
}

CUresult cuGetErrorString(CUresult error, const char **pStr) {
    switch (error) {
    case 3: *pStr = "initialization error"; return 0;
    case 100: *pStr = "no CUDA-capable device is detected"; return 0;
    case 201: *pStr = "invalid device context"; return 0;
    default: *pStr = "unknown error"; return 0;
    }
}

CUresult cuDriverGetVersion(int *version) {
    *version = 12040;
    return 0;
}

CUresult cuDeviceGetCount(int *count) {
    if (!initialised) return 3;
    *count = FAKE_COUNT;
    return 0;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) {
    if (!initialised) return 3;
    if (ordinal < 0 || ordinal >= FAKE_COUNT) return 101;
    *device = ordinal;
    return 0;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev) {
    if (!initialised) return 3;
    (void)dev;
    strncpy(name, FAKE_NAME, (size_t)len);
    name[len - 1] = 0;
    return 0;
}

/* 75 = CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 76 = ..._MINOR. */
CUresult cuDeviceGetAttribute(int *pi, int attrib, CUdevice dev) {
    if (!initialised) return 3;
    (void)dev;
    if (attrib == 75) { *pi = FAKE_CC_MAJOR; return 0; }
    if (attrib == 76) { *pi = FAKE_CC_MINOR; return 0; }
    return 1;
}

#ifndef OMIT_cuDeviceTotalMem_v2
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev) {
    if (!initialised) return 3;
    (void)dev;
    *bytes = (size_t)FAKE_TOTAL;
    return 0;
}
#endif

/* 101 = CUDA_ERROR_INVALID_DEVICE for an ordinal cuDeviceGet would not have given. */
CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) {
    if (!initialised) return 3;
    if (dev < 0 || dev >= FAKE_COUNT) return 101;
    if (dev >= (int)(sizeof contexts / sizeof contexts[0])) return 2; /* out of memory */
    contexts[dev].device = dev;
    *pctx = &contexts[dev];
    return 0;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
    (void)dev;
    return 0;
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
    current = ctx;
    return 0;
}

/* Like the real driver: needs a current context. */
CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
    if (current == NULL) return 201;
    *free = (size_t)FAKE_FREE;
    *total = (size_t)FAKE_TOTAL;
    return 0;
}
