#!/usr/bin/env bash
# Checks every ACL/aclnn prototype ops-npu declares (ops-npu/csrc/acl_api.h) against the
# vendor's public headers: each `_fn` type is static_asserted equal to the real function's
# type, so a mismatch fails the compile and names the function. Run by hand (CI cannot reach
# the repositories); prints which ops were checked and which have no published header.
#
#   scripts/npu/conformance.sh WORK REPO...
#
# REPO: checkouts or bare git directories of hicann/opbase, ops-nn, ops-math, ops-cv and
# ops-transformer (the search tool's `fetch github:hicann/ops-nn` gives one). WORK receives
# the assembled headers. opbase goes last: several repositories carry a private
# aclnn_util.h under op_api/, and only opbase's public one builds outside CANN.
set -euo pipefail
work=${1:?usage: conformance.sh WORK REPO...}; shift
here=$(cd "$(dirname "$0")/../.." && pwd)
ordered=(); last=()
for r in "$@"; do case "$r" in *opbase*) last+=("$r") ;; *) ordered+=("$r") ;; esac; done
headers=$("$here/../shared/scripts/cann-headers.sh" "$work" "${ordered[@]}" "${last[@]}")
exe=$work/conformance
"${CXX:-c++}" -std=c++17 -Wall -DOPS_NPU_VENDOR_HEADERS -I"$here/ops-npu/csrc" -I"$headers" \
  "$here/ops-npu/tests/conformance/conformance.cc" -o "$exe"
"$exe"
