/* keras.metrics: Mean and the accuracy metrics (MeanMetricWrapper over per-sample matches),
 * with Keras' reduce_to_samplewise_values for sample weights. State is float32 like Keras'. */
#include "nn_internal.h"

#include <stdlib.h>
#include <string.h>

typedef enum { MET_MEAN, MET_ACC, MET_CAT_ACC, MET_SPARSE_CAT_ACC } met_kind;

struct gt_metric {
    met_kind kind;
    char name[96];
    float total, count;
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
void gt_metric_free(gt_metric *m) {
    free(m);
}
const char *gt_metric_name(const gt_metric *m) {
    return m ? m->name : NULL;
}
void gt_metric_reset(gt_metric *m) {
    if (m)
        m->total = m->count = 0;
}
double gt_metric_result(const gt_metric *m) {
    if (!m)
        return NAN;
    return m->count == 0 ? 0.0 : (double)(m->total / m->count);
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
        w = gt_cast(sw, GT_F32);
        int rv = gt_tensor_rank(v), rw = gt_tensor_rank(w);
        /* squeeze_or_expand_to_same_rank(values, sample_weight) */
        if (rv == rw + 1 && gt_tensor_dim(v, -1) == 1) {
            if (rw == 1)
                w = gt_expand_dims(w, -1);
            else
                v = gt_squeeze(v, GT_AXES(-1));
        } else if (rw == rv + 1 && gt_tensor_dim(w, -1) == 1) {
            if (rv == 1)
                v = gt_expand_dims(v, -1);
            else
                w = gt_squeeze(w, GT_AXES(-1));
        }
        if (!v || !w)
            return false;
        int wn = gt_tensor_rank(w);
        v = mean_over_trailing(v, wn);
        w = gt_broadcast_to(w, gt_tensor_rank(v), gt_tensor_shape(v));
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
    gt_scope_begin();
    bool ok = mean_update(m, values, sw);
    gt_scope_end();
    return ok;
}

static gt_tensor *matches(met_kind k, const gt_tensor *yt, const gt_tensor *yp) {
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
    gt_tensor *mt = matches(m->kind, y_true, y_pred);
    bool ok = mt && mean_update(m, mt, sw);
    gt_scope_end();
    return ok;
}
