/* Forward mode (tf.autodiff.ForwardAccumulator). Each op's tangent rule is derived from its
 * gradient rule by the double-VJP trick TensorFlow uses (ForwardpropFromTape): the rule is
 * linear in the upstream gradient u, so the JVP J t equals d/du sum_i <VJP_i(u), t_i>. Every
 * op with a gradient rule therefore has a tangent rule, and since the derived computation is
 * itself made of ops, accumulators nest (higher-order forward mode) and tapes record it
 * (forward-over-reverse Hessian-vector products). */
#include "autodiff/tape_internal.h"

#include <stdlib.h>

struct gt_accumulator {
    bool active, busy;
    uint64_t *keys;
    gt_tensor **vals;
    int64_t cap, count;
};

_Thread_local int gt__accs_active;
static _Thread_local gt_accumulator **accs;
static _Thread_local int64_t accs_cap;

/* ---- id -> tangent map -------------------------------------------------------------------- */

static uint64_t slot_of(const gt_accumulator *a, uint64_t id) {
    uint64_t mask = (uint64_t)a->cap - 1, j = ((id * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (a->keys[j] && a->keys[j] != id) j = (j + 1) & mask;
    return j;
}

static gt_tensor *lookup(const gt_accumulator *a, uint64_t id) {
    if (!a->cap) return NULL;
    uint64_t j = slot_of(a, id);
    return a->keys[j] == id ? a->vals[j] : NULL;
}

static bool put(gt_accumulator *a, uint64_t id, gt_tensor *tan) {
    if ((a->count + 1) * 2 > a->cap) {
        int64_t ncap = a->cap ? a->cap * 2 : 64;
        gt_accumulator b = {.cap = ncap};
        b.keys = gt__calloc((size_t)ncap, sizeof *b.keys, "an accumulator");
        b.vals = gt__calloc((size_t)ncap, sizeof *b.vals, "an accumulator");
        if (!b.keys || !b.vals) {
            gt__free(b.keys);
            gt__free(b.vals);
            return false;
        }
        for (int64_t i = 0; i < a->cap; i++) {
            if (!a->keys[i]) continue;
            uint64_t j = slot_of(&b, a->keys[i]);
            b.keys[j] = a->keys[i];
            b.vals[j] = a->vals[i];
        }
        gt__free(a->keys);
        gt__free(a->vals);
        a->keys = b.keys;
        a->vals = b.vals;
        a->cap = ncap;
    }
    uint64_t j = slot_of(a, id);
    if (a->keys[j]) {
        gt__tensor_unref(a->vals[j]);
    } else {
        a->keys[j] = id;
        a->count++;
    }
    a->vals[j] = gt_retain(tan);
    return true;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static bool push(gt_accumulator *a) {
    if (!gt__grow((void **)&accs, &accs_cap, gt__accs_active + 1, sizeof *accs, "an accumulator"))
        return false;
    accs[gt__accs_active++] = a;
    a->active = true;
    return true;
}

bool gt_accumulator_watch(gt_accumulator *a, const gt_tensor *p, const gt_tensor *t) {
    if (!a || !p || !t) {
        gt__error_null("gt_accumulator_watch");
        return false;
    }
    if (!gt__is_float(p->dtype) || p->dtype != t->dtype || !gt__same_shape(p, t)) {
        gt__error("gt_accumulator_watch: the tangent (%s %s) must have the primal's float dtype "
                  "and shape (%s %s)", gt_dtype_name(t->dtype), GT__SHAPE_STR(t),
                  gt_dtype_name(p->dtype), GT__SHAPE_STR(p));
        return false;
    }
    gt_tensor *tv = t->var ? gt__var_read(t) : (gt_tensor *)t;
    return tv && put(a, p->id, tv);
}

gt_accumulator *gt_accumulator_begin(int n, const gt_tensor *const *primals,
                                     const gt_tensor *const *tangents) {
    if (n < 0 || (n && (!primals || !tangents))) {
        gt__error("gt_accumulator_begin: primals and tangents are required (n = %d)", n);
        return NULL;
    }
    gt_accumulator *a = gt__calloc(1, sizeof *a, "an accumulator");
    if (!a) return NULL;
    for (int i = 0; i < n; i++)
        if (!gt_accumulator_watch(a, primals[i], tangents[i])) {
            gt_accumulator_free(a);
            return NULL;
        }
    if (!push(a)) {
        gt_accumulator_free(a);
        return NULL;
    }
    return a;
}

bool gt_accumulator_end(gt_accumulator *a) {
    if (!a) {
        gt__error_null("gt_accumulator_end");
        return false;
    }
    if (!a->active) {
        gt__error("gt_accumulator_end: the accumulator is not active");
        return false;
    }
    for (int i = gt__accs_active; i-- > 0;) {
        if (accs[i] != a) continue;
        memmove(accs + i, accs + i + 1, sizeof *accs * (size_t)(gt__accs_active - i - 1));
        gt__accs_active--;
        break;
    }
    a->active = false;
    return true;
}

void gt_accumulator_free(gt_accumulator *a) {
    if (!a) return;
    if (a->active) gt_accumulator_end(a);
    for (int64_t i = 0; i < a->cap; i++)
        if (a->keys[i]) gt__tensor_unref(a->vals[i]);
    gt__free(a->keys);
    gt__free(a->vals);
    gt__free(a);
}

gt_tensor *gt_accumulator_jvp(gt_accumulator *a, const gt_tensor *t, gt_unconnected u) {
    if (!a || !t) {
        gt__error_null("gt_accumulator_jvp");
        return NULL;
    }
    gt_tensor *tan = lookup(a, t->id);
    if (tan) {
        /* The tangent itself (not a copy), so outer accumulators know its tangent. */
        gt__scope_add(gt_retain(tan));
        return tan;
    }
    if (u == GT_UNCONNECTED_ZERO) return gt_zeros(t->dtype, t->rank, t->shape);
    return NULL;
}

/* ---- the tangent rule ------------------------------------------------------------------- */

/* J t for call c given input tangents tin (NULL where an input has none). */
static gt_tensor *tangent_of(gt__call *c, gt_tensor **tin) {
    int nin = c->nin;
    gt__meta meta_inl[8];
    bool need_inl[8];
    gt_tensor *gx_inl[8];
    gt__meta *meta = meta_inl;
    bool *need = need_inl;
    gt_tensor **gx = gx_inl;
    gt_tensor *res = NULL;
    if (nin > 8) {
        meta = gt__malloc(sizeof *meta * (size_t)nin, "a tangent");
        need = gt__malloc(sizeof *need * (size_t)nin, "a tangent");
        gx = gt__calloc((size_t)nin, sizeof *gx, "a tangent");
        if (!meta || !need || !gx) goto done;
    }
    for (int i = 0; i < nin; i++) {
        meta[i].dtype = c->in[i]->dtype;
        meta[i].rank = c->in[i]->rank;
        memcpy(meta[i].shape, c->in[i]->shape, sizeof meta[i].shape);
        need[i] = tin[i] != NULL;
        gx[i] = NULL;
    }
    gt_scope_begin();
    gt_tensor *u = gt_zeros(c->out->dtype, c->out->rank, c->out->shape);
    gt_tape *tp = u ? gt_tape_begin(NULL) : NULL;
    if (tp) {
        gt_tape_watch(tp, u);
        gt__gctx g = {.op = c->op, .nin = nin, .in = c->in, .out = c->out, .aux = c->aux,
                      .attr = c->attr, .meta = meta, .need = need, .gy = u, .gx = gx};
        gt__prof_grad++;
        c->op->grad(&g);
        gt__prof_grad--;
        gt_tensor *s = NULL;
        for (int i = 0; i < nin && gt_ok(); i++) {
            if (!need[i] || !gx[i]) continue;
            gt_tensor *gi = gt__sum_to_shape(gx[i], meta[i].rank, meta[i].shape);
            gt_tensor *term = gt_reduce_sum(gt_mul(gi, tin[i]), GT_ALL, false);
            s = s ? gt_add(s, term) : term;
        }
        gt_tape_end(tp);
        if (s && gt_ok()) res = gt_gradient(tp, s, u);
        gt_tape_free(tp);
    }
    if (res) gt_keep(res);
    gt_scope_end();
done:
    if (meta != meta_inl) {
        gt__free(meta);
        gt__free(need);
        gt__free(gx);
    }
    return res;
}

/* Called by gt__apply after every op while an accumulator is active. */
void gt__forward_record(gt__call *c0) {
    if (!c0->op->grad || (c0->op->flags & GT__OP_NONDIFF) || !gt__is_float(c0->dtype)) return;
    /* c0->in is gt__apply's per-thread buffer, which the ops of the tangent rule reuse: work
     * on a copy of the input list. */
    gt_tensor *in_inl[8], **in = c0->nin <= 8 ? in_inl : gt__malloc(sizeof *in * (size_t)c0->nin, "a tangent");
    if (!in) return;
    memcpy(in, c0->in, sizeof *in * (size_t)c0->nin);
    gt__call cc = *c0, *c = &cc;
    cc.in = in;
    for (int k = gt__accs_active; k-- > 0;) {
        gt_accumulator *a = accs[k];
        if (a->busy) continue;
        gt_tensor *inl[8], **tin = c->nin <= 8 ? inl : gt__calloc((size_t)c->nin, sizeof *tin, "a tangent");
        if (!tin) break;
        bool any = false;
        for (int i = 0; i < c->nin; i++) {
            tin[i] = gt__is_float(c->in[i]->dtype) ? lookup(a, c->in[i]->id) : NULL;
            any |= tin[i] != NULL;
        }
        if (any) {
            /* While a computes this tangent it must not see its own ops; outer accumulators
             * do, which is what nesting means. */
            a->busy = true;
            gt_tensor *tan = tangent_of(c, tin);
            a->busy = false;
            if (tan) put(a, c->out->id, tan);
        }
        if (tin != inl) gt__free(tin);
    }
    if (in != in_inl) gt__free(in);
}

/* A variable read: the snapshot inherits the variable's tangent. */
void gt__forward_var_read(const gt_tensor *v, const gt_tensor *snap) {
    for (int k = gt__accs_active; k-- > 0;) {
        gt_tensor *tan = lookup(accs[k], v->id);
        if (tan) put(accs[k], snap->id, tan);
    }
}
