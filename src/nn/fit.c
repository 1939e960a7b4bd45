/* model.fit / evaluate / predict (keras/src/backend/tensorflow/trainer.py, Keras 3), written on
 * the public API: each training step is one scope holding a forward pass with training=true
 * under a tape, the loss, the tape's gradient of the trainable variables and
 * optimizer.apply_gradients; the loss is tracked by a Mean weighted by the batch size, the
 * metrics by their own state; logs are sorted by name as Keras' _pythonify_logs sorts them, and
 * validation results are added as val_<name>. Once warm, a step makes no system allocation:
 * tensors come from the allocator's cache, tapes from the tape cache, batches from the
 * dataset's staging buffer, and the progress line is formatted in a fixed buffer. */
#include "nn_internal.h"

#include "gradtape_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- logs templates: {metric names..., "loss"} sorted, optionally prefixed --------------- */

typedef struct tracked {
    int n;                  /* entries: loss tracker + metrics */
    gt_metric *m[GT_LOGS_MAX];
    int order[GT_LOGS_MAX]; /* sorted by name */
} tracked;

static bool tracked_init(tracked *t, gt_metric *loss_tracker, int nm, gt_metric *const *ms) {
    if (nm < 0 || (nm > 0 && !ms) || nm + 1 > GT_LOGS_MAX / 2) {
        nn_error("fit: metrics must be an array of at most %d metrics (got %d)",
                 GT_LOGS_MAX / 2 - 1, nm);
        return false;
    }
    t->n = 0;
    t->m[t->n++] = loss_tracker;
    for (int i = 0; i < nm; i++) {
        if (!ms[i]) {
            nn_error("fit: metrics[%d] is NULL", i);
            return false;
        }
        const char *nmi = gt_metric_name(ms[i]);
        if (strlen(nmi) + 5 >= GT_LOGS_NAME_MAX) {
            nn_error("fit: metric name '%s' is too long", nmi);
            return false;
        }
        for (int j = 0; j < t->n; j++)
            if (strcmp(gt_metric_name(t->m[j]), nmi) == 0) {
                nn_error("fit: two metrics are named '%s'; give each a different name", nmi);
                return false;
            }
        t->m[t->n++] = ms[i];
    }
    for (int i = 0; i < t->n; i++)
        t->order[i] = i;
    for (int i = 1; i < t->n; i++)
        for (int j = i; j > 0; j--) {
            if (strcmp(gt_metric_name(t->m[t->order[j - 1]]), gt_metric_name(t->m[t->order[j]])) <= 0)
                break;
            int x = t->order[j];
            t->order[j] = t->order[j - 1];
            t->order[j - 1] = x;
        }
    return true;
}

static void tracked_reset(const tracked *t) {
    for (int i = 0; i < t->n; i++)
        gt_metric_reset(t->m[i]);
}

/* Writes the results into logs under prefix + name (sorted). */
static void tracked_logs(const tracked *t, const char *prefix, gt_logs *logs) {
    char name[GT_LOGS_NAME_MAX];
    for (int i = 0; i < t->n; i++) {
        gt_metric *m = t->m[t->order[i]];
        snprintf(name, sizeof name, "%s%s", prefix, gt_metric_name(m));
        gt_logs_set(logs, name, gt_metric_result(m));
    }
}

/* The step's bookkeeping: loss mean weighted by the batch size, then each metric. */
static bool tracked_update(const tracked *t, const gt_tensor *loss, const gt_tensor *y,
                           const gt_tensor *pred) {
    int64_t b = gt_tensor_rank(pred) > 0 ? gt_tensor_dim(pred, 0) : 1;
    if (!gt_metric_update_values(t->m[0], loss, gt_scalar((double)b)))
        return false;
    for (int i = 1; i < t->n; i++)
        if (!gt_metric_update(t->m[i], y, pred, NULL))
            return false;
    return true;
}

static int verbosity(int v) {
    return v == GT_VERBOSE_AUTO ? 1 : v < 0 ? 0 : v;
}

/* ---- the model's trainable variables, grown when the model builds on its first call ------ */

typedef struct varlist {
    int n, cap;
    gt_tensor **vars, **grads;
} varlist;

static bool varlist_refresh(varlist *v, gt_model *m) {
    int n = gt_layer_trainable_variables(gt_model_layer(m), v->vars, v->cap);
    if (n > v->cap) {
        gt_tensor **nv = realloc(v->vars, sizeof *nv * (size_t)n);
        if (nv)
            v->vars = nv;
        gt_tensor **ng = nv ? realloc(v->grads, sizeof *ng * (size_t)n) : NULL;
        if (ng)
            v->grads = ng;
        if (!nv || !ng) {
            nn_error("fit: out of memory for %d variables", n);
            return false;
        }
        v->cap = n;
        n = gt_layer_trainable_variables(gt_model_layer(m), v->vars, v->cap);
    }
    v->n = n;
    return true;
}

static void varlist_free(varlist *v) {
    free(v->vars);
    free(v->grads);
}

/* ---- one training step and one test step --------------------------------------------------- */

static bool train_step(gt_model *model, const gt_loss *loss, gt_optimizer *opt, varlist *vl,
                       const tracked *t, gt_tensor *x, gt_tensor *y) {
    gt_tape *tape = gt_tape_begin(NULL);
    if (!tape)
        return false;
    gt_tensor *pred = gt_model_call(model, x, true);
    gt_tensor *l = pred ? gt_loss_call(loss, y, pred, NULL) : NULL;
    gt_tape_end(tape);
    bool ok = l != NULL && varlist_refresh(vl, model);
    if (ok && vl->n == 0) {
        nn_error("fit: the model has no trainable variables");
        ok = false;
    }
    if (ok)
        ok = gt_tape_gradient(tape, 1, (const gt_tensor *const *)&l, NULL, vl->n,
                              (const gt_tensor *const *)vl->vars, GT_UNCONNECTED_NONE, vl->grads);
    gt_tape_free(tape);
    if (ok)
        ok = gt_optimizer_apply_gradients(opt, vl->n, vl->grads, vl->vars);
    if (ok)
        ok = tracked_update(t, l, y, pred);
    return ok;
}

static bool need_y(gt_tensor *y, const char *fn) {
    if (!y) {
        nn_error("%s: the dataset has no labels or targets (y); give it labels", fn);
        return false;
    }
    return true;
}

/* Runs the model over ds (stored order) with training=false, updating the trackers. */
static bool test_loop(gt_model *model, gt_dataset *ds, int64_t bs, const gt_loss *loss,
                      const tracked *t, int verbose, FILE *out, const char *fn) {
    gt_dataset_unshuffle(ds);
    int64_t nb = gt_dataset_num_batches(ds, bs);
    if (nb < 0)
        return false;
    if (nb == 0) {
        nn_error("%s: the dataset is empty", fn);
        return false;
    }
    tracked_reset(t);
    gt_progbar *pb = verbose ? gt_progbar_new(nb, verbose, out) : NULL;
    gt_logs logs = {0};
    bool ok = true;
    for (int64_t i = 0; i < nb && ok; i++) {
        gt_scope_begin();
        gt_tensor *x, *y;
        ok = gt_dataset_batch(ds, bs, i, &x, &y) && need_y(y, fn);
        gt_tensor *pred = ok ? gt_model_call(model, x, false) : NULL;
        gt_tensor *l = pred ? gt_loss_call(loss, y, pred, NULL) : NULL;
        ok = l && tracked_update(t, l, y, pred);
        gt_scope_end();
        if (ok && pb) {
            logs.n = 0;
            tracked_logs(t, "", &logs);
            gt_progbar_update(pb, i + 1, &logs, i + 1 == nb);
        }
    }
    if (!ok && pb && verbose == 1)
        fputc('\n', out);
    gt_progbar_free(pb);
    return ok;
}

/* ---- fit ----------------------------------------------------------------------------------- */

static bool call_hook_begin(int n, gt_callback *const *cbs, gt_fit_state *st) {
    for (int i = 0; i < n; i++)
        if (cbs[i]->vt->on_train_begin && !cbs[i]->vt->on_train_begin(cbs[i], st))
            return false;
    return true;
}

static bool has_batch_hook(int n, gt_callback *const *cbs) {
    for (int i = 0; i < n; i++)
        if (cbs[i]->vt->on_train_batch_end)
            return true;
    return false;
}

static bool call_hook_batch_end(int n, gt_callback *const *cbs, gt_fit_state *st, int64_t batch,
                                const gt_logs *logs) {
    for (int i = 0; i < n; i++)
        if (cbs[i]->vt->on_train_batch_end &&
            !cbs[i]->vt->on_train_batch_end(cbs[i], st, batch, logs))
            return false;
    return true;
}

bool gt_model_fit(gt_model *model, gt_dataset *train, const gt_fit_desc *desc,
                  const gt_loss *loss, gt_optimizer *opt, gt_history **history) {
    if (history)
        *history = NULL;
    gt_fit_desc d = desc ? *desc : (gt_fit_desc){0};
    if (!model || !train || !loss || !opt) {
        nn_error("fit: model, dataset, loss and optimizer are required (got %s%s%s%s NULL)",
                 model ? "" : "model ", train ? "" : "dataset ", loss ? "" : "loss ",
                 opt ? "" : "optimizer ");
        return false;
    }
    int64_t epochs = d.epochs ? d.epochs : 1, bs = d.batch_size ? d.batch_size : 32;
    if (epochs < 0 || bs < 0 || d.initial_epoch < 0 || d.initial_epoch > epochs) {
        nn_error("fit: epochs (%lld) and batch_size (%lld) must be > 0 and initial_epoch (%lld) "
                 "in [0, epochs]",
                 (long long)epochs, (long long)bs, (long long)d.initial_epoch);
        return false;
    }
    if (d.validation_split != 0 && d.validation_data) {
        nn_error("fit: give validation_split or validation_data, not both");
        return false;
    }
    if (d.ncallbacks < 0 || (d.ncallbacks > 0 && !d.callbacks)) {
        nn_error("fit: callbacks must be an array of ncallbacks callbacks");
        return false;
    }
    for (int i = 0; i < d.ncallbacks; i++)
        if (!d.callbacks[i] || !d.callbacks[i]->vt) {
            nn_error("fit: callbacks[%d] is NULL", i);
            return false;
        }
    int verbose = verbosity(d.verbose);
    FILE *out = d.out ? d.out : stdout;

    gt_dataset *tr = train, *va = d.validation_data, *own_tr = NULL, *own_va = NULL;
    if (d.validation_split != 0) {
        if (!gt_dataset_split(train, d.validation_split, &own_tr, &own_va))
            return false;
        tr = own_tr;
        va = own_va;
    }
    gt_metric *loss_tracker = gt_metric_mean("loss");
    gt_history *h = gt_history_new();
    tracked t;
    varlist vl = {0};
    bool ok = loss_tracker && h && tracked_init(&t, loss_tracker, d.nmetrics, d.metrics);
    int64_t nb = ok ? gt_dataset_num_batches(tr, bs) : -1;
    if (ok && nb <= 0) {
        if (nb == 0)
            nn_error("fit: the training set is empty");
        ok = false;
    }
    gt_fit_state st = {model, opt, epochs, nb, verbose, out, false, d.nmetrics, d.metrics};
    gt_logs logs = {0};
    const bool batch_hooks = has_batch_hook(d.ncallbacks, d.callbacks);
    ok = ok && call_hook_begin(d.ncallbacks, d.callbacks, &st);
    for (int64_t epoch = d.initial_epoch; ok && epoch < epochs && !st.stop_training; epoch++) {
        for (int i = 0; i < d.ncallbacks && ok; i++)
            if (d.callbacks[i]->vt->on_epoch_begin)
                ok = d.callbacks[i]->vt->on_epoch_begin(d.callbacks[i], &st, epoch);
        if (!ok)
            break;
        if (verbose && epochs > 1) {
            fprintf(out, "Epoch %lld/%lld\n", (long long)epoch + 1, (long long)epochs);
            fflush(out);
        }
        if (d.no_shuffle)
            gt_dataset_unshuffle(tr);
        else if (!(ok = gt_dataset_shuffle(tr, d.seed, epoch)))
            break;
        tracked_reset(&t);
        gt_progbar *pb = verbose ? gt_progbar_new(nb, verbose, out) : NULL;
        /* Keras: batch callbacks, then the bar; a stop requested by then ends the epoch */
        for (int64_t i = 0; i < nb && ok; i++) {
            gt_scope_begin();
            gt_tensor *x, *y;
            ok = gt_dataset_batch(tr, bs, i, &x, &y) && need_y(y, "fit") &&
                 train_step(model, loss, opt, &vl, &t, x, y);
            gt_scope_end();
            if (ok && (batch_hooks || (pb && i + 1 < nb))) {
                logs.n = 0;
                tracked_logs(&t, "", &logs);
            }
            if (ok && batch_hooks)
                ok = call_hook_batch_end(d.ncallbacks, d.callbacks, &st, i, &logs);
            if (ok && pb && i + 1 < nb)
                gt_progbar_update(pb, i + 1, &logs, false);
            if (st.stop_training)
                break;
        }
        if (ok) {
            logs.n = 0;
            tracked_logs(&t, "", &logs);
            if (va) {
                gt_logs vlogs = logs;
                ok = test_loop(model, va, bs, loss, &t, 0, out, "fit (validation)");
                if (ok)
                    tracked_logs(&t, "val_", &vlogs);
                logs = vlogs;
            }
        }
        if (pb) {
            if (ok)
                gt_progbar_update(pb, nb, &logs, true);
            else if (verbose == 1)
                fputc('\n', out);
            gt_progbar_free(pb);
        }
        for (int i = 0; i < d.ncallbacks && ok; i++)
            if (d.callbacks[i]->vt->on_epoch_end)
                ok = d.callbacks[i]->vt->on_epoch_end(d.callbacks[i], &st, epoch, &logs);
        if (ok)
            ok = gt_history_append(h, epoch, &logs);
    }
    for (int i = 0; i < d.ncallbacks && ok; i++)
        if (d.callbacks[i]->vt->on_train_end)
            ok = d.callbacks[i]->vt->on_train_end(d.callbacks[i], &st, &logs);
    fflush(out);
    varlist_free(&vl);
    gt_metric_free(loss_tracker);
    gt_dataset_free(own_tr);
    gt_dataset_free(own_va);
    if (history)
        *history = h;
    else
        gt_history_free(h);
    return ok;
}

/* ---- evaluate / predict / build ------------------------------------------------------------ */

bool gt_model_evaluate(gt_model *model, gt_dataset *ds, const gt_eval_desc *desc,
                       const gt_loss *loss, gt_logs *logs) {
    gt_eval_desc d = desc ? *desc : (gt_eval_desc){0};
    if (logs)
        *logs = (gt_logs){0};
    if (!model || !ds || !loss) {
        nn_error("evaluate: model, dataset and loss are required");
        return false;
    }
    int64_t bs = d.batch_size ? d.batch_size : 32;
    if (bs < 0) {
        nn_error("evaluate: batch_size must be > 0, got %lld", (long long)bs);
        return false;
    }
    gt_metric *lt = gt_metric_mean("loss");
    tracked t;
    bool ok = lt && tracked_init(&t, lt, d.nmetrics, d.metrics) &&
              test_loop(model, ds, bs, loss, &t, verbosity(d.verbose), d.out ? d.out : stdout,
                        "evaluate");
    if (ok && logs)
        tracked_logs(&t, "", logs);
    gt_metric_free(lt);
    return ok;
}

gt_tensor *gt_model_predict(gt_model *model, gt_dataset *ds, const gt_eval_desc *desc) {
    gt_eval_desc d = desc ? *desc : (gt_eval_desc){0};
    if (!model || !ds) {
        nn_error("predict: model and dataset are required");
        return NULL;
    }
    int64_t bs = d.batch_size ? d.batch_size : 32;
    int64_t nb = gt_dataset_num_batches(ds, bs), n = gt_dataset_size(ds);
    if (nb <= 0) {
        if (nb == 0)
            nn_error("predict: the dataset is empty");
        return NULL;
    }
    gt_dataset_unshuffle(ds);
    int verbose = verbosity(d.verbose);
    FILE *out = d.out ? d.out : stdout;
    gt_progbar *pb = verbose ? gt_progbar_new(nb, verbose, out) : NULL;
    char *buf = NULL;
    size_t per = 0, es = 0; /* bytes per sample, per element */
    int rank = 0;
    int64_t shape[GT_MAX_RANK];
    gt_dtype dt = GT_F32;
    bool ok = true;
    int64_t row = 0;
    for (int64_t i = 0; i < nb && ok; i++) {
        gt_scope_begin();
        gt_tensor *x, *y;
        ok = gt_dataset_batch(ds, bs, i, &x, &y);
        gt_tensor *p = ok ? gt_model_call(model, x, false) : NULL;
        ok = p != NULL;
        if (ok && !buf) {
            dt = gt_tensor_dtype(p);
            rank = gt_tensor_rank(p);
            memcpy(shape, gt_tensor_shape(p), sizeof(int64_t) * (size_t)rank);
            es = gt_dtype_size(dt);
            per = rank ? (size_t)(gt_tensor_size(p) / shape[0]) * es : 0;
            buf = rank ? malloc(per * (size_t)n + 1) : NULL;
            if (!buf) {
                nn_error(rank ? "predict: out of memory" : "predict: the model returned a scalar");
                ok = false;
            }
        }
        if (ok) {
            int64_t b = gt_tensor_dim(p, 0);
            if ((size_t)(gt_tensor_size(p) / (b ? b : 1)) * es != per || row + b > n) {
                nn_error("predict: batch %lld's output shape differs from the first batch's",
                         (long long)i);
                ok = false;
            } else {
                memcpy(buf + (size_t)row * per, gt_tensor_data(p), per * (size_t)b);
                row += b;
            }
        }
        gt_scope_end();
        if (ok && pb)
            gt_progbar_update(pb, i + 1, NULL, i + 1 == nb);
    }
    gt_progbar_free(pb);
    gt_tensor *res = NULL;
    if (ok) {
        shape[0] = n;
        res = gt_tensor_new(dt, rank, shape, buf);
    }
    free(buf);
    return res;
}

/* Marks the batch axis of every recorded output shape unknown (summary prints None). */
static void unknown_batch(gt_layer *l) {
    if (l->out_rank >= 1)
        l->out_shape[0] = -1;
    for (int i = 0; i < l->nchildren; i++)
        unknown_batch(l->children[i]);
}

bool gt_model_build(gt_model *model, int rank, const int64_t *input_shape) {
    if (!model) {
        nn_error("model build: NULL model");
        return false;
    }
    if (gt_layer_built(gt_model_layer(model)) && gt_layer_variables(gt_model_layer(model), NULL, 0) > 0)
        return true;
    /* A batch axis of -1 is Keras' None: build on one sample, record the batch as unknown */
    const bool none = rank >= 1 && input_shape && input_shape[0] == -1;
    int64_t shape[GT_MAX_RANK];
    if (none) {
        if (rank > GT_MAX_RANK) {
            nn_error("model build: rank %d exceeds %d", rank, GT_MAX_RANK);
            return false;
        }
        memcpy(shape, input_shape, sizeof(int64_t) * (size_t)rank);
        shape[0] = 1;
        input_shape = shape;
    }
    gt_scope_begin();
    gt_tensor *z = gt_zeros(GT_F32, rank, input_shape);
    bool ok = z && gt_model_call(model, z, false) != NULL;
    gt_scope_end();
    if (ok && none)
        unknown_batch(gt_model_layer(model));
    return ok;
}
