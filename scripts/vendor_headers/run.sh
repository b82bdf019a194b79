#!/usr/bin/env bash
# Checks the vendor-library declarations in device/src/npu/acl.rs and device/src/cuda.rs
# against the vendors' own headers, which we may read and compile against but not commit.
#
# Needs the network (PyPI) once; run it by hand, outside CI:
#   bash scripts/vendor_headers/run.sh [WORKDIR]
# It downloads (into WORKDIR, default a temporary folder outside the repository):
#   - the torch-npu wheel, which ships the ACL runtime headers (acl/acl.h, acl_rt.h, ...);
#   - the nvidia-cuda-runtime wheel, which ships cuda.h.
# and compiles check_acl.cpp and check_cuda.cpp against them: every check is a
# static_assert, so a mismatch fails the compile.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-$(mktemp -d)}"
TORCH_NPU_VERSION="${TORCH_NPU_VERSION:-2.6.0.post5}"
CUDA_RUNTIME="${CUDA_RUNTIME:-nvidia-cuda-runtime==13.2.86}"
python="${PYTHON:-python3}"

mkdir -p "$work" && cd "$work"
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux_2_17_x86_64 --dest wheels \
  "torch-npu==$TORCH_NPU_VERSION" "$CUDA_RUNTIME"
rm -rf headers && mkdir headers
for wheel in wheels/*.whl; do
  "$python" -m zipfile -e "$wheel" headers/
done
acl_inc="$(dirname "$(dirname "$(find headers -path '*inc/acl/acl.h' | head -1)")")"
cuda_inc="$(dirname "$(find headers -name cuda.h | head -1)")"
echo "ACL headers:  $acl_inc (torch-npu $TORCH_NPU_VERSION)"
echo "CUDA headers: $cuda_inc ($CUDA_RUNTIME)"
c++ -std=c++17 -fsyntax-only -Wall -Werror -I"$acl_inc" "$here/check_acl.cpp"
echo "acl/acl.h: 8 prototypes, 3 type sizes and 4 constants match device/src/npu/acl.rs"
c++ -std=c++17 -fsyntax-only -Wall -Werror -I"$cuda_inc" "$here/check_cuda.cpp"
echo "cuda.h: 12 prototypes, 3 type sizes and 3 constants match device/src/cuda.rs"
# ops-npu: every `_fn` type in ops-npu/csrc/acl_api.h against the same headers (the wheel
# has the runtime headers only, so the aclnn half is checked where a CANN include/ is used).
ASCEND_INCLUDE_DIR="$(cd "$acl_inc" && pwd)" cargo nextest run --manifest-path "$here/../../Cargo.toml" \
  -p ops-npu --test it npu_conformance:: --no-capture
