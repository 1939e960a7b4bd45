"""mlp_epoch, TensorFlow: one Fashion-MNIST epoch of Dense(256, relu) -> Dense(128, relu) ->
Dense(10), SparseCategoricalCrossentropy(from_logits=True), Adam(1e-3), batch 128: seconds
per epoch, test accuracy after it, and peak RSS. The images stay uint8 and a tf.data pipeline
(shuffle over the whole set, batch 128, cast and /255 per batch, prefetch) feeds both variants:
  tape  an eager GradientTape loop, as the seed writes its step
  fit   model.fit on the same pipeline (Keras' compiled train step)
Five warm-up steps on the first batches before the timed epoch; quick mode times 60 batches
and extrapolates."""
import math
import time

import benchlib

a = benchlib.args(["tape", "fit"])
tf, keras = benchlib.setup_tf()
(xtr, ytr), (xte, yte) = benchlib.fashion_mnist()
keras.utils.set_random_seed(1)
BATCH = 128
nb = math.ceil(len(xtr) / BATCH)
run = benchlib.quick_batches(a.quick, nb)


def prep(x, y):
    return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.int32)


ds = (tf.data.Dataset.from_tensor_slices((xtr.reshape(-1, 784), ytr))
      .shuffle(len(xtr), seed=42).batch(BATCH).map(prep).prefetch(2))
warm = tf.data.Dataset.from_tensor_slices((xtr[:5 * BATCH].reshape(-1, 784), ytr[:5 * BATCH])) \
    .batch(BATCH).map(prep)

model = keras.Sequential([keras.Input((784,)),
                          keras.layers.Dense(256, activation="relu"),
                          keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dense(10)])
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)

if a.variant == "tape":
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
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
for i in range(0, len(xte), 1000):
    logits = model(tf.cast(xte[i:i + 1000].reshape(-1, 784), tf.float32) / 255.0, training=False)
    correct += int(tf.reduce_sum(tf.cast(tf.argmax(logits, 1) == tf.cast(yte[i:i + 1000], tf.int64),
                                         tf.int32)))
benchlib.result("value", secs)
benchlib.result("accuracy", correct / len(xte))
benchlib.result("rss_mib", benchlib.peak_rss_mib())
