/* Buffer allocator: refcounted storages from a per-thread size-class cache, so a training
 * step that makes the same tensors as the last one never reaches malloc; and the tensor
 * structs, which mostly live in their buffer's header (one cache operation per tensor). */
#include "core/internal.h"

#include <stdlib.h>

/* Classes grow by a quarter of a power of two (<= 25% waste); class c holds blocks of
 * class_bytes(c). Buffers above the last class are not cached. */
#define GT__NCLASS 160
#define GT__MIN_SHIFT 6
/* A thread parks at most this many bytes; beyond it buffers go back to the system. */
#define GT__CACHE_LIMIT ((int64_t)2 << 30)

/* Counters are per thread and written only by their thread (plain loads and stores, no
 * locked instructions on the allocation path); gt_mem_stats_get sums them. Blocks are never
 * freed, so a reader can walk the list while threads come and go. */
typedef struct stats {
    atomic_int_fast64_t mallocs, frees, hits, lib_mallocs, live, peak, cached;
    struct stats *next;
} stats;

static _Atomic(stats *) all_stats;
static _Thread_local stats *my_stats;
static stats fallback_stats; /* if a thread cannot get its own block */

static stats *me(void) {
    if (GT__LIKELY(my_stats != NULL)) return my_stats;
    stats *s = calloc(1, sizeof *s);
    if (!s) return my_stats = &fallback_stats;
    s->next = atomic_load(&all_stats);
    while (!atomic_compare_exchange_weak(&all_stats, &s->next, s)) {
    }
    return my_stats = s;
}

static inline void bump(atomic_int_fast64_t *c, int64_t d) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d, memory_order_relaxed);
}

typedef struct block {
    gt__storage st; /* header first: a cached block is reused as it is */
    struct block *next;
} block;

/* Data starts one cache line after the header so it stays 64-byte aligned. */
#define GT__HDR ((size_t)GT__ALIGN * ((sizeof(block) + GT__ALIGN - 1) / GT__ALIGN))

static _Thread_local block *cache[GT__NCLASS];
static _Thread_local int64_t cache_bytes;

static inline size_t class_bytes(int c) {
    int k = c / 4, q = c % 4;
    return ((size_t)(4 + q) << (k + GT__MIN_SHIFT)) >> 2;
}

/* The smallest class holding bytes, in O(1): with h the top bit of bytes - 1, the classes of
 * block h - 6 are 2^h * {1, 1.25, 1.5, 1.75}. */
static inline int class_of(size_t bytes) {
    if (bytes <= ((size_t)1 << GT__MIN_SHIFT)) return 0;
    size_t m = bytes - 1;
    int h = 63 - __builtin_clzll((unsigned long long)m);
    int k = h - GT__MIN_SHIFT;
    size_t unit = (size_t)1 << (h - 2);        /* a quarter of 2^h */
    int q = (int)((bytes - ((size_t)1 << h) + unit - 1) / unit); /* 1..4 quarters above 2^h */
    int c = 4 * k + q;                          /* q == 4 rolls into the next block */
    return c < GT__NCLASS ? c : -1;
}

static inline void add_live(stats *st, int64_t d) {
    int64_t now = atomic_load_explicit(&st->live, memory_order_relaxed) + d;
    atomic_store_explicit(&st->live, now, memory_order_relaxed);
    if (now > atomic_load_explicit(&st->peak, memory_order_relaxed))
        atomic_store_explicit(&st->peak, now, memory_order_relaxed);
}

/* The cache hit, taken by every op of a steady-state step: the block keeps its class and
 * capacity from its first allocation. This thread's stats exist (it cached the block). */
static inline gt__storage *take(block *b, int c) {
    stats *st = my_stats;
    int64_t cap = (int64_t)b->st.bytes;
    cache[c] = b->next;
    cache_bytes -= cap;
    bump(&st->cached, -cap);
    bump(&st->hits, 1);
    add_live(st, cap);
    atomic_init(&b->st.refs, 1);
    return &b->st;
}

static gt__storage *storage_new_slow(size_t bytes, int c) {
    stats *st = me();
    size_t cap = c >= 0 ? class_bytes(c) : bytes;
    if (cap > SIZE_MAX / 2) {
        gt__error_oom("a tensor buffer", bytes);
        return NULL;
    }
    size_t total = (GT__HDR + cap + GT__ALIGN - 1) / GT__ALIGN * GT__ALIGN;
    block *b = aligned_alloc(GT__ALIGN, total);
    if (!b) {
        gt__error_oom("a tensor buffer", bytes);
        return NULL;
    }
    bump(&st->mallocs, 1);
    bump(&st->lib_mallocs, 1);
    b->st.size_class = c;
    b->st.bytes = cap;
    b->st.data = (char *)b + GT__HDR;
    atomic_init(&b->st.refs, 1);
    add_live(st, (int64_t)cap);
    return &b->st;
}

static inline gt__storage *storage_new(size_t bytes) {
    if (bytes == 0) bytes = 1;
    int c = class_of(bytes);
    block *b = c >= 0 ? cache[c] : NULL;
    if (GT__LIKELY(b != NULL)) return take(b, c);
    return storage_new_slow(bytes, c);
}

gt__storage *gt__storage_new(size_t bytes) { return storage_new(bytes); }

void gt__storage_retain(gt__storage *s) { atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); }

/* Back to the cache (or the system) once the last reference went. */
static inline void storage_free(gt__storage *s) {
    block *b = (block *)s;
    stats *st = me();
    bump(&st->live, -(int64_t)s->bytes); /* falling: the peak cannot change */
    int c = s->size_class;
    if (GT__LIKELY(c >= 0 && cache_bytes + (int64_t)s->bytes <= GT__CACHE_LIMIT)) {
        b->next = cache[c];
        cache[c] = b;
        cache_bytes += (int64_t)s->bytes;
        bump(&st->cached, (int64_t)s->bytes);
        return;
    }
    bump(&st->frees, 1);
    free(b);
}

void gt__storage_release(gt__storage *s) {
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) storage_free(s);
}

/* ---- tensor structs ------------------------------------------------------------------------ */

/* Freed free-standing tensor structs (aliases, variables) wait here for reuse, so
 * steady-state steps never call malloc. */
static _Thread_local gt_tensor *free_tensors;

/* Field by field: a whole-struct memset compiles to `rep stos`, slow at this size. The
 * constructors set dtype, rank, size, shape, data and storage. */
static inline void tensor_init(gt_tensor *t) {
    atomic_init(&t->refs, 1);
    atomic_init(&t->slot_hint, -1);
    t->var = NULL;
    t->logits = NULL;
    t->next = NULL;
    t->id = gt__next_id();
}

gt_tensor *gt__tensor_struct(void) {
    gt_tensor *t = free_tensors;
    if (GT__LIKELY(t != NULL)) {
        free_tensors = t->next;
    } else {
        t = gt__malloc(sizeof *t, "a tensor");
        if (!t) return NULL;
    }
    tensor_init(t);
    t->storage = NULL;
    t->data = NULL;
    return t;
}

static const unsigned char dtype_bytes[] = {4, 8, 4, 8, 1}; /* by gt_dtype */

gt_tensor *gt__tensor_alloc(gt_dtype dtype, int rank, const int64_t *shape) {
    int64_t size = 1;
    for (int i = 0; i < rank; i++) size *= shape[i];
    gt__storage *s = storage_new((size_t)size * dtype_bytes[dtype]);
    if (!s) return NULL;
    gt_tensor *t = &s->tensor; /* the struct travels with its buffer */
    tensor_init(t);
    t->dtype = dtype;
    t->rank = rank;
    t->size = size;
    /* A loop rather than memcpy: ranks are small and the library call costs more. */
    for (int i = 0; i < rank; i++) t->shape[i] = shape[i];
    t->storage = s;
    t->data = s->data;
    gt__scope_add(t);
    return t;
}

gt_tensor *gt__tensor_alias(const gt_tensor *src, int rank, const int64_t *shape) {
    gt_tensor *t = gt__tensor_struct();
    if (!t) return NULL;
    t->dtype = src->dtype;
    t->rank = rank;
    t->size = src->size;
    for (int i = 0; i < rank; i++) t->shape[i] = shape[i];
    t->storage = src->storage;
    gt__storage_retain(t->storage);
    t->data = src->data;
    gt__scope_add(t);
    return t;
}

void gt__tensor_free(gt_tensor *t) {
    if (t->logits) gt__tensor_unref(t->logits);
    gt__storage *s = t->storage;
    /* Made by gt__tensor_alloc: the struct is part of the buffer and goes with it. */
    if (GT__LIKELY(s && t == &s->tensor)) {
        if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) storage_free(s);
        return;
    }
    gt__storage_release(s);
    t->next = free_tensors;
    free_tensors = t;
}

void gt_mem_trim(void) {
    for (int c = 0; c < GT__NCLASS; c++) {
        while (cache[c]) {
            block *b = cache[c];
            cache[c] = b->next;
            bump(&me()->cached, -(int64_t)b->st.bytes);
            bump(&me()->frees, 1);
            free(b);
        }
    }
    cache_bytes = 0;
}

gt_mem_stats gt_mem_stats_get(void) {
    gt_mem_stats r = {0};
    int64_t peak = 0;
    for (stats *s = atomic_load(&all_stats); s; s = s->next) {
        r.mallocs += (uint64_t)atomic_load_explicit(&s->mallocs, memory_order_relaxed);
        r.frees += (uint64_t)atomic_load_explicit(&s->frees, memory_order_relaxed);
        r.cache_hits += (uint64_t)atomic_load_explicit(&s->hits, memory_order_relaxed);
        r.lib_mallocs += (uint64_t)atomic_load_explicit(&s->lib_mallocs, memory_order_relaxed);
        r.bytes_live += atomic_load_explicit(&s->live, memory_order_relaxed);
        r.bytes_cached += atomic_load_explicit(&s->cached, memory_order_relaxed);
        int64_t p = atomic_load_explicit(&s->peak, memory_order_relaxed);
        if (p > peak) peak = p;
    }
    /* Exact when one thread makes the tensors (the usual case); otherwise the largest
     * per-thread high-water mark, and never below what is live now. */
    r.bytes_peak = peak > r.bytes_live ? peak : r.bytes_live;
    return r;
}

void gt_mem_reset_peak(void) {
    stats *s = me();
    atomic_store_explicit(&s->peak, atomic_load_explicit(&s->live, memory_order_relaxed), memory_order_relaxed);
}

void *gt__malloc(size_t bytes, const char *what) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) gt__error_oom(what, bytes);
    else bump(&me()->lib_mallocs, 1);
    return p;
}

void *gt__calloc(size_t n, size_t size, const char *what) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) gt__error_oom(what, n * size);
    else bump(&me()->lib_mallocs, 1);
    return p;
}

void *gt__realloc(void *p, size_t bytes, const char *what) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) gt__error_oom(what, bytes);
    else bump(&me()->lib_mallocs, 1);
    return q;
}

void gt__free(void *p) { free(p); }

bool gt__grow(void **arr, int64_t *cap, int64_t need, size_t elem, const char *what) {
    if (need <= *cap) return true;
    int64_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    if ((uint64_t)n > SIZE_MAX / elem) {
        gt__error_oom(what, SIZE_MAX);
        return false;
    }
    void *p = gt__realloc(*arr, (size_t)n * elem, what);
    if (!p) return false;
    *arr = p;
    *cap = n;
    return true;
}
