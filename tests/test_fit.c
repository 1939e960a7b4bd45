/* fit / evaluate / predict, callbacks, history (CSV + SVG) and the progress bar:
 *  - a short training on 5,000 Fashion-MNIST images: the loss falls epoch after epoch and the
 *    test accuracy passes 80% (the data set must be installed: the test fails, with the
 *    command to run, when it is not);
 *  - fit and a hand-written tape loop give bit-identical weights and losses for one seed;
 *  - a warm training step makes no system allocation;
 *  - EarlyStopping (+ restore_best_weights), ModelCheckpoint, LearningRateScheduler and a user
 *    function that stops training;
 *  - ReduceLROnPlateau against Keras 3 driven by the same monitor values (learning rate and
 *    logged learning rate at every epoch, printed messages and warning byte for byte; mode
 *    auto/min/max, patience, cooldown, min_delta, min_lr), and inside fit;
 *  - TerminateOnNaN against Keras 3 in a training that overflows: the same batch, message and
 *    history; with raise_error, fit fails with Keras' text;
 *  - the history CSV's columns, the SVG chart's well-formedness (own checker, and xmllint when
 *    installed), Keras 3's progress line byte for byte. */
#include "gtt.h"
#include "nn_ref.h"

#include <gradtape_io.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
static const char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static gt_dataset *train_all, *test_all;

static gt_model *mlp(uint64_t seed, int hidden) {
    gt_set_seed(seed);
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = hidden, .activation = GT_ACT_RELU}));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 10, .activation = GT_ACT_SOFTMAX}));
    gt_model_build(m, GT_SHAPE(1, 784));
    return m;
}

static int vars_of(gt_model *m, gt_tensor **v, int cap) {
    return gt_layer_variables(gt_model_layer(m), v, cap);
}

static bool same_weights(gt_model *a, gt_model *b) {
    gt_tensor *va[16], *vb[16];
    int n = vars_of(a, va, 16);
    if (n != vars_of(b, vb, 16))
        return false;
    for (int i = 0; i < n; i++)
        if (!gt_tensor_equal(va[i], vb[i]))
            return false;
    return true;
}

/* ---- a short real training ------------------------------------------------------------------ */

static void test_short_training(void) {
    gt_dataset *tr = gt_dataset_take(train_all, 5000), *te = gt_dataset_take(test_all, 2000);
    gt_dataset_set_x_shape(tr, GT_SHAPE(784));
    gt_dataset_set_x_shape(te, GT_SHAPE(784));
    gt_model *m = mlp(1, 128);
    gt_optimizer *opt = gt_adam(NULL);
    gt_loss *loss = gt_sparse_categorical_crossentropy(NULL);
    gt_metric *acc = gt_metric_sparse_categorical_accuracy("accuracy");
    gt_history *h = NULL;
    GTT_OK(gt_model_fit(m, tr,
                        &(gt_fit_desc){.epochs = 5, .batch_size = 64, .validation_split = 0.1,
                                       .seed = 3, .nmetrics = 1, .metrics = &acc,
                                       .verbose = GT_VERBOSE_SILENT},
                        loss, opt, &h));
    GTT_CHECK(gt_history_epochs(h) == 5, "5 epochs recorded, got %lld",
              (long long)gt_history_epochs(h));
    for (int64_t e = 1; e < gt_history_epochs(h); e++)
        GTT_CHECK(gt_history_get(h, "loss", e) < gt_history_get(h, "loss", e - 1),
                  "loss falls: epoch %lld %g -> %g", (long long)e, gt_history_get(h, "loss", e - 1),
                  gt_history_get(h, "loss", e));
    GTT_CHECK(gt_history_num_keys(h) == 4, "keys: accuracy, loss, val_accuracy, val_loss");
    GTT_CHECK(!strcmp(gt_history_key(h, 0), "accuracy") && !strcmp(gt_history_key(h, 1), "loss") &&
                  !strcmp(gt_history_key(h, 2), "val_accuracy") &&
                  !strcmp(gt_history_key(h, 3), "val_loss"),
              "Keras' order of the logs");
    GTT_CHECK(gt_history_get(h, "accuracy", 4) > 0.8, "train accuracy %g",
              gt_history_get(h, "accuracy", 4));
    gt_logs res;
    GTT_OK(gt_model_evaluate(m, te,
                             &(gt_eval_desc){.batch_size = 100, .nmetrics = 1, .metrics = &acc,
                                             .verbose = GT_VERBOSE_SILENT},
                             loss, &res));
    printf("short training: test loss %.4f, test accuracy %.4f\n", gt_logs_get(&res, "loss"),
           gt_logs_get(&res, "accuracy"));
    GTT_CHECK(gt_logs_get(&res, "accuracy") > 0.80, "test accuracy %.4f > 0.80",
              gt_logs_get(&res, "accuracy"));
    GTT_CHECK(res.n == 2 && !strcmp(res.names[0], "accuracy") && !strcmp(res.names[1], "loss"),
              "evaluate's logs are {accuracy, loss}");

    /* predict agrees with evaluate's accuracy */
    gt_scope_begin();
    gt_tensor *p = gt_model_predict(m, te, &(gt_eval_desc){.batch_size = 300,
                                                           .verbose = GT_VERBOSE_SILENT});
    GTT_OK(p != NULL);
    if (p) {
        GTT_CHECK(gt_tensor_dim(p, 0) == 2000 && gt_tensor_dim(p, 1) == 10, "predict shape");
        gt_tensor *cls = gt_argmax(p, -1, GT_I32);
        int64_t right = 0;
        for (int64_t i = 0; i < 2000; i++)
            right += (int)gt_tensor_get(cls, i) == gt_dataset_label(te, i);
        GTT_CLOSE((double)right / 2000.0, gt_logs_get(&res, "accuracy"), 1e-6, 0);
    }
    gt_scope_end();

    /* CSV and SVG */
    GTT_OK(gt_history_write_csv(h, tmp_path("h.csv")));
    FILE *f = fopen(tmp_path("h.csv"), "r");
    char line[512] = "";
    int lines = 0;
    if (f) {
        GTT_CHECK(fgets(line, sizeof line, f) != NULL, "csv header");
        GTT_CHECK(!strcmp(line, "epoch,accuracy,loss,val_accuracy,val_loss\n"), "csv header: %s",
                  line);
        while (fgets(line, sizeof line, f))
            lines++;
        fclose(f);
    }
    GTT_CHECK(lines == 5, "5 csv rows, got %d", lines);
    GTT_OK(gt_history_write_svg(h, tmp_path("h.svg"), "a <test> & chart"));
    gt_history_free(h);
    gt_metric_free(acc);
    gt_loss_free(loss);
    gt_optimizer_free(opt);
    gt_model_free(m);
    gt_dataset_free(tr);
    gt_dataset_free(te);
}

/* ---- a tiny XML well-formedness checker for the chart --------------------------------------- */

static bool xml_well_formed(const char *s, char *why, size_t n) {
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = s;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p)
            return snprintf(why, n, "unterminated declaration"), false;
        p += 2;
    }
    while (*p) {
        if (*p != '<') {
            if (*p == '&') {
                const char *e = strchr(p, ';');
                if (!e || e - p > 6)
                    return snprintf(why, n, "bad entity near %.20s", p), false;
            }
            if (*p == '>')
                return snprintf(why, n, "stray '>'"), false;
            if (depth == 0 && !strchr(" \t\r\n", *p))
                return snprintf(why, n, "text outside the root"), false;
            p++;
            continue;
        }
        bool close = p[1] == '/';
        p += close ? 2 : 1;
        char name[32];
        int k = 0;
        while ((isalnum((unsigned char)*p) || *p == '-' || *p == ':' || *p == '_') && k < 31)
            name[k++] = *p++;
        name[k] = 0;
        if (!k)
            return snprintf(why, n, "empty tag name"), false;
        /* attributes: name="value" */
        while (*p && *p != '>' && !(p[0] == '/' && p[1] == '>')) {
            if (isspace((unsigned char)*p)) {
                p++;
                continue;
            }
            if (close)
                return snprintf(why, n, "attributes in </%s>", name), false;
            while (isalnum((unsigned char)*p) || *p == '-' || *p == ':' || *p == '_')
                p++;
            if (*p++ != '=' || *p++ != '"')
                return snprintf(why, n, "unquoted attribute in <%s>", name), false;
            while (*p && *p != '"') {
                if (*p == '<')
                    return snprintf(why, n, "'<' in an attribute of <%s>", name), false;
                p++;
            }
            if (*p++ != '"')
                return snprintf(why, n, "unterminated attribute"), false;
        }
        if (!*p)
            return snprintf(why, n, "unterminated tag <%s>", name), false;
        bool empty = *p == '/';
        p += empty ? 2 : 1;
        if (close) {
            if (!depth || strcmp(stack[depth - 1], name))
                return snprintf(why, n, "</%s> does not close <%s>", name,
                                depth ? stack[depth - 1] : "(nothing)"),
                       false;
            depth--;
        } else if (!empty) {
            if (depth == 0)
                roots++;
            if (depth == 64)
                return snprintf(why, n, "too deep"), false;
            snprintf(stack[depth++], 32, "%s", name);
        } else if (depth == 0) {
            roots++;
        }
    }
    if (depth)
        return snprintf(why, n, "<%s> not closed", stack[depth - 1]), false;
    if (roots != 1)
        return snprintf(why, n, "%d root elements", roots), false;
    return true;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = 0;
    fclose(f);
    return b;
}

static void test_svg(void) {
    char *s = slurp(tmp_path("h.svg"));
    GTT_CHECK(s != NULL, "chart written");
    if (!s)
        return;
    char why[256] = "";
    GTT_CHECK(xml_well_formed(s, why, sizeof why), "chart is well-formed XML: %s", why);
    GTT_CHECK(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL, "svg root");
    GTT_CHECK(strstr(s, "a &lt;test&gt; &amp; chart") != NULL, "title escaped");
    GTT_CHECK(strstr(s, ">val_loss</text>") && strstr(s, ">accuracy</text>") &&
                  strstr(s, "<polyline"),
              "legend and curves");
    GTT_CHECK(!xml_well_formed("<a><b></a></b>", why, sizeof why), "checker rejects bad nesting");
    GTT_CHECK(!xml_well_formed("<a x=1></a>", why, sizeof why), "checker rejects unquoted");
    free(s);
    if (system("command -v xmllint >/dev/null 2>&1") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", tmp_path("h.svg"));
        GTT_CHECK(system(cmd) == 0, "xmllint accepts the chart");
    } else {
        printf("note: xmllint not installed; the chart was checked by the built-in checker only\n");
    }
}

/* ---- fit == a hand-written loop, bit for bit ------------------------------------------------ */

static void test_fit_equals_loop(void) {
    gt_dataset *ds = gt_dataset_take(train_all, 1000);
    gt_dataset_set_x_shape(ds, GT_SHAPE(784));
    const uint64_t seed = 11;
    const int64_t bs = 64, epochs = 2; /* 1000 = 15 * 64 + 40: a partial last batch */
    gt_loss *loss = gt_sparse_categorical_crossentropy(NULL);

    gt_model *a = mlp(5, 32), *b = mlp(5, 32);
    GTT_CHECK(same_weights(a, b), "same initial weights for the same seed");
    gt_optimizer *oa = gt_adam(NULL), *ob = gt_adam(NULL);
    gt_history *h = NULL;
    GTT_OK(gt_model_fit(a, ds,
                        &(gt_fit_desc){.epochs = epochs, .batch_size = bs, .seed = seed,
                                       .verbose = GT_VERBOSE_SILENT},
                        loss, oa, &h));

    gt_tensor *vars[16], *grads[16];
    gt_metric *mean = gt_metric_mean("loss");
    double hand_loss[2] = {0};
    for (int64_t e = 0; e < epochs; e++) {
        gt_metric_reset(mean);
        gt_dataset_shuffle(ds, seed, e);
        for (int64_t i = 0; i < gt_dataset_num_batches(ds, bs); i++) {
            gt_scope_begin();
            gt_tensor *x, *y;
            gt_dataset_batch(ds, bs, i, &x, &y);
            gt_tape *tape = gt_tape_begin(NULL);
            gt_tensor *pred = gt_model_call(b, x, true);
            gt_tensor *l = gt_loss_call(loss, y, pred, NULL);
            gt_tape_end(tape);
            int n = gt_layer_trainable_variables(gt_model_layer(b), vars, 16);
            gt_tape_gradient(tape, 1, (const gt_tensor *const *)&l, NULL, n,
                             (const gt_tensor *const *)vars, GT_UNCONNECTED_NONE, grads);
            gt_tape_free(tape);
            gt_optimizer_apply_gradients(ob, n, grads, vars);
            gt_metric_update_values(mean, l, gt_scalar((double)gt_tensor_dim(x, 0)));
            gt_scope_end();
        }
        hand_loss[e] = gt_metric_result(mean);
    }
    GTT_OK(gt_ok());
    GTT_CHECK(same_weights(a, b), "fit and the hand-written loop give bit-identical weights");
    GTT_CHECK(gt_optimizer_iterations(oa) == gt_optimizer_iterations(ob) &&
                  gt_optimizer_iterations(oa) == 32,
              "iterations %lld / %lld", (long long)gt_optimizer_iterations(oa),
              (long long)gt_optimizer_iterations(ob));
    for (int e = 0; e < 2; e++)
        GTT_CHECK(gt_history_get(h, "loss", e) == hand_loss[e], "epoch %d loss %.9g vs %.9g", e,
                  gt_history_get(h, "loss", e), hand_loss[e]);

    /* steady state: another fit on the warm model allocates nothing per step */
    gt_mem_stats s0 = gt_mem_stats_get();
    GTT_OK(gt_model_fit(a, ds,
                        &(gt_fit_desc){.epochs = 3, .batch_size = bs, .seed = seed,
                                       .verbose = GT_VERBOSE_SILENT},
                        loss, oa, NULL));
    gt_mem_stats s1 = gt_mem_stats_get();
    GTT_CHECK(s1.lib_mallocs == s0.lib_mallocs && s1.mallocs == s0.mallocs,
              "48 warm steps made %llu library allocations (%llu buffers)",
              (unsigned long long)(s1.lib_mallocs - s0.lib_mallocs),
              (unsigned long long)(s1.mallocs - s0.mallocs));
    GTT_CHECK(s1.bytes_live == s0.bytes_live, "no tensor leaked: %lld bytes",
              (long long)(s1.bytes_live - s0.bytes_live));

    gt_history_free(h);
    gt_metric_free(mean);
    gt_optimizer_free(oa);
    gt_optimizer_free(ob);
    gt_model_free(a);
    gt_model_free(b);
    gt_loss_free(loss);
    gt_dataset_free(ds);
}

/* ---- callbacks ------------------------------------------------------------------------------ */

typedef struct snap {
    gt_model *m;
    gt_tensor *w[16];
    int n, at_epoch, stop_at, calls;
} snap;

static bool snapshot_cb(int64_t epoch, const gt_logs *logs, void *user) {
    snap *s = user;
    s->calls++;
    GTT_CHECK(gt_logs_has(logs, "loss"), "user callback sees the loss");
    if (epoch == s->at_epoch) {
        gt_tensor *v[16];
        s->n = vars_of(s->m, v, 16);
        gt_scope_begin();
        for (int i = 0; i < s->n; i++)
            s->w[i] = gt_retain(gt_variable_value(v[i]));
        gt_scope_end();
    }
    return epoch != s->stop_at;
}

static double halve(int64_t epoch, double lr, void *user) {
    (void)user;
    return epoch == 0 ? lr : lr * 0.5;
}

static void test_callbacks(void) {
    gt_dataset *ds = gt_dataset_take(train_all, 512);
    gt_dataset_set_x_shape(ds, GT_SHAPE(784));
    gt_loss *loss = gt_sparse_categorical_crossentropy(NULL);
    gt_model *m = mlp(9, 16);
    gt_optimizer *opt = gt_adam(NULL);

    /* EarlyStopping on "loss" with an unreachable min_delta: epoch 0 sets the best, epoch 1
     * does not improve, patience 1 stops there and the weights of epoch 0 come back */
    snap s = {.m = m, .at_epoch = 0, .stop_at = -1};
    gt_callback *cbs[2] = {
        gt_early_stopping(&(gt_early_stopping_desc){.monitor = "loss", .min_delta = 10,
                                                    .patience = 1, .restore_best_weights = true}),
        gt_lambda_callback(snapshot_cb, &s)};
    gt_history *h = NULL;
    GTT_OK(gt_model_fit(m, ds,
                        &(gt_fit_desc){.epochs = 10, .batch_size = 128, .ncallbacks = 2,
                                       .callbacks = cbs, .verbose = GT_VERBOSE_SILENT},
                        loss, opt, &h));
    GTT_CHECK(gt_history_epochs(h) == 2, "early stopping after 2 epochs, got %lld",
              (long long)gt_history_epochs(h));
    GTT_CHECK(gt_early_stopping_stopped_epoch(cbs[0]) == 1, "stopped_epoch 1");
    gt_tensor *v[16];
    int n = vars_of(m, v, 16);
    bool same = n == s.n;
    for (int i = 0; same && i < n; i++)
        same = gt_tensor_equal(v[i], s.w[i]);
    GTT_CHECK(same, "restore_best_weights restored epoch 0's weights");
    for (int i = 0; i < s.n; i++)
        gt_release(s.w[i]);
    gt_history_free(h);
    gt_callback_free(cbs[0]);
    gt_callback_free(cbs[1]);

    /* a user function returning false stops training after that epoch */
    snap s2 = {.m = m, .at_epoch = -1, .stop_at = 2};
    gt_callback *user = gt_lambda_callback(snapshot_cb, &s2);
    GTT_OK(gt_model_fit(m, ds,
                        &(gt_fit_desc){.epochs = 6, .batch_size = 128, .ncallbacks = 1,
                                       .callbacks = &user, .verbose = GT_VERBOSE_SILENT},
                        loss, opt, &h));
    GTT_CHECK(gt_history_epochs(h) == 3 && s2.calls == 3, "stopped after epoch 2 (%lld epochs)",
              (long long)gt_history_epochs(h));
    gt_history_free(h);
    gt_callback_free(user);

    /* LearningRateScheduler + ModelCheckpoint(save_best_only on loss) */
    gt_callback *cb2[2] = {gt_learning_rate_scheduler(halve, NULL, 0),
                           gt_model_checkpoint(&(gt_model_checkpoint_desc){
                               .path = tmp_path("best-{epoch:02d}.safetensors"),
                               .monitor = "loss", .save_best_only = true})};
    GTT_OK(gt_model_fit(m, ds,
                        &(gt_fit_desc){.epochs = 3, .batch_size = 128, .ncallbacks = 2,
                                       .callbacks = cb2, .verbose = GT_VERBOSE_SILENT},
                        loss, opt, &h));
    GTT_CHECK(gt_history_get(h, "learning_rate", 0) == (double)0.001f &&
                  gt_history_get(h, "learning_rate", 2) == (double)(0.00025f),
              "learning rates %g %g", gt_history_get(h, "learning_rate", 0),
              gt_history_get(h, "learning_rate", 2));
    GTT_CHECK(access(tmp_path("best-01.safetensors"), R_OK) == 0, "best checkpoint of epoch 1");
    gt_model *m2 = mlp(123, 16);
    GTT_OK(gt_checkpoint_load(tmp_path("best-01.safetensors"), m2, NULL));
    gt_history_free(h);
    gt_callback_free(cb2[0]);
    gt_callback_free(cb2[1]);
    gt_model_free(m2);

    /* argument errors */
    GTT_CHECK(!gt_model_fit(m, ds, &(gt_fit_desc){.validation_split = 0.1, .validation_data = ds},
                            loss, opt, NULL),
              "split and data together");
    GTT_ERROR_HAS("not both");
    GTT_CHECK(!gt_model_fit(m, ds, &(gt_fit_desc){.validation_split = 1.5}, loss, opt, NULL),
              "bad split");
    gt_error_clear();
    gt_optimizer_free(opt);
    gt_model_free(m);
    gt_loss_free(loss);
    gt_dataset_free(ds);
}

/* ---- ReduceLROnPlateau and TerminateOnNaN against Keras 3 (tests/ref/gen_keras.py §6) ------ */

/* The text a Keras run printed, stored as character codes under key. */
static void ref_text(const char *key, char *buf, size_t cap) {
    int64_t n = 0;
    const double *c = nnref_get(key, &n);
    size_t k = 0;
    for (int64_t i = 0; c && i < n && k + 1 < cap; i++)
        buf[k++] = (char)c[i];
    buf[k] = 0;
}

/* Everything written to f so far. */
static void read_back(FILE *f, char *buf, size_t cap) {
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
}

static void test_reduce_lr_on_plateau(void) {
    struct {
        const char *name, *monitor;
        gt_reduce_lr_on_plateau_desc d;
    } cases[] = {
        {"auto_loss", "val_loss",
         {.factor = 0.5, .patience = 2, .cooldown = 1, .min_delta = 0.01, .min_lr = 0.02,
          .verbose = 1}},
        {"auto_accuracy", "val_accuracy", {.factor = 0.2, .patience = 1, .verbose = 1}},
        {"max", "score",
         {.factor = 0.1, .patience = 1, .mode = GT_MODE_MAX, .min_delta = GT_ZERO, .cooldown = 2,
          .min_lr = 1e-4, .verbose = 1}},
        /* min_lr is compared in float32: 0.05f is reached, then no more reductions */
        {"min_lr_float32", "val_loss", {.factor = 0.5, .patience = 1, .min_lr = 0.05, .verbose = 1}},
        {"min_quiet", "val_loss", {.factor = 0.3, .patience = 3, .mode = GT_MODE_MIN}},
        {"missing", "val_loss", {0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char key[128], want[2048], got[2048];
        int64_t n, n1, n2;
        snprintf(key, sizeof key, "rlrop.%s.values", cases[c].name);
        const double *values = nnref_get(key, &n);
        snprintf(key, sizeof key, "rlrop.%s.logged_lr", cases[c].name);
        const double *logged = nnref_get(key, &n1);
        snprintf(key, sizeof key, "rlrop.%s.lr", cases[c].name);
        const double *lrs = nnref_get(key, &n2);
        if (!values || !logged || !lrs || n1 != n || n2 != n)
            continue;
        gt_reduce_lr_on_plateau_desc d = cases[c].d;
        d.monitor = cases[c].monitor;
        gt_callback *cb = gt_reduce_lr_on_plateau(&d);
        gt_optimizer *opt = gt_sgd(&(gt_optimizer_desc){.learning_rate = 0.1});
        FILE *out = tmpfile();
        GTT_CHECK(cb && opt && out, "%s: callback", cases[c].name);
        if (!cb || !opt || !out)
            continue;
        /* the hooks as fit calls them, with the Keras model's compiled metric (accuracy) */
        gt_metric *acc = gt_metric_accuracy(NULL);
        gt_fit_state st = {.optimizer = opt, .epochs = n, .steps = 1, .out = out,
                           .nmetrics = 1, .metrics = &acc};
        nnref_last_warning[0] = 0;
        GTT_OK(cb->vt->on_train_begin(cb, &st));
        int bad = 0;
        for (int64_t e = 0; e < n; e++) {
            gt_logs logs = {0};
            gt_logs_set(&logs, isnan(values[e]) ? "loss" : cases[c].monitor,
                        isnan(values[e]) ? 1.0 : values[e]);
            GTT_OK(cb->vt->on_epoch_end(cb, &st, e, &logs));
            double logged_lr = gt_logs_get(&logs, "learning_rate");
            double lr = gt_optimizer_learning_rate(opt);
            if (logged_lr != logged[e] || lr != lrs[e]) {
                if (bad++ < 3)
                    fprintf(stderr, "  %s epoch %lld: lr %.17g logged %.17g, Keras %.17g %.17g\n",
                            cases[c].name, (long long)e, lr, logged_lr, lrs[e], logged[e]);
            }
        }
        GTT_CHECK(bad == 0, "%s: learning rates as Keras' at every epoch", cases[c].name);
        snprintf(key, sizeof key, "rlrop.%s.stdout", cases[c].name);
        ref_text(key, want, sizeof want);
        read_back(out, got, sizeof got);
        GTT_CHECK(strcmp(got, want) == 0, "%s: printed\n%s\nKeras printed\n%s", cases[c].name,
                  got, want);
        snprintf(key, sizeof key, "rlrop.%s.warning", cases[c].name);
        ref_text(key, want, sizeof want);
        GTT_CHECK(strcmp(nnref_last_warning, want) == 0, "%s: warning '%s', Keras '%s'",
                  cases[c].name, nnref_last_warning, want);
        fclose(out);
        gt_callback_free(cb);
        gt_optimizer_free(opt);
        gt_metric_free(acc);
    }

    /* inside fit: min_delta 10 makes every epoch after the first a plateau; patience 1 halves
     * the learning rate from epoch 1 on; the history holds the rate each epoch trained with */
    gt_dataset *ds = gt_dataset_take(train_all, 256);
    gt_dataset_set_x_shape(ds, GT_SHAPE(784));
    gt_loss *loss = gt_sparse_categorical_crossentropy(NULL);
    gt_model *m = mlp(5, 8);
    gt_optimizer *opt = gt_adam(NULL);
    gt_callback *cb = gt_reduce_lr_on_plateau(&(gt_reduce_lr_on_plateau_desc){
        .monitor = "loss", .factor = 0.5, .patience = 1, .min_delta = 10, .verbose = 1});
    FILE *out = tmpfile();
    gt_history *h = NULL;
    GTT_OK(gt_model_fit(m, ds,
                        &(gt_fit_desc){.epochs = 3, .batch_size = 128, .ncallbacks = 1,
                                       .callbacks = &cb, .verbose = GT_VERBOSE_SILENT, .out = out},
                        loss, opt, &h));
    GTT_CHECK(gt_history_get(h, "learning_rate", 0) == (double)0.001f &&
                  gt_history_get(h, "learning_rate", 1) == (double)0.001f &&
                  gt_history_get(h, "learning_rate", 2) == (double)0.0005f &&
                  gt_optimizer_learning_rate(opt) == (double)0.00025f,
              "fit: learning rates %g %g %g", gt_history_get(h, "learning_rate", 0),
              gt_history_get(h, "learning_rate", 1), gt_history_get(h, "learning_rate", 2));
    char got[1024];
    read_back(out, got, sizeof got);
    GTT_CHECK(strcmp(got, "\nEpoch 2: ReduceLROnPlateau reducing learning rate to "
                          "0.0005000000237487257.\n\nEpoch 3: ReduceLROnPlateau reducing "
                          "learning rate to 0.0002500000118743628.\n") == 0,
              "fit: printed %s", got);
    fclose(out);
    gt_history_free(h);
    gt_callback_free(cb);

    /* an optimizer with a schedule cannot have its rate set: fit fails as Keras does */
    gt_optimizer *sched = gt_adam(&(gt_optimizer_desc){
        .schedule = {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY, .initial_learning_rate = 0.001,
                     .decay_steps = 10, .decay_rate = 0.9}});
    cb = gt_reduce_lr_on_plateau(&(gt_reduce_lr_on_plateau_desc){
        .monitor = "loss", .patience = GT_PATIENCE_ZERO, .min_delta = 10});
    GTT_CHECK(!gt_model_fit(m, ds,
                            &(gt_fit_desc){.epochs = 2, .batch_size = 128, .ncallbacks = 1,
                                           .callbacks = &cb, .verbose = GT_VERBOSE_SILENT},
                            loss, sched, NULL),
              "a schedule");
    GTT_ERROR_HAS("not settable");
    gt_callback_free(cb);
    gt_optimizer_free(sched);

    /* option errors, with Keras' messages where it has them */
    GTT_CHECK(!gt_reduce_lr_on_plateau(&(gt_reduce_lr_on_plateau_desc){.factor = 1}), "factor");
    GTT_ERROR_HAS("ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.0");
    cb = gt_reduce_lr_on_plateau(
        &(gt_reduce_lr_on_plateau_desc){.monitor = "val_mean", .mode = GT_MODE_MIN});
    GTT_CHECK(cb != NULL, "mode min on any name");
    gt_callback_free(cb);
    GTT_CHECK(!gt_reduce_lr_on_plateau(&(gt_reduce_lr_on_plateau_desc){.cooldown = -1}),
              "negative cooldown");
    GTT_ERROR_HAS("invalid options");
    gt_optimizer_free(opt);
    gt_model_free(m);
    gt_loss_free(loss);
    gt_dataset_free(ds);
}

/* A Dense(1) regression with Keras' weights and data, trained with SGD(1e30): the first step
 * throws the weights to ~1e30, the second batch's squared error overflows float32. */
/* Mode auto is Keras 3's MonitorCallback rule, settled at the first epoch end: min for the
 * loss, else the direction of fit's metric of that name (val_ stripped), else Keras' error. */
static void test_monitor_directions(void) {
    gt_metric *ms[3] = {gt_metric_precision(NULL, 0), gt_metric_mean_squared_error(NULL),
                        gt_metric_mean(NULL)};
    gt_fit_state st = {.epochs = 6, .steps = 1, .out = stdout, .nmetrics = 3, .metrics = ms};
    GTT_CHECK(gt_metric_direction(ms[0]) == 1 && gt_metric_direction(ms[1]) == -1 &&
                  gt_metric_direction(ms[2]) == 0 && gt_metric_direction(NULL) == 0,
              "metric directions: precision up, mean_squared_error down, mean none");
    /* rising values: an improvement every epoch when maximised, none when minimised */
    static const struct {
        const char *monitor;
        gt_monitor_mode mode;
        bool stops; /* patience 2 runs out */
    } cases[] = {
        {"val_precision", GT_MODE_AUTO, false},
        {"precision", GT_MODE_AUTO, false},
        {"val_mean_squared_error", GT_MODE_AUTO, true},
        {"val_loss", GT_MODE_AUTO, true},
        {"val_precision", GT_MODE_MIN, true},
        {"val_mean", GT_MODE_MAX, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        gt_callback *cb = gt_early_stopping(&(gt_early_stopping_desc){
            .monitor = cases[c].monitor, .patience = 2, .mode = cases[c].mode});
        st.stop_training = false;
        bool ok = cb && cb->vt->on_train_begin(cb, &st);
        for (int64_t e = 0; ok && e < 6 && !st.stop_training; e++) {
            gt_logs logs = {0};
            gt_logs_set(&logs, cases[c].monitor, 0.1 * (double)(e + 1));
            ok = cb->vt->on_epoch_end(cb, &st, e, &logs);
        }
        GTT_CHECK(ok && st.stop_training == cases[c].stops, "EarlyStopping on %s (mode %d): %s",
                  cases[c].monitor, (int)cases[c].mode,
                  ok ? (st.stop_training ? "stopped" : "ran on") : gt_error());
        gt_callback_free(cb);
    }
    /* no direction: Keras' error from each of the three callbacks' first epoch end */
    gt_callback *cbs[3] = {
        gt_early_stopping(&(gt_early_stopping_desc){.monitor = "val_mean"}),
        gt_model_checkpoint(&(gt_model_checkpoint_desc){.path = "unused.safetensors",
                                                        .monitor = "val_mean"}),
        gt_reduce_lr_on_plateau(&(gt_reduce_lr_on_plateau_desc){.monitor = "val_mean"})};
    static const char *const who[3] = {"EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"};
    for (int i = 0; i < 3; i++) {
        gt_logs logs = {0};
        gt_logs_set(&logs, "val_mean", 1.0);
        const gt_callback_vtable *vt = cbs[i] ? cbs[i]->vt : NULL;
        GTT_CHECK(vt && (!vt->on_train_begin || vt->on_train_begin(cbs[i], &st)) &&
                      !vt->on_epoch_end(cbs[i], &st, 0, &logs),
                  "%s on a Mean fails", who[i]);
        char want[256];
        snprintf(want, sizeof want,
                 "%s callback received monitor=val_mean, but Keras isn't able to automatically "
                 "determine whether that metric should be maximized or minimized.",
                 who[i]);
        GTT_ERROR_HAS(want);
        gt_callback_free(cbs[i]);
    }
    for (int i = 0; i < 3; i++)
        gt_metric_free(ms[i]);
}

static void test_terminate_on_nan(void) {
    int64_t nx, ny, nepochs;
    const double *xd = nnref_get("tnan.x", &nx), *yd = nnref_get("tnan.y", &ny);
    const double *keras_loss = nnref_get("tnan.loss", &nepochs); /* one per epoch Keras ran */
    if (!xd || !yd || !keras_loss || nx != 36 || ny != 12)
        return;
    float x[36], y[12];
    for (int i = 0; i < 36; i++)
        x[i] = (float)xd[i];
    for (int i = 0; i < 12; i++)
        y[i] = (float)yd[i];
    gt_dataset *ds = gt_dataset_new(&(gt_dataset_desc){
        .count = 12, .x_rank = 1, .x_shape = (const int64_t[]){3}, .x_f32 = x, .targets = y});
    gt_loss *loss = gt_mean_squared_error(NULL);
    for (int raise = 0; raise < 2; raise++) {
        gt_model *m = gt_sequential(NULL);
        gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 1}));
        gt_model_build(m, GT_SHAPE(1, 3));
        gt_tensor *v[2];
        GTT_CHECK(vars_of(m, v, 2) == 2, "dense variables");
        gt_scope_begin();
        GTT_OK(gt_variable_assign(v[0], nnref_tensor("tnan.w", GT_F32, GT_SHAPE(3, 1))));
        GTT_OK(gt_variable_assign(v[1], nnref_tensor("tnan.b", GT_F32, GT_SHAPE(1))));
        gt_scope_end();
        gt_optimizer *opt = gt_sgd(&(gt_optimizer_desc){.learning_rate = 1e30});
        gt_callback *cb = gt_terminate_on_nan(raise);
        FILE *out = tmpfile();
        gt_history *h = NULL;
        bool ok = gt_model_fit(m, ds,
                               &(gt_fit_desc){.epochs = 3, .batch_size = 4, .no_shuffle = true,
                                              .ncallbacks = 1, .callbacks = &cb,
                                              .verbose = GT_VERBOSE_SILENT, .out = out},
                               loss, opt, &h);
        char got[256], want[256];
        read_back(out, got, sizeof got);
        if (!raise) {
            GTT_CHECK(ok, "fit stops normally: %s", gt_error() ? gt_error() : "");
            ref_text("tnan.stdout", want, sizeof want);
            GTT_CHECK(strcmp(got, want) == 0, "printed '%s', Keras '%s'", got, want);
            GTT_CHECK(gt_history_epochs(h) == nepochs, "%lld epochs recorded, Keras %lld",
                      (long long)gt_history_epochs(h), (long long)nepochs);
            double l = gt_history_get(h, "loss", 0);
            GTT_CHECK(isinf(l) == isinf(keras_loss[0]) && isnan(l) == isnan(keras_loss[0]),
                      "epoch loss %g, Keras %g", l, keras_loss[0]);
            GTT_CHECK(gt_optimizer_iterations(opt) == 2, "stopped after batch 1 (%lld steps)",
                      (long long)gt_optimizer_iterations(opt));
        } else {
            GTT_CHECK(!ok && got[0] == 0, "raise_error: fit fails, nothing printed");
            GTT_ERROR_HAS("NaN or Inf loss encountered at batch 1. Loss value: inf. Terminating "
                          "training immediately.");
            GTT_CHECK(gt_history_epochs(h) == 0, "no epoch recorded");
        }
        fclose(out);
        gt_history_free(h);
        gt_callback_free(cb);
        gt_optimizer_free(opt);
        gt_model_free(m);
    }
    gt_loss_free(loss);
    gt_dataset_free(ds);
}

/* ---- the progress line ---------------------------------------------------------------------- */

static void test_progbar(void) {
    gt_logs logs = {0};
    gt_logs_set(&logs, "accuracy", 0.8123);
    gt_logs_set(&logs, "loss", 0.00012345);
    /* terminal form */
    setenv("GT_PROGBAR_TTY", "1", 1);
    FILE *f = tmpfile();
    gt_progbar *pb = gt_progbar_new(469, 1, f);
    gt_progbar_update(pb, 469, &logs, true);
    gt_progbar_free(pb);
    char buf[2048] = "";
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    const char *want_head = "\r\x1b[1m469/469\x1b[0m \x1b[32m"
                            "━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m ";
    GTT_CHECK(strncmp(buf, want_head, strlen(want_head)) == 0, "Keras' bar: %s", buf);
    GTT_CHECK(strstr(buf, "/step - accuracy: 0.8123 - loss: 1.2345e-04\n") != NULL,
              "values as Keras formats them: %s", buf);
    /* a partial bar: 5/20 steps = 5 green cells, 15 white */
    f = tmpfile();
    pb = gt_progbar_new(20, 1, f);
    gt_progbar_update(pb, 5, &logs, false);
    gt_progbar_free(pb);
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    GTT_CHECK(strstr(buf, "\x1b[1m 5/20\x1b[0m \x1b[32m━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━━\x1b[0m") !=
                  NULL,
              "partial bar: %s", buf);
    /* not a terminal: one plain line at the end */
    setenv("GT_PROGBAR_TTY", "0", 1);
    f = tmpfile();
    pb = gt_progbar_new(3, 1, f);
    gt_progbar_update(pb, 1, &logs, false);
    gt_progbar_update(pb, 2, &logs, false);
    gt_progbar_update(pb, 3, &logs, true);
    gt_progbar_free(pb);
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    GTT_CHECK(strncmp(buf, "3/3 - 0s - ", 11) == 0 && strchr(buf, '\n') == buf + n - 1 &&
                  strstr(buf, "us/step - accuracy: 0.8123 - loss: 1.2345e-04\n"),
              "plain line: %s", buf);
    unsetenv("GT_PROGBAR_TTY");
    gt_logs l2 = {0};
    GTT_CHECK(isnan(gt_logs_get(&l2, "x")) && !gt_logs_has(&l2, "x"), "empty logs");
}

int main(void) {
    gt_set_num_threads(1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gt_fit_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    if (!gt_mnist_load(NULL, &train_all, &test_all)) {
        fprintf(stderr, "FAIL: %s\n(install it: sudo scripts/install-deps.sh demo)\n", gt_error());
        return 1;
    }
    nnref_capture_warnings();
    if (!nnref_load(GT_TEST_DATA_DIR "/keras_ref.txt"))
        return gtt_finish();
    test_progbar();
    test_fit_equals_loop();
    test_callbacks();
    test_reduce_lr_on_plateau();
    test_monitor_directions();
    test_terminate_on_nan();
    test_short_training();
    test_svg();
    gt_dataset_free(train_all);
    gt_dataset_free(test_all);
    nnref_free();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -f %s/* && rmdir %s", tmpdir, tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "note: could not remove %s\n", tmpdir);
    return gtt_finish();
}
