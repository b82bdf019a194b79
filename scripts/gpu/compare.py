"""Compares one run's output with a reference, for scripts/gpu/check.sh. Standard library
only: the GPU machine's Python may have torch but nothing else is assumed.

    compare.py latents OUT.safetensors REF.safetensors KEY [--atol A] [--rel R]
        OUT's tensor "latents" against REF's tensor KEY (both F32): passes when the largest
        absolute difference is at most max(A, R * max|REF|), the bound the parity tests use.
    compare.py png A.png B.png [--max-diff N]
        two 8-bit PNGs of the same size: passes when no channel differs by more than N.

Prints one JSON object (what was compared, max_abs_diff, bound, pass) and exits 0 when it
passes, 1 when it does not, 2 on unreadable input.
"""

import argparse
import json
import math
import struct
import sys
import zlib


class BadInput(Exception):
    pass


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise BadInput(f"{path}: shorter than a safetensors header")
    (size,) = struct.unpack("<Q", data[:8])
    if 8 + size > len(data):
        raise BadInput(f"{path}: header length {size} runs past the file")
    header = json.loads(data[8 : 8 + size])
    return header, data[8 + size :]


def f32_tensor(path, key):
    header, body = read_safetensors(path)
    entry = header.get(key)
    if entry is None:
        names = sorted(k for k in header if k != "__metadata__")
        raise BadInput(f"{path}: no tensor {key!r} (has: {', '.join(names)})")
    if entry["dtype"] != "F32":
        raise BadInput(f"{path}: {key} is {entry['dtype']}, expected F32")
    start, end = entry["data_offsets"]
    count = (end - start) // 4
    return entry["shape"], struct.unpack(f"<{count}f", body[start:end])


def compare_latents(a):
    shape, got = f32_tensor(a.out, "latents")
    want_shape, want = f32_tensor(a.ref, a.key)
    if shape != want_shape:
        raise BadInput(f"shape {shape} differs from the reference's {want_shape}")
    largest = max(abs(x) for x in want)
    bound = max(a.atol, a.rel * largest)
    # NaN never compares greater, so it is checked on its own.
    finite = all(math.isfinite(x) for x in got)
    diff = max(abs(x - y) for x, y in zip(got, want)) if finite else math.inf
    return {"compared": f"{a.out} latents vs {a.ref} {a.key}", "finite": finite,
            "max_abs_diff": diff, "bound": bound, "pass": finite and diff <= bound}


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path):
    """8-bit greyscale, RGB or RGBA, not interlaced: what the toolkit's binaries write."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise BadInput(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    if ihdr is None:
        raise BadInput(f"{path}: no IHDR chunk")
    width, height, depth, colour, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise BadInput(f"{path}: only 8-bit grey/RGB/RGBA non-interlaced PNGs are read")
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = prev[i]
            upleft = prev[i - channels] if i >= channels else 0
            pred = (0, left, up, (left + up) // 2, paeth(left, up, upleft))[kind]
            row[i] = (row[i] + pred) & 0xFF
        rows.append(row)
        prev = row
    return (width, height, channels), b"".join(rows)


def compare_png(a):
    shape_a, pixels_a = read_png(a.a)
    shape_b, pixels_b = read_png(a.b)
    if shape_a != shape_b:
        raise BadInput(f"{a.a} is {shape_a}, {a.b} is {shape_b} (width, height, channels)")
    diff = max(abs(x - y) for x, y in zip(pixels_a, pixels_b))
    return {"compared": f"{a.a} vs {a.b}", "max_abs_diff": diff, "bound": a.max_diff,
            "pass": diff <= a.max_diff}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    lat = sub.add_parser("latents")
    lat.add_argument("out")
    lat.add_argument("ref")
    lat.add_argument("key")
    lat.add_argument("--atol", type=float, default=1e-4)
    lat.add_argument("--rel", type=float, default=5e-6)
    png = sub.add_parser("png")
    png.add_argument("a")
    png.add_argument("b")
    png.add_argument("--max-diff", type=int, default=1)
    a = p.parse_args()
    try:
        result = compare_latents(a) if a.what == "latents" else compare_png(a)
    except (OSError, BadInput, ValueError, KeyError) as e:
        print(json.dumps({"error": str(e), "pass": False}))
        sys.exit(2)
    print(json.dumps(result))
    sys.exit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
