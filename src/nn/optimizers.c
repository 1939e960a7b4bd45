/* keras.optimizers: SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, Nadam and Lion with Keras 3's
 * update rules, applied in place on the variables' buffers (gt_variable_data) in tight loops. Float32 variables are
 * updated with float32 arithmetic in the order Keras' ops run, so trajectories match Keras to
 * a few ulps; float64 variables run the same formulas in double. Slots are plain arrays
 * allocated once at build: a step allocates nothing. */
#include "nn_internal.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>

typedef enum {
    OPT_SGD,
    OPT_ADAM,
    OPT_ADAMW,
    OPT_RMSPROP,
    OPT_ADAGRAD,
    OPT_ADAMAX,
    OPT_NADAM,
    OPT_LION
} opt_kind;

static const char *const opt_names[] = {"SGD",     "adam",   "adamw", "rmsprop",
                                        "adagrad", "adamax", "nadam", "lion"};

typedef struct slot {
    gt_tensor *var;
    gt_dtype dt;
    int64_t n;
    void *m, *v, *vhat; /* momentum / velocity (Adamax: norm) / velocity_hat, variable's dtype */
    void *g;            /* the step's processed gradient (cast, clipped); made on first need */
    const void *gp;     /* the gradient the step uses: g, or the tensor's own data */
    bool has_grad;
} slot;

struct gt_optimizer {
    opt_kind kind;
    gt_optimizer_desc d; /* resolved hyper-parameters */
    /* ops.cast(beta, dtype) goes through a float32 tensor: the betas as that tensor holds
     * them. Rounded once here, stored: GCC 12.2's SLP vectorizer drops the rounding of a
     * (double)(float)x pair computed side by side, which would make the float64 constants
     * exact instead of Keras' float32-rounded ones. */
    float beta_1_f32, beta_2_f32;
    bool has_schedule;
    gt_schedule sched;
    double *sched_arrays;
    float lr; /* Keras keeps learning_rate in a float32 variable */
    int64_t iterations;
    bool built;
    int nslots;
    slot *slots;
    gt_update *jobs; /* one per slot: the step's fused update */
    /* Nadam's running product of the momentum schedule: a scalar of the first variable's
     * dtype (Keras' build makes it so), 1 at build */
    void *u_product;
    gt_dtype u_dtype;
    bool warned_missing; /* Python shows a warning once per call site; we, once per optimizer */
};

const char *gt_optimizer_name(const gt_optimizer *o) {
    return o ? opt_names[o->kind] : NULL;
}
int64_t gt_optimizer_iterations(const gt_optimizer *o) {
    return o ? o->iterations : 0;
}

double gt_optimizer_learning_rate(const gt_optimizer *o) {
    if (!o)
        return NAN;
    return o->has_schedule ? gt_schedule_value(&o->sched, o->iterations) : (double)o->lr;
}

bool gt_optimizer_set_learning_rate(gt_optimizer *o, double lr) {
    if (!o)
        return false;
    if (o->has_schedule) {
        nn_error("%s: This optimizer was created with a `LearningRateSchedule` object as its "
                 "`learning_rate` constructor argument, hence its learning rate is not "
                 "settable. If you need the learning rate to be settable, you should "
                 "instantiate the optimizer with a float `learning_rate` argument.",
                 opt_names[o->kind]);
        return false;
    }
    o->lr = (float)lr;
    return true;
}

static void free_slots(gt_optimizer *o) {
    for (int i = 0; i < o->nslots; i++) {
        free(o->slots[i].m);
        free(o->slots[i].v);
        free(o->slots[i].vhat);
        free(o->slots[i].g);
    }
    free(o->slots);
    free(o->jobs);
    free(o->u_product);
    o->slots = NULL;
    o->jobs = NULL;
    o->u_product = NULL;
    o->nslots = 0;
}

void gt_optimizer_free(gt_optimizer *o) {
    if (!o)
        return;
    free_slots(o);
    free(o->sched_arrays);
    free(o);
}

/* ---- construction ------------------------------------------------------------------------ */

static bool bad_arg(const char *opt, const char *arg) {
    nn_error("%s: Argument(s) not recognized: {'%s': ...}", opt, arg);
    return false;
}

static gt_optimizer *make(opt_kind kind, const gt_optimizer_desc *desc) {
    gt_optimizer_desc d = desc ? *desc : (gt_optimizer_desc){0};
    const char *name = opt_names[kind];
    const bool adam = kind == OPT_ADAM || kind == OPT_ADAMW;
    const bool betas = adam || kind == OPT_ADAMAX || kind == OPT_NADAM || kind == OPT_LION;
    const bool eps = kind != OPT_SGD && kind != OPT_LION;
    /* options the optimizer does not have */
    if (kind != OPT_SGD && kind != OPT_RMSPROP && d.momentum != 0)
        return bad_arg(name, "momentum"), NULL;
    if (kind != OPT_SGD && d.nesterov)
        return bad_arg(name, "nesterov"), NULL;
    if (!betas && (d.beta_1 != 0 || d.beta_2 != 0))
        return bad_arg(name, "beta_1/beta_2"), NULL;
    if (!adam && d.amsgrad)
        return bad_arg(name, "amsgrad"), NULL;
    if (!eps && d.epsilon != 0)
        return bad_arg(name, "epsilon"), NULL;
    if (kind != OPT_RMSPROP && (d.rho != 0 || d.centered))
        return bad_arg(name, "rho/centered"), NULL;
    if (kind != OPT_ADAGRAD && d.initial_accumulator_value != 0)
        return bad_arg(name, "initial_accumulator_value"), NULL;

    int nclip = (d.clipnorm != 0) + (d.clipvalue != 0) + (d.global_clipnorm != 0);
    if (nclip > 1) {
        nn_error("%s: Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                 "Received: clipnorm=%g, clipvalue=%g, global_clipnorm=%g",
                 name, d.clipnorm, d.clipvalue, d.global_clipnorm);
        return NULL;
    }
    if (d.clipnorm < 0 || d.clipvalue < 0 || d.global_clipnorm < 0) {
        nn_error("%s: clipnorm, clipvalue and global_clipnorm must be >= 0 (0 disables)", name);
        return NULL;
    }
    bool has_sched = d.schedule.kind != GT_SCHEDULE_NONE;
    if (has_sched && d.learning_rate != 0) {
        nn_error("%s: give either learning_rate or schedule, not both", name);
        return NULL;
    }
    d.learning_rate = nn_opt(d.learning_rate, kind == OPT_SGD ? 0.01 : 0.001);
    if (!(d.learning_rate >= 0) || !isfinite(d.learning_rate)) {
        nn_error("%s: learning_rate must be a finite number >= 0, got %g", name, d.learning_rate);
        return NULL;
    }
    if (!(d.momentum >= 0 && d.momentum <= 1)) {
        nn_error("%s: `momentum` must be a float between [0, 1].", name);
        return NULL;
    }
    if (kind == OPT_LION) {
        d.beta_1 = nn_opt(d.beta_1, 0.9);
        d.beta_2 = nn_opt(d.beta_2, 0.99);
        if (!(d.beta_1 > 0 && d.beta_1 <= 1)) {
            nn_error("%s: Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                     "optimizer degenerates to SignSGD. Received: beta_1=%g.",
                     name, d.beta_1);
            return NULL;
        }
        if (!(d.beta_2 >= 0 && d.beta_2 <= 1)) {
            nn_error("%s: beta_2 must be in [0, 1], got %g", name, d.beta_2);
            return NULL;
        }
    } else if (betas) {
        d.beta_1 = nn_opt(d.beta_1, 0.9);
        d.beta_2 = nn_opt(d.beta_2, 0.999);
        if (!(d.beta_1 >= 0 && d.beta_1 < 1) || !(d.beta_2 >= 0 && d.beta_2 < 1)) {
            nn_error("%s: beta_1 and beta_2 must be in [0, 1), got beta_1=%g, beta_2=%g", name,
                     d.beta_1, d.beta_2);
            return NULL;
        }
    }
    if (kind == OPT_RMSPROP) {
        d.rho = nn_opt(d.rho, 0.9);
        if (!(d.rho >= 0 && d.rho <= 1)) {
            nn_error("%s: rho must be in [0, 1], got %g", name, d.rho);
            return NULL;
        }
    }
    if (kind == OPT_ADAGRAD) {
        d.initial_accumulator_value = nn_opt(d.initial_accumulator_value, 0.1);
        if (!(d.initial_accumulator_value >= 0)) {
            nn_error("%s: initial_accumulator_value must be >= 0, got %g", name,
                     d.initial_accumulator_value);
            return NULL;
        }
    }
    if (eps) {
        d.epsilon = nn_opt(d.epsilon, 1e-7);
        if (!(d.epsilon >= 0)) {
            nn_error("%s: epsilon must be >= 0, got %g", name, d.epsilon);
            return NULL;
        }
    }
    if (kind == OPT_ADAMW)
        d.weight_decay = nn_opt(d.weight_decay, 0.004);
    if (!(d.weight_decay >= 0)) {
        nn_error("%s: weight_decay must be >= 0, got %g", name, d.weight_decay);
        return NULL;
    }
    if (has_sched && isnan(gt_schedule_value(&d.schedule, 0)))
        return NULL;

    gt_optimizer *o = calloc(1, sizeof *o);
    if (!o) {
        nn_error("%s: out of memory", name);
        return NULL;
    }
    o->kind = kind;
    o->d = d;
    o->beta_1_f32 = (float)d.beta_1;
    o->beta_2_f32 = (float)d.beta_2;
    o->lr = (float)d.learning_rate;
    o->has_schedule = has_sched;
    if (has_sched) {
        o->sched = d.schedule;
        if (d.schedule.kind == GT_SCHEDULE_PIECEWISE_CONSTANT) {
            int n = d.schedule.nboundaries;
            o->sched_arrays = malloc(sizeof(double) * (size_t)(2 * n + 1));
            if (!o->sched_arrays) {
                free(o);
                nn_error("%s: out of memory", name);
                return NULL;
            }
            memcpy(o->sched_arrays, d.schedule.boundaries, sizeof(double) * (size_t)n);
            memcpy(o->sched_arrays + n, d.schedule.values, sizeof(double) * (size_t)(n + 1));
            o->sched.boundaries = o->sched_arrays;
            o->sched.values = o->sched_arrays + n;
        }
    }
    return o;
}

gt_optimizer *gt_sgd(const gt_optimizer_desc *d) {
    return make(OPT_SGD, d);
}
gt_optimizer *gt_adam(const gt_optimizer_desc *d) {
    return make(OPT_ADAM, d);
}
gt_optimizer *gt_adamw(const gt_optimizer_desc *d) {
    return make(OPT_ADAMW, d);
}
gt_optimizer *gt_rmsprop(const gt_optimizer_desc *d) {
    return make(OPT_RMSPROP, d);
}
gt_optimizer *gt_adagrad(const gt_optimizer_desc *d) {
    return make(OPT_ADAGRAD, d);
}
gt_optimizer *gt_adamax(const gt_optimizer_desc *d) {
    return make(OPT_ADAMAX, d);
}
gt_optimizer *gt_nadam(const gt_optimizer_desc *d) {
    return make(OPT_NADAM, d);
}
gt_optimizer *gt_lion(const gt_optimizer_desc *d) {
    return make(OPT_LION, d);
}

/* ---- build ------------------------------------------------------------------------------- */

static void *slot_buf(gt_dtype dt, int64_t n, double init) {
    size_t es = dt == GT_F64 ? sizeof(double) : sizeof(float);
    void *p = malloc(es * (size_t)(n ? n : 1));
    if (!p)
        return NULL;
    if (dt == GT_F64)
        for (int64_t i = 0; i < n; i++)
            ((double *)p)[i] = init;
    else
        for (int64_t i = 0; i < n; i++)
            ((float *)p)[i] = (float)init;
    return p;
}

static bool build(gt_optimizer *o, int n, gt_tensor *const *vars) {
    o->slots = calloc((size_t)n, sizeof(slot));
    o->jobs = calloc((size_t)n, sizeof(gt_update));
    if (!o->slots || !o->jobs) {
        free(o->slots);
        free(o->jobs);
        o->slots = NULL;
        o->jobs = NULL;
        nn_error("%s: out of memory building slots", opt_names[o->kind]);
        return false;
    }
    o->nslots = n;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        slot *s = &o->slots[i];
        s->var = vars[i];
        s->dt = gt_tensor_dtype(vars[i]);
        s->n = gt_tensor_size(vars[i]);
        bool need_m = (o->kind == OPT_SGD && o->d.momentum != 0) || o->kind == OPT_ADAM ||
                      o->kind == OPT_ADAMW || (o->kind == OPT_RMSPROP && o->d.momentum > 0) ||
                      o->kind == OPT_ADAMAX || o->kind == OPT_NADAM || o->kind == OPT_LION;
        bool need_v = o->kind == OPT_ADAM || o->kind == OPT_ADAMW || o->kind == OPT_RMSPROP ||
                      o->kind == OPT_ADAGRAD || o->kind == OPT_ADAMAX || o->kind == OPT_NADAM;
        bool need_vhat = ((o->kind == OPT_ADAM || o->kind == OPT_ADAMW) && o->d.amsgrad) ||
                         (o->kind == OPT_RMSPROP && o->d.centered);
        /* Constant(value) casts the python float to the dtype through float32 */
        double vinit = o->kind == OPT_ADAGRAD ? (double)(float)o->d.initial_accumulator_value : 0;
        if (ok && need_m)
            ok = (s->m = slot_buf(s->dt, s->n, 0)) != NULL;
        if (ok && need_v)
            ok = (s->v = slot_buf(s->dt, s->n, vinit)) != NULL;
        if (ok && need_vhat)
            ok = (s->vhat = slot_buf(s->dt, s->n, 0)) != NULL;
    }
    if (ok && o->kind == OPT_NADAM) {
        o->u_dtype = n > 0 ? gt_tensor_dtype(vars[0]) : GT_F32;
        ok = (o->u_product = slot_buf(o->u_dtype, 1, 1.0)) != NULL;
    }
    if (!ok) {
        free_slots(o);
        nn_error("%s: out of memory building slots", opt_names[o->kind]);
        return false;
    }
    o->built = true;
    return true;
}

static slot *find_slot(gt_optimizer *o, const gt_tensor *v, int hint) {
    if (hint < o->nslots && o->slots[hint].var == v)
        return &o->slots[hint];
    for (int i = 0; i < o->nslots; i++)
        if (o->slots[i].var == v)
            return &o->slots[i];
    return NULL;
}

/* ---- the update constants ------------------------------------------------------------------ */

/* Keras' float64 arithmetic keeps two kinds of constants apart: a python float multiplied into
 * a float64 tensor stays exact (1 - beta_1, rho, epsilon), but ops.cast(python float, float64)
 * converts through a float32 tensor first (beta_1 and beta_2 in the powers, SGD's momentum,
 * weight_decay), and the learning rate is a float32 variable. The float64 path copies that,
 * which makes its trajectories equal to Keras' float64 ones to ~1e-15. A float32 variable's
 * constants are computed in float32, as Keras computes them. Nadam and Lion cast beta_1 and
 * beta_2 first (their 1 - beta is computed from the cast value), Adam and Adamax subtract the
 * python floats. uprod is Nadam's u_product after this step's update. The loops themselves
 * are gt__opt_apply's (src/kernels/optim.c). */
#define DEFINE_CONSTANTS(T, SQ, POW, SFX)                                                          \
    static void constants_##SFX(const gt_optimizer *o, gt_update *j, float lr32, double uprod) { \
        const T lr = (T)lr32, b1 = (T)o->beta_1_f32, b2 = (T)o->beta_2_f32;                      \
        const T t = (T)(o->iterations + 1);                                                        \
        j->lr = lr;                                                                                \
        j->wd = (T)(float)o->d.weight_decay;                                                       \
        switch (o->kind) {                                                                         \
        case OPT_SGD:                                                                              \
            j->rule = GT_UPDATE_SGD;                                                                 \
            j->c1 = (T)(float)o->d.momentum; /* ops.cast(python float) goes via f32 */             \
            break;                                                                                 \
        case OPT_ADAM:                                                                             \
        case OPT_ADAMW: {                                                                          \
            T b1p = POW(b1, t), b2p = POW(b2, t);                                                  \
            j->rule = GT_UPDATE_ADAM;                                                                \
            j->c1 = (T)(1 - o->d.beta_1);                                                          \
            j->c2 = (T)(1 - o->d.beta_2);                                                          \
            j->c3 = lr * SQ((T)1 - b2p) / ((T)1 - b1p);                                            \
            j->eps = (T)o->d.epsilon;                                                              \
            break;                                                                                 \
        }                                                                                          \
        case OPT_RMSPROP:                                                                          \
            j->rule = GT_UPDATE_RMSPROP;                                                             \
            j->c1 = (T)o->d.rho;                                                                   \
            j->c2 = (T)(1 - o->d.rho);                                                             \
            j->c3 = (T)o->d.momentum;                                                              \
            j->eps = (T)o->d.epsilon;                                                              \
            break;                                                                                 \
        case OPT_ADAGRAD:                                                                          \
            j->rule = GT_UPDATE_ADAGRAD;                                                             \
            j->eps = (T)o->d.epsilon;                                                              \
            break;                                                                                 \
        case OPT_ADAMAX:                                                                           \
            j->rule = GT_UPDATE_ADAMAX;                                                            \
            j->c1 = (T)(1 - o->d.beta_1);                                                          \
            j->c2 = (T)o->d.beta_2;                                                                \
            j->c3 = (T)1 - POW(b1, t);                                                             \
            j->eps = (T)o->d.epsilon;                                                              \
            break;                                                                                 \
        case OPT_NADAM: { /* u_t = beta_1 * (1 - 0.5 * 0.96^t), at t and t + 1 */                  \
            const T decay = (T)0.96f, t1 = (T)(o->iterations + 2);                                 \
            const T u_t = b1 * ((T)1 - (T)0.5 * POW(decay, t));                                    \
            const T u_t1 = b1 * ((T)1 - (T)0.5 * POW(decay, t1));                                  \
            const T prod = (T)uprod, prod1 = prod * u_t1;                                          \
            j->rule = GT_UPDATE_NADAM;                                                             \
            j->c1 = (T)1 - b1;                                                                     \
            j->c2 = (T)1 - b2;                                                                     \
            j->c3 = u_t1;                                                                          \
            j->c4 = (T)1 - prod1;                                                                  \
            j->c5 = (T)1 - u_t;                                                                    \
            j->c6 = (T)1 - prod;                                                                   \
            j->c7 = (T)1 - POW(b2, t);                                                             \
            j->eps = (T)o->d.epsilon;                                                              \
            break;                                                                                 \
        }                                                                                          \
        case OPT_LION:                                                                             \
            j->rule = GT_UPDATE_LION;                                                              \
            j->c1 = b1;                                                                            \
            j->c2 = (T)1 - b1;                                                                     \
            j->c3 = b2;                                                                            \
            j->c4 = (T)1 - b2;                                                                     \
            break;                                                                                 \
        }                                                                                          \
    }

DEFINE_CONSTANTS(float, sqrtf, powf, f32)
DEFINE_CONSTANTS(double, sqrt, pow, f64)

/* Nadam's u_product for this step (Keras updates it once per step, before the variables):
 * u_product * beta_1 * (1 - 0.5 * 0.96^t) in u_product's dtype, the python floats converted
 * to it exactly (no float32 detour: they meet a tensor, not ops.cast). */
static double nadam_u_product(const gt_optimizer *o) {
    const int64_t t = o->iterations + 1;
    if (o->u_dtype == GT_F64)
        return *(const double *)o->u_product * o->d.beta_1 * (1.0 - 0.5 * pow(0.96, (double)t));
    const float u = *(const float *)o->u_product;
    return (double)(u * (float)o->d.beta_1 * (1.0f - 0.5f * powf(0.96f, (float)t)));
}

/* ---- gradients: cast into the slot's buffer, then clip ----------------------------------- */

/* Checks g against the slot's variable and points s->gp at the values the step uses; copy:
 * into s->g even when the dtypes agree (clipping rewrites them). */
static bool load_grad(slot *s, const gt_tensor *g, bool copy) {
    if (gt_tensor_size(g) != s->n || gt_tensor_rank(g) != gt_tensor_rank(s->var) ||
        memcmp(gt_tensor_shape(g), gt_tensor_shape(s->var),
               sizeof(int64_t) * (size_t)gt_tensor_rank(g)) != 0) {
        char gs[256], vs[256];
        nn_shape_str(gt_tensor_rank(g), gt_tensor_shape(g), gs, sizeof gs);
        nn_shape_str(gt_tensor_rank(s->var), gt_tensor_shape(s->var), vs, sizeof vs);
        nn_error("apply_gradients: the gradient for '%s' has shape %s, the variable %s",
                 gt_variable_path(s->var), gs, vs);
        return false;
    }
    gt_dtype gd = gt_tensor_dtype(g);
    if (!gt_dtype_is_float(gd)) {
        nn_error("apply_gradients: the gradient for '%s' has dtype %s (float expected)",
                 gt_variable_path(s->var), gt_dtype_name(gd));
        return false;
    }
    if (gd == s->dt && !copy) { /* used as it is: no copy */
        s->gp = gt_tensor_data(g);
        return s->gp != NULL || s->n == 0;
    }
    if (!s->g && !(s->g = slot_buf(s->dt, s->n, 0))) { /* made on first need */
        nn_error("apply_gradients: out of memory for the gradient of '%s'",
                 gt_variable_path(s->var));
        return false;
    }
    s->gp = s->g;
    if (s->dt == GT_F64)
        return gt_tensor_to_f64(g, s->g, s->n);
    return gt_tensor_to_f32(g, s->g, s->n);
}

static double sq_norm(const slot *s) {
    double acc = 0;
    if (s->dt == GT_F64) {
        const double *g = s->g;
        for (int64_t i = 0; i < s->n; i++)
            acc += g[i] * g[i];
    } else {
        const float *g = s->g;
        for (int64_t i = 0; i < s->n; i++)
            acc += (double)g[i] * (double)g[i];
        acc = (float)acc; /* the sum is a float32 tensor in Keras */
    }
    return acc;
}

/* g * c / max(norm, c) (tf.clip_by_norm, computed as t*c then / max). */
static void clip_norm(slot *s, double c) {
    double l2 = sq_norm(s);
    if (s->dt == GT_F64) {
        double nrm = l2 > 0 ? sqrt(l2) : l2, den = nrm > c ? nrm : c;
        double *g = s->g;
        for (int64_t i = 0; i < s->n; i++)
            g[i] = g[i] * c / den;
    } else {
        float cf = (float)c, nrm = l2 > 0 ? sqrtf((float)l2) : (float)l2;
        float den = nrm > cf ? nrm : cf;
        float *g = s->g;
        for (int64_t i = 0; i < s->n; i++)
            g[i] = g[i] * cf / den;
    }
}

static void scale_grad(slot *s, double scale) {
    if (s->dt == GT_F64) {
        double *g = s->g;
        for (int64_t i = 0; i < s->n; i++)
            g[i] *= scale;
    } else {
        float *g = s->g, sc = (float)scale;
        for (int64_t i = 0; i < s->n; i++)
            g[i] *= sc;
    }
}

static void clip_value(slot *s, double c) {
    if (s->dt == GT_F64) {
        double *g = s->g;
        for (int64_t i = 0; i < s->n; i++)
            g[i] = g[i] > c ? c : g[i] < -c ? -c : g[i];
    } else {
        float *g = s->g, cf = (float)c;
        for (int64_t i = 0; i < s->n; i++)
            g[i] = g[i] > cf ? cf : g[i] < -cf ? -cf : g[i];
    }
}

/* ---- apply_gradients --------------------------------------------------------------------- */

static void var_repr(const gt_tensor *v, char *buf, size_t n) {
    char s[256];
    nn_shape_str(gt_tensor_rank(v), gt_tensor_shape(v), s, sizeof s);
    snprintf(buf, n, "<Variable path=%s, shape=%s, dtype=%s>", gt_variable_path(v), s,
             gt_dtype_name(gt_tensor_dtype(v)));
}

/* Undoes the buffer swaps of jobs not yet run: each fresh buffer takes its old value. */
static void restore(const gt_update *jobs, int njobs) {
    for (int k = 0; k < njobs; k++)
        if (jobs[k].w_src && jobs[k].w_src != jobs[k].w)
            memcpy(jobs[k].w, jobs[k].w_src, (size_t)jobs[k].n * gt_dtype_size(jobs[k].dtype));
}

bool gt_optimizer_apply_gradients(gt_optimizer *o, int n, gt_tensor *const *grads,
                                  gt_tensor *const *vars) {
    if (!o) {
        nn_error("apply_gradients: NULL optimizer");
        return false;
    }
    const char *name = opt_names[o->kind];
    if (n == 0)
        return true; /* Keras: empty list is a no-op, iterations unchanged */
    if (n < 0 || !grads || !vars) {
        nn_error("%s.apply_gradients: invalid arguments (n=%d, grads and vars must be arrays)",
                 name, n);
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (!vars[i] || !gt_is_variable(vars[i])) {
            nn_error("%s.apply_gradients: vars[%d] is %s", name, i,
                     vars[i] ? "not a variable" : "NULL");
            return false;
        }
        if (!gt_dtype_is_float(gt_tensor_dtype(vars[i]))) {
            nn_error("%s.apply_gradients: variable '%s' has dtype %s; only float32 and float64 "
                     "variables can be trained",
                     name, gt_variable_path(vars[i]), gt_dtype_name(gt_tensor_dtype(vars[i])));
            return false;
        }
    }
    if (!o->built && !build(o, n, vars))
        return false;
    /* Keras: _check_variables_are_known, then drop None gradients */
    for (int i = 0; i < n; i++)
        if (!find_slot(o, vars[i], i)) {
            char r[512];
            var_repr(vars[i], r, sizeof r);
            nn_error("Unknown variable: %s. This optimizer can only be called for the variables "
                     "it was originally built with. When working with a new set of variables, "
                     "you should recreate a new optimizer instance.",
                     r);
            return false;
        }
    int ngrads = 0;
    for (int i = 0; i < n; i++)
        ngrads += grads[i] != NULL;
    if (ngrads == 0) {
        nn_error("No gradients provided for any variable.");
        return false;
    }
    for (int i = 0; i < o->nslots; i++)
        o->slots[i].has_grad = false;
    const bool clipping = o->d.clipnorm > 0 || o->d.global_clipnorm > 0 || o->d.clipvalue > 0;
    for (int i = 0; i < n; i++) {
        if (!grads[i])
            continue;
        slot *s = find_slot(o, vars[i], i);
        if (!load_grad(s, grads[i], clipping))
            return false;
        s->has_grad = true;
    }
    if (ngrads < n && !o->warned_missing) {
        o->warned_missing = true;
        char msg[4096];
        size_t k = (size_t)snprintf(msg, sizeof msg, "[");
        bool first = true;
        for (int i = 0; i < n; i++)
            if (!grads[i] && k < sizeof msg) {
                k += (size_t)snprintf(msg + k, sizeof msg - k, "%s'%s'", first ? "" : ", ",
                                      gt_variable_path(vars[i]));
                first = false;
            }
        if (k < sizeof msg)
            snprintf(msg + k, sizeof msg - k, "]");
        gt_warn("Gradients do not exist for variables %s when minimizing the loss. If using "
                "`model.compile()`, did you forget to provide a `loss` argument?",
                msg);
    }
    /* clipping */
    if (o->d.clipnorm > 0) {
        for (int i = 0; i < o->nslots; i++)
            if (o->slots[i].has_grad)
                clip_norm(&o->slots[i], o->d.clipnorm);
    } else if (o->d.global_clipnorm > 0) {
        double total = 0;
        bool f64 = false;
        for (int i = 0; i < o->nslots; i++)
            if (o->slots[i].has_grad) {
                total += sq_norm(&o->slots[i]);
                f64 |= o->slots[i].dt == GT_F64;
            }
        double c = o->d.global_clipnorm, scale;
        if (f64) {
            double nrm = sqrt(total);
            scale = c * fmin(1.0 / nrm, 1.0 / c) + (nrm - nrm);
        } else {
            float nrm = sqrtf((float)total), cf = (float)c;
            float a = 1.0f / nrm, b = (float)(1.0 / c);
            scale = (double)(cf * (a < b ? a : b) + (nrm - nrm));
        }
        for (int i = 0; i < o->nslots; i++)
            if (o->slots[i].has_grad)
                scale_grad(&o->slots[i], scale);
    } else if (o->d.clipvalue > 0) {
        for (int i = 0; i < o->nslots; i++)
            if (o->slots[i].has_grad)
                clip_value(&o->slots[i], o->d.clipvalue);
    }
    float lr = (float)gt_optimizer_learning_rate(o);
    if (isnan(lr) && o->has_schedule)
        return false;
    const double uprod = o->kind == OPT_NADAM ? nadam_u_product(o) : 0;
    /* Every writable buffer before the update, so a failure changes nothing. A variable whose
     * value a tape or tensor still shares gets a fresh buffer the update writes while reading
     * the shared one (w_src): no copy. On failure the fresh buffers take the old values. */
    int njobs = 0;
    for (int i = 0; i < n; i++) {
        if (!grads[i])
            continue;
        slot *s = find_slot(o, vars[i], i);
        const void *cur = NULL;
        void *w = gt_variable_data_overwrite(vars[i], &cur);
        if (!w) {
            restore(o->jobs, njobs);
            return false;
        }
        gt_update *j = &o->jobs[njobs++];
        *j = (gt_update){.dtype = s->dt, .n = s->n, .w = w, .w_src = cur, .g = s->gp, .m = s->m,
                         .v = s->v, .vh = s->vhat, .nesterov = o->d.nesterov};
        if (s->dt == GT_F64)
            constants_f64(o, j, lr, uprod);
        else
            constants_f32(o, j, lr, uprod);
    }
    if (!gt_apply_updates(o->jobs, njobs)) {
        restore(o->jobs, njobs);
        return false;
    }
    if (o->kind == OPT_NADAM) {
        if (o->u_dtype == GT_F64)
            *(double *)o->u_product = uprod;
        else
            *(float *)o->u_product = (float)uprod;
    }
    o->iterations++;
    return true;
}

/* ---- state for checkpoints (gt_checkpoint_save/load): build, slots by name, iterations --- */

bool gt_optimizer_build(gt_optimizer *o, int n, gt_tensor *const *vars) {
    if (!o) {
        nn_error("optimizer build: NULL optimizer");
        return false;
    }
    if (n < 0 || (n > 0 && !vars)) {
        nn_error("%s.build: invalid arguments (n=%d)", opt_names[o->kind], n);
        return false;
    }
    for (int i = 0; i < n; i++)
        if (!vars[i] || !gt_is_variable(vars[i]) || !gt_dtype_is_float(gt_tensor_dtype(vars[i]))) {
            nn_error("%s.build: vars[%d] is not a float variable", opt_names[o->kind], i);
            return false;
        }
    if (o->built) {
        bool same = n == o->nslots;
        for (int i = 0; same && i < n; i++)
            same = find_slot(o, vars[i], i) != NULL;
        if (!same) {
            nn_error("%s.build: the optimizer is already built for %d other variables; create "
                     "a new optimizer for a new set of variables",
                     opt_names[o->kind], o->nslots);
            return false;
        }
        return true;
    }
    return build(o, n, vars);
}

bool gt_optimizer_is_built(const gt_optimizer *o) {
    return o && o->built;
}

bool gt_optimizer_has_schedule(const gt_optimizer *o) {
    return o && o->has_schedule;
}

bool gt_optimizer_set_iterations(gt_optimizer *o, int64_t n) {
    if (!o || n < 0) {
        nn_error("optimizer: set_iterations needs an optimizer and n >= 0 (got %lld)",
                 (long long)n);
        return false;
    }
    o->iterations = n;
    return true;
}

/* Keras 3's slot names per optimizer (the names its add_variable_from_reference uses). */
static void slot_names(const gt_optimizer *o, const char **m, const char **v, const char **vh) {
    switch (o->kind) {
    case OPT_SGD:
        *m = "momentum", *v = "", *vh = "";
        break;
    case OPT_ADAM:
    case OPT_ADAMW:
        *m = "momentum", *v = "velocity", *vh = "velocity_hat";
        break;
    case OPT_RMSPROP:
        *m = "momentum", *v = "velocity", *vh = "average_gradient";
        break;
    case OPT_ADAMAX:
        *m = "momentum", *v = "norm", *vh = "";
        break;
    case OPT_NADAM:
        *m = "momentum", *v = "velocity", *vh = "";
        break;
    case OPT_LION:
        *m = "momentum", *v = "", *vh = "";
        break;
    case OPT_ADAGRAD:
    default:
        *m = "", *v = "accumulator", *vh = "";
        break;
    }
}

int gt_optimizer_slots(const gt_optimizer *o, gt_optimizer_slot *out, int cap) {
    if (!o || !o->built)
        return 0;
    const char *nm, *nv, *nvh;
    slot_names(o, &nm, &nv, &nvh);
    int k = 0;
    for (int i = 0; i < o->nslots; i++) {
        const slot *s = &o->slots[i];
        void *bufs[3] = {s->m, s->v, s->vhat};
        const char *names[3] = {nm, nv, nvh};
        for (int j = 0; j < 3; j++) {
            if (!bufs[j])
                continue;
            if (out && k < cap)
                out[k] = (gt_optimizer_slot){names[j], s->var, s->dt, s->n, bufs[j]};
            k++;
        }
    }
    if (o->u_product) { /* Nadam's: the optimizer's own variable, no model variable */
        if (out && k < cap)
            out[k] = (gt_optimizer_slot){"u_product", NULL, o->u_dtype, 1, o->u_product};
        k++;
    }
    return k;
}
