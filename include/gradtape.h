/*
 * gradtape — TensorFlow's eager automatic differentiation and Keras training, in C11.
 *
 * The seed program, line for line:
 *
 *     gt_tensor *x = gt_variable(gt_scalar(3.0), "x");   // x = tf.Variable(3.0)
 *     gt_tape *tape = gt_tape_begin(NULL);                // with tf.GradientTape() as tape:
 *     gt_tensor *y = gt_pow_s(x, 2.0);                    //     y = x ** 2
 *     gt_tape_end(tape);
 *     gt_tensor *g = gt_gradient(tape, y, x);             // tape.gradient(y, x)
 *     printf("%.1f\n", gt_item(g));                       // 6.0
 *     gt_tape_free(tape);
 *     gt_variable_free(x);
 *
 * Conventions that hold for the whole API:
 *
 *  - Tensors are immutable, dense, row-major, of rank 0..GT_MAX_RANK and dtype f32, f64, i32,
 *    i64 or bool. Variables (gt_variable) are the only mutable values; they are gt_tensor
 *    handles too and can be passed to every op.
 *  - Ownership: every tensor an op returns belongs to the innermost open scope of the calling
 *    thread (there is always a root scope). gt_scope_end() releases what was made since the
 *    matching gt_scope_begin(), except what gt_keep() moved out. gt_retain()/gt_release()
 *    manage long-lived tensors by hand. Variables and tapes are objects with a _free.
 *  - Errors are values: a failing function returns NULL (or false) and sets a thread-local
 *    message (gt_error()) that names the function, the shapes and the fix. A function given a
 *    NULL tensor returns NULL without overwriting the first error, so a whole step can be
 *    checked once at its end.
 *  - Shapes and axes are passed as (count, array) pairs; GT_SHAPE(...) and GT_AXES(...) build
 *    them inline, GT_ALL means "every axis":
 *        gt_zeros(GT_F32, GT_SHAPE(32, 10));  gt_reduce_sum(x, GT_AXES(0), false);
 *  - Gradient rules follow TensorFlow's exactly (relu'(0) = 0, maximum ties go to the first
 *    argument, reduce_max ties share equally, ...); docs/ops.md lists them.
 *  - Threads: kernels run on gradtape's own thread pool (gt_set_num_threads, GT_NUM_THREADS);
 *    results are bitwise identical whatever the thread count.
 */
#ifndef GRADTAPE_H
#define GRADTAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GT_VERSION_MAJOR 0
#define GT_VERSION_MINOR 1
#define GT_VERSION_PATCH 0

/** Highest tensor rank. */
#define GT_MAX_RANK 8

/** Expands to `count, (const int64_t[]){dims}` for functions taking a shape. */
#define GT_SHAPE(...)                                                                        \
    (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}
/** Expands to `count, (const int[]){axes}` for functions taking a set of axes. */
#define GT_AXES(...)                                                                         \
    (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)), (const int[]){__VA_ARGS__}
/** Every axis, for reductions: `gt_reduce_sum(x, GT_ALL, false)`. */
#define GT_ALL 0, NULL

/* ============================================================================================
 * Types
 * ========================================================================================== */

/** Element types. Only floating dtypes carry gradients. */
typedef enum gt_dtype { GT_F32, GT_F64, GT_I32, GT_I64, GT_BOOL } gt_dtype;

/** A tensor or a variable. Opaque; inspect it with the gt_tensor_* functions. */
typedef struct gt_tensor gt_tensor;

/** A gradient tape (tf.GradientTape). */
typedef struct gt_tape gt_tape;

/** Name of a dtype as TensorFlow spells it: "float32", "float64", "int32", "int64", "bool". */
const char *gt_dtype_name(gt_dtype dtype);
/** Bytes per element of a dtype (bool is one byte). */
size_t gt_dtype_size(gt_dtype dtype);
/** True for f32 and f64, the dtypes a tape differentiates. */
bool gt_dtype_is_float(gt_dtype dtype);

/* ============================================================================================
 * Errors and warnings
 * ========================================================================================== */

/** The calling thread's current error message, or NULL when there is none. */
const char *gt_error(void);
/** Clears the calling thread's error. */
void gt_error_clear(void);
/** True when the calling thread has no pending error. */
bool gt_ok(void);

/** Records an error for the calling thread (printf-style), as the library's own functions do,
 *  unless one is already pending: for layers, losses and other code written on the API. */
void gt_set_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/** Called with every new error message (for instance to abort at the first error while
 *  debugging: pass gt_abort_on_error). NULL restores the default (record only). */
typedef void (*gt_error_handler)(const char *message, void *user);
/** Installs a process-wide error handler. */
void gt_set_error_handler(gt_error_handler handler, void *user);
/** An error handler that prints the message to stderr and aborts. */
void gt_abort_on_error(const char *message, void *user);

/** Called with every warning (Keras' warnings: a softmax output given to a from_logits loss,
 *  NULL gradients skipped by an optimizer, ...). The default prints "WARNING: <msg>" to stderr. */
typedef void (*gt_warning_handler)(const char *message, void *user);
/** Installs a process-wide warning handler; NULL restores the default. */
void gt_set_warning_handler(gt_warning_handler handler, void *user);
/** Emits a warning through the current handler (printf-style). */
void gt_warn(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ============================================================================================
 * Scopes, reference counts and memory
 * ========================================================================================== */

/** Opens a scope on the calling thread: tensors made until the matching gt_scope_end() belong
 *  to it. A training step is typically one scope. */
void gt_scope_begin(void);
/** Releases every tensor made since the matching gt_scope_begin() except those kept. Ending
 *  the root scope is an error (reported, ignored). */
void gt_scope_end(void);
/** Moves t to the enclosing scope so it outlives the current one; returns t. */
gt_tensor *gt_keep(gt_tensor *t);
/** Adds a reference the caller owns (release it with gt_release); returns t. */
gt_tensor *gt_retain(gt_tensor *t);
/** Drops a reference taken with gt_retain. NULL is ignored. */
void gt_release(gt_tensor *t);

/** Counters of the tensor-buffer allocator (all threads). */
typedef struct gt_mem_stats {
    uint64_t mallocs;      /**< buffers obtained from the system allocator */
    uint64_t frees;        /**< buffers returned to the system allocator */
    uint64_t cache_hits;   /**< buffer requests served from the size-class cache */
    int64_t bytes_live;    /**< bytes in buffers currently held by tensors */
    int64_t bytes_peak;    /**< high-water mark of bytes_live since start or reset (exact when
                                one thread makes the tensors, as programs usually do) */
    int64_t bytes_cached;  /**< bytes parked in the cache, ready for reuse */
    uint64_t lib_mallocs;  /**< every system allocation the library made (buffers, tapes, ...) */
} gt_mem_stats;
/** Reads the allocator's counters. */
gt_mem_stats gt_mem_stats_get(void);
/** Sets bytes_peak to bytes_live. */
void gt_mem_reset_peak(void);
/** Returns every cached buffer to the system. */
void gt_mem_trim(void);

/** Sets the number of threads kernels use, the caller included; n <= 0 means every CPU the
 *  process may run on. The default is GT_NUM_THREADS, else OMP_NUM_THREADS, else every CPU.
 *  Results are bitwise the same for any count. */
void gt_set_num_threads(int n);
/** The number of threads kernels use. */
int gt_get_num_threads(void);

/* ============================================================================================
 * Profiler: where the time goes
 *
 *     gt_profiler_start();
 *     gt_model_fit(...);                 // or any loop of ops, tapes and optimizer steps
 *     gt_profiler_stop();
 *     gt_profiler_write(stderr);
 *
 * One row per op name and phase ("forward", or "gradient" for ops a gradient computation
 * applies), plus "other" rows for work that is not an op: optimizer updates (apply_updates),
 * a variable's copy-on-write before an in-place update, and dataset batches. An op's time is
 * its whole cost: variable reads, shape rule, allocation, kernel and tape recording. Rows from
 * several threads add up, so with concurrent callers they can exceed the wall time. When the
 * profiler is off it costs one relaxed atomic load per op; when on, each row update takes a
 * lock, so profile to find where the time goes, not while timing.
 * ========================================================================================== */

/** Starts (or restarts, clearing the table) collecting per-op wall time, for every thread. */
void gt_profiler_start(void);
/** Stops collecting; the table and the profiled wall time are kept for gt_profiler_write. */
void gt_profiler_stop(void);
/** Writes the table to f, rows by decreasing total time: op or region, phase, calls, total
 *  milliseconds, mean microseconds and share of the wall time since gt_profiler_start (up to
 *  gt_profiler_stop, or now while running), then the rows' sum and that wall time. False with
 *  an error when f is NULL, the profiler was never started, or writing fails. */
bool gt_profiler_write(FILE *f);

/* ============================================================================================
 * Creating and inspecting tensors
 * ========================================================================================== */

/** A tensor of the given dtype and shape whose elements are copied from data (row-major, of
 *  the dtype's C type: float, double, int32_t, int64_t, bool). data == NULL gives zeros. */
gt_tensor *gt_tensor_new(gt_dtype dtype, int rank, const int64_t *shape, const void *data);
/** A float32 scalar (tf.constant(3.0)). */
gt_tensor *gt_scalar(double value);
/** A scalar of any dtype. */
gt_tensor *gt_scalar_of(gt_dtype dtype, double value);
/** Zeros / ones / a constant of the given shape. */
gt_tensor *gt_zeros(gt_dtype dtype, int rank, const int64_t *shape);
gt_tensor *gt_ones(gt_dtype dtype, int rank, const int64_t *shape);
gt_tensor *gt_fill(gt_dtype dtype, int rank, const int64_t *shape, double value);
/** Zeros / ones with t's shape and dtype. */
gt_tensor *gt_zeros_like(const gt_tensor *t);
gt_tensor *gt_ones_like(const gt_tensor *t);
/** tf.range(start, limit, delta): a 1-D tensor; delta must not be 0. */
gt_tensor *gt_range(double start, double limit, double delta, gt_dtype dtype);
/** An n x n identity matrix. */
gt_tensor *gt_eye(int64_t n, gt_dtype dtype);

/** dtype / rank / shape / one dimension (negative axes count from the end) / element count. */
gt_dtype gt_tensor_dtype(const gt_tensor *t);
int gt_tensor_rank(const gt_tensor *t);
const int64_t *gt_tensor_shape(const gt_tensor *t);
int64_t gt_tensor_dim(const gt_tensor *t, int axis);
int64_t gt_tensor_size(const gt_tensor *t);
/** Read-only pointer to the elements (row-major, the dtype's C type). */
const void *gt_tensor_data(const gt_tensor *t);
/** Copies the elements, converted to float / double, into out (which holds size elements). */
bool gt_tensor_to_f32(const gt_tensor *t, float *out, int64_t size);
bool gt_tensor_to_f64(const gt_tensor *t, double *out, int64_t size);
/** The value of a one-element tensor as a double (tensor.numpy() on a scalar); NaN and an
 *  error for NULL or a tensor with more than one element. */
double gt_item(const gt_tensor *t);
/** Element i (flat, row-major) as a double. */
double gt_tensor_get(const gt_tensor *t, int64_t i);
/** True when a and b have the same dtype, shape and bitwise the same elements. */
bool gt_tensor_equal(const gt_tensor *a, const gt_tensor *b);

/** Attaches logits to out, the output of a softmax or sigmoid activation (Keras'
 *  `_keras_logits`): a cross-entropy loss given exactly this tensor then computes from the
 *  logits, as Keras does. out keeps a reference to logits. Returns false on error. */
bool gt_tensor_attach_logits(gt_tensor *out, const gt_tensor *logits);
/** The logits attached to t, or NULL. */
gt_tensor *gt_tensor_logits(const gt_tensor *t);

/** Writes t as NumPy prints it (`6.0`, `[1. 2.5]`, `[[1 2]\n [3 4]]`) into buf (always
 *  NUL-terminated when n > 0); returns the length the full text needs, like snprintf. */
int gt_tensor_format(const gt_tensor *t, char *buf, size_t n);
/** Prints t as NumPy does, followed by a newline. */
void gt_print(const gt_tensor *t);
/** Prints t as NumPy does to f, without a newline. */
void gt_fprint(FILE *f, const gt_tensor *t);

/* ============================================================================================
 * Random numbers: Philox-4x32-10, counter based, so streams do not depend on thread count.
 * ========================================================================================== */

/** A random generator: a key (the seed) and a counter. Copyable; two copies give the same
 *  stream. Zero-initialise with gt_rng_new(seed). */
typedef struct gt_rng {
    uint64_t key;
    uint64_t counter;
} gt_rng;
/** A generator seeded with seed. */
gt_rng gt_rng_new(uint64_t seed);
/** Reseeds the calling thread's global generator (tf.random.set_seed). */
void gt_set_seed(uint64_t seed);
/** The calling thread's global generator, used when an rng argument is NULL. */
gt_rng *gt_global_rng(void);

/** Normal samples N(mean, stddev^2) (tf.random.normal). rng NULL uses the global generator. */
gt_tensor *gt_random_normal(int rank, const int64_t *shape, double mean, double stddev,
                            gt_dtype dtype, gt_rng *rng);
/** Uniform samples in [minval, maxval) (tf.random.uniform); integer dtypes draw integers in
 *  [minval, maxval) and require maxval > minval. */
gt_tensor *gt_random_uniform(int rank, const int64_t *shape, double minval, double maxval,
                             gt_dtype dtype, gt_rng *rng);
/** Normal samples redrawn until within two standard deviations (tf.random.truncated_normal). */
gt_tensor *gt_truncated_normal(int rank, const int64_t *shape, double mean, double stddev,
                               gt_dtype dtype, gt_rng *rng);

/* ============================================================================================
 * Elementwise binary ops, with TensorFlow broadcasting. Both operands must have one dtype.
 * The _s forms take a C scalar converted to the tensor's dtype.
 * ========================================================================================== */

gt_tensor *gt_add(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_sub(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_mul(const gt_tensor *a, const gt_tensor *b);
/** Real division (integer dtypes divide with truncation toward zero, division by 0 gives 0). */
gt_tensor *gt_div(const gt_tensor *a, const gt_tensor *b);
/** a ** b; gradient w.r.t. b uses log(a), taken as 0 where a <= 0 (TensorFlow's rule). */
gt_tensor *gt_pow(const gt_tensor *a, const gt_tensor *b);
/** Elementwise max / min; on ties the gradient goes to the first argument. */
gt_tensor *gt_maximum(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_minimum(const gt_tensor *a, const gt_tensor *b);
/** (a - b)^2. */
gt_tensor *gt_squared_difference(const gt_tensor *a, const gt_tensor *b);

gt_tensor *gt_add_s(const gt_tensor *a, double s);
gt_tensor *gt_sub_s(const gt_tensor *a, double s);
/** s - a. */
gt_tensor *gt_rsub_s(double s, const gt_tensor *a);
gt_tensor *gt_mul_s(const gt_tensor *a, double s);
gt_tensor *gt_div_s(const gt_tensor *a, double s);
/** s / a. */
gt_tensor *gt_rdiv_s(double s, const gt_tensor *a);
gt_tensor *gt_pow_s(const gt_tensor *a, double s);
gt_tensor *gt_maximum_s(const gt_tensor *a, double s);
gt_tensor *gt_minimum_s(const gt_tensor *a, double s);

/* ============================================================================================
 * Elementwise unary ops (floating dtypes unless noted)
 * ========================================================================================== */

gt_tensor *gt_neg(const gt_tensor *x);    /**< any numeric dtype */
gt_tensor *gt_abs(const gt_tensor *x);    /**< any numeric dtype; gradient sign(x), 0 at 0 */
gt_tensor *gt_sign(const gt_tensor *x);   /**< any numeric dtype; gradient zeros */
gt_tensor *gt_square(const gt_tensor *x); /**< any numeric dtype */
gt_tensor *gt_sqrt(const gt_tensor *x);
gt_tensor *gt_rsqrt(const gt_tensor *x);
gt_tensor *gt_exp(const gt_tensor *x);
gt_tensor *gt_log(const gt_tensor *x);
gt_tensor *gt_log1p(const gt_tensor *x);
gt_tensor *gt_expm1(const gt_tensor *x);
gt_tensor *gt_sin(const gt_tensor *x);
gt_tensor *gt_cos(const gt_tensor *x);
gt_tensor *gt_tanh(const gt_tensor *x);
gt_tensor *gt_sigmoid(const gt_tensor *x);
gt_tensor *gt_relu(const gt_tensor *x);
gt_tensor *gt_relu6(const gt_tensor *x);
/** x if x > 0 else alpha * x (tf.nn.leaky_relu default alpha 0.2). */
gt_tensor *gt_leaky_relu(const gt_tensor *x, double alpha);
/** x if x > 0 else alpha * (exp(x) - 1). */
gt_tensor *gt_elu(const gt_tensor *x, double alpha);
gt_tensor *gt_selu(const gt_tensor *x);
/** 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation when approximate is true. */
gt_tensor *gt_gelu(const gt_tensor *x, bool approximate);
gt_tensor *gt_softplus(const gt_tensor *x);
/** x * sigmoid(x) (swish). */
gt_tensor *gt_silu(const gt_tensor *x);
/** x / (1 + |x|). */
gt_tensor *gt_softsign(const gt_tensor *x);

/* ============================================================================================
 * Reductions: over a set of axes (negative axes count from the end; GT_ALL is every axis)
 * ========================================================================================== */

gt_tensor *gt_reduce_sum(const gt_tensor *x, int naxes, const int *axes, bool keepdims);
gt_tensor *gt_reduce_mean(const gt_tensor *x, int naxes, const int *axes, bool keepdims);
/** Max / min; the gradient is shared equally between tied maxima (TensorFlow's rule). */
gt_tensor *gt_reduce_max(const gt_tensor *x, int naxes, const int *axes, bool keepdims);
gt_tensor *gt_reduce_min(const gt_tensor *x, int naxes, const int *axes, bool keepdims);
gt_tensor *gt_reduce_prod(const gt_tensor *x, int naxes, const int *axes, bool keepdims);
gt_tensor *gt_reduce_logsumexp(const gt_tensor *x, int naxes, const int *axes, bool keepdims);
/** Index of the first max / min along axis, as i32 or i64 (not differentiable). */
gt_tensor *gt_argmax(const gt_tensor *x, int axis, gt_dtype index_dtype);
gt_tensor *gt_argmin(const gt_tensor *x, int axis, gt_dtype index_dtype);

/* ============================================================================================
 * Linear algebra
 * ========================================================================================== */

/** Matrix product of the last two axes, optionally transposing either operand; leading
 *  (batch) axes broadcast. Both operands need rank >= 2. */
gt_tensor *gt_matmul(const gt_tensor *a, const gt_tensor *b, bool transpose_a, bool transpose_b);
/** relu(x w + bias), or x w + bias with relu false, in one op: TensorFlow's _FusedMatMul (what
 *  its graph optimizer makes of MatMul, BiasAdd and Relu, and what the Dense layer uses). x:
 *  [m, k], w: [k, n], bias: [n], one float dtype. The bias and relu run on the product while
 *  it is in cache; the result equals gt_relu(gt_add(gt_matmul(x, w, false, false), bias))
 *  bitwise, and so do its gradients (ReluGrad, the bias' sum, matmul's two products), to any
 *  order. */
gt_tensor *gt_matmul_bias_act(const gt_tensor *x, const gt_tensor *w, const gt_tensor *bias,
                              bool relu);

/* ============================================================================================
 * Shape ops
 * ========================================================================================== */

/** Same elements, new shape; one dimension may be -1 (inferred). Costs no copy. */
gt_tensor *gt_reshape(const gt_tensor *x, int rank, const int64_t *shape);
/** Permutes axes: output axis i is input axis perm[i]. perm NULL reverses the axes. */
gt_tensor *gt_transpose(const gt_tensor *x, const int *perm);
/** Inserts a size-1 axis at position axis (-1 appends). */
gt_tensor *gt_expand_dims(const gt_tensor *x, int axis);
/** Removes the given size-1 axes (GT_ALL: every size-1 axis). */
gt_tensor *gt_squeeze(const gt_tensor *x, int naxes, const int *axes);
/** Joins n tensors along an existing axis. */
gt_tensor *gt_concat(int n, const gt_tensor *const *xs, int axis);
/** Joins n tensors of one shape along a new axis. */
gt_tensor *gt_stack(int n, const gt_tensor *const *xs, int axis);
/** Splits x along axis into n parts of the given sizes (NULL: n equal parts; one size may be
 *  -1), written to out[0..n-1]. Returns false on error (out is then all NULL). */
bool gt_split(const gt_tensor *x, int n, const int64_t *sizes, int axis, gt_tensor **out);
/** x[begin : begin + size] per axis; a size of -1 runs to the end. */
gt_tensor *gt_slice(const gt_tensor *x, const int64_t *begin, const int64_t *size);
/** Rows of params along axis picked by integer indices (any shape): the result's shape is
 *  params.shape[:axis] + indices.shape + params.shape[axis+1:]. Out-of-range index: error. */
gt_tensor *gt_gather(const gt_tensor *params, const gt_tensor *indices, int axis);
/** Repeats x multiples[i] times along axis i. */
gt_tensor *gt_tile(const gt_tensor *x, const int64_t *multiples);
/** Pads with a constant: paddings holds (before, after) per axis, 2*rank values. */
gt_tensor *gt_pad(const gt_tensor *x, const int64_t *paddings, double value);
/** Broadcasts x to shape (TensorFlow rules). */
gt_tensor *gt_broadcast_to(const gt_tensor *x, int rank, const int64_t *shape);
/** One-hot encoding along a new last axis (tf.one_hot); out-of-range indices give all off. */
gt_tensor *gt_one_hot(const gt_tensor *indices, int64_t depth, double on_value,
                      double off_value, gt_dtype dtype);

/* ============================================================================================
 * Comparisons, selection, casts
 * ========================================================================================== */

gt_tensor *gt_equal(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_not_equal(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_less(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_less_equal(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_greater(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_greater_equal(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_logical_and(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_logical_or(const gt_tensor *a, const gt_tensor *b);
gt_tensor *gt_logical_not(const gt_tensor *a);
/** cond ? a : b elementwise, with broadcasting of all three (tf.where). */
gt_tensor *gt_where(const gt_tensor *cond, const gt_tensor *a, const gt_tensor *b);
/** Converts dtype; the gradient passes between float dtypes and stops at integers. */
gt_tensor *gt_cast(const gt_tensor *x, gt_dtype dtype);
/** Identity forward; no gradient flows through it. */
gt_tensor *gt_stop_gradient(const gt_tensor *x);
/** Identity (recorded, gradient passes). */
gt_tensor *gt_identity(const gt_tensor *x);
/** maximum(minimum(x, hi), lo); the gradient is 1 at both bounds (TensorFlow's rule). */
gt_tensor *gt_clip_by_value(const gt_tensor *x, double lo, double hi);

/* ============================================================================================
 * Softmax and cross-entropies
 * ========================================================================================== */

gt_tensor *gt_softmax(const gt_tensor *x, int axis);
gt_tensor *gt_log_softmax(const gt_tensor *x, int axis);
/** Per-row -sum(labels * log_softmax(logits)) over axis (tf.nn.softmax_cross_entropy_with_
 *  logits). Gradient w.r.t. logits is dloss*(softmax - labels), w.r.t. labels
 *  -dloss*log_softmax, as TensorFlow's fused kernel gives. */
gt_tensor *gt_softmax_cross_entropy_with_logits(const gt_tensor *labels, const gt_tensor *logits,
                                                int axis);
/** Per-row cross-entropy with integer class labels (shape = logits' shape without the last
 *  axis); a label outside [0, classes) is an error. */
gt_tensor *gt_sparse_softmax_cross_entropy_with_logits(const gt_tensor *labels,
                                                       const gt_tensor *logits);
/** max(x,0) - x*z + log1p(exp(-|x|)), elementwise (tf.nn.sigmoid_cross_entropy_with_logits). */
gt_tensor *gt_sigmoid_cross_entropy_with_logits(const gt_tensor *labels,
                                                const gt_tensor *logits);

/* ============================================================================================
 * Variables (tf.Variable)
 * ========================================================================================== */

/** A trainable variable holding a copy of initial's value (no data copy until one side
 *  changes). The handle is a gt_tensor accepted by every op; reading it under a tape that
 *  watches accessed variables watches it. Not owned by any scope: free it with
 *  gt_variable_free. */
gt_tensor *gt_variable(const gt_tensor *initial, const char *name);
/** Like gt_variable with an explicit trainable flag. */
gt_tensor *gt_variable_ex(const gt_tensor *initial, const char *name, bool trainable);
/** Frees a variable. NULL is ignored. */
void gt_variable_free(gt_tensor *v);
/** True when t is a variable handle. */
bool gt_is_variable(const gt_tensor *t);
/** The variable's name ("kernel") and path ("simple_model/dense/kernel"; equal to the name
 *  until set). */
const char *gt_variable_name(const gt_tensor *v);
const char *gt_variable_path(const gt_tensor *v);
/** Sets the path (Keras sets model/layer/weight paths). */
bool gt_variable_set_path(gt_tensor *v, const char *path);
bool gt_variable_trainable(const gt_tensor *v);
void gt_variable_set_trainable(gt_tensor *v, bool trainable);
/** The current value as an ordinary tensor (a snapshot owned by the current scope; later
 *  assignments do not change it). Recorded as a read on tapes, like any use of v. */
gt_tensor *gt_variable_value(const gt_tensor *v);
/** v = value / v += value / v -= value. The value must have v's dtype and shape (or be a
 *  scalar for assign_add/sub). Not differentiable: tapes see the old value in every op that
 *  read it before (copy-on-write). */
bool gt_variable_assign(gt_tensor *v, const gt_tensor *value);
bool gt_variable_assign_add(gt_tensor *v, const gt_tensor *value);
bool gt_variable_assign_sub(gt_tensor *v, const gt_tensor *value);
/** Writable pointer to a float32 variable's elements for in-place updates by optimizers and
 *  loaders; copies first when a tape or tensor still shares the old value. NULL (and an
 *  error) for a non-f32 variable. The pointer is valid until the next assignment. */
float *gt_variable_data_f32(gt_tensor *v);
/** As gt_variable_data_f32 for any dtype. */
void *gt_variable_data(gt_tensor *v);
/** A writable buffer for v's next value when the update reads the current value anyway (an
 *  optimizer step): no copy is made. *current is set to the current value's elements, which
 *  stay readable as long as what shares them does (at least to the end of the scope that read
 *  v). When nothing shares the value the two are the same buffer, updated in place; otherwise
 *  the returned buffer is new and its contents are unspecified until written, so write every
 *  element (gt_update with w_src = *current does). NULL (and an error) on a non-variable or
 *  when memory runs out; v is then unchanged. */
void *gt_variable_data_overwrite(gt_tensor *v, const void **current);

/** The update rules of the fused optimizer kernel (the counterparts of TensorFlow's raw
 *  ApplyGradientDescent, ApplyAdam, ApplyRMSProp and ApplyAdagrad ops, and of Keras 3's
 *  Adamax, Nadam and Lion, in Keras 3's order of operations). c1..c7 and eps per rule:
 *  - GT_UPDATE_SGD: c1 = momentum. No m: w -= g*lr. With m: m = m*c1 - g*lr, then
 *    w += m, or with nesterov w += m*c1 - g*lr.
 *  - GT_UPDATE_ADAM: c1 = 1 - beta_1, c2 = 1 - beta_2, c3 = the step's alpha
 *    (lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)): m += (g - m)*c1, v += (g*g - v)*c2,
 *    with vh (AMSGrad) vh = max(vh, v), then w -= m*c3 / (sqrt(vh or v) + eps).
 *  - GT_UPDATE_RMSPROP: c1 = rho, c2 = 1 - rho, c3 = momentum: v = c1*v + c2*g*g; with vh
 *    (centered) vh = c1*vh + c2*g and den = v - vh*vh + eps, else den = v + eps;
 *    inc = lr*g / sqrt(den); with m: m = c3*m + inc, w -= m; else w -= inc.
 *  - GT_UPDATE_ADAGRAD: v += g*g, w -= lr*g / sqrt(v + eps).
 *  - GT_UPDATE_ADAMAX: c1 = 1 - beta_1, c2 = beta_2, c3 = 1 - beta_1^t; v is the infinity
 *    norm u: m += (g - m)*c1, u = max(c2*u, |g|), w -= lr*m / (c3*(u + eps)).
 *  - GT_UPDATE_NADAM: c1 = 1 - beta_1, c2 = 1 - beta_2, c3 = u_{t+1}, c4 = 1 - prod_{t+1},
 *    c5 = 1 - u_t, c6 = 1 - prod_t, c7 = 1 - beta_2^t (u_t the momentum schedule and prod_t
 *    its running product): m += (g - m)*c1, v += (g*g - v)*c2,
 *    mh = c3*m/c4 + c5*g/c6, w -= mh*lr / (sqrt(v/c7) + eps).
 *  - GT_UPDATE_LION: c1 = beta_1, c2 = 1 - beta_1, c3 = beta_2, c4 = 1 - beta_2:
 *    w -= lr*sign(m*c1 + g*c2), then m = m*c3 + g*c4. */
typedef enum gt_update_rule {
    GT_UPDATE_SGD,
    GT_UPDATE_ADAM,
    GT_UPDATE_RMSPROP,
    GT_UPDATE_ADAGRAD,
    GT_UPDATE_ADAMAX,
    GT_UPDATE_NADAM,
    GT_UPDATE_LION
} gt_update_rule;

/** One variable's update: raw buffers of n elements of dtype (GT_F32 or GT_F64), the
 *  variable's (from gt_variable_data), its gradient and the rule's slots. Constants are
 *  converted to dtype before use. wd != 0 first applies w -= w*wd*lr (weight decay). With
 *  w_src set, the current value is read from w_src and the new one written to w (from
 *  gt_variable_data_overwrite), the same arithmetic without first copying w_src into w;
 *  NULL (or w itself) updates w in place. */
typedef struct gt_update {
    gt_update_rule rule;
    gt_dtype dtype;
    int64_t n;
    void *w;
    const void *w_src;
    const void *g;
    void *m, *v, *vh; /* NULL where the rule's configuration has no such slot */
    bool nesterov;
    double lr, wd, c1, c2, c3, eps;
    double c4, c5, c6, c7; /* the rules with more constants (Nadam, Lion); 0 otherwise */
} gt_update;

/** Applies n updates, vectorised and split across gt_get_num_threads() threads (each
 *  element's arithmetic is the same for any thread count, so results are bitwise
 *  reproducible). The buffers must not overlap. False (and an error) on an invalid rule or
 *  dtype, a negative size or a NULL buffer the rule needs; nothing is updated then. */
bool gt_apply_updates(const gt_update *u, int n);

/* ============================================================================================
 * Gradient tapes (tf.GradientTape)
 * ========================================================================================== */

/** Tape options; {0} (or NULL) gives TensorFlow's defaults. */
typedef struct gt_tape_desc {
    bool persistent;                   /**< allow several gradient() calls */
    bool dont_watch_accessed_variables; /**< watch_accessed_variables=False */
} gt_tape_desc;

/** What gradient() gives a source that the targets do not depend on. */
typedef enum gt_unconnected {
    GT_UNCONNECTED_NONE, /**< NULL (TensorFlow's default) */
    GT_UNCONNECTED_ZERO  /**< zeros of the source's shape and dtype */
} gt_unconnected;

/** Creates a tape and starts recording on the calling thread (`with tf.GradientTape()`).
 *  Several tapes can record at once. */
gt_tape *gt_tape_begin(const gt_tape_desc *desc);
/** Stops recording (end of the with-block). Error if the tape is not recording. */
bool gt_tape_end(gt_tape *tape);
/** Starts recording again on a tape that was ended (re-entering the with-block). */
bool gt_tape_reenter(gt_tape *tape);
/** Frees the tape (ending it first if it records). NULL is ignored. */
void gt_tape_free(gt_tape *tape);
/** Watches a float tensor or variable (tape.watch); a non-float tensor is watched in name
 *  only and warns, as TensorFlow does. */
bool gt_tape_watch(gt_tape *tape, const gt_tensor *t);
/** Pauses / resumes recording (tape.stop_recording()); ops in between are not recorded. */
bool gt_tape_pause(gt_tape *tape);
bool gt_tape_resume(gt_tape *tape);
/** Discards everything recorded so far and keeps recording (tape.reset()). */
bool gt_tape_reset(gt_tape *tape);
/** True while the tape records (begun or re-entered, not ended, not paused). */
bool gt_tape_is_recording(const gt_tape *tape);
/** Number of ops recorded so far. */
int64_t gt_tape_size(const gt_tape *tape);

/** tape.gradient(targets, sources, output_gradients, unconnected_gradients).
 *  Non-scalar and multiple targets are summed; output_grads (NULL, or one entry per target,
 *  NULL entries meaning ones) weight them instead. Writes one gradient per source to grads
 *  (NULL for a source the targets do not depend on, unless unconnected is ZERO). A
 *  non-persistent tape can be used once. Called while the tape records, a non-persistent
 *  tape stops recording and a persistent tape records the gradient computation itself (how
 *  higher derivatives are taken). Returns false on error. */
bool gt_tape_gradient(gt_tape *tape, int ntargets, const gt_tensor *const *targets,
                      const gt_tensor *const *output_grads, int nsources,
                      const gt_tensor *const *sources, gt_unconnected unconnected,
                      gt_tensor **grads);
/** The common case: d(sum of target)/d source, NULL when unconnected (or on error; check
 *  gt_error()). */
gt_tensor *gt_gradient(gt_tape *tape, const gt_tensor *target, const gt_tensor *source);

/** Why the last gradient() gave NULL for source, in words ("x was never watched: ..."), or
 *  NULL when it was not NULL (or the tape has not computed a gradient). Valid until the next
 *  gradient() call or gt_tape_free. */
const char *gt_tape_explain(const gt_tape *tape, const gt_tensor *source);

/* ============================================================================================
 * Jacobians, custom gradients, recomputation and forward mode
 * ========================================================================================== */

/** tape.jacobian(target, sources): for each source, the Jacobian of target w.r.t. it, of shape
 *  target.shape + source.shape (NULL for an unconnected source, or zeros with
 *  GT_UNCONNECTED_ZERO). With vectorize, blocks of rows go back through the tape in one sweep
 *  (TensorFlow's pfor); without it, one sweep per row. Uses up a non-persistent tape. */
bool gt_tape_jacobian_ex(gt_tape *tape, const gt_tensor *target, int nsources,
                         const gt_tensor *const *sources, gt_unconnected unconnected,
                         bool vectorize, gt_tensor **jacobians);
/** The Jacobian of target w.r.t. one source, vectorised; NULL when unconnected or on error. */
gt_tensor *gt_tape_jacobian(gt_tape *tape, const gt_tensor *target, const gt_tensor *source);
/** tape.batch_jacobian: target [b, y...] and source [b, x...] give [b, y..., x...], assuming
 *  row i of the target depends only on row i of the source (not checked, as in TensorFlow).
 *  An unconnected source gives zeros. */
bool gt_tape_batch_jacobian_ex(gt_tape *tape, const gt_tensor *target, const gt_tensor *source,
                               bool vectorize, gt_tensor **jacobian);
/** The vectorised batch Jacobian; NULL on error. */
gt_tensor *gt_tape_batch_jacobian(gt_tape *tape, const gt_tensor *target,
                                  const gt_tensor *source);

/** A function of tensors, for gt_custom_gradient and gt_recompute_grad: builds its output
 *  from inputs with ops (it may read variables). */
typedef gt_tensor *(*gt_forward_fn)(int nin, const gt_tensor *const *inputs, void *user);
/** The gradient of a custom-gradient function: given dy (the output's shape), write the
 *  gradient of each input to dx[0..nin-1] and of each variable the forward function read to
 *  dvars[0..nvars-1] (in the order it first read them); NULL means no gradient. Return the
 *  number of gradients written (nin + nvars), or -1 after setting an error. Written with ops,
 *  the gradient is itself differentiable (second derivatives work). */
typedef int (*gt_grad_fn)(const gt_tensor *dy, int nin, const gt_tensor *const *inputs,
                          const gt_tensor *output, gt_tensor **dx, int nvars,
                          gt_tensor *const *vars, gt_tensor **dvars, void *user);
/** tf.custom_gradient: runs forward (unrecorded) and records one op whose gradient is grad. */
gt_tensor *gt_custom_gradient(gt_forward_fn forward, gt_grad_fn grad, void *user, int nin,
                              const gt_tensor *const *inputs);
/** tf.recompute_grad: runs f without letting tapes keep its intermediates; the backward pass
 *  runs f again under a fresh tape to get them. Same gradients, less memory. */
gt_tensor *gt_recompute_grad(gt_forward_fn f, void *user, int nin, const gt_tensor *const *inputs);

/** Forward-mode differentiation (tf.autodiff.ForwardAccumulator). */
typedef struct gt_accumulator gt_accumulator;
/** Starts accumulating on the calling thread: every op run until gt_accumulator_end pushes
 *  tangents from the primals through (tangents[i] has primals[i]'s shape and dtype). */
gt_accumulator *gt_accumulator_begin(int n, const gt_tensor *const *primals,
                                     const gt_tensor *const *tangents);
/** Adds a primal with its tangent (acc.watch). */
bool gt_accumulator_watch(gt_accumulator *acc, const gt_tensor *primal, const gt_tensor *tangent);
/** Stops accumulating (the tangents found so far stay available). */
bool gt_accumulator_end(gt_accumulator *acc);
/** The tangent of t (acc.jvp): NULL when t does not depend on the primals (or zeros with
 *  GT_UNCONNECTED_ZERO). */
gt_tensor *gt_accumulator_jvp(gt_accumulator *acc, const gt_tensor *t, gt_unconnected unconnected);
/** Frees the accumulator (ending it first). NULL is ignored. */
void gt_accumulator_free(gt_accumulator *acc);

#ifdef __cplusplus
}
#endif

/* Convolution and pooling ops; Keras on the tape (layers, models, losses, optimizers,
 * metrics); data and checkpoint I/O. */
#include "gradtape_conv.h"
#include "gradtape_nn.h"
#include "gradtape_io.h"

#endif /* GRADTAPE_H */
