/* Softmax, log-softmax and the cross-entropies, with TensorFlow's gradients (nn_grad.py):
 *
 *  - softmax / log_softmax get fused gradient ops ("softmax_grad", "log_softmax_grad") whose
 *    own rules are written with ops, so any order of derivative works;
 *  - the fused cross-entropies compute TensorFlow's `backprop` (softmax - labels) in the
 *    forward pass and keep it as aux. With no tape recording the backward pass, the logits'
 *    gradient is dloss * backprop in one kernel. When a tape records it (higher orders), the
 *    same values are produced as backprop + (s - stop_gradient(s)) [+ (stop_gradient(z) - z)],
 *    which adds exact zeros but lets the recording tape differentiate through softmax(logits)
 *    and the labels: TensorFlow's grad-of-grad, with identical first-order numbers. */
#include "kernels/softmax.h"
#include "kernels/unary.h"
#include "ops/registry.h"

typedef struct sm_attr {
    int axis; /* as given; normalised against the rank where used */
} sm_attr;

static int attr_axis(const void *attr, int rank) {
    int a = ((const sm_attr *)attr)->axis;
    return a < 0 ? a + rank : a;
}

/* Views shape as [outer, n, inner] around axis ax. */
static void split_at(const int64_t *shape, int rank, int ax, int64_t *outer, int64_t *n,
                     int64_t *inner) {
    *outer = *inner = 1;
    for (int i = 0; i < ax; i++) *outer *= shape[i];
    for (int i = ax + 1; i < rank; i++) *inner *= shape[i];
    *n = shape[ax];
}

static bool float_input(const char *who, const char *what, const gt_tensor *x) {
    if (gt__is_float(x->dtype)) return true;
    gt__error("%s: %s has dtype %s (shape %s) but must be float32 or float64; convert it with "
              "gt_cast(x, GT_F32)", who, what, gt_dtype_name(x->dtype), GT__SHAPE_STR(x));
    return false;
}

static gt_tensor *reduce_keep(const gt_tensor *x, int ax) {
    return gt_reduce_sum(x, 1, &ax, true);
}

/* ---- softmax / log_softmax ------------------------------------------------------------------ */

static bool softmax_infer(gt__call *c) {
    const gt_tensor *x = c->in[0];
    const char *who = strcmp(c->op->name, "softmax") ? "gt_log_softmax" : "gt_softmax";
    int ax;
    if (!float_input(who, "the input", x)) return false;
    if (x->rank == 0) {
        gt__error("%s: the input is a scalar; softmax needs a tensor of rank >= 1 (reshape it "
                  "with gt_reshape(x, GT_SHAPE(1)))", who);
        return false;
    }
    if (!gt__axis(who, ((const sm_attr *)c->attr)->axis, x->rank, &ax)) return false;
    c->dtype = x->dtype;
    c->rank = x->rank;
    memcpy(c->shape, x->shape, sizeof c->shape);
    return true;
}

static void softmax_run(gt__call *c, bool log) {
    const gt_tensor *x = c->in[0];
    int64_t outer, n, inner;
    split_at(x->shape, x->rank, attr_axis(c->attr, x->rank), &outer, &n, &inner);
    gt__softmax(x->dtype, x->data, c->out->data, outer, n, inner, log);
}
static void softmax_forward(gt__call *c) { softmax_run(c, false); }
static void log_softmax_forward(gt__call *c) { softmax_run(c, true); }

/* The fused gradient ops take (dy, y) of one shape. */
static bool smgrad_infer(gt__call *c) {
    const gt_tensor *a = c->in[0], *b = c->in[1];
    if (!gt__is_float(a->dtype) || a->dtype != b->dtype || !gt__same_shape(a, b) || a->rank == 0) {
        gt__error("internal: %s takes two float tensors of one dtype and shape, got %s %s and "
                  "%s %s", c->op->name, gt_dtype_name(a->dtype), GT__SHAPE_STR(a),
                  gt_dtype_name(b->dtype), GT__SHAPE_STR(b));
        return false;
    }
    c->dtype = a->dtype;
    c->rank = a->rank;
    memcpy(c->shape, a->shape, sizeof c->shape);
    return true;
}

static void smgrad_run(gt__call *c, bool log) {
    const gt_tensor *a = c->in[0];
    int64_t outer, n, inner;
    split_at(a->shape, a->rank, attr_axis(c->attr, a->rank), &outer, &n, &inner);
    gt__softmax_grad(a->dtype, a->data, c->in[1]->data, c->out->data, outer, n, inner, log);
}
static void softmax_grad_forward(gt__call *c) { smgrad_run(c, false); }
static void log_softmax_grad_forward(gt__call *c) { smgrad_run(c, true); }

extern const gt__op gt__op_softmax_grad, gt__op_log_softmax_grad;

static gt_tensor *smgrad(const gt__op *op, const gt_tensor *dy, const gt_tensor *y, int axis) {
    sm_attr a = {axis};
    return gt__apply2(op, dy, y, &a);
}

/* softmax: (g - sum(g*s)) * s (TensorFlow's _SoftmaxGrad). */
static void softmax_grad(gt__gctx *g) {
    g->gx[0] = smgrad(&gt__op_softmax_grad, g->gy, g->out, ((const sm_attr *)g->attr)->axis);
}
/* log_softmax: g - sum(g) * exp(y) (_LogSoftmaxGrad). */
static void log_softmax_grad(gt__gctx *g) {
    g->gx[0] = smgrad(&gt__op_log_softmax_grad, g->gy, g->out, ((const sm_attr *)g->attr)->axis);
}

/* out = (a - sum(a*s)) * s. d/da = (g - sum(g*s)) * s, the same op;
 * d/ds = g*(a - sum(a*s)) - a*sum(g*s). */
static void softmax_grad_grad(gt__gctx *g) {
    gt_tensor *a = g->in[0], *s = g->in[1];
    int axis = ((const sm_attr *)g->attr)->axis, ax = attr_axis(g->attr, a->rank);
    if (g->need[0]) g->gx[0] = smgrad(&gt__op_softmax_grad, g->gy, s, axis);
    if (g->need[1]) {
        gt_tensor *t1 = gt_mul(g->gy, gt_sub(a, reduce_keep(gt_mul(a, s), ax)));
        g->gx[1] = gt_sub(t1, gt_mul(a, reduce_keep(gt_mul(g->gy, s), ax)));
    }
}

/* out = a - sum(a) * exp(y). d/da = g - sum(g*exp(y)); d/dy = -g*exp(y)*sum(a). */
static void log_softmax_grad_grad(gt__gctx *g) {
    gt_tensor *a = g->in[0], *y = g->in[1];
    int ax = attr_axis(g->attr, a->rank);
    gt_tensor *ge = gt_mul(g->gy, gt_exp(y));
    if (g->need[0]) g->gx[0] = gt_sub(g->gy, reduce_keep(ge, ax));
    if (g->need[1]) g->gx[1] = gt_neg(gt_mul(ge, reduce_keep(a, ax)));
}

const gt__op gt__op_softmax = {.name = "softmax", .nin = 1, .keep_out = true,
                               .attr_size = sizeof(sm_attr), .infer = softmax_infer,
                               .forward = softmax_forward, .grad = softmax_grad};
const gt__op gt__op_log_softmax = {.name = "log_softmax", .nin = 1, .keep_out = true,
                                   .attr_size = sizeof(sm_attr), .infer = softmax_infer,
                                   .forward = log_softmax_forward, .grad = log_softmax_grad};
const gt__op gt__op_softmax_grad = {.name = "softmax_grad", .nin = 2, .keep_in = 3u,
                                    .attr_size = sizeof(sm_attr), .infer = smgrad_infer,
                                    .forward = softmax_grad_forward, .grad = softmax_grad_grad};
const gt__op gt__op_log_softmax_grad = {.name = "log_softmax_grad", .nin = 2, .keep_in = 3u,
                                        .attr_size = sizeof(sm_attr), .infer = smgrad_infer,
                                        .forward = log_softmax_grad_forward,
                                        .grad = log_softmax_grad_grad};

gt_tensor *gt_softmax(const gt_tensor *x, int axis) {
    sm_attr a = {axis};
    return gt__apply1(&gt__op_softmax, x, &a);
}
gt_tensor *gt_log_softmax(const gt_tensor *x, int axis) {
    sm_attr a = {axis};
    return gt__apply1(&gt__op_log_softmax, x, &a);
}

/* ---- softmax cross-entropy ------------------------------------------------------------------ */

static const char *const XENT = "gt_softmax_cross_entropy_with_logits";
static const char *const SPARSE = "gt_sparse_softmax_cross_entropy_with_logits";
static const char *const SIGXENT = "gt_sigmoid_cross_entropy_with_logits";

static bool same_float_pair(const char *who, const gt_tensor *z, const gt_tensor *x) {
    if (!float_input(who, "labels", z) || !float_input(who, "logits", x)) return false;
    if (z->dtype != x->dtype) {
        gt__error("%s: labels are %s but logits are %s; both must have one dtype (gradtape does "
                  "not promote: cast one with gt_cast)", who, gt_dtype_name(z->dtype),
                  gt_dtype_name(x->dtype));
        return false;
    }
    if (!gt__same_shape(z, x)) {
        gt__error("%s: labels and logits must have the same shape, got labels %s and logits %s",
                  who, GT__SHAPE_STR(z), GT__SHAPE_STR(x));
        return false;
    }
    return true;
}

static bool xent_infer(gt__call *c) {
    const gt_tensor *z = c->in[0], *x = c->in[1];
    int ax;
    if (!same_float_pair(XENT, z, x)) return false;
    if (x->rank == 0) {
        gt__error("%s: logits are a scalar; they need a class axis (rank >= 1)", XENT);
        return false;
    }
    if (!gt__axis(XENT, ((const sm_attr *)c->attr)->axis, x->rank, &ax)) return false;
    c->dtype = x->dtype;
    c->rank = x->rank - 1;
    for (int i = 0, j = 0; i < x->rank; i++)
        if (i != ax) c->shape[j++] = x->shape[i];
    return true;
}

static void xent_forward(gt__call *c) {
    const gt_tensor *z = c->in[0], *x = c->in[1];
    int64_t outer, n, inner;
    split_at(x->shape, x->rank, attr_axis(c->attr, x->rank), &outer, &n, &inner);
    c->aux = gt__tensor_alloc(x->dtype, x->rank, x->shape);
    if (!c->aux) return;
    gt__softmax_xent(x->dtype, z->data, x->data, c->out->data, c->aux->data, outer, n, inner);
}

/* dloss (one value per row) times backprop, spread over the class axis. */
static gt_tensor *scaled_backprop(const gt__gctx *g, gt_tensor *bp, int ax, gt_tensor *corr) {
    if (!gt__tapes_active) {
        gt_tensor *out = gt__tensor_alloc(bp->dtype, bp->rank, bp->shape);
        if (!out) return NULL;
        int64_t outer, n, inner;
        split_at(bp->shape, bp->rank, ax, &outer, &n, &inner);
        gt__scale_rows(bp->dtype, g->gy->data, bp->data, out->data, outer, n, inner);
        return out;
    }
    return gt_mul(gt_expand_dims(g->gy, ax), gt_add(bp, corr));
}

static gt_tensor *zero_with_grad(const gt_tensor *t) { return gt_sub(t, gt_stop_gradient(t)); }

static void xent_grad(gt__gctx *g) {
    gt_tensor *z = g->in[0], *x = g->in[1];
    int ax = attr_axis(g->attr, x->rank);
    if (!g->aux) {
        gt__error("internal: softmax_cross_entropy_with_logits lost its backprop tensor");
        return;
    }
    if (g->need[1]) {
        gt_tensor *corr = NULL;
        if (gt__tapes_active)
            corr = gt_sub(zero_with_grad(gt_softmax(x, ax)), zero_with_grad(z));
        g->gx[1] = scaled_backprop(g, g->aux, ax, corr);
    }
    if (g->need[0]) g->gx[0] = gt_mul(gt_expand_dims(g->gy, ax), gt_neg(gt_log_softmax(x, ax)));
}

const gt__op gt__op_softmax_cross_entropy_with_logits = {
    .name = "softmax_cross_entropy_with_logits", .nin = 2, .keep_in = 3u,
    .attr_size = sizeof(sm_attr), .infer = xent_infer, .forward = xent_forward,
    .grad = xent_grad};

gt_tensor *gt_softmax_cross_entropy_with_logits(const gt_tensor *labels, const gt_tensor *logits,
                                                int axis) {
    sm_attr a = {axis};
    return gt__apply2(&gt__op_softmax_cross_entropy_with_logits, labels, logits, &a);
}

/* ---- sparse softmax cross-entropy ----------------------------------------------------------- */

static bool sparse_infer(gt__call *c) {
    const gt_tensor *lab = c->in[0], *x = c->in[1];
    if (!float_input(SPARSE, "logits", x)) return false;
    if (lab->dtype != GT_I32 && lab->dtype != GT_I64) {
        gt__error("%s: labels have dtype %s (shape %s) but must be int32 or int64 class indices "
                  "(for one-hot or probability labels use "
                  "gt_softmax_cross_entropy_with_logits)", SPARSE, gt_dtype_name(lab->dtype),
                  GT__SHAPE_STR(lab));
        return false;
    }
    if (x->rank == 0) {
        gt__error("%s: logits are a scalar; they need a last axis of classes (rank >= 1)", SPARSE);
        return false;
    }
    if (lab->rank != x->rank - 1 ||
        memcmp(lab->shape, x->shape, sizeof(int64_t) * (size_t)lab->rank)) {
        gt__error("%s: labels of shape %s do not match logits of shape %s; labels must have the "
                  "logits' shape without the last (class) axis, here %s", SPARSE,
                  GT__SHAPE_STR(lab), GT__SHAPE_STR(x),
                  gt__shape_str((char[96]){0}, 96, x->rank - 1, x->shape));
        return false;
    }
    int64_t classes = x->shape[x->rank - 1];
    int64_t bad = gt__bad_label(lab->dtype, lab->data, lab->size, classes);
    if (bad >= 0) {
        char idx[96];
        int64_t rest = bad, pos[GT_MAX_RANK];
        for (int i = lab->rank; i-- > 0;) {
            pos[i] = lab->shape[i] ? rest % lab->shape[i] : 0;
            rest = lab->shape[i] ? rest / lab->shape[i] : 0;
        }
        gt__shape_str(idx, sizeof idx, lab->rank, pos);
        gt__error("%s: label %lld at index %s is outside the valid range [0, %lld) of the "
                  "logits' %lld classes", SPARSE, (long long)gt__get(lab, bad), idx,
                  (long long)classes, (long long)classes);
        return false;
    }
    c->dtype = x->dtype;
    c->rank = lab->rank;
    memcpy(c->shape, lab->shape, sizeof c->shape);
    return true;
}

static void sparse_forward(gt__call *c) {
    const gt_tensor *lab = c->in[0], *x = c->in[1];
    int64_t classes = x->shape[x->rank - 1];
    c->aux = gt__tensor_alloc(x->dtype, x->rank, x->shape);
    if (!c->aux) return;
    gt__sparse_xent(x->dtype, lab->dtype, lab->data, x->data, c->out->data, c->aux->data,
                    lab->size, classes);
}

/* logits: dloss * (softmax - onehot); labels have no gradient. */
static void sparse_grad(gt__gctx *g) {
    gt_tensor *x = g->in[1];
    if (!g->need[1]) return;
    if (!g->aux) {
        gt__error("internal: sparse_softmax_cross_entropy_with_logits lost its backprop tensor");
        return;
    }
    int ax = x->rank - 1;
    gt_tensor *corr = gt__tapes_active ? zero_with_grad(gt_softmax(x, ax)) : NULL;
    g->gx[1] = scaled_backprop(g, g->aux, ax, corr);
}

const gt__op gt__op_sparse_softmax_cross_entropy_with_logits = {
    .name = "sparse_softmax_cross_entropy_with_logits", .nin = 2, .keep_in = 2u,
    .infer = sparse_infer, .forward = sparse_forward, .grad = sparse_grad};

gt_tensor *gt_sparse_softmax_cross_entropy_with_logits(const gt_tensor *labels,
                                                       const gt_tensor *logits) {
    return gt__apply2(&gt__op_sparse_softmax_cross_entropy_with_logits, labels, logits, NULL);
}

/* ---- sigmoid cross-entropy ------------------------------------------------------------------ */

static bool sigxent_infer(gt__call *c) {
    const gt_tensor *z = c->in[0], *x = c->in[1];
    if (!same_float_pair(SIGXENT, z, x)) return false;
    c->dtype = x->dtype;
    c->rank = x->rank;
    memcpy(c->shape, x->shape, sizeof c->shape);
    return true;
}

static void sigxent_forward(gt__call *c) {
    gt__ew_binary(GT__EW_SIGMOID_XENT, c->out->dtype, c->in[0]->data, c->in[1]->data,
                  c->out->data, c->out->size, 0);
}

/* What TensorFlow's composition differentiates to: logits sigmoid(x) - z, labels -x. */
static void sigxent_grad(gt__gctx *g) {
    gt_tensor *z = g->in[0], *x = g->in[1];
    if (g->need[1]) g->gx[1] = gt_mul(g->gy, gt_sub(gt_sigmoid(x), z));
    if (g->need[0]) g->gx[0] = gt_neg(gt_mul(g->gy, x));
}

const gt__op gt__op_sigmoid_cross_entropy_with_logits = {
    .name = "sigmoid_cross_entropy_with_logits", .nin = 2, .keep_in = 3u,
    .infer = sigxent_infer, .forward = sigxent_forward, .grad = sigxent_grad};

gt_tensor *gt_sigmoid_cross_entropy_with_logits(const gt_tensor *labels,
                                                const gt_tensor *logits) {
    return gt__apply2(&gt__op_sigmoid_cross_entropy_with_logits, labels, logits, NULL);
}

const gt__op *const gt__ops_nn[] = {
    &gt__op_softmax,
    &gt__op_log_softmax,
    &gt__op_softmax_grad,
    &gt__op_log_softmax_grad,
    &gt__op_softmax_cross_entropy_with_logits,
    &gt__op_sparse_softmax_cross_entropy_with_logits,
    &gt__op_sigmoid_cross_entropy_with_logits,
};
const int gt__ops_nn_n = (int)(sizeof gt__ops_nn / sizeof *gt__ops_nn);
