"""cnn_epoch, TensorFlow: one Fashion-MNIST epoch of Conv2D(32, 3, relu) -> MaxPooling2D(2) ->
Conv2D(64, 3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(128, relu) -> Dense(10),
SparseCategoricalCrossentropy(from_logits=True), Adam(1e-3), batch 128 (channels-last
[B, 28, 28, 1]): seconds per epoch and test accuracy. Same tf.data pipeline and variants as
mlp_epoch_tf.py (tape: eager GradientTape loop; fit: model.fit). Quick mode: 20 batches,
extrapolated."""
import math
import time

import benchlib

a = benchlib.args(["tape", "fit"])
tf, keras = benchlib.setup_tf()
(xtr, ytr), (xte, yte) = benchlib.fashion_mnist()
keras.utils.set_random_seed(1)
BATCH = 128
nb = math.ceil(len(xtr) / BATCH)
run = min(nb, 20) if a.quick else nb


def prep(x, y):
    return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.int32)


x4 = xtr.reshape(-1, 28, 28, 1)
ds = (tf.data.Dataset.from_tensor_slices((x4, ytr))
      .shuffle(len(xtr), seed=42).batch(BATCH).map(prep).prefetch(2))
warm = tf.data.Dataset.from_tensor_slices((x4[:5 * BATCH], ytr[:5 * BATCH])).batch(BATCH).map(prep)
L = keras.layers
model = keras.Sequential([keras.Input((28, 28, 1)),
                          L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                          L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
                          L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)])
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
    benchlib.note(f"steps timed {run} of {nb}, last loss {float(loss):.4f}")
else:
    model.compile(optimizer=optimizer, loss=loss_fn)
    model.fit(warm, epochs=1, verbose=0)
    t0 = time.perf_counter()
    h = model.fit(ds.take(run), epochs=1, verbose=0)
    secs = (time.perf_counter() - t0) * nb / run
    benchlib.note(f"steps timed {run} of {nb}, epoch loss {h.history['loss'][-1]:.4f}")

correct = 0
for i in range(0, len(xte), 500):
    xb = tf.cast(xte[i:i + 500].reshape(-1, 28, 28, 1), tf.float32) / 255.0
    pred = tf.argmax(model(xb, training=False), 1)
    correct += int(tf.reduce_sum(tf.cast(pred == tf.cast(yte[i:i + 500], tf.int64), tf.int32)))
benchlib.result("value", secs)
benchlib.result("accuracy", correct / len(xte))
benchlib.result("rss_mib", benchlib.peak_rss_mib())
