/* Losses against Keras 3's own values (tests/ref/gen_keras.py): every loss and option, every
 * reduction, with and without sample weights, value and gradient w.r.t. y_pred; the check
 * values of reference §4; the _keras_logits shortcut; gradients against finite differences in
 * float64; the documented errors. */
#include "gtt.h"
#include "nn_ref.h"

#include <gradtape_nn.h>

#include <string.h>

typedef struct lcase {
    const char *name;
    gt_loss_kind kind;
    gt_loss_desc d;
    const char *yt, *yp; /* reference keys */
    int yt_rank, yp_rank;
    int64_t yt_shape[2], yp_shape[2];
    gt_dtype yt_dtype;
} lcase;

static const lcase cases[] = {
    {"cce",
     GT_LOSS_CATEGORICAL_CROSSENTROPY,
     {0},
     "loss.onehot",
     "loss.probs",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"cce_logits",
     GT_LOSS_CATEGORICAL_CROSSENTROPY,
     {.from_logits = true},
     "loss.onehot",
     "loss.logits",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"cce_smooth",
     GT_LOSS_CATEGORICAL_CROSSENTROPY,
     {.label_smoothing = 0.1},
     "loss.onehot",
     "loss.probs",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"cce_logits_smooth",
     GT_LOSS_CATEGORICAL_CROSSENTROPY,
     {.from_logits = true, .label_smoothing = 0.2},
     "loss.onehot",
     "loss.logits",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"scce",
     GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
     {0},
     "loss.sparse",
     "loss.probs",
     1,
     2,
     {4},
     {4, 3},
     GT_I32},
    {"scce_logits",
     GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
     {.from_logits = true},
     "loss.sparse",
     "loss.logits",
     1,
     2,
     {4},
     {4, 3},
     GT_I32},
    {"scce_col",
     GT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
     {.from_logits = true},
     "loss.sparse",
     "loss.logits",
     2,
     2,
     {4, 1},
     {4, 3},
     GT_I32},
    {"bce",
     GT_LOSS_BINARY_CROSSENTROPY,
     {0},
     "loss.btrue",
     "loss.bprobs",
     2,
     2,
     {4, 2},
     {4, 2},
     GT_F32},
    {"bce_logits",
     GT_LOSS_BINARY_CROSSENTROPY,
     {.from_logits = true},
     "loss.btrue",
     "loss.blogits",
     2,
     2,
     {4, 2},
     {4, 2},
     GT_F32},
    {"bce_smooth",
     GT_LOSS_BINARY_CROSSENTROPY,
     {.label_smoothing = 0.2},
     "loss.btrue",
     "loss.bprobs",
     2,
     2,
     {4, 2},
     {4, 2},
     GT_F32},
    {"bce_logits_smooth",
     GT_LOSS_BINARY_CROSSENTROPY,
     {.from_logits = true, .label_smoothing = 0.1},
     "loss.btrue",
     "loss.blogits",
     2,
     2,
     {4, 2},
     {4, 2},
     GT_F32},
    {"mse",
     GT_LOSS_MEAN_SQUARED_ERROR,
     {0},
     "loss.rtrue",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"mae",
     GT_LOSS_MEAN_ABSOLUTE_ERROR,
     {0},
     "loss.rtrue",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"huber", GT_LOSS_HUBER, {0}, "loss.rtrue", "loss.rpred", 2, 2, {4, 3}, {4, 3}, GT_F32},
    {"huber_delta",
     GT_LOSS_HUBER,
     {.delta = 0.5},
     "loss.rtrue",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"kld",
     GT_LOSS_KL_DIVERGENCE,
     {0},
     "loss.pos_true",
     "loss.pos_pred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"poisson",
     GT_LOSS_POISSON,
     {0},
     "loss.pos_true",
     "loss.pos_pred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"log_cosh",
     GT_LOSS_LOG_COSH,
     {0},
     "loss.rtrue",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"cosine",
     GT_LOSS_COSINE_SIMILARITY,
     {0},
     "loss.cos_true",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"hinge",
     GT_LOSS_HINGE,
     {0},
     "loss.onehot",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"hinge_pm1",
     GT_LOSS_HINGE,
     {0},
     "loss.pm1",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"squared_hinge",
     GT_LOSS_SQUARED_HINGE,
     {0},
     "loss.onehot",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"squared_hinge_pm1",
     GT_LOSS_SQUARED_HINGE,
     {0},
     "loss.pm1",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"categorical_hinge",
     GT_LOSS_CATEGORICAL_HINGE,
     {0},
     "loss.onehot",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"msle",
     GT_LOSS_MEAN_SQUARED_LOGARITHMIC_ERROR,
     {0},
     "loss.rtrue",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
    {"mape",
     GT_LOSS_MEAN_ABSOLUTE_PERCENTAGE_ERROR,
     {0},
     "loss.rtrue",
     "loss.rpred",
     2,
     2,
     {4, 3},
     {4, 3},
     GT_F32},
};

static const char *const red_names[] = {"sum_over_batch_size", "sum", "none",
                                        "mean_with_sample_weight"};

/* Values and gradients in float32 against Keras: the same float32 formulas, sums of <= 12
 * terms in another order: a few ulps; 1e-5 relative with 1e-7 absolute (zero gradients of
 * clipped probabilities and of zero-weighted samples) is a bound with margin. */
static void against_keras(void) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const lcase *k = &cases[c];
        for (int r = 0; r < 4; r++)
            for (int weighted = 0; weighted < 2; weighted++) {
                if (r == GT_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT && !weighted)
                    continue;
                gt_scope_begin();
                gt_loss_desc d = k->d;
                d.reduction = (gt_reduction)r;
                gt_loss *l = gt_loss_new(k->kind, &d);
                gt_tensor *yt = nnref_tensor(k->yt, GT_F64, k->yt_rank, k->yt_shape);
                yt = gt_cast(yt, k->yt_dtype);
                gt_tensor *yp = nnref_tensor(k->yp, GT_F32, k->yp_rank, k->yp_shape);
                gt_tensor *sw = weighted ? nnref_tensor("loss.sw", GT_F32, GT_SHAPE(4)) : NULL;
                gt_tape *tape = gt_tape_begin(NULL);
                gt_tape_watch(tape, yp);
                gt_tensor *val = gt_loss_call(l, yt, yp, sw);
                gt_tape_end(tape);
                gt_tensor *g = gt_gradient(tape, val, yp);
                char key[160];
                snprintf(key, sizeof key, "loss.%s.%s%s", k->name, red_names[r],
                         weighted ? ".sw" : "");
                GTT_CHECK(val != NULL, "%s: %s", key, gt_error() ? gt_error() : "");
                gt_error_clear();
                nnref_check(key, val, 1e-7, 1e-5);
                strcat(key, ".grad");
                nnref_check(key, g, 1e-7, 1e-5);
                gt_tape_free(tape);
                gt_loss_free(l);
                gt_scope_end();
            }
    }
    /* CosineSimilarity(axis=0) on the transposed inputs: every reduction, value and gradient */
    for (int r = 0; r < 4; r++)
        for (int weighted = 0; weighted < 2; weighted++) {
            if (r == GT_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT && !weighted)
                continue;
            gt_scope_begin();
            gt_loss *l = gt_cosine_similarity(&(gt_loss_desc){.axis = -2, .reduction = r});
            gt_tensor *yt =
                gt_transpose(nnref_tensor("loss.cos_true", GT_F32, GT_SHAPE(4, 3)), NULL);
            gt_tensor *yp = gt_transpose(nnref_tensor("loss.rpred", GT_F32, GT_SHAPE(4, 3)), NULL);
            gt_tensor *sw = weighted ? nnref_tensor("loss.sw", GT_F32, GT_SHAPE(4)) : NULL;
            gt_tape *tape = gt_tape_begin(NULL);
            gt_tape_watch(tape, yp);
            gt_tensor *val = gt_loss_call(l, yt, yp, sw);
            gt_tape_end(tape);
            char key[160];
            snprintf(key, sizeof key, "loss.cosine_axis0.%s%s", red_names[r],
                     weighted ? ".sw" : "");
            nnref_check(key, val, 1e-7, 1e-5);
            strcat(key, ".grad");
            nnref_check(key, gt_gradient(tape, val, yp), 1e-7, 1e-5);
            gt_tape_free(tape);
            gt_loss_free(l);
            gt_scope_end();
        }
    /* axis = 0 (the class axis first): Keras' axis argument */
    gt_scope_begin();
    gt_loss *l = gt_categorical_crossentropy(&(gt_loss_desc){.axis = -2});
    gt_tensor *yt = gt_transpose(nnref_tensor("loss.onehot", GT_F32, GT_SHAPE(4, 3)), NULL);
    gt_tensor *yp = gt_transpose(nnref_tensor("loss.probs", GT_F32, GT_SHAPE(4, 3)), NULL);
    nnref_check("loss.cce_axis0.sum_over_batch_size", gt_loss_call(l, yt, yp, NULL), 1e-7, 1e-5);
    gt_loss_free(l);
    gt_scope_end();
}

/* Reference §4 check values and the logits shortcut. */
static void check_values(void) {
    gt_scope_begin();
    gt_loss *cce = gt_categorical_crossentropy(&(gt_loss_desc){.from_logits = true});
    gt_tensor *logits = gt_tensor_new(GT_F32, GT_SHAPE(1, 3), (float[]){2, 1, 0.1f});
    gt_tensor *y = gt_tensor_new(GT_F32, GT_SHAPE(1, 3), (float[]){1, 0, 0});
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tape_watch(tape, logits);
    gt_tensor *v = gt_loss_call(cce, y, logits, NULL);
    gt_tape_end(tape);
    GTT_CLOSE(gt_item(v), 0.41703002, 1e-7, 0);
    double dl[3] = {-0.3409989, 0.2424330, 0.0985659};
    gtt_tensor_close("d cce / d logits", gt_gradient(tape, v, logits), dl, 3, 1e-7, 0);
    gt_tape_free(tape);
    /* Huber doc value: 0.155 */
    gt_loss *hub = gt_huber(NULL);
    gt_tensor *ht = gt_tensor_new(GT_F32, GT_SHAPE(2, 2), (float[]){0, 1, 0, 0});
    gt_tensor *hp = gt_tensor_new(GT_F32, GT_SHAPE(2, 2), (float[]){0.6f, 0.4f, 0.4f, 0.6f});
    GTT_CLOSE(gt_item(gt_loss_call(hub, ht, hp, NULL)), 0.155, 1e-7, 0);
    /* CosineSimilarity(axis=1) doc example: -0.5 (a loss: the negative similarity) */
    gt_loss *cs = gt_cosine_similarity(NULL);
    gt_tensor *ct = gt_tensor_new(GT_F32, GT_SHAPE(2, 2), (float[]){0, 1, 1, 1});
    gt_tensor *cp = gt_tensor_new(GT_F32, GT_SHAPE(2, 2), (float[]){1, 0, 1, 1});
    nnref_check("loss.doc.cosine", gt_loss_call(cs, ct, cp, NULL), 1e-7, 0);
    gt_loss_free(cs);
    /* Keras' names */
    static const struct {
        gt_loss *(*make)(const gt_loss_desc *);
        const char *name;
    } names[] = {{gt_kl_divergence, "kl_divergence"},
                 {gt_poisson, "poisson"},
                 {gt_log_cosh, "log_cosh"},
                 {gt_cosine_similarity, "cosine_similarity"},
                 {gt_hinge, "hinge"},
                 {gt_squared_hinge, "squared_hinge"},
                 {gt_categorical_hinge, "categorical_hinge"},
                 {gt_mean_squared_logarithmic_error, "mean_squared_logarithmic_error"},
                 {gt_mean_absolute_percentage_error, "mean_absolute_percentage_error"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        gt_loss *l = names[i].make(NULL);
        GTT_CHECK(l && strcmp(gt_loss_name(l), names[i].name) == 0, "%s", names[i].name);
        gt_loss_free(l);
    }
    /* softmax / sigmoid outputs keep their logits: CCE/BCE compute from them (Keras) */
    gt_tensor *ext = nnref_tensor("loss.ext_logits", GT_F32, GT_SHAPE(2, 3));
    gt_tensor *et = nnref_tensor("loss.ext_true", GT_F32, GT_SHAPE(2, 3));
    gt_tensor *bt = nnref_tensor("loss.ext_btrue", GT_F32, GT_SHAPE(2, 3));
    gt_loss *c0 = gt_categorical_crossentropy(&(gt_loss_desc){.reduction = GT_REDUCTION_NONE});
    gt_loss *b0 = gt_binary_crossentropy(&(gt_loss_desc){.reduction = GT_REDUCTION_NONE});
    gt_tensor *sm = gt_activation_apply(GT_ACT_SOFTMAX, ext);
    gt_tensor *sg = gt_activation_apply(GT_ACT_SIGMOID, ext);
    GTT_CHECK(gt_tensor_logits(sm) == ext, "softmax keeps its logits");
    nnref_check("loss.ext.cce_via_logits", gt_loss_call(c0, et, sm, NULL), 1e-6, 1e-6);
    nnref_check("loss.ext.cce_via_probs", gt_loss_call(c0, et, gt_identity(sm), NULL), 1e-6, 1e-6);
    nnref_check("loss.ext.bce_via_logits", gt_loss_call(b0, bt, sg, NULL), 1e-6, 1e-6);
    nnref_check("loss.ext.bce_via_probs", gt_loss_call(b0, bt, gt_identity(sg), NULL), 1e-6, 1e-6);
    /* from_logits=True on a sigmoid output warns with Keras' text (once per loss object) */
    gt_loss *b1 = gt_binary_crossentropy(&(gt_loss_desc){.from_logits = true});
    nnref_warnings = 0;
    gt_loss_call(b1, bt, sg, NULL);
    gt_loss_call(b1, bt, sg, NULL);
    GTT_CHECK(nnref_warnings == 1 &&
                  strstr(nnref_last_warning, "`binary_crossentropy` received "
                                             "`from_logits=True`") &&
                  strstr(nnref_last_warning, "produced by a Sigmoid activation"),
              "%d: %s", nnref_warnings, nnref_last_warning);
    gt_loss_free(cce);
    gt_loss_free(hub);
    gt_loss_free(c0);
    gt_loss_free(b0);
    gt_loss_free(b1);
    gt_scope_end();
}

/* ---- finite differences in float64 -------------------------------------------------------- */

typedef struct fdcase {
    gt_loss *loss;
    const gt_tensor *yt, *sw;
} fdcase;

static gt_tensor *fd_fn(gt_tensor *const *x, void *user) {
    fdcase *c = user;
    return gt_loss_call(c->loss, c->yt, x[0], c->sw);
}

static void gradchecks(void) {
    gt_scope_begin();
    gt_tensor *probs = gtt_rand_uniform(GT_SHAPE(3, 4), 0.1, 0.9, 7);
    gt_tensor *logits = gtt_randn(GT_SHAPE(3, 4), 1.5, 0, 8);
    gt_tensor *onehot =
        gt_one_hot(gt_tensor_new(GT_I32, GT_SHAPE(3), (int32_t[]){1, 3, 0}), 4, 1, 0, GT_F64);
    gt_tensor *sparse = gt_tensor_new(GT_I64, GT_SHAPE(3), (int64_t[]){1, 3, 0});
    gt_tensor *bin =
        gt_tensor_new(GT_F64, GT_SHAPE(3, 4), (double[]){1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1});
    gt_tensor *target = gtt_randn(GT_SHAPE(3, 4), 1, 0, 9);
    /* regression predictions: away from the kinks of abs and Huber (|e| = delta) */
    gt_tensor *rpred = gt_add(target, gt_tensor_new(GT_F64, GT_SHAPE(3, 4),
                                                    (double[]){0.3, -0.7, 1.6, -2.2, 0.45, -0.2,
                                                               0.9, -1.3, 2.5, -0.6, 0.15, 1.1}));
    gt_tensor *sw = gt_tensor_new(GT_F64, GT_SHAPE(3), (double[]){0.5, 2, 1});
    /* positive targets and predictions inside KLDivergence's clip range [1e-7, 1] */
    gt_tensor *ptrue = gtt_rand_uniform(GT_SHAPE(3, 4), 0.05, 0.95, 10);
    gt_tensor *ppred = gtt_rand_uniform(GT_SHAPE(3, 4), 0.05, 0.95, 11);
    /* hinge predictions: every margin 1 - t * p at least 0.15 away from the kink at 0 */
    gt_tensor *pm1 = gt_tensor_new(GT_F64, GT_SHAPE(3, 4),
                                   (double[]){1, -1, -1, 1, -1, 1, 1, -1, 1, 1, -1, -1});
    gt_tensor *hpred = gt_tensor_new(GT_F64, GT_SHAPE(3, 4),
                                     (double[]){0.3, -1.4, 0.6, 2.1, 0.5, -0.2, 1.6, -0.7, -0.4,
                                                0.8, -1.9, 0.25});
    struct {
        const char *name;
        gt_loss *loss;
        const gt_tensor *yt, *x;
    } fd[] = {
        {"cce", gt_categorical_crossentropy(NULL), onehot, probs},
        {"cce logits ls",
         gt_categorical_crossentropy(&(gt_loss_desc){.from_logits = true, .label_smoothing = 0.1}),
         onehot, logits},
        {"scce", gt_sparse_categorical_crossentropy(NULL), sparse, probs},
        {"scce logits", gt_sparse_categorical_crossentropy(&(gt_loss_desc){.from_logits = true}),
         sparse, logits},
        {"bce", gt_binary_crossentropy(&(gt_loss_desc){.label_smoothing = 0.2}), bin, probs},
        {"bce logits", gt_binary_crossentropy(&(gt_loss_desc){.from_logits = true}), bin, logits},
        {"mse", gt_mean_squared_error(&(gt_loss_desc){.reduction = GT_REDUCTION_SUM}), target,
         rpred},
        {"mae", gt_mean_absolute_error(NULL), target, rpred},
        {"huber", gt_huber(NULL), target, rpred},
        {"huber delta", gt_huber(&(gt_loss_desc){.delta = 0.5}), target, rpred},
        {"kld", gt_kl_divergence(NULL), ptrue, ppred},
        {"poisson", gt_poisson(&(gt_loss_desc){.reduction = GT_REDUCTION_SUM}), ptrue, ppred},
        {"log_cosh", gt_log_cosh(NULL), target, rpred},
        {"cosine", gt_cosine_similarity(NULL), target, rpred},
        {"cosine axis0", gt_cosine_similarity(&(gt_loss_desc){.axis = -2}),
         gt_transpose(target, NULL), gt_transpose(rpred, NULL)},
        {"hinge", gt_hinge(NULL), pm1, hpred},
        {"hinge 0/1", gt_hinge(NULL), bin, hpred},
        {"squared hinge", gt_squared_hinge(NULL), pm1, hpred},
        {"categorical hinge", gt_categorical_hinge(NULL), onehot, hpred},
        {"msle", gt_mean_squared_logarithmic_error(NULL), ptrue, ppred},
        {"mape", gt_mean_absolute_percentage_error(NULL), target, rpred},
    };
    for (size_t i = 0; i < sizeof fd / sizeof fd[0]; i++) {
        for (int w = 0; w < 2; w++) {
            fdcase c = {fd[i].loss, fd[i].yt, w ? sw : NULL};
            gt_tensor *x[1] = {(gt_tensor *)fd[i].x};
            char name[64];
            snprintf(name, sizeof name, "%s%s", fd[i].name, w ? " weighted" : "");
            /* every loss is built from ops with second-order rules, and every input is away
             * from the kinks (abs, max, clip): first and second order throughout */
            gtt_gradcheck(name, fd_fn, &c, 1, x, NULL);
        }
        gt_loss_free(fd[i].loss);
    }
    gt_scope_end();
}

static void errors(void) {
    gt_scope_begin();
    gt_loss *cce = gt_categorical_crossentropy(NULL);
    gt_tensor *p = gt_fill(GT_F32, GT_SHAPE(4, 3), 1.0 / 3);
    GTT_CHECK(!gt_loss_call(cce, gt_zeros(GT_F32, GT_SHAPE(4, 2)), p, NULL), "cce shape");
    GTT_ERROR_HAS("Arguments `target` and `output` must have the same shape. Received: "
                  "target.shape=(4, 2), output.shape=(4, 3)");
    GTT_CHECK(!gt_loss_call(cce, gt_zeros(GT_F32, GT_SHAPE(4, 3, 2)), p, NULL), "cce rank");
    GTT_ERROR_HAS("must have the same rank");
    gt_loss *sc = gt_sparse_categorical_crossentropy(NULL);
    GTT_CHECK(!gt_loss_call(sc, gt_zeros(GT_I32, GT_SHAPE(5)), p, NULL), "scce shape");
    GTT_ERROR_HAS("must have the same shape up until the last dimension: target.shape=(5,), "
                  "output.shape=(4, 3)");
    GTT_CHECK(!gt_loss_call(sc, gt_zeros(GT_I32, GT_SHAPE(4, 3)), p, NULL), "scce rank");
    GTT_ERROR_HAS("Argument `output` must have rank (ndim) `target.ndim - 1`");
    GTT_CHECK(!gt_loss_call(sc, gt_fill(GT_I32, GT_SHAPE(4), 3), p, NULL), "label range");
    GTT_CHECK(!gt_ok(), "out-of-range label is an error");
    gt_error_clear();
    GTT_CHECK(!gt_loss_call(cce, NULL, p, NULL) && !gt_ok(), "NULL input");
    gt_error_clear();
    GTT_CHECK(!gt_sparse_categorical_crossentropy(&(gt_loss_desc){.axis = -2}), "scce axis");
    GTT_ERROR_HAS("Only axis=-1 is currently supported");
    GTT_CHECK(!gt_mean_squared_error(&(gt_loss_desc){.from_logits = true}), "mse from_logits");
    GTT_ERROR_HAS("Argument(s) not recognized");
    GTT_CHECK(!gt_categorical_crossentropy(&(gt_loss_desc){.label_smoothing = 1.5}), "ls");
    GTT_ERROR_HAS("label_smoothing must be in [0, 1]");
    GTT_CHECK(!gt_huber(&(gt_loss_desc){.delta = -1}), "delta");
    GTT_ERROR_HAS("delta must be >= 0");
    GTT_CHECK(!gt_loss_new(GT_LOSS_MEAN_SQUARED_ERROR, &(gt_loss_desc){.reduction = 9}), "red");
    GTT_ERROR_HAS("Invalid value for argument `reduction`");
    /* the wrapped losses broadcast y_true against y_pred as Keras' ops do; shapes that do
     * not broadcast are the op's error (TensorFlow's "Incompatible shapes: [4,2] vs. [4,3]",
     * gradtape's op text) */
    for (int k = GT_LOSS_KL_DIVERGENCE; k <= GT_LOSS_MEAN_ABSOLUTE_PERCENTAGE_ERROR; k++) {
        gt_loss *l = gt_loss_new((gt_loss_kind)k, NULL);
        GTT_CHECK(!gt_loss_call(l, gt_fill(GT_F32, GT_SHAPE(4, 2), 0.5), p, NULL), "%s shape",
                  gt_loss_name(l));
        GTT_ERROR_HAS("are not broadcastable (dimension");
        GTT_CHECK(!gt_loss_new((gt_loss_kind)k, &(gt_loss_desc){.from_logits = true}),
                  "%s from_logits", gt_loss_name(l));
        GTT_ERROR_HAS("Argument(s) not recognized: from_logits");
        gt_loss_free(l);
    }
    GTT_CHECK(!gt_hinge(&(gt_loss_desc){.axis = -2}), "hinge axis");
    GTT_ERROR_HAS("hinge: Argument(s) not recognized: axis");
    GTT_CHECK(!gt_poisson(&(gt_loss_desc){.label_smoothing = 0.1}), "poisson label_smoothing");
    GTT_ERROR_HAS("poisson: Argument(s) not recognized: label_smoothing");
    GTT_CHECK(!gt_loss_new((gt_loss_kind)(GT_LOSS_MEAN_ABSOLUTE_PERCENTAGE_ERROR + 1), NULL),
              "kind");
    GTT_ERROR_HAS("loss: unknown kind");
    /* one class: Keras' SyntaxWarning, then the value */
    nnref_warnings = 0;
    gt_loss_call(cce, gt_ones(GT_F32, GT_SHAPE(2, 1)), gt_ones(GT_F32, GT_SHAPE(2, 1)), NULL);
    GTT_CHECK(nnref_warnings == 1 && strstr(nnref_last_warning, "num_classes > 1"), "%s",
              nnref_last_warning);
    /* integer labels are cast as Keras casts them */
    gt_tensor *il = gt_tensor_new(GT_I32, GT_SHAPE(1, 3), (int32_t[]){0, 1, 0});
    gt_tensor *fl = gt_tensor_new(GT_F32, GT_SHAPE(1, 3), (float[]){0, 1, 0});
    gt_tensor *pp = gt_tensor_new(GT_F32, GT_SHAPE(1, 3), (float[]){0.2f, 0.5f, 0.3f});
    GTT_CLOSE(gt_item(gt_loss_call(cce, il, pp, NULL)), gt_item(gt_loss_call(cce, fl, pp, NULL)), 0,
              0);
    gt_loss_free(cce);
    gt_loss_free(sc);
    gt_scope_end();
}

int main(void) {
    nnref_capture_warnings();
    if (!nnref_load(GT_TEST_DATA_DIR "/keras_ref.txt"))
        return gtt_finish();
    against_keras();
    check_values();
    gradchecks();
    errors();
    nnref_free();
    return gtt_finish();
}
