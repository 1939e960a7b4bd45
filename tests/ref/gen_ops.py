#!/usr/bin/env python3
"""Generates tests/data/ops_ref.txt: forward values and first-order gradients computed by
TensorFlow itself for every op of gradtape's public API (gt_add ... gt_sigmoid_cross_entropy_
with_logits). tests/test_ops_ref.c replays every case through gradtape and compares.

Run (from anywhere):   /work/venv/tf/bin/python tests/ref/gen_ops.py [output-path]

Deterministic: every case draws its inputs and gradient weights from its own
numpy Generator seeded from the case's index, and TensorFlow runs single-threaded on the CPU.
The format is described in tests/ref/README.md.
"""
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "data", "ops_ref.txt"))

F32, F64, I32, I64, BOOL = np.float32, np.float64, np.int32, np.int64, np.bool_
FLOATS = (F32, F64)
DTYPE_NAME = {F32: "float32", F64: "float64", I32: "int32", I64: "int64", BOOL: "bool"}
TF_DTYPE = {F32: tf.float32, F64: tf.float64, I32: tf.int32, I64: tf.int64, BOOL: tf.bool}
SHORT = {F32: "f32", F64: "f64", I32: "i32", I64: "i64", BOOL: "bool"}

# ---------------------------------------------------------------------------------------------
# Text output
# ---------------------------------------------------------------------------------------------


def fmt_value(v, dt):
    """Shortest text that reads back to exactly v in dtype dt (checked)."""
    if dt is BOOL:
        return "1" if bool(v) else "0"
    if dt in (I32, I64):
        return str(int(v))
    v = dt(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    if dt is F32:
        s = str(np.float32(v))  # numpy prints the shortest repr that round-trips in float32
        assert np.float32(s) == v and np.signbit(np.float32(s)) == np.signbit(v), (s, v)
    else:
        s = repr(float(v))      # Python's repr is the shortest that round-trips in float64
        assert float(s) == v and np.signbit(float(s)) == np.signbit(v), (s, v)
    return s


def np_dtype(a):
    a = np.asarray(a)
    for dt in (F32, F64, I32, I64, BOOL):
        if a.dtype == dt:
            return dt
    raise TypeError(f"unsupported dtype {a.dtype}")


def fmt_tensor(a):
    a = np.asarray(a)
    dt = np_dtype(a)
    shape = "[" + ",".join(str(d) for d in a.shape) + "]"
    vals = " ".join(fmt_value(v, dt) for v in a.reshape(-1))
    return f"{DTYPE_NAME[dt]} {shape}" + (" " + vals if vals else "")


def fmt_attr(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return v
    if isinstance(v, type) and v in DTYPE_NAME:
        return DTYPE_NAME[v]
    if isinstance(v, (list, tuple)):
        return " ".join(fmt_attr(x) for x in v) if v else "empty"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return fmt_value(float(v), F64)
    raise TypeError(f"attribute value {v!r}")


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

LINES = []
IDS = set()
COUNT = {"cases": 0, "grads": 0}
WEIGHTS = np.array([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0])  # exact in every float dtype


def rng_for(case_index):
    return np.random.default_rng(1000 + case_index)


def add_case(cid, op, inputs, fn, attrs=(), grad=True):
    """inputs: list of (name, numpy array). fn(*tf tensors) -> tensor or list of tensors.
    attrs: list of (name, value) recorded for the C side. grad: also record d/d(float inputs)
    of sum_i sum(w_i * y_i) with fixed weights w_i (only when every output is float)."""
    assert cid not in IDS, cid
    IDS.add(cid)
    idx = COUNT["cases"]
    COUNT["cases"] += 1
    rng = rng_for(idx)
    xs = [tf.constant(a) for _, a in inputs]
    float_idx = [i for i, (_, a) in enumerate(inputs) if np_dtype(a) in FLOATS]
    with tf.GradientTape() as tape:
        for i in float_idx:
            tape.watch(xs[i])
        ys = fn(*xs)
        multi = isinstance(ys, (list, tuple))
        ys = list(ys) if multi else [ys]
        ys = [tf.convert_to_tensor(y) for y in ys]
        outs_float = all(y.dtype in (tf.float32, tf.float64) for y in ys)
        do_grad = grad and outs_float and float_idx
        ws = []
        if do_grad:
            loss = None
            for y in ys:
                w = rng.choice(WEIGHTS, size=tuple(y.shape)).astype(y.dtype.as_numpy_dtype)
                ws.append(w)
                term = tf.reduce_sum(tf.constant(w) * y)
                loss = term if loss is None else loss + term
    LINES.append(f"case {cid}")
    LINES.append(f"op {op}")
    for name, v in attrs:
        LINES.append(f"attr {name} {fmt_attr(v)}")
    for (name, a) in inputs:
        LINES.append(f"in {name} {fmt_tensor(a)}")
    for y in ys:
        LINES.append(f"out {fmt_tensor(y.numpy())}")
    if do_grad:
        grads = tape.gradient(loss, [xs[i] for i in float_idx])
        for w in ws:
            LINES.append(f"w {fmt_tensor(w)}")
        for i, g in zip(float_idx, grads):
            name = inputs[i][0]
            if g is None:
                LINES.append(f"grad {name} none")
            else:
                LINES.append(f"grad {name} {fmt_tensor(tf.convert_to_tensor(g).numpy())}")
        COUNT["grads"] += 1
    LINES.append("end")


def arr(values, dt, shape=None):
    a = np.array(values, dtype=np.float64 if dt in FLOATS else None).astype(dt)
    return a.reshape(shape) if shape is not None else a


_data_seed = [0]


def randn(shape, dt, scale=1.0, shift=0.0):
    """Seeded normal samples (a fresh seed per call, in call order: deterministic)."""
    _data_seed[0] += 1
    r = np.random.default_rng(50000 + _data_seed[0])
    return (shift + scale * r.standard_normal(size=shape)).astype(dt)


def randu(shape, dt, lo, hi):
    _data_seed[0] += 1
    r = np.random.default_rng(50000 + _data_seed[0])
    return r.uniform(lo, hi, size=shape).astype(dt)


def randi(shape, dt, lo, hi):
    _data_seed[0] += 1
    r = np.random.default_rng(50000 + _data_seed[0])
    return r.integers(lo, hi, size=shape).astype(dt)


# ---------------------------------------------------------------------------------------------
# Elementwise binary ops
# ---------------------------------------------------------------------------------------------

BINARY = {
    "add": tf.math.add,
    "sub": tf.math.subtract,
    "mul": tf.math.multiply,
    "div": tf.math.truediv,
    "pow": tf.math.pow,
    "maximum": tf.math.maximum,
    "minimum": tf.math.minimum,
    "squared_difference": tf.math.squared_difference,
}


def int_div(a, b):
    # gt_div on integers truncates toward zero: TensorFlow's truncatediv (tf.math.truediv
    # would promote to float64). Cases never divide by zero (TF's kernel refuses).
    return tf.truncatediv(a, b)


def gen_binary():
    for op, fn in BINARY.items():
        for dt in FLOATS:
            s = SHORT[dt]
            pos = op == "pow"  # random bases positive for pow (log(a) in d/db)
            def mk(shape):
                return randu(shape, dt, 0.5, 2.0) if pos else randn(shape, dt)
            add_case(f"{op}/{s}/same", op, [("a", mk((2, 3))), ("b", mk((2, 3)))], fn)
            add_case(f"{op}/{s}/bcast_213_41", op, [("a", mk((2, 1, 3))), ("b", mk((4, 1)))], fn)
            add_case(f"{op}/{s}/scalar_vec", op, [("a", mk(())), ("b", mk((3,)))], fn)
            add_case(f"{op}/{s}/vec_scalar", op, [("a", mk((3,))), ("b", mk(()))], fn)
            add_case(f"{op}/{s}/rank_mismatch", op, [("a", mk((3, 1, 2))), ("b", mk((2,)))], fn)
            add_case(f"{op}/{s}/empty", op, [("a", mk((0, 3))), ("b", mk((1, 3)))], fn)
            add_case(f"{op}/{s}/empty_both", op, [("a", mk((2, 0))), ("b", mk((0,)))], fn)
            if dt is F64:
                add_case(f"{op}/{s}/scalars", op, [("a", mk(())), ("b", mk(()))], fn)
        # edge values, both float dtypes
        for dt in FLOATS:
            s = SHORT[dt]
            if op in ("maximum", "minimum"):
                a = arr([1, 2, 0, -1, 3, -0.5], dt, (2, 3))
                b = arr([1, 0, 0, 2, 3, -0.5], dt, (2, 3))
                add_case(f"{op}/{s}/ties", op, [("a", a), ("b", b)], fn)
                add_case(f"{op}/{s}/ties_bcast", op,
                         [("a", arr([1, 2, 3, 2, 0, 2], dt, (2, 3))), ("b", arr([2], dt, ()))], fn)
                add_case(f"{op}/{s}/ties_bcast_rev", op,
                         [("a", arr([2], dt, ())), ("b", arr([1, 2, 3, 2, 0, 2], dt, (2, 3)))], fn)
            if op == "div":
                add_case(f"div/{s}/by_zero", op,
                         [("a", arr([1, -1, 0, 2], dt)), ("b", arr([0, 0, 0, -4], dt))], fn,
                         grad=False)
                add_case(f"div/{s}/exact", op,
                         [("a", arr([1, 3, -7, 10, 0.5, 100], dt)),
                          ("b", arr([3, 7, 2, 4, -0.25, 9], dt))], fn)
            if op == "pow":
                a = arr([0, 0, 2, -2, -2, 4, 0.5, -3, 9], dt)
                b = arr([2, 0.5, 3, 3, 2, 0, -2, 0, 0.5], dt)
                add_case(f"pow/{s}/edges", op, [("a", a), ("b", b)], fn)
                add_case(f"pow/{s}/zero_pow_zero", op,
                         [("a", arr([0], dt)), ("b", arr([0], dt))], fn)
                add_case(f"pow/{s}/neg_base_frac_exp", op,
                         [("a", arr([-2, -0.5], dt)), ("b", arr([0.5, 1.5], dt))], fn, grad=False)
            if op in ("add", "sub", "mul"):
                add_case(f"{op}/{s}/small_ints", op,
                         [("a", arr([1, -2, 3, 0, 7, 100], dt)),
                          ("b", arr([4, 5, -6, 0, -7, 28], dt))], fn)
                add_case(f"{op}/{s}/inf", op,
                         [("a", arr([np.inf, -np.inf, np.inf, 1], dt)),
                          ("b", arr([1, 2, np.inf, -np.inf], dt))], fn, grad=False)
            if op == "squared_difference":
                add_case(f"{op}/{s}/small_ints", op,
                         [("a", arr([1, -2, 3, 0], dt)), ("b", arr([4, 5, 3, -1], dt))], fn)
        # integer dtypes
        for dt in (I32, I64):
            s = SHORT[dt]
            if op == "pow":
                continue  # integer powers: gradtape rejects them by design (cast to float)
            if op == "div":
                a = arr([7, -7, 7, -7, 0, 9], dt, (2, 3))
                b = arr([2, 2, -2, -2, 3, 10], dt, (2, 3))
                add_case(f"div/{s}/trunc", op, [("a", a), ("b", b)], int_div)
                add_case(f"div/{s}/bcast", op,
                         [("a", arr([10, -10, 5, 0, 3, -3], dt, (3, 2))), ("b", arr([3, -4], dt))],
                         int_div)
                continue
            add_case(f"{op}/{s}/same", op,
                     [("a", randi((2, 3), dt, -20, 20)), ("b", randi((2, 3), dt, -20, 20))], fn)
            add_case(f"{op}/{s}/bcast", op,
                     [("a", randi((2, 1, 3), dt, -9, 9)), ("b", randi((4, 1), dt, -9, 9))], fn)
            if op in ("maximum", "minimum"):
                add_case(f"{op}/{s}/ties", op,
                         [("a", arr([1, 5, -3], dt)), ("b", arr([1, -5, -3], dt))], fn)
        if op == "add":
            big = arr([2147483000, -2147483000], I64)
            add_case("add/i64/large", op, [("a", big), ("b", arr([4000000000, -5], I64))], fn)


SCALAR_OPS = {
    "add_s": lambda x, s: x + s,
    "sub_s": lambda x, s: x - s,
    "rsub_s": lambda x, s: s - x,
    "mul_s": lambda x, s: x * s,
    "div_s": lambda x, s: x / s,
    "rdiv_s": lambda x, s: s / x,
    "pow_s": lambda x, s: tf.math.pow(x, s),
    "maximum_s": lambda x, s: tf.math.maximum(x, s),
    "minimum_s": lambda x, s: tf.math.minimum(x, s),
}


def gen_scalar_forms():
    # TensorFlow converts the Python scalar to the tensor's dtype first (tf.constant(s, dtype)),
    # so x + 0.1 in float32 adds float32(0.1): pinned by the s=0.1 cases.
    for op, f in SCALAR_OPS.items():
        for dt in FLOATS:
            sd = SHORT[dt]
            tfdt = TF_DTYPE[dt]

            def fn(x, s_=None, f_=f, tfdt_=tfdt):
                return f_(x, tf.constant(s_, tfdt_))

            for sv in (1.5, 0.1, -3.0):
                if op == "pow_s" and sv == 0.1:
                    sv = 0.5
                x = randu((2, 3), dt, 0.5, 2.0) if op in ("pow_s", "rdiv_s") else randn((2, 3), dt)
                add_case(f"{op}/{sd}/s={sv}", op, [("x", x)],
                         lambda x, sv=sv, fn=fn: fn(x, sv), attrs=[("s", sv)])
            if op in ("maximum_s", "minimum_s"):
                x = arr([-1, 0.5, 2, 0.5, 3], dt)
                add_case(f"{op}/{sd}/ties", op, [("x", x)], lambda x, fn=fn: fn(x, 0.5),
                         attrs=[("s", 0.5)])
            if op == "pow_s":
                x = arr([-2, -1, 0, 1.5, 3], dt)
                add_case(f"pow_s/{sd}/square_neg", op, [("x", x)], lambda x, fn=fn: fn(x, 2.0),
                         attrs=[("s", 2.0)])
                add_case(f"pow_s/{sd}/cube_neg", op, [("x", x)], lambda x, fn=fn: fn(x, 3.0),
                         attrs=[("s", 3.0)])
                add_case(f"pow_s/{sd}/sqrt_at_zero", op, [("x", arr([0, 0.25, 4], dt))],
                         lambda x, fn=fn: fn(x, 0.5), attrs=[("s", 0.5)])
                add_case(f"pow_s/{sd}/inverse", op, [("x", arr([-2, 0.5, 4], dt))],
                         lambda x, fn=fn: fn(x, -1.0), attrs=[("s", -1.0)])
                add_case(f"pow_s/{sd}/zero_exp", op, [("x", arr([-2, 0, 4], dt))],
                         lambda x, fn=fn: fn(x, 0.0), attrs=[("s", 0.0)])
            if op == "rdiv_s":
                add_case(f"rdiv_s/{sd}/by_zero", op, [("x", arr([0, -0.0, 2], dt))],
                         lambda x, fn=fn: fn(x, 1.0), attrs=[("s", 1.0)], grad=False)
            if dt is F64:
                add_case(f"{op}/{sd}/empty", op, [("x", randn((0, 2), dt))],
                         lambda x, fn=fn: fn(x, 2.0), attrs=[("s", 2.0)])
        for dt in (I32, I64):
            sd = SHORT[dt]
            tfdt = TF_DTYPE[dt]
            if op in ("div_s", "rdiv_s"):
                g = (lambda x, s: tf.truncatediv(x, s)) if op == "div_s" else \
                    (lambda x, s: tf.truncatediv(s, x))
                x = arr([7, -7, 9, -1, 3, 10], dt, (2, 3))
                sv = 2 if op == "div_s" else -20
                add_case(f"{op}/{sd}/s={sv}", op, [("x", x)],
                         lambda x, g=g, sv=sv, tfdt=tfdt: g(x, tf.constant(sv, tfdt)),
                         attrs=[("s", float(sv))])
                continue
            if op == "pow_s":
                continue  # integer powers: gradtape rejects them by design (cast to float)
            sv = -3
            x = arr([-3, -1, 0, 2, 5, 11], dt, (2, 3))
            add_case(f"{op}/{sd}/s={sv}", op, [("x", x)],
                     lambda x, f=f, sv=sv, tfdt=tfdt: f(x, tf.constant(sv, tfdt)),
                     attrs=[("s", float(sv))])


# ---------------------------------------------------------------------------------------------
# Elementwise unary ops
# ---------------------------------------------------------------------------------------------


def k_elu(alpha):
    # gt_elu(x, alpha): x if x > 0 else alpha*(exp(x)-1). tf.nn.elu has alpha 1; Keras'
    # TensorFlow backend (keras.activations.elu) scales the negative branch for other alphas.
    return lambda x: keras.activations.elu(x, alpha=alpha)


UNARY = {
    # name: (fn, domain (lo, hi) for random inputs, edge values, attrs)
    "neg": (tf.math.negative, (-3, 3), [0, -0.0, 1.5, -2, np.inf], []),
    "abs": (tf.math.abs, (-3, 3), [-2, -0.5, 0, 0.5, 3], []),
    "sign": (tf.math.sign, (-3, 3), [-2, 0, 3, -1e-30, 1e-30], []),
    "square": (tf.math.square, (-3, 3), [-3, 0, 2.5, 1e20], []),
    "sqrt": (tf.math.sqrt, (0.1, 4), [0, 0.25, 4, 2, 1e-10], []),
    "rsqrt": (tf.math.rsqrt, (0.1, 4), [0, 0.25, 4, 2], []),
    "exp": (tf.math.exp, (-3, 3), [-100, -1, 0, 1, 50, 100], []),
    "log": (tf.math.log, (0.1, 4), [0, 1e-3, 1, 10, -1], []),
    "log1p": (tf.math.log1p, (-0.5, 3), [-1, -0.5, 0, 1e-6, 3], []),
    "expm1": (tf.math.expm1, (-3, 3), [-50, -1e-6, 0, 1e-6, 2], []),
    "sin": (tf.math.sin, (-3, 3), [0, 0.5, -1, 2, 3], []),
    "cos": (tf.math.cos, (-3, 3), [0, 0.5, -1, 2, 3], []),
    "tanh": (tf.math.tanh, (-3, 3), [-20, -1, 0, 0.5, 20, 1e-4], []),
    "sigmoid": (tf.math.sigmoid, (-3, 3), [-100, -20, -1, 0, 1, 20, 100], []),
    "relu": (tf.nn.relu, (-3, 3), [-1, 0, 2, -0.0], []),
    "relu6": (tf.nn.relu6, (-3, 8), [-1, 0, 3, 6, 7], []),
    "leaky_relu": (lambda x: tf.nn.leaky_relu(x, alpha=0.2), (-3, 3), [-2, 0, 3, -0.5],
                   [("alpha", 0.2)]),
    "leaky_relu:0.01": (lambda x: tf.nn.leaky_relu(x, alpha=0.01), (-3, 3), [-2, 0, 3],
                        [("alpha", 0.01)]),
    "elu": (tf.nn.elu, (-3, 3), [-20, -3, -1, 0, 2], [("alpha", 1.0)]),
    "elu:0.5": (k_elu(0.5), (-3, 3), [-3, -1, 0, 2], [("alpha", 0.5)]),
    "selu": (tf.nn.selu, (-3, 3), [-3, -1, 0, 2], []),
    "gelu": (lambda x: tf.nn.gelu(x, approximate=False), (-3, 3), [-3, -1, 0, 1, 3],
             [("approximate", False)]),
    "gelu:approx": (lambda x: tf.nn.gelu(x, approximate=True), (-3, 3), [-3, -1, 0, 1, 3],
                    [("approximate", True)]),
    "softplus": (tf.math.softplus, (-3, 3), [-100, -20, -1, 0, 1, 20, 100], []),
    "silu": (tf.nn.silu, (-3, 3), [-100, -5, -1, 0, 1, 5, 100], []),
    "softsign": (tf.nn.softsign, (-3, 3), [-5, 0, 2, 1e10], []),
}


def gen_unary():
    for key, (fn, (lo, hi), edges, attrs) in UNARY.items():
        op, _, variant = key.partition(":")
        tag = f"{variant}/" if variant else ""
        for dt in FLOATS:
            s = SHORT[dt]
            add_case(f"{op}/{s}/{tag}random", op, [("x", randu((2, 3), dt, lo, hi))], fn,
                     attrs=attrs)
            add_case(f"{op}/{s}/{tag}edges", op, [("x", arr(edges, dt))], fn, attrs=attrs)
            if not variant:
                add_case(f"{op}/{s}/scalar", op, [("x", randu((), dt, lo, hi))], fn, attrs=attrs)
                add_case(f"{op}/{s}/empty", op, [("x", randu((0, 2), dt, lo, hi))], fn,
                         attrs=attrs)
        if op in ("gelu",):
            # TensorFlow's documented values (tf.nn.gelu docstring) at [-3,-1,0,1,3].
            for dt in FLOATS:
                add_case(f"gelu/{SHORT[dt]}/{variant or 'exact'}/tfdoc", op,
                         [("x", arr([-3.0, -1.0, 0.0, 1.0, 3.0], dt))], fn, attrs=attrs)
    # integer dtypes for the ops that take them
    for op in ("neg", "abs", "sign", "square"):
        fn = UNARY[op][0]
        for dt in (I32, I64):
            add_case(f"{op}/{SHORT[dt]}/ints", op, [("x", arr([-7, -1, 0, 1, 46340, -3], dt))],
                     fn)


# ---------------------------------------------------------------------------------------------
# Reductions, argmax/argmin, matmul
# ---------------------------------------------------------------------------------------------

REDUCE = {
    "reduce_sum": tf.math.reduce_sum,
    "reduce_mean": tf.math.reduce_mean,
    "reduce_max": tf.math.reduce_max,
    "reduce_min": tf.math.reduce_min,
    "reduce_prod": tf.math.reduce_prod,
    "reduce_logsumexp": tf.math.reduce_logsumexp,
}


def reduce_case(cid, op, x, axes, keepdims, grad=True):
    fn = REDUCE[op]
    add_case(cid, op, [("x", x)], lambda t: fn(t, axis=axes, keepdims=keepdims),
             attrs=[("axes", "all" if axes is None else list(axes)), ("keepdims", keepdims)],
             grad=grad)


def gen_reduce():
    for op in REDUCE:
        for dt in FLOATS:
            s = SHORT[dt]
            scale = 0.5 if op == "reduce_prod" else 1.0
            shift = 1.0 if op == "reduce_prod" else 0.0
            x = lambda shape: randn(shape, dt, scale, shift)  # noqa: E731
            reduce_case(f"{op}/{s}/all", op, x((2, 3, 4)), None, False)
            reduce_case(f"{op}/{s}/all_keep", op, x((2, 3, 4)), None, True)
            reduce_case(f"{op}/{s}/ax1_keep", op, x((2, 3, 4)), [1], True)
            reduce_case(f"{op}/{s}/ax0_neg1", op, x((2, 3, 4)), [0, -1], False)
            reduce_case(f"{op}/{s}/ax_neg2", op, x((2, 3, 4)), [-2], False)
            reduce_case(f"{op}/{s}/ax_2_0_keep", op, x((2, 3, 4)), [2, 0], True)
            reduce_case(f"{op}/{s}/scalar", op, x(()), None, False)
            reduce_case(f"{op}/{s}/vec", op, x((5,)), [0], False)
            reduce_case(f"{op}/{s}/empty_ax0", op, x((0, 3)), [0], False)
            reduce_case(f"{op}/{s}/empty_ax1", op, x((0, 3)), [1], True)
            reduce_case(f"{op}/{s}/empty_all", op, x((2, 0)), None, False)
            if op in ("reduce_sum", "reduce_mean", "reduce_logsumexp"):
                reduce_case(f"{op}/{s}/long", op, x((4, 64)), [1], False)
                reduce_case(f"{op}/{s}/long_ax0", op, x((129, 2)), [0], False)
            if op in ("reduce_max", "reduce_min"):
                t = arr([1, 3, 3, 2, 2, 0, -1, -1, -1, 5, 4, 5], dt, (4, 3))
                reduce_case(f"{op}/{s}/ties_ax1", op, t, [1], False)
                reduce_case(f"{op}/{s}/ties_ax0", op, t, [0], True)
                reduce_case(f"{op}/{s}/ties_all", op, arr([2, 7, 7, 1, 7, 0], dt, (2, 3)), None,
                            False)
                reduce_case(f"{op}/{s}/inf", op, arr([-np.inf, 1, np.inf, 0], dt, (2, 2)), [1],
                            False, grad=False)
            if op == "reduce_prod":
                t = arr([1, 0, 3, 0, 0, 2, 2, 3, 4, -1, 0.5, -2], dt, (4, 3))
                reduce_case(f"{op}/{s}/zeros_ax1", op, t, [1], False)
                reduce_case(f"{op}/{s}/zeros_ax0", op, t, [0], False)
            if op == "reduce_logsumexp":
                t = arr([1000, 1000, -1000, -1e4, 0, 0, 50, -50, 88], dt, (3, 3))
                reduce_case(f"{op}/{s}/large", op, t, [1], False)
                reduce_case(f"{op}/{s}/large_all", op, t, None, False)
                t = arr([-np.inf, -np.inf, 0, -np.inf], dt, (2, 2))
                reduce_case(f"{op}/{s}/neg_inf_row", op, t, [1], False, grad=False)
                t = arr([np.inf, 1, 0, 2], dt, (2, 2))
                reduce_case(f"{op}/{s}/pos_inf", op, t, [1], False, grad=False)
        if op != "reduce_logsumexp":
            for dt in (I32, I64):
                s = SHORT[dt]
                lo, hi = (-3, 4) if op == "reduce_prod" else (-50, 50)
                reduce_case(f"{op}/{s}/ax1", op, randi((3, 4), dt, lo, hi), [1], False)
                reduce_case(f"{op}/{s}/all", op, randi((3, 4), dt, lo, hi), None, False)
                reduce_case(f"{op}/{s}/ax0_keep", op, randi((3, 4), dt, lo, hi), [0], True)
                reduce_case(f"{op}/{s}/empty", op, randi((0, 3), dt, lo, hi), [0], False)

    for op, fn in (("argmax", tf.math.argmax), ("argmin", tf.math.argmin)):
        for dt in FLOATS + (I32, I64):
            s = SHORT[dt]
            ties = arr([1, 3, 3, 0, 2, 2, 2, 2, -1, 5, -1, 5], dt, (3, 4))
            for axis in (0, 1, -1):
                for idt in (I32, I64):
                    add_case(f"{op}/{s}/ties_axis{axis}_{SHORT[idt]}", op, [("x", ties)],
                             lambda t, axis=axis, idt=idt: fn(t, axis=axis,
                                                              output_type=TF_DTYPE[idt]),
                             attrs=[("axis", axis), ("index_dtype", idt)])
            x = randn((2, 3, 4), dt, 10) if dt in FLOATS else randi((2, 3, 4), dt, -100, 100)
            add_case(f"{op}/{s}/rank3_axis1", op, [("x", x)],
                     lambda t: fn(t, axis=1, output_type=tf.int64),
                     attrs=[("axis", 1), ("index_dtype", I64)])
            add_case(f"{op}/{s}/vec", op, [("x", arr([4, 9, 1, 9, 1], dt))],
                     lambda t: fn(t, axis=0, output_type=tf.int32),
                     attrs=[("axis", 0), ("index_dtype", I32)])
        add_case(f"{op}/f32/inf", op, [("x", arr([-np.inf, 1, np.inf, 0, -np.inf, -np.inf], F32,
                                                 (2, 3)))],
                 lambda t: fn(t, axis=1, output_type=tf.int32),
                 attrs=[("axis", 1), ("index_dtype", I32)])
        add_case(f"{op}/f32/empty_rows", op, [("x", randn((0, 3), F32))],
                 lambda t: fn(t, axis=1, output_type=tf.int64),
                 attrs=[("axis", 1), ("index_dtype", I64)])


def gen_matmul():
    def case(cid, a, b, ta=False, tb=False):
        add_case(cid, "matmul", [("a", a), ("b", b)],
                 lambda x, y: tf.linalg.matmul(x, y, transpose_a=ta, transpose_b=tb),
                 attrs=[("transpose_a", ta), ("transpose_b", tb)])

    for dt in FLOATS:
        s = SHORT[dt]
        case(f"matmul/{s}/plain", randn((2, 3), dt), randn((3, 4), dt))
        case(f"matmul/{s}/ta", randn((3, 2), dt), randn((3, 4), dt), ta=True)
        case(f"matmul/{s}/tb", randn((2, 3), dt), randn((4, 3), dt), tb=True)
        case(f"matmul/{s}/ta_tb", randn((3, 2), dt), randn((4, 3), dt), ta=True, tb=True)
        case(f"matmul/{s}/batch", randn((2, 2, 3), dt), randn((2, 3, 4), dt))
        case(f"matmul/{s}/batch_bcast_rank", randn((2, 2, 3), dt), randn((3, 4), dt))
        case(f"matmul/{s}/batch_bcast_rank_a", randn((2, 3), dt), randn((3, 3, 2), dt))
        case(f"matmul/{s}/batch_bcast_dims", randn((1, 2, 2, 3), dt), randn((3, 1, 3, 2), dt),
             tb=False)
        case(f"matmul/{s}/batch_bcast_ta_tb", randn((2, 1, 3, 2), dt), randn((1, 3, 4, 3), dt),
             ta=True, tb=True)
        case(f"matmul/{s}/inner_zero", randn((2, 0), dt), randn((0, 3), dt))
        case(f"matmul/{s}/outer_zero", randn((0, 3), dt), randn((3, 2), dt))
        case(f"matmul/{s}/batch_zero", randn((0, 2, 3), dt), randn((3, 2), dt))
        case(f"matmul/{s}/vec_like", randn((1, 5), dt), randn((5, 1), dt))
        case(f"matmul/{s}/long", randn((6, 48), dt), randn((48, 4), dt))
        case(f"matmul/{s}/long_ta", randn((48, 5), dt), randn((48, 3), dt), ta=True)
        case(f"matmul/{s}/small_ints", arr([1, 2, 3, 4, 5, 6], dt, (2, 3)),
             arr([1, 0, -1, 2, 3, 1], dt, (3, 2)))
    # No integer cases: TensorFlow multiplies int32/int64 matrices, gradtape's matmul takes
    # float dtypes only (by design; its error message says to cast).


# ---------------------------------------------------------------------------------------------
# Shape ops
# ---------------------------------------------------------------------------------------------

ALL_DT = (F32, F64, I32, I64, BOOL)


def sample(shape, dt):
    if dt in FLOATS:
        return randn(shape, dt)
    if dt is BOOL:
        return randi(shape, I32, 0, 2).astype(BOOL)
    return randi(shape, dt, -50, 50)


def gen_shape():
    for dt in ALL_DT:
        s = SHORT[dt]
        full = dt is F32 or dt is F64  # all variants on floats, a few on the others

        def reshape(cid, x, shape):
            add_case(cid, "reshape", [("x", x)], lambda t: tf.reshape(t, shape),
                     attrs=[("shape", list(shape))])

        reshape(f"reshape/{s}/infer", sample((2, 3, 4), dt), [4, -1])
        reshape(f"reshape/{s}/to_scalar", sample((1, 1), dt), [])
        if full:
            reshape(f"reshape/{s}/from_scalar", sample((), dt), [1, 1, 1])
            reshape(f"reshape/{s}/infer_first", sample((6,), dt), [-1, 2])
            reshape(f"reshape/{s}/empty", sample((0, 3), dt), [3, 0, 1])
            reshape(f"reshape/{s}/empty_infer", sample((2, 0, 3), dt), [-1, 2, 0])

        def transpose(cid, x, perm):
            add_case(cid, "transpose", [("x", x)], lambda t: tf.transpose(t, perm=perm),
                     attrs=[("perm", perm)])

        transpose(f"transpose/{s}/default", sample((2, 3, 4), dt), None)
        transpose(f"transpose/{s}/perm102", sample((2, 3, 4), dt), [1, 0, 2])
        if full:
            transpose(f"transpose/{s}/matrix", sample((3, 5), dt), [1, 0])
            transpose(f"transpose/{s}/perm201", sample((2, 3, 4), dt), [2, 0, 1])
            transpose(f"transpose/{s}/rank1", sample((4,), dt), None)
            transpose(f"transpose/{s}/rank4", sample((2, 1, 3, 2), dt), [3, 1, 0, 2])
            transpose(f"transpose/{s}/empty", sample((0, 2, 3), dt), [2, 0, 1])
            transpose(f"transpose/{s}/scalar", sample((), dt), None)

        for axis in ((0, -1, 1) if full else (0, -1)):
            add_case(f"expand_dims/{s}/axis{axis}", "expand_dims", [("x", sample((2, 3), dt))],
                     lambda t, axis=axis: tf.expand_dims(t, axis), attrs=[("axis", axis)])
        if full:
            add_case(f"expand_dims/{s}/scalar", "expand_dims", [("x", sample((), dt))],
                     lambda t: tf.expand_dims(t, 0), attrs=[("axis", 0)])
            add_case(f"expand_dims/{s}/axis_neg3", "expand_dims", [("x", sample((2, 3), dt))],
                     lambda t: tf.expand_dims(t, -3), attrs=[("axis", -3)])

        def squeeze(cid, x, axes):
            add_case(cid, "squeeze", [("x", x)], lambda t: tf.squeeze(t, axis=axes),
                     attrs=[("axes", "all" if axes is None else axes)])

        squeeze(f"squeeze/{s}/all", sample((1, 2, 1, 3, 1), dt), None)
        squeeze(f"squeeze/{s}/ax1", sample((2, 1, 3), dt), [1])
        if full:
            squeeze(f"squeeze/{s}/neg", sample((1, 2, 1), dt), [-1, 0])
            squeeze(f"squeeze/{s}/to_scalar", sample((1, 1), dt), None)
            squeeze(f"squeeze/{s}/empty", sample((0, 1, 2), dt), [1])

        def concat(cid, xs, axis):
            add_case(cid, "concat", [(f"x{i}", x) for i, x in enumerate(xs)],
                     lambda *ts: tf.concat(list(ts), axis), attrs=[("axis", axis)])

        concat(f"concat/{s}/ax0", [sample((2, 3), dt), sample((1, 3), dt)], 0)
        concat(f"concat/{s}/ax_neg1_three", [sample((2, 1), dt), sample((2, 3), dt),
                                             sample((2, 2), dt)], -1)
        if full:
            concat(f"concat/{s}/with_empty", [sample((2, 0, 2), dt), sample((2, 3, 2), dt),
                                              sample((2, 1, 2), dt)], 1)
            concat(f"concat/{s}/single", [sample((2, 3), dt)], 1)
            concat(f"concat/{s}/all_empty", [sample((0, 2), dt), sample((0, 2), dt)], 0)

        def stack(cid, xs, axis):
            add_case(cid, "stack", [(f"x{i}", x) for i, x in enumerate(xs)],
                     lambda *ts: tf.stack(list(ts), axis=axis), attrs=[("axis", axis)])

        stack(f"stack/{s}/ax0", [sample((2, 3), dt), sample((2, 3), dt)], 0)
        stack(f"stack/{s}/ax_neg1", [sample((2, 3), dt) for _ in range(3)], -1)
        if full:
            stack(f"stack/{s}/ax1", [sample((2, 3), dt) for _ in range(3)], 1)
            stack(f"stack/{s}/scalars", [sample((), dt) for _ in range(4)], 0)
            stack(f"stack/{s}/empty", [sample((0, 2), dt) for _ in range(2)], 1)

        def split(cid, x, n, sizes, axis):
            spec = n if sizes is None else sizes
            add_case(cid, "split", [("x", x)],
                     lambda t: tf.split(t, spec, axis=axis),
                     attrs=[("n", n), ("sizes", sizes), ("axis", axis)])

        split(f"split/{s}/equal", sample((2, 6), dt), 3, None, 1)
        split(f"split/{s}/sizes_infer", sample((2, 6, 1), dt), 3, [1, -1, 2], -2)
        if full:
            split(f"split/{s}/ax0", sample((4, 3), dt), 2, None, 0)
            split(f"split/{s}/zero_part", sample((5, 2), dt), 3, [2, 0, 3], 0)
            split(f"split/{s}/one", sample((2, 3), dt), 1, None, -1)

        def slice_(cid, x, begin, size):
            add_case(cid, "slice", [("x", x)], lambda t: tf.slice(t, begin, size),
                     attrs=[("begin", begin), ("size", size)])

        slice_(f"slice/{s}/basic", sample((3, 4), dt), [1, 1], [2, 2])
        slice_(f"slice/{s}/to_end", sample((2, 3, 4), dt), [1, 0, 2], [1, -1, -1])
        if full:
            slice_(f"slice/{s}/empty", sample((3, 4), dt), [1, 2], [0, 2])
            slice_(f"slice/{s}/whole", sample((2, 3), dt), [0, 0], [-1, -1])
            slice_(f"slice/{s}/rank1", sample((6,), dt), [2], [3])

        def gather(cid, x, idx, axis):
            add_case(cid, "gather", [("params", x), ("indices", idx)],
                     lambda p, i: tf.gather(p, i, axis=axis), attrs=[("axis", axis)])

        gather(f"gather/{s}/rows", sample((4, 3), dt), arr([2, 0, 2], I32), 0)
        gather(f"gather/{s}/cols_2d_idx", sample((2, 4), dt), arr([3, 1, 0, 3], I64, (2, 2)), 1)
        if full:
            gather(f"gather/{s}/scalar_idx", sample((4, 3), dt), arr(1, I32, ()), 0)
            gather(f"gather/{s}/neg_axis", sample((2, 3, 4), dt), arr([0, 3, 3, 1], I32), -1)
            gather(f"gather/{s}/mid_axis", sample((2, 3, 2), dt), arr([[2, 2], [0, 1]], I64), 1)
            gather(f"gather/{s}/empty_idx", sample((4, 3), dt), arr([], I32, (0,)), 0)
            gather(f"gather/{s}/repeated", sample((3,), dt), arr([1, 1, 1, 0, 1], I32), 0)

        def tile(cid, x, mult):
            add_case(cid, "tile", [("x", x)], lambda t: tf.tile(t, mult),
                     attrs=[("multiples", mult)])

        tile(f"tile/{s}/basic", sample((2, 3), dt), [2, 1])
        if full:
            tile(f"tile/{s}/both", sample((2, 3), dt), [2, 3])
            tile(f"tile/{s}/rank3", sample((1, 2, 2), dt), [3, 1, 2])
            tile(f"tile/{s}/zero", sample((3,), dt), [0])
            tile(f"tile/{s}/rank1", sample((3,), dt), [3])

        def pad(cid, x, paddings, value):
            pv = value if dt is not BOOL else bool(value)
            add_case(cid, "pad", [("x", x)],
                     lambda t: tf.pad(t, paddings, constant_values=tf.constant(pv, TF_DTYPE[dt])),
                     attrs=[("paddings", [p for pr in paddings for p in pr]), ("value", value)])

        pad(f"pad/{s}/zeros", sample((2, 3), dt), [[1, 0], [2, 1]], 0)
        pad(f"pad/{s}/value", sample((2, 2), dt), [[0, 1], [1, 1]], 1 if dt is BOOL else 7)
        if full:
            pad(f"pad/{s}/frac_value", sample((2, 2), dt), [[1, 1], [0, 0]], -1.5)
            pad(f"pad/{s}/rank3", sample((1, 2, 2), dt), [[0, 1], [1, 0], [2, 2]], 0.25)
            pad(f"pad/{s}/empty_in", sample((0, 2), dt), [[1, 1], [0, 1]], 3)
            pad(f"pad/{s}/none", sample((2, 2), dt), [[0, 0], [0, 0]], 0)
            pad(f"pad/{s}/value_0.1", sample((2,), dt), [[1, 1]], 0.1)

        def bcast(cid, x, shape):
            add_case(cid, "broadcast_to", [("x", x)], lambda t: tf.broadcast_to(t, shape),
                     attrs=[("shape", shape)])

        bcast(f"broadcast_to/{s}/row", sample((3,), dt), [2, 3])
        bcast(f"broadcast_to/{s}/col", sample((2, 1), dt), [2, 2, 4])
        if full:
            bcast(f"broadcast_to/{s}/scalar", sample((), dt), [2, 2])
            bcast(f"broadcast_to/{s}/same", sample((2, 3), dt), [2, 3])
            bcast(f"broadcast_to/{s}/empty", sample((1, 3), dt), [0, 3])
            bcast(f"broadcast_to/{s}/middle", sample((3, 1, 2), dt), [2, 3, 4, 2])

    def one_hot(cid, idx, depth, on, off, dt):
        add_case(cid, "one_hot", [("indices", idx)],
                 lambda i: tf.one_hot(i, depth, on_value=tf.constant(on, TF_DTYPE[dt]),
                                      off_value=tf.constant(off, TF_DTYPE[dt]), dtype=TF_DTYPE[dt]),
                 attrs=[("depth", depth), ("on", float(on)), ("off", float(off)),
                        ("dtype", dt)])

    one_hot("one_hot/f32/basic", arr([0, 2, 3, 1], I32), 4, 1.0, 0.0, F32)
    one_hot("one_hot/f32/out_of_range", arr([-1, 4, 5, 0], I32), 4, 1.0, 0.0, F32)
    one_hot("one_hot/f64/matrix_i64", arr([[1, 0], [2, 2]], I64), 3, 2.5, -1.0, F64)
    one_hot("one_hot/i32/basic", arr([1, 0, 2], I64), 3, 5, -5, I32)
    one_hot("one_hot/i64/basic", arr([1, 3], I32), 2, 1, 0, I64)
    one_hot("one_hot/f32/scalar", arr(2, I32, ()), 3, 1.0, 0.0, F32)
    one_hot("one_hot/f32/empty", arr([], I32, (0,)), 3, 1.0, 0.0, F32)
    one_hot("one_hot/f32/depth0", arr([0, 1], I32), 0, 1.0, 0.0, F32)
    one_hot("one_hot/f32/on_0.1", arr([0, 1], I32), 2, 0.1, 0.3, F32)
    one_hot("one_hot/bool/basic", arr([0, 1, 9], I32), 2, True, False, BOOL)


# ---------------------------------------------------------------------------------------------
# Comparisons, logic, selection, casts
# ---------------------------------------------------------------------------------------------

COMPARE = {
    "equal": tf.math.equal,
    "not_equal": tf.math.not_equal,
    "less": tf.math.less,
    "less_equal": tf.math.less_equal,
    "greater": tf.math.greater,
    "greater_equal": tf.math.greater_equal,
}


def gen_misc():
    for op, fn in COMPARE.items():
        for dt in FLOATS + (I32, I64):
            s = SHORT[dt]
            a = arr([1, 2, 3, -1, 0, 5], dt, (2, 3))
            b = arr([1, 3, 2, -1, 0, 4], dt, (2, 3))
            add_case(f"{op}/{s}/ties", op, [("a", a), ("b", b)], fn)
            add_case(f"{op}/{s}/bcast", op,
                     [("a", arr([1, 2, 3], dt, (3, 1))), ("b", arr([2, 1, 3, 0], dt))], fn)
            if dt in FLOATS:
                add_case(f"{op}/{s}/nan_inf", op,
                         [("a", arr([np.nan, 1, np.inf, -np.inf, 0, -0.0], dt)),
                          ("b", arr([np.nan, np.nan, np.inf, 1, -0.0, 0], dt))], fn)
                add_case(f"{op}/{s}/empty", op, [("a", arr([], dt, (0, 2))),
                                                 ("b", arr([1, 2], dt))], fn)
        if op in ("equal", "not_equal"):
            add_case(f"{op}/bool/basic", op, [("a", arr([1, 1, 0, 0], BOOL)),
                                              ("b", arr([1, 0, 1, 0], BOOL))], fn)
    for op, fn in (("logical_and", tf.math.logical_and), ("logical_or", tf.math.logical_or)):
        add_case(f"{op}/bool/truth", op, [("a", arr([1, 1, 0, 0], BOOL)),
                                          ("b", arr([1, 0, 1, 0], BOOL))], fn)
        add_case(f"{op}/bool/bcast", op, [("a", arr([1, 0], BOOL, (2, 1))),
                                          ("b", arr([1, 0, 1], BOOL))], fn)
        add_case(f"{op}/bool/empty", op, [("a", arr([], BOOL, (0,))),
                                          ("b", arr([1], BOOL))], fn)
    add_case("logical_not/bool/basic", "logical_not", [("a", arr([1, 0, 0, 1], BOOL, (2, 2)))],
             tf.math.logical_not)
    add_case("logical_not/bool/scalar", "logical_not", [("a", arr(0, BOOL, ()))],
             tf.math.logical_not)

    # tf.where(cond, a, b): SelectV2, all three broadcast.
    for dt in ALL_DT:
        s = SHORT[dt]
        cond = arr([1, 0, 1, 0, 0, 1], BOOL, (2, 3))
        add_case(f"where/{s}/same", "where", [("cond", cond), ("a", sample((2, 3), dt)),
                                              ("b", sample((2, 3), dt))], tf.where)
        if dt in FLOATS or dt is I32:
            add_case(f"where/{s}/bcast3", "where",
                     [("cond", arr([1, 0, 1], BOOL)), ("a", sample((2, 1), dt)),
                      ("b", sample((), dt))], tf.where)
            add_case(f"where/{s}/bcast_cond", "where",
                     [("cond", arr([1, 0], BOOL, (2, 1))), ("a", sample((3,), dt)),
                      ("b", sample((2, 3), dt))], tf.where)
        if dt in FLOATS:
            add_case(f"where/{s}/nan_unselected", "where",
                     [("cond", arr([1, 0], BOOL)), ("a", arr([1, np.nan], dt)),
                      ("b", arr([np.inf, 2], dt))], tf.where)
            add_case(f"where/{s}/empty", "where",
                     [("cond", arr([], BOOL, (0, 2))), ("a", sample((2,), dt)),
                      ("b", sample((0, 1), dt))], tf.where)

    # casts
    def cast(cid, x, dt):
        add_case(cid, "cast", [("x", x)], lambda t: tf.cast(t, TF_DTYPE[dt]),
                 attrs=[("dtype", dt)])

    fvals = [-2.9, -1.7, -0.5, 0, 0.5, 1.5, 2.5, 2.9, 1e6]
    for src in FLOATS:
        s = SHORT[src]
        for dst in (I32, I64, BOOL):
            cast(f"cast/{s}_to_{SHORT[dst]}", arr(fvals, src), dst)
        cast(f"cast/{s}_to_{s}", randn((2, 3), src), src)
    cast("cast/f32_to_f64", randn((2, 3), F32), F64)
    cast("cast/f64_to_f32", arr([0.1, 1 / 3, -2.5, 1e-50, 1e300, 3.4028235677973366e38,
                                 16777217.0], F64), F32)
    cast("cast/f64_to_f32_empty", randn((0, 3), F64), F32)
    for src in (I32, I64):
        s = SHORT[src]
        for dst in (F32, F64, I32, I64, BOOL):
            if dst is not src:
                cast(f"cast/{s}_to_{SHORT[dst]}", arr([-3, 0, 1, 16777217, 7], src), dst)
    for dst in (F32, F64, I32, I64):
        cast(f"cast/bool_to_{SHORT[dst]}", arr([1, 0, 1], BOOL), dst)
    cast("cast/i64_to_i32_wrap", arr([2**31, -2**31 - 1, 2**32 + 5], I64), I32)

    for dt in FLOATS + (I32, I64, BOOL):
        s = SHORT[dt]
        add_case(f"stop_gradient/{s}/basic", "stop_gradient", [("x", sample((2, 3), dt))],
                 tf.stop_gradient)
        add_case(f"identity/{s}/basic", "identity", [("x", sample((2, 3), dt))], tf.identity)
    add_case("identity/f32/scalar", "identity", [("x", sample((), F32))], tf.identity)
    add_case("identity/f64/empty", "identity", [("x", sample((0, 4), F64))], tf.identity)

    # clip_by_value: TensorFlow converts lo/hi to x's dtype; gradient 1 at both bounds.
    for dt in FLOATS:
        s = SHORT[dt]
        x = arr([-2, -1, -0.5, 0, 1, 2, 3], dt)
        add_case(f"clip_by_value/{s}/bounds", "clip_by_value", [("x", x)],
                 lambda t: tf.clip_by_value(t, -1.0, 2.0), attrs=[("lo", -1.0), ("hi", 2.0)])
        add_case(f"clip_by_value/{s}/random", "clip_by_value", [("x", randn((3, 4), dt))],
                 lambda t: tf.clip_by_value(t, -0.5, 0.7), attrs=[("lo", -0.5), ("hi", 0.7)])
        add_case(f"clip_by_value/{s}/lo_eq_hi", "clip_by_value", [("x", arr([-1, 0.5, 2], dt))],
                 lambda t: tf.clip_by_value(t, 0.5, 0.5), attrs=[("lo", 0.5), ("hi", 0.5)])
        add_case(f"clip_by_value/{s}/empty", "clip_by_value", [("x", randn((0,), dt))],
                 lambda t: tf.clip_by_value(t, 0.0, 1.0), attrs=[("lo", 0.0), ("hi", 1.0)])
    for dt in (I32, I64):
        add_case(f"clip_by_value/{SHORT[dt]}/ints", "clip_by_value",
                 [("x", arr([-5, -1, 0, 3, 9], dt))],
                 lambda t, dt=dt: tf.clip_by_value(t, tf.constant(-1, TF_DTYPE[dt]),
                                                   tf.constant(3, TF_DTYPE[dt])),
                 attrs=[("lo", -1.0), ("hi", 3.0)])


# ---------------------------------------------------------------------------------------------
# Softmax and cross-entropies
# ---------------------------------------------------------------------------------------------


def gen_nn():
    for op, fn in (("softmax", tf.nn.softmax), ("log_softmax", tf.nn.log_softmax)):
        for dt in FLOATS:
            s = SHORT[dt]

            def case(cid, x, axis, grad=True):
                add_case(cid, op, [("x", x)], lambda t: fn(t, axis=axis),
                         attrs=[("axis", axis)], grad=grad)

            case(f"{op}/{s}/last", randn((2, 5), dt), -1)
            case(f"{op}/{s}/rank3_ax1", randn((2, 3, 4), dt), 1)
            case(f"{op}/{s}/rank3_ax_neg2", randn((2, 3, 4), dt), -2)
            case(f"{op}/{s}/ax0", randn((3, 2), dt), 0)
            case(f"{op}/{s}/vec", randn((4,), dt), 0)
            case(f"{op}/{s}/large", arr([1000, 1000, -1000, -1e4, 0, 20, 88, 89, 90], dt, (3, 3)),
                 -1)
            case(f"{op}/{s}/ties", arr([1, 1, 1, 1, 0, 0, 0, 0], dt, (2, 4)), 1)
            case(f"{op}/{s}/single_class", randn((3, 1), dt), -1)
            case(f"{op}/{s}/empty_rows", randn((0, 3), dt), -1)
            case(f"{op}/{s}/neg_inf", arr([-np.inf, 0, 1, -np.inf, 2, -np.inf], dt, (2, 3)), -1,
                 grad=False)
            case(f"{op}/{s}/long", randn((1, 128), dt, 3), -1)

    xent = tf.nn.softmax_cross_entropy_with_logits
    for dt in FLOATS:
        s = SHORT[dt]

        def case(cid, labels, logits, axis=-1):
            add_case(cid, "softmax_cross_entropy_with_logits",
                     [("labels", labels), ("logits", logits)],
                     lambda lab, lo: xent(labels=lab, logits=lo, axis=axis),
                     attrs=[("axis", axis)])

        def dist(shape, axis=-1):
            p = randu(shape, np.float64, 0.0, 1.0)
            return (p / p.sum(axis=axis, keepdims=True)).astype(dt)

        case(f"softmax_xent/{s}/tfcheck", arr([[1, 0, 0]], dt), arr([[2.0, 1.0, 0.1]], dt))
        case(f"softmax_xent/{s}/tfcheck_vec", arr([1, 0, 0], dt), arr([2.0, 1.0, 0.1], dt))
        case(f"softmax_xent/{s}/dist", dist((3, 4)), randn((3, 4), dt))
        case(f"softmax_xent/{s}/onehot", arr(np.eye(4)[[2, 0, 3]], dt), randn((3, 4), dt, 2))
        case(f"softmax_xent/{s}/not_normalised",
             arr([[0.5, 0.5, 0.5], [2, 0, 1], [0, 0, 0]], dt), randn((3, 3), dt))
        case(f"softmax_xent/{s}/negative_labels", arr([[1.5, -0.5, 0], [0.2, 0.2, 0.2]], dt),
             randn((2, 3), dt))
        case(f"softmax_xent/{s}/axis0", dist((4, 3), axis=0), randn((4, 3), dt), axis=0)
        case(f"softmax_xent/{s}/rank3", dist((2, 3, 4)), randn((2, 3, 4), dt))
        case(f"softmax_xent/{s}/rank3_axis1", dist((2, 3, 4), axis=1), randn((2, 3, 4), dt),
             axis=1)
        case(f"softmax_xent/{s}/large_logits", arr([[1, 0, 0], [0, 0.5, 0.5], [0, 0, 1]], dt),
             arr([[1000, -1000, 0], [-500, 500, 480], [88, 89, -90]], dt))
        case(f"softmax_xent/{s}/empty_rows", dist((0, 3)), randn((0, 3), dt))

    sxent = tf.nn.sparse_softmax_cross_entropy_with_logits
    for dt in FLOATS:
        s = SHORT[dt]

        def case(cid, labels, logits):
            add_case(cid, "sparse_softmax_cross_entropy_with_logits",
                     [("labels", labels), ("logits", logits)],
                     lambda lab, lo: sxent(labels=lab, logits=lo))

        case(f"sparse_xent/{s}/tfcheck", arr([0], I32), arr([[2.0, 1.0, 0.1]], dt))
        case(f"sparse_xent/{s}/i32", arr([2, 0, 3], I32), randn((3, 4), dt))
        case(f"sparse_xent/{s}/i64", arr([1, 1, 0], I64), randn((3, 2), dt, 3))
        case(f"sparse_xent/{s}/rank3", arr([[0, 2], [1, 1]], I32), randn((2, 2, 3), dt))
        case(f"sparse_xent/{s}/large", arr([0, 1, 2], I64),
             arr([[1000, -1000, 0], [-500, 500, 480], [88, 89, -90]], dt))
        case(f"sparse_xent/{s}/scalar_label", arr(1, I32, ()), randn((3,), dt))
        case(f"sparse_xent/{s}/empty", arr([], I32, (0,)), randn((0, 4), dt))
        case(f"sparse_xent/{s}/single_class", arr([0, 0], I32), randn((2, 1), dt))

    sig = tf.nn.sigmoid_cross_entropy_with_logits
    for dt in FLOATS:
        s = SHORT[dt]

        def case(cid, labels, logits):
            add_case(cid, "sigmoid_cross_entropy_with_logits",
                     [("labels", labels), ("logits", logits)],
                     lambda lab, lo: sig(labels=lab, logits=lo))

        case(f"sigmoid_xent/{s}/random", randu((2, 3), dt, 0, 1), randn((2, 3), dt, 2))
        case(f"sigmoid_xent/{s}/binary_labels", arr([0, 1, 1, 0, 1, 0], dt, (3, 2)),
             randn((3, 2), dt, 2))
        case(f"sigmoid_xent/{s}/large", arr([0, 1, 0, 1, 0.5, 0.5], dt),
             arr([-100, -100, 100, 100, 1000, -1000], dt))
        case(f"sigmoid_xent/{s}/zero_logits", arr([0, 1, 0.25], dt), arr([0, 0, 0], dt))
        case(f"sigmoid_xent/{s}/labels_outside_01", arr([-1, 2], dt), arr([0.5, -1.5], dt))
        case(f"sigmoid_xent/{s}/scalar", arr(0.3, dt, ()), arr(-0.7, dt, ()))
        case(f"sigmoid_xent/{s}/empty", randu((0, 2), dt, 0, 1), randn((0, 2), dt))


# ---------------------------------------------------------------------------------------------


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    gen_binary()
    gen_scalar_forms()
    gen_unary()
    gen_reduce()
    gen_matmul()
    gen_shape()
    gen_misc()
    gen_nn()
    header = [
        "# gradtape op reference data: forward values and tf.GradientTape gradients computed",
        "# by TensorFlow itself. GENERATED by tests/ref/gen_ops.py -- do not edit by hand;",
        "# see tests/ref/README.md for the format and how to regenerate.",
        f"# versions: tensorflow {tf.__version__} keras {keras.__version__} "
        f"numpy {np.__version__} python {platform.python_version()}",
        f"# cases: {COUNT['cases']} (with gradients: {COUNT['grads']})",
        "format 1",
    ]
    with open(out, "w", newline="\n") as f:
        f.write("\n".join(header + LINES) + "\n")
    print(f"wrote {out}: {COUNT['cases']} cases, {COUNT['grads']} with gradients")


if __name__ == "__main__":
    main()
