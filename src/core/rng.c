/* Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
 * Element i of a draw depends only on (seed, draw counter, i), never on how work is split
 * between threads. */
#include "core/internal.h"

#include <math.h>

typedef struct {
    uint32_t v[4];
} ctr4;

static ctr4 philox(ctr4 c, uint64_t key) {
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c.v[0], p1 = (uint64_t)0xCD9E8D57u * c.v[2];
        ctr4 n = {{(uint32_t)(p1 >> 32) ^ c.v[1] ^ k0, (uint32_t)p1, (uint32_t)(p0 >> 32) ^ c.v[3] ^ k1,
                   (uint32_t)p0}};
        c = n;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return c;
}

static ctr4 block(uint64_t key, uint64_t draw, uint64_t group, uint32_t round) {
    ctr4 c = {{(uint32_t)group, (uint32_t)(group >> 32), (uint32_t)draw,
               (uint32_t)(draw >> 32) ^ (round << 16)}};
    return philox(c, key);
}

/* Uniform in (0, 1]: never 0, so log() in Box-Muller stays finite. */
static double u32_to_unit(uint32_t x) { return ((double)x + 1.0) / 4294967296.0; }
static double u64_to_unit(uint32_t a, uint32_t b) {
    return ((double)((((uint64_t)a << 32) | b) >> 11) + 1.0) / 9007199254740992.0;
}

gt_rng gt_rng_new(uint64_t seed) {
    /* Mix the seed so that nearby seeds give unrelated keys. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (gt_rng){.key = z ^ (z >> 31), .counter = 0};
}

static _Thread_local gt_rng global_rng;
static _Thread_local bool global_set;

gt_rng *gt_global_rng(void) {
    if (!global_set) {
        global_rng = gt_rng_new(0x5EEDull);
        global_set = true;
    }
    return &global_rng;
}

void gt_set_seed(uint64_t seed) {
    global_rng = gt_rng_new(seed);
    global_set = true;
}

enum { UNIFORM, NORMAL, TRUNCATED };

/* One random-number draw: Philox blocks of `per` values, GROUPS blocks a task. */
#define GROUPS 4096
typedef struct draw_job {
    int kind;
    uint64_t key, d;
    bool f64;
    int per;
    int64_t n;
    double a, b;
    gt_dtype dtype;
    gt_tensor *t;
} draw_job;

/* Values g*per .. g*per + per - 1 (those below n). */
static void draw_group(const draw_job *jb, int64_t g) {
    double v[4];
    if (jb->kind == TRUNCATED) {
        /* Each element redraws on its own sub-stream until it lands within 2 stddev. */
        for (int j = 0; j < jb->per; j++) {
            for (uint32_t round = 0;; round++) {
                ctr4 r = block(jb->key, jb->d, (uint64_t)g * jb->per + (uint64_t)j, round + 1);
                double u1 = jb->f64 ? u64_to_unit(r.v[0], r.v[1]) : u32_to_unit(r.v[0]);
                double u2 = jb->f64 ? u64_to_unit(r.v[2], r.v[3]) : u32_to_unit(r.v[1]);
                double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
                if (fabs(z) <= 2.0 || round > 1000) {
                    v[j] = fabs(z) <= 2.0 ? z : 0.0;
                    break;
                }
            }
        }
    } else {
        ctr4 r = block(jb->key, jb->d, (uint64_t)g, 0);
        double u[4];
        if (jb->f64) {
            u[0] = u64_to_unit(r.v[0], r.v[1]);
            u[1] = u64_to_unit(r.v[2], r.v[3]);
        } else {
            for (int j = 0; j < 4; j++) u[j] = u32_to_unit(r.v[j]);
        }
        if (jb->kind == UNIFORM) {
            for (int j = 0; j < jb->per; j++) v[j] = 1.0 - u[j]; /* [0, 1) */
        } else {
            for (int j = 0; j < jb->per; j += 2) {
                double rad = sqrt(-2.0 * log(u[j])), th = 2.0 * 3.14159265358979323846 * u[j + 1];
                v[j] = rad * cos(th);
                v[j + 1] = rad * sin(th);
            }
        }
    }
    for (int j = 0; j < jb->per; j++) {
        int64_t i = g * jb->per + j;
        if (i >= jb->n) break;
        double x;
        if (jb->kind == UNIFORM) {
            if (gt__is_float(jb->dtype)) {
                x = jb->a + (jb->b - jb->a) * v[j];
                if (jb->dtype == GT_F32 && (float)x >= (float)jb->b) x = nextafterf((float)jb->b, (float)jb->a);
            } else {
                double span = floor(jb->b) - ceil(jb->a);
                x = ceil(jb->a) + floor(v[j] * span);
            }
        } else {
            x = jb->a + jb->b * v[j];
        }
        switch (jb->dtype) {
        case GT_F32: ((float *)jb->t->data)[i] = (float)x; break;
        case GT_F64: ((double *)jb->t->data)[i] = x; break;
        case GT_I32: ((int32_t *)jb->t->data)[i] = (int32_t)x; break;
        case GT_I64: ((int64_t *)jb->t->data)[i] = (int64_t)x; break;
        case GT_BOOL: break;
        }
    }
}

static void draw_task(void *ctx, int64_t task, int tid) {
    (void)tid;
    const draw_job *j = ctx;
    const int64_t ng = (j->n + j->per - 1) / j->per, g1 = (task + 1) * GROUPS;
    for (int64_t g = task * GROUPS; g < (g1 < ng ? g1 : ng); g++)
        draw_group(j, g);
}

static gt_tensor *draw(const char *who, int kind, int rank, const int64_t *shape, double a,
                       double b, gt_dtype dtype, gt_rng *rng) {
    int64_t n;
    if (!gt__check_shape(who, rank, shape, &n)) return NULL;
    if (kind != UNIFORM && !gt__is_float(dtype)) {
        gt__error("%s: dtype must be float32 or float64, got %s", who, gt_dtype_name(dtype));
        return NULL;
    }
    if (dtype == GT_BOOL) {
        gt__error("%s: bool is not a valid dtype for random numbers", who);
        return NULL;
    }
    if (!isfinite(a) || !isfinite(b) || (kind != UNIFORM && b < 0)) {
        gt__error("%s: parameters must be finite (and stddev >= 0); got %g, %g", who, a, b);
        return NULL;
    }
    if (kind == UNIFORM && !gt__is_float(dtype) && !(b > a)) {
        gt__error("%s: integer draws need maxval > minval (got minval=%g, maxval=%g)", who, a, b);
        return NULL;
    }
    gt_tensor *t = gt__tensor_alloc(dtype, rank, shape);
    if (!t) return NULL;
    if (!rng) rng = gt_global_rng();
    uint64_t key = rng->key, d = rng->counter++;
    bool f64 = dtype == GT_F64;
    int per = f64 ? 2 : 4; /* values per Philox block */
    draw_job j = {kind, key, d, f64, per, n, a, b, dtype, t};
    const int64_t ng = (n + per - 1) / per;
    if (n <= GT__PAR_MIN) { /* small draws: no hand-off */
        for (int64_t g = 0; g < ng; g++)
            draw_group(&j, g);
    } else {
        gt__par_for((ng + GROUPS - 1) / GROUPS, 0, draw_task, &j);
    }
    return t;
}

gt_tensor *gt_random_normal(int rank, const int64_t *shape, double mean, double stddev,
                            gt_dtype dtype, gt_rng *rng) {
    return draw("gt_random_normal", NORMAL, rank, shape, mean, stddev, dtype, rng);
}
gt_tensor *gt_random_uniform(int rank, const int64_t *shape, double minval, double maxval,
                             gt_dtype dtype, gt_rng *rng) {
    return draw("gt_random_uniform", UNIFORM, rank, shape, minval, maxval, dtype, rng);
}
gt_tensor *gt_truncated_normal(int rank, const int64_t *shape, double mean, double stddev,
                               gt_dtype dtype, gt_rng *rng) {
    return draw("gt_truncated_normal", TRUNCATED, rank, shape, mean, stddev, dtype, rng);
}
