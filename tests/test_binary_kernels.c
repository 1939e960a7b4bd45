/* The float32 arithmetic kernels (add, sub, mul, div, maximum, minimum, squared_difference)
 * take a fast path when each operand is full-size, a single element, a row of the other
 * ([M, N] op [N]) or a column of it ([M, N] op [M, 1]), and the general broadcast walk
 * otherwise. Every case is checked here element by element against the scalar formula with
 * the broadcast index computed independently, on both sides of each size threshold (the
 * small path's 256 elements, the thread split's 32768), with rows narrower and wider than a
 * task's block, at 1, 2 and 3 threads. Elementwise IEEE results are exact, so the comparison
 * is bitwise, except that two NaNs compare equal whatever their payloads (the compiler may
 * commute an addition's operands, which picks the other NaN's payload). */
#include "gtt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef gt_tensor *(*binop_fn)(const gt_tensor *, const gt_tensor *);

static const struct {
    const char *name;
    binop_fn fn;
} OPS[] = {
    {"add", gt_add},           {"sub", gt_sub},         {"mul", gt_mul},
    {"div", gt_div},           {"maximum", gt_maximum}, {"minimum", gt_minimum},
    {"squared_difference", gt_squared_difference},
};

/* The scalar formulas, as TensorFlow defines them (maximum/minimum propagate a NaN). */
static float ref_op(int k, float x, float y) {
    switch (k) {
    case 0: return x + y;
    case 1: return x - y;
    case 2: return x * y;
    case 3: return x / y;
    case 4: return isnan(x) || isnan(y) ? NAN : x >= y ? x : y;
    case 5: return isnan(x) || isnan(y) ? NAN : x <= y ? x : y;
    default: return (x - y) * (x - y);
    }
}

static bool same(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0; /* bitwise: tells -0 from +0 */
}

/* Values with ties, signed zeros, infinities and NaNs among ordinary numbers. */
static gt_tensor *values(int rank, const int64_t *shape, uint64_t seed) {
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= shape[d];
    float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    const float special[] = {0.0f, -0.0f, 1.0f, INFINITY, -INFINITY, NAN, 2.5f};
    uint64_t r = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        /* one in 16 special, else a multiple of 1/8 in [-4, 4): ties between operands */
        p[i] = (r >> 60) == 0 ? special[(r >> 32) % 7] : (float)((int)((r >> 33) % 64) - 32) / 8;
    }
    gt_tensor *t = gt_tensor_new(GT_F32, rank, shape, p);
    free(p);
    return t;
}

/* The flat index into x (shape xs, rank xr) of out's element i under TensorFlow broadcasting. */
static int64_t bcast_index(int64_t i, int orank, const int64_t *os, int xr, const int64_t *xs) {
    int64_t idx = 0, stride = 1;
    for (int d = orank - 1; d >= 0; d--) {
        const int64_t c = i % os[d];
        i /= os[d];
        const int xd = d - (orank - xr);
        if (xd < 0) continue;
        if (xs[xd] != 1) idx += c * stride;
        stride *= xs[xd];
    }
    return idx;
}

static void check_case(int ar, const int64_t *as, int br, const int64_t *bs, const char *what) {
    gt_scope_begin();
    gt_tensor *a = values(ar, as, 11 + (uint64_t)ar), *b = values(br, bs, 29 + (uint64_t)br);
    const float *A = gt_tensor_data(a), *B = gt_tensor_data(b);
    for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++) {
        for (int threads = 1; threads <= 3; threads++) {
            gt_set_num_threads(threads);
            gt_tensor *y = OPS[k].fn(a, b);
            if (!y) {
                GTT_CHECK(false, "%s %s: %s", OPS[k].name, what, gt_error());
                gt_error_clear();
                continue;
            }
            const int orank = gt_tensor_rank(y);
            const int64_t *os = gt_tensor_shape(y);
            const float *Y = gt_tensor_data(y);
            int64_t bad = -1;
            for (int64_t i = 0; i < gt_tensor_size(y) && bad < 0; i++) {
                const float want = ref_op((int)k, A[bcast_index(i, orank, os, ar, as)],
                                          B[bcast_index(i, orank, os, br, bs)]);
                if (!same(Y[i], want)) bad = i;
            }
            GTT_CHECK(bad < 0, "%s %s, %d threads: element %lld is %g, want %g", OPS[k].name,
                      what, threads, (long long)bad, bad < 0 ? 0.0 : (double)Y[bad],
                      bad < 0 ? 0.0
                              : (double)ref_op((int)k, A[bcast_index(bad, orank, os, ar, as)],
                                               B[bcast_index(bad, orank, os, br, bs)]));
        }
    }
    gt_set_num_threads(0);
    gt_scope_end();
}

#define CASE(A, B) check_case(sizeof(int64_t[]) A / sizeof(int64_t), (int64_t[]) A, \
                              sizeof(int64_t[]) B / sizeof(int64_t), (int64_t[]) B, #A " op " #B)
#define S(...) {__VA_ARGS__}

int main(void) {
    /* flat: same shapes and scalars, below and above the small and parallel thresholds */
    CASE(S(255), S(255));
    CASE(S(257), S(257));
    CASE(S(40001), S(40001));
    CASE(S(3, 70001), S(1));
    CASE(S(1), S(300, 300));
    /* rows ([M, N] op [N]): narrow, the dense-layer shape, wider than a task's block */
    CASE(S(40, 7), S(7));
    CASE(S(7), S(40, 7));
    CASE(S(128, 10), S(10));
    CASE(S(128, 256), S(256));
    CASE(S(256), S(128, 256));
    CASE(S(3, 20000), S(20000));
    CASE(S(5000, 13), S(1, 13));
    CASE(S(4, 30, 17), S(30, 17)); /* a row of two dimensions, repeated over the first */
    CASE(S(6, 700, 9), S(9));
    /* columns ([M, N] op [M, 1]) */
    CASE(S(128, 10), S(128, 1));
    CASE(S(300, 1), S(300, 200));
    CASE(S(2, 400, 50), S(2, 400, 1));
    CASE(S(7, 5000), S(7, 1));
    /* not a row or a column: the general walk */
    CASE(S(4, 400, 30), S(400, 1));  /* a column repeated over a leading axis */
    CASE(S(50, 1, 30), S(50, 20, 30));
    CASE(S(300, 1), S(1, 300));      /* outer */
    CASE(S(20, 30, 40), S(20, 1, 40));
    return gtt_finish();
}
