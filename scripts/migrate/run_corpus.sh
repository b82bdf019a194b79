#!/usr/bin/env bash
# Runs every program of migrate/tests/corpus before and after migration with a CPU-only
# torch and judges each against MIGRATION.md's principle (scripts/migrate/corpus_verdict.py).
#
#   scripts/migrate/run_corpus.sh VENV [MIGRATE_BINARY]
#
# VENV is a Python virtual environment with torch (and safetensors); nothing is installed
# into it. A program with a _fake_libs/ folder (tiny CPU stand-ins for flash-attn, xformers,
# apex, bitsandbytes) runs before migration with that folder on PYTHONPATH and after
# migration without it, so (a) compares the library's results with the helper's. Without MIGRATE_BINARY, migrate is built with cargo. Exit status 1 when any
# program breaks the principle.
set -euo pipefail

venv=${1:?usage: run_corpus.sh VENV [MIGRATE_BINARY]}
python="$venv/bin/python"
[ -x "$python" ] || { echo "run_corpus.sh: $python is not an executable" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
migrate=${2:-}
if [ -z "$migrate" ]; then
    cargo build --quiet --release -p migrate --manifest-path "$repo/Cargo.toml"
    migrate="${CARGO_TARGET_DIR:-$repo/target}/release/migrate"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A host without an accelerator, whatever this machine has.
export CUDA_VISIBLE_DEVICES="" PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
unset PREFERRED_DEVICE PREFERRED_DTYPE

{
printf 'case\tbefore\tafter\tverdict\tdetail\n'
for dir in "$repo"/migrate/tests/corpus/*/; do
    case=$(basename "$dir")
    w="$work/$case"
    mkdir -p "$w"
    cp -r "$dir" "$w/before"
    cp -r "$dir" "$w/after"
    "$migrate" --quiet --apply --report "$w/report.json" "$w/after" 2>"$w/migrate.err" || {
        rc=$?
        if [ "$rc" -ne 0 ]; then
            printf '%s\t-\t-\tVIOLATION-migrate\tmigrate exited %s\n' "$case" "$rc"
            continue
        fi
    }
    for side in before after; do
        libs=""
        [ "$side" = before ] && [ -d "$w/before/_fake_libs" ] && libs="$w/before/_fake_libs"
        set +e
        (cd "$w/$side" && PYTHONPATH="$libs" timeout 120 "$python" main.py >"$w/$side.out" 2>"$w/$side.err")
        echo $? >"$w/$side.rc"
        set -e
    done
    "$python" "$repo/scripts/migrate/corpus_verdict.py" "$case" "$w"
done
} | tee "$work/table.tsv"

total=$(($(wc -l <"$work/table.tsv") - 1))
count() { cut -f"$1" "$work/table.tsv" | tail -n +2 | grep -c "^$2" || true; }
echo
echo "programs: $total; before: $(count 2 ran) ran, $(count 2 failed) failed (needed CUDA)"
echo "after: $(count 4 ok-a) same output as before, $(count 4 ok-b-runs) now run, $(count 4 ok-b-reported) stop at a reported line, $(count 4 VIOLATION) violations"
[ "$(count 4 VIOLATION)" -eq 0 ]
