#!/usr/bin/env python3
"""Reference values for tests/test_nn_layers.c, computed by Keras 3 (TensorFlow backend) itself.

    /work/venv/tf/bin/python tests/ref/gen_keras_layers.py [out.txt]

writes tests/data/keras_layers_ref.txt: one record per line, `key n v1 ... vn` (values as repr()
of float64; float32 values converted exactly), the format tests/support/nn_ref.c reads. Lines
starting with `#` are comments; `#S <block>|<text>` lines carry model.summary() texts.

Each case stores its configuration as numbers (`<case>.cfg`, `<case>.xshape`) so that the C
test reads what to build from this file and cannot drift from it. For every layer: fixed
weights (set with set_weights), a fixed input, the output, and the gradients of sum(w * y) with
respect to the input and each trainable weight for a fixed w (tf.GradientTape). Everything is
float32, on the CPU, deterministic (numpy Generators with fixed seeds).
"""
import io
import os
import sys
import contextlib

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
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data", "keras_layers_ref.txt")
records = []
rng = np.random.default_rng(20240607)


def put(key, arr):
    a = np.asarray(arr, dtype=np.float64).ravel()
    records.append(f"{key} {a.size} " + " ".join(repr(float(x)) for x in a))


def f32(shape, scale=1.0, shift=0.0):
    return (shift + scale * rng.standard_normal(shape)).astype(np.float32)


ACT = {None: 0, "relu": 1, "tanh": 2}
PAD1D = {"valid": 0, "same": 1, "causal": 2}


def forward_and_grads(key, layer, x, training=False, int_input=False):
    """y = layer(x); gradients of sum(w*y) w.r.t. x (float inputs) and trainable weights."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        if not int_input:
            tape.watch(xt)
        y = layer(xt, training=training)
        w = tf.constant(f32(y.shape))
        obj = tf.reduce_sum(w * y)
    srcs = ([] if int_input else [xt]) + list(layer.trainable_weights)
    grads = tape.gradient(obj, srcs)
    put(f"{key}.y", y.numpy())
    put(f"{key}.yshape", y.shape)
    put(f"{key}.w", w.numpy())
    names = ([] if int_input else ["x"]) + [v.name for v in layer.trainable_weights]
    for name, g in zip(names, grads):
        put(f"{key}.d{name}", tf.convert_to_tensor(g).numpy())


# ---------------------------------------------------------------------------------------------
# Conv2D: cfg = filters, kh, kw, sh, sw, dh, dw, groups, same, use_bias, activation
# ---------------------------------------------------------------------------------------------
conv_cases = [
    ("valid", (2, 7, 6, 3), dict(filters=4, kernel_size=3)),
    ("same_strided", (2, 8, 7, 3), dict(filters=5, kernel_size=(3, 2), strides=(2, 1),
                                         padding="same", activation="relu")),
    ("same_s2_even", (1, 8, 8, 2), dict(filters=3, kernel_size=3, strides=2, padding="same")),
    ("dilated", (1, 9, 9, 2), dict(filters=4, kernel_size=3, dilation_rate=2, padding="same")),
    ("dilated_valid", (2, 9, 8, 2), dict(filters=3, kernel_size=(2, 3), dilation_rate=(2, 1))),
    ("groups", (2, 5, 6, 6), dict(filters=6, kernel_size=2, groups=3, use_bias=False,
                                  activation="tanh")),
    ("one_by_one", (3, 4, 4, 5), dict(filters=2, kernel_size=1)),
]


def conv_case(key, cls, xshape, kw, cfg_of):
    """A Conv1D/Conv2D with fixed kernel and bias: its cfg (cfg_of(conv, kw)), input, weights,
    output and gradients."""
    keras.utils.clear_session()
    conv = cls(**kw)
    x = f32(xshape)
    conv.build(xshape)
    kernel = f32(conv.kernel.shape, 0.5)
    wts = [kernel]
    if conv.use_bias:
        wts.append(f32((kw["filters"],), 0.1))
    conv.set_weights(wts)
    put(f"{key}.cfg", cfg_of(conv, kw))
    put(f"{key}.xshape", xshape)
    put(f"{key}.x", x)
    put(f"{key}.kernel", kernel)
    if conv.use_bias:
        put(f"{key}.bias", wts[1])
    forward_and_grads(key, conv, x)


def conv2d_cfg(conv, kw):
    ks, st, dl = conv.kernel_size, conv.strides, conv.dilation_rate
    return [kw["filters"], ks[0], ks[1], st[0], st[1], dl[0], dl[1], conv.groups,
            conv.padding == "same", conv.use_bias, ACT[kw.get("activation")]]


def conv1d_cfg(conv, kw):
    return [kw["filters"], conv.kernel_size[0], conv.strides[0], conv.dilation_rate[0],
            conv.groups, PAD1D[conv.padding], conv.use_bias, ACT[kw.get("activation")]]


for name, xshape, kw in conv_cases:
    conv_case(f"conv.{name}", layers.Conv2D, xshape, kw, conv2d_cfg)

# Keras' default kernel initializer with its receptive-field fans: the bound it uses.
keras.utils.clear_session()
keras.utils.set_random_seed(0)  # the default initializer draws from Keras' global seed
c = layers.Conv2D(32, 5)
c.build((1, 28, 28, 6))
put("conv.init.kernel_absmax", np.abs(c.kernel.numpy()).max())
put("conv.init.limit", np.sqrt(6.0 / (5 * 5 * 6 + 5 * 5 * 32)))

# ---------------------------------------------------------------------------------------------
# Pooling: cfg = kind (0 max, 1 average, 2 global average), ph, pw, sh, sw, same, keepdims
# ---------------------------------------------------------------------------------------------
pool_cases = [
    ("max_default", (2, 6, 7, 3), 0, dict()),
    ("max_same_s2", (2, 7, 7, 2), 0, dict(pool_size=3, strides=2, padding="same")),
    ("max_rect", (1, 6, 9, 2), 0, dict(pool_size=(2, 3), strides=(1, 2))),
    ("avg_default", (2, 6, 6, 3), 1, dict(pool_size=2)),
    ("avg_same_s2", (2, 7, 5, 2), 1, dict(pool_size=3, strides=2, padding="same")),
    ("avg_same_s1", (1, 5, 5, 2), 1, dict(pool_size=(2, 3), strides=1, padding="same")),
    ("gap", (3, 4, 5, 6), 2, dict()),
    ("gap_keepdims", (2, 3, 3, 4), 2, dict(keepdims=True)),
]
for name, xshape, kind, kw in pool_cases:
    keras.utils.clear_session()
    if kind == 0:
        layer = layers.MaxPooling2D(**kw)
    elif kind == 1:
        layer = layers.AveragePooling2D(**kw)
    else:
        layer = layers.GlobalAveragePooling2D(**kw)
    if kind < 2:
        ps, st = layer.pool_size, layer.strides
        cfg = [kind, ps[0], ps[1], st[0], st[1], layer.padding == "same", 0]
    else:
        cfg = [kind, 0, 0, 0, 0, 0, kw.get("keepdims", False)]
    x = f32(xshape)
    put(f"pool.{name}.cfg", cfg)
    put(f"pool.{name}.xshape", xshape)
    put(f"pool.{name}.x", x)
    forward_and_grads(f"pool.{name}", layer, x)

# ---------------------------------------------------------------------------------------------
# Flatten
# ---------------------------------------------------------------------------------------------
keras.utils.clear_session()
x = f32((2, 3, 4, 5))
put("flatten.x", x)
forward_and_grads("flatten", layers.Flatten(), x)

# ---------------------------------------------------------------------------------------------
# BatchNormalization: cfg = axis, momentum, epsilon, center, scale, trainable.
# Fixed gamma/beta/moving statistics; the inference output; then `steps` training calls on
# fresh inputs, recording each output and the moving statistics after each call; the gradients
# of the first training call.
# ---------------------------------------------------------------------------------------------
bn_cases = [
    ("nhwc", (4, 3, 3, 5), dict(), True),
    ("dense", (6, 4), dict(momentum=0.9, epsilon=1e-2, center=False), True),
    ("axis1", (3, 4, 5), dict(axis=1, scale=False), True),
    ("frozen", (5, 3), dict(), False),
]
for name, xshape, kw, trainable in bn_cases:
    keras.utils.clear_session()
    bn = layers.BatchNormalization(**kw)
    bn.build(xshape)
    c = xshape[bn.axis]
    wts = []
    if bn.scale:
        wts.append(f32((c,), 0.3, 1.0))
    if bn.center:
        wts.append(f32((c,), 0.5))
    wts.append(f32((c,), 0.5))  # moving_mean
    wts.append(rng.uniform(0.5, 2.0, (c,)).astype(np.float32))  # moving_variance
    bn.set_weights(wts)
    bn.trainable = trainable
    put(f"bn.{name}.cfg", [kw.get("axis", -1), bn.momentum, bn.epsilon, bn.center, bn.scale,
                           trainable])
    put(f"bn.{name}.xshape", xshape)
    put(f"bn.{name}.weights", np.concatenate(wts))
    x0 = f32(xshape, 2.0, 1.0)
    put(f"bn.{name}.x0", x0)
    put(f"bn.{name}.y_infer", bn(x0, training=False).numpy())
    steps = 3
    for s in range(steps):
        x = x0 if s == 0 else f32(xshape, 1.5, -0.5 + s)
        if s > 0:
            put(f"bn.{name}.x{s}", x)
        if s == 0:
            forward_and_grads(f"bn.{name}.train0", bn, x, training=True)
        else:
            put(f"bn.{name}.train{s}.y", bn(x, training=True).numpy())
        put(f"bn.{name}.moving_mean{s}", bn.moving_mean.numpy())
        put(f"bn.{name}.moving_variance{s}", bn.moving_variance.numpy())

# ---------------------------------------------------------------------------------------------
# LayerNormalization: cfg = axis, epsilon, center, scale
# ---------------------------------------------------------------------------------------------
ln_cases = [
    ("last", (3, 4, 6), dict()),
    ("flat", (2, 5), dict(epsilon=1e-5, center=False)),
    ("axis1", (2, 3, 4), dict(axis=1)),
    ("noscale", (4, 3), dict(scale=False)),
]
for name, xshape, kw in ln_cases:
    keras.utils.clear_session()
    ln = layers.LayerNormalization(**kw)
    ln.build(xshape)
    axis = kw.get("axis", -1)
    c = xshape[axis]
    wts = []
    if ln.scale:
        wts.append(f32((c,), 0.3, 1.0))
    if ln.center:
        wts.append(f32((c,), 0.5))
    ln.set_weights(wts)
    put(f"ln.{name}.cfg", [axis, ln.epsilon, ln.center, ln.scale])
    put(f"ln.{name}.xshape", xshape)
    put(f"ln.{name}.weights", np.concatenate(wts) if wts else [])
    x = f32(xshape, 2.0, 0.5)
    put(f"ln.{name}.x", x)
    forward_and_grads(f"ln.{name}", ln, x)

# ---------------------------------------------------------------------------------------------
# Embedding: int32 ids (with repeats, so the gradient sums rows) and float ids (cast to int32)
# ---------------------------------------------------------------------------------------------
keras.utils.clear_session()
emb = layers.Embedding(10, 5)
emb.build()
table = f32((10, 5), 0.5)
emb.set_weights([table])
put("emb.table", table)
ids = np.array([[1, 3, 3, 9], [0, 1, 7, 3], [2, 2, 2, 5]], dtype=np.int32)
put("emb.ids", ids)
forward_and_grads("emb.int", emb, ids, int_input=True)
fids = np.array([[1.7, 2.2, 0.0, 9.9], [-0.5, 4.5, 3.999, 8.0]], dtype=np.float32)
put("emb.fids", fids)
put("emb.float.y", emb(fids).numpy())

# ---------------------------------------------------------------------------------------------
# Conv1D: cfg = filters, kernel_size, strides, dilation_rate, groups, padding (0 valid, 1 same,
# 2 causal), use_bias, activation
# ---------------------------------------------------------------------------------------------
conv1d_cases = [
    ("valid", (2, 9, 3), dict(filters=4, kernel_size=3)),
    ("same_strided", (2, 10, 3), dict(filters=5, kernel_size=4, strides=2, padding="same",
                                       activation="relu")),
    ("causal_dilated", (2, 9, 2), dict(filters=3, kernel_size=3, dilation_rate=2,
                                       padding="causal", activation="tanh")),
    ("causal_groups", (1, 7, 4), dict(filters=6, kernel_size=2, groups=2, padding="causal",
                                      use_bias=False)),
]
for name, xshape, kw in conv1d_cases:
    conv_case(f"conv1d.{name}", layers.Conv1D, xshape, kw, conv1d_cfg)

# ---------------------------------------------------------------------------------------------
# 1-D pooling: cfg = kind (0 max, 1 average, 2 global average, 3 global max), pool_size,
# strides, same, keepdims
# ---------------------------------------------------------------------------------------------
pool1d_cases = [
    ("max_default", (2, 7, 3), 0, dict()),
    ("max_same_s1", (2, 6, 2), 0, dict(pool_size=3, strides=1, padding="same")),
    ("avg_default", (2, 8, 3), 1, dict(pool_size=2)),
    ("avg_same_s2", (2, 7, 2), 1, dict(pool_size=3, strides=2, padding="same")),
    ("gap", (3, 5, 4), 2, dict()),
    ("gap_keepdims", (2, 4, 3), 2, dict(keepdims=True)),
    ("gmp", (3, 5, 4), 3, dict()),
    ("gmp_keepdims", (2, 4, 3), 3, dict(keepdims=True)),
]
for name, xshape, kind, kw in pool1d_cases:
    keras.utils.clear_session()
    layer = [layers.MaxPooling1D, layers.AveragePooling1D, layers.GlobalAveragePooling1D,
             layers.GlobalMaxPooling1D][kind](**kw)
    if kind < 2:
        cfg = [kind, layer.pool_size[0], layer.strides[0], layer.padding == "same", 0]
    else:
        cfg = [kind, 0, 0, 0, kw.get("keepdims", False)]
    x = f32(xshape)
    put(f"pool1d.{name}.cfg", cfg)
    put(f"pool1d.{name}.xshape", xshape)
    put(f"pool1d.{name}.x", x)
    forward_and_grads(f"pool1d.{name}", layer, x)

# ---------------------------------------------------------------------------------------------
# Reshaping layers: `<case>.arg` holds the layer's argument as numbers (target_shape, dims, n,
# ((top, bottom), (left, right)) flattened, size).
# ---------------------------------------------------------------------------------------------
shape_cases = [
    ("reshape", (2, 3, 4), layers.Reshape, (4, 3)),
    ("reshape_infer", (2, 3, 4), layers.Reshape, (2, -1, 3)),
    ("reshape_flat", (3, 2, 2, 2), layers.Reshape, (-1,)),
    ("permute", (2, 3, 4, 5), layers.Permute, (3, 1, 2)),
    ("permute_swap", (2, 3, 4), layers.Permute, (2, 1)),
    ("repeat_vector", (3, 4), layers.RepeatVector, 3),
    ("zero_padding_default", (2, 3, 4, 2), layers.ZeroPadding2D, None),
    ("zero_padding", (1, 3, 2, 3), layers.ZeroPadding2D, ((1, 2), (0, 3))),
    ("cropping", (2, 5, 6, 3), layers.Cropping2D, ((1, 0), (2, 1))),
    ("cropping_bottom", (1, 4, 4, 2), layers.Cropping2D, ((0, 2), (1, 1))),
    ("up_sampling_default", (2, 3, 2, 2), layers.UpSampling2D, None),
    ("up_sampling", (1, 2, 3, 2), layers.UpSampling2D, (3, 1)),
]
for name, xshape, cls, arg in shape_cases:
    keras.utils.clear_session()
    layer = cls() if arg is None else cls(arg)
    put(f"shape.{name}.arg", [] if arg is None else np.ravel(arg))
    put(f"shape.{name}.xshape", xshape)
    x = f32(xshape)
    put(f"shape.{name}.x", x)
    forward_and_grads(f"shape.{name}", layer, x)

# ---------------------------------------------------------------------------------------------
# model.summary() of small models with every layer kind (shapes and parameter counts)
# ---------------------------------------------------------------------------------------------
summaries = []


def capture_summary(m, line_length):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        m.summary(line_length=line_length)
    return buf.getvalue()


keras.utils.clear_session()
cnn = keras.Sequential([
    layers.Conv2D(8, 3, activation="relu"),
    layers.BatchNormalization(),
    layers.MaxPooling2D(),
    layers.Conv2D(16, 3, padding="same", groups=2),
    layers.LayerNormalization(),
    layers.AveragePooling2D(2),
    layers.Dropout(0.25),
    layers.Flatten(),
    layers.Dense(10),
])
cnn(tf.zeros((2, 28, 28, 1)))
summaries.append(("cnn88", capture_summary(cnn, 88)))
summaries.append(("cnn100", capture_summary(cnn, 100)))
keras.utils.clear_session()
gap = keras.Sequential([
    layers.Conv2D(4, (3, 5), strides=2, padding="same", use_bias=False),
    layers.BatchNormalization(center=False),
    layers.GlobalAveragePooling2D(),
    layers.Dense(3),
])
gap(tf.zeros((5, 9, 9, 3)))
summaries.append(("gap88", capture_summary(gap, 88)))
keras.utils.clear_session()
embm = keras.Sequential([layers.Embedding(100, 8), layers.Flatten(), layers.Dense(1)])
embm(tf.zeros((2, 5), dtype=tf.int32))
summaries.append(("emb88", capture_summary(embm, 88)))
keras.utils.clear_session()
seq = keras.Sequential([
    layers.Conv1D(8, 3, padding="causal", activation="relu"),
    layers.MaxPooling1D(),
    layers.Conv1D(16, 3, strides=2, padding="same", groups=2),
    layers.AveragePooling1D(2, padding="same"),
    layers.GlobalAveragePooling1D(keepdims=True),
    layers.Reshape((16,)),
    layers.RepeatVector(3),
    layers.Permute((2, 1)),
    layers.GlobalMaxPooling1D(),
    layers.Dense(2),
])
seq(tf.zeros((2, 20, 4)))
summaries.append(("seq88", capture_summary(seq, 88)))
keras.utils.clear_session()
img = keras.Sequential([
    layers.ZeroPadding2D(),
    layers.Conv2D(4, 3),
    layers.Cropping2D(((1, 0), (2, 1))),
    layers.UpSampling2D((2, 3)),
    layers.Reshape((-1, 4)),
    layers.Conv1D(2, 5, dilation_rate=2),
    layers.Flatten(),
    layers.Dense(1),
])
img(tf.zeros((2, 6, 5, 3)))
summaries.append(("img88", capture_summary(img, 88)))

with open(OUT, "w") as f:
    f.write(f"# made by tests/ref/gen_keras_layers.py; versions: tensorflow {tf.__version__}, "
            f"keras {keras.__version__}, numpy {np.__version__}\n")
    for r in records:
        f.write(r + "\n")
    for name, text in summaries:
        for line in text.splitlines():
            f.write(f"#S {name}|{line}\n")
print(f"wrote {len(records)} records and {len(summaries)} summaries to {OUT}")
