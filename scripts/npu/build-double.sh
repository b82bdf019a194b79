#!/usr/bin/env bash
# Builds the test-double Ascend runtime (ops-npu/tests/doubles) as a CANN-shaped folder:
#   DIR/lib64/libascendcl.so   runtime (state, memory, streams, counters)
#   DIR/lib64/libnnopbase.so   aclTensor & friends (linked to libascendcl.so)
#   DIR/lib64/libopapi.so      the aclnn ops (linked to both)
#   DIR/share/info/runtime/version.info   Version=<cann>
# so real binaries run against it with ASCEND_HOME_PATH=DIR. The ops-npu tests build their
# variants through this script too (tests/it/doubles.rs), so there is one recipe.
#
# Usage: build-double.sh [options] DIR
#   --soc NAME          what aclrtGetSocName answers (default Ascend910B3)
#   --devices N         aclrtGetDeviceCount (default 1)
#   --memory BYTES      capacity of each device (default 64 GiB)
#   --workspace BYTES   workspace every op asks for (default 65536)
#   --fail-op OP        OP's GetWorkspaceSize fails with 561003 (kernel not installed)
#   --without SYMBOL    leave SYMBOL (and SYMBOLGetWorkspaceSize) out; repeatable
#   --cann VERSION      version.info's Version (default 8.0.RC2; "none" writes no file)
#   --no-opapi          no libopapi.so (a runtime without op packages)
#   --debug             -O0 -g instead of -O1
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src="$here/ops-npu/tests/doubles"
csrc="$here/ops-npu/csrc"
cxx="${CXX:-c++}"

soc="Ascend910B3" devices=1 memory="" workspace="" fail_op="" cann="8.0.RC2" opapi=1 opt="-O2"
without=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --soc) soc="$2"; shift 2 ;;
    --devices) devices="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --workspace) workspace="$2"; shift 2 ;;
    --fail-op) fail_op="$2"; shift 2 ;;
    --without) without+=("$2"); shift 2 ;;
    --cann) cann="$2"; shift 2 ;;
    --no-opapi) opapi=0; shift ;;
    --debug) opt="-O0 -g"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "build-double.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 1 ]] || { echo "usage: build-double.sh [options] DIR (see --help)" >&2; exit 2; }
[[ "$devices" =~ ^[1-9][0-9]*$ ]] || { echo "build-double.sh: --devices needs a positive integer" >&2; exit 2; }
out="$1"
mkdir -p "$out/lib64"
out="$(cd "$out" && pwd)"
lib="$out/lib64"

defs=(-DFAKE_SOC="\"$soc\"" -DFAKE_DEVICES="$devices")
[[ -n "$memory" ]] && defs+=(-DFAKE_MEMORY="${memory}ULL")
[[ -n "$workspace" ]] && defs+=(-DFAKE_WORKSPACE="$workspace")
[[ -n "$fail_op" ]] && defs+=(-DFAKE_FAIL_OP="\"$fail_op\"")

# Omitted symbols become local through a version script, so dlsym cannot find them.
vs="$lib/.exports.map"
{
  echo "{ global: *;"
  if [[ ${#without[@]} -gt 0 ]]; then
    echo "  local:"
    for s in "${without[@]}"; do echo "    $s; ${s}GetWorkspaceSize;"; done
  fi
  echo "};"
} > "$vs"

flags=(-std=c++17 -fPIC -fvisibility=hidden $opt -Wall -I"$src" -I"$csrc" "${defs[@]}")
tmp="$(mktemp -d "$lib/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Objects compile in parallel; each library links once its objects are there.
objects=(runtime nnopbase numeric)
[[ $opapi -eq 1 ]] && objects+=(constraints op_tables opapi ops_elementwise ops_layout ops_matmul ops_norm ops_glu_rope ops_attention)
pids=()
for o in "${objects[@]}"; do
  "$cxx" "${flags[@]}" -c "$src/$o.cc" -o "$tmp/$o.o" & pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "build-double.sh: compiling ${objects[$i]}.cc failed" >&2; failed=1; }
done
[[ $failed -eq 0 ]] || exit 1

link() {  # name objects... -- libraries...
  local name="$1"; shift
  # nodelete: the runtime registers an exit handler (the report), so it must stay mapped.
  "$cxx" -shared -o "$tmp/$name" "$@" -Wl,--version-script="$vs" -Wl,-rpath,'$ORIGIN' -Wl,-z,nodelete -L"$tmp"
}
link libascendcl.so "$tmp/runtime.o"
link libnnopbase.so "$tmp/nnopbase.o" "$tmp/numeric.o" -lascendcl
if [[ $opapi -eq 1 ]]; then
  link libopapi.so "$tmp"/{numeric,constraints,op_tables,opapi,ops_elementwise,ops_layout,ops_matmul,ops_norm,ops_glu_rope,ops_attention}.o -lnnopbase -lascendcl
fi
# Renamed into place so a concurrent reader never sees half a library.
for l in libascendcl.so libnnopbase.so libopapi.so; do
  [[ -f "$tmp/$l" ]] && mv -f "$tmp/$l" "$lib/$l"
done
rm -f "$vs"

if [[ "$cann" != none ]]; then
  mkdir -p "$out/share/info/runtime"
  echo "Version=$cann" > "$out/share/info/runtime/version.info"
fi
echo "export ASCEND_HOME_PATH=$out"
