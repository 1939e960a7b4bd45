/* Internal definitions shared by the library's layers (core, ops, autodiff). Not installed. */
#ifndef GT_INTERNAL_H
#define GT_INTERNAL_H

#include <gradtape.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define GT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#define GT__LIKELY(x) __builtin_expect(!!(x), 1)
#define GT__UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For error reporting off the hot paths: kept out of line so the callers' fast paths need no
 * stack frame for message buffers. */
#define GT__COLD __attribute__((cold, noinline))
#define GT__ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define GT__COLD
#define GT__ALWAYS_INLINE inline
#define GT__PRINTF(a, b)
#define GT__LIKELY(x) (x)
#define GT__UNLIKELY(x) (x)
#endif

#define GT__ALIGN 64

/* Marks a loop whose iterations are independent for vectorisation (`#pragma omp simd`: the
 * compiler vectorises it without runtime alias checks, and GCC even at -O2, whose default cost
 * model gives up on loops of unknown trip count). Built with -fopenmp-simd, which honours the
 * simd directive alone: no OpenMP runtime. Nothing without it. */
#ifdef GT_HAVE_OMP_SIMD
#define GT__SIMD _Pragma("omp simd")
#else
#define GT__SIMD
#endif

/* ---- allocation ---------------------------------------------------------------------------- */

/* Counted system allocation for the library's own structures (not tensor buffers). On
 * failure they set an out-of-memory error naming `what` and return NULL. */
void *gt__malloc(size_t bytes, const char *what);
void *gt__calloc(size_t n, size_t size, const char *what);
void *gt__realloc(void *p, size_t bytes, const char *what);
void gt__free(void *p);
/* Grows *arr (of elem-size elements, capacity *cap) to hold at least need elements. */
bool gt__grow(void **arr, int64_t *cap, int64_t need, size_t elem, const char *what);

/* ---- tensors and their storage ------------------------------------------------------------- */

typedef struct gt__var gt__var;
typedef struct gt__storage gt__storage;

struct gt_tensor {
    atomic_int refs;
    gt_dtype dtype;
    int rank;
    int64_t size;
    int64_t shape[GT_MAX_RANK];
    void *data; /* == storage->data */
    gt__storage *storage;
    uint64_t id;       /* process-unique; tapes key on it */
    atomic_int slot_hint; /* its slot on the tape that last recorded it, -1 if none: a hint a
                             tape verifies (slot in range, same id) before trusting it, which
                             saves the hash probe; relaxed atomic as tensors may cross threads */
    gt__var *var;      /* non-NULL for variable handles */
    gt_tensor *logits; /* Keras' _keras_logits: the pre-activation of a softmax/sigmoid output */
    gt_tensor *next;   /* free-list link while the struct is unused */
};

/* A refcounted, 64-byte aligned buffer from the size-class cache. Its header has room for
 * one tensor struct: gt__tensor_alloc places the tensor it makes there, so making (and
 * freeing) a tensor with its buffer is one cache operation, not two. That struct's memory
 * lives as long as the storage (an alias may outlive the tensor: the struct then just sits
 * unused until the storage goes). */
struct gt__storage {
    /* First, so that a pointer to the tensor is a pointer to the start of the allocation:
     * leak checkers (valgrind) then see tensors still held at exit as reachable. */
    gt_tensor tensor; /* see above; unused for storages made on their own */
    atomic_int refs;
    int size_class; /* cache class, -1 for buffers too large to cache */
    size_t bytes;   /* usable bytes */
    void *data;
};

gt__storage *gt__storage_new(size_t bytes); /* NULL + error on OOM */
void gt__storage_retain(gt__storage *s);
void gt__storage_release(gt__storage *s);

/* A fresh tensor of the given dtype/shape with an uninitialised buffer, owned by the current
 * scope. rank/shape must already be valid (the caller checked). */
gt_tensor *gt__tensor_alloc(gt_dtype dtype, int rank, const int64_t *shape);
/* A tensor sharing src's storage with a new shape of the same element count. */
gt_tensor *gt__tensor_alias(const gt_tensor *src, int rank, const int64_t *shape);
/* A tensor struct with no storage and no scope (variables build on it). */
gt_tensor *gt__tensor_struct(void);
/* gt_retain without the call and the NULL check, for the library's hot paths. */
static inline gt_tensor *gt__retain(gt_tensor *t) {
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}
/* Frees a tensor whose last reference is gone (and drops its storage reference). */
void gt__tensor_free(gt_tensor *t);
/* Drop a reference (NULL is fine); frees the tensor at zero. Inline: most drops are not the
 * last, and then the decrement is all there is. */
static inline void gt__tensor_unref(gt_tensor *t) {
    if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) gt__tensor_free(t);
}

/* Scopes (tensor.c). The state is visible here so that registering a new tensor, done for
 * every op, is a few inline instructions. */
typedef struct gt__scope_state {
    gt_tensor **owned; /* every open scope's tensors, innermost last */
    int64_t n, cap;
    int64_t *starts; /* start index of each open scope in owned */
    int64_t depth, scap;
    gt_tensor **kept; /* tensors kept out of the scope at depth kept_depth[i] */
    int64_t *kept_depth;
    int64_t nkept, kcap, kdcap;
} gt__scope_state;
extern _Thread_local gt__scope_state gt__scope;
bool gt__scope_grow(void); /* room for one more owned tensor; false (+error) on OOM */
/* The scope registration of a new tensor (already done by the two constructors above). */
static inline void gt__scope_add(gt_tensor *t) {
    if (GT__UNLIKELY(gt__scope.n == gt__scope.cap) && !gt__scope_grow())
        return; /* cannot track it: leak rather than free something the caller holds */
    gt__scope.owned[gt__scope.n++] = t;
}

/* Tensor ids: the thread's number in the high bits, a per-thread counter below, so they are
 * unique without a shared atomic on the hot path. gt__id_last is 0 until the thread's first. */
extern _Thread_local uint64_t gt__id_last;
uint64_t gt__id_first(void);
static inline uint64_t gt__next_id(void) {
    return GT__LIKELY(gt__id_last != 0) ? ++gt__id_last : gt__id_first();
}

/* Validates (rank, shape) from a user: rank in [0, GT_MAX_RANK], dims >= 0, no overflow.
 * Writes the element count. `who` names the function for the message. */
bool gt__check_shape(const char *who, int rank, const int64_t *shape, int64_t *size);
/* Formats a shape as "[2,3]" into buf (returns buf). */
char *gt__shape_str(char *buf, size_t n, int rank, const int64_t *shape);
#define GT__SHAPE_STR(t) gt__shape_str((char[96]){0}, 96, (t)->rank, (t)->shape)
/* Normalises an axis in [-rank, rank) to [0, rank); false (+error naming who) when out of range. */
bool gt__axis(const char *who, int axis, int rank, int *out);
static inline bool gt__same_shape(const gt_tensor *a, const gt_tensor *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}
static inline bool gt__is_float(gt_dtype d) { return d == GT_F32 || d == GT_F64; }
/* Element i of t as a double / writes v to element i (any dtype). */
double gt__get(const gt_tensor *t, int64_t i);
void gt__set(gt_tensor *t, int64_t i, double v);

/* ---- errors ---------------------------------------------------------------------------------- */

/* Whether an error is pending on this thread (gt_ok() without the call). */
extern _Thread_local bool gt__err_set;
/* Sets the thread's error (printf-style) unless one is pending; runs the handler. */
void gt__error(const char *fmt, ...) GT__PRINTF(1, 2);
/* For NULL inputs: sets "who: an input is NULL" only when no error is pending. */
void gt__error_null(const char *who);
void gt__error_oom(const char *what, size_t bytes);
/* Warns once per flag. */
void gt__warn_once(int *flag, const char *fmt, ...) GT__PRINTF(2, 3);

/* ---- threads ------------------------------------------------------------------------------- */

/* Elementwise loops split work only above this many elements (handing tasks to the pool and
 * waiting for them costs about a microsecond, more when a worker has to be woken). */
#define GT__PAR_MIN 32768
int gt__threads(void);

/* A task of gt__par_for: task in [0, n); tid in [0, threads) names the thread running it (for
 * per-thread scratch). Tasks must not depend on which thread runs them or in what order. */
typedef void (*gt__par_fn)(void *ctx, int64_t task, int tid);
/* Runs fn(ctx, task, tid) for every task in [0, n) on up to `threads` threads (0: all of
 * gt__threads()), the caller included; returns when all have run (src/core/parallel.c). Runs
 * serially when nested in another task or when another thread's job holds the pool. */
void gt__par_for(int64_t n, int threads, gt__par_fn fn, void *ctx);
/* True inside a gt__par_for task (where a nested gt__par_for runs serially). */
bool gt__par_active(void);

/* ---- ops ------------------------------------------------------------------------------------- */

/* Per-input metadata a tape keeps even when it does not keep the input itself. */
typedef struct gt__meta {
    gt_dtype dtype;
    int rank;
    int64_t shape[GT_MAX_RANK];
} gt__meta;

typedef struct gt__op gt__op;

/* One op application. The shape rule fills dtype/rank/shape; forward writes out's buffer. */
typedef struct gt__call {
    const gt__op *op;
    int nin;
    gt_tensor *const *in;
    const void *attr;
    gt_dtype dtype; /* output, set by infer */
    int rank;
    int64_t shape[GT_MAX_RANK];
    gt_tensor *out;
    gt_tensor *aux; /* optional extra tensor made by forward (gt__tensor_alloc) and kept for
                       the gradient */
} gt__call;

/* What a gradient rule sees: saved inputs (NULL when the op does not keep them), the output
 * (NULL unless keep_out), the aux tensor, attributes, per-input metadata, and which input
 * gradients are wanted. It writes gx[i] (NULL = none) using public ops only, so the rule is
 * itself recorded by outer tapes and differentiable. Gradients may have a broadcast shape:
 * the tape sums them down to the input's shape. */
typedef struct gt__gctx {
    const gt__op *op;
    int nin;
    gt_tensor *const *in;
    gt_tensor *out;
    gt_tensor *aux;
    const void *attr;
    const gt__meta *meta;
    const bool *need;
    gt_tensor *gy;
    gt_tensor **gx;
} gt__gctx;

enum {
    GT__OP_NONDIFF = 1u << 0,  /* never differentiable (comparisons, argmax, ...) */
    GT__OP_ALIAS = 1u << 1,    /* output shares input 0's storage; no forward */
    GT__OP_VARIADIC = 1u << 2, /* input count given per call (concat, stack) */
    GT__OP_STOP = 1u << 3,     /* stop_gradient: blocks on purpose (for explanations) */
    GT__OP_BATCHABLE = 1u << 4, /* the gradient rule also works when gy has extra leading
                                   (batch) axes, giving gx with the same leading axes: the
                                   Jacobian sweep then runs it once for many rows */
};

#define GT__KEEP_ALL 0xffffffffu

struct gt__op {
    const char *name;
    int nin;          /* fixed input count (ignored when VARIADIC) */
    unsigned flags;
    unsigned keep_in; /* bitmask of inputs the gradient reads; GT__KEEP_ALL for all */
    bool keep_out;    /* the gradient reads the output */
    size_t attr_size; /* bytes of the attribute struct the tape copies */
    bool (*infer)(gt__call *c);
    void (*forward)(gt__call *c);
    void (*grad)(gt__gctx *g);
};

/* Runs op on inputs: NULL propagation, variable reads, shape rule, allocation, forward, and
 * recording on every tape that watches an input. Returns the new tensor (scope-owned). */
gt_tensor *gt__apply(const gt__op *op, int nin, const gt_tensor *const *in, const void *attr);
static inline gt_tensor *gt__apply1(const gt__op *op, const gt_tensor *a, const void *attr) {
    return gt__apply(op, 1, &a, attr);
}
static inline gt_tensor *gt__apply2(const gt__op *op, const gt_tensor *a, const gt_tensor *b,
                                    const void *attr) {
    const gt_tensor *in[2] = {a, b};
    return gt__apply(op, 2, in, attr);
}

/* The op registry (for the test that checks every op has a gradient rule and a check). */
int gt__op_count(void);
const gt__op *gt__op_at(int i);

/* Reduces a gradient to a target shape by summing broadcast axes (the one place
 * un-broadcasting happens). */
gt_tensor *gt__sum_to_shape(gt_tensor *g, int rank, const int64_t *shape);
/* The broadcast shape of a and b (TensorFlow rules); false + error naming who otherwise. */
bool gt__broadcast_shape_slow(const char *who, int ra, const int64_t *sa, int rb,
                              const int64_t *sb, int *rank, int64_t *shape);
static inline bool gt__broadcast_shape(const char *who, int ra, const int64_t *sa, int rb,
                                       const int64_t *sb, int *rank, int64_t *shape) {
    /* Inline for the common cases, equal shapes and a scalar operand; the rest (and errors)
     * out of line. */
    if (ra == rb) {
        int i = 0;
        while (i < ra && sa[i] == sb[i]) i++;
        if (i == ra) {
            for (int j = 0; j < ra; j++) shape[j] = sa[j];
            *rank = ra;
            return true;
        }
    } else if (rb == 0 || ra == 0) {
        const int64_t *s = ra ? sa : sb;
        int r = ra ? ra : rb;
        for (int j = 0; j < r; j++) shape[j] = s[j];
        *rank = r;
        return true;
    }
    return gt__broadcast_shape_slow(who, ra, sa, rb, sb, rank, shape);
}

/* ---- profiler (profile.c) ----------------------------------------------------------------- */

/* Nonzero while gt_profiler_start has the profiler collecting. */
extern atomic_int gt__prof_on;
/* Depth of gradient rules running on this thread: ops applied inside one count as "gradient". */
extern _Thread_local int gt__prof_grad;
typedef enum gt__prof_kind { GT__PROF_FORWARD, GT__PROF_GRADIENT, GT__PROF_OTHER } gt__prof_kind;
static inline bool gt__profiling(void) {
    return GT__UNLIKELY(atomic_load_explicit(&gt__prof_on, memory_order_relaxed));
}
/* Monotonic wall clock in seconds. */
double gt__prof_now(void);
/* Adds one call of secs to the row (name, kind); name must be a string with static storage. */
void gt__prof_add(const char *name, gt__prof_kind kind, double secs);

/* ---- autodiff hooks ------------------------------------------------------------------------ */

/* Number of tapes on this thread's stack (recording or paused): zero skips recording work. */
extern _Thread_local int gt__tapes_active;
/* Records an applied op on every tape of this thread that should see it. */
void gt__tape_record(gt__call *c);
/* A read of variable v: the snapshot tensor, recorded (and auto-watched) on active tapes. */
gt_tensor *gt__var_read(const gt_tensor *v);
/* The snapshot of v's current value (reused while the value is unchanged), scope-owned. */
gt_tensor *gt__var_snapshot(const gt_tensor *v);
/* Forward mode: number of active accumulators on this thread, and the hooks that push
 * tangents through an applied op and through a variable read. */
extern _Thread_local int gt__accs_active;
void gt__forward_record(gt__call *c);
void gt__forward_var_read(const gt_tensor *v, const gt_tensor *snap);

#endif
