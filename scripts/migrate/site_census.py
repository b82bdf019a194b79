"""Counts a tree's CUDA sites and what migrate did with each: converted, reported, unreported.

    python3 scripts/migrate/site_census.py TREE REPORT.json [--unreported] [--sample N --seed S]

A site is a line of Python code (comments and docstrings excluded, found with `tokenize`)
with a `cuda` name or attribute, or a string that is exactly "cuda", "cuda:N" or "nccl".
It is converted when an edit of the report starts on that line, reported when a diagnostic
does, and unreported otherwise. Tests and fixtures are counted apart, as the report does.
"""
import argparse
import io
import json
import random
import re
import tokenize
from pathlib import Path

TEST_DIRS = {"test", "tests", "testing", "fixtures", "fixture", "testdata"}
DEVICE_STRING = re.compile(r"""^[rbuRBU]?(['"])(cuda(:\d+)?|nccl)\1$""")


def is_test(relative):
    parts = relative.split("/")
    if any(p.lower() in TEST_DIRS for p in parts[:-1]):
        return True
    stem = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    return stem.startswith("test_") or stem.endswith("_test") or stem == "conftest"


def sites(path):
    lines = set()
    try:
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        for tok in tokens:
            if tok.type == tokenize.NAME and tok.string == "cuda":
                lines.add(tok.start[0])
            elif tok.type == tokenize.STRING and DEVICE_STRING.match(tok.string):
                lines.add(tok.start[0])
            elif tok.type == tokenize.STRING and re.match(r"""^[fF](['"])cuda:\{""", tok.string):
                lines.add(tok.start[0])
            elif getattr(tokenize, "FSTRING_START", None) == tok.type:
                pass
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        pass
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("report")
    ap.add_argument("--unreported", action="store_true")
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    by_path = {f["path"]: f for f in report["files"]}
    counts = {False: [0, 0, 0, 0], True: [0, 0, 0, 0]}
    unreported = []
    tree = Path(args.tree)
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        if rel.endswith("device_utils.py"):
            continue
        found = sites(path)
        if not found:
            continue
        f = by_path.get(rel, {"edits": [], "diagnostics": []})
        edited = {e["line_start"] for e in f["edits"] if e["rule"] != "PY011"}
        noted = {d["line"] for d in f["diagnostics"]}
        c = counts[is_test(rel)]
        for line in sorted(found):
            c[0] += 1
            if line in edited:
                c[1] += 1
            elif line in noted:
                c[2] += 1
            else:
                c[3] += 1
                unreported.append((rel, line))
    for test, (total, conv, rep, unrep) in counts.items():
        kind = "tests" if test else "code"
        print(f"{kind}\tsites {total}\tconverted {conv}\treported {rep}\tunreported {unrep}")
    if args.unreported:
        for rel, line in unreported:
            text = (tree / rel).read_text(encoding="utf-8").splitlines()[line - 1].strip()
            print(f"UNREPORTED {rel}:{line}: {text[:140]}")
    if args.sample:
        edits = [
            (f["path"], e)
            for f in report["files"]
            for e in f["edits"]
            if e["rule"] != "PY011" and f["path"].endswith(".py")
        ]
        random.Random(args.seed).shuffle(edits)
        for path, e in edits[: args.sample]:
            print(f"EDIT {e['rule']} {path}:{e['line_start']}\n  - {e['before'].strip()[:200]}\n  + {e['after'].strip()[:200]}")


if __name__ == "__main__":
    main()
