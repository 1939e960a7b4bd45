"""seed_step, TensorFlow: the seed's training step, µs per step.

SimpleModel (Dense(5, relu) -> Dense(2, softmax)) on inputs [32, 10] with one-hot labels,
CategoricalCrossentropy, SGD(0.01). Variants:
  tape  the seed's eager loop: GradientTape, tape.gradient, optimizer.apply_gradients
  fit   model.fit over the same batch repeated (a compiled train step per batch), per step
"""
import benchlib

a = benchlib.args(["tape", "fit"])
tf, keras = benchlib.setup_tf()
keras.utils.set_random_seed(1)


class SimpleModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense1 = keras.layers.Dense(5, activation="relu")
        self.dense2 = keras.layers.Dense(2, activation="softmax")

    def call(self, x):
        return self.dense2(self.dense1(x))


model = SimpleModel()
inputs = tf.random.normal([32, 10])
labels = tf.one_hot(tf.random.uniform([32], maxval=2, dtype=tf.int32), 2)
loss_fn = keras.losses.CategoricalCrossentropy()
optimizer = keras.optimizers.SGD(learning_rate=0.01)

if a.variant == "tape":
    def step():
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            loss = loss_fn(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    for _ in range(50):
        step()
    per = benchlib.time_per_call(step, 20 if a.quick else 100, 5 if a.quick else 15,
                                 0.3 if a.quick else 1.5)
    benchlib.note(f"loss {float(step()):.4f}")
else:
    import time
    steps = 300 if a.quick else 2000
    model.compile(optimizer=optimizer, loss=loss_fn)
    x = tf.tile(inputs, [steps, 1])
    y = tf.tile(labels, [steps, 1])
    model.fit(x[:32 * 20], y[:32 * 20], batch_size=32, epochs=1, shuffle=False, verbose=0)
    ts = []
    for _ in range(3 if a.quick else 5):
        t0 = time.perf_counter()
        h = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        ts.append((time.perf_counter() - t0) / steps)
    per = benchlib.median(ts)
    benchlib.note(f"loss {h.history['loss'][-1]:.4f}")
benchlib.result("value", per * 1e6)
