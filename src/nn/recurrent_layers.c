/* keras.layers.SimpleRNN, LSTM and GRU.
 *
 * As in Keras 3, each layer owns a cell sublayer (simple_rnn_cell, lstm_cell, gru_cell) that
 * holds the weights, so the variables' paths are Keras' ("lstm/lstm_cell/kernel"). Unlike a
 * Keras cell, the cell is not called step by step from outside: the layer runs the recurrence
 * itself, which lets it multiply the whole input sequence by the kernel in one product,
 * [batch*steps, features] x kernel (+ the input bias), before the loop. Each step then adds
 * one product of the state with the recurrent kernel and applies the gates. Everything is
 * public ops, so the tape differentiates through time to any order. */
#include "nn_internal.h"

#include <limits.h>
#include <stdlib.h>

typedef enum rnn_kind { RNN_SIMPLE, RNN_LSTM, RNN_GRU, RNN_KINDS } rnn_kind;

/* rnn_call keeps its per-step pointers on the stack up to this many steps (2 KiB), on the
 * heap beyond. */
enum { RNN_STACK_STEPS = 128 };

/* Gate blocks along the weights' last axis: SimpleRNN 1; LSTM i, f, c, o; GRU z, r, h. */
static const int64_t kind_gates[RNN_KINDS] = {1, 4, 3};

typedef struct rnn_cell {
    gt_layer base;
    rnn_kind kind;
    int64_t units, in_dim;
    gt_activation activation, recurrent_activation;
    bool use_bias, unit_forget_bias, reset_after;
    gt_initializer kernel_init, recurrent_init, bias_init;
    gt_tensor *kernel, *recurrent_kernel, *bias;
} rnn_cell;

typedef struct rnn {
    gt_layer base;
    rnn_cell *cell; /* tracked: the layer's only child */
    bool return_sequences, go_backwards;
} rnn;

/* ---- the cell: weights only ---------------------------------------------------------------- */

/* LSTM's unit_forget_bias: concat(init(units), ones(units), init(2 * units)), the initializer
 * called on each part as Keras does (a fan-dependent initializer sees the parts' shapes). */
static gt_tensor *lstm_bias(rnn_cell *c) {
    gt_layer *l = &c->base;
    int64_t u = c->units;
    gt_tensor *b = gt_layer_add_weight(l, "bias", GT_SHAPE(4 * u),
                                       &(gt_initializer){.kind = GT_INIT_ZEROS}, true);
    if (!b)
        return NULL;
    gt_scope_begin();
    const gt_tensor *parts[3] = {gt_initializer_make(&c->bias_init, l->dtype, GT_SHAPE(u)),
                                 gt_ones(l->dtype, GT_SHAPE(u)),
                                 gt_initializer_make(&c->bias_init, l->dtype, GT_SHAPE(2 * u))};
    bool ok = parts[0] && parts[2] && gt_variable_assign(b, gt_concat(3, parts, 0));
    gt_scope_end();
    return ok ? b : NULL;
}

/* Built from [batch, features] (Keras builds the cell from one step's shape). */
static bool cell_build(gt_layer *l, int rank, const int64_t *shape) {
    rnn_cell *c = (rnn_cell *)l;
    int64_t g = kind_gates[c->kind] * c->units; /* fits: rnn_new bounds units */
    c->in_dim = shape[rank - 1];
    c->kernel = gt_layer_add_weight(l, "kernel", GT_SHAPE(c->in_dim, g), &c->kernel_init, true);
    if (!c->kernel)
        return false;
    c->recurrent_kernel =
        gt_layer_add_weight(l, "recurrent_kernel", GT_SHAPE(c->units, g), &c->recurrent_init, true);
    if (!c->recurrent_kernel)
        return false;
    if (!c->use_bias)
        return true;
    if (c->kind == RNN_LSTM && c->unit_forget_bias)
        c->bias = lstm_bias(c);
    else if (c->kind == RNN_GRU && c->reset_after) /* rows: input bias, recurrent bias */
        c->bias = gt_layer_add_weight(l, "bias", GT_SHAPE(2, g), &c->bias_init, true);
    else
        c->bias = gt_layer_add_weight(l, "bias", GT_SHAPE(g), &c->bias_init, true);
    return c->bias != NULL;
}

static gt_tensor *cell_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)x;
    (void)training;
    nn_error("%s '%s': a cell runs inside its recurrent layer; call the layer instead",
             gt_layer_class_name(l), l->name);
    return NULL;
}

/* ---- one step of each cell ----------------------------------------------------------------- */

/* The weights as the recurrence reads them, sliced once per call (on the tape). */
typedef struct cell_weights {
    const gt_tensor *input_bias;     /* added to the input projection: bias, or GRU's bias[0] */
    const gt_tensor *recurrent;      /* recurrent_kernel, or its z/r columns (GRU reset before) */
    const gt_tensor *recurrent_h;    /* GRU reset before: the candidate's columns */
    const gt_tensor *recurrent_bias; /* GRU reset_after: bias[1] */
} cell_weights;

/* xt is the step's input projection x_t kernel (+ input bias), [batch, gates * units]; h is
 * the previous output and *carry LSTM's previous carry (replaced by the new one). Each
 * returns the new output (NULL on error). */
static gt_tensor *simple_step(const rnn_cell *c, const cell_weights *w, const gt_tensor *xt,
                              const gt_tensor *h) {
    return gt_activation_apply(c->activation,
                               gt_add(xt, gt_matmul(h, w->recurrent, false, false)));
}

static gt_tensor *lstm_step(const rnn_cell *c, const cell_weights *w, const gt_tensor *xt,
                            const gt_tensor *h, gt_tensor **carry) {
    gt_tensor *q[4];
    if (!gt_split(gt_add(xt, gt_matmul(h, w->recurrent, false, false)), 4, NULL, 1, q))
        return NULL;
    gt_tensor *i = gt_activation_apply(c->recurrent_activation, q[0]);
    gt_tensor *f = gt_activation_apply(c->recurrent_activation, q[1]);
    gt_tensor *o = gt_activation_apply(c->recurrent_activation, q[3]);
    *carry = gt_add(gt_mul(f, *carry), gt_mul(i, gt_activation_apply(c->activation, q[2])));
    return gt_mul(o, gt_activation_apply(c->activation, *carry));
}

static gt_tensor *gru_step(const rnn_cell *c, const cell_weights *w, const gt_tensor *xt,
                           const gt_tensor *h) {
    const int64_t u = c->units;
    gt_tensor *x2[2], *zr[2], *hzr, *hh;
    /* [xz xr | xh]: the z and r gates go through the recurrent activation together */
    if (!gt_split(xt, 2, (const int64_t[]){2 * u, u}, 1, x2))
        return NULL;
    if (c->reset_after) { /* [hz hr | hh] = h recurrent_kernel + bias[1] */
        gt_tensor *h2[2];
        gt_tensor *inner = w->recurrent_bias
                               ? gt_matmul_bias_act(h, w->recurrent, w->recurrent_bias, false)
                               : gt_matmul(h, w->recurrent, false, false);
        if (!gt_split(inner, 2, (const int64_t[]){2 * u, u}, 1, h2))
            return NULL;
        hzr = h2[0];
        hh = h2[1];
    } else { /* [hz hr] = h recurrent_kernel[:, :2u] */
        hzr = gt_matmul(h, w->recurrent, false, false);
        hh = NULL;
    }
    if (!gt_split(gt_activation_apply(c->recurrent_activation, gt_add(x2[0], hzr)), 2, NULL, 1,
                  zr))
        return NULL;
    gt_tensor *z = zr[0], *r = zr[1];
    if (c->reset_after) /* h~ = act(xh + r * (h recurrent_kernel_h + bias_h)) */
        hh = gt_add(x2[1], gt_mul(r, hh));
    else /* h~ = act(xh + (r * h) recurrent_kernel[:, 2u:]) */
        hh = gt_add(x2[1], gt_matmul(gt_mul(r, h), w->recurrent_h, false, false));
    hh = gt_activation_apply(c->activation, hh);
    return gt_add(gt_mul(z, h), gt_mul(gt_rsub_s(1.0, z), hh));
}

/* ---- the layer ----------------------------------------------------------------------------- */

static bool rnn_build(gt_layer *l, int rank, const int64_t *shape) {
    rnn *r = (rnn *)l;
    if (!nn_expect_ndim(l, 3, rank, shape, NULL))
        return false;
    r->cell->base.dtype = l->dtype; /* the cell's weights take the layer's dtype */
    return gt_layer_build(&r->cell->base, GT_SHAPE(shape[0], shape[2]));
}

static bool cell_weights_of(const rnn_cell *c, cell_weights *w) {
    const int64_t u = c->units;
    *w = (cell_weights){.input_bias = c->bias, .recurrent = c->recurrent_kernel};
    if (c->kind != RNN_GRU)
        return true;
    gt_tensor *parts[2];
    if (c->reset_after) { /* bias rows: input, recurrent */
        if (!c->bias)
            return true;
        if (!gt_split(c->bias, 2, NULL, 0, parts))
            return false;
        w->input_bias = gt_reshape(parts[0], GT_SHAPE(3 * u));
        w->recurrent_bias = gt_reshape(parts[1], GT_SHAPE(3 * u));
        return w->input_bias && w->recurrent_bias;
    }
    if (!gt_split(c->recurrent_kernel, 2, (const int64_t[]){2 * u, u}, 1, parts))
        return false;
    w->recurrent = parts[0];
    w->recurrent_h = parts[1];
    return true;
}

static gt_tensor *rnn_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training; /* no dropout: the same computation either way */
    rnn *r = (rnn *)l;
    const rnn_cell *c = r->cell;
    int rank = gt_tensor_rank(x);
    const int64_t *shape = gt_tensor_shape(x);
    if (!nn_expect_ndim(l, 3, rank, shape, NULL) || !nn_expect_axis(l, -1, c->in_dim, rank, shape))
        return NULL;
    /* g fits (rnn_new bounds units); batch * steps below fits as the input's shape does */
    const int64_t batch = shape[0], steps = shape[1], g = kind_gates[c->kind] * c->units;
    if (steps < 1 || steps > INT_MAX) {
        char got[256];
        nn_shape_str(rank, shape, got, sizeof got);
        nn_error("%s '%s': the input must have between 1 and %d timesteps, received input with "
                 "shape %s",
                 gt_layer_class_name(l), l->name, INT_MAX, got);
        return NULL;
    }
    x = nn_autocast(l, x);

    cell_weights w;
    if (!cell_weights_of(c, &w))
        return NULL;
    /* Every step's x_t kernel (+ input bias) in one product, then one [batch, g] per step. */
    gt_tensor *x2 = gt_reshape(x, GT_SHAPE(batch * steps, c->in_dim));
    gt_tensor *proj = w.input_bias ? gt_matmul_bias_act(x2, c->kernel, w.input_bias, false)
                                   : gt_matmul(x2, c->kernel, false, false);
    proj = gt_reshape(proj, GT_SHAPE(batch, steps, g));
    /* One pointer per step for the inputs (xs) and, with return_sequences, the outputs (hs):
     * on the stack for short sequences, so a warm training step allocates nothing. */
    gt_tensor *stack_slots[2 * RNN_STACK_STEPS];
    size_t nslots = (size_t)steps * (r->return_sequences ? 2 : 1);
    gt_tensor **slots = nslots <= sizeof stack_slots / sizeof *stack_slots
                            ? stack_slots
                            : calloc(nslots, sizeof *slots);
    gt_tensor **xs = slots, **hs = r->return_sequences && slots ? slots + steps : NULL;
    gt_tensor *h = NULL;
    if (!slots) {
        nn_error("%s '%s': out of memory for %lld timesteps", gt_layer_class_name(l), l->name,
                 (long long)steps);
    } else if (gt_split(proj, (int)steps, NULL, 1, xs)) {
        h = gt_zeros(l->dtype, GT_SHAPE(batch, c->units));
        gt_tensor *carry = c->kind == RNN_LSTM ? gt_zeros(l->dtype, GT_SHAPE(batch, c->units))
                                               : NULL;
        for (int64_t i = 0; i < steps && h; i++) {
            int64_t t = r->go_backwards ? steps - 1 - i : i;
            gt_tensor *xt = gt_reshape(xs[t], GT_SHAPE(batch, g));
            h = c->kind == RNN_SIMPLE ? simple_step(c, &w, xt, h)
                : c->kind == RNN_LSTM ? lstm_step(c, &w, xt, h, &carry)
                                      : gru_step(c, &w, xt, h);
            if (hs)
                hs[i] = h;
        }
        /* with go_backwards the sequence stays in processing order, as Keras returns it */
        if (h && hs)
            h = gt_stack((int)steps, (const gt_tensor *const *)hs, 1);
    }
    if (slots != stack_slots)
        free(slots);
    return h;
}

static const gt_layer_vtable layer_vt[RNN_KINDS] = {
    {"SimpleRNN", rnn_build, rnn_call, NULL},
    {"LSTM", rnn_build, rnn_call, NULL},
    {"GRU", rnn_build, rnn_call, NULL},
};
static const gt_layer_vtable cell_vt[RNN_KINDS] = {
    {"SimpleRNNCell", cell_build, cell_call, NULL},
    {"LSTMCell", cell_build, cell_call, NULL},
    {"GRUCell", cell_build, cell_call, NULL},
};
/* Keras names the cell explicitly (no _1 suffixes). */
static const char *const cell_name[RNN_KINDS] = {"simple_rnn_cell", "lstm_cell", "gru_cell"};

/* An activation field: 0 is dflt, GT_ACT_NONE the identity. */
static bool activation_of(const char *cls, const char *field, gt_activation a, gt_activation dflt,
                          gt_activation *out) {
    if (a == GT_ACT_NONE) {
        *out = GT_ACT_LINEAR;
        return true;
    }
    if ((int)a < 0 || a >= GT_ACT_COUNT) {
        nn_error("%s: unknown %s %d", cls, field, (int)a);
        return false;
    }
    *out = a == GT_ACT_LINEAR ? dflt : a;
    return true;
}

static gt_layer *unrecognized(const char *cls, const char *option, const char *owners) {
    nn_error("Unrecognized keyword arguments passed to %s: %s (an option of %s)", cls, option,
             owners);
    return NULL;
}

static gt_initializer init_or(gt_initializer init, gt_init_kind dflt) {
    if (init.kind == GT_INIT_DEFAULT)
        init.kind = dflt;
    return init;
}

static gt_layer *rnn_new(rnn_kind kind, const gt_rnn_desc *desc) {
    const char *cls = layer_vt[kind].class_name;
    if (!desc || desc->units <= 0) {
        nn_error("%s: Received an invalid value for argument `units`, expected a positive "
                 "integer, got %lld.",
                 cls, desc ? (long long)desc->units : 0LL);
        return NULL;
    }
    /* The weights have gates * units columns (and the cell computes 2 * units .. 4 * units):
     * a units past INT64_MAX / gates would wrap them (LSTM's 4 * 2**62 to 0). */
    if (desc->units > INT64_MAX / kind_gates[kind]) {
        nn_error("%s: Received an invalid value for argument `units`, expected a positive "
                 "integer of at most %lld (the weights have %lld * units columns), got %lld.",
                 cls, (long long)(INT64_MAX / kind_gates[kind]), (long long)kind_gates[kind],
                 (long long)desc->units);
        return NULL;
    }
    gt_activation act, rec = GT_ACT_LINEAR;
    if (!activation_of(cls, "activation", desc->activation, GT_ACT_TANH, &act))
        return NULL;
    if (kind == RNN_SIMPLE && desc->recurrent_activation != GT_ACT_LINEAR)
        return unrecognized(cls, "recurrent_activation", "LSTM and GRU");
    if (kind != RNN_SIMPLE &&
        !activation_of(cls, "recurrent_activation", desc->recurrent_activation, GT_ACT_SIGMOID,
                       &rec))
        return NULL;
    if (kind != RNN_LSTM && desc->no_unit_forget_bias)
        return unrecognized(cls, "unit_forget_bias", "LSTM");
    if (kind != RNN_GRU && desc->no_reset_after)
        return unrecognized(cls, "reset_after", "GRU");

    rnn *r = (rnn *)gt_layer_new(&layer_vt[kind], sizeof(rnn), desc->name);
    if (!r)
        return NULL;
    rnn_cell *c = (rnn_cell *)gt_layer_new(&cell_vt[kind], sizeof(rnn_cell), cell_name[kind]);
    /* gt_layer_track frees the child when it fails: only the layer is left to free */
    if (!c || !gt_layer_track(&r->base, &c->base)) {
        gt_layer_free(&r->base);
        return NULL;
    }
    r->cell = c;
    r->return_sequences = desc->return_sequences;
    r->go_backwards = desc->go_backwards;
    c->kind = kind;
    c->units = desc->units;
    c->activation = act;
    c->recurrent_activation = rec;
    c->use_bias = !desc->no_bias;
    c->unit_forget_bias = kind == RNN_LSTM && !desc->no_unit_forget_bias;
    c->reset_after = kind == RNN_GRU && !desc->no_reset_after;
    c->kernel_init = init_or(desc->kernel_initializer, GT_INIT_GLOROT_UNIFORM);
    c->recurrent_init = init_or(desc->recurrent_initializer, GT_INIT_ORTHOGONAL);
    c->bias_init = init_or(desc->bias_initializer, GT_INIT_ZEROS);
    return &r->base;
}

gt_layer *gt_simple_rnn(const gt_rnn_desc *desc) {
    return rnn_new(RNN_SIMPLE, desc);
}
gt_layer *gt_lstm(const gt_rnn_desc *desc) {
    return rnn_new(RNN_LSTM, desc);
}
gt_layer *gt_gru(const gt_rnn_desc *desc) {
    return rnn_new(RNN_GRU, desc);
}
