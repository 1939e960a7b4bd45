/* Optimizers and schedules against Keras 3's own trajectories (tests/ref/gen_keras.py): ten
 * steps of every optimizer and option on a fixed problem, bit for bit (norm clipping within
 * 1e-6), and Nadam's u_product after them; the check values of reference §5.2; Adam with
 * beta_1 = beta_2 = epsilon = 0, lr = 1 is w -= sign(g) exactly; float64 variables;
 * apply_gradients semantics and every documented error. */
#include "gtt.h"
#include "nn_ref.h"

#include <gradtape_nn.h>

#include <string.h>

typedef struct cfg {
    const char *name;
    gt_optimizer *(*make)(const gt_optimizer_desc *);
    gt_optimizer_desc d;
} cfg;

static const double pw_bounds[] = {2, 5}, pw_values[] = {0.1, 0.05, 0.01};

static const cfg cfgs[] = {
    {"sgd", gt_sgd, {.learning_rate = 0.1}},
    {"sgd_momentum", gt_sgd, {.learning_rate = 0.1, .momentum = 0.9}},
    {"sgd_nesterov", gt_sgd, {.learning_rate = 0.1, .momentum = 0.9, .nesterov = true}},
    {"sgd_clipnorm", gt_sgd, {.learning_rate = 0.1, .clipnorm = 1.0}},
    {"sgd_clipvalue", gt_sgd, {.learning_rate = 0.1, .clipvalue = 0.5}},
    {"sgd_global_clipnorm", gt_sgd, {.learning_rate = 0.1, .global_clipnorm = 1.0}},
    {"sgd_weight_decay", gt_sgd, {.learning_rate = 0.1, .weight_decay = 0.05}},
    {"adam", gt_adam, {.learning_rate = 0.1}},
    {"adam_amsgrad", gt_adam, {.learning_rate = 0.1, .amsgrad = true}},
    {"adam_clipnorm", gt_adam, {.learning_rate = 0.1, .clipnorm = 0.5}},
    {"adam_weight_decay", gt_adam, {.learning_rate = 0.1, .weight_decay = 0.1}},
    {"adamw", gt_adamw, {.learning_rate = 0.1}},
    {"adamw_amsgrad", gt_adamw, {.learning_rate = 0.05, .weight_decay = 0.2, .amsgrad = true}},
    {"rmsprop", gt_rmsprop, {.learning_rate = 0.05}},
    {"rmsprop_momentum", gt_rmsprop, {.learning_rate = 0.05, .momentum = 0.9}},
    {"rmsprop_centered", gt_rmsprop, {.learning_rate = 0.05, .centered = true}},
    {"rmsprop_momentum_centered",
     gt_rmsprop,
     {.learning_rate = 0.05, .momentum = 0.5, .centered = true}},
    {"adagrad", gt_adagrad, {.learning_rate = 0.5}},
    {"adagrad_global_clipnorm", gt_adagrad, {.learning_rate = 0.5, .global_clipnorm = 2.0}},
    {"sgd_exponential",
     gt_sgd,
     {.schedule = {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY,
                   .initial_learning_rate = 0.1,
                   .decay_steps = 3,
                   .decay_rate = 0.5}}},
    {"sgd_exponential_staircase",
     gt_sgd,
     {.schedule = {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY,
                   .initial_learning_rate = 0.1,
                   .decay_steps = 3,
                   .decay_rate = 0.5,
                   .staircase = true}}},
    {"sgd_piecewise",
     gt_sgd,
     {.schedule = {.kind = GT_SCHEDULE_PIECEWISE_CONSTANT,
                   .nboundaries = 2,
                   .boundaries = pw_bounds,
                   .values = pw_values}}},
    {"adam_cosine_warmup",
     gt_adam,
     {.schedule = {.kind = GT_SCHEDULE_COSINE_DECAY,
                   .initial_learning_rate = 0.05,
                   .decay_steps = 6,
                   .alpha = 0.1,
                   .warmup_target = 0.2,
                   .warmup_steps = 3}}},
    {"sgd_polynomial",
     gt_sgd,
     {.schedule = {.kind = GT_SCHEDULE_POLYNOMIAL_DECAY,
                   .initial_learning_rate = 0.1,
                   .decay_steps = 6,
                   .end_learning_rate = 0.01,
                   .power = 2.0}}},
    {"sgd_inverse_time",
     gt_sgd,
     {.schedule = {.kind = GT_SCHEDULE_INVERSE_TIME_DECAY,
                   .initial_learning_rate = 0.1,
                   .decay_steps = 2,
                   .decay_rate = 0.5,
                   .staircase = true}}},
    {"adamax", gt_adamax, {.learning_rate = 0.1}},
    {"adamax_weight_decay", gt_adamax, {.learning_rate = 0.1, .weight_decay = 0.1}},
    {"adamax_clipvalue", gt_adamax, {.learning_rate = 0.1, .clipvalue = 0.5}},
    {"nadam", gt_nadam, {.learning_rate = 0.1}},
    {"nadam_weight_decay", gt_nadam, {.learning_rate = 0.1, .weight_decay = 0.1}},
    {"nadam_global_clipnorm", gt_nadam, {.learning_rate = 0.1, .global_clipnorm = 1.0}},
    {"nadam_exponential",
     gt_nadam,
     {.schedule = {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY,
                   .initial_learning_rate = 0.1,
                   .decay_steps = 3,
                   .decay_rate = 0.5}}},
    {"lion", gt_lion, {.learning_rate = 0.05}},
    {"lion_betas", gt_lion, {.learning_rate = 0.05, .beta_1 = 0.5, .beta_2 = 0.9}},
    {"lion_weight_decay", gt_lion, {.learning_rate = 0.05, .weight_decay = 0.2}},
    {"lion_piecewise",
     gt_lion,
     {.schedule = {.kind = GT_SCHEDULE_PIECEWISE_CONSTANT,
                   .nboundaries = 2,
                   .boundaries = pw_bounds,
                   .values = pw_values}}},
};

/* g = (v - T) * A: two exactly rounded ops, bit-identical to TF's. */
static gt_tensor *grad_of(gt_tensor *v, const gt_tensor *t, const gt_tensor *a) {
    return gt_mul(gt_sub(v, t), a);
}

/* |got - want| in units of the tolerance; with no tolerance, 0 when equal and 2 when not. */
static double off(double got, double want, double atol, double rtol) {
    if (atol == 0 && rtol == 0)
        return got == want ? 0 : 2;
    return fabs(got - want) / (atol + rtol * fabs(want));
}

/* Ten steps against Keras' trajectory. Both run the same float32 (float64) operations in the
 * same order, and powf/sqrtf agree with Eigen's on these inputs, so every case is required to
 * be bit-identical except clipnorm and global_clipnorm: their norm is a sum whose order
 * differs from Eigen's reduction tree by an ulp or so, which ten steps carry into the weights
 * as a few ulps. Those cases get atol + rtol * |want|: 1e-7 + 1e-6 relative in float32, and
 * 1e-12 + 1e-10 in float64 (measured worst: 26 and 381 ulps of the value). */
static void trajectories(gt_dtype dt, double atol, double rtol) {
    gt_scope_begin();
    gt_tensor *tw = nnref_tensor("opt.tw", dt, GT_SHAPE(3, 4));
    gt_tensor *tb = nnref_tensor("opt.tb", dt, GT_SHAPE(4));
    gt_tensor *aw = nnref_tensor("opt.aw", dt, GT_SHAPE(3, 4));
    gt_tensor *ab = nnref_tensor("opt.ab", dt, GT_SHAPE(4));
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        gt_optimizer *opt = cfgs[c].make(&cfgs[c].d);
        GTT_CHECK(opt != NULL, "%s: %s", cfgs[c].name, gt_error() ? gt_error() : "");
        if (!opt) {
            gt_error_clear();
            continue;
        }
        gt_tensor *w = gt_variable(nnref_tensor("opt.w0", dt, GT_SHAPE(3, 4)), "w");
        gt_tensor *b = gt_variable(nnref_tensor("opt.b0", dt, GT_SHAPE(4)), "b");
        int64_t n;
        char key[128];
        const char *sfx = dt == GT_F64 ? "64" : "";
        snprintf(key, sizeof key, "opt.%s.w%s", cfgs[c].name, sfx);
        const double *ww = nnref_get(key, &n);
        snprintf(key, sizeof key, "opt.%s.b%s", cfgs[c].name, sfx);
        const double *wb = nnref_get(key, &n);
        const bool norm_clip = cfgs[c].d.clipnorm > 0 || cfgs[c].d.global_clipnorm > 0;
        const double at = norm_clip ? atol : 0, rt = norm_clip ? rtol : 0;
        int bad = 0;
        double worst = 0;
        for (int step = 0; step < 10 && ww && wb; step++) {
            gt_scope_begin();
            gt_tensor *g[2] = {grad_of(w, tw, aw), grad_of(b, tb, ab)};
            gt_tensor *v[2] = {w, b};
            if (!gt_optimizer_apply_gradients(opt, 2, g, v))
                bad++;
            gt_scope_end();
            for (int i = 0; i < 16; i++) {
                double got = i < 12 ? gt_tensor_get(w, i) : gt_tensor_get(b, i - 12);
                double want = i < 12 ? ww[step * 12 + i] : wb[step * 4 + i - 12];
                double err = off(got, want, at, rt);
                worst = err > worst ? err : worst;
                bad += err > 1;
            }
        }
        GTT_CHECK(bad == 0, "%s (%s): %d coordinates off%s, worst %.3g x tolerance",
                  cfgs[c].name, gt_dtype_name(dt), bad, norm_clip ? "" : " (bit-identical wanted)",
                  worst);
        GTT_CHECK(gt_optimizer_iterations(opt) == 10, "%s iterations", cfgs[c].name);
        /* Nadam's own variable: ten products of scalars computed as Keras computes them, in
         * the first variable's dtype; bit for bit */
        snprintf(key, sizeof key, "opt.%s.u_product%s", cfgs[c].name, sfx);
        const double *up = strncmp(cfgs[c].name, "nadam", 5) == 0 ? nnref_get(key, &n) : NULL;
        if (up) {
            gt_optimizer_slot sl[8];
            int ns = gt_optimizer_slots(opt, sl, 8);
            const gt_optimizer_slot *u = ns == 5 ? &sl[4] : NULL; /* after m, v of w and b */
            GTT_CHECK(u && !strcmp(u->name, "u_product") && !u->var && u->dtype == dt &&
                          u->size == 1,
                      "%s: u_product slot", cfgs[c].name);
            double got = !u ? NAN
                         : dt == GT_F64 ? *(const double *)u->data
                                        : (double)*(const float *)u->data;
            GTT_CHECK(got == *up, "%s (%s): u_product %.17g, Keras %.17g", cfgs[c].name,
                      gt_dtype_name(dt), got, *up);
        }
        gt_variable_free(w);
        gt_variable_free(b);
        gt_optimizer_free(opt);
    }
    gt_scope_end();
}

/* Check values of tf-semantics.md §5.2 (w = 1, g = 0.5, one step; float64 variables, so the
 * only rounding is the float32 learning rate Keras stores). */
static double one_step_dt(gt_optimizer *opt, double w0, double g0, gt_dtype dt) {
    gt_scope_begin();
    gt_tensor *w = gt_variable(gt_scalar_of(dt, w0), "w");
    gt_tensor *g = gt_scalar_of(dt, g0);
    GTT_OK(gt_optimizer_apply_gradients(opt, 1, &g, &w));
    double r = gt_item(w);
    gt_variable_free(w);
    gt_scope_end();
    gt_optimizer_free(opt);
    return r;
}

static double one_step(gt_optimizer *opt, double w0, double g0) {
    return one_step_dt(opt, w0, g0, GT_F64);
}

static void check_values(void) {
    /* Adam: the check value 0.9990000063 is the formula in exact arithmetic. A float32
     * variable holds it to within one ulp (6e-8 at 1). Keras' own float64 run gives
     * 0.99900001295 (beta_2 goes through float32 in ops.cast), and so does gradtape's. */
    GTT_CLOSE(one_step_dt(gt_adam(NULL), 1, 0.5, GT_F32), 0.9990000063, 6e-8, 0);
    GTT_CLOSE(one_step(gt_adam(NULL), 1, 0.5), 0.99900001295271557, 1e-15, 0);
    /* RMSprop, Adagrad: lr 0.001 in float32 is 0.0010000000474974513: 5e-8 relative of the
     * step, below 1e-9 absolute */
    GTT_CLOSE(1 - one_step(gt_rmsprop(NULL), 1, 0.5), 0.0031622713, 1e-9, 0);
    GTT_CLOSE(1 - one_step(gt_adagrad(NULL), 1, 0.5), 0.0008451541, 1e-9, 0);
    /* Lion's first step from m = 0 is lr * sign(g): exactly 1 - 0.001f */
    GTT_CLOSE(one_step_dt(gt_lion(NULL), 1, 0.5, GT_F32), (double)(1.0f - 0.001f), 0, 0);
    /* Adamax's first step: m = 0.1 g, u = |g|, w -= lr m / (0.1 (|g| + eps)) = lr*g/(|g|+eps) */
    GTT_CLOSE(1 - one_step(gt_adamax(NULL), 1, 0.5), 0.001 * 0.5 / (0.5 + 1e-7), 1e-9, 0);
    gt_optimizer *nadam = gt_nadam(NULL);
    GTT_CHECK(nadam && !strcmp(gt_optimizer_name(nadam), "nadam"), "nadam name");
    gt_optimizer_free(nadam);
    /* SGD(lr=0.1, momentum=0.9) two steps of g = 1 from w = 1: nesterov 0.539, plain 0.71 */
    for (int nest = 0; nest < 2; nest++) {
        gt_optimizer *o =
            gt_sgd(&(gt_optimizer_desc){.learning_rate = 0.1, .momentum = 0.9, .nesterov = nest});
        gt_scope_begin();
        gt_tensor *w = gt_variable(gt_scalar_of(GT_F64, 1), "w");
        gt_tensor *g = gt_scalar_of(GT_F64, 1);
        gt_optimizer_apply_gradients(o, 1, &g, &w);
        gt_optimizer_apply_gradients(o, 1, &g, &w);
        GTT_CLOSE(gt_item(w), nest ? 0.539 : 0.71, 1e-7, 0); /* lr 0.1f: 1.5e-9 relative */
        gt_variable_free(w);
        gt_scope_end();
        gt_optimizer_free(o);
    }
    /* Adam with beta_1 = beta_2 = epsilon = 0 and lr = 1: m = g, v = g^2, alpha = 1, so the
     * step is g/|g| = sign(g) exactly, in float32 and float64. */
    for (int f = 0; f < 2; f++) {
        gt_dtype dt = f ? GT_F64 : GT_F32;
        gt_optimizer *o = gt_adam(&(gt_optimizer_desc){
            .learning_rate = 1, .beta_1 = GT_ZERO, .beta_2 = GT_ZERO, .epsilon = GT_ZERO});
        GTT_CHECK(o != NULL, "adam zeros: %s", gt_error() ? gt_error() : "");
        gt_scope_begin();
        double w0[6] = {0.5, -1.25, 3, 7, -2, 0.125};
        double gv[6] = {0.3, -2e-5, 7e4, -1, 1e-15, -3.5}; /* g*g stays normal in float32 */
        gt_tensor *w = gt_variable(gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(6), w0), dt), "w");
        for (int step = 0; step < 3; step++) {
            gt_tensor *g = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(6), gv), dt);
            GTT_OK(gt_optimizer_apply_gradients(o, 1, &g, &w));
            for (int i = 0; i < 6; i++)
                w0[i] -= gv[i] > 0 ? 1 : -1;
        }
        gtt_tensor_close("adam sign", w, w0, 6, 0, 0);
        gt_variable_free(w);
        gt_scope_end();
        gt_optimizer_free(o);
    }
}

static void semantics_and_errors(void) {
    gt_scope_begin();
    gt_tensor *a = gt_variable(gt_ones(GT_F32, GT_SHAPE(2)), "a");
    gt_tensor *b = gt_variable(gt_ones(GT_F32, GT_SHAPE(3)), "b");
    gt_tensor *c = gt_variable(gt_ones(GT_F32, GT_SHAPE(1)), "c");
    gt_variable_set_path(b, "model/dense/bias");
    gt_optimizer *o = gt_sgd(NULL);
    /* empty list: no-op, iterations unchanged */
    GTT_OK(gt_optimizer_apply_gradients(o, 0, NULL, NULL));
    GTT_CHECK(gt_optimizer_iterations(o) == 0, "empty apply");
    /* all NULL */
    gt_tensor *none[2] = {NULL, NULL}, *vars[2] = {a, b};
    GTT_CHECK(!gt_optimizer_apply_gradients(o, 2, none, vars), "all NULL");
    GTT_ERROR_HAS("No gradients provided for any variable.");
    GTT_CHECK(gt_optimizer_iterations(o) == 0, "failed apply does not count");
    /* some NULL: skipped with Keras' warning naming the paths */
    nnref_warnings = 0;
    gt_tensor *some[2] = {gt_ones(GT_F32, GT_SHAPE(2)), NULL};
    GTT_OK(gt_optimizer_apply_gradients(o, 2, some, vars));
    GTT_CHECK(nnref_warnings == 1 &&
                  strcmp(nnref_last_warning,
                         "Gradients do not exist for variables ['model/dense/bias'] when "
                         "minimizing the loss. If using `model.compile()`, did you forget to "
                         "provide a `loss` argument?") == 0,
              "warning: %s", nnref_last_warning);
    GTT_CLOSE(gt_tensor_get(a, 0), (double)(1.0f - 1.0f * 0.01f), 0, 0);
    GTT_CLOSE(gt_tensor_get(b, 0), 1, 0, 0);
    /* a variable it was not built with */
    gt_tensor *gc = gt_ones(GT_F32, GT_SHAPE(1));
    GTT_CHECK(!gt_optimizer_apply_gradients(o, 1, &gc, &c), "unknown variable");
    GTT_ERROR_HAS("Unknown variable: <Variable path=c, shape=(1,), dtype=float32>. This "
                  "optimizer can only be called for the variables it was originally built with.");
    /* a subset of the known variables is fine */
    gt_tensor *gb = gt_ones(GT_F32, GT_SHAPE(3));
    GTT_OK(gt_optimizer_apply_gradients(o, 1, &gb, &b));
    GTT_CHECK(gt_optimizer_iterations(o) == 2, "iterations %lld",
              (long long)gt_optimizer_iterations(o));
    /* wrong gradient shape */
    gt_tensor *gbad = gt_ones(GT_F32, GT_SHAPE(4));
    GTT_CHECK(!gt_optimizer_apply_gradients(o, 1, &gbad, &b), "bad grad shape");
    GTT_ERROR_HAS("has shape (4,), the variable (3,)");
    GTT_CHECK(gt_optimizer_set_learning_rate(o, 0.5) && gt_optimizer_learning_rate(o) == 0.5,
              "set lr");
    gt_optimizer_free(o);
    /* hyper-parameter errors */
    GTT_CHECK(!gt_sgd(&(gt_optimizer_desc){.clipnorm = 1, .clipvalue = 1}), "two clips");
    GTT_ERROR_HAS("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set.");
    GTT_CHECK(!gt_adam(&(gt_optimizer_desc){.global_clipnorm = 1, .clipvalue = 1}), "two clips");
    GTT_ERROR_HAS("Only one of");
    GTT_CHECK(!gt_sgd(&(gt_optimizer_desc){.momentum = 1.5}), "momentum");
    GTT_ERROR_HAS("`momentum` must be a float between [0, 1].");
    GTT_CHECK(!gt_sgd(&(gt_optimizer_desc){.learning_rate = -1}), "negative lr");
    GTT_ERROR_HAS("learning_rate must be");
    GTT_CHECK(!gt_adam(&(gt_optimizer_desc){.beta_1 = 1.0}), "beta_1 = 1");
    GTT_ERROR_HAS("beta_1 and beta_2 must be in [0, 1)");
    GTT_CHECK(!gt_adam(&(gt_optimizer_desc){.momentum = 0.9}), "momentum on Adam");
    GTT_ERROR_HAS("Argument(s) not recognized");
    GTT_CHECK(!gt_lion(&(gt_optimizer_desc){.epsilon = 1e-7}), "epsilon on Lion");
    GTT_ERROR_HAS("lion: Argument(s) not recognized: {'epsilon': ...}");
    GTT_CHECK(!gt_adamax(&(gt_optimizer_desc){.amsgrad = true}), "amsgrad on Adamax");
    GTT_ERROR_HAS("adamax: Argument(s) not recognized: {'amsgrad': ...}");
    GTT_CHECK(!gt_nadam(&(gt_optimizer_desc){.rho = 0.9}), "rho on Nadam");
    GTT_ERROR_HAS("nadam: Argument(s) not recognized: {'rho/centered': ...}");
    GTT_CHECK(!gt_nadam(&(gt_optimizer_desc){.beta_2 = 1}), "Nadam beta_2 = 1");
    GTT_ERROR_HAS("beta_1 and beta_2 must be in [0, 1)");
    GTT_CHECK(!gt_lion(&(gt_optimizer_desc){.beta_1 = GT_ZERO}), "Lion beta_1 = 0");
    GTT_ERROR_HAS("lion: Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                  "degenerates to SignSGD. Received: beta_1=0.");
    GTT_CHECK(!gt_lion(&(gt_optimizer_desc){.beta_1 = 1.5}), "Lion beta_1 > 1");
    GTT_ERROR_HAS("Received: beta_1=1.5.");
    GTT_CHECK(!gt_lion(&(gt_optimizer_desc){.beta_2 = 2}), "Lion beta_2 > 1");
    GTT_ERROR_HAS("beta_2 must be in [0, 1]");
    GTT_CHECK(!gt_adamax(&(gt_optimizer_desc){.clipnorm = 1, .global_clipnorm = 1}), "clips");
    GTT_ERROR_HAS("adamax: Only one of `clipnorm`, `clipvalue` and `global_clipnorm`");
    {
        gt_optimizer *lion = gt_lion(&(gt_optimizer_desc){.beta_1 = 1}); /* beta_1 = 1: allowed */
        gt_optimizer *ls = gt_lion(&(gt_optimizer_desc){
            .schedule = {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY, .decay_steps = 1, .decay_rate = 1,
                         .initial_learning_rate = 0.1}});
        GTT_CHECK(lion && ls && !strcmp(gt_optimizer_name(lion), "lion"), "lion");
        GTT_CHECK(!gt_optimizer_set_learning_rate(ls, 0.1), "Lion lr with a schedule");
        GTT_ERROR_HAS("lion: This optimizer was created with a `LearningRateSchedule`");
        gt_optimizer_free(lion);
        gt_optimizer_free(ls);
    }
    GTT_CHECK(!gt_rmsprop(&(gt_optimizer_desc){.rho = 2}), "rho");
    GTT_ERROR_HAS("rho must be in [0, 1]");
    GTT_CHECK(!gt_adagrad(&(gt_optimizer_desc){.epsilon = -1}), "epsilon");
    GTT_ERROR_HAS("epsilon must be >= 0");
    GTT_CHECK(!gt_sgd(&(gt_optimizer_desc){
                  .schedule = {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY, .decay_steps = 0}}),
              "decay_steps 0");
    GTT_ERROR_HAS("Argument `decay_steps` must be > 0.");
    gt_optimizer *os =
        gt_sgd(&(gt_optimizer_desc){.schedule = {.kind = GT_SCHEDULE_INVERSE_TIME_DECAY,
                                                 .initial_learning_rate = 1,
                                                 .decay_steps = 1,
                                                 .decay_rate = 1}});
    GTT_CHECK(!gt_optimizer_set_learning_rate(os, 0.1), "lr with a schedule");
    GTT_ERROR_HAS("not settable");
    gt_optimizer_free(os);
    /* integer variables cannot be trained */
    gt_tensor *iv = gt_variable(gt_ones(GT_I32, GT_SHAPE(2)), "iv");
    gt_optimizer *o2 = gt_sgd(NULL);
    gt_tensor *gi = gt_ones(GT_F32, GT_SHAPE(2));
    GTT_CHECK(!gt_optimizer_apply_gradients(o2, 1, &gi, &iv), "int var");
    GTT_ERROR_HAS("only float32 and float64 variables can be trained");
    gt_optimizer_free(o2);
    gt_variable_free(iv);
    gt_variable_free(a);
    gt_variable_free(b);
    gt_variable_free(c);
    gt_scope_end();
}

static void schedules(void) {
    static const double b3[] = {2, 5, 9}, v4[] = {1.0, 0.5, 0.25, 0.125};
    struct {
        const char *name;
        gt_schedule s;
    } cases[] = {
        {"exponential",
         {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY,
          .initial_learning_rate = 0.1,
          .decay_steps = 3,
          .decay_rate = 0.5}},
        {"exponential_staircase",
         {.kind = GT_SCHEDULE_EXPONENTIAL_DECAY,
          .initial_learning_rate = 0.1,
          .decay_steps = 3,
          .decay_rate = 0.5,
          .staircase = true}},
        {"piecewise",
         {.kind = GT_SCHEDULE_PIECEWISE_CONSTANT,
          .nboundaries = 3,
          .boundaries = b3,
          .values = v4}},
        {"cosine",
         {.kind = GT_SCHEDULE_COSINE_DECAY, .initial_learning_rate = 0.1, .decay_steps = 10}},
        {"cosine_alpha",
         {.kind = GT_SCHEDULE_COSINE_DECAY,
          .initial_learning_rate = 0.1,
          .decay_steps = 10,
          .alpha = 0.2}},
        {"cosine_warmup",
         {.kind = GT_SCHEDULE_COSINE_DECAY,
          .initial_learning_rate = 0.0,
          .decay_steps = 10,
          .alpha = 0.1,
          .warmup_target = 0.3,
          .warmup_steps = 5}},
        {"polynomial",
         {.kind = GT_SCHEDULE_POLYNOMIAL_DECAY, .initial_learning_rate = 0.1, .decay_steps = 10}},
        {"polynomial_power_cycle",
         {.kind = GT_SCHEDULE_POLYNOMIAL_DECAY,
          .initial_learning_rate = 0.1,
          .decay_steps = 4,
          .end_learning_rate = 0.02,
          .power = 0.5,
          .cycle = true}},
        {"inverse_time",
         {.kind = GT_SCHEDULE_INVERSE_TIME_DECAY,
          .initial_learning_rate = 0.1,
          .decay_steps = 3,
          .decay_rate = 0.5}},
        {"inverse_time_staircase",
         {.kind = GT_SCHEDULE_INVERSE_TIME_DECAY,
          .initial_learning_rate = 0.1,
          .decay_steps = 3,
          .decay_rate = 0.5,
          .staircase = true}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char key[128];
        snprintf(key, sizeof key, "sched.%s", cases[c].name);
        int64_t n;
        const double *want = nnref_get(key, &n);
        int bad = 0;
        for (int64_t i = 0; want && i < n; i++) {
            double got = gt_schedule_value(&cases[c].s, i);
            /* float32 ops in Keras' order; powf/cosf vs Eigen: a few ulps */
            if (!(fabs(got - want[i]) <= 1e-9 + 1e-6 * fabs(want[i]))) {
                if (bad++ < 3)
                    fprintf(stderr, "  %s step %lld: %.9g want %.9g\n", cases[c].name, (long long)i,
                            got, want[i]);
            }
        }
        GTT_CHECK(bad == 0, "schedule %s", cases[c].name);
    }
    gt_schedule pw = {.kind = GT_SCHEDULE_PIECEWISE_CONSTANT, .nboundaries = 0};
    GTT_CHECK(isnan(gt_schedule_value(&pw, 0)), "piecewise without boundaries");
    GTT_ERROR_HAS("The length of boundaries should be 1 less than the length of values");
}

int main(void) {
    nnref_capture_warnings();
    if (!nnref_load(GT_TEST_DATA_DIR "/keras_ref.txt"))
        return gtt_finish();
    trajectories(GT_F32, 1e-7, 1e-6);
    /* float64 variables against Keras' own float64 run (the learning rate stays a float32
     * variable in both) */
    trajectories(GT_F64, 1e-12, 1e-10);
    check_values();
    semantics_and_errors();
    schedules();
    nnref_free();
    return gtt_finish();
}
