/* The one path every op takes: NULL propagation, variable reads, the shape rule, allocation,
 * the forward kernel and recording on tapes. */
#include "core/internal.h"

#include <stdlib.h>

/* Inputs after variable reads; thread-local so applying an op never mallocs. Forward kernels
 * never apply other ops, so one buffer per thread suffices. */
static _Thread_local gt_tensor **scratch;
static _Thread_local int64_t scratch_cap;

gt_tensor *gt__apply(const gt__op *op, int nin, const gt_tensor *const *in_, const void *attr) {
    if (nin < 0 || (nin > 0 && !in_)) {
        gt__error("%s: invalid input list", op->name);
        return NULL;
    }
    for (int i = 0; i < nin; i++) {
        if (!in_[i]) {
            gt__error_null(op->name);
            return NULL;
        }
    }
    if (GT__UNLIKELY(nin > scratch_cap) &&
        !gt__grow((void **)&scratch, &scratch_cap, nin, sizeof *scratch, "op inputs"))
        return NULL;
    gt_tensor **in = scratch;
    for (int i = 0; i < nin; i++) {
        in[i] = in_[i]->var ? gt__var_read(in_[i]) : (gt_tensor *)in_[i];
        if (!in[i]) return NULL;
    }
    gt__call c; /* field by field: zero-initialising the shape array costs a `rep stos` */
    c.op = op;
    c.nin = nin;
    c.in = in;
    c.attr = attr;
    c.out = NULL;
    c.aux = NULL;
    if (!op->infer(&c)) return NULL;
    if (op->flags & GT__OP_ALIAS) {
        c.out = gt__tensor_alias(in[0], c.rank, c.shape);
        if (!c.out) return NULL;
    } else {
        c.out = gt__tensor_alloc(c.dtype, c.rank, c.shape);
        if (!c.out) return NULL;
        op->forward(&c);
    }
    if (gt__tapes_active) gt__tape_record(&c);
    if (gt__accs_active) gt__forward_record(&c);
    return c.out;
}

/* ---- broadcasting ------------------------------------------------------------------------ */

bool gt__broadcast_shape(const char *who, int ra, const int64_t *sa, int rb, const int64_t *sb,
                         int *rank, int64_t *shape) {
    if (ra == rb) { /* the common case: equal shapes */
        int i = 0;
        while (i < ra && sa[i] == sb[i]) i++;
        if (i == ra) {
            for (int j = 0; j < ra; j++) shape[j] = sa[j];
            *rank = ra;
            return true;
        }
    }
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            gt__error("%s: shapes %s and %s are not broadcastable (dimension %lld vs %lld); "
                      "dimensions must be equal or one of them 1",
                      who, gt__shape_str((char[96]){0}, 96, ra, sa),
                      gt__shape_str((char[96]){0}, 96, rb, sb), (long long)da, (long long)db);
            return false;
        }
        shape[i] = da == 1 ? db : da;
    }
    *rank = r;
    return true;
}

gt_tensor *gt__sum_to_shape(gt_tensor *g, int rank, const int64_t *shape) {
    if (!g) return NULL;
    if (g->rank == rank && !memcmp(g->shape, shape, sizeof(int64_t) * (size_t)rank)) return g;
    int axes[GT_MAX_RANK], n = 0;
    int lead = g->rank - rank;
    if (lead < 0) {
        gt__error("internal: gradient of shape %s cannot be reduced to rank %d", GT__SHAPE_STR(g), rank);
        return NULL;
    }
    for (int i = 0; i < g->rank; i++) {
        int j = i - lead;
        if (j < 0 || (shape[j] == 1 && g->shape[i] != 1)) axes[n++] = i;
    }
    gt_tensor *s = n ? gt_reduce_sum(g, n, axes, true) : g;
    return gt_reshape(s, rank, shape);
}
