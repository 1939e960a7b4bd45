/* gradtape: train, evaluate and use models on Fashion-MNIST (or any MNIST-layout folder) from the
 * command line.
 *
 *   gradtape train                      784-256-128-10 ReLU MLP, Adam, 10 epochs, then test
 *   gradtape train --model cnn --epochs 5 --checkpoint cnn.safetensors
 *   gradtape evaluate --checkpoint cnn.safetensors
 *   gradtape predict --checkpoint cnn.safetensors --count 20
 *
 * `train` and `evaluate` end with one line `test_loss=<float> test_accuracy=<float>`. A bad
 * flag or a missing file prints what to do and exits with status 2; a failure while running
 * exits with 1. */
#include <gradtape.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char *const class_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};

/* ---- options ------------------------------------------------------------------------------ */

typedef struct opts {
    const char *cmd;
    const char *model;
    int64_t epochs, batch_size, limit, test_limit, count;
    const char *optimizer;
    double learning_rate;
    uint64_t seed;
    int threads;
    const char *data, *checkpoint, *history, *chart, *profile;
    double validation_split;
    int verbose;
    int64_t patience; /* early stopping on val_loss when > 0 */
    bool model_given;
} opts;

static void usage_train(FILE *f) {
    fputs("usage: gradtape train [options]\n"
          "\n"
          "Trains a model on Fashion-MNIST with a progress bar, then evaluates it on the test set\n"
          "and prints `test_loss=<float> test_accuracy=<float>` as the last line.\n"
          "\n"
          "options:\n"
          "  --model SPEC            mlp:256,128 (default; hidden layer sizes, ReLU) or cnn\n"
          "                          (Conv2D 32 3x3, MaxPool, Conv2D 64 3x3, MaxPool, Dense 128)\n"
          "  --epochs N              epochs (default 10)\n"
          "  --batch-size N          batch size (default 128)\n"
          "  --optimizer NAME        adam (default), sgd, rmsprop, adagrad, adamw, adamax, nadam\n"
          "                          or lion\n"
          "  --learning-rate F       learning rate (default: Keras' default for the optimizer:\n"
          "                          0.001, or 0.01 for sgd)\n"
          "  --seed N                seed for the initial weights and the shuffles (default 42)\n"
          "  --threads N             kernel threads (default: all cores)\n"
          "  --data DIR              MNIST-layout folder (default " GT_FASHION_MNIST_DIR ")\n"
          "  --checkpoint PATH       save the model and optimizer state (safetensors) at the end\n"
          "  --history PATH.csv      write every epoch's loss and metrics as CSV\n"
          "  --chart PATH.svg        draw the history as an SVG chart\n"
          "  --profile PATH          write where training's time went, per op, to PATH\n"
          "                          (- for standard error)\n"
          "  --validation-split F    validate on the last fraction F of the training set\n"
          "  --early-stopping N      stop when val_loss has not improved for N epochs\n"
          "                          (needs --validation-split; restores the best weights)\n"
          "  --limit N               train on the first N training images only\n"
          "  --test-limit N          evaluate on the first N test images only\n"
          "  --verbose 0|1|2         0 silent, 1 progress bar (default), 2 one line per epoch\n"
          "  -h, --help              this help\n",
          f);
}

static void usage_evaluate(FILE *f) {
    fputs("usage: gradtape evaluate --checkpoint PATH [options]\n"
          "\n"
          "Loads a checkpoint written by `gradtape train --checkpoint PATH` and evaluates it on\n"
          "the test set; prints `test_loss=<float> test_accuracy=<float>` as the last line.\n"
          "\n"
          "options:\n"
          "  --checkpoint PATH       the checkpoint (required)\n"
          "  --model SPEC            the model's architecture (default: the one recorded in\n"
          "                          the checkpoint)\n"
          "  --batch-size N          batch size (default 128)\n"
          "  --data DIR              MNIST-layout folder (default " GT_FASHION_MNIST_DIR ")\n"
          "  --test-limit N          evaluate on the first N test images only\n"
          "  --threads N             kernel threads\n"
          "  --verbose 0|1|2         progress output (default 1)\n"
          "  -h, --help              this help\n",
          f);
}

static void usage_predict(FILE *f) {
    fputs("usage: gradtape predict --checkpoint PATH [options]\n"
          "\n"
          "Loads a checkpoint and prints the predicted class of the first N test images beside\n"
          "the true one, then the accuracy over those images.\n"
          "\n"
          "options:\n"
          "  --checkpoint PATH       the checkpoint (required)\n"
          "  --count N               number of test images (default 10)\n"
          "  --model SPEC            the model's architecture (default: from the checkpoint)\n"
          "  --data DIR              MNIST-layout folder (default " GT_FASHION_MNIST_DIR ")\n"
          "  --threads N             kernel threads\n"
          "  -h, --help              this help\n",
          f);
}

static void usage_main(FILE *f) {
    fputs("usage: gradtape <command> [options]\n"
          "\n"
          "commands:\n"
          "  train      train a model on Fashion-MNIST, then evaluate it on the test set\n"
          "  evaluate   evaluate a saved checkpoint on the test set\n"
          "  predict    print a saved checkpoint's predictions for test images\n"
          "\n"
          "Run `gradtape <command> --help` for a command's options. With no options,\n"
          "`gradtape train` trains a 784-256-128-10 ReLU MLP with Adam for 10 epochs.\n",
          f);
}

static void usage_for(const char *cmd, FILE *f) {
    if (strcmp(cmd, "train") == 0)
        usage_train(f);
    else if (strcmp(cmd, "evaluate") == 0)
        usage_evaluate(f);
    else
        usage_predict(f);
}

/* --optimizer's names (Keras' own, lower case) and their constructors */
typedef struct optimizer_kind {
    const char *name;
    gt_optimizer *(*make)(const gt_optimizer_desc *);
} optimizer_kind;

static const optimizer_kind optimizer_kinds[] = {
    {"adam", gt_adam},       {"sgd", gt_sgd},       {"rmsprop", gt_rmsprop},
    {"adagrad", gt_adagrad}, {"adamw", gt_adamw},   {"adamax", gt_adamax},
    {"nadam", gt_nadam},     {"lion", gt_lion},
};

static const optimizer_kind *find_optimizer(const char *name) {
    for (size_t i = 0; i < sizeof optimizer_kinds / sizeof *optimizer_kinds; i++)
        if (!strcmp(optimizer_kinds[i].name, name))
            return &optimizer_kinds[i];
    return NULL;
}

static int bad(const char *cmd, const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "gradtape %s: ", cmd);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nRun 'gradtape %s --help' for the options.\n", cmd);
    return EXIT_USAGE;
}

static bool parse_i64(const char *s, int64_t lo, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo)
        return false;
    *out = v;
    return true;
}

static bool parse_f64(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v == v))
        return false;
    *out = v;
    return true;
}

/* Which flags each command takes. */
static bool flag_allowed(const char *cmd, const char *flag) {
    static const char *const common[] = {"--model", "--batch-size", "--data", "--threads",
                                         "--checkpoint", "--verbose", "--test-limit", NULL};
    static const char *const train[] = {"--epochs", "--optimizer", "--learning-rate", "--seed",
                                        "--history", "--chart", "--validation-split", "--limit",
                                        "--early-stopping", "--profile", NULL};
    for (int i = 0; common[i]; i++)
        if (strcmp(flag, common[i]) == 0)
            return strcmp(cmd, "predict") != 0 || (strcmp(flag, "--verbose") != 0 &&
                                                     strcmp(flag, "--test-limit") != 0 &&
                                                     strcmp(flag, "--batch-size") != 0);
    if (strcmp(cmd, "train") == 0)
        for (int i = 0; train[i]; i++)
            if (strcmp(flag, train[i]) == 0)
                return true;
    return strcmp(cmd, "predict") == 0 && strcmp(flag, "--count") == 0;
}

/* Returns 0 on success, EXIT_USAGE on a bad command line, -1 after printing help. */
static int parse(int argc, char **argv, opts *o) {
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage_for(o->cmd, stdout);
            return -1;
        }
        if (strncmp(arg, "--", 2) != 0)
            return bad(o->cmd, "unexpected argument '%s'%s", arg,
                       " (options start with --)");
        char flag[64];
        const char *val = NULL, *eq = strchr(arg, '=');
        size_t fl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (fl >= sizeof flag)
            return bad(o->cmd, "unknown option '%s'%s", arg, "");
        memcpy(flag, arg, fl);
        flag[fl] = 0;
        if (!flag_allowed(o->cmd, flag))
            return bad(o->cmd, "unknown option '%s'%s", flag, "");
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return bad(o->cmd, "option '%s' needs a value%s", flag, "");
        bool ok = true;
        int64_t iv;
        if (strcmp(flag, "--model") == 0) {
            o->model = val;
            o->model_given = true;
        } else if (strcmp(flag, "--epochs") == 0)
            ok = parse_i64(val, 1, &o->epochs);
        else if (strcmp(flag, "--batch-size") == 0)
            ok = parse_i64(val, 1, &o->batch_size);
        else if (strcmp(flag, "--limit") == 0)
            ok = parse_i64(val, 1, &o->limit);
        else if (strcmp(flag, "--test-limit") == 0)
            ok = parse_i64(val, 1, &o->test_limit);
        else if (strcmp(flag, "--count") == 0)
            ok = parse_i64(val, 1, &o->count);
        else if (strcmp(flag, "--early-stopping") == 0)
            ok = parse_i64(val, 1, &o->patience);
        else if (strcmp(flag, "--optimizer") == 0) {
            o->optimizer = val;
            if (!find_optimizer(val))
                return bad(o->cmd, "unknown optimizer '%s'%s", val,
                           " (choose adam, sgd, rmsprop, adagrad, adamw, adamax, nadam or lion)");
        } else if (strcmp(flag, "--learning-rate") == 0)
            ok = parse_f64(val, &o->learning_rate) && o->learning_rate > 0;
        else if (strcmp(flag, "--seed") == 0) {
            ok = parse_i64(val, 0, &iv);
            o->seed = (uint64_t)iv;
        } else if (strcmp(flag, "--threads") == 0) {
            ok = parse_i64(val, 1, &iv) && iv < 4096;
            o->threads = (int)iv;
        } else if (strcmp(flag, "--verbose") == 0) {
            ok = parse_i64(val, 0, &iv) && iv <= 2;
            o->verbose = iv == 0 ? GT_VERBOSE_SILENT : (int)iv;
        } else if (strcmp(flag, "--validation-split") == 0)
            ok = parse_f64(val, &o->validation_split) && o->validation_split > 0 &&
                 o->validation_split < 1;
        else if (strcmp(flag, "--data") == 0)
            o->data = val;
        else if (strcmp(flag, "--checkpoint") == 0)
            o->checkpoint = val;
        else if (strcmp(flag, "--history") == 0)
            o->history = val;
        else if (strcmp(flag, "--chart") == 0)
            o->chart = val;
        else if (strcmp(flag, "--profile") == 0)
            o->profile = val;
        if (!ok)
            return bad(o->cmd, "invalid value '%s' for %s", val, flag);
    }
    if (o->patience > 0 && o->validation_split == 0)
        return bad(o->cmd, "%s needs --validation-split%s", "--early-stopping",
                   " (it watches val_loss)");
    if (strcmp(o->cmd, "train") != 0 && !o->checkpoint)
        return bad(o->cmd, "%s is required%s", "--checkpoint",
                   ": give the file `gradtape train --checkpoint PATH` wrote");
    return 0;
}

/* ---- models ------------------------------------------------------------------------------- */

/* "mlp", "mlp:256,128", "cnn" -> a Sequential model (softmax output) and its sample shape. */
static gt_model *build_model(const char *spec, int *xrank, int64_t *xshape, char *err,
                             size_t nerr) {
    gt_model *m = NULL;
    if (strcmp(spec, "cnn") == 0) {
        m = gt_sequential(NULL);
        gt_sequential_add(m, gt_conv2d_layer(&(gt_conv2d_layer_desc){
                                 .filters = 32, .kernel_size = {3, 3}, .activation = GT_ACT_RELU}));
        gt_sequential_add(m, gt_max_pooling2d(NULL));
        gt_sequential_add(m, gt_conv2d_layer(&(gt_conv2d_layer_desc){
                                 .filters = 64, .kernel_size = {3, 3}, .activation = GT_ACT_RELU}));
        gt_sequential_add(m, gt_max_pooling2d(NULL));
        gt_sequential_add(m, gt_flatten(NULL));
        gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 128, .activation = GT_ACT_RELU}));
        gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 10, .activation = GT_ACT_SOFTMAX}));
        *xrank = 3;
        xshape[0] = 28, xshape[1] = 28, xshape[2] = 1;
    } else if (strncmp(spec, "mlp", 3) == 0 && (spec[3] == 0 || spec[3] == ':')) {
        int64_t units[16];
        int n = 0;
        if (spec[3] == 0) {
            units[n++] = 256;
            units[n++] = 128;
        } else {
            const char *p = spec + 4;
            while (*p) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p || v <= 0 || v > 1 << 20 || n == 16 || (*end && *end != ',')) {
                    snprintf(err, nerr, "bad model '%s': write mlp:UNITS,UNITS,... (positive "
                                        "layer sizes, e.g. mlp:256,128) or cnn", spec);
                    return NULL;
                }
                units[n++] = v;
                p = *end ? end + 1 : end;
            }
            if (n == 0) {
                snprintf(err, nerr, "bad model '%s': give at least one layer size (mlp:256,128)",
                         spec);
                return NULL;
            }
        }
        m = gt_sequential(NULL);
        for (int i = 0; i < n; i++)
            gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = units[i],
                                                           .activation = GT_ACT_RELU}));
        gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 10, .activation = GT_ACT_SOFTMAX}));
        *xrank = 1;
        xshape[0] = 784;
    } else {
        snprintf(err, nerr, "unknown model '%s': use mlp:256,128 (hidden layer sizes) or cnn",
                 spec);
        return NULL;
    }
    if (!m || !gt_ok()) {
        snprintf(err, nerr, "building model '%s' failed: %s", spec, gt_error() ? gt_error() : "");
        gt_model_free(m);
        return NULL;
    }
    int64_t full[4] = {-1, xshape[0], *xrank > 1 ? xshape[1] : 0, *xrank > 2 ? xshape[2] : 0};
    if (!gt_model_build(m, *xrank + 1, full)) {
        snprintf(err, nerr, "building model '%s' failed: %s", spec, gt_error());
        gt_model_free(m);
        return NULL;
    }
    return m;
}

static gt_optimizer *make_optimizer(const char *name, double lr) {
    const optimizer_kind *k = find_optimizer(name);
    return (k ? k->make : gt_adam)(&(gt_optimizer_desc){.learning_rate = lr});
}

/* ---- data --------------------------------------------------------------------------------- */

static int load_data(const opts *o, gt_dataset **train, gt_dataset **test) {
    const char *dir = o->data ? o->data : GT_FASHION_MNIST_DIR;
    if (!gt_mnist_load(dir, train, test)) {
        fprintf(stderr, "gradtape %s: %s\n", o->cmd, gt_error());
        fprintf(stderr, "Install the data set (apt-get install dataset-fashion-mnist, or "
                        "scripts/install-deps.sh demo) or pass --data DIR with an MNIST-layout "
                        "folder.\n");
        return EXIT_USAGE;
    }
    return 0;
}

static gt_dataset *limited(gt_dataset *ds, int64_t limit) {
    if (limit <= 0 || limit >= gt_dataset_size(ds))
        return ds;
    gt_dataset *v = gt_dataset_take(ds, limit);
    gt_dataset_free(ds);
    return v;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- commands ----------------------------------------------------------------------------- */

static int fail(const opts *o, const char *what) {
    fprintf(stderr, "gradtape %s: %s: %s\n", o->cmd, what, gt_error() ? gt_error() : "failed");
    return 1;
}

static int check_checkpoint_file(const opts *o) {
    if (access(o->checkpoint, R_OK) != 0) {
        fprintf(stderr,
                "gradtape %s: cannot read checkpoint '%s': %s\n"
                "Write one with `gradtape train --checkpoint %s`, or give the right path.\n",
                o->cmd, o->checkpoint, strerror(errno), o->checkpoint);
        return EXIT_USAGE;
    }
    return 0;
}

/* The model spec recorded in a checkpoint's metadata (NULL if none); copied into buf. */
static const char *checkpoint_model(const char *path, char *buf, size_t n) {
    gt_safetensors *st = gt_safetensors_open(path);
    if (!st)
        return NULL;
    const char *m = gt_safetensors_metadata(st, "gradtape.model");
    if (m)
        snprintf(buf, n, "%s", m);
    gt_safetensors_close(st);
    return m ? buf : NULL;
}

static void print_result(const gt_logs *l) {
    printf("test_loss=%.6f test_accuracy=%.6f\n", gt_logs_get(l, "loss"),
           gt_logs_get(l, "accuracy"));
    fflush(stdout);
}

/* The profiler's table to o->profile, "-" meaning standard error. */
static bool write_profile(const opts *o) {
    if (strcmp(o->profile, "-") == 0)
        return gt_profiler_write(stderr);
    FILE *f = fopen(o->profile, "w");
    if (!f) {
        gt_set_error("cannot open '%s' for writing: %s", o->profile, strerror(errno));
        return false;
    }
    bool ok = gt_profiler_write(f);
    if (fclose(f) != 0 && ok) {
        gt_set_error("writing '%s' failed: %s", o->profile, strerror(errno));
        ok = false;
    }
    return ok;
}

static int cmd_train(opts *o) {
    gt_dataset *train = NULL, *test = NULL;
    int rc = load_data(o, &train, &test);
    if (rc)
        return rc;
    train = limited(train, o->limit);
    test = limited(test, o->test_limit);
    gt_set_seed(o->seed);
    char err[512];
    int xrank;
    int64_t xshape[3];
    gt_model *model = build_model(o->model, &xrank, xshape, err, sizeof err);
    if (!model) {
        fprintf(stderr, "gradtape train: %s\n", err);
        gt_dataset_free(train);
        gt_dataset_free(test);
        return EXIT_USAGE;
    }
    gt_dataset_set_x_shape(train, xrank, xshape);
    gt_dataset_set_x_shape(test, xrank, xshape);
    gt_optimizer *opt = make_optimizer(o->optimizer, o->learning_rate);
    gt_loss *loss = gt_sparse_categorical_crossentropy(NULL);
    gt_metric *acc = gt_metric_sparse_categorical_accuracy("accuracy");
    gt_callback *es = NULL;
    if (o->patience > 0)
        es = gt_early_stopping(&(gt_early_stopping_desc){
            .patience = o->patience, .restore_best_weights = true, .verbose = 1});
    if (!opt || !loss || !acc || (o->patience > 0 && !es)) {
        rc = fail(o, "setting up");
        goto done;
    }
    if (o->verbose != GT_VERBOSE_SILENT) {
        printf("Fashion-MNIST: %lld training images, %lld test images; model %s, optimizer %s "
               "(learning rate %g), batch size %lld, seed %llu, %d threads\n",
               (long long)gt_dataset_size(train), (long long)gt_dataset_size(test), o->model,
               o->optimizer, gt_optimizer_learning_rate(opt), (long long)o->batch_size,
               (unsigned long long)o->seed, gt_get_num_threads());
        gt_model_summary(model, stdout, 0);
    }
    gt_history *hist = NULL;
    if (o->profile)
        gt_profiler_start();
    double t0 = now_s();
    bool ok = gt_model_fit(model, train,
                           &(gt_fit_desc){.epochs = o->epochs,
                                          .batch_size = o->batch_size,
                                          .validation_split = o->validation_split,
                                          .seed = o->seed,
                                          .nmetrics = 1,
                                          .metrics = &acc,
                                          .ncallbacks = es ? 1 : 0,
                                          .callbacks = &es,
                                          .verbose = o->verbose},
                           loss, opt, &hist);
    double secs = now_s() - t0;
    if (o->profile) {
        gt_profiler_stop();
        if (!write_profile(o))
            rc = fail(o, "writing the profile");
    }
    if (!ok) {
        rc = fail(o, "training failed");
        gt_history_free(hist);
        goto done;
    }
    int64_t ne = gt_history_epochs(hist);
    if (o->verbose != GT_VERBOSE_SILENT)
        printf("trained %lld epoch%s in %.1fs (%.2fs per epoch)\n", (long long)ne,
               ne == 1 ? "" : "s", secs, ne ? secs / (double)ne : 0.0);
    if (o->history && !gt_history_write_csv(hist, o->history))
        rc = fail(o, "writing the history");
    if (!rc && o->chart) {
        char title[256];
        snprintf(title, sizeof title, "gradtape train --model %s (%s, batch %lld)", o->model,
                 o->optimizer, (long long)o->batch_size);
        if (!gt_history_write_svg(hist, o->chart, title))
            rc = fail(o, "writing the chart");
    }
    gt_history_free(hist);
    if (!rc && o->checkpoint) {
        gt_kv meta[] = {{"gradtape.model", o->model}};
        if (!gt_checkpoint_save(o->checkpoint, model, opt, 1, meta))
            rc = fail(o, "saving the checkpoint");
        else if (o->verbose != GT_VERBOSE_SILENT)
            printf("saved model and optimizer state to %s\n", o->checkpoint);
    }
    if (!rc) {
        gt_logs res;
        if (!gt_model_evaluate(model, test,
                               &(gt_eval_desc){.batch_size = o->batch_size, .nmetrics = 1,
                                               .metrics = &acc, .verbose = o->verbose},
                               loss, &res))
            rc = fail(o, "evaluation failed");
        else
            print_result(&res);
    }
done:
    gt_callback_free(es);
    gt_metric_free(acc);
    gt_loss_free(loss);
    gt_optimizer_free(opt);
    gt_model_free(model);
    gt_dataset_free(train);
    gt_dataset_free(test);
    return rc;
}

/* Loads the checkpoint's model for evaluate / predict. */
static gt_model *load_model(opts *o, int *xrank, int64_t *xshape, int *rc) {
    char spec[256];
    if (!o->model_given) {
        const char *m = checkpoint_model(o->checkpoint, spec, sizeof spec);
        if (!m && !gt_ok()) {
            fprintf(stderr, "gradtape %s: %s\n", o->cmd, gt_error());
            *rc = EXIT_USAGE;
            return NULL;
        }
        if (m)
            o->model = m;
    }
    char err[512];
    gt_model *model = build_model(o->model, xrank, xshape, err, sizeof err);
    if (!model) {
        fprintf(stderr, "gradtape %s: %s\n", o->cmd, err);
        *rc = EXIT_USAGE;
        return NULL;
    }
    if (!gt_checkpoint_load(o->checkpoint, model, NULL)) {
        fprintf(stderr, "gradtape %s: cannot load '%s' into model %s: %s\n", o->cmd,
                o->checkpoint, o->model, gt_error());
        fprintf(stderr, "Check --model (it must match the trained model) or retrain with "
                        "`gradtape train --checkpoint PATH`.\n");
        gt_model_free(model);
        *rc = EXIT_USAGE;
        return NULL;
    }
    return model;
}

/* What evaluate and predict start with: the checkpoint file checked, the first `limit` test
 * images (0: all) in *test and the model loaded from the checkpoint with its input shape set
 * on them. Returns the exit status; *test and *model are NULL when it is not 0, except that a
 * model which failed to load leaves *test set (and *model NULL) for the caller to free. */
static int open_checkpoint(opts *o, int64_t limit, gt_dataset **test, gt_model **model) {
    *test = NULL;
    *model = NULL;
    int rc = check_checkpoint_file(o);
    if (rc)
        return rc;
    gt_dataset *train = NULL;
    if ((rc = load_data(o, &train, test)))
        return rc;
    gt_dataset_free(train);
    *test = limited(*test, limit);
    int xrank;
    int64_t xshape[3];
    *model = load_model(o, &xrank, xshape, &rc);
    if (*model)
        gt_dataset_set_x_shape(*test, xrank, xshape);
    return rc;
}

static int cmd_evaluate(opts *o) {
    gt_dataset *test;
    gt_model *model;
    int rc = open_checkpoint(o, o->test_limit, &test, &model);
    if (!test)
        return rc;
    gt_loss *loss = gt_sparse_categorical_crossentropy(NULL);
    gt_metric *acc = gt_metric_sparse_categorical_accuracy("accuracy");
    if (model) {
        gt_logs res;
        if (!gt_model_evaluate(model, test,
                               &(gt_eval_desc){.batch_size = o->batch_size, .nmetrics = 1,
                                               .metrics = &acc, .verbose = o->verbose},
                               loss, &res))
            rc = fail(o, "evaluation failed");
        else
            print_result(&res);
    }
    gt_metric_free(acc);
    gt_loss_free(loss);
    gt_model_free(model);
    gt_dataset_free(test);
    return rc;
}

static int cmd_predict(opts *o) {
    gt_dataset *test;
    gt_model *model;
    int rc = open_checkpoint(o, o->count, &test, &model);
    if (!test)
        return rc;
    if (model) {
        gt_scope_begin();
        gt_tensor *p = gt_model_predict(model, test,
                                        &(gt_eval_desc){.batch_size = 128,
                                                        .verbose = GT_VERBOSE_SILENT});
        gt_tensor *cls = p ? gt_argmax(p, -1, GT_I32) : NULL;
        if (!cls) {
            rc = fail(o, "prediction failed");
        } else {
            int64_t n = gt_tensor_dim(cls, 0), right = 0;
            printf("%-6s %-16s %-16s %s\n", "image", "predicted", "true", "confidence");
            for (int64_t i = 0; i < n; i++) {
                int c = (int)gt_tensor_get(cls, i), t = gt_dataset_label(test, i);
                right += c == t;
                printf("%-6lld %d %-14s %d %-14s %.4f%s\n", (long long)i, c, class_names[c % 10], t,
                       class_names[t % 10], gt_tensor_get(p, i * 10 + c), c == t ? "" : "  (wrong)");
            }
            printf("accuracy=%.6f (%lld/%lld)\n", n ? (double)right / (double)n : 0.0,
                   (long long)right, (long long)n);
        }
        gt_scope_end();
    }
    gt_model_free(model);
    gt_dataset_free(test);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (argc > 2 && (!strcmp(argv[2], "train") || !strcmp(argv[2], "evaluate") ||
                         !strcmp(argv[2], "predict")))
            usage_for(argv[2], stdout);
        else
            usage_main(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("gradtape %d.%d.%d\n", GT_VERSION_MAJOR, GT_VERSION_MINOR, GT_VERSION_PATCH);
        return 0;
    }
    if (strcmp(cmd, "train") && strcmp(cmd, "evaluate") && strcmp(cmd, "predict")) {
        fprintf(stderr, "gradtape: unknown command '%s'\n", cmd);
        usage_main(stderr);
        return EXIT_USAGE;
    }
    opts o = {.cmd = cmd,
              .model = "mlp:256,128",
              .epochs = 10,
              .batch_size = 128,
              .count = 10,
              .optimizer = "adam",
              .seed = 42,
              .verbose = GT_VERBOSE_AUTO};
    int rc = parse(argc - 2, argv + 2, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.threads > 0)
        gt_set_num_threads(o.threads);
    if (!strcmp(cmd, "train"))
        return cmd_train(&o);
    if (!strcmp(cmd, "evaluate"))
        return cmd_evaluate(&o);
    return cmd_predict(&o);
}
