/* keras.losses: Keras 3's per-sample formulas (losses/losses.py, backend/tensorflow/nn.py,
 * ops/nn.py's normalize), the `_keras_logits` shortcut, and reduce_weighted_values
 * (losses/loss.py). */
#include "nn_internal.h"

#include <stdlib.h>
#include <string.h>

struct gt_loss {
    gt_loss_kind kind;
    gt_loss_desc d;
    /* Python shows a warning once per call site; gradtape once per loss object */
    bool warned_logits, warned_shape;
};

static const char *const loss_names[] = {
    [GT_LOSS_CATEGORICAL_CROSSENTROPY] = "categorical_crossentropy",
    [GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY] = "sparse_categorical_crossentropy",
    [GT_LOSS_BINARY_CROSSENTROPY] = "binary_crossentropy",
    [GT_LOSS_MEAN_SQUARED_ERROR] = "mean_squared_error",
    [GT_LOSS_MEAN_ABSOLUTE_ERROR] = "mean_absolute_error",
    [GT_LOSS_HUBER] = "huber_loss",
    [GT_LOSS_KL_DIVERGENCE] = "kl_divergence",
    [GT_LOSS_POISSON] = "poisson",
    [GT_LOSS_LOG_COSH] = "log_cosh",
    [GT_LOSS_COSINE_SIMILARITY] = "cosine_similarity",
    [GT_LOSS_HINGE] = "hinge",
    [GT_LOSS_SQUARED_HINGE] = "squared_hinge",
    [GT_LOSS_CATEGORICAL_HINGE] = "categorical_hinge",
    [GT_LOSS_MEAN_SQUARED_LOGARITHMIC_ERROR] = "mean_squared_logarithmic_error",
    [GT_LOSS_MEAN_ABSOLUTE_PERCENTAGE_ERROR] = "mean_absolute_percentage_error",
};

const char *gt_loss_name(const gt_loss *l) {
    return l ? loss_names[l->kind] : NULL;
}

gt_loss *gt_loss_new(gt_loss_kind kind, const gt_loss_desc *desc) {
    gt_loss_desc d = desc ? *desc : (gt_loss_desc){0};
    if (kind < GT_LOSS_CATEGORICAL_CROSSENTROPY ||
        (size_t)kind >= sizeof loss_names / sizeof loss_names[0]) {
        nn_error("loss: unknown kind %d", (int)kind);
        return NULL;
    }
    const char *name = loss_names[kind];
    if ((int)d.reduction < 0 || d.reduction > GT_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT) {
        nn_error("%s: Invalid value for argument `reduction`. Expected one of {'sum', "
                 "'sum_over_batch_size', 'mean', 'mean_with_sample_weight', 'none'}. "
                 "Received: reduction=%d",
                 name, (int)d.reduction);
        return NULL;
    }
    bool xent = kind <= GT_LOSS_BINARY_CROSSENTROPY;
    if (!xent && d.from_logits) {
        nn_error("%s: Argument(s) not recognized: from_logits", name);
        return NULL;
    }
    if (d.label_smoothing != 0 && kind != GT_LOSS_CATEGORICAL_CROSSENTROPY &&
        kind != GT_LOSS_BINARY_CROSSENTROPY) {
        nn_error("%s: Argument(s) not recognized: label_smoothing", name);
        return NULL;
    }
    if (!(d.label_smoothing >= 0 && d.label_smoothing <= 1)) {
        nn_error("%s: label_smoothing must be in [0, 1], got %g", name, d.label_smoothing);
        return NULL;
    }
    if (d.axis == 0)
        d.axis = -1;
    if (d.axis != -1 && kind != GT_LOSS_CATEGORICAL_CROSSENTROPY &&
        kind != GT_LOSS_BINARY_CROSSENTROPY && kind != GT_LOSS_COSINE_SIMILARITY) {
        if (kind == GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
            nn_error("%s: Only axis=-1 is currently supported. Received: axis=%d", name, d.axis);
        else
            nn_error("%s: Argument(s) not recognized: axis", name);
        return NULL;
    }
    if (kind == GT_LOSS_HUBER) {
        d.delta = nn_opt(d.delta, 1.0);
        if (!(d.delta >= 0)) {
            nn_error("huber_loss: delta must be >= 0, got %g", d.delta);
            return NULL;
        }
    } else if (d.delta != 0) {
        nn_error("%s: Argument(s) not recognized: delta", name);
        return NULL;
    }
    gt_loss *l = malloc(sizeof *l);
    if (!l) {
        nn_error("%s: out of memory", name);
        return NULL;
    }
    l->kind = kind;
    l->d = d;
    l->warned_logits = l->warned_shape = false;
    return l;
}

gt_loss *gt_categorical_crossentropy(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_CATEGORICAL_CROSSENTROPY, d);
}
gt_loss *gt_sparse_categorical_crossentropy(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, d);
}
gt_loss *gt_binary_crossentropy(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_BINARY_CROSSENTROPY, d);
}
gt_loss *gt_mean_squared_error(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_MEAN_SQUARED_ERROR, d);
}
gt_loss *gt_mean_absolute_error(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_MEAN_ABSOLUTE_ERROR, d);
}
gt_loss *gt_huber(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_HUBER, d);
}
gt_loss *gt_kl_divergence(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_KL_DIVERGENCE, d);
}
gt_loss *gt_poisson(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_POISSON, d);
}
gt_loss *gt_log_cosh(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_LOG_COSH, d);
}
gt_loss *gt_cosine_similarity(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_COSINE_SIMILARITY, d);
}
gt_loss *gt_hinge(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_HINGE, d);
}
gt_loss *gt_squared_hinge(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_SQUARED_HINGE, d);
}
gt_loss *gt_categorical_hinge(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_CATEGORICAL_HINGE, d);
}
gt_loss *gt_mean_squared_logarithmic_error(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_MEAN_SQUARED_LOGARITHMIC_ERROR, d);
}
gt_loss *gt_mean_absolute_percentage_error(const gt_loss_desc *d) {
    return gt_loss_new(GT_LOSS_MEAN_ABSOLUTE_PERCENTAGE_ERROR, d);
}
void gt_loss_free(gt_loss *l) {
    free(l);
}

void nn_warn_from_logits(const char *fn, const char *op) {
    /* Keras' text, including its stray leading double quote (backend/tensorflow/nn.py) */
    gt_warn("\"`%s` received `from_logits=True`, but the `output` argument was produced by a "
            "%s activation and thus does not represent logits. Was this intended?",
            fn, op);
}

/* Keras' squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True). */
static void same_rank(const gt_tensor **x1, const gt_tensor **x2) {
    int r1 = gt_tensor_rank(*x1), r2 = gt_tensor_rank(*x2);
    if (r1 == r2)
        return;
    if (r1 == r2 + 1 && gt_tensor_dim(*x1, -1) == 1) {
        if (r2 == 1)
            *x2 = gt_expand_dims(*x2, -1);
        else
            *x1 = gt_squeeze(*x1, GT_AXES(-1));
    }
    if (r2 == r1 + 1 && gt_tensor_dim(*x2, -1) == 1) {
        if (r1 == 1)
            *x1 = gt_expand_dims(*x1, -1);
        else
            *x2 = gt_squeeze(*x2, GT_AXES(-1));
    }
}

static bool same_shape_check(const gt_tensor *t, const gt_tensor *o) {
    const int rt = gt_tensor_rank(t), ro = gt_tensor_rank(o);
    const char *what = NULL;
    if (rt < 1)
        what = "must be at least rank 1";
    else if (rt != ro)
        what = "must have the same rank (ndim)";
    else
        for (int i = 0; i < rt && !what; i++)
            if (gt_tensor_shape(t)[i] != gt_tensor_shape(o)[i])
                what = "must have the same shape";
    if (!what)
        return true;
    /* the shapes are formatted only here: a training step checks every batch */
    char ts[256], os[256];
    nn_shape_str(rt, gt_tensor_shape(t), ts, sizeof ts);
    nn_shape_str(ro, gt_tensor_shape(o), os, sizeof os);
    nn_error("Arguments `target` and `output` %s. Received: target.shape=%s, output.shape=%s",
             what, ts, os);
    return false;
}

/* Keras' backend.epsilon() (1e-7) converted to dtype dt, as ops convert Python floats. */
static double epsilon_of(gt_dtype dt) {
    return dt == GT_F32 ? (double)1e-7f : 1e-7;
}

/* Keras' epsilon() clip bounds, converted to the prediction's dtype as clip_by_value does. */
static void clip_bounds(gt_dtype dt, double *lo, double *hi) {
    *lo = epsilon_of(dt);
    *hi = dt == GT_F32 ? (double)(float)(1.0 - 1e-7) : 1.0 - 1e-7;
}

/* The prediction to compute from: its attached logits when it has some (Keras' _get_logits),
 * warning when the caller already said from_logits. */
static const gt_tensor *get_logits(const gt_loss *l, const gt_tensor *out, bool *from_logits,
                                   const char *op, const char *fn) {
    gt_tensor *lg = gt_tensor_logits(out);
    if (!lg)
        return out;
    if (*from_logits && !l->warned_logits) {
        nn_warn_from_logits(fn, op);
        ((gt_loss *)l)->warned_logits = true; /* allocated non-const by gt_loss_new */
    }
    *from_logits = true;
    return lg;
}

static gt_tensor *cce(const gt_loss *l, const gt_tensor *yt, const gt_tensor *yp) {
    bool fl = l->d.from_logits;
    if (gt_tensor_rank(yp) >= 1 && gt_tensor_dim(yp, -1) == 1 && !l->warned_shape) {
        ((gt_loss *)l)->warned_shape = true;
        char s[256];
        nn_shape_str(gt_tensor_rank(yp), gt_tensor_shape(yp), s, sizeof s);
        gt_warn("In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
                "num_classes) with num_classes > 1. Received: y_pred.shape=%s. Consider using "
                "'binary_crossentropy' if you only have 2 classes.",
                s);
    }
    if (l->d.label_smoothing > 0 && gt_tensor_rank(yt) >= 1) {
        double ls = l->d.label_smoothing, k = (double)gt_tensor_dim(yt, -1);
        yt = gt_add_s(gt_mul_s(yt, 1.0 - ls), ls / k);
        if (!yt)
            return NULL;
    }
    if (!same_shape_check(yt, yp))
        return NULL;
    const gt_tensor *out = get_logits(l, yp, &fl, "Softmax", "categorical_crossentropy");
    if (fl)
        return gt_softmax_cross_entropy_with_logits(yt, out, l->d.axis);
    double lo, hi;
    clip_bounds(gt_tensor_dtype(yp), &lo, &hi);
    gt_tensor *p = gt_div(out, gt_reduce_sum(out, GT_AXES(l->d.axis), true));
    p = gt_clip_by_value(p, lo, hi);
    return gt_neg(gt_reduce_sum(gt_mul(yt, gt_log(p)), GT_AXES(l->d.axis), false));
}

static gt_tensor *scce(const gt_loss *l, const gt_tensor *yt, const gt_tensor *yp) {
    bool fl = l->d.from_logits;
    const gt_tensor *out = get_logits(l, yp, &fl, "Softmax", "sparse_categorical_crossentropy");
    if (gt_tensor_dtype(yt) != GT_I64)
        yt = gt_cast(yt, GT_I64);
    if (!yt)
        return NULL;
    int rt = gt_tensor_rank(yt), ro = gt_tensor_rank(out);
    if (rt == ro && rt > 0 && gt_tensor_dim(yt, -1) == 1) {
        yt = gt_squeeze(yt, GT_AXES(-1));
        if (!yt)
            return NULL;
        rt--;
    }
    char ts[256], os[256];
    nn_shape_str(rt, gt_tensor_shape(yt), ts, sizeof ts);
    nn_shape_str(ro, gt_tensor_shape(out), os, sizeof os);
    if (ro < 1) {
        nn_error("Argument `output` must be at least rank 1. Received: output.shape=%s", os);
        return NULL;
    }
    if (rt != ro - 1) {
        nn_error("Argument `output` must have rank (ndim) `target.ndim - 1`. Received: "
                 "target.shape=%s, output.shape=%s",
                 ts, os);
        return NULL;
    }
    for (int i = 0; i < rt; i++)
        if (gt_tensor_shape(yt)[i] != gt_tensor_shape(out)[i]) {
            nn_error("Arguments `target` and `output` must have the same shape up until the "
                     "last dimension: target.shape=%s, output.shape=%s",
                     ts, os);
            return NULL;
        }
    if (!fl) {
        double lo, hi;
        clip_bounds(gt_tensor_dtype(out), &lo, &hi);
        out = gt_log(gt_clip_by_value(out, lo, hi));
    }
    return gt_sparse_softmax_cross_entropy_with_logits(yt, out);
}

static gt_tensor *bce(const gt_loss *l, const gt_tensor *yt, const gt_tensor *yp) {
    bool fl = l->d.from_logits;
    if (l->d.label_smoothing > 0) {
        double ls = l->d.label_smoothing;
        yt = gt_add_s(gt_mul_s(yt, 1.0 - ls), 0.5 * ls);
        if (!yt)
            return NULL;
    }
    if (!same_shape_check(yt, yp))
        return NULL;
    const gt_tensor *out = get_logits(l, yp, &fl, "Sigmoid", "binary_crossentropy");
    gt_tensor *v;
    if (fl) {
        v = gt_sigmoid_cross_entropy_with_logits(yt, out);
    } else {
        double lo, hi;
        clip_bounds(gt_tensor_dtype(yp), &lo, &hi);
        gt_tensor *p = gt_clip_by_value(out, lo, hi);
        gt_tensor *b = gt_mul(yt, gt_log(p));
        b = gt_add(b, gt_mul(gt_rsub_s(1.0, yt), gt_log(gt_rsub_s(1.0, p))));
        v = gt_neg(b);
    }
    return gt_reduce_mean(v, GT_AXES(l->d.axis), false);
}

static gt_tensor *mean_last(const gt_tensor *x) {
    return gt_reduce_mean(x, GT_AXES(-1), false);
}

/* Keras' convert_binary_labels_to_hinge: labels that are all 0 or 1 become -1 or 1; any other
 * labels are used as they are. */
static const gt_tensor *hinge_labels(const gt_tensor *yt) {
    gt_dtype dt = gt_tensor_dtype(yt);
    gt_tensor *binary =
        gt_logical_or(gt_equal(yt, gt_scalar_of(dt, 0)), gt_equal(yt, gt_scalar_of(dt, 1)));
    gt_tensor *others = gt_reduce_sum(gt_cast(gt_logical_not(binary), dt), GT_ALL, false);
    if (!others)
        return NULL;
    return gt_item(others) == 0 ? gt_sub_s(gt_mul_s(yt, 2.0), 1.0) : yt;
}

/* max(1 - y_true * y_pred, 0) of the hinge losses. */
static gt_tensor *hinge_margin(const gt_tensor *yt, const gt_tensor *yp) {
    return gt_maximum_s(gt_rsub_s(1.0, gt_mul(hinge_labels(yt), yp)), 0.0);
}

/* ops.normalize(x, axis) with order 2: x * min(rsqrt(sum(x^2)), 1 / epsilon). */
static gt_tensor *l2_normalize(const gt_tensor *x, int axis) {
    gt_tensor *ss = gt_reduce_sum(gt_square(x), GT_AXES(axis), true);
    return gt_mul(x, gt_minimum_s(gt_rsqrt(ss), 1.0 / 1e-7));
}

/* The losses of LossFunctionWrapper: squeeze_or_expand_to_same_rank, then Keras' per-sample
 * function, which reduces the last axis (CosineSimilarity: its axis). */
static gt_tensor *wrapped_fn(const gt_loss *l, const gt_tensor *yt, const gt_tensor *yp) {
    same_rank(&yt, &yp);
    if (!yt || !yp)
        return NULL;
    const gt_dtype dt = gt_tensor_dtype(yp);
    const double eps = epsilon_of(dt);
    switch (l->kind) {
    case GT_LOSS_MEAN_SQUARED_ERROR:
        return mean_last(gt_square(gt_sub(yt, yp)));
    case GT_LOSS_MEAN_ABSOLUTE_ERROR:
        return mean_last(gt_abs(gt_sub(yt, yp)));
    case GT_LOSS_HUBER: {
        double delta = l->d.delta;
        gt_tensor *e = gt_sub(yp, yt);
        gt_tensor *ae = gt_abs(e);
        gt_tensor *quad = gt_mul_s(gt_square(e), 0.5);
        gt_tensor *lin = gt_sub_s(gt_mul_s(ae, delta), 0.5 * delta * delta);
        gt_tensor *cond = gt_less_equal(ae, gt_scalar_of(dt, delta));
        return mean_last(gt_where(cond, quad, lin));
    }
    case GT_LOSS_KL_DIVERGENCE: {
        gt_tensor *t = gt_clip_by_value(yt, eps, 1.0);
        gt_tensor *p = gt_clip_by_value(yp, eps, 1.0);
        return gt_reduce_sum(gt_mul(t, gt_log(gt_div(t, p))), GT_AXES(-1), false);
    }
    case GT_LOSS_POISSON:
        return mean_last(gt_sub(yp, gt_mul(yt, gt_log(gt_add_s(yp, eps)))));
    case GT_LOSS_LOG_COSH: {
        /* x + softplus(-2x) - log(2), Keras' log(2) computed in float32 (ops.log(2.0)) */
        gt_tensor *x = gt_sub(yp, yt);
        gt_tensor *v = gt_add(x, gt_softplus(gt_mul_s(x, -2.0)));
        return mean_last(gt_sub_s(v, (double)logf(2.0f)));
    }
    case GT_LOSS_COSINE_SIMILARITY: {
        gt_tensor *p = l2_normalize(yp, l->d.axis);
        gt_tensor *t = l2_normalize(yt, l->d.axis);
        return gt_neg(gt_reduce_sum(gt_mul(t, p), GT_AXES(l->d.axis), false));
    }
    case GT_LOSS_HINGE:
        return mean_last(hinge_margin(yt, yp));
    case GT_LOSS_SQUARED_HINGE:
        return mean_last(gt_square(hinge_margin(yt, yp)));
    case GT_LOSS_CATEGORICAL_HINGE: {
        gt_tensor *pos = gt_reduce_sum(gt_mul(yt, yp), GT_AXES(-1), false);
        gt_tensor *neg = gt_reduce_max(gt_mul(gt_rsub_s(1.0, yt), yp), GT_AXES(-1), false);
        return gt_maximum_s(gt_add_s(gt_sub(neg, pos), 1.0), 0.0);
    }
    case GT_LOSS_MEAN_SQUARED_LOGARITHMIC_ERROR: {
        gt_tensor *lp = gt_log(gt_add_s(gt_maximum_s(yp, eps), 1.0));
        gt_tensor *lt = gt_log(gt_add_s(gt_maximum_s(yt, eps), 1.0));
        return mean_last(gt_square(gt_sub(lp, lt)));
    }
    case GT_LOSS_MEAN_ABSOLUTE_PERCENTAGE_ERROR: {
        gt_tensor *diff = gt_abs(gt_div(gt_sub(yt, yp), gt_maximum_s(gt_abs(yt), eps)));
        return gt_mul_s(mean_last(diff), 100.0);
    }
    default: /* the cross-entropies are not wrapped functions */
        nn_error("%s: internal error: not a wrapped loss", loss_names[l->kind]);
        return NULL;
    }
}

/* reduce_weighted_values + reduce_values of keras/src/losses/loss.py. */
static gt_tensor *reduce_weighted(const gt_tensor *values, const gt_tensor *sw, gt_reduction red) {
    if (!values)
        return NULL;
    gt_dtype dt = gt_tensor_dtype(values);
    if (sw) {
        if (gt_tensor_dtype(sw) != dt)
            sw = gt_cast(sw, dt);
        same_rank(&values, &sw);
        if (!values || !sw)
            return NULL;
        values = gt_mul(values, sw);
        if (!values)
            return NULL;
    }
    int r = gt_tensor_rank(values);
    if (red == GT_REDUCTION_NONE || r == 0 || (r == 1 && gt_tensor_dim(values, 0) == 0))
        return (gt_tensor *)values;
    gt_tensor *loss = gt_reduce_sum(values, GT_ALL, false);
    if (red == GT_REDUCTION_SUM)
        return loss;
    double divisor;
    if (red == GT_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT && sw) {
        divisor = gt_item(gt_reduce_sum(sw, GT_ALL, false));
    } else {
        divisor = (double)gt_tensor_size(values);
    }
    if (divisor == 0)
        return gt_zeros_like(loss); /* divide_no_nan */
    if (dt == GT_F32)
        divisor = (double)(float)divisor;
    return gt_div(loss, gt_scalar_of(dt, divisor));
}

gt_tensor *gt_loss_call(const gt_loss *l, const gt_tensor *y_true, const gt_tensor *y_pred,
                        const gt_tensor *sample_weight) {
    if (!y_true || !y_pred) {
        if (gt_ok())
            nn_error("loss: y_true or y_pred is NULL");
        return NULL;
    }
    if (!l) {
        nn_error("loss: NULL loss");
        return NULL;
    }
    /* Loss.__call__ converts both to the loss dtype (float32 by default); gradtape computes
     * in y_pred's float dtype so float64 programs stay float64. */
    gt_dtype dt = gt_tensor_dtype(y_pred);
    if (!gt_dtype_is_float(dt)) {
        dt = GT_F32;
        y_pred = gt_cast(y_pred, dt);
    }
    if (l->kind != GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && gt_tensor_dtype(y_true) != dt)
        y_true = gt_cast(y_true, dt);
    if (!y_true || !y_pred)
        return NULL;
    gt_tensor *values;
    switch (l->kind) {
    case GT_LOSS_CATEGORICAL_CROSSENTROPY:
        same_rank(&y_true, &y_pred);
        if (!y_true || !y_pred)
            return NULL;
        values = cce(l, y_true, y_pred);
        break;
    case GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        same_rank(&y_true, &y_pred);
        if (!y_true || !y_pred)
            return NULL;
        values = scce(l, y_true, y_pred);
        break;
    case GT_LOSS_BINARY_CROSSENTROPY:
        same_rank(&y_true, &y_pred);
        if (!y_true || !y_pred)
            return NULL;
        values = bce(l, y_true, y_pred);
        break;
    default:
        values = wrapped_fn(l, y_true, y_pred);
        break;
    }
    return reduce_weighted(values, sample_weight, l->d.reduction);
}
