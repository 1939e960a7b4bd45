#!/usr/bin/env python3
"""Read a safetensors checkpoint with the Python standard library (NumPy used if present).

    python3 tests/ref/read_safetensors.py model.safetensors
        prints every tensor as one line:
            <name> <dtype> [<shape>] n=<elements> sum=<float64 sum> crc32=<of the raw bytes>
        then `metadata <key>=<value>` lines and `ok <count> tensors`.
    python3 tests/ref/read_safetensors.py --values model.safetensors
        also prints every value.
    python3 tests/ref/read_safetensors.py --write-fixture out.safetensors
        writes tests/data/io/ref.safetensors, a small checkpoint made by this independent writer
        (data in the reference implementation's order: larger dtypes first, then by name; the
        JSON formatted by Python's json module), which tests/test_io_safetensors.c reads.

Exit status 0 when the file is valid, 1 (with a message) when it is not. This is how a NumPy or
PyTorch user sees a gradtape checkpoint: nothing here knows about gradtape.
"""
import json
import math
import struct
import sys
import zlib

try:
    import numpy as np  # optional
except ImportError:  # pragma: no cover
    np = None

DTYPES = {  # name: (bytes, struct format, numpy dtype)
    "F64": (8, "d", "<f8"),
    "F32": (4, "f", "<f4"),
    "F16": (2, "e", "<f2"),
    "I64": (8, "q", "<i8"),
    "I32": (4, "i", "<i4"),
    "I16": (2, "h", "<i2"),
    "I8": (1, "b", "i1"),
    "U64": (8, "Q", "<u8"),
    "U32": (4, "I", "<u4"),
    "U16": (2, "H", "<u2"),
    "U8": (1, "B", "u1"),
    "BOOL": (1, "?", "?"),
}


def fail(msg):
    print("error: " + msg, file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        fail("header length %d runs past the end of the file" % n)
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail("bad JSON header: %s" % e)
    data = blob[8 + n :]
    meta = header.pop("__metadata__", {})
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    at = 0
    out = []
    for name, info in entries:
        dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            fail("tensor %s: unsupported dtype %s" % (name, dtype))
        size, fmt, npdt = DTYPES[dtype]
        count = math.prod(shape)
        if b != at or e - b != count * size:
            fail("tensor %s: bad data_offsets [%d, %d]" % (name, b, e))
        at = e
        raw = data[b:e]
        if np is not None:
            values = np.frombuffer(raw, dtype=npdt).reshape(shape)
            flat = values.reshape(-1).tolist()
        else:
            flat = list(struct.unpack("<%d%s" % (count, fmt), raw))
            values = flat
        out.append((name, dtype, shape, flat, raw))
    if at != len(data):
        fail("%d bytes of data after the last tensor" % (len(data) - at))
    return out, meta


def write_fixture(path):
    tensors = {  # name: (dtype, shape, values)
        "dense/kernel": ("F32", [2, 3], [0.5, -1.25, 3.0, 1e-3, -0.0, 7.0]),
        "dense/bias": ("F32", [3], [0.0, 0.25, -2.5]),
        "w64": ("F64", [2], [math.pi, -1e300]),
        "optimizer/iterations": ("I64", [], [42]),
        "counts": ("I32", [2, 2], [1, -2, 2147483647, -2147483648]),
        "mask": ("BOOL", [4], [True, False, True, True]),
        "empty": ("F32", [0, 5], []),
    }
    order = sorted(tensors, key=lambda k: (-DTYPES[tensors[k][0]][0], k))
    header, chunks, at = {}, [], 0
    for name in order:
        dtype, shape, values = tensors[name]
        size, fmt, _ = DTYPES[dtype]
        raw = struct.pack("<%d%s" % (len(values), fmt), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    header["__metadata__"] = {"format": "np", "written_by": "read_safetensors.py"}
    text = json.dumps(header, sort_keys=True).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def main(argv):
    if len(argv) == 3 and argv[1] == "--write-fixture":
        write_fixture(argv[2])
        return 0
    show = "--values" in argv
    paths = [a for a in argv[1:] if a != "--values"]
    if len(paths) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    tensors, meta = read(paths[0])
    for name, dtype, shape, flat, raw in tensors:
        total = math.fsum(float(v) for v in flat)
        print(
            "%s %s [%s] n=%d sum=%.17g crc32=%08x"
            % (name, dtype, ",".join(map(str, shape)), len(flat), total, zlib.crc32(raw))
        )
        if show:
            print("  " + " ".join(repr(v) for v in flat))
    for k, v in sorted(meta.items()):
        print("metadata %s=%s" % (k, v))
    print("ok %d tensors" % len(tensors))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
