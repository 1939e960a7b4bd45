#!/usr/bin/env python3
"""Reference values for tests/test_nn_recurrent.c, computed by Keras 3 (TensorFlow backend) itself.

    /work/venv/tf/bin/python tests/ref/gen_keras_recurrent.py [out.txt]

writes tests/data/keras_recurrent_ref.txt in the format of tests/data/keras_layers_ref.txt (one
record per line, `key n v1 ... vn`, values as repr() of float64; `#S <block>|<text>` lines carry
model.summary() texts), which tests/support/nn_ref.c reads.

Each case stores its configuration as numbers (`<case>.cfg`, `<case>.xshape`) so that the C test
reads what to build from this file and cannot drift from it. For every case: fixed weights (set
with set_weights), a fixed input, the output, and the gradients of sum(w * y) with respect to the
input and each trainable weight for a fixed w (tf.GradientTape). Everything is float32, on the
CPU, deterministic (a numpy Generator with a fixed seed).
"""
import contextlib
import io
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["COLUMNS"] = "200"  # rich crops tables to the console width otherwise

import numpy as np
import tensorflow as tf
import keras
from keras import layers

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data",
                                                         "keras_recurrent_ref.txt")
records = []
rng = np.random.default_rng(20241126)


def put(key, arr):
    a = np.asarray(arr, dtype=np.float64).ravel()
    records.append(f"{key} {a.size} " + " ".join(repr(float(x)) for x in a))


def f32(shape, scale=1.0, shift=0.0):
    return (shift + scale * rng.standard_normal(shape)).astype(np.float32)


# Activation codes of `<case>.cfg` (the C test maps them to gt_activation): 0 is the layer's
# default (tanh / sigmoid), None is Keras' identity.
ACT = {"default": 0, "relu": 1, "sigmoid": 2, None: 3, "tanh": 4, "softsign": 5}
KIND = {"SimpleRNN": 0, "LSTM": 1, "GRU": 2}

# (name, layer class, x shape, keyword arguments)
cases = [
    ("simple.last", "SimpleRNN", (3, 5, 2), dict(units=4)),
    ("simple.seq_back_relu", "SimpleRNN", (2, 4, 3),
     dict(units=3, activation="relu", return_sequences=True, go_backwards=True)),
    ("simple.linear_nobias", "SimpleRNN", (2, 3, 2),
     dict(units=3, activation=None, use_bias=False, return_sequences=True)),
    ("simple.b1t1", "SimpleRNN", (1, 1, 3), dict(units=2)),
    ("lstm.last", "LSTM", (3, 5, 2), dict(units=3)),
    ("lstm.seq", "LSTM", (2, 4, 3), dict(units=2, return_sequences=True)),
    ("lstm.back_nobias", "LSTM", (2, 4, 2), dict(units=3, use_bias=False, go_backwards=True)),
    ("lstm.acts_seq_back", "LSTM", (2, 3, 2),
     dict(units=2, activation="softsign", recurrent_activation="tanh", return_sequences=True,
          go_backwards=True)),
    ("lstm.b1t1", "LSTM", (1, 1, 2), dict(units=3, return_sequences=True)),
    ("gru.last", "GRU", (3, 5, 2), dict(units=3)),
    ("gru.seq", "GRU", (2, 4, 3), dict(units=2, return_sequences=True)),
    ("gru.before_seq", "GRU", (2, 4, 3),
     dict(units=3, reset_after=False, return_sequences=True)),
    ("gru.before_back_relu", "GRU", (2, 5, 2),
     dict(units=2, reset_after=False, go_backwards=True, activation="relu")),
    ("gru.back_nobias", "GRU", (2, 4, 2),
     dict(units=3, use_bias=False, go_backwards=True, return_sequences=True)),
    ("gru.before_nobias_acts", "GRU", (2, 3, 3),
     dict(units=2, reset_after=False, use_bias=False, activation=None,
          recurrent_activation="softsign")),
    ("gru.b1t1", "GRU", (1, 1, 3), dict(units=2)),
]

for name, cls, xshape, kw in cases:
    keras.utils.clear_session()
    layer = getattr(layers, cls)(**kw)
    layer.build(xshape)
    cell = layer.cell
    wts = [f32(cell.kernel.shape, 0.5), f32(cell.recurrent_kernel.shape, 0.4)]
    if cell.use_bias:
        wts.append(f32(cell.bias.shape, 0.2))
    layer.set_weights(wts)
    reset_after = getattr(cell, "reset_after", True)
    put(f"{name}.cfg", [KIND[cls], kw["units"], ACT[kw.get("activation", "default")],
                        ACT[kw.get("recurrent_activation", "default")], cell.use_bias,
                        layer.return_sequences, layer.go_backwards, reset_after])
    put(f"{name}.xshape", xshape)
    x = f32(xshape)
    put(f"{name}.x", x)
    for w, v in zip(wts, layer.trainable_weights):
        put(f"{name}.{v.name}", w)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        w = tf.constant(f32(y.shape))
        obj = tf.reduce_sum(w * y)
    srcs = [xt] + list(layer.trainable_weights)
    grads = tape.gradient(obj, srcs)
    put(f"{name}.y", y.numpy())
    put(f"{name}.yshape", y.shape)
    put(f"{name}.w", w.numpy())
    for vname, g in zip(["x"] + [v.name for v in layer.trainable_weights], grads):
        put(f"{name}.d{vname}", tf.convert_to_tensor(g).numpy())

# Keras' initial LSTM bias (unit_forget_bias) and the parameter counts of each layer kind.
keras.utils.clear_session()
lstm = layers.LSTM(3)
lstm.build((1, 2, 4))
put("init.lstm_bias", lstm.cell.bias.numpy())
counts = []
for cls, kw in [("SimpleRNN", dict(units=5)), ("LSTM", dict(units=5)), ("GRU", dict(units=5)),
                ("GRU", dict(units=5, reset_after=False)), ("LSTM", dict(units=5, use_bias=False))]:
    layer = getattr(layers, cls)(**kw)
    layer.build((2, 3, 7))
    counts.append(layer.count_params())
put("init.count_params", counts)

# ---------------------------------------------------------------------------------------------
# model.summary() of stacked recurrent models (names, output shapes, parameter counts)
# ---------------------------------------------------------------------------------------------
summaries = []


def capture_summary(m, line_length):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        m.summary(line_length=line_length)
    return buf.getvalue()


keras.utils.clear_session()
stack = keras.Sequential([
    layers.SimpleRNN(8, return_sequences=True),
    layers.LSTM(6, return_sequences=True),
    layers.GRU(4),
    layers.Dense(1),
])
stack(tf.zeros((2, 7, 5)))
summaries.append(("stack88", capture_summary(stack, 88)))
keras.utils.clear_session()
none = keras.Sequential([
    keras.Input((6, 3)),
    layers.GRU(5, reset_after=False, return_sequences=True, go_backwards=True),
    layers.LSTM(3, use_bias=False),
    layers.Dense(2),
])
summaries.append(("none100", capture_summary(none, 100)))

with open(OUT, "w") as f:
    f.write(f"# made by tests/ref/gen_keras_recurrent.py; versions: tensorflow {tf.__version__}, "
            f"keras {keras.__version__}, numpy {np.__version__}\n")
    for r in records:
        f.write(r + "\n")
    for name, text in summaries:
        for line in text.splitlines():
            f.write(f"#S {name}|{line}\n")
print(f"wrote {len(records)} records and {len(summaries)} summaries to {OUT}")
