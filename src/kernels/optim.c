/* The optimizers' update loops: one loop per rule and configuration (no branches inside, so
 * the compiler vectorises them), instantiated for float, float on AVX2 and double. Updated
 * slots are kept in locals rather than read back from memory: a 256-bit load of a value just
 * stored as two 128-bit halves (Zen 1 splits ymm stores) cannot be forwarded and stalls,
 * which made the loads-after-stores form 2.5x slower. */
/* Every operation rounds as Keras' ops do: no fused multiply-adds (GCC does not contract in
 * ISO C mode; clang does unless told not to), so the AVX2 and baseline loops agree too. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels/optim.h"

#include "kernels/unary.h" /* GT__SIMD */

#include <math.h>


/* T: element type, SQ: its sqrt, AB: its fabs, ATTR: target attribute, SFX: name suffix. Every
 * loop runs elements [i0, i1) of one job; the expressions are Keras' in its order of
 * operations. Maxima and signs propagate NaN, as tf.maximum and tf.sign do. */
#define DEFINE_OPTIM(T, SQ, AB, ATTR, SFX)                                                         \
    ATTR static void run_##SFX(const gt_update *j, int64_t i0, int64_t i1) {                     \
        /* ws: the current value, w: where the new one goes (the same buffer in place, so   \
         * neither is restrict; the simd directive vectorises regardless) */                \
        T *w = j->w;                                                                               \
        const T *ws = j->w_src ? (const T *)j->w_src : w;                                          \
        const T *restrict g = j->g;                                                                \
        T *restrict m = j->m, *restrict v = j->v, *restrict vh = j->vh;                            \
        const T lr = (T)j->lr, wd = (T)j->wd, c1 = (T)j->c1, c2 = (T)j->c2, c3 = (T)j->c3;         \
        const T eps = (T)j->eps, c4 = (T)j->c4, c5 = (T)j->c5, c6 = (T)j->c6, c7 = (T)j->c7;       \
        if (wd != 0) {                                                                             \
            GT__SIMD for (int64_t i = i0; i < i1; i++) w[i] = ws[i] - ws[i] * wd * lr;             \
            ws = w;                                                                                \
        }                                                                                          \
        switch (j->rule) {                                                                         \
        case GT_UPDATE_SGD:                                                                          \
            if (!m) {                                                                              \
                GT__SIMD for (int64_t i = i0; i < i1; i++) w[i] = ws[i] - g[i] * lr;                \
            } else if (j->nesterov) {                                                              \
                GT__SIMD for (int64_t i = i0; i < i1; i++) {                                       \
                    const T mi = m[i] * c1 - g[i] * lr;                                            \
                    m[i] = mi;                                                                     \
                    w[i] = ws[i] + (mi * c1 - g[i] * lr);                                           \
                }                                                                                  \
            } else {                                                                               \
                GT__SIMD for (int64_t i = i0; i < i1; i++) {                                       \
                    const T mi = m[i] * c1 - g[i] * lr;                                            \
                    m[i] = mi;                                                                     \
                    w[i] = ws[i] + mi;                                                              \
                }                                                                                  \
            }                                                                                      \
            break;                                                                                 \
        case GT_UPDATE_ADAM:                                                                         \
            if (!vh) {                                                                             \
                GT__SIMD for (int64_t i = i0; i < i1; i++) {                                       \
                    const T mi = m[i] + (g[i] - m[i]) * c1, vi = v[i] + (g[i] * g[i] - v[i]) * c2; \
                    m[i] = mi;                                                                     \
                    v[i] = vi;                                                                     \
                    w[i] = ws[i] - (mi * c3) / (SQ(vi) + eps);                                      \
                }                                                                                  \
            } else {                                                                               \
                GT__SIMD for (int64_t i = i0; i < i1; i++) {                                       \
                    const T mi = m[i] + (g[i] - m[i]) * c1, vi = v[i] + (g[i] * g[i] - v[i]) * c2; \
                    const T hi = vh[i] > vi ? vh[i] : vi;                                          \
                    m[i] = mi;                                                                     \
                    v[i] = vi;                                                                     \
                    vh[i] = hi;                                                                    \
                    w[i] = ws[i] - (mi * c3) / (SQ(hi) + eps);                                      \
                }                                                                                  \
            }                                                                                      \
            break;                                                                                 \
        case GT_UPDATE_RMSPROP: /* c1 = rho, c2 = 1 - rho, c3 = momentum; vh: average gradient */    \
            GT__SIMD for (int64_t i = i0; i < i1; i++) {                                           \
                const T vi = c1 * v[i] + c2 * (g[i] * g[i]);                                       \
                T den;                                                                             \
                v[i] = vi;                                                                         \
                if (vh) {                                                                          \
                    const T ai = c1 * vh[i] + c2 * g[i];                                           \
                    vh[i] = ai;                                                                    \
                    den = vi - ai * ai + eps;                                                      \
                } else {                                                                           \
                    den = vi + eps;                                                                \
                }                                                                                  \
                const T inc = (lr * g[i]) / SQ(den);                                               \
                if (m) {                                                                           \
                    const T mi = c3 * m[i] + inc;                                                  \
                    m[i] = mi;                                                                     \
                    w[i] = ws[i] - mi;                                                              \
                } else {                                                                           \
                    w[i] = ws[i] - inc;                                                             \
                }                                                                                  \
            }                                                                                      \
            break;                                                                                 \
        case GT_UPDATE_ADAGRAD: /* v: the accumulator */                                             \
            GT__SIMD for (int64_t i = i0; i < i1; i++) {                                           \
                const T ai = v[i] + g[i] * g[i];                                                   \
                v[i] = ai;                                                                         \
                w[i] = ws[i] - (lr * g[i]) / SQ(ai + eps);                                          \
            }                                                                                      \
            break;                                                                                 \
        case GT_UPDATE_ADAMAX: /* v: the infinity norm u */                                        \
            GT__SIMD for (int64_t i = i0; i < i1; i++) {                                           \
                const T mi = m[i] + (g[i] - m[i]) * c1, bu = c2 * v[i], ag = AB(g[i]);             \
                const T ui = bu > ag || bu != bu ? bu : ag;                                        \
                m[i] = mi;                                                                         \
                v[i] = ui;                                                                         \
                w[i] = ws[i] - (lr * mi) / (c3 * (ui + eps));                                      \
            }                                                                                      \
            break;                                                                                 \
        case GT_UPDATE_NADAM:                                                                      \
            GT__SIMD for (int64_t i = i0; i < i1; i++) {                                           \
                const T mi = m[i] + (g[i] - m[i]) * c1, vi = v[i] + (g[i] * g[i] - v[i]) * c2;     \
                const T mh = (c3 * mi) / c4 + (c5 * g[i]) / c6;                                    \
                m[i] = mi;                                                                         \
                v[i] = vi;                                                                         \
                w[i] = ws[i] - (mh * lr) / (SQ(vi / c7) + eps);                                    \
            }                                                                                      \
            break;                                                                                 \
        case GT_UPDATE_LION:                                                                       \
            GT__SIMD for (int64_t i = i0; i < i1; i++) {                                           \
                const T ci = m[i] * c1 + g[i] * c2;                                                \
                const T si = ci > 0 ? (T)1 : ci < 0 ? (T)-1 : ci == 0 ? (T)0 : ci;                 \
                w[i] = ws[i] - lr * si;                                                            \
                m[i] = m[i] * c3 + g[i] * c4;                                                      \
            }                                                                                      \
            break;                                                                                 \
        }                                                                                          \
    }

DEFINE_OPTIM(float, sqrtf, fabsf, , f32)
DEFINE_OPTIM(double, sqrt, fabs, , f64)

#if defined(__x86_64__) || defined(__i386__)
#include "kernels/cpu.h"
DEFINE_OPTIM(float, sqrtf, fabsf, __attribute__((target("avx2,fma"))), f32_avx2)
DEFINE_OPTIM(double, sqrt, fabs, __attribute__((target("avx2,fma"))), f64_avx2)
static bool use_avx2(void) { return gt__cpu_has_avx2_fma(); }
#else
#define run_f32_avx2 run_f32
#define run_f64_avx2 run_f64
static bool use_avx2(void) { return false; }
#endif

static void run(const gt_update *j, int64_t i0, int64_t i1, bool avx2) {
    if (i0 >= i1) return;
    if (j->dtype == GT_F64)
        (avx2 ? run_f64_avx2 : run_f64)(j, i0, i1);
    else
        (avx2 ? run_f32_avx2 : run_f32)(j, i0, i1);
}

/* Each task updates one share of every variable: boundaries on multiples of 16 elements
 * (whole vectors, whole cache lines). */
#define SHARES 16
typedef struct opt_job {
    const gt_update *jobs;
    int njobs;
    bool avx2;
} opt_job;

static void opt_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const opt_job *o = ctx;
    for (int k = 0; k < o->njobs; k++) {
        const int64_t n = o->jobs[k].n, blocks = (n + 15) / 16;
        const int64_t i0 = blocks * t / SHARES * 16, i1 = blocks * (t + 1) / SHARES * 16;
        run(&o->jobs[k], i0, i1 < n ? i1 : n, o->avx2);
    }
}

void gt__opt_apply(const gt_update *jobs, int njobs) {
    const bool avx2 = use_avx2();
    int64_t total = 0;
    for (int k = 0; k < njobs; k++) total += jobs[k].n;
    if (total <= GT__PAR_MIN) {
        for (int k = 0; k < njobs; k++) run(&jobs[k], 0, jobs[k].n, avx2);
        return;
    }
    opt_job o = {jobs, njobs, avx2};
    gt__par_for(SHARES, 0, opt_task, &o);
}
