"""Shared helpers of the Python twins (bench/<workload>_tf.py and bench/<workload>_torch.py).

They print the same protocol as the C programs: `RESULT <key> <value>` lines (key "value" is
the headline number in the workload's unit) and free-form `# ...` lines.

Thread layouts are fixed here, before TensorFlow or PyTorch is imported, from the
environment (scripts/bench.sh sets the defaults it measured as fastest on 2 cores):

  TensorFlow: GT_BENCH_TF_INTRA (intra-op threads, default 2), GT_BENCH_TF_INTER (inter-op
              threads, default 2: TensorFlow's own defaults on 2 cores)
  PyTorch:    GT_BENCH_TORCH_THREADS (torch.set_num_threads, default 1) and
              OPENBLAS_NUM_THREADS (the BLAS Debian's torch calls, default 2)
"""
import argparse
import gzip
import os
import struct
import sys
import time

FASHION_MNIST_DIR = os.environ.get("GT_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def args(variants=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true",
                   default=os.environ.get("GT_BENCH_QUICK", "0") not in ("", "0"))
    if variants:
        p.add_argument("--variant", choices=variants, default=variants[0])
    return p.parse_args()


def result(key, value):
    print(f"RESULT {key} {value:.6g}", flush=True)


def note(msg):
    print(f"# {msg}", flush=True)


def peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def time_per_call(fn, iters, min_batches, min_seconds):
    """Median seconds per call of fn() over batches of `iters` calls (>= min_batches batches
    and >= min_seconds in all)."""
    ts = []
    start = time.perf_counter()
    while len(ts) < min_batches or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        ts.append((time.perf_counter() - t0) / iters)
        if len(ts) >= 1000:
            break
    return median(ts)


def setup_tf():
    """Imports TensorFlow with the bench's thread layout; returns (tf, keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    intra = int(os.environ.get("GT_BENCH_TF_INTRA", "2"))
    inter = int(os.environ.get("GT_BENCH_TF_INTER", "2"))
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    import keras
    note(f"tensorflow {tf.__version__} keras {keras.__version__} intra_op={intra} inter_op={inter}")
    return tf, keras


def setup_torch():
    """Imports PyTorch with the bench's thread layout; returns torch."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
    import torch
    n = int(os.environ.get("GT_BENCH_TORCH_THREADS", "1"))
    torch.set_num_threads(n)
    note(f"torch {torch.__version__} threads={torch.get_num_threads()} "
         f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    return torch


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, path
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return data[4 + 4 * rank:], dims


def fashion_mnist():
    """((x_train uint8 [60000,28,28], y_train uint8), (x_test, y_test)) as numpy arrays, read
    from the same IDX files gradtape's gt_mnist_load reads."""
    import numpy as np

    def load(stem):
        xb, xd = _idx(os.path.join(FASHION_MNIST_DIR, f"{stem}-images-idx3-ubyte.gz"))
        yb, yd = _idx(os.path.join(FASHION_MNIST_DIR, f"{stem}-labels-idx1-ubyte.gz"))
        return (np.frombuffer(xb, np.uint8).reshape(xd), np.frombuffer(yb, np.uint8).reshape(yd))

    return load("train"), load("t10k")


def quick_batches(quick, total):
    """Batches a (quick) epoch runs: the whole epoch, or 60 batches extrapolated."""
    return min(total, 60) if quick else total


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)
