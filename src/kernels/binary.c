/* Elementwise binary kernels. The broadcast walk merges dimensions so that the common cases
 * (same shape, scalar, bias row) become one or a few long runs with unit or zero strides,
 * which the compiler vectorises. */
#include "kernels/binary.h"

#include "kernels/cpu.h"

#include <math.h>

/* ---- the walk ---------------------------------------------------------------------------- */

typedef struct {
    int rank;
    int64_t dim[GT_MAX_RANK];
    int64_t stride[3][GT_MAX_RANK]; /* element strides per input, 0 where broadcast */
    int nin;
} walk_plan;

static void plan(walk_plan *p, const gt_tensor *out, int nin, const gt_tensor *const *in) {
    int r = out->rank;
    int64_t st[3][GT_MAX_RANK];
    for (int k = 0; k < nin; k++) {
        int64_t s = 1;
        for (int i = r - 1; i >= 0; i--) {
            int j = i - (r - in[k]->rank);
            int64_t d = j >= 0 ? in[k]->shape[j] : 1;
            st[k][i] = d == 1 ? 0 : s;
            s *= d;
        }
    }
    /* Merge axis i into i+1 when every input is contiguous (or broadcast) across both. */
    p->nin = nin;
    p->rank = 0;
    for (int i = 0; i < r; i++) {
        if (out->shape[i] == 1) continue;
        if (p->rank > 0) {
            int q = p->rank - 1;
            bool ok = true;
            for (int k = 0; k < nin; k++) {
                int64_t inner = st[k][i], outer = p->stride[k][q];
                if (!((inner == 0 && outer == 0) || (inner != 0 && outer == inner * out->shape[i])))
                    ok = false;
            }
            if (ok) {
                p->dim[q] *= out->shape[i];
                for (int k = 0; k < nin; k++) p->stride[k][q] = st[k][i];
                continue;
            }
        }
        p->dim[p->rank] = out->shape[i];
        for (int k = 0; k < nin; k++) p->stride[k][p->rank] = st[k][i];
        p->rank++;
    }
}

/* Visits out elements [lo, hi) as runs along the innermost merged axis. */
static void walk_range(const walk_plan *p, int64_t lo, int64_t hi, gt__run_fn fn, void *ctx) {
    if (p->rank == 0) {
        int64_t off[3] = {0, 0, 0};
        int step[3] = {0, 0, 0};
        if (hi > lo) fn(ctx, 0, 1, off, step);
        return;
    }
    int r = p->rank;
    int64_t inner = p->dim[r - 1];
    int step[3];
    for (int k = 0; k < p->nin; k++) step[k] = p->stride[k][r - 1] != 0;
    int64_t i = lo;
    while (i < hi) {
        /* Coordinates of i, and the input offsets they give. */
        int64_t rem = i / inner, col = i % inner, off[3] = {0, 0, 0};
        for (int k = 0; k < p->nin; k++) off[k] = col * p->stride[k][r - 1];
        for (int a = r - 2; a >= 0; a--) {
            int64_t c = rem % p->dim[a];
            rem /= p->dim[a];
            for (int k = 0; k < p->nin; k++) off[k] += c * p->stride[k][a];
        }
        int64_t n = inner - col;
        if (n > hi - i) n = hi - i;
        fn(ctx, i, n, off, step);
        i += n;
    }
}

/* A walk split into tasks of BLOCK output elements: the split does not depend on the thread
 * count (elementwise results would not change anyway, but fixed blocks keep every kernel's
 * behaviour the same). flat: one run per block with the given steps; else the plan's walk. */
#define BLOCK 16384
typedef struct walk_job {
    const walk_plan *p; /* NULL: flat */
    int64_t n;
    int step[3];
    gt__run_fn fn;
    void *ctx;
} walk_job;

static void walk_task(void *ctx, int64_t b, int tid) {
    (void)tid;
    const walk_job *j = ctx;
    const int64_t lo = b * BLOCK, hi = lo + BLOCK < j->n ? lo + BLOCK : j->n;
    if (j->p) {
        walk_range(j->p, lo, hi, j->fn, j->ctx);
        return;
    }
    int64_t o[3];
    for (int k = 0; k < 3; k++) o[k] = j->step[k] ? lo : 0;
    j->fn(j->ctx, lo, hi - lo, o, j->step);
}

void gt__broadcast_walk(const gt_tensor *out, int nin, const gt_tensor *const *in, gt__run_fn fn,
                        void *ctx) {
    /* Every input either full-size (then laid out as out) or a single element: the whole
     * output is one run. This is the common case (same shapes, scalars). */
    int64_t n = out->size;
    bool flat = true;
    int step[3] = {0, 0, 0};
    for (int k = 0; k < nin; k++) {
        if (in[k]->size == n) step[k] = 1;
        else if (in[k]->size != 1) flat = false;
    }
    if (flat) {
        int64_t off[3] = {0, 0, 0};
        if (n <= GT__PAR_MIN) {
            if (n) fn(ctx, 0, n, off, step);
            return;
        }
        walk_job j = {NULL, n, {step[0], step[1], step[2]}, fn, ctx};
        gt__par_for((n + BLOCK - 1) / BLOCK, 0, walk_task, &j);
        return;
    }
    walk_plan p;
    plan(&p, out, nin, in);
    if (n <= GT__PAR_MIN) {
        walk_range(&p, 0, n, fn, ctx);
        return;
    }
    walk_job j = {&p, n, {0, 0, 0}, fn, ctx};
    gt__par_for((n + BLOCK - 1) / BLOCK, 0, walk_task, &j);
}

/* ---- binary runs ------------------------------------------------------------------------- */

typedef struct {
    gt__binop op;
    const gt_tensor *a, *b;
    gt_tensor *out;
} bin_ctx;

static inline double powi_d(double a, double b) { return pow(a, b); }

/* The element formula for arithmetic ops. */
#define ARITH(op, x, y, T)                                                                       \
    ((op) == GT__B_ADD   ? (T)((x) + (y))                                                        \
     : (op) == GT__B_SUB ? (T)((x) - (y))                                                        \
     : (op) == GT__B_MUL ? (T)((x) * (y))                                                        \
     : (op) == GT__B_MAX ? ((x) >= (y) || (x) != (x) ? (x) : (y))                                \
     : (op) == GT__B_MIN ? ((x) <= (y) || (x) != (x) ? (x) : (y))                                \
                         : (T)(((x) - (y)) * ((x) - (y))))

/* One run with the stride pattern hoisted out of the loop so each variant vectorises. */
#define RUN_LOOP(EXPR, T, OT)                                                                    \
    do {                                                                                         \
        const T *A = (const T *)c->a->data + off[0], *B = (const T *)c->b->data + off[1];        \
        OT *restrict O = (OT *)c->out->data + o; /* a fresh buffer: no alias checks */           \
        if (step[0] && step[1])                                                                  \
            for (int64_t i = 0; i < n; i++) { T x = A[i], y = B[i]; O[i] = (OT)(EXPR); }         \
        else if (step[0]) {                                                                      \
            T y = B[0];                                                                          \
            for (int64_t i = 0; i < n; i++) { T x = A[i]; O[i] = (OT)(EXPR); }                   \
        } else if (step[1]) {                                                                    \
            T x = A[0];                                                                          \
            for (int64_t i = 0; i < n; i++) { T y = B[i]; O[i] = (OT)(EXPR); }                   \
        } else {                                                                                 \
            T x = A[0], y = B[0];                                                                \
            for (int64_t i = 0; i < n; i++) O[i] = (OT)(EXPR);                                   \
        }                                                                                        \
    } while (0)

#define CMP_CASES(T)                                                                             \
    case GT__B_EQ: RUN_LOOP(x == y, T, bool); break;                                             \
    case GT__B_NE: RUN_LOOP(x != y, T, bool); break;                                             \
    case GT__B_LT: RUN_LOOP(x < y, T, bool); break;                                              \
    case GT__B_LE: RUN_LOOP(x <= y, T, bool); break;                                             \
    case GT__B_GT: RUN_LOOP(x > y, T, bool); break;                                              \
    case GT__B_GE: RUN_LOOP(x >= y, T, bool); break

#define ARITH_CASES(T)                                                                           \
    case GT__B_ADD: RUN_LOOP(x + y, T, T); break;                                                \
    case GT__B_SUB: RUN_LOOP(x - y, T, T); break;                                                \
    case GT__B_MUL: RUN_LOOP(x * y, T, T); break;                                                \
    case GT__B_MAX: RUN_LOOP(ARITH(GT__B_MAX, x, y, T), T, T); break;                            \
    case GT__B_MIN: RUN_LOOP(ARITH(GT__B_MIN, x, y, T), T, T); break;                            \
    case GT__B_SQDIFF: RUN_LOOP((x - y) * (x - y), T, T); break

static void run_f32(void *ctx, int64_t o, int64_t n, const int64_t *off, const int *step) {
    const bin_ctx *c = ctx;
    switch (c->op) {
    ARITH_CASES(float);
    CMP_CASES(float);
    case GT__B_DIV: RUN_LOOP(x / y, float, float); break;
    case GT__B_POW: RUN_LOOP(y == 2.0f ? x * x : powf(x, y), float, float); break;
    default: break;
    }
}

static void run_f64(void *ctx, int64_t o, int64_t n, const int64_t *off, const int *step) {
    const bin_ctx *c = ctx;
    switch (c->op) {
    ARITH_CASES(double);
    CMP_CASES(double);
    case GT__B_DIV: RUN_LOOP(x / y, double, double); break;
    case GT__B_POW: RUN_LOOP(powi_d(x, y), double, double); break;
    default: break;
    }
}

/* Integer division truncates toward zero; division by zero gives 0 instead of trapping. */
#define IDIV(x, y, T) ((y) == 0 ? (T)0 : ((y) == -1 ? (T)(0 - (x)) : (T)((x) / (y))))

static void run_i32(void *ctx, int64_t o, int64_t n, const int64_t *off, const int *step) {
    const bin_ctx *c = ctx;
    /* Wrap-around arithmetic as TensorFlow's int ops, computed unsigned to avoid UB. */
    switch (c->op) {
    case GT__B_ADD: RUN_LOOP((int32_t)((uint32_t)x + (uint32_t)y), int32_t, int32_t); break;
    case GT__B_SUB: RUN_LOOP((int32_t)((uint32_t)x - (uint32_t)y), int32_t, int32_t); break;
    case GT__B_MUL: RUN_LOOP((int32_t)((uint32_t)x * (uint32_t)y), int32_t, int32_t); break;
    case GT__B_MAX: RUN_LOOP(x >= y ? x : y, int32_t, int32_t); break;
    case GT__B_MIN: RUN_LOOP(x <= y ? x : y, int32_t, int32_t); break;
    case GT__B_SQDIFF: RUN_LOOP((int32_t)((uint32_t)(x - y) * (uint32_t)(x - y)), int32_t, int32_t); break;
    case GT__B_DIV: RUN_LOOP(IDIV(x, y, int32_t), int32_t, int32_t); break;
    CMP_CASES(int32_t);
    default: break;
    }
}

static void run_i64(void *ctx, int64_t o, int64_t n, const int64_t *off, const int *step) {
    const bin_ctx *c = ctx;
    switch (c->op) {
    case GT__B_ADD: RUN_LOOP((int64_t)((uint64_t)x + (uint64_t)y), int64_t, int64_t); break;
    case GT__B_SUB: RUN_LOOP((int64_t)((uint64_t)x - (uint64_t)y), int64_t, int64_t); break;
    case GT__B_MUL: RUN_LOOP((int64_t)((uint64_t)x * (uint64_t)y), int64_t, int64_t); break;
    case GT__B_MAX: RUN_LOOP(x >= y ? x : y, int64_t, int64_t); break;
    case GT__B_MIN: RUN_LOOP(x <= y ? x : y, int64_t, int64_t); break;
    case GT__B_SQDIFF: RUN_LOOP((int64_t)((uint64_t)(x - y) * (uint64_t)(x - y)), int64_t, int64_t); break;
    case GT__B_DIV: RUN_LOOP(IDIV(x, y, int64_t), int64_t, int64_t); break;
    CMP_CASES(int64_t);
    default: break;
    }
}

static void run_bool(void *ctx, int64_t o, int64_t n, const int64_t *off, const int *step) {
    const bin_ctx *c = ctx;
    switch (c->op) {
    case GT__B_AND: RUN_LOOP(x && y, bool, bool); break;
    case GT__B_OR: RUN_LOOP(x || y, bool, bool); break;
    case GT__B_EQ: RUN_LOOP(x == y, bool, bool); break;
    case GT__B_NE: RUN_LOOP(x != y, bool, bool); break;
    case GT__B_LT: RUN_LOOP(x < y, bool, bool); break;
    case GT__B_LE: RUN_LOOP(x <= y, bool, bool); break;
    case GT__B_GT: RUN_LOOP(x > y, bool, bool); break;
    case GT__B_GE: RUN_LOOP(x >= y, bool, bool); break;
    default: break;
    }
}

/* ---- small float32 arithmetic -------------------------------------------------------------- */

/* Most ops of a small model's step are float32 arithmetic on a few dozen elements with each
 * operand full-size or a single element. The general path (run_f32 with its many unrolled
 * variants) spends more on set-up than on those elements; this one is four lanes at a time
 * (GCC vector extensions, plain SSE) and a scalar tail. Each lane computes exactly the
 * scalar formula, so results are bitwise those of the general path. */
#define GT__SMALL_N 256

typedef float gt__v4f __attribute__((vector_size(16)));

static inline gt__v4f load4(const float *p) {
    gt__v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void store4(float *p, gt__v4f v) { memcpy(p, &v, sizeof v); }

/* sa / sb: 1 when the operand advances, 0 when it is a single element. */
#define SMALL_LOOP(EXPR)                                                                         \
    do {                                                                                         \
        int64_t i = 0;                                                                           \
        if (sa && sb) {                                                                          \
            for (; i + 4 <= n; i += 4) {                                                         \
                gt__v4f x = load4(A + i), y = load4(B + i);                                      \
                store4(O + i, EXPR);                                                             \
            }                                                                                    \
            for (; i < n; i++) { float x = A[i], y = B[i]; O[i] = EXPR; }                        \
        } else if (sa) {                                                                         \
            for (gt__v4f y = {B[0], B[0], B[0], B[0]}; i + 4 <= n; i += 4) {                     \
                gt__v4f x = load4(A + i);                                                        \
                store4(O + i, EXPR);                                                             \
            }                                                                                    \
            for (; i < n; i++) { float x = A[i], y = B[0]; O[i] = EXPR; }                        \
        } else if (sb) {                                                                         \
            for (gt__v4f x = {A[0], A[0], A[0], A[0]}; i + 4 <= n; i += 4) {                     \
                gt__v4f y = load4(B + i);                                                        \
                store4(O + i, EXPR);                                                             \
            }                                                                                    \
            for (; i < n; i++) { float x = A[0], y = B[i]; O[i] = EXPR; }                        \
        } else {                                                                                 \
            float x = A[0], y = B[0];                                                            \
            for (; i < n; i++) O[i] = EXPR;                                                      \
        }                                                                                        \
    } while (0)

/* Returns false for ops it does not handle (comparisons, max/min, pow). */
static bool small_f32(gt__binop op, const float *A, bool sa, const float *B, bool sb,
                      float *restrict O, int64_t n) {
    switch (op) {
    case GT__B_ADD: SMALL_LOOP(x + y); return true;
    case GT__B_SUB: SMALL_LOOP(x - y); return true;
    case GT__B_MUL: SMALL_LOOP(x * y); return true;
    case GT__B_DIV: SMALL_LOOP(x / y); return true;
    case GT__B_SQDIFF: SMALL_LOOP((x - y) * (x - y)); return true;
    default: return false;
    }
}

/* Whether x broadcasts to out as a row repeated over out's leading axes (a bias: x's shape is
 * out's trailing dimensions, up to leading 1s). */
static bool is_row_of(const gt_tensor *x, const gt_tensor *out) {
    int lead = out->rank - x->rank;
    if (lead < 0) return false;
    for (int i = 0; i < x->rank; i++)
        if (x->shape[i] != out->shape[lead + i]) return false;
    return true;
}

/* Small float32 outputs: flat operands, or one full-size operand and a row of the other (the
 * bias add of a dense layer and its kin), done row by row. False when not handled. */
static bool small_binary(gt__binop op, const gt_tensor *a, const gt_tensor *b, gt_tensor *out) {
    int64_t n = out->size;
    if (n > GT__SMALL_N || a->dtype != GT_F32) return false;
    bool sa = a->size == n, sb = b->size == n;
    const float *A = a->data, *B = b->data;
    float *O = out->data;
    if ((sa || a->size == 1) && (sb || b->size == 1)) return small_f32(op, A, sa, B, sb, O, n);
    const gt_tensor *row = sa ? b : a;
    int64_t w = row->size;
    if (!(sa || sb) || w == 0 || !is_row_of(row, out)) return false;
    for (int64_t r = 0; r < n; r += w) {
        bool ok = sa ? small_f32(op, A + r, true, B, true, O + r, w)
                     : small_f32(op, A, true, B + r, true, O + r, w);
        if (!ok) return false; /* the op is not one small_f32 handles: nothing was written */
    }
    return true;
}

/* ---- larger float32 arithmetic ---------------------------------------------------------------- */

/* Above GT__SMALL_N, float32 arithmetic with each operand full-size, a single element, a row
 * of the other (a bias, [M, N] + [N]) or a column of it ([M, N] - [M, 1], the keepdims
 * reductions of a hand-written softmax or normalisation) runs here rather than through the
 * walk, whose per-run
 * set-up (coordinates by division, the op switch) costs more than a short row's elements. The
 * loops are compiled for the baseline ISA and again for AVX2, chosen at run time; each lane
 * computes exactly the scalar formula of run_f32 (no contraction: ISO C mode), so every path
 * gives the same bits. */
#define ARITH_LOOP(EXPR)                                                                         \
    do {                                                                                         \
        if (sa && sb)                                                                            \
            for (int64_t i = 0; i < n; i++) { float x = A[i], y = B[i]; O[i] = (EXPR); }         \
        else if (sa)                                                                             \
            for (int64_t i = 0; i < n; i++) { float x = A[i], y = B[0]; O[i] = (EXPR); }         \
        else if (sb)                                                                             \
            for (int64_t i = 0; i < n; i++) { float x = A[0], y = B[i]; O[i] = (EXPR); }         \
        else                                                                                     \
            for (int64_t i = 0; i < n; i++) { float x = A[0], y = B[0]; O[i] = (EXPR); }         \
    } while (0)

#define DEFINE_ARITH_F32(SUF, ATTR)                                                              \
    ATTR static void arith_##SUF(gt__binop op, const float *A, bool sa, const float *B, bool sb,  \
                                 float *restrict O, int64_t n) {                                 \
        switch (op) {                                                                            \
        case GT__B_ADD: ARITH_LOOP(x + y); break;                                                \
        case GT__B_SUB: ARITH_LOOP(x - y); break;                                                \
        case GT__B_MUL: ARITH_LOOP(x * y); break;                                                \
        case GT__B_DIV: ARITH_LOOP(x / y); break;                                                \
        case GT__B_MAX: ARITH_LOOP(ARITH(GT__B_MAX, x, y, float)); break;                        \
        case GT__B_MIN: ARITH_LOOP(ARITH(GT__B_MIN, x, y, float)); break;                        \
        case GT__B_SQDIFF: ARITH_LOOP((x - y) * (x - y)); break;                                 \
        default: break;                                                                          \
        }                                                                                        \
    }

DEFINE_ARITH_F32(base, )
#if defined(__x86_64__) || defined(__i386__)
DEFINE_ARITH_F32(avx2, __attribute__((target("avx2,fma"))))
#define arith_have_avx2 gt__cpu_has_avx2_fma
#else
#define arith_avx2 arith_base
#define arith_have_avx2() false
#endif

typedef void (*arith_fn)(gt__binop, const float *, bool, const float *, bool, float *restrict,
                         int64_t);

/* One call, in tasks: flat (w == 0) in BLOCK-element pieces, or rows of width w, the full-size
 * operand advancing by rows and the other restarting at each (a row) or advancing by one
 * element a row (a column). */
typedef struct arith_job {
    arith_fn fn;
    gt__binop op;
    const float *A, *B;
    float *O;
    bool sa, sb;     /* flat: which operands advance; rows: sa means a is the full-size one */
    bool col;        /* rows: the other operand is a column, one element a row */
    int64_t n, w, rows_per_task;
} arith_job;

static void arith_span(const arith_job *j, int64_t t) {
    if (j->w == 0) {
        const int64_t lo = t * BLOCK, len = j->n - lo < BLOCK ? j->n - lo : BLOCK;
        j->fn(j->op, j->sa ? j->A + lo : j->A, j->sa, j->sb ? j->B + lo : j->B, j->sb, j->O + lo,
              len);
        return;
    }
    const int64_t rows = j->n / j->w, r0 = t * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < rows ? r0 + j->rows_per_task : rows;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t o = r * j->w, k = j->col ? r : 0;
        if (j->sa)
            j->fn(j->op, j->A + o, true, j->B + k, !j->col, j->O + o, j->w);
        else
            j->fn(j->op, j->A + k, !j->col, j->B + o, true, j->O + o, j->w);
    }
}

static void arith_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    arith_span(ctx, t);
}

/* Whether x's shape is out's trailing dimensions with the last one 1 (up to leading 1s): with
 * as many elements as out has rows, each of out's rows takes one element of x. */
static bool is_col_of(const gt_tensor *x, const gt_tensor *out) {
    int lead = out->rank - x->rank;
    if (lead < 0 || x->rank == 0 || x->shape[x->rank - 1] != 1) return false;
    for (int i = 0; i + 1 < x->rank; i++)
        if (x->shape[i] != out->shape[lead + i]) return false;
    return true;
}

/* Float32 arithmetic in the flat, row and column cases; false (nothing written) for everything
 * else. */
static bool arith_f32(gt__binop op, const gt_tensor *a, const gt_tensor *b, gt_tensor *out) {
    if (a->dtype != GT_F32 || op == GT__B_POW || op >= GT__B_EQ) return false;
    const int64_t n = out->size;
    const bool sa = a->size == n, sb = b->size == n;
    arith_job j = {arith_have_avx2() ? arith_avx2 : arith_base, op, a->data, b->data, out->data,
                   sa, sb, false, n, 0, 0};
    int64_t tasks;
    if ((sa || a->size == 1) && (sb || b->size == 1)) {
        tasks = (n + BLOCK - 1) / BLOCK;
    } else {
        const gt_tensor *other = sa ? b : a;
        if (!(sa || sb) || other->size == 0 || n == 0) return false;
        if (is_row_of(other, out)) {
            j.w = other->size;
        } else if (is_col_of(other, out) && other->size == n / out->shape[out->rank - 1]) {
            j.w = out->shape[out->rank - 1];
            j.col = true;
        } else {
            return false;
        }
        j.rows_per_task = j.w >= BLOCK ? 1 : BLOCK / j.w;
        tasks = (n / j.w + j.rows_per_task - 1) / j.rows_per_task;
    }
    if (n <= GT__PAR_MIN || tasks == 1) {
        for (int64_t t = 0; t < tasks; t++) arith_span(&j, t);
    } else {
        gt__par_for(tasks, 0, arith_task, &j);
    }
    return true;
}

/* Everything small_binary does not take: any dtype, broadcast walk, large sizes. Out of line
 * so that the small path needs no frame for the walk's context. */
static __attribute__((noinline)) void binary_general(gt__binop op, const gt_tensor *a,
                                                     const gt_tensor *b, gt_tensor *out) {
    int64_t n = out->size;
    bool sa = a->size == n, sb = b->size == n;
    bin_ctx c = {op, a, b, out};
    gt__run_fn fn = a->dtype == GT_F32   ? run_f32
                    : a->dtype == GT_F64 ? run_f64
                    : a->dtype == GT_I32 ? run_i32
                    : a->dtype == GT_I64 ? run_i64
                                         : run_bool;
    /* Small outputs with each operand full-size or a single element (the usual case): one
     * run, without the walk's set-up. */
    if (n <= GT__PAR_MIN && (sa || a->size == 1) && (sb || b->size == 1)) {
        int64_t off[3] = {0, 0, 0};
        int step[3] = {sa, sb, 0};
        if (n) fn(&c, 0, n, off, step);
        return;
    }
    const gt_tensor *in[2] = {a, b};
    gt__broadcast_walk(out, 2, in, fn, &c);
}

void gt__binary(gt__binop op, const gt_tensor *a, const gt_tensor *b, gt_tensor *out) {
    if (!small_binary(op, a, b, out) && !arith_f32(op, a, b, out)) binary_general(op, a, b, out);
}

/* acc += x in blocks (gt__add_inplace). */
typedef struct add_job {
    gt_tensor *acc;
    const gt_tensor *x;
} add_job;

static void add_range(gt_tensor *acc, const gt_tensor *x, int64_t lo, int64_t hi) {
    if (acc->dtype == GT_F32) {
        float *A = acc->data;
        const float *X = x->data;
        for (int64_t i = lo; i < hi; i++) A[i] = A[i] + X[i];
    } else {
        double *A = acc->data;
        const double *X = x->data;
        for (int64_t i = lo; i < hi; i++) A[i] = A[i] + X[i];
    }
}

static void add_task(void *ctx, int64_t b, int tid) {
    (void)tid;
    const add_job *j = ctx;
    const int64_t lo = b * BLOCK, hi = lo + BLOCK < j->acc->size ? lo + BLOCK : j->acc->size;
    add_range(j->acc, j->x, lo, hi);
}

/* acc += x elementwise, in place (same shape and dtype, float). The sum per element is the one
 * gt_add computes, so a gradient accumulated in place is bitwise the same. */
void gt__add_inplace(gt_tensor *acc, const gt_tensor *x) {
    const int64_t n = acc->size;
    if (n <= GT__PAR_MIN) {
        add_range(acc, x, 0, n);
        return;
    }
    add_job j = {acc, x};
    gt__par_for((n + BLOCK - 1) / BLOCK, 0, add_task, &j);
}

/* ---- select ------------------------------------------------------------------------------ */

typedef struct {
    const gt_tensor *c, *a, *b;
    gt_tensor *out;
    size_t es;
} sel_ctx;

static void run_select(void *ctx, int64_t o, int64_t n, const int64_t *off, const int *step) {
    const sel_ctx *s = ctx;
    const bool *C = (const bool *)s->c->data + off[0];
    const char *A = (const char *)s->a->data + (size_t)off[1] * s->es;
    const char *B = (const char *)s->b->data + (size_t)off[2] * s->es;
    char *O = (char *)s->out->data + (size_t)o * s->es;
    if (s->es == 4 && step[0] && step[1] && step[2]) {
        const float *fa = (const float *)(const void *)A, *fb = (const float *)(const void *)B;
        float *fo = (float *)(void *)O;
        for (int64_t i = 0; i < n; i++) fo[i] = C[i] ? fa[i] : fb[i];
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        bool k = C[step[0] ? i : 0];
        const char *src = k ? A + (size_t)(step[1] ? i : 0) * s->es : B + (size_t)(step[2] ? i : 0) * s->es;
        memcpy(O + (size_t)i * s->es, src, s->es);
    }
}

void gt__select(const gt_tensor *cond, const gt_tensor *a, const gt_tensor *b, gt_tensor *out) {
    sel_ctx s = {cond, a, b, out, gt_dtype_size(out->dtype)};
    const gt_tensor *in[3] = {cond, a, b};
    gt__broadcast_walk(out, 3, in, run_select, &s);
}

/* ---- conversion -------------------------------------------------------------------------- */

#define CONVERT_FROM(ST)                                                                         \
    do {                                                                                         \
        const ST *S = src;                                                                       \
        switch (to) {                                                                            \
        case GT_F32: for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = (float)S[i]; break;      \
        case GT_F64: for (int64_t i = 0; i < n; i++) ((double *)dst)[i] = (double)S[i]; break;    \
        case GT_I32: for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[i] = to_i32((double)S[i]); break; \
        case GT_I64: for (int64_t i = 0; i < n; i++) ((int64_t *)dst)[i] = to_i64((double)S[i]); break; \
        case GT_BOOL: for (int64_t i = 0; i < n; i++) ((bool *)dst)[i] = S[i] != 0; break;       \
        }                                                                                        \
    } while (0)

/* Float to int conversion truncates; out-of-range and NaN values saturate instead of being
 * undefined behaviour in C. */
static int32_t to_i32(double v) {
    if (v != v) return 0;
    if (v >= 2147483647.0) return INT32_MAX;
    if (v <= -2147483648.0) return INT32_MIN;
    return (int32_t)v;
}
static int64_t to_i64(double v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

void gt__convert(gt_dtype from, const void *src, gt_dtype to, void *dst, int64_t n) {
    if (from == to) {
        if (n) memcpy(dst, src, (size_t)n * gt_dtype_size(from));
        return;
    }
    if (from == GT_I64 && to == GT_I32) {
        for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[i] = (int32_t)(uint32_t)((const int64_t *)src)[i];
        return;
    }
    if (from == GT_I64 && to == GT_F64) {
        for (int64_t i = 0; i < n; i++) ((double *)dst)[i] = (double)((const int64_t *)src)[i];
        return;
    }
    switch (from) {
    case GT_F32: CONVERT_FROM(float); break;
    case GT_F64: CONVERT_FROM(double); break;
    case GT_I32: CONVERT_FROM(int32_t); break;
    case GT_I64: CONVERT_FROM(int64_t); break;
    case GT_BOOL: CONVERT_FROM(bool); break;
    }
}
