"""chain, TensorFlow: 100 elementwise ops on a [16] float32 vector (mul, tanh, add by i mod 3)
forward and backward under an eager GradientTape, µs per op."""
import numpy as np

import benchlib

NOPS = 100
a = benchlib.args()
tf, keras = benchlib.setup_tf()
i = np.arange(16, dtype=np.float32)
x = tf.constant(0.1 * (i - 8))
c = tf.constant(0.9 + 0.01 * i)
d = tf.constant(0.05 - 0.005 * i)


def call():
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x
        for k in range(NOPS):
            r = k % 3
            if r == 0:
                y = y * c
            elif r == 1:
                y = tf.tanh(y)
            else:
                y = y + d
    return tape.gradient(y, x)


benchlib.note(f"dy0/dx0 = {float(call()[0]):.6f}")
for _ in range(20):
    call()
per = benchlib.time_per_call(call, 5 if a.quick else 20, 5 if a.quick else 15,
                             0.3 if a.quick else 1.5)
benchlib.result("value", per * 1e6 / NOPS)
