/* Gradient tapes, after TensorFlow's tape.h: tensors are keyed by id; an op is recorded when
 * one of its float inputs is on the tape; the backward sweep walks entries in reverse record
 * order, calling each op's gradient rule (written in ops, so outer tapes record it). */
#include "autodiff/tape_internal.h"

#include <stdio.h>
#include <stdlib.h>

_Thread_local int gt__tapes_active;

/* Tapes recording or paused on this thread, innermost last. */
static _Thread_local gt_tape **stack;
static _Thread_local int64_t stack_cap;

/* Freed tapes are reused with their buffers, so a step that makes a tape does not malloc. */
#define GT__TAPE_CACHE 8
static _Thread_local gt_tape *tape_cache[GT__TAPE_CACHE];
static _Thread_local int tape_cache_n;

/* ---- arena --------------------------------------------------------------------------------- */

typedef struct gt__chunk {
    struct gt__chunk *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
} gt__chunk;

static void *arena_alloc_slow(gt_tape *t, size_t n) {
    gt__chunk *c = t->cur;
    while (c && c->used + n > c->cap) c = c->next;
    if (!c) {
        size_t cap = n > 65536 ? n : 65536;
        c = gt__malloc(sizeof *c + cap, "a tape");
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = NULL;
        if (t->last) t->last->next = c;
        else t->first = c;
        t->last = c;
    }
    t->cur = c;
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static inline void *arena_alloc(gt_tape *t, size_t n) {
    n = (n + 15) & ~(size_t)15;
    gt__chunk *c = t->cur;
    if (GT__LIKELY(c != NULL && c->used + n <= c->cap)) {
        void *p = c->data + c->used;
        c->used += n;
        return p;
    }
    return arena_alloc_slow(t, n);
}

static void arena_reset(gt_tape *t) {
    for (gt__chunk *c = t->first; c; c = c->next) c->used = 0;
    t->cur = t->first;
}

static void arena_free(gt_tape *t) {
    gt__chunk *c = t->first;
    while (c) {
        gt__chunk *n = c->next;
        gt__free(c);
        c = n;
    }
    t->first = t->last = t->cur = NULL;
}

/* ---- id -> slot map (open addressing; ids are never 0) ------------------------------------ */

static inline uint64_t hash_id(uint64_t id) { return (id * 0x9E3779B97F4A7C15ull) >> 17; }

int32_t gt__tape_lookup(const gt_tape *t, uint64_t id) {
    if (!t->hcount) return -1;
    uint64_t mask = (uint64_t)t->hcap - 1;
    for (uint64_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        const gt__bucket *b = &t->h[i];
        if (b->gen != t->hgen) return -1;
        if (b->id == id) return b->slot;
    }
}

/* Doubles the table (or makes the first one), keeping the current generation's entries. */
static bool map_grow(gt_tape *t) {
    int64_t ncap = t->hcap ? t->hcap * 2 : 256;
    gt__bucket *nb = gt__calloc((size_t)ncap, sizeof *nb, "a tape");
    if (!nb) return false;
    /* Generation 0 marks the fresh table's buckets free; the live one must differ. */
    uint32_t gen = 1;
    uint64_t mask = (uint64_t)ncap - 1;
    for (int64_t i = 0; i < t->hcap; i++) {
        const gt__bucket *b = &t->h[i];
        if (b->gen != t->hgen) continue;
        uint64_t j = hash_id(b->id) & mask;
        while (nb[j].gen == gen) j = (j + 1) & mask;
        nb[j] = (gt__bucket){.id = b->id, .gen = gen, .slot = b->slot};
    }
    gt__free(t->h);
    t->h = nb;
    t->hcap = ncap;
    t->hgen = gen;
    return true;
}

/* Maps id to slot k; a previous slot of the same id becomes GT__SLOT_OLD. */
static inline bool map_put(gt_tape *t, uint64_t id, int32_t k) {
    if (GT__UNLIKELY((t->hcount + 1) * 2 > t->hcap) && !map_grow(t)) return false;
    uint64_t mask = (uint64_t)t->hcap - 1;
    uint64_t j = hash_id(id) & mask;
    for (;; j = (j + 1) & mask) {
        gt__bucket *b = &t->h[j];
        if (b->gen != t->hgen) {
            *b = (gt__bucket){.id = id, .gen = t->hgen, .slot = k};
            t->hcount++;
            return true;
        }
        if (b->id == id) {
            t->s[b->slot].flags |= GT__SLOT_OLD;
            b->slot = k;
            return true;
        }
    }
}

/* Forgets every entry in O(1): the next generation owns no bucket. */
static void map_clear(gt_tape *t) {
    if (!t->hcount) return;
    t->hcount = 0;
    if (++t->hgen == 0) { /* wrapped after 2^32 clears: really zero the table once */
        memset(t->h, 0, (size_t)t->hcap * sizeof *t->h);
        t->hgen = 1;
    }
}

/* A new slot for tensor x (its id), which also becomes x's slot hint. Always inline: GCC
 * otherwise keeps it out of line, and it runs once per recorded op. */
static GT__ALWAYS_INLINE int32_t new_slot(gt_tape *t, const gt_tensor *x, int32_t producer,
                                          uint8_t flags) {
    if (GT__UNLIKELY(t->ns >= t->scap) &&
        (t->ns >= INT32_MAX - 1 ||
         !gt__grow((void **)&t->s, &t->scap, t->ns + 1, sizeof *t->s, "a tape")))
        return -1;
    int32_t k = (int32_t)t->ns;
    t->s[k] = (gt__slot){.id = x->id, .producer = producer, .flags = flags};
    if (!map_put(t, x->id, k)) return -1;
    t->ns++;
    atomic_store_explicit(&((gt_tensor *)x)->slot_hint, k, memory_order_relaxed);
    return k;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

/* NULL checks inline: after a non-persistent sweep every reference is already gone. */
static void release_entry(gt__entry *e) {
    if (e->saved)
        for (int i = 0; i < e->nin; i++)
            if (e->saved[i]) gt__tensor_unref(e->saved[i]);
    if (e->out) gt__tensor_unref(e->out);
    if (e->aux) gt__tensor_unref(e->aux);
    e->saved = NULL;
    e->out = e->aux = NULL;
}

static void clear_records(gt_tape *t) {
    for (int64_t i = 0; i < t->ne; i++) release_entry(&t->e[i]);
    for (int64_t i = 0; i < t->nvars; i++) gt__tensor_unref(t->vars[i]);
    t->nvars = 0;
    t->ne = 0;
    t->ns = 0;
    map_clear(t);
    arena_reset(t);
}

static bool push(gt_tape *t) {
    if (!gt__grow((void **)&stack, &stack_cap, gt__tapes_active + 1, sizeof *stack, "the tape stack"))
        return false;
    stack[gt__tapes_active++] = t;
    t->on_stack = true;
    return true;
}

static void pop(gt_tape *t) {
    for (int i = gt__tapes_active; i-- > 0;) {
        if (stack[i] != t) continue;
        memmove(stack + i, stack + i + 1, sizeof *stack * (size_t)(gt__tapes_active - i - 1));
        gt__tapes_active--;
        break;
    }
    t->on_stack = false;
}

gt_tape *gt_tape_begin(const gt_tape_desc *desc) {
    gt_tape *t;
    if (tape_cache_n) {
        t = tape_cache[--tape_cache_n];
    } else {
        t = gt__calloc(1, sizeof *t, "a tape");
        if (!t) return NULL;
    }
    t->persistent = desc && desc->persistent;
    t->watch_vars = !(desc && desc->dont_watch_accessed_variables);
    t->paused = t->consumed = t->collect_vars = false;
    t->nwhy = 0;
    if (!push(t)) {
        gt_tape_free(t);
        return NULL;
    }
    return t;
}

#define GT__TAPE_ARG(t, who, ret)                                                                \
    do {                                                                                         \
        if (!(t)) {                                                                              \
            gt__error("%s: tape is NULL", who);                                                  \
            return ret;                                                                          \
        }                                                                                        \
    } while (0)

bool gt_tape_end(gt_tape *t) {
    GT__TAPE_ARG(t, "gt_tape_end", false);
    if (!t->on_stack) {
        gt__error("gt_tape_end: Tape is not recording.");
        return false;
    }
    pop(t);
    return true;
}

bool gt_tape_reenter(gt_tape *t) {
    GT__TAPE_ARG(t, "gt_tape_reenter", false);
    if (t->on_stack) {
        gt__error("gt_tape_reenter: Tape is still recording, This can happen if you try to "
                  "re-enter an already-active tape.");
        return false;
    }
    t->paused = false;
    return push(t);
}

void gt_tape_free(gt_tape *t) {
    if (!t) return;
    if (t->on_stack) pop(t);
    clear_records(t);
    if (tape_cache_n < GT__TAPE_CACHE) {
        tape_cache[tape_cache_n++] = t;
        return;
    }
    arena_free(t);
    gt__free(t->e);
    gt__free(t->s);
    gt__free(t->h);
    gt__free(t->why);
    gt__free(t->vars);
    gt__free(t->scratch);
    gt__free(t);
}

bool gt_tape_pause(gt_tape *t) {
    GT__TAPE_ARG(t, "gt_tape_pause", false);
    if (!t->on_stack || t->paused) {
        gt__error("gt_tape_pause: Trying to stop recording a tape which is not recording.");
        return false;
    }
    t->paused = true;
    return true;
}

bool gt_tape_resume(gt_tape *t) {
    GT__TAPE_ARG(t, "gt_tape_resume", false);
    if (!t->on_stack || !t->paused) {
        gt__error("gt_tape_resume: the tape is not paused (call gt_tape_pause first)");
        return false;
    }
    t->paused = false;
    return true;
}

bool gt_tape_reset(gt_tape *t) {
    GT__TAPE_ARG(t, "gt_tape_reset", false);
    if (!t->on_stack) {
        gt__error("gt_tape_reset: Tape is not recording.");
        return false;
    }
    clear_records(t);
    t->consumed = false;
    return true;
}

bool gt_tape_is_recording(const gt_tape *t) { return t && t->on_stack && !t->paused; }
int64_t gt_tape_size(const gt_tape *t) { return t ? t->ne : 0; }

static int warned_int_watch;

bool gt_tape_watch(gt_tape *t, const gt_tensor *x) {
    GT__TAPE_ARG(t, "gt_tape_watch", false);
    if (!x) {
        gt__error_null("gt_tape_watch");
        return false;
    }
    if (!gt__is_float(x->dtype)) {
        /* TensorFlow watches it in name only; ops on it are never recorded. */
        if (warned_int_watch < 5) {
            warned_int_watch++;
            gt_warn("The dtype of the watched tensor must be floating (e.g. float32), got %s",
                    gt_dtype_name(x->dtype));
        }
        return true;
    }
    if (gt__tape_find(t, x) >= 0) return true;
    return new_slot(t, x, -1, x->var ? GT__SLOT_VAR : 0) >= 0;
}

/* ---- recording ---------------------------------------------------------------------------- */

/* Appends an entry for call c to tape t. in_slot holds each input's slot (-1: not on tape). */
static void record_on(gt_tape *t, const gt__call *c, const int32_t *in_slot, uint8_t marker) {
    if (GT__UNLIKELY(t->ne >= t->ecap) &&
        !gt__grow((void **)&t->e, &t->ecap, t->ne + 1, sizeof *t->e, "a tape"))
        return;
    gt__entry *e = &t->e[t->ne];
    e->meta = NULL;
    e->saved = NULL;
    e->out = e->aux = NULL;
    e->attr = NULL;
    e->op = c->op;
    e->nin = c->nin;
    e->marker = marker;
    /* One arena block: metadata, saved pointers, then slots (largest alignment first). */
    int nin = c->nin;
    size_t bytes = marker ? sizeof(int32_t) * (size_t)nin
                          : (sizeof(gt__meta) + sizeof(gt_tensor *) + sizeof(int32_t)) * (size_t)nin;
    unsigned char *blk = arena_alloc(t, bytes ? bytes : 1);
    if (!blk) return;
    if (!marker) {
        e->meta = (gt__meta *)(void *)blk;
        e->saved = (gt_tensor **)(void *)(blk + sizeof(gt__meta) * (size_t)nin);
        e->in_slot = (int32_t *)(void *)(blk + (sizeof(gt__meta) + sizeof(gt_tensor *)) * (size_t)nin);
    } else {
        e->in_slot = (int32_t *)(void *)blk;
    }
    for (int i = 0; i < nin; i++) e->in_slot[i] = in_slot[i];
    if (!marker) {
        const gt__op *op = c->op;
        for (int i = 0; i < nin; i++) {
            const gt_tensor *x = c->in[i];
            gt__meta *m = &e->meta[i];
            m->dtype = x->dtype;
            m->rank = x->rank;
            for (int d = 0; d < x->rank; d++) m->shape[d] = x->shape[d];
            bool keep = i < 32 ? (op->keep_in >> i) & 1u : op->keep_in == GT__KEEP_ALL;
            e->saved[i] = keep ? gt__retain((gt_tensor *)x) : NULL;
        }
        if (op->keep_out) e->out = gt__retain(c->out);
        if (c->aux) e->aux = gt__retain(c->aux);
        size_t asz = op->attr_size;
        if (asz && c->attr) {
            unsigned char *a = arena_alloc(t, asz);
            if (!a) return;
            /* Attributes are a few bytes: fixed-size copies of the usual sizes compile to a
             * move or two, where a variable-size memcpy is a library call. */
            switch (asz) {
            case 4: memcpy(a, c->attr, 4); break;
            case 8: memcpy(a, c->attr, 8); break;
            case 16: memcpy(a, c->attr, 16); break;
            default: memcpy(a, c->attr, asz);
            }
            e->attr = a;
        }
    }
    int32_t k = new_slot(t, c->out, (int32_t)t->ne, marker ? GT__SLOT_BLOCKED : 0);
    if (k < 0) {
        release_entry(e);
        return;
    }
    e->out_slot = k;
    t->ne++;
}

/* Slot scratch for one call; ops have few inputs, concat of many falls back to the heap. */
#define GT__INLINE_IN 16

void gt__tape_record(gt__call *c) {
    int32_t inl[GT__INLINE_IN], *slot = inl;
    int nin = c->nin;
    if (GT__UNLIKELY(nin > GT__INLINE_IN)) {
        slot = gt__malloc(sizeof(int32_t) * (size_t)nin, "op inputs");
        if (!slot) return;
    }
    /* Outermost first, so the innermost tape (usually the only one) records last and keeps the
     * output's slot hint. */
    for (int k = 0; k < gt__tapes_active; k++) {
        gt_tape *t = stack[k];
        if (t->collect_vars) continue;
        bool any = false, any_diff = false;
        for (int i = 0; i < nin; i++) {
            /* Blocked inputs stay linked too, for explanations. */
            int32_t s = slot[i] = gt__tape_find(t, c->in[i]);
            if (s < 0) continue;
            any = true;
            if (!(t->s[s].flags & GT__SLOT_BLOCKED) && gt__is_float(c->in[i]->dtype))
                any_diff = true;
        }
        if (!any) continue;
        uint8_t marker = 0;
        if (t->paused) marker = GT__WHY_PAUSED;
        else if (c->op->flags & GT__OP_STOP) marker = GT__WHY_STOP;
        else if (c->op->flags & GT__OP_NONDIFF) marker = GT__WHY_NONDIFF;
        else if (!any_diff) marker = GT__WHY_UPSTREAM;
        else if (!gt__is_float(c->dtype)) marker = GT__WHY_INTEGER;
        record_on(t, c, slot, marker);
    }
    if (slot != inl) gt__free(slot);
}

/* Reading a variable: identity whose gradient passes straight to the variable. */
static void read_grad(gt__gctx *g) { g->gx[0] = g->gy; }
static bool read_infer(gt__call *c) {
    c->dtype = c->in[0]->dtype;
    c->rank = c->in[0]->rank;
    memcpy(c->shape, c->in[0]->shape, sizeof c->shape);
    return true;
}
const gt__op gt__op_read_variable = {
    .name = "read_variable", .nin = 1, .flags = GT__OP_ALIAS | GT__OP_BATCHABLE, .infer = read_infer, .grad = read_grad};

gt_tensor *gt__var_read(const gt_tensor *v) {
    gt_tensor *snap = gt__var_snapshot(v);
    if (snap && gt__accs_active) gt__forward_var_read(v, snap);
    if (!snap || !gt__tapes_active) return snap;
    gt__call c = {.op = &gt__op_read_variable, .nin = 1, .in = (gt_tensor *const *)&v,
                  .dtype = v->dtype, .rank = v->rank, .out = snap};
    memcpy(c.shape, v->shape, sizeof c.shape);
    for (int k = 0; k < gt__tapes_active; k++) { /* outermost first, as gt__tape_record */
        gt_tape *t = stack[k];
        if (t->collect_vars) {
            bool seen = false;
            for (int64_t i = 0; i < t->nvars && !seen; i++) seen = t->vars[i] == v;
            if (!seen && gt__grow((void **)&t->vars, &t->varcap, t->nvars + 1, sizeof *t->vars, "a tape"))
                t->vars[t->nvars++] = gt_retain((gt_tensor *)v);
            continue;
        }
        int32_t s = gt__tape_find(t, v);
        if (s < 0 && !t->paused && t->watch_vars && gt__is_float(v->dtype) &&
            gt_variable_trainable(v))
            s = new_slot(t, v, -1, GT__SLOT_VAR);
        if (s < 0) continue;
        /* The snapshot may already be on this tape from an earlier read of the same value. */
        int32_t have = gt__tape_find(t, snap);
        if (have >= 0 && !(t->s[have].flags & GT__SLOT_BLOCKED)) continue;
        record_on(t, &c, &s, t->paused ? GT__WHY_PAUSED : 0);
    }
    return snap;
}

/* Scratch arrays a gradient call needs, kept on the tape for reuse. */
void *gt__tape_scratch(gt_tape *t, size_t bytes) {
    if ((int64_t)bytes > t->scratch_cap) {
        void *p = gt__realloc(t->scratch, bytes, "a gradient computation");
        if (!p) return NULL;
        t->scratch = p;
        t->scratch_cap = (int64_t)bytes;
    }
    return t->scratch;
}

void gt__tape_pop_if_recording(gt_tape *t) {
    if (t->on_stack) pop(t);
}

void gt__tape_consume(gt_tape *t) {
    clear_records(t);
    t->consumed = true;
}

void gt__tapes_suspend(gt__tape_stack *saved) {
    saved->tapes = stack;
    saved->cap = stack_cap;
    saved->active = gt__tapes_active;
    stack = NULL;
    stack_cap = 0;
    gt__tapes_active = 0;
}

void gt__tapes_restore(const gt__tape_stack *saved) {
    gt__free(stack);
    stack = saved->tapes;
    stack_cap = saved->cap;
    gt__tapes_active = saved->active;
}

void gt__tapes_note_var(const gt_tensor *v) {
    for (int k = gt__tapes_active; k-- > 0;) {
        gt_tape *t = stack[k];
        if (t->collect_vars || t->paused || !t->watch_vars || !gt__is_float(v->dtype) ||
            !gt_variable_trainable(v) || gt__tape_find(t, v) >= 0)
            continue;
        new_slot(t, v, -1, GT__SLOT_VAR);
    }
}
