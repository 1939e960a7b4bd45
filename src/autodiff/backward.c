/* The backward sweep (TensorFlow's ComputeGradient) and explanations for NULL gradients. */
#include "autodiff/tape_internal.h"
#include "kernels/binary.h"

#include <stdio.h>

/* Whether the sweep may add into t in place: nothing else holds t or its buffer (one
 * reference, ours), and no tape or accumulator is watching, so the sum need not be a recorded
 * op. The acquire loads pair with the releases of any other holder that has let go. */
static bool owned_sum(const gt_tensor *t, const gt_tensor *x) {
    return !gt__tapes_active && !gt__accs_active && !t->var &&
           atomic_load_explicit(&((gt_tensor *)t)->refs, memory_order_acquire) == 1 &&
           atomic_load_explicit(&t->storage->refs, memory_order_acquire) == 1 &&
           t->dtype == x->dtype && gt__is_float(t->dtype) && gt__same_shape(t, x);
}

/* Adds x into *acc: the first contribution is taken as it is, later ones are summed, in place
 * when the sum is the sweep's own (same order and arithmetic as gt_add, so the same bits).
 * The accumulator owns one reference. */
static bool accumulate(gt_tensor **acc, gt_tensor *x) {
    if (!*acc) {
        *acc = gt__retain(x);
        return true;
    }
    if (owned_sum(*acc, x)) {
        gt__add_inplace(*acc, x);
        return true;
    }
    gt_tensor *s = gt_add(*acc, x);
    if (!s) return false;
    gt__tensor_unref(*acc);
    *acc = gt__retain(s);
    return true;
}

static const char *var_label(const gt_tensor *v, char *buf, size_t n) {
    if (v->var) snprintf(buf, n, "variable '%s'", gt_variable_path(v));
    else snprintf(buf, n, "the source tensor (shape %s)", GT__SHAPE_STR(v));
    return buf;
}

/* Finds why source (slot s, or -1) gets no gradient from the targets, in words. */
static void explain(gt_tape *t, const gt_tensor *src, int32_t s, int nt,
                    const gt_tensor *const *targets, char *out, size_t n) {
    char who[160];
    var_label(src, who, sizeof who);
    if (!gt__is_float(src->dtype)) {
        snprintf(out, n, "%s has dtype %s: only float32 and float64 tensors have gradients "
                 "(cast it with gt_cast(x, GT_F32) before computing with it)",
                 who, gt_dtype_name(src->dtype));
        return;
    }
    if (s < 0) {
        if (src->var && !gt_variable_trainable(src))
            snprintf(out, n, "%s is not trainable, so tapes do not watch it when it is read: "
                     "call gt_tape_watch(tape, v)", who);
        else if (src->var && !t->watch_vars)
            snprintf(out, n, "%s was never watched: this tape does not watch accessed variables "
                     "(dont_watch_accessed_variables), so call gt_tape_watch(tape, v)", who);
        else if (src->var)
            snprintf(out, n, "%s was never read while this tape was recording (read it between "
                     "gt_tape_begin and gt_tape_end, and not while the tape is paused)", who);
        else
            snprintf(out, n, "%s was never watched by this tape: call gt_tape_watch(tape, x) "
                     "before computing with x, or make x a variable", who);
        return;
    }
    /* Forward reachability over every entry, markers included, remembering the first marker
     * on some path to each slot. */
    int64_t ns = t->ns;
    int32_t *block = gt__tape_scratch(t, sizeof(int32_t) * (size_t)ns * 2);
    if (!block) {
        snprintf(out, n, "%s: no explanation (out of memory)", who);
        return;
    }
    int32_t *reach = block + ns;
    for (int64_t i = 0; i < ns; i++) reach[i] = 0, block[i] = -1;
    reach[s] = 1;
    for (int64_t i = 0; i < t->ne; i++) {
        gt__entry *e = &t->e[i];
        for (int k = 0; k < e->nin; k++) {
            int32_t q = e->in_slot[k];
            if (q < 0 || !reach[q]) continue;
            reach[e->out_slot] = 1;
            int32_t b = block[q] >= 0 ? block[q] : (e->marker ? (int32_t)i : -1);
            if (block[e->out_slot] < 0) block[e->out_slot] = b;
        }
    }
    for (int j = 0; j < nt; j++) {
        int32_t q = gt__tape_find(t, targets[j]);
        if (q < 0 || !reach[q]) continue;
        if (block[q] < 0) {
            snprintf(out, n, "%s reaches the target, but the gradient rules on the path give "
                     "no gradient for it (an index or label input)", who);
            return;
        }
        const gt__entry *e = &t->e[block[q]];
        const char *op = e->op->name;
        switch (e->marker) {
        case GT__WHY_STOP:
            snprintf(out, n, "%s reaches the target only through stop_gradient, which blocks "
                     "gradients", who);
            return;
        case GT__WHY_PAUSED:
            snprintf(out, n, "%s reaches the target only through '%s', computed while the tape "
                     "was paused (gt_tape_pause), so it was not recorded", who, op);
            return;
        case GT__WHY_NONDIFF:
            snprintf(out, n, "%s reaches the target only through '%s', which is not "
                     "differentiable", who, op);
            return;
        default:
            snprintf(out, n, "%s reaches the target only through '%s', whose output is an "
                     "integer or bool: gradients stop at integer dtypes", who, op);
            return;
        }
    }
    snprintf(out, n, "the targets do not depend on %s in the ops this tape recorded (was the "
             "target computed before the tape began, or from a copy?)", who);
}

static void add_why(gt_tape *t, uint64_t id, const char *msg) {
    if (!gt__grow((void **)&t->why, &t->whycap, t->nwhy + 1, sizeof *t->why, "a tape")) return;
    t->why[t->nwhy].id = id;
    snprintf(t->why[t->nwhy].msg, sizeof t->why[t->nwhy].msg, "%s", msg);
    t->nwhy++;
}

const char *gt_tape_explain(const gt_tape *t, const gt_tensor *source) {
    if (!t || !source) return NULL;
    for (int64_t i = 0; i < t->nwhy; i++)
        if (t->why[i].id == source->id) return t->why[i].msg;
    return NULL;
}

/* Sums a batched gradient g = [B, *rest] down to [B, *m->shape]: the batch axis stays, the
 * rest is un-broadcast right-aligned as in gt__sum_to_shape. */
static gt_tensor *sum_to_batched(gt_tensor *g, int64_t B, const gt__meta *m) {
    if (!g) return NULL;
    int64_t want[GT_MAX_RANK + 1];
    want[0] = B;
    memcpy(want + 1, m->shape, sizeof(int64_t) * (size_t)m->rank);
    if (m->rank + 1 > GT_MAX_RANK) {
        gt__error("jacobian: a source of rank %d leaves no room for the row axis (rank limit %d)",
                  m->rank, GT_MAX_RANK);
        return NULL;
    }
    if (g->rank <= m->rank) {
        /* No row axis: the rule's result does not depend on the upstream gradient, which for
         * a rule linear in it means zeros (sign, relu_grad's mask input): the same in every
         * row. */
        int64_t one[GT_MAX_RANK + 1];
        one[0] = 1;
        for (int i = 0; i < m->rank; i++) one[1 + i] = m->shape[i];
        gt_tensor *s = gt__sum_to_shape(g, m->rank, m->shape);
        return gt_broadcast_to(gt_reshape(s, m->rank + 1, one), m->rank + 1, want);
    }
    if (g->shape[0] != B) {
        gt__error("internal: a batched gradient of shape %s lacks its leading row axis of %lld",
                  GT__SHAPE_STR(g), (long long)B);
        return NULL;
    }
    int rest = g->rank - 1;
    if (rest < m->rank) {
        /* The rule gave a smaller (broadcastable) shape: put the missing axes after the row
         * axis, then broadcast. */
        int64_t sh[GT_MAX_RANK];
        sh[0] = B;
        for (int i = 0; i < m->rank - rest; i++) sh[1 + i] = 1;
        memcpy(sh + 1 + m->rank - rest, g->shape + 1, sizeof(int64_t) * (size_t)rest);
        return gt_broadcast_to(gt_reshape(g, m->rank + 1, sh), m->rank + 1, want);
    }
    int axes[GT_MAX_RANK], n = 0;
    for (int i = 1; i < g->rank; i++) {
        int j = i - 1 - (rest - m->rank);
        if (j < 0 || (m->shape[j] == 1 && g->shape[i] != 1)) axes[n++] = i;
    }
    gt_tensor *s = n ? gt_reduce_sum(g, n, axes, true) : g;
    return gt_reshape(s, m->rank + 1, want);
}

static bool run_rule(gt__entry *e, gt_tensor *gy, const bool *need, gt_tensor **gx, int64_t B);

/* Runs e's gradient rule on gy and reduces each wanted gx to its input's shape (with the
 * leading row axis when B > 0). A rule not marked batchable runs once per row. */
static bool run_rule_ops(gt__entry *e, gt_tensor *gy, const bool *need, gt_tensor **gx,
                         int64_t B) {
    int nin = e->nin;
    if (!B || (e->op->flags & GT__OP_BATCHABLE)) {
        gt__gctx c = {.op = e->op, .nin = nin, .in = e->saved, .out = e->out, .aux = e->aux,
                      .attr = e->attr, .meta = e->meta, .need = need, .gy = gy, .gx = gx};
        e->op->grad(&c);
        if (gt__err_set) return false;
        for (int k = 0; k < nin; k++) {
            if (!need[k] || !gx[k]) {
                gx[k] = NULL;
                continue;
            }
            const gt__meta *m = &e->meta[k];
            if (!B && gx[k]->rank == m->rank) { /* usually the input's shape already */
                int d = 0;
                while (d < m->rank && gx[k]->shape[d] == m->shape[d]) d++;
                if (d == m->rank) continue;
            }
            gx[k] = B ? sum_to_batched(gx[k], B, m) : gt__sum_to_shape(gx[k], m->rank, m->shape);
            if (!gx[k]) return false;
        }
        return true;
    }
    /* Row by row, then stacked. */
    gt_tensor **rows = gt__calloc((size_t)(B * nin + nin), sizeof *rows, "a jacobian");
    if (!rows) return false;
    gt_tensor **gxb = rows + B * nin;
    bool ok = true;
    int64_t begin[GT_MAX_RANK + 1] = {0}, size[GT_MAX_RANK + 1];
    for (int i = 0; i < gy->rank; i++) size[i] = -1;
    size[0] = 1;
    for (int64_t b = 0; b < B && ok; b++) {
        begin[0] = b;
        gt_tensor *gyb = gt_reshape(gt_slice(gy, begin, size), gy->rank - 1, gy->shape + 1);
        for (int k = 0; k < nin; k++) gxb[k] = NULL;
        ok = gyb && run_rule(e, gyb, need, gxb, 0);
        for (int k = 0; k < nin && ok; k++) rows[k * B + b] = gxb[k];
    }
    for (int k = 0; k < nin && ok; k++) {
        gx[k] = NULL;
        if (!need[k]) continue;
        bool any = false;
        for (int64_t b = 0; b < B; b++) any |= rows[k * B + b] != NULL;
        if (!any) continue;
        for (int64_t b = 0; b < B && ok; b++)
            if (!rows[k * B + b]) {
                rows[k * B + b] = gt_zeros(e->meta[k].dtype, e->meta[k].rank, e->meta[k].shape);
                ok = rows[k * B + b] != NULL;
            }
        if (ok) gx[k] = gt_stack((int)B, (const gt_tensor *const *)(rows + k * B), 0);
        ok = ok && gx[k];
    }
    gt__free(rows);
    return ok;
}

/* run_rule_ops, with the ops the rule applies counted as gradient work by the profiler. */
static bool run_rule(gt__entry *e, gt_tensor *gy, const bool *need, gt_tensor **gx, int64_t B) {
    gt__prof_grad++;
    const bool ok = run_rule_ops(e, gy, need, gx, B);
    gt__prof_grad--;
    return ok;
}

/* Runs one backward sweep. res[j] receives an owned reference or NULL. With release, each
 * entry's saved tensors are freed once its rule ran (the last sweep of a non-persistent
 * tape). With batch B > 0, ograds are required and have shape [B, *target]: every gradient
 * then carries that leading row axis. */
bool gt__tape_sweep(gt_tape *t, int nt, const gt_tensor *const *targets,
                    const gt_tensor *const *ograds, int nsrc, const gt_tensor *const *sources,
                    gt_tensor **res, bool release, int64_t B) {
    int64_t ne0 = t->ne, ns0 = t->ns;
    /* One scratch block: gradient per slot, relevance and source marks per slot. */
    size_t bytes = (size_t)ns0 * (sizeof(gt_tensor *) + 2);
    unsigned char *mem = gt__tape_scratch(t, bytes ? bytes : 1);
    if (!mem) return false;
    gt_tensor **g = (gt_tensor **)mem;
    unsigned char *rel = mem + (size_t)ns0 * sizeof(gt_tensor *);
    unsigned char *is_src = rel + ns0;
    memset(mem, 0, bytes);
    for (int j = 0; j < nsrc; j++) {
        int32_t s = gt__tape_find(t, sources[j]);
        if (s >= 0 && s < ns0 && !(t->s[s].flags & GT__SLOT_BLOCKED)) rel[s] = is_src[s] = 1;
    }
    /* Entries that do not depend on a source need no gradient. */
    for (int64_t i = 0; i < ne0; i++) {
        gt__entry *e = &t->e[i];
        if (e->marker) continue;
        for (int k = 0; k < e->nin; k++)
            if (e->in_slot[k] >= 0 && rel[e->in_slot[k]]) rel[e->out_slot] = 1;
    }
    bool ok = true;
    for (int j = 0; j < nt && ok; j++) {
        int32_t s = gt__tape_find(t, targets[j]);
        if (s < 0 || s >= ns0 || !rel[s]) continue;
        const gt_tensor *og = ograds ? ograds[j] : NULL;
        const gt_tensor *tg = targets[j];
        gt_tensor *seed;
        if (og) {
            bool shape_ok = og->dtype == tg->dtype &&
                            (B ? og->rank == tg->rank + 1 && og->shape[0] == B &&
                                     !memcmp(og->shape + 1, tg->shape, sizeof(int64_t) * (size_t)tg->rank)
                               : gt__same_shape(og, tg));
            if (!shape_ok) {
                gt__error("gt_tape_gradient: output gradient %d has shape %s and dtype %s, but "
                          "its target has shape %s and dtype %s", j, GT__SHAPE_STR(og),
                          gt_dtype_name(og->dtype), GT__SHAPE_STR(tg), gt_dtype_name(tg->dtype));
                ok = false;
                break;
            }
            seed = (gt_tensor *)og;
        } else {
            seed = gt_ones_like(tg);
        }
        ok = seed && accumulate(&g[s], seed);
    }
    bool need_inl[16];
    gt_tensor *gx_inl[16];
    for (int64_t i = ne0; i-- > 0 && ok;) {
        gt__entry *e = &t->e[i];
        int32_t os = e->out_slot;
        if (e->marker || !g[os] || !rel[os]) continue;
        int nin = e->nin;
        bool *need = need_inl;
        gt_tensor **gx = gx_inl;
        if (nin > 16) {
            gx = gt__malloc((sizeof *gx + sizeof *need) * (size_t)nin, "a gradient");
            if (!gx) {
                ok = false;
                break;
            }
            need = (bool *)(gx + nin);
        }
        bool any = false;
        for (int k = 0; k < nin; k++) {
            need[k] = e->in_slot[k] >= 0 && e->in_slot[k] < ns0 && rel[e->in_slot[k]];
            gx[k] = NULL;
            any |= need[k];
        }
        if (any) {
            gt_scope_begin();
            ok = run_rule(e, g[os], need, gx, B);
            e = &t->e[i]; /* a persistent tape may have grown while recording the rule */
            for (int k = 0; k < nin && ok; k++) {
                if (!gx[k]) continue;
                const gt__meta *m = &e->meta[k];
                gt_tensor *r = gx[k];
                /* With B, r is [B, *m->shape]; without, m->shape (compared inline: ranks are
                 * small and memcmp is a call). */
                int lead = B ? 1 : 0;
                bool shape_ok = r->dtype == m->dtype && r->rank == m->rank + lead &&
                                (!B || r->shape[0] == B);
                for (int d = 0; shape_ok && d < m->rank; d++) shape_ok = r->shape[lead + d] == m->shape[d];
                if (!shape_ok) {
                    gt__error("internal: the gradient rule of '%s' gave input %d a gradient of "
                              "shape %s (%s) for an input of shape %s (%s)", e->op->name, k,
                              GT__SHAPE_STR(r), gt_dtype_name(r->dtype),
                              gt__shape_str((char[96]){0}, 96, m->rank, m->shape),
                              gt_dtype_name(m->dtype));
                    ok = false;
                    break;
                }
                ok = accumulate(&g[e->in_slot[k]], r);
            }
            gt_scope_end();
        }
        if (gx != gx_inl) gt__free(gx);
        if (!is_src[os]) {
            gt__tensor_unref(g[os]);
            g[os] = NULL;
        }
        if (release) {
            /* Saved tensors are not needed again: free them now to bound peak memory. */
            for (int k = 0; e->saved && k < e->nin; k++) {
                gt__tensor_unref(e->saved[k]);
                e->saved[k] = NULL;
            }
            gt__tensor_unref(e->out);
            gt__tensor_unref(e->aux);
            e->out = e->aux = NULL;
        }
    }
    for (int j = 0; j < nsrc; j++) {
        int32_t s = gt__tape_find(t, sources[j]);
        res[j] = ok && s >= 0 && s < ns0 && g[s] ? gt__retain(g[s]) : NULL;
    }
    for (int64_t s = 0; s < ns0; s++) gt__tensor_unref(g[s]);
    return ok;
}

bool gt__tape_prepare(gt_tape *t, const char *who) {
    if (t->consumed) {
        gt__error("%s: A non-persistent GradientTape can only be used to compute one set of "
                  "gradients (or jacobians); create the tape with .persistent = true to call "
                  "it more than once", who);
        return false;
    }
    /* A non-persistent tape stops recording for good, as in TensorFlow. */
    if (!t->persistent) gt__tape_pop_if_recording(t);
    t->nwhy = 0;
    return true;
}

bool gt_tape_gradient(gt_tape *t, int nt, const gt_tensor *const *targets,
                      const gt_tensor *const *ograds, int nsrc, const gt_tensor *const *sources,
                      gt_unconnected unconnected, gt_tensor **grads) {
    const char *who = "gt_tape_gradient";
    if (grads)
        for (int j = 0; j < nsrc; j++) grads[j] = NULL;
    if (!t) {
        gt__error("%s: tape is NULL", who);
        return false;
    }
    if (nt < 1 || !targets || nsrc < 0 || (nsrc > 0 && (!sources || !grads))) {
        gt__error("%s: Argument `target` should be a list of tensors to be differentiated and "
                  "sources a list with room for one gradient each (got %d targets, %d sources)",
                  who, nt, nsrc);
        return false;
    }
    for (int j = 0; j < nt; j++)
        if (!targets[j]) {
            gt__error_null(who);
            return false;
        }
    for (int j = 0; j < nsrc; j++)
        if (!sources[j]) {
            gt__error_null(who);
            return false;
        }
    if (unconnected != GT_UNCONNECTED_NONE && unconnected != GT_UNCONNECTED_ZERO) {
        gt__error("%s: Unknown value for unconnected_gradients: %d", who, (int)unconnected);
        return false;
    }
    if (!gt__tape_prepare(t, who)) return false;

    gt_tensor *inl[8], **res = nsrc <= 8 ? inl : gt__calloc((size_t)nsrc, sizeof *res, "gradients");
    if (!res) return false;
    bool ok = gt__tape_sweep(t, nt, targets, ograds, nsrc, sources, res, !t->persistent, 0);
    for (int j = 0; j < nsrc && ok; j++) {
        if (res[j]) {
            gt__scope_add(res[j]); /* the sweep's reference now belongs to the caller's scope */
            grads[j] = res[j];
            continue;
        }
        /* A target that is itself a source gets ones (or its output gradient). */
        for (int i = 0; i < nt && !grads[j]; i++) {
            if (targets[i]->id != sources[j]->id || !gt__is_float(sources[j]->dtype)) continue;
            grads[j] = ograds && ograds[i] ? (gt_tensor *)ograds[i] : gt_ones_like(sources[j]);
        }
        if (grads[j]) continue;
        char msg[512];
        explain(t, sources[j], gt__tape_find(t, sources[j]), nt, targets, msg, sizeof msg);
        add_why(t, sources[j]->id, msg);
        if (unconnected == GT_UNCONNECTED_ZERO) {
            grads[j] = gt_zeros(sources[j]->dtype, sources[j]->rank, sources[j]->shape);
            ok = grads[j] != NULL;
        }
    }
    if (!ok) {
        for (int j = 0; j < nsrc; j++) {
            if (res[j] && !grads[j]) gt__tensor_unref(res[j]);
            grads[j] = NULL;
        }
    }
    if (res != inl) gt__free(res);
    if (!t->persistent) gt__tape_consume(t);
    return ok;
}

gt_tensor *gt_gradient(gt_tape *t, const gt_tensor *target, const gt_tensor *source) {
    gt_tensor *g = NULL;
    gt_tape_gradient(t, 1, &target, NULL, 1, &source, GT_UNCONNECTED_NONE, &g);
    return g;
}
