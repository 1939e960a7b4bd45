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


BATCH = 128


def _timed_batches(quick, quick_n, n_train):
    nb = -(-n_train // BATCH)
    return nb, (min(nb, quick_n) if quick else nb)


def tf_epoch(a, tf, keras, model, shape, data, quick_n, eval_batch):
    """One timed Fashion-MNIST epoch of a Keras model, as the *_epoch_tf.py twins run it, then
    its test accuracy and the process's peak RSS as RESULT lines. The images stay uint8 and a
    tf.data pipeline (shuffle over the whole set, batch 128, cast and /255 per batch, prefetch)
    feeds both variants: `tape`, an eager GradientTape loop as the seed writes its step, and
    `fit`, model.fit on the same pipeline. Five warm-up steps on the first batches come before
    the timed epoch; quick mode times quick_n batches and extrapolates. shape: one sample's."""
    (xtr, ytr), (xte, yte) = data
    nb, run = _timed_batches(a.quick, quick_n, len(xtr))
    xs = xtr.reshape((-1,) + shape)

    def prep(x, y):
        return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.int32)

    ds = (tf.data.Dataset.from_tensor_slices((xs, ytr))
          .shuffle(len(xtr), seed=42).batch(BATCH).map(prep).prefetch(2))
    warm = tf.data.Dataset.from_tensor_slices((xs[:5 * BATCH], ytr[:5 * BATCH])).batch(BATCH).map(prep)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    if a.variant == "tape":
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        for x, y in warm:
            step(x, y)
        t0 = time.perf_counter()
        for x, y in ds.take(run):
            loss = step(x, y)
        secs = (time.perf_counter() - t0) * nb / run
        note(f"steps timed {run} of {nb}, last loss {float(loss):.4f}")
    else:
        model.compile(optimizer=optimizer, loss=loss_fn)
        model.fit(warm, epochs=1, verbose=0)
        t0 = time.perf_counter()
        h = model.fit(ds.take(run), epochs=1, verbose=0)
        secs = (time.perf_counter() - t0) * nb / run
        note(f"steps timed {run} of {nb}, epoch loss {h.history['loss'][-1]:.4f}")
    correct = 0
    for i in range(0, len(xte), eval_batch):
        xb = tf.cast(xte[i:i + eval_batch].reshape((-1,) + shape), tf.float32) / 255.0
        pred = tf.argmax(model(xb, training=False), 1)
        correct += int(tf.reduce_sum(tf.cast(pred == tf.cast(yte[i:i + eval_batch], tf.int64), tf.int32)))
    result("value", secs)
    result("accuracy", correct / len(xte))
    result("rss_mib", peak_rss_mib())


def torch_epoch(torch, model, shape, data, quick, quick_n, eval_batch):
    """One timed Fashion-MNIST epoch of a torch model, as the *_epoch_torch.py twins run it,
    then RESULT lines as tf_epoch. The images stay uint8 in one tensor; each batch is gathered
    by a random permutation and converted to float /255 (what torchvision's FashionMNIST +
    DataLoader do, without worker processes); cross_entropy, Adam(1e-3), batch 128."""
    (xtr, ytr), (xte, yte) = data
    X = torch.from_numpy(xtr.reshape((-1,) + shape).copy())
    Y = torch.from_numpy(ytr.astype("int64"))
    nb, run = _timed_batches(quick, quick_n, len(X))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    F = torch.nn.functional

    def step(idx):
        x = X[idx].float() / 255.0
        opt.zero_grad()
        loss = F.cross_entropy(model(x), Y[idx])
        loss.backward()
        opt.step()
        return loss

    for i in range(5):
        step(torch.arange(i * BATCH, (i + 1) * BATCH))
    t0 = time.perf_counter()
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(42))
    for i in range(run):
        loss = step(perm[i * BATCH:(i + 1) * BATCH])
    secs = (time.perf_counter() - t0) * nb / run
    note(f"steps timed {run} of {nb}, last loss {float(loss):.4f}")
    with torch.no_grad():
        xt = torch.from_numpy(xte.reshape((-1,) + shape).copy()).float() / 255.0
        pred = torch.cat([model(xt[i:i + eval_batch]).argmax(1) for i in range(0, len(xt), eval_batch)])
        acc = float((pred == torch.from_numpy(yte.astype("int64"))).float().mean())
    result("value", secs)
    result("accuracy", acc)
    result("rss_mib", peak_rss_mib())
