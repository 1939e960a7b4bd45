/* Jacobians (tape.jacobian, tape.batch_jacobian). Rows of the Jacobian are output gradients;
 * the vectorised form sends a block of rows back through the tape in one sweep, running each
 * batchable gradient rule once for the whole block (TensorFlow vectorises with pfor). */
#include "autodiff/tape_internal.h"

#include <stdlib.h>

/* Rows per sweep: enough to amortise the sweep, few enough that a block of gradients of the
 * largest tensor on the tape stays within ~16M elements. */
static int64_t block_rows(const gt_tape *t, int64_t rows) {
    int64_t big = 1;
    for (int64_t i = 0; i < t->ne; i++) {
        const gt__entry *e = &t->e[i];
        if (e->marker) continue;
        for (int k = 0; k < e->nin; k++) {
            int64_t n = 1;
            for (int d = 0; d < e->meta[k].rank; d++) n *= e->meta[k].shape[d];
            if (n > big) big = n;
        }
    }
    int64_t b = ((int64_t)1 << 24) / big;
    if (b < 1) b = 1;
    if (b > 512) b = 512;
    return b < rows ? b : rows;
}

/* A seed block [B, lead, ny] (lead = 1 for jacobian, the batch for batch_jacobian) with a one
 * for row r0 + i at position (i, *, r0 + i), reshaped to [B, *target]. */
static gt_tensor *seed_block(const gt_tensor *target, int64_t lead, int64_t ny, int64_t r0, int64_t B) {
    int64_t shape[3] = {B, lead, ny};
    gt_tensor *s = gt_zeros(target->dtype, 3, shape);
    if (!s) return NULL;
    for (int64_t i = 0; i < B; i++)
        for (int64_t l = 0; l < lead; l++) {
            int64_t at = (i * lead + l) * ny + r0 + i;
            if (target->dtype == GT_F32) ((float *)s->data)[at] = 1.0f;
            else ((double *)s->data)[at] = 1.0;
        }
    int64_t full[GT_MAX_RANK + 1];
    full[0] = B;
    memcpy(full + 1, target->shape, sizeof(int64_t) * (size_t)target->rank);
    return gt_reshape(s, target->rank + 1, full);
}

/* Rows [0, rows) of the (batch) Jacobian for each source: out[j] = [rows, *source] or NULL
 * when unconnected. */
static bool rows_of(gt_tape *t, const gt_tensor *target, int64_t lead, int64_t ny, int nsrc,
                    const gt_tensor *const *src, bool vectorize, gt_tensor **out) {
    int64_t rows = ny;
    int64_t B = vectorize ? block_rows(t, rows) : 1;
    int64_t nblocks = rows ? (rows + B - 1) / B : 0;
    gt_tensor **parts = gt__calloc((size_t)(nblocks * nsrc + nsrc), sizeof *parts, "a jacobian");
    if (!parts) return false;
    gt_tensor **res = parts + nblocks * nsrc;
    bool ok = true;
    for (int64_t b = 0; b < nblocks && ok; b++) {
        int64_t r0 = b * B, nb = rows - r0 < B ? rows - r0 : B;
        gt_tensor *seed = seed_block(target, lead, ny, r0, nb);
        if (!seed) {
            ok = false;
            break;
        }
        if (vectorize) {
            ok = gt__tape_sweep(t, 1, &target, (const gt_tensor *const *)&seed, nsrc, src, res, false, nb);
        } else {
            gt_tensor *one = gt_reshape(seed, target->rank, target->shape);
            ok = one && gt__tape_sweep(t, 1, &target, (const gt_tensor *const *)&one, nsrc, src, res, false, 0);
            for (int j = 0; j < nsrc && ok; j++) {
                if (!res[j]) continue;
                gt__scope_add(res[j]);
                res[j] = gt_retain(gt_expand_dims(res[j], 0));
                ok = res[j] != NULL;
            }
        }
        for (int j = 0; j < nsrc; j++) {
            parts[b * nsrc + j] = res[j];
            if (res[j]) gt__scope_add(res[j]); /* the current scope owns the block now */
        }
    }
    for (int j = 0; j < nsrc && ok; j++) {
        out[j] = NULL;
        bool any = false;
        for (int64_t b = 0; b < nblocks; b++) any |= parts[b * nsrc + j] != NULL;
        if (!any) continue;
        for (int64_t b = 0; b < nblocks && ok; b++) {
            if (parts[b * nsrc + j]) continue;
            int64_t r0 = b * B, nb = rows - r0 < B ? rows - r0 : B;
            int64_t sh[GT_MAX_RANK + 1];
            sh[0] = nb;
            memcpy(sh + 1, src[j]->shape, sizeof(int64_t) * (size_t)src[j]->rank);
            parts[b * nsrc + j] = gt_zeros(src[j]->dtype, src[j]->rank + 1, sh);
            ok = parts[b * nsrc + j] != NULL;
        }
        if (!ok) break;
        if (nblocks == 1) {
            out[j] = parts[j];
        } else {
            const gt_tensor **col = gt__malloc(sizeof *col * (size_t)nblocks, "a jacobian");
            if (!col) {
                ok = false;
                break;
            }
            for (int64_t b = 0; b < nblocks; b++) col[b] = parts[b * nsrc + j];
            out[j] = gt_concat((int)nblocks, col, 0);
            gt__free(col);
            ok = out[j] != NULL;
        }
    }
    gt__free(parts);
    return ok;
}

static bool check_args(const char *who, gt_tape *t, const gt_tensor *target, int nsrc,
                       const gt_tensor *const *src, const void *out) {
    if (!t) {
        gt__error("%s: tape is NULL", who);
        return false;
    }
    if (!target || nsrc < 0 || (nsrc && (!src || !out))) {
        gt__error_null(who);
        return false;
    }
    for (int j = 0; j < nsrc; j++) {
        if (!src[j]) {
            gt__error_null(who);
            return false;
        }
        if (target->rank + src[j]->rank > GT_MAX_RANK) {
            gt__error("%s: the Jacobian of a rank-%d target w.r.t. a rank-%d source would have "
                      "rank %d (the limit is %d)", who, target->rank, src[j]->rank,
                      target->rank + src[j]->rank, GT_MAX_RANK);
            return false;
        }
    }
    return true;
}

bool gt_tape_jacobian_ex(gt_tape *t, const gt_tensor *target, int nsrc,
                         const gt_tensor *const *src, gt_unconnected unconnected, bool vectorize,
                         gt_tensor **jac) {
    const char *who = "gt_tape_jacobian";
    for (int j = 0; jac && j < nsrc; j++) jac[j] = NULL;
    if (!check_args(who, t, target, nsrc, src, jac)) return false;
    if (unconnected != GT_UNCONNECTED_NONE && unconnected != GT_UNCONNECTED_ZERO) {
        gt__error("%s: Unknown value for unconnected_gradients: %d", who, (int)unconnected);
        return false;
    }
    if (!gt__tape_prepare(t, who)) return false;
    gt_tensor **rows = gt__calloc((size_t)(nsrc ? nsrc : 1), sizeof *rows, "a jacobian");
    if (!rows) return false;
    bool ok = !gt__is_float(target->dtype) ||
              rows_of(t, target, 1, target->size, nsrc, src, vectorize, rows);
    for (int j = 0; j < nsrc && ok; j++) {
        int64_t shape[GT_MAX_RANK];
        memcpy(shape, target->shape, sizeof(int64_t) * (size_t)target->rank);
        memcpy(shape + target->rank, src[j]->shape, sizeof(int64_t) * (size_t)src[j]->rank);
        int rank = target->rank + src[j]->rank;
        if (rows[j]) jac[j] = gt_reshape(rows[j], rank, shape);
        else if (unconnected == GT_UNCONNECTED_ZERO) jac[j] = gt_zeros(src[j]->dtype, rank, shape);
        ok = rows[j] == NULL ? (unconnected == GT_UNCONNECTED_NONE || jac[j]) : jac[j] != NULL;
    }
    gt__free(rows);
    if (!t->persistent) gt__tape_consume(t);
    if (!ok)
        for (int j = 0; j < nsrc; j++) jac[j] = NULL;
    return ok;
}

gt_tensor *gt_tape_jacobian(gt_tape *t, const gt_tensor *target, const gt_tensor *source) {
    gt_tensor *j = NULL;
    gt_tape_jacobian_ex(t, target, 1, &source, GT_UNCONNECTED_NONE, true, &j);
    return j;
}

bool gt_tape_batch_jacobian_ex(gt_tape *t, const gt_tensor *target, const gt_tensor *source,
                               bool vectorize, gt_tensor **out) {
    const char *who = "gt_tape_batch_jacobian";
    if (out) *out = NULL;
    if (!check_args(who, t, target, 1, &source, out)) return false;
    if (target->rank < 1 || source->rank < 1 || target->shape[0] != source->shape[0]) {
        char a[96], b[96];
        gt__error("%s: Need first dimension of target shape (%s) and source shape (%s) to match.",
                  who, gt__shape_str(a, sizeof a, target->rank, target->shape),
                  gt__shape_str(b, sizeof b, source->rank, source->shape));
        return false;
    }
    if (target->rank + source->rank - 1 > GT_MAX_RANK) {
        gt__error("%s: the result would have rank %d (the limit is %d)", who,
                  target->rank + source->rank - 1, GT_MAX_RANK);
        return false;
    }
    if (!gt__tape_prepare(t, who)) return false;
    int64_t b = target->shape[0], ny = b ? target->size / b : 0;
    gt_tensor *rows = NULL;
    bool ok = !gt__is_float(target->dtype) || rows_of(t, target, b, ny, 1, &source, vectorize, &rows);
    if (ok) {
        int64_t shape[GT_MAX_RANK];
        shape[0] = b;
        memcpy(shape + 1, target->shape + 1, sizeof(int64_t) * (size_t)(target->rank - 1));
        memcpy(shape + target->rank, source->shape + 1, sizeof(int64_t) * (size_t)(source->rank - 1));
        int rank = target->rank + source->rank - 1;
        if (rows) {
            /* rows is [ny, b, *x]: move the batch axis first. */
            int perm[GT_MAX_RANK + 1];
            perm[0] = 1;
            perm[1] = 0;
            for (int i = 2; i < rows->rank; i++) perm[i] = i;
            *out = gt_reshape(gt_transpose(rows, perm), rank, shape);
        } else {
            /* batch_jacobian always gives zeros for an unconnected source (TensorFlow). */
            *out = gt_zeros(source->dtype, rank, shape);
        }
        ok = *out != NULL;
    }
    if (!t->persistent) gt__tape_consume(t);
    return ok;
}

gt_tensor *gt_tape_batch_jacobian(gt_tape *t, const gt_tensor *target, const gt_tensor *source) {
    gt_tensor *j = NULL;
    gt_tape_batch_jacobian_ex(t, target, source, true, &j);
    return j;
}
