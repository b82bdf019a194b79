#!/usr/bin/env bash
# Installs what a `--features cuda` build needs from PyPI into a virtual environment outside
# the repository, then prints `export` lines (and nothing else) on stdout:
#
#   eval "$(scripts/cuda/toolchain.sh /opt/cuda-venv)"
#   cargo build --release --features cuda --bin sd --bin hidream --bin sd-bench
#
# No GPU, driver or system CUDA toolkit is needed. What gets installed:
# - nvcc, its NVVM back end, the CUDA headers and CCCL: candle-kernels compiles its PTX
#   (and a few static kernels) with them at build time;
# - cuBLAS, cuBLASLt, cuRAND and NVRTC (skipped with --compile-only): candle links them;
# - a libcuda stub generated from cuda.h: candle also links the driver library, which no
#   package provides; the stub only satisfies the linker, and the binary uses the real
#   libcuda.so.1 of the host it runs on.
#
# Usage: toolchain.sh [--compile-only] [VENV_DIR]   (VENV_DIR default: ~/.cache/cuda-venv)
#   --compile-only  only the compiler: enough for `cargo check --features cuda`, which runs
#                   the kernel build but never links (what CI does); saves ~500 MB.
# Environment: PYTHON (default python3); CUDA_COMPUTE_CAP (default 90, the H100/H200; the
# PTX runs on that capability and newer, so set 80 to also cover A100s).
# Progress goes to stderr; a failure exits non-zero with the reason there.
set -euo pipefail

# One CUDA release for every package: cudarc (candle 0.11's CUDA bindings) accepts up to
# 13.4 and panics on 13.5, and a newer nvidia-nvvm than nvcc emits PTX that nvcc's own
# ptxas rejects. 13.0 is also what the driver on the lent GPU machines supports.
COMPILER_PINS=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-cccl==13.0.85
)
LINK_PINS=(
  nvidia-cuda-nvrtc==13.0.88
  nvidia-cublas==13.0.2.14
  nvidia-curand==10.4.0.35
)
# The libraries candle-core 0.11 links (cudarc's `dynamic-linking` with its cublas,
# cublaslt, curand, driver and nvrtc features), besides the driver; candle-kernels' static
# kernels add the CUDA runtime.
LINKED_LIBS=(cublas cublasLt curand nvrtc cudart)

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

compile_only=0
venv=""
while [ $# -gt 0 ]; do
  case "$1" in
    --compile-only) compile_only=1 ;;
    -h | --help) usage ;;
    -*) echo "toolchain.sh: unknown option $1" >&2; usage ;;
    *)
      [ -z "$venv" ] || { echo "toolchain.sh: one VENV_DIR only" >&2; usage; }
      venv="$1"
      ;;
  esac
  shift
done
venv="${venv:-${HOME}/.cache/cuda-venv}"
python="${PYTHON:-python3}"
compute_cap="${CUDA_COMPUTE_CAP:-90}"

log() { printf 'toolchain.sh: %s\n' "$*" >&2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) log "PyPI's nvcc wheels used here are for Linux x86_64 only; install the CUDA toolkit instead"; exit 1 ;;
esac
if ! [[ "$compute_cap" =~ ^[0-9]{2,3}$ ]]; then
  log "CUDA_COMPUTE_CAP=$compute_cap: expected digits such as 80 or 90"
  exit 2
fi

# The repository is never a place for the venv: cargo would walk it and git would see it.
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$(realpath -m "$venv")"
case "$venv/" in
  "$repo_root"/*) log "VENV_DIR $venv is inside the repository; choose a folder outside it"; exit 2 ;;
esac
mkdir -p "$venv"

if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  "$python" -m venv "$venv" >&2
fi
pins=("${COMPILER_PINS[@]}")
[ "$compile_only" = 1 ] || pins+=("${LINK_PINS[@]}")
log "installing ${pins[*]}"
# --no-deps: the pins are the whole set; a dependency resolver would pull a newer nvvm.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "${pins[@]}" >&2

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cuda="$site/nvidia/cu13"
if [ ! -x "$cuda/bin/nvcc" ]; then
  log "nvcc is missing from $cuda/bin after the install"
  exit 1
fi

if [ "$compile_only" = 0 ]; then
  # The wheels ship only versioned files (libcublas.so.13); `-lcublas` needs the plain name.
  for name in "${LINKED_LIBS[@]}"; do
    versioned="$(find "$cuda/lib" -maxdepth 1 -name "lib$name.so.[0-9]*" | sort | head -n 1)"
    if [ -z "$versioned" ]; then
      log "lib$name.so.* is missing from $cuda/lib"
      exit 1
    fi
    ln -sf "$(basename "$versioned")" "$cuda/lib/lib$name.so"
  done
  # The driver stub: every cu* entry point that cuda.h declares, before and after its
  # version macros (cuMemAlloc and cuMemAlloc_v2), each returning
  # CUDA_ERROR_STUB_LIBRARY (34) as NVIDIA's own stub does. Its soname is the driver's, so
  # the binary asks the loader for the real libcuda.so.1 where it runs. It is never put on
  # a library path: found at run time, it would hide the real driver.
  stubs="$cuda/lib/stubs"
  mkdir -p "$stubs"
  src="$stubs/libcuda-stub.c"
  {
    cat "$cuda/include/cuda.h"
    cc -E -P -I"$cuda/include" "$cuda/include/cuda.h"
  } | grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | tr -d '( \t' | sort -u |
    sed 's/.*/int &(void) { return 34; }/' >"$src"
  count="$(wc -l <"$src")"
  if [ "$count" -lt 300 ]; then
    log "only $count driver entry points found in cuda.h; the stub would not link"
    exit 1
  fi
  cc -shared -fPIC -w -Wl,-soname,libcuda.so.1 -o "$stubs/libcuda.so" "$src"
  log "libcuda stub with $count entry points: $stubs/libcuda.so"
fi

log "ready: nvcc $("$cuda/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), CUDA_COMPUTE_CAP=$compute_cap"
# cudarc and candle-kernels read CUDA_ROOT / CUDA_PATH for headers and link folders
# (lib, lib/stubs); nvcc finds its own NVVM and headers through nvcc.profile. LIBRARY_PATH
# is for links that do not come through cudarc's search list (candle-kernels' static
# kernels need cudart).
q() { printf '%q' "$1"; }
echo "export PATH=$(q "$cuda/bin"):\"\$PATH\""
echo "export CUDA_ROOT=$(q "$cuda")"
echo "export CUDA_PATH=$(q "$cuda")"
echo "export CUDA_COMPUTE_CAP=$(q "$compute_cap")"
# candle-kernels compiles its static kernels one file at a time on half the cores by
# default; those ~15 nvcc runs are the longest part of a CUDA build.
echo "export CUDAFORGE_THREADS=$(q "${CUDAFORGE_THREADS:-$(nproc)}")"
if [ "$compile_only" = 0 ]; then
  echo "export LIBRARY_PATH=$(q "$cuda/lib"):$(q "$cuda/lib/stubs")\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
fi
