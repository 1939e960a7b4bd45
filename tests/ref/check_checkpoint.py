#!/usr/bin/env python3
"""Checks a gradtape checkpoint against the companion file the C test wrote.

    python3 tests/ref/check_checkpoint.py CK.safetensors CK.txt

CK.txt has one line per tensor: `name dtype [d0,d1,...] v0 v1 ...` (values printed with
%.9g, exact for float32). The script reads the safetensors file with the standard library
only (struct + json): the 8-byte little-endian header length, the JSON header, the raw
little-endian data; then checks that the file holds exactly the names of CK.txt, each with
its dtype, shape and every value bit for bit. Exit status 0 when all match, 1 otherwise.
"""
import json
import struct
import sys

FMT = {"F32": ("f", 4), "F64": ("d", 8), "I32": ("i", 4), "I64": ("q", 8), "BOOL": ("?", 1)}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    end_max = 0
    for name, e in header.items():
        fmt, size = FMT[e["dtype"]]
        begin, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        if end - begin != count * size:
            raise ValueError(f"{name}: {end - begin} bytes for shape {e['shape']}")
        blob = data[begin:end]
        if len(blob) != end - begin:
            raise ValueError(f"{name}: data truncated")
        tensors[name] = (e["dtype"], e["shape"], blob, struct.unpack("<%d%s" % (count, fmt), blob))
        end_max = max(end_max, end)
    if end_max != len(data):
        raise ValueError(f"{path}: {len(data) - end_max} bytes after the last tensor")
    return tensors, meta


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    tensors, meta = read_safetensors(argv[1])
    problems = []
    seen = set()
    with open(argv[2]) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            name, dtype, shape = parts[0], parts[1], json.loads(parts[2])
            values = parts[3:]
            seen.add(name)
            if name not in tensors:
                problems.append(f"missing from the checkpoint: {name}")
                continue
            fdt, fshape, blob, fvals = tensors[name]
            if fdt != dtype or fshape != shape:
                problems.append(f"{name}: {fdt} {fshape} in the file, {dtype} {shape} expected")
                continue
            if len(values) != len(fvals):
                problems.append(f"{name}: {len(fvals)} values, {len(values)} expected")
                continue
            fmt, size = FMT[dtype]
            for i, (txt, got) in enumerate(zip(values, fvals)):
                want = struct.pack("<" + fmt, int(float(txt)) if fmt in "iq?" else float(txt))
                if want != blob[i * size : (i + 1) * size]:
                    problems.append(f"{name}[{i}]: {got!r} in the file, {txt} expected")
                    break
    for name in tensors:
        if name not in seen:
            problems.append(f"extra tensor in the checkpoint: {name}")
    for p in problems:
        print("FAIL", p)
    n = sum(len(t[3]) for t in tensors.values())
    print(f"{'ok' if not problems else 'FAILED'}: {len(tensors)} tensors, {n} values, "
          f"metadata {meta}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
