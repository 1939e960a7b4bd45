/* Elementwise activation and math kernels. One loop per kind, so the switch runs once per
 * chunk and the loops stay tight (the simple ones vectorise). Both float widths share one
 * body through <tgmath.h>: exp() on a float is expf, so float32 never goes through double
 * math; float32's exp and tanh are the vectorisable gt__expf / gt__tanhf of unary.h. Large tensors are split into fixed chunks across threads; elementwise results do
 * not depend on the split. */
/* The library never inspects floating-point exception flags; without this GCC will not
 * if-convert (and so not vectorise) loops containing float comparisons. Before the includes
 * so the inline kernels of unary.h get it too. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
/* No fused multiply-adds, so the AVX2 and baseline kernels give the same bits (GCC does not
 * contract in ISO C mode). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "kernels/unary.h"

#include "kernels/convert.h" /* gt__stream_copy */

#include <tgmath.h>

/* Elements per parallel work item. */
#define CHUNK 16384

#define LOOP(expr)                                                                                 \
    for (int64_t i = 0; i < n; i++) y[i] = (expr);                                                 \
    break
#define VLOOP(expr)                                                                                \
    GT__SIMD for (int64_t i = 0; i < n; i++) y[i] = (expr);                                        \
    break
/* Loops of EXP / TANH: vectorisable for float32 only (float64 calls libm), so the simd
 * request is DEFINE_UNARY's XSIMD argument (clang warns about simd loops it cannot vectorise). */
#define XLOOP(simd, expr)                                                                          \
    simd for (int64_t i = 0; i < n; i++) y[i] = (expr);                                           \
    break

/* The softplus cut-offs TensorFlow uses: below log(eps) + 2, exp(x) is softplus(x) to
 * within epsilon; above its negation, x is. */
#define DEFINE_UNARY(SUF, T, EPS, EXP, TANH, ATTR, XSIMD)                                                                  \
    ATTR static void unary_##SUF(int k, const T *x, T *y, int64_t n, T al) {                            \
        const T one = 1, zero = 0, half = (T)0.5, th = log((T)EPS) + 2;                            \
        switch (k) {                                                                               \
        case GT__EW_NEG: VLOOP(-x[i]);                                                             \
        case GT__EW_ABS: VLOOP(fabs(x[i]));                                                        \
        case GT__EW_SIGN: VLOOP(x[i] > 0 ? one : x[i] < 0 ? -one : x[i] == 0 ? zero : x[i]);       \
        case GT__EW_SQUARE: VLOOP(x[i] * x[i]);                                                    \
        case GT__EW_SQRT: VLOOP(sqrt(x[i]));                                                       \
        case GT__EW_RSQRT: VLOOP(one / sqrt(x[i]));                                                \
        case GT__EW_EXP: XLOOP(XSIMD, EXP(x[i]));                                                          \
        case GT__EW_LOG: LOOP(log(x[i]));                                                          \
        case GT__EW_LOG1P: LOOP(log1p(x[i]));                                                      \
        case GT__EW_EXPM1: LOOP(expm1(x[i]));                                                      \
        case GT__EW_SIN: LOOP(sin(x[i]));                                                          \
        case GT__EW_COS: LOOP(cos(x[i]));                                                          \
        case GT__EW_TANH: XLOOP(XSIMD, TANH(x[i]));                                                        \
        case GT__EW_SIGMOID:                                                                       \
            /* One exp of -|x| for both signs keeps tiny outputs accurate (no 1 - ...). */         \
            XSIMD for (int64_t i = 0; i < n; i++) {                                                \
                T e = EXP(-fabs(x[i])), r = one / (one + e);                                       \
                y[i] = x[i] >= 0 ? r : e * r;                                                      \
            }                                                                                      \
            break;                                                                                 \
        case GT__EW_RELU: VLOOP(x[i] > 0 || x[i] != x[i] ? x[i] : zero);                           \
        case GT__EW_RELU6:                                                                         \
            VLOOP(x[i] != x[i] ? x[i] : x[i] > 0 ? (x[i] < 6 ? x[i] : (T)6) : zero);               \
        case GT__EW_LEAKY_RELU: VLOOP(x[i] > 0 ? x[i] : x[i] * al);                                \
        case GT__EW_ELU: LOOP(x[i] > 0 ? x[i] : al * expm1(x[i]));                                 \
        case GT__EW_SELU:                                                                          \
            LOOP(x[i] < 0 ? (T)GT__SELU_SCALE_ALPHA * expm1(x[i]) : (T)GT__SELU_SCALE * x[i]);     \
        case GT__EW_GELU: LOOP(half * x[i] * erfc(-x[i] * (T)GT__GELU_C0));                        \
        case GT__EW_GELU_TANH:                                                                     \
            XLOOP(XSIMD, half * x[i] *                                                                    \
                  (one + TANH((T)GT__GELU_C * (x[i] + (T)GT__GELU_K * (x[i] * x[i] * x[i])))));     \
        case GT__EW_SOFTPLUS:                                                                      \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T v = x[i];                                                                        \
                y[i] = v > -th ? v : v < th ? exp(v) : log1p(exp(v));                              \
            }                                                                                      \
            break;                                                                                 \
        case GT__EW_SILU:                                                                          \
            XSIMD for (int64_t i = 0; i < n; i++) {                                                \
                T e = EXP(-fabs(x[i])), r = one / (one + e);                                       \
                y[i] = x[i] * (x[i] >= 0 ? r : e * r);                                             \
            }                                                                                      \
            break;                                                                                 \
        case GT__EW_SOFTSIGN: VLOOP(x[i] / (fabs(x[i]) + one));                                    \
        default: break;                                                                            \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    ATTR static void binary_##SUF(int k, const T *a, const T *b, T *y, int64_t n, T al) {               \
        const T one = 1, zero = 0, half = (T)0.5;                                                  \
        switch (k) {                                                                               \
        /* TensorFlow multiplies by the mask, so a NaN upstream gradient stays NaN. */             \
        case GT__EW_RELU_GRAD: VLOOP(a[i] * (b[i] > 0 ? one : zero));                              \
        case GT__EW_RELU6_GRAD: VLOOP(a[i] * (b[i] > 0 && b[i] < 6 ? one : zero));                 \
        case GT__EW_LEAKY_GRAD: VLOOP(b[i] > 0 ? a[i] : a[i] * al);                                \
        case GT__EW_ELU_GRAD: VLOOP(b[i] > 0 ? a[i] : (b[i] + al) * a[i]);                         \
        case GT__EW_SELU_GRAD:                                                                     \
            VLOOP(b[i] < 0 ? a[i] * (b[i] + (T)GT__SELU_SCALE_ALPHA) : a[i] * (T)GT__SELU_SCALE);  \
        case GT__EW_SIGMOID_GRAD: VLOOP(a[i] * b[i] * (one - b[i]));                               \
        case GT__EW_TANH_GRAD: VLOOP(a[i] * (one - b[i] * b[i]));                                  \
        case GT__EW_SOFTPLUS_GRAD: XLOOP(XSIMD, a[i] / (EXP(-b[i]) + one));                                \
        case GT__EW_GELU_GRAD:                                                                     \
            /* d/dx 0.5 x erfc(-C0 x) = 0.5 erfc(-C0 x) + x C0/sqrt(pi) exp(-(C0 x)^2) */          \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T v = b[i], u = v * (T)GT__GELU_C0;                                                \
                T cdf = half * erfc(-u);                                                           \
                T pdf = v * (T)(GT__GELU_C0 * GT__INV_SQRT_PI) * exp(-(u * u));                    \
                y[i] = a[i] * (cdf + pdf);                                                         \
            }                                                                                      \
            break;                                                                                 \
        case GT__EW_GELU_TANH_GRAD:                                                                \
            XSIMD for (int64_t i = 0; i < n; i++) {                                                \
                T v = b[i], v2 = v * v;                                                            \
                T t = TANH((T)GT__GELU_C * (v + (T)GT__GELU_K * (v2 * v)));                        \
                T du = (T)GT__GELU_C * (one + (T)(3 * GT__GELU_K) * v2);                           \
                y[i] = a[i] * (half * (one + t) + half * v * (one - t * t) * du);                  \
            }                                                                                      \
            break;                                                                                 \
        case GT__EW_SIGMOID_XENT:                                                                  \
            /* TensorFlow's composition: relu(x) - x*z + log1p(exp(-|x|)). */                      \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T v = b[i];                                                                        \
                y[i] = ((v >= 0 ? v : zero) - v * a[i]) + log1p(exp(v >= 0 ? -v : v));            \
            }                                                                                      \
            break;                                                                                 \
        default: break;                                                                            \
        }                                                                                          \
    }

#define F32_EPS 1.1920928955078125e-07
DEFINE_UNARY(f32, float, F32_EPS, gt__expf, gt__tanhf, , GT__SIMD)
DEFINE_UNARY(f64, double, 2.220446049250313080847e-16, exp, tanh, , )

/* The float32 kernels again for AVX2 (8 lanes instead of 4), chosen at run time. */
#if defined(__x86_64__) || defined(__i386__)
#include "kernels/cpu.h"
DEFINE_UNARY(f32_avx2, float, F32_EPS, gt__expf, gt__tanhf, __attribute__((target("avx2,fma"))),
             GT__SIMD)
static bool use_avx2(void) { return gt__cpu_has_avx2_fma(); }
#else
#define unary_f32_avx2 unary_f32
#define binary_f32_avx2 binary_f32
static bool use_avx2(void) { return false; }
#endif

/* Integer kinds wrap on overflow as TensorFlow's do (abs/neg of INT_MIN is INT_MIN);
 * unsigned arithmetic keeps that free of undefined behaviour. */
#define DEFINE_INT(SUF, T, U)                                                                      \
    static void int_##SUF(int k, const T *x, T *y, int64_t n) {                                    \
        switch (k) {                                                                               \
        case GT__EW_NEG: VLOOP((T)((U)0 - (U)x[i]));                                               \
        case GT__EW_ABS: VLOOP(x[i] < 0 ? (T)((U)0 - (U)x[i]) : x[i]);                             \
        case GT__EW_SIGN: VLOOP((T)((x[i] > 0) - (x[i] < 0)));                                     \
        case GT__EW_SQUARE: VLOOP((T)((U)x[i] * (U)x[i]));                                         \
        default: break;                                                                            \
        }                                                                                          \
    }

DEFINE_INT(i32, int32_t, uint32_t)
DEFINE_INT(i64, int64_t, uint64_t)

static void unary_run(gt__ew_kind k, gt_dtype dt, const void *x, void *y, int64_t off, int64_t n,
                      double alpha) {
    switch (dt) {
    case GT_F32:
        (use_avx2() ? unary_f32_avx2 : unary_f32)(k, (const float *)x + off, (float *)y, n,
                                                  (float)alpha);
        break;
    case GT_F64: unary_f64(k, (const double *)x + off, (double *)y, n, alpha); break;
    case GT_I32: int_i32(k, (const int32_t *)x + off, (int32_t *)y, n); break;
    case GT_I64: int_i64(k, (const int64_t *)x + off, (int64_t *)y, n); break;
    default: break;
    }
}

/* One elementwise job: kind, dtype, operands (b NULL for unary kinds), CHUNK elements a task. */
typedef struct ew_job {
    gt__ew_kind k;
    gt_dtype dt;
    const void *a, *b;
    void *y;
    int64_t n;
    double alpha;
    bool stream; /* output above STREAM_BYTES: staged, then streamed */
} ew_job;

static void binary_run(gt__ew_kind k, gt_dtype dt, const void *a, const void *b, void *y,
                       int64_t off, int64_t n, double alpha);

/* Outputs above this many bytes, larger than the last-level cache, are written past the caches:
 * the next op reads them back from memory anyway, and a plain store first reads each line in
 * (read for ownership), a third more memory traffic for a binary op. */
#define STREAM_BYTES ((int64_t)8 << 20)
/* Elements computed into a thread's L1-resident staging block before streaming it out. */
#define STAGE 2048

/* Elements [off, off + len) of the job, written to y (the destination of element off). */
static void ew_span(const ew_job *j, void *y, int64_t off, int64_t len) {
    if (j->b)
        binary_run(j->k, j->dt, j->a, j->b, y, off, len, j->alpha);
    else
        unary_run(j->k, j->dt, j->a, y, off, len, j->alpha);
}

static void ew_task(void *ctx, int64_t c, int tid) {
    (void)tid;
    const ew_job *j = ctx;
    const int64_t off = c * CHUNK, len = j->n - off < CHUNK ? j->n - off : CHUNK;
    const size_t es = gt_dtype_size(j->dt);
    if (!j->stream) {
        ew_span(j, (char *)j->y + (size_t)off * es, off, len);
        return;
    }
    static _Thread_local _Alignas(64) unsigned char stage[STAGE * sizeof(double)];
    for (int64_t s = 0; s < len; s += STAGE) {
        const int64_t m = len - s < STAGE ? len - s : STAGE;
        ew_span(j, stage, off + s, m);
        gt__stream_copy((char *)j->y + (size_t)(off + s) * es, stage, (size_t)m * es);
    }
}

static bool stream_out(gt_dtype dt, int64_t n) {
    return (dt == GT_F32 || dt == GT_F64) && n * (int64_t)gt_dtype_size(dt) > STREAM_BYTES;
}

void gt__ew_unary(gt__ew_kind k, gt_dtype dt, const void *x, void *y, int64_t n, double alpha) {
    if (n <= GT__PAR_MIN) {
        unary_run(k, dt, x, y, 0, n, alpha);
        return;
    }
    ew_job j = {k, dt, x, NULL, y, n, alpha, stream_out(dt, n)};
    gt__par_for((n + CHUNK - 1) / CHUNK, 0, ew_task, &j);
}

static void binary_run(gt__ew_kind k, gt_dtype dt, const void *a, const void *b, void *y,
                       int64_t off, int64_t n, double alpha) {
    if (dt == GT_F32)
        (use_avx2() ? binary_f32_avx2 : binary_f32)(k, (const float *)a + off, (const float *)b + off, (float *)y, n,
                   (float)alpha);
    else if (dt == GT_F64)
        binary_f64(k, (const double *)a + off, (const double *)b + off, (double *)y, n,
                   alpha);
}

void gt__ew_binary(gt__ew_kind k, gt_dtype dt, const void *a, const void *b, void *out, int64_t n,
                   double alpha) {
    if (n <= GT__PAR_MIN) {
        binary_run(k, dt, a, b, out, 0, n, alpha);
        return;
    }
    ew_job j = {k, dt, a, b, out, n, alpha, stream_out(dt, n)};
    gt__par_for((n + CHUNK - 1) / CHUNK, 0, ew_task, &j);
}
