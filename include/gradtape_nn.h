/*
 * gradtape_nn.h — Keras 3 on the tape: initializers, layers, models, losses, optimizers,
 * learning-rate schedules and metrics, written only on the public API of gradtape.h (as
 * Keras is written on TF ops).
 *
 * The seed's second and third programs, in C (examples/simple_model.c has them whole):
 *
 *     SimpleModel *model = SimpleModel_new();                  // model = SimpleModel()
 *     gt_loss *loss_fn = gt_categorical_crossentropy(
 *         &(gt_loss_desc){ .from_logits = true });             // CategoricalCrossentropy(...)
 *     gt_tape *tape = gt_tape_begin(NULL);                      // with tf.GradientTape() as tape:
 *     gt_tensor *pred = gt_model_call(&model->base, inputs, false);
 *     gt_tensor *loss = gt_loss_call(loss_fn, labels, pred, NULL);
 *     gt_tape_end(tape);
 *     int n = gt_layer_trainable_variables(&model->base.layer, vars, 16);
 *     gt_tape_gradient(tape, 1, &loss, NULL, n, vars, GT_UNCONNECTED_NONE, grads);
 *     gt_optimizer *opt = gt_sgd(&(gt_optimizer_desc){ .learning_rate = 0.01 });
 *     gt_optimizer_apply_gradients(opt, n, grads, vars);
 *
 * Conventions:
 *  - Options are descriptor structs where {0} (or NULL) means "Keras 3's default"; a program
 *    names only what differs: `gt_dense(&(gt_dense_desc){ .units = 5,
 *    .activation = GT_ACT_RELU })`. For a field whose Keras default is not zero but where
 *    zero is a meaningful value (Adam's beta_1, epsilon, ...), write GT_ZERO to ask for an
 *    actual zero.
 *  - Errors are values, as in the core: a failing function returns NULL/false/NaN and sets
 *    gt_error() with Keras' message where Keras has one. Keras' warnings go through gt_warn.
 *  - Layers, models, losses, optimizers and metrics are objects with a _free. Tensors they
 *    return belong to the caller's current scope.
 *  - Everything follows Keras 3 where tf.keras 2 differs (docs/keras.md lists the places).
 */
#ifndef GRADTAPE_NN_H
#define GRADTAPE_NN_H

#include "gradtape.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An explicit zero for descriptor fields whose Keras default is not zero (negative zero:
 *  it compares equal to 0 but the library can tell it from "unset"). */
#define GT_ZERO (-0.0)

/* ============================================================================================
 * Activations (keras.activations)
 * ========================================================================================== */

/** Every activation of the core; GT_ACT_LINEAR (0) is the identity (Keras' None/"linear"). */
typedef enum gt_activation {
    GT_ACT_LINEAR = 0,
    GT_ACT_RELU,
    GT_ACT_RELU6,
    GT_ACT_LEAKY_RELU, /**< negative_slope 0.2 (keras.activations.leaky_relu) */
    GT_ACT_ELU,        /**< alpha 1.0 */
    GT_ACT_SELU,
    GT_ACT_GELU,        /**< exact (erf) form, Keras' activation default */
    GT_ACT_GELU_APPROX, /**< tanh approximation */
    GT_ACT_SIGMOID,     /**< output carries its logits (Keras' _keras_logits) */
    GT_ACT_TANH,
    GT_ACT_SOFTMAX, /**< over the last axis; output carries its logits */
    GT_ACT_LOG_SOFTMAX,
    GT_ACT_SOFTPLUS,
    GT_ACT_SILU,
    GT_ACT_SOFTSIGN,
    GT_ACT_COUNT
} gt_activation;

/** Applies an activation. Softmax and sigmoid attach x to their output as its logits
 *  (gt_tensor_attach_logits), so a cross-entropy loss given that very output computes from
 *  the logits, as Keras does. */
gt_tensor *gt_activation_apply(gt_activation act, const gt_tensor *x);
/** Keras' name of an activation ("relu", "softmax", "linear", ...); NULL if out of range. */
const char *gt_activation_name(gt_activation act);

/* ============================================================================================
 * Initializers (keras.initializers)
 * ========================================================================================== */

/** Initializer kinds. GT_INIT_DEFAULT (0) means "the default of the place it is used"
 *  (glorot_uniform for a Dense kernel, zeros for its bias). */
typedef enum gt_init_kind {
    GT_INIT_DEFAULT = 0,
    GT_INIT_ZEROS,
    GT_INIT_ONES,
    GT_INIT_CONSTANT,         /**< value */
    GT_INIT_RANDOM_NORMAL,    /**< mean 0, stddev 0.05 */
    GT_INIT_RANDOM_UNIFORM,   /**< minval -0.05, maxval 0.05 */
    GT_INIT_TRUNCATED_NORMAL, /**< mean 0, stddev 0.05, redrawn beyond 2 stddev */
    GT_INIT_GLOROT_UNIFORM,   /**< U(+-sqrt(6/(fan_in+fan_out))) */
    GT_INIT_GLOROT_NORMAL,    /**< truncated normal, stddev sqrt(2/(fan_in+fan_out))/.8796 */
    GT_INIT_HE_UNIFORM,       /**< U(+-sqrt(6/fan_in)) */
    GT_INIT_HE_NORMAL,        /**< truncated normal, stddev sqrt(2/fan_in)/.8796 */
    GT_INIT_LECUN_UNIFORM,    /**< U(+-sqrt(3/fan_in)) */
    GT_INIT_LECUN_NORMAL,     /**< truncated normal, stddev sqrt(1/fan_in)/.8796 */
    GT_INIT_ORTHOGONAL,       /**< gain 1 */
    GT_INIT_VARIANCE_SCALING  /**< scale, mode, distribution */
} gt_init_kind;

/** VarianceScaling's fan mode (Keras default fan_in). */
typedef enum gt_fan_mode { GT_FAN_IN = 0, GT_FAN_OUT, GT_FAN_AVG } gt_fan_mode;
/** VarianceScaling's distribution (Keras default truncated_normal). */
typedef enum gt_distribution {
    GT_DIST_TRUNCATED_NORMAL = 0,
    GT_DIST_UNTRUNCATED_NORMAL,
    GT_DIST_UNIFORM
} gt_distribution;

/** An initializer; {0} is "the default for this place". Unused fields are ignored. */
typedef struct gt_initializer {
    gt_init_kind kind;
    double value;          /**< CONSTANT */
    double mean, stddev;   /**< RANDOM_NORMAL / TRUNCATED_NORMAL (stddev 0 -> 0.05) */
    double minval, maxval; /**< RANDOM_UNIFORM (both 0 -> -0.05, 0.05) */
    double gain;           /**< ORTHOGONAL (0 -> 1) */
    double scale;          /**< VARIANCE_SCALING (0 -> 1) */
    gt_fan_mode mode;
    gt_distribution distribution;
    uint64_t seed; /**< 0: draw from the calling thread's global generator (gt_set_seed) */
} gt_initializer;

/** Keras' compute_fans: rank 0 -> (1,1); rank 1 -> (s0,s0); rank 2 -> (s0,s1); rank >= 3
 *  (a kernel (..., in, out)) -> (in*rf, out*rf) with rf the product of the leading axes. */
void gt_compute_fans(int rank, const int64_t *shape, double *fan_in, double *fan_out);
/** A new tensor of the given dtype (f32 or f64) and shape, filled by the initializer. NULL
 *  init is an error (say which default you want). Invalid parameters (negative stddev,
 *  minval > maxval, ...) are errors. */
gt_tensor *gt_initializer_make(const gt_initializer *init, gt_dtype dtype, int rank,
                               const int64_t *shape);

/* ============================================================================================
 * Layers: a struct behind a vtable, built lazily from the first input's shape
 * ========================================================================================== */

typedef struct gt_layer gt_layer;

/** What a layer type provides. A user layer defines one static vtable:
 *
 *      static bool scale_build(gt_layer *l, int rank, const int64_t *shape) {
 *          my_scale *s = (my_scale *)l;
 *          s->w = gt_layer_add_weight(l, "w", GT_SHAPE(shape[rank - 1]),
 *                                     &(gt_initializer){ .kind = GT_INIT_ONES }, true);
 *          return s->w != NULL;
 *      }
 *      static gt_tensor *scale_call(gt_layer *l, const gt_tensor *x, bool training) {
 *          return gt_mul(x, ((my_scale *)l)->w);
 *      }
 *      static const gt_layer_vtable scale_vt = { "Scale", scale_build, scale_call, NULL };
 *      ... my_scale *s = (my_scale *)gt_layer_new(&scale_vt, sizeof(my_scale), NULL);
 */
typedef struct gt_layer_vtable {
    /** Keras class name ("Dense"); its snake_case ("dense") is the auto-name prefix. */
    const char *class_name;
    /** Creates the weights from the first input's shape (gt_layer_add_weight). May be NULL
     *  for a layer without weights. Returns false on error. */
    bool (*build)(gt_layer *self, int rank, const int64_t *input_shape);
    /** The forward pass. training is Keras' `training` argument. */
    gt_tensor *(*call)(gt_layer *self, const gt_tensor *x, bool training);
    /** Frees what the layer type owns besides its weights (may be NULL). The base frees the
     *  weights and the object itself afterwards. */
    void (*destroy)(gt_layer *self);
} gt_layer_vtable;

/** The layer base. Embed it as the first member of a layer type; do not touch the fields
 *  directly except through the functions below (they are public so a user type can embed
 *  the struct). */
struct gt_layer {
    const gt_layer_vtable *vt;
    char name[96];  /**< "dense", "dense_1", ... */
    bool built;     /**< build() ran */
    bool trainable; /**< layer.trainable (default true) */
    gt_dtype dtype; /**< weight dtype, fixed at build from the first input (f32/f64) */
    int nweights, capweights;
    gt_tensor **weights;    /**< own weights in creation order */
    bool *weight_trainable; /**< whether each was created trainable */
    int nchildren, capchildren;
    gt_layer **children; /**< tracked sublayers (owned) in tracking order */
    int out_rank;        /**< output shape of the last call (summary); -1 before */
    int64_t out_shape[GT_MAX_RANK];
};

/** Allocates a zeroed layer object of `size` bytes (>= sizeof(gt_layer)) of type vt, named
 *  `name` or, when name is NULL, auto-named from vt->class_name ("Dense" -> dense, dense_1,
 *  ...; one process-wide counter per snake_case prefix, like Keras). Error on a name that
 *  is not a valid identifier-like string or longer than 95 characters. */
gt_layer *gt_layer_new(const gt_layer_vtable *vt, size_t size, const char *name);
/** Frees a layer: its type's destroy, its tracked sublayers, its weights, the object. NULL
 *  is ignored. */
void gt_layer_free(gt_layer *layer);
/** Calls the layer (layer(x, training=...)): builds it from x's shape on the first call,
 *  inside the layer's name scope, so its weights get paths like "simple_model/dense/kernel"
 *  when called from a model. Records the output shape for summaries. */
gt_tensor *gt_layer_call(gt_layer *layer, const gt_tensor *x, bool training);
/** Builds the layer for an input shape without calling it (layer.build(shape)). No-op when
 *  already built. */
bool gt_layer_build(gt_layer *layer, int rank, const int64_t *input_shape);
/** For use in a build function: creates a weight variable of the layer's dtype, named name,
 *  with path "<scopes>/<layer>/<name>", initialized by init, appended to the layer's
 *  weights. Returns the variable (owned by the layer) or NULL on error. */
gt_tensor *gt_layer_add_weight(gt_layer *layer, const char *name, int rank, const int64_t *shape,
                               const gt_initializer *init, bool trainable);
/** Registers a sublayer (Keras tracks sublayers assigned to attributes); the parent owns it
 *  from then on. Returns child (NULL if child is NULL or on error, in which case the child
 *  is freed). */
gt_layer *gt_layer_track(gt_layer *parent, gt_layer *child);
/** The layer's name. */
const char *gt_layer_name(const gt_layer *layer);
/** Keras class name of the layer ("Dense", "SimpleModel"). */
const char *gt_layer_class_name(const gt_layer *layer);
/** layer.trainable = flag. A non-trainable layer lists every weight (its sublayers' too) as
 *  non-trainable. */
void gt_layer_set_trainable(gt_layer *layer, bool trainable);
/** True once built. */
bool gt_layer_built(const gt_layer *layer);
/** Variables in Keras order (own weights in creation order, then each tracked sublayer's):
 *  writes up to cap handles to out (out may be NULL when cap is 0) and returns the total
 *  count, so `n = f(l, NULL, 0)` sizes the array. All / trainable / non-trainable. */
int gt_layer_variables(const gt_layer *layer, gt_tensor **out, int cap);
int gt_layer_trainable_variables(const gt_layer *layer, gt_tensor **out, int cap);
int gt_layer_non_trainable_variables(const gt_layer *layer, gt_tensor **out, int cap);
/** Total element count of the layer's variables (layer.count_params()). */
int64_t gt_layer_count_params(const gt_layer *layer);
/** Resets the auto-name counters (keras.backend.clear_session / reset_uids), for tests. */
void gt_reset_uids(void);
/** Keras' to_snake_case ("SimpleModel" -> "simple_model") into buf; returns buf. */
char *gt_snake_case(const char *name, char *buf, size_t n);

/** Dense options; {0} = Keras defaults except units, which must be > 0. */
typedef struct gt_dense_desc {
    int64_t units;
    gt_activation activation;          /**< default linear */
    bool no_bias;                      /**< use_bias=False */
    gt_initializer kernel_initializer; /**< default glorot_uniform */
    gt_initializer bias_initializer;   /**< default zeros */
    const char *name;                  /**< NULL: auto-named dense, dense_1, ... */
} gt_dense_desc;
/** keras.layers.Dense: activation(matmul(x, kernel) + bias); inputs of rank > 2 act on the
 *  last axis. kernel (in, units) then bias (units,). */
gt_layer *gt_dense(const gt_dense_desc *desc);
/** The Dense kernel / bias variables (NULL before build, or no bias). */
gt_tensor *gt_dense_kernel(const gt_layer *dense);
gt_tensor *gt_dense_bias(const gt_layer *dense);

/** keras.layers.Activation(act). name NULL: auto-named activation, activation_1, ... */
gt_layer *gt_activation_layer(gt_activation act, const char *name);

/* ============================================================================================
 * Models: Sequential, and user-defined models (a user struct with its own call function)
 * ========================================================================================== */

typedef struct gt_model gt_model;
/** A user model's forward pass (Model.call). */
typedef gt_tensor *(*gt_model_call_fn)(gt_model *self, const gt_tensor *x, bool training);

/** The model base: a layer with tracked sublayers. Embed it first in a user model struct. */
struct gt_model {
    gt_layer layer;
    gt_model_call_fn call;
    void (*destroy)(gt_model *self);
    gt_layer_vtable vtable; /**< the model's own vtable (class name per model type) */
    char class_name[96];
};

/** User-model options. */
typedef struct gt_model_desc {
    const char *class_name; /**< "SimpleModel" -> name simple_model, simple_model_1, ... */
    const char *name;       /**< explicit name instead */
    gt_model_call_fn call;  /**< required */
    size_t size;            /**< bytes of the user struct (>= sizeof(gt_model)); 0: gt_model */
    void (*destroy)(gt_model *self); /**< frees what the user struct owns (may be NULL) */
} gt_model_desc;

/** Creates a user model (class SimpleModel(Model)): a zeroed object of desc->size bytes whose
 *  first member is a gt_model. Register layers with gt_model_track. Example:
 *
 *      typedef struct { gt_model base; gt_layer *dense1, *dense2; } SimpleModel;
 *      SimpleModel *m = (SimpleModel *)gt_model_new(&(gt_model_desc){
 *          .class_name = "SimpleModel", .call = SimpleModel_call, .size = sizeof *m });
 *      m->dense1 = gt_model_track(&m->base, gt_dense(&(gt_dense_desc){ .units = 5,
 *                                                   .activation = GT_ACT_RELU }));
 */
gt_model *gt_model_new(const gt_model_desc *desc);
/** Registers a layer with a model (the model owns it). Returns the layer. */
gt_layer *gt_model_track(gt_model *model, gt_layer *layer);
/** Calls the model: model(x, training=...). */
gt_tensor *gt_model_call(gt_model *model, const gt_tensor *x, bool training);
/** Frees the model and every layer it owns. NULL is ignored. */
void gt_model_free(gt_model *model);
/** The model as a layer (for the gt_layer_* functions). */
gt_layer *gt_model_layer(gt_model *model);

/** keras.Sequential: name NULL gives sequential, sequential_1, ... */
gt_model *gt_sequential(const char *name);
/** Sequential.add(layer): appends (the model owns the layer). false on error. */
bool gt_sequential_add(gt_model *model, gt_layer *layer);

/** Prints model.summary() as Keras 3 does (title, table with layer (type), output shape and
 *  param #, totals with memory sizes) to f. line_length 0 takes Keras' default:
 *  min(88, terminal columns - 4), the columns read from $COLUMNS (80 when unset, as Python's
 *  shutil does when not on a terminal). */
void gt_model_summary(const gt_model *model, FILE *f, int line_length);

/* ============================================================================================
 * Losses (keras.losses)
 * ========================================================================================== */

/** How per-sample losses are reduced (Keras default sum_over_batch_size). */
typedef enum gt_reduction {
    GT_REDUCTION_SUM_OVER_BATCH_SIZE = 0, /**< sum / number of elements ("mean" too) */
    GT_REDUCTION_SUM,
    GT_REDUCTION_NONE,
    GT_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT /**< sum / sum(sample_weight) */
} gt_reduction;

typedef enum gt_loss_kind {
    GT_LOSS_CATEGORICAL_CROSSENTROPY = 1,
    GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
    GT_LOSS_BINARY_CROSSENTROPY,
    GT_LOSS_MEAN_SQUARED_ERROR,
    GT_LOSS_MEAN_ABSOLUTE_ERROR,
    GT_LOSS_HUBER,
    GT_LOSS_KL_DIVERGENCE,
    GT_LOSS_POISSON,
    GT_LOSS_LOG_COSH,
    GT_LOSS_COSINE_SIMILARITY,
    GT_LOSS_HINGE,
    GT_LOSS_SQUARED_HINGE,
    GT_LOSS_CATEGORICAL_HINGE,
    GT_LOSS_MEAN_SQUARED_LOGARITHMIC_ERROR,
    GT_LOSS_MEAN_ABSOLUTE_PERCENTAGE_ERROR
} gt_loss_kind;

/** Loss options; {0} = Keras defaults. Options a loss does not have must stay 0. */
typedef struct gt_loss_desc {
    bool from_logits;       /**< cross-entropies */
    double label_smoothing; /**< CCE / BCE, in [0, 1] */
    int axis; /**< CCE / BCE / CosineSimilarity axis; 0 means -1 (write negative axes) */
    gt_reduction reduction;
    double delta; /**< Huber (0 -> 1.0) */
} gt_loss_desc;

typedef struct gt_loss gt_loss;
/** Creates a loss of the given kind; NULL and an error on invalid options. */
gt_loss *gt_loss_new(gt_loss_kind kind, const gt_loss_desc *desc);
/** keras.losses.CategoricalCrossentropy (one-hot labels). */
gt_loss *gt_categorical_crossentropy(const gt_loss_desc *desc);
/** keras.losses.SparseCategoricalCrossentropy (integer labels, trailing 1 squeezed). */
gt_loss *gt_sparse_categorical_crossentropy(const gt_loss_desc *desc);
/** keras.losses.BinaryCrossentropy (mean over the last axis). */
gt_loss *gt_binary_crossentropy(const gt_loss_desc *desc);
/** keras.losses.MeanSquaredError / MeanAbsoluteError / Huber (mean over the last axis). */
gt_loss *gt_mean_squared_error(const gt_loss_desc *desc);
gt_loss *gt_mean_absolute_error(const gt_loss_desc *desc);
gt_loss *gt_huber(const gt_loss_desc *desc);
/** keras.losses.KLDivergence: sum(t * log(t / p)) over the last axis, both clipped to
 *  [1e-7, 1]. */
gt_loss *gt_kl_divergence(const gt_loss_desc *desc);
/** keras.losses.Poisson: mean(p - t * log(p + 1e-7)) over the last axis. */
gt_loss *gt_poisson(const gt_loss_desc *desc);
/** keras.losses.LogCosh: mean(log(cosh(p - t))) over the last axis, computed as
 *  x + softplus(-2x) - log(2). */
gt_loss *gt_log_cosh(const gt_loss_desc *desc);
/** keras.losses.CosineSimilarity: -sum(l2_normalize(t) * l2_normalize(p)) over desc->axis
 *  (default -1): the negative similarity, so minimising it aligns p with t. A zero vector
 *  gives 0. */
gt_loss *gt_cosine_similarity(const gt_loss_desc *desc);
/** keras.losses.Hinge: mean(max(1 - t * p, 0)) over the last axis; labels that are all 0 or
 *  1 are first mapped to -1 / 1 (otherwise used as given, normally -1 / 1). */
gt_loss *gt_hinge(const gt_loss_desc *desc);
/** keras.losses.SquaredHinge: mean(max(1 - t * p, 0)^2), labels as gt_hinge. */
gt_loss *gt_squared_hinge(const gt_loss_desc *desc);
/** keras.losses.CategoricalHinge: max(max((1 - t) * p) - sum(t * p) + 1, 0) over the last
 *  axis (one-hot or -1 / 1 labels). */
gt_loss *gt_categorical_hinge(const gt_loss_desc *desc);
/** keras.losses.MeanSquaredLogarithmicError: mean((log(max(p, 1e-7) + 1) -
 *  log(max(t, 1e-7) + 1))^2) over the last axis. */
gt_loss *gt_mean_squared_logarithmic_error(const gt_loss_desc *desc);
/** keras.losses.MeanAbsolutePercentageError: 100 * mean(|(t - p) / max(|t|, 1e-7)|) over the
 *  last axis. */
gt_loss *gt_mean_absolute_percentage_error(const gt_loss_desc *desc);
/** Keras' loss name ("categorical_crossentropy", "huber_loss", "kl_divergence", ...). */
const char *gt_loss_name(const gt_loss *loss);
/** loss(y_true, y_pred, sample_weight): computes in y_pred's dtype; y_true is cast to it
 *  (integer labels too; SCCE labels go to int64). sample_weight may be NULL, a scalar, or
 *  per-sample. A softmax (sigmoid) output carrying attached logits is computed from the
 *  logits; with from_logits=true that also warns, as Keras does. Shape mismatches are
 *  errors with Keras' messages. */
gt_tensor *gt_loss_call(const gt_loss *loss, const gt_tensor *y_true, const gt_tensor *y_pred,
                        const gt_tensor *sample_weight);
/** Frees a loss. NULL is ignored. */
void gt_loss_free(gt_loss *loss);

/* ============================================================================================
 * Learning-rate schedules (keras.optimizers.schedules), evaluated at optimizer.iterations
 * ========================================================================================== */

typedef enum gt_schedule_kind {
    GT_SCHEDULE_NONE = 0,
    GT_SCHEDULE_EXPONENTIAL_DECAY,  /**< lr0 * rate^(step/decay_steps) */
    GT_SCHEDULE_PIECEWISE_CONSTANT, /**< values[i] for boundaries[i-1] < step <= boundaries[i] */
    GT_SCHEDULE_COSINE_DECAY,       /**< optional linear warmup, then cosine to alpha*lr */
    GT_SCHEDULE_POLYNOMIAL_DECAY,   /**< (lr0 - end)(1 - step/decay_steps)^power + end */
    GT_SCHEDULE_INVERSE_TIME_DECAY  /**< lr0 / (1 + rate * step/decay_steps) */
} gt_schedule_kind;

/** A schedule (a value: copy it freely; the optimizer copies boundaries/values). */
typedef struct gt_schedule {
    gt_schedule_kind kind;
    double initial_learning_rate;
    double decay_steps; /**< > 0 */
    double decay_rate;
    bool staircase;  /**< Exponential / InverseTime */
    int nboundaries; /**< PiecewiseConstant: boundaries[n], values[n+1] */
    const double *boundaries;
    const double *values;
    double alpha;         /**< CosineDecay floor fraction */
    double warmup_target; /**< CosineDecay: 0 means None (GT_ZERO for a target of 0) */
    double warmup_steps;
    double end_learning_rate; /**< PolynomialDecay (0 -> 1e-4; GT_ZERO for 0) */
    double power;             /**< PolynomialDecay (0 -> 1.0) */
    bool cycle;               /**< PolynomialDecay */
} gt_schedule;

/** The schedule's learning rate at step (0-based), computed in float32 as Keras does; NaN
 *  and an error for invalid parameters (decay_steps <= 0, len(values) != len(boundaries)+1,
 *  ...). */
double gt_schedule_value(const gt_schedule *s, int64_t step);

/* ============================================================================================
 * Optimizers (keras.optimizers)
 * ========================================================================================== */

/** Optimizer options; {0} = Keras 3 defaults. Set only what the optimizer has (Keras raises
 *  "Argument(s) not recognized" otherwise, and so does this). Zero-valued fields take the
 *  default; GT_ZERO asks for an actual 0 where the default is not 0. */
typedef struct gt_optimizer_desc {
    double learning_rate;             /**< default 0.01 (SGD) / 0.001 (others) */
    gt_schedule schedule;             /**< instead of learning_rate when kind != NONE */
    double momentum;                  /**< SGD, RMSprop; in [0, 1] */
    bool nesterov;                    /**< SGD */
    double beta_1, beta_2;            /**< Adam, AdamW, Adamax, Nadam: 0.9, 0.999; Lion: 0.9,
                                           0.99 (beta_1 in (0, 1]) */
    double epsilon;                   /**< 1e-7 (not SGD, Lion) */
    bool amsgrad;                     /**< Adam/AdamW */
    double rho;                       /**< RMSprop: 0.9 */
    bool centered;                    /**< RMSprop */
    double initial_accumulator_value; /**< Adagrad: 0.1 */
    double weight_decay;              /**< decoupled, every optimizer (AdamW default 0.004) */
    double clipnorm, clipvalue, global_clipnorm; /**< at most one; 0 disables */
} gt_optimizer_desc;

typedef struct gt_optimizer gt_optimizer;
/** keras.optimizers.SGD / Adam / AdamW / RMSprop / Adagrad. NULL and an error on invalid
 *  options. */
gt_optimizer *gt_sgd(const gt_optimizer_desc *desc);
gt_optimizer *gt_adam(const gt_optimizer_desc *desc);
gt_optimizer *gt_adamw(const gt_optimizer_desc *desc);
gt_optimizer *gt_rmsprop(const gt_optimizer_desc *desc);
gt_optimizer *gt_adagrad(const gt_optimizer_desc *desc);
/** keras.optimizers.Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
 *  m += (g - m)(1 - beta_1), u = max(beta_2 u, |g|), w -= lr m / ((1 - beta_1^t)(u + eps)).
 *  Slots "momentum" and "norm". */
gt_optimizer *gt_adamax(const gt_optimizer_desc *desc);
/** keras.optimizers.Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7): Adam
 *  with Nesterov momentum and the momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t), whose
 *  running product is the optimizer's variable "u_product" (a scalar of the first variable's
 *  dtype, saved in checkpoints). Slots "momentum" and "velocity". */
gt_optimizer *gt_nadam(const gt_optimizer_desc *desc);
/** keras.optimizers.Lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99):
 *  w -= lr sign(beta_1 m + (1 - beta_1) g), then m = beta_2 m + (1 - beta_2) g. No epsilon;
 *  beta_1 must be in (0, 1] (Keras' error otherwise). Slot "momentum". */
gt_optimizer *gt_lion(const gt_optimizer_desc *desc);
/** Frees an optimizer (not the variables). NULL is ignored. */
void gt_optimizer_free(gt_optimizer *opt);
/** optimizer.apply_gradients(zip(grads, vars)) with Keras 3 semantics: n == 0 is a no-op;
 *  the first call builds the slots for vars, later calls accept only those variables
 *  ("Unknown variable: ..." otherwise); NULL gradients are skipped with Keras' warning
 *  naming the variables' paths, all NULL is the error "No gradients provided for any
 *  variable."; then clipping, decoupled weight decay, the update (in place, on f32 or f64
 *  variables) and iterations += 1. Returns false on error (nothing is changed then). */
bool gt_optimizer_apply_gradients(gt_optimizer *opt, int n, gt_tensor *const *grads,
                                  gt_tensor *const *vars);
/** optimizer.iterations: number of successful apply_gradients calls. */
int64_t gt_optimizer_iterations(const gt_optimizer *opt);
/** The learning rate the next step uses (the schedule evaluated at iterations). */
double gt_optimizer_learning_rate(const gt_optimizer *opt);
/** optimizer.learning_rate = lr; an error when the optimizer has a schedule (Keras raises
 *  TypeError there). */
bool gt_optimizer_set_learning_rate(gt_optimizer *opt, double lr);
/** Keras' optimizer name ("SGD", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam",
 *  "lion"). */
const char *gt_optimizer_name(const gt_optimizer *opt);

/* ============================================================================================
 * Metrics (keras.metrics): running state with update / result / reset
 * ========================================================================================== */

typedef struct gt_metric gt_metric;
/** keras.metrics.Mean: weighted mean of the values given to gt_metric_update_values. */
gt_metric *gt_metric_mean(const char *name);
/** keras.metrics.Accuracy: fraction of y_pred equal to y_true. */
gt_metric *gt_metric_accuracy(const char *name);
/** keras.metrics.CategoricalAccuracy: argmax(y_true) == argmax(y_pred) over the last axis. */
gt_metric *gt_metric_categorical_accuracy(const char *name);
/** keras.metrics.SparseCategoricalAccuracy: y_true (integer class ids, trailing 1 allowed)
 *  == argmax(y_pred). */
gt_metric *gt_metric_sparse_categorical_accuracy(const char *name);
/** keras.metrics.BinaryAccuracy: fraction of (y_pred > threshold) equal to y_true, y_true
 *  cast to y_pred's dtype. threshold 0 means Keras' 0.5 (GT_ZERO for 0). */
gt_metric *gt_metric_binary_accuracy(const char *name, double threshold);
/** keras.metrics.TopKCategoricalAccuracy: argmax(y_true) is among the k largest y_pred
 *  (tf.math.in_top_k: ties at the k-th value count as in, a non-finite row as out). k 0
 *  means Keras' 5; NULL and an error for k < 0. */
gt_metric *gt_metric_top_k_categorical_accuracy(const char *name, int k);
/** keras.metrics.SparseTopKCategoricalAccuracy: as gt_metric_top_k_categorical_accuracy
 *  with y_true the class ids (one per row of y_pred; (batch, 1) allowed). */
gt_metric *gt_metric_sparse_top_k_categorical_accuracy(const char *name, int k);
/** keras.metrics.MeanSquaredError: the weighted mean of the per-sample mean((t - p)^2). */
gt_metric *gt_metric_mean_squared_error(const char *name);
/** keras.metrics.MeanAbsoluteError: the weighted mean of the per-sample mean(|t - p|). */
gt_metric *gt_metric_mean_absolute_error(const char *name);
/** keras.metrics.RootMeanSquaredError: sqrt of the weighted mean of (p - t)^2 (0 with no
 *  updates). */
gt_metric *gt_metric_root_mean_squared_error(const char *name);
/** keras.metrics.Precision with one threshold: state true and false positives, y_true != 0
 *  a positive label and y_pred > threshold a positive prediction, every element counted
 *  (a per-sample weight weighs the whole row); result tp / (tp + fp), 0 when both are 0.
 *  threshold 0 means Keras' 0.5 (GT_ZERO for 0); NULL and Keras' error outside [0, 1]. */
gt_metric *gt_metric_precision(const char *name, double threshold);
/** keras.metrics.Recall: as gt_metric_precision, result tp / (tp + fn). */
gt_metric *gt_metric_recall(const char *name, double threshold);
/** update_state(y_true, y_pred, sample_weight) for every metric but Mean. */
bool gt_metric_update(gt_metric *m, const gt_tensor *y_true, const gt_tensor *y_pred,
                      const gt_tensor *sample_weight);
/** update_state(values, sample_weight) for Mean (and the metrics that are a Mean of values;
 *  an error for Precision and Recall). */
bool gt_metric_update_values(gt_metric *m, const gt_tensor *values, const gt_tensor *sample_weight);
/** result(): total / count in float32 (0 when count is 0, divide_no_nan); its sqrt for
 *  RootMeanSquaredError; tp / (tp + fp) or tp / (tp + fn) for Precision and Recall. */
double gt_metric_result(const gt_metric *m);
/** reset_state(). */
void gt_metric_reset(gt_metric *m);
/** The metric's name ("mean", "accuracy", "binary_accuracy", "precision", ...). */
const char *gt_metric_name(const gt_metric *m);
/** Keras' metric._direction, which the callbacks' auto mode follows: 1 "up" (the accuracies,
 *  Precision, Recall), -1 "down" (MeanSquaredError, MeanAbsoluteError,
 *  RootMeanSquaredError), 0 none (Mean; NULL). */
int gt_metric_direction(const gt_metric *m);
/** Frees a metric. NULL is ignored. */
void gt_metric_free(gt_metric *m);

/* ============================================================================================
 * >>> Training: fit / evaluate / predict, progress bar, history, callbacks, checkpoints
 *     (src/nn/fit.c, progress.c, history.c, callbacks.c, checkpoint.c; docs/training.md)
 *
 *     gt_metric *acc = gt_metric_sparse_categorical_accuracy("accuracy");
 *     gt_history *h = NULL;
 *     gt_model_fit(model, train, &(gt_fit_desc){ .epochs = 10, .batch_size = 128,
 *                                                .validation_split = 0.1, .seed = 42,
 *                                                .nmetrics = 1, .metrics = &acc },
 *                  loss, opt, &h);                 // model.fit(x, y, epochs=10, ...)
 *     gt_history_write_csv(h, "history.csv");
 *     gt_logs test;
 *     gt_model_evaluate(model, test_ds, &(gt_eval_desc){ .nmetrics = 1, .metrics = &acc },
 *                       loss, &test);              // model.evaluate(x_test, y_test)
 *     printf("%g\n", gt_logs_get(&test, "accuracy"));
 * ========================================================================================== */

typedef struct gt_dataset gt_dataset; /* gradtape_io.h */
struct gt_kv;                         /* gradtape_io.h */

/** Most entries a gt_logs holds, and the longest name (with its NUL). */
#define GT_LOGS_MAX 32
#define GT_LOGS_NAME_MAX 48

/** The logs dict Keras passes around: names ("accuracy", "loss", "val_loss", ...) and values,
 *  in insertion order. A plain value (no allocation); {0} is empty. */
typedef struct gt_logs {
    int n;
    char names[GT_LOGS_MAX][GT_LOGS_NAME_MAX];
    double values[GT_LOGS_MAX];
} gt_logs;
/** logs[name], or NaN when absent. */
double gt_logs_get(const gt_logs *logs, const char *name);
/** True when name is in logs. */
bool gt_logs_has(const gt_logs *logs, const char *name);
/** logs[name] = value (replaces an existing entry); false when full or the name is too long. */
bool gt_logs_set(gt_logs *logs, const char *name, double value);

/* ---- keras.utils.Progbar ----------------------------------------------------------------- */

typedef struct gt_progbar gt_progbar;
/** A progress bar for target steps on f (NULL: stdout), as keras.utils.Progbar(target,
 *  width=20, verbose, interval=0.05): verbose 1 redraws one line in place when f is a terminal
 *  (`469/469 ━━━━━━━━━━━━━━━━━━━━ 3s 6ms/step - accuracy: 0.8123 - loss: 0.5321`, with the
 *  time left instead of the elapsed time while running), and when f is not a terminal prints
 *  only the final line, in verbose 2's plain form (`469/469 - 3s - 6ms/step - loss: 0.5321`);
 *  verbose 2 prints that final line only; 0 prints nothing. GT_PROGBAR_TTY=1/0 in the
 *  environment forces the terminal decision. */
gt_progbar *gt_progbar_new(int64_t target, int verbose, FILE *f);
/** Shows step `current` (1-based) with the logs' values (stateful: shown as given). finalize
 *  prints the last form and a newline. Throttled to one redraw per 50 ms except when
 *  finalizing. */
void gt_progbar_update(gt_progbar *pb, int64_t current, const gt_logs *logs, bool finalize);
/** Frees a progress bar. NULL is ignored. */
void gt_progbar_free(gt_progbar *pb);

/* ---- History ----------------------------------------------------------------------------- */

/** keras.callbacks.History: every epoch's logs. */
typedef struct gt_history gt_history;
gt_history *gt_history_new(void);
void gt_history_free(gt_history *h);
/** Appends epoch's logs (new keys are added; earlier epochs read NaN for them). */
bool gt_history_append(gt_history *h, int64_t epoch, const gt_logs *logs);
/** Number of epochs recorded. */
int64_t gt_history_epochs(const gt_history *h);
/** Keys in first-seen order ("accuracy", "loss", "val_accuracy", "val_loss"). */
int gt_history_num_keys(const gt_history *h);
const char *gt_history_key(const gt_history *h, int i);
/** history.history[key][i] (i-th recorded epoch); NaN when absent. */
double gt_history_get(const gt_history *h, const char *key, int64_t i);
/** The epoch number (0-based) of the i-th record. */
int64_t gt_history_epoch(const gt_history *h, int64_t i);
/** CSV with a header `epoch,<keys sorted: train metrics then val_ ones>`; epochs 0-based as
 *  Keras' CSVLogger writes them. Written atomically. */
bool gt_history_write_csv(const gt_history *h, const char *path);
/** An SVG chart (two panels: loss curves, and accuracy-like curves when present), with axes,
 *  ticks, labels and a legend. Written atomically. title may be NULL. */
bool gt_history_write_svg(const gt_history *h, const char *path, const char *title);

/* ---- Callbacks --------------------------------------------------------------------------- */

/** What fit shares with callbacks (Keras' callback.model / params). */
typedef struct gt_fit_state {
    gt_model *model;
    gt_optimizer *optimizer;
    int64_t epochs;          /**< requested epochs */
    int64_t steps;           /**< batches per epoch */
    int verbose;
    FILE *out;
    bool stop_training;      /**< set to end training after the current epoch */
    int nmetrics;            /**< fit's metrics (the callbacks' auto mode reads their */
    gt_metric *const *metrics; /**< directions, gt_metric_direction) */
} gt_fit_state;

typedef struct gt_callback gt_callback;
/** Hooks of a callback (any may be NULL). A hook returns false after setting an error to make
 *  fit fail (the remaining hooks, on_train_end included, are then not called); to stop
 *  training normally, set state->stop_training: after the current epoch, or, from
 *  on_train_batch_end, after the current batch (the epoch then ends as usual: validation,
 *  on_epoch_end, history). on_epoch_end may add entries to logs (they go to the history).
 *  on_train_batch_end runs after each training batch with its 0-based index and the epoch's
 *  running logs (the mean loss and metrics so far, as Keras' batch logs), before the
 *  progress bar shows the batch; fit builds those logs only when some callback has the
 *  hook. */
typedef struct gt_callback_vtable {
    const char *name;
    bool (*on_train_begin)(gt_callback *cb, gt_fit_state *state);
    bool (*on_epoch_begin)(gt_callback *cb, gt_fit_state *state, int64_t epoch);
    bool (*on_epoch_end)(gt_callback *cb, gt_fit_state *state, int64_t epoch, gt_logs *logs);
    bool (*on_train_end)(gt_callback *cb, gt_fit_state *state, const gt_logs *logs);
    void (*destroy)(gt_callback *cb); /**< frees what the callback owns besides itself */
    bool (*on_train_batch_end)(gt_callback *cb, gt_fit_state *state, int64_t batch,
                               const gt_logs *logs);
} gt_callback_vtable;
/** The callback base; embed it first in a callback type and allocate with malloc. */
struct gt_callback {
    const gt_callback_vtable *vt;
};
/** Frees a callback (its destroy, then the object). NULL is ignored. */
void gt_callback_free(gt_callback *cb);

/** keras.callbacks.EarlyStopping; {0} = Keras defaults. */
typedef enum gt_monitor_mode { GT_MODE_AUTO = 0, GT_MODE_MIN, GT_MODE_MAX } gt_monitor_mode;
typedef struct gt_early_stopping_desc {
    const char *monitor; /**< default "val_loss" */
    double min_delta;    /**< absolute; the sign is ignored */
    int64_t patience;
    gt_monitor_mode mode; /**< auto: Keras 3's rule at the first epoch end: min for the
                               loss, else the direction of fit's metric of that name
                               (gt_metric_direction); fit fails when neither decides */
    bool restore_best_weights;
    int64_t start_from_epoch;
    int verbose; /**< 1 prints "Epoch N: early stopping" */
} gt_early_stopping_desc;
gt_callback *gt_early_stopping(const gt_early_stopping_desc *desc);
/** The epoch (0-based) at which EarlyStopping stopped training, 0 when it did not. */
int64_t gt_early_stopping_stopped_epoch(const gt_callback *cb);

/** keras.callbacks.ModelCheckpoint: saves model (and optimizer unless weights_only) with
 *  gt_checkpoint_save at each epoch end, or only on improvement of monitor. */
typedef struct gt_model_checkpoint_desc {
    const char *path;     /**< required; "{epoch}" is replaced by the 1-based epoch */
    const char *monitor;  /**< default "val_loss" */
    bool save_best_only;
    bool weights_only;
    gt_monitor_mode mode; /**< auto: as gt_early_stopping_desc.mode */
    int verbose; /**< 1 prints Keras' "Epoch N: val_loss improved from ..." lines */
} gt_model_checkpoint_desc;
gt_callback *gt_model_checkpoint(const gt_model_checkpoint_desc *desc);

/** keras.callbacks.LearningRateScheduler: at each epoch begin, lr = schedule(epoch, lr). Adds
 *  "learning_rate" to the epoch's logs. The optimizer must have a plain learning rate. */
typedef double (*gt_lr_schedule_fn)(int64_t epoch, double lr, void *user);
gt_callback *gt_learning_rate_scheduler(gt_lr_schedule_fn schedule, void *user, int verbose);

/** A user function called at each epoch end with the logs; returning false stops training. */
typedef bool (*gt_epoch_end_fn)(int64_t epoch, const gt_logs *logs, void *user);
gt_callback *gt_lambda_callback(gt_epoch_end_fn on_epoch_end, void *user);

/** keras.callbacks.ReduceLROnPlateau options; {0} = Keras' defaults (monitor "val_loss",
 *  factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0, mode auto). GT_ZERO asks
 *  for a factor or min_delta of 0, GT_PATIENCE_ZERO for a patience of 0. */
typedef struct gt_reduce_lr_on_plateau_desc {
    const char *monitor;
    double factor;        /**< new lr = max(lr * factor, min_lr); must be < 1 */
    int64_t patience;     /**< epochs without improvement before a reduction */
    int verbose;          /**< 1 prints "Epoch N: ReduceLROnPlateau reducing learning rate
                               to X." */
    gt_monitor_mode mode; /**< auto: as gt_early_stopping_desc.mode */
    double min_delta;     /**< smallest change that counts as an improvement */
    int64_t cooldown;     /**< epochs to wait after a reduction before counting again */
    double min_lr;        /**< lower bound on the learning rate */
} gt_reduce_lr_on_plateau_desc;
#define GT_PATIENCE_ZERO ((int64_t)-1)
/** keras.callbacks.ReduceLROnPlateau: at each epoch end writes the optimizer's learning rate
 *  to the logs ("learning_rate"), and when monitor has not improved for patience epochs
 *  (outside a cooldown) multiplies the learning rate by factor, down to min_lr, with Keras
 *  3's logic and messages (a warning when monitor is not in the logs). NULL and an error for
 *  factor >= 1 (Keras' message) or a negative patience/cooldown. fit fails if the optimizer
 *  has a learning-rate schedule (it cannot be set, as in Keras), or in mode auto when the
 *  monitor's direction is unknown (see gt_early_stopping_desc.mode). */
gt_callback *gt_reduce_lr_on_plateau(const gt_reduce_lr_on_plateau_desc *desc);

/** keras.callbacks.TerminateOnNaN(raise_error): after each training batch, when the running
 *  loss is NaN or infinite, prints "Batch N: Invalid loss, terminating training" and stops
 *  training after that batch (the epoch still ends: validation, callbacks, history); with
 *  raise_error, makes fit fail at once instead with Keras' RuntimeError text as the error. */
gt_callback *gt_terminate_on_nan(bool raise_error);

/* ---- fit / evaluate / predict ------------------------------------------------------------ */

/** model.fit options; {0} = Keras defaults. */
typedef struct gt_fit_desc {
    int64_t epochs;            /**< default 1 */
    int64_t batch_size;        /**< default 32 */
    double validation_split;   /**< the last fraction of the training set validates */
    gt_dataset *validation_data; /**< or a separate validation set (not with a split) */
    bool no_shuffle;           /**< shuffle=False (default: shuffle each epoch) */
    uint64_t seed;             /**< shuffle seed: epoch e uses gt_dataset_shuffle(ds, seed, e) */
    int nmetrics;
    gt_metric *const *metrics; /**< e.g. SparseCategoricalAccuracy named "accuracy"; fit resets
                                    them each epoch and reuses them for validation (val_*) */
    int ncallbacks;
    gt_callback *const *callbacks;
    int verbose;               /**< Keras' verbose: GT_VERBOSE_AUTO (0, the default) = 1: a
                                    bar per epoch; 2: one line per epoch; GT_VERBOSE_SILENT */
    int64_t initial_epoch;
    FILE *out;                 /**< progress output; NULL: stdout */
} gt_fit_desc;
#define GT_VERBOSE_AUTO 0
#define GT_VERBOSE_SILENT (-1)

/** model.fit: for each epoch, shuffles, then for each batch runs one step in one scope
 *  (forward with training=true under a tape, the loss, the gradient of the trainable
 *  variables, optimizer.apply_gradients), updates the mean loss (weighted by batch size) and
 *  the metrics; at the epoch end validates, calls the callbacks and records the history.
 *  Builds the model from the first batch when it is not built. *history (may be NULL) gets a
 *  new gt_history the caller frees (also on failure, with the epochs done). A step allocates
 *  nothing from the system once warm. */
bool gt_model_fit(gt_model *model, gt_dataset *train, const gt_fit_desc *desc,
                  const gt_loss *loss, gt_optimizer *optimizer, gt_history **history);

/** model.evaluate / predict options; {0} = Keras defaults (batch 32, a progress bar). */
typedef struct gt_eval_desc {
    int64_t batch_size;
    int nmetrics;
    gt_metric *const *metrics; /**< reset first */
    int verbose;               /**< as gt_fit_desc: GT_VERBOSE_AUTO = a bar, 2 a line,
                                    GT_VERBOSE_SILENT */
    FILE *out;
} gt_eval_desc;
/** model.evaluate: forward with training=false over ds in stored order (unshuffles it);
 *  writes {metrics..., "loss"} (sorted) to logs. */
bool gt_model_evaluate(gt_model *model, gt_dataset *ds, const gt_eval_desc *desc,
                       const gt_loss *loss, gt_logs *logs);

/** model.predict: the model's outputs for every sample of ds in stored order, as one tensor
 *  [N, ...] owned by the current scope (NULL on error). */
gt_tensor *gt_model_predict(gt_model *model, gt_dataset *ds, const gt_eval_desc *desc);

/** Builds a model by calling it once on zeros of input_shape (batch axis first, e.g.
 *  GT_SHAPE(1, 784)) with training=false, as Keras' model.build(input_shape). A batch axis of
 *  -1 is Keras' None (GT_SHAPE(-1, 784)): the call uses one sample and the summary shows the
 *  batch as None, as for a model started with keras.Input((784,)). No-op when built. */
bool gt_model_build(gt_model *model, int rank, const int64_t *input_shape);

/* ---- optimizer state (for checkpoints) --------------------------------------------------- */

/** optimizer.build(var_list): creates the slots now (apply_gradients does it on its first
 *  call). Error when already built for other variables. */
bool gt_optimizer_build(gt_optimizer *opt, int n, gt_tensor *const *vars);
/** True once the slots exist. */
bool gt_optimizer_is_built(const gt_optimizer *opt);
/** One array of optimizer state: slot `name` (Keras' names: "momentum", "velocity",
 *  "velocity_hat", "average_gradient", "accumulator", "norm") of variable var, size elements
 *  of dtype (the variable's), writable. var is NULL for a variable of the optimizer itself
 *  (Nadam's scalar "u_product"). */
typedef struct gt_optimizer_slot {
    const char *name;
    gt_tensor *var;
    gt_dtype dtype;
    int64_t size;
    void *data;
} gt_optimizer_slot;
/** Writes up to cap slots to out in a fixed order (variable order, then slot order, then the
 *  optimizer's own variables) and returns the total count (0 before build). */
int gt_optimizer_slots(const gt_optimizer *opt, gt_optimizer_slot *out, int cap);
/** optimizer.iterations = n (n >= 0). */
bool gt_optimizer_set_iterations(gt_optimizer *opt, int64_t n);
/** True when the optimizer has a learning-rate schedule (its learning rate is not settable). */
bool gt_optimizer_has_schedule(const gt_optimizer *opt);

/* ---- checkpoints ------------------------------------------------------------------------- */

/** Saves the model's variables (every one, under its path "sequential/dense/kernel") and, when
 *  opt is not NULL, the optimizer's state: `optimizer/<name>/<slot>/<variable path>` (and
 *  `optimizer/<name>/<variable>` for the optimizer's own, Nadam's `optimizer/nadam/u_product`),
 *  `optimizer/iterations` (I64 scalar) and `optimizer/learning_rate` (F32, without a
 *  schedule), as safetensors, atomically. meta (may be NULL) goes to __metadata__ besides
 *  "format": "gradtape". The model must be built. */
bool gt_checkpoint_save(const char *path, gt_model *model, const gt_optimizer *opt, int nmeta,
                        const struct gt_kv *meta);
/** Loads what gt_checkpoint_save wrote, all or nothing: the file is validated (format, every
 *  model variable and, with opt, every optimizer tensor present with its exact dtype and
 *  shape, nothing unexpected) in one pass before anything changes; on any error model and
 *  optimizer keep their state and gt_error() says what is wrong. With opt NULL, optimizer
 *  entries in the file are ignored. An unbuilt optimizer is built for the model's trainable
 *  variables first. The model must be built (gt_model_build). */
bool gt_checkpoint_load(const char *path, gt_model *model, gt_optimizer *opt);

/* <<< end of the training section */

/* ============================================================================================
 * Image, regularization, normalization and embedding layers (keras.layers.Conv2D,
 * MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout,
 * BatchNormalization, LayerNormalization, Embedding). Images are channels-last
 * [batch, height, width, channels]. Like Dense, every layer builds lazily from its first
 * input, is auto-named Keras-style (conv2d, conv2d_1, max_pooling2d, batch_normalization, ...)
 * and checks later inputs against what it was built for (rank, channel axis).
 *
 *     gt_model *m = gt_sequential(NULL);
 *     gt_sequential_add(m, gt_conv2d_layer(&(gt_conv2d_layer_desc){
 *         .filters = 32, .kernel_size = {3}, .activation = GT_ACT_RELU }));
 *     gt_sequential_add(m, gt_max_pooling2d(NULL));             // 2x2, stride 2, valid
 *     gt_sequential_add(m, gt_flatten(NULL));
 *     gt_sequential_add(m, gt_dropout(&(gt_dropout_desc){ .rate = 0.5, .seed = 1 }));
 *     gt_sequential_add(m, gt_dense(&(gt_dense_desc){ .units = 10 }));
 *
 * Pairs such as kernel_size, strides, dilation_rate and pool_size follow Keras' "an int means
 * the same on both axes": a second entry of 0 repeats the first ({3} is 3x3), both 0 is the
 * Keras default. (The ops' descriptors in gradtape_conv.h read a 0 entry as 1 instead.)
 * ========================================================================================== */

#include "gradtape_conv.h"

/** Conv2D options; {0} = Keras defaults except filters and kernel_size, which are required. */
typedef struct gt_conv2d_layer_desc {
    int64_t filters;          /**< > 0, divisible by groups */
    int64_t kernel_size[2];   /**< (rows, cols); {k} means k x k */
    int64_t strides[2];       /**< default (1, 1) */
    gt_padding padding;       /**< GT_PADDING_VALID (default) or GT_PADDING_SAME (TF's formula) */
    int64_t dilation_rate[2]; /**< default (1, 1); > 1 together with strides > 1 is an error,
                                   as in Keras */
    int64_t groups;           /**< default 1; must divide filters and the input channels */
    gt_activation activation; /**< default linear */
    bool no_bias;             /**< use_bias=False */
    gt_initializer kernel_initializer; /**< default glorot_uniform, fans with the receptive
                                            field: fan_in = kh*kw*in/groups, fan_out = kh*kw*filters */
    gt_initializer bias_initializer;   /**< default zeros */
    const char *name;                  /**< NULL: conv2d, conv2d_1, ... */
} gt_conv2d_layer_desc;
/** keras.layers.Conv2D: activation(conv2d(x, kernel) + bias) on [N, H, W, C]. Weights kernel
 *  (kh, kw, C/groups, filters) then bias (filters,). */
gt_layer *gt_conv2d_layer(const gt_conv2d_layer_desc *desc);
/** The Conv2D kernel / bias variables (NULL before build, without bias, or for another
 *  layer type). */
gt_tensor *gt_conv2d_layer_kernel(const gt_layer *conv);
gt_tensor *gt_conv2d_layer_bias(const gt_layer *conv);

/** MaxPooling2D / AveragePooling2D options; {0} (or NULL) = pool (2, 2), strides = pool_size,
 *  "valid". (Keras 3 requires pool_size for AveragePooling2D; tf.keras 2's default (2, 2) is
 *  used here for both.) */
typedef struct gt_pooling2d_desc {
    int64_t pool_size[2]; /**< {p} means p x p */
    int64_t strides[2];   /**< default: pool_size */
    gt_padding padding;
    const char *name; /**< NULL: max_pooling2d, ... / average_pooling2d, ... */
} gt_pooling2d_desc;
/** keras.layers.MaxPooling2D: each window's gradient goes to its first maximum (TF's rule). */
gt_layer *gt_max_pooling2d(const gt_pooling2d_desc *desc);
/** keras.layers.AveragePooling2D: with "same" padding, padded cells are not counted. */
gt_layer *gt_average_pooling2d(const gt_pooling2d_desc *desc);

/** GlobalAveragePooling2D options; {0} (or NULL) = Keras defaults. */
typedef struct gt_global_pooling2d_desc {
    bool keepdims;    /**< [N, 1, 1, C] instead of [N, C] */
    const char *name; /**< NULL: global_average_pooling2d, ... */
} gt_global_pooling2d_desc;
/** keras.layers.GlobalAveragePooling2D: the mean over H and W. */
gt_layer *gt_global_average_pooling2d(const gt_global_pooling2d_desc *desc);

/** keras.layers.Flatten: [N, ...] -> [N, prod(...)] ([N] -> [N, 1]). name NULL: flatten, ... */
gt_layer *gt_flatten(const char *name);

/** Dropout options. */
typedef struct gt_dropout_desc {
    double rate;   /**< fraction of inputs to drop, in [0, 1] (0: the layer is an identity) */
    uint64_t seed; /**< the mask stream's seed; 0 draws one from the global generator
                        (gt_set_seed) when the layer is made */
    const char *name; /**< NULL: dropout, dropout_1, ... */
} gt_dropout_desc;
/** keras.layers.Dropout: with training = true, each element is kept with probability 1 - rate
 *  and scaled by 1 / (1 - rate) (kept where u >= rate, u uniform in [0, 1), as TF's dropout);
 *  rate == 1 gives zeros (no gradient, as TF's zeros_like). With training = false, or rate 0,
 *  the input is returned as it is. The mask is a constant: the gradient is dy * mask * scale.
 *  Each training call draws a new mask from the layer's own Philox stream, so a layer made
 *  with the same seed gives the same masks in the same order. */
gt_layer *gt_dropout(const gt_dropout_desc *desc);

/** BatchNormalization options; {0} = Keras 3 defaults. */
typedef struct gt_batch_normalization_desc {
    int axis;        /**< the feature axis; 0 means -1 (write other axes as negative numbers) */
    double momentum; /**< default 0.99; in [0, 1]; GT_ZERO for 0 */
    double epsilon;  /**< default 1e-3; >= 0; GT_ZERO for 0 */
    bool no_center;  /**< center=False: no beta */
    bool no_scale;   /**< scale=False: no gamma */
    gt_initializer beta_initializer;            /**< default zeros */
    gt_initializer gamma_initializer;           /**< default ones */
    gt_initializer moving_mean_initializer;     /**< default zeros */
    gt_initializer moving_variance_initializer; /**< default ones */
    const char *name; /**< NULL: batch_normalization, ... */
} gt_batch_normalization_desc;
/** keras.layers.BatchNormalization. Weights in Keras order: gamma, beta (trainable),
 *  moving_mean, moving_variance (non-trainable), each of shape (C,).
 *  training = true on a trainable layer: mean and biased variance of the batch over every axis
 *  but the feature axis normalise x, and the moving statistics are updated in place,
 *  moving = moving * momentum + batch * (1 - momentum) (an assignment, never recorded on a
 *  tape). Otherwise (training = false, or gt_layer_set_trainable(l, false)) the moving
 *  statistics are used. y = x * inv + (beta - mean * inv), inv = gamma / sqrt(var + epsilon),
 *  the order of tf.nn.batch_normalization. Derivatives of every order are exact (TF's
 *  tf.nn.moments stops the gradient through the mean inside the variance, which loses a
 *  second-order term). */
gt_layer *gt_batch_normalization(const gt_batch_normalization_desc *desc);

/** LayerNormalization options; {0} = Keras 3 defaults. */
typedef struct gt_layer_normalization_desc {
    int axis;       /**< the normalised axis; 0 means -1 */
    double epsilon; /**< default 1e-3; >= 0; GT_ZERO for 0 */
    bool no_center; /**< center=False */
    bool no_scale;  /**< scale=False */
    gt_initializer beta_initializer;  /**< default zeros */
    gt_initializer gamma_initializer; /**< default ones */
    const char *name; /**< NULL: layer_normalization, ... */
} gt_layer_normalization_desc;
/** keras.layers.LayerNormalization: per example, mean and biased variance over axis,
 *  y = x * inv + (beta - mean * inv), inv = gamma / sqrt(var + epsilon). Weights gamma then
 *  beta, shape (x.shape[axis],). */
gt_layer *gt_layer_normalization(const gt_layer_normalization_desc *desc);

/** Embedding options. */
typedef struct gt_embedding_desc {
    int64_t input_dim;  /**< vocabulary size, > 0 */
    int64_t output_dim; /**< > 0 */
    gt_initializer embeddings_initializer; /**< default uniform(-0.05, 0.05) */
    gt_dtype dtype;   /**< the table's dtype: GT_F32 (default) or GT_F64 (Keras' dtype=) */
    const char *name; /**< NULL: embedding, embedding_1, ... */
} gt_embedding_desc;
/** keras.layers.Embedding: rows of the (input_dim, output_dim) table "embeddings" picked by
 *  integer ids of any shape -> ids.shape + (output_dim,). Float ids are cast to int32 first
 *  (truncation, as Keras does); an id outside [0, input_dim) is an error. The gradient is
 *  dense (duplicate ids add up). */
gt_layer *gt_embedding(const gt_embedding_desc *desc);

/* ---- end of the image, regularization, normalization and embedding layers ---------------- */

/* ============================================================================================
 * Sequence (1-D convolution and pooling) and reshaping layers (keras.layers.Conv1D,
 * MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, Reshape,
 * Permute, RepeatVector, ZeroPadding2D, Cropping2D, UpSampling2D). Sequences are channels-last
 * [batch, steps, channels], images [batch, height, width, channels]. The 1-D layers run the
 * 2-D ops of gradtape_conv.h on [batch, 1, steps, channels]; the reshaping layers are shape
 * ops (reshape, transpose, broadcast, pad, slice). All are differentiable to any order.
 *
 *     gt_sequential_add(m, gt_conv1d_layer(&(gt_conv1d_layer_desc){
 *         .filters = 16, .kernel_size = 3, .padding = GT_PADDING_CAUSAL }));
 *     gt_sequential_add(m, gt_max_pooling1d(NULL));              // pool 2, stride 2, valid
 *     gt_sequential_add(m, gt_global_average_pooling1d(NULL));
 * ========================================================================================== */

/** Conv1D's causal padding (Keras' padding="causal"): the input is padded on the left by
 *  (kernel_size - 1) * dilation_rate steps, then convolved "valid", so output step t sees
 *  input steps <= t only. Other layers reject it. */
#define GT_PADDING_CAUSAL ((gt_padding)2)

/** Conv1D options; {0} = Keras defaults except filters and kernel_size, which are required. */
typedef struct gt_conv1d_layer_desc {
    int64_t filters;          /**< > 0, divisible by groups */
    int64_t kernel_size;      /**< > 0 */
    int64_t strides;          /**< default 1 */
    gt_padding padding;       /**< GT_PADDING_VALID (default), GT_PADDING_SAME or
                                   GT_PADDING_CAUSAL */
    int64_t dilation_rate;    /**< default 1; > 1 together with strides > 1 is an error */
    int64_t groups;           /**< default 1; must divide filters and the input channels */
    gt_activation activation; /**< default linear */
    bool no_bias;             /**< use_bias=False */
    gt_initializer kernel_initializer; /**< default glorot_uniform, fan_in = k*in/groups,
                                            fan_out = k*filters */
    gt_initializer bias_initializer;   /**< default zeros */
    const char *name;                  /**< NULL: conv1d, conv1d_1, ... */
} gt_conv1d_layer_desc;
/** keras.layers.Conv1D: activation(conv1d(x, kernel) + bias) on [N, L, C] -> [N, L', filters].
 *  Weights kernel (kernel_size, C/groups, filters) then bias (filters,), with paths
 *  "<scopes>/conv1d/kernel" as Conv2D's. Errors as Conv2D's, with 1-tuples. */
gt_layer *gt_conv1d_layer(const gt_conv1d_layer_desc *desc);
/** The Conv1D kernel / bias variables (NULL before build, without bias, or for another
 *  layer type). */
gt_tensor *gt_conv1d_layer_kernel(const gt_layer *conv);
gt_tensor *gt_conv1d_layer_bias(const gt_layer *conv);

/** MaxPooling1D / AveragePooling1D options; {0} (or NULL) = pool 2, strides = pool_size,
 *  "valid" (Keras 3 requires pool_size for AveragePooling1D; 2 is used here for both). */
typedef struct gt_pooling1d_desc {
    int64_t pool_size; /**< default 2 */
    int64_t strides;   /**< default: pool_size */
    gt_padding padding;
    const char *name; /**< NULL: max_pooling1d, ... / average_pooling1d, ... */
} gt_pooling1d_desc;
/** keras.layers.MaxPooling1D on [N, L, C]: each window's gradient goes to its first maximum. */
gt_layer *gt_max_pooling1d(const gt_pooling1d_desc *desc);
/** keras.layers.AveragePooling1D on [N, L, C]: with "same" padding, padded steps are not
 *  counted. */
gt_layer *gt_average_pooling1d(const gt_pooling1d_desc *desc);

/** GlobalAveragePooling1D / GlobalMaxPooling1D options (those of the 2-D kin): keepdims gives
 *  [N, 1, C] instead of [N, C]. */
typedef gt_global_pooling2d_desc gt_global_pooling1d_desc;
/** keras.layers.GlobalAveragePooling1D: the mean over the steps of [N, L, C]. */
gt_layer *gt_global_average_pooling1d(const gt_global_pooling1d_desc *desc);
/** keras.layers.GlobalMaxPooling1D: the maximum over the steps of [N, L, C] (the gradient of
 *  tied maxima is shared equally, as tf.reduce_max's). */
gt_layer *gt_global_max_pooling1d(const gt_global_pooling1d_desc *desc);

/** keras.layers.Reshape(target_shape): [N, ...] -> [N, *target_shape], target_shape of ndim
 *  entries (ndim <= GT_MAX_RANK - 1; 0 gives [N]), e.g. gt_reshape_layer(GT_SHAPE(3, 4), NULL).
 *  One entry may be -1 (inferred from the input's size). Keras' errors: an entry < -1 or two
 *  -1 when made; a size that does not match (or cannot be divided) when called. name NULL:
 *  reshape, reshape_1, ... */
gt_layer *gt_reshape_layer(int ndim, const int64_t *target_shape, const char *name);

/** keras.layers.Permute(dims): permutes the non-batch axes, output axis i (1-based) is input
 *  axis dims[i-1]; dims is a permutation of 1..ndim, e.g. gt_permute(GT_AXES(2, 1), NULL) swaps
 *  the two axes of [N, A, B]. Inputs must have rank ndim + 1. name NULL: permute, ... */
gt_layer *gt_permute(int ndim, const int *dims, const char *name);

/** keras.layers.RepeatVector(n): [N, D] -> [N, n, D], n > 0. name NULL: repeat_vector, ... */
gt_layer *gt_repeat_vector(int64_t n, const char *name);

/** ZeroPadding2D options; {0} (or NULL) = Keras' default padding 1 on every side. */
typedef struct gt_zero_padding2d_desc {
    int64_t padding[2][2]; /**< ((top, bottom), (left, right)), each >= 0; all four 0 means
                                the default ((1, 1), (1, 1)) (an all-zero padding is the
                                identity); Keras' int p is {{p, p}, {p, p}} */
    const char *name;      /**< NULL: zero_padding2d, ... */
} gt_zero_padding2d_desc;
/** keras.layers.ZeroPadding2D: zeros around the rows and columns of [N, H, W, C]. */
gt_layer *gt_zero_padding2d(const gt_zero_padding2d_desc *desc);

/** Cropping2D options; {0} (or NULL) = Keras' default ((0, 0), (0, 0)) (no cropping). */
typedef struct gt_cropping2d_desc {
    int64_t cropping[2][2]; /**< ((top, bottom), (left, right)), each >= 0 */
    const char *name;       /**< NULL: cropping2d, ... */
} gt_cropping2d_desc;
/** keras.layers.Cropping2D: removes rows and columns at the edges of [N, H, W, C]. Cropping
 *  a whole axis (top + bottom >= H or left + right >= W) is Keras' error. */
gt_layer *gt_cropping2d(const gt_cropping2d_desc *desc);

/** UpSampling2D options; {0} (or NULL) = Keras defaults. */
typedef struct gt_up_sampling2d_desc {
    int64_t size[2];  /**< (rows, cols), > 0; {s} means s x s, {0, 0} the default (2, 2) */
    const char *name; /**< NULL: up_sampling2d, ... */
} gt_up_sampling2d_desc;
/** keras.layers.UpSampling2D with interpolation="nearest" (the only one): each pixel of
 *  [N, H, W, C] repeated size[0] x size[1] times -> [N, H*size[0], W*size[1], C]. */
gt_layer *gt_up_sampling2d(const gt_up_sampling2d_desc *desc);

/* ---- end of the sequence and reshaping layers -------------------------------------------- */

/* ============================================================================================
 * Recurrent layers (keras.layers.SimpleRNN, LSTM, GRU). Inputs are batch-major and
 * channels-last, [batch, timesteps, features]; the output is the last step's [batch, units]
 * or, with return_sequences, every step's [batch, timesteps, units]. The initial state is
 * zeros.
 *
 *     gt_model *m = gt_sequential(NULL);
 *     gt_sequential_add(m, gt_lstm(&(gt_rnn_desc){ .units = 32 }));   // layers.LSTM(32)
 *     gt_sequential_add(m, gt_dense(&(gt_dense_desc){ .units = 1 }));
 *
 * As in Keras 3 the weights belong to a cell sublayer (simple_rnn_cell, lstm_cell, gru_cell),
 * so their paths are "sequential/lstm/lstm_cell/kernel", ".../recurrent_kernel", ".../bias".
 * The input is multiplied by the kernel once for the whole sequence; each step costs one
 * product with the recurrent kernel (two for GRU without reset_after, as in Keras).
 * ========================================================================================== */

/** For the activation fields of gt_rnn_desc, whose {0} is tanh / sigmoid: the identity
 *  (Keras' activation=None). Other descriptors reject it. */
#define GT_ACT_NONE ((gt_activation)-1)

/** SimpleRNN / LSTM / GRU options; {0} = Keras 3 defaults except units, which must be > 0.
 *  Options a layer does not have (recurrent_activation on SimpleRNN, no_reset_after on LSTM,
 *  ...) must stay 0 (an error otherwise, as Keras' unrecognized arguments). */
typedef struct gt_rnn_desc {
    int64_t units;                        /**< > 0 */
    gt_activation activation;             /**< default tanh; GT_ACT_NONE for linear */
    gt_activation recurrent_activation;   /**< LSTM, GRU: default sigmoid; GT_ACT_NONE for
                                               linear */
    bool no_bias;                         /**< use_bias=False */
    gt_initializer kernel_initializer;    /**< default glorot_uniform */
    gt_initializer recurrent_initializer; /**< default orthogonal */
    gt_initializer bias_initializer;      /**< default zeros */
    bool no_unit_forget_bias; /**< LSTM: unit_forget_bias=False (by default the forget gate's
                                   quarter of the bias starts at 1, whatever bias_initializer) */
    bool no_reset_after;      /**< GRU: reset_after=False (the reset gate multiplies h before
                                   the recurrent product; bias (3*units,) instead of
                                   (2, 3*units)) */
    bool return_sequences;    /**< every step's output [batch, timesteps, units] */
    bool go_backwards;        /**< read the sequence from its end; with return_sequences the
                                   outputs come in that reversed order, as in Keras */
    const char *name;         /**< NULL: simple_rnn, lstm, gru, then _1, _2, ... */
} gt_rnn_desc;

/** keras.layers.SimpleRNN: h_t = activation(x_t kernel + bias + h_{t-1} recurrent_kernel).
 *  Weights kernel (features, units), recurrent_kernel (units, units), bias (units,). */
gt_layer *gt_simple_rnn(const gt_rnn_desc *desc);
/** keras.layers.LSTM, gates in Keras' order i, f, c, o along the last weight axis:
 *  [i f g o] = x_t kernel + h_{t-1} recurrent_kernel + bias, c_t = σ(f) c_{t-1} + σ(i) act(g),
 *  h_t = σ(o) act(c_t), σ the recurrent activation. Weights kernel (features, 4*units),
 *  recurrent_kernel (units, 4*units), bias (4*units,). */
gt_layer *gt_lstm(const gt_rnn_desc *desc);
/** keras.layers.GRU, gates in Keras' order z, r, h. With reset_after (the default):
 *  [xz xr xh] = x_t kernel + bias[0], [hz hr hh] = h_{t-1} recurrent_kernel + bias[1],
 *  z = σ(xz + hz), r = σ(xr + hr), h~ = act(xh + r hh); without it the candidate is
 *  act(xh + (r h_{t-1}) recurrent_kernel[:, 2u:]) and the single bias is added to x_t kernel.
 *  h_t = z h_{t-1} + (1 - z) h~. Weights kernel (features, 3*units), recurrent_kernel
 *  (units, 3*units), bias (2, 3*units) or (3*units,). */
gt_layer *gt_gru(const gt_rnn_desc *desc);

/* ---- end of the recurrent layers --------------------------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif /* GRADTAPE_NN_H */
