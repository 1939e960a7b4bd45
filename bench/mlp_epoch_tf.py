"""mlp_epoch, TensorFlow: one Fashion-MNIST epoch of Dense(256, relu) -> Dense(128, relu) ->
Dense(10), SparseCategoricalCrossentropy(from_logits=True), Adam(1e-3), batch 128: seconds
per epoch, test accuracy after it, and peak RSS. The images stay uint8 and a tf.data pipeline
(shuffle over the whole set, batch 128, cast and /255 per batch, prefetch) feeds both variants:
  tape  an eager GradientTape loop, as the seed writes its step
  fit   model.fit on the same pipeline (Keras' compiled train step)
Five warm-up steps on the first batches before the timed epoch; quick mode times 60 batches
and extrapolates."""
import benchlib

a = benchlib.args(["tape", "fit"])
tf, keras = benchlib.setup_tf()
data = benchlib.fashion_mnist()
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((784,)),
                          keras.layers.Dense(256, activation="relu"),
                          keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dense(10)])
benchlib.tf_epoch(a, tf, keras, model, (784,), data, quick_n=60, eval_batch=1000)
