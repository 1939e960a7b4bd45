"""scalar_grad, TensorFlow: the seed's x**2 gradient at 3.0 in eager mode, µs per call."""
import benchlib

a = benchlib.args()
tf, keras = benchlib.setup_tf()
x = tf.Variable(3.0)


def call():
    with tf.GradientTape() as tape:
        y = x ** 2
    return tape.gradient(y, x)


assert float(call()) == 6.0
for _ in range(2000):
    call()
per = benchlib.time_per_call(call, 200 if a.quick else 1000, 5 if a.quick else 15,
                             0.2 if a.quick else 1.0)
benchlib.result("value", per * 1e6)
