"""Counts the lines of a tree that use a CUDA-only library or a CUDA test, by family, and
what one migrate report did with each: converted (an edit starts on the line), blocking (a
warning or an error there: a human must act), noted (only info), silent (nothing).

    python3 scripts/migrate/blocker_census.py TREE REPORT.json

Families: flash-attn, xformers, bitsandbytes, apex (names in code tokens), device checks
(`.is_cuda`, `.type == "cuda"`, `"cuda" in str(...)`) and TF32 switches (`allow_tf32`).
Comments and docstrings are not code (tokenize); tests and fixtures are left out, as the
site census counts them apart. Prints one tab-separated line per family.
"""
import io
import json
import re
import sys
import tokenize
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_census import is_test  # noqa: E402

NAME_FAMILIES = (
    ("flash-attn", lambda n: n == "flash_attn" or n.startswith("flash_attn_")),
    ("xformers", lambda n: "xformers" in n),
    ("bitsandbytes", lambda n: n in ("bitsandbytes", "bnb")),
    ("apex", lambda n: n == "apex"),
    ("tf32", lambda n: n == "allow_tf32"),
)
DEVICE_CHECK = re.compile(
    r"""\.is_cuda\b|\.type\s*[!=]=\s*['"]cuda['"]|['"]cuda['"]\s*[!=]=\s*\S+\.type\b|['"]cuda['"]\s+(not\s+)?in\s+str\("""
)
FAMILIES = [f for f, _ in NAME_FAMILIES] + ["device-check"]


def family_lines(path):
    """{family: set of line numbers} for one file's code."""
    found = {f: set() for f in FAMILIES}
    try:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NAME:
                for family, matches in NAME_FAMILIES:
                    if matches(tok.string):
                        found[family].add(tok.start[0])
            elif tok.type == tokenize.STRING and tok.string.strip("'\"") == "cuda":
                line = lines[tok.start[0] - 1]
                if DEVICE_CHECK.search(line):
                    found["device-check"].add(tok.start[0])
            elif tok.type == tokenize.NAME and tok.string == "is_cuda":
                found["device-check"].add(tok.start[0])
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        pass
    return found


def main():
    tree, report = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    by_path = {f["path"]: f for f in report["files"]}
    totals = {f: [0, 0, 0, 0, 0] for f in FAMILIES}
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        if rel.endswith("device_utils.py") or is_test(rel):
            continue
        f = by_path.get(rel, {"edits": [], "diagnostics": []})
        edited = {e["line_start"] for e in f["edits"] if e["rule"] != "PY011"}
        blocking = {d["line"] for d in f["diagnostics"] if d["severity"] in ("warning", "error")}
        noted = {d["line"] for d in f["diagnostics"]}
        for family, lines in family_lines(path).items():
            t = totals[family]
            for line in lines:
                t[0] += 1
                if line in edited:
                    t[1] += 1
                elif line in blocking:
                    t[2] += 1
                elif line in noted:
                    t[3] += 1
                else:
                    t[4] += 1
    for family, (sites, conv, block, noted, silent) in totals.items():
        print(f"{family}\tsites {sites}\tconverted {conv}\tblocking {block}\tnoted {noted}\tsilent {silent}")


if __name__ == "__main__":
    main()
