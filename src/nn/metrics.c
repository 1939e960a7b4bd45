/* keras.metrics: Mean, the metrics that are a Mean of per-sample values (MeanMetricWrapper:
 * the accuracies, MeanSquaredError, MeanAbsoluteError; RootMeanSquaredError), with Keras'
 * reduce_to_samplewise_values for sample weights, and Precision / Recall on Keras'
 * confusion-matrix counts (metrics/metrics_utils.py). State is float32 like Keras'. */
#include "nn_internal.h"

#include <stdlib.h>
#include <string.h>

typedef enum {
    MET_MEAN,
    MET_ACC,
    MET_CAT_ACC,
    MET_SPARSE_CAT_ACC,
    MET_BINARY_ACC,
    MET_TOP_K,
    MET_SPARSE_TOP_K,
    MET_MSE,
    MET_MAE,
    MET_RMSE,
    MET_PRECISION,
    MET_RECALL
} met_kind;

struct gt_metric {
    met_kind kind;
    char name[96];
    float total, count; /* the Mean state: weighted sum of the values, sum of the weights */
    float tp, fp, fn;   /* Precision / Recall: weighted confusion-matrix counts */
    double threshold;   /* BinaryAccuracy, Precision, Recall */
    int k;              /* the top-k accuracies */
    gt_loss *loss;      /* MeanSquaredError / MeanAbsoluteError: the loss function, unreduced */
};

static gt_metric *met_new(met_kind k, const char *name, const char *dflt) {
    gt_metric *m = calloc(1, sizeof *m);
    if (!m) {
        nn_error("metric: out of memory");
        return NULL;
    }
    m->kind = k;
    snprintf(m->name, sizeof m->name, "%s", name ? name : dflt);
    return m;
}

/* Python's repr of a float: the shortest %g that reads back as x. */
static void float_repr(double x, char *buf, size_t n) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    if (!strpbrk(buf, ".eninf"))
        snprintf(buf + strlen(buf), n - strlen(buf), ".0");
}

/* Precision / Recall: parse_init_thresholds (threshold 0 -> 0.5, GT_ZERO for 0) and its
 * range check. */
static gt_metric *confusion_new(met_kind k, const char *name, const char *dflt, double thr) {
    thr = nn_opt(thr, 0.5);
    if (!(thr >= 0 && thr <= 1)) {
        char r[32];
        float_repr(thr, r, sizeof r);
        nn_error("%s: Threshold values must be in [0, 1]. Received: [%s]", name ? name : dflt, r);
        return NULL;
    }
    gt_metric *m = met_new(k, name, dflt);
    if (m)
        m->threshold = thr;
    return m;
}

static gt_metric *top_k_new(met_kind kind, const char *name, const char *dflt, int k) {
    if (k < 0) {
        nn_error("%s: k must be positive, got %d", name ? name : dflt, k);
        return NULL;
    }
    gt_metric *m = met_new(kind, name, dflt);
    if (m)
        m->k = k ? k : 5;
    return m;
}

/* MeanSquaredError / MeanAbsoluteError: a Mean of the loss function's per-sample values. */
static gt_metric *loss_metric_new(met_kind k, const char *name, const char *dflt,
                                  gt_loss_kind loss) {
    gt_metric *m = met_new(k, name, dflt);
    if (!m)
        return NULL;
    m->loss = gt_loss_new(loss, &(gt_loss_desc){.reduction = GT_REDUCTION_NONE});
    if (!m->loss) {
        free(m);
        return NULL;
    }
    return m;
}

gt_metric *gt_metric_mean(const char *name) {
    return met_new(MET_MEAN, name, "mean");
}
gt_metric *gt_metric_accuracy(const char *name) {
    return met_new(MET_ACC, name, "accuracy");
}
gt_metric *gt_metric_categorical_accuracy(const char *name) {
    return met_new(MET_CAT_ACC, name, "categorical_accuracy");
}
gt_metric *gt_metric_sparse_categorical_accuracy(const char *name) {
    return met_new(MET_SPARSE_CAT_ACC, name, "sparse_categorical_accuracy");
}
gt_metric *gt_metric_binary_accuracy(const char *name, double threshold) {
    gt_metric *m = met_new(MET_BINARY_ACC, name, "binary_accuracy");
    if (m)
        m->threshold = nn_opt(threshold, 0.5);
    return m;
}
gt_metric *gt_metric_top_k_categorical_accuracy(const char *name, int k) {
    return top_k_new(MET_TOP_K, name, "top_k_categorical_accuracy", k);
}
gt_metric *gt_metric_sparse_top_k_categorical_accuracy(const char *name, int k) {
    return top_k_new(MET_SPARSE_TOP_K, name, "sparse_top_k_categorical_accuracy", k);
}
gt_metric *gt_metric_mean_squared_error(const char *name) {
    return loss_metric_new(MET_MSE, name, "mean_squared_error", GT_LOSS_MEAN_SQUARED_ERROR);
}
gt_metric *gt_metric_mean_absolute_error(const char *name) {
    return loss_metric_new(MET_MAE, name, "mean_absolute_error", GT_LOSS_MEAN_ABSOLUTE_ERROR);
}
gt_metric *gt_metric_root_mean_squared_error(const char *name) {
    return met_new(MET_RMSE, name, "root_mean_squared_error");
}
gt_metric *gt_metric_precision(const char *name, double threshold) {
    return confusion_new(MET_PRECISION, name, "precision", threshold);
}
gt_metric *gt_metric_recall(const char *name, double threshold) {
    return confusion_new(MET_RECALL, name, "recall", threshold);
}
void gt_metric_free(gt_metric *m) {
    if (m)
        gt_loss_free(m->loss);
    free(m);
}
const char *gt_metric_name(const gt_metric *m) {
    return m ? m->name : NULL;
}
int gt_metric_direction(const gt_metric *m) {
    if (!m || m->kind == MET_MEAN)
        return 0;
    return m->kind == MET_MSE || m->kind == MET_MAE || m->kind == MET_RMSE ? -1 : 1;
}
void gt_metric_reset(gt_metric *m) {
    if (m)
        m->total = m->count = m->tp = m->fp = m->fn = 0;
}

/* ops.divide_no_nan in float32. */
static float divide_no_nan(float a, float b) {
    return b == 0 ? 0.0f : a / b;
}

double gt_metric_result(const gt_metric *m) {
    if (!m)
        return NAN;
    switch (m->kind) {
    case MET_PRECISION:
        return (double)divide_no_nan(m->tp, m->tp + m->fp);
    case MET_RECALL:
        return (double)divide_no_nan(m->tp, m->tp + m->fn);
    case MET_RMSE:
        return (double)sqrtf(divide_no_nan(m->total, m->count));
    default:
        return (double)divide_no_nan(m->total, m->count);
    }
}

/* Keras' squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1) (losses/loss.py). */
static void same_rank(const gt_tensor **x1, const gt_tensor **x2, bool expand_rank_1) {
    int r1 = gt_tensor_rank(*x1), r2 = gt_tensor_rank(*x2);
    if (r1 == r2 + 1 && gt_tensor_dim(*x1, -1) == 1) {
        if (r2 == 1 && expand_rank_1)
            *x2 = gt_expand_dims(*x2, -1);
        else
            *x1 = gt_squeeze(*x1, GT_AXES(-1));
    } else if (r2 == r1 + 1 && gt_tensor_dim(*x2, -1) == 1) {
        if (r1 == 1 && expand_rank_1)
            *x1 = gt_expand_dims(*x1, -1);
        else
            *x2 = gt_squeeze(*x2, GT_AXES(-1));
    }
}

static gt_tensor *mean_over_trailing(gt_tensor *x, int from) {
    int r = gt_tensor_rank(x);
    if (r <= from)
        return x;
    int axes[GT_MAX_RANK], k = 0;
    for (int a = from; a < r; a++)
        axes[k++] = a;
    return gt_reduce_mean(x, k, axes, false);
}

/* Mean.update_state after reduce_to_samplewise_values (keras/src/metrics/reduction_metrics.py). */
static bool mean_update(gt_metric *m, const gt_tensor *values, const gt_tensor *sw) {
    gt_tensor *v = gt_cast(values, GT_F32);
    gt_tensor *w = NULL;
    if (sw) {
        const gt_tensor *cv = v, *cw = gt_cast(sw, GT_F32);
        if (!cv || !cw)
            return false;
        same_rank(&cv, &cw, true);
        if (!cv || !cw)
            return false;
        int wn = gt_tensor_rank(cw);
        v = mean_over_trailing((gt_tensor *)cv, wn);
        w = gt_broadcast_to(cw, gt_tensor_rank(v), gt_tensor_shape(v));
        v = gt_mul(v, w);
        if (w && wn > 1)
            w = mean_over_trailing(w, 1);
    }
    v = v ? mean_over_trailing(v, 1) : NULL;
    if (!v || (sw && !w))
        return false;
    double tot = gt_item(gt_reduce_sum(v, GT_ALL, false));
    double cnt = w ? gt_item(gt_reduce_sum(w, GT_ALL, false))
                   : (gt_tensor_rank(v) >= 1 ? (double)gt_tensor_dim(v, 0) : 1.0);
    if (isnan(tot) && !gt_ok())
        return false;
    m->total += (float)tot;
    m->count += (float)cnt;
    return true;
}

bool gt_metric_update_values(gt_metric *m, const gt_tensor *values, const gt_tensor *sw) {
    if (!values)
        return false;
    if (!m) {
        nn_error("metric: NULL metric");
        return false;
    }
    if (m->kind == MET_PRECISION || m->kind == MET_RECALL) {
        nn_error("metric %s: takes y_true and y_pred: use gt_metric_update", m->name);
        return false;
    }
    gt_scope_begin();
    bool ok = mean_update(m, values, sw);
    gt_scope_end();
    return ok;
}

/* A float32 tensor of shape (rank, shape) from host values. */
static gt_tensor *f32_tensor(int rank, const int64_t *shape, const float *v) {
    return gt_tensor_new(GT_F32, rank, shape, v);
}

/* tf.math.in_top_k over the rows of y_pred (its last axis the classes): a row matches when the
 * prediction of its target class is finite and fewer than k classes have a strictly greater
 * one (ties at the boundary count as in the top k); a non-finite prediction in the row or an
 * out-of-range target is no match. The matches take the shape of targets, one per row. */
static gt_tensor *in_top_k(const char *name, const gt_tensor *targets, const gt_tensor *yp,
                           int k) {
    char ts[256], ps[256];
    nn_shape_str(gt_tensor_rank(targets), gt_tensor_shape(targets), ts, sizeof ts);
    nn_shape_str(gt_tensor_rank(yp), gt_tensor_shape(yp), ps, sizeof ps);
    if (gt_tensor_rank(yp) < 2) {
        nn_error("%s: y_pred must have rank >= 2 (batch_size, num_classes). Received: "
                 "y_pred.shape=%s",
                 name, ps);
        return NULL;
    }
    const int64_t classes = gt_tensor_dim(yp, -1), n = gt_tensor_size(yp);
    const int64_t rows = classes ? n / classes : 0;
    if (gt_tensor_size(targets) != rows) {
        nn_error("%s: y_true must have one class per row of y_pred. Received: y_true.shape=%s "
                 "(class ids), y_pred.shape=%s",
                 name, ts, ps);
        return NULL;
    }
    double *p = malloc(sizeof(double) * (size_t)(n + rows + 1));
    float *hit = malloc(sizeof(float) * (size_t)(rows + 1));
    gt_tensor *r = NULL;
    if (!p || !hit) {
        nn_error("%s: out of memory", name);
    } else if (gt_tensor_to_f64(yp, p, n) && gt_tensor_to_f64(targets, p + n, rows)) {
        for (int64_t i = 0; i < rows; i++) {
            const double *row = p + i * classes, t = p[n + i];
            bool ok = t >= 0 && t < (double)classes && isfinite(row[(int64_t)t]);
            int64_t greater = 0;
            for (int64_t j = 0; ok && j < classes; j++) {
                if (!isfinite(row[j]))
                    ok = false;
                else if (row[j] > row[(int64_t)t])
                    greater++;
            }
            hit[i] = ok && greater < k ? 1.0f : 0.0f;
        }
        r = f32_tensor(gt_tensor_rank(targets), gt_tensor_shape(targets), hit);
    }
    free(p);
    free(hit);
    return r;
}

/* The per-sample values a MeanMetricWrapper (or RootMeanSquaredError) averages. */
static gt_tensor *matches(const gt_metric *m, const gt_tensor *yt, const gt_tensor *yp) {
    const met_kind k = m->kind;
    switch (k) {
    case MET_BINARY_ACC: {
        gt_dtype dt = gt_tensor_dtype(yp);
        if (gt_tensor_dtype(yt) != dt)
            yt = gt_cast(yt, dt);
        if (!yt)
            return NULL;
        same_rank(&yt, &yp, true);
        gt_tensor *pred = gt_cast(gt_greater(yp, gt_scalar_of(dt, m->threshold)), dt);
        return gt_cast(gt_equal(yt, pred), GT_F32);
    }
    case MET_TOP_K:
        return in_top_k(m->name, gt_argmax(yt, -1, GT_I64), yp, m->k);
    case MET_SPARSE_TOP_K:
        return in_top_k(m->name, yt, yp, m->k);
    case MET_MSE:
    case MET_MAE:
        return gt_loss_call(m->loss, yt, yp, NULL);
    case MET_RMSE:
        yt = gt_cast(yt, GT_F32);
        yp = gt_cast(yp, GT_F32);
        if (!yt || !yp)
            return NULL;
        same_rank(&yt, &yp, true);
        return gt_square(gt_sub(yp, yt));
    default:
        break;
    }
    if (k == MET_ACC) {
        gt_dtype dt = gt_tensor_dtype(yp);
        if (gt_tensor_dtype(yt) != dt)
            yt = gt_cast(yt, dt);
        int r1 = gt_tensor_rank(yt), r2 = gt_tensor_rank(yp);
        if (r1 == r2 + 1 && gt_tensor_dim(yt, -1) == 1)
            yt = gt_squeeze(yt, GT_AXES(-1));
        else if (r2 == r1 + 1 && gt_tensor_dim(yp, -1) == 1)
            yp = gt_squeeze(yp, GT_AXES(-1));
        return gt_cast(gt_equal(yt, yp), GT_F32);
    }
    if (k == MET_CAT_ACC)
        yt = gt_argmax(yt, -1, GT_I64);
    if (!yt)
        return NULL;
    const int64_t *org = gt_tensor_shape(yt);
    int org_rank = gt_tensor_rank(yt);
    int64_t org_shape[GT_MAX_RANK];
    memcpy(org_shape, org, sizeof(int64_t) * (size_t)org_rank);
    bool reshape = false;
    if (gt_tensor_rank(yt) == gt_tensor_rank(yp) &&
        (k == MET_CAT_ACC || gt_tensor_dim(yt, -1) == 1)) {
        yt = gt_squeeze(yt, GT_AXES(-1));
        reshape = true;
    }
    gt_tensor *am = gt_argmax(yp, -1, GT_I64);
    if (!yt || !am)
        return NULL;
    if (gt_tensor_dtype(yt) != GT_I64)
        am = gt_cast(am, gt_tensor_dtype(yt));
    gt_tensor *r = gt_cast(gt_equal(yt, am), GT_F32);
    if (reshape && r)
        r = gt_reshape(r, org_rank, org_shape);
    return r;
}

/* update_confusion_matrix_variables for one threshold: y_true != 0 is a positive label,
 * y_pred > threshold (in float32) a positive prediction; sample weights of rank 1 weigh the
 * samples (every label of a row), of y_true's rank each label. */
static bool confusion_update(gt_metric *m, const gt_tensor *yt, const gt_tensor *yp,
                             const gt_tensor *sw) {
    yt = gt_cast(yt, GT_F32);
    yp = gt_cast(yp, GT_F32);
    if (!yt || !yp)
        return false;
    same_rank(&yp, &yt, true);
    if (!yt || !yp)
        return false;
    const int64_t n = gt_tensor_size(yp);
    if (gt_tensor_size(yt) != n) {
        char ts[256], ps[256];
        nn_shape_str(gt_tensor_rank(yt), gt_tensor_shape(yt), ts, sizeof ts);
        nn_shape_str(gt_tensor_rank(yp), gt_tensor_shape(yp), ps, sizeof ps);
        nn_error("%s: y_true and y_pred must have the same number of values. Received: "
                 "y_true.shape=%s, y_pred.shape=%s",
                 m->name, ts, ps);
        return false;
    }
    const gt_tensor *w = NULL;
    if (sw) {
        const gt_tensor *t = yt;
        w = gt_expand_dims(gt_cast(sw, GT_F32), -1);
        if (!w)
            return false;
        same_rank(&t, &w, false);
        w = w ? gt_broadcast_to(w, gt_tensor_rank(yp), gt_tensor_shape(yp)) : NULL;
        if (!w)
            return false;
    }
    double *v = malloc(sizeof(double) * (size_t)(3 * n + 1));
    if (!v) {
        nn_error("%s: out of memory", m->name);
        return false;
    }
    bool ok = gt_tensor_to_f64(yt, v, n) && gt_tensor_to_f64(yp, v + n, n) &&
              (!w || gt_tensor_to_f64(w, v + 2 * n, n));
    if (ok) {
        const double thr = (double)(float)m->threshold;
        double tp = 0, fp = 0, fn = 0;
        for (int64_t i = 0; i < n; i++) {
            const bool label = v[i] != 0, pred = v[n + i] > thr;
            const double wi = w ? v[2 * n + i] : 1.0;
            tp += label && pred ? wi : 0;
            fp += !label && pred ? wi : 0;
            fn += label && !pred ? wi : 0;
        }
        m->tp += (float)tp;
        m->fp += (float)fp;
        m->fn += (float)fn;
    }
    free(v);
    return ok;
}

bool gt_metric_update(gt_metric *m, const gt_tensor *y_true, const gt_tensor *y_pred,
                      const gt_tensor *sw) {
    if (!y_true || !y_pred)
        return false;
    if (!m) {
        nn_error("metric: NULL metric");
        return false;
    }
    if (m->kind == MET_MEAN) {
        nn_error("metric %s: Mean takes values: use gt_metric_update_values", m->name);
        return false;
    }
    gt_scope_begin();
    bool ok;
    if (m->kind == MET_PRECISION || m->kind == MET_RECALL) {
        ok = confusion_update(m, y_true, y_pred, sw);
    } else {
        gt_tensor *mt = matches(m, y_true, y_pred);
        ok = mt && mean_update(m, mt, sw);
    }
    gt_scope_end();
    return ok;
}
