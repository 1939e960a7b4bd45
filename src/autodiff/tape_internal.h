/* The tape's records, shared by recording (tape.c) and the backward sweep (backward.c). */
#ifndef GT_TAPE_INTERNAL_H
#define GT_TAPE_INTERNAL_H

#include "core/internal.h"

/* Why an entry does not pass gradients (0: it does). Kept so a NULL gradient can be explained. */
enum {
    GT__WHY_STOP = 1,     /* gt_stop_gradient */
    GT__WHY_PAUSED,       /* recorded while the tape was paused */
    GT__WHY_NONDIFF,      /* op without gradient (comparisons, argmax, ...) */
    GT__WHY_INTEGER,      /* op with an integer or bool output */
    GT__WHY_UPSTREAM,     /* every watched input was already blocked */
};

/* GT__SLOT_OLD: a later slot took over this slot's id (a snapshot recorded again after a
 * blocked read); tensor slot hints must not resolve to it. */
enum { GT__SLOT_BLOCKED = 1, GT__SLOT_VAR = 2, GT__SLOT_OLD = 4 };

typedef struct gt__slot {
    uint64_t id;
    int32_t producer; /* entry index, or -1 for a watched tensor/variable */
    uint8_t flags;
} gt__slot;

typedef struct gt__entry {
    const gt__op *op;
    int nin;
    int32_t *in_slot; /* per input: slot on this tape or -1 */
    gt__meta *meta;   /* per input (NULL for markers) */
    gt_tensor **saved; /* per input: kept tensor or NULL */
    gt_tensor *out;   /* kept output (keep_out) */
    gt_tensor *aux;
    void *attr;
    int32_t out_slot;
    uint8_t marker; /* GT__WHY_* or 0 */
} gt__entry;

typedef struct gt__chunk gt__chunk;

typedef struct gt__why {
    uint64_t id;
    char msg[512];
} gt__why;

struct gt_tape {
    bool persistent, watch_vars, on_stack, paused, consumed;
    bool collect_vars; /* a variable watcher: lists variables read, records nothing */
    gt_tensor **vars;
    int64_t nvars, varcap;
    gt__entry *e;
    int64_t ne, ecap;
    gt__slot *s;
    int64_t ns, scap;
    /* id -> slot map, open addressing. A bucket belongs to the current recording only when its
     * gen equals hgen, so clearing a tape bumps hgen instead of zeroing the table. */
    struct gt__bucket *h;
    int64_t hcap, hcount;
    uint32_t hgen;
    gt__chunk *first, *last, *cur;
    gt__why *why;
    int64_t nwhy, whycap;
    void *scratch;
    int64_t scratch_cap;
};

typedef struct gt__bucket {
    uint64_t id;
    uint32_t gen;
    int32_t slot;
} gt__bucket;

int32_t gt__tape_lookup(const gt_tape *t, uint64_t id);
/* The slot of tensor x on t (or -1): the tensor's slot hint when it checks out, else the map. */
static inline int32_t gt__tape_find(const gt_tape *t, const gt_tensor *x) {
    int32_t h = atomic_load_explicit(&((gt_tensor *)x)->slot_hint, memory_order_relaxed);
    if ((uint64_t)(uint32_t)h < (uint64_t)t->ns && t->s[h].id == x->id &&
        !(t->s[h].flags & GT__SLOT_OLD))
        return h;
    return t->hcount ? gt__tape_lookup(t, x->id) : -1;
}
void *gt__tape_scratch(gt_tape *t, size_t bytes);
void gt__tape_pop_if_recording(gt_tape *t);
void gt__tape_consume(gt_tape *t);
extern const gt__op gt__op_read_variable;
/* One backward sweep (backward.c): res[j] gets an owned reference or NULL; release frees
 * saved tensors as it goes; B > 0 runs B rows at once (output gradients [B, *target]). */
bool gt__tape_sweep(gt_tape *t, int nt, const gt_tensor *const *targets,
                    const gt_tensor *const *ograds, int nsrc, const gt_tensor *const *sources,
                    gt_tensor **res, bool release, int64_t B);
/* Sets the calling thread's tapes aside (custom gradients run their forward unrecorded) and
 * brings them back. */
typedef struct gt__tape_stack {
    gt_tape **tapes;
    int64_t cap;
    int active;
} gt__tape_stack;
void gt__tapes_suspend(gt__tape_stack *saved);
void gt__tapes_restore(const gt__tape_stack *saved);
/* Watches v on every active tape that watches accessed variables (a read they did not see). */
void gt__tapes_note_var(const gt_tensor *v);
/* Checks the tape can compute (not consumed) and stops a non-persistent tape recording. */
bool gt__tape_prepare(gt_tape *t, const char *who);

#endif
