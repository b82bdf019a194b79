/* Test double for libascendcl.so: the real symbol names and prototypes (acl/acl.h),
 * configured per variant with -D macros so no environment is involved.
 *   FAKE_DEVICE_COUNT  devices reported (default 1)
 *   FAKE_SOC           string returned by aclrtGetSocName (default "Ascend910B3")
 *   FAKE_HBM_TOTAL / FAKE_HBM_FREE  bytes for device 0; device i has i GiB less free
 *   FAKE_INIT_RESULT   aclInit's return code (default 0; 100002 = already initialised)
 *   FAKE_ERR_MSG       text of aclGetRecentErrMsg after a failure
 *   FAKE_BF16_ATTR     value aclGetCannAttribute(ACL_CANN_ATTR_BF16) reports (default 1)
 *   FAKE_MEMINFO_FAILS error code aclrtGetMemInfo returns (default: it succeeds)
 *   OMIT_<symbol>      leave that symbol out of the library
 * Faults no real runtime should have, for testing that callers survive broken ones:
 *   FAKE_INIT_FAULT    1: aclInit never returns; 2: it dereferences NULL (SIGSEGV);
 *                      3: it calls abort() (SIGABRT)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef FAKE_DEVICE_COUNT
#define FAKE_DEVICE_COUNT 1
#endif
#ifndef FAKE_SOC
#define FAKE_SOC "Ascend910B3"
#endif
#ifndef FAKE_HBM_TOTAL
#define FAKE_HBM_TOTAL 68719476736ULL
#endif
#ifndef FAKE_HBM_FREE
#define FAKE_HBM_FREE 60129542144ULL
#endif
#ifndef FAKE_INIT_RESULT
#define FAKE_INIT_RESULT 0
#endif
#ifndef FAKE_ERR_MSG
#define FAKE_ERR_MSG "EL0005: fake runtime error"
#endif
#ifndef FAKE_BF16_ATTR
#define FAKE_BF16_ATTR 1
#endif

typedef int aclError;
static int initialised = 0;
static int32_t current = -1;
static const char *last_error = "";

static aclError fail(aclError code) {
    last_error = FAKE_ERR_MSG;
    return code;
}

__attribute__((unused)) static void fault(int kind) {
    if (kind == 1) for (;;) pause();
    if (kind == 2) *(volatile int *)0 = 0;
    if (kind == 3) abort();
}

#ifndef OMIT_aclInit
aclError aclInit(const char *configPath) {
    (void)configPath;
#ifdef FAKE_INIT_FAULT
    fault(FAKE_INIT_FAULT);
#endif
    if (FAKE_INIT_RESULT != 0 && FAKE_INIT_RESULT != 100002) return fail(FAKE_INIT_RESULT);
    initialised = 1;
    return FAKE_INIT_RESULT;
}
#endif

#ifndef OMIT_aclrtGetDeviceCount
aclError aclrtGetDeviceCount(uint32_t *count) {
    if (!initialised) return fail(100000);
    *count = (uint32_t)FAKE_DEVICE_COUNT;
    return 0;
}
#endif

#ifndef OMIT_aclrtSetDevice
aclError aclrtSetDevice(int32_t deviceId) {
    if (!initialised) return fail(100000);
    if (deviceId < 0 || (long long)deviceId >= (long long)FAKE_DEVICE_COUNT) return fail(107001);
    current = deviceId;
    return 0;
}
#endif

#ifndef OMIT_aclrtResetDevice
aclError aclrtResetDevice(int32_t deviceId) {
    if (deviceId != current) return fail(107001);
    current = -1;
    return 0;
}
#endif

#ifndef OMIT_aclrtGetSocName
const char *aclrtGetSocName(void) {
    return initialised ? FAKE_SOC : NULL;
}
#endif

#ifndef OMIT_aclrtGetMemInfo
/* aclrtMemAttr ACL_HBM_MEM = 1; anything else is rejected so a wrong enum shows up. */
aclError aclrtGetMemInfo(int attr, size_t *free, size_t *total) {
    if (current < 0) return fail(107002);
    if (attr != 1) return fail(100000);
#ifdef FAKE_MEMINFO_FAILS
    return fail(FAKE_MEMINFO_FAILS);
#endif
    *total = (size_t)FAKE_HBM_TOTAL;
    *free = (size_t)(FAKE_HBM_FREE - (unsigned long long)current * 1073741824ULL);
    return 0;
}
#endif

#ifndef OMIT_aclGetRecentErrMsg
const char *aclGetRecentErrMsg(void) {
    return last_error;
}
#endif

#ifndef OMIT_aclGetCannAttribute
/* aclCannAttr ACL_CANN_ATTR_BF16 = 1. */
aclError aclGetCannAttribute(int attr, int32_t *value) {
    if (attr != 1) return fail(100000);
    *value = FAKE_BF16_ATTR;
    return 0;
}
#endif
