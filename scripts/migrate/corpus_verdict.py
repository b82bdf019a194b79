"""Judges one corpus program run before and after migration on a CPU-only torch.

(a) ran before  -> must run after with exactly the same stdout;
(b) failed before (it needed CUDA) -> must run after, or fail at a line the report names
    with a warning or an error.
Prints one tab-separated line: case, before, after, verdict, detail.
"""
import json
import re
import sys
from pathlib import Path


def read(path):
    return Path(path).read_text(encoding="utf-8", errors="replace")


def failing_line(stderr, tree):
    """The innermost traceback frame inside the migrated tree: (relative path, line)."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', stderr)
    tree = str(Path(tree).resolve())
    for path, line in reversed(frames):
        resolved = str(Path(path).resolve())
        if resolved.startswith(tree + "/"):
            return resolved[len(tree) + 1 :], int(line)
    return None


def original_lines(work, where):
    """The lines of the unmigrated file a migrated line can stand for: the same number, and
    every line with exactly the same text. Diagnostics are numbered in the original file,
    while lines migrate added (a guarded import, a helper import) move the migrated file's
    numbers; a line left as written keeps its text."""
    path, line = where
    candidates = {line}
    try:
        after = read(work / "after" / path).splitlines()
        before = read(work / "before" / path).splitlines()
    except OSError:
        return candidates
    if 0 < line <= len(after) and after[line - 1].strip():
        text = after[line - 1]
        candidates |= {i + 1 for i, b in enumerate(before) if b == text}
    return candidates


def reported(report, where, lines):
    path, _ = where
    for f in report["files"]:
        if f["path"] != path:
            continue
        for d in f["diagnostics"]:
            if d["line"] in lines and d["severity"] in ("warning", "error"):
                return d["code"]
    return None


def main():
    case, work = sys.argv[1], Path(sys.argv[2])
    rc_before = int(read(work / "before.rc"))
    rc_after = int(read(work / "after.rc"))
    out_before, out_after = read(work / "before.out"), read(work / "after.out")
    report = json.loads(read(work / "report.json"))
    before = "ran" if rc_before == 0 else "failed"
    after = "ran" if rc_after == 0 else "failed"
    if rc_before == 0:
        if rc_after == 0 and out_before == out_after:
            verdict, detail = "ok-a", "same output"
        elif rc_after == 0:
            verdict, detail = "VIOLATION-a", "output differs"
        else:
            verdict, detail = "VIOLATION-a", "ran before, fails after"
    elif rc_after == 0:
        verdict, detail = "ok-b-runs", "needed CUDA, runs after"
    else:
        where = failing_line(read(work / "after.err"), work / "after")
        code = reported(report, where, original_lines(work, where)) if where else None
        if code:
            verdict, detail = "ok-b-reported", f"stops at {where[0]}:{where[1]}, reported {code}"
        else:
            verdict, detail = "VIOLATION-b", f"stops at {where}, not reported"
    print(f"{case}\t{before}\t{after}\t{verdict}\t{detail}")


if __name__ == "__main__":
    main()
