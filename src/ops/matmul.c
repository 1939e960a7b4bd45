/* matmul: rank-2 and batched (BatchMatMulV2) matrix products with transpose flags.
 *
 * Batch axes (all but the last two) broadcast as in TensorFlow. The gradient is TensorFlow's
 * _MatMulGrad table written with gt_matmul itself, so higher orders work; with broadcast batch
 * axes the gradients come out in the output's batch shape and the tape sums them down. */
#include "kernels/conv.h"  /* gt__bias_act_rows */
#include "kernels/gemm.h"
#include "ops/registry.h"

#include <stdio.h>

typedef struct mm_attr {
    bool ta, tb;
} mm_attr;

/* The shape rule of a (transposed) product of c's first two inputs into c's output. */
static bool mm_shape(gt__call *c, const mm_attr *at) {
    const char *who = "gt_matmul";
    const gt_tensor *a = c->in[0], *b = c->in[1];
    const gt_tensor *ops[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (ops[i]->rank < 2) {
            const char *nm = i ? "b" : "a";
            gt__error("%s: %s has rank %d (shape %s); matmul needs rank >= 2 for both operands, "
                      "as in TensorFlow: use gt_expand_dims(%s, 0) to make a row vector or "
                      "gt_expand_dims(%s, -1) a column vector", who, nm, ops[i]->rank,
                      GT__SHAPE_STR(ops[i]), nm, nm);
            return false;
        }
    }
    if (a->dtype != b->dtype) {
        gt__error("%s: operands have different dtypes (%s and %s); TensorFlow does not promote "
                  "dtypes: convert one with gt_cast", who, gt_dtype_name(a->dtype),
                  gt_dtype_name(b->dtype));
        return false;
    }
    if (!gt__is_float(a->dtype)) {
        gt__error("%s: dtype %s is not supported: gradtape's matmul takes float32 or float64 "
                  "(TensorFlow also has integer matmul; convert with gt_cast(x, GT_F32))", who,
                  gt_dtype_name(a->dtype));
        return false;
    }
    int ra = a->rank, rb = b->rank;
    int64_t m = at->ta ? a->shape[ra - 1] : a->shape[ra - 2];
    int64_t ka = at->ta ? a->shape[ra - 2] : a->shape[ra - 1];
    int64_t kb = at->tb ? b->shape[rb - 1] : b->shape[rb - 2];
    int64_t n = at->tb ? b->shape[rb - 2] : b->shape[rb - 1];
    if (ka != kb) {
        gt__error("%s: inner dimensions differ: %s%s x %s%s (%lld != %lld)", who, GT__SHAPE_STR(a),
                  at->ta ? " (transposed)" : "", GT__SHAPE_STR(b), at->tb ? " (transposed)" : "",
                  (long long)ka, (long long)kb);
        return false;
    }
    int r = (ra > rb ? ra : rb) - 2;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - (ra - 2)), ib = i - (r - (rb - 2));
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            gt__error("%s: batch dimensions %s of a and %s of b do not broadcast (%lld vs %lld); "
                      "each pair must be equal or one of them 1", who,
                      gt__shape_str((char[96]){0}, 96, ra - 2, a->shape),
                      gt__shape_str((char[96]){0}, 96, rb - 2, b->shape), (long long)da,
                      (long long)db);
            return false;
        }
        c->shape[i] = da == 1 ? db : da;
    }
    c->shape[r] = m;
    c->shape[r + 1] = n;
    c->rank = r + 2;
    c->dtype = a->dtype;
    int64_t size;
    return gt__check_shape(who, c->rank, c->shape, &size);
}

static bool mm_infer(gt__call *c) {
    return mm_shape(c, c->attr);
}

/* Batch strides (in elements) of an operand in output batch coordinates; 0 where it
 * broadcasts. */
static void batch_strides(const gt_tensor *t, int rb, int64_t mat, int64_t *st) {
    int rt = t->rank - 2;
    int64_t s = mat;
    for (int i = rb - 1; i >= 0; i--) {
        int it = i - (rb - rt);
        int64_t d = it >= 0 ? t->shape[it] : 1;
        st[i] = d == 1 ? 0 : s;
        s *= d;
    }
}

static void gemm_any(gt_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                     const void *a, int64_t lda, const void *b, int64_t ldb, void *c) {
    if (dt == GT_F32)
        gt__gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
    else
        gt__gemm_f64(ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, n);
}

/* Product t of a batched matmul (batch index t decoded into both operands' strides). */
static void batch_product(const mm_attr *at, const gt_tensor *a, const gt_tensor *b, gt_tensor *y,
                          int r, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                          const int64_t *sa, const int64_t *sb, int64_t t) {
    size_t es = gt_dtype_size(y->dtype);
    int64_t oa = 0, ob = 0, rem = t;
    for (int i = r - 1; i >= 0; i--) {
        int64_t idx = rem % y->shape[i];
        rem /= y->shape[i];
        oa += idx * sa[i];
        ob += idx * sb[i];
    }
    gemm_any(y->dtype, at->ta, at->tb, m, n, k, (const char *)a->data + (size_t)oa * es, lda,
             (const char *)b->data + (size_t)ob * es, ldb, (char *)y->data + (size_t)(t * m * n) * es);
}

/* The batch of products, one per task (batch_product's arguments). */
typedef struct batch_job {
    const mm_attr *at;
    const gt_tensor *a, *b;
    gt_tensor *y;
    int r;
    int64_t m, n, k, lda, ldb;
    const int64_t *sa, *sb;
} batch_job;

static void batch_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const batch_job *j = ctx;
    batch_product(j->at, j->a, j->b, j->y, j->r, j->m, j->n, j->k, j->lda, j->ldb, j->sa, j->sb, t);
}

static void mm_forward(gt__call *c) {
    const gt_tensor *a = c->in[0], *b = c->in[1];
    const mm_attr *at = c->attr;
    gt_tensor *y = c->out;
    if (y->size == 0) return;
    size_t es = gt_dtype_size(y->dtype);
    int ra = a->rank, rb = b->rank, r = y->rank - 2;
    int64_t m = y->shape[r], n = y->shape[r + 1];
    int64_t k = at->ta ? a->shape[ra - 2] : a->shape[ra - 1];
    if (k == 0) { /* an empty sum: zeros, whatever the kernel would do with beta */
        memset(y->data, 0, (size_t)y->size * es);
        return;
    }
    int64_t lda = a->shape[ra - 1], ldb = b->shape[rb - 1];
    int64_t nbatch = y->size / (m * n);
    int64_t nb_b = b->size / (k * n);
    /* One product with a's batch folded into its rows: every Dense layer on a rank-3 input. */
    if (nb_b == 1 && !at->ta) {
        gemm_any(y->dtype, false, at->tb, nbatch * m, n, k, a->data, lda, b->data, ldb, y->data);
        return;
    }
    int64_t sa[GT_MAX_RANK], sb[GT_MAX_RANK];
    batch_strides(a, r, m * k, sa);
    batch_strides(b, r, k * n, sb);
    /* Many small products: one per thread (the kernel then runs single-threaded, and gives the
     * same bits as when it runs alone). Large products parallelise inside the kernel. */
    double macs = (double)m * (double)n * (double)k;
    bool par = nbatch > 1 && macs < 262144.0 && macs * (double)nbatch > 262144.0 &&
               (y->dtype == GT_F64 || strcmp(gt__gemm_backend(), "blas") != 0);
    if (!par) {
        for (int64_t t = 0; t < nbatch; t++) batch_product(at, a, b, y, r, m, n, k, lda, ldb, sa, sb, t);
        return;
    }
    batch_job j = {at, a, b, y, r, m, n, k, lda, ldb, sa, sb};
    gt__par_for(nbatch, 0, batch_task, &j);
}

/* TensorFlow's _MatMulGrad (and _BatchMatMulV2Grad) for the four transpose combinations. */
static void mm_grad(gt__gctx *g) {
    const mm_attr *at = g->attr;
    gt_tensor *a = g->in[0], *b = g->in[1], *gy = g->gy;
    if (!at->ta && !at->tb) {
        if (g->need[0]) g->gx[0] = gt_matmul(gy, b, false, true);
        if (g->need[1]) g->gx[1] = gt_matmul(a, gy, true, false);
    } else if (!at->ta && at->tb) {
        if (g->need[0]) g->gx[0] = gt_matmul(gy, b, false, false);
        if (g->need[1]) g->gx[1] = gt_matmul(gy, a, true, false);
    } else if (at->ta && !at->tb) {
        if (g->need[0]) g->gx[0] = gt_matmul(b, gy, false, true);
        if (g->need[1]) g->gx[1] = gt_matmul(a, gy, false, false);
    } else {
        if (g->need[0]) g->gx[0] = gt_matmul(b, gy, true, true);
        if (g->need[1]) g->gx[1] = gt_matmul(gy, a, true, true);
    }
}

const gt__op gt__op_matmul = {.name = "matmul", .nin = 2, .flags = GT__OP_BATCHABLE, .keep_in = 3u,
                              .attr_size = sizeof(mm_attr), .infer = mm_infer,
                              .forward = mm_forward, .grad = mm_grad};

gt_tensor *gt_matmul(const gt_tensor *a, const gt_tensor *b, bool transpose_a, bool transpose_b) {
    mm_attr at;
    memset(&at, 0, sizeof at);
    at.ta = transpose_a;
    at.tb = transpose_b;
    return gt__apply2(&gt__op_matmul, a, b, &at);
}

/* ---- matmul_bias_act (inputs: x [m, k], w [k, n], bias [n]): act(x w + bias) ------------- */

typedef struct mmb_attr {
    bool relu;
} mmb_attr;

static bool mmb_infer(gt__call *c) {
    const char *who = "gt_matmul_bias_act";
    const gt_tensor *x = c->in[0], *w = c->in[1], *b = c->in[2];
    if (x->rank != 2 || w->rank != 2) {
        gt__error("%s: x has shape %s and w %s; both must be matrices ([m, k] and [k, n]); use "
                  "gt_matmul and gt_add for batched products",
                  who, GT__SHAPE_STR(x), GT__SHAPE_STR(w));
        return false;
    }
    if (!mm_shape(c, &(const mm_attr){false, false}))
        return false;
    if (b->rank != 1 || b->shape[0] != c->shape[1] || b->dtype != c->dtype) {
        gt__error("%s: bias has shape %s and dtype %s but must be [%lld] of %s (one per output "
                  "column, the product's dtype)",
                  who, GT__SHAPE_STR(b), gt_dtype_name(b->dtype), (long long)c->shape[1],
                  gt_dtype_name(c->dtype));
        return false;
    }
    return true;
}

static void mmb_forward(gt__call *c) {
    const gt_tensor *x = c->in[0], *w = c->in[1];
    gt_tensor *y = c->out;
    const int64_t m = y->shape[0], n = y->shape[1], k = x->shape[1];
    if (y->size == 0) return;
    if (k == 0)
        memset(y->data, 0, (size_t)y->size * gt_dtype_size(y->dtype));
    else
        gemm_any(y->dtype, false, false, m, n, k, x->data, k, w->data, n, y->data);
    gt__bias_act_rows(y->dtype, y->data, m, n, c->in[2]->data, ((const mmb_attr *)c->attr)->relu);
}

/* z = x w + b, y = relu(z): dz = relu_grad(dy, y) (TensorFlow's ReluGrad on the output, whose
 * sign is z's), then exactly the rules of the separate ops: the bias' sum over the rows and
 * matmul's two products. */
static void mmb_grad(gt__gctx *g) {
    gt_tensor *dz = g->gy;
    if (((const mmb_attr *)g->attr)->relu)
        dz = gt__relu_grad(g->gy, g->out);
    if (g->need[0]) g->gx[0] = gt_matmul(dz, g->in[1], false, true);
    if (g->need[1]) g->gx[1] = gt_matmul(g->in[0], dz, true, false);
    if (g->need[2]) g->gx[2] = gt_reduce_sum(dz, GT_AXES(0), false);
}

const gt__op gt__op_matmul_bias_act = {.name = "matmul_bias_act",
                                       .nin = 3,
                                       .keep_in = 3u,
                                       .keep_out = true,
                                       .attr_size = sizeof(mmb_attr),
                                       .infer = mmb_infer,
                                       .forward = mmb_forward,
                                       .grad = mmb_grad};

gt_tensor *gt_matmul_bias_act(const gt_tensor *x, const gt_tensor *w, const gt_tensor *bias,
                              bool relu) {
    mmb_attr at = {relu};
    return gt__apply(&gt__op_matmul_bias_act, 3, (const gt_tensor *const[]){x, w, bias}, &at);
}

const gt__op *const gt__ops_matmul[] = {&gt__op_matmul, &gt__op_matmul_bias_act};
const int gt__ops_matmul_n = (int)(sizeof gt__ops_matmul / sizeof *gt__ops_matmul);
