#!/usr/bin/env python3
"""Reference values for gradtape's Keras layer (tests/test_nn_*.c), computed by TensorFlow 2 +
Keras 3 themselves. Deterministic: every input, weight and label is drawn here from a seeded
NumPy generator and written into the data file next to the values it produced, so the C tests
read both. Run from the repository root:

    /work/venv/tf/bin/python tests/ref/gen_keras.py

writes tests/data/keras_ref.txt (numbers) and tests/data/keras_summary.txt (model.summary text).

Format of keras_ref.txt: one record per line, `key n v1 ... vn`, values as repr() of float64
(float32 values converted exactly). Trajectories are flattened step-major.
"""
import io
import os
import sys
import contextlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
# rich crops tables to the console width (80 when not on a terminal): widen it
os.environ["COLUMNS"] = "200"
import warnings

import numpy as np
import tensorflow as tf
import keras
from keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
records = []


def put(key, arr):
    a = np.asarray(arr, dtype=np.float64).ravel()
    records.append(f"{key} {a.size} " + " ".join(repr(float(x)) for x in a))


rng = np.random.default_rng(20240521)


def f32(shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# 1. The seed model with fixed weights, inputs and labels
# ---------------------------------------------------------------------------------------------
class SimpleModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense1 = layers.Dense(5, activation="relu")
        self.dense2 = layers.Dense(2, activation="softmax")

    def call(self, x):
        x = self.dense1(x)
        return self.dense2(x)


keras.utils.clear_session()
inputs = f32((32, 10))
labels = rng.integers(0, 2, size=(32, 2)).astype(np.int32)
W1, b1 = f32((10, 5), 0.5), f32((5,), 0.1)
W2, b2 = f32((5, 2), 0.5), f32((2,), 0.1)
for k, v in [("seed.inputs", inputs), ("seed.labels", labels), ("seed.W1", W1), ("seed.b1", b1),
             ("seed.W2", W2), ("seed.b2", b2)]:
    put(k, v)

model = SimpleModel()
model(tf.constant(inputs))
for var, val in zip(model.trainable_variables, [W1, b1, W2, b2]):
    var.assign(val)
paths = [v.path for v in model.trainable_variables]
assert paths == ["simple_model/dense/kernel", "simple_model/dense/bias",
                 "simple_model/dense_1/kernel", "simple_model/dense_1/bias"], paths
for from_logits in (True, False):
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=from_logits)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with tf.GradientTape() as tape:
            pred = model(tf.constant(inputs))
            loss = loss_fn(tf.constant(labels), pred)
        assert any("does not represent logits" in str(x.message) for x in w) == from_logits
    grads = tape.gradient(loss, model.trainable_variables)
    tag = "seed.logits_true" if from_logits else "seed.logits_false"
    put(tag + ".pred", pred.numpy())
    put(tag + ".loss", loss.numpy())
    for i, g in enumerate(grads):
        put(f"{tag}.grad{i}", g.numpy())

# One SGD(0.01) step of the seed (the third program) and the loss after it.
opt = keras.optimizers.SGD(learning_rate=0.01)
opt.apply_gradients(zip(grads, model.trainable_variables))
for i, v in enumerate(model.trainable_variables):
    put(f"seed.sgd.var{i}", v.numpy())
put("seed.sgd.loss_after", keras.losses.CategoricalCrossentropy()(labels, model(inputs)).numpy())

# model.summary() text at two line lengths, and a Sequential model with more layer kinds.
summaries = []


def capture_summary(m, line_length):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        m.summary(line_length=line_length)
    return buf.getvalue()


summaries.append(("seed76", capture_summary(model, 76)))
summaries.append(("seed88", capture_summary(model, 88)))
keras.utils.clear_session()
seq = keras.Sequential([layers.Dense(300), layers.Activation("relu"), layers.Dense(6666)])
seq(tf.zeros((4, 3, 10)))
seq.layers[0].trainable = False
summaries.append(("seq88", capture_summary(seq, 88)))
seq2 = keras.Sequential([layers.Dense(4), layers.Dense(2)])
summaries.append(("unbuilt100", capture_summary(seq2, 100)))
with open(os.path.join(DATA, "keras_summary.txt"), "w") as f:
    for name, text in summaries:
        f.write(f"@@@ {name}\n{text}")
    f.write("@@@ end\n")

# ---------------------------------------------------------------------------------------------
# 2. Optimizers: 10 steps on a fixed problem. Two variables w (3,4) and b (4,); the gradient
#    is g = (v - T) * A elementwise (exactly rounded float32 ops, bit-identical in C).
# ---------------------------------------------------------------------------------------------
W0, B0 = f32((3, 4)), f32((4,))
TW, TB = f32((3, 4)), f32((4,))
AW = rng.uniform(0.2, 5.0, size=(3, 4)).astype(np.float32)
AB = rng.uniform(0.2, 5.0, size=(4,)).astype(np.float32)
for k, v in [("opt.w0", W0), ("opt.b0", B0), ("opt.tw", TW), ("opt.tb", TB), ("opt.aw", AW),
             ("opt.ab", AB)]:
    put(k, v)

S = keras.optimizers.schedules
optimizers = {
    "sgd": lambda: keras.optimizers.SGD(0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "sgd_clipnorm": lambda: keras.optimizers.SGD(0.1, clipnorm=1.0),
    "sgd_clipvalue": lambda: keras.optimizers.SGD(0.1, clipvalue=0.5),
    "sgd_global_clipnorm": lambda: keras.optimizers.SGD(0.1, global_clipnorm=1.0),
    "sgd_weight_decay": lambda: keras.optimizers.SGD(0.1, weight_decay=0.05),
    "adam": lambda: keras.optimizers.Adam(0.1),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.1, amsgrad=True),
    "adam_clipnorm": lambda: keras.optimizers.Adam(0.1, clipnorm=0.5),
    "adam_weight_decay": lambda: keras.optimizers.Adam(0.1, weight_decay=0.1),
    "adamw": lambda: keras.optimizers.AdamW(0.1),
    "adamw_amsgrad": lambda: keras.optimizers.AdamW(0.05, weight_decay=0.2, amsgrad=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.05),
    "rmsprop_momentum": lambda: keras.optimizers.RMSprop(0.05, momentum=0.9),
    "rmsprop_centered": lambda: keras.optimizers.RMSprop(0.05, centered=True),
    "rmsprop_momentum_centered": lambda: keras.optimizers.RMSprop(0.05, momentum=0.5,
                                                                  centered=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.5),
    "adagrad_global_clipnorm": lambda: keras.optimizers.Adagrad(0.5, global_clipnorm=2.0),
    "sgd_exponential": lambda: keras.optimizers.SGD(S.ExponentialDecay(0.1, 3, 0.5)),
    "sgd_exponential_staircase": lambda: keras.optimizers.SGD(
        S.ExponentialDecay(0.1, 3, 0.5, staircase=True)),
    "sgd_piecewise": lambda: keras.optimizers.SGD(
        S.PiecewiseConstantDecay([2, 5], [0.1, 0.05, 0.01])),
    "adam_cosine_warmup": lambda: keras.optimizers.Adam(
        S.CosineDecay(0.05, 6, alpha=0.1, warmup_target=0.2, warmup_steps=3)),
    "sgd_polynomial": lambda: keras.optimizers.SGD(
        S.PolynomialDecay(0.1, 6, end_learning_rate=0.01, power=2.0)),
    "sgd_inverse_time": lambda: keras.optimizers.SGD(
        S.InverseTimeDecay(0.1, 2, 0.5, staircase=True)),
    "adamax": lambda: keras.optimizers.Adamax(0.1),
    "adamax_weight_decay": lambda: keras.optimizers.Adamax(0.1, weight_decay=0.1),
    "adamax_clipvalue": lambda: keras.optimizers.Adamax(0.1, clipvalue=0.5),
    "nadam": lambda: keras.optimizers.Nadam(0.1),
    "nadam_weight_decay": lambda: keras.optimizers.Nadam(0.1, weight_decay=0.1),
    "nadam_global_clipnorm": lambda: keras.optimizers.Nadam(0.1, global_clipnorm=1.0),
    "nadam_exponential": lambda: keras.optimizers.Nadam(S.ExponentialDecay(0.1, 3, 0.5)),
    "lion": lambda: keras.optimizers.Lion(0.05),
    "lion_betas": lambda: keras.optimizers.Lion(0.05, beta_1=0.5, beta_2=0.9),
    "lion_weight_decay": lambda: keras.optimizers.Lion(0.05, weight_decay=0.2),
    "lion_piecewise": lambda: keras.optimizers.Lion(
        S.PiecewiseConstantDecay([2, 5], [0.1, 0.05, 0.01])),
}
for name, make in optimizers.items():
    for dt, suffix in ((np.float32, ""), (np.float64, "64")):
        opt = make()
        w = tf.Variable(W0.astype(dt))
        b = tf.Variable(B0.astype(dt))
        tw, tb, aw, ab = (tf.constant(a.astype(dt)) for a in (TW, TB, AW, AB))
        traj_w, traj_b = [], []
        for step in range(10):
            gw = (w - tw) * aw
            gb = (b - tb) * ab
            opt.apply_gradients([(gw, w), (gb, b)])
            traj_w.append(w.numpy())
            traj_b.append(b.numpy())
        put(f"opt.{name}.w{suffix}", np.stack(traj_w))
        put(f"opt.{name}.b{suffix}", np.stack(traj_b))
        if isinstance(opt, keras.optimizers.Nadam):  # its own variable, after the 10 steps
            put(f"opt.{name}.u_product{suffix}", opt._u_product.numpy())

# ---------------------------------------------------------------------------------------------
# 3. Schedules at steps 0..20
# ---------------------------------------------------------------------------------------------
schedules = {
    "exponential": S.ExponentialDecay(0.1, 3, 0.5),
    "exponential_staircase": S.ExponentialDecay(0.1, 3, 0.5, staircase=True),
    "piecewise": S.PiecewiseConstantDecay([2, 5, 9], [1.0, 0.5, 0.25, 0.125]),
    "cosine": S.CosineDecay(0.1, 10),
    "cosine_alpha": S.CosineDecay(0.1, 10, alpha=0.2),
    "cosine_warmup": S.CosineDecay(0.0, 10, alpha=0.1, warmup_target=0.3, warmup_steps=5),
    "polynomial": S.PolynomialDecay(0.1, 10),
    "polynomial_power_cycle": S.PolynomialDecay(0.1, 4, end_learning_rate=0.02, power=0.5,
                                                cycle=True),
    "inverse_time": S.InverseTimeDecay(0.1, 3, 0.5),
    "inverse_time_staircase": S.InverseTimeDecay(0.1, 3, 0.5, staircase=True),
}
for name, s in schedules.items():
    put(f"sched.{name}", [float(s(tf.constant(i, dtype=tf.int64))) for i in range(21)])

# ---------------------------------------------------------------------------------------------
# 4. Losses: value (each reduction) and gradient w.r.t. y_pred
# ---------------------------------------------------------------------------------------------
probs = rng.uniform(0.05, 1.0, size=(4, 3)).astype(np.float32)  # rows do not sum to 1
probs[3] = [0.0, 0.7, 0.3]  # a zero probability: exercises the clipping
onehot = np.eye(3, dtype=np.float32)[[0, 2, 1, 0]]
logits = f32((4, 3), 2.0)
sparse = np.array([0, 2, 1, 0], dtype=np.int32)
sw = np.array([1.0, 0.5, 2.0, 0.0], dtype=np.float32)
bprobs = rng.uniform(0.01, 0.99, size=(4, 2)).astype(np.float32)
bprobs[0, 0] = 1.0
btrue = rng.integers(0, 2, size=(4, 2)).astype(np.float32)
blogits = f32((4, 2), 2.0)
rtrue, rpred = f32((4, 3)), f32((4, 3))
for k, v in [("loss.probs", probs), ("loss.onehot", onehot), ("loss.logits", logits),
             ("loss.sparse", sparse), ("loss.sw", sw), ("loss.bprobs", bprobs),
             ("loss.btrue", btrue), ("loss.blogits", blogits), ("loss.rtrue", rtrue),
             ("loss.rpred", rpred)]:
    put(k, v)

L = keras.losses
loss_cases = {
    # name: (loss factory, y_true, y_pred)
    "cce": (lambda r: L.CategoricalCrossentropy(reduction=r), onehot, probs),
    "cce_logits": (lambda r: L.CategoricalCrossentropy(from_logits=True, reduction=r), onehot,
                   logits),
    "cce_smooth": (lambda r: L.CategoricalCrossentropy(label_smoothing=0.1, reduction=r), onehot,
                   probs),
    "cce_logits_smooth": (lambda r: L.CategoricalCrossentropy(from_logits=True,
                                                              label_smoothing=0.2, reduction=r),
                          onehot, logits),
    "cce_axis0": (lambda r: L.CategoricalCrossentropy(axis=0, reduction=r), onehot.T.copy(),
                  probs.T.copy()),
    "scce": (lambda r: L.SparseCategoricalCrossentropy(reduction=r), sparse, probs),
    "scce_logits": (lambda r: L.SparseCategoricalCrossentropy(from_logits=True, reduction=r),
                    sparse, logits),
    "scce_col": (lambda r: L.SparseCategoricalCrossentropy(from_logits=True, reduction=r),
                 sparse.reshape(4, 1), logits),
    "bce": (lambda r: L.BinaryCrossentropy(reduction=r), btrue, bprobs),
    "bce_logits": (lambda r: L.BinaryCrossentropy(from_logits=True, reduction=r), btrue,
                   blogits),
    "bce_smooth": (lambda r: L.BinaryCrossentropy(label_smoothing=0.2, reduction=r), btrue,
                   bprobs),
    "bce_logits_smooth": (lambda r: L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1,
                                                         reduction=r), btrue, blogits),
    "mse": (lambda r: L.MeanSquaredError(reduction=r), rtrue, rpred),
    "mae": (lambda r: L.MeanAbsoluteError(reduction=r), rtrue, rpred),
    "huber": (lambda r: L.Huber(reduction=r), rtrue, rpred),
    "huber_delta": (lambda r: L.Huber(delta=0.5, reduction=r), rtrue, rpred),
}


def put_loss_cases(cases):
    """Each loss for every reduction, with and without the sample weights sw: its value and
    the gradient of sum(value) w.r.t. y_pred."""
    for name, (make, yt, yp) in cases.items():
        for red in ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight"):
            for weighted in (False, True):
                if red == "mean_with_sample_weight" and not weighted:
                    continue
                lf = make(red)
                x = tf.Variable(yp)
                with tf.GradientTape() as tape:
                    val = lf(tf.constant(yt), x,
                             sample_weight=tf.constant(sw) if weighted else None)
                    tot = tf.reduce_sum(val)
                g = tape.gradient(tot, x)
                tag = f"loss.{name}.{red}" + (".sw" if weighted else "")
                put(tag, val.numpy())
                put(tag + ".grad", g.numpy())


put_loss_cases(loss_cases)

# The _keras_logits shortcut: softmax of extreme logits given to CCE(from_logits=False) is
# computed from the logits (not from clipped probabilities).
ext = np.array([[20.0, -20.0, 0.0], [1.0, 2.0, 3.0]], dtype=np.float32)
ext_true = np.array([[0, 1, 0], [0, 0, 1]], dtype=np.float32)
put("loss.ext_logits", ext)
put("loss.ext_true", ext_true)
sm = keras.activations.softmax(tf.constant(ext))
put("loss.ext.cce_via_logits", L.CategoricalCrossentropy(reduction="none")(ext_true, sm).numpy())
put("loss.ext.cce_via_probs",
    L.CategoricalCrossentropy(reduction="none")(ext_true, tf.identity(sm)).numpy())
sg = keras.activations.sigmoid(tf.constant(ext))
bt = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float32)
put("loss.ext_btrue", bt)
put("loss.ext.bce_via_logits", L.BinaryCrossentropy(reduction="none")(bt, sg).numpy())
put("loss.ext.bce_via_probs", L.BinaryCrossentropy(reduction="none")(bt, tf.identity(sg)).numpy())

# ---------------------------------------------------------------------------------------------
# 5. Metrics
# ---------------------------------------------------------------------------------------------
M = keras.metrics
mp = f32((6, 4))
mt_sparse = rng.integers(0, 4, size=(6,)).astype(np.int32)
mt_onehot = np.eye(4, dtype=np.float32)[mt_sparse]
mt_onehot[0] = np.eye(4, dtype=np.float32)[int(np.argmax(mp[0]))]  # at least one hit
mw = np.array([1, 2, 0, 1, 0.5, 3], dtype=np.float32)
put("met.pred", mp)
put("met.sparse", mt_sparse)
put("met.onehot", mt_onehot)
put("met.sw", mw)
m = M.Mean(); m.update_state(mp); put("met.mean", m.result().numpy())
m = M.Mean(); m.update_state(mp[:, 0], sample_weight=mw); m.update_state(mp[:3, 1])
put("met.mean_sw", m.result().numpy())
m = M.CategoricalAccuracy(); m.update_state(mt_onehot, mp); put("met.cat", m.result().numpy())
m = M.CategoricalAccuracy(); m.update_state(mt_onehot, mp, sample_weight=mw)
put("met.cat_sw", m.result().numpy())
m = M.SparseCategoricalAccuracy(); m.update_state(mt_sparse, mp); put("met.sparse_acc",
                                                                      m.result().numpy())
m = M.SparseCategoricalAccuracy(); m.update_state(mt_sparse.reshape(6, 1), mp, sample_weight=mw)
put("met.sparse_acc_sw", m.result().numpy())
at = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
ap = np.array([[1, 0], [3, 4], [0, 6]], dtype=np.float32)
put("met.acc_true", at); put("met.acc_pred", ap)
m = M.Accuracy(); m.update_state(at, ap); put("met.acc", m.result().numpy())

# ---------------------------------------------------------------------------------------------
# 6. Callbacks: ReduceLROnPlateau driven by scripted monitor values (its hooks called as fit
#    calls them), and TerminateOnNaN in a real fit that overflows. Printed text is stored as
#    character codes (`key.stdout`).
# ---------------------------------------------------------------------------------------------
def put_text(key, text):
    put(key, [ord(c) for c in text])


def captured(fn):
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as w, contextlib.redirect_stdout(buf):
        warnings.simplefilter("always")
        fn()
    return buf.getvalue(), [str(x.message) for x in w]


keras.utils.clear_session()
cb_model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
cb_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["accuracy"])
cb_model.evaluate(np.zeros((2, 2), np.float32), np.zeros((2, 1), np.float32), verbose=0)
rlrop_cases = {
    # name: (kwargs, monitor, values per epoch)
    "auto_loss": (dict(factor=0.5, patience=2, cooldown=1, min_delta=0.01, min_lr=0.02,
                       verbose=1), "val_loss",
                  [1.0, 0.9, 0.895, 0.899, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.91, 0.92, 0.93,
                   0.94, 0.95, 0.96]),
    "auto_accuracy": (dict(factor=0.2, patience=1, verbose=1), "val_accuracy",
                      [0.5, 0.6, 0.6, 0.7, 0.65, 0.7, 0.71, 0.70005, 0.7, 0.69]),
    "max": (dict(factor=0.1, patience=1, mode="max", min_delta=0.0, cooldown=2,
                 min_lr=1e-4, verbose=1), "score",
            [1.0, 1.0, 2.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5]),
    "min_lr_float32": (dict(factor=0.5, patience=1, min_lr=0.05, verbose=1), "val_loss",
                       [1.0, 1.0, 1.0, 1.0, 1.0]),
    "min_quiet": (dict(factor=0.3, patience=3, mode="min"), "val_loss",
                  [3.0, 2.0, 2.5, 2.5, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9999]),
    "missing": (dict(), "val_loss", [None, None]),
}
for name, (kw, monitor, values) in rlrop_cases.items():
    cb_model.optimizer.learning_rate = 0.1
    cb = keras.callbacks.ReduceLROnPlateau(monitor=monitor, **kw)
    cb.set_model(cb_model)
    lrs, logged = [], []

    def run():
        cb.on_train_begin()
        for epoch, val in enumerate(values):
            logs = {"loss": 1.0} if val is None else {monitor: val}
            cb.on_epoch_end(epoch, logs)
            logged.append(logs["learning_rate"])
            lrs.append(float(cb_model.optimizer.learning_rate.numpy()))

    out, warns = captured(run)
    put(f"rlrop.{name}.values", [np.nan if v is None else v for v in values])
    put(f"rlrop.{name}.logged_lr", logged)
    put(f"rlrop.{name}.lr", lrs)
    put_text(f"rlrop.{name}.stdout", out)
    warns = [w for w in warns if "Learning rate reduction" in w]
    put_text(f"rlrop.{name}.warning", warns[0] if warns else "")

keras.utils.clear_session()
tn_x, tn_y = f32((12, 3)), f32((12, 1))
tn_w, tn_b = f32((3, 1), 0.5), f32((1,), 0.1)
for k, v in [("tnan.x", tn_x), ("tnan.y", tn_y), ("tnan.w", tn_w), ("tnan.b", tn_b)]:
    put(k, v)
tn_model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
tn_model.set_weights([tn_w, tn_b])
tn_model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
tn_hist = []
out, _ = captured(lambda: tn_hist.append(tn_model.fit(
    tn_x, tn_y, batch_size=4, epochs=3, shuffle=False, verbose=0,
    callbacks=[keras.callbacks.TerminateOnNaN()])))
put("tnan.loss", tn_hist[0].history["loss"])
put_text("tnan.stdout", out)

# ---------------------------------------------------------------------------------------------
# 7. More losses (as in 4, on 4's inputs and some new ones) and more metrics. Drawn from their
#    own generator and written after everything else, so the records above stay as they were.
# ---------------------------------------------------------------------------------------------
rng7 = np.random.default_rng(20250611)
pos_true = rng7.uniform(0.0, 1.0, size=(4, 3)).astype(np.float32)
pos_true[3, 0] = 0.0  # clipped to epsilon by KLDivergence
pos_pred = rng7.uniform(0.05, 1.5, size=(4, 3)).astype(np.float32)
pos_pred[2, 1] = 0.0  # clipped by KLDivergence, log(0 + epsilon) in Poisson
cos_true = rtrue.copy()
cos_true[3] = 0.0  # a zero vector: similarity 0
pm1 = np.where(rng7.uniform(size=(4, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
for k, v in [("loss.pos_true", pos_true), ("loss.pos_pred", pos_pred),
             ("loss.cos_true", cos_true), ("loss.pm1", pm1)]:
    put(k, v)
put_loss_cases({
    "kld": (lambda r: L.KLDivergence(reduction=r), pos_true, pos_pred),
    "poisson": (lambda r: L.Poisson(reduction=r), pos_true, pos_pred),
    "log_cosh": (lambda r: L.LogCosh(reduction=r), rtrue, rpred),
    "cosine": (lambda r: L.CosineSimilarity(reduction=r), cos_true, rpred),
    "cosine_axis0": (lambda r: L.CosineSimilarity(axis=0, reduction=r), cos_true.T.copy(),
                     rpred.T.copy()),
    "hinge": (lambda r: L.Hinge(reduction=r), onehot, rpred),  # 0/1 labels -> -1/1
    "hinge_pm1": (lambda r: L.Hinge(reduction=r), pm1, rpred),
    "squared_hinge": (lambda r: L.SquaredHinge(reduction=r), onehot, rpred),
    "squared_hinge_pm1": (lambda r: L.SquaredHinge(reduction=r), pm1, rpred),
    "categorical_hinge": (lambda r: L.CategoricalHinge(reduction=r), onehot, rpred),
    "msle": (lambda r: L.MeanSquaredLogarithmicError(reduction=r), rtrue, rpred),
    "mape": (lambda r: L.MeanAbsolutePercentageError(reduction=r), rtrue, rpred),
})
# Keras' documented values
put("loss.doc.cosine", L.CosineSimilarity(axis=1)([[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]]))

# Metrics: for each, result() before any update, after update(first 3 rows) and
# update(last 3 rows, their sample weights), after reset_state(), and after one weighted
# update of all rows following the reset.
mb_true = rng7.integers(0, 2, size=(6, 3)).astype(np.float32)
# predictions that lean towards the labels, so every confusion-matrix count is exercised
mb_pred = (0.4 * mb_true + rng7.uniform(0.0, 0.6, size=(6, 3))).astype(np.float32)
mb_pred[0, 0] = 0.5  # at the threshold: not above it
mk_pred = rng7.standard_normal((6, 8)).astype(np.float32)
mk_sparse = rng7.integers(0, 8, size=(6,)).astype(np.int32)
mk_pred[1] = 0.25  # all tied: in the top k for any k
mk_onehot = np.eye(8, dtype=np.float32)[mk_sparse]
mr_true, mr_pred = (rng7.standard_normal((6, 3)).astype(np.float32) for _ in range(2))
m7_sw = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 1.0], dtype=np.float32)
for k, v in [("met.b_true", mb_true), ("met.b_pred", mb_pred), ("met.k_pred", mk_pred),
             ("met.k_sparse", mk_sparse), ("met.k_onehot", mk_onehot), ("met.r_true", mr_true),
             ("met.r_pred", mr_pred), ("met.sw7", m7_sw)]:
    put(k, v)
metric_cases = {
    "binary_accuracy": (lambda: M.BinaryAccuracy(), mb_true, mb_pred),
    "binary_accuracy_t07": (lambda: M.BinaryAccuracy(threshold=0.7), mb_true, mb_pred),
    "top_k": (lambda: M.TopKCategoricalAccuracy(), mk_onehot, mk_pred),
    "top_k2": (lambda: M.TopKCategoricalAccuracy(k=2), mk_onehot, mk_pred),
    "sparse_top_k": (lambda: M.SparseTopKCategoricalAccuracy(), mk_sparse, mk_pred),
    "sparse_top_k2_col": (lambda: M.SparseTopKCategoricalAccuracy(k=2), mk_sparse.reshape(6, 1),
                          mk_pred),
    "mse": (lambda: M.MeanSquaredError(), mr_true, mr_pred),
    "mae": (lambda: M.MeanAbsoluteError(), mr_true, mr_pred),
    "rmse": (lambda: M.RootMeanSquaredError(), mr_true, mr_pred),
    "precision": (lambda: M.Precision(), mb_true, mb_pred),
    "precision_t07": (lambda: M.Precision(thresholds=0.7), mb_true, mb_pred),
    "recall": (lambda: M.Recall(), mb_true, mb_pred),
    "recall_t07": (lambda: M.Recall(thresholds=0.7), mb_true, mb_pred),
    "precision_rank1": (lambda: M.Precision(), mb_true[:, 0].copy(), mb_pred[:, 0].copy()),
}
for name, (make, yt, yp) in metric_cases.items():
    m = make()
    vals = [m.result()]
    m.update_state(yt[:3], yp[:3])
    m.update_state(yt[3:], yp[3:], sample_weight=m7_sw[3:])
    vals.append(m.result())
    m.reset_state()
    vals.append(m.result())
    m.update_state(yt, yp, sample_weight=m7_sw)
    vals.append(m.result())
    put(f"met.{name}", [float(v) for v in vals])

with open(os.path.join(DATA, "keras_ref.txt"), "w") as f:
    f.write(f"# generated by tests/ref/gen_keras.py with TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}; do not edit\n")
    f.write("\n".join(records) + "\n")
print(f"wrote {len(records)} records", file=sys.stderr)
