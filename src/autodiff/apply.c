/* The one path every op takes: NULL propagation, variable reads, the shape rule, allocation,
 * the forward kernel and recording on tapes. */
#include "core/internal.h"

#include <stdlib.h>

/* Inputs after variable reads, for ops with more inputs than fit on the stack; thread-local
 * so applying an op never mallocs. Forward kernels never apply other ops, so one buffer per
 * thread suffices. */
static _Thread_local gt_tensor **scratch;
static _Thread_local int64_t scratch_cap;

#define GT__APPLY_INLINE 4

static inline gt_tensor *apply(const gt__op *op, int nin, const gt_tensor *const *in_,
                               const void *attr) {
    if (GT__UNLIKELY(nin < 0 || (nin > 0 && !in_))) {
        gt__error("%s: invalid input list", op->name);
        return NULL;
    }
    bool any_var = false;
    for (int i = 0; i < nin; i++) {
        if (GT__UNLIKELY(!in_[i])) {
            gt__error_null(op->name);
            return NULL;
        }
        any_var |= in_[i]->var != NULL;
    }
    /* Without variables the caller's array serves as it is; variables are replaced by their
     * snapshots (recorded reads) in a copy. */
    gt_tensor *inl[GT__APPLY_INLINE];
    gt_tensor **in = (gt_tensor **)in_;
    if (any_var) {
        in = inl;
        if (nin > GT__APPLY_INLINE) {
            if (GT__UNLIKELY(nin > scratch_cap) &&
                !gt__grow((void **)&scratch, &scratch_cap, nin, sizeof *scratch, "op inputs"))
                return NULL;
            in = scratch;
        }
        for (int i = 0; i < nin; i++) {
            in[i] = in_[i]->var ? gt__var_read(in_[i]) : (gt_tensor *)in_[i];
            if (!in[i]) return NULL;
        }
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

/* Profiled, an op's row gets its whole cost: variable reads, shape rule, allocation, kernel and
 * recording on tapes. */
static gt_tensor *apply_profiled(const gt__op *op, int nin, const gt_tensor *const *in,
                                 const void *attr) {
    const double t0 = gt__prof_now();
    gt_tensor *out = apply(op, nin, in, attr);
    gt__prof_add(op->name, gt__prof_grad ? GT__PROF_GRADIENT : GT__PROF_FORWARD,
                 gt__prof_now() - t0);
    return out;
}

gt_tensor *gt__apply(const gt__op *op, int nin, const gt_tensor *const *in, const void *attr) {
    if (gt__profiling())
        return apply_profiled(op, nin, in, attr);
    return apply(op, nin, in, attr);
}

/* ---- broadcasting ------------------------------------------------------------------------ */

bool gt__broadcast_shape_slow(const char *who, int ra, const int64_t *sa, int rb,
                              const int64_t *sb, int *rank, int64_t *shape) {
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
    if (g->rank == rank) { /* already the right shape: the usual case, checked without memcmp */
        int i = 0;
        while (i < rank && g->shape[i] == shape[i]) i++;
        if (i == rank) return g;
    }
    int axes[GT_MAX_RANK], n = 0;
    int lead = g->rank - rank;
    if (lead < 0) {
        gt__error("internal: gradient of shape %s cannot be reduced to rank %d", GT__SHAPE_STR(g), rank);
        return NULL;
    }
    bool inner = false; /* a reduced axis among the target's own (not a leading one) */
    for (int i = 0; i < g->rank; i++) {
        int j = i - lead;
        if (j < 0 || (shape[j] == 1 && g->shape[i] != 1)) {
            axes[n++] = i;
            inner |= j >= 0;
        }
    }
    /* Only leading axes summed (a bias's gradient): the sum without kept axes has the target
     * shape already, so no reshape op is needed. */
    if (n && !inner) return gt_reduce_sum(g, n, axes, false);
    gt_tensor *s = n ? gt_reduce_sum(g, n, axes, true) : g;
    return gt_reshape(s, rank, shape);
}
