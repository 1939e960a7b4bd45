#!/usr/bin/env python3
"""Trains the models of `make train-check` with Keras 3 for comparison with gradtape.

    /work/venv/tf/bin/python tests/ref/keras_train.py [mlp|cnn|all] [--data DIR] [--seed N]
                                                      [--reshuffle]

Same data (Fashion-MNIST IDX files, pixels / 255), same models, Adam(1e-3), batch 128,
MLP 10 epochs / CNN 5 epochs, then model.evaluate on the 10,000 test images. Prints per-epoch
times and `keras <model>: test_loss=... test_accuracy=...`.

By default this is `model.fit(..., shuffle=True)` after `keras.utils.set_random_seed(seed)`,
as a Keras user writes it. With the TensorFlow backend that replays one shuffle order in every
epoch (the order is drawn by a seeded random op that each epoch's iterator rebuilds).
--reshuffle draws a new order each epoch instead (numpy, from the seed), as gradtape's fit
does: one epoch at a time on the permuted arrays, with the optimizer's state carried over.
"""
import gzip
import os
import struct
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, rank = struct.unpack(">HBB", raw[:4])
    dims = struct.unpack(">" + "I" * rank, raw[4 : 4 + 4 * rank])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(d):
    def f(stem):
        p = os.path.join(d, stem)
        return read_idx(p + ".gz" if os.path.exists(p + ".gz") else p)

    return (f("train-images-idx3-ubyte"), f("train-labels-idx1-ubyte"),
            f("t10k-images-idx3-ubyte"), f("t10k-labels-idx1-ubyte"))


def mlp():
    return keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


class EpochTimes(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.time()

    def on_epoch_end(self, epoch, logs=None):
        print(f"  epoch {epoch + 1}: {time.time() - self.t:.1f}s", flush=True)


def run(name, data, seed, reshuffle):
    xtr, ytr, xte, yte = data
    shape = (-1, 784) if name == "mlp" else (-1, 28, 28, 1)
    xtr = (xtr.astype("float32") / 255.0).reshape(shape)
    xte = (xte.astype("float32") / 255.0).reshape(shape)
    keras.utils.set_random_seed(seed)
    model = mlp() if name == "mlp" else cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = 10 if name == "mlp" else 5
    ytr = ytr.astype("int32")
    t0 = time.time()
    if reshuffle:
        order = np.random.default_rng(seed)
        for e in range(epochs):
            p = order.permutation(len(xtr))
            model.fit(xtr[p], ytr[p], epochs=e + 1, initial_epoch=e, batch_size=128,
                      shuffle=False, verbose=2, callbacks=[EpochTimes()])
    else:
        model.fit(xtr, ytr, epochs=epochs, batch_size=128, verbose=2, callbacks=[EpochTimes()])
    secs = time.time() - t0
    loss, acc = model.evaluate(xte, yte.astype("int32"), batch_size=128, verbose=0)
    print(f"keras {name}: {epochs} epochs in {secs:.1f}s ({secs / epochs:.2f}s per epoch)")
    print(f"keras {name} seed {seed}: test_loss={loss:.6f} test_accuracy={acc:.6f}", flush=True)


def main(argv):
    which = argv[1] if len(argv) > 1 and not argv[1].startswith("--") else "all"
    d = "/usr/share/datasets/fashion-mnist"
    if "--data" in argv:
        d = argv[argv.index("--data") + 1]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 42
    data = load(d)
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    for name in (["mlp", "cnn"] if which == "all" else [which]):
        run(name, data, seed, "--reshuffle" in argv)


if __name__ == "__main__":
    main(sys.argv)
