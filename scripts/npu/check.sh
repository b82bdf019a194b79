#!/usr/bin/env bash
# The NPU check an operator runs on an Ascend host, after
#   source /usr/local/Ascend/ascend-toolkit/set_env.sh
# It prints a Markdown report to paste into an issue (docs/npu-check.md):
#   1. Environment: CANN root and version, SoC, driver, npu-smi, rustc, the checkout's commit,
#      and whether the libraries are the real ones or the test double.
#   2. Build: the workspace (debug profile: dependencies are optimised anyway, see
#      Cargo.toml; --release for the release profile) and ops-npu's test binary.
#   3. Op suite: ops-npu's op-by-op tests (tests/it/npu_ops) against the libraries found,
#      one process per test, candle on the CPU as the reference.
#   4. Models: the tiny SD 2.x fixture and a tiny random HiDream, `--device npu` against
#      `--device cpu`, latents and PNGs compared numerically.
#
#   scripts/npu/check.sh [--report FILE] [options]
#
# Options:
#   --report FILE     also write the report to FILE
#   --release         build and run the release profile
#   --no-build        build nothing: take the binaries from --bin-dir
#   --bin-dir DIR     folder holding sd, hidream, doctor and npu-check-tools (with --no-build;
#                     default: the folder the build wrote them to)
#   --op-suite FILE   ops-npu's test binary (default: with --no-build, the newest
#                     DIR/deps/it-* that lists npu_ops tests)
#   --models LIST     comma-separated model cases: sd, hidream (default sd,hidream)
#   --work DIR        keep outputs and logs in DIR (default: a temporary folder, removed)
# Exit status: 0 nothing failed (a model case may be not-available); 1 a section failed;
# 2 bad arguments.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
report_file=""
profile=debug
build=1
bin_dir=""
op_suite=""
models="sd,hidream"
work=""

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "check.sh: $*" >&2
  exit 2
}
need_value() {
  [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
}
say() {
  echo "check.sh: $*" >&2
}
# An unexpected failure ends the script (set -e); it should not end it silently.
trap 'echo "check.sh: line $LINENO: a command failed unexpectedly (exit $?)" >&2' ERR

while [[ $# -gt 0 ]]; do
  case "$1" in
    --report) need_value "$@"; report_file="$2"; shift ;;
    --release) profile=release ;;
    --no-build) build=0 ;;
    --bin-dir) need_value "$@"; bin_dir="$2"; shift ;;
    --op-suite) need_value "$@"; op_suite="$2"; shift ;;
    --models) need_value "$@"; models="$2"; shift ;;
    --work) need_value "$@"; work="$2"; shift ;;
    -h | --help) usage ;;
    *) die "unknown argument $1 (--help lists the options)" ;;
  esac
  shift
done

run_sd=0 run_hidream=0
IFS=, read -r -a model_list <<<"$models"
for m in "${model_list[@]}"; do
  case "$m" in
    sd) run_sd=1 ;;
    hidream) run_hidream=1 ;;
    *) die "--models $models: expected a comma-separated list of sd, hidream" ;;
  esac
done
if [[ $build -eq 0 ]]; then
  [[ -n "$bin_dir" ]] || die "--no-build needs --bin-dir DIR (the folder with sd, hidream, doctor, npu-check-tools)"
fi
if [[ -n "$bin_dir" ]]; then
  [[ -d "$bin_dir" ]] || die "--bin-dir $bin_dir is not a folder"
  bin_dir="$(cd "$bin_dir" && pwd)"
fi
[[ -z "$op_suite" || -x "$op_suite" ]] || die "--op-suite $op_suite is not an executable"
tiny_sd="$repo/pipelines/tests/fixtures/sd2/tiny-sd2"
[[ -f "$tiny_sd/model_index.json" ]] || die "$tiny_sd is missing: run from a checkout of the repository"

if [[ -n "$work" ]]; then
  mkdir -p "$work"
  work="$(cd "$work" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/npu-check.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

# The report is assembled in pieces: a summary table needs every section's verdict first.
env_md="$work/env.md" build_md="$work/build.md" ops_md="$work/ops.md" models_md="$work/models.md"
for f in "$env_md" "$build_md" "$ops_md" "$models_md"; do : >"$f"; done

# The last lines of a log, fenced, for a report cell that failed.
tail_block() {
  local file="$1" lines="${2:-20}"
  echo
  echo '```text'
  # A fence inside the log would end the block early; the quotes keep the backticks literal.
  # shellcheck disable=SC2016
  tail -n "$lines" "$file" | sed 's/```/`` `/g'
  echo '```'
}

### 1. Environment ##########################################################################
# The CANN root the binaries will open: the device crate's order ($ASCEND_HOME_PATH,
# $ASCEND_TOOLKIT_HOME, the default install), the first one with lib64/libascendcl.so.
root=""
for candidate in "${ASCEND_HOME_PATH:-}" "${ASCEND_TOOLKIT_HOME:-}" /usr/local/Ascend/ascend-toolkit/latest; do
  if [[ -n "$candidate" && -f "$candidate/lib64/libascendcl.so" ]]; then
    root="$(cd "$candidate" && pwd)"
    break
  fi
done
# The test double's libascendcl.so exports its counters (fake_live_descriptors and friends,
# docs/npu-double.md); no vendor library has such a symbol, so its name in the dynamic
# symbol table is the marker. grep -a reads the ELF file without needing binutils.
libraries=none
if [[ -n "$root" ]]; then
  if grep -qa fake_live_descriptors "$root/lib64/libascendcl.so"; then
    libraries=double
  else
    libraries=real
  fi
fi
case "$libraries" in
  real) libraries_line="**Ran against: real Ascend libraries** ($root)." ;;
  double) libraries_line="**Ran against: the test double** ($root, built by scripts/npu/build-double.sh): not hardware; the vendor kernels' numerics are not tested." ;;
  none) libraries_line="**Ran against: nothing**: no CANN root with lib64/libascendcl.so (source /usr/local/Ascend/ascend-toolkit/set_env.sh first)." ;;
esac
say "libraries: $libraries${root:+ at $root}"

cann_version=unknown
if [[ -n "$root" && -f "$root/share/info/runtime/version.info" ]]; then
  cann_version="$(sed -n 's/^Version=//p' "$root/share/info/runtime/version.info" | head -n 1)"
  cann_version="${cann_version:-unknown}"
fi
commit="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$repo" status --porcelain 2>/dev/null || true)" ]]; then
  commit="$commit (with uncommitted changes)"
fi
rustc_version="$(rustc --version 2>/dev/null || echo 'not found')"
npu_smi="not found"
if command -v npu-smi >/dev/null 2>&1; then
  npu_smi="$(npu-smi info 2>&1 | head -n 30 || true)"
fi

### 2. Build ################################################################################
build_verdict=skipped
if [[ $build -eq 1 ]]; then
  say "building the workspace ($profile profile)"
  cargo_profile=()
  [[ $profile == release ]] && cargo_profile=(--release)
  start=$SECONDS
  if (cd "$repo" && cargo build --workspace --bins "${cargo_profile[@]}" --message-format=json \
    >"$work/build.json" 2>"$work/build.log") &&
    (cd "$repo" && cargo test -p ops-npu --test it --no-run "${cargo_profile[@]}" \
      --message-format=json >"$work/build-tests.json" 2>>"$work/build.log"); then
    build_verdict=pass
    # The folder cargo wrote the binaries to, and the op suite's executable, from cargo's
    # own messages (CARGO_TARGET_DIR and config files are honoured that way).
    sd_exe="$(grep -o '"executable":"[^"]*/sd"' "$work/build.json" | head -n 1 | sed 's/^"executable":"//; s/"$//' || true)"
    [[ -n "$bin_dir" || -z "$sd_exe" ]] || bin_dir="$(dirname "$sd_exe")"
    [[ -n "$op_suite" ]] || op_suite="$(grep '"name":"it"' "$work/build-tests.json" | grep 'ops-npu' |
      grep -o '"executable":"[^"]*"' | head -n 1 | sed 's/^"executable":"//; s/"$//' || true)"
  else
    build_verdict=fail
  fi
  took=$((SECONDS - start))
  {
    echo "Verdict: **$build_verdict**"
    echo
    echo "\`cargo build --workspace --bins${cargo_profile[*]/#/ }\` and \`cargo test -p ops-npu --test it --no-run${cargo_profile[*]/#/ }\` ($profile profile) in ${took} s."
    [[ $build_verdict == pass ]] || tail_block "$work/build.log" 40
  } >"$build_md"
else
  echo "Verdict: **skipped** (--no-build: binaries from $bin_dir)" >"$build_md"
fi

# With --no-build, the op suite is the newest ops-npu test binary in DIR/deps: every
# crate's integration tests are a binary called `it`, so it is told apart by what it lists.
if [[ -z "$op_suite" && -n "$bin_dir" && -d "$bin_dir/deps" ]]; then
  while IFS= read -r candidate; do
    # grep without -q reads the whole list: an early exit would break the pipe (pipefail).
    if "$candidate" --list 2>/dev/null | grep '^npu_ops::' >/dev/null; then
      op_suite="$candidate"
      break
    fi
  done < <(find "$bin_dir/deps" -maxdepth 1 -type f -name 'it-*' -perm -u+x ! -name '*.d' -printf '%T@ %p\n' |
    sort -rn | cut -d' ' -f2-)
fi

bins_ok=1
for b in sd hidream doctor npu-check-tools; do
  [[ -n "$bin_dir" && -x "$bin_dir/$b" ]] || bins_ok=0
done

# A check's detail in doctor's JSON (one key per line, "id" first, then "status", "detail").
doctor_detail() {
  grep -A3 "\"id\": \"$1\"" "$work/doctor.json" | sed -n 's/.*"detail": "\(.*\)",*$/\1/p' | head -n 1 || true
}

# doctor gives the SoC and driver as the toolkit sees them (in a child process; see its --help).
soc=unknown driver=unknown doctor_md=""
if [[ -n "$bin_dir" && -x "$bin_dir/doctor" ]]; then
  "$bin_dir/doctor" --json --no-python >"$work/doctor.json" 2>/dev/null || true
  soc="$(doctor_detail npu.soc)" driver="$(doctor_detail npu.versions)"
  soc="${soc:-unknown}" driver="${driver:-unknown}"
  doctor_md="$("$bin_dir/doctor" --markdown --no-python 2>&1 || true)"
fi

{
  case "$libraries" in
    real) echo "- Libraries: real Ascend libraries" ;;
    double) echo "- Libraries: test double (libascendcl.so exports the double's fake_* counters)" ;;
    none) echo "- Libraries: none found" ;;
  esac
  echo "- CANN root: ${root:-none found}"
  echo "- CANN version: $cann_version"
  echo "- SoC (doctor): $soc"
  echo "- Versions (doctor): $driver"
  echo "- rustc: $rustc_version"
  echo "- Commit: $commit"
  echo "- Host: $(uname -srm)"
  echo
  echo "<details><summary>npu-smi info</summary>"
  echo
  echo '```text'
  echo "$npu_smi"
  echo '```'
  echo
  echo "</details>"
  if [[ -n "$doctor_md" ]]; then
    echo
    echo "<details><summary>doctor --markdown</summary>"
    echo
    echo "$doctor_md"
    echo
    echo "</details>"
  fi
} >"$env_md"

### 3. Op suite #############################################################################
ops_verdict=fail ops_pass=0 ops_fail=0 ops_skip=0
if [[ $libraries == none ]]; then
  echo "Verdict: **fail**: no libraries to test (see Environment)." >"$ops_md"
elif [[ -z "$op_suite" ]]; then
  echo "Verdict: **fail**: no ops-npu test binary (build it, or pass --op-suite FILE)." >"$ops_md"
else
  say "op suite: $op_suite against $root"
  mapfile -t tests < <("$op_suite" --list 2>/dev/null | sed -n 's/: test$//p' | grep '^npu_ops::' || true)
  rows="$work/ops-rows.md" failures="$work/ops-failures.md"
  : >"$rows"
  : >"$failures"
  start=$SECONDS
  for t in "${tests[@]}"; do
    log="$work/op-${t//::/-}.log"
    t0=$SECONDS
    # One test per process, as under nextest: the runtime is opened once per process. No
    # backtrace, so the tail of a failure's log is its panic message.
    if OPS_NPU_LIBRARIES="$root" OPS_NPU_PROCESS_PER_TEST=1 RUST_BACKTRACE=0 timeout 300 \
      "$op_suite" --exact "$t" --nocapture --test-threads 1 >"$log" 2>&1; then
      result=pass
    else
      result=fail
    fi
    # libtest prints a test's output after "test NAME ... " on the same line: no anchor.
    notes="$(sed -n 's/.*ops-npu-\(skip\|note\): [^ ]*: /\1: /p' "$log" | sort -u | paste -sd ';' - || true)"
    if [[ $result == pass && $notes == skip:* ]]; then
      result=skipped
      ops_skip=$((ops_skip + 1))
    elif [[ $result == pass ]]; then
      ops_pass=$((ops_pass + 1))
    else
      ops_fail=$((ops_fail + 1))
      {
        echo
        echo "#### $t"
        tail_block "$log" 25
      } >>"$failures"
    fi
    echo "| \`${t#npu_ops::}\` | $result | $((SECONDS - t0)) | ${notes:-} |" >>"$rows"
  done
  if [[ ${#tests[@]} -eq 0 ]]; then
    ops_verdict=fail
  elif [[ $ops_fail -eq 0 ]]; then
    ops_verdict=pass
  fi
  {
    echo "Verdict: **$ops_verdict** ($ops_pass passed, $ops_fail failed, $ops_skip skipped of ${#tests[@]}, in $((SECONDS - start)) s)"
    echo
    echo "ops-npu's op-by-op suite (ops-npu/tests/it/npu_ops) with \`OPS_NPU_LIBRARIES=$root\`, each op against candle on the CPU. Skipped tests need the test double itself (a variant or its counters)."
    # The suite's expectations are Atlas A2/A3's; elsewhere the rules table refuses ops and
    # dtypes before launch, and those refusals fail tests without saying anything about the
    # hardware.
    case "$soc" in
      *Ascend910B* | *Ascend910_93*) ;;
      *)
        echo
        echo "Note: the suite expects an Atlas A2/A3 part (Ascend910B*, Ascend910_93*); on $soc, failures that read \"not available on\" or \"does not support\" are the rules table's refusals before launch, not hardware results."
        ;;
    esac
    echo
    echo "| test | result | s | note |"
    echo "|---|---|---|---|"
    cat "$rows"
    cat "$failures"
  } >"$ops_md"
fi

### 4. Models ###############################################################################
prompt="a photograph of an astronaut riding a horse"
cmd_log="$work/commands.txt"
: >"$cmd_log"
model_rows="$work/model-rows.md" model_details="$work/model-details.md"
: >"$model_rows"
: >"$model_details"
model_fail=0 model_na=0 model_pass=0

# run_logged LOG CMD...: runs CMD with its output in LOG, records the command; sets $rc.
run_logged() {
  local log="$1"
  shift
  printf '%q ' "$@" >>"$cmd_log"
  echo >>"$cmd_log"
  rc=0
  timeout 900 "$@" >"$log" 2>&1 || rc=$?
}

# model_case NAME CPU_LATENTS CPU_PNG NPU_PREFIX ATOL REL PNG_BOUND NPU-COMMAND...: runs the
# NPU command (which must write NPU_PREFIX.safetensors and NPU_PREFIX.png) and compares
# with the CPU run's outputs.
model_case() {
  local name="$1" cpu_lat="$2" cpu_png="$3" npu="$4" atol="$5" rel="$6" png_bound="$7"
  shift 7
  local log="$npu.log" verdict detail lat_out png_out lat_rc=0 png_rc=0
  say "model: $name"
  run_logged "$log" "$@"
  if [[ $rc -eq 0 ]]; then
    lat_out="$("$bin_dir/npu-check-tools" compare-latents "$npu.safetensors" "$cpu_lat" --atol "$atol" --rel "$rel" 2>&1)" || lat_rc=$?
    png_out="$("$bin_dir/npu-check-tools" compare-png "$npu.png" "$cpu_png" --max-diff "$png_bound" 2>&1)" || png_rc=$?
    detail="latents: $lat_out; png: $png_out"
    if [[ $lat_rc -eq 0 && $png_rc -eq 0 ]]; then verdict=pass; else verdict=fail; fi
  elif grep -q 'does not exist yet' "$log"; then
    # The CLI refuses the NPU outright: the path is not built yet, which is not a failure
    # of what exists.
    verdict=not-available
    detail="the NPU run exited $rc: $(grep -m1 'does not exist yet' "$log" | cut -c1-160)"
  else
    verdict=fail
    detail="the NPU run exited $rc"
  fi
  case "$verdict" in
    pass) model_pass=$((model_pass + 1)) ;;
    fail) model_fail=$((model_fail + 1)) ;;
    not-available) model_na=$((model_na + 1)) ;;
  esac
  echo "| $name | $verdict | ${detail//|/\\|} |" >>"$model_rows"
  if [[ $verdict != pass ]]; then
    {
      echo
      echo "#### $name: $verdict"
      echo
      echo "\`$(printf '%q ' "$@")\`"
      tail_block "$log" 15
    } >>"$model_details"
  fi
}

# cpu_reference NAME LOG CMD...: the CPU run every NPU case of a model is held to.
cpu_reference() {
  local name="$1" log="$2"
  shift 2
  say "model: $name (cpu reference)"
  run_logged "$log" "$@"
  if [[ $rc -ne 0 ]]; then
    model_fail=$((model_fail + 1))
    echo "| $name | fail | the CPU reference run exited $rc |" >>"$model_rows"
    {
      echo
      echo "#### $name: fail"
      echo
      echo "\`$(printf '%q ' "$@")\`"
      tail_block "$log" 15
    } >>"$model_details"
    return 1
  fi
}

if [[ $bins_ok -eq 0 ]]; then
  echo "| all | fail | sd, hidream, doctor or npu-check-tools is missing from ${bin_dir:-the build} |" >>"$model_rows"
  model_fail=1
else
  m="$work/models"
  mkdir -p "$m"
  if [[ $run_sd -eq 1 ]]; then
    sd_args=(--model "$tiny_sd" -p "$prompt" --steps 4 -g 7.5 -s 0 -W 32 -H 32 --scheduler ddim)
    if cpu_reference "sd f32 cpu" "$m/sd-cpu.log" "$bin_dir/sd" "${sd_args[@]}" --dtype f32 \
      --device cpu --save-latents "$m/sd-cpu.safetensors" -o "$m/sd-cpu.png"; then
      # f32: a bound that allows for a matmul mode with fewer mantissa bits (HFLOAT32 on
      # A2/A3) but not for a wrong op; f16: half precision on a random model, garbage only.
      model_case "sd f32 (npu vs cpu)" "$m/sd-cpu.safetensors" "$m/sd-cpu.png" "$m/sd-npu-f32" \
        1e-3 1e-2 8 "$bin_dir/sd" "${sd_args[@]}" --dtype f32 --device npu \
        --save-latents "$m/sd-npu-f32.safetensors" -o "$m/sd-npu-f32.png"
      model_case "sd f16 (npu f16 vs cpu f32)" "$m/sd-cpu.safetensors" "$m/sd-cpu.png" "$m/sd-npu-f16" \
        0.05 0.02 32 "$bin_dir/sd" "${sd_args[@]}" --dtype f16 --device npu \
        --save-latents "$m/sd-npu-f16.safetensors" -o "$m/sd-npu-f16.png"
    fi
  else
    echo "| sd | skipped | not in --models |" >>"$model_rows"
  fi
  if [[ $run_hidream -eq 1 ]]; then
    if "$bin_dir/npu-check-tools" tiny-hidream "$m/tiny" >"$m/tiny.log" 2>&1; then
      hd_args=(generate --model "$m/tiny/hidream-tiny" --llama "$m/tiny/llama-tiny" -p "a cat"
        --variant dev --steps 2 -s 0 -W 1024 -H 1024)
      if cpu_reference "hidream f32 cpu" "$m/hd-cpu.log" "$bin_dir/hidream" "${hd_args[@]}" \
        --dtype f32 --device cpu --save-latents "$m/hd-cpu.safetensors" -o "$m/hd-cpu.png"; then
        model_case "hidream f32 (npu vs cpu)" "$m/hd-cpu.safetensors" "$m/hd-cpu.png" "$m/hd-npu-f32" \
          1e-3 1e-2 8 "$bin_dir/hidream" "${hd_args[@]}" --dtype f32 --device npu \
          --save-latents "$m/hd-npu-f32.safetensors" -o "$m/hd-npu-f32.png"
        # HiDream is published in bf16, which 310P and 910A parts lack: there the case is
        # skipped, not failed (doctor's npu.bf16 check says which it is).
        bf16="$(doctor_detail npu.bf16)"
        if [[ $bf16 == "bf16 supported"* ]]; then
          model_case "hidream bf16 (npu bf16 vs cpu f32)" "$m/hd-cpu.safetensors" "$m/hd-cpu.png" \
            "$m/hd-npu-bf16" 0.05 0.05 64 "$bin_dir/hidream" "${hd_args[@]}" --dtype bf16 \
            --device npu --save-latents "$m/hd-npu-bf16.safetensors" -o "$m/hd-npu-bf16.png"
        else
          echo "| hidream bf16 (npu bf16 vs cpu f32) | skipped | doctor: ${bf16:-no answer about bf16} |" >>"$model_rows"
        fi
      fi
    else
      model_fail=$((model_fail + 1))
      echo "| hidream | fail | writing the tiny model failed: $(tail -n 1 "$m/tiny.log") |" >>"$model_rows"
    fi
  else
    echo "| hidream | skipped | not in --models |" >>"$model_rows"
  fi
fi
if [[ $model_fail -gt 0 ]]; then
  models_verdict=fail
elif [[ $model_na -gt 0 ]]; then
  models_verdict=not-available
elif [[ $model_pass -gt 0 ]]; then
  models_verdict=pass
else
  models_verdict=skipped
fi
{
  echo "Verdict: **$models_verdict** ($model_pass passed, $model_fail failed, $model_na not available)"
  echo
  echo "Tiny models with random weights, the same seed on both devices: \`--device npu\` against \`--device cpu\` (f32). Latents pass within max(atol, rel x max|cpu|); PNGs within the given levels."
  echo
  echo "| case | verdict | detail |"
  echo "|---|---|---|"
  cat "$model_rows"
  cat "$model_details"
  if [[ -s "$cmd_log" ]]; then
    echo
    echo "<details><summary>commands</summary>"
    echo
    echo '```sh'
    sed "s|$work|\$WORK|g" "$cmd_log"
    echo '```'
    echo
    echo "</details>"
  fi
} >"$models_md"

### Report ##################################################################################
overall=pass
for v in "$build_verdict" "$ops_verdict" "$models_verdict"; do
  case "$v" in
    fail) overall=fail ;;
    not-available) [[ $overall == fail ]] || overall=incomplete ;;
  esac
done
report="$work/report.md"
{
  echo "# NPU check"
  echo
  echo "$libraries_line"
  echo
  echo "Overall: **$overall** (scripts/npu/check.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), $profile profile)"
  echo
  echo "| section | verdict |"
  echo "|---|---|"
  echo "| Environment | info |"
  echo "| Build | $build_verdict |"
  echo "| Op suite | $ops_verdict |"
  echo "| Models | $models_verdict |"
  echo
  echo "## Environment"
  echo
  cat "$env_md"
  echo
  echo "## Build"
  echo
  cat "$build_md"
  echo
  echo "## Op suite"
  echo
  cat "$ops_md"
  echo
  echo "## Models"
  echo
  cat "$models_md"
} >"$report"
cat "$report"
[[ -z "$report_file" ]] || cp "$report" "$report_file"
# An explicit exit: a failing test as the last command would also trip the ERR trap.
if [[ $overall == fail ]]; then exit 1; fi
exit 0
