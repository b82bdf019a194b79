#!/usr/bin/env bash
# The CUDA check for a machine with an NVIDIA GPU, its driver and PyTorch, but no Rust
# toolchain and no network: the binaries are built elsewhere with `--features cuda`
# (docs/cuda.md) and carried here with the repository.
#
#   scripts/gpu/check.sh --bin-dir DIR [--out DIR] [options]
#
# 1. Parity: the tiny SD 2.x model (the committed test fixture) and the tiny HiDream edit
#    demo run on the CPU and on the GPU from the same binary, same seed; the GPU's f32
#    output must match the CPU's within the bound the parity tests hold the CPU to against
#    diffusers (1e-4, or 5e-6 of the largest latent), and one PNG level for images. f16 and
#    bf16 runs must finish and stay within a loose bound (their rounding, not a bug).
# 2. Speed: sd-bench's SD 2.1-base UNet step (random weights) at 512 and 768, batch 2,
#    f16, against diffusers on the same GPU when `import diffusers` works (--wheels DIR
#    installs it first, offline, into a venv under --out); with --sd-model DIR (the
#    SD 2.1-base weights), a 50-step 512x512 image, end to end.
# 3. A report: report.json and report.md in --out, with the GPU named.
#
# Options:
#   --bin-dir DIR     folder holding sd, sd-bench and hidream-edit (required)
#   --out DIR         where the report and outputs go (default: ./gpu-check)
#   --device D        cuda, cuda:N or cpu (default cuda). cpu runs the parity steps
#                     CPU against CPU: a rehearsal of the script on any machine
#   --wheels DIR      Python wheels (diffusers and what it needs) to install offline
#   --sd-model DIR    SD 2.1-base in diffusers' layout, for the end-to-end time
#   --skip-bench      parity only
#   --budget S        stop starting new steps after S seconds (default 420)
#   --dry-run         check the inputs and print the steps, run nothing
# Exit status: 0 every check passed; 1 a check failed; 2 bad arguments or inputs.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin_dir=""
out="gpu-check"
device="cuda"
wheels=""
sd_model=""
skip_bench=0
budget=420
dry_run=0

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "check.sh: $*" >&2
  exit 2
}
need_value() {
  [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) need_value "$@"; bin_dir="$2"; shift ;;
    --out) need_value "$@"; out="$2"; shift ;;
    --device) need_value "$@"; device="$2"; shift ;;
    --wheels) need_value "$@"; wheels="$2"; shift ;;
    --sd-model) need_value "$@"; sd_model="$2"; shift ;;
    --budget) need_value "$@"; budget="$2"; shift ;;
    --skip-bench) skip_bench=1 ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage ;;
    *) die "unknown argument $1 (--help lists the options)" ;;
  esac
  shift
done

[ -n "$bin_dir" ] || die "--bin-dir is required: the folder with the --features cuda binaries"
[[ "$device" =~ ^(cpu|cuda|cuda:[0-9]+)$ ]] || die "--device $device: expected cuda, cuda:N or cpu"
[[ "$budget" =~ ^[0-9]+$ ]] || die "--budget $budget: expected whole seconds"
for b in sd sd-bench hidream-edit; do
  [ -x "$bin_dir/$b" ] || die "$bin_dir/$b is missing or not executable"
done
[ -z "$wheels" ] || [ -d "$wheels" ] || die "--wheels $wheels is not a folder"
[ -z "$sd_model" ] || [ -f "$sd_model/model_index.json" ] ||
  die "--sd-model $sd_model has no model_index.json"
tiny_sd="$repo/pipelines/tests/fixtures/sd2/tiny-sd2"
[ -f "$tiny_sd/model_index.json" ] || die "$tiny_sd is missing: run from a checkout of the repository"
command -v python3 >/dev/null || die "python3 is needed for the comparisons and the report"
on_gpu=1
[ "$device" != cpu ] || { on_gpu=0; skip_bench=1; }

# The binaries link cuBLAS, cuRAND and NVRTC; on a machine with PyTorch they come with
# torch's nvidia-* wheels, which are not on the loader's path by default.
if [ "$on_gpu" = 1 ]; then
  libs="$(python3 - <<'EOF' 2>/dev/null || true
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
dirs = sorted({os.path.dirname(p) for r in roots
               for p in glob.glob(os.path.join(r, "nvidia", "*", "lib", "lib*.so*"))})
print(":".join(dirs))
EOF
)"
  [ -z "$libs" ] || export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

prompt="a photograph of an astronaut riding a horse"
sd_common=(--model "$tiny_sd" -p "$prompt" --steps 4 -g 7.5 -s 0 -W 32 -H 32)
plan=(
  "sd ddim f32, sd euler-a f32, sd dpm++2m f32: $device vs cpu latents"
  "sd ddim f16 on $device vs cpu f32 (loose bound)"
  "hidream-edit --demo f32: $device vs cpu PNG; bf16 on $device runs"
)
[ "$skip_bench" = 1 ] || plan+=(
  "sd-bench --device $device --dtype f16 --batch 2 --size 512 and 768 (both attentions); diffusers the same"
  "${sd_model:+sd --model $sd_model --steps 50 --dtype f16, end to end}"
)
if [ "$dry_run" = 1 ]; then
  echo "check.sh: would run, within ${budget} s, writing to $out:"
  for step in "${plan[@]}"; do [ -z "$step" ] || echo "  - $step"; done
  exit 0
fi

mkdir -p "$out"
out="$(cd "$out" && pwd)"
cases="$out/cases.jsonl"
: >"$cases"
log="$out/check.log"
: >"$log"
failed=0

# Appends one case to cases.jsonl: name, status (pass/fail/skipped), seconds, details.
record() {
  python3 - "$cases" "$@" <<'EOF'
import json, sys
path, name, status, secs, detail = sys.argv[1:6]
try:
    detail = json.loads(detail)
except ValueError:
    pass
with open(path, "a") as f:
    f.write(json.dumps({"name": name, "status": status, "seconds": float(secs),
                        "detail": detail}) + "\n")
EOF
}

# run NAME TIMEOUT CMD...: runs with a time limit, output to check.log; skipped once the
# budget is spent. Sets $status and $took.
run() {
  local name="$1" limit="$2"
  shift 2
  status=skipped took=0
  if [ "$SECONDS" -ge "$budget" ]; then
    echo "== $name: skipped, the ${budget} s budget is spent" | tee -a "$log" >&2
    return 0
  fi
  echo "== $name: $*" >>"$log"
  local start=$SECONDS
  if timeout "$limit" "$@" >>"$log" 2>&1; then status=ok; else status=fail; fi
  took=$((SECONDS - start))
  echo "== $name: $status in ${took}s" | tee -a "$log" >&2
}

# compare NAME COMPARE-ARGS...: records the comparison's verdict.
compare() {
  local name="$1" result rc=0
  shift
  result="$(python3 "$repo/scripts/gpu/compare.py" "$@")" || rc=$?
  if [ "$rc" = 0 ]; then record "$name" pass "$took" "$result"; else
    record "$name" fail "$took" "$result"
    failed=1
  fi
}

# One run on the device that must succeed, and its output compared.
device_case() {
  local name="$1"
  shift
  run "$name" 120 "$@"
  case "$status" in
    skipped) record "$name" skipped 0 '"budget spent"'; return 1 ;;
    fail) record "$name" fail "$took" '"the run failed; see check.log"'; failed=1; return 1 ;;
  esac
}

gpu_json='null'
if [ "$on_gpu" = 1 ] && command -v nvidia-smi >/dev/null; then
  gpu_json="$(nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total \
    --format=csv,noheader | head -n 1 | python3 -c '
import json, sys
name, cap, driver, mem = [x.strip() for x in sys.stdin.read().split(",")]
print(json.dumps({"name": name, "compute_cap": cap, "driver": driver, "memory": mem}))')"
fi

# 1. Parity.
for sched in ddim euler-a dpm++2m; do
  cpu_out="$out/sd-$sched-cpu.safetensors"
  dev_out="$out/sd-$sched-${device//:/-}.safetensors"
  device_case "sd $sched f32 cpu" "$bin_dir/sd" "${sd_common[@]}" --scheduler "$sched" \
    --dtype f32 --device cpu --save-latents "$cpu_out" -o "$out/sd-$sched-cpu.png" || continue
  device_case "sd $sched f32 $device" "$bin_dir/sd" "${sd_common[@]}" --scheduler "$sched" \
    --dtype f32 --device "$device" --save-latents "$dev_out" -o "$out/sd-$sched-dev.png" || continue
  compare "sd $sched f32: $device vs cpu" latents "$dev_out" "$cpu_out" latents
done
if [ -f "$out/sd-ddim-cpu.safetensors" ]; then
  half=f16
  [ "$on_gpu" = 1 ] || half=bf16
  if device_case "sd ddim $half $device" "$bin_dir/sd" "${sd_common[@]}" --scheduler ddim \
    --dtype "$half" --device "$device" --save-latents "$out/sd-ddim-half.safetensors" \
    -o "$out/sd-ddim-half.png"; then
    # Half precision on a random tiny model: a bound that catches garbage, not rounding.
    compare "sd ddim $half: $device vs cpu f32 (loose)" latents "$out/sd-ddim-half.safetensors" \
      "$out/sd-ddim-cpu.safetensors" latents --atol 0.05 --rel 0.02
  fi
fi
if device_case "hidream-edit demo f32 cpu" "$bin_dir/hidream-edit" --demo --dtype f32 \
  --device cpu --output "$out/hidream-cpu.png" &&
  device_case "hidream-edit demo f32 $device" "$bin_dir/hidream-edit" --demo --dtype f32 \
    --device "$device" --output "$out/hidream-dev.png"; then
  compare "hidream-edit demo f32: $device vs cpu" png "$out/hidream-dev.png" "$out/hidream-cpu.png" \
    --max-diff 1
fi
if device_case "hidream-edit demo bf16 $device" "$bin_dir/hidream-edit" --demo --dtype bf16 \
  --device "$device" --output "$out/hidream-bf16.png"; then
  record "hidream-edit demo bf16 $device" pass "$took" '"finished"'
fi

# 2. Speed.
python=python3
if [ "$skip_bench" = 0 ] && [ -n "$wheels" ]; then
  run "install diffusers from $wheels" 120 sh -c \
    "python3 -m venv --system-site-packages '$out/venv' && '$out/venv/bin/pip' install --no-index --find-links '$wheels' diffusers"
  [ "$status" != ok ] || python="$out/venv/bin/python"
fi
bench_case() {
  local name="$1" file="$2"
  shift 2
  # The inner shell expands "$@" and "$0" (the JSON file) itself, so no quoting can break.
  # shellcheck disable=SC2016
  run "$name" 150 sh -c '"$@" > "$0"' "$file" "$@"
  case "$status" in
    ok) record "$name" pass "$took" "$(tail -n 1 "$file")" ;;
    skipped) record "$name" skipped 0 '"budget spent"' ;;
    *) record "$name" fail "$took" '"see check.log"'; failed=1 ;;
  esac
}
if [ "$skip_bench" = 0 ]; then
  have_diffusers=0
  "$python" -c 'import diffusers, torch' 2>/dev/null && have_diffusers=1
  for size in 512 768; do
    bench_case "sd-bench unet step $size f16 batch 2" "$out/bench-ours-$size.json" \
      "$bin_dir/sd-bench" --device "$device" --dtype f16 --size "$size" --batch 2 \
      --runs baseline --warmup 2 --steps 5 --json
    # The plain candle attention in f16 against the default's f32 composite (docs/cuda.md).
    bench_case "sd-bench unet step $size f16 batch 2, --attention naive" \
      "$out/bench-ours-naive-$size.json" "$bin_dir/sd-bench" --device "$device" --dtype f16 \
      --size "$size" --batch 2 --attention naive --runs baseline --warmup 2 --steps 5 --json
    if [ "$have_diffusers" = 1 ]; then
      bench_case "diffusers unet step $size f16 batch 2" "$out/bench-diffusers-$size.json" \
        "$python" "$repo/scripts/bench/sd_unet_torch.py" --device "$device" --dtype f16 \
        --size "$size" --batch 2 --warmup 2 --steps 5 --json
    else
      record "diffusers unet step $size f16 batch 2" skipped 0 '"diffusers is not importable; pass --wheels DIR"'
    fi
  done
  if [ -n "$sd_model" ]; then
    bench_case "sd 50 steps 512 f16 end to end" "$out/e2e.json" "$bin_dir/sd" --model "$sd_model" \
      -p "$prompt" --steps 50 -s 0 --dtype f16 --device "$device" --json -o "$out/e2e.png"
  else
    record "sd 50 steps 512 f16 end to end" skipped 0 '"no --sd-model (SD 2.1-base weights) given"'
  fi
fi

# 3. The report.
python3 - "$out" "$device" "$gpu_json" "$SECONDS" <<'EOF'
import json, sys
out, device, gpu, total = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
cases = [json.loads(line) for line in open(f"{out}/cases.jsonl")]
report = {"device": device, "gpu": gpu, "seconds": total, "cases": cases,
          "passed": all(c["status"] != "fail" for c in cases)}
with open(f"{out}/report.json", "w") as f:
    json.dump(report, f, indent=2)
card = gpu["name"] if gpu else device
lines = [f"# CUDA check on {card}", "",
         f"{len(cases)} cases in {total} s; " + ("all passed or skipped." if report["passed"] else "FAILURES below."),
         "", "| case | status | s | detail |", "|---|---|---|---|"]
for c in cases:
    d = c["detail"]
    if isinstance(d, dict):
        keys = ("max_abs_diff", "bound", "unet_step_s", "peak_bytes", "gpu_used_bytes", "peak_gpu_bytes", "seconds")
        d = ", ".join(f"{k}={d[k]}" for k in keys if d.get(k) is not None) or json.dumps(d)[:120]
    lines.append(f"| {c['name']} | {c['status']} | {c['seconds']:.0f} | {d} |")
# Ours against diffusers per size: above 1 means candle is faster.
import os
ratios = {}
for size in (512, 768):
    paths = [f"{out}/bench-{who}-{size}.json" for who in ("ours", "diffusers")]
    if all(os.path.exists(p) and os.path.getsize(p) for p in paths):
        try:
            ours, theirs = (json.loads(open(p).read().strip().splitlines()[-1]) for p in paths)
            ratios[str(size)] = theirs["unet_step_s"]["baseline"] / ours["unet_step_s"]["baseline"]
        except (ValueError, KeyError, ZeroDivisionError, IndexError):
            pass
report["diffusers_over_ours"] = ratios
with open(f"{out}/report.json", "w") as f:
    json.dump(report, f, indent=2)
lines += [""] + [f"UNet step at {k}: diffusers / ours = {v:.2f} (above 1: ours is faster)"
                 for k, v in ratios.items()]
with open(f"{out}/report.md", "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
exit "$failed"
