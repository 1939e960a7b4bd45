/* keras.callbacks: EarlyStopping, ModelCheckpoint, LearningRateScheduler, a user function
 * (LambdaCallback's on_epoch_end), ReduceLROnPlateau and TerminateOnNaN, with Keras 3's logic
 * and messages. */
#include "nn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gt_callback_free(gt_callback *cb) {
    if (!cb)
        return;
    if (cb->vt && cb->vt->destroy)
        cb->vt->destroy(cb);
    free(cb);
}

/* Keras 3's MonitorCallback._set_monitor_op, run at each epoch end until settled ("delay
 * setup until the model's metrics are all built"): auto becomes "min" for the loss, else the
 * direction of fit's metric of that name (val_ stripped); when neither decides, Keras' error
 * (who: the callback's class name). *mode is GT_MODE_MIN or GT_MODE_MAX after success. */
static bool settle_mode(const char *who, gt_monitor_mode *mode, const char *monitor,
                        const gt_fit_state *st) {
    if (*mode != GT_MODE_AUTO)
        return true;
    const char *metric = strncmp(monitor, "val_", 4) == 0 ? monitor + 4 : monitor;
    int dir = strcmp(metric, "loss") == 0 ? -1 : 0;
    for (int i = 0; i < st->nmetrics; i++)
        if (st->metrics[i] && strcmp(gt_metric_name(st->metrics[i]), metric) == 0 &&
            gt_metric_direction(st->metrics[i]) != 0)
            dir = gt_metric_direction(st->metrics[i]);
    if (dir == 0) {
        nn_error("%s callback received monitor=%s, but Keras isn't able to automatically "
                 "determine whether that metric should be maximized or minimized. Pass "
                 "`mode='max'` in order to monitor based on the highest metric value, or pass "
                 "`mode='min'` in order to use the lowest value.",
                 who, monitor);
        return false;
    }
    *mode = dir > 0 ? GT_MODE_MAX : GT_MODE_MIN;
    return true;
}

static void available(const gt_logs *logs, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < logs->n && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? "," : "", logs->names[i]);
}

/* ---- EarlyStopping ------------------------------------------------------------------------ */

typedef struct early_stopping {
    gt_callback base;
    char monitor[GT_LOGS_NAME_MAX];
    double min_delta;
    int64_t patience, start_from_epoch;
    gt_monitor_mode mode; /* auto until the first epoch end settles it */
    bool restore;
    int verbose;
    /* state */
    int64_t wait, stopped_epoch, best_epoch;
    bool has_best;
    double best;
    int nw;
    gt_tensor **best_weights; /* retained snapshots of every model variable */
} early_stopping;

static void es_drop_weights(early_stopping *e) {
    for (int i = 0; i < e->nw; i++)
        gt_release(e->best_weights[i]);
    free(e->best_weights);
    e->best_weights = NULL;
    e->nw = 0;
}

static bool es_snapshot(early_stopping *e, gt_model *m) {
    gt_layer *l = gt_model_layer(m);
    int n = gt_layer_variables(l, NULL, 0);
    gt_tensor **vars = malloc(sizeof *vars * (size_t)(n ? n : 1));
    gt_tensor **snap = calloc((size_t)(n ? n : 1), sizeof *snap);
    if (!vars || !snap) {
        free(vars);
        free(snap);
        nn_error("EarlyStopping: out of memory saving the best weights");
        return false;
    }
    gt_layer_variables(l, vars, n);
    gt_scope_begin();
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        /* gt_variable_value snapshots the value (copy-on-write), so later updates don't touch it */
        gt_tensor *v = gt_variable_value(vars[i]);
        ok = v != NULL;
        if (ok)
            snap[i] = gt_retain(v);
    }
    gt_scope_end();
    free(vars);
    if (!ok) {
        for (int i = 0; i < n; i++)
            gt_release(snap[i]);
        free(snap);
        return false;
    }
    es_drop_weights(e);
    e->best_weights = snap;
    e->nw = n;
    return true;
}

static bool es_train_begin(gt_callback *cb, gt_fit_state *st) {
    (void)st;
    early_stopping *e = (early_stopping *)cb;
    e->wait = 0;
    e->stopped_epoch = 0;
    e->best_epoch = 0;
    e->has_best = false;
    es_drop_weights(e);
    return true;
}

/* Keras' MonitorCallback._is_improvement: monitor_op(current - min_delta, reference), with
 * min_delta (>= 0) negated for "min". */
static bool improves(bool maximize, double min_delta, double cur, double ref) {
    return maximize ? cur - min_delta > ref : cur + min_delta < ref;
}

static bool es_epoch_end(gt_callback *cb, gt_fit_state *st, int64_t epoch, gt_logs *logs) {
    early_stopping *e = (early_stopping *)cb;
    if (!settle_mode("EarlyStopping", &e->mode, e->monitor, st))
        return false;
    if (!gt_logs_has(logs, e->monitor)) {
        char av[1024];
        available(logs, av, sizeof av);
        gt_warn("Early stopping conditioned on metric `%s` which is not available. Available "
                "metrics are: %s",
                e->monitor, av);
        return true;
    }
    double cur = gt_logs_get(logs, e->monitor);
    if (epoch < e->start_from_epoch)
        return true;
    if (e->restore && !e->best_weights) {
        if (!es_snapshot(e, st->model))
            return false;
        e->best_epoch = epoch;
    }
    e->wait++;
    if (!e->has_best || improves(e->mode == GT_MODE_MAX, e->min_delta, cur, e->best)) {
        e->best = cur;
        e->has_best = true;
        e->best_epoch = epoch;
        if (e->restore && !es_snapshot(e, st->model))
            return false;
        e->wait = 0;
        return true;
    }
    if (e->wait >= e->patience && epoch > 0) {
        e->stopped_epoch = epoch;
        st->stop_training = true;
    }
    return true;
}

static bool es_train_end(gt_callback *cb, gt_fit_state *st, const gt_logs *logs) {
    (void)logs;
    early_stopping *e = (early_stopping *)cb;
    if (e->stopped_epoch > 0 && e->verbose > 0)
        fprintf(st->out, "Epoch %lld: early stopping\n", (long long)e->stopped_epoch + 1);
    if (e->restore && e->best_weights) {
        if (e->verbose > 0)
            fprintf(st->out, "Restoring model weights from the end of the best epoch: %lld.\n",
                    (long long)e->best_epoch + 1);
        gt_layer *l = gt_model_layer(st->model);
        int n = gt_layer_variables(l, NULL, 0);
        if (n != e->nw) {
            nn_error("EarlyStopping: the model has %d variables, %d were saved", n, e->nw);
            return false;
        }
        gt_tensor **vars = malloc(sizeof *vars * (size_t)(n ? n : 1));
        if (!vars) {
            nn_error("EarlyStopping: out of memory");
            return false;
        }
        gt_layer_variables(l, vars, n);
        bool ok = true;
        for (int i = 0; i < n && ok; i++)
            ok = gt_variable_assign(vars[i], e->best_weights[i]);
        free(vars);
        if (!ok)
            return false;
    }
    return true;
}

static void es_destroy(gt_callback *cb) {
    es_drop_weights((early_stopping *)cb);
}

static const gt_callback_vtable es_vt = {.name = "EarlyStopping",
                                         .on_train_begin = es_train_begin,
                                         .on_epoch_end = es_epoch_end,
                                         .on_train_end = es_train_end,
                                         .destroy = es_destroy};

gt_callback *gt_early_stopping(const gt_early_stopping_desc *desc) {
    gt_early_stopping_desc d = desc ? *desc : (gt_early_stopping_desc){0};
    const char *mon = d.monitor ? d.monitor : "val_loss";
    if (strlen(mon) >= GT_LOGS_NAME_MAX || d.patience < 0 || d.start_from_epoch < 0 ||
        d.mode < GT_MODE_AUTO || d.mode > GT_MODE_MAX) {
        nn_error("EarlyStopping: invalid options (monitor '%s', patience %lld, mode %d)", mon,
                 (long long)d.patience, (int)d.mode);
        return NULL;
    }
    early_stopping *e = calloc(1, sizeof *e);
    if (!e) {
        nn_error("EarlyStopping: out of memory");
        return NULL;
    }
    e->base.vt = &es_vt;
    snprintf(e->monitor, sizeof e->monitor, "%s", mon);
    e->min_delta = fabs(d.min_delta);
    e->patience = d.patience;
    e->start_from_epoch = d.start_from_epoch;
    e->mode = d.mode;
    e->restore = d.restore_best_weights;
    e->verbose = d.verbose;
    return &e->base;
}

int64_t gt_early_stopping_stopped_epoch(const gt_callback *cb) {
    return cb && cb->vt == &es_vt ? ((const early_stopping *)cb)->stopped_epoch : 0;
}

/* ---- ModelCheckpoint ---------------------------------------------------------------------- */

typedef struct model_checkpoint {
    gt_callback base;
    char *path;
    char monitor[GT_LOGS_NAME_MAX];
    gt_monitor_mode mode; /* auto until the first epoch end settles it */
    bool best_only, weights_only;
    int verbose;
    bool has_best;
    double best;
} model_checkpoint;

static bool mc_train_begin(gt_callback *cb, gt_fit_state *st) {
    (void)st;
    ((model_checkpoint *)cb)->has_best = false;
    return true;
}

/* path with "{epoch}" (or "{epoch:02d}"-style) replaced by the 1-based epoch. */
static void mc_path(const model_checkpoint *c, int64_t epoch, char *out, size_t n) {
    const char *s = c->path;
    size_t k = 0;
    while (*s && k + 1 < n) {
        if (strncmp(s, "{epoch", 6) == 0 && strchr(s, '}')) {
            const char *end = strchr(s, '}');
            int width = 0;
            if (s[6] == ':' && s[7] == '0')
                width = atoi(s + 8);
            k += (size_t)snprintf(out + k, n - k, "%0*lld", width, (long long)epoch + 1);
            s = end + 1;
        } else {
            out[k++] = *s++;
        }
    }
    out[k < n ? k : n - 1] = 0;
}

static bool mc_epoch_end(gt_callback *cb, gt_fit_state *st, int64_t epoch, gt_logs *logs) {
    model_checkpoint *c = (model_checkpoint *)cb;
    if (!settle_mode("ModelCheckpoint", &c->mode, c->monitor, st))
        return false;
    char path[4096];
    mc_path(c, epoch, path, sizeof path);
    if (c->best_only) {
        if (!gt_logs_has(logs, c->monitor)) {
            gt_warn("Can save best model only with %s available, skipping.", c->monitor);
            return true;
        }
        double cur = gt_logs_get(logs, c->monitor);
        const bool max = c->mode == GT_MODE_MAX;
        bool better = !c->has_best || (max ? cur > c->best : cur < c->best);
        if (!better) {
            if (c->verbose > 0)
                fprintf(st->out, "\nEpoch %lld: %s did not improve from %.5f\n",
                        (long long)epoch + 1, c->monitor, c->best);
            return true;
        }
        if (c->verbose > 0)
            fprintf(st->out, "\nEpoch %lld: %s improved from %s%.5f to %.5f, saving model to %s\n",
                    (long long)epoch + 1, c->monitor, c->has_best ? "" : (max ? "-" : ""),
                    c->has_best ? c->best : INFINITY, cur, path);
        c->best = cur;
        c->has_best = true;
    } else if (c->verbose > 0) {
        fprintf(st->out, "\nEpoch %lld: saving model to %s\n", (long long)epoch + 1, path);
    }
    return gt_checkpoint_save(path, st->model, c->weights_only ? NULL : st->optimizer, 0, NULL);
}

static void mc_destroy(gt_callback *cb) {
    free(((model_checkpoint *)cb)->path);
}

static const gt_callback_vtable mc_vt = {.name = "ModelCheckpoint",
                                         .on_train_begin = mc_train_begin,
                                         .on_epoch_end = mc_epoch_end,
                                         .destroy = mc_destroy};

gt_callback *gt_model_checkpoint(const gt_model_checkpoint_desc *desc) {
    if (!desc || !desc->path || !*desc->path) {
        nn_error("ModelCheckpoint: a path is required");
        return NULL;
    }
    const char *mon = desc->monitor ? desc->monitor : "val_loss";
    if (strlen(mon) >= GT_LOGS_NAME_MAX || desc->mode < GT_MODE_AUTO || desc->mode > GT_MODE_MAX) {
        nn_error("ModelCheckpoint: invalid monitor '%s' or mode %d", mon, (int)desc->mode);
        return NULL;
    }
    model_checkpoint *c = calloc(1, sizeof *c);
    char *p = c ? malloc(strlen(desc->path) + 1) : NULL;
    if (!c || !p) {
        free(c);
        nn_error("ModelCheckpoint: out of memory");
        return NULL;
    }
    strcpy(p, desc->path);
    c->base.vt = &mc_vt;
    c->path = p;
    snprintf(c->monitor, sizeof c->monitor, "%s", mon);
    c->best_only = desc->save_best_only;
    c->weights_only = desc->weights_only;
    c->mode = desc->mode;
    c->verbose = desc->verbose;
    return &c->base;
}

/* ---- LearningRateScheduler ---------------------------------------------------------------- */

typedef struct lr_scheduler {
    gt_callback base;
    gt_lr_schedule_fn fn;
    void *user;
    int verbose;
} lr_scheduler;

static bool lrs_epoch_begin(gt_callback *cb, gt_fit_state *st, int64_t epoch) {
    lr_scheduler *s = (lr_scheduler *)cb;
    if (gt_optimizer_has_schedule(st->optimizer)) {
        nn_error("LearningRateScheduler: the optimizer has a learning-rate schedule; give it a "
                 "plain learning_rate to use this callback");
        return false;
    }
    double lr = s->fn(epoch, gt_optimizer_learning_rate(st->optimizer), s->user);
    if (!isfinite(lr) || lr < 0) {
        nn_error("LearningRateScheduler: The output of the `schedule` function should be a "
                 "float >= 0. Got: %g",
                 lr);
        return false;
    }
    if (!gt_optimizer_set_learning_rate(st->optimizer, lr))
        return false;
    if (s->verbose > 0)
        fprintf(st->out, "\nEpoch %05lld: LearningRateScheduler setting learning rate to %g.\n",
                (long long)epoch + 1, lr);
    return true;
}

static bool lrs_epoch_end(gt_callback *cb, gt_fit_state *st, int64_t epoch, gt_logs *logs) {
    (void)cb;
    (void)epoch;
    return gt_logs_set(logs, "learning_rate", gt_optimizer_learning_rate(st->optimizer));
}

static const gt_callback_vtable lrs_vt = {.name = "LearningRateScheduler",
                                          .on_epoch_begin = lrs_epoch_begin,
                                          .on_epoch_end = lrs_epoch_end};

gt_callback *gt_learning_rate_scheduler(gt_lr_schedule_fn fn, void *user, int verbose) {
    if (!fn) {
        nn_error("LearningRateScheduler: a schedule function is required");
        return NULL;
    }
    lr_scheduler *s = calloc(1, sizeof *s);
    if (!s) {
        nn_error("LearningRateScheduler: out of memory");
        return NULL;
    }
    s->base.vt = &lrs_vt;
    s->fn = fn;
    s->user = user;
    s->verbose = verbose;
    return &s->base;
}

/* ---- a user function ---------------------------------------------------------------------- */

typedef struct lambda_cb {
    gt_callback base;
    gt_epoch_end_fn fn;
    void *user;
} lambda_cb;

static bool lambda_epoch_end(gt_callback *cb, gt_fit_state *st, int64_t epoch, gt_logs *logs) {
    lambda_cb *l = (lambda_cb *)cb;
    if (!l->fn(epoch, logs, l->user))
        st->stop_training = true;
    return true;
}

static const gt_callback_vtable lambda_vt = {.name = "LambdaCallback",
                                             .on_epoch_end = lambda_epoch_end};

gt_callback *gt_lambda_callback(gt_epoch_end_fn fn, void *user) {
    if (!fn) {
        nn_error("LambdaCallback: an on_epoch_end function is required");
        return NULL;
    }
    lambda_cb *l = calloc(1, sizeof *l);
    if (!l) {
        nn_error("LambdaCallback: out of memory");
        return NULL;
    }
    l->base.vt = &lambda_vt;
    l->fn = fn;
    l->user = user;
    return &l->base;
}

/* ---- ReduceLROnPlateau -------------------------------------------------------------------- */

/* Python's repr of a float, as Keras' f-strings print one: the shortest digits that read back
 * to the same double, in fixed notation for decimal exponents -4..15 (with ".0" on whole
 * numbers), else as 1.5e-05. */
static void py_float(double x, char *buf, size_t n) {
    if (!isfinite(x)) {
        snprintf(buf, n, "%s", isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
        return;
    }
    char e[40];
    int p = 0; /* digits after the first */
    while (snprintf(e, sizeof e, "%.*e", p, x), p < 16 && strtod(e, NULL) != x)
        p++;
    const int exp10 = atoi(strchr(e, 'e') + 1);
    if (exp10 < -4 || exp10 >= 16)
        snprintf(buf, n, "%s", e); /* C's %e writes Python's exponent form (e-05, e+16) */
    else
        snprintf(buf, n, "%.*f", p - exp10 > 0 ? p - exp10 : 1, x);
}

typedef struct reduce_lr {
    gt_callback base;
    char monitor[GT_LOGS_NAME_MAX];
    double factor, min_delta, min_lr;
    int64_t patience, cooldown;
    gt_monitor_mode mode; /* auto until the first epoch end settles it */
    int verbose;
    /* state */
    bool has_best;
    double best;
    int64_t wait, cooldown_counter;
} reduce_lr;

static bool rlr_train_begin(gt_callback *cb, gt_fit_state *st) {
    (void)st;
    reduce_lr *r = (reduce_lr *)cb;
    r->has_best = false;
    r->wait = 0;
    r->cooldown_counter = 0;
    return true;
}

static bool rlr_epoch_end(gt_callback *cb, gt_fit_state *st, int64_t epoch, gt_logs *logs) {
    reduce_lr *r = (reduce_lr *)cb;
    if (!settle_mode("ReduceLROnPlateau", &r->mode, r->monitor, st))
        return false;
    const double lr = gt_optimizer_learning_rate(st->optimizer);
    if (!gt_logs_set(logs, "learning_rate", lr)) {
        nn_error("ReduceLROnPlateau: the logs are full (%d entries); learning_rate does not fit",
                 GT_LOGS_MAX);
        return false;
    }
    if (!gt_logs_has(logs, r->monitor)) {
        char av[1024];
        available(logs, av, sizeof av);
        gt_warn("Learning rate reduction is conditioned on metric `%s` which is not available. "
                "Available metrics are: %s.",
                r->monitor, av);
        return true;
    }
    const double cur = gt_logs_get(logs, r->monitor);
    if (r->cooldown_counter > 0) {
        r->cooldown_counter--;
        r->wait = 0;
    }
    if (!r->has_best || improves(r->mode == GT_MODE_MAX, r->min_delta, cur, r->best)) {
        r->best = cur;
        r->has_best = true;
        r->wait = 0;
        return true;
    }
    if (r->cooldown_counter > 0 || ++r->wait < r->patience)
        return true;
    /* old_lr > np.float32(min_lr): a float32 comparison (the learning rate is float32) */
    if (!((float)lr > (float)r->min_lr))
        return true;
    const double new_lr = fmax(lr * r->factor, r->min_lr);
    if (!gt_optimizer_set_learning_rate(st->optimizer, new_lr))
        return false;
    if (r->verbose > 0) {
        char v[40];
        py_float(new_lr, v, sizeof v);
        fprintf(st->out, "\nEpoch %lld: ReduceLROnPlateau reducing learning rate to %s.\n",
                (long long)epoch + 1, v);
    }
    r->cooldown_counter = r->cooldown;
    r->wait = 0;
    return true;
}

static const gt_callback_vtable rlr_vt = {.name = "ReduceLROnPlateau",
                                          .on_train_begin = rlr_train_begin,
                                          .on_epoch_end = rlr_epoch_end};

gt_callback *gt_reduce_lr_on_plateau(const gt_reduce_lr_on_plateau_desc *desc) {
    gt_reduce_lr_on_plateau_desc d = desc ? *desc : (gt_reduce_lr_on_plateau_desc){0};
    const char *mon = d.monitor ? d.monitor : "val_loss";
    const double factor = nn_opt(d.factor, 0.1);
    const int64_t patience = d.patience == GT_PATIENCE_ZERO ? 0 : d.patience ? d.patience : 10;
    if (!(factor < 1.0)) {
        char f[40];
        py_float(factor, f, sizeof f);
        nn_error("ReduceLROnPlateau does not support a factor >= 1.0. Received factor=%s", f);
        return NULL;
    }
    if (strlen(mon) >= GT_LOGS_NAME_MAX || patience < 0 || d.cooldown < 0 ||
        d.mode < GT_MODE_AUTO || d.mode > GT_MODE_MAX || !(d.min_lr >= 0) || isnan(d.min_delta)) {
        nn_error("ReduceLROnPlateau: invalid options (monitor '%s', patience %lld, cooldown %lld, "
                 "mode %d, min_lr %g)",
                 mon, (long long)d.patience, (long long)d.cooldown, (int)d.mode, d.min_lr);
        return NULL;
    }
    reduce_lr *r = calloc(1, sizeof *r);
    if (!r) {
        nn_error("ReduceLROnPlateau: out of memory");
        return NULL;
    }
    r->base.vt = &rlr_vt;
    snprintf(r->monitor, sizeof r->monitor, "%s", mon);
    r->factor = factor;
    r->min_delta = fabs(nn_opt(d.min_delta, 1e-4));
    r->min_lr = d.min_lr;
    r->patience = patience;
    r->cooldown = d.cooldown;
    r->mode = d.mode;
    r->verbose = d.verbose;
    return &r->base;
}

/* ---- TerminateOnNaN ----------------------------------------------------------------------- */

typedef struct terminate_on_nan {
    gt_callback base;
    bool raise_error;
} terminate_on_nan;

static bool tnan_batch_end(gt_callback *cb, gt_fit_state *st, int64_t batch,
                           const gt_logs *logs) {
    const double loss = gt_logs_get(logs, "loss"); /* NaN when absent: not a loss */
    if (!gt_logs_has(logs, "loss") || isfinite(loss))
        return true;
    if (((terminate_on_nan *)cb)->raise_error) {
        char v[40];
        py_float(loss, v, sizeof v);
        nn_error("NaN or Inf loss encountered at batch %lld. Loss value: %s. Terminating "
                 "training immediately.",
                 (long long)batch, v);
        return false;
    }
    fprintf(st->out, "Batch %lld: Invalid loss, terminating training\n", (long long)batch);
    st->stop_training = true;
    return true;
}

static const gt_callback_vtable tnan_vt = {.name = "TerminateOnNaN",
                                           .on_train_batch_end = tnan_batch_end};

gt_callback *gt_terminate_on_nan(bool raise_error) {
    terminate_on_nan *t = calloc(1, sizeof *t);
    if (!t) {
        nn_error("TerminateOnNaN: out of memory");
        return NULL;
    }
    t->base.vt = &tnan_vt;
    t->raise_error = raise_error;
    return &t->base;
}
