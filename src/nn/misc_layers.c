/* keras.layers.Flatten, keras.layers.Dropout and keras.layers.Embedding. */
#include "nn_internal.h"

#include <string.h>

/* ---- Flatten ------------------------------------------------------------------------------ */

static gt_tensor *flatten_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    int rank = gt_tensor_rank(x);
    const int64_t *shape = gt_tensor_shape(x);
    if (!nn_expect_min_ndim(l, 1, rank, shape))
        return NULL;
    int64_t rest = 1; /* spelled out, so a batch of 0 still has a defined width */
    for (int i = 1; i < rank; i++)
        rest *= shape[i];
    return gt_reshape(x, GT_SHAPE(shape[0], rest));
}

static const gt_layer_vtable flatten_vt = {"Flatten", NULL, flatten_call, NULL};

gt_layer *gt_flatten(const char *name) {
    return gt_layer_new(&flatten_vt, sizeof(gt_layer), name);
}

/* ---- Dropout ------------------------------------------------------------------------------ */

typedef struct dropout {
    gt_layer base;
    double rate;
    gt_rng rng; /* the layer's own stream (Keras' SeedGenerator) */
} dropout;

static gt_tensor *dropout_call(gt_layer *l, const gt_tensor *x, bool training) {
    dropout *d = (dropout *)l;
    if (!training || d->rate == 0)
        return (gt_tensor *)x;
    gt_dtype dt = gt_tensor_dtype(x);
    if (!gt_dtype_is_float(dt)) {
        nn_error("Dropout '%s': the input must be float32 or float64 (it is scaled), got %s",
                 l->name, gt_dtype_name(dt));
        return NULL;
    }
    if (d->rate == 1)
        return gt_zeros_like(x); /* Keras' TF backend: tf.zeros_like (no gradient) */
    /* TF's dropout: keep where u >= rate, u ~ U[0, 1) in x's dtype; kept values times
     * 1 / (1 - rate). The mask is data, not a function of x: dy flows as dy * scale * keep. */
    gt_tensor *u = gt_random_uniform(gt_tensor_rank(x), gt_tensor_shape(x), 0, 1, dt, &d->rng);
    gt_tensor *keep = gt_greater_equal(u, gt_scalar_of(dt, d->rate));
    return gt_where(keep, gt_mul_s(x, 1.0 / (1.0 - d->rate)), gt_scalar_of(dt, 0));
}

static const gt_layer_vtable dropout_vt = {"Dropout", NULL, dropout_call, NULL};

gt_layer *gt_dropout(const gt_dropout_desc *desc) {
    double rate = desc ? desc->rate : 0;
    if (!(rate >= 0 && rate <= 1)) {
        nn_error("Dropout: Invalid value received for argument `rate`. Expected a float value "
                 "between 0 and 1. Received: rate=%g",
                 rate);
        return NULL;
    }
    uint64_t seed = desc ? desc->seed : 0;
    if (seed == 0) { /* Keras' SeedGenerator(None): a seed from the global state */
        gt_scope_begin();
        gt_tensor *s = gt_random_uniform(GT_SHAPE(1), 1, 9007199254740992.0, GT_I64, NULL);
        seed = s ? (uint64_t)gt_tensor_get(s, 0) : 1;
        gt_scope_end();
    }
    dropout *d = (dropout *)gt_layer_new(&dropout_vt, sizeof(dropout), desc ? desc->name : NULL);
    if (!d)
        return NULL;
    d->rate = rate;
    d->rng = gt_rng_new(seed);
    return &d->base;
}

/* ---- Embedding ---------------------------------------------------------------------------- */

typedef struct embedding {
    gt_layer base;
    int64_t input_dim, output_dim;
    gt_initializer init;
    gt_tensor *embeddings;
} embedding;

static bool embedding_build(gt_layer *l, int rank, const int64_t *shape) {
    (void)rank;
    (void)shape;
    embedding *e = (embedding *)l;
    e->embeddings = gt_layer_add_weight(l, "embeddings", GT_SHAPE(e->input_dim, e->output_dim),
                                        &e->init, true);
    return e->embeddings != NULL;
}

static gt_tensor *embedding_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    embedding *e = (embedding *)l;
    gt_dtype dt = gt_tensor_dtype(x);
    if (dt != GT_I32 && dt != GT_I64)
        x = gt_cast(x, GT_I32); /* Keras: non-integer ids are cast to int32 (truncation) */
    return gt_gather(e->embeddings, x, 0);
}

static const gt_layer_vtable embedding_vt = {"Embedding", embedding_build, embedding_call, NULL};

/* For gt_layer_call: Embedding takes its ids as they are and keeps the dtype it was made
 * with (Keras casts only float inputs, and a layer's dtype is its own, not its input's). */
bool nn_layer_keeps_int_inputs(const gt_layer *l) {
    return l->vt == &embedding_vt;
}

gt_layer *gt_embedding(const gt_embedding_desc *desc) {
    if (!desc || desc->input_dim <= 0) {
        nn_error("Embedding: `input_dim` must be a positive integer. Received: input_dim=%lld",
                 desc ? (long long)desc->input_dim : 0LL);
        return NULL;
    }
    if (desc->output_dim <= 0) {
        nn_error("Embedding: `output_dim` must be a positive integer. Received: output_dim=%lld",
                 (long long)desc->output_dim);
        return NULL;
    }
    if (desc->dtype != GT_F32 && desc->dtype != GT_F64) {
        nn_error("Embedding: dtype must be float32 or float64, got %s", gt_dtype_name(desc->dtype));
        return NULL;
    }
    embedding *e = (embedding *)gt_layer_new(&embedding_vt, sizeof(embedding), desc->name);
    if (!e)
        return NULL;
    e->base.dtype = desc->dtype;
    e->input_dim = desc->input_dim;
    e->output_dim = desc->output_dim;
    e->init = desc->embeddings_initializer;
    if (e->init.kind == GT_INIT_DEFAULT)
        e->init.kind = GT_INIT_RANDOM_UNIFORM; /* uniform(-0.05, 0.05) */
    return &e->base;
}
