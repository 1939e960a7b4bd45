"""cnn_epoch, TensorFlow: one Fashion-MNIST epoch of Conv2D(32, 3, relu) -> MaxPooling2D(2) ->
Conv2D(64, 3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(128, relu) -> Dense(10),
SparseCategoricalCrossentropy(from_logits=True), Adam(1e-3), batch 128 (channels-last
[B, 28, 28, 1]): seconds per epoch and test accuracy. Same tf.data pipeline and variants as
mlp_epoch_tf.py (tape: eager GradientTape loop; fit: model.fit). Quick mode: 20 batches,
extrapolated."""
import benchlib

a = benchlib.args(["tape", "fit"])
tf, keras = benchlib.setup_tf()
data = benchlib.fashion_mnist()
keras.utils.set_random_seed(1)
L = keras.layers
model = keras.Sequential([keras.Input((28, 28, 1)),
                          L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                          L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
                          L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)])
benchlib.tf_epoch(a, tf, keras, model, (28, 28, 1), data, quick_n=20, eval_batch=500)
